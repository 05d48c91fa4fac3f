"""Reading the manifests of Strava and Garmin bulk exports: bytes in, plain records out.

`strava(activities_csv, shoes_csv)` reads a Strava export's activities.csv and
shoes.csv; `garmin(gear_json, summaries_json)` reads the *_gear.json and
*_summarizedActivities.json files of Garmin's "Export Your Data" (several of
each are concatenated). Neither opens a file nor touches the database: the
caller finds the files, caps their size and passes their bytes.

Both return an Export: the shoes (pairs only, never bikes), every activity with
its FIT sport names and the pair worn, and how many rows or entries could not
be read and were skipped. A file that cannot be the expected kind at all
(garbage, missing columns, the wrong JSON shape) raises ExportError with one
line naming the file and what is wrong.

Choices: dates are parsed with a fixed English month table, never the locale;
an activity whose gear matches more than one pair gets no shoe; pairs whose
names clash get " (2)", " (3)"... so each name stands for one pair; a repeated
activity id keeps its first row; a Strava filename that is absolute or climbs
out with ".." is dropped (None).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import PurePosixPath

from shoetrack.core.sports import SPORTS, known

MAX_KM = 1_000_000  # a distance at or past this is nonsense
MAX_SECONDS = 1e9  # about 31 years


class ExportError(Exception):
    """The file cannot be read as the export file it should be; the message says why in one line."""


@dataclass(frozen=True)
class ExportShoe:
    name: str  # the pair's name in shoetrack, unique in the export (case-insensitively)
    brand: str | None
    model: str | None
    limit_km: float | None  # Garmin maximumMeters / 1000 when > 0; Strava has none
    since: date | None  # Garmin dateBegin
    retired_on: date | None  # Garmin dateEnd (None for a retired pair without one)
    retired: bool
    gear_id: str  # Strava: the name; Garmin: gearPk as a string


@dataclass(frozen=True)
class ExportActivity:
    activity_id: str
    start_time: datetime  # aware, UTC
    sport: str  # FIT sport name, "generic" when unknown
    sub_sport: str | None  # FIT sub-sport name
    distance_m: float | None
    elapsed_s: float | None
    shoe: str | None  # the ExportShoe.name worn; None for bikes, other gear and none
    filename: str | None  # posix path relative to the export root; None for manual entries and Garmin


@dataclass(frozen=True)
class Export:
    source: str  # "Strava" or "Garmin", as in "chosen in Strava"
    shoes: tuple[ExportShoe, ...]
    activities: tuple[ExportActivity, ...]
    skipped_rows: int = 0  # rows and entries that could not be read


# Activity types -> (FIT sport, FIT sub-sport). Anything else that is itself a
# FIT sport name ("Golf", "Rowing") is taken as that sport; the rest is generic.
STRAVA_TYPES = {
    "run": ("running", None), "trail run": ("running", "trail"),
    "virtual run": ("running", "virtual_activity"), "treadmill": ("running", "treadmill"),
    "walk": ("walking", None), "hike": ("hiking", None),
    "ride": ("cycling", None), "virtual ride": ("cycling", "virtual_activity"),
    "mountain bike ride": ("cycling", "mountain"), "gravel ride": ("cycling", "gravel_cycling"),
    "e-bike ride": ("e_biking", None), "e-mountain bike ride": ("e_biking", "e_bike_mountain"),
    "handcycle": ("cycling", "hand_cycling"), "swim": ("swimming", None),
    "workout": ("training", None), "weight training": ("training", "strength_training"),
    "crossfit": ("training", None), "hiit": ("training", "cardio_training"),
    "yoga": ("training", "yoga"), "pilates": ("training", "pilates"),
    "elliptical": ("fitness_equipment", "elliptical"),
    "stair-stepper": ("fitness_equipment", "stair_climbing"),
    "alpine ski": ("alpine_skiing", None),
    "backcountry ski": ("alpine_skiing", "backcountry"), "nordic ski": ("cross_country_skiing", None),
    "snowboard": ("snowboarding", None), "snowshoe": ("snowshoeing", None),
    "ice skate": ("ice_skating", None), "inline skate": ("inline_skating", None),
    "rock climb": ("rock_climbing", None), "canoeing": ("paddling", None),
    "stand up paddling": ("stand_up_paddleboarding", None), "kitesurf": ("kitesurfing", None),
    "windsurf": ("windsurfing", None),
}
GARMIN_TYPES = {
    "trail_running": ("running", "trail"), "treadmill_running": ("running", "treadmill"),
    "track_running": ("running", "track"), "indoor_running": ("running", "indoor_running"),
    "street_running": ("running", "street"), "virtual_run": ("running", "virtual_activity"),
    "obstacle_run": ("running", "obstacle"), "ultra_run": ("running", None),
    "casual_walking": ("walking", "casual_walking"), "speed_walking": ("walking", "speed_walking"),
    "indoor_walking": ("walking", "indoor_walking"),
    "road_biking": ("cycling", "road"), "mountain_biking": ("cycling", "mountain"),
    "gravel_cycling": ("cycling", "gravel_cycling"), "indoor_cycling": ("cycling", "indoor_cycling"),
    "virtual_ride": ("cycling", "virtual_activity"), "cyclocross": ("cycling", "cyclocross"),
    "e_bike_fitness": ("e_biking", "e_bike_fitness"), "e_bike_mountain": ("e_biking", "e_bike_mountain"),
    "lap_swimming": ("swimming", "lap_swimming"), "open_water_swimming": ("swimming", "open_water"),
    "strength_training": ("training", "strength_training"),
    "indoor_cardio": ("training", "cardio_training"), "hiit": ("training", "cardio_training"),
    "yoga": ("training", "yoga"), "pilates": ("training", "pilates"),
    "elliptical": ("fitness_equipment", "elliptical"),
    "stair_climbing": ("fitness_equipment", "stair_climbing"),
    "indoor_rowing": ("rowing", "indoor_rowing"), "resort_skiing": ("alpine_skiing", "resort"),
    "backcountry_skiing": ("alpine_skiing", "backcountry"),
}
MONTHS = {name[:length]: number for number, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), 1) for length in (3, len(name))} | {"sept": 9}
_CLOCK = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))? ?(?P<ap>[ap]\.?m\.?)?"
_US_DATE = re.compile(r"(?P<mon>[a-z]+)\.? (?P<d>\d{1,2}),? (?P<y>\d{4}),? " + _CLOCK)  # Aug 20, 2026, 11:01:45 AM
_UK_DATE = re.compile(r"(?P<d>\d{1,2}) (?P<mon>[a-z]+)\.? (?P<y>\d{4}),? " + _CLOCK)  # 20 Aug 2026, 11:01:45
_NUMBER = re.compile(r"[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d*)?([eE][+-]?\d+)?|[+-]?\.\d+")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def sport_of(activity_type: str, table: dict[str, tuple[str, str | None]]) -> tuple[str, str | None]:
    """The FIT (sport, sub_sport) of a Strava or Garmin activity type."""
    text = " ".join(activity_type.strip().lower().split())
    if text in table:
        return table[text]
    return known(text, SPORTS) or "generic", None


def parse_time(text: str) -> datetime | None:
    """A Strava 'Activity Date' (UTC) as an aware UTC datetime, or None."""
    text = " ".join(text.split()).lower()
    if _ISO_DAY.match(text):
        try:
            when = datetime.fromisoformat(text.upper())
            return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
        except (ValueError, OverflowError):  # not ISO, or past year 9999 in UTC
            return None
    found = _US_DATE.fullmatch(text) or _UK_DATE.fullmatch(text)
    if not found or found["mon"] not in MONTHS:
        return None
    hour, noon = int(found["h"]), found["ap"]
    if noon:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if noon.startswith("p") else 0)
    try:
        return datetime(int(found["y"]), MONTHS[found["mon"]], int(found["d"]), hour,
                        int(found["mi"]), int(found["s"] or 0), tzinfo=timezone.utc)
    except ValueError:
        return None


def _number(value, scale: float = 1.0, limit: float = MAX_SECONDS) -> float | None:
    """A finite value in [0, limit) after scaling, from a JSON number or CSV text ("1,234.5")."""
    if isinstance(value, str):
        value = value.strip()
        if not _NUMBER.fullmatch(value):
            return None
        value = float(value.replace(",", ""))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = value * scale
    except OverflowError:
        return None
    return float(value) if math.isfinite(value) and 0 <= value < limit else None


def _text(value) -> str | None:
    """Text with its runs of whitespace made single spaces; None when empty or not text."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)`... when a pair already has it (case-insensitively)."""
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{name} ({n})"
    taken.add(candidate.casefold())
    return candidate


