"""FIT files fitparse cannot read well, read well on both paths.

Four things fitparse 1.2.0 gets wrong or cannot do, each held on generated
files to one answer on the fast walk and on the reference path (fitparse as
shoetrack drives it):

1. a developer field named like a message's own field (a Connect IQ
   `total_distance`) never replaces it;
2. a field whose size is no whole number of its type (a uint32 of 1 byte, as a
   Coros watch writes one) is read as bytes and ignored, as the FIT SDK does:
   the file is read, and a kept field of that kind is simply absent;
3. an activity file without a session message is summarised from its records
   (one session, `derived`, with a note), never silently empty;
4. times relative to a device's power-on are dated by the file's own
   timestamp_correlation, whatever this machine's time zone; without one the
   start is a guess in this machine's zone, and a note says so.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import fitparse
import pytest
from fitparse.profile import MESSAGE_TYPES

from shoetrack.adapters import fit, fitwalk
from tests import fitgen
from tests.fitgen import UINT8, UINT16, UINT32, Device, DevField, Session
from tests.helpers import CORPUS, needs_corpus, write

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

START = datetime(2026, 3, 2, 6, 30, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[1]


def walked(data: bytes):
    """The fast walk's answer (both passes), or None when it steps aside."""
    try:
        return fit._decoded(fit._messages_by_walk, data)
    except fitwalk.Uncertain:
        return None


def both(data: bytes):
    """The one answer of both paths: the walk's (which must not step aside) equals the
    reference's and decode's."""
    fast, slow = walked(data), fit._by_reference(data)
    assert fast is not None, "the fast walk stepped aside"
    assert fast == slow == fit.decode(data)
    return slow


def plain_fitparse(data: bytes, name: str) -> list[dict]:
    """What unmodified fitparse gives for the messages of a name (its get_values())."""
    fitparse.records.DEV_TYPES.clear()
    with fitparse.FitFile(io.BytesIO(data)) as reader:
        return [m.get_values() for m in reader.get_messages(name)]


def run(**kwargs) -> bytes:
    kwargs = {"km": 7.25, "minutes": 40, "devices": [Device(1, 124, 424242)], "utc_offset_s": 3600, **kwargs}
    return fitgen.run(START, **kwargs)


# -- 1. developer fields never shadow a message's own fields -------------------------------

SHADOWS = {  # a developer field named like a field shoetrack reads, holding another value
    "session total_distance": {"session": [DevField("total_distance", UINT32, 4242)]},
    "session sport": {"session": [DevField("sport", UINT8, 2)]},
    "session start_time": {"session": [DevField("start_time", UINT32, 1000)]},
    "session avg_heart_rate": {"session": [DevField("avg_heart_rate", UINT8, 99)]},
    "foot pod serial_number": {"device_info": [DevField("serial_number", UINT32, 7)]},
    "activity local_timestamp": {"activity": [DevField("local_timestamp", UINT32, 1000)]},
    "several at once": {"session": [DevField("total_distance", UINT32, 4242), DevField("total_timer_time", UINT32, 1),
                                    DevField("Stryd power", UINT16, 250)]},
}


def test_a_developer_total_distance_replaced_the_session_s_own_in_plain_fitparse():
    """The bug, as fitparse's get_values() shows it: the developer field wins."""
    data = run(developer={"session": [DevField("total_distance", UINT32, 4242)]})
    [session] = plain_fitparse(data, "session")
    assert session["total_distance"] == 4242


def test_a_developer_total_distance_never_replaces_the_session_s_own_on_both_paths():
    data = run(developer={"session": [DevField("total_distance", UINT32, 4242)]})
    [session] = both(data).sessions
    assert session.distance_m == 7250.0


@pytest.mark.parametrize("developer", SHADOWS.values(), ids=SHADOWS.keys())
def test_a_developer_field_of_any_name_leaves_the_file_as_it_reads_without_it(developer):
    assert both(run(developer=developer)) == both(run())


def test_a_developer_field_named_like_a_missing_field_does_not_stand_in_for_it():
    """The session has no distance of its own: a developer `total_distance` is not it."""
    data = fitgen.run(START, km=None, developer={"session": [DevField("total_distance", UINT32, 4242)]})
    [session] = both(data).sessions
    assert session.distance_m is None


# -- 2. a field whose size does not fit its type ---------------------------------------------

ODD = {  # fitgen options -> what differs from the same file without the odd field
    "a uint32 of 1 byte in each record": {"records_every_s": 60, "extra_fields": {"record": [(91, UINT32, 1)]}},
    "a uint32 of 1 byte in the session": {"extra_fields": {"session": [(20, UINT32, 1)]}},
    "a uint32 of 3 bytes in device_info": {"extra_fields": {"device_info": [(8, UINT32, 3)]}},
    "an empty field in the session": {"extra_fields": {"session": [(20, UINT32, 0)]}},
    "each record's distance of 1 byte": {"records_every_s": 60, "odd_sizes": {"record": {5: 1}}},
    "each record's time of 2 bytes": {"records_every_s": 60, "odd_sizes": {"record": {253: 2}}},
}


