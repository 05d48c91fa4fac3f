"""What a person can type, checked once at the edge, and tables a person can read.

Every refused command leaves one `Error:` line, exit 2 (1 for a thing that does
not exist) and the database exactly as it was: every row of every table.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from datetime import date, timedelta

import pytest

from shoetrack.core import sports
from shoetrack.core.attribution import RuleError, UnknownName, parse_default, parse_rule
from tests import fitgen
from tests.helpers import database_rows, write

PAST = "2026-03-05"  # a day before any day the tests run on
LONG_NAME = "N" * 360


def ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


@pytest.fixture
def stocked(shoetrack, inbox):
    """A database holding a run from a file, a pair, a logged run and a pain entry."""
    write(inbox / "run.fit", fitgen.run("2026-03-02T06:30:00Z", km=8))
    shoetrack("import", inbox)
    shoetrack("shoes", "add", "Base", "--default-for", "running", "--since", "2026-01-01")
    shoetrack("log", "2026-03-04", "5")
    shoetrack("pain", "2", "--date", "2026-03-04")
    return shoetrack


def one_error_line(result) -> str:
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


REFUSED = [
    # 1: infinite, undefined and absurd numbers
    (["log", PAST, "inf"], "'inf' is not a distance one can run; give more than 0, up to 1000 km"),
    (["log", PAST, "1e6"], "'1e6' is not a distance one can run"),
    (["log", PAST, "nan"], "'nan' is not a distance one can run"),
    (["log", PAST, "1001km"], "is not a distance one can run"),
    (["log", PAST, "5", "--minutes", "inf"], "'inf' is not how long a run can take"),
    (["log", PAST, "5", "--minutes", "14401"], "up to 14400 minutes (10 days)"),
    (["shoes", "add", "X", "--limit-km", "inf"], "'inf' is not a life a pair of shoes can have"),
    (["shoes", "add", "X", "--limit-km", "10001"], "up to 10000 km (6214 mi)"),
    (["shoes", "add", "X", "--start-km", "inf"], "'inf' is not a distance a pair can already have run"),
    (["shoes", "add", "Y", "--start-km", "nan"], "'nan' is not a distance a pair can already have run"),
    (["shoes", "add", "X", "--limit-km", "far"], "'far' is not a distance; write a number of km such as 12.5"),
    (["shoes", "edit", "Base", "--limit-km", "1e309"], "is not a life a pair of shoes can have"),
    # 4: sports and sub-sports are FIT's names, everywhere one is typed
    (["log", PAST, "5", "--sport", "runing"], "'runing' is not a FIT sport name; did you mean \"running\"?"),
    (["log", PAST, "5", "--sub-sport", "trial"], "'trial' is not a FIT sub-sport name; did you mean \"trail\"?"),
    (["shoes", "add", "X", "--default-for", "running/trial"], "did you mean \"trail\"?"),
    (["shoes", "add", "X", "--default-for", "runing"], "did you mean \"running\"?"),
    (["shoes", "edit", "Base", "--default-for", "walking/trial"], "did you mean \"trail\"?"),
    (["shoes", "add", "X", "--rule", "sport = runing"], "rule 'sport = runing': 'runing' is not a FIT sport name"),
    (["shoes", "add", "X", "--rule", "sub_sport = trial"], "did you mean \"trail\"?"),
    (["shoes", "add", "X", "--rule", "sport = cycling"], "only on-foot sports wear shoes"),
    # 5: values that ended in a traceback, or were stored although meaningless
    (["snooze", "streak", "--days", "99999999"], "--days must be a whole number from 1 to 3650"),
    (["snooze", "streak", "--days", "0"], "--days must be a whole number from 1 to 3650"),
    (["pain", "5.5"], "'5.5' is not a pain level; give a whole number between 0 and 10"),
    (["pain", "99999999999999999999"], "is not a pain level"),
    (["status", "--as-of", "9999-12-31"], "9999-12-31 is out of range; give a day from 1990-01-01 to 2100-12-31"),
    (["why", "--as-of", "9999-12-31"], "9999-12-31 is out of range"),
    (["check", "--no-notify", "--as-of", "9999-12-31"], "9999-12-31 is out of range"),
    (["why", "--as-of", "0001-01-01"], "0001-01-01 is out of range"),
    (["runs", "--since", "0001-01-01"], "0001-01-01 is out of range"),
    (["log", "0001-01-01", "5"], "0001-01-01 is out of range"),
    (["log", "9999-12-31", "5"], "9999-12-31 is in the future"),
    (["pain", "3", "--date", "9999-12-31"], "9999-12-31 is in the future"),
    (["shoes", "add", "X", "--since", "9999-12-31"], "9999-12-31 is in the future"),
    (["log", PAST, "5", "--sport", ""], "'' is not a FIT sport name; use a FIT name such as running"),
    (["log", PAST, "5", "--sport", "running'; DROP TABLE sessions; --"], "is not a FIT sport name"),
    (["shoes", "add", "X", "--rule", "distance_km >= nan"], "distance_km needs a number of 0 or more, not 'nan'"),
    (["shoes", "add", "X", "--rule", "distance_km >= inf"], "distance_km needs a number of 0 or more, not 'inf'"),
    (["shoes", "add", "X", "--rule", "duration_min < -5"], "needs a number of 0 or more"),
    (["shoes", "add", "X", "--rule", "foot_pod_serial = 99999999999"], "FIT serial numbers are 32 bits"),
    (["assign", "abc", "Base"], "'abc' is not a run id"),
    # 11: names a table can show
    (["shoes", "add", "a\nb"], "a pair's name contains a line break"),
    (["shoes", "add", "a\tb"], "a pair's name contains a tab"),
    (["shoes", "add", "red\x1b[31m"], "contains the invisible character U+001B"),
    (["shoes", "add", "evil\u202egnp.exe"], "contains the invisible character U+202E"),
    (["shoes", "add", LONG_NAME], "a pair's name is 360 characters long; keep it to 60"),
    (["shoes", "add", "   "], "a pair's name cannot be empty"),
    (["shoes", "add", "X", "--brand", "Bro\nooks"], "the brand contains a line break"),
    (["shoes", "add", "X", "--model", "M" * 61], "the model is 61 characters long; keep it to 60"),
    (["shoes", "edit", "Base", "--rename", "a\tb"], "a pair's name contains a tab"),
    (["log", PAST, "5", "--note", "line\nbreak"], "the note contains a line break"),
    (["log", PAST, "5", "--note", "n" * 501], "the note is 501 characters long; keep it to 500"),
    (["pain", "3", "--note", "a\rb"], "the note contains a carriage return"),
    (["runs", "--since", "2026-11-27", "--until", "2026-11-01"],
     "--since 2026-11-27 is after --until 2026-11-01, so no day is in between; swap them"),
]


@pytest.mark.parametrize("args,words", REFUSED, ids=[" ".join(a)[:60] for a, _ in REFUSED])
def test_a_refused_value_is_one_line_and_changes_nothing(stocked, args, words):
    before = database_rows(stocked.db)
    line = one_error_line(stocked(*args, expect=2))
    assert words in line
    assert database_rows(stocked.db) == before


def test_a_run_id_beyond_sqlite_is_simply_not_there(stocked):
    before = database_rows(stocked.db)
    line = one_error_line(stocked("assign", "99999999999999999999999", "Base", expect=1))
    assert line == "Error: no run with id 99999999999999999999999; see `shoetrack runs` for ids"
    assert database_rows(stocked.db) == before


def test_after_a_refused_infinity_every_report_still_works(stocked):
    stocked("log", PAST, "inf", expect=2)
    for command in (["status"], ["why"], ["check", "--no-notify"]):
        stocked(*command)
        stocked(*command, "--json")


def test_the_days_at_the_ends_of_the_range_work(stocked):
    for command in (["status"], ["why"], ["check", "--no-notify"]):
        for day in ("1990-01-01", "2100-12-31"):
            stocked(*command, "--as-of", day)
    stocked("snooze", "streak", "--days", "3650")
    stocked("log", date.today().isoformat(), "1000", "--minutes", "14400")
    stocked("shoes", "add", "Old", "--since", "1990-01-01", "--limit-km", "10000", "--start-km", "10000")


def test_a_pair_hardly_used_lately_has_no_limit_day_instead_of_a_crash(shoetrack):
    shoetrack("shoes", "add", "Big", "--default-for", "running", "--limit-km", "10000")
    shoetrack("log", ago(1), "0.001")  # 1 m in 28 days: the limit would be reached after the year 9999
    [pair] = shoetrack.json("shoes", "list")
    assert pair["projected_limit_date"] is None
    shoetrack("status")


# -- sports ------------------------------------------------------------------------

def test_the_sport_names_are_fits():
    from fitparse import profile

    for names, field in ((sports.SPORTS, "sport"), (sports.SUB_SPORTS, "sub_sport")):
        values = profile.FIELD_TYPES[field].values
        assert list(names) == [values[n] for n in sorted(values) if values[n] != "all"]
    assert sports.ON_FOOT <= set(sports.SPORTS)


def test_sports_are_written_as_fit_does_whatever_the_case_and_dashes(shoetrack):
    shoetrack("log", PAST, "5", "--sport", "E-Biking")
    shoetrack("log", PAST, "6", "--sport", "Running", "--sub-sport", "Trail")
    shoetrack("shoes", "add", "T", "--from-first-run", "--default-for", "Running/TRAIL", "--rule", "sub_sport = Trail")
    runs = {r["distance_km"]: r for r in shoetrack.json("runs", "--all-sports")}
    assert (runs[5]["sport"], runs[6]["sport"], runs[6]["sub_sport"]) == ("e_biking", "running", "trail")
    [pair] = shoetrack.json("shoes", "list")
    assert (pair["default_for"], pair["rules"]) == (["running/trail"], ["sub_sport = trail"])
    assert (runs[6]["shoe"], runs[5]["shoe"]) == ("T", None)


def test_rules_and_defaults_are_checked_in_the_core():
    with pytest.raises(UnknownName) as caught:
        parse_rule("sport = runing")
    assert caught.value.name == "runing" and caught.value.names == sports.SPORTS
    with pytest.raises(UnknownName):
        parse_default("running/trial")
    with pytest.raises(RuleError, match="0 or more"):
        parse_rule("distance_km >= inf")
    assert str(parse_rule("sport = Running")) == "sport = running"
    assert parse_default("Walking/Casual-Walking") == "walking/casual_walking"


def test_a_rule_stored_by_an_earlier_version_does_not_stop_anything(stocked):
    conn = sqlite3.connect(stocked.db)
    conn.execute("UPDATE shoes SET rules = ? WHERE name = 'Base'", [json.dumps(["sport = runing", "distance_km >= inf"])])
    conn.commit()
    conn.close()
    assert [p["rules"] for p in stocked.json("shoes", "list")] == [["sport = runing", "distance_km >= inf"]]
    stocked("runs")
    stocked("status")


# -- JSON -------------------------------------------------------------------------------

def test_json_distances_are_rounded_to_the_metre(shoetrack, inbox):
    write(inbox / "odd.fit", fitgen.run(f"{ago(3)}T06:30:00Z", km=11.2327))
    shoetrack("import", inbox)
    shoetrack("shoes", "add", "Base", "--default-for", "running", "--start-km", "0.1", "--since", ago(10))
    [run] = shoetrack.json("runs")
    [pair] = shoetrack.json("shoes", "list")
    [in_status] = shoetrack.json("status")["shoes"]
    exported = json.loads(shoetrack("export", "--format", "json").stdout)
    assert run["distance_km"] == exported["runs"][0]["distance_km"] == 11.233
    assert pair["distance_km"] == in_status["distance_km"] == exported["shoes"][0]["distance_km"] == 11.333
    assert "11.2327" not in shoetrack("runs", "--json").stdout


@pytest.mark.parametrize("command", [["runs", "--json"], ["shoes", "list", "--json"], ["status", "--json"],
                                     ["export", "--format", "json"]])
def test_an_infinity_stored_by_an_earlier_version_is_never_printed_as_json(stocked, command):
    conn = sqlite3.connect(stocked.db)
    conn.execute("UPDATE sessions SET distance_m = ? WHERE source = 'manual'", [float("inf")])
    conn.execute("UPDATE shoes SET limit_km = ?", [float("inf")])
    conn.commit()
    conn.close()
    result = stocked(*command, expect=None)
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    if result.exit_code == 0:  # a run's impossible figure reads as null
        json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    else:
        assert result.exit_code == 1
        assert "infinite or undefined number, which JSON cannot carry" in one_error_line(result)


# -- miles ---------------------------------------------------------------------------------

@pytest.fixture
def in_miles(shoetrack, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('units = "mi"\n')
    shoetrack.config = config
    return shoetrack


def test_miles_in_and_out_km_in_json(in_miles):
    shoetrack = in_miles
    shoetrack("shoes", "add", "Mi", "--default-for", "running", "--limit-km", "450", "--start-km", "12.5 mi",
              "--since", ago(20))
    shoetrack("shoes", "add", "Km", "--limit-km", "700km", "--start-km", "10KM")
    assert "logged run 1: " + ago(2) + " 5.00 mi running" in shoetrack("log", ago(2), "5").stdout
    shoetrack("log", ago(1), "8km")
    pairs = {p["name"]: p for p in shoetrack.json("shoes", "list")}
    assert (pairs["Mi"]["limit_km"], pairs["Mi"]["start_km"]) == (724.205, 20.117)
    assert (pairs["Km"]["limit_km"], pairs["Km"]["start_km"]) == (700, 10)
    assert [r["distance_km"] for r in shoetrack.json("runs")] == [8, 8.047]
    listing = shoetrack("shoes", "list").stdout
    assert "/ 450 mi" in listing and "/ 435 mi" in listing
    runs = shoetrack("runs").stdout
    assert "5.00 mi" in runs and "4.97 mi" in runs
    assert "10.0 mi this week" in shoetrack("status").stdout
    shoetrack("shoes", "edit", "Km", "--limit-km", "500")
    assert {p["name"]: p for p in shoetrack.json("shoes", "list")}["Km"]["limit_km"] == 804.672


def test_a_distance_too_long_is_said_in_the_runners_units(in_miles):
    line = one_error_line(in_miles("log", PAST, "700", expect=2))
    assert "up to 621 mi (1000 km)" in line
    line = one_error_line(in_miles("shoes", "add", "X", "--limit-km", "lots", expect=2))
    assert "write a number of mi such as 12.5, or add the unit: 12.5km, 8mi" in line


# -- tables -------------------------------------------------------------------------------

def columns(text: str) -> int:
    """Terminal columns of text holding no joined emoji: wide characters count two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_runs_and_shoes_have_a_header_row(stocked):
    runs = stocked("runs").stdout.splitlines()
    assert runs[0].split() == ["ID", "DATE", "SPORT", "DISTANCE", "TIME", "SHOE", "SOURCE"]
    assert len(runs) == 3
    pairs = stocked("shoes", "list").stdout.splitlines()
    assert pairs[0].split() == ["NAME", "WEAR", "DISTANCE", "RUNS", "AGE", "LIMIT", "BY"]
    status = stocked("status").stdout.splitlines()
    assert status[1] == pairs[0]