def _rows(data: bytes, what: str) -> tuple[dict[str, int], list[list[str]]]:
    """The first column of each header name (case-insensitive), and the rows after the header."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ExportError(f"{what}: not a readable CSV file ({error})") from None
    if not rows:
        raise ExportError(f"{what}: the file is empty")
    columns: dict[str, int] = {}
    for index, name in enumerate(rows[0]):
        columns.setdefault(" ".join(name.split()).casefold(), index)
    return columns, rows[1:]


def _cell(row: list[str], columns: dict[str, int], name: str) -> str | None:
    """The row's value in the first column called `name` (casefolded), or None."""
    index = columns.get(name)
    return _text(row[index]) if index is not None and index < len(row) else None


def _require(columns: dict[str, int], names: tuple[str, ...], what: str, kind: str) -> None:
    missing = [f"'{name}'" for name in names if name.casefold() not in columns]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        raise ExportError(f"{what}: no {', '.join(missing)} {noun}; is this a {kind}?")


def _strava_shoes(shoes_csv: bytes | None) -> tuple[list[ExportShoe], dict[str, list[str]], int]:
    """The pairs, what each Activity Gear text may stand for, and the rows skipped."""
    if shoes_csv is None or not shoes_csv.strip():
        return [], {}, 0
    columns, rows = _rows(shoes_csv, "shoes.csv")
    _require(columns, ("Shoe Name",), "shoes.csv", "Strava export")
    shoes, by_name, by_make, taken, skipped = [], {}, {}, set(), 0
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        brand, model = _cell(row, columns, "shoe brand"), _cell(row, columns, "shoe model")
        make = " ".join(part for part in (brand, model) if part) or None
        shown = _cell(row, columns, "shoe name") or make
        if shown is None:
            skipped += 1
            continue
        name = _unique(shown, taken)
        shoes.append(ExportShoe(name, brand, model, None, None, None, False, gear_id=name))
        by_name.setdefault(shown.casefold(), []).append(name)
        if make:
            by_make.setdefault(make.casefold(), []).append(name)
    return shoes, {key: by_name.get(key) or by_make[key] for key in by_name | by_make}, skipped


