"""Crash safety, concurrency and storage failures: the history stays exact.

The kill test and the readers-while-importing test run real processes
against a real SQLite file; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shoetrack.adapters.store import MIGRATIONS, SCHEMA_VERSION, Store
from shoetrack.errors import StorageError
from shoetrack.service.importing import _Batch, import_paths
from tests import fitgen
from tests.desktop import DaemonProcess
from tests.fitgen import Session
from tests.helpers import nobody_can_run_python, write

START = datetime(2026, 1, 1, 6, tzinfo=timezone.utc)


def history(folder: Path, files: int, records_every_s: int | None = 1) -> Path:
    """Runs of two sessions each (a warm-up and the run proper), a day apart."""
    for i in range(files):
        day = START + timedelta(days=i)
        legs = [Session(day, distance_m=2000, elapsed_s=600, records_every_s=records_every_s),
                Session(day + timedelta(minutes=15), distance_m=5000 + 37 * i, elapsed_s=2400,
                        sub_sport=3 if i % 4 == 0 else 0, records_every_s=records_every_s)]
        write(folder / f"{i:04d}.fit", fitgen.activity(legs))
    return folder


def cli(db: Path, *args: str, config: Path | None = None, **kwargs) -> subprocess.Popen:
    options = ["--db", str(db)] + (["--config", str(config)] if config else [])
    return subprocess.Popen([sys.executable, "-m", "shoetrack", *options, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def run(db: Path, *args: str, config: Path | None = None) -> subprocess.CompletedProcess:
    process = cli(db, *args, config=config)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return subprocess.CompletedProcess(args, 0, out, err)


def state(db: Path) -> dict:
    """Everything the runner relies on, without the clock readings."""
    conn = sqlite3.connect(db)
    try:
        return {
            "sessions": conn.execute("SELECT * FROM sessions ORDER BY id").fetchall(),
            "files": conn.execute("SELECT sha256, path, size, outcome, reason, sessions FROM files "
                                  "ORDER BY sha256").fetchall(),
            "shoes": conn.execute("SELECT id, name, limit_km, start_km, since, retired_on, default_for, rules "
                                  "FROM shoes ORDER BY id").fetchall(),
            "pins": conn.execute("SELECT * FROM pins ORDER BY session_id").fetchall(),
            "announcements": conn.execute("SELECT kind, subject, started, announced_on FROM announcements "
                                          "ORDER BY id").fetchall(),
        }
    finally:
        conn.close()


def prepare(db: Path, config: Path) -> None:
    run(db, "shoes", "add", "Road", "--default-for", "running", "--limit-km", "400", config=config)
    run(db, "shoes", "add", "Trail", "--default-for", "running/trail", "--limit-km", "150", config=config)
    run(db, "shoes", "add", "Long", "--rule", "distance_km >= 10", "--rule", "sport = running", config=config)


CHECK_DAYS = [(START + timedelta(days=n)).date().isoformat() for n in (20, 60, 100, 140, 180, 700)]
FILES, KILLS = 1000, 24


def timed(db: Path, *args: str, config: Path) -> float:
    """Seconds an uninterrupted command takes."""
    started = time.monotonic()
    run(db, *args, config=config)
    return time.monotonic() - started


def stored_files(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM files").fetchone()[0]
    finally:
        conn.close()


def test_kill_9_at_random_moments_loses_and_doubles_nothing(tmp_path):
    folder = history(tmp_path / "history", FILES, records_every_s=3)
    config = tmp_path / "config.toml"
    config.write_text("[notify]\nenabled = false\n[alerts]\nstreak_days = 5\n")

    # The kill moments follow how long an import takes on this machine, fast or slow:
    # its start (an import with nothing to do, into a database already there), then each
    # file of the whole set.
    reference = tmp_path / "reference.db"
    prepare(reference, config)
    (tmp_path / "nothing").mkdir()
    startup = timed(reference, "import", str(tmp_path / "nothing"), config=config)
    per_file = max(timed(reference, "import", str(folder), config=config) - startup, 0.0) / FILES
    check_s = {day: timed(reference, "check", "--as-of", day, "--no-notify", config=config) for day in CHECK_DAYS}

    db = tmp_path / "killed.db"
    prepare(db, config)
    rng = random.Random(20261126)
    kills = 0
    for kill in range(KILLS):
        # One kill in four falls in the start (opening the database, walking the folder);
        # the others inside a batch of files being stored: once this import has stored
        # a batch (seen by polling the database), somewhere within the time of the next.
        # The import is never left to finish: kills stop while two batches are left.
        before = stored_files(db)
        if FILES - before < 2 * _Batch.MOST_FILES:
            break
        process = cli(db, "import", str(folder), config=config)
        if kill % 4 == 0:
            time.sleep(rng.uniform(startup / 2, startup))
        else:
            deadline = time.monotonic() + 60
            while process.poll() is None and stored_files(db) == before and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(rng.uniform(0, _Batch.MOST_FILES * per_file))
        assert process.poll() is None, (f"the import finished before kill {kill + 1} (start {startup:.2f} s, "
                                        f"{per_file * 1000:.2f} ms a file)")
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    assert kills >= KILLS // 2
    assert 0 < stored_files(db) < FILES  # the kills fell while it was storing files
    run(db, "import", str(folder), config=config)
    for day in CHECK_DAYS:  # checks can be killed too; the next one redoes the day
        process = cli(db, "check", "--as-of", day, "--no-notify", config=config)
        time.sleep(rng.uniform(0, check_s[day]))
        process.send_signal(signal.SIGKILL)
        process.wait()
        run(db, "check", "--as-of", day, "--no-notify", config=config)

    assert state(db) == state(reference)
    assert len(state(db)["sessions"]) == 2 * FILES
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_readers_never_see_a_lock_or_half_a_file_while_the_daemon_imports(tmp_path):
    daemon = DaemonProcess(tmp_path / "d", {k: v for k, v in os.environ.items()
                                            if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")},
                           "[notify]\nenabled = false\n")
    daemon.start()
    try:
        # The daemon stores each file the moment it lands, so files land while the readers
        # read: 50 at a time, moved in after each round of reads.
        staged = history(tmp_path / "staged", 400, records_every_s=10)
        names = sorted(os.listdir(staged))
        round_done = threading.Event()

        def feed() -> None:
            for first in range(0, len(names), 50):
                round_done.wait(60)
                round_done.clear()
                for name in names[first:first + 50]:
                    os.rename(staged / name, daemon.inbox / name)

        writer = threading.Thread(target=feed)
        writer.start()
        seen_counts, deadline = set(), time.monotonic() + 60
        while time.monotonic() < deadline:
            for args in (["status", "--json"], ["shoes", "list", "--json"], ["runs", "--all-sports", "--json"]):
                result = daemon.cli(*args)
                assert result.returncode == 0, result.stderr
                assert "locked" not in result.stderr and "Traceback" not in result.stderr
                if args[0] == "runs":
                    count = len(json.loads(result.stdout))
                    assert count % 2 == 0, "a file's sessions appeared without each other"
                    seen_counts.add(count)
            round_done.set()
            if 800 in seen_counts:
                break
        writer.join()
        assert 800 in seen_counts and len(seen_counts) > 2  # it really read while importing
    finally:
        assert daemon.stop() == 0


# Run as `python -c AT_THE_STARTING_LINE READY GO shoetrack-arguments...`: loads shoetrack, says it
# is ready, waits until the test closes the GO pipe (every process is let go at the same moment),
# then runs the command line as `python -m shoetrack` does.
AT_THE_STARTING_LINE = """
import os, runpy, sys
ready, go = int(sys.argv.pop(1)), int(sys.argv.pop(1))
import shoetrack.cli, shoetrack.adapters.store, shoetrack.service.importing
os.write(ready, b"1")
os.read(go, 1)
sys.argv[0] = "shoetrack"
runpy.run_module("shoetrack", run_name="__main__", alter_sys=True)
"""


def started_at_once(commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Run shoetrack commands in as many processes, let go together once all have started."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    processes = []
    try:
        for args in commands:
            processes.append(subprocess.Popen(
                [sys.executable, "-c", AT_THE_STARTING_LINE, str(ready_w), str(go_r), *args],
                pass_fds=(ready_w, go_r), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        os.close(ready_w)
        ready_w = None
        for _ in processes:  # a byte from each; b"" when one died before it was ready
            assert os.read(ready_r, 1) == b"1", "a process died before the start"
    finally:
        os.close(go_w)  # the start: every waiting process reads the end of the pipe at once
        for fd in (ready_r, ready_w, go_r):
            if fd is not None:
                os.close(fd)
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def older_database(db: Path) -> None:
    """A database of schema 1 holding one run, as the first shoetrack release left it."""
    conn = sqlite3.connect(db)
    for statement in MIGRATIONS[0].split(";\n"):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO files VALUES ('abc', 'old.fit', 10, 'imported', NULL, 1, '2025-01-01T00:00:00Z')")
    conn.execute("INSERT INTO sessions (file_sha256, source, start_time, local_date, sport, distance_m) "
                 "VALUES ('abc', 'old.fit', '2025-01-01T06:00:00Z', '2025-01-01', 'running', 5000)")
    conn.commit()
    conn.close()


def assert_created_or_migrated_once(db: Path, database: str) -> None:
    """The schema is current and whole, and an older file was backed up once."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
    backups = list(db.parent.glob(f"{db.name}.schema*.bak"))
    assert len(backups) == (1 if database == "older" else 0), backups


