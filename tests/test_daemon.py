"""The daemon as systemd runs it: a real subprocess, a real session bus, a real
notification daemon (dunst under Xvfb), real FIT files dropped in a real inbox.
Nothing is mocked."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from datetime import date, timedelta

import pytest

from tests import fitgen
from tests.desktop import (DaemonProcess, Desktop, missing_tools, quiet_env, run_count, venv_without_dbus_python,
                           wait_until)

pytestmark = pytest.mark.skipif(bool(missing_tools()),
                                reason=f"needs {', '.join(missing_tools())} (apt: dbus-daemon xvfb dunst)")

FAST = "[notify]\nretry_minutes = 0.05\n"  # retry due notifications every 3 s


def recent(days_ago: int) -> str:
    return f"{date.today() - timedelta(days=days_ago)}T06:30:00Z"


def drop(inbox, name: str, data: bytes) -> float:
    """Write a file the way a copy does: under a temporary name, then renamed in."""
    part = inbox.parent / (name + ".part")
    part.write_bytes(data)
    os.replace(part, inbox / name)
    return time.monotonic()


@pytest.fixture
def desktop(tmp_path):
    session = Desktop(tmp_path).start()
    yield session
    session.stop()


@pytest.fixture
def daemon(tmp_path, desktop):
    process = DaemonProcess(tmp_path / "d", desktop.env, FAST)
    yield process
    if process.process and process.process.poll() is None:
        process.stop()


def test_a_dropped_run_is_stored_within_5_seconds_and_a_worn_pair_notifies_once(daemon, desktop):
    assert daemon.cli("shoes", "add", "Road A", "--default-for", "running", "--limit-km", "12").returncode == 0
    daemon.start()
    landed = drop(daemon.inbox, "first.fit", fitgen.run(recent(3), km=8))
    assert wait_until(lambda: run_count(daemon) == 1, 5)
    assert time.monotonic() - landed < 5
    assert desktop.shoetrack_notes() == []  # 8 of 12 km: nothing to say yet

    drop(daemon.inbox, "second.fit", fitgen.run(recent(1), km=6))
    assert daemon.wait_log(r"notified: Road A is worn out", 10), daemon.text()
    [note] = desktop.shoetrack_notes()
    assert note["summary"] == "Road A is worn out: 14 of 12 km"
    assert "Consider replacing Road A" in note["body"]
    # The body names the report page, which the daemon writes after each evaluation.
    more, page = note["body"].split("More: shoetrack why, or the report page: ")
    assert wait_until(lambda: Path(page).is_file() and "Road A" in Path(page).read_text(), 10), daemon.text()

    drop(daemon.inbox, "third.fit", fitgen.run(recent(0), km=5))
    assert wait_until(lambda: run_count(daemon) == 3, 5)
    time.sleep(1.5)
    assert len(desktop.shoetrack_notes()) == 1  # the history holds the first one, and no other
    assert daemon.text().count("notified:") == 1


def test_an_alert_waits_for_the_notification_server_and_is_delivered_once(daemon, desktop):
    daemon.cli("shoes", "add", "Trail", "--default-for", "running", "--limit-km", "5")
    desktop.stop_dunst()
    daemon.start()
    drop(daemon.inbox, "run.fit", fitgen.run(recent(1), km=7))
    assert daemon.wait_log(r"WARNING notification not delivered, will retry", 10), daemon.text()
    assert delivery_states(daemon) == [False]
    time.sleep(4)  # more retries fail quietly: the warning is logged once
    assert daemon.text().count("notification not delivered") == 1

    desktop.start_dunst()
    assert daemon.wait_log(r"notified: Trail is worn out", 10), daemon.text()
    assert "notifications are delivered again" in daemon.text()
    time.sleep(4)
    assert [n["summary"] for n in desktop.shoetrack_notes()] == ["Trail is worn out: 7 of 5 km"]
    assert delivery_states(daemon) == [True]


def test_a_bus_that_goes_away_and_comes_back_is_used_again(daemon, desktop):
    daemon.cli("shoes", "add", "A", "--limit-km", "5", "--rule", "distance_km < 10")
    daemon.cli("shoes", "add", "B", "--limit-km", "5", "--rule", "distance_km >= 10")
    daemon.start()
    drop(daemon.inbox, "a.fit", fitgen.run(recent(2), km=6))
    assert daemon.wait_log(r"notified: A is worn out", 10), daemon.text()

    desktop.stop_dunst()
    desktop.stop_bus()
    desktop.start_bus()  # the same address, a new bus
    desktop.start_dunst()
    drop(daemon.inbox, "b.fit", fitgen.run(recent(1), km=12))
    assert daemon.wait_log(r"notified: B is worn out", 15), daemon.text()
    assert [n["summary"] for n in desktop.shoetrack_notes()] == ["B is worn out: 12 of 5 km"]


def test_sigterm_exits_0_within_5_seconds(daemon):
    daemon.start()
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.process.wait(5) == 0
    assert time.monotonic() - started < 5
    assert "INFO stopped" in daemon.text()


def test_a_file_written_in_chunks_is_imported_once_complete(daemon):
    daemon.start()
    data = fitgen.run(recent(1), km=10, records_every_s=1)  # ~22 KB of per-second records
    target = daemon.inbox / "slow.fit"
    chunks = [data[i:i + len(data) // 8 + 1] for i in range(0, len(data), len(data) // 8 + 1)]
    for chunk in chunks:  # reopened and appended each time: a close event per chunk
        with open(target, "ab") as stream:
            stream.write(chunk)
        time.sleep(2 / len(chunks))
    assert wait_until(lambda: run_count(daemon) == 1, 6), daemon.text()
    time.sleep(1)
    assert daemon.query("SELECT outcome, size FROM files") == [("imported", len(data))]
    assert daemon.query("SELECT distance_m FROM sessions") == [(10000.0,)]
    assert "failed" not in daemon.text()


# -- when a file is complete: at its close, or (without close events) once it held still --------

SETTLE_S = 30  # the stability window these daemons are given: only a close can bring a file in sooner


@pytest.fixture
def patient(tmp_path):
    """A daemon that waits SETTLE_S for a file to hold still, when no close vouches for it."""
    process = DaemonProcess(tmp_path / "p", quiet_env(tmp_path, SHOETRACK_SETTLE_S=str(SETTLE_S)),
                            "[notify]\nenabled = false\n")
    yield process
    if process.process and process.process.poll() is None:
        process.stop()


def file_rows(daemon) -> list[tuple]:
    return daemon.query("SELECT path, outcome, size FROM files ORDER BY path")


def test_a_file_written_and_closed_is_stored_at_once_without_waiting_to_hold_still(patient):
    daemon = patient.start()
    data = fitgen.run(recent(2), km=8)
    with open(daemon.inbox / "closed.fit", "wb") as stream:  # written in place, as a copy does
        stream.write(data)
    closed = time.monotonic()
    assert wait_until(lambda: run_count(daemon) == 1, SETTLE_S / 2), daemon.text()
    took = time.monotonic() - closed
    # Held still for 30 s, it would have waited that long: only the close explains a prompt import.
    assert took < SETTLE_S / 2, took

    renamed = fitgen.run(recent(1), km=6)
    moved = drop(daemon.inbox, "moved.fit", renamed)  # renamed in: whole at once too
    assert wait_until(lambda: run_count(daemon) == 2, SETTLE_S / 2), daemon.text()
    assert time.monotonic() - moved < SETTLE_S / 2
    assert file_rows(daemon) == [(str(daemon.inbox / "closed.fit"), "imported", len(data)),
                                 (str(daemon.inbox / "moved.fit"), "imported", len(renamed))]
    log = daemon.text()
    assert log.count("INFO imported") == 2 and "failed" not in log and "Traceback" not in log


def test_a_file_written_slowly_in_one_open_is_never_imported_half(patient):
    """One writer keeps the file open and writes it in pieces, with pauses, while other
    files land and are imported (the daemon is demonstrably looking), and another
    process opens it for writing and closes it (a `touch`) after each piece. The
    first piece is a whole FIT file (the file is a chain of two): its bytes alone
    look complete. Nothing is imported until the writer's own close, then the whole
    file at once: no failure, one outcome, both runs."""
    daemon = patient.start()
    first, second = fitgen.run(recent(3), km=10, records_every_s=1), fitgen.run(recent(2), km=5)
    data = first + second
    pieces = [first] + [second[i:i + len(second) // 4 + 1] for i in range(0, len(second), len(second) // 4 + 1)]
    target = daemon.inbox / "slow.fit"
    with open(target, "wb") as writer:
        for n, piece in enumerate(pieces):
            writer.write(piece)
            writer.flush()
            open(target, "ab").close()  # a close after writing, reported while the writer is still at it
            # The pause: until a file dropped meanwhile is imported (the close above was looked at).
            drop(daemon.inbox, f"other{n}.fit", fitgen.run(recent(10 + n)))
            assert wait_until(lambda: run_count(daemon) == n + 1, SETTLE_S / 2), daemon.text()
            assert all(path != str(target) for path, _, _ in file_rows(daemon)), daemon.text()
    closed = time.monotonic()
    assert wait_until(lambda: run_count(daemon) == len(pieces) + 2, SETTLE_S / 2), daemon.text()
    assert time.monotonic() - closed < SETTLE_S / 2
    assert [row for row in file_rows(daemon) if row[0] == str(target)] == [(str(target), "imported", len(data))]
    log = daemon.text()
    assert log.count(f"imported {target} (2 sessions)") == 1, log
    assert "failed" not in log and "duplicate" not in log and "Traceback" not in log


def test_without_close_events_a_file_is_imported_once_it_held_still(tmp_path):
    """The fallback, as on a network mount: a polling watcher reports no closes, so a
    file is taken only once its size and mtime held still for the window; and not
    even then while its writer still has it open with half its bytes (a stalled copy)."""
    settle = 2.0
    daemon = DaemonProcess(tmp_path / "poll", quiet_env(tmp_path, SHOETRACK_WATCH="poll",
                                                        SHOETRACK_SETTLE_S=str(settle)),
                           "[notify]\nenabled = false\n")
    daemon.start()
    try:
        assert f"no close events from {daemon.inbox}: files are imported once they have held still for 2 s" \
            in daemon.text()
        data = fitgen.run(recent(1), km=10, records_every_s=1)
        polled = daemon.inbox / "polled.fit"
        with open(polled, "wb") as stream:
            stream.write(data[:len(data) // 2])
        with open(polled, "ab") as stream:  # closed and reopened: no close vouches for it here
            stream.write(data[len(data) // 2:])
        written = time.monotonic()
        assert wait_until(lambda: run_count(daemon) == 1, 10 * settle + 10), daemon.text()
        assert time.monotonic() - written >= settle  # not before it held still for the whole window
        assert file_rows(daemon) == [(str(polled), "imported", len(data))]

        stalled, more = daemon.inbox / "stalled.fit", fitgen.run(recent(3), km=10, records_every_s=1)
        with open(stalled, "wb") as writer:
            writer.write(more[:len(more) // 3])
            writer.flush()
            # The pause: until a file dropped after this write has held still for the window and was
            # imported (so the half file has held still as long).
            drop(daemon.inbox, "other.fit", fitgen.run(recent(5)))
            assert wait_until(lambda: run_count(daemon) == 2, 10 * settle + 10), daemon.text()
            assert all(path != str(stalled) for path, _, _ in file_rows(daemon)), daemon.text()
            writer.write(more[len(more) // 3:])
        assert wait_until(lambda: run_count(daemon) == 3, 10 * settle + 10), daemon.text()
        assert [row for row in file_rows(daemon) if row[0] == str(stalled)] == [(str(stalled), "imported",
                                                                                len(more))]
        assert daemon.stop() == 0
        assert "failed" not in daemon.text() and "Traceback" not in daemon.text()
    finally:
        if daemon.process.poll() is None:
            daemon.stop()


def test_after_import_move_tidies_the_inbox(tmp_path, desktop):
    daemon = DaemonProcess(tmp_path / "m", desktop.env)
    daemon.config.write_text(f'[inbox]\npath = "{daemon.inbox}"\nafter_import = "move"\n')
    daemon.start()
    try:
        drop(daemon.inbox, "good.fit", fitgen.run(recent(1)))
        drop(daemon.inbox, "bad.fit", b"not a fit file at all")
        moved = daemon.inbox / "imported" / "good.fit"
        failed = daemon.inbox / "failed" / "bad.fit"
        assert wait_until(lambda: moved.exists() and failed.exists(), 8), daemon.text()
        reason = (daemon.inbox / "failed" / "bad.fit.reason.txt").read_text()
        assert "not a FIT file" in reason
        assert sorted(p.name for p in daemon.inbox.iterdir()) == ["failed", "imported"]
        time.sleep(1)
        assert run_count(daemon) == 1  # moving a file is not a new file
    finally:
        assert daemon.stop() == 0


def test_a_broken_config_exits_78_with_a_clear_message(daemon):
    daemon.config.write_text("[daemon]\nscan_minutes = -1\n")
    daemon.start(wait_ready=False)
    assert daemon.process.wait(10) == 78
    assert "daemon.scan_minutes: must be a number > 0" in daemon.text()
    assert "Traceback" not in daemon.text()


def test_sighup_reloads_and_keeps_the_old_config_when_the_new_one_is_bad(daemon):
    daemon.start()
    good = daemon.config.read_text()
    daemon.config.write_text(good + "[notify]\nurgency = 'loud'\n")
    daemon.signal(signal.SIGHUP)
    assert daemon.wait_log(r"config reload refused, keeping the running config", 5), daemon.text()
    assert daemon.process.poll() is None
    daemon.config.write_text(good.replace("retry_minutes = 0.05", "retry_minutes = 1"))
    daemon.signal(signal.SIGHUP)
    assert daemon.wait_log(r"config reloaded from", 5), daemon.text()
    drop(daemon.inbox, "after.fit", fitgen.run(recent(1)))
    assert wait_until(lambda: run_count(daemon) == 1, 5)
    assert daemon.stop() == 0


def test_systemd_notify_protocol(tmp_path, desktop):
    daemon = DaemonProcess(tmp_path / "n", desktop.env)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    listener.settimeout(10)
    daemon.env = {**desktop.env, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "1000000"}
    daemon.start(wait_ready=False)
    try:
        messages = {listener.recv(256).decode() for _ in range(3)}
        assert "READY=1" in messages and "WATCHDOG=1" in messages
        daemon.signal(signal.SIGTERM)
        while (message := listener.recv(256).decode()) == "WATCHDOG=1":
            pass
        assert message == "STOPPING=1"
        assert daemon.process.wait(5) == 0
    finally:
        listener.close()
        if daemon.process.poll() is None:
            daemon.stop()


def test_notify_test_says_whether_it_was_delivered(daemon, desktop):
    result = daemon.cli("notify", "--test")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("delivered")
    assert [n["summary"] for n in desktop.shoetrack_notes()] == ["shoetrack can reach your desktop"]
    assert "(via dbus-python)" in result.stdout
    desktop.stop_dunst()
    result = daemon.cli("notify", "--test")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: not delivered, nothing was shown: no notification server is running")
    desktop.stop_bus()
    result = daemon.cli("notify", "--test")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: not delivered, nothing was shown: no D-Bus session bus at ")


# -- without dbus-python, as `pip install .` installs it: plyer would use notify-send ----------

needs_notify_send = pytest.mark.skipif(shutil.which("notify-send") is None,
                                       reason="needs notify-send (apt: libnotify-bin)")
QUICK = "[notify]\nretry_minutes = 0.02\n"  # retry due notifications every 1.2 s
TEST_NOTE = "shoetrack can reach your desktop"


@pytest.fixture(scope="session")
def plain_python(tmp_path_factory):
    """The python of a real venv holding shoetrack and its runtime dependencies
    but not dbus-python, made once per session by copying the installed files
    (see `venv_without_dbus_python`; 0.4–0.9 s, no index, no build)."""
    python = venv_without_dbus_python(tmp_path_factory.mktemp("plain") / "venv")
    assert subprocess.run([python, "-c", "import dbus"], capture_output=True).returncode == 1
    return python


@pytest.fixture
def bare_desktop(tmp_path):
    session = Desktop(tmp_path)  # nothing runs yet: each test starts what it needs
    yield session
    session.stop()


@pytest.fixture
def plain_daemon(tmp_path, bare_desktop, plain_python):
    process = DaemonProcess(tmp_path / "d", bare_desktop.env, QUICK, python=plain_python)
    yield process
    if process.process and process.process.poll() is None:
        process.stop()


def notify_test_error(daemon) -> str:
    """`shoetrack notify --test`, expected to fail: its one line."""
    result = daemon.cli("notify", "--test")
    assert result.returncode == 1, (result.stdout, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: not delivered, nothing was shown: "), line
    return line


def alert_notes(desktop) -> list[str]:
    return [n["summary"] for n in desktop.shoetrack_notes() if n["summary"] != TEST_NOTE]


def delivery_states(daemon) -> list[bool]:
    """For each announced alert, whether its notification was recorded as shown
    (the one place that knows where the store keeps that)."""
    return [at is not None for (at,) in daemon.query("SELECT delivered_at FROM announcements ORDER BY id")]


@needs_notify_send
def test_without_dbus_python_an_alert_waits_for_a_bus_then_a_server_and_is_shown_once(plain_daemon, bare_desktop):
    """No bus yet (the address leads nowhere), then a bus without a notification
    server, then dunst: notify-send's failures count as failures all along."""
    daemon, desktop = plain_daemon, bare_desktop
    daemon.cli("shoes", "add", "A", "--limit-km", "5", "--rule", "distance_km < 10")
    daemon.cli("shoes", "add", "B", "--limit-km", "5", "--rule", "distance_km >= 10")
    line = notify_test_error(daemon)
    assert f"no D-Bus session bus at {desktop.address}" in line and "run shoetrack inside your desktop" in line

    daemon.start()
    assert daemon.wait_log(r"INFO watching .*notifications via notify-send\n"
                           r"WARNING notifications cannot be shown right now: no D-Bus session bus at .*"
                           r"Alerts stay due and are retried every 0.02 min", 10), daemon.text()
    drop(daemon.inbox, "a.fit", fitgen.run(recent(2), km=6))
    assert daemon.wait_log(r"notification not delivered, will retry: no D-Bus session bus", 10), daemon.text()
    assert delivery_states(daemon) == [False]

    desktop.start_bus()
    assert daemon.wait_log(r"will retry: no notification server is running in this session", 10), daemon.text()
    assert delivery_states(daemon) == [False]
    assert "no notification server is running in this session" in notify_test_error(daemon)

    desktop.start_x()
    desktop.start_dunst()
    assert daemon.wait_log(r"notified: A is worn out", 10), daemon.text()
    assert alert_notes(desktop) == ["A is worn out: 6 of 5 km"]
    assert delivery_states(daemon) == [True]

    # A later round that delivers does not send A again: B becomes due while no
    # server runs, and the round that finally delivers B sends B alone.
    desktop.stop_dunst()
    drop(daemon.inbox, "b.fit", fitgen.run(recent(1), km=12))
    assert daemon.wait_log(r"will retry: no notification server is running", 10, count=2), daemon.text()
    desktop.start_dunst()
    assert daemon.wait_log(r"notified: B is worn out", 10), daemon.text()
    assert alert_notes(desktop) == ["B is worn out: 12 of 5 km"]
    assert daemon.text().count("notified: A is worn out") == 1
    assert delivery_states(daemon) == [True, True]

    result = daemon.cli("notify", "--test")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "delivered: the notification server accepted it (via notify-send)\n"
    assert TEST_NOTE in [n["summary"] for n in desktop.shoetrack_notes()]
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.text()