def _relative(path: str | None) -> str | None:
    if path is None:
        return None
    pure = PurePosixPath(path.replace("\\", "/"))
    return None if pure.is_absolute() or ".." in pure.parts else pure.as_posix()


def strava(activities_csv: bytes, shoes_csv: bytes | None) -> Export:
    """Read a Strava bulk export's activities.csv and (when there is one) shoes.csv."""
    shoes, gear, skipped = _strava_shoes(shoes_csv)
    columns, rows = _rows(activities_csv, "activities.csv")
    _require(columns, ("Activity ID", "Activity Date", "Activity Type"), "activities.csv", "Strava export")
    activities, seen = [], set()
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        def cell(name: str) -> str | None:
            return _cell(row, columns, name)

        activity_id, start = cell("activity id"), parse_time(cell("activity date") or "")
        if activity_id is None or start is None:
            skipped += 1
            continue
        if activity_id in seen:
            continue
        seen.add(activity_id)
        worn = gear.get((cell("activity gear") or "").casefold(), [])
        sport, sub_sport = sport_of(cell("activity type") or "", STRAVA_TYPES)
        activities.append(ExportActivity(
            activity_id, start, sport, sub_sport,
            distance_m=_number(cell("distance"), 1000, MAX_KM * 1000),  # the first Distance is in km
            elapsed_s=_number(cell("elapsed time")),  # the first Elapsed Time is in seconds
            shoe=worn[0] if len(worn) == 1 else None, filename=_relative(cell("filename"))))
    return Export("Strava", tuple(shoes), tuple(activities), skipped)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _sections(files: list[bytes], key: str, what: str) -> list[dict]:
    """The objects of every file holding `key` (a list of such objects, or one)."""
    sections = []
    for number, data in enumerate(files, 1):
        label = f"Garmin {what} file {number}" if len(files) > 1 else f"Garmin {what} file"
        try:
            loaded = json.loads(data, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise ExportError(f"{label}: not valid JSON ({' '.join(str(error).split())})") from None
        items = [loaded] if isinstance(loaded, dict) else loaded
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items) \
                or (items and not any(key in item for item in items)):
            raise ExportError(f"{label}: no '{key}' list; is this a Garmin export's {what} file?")
        sections += [item for item in items if key in item]
    return sections


