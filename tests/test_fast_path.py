"""The fast FIT walk never disagrees with fitparse, and imports stay cheap.

fitparse is the reference: wherever it decodes a file, the walk must either
give exactly the same result or step aside (Uncertain); wherever it fails, the
walk must step aside too.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoetrack.adapters import fit, fitwalk
from shoetrack.adapters.store import Store
from shoetrack.service.importing import import_paths
from tests import fitgen, fitmutate
from tests.fitgen import Device, Session
from tests.helpers import CORPUS, needs_corpus, write


def reference(data: bytes):
    """What fitparse makes of the bytes: a DecodedFile, or the failure."""
    try:
        return fit._build(fit._messages_by_fitparse(data))
    except Exception as exc:  # any failure: the walk must not succeed either
        return ("failed", type(exc).__name__)


def walked(data: bytes):
    try:
        return fit._build(fit._messages_by_walk(data))
    except fitwalk.Uncertain:
        return None
    except (fitwalk.Broken, fit.FitDecodeError) as exc:
        return ("failed", type(exc).__name__)


def agree(data: bytes) -> bool:
    """The walk stepped aside, or matched fitparse exactly (failing where it fails)."""
    fast = walked(data)
    if fast is None:
        return True
    slow = reference(data)
    if isinstance(slow, tuple):
        return isinstance(fast, tuple)  # both refuse the file: no session either way
    return fast == slow


# Corpus files fitparse 1.2.0 refuses that shoetrack reads on purpose ("FIT files
# fitparse cannot read well"), each with its own test below.
READ_BETTER_THAN_FITPARSE = {
    "python-fitparse/tests/files/coros-pace-2-cycling-misaligned-fields.fit":
        "event fields (uint32) of 1 byte, which fitparse refuses: read as bytes and ignored, as the FIT SDK does",
}


@needs_corpus
def test_every_corpus_file_decodes_as_fitparse_decodes_it():
    walked_count = 0
    for entry in json.loads((CORPUS / "reference.json").read_text()):
        if entry["path"] in READ_BETTER_THAN_FITPARSE:
            continue
        data = (CORPUS / entry["path"]).read_bytes()
        fast = walked(data)
        if not entry["fitparse_1_2_0"]["ok"]:
            assert fast is None or isinstance(fast, tuple), entry["path"]  # steps aside, or fails too
            continue
        slow = reference(data)
        assert not isinstance(fast, tuple), entry["path"]  # never refuses what fitparse reads
        if fast is not None:
            walked_count += 1
            assert fast == slow, entry["path"]
        assert fit.decode(data) == slow, entry["path"]
    assert walked_count >= 80  # the fast path really carries the corpus


@needs_corpus
def test_the_coros_file_with_one_byte_uint32_fields_is_read_on_both_paths_as_fitdecode_reads_it():
    """Its event messages hold a uint32 of 1 byte: fitparse refuses the whole file
    ("Invalid field size 1 for type 'uint32'"), the FIT SDK and fitdecode read it.
    shoetrack reads such a field as bytes and ignores it, on both paths."""
    [entry] = [e for e in json.loads((CORPUS / "reference.json").read_text())
               if e["path"] in READ_BETTER_THAN_FITPARSE]
    assert not entry["fitparse_1_2_0"]["ok"] and "Invalid field size 1" in entry["fitparse_1_2_0"]["error"]
    data = (CORPUS / entry["path"]).read_bytes()
    decoded = walked(data)
    assert decoded is not None and decoded == reference(data) == fit._by_reference(data) == fit.decode(data)
    [want] = entry["fitdecode_0_11"]["sessions"]
    [got] = decoded.sessions
    assert (got.start_time.isoformat(), got.sport, got.sub_sport, got.distance_m, got.elapsed_s, got.timer_s,
            got.avg_hr) == (want["start_time"], want["sport"], want["sub_sport"], want["total_distance"],
                            want["total_elapsed_time"], want["total_timer_time"], want["avg_heart_rate"])


def test_crc_matches_the_sdk_definition():
    nibbles = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
               0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)

    def by_the_book(data: bytes) -> int:
        crc = 0
        for byte in data:
            for nibble in (byte & 0xF, byte >> 4):
                crc = ((crc >> 4) & 0x0FFF) ^ nibbles[crc & 0xF] ^ nibbles[nibble]
        return crc

    rng = random.Random(3)
    for size in (0, 1, 2, 3, 17, 1000, 4097):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert fitwalk.crc16(data) == by_the_book(data)


sessions = st.lists(st.builds(
    Session,
    start=st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2030, 1, 1),
                       timezones=st.just(timezone.utc)),
    sport=st.sampled_from([1, 2, 5, 11, 17, 4, 10]),
    sub_sport=st.sampled_from([0, 1, 2, 3, 4]),
    distance_m=st.one_of(st.none(), st.floats(0, 200_000).map(lambda x: round(x, 2))),
    elapsed_s=st.floats(1, 40_000).map(lambda x: round(x, 3)),
    avg_hr=st.one_of(st.none(), st.integers(40, 220)),
    ascent_m=st.one_of(st.none(), st.integers(0, 5000)),
    records_every_s=st.one_of(st.none(), st.integers(60, 600)),
), min_size=1, max_size=3)


@st.composite
def fit_files(draw):
    data = fitgen.activity(
        draw(sessions),
        devices=draw(st.lists(st.builds(Device, index=st.integers(1, 5),
                                        antplus_type=st.sampled_from([None, 120, 124]),
                                        serial=st.one_of(st.none(), st.integers(1, 2**31))), max_size=2)),
        utc_offset_s=draw(st.sampled_from([None, 0, 3600, -25200])),
    )
    if draw(st.booleans()):
        data = fitgen.non_activity(draw(st.sampled_from([2, 5, 9, 32]))) if draw(st.booleans()) else data
    return data


@st.composite
def mutated(draw):
    data = bytearray(draw(fit_files()))
    how = draw(st.sampled_from(["none", "truncate", "flip", "splice", "append", "length", "chain"]))
    if how == "truncate":
        del data[draw(st.integers(0, len(data) - 1)):]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    elif how == "splice":
        other = draw(fit_files())
        cut, cut2 = draw(st.integers(0, len(data))), draw(st.integers(0, len(other)))
        data = data[:cut] + other[cut2:]
    elif how == "append":
        data += bytes(draw(st.lists(st.integers(0, 255), min_size=1, max_size=40)))
    elif how == "length":
        i = draw(st.integers(14, max(14, len(data) - 1)))
        data[i] = draw(st.sampled_from([0, 1, 0x7F, 0xFF]))
    elif how == "chain":
        data += draw(fit_files())
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_walk_agrees_with_fitparse_on_generated_and_mutated_files(data):
    assert agree(data)


@settings(max_examples=60, deadline=None)
@given(fit_files())
def test_clean_generated_files_take_the_fast_path(data):
    assert walked(data) is not None
    assert walked(data) == reference(data)


def test_a_big_import_uses_every_core_and_matches_a_single_process_import(tmp_path):
    folder = tmp_path / "history"
    start = datetime(2025, 1, 1, 6, tzinfo=timezone.utc)
    for i in range(40):
        write(folder / f"{i:03d}.fit", fitgen.run(start + timedelta(days=i), km=5 + i % 7, records_every_s=10))
    write(folder / "040.fit", fitgen.run(start + timedelta(days=3, seconds=30)))  # same activity as 003
    write(folder / "041.fit", b"junk")
    results = []
    for workers in (1, 2):
        with Store(tmp_path / f"w{workers}.db") as store:
            report = import_paths(store, [folder], workers=workers)
            rows = [(r["start_time"], r["distance_m"], r["source"]) for r in store.sessions()]
        results.append((report.as_json(), rows))
    assert results[0] == results[1]
    report = results[1][0]
    assert len(report["imported"]) == 40 and len(report["failed"]) == 1
    assert report["duplicate"] == [{"path": str(folder / "040.fit"), "of": str(folder / "003.fit")}]


def test_an_unchanged_file_is_not_read_again(shoetrack, inbox):
    path = write(inbox / "run.fit", fitgen.run("2026-03-02T06:30:00Z"))
    shoetrack("import", inbox)
    stat = os.stat(path)
    path.write_bytes(b"\0" * stat.st_size)  # same size, other bytes...
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ...and the same mtime
    report = shoetrack.json("import", inbox)
    assert report["duplicate"] == [{"path": str(path), "of": str(path)}]  # judged by what was seen
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: read again
    [failed] = shoetrack.json("import", inbox)["failed"]
    assert failed["path"] == str(path)


def test_an_unchanged_archive_is_answered_without_opening_it(shoetrack, tmp_path):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.fit", fitgen.run("2026-03-02T06:30:00Z"))
        archive.writestr("../evil.fit", b"x")
        archive.writestr("w.fit", fitgen.non_activity(5))
    path = write(tmp_path / "export.zip", buffer.getvalue())
    first = shoetrack.json("import", path)
    stat = os.stat(path)
    path.write_bytes(b"\0" * stat.st_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = shoetrack.json("import", path)
    assert second["skipped"] == first["skipped"] and len(second["skipped"]) == 2
    assert second["duplicate"] == [{"path": f"{path}!a.fit", "of": f"{path}!a.fit"}]


def test_reading_commands_start_without_the_heavy_modules(tmp_path):
    db = tmp_path / "st.db"
    Store(db).close()  # an existing database, as on any day but the first
    for command in (["status"], ["runs", "--since", "2026-01-01"], ["shoes", "list"]):
        script = (
            "import sys\n"
            "from shoetrack.cli import cli\n"
            "try:\n"
            f"    cli.main(['--db', {str(db)!r}, *{command!r}, '--json'])\n"
            "except SystemExit:\n"
            "    pass\n"
            "heavy = {'fitparse', 'apscheduler', 'plyer', 'watchdog', 'dbus', 'sqlite_utils'}\n"
            "print(sorted(heavy & set(sys.modules)))\n"
        )
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "HOME": str(tmp_path)})
        assert result.stdout.strip().splitlines()[-1] == "[]", (command, result.stdout, result.stderr)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_big_odd_files_are_decoded_in_a_bounded_child(monkeypatch):
    data = fitgen.run("2026-03-02T06:30:00Z", km=20, minutes=120, records_every_s=1)
    assert fit._by_reference_bounded(data) == fit._by_reference(data)
    monkeypatch.setattr(fit, "REFERENCE_SECONDS", 0.01)
    monkeypatch.setattr(fit, "REFERENCE_SECONDS_PER_MB", 0)
    with pytest.raises(fit.FitDecodeError, match="took longer than 0 s to decode"):
        fit._by_reference_bounded(data)


# -- a field declared wider than its type (issue 11) -------------------------------------------

KEPT_FIELD_SIZES = {  # the fields shoetrack keeps, as fitgen writes them: field number -> bytes
    "file_id": {0: 1, 1: 2, 2: 2, 3: 4, 4: 4},  # type, manufacturer, product, serial, time_created
    "device_info": {0: 1, 1: 1, 3: 4, 25: 1},  # device_index, device_type, serial_number, source_type
    # timestamp, start_time, sport, sub_sport, elapsed, timer, distance, avg_heart_rate, total_ascent
    "session": {253: 4, 2: 4, 5: 1, 6: 1, 7: 4, 8: 4, 9: 4, 16: 1, 22: 2},
    "activity": {253: 4, 5: 4},  # timestamp, local_timestamp
}
EVERY_KEPT_FIELD = {name: {num: size * (2 + num % 7) for num, size in fields.items()}
                    for name, fields in KEPT_FIELD_SIZES.items()}
WIDENED = {
    "sport of 8 bytes": {"session": {5: 8}},
    "distance of 4 values": {"session": {9: 16}},
    "sport as 1 raw byte": {"session": {5: (1, fitgen.BYTE)}},
    "sport as 8 raw bytes": {"session": {5: (8, fitgen.BYTE)}},
    "every kept field": EVERY_KEPT_FIELD,
}


def widened_run(widths: dict, **kwargs) -> bytes:
    return fitgen.run("2026-03-02T06:30:00Z", km=7.25, minutes=40, serial=3900000042,
                      devices=[Device(1, 124, 424242)], utc_offset_s=3600, widths=widths, **kwargs)


def only_plain_values(decoded) -> bool:
    """No value is a container or bytes (the sessions and the notes, a tuple of
    sentences, are the DecodedFile's only tuples)."""
    values = [*vars(decoded).values(), *(v for s in decoded.sessions for v in vars(s).values())]
    return not any(isinstance(v, (tuple, list, dict, bytes, bytearray)) for v in values
                   if v is not decoded.sessions and v is not decoded.notes) and all(
        isinstance(note, str) for note in decoded.notes)


@pytest.mark.parametrize("widths", WIDENED.values(), ids=WIDENED.keys())
def test_a_field_wider_than_its_type_counts_as_its_first_element_on_both_paths(widths):
    data = widened_run(widths)
    plain = fit.decode(widened_run({}))
    slow = reference(data)
    assert slow == plain  # fitparse, as shoetrack drives it, reads the first element
    assert only_plain_values(slow)
    [session] = slow.sessions
    assert (session.sport, session.distance_m, slow.serial, slow.foot_pod_serial) == ("running", 7250.0,
                                                                                     3900000042, 424242)
    # a widened number is walked, and read alike; so are raw bytes where a number is
    # expected (the first byte, as fitparse is made to read it)
    assert walked(data) == slow
    assert fit.decode(data) == plain


def test_a_widened_sport_or_distance_is_a_run_in_its_pair(shoetrack, tmp_path):
    shoetrack("shoes", "add", "Road A", "--default-for", "running", "--since", "2026-01-01")
    files = [write(tmp_path / "in" / f"{i}.fit", fitgen.run(f"2026-03-{2 + i:02d}T06:30:00Z", km=7.25, minutes=40,
                                                           devices=[Device(1, 124, 424242)], widths=widths))
             for i, widths in enumerate(WIDENED.values())]
    report = shoetrack.json("import", tmp_path / "in")
    assert sorted(item["path"] for item in report["imported"]) == sorted(map(str, files))
    runs = shoetrack.json("runs")
    assert len(runs) == len(files)
    for run in runs:
        assert (run["sport"], run["sub_sport"], run["distance_km"], run["shoe"]) == (
            "running", "generic", 7.25, "Road A"), run
    shoetrack("shoes", "add", "Podded", "--rule", "foot_pod_serial = 424242", "--since", "2026-01-01")
    assert {run["shoe"] for run in shoetrack.json("runs")} == {"Podded"}  # the pod's serial is read too


def fields_to_widen():
    """Any kept fields of the four messages, each declared 1 to 4 times as wide."""
    return st.fixed_dictionaries({
        name: st.dictionaries(st.sampled_from(sorted(fields)), st.integers(1, 4)).map(
            lambda chosen, fields=fields: {num: times * fields[num] for num, times in chosen.items()})
        for name, fields in KEPT_FIELD_SIZES.items()})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions, fields_to_widen(), st.sampled_from([None, 0, 3600]))