@pytest.mark.parametrize("odd", ODD.values(), ids=ODD.keys())
def test_a_field_whose_size_does_not_fit_its_type_is_ignored_on_both_paths(odd):
    data = run(**odd)
    with pytest.raises(fitparse.FitParseError):  # plain fitparse refuses the whole file
        plain_fitparse(data, "session")
    plain = {key: value for key, value in odd.items() if key == "records_every_s"}
    assert both(data) == both(run(**plain))


def test_the_session_s_own_distance_of_one_byte_is_absent_and_the_run_still_dated():
    data = run(odd_sizes={"session": {9: 1}})
    decoded = both(data)
    assert decoded.sessions == tuple(replace(s, distance_m=None) for s in both(run()).sessions)


def test_a_start_time_of_two_bytes_is_absent_and_the_start_comes_from_the_end():
    [session] = both(run(odd_sizes={"session": {2: 2}})).sessions
    assert session.start_time == START  # timestamp - total_elapsed_time


def test_a_file_with_a_field_that_does_not_fit_is_imported(shoetrack, tmp_path):
    path = write(tmp_path / "in" / "coros.fit", run(odd_sizes={"session": {9: 1}},
                                                    extra_fields={"session": [(20, UINT32, 1)]}))
    report = shoetrack.json("import", path)
    assert report["imported"] == [{"path": str(path), "sessions": 1}]
    [stored] = shoetrack.json("runs")
    assert stored["sport"] == "running" and stored["duration_s"] == 2400


def test_damage_that_makes_the_file_unreadable_still_fails_it():
    """A field that does not fit is no excuse to read past a real fault."""
    data = bytearray(run(extra_fields={"session": [(20, UINT32, 1)]}))
    data[-1] ^= 0xFF
    with pytest.raises(fit.FitDecodeError, match="checksum"):
        fit.decode(bytes(data))
    with pytest.raises(fit.FitDecodeError, match="checksum"):
        fit._by_reference(bytes(data))


# -- 3. an activity without a session message ----------------------------------------------

def records_only(**kwargs) -> bytes:
    return run(records_every_s=10, with_sessions=False, **kwargs)


def test_an_activity_without_a_session_is_summarised_from_its_records():
    decoded = both(records_only())
    [session] = decoded.sessions
    assert session == fit.SessionSummary(
        start_time=START, sport="generic", sub_sport=None, distance_m=round(7250 * 2390 / 2400, 2), timer_s=None,
        elapsed_s=2390.0, avg_hr=None, ascent_m=None, derived=True)  # the last record is 10 s before the end
    assert decoded.notes == (fit.DERIVED,)
    assert (decoded.foot_pod_serial, decoded.serial, decoded.utc_offset_s) == (424242, 3900000001, 3600)


def test_its_sport_comes_from_a_sport_message_and_is_never_guessed():
    [session] = both(records_only(sport=11, sub_sport=3, sport_message=True)).sessions
    assert (session.sport, session.sub_sport) == ("walking", "trail")  # sport 11, sub_sport 3
    [session] = both(records_only(sport=1, sport_message=False)).sessions
    assert (session.sport, session.sub_sport) == ("generic", None)  # a running watch, but nothing says so


def test_one_session_spans_all_records_with_the_greatest_distance():
    """Records that start counting again (two legs, distances not monotonic): one
    session, from the first record to the last, of the greatest distance."""
    legs = [Session(START, distance_m=5000, elapsed_s=1800, records_every_s=60),
            Session(START + timedelta(hours=1), distance_m=3000, elapsed_s=1200, records_every_s=60)]
    data = fitgen.activity(legs, with_sessions=False)
    [session] = both(data).sessions
    assert session.start_time == START
    assert session.elapsed_s == 3600 + 1140
    assert session.distance_m == round(5000 * 1740 / 1800, 2)


def test_records_with_compressed_timestamps_are_read_by_fitparse_alike():
    data = records_only(compressed_records=True)
    assert walked(data) is None  # the walk leaves compressed timestamps to fitparse
    assert fit._by_reference(data) == fit.decode(data) == both(records_only())


def test_a_record_layout_fitparse_expands_is_left_to_fitparse():
    """compressed_speed_distance (8) has a distance component: fitparse alone knows the
    accumulated value, so the walk steps aside for such records (and only without a session)."""
    data = records_only(extra_fields={"record": [(8, fitgen.BYTE, 3)]})
    assert walked(data) is None
    assert fit.decode(data) == fit._by_reference(data)
    assert walked(run(records_every_s=10, extra_fields={"record": [(8, fitgen.BYTE, 3)]})) is not None


def test_the_component_sources_the_walk_knows_are_fitparse_s():
    """Every field of a message the walk reads whose components fitparse expands into a
    kept field is listed in fitwalk.COMPONENT_SOURCES."""
    kept = {**fitwalk.WANTED, **fitwalk.RECORDS}
    found = {}
    for mesg, numbers in kept.items():
        for number, field in MESSAGE_TYPES[mesg].fields.items():
            subfields = field.subfields or ()
            components = [*(field.components or ()), *(c for sub in subfields for c in sub.components or ())]
            if any(c.def_num in numbers for c in components):
                found.setdefault(mesg, set()).add(number)
    assert found == fitwalk.COMPONENT_SOURCES


