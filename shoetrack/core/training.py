"""Training load from the runner's days: streaks, rest, load jumps, monotony.

Pure: takes per-day totals and a date, returns numbers. Load is on-foot
distance (km): that is what the foot and ankle carry. Cross-training
(cycling, swimming, rowing, strength...) is low-impact: it breaks a run
streak (rest for the ankle) but a day with it is not an idle day.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping


@dataclass(frozen=True)
class Day:
    """What one calendar day held."""

    foot_km: float = 0.0
    foot_minutes: float = 0.0
    cross_minutes: float = 0.0
    longest_km: float = 0.0  # the longest single on-foot session
    on_foot: bool = False  # any on-foot session, even one without a distance

    @property
    def idle(self) -> bool:
        return not self.on_foot and self.cross_minutes <= 0


EMPTY = Day()


@dataclass(frozen=True)
class Load:
    """Training-load figures on one day (`as_of`), each None where undefined."""

    as_of: date
    streak_days: int  # consecutive on-foot days ending on as_of
    rest_days_7: int  # days without on-foot activity in the 7 ending on as_of
    idle_days_7: int  # days without any training in those 7
    back_to_back_km: tuple[float, float] | None  # (yesterday, today) when both held a long run
    week_km: float  # the 7 days ending on as_of
    last_week_km: float  # the 7 days before those
    weekly_jump_pct: float | None  # None when last week had no distance
    acwr: float | None  # None until 28 days of history exist
    monotony: float | None  # None when every day of the week carried the same load
    cross_minutes_7: float


def _window(days: Mapping[date, Day], end: date, length: int) -> list[Day]:
    return [days.get(end - timedelta(days=i), EMPTY) for i in range(length)]


def streak(days: Mapping[date, Day], as_of: date) -> int:
    """Consecutive days with on-foot activity, ending on `as_of` (0 if it had none)."""
    count = 0
    while days.get(as_of - timedelta(days=count), EMPTY).on_foot:
        count += 1
    return count


def acwr(days: Mapping[date, Day], as_of: date, first_day: date | None) -> float | None:
    """Acute:chronic workload ratio: the last 7 days against the 28-day weekly average.

    Undefined until 28 days of history exist (the first activity at least 27
    days before `as_of`) or when the chronic load is zero.
    """
    if first_day is None or (as_of - first_day).days < 27:
        return None
    acute = sum(d.foot_km for d in _window(days, as_of, 7))
    chronic = sum(d.foot_km for d in _window(days, as_of, 28)) / 4
    return None if chronic <= 0 else acute / chronic


def monotony(days: Mapping[date, Day], as_of: date) -> float | None:
    """Foster's monotony: mean daily load / its standard deviation over 7 days (rest = 0)."""
    loads = [d.foot_km for d in _window(days, as_of, 7)]
    spread = statistics.pstdev(loads)
    return None if spread == 0 else statistics.fmean(loads) / spread


def load(days: Mapping[date, Day], as_of: date, *, first_day: date | None, long_run_km: float) -> Load:
    """Every load figure on `as_of`."""
    week = _window(days, as_of, 7)
    before = _window(days, as_of - timedelta(days=7), 7)
    week_km = sum(d.foot_km for d in week)
    last_week_km = sum(d.foot_km for d in before)
    last_day, day_before = week[0], week[1]
    return Load(
        as_of=as_of,
        streak_days=streak(days, as_of),
        rest_days_7=sum(1 for d in week if not d.on_foot),
        idle_days_7=sum(1 for d in week if d.idle),
        back_to_back_km=(day_before.longest_km, last_day.longest_km)
        if last_day.longest_km >= long_run_km and day_before.longest_km >= long_run_km else None,
        week_km=week_km,
        last_week_km=last_week_km,
        weekly_jump_pct=None if last_week_km <= 0 else 100 * (week_km - last_week_km) / last_week_km,
        acwr=acwr(days, as_of, first_day),
        monotony=monotony(days, as_of),
        cross_minutes_7=sum(d.cross_minutes for d in week),
    )


def rest_weeks_ended(days: Mapping[date, Day], start: date, end: date) -> list[date]:
    """Days in [start, end] that close 7 days in a row without on-foot activity."""
    found, run = [], 0
    day = start - timedelta(days=6)
    while day <= end:
        run = 0 if days.get(day, EMPTY).on_foot else run + 1
        if run >= 7 and day >= start:
            found.append(day)
        day += timedelta(days=1)
    return found
