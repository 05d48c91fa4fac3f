"""Training load, the pain log, alerts and why, over scripted seasons.

Seasons are written with `shoetrack log` (and FIT files where noted), then
`shoetrack check --as-of DAY` runs day by day, as the daemon would.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest

from shoetrack.adapters.store import Store
from shoetrack.config import parse_config
from shoetrack.core import training
from shoetrack.service.health import check, snooze
from tests import fitgen
from tests.helpers import write

D0 = date(2026, 1, 5)  # a Monday
QUIET = {  # thresholds that keep the other alerts out of a scenario
    "streak_days": 100, "acwr": 100, "weekly_jump_pct": 10000, "shoe_warn_pct": 100,
}


def day(n: int) -> str:
    return (D0 + timedelta(days=n - 1)).isoformat()


def configure(shoetrack, tmp_path, **alerts) -> None:
    settings = {**QUIET, **alerts}
    long_run = settings.pop("long_run_km", 18)
    lines = ["[alerts]"] + [f"{k} = {v}" for k, v in settings.items()] + ["[training]", f"long_run_km = {long_run}"]
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    shoetrack.config = config


def log_runs(shoetrack, runs: dict[int, float], *extra: str) -> None:
    for n, km in runs.items():
        shoetrack("log", day(n), km, "--minutes", km * 6, *extra)


def fired(shoetrack, first: int, last: int) -> dict[str, list[int]]:
    """Check every day from `first` to `last`; return on which days each alert was new."""
    seen: dict[str, list[int]] = {}
    for n in range(first, last + 1):
        for alert in shoetrack.json("check", "--as-of", day(n), "--no-notify")["new"]:
            assert alert["since"] == day(n)
            key = alert["kind"] + (f":{alert['subject']}" if alert["subject"] else "")
            seen.setdefault(key, []).append(n)
    return seen


def active(shoetrack, n: int) -> set[str]:
    return {a["kind"] for a in shoetrack.json("check", "--as-of", day(n), "--no-notify")["active"]}


# -- metrics against hand-computed values ------------------------------------------------

def test_load_metrics_match_hand_computed_values():
    km = {1: 5, 2: 5, 3: 0, 4: 10, 5: 5, 6: 0, 7: 15, 8: 6, 9: 6, 10: 0, 11: 12, 12: 6, 13: 6, 14: 20}
    days = {date(2026, 3, n): training.Day(foot_km=v, longest_km=v, on_foot=v > 0) for n, v in km.items()}
    days[date(2026, 3, 10)] = training.Day(cross_minutes=45)  # a bike day: rest for the ankle, not idle
    load = training.load(days, date(2026, 3, 14), first_day=date(2026, 3, 1), long_run_km=18)
    assert load.streak_days == 4  # the 11th to the 14th; the bike day on the 10th broke it
    assert load.week_km == 6 + 6 + 0 + 12 + 6 + 6 + 20
    assert load.last_week_km == 5 + 5 + 0 + 10 + 5 + 0 + 15
    assert load.weekly_jump_pct == pytest.approx(100 * (56 - 40) / 40)
    assert load.rest_days_7 == 1 and load.idle_days_7 == 0
    assert load.acwr is None  # fewer than 28 days of history
    week = [6, 6, 0, 12, 6, 6, 20]
    mean = sum(week) / 7
    sd = (sum((x - mean) ** 2 for x in week) / 7) ** 0.5
    assert load.monotony == pytest.approx(mean / sd)
    assert load.back_to_back_km is None
    assert load.cross_minutes_7 == 45


def test_streak_counts_consecutive_on_foot_days_only():
    days = {date(2026, 3, n): training.Day(foot_km=5, on_foot=True) for n in (10, 11, 12, 13, 14)}
    days[date(2026, 3, 12)] = training.Day(cross_minutes=60)
    assert training.streak(days, date(2026, 3, 14)) == 2
    assert training.streak(days, date(2026, 3, 15)) == 0


def test_acwr_needs_28_days_of_history():
    days = {date(2026, 2, 1) + timedelta(days=i): training.Day(foot_km=5, on_foot=True) for i in range(40)}
    days[date(2026, 3, 12)] = training.Day(foot_km=40, on_foot=True)
    assert training.acwr(days, date(2026, 2, 27), date(2026, 2, 1)) is None
    # 7 days: 6 x 5 + 40 = 70 km; 28 days: 27 x 5 + 40 = 175 km, i.e. 43.75 a week.
    assert training.acwr(days, date(2026, 3, 12), date(2026, 2, 1)) == pytest.approx(70 / 43.75)


# -- alerts fire once per episode, on the day their condition starts ---------------------

def test_streak_fires_on_the_seventh_day_and_rearms(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, streak_days=7)
    log_runs(shoetrack, {n: 5 for n in [*range(1, 10), *range(11, 19)]})
    assert fired(shoetrack, 1, 20) == {"streak": [7, 17]}
    assert active(shoetrack, 9) == {"streak"} and active(shoetrack, 10) == set()


def test_no_rest_fires_when_cross_training_fills_the_week(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, streak_days=7)
    log_runs(shoetrack, {1: 8, 3: 8, 5: 8, 7: 8})
    log_runs(shoetrack, {2: 20, 4: 20, 6: 20}, "--sport", "cycling")
    assert fired(shoetrack, 1, 9) == {"no_rest": [7]}
    assert active(shoetrack, 7) == {"no_rest"}
    assert active(shoetrack, 8) == set()  # day 8 was idle


def test_back_to_back_long_runs(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, long_run_km=18)
    log_runs(shoetrack, {1: 20, 2: 19, 4: 10, 6: 25, 7: 18})
    result = fired(shoetrack, 1, 8)
    assert result == {"no_rest": [2, 7]}  # each pair of long days is its own episode


def test_load_spike_fires_when_the_week_jumps_and_rearms(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, weekly_jump_pct=30)
    log_runs(shoetrack, {n: 5 for n in range(1, 29)} | {29: 30})
    # Day 8: days 2-8 hold 35 km against 5 on day 1 (+600 %). The 7 days before keep
    # growing until day 13, when 35 km against 30 is +16.7 %: the episode ends.
    # Day 29: 6 x 5 + 30 = 60 km against 35 (+71 %): a new episode.
    # With streak alerts off, seven days without an idle day raise no_rest instead.
    assert fired(shoetrack, 1, 30) == {"no_rest": [7], "load_spike": [8, 29]}
    assert "load_spike" in active(shoetrack, 12) and "load_spike" not in active(shoetrack, 13)


def test_acwr_spike(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, acwr=1.5)
    log_runs(shoetrack, {n: 5 for n in range(1, 29)} | {29: 20, 30: 20})
    # Day 29: acute 6x5+20 = 50, chronic (27x5+20)/4 = 38.75 -> 1.29.
    # Day 30: acute 5x5+40 = 65, chronic (26x5+40)/4 = 42.5 -> 1.53.
    assert fired(shoetrack, 1, 31) == {"no_rest": [7], "load_spike": [30]}


def test_shoe_wear_alerts_and_the_more_severe_one_speaking_for_both(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, shoe_warn_pct=80)
    shoetrack("shoes", "add", "Road", "--default-for", "running", "--limit-km", "100")
    shoetrack("shoes", "add", "Racer", "--limit-km", "50")
    log_runs(shoetrack, {n: 20 for n in (1, 3, 5, 7, 9)})
    shoetrack("log", day(5), "60", "--shoe", "Racer")  # warning share and limit on the same day
    result = fired(shoetrack, 1, 12)
    assert result == {"shoe_worn:Road": [7], "shoe_limit:Road": [9], "shoe_limit:Racer": [5]}
    alerts = {a["kind"]: a for a in shoetrack.json("check", "--as-of", day(12))["active"] if a["subject"] == "Road"}
    assert set(alerts) == {"shoe_limit"}
    assert alerts["shoe_limit"]["message"] == "Road is worn out: 100 of 100 km"
    assert "replac" in alerts["shoe_limit"]["advice"]


def test_shoe_old(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, shoe_max_age_days=10)
    shoetrack("shoes", "add", "Road", "--default-for", "running", "--since", day(1))
    log_runs(shoetrack, {1: 5})
    assert fired(shoetrack, 1, 13) == {"shoe_old:Road": [12]}


def test_pain_persisting_after_a_new_pair_points_to_a_specialist(shoetrack, tmp_path):
    configure(shoetrack, tmp_path)
    shoetrack("shoes", "add", "New", "--default-for", "running", "--since", day(1))
    log_runs(shoetrack, {1: 5, 4: 5, 8: 5, 11: 5})
    for n in (16, 18, 19):
        shoetrack("pain", "5", "--date", day(n), "--side", "left")
    result = fired(shoetrack, 1, 20)
    assert result == {"pain_persists": [19]}
    [alert] = [a for a in shoetrack.json("check", "--as-of", day(20))["active"] if a["kind"] == "pain_persists"]
    assert "podiatrist" in alert["advice"]
    assert "switching to New" in alert["message"]


def test_a_rest_week_counts_as_a_corrective_step(shoetrack, tmp_path):
    configure(shoetrack, tmp_path)
    log_runs(shoetrack, {n: 5 for n in (1, 3, 5, 7, 9, 10, 18, 20, 22, 24)})
    for n in (30, 31):
        shoetrack("pain", "6", "--date", day(n))
    shoetrack("pain", "2", "--date", day(32))  # a better day: below 4 it does not count
    shoetrack("pain", "5", "--date", day(33))
    result = fired(shoetrack, 1, 34)
    assert result == {"pain_persists": [33]}  # the rest week ended on day 17, 16 days earlier
    message = shoetrack.json("check", "--as-of", day(34))["active"][0]["message"]
    assert message.endswith(f"despite a week without running up to {day(17)}")


def test_pain_with_an_active_cause_names_it(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, streak_days=5)
    log_runs(shoetrack, {n: 6 for n in range(1, 9)})
    shoetrack("pain", "3", "--date", day(6))
    result = fired(shoetrack, 1, 12)
    assert result == {"streak": [5], "pain_with_cause": [6]}
    assert "pain_with_cause" not in active(shoetrack, 9)  # pain three days old no longer counts
    [alert] = [a for a in shoetrack.json("check", "--as-of", day(7))["active"] if a["kind"] == "pain_with_cause"]
    assert alert["message"] == "Ankle pain logged while you are on a long running streak"
    assert "rest day" in alert["advice"]


def test_a_season_from_fit_files(shoetrack, tmp_path, inbox):
    configure(shoetrack, tmp_path, streak_days=7, shoe_warn_pct=80)
    shoetrack("shoes", "add", "Road", "--default-for", "running", "--limit-km", "70")
    for n in range(1, 9):
        write(inbox / f"{n}.fit", fitgen.run(f"{day(n)}T06:30:00Z", km=8))
    shoetrack("import", inbox)
    # 8 km a day: 56 km, 80 % of the pair's life, on day 7, the day the streak reaches 7.
    assert fired(shoetrack, 1, 10) == {"shoe_worn:Road": [7], "streak": [7]}


def test_snooze_silences_an_alert_until_it_ends(tmp_path):
    config = parse_config("[alerts]\nstreak_days = 3\nacwr = 100\nweekly_jump_pct = 10000\n")
    with Store(tmp_path / "st.db") as store:
        for n in range(1, 11):
            store.add_session({"source": "manual", "start_time": f"{day(n)}T12:00:00Z", "local_date": day(n),
                               "sport": "running", "distance_m": 5000, "timer_s": 1800})
        snooze(store, "streak", None, 4, today=D0 + timedelta(days=2))  # silent on days 3 to 6
        new_on, quiet = [], []
        for n in range(1, 11):
            report = check(store, config, D0 + timedelta(days=n - 1), today=date(2027, 1, 1))
            new_on += [n] if report["new"] else []
            quiet += [] if report["active"] else [n]
    assert new_on == [7]  # the streak began on day 3, but it was silent until day 7
    assert quiet == [1, 2, 3, 4, 5, 6]


def test_snooze_for_one_pair_leaves_the_others(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, shoe_warn_pct=80)
    shoetrack("shoes", "add", "A", "--limit-km", "10")
    shoetrack("shoes", "add", "B", "--limit-km", "10")
    shoetrack("snooze", "shoe_limit", "A", "--days", "30")
    shoetrack("log", (date.today() - timedelta(days=1)).isoformat(), "12", "--shoe", "A")
    shoetrack("log", (date.today() - timedelta(days=1)).isoformat(), "12", "--shoe", "B")
    report = shoetrack.json("check")
    assert [(a["kind"], a["subject"]) for a in report["new"]] == [("shoe_limit", "B")]


# -- why -----------------------------------------------------------------------------------

def test_why_ranks_worn_shoes_and_streak_with_evidence(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, streak_days=7, shoe_warn_pct=80)
    shoetrack("shoes", "add", "Road A", "--default-for", "running", "--limit-km", "700", "--start-km", "640")
    log_runs(shoetrack, {n: 8 for n in range(1, 10)})
    for n in (5, 7, 9):
        shoetrack("pain", "4", "--date", day(n), "--side", "right")
    report = shoetrack.json("why", "--as-of", day(9))
    causes = [c["cause"] for c in report["causes"]]
    assert causes[:2] == ["worn_shoes", "overtraining"]
    shoes, load = report["causes"][0], report["causes"][1]
    assert shoes["subject"] == "Road A"
    assert "Road A: 712 of 700 km (102 %), last worn " + day(9) in shoes["evidence"]
    assert "9 running days in a row" in load["evidence"]
    assert set(causes) == {"worn_shoes", "tight_foot_muscles", "ankle_mobility", "old_injury",
                           "overtraining", "persistent_pain"}
    text = shoetrack("why", "--as-of", day(9)).stdout
    assert "not a medical diagnosis" in text


def test_why_points_to_massage_and_mobility_when_shoes_and_load_are_fine(shoetrack, tmp_path):
    configure(shoetrack, tmp_path)
    shoetrack("shoes", "add", "Fresh", "--default-for", "running")
    log_runs(shoetrack, {1: 6, 3: 6, 5: 6})
    shoetrack("pain", "3", "--date", day(5))
    report = shoetrack.json("why", "--as-of", day(6))
    top = [c["cause"] for c in report["causes"][:2]]
    assert top == ["tight_foot_muscles", "ankle_mobility"]
    assert "lacrosse ball" in report["causes"][0]["advice"]
    assert "20 circles" in report["causes"][1]["advice"]


def test_logging_pain_answers_with_advice(shoetrack):
    result = shoetrack("pain", "4", "--side", "left", "--note", "after the long run")
    text = " ".join(result.stdout.split())
    assert "lacrosse ball" in text and "20 circles" in text
    [entry] = shoetrack.json("pain", "--list")
    assert (entry["level"], entry["side"], entry["note"]) == (4, "left", "after the long run")


@pytest.mark.parametrize("args,words", [
    (["pain", "11"], "between 0 and 10"),
    (["pain", "--", "-1"], "between 0 and 10"),
    (["pain", "3", "--date", "2999-01-01"], "in the future"),
    (["pain", "3", "--side", "middle"], "Invalid value for '--side'"),
    (["pain"], "give a pain LEVEL"),
    (["snooze", "sore_feet", "--days", "3"], "unknown alert kind 'sore_feet'"),
    (["snooze", "streak", "--days", "0"], "--days must be"),
    (["snooze", "streak", "Road", "--days", "2"], "give no SUBJECT"),
    (["snooze", "shoe_worn", "Nope", "--days", "2"], "no pair named"),
    (["check", "--as-of", "yesterday"], "is not a date"),
])
def test_bad_input_stores_nothing(shoetrack, args, words):
    shoetrack("runs")
    result = shoetrack(*args, expect=None)
    assert result.exit_code != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and words in line
    conn = sqlite3.connect(shoetrack.db)
    assert conn.execute("SELECT count(*) FROM pain").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM snoozes").fetchone()[0] == 0
    conn.close()


def test_status_shows_active_alerts_and_load(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, streak_days=3)
    log_runs(shoetrack, {1: 5, 2: 5, 3: 5})
    report = shoetrack.json("status", "--as-of", day(3))
    assert [a["kind"] for a in report["alerts"]] == ["streak"]
    assert report["load"]["streak_days"] == 3 and report["load"]["week_km"] == 15
    assert shoetrack.json("check", "--as-of", day(3))["new"][0]["kind"] == "streak"  # status recorded nothing