def test_widened_kept_fields_decode_alike_on_both_paths(legs, widths, offset):
    if offset is None:
        widths["activity"].pop(5, None)  # no local_timestamp to widen
    data = fitgen.activity(legs, devices=[Device(1, 124, 77)], utc_offset_s=offset, widths=widths)
    slow = reference(data)
    assert not isinstance(slow, tuple), slow
    assert only_plain_values(slow)
    assert walked(data) == slow
    assert slow == reference(fitgen.activity(legs, devices=[Device(1, 124, 77)], utc_offset_s=offset))


# -- what the walk reads since "Speed to the limit": fewer files handed to fitparse ---------------

def messages_alike(data: bytes, records: bool = False) -> None:
    """Every message the walk gives, as fitparse (as shoetrack drives it) gives it: the
    same messages in the same files of a chain, each value the walk reads the same."""
    fast = fit._messages_by_walk(data, records)
    slow = fit._messages_by_fitparse(data, records)
    assert [(segment, name) for segment, name, _ in fast] == [(segment, name) for segment, name, _ in slow]
    for (_, name, mine), (_, _, theirs) in zip(fast, slow):
        assert {key: theirs.get(key, "absent") for key in mine} == mine, name


COMPRESSED = {  # messages written with a compressed timestamp header instead of their timestamp
    "session": {"compressed": ("session",)},
    "activity": {"compressed": ("activity",)},
    "device_info": {"compressed": ("device_info",)},
    "all three": {"compressed": ("device_info", "session", "activity")},
    "all three, after compressed records": {"compressed": ("device_info", "session", "activity"),
                                            "compressed_records": True, "records_every_s": 5},
    "times since power-on": {"compressed": ("session", "activity"),
                             "power_on": datetime(2026, 3, 2, 5, 0, tzinfo=timezone.utc)},
}


