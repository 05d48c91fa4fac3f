"""What a person may type, checked once, here at the edge.

Every value a command takes goes through one of these click types: a distance,
a duration, a day, a name, a note, a sport, a rule... Each refuses what a human
cannot have run, worn or meant, with one line that names the problem and what to
write instead (click prints it as `Error: Invalid value for ...`, exit 2). The
service and the core then work with values that make sense.
"""

from __future__ import annotations

import math
import re
from datetime import date

import click

from ..core.attribution import RuleError, UnknownName, parse_default, parse_rule
from ..core.sports import SPORTS, SUB_SPORTS, fit_spelling, known
from ..errors import NotFound
from ..service.context import Context
from .render import KM_PER_MILE, breaks_a_line

# What a human can do.
RUN_KM_MAX = 1000.0  # one run, even a multi-day ultra
PAIR_KM_MAX = 10000.0  # no running shoe lasts longer
MINUTES_MAX = 10 * 24 * 60  # ten days without stopping the clock
SNOOZE_DAYS_MAX = 3650  # ten years
NAME_CHARS = 60
NOTE_CHARS = 500
FIRST_DAY = date(1990, 1, 1)  # FIT's clock starts at 1989-12-31
LAST_DAY = date(2100, 12, 31)
SQLITE_INT_MAX = 2**63 - 1
METRE_KM = 0.001  # the least distance a run or a pair's life can be (JSON gives distances to the metre)


def _whole_number(text: str) -> int | None:
    """The value of digits already matched as `\\+?\\d+`; None when there are more
    digits than Python converts (4300): a number beyond every limit here."""
    try:
        return int(text)
    except ValueError:
        return None


def _shown(value, quoted: bool = True) -> str:
    """What was typed, for a message: quoted, and cut short when it is very long."""
    text = str(value)
    if len(text) > 40:
        text = text[:40] + "…"
    return repr(text) if quoted else text


def suggestion(typed: str, names: tuple[str, ...], examples: str) -> str:
    """'did you mean X?' for a typo, else where to look."""
    import difflib  # only needed when something was mistyped

    close = difflib.get_close_matches(fit_spelling(typed), names, n=1)
    return f'did you mean "{close[0]}"?' if close else f"use a FIT name such as {examples}"


SPORT_EXAMPLES = "running, walking, hiking, cycling or swimming"
SUB_SPORT_EXAMPLES = "generic, treadmill, trail, track or street"


def _units(ctx: click.Context | None) -> str:
    found = ctx.find_object(Context) if ctx else None
    return found.config.units if found else "km"


def _in_units(km: float, units: str) -> str:
    other = "mi" if units == "km" else "km"
    shown = {"km": km, "mi": km / KM_PER_MILE}
    return f"{shown[units]:.0f} {units} ({shown[other]:.0f} {other})"


class Distance(click.ParamType):
    """A distance in the configured units (a bare number), or with its unit: 450mi, 700km, 12.5 mi.

    Converts to km, and refuses what no run or pair can be.
    """

    name = "DISTANCE"

    def __init__(self, what: str, most_km: float, zero_ok: bool = False):
        self.what = what
        self.most_km = most_km
        self.zero_ok = zero_ok

    def convert(self, value, param, ctx):
        text = str(value).strip()
        match = re.fullmatch(r"(.*?)\s*(km|mi)", text, re.IGNORECASE)
        number, unit = (match.group(1), match.group(2).lower()) if match else (text, _units(ctx))
        try:
            amount = float(number)
        except ValueError:
            self.fail(f"{_shown(value)} is not a distance; write a number of {_units(ctx)} such as 12.5, "
                      "or add the unit: 12.5km, 8mi", param, ctx)
        km = amount * KM_PER_MILE if unit == "mi" else amount
        least_ok = km >= 0 if self.zero_ok else km > 0
        if not (math.isfinite(km) and least_ok and km <= self.most_km):
            most = _in_units(self.most_km, _units(ctx))
            span = f"0 to {most}" if self.zero_ok else f"more than 0, up to {most}"
            self.fail(f"{_shown(value)} is not {self.what}; give {span}", param, ctx)
        if not self.zero_ok and km < METRE_KM:  # 1e-320 km made an infinite wear or a limit day past 9999
            self.fail(f"{_shown(value)} is less than a metre, which is not {self.what}; give at least 0.001 km, "
                      f"up to {_in_units(self.most_km, _units(ctx))}", param, ctx)
        return km


