"""GPX and TCX decoding: the only module that imports gpxpy and defusedxml.

`decode(data, hint)` turns one GPX or TCX file (Strava's bulk export holds them,
as do many apps and older Garmin devices) into the DecodedFile a FIT file gives:
one session per GPX file, one per TCX Activity. It raises NotAnActivity for a
valid file that records nothing (a route, a course, no track points) and
TrackError, with a one-line reason, for anything it cannot take.

XML is hostile input. Every file is parsed once, by defusedxml, with DTDs,
entity declarations and external references refused (no billion laughs, no
reading /etc/passwd, no network), and only after a size check. gpxpy's own
parser is not used: it runs regular expressions over the raw text that take
quadratic time on crafted input (a GPX of 0.5 MB took 20 s). Positions are
read from the tree defusedxml accepted and measured with gpxpy's geometry,
summed over segments as gpxpy's GPX.length_2d() does (the distance Strava
shows, within about 1 %) and get_uphill_downhill().
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
import gpxpy.geo
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from ..core.models import DecodedFile, SessionSummary

# Parsed whole, XML takes ~12 times its size in memory: 32 MiB (a day-long track at one
# point a second with extensions is ~30 MB) keeps a daemon under 400 MB at worst.
MAX_BYTES = 32 << 20
MAX_TRACK_M = 1_000_000  # no run, ride or hike covers 1,000 km in one activity
EARLIEST, LATEST = datetime(1990, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)

# Sport words of GPX <type> (Garmin Connect, Strava's numbers and names, apps)
# and TCX Sport attributes, lower case with "_" for blanks, as (sport, sub_sport).
SPORTS = {
    **dict.fromkeys(("running", "run", "9"), ("running", None)),
    **dict.fromkeys(("trail_running", "trail_run", "trailrun", "trailrunning", "trail"), ("running", "trail")),
    **dict.fromkeys(("treadmill_running", "treadmill"), ("running", "treadmill")),
    **dict.fromkeys(("cycling", "biking", "bike", "ride", "1"), ("cycling", None)),
    "road_biking": ("cycling", "road"),
    "mountain_biking": ("cycling", "mountain"),
    **dict.fromkeys(("walking", "walk", "10"), ("walking", None)),
    **dict.fromkeys(("hiking", "hike", "4"), ("hiking", None)),
    **dict.fromkeys(("swimming", "swim"), ("swimming", None)),
    "lap_swimming": ("swimming", "lap_swimming"),
    "open_water_swimming": ("swimming", "open_water"),
}
GENERIC_NOTE = ("no sport in the file: stored as generic, not as a run; "
                "`shoetrack runs edit ID --sport running` makes it one")

TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s*(Z|[+-]\d\d(?::?\d\d)?)?",
                  re.IGNORECASE | re.ASCII)


class TrackError(Exception):
    """One-line reason; the file gets the outcome 'failed'."""


class NotAnActivity(TrackError):
    """A valid file that records no activity (a route, no track points); outcome 'skipped'."""


@dataclass(frozen=True)
class Hint:
    """What an export (Strava's activities.csv) says of this file; all optional."""

    sport: str | None = None  # FIT sport name, e.g. "running", "cycling", "walking", "hiking"
    sub_sport: str | None = None  # FIT sub-sport name, e.g. "trail", "treadmill"
    distance_m: float | None = None  # the export's own distance
    source: str | None = None  # "Strava"


def decode(data: bytes, hint: Hint | None = None) -> DecodedFile:
    """The activity in a GPX or TCX file's (un-gzipped) bytes."""
    if len(data) > MAX_BYTES:
        raise TrackError(f"too large for an activity file: {len(data) / (1 << 20):.0f} MiB of XML, "
                         f"more than the {MAX_BYTES >> 20} MiB allowed")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise TrackError("refused: the XML declares a DTD or entities, which activity files never need") from None
    except (ParseError, ValueError, LookupError) as exc:
        raise TrackError(f"not readable XML: {_clip(str(exc), 80) or type(exc).__name__}") from None
    kind = _local(root.tag)
    if kind == "gpx":
        return _gpx(root, hint or Hint())
    if kind == "TrainingCenterDatabase":
        return _tcx(root, hint or Hint())
    raise TrackError(f"not a GPX or TCX file: the XML root is <{_clip(kind, 40)}>")


# -- GPX -------------------------------------------------------------------------

def _gpx(root, hint: Hint) -> DecodedFile:
    segments, first, last, points = [], None, None, 0
    for trkseg in (seg for trk in _kids(root, "trk") for seg in _kids(trk, "trkseg")):
        segments.append([])
        for trkpt in _kids(trkseg, "trkpt"):
            points += 1
            time = _time(_text(trkpt, "time"))
            first, last = first or time, time or last
            lat, lon = _float(trkpt.get("lat")), _float(trkpt.get("lon"))
            if lat is not None and lon is not None:  # off the globe too, as gpxpy reads them
                segments[-1].append(gpxpy.geo.Location(lat, lon, _height(_text(trkpt, "ele"))))
    if first is None:
        if points or any(_kids(rte, "rtept") for rte in _kids(root, "rte")):
            # drawn or planned: Strava writes its routes as tracks without times
            raise NotAnActivity("a route with no times: a planned course, not a recorded activity")
        raise NotAnActivity("no track points: nothing was recorded")
    _check_date(first)
    length, uphill = _measure(segments)
    notes: list[str] = []
    written = next((t for t in (_text(trk, "type") for trk in _kids(root, "trk")) if t), None)
    sport, sub_sport = _sport(written, hint, notes)
    given = _number(hint.distance_m)
    session = SessionSummary(
        start_time=first, sport=sport, sub_sport=sub_sport,
        distance_m=given if given is not None else length,
        timer_s=None, elapsed_s=_number((last - first).total_seconds()), avg_hr=None, ascent_m=uphill,
    )
    return DecodedFile(file_type="activity", format="gpx", sessions=(session,),
                       product=_clip(root.get("creator") or "", 100) or None, notes=tuple(notes))


def _measure(segments: list[list]) -> tuple[float | None, float | None]:
    """gpxpy's 2-D length and uphill of segments of Locations, summed over segments as
    gpxpy's GPX.length_2d() and get_uphill_downhill() do; None without positions or heights."""
    if not any(segments):
        return None, None
    try:
        length = sum(gpxpy.geo.length_2d(segment) for segment in segments)
    except (ValueError, OverflowError):  # math domain errors of points off the globe or antipodal
        raise TrackError("its positions are not real: they cannot be measured") from None
    _check_length(length, "positions")
    heights = [[p.elevation for p in segment] for segment in segments]
    uphill = (sum(gpxpy.geo.calculate_uphill_downhill(h)[0] for h in heights if h)
              if any(e is not None for h in heights for e in h) else None)
    return _number(length), _number(uphill)


# -- TCX -------------------------------------------------------------------------

def _tcx(root, hint: Hint) -> DecodedFile:
    activities = [e for e in root.iter() if _local(e.tag) == "Activity"]
    if not activities:
        if any(_local(e.tag) == "Course" for e in root.iter()):
            raise NotAnActivity("a course with no activity: a planned route, not a recorded activity")
        raise NotAnActivity("no activity in the file: nothing was recorded")
    sessions, notes, refused = [], [], []
    for activity in activities:
        try:
            sessions.append(_activity(activity, hint, notes))
        except TrackError as exc:
            refused.append(str(exc))
    if not sessions:
        raise TrackError(refused[0])
    if refused:
        notes.append(f"{len(refused)} of {len(activities)} activities left out: {refused[0]}")
    product = next((_text(c, "Name") for a in activities for c in _kids(a, "Creator") if _text(c, "Name")), None)
    return DecodedFile(file_type="activity", format="tcx", sessions=tuple(sessions),
                       product=_clip(product or "", 100) or None, notes=tuple(dict.fromkeys(notes)))


def _activity(activity, hint: Hint, notes: list[str]) -> SessionSummary:
    laps = _kids(activity, "Lap")
    first, last, last_distance, locations = None, None, None, []
    for point in (e for e in activity.iter() if _local(e.tag) == "Trackpoint"):
        time = _time(_text(point, "Time"))
        first, last = first or time, time or last
        distance = _number(_float(_text(point, "DistanceMeters")))
        last_distance = last_distance if distance is None else distance
        for position in _kids(point, "Position"):
            lat, lon = _float(_text(position, "LatitudeDegrees")), _float(_text(position, "LongitudeDegrees"))
            if lat is not None and lon is not None:
                locations.append(gpxpy.geo.Location(lat, lon, _height(_text(point, "AltitudeMeters"))))
    # a Lap's StartTime and the Activity's Id are times too, for activities without track points
    start = first or next(filter(None, (_time(lap.get("StartTime")) for lap in laps)), None) \
        or _time(_text(activity, "Id"))
    if start is None:
        raise TrackError("an activity has no times: it cannot be dated")
    _check_date(start)
    path_length, uphill = _measure([locations])

    lap_distances = [d for d in (_number(_float(_text(lap, "DistanceMeters"))) for lap in laps) if d is not None]
    lap_times = [(_number(_float(_text(lap, "TotalTimeSeconds"))), _heart_rate(lap)) for lap in laps]
    # the laps' sum is what the TCX schema means by an activity's distance
    distance = sum(lap_distances) if lap_distances else last_distance
    distance = path_length if distance is None else distance
    _check_length(distance, "distances")
    if lap_distances and last_distance and abs(last_distance - distance) > 0.1 * max(distance, last_distance):
        notes.append(f"its laps add up to {distance / 1000:.2f} km while its track says "
                     f"{last_distance / 1000:.2f} km: the laps' distance was kept")
    timers = [t for t, _ in lap_times if t is not None]
    sport, sub_sport = _sport(activity.get("Sport"), hint, notes)
    return SessionSummary(
        start_time=start, sport=sport, sub_sport=sub_sport, distance_m=_number(distance),
        timer_s=_number(sum(timers)) if timers else None,
        elapsed_s=_number((last - first).total_seconds()) if first else None,
        avg_hr=_mean_heart_rate(lap_times), ascent_m=uphill,
    )


def _heart_rate(lap) -> float | None:
    value = next((_float(_text(h, "Value")) for h in _kids(lap, "AverageHeartRateBpm")), None)
    return value if value is not None and 0 < value < 300 else None


def _mean_heart_rate(laps: list[tuple[float | None, float | None]]) -> int | None:
    """The laps' average heart rates weighted by their times (plain mean if none is timed)."""
    rated = [(t or 0.0, hr) for t, hr in laps if hr is not None]
    if not rated:
        return None
    weight = sum(t for t, _ in rated)
    mean = sum(t * hr for t, hr in rated) / weight if weight > 0 else sum(hr for _, hr in rated) / len(rated)
    return round(mean) if math.isfinite(mean) else None


# -- shared ----------------------------------------------------------------------

def _sport(written: str | None, hint: Hint, notes: list[str]) -> tuple[str, str | None]:
    """The FIT sport of a file's sport word; the hint's when the file has none we know."""
    known = SPORTS.get("_".join((written or "").lower().replace("-", " ").split()))
    if known:
        sport, sub_sport = known
        if hint.sport == sport and sub_sport is None:
            sub_sport = hint.sub_sport  # the export may say treadmill or trail
        return sport, sub_sport
    if hint.sport:
        return hint.sport, hint.sub_sport
    word = _clip(written or "", 40)
    notes.append(f"its sport {word!r} is unknown: stored as generic, not as a run; "
                 "`shoetrack runs edit ID --sport running` makes it one"
                 if word and word.lower() != "other" else GENERIC_NOTE)
    return "generic", None


def _check_date(start: datetime) -> None:
    if not EARLIEST <= start < LATEST:
        raise TrackError(f"its times are from {start.year} (the device clock was not set): "
                         f"the run cannot be dated")


def _check_length(metres: float | None, what: str) -> None:
    if metres is not None and metres > MAX_TRACK_M:
        raise TrackError(f"the track is {metres / 1000:,.0f} km long, more than any run, ride or hike: "
                         f"its {what} are not real")


def _time(text: str | None) -> datetime | None:
    """An aware UTC time from ISO 8601 text (Z, offset, any fraction; naive = UTC), or None."""
    match = TIME.fullmatch(text.strip()) if text and len(text) < 64 else None
    if not match:
        return None
    *fields, fraction, zone = match.groups()
    try:
        offset = timezone.utc
        if zone and zone.upper() != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0)))
        time = datetime(*map(int, fields), int((fraction or "0")[:6].ljust(6, "0")), tzinfo=offset)
        return time.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None and len(text) < 64 else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _number(value: float | None) -> float | None:
    """A distance or a duration: finite, not negative and below 1e9 (1 million km,
    31 years), else None."""
    return float(value) if value is not None and math.isfinite(value) and 0 <= value < 1e9 else None


def _height(text: str | None) -> float | None:
    """An elevation, when it is one a person could be at (within 20 km of sea level)."""
    value = _float(text)
    return value if value is not None and abs(value) <= 20_000 else None


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _kids(element, name: str) -> list:
    return [child for child in element if _local(child.tag) == name]


def _text(element, name: str) -> str | None:
    """The stripped text of the first child called `name`, None when missing or blank."""
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def _clip(text: str, width: int) -> str:
    """Text from a file made safe for a one-line message."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."
