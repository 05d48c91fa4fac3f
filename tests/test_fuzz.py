"""Fuzzing the importer with thousands of damaged and oddly built FIT files.

Byte-level: every damaged file must get exactly one outcome, with no traceback,
no hang and no runaway memory, and a file that fails must leave no row behind.

Structure-aware (tests/fitmutate.py): well-formed files with valid CRCs whose
structure is changed (fields widened, narrowed, renumbered, dropped, added or
retyped, endianness flipped, local message numbers reused, layouts redefined
mid-file, developer fields, compressed timestamps, chained files) must decode
as fitparse decodes them, or be refused with a one-line reason where it refuses
them. Run either alone, bigger or with another seed:

    FUZZ_SEED=7 FUZZ_COUNT=5000 STRUCT_FUZZ_COUNT=5000 python -m pytest -m fuzz
"""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import random
import sqlite3
import struct
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import fitparse
import pytest

from shoetrack.adapters import fit, fitwalk
from shoetrack.adapters.store import Store
from shoetrack.service.importing import import_paths
from tests import fitgen, fitmutate
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


# -- structure-aware fuzzing (issue 11) ---------------------------------------------------
#
# tests/fitmutate.py parses a FIT file into header, definitions and data messages,
# changes its structure (fields widened and narrowed with the data to match,
# endianness flipped with the values rewritten or not, field numbers, sizes and
# base types changed, fields dropped and added, local message numbers reused,
# layouts redefined mid-file, developer fields, compressed timestamps, chains) and
# writes it back with correct sizes and CRCs, so each mutant reaches the decoders'
# real work. Bigger runs: STRUCT_FUZZ_COUNT=5000 (the seed is FUZZ_SEED).
#
# The reference is fitparse itself, unmodified. Wherever it reads a mutant,
# shoetrack must give the same result; wherever it refuses one, shoetrack must
# refuse it too, with a one-line reason. The one documented difference (README,
# "Importing"): a field declared wider than its type (an array, or bytes) counts as
# its first value, as in the FIT SDK, where fitparse keeps a tuple (or fails on
# a time). For such a mutant the reference is fitparse reading its "first-element
# twin", the same file with every such field of the messages shoetrack reads
# holding only its first value.
#
# Three more documented differences ("FIT files fitparse cannot read well"): a
# field whose size is no whole number of its type (a uint32 of 1 byte, or 0
# bytes) is ignored, as in the FIT SDK, where fitparse refuses the file: the
# twin also goes without such fields; and a developer field never stands in for
# a message's own field of the same name: the reference takes fitparse's own
# fields only; an activity without a session message is summarised from its
# records (a derived session): fitparse's session messages hold no such session.

STRUCT_COUNT = int(os.environ.get("STRUCT_FUZZ_COUNT", "2000"))
# The documented "reads better" cases are counted and printed; with
# STRUCT_FUZZ_STRICT=1 they fail the test like any other difference.
STRICT = os.environ.get("STRUCT_FUZZ_STRICT", "") not in ("", "0")
IMPORT_EVERY = 12  # one mutant in so many is also imported for real, into a database of its own


def struct_originals(rng: random.Random) -> list[fitmutate.FitFile]:
    """Generated activities of every shape fitgen writes, a few other file types, and
    the small real files of the corpus (thinned to a few records per layout)."""
    start = datetime(2024, 5, 1, 6, tzinfo=timezone.utc)
    files = []
    for i in range(24):
        legs = [Session(start + timedelta(days=i, hours=h), sport=rng.choice([1, 2, 5, 11, 17]),
                        sub_sport=rng.choice([0, 0, 1, 3]),
                        distance_m=rng.choice([None, round(rng.uniform(100, 40000), 2)]),
                        elapsed_s=round(rng.uniform(60, 9000), 3), avg_hr=rng.choice([None, 151]),
                        records_every_s=rng.choice([None, None, 600])) for h in range(rng.randint(1, 3))]
        devices = [Device(1, rng.choice([None, 124]), rng.randint(1, 10**6))] if rng.random() < 0.7 else []
        files.append(fitgen.activity(legs, devices=devices, utc_offset_s=rng.choice([None, 0, 7200, -18000])))
    files += [fitgen.non_activity(t) for t in (2, 5, 9, 32)]
    parsed = [fitmutate.parse(data) for data in files]
    if (CORPUS / "reference.json").is_file():
        seen = set()
        for path in sorted(CORPUS.rglob("*.fit")) + sorted(CORPUS.rglob("*.FIT")):
            if path.stat().st_size > 120_000:
                continue
            try:
                thinned = fitmutate.thin(fitmutate.parse(path.read_bytes()), keep=3)
            except fitmutate.ParseError:
                continue  # damaged on purpose: the byte-level fuzz above has those
            data = fitmutate.serialise(thinned)
            if data not in seen and len(data) < 12_000:
                seen.add(data)
                parsed.append(thinned)
    return parsed