RUN_KM = Distance("a distance one can run", RUN_KM_MAX)
LIMIT_KM = Distance("a life a pair of shoes can have", PAIR_KM_MAX)
START_KM = Distance("a distance a pair can already have run", PAIR_KM_MAX, zero_ok=True)


class Minutes(click.ParamType):
    """How long a run took, in minutes."""

    name = "MINUTES"

    def convert(self, value, param, ctx):
        try:
            minutes = float(str(value).strip())
        except ValueError:
            self.fail(f"{_shown(value)} is not a number of minutes; write it like 42 or 42.5", param, ctx)
        if not (math.isfinite(minutes) and 0 < minutes <= MINUTES_MAX):
            self.fail(f"{_shown(value)} is not how long a run can take; give more than 0, up to "
                      f"{MINUTES_MAX} minutes (10 days)", param, ctx)
        return minutes


MINUTES = Minutes()


class Count(click.ParamType):
    """A whole number from 1 to `most` (days of a snooze, weeks of a chart)."""

    def __init__(self, name: str, option: str, most: int):
        self.name, self.option, self.most = name, option, most

    def convert(self, value, param, ctx):
        text = str(value).strip()
        count = _whole_number(text) if re.fullmatch(r"\+?\d+", text) else None
        if count is None or not 1 <= count <= self.most:
            self.fail(f"{self.option} must be a whole number from 1 to {self.most}, not {_shown(value)}", param, ctx)
        return count


DAYS = Count("DAYS", "--days", SNOOZE_DAYS_MAX)
WEEKS = Count("N", "--weeks", 260)  # five years of weekly bars


class PainLevel(click.ParamType):
    """Pain from 0 (none) to 10 (worst)."""

    name = "LEVEL"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        level = _whole_number(text) if re.fullmatch(r"\+?\d+", text) else None
        if level is None or level > 10:
            self.fail(f"{_shown(value)} is not a pain level; give a whole number between 0 and 10 "
                      "(0: none, 10: worst)", param, ctx)
        return level


PAIN_LEVEL = PainLevel()


class RowId(click.ParamType):
    """The id of a run or a pain entry, as their listings show it."""

    def __init__(self, what: str, listing: str):
        self.what = what
        self.listing = listing
        self.name = what.upper().replace(" ", "_") + "_ID"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if not re.fullmatch(r"\d+", text):
            self.fail(f"{_shown(value)} is not a {self.what} id; `{self.listing}` lists them", param, ctx)
        row_id = _whole_number(text)
        if row_id is None or row_id > SQLITE_INT_MAX:  # no row can have it
            shown = row_id if row_id is not None else _shown(text.lstrip("0"), quoted=False)
            raise NotFound(f"no {self.what} with id {shown}; see `{self.listing}` for ids")
        return row_id


RUN_ID = RowId("run", "shoetrack runs")
PAIN_ID = RowId("pain entry", "shoetrack pain --list")


class Day(click.ParamType):
    """A calendar day written YYYY-MM-DD, from FIRST_DAY to LAST_DAY (with `past`: up to today)."""

    name = "DATE"

    def __init__(self, past: bool = False):
        self.past = past

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            day = date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-03-14", param, ctx)
        last = date.today() if self.past else LAST_DAY
        if self.past and day > last:
            self.fail(f"{day} is in the future; give today ({last}) or an earlier day", param, ctx)
        if not FIRST_DAY <= day <= last:
            self.fail(f"{day} is out of range; give a day from {FIRST_DAY} to {last}", param, ctx)
        return day


