"""Alert episodes: which conditions hold on a day, and the day each one began.

Pure: a `History` (day totals, each pair's run days, the pain log) and a day
in, conditions and their first days out. Nothing here depends on when, or in
which order, anyone asked: the same history and day always give the same
answer. An episode is the longest stretch of consecutive days, ending on the
day asked about, on which the condition held.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Mapping

from . import training, wear
from .alerts import (SHOE_KINDS, Condition, Pain, Thresholds, evaluate, load_conditions,
                     shoe_conditions)

LOAD_KINDS = ("streak", "no_rest", "load_spike")
HISTORY_DAYS = 70  # a day's figures look this far back: 28-day load, rest weeks 2 to 8 weeks back


@dataclass(frozen=True)
class PairHistory:
    """A pair's settings (as a Usage with no runs) and its runs, per day, oldest first."""

    settings: wear.Usage
    days: tuple[date, ...] = ()
    cum_km: tuple[float, ...] = ()  # km of the runs up to and including each day
    cum_runs: tuple[int, ...] = ()

    @classmethod
    def build(cls, settings: wear.Usage, per_day: list[tuple[date, int, float]]) -> "PairHistory":
        """From (day, runs, km) rows, oldest first."""
        days, cum_km, cum_runs = [], [], []
        km = runs = 0
        for day, count, distance in per_day:
            km += distance
            runs += count
            days.append(day)
            cum_km.append(km)
            cum_runs.append(runs)
        return cls(settings, tuple(days), tuple(cum_km), tuple(cum_runs))

    def _km_before(self, day: date) -> float:
        i = bisect_left(self.days, day)
        return self.cum_km[i - 1] if i else 0.0

    def usage_on(self, day: date) -> wear.Usage:
        """The pair's usage counting its runs up to `day`."""
        i = bisect_right(self.days, day)
        if not i:
            return self.settings
        recent_from = day - timedelta(days=wear.PROJECTION_DAYS - 1)
        usage = replace(self.settings, run_km=self.cum_km[i - 1], runs=self.cum_runs[i - 1],
                        first_run=self.days[0], last_run=self.days[i - 1],
                        recent_km=self.cum_km[i - 1] - self._km_before(recent_from))
        if usage.worn_out:
            needed = usage.limit_km - usage.start_km
            j = bisect_left(self.cum_km, needed - 1e-9, 0, i)
            usage = replace(usage, crossed_on=self.days[min(j, i - 1)])
        return usage

    @property
    def name(self) -> str:
        return self.settings.name


@dataclass(frozen=True)
class History:
    """What the alerts read, as plain data.

    `days` holds the day totals from `loaded_from` on (None: the whole history);
    `origin` is the first day anything is known of (a session, a pain entry, a
    pair's first day), before which no episode can have begun.
    """

    days: Mapping[date, training.Day]
    loaded_from: date | None
    first_day: date | None  # the first on-foot day
    origin: date | None
    pairs: tuple[PairHistory, ...] = ()
    pains: tuple[Pain, ...] = ()


def corrective_steps(days: Mapping[date, training.Day], pairs: list[wear.Usage], as_of: date,
                     first_day: date | None) -> list[tuple[date, str]]:
    """Corrective steps the data shows: a pair put in service, a week without running
    (only once the history has begun: the weeks before it say nothing)."""
    steps = [((p.since or p.first_run), f"switching to {p.name} on {p.since or p.first_run}")
             for p in pairs if p.since or p.first_run]
    if first_day is not None:
        start = max(as_of - timedelta(days=HISTORY_DAYS - 7), first_day + timedelta(days=7))
        steps += [(d, f"a week without running up to {d}") for d in training.rest_weeks_ended(days, start, as_of)]
    return steps


@dataclass(frozen=True)
class Day:
    """Everything the alerts look at on one day, and the conditions that hold."""

    as_of: date
    load: training.Load
    every_pair: list[wear.Usage]
    pairs: list[wear.Usage]  # in service that day
    next_pair: dict[str, str]
    conditions: list[Condition]


def _load(history: History, day: date, t: Thresholds) -> training.Load:
    return training.load(history.days, day, first_day=history.first_day, long_run_km=t.long_run_km)


