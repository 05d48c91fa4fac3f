"""Small helpers the tests share."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "fit-corpus"
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "reference.json").is_file(),
    reason="../shared/fit-corpus is not present: real-file checks skipped",
)


def write(path: Path, data: bytes) -> Path:
    """Write bytes to a file, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def nobody_can_run_python() -> bool:
    """Whether a test can run shoetrack as the unprivileged user nobody (root reads everything)."""
    setpriv = shutil.which("setpriv")
    if not setpriv or os.geteuid() != 0:
        return False
    probe = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-c", "import shoetrack"], capture_output=True)
    return probe.returncode == 0


def database_rows(db: Path) -> dict[str, list] | None:
    """Every row of every table, the schema and the schema version of a database (None
    when there is no file), to show a refused command changed nothing."""
    import sqlite3

    if not Path(db).exists():
        return None
    conn = sqlite3.connect(db)
    try:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        dump = {"(schema)": schema, "(user_version)": conn.execute("PRAGMA user_version").fetchall()}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
            dump[table] = sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
        return dump
    finally:
        conn.close()