@pytest.mark.parametrize("kwargs", COMPRESSED.values(), ids=COMPRESSED.keys())
def test_compressed_timestamps_on_the_messages_shoetrack_reads_are_walked_as_fitparse_reads_them(kwargs):
    """Records every second (stepped over in runs, or one by one when compressed) end
    within 31 s of the session's end: the compressed times are the true ones."""
    kwargs = {"records_every_s": 1, **kwargs}
    data = widened_run({}, **kwargs)
    decoded = walked(data)
    assert decoded is not None and decoded == reference(data) == fit.decode(data)
    messages_alike(data)
    plain = {key: value for key, value in kwargs.items() if key != "compressed"}
    assert decoded == fit.decode(widened_run({}, **plain))


def test_a_compressed_time_far_from_the_last_one_is_read_as_fitparse_reads_it():
    """No records: the session's compressed time is counted from the device_info's time, 40
    minutes before; fitparse and the walk both count it the same (wrong) way."""
    data = widened_run({}, compressed=("session", "activity"))
    assert walked(data) == reference(data)
    messages_alike(data)
    [(_, _, session)] = [m for m in fit._messages_by_walk(data) if m[1] == "session"]
    assert session["timestamp"] != datetime(2026, 3, 2, 7, 10)  # 5 bits do not reach that far


