"""Which pair of shoes a run was done in, and why.

Pure: takes runs, pairs and pins as plain records, returns attributions. The
order of precedence is a pin, then the pair an export (Strava, Garmin) says the
run was done in, then the pair whose rules match (the more rules,
the more specific), then a sub-sport default (running/trail), then a sport
default (running). Only pairs in service on the run's day count for the
automatic choices. Ties go to the pair put in service last, then by name, so
the same data always gives the same answer.
"""

from __future__ import annotations

import bisect
import math
import operator
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable

from .sports import ON_FOOT, RUNNING, SPORTS, SUB_SPORTS, known

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NUMERIC_FIELDS = ("distance_km", "duration_min", "device_serial", "foot_pod_serial")
TEXT_FIELDS = ("sport", "sub_sport")
RULE_FIELDS = TEXT_FIELDS + NUMERIC_FIELDS + ("weekday",)
OPERATORS = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
MAX_SERIAL = 2**32 - 1  # FIT serial numbers are uint32
_RULE = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|!=|=|<|>)\s*(\S(?:.*\S)?)\s*$")


class RuleError(ValueError):
    """A rule or default that cannot be understood; the message says how to write it."""


class UnknownName(RuleError):
    """A sport or sub-sport FIT does not know; `name` is what was typed, `names` the
    FIT names it could have been (an edge may suggest the closest)."""

    def __init__(self, message: str, name: str, names: tuple[str, ...]):
        super().__init__(message)
        self.name = name
        self.names = names


@dataclass(frozen=True)
class Rule:
    field: str
    op: str
    value: object

    def __str__(self) -> str:
        value = f"{self.value:g}" if isinstance(self.value, float) else self.value
        return f"{self.field} {self.op} {value}"

    def holds(self, run: "RunFacts") -> bool:
        actual = run.weekday_index if self.field == "weekday" else getattr(run, self.field)
        expected = WEEKDAYS.index(self.value) if self.field == "weekday" else self.value
        if actual is None:
            return self.op == "!="
        return OPERATORS[self.op](actual, expected)


def _fit_name(text: str, field: str, where: str) -> str:
    """A sport or sub-sport typed by a person, as FIT writes it; UnknownName if FIT has none."""
    names = SPORTS if field == "sport" else SUB_SPORTS
    name = known(text, names)
    if name is None:
        kind = "sport" if field == "sport" else "sub-sport"
        raise UnknownName(f"{where}{text!r} is not a FIT {kind} name", text, names)
    return name


def parse_rule(text: str, *, stored: bool = False) -> Rule:
    """'FIELD OP VALUE' -> Rule. Raises RuleError naming what is wrong.

    A rule typed now must be able to match a run: sports and sub-sports are FIT
    names, numbers are finite and not negative, serial numbers fit FIT's 32 bits.
    A `stored` rule (read back from the database) is only parsed, so a rule saved
    by an earlier version never stops shoetrack from working.
    """
    match = _RULE.match(text)
    if not match:
        raise RuleError(f"rule {text!r} is not FIELD OP VALUE, e.g. 'distance_km >= 15'")
    field, op, raw = match.groups()
    if field not in RULE_FIELDS:
        raise RuleError(f"rule {text!r}: unknown field {field!r}; use one of {', '.join(RULE_FIELDS)}")
    if field in TEXT_FIELDS:
        if op not in ("=", "!="):
            raise RuleError(f"rule {text!r}: {field} can only be compared with = or !=")
        if stored:
            return Rule(field, op, raw.lower())
        value = _fit_name(raw, field, f"rule {text!r}: ")
        if field == "sport" and op == "=" and value not in ON_FOOT:
            raise RuleError(f"rule {text!r}: only on-foot sports wear shoes ({', '.join(sorted(ON_FOOT))})")
        return Rule(field, op, value)
    if field == "weekday":
        if raw.lower() not in WEEKDAYS:
            raise RuleError(f"rule {text!r}: weekday must be one of {', '.join(WEEKDAYS)}")
        return Rule(field, op, raw.lower())
    try:
        number = float(raw)
    except ValueError:
        raise RuleError(f"rule {text!r}: {field} needs a number, not {raw!r}") from None
    if not stored and not (math.isfinite(number) and number >= 0):
        raise RuleError(f"rule {text!r}: {field} needs a number of 0 or more, not {raw!r}")
    if field.endswith("_serial"):
        if not number.is_integer():
            raise RuleError(f"rule {text!r}: {field} is a whole number")
        if not stored and number > MAX_SERIAL:
            raise RuleError(f"rule {text!r}: {field} is at most {MAX_SERIAL} (FIT serial numbers are 32 bits)")
        return Rule(field, op, int(number))
    return Rule(field, op, number)


def parse_default(text: str) -> str:
    """'running' or 'running/trail' (FIT names; 'Trail' and 'e-biking' are understood)
    -> the FIT spelling, checked."""
    if not re.fullmatch(r"[^/]+(/[^/]+)?", text.strip()):
        raise RuleError(f"{text!r} is not SPORT or SPORT/SUB_SPORT, e.g. running/trail")
    parts = text.strip().split("/")
    sport = _fit_name(parts[0], "sport", "")
    if sport not in ON_FOOT:
        raise RuleError(f"{sport} does not wear shoes: only on-foot sports do ({', '.join(sorted(ON_FOOT))})")
    if len(parts) == 1:
        return sport
    return f"{sport}/{_fit_name(parts[1], 'sub_sport', '')}"


