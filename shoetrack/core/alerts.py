"""Which alert conditions hold on a day, worded with the advice that fits.

Pure: takes the day's training load, the pairs' usage, the pain log and the
corrective steps the runner took, and returns the conditions that hold. The
service turns conditions into episodes: an alert fires on the day its
condition starts, stays active while it holds, and re-arms when it clears.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from . import advice
from .training import Load
from .wear import Usage, age_days

KINDS = ("shoe_worn", "shoe_limit", "shoe_old", "streak", "no_rest", "load_spike",
         "pain_persists", "pain_with_cause")
SHOE_KINDS = ("shoe_worn", "shoe_limit", "shoe_old")
# The alerts that can explain pain, most telling first.
CAUSE_ORDER = ("shoe_limit", "shoe_worn", "load_spike", "no_rest", "streak", "shoe_old")

PAIN_LEVEL_PERSISTS = 4  # 0-10 scale
PAIN_DAYS_PERSISTS = 3  # of the last 7
AFTER_STEP_DAYS = 14  # pain still there this long after a corrective step...
STEP_LOOKBACK_DAYS = 56  # ...taken no longer ago than this
PAIN_RECENT_DAYS = 3  # pain this recent counts for pain_with_cause


@dataclass(frozen=True)
class Thresholds:
    streak_days: int = 7
    acwr: float = 1.5
    weekly_jump_pct: float = 30.0
    monotony: float = 2.0
    shoe_warn_pct: float = 80.0
    shoe_max_age_days: int | None = None
    long_run_km: float = 18.0
    units: str = "km"  # how distances are written in messages: km or mi


@dataclass(frozen=True)
class Pain:
    day: date
    level: int
    side: str | None = None


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str | None
    message: str
    advice: str


def other_pair(usage: Usage, pairs: list[Usage], next_pair: dict[str, str]) -> str | None:
    """The pair to run in while this one is replaced: the suggested next pair for one of
    its uses, else any pair in service that is not worn out."""
    for key in usage.default_for:
        choice = next_pair.get(key)
        if choice and choice != usage.name:
            return choice
    fresh = sorted(p.name for p in pairs if p.name != usage.name and not p.worn_out)
    return fresh[0] if fresh else None


def shoe_conditions(pairs: list[Usage], as_of: date, t: Thresholds,
                    next_pair: dict[str, str]) -> list[Condition]:
    found = []
    for usage in pairs:
        other = other_pair(usage, pairs, next_pair)
        if usage.wear_pct >= 100:
            # The more severe alert speaks for both.
            found.append(Condition(
                "shoe_limit", usage.name,
                advice.shoe_limit_message(usage.name, usage.distance_km, usage.limit_km, t.units),
                advice.worn_pair_advice(usage.name, other, at_limit=True)))
        elif usage.wear_pct >= t.shoe_warn_pct:
            found.append(Condition(
                "shoe_worn", usage.name,
                advice.shoe_worn_message(usage.name, usage.distance_km, usage.limit_km, usage.wear_pct,
                                          t.units),
                advice.worn_pair_advice(usage.name, other, at_limit=False)))
        age = age_days(usage, as_of)
        if t.shoe_max_age_days and age is not None and age > t.shoe_max_age_days:
            found.append(Condition("shoe_old", usage.name, advice.shoe_old_message(usage.name, age),
                                   advice.old_pair_advice(usage.name, other)))
    return found


def load_conditions(load: Load, t: Thresholds) -> list[Condition]:
    found = []
    streaking = load.streak_days >= t.streak_days
    if streaking:
        found.append(Condition("streak", None, advice.streak_message(load.streak_days), advice.LOAD_ADVICE))
    # A streak already says "no rest"; no_rest speaks for weeks that mix running and
    # cross-training without an idle day, and for long runs on consecutive days.
    if (load.idle_days_7 == 0 and not streaking) or load.back_to_back_km:
        found.append(Condition("no_rest", None, advice.no_rest_message(load.back_to_back_km, t.units),
                               advice.LOAD_ADVICE))
    acwr_high = load.acwr is not None and load.acwr >= t.acwr
    jump_high = load.weekly_jump_pct is not None and load.weekly_jump_pct >= t.weekly_jump_pct
    if acwr_high or jump_high:
        found.append(Condition(
            "load_spike", None,
            advice.load_spike_message(load.week_km, load.last_week_km, load.weekly_jump_pct, load.acwr, t.acwr,
                                      t.units),
            advice.SPIKE_ADVICE))
    return found


def pain_days(pains: list[Pain], first: date, last: date, min_level: int) -> set[date]:
    return {p.day for p in pains if first <= p.day <= last and p.level >= min_level}


def latest_step(steps: list[tuple[date, str]], as_of: date) -> tuple[date, str] | None:
    """The most recent corrective step old enough to judge (14 to 56 days ago)."""
    window = [(d, what) for d, what in steps
              if as_of - timedelta(days=STEP_LOOKBACK_DAYS) <= d <= as_of - timedelta(days=AFTER_STEP_DAYS)]
    return max(window) if window else None


def pain_conditions(pains: list[Pain], as_of: date, steps: list[tuple[date, str]],
                    causes: list[Condition], next_pair: dict[str, str],
                    pairs: list[Usage]) -> list[Condition]:
    found = []
    week = pain_days(pains, as_of - timedelta(days=6), as_of, PAIN_LEVEL_PERSISTS)
    step = latest_step(steps, as_of)
    if len(week) >= PAIN_DAYS_PERSISTS and step:
        found.append(Condition("pain_persists", None, advice.pain_persists_message(len(week), step[1]),
                               advice.SPECIALIST))
    recent = pain_days(pains, as_of - timedelta(days=PAIN_RECENT_DAYS - 1), as_of, 1)
    by_kind = {c.kind: c for c in causes}
    cause = next((by_kind[k] for k in CAUSE_ORDER if k in by_kind), None)
    if recent and cause:
        phrase = advice.CAUSE_PHRASES[cause.kind].format(subject=cause.subject)
        usage = next((p for p in pairs if p.name == cause.subject), None)
        other = other_pair(usage, pairs, next_pair) if usage else None
        found.append(Condition("pain_with_cause", None, advice.pain_with_cause_message(phrase),
                               advice.pain_with_cause_advice(cause.kind, cause.subject, other)))
    return found


def evaluate(as_of: date, *, load: Load, pairs: list[Usage], pains: list[Pain],
             steps: list[tuple[date, str]], thresholds: Thresholds,
             next_pair: dict[str, str]) -> list[Condition]:
    """Every alert condition that holds on `as_of`, shoes first, pain last.

    `pairs` are the pairs in service that day; `steps` are (day, what) corrective
    steps such as a new pair or a rest week.
    """
    causes = shoe_conditions(pairs, as_of, thresholds, next_pair) + load_conditions(load, thresholds)
    return causes + pain_conditions(pains, as_of, steps, causes, next_pair, pairs)
