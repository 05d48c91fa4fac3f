"""GPX and TCX import (shoetrack/adapters/gpxtcx.py).

Generated files (tests/trackgen.py) pin the rules: start, distance, sport, hints,
notes, several activities. Hostile XML (billion laughs, external entities, DTDs,
malformed, empty, oversized) and random mutations must end as a DecodedFile or a
TrackError with a one-line reason, never anything else. The real files of
../shared/gpx-tcx-corpus, when present, are compared with its reference.json,
and each odd one says what shoetrack does with it and why.
"""

from __future__ import annotations

import gzip
import json
import math
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoetrack.adapters.gpxtcx import GENERIC_NOTE, Hint, NotAnActivity, TrackError, decode
from shoetrack.core.models import DecodedFile
from tests.trackgen import START, Activity, Lap, gpx, laps_of, line, tcx

UTC = timezone.utc


def refused(data: bytes, kind=TrackError) -> str:
    """The one-line reason decode gives for refusing `data` (NotAnActivity only when asked)."""
    with pytest.raises(TrackError) as caught:
        decode(data)
    assert type(caught.value) is kind, (type(caught.value), caught.value)
    reason = str(caught.value)
    assert reason and "\n" not in reason and "Traceback" not in reason and len(reason) < 200, reason
    return reason


def only(decoded: DecodedFile):
    assert decoded.file_type == "activity" and len(decoded.sessions) == 1
    return decoded.sessions[0]


# -- generated GPX ---------------------------------------------------------------

def test_gpx_start_distance_and_times():
    points = line(5000, points=101, step_s=12, climb_m=40)
    decoded = decode(gpx(points, sport="running", creator="Forerunner 965"))
    session = only(decoded)
    assert decoded.format == "gpx" and decoded.product == "Forerunner 965" and decoded.notes == ()
    assert decoded.manufacturer is None
    assert session.start_time == START and session.start_time.tzinfo is not None
    assert session.distance_m == pytest.approx(5000, rel=0.01)  # gpxpy length_2d of a straight line
    assert session.elapsed_s == 1200 and session.timer_s is None and session.avg_hr is None
    assert session.ascent_m == pytest.approx(40, abs=1)
    assert (session.sport, session.sub_sport, session.derived) == ("running", None, False)


def test_gpx_segments_and_tracks_are_summed_without_the_gaps():
    first, second = line(1000, points=11), line(2000, points=21, start_lat=47.0)
    session = only(decode(gpx([], segments=[first, second], tracks=2, sport="Run")))
    # two tracks of the same two segments: 2 x (1 + 2) km, the jumps between segments not counted
    assert session.distance_m == pytest.approx(6000, rel=0.01)
    assert session.start_time == START


@pytest.mark.parametrize("style", ["Z", "ms", "ns", "naive", "+02:00", "-05:30"])
def test_gpx_times_in_every_iso_form_mean_the_same_instant(style):
    moment = START + timedelta(microseconds=250_000) if style in ("ms", "ns") else START
    session = only(decode(gpx(line(1000), moment, sport="running", times=style)))
    assert session.start_time == moment and session.start_time.utcoffset() == timedelta(0)
    assert session.elapsed_s == pytest.approx(500)


def test_gpx_start_is_the_first_timed_point_in_document_order():
    points = line(1000, points=11)
    points = [(lat, lon, None if i < 3 else t, ele) for i, (lat, lon, t, ele) in enumerate(points)]
    session = only(decode(gpx(points, sport="running")))
    assert session.start_time == START + timedelta(seconds=30)
    assert session.elapsed_s == 70
    assert session.distance_m == pytest.approx(1000, rel=0.01)  # untimed points still count


