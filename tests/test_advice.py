"""Advice wording: the project's own words, worded as suggestions."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shoetrack.core import advice
from tests.helpers import SHARED

ARTICLE = SHARED / "seed" / "ankle-pain-after-running.txt"
WORDING = [Path(advice.__file__), *sorted((Path(advice.__file__).parents[1] / "cli").glob("*.py"))]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def user_strings() -> list[str]:
    found = []
    for path in WORDING:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 20:
                found.append(node.value)
    return found


@pytest.mark.skipif(not ARTICLE.is_file(), reason="../shared/seed is not present")
def test_no_advice_copies_the_article():
    article = ngrams(words(ARTICLE.read_text()), 6)
    for text in user_strings():
        shared = ngrams(words(text), 6) & article
        assert not shared, f"copies the article: {' '.join(next(iter(shared)))!r} in {text[:60]!r}"


def test_advice_suggests_and_never_diagnoses():
    texts = [advice.REPLACE, advice.BALL_MASSAGE, advice.ANKLE_MOBILITY, advice.REST, advice.LOW_IMPACT,
             advice.SPECIALIST, advice.OLD_INJURY, advice.LOAD_ADVICE, advice.SPIKE_ADVICE]
    for text in texts:
        lowered = text.lower()
        assert "you have " not in lowered and "diagnos" not in lowered, text
    assert "not a medical diagnosis" in advice.NOT_A_DIAGNOSIS


def test_the_mobility_warm_up_gives_sets_and_reps():
    assert "20 circles" in advice.ANKLE_MOBILITY
    assert "2 to 3 rounds" in advice.ANKLE_MOBILITY and "1 or 2 more" in advice.ANKLE_MOBILITY
    assert "alphabet" in advice.ANKLE_MOBILITY and "twice per foot" in advice.ANKLE_MOBILITY


def test_notification_body_is_short_and_points_to_why():
    body = advice.notification_body(advice.LOAD_ADVICE)
    assert body.endswith("More: shoetrack why")
    assert body.count(". ") <= 2


def test_a_watch_import_is_told_in_one_line_counting_runs_apart_from_other_sports():
    assert advice.arrival_summary(3, 0, "Forerunner 245", [("Road A", 78.4)]) == \
        "3 runs from Forerunner 245 · Road A now 78 %"
    assert advice.arrival_summary(1, 1, "FR", []) == "1 run and 1 other activity from FR"
    assert advice.arrival_summary(4, 6, "FR", [("A", 10), ("B", 3.2)]) == \
        "4 runs and 6 other activities from FR · A now 10 % · B now 3 %"
    assert advice.arrival_summary(0, 2, "FR", []) == "2 activities from FR"  # rides wear no shoes
    body = advice.arrival_body([("Road A", 82.0), ("Trail", 40.0)], unattributed=2, warn_pct=80)
    assert body.startswith("Road A is near the end of its life: shoetrack why")
    assert "2 of them in no tracked pair: shoetrack assign" in body
    assert "Trail" not in body