def test_wide_and_combining_characters_keep_the_columns_straight(shoetrack):
    names = ["跑鞋", "Fast 👟", "Cafe\u0301", "Road A"]
    for n, name in enumerate(names):
        shoetrack("shoes", "add", name, "--rule", f"distance_km >= {n}", "--rule", f"distance_km < {n + 1}")
        shoetrack("log", PAST, f"{n}.5")
    lines = shoetrack("shoes", "list").stdout.splitlines()[1:]
    assert len(lines) == 4
    assert len({columns(line[:line.index(" km") + 3]) for line in lines}) == 1  # the DISTANCE column ends together
    lines = shoetrack("runs").stdout.splitlines()[1:]
    assert len({columns(line[:line.index("logged by hand")]) for line in lines}) == 1  # SOURCE starts together


def test_a_name_from_an_earlier_version_cannot_break_or_widen_a_table(stocked):
    conn = sqlite3.connect(stocked.db)
    conn.execute("UPDATE shoes SET name = ?", [LONG_NAME])
    conn.execute("INSERT INTO shoes (name, limit_km, start_km, default_for, rules, added_at) "
                 "VALUES ('two\nlines\tand a tab', 700, 0, '[]', '[]', '2026-01-01')")
    conn.commit()
    conn.close()
    listing = stocked("shoes", "list").stdout.splitlines()
    assert len(listing) == 3 and all(len(line) < 100 for line in listing)
    assert "N" * 23 + "…" in listing[1] + listing[2]
    assert "two?lines?and a tab" in listing[1] + listing[2]
    runs = stocked("runs").stdout.splitlines()
    assert len(runs) == 3 and all(len(line) < 110 for line in runs)