@dataclass
class Mutant:
    number: int
    steps: list[str]
    data: bytes
    twin: bytes  # the first-element twin (== data when no field holds several values)
    twin_complete: bool  # every such field could be reduced (see fitmutate.first_elements)
    original: bytes  # the file it came from, when every step kept its meaning; else b""


@functools.cache
def struct_mutants() -> tuple[Mutant, ...]:
    rng = random.Random(SEED)
    pool = struct_originals(rng)
    mutants = []
    for n in range(STRUCT_COUNT):
        source = rng.choice(pool)
        mutated = copy.deepcopy(source)
        steps = fitmutate.mutate(mutated, rng, pool)
        twin, complete = first_values(without_misfits(mutated))
        data = fitmutate.serialise(mutated)
        original = fitmutate.serialise(source) if steps and fitmutate.preserving(steps) else b""
        mutants.append(Mutant(n, steps, data, fitmutate.serialise(twin), complete, original))
    return tuple(mutants)


def without_misfits(fit: fitmutate.FitFile) -> fitmutate.FitFile:
    """A copy without the fields whose size is no whole number of their base type
    (or is 0): the file as a reader that ignores them, as the FIT SDK does, reads it."""
    fit = copy.deepcopy(fit)
    for d in fit.definitions():
        keep = [i for i, f in enumerate(d.fields) if f.size and f.size % fitmutate.base(f.base).size == 0]
        if len(keep) < len(d.fields):
            for m in fit.records(d):
                m.values = [m.values[i] for i in keep]
            d.fields = [d.fields[i] for i in keep]
    return fit


# The messages shoetrack reads, by global number: file_id, session, device_info,
# activity, timestamp_correlation, sport, record (sport and record only from an
# activity without a session message).
READ_MESSAGES = (0, 18, 23, 34, 162, 12, 20)


def first_values(fit: fitmutate.FitFile) -> tuple[fitmutate.FitFile, bool]:
    """fitmutate.first_elements over the messages shoetrack reads, but for a record's
    compressed_speed_distance (field 8), bytes by design whose components fitparse
    reads from all of them: it stays whole (shoetrack reads it so too)."""
    twin, complete = fitmutate.first_elements(fit, messages=tuple(m for m in READ_MESSAGES if m != 20))
    for d in twin.definitions():
        if d.global_num != 20:
            continue
        records = twin.records(d)
        for i, f in enumerate(d.fields):
            if f.num == 8 or not fitmutate.is_array(f.size, f.base):
                continue
            known = f.base in fitmutate.BASE_TYPES and f.base != fitmutate.BYTE
            size = fitmutate.base(f.base).size if known else 1
            for m in records:
                m.values[i] = m.values[i][:size]
            f.size, f.base = size, f.base if known else fitmutate.UINT8
    return twin, complete


def own_values(message) -> dict:
    """fitparse's get_values(), but for the message's own fields: no developer field."""
    return {f.name: f.value for f in message.fields if not isinstance(f.field_def, fitparse.records.DevFieldDefinition)}


@dataclass(frozen=True)
class Refused:
    reason: str


class _PlainFitFile(fitparse.FitFile):
    """fitparse as it is, counting the FIT files of a chain as it reads their headers."""

    segment = -1

    def _parse_file_header(self):
        self.segment += 1
        super()._parse_file_header()


