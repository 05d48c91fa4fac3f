"""Soak test: the real daemon and the real CLI on one database for N minutes, with kill -9.

For `--minutes` (30) the daemon imports a stream of files dropped into its inbox
(a few every second or so, and now and then a sync burst of 20-30: real FIT runs
written by tests/fitgen.py with unique start times, some as .fit.gz or zips, some
written in two parts or renamed in, plus exact copies, the same activities saved
again with other bytes, and damaged files), while four writer loops (`import` of
other folders, `shoes edit`, `log` and `pain`, `check`) and four reader loops
(`status`, `runs --json`, `shoes list --json`, `why`) run the real CLI as
subprocesses against the same database. Every 1-3 minutes (random, seeded) the
daemon is killed with SIGKILL and started again at once.

At the end the loops stop, the daemon finishes what it has, is stopped with
SIGTERM (it must exit 0), and one `shoetrack import` of the inbox settles
anything a kill interrupted. Then it prints what was dropped, the runs expected
against those stored (compared by start time: 0 lost, 0 doubled, nothing that
was not dropped), the CLI calls per kind with their exit statuses, the calls that
saw "database is locked", the tracebacks in any stderr or daemon log, the
daemon's kills and restarts, `PRAGMA integrity_check`, and PASS or FAIL. The
exit status is 0 only on PASS.

The shoetrack package is copied into the temp folder at the start, so the whole
run tests one version of the code even while the working tree changes. Every
process it starts carries a marker in its environment, so the worker processes
a killed daemon leaves behind can be found (there must be none) and everything
is cleaned up on exit, Ctrl-C included. Not part of the pytest suite.

    .venv/bin/python benchmarks/soak.py [--minutes 30] [--seed 11] [--after-import move|keep]
                                        [--kill-every 60 180] [--pause 2] [--keep]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import fitgen  # noqa: E402

RUNNING, CYCLING, TRAIL = 1, 2, 3  # FIT sport and sub-sport numbers
HISTORY_START = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Start hours of the runs from files, UTC: far from noon, where `log` puts the runs it records
# (TZ=UTC for every process), so no file run is ever taken for the same activity as one of those.
SLOTS = (3, 5, 7, 9, 14, 16, 18, 20)
DAMAGED_START = datetime(1995, 1, 1, 10, 31, tzinfo=timezone.utc)
LOCKED = "database is locked"
GAVE_UP = "kept it locked"
TRACEBACK = "Traceback (most recent call last)"
CALL_TIMEOUT_S = 300  # a writer waits up to 2 minutes for the lock before giving up on its own
KINDS = ("import", "shoes edit", "log", "pain", "check", "status", "runs", "shoes list", "why")


# ---------------------------------------------------------------- what gets dropped

@dataclass(frozen=True)
class Run:
    """One activity: the same Run written with another serial is the same activity in other bytes."""
    start: datetime
    sport: int
    sub_sport: int
    km: float

    def fit(self, serial: int = 3900000001, every_s: int = 10) -> bytes:
        return fitgen.run(self.start, km=self.km, minutes=self.km * 6, sport=self.sport, sub_sport=self.sub_sport,
                          serial=serial, records_every_s=every_s)

    @property
    def iso(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%M:%SZ")


class Starts:
    """Unique start times, at least 2 minutes from each other: eight a day from 2000 on, and
    one in ten in the last two months (so the alerts of today have something to say)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.k = self.damaged_k = 0
        today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        self.recent = [today - timedelta(days=d, hours=-4, minutes=-3 * j) for d in range(2, 61) for j in range(40)]
        self.rng.shuffle(self.recent)

    def new_run(self) -> Run:
        with self.lock:
            if self.recent and self.rng.random() < 0.1:
                start = self.recent.pop()
            else:
                start = HISTORY_START + timedelta(days=self.k // len(SLOTS), hours=SLOTS[self.k % len(SLOTS)])
                self.k += 1
            roll = self.rng.random()
            sport, sub = (CYCLING, 0) if roll < 0.05 else (RUNNING, TRAIL) if roll < 0.2 else (RUNNING, 0)
            return Run(start, sport, sub, round(self.rng.uniform(3, 24), 2))

    def damaged_run(self) -> Run:
        """A run no good file ever has: if one of these were stored, it came from a damaged file."""
        with self.lock:
            self.damaged_k += 1
            return Run(DAMAGED_START + timedelta(days=self.damaged_k), RUNNING, 0, 5.0)


def damage(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    how = rng.choice(("truncated", "flipped", "empty", "garbage", "header only"))
    if how == "truncated":
        return how, data[:rng.randint(20, len(data) - 3)]
    if how == "flipped":  # a byte among the records: the file's CRC no longer holds
        i = rng.randint(len(data) // 4, len(data) * 3 // 4)
        return how, data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    if how == "empty":
        return how, b""
    if how == "garbage":
        return how, rng.randbytes(rng.randint(100, 3000))
    return how, data[:14]


# ---------------------------------------------------------------- bookkeeping

@dataclass
class KindStats:
    calls: int = 0
    exits: Counter = field(default_factory=Counter)
    expected_nonzero: Counter = field(default_factory=Counter)  # refusals asked for on purpose
    unexpected: list = field(default_factory=list)  # (exit, args, stderr) of each surprise
    locked: int = 0
    gave_up: int = 0
    tracebacks: int = 0
    hung: int = 0
    bad_output: int = 0
    seconds: list = field(default_factory=list)


def processes_with(*markers: str) -> list[int]:
    """Pids of processes whose environment holds every marker (NAME=value): the processes
    this soak started and their descendants (they inherit the environment)."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                variables = f.read().split(b"\0")
        except OSError:
            continue
        if all(marker.encode() in variables for marker in markers):
            pids.append(int(entry.name))
    return pids


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def source_hash(folder: Path) -> tuple[str, int]:
    digest, count = hashlib.sha256(), 0
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
        count += 1
    return digest.hexdigest()[:12], count


class Soak:
    def __init__(self, args, folder: Path):
        self.args = args
        self.folder = folder
        self.stop = threading.Event()  # the stream and the loops end
        self.abort = threading.Event()  # Ctrl-C: everything ends now
        self.lock = threading.Lock()
        self.tag = uuid.uuid4().hex
        self.inbox = folder / "inbox"
        self.staging = folder / "staging"
        self.imports = folder / "imports"
        self.data = folder / "data"
        for path in (self.inbox, self.staging, self.imports, self.data, folder / "home"):
            path.mkdir()
        self.db = self.data / "shoetrack.db"
        self.config = folder / "config.toml"
        self.config.write_text(f'[inbox]\npath = "{self.inbox}"\nafter_import = "{args.after_import}"\n'
                               '[notify]\nenabled = false\n')
        src = folder / "src"
        shutil.copytree(ROOT / "shoetrack", src / "shoetrack", ignore=shutil.ignore_patterns("__pycache__"))
        self.source = source_hash(src / "shoetrack")
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY") and not k.startswith("SHOETRACK_")}
        self.env.update(TZ="UTC", PYTHONPATH=str(src), HOME=str(folder / "home"),
                        XDG_CONFIG_HOME=str(folder / "home"), XDG_DATA_HOME=str(folder / "home"),
                        SOAK_TAG=self.tag)
        self.nice = ["nice", "-n", str(args.nice)] if args.nice and shutil.which("nice") else []
        self.live: set[subprocess.Popen] = set()
        self.threads: list[threading.Thread] = []
        self.stats = {kind: KindStats() for kind in KINDS}
        # what was dropped and what must be stored
        self.expected: set[str] = set()  # start times of every distinct good run given to shoetrack
        self.dropped: dict[str, str] = {}  # inbox-relative path -> good, duplicate, damaged
        self.slow_writes: set[str] = set()  # written in two parts more than 1 s apart
        self.drop_counts = Counter()
        self.damage_counts = Counter()
        self.good_files: list[tuple[str, Run, int]] = []  # (name, run, serial) of good inbox files
        self.variants: deque[Run] = deque()  # activities the import loop saves again, while the daemon has them
        self.imported_outcomes = Counter()
        self.import_anomalies: list[str] = []
        self.import_files = Counter()
        self.logged = 0  # successful `log` calls: runs logged by hand that must be stored
        self.logged_again = 0  # of those, the same day and distance as an earlier one
        self.pained = 0
        self._logged_days: list[tuple[date, str]] = []  # (day, distance) of runs logged by hand
        self.runs_went_down: list[tuple[int, int]] = []
        self.soak_errors: list[str] = []  # the soak's own threads that died: the run proves nothing then
        # the daemon
        self.daemon: subprocess.Popen | None = None
        self.instance = 0
        self.daemon_logs: list[Path] = []
        self.kills = self.restarts = 0
        self.start_failures: list[str] = []
        self.own_exits: list[str] = []
        self.slow_starts = 0
        self.orphans: list[str] = []
        self.stop_exit: int | None = None

    # -- the CLI ------------------------------------------------------------------

    def shoetrack(self, *args: str) -> list[str]:
        return [*self.nice, sys.executable, "-m", "shoetrack", "--config", str(self.config), "--db", str(self.db),
                *args]

    def cli(self, kind: str, *args: str, expect: int = 0) -> tuple[int, str, str]:
        if self.abort.is_set():
            return -1, "", ""
        started = time.monotonic()
        process = subprocess.Popen(self.shoetrack(*args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=self.env, cwd=self.folder)
        with self.lock:
            self.live.add(process)
        hung = False
        try:
            out, err = process.communicate(timeout=CALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            hung = True
            process.kill()
            out, err = process.communicate()
        finally:
            with self.lock:
                self.live.discard(process)
        code = process.returncode
        if self.abort.is_set():
            return code, out, err
        with self.lock:
            s = self.stats[kind]
            s.calls += 1
            s.seconds.append(time.monotonic() - started)
            s.exits[code] += 1
            s.hung += hung
            s.locked += LOCKED in err.lower()
            s.gave_up += GAVE_UP in err
            s.tracebacks += TRACEBACK in err
            if code != 0 and code == expect:
                s.expected_nonzero[code] += 1
            elif code != expect or hung:
                s.unexpected.append((code, " ".join(args), err.strip()[-2000:]))
        return code, out, err

    def soak_error(self, name: str, exc: Exception) -> None:
        if not self.abort.is_set():
            with self.lock:
                self.soak_errors.append(f"{name}: {exc!r}")

    def guarded(self, name: str, target):
        def run() -> None:
            try:
                target()
            except Exception as exc:
                self.soak_error(name, exc)
        return run

    def bad_output(self, kind: str, args: tuple, why: str) -> None:
        with self.lock:
            self.stats[kind].bad_output += 1
            self.stats[kind].unexpected.append(("output", " ".join(args), why[:2000]))

    def pause(self, rng: random.Random) -> None:
        self.stop.wait(rng.uniform(0.5, 1.5) * self.args.pause)

    def loop(self, name: str, step) -> None:
        rng = random.Random(f"{self.args.seed}-{name}")
        n = 0
        while not self.stop.is_set():
            try:
                step(rng, n)
            except Exception as exc:  # a bug of the soak itself: say it, end the loop, fail
                self.soak_error(name, exc)
                return
            n += 1
            self.pause(rng)

    # -- the inbox stream -------------------------------------------------------------

    def write(self, rel: str, data: bytes, rng: random.Random) -> None:
        how = rng.random()
        for attempt in range(5):
            try:
                return self._write(rel, data, how)
            except FileNotFoundError:  # the daemon moved the folder's files away and removed it meanwhile
                self.drop_counts["folder removed under the writer, written again"] += 1
        raise RuntimeError(f"cannot write {rel}: its folder keeps disappearing")

    def _write(self, rel: str, data: bytes, how: float) -> None:
        path = self.inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if how < 0.15 and len(data) > 1:  # a copy in progress: two parts, 0.2 s apart
            with open(path, "wb") as f:
                f.write(data[:len(data) // 2])
                f.flush()
                gap = time.monotonic()
                time.sleep(0.2)
                f.write(data[len(data) // 2:])
                gap = time.monotonic() - gap
            if gap > 1.0:  # this machine stalled us longer than the daemon's settle time allows for
                self.slow_writes.add(rel)
            self.drop_counts["written in two parts"] += 1
        elif how < 0.25:  # saved elsewhere, then moved in
            staged = self.staging / uuid.uuid4().hex
            staged.write_bytes(data)
            os.rename(staged, path)
            self.drop_counts["renamed in"] += 1
        else:
            path.write_bytes(data)

    def drop_one(self, rng: random.Random, seq: int, folder: str) -> None:
        prefix = f"{folder}/" if folder else ""
        roll = rng.random()
        with self.lock:
            earlier = rng.choice(self.good_files) if self.good_files else None
        if roll < 0.04 and earlier:
            _, run, serial = earlier
            rel, kind, data = f"{prefix}{seq:06d}-copy.fit", "duplicate", run.fit(serial)
            self.drop_counts["duplicate: same bytes"] += 1
        elif roll < 0.08 and earlier:
            _, run, _ = earlier
            rel, kind, data = f"{prefix}{seq:06d}-again.fit", "duplicate", run.fit(3900000000 + seq, every_s=5)
            self.drop_counts["duplicate: same activity, other bytes"] += 1
        elif roll < 0.12:
            how, data = damage(self.starts.damaged_run().fit(), rng)
            rel, kind = f"{prefix}{seq:06d}-damaged.fit", "damaged"
            self.damage_counts[how] += 1
        elif roll < 0.14:
            runs = [self.starts.new_run() for _ in range(rng.randint(2, 3))]
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for i, run in enumerate(runs):
                    archive.writestr(f"export/{seq:06d}-{i}.fit", run.fit())
            rel, kind, data = f"{prefix}{seq:06d}.zip", "good", buffer.getvalue()
            with self.lock:
                self.expected.update(run.iso for run in runs)
            self.drop_counts["zip archives"] += 1
            self.drop_counts["runs in zips"] += len(runs)
        else:
            run = self.starts.new_run()
            gz = roll < 0.18
            ext = ".fit.gz" if gz else (".FIT" if rng.random() < 0.1 else ".fit")
            rel, kind = f"{prefix}{seq:06d}{ext}", "good"
            data = gzip.compress(run.fit(), mtime=0) if gz else run.fit()
            with self.lock:
                self.expected.add(run.iso)
                if not gz:
                    self.good_files.append((rel, run, 3900000001))
                if rng.random() < 0.05:
                    self.variants.append(run)  # the import loop saves it again, with other bytes
            self.drop_counts[".fit.gz" if gz else "new runs (.fit)"] += 1
        self.write(rel, data, rng)
        with self.lock:
            self.dropped[rel] = kind

    def stream(self) -> None:
        rng = random.Random(f"{self.args.seed}-stream")
        seq = 0
        while not self.stop.is_set():
            folder = ""
            count = rng.choice((1, 1, 2, 2, 3, 4))
            if rng.random() < 0.015:  # a watch syncing weeks at once: the daemon decodes on every core
                count, folder = rng.randint(20, 30), f"sync-{seq:06d}"
                self.drop_counts["sync bursts (20-30 files in a folder)"] += 1
            elif rng.random() < 0.1:
                folder = f"sub-{seq:06d}"
            for _ in range(count):
                self.drop_one(rng, seq, folder)
                seq += 1
            self.stop.wait(rng.uniform(0.5, 1.5))

    # -- writer loops -------------------------------------------------------------------

    def import_step(self, rng: random.Random, n: int) -> None:
        folder = self.imports / f"batch-{n:05d}"
        folder.mkdir()
        new, kinds = [], {}
        for i in range(rng.randint(20, 30) if rng.random() < 0.1 else rng.randint(1, 4)):
            run = self.starts.new_run()
            (folder / f"new-{i:02d}.fit").write_bytes(run.fit(serial=3800000000 + n))
            new.append(run)
            kinds[f"new-{i:02d}.fit"] = "new"
        with self.lock:
            self.expected.update(run.iso for run in new)
            variants = [self.variants.popleft() for _ in range(len(self.variants))]
            earlier = rng.choice(self.good_files) if self.good_files and rng.random() < 0.15 else None
        for i, run in enumerate(variants):  # the same activity as a file the daemon is handling
            (folder / f"again-{i:02d}.fit").write_bytes(run.fit(serial=3700000000 + n, every_s=5))
            kinds[f"again-{i:02d}.fit"] = "again"
        if earlier:
            name, run, serial = earlier
            (folder / "copy.fit").write_bytes(run.fit(serial))
            kinds["copy.fit"] = "copy"
        if rng.random() < 0.05:
            (folder / "damaged.fit").write_bytes(damage(self.starts.damaged_run().fit(), rng)[1])
            kinds["damaged.fit"] = "damaged"
        with self.lock:
            self.import_files.update(kinds.values())
        args = ("import", "--json", str(folder))
        code, out, err = self.cli("import", *args)
        if code != 0 or self.abort.is_set():
            return
        try:
            report = json.loads(out)
            outcome = {Path(item["path"]).name: what for what, items in report.items() for item in items}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.bad_output("import", args, f"{exc!r}: {out[:500]}")
            return
        allowed = {"new": {"imported"}, "again": {"imported", "duplicate"}, "copy": {"imported", "duplicate"},
                   "damaged": {"failed"}}
        with self.lock:
            for name, kind in kinds.items():
                got = outcome.get(name, "no outcome")
                self.imported_outcomes[got] += 1
                if got not in allowed[kind]:
                    self.import_anomalies.append(f"{folder / name} ({kind}): {got}")

    EDITS = (
        lambda rng: ("Road", "--limit-km", str(rng.randint(500, 900))),
        lambda rng: ("Road", "--start-km", str(rng.randint(0, 200))),
        lambda rng: ("Trail", "--brand", rng.choice(("Hoka", "Salomon", "Brooks")), "--model",
                     f"Model {rng.randint(1, 9)}"),
        lambda rng: ("Trail", "--since", f"1999-{rng.randint(1, 12):02d}-01"),
        lambda rng: ("Long", "--rule", f"distance_km >= {rng.randint(12, 20)}", "--rule", "sport = running"),
        lambda rng: ("Long", "--limit-km", f"{rng.randint(300, 600)}mi"),
    )

    def shoes_step(self, rng: random.Random, n: int) -> None:
        self.cli("shoes edit", "shoes", "edit", *rng.choice(self.EDITS)(rng))

    def hand_step(self, rng: random.Random, n: int) -> None:
        """`log` and `pain` in turn; one in twenty asks for a refusal (exit 2) on purpose."""
        today = date.today()
        if n % 2 == 0:
            if rng.random() < 0.05:
                self.cli("log", "log", str(today + timedelta(days=3)), "5", expect=2)  # a day in the future
                return
            again = rng.random() < 0.15 and self._logged_days
            day, km = rng.choice(self._logged_days) if again else (today - timedelta(days=rng.randint(0, 60)),
                                                                   rng.choice(("5", "8", "10", "12.5", "21.1")))
            code, _, _ = self.cli("log", "log", str(day), km, "--minutes", str(rng.randint(25, 130)),
                                  "--note", f"soak {n}")
            if code == 0:
                with self.lock:
                    self.logged += 1
                    self.logged_again += bool(again)
                self._logged_days.append((day, km))
        else:
            if rng.random() < 0.05:
                self.cli("pain", "pain", "11", expect=2)  # 0 to 10 only
                return
            code, _, _ = self.cli("pain", "pain", str(rng.randint(0, 7)), "--side",
                                  rng.choice(("left", "right", "both")), "--date",
                                  str(today - timedelta(days=rng.randint(0, 10))), "--note", f"soak {n}")
            if code == 0:
                with self.lock:
                    self.pained += 1

    def check_step(self, rng: random.Random, n: int) -> None:
        args = ("check", "--json") if rng.random() < 0.7 else \
            ("check", "--json", "--as-of", str(date.today() - timedelta(days=rng.randint(1, 60))))
        code, out, _ = self.cli("check", *args)
        if code == 0 and not self.abort.is_set():
            try:
                report = json.loads(out)
                assert {"as_of", "new", "active"} <= set(report), report
            except (ValueError, AssertionError, TypeError) as exc:
                self.bad_output("check", args, f"{exc!r}: {out[:500]}")

    # -- reader loops -------------------------------------------------------------------

    def reader(self, kind: str, args: tuple):
        last = [0]

        def step(rng: random.Random, n: int) -> None:
            code, out, _ = self.cli(kind, *args)
            if code != 0 or self.abort.is_set():
                return
            if "--json" not in args:
                if not out.strip():
                    self.bad_output(kind, args, "empty output")
                return
            try:
                rows = json.loads(out)
                assert isinstance(rows, list), type(rows)
            except (ValueError, AssertionError) as exc:
                self.bad_output(kind, args, f"{exc!r}: {out[:500]}")
                return
            if kind == "runs":  # nothing deletes a run: a reader never sees fewer than before
                if len(rows) < last[0]:
                    with self.lock:
                        self.runs_went_down.append((last[0], len(rows)))
                last[0] = len(rows)

        return step

    # -- the daemon -----------------------------------------------------------------------

    def start_daemon(self) -> None:
        for attempt in range(5):
            if self.abort.is_set():
                return
            self.instance += 1
            log = self.folder / f"daemon-{self.instance:03d}.log"
            self.daemon_logs.append(log)
            with open(log, "w") as stderr:
                self.daemon = subprocess.Popen(self.shoetrack("daemon"), stdin=subprocess.DEVNULL,
                                               stdout=subprocess.DEVNULL, stderr=stderr, cwd=self.folder,
                                               env=dict(self.env, SOAK_DAEMON=str(self.instance)))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not self.abort.is_set():
                if "INFO watching " in log.read_text(errors="replace"):
                    return
                if self.daemon.poll() is not None:
                    self.start_failures.append(f"{log.name}: exit {self.daemon.returncode}: "
                                               f"{log.read_text(errors='replace').strip()[-500:]}")
                    break
                time.sleep(0.1)
            else:
                self.slow_starts += 1  # not watching within a minute: counted, left running
                return
            time.sleep(1)

    def look_for_orphans(self, instance: int, label: str | None = None) -> None:
        """Note and kill any process a stopped daemon left behind."""
        for pid in processes_with(f"SOAK_TAG={self.tag}", f"SOAK_DAEMON={instance}"):
            self.orphans.append(f"{label or f'daemon {instance}'}: pid {pid} {cmdline(pid)[:200]}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def killer(self) -> None:
        rng = random.Random(f"{self.args.seed}-kills")
        checks: list[tuple[float, int]] = []
        due = time.monotonic() + rng.uniform(*self.args.kill_every)
        while not self.stop.is_set():
            self.stop.wait(0.5)
            now = time.monotonic()
            for at, instance in [c for c in checks if c[0] <= now]:
                checks.remove((at, instance))
                self.look_for_orphans(instance)
            if self.stop.is_set():
                break
            if self.daemon.poll() is not None:
                self.own_exits.append(f"daemon {self.instance} exited by itself with {self.daemon.returncode}: "
                                      f"{self.daemon_logs[-1].read_text(errors='replace').strip()[-500:]}")
                self.start_daemon()
            elif now >= due:
                self.daemon.send_signal(signal.SIGKILL)
                self.daemon.wait()
                self.kills += 1
                checks.append((time.monotonic() + 10, self.instance))
                self.start_daemon()
                self.restarts += 1
                due = time.monotonic() + rng.uniform(*self.args.kill_every)
        if self.abort.is_set():
            return
        deadline = max([at for at, _ in checks], default=0)  # the last ones, after their 10 s
        time.sleep(max(0.0, deadline - time.monotonic()))
        for _, instance in checks:
            self.look_for_orphans(instance)

    # -- the run ----------------------------------------------------------------------------

    def progress(self, began: float) -> str:
        with self.lock:
            calls = sum(s.calls for s in self.stats.values())
            dropped = len(self.dropped)
            problems = sum(len(s.unexpected) + s.locked + s.tracebacks for s in self.stats.values())
        return (f"[{(time.monotonic() - began) / 60:5.1f} min] dropped {dropped}, stored {self.stored_count()}, "
                f"CLI calls {calls}, kills {self.kills}, problems so far {problems}")

    def stored_count(self) -> str:
        try:
            conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
            try:
                return str(conn.execute("SELECT count(*) FROM sessions").fetchone()[0])
            finally:
                conn.close()
        except sqlite3.Error:
            return "?"

    def inbox_pending(self) -> int:
        count = 0
        for root, dirs, files in os.walk(self.inbox):
            if Path(root) == self.inbox:
                dirs[:] = [d for d in dirs if d not in ("imported", "failed")]
            count += len(files)
        return count

    def drain(self, timeout: float = 300) -> float:
        """Wait until the daemon has handled everything in the inbox; returns the seconds it took."""
        began = time.monotonic()
        last, steady = None, time.monotonic()
        while time.monotonic() - began < timeout:
            state = (self.stored_count(), sum(p.stat().st_size for p in self.daemon_logs if p.exists()),
                     self.inbox_pending())
            if state != last:
                last, steady = state, time.monotonic()
            done = state[2] == 0 if self.args.after_import == "move" else True
            if done and time.monotonic() - steady >= 5:
                break
            time.sleep(0.5)
        return time.monotonic() - began

    def run(self) -> bool:
        args = self.args
        self.starts = Starts(args.seed)
        # fitgen builds its CRC table on first use, and two threads doing that at once can read it
        # half built (IndexError): build it here, before the threads share it.
        fitgen.crc16(bytes(64))
        print(f"soak: {args.minutes:g} min, seed {args.seed}, after_import = {args.after_import}, daemon killed "
              f"every {args.kill_every[0]:g}-{args.kill_every[1]:g} s, loops pause {args.pause:g} s on average, "
              f"nice {args.nice}", flush=True)
        print(f"folder {self.folder}; shoetrack/ copied from {ROOT / 'shoetrack'} "
              f"({self.source[1]} files, sha256 {self.source[0]})", flush=True)
        for pair in (("Road", "--default-for", "running", "--since", "1999-01-01", "--limit-km", "800"),
                     ("Trail", "--default-for", "running/trail", "--since", "1999-01-01"),
                     ("Long", "--rule", "distance_km >= 15", "--rule", "sport = running", "--since", "1999-01-01")):
            process = subprocess.run(self.shoetrack("shoes", "add", *pair), capture_output=True, text=True,
                                     env=self.env, cwd=self.folder, timeout=60)
            if process.returncode != 0:
                raise SystemExit(f"setting up the pairs failed: {process.stderr}")
        self.start_daemon()
        began = time.monotonic()
        threads = [threading.Thread(target=self.guarded("stream", self.stream)),
                   threading.Thread(target=self.guarded("killer", self.killer)),
                   threading.Thread(target=self.loop, args=("import", self.import_step)),
                   threading.Thread(target=self.loop, args=("shoes", self.shoes_step)),
                   threading.Thread(target=self.loop, args=("hand", self.hand_step)),
                   threading.Thread(target=self.loop, args=("check", self.check_step))]
        for kind, cmd in (("status", ("status",)), ("runs", ("runs", "--json")),
                          ("shoes list", ("shoes", "list", "--json")), ("why", ("why",))):
            threads.append(threading.Thread(target=self.loop, args=(kind, self.reader(kind, cmd))))
        self.threads = threads
        for thread in threads:
            thread.daemon = True
            thread.start()
        end = began + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(min(args.progress, max(0.0, end - time.monotonic())))
            print(self.progress(began), flush=True)
        self.stop.set()
        print("stopping the stream and the loops...", flush=True)
        for thread in threads:
            thread.join(CALL_TIMEOUT_S + 30)
        if self.daemon.poll() is not None:
            self.own_exits.append(f"daemon {self.instance} exited by itself with {self.daemon.returncode}")
            self.start_daemon()
        drained = self.drain()
        print(f"the daemon handled what was left in {drained:.1f} s; stopping it with SIGTERM", flush=True)
        self.daemon.send_signal(signal.SIGTERM)
        try:
            self.stop_exit = self.daemon.wait(60)
        except subprocess.TimeoutExpired:
            self.stop_exit = None
            self.daemon.kill()
            self.daemon.wait()
        time.sleep(2)  # its workers follow it within moments
        self.look_for_orphans(self.instance, f"daemon {self.instance} (stopped)")
        settle = subprocess.run(self.shoetrack("import", "--json", str(self.inbox)), capture_output=True, text=True,
                                env=self.env, cwd=self.folder, timeout=CALL_TIMEOUT_S)
        return self.report(time.monotonic() - began, settle)

    # -- the figures ------------------------------------------------------------------------

    def report(self, elapsed: float, settle: subprocess.CompletedProcess) -> bool:
        failures = []

        def must(ok: bool, what: str) -> str:
            if not ok:
                failures.append(what)
            return "" if ok else "   <-- FAIL"

        conn = sqlite3.connect(self.db)
        try:
            integrity = "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check").fetchall())
            from_files = Counter(row[0] for row in conn.execute(
                "SELECT start_time FROM sessions WHERE source != 'manual'"))
            by_hand = conn.execute("SELECT count(*) FROM sessions WHERE source = 'manual'").fetchone()[0]
            hidden = conn.execute("SELECT count(*) FROM sessions WHERE hidden_at IS NOT NULL").fetchone()[0]
            pain = conn.execute("SELECT count(*) FROM pain").fetchone()[0]
            announced = conn.execute("SELECT count(*) FROM announcements").fetchone()[0]
            files_known = dict(conn.execute("SELECT outcome, count(*) FROM files GROUP BY outcome").fetchall())
            twins = {start: [row[0] for row in conn.execute(
                "SELECT source FROM sessions WHERE start_time = ? AND source != 'manual' ORDER BY id", [start])]
                for start, n in from_files.items() if n > 1}
        finally:
            conn.close()
        stored = set(from_files)
        lost = sorted(self.expected - stored)
        unexpected = sorted(stored - self.expected)
        doubled = {start: n for start, n in from_files.items() if n > 1}

        print()
        print(f"== soak: {elapsed / 60:.1f} min in all ({self.args.minutes:g} min of stream and loops), "
              f"seed {self.args.seed}, after_import = {self.args.after_import}")
        now_hash = source_hash(ROOT / "shoetrack")
        print(f"shoetrack/ tested: a copy taken at the start, sha256 {self.source[0]}; the working tree "
              + ("is still the same" if now_hash == self.source else
                 f"changed during the run (now {now_hash[0]}): these figures are the copy's"))
        dropped = Counter(self.dropped.values())
        print(f"files dropped into the inbox: {len(self.dropped)} ({dropped['good']} with new runs, "
              f"{dropped['duplicate']} duplicates, {dropped['damaged']} damaged)")
        for what, n in sorted(self.drop_counts.items()):
            print(f"    {what}: {n}")
        print("    damaged: " + ", ".join(f"{what} {n}" for what, n in sorted(self.damage_counts.items())))
        print(f"files given to the `import` loop: {sum(self.import_files.values())} "
              + ", ".join(f"{what} {n}" for what, n in sorted(self.import_files.items()))
              + "; outcomes: " + ", ".join(f"{what} {n}" for what, n in sorted(self.imported_outcomes.items())))
        for line in self.import_anomalies[:10]:
            print(f"    unexpected outcome: {line}")
        must(not self.import_anomalies, "import outcomes")
        try:
            final = json.loads(settle.stdout)
            final_runs = sum(item.get("sessions", 0) for item in final["imported"])
            final_text = (f"{sum(len(v) for v in final.values())} files, {len(final['imported'])} imported "
                          f"({final_runs} runs the daemon had not stored), {len(final['duplicate'])} duplicate, "
                          f"{len(final['failed'])} failed, {len(final['skipped'])} skipped")
        except (ValueError, KeyError, TypeError):
            final_runs, final_text = None, f"exit {settle.returncode}: {settle.stderr.strip()[-500:]}"
        print(f"final `shoetrack import` of the inbox: {final_text}"
              + must(settle.returncode == 0 and TRACEBACK not in settle.stderr and LOCKED not in settle.stderr,
                     "final import"))
        print(f"runs from files: {len(self.expected)} expected, {len(stored)} stored; {len(lost)} lost"
              + must(not lost, "lost runs") + f", {sum(n - 1 for n in doubled.values())} doubled"
              + must(not doubled, "doubled runs") + f", {len(unexpected)} never dropped"
              + must(not unexpected, "runs from damaged files"))
        for start in lost[:10]:
            print(f"    lost: {start}")
        for start, n in list(doubled.items())[:10]:
            print(f"    stored {n} times: {start}, from " + ", ".join(twins[start]))
        for start in unexpected[:10]:
            print(f"    stored but never dropped: {start}")
        print(f"runs logged by hand: {self.logged} `log` calls succeeded, {by_hand} stored"
              + must(by_hand == self.logged, "runs logged by hand")
              + f" ({self.logged_again} repeat an earlier day and distance: kept as runs of their own, by design)")
        print(f"pain entries: {self.pained} `pain` calls succeeded, {pain} stored" + must(pain == self.pained, "pain"))
        print(f"hidden runs: {hidden}" + must(hidden == 0, "hidden runs")
              + "; files known: " + ", ".join(f"{k} {v}" for k, v in sorted(files_known.items()))
              + f"; announcements recorded: {announced}")
        if self.args.after_import == "move":
            self.placement(must)
        print(f"daemon: {self.kills} kill -9, {self.restarts} restarts, {len(self.start_failures)} failed starts"
              + must(not self.start_failures, "daemon starts") + f", {self.slow_starts} not watching within 60 s"
              + must(not self.slow_starts, "slow daemon starts") + f", {len(self.own_exits)} exits on its own"
              + must(not self.own_exits, "daemon exits") + f", {len(self.orphans)} processes left behind"
              + must(not self.orphans, "processes left behind")
              + f"; SIGTERM at the end: exit {self.stop_exit}" + must(self.stop_exit == 0, "daemon stop"))
        for line in self.start_failures + self.own_exits + self.orphans:
            print(f"    {line}")
        if self.kills == 0:
            print("    (no kill fell inside this run: make it longer than the first kill interval)")
        logs = [p.read_text(errors="replace") for p in self.daemon_logs if p.exists()]
        joined = "\n".join(logs)
        log_tracebacks = joined.count(TRACEBACK)
        log_locked = joined.lower().count(LOCKED)
        errors = [line for line in joined.splitlines() if line.startswith(("ERROR", "CRITICAL"))]
        lines = Counter(line.split(" ", 2)[1] if line.count(" ") >= 2 else line
                        for line in joined.splitlines() if line.startswith("INFO "))
        print(f"daemon logs ({len(logs)}): imported {lines['imported']}, duplicate {lines['duplicate']}, "
              f"failed {joined.count('WARNING failed ')} (damaged files, expected), waits for the write lock "
              f"{joined.count('WARNING waiting for another process')}, ERROR lines {len(errors)}"
              + must(not errors, "daemon errors") + f", tracebacks {log_tracebacks}"
              + must(log_tracebacks == 0, "daemon tracebacks") + f", \"{LOCKED}\" {log_locked}"
              + must(log_locked == 0, "daemon locked"))
        for line in errors[:10]:
            print(f"    {line[:300]}")
        print()
        print(f"{'CLI calls':<12}{'calls':>7}{'exit 0':>8}{'expected':>10}{'other':>7}{'locked':>8}"
              f"{'tracebk':>9}{'hung':>6}{'median s':>10}{'max s':>8}")
        totals = Counter()
        for kind in KINDS:
            s = self.stats[kind]
            other = len(s.unexpected)
            print(f"{kind:<12}{s.calls:>7}{s.exits[0]:>8}{sum(s.expected_nonzero.values()):>10}{other:>7}"
                  f"{s.locked + s.gave_up:>8}{s.tracebacks:>9}{s.hung:>6}"
                  f"{statistics.median(s.seconds) if s.seconds else 0:>10.2f}{max(s.seconds, default=0):>8.2f}")
            totals.update(calls=s.calls, locked=s.locked, gave_up=s.gave_up, tracebacks=s.tracebacks,
                          other=other, hung=s.hung, expected=sum(s.expected_nonzero.values()))
        print(f"{'all':<12}{totals['calls']:>7}{'':>8}{totals['expected']:>10}{totals['other']:>7}"
              f"{totals['locked'] + totals['gave_up']:>8}{totals['tracebacks']:>9}{totals['hung']:>6}")
        print("    expected non-zero exits: exit 2 of the refusals asked for on purpose (`log` of a day in the "
              "future, `pain 11`); every other non-zero exit, bad output or hung call is in 'other'")
        print(f"CLI calls that saw \"{LOCKED}\": {totals['locked']}" + must(totals["locked"] == 0, "locked")
              + f"; gave up waiting for the lock: {totals['gave_up']}" + must(totals["gave_up"] == 0, "gave up"))
        print(f"tracebacks: {totals['tracebacks']} in CLI stderr, {log_tracebacks} in daemon logs"
              + must(totals["tracebacks"] == 0, "CLI tracebacks"))
        print(f"other non-zero exits, bad outputs, hung calls: {totals['other']}"
              + must(totals["other"] == 0, "unexpected exits"))
        for kind in KINDS:
            for code, args, err in self.stats[kind].unexpected[:5]:
                print(f"    {kind}: exit {code}: shoetrack {args}\n        " + err.replace("\n", "\n        "))
        print(f"`runs --json` never showed fewer runs than before: {not self.runs_went_down}"
              + must(not self.runs_went_down, "runs went down") + "".join(
                  f"\n    {a} then {b}" for a, b in self.runs_went_down[:5]))
        print(f"PRAGMA integrity_check: {integrity}" + must(integrity == "ok", "integrity_check"))
        if self.soak_errors:
            print("the soak's own threads failed: " + "; ".join(self.soak_errors) + must(False, "soak errors"))
        print()
        if failures:
            print(f"FAIL: {', '.join(failures)}")
        else:
            print(f"PASS: {len(self.dropped)} files dropped, {len(self.expected)} runs from files and {by_hand} "
                  f"logged by hand all stored once, {totals['calls']} CLI calls, {self.kills} kill -9 of the daemon")
        return not failures

    def placement(self, must) -> None:
        """With after_import = "move": where each dropped file ended up."""
        found = {}
        for where in ("imported", "failed"):
            for path in (self.inbox / where).rglob("*"):
                if path.is_file() and not path.name.endswith(".reason.txt"):
                    rel = str(path.relative_to(self.inbox / where))
                    found[re.sub(r"\.\d+$", "", rel)] = where
        left = self.inbox_pending()
        wrong = [(rel, kind, found.get(rel, "nowhere")) for rel, kind in self.dropped.items()
                 if found.get(rel) != ("failed" if kind == "damaged" else "imported")]
        excused = [w for w in wrong if w[0] in self.slow_writes and w[2] == "failed"]
        real = [w for w in wrong if w not in excused]
        print(f"inbox: {sum(v == 'imported' for v in found.values())} files in imported/, "
              f"{sum(v == 'failed' for v in found.values())} in failed/, {left} left"
              + must(left == 0, "files left in the inbox") + f"; {len(real)} where they should not be"
              + must(not real, "files misplaced")
              + (f" ({len(excused)} good files in failed/ that this soak wrote too slowly: not counted)"
                 if excused else ""))
        for rel, kind, where in real[:10]:
            print(f"    {rel} ({kind}) is in {where}")

    # -- cleaning up -------------------------------------------------------------------------

    def kill_everything(self) -> None:
        """Every process this soak started, and their descendants, by pid."""
        self.abort.set()
        self.stop.set()
        with self.lock:
            live = list(self.live)
        for process in live + ([self.daemon] if self.daemon else []):
            if process.poll() is None:
                try:
                    process.kill()
                except OSError:
                    pass
        for thread in self.threads:  # each ends at its next look at the flags
            thread.join(10)
        for _ in range(3):
            pids = processes_with(f"SOAK_TAG={self.tag}")
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the stream and the loops run (30)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--after-import", choices=("move", "keep"), default="move",
                        help="the daemon's inbox.after_import (move: handled files go to imported/ and failed/)")
    parser.add_argument("--kill-every", type=float, nargs=2, default=(60.0, 180.0), metavar=("MIN_S", "MAX_S"),
                        help="seconds between kill -9 of the daemon, drawn in this range (60 180)")
    parser.add_argument("--pause", type=float, default=2.0,
                        help="average seconds each CLI loop waits between calls (2); lower is harder")
    parser.add_argument("--progress", type=float, default=60.0, help="seconds between progress lines (60)")
    parser.add_argument("--nice", type=int, default=10, help="niceness of shoetrack's processes (10; 0 for none)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (it is kept anyway on FAIL)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="soak-"))  # short: the daemon's fork server puts a socket below it
    soak = Soak(args, folder)
    passed = False

    def interrupted(signum, _frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT even when `&` in a script made it ignored
        signal.signal(signum, interrupted)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # under nohup, a closed terminal changes nothing
        signal.signal(signal.SIGHUP, interrupted)
    try:
        passed = soak.run()
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process the soak started", flush=True)
        soak.kill_everything()
        shutil.rmtree(folder, ignore_errors=True)
        return 130
    finally:
        soak.kill_everything()
    if passed and not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"kept {folder} (daemon-*.log, data/shoetrack.db, inbox/) for a look")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
