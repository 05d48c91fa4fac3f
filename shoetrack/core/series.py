"""The history as series over time: weeks, calendar days, wear lines, alert episodes.

Pure: day totals, pairs' run days, the pain log and a day in; plain records out,
for the report page and the sparkline of `status`. A week here is the 7 days
ending on a day, counted back from the day asked about, so the last week is the
"this week" of `status` (the 7 days ending on that day) and the one before it its
"the week before".
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping

from . import training
from .alerts import Pain, Thresholds
from .episodes import History, PairHistory, day_view, episode_start

WEEK_DAYS = 7
PROJECTION_HORIZON_DAYS = 183  # a projection further ahead is drawn up to half a year from the day
SPARK = "▁▂▃▄▅▆▇█"


# -- weeks -------------------------------------------------------------------------

def week_ends(as_of: date, weeks: int) -> list[date]:
    """The last day of each of the `weeks` weeks ending on `as_of`, oldest first."""
    return [as_of - timedelta(days=WEEK_DAYS * (weeks - 1 - i)) for i in range(weeks)]


@dataclass(frozen=True)
class Week:
    """One 7-day week: on-foot distance, cross-training and the load ratio at its end."""

    start: date
    end: date
    foot_km: float
    cross_minutes: float
    acwr: float | None = None  # on the week's last day
    spike_fired: bool = False  # a load_spike episode began in the week
    spike_held: bool = False  # load_spike held on at least one of its days


def weekly_totals(days: Mapping[date, training.Day], as_of: date, weeks: int) -> list[tuple[date, date, float, float]]:
    """(first day, last day, on-foot km, cross-training minutes) of each week, oldest first."""
    found = []
    for end in week_ends(as_of, weeks):
        week = [days.get(end - timedelta(days=i), training.EMPTY) for i in range(WEEK_DAYS)]
        found.append((end - timedelta(days=WEEK_DAYS - 1), end, sum(d.foot_km for d in week),
                      sum(d.cross_minutes for d in week)))
    return found


def weekly_km(days: Mapping[date, training.Day], as_of: date, weeks: int) -> list[float]:
    """On-foot km of each week ending on `as_of`, oldest first, to the metre."""
    return [round(km, 3) for _, _, km, _ in weekly_totals(days, as_of, weeks)]


def sparkline(values: list[float]) -> str:
    """One block character per value, ▁ (none) to █ (the largest), scaled from zero."""
    top = max(values, default=0)
    if not top or not math.isfinite(top):
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, max(0, round(v / top * (len(SPARK) - 1))))] for v in values)


def weeks_of(history: History, as_of: date, weeks: int, spans: list["Span"]) -> list[Week]:
    """Each week's totals, its load ratio and whether load_spike began or held in it."""
    spikes = [s for s in spans if s.kind == "load_spike"]
    found = []
    for start, end, km, cross in weekly_totals(history.days, as_of, weeks):
        fired = any(start <= s.start <= end and not s.began_earlier for s in spikes)
        held = any(s.start <= end and start <= s.end for s in spikes)
        found.append(Week(start, end, km, cross, training.acwr(history.days, end, history.first_day), fired, held))
    return found


# -- the calendar ----------------------------------------------------------------------

@dataclass(frozen=True)
class CalendarDay:
    day: date
    foot_km: float
    cross_minutes: float
    longest_km: float
    on_foot: bool
    long_run: bool
    pains: tuple[Pain, ...]

    @property
    def kind(self) -> str:
        """run (any on-foot session), cross (low-impact only) or rest."""
        if self.on_foot:
            return "run"
        return "cross" if self.cross_minutes > 0 else "rest"


def calendar(days: Mapping[date, training.Day], pains: list[Pain], as_of: date, *, weeks: int,
             long_run_km: float) -> list[CalendarDay]:
    """One entry per day of the `weeks` weeks ending on `as_of`, oldest first."""
    first = as_of - timedelta(days=WEEK_DAYS * weeks - 1)
    by_day: dict[date, list[Pain]] = {}
    for pain in pains:
        if first <= pain.day <= as_of:
            by_day.setdefault(pain.day, []).append(pain)
    cells = []
    for i in range(WEEK_DAYS * weeks):
        day = first + timedelta(days=i)
        d = days.get(day, training.EMPTY)
        cells.append(CalendarDay(day, d.foot_km, d.cross_minutes, d.longest_km, d.on_foot,
                                 d.on_foot and d.longest_km >= long_run_km, tuple(by_day.get(day, ()))))
    return cells