def by_fitparse(data: bytes):
    """What unmodified fitparse makes of the bytes, put together as shoetrack puts
    messages together (sessions, chained files, relative times): a DecodedFile, or Refused."""
    fitparse.records.DEV_TYPES.clear()  # fitparse keeps developer types across files
    try:
        reader = _PlainFitFile(io.BytesIO(data), check_crc=True)
        messages = []
        for message in reader.get_messages(list(fit.WANTED)):
            messages.append((reader.segment, message.name, own_values(message)))
    except Exception as exc:  # fitparse refuses the file, whatever the way
        return Refused(f"fitparse: {type(exc).__name__}: {exc}")
    try:
        return fit._build(messages), messages
    except Exception as exc:
        return Refused(f"shoetrack on fitparse's messages: {type(exc).__name__}: {exc}")


def by_shoetrack(data: bytes):
    """shoetrack's decode: a DecodedFile, or Refused; anything else raised is a crash."""
    try:
        return fit.decode(data)
    except fit.FitDecodeError as exc:
        return Refused(str(exc))


def path_taken(data: bytes) -> str:
    try:
        fitwalk.walk(data)
        return "walk"
    except fitwalk.Uncertain:
        return "fitparse"
    except fitwalk.Broken:
        return "walk refused"
    except Exception as exc:
        return f"walk crashed ({type(exc).__name__})"


def sessions_as_fitparse_gives_them(messages) -> list | None:
    """The sessions read straight from fitparse's session messages, for a plain file
    (one activity per chained file, every start time a date): a check on how
    shoetrack puts messages together. None when the file is not that plain."""
    by_segment: dict[int, list] = {}
    for segment, name, values in messages:
        by_segment.setdefault(segment, []).append((name, values))
    out = []
    for items in by_segment.values():
        ids = [v for n, v in items if n == "file_id"]
        if len(ids) != 1 or ids[0].get("type") != "activity":
            return None
        for name, v in items:
            if name != "session":
                continue
            if any(isinstance(x, (tuple, list, bytes)) for x in v.values()) or not isinstance(
                    v.get("start_time"), datetime):
                return None

            def number(key):
                x = v.get(key)
                return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None

            sport = v.get("sport")
            out.append((v["start_time"].replace(tzinfo=timezone.utc),
                        sport if isinstance(sport, str) else str(sport) if isinstance(sport, int) else "generic",
                        number("total_distance"), number("total_timer_time"), number("total_elapsed_time"),
                        v.get("avg_heart_rate") if isinstance(v.get("avg_heart_rate"), int) else None))
    return out


def summary(decoded) -> list:
    """The sessions the file's own session messages hold (not those summarised from records)."""
    return [(s.start_time, s.sport, s.distance_m, s.timer_s, s.elapsed_s, s.avg_hr) for s in decoded.sessions
            if not s.derived]


# The one difference the fast walk is allowed (README, "Performance": it reads better):
# a file fitparse refuses only for a message or field shoetrack never reads (a record
# field of 0 bytes, a time declared as an array or out of range in a record...) still
# gives its sessions. Recognised exactly: fitparse, given the mutant without what
# shoetrack never reads, reads what shoetrack read.
READS_BETTER = ("reads better: fitparse refuses the file only for a message or field shoetrack never reads")


def reported_difference(data: bytes, got) -> str | None:
    if isinstance(got, Refused) or path_taken(data) != "walk":
        return None
    parsed = fitmutate.parse(data)
    read = {mesg: set(numbers) for mesg, numbers in {**fitwalk.WANTED, **fitwalk.REGISTRY}.items()}
    again = by_fitparse(fitmutate.serialise(first_values(fitmutate.keep_only(without_misfits(parsed), read))[0]))
    if not isinstance(again, Refused) and again[0] == got:
        return READS_BETTER
    return None


