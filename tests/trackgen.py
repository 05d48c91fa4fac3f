"""Builders of GPX and TCX text for tests that must run everywhere (no real files).

    points = line(5000, start_lat=46.0)             # 5 km due north, timed every 10 s
    gpx(points, START, sport="running")             # -> bytes of a GPX 1.1 file
    tcx(Activity(START, "Running", [Lap(points, distance_m=5000, seconds=1500)]))

A point is (lat, lon, seconds after the start) or (lat, lon, seconds, elevation);
seconds None leaves the point untimed. Along a meridian gpxpy's 2-D length is
exactly (latitude difference) x ONE_DEGREE, so `line` tracks have a known length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape, quoteattr

ONE_DEGREE = 2 * 3.141592653589793 * 6378137 / 360  # metres per degree of latitude, as gpxpy.geo
START = datetime(2024, 5, 1, 7, 30, tzinfo=timezone.utc)

Point = tuple  # (lat, lon, seconds | None[, elevation])


def line(metres: float, *, points: int = 51, step_s: float = 10.0, start_lat: float = 46.0,
         lon: float = 14.5, climb_m: float = 0.0) -> list[Point]:
    """`points` points due north covering `metres`, one every `step_s` seconds,
    climbing `climb_m` evenly (elevation 300 m at the start)."""
    n = max(points - 1, 1)
    return [(start_lat + metres / ONE_DEGREE * i / n, lon, i * step_s, 300.0 + climb_m * i / n)
            for i in range(points)]


def iso(moment: datetime, style: str = "Z") -> str:
    """'Z' (2024-05-01T07:30:00Z), 'ms' (with .123Z), 'ns' (nine digits), 'naive'
    (no zone, meaning UTC) or an offset such as '+02:00' (the same instant, written locally)."""
    utc = moment.astimezone(timezone.utc)
    if style == "Z":
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "ms":
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if style == "ns":
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}000Z"
    if style == "naive":
        return utc.strftime("%Y-%m-%dT%H:%M:%S")
    sign = -1 if style[0] == "-" else 1
    hours, minutes = style[1:].split(":")
    zone = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    return utc.astimezone(zone).isoformat()


def _at(start: datetime, seconds: float | None, style: str) -> str | None:
    return None if seconds is None else iso(start + timedelta(seconds=seconds), style)


def gpx(points: list[Point], start: datetime = START, *, sport: str | None = None,
        creator: str | None = "trackgen", segments: list[list[Point]] | None = None,
        tracks: int = 1, route: bool = False, times: str = "Z", namespace: bool = True,
        prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n', encoding: str = "utf-8") -> bytes:
    """A GPX 1.1 file: `tracks` tracks (the first with <type>sport</type>) of the
    given segments (default: one segment of `points`), or, with route=True, a route
    of the points (routes have no times)."""
    segments = segments if segments is not None else [points]
    xmlns = ' xmlns="http://www.topografix.com/GPX/1/1"' if namespace else ""
    who = f" creator={quoteattr(creator)}" if creator is not None else ""
    out = [prolog, f'<gpx version="1.1"{who}{xmlns}>\n', f"<metadata><time>{iso(start)}</time></metadata>\n"]
    if route:
        out.append("<rte><name>planned</name>\n")
        out += [f'<rtept lat="{p[0]}" lon="{p[1]}"/>\n' for p in points]
        out.append("</rte>\n")
    else:
        for number in range(tracks):
            out.append(f"<trk><name>track {number}</name>\n")
            if sport is not None and number == 0:
                out.append(f"<type>{escape(sport)}</type>\n")
            for segment in segments:
                out.append("<trkseg>\n")
                for p in segment:
                    out.append(f'<trkpt lat="{p[0]}" lon="{p[1]}">')
                    if len(p) > 3 and p[3] is not None:
                        out.append(f"<ele>{p[3]}</ele>")
                    when = _at(start, p[2], times)
                    if when:
                        out.append(f"<time>{when}</time>")
                    out.append("</trkpt>\n")
                out.append("</trkseg>\n")
            out.append("</trk>\n")
    out.append("</gpx>\n")
    return "".join(out).encode(encoding)


@dataclass
class Lap:
    points: list[Point] = field(default_factory=list)
    distance_m: float | str | None = None  # Lap/DistanceMeters (a str is written as is)
    seconds: float | str | None = None  # Lap/TotalTimeSeconds
    avg_hr: int | None = None  # Lap/AverageHeartRateBpm/Value
    start_s: float | None = None  # StartTime attribute, seconds after the activity start
    point_distances: list[float] | None = None  # Trackpoint/DistanceMeters, one per point


@dataclass
class Activity:
    start: datetime = START
    sport: str = "Running"
    laps: list[Lap] = field(default_factory=list)
    creator: str | None = "Forerunner Test"
    id_time: str | None = None  # the Id text; default: the start


def tcx(*activities: Activity, courses: int = 0, times: str = "Z", namespace: bool = True) -> bytes:
    """A TCX file holding the activities (and `courses` courses, which are plans)."""
    xmlns = ' xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"' if namespace else ""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f"<TrainingCenterDatabase{xmlns}>\n<Activities>\n"]
    for activity in activities:
        out.append(f'<Activity Sport={quoteattr(activity.sport)}>\n'
                   f"<Id>{activity.id_time if activity.id_time is not None else iso(activity.start, times)}</Id>\n")
        for lap in activity.laps:
            first = lap.start_s if lap.start_s is not None else next((p[2] for p in lap.points), 0) or 0
            out.append(f'<Lap StartTime="{_at(activity.start, first, times)}">\n')
            if lap.seconds is not None:
                out.append(f"<TotalTimeSeconds>{lap.seconds}</TotalTimeSeconds>\n")
            if lap.distance_m is not None:
                out.append(f"<DistanceMeters>{lap.distance_m}</DistanceMeters>\n")
            if lap.avg_hr is not None:
                out.append(f"<AverageHeartRateBpm><Value>{lap.avg_hr}</Value></AverageHeartRateBpm>\n")
            out.append("<Track>\n")
            for i, p in enumerate(lap.points):
                out.append("<Trackpoint>")
                when = _at(activity.start, p[2], times)
                if when:
                    out.append(f"<Time>{when}</Time>")
                out.append(f"<Position><LatitudeDegrees>{p[0]}</LatitudeDegrees>"
                           f"<LongitudeDegrees>{p[1]}</LongitudeDegrees></Position>")
                if len(p) > 3 and p[3] is not None:
                    out.append(f"<AltitudeMeters>{p[3]}</AltitudeMeters>")
                if lap.point_distances is not None:
                    out.append(f"<DistanceMeters>{lap.point_distances[i]}</DistanceMeters>")
                out.append("</Trackpoint>\n")
            out.append("</Track>\n</Lap>\n")
        if activity.creator is not None:
            out.append(f'<Creator><Name>{escape(activity.creator)}</Name></Creator>\n')
        out.append("</Activity>\n")
    out.append("</Activities>\n")
    if courses:
        out.append("<Courses>\n" + "<Course><Name>plan</Name></Course>\n" * courses + "</Courses>\n")
    out.append("</TrainingCenterDatabase>\n")
    return "".join(out).encode()


def laps_of(points: list[Point], count: int, *, hr: list[int] | None = None) -> list[Lap]:
    """`points` cut into `count` laps with their true distances, times and cumulative
    trackpoint distances (the points must come from `line`)."""
    size = -(-len(points) // count)
    laps, covered = [], 0.0
    for k in range(count):
        chunk = points[k * size:(k + 1) * size]
        if not chunk:
            break
        previous = points[k * size - 1] if k else chunk[0]
        metres = (chunk[-1][0] - previous[0]) * ONE_DEGREE
        distances = [covered + (p[0] - previous[0]) * ONE_DEGREE for p in chunk]
        seconds = chunk[-1][2] - (previous[2] if k else chunk[0][2])
        laps.append(Lap(chunk, distance_m=round(metres, 2), seconds=seconds,
                        avg_hr=hr[k] if hr else None, point_distances=[round(d, 2) for d in distances]))
        covered += metres
    return laps
