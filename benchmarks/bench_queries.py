"""How long `status`, `runs --since` and `shoes list` take as the history grows.

Builds databases of 1,000, 10,000 and 50,000 runs with 30 pairs (rules,
sub-sport and sport defaults, retired pairs), then times each command as a
user runs it: a fresh `python -m shoetrack` process, wall clock, median of 5.
Target: under 0.3 s each at 10,000 runs, and flat as the history grows.

    python benchmarks/bench_queries.py [--sizes 1000,10000,50000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shoetrack.adapters.store import Store  # noqa: E402
from shoetrack.config import Config  # noqa: E402
from shoetrack.service.shoes import add_shoe, retire_shoe  # noqa: E402

TARGET_S = 0.3
PAIRS = 30
SUB_SPORTS = ["generic", "generic", "generic", "street", "trail", "treadmill"]
SPORTS = ["running"] * 8 + ["walking", "cycling"]


def build(path: Path, runs: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    first = date(2026, 11, 1) - timedelta(days=runs // 2)
    with Store(path) as store:
        rows = []
        for i in range(runs):
            day = first + timedelta(days=i // 2)
            sport = rng.choice(SPORTS)
            rows.append({
                "source": f"bench/{i}.fit", "session_index": 0,
                "start_time": f"{day}T{6 + 10 * (i % 2):02d}:00:00Z", "local_date": day.isoformat(),
                "sport": sport, "sub_sport": rng.choice(SUB_SPORTS),
                "distance_m": rng.uniform(3000, 25000), "timer_s": rng.uniform(900, 9000),
                "elapsed_s": None, "device_serial": rng.choice([111, 222]),
                "foot_pod_serial": rng.choice([None, None, 4242]),
            })
        store.record_file("bench", "bench", 0, "imported", sessions=rows)
        config = Config()
        span = (date(2026, 11, 1) - first).days
        for n in range(PAIRS):
            since = first + timedelta(days=span * n // PAIRS)
            kind = n % 5
            options = {
                0: {"default_for": ["running"]},
                1: {"default_for": ["running/trail"]},
                2: {"default_for": ["running/treadmill", "walking"]},
                3: {"rules": ["distance_km >= 18", "sport = running"]},
                4: {"rules": ["foot_pod_serial = 4242"]},
            }[kind]
            add_shoe(store, config, f"Pair {n:02d}", since=since, limit_km=700, **options)
            if n < PAIRS - 10:
                retire_shoe(store, f"Pair {n:02d}", since + timedelta(days=span // 3))


def timed(db: Path, *args: str, repeat: int = 5) -> float:
    # As installed (pip compiles the bytecode): compiled modules are kept, outside the
    # tree, even where PYTHONDONTWRITEBYTECODE is set; the first run compiles them.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(XDG_CONFIG_HOME=str(db.parent), PYTHONPYCACHEPREFIX=str(db.parent / "bytecode"))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "shoetrack", "--db", str(db), *args],
                       check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    commands = {
        "status": ["status", "--as-of", "2026-11-01"],
        "runs --since": ["runs", "--since", "2026-10-01", "--json"],
        "shoes list": ["shoes", "list", "--all", "--json"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        timed(Path(tmp) / "empty.db", "status", repeat=1)  # compiles what a command loads
        baseline = timed(Path(tmp) / "empty.db", "--version")
        print(f"python -m shoetrack --version (process start-up): {baseline:.3f} s")
        print(f"{'runs':>7}  {'command':<14} {'wall s':>7}  {'vs 0.3 s target':>15}")
        results: dict[str, list[float]] = {name: [] for name in commands}
        for size in sizes:
            db = Path(tmp) / f"runs-{size}.db"
            build(db, size)
            for name, args in commands.items():
                seconds = timed(db, *args)
                results[name].append(seconds)
                print(f"{size:>7}  {name:<14} {seconds:>7.3f}  {seconds / TARGET_S:>14.2f}x")
        for name, times in results.items():
            print(f"{name}: largest / smallest history = {times[-1] / times[0]:.2f}x")


if __name__ == "__main__":
    main()
