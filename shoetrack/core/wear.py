"""How worn each pair is, when it will reach its limit, and which to wear next.

Pure: usage figures and a date in, plain values out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

PROJECTION_DAYS = 28  # how far back the recent pace of use is measured
PROJECTION_HORIZON_DAYS = 3650  # a limit further away than this is no date worth showing


@dataclass(frozen=True)
class Usage:
    """One pair's record up to a day: what the store sums, plus the pair's settings."""

    name: str
    limit_km: float
    start_km: float = 0.0
    run_km: float = 0.0  # sum of the attributed runs' distances
    runs: int = 0
    first_run: date | None = None
    last_run: date | None = None
    recent_km: float = 0.0  # km in the PROJECTION_DAYS up to the day
    since: date | None = None
    retired_on: date | None = None
    crossed_on: date | None = None  # the day the runs took it past its limit
    default_for: tuple[str, ...] = ()

    @property
    def distance_km(self) -> float:
        return round(self.start_km + self.run_km, 5)

    @property
    def wear_pct(self) -> float:
        return round(100 * self.distance_km / self.limit_km, 1)

    @property
    def worn_out(self) -> bool:
        return self.distance_km >= self.limit_km


def in_service(usage: Usage, day: date) -> bool:
    """Whether the pair was in service on `day` (its since day up to its retirement day)."""
    return (usage.since is None or usage.since <= day) and (usage.retired_on is None or day <= usage.retired_on)


def day_limit_reached(start_km: float, limit_km: float,
                      runs: Iterable[tuple[str, float | None]]) -> date | None:
    """The day a pair reached its limit, given its (day, metres) runs oldest first.

    Stops reading as soon as the limit is reached.
    """
    metres, limit_m = start_km * 1000, limit_km * 1000
    for day, distance in runs:
        metres += distance or 0
        if metres >= limit_m:
            return date.fromisoformat(day)
    return None


def projected_limit_date(usage: Usage, as_of: date) -> date | None:
    """The day the pair reaches its limit at its pace of the last 28 days.

    Already past it: the day it got there. Unused in those 28 days, or more than
    ten years away at that pace: None.
    """
    if usage.worn_out:
        return usage.crossed_on or usage.since or as_of
    if usage.recent_km <= 0:
        return None
    per_day = usage.recent_km / PROJECTION_DAYS
    days = math.ceil((usage.limit_km - usage.distance_km) / per_day)
    return None if days > PROJECTION_HORIZON_DAYS else as_of + timedelta(days=days)


def age_days(usage: Usage, as_of: date) -> int | None:
    """Days since the pair went into service (or its first run, when no date was given)."""
    start = usage.since or usage.first_run
    return None if start is None else max((as_of - start).days, 0)


def retire_first(usages: list[Usage], warn_pct: float) -> list[Usage]:
    """Pairs at or past `warn_pct` of their life, the most worn first."""
    return sorted((u for u in usages if u.wear_pct >= warn_pct), key=lambda u: (-u.wear_pct, u.name))


def next_pair(usages: list[Usage]) -> dict[str, str]:
    """For each sport (or sport/sub-sport) with a default pair: the pair to wear next.

    Spreading runs over several pairs lets each midsole recover; the pair
    rested longest (never used counts as longest) goes next, pairs past their
    limit only when nothing else is left, and the less worn wins a tie.
    """
    choices: dict[str, str] = {}
    keys = sorted({k for u in usages for k in u.default_for})
    for key in keys:
        candidates = [u for u in usages if key in u.default_for]
        fresh = [u for u in candidates if not u.worn_out] or candidates
        best = min(fresh, key=lambda u: (u.last_run or date.min, u.wear_pct, u.name))
        choices[key] = best.name
    return choices