def test_sports_read_as_words_and_unknown_ones_say_so(shoetrack, inbox):
    write(inbox / "new.fit", fitgen.run("2026-03-02T06:30:00Z", sport=82, sub_sport=77))
    write(inbox / "ebike.fit", fitgen.run("2026-03-03T06:30:00Z", sport=21))
    write(inbox / "trail.fit", fitgen.run("2026-03-04T06:30:00Z", sub_sport=3))
    shoetrack("import", inbox)
    sports_shown = [line.split("  ")[2].strip() for line in shoetrack("runs", "--all-sports").stdout.splitlines()[1:]]
    assert sports_shown == ["running/trail", "e-biking", "sport 82/sub-sport 77"]
    assert [r["sport"] for r in shoetrack.json("runs", "--all-sports")] == ["running", "e_biking", "82"]


def test_counts_agree_with_their_nouns(shoetrack, inbox):
    write(inbox / "one.fit", fitgen.run(f"{ago(0)}T06:30:00Z"))
    assert shoetrack("import", inbox).stdout.startswith("1 imported (1 session), ")
    assert "Training: 1 day running in a row" in shoetrack("status").stdout
    shoetrack("log", ago(1), "5")
    assert "Training: 2 days running in a row" in shoetrack("status").stdout
    shoetrack("shoes", "add", "Base", "--default-for", "running")
    assert "day(s)" not in shoetrack("status").stdout


