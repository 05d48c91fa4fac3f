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


def history_of_runs(db: Path, runs: int = 3000, *, pair: bool = True) -> None:
    """A history big enough (a couple hundred pages) that damage in the middle of the file
    lands in its tables, stored straight through the Store."""
    from shoetrack.adapters.store import Store

    with Store(db) as store:
        if pair:
            store.add_shoe({"name": "Road", "limit_km": 700, "start_km": 0, "default_for": '["running"]',
                            "rules": "[]"})
        with store.db.atomic():
            store.db["sessions"].insert_all(
                {"source": f"watch/{n}.fit", "start_time": f"2025-{n % 12 + 1:02d}-{n % 28 + 1:02d}T06:00:00Z",
                 "local_date": f"2025-{n % 12 + 1:02d}-{n % 28 + 1:02d}", "sport": "running",
                 "sub_sport": "generic", "distance_m": 5000 + n, "timer_s": 1800, "note": "x" * 200}
                for n in range(runs))
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def middle_page(db: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    return db.stat().st_size // 2 // page_size + 1


def damage(db: Path, page: int | None = None) -> None:
    """512 bytes turned to something else at the start of the page in the middle of the
    file (or of the page given): its b-tree header and cell pointers, so SQLite always
    notices (the middle of a page can be unused space)."""
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    offset = ((page or middle_page(db)) - 1) * page_size
    with open(db, "r+b") as stream:
        stream.seek(offset)
        original = stream.read(512)
        stream.seek(offset)
        stream.write(bytes(b ^ 0x5A for b in original))