def test_compressed_times_start_again_from_nothing_in_each_file_of_a_chain():
    first = widened_run({}, records_every_s=1, compressed=("session", "activity"))
    second = fitgen.run("2026-03-04T06:30:00Z", km=3, minutes=20, compressed=("device_info", "session", "activity"))
    data = fitgen.chain(first, second)
    assert walked(data) is not None and walked(data) == reference(data) == fit.decode(data)
    messages_alike(data)  # the second file's session: counted from 0, not from the first's times
    assert [segment for segment, name, _ in fit._messages_by_walk(data) if name == "session"] == [0, 1]


def _retimed(data: bytes, raw: bytes, base: int = 0x86) -> bytes:
    """The file with the last record's timestamp field holding `raw`, of base type `base`."""
    parsed = fitmutate.parse(data)
    last = [m for m in parsed.data() if m.definition.global_num == 20][-1]
    layout = last.definition
    i = next(i for i, f in enumerate(layout.fields) if f.num == 253)
    fields = [fitmutate.Field(f.num, f.size, f.base) for f in layout.fields]
    fields[i] = fitmutate.Field(253, len(raw), base)
    last.definition = fitmutate.Definition(layout.local, 20, fields, list(layout.dev_fields), layout.arch)
    last.values = [*last.values[:i], raw, *last.values[i + 1:]]
    return fitmutate.serialise(parsed)