def judge(mutant: Mutant) -> tuple[str, str | None]:
    """(kind of outcome, a problem or None) for one mutant."""
    try:
        got = by_shoetrack(mutant.data)
    except Exception as exc:
        return "crash", f"decode raised {type(exc).__name__}: {exc} (path: {path_taken(mutant.data)})"
    if isinstance(got, Refused) and (not got.reason or "\n" in got.reason or "Traceback" in got.reason):
        return "bad reason", f"reason not one line: {got.reason!r}"
    documented = mutant.twin != mutant.data
    reference = by_fitparse(mutant.twin)
    expected, messages = (reference, None) if isinstance(reference, Refused) else reference
    kind = ("refused" if isinstance(expected, Refused) else "read") + (" (first values)" if documented else "")
    if documented and not mutant.twin_complete:
        return "unverified", None  # a byte-typed developer field in a message shoetrack reads
    if isinstance(expected, Refused) and not isinstance(got, Refused):
        reported = reported_difference(mutant.data, got)
        if reported:
            return reported, None
        return kind, f"fitparse refuses ({expected.reason}) but shoetrack reads {got} (path: {path_taken(mutant.data)})"
    if not isinstance(expected, Refused):
        if isinstance(got, Refused):
            return kind, f"fitparse reads {expected} but shoetrack refuses: {got.reason}"
        if got != expected:
            reported = reported_difference(mutant.data, got)
            if reported:
                return reported, None
            return kind, f"fitparse: {expected}\n    shoetrack: {got} (path: {path_taken(mutant.data)})"
        plain = sessions_as_fitparse_gives_them(messages)
        if plain is not None and not documented and plain != summary(got):
            return kind, f"fitparse's session messages say {plain}, shoetrack {summary(got)}"
    if mutant.original:
        before = by_shoetrack(mutant.original)
        if before != got:
            return kind, f"the same file in another form read {before}, this one {got}"
    return kind, None


def explain(mutant: Mutant, problem: str, folder) -> str:
    folder.mkdir(exist_ok=True)
    path = folder / f"struct-{SEED}-{mutant.number:05d}.fit"
    path.write_bytes(mutant.data)
    return f"#{mutant.number} [{'; '.join(mutant.steps)}] -> {path}\n    {problem}"


def test_structure_aware_mutants_decode_as_fitparse_decodes_them(tmp_path):
    counts: dict[str, int] = {}
    problems = []
    for mutant in struct_mutants():
        kind, problem = judge(mutant)
        counts[kind] = counts.get(kind, 0) + 1
        if problem or (STRICT and kind == READS_BETTER):
            problems.append(explain(mutant, problem or kind, tmp_path / "found"))
    print(f"structure fuzz seed {SEED}: {STRUCT_COUNT} mutants -> "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    assert not problems, f"{len(problems)} of {STRUCT_COUNT} mutants:\n" + "\n".join(problems[:15])
    # The mutants reach both outcomes, and the documented difference is exercised.
    assert counts.get("read", 0) > STRUCT_COUNT // 5 and counts.get("refused", 0) > STRUCT_COUNT // 50
    assert counts.get("read (first values)", 0) > STRUCT_COUNT // 50


def test_structure_aware_mutants_import_as_they_decode(tmp_path):
    """A sample imported for real: the outcome follows the decode, the stored sessions
    are the decoded ones, a reason is one line, and nothing stored reads like a
    tuple or bytes."""
    folder = tmp_path / "in"
    folder.mkdir()
    problems = []
    for mutant in struct_mutants()[::IMPORT_EVERY]:
        path = folder / f"{mutant.number:05d}.fit"
        path.write_bytes(mutant.data)
        try:
            expected = by_shoetrack(mutant.data)
        except Exception:
            continue  # reported by the decode test
        with Store(tmp_path / f"{mutant.number:05d}.db") as store:
            report = import_paths(store, [path], workers=1).as_json()
        [(outcome, [item])] = [(k, v) for k, v in report.items() if v]
        conn = sqlite3.connect(tmp_path / f"{mutant.number:05d}.db")
        rows = conn.execute("SELECT start_time, sport, sub_sport, distance_m, timer_s, elapsed_s, avg_hr, ascent_m, "
                            "device_manufacturer, device_product, device_serial, foot_pod_serial, utc_offset_s "
                            "FROM sessions ORDER BY session_index").fetchall()
        reason = conn.execute("SELECT reason FROM files").fetchone()
        conn.close()
        if isinstance(expected, Refused):
            want = "failed"
        else:
            want = "imported" if expected.file_type == "activity" else "skipped"
        if outcome != want:
            problems.append(explain(mutant, f"decoded as {expected}, imported as {outcome}: {item}", tmp_path))
            continue
        text = item.get("reason", "")
        if "\n" in text or "Traceback" in text or (want != "imported" and not text):
            problems.append(explain(mutant, f"reason {text!r}", tmp_path))
        if want == "failed" and text != expected.reason:
            problems.append(explain(mutant, f"failed with {text!r}, decode said {expected.reason!r}", tmp_path))
        if reason and reason[0] and ("\n" in reason[0] or reason[0].startswith(("(", "b'", 'b"'))):
            problems.append(explain(mutant, f"stored reason {reason[0]!r}", tmp_path))
        if want == "imported":
            unique = [s for i, s in enumerate(expected.sessions) if s not in expected.sessions[:i]]
            stored = [(s.start_time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), s.sport, s.sub_sport,
                       s.distance_m, s.timer_s, s.elapsed_s, s.avg_hr, s.ascent_m, expected.manufacturer,
                       expected.product, expected.serial, expected.foot_pod_serial, expected.utc_offset_s)
                      for s in unique]
            if rows != stored:
                problems.append(explain(mutant, f"stored {rows}, decoded {stored}", tmp_path))
            for row in rows:
                for value in row:
                    if isinstance(value, str) and value.startswith(("(", "[", "b'", 'b"', "{")):
                        problems.append(explain(mutant, f"stored text {value!r}", tmp_path))
    assert not problems, "\n".join(problems[:15])


