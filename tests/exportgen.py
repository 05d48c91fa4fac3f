"""Builders for the manifest files of Strava and Garmin bulk exports, for tests.

Each takes plain Python lists and returns the file's bytes as Strava or Garmin
write it, so that integration tests can put them in a zip with FIT files::

    from tests import exportgen
    csv = exportgen.strava_activities_csv([
        {"id": 1, "date": datetime(2026, 8, 20, 11, 1, 45, tzinfo=timezone.utc), "type": "Run",
         "gear": "Pegasus", "filename": "activities/1.fit.gz", "km": 10.02, "seconds": 3010},
    ])
    shoes = exportgen.strava_shoes_csv([{"name": "Pegasus", "brand": "Nike", "model": "Pegasus 40"}])
    gear = exportgen.garmin_gear_json([{"pk": 7, "name": "Pegasus", "make": "Nike Pegasus 40"}],
                                      {"7": [111]})
    summaries = exportgen.garmin_summaries_json([{"id": 111, "start": datetime(2026, 8, 20, tzinfo=timezone.utc),
                                                  "type": "running", "km": 10, "seconds": 3000}])

Paths in an export: Strava `activities.csv`, `shoes.csv`, `activities/<id>.fit.gz`;
Garmin `DI_CONNECT/DI-Connect-Fitness/<user>_gear.json` and
`DI_CONNECT/DI-Connect-Fitness/<user>_0_summarizedActivities.json`.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

# The start of a real activities.csv header: names repeat ("Elapsed Time" and
# "Distance" twice: first in seconds and km, then in seconds and metres).
STRAVA_HEADER = (
    "Activity ID", "Activity Date", "Activity Name", "Activity Type", "Activity Description",
    "Elapsed Time", "Distance", "Max Heart Rate", "Relative Effort", "Commute",
    "Activity Private Note", "Activity Gear", "Filename", "Athlete Weight", "Bike Weight",
    "Elapsed Time", "Moving Time", "Distance", "Max Speed", "Average Speed", "Elevation Gain",
    "Elevation Loss", "Elevation Low", "Elevation High", "Max Grade", "Average Grade",
    "Average Heart Rate", "Calories", "Media",
)
SHOES_HEADER = ("Shoe Name", "Shoe Brand", "Shoe Model", "Shoe Default Sport Types")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
GEAR_KEYS = {"pk", "name", "make", "type", "status", "begin", "end", "max_m"}
ACTIVITY_KEYS = {"id", "start", "type", "km", "seconds"}
NAMES = {"Run": "Morning Run", "Ride": "Afternoon Ride", "Walk": "Evening Walk"}


def strava_date(when: datetime) -> str:
    """'Aug 20, 2026, 11:01:45 AM', in UTC, as Strava writes it (English, whatever the locale)."""
    when = when.astimezone(timezone.utc) if when.tzinfo else when
    hour = when.hour % 12 or 12
    noon = "AM" if when.hour < 12 else "PM"
    return f"{MONTHS[when.month - 1]} {when.day}, {when.year}, {hour}:{when.minute:02}:{when.second:02} {noon}"


def _number(value) -> str:
    return "" if value is None else value if isinstance(value, str) else f"{value:.2f}"


def _csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def strava_activities_csv(rows: list[dict], header: tuple[str, ...] = STRAVA_HEADER) -> bytes:
    """activities.csv. Row keys: id, date (datetime, or the text as is), type, gear, filename
    (None or "" for a manual entry), km, seconds (numbers, or text as is, e.g. "1,234.50"),
    name. Other keys fill the first column of that name ("Max Heart Rate": 171).
    `header` may drop or reorder columns; the second Distance gets metres."""
    lines = []
    for row in rows:
        date = row.get("date", datetime(2026, 8, 20, 11, 1, 45, tzinfo=timezone.utc))
        km, seconds = row.get("km", 10.0), row.get("seconds", 3000)
        kind = row.get("type", "Run")
        first = {
            "Activity ID": str(row.get("id", "")),
            "Activity Date": strava_date(date) if isinstance(date, datetime) else date,
            "Activity Name": row.get("name", NAMES.get(kind, "Workout")),
            "Activity Type": kind,
            "Elapsed Time": _number(seconds).removesuffix(".00"),
            "Distance": _number(km),
            "Commute": "false",
            "Activity Gear": row.get("gear") or "",
            "Filename": row.get("filename") or "",
            **{key: str(value) for key, value in row.items() if key[:1].isupper()},
        }
        second = {  # the repeated columns: seconds as floats, metres
            "Elapsed Time": f"{float(seconds):.1f}" if isinstance(seconds, (int, float)) else "",
            "Distance": f"{km * 1000:.1f}" if isinstance(km, (int, float)) else "",
            "Moving Time": f"{float(seconds):.1f}" if isinstance(seconds, (int, float)) else "",
        }
        seen, line = set(), []
        for column in header:
            line.append((second if column in seen else first).get(column, ""))
            seen.add(column)
        lines.append(line)
    return _csv(header, lines)


def strava_shoes_csv(shoes: list[dict]) -> bytes:
    """shoes.csv. Keys: name, brand, model, sports (text such as "Run,Walk")."""
    return _csv(SHOES_HEADER, [[shoe.get("name", ""), shoe.get("brand", ""), shoe.get("model", ""),
                                 shoe.get("sports", "Run")] for shoe in shoes])


def garmin_gear_json(gear: list[dict], choices: dict[str, list[int]]) -> bytes:
    """A *_gear.json. Gear keys: pk, name (displayName), make (customMakeModel), type ("Shoes",
    "Bike"), status ("active", "retired"), begin, end (ISO text or None), max_m (maximumMeters).
    Other keys are copied as they are. `choices` maps a gearPk (as text) to activity ids."""
    dtos = []
    for item in gear:
        pk = item.get("pk", 1)
        dto = {
            "gearPk": pk, "uuid": f"{pk:032x}" if isinstance(pk, int) else str(pk), "userProfilePk": 1,
            "gearMakeName": "Other", "gearModelName": "Unknown Shoes",
            "gearTypeName": item.get("type", "Shoes"), "gearStatusName": item.get("status", "active"),
            "displayName": item.get("name"), "customMakeModel": item.get("make", ""),
            "imageNameLarge": None, "imageNameMedium": None, "imageNameSmall": None,
            "dateBegin": item.get("begin", "2026-01-01T00:00:00.0"), "dateEnd": item.get("end"),
            "maximumMeters": item.get("max_m", 0.0), "notified": False,
            "createDate": "2026-01-01T08:00:00.0", "updateDate": "2026-01-01T08:00:00.0",
        }
        dto.update({key: value for key, value in item.items() if key not in GEAR_KEYS})
        dtos.append(dto)
    links = {str(pk): [{"gearPk": int(pk) if str(pk).isdigit() else pk, "activityId": activity,
                        "activityName": "Run", "activityTypePk": 1}
                       for activity in activities] for pk, activities in choices.items()}
    return json.dumps([{"gearDTOS": dtos, "gearActivityDTOs": links, "gearActivityTypeDTOS": []}]).encode()


def garmin_summaries_json(activities: list[dict]) -> bytes:
    """A *_summarizedActivities.json. Keys: id, start (datetime, aware), type ("running"),
    km, seconds. Other keys (camelCase, as Garmin names them) are copied as they are."""
    entries = []
    for item in activities:
        start = item.get("start", datetime(2026, 8, 20, 11, 1, 45, tzinfo=timezone.utc))
        ms = round(start.timestamp() * 1000)
        km, seconds = item.get("km", 10.0), item.get("seconds", 3000)
        entry = {
            "activityId": item.get("id", 1), "name": "Run", "activityType": item.get("type", "running"),
            "sportType": "GENERIC", "beginTimestamp": ms, "startTimeGmt": ms,
            "startTimeLocal": ms + 7_200_000, "timeZoneId": 124,
            "distance": None if km is None else km * 100_000,  # centimetres
            "duration": None if seconds is None else seconds * 1000,  # milliseconds
            "movingDuration": None if seconds is None else seconds * 1000,
            "calories": 600.0, "avgHr": 150.0, "manualActivity": False,
        }
        entry.update({key: value for key, value in item.items() if key not in ACTIVITY_KEYS})
        entries.append(entry)
    return json.dumps([{"summarizedActivitiesExport": entries}]).encode()
