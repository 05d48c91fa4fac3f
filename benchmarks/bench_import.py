"""Backfill speed: `shoetrack import` against fitparse's full decode, side by side.

Each row decodes the same files both ways in one run: fitparse reading every
message of every file (the way a tracker built on fitparse reads them), against
`shoetrack import FOLDER` run as a fresh process into a fresh database, timed
from process start to exit (the median of 5 such runs), with its modules compiled to
bytecode once beforehand, as pip does when it installs. Inputs:

(a) the FIT files of ../shared/fit-corpus that fitparse reads (when present);
(b) generated one-hour runs recorded every second (default 500);
(c) any folders given on the command line;
(d) a big history (default 5,000 runs): the import, then the re-scan of the
    same folder unchanged (fitparse is not run again: (b) gives its rate);
(e) the peak memory of importing one 3 MB file;
(f) the daemon's latency from a file's close in the inbox to its row and to the
    desktop notification (benchmarks/bench_daemon.py, when a desktop can be run).

Targets: (a) >= 150x, (b) >= 300x, (d) < 10 s and re-scan < 0.3 s, (e) < 80 MB,
(f) < 0.5 s to the row, < 1 s to the notification.

    python benchmarks/bench_import.py [--runs 500] [--big 5000] [--skip-daemon] [FOLDER...]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fitparse  # noqa: E402

from tests import fitgen  # noqa: E402

CORPUS = ROOT.parent / "shared" / "fit-corpus"
SHOETRACK = [sys.executable, "-m", "shoetrack"]
# As installed (pip compiles the bytecode): the child processes keep compiled modules,
# in a folder of their own outside the tree, even where PYTHONDONTWRITEBYTECODE is set.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.startswith("SHOETRACK_") and k != "PYTHONDONTWRITEBYTECODE"}


def compiled(tmp: Path) -> None:
    """Compile shoetrack and the libraries an import uses once, as an install does, before any timing."""
    CLEAN_ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "bytecode")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "shoetrack")],
                   env=CLEAN_ENV, check=True, stdout=subprocess.DEVNULL)
    one = tmp / "warm"
    one.mkdir()  # importing a file loads (and compiles) everything an import uses
    (one / "one.fit").write_bytes(fitgen.run(datetime(2020, 1, 1, 6, tzinfo=timezone.utc), km=5, minutes=30))
    for args in (["--version"], ["--db", str(tmp / "warm.db"), "import", str(one)]):
        subprocess.run(SHOETRACK + args, env=CLEAN_ENV, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def fitparse_full(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        with fitparse.FitFile(io.BytesIO(path.read_bytes())) as fit:
            for _ in fit.get_messages():
                pass
    return time.perf_counter() - start


# A process's peak memory as the kernel counts it carries over from the process it
# was forked from, so a child of this (big) process would seem as big as it. A small
# launcher forks a fresh process for the import and reports that one's peak.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\npeak_kib {usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def shoetrack_import(folder: Path, db: Path, *, peak: bool = False) -> tuple[float, dict, int]:
    """`shoetrack import` as a user runs it: wall clock from process start to exit,
    the report, and (with `peak`, through the launcher) its peak resident memory in KiB."""
    home = db.parent / "home"
    env = dict(CLEAN_ENV, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"))
    command = SHOETRACK + ["--db", str(db), "import", "--json", str(folder)]
    if peak:
        command = [sys.executable, "-c", LAUNCHER] + command
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        code = subprocess.run(command, stdout=out, stderr=err, env=env, cwd=ROOT).returncode
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        errors = err.read().decode()
        if code != 0:
            raise SystemExit(f"shoetrack import failed: {errors[-500:]}")
        kib = int(errors.rsplit("peak_kib ", 1)[1]) if peak else 0
        return elapsed, json.loads(out.read()), kib


def counts(report: dict) -> str:
    return ", ".join(f"{k} {len(report[k])}" for k in ("imported", "duplicate", "skipped", "failed"))


def row(name: str, files: int, megabytes: float, seconds: float) -> str:
    return f"  {name:<32} {files:>6} files {megabytes:>8.1f} MB {seconds:>8.3f} s {megabytes / seconds:>9.1f} MB/s"


REPEATS = 5  # shoetrack's side is short enough to take the median of several runs


def side_by_side(title: str, paths: list[Path], folder: Path, tmp: Path, target: float) -> float:
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    slow = fitparse_full(paths)
    times = []
    for n in range(REPEATS):  # each into a new database
        seconds, report, _ = shoetrack_import(folder, tmp / f"{folder.name}-{n}.db")
        times.append(seconds)
    fast = sorted(times)[REPEATS // 2]
    print(title)
    print(row("fitparse full decode", len(paths), megabytes, slow))
    print(row(f"shoetrack import (median of {REPEATS})", len(paths), megabytes, fast))
    print(f"  shoetrack's {REPEATS} runs: " + ", ".join(f"{t:.3f} s" for t in times))
    print(f"  ratio {slow / fast:.0f}x (target {target:.0f}x: {slow / fast / target:.2f} of it); {counts(report)}")
    return slow / megabytes


def corpus(tmp: Path) -> None:
    if not (CORPUS / "reference.json").is_file():
        print("(a) ../shared/fit-corpus is not here: skipped")
        return
    entries = json.loads((CORPUS / "reference.json").read_text())
    paths = [CORPUS / e["path"] for e in entries if e["fitparse_1_2_0"]["ok"]]
    folder = tmp / "corpus"
    folder.mkdir()
    for i, path in enumerate(paths):  # a private copy: copies across projects stay separate files
        (folder / f"{i:03d}-{path.name}").write_bytes(path.read_bytes())
    side_by_side(f"(a) the {len(paths)} FIT files of the real corpus that fitparse reads", paths, folder, tmp, 150)


def generated(folder: Path, runs: int, first: datetime) -> list[Path]:
    folder.mkdir()
    for i in range(runs):
        data = fitgen.run(first + timedelta(days=i * 0.75), km=10 + i % 5, minutes=60, records_every_s=1)
        (folder / f"{i:05d}.fit").write_bytes(data)
    return sorted(folder.iterdir())


def history(tmp: Path, runs: int) -> float:
    paths = generated(tmp / "runs", runs, datetime(2012, 1, 1, 6, tzinfo=timezone.utc))
    return side_by_side(f"(b) {runs} generated one-hour runs recorded every second", paths, tmp / "runs", tmp, 300)


def folders(tmp: Path, given: list[Path]) -> None:
    for n, folder in enumerate(given):
        paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".fit")
        readable = []
        for path in paths:
            try:
                fitparse_full([path])
                readable.append(path)
            except Exception:  # fitparse refuses it: not part of the comparison
                pass
        copy = tmp / f"given{n}"
        copy.mkdir()
        for i, path in enumerate(readable):
            (copy / f"{i:05d}-{path.name}").write_bytes(path.read_bytes())
        side_by_side(f"(c) {folder}: the {len(readable)} of {len(paths)} .fit files fitparse reads",
                     readable, copy, tmp, 150)


def big(tmp: Path, runs: int, fitparse_s_per_mb: float | None) -> None:
    paths = generated(tmp / "big", runs, datetime(2000, 1, 1, 6, tzinfo=timezone.utc))
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    db = tmp / "big.db"
    fast, report, _ = shoetrack_import(tmp / "big", db)
    print(f"(d) a history of {runs} one-hour runs ({megabytes:.0f} MB)")
    print(row("shoetrack import (a new process)", runs, megabytes, fast))
    if fitparse_s_per_mb:
        print(f"  fitparse at the rate of (b) would take about {fitparse_s_per_mb * megabytes:.0f} s: "
              f"{fitparse_s_per_mb * megabytes / fast:.0f}x")
    print(f"  {fast:.2f} s against the 10 s target ({fast / 10:.2f} of it); {counts(report)}")
    again, report, _ = shoetrack_import(tmp / "big", db)
    print(f"  re-scan, unchanged: {again:.3f} s against the 0.3 s target ({again / 0.3:.2f} of it); {counts(report)}")


def memory(tmp: Path) -> None:
    folder = tmp / "long"
    folder.mkdir()
    minutes = 60
    while True:  # a long ride or ultra recorded every second: about 3 MB
        data = fitgen.run(datetime(2020, 6, 1, 5, tzinfo=timezone.utc), km=160, minutes=minutes,
                          records_every_s=1)
        if len(data) >= 3e6:
            break
        minutes = int(minutes * 3.1e6 / len(data)) + 1
    (folder / "long.fit").write_bytes(data)
    fast, report, peak = shoetrack_import(folder, tmp / "long.db", peak=True)
    print(f"(e) one {len(data) / 1e6:.1f} MB file ({minutes / 60:.0f} h at 1 s): imported in {fast:.2f} s, "
          f"peak memory {peak / 1024:.0f} MB against the 80 MB target ({peak / 1024 / 80:.2f} of it); "
          f"{counts(report)}")


def daemon() -> None:
    try:
        from benchmarks import bench_daemon
    except ImportError as exc:
        print(f"(f) daemon latency: skipped ({exc})")
        return
    print("(f) the daemon: a file closed in its inbox, to its row and to the notification dunst shows")
    try:
        bench_daemon.latency(10, 0.002)
    except Exception as exc:  # no desktop can be run here (no dbus-daemon, Xvfb or dunst)
        print(f"  skipped: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="more folders of FIT files to compare on")
    parser.add_argument("--runs", type=int, default=500, help="generated one-hour runs for (b)")
    parser.add_argument("--big", type=int, default=5000, help="runs in the big history (d); 0 skips it")
    parser.add_argument("--skip-daemon", action="store_true", help="leave out (f)")
    args = parser.parse_args()
    cpus = os.cpu_count()
    print(f"machine: {cpus} cores, Python {sys.version.split()[0]}, fitparse {fitparse.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        compiled(tmp)
        print("shoetrack runs as installed: its modules compiled to bytecode once, before any timing")
        corpus(tmp)
        rate = history(tmp, args.runs)
        folders(tmp, args.folders)
        if args.big:
            big(tmp, args.big, rate)
        memory(tmp)
    if not args.skip_daemon:
        daemon()


if __name__ == "__main__":
    main()