def test_the_mutator_writes_back_exactly_what_it_parsed():
    """serialise(parse(x)) == x for every original; every mutant parses again, with a
    valid header and CRC (fitparse's own CRC check runs in the decode test)."""
    rng = random.Random(SEED)
    for original in struct_originals(rng):
        data = fitmutate.serialise(original)
        assert fitmutate.serialise(fitmutate.parse(data)) == data
    for mutant in struct_mutants()[:300]:
        again = fitmutate.parse(mutant.data)
        assert fitmutate.serialise(again) == mutant.data, mutant.steps
        for segment in again.segments:
            data = segment.to_bytes()
            assert data[8:12] == b".FIT" and struct.unpack_from("<I", data, 4)[0] == len(data) - data[0] - 2
            if data[0] >= 14 and data[12:14] != b"\0\0":
                assert struct.unpack_from("<H", data, 12)[0] == fitwalk.crc16(data[:12])
            assert struct.unpack_from("<H", data, len(data) - 2)[0] == fitwalk.crc16(data[:-2])


def _edited(edits: list[tuple[int, int, int | None, bytes | None]]) -> bytes:
    """A one-run activity with fields changed: (message, field number, new base type,
    new bytes), or the field dropped when the bytes are None."""
    parsed = fitmutate.parse(fitgen.run("2024-05-01T06:30:00Z", km=5, minutes=30, records_every_s=60))
    for message, number, kind, raw in edits:
        for d in parsed.definitions():
            if d.global_num != message:
                continue
            i = next(i for i, f in enumerate(d.fields) if f.num == number)
            for m in parsed.records(d):
                if raw is None:
                    del m.values[i]
                else:
                    m.values[i] = raw
            if raw is None:
                del d.fields[i]
            else:
                d.fields[i].base, d.fields[i].size = kind, len(raw)
    return fitmutate.serialise(parsed)


INFINITY = float("inf")
TIMES_FITPARSE_REFUSES = {  # found by the structure-aware fuzzer (issue 11)
    "local_timestamp 0x10000000, which the profile names 'min'": [(34, 5, 0x86, struct.pack("<I", 0x10000000))],
    "time_created as a uint64 past the year 9999": [(0, 4, 0x8F, struct.pack("<Q", 1 << 40))],
    "start_time as a float64 infinity": [(18, 2, 0x89, struct.pack("<d", INFINITY))],
    "no start_time, and an elapsed time of infinity": [(18, 2, None, None),
                                                       (18, 7, 0x88, struct.pack("<f", INFINITY))],
}


@pytest.mark.parametrize("edits", TIMES_FITPARSE_REFUSES.values(), ids=TIMES_FITPARSE_REFUSES.keys())
def test_a_time_out_of_reach_is_refused_with_a_reason_never_a_traceback(edits):
    data = _edited(edits)
    assert isinstance(by_fitparse(data), Refused)
    refused = by_shoetrack(data)  # raised TypeError / OverflowError out of the fast walk
    assert isinstance(refused, Refused) and refused.reason and "\n" not in refused.reason
