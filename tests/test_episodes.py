"""Alerts are derived from the history: the same day gives the same answer, whatever
was asked before, and only the check of the real today records an announcement.

Seasons are laid out relative to the real today, since that is the day whose
announcements the daemon makes.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, timedelta

from tests import fitgen
from tests.helpers import database_rows, write

TODAY = date.today()


def ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def configure(shoetrack, tmp_path, text: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text + "[notify]\nenabled = false\n")
    shoetrack.config = config


def alerts(report: list[dict]) -> list[tuple]:
    return sorted((a["kind"], a["subject"], a["since"]) for a in report)


def season(shoetrack) -> None:
    """Sixty days: a pair that wears out, a streak, a jump in load, and pain."""
    shoetrack("shoes", "add", "Road", "--default-for", "running", "--limit-km", "300", "--since", ago(70))
    for n in range(60, 0, -1):
        if n % 3 and n > 30:
            shoetrack("log", ago(n), 6, "--minutes", 36)
    for n in range(30, 0, -1):
        shoetrack("log", ago(n), 14 if n < 12 else 5, "--minutes", 60)
    for n in (9, 6, 5, 4):
        shoetrack("pain", 5, "--date", ago(n))


SEASON_CONFIG = "[alerts]\nstreak_days = 7\nshoe_warn_pct = 80\nweekly_jump_pct = 30\nacwr = 1.5\n"


def test_check_as_of_commutes_and_the_daemon_announces_nothing_twice(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, SEASON_CONFIG)
    season(shoetrack)
    days = [ago(n) for n in range(65, 0, -1)]
    fresh = tmp_path / "fresh.db"
    shutil.copy(shoetrack.db, fresh)

    in_order = {d: alerts(shoetrack.json("check", "--as-of", d, "--no-notify")["active"]) for d in days}
    kinds = {kind for found in in_order.values() for kind, _, _ in found}
    assert {"streak", "load_spike", "shoe_worn", "shoe_limit", "pain_with_cause"} <= kinds

    shoetrack.db = fresh
    rng = random.Random(7)
    shuffled = days[:]
    rng.shuffle(shuffled)
    far = ["1995-06-01", "2019-11-25", (TODAY + timedelta(days=400)).isoformat(), "2090-01-01"]
    shuffled_results = {}
    for d in shuffled:
        shoetrack("check", "--as-of", rng.choice(far), "--no-notify")
        shuffled_results[d] = alerts(shoetrack.json("check", "--as-of", d, "--no-notify")["active"])
    assert shuffled_results == in_order

    # Each day's episode start is the first day of an unbroken run of days it held on.
    for d in days:
        for kind, subject, since in in_order[d]:
            held = [in_order.get(x, []) for x in days if since <= x <= d]
            assert all((kind, subject, since) in found for found in held), (kind, d, since)

    first = shoetrack.json("check", "--no-notify")
    second = shoetrack.json("check", "--no-notify")
    assert first["new"] and first["new"] == first["active"]
    assert second["new"] == [] and second["active"] == first["active"]


def test_since_is_the_first_day_of_the_episode_not_the_first_check(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, "[alerts]\nstreak_days = 7\nacwr = 100\nweekly_jump_pct = 10000\n")
    for n in range(9, -1, -1):
        shoetrack("log", ago(n), 5, "--minutes", 30)
    report = shoetrack.json("check")
    assert alerts(report["new"]) == [("streak", None, ago(3))]  # the 7th day of the streak
    assert "(since " + ago(3) + ")" in shoetrack("status").stdout


def test_far_past_and_future_checks_record_nothing_and_change_nothing(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, "[alerts]\nstreak_days = 5\nacwr = 100\nweekly_jump_pct = 10000\n")
    shoetrack("shoes", "add", "Old", "--limit-km", "20", "--since", "2019-11-01")
    for n in range(20, 26):
        shoetrack("log", f"2019-11-{n}", 5, "--minutes", 30, "--shoe", "Old")
    shoetrack("shoes", "add", "Worn", "--limit-km", "10", "--since", ago(3))
    shoetrack("log", ago(2), 11, "--minutes", 60, "--shoe", "Worn")

    before = database_rows(shoetrack.db)
    past = shoetrack.json("check", "--as-of", "2019-11-24")
    assert alerts(past["active"]) == [("shoe_limit", "Old", "2019-11-23"), ("streak", None, "2019-11-24")]
    assert alerts(past["new"]) == [("streak", None, "2019-11-24")]  # new on its first day only
    future = shoetrack.json("check", "--as-of", (TODAY + timedelta(days=200)).isoformat())
    assert ("shoe_limit", "Worn", ago(2)) in alerts(future["active"])
    assert database_rows(shoetrack.db) == before  # neither wrote anything

    today = shoetrack.json("check")
    assert alerts(today["new"]) == alerts(today["active"]) == [
        ("shoe_limit", "Old", "2019-11-23"), ("shoe_limit", "Worn", ago(2))]
    shoetrack.json("check", "--as-of", (TODAY + timedelta(days=300)).isoformat())
    shoetrack.json("check", "--as-of", "2019-11-22")
    assert shoetrack.json("check")["new"] == []  # the future check did not end today's episodes


def test_an_import_revealing_an_old_episode_is_not_announced(shoetrack, tmp_path, inbox):
    configure(shoetrack, tmp_path, "[alerts]\nstreak_days = 5\nacwr = 100\nweekly_jump_pct = 10000\n")
    for n in range(40, 32, -1):  # an eight-day streak that ended a month ago
        write(inbox / "old" / f"{n}.fit", fitgen.run(f"{ago(n)}T07:00:00Z", km=6))
    shoetrack("import", inbox / "old")
    assert shoetrack.json("check")["new"] == []
    assert alerts(shoetrack.json("check", "--as-of", ago(36))["active"]) == [("streak", None, ago(36))]

    for n in range(5, -1, -1):  # a streak still going when it is first seen
        write(inbox / "new" / f"{n}.fit", fitgen.run(f"{ago(n)}T07:00:00Z", km=6))
    shoetrack("import", inbox / "new")
    assert alerts(shoetrack.json("check")["new"]) == [("streak", None, ago(1))]
    assert shoetrack.json("check")["new"] == []


def test_a_correction_to_the_history_moves_the_episode_but_does_not_repeat_it(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, "[alerts]\nstreak_days = 5\nacwr = 100\nweekly_jump_pct = 10000\n")
    for n in range(5, -1, -1):
        shoetrack("log", ago(n), 5, "--minutes", 30)
    assert alerts(shoetrack.json("check")["new"]) == [("streak", None, ago(1))]
    shoetrack("log", ago(6), 5, "--minutes", 30)  # a forgotten run makes the streak older
    report = shoetrack.json("check")
    assert report["new"] == [] and alerts(report["active"]) == [("streak", None, ago(2))]


def test_alert_texts_follow_the_runner_units(shoetrack, tmp_path):
    configure(shoetrack, tmp_path, 'units = "mi"\n[alerts]\nstreak_days = 100\nacwr = 100\n'
                                   "weekly_jump_pct = 10000\n[training]\nlong_run_km = 15\n")
    shoetrack("shoes", "add", "Road", "--default-for", "running", "--limit-km", "100km", "--since", ago(5))
    shoetrack("log", ago(1), "20km", "--minutes", 120)
    shoetrack("log", ago(0), "110km", "--minutes", 700)
    messages = [a["message"] for a in shoetrack.json("check")["active"]]
    assert "Road is worn out: 81 of 62 mi" in messages
    assert "Long runs on back-to-back days (12 mi, then 68 mi)" in messages
    evidence = shoetrack.json("why")["causes"]
    text = " ".join(e for cause in evidence for e in cause["evidence"])
    assert " km" not in text and "81 of 62 mi" in text