@pytest.mark.parametrize("database", ["new", "older"])
def test_processes_opening_a_new_or_older_database_at_once_all_succeed(tmp_path, database):
    db = tmp_path / "data" / "st.db"
    db.parent.mkdir()
    if database == "older":
        older_database(db)
    for result in started_at_once([["--db", str(db), "runs", "--json"]] * 4):
        assert result.returncode == 0, result.stderr
        sources = [row["source"] for row in json.loads(result.stdout)]
        assert sources == (["old.fit"] if database == "older" else [])
    assert_created_or_migrated_once(db, database)


@pytest.mark.parametrize("database", ["new", "older"])
def test_imports_started_at_once_all_succeed_and_store_every_run_once(tmp_path, database):
    db = tmp_path / "data" / "st.db"
    db.parent.mkdir()
    starts = []
    if database == "older":
        older_database(db)
        starts.append("2025-01-01T06:00:00Z")
    commands = []
    for n in range(4):
        for leg in range(2):
            start = f"2026-03-{n + 1:02d}T{6 + 6 * leg:02d}:30:00Z"
            write(tmp_path / f"inbox{n}" / f"{leg}.fit", fitgen.run(start, km=5 + n + leg))
            starts.append(start)
        commands.append(["--db", str(db), "import", str(tmp_path / f"inbox{n}")])

    for result in started_at_once(commands):
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("2 imported (2 sessions)"), result.stdout

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT start_time FROM sessions ORDER BY start_time").fetchall() == \
            [(start,) for start in sorted(starts)]
        assert conn.execute("SELECT count(*) FROM files").fetchone() == (len(starts),)
    finally:
        conn.close()
    assert_created_or_migrated_once(db, database)