def test_an_activity_without_a_session_or_timed_records_says_so():
    decoded = both(run(with_sessions=False))
    assert decoded.sessions == () and decoded.notes == (fit.UNDATED,)


def test_records_are_read_only_when_a_session_is_missing(monkeypatch):
    calls = []
    real = fit.walk

    def counting(data, extra=None):
        calls.append(extra)
        return real(data, extra)

    monkeypatch.setattr(fit, "walk", counting)
    fit.decode(run(records_every_s=1))
    assert calls == [None]  # one pass, records stepped over
    calls.clear()
    fit.decode(records_only())
    assert calls == [None, fitwalk.RECORDS]


def test_a_chain_summarises_only_its_activity_without_a_session():
    data = fitgen.chain(run(), fitgen.run(START + timedelta(days=1), km=3, minutes=20, records_every_s=30,
                                          with_sessions=False))
    decoded = both(data)
    assert [s.derived for s in decoded.sessions] == [False, True]
    assert decoded.sessions[1].start_time == START + timedelta(days=1)
    assert decoded.notes == (fit.DERIVED,)


def test_a_file_without_a_session_is_imported_with_one_run(shoetrack, tmp_path):
    path = write(tmp_path / "strava.fit", records_only(sport=1, sport_message=True))
    report = shoetrack.json("import", path)
    assert report["imported"] == [{"path": str(path), "sessions": 1, "notes": [fit.DERIVED]}]
    [stored] = shoetrack.json("runs")
    assert stored["sport"] == "running" and stored["distance_km"] == round(7250 * 2390 / 2400 / 1000, 3)
    conn = sqlite3.connect(shoetrack.db)
    assert conn.execute("SELECT derived FROM sessions").fetchall() == [(1,)]
    conn.close()


# -- 4. times relative to power-on ------------------------------------------------------------

POWER_ON = START - timedelta(minutes=20)


def test_relative_times_are_dated_by_the_file_s_timestamp_correlation():
    decoded = both(run(power_on=POWER_ON, records_every_s=60))
    assert decoded == both(run(records_every_s=60))  # exactly as the same run with a clock fix
    assert decoded.notes == ()


def test_without_a_correlation_the_start_is_a_guess_and_a_note_says_so():
    decoded = both(run(power_on=POWER_ON, correlation=False))
    assert decoded.notes == (fit.APPROXIMATE,)
    # The activity's local time read in this machine's zone (UTC in the tests): off by the runner's hour.
    assert decoded.sessions[0].start_time == START + timedelta(hours=1)


def test_a_summary_of_relative_records_is_dated_by_the_correlation_too():
    decoded = both(records_only(power_on=POWER_ON))
    assert decoded == both(records_only())


DECODE_IN_ZONE = """
import json, sys
from shoetrack.adapters import fit
data = open(sys.argv[1], "rb").read()
print(json.dumps([[s.start_time.isoformat() for s in d.sessions] + list(d.notes)
                  for d in (fit.decode(data), fit._by_reference(data))]))
"""


def decoded_in_zone(path: Path, zone: str) -> list:
    result = subprocess.run([sys.executable, "-c", DECODE_IN_ZONE, str(path)], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, env={**os.environ, "TZ": zone})
    assert result.returncode == 0, result.stderr
    fast, slow = json.loads(result.stdout)
    assert fast == slow  # both paths, in that zone
    return fast


def test_the_stored_start_does_not_depend_on_this_machine_s_time_zone(tmp_path):
    path = write(tmp_path / "relative.fit", run(power_on=POWER_ON))
    assert decoded_in_zone(path, "UTC") == decoded_in_zone(path, "Asia/Tokyo") == [START.isoformat()]


def test_without_a_correlation_the_start_depends_on_the_zone_and_the_note_says_so(tmp_path):
    path = write(tmp_path / "relative.fit", run(power_on=POWER_ON, correlation=False))
    in_utc, in_tokyo = decoded_in_zone(path, "UTC"), decoded_in_zone(path, "Asia/Tokyo")
    assert in_utc[1:] == in_tokyo[1:] == [fit.APPROXIMATE]
    assert in_utc[0] != in_tokyo[0]


@needs_corpus
def test_the_corpus_files_in_power_on_time_carry_the_note():
    """antfs-dump.63.fit and compressed-speed-distance.fit: relative times, no correlation."""
    noted = []
    for entry in json.loads((CORPUS / "reference.json").read_text()):
        sessions = entry["fitparse_1_2_0"].get("sessions") or []
        if any(not isinstance(s["start_time"], str) for s in sessions):
            data = (CORPUS / entry["path"]).read_bytes()
            assert fit.APPROXIMATE in fit.decode(data).notes, entry["path"]
            noted.append(entry["path"])
    assert len(noted) >= 2
