"""Reading the manifests of Strava and Garmin bulk exports (shoetrack.adapters.exports)."""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoetrack.adapters.exports import Export, ExportError, garmin, parse_time, strava
from tests import exportgen

ROOT = Path(__file__).resolve().parents[1]
UTC = timezone.utc
AUG20 = datetime(2026, 8, 20, 11, 1, 45, tzinfo=UTC)
SHOES = exportgen.strava_shoes_csv([
    {"name": "Zippy", "brand": "Nike", "model": "Pegasus 40"},
    {"name": "", "brand": "Hoka", "model": "Clifton 9"},
])


def one(rows: list[dict], shoes: bytes | None = SHOES, **header) -> Export:
    return strava(exportgen.strava_activities_csv(rows, **header), shoes)


def by_id(export: Export) -> dict:
    return {activity.activity_id: activity for activity in export.activities}


# ------------------------------------------------------------------ Strava columns and values

def test_a_strava_run_is_read_from_the_first_of_the_repeated_columns():
    export = one([{"id": 1, "date": AUG20, "type": "Run", "gear": "Zippy",
                   "filename": "activities/1.fit.gz", "km": 10.02, "seconds": 3010}])
    assert export.source == "Strava" and export.skipped_rows == 0
    (run,) = export.activities
    # the second Distance holds 10020.0 metres and would give 10,020 km if read
    assert run.distance_m == pytest.approx(10020.0)
    assert run.elapsed_s == 3010.0
    assert (run.activity_id, run.start_time, run.sport, run.sub_sport) == ("1", AUG20, "running", None)
    assert run.start_time.tzinfo is UTC
    assert (run.shoe, run.filename) == ("Zippy", "activities/1.fit.gz")


def test_columns_are_found_by_name_in_any_order_and_optional_ones_may_be_missing():
    header = ("Distance", "Activity Type", "Activity Date", "Activity ID", "Distance")
    export = one([{"id": 5, "km": 5.0}], header=header)
    (run,) = export.activities
    assert (run.distance_m, run.elapsed_s, run.shoe, run.filename) == (5000.0, None, None, None)
    bare = strava(b"activity id, ACTIVITY DATE ,Activity Type\n7,2026-08-20 11:01:45,Walk\n", None)
    assert by_id(bare)["7"].sport == "walking"


def test_numbers_with_thousands_separators_are_read_and_nonsense_is_none():
    rows = [{"id": 1, "km": "1,234.50", "seconds": "3,600"}, {"id": 2, "km": "-3", "seconds": "inf"},
            {"id": 3, "km": "1000000", "seconds": "nan"}, {"id": 4, "km": "12,5", "seconds": "1e3"},
            {"id": 5, "km": "", "seconds": ""}, {"id": 6, "km": "999999.9", "seconds": "0"}]
    got = {key: (a.distance_m, a.elapsed_s) for key, a in by_id(one(rows)).items()}
    assert got == {"1": (1234500.0, 3600.0), "2": (None, None), "3": (None, None),
                   "4": (None, 1000.0), "5": (None, None), "6": (pytest.approx(999999900.0), 0.0)}


@pytest.mark.parametrize("kind, sport, sub_sport", [
    ("Run", "running", None), ("Trail Run", "running", "trail"), ("Virtual Run", "running", "virtual_activity"),
    ("Treadmill", "running", "treadmill"), ("Walk", "walking", None), ("Hike", "hiking", None),
    ("Ride", "cycling", None), ("Virtual Ride", "cycling", "virtual_activity"), ("Swim", "swimming", None),
    ("Workout", "training", None), ("Weight Training", "training", "strength_training"),
    ("Elliptical", "fitness_equipment", "elliptical"), ("Rowing", "rowing", None),
    ("Yoga", "training", "yoga"), ("Golf", "golf", None), ("Kitesurf", "kitesurfing", None),
    ("Underwater Basket Weaving", "generic", None), ("", "generic", None), ("  trail   RUN ", "running", "trail"),
])
def test_strava_activity_types_become_fit_sport_names(kind, sport, sub_sport):
    (activity,) = one([{"id": 1, "type": kind}]).activities
    assert (activity.sport, activity.sub_sport) == (sport, sub_sport)