@pytest.mark.parametrize("written, sport, sub_sport", [
    ("running", "running", None), ("Run", "running", None), ("RUNNING", "running", None),
    ("9", "running", None), (" run ", "running", None),
    ("trail_running", "running", "trail"), ("Trail Run", "running", "trail"), ("TrailRun", "running", "trail"),
    ("treadmill_running", "running", "treadmill"),
    ("cycling", "cycling", None), ("biking", "cycling", None), ("Ride", "cycling", None), ("1", "cycling", None),
    ("mountain_biking", "cycling", "mountain"),
    ("walking", "walking", None), ("Walk", "walking", None), ("10", "walking", None),
    ("hiking", "hiking", None), ("hike", "hiking", None), ("4", "hiking", None),
    ("swimming", "swimming", None), ("Swim", "swimming", None),
])
def test_gpx_sport_words_map_to_fit_names(written, sport, sub_sport):
    decoded = decode(gpx(line(1000), sport=written))
    assert (only(decoded).sport, only(decoded).sub_sport) == (sport, sub_sport)
    assert decoded.notes == ()


def test_no_sport_anywhere_is_generic_with_a_note_never_a_guessed_run():
    decoded = decode(gpx(line(5000), creator="Garmin Forerunner 255"))  # a running watch, still no guess
    assert (only(decoded).sport, only(decoded).sub_sport) == ("generic", None)
    assert decoded.notes == (GENERIC_NOTE,)
    assert "generic" in GENERIC_NOTE and "\n" not in GENERIC_NOTE


def test_an_unknown_sport_word_is_generic_and_the_note_names_it():
    decoded = decode(gpx(line(1000), sport="the category"))
    assert only(decoded).sport == "generic"
    assert len(decoded.notes) == 1 and "'the category'" in decoded.notes[0] and "generic" in decoded.notes[0]


def test_the_hint_sport_is_used_only_when_the_file_has_none():
    hint = Hint(sport="running", sub_sport="trail", source="Strava")
    untyped = decode(gpx(line(1000)), hint)
    assert (only(untyped).sport, only(untyped).sub_sport) == ("running", "trail") and untyped.notes == ()
    unknown = decode(gpx(line(1000), sport="the category"), hint)
    assert (only(unknown).sport, only(unknown).sub_sport) == ("running", "trail")
    ride = decode(gpx(line(1000), sport="cycling"), hint)
    assert (only(ride).sport, only(ride).sub_sport) == ("cycling", None)  # the file wins
    # the same sport in both: the export's sub-sport (trail, treadmill) completes the file's
    assert only(decode(gpx(line(1000), sport="9"), hint)).sub_sport == "trail"


def test_the_hint_distance_replaces_the_gpx_length():
    assert only(decode(gpx(line(3000)), Hint(distance_m=3120.5))).distance_m == 3120.5
    assert only(decode(gpx(line(3000)), Hint(distance_m=float("nan")))).distance_m == pytest.approx(3000, rel=0.01)
    assert only(decode(gpx(line(3000)), Hint(distance_m=-1))).distance_m == pytest.approx(3000, rel=0.01)


def test_gpx_namespaces_encodings_and_bom_do_not_matter():
    plain = only(decode(gpx(line(1000), sport="running", namespace=False)))
    assert plain.sport == "running" and plain.start_time == START
    prefixed = gpx(line(1000), sport="running").replace(b"<gpx ", b"<g:gpx xmlns:g='http://www.topografix.com/GPX/1/1' ")
    prefixed = prefixed.replace(b"</gpx>", b"</g:gpx>")
    assert decode(prefixed).product == "trackgen"  # children in the default namespace, root prefixed
    latin = gpx(line(1000), sport="running", creator="Montréal Läufer",
                prolog='<?xml version="1.0" encoding="ISO-8859-1"?>\n', encoding="latin-1")
    assert decode(latin).product == "Montréal Läufer"
    assert decode(b"\xef\xbb\xbf" + gpx(line(1000), sport="running")).sessions


