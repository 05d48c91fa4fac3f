"""The daemon's latency, and the daemon at rest: resident memory and CPU time while idle.

Latency: a real desktop session as the tests make it (a private D-Bus session bus,
Xvfb and a real dunst, tests/desktop.py) and `python -m shoetrack daemon` as a
subprocess on a fresh inbox. Each of --files runs is written into the inbox (open,
write, close: the way a copy lands) and makes a new alert (its own pair, worn out
by it). From the moment the writer calls close (the daemon may store the run before
the writer is scheduled again to return from it), it times the run's row in the
database and the notification dunst shows (its displayed count, asked over D-Bus
every --poll seconds). Targets: stored < 0.5 s, shown < 1 s (median and worst).
The daemon's resident memory is then read at rest (target < 50 MB).

At rest: another daemon, without a desktop, gets a history of runs dropped into its
inbox (default 200 one-hour runs with 1 s records), imports them, then is measured
for an idle window (default 120 s) from /proc: RSS at the end, CPU seconds used
during the window, extrapolated to an hour. Targets: under 50 MB RSS, under 1 s of
CPU per idle hour.

    python benchmarks/bench_daemon.py [--files 10] [--runs 200] [--idle 120] [--poll 0.002]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import fitgen  # noqa: E402
from tests.desktop import DaemonProcess, Desktop, missing_tools, wait_until  # noqa: E402

STORED_TARGET_S = 0.5
SHOWN_TARGET_S = 1.0
RSS_TARGET_MB = 50
CPU_TARGET_S_PER_HOUR = 1.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def stored_runs(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores ({usable} usable), {model}; {platform.platform()}; "
            f"Python {platform.python_version()}; load average at start {load}")


class Dunst:
    """dunst's own D-Bus interface (what dunstctl calls), asked in-process: a poll costs
    a fraction of a millisecond, not a dunstctl and dbus-send process."""

    def __init__(self, address: str):
        from jeepney import DBusAddress
        from jeepney.io.blocking import open_dbus_connection

        self.connection = open_dbus_connection(address)
        self.dunst = DBusAddress("/org/freedesktop/Notifications", bus_name="org.freedesktop.Notifications",
                                 interface="org.dunstproject.cmd0")

    def displayed(self) -> int:
        from jeepney import Properties

        reply = self.connection.send_and_get_reply(Properties(self.dunst).get("displayedLength"), timeout=5)
        return reply.body[0][1]

    def close_all(self) -> None:
        from jeepney import new_method_call

        self.connection.send_and_get_reply(new_method_call(self.dunst, "NotificationCloseAll"), timeout=5)

    def close(self) -> None:
        self.connection.close()


def summary(name: str, values: list[float], target: float) -> str:
    median, worst = statistics.median(values), max(values)
    return (f"{name}: median {median * 1000:.0f} ms, worst {worst * 1000:.0f} ms, best {min(values) * 1000:.0f} ms "
            f"over {len(values)} files (target < {target:g} s: median {median / target:.2f}x, "
            f"worst {worst / target:.2f}x)")


def latency(files: int, poll_s: float) -> None:
    missing = missing_tools()
    if missing:
        print(f"latency: skipped, needs {', '.join(missing)} (apt: dbus-daemon xvfb dunst)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        desktop = Desktop(folder).start()
        daemon = DaemonProcess(folder / "d", desktop.env)
        dunst = None
        try:
            # One pair per file, worn out by that file alone: each import makes one new alert.
            for i in range(files):
                result = daemon.cli("shoes", "add", f"Pair {i}", "--limit-km", "1",
                                    "--rule", f"distance_km >= {5 + i}", "--rule", f"distance_km < {6 + i}")
                assert result.returncode == 0, result.stderr
            daemon.start()
            dunst = Dunst(desktop.address)
            today = date.today()
            stored, shown = [], []
            with sqlite3.connect(daemon.db, timeout=10) as conn:
                def count() -> int:
                    return conn.execute("SELECT count(*) FROM sessions").fetchone()[0]

                for i in range(files):
                    dunst.close_all()
                    assert wait_until(lambda: dunst.displayed() == 0, 5)
                    data = fitgen.run(f"{today - timedelta(days=2 * (files - i))}T06:30:00Z", km=5.5 + i,
                                      minutes=30 + 15 * i, records_every_s=1)  # 20 KB and up
                    fd = os.open(daemon.inbox / f"run{i:03d}.fit", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    os.write(fd, data)
                    # Timed from just before the close: the daemon may well see the close (and store
                    # the run) before this process is scheduled again to return from it.
                    closed = time.perf_counter()
                    os.close(fd)
                    at_stored = at_shown = None
                    while at_shown is None and time.perf_counter() - closed < 15:
                        if at_stored is None and count() == i + 1:
                            at_stored = time.perf_counter()
                        if at_stored is not None and dunst.displayed() > 0:
                            at_shown = time.perf_counter()
                        time.sleep(poll_s)
                    assert at_shown is not None, f"file {i}: no notification within 15 s\n{daemon.text()}"
                    stored.append(at_stored - closed)
                    shown.append(at_shown - closed)
                    print(f"  file {i + 1:2d} ({len(data) // 1024} KB): stored {stored[-1] * 1000:4.0f} ms, "
                          f"notification shown {shown[-1] * 1000:4.0f} ms")
                    assert daemon.wait_log(r"notified: Pair ", 10, count=i + 1), daemon.text()
            print(summary("file closed -> stored", stored, STORED_TARGET_S))
            print(summary("file closed -> desktop notification shown (dunst)", shown, SHOWN_TARGET_S))
            time.sleep(3)  # the round's last steps end; then it is at rest
            rss = rss_mb(daemon.process.pid)
            print(f"daemon at rest after these files: {rss:.1f} MB RSS ({rss / RSS_TARGET_MB:.2f}x the "
                  f"{RSS_TARGET_MB} MB target)")
            assert "Traceback" not in daemon.text() and "failed" not in daemon.text(), daemon.text()
        finally:
            if dunst is not None:
                dunst.close()
            if daemon.process and daemon.process.poll() is None:
                daemon.stop()
            desktop.stop()


def at_rest(runs: int, idle_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inbox, db, config = folder / "inbox", folder / "st.db", folder / "config.toml"
        inbox.mkdir()
        config.write_text(f'[inbox]\npath = "{inbox}"\n[notify]\nenabled = false\n')
        env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
        daemon = subprocess.Popen([sys.executable, "-m", "shoetrack", "--config", str(config), "--db", str(db),
                                   "daemon"], env=env, stderr=subprocess.DEVNULL, cwd=ROOT)
        try:
            time.sleep(1.5)
            print(f"daemon started: {rss_mb(daemon.pid):.1f} MB RSS")
            start = datetime(2020, 1, 1, 6, tzinfo=timezone.utc)
            began = time.perf_counter()
            for i in range(runs):
                data = fitgen.run(start + timedelta(days=i), km=10, minutes=60, records_every_s=1)
                (inbox / f"{i:05d}.fit").write_bytes(data)
            while stored_runs(db) < runs:
                time.sleep(0.5)
            print(f"imported {runs} one-hour runs in {time.perf_counter() - began:.1f} s; "
                  f"{rss_mb(daemon.pid):.1f} MB RSS")
            time.sleep(3)  # let the last evaluation finish
            cpu_before = cpu_seconds(daemon.pid)
            time.sleep(idle_s)
            used = cpu_seconds(daemon.pid) - cpu_before
            per_hour = used * 3600 / idle_s
            rss = rss_mb(daemon.pid)
            print(f"idle {idle_s:.0f} s: {used:.3f} s CPU -> {per_hour:.2f} s per hour "
                  f"({per_hour / CPU_TARGET_S_PER_HOUR:.2f}x the {CPU_TARGET_S_PER_HOUR:g} s target)")
            print(f"resident memory: {rss:.1f} MB ({rss / RSS_TARGET_MB:.2f}x the {RSS_TARGET_MB} MB target)")
        finally:
            daemon.terminate()
            daemon.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10, help="files timed for latency (0: none)")
    parser.add_argument("--poll", type=float, default=0.002, help="seconds between looks at the database and dunst")
    parser.add_argument("--runs", type=int, default=200, help="runs imported before the idle window (0: none)")
    parser.add_argument("--idle", type=float, default=120.0)
    args = parser.parse_args()
    print(machine())
    if args.files:
        latency(args.files, args.poll)
    if args.runs:
        at_rest(args.runs, args.idle)


if __name__ == "__main__":
    main()
