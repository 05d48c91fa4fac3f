"""The daemon at rest: resident memory and CPU time while idle.

Starts `python -m shoetrack daemon` on a fresh inbox, drops a history of runs
into it (default 200 one-hour runs with 1 s records), waits until they are
imported, then measures the process for an idle window (default 120 s) from
/proc: RSS at the end, CPU seconds used during the window, extrapolated to an
hour. Targets: under 60 MB RSS, under 1 s of CPU per idle hour.

    python benchmarks/bench_daemon.py [--runs 200] [--idle 120]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import fitgen  # noqa: E402

RSS_TARGET_MB = 60
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--idle", type=float, default=120.0)
    args = parser.parse_args()
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
            for i in range(args.runs):
                data = fitgen.run(start + timedelta(days=i), km=10, minutes=60, records_every_s=1)
                (inbox / f"{i:05d}.fit").write_bytes(data)
            while stored_runs(db) < args.runs:
                time.sleep(0.5)
            print(f"imported {args.runs} one-hour runs in {time.perf_counter() - began:.1f} s; "
                  f"{rss_mb(daemon.pid):.1f} MB RSS")
            time.sleep(3)  # let the last evaluation finish
            cpu_before = cpu_seconds(daemon.pid)
            time.sleep(args.idle)
            used = cpu_seconds(daemon.pid) - cpu_before
            per_hour = used * 3600 / args.idle
            rss = rss_mb(daemon.pid)
            print(f"idle {args.idle:.0f} s: {used:.3f} s CPU -> {per_hour:.2f} s per hour "
                  f"({per_hour / CPU_TARGET_S_PER_HOUR:.2f}x the {CPU_TARGET_S_PER_HOUR:g} s target)")
            print(f"resident memory: {rss:.1f} MB ({rss / RSS_TARGET_MB:.2f}x the {RSS_TARGET_MB} MB target)")
        finally:
            daemon.terminate()
            daemon.wait(10)


if __name__ == "__main__":
    main()
