"""Fuzzing the importer with thousands of damaged FIT files.

Every file must get exactly one outcome, with no traceback, no hang and no
runaway memory, and a file that fails must leave no row behind. Run it alone,
bigger or with another seed:

    FUZZ_SEED=7 FUZZ_COUNT=5000 python -m pytest -m fuzz
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import struct
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from tests import fitgen
from tests.fitgen import Device, Session
from tests.helpers import CORPUS

pytestmark = pytest.mark.fuzz
SEED = int(os.environ.get("FUZZ_SEED", "20261126"))
COUNT = int(os.environ.get("FUZZ_COUNT", "2000"))
MAX_SECONDS_PER_FILE = 10
MAX_MEMORY_MB = 1024


def originals(rng: random.Random) -> list[bytes]:
    start = datetime(2024, 5, 1, 6, tzinfo=timezone.utc)
    files = []
    for i in range(30):
        legs = [Session(start + timedelta(days=i, hours=h), sport=rng.choice([1, 2, 5, 11]),
                        distance_m=rng.choice([None, rng.uniform(100, 40000)]), elapsed_s=rng.uniform(60, 9000),
                        records_every_s=rng.choice([None, 1, 10, 60])) for h in range(rng.randint(1, 3))]
        files.append(fitgen.activity(legs, devices=[Device(1, rng.choice([None, 124]), rng.randint(1, 10**6))],
                                     utc_offset_s=rng.choice([None, 0, 7200])))
    files += [fitgen.non_activity(t) for t in (2, 5, 9, 32)]
    if (CORPUS / "reference.json").is_file():
        files += [p.read_bytes() for p in sorted(CORPUS.rglob("*.fit")) + sorted(CORPUS.rglob("*.FIT"))
                  if p.stat().st_size < 300_000]
    return files


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    out = bytearray(data)
    how = rng.choice(["truncate", "flip", "flip", "splice", "header_length", "field_size", "crc",
                      "field_count", "zeros", "garbage", "chain", "duplicate_block"])
    if how == "truncate" and out:
        del out[rng.randrange(len(out)):]
    elif how == "flip" and out:
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif how == "splice":
        other = rng.choice(pool)
        out = out[:rng.randint(0, len(out))] + other[rng.randint(0, len(other)):]
    elif how == "header_length" and len(out) >= 12:
        struct.pack_into("<I", out, 4, rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, len(out) * 3]))
    elif how == "field_size":
        spots = [i for i in range(14, len(out) - 5) if out[i] & 0xF0 == 0x40]  # definition headers
        if spots:
            i = rng.choice(spots)
            count = out[i + 5]
            if count:
                spot = i + 6 + 3 * rng.randrange(count) + 1
                if spot < len(out):
                    out[spot] = rng.choice([0, 3, 255])
    elif how == "crc" and len(out) >= 2:
        out[-1] ^= 0xFF
    elif how == "field_count":
        spots = [i for i in range(14, len(out) - 5) if out[i] & 0xF0 == 0x40]
        if spots:
            out[rng.choice(spots) + 5] = 255
    elif how == "zeros" and out:
        i = rng.randrange(len(out))
        out[i:i + rng.randint(1, 400)] = bytes(min(400, len(out) - i))
    elif how == "garbage":
        out = bytearray(rng.randbytes(rng.randint(0, 5000)))
        if rng.random() < 0.5 and len(out) >= 12:
            out[8:12] = b".FIT"
    elif how == "chain":
        out += rng.choice(pool)
    elif how == "duplicate_block" and len(out) > 20:
        i = rng.randrange(14, len(out))
        out[i:i] = out[i:i + rng.randint(1, 200)]
    return bytes(out)


PROBE = """
import json, resource, sys, time
from pathlib import Path
from shoetrack.adapters.store import Store
from shoetrack.service.importing import import_paths
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
marks = [time.monotonic()]
with Store(Path(sys.argv[1])) as store:
    report = import_paths(store, [Path(sys.argv[2])], on_progress=lambda done, total: marks.append(time.monotonic()))
gaps = [b - a for a, b in zip(marks, marks[1:])]
usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(json.dumps({{"report": report.as_json(), "max_gap": max(gaps or [0]), "rss_mb": max(usage, children)}}))
"""


def test_every_damaged_file_gets_an_outcome_and_leaves_no_trace(tmp_path):
    rng = random.Random(SEED)
    pool = originals(rng)
    folder = tmp_path / "fuzz"
    folder.mkdir()
    for n in range(COUNT):
        data = mutate(rng.choice(pool), rng, pool)
        if rng.random() < 0.2:
            data = mutate(data, rng, pool)  # twice damaged
        (folder / f"{n:05d}.fit").write_bytes(data)
    db = tmp_path / "fuzz.db"
    limit = (MAX_MEMORY_MB + 2048) * 1024 * 1024  # address space: generous, but bounded
    result = subprocess.run([sys.executable, "-c", PROBE.format(limit=limit), str(db), str(folder)],
                            capture_output=True, text=True, timeout=MAX_SECONDS_PER_FILE * COUNT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    probe = json.loads(result.stdout)
    report = probe["report"]
    labels = [item["path"] for items in report.values() for item in items]
    assert sorted(labels) == sorted(str(p) for p in folder.iterdir())  # one outcome each, none twice
    assert all("\n" not in item.get("reason", "") for items in report.values() for item in items)
    assert probe["max_gap"] < MAX_SECONDS_PER_FILE, probe["max_gap"]
    assert probe["rss_mb"] < MAX_MEMORY_MB, probe["rss_mb"]
    conn = sqlite3.connect(db)
    sources = {row[0] for row in conn.execute("SELECT DISTINCT source FROM sessions")}
    conn.close()
    imported = {item["path"] for item in report["imported"]}
    assert sources <= imported  # rows only from files that were imported
    print(f"fuzz seed {SEED}: {COUNT} files -> " + ", ".join(f"{k} {len(v)}" for k, v in report.items()))