def test_manual_entries_have_no_filename_and_paths_cannot_climb_out():
    rows = [{"id": 1, "filename": ""}, {"id": 2, "filename": "activities/2.gpx"},
            {"id": 3, "filename": "activities/3.tcx.gz"}, {"id": 4, "filename": "../../etc/passwd"},
            {"id": 5, "filename": "/etc/passwd"}, {"id": 6, "filename": "activities\\6.gpx.gz"}]
    assert {k: a.filename for k, a in by_id(one(rows)).items()} == {
        "1": None, "2": "activities/2.gpx", "3": "activities/3.tcx.gz", "4": None, "5": None,
        "6": "activities/6.gpx.gz"}


def test_unreadable_rows_are_skipped_and_counted_blank_lines_are_not():
    data = exportgen.strava_activities_csv([{"id": 1}, {"id": 2, "date": "yesterday"}, {"id": "", "date": AUG20},
                                            {"id": 4, "date": ""}, {"id": 1, "type": "Ride"}])
    export = strava(data + b"\n\n", None)
    assert [a.activity_id for a in export.activities] == ["1"]  # a repeated id keeps its first row
    assert export.activities[0].sport == "running"
    assert export.skipped_rows == 3


def test_short_rows_are_read_with_what_they_have():
    export = strava(b"Activity ID,Activity Date,Activity Type,Distance\n1,2026-08-20,Run\n", None)
    (run,) = export.activities
    assert (run.start_time, run.distance_m) == (datetime(2026, 8, 20, tzinfo=UTC), None)


# ------------------------------------------------------------------ Strava dates

@pytest.mark.parametrize("text, expected", [
    ("Aug 20, 2026, 11:01:45 AM", AUG20),
    ("Aug 20, 2026, 11:01:45 PM", datetime(2026, 8, 20, 23, 1, 45, tzinfo=UTC)),
    ("Aug 20, 2026, 12:01:45 AM", datetime(2026, 8, 20, 0, 1, 45, tzinfo=UTC)),
    ("Aug 20, 2026, 12:01:45 PM", datetime(2026, 8, 20, 12, 1, 45, tzinfo=UTC)),
    ("Aug 20, 2026 11:01:45 AM", AUG20),
    ("Aug 20, 2026, 11:01:45\u202fam", AUG20),  # ICU's narrow no-break space
    ("August 20, 2026, 11:01:45 a.m.", AUG20),
    ("Sept 3, 2026, 7:00:00 AM", datetime(2026, 9, 3, 7, tzinfo=UTC)),
    ("20 Aug 2026, 11:01:45", AUG20),
    ("20 Aug 2026 23:01", datetime(2026, 8, 20, 23, 1, tzinfo=UTC)),
    ("2026-08-20 11:01:45", AUG20),
    ("2026-08-20T11:01:45Z", AUG20),
    ("2026-08-20T13:01:45+02:00", AUG20),
    ("2026-08-20", datetime(2026, 8, 20, tzinfo=UTC)),
])
def test_strava_dates_are_read_as_utc(text, expected):
    assert parse_time(text) == expected and parse_time(text).tzinfo == UTC


@pytest.mark.parametrize("text", [
    "", "yesterday", "Aug 32, 2026, 11:01:45 AM", "Foo 20, 2026, 11:01:45 AM", "Aug 20, 2026, 13:01:45 PM",
    "Aug 20, 2026, 0:01:45 AM", "Aug 20, 2026, 24:00:00", "20.08.2026, 11:01:45", "2026-02-30 10:00:00",
    "2026-08-20 11:01:45 AM", "Ago 20, 2026, 11:01:45", "20 août 2026, 11:01:45",
    "9999-12-31T23:00:00-05:00",  # past the last year a datetime holds, once in UTC
])
def test_dates_that_cannot_be_read_are_none(text):
    assert parse_time(text) is None


