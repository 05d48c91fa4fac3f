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
from datetime import date, timedelta

import pytest

from tests import fitgen
from tests.desktop import DaemonProcess, Desktop, missing_tools, venv_without_dbus_python, wait_until

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


def run_count(daemon) -> int:
    rows = daemon.query("SELECT count(*) FROM sessions")
    return rows[0][0] if rows else 0


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
    assert "Consider replacing Road A" in note["body"] and note["body"].endswith("More: shoetrack why")

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
