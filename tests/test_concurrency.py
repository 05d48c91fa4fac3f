"""Writers side by side: real processes against one SQLite file, nothing mocked.

Several `check` at once announce an episode once; a writer that meets another
process's write lock waits its turn (and says so on a terminal) instead of
failing with "database is locked"; the daemon tries a step that met a long-held
lock again within seconds, not at its next rescan. The busy timeout is made short
through SHOETRACK_BUSY_TIMEOUT_S so that waiting past it takes a moment, not 10 s.
"""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from shoetrack.cli.base import say_waiting
from tests import fitgen
from tests.desktop import DaemonProcess, wait_until
from tests.helpers import database_rows, write
from tests.test_never_lose_a_run import started_at_once

WAITING = "waiting for another shoetrack writing to the database…"


def recent(days_ago: int) -> str:
    return f"{date.today() - timedelta(days=days_ago)}T06:30:00Z"


def shoetrack(db: Path, *args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "shoetrack", "--db", str(db), *args],
                            stdin=subprocess.DEVNULL, env=env, text=True,
                            **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs})


def run(db: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    process = shoetrack(db, *args, env=env)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return subprocess.CompletedProcess(process.args, 0, out, err)


def with_busy_timeout(seconds: float, **more: str) -> dict:
    return {**os.environ, "SHOETRACK_BUSY_TIMEOUT_S": str(seconds), **more}


@contextmanager
def write_lock(db: Path):
    """Hold the database's write lock (BEGIN IMMEDIATE) in a connection of the test's own,
    as a long transaction of another process would; released by leaving the block."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("COMMIT")
        conn.close()


def read_until(fd: int, text: str, timeout: float) -> str:
    """What a terminal's other side wrote, until `text` shows (or the time is up, or it closed)."""
    seen, deadline = b"", time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every process holding the terminal has gone
            break
        if not chunk:
            break
        seen += chunk
    return seen.decode(errors="replace")


def stored(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_checks_started_at_once_announce_an_episode_once(tmp_path):
    db = tmp_path / "st.db"
    run(db, "shoes", "add", "Road", "--default-for", "running", "--limit-km", "5")
    write(tmp_path / "inbox" / "run.fit", fitgen.run(recent(1), km=7))
    run(db, "import", str(tmp_path / "inbox"))  # Road is worn out: an episode holds today

    results = started_at_once([["--db", str(db), "check", "--no-notify", "--json"]] * 4)

    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
    reports = [json.loads(r.stdout) for r in results]
    assert all([a["kind"] for a in report["active"]] == ["shoe_limit"] for report in reports), reports
    assert sorted(len(report["new"]) for report in reports) == [0, 0, 0, 1]  # one of them announced it
    assert stored(db, "SELECT kind, subject, announced_on FROM announcements") == \
        [("shoe_limit", "Road", date.today().isoformat())]
    again = json.loads(run(db, "check", "--no-notify", "--json").stdout)
    assert again["new"] == [] and len(again["active"]) == 1


def test_a_writer_waits_for_a_long_held_lock_says_so_on_a_terminal_and_succeeds(tmp_path):
    db = tmp_path / "st.db"
    run(db, "shoes", "add", "Road", "--default-for", "running", "--limit-km", "500")
    write(tmp_path / "inbox" / "run.fit", fitgen.run(recent(1), km=7))
    started = time.monotonic()
    run(db, "shoes", "add", "Spare", "--limit-km", "300")
    unhindered = time.monotonic() - started  # a whole command, start to exit, on this machine
    env = with_busy_timeout(0.3)

    master, terminal = pty.openpty()
    try:
        with write_lock(db):
            importing = shoetrack(db, "import", str(tmp_path / "inbox"), env=env, stderr=terminal)
            adding = shoetrack(db, "shoes", "add", "Trail", "--limit-km", "400", env=env)
            os.close(terminal)
            terminal = None
            # The line shows once the busy timeout has passed: both have waited longer than it.
            shown = read_until(master, WAITING, timeout=60 + 20 * unhindered)
            assert WAITING in shown, shown
            assert importing.poll() is None and adding.poll() is None  # still waiting their turn
        released = time.monotonic()
        out, _ = importing.communicate(timeout=120)
        shown += read_until(master, "\0", timeout=5)  # the rest, until the terminal closes
        _, added_err = adding.communicate(timeout=120)
        finished = time.monotonic() - released
    finally:
        os.close(master)
        if terminal is not None:
            os.close(terminal)

    assert (importing.returncode, adding.returncode) == (0, 0), (shown, added_err)
    assert out.startswith("1 imported (1 session)"), out
    assert shown.count(WAITING) == 1 and "locked" not in shown and "Error" not in shown, shown
    assert added_err == ""  # not a terminal: no waiting line, and nothing else either
    assert finished < 2 * unhindered + 1, finished  # taken as soon as it was free
    assert stored(db, "SELECT name FROM shoes ORDER BY name") == [("Road",), ("Spare",), ("Trail",)]
    assert stored(db, "SELECT count(*) FROM sessions") == [(1,)]


def test_a_lock_held_past_the_longest_wait_is_one_line_and_nothing_is_stored(tmp_path):
    db = tmp_path / "st.db"
    run(db, "shoes", "add", "Road", "--default-for", "running", "--limit-km", "500")
    inbox = tmp_path / "inbox"
    write(inbox / "run.fit", fitgen.run(recent(1), km=7))
    before = database_rows(db)
    env = with_busy_timeout(0.2, SHOETRACK_WRITE_WAIT_S="1")
    with write_lock(db):
        importing = shoetrack(db, "import", "--json", str(inbox), env=env)
        out, err = importing.communicate(timeout=120)
    # A JSON report is printed only for an import that ran to its end: on a failed step the
    # output is empty (no half report to parse) and stderr says what happened in one line.
    assert importing.returncode == 1 and out == "", out
    [line] = err.strip().splitlines()
    assert line.startswith(f"Error: cannot write to the database {db}: another process kept it locked"), line
    assert "nothing was stored from this step" in line
    assert database_rows(db) == before
    assert (inbox / "run.fit").exists()
    run(db, "import", str(inbox))  # free again: it comes in
    assert stored(db, "SELECT count(*) FROM sessions") == [(1,)]


def test_the_waiting_line_is_for_terminals_only(capsys):
    say_waiting()  # stderr is captured here: not a terminal
    assert capsys.readouterr().err == ""


def test_two_imports_of_different_folders_at_once_both_store_every_run(tmp_path):
    db = tmp_path / "st.db"
    run(db, "shoes", "add", "Road", "--default-for", "running", "--limit-km", "800")
    write(tmp_path / "earlier" / "old.fit", fitgen.run("2025-12-01T06:30:00Z", km=10))
    run(db, "import", str(tmp_path / "earlier"))
    starts = ["2025-12-01T06:30:00Z"]
    for folder in range(2):
        for n in range(40):
            start = f"2026-{folder * 6 + 1 + n // 28:02d}-{n % 28 + 1:02d}T06:30:00Z"
            write(tmp_path / f"watch{folder}" / f"{n:02d}.fit", fitgen.run(start, km=5 + n % 7))
            starts.append(start)

    results = started_at_once([["--db", str(db), "import", str(tmp_path / f"watch{n}")] for n in range(2)])

    for result in results:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("40 imported (40 sessions)"), result.stdout
        assert result.stderr == ""
    assert stored(db, "SELECT start_time FROM sessions ORDER BY start_time") == [(s,) for s in sorted(starts)]
    assert stored(db, "SELECT count(*) FROM files") == [(81,)]
    assert stored(db, "SELECT count(DISTINCT shoe_id) FROM sessions") == [(1,)]


def test_imports_held_back_by_a_long_lock_all_go_in_once_it_is_released(tmp_path):
    db = tmp_path / "st.db"
    run(db, "shoes", "add", "Road", "--default-for", "running", "--limit-km", "800")
    starts = []
    for folder in range(3):
        for n in range(10):
            start = f"2026-{folder + 1:02d}-{n + 1:02d}T06:30:00Z"
            write(tmp_path / f"watch{folder}" / f"{n}.fit", fitgen.run(start, km=5))
            starts.append(start)
    env = with_busy_timeout(0.2)
    terminals = [pty.openpty() for _ in range(3)]
    try:
        with write_lock(db):
            imports = [shoetrack(db, "import", str(tmp_path / f"watch{n}"), env=env, stderr=terminal)
                       for n, (_, terminal) in enumerate(terminals)]
            for master, terminal in terminals:
                os.close(terminal)
                assert WAITING in read_until(master, WAITING, 60)  # each waits past its busy timeout
        # Released together: they wait for each other now, one file's transaction at a time.
        outputs = [process.communicate(timeout=120)[0] for process in imports]
    finally:
        for master, _ in terminals:
            os.close(master)
    assert [process.returncode for process in imports] == [0, 0, 0], outputs
    assert all(out.startswith("10 imported (10 sessions)") for out in outputs), outputs
    assert stored(db, "SELECT start_time FROM sessions ORDER BY start_time") == [(s,) for s in sorted(starts)]


def test_the_daemon_imports_within_seconds_after_a_long_held_lock_is_released(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    env["SHOETRACK_BUSY_TIMEOUT_S"] = "0.5"
    # A rescan an hour away: only the retry of the locked step can bring the file in.
    daemon = DaemonProcess(tmp_path / "d", env, "[daemon]\nscan_minutes = 60\n[notify]\nenabled = false\n")
    assert daemon.cli("shoes", "add", "Road", "--default-for", "running", "--limit-km", "5").returncode == 0
    daemon.start()
    try:
        def runs() -> int:
            rows = daemon.query("SELECT count(*) FROM sessions")
            return rows[0][0] if rows else 0

        landed = time.monotonic()
        write(daemon.inbox / "first.fit", fitgen.run(recent(2), km=3))
        assert wait_until(lambda: runs() == 1, 60), daemon.text()
        unhindered = time.monotonic() - landed  # settling and importing a file, on this machine

        with write_lock(daemon.db):
            write(daemon.inbox / "second.fit", fitgen.run(recent(1), km=4))
            assert daemon.wait_log(r"WARNING waiting for another process writing to the database",
                                   60 + 20 * unhindered), daemon.text()
            assert runs() == 1
        released = time.monotonic()
        # At most the longest pause between tries, a try's busy timeout, and an import.
        assert wait_until(lambda: runs() == 2, 60), daemon.text()
        took = time.monotonic() - released
        assert took < 4 + 0.5 + unhindered + 2, (took, daemon.text())
        # The runs' check ran after the retry: Road (5 km) is worn out at 7 km, announced once.
        assert wait_until(lambda: daemon.query("SELECT kind FROM announcements") == [("shoe_limit",)], 10), \
            daemon.text()
        assert daemon.wait_log(r"INFO the database is free again", 10), daemon.text()
        log = daemon.text()
        assert "locked" not in log.replace("kept it locked", "") and "next rescan" not in log, log
    finally:
        assert daemon.stop() == 0


def test_checks_started_at_once_show_a_notification_once(tmp_path, monkeypatch):
    from tests.desktop import Desktop, missing_tools

    if missing_tools():
        import pytest
        pytest.skip(f"needs {', '.join(missing_tools())} for a real notification server")
    db = tmp_path / "st.db"
    run(db, "shoes", "add", "Road", "--default-for", "running", "--limit-km", "5")
    write(tmp_path / "inbox" / "run.fit", fitgen.run(recent(1), km=7))
    run(db, "import", str(tmp_path / "inbox"))
    (tmp_path / "desktop").mkdir()
    desktop = Desktop(tmp_path / "desktop").start()
    try:
        for name, value in desktop.env.items():
            monkeypatch.setenv(name, value)
        # dunst stacks identical notifications into one: count the Notify calls on the bus.
        monitor = subprocess.Popen(["dbus-monitor", "--address", desktop.address,
                                    "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert monitor.stdout.readline()  # it has subscribed once it prints its first signal
            results = started_at_once([["--db", str(db), "check"]] * 4)
            assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
            notes = desktop.shoetrack_notes()  # waits until dunst has shown and closed them
        finally:
            monitor.terminate()
            calls = monitor.communicate(timeout=10)[0].count("member=Notify")
    finally:
        desktop.stop()
    assert [n["summary"] for n in notes] == ["Road is worn out: 7 of 5 km"]
    assert calls == 1
    assert stored(db, "SELECT count(*) FROM announcements WHERE delivered_at IS NOT NULL") == [(1,)]


def test_the_same_activities_in_other_bytes_imported_side_by_side_are_stored_once(tmp_path):
    # Two exports of one watch (the same runs saved again with other bytes) imported at
    # once: whether a run is already stored is decided under the write lock.
    db = tmp_path / "st.db"
    run(db, "shoes", "add", "Road", "--default-for", "running")
    starts = [f"2026-0{1 + n // 28}-{n % 28 + 1:02d}T06:30:00Z" for n in range(60)]
    for n, start in enumerate(starts):
        write(tmp_path / "watch" / f"{n}.fit", fitgen.run(start, km=8))
        write(tmp_path / "phone" / f"{n}.fit", fitgen.run(start.replace(":30:00", ":30:20"), km=8.1))
    results = started_at_once([["--db", str(db), "import", "--json", str(tmp_path / folder)]
                               for folder in ("watch", "phone", "watch", "phone")])
    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
    assert stored(db, "SELECT count(*) FROM sessions") == [(60,)]
    reports = [json.loads(r.stdout) for r in results]
    assert sum(item["sessions"] for report in reports for item in report["imported"]) == 60