def test_gpx_without_times_or_points_is_not_an_activity():
    untimed = [(lat, lon, None) for lat, lon, _, _ in line(1000)]
    assert "route" in refused(gpx(untimed, sport="Run"), NotAnActivity)  # Strava routes look like this
    assert "route" in refused(gpx(line(1000), route=True), NotAnActivity)
    assert "no track points" in refused(gpx([]), NotAnActivity)
    assert "no track points" in refused(b'<gpx version="1.1" creator="x"><wpt lat="1" lon="2"/></gpx>',
                                        NotAnActivity)


@pytest.mark.parametrize("year", [1901, 1989, 2100, 2150])
def test_an_unset_device_clock_cannot_be_dated(year):
    reason = refused(gpx(line(1000), START.replace(year=year), sport="running"))
    assert reason == f"its times are from {year} (the device clock was not set): the run cannot be dated"
    activity = Activity(START.replace(year=year), laps=laps_of(line(1000), 1))
    assert refused(tcx(activity)) == reason


def test_a_track_longer_than_1000_km_has_unreal_positions():
    reason = refused(gpx([(3.0, 14.0, 0), (100.0, 0.0, 1), (200.0, 0.0, 2), (3.0, 14.0, 3)], sport="running"))
    assert reason.startswith("the track is ") and "km long" in reason and "not real" in reason
    # 999 km is accepted (an ultra ride), 1,001 km is not
    assert only(decode(gpx(line(999_000, points=2), sport="cycling"))).distance_m == pytest.approx(999_000, rel=0.01)
    assert "1,001 km long" in refused(gpx(line(1_001_000, points=2), sport="cycling"))
    big_lap = Activity(laps=[Lap(line(1000), distance_m=2_000_000, seconds=600)])
    assert refused(tcx(big_lap)).endswith("2,000 km long, more than any run, ride or hike: its distances are not real")
    # a billion-km track is refused too (not mistaken for a missing distance)
    zigzag = [(80.0 * (-1) ** i, 0.0, i) for i in range(2000)]
    assert "km long" in refused(gpx(zigzag, sport="running"))


def test_positions_gpxpy_cannot_measure_are_refused():
    # gpxpy's haversine meets a math domain error between these (off the globe, antipodal)
    assert refused(gpx([(135.0, 0.0, 0), (45.0, 180.0, 1)])) == "its positions are not real: they cannot be measured"


def test_backwards_times_give_no_elapsed_time():
    points = [(lat, lon, 500 - t, ele) for lat, lon, t, ele in line(1000)]
    session = only(decode(gpx(points, sport="running")))
    assert session.start_time == START + timedelta(seconds=500) and session.elapsed_s is None


def test_gzip_is_not_read_here():
    # un-gzipping is the caller's job (sources.py): here the bytes must be XML
    assert refused(gzip.compress(gpx(line(1000)))).startswith("not readable XML: ")


# -- generated TCX ---------------------------------------------------------------

def test_tcx_laps_give_distance_timer_and_heart_rate():
    points = line(3000, points=61, step_s=10, climb_m=25)
    laps = laps_of(points, 3, hr=[140, 150, 160])
    laps[2].seconds = 400  # a longer last lap weighs more in the mean heart rate
    decoded = decode(tcx(Activity(laps=laps)))
    session = only(decoded)
    assert decoded.format == "tcx" and decoded.product == "Forerunner Test" and decoded.notes == ()
    assert session.start_time == START and session.sport == "running"
    assert session.distance_m == pytest.approx(3000, abs=0.1)  # the laps' sum
    assert [lap.seconds for lap in laps] == [200, 210, 400]
    assert session.timer_s == 810  # the laps' sum
    assert session.elapsed_s == 600  # last trackpoint minus first
    assert session.avg_hr == round((140 * 200 + 150 * 210 + 160 * 400) / 810)
    assert session.ascent_m == pytest.approx(25, abs=1)


@pytest.mark.parametrize("written, sport", [("Running", "running"), ("Biking", "cycling"), ("running", "running")])
def test_tcx_sports(written, sport):
    decoded = decode(tcx(Activity(sport=written, laps=laps_of(line(1000), 1))))
    assert only(decoded).sport == sport and decoded.notes == ()