# -- wear lines --------------------------------------------------------------------------

def wear_line(pair: PairHistory, as_of: date, *, max_points: int = 240) -> list[tuple[date, float]]:
    """A pair's distance (start distance included) over time up to `as_of`: its first day,
    then the end of each day it ran, then its last day (`as_of`, or its retirement day once
    retired). With more run days than `max_points`, the last day of each stretch of days
    stands for the stretch; the first and last points stay exact."""
    settings = pair.settings
    count = bisect_right(pair.days, as_of)
    days, cum = pair.days[:count], pair.cum_km[:count]
    origin = settings.since or (days[0] if days else None)
    retired = settings.retired_on is not None and settings.retired_on <= as_of
    end = max([settings.retired_on, *days[-1:]]) if retired else as_of
    if origin is None:
        origin = end
    if origin > as_of:
        return []
    points = [(origin, settings.start_km)] + [(d, settings.start_km + km) for d, km in zip(days, cum)]
    final = points[-1][1]
    if end > points[-1][0]:
        points.append((end, final))
    if len(points) > max_points:
        step = math.ceil(((points[-1][0] - origin).days + 1) / (max_points - 2))
        kept = {}
        for day, km in points[1:-1]:
            kept[(day - origin).days // step] = (day, km)  # the last of each stretch
        points = [points[0], *kept.values(), points[-1]]
    return points


def projection(distance_km: float, limit_km: float, as_of: date, limit_day: date | None, *,
               horizon_days: int = PROJECTION_HORIZON_DAYS) -> list[tuple[date, float]] | None:
    """The straight line from today's distance to the limit on the projected day, cut at
    `horizon_days` from `as_of`; None when there is no day ahead to draw to."""
    if limit_day is None or limit_day <= as_of or distance_km >= limit_km:
        return None
    end = min(limit_day, as_of + timedelta(days=horizon_days))
    share = (end - as_of).days / (limit_day - as_of).days
    return [(as_of, distance_km), (end, distance_km + (limit_km - distance_km) * share)]


# -- alert episodes over a stretch of days -----------------------------------------------

@dataclass(frozen=True)
class Span:
    """An episode of one alert condition: the days it held, within the stretch asked about."""

    kind: str
    subject: str | None
    start: date  # its first day (before the stretch when it began earlier, if that is known)
    end: date  # its last day in the stretch
    message: str  # the condition's words on its last day
    advice: str
    began_earlier: bool = False  # it began before the stretch (or when, is not known)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def spans(history: History, first: date, last: date, t: Thresholds) -> list[Span]:
    """Every episode holding on some day from `first` to `last`, by first day.

    An episode holding on `first` is given its real first day when the history
    loaded reaches back to it (see episode_start)."""
    found: list[Span] = []
    open_: dict[tuple[str, str | None], Span] = {}
    day = first
    while day <= last:
        holding = {}
        for condition in day_view(history, day, t).conditions:
            holding[(condition.kind, condition.subject)] = condition
        for key in [k for k in open_ if k not in holding]:
            found.append(open_.pop(key))
        for key, condition in holding.items():
            if key in open_:
                open_[key] = Span(key[0], key[1], open_[key].start, day, condition.message, condition.advice,
                                  open_[key].began_earlier)
            else:
                start, earlier = day, False
                if day == first:  # it may have begun before the stretch
                    known = episode_start(history, key[0], key[1], day, t)
                    start, earlier = (known, known < first) if known else (day, True)
                open_[key] = Span(key[0], key[1], start, day, condition.message, condition.advice, earlier)
        day += timedelta(days=1)
    found.extend(open_.values())
    return sorted(found, key=lambda s: (s.start, s.kind, s.subject or ""))