def test_a_retired_pair_shows_no_limit_day(shoetrack):
    shoetrack("shoes", "add", "Old", "--default-for", "running", "--since", ago(20))
    for n in (9, 7, 5):
        shoetrack("log", ago(n), "10")
    shoetrack("shoes", "retire", "Old", "--on", ago(3))
    [row] = shoetrack("shoes", "list", "--all").stdout.splitlines()[1:]
    assert re.findall(r"\d{4}-\d\d-\d\d", row) == [ago(3)]  # only the day it retired
    assert row.split()[-2:] == ["-", ago(3)]


def test_shoes_alone_shows_its_help(shoetrack):
    result = shoetrack("shoes")
    assert "shoes [OPTIONS] COMMAND" in result.stdout and "Commands:" in result.stdout
    assert "Error" not in result.output


def test_an_empty_range_is_named(stocked):
    assert stocked("runs", "--since", "2026-04-01", "--until", "2026-04-30").stdout == (
        "No runs from 2026-04-01 to 2026-04-30.\n")
    assert stocked("runs", "--since", "2026-04-01", "--shoe", "Base").stdout == "No runs in Base since 2026-04-01.\n"
    assert stocked("runs", "--until", "2026-01-01").stdout == "No runs up to 2026-01-01.\n"


def test_terminal_widths_of_wide_joined_and_combining_text():
    from shoetrack.cli.render import cells, fit, one_line

    assert [cells(t) for t in ("Road", "跑鞋", "👟", "🏃\u200d♀\ufe0f", "❤\ufe0f", "Cafe\u0301", "🇫🇷", "👍🏽")] == [
        4, 4, 2, 2, 2, 4, 2, 2]
    assert fit("跑鞋跑鞋跑鞋", 7) == "跑鞋跑…" and cells(fit("跑鞋跑鞋跑鞋", 7)) == 7
    assert fit("N" * 30, 10) == "N" * 9 + "…"
    assert one_line("a\tb\nc\x1bd") == "a?b?c?d"