def day_view(history: History, day: date, t: Thresholds) -> Day:
    """The figures and the conditions holding on `day`."""
    load = _load(history, day, t)
    every_pair = [p.usage_on(day) for p in history.pairs]
    in_service = [u for u in every_pair if wear.in_service(u, day)]
    next_pair = wear.next_pair(in_service)
    pains = [p for p in history.pains if day - timedelta(days=HISTORY_DAYS) <= p.day <= day]
    conditions = evaluate(day, load=load, pairs=in_service, pains=pains,
                          steps=corrective_steps(history.days, every_pair, day, history.first_day),
                          thresholds=t, next_pair=next_pair)
    return Day(day, load, every_pair, in_service, next_pair, conditions)


def holds(history: History, kind: str, subject: str | None, day: date, t: Thresholds) -> bool:
    """Whether the condition (kind, subject) holds on `day`, computing only what it needs."""
    if kind in SHOE_KINDS:
        pair = next((p for p in history.pairs if p.name == subject), None)
        if pair is None:
            return False
        usage = pair.usage_on(day)
        if not wear.in_service(usage, day):
            return False
        found = shoe_conditions([usage], day, t, {})
    elif kind in LOAD_KINDS:
        found = load_conditions(_load(history, day, t), t)
    else:
        found = day_view(history, day, t).conditions
    return any(c.kind == kind and c.subject == subject for c in found)


def _shoe_start(history: History, kind: str, subject: str | None, day: date, t: Thresholds) -> date | None:
    """Where a pair's episode must begin, worked out from its run days: the latest of
    the day it went into service, the day its wear entered the band the alert names,
    and (shoe_old) the day it grew too old. None when the pair is unknown."""
    pair = next((p for p in history.pairs if p.name == subject), None)
    if pair is None:
        return None
    usage = pair.usage_on(day)
    bounds = [usage.since]
    if kind == "shoe_old":
        origin = usage.since or usage.first_run
        bounds.append(origin + timedelta(days=(t.shoe_max_age_days or 0) + 1) if origin else None)
    else:
        threshold = 100.0 if kind == "shoe_limit" else t.shoe_warn_pct
        count = bisect_right(pair.days, day)

        def reached(i: int) -> bool:
            return replace(pair.settings, run_km=pair.cum_km[i]).wear_pct >= threshold

        if not replace(pair.settings, run_km=0.0).wear_pct >= threshold:  # not there on start km alone
            bounds.append(pair.days[bisect_left(range(count), True, key=reached)] if count else None)
    known = [b for b in bounds if b is not None]
    return max(known) if known else None


def _streak_start(history: History, day: date, t: Thresholds) -> date | None:
    """The day the run of on-foot days ending on `day` reached `streak_days`."""
    first = day
    while history.days.get(first - timedelta(days=1), training.EMPTY).on_foot:
        first -= timedelta(days=1)
    if history.loaded_from is not None and first <= history.loaded_from:
        return None
    return first + timedelta(days=t.streak_days - 1)


def _scan_start(history: History, kind: str, subject: str | None, day: date, t: Thresholds,
                floor: date) -> date:
    start = day
    while start > floor and holds(history, kind, subject, start - timedelta(days=1), t):
        start -= timedelta(days=1)
    return start


def episode_start(history: History, kind: str, subject: str | None, day: date, t: Thresholds) -> date | None:
    """The first day of the episode of (kind, subject) holding on `day`.

    Returns None when the answer lies before the day totals loaded: the caller
    loads the whole history and asks again.
    """
    origin = min(history.origin or day, day)
    if kind in SHOE_KINDS or kind == "streak":
        found = _shoe_start(history, kind, subject, day, t) if kind in SHOE_KINDS else _streak_start(history, day, t)
        if found is None and kind == "streak":
            return None
        start = min(max(found or origin, origin), day)
        # The direct answer is checked at its edges; a rounding surprise falls back to a scan.
        if holds(history, kind, subject, start, t) and (
                start == origin or not holds(history, kind, subject, start - timedelta(days=1), t)):
            return start
        if kind in SHOE_KINDS:
            return _scan_start(history, kind, subject, day, t, origin)
    floor = origin
    if history.loaded_from is not None:
        floor = max(floor, history.loaded_from + timedelta(days=HISTORY_DAYS))
    start = _scan_start(history, kind, subject, day, t, floor)
    if start == floor and floor > origin:
        return None
    return start


@dataclass(frozen=True)
class Episode:
    condition: Condition
    started: date

    @property
    def key(self) -> tuple[str, str]:
        return self.condition.kind, self.condition.subject or ""


def first_unsnoozed(started: date, silent_until: date | None) -> date:
    """The first day an episode could be announced: its first day, or the end of a
    snooze covering it (a snooze is silent on the days before its end)."""
    return max(started, silent_until) if silent_until else started