@pytest.mark.parametrize("raw, base", [(b"\xff\xff\xff\xff", 0x86), (b"\0\0\x80\x3f", 0x88), (b"\x01\x02", 0x84 | 0x0D),
                                       (b"\x10\x20\x30\x40" * 2, 0x86)],
                         ids=["invalid", "float32", "unknown type", "array"])
def test_a_compressed_time_after_a_timestamp_the_walk_cannot_take_up_is_left_to_fitparse(raw, base):
    """fitparse keeps the time before an invalid one, and fails on a float or bytes: the walk
    no longer holds the one, and leaves the others to fitparse's judgement."""
    data = _retimed(widened_run({}, records_every_s=1, compressed=("session",)), raw, base)
    assert walked(data) is None
    slow = reference(data)
    if isinstance(slow, tuple):
        with pytest.raises(fit.FitDecodeError):
            fit.decode(data)
    else:
        assert fit.decode(data) == slow
    untouched = _retimed(widened_run({}, records_every_s=1), raw, base)  # no compressed time to count
    assert walked(untouched) is not None and walked(untouched) == reference(untouched)


def test_compressed_records_of_an_activity_without_a_session_wait_for_the_walk_to_be_allowed(monkeypatch):
    """A record's compressed timestamp (read only to summarise an activity without a
    session) is still left to fitparse (fitwalk.STAMPS_LEFT_TO_FITPARSE); the walk reads it
    exactly as fitparse does once allowed."""
    data = fitgen.run("2026-03-02T06:30:00Z", km=6, minutes=30, records_every_s=3, with_sessions=False,
                      compressed_records=True, sport_message=True)
    with pytest.raises(fitwalk.Uncertain, match="compressed timestamp on a record"):
        fit._decoded(fit._messages_by_walk, data)
    monkeypatch.setattr(fitwalk, "STAMPS_LEFT_TO_FITPARSE", frozenset())
    fast = fit._decoded(fit._messages_by_walk, data)
    assert fast == fit._by_reference(data) == fit.decode(data)
    messages_alike(data, records=True)
    [session] = fast.sessions
    assert session.derived and session.start_time == datetime(2026, 3, 2, 6, 30, tzinfo=timezone.utc)


