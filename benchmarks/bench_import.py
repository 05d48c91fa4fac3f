"""Backfill speed: shoetrack's import against fitparse's full decode, side by side.

(a) the activity files of ../shared/fit-corpus (when present);
(b) a generated history of one-hour runs recorded every second (default 5,000).

For each: fitparse's full decode of the same files (the way a tracker built on
fitparse reads them; on a sample for the big history, extrapolated) against
`import_paths` into a fresh database, end to end, on every core. Then the
re-scan: importing the same folder again, when nothing changed.
Targets: at least 30x fitparse's throughput; 5,000 runs in under 60 s on
2 cores; the re-scan of 5,000 files in under 1 s.

    python benchmarks/bench_import.py [--runs 5000] [--sample 40]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fitparse  # noqa: E402

from shoetrack.adapters.store import Store  # noqa: E402
from shoetrack.service.importing import import_paths  # noqa: E402
from tests import fitgen  # noqa: E402

CORPUS = ROOT.parent / "shared" / "fit-corpus"


def fitparse_full(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        with fitparse.FitFile(io.BytesIO(path.read_bytes())) as fit:
            for _ in fit.get_messages():
                pass
    return time.perf_counter() - start


def shoetrack_import(folder: Path, db: Path) -> tuple[float, dict]:
    with Store(db) as store:
        start = time.perf_counter()
        report = import_paths(store, [folder])
        return time.perf_counter() - start, report.as_json()


def line(name: str, files: int, megabytes: float, seconds: float) -> str:
    return f"  {name:<26} {files:>6} files {megabytes:>8.1f} MB {seconds:>8.2f} s {megabytes / seconds:>8.2f} MB/s"


def corpus(tmp: Path) -> None:
    if not (CORPUS / "reference.json").is_file():
        print("(a) ../shared/fit-corpus is not here: skipped")
        return
    entries = json.loads((CORPUS / "reference.json").read_text())
    paths = [CORPUS / e["path"] for e in entries
             if e["fitparse_1_2_0"]["ok"] and e["fitparse_1_2_0"]["file_type"] == "activity"]
    folder = tmp / "corpus"
    folder.mkdir()
    for i, path in enumerate(paths):  # a private copy: duplicates across projects stay separate files
        (folder / f"{i:03d}-{path.name}").write_bytes(path.read_bytes())
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    slow = fitparse_full(paths)
    fast, report = shoetrack_import(folder, tmp / "corpus.db")
    print("(a) the activity files of the real corpus")
    print(line("fitparse full decode", len(paths), megabytes, slow))
    print(line("shoetrack import", len(paths), megabytes, fast))
    print(f"  throughput ratio: {slow / fast:.1f}x (target 30x); outcomes: "
          + ", ".join(f"{k} {len(v)}" for k, v in report.items()))


def history(tmp: Path, runs: int, sample: int) -> None:
    folder = tmp / "history"
    folder.mkdir()
    start = datetime(2012, 1, 1, 6, tzinfo=timezone.utc)
    began = time.perf_counter()
    for i in range(runs):
        data = fitgen.run(start + timedelta(days=i * 0.75), km=10 + i % 5, minutes=60, records_every_s=1)
        (folder / f"{i:05d}.fit").write_bytes(data)
    files = sorted(folder.iterdir())
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    print(f"(b) a generated history: {runs} one-hour runs at 1 s ({megabytes:.0f} MB, "
          f"written in {time.perf_counter() - began:.0f} s)")
    picked = random.Random(1).sample(files, min(sample, len(files)))
    slow_sample = fitparse_full(picked)
    slow = slow_sample * len(files) / len(picked)
    fast, report = shoetrack_import(folder, tmp / "history.db")
    print(line(f"fitparse ({len(picked)}-file sample)", len(picked), megabytes * len(picked) / len(files),
               slow_sample))
    print(f"  fitparse, extrapolated      {len(files):>6} files {megabytes:>8.1f} MB {slow:>8.0f} s")
    print(line("shoetrack import", len(files), megabytes, fast))
    print(f"  throughput ratio: {slow / fast:.1f}x (target 30x); {len(report['imported'])} imported; "
          f"{fast:.1f} s against the 60 s target ({fast / 60:.2f}x)")
    again, report = shoetrack_import(folder, tmp / "history.db")
    print(f"(c) re-scan of the same {len(files)} files, unchanged: {again:.3f} s (target 1 s, {again:.2f}x); "
          f"{len(report['duplicate'])} known, {len(report['imported'])} imported")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--sample", type=int, default=40)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        corpus(Path(tmp))
        history(Path(tmp), args.runs, args.sample)


if __name__ == "__main__":
    main()