DAY = Day()
PAST_DAY = Day(past=True)


INVISIBLE_JOINERS = "\u200c\u200d"  # allowed inside text: emoji and some scripts need them


def _unprintable(text: str) -> str | None:
    """What in `text` cannot be shown on one line of a table, in words; None when all can."""
    for char in text:
        if breaks_a_line(char):
            named = {"\t": "a tab", "\n": "a line break", "\r": "a carriage return"}
            return named.get(char, f"the invisible character U+{ord(char):04X}")
    return None


class Text(click.ParamType):
    """Printable text on one line, at most `most` characters, trimmed; blank means none
    (or is refused when `required`)."""

    name = "TEXT"

    def __init__(self, what: str, most: int, required: bool = True):
        self.what = what
        self.most = most
        self.required = required

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if not text.strip(INVISIBLE_JOINERS):  # nothing but zero-width joiners shows as nothing
            text = ""
        if not text:
            if self.required:
                self.fail(f"{self.what} cannot be empty", param, ctx)
            return None
        problem = _unprintable(text)
        if problem:
            self.fail(f"{self.what} contains {problem}; write it as printable text on one line", param, ctx)
        if len(text) > self.most:
            self.fail(f"{self.what} is {len(text)} characters long; keep it to {self.most}", param, ctx)
        return text


class PairRef(click.ParamType):
    """The name of a pair already added, to look it up. A name the terminal could not
    decode (its bytes arrive as lone surrogates) is no pair's: names are checked text."""

    name = "NAME"

    def convert(self, value, param, ctx):
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise NotFound(f"no pair named {_shown(text)}; see `shoetrack shoes list --all`") from None
        return text


PAIR = PairRef()
PAIR_NAME = Text("a pair's name", NAME_CHARS)
BRAND = Text("the brand", NAME_CHARS)
MODEL = Text("the model", NAME_CHARS)
NOTE = Text("the note", NOTE_CHARS, required=False)


class Sport(click.ParamType):
    """A FIT sport (or sub-sport) name; 'Trail' and 'e-biking' are understood."""

    def __init__(self, sub: bool = False):
        self.names, self.examples = (SUB_SPORTS, SUB_SPORT_EXAMPLES) if sub else (SPORTS, SPORT_EXAMPLES)
        self.kind = "sub-sport" if sub else "sport"
        self.name = self.kind.upper().replace("-", "_")

    def convert(self, value, param, ctx):
        name = known(str(value), self.names)
        if name is None:
            self.fail(f"{value!r} is not a FIT {self.kind} name; {suggestion(str(value), self.names, self.examples)}",
                      param, ctx)
        return name


SPORT = Sport()
SUB_SPORT = Sport(sub=True)


def _rule_problem(error: RuleError) -> str:
    if isinstance(error, UnknownName):
        examples = SPORT_EXAMPLES if error.names is SPORTS else SUB_SPORT_EXAMPLES
        return f"{error}; {suggestion(error.name, error.names, examples)}"
    return str(error)


class DefaultFor(click.ParamType):
    """SPORT or SPORT/SUB_SPORT a pair is worn for by default."""

    name = "SPORT[/SUB_SPORT]"

    def convert(self, value, param, ctx):
        try:
            return parse_default(str(value))
        except RuleError as error:
            self.fail(_rule_problem(error), param, ctx)


class RuleText(click.ParamType):
    """'FIELD OP VALUE', checked; returned in its plain form ('sport = running')."""

    name = "'FIELD OP VALUE'"

    def convert(self, value, param, ctx):
        from ..service.shoes import rule_text

        try:
            return rule_text(parse_rule(str(value)))
        except RuleError as error:
            self.fail(_rule_problem(error), param, ctx)


DEFAULT_FOR = DefaultFor()
RULE = RuleText()
