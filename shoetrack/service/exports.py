"""What an export (Strava, Garmin) knows beyond its activity files.

A runner's export carries years of choices: the pairs of shoes, which pair each
activity was run in, and runs entered by hand. Before the files are imported:

- each pair becomes a shoetrack pair, unless one of that name exists (it is then
  reused as it is: what the runner changed in shoetrack stays);
- each activity's pair is kept as a gear choice (by export and activity, so the
  same export imported again changes nothing), which attribution follows unless
  the runner pinned the run with `assign`;
- an activity with no file (a Strava manual entry with a distance) is stored as a
  run logged by hand, once;
- what the export says of each GPX and TCX file (the sport, the distance) is handed
  to the decoder as a hint.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from ..adapters import sources
from .importing import SAME_ACTIVITY_WINDOW, local_day, utc_text
from .runs import MANUAL

NAME_MOST = 60  # as the edge allows for a name typed in (cli/values.py)
LIMIT_RANGE_KM = (0.001, 10_000)
DAY_RANGE = (date(1990, 1, 1), date(2100, 12, 31))


@dataclass
class ExportPlan:
    hints: dict = field(default_factory=dict)  # file label -> gpxtcx.Hint
    pairs: dict = field(default_factory=dict)  # shoe id -> {"name", "source", "new"}
    changed: bool = False  # a pair or a choice was added or corrected: runs need their pair again


def _name(text: str | None) -> str | None:
    """A pair's name from an export: printable, trimmed, at most NAME_MOST characters."""
    if not text:
        return None
    clean = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip()
    return " ".join(clean.split())[:NAME_MOST].strip() or None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value and DAY_RANGE[0] <= value <= DAY_RANGE[1] else None


def _limit(value: float | None, default: float) -> float:
    ok = value is not None and math.isfinite(value) and LIMIT_RANGE_KM[0] <= value <= LIMIT_RANGE_KM[1]
    return value if ok else default


def _parse(manifest: sources.Manifest):
    from ..adapters import exports

    if manifest.kind == "strava":
        shoes = manifest.files.get("shoes") or [None]
        return exports.strava(manifest.files["activities"][0], shoes[0])
    return exports.garmin(manifest.files.get("gear", []), manifest.files.get("summaries", []))


def read_exports(store, config, paths, report) -> ExportPlan:
    """Find the exports among the paths given to import, and bring in their pairs,
    gear choices and manual entries. Problems become the manifest's outcome in the report."""
    plan = ExportPlan()
    for path in paths:
        found, problems = sources.manifests(path)
        for problem in problems:
            report.add(problem.outcome, problem.label, reason=problem.reason)
        for manifest in found:
            from ..adapters.exports import ExportError

            try:
                export = _parse(manifest)
            except ExportError as exc:
                report.add("failed", manifest.label, reason=str(exc))
                continue
            _apply(store, config, export, manifest, plan)
    return plan


def _apply(store, config, export, manifest: sources.Manifest, plan: ExportPlan) -> None:
    from ..adapters.gpxtcx import Hint

    ids: dict[str, int] = {}
    for shoe in export.shoes:
        name = _name(shoe.name)
        if name is None:
            continue
        row = store.shoe_by_name(name)
        new = row is None
        if new:
            retired_on = _day(shoe.retired_on)
            if shoe.retired and retired_on is None:
                worn = [a.start_time.date() for a in export.activities if a.shoe == shoe.name]
                retired_on = _day(max(worn)) if worn else None
            shoe_id = store.add_shoe({
                "name": name, "brand": _name(shoe.brand), "model": _name(shoe.model),
                "limit_km": _limit(shoe.limit_km, config.shoe_limit_km), "start_km": 0,
                "since": _day(shoe.since), "retired_on": retired_on,
            })
            plan.changed = True
        else:
            shoe_id, name = row["id"], row["name"]  # as the runner spelled it in shoetrack
        ids[shoe.name] = shoe_id
        if shoe_id not in plan.pairs or new:
            plan.pairs[shoe_id] = {"name": name, "source": export.source, "new": new}
    choices = [
        {"source": export.source, "activity_id": a.activity_id, "start_time": utc_text(a.start_time),
         "sport": a.sport, "shoe_id": ids[a.shoe]}
        for a in export.activities if a.shoe in ids
    ]
    if store.save_gear_choices(choices):
        plan.changed = True
    for activity in export.activities:
        if activity.filename:
            plan.hints[manifest.label_of(activity.filename)] = Hint(
                sport=activity.sport if activity.sport != "generic" else None,
                sub_sport=activity.sub_sport, distance_m=activity.distance_m, source=export.source)
        elif export.source == "Strava" and activity.distance_m and _store_manual(store, activity):
            # Strava lists every activity with its file; one without is a manual entry.
            # (Garmin's summaries list activities whose files come in the archive's zips.)
            plan.changed = True


def _store_manual(store, activity) -> bool:
    """A manual entry (no file) as a run logged by hand, unless it is stored already."""
    if not (0 < activity.distance_m <= 1_000_000):
        return False
    start = activity.start_time
    near = store.sessions_near(utc_text(start - SAME_ACTIVITY_WINDOW), utc_text(start + SAME_ACTIVITY_WINDOW), manual=True)
    if any(row["sport"] == activity.sport for row in near):
        return False
    seconds = activity.elapsed_s if activity.elapsed_s and 0 < activity.elapsed_s <= 14_400 * 60 else None
    store.add_session({
        "source": MANUAL, "session_index": 0, "start_time": utc_text(start),
        "local_date": local_day(start, None), "sport": activity.sport,
        "sub_sport": activity.sub_sport or "generic", "distance_m": activity.distance_m,
        "timer_s": seconds, "elapsed_s": seconds,
    })
    return True


def summarise(store, plan: ExportPlan, report) -> None:
    """The pairs that came with exports, each with the runs now in it by the export's word."""
    if not plan.pairs:
        return
    counts = store.export_runs()
    report.shoes = [
        {"name": pair["name"], "source": pair["source"], "runs": counts.get(shoe_id, 0), "new": pair["new"]}
        for shoe_id, pair in plan.pairs.items()
    ]
    report.pins = sum(item["runs"] for item in report.shoes)