def test_tcx_other_takes_the_hint_or_is_generic():
    data = tcx(Activity(sport="Other", laps=laps_of(line(1000), 1)))
    alone = decode(data)
    assert only(alone).sport == "generic" and alone.notes == (GENERIC_NOTE,)
    hinted = decode(data, Hint(sport="walking"))
    assert only(hinted).sport == "walking" and hinted.notes == ()


def test_tcx_ignores_the_hint_distance():
    # the laps are the device's own figure; the export's is kept for GPX only
    session = only(decode(tcx(Activity(laps=laps_of(line(2000), 2))), Hint(distance_m=9999)))
    assert session.distance_m == pytest.approx(2000, abs=0.1)


def test_each_tcx_activity_is_a_session():
    run = Activity(START, "Running", laps_of(line(5000), 2))
    ride = Activity(START + timedelta(hours=3), "Biking", laps_of(line(20000, start_lat=47), 1), creator="Edge")
    decoded = decode(tcx(run, ride))
    assert [(s.sport, s.start_time) for s in decoded.sessions] == [
        ("running", START), ("cycling", START + timedelta(hours=3))]
    assert decoded.sessions[1].distance_m == pytest.approx(20000, abs=0.1)
    assert decoded.product == "Forerunner Test"


def test_one_undatable_activity_is_left_out_with_a_note():
    good = Activity(START, "Running", laps_of(line(5000), 1))
    unset = Activity(START.replace(year=1989), "Running", laps_of(line(5000), 1))
    decoded = decode(tcx(unset, good))
    assert [s.start_time for s in decoded.sessions] == [START]
    assert len(decoded.notes) == 1 and decoded.notes[0].startswith("1 of 2 activities left out: its times are from 1989")


def test_tcx_fallbacks_for_start_and_distance():
    points = line(2000, points=21)
    # no lap distance: the last trackpoint's
    lap = Lap(points, seconds=200, point_distances=[i * 100.0 for i in range(21)])
    assert only(decode(tcx(Activity(laps=[lap])))).distance_m == 2000
    # no distances at all: the path through the positions
    assert only(decode(tcx(Activity(laps=[Lap(points, seconds=200)])))).distance_m == pytest.approx(2000, rel=0.01)
    # no trackpoints: the lap's StartTime, then the Id
    empty_lap = Lap([], distance_m=1500, seconds=600, start_s=60)
    session = only(decode(tcx(Activity(laps=[empty_lap]))))
    assert session.start_time == START + timedelta(seconds=60) and session.elapsed_s is None
    assert session.distance_m == 1500 and session.timer_s == 600
    assert only(decode(tcx(Activity(laps=[])))).start_time == START
    assert "no times" in refused(tcx(Activity(laps=[], id_time="not a time")))


def test_tcx_lap_sum_beats_the_last_trackpoint_and_says_so():
    points = line(3495, points=11)
    lap = Lap(points, distance_m=2200, seconds=750, point_distances=[i * 349.5 for i in range(11)])
    decoded = decode(tcx(Activity(laps=[lap])))
    assert only(decoded).distance_m == 2200
    assert decoded.notes == ("its laps add up to 2.20 km while its track says 3.50 km: the laps' distance was kept",)


@pytest.mark.parametrize("bad", ["-5", "NaN", "inf", "1e999", "lots"])
def test_impossible_numbers_become_none(bad):
    lap = Lap(line(1000), distance_m=bad, seconds=bad, avg_hr=None)
    session = only(decode(tcx(Activity(laps=[lap]))))
    assert session.timer_s is None
    assert session.distance_m == pytest.approx(1000, rel=0.01)  # from the positions instead
    for value in (session.distance_m, session.timer_s, session.elapsed_s, session.ascent_m):
        assert value is None or (math.isfinite(value) and value >= 0)


