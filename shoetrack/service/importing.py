"""Importing FIT files: every input file ends in exactly one outcome.

imported  - an activity whose sessions were stored
duplicate - the same bytes, or the same activity (start within a minute, same
            sport), as something already stored
skipped   - a valid FIT file that is not an activity, or a file refused unread
failed    - unreadable or corrupt; remembered by its bytes and not retried
            until they change
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from ..adapters import sources
from ..core.models import DecodedFile
from .shoes import attribution_columns, attributor, facts_from_row

OUTCOMES = ("imported", "duplicate", "skipped", "failed")
SAME_ACTIVITY_WINDOW = timedelta(minutes=1)


@dataclass
class ImportReport:
    imported: list[dict] = field(default_factory=list)
    duplicate: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    stopped: bool = False  # asked to stop before every file had its outcome

    def add(self, outcome: str, path: str, **details) -> None:
        getattr(self, outcome).append({"path": path, **details})

    def as_json(self) -> dict:
        return {outcome: getattr(self, outcome) for outcome in OUTCOMES}

    @property
    def sessions(self) -> int:
        return sum(item["sessions"] for item in self.imported)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_day(start: datetime, utc_offset_s: int | None) -> str:
    """The calendar day the runner lived the session on.

    The file's own offset wins; without one, this machine's time zone is the
    best guess (the runner is usually at home).
    """
    if utc_offset_s is not None:
        return (start.astimezone(timezone.utc) + timedelta(seconds=utc_offset_s)).date().isoformat()
    return start.astimezone().date().isoformat()


def session_rows(decoded: DecodedFile, source: str) -> list[dict]:
    return [
        {
            "source": source,
            "session_index": index,
            "start_time": _iso(s.start_time),
            "local_date": local_day(s.start_time, decoded.utc_offset_s),
            "sport": s.sport,
            "sub_sport": s.sub_sport,
            "distance_m": s.distance_m,
            "timer_s": s.timer_s,
            "elapsed_s": s.elapsed_s,
            "avg_hr": s.avg_hr,
            "ascent_m": s.ascent_m,
            "device_manufacturer": decoded.manufacturer,
            "device_product": decoded.product,
            "device_serial": decoded.serial,
            "foot_pod_serial": decoded.foot_pod_serial,
            "utc_offset_s": decoded.utc_offset_s,
        }
        for index, s in enumerate(decoded.sessions)
    ]


def _same_activity(store, decoded: DecodedFile) -> str | None:
    """The source of a stored activity this one repeats, or None."""
    first = min(decoded.sessions, key=lambda s: s.start_time)
    match = store.session_near(
        first.sport,
        _iso(first.start_time - SAME_ACTIVITY_WINDOW),
        _iso(first.start_time + SAME_ACTIVITY_WINDOW),
    )
    return match["source"] if match else None


def _known(report: ImportReport, label: str, known: dict) -> None:
    """Report a file whose exact bytes were seen before, as they were judged then."""
    outcome = known["outcome"]
    if outcome == "imported":
        report.add("duplicate", label, of=known["path"])
    elif outcome == "duplicate":
        report.add("duplicate", label, of=known["reason"])
    else:
        report.add(outcome, label, reason=known["reason"])


def _attributed(rows: list[dict], attribute) -> list[dict]:
    """Rows with their pair decided before they are stored, in the same transaction."""
    for row in rows:
        result = attribute(facts_from_row(dict(row, id=0)))
        row.update(attribution_columns(result))
    return rows


def import_candidate(store, candidate: sources.Candidate, report: ImportReport, attribute) -> None:
    """Give one candidate file its outcome, storing what it holds.

    `attribute` decides each new session's pair (see core.attribution).
    """
    from ..adapters.fit import FitDecodeError, decode

    label = candidate.label
    try:
        data = candidate.read()
    except sources.SourceError as exc:
        report.add("failed", label, reason=str(exc))
        return
    sha = hashlib.sha256(data).hexdigest()
    known = store.file_by_hash(sha)
    if known:
        _known(report, label, known)
        return
    try:
        decoded = decode(data)
    except FitDecodeError as exc:
        store.record_file(sha, label, len(data), "failed", str(exc))
        report.add("failed", label, reason=str(exc))
        return
    if decoded.file_type != "activity":
        reason = f"not an activity: a {decoded.file_type} file"
        store.record_file(sha, label, len(data), "skipped", reason)
        report.add("skipped", label, reason=reason)
        return
    # An activity without a session summary is still an activity: it is
    # imported with nothing to count, and known by its bytes from then on.
    original = _same_activity(store, decoded) if decoded.sessions else None
    if original:
        store.record_file(sha, label, len(data), "duplicate", original)
        report.add("duplicate", label, of=original)
        return
    rows = _attributed(session_rows(decoded, label), attribute)
    store.record_file(sha, label, len(data), "imported", sessions=rows)
    report.add("imported", label, sessions=len(rows))


def import_paths(store, paths: list[Path], *,
                 on_unit: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> ImportReport:
    """Import every FIT file under `paths` (files, folders, .fit.gz, zips).

    `on_unit(done, total)` is called after each file or archive, for progress.
    `should_stop()` is asked before each file: a stop lands between files,
    never inside one.
    """
    report = ImportReport()
    attribute = attributor(store)
    units = sources.find(paths)
    for done, unit in enumerate(units, start=1):
        if isinstance(unit, sources.Refusal):
            report.add(unit.outcome, unit.label, reason=unit.reason)
        else:
            for entry in sources.entries(unit):
                if should_stop and should_stop():
                    report.stopped = True
                    return report
                if isinstance(entry, sources.Refusal):
                    report.add(entry.outcome, entry.label, reason=entry.reason)
                else:
                    import_candidate(store, entry, report, attribute)
        if on_unit:
            on_unit(done, len(units))
    return report