short_sessions = st.lists(st.builds(  # short enough for fitparse to decode dozens of them quickly
    Session,
    start=st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2030, 1, 1),
                       timezones=st.just(timezone.utc)),
    sport=st.sampled_from([1, 2, 11]),
    distance_m=st.one_of(st.none(), st.floats(0, 20_000).map(lambda x: round(x, 2))),
    elapsed_s=st.floats(30, 900).map(lambda x: round(x, 3)),
    records_every_s=st.sampled_from([None, 1, 7, 31]),
), min_size=1, max_size=3)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(short_sessions, st.sets(st.sampled_from(fitgen.COMPRESSIBLE)), st.booleans(),
       st.sampled_from([None, 0, 3600]), st.booleans())
def test_compressed_timestamps_anywhere_are_walked_and_read_alike(legs, compressed, records_too, offset, powered):
    legs = [replace(leg, start=legs[0].start + timedelta(hours=2 * i)) for i, leg in enumerate(legs)]  # in order
    data = fitgen.activity(legs, devices=[Device(1, 124, 77)], utc_offset_s=offset, compressed=tuple(compressed),
                           compressed_records=records_too,
                           power_on=legs[0].start - timedelta(hours=1) if powered else None)
    assert walked(data) is not None
    assert walked(data) == reference(data)
    messages_alike(data)


def _retyped(data: bytes, message: int, number: int, base: int, raw: bytes | None = None) -> bytes:
    """The file with a field of each message of a kind declared as another base type
    (its bytes kept, or `raw`)."""
    parsed = fitmutate.parse(data)
    for d in parsed.definitions():
        if d.global_num != message:
            continue
        for i, f in enumerate(d.fields):
            if f.num == number:
                f.base = base
                if raw is not None:
                    f.size = len(raw)
                    for m in parsed.records(d):
                        m.values[i] = raw
    return fitmutate.serialise(parsed)


RETYPED = {  # fields shoetrack reads, declared as bytes or as a type fitparse does not know
    "sport as an unknown type 0x04": (18, 5, 0x04, None),
    "sport as bytes, first 0xFF": (18, 5, 0x0D, b"\xff\x01"),
    "sub_sport as 3 bytes": (18, 6, 0x0D, b"\x02\xff\xff"),
    "manufacturer as bytes (garmin_product decides)": (0, 1, 0x0D, b"\x01\x00"),
    "device_type as an unknown type 0x0E": (23, 1, 0x0E, None),
    "total_ascent as unknown 0x8A": (18, 22, 0x8A, None),
    "session start_time as bytes": (18, 2, 0x0D, None),
}


@pytest.mark.parametrize("edit", RETYPED.values(), ids=RETYPED.keys())
def test_a_kept_field_of_bytes_or_of_an_unknown_type_is_walked_as_its_first_byte(edit):
    data = _retyped(widened_run({}), *edit)
    fast, slow = walked(data), reference(data)
    assert fast is not None and fast == slow and not isinstance(slow, tuple)
    messages_alike(data)


def test_a_kept_string_field_and_a_developer_index_of_bytes_are_still_left_to_fitparse():
    string = _retyped(widened_run({}), 18, 5, 0x07, b"run\0")
    assert walked(string) is None and fit.decode(string) == reference(string)
    data = widened_run({}, developer={"session": [fitgen.DevField("power", fitgen.UINT16, 250)]})
    registry = _retyped(data, 207, 3, 0x0D)  # developer_data_index as a byte: fitparse keeps a tuple
    assert walked(registry) is None and agree(registry)


