"""Places: the daemon at rest with three watched places (one polled), and a watch's re-check.

(1) At rest. A real `python -m shoetrack daemon` (as systemd runs it: no --verbose, no
    desktop) reads three places that already hold --runs runs each (default 200, one-hour
    runs with 1 s records, each run once): the inbox (inotify), a [[watch.places]] folder
    (inotify) and one with `poll_seconds = 30` (what a FUSE or network folder gets), with
    watch.devices on: the default removable-media roots plus an empty folder of its own
    (watched for a device to appear; nothing is mounted). Once every run is in the
    database and the start-up work is over, its CPU time (utime + stime of the whole
    process, /proc/PID/stat, in clock ticks) is read over an idle window (default 180 s,
    --seconds), with each thread's CPU and voluntary context switches (its wake-ups).
    Target: < 1 s of CPU per hour. Clock ticks are 10 ms: a 180 s window holds a handful,
    so its figure is good to about +-0.2 s per hour. Mount-table changes during the window
    (another process mounting) are counted: each wakes the daemon. Jobs slower than the window (the 10-minute rescan of
    the inotify places, the hourly backup check) are sampled by a long enough --seconds
    only. Then (--compare, default 30 s; 0: off) the same daemon is started again with
    the polled folder at `poll_seconds = 1`: the difference in CPU rate is what one look
    through that folder costs, also timed in-process (Inbox.rescan of the 200 files, and
    the store write that records a look, at most once a minute per polled place).

(2) A watch's re-check. A device root holds FR245/GARMIN/Activity with --device-files
    FIT files (default 1,000; mtimes days old, as on a watch) and a GarminDevice.xml.
    The daemon (--verbose) imports them once; then, --repeats times, the watch goes
    (renamed out of the root: the daemon logs "went away") and comes back (renamed in:
    the same paths, sizes and mtimes, so the `seen` table knows every file). Timed from
    the rename back to the daemon's log line for the last of the files ("DEBUG unchanged
    PATH": _log_report writes one per file, after the whole import_place_files call, so
    the last one marks the end of the round's import, just before its "looked through" line),
    with the step in between: the rename to "found ... at ...". The bytes the daemon read
    meanwhile (rchar, /proc/PID/io) show whether any file was read again. In-process, a
    fresh Python (bytecode compiled beforehand, as pip does) does what the daemon does
    per round on the same database: devices_now(), Inbox(...).rescan(vouch=True),
    ready(), import_place_files(...). Target: < 1 s (median).

    python benchmarks/bench_places.py [--seconds 180] [--compare 30] [--runs 200]
                                      [--device-files 1000] [--repeats 5] [--skip-idle] [--skip-device]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.dont_write_bytecode = True  # nothing is written into the tree (the daemons compile into their own folder)
sys.path.insert(0, str(ROOT))

from shoetrack.config import read_config  # noqa: E402
from benchmarks.bench_daemon import cpu_seconds, machine, rss_mb, stored_runs  # noqa: E402
from tests import fitgen  # noqa: E402
from tests.desktop import DaemonProcess, wait_until  # noqa: E402

CPU_TARGET_S_PER_HOUR = 1.0
RECHECK_TARGET_S = 1.0
TICK_S = 1 / os.sysconf("SC_CLK_TCK")
DEVICE_XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<Device xmlns="http://www.garmin.com/xmlschemas/GarminDevice/v2">'
              "<Model><PartNumber>006-B3076-00</PartNumber><Description>Forerunner 245</Description></Model></Device>\n")
STARTED: list[subprocess.Popen] = []  # every process this benchmark started, stopped on the way out


# -- processes -------------------------------------------------------------------------

def bench_env(home: Path) -> dict:
    """This environment with HOME in the benchmark's folder: nothing of the runner's is read or written."""
    drop = ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "PYTHONDONTWRITEBYTECODE",
            "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("SHOETRACK_")}
    env["HOME"] = str(home)
    env["PYTHONPYCACHEPREFIX"] = str(home / "bytecode")  # compiled once, outside the tree
    return env


def compile_once(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "shoetrack")],
                   env=env, check=True, stdout=subprocess.DEVNULL)


class LoggedDaemon(DaemonProcess):
    """DaemonProcess with each log line stamped (time.monotonic) as it arrives on a pipe."""

    def __init__(self, folder: Path, env: dict, settings: str = "", verbose: bool = False):
        super().__init__(folder, env, settings)
        self.verbose = verbose
        self.lines: list[tuple[float, str]] = []

    def start(self, wait_ready: bool = True) -> "LoggedDaemon":
        self.lines = []
        self.process = subprocess.Popen(
            [self.python, "-m", "shoetrack", "--config", str(self.config), "--db", str(self.db), "daemon",
             *(["--verbose"] if self.verbose else [])],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.folder, text=True)
        STARTED.append(self.process)
        threading.Thread(target=self._read, args=(self.process, self.lines), daemon=True).start()
        if wait_ready:
            assert wait_until(lambda: self.after(0, r"INFO watching "), 20), self.text()
        return self

    def _read(self, process: subprocess.Popen, lines: list) -> None:
        with open(self.log, "a") as copy:
            for line in process.stderr:
                lines.append((time.monotonic(), line.rstrip("\n")))
                copy.write(line)

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def after(self, mark: int, pattern: str) -> list[tuple[float, str]]:
        """The lines since line number `mark` that match `pattern` (re.search)."""
        found = re.compile(pattern)
        return [(t, line) for t, line in self.lines[mark:] if found.search(line)]


def stop_all() -> None:
    for process in STARTED:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


class MountChanges:
    """Counts changes of the mount table while it runs: each makes the daemon look at its places,
    so a window with any is not of a machine at rest (other processes mounting, say a test suite)."""

    def __init__(self):
        import select

        self.count = 0
        self._stopping = threading.Event()
        self._table = open("/proc/self/mountinfo", "rb")
        self._poller = select.poll()
        self._poller.register(self._table.fileno(), select.POLLPRI | select.POLLERR)
        self._poller.poll(0)  # (the first poll reports the table as changed)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._poller.poll(200):
                self.count += 1

    def stop(self) -> int:
        self._stopping.set()
        self._thread.join(5)
        self._table.close()
        return self.count


def threads(pid: int) -> dict[int, tuple[str, float, int]]:
    """Each thread: (name, CPU seconds, voluntary context switches)."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        switches = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        found[int(tid)] = (name, (int(fields[11]) + int(fields[12])) * TICK_S, switches)
    return found