def test_the_same_files_imported_by_several_processes_at_once_are_stored_once(tmp_path):
    db = tmp_path / "st.db"
    for leg in range(3):
        write(tmp_path / "inbox" / f"{leg}.fit", fitgen.run(f"2026-03-01T{6 + 4 * leg:02d}:30:00Z", km=5))
    results = started_at_once([["--db", str(db), "import", str(tmp_path / "inbox")]] * 4)
    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (3,)
    finally:
        conn.close()


def test_a_full_disk_stops_the_import_cleanly_and_loses_nothing(tmp_path, monkeypatch):
    from shoetrack.service import importing

    # Batches of 5 files: commits land by count, not by the 50 ms clock, so where the
    # disk fills up does not depend on this machine's speed.
    monkeypatch.setattr(importing._Batch, "MOST_FILES", 5)
    monkeypatch.setattr(importing._Batch, "MOST_S", 3600.0)
    folder = history(tmp_path / "history", 60, records_every_s=None)
    db = tmp_path / "st.db"
    with Store(db) as store:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 14}")  # a disk that fills up soon
        with pytest.raises(StorageError, match="database or disk is full.*nothing was stored"):
            import_paths(store, [folder])
        stored_files = store.conn.execute("SELECT count(*) FROM files").fetchone()[0]
        stored_sessions = store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
        assert 0 < stored_files < 60
        assert stored_sessions == 2 * stored_files  # every stored file is whole
        assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert len(list(folder.iterdir())) == 60  # the files are all still there
    with Store(db) as store:  # space again: the rest comes in
        report = import_paths(store, [folder])
        assert len(report.imported) == 60 - stored_files
        assert store.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 120