def _with_developer_damage(how: str) -> bytes:
    data = widened_run({}, developer={"session": [fitgen.DevField("power", fitgen.UINT16, 250),
                                                  fitgen.DevField("cadence", fitgen.UINT8, 88)]})
    parsed = fitmutate.parse(data)
    [segment] = parsed.segments
    described = [m for m in segment.messages if isinstance(m, fitmutate.Data) and m.definition.global_num == 206]
    if how == "undescribed":  # the description of one developer field is missing
        segment.messages.remove(described[-1])
    elif how == "unknown developer":  # a field of a developer never declared
        [d] = [d for d in parsed.definitions() if d.dev_fields]
        d.dev_fields[0].index = 3
    elif how == "described before its developer":
        ident = next(m for m in segment.messages if isinstance(m, fitmutate.Data) and m.definition.global_num == 207)
        segment.messages.remove(ident)
        segment.messages.insert(segment.messages.index(described[-1]) + 1, ident)
    elif how == "described with an unknown type":
        d = described[0].definition
        i = next(i for i, f in enumerate(d.fields) if f.num == 2)
        described[0].values[i] = b"\x04"
    return fitmutate.serialise(parsed)


@pytest.mark.parametrize("how", ["undescribed", "unknown developer", "described before its developer",
                                 "described with an unknown type"])
def test_a_developer_field_fitparse_cannot_place_is_refused_without_fitparse(how, monkeypatch):
    """fitparse stops at such a field ("No such field 1 for dev_data_index 0"): the
    walk refuses the file there too, and fitparse is not asked."""
    data = _with_developer_damage(how)
    slow = reference(data)
    assert isinstance(slow, tuple)  # fitparse refuses it
    with pytest.raises(fitwalk.Broken):
        fitwalk.walk(data)
    monkeypatch.setattr(fit, "_by_reference", lambda data: pytest.fail("fitparse was asked"))
    with pytest.raises(fit.FitDecodeError, match="corrupt: a developer field"):
        fit.decode(data)


def test_a_developer_field_of_an_odd_size_is_still_left_to_fitparse():
    data = widened_run({}, developer={"session": [fitgen.DevField("power", fitgen.UINT16, 250)]})
    parsed = fitmutate.parse(data)
    [d] = [d for d in parsed.definitions() if d.dev_fields]
    d.dev_fields[0].size = 3  # a uint16 of 3 bytes: fitparse reads 2 and loses its place
    for m in parsed.records(d):
        m.dev_values[0] = b"\x01\x02\x03"
    odd = fitmutate.serialise(parsed)
    assert walked(odd) is None and agree(odd)


# Corpus files the walk does not read, and why; every other file of ../shared/fit-corpus
# takes the fast path. None is handed to fitparse (none was before compressed timestamps
# and bytes were walked either): one that is would be named in TO_FITPARSE with the reason
# the walk gives.
TO_FITPARSE: dict[str, str] = {}
REFUSED_BY_THE_WALK = {  # damaged: fitparse refuses each too (reference.json), no need to ask it
    "fitdecode/tests/files/invalid/activity-activity-filecrc.fit": "checksum",
    "fitdecode/tests/files/invalid/activity-filecrc.fit": "checksum",
    "python-fitparse/tests/files/activity-activity-filecrc.fit": "checksum",
    "python-fitparse/tests/files/activity-filecrc.fit": "checksum",
    "tormoder-fit/testdata/chained/activity-activity-filecrc.fit": "checksum",
    "tormoder-fit/testdata/corrupt/activity-filecrc.fit": "checksum",
    "fitdecode/tests/files/invalid/activity-settings-corruptheader.fit": "no FIT signature",
    "python-fitparse/tests/files/activity-settings-corruptheader.fit": "no FIT signature",
    "tormoder-fit/testdata/chained/activity-settings-corruptheader.fit": "no FIT signature",
    "fitdecode/tests/files/invalid/activity-settings-nodata.fit": "truncated",
    "python-fitparse/tests/files/activity-settings-nodata.fit": "truncated",
    "tormoder-fit/testdata/chained/activity-settings-nodata.fit": "truncated",
    "fitdecode/tests/files/invalid/activity-unexpected-eof.fit": "truncated",
    "python-fitparse/tests/files/activity-unexpected-eof.fit": "truncated",
    "tormoder-fit/testdata/corrupt/activity-unexpected-eof.fit": "truncated",
    "python-fitparse/tests/files/nick.fit": "truncated",
    "python-fitparse/tests/files/strava-android-app-201.10-b1218918.fit": "never defined",
}
WALKED_CORPUS_FILES = 95  # of the 112 in reference.json