def read_chars(pid: int) -> int | None:
    try:
        return int(re.search(r"^rchar: (\d+)", Path(f"/proc/{pid}/io").read_text(), re.M).group(1))
    except (OSError, AttributeError):
        return None


def settle_cpu(pid: int, quiet_s: float = 3.0, most_s: float = 60.0) -> float:
    """Wait until the process used no CPU tick for `quiet_s` (at most `most_s`); returns the wait."""
    began = time.monotonic()
    last, since = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - began < most_s:
        time.sleep(0.25)
        now = cpu_seconds(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
    return time.monotonic() - began


def calm(pid: int, span_s: float = 2.0, most_s: float = 30.0) -> None:
    """Wait until the process used at most one clock tick in `span_s` (at most `most_s`)."""
    end = time.monotonic() + most_s
    while time.monotonic() < end:
        before = cpu_seconds(pid)
        time.sleep(span_s)
        if cpu_seconds(pid) - before <= TICK_S * 1.5:
            return


def write_runs(folder: Path, count: int, first: datetime, every_s: int = 1) -> int:
    """`count` one-hour runs, one a day from `first`, each file's mtime the run's end; returns bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(count):
        start = first + timedelta(days=i)
        data = fitgen.run(start, km=10, minutes=60, records_every_s=every_s)
        path = folder / f"{start:%Y-%m-%d-%H-%M-%S}.fit"
        path.write_bytes(data)
        ended = (start + timedelta(hours=1)).timestamp()
        os.utime(path, (ended, ended))
        total += len(data)
    return total


# -- (1) at rest ------------------------------------------------------------------------------

def places_config(inotify_folder: Path, polled: Path, poll_s: float, media: Path) -> str:
    return (f'[notify]\nenabled = false\n[watch]\ndevices = true\n'
            f'device_roots = ["/media/$USER", "/run/media/$USER", "/run/user/$UID/gvfs", "{media}"]\n'
            f'[[watch.places]]\npath = "{inotify_folder}"\n'
            f'[[watch.places]]\npath = "{polled}"\npoll_seconds = {poll_s:g}\n')


def idle_window(pid: int, seconds: float, slice_s: float = 30.0):
    """CPU over `seconds`, sampled every second: (used, [CPU per slice], thread deltas)."""
    mounts = MountChanges()
    before_threads = threads(pid)
    began, before = time.monotonic(), cpu_seconds(pid)
    samples = [(0.0, before)]
    while time.monotonic() - began < seconds:
        time.sleep(max(0.01, min(1.0, seconds - (time.monotonic() - began))))
        samples.append((time.monotonic() - began, cpu_seconds(pid)))
    elapsed = time.monotonic() - began
    after_threads = threads(pid)
    mounted = mounts.stop()
    used = samples[-1][1] - before
    slices = []
    edge = slice_s
    last = before
    for t, cpu in samples:
        if t >= edge or t == samples[-1][0]:
            slices.append(cpu - last)
            last, edge = cpu, edge + slice_s
    per_thread = []
    for tid, (name, cpu, switches) in after_threads.items():
        old = before_threads.get(tid, (name, 0.0, 0))
        per_thread.append((tid, name, cpu - old[1], switches - old[2]))
    per_thread.sort(key=lambda row: (-row[3], -row[2]))
    return used, elapsed, slices, per_thread, mounted


def poll_cost_in_process(env: dict, polled: Path, db: Path) -> dict:
    """One look through the polled folder, and one recorded look, timed in a fresh process."""
    code = f"""
import json, time
from pathlib import Path
from shoetrack.service.inbox import Inbox
from shoetrack.adapters.store import Store
tracker = Inbox(Path({str(polled)!r}), kept=(), check_writers=True)
tracker.rescan(vouch=True)
now = time.monotonic()
for path in tracker.ready(now + 10):
    tracker.done(path)  # as after the import: the files are known, a look finds nothing new
n = 50
cpu, wall = time.process_time(), time.perf_counter()
for _ in range(n):
    assert tracker.rescan(vouch=True) == 0
rescan_cpu, rescan_wall = (time.process_time() - cpu) / n, (time.perf_counter() - wall) / n
cpu, wall = time.process_time(), time.perf_counter()
for _ in range(10):
    with Store(Path({str(db)!r}), write_wait_s=0) as store:
        store.record_scan({str(polled)!r}, "folder", None)
record_cpu, record_wall = (time.process_time() - cpu) / 10, (time.perf_counter() - wall) / 10
print(json.dumps(dict(rescan_cpu=rescan_cpu, rescan_wall=rescan_wall, record_cpu=record_cpu, record_wall=record_wall)))
"""
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def at_rest(runs: int, seconds: float, compare_s: float) -> None:
    print(f"\n(1) at rest with three places ({runs} runs in each), one polled every 30 s, "
          f"watch.devices on with nothing mounted")
    with tempfile.TemporaryDirectory(prefix="bench-places-") as name:
        tmp = Path(name)
        env = bench_env(tmp)
        compile_once(env)
        inotify_folder, polled, media = tmp / "Sync" / "watch-export", tmp / "fuse" / "garmin", tmp / "media"
        media.mkdir()
        daemon = LoggedDaemon(tmp / "d", env, places_config(inotify_folder, polled, 30, media))
        began = time.perf_counter()
        first = datetime(2019, 1, 1, 6, tzinfo=timezone.utc)
        size = sum(write_runs(folder, runs, first + timedelta(days=k * runs))
                   for k, folder in enumerate((daemon.inbox, inotify_folder, polled)))
        config, _ = read_config(daemon.config, required=True)
        roots = [str(root) for root in config.device_roots if root.is_dir()]
        print(f"  wrote {3 * runs} files ({size / 1e6:.1f} MB) in {time.perf_counter() - began:.1f} s; device roots "
              f"that exist: {', '.join(roots)}")
        try:
            began = time.perf_counter()
            daemon.start()
            pid = daemon.process.pid
            assert wait_until(lambda: stored_runs(daemon.db) >= 3 * runs, 180, 0.2), daemon.text()
            print(f"  daemon imported all {3 * runs} runs {time.perf_counter() - began:.1f} s after its start; "
                  f"then quiet after {settle_cpu(pid):.1f} s more; {rss_mb(pid):.1f} MB RSS")
            mark = len(daemon.lines)
            used, elapsed, slices, per_thread, mounted = idle_window(pid, seconds)
            per_hour = used * 3600 / elapsed
            verdict = "PASS" if per_hour < CPU_TARGET_S_PER_HOUR else "FAIL"
            print(f"  idle {elapsed:.0f} s: {used:.2f} s CPU ({used / TICK_S:.0f} ticks of {TICK_S * 1000:.0f} ms) -> "
                  f"{per_hour:.2f} s per hour ({per_hour / CPU_TARGET_S_PER_HOUR:.2f}x the "
                  f"{CPU_TARGET_S_PER_HOUR:g} s target): {verdict}")
            print("  CPU per 30 s slice (ms): " + " ".join(f"{s * 1000:.0f}" for s in slices))
            wakes = sum(row[3] for row in per_thread)
            busy = [row for row in per_thread if row[2] or row[3]][:6]
            print(f"  wake-ups (voluntary context switches, all {len(per_thread)} threads): {wakes} -> "
                  f"{wakes * 3600 / elapsed:.0f} per hour" + ("; by thread (tid name: CPU, wake-ups per hour): " + ", ".join(
                      f"{tid} {name}: {cpu * 1000:.0f} ms, {switches * 3600 / elapsed:.0f}/h"
                      for tid, name, cpu, switches in busy) if busy else ""))
            if mounted:
                print(f"  the mount table changed {mounted} times during the window (another process mounting): "
                      "each change makes the daemon look at its places, so this is not a machine at rest")
            logged = daemon.lines[mark:]
            if logged:
                print(f"  logged during the window ({len(logged)} lines): " + " | ".join(l for _, l in logged[:5]))
            daemon.stop()
            if compare_s:
                compare(daemon, env, inotify_folder, polled, media, runs, used / elapsed, compare_s)
        finally:
            stop_all()


def compare(daemon: LoggedDaemon, env: dict, inotify_folder: Path, polled: Path, media: Path, runs: int,
            rate_30: float, seconds: float) -> None:
    """The polled folder at poll_seconds = 1: what one look costs, end to end and in-process."""
    daemon.config.write_text(f'[inbox]\npath = "{daemon.inbox}"\n'
                             + places_config(inotify_folder, polled, 1, media))
    daemon.start()
    pid = daemon.process.pid
    assert daemon.after(0, r"looked through every 1 s"), daemon.text()
    calm(pid)  # its start-up look through the known files is over
    used, elapsed, _, _, mounted = idle_window(pid, seconds)
    rate_1 = used / elapsed
    polls_per_s = 1 - 1 / 30
    per_poll = (rate_1 - rate_30) / polls_per_s
    print(f"  with poll_seconds = 1: {used:.2f} s CPU in {elapsed:.0f} s ({rate_1 * 3600:.1f} s per hour) -> "
          f"one look through the polled folder ({runs} files) costs ~{per_poll * 1000:.1f} ms CPU end to end; "
          f"at 30 s that is {per_poll * 120:.2f} s per hour (120 looks)"
          + (f"; the mount table changed {mounted} times meanwhile" if mounted else ""))
    daemon.stop()
    cost = poll_cost_in_process(env, polled, daemon.db)
    hourly = cost["rescan_cpu"] * 120 + cost["record_cpu"] * 60
    print(f"  in-process: one look (Inbox.rescan of {runs} unchanged files) {cost['rescan_cpu'] * 1000:.1f} ms CPU "
          f"({cost['rescan_wall'] * 1000:.1f} ms wall); writing a look down (Store + record_scan) "
          f"{cost['record_cpu'] * 1000:.1f} ms CPU ({cost['record_wall'] * 1000:.1f} ms wall); at 30 s polls and one "
          f"record a minute: {hourly:.2f} s CPU per hour ({hourly / CPU_TARGET_S_PER_HOUR:.2f}x the whole target)")


# -- (2) a watch's re-check ----------------------------------------------------------------------

def recheck_in_process(config: str, db: str) -> None:
    """(child) What the daemon does in a round for a watch that appeared: timed per step, as JSON."""
    t0 = time.perf_counter()
    from shoetrack.adapters.store import Store
    from shoetrack.config import read_config
    from shoetrack.service import exports, importing  # noqa: F401 (loaded by the daemon's first import)
    from shoetrack.service.inbox import SETTLE_S, Inbox, import_place_files
    from shoetrack.service.places import devices_now

    loaded = time.perf_counter()
    rchar = read_chars(os.getpid())
    cpu = time.process_time()
    settings, problems = read_config(Path(config), required=True)
    assert not problems, problems
    found = devices_now(settings)
    assert len(found) == 1, found
    place = found[0]
    looked = time.perf_counter()
    tracker = Inbox(place.path, SETTLE_S, (), check_writers=False)
    noticed = tracker.rescan(vouch=True)
    scanned = time.perf_counter()
    ready = tracker.ready(time.monotonic())
    readied = time.perf_counter()
    with Store(Path(db), write_wait_s=0) as store:
        report = import_place_files(store, settings, place, ready, lambda: False)
    for path in ready:
        tracker.done(path)
    imported = time.perf_counter()
    print(json.dumps({
        "load": loaded - t0, "look": looked - loaded, "rescan": scanned - looked, "ready": readied - scanned,
        "import": imported - readied, "work": imported - loaded, "cpu": time.process_time() - cpu,
        "noticed": noticed, "ready_n": len(ready), "imported": len(report.imported),
        "duplicate": len(report.duplicate), "unchanged": sum(1 for i in report.duplicate if i["of"] == i["path"]),
        "rchar": (read_chars(os.getpid()) - rchar) if rchar is not None else None,
    }))


def median_line(name: str, values: list[float], target: float) -> str:
    median = statistics.median(values)
    return (f"  {name}: median {median * 1000:.0f} ms, best {min(values) * 1000:.0f} ms, worst {max(values) * 1000:.0f} ms "
            f"over {len(values)} ({median / target:.2f}x the {target:g} s target): "
            f"{'PASS' if median < target else 'FAIL'}")


def device_recheck(files: int, repeats: int) -> None:
    print(f"\n(2) a watch with {files} files already imported, plugged in again")
    with tempfile.TemporaryDirectory(prefix="bench-places-") as name:
        tmp = Path(name)
        env = bench_env(tmp)
        compile_once(env)
        media, away = tmp / "media", tmp / "away"
        media.mkdir()
        watch_out, watch_in = away / "FR245", media / "FR245"
        activity = watch_out / "GARMIN" / "Activity"
        began = time.perf_counter()
        size = write_runs(activity, files, datetime(2021, 1, 1, 6, tzinfo=timezone.utc))
        (watch_out / "GARMIN" / "GarminDevice.xml").write_text(DEVICE_XML)
        print(f"  wrote {files} files ({size / 1e6:.1f} MB) in {time.perf_counter() - began:.1f} s")
        settings = f'[notify]\nenabled = false\n[watch]\ndevice_roots = ["{media}"]\n'
        daemon = LoggedDaemon(tmp / "d", env, settings, verbose=True)
        device = re.escape(str(watch_in / "GARMIN" / "Activity")) + "/"
        try:
            daemon.start()
            pid = daemon.process.pid
            mark, moved = len(daemon.lines), time.monotonic()
            os.rename(watch_out, watch_in)
            assert wait_until(lambda: len(daemon.after(mark, rf"INFO imported {device}")) >= files, 300, 0.2), \
                daemon.text()[-3000:]
            last = daemon.after(mark, rf"INFO imported {device}")[-1][0]
            print(f"  first plug-in: all {files} imported {last - moved:.1f} s after it appeared "
                  f"({stored_runs(daemon.db)} runs stored); quiet after {settle_cpu(pid):.1f} s more")
            appeared, rounds, reads, cpus = [], [], [], []
            for attempt in range(repeats):
                mark = len(daemon.lines)
                os.rename(watch_in, watch_out)
                assert wait_until(lambda: daemon.after(mark, r"went away"), 30), daemon.text()[-3000:]
                settle_cpu(pid, quiet_s=0.5, most_s=10)
                mark, rchar, cpu = len(daemon.lines), read_chars(pid), cpu_seconds(pid)
                moved = time.monotonic()
                os.rename(watch_out, watch_in)
                pattern = rf"DEBUG unchanged {device}|INFO duplicate {device}|INFO imported {device}"
                assert wait_until(lambda: len(daemon.after(mark, pattern)) >= files, 60, 0.01), daemon.text()[-3000:]
                rchar_after, cpu_after = read_chars(pid), cpu_seconds(pid)
                found = daemon.after(mark, r"INFO found .* at ")
                done = daemon.after(mark, pattern)
                again = [line for _, line in done if " unchanged " not in line]
                assert not again, f"files handled again as new or as copies: {again[:3]}"
                appeared.append(found[0][0] - moved)
                rounds.append(done[files - 1][0] - moved)
                cpus.append(cpu_after - cpu)
                reads.append(rchar_after - rchar if rchar is not None and rchar_after is not None else None)
                print(f"    {attempt + 1}: appeared -> \"found\" {appeared[-1] * 1000:.0f} ms, -> last of "
                      f"{files} \"unchanged\" {rounds[-1] * 1000:.0f} ms; daemon CPU {cpus[-1] * 1000:.0f} ms"
                      + (f", read {reads[-1] / 1e6:.2f} MB" if reads[-1] is not None else ""))
            print(median_line("end to end: watch appeared -> its files all looked through", rounds, RECHECK_TARGET_S))
            print(f"  of which appeared -> \"found\" (mount-folder event, look at places): median "
                  f"{statistics.median(appeared) * 1000:.0f} ms")
            if all(r is not None for r in reads):
                print(f"  bytes the daemon read per re-check: median {statistics.median(reads) / 1e6:.2f} MB "
                      f"(the files hold {size / 1e6:.1f} MB: {statistics.median(reads) / size:.1%} of them)")
            daemon.stop()
            in_process(env, daemon, files, repeats, size)
        finally:
            stop_all()


def in_process(env: dict, daemon: LoggedDaemon, files: int, repeats: int, size: int) -> None:
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--recheck-in-process",
                               str(daemon.config), str(daemon.db)], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    first = runs[0]
    assert first["noticed"] == files and first["unchanged"] == files and not first["imported"], first
    print(median_line("in-process, a fresh process: devices_now + rescan + ready + import_place_files",
                      [r["work"] for r in runs], RECHECK_TARGET_S))
    steps = ", ".join(f"{step} {statistics.median(r[step] for r in runs) * 1000:.0f} ms"
                      for step in ("look", "rescan", "ready", "import"))
    print(f"    steps (median): {steps}; CPU {statistics.median(r['cpu'] for r in runs) * 1000:.0f} ms; "
          f"loading the modules before it {statistics.median(r['load'] for r in runs) * 1000:.0f} ms")
    if first["rchar"] is not None:
        print(f"    bytes read: {statistics.median(r['rchar'] for r in runs) / 1e6:.2f} MB "
              f"(the files hold {size / 1e6:.1f} MB)")


def main() -> None:
    if sys.argv[1:2] == ["--recheck-in-process"]:
        recheck_in_process(*sys.argv[2:4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="the idle window (1)")
    parser.add_argument("--compare", type=float, default=30.0, help="the window with poll_seconds = 1 (0: skip)")
    parser.add_argument("--runs", type=int, default=200, help="runs in each of the three places (1)")
    parser.add_argument("--device-files", type=int, default=1000, help="files on the watch (2)")
    parser.add_argument("--repeats", type=int, default=5, help="re-checks timed (2)")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-device", action="store_true")
    args = parser.parse_args()
    # Ctrl-C reaches the daemons too (same process group); SIGTERM is turned into the same
    # KeyboardInterrupt, so every `finally` stops what was started and removes the folders.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(machine())
    try:
        if not args.skip_device:
            device_recheck(args.device_files, args.repeats)
        if not args.skip_idle:
            at_rest(args.runs, args.seconds, args.compare)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the daemons", file=sys.stderr)
    finally:
        stop_all()


if __name__ == "__main__":
    main()