def test_impossible_elevations_are_ignored():
    points = [(lat, lon, t, 1e308 if i == 5 else ele) for i, (lat, lon, t, ele) in enumerate(line(1000, climb_m=30))]
    assert only(decode(gpx(points, sport="running"))).ascent_m == pytest.approx(30, abs=1)
    flat = [(lat, lon, t, None) for lat, lon, t, _ in line(1000)]
    assert only(decode(gpx(flat, sport="running"))).ascent_m is None  # no heights: unknown, not 0


def test_tcx_without_activities_is_not_an_activity():
    assert "course" in refused(tcx(courses=2), NotAnActivity)
    assert "no activity" in refused(tcx(), NotAnActivity)


def test_other_xml_is_not_a_track():
    assert refused(b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>') == (
        "not a GPX or TCX file: the XML root is <kml>")


# -- hostile XML -----------------------------------------------------------------

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<gpx version="1.1" creator="&lol9;"><trk><type>&lol9;</type></trk></gpx>
"""
PASSWD = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<gpx version="1.1" creator="&secret;"><trk><trkseg>
<trkpt lat="46" lon="14"><time>2024-05-01T07:30:00Z</time></trkpt></trkseg></trk></gpx>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE TrainingCenterDatabase SYSTEM "http://127.0.0.1:9/tcx.dtd">
<TrainingCenterDatabase><Activities/></TrainingCenterDatabase>
"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<gpx version="1.1"/>
"""
PLAIN_DTD = b'<?xml version="1.0"?>\n<!DOCTYPE gpx>\n' + gpx(line(1000), prolog="")
DTD_REASON = "refused: the XML declares a DTD or entities, which activity files never need"


@pytest.mark.parametrize("data", [LAUGHS, PASSWD, EXTERNAL_DTD, PARAMETER_ENTITY, PLAIN_DTD],
                         ids=["billion-laughs", "file-entity", "external-dtd", "parameter-entity", "doctype"])
def test_dtds_and_entities_are_refused(data):
    started = time.monotonic()
    assert refused(data) == DTD_REASON
    assert time.monotonic() - started < 5  # nothing expanded, nothing fetched


@pytest.mark.parametrize("data", [
    b"", b"   \n", b"<", b"<gpx", b"<gpx><trk></gpx>", b"<gpx>\x00</gpx>", b"\xff\xfe<\x00g\x00",
    b'<?xml version="1.0" encoding="no-such-codec"?><gpx/>', b"<gpx>&undefined;</gpx>",
    gpx(line(1000))[:-40], b"<?xml version='1.0'?><a/><b/>", b"not xml at all",
], ids=lambda d: repr(d[:20]))
def test_malformed_xml_is_one_line(data):
    assert refused(data).startswith("not readable XML: ")


def test_oversized_files_are_refused_before_parsing():
    huge = b"<gpx>" + b" " * (32 << 20) + b"</gpx>"
    started = time.monotonic()
    reason = refused(huge)
    assert reason.startswith("too large for an activity file: 32 MiB") and time.monotonic() - started < 1
    del huge


def test_gpxpy_quadratic_regex_input_is_fast():
    # gpxpy.parse spends ~20 s on 0.5 MB of this; the module never hands it text
    data = b"<gpx><trk><name>" + b" xmlns" * 300_000 + b"</name></trk></gpx>"
    started = time.monotonic()
    refused(data, NotAnActivity)
    assert time.monotonic() - started < 5


def test_deep_nesting_is_survived():
    data = b"<gpx>" + b"<a>" * 200_000 + b"</a>" * 200_000 + b"</gpx>"
    assert "no track points" in refused(data, NotAnActivity)


SEEDS = [gpx(line(2000, points=6), sport="running"),
         tcx(Activity(laps=laps_of(line(2000, points=6), 2, hr=[150, 160])))]