def test_dates_never_depend_on_the_locale():
    tree = ast.parse((ROOT / "shoetrack/adapters/exports.py").read_text())
    names = {node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None) for node in ast.walk(tree)}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names} | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not names & {"strptime", "strftime", "setlocale"} and "locale" not in imported


def test_dates_read_the_same_under_a_foreign_locale():
    script = ("import locale, sys\n"
              "for name in ('de_DE.UTF-8', 'fr_FR.UTF-8', 'ja_JP.UTF-8', 'de_DE.utf8', 'fr_FR.utf8'):\n"
              "    try:\n        locale.setlocale(locale.LC_ALL, name); break\n"
              "    except locale.Error: pass\n"
              "else:\n    print('none'); sys.exit()\n"
              "from shoetrack.adapters.exports import parse_time\n"
              "print(parse_time('Aug 20, 2026, 11:01:45 PM').isoformat())\n")
    env = {**os.environ, "LC_ALL": "de_DE.UTF-8", "LC_TIME": "de_DE.UTF-8"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout.strip()
    if out == "none":
        pytest.skip("no foreign locale installed on this machine")
    assert out == "2026-08-20T23:01:45+00:00"


# ------------------------------------------------------------------ Strava shoes

def test_strava_shoes_are_named_by_nickname_or_brand_and_model():
    export = one([])
    assert [(s.name, s.brand, s.model, s.gear_id, s.retired, s.limit_km) for s in export.shoes] == [
        ("Zippy", "Nike", "Pegasus 40", "Zippy", False, None),
        ("Hoka Clifton 9", "Hoka", "Clifton 9", "Hoka Clifton 9", False, None)]


def test_activity_gear_matches_by_nickname_or_brand_and_model_case_insensitively_and_bikes_are_ignored():
    rows = [{"id": 1, "gear": "Zippy"}, {"id": 2, "gear": "ZIPPY"}, {"id": 3, "gear": "nike pegasus 40"},
            {"id": 4, "gear": "Hoka Clifton 9"}, {"id": 5, "gear": "Trek Domane", "type": "Ride"},
            {"id": 6, "gear": ""}, {"id": 7, "gear": "Nike"}]
    export = one(rows)
    assert {k: a.shoe for k, a in by_id(export).items()} == {
        "1": "Zippy", "2": "Zippy", "3": "Zippy", "4": "Hoka Clifton 9", "5": None, "6": None, "7": None}
    assert "Trek Domane" not in {s.name for s in export.shoes}
    assert all(a.shoe is None for a in one(rows, shoes=None).activities)


def test_a_nickname_wins_over_another_pairs_brand_and_model_and_clashing_pairs_are_not_guessed():
    shoes = exportgen.strava_shoes_csv([
        {"name": "Nike Pegasus 40", "brand": "Hoka", "model": "Mach 5"},  # nickname = another's make
        {"name": "", "brand": "Nike", "model": "Pegasus 40"},
        {"name": "Twin", "brand": "Asics", "model": "Novablast"}, {"name": "twin", "brand": "Asics", "model": "Nimbus"},
        {"name": "", "brand": "", "model": ""},
    ])
    export = one([{"id": 1, "gear": "Nike Pegasus 40"}, {"id": 2, "gear": "Twin"}, {"id": 3, "gear": "Hoka Mach 5"}],
                 shoes=shoes)
    assert [s.name for s in export.shoes] == ["Nike Pegasus 40", "Nike Pegasus 40 (2)", "Twin", "twin (2)"]
    assert {k: a.shoe for k, a in by_id(export).items()} == {"1": None, "2": None, "3": "Nike Pegasus 40"}
    assert export.skipped_rows == 1  # the shoe with no name at all


def test_shoes_csv_may_be_empty_or_header_only_but_not_another_file():
    assert one([{"id": 1}], shoes=b"").shoes == ()
    assert one([{"id": 1}], shoes=exportgen.strava_shoes_csv([])).shoes == ()
    with pytest.raises(ExportError, match=r"^shoes\.csv: no 'Shoe Name' column"):
        one([], shoes=b"Name,Brand\nx,y\n")


def test_encodings_bom_and_latin1():
    shoes = "Shoe Name,Shoe Brand,Shoe Model\nCaf\u00e9,Saucony,Ride\n"
    activities = exportgen.strava_activities_csv([{"id": 1, "gear": "Caf\u00e9"}])
    export = strava(b"\xef\xbb\xbf" + activities, shoes.encode("latin-1"))
    assert export.activities[0].shoe == "Caf\u00e9"
    latin = strava(activities.decode().encode("latin-1"), ("\ufeff" + shoes).encode("utf-8"))
    assert latin.activities[0].shoe == "Caf\u00e9"


# ------------------------------------------------------------------ Strava errors

@pytest.mark.parametrize("drop", ["Activity ID", "Activity Date", "Activity Type"])
def test_a_missing_required_column_is_one_line_naming_it(drop):
    header = tuple(name for name in exportgen.STRAVA_HEADER if name != drop)
    with pytest.raises(ExportError) as caught:
        one([{"id": 1}], header=header)
    message = str(caught.value)
    assert message == f"activities.csv: no '{drop}' column; is this a Strava export?"


@pytest.mark.parametrize("data", [
    b"", b"\x00\x01\x02\xff\xfe garbage \x89PNG\r\n\x1a\n", b"PK\x03\x04" + bytes(range(256)) * 4,
    b"[{\"gearDTOS\": []}]", b"a" * 200_000, b"Activity ID,Activity Date,Activity Type\n1,\"" + b"x" * 200_000 + b"\"\n",
])
def test_garbage_is_an_export_error_of_one_line(data):
    with pytest.raises(ExportError) as caught:
        strava(data, None)
    assert str(caught.value).startswith("activities.csv: ") and "\n" not in str(caught.value)


def test_several_missing_columns_are_named_together():
    with pytest.raises(ExportError, match=r"no 'Activity ID', 'Activity Type' columns"):
        strava(b"Activity Date\n2026-08-20\n", None)


# ------------------------------------------------------------------ Garmin

GEAR = [
    {"pk": 101, "name": "Daily", "make": "Nike Pegasus 40", "max_m": 800_000.0},
    {"pk": 102, "name": None, "make": "Hoka Clifton 9", "status": "retired", "end": "2026-06-01T00:00:00.0"},
    {"pk": 103, "name": "Old faithful", "make": "Brooks", "status": "retired", "end": None, "begin": "2025-01-02"},
    {"pk": 104, "name": None, "make": "", "type": "shoes", "max_m": 0.0, "begin": None},
    {"pk": 201, "name": "Commuter", "make": "Trek FX", "type": "Bike"},
]


def test_garmin_shoes_and_their_fields():
    export = garmin([exportgen.garmin_gear_json(GEAR, {})], [])
    assert export.source == "Garmin" and export.activities == () and export.skipped_rows == 0
    shoes = {shoe.gear_id: shoe for shoe in export.shoes}
    assert set(shoes) == {"101", "102", "103", "104"}  # the bike is no pair
    daily, clifton, faithful, unnamed = shoes["101"], shoes["102"], shoes["103"], shoes["104"]
    assert (daily.name, daily.brand, daily.model, daily.limit_km, daily.since, daily.retired) == (
        "Daily", "Nike", "Pegasus 40", 800.0, date(2026, 1, 1), False)
    assert (clifton.name, clifton.brand, clifton.model, clifton.retired, clifton.retired_on) == (
        "Hoka Clifton 9", None, None, True, date(2026, 6, 1))
    assert (faithful.brand, faithful.model, faithful.retired, faithful.retired_on, faithful.since) == (
        None, "Brooks", True, None, date(2025, 1, 2))
    assert (unnamed.name, unnamed.limit_km, unnamed.since) == ("Garmin gear 104", None, None)


def test_garmin_activities_units_and_the_pair_worn():
    gear = exportgen.garmin_gear_json(GEAR, {"101": [1, 2], "201": [3], "102": [4]})
    start = datetime(2026, 8, 20, 6, 30, 15, 250_000, tzinfo=UTC)
    summaries = exportgen.garmin_summaries_json([
        {"id": 1, "start": start, "type": "running", "km": 10.5, "seconds": 3150.5},
        {"id": 2, "type": "trail_running"}, {"id": 3, "type": "road_biking", "km": 40},
        {"id": 4, "type": "treadmill_running", "km": None, "seconds": None}, {"id": 5, "type": "strength_training"},
    ])
    export = garmin([gear], [summaries])
    got = by_id(export)
    run = got["1"]
    assert run.start_time == start and run.start_time.tzinfo == UTC
    assert (run.distance_m, run.elapsed_s, run.shoe, run.filename) == (pytest.approx(10500.0), 3150.5, "Daily", None)
    assert {k: (a.sport, a.sub_sport, a.shoe) for k, a in got.items()} == {
        "1": ("running", None, "Daily"), "2": ("running", "trail", "Daily"), "3": ("cycling", "road", None),
        "4": ("running", "treadmill", "Hoka Clifton 9"), "5": ("training", "strength_training", None)}
    assert (got["4"].distance_m, got["4"].elapsed_s) == (None, None)


@pytest.mark.parametrize("kind, sport, sub_sport", [
    ("track_running", "running", "track"), ("walking", "walking", None), ("hiking", "hiking", None),
    ("cycling", "cycling", None), ("lap_swimming", "swimming", "lap_swimming"),
    ("indoor_cardio", "training", "cardio_training"), ("open_water_swimming", "swimming", "open_water"),
    ("something_new", "generic", None), ({"typeKey": "trail_running", "typeId": 6}, "running", "trail"), (None, "generic", None),
])
def test_garmin_activity_types_become_fit_sport_names(kind, sport, sub_sport):
    (activity,) = garmin([], [exportgen.garmin_summaries_json([{"id": 1, "type": kind}])]).activities
    assert (activity.sport, activity.sub_sport) == (sport, sub_sport)


def test_garmin_prefers_elapsed_duration_and_falls_back_to_begin_timestamp():
    entries = [{"id": 9, "seconds": 3000, "elapsedDuration": 3300_000.0, "startTimeGmt": None},
               {"id": 10, "seconds": 3000, "elapsedDuration": None}, {"id": 11, "seconds": 3000}]
    loaded = json.loads(exportgen.garmin_summaries_json(entries))
    del loaded[0]["summarizedActivitiesExport"][2]["startTimeGmt"]
    got = by_id(garmin([], [json.dumps(loaded).encode()]))
    assert {k: (a.elapsed_s, a.start_time) for k, a in got.items()} == {
        "9": (3300.0, AUG20), "10": (3000.0, AUG20), "11": (3000.0, AUG20)}


def test_several_garmin_files_are_concatenated():
    gear = [exportgen.garmin_gear_json(GEAR[:1], {"101": [1]}),
            exportgen.garmin_gear_json(GEAR[1:2] + GEAR[:1], {"102": [2]})]
    summaries = [exportgen.garmin_summaries_json([{"id": 1}, {"id": 2, "km": 5}]),
                 exportgen.garmin_summaries_json([{"id": 2, "km": 7}, {"id": 3}]), b"[]"]
    export = garmin(gear, summaries)
    assert [s.gear_id for s in export.shoes] == ["101", "102"]
    assert {k: (a.shoe, a.distance_m) for k, a in by_id(export).items()} == {
        "1": ("Daily", 10000.0), "2": ("Hoka Clifton 9", 5000.0), "3": (None, 10000.0)}


def test_garmin_pairs_of_the_same_name_are_told_apart_and_shared_activities_are_not_guessed():
    gear = exportgen.garmin_gear_json([{"pk": 1, "name": "Pegasus"}, {"pk": 2, "name": "pegasus", "status": "retired"}],
                                      {"1": [10, 11], "2": [11, 12]})
    export = garmin([gear], [exportgen.garmin_summaries_json([{"id": 10}, {"id": 11}, {"id": 12}])])
    assert [s.name for s in export.shoes] == ["Pegasus", "pegasus (2)"]
    assert {k: a.shoe for k, a in by_id(export).items()} == {"10": "Pegasus", "11": None, "12": "pegasus (2)"}


def test_garmin_bad_entries_are_skipped_and_counted():
    gear = json.loads(exportgen.garmin_gear_json(GEAR[:1], {"101": [1, 2, 99], "201": [98]}))
    gear[0]["gearDTOS"] += ["nonsense", {"displayName": "no pk"}, {"gearPk": True}]
    gear[0]["gearActivityDTOs"]["101"].append({"activityId": None})
    summaries = json.loads(exportgen.garmin_summaries_json([{"id": 1}, {"id": 2}, {"id": 3}]))
    summaries[0]["summarizedActivitiesExport"][1]["startTimeGmt"] = "yesterday"  # worn, and counted once
    summaries[0]["summarizedActivitiesExport"] += [17, {"startTimeGmt": 1}, {"activityId": 4, "startTimeGmt": -5}]
    export = garmin([json.dumps(gear).encode()], [json.dumps(summaries).encode()])
    assert sorted(by_id(export)) == ["1", "3"]
    # 3 gear entries, 1 link, 4 activities (2 among them), and 99 worn but never summarised (98 was on a bike)
    assert export.skipped_rows == 3 + 1 + 4 + 1


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_garmin_refuses_nan_and_infinity(constant):
    data = exportgen.garmin_summaries_json([{"id": 1, "km": 12345}]).replace(b"1234500000", constant)
    assert constant in data
    with pytest.raises(ExportError, match=r"^Garmin activities file: not valid JSON .*" + constant.decode()):
        garmin([], [data])


def test_garmin_overflowing_numbers_are_none():
    data = exportgen.garmin_summaries_json([{"id": 1, "km": 12345}]).replace(b"1234500000", b"1e400")
    assert garmin([], [data]).activities[0].distance_m is None


@pytest.mark.parametrize("gear, summaries, message", [
    ([b"not json"], [], r"^Garmin gear file: not valid JSON"),
    ([b"\xff\xfe\x00garbage"], [], r"^Garmin gear file: not valid JSON"),
    ([b"[" * 100_000], [], r"^Garmin gear file: not valid JSON"),
    ([b'{"something": 1}'], [], r"^Garmin gear file: no 'gearDTOS' list; is this a Garmin export's gear file\?"),
    ([b"[1, 2]"], [], r"^Garmin gear file: no 'gearDTOS' list"),
    ([b'"text"'], [], r"^Garmin gear file: no 'gearDTOS' list"),
    ([b"[]", b"[{}]"], [], r"^Garmin gear file 2: no 'gearDTOS' list"),
    ([b'[{"gearDTOS": {}}]'], [], r"^Garmin gear file: 'gearDTOS' is not a list"),
    ([b'[{"gearDTOS": [], "gearActivityDTOs": []}]'], [], r"^Garmin gear file: 'gearActivityDTOs' is not a map"),
    ([], [b'[{"summarizedActivitiesExport": 3}]'], r"^Garmin activities file: 'summarizedActivitiesExport' is not a list"),
    ([], [b'[{"gearDTOS": []}]'], r"^Garmin activities file: no 'summarizedActivitiesExport' list"),
])
def test_garmin_files_of_the_wrong_shape_are_one_line_errors(gear, summaries, message):
    with pytest.raises(ExportError, match=message) as caught:
        garmin(gear, summaries)
    assert "\n" not in str(caught.value)


def test_garmin_without_files_is_empty():
    assert garmin([], []) == Export("Garmin", (), (), 0)
    assert garmin([b'[{"gearDTOS": [], "gearActivityDTOs": {}}]'], [b"[]"]) == Export("Garmin", (), (), 0)


# ------------------------------------------------------------------ fuzz: only an Export or an ExportError

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STRAVA_SAMPLE = exportgen.strava_activities_csv([
    {"id": 1, "gear": "Zippy", "filename": "activities/1.fit.gz", "km": "1,234.50"},
    {"id": 2, "date": "2026-08-21 07:00:00", "type": "Ride", "gear": "Trek"}, {"id": 3, "type": "Trail Run"}])
GARMIN_SAMPLE = (exportgen.garmin_gear_json(GEAR, {"101": [1, 2], "201": [3], "103": [7]}),
                 exportgen.garmin_summaries_json([{"id": 1}, {"id": 2, "type": "trail_running"}, {"id": 3}]))


def sane(export: Export) -> None:
    assert isinstance(export, Export) and export.skipped_rows >= 0
    names = [shoe.name for shoe in export.shoes]
    assert len({name.casefold() for name in names}) == len(names)
    for activity in export.activities:
        assert activity.start_time.utcoffset().total_seconds() == 0
        assert activity.shoe is None or activity.shoe in names
        for value in (activity.distance_m, activity.elapsed_s):
            assert value is None or (math.isfinite(value) and value >= 0)


def mutated(data: bytes):
    """`data` with a few bytes replaced, inserted or deleted, or cut short."""
    edit = st.tuples(st.integers(0, len(data)), st.integers(0, 8), st.binary(max_size=8))

    def apply(edits):
        out = bytearray(data)
        for at, delete, insert in edits:
            out[at:at + delete] = insert
        return bytes(out)
    return st.lists(edit, min_size=1, max_size=6).map(apply)


def expect_export_or_error(call) -> None:
    try:
        export = call()
    except ExportError as error:
        assert str(error) and "\n" not in str(error)
    else:
        sane(export)


@FUZZ
@given(st.one_of(st.binary(max_size=2000), mutated(STRAVA_SAMPLE)), st.one_of(st.none(), st.binary(max_size=300), mutated(SHOES)))
def test_fuzz_strava(activities, shoes):
    expect_export_or_error(lambda: strava(activities, shoes))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["gearPk", "displayName", "customMakeModel", "gearTypeName", "gearStatusName", "dateBegin",
                         "dateEnd", "maximumMeters", "activityId", "startTimeGmt", "activityType", "distance",
                         "duration", "elapsedDuration", "gearDTOS", "gearActivityDTOs", "summarizedActivitiesExport",
                         "101", "typeKey"]), children, max_size=6),
    max_leaves=30)


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=500), mutated(GARMIN_SAMPLE[0]),
                          JSON_VALUES.map(lambda v: json.dumps(v).encode())), max_size=3),
       st.lists(st.one_of(mutated(GARMIN_SAMPLE[1]), JSON_VALUES.map(lambda v: json.dumps(v).encode())), max_size=3))
def test_fuzz_garmin(gear, summaries):
    expect_export_or_error(lambda: garmin(gear, summaries))


@FUZZ
@given(st.lists(JSON_VALUES, max_size=4), st.lists(JSON_VALUES, max_size=4))
def test_fuzz_garmin_entries(gear_entries, activity_entries):
    gear = json.loads(GARMIN_SAMPLE[0])
    gear[0]["gearDTOS"] += gear_entries
    gear[0]["gearActivityDTOs"]["101"] += activity_entries
    summaries = json.loads(GARMIN_SAMPLE[1])
    summaries[0]["summarizedActivitiesExport"] += activity_entries + gear_entries
    export = garmin([json.dumps(gear).encode()], [json.dumps(summaries).encode()])
    sane(export)  # a bad entry never spoils the file
    assert {"1", "2", "3"} <= set(by_id(export))

