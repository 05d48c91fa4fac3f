"""A damaged database is noticed and never backed up as if it were sound; a backup
that cannot be written whole leaves nothing behind."""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

from shoetrack.adapters.store import Store
from tests.helpers import damage, history_of_runs

COMMANDS = [["status"], ["runs", "--json"], ["shoes", "list"], ["why"], ["check", "--no-notify"],
            ["export", "--format", "json"], ["log", "2026-01-02", "5"]]


def shoetrack(db: Path, *args: str, limit_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, optionally unable to grow any file past a size."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

    return subprocess.run([sys.executable, "-m", "shoetrack", "--db", str(db), *args], capture_output=True,
                          text=True, timeout=120, preexec_fn=limit if limit_file_bytes else None)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_a_damaged_database_is_never_backed_up_and_every_command_says_so_in_one_line(tmp_path):
    db = tmp_path / "st.db"
    history_of_runs(db)
    damage(db)
    with Store(db) as store:
        assert store.integrity_problem(quick=False)

    result = shoetrack(db, "backup", str(tmp_path / "copy.db"))
    assert result.returncode == 65 and "is damaged" in one_error_line(result)
    assert not (tmp_path / "copy.db").exists()

    noticed = 0
    for command in COMMANDS:
        result = shoetrack(db, *command)
        assert "Traceback" not in result.stderr, (command, result.stderr)
        if result.returncode:
            assert result.returncode == 65 and "is damaged" in one_error_line(result), command
            noticed += 1
    assert noticed  # reading every run meets the damage


def test_the_daemon_refuses_to_start_on_a_damaged_database(tmp_path):
    db = tmp_path / "data" / "st.db"
    db.parent.mkdir()
    history_of_runs(db)
    damage(db)
    (tmp_path / "inbox").mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[inbox]\npath = "{tmp_path / "inbox"}"\n[notify]\nenabled = false\n')
    result = subprocess.run([sys.executable, "-m", "shoetrack", "--db", str(db), "--config", str(config), "daemon"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 65
    assert "is damaged" in result.stderr and "Traceback" not in result.stderr


def test_a_backup_that_cannot_be_written_whole_leaves_no_file(tmp_path):
    # No small filesystem can be mounted here: a file-size limit on the process makes
    # the copy fail part-way the same way a full disk does.
    db = tmp_path / "st.db"
    history_of_runs(db)
    assert db.stat().st_size > 1_000_000
    target = tmp_path / "copy.db"
    result = shoetrack(db, "backup", str(target), limit_file_bytes=256 * 1024)
    assert result.returncode == 1
    line = one_error_line(result)
    assert f"cannot write the backup {target}" in line and "no file was left behind" in line
    assert not target.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    result = shoetrack(db, "backup", str(target))
    assert result.returncode == 0 and target.exists()
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (3000,)