TOKENS = [b"<", b">", b"/", b"&", b";", b'"', b"'", b"<!DOCTYPE x [<!ENTITY e 'x'>]>", b"&amp;", b"&#0;",
          b"<trkpt lat='1e999' lon='nan'>", b"<time>1901-01-01T00:00:00Z</time>", b"<Time>9999-12-31T23:59:59-23:59</Time>",
          b"<DistanceMeters>-1</DistanceMeters>", b"</trkseg>", b"<Lap>", b"]]>", b"<![CDATA[", b"\x00", b"\xff",
          b"<?pi?>", b"<!-- -->", b"xmlns:a='b'", b"<Activity Sport='Other'>", b"<type>9</type>"]


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        end = min(len(data), at + draw(st.integers(0, 40)))
        action = draw(st.sampled_from(["delete", "insert", "token", "flip", "duplicate", "truncate"]))
        if action == "delete":
            del data[at:end]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif action == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "duplicate":
            data[at:at] = data[at:end]
        elif action == "truncate":
            del data[at:]
    return bytes(data)


VALUES = ["", " ", "0", "-1", "NaN", "inf", "1e308", "1e999", "-0", "9", "Run", "Other", "Biking", "x" * 300,
          "1901-12-13T20:45:52Z", "2024-05-01T07:30:00", "2024-05-01T07:30:00.123456789+14:00",
          "2024-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "2024-05-01T24:00:00Z",
          "\u00e9t\u00e9", "line\nbreak", "200", "-91", "181"]