@dataclass(frozen=True)
class Pair:
    id: int
    name: str
    since: date | None = None
    retired_on: date | None = None
    default_for: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    def in_service(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (
            self.retired_on is None or day <= self.retired_on
        )

    def names_sport(self, sport: str) -> bool:
        """Whether the pair was set up for this sport (by a default or a sport rule)."""
        return any(d.split("/")[0] == sport for d in self.default_for) or any(
            r.field == "sport" and r.op == "=" and r.value == sport for r in self.rules
        )


@dataclass(frozen=True)
class RunFacts:
    id: int
    day: date
    sport: str
    sub_sport: str | None = None
    distance_km: float | None = None
    duration_min: float | None = None
    device_serial: int | None = None
    foot_pod_serial: int | None = None

    @property
    def weekday_index(self) -> int:
        return self.day.weekday()


@dataclass(frozen=True)
class Pin:
    """The runner's own choice for a run: a pair, or shoe_id None for 'no tracked pair'."""

    shoe_id: int | None


@dataclass(frozen=True)
class Attribution:
    shoe_id: int | None
    reason: str  # "pinned", "export", "rule", "default" or "none"
    why: str


@dataclass(frozen=True)
class ExportChoice:
    """An export's word on one activity: it was run in this pair."""

    start: datetime  # aware UTC
    sport: str
    shoe_id: int
    source: str  # "Strava", "Garmin"


SAME_RUN_WITHIN = timedelta(minutes=1)
UNKNOWN_SPORT = "generic"


class Choices:
    """Exports' choices, found for a run by its start (within a minute) and sport.
    A run or choice of unknown sport ("generic": a GPX file without a type) matches
    any sport; the nearest start wins."""

    def __init__(self, choices):
        self.choices = sorted(choices, key=lambda c: c.start)
        self.starts = [c.start for c in self.choices]

    def for_run(self, start: datetime, sport: str) -> ExportChoice | None:
        first = bisect.bisect_left(self.starts, start - SAME_RUN_WITHIN)
        last = bisect.bisect_right(self.starts, start + SAME_RUN_WITHIN)
        fitting = [c for c in self.choices[first:last]
                   if UNKNOWN_SPORT in (c.sport, sport) or c.sport == sport]
        return min(fitting, key=lambda c: abs(c.start - start), default=None)


def _newest_first(pairs: Iterable[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda p: (-(p.since or date.min).toordinal(), -p.id, p.name))


def _pick(candidates: list[Pair]) -> tuple[Pair, str]:
    """The pair put in service last, and a note naming the others when there was a choice."""
    ranked = _newest_first(candidates)
    if len(ranked) == 1:
        return ranked[0], ""
    others = ", ".join(p.name for p in ranked[1:])
    return ranked[0], f"; newest in service of {len(ranked)} matching pairs (also {others})"


class Attributor:
    """Attributes runs to pairs in one pass: defaults are looked up, not searched."""

    def __init__(self, pairs: Iterable[Pair]):
        self.pairs = {p.id: p for p in pairs}
        self.with_rules = [p for p in self.pairs.values() if p.rules]
        self.by_default: dict[str, list[Pair]] = {}
        for pair in self.pairs.values():
            for key in pair.default_for:
                self.by_default.setdefault(key, []).append(pair)

    def __call__(self, run: RunFacts, pin: Pin | None = None, chosen: ExportChoice | None = None) -> Attribution:
        if pin is not None:
            if pin.shoe_id is None:
                return Attribution(None, "pinned", "you marked it as not run in a tracked pair")
            name = self.pairs[pin.shoe_id].name if pin.shoe_id in self.pairs else "?"
            return Attribution(pin.shoe_id, "pinned", f"you assigned it to {name}")
        if chosen is not None and chosen.shoe_id in self.pairs:
            return Attribution(chosen.shoe_id, "export", f"chosen in {chosen.source}")
        if run.sport not in ON_FOOT:
            return Attribution(None, "none", f"{run.sport} does not wear running shoes")
        needs_name = run.sport != RUNNING  # walking and hiking only where a pair names them
        matching = [
            p for p in self.with_rules
            if p.in_service(run.day) and all(r.holds(run) for r in p.rules)
            and (not needs_name or p.names_sport(run.sport))
        ]
        if matching:
            most = max(len(p.rules) for p in matching)
            best = [p for p in matching if len(p.rules) == most]
            chosen, note = _pick(best)
            return Attribution(chosen.id, "rule", "rule " + " and ".join(map(str, chosen.rules)) + note)
        for key in (f"{run.sport}/{run.sub_sport}", run.sport):
            candidates = [p for p in self.by_default.get(key, ()) if p.in_service(run.day)]
            if candidates:
                chosen, note = _pick(candidates)
                return Attribution(chosen.id, "default", f"default for {key}{note}")
        kind = f"{run.sport}/{run.sub_sport}" if run.sub_sport else run.sport
        return Attribution(None, "none", f"no pair in service on {run.day} is set for {kind}")
