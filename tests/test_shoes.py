"""Pairs of shoes: attribution by pins, rules and defaults, and each pair's wear."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta, timezone

import pytest

from tests import fitgen
from tests.fitgen import Device, Session
from tests.helpers import CORPUS, needs_corpus, write

TREADMILL, TRAIL = 1, 3


def runs_by_id(shoetrack) -> dict[int, dict]:
    return {r["id"]: r for r in shoetrack.json("runs", "--all-sports")}


def pairs(shoetrack, *extra) -> dict[str, dict]:
    return {p["name"]: p for p in shoetrack.json("shoes", "list", "--all", *extra)}


@pytest.fixture
def season(shoetrack, inbox):
    """A small season: road runs, a trail run, a treadmill run, a long run, a walk, a ride."""
    write(inbox / "road1.fit", fitgen.run("2026-03-02T06:30:00Z", km=8))
    write(inbox / "road2.fit", fitgen.run("2026-03-04T06:30:00Z", km=10.25))
    write(inbox / "trail.fit", fitgen.run("2026-03-07T08:00:00Z", km=14, sub_sport=TRAIL))
    write(inbox / "mill.fit", fitgen.run("2026-03-09T18:00:00Z", km=6, sub_sport=TREADMILL))
    write(inbox / "long.fit", fitgen.run("2026-03-15T07:00:00Z", km=21.1, minutes=115))
    write(inbox / "walk.fit", fitgen.run("2026-03-16T12:00:00Z", km=3, sport=11))
    write(inbox / "ride.fit", fitgen.run("2026-03-17T12:00:00Z", km=30, sport=2))
    pod = fitgen.activity([Session(datetime(2026, 3, 18, 6, 0, tzinfo=timezone.utc), distance_m=7000)],
                          devices=[Device(index=1, antplus_type=124, serial=424242)])
    write(inbox / "pod.fit", pod)
    shoetrack("import", inbox)
    return {Path_name(r["source"]): r["id"] for r in shoetrack.json("runs", "--all-sports")}


def Path_name(source: str) -> str:
    return source.rsplit("/", 1)[-1].removesuffix(".fit")


def test_defaults_rules_and_sensors_decide_the_pair(shoetrack, season):
    shoetrack("shoes", "add", "--from-first-run", "Road", "--default-for", "running", "--limit-km", "650")
    shoetrack("shoes", "add", "--from-first-run", "Trail", "--default-for", "running/trail")
    shoetrack("shoes", "add", "--from-first-run", "Mill", "--default-for", "running/treadmill")
    shoetrack("shoes", "add", "--from-first-run", "Racer", "--rule", "distance_km >= 18", "--rule", "sport = running")
    shoetrack("shoes", "add", "--from-first-run", "Podded", "--rule", "foot_pod_serial = 424242")
    runs = runs_by_id(shoetrack)
    got = {name: (runs[i]["shoe"], runs[i]["shoe_reason"]) for name, i in season.items()}
    assert got == {
        "road1": ("Road", "default"),
        "road2": ("Road", "default"),
        "trail": ("Trail", "default"),
        "mill": ("Mill", "default"),
        "long": ("Racer", "rule"),
        "walk": (None, "none"),  # walking only where a pair names it
        "ride": (None, "none"),
        "pod": ("Podded", "rule"),
    }
    assert "distance_km >= 18 and sport = running" in runs[season["long"]]["shoe_why"]
    assert runs[season["ride"]]["shoe_why"] == "cycling does not wear running shoes"


def test_a_pair_distance_is_start_km_plus_its_runs_exactly(shoetrack, season):
    shoetrack("shoes", "add", "--from-first-run", "Road", "--default-for", "running", "--start-km", "120.5")
    road = pairs(shoetrack)["Road"]
    runs = [r for r in shoetrack.json("runs") if r["shoe"] == "Road"]
    assert road["runs"] == len(runs) == 6
    assert road["distance_km"] == pytest.approx(120.5 + sum(r["distance_km"] for r in runs), abs=1e-9)
    assert road["distance_km"] == pytest.approx(120.5 + 8 + 10.25 + 14 + 6 + 21.1 + 7, abs=1e-9)
    assert road["wear_pct"] == round(100 * road["distance_km"] / 700, 1)
    assert road["last_run"] == "2026-03-18"


def test_walking_goes_to_a_pair_that_names_it(shoetrack, season):
    shoetrack("shoes", "add", "--from-first-run", "Walkers", "--default-for", "walking")
    assert runs_by_id(shoetrack)[season["walk"]]["shoe"] == "Walkers"


def test_since_and_retire_limit_the_days_a_pair_can_take(shoetrack, season):
    shoetrack("shoes", "add", "--from-first-run", "Old", "--default-for", "running")
    shoetrack("shoes", "add", "New", "--default-for", "running", "--since", "2026-03-09")
    runs = runs_by_id(shoetrack)
    assert runs[season["road2"]]["shoe"] == "Old"
    assert runs[season["long"]]["shoe"] == "New"  # both in service: the newest wins
    assert "newest in service of 2 matching pairs" in runs[season["long"]]["shoe_why"]
    shoetrack("shoes", "retire", "New", "--on", "2026-03-15")
    runs = runs_by_id(shoetrack)
    assert runs[season["long"]]["shoe"] == "New"  # the retirement day itself is still in service
    assert runs[season["pod"]]["shoe"] == "Old"
    assert pairs(shoetrack)["New"]["retired_on"] == "2026-03-15"
    assert "New" not in {p["name"] for p in shoetrack.json("shoes", "list")}
    shoetrack("shoes", "unretire", "New")
    assert runs_by_id(shoetrack)[season["pod"]]["shoe"] == "New"


def test_pin_unpin_and_none(shoetrack, season):
    shoetrack("shoes", "add", "--from-first-run", "Road", "--default-for", "running")
    shoetrack("shoes", "add", "--from-first-run", "Spare")
    run = season["road1"]
    shoetrack("assign", run, "Spare")
    assert (runs_by_id(shoetrack)[run]["shoe"], runs_by_id(shoetrack)[run]["shoe_reason"]) == ("Spare", "pinned")
    shoetrack("shoes", "edit", "Road", "--limit-km", "500")  # re-attribution keeps pins
    assert runs_by_id(shoetrack)[run]["shoe"] == "Spare"
    shoetrack("assign", run, "--none")
    assert (runs_by_id(shoetrack)[run]["shoe"], runs_by_id(shoetrack)[run]["shoe_reason"]) == (None, "pinned")
    shoetrack("assign", run, "--auto")
    assert (runs_by_id(shoetrack)[run]["shoe"], runs_by_id(shoetrack)[run]["shoe_reason"]) == ("Road", "default")
    assert [r["id"] for r in shoetrack.json("runs", "--shoe", "Spare")] == []


def test_edit_replaces_defaults_and_rules_and_renames(shoetrack, season):
    shoetrack("shoes", "add", "--from-first-run", "Road", "--default-for", "running")
    shoetrack("shoes", "edit", "Road", "--default-for", "running/treadmill", "--rename", "Indoor")
    runs = runs_by_id(shoetrack)
    assert runs[season["mill"]]["shoe"] == "Indoor"
    assert runs[season["road1"]]["shoe"] is None
    shoetrack("shoes", "edit", "Indoor", "--clear-defaults", "--rule", "weekday = mon")
    runs = runs_by_id(shoetrack)
    assert runs[season["road1"]]["shoe"] == "Indoor"  # 2026-03-02 was a Monday
    assert runs[season["mill"]]["shoe"] == "Indoor"  # 2026-03-09 too
    assert runs[season["road2"]]["shoe"] is None
    assert pairs(shoetrack)["Indoor"]["rules"] == ["weekday = mon"]


def test_delete_is_refused_while_runs_use_the_pair(shoetrack, season):
    shoetrack("shoes", "add", "--from-first-run", "Road", "--default-for", "running")
    shoetrack("shoes", "add", "Spare", "--default-for", "running", "--since", "2026-03-10")
    shoetrack("assign", season["road1"], "Spare")
    result = shoetrack("shoes", "delete", "Spare", expect=1)
    assert "Spare has 3 runs" in result.stderr and "--force" in result.stderr
    assert "Spare" in pairs(shoetrack)
    shoetrack("shoes", "delete", "Spare", "--force")
    runs = runs_by_id(shoetrack)
    assert runs[season["road1"]]["shoe"] == "Road"  # the pin went with the pair
    assert runs[season["long"]]["shoe"] == "Road"


def test_logged_runs_count_like_imported_ones(shoetrack, season):
    shoetrack("shoes", "add", "--from-first-run", "Road", "--default-for", "running")
    shoetrack("shoes", "add", "--from-first-run", "Mill", "--default-for", "running/treadmill")
    shoetrack("log", "2026-03-20", "5.5", "--minutes", "31", "--sub-sport", "treadmill", "--note", "hotel gym")
    [run] = shoetrack.json("runs", "--since", "2026-03-20")
    assert (run["shoe"], run["distance_km"], run["duration_s"], run["note"]) == ("Mill", 5.5, 1860, "hotel gym")
    shoetrack("log", "2026-03-21", "4", "--shoe", "Road", "--sub-sport", "treadmill")
    [run] = shoetrack.json("runs", "--since", "2026-03-21")
    assert (run["shoe"], run["shoe_reason"]) == ("Road", "pinned")


def test_status_shows_wear_retire_first_and_next_pair(shoetrack, season):
    shoetrack("shoes", "add", "Worn", "--default-for", "running", "--start-km", "640", "--since", "2026-01-01")
    shoetrack("shoes", "add", "Fresh", "--default-for", "running", "--since", "2026-03-10")
    shoetrack("shoes", "add", "--from-first-run", "Retired", "--default-for", "running")
    shoetrack("shoes", "retire", "Retired", "--on", "2026-02-01")
    report = shoetrack.json("status", "--as-of", "2026-03-20")
    assert report["as_of"] == "2026-03-20"
    shoes = {s["name"]: s for s in report["shoes"]}
    assert set(shoes) == {"Worn", "Fresh"}
    assert shoes["Worn"]["distance_km"] == pytest.approx(640 + 8 + 10.25 + 14 + 6)
    assert report["retire_first"] == ["Worn"]
    assert report["next_pair"] == {"running": "Worn"} or report["next_pair"]["running"] == "Worn"
    # Fresh ran last (the 18th); Worn rested since the 9th: rotation suggests Worn.
    assert shoes["Fresh"]["last_run"] == "2026-03-18"
    text = shoetrack("status", "--as-of", "2026-03-20").stdout
    assert "Worn" in text and "Retire first: Worn" in text


def test_next_pair_skips_worn_out_pairs(shoetrack, season):
    shoetrack("shoes", "add", "--from-first-run", "Dead", "--default-for", "running", "--start-km", "900")
    shoetrack("shoes", "add", "Alive", "--default-for", "running", "--since", "2026-03-10")
    report = shoetrack.json("status", "--as-of", "2026-03-20")
    assert report["next_pair"]["running"] == "Alive"
    dead = {s["name"]: s for s in report["shoes"]}["Dead"]
    assert dead["projected_limit_date"] is not None


def test_projected_limit_date_extrapolates_the_last_28_days(shoetrack, inbox):
    start = date(2026, 5, 1)
    for i in range(28):  # 10 km every day for four weeks: 280 km
        day = start + timedelta(days=i)
        write(inbox / f"{day}.fit", fitgen.run(f"{day}T06:00:00Z", km=10))
    shoetrack("import", inbox)
    shoetrack("shoes", "add", "--from-first-run", "Daily", "--default-for", "running", "--limit-km", "500")
    report = shoetrack.json("status", "--as-of", "2026-05-28")
    [daily] = report["shoes"]
    assert daily["distance_km"] == pytest.approx(280)
    assert daily["projected_limit_date"] == "2026-06-19"  # 220 km left at 10 km a day: 22 days
    shoetrack("shoes", "add", "Unused", "--since", "2026-05-01")
    unused = {p["name"]: p for p in shoetrack.json("shoes", "list")}["Unused"]
    assert unused["projected_limit_date"] is None


def test_miles_on_screen_km_in_json(shoetrack, tmp_path, season):
    config = tmp_path / "config.toml"
    config.write_text('units = "mi"\n')
    shoetrack.config = config
    shoetrack("shoes", "add", "--from-first-run", "Road", "--default-for", "running", "--limit-km", "804.672km")  # bare: miles
    text = shoetrack("status", "--as-of", "2026-03-20").stdout
    assert "/ 500 mi" in text
    assert shoetrack.json("status", "--as-of", "2026-03-20")["shoes"][0]["limit_km"] == 804.672


@pytest.mark.parametrize("args,words,code", [
    (["shoes", "add", "--from-first-run", "Road"], "already exists", 1),
    (["shoes", "add", "--from-first-run", "X", "--rule", "distance_km long"], "not FIELD OP VALUE", 2),
    (["shoes", "add", "--from-first-run", "X", "--rule", "colour = red"], "unknown field 'colour'", 2),
    (["shoes", "add", "--from-first-run", "X", "--rule", "weekday = someday"], "weekday must be one of", 2),
    (["shoes", "add", "--from-first-run", "X", "--rule", "distance_km > far"], "needs a number", 2),
    (["shoes", "add", "--from-first-run", "X", "--default-for", "cycling"], "only on-foot sports", 2),
    (["shoes", "add", "--from-first-run", "X", "--limit-km", "0"], "'0' is not a life a pair of shoes can have", 2),
    (["shoes", "add", "--from-first-run", "X", "--start-km", "-10"], "'-10' is not a distance a pair can already have run", 2),
    (["shoes", "add", "X", "--since", "2026-02-30"], "is not a date", 2),
    (["shoes", "edit", "Nope", "--limit-km", "500"], "no pair named 'Nope'", 1),
    (["shoes", "edit", "Road"], "nothing to change", 2),
    (["shoes", "retire", "Nope"], "no pair named", 1),
    (["shoes", "delete", "Nope"], "no pair named", 1),
    (["assign", "999999", "Road"], "no run with id 999999", 1),
    (["assign", "1", "Nope"], "no pair named", 1),
    (["assign", "1"], "exactly one of", 2),
    (["runs", "--shoe", "Nope"], "no pair named", 1),
    (["log", "2999-01-01", "5"], "in the future", 2),
    (["log", "2026-03-01", "-5"], "'-5' is not a distance one can run", 2),
    (["log", "2026-03-01", "0"], "'0' is not a distance one can run", 2),
])
def test_bad_input_is_one_clear_line_and_changes_nothing(shoetrack, season, args, words, code):
    shoetrack("shoes", "add", "--from-first-run", "Road", "--default-for", "running")
    conn = sqlite3.connect(shoetrack.db)
    before = [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("shoes", "sessions", "pins")]
    result = shoetrack(*args, expect=code)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and words in line
    after = [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("shoes", "sessions", "pins")]
    conn.close()
    assert after == before


@needs_corpus
def test_real_files_are_attributed_as_the_rules_say(shoetrack):
    reference = json.loads((CORPUS / "reference.json").read_text())
    shoetrack("shoes", "add", "--from-first-run", "Road", "--default-for", "running", "--start-km", "50")
    shoetrack("shoes", "add", "--from-first-run", "Generic", "--default-for", "running/generic")
    shoetrack("shoes", "add", "--from-first-run", "Long", "--rule", "distance_km >= 12", "--rule", "sport = running")
    shoetrack("shoes", "add", "--from-first-run", "Walk", "--default-for", "walking")
    shoetrack("import", CORPUS)
    runs = shoetrack.json("runs", "--all-sports")
    assert len(runs) >= 30
    kinds = {(r["shoe"], r["shoe_reason"]) for r in runs}
    assert {("Road", "default"), ("Generic", "default"), ("Long", "rule"), ("Walk", "default")} <= kinds
    for run in runs:
        if run["sport"] == "running" and (run["distance_km"] or 0) >= 12:
            expected = "Long"
        elif run["sport"] == "running" and run["sub_sport"] == "generic":
            expected = "Generic"
        elif run["sport"] == "running":
            expected = "Road"
        elif run["sport"] == "walking":
            expected = "Walk"
        else:
            expected = None
        assert run["shoe"] == expected, run
    on_foot = {r["sport"] for ref in reference if ref["fitparse_1_2_0"]["ok"]
               for r in ref["fitparse_1_2_0"]["sessions"]} & {"running", "walking"}
    assert on_foot == {"running", "walking"}
    for pair in shoetrack.json("shoes", "list"):
        mine = [r for r in runs if r["shoe"] == pair["name"]]
        start = 50 if pair["name"] == "Road" else 0  # Road started tracking with 50 km on it
        assert pair["runs"] == len(mine)
        # JSON distances are rounded to the metre: each run's, and the pair's
        assert pair["distance_km"] == pytest.approx(start + sum(r["distance_km"] or 0 for r in mine),
                                                    abs=0.0005 * (len(mine) + 1))


def test_a_new_pair_never_swallows_the_past_silently(shoetrack):
    for day in ("2025-03-02", "2025-03-04", "2026-10-01"):
        shoetrack("log", day, "10", "--minutes", "60")
    today = date.today().isoformat()
    added = shoetrack("shoes", "add", "Road A", "--default-for", "running", "--start-km", "120").stdout
    assert f"Road A: in service from today ({today})" in added
    [pair] = shoetrack.json("shoes", "list")
    assert (pair["since"], pair["runs"], pair["distance_km"]) == (today, 0, 120)

    edited = shoetrack("shoes", "edit", "Road A", "--from-first-run").stdout
    assert "Road A: 3 runs from 2025-03-02, 30 km" in edited
    added = shoetrack("shoes", "add", "Road B", "--default-for", "running", "--since", "2026-09-01").stdout
    assert added.splitlines()[1:] == ["Road B: 1 run from 2026-10-01, 10 km",
                                      "Road A: 2 runs from 2025-03-02, 20 km (was 3 runs, 30 km)"]
    shoetrack("shoes", "add", "Old", "--default-for", "running", "--since", "2026-11-01", "--from-first-run",
              expect=2)