@needs_notify_send
def test_without_dbus_python_the_start_up_says_no_server_runs_and_the_alert_waits_for_dunst(plain_daemon,
                                                                                           bare_desktop):
    daemon, desktop = plain_daemon, bare_desktop
    desktop.start_bus()
    daemon.cli("shoes", "add", "Trail", "--default-for", "running", "--limit-km", "5")
    line = notify_test_error(daemon)
    assert "no notification server is running in this session" in line and "start a notification daemon" in line

    daemon.start()
    assert daemon.wait_log(r"WARNING notifications cannot be shown right now: no notification server is running "
                           r"in this session .*start a notification daemon .*or run shoetrack inside your desktop "
                           r"session\. Alerts stay due and are retried every 0.02 min", 10), daemon.text()
    drop(daemon.inbox, "run.fit", fitgen.run(recent(1), km=7))
    assert daemon.wait_log(r"notification not delivered, will retry: no notification server", 10), daemon.text()
    assert delivery_states(daemon) == [False]

    desktop.start_x()
    desktop.start_dunst()
    assert daemon.wait_log(r"notified: Trail is worn out", 10), daemon.text()
    assert "notifications are delivered again" in daemon.text()
    assert alert_notes(desktop) == ["Trail is worn out: 7 of 5 km"]
    assert delivery_states(daemon) == [True]

    result = daemon.cli("notify", "--test")
    assert (result.returncode, result.stdout) == (0, "delivered: the notification server accepted it (via "
                                                     "notify-send)\n"), result.stderr
    assert TEST_NOTE in [n["summary"] for n in desktop.shoetrack_notes()]
    # Without DBUS_SESSION_BUS_ADDRESS, $XDG_RUNTIME_DIR/bus is the session bus (as for libdbus and GLib).
    daemon.env = {**{k: v for k, v in desktop.env.items() if k != "DBUS_SESSION_BUS_ADDRESS"},
                  "XDG_RUNTIME_DIR": str(desktop.folder)}
    result = daemon.cli("notify", "--test")
    assert result.returncode == 0, result.stderr
    assert [n["summary"] for n in desktop.shoetrack_notes()].count(TEST_NOTE) == 2


@needs_notify_send
def test_without_dbus_python_and_no_session_bus_address_nothing_counts_as_shown(plain_daemon, tmp_path):
    daemon = plain_daemon
    nowhere = tmp_path / "runtime"
    nowhere.mkdir()
    daemon.env = {**{k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")},
                  "XDG_RUNTIME_DIR": str(nowhere), "HOME": str(tmp_path)}
    daemon.cli("shoes", "add", "Trail", "--default-for", "running", "--limit-km", "5")
    assert "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)" in notify_test_error(daemon)

    daemon.start()
    assert daemon.wait_log(r"WARNING notifications cannot be shown right now: no D-Bus session bus "
                           r"\(DBUS_SESSION_BUS_ADDRESS is not set\).*retried every 0.02 min", 10), daemon.text()
    drop(daemon.inbox, "run.fit", fitgen.run(recent(1), km=7))
    assert daemon.wait_log(r"notification not delivered, will retry: no D-Bus session bus", 10), daemon.text()
    assert delivery_states(daemon) == [False]
    assert daemon.stop() == 0
