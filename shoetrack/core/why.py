"""Why might the ankles hurt? The article's causes, weighed against the data.

Pure: takes the same inputs as the alerts plus the recent pain log, returns
the causes ranked, each with its evidence in words and the advice that fits.
Scores run from 0 to 100; they order the causes, they are not probabilities.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from . import advice
from .alerts import Condition, Pain, Thresholds, pain_days
from .training import Load
from .wear import Usage, age_days

RECENT_USE_DAYS = 14
INJURY_WEEKS = 8


@dataclass
class Cause:
    cause: str
    subject: str | None
    score: int
    evidence: list[str] = field(default_factory=list)
    advice: str = ""

    def as_dict(self) -> dict:
        return {"cause": self.cause, "subject": self.subject, "score": self.score,
                "evidence": self.evidence, "advice": self.advice}


def _clamp(value: float) -> int:
    return int(max(0, min(100, round(value))))


def worn_shoes(pairs: list[Usage], as_of: date, t: Thresholds, other: dict[str, str | None]) -> Cause:
    recent = [p for p in pairs if p.last_run and (as_of - p.last_run).days < RECENT_USE_DAYS]
    if not recent:
        return Cause("worn_shoes", None, 0, ["no tracked pair was worn in the last 14 days"],
                     advice.PAIRS_FINE)
    worst = max(recent, key=lambda p: (p.wear_pct, p.name))
    evidence = [f"{p.name}: {advice.amount(p.distance_km, t.units)} of {advice.distance(p.limit_km, t.units)} "
                f"({p.wear_pct:.0f} %), "
                f"last worn {p.last_run}" for p in sorted(recent, key=lambda p: -p.wear_pct)]
    score = (worst.wear_pct - 50) * 2
    age = age_days(worst, as_of)
    if t.shoe_max_age_days and age is not None and age > t.shoe_max_age_days:
        evidence.append(f"{worst.name}: in service {age} days (your limit is {t.shoe_max_age_days})")
        score += 20
    new = [p for p in pairs if p.since and 0 <= (as_of - p.since).days < RECENT_USE_DAYS]
    evidence += [f"changed recently: {p.name} in service since {p.since}" for p in new]
    if score >= 60:
        text = f"{advice.worn_pair_advice(worst.name, other.get(worst.name), worst.worn_out)} {advice.REPLACE}"
    else:
        text = advice.PAIRS_FINE
    return Cause("worn_shoes", worst.name, _clamp(score), evidence, text)


def overtraining(load: Load, t: Thresholds) -> Cause:
    evidence, score = [], 0.0
    evidence.append(f"{load.streak_days} running day{'s' if load.streak_days != 1 else ''} in a row")
    if load.streak_days >= t.streak_days:
        score += 40
    evidence.append(f"{load.rest_days_7} day{'s' if load.rest_days_7 != 1 else ''} without running "
                    f"and {load.idle_days_7} fully idle in the last 7")
    if load.idle_days_7 == 0:
        score += 20
    if load.back_to_back_km:
        evidence.append(f"long runs on consecutive days: {advice.distance(load.back_to_back_km[0], t.units)} "
                        f"and {advice.distance(load.back_to_back_km[1], t.units)}")
        score += 25
    if load.weekly_jump_pct is not None:
        evidence.append(f"{advice.distance(load.week_km, t.units)} in the last 7 days, "
                        f"{advice.distance(load.last_week_km, t.units)} the 7 before "
                        f"({load.weekly_jump_pct:+.0f} %)")
        if load.weekly_jump_pct >= t.weekly_jump_pct:
            score += 25
    else:
        evidence.append(f"{advice.distance(load.week_km, t.units)} in the last 7 days")
    if load.acwr is not None:
        evidence.append(f"acute:chronic load ratio {load.acwr:.2f} (caution from {t.acwr:g})")
        if load.acwr >= t.acwr:
            score += 30
    if load.monotony is not None:
        evidence.append(f"training monotony {load.monotony:.1f} (caution from {t.monotony:g})")
        if load.monotony >= t.monotony:
            score += 15
    if load.cross_minutes_7:
        evidence.append(f"{load.cross_minutes_7:.0f} min of low-impact cross-training in the last 7 days")
    return Cause("overtraining", None, _clamp(score), evidence, advice.LOAD_ADVICE)


def old_injury(pains: list[Pain], as_of: date) -> Cause:
    start = as_of - timedelta(weeks=INJURY_WEEKS) + timedelta(days=1)
    painful = [p for p in pains if start <= p.day <= as_of and p.level >= 3]
    weeks = {(as_of - p.day).days // 7 for p in painful}
    sides = Counter(p.side for p in painful if p.side in ("left", "right"))
    evidence = [f"pain of 3/10 or more in {len(weeks)} of the last {INJURY_WEEKS} weeks"]
    score = 15 * len(weeks) if len(weeks) >= 2 else 0
    if sides:
        side, count = sides.most_common(1)[0]
        share = count / sum(sides.values())
        evidence.append(f"{count} of {sum(sides.values())} entries on the {side} side")
        if share >= 0.7 and len(weeks) >= 2:
            score += 20
    return Cause("old_injury", None, _clamp(score), evidence, advice.OLD_INJURY)


def persistent_pain(conditions: list[Condition], pains: list[Pain], as_of: date) -> Cause:
    held = next((c for c in conditions if c.kind == "pain_persists"), None)
    if held:
        return Cause("persistent_pain", None, 95, [held.message], advice.SPECIALIST)
    week = pain_days(pains, as_of - timedelta(days=6), as_of, 4)
    return Cause("persistent_pain", None, 10 * len(week),
                 [f"pain of 4/10 or more on {len(week)} of the last 7 days; "
                  "no corrective step 2 to 8 weeks ago to judge it against"], advice.SPECIALIST)


def unseen(cause: str, remedy: str, base: int) -> Cause:
    return Cause(cause, None, base, [advice.CANNOT_TELL], remedy)


def rank(as_of: date, *, load: Load, pairs: list[Usage], pains: list[Pain],
         conditions: list[Condition], thresholds: Thresholds,
         other_pair: dict[str, str | None]) -> list[Cause]:
    """The causes, most likely first; ties keep the article's order."""
    shoes = worn_shoes(pairs, as_of, thresholds, other_pair)
    load_cause = overtraining(load, thresholds)
    recent_pain = bool(pain_days(pains, as_of - timedelta(days=13), as_of, 1))
    # With shoes and load in order, the causes the data cannot see are what is left.
    by_elimination = 45 if recent_pain and shoes.score < 40 and load_cause.score < 40 else 20
    causes = [
        shoes,
        unseen("tight_foot_muscles", advice.BALL_MASSAGE, by_elimination),
        unseen("ankle_mobility", advice.ANKLE_MOBILITY, by_elimination - 5),
        old_injury(pains, as_of),
        load_cause,
        persistent_pain(conditions, pains, as_of),
    ]
    order = {c.cause: i for i, c in enumerate(causes)}
    return sorted(causes, key=lambda c: (-c.score, order[c.cause]))