def test_a_database_of_an_older_schema_is_backed_up_then_migrated(tmp_path):
    db = tmp_path / "old.db"
    older_database(db)
    [run_row] = json.loads(run(db, "runs", "--json").stdout)
    assert (run_row["source"], run_row["distance_km"], run_row["shoe"]) == ("old.fit", 5.0, None)
    [backup] = tmp_path.glob("old.db.schema1-*.bak")
    assert os.stat(backup).st_mode & 0o777 == 0o600
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone() == (1,)
    assert old.execute("SELECT source FROM sessions").fetchall() == [("old.fit",)]
    old.close()
    new = sqlite3.connect(db)
    assert new.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    new.close()
    run(db, "runs")  # opening again: already current, no new backup
    assert len(list(tmp_path.glob("old.db.schema*.bak"))) == 1


def test_backup_and_export_give_the_runner_their_data(tmp_path, inbox):
    write(inbox / "a.fit", fitgen.run("2026-03-02T06:30:00Z", km=8.5))
    write(inbox / "b.fit", fitgen.run("2026-03-03T06:30:00Z", km=4, sport=2))
    db = tmp_path / "st.db"
    run(db, "import", str(inbox))
    run(db, "shoes", "add", "Road", "--default-for", "running", "--from-first-run")
    run(db, "pain", "3", "--date", "2026-03-03")
    run(db, "backup", str(tmp_path / "copy.db"))
    assert os.stat(tmp_path / "copy.db").st_mode & 0o777 == 0o600
    assert state(tmp_path / "copy.db") == state(db)
    lines = run(db, "export", "--format", "csv").stdout.splitlines()
    assert lines[0] == "id,start_time,date,sport,sub_sport,distance_km,duration_s,shoe,shoe_reason,source,note"
    assert len(lines) == 3 and ",8.5,1800.0,Road,default," in lines[2]
    run(db, "export", "--format", "json", "--output", str(tmp_path / "all.json"))
    document = json.loads((tmp_path / "all.json").read_text())
    assert os.stat(tmp_path / "all.json").st_mode & 0o777 == 0o600
    assert [r["sport"] for r in document["runs"]] == ["cycling", "running"]
    assert document["shoes"][0]["name"] == "Road" and document["pain"][0]["level"] == 3
    refused = cli(db, "backup", str(tmp_path / "copy.db"))
    _, err = refused.communicate(timeout=60)
    assert refused.returncode == 1 and "already exists" in err


def test_files_shoetrack_creates_are_private(tmp_path, inbox):
    write(inbox / "a.fit", fitgen.run("2026-03-02T06:30:00Z"))
    db = tmp_path / "data" / "st.db"
    db.parent.mkdir()
    run(db, "import", str(inbox))
    for path in db.parent.iterdir():  # the database and its WAL and shared-memory files
        assert path.stat().st_mode & 0o077 == 0, path


def test_a_read_only_database_is_one_clear_line_and_the_file_stays(tmp_path):
    if not nobody_can_run_python():
        pytest.skip("needs root, setpriv and a Python the nobody user can run")
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="shoetrack-ro-"))
    try:
        folder.chmod(0o755)
        db = folder / "st.db"
        run(db, "runs")  # made by root: read-only for nobody
        db.chmod(0o644)
        inbox = folder / "inbox"
        inbox.mkdir(mode=0o777)
        write(inbox / "run.fit", fitgen.run("2026-03-02T06:30:00Z")).chmod(0o644)
        before = state(db)
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 sys.executable, "-m", "shoetrack", "--db", str(db), "import", str(inbox)],
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "HOME": str(folder), "XDG_CONFIG_HOME": str(folder)})
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("Error: cannot open database") and "readonly database" in line, line
        assert (inbox / "run.fit").exists() and state(db) == before
    finally:
        shutil.rmtree(folder)
