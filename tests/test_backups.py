"""Backups that run themselves, and `shoetrack restore`: real SQLite files, real FIT files
from fitgen, the real CLI, and the daemon as a real subprocess.

"Once a day" is tested without waiting a day: the daemon also backs up at start when no
backup is newer than a day, and pruning is tested with older backups made beforehand."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import zipfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shoetrack.adapters.store import Store
from tests import fitgen
from tests.desktop import DaemonProcess
from tests.helpers import damage, history_of_runs, middle_page

NO_DESKTOP = "[notify]\nenabled = false\n"
MIB = 1024 * 1024


def cli(db: Path, *args: str, config: Path | None = None) -> subprocess.CompletedProcess:
    options = ["--config", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "shoetrack", "--db", str(db), *options, *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def stamp(days_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days_ago)).strftime("%Y%m%dT%H%M%SZ")


def seed_backups(folder: Path, db: Path, days_ago: list[float]) -> list[Path]:
    """Sound backups of `db`, named as if taken that many days ago (newest first as given)."""
    folder.mkdir(exist_ok=True)
    made = []
    for days in days_ago:
        target = folder / f"shoetrack-{stamp(days)}.db"
        with sqlite3.connect(db) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        source.close()
        copy.close()
        made.append(target)
    return made


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def write_runs(folder: Path, month: int, count: int, km: float = 5) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"run-{month:02d}-{n:02d}.fit"
        path.write_bytes(fitgen.run(f"2026-{month:02d}-{n % 28 + 1:02d}T{6 + n // 28:02d}:30:00Z",
                                    km=km + n % 7, minutes=30 + n))
        paths.append(path)
    return paths


def sound(path: Path) -> bool:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    except sqlite3.DatabaseError:  # "malformed": damage SQLite meets before it can list it
        return False
    finally:
        conn.close()


def daemon_at(tmp_path: Path, settings: str = "") -> DaemonProcess:
    # No desktop: these tests are about the database, and notifications are off.
    return DaemonProcess(tmp_path / "d", dict(os.environ), NO_DESKTOP + settings)


def test_the_daemon_backs_up_at_start_verified_private_and_keeps_backup_keep(tmp_path):
    daemon = daemon_at(tmp_path, "[backup]\nkeep = 3\n")
    write_runs(tmp_path / "runs", 1, 5)
    assert daemon.cli("import", str(tmp_path / "runs")).returncode == 0
    folder = daemon.db.parent / "backups"
    older = seed_backups(folder, daemon.db, [2, 3, 4, 5, 6])  # the newest is two days old: one is due
    daemon.start()
    try:
        assert daemon.wait_log(r"INFO backed up the database to ", 15), daemon.text()
        [taken] = re.findall(r"INFO backed up the database to (\S+) \(verified; 3 kept, 3 older removed\)",
                             daemon.text())
    finally:
        assert daemon.stop() == 0
    new = Path(taken)
    assert re.fullmatch(r"shoetrack-\d{8}T\d{6}Z\.db", new.name)
    assert names(folder) == sorted([new.name, older[0].name, older[1].name])
    assert max(names(folder)) == new.name  # the names sort by time
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # made private, though it was not
    assert sound(new)
    conn = sqlite3.connect(new)
    assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (5,)
    conn.close()

    # Started again within the day: the newest backup is fresh, so none is taken.
    daemon.start()
    try:
        time.sleep(1.5)  # the start's check runs as soon as the scheduler does
    finally:
        assert daemon.stop() == 0
    assert "backed up" not in daemon.text()
    assert names(folder) == sorted([new.name, older[0].name, older[1].name])


def test_a_backup_is_skipped_with_a_warning_when_the_disk_is_nearly_full(tmp_path):
    # A disk cannot be filled here (no small file system can be mounted), so the free space
    # a backup must leave, config backup.min_free_mb, is set above what this disk has free:
    # the real shutil.disk_usage figure then falls below the threshold, as on a full disk.
    free_mb = shutil.disk_usage(tmp_path).free // MIB
    daemon = daemon_at(tmp_path, f"[backup]\nmin_free_mb = {free_mb + 1024}\n")
    write_runs(tmp_path / "runs", 1, 3)
    assert daemon.cli("import", str(tmp_path / "runs")).returncode == 0
    folder = daemon.db.parent / "backups"
    [kept] = seed_backups(folder, daemon.db, [3])
    daemon.start()
    try:
        assert daemon.wait_log(r"WARNING backup skipped: only \d+ MiB free in \S+backups, and a backup needs "
                               r"\d+ MiB \(twice the database's [\d.]+ MiB plus backup\.min_free_mb\); free some "
                               r"space \(the older backups are kept\)", 15), daemon.text()
        (daemon.inbox / "new.fit").write_bytes(fitgen.run("2026-02-01T06:30:00Z"))
        assert daemon.wait_log(r"INFO imported \S+new\.fit", 10), daemon.text()  # it goes on working
    finally:
        assert daemon.stop() == 0
    assert names(folder) == [kept.name]

    result = cli(daemon.db, "backup", config=daemon.config)
    assert result.returncode == 1 and "backup skipped: only" in one_error_line(result)
    assert names(folder) == [kept.name]


def test_a_damaged_database_is_not_backed_up_and_the_older_backups_stay(tmp_path):
    daemon = daemon_at(tmp_path)
    history_of_runs(daemon.db)
    folder = daemon.db.parent / "backups"
    recent, older = seed_backups(folder, daemon.db, [0.05, 3])  # an hour ago: none is due at start
    daemon.start()
    try:
        time.sleep(0.5)  # the start's check has found a fresh backup
        damage(daemon.db)
        with Store(daemon.db) as store:
            assert store.integrity_problem(quick=True)
        # The newest now looks two days old, so a backup is due; a reload (SIGHUP) runs the
        # start's check again at once instead of in an hour.
        renamed = recent.rename(folder / f"shoetrack-{stamp(2)}.db")
        daemon.signal(signal.SIGHUP)
        assert daemon.wait_log(r"ERROR backup skipped, the 2 backups in \S+ are kept: the database \S+ is damaged",
                               15), daemon.text()
        assert daemon.process.poll() is None
    finally:
        daemon.stop()
    assert names(folder) == sorted([renamed.name, older.name])
    assert "backed up the database" not in daemon.text()

    result = cli(daemon.db, "backup", config=daemon.config)
    assert result.returncode == 65 and "is damaged" in one_error_line(result)
    assert names(folder) == sorted([renamed.name, older.name])
    assert all(sound(folder / name) for name in names(folder))


def conn_rows(db, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def runs_json(db: Path) -> list[dict]:
    result = cli(db, "runs", "--all-sports", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def without_ids(runs: list[dict]) -> Counter:
    """Runs imported again get new ids; everything else must be as it was."""
    return Counter(json.dumps({k: v for k, v in run.items() if k != "id"}, sort_keys=True) for run in runs)


def test_restore_after_damage_brings_back_every_imported_run_and_lists_what_was_typed(tmp_path):
    db = tmp_path / "data" / "shoetrack.db"
    db.parent.mkdir()
    folder = db.parent / "backups"
    first = write_runs(tmp_path / "first", 1, 40)
    assert cli(db, "shoes", "add", "Road", "--default-for", "running", "--since", "2025-12-01").returncode == 0
    assert cli(db, "import", tmp_path / "first").returncode == 0
    assert cli(db, "log", "2026-01-20", "7", "--note", "before the backup").returncode == 0
    assert cli(db, "pain", "3", "--date", "2026-01-20").returncode == 0
    made = cli(db, "backup")
    assert made.returncode == 0, made.stderr
    [backup] = folder.iterdir()
    assert made.stdout.startswith(f"backed up to {backup} (verified); 1 kept in {folder}")
    # A newer copy that does not verify is passed over.
    broken = folder / (backup.name.replace("Z.db", "Z-1.db"))
    shutil.copyfile(backup, broken)
    damage(broken)

    write_runs(tmp_path / "second", 3, 40, km=8)
    with zipfile.ZipFile(tmp_path / "second" / "export.zip", "w") as archive:
        for n in range(5):
            archive.writestr(f"activities/{n}.fit", fitgen.run(f"2026-04-{n + 1:02d}T07:00:00Z", km=12))
    gone = tmp_path / "elsewhere" / "lost.fit"
    gone.parent.mkdir()
    gone.write_bytes(fitgen.run("2026-04-20T07:00:00Z", km=3))
    assert cli(db, "import", tmp_path / "second", gone).returncode == 0
    assert cli(db, "log", "2026-03-15", "9", "--note", "typed after").returncode == 0
    assert cli(db, "pain", "5", "--date", "2026-03-16", "--side", "left").returncode == 0
    assert cli(db, "shoes", "add", "Trail", "--default-for", "running/trail").returncode == 0
    before = runs_json(db)
    [hidden] = [r for r in before if r["source"] == str(first[0])]
    assert cli(db, "runs", "delete", hidden["id"]).returncode == 0  # deleted after the backup
    undamaged = runs_json(db)
    assert len(undamaged) == 40 + 1 + 40 + 5 + 1 + 1 - 1

    gone.unlink()
    # The damage in the middle of the file may land on an index, which restore does not read:
    # the page of the files table with the newest rows is damaged too, so those files must be
    # found past it, or in the list of files on disk (the seen table).
    conn = sqlite3.connect(db)
    [(files_page,)] = conn.execute("SELECT pageno FROM dbstat WHERE name = 'files' AND pagetype = 'leaf' "
                                   "ORDER BY path DESC LIMIT 1").fetchall()
    conn.close()
    # The middle of the file is damaged, but not the page holding the deleted run's row
    # (that row is what tells the run was deleted; which page holds it depends on the schema).
    leaves = conn_rows(db, "SELECT pageno, ncell FROM dbstat WHERE name = 'sessions' AND pagetype = 'leaf' "
                           "ORDER BY path")
    [(rank,)] = conn_rows(db, "SELECT count(*) FROM sessions WHERE id < ?", [hidden["id"]])
    for hidden_page, cells in leaves:
        if rank < cells:
            break
        rank -= cells
    page = middle_page(db)
    if page == hidden_page:
        page = next(p for p, _ in leaves if p != hidden_page)
    if files_page != page:  # the same page twice would undo it
        damage(db, page=files_page)
    damage(db, page=page)
    assert not sound(db)

    result = cli(db, "restore")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    [aside] = db.parent.glob("shoetrack.db.damaged-*[0-9]Z")
    assert f"skipped {broken}: it does not verify" in out
    assert f"restored {backup} (taken " in out
    assert f"the old file is kept as {aside}" in out
    assert "the old file could be read only in part (files" in out
    assert "imported again 41 files known since the backup: 45 imported (45 sessions)" in out
    assert f"not found, import it again if you still have it:\n  {gone}\n" in out
    assert "run logged by hand: 2026-03-15 running 9 km (typed after)" in out
    assert "pain 5/10 on 2026-03-16 (left)" in out
    assert 'pair "Trail" (added after the backup)' in out
    assert "before the backup" not in out and "pain 3/10" not in out and '"Road"' not in out
    assert ("deleted after the backup and back now (`runs delete` them again):\n"
            f"  2026-01-01 running 5 km from {first[0]}\n") in out
    assert stat.S_IMODE(db.stat().st_mode) == 0o600 and sound(db)

    # Every run from a file is back, as it was; what was typed after the backup is not.
    expected = without_ids(undamaged) + without_ids([hidden])
    expected -= without_ids([r for r in undamaged if r["source"] in ("manual", str(gone))
                             and r["note"] != "before the backup"])
    assert without_ids(runs_json(db)) == expected
    assert [s["name"] for s in json.loads(cli(db, "shoes", "list", "--json").stdout)] == ["Road"]
    assert [p["level"] for p in json.loads(cli(db, "pain", "--list", "--json").stdout)] == [3]


def test_the_reader_of_a_damaged_file_reads_past_the_bad_page(tmp_path):
    db = tmp_path / "st.db"
    history_of_runs(db)
    conn = sqlite3.connect(db)
    leaves = [n for (n,) in conn.execute("SELECT pageno FROM dbstat WHERE name = 'sessions' AND pagetype = 'leaf' "
                                         "ORDER BY pageno")]
    conn.close()
    damage(db, page=leaves[len(leaves) // 2])
    rows, whole = Store.salvage(db, "sessions", ["id", "distance_m"])
    assert not whole
    ids = [row["id"] for row in rows]
    missing = sorted(set(range(1, 3001)) - set(ids))
    assert 0 < len(missing) < 30 and missing == list(range(missing[0], missing[-1] + 1))  # one page's rows
    assert ids[-1] == 3000 and all(row["distance_m"] == 4999 + row["id"] for row in rows)
    assert Store.salvage(db, "no_such_table", ["x"]) == ([], True)


def test_restore_refuses_while_the_daemon_runs(tmp_path):
    daemon = daemon_at(tmp_path)
    write_runs(tmp_path / "runs", 1, 3)
    assert daemon.cli("import", str(tmp_path / "runs")).returncode == 0
    daemon.start()
    try:
        assert daemon.wait_log(r"INFO backed up the database to ", 15), daemon.text()
        result = daemon.cli("restore")
        assert result.returncode == 1
        assert one_error_line(result) == (f"Error: the daemon is running on {daemon.db}; stop it first "
                                          "(systemctl --user stop shoetrack), then restore; nothing was changed")
        assert not list(daemon.db.parent.glob("*.damaged-*"))
    finally:
        assert daemon.stop() == 0
    result = daemon.cli("restore")  # stopped: the lock went with it
    assert result.returncode == 0, result.stderr
    assert "imported again 0 files" in result.stdout
    assert len(runs_json(daemon.db)) == 3