@st.composite
def restructured(draw):
    """Well-formed variations of a generated file: values, attributes and elements
    replaced, dropped, duplicated or renamed (what byte mutations rarely reach)."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        elements = list(root.iter())
        element = draw(st.sampled_from(elements))
        action = draw(st.sampled_from(["text", "attribute", "drop", "duplicate", "rename"]))
        if action == "text":
            element.text = draw(st.sampled_from(VALUES))
        elif action == "attribute":
            name = draw(st.sampled_from(["lat", "lon", "Sport", "StartTime", "creator"]))
            element.set(name, draw(st.sampled_from(VALUES)))
        elif action in ("drop", "duplicate"):
            parent = next((e for e in elements if element in list(e)), None)
            if parent is not None:
                if action == "drop":
                    parent.remove(element)
                else:
                    parent.insert(list(parent).index(element), element.__copy__())
        elif action == "rename":
            element.tag = draw(st.sampled_from(["trk", "trkseg", "trkpt", "time", "type", "rte", "rtept",
                                                "Activity", "Lap", "Trackpoint", "Time", "Course", "x"]))
    return ElementTree.tostring(root)


@pytest.mark.fuzz
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(), restructured()), st.sampled_from([None, Hint(sport="running", distance_m=1000.0)]))
def test_mutations_give_a_decoded_file_or_a_one_line_track_error(data, hint):
    try:
        decoded = decode(data, hint)
    except TrackError as exc:
        reason = str(exc)
        assert reason and "\n" not in reason and len(reason) < 300
        return
    assert isinstance(decoded, DecodedFile) and decoded.sessions and decoded.format in ("gpx", "tcx")
    assert all(isinstance(n, str) and n and "\n" not in n for n in decoded.notes)
    for session in decoded.sessions:
        assert session.start_time.utcoffset() == timedelta(0)
        assert datetime(1990, 1, 1, tzinfo=UTC) <= session.start_time < datetime(2100, 1, 1, tzinfo=UTC)
        assert isinstance(session.sport, str) and session.sport
        for value in (session.distance_m, session.timer_s, session.elapsed_s, session.ascent_m):
            assert value is None or (math.isfinite(value) and 0 <= value < 1e9)
        assert session.distance_m is None or session.distance_m <= 1_000_000
        assert session.avg_hr is None or (isinstance(session.avg_hr, int) and 0 < session.avg_hr < 300)


# -- the real corpus -------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "gpx-tcx-corpus"
needs_corpus = pytest.mark.skipif(not (CORPUS / "reference.json").is_file(),
                                  reason="../shared/gpx-tcx-corpus is not present: real-file checks skipped")
MOJSTROVKA = "gpxpy--test_files_Mojstrovka.gpx"
WITHOUT_TIMES = "gpxpy--test_files_cerknicko-without-times.gpx"
EMPTY_SEGMENT = "gpxpy--test_files_track-with-empty-segment.gpx"
BOM = "gpxpy--test_files_unicode_with_bom.gpx"
OPENTRACKS = "OpenTracks--src_androidTest_res_raw_legacy_gpx_pause_resume.gpx"
STRAVA_ROUTE = "gpx--tests_fixtures_strava_route_example.gpx"
SLITHER_TCX = "slither--test_data_running.tcx"
GARMIN_SWIM_1989 = "connectstats--ConnectStatsTests_samples_tcx_activity_217470507.tcx"
GPX_RUNS = {  # the six GPX runs of the corpus README, with the sport each file states
    "gpx--tests_fixtures_garmin-activity.gpx": "running",  # Garmin Connect: type running
    "workoutizer--tests_data_garmin_example.gpx": "running",  # Garmin Connect: type running
    "runpandas--runpandas_tests_io_data_gpx_strava_export.gpx": "running",  # Strava: type 9
    "runpandas--runpandas_tests_io_data_gpx_nike_run.gpx": "generic",  # Nike Run Club via gpx.py: no type
    "runpandas--runpandas_tests_io_data_gpx_run.gpx": "generic",  # TomTom: no type
    "slither--test_data_running.gpx": "generic",  # Polar M400: no type
}


def reference() -> dict:
    return json.loads((CORPUS / "reference.json").read_text())["files"]


def corpus_file(name: str) -> bytes:
    return (CORPUS / "files" / name).read_bytes()


def datable(ref: dict) -> bool:
    """What the reference says a careful reader can import: timed points, a set clock,
    positions on the earth."""
    return (bool(ref["points_with_time"]) and "1990" <= ref["start_time"][:4] < "2100"
            and (ref["distance_m"] or 0) <= 1_000_000)


@pytest.mark.corpus
@needs_corpus
def test_every_corpus_file_matches_the_reference():
    imported = set()
    for name, ref in reference().items():
        assert ref["ok"], name
        if not datable(ref):
            with pytest.raises(TrackError):
                decode(corpus_file(name))
            continue
        decoded = decode(corpus_file(name))
        imported.add(name)
        assert decoded.format == ref["format"], name
        assert len(decoded.sessions) == (ref["activities"] if ref["format"] == "tcx" else 1), name
        session = decoded.sessions[0]
        start = datetime.fromisoformat(ref["start_time"].replace("Z", "+00:00"))
        assert abs((session.start_time - start).total_seconds()) <= 1, name
        # TCX: the laps' sum; GPX: gpxpy's length_2d of all tracks
        assert session.distance_m == pytest.approx(ref["distance_m"], rel=0.01), name
        assert session.elapsed_s == pytest.approx(ref["elapsed_s"], abs=1), name
        if ref["format"] == "tcx":
            assert session.timer_s == pytest.approx(ref["timer_s"], abs=1), name
            assert decoded.product == ref["creator"], name
        for value in (session.distance_m, session.timer_s, session.elapsed_s, session.ascent_m):
            assert value is None or (math.isfinite(value) and value >= 0), name
    not_imported = set(reference()) - imported
    assert not_imported == {MOJSTROVKA, BOM, OPENTRACKS, STRAVA_ROUTE, GARMIN_SWIM_1989}
    assert len(imported) == 35


@pytest.mark.corpus
@needs_corpus
def test_mojstrovka_1901_fails_the_clock_was_not_set():
    # GPSBabel wrote 1901-12-13 (the 32-bit epoch's floor) for every point: no date to file the run under
    assert refused(corpus_file(MOJSTROVKA)) == (
        "its times are from 1901 (the device clock was not set): the run cannot be dated")


@pytest.mark.corpus
@needs_corpus
def test_connectstats_garmin_swim_of_1989_fails_the_clock_was_not_set():
    # 1989-12-31 is the FIT epoch: a Garmin Swim that never learnt the date
    assert refused(corpus_file(GARMIN_SWIM_1989)).startswith("its times are from 1989 (the device clock was not set)")


@pytest.mark.corpus
@needs_corpus
def test_cerknicko_with_5_timed_points_is_imported_from_its_first_timed_point():
    ref = reference()[WITHOUT_TIMES]
    assert (ref["points"], ref["points_with_time"]) == (296, 5)
    session = only(decode(corpus_file(WITHOUT_TIMES)))
    assert session.start_time == datetime.fromisoformat(ref["start_time"].replace("Z", "+00:00"))
    assert session.distance_m == pytest.approx(ref["distance_m"], rel=0.01)  # every point, timed or not
    assert session.elapsed_s == ref["elapsed_s"]


@pytest.mark.corpus
@needs_corpus
def test_a_track_with_an_empty_segment_is_imported():
    ref = reference()[EMPTY_SEGMENT]
    assert ref["empty_segments"] >= 1
    session = only(decode(corpus_file(EMPTY_SEGMENT)))
    assert session.distance_m == pytest.approx(ref["distance_m"], rel=0.01) and session.sport == "generic"


@pytest.mark.corpus
@needs_corpus
def test_a_gpx_with_a_bom_and_no_points_is_skipped():
    # the BOM is read like any UTF-8 file's; there is simply nothing recorded
    assert refused(corpus_file(BOM), NotAnActivity) == "no track points: nothing was recorded"


@pytest.mark.corpus
@needs_corpus
def test_opentracks_pause_resume_39500_km_fails_its_positions_are_not_real():
    # latitudes 100 and 200 (off the globe) stand in the track: gpxpy measures 39,507 km
    assert refused(corpus_file(OPENTRACKS)) == (
        "the track is 39,507 km long, more than any run, ride or hike: its positions are not real")


@pytest.mark.corpus
@needs_corpus
def test_a_strava_route_without_times_is_skipped():
    # type Run, 113 untimed track points: a planned course, nothing was run
    assert reference()[STRAVA_ROUTE]["points_with_time"] == 0
    assert "route" in refused(corpus_file(STRAVA_ROUTE), NotAnActivity)


@pytest.mark.corpus
@needs_corpus
def test_slither_tcx_takes_the_lap_sum_not_the_last_trackpoint():
    # The lap says 2200 m, the last Trackpoint 3495 m. In the TCX schema the Lap's
    # DistanceMeters is the device's total for the lap, so the lap sum is kept,
    # and the runner is told of the disagreement.
    decoded = decode(corpus_file(SLITHER_TCX))
    assert only(decoded).distance_m == 2200 and only(decoded).sport == "running"
    assert decoded.notes == ("its laps add up to 2.20 km while its track says 3.50 km: the laps' distance was kept",)


@pytest.mark.corpus
@needs_corpus
def test_the_sports_of_the_16_runs():
    refs = reference()
    tcx_runs = [n for n, r in refs.items() if r["format"] == "tcx" and (r["sport"] or "").lower() == "running"]
    assert len(tcx_runs) == 10 and len(GPX_RUNS) == 6
    for name in tcx_runs:
        assert {s.sport for s in decode(corpus_file(name)).sessions} == {"running"}, name
    for name, sport in GPX_RUNS.items():
        decoded = decode(corpus_file(name))
        assert only(decoded).sport == sport, name
        assert (decoded.notes == (GENERIC_NOTE,)) == (sport == "generic"), name
        # a Strava export's activities.csv saying Run fills the gap, never overrides a stated sport
        assert only(decode(corpus_file(name), Hint(sport="running", source="Strava"))).sport == "running", name


@pytest.mark.corpus
@needs_corpus
def test_other_sports_are_never_runs():
    for name, ref in reference().items():
        if datable(ref) and ref["sport"] in ("Other", "Biking", "cycling"):
            sports = {s.sport for s in decode(corpus_file(name)).sessions}
            assert sports == ({"generic"} if ref["sport"] == "Other" else {"cycling"}), name