def _id(value) -> str | None:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _day(value) -> date | None:
    """A Garmin date: ISO date or datetime text ("2024-03-01T00:00:00.0"), or None."""
    if not isinstance(value, str) or not _ISO_DAY.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _either(entry: dict, key: str, fallback: str):
    """entry[key], or entry[fallback] when the first is missing or null."""
    value = entry.get(key)
    return entry.get(fallback) if value is None else value


def _list(section: dict, key: str, kind: type, label: str):
    value = section.get(key, kind())
    if not isinstance(value, kind):
        raise ExportError(f"{label}: '{key}' is not a {'list' if kind is list else 'map'}")
    return value


def garmin(gear_json: list[bytes], summaries_json: list[bytes]) -> Export:
    """Read a Garmin export's *_gear.json and *_summarizedActivities.json files."""
    gear_sections = _sections(gear_json, "gearDTOS", "gear")
    summary_sections = _sections(summaries_json, "summarizedActivitiesExport", "activities")
    shoes, by_pk, taken, skipped = [], {}, set(), 0
    for section in gear_sections:
        for dto in _list(section, "gearDTOS", list, "Garmin gear file"):
            pk = _id(dto.get("gearPk")) if isinstance(dto, dict) else None
            if pk is None:
                skipped += 1
                continue
            kind = dto.get("gearTypeName")
            if pk in by_pk or not isinstance(kind, str) or kind.strip().casefold() != "shoes":
                continue
            shown, make = _text(dto.get("displayName")), _text(dto.get("customMakeModel"))
            brand = model = None
            if shown and make:
                brand, _, model = make.partition(" ") if " " in make else (None, "", make)
            limit = _number(dto.get("maximumMeters"), 1 / 1000, MAX_KM)
            retired_on = _day(dto.get("dateEnd"))
            status = dto.get("gearStatusName")
            retired = retired_on is not None or (isinstance(status, str) and status.strip().casefold() == "retired")
            name = _unique(shown or make or f"Garmin gear {pk}", taken)
            by_pk[pk] = name
            shoes.append(ExportShoe(name, brand, model, limit or None, _day(dto.get("dateBegin")),
                                    retired_on, retired, gear_id=pk))
    worn: dict[str, set[str]] = {}
    for section in gear_sections:
        for pk, links in _list(section, "gearActivityDTOs", dict, "Garmin gear file").items():
            if pk not in by_pk:
                continue
            for link in links if isinstance(links, list) else [None]:
                activity_id = _id(link.get("activityId") if isinstance(link, dict) else link)
                if activity_id is None:
                    skipped += 1
                else:
                    worn.setdefault(activity_id, set()).add(by_pk[pk])
    activities, seen, undated = [], set(), set()
    for section in summary_sections:
        for entry in _list(section, "summarizedActivitiesExport", list, "Garmin activities file"):
            entry = entry if isinstance(entry, dict) else {}
            activity_id = _id(entry.get("activityId"))
            ms = _number(_either(entry, "startTimeGmt", "beginTimestamp"), 1, 1e14)
            if activity_id is None or ms is None:
                skipped += 1
                undated.add(activity_id)
                continue
            if activity_id in seen:
                continue
            seen.add(activity_id)
            kind = entry.get("activityType")
            kind = kind.get("typeKey") if isinstance(kind, dict) else kind
            sport, sub_sport = sport_of(kind if isinstance(kind, str) else "", GARMIN_TYPES)
            pairs = worn.get(activity_id, set())
            activities.append(ExportActivity(
                activity_id, datetime.fromtimestamp(ms / 1000, timezone.utc), sport, sub_sport,
                distance_m=_number(entry.get("distance"), 1 / 100, MAX_KM * 1000),  # centimetres
                elapsed_s=_number(_either(entry, "elapsedDuration", "duration"), 1 / 1000),  # milliseconds
                shoe=next(iter(pairs)) if len(pairs) == 1 else None, filename=None))
    skipped += len(worn.keys() - seen - undated)  # worn with a pair but never summarised: no date
    return Export("Garmin", tuple(shoes), tuple(activities), skipped)