def path_of(data: bytes) -> str:
    """"walk", "refused: reason" or "fitparse: reason": the way fit.decode goes."""
    try:
        fit._decoded(fit._messages_by_walk, data)
        return "walk"
    except fitwalk.Broken as exc:
        return f"refused: {exc}"
    except fitwalk.Uncertain as exc:
        return f"fitparse: {exc}"
    except (ArithmeticError, TypeError, ValueError) as exc:
        return f"fitparse: {type(exc).__name__}: {exc}"
    except fit.FitDecodeError as exc:
        return f"walk: {exc}"  # the walk read it; shoetrack has nothing to keep


@needs_corpus
def test_how_many_corpus_files_take_the_fast_path():
    entries = json.loads((CORPUS / "reference.json").read_text())
    paths = {entry["path"]: path_of((CORPUS / entry["path"]).read_bytes()) for entry in entries}
    to_fitparse = {path: way for path, way in paths.items() if way.startswith("fitparse")}
    refused = {path: way for path, way in paths.items() if way.startswith("refused")}
    assert to_fitparse == {path: f"fitparse: {why}" for path, why in TO_FITPARSE.items()}
    assert set(refused) == set(REFUSED_BY_THE_WALK)
    for path, way in refused.items():
        assert REFUSED_BY_THE_WALK[path] in way, (path, way)
    fitparse_refuses = {entry["path"] for entry in entries if not entry["fitparse_1_2_0"]["ok"]}
    assert set(refused) <= fitparse_refuses
    assert sum(way == "walk" for way in paths.values()) == WALKED_CORPUS_FILES


def _compressed_anywhere(rng: random.Random, n: int) -> bytes:
    """A generated activity whose messages of local types 0-3 (records too) get compressed
    timestamp headers at random, with random offsets, some without their own timestamp
    field, and sometimes one timestamp made invalid."""
    start = datetime(2024, 5, 1, 6, tzinfo=timezone.utc) + timedelta(days=n)
    legs = [Session(start + timedelta(hours=2 * h), sport=rng.choice([1, 2]), elapsed_s=rng.uniform(30, 400),
                    records_every_s=rng.choice([None, 1, 5, 20])) for h in range(rng.randint(1, 2))]
    data = fitgen.activity(legs, devices=[Device(1, 124, 5)], utc_offset_s=rng.choice([None, 3600]),
                           with_sessions=rng.random() < 0.7,
                           power_on=start - timedelta(hours=1) if rng.random() < 0.3 else None)
    parsed = fitmutate.parse(data)
    candidates = [m for m in parsed.data() if m.definition.local <= 3]
    for m in rng.sample(candidates, k=min(len(candidates), rng.randint(1, 12))):
        m.time_offset = rng.randrange(32)
        d = m.definition
        if rng.random() < 0.5 and any(f.num == 253 for f in d.fields):
            i = next(i for i, f in enumerate(d.fields) if f.num == 253)
            m.definition = fitmutate.Definition(d.local, d.global_num, d.fields[:i] + d.fields[i + 1:],
                                                list(d.dev_fields), d.arch)
            m.values = m.values[:i] + m.values[i + 1:]
    timed = [m for m in parsed.data() if any(f.num == 253 and f.size == 4 for f in m.definition.fields)]
    if timed and rng.random() < 0.2:
        m = rng.choice(timed)
        m.values[next(i for i, f in enumerate(m.definition.fields) if f.num == 253)] = b"\xff\xff\xff\xff"
    return fitmutate.serialise(parsed)


@pytest.mark.parametrize("records", [False, True], ids=["messages every file is read for", "records too"])
def test_compressed_timestamps_put_anywhere_are_counted_as_fitparse_counts_them(records, monkeypatch):
    """Whenever the walk reads such a file, every value it gives is fitparse's (records
    too, with fitwalk.STAMPS_LEFT_TO_FITPARSE emptied); it steps aside only after a
    timestamp it cannot take up (an invalid one)."""
    monkeypatch.setattr(fitwalk, "STAMPS_LEFT_TO_FITPARSE", frozenset())
    rng = random.Random(11 + records)
    walked_count = 0
    for n in range(150):
        data = _compressed_anywhere(rng, n)
        try:
            fitwalk.walk(data, fitwalk.RECORDS if records else None)
        except fitwalk.Uncertain:
            continue
        walked_count += 1
        messages_alike(data, records)
    assert walked_count >= 130
