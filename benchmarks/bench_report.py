"""How long writing the report page takes, and how big it gets, as the history grows.

Two kinds of history at 1,000, 10,000 and 50,000 runs:
- `helpers`: tests/helpers.py history_of_runs (one pair, the runs of one year);
- `30 pairs`: bench_queries.py's build (30 pairs with rules and defaults, 20 of
  them retired, a run or two every day for years: the most lines to draw).
Each is timed as write_report in-process (median of 5, the database already open)
and as a user runs it, `python -m shoetrack report` in a fresh process (median of 3).
Targets: under 1 s at 10,000 runs, a page under 1.5 MB.

    python benchmarks/bench_report.py [--sizes 1000,10000,50000]
    python benchmarks/bench_report.py --screenshot docs/report.png   # the README's picture

--screenshot writes the page of a generated two-year season (tests/test_report.py)
and has headless chromium take its picture, 1200 pixels wide (made smaller with
Pillow when it is installed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from shoetrack.adapters.store import Store  # noqa: E402
from shoetrack.config import Config  # noqa: E402
from shoetrack.service.report import write_report  # noqa: E402
from shoetrack.service.shoes import reattribute  # noqa: E402

TARGET_S = 1.0
TARGET_BYTES = 1_500_000


def build_helpers(path: Path, runs: int) -> date:
    from tests.helpers import history_of_runs

    history_of_runs(path, runs)
    with Store(path) as store:
        reattribute(store)  # history_of_runs stores the runs straight: give them their pair
    return date(2025, 12, 31)


def build_pairs(path: Path, runs: int) -> date:
    import bench_queries

    bench_queries.build(path, runs)
    return date(2026, 11, 1)


def in_process(db: Path, as_of: date, page: Path, repeat: int = 5) -> float:
    samples = []
    with Store(db) as store:
        for _ in range(repeat):
            start = time.perf_counter()
            write_report(store, Config(), as_of, page)
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def as_a_user(db: Path, as_of: date, page: Path, repeat: int = 3) -> float:
    env = dict(os.environ, XDG_CONFIG_HOME=str(db.parent))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "shoetrack", "--db", str(db), "report", "--as-of", as_of.isoformat(),
                        "--output", str(page)], check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench(sizes: list[int]) -> None:
    print(f"{'history':<9} {'runs':>7}  {'write_report s':>14}  {'vs 1 s':>6}  {'process s':>9}  "
          f"{'page KiB':>8}  {'vs 1.5 MB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in (("helpers", build_helpers), ("30 pairs", build_pairs)):
            times = []
            for size in sizes:
                db = Path(tmp) / f"{name.replace(' ', '')}-{size}.db"
                as_of = build(db, size)
                page = Path(tmp) / "report.html"
                seconds = in_process(db, as_of, page)
                wall = as_a_user(db, as_of, page)
                size_bytes = page.stat().st_size
                times.append(seconds)
                print(f"{name:<9} {size:>7}  {seconds:>14.3f}  {seconds / TARGET_S:>5.2f}x  {wall:>9.3f}  "
                      f"{size_bytes / 1024:>8.0f}  {size_bytes / TARGET_BYTES:>8.2f}x")
            print(f"{name}: largest / smallest history = {times[-1] / times[0]:.2f}x")


def screenshot(target: Path) -> None:
    from tests.test_report import Browser, season

    with tempfile.TemporaryDirectory() as tmp:
        db, page = Path(tmp) / "season.db", Path(tmp) / "report.html"
        today = date.today()
        with Store(db) as store:
            season(store, today)
            write_report(store, Config(), today, page)
        browser = Browser(Path(tmp))
        try:
            browser.load(page.as_uri(), javascript=False, width=1200)
            data = browser.screenshot(target)
        finally:
            browser.close()
    try:
        from PIL import Image
    except ImportError:
        print(f"wrote {target}: {len(data) / 1024:.0f} KiB (install Pillow to make it smaller)")
        return
    with Image.open(target) as image:
        small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(target, optimize=True)
    print(f"wrote {target}: {target.stat().st_size / 1024:.0f} KiB ({len(data) / 1024:.0f} KiB before Pillow)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--screenshot", type=Path, metavar="PNG", help="Write the README's picture instead.")
    options = parser.parse_args()
    if options.screenshot:
        screenshot(options.screenshot)
    else:
        bench([int(s) for s in options.sizes.split(",")])


if __name__ == "__main__":
    main()
