"""Importing FIT files: every input file ends in exactly one outcome.

imported  - an activity with at least one session not stored before; those are
            stored (`already_stored` counts the others, when there are any)
duplicate - the same bytes as a file already imported, or an activity each of
            whose sessions (same sport, start within a minute) is already stored
skipped   - a valid FIT file that is not an activity, or a file refused unread
failed    - unreadable or corrupt; remembered by its bytes and not retried
            until they change
"""

from __future__ import annotations

import hashlib
from collections import deque
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


def _same_activity(store, session) -> str | None:
    """The source of a stored session this one repeats (same sport, start within
    a minute), or None."""
    match = store.session_near(
        session.sport,
        _iso(session.start_time - SAME_ACTIVITY_WINDOW),
        _iso(session.start_time + SAME_ACTIVITY_WINDOW),
    )
    return match["source"] if match else None


def _already_stored(store, decoded: DecodedFile, label: str) -> list[str | None]:
    """For each session of a file, in order: the source it repeats, or None when it
    is new. Judged session by session, so a chained file (`cat a.fit b.fit`) or a
    multisport file stores whatever part of it is not stored yet. A session that
    repeats one earlier in the same file exactly (a file chained to itself) counts
    as stored by this file."""
    repeats: list[str | None] = []
    for index, session in enumerate(decoded.sessions):
        if session in decoded.sessions[:index]:
            repeats.append(label)
        else:
            repeats.append(_same_activity(store, session))
    return repeats


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


@dataclass
class _Item:
    """One candidate on its way through an import, in the order it was found."""

    label: str
    outcome: str | None = None  # decided without decoding: (outcome, details)
    details: dict = field(default_factory=dict)
    sha: str | None = None
    size: int = 0
    future: object = None  # a decode in flight
    read: Callable[[], bytes] | None = None


class _Importer:
    """Reads, decodes (on every core for big imports) and stores, one file at a time.

    Files are finished strictly in the order they were found, so duplicates
    within one import are judged as if it ran file by file.
    """

    def __init__(self, store, decoder, report: ImportReport, progress):
        self.store = store
        self.decoder = decoder
        self.report = report
        self.progress = progress
        self.attribute = attributor(store)
        self.window: deque[_Item] = deque()
        self.remembered: list[dict] = []
        self.unreadable = False  # something could not be read: the unit cannot be replayed

    def take(self, entry) -> None:
        if isinstance(entry, sources.Refusal):
            self._queue(_Item(entry.label, entry.outcome, {"reason": entry.reason}))
            return
        try:
            data = entry.read()
        except sources.SourceError as exc:
            self._queue(_Item(entry.label, "failed", {"reason": str(exc)}))
            return
        item = _Item(entry.label, sha=hashlib.sha256(data).hexdigest(), size=len(data), read=entry.read)
        if self.store.file_by_hash(item.sha) is None:
            item.future = self.decoder.submit(data)
        self._queue(item)

    def _queue(self, item: _Item) -> None:
        self.window.append(item)
        while len(self.window) > self.decoder.window:
            self._finish(self.window.popleft())

    def drain(self) -> None:
        while self.window:
            self._finish(self.window.popleft())

    def _finish(self, item: _Item) -> None:
        if item.outcome:
            self.report.add(item.outcome, item.label, **item.details)
            if item.outcome == "skipped":  # refused unread: remembered as such
                self.remembered.append({"label": item.label, "outcome": "skipped", **item.details})
            else:
                self.unreadable = True
        else:
            self._store(item)
            self.remembered.append({"label": item.label, "sha256": item.sha})
        self.progress(1)

    def _store(self, item: _Item) -> None:
        known = self.store.file_by_hash(item.sha)  # also catches a twin earlier in this import
        if known:
            _known(self.report, item.label, known)
            return
        status, result = self.decoder.result(item.future, item.read)
        label, sha, size = item.label, item.sha, item.size
        if status == "error":
            self.store.record_file(sha, label, size, "failed", result)
            self.report.add("failed", label, reason=result)
            return
        decoded: DecodedFile = result
        if decoded.file_type != "activity":
            reason = f"not an activity: a {decoded.file_type} file"
            self.store.record_file(sha, label, size, "skipped", reason)
            self.report.add("skipped", label, reason=reason)
            return
        # An activity without a session summary is still an activity: it is
        # imported with nothing to count, and known by its bytes from then on.
        repeats = _already_stored(self.store, decoded, label)
        if decoded.sessions and all(repeats):  # every session is stored already
            earliest = min(range(len(repeats)), key=lambda i: decoded.sessions[i].start_time)
            original = repeats[earliest]
            self.store.record_file(sha, label, size, "duplicate", original)
            self.report.add("duplicate", label, of=original)
            return
        rows = [row for row, repeat in zip(session_rows(decoded, label), repeats) if repeat is None]
        rows = _attributed(rows, self.attribute)
        # Judged again under the write lock: another import may have stored these a moment ago.
        stored, copy_of = self.store.record_file(sha, label, size, "imported", sessions=rows,
                                                 same_within_s=int(SAME_ACTIVITY_WINDOW.total_seconds()))
        if rows and not stored:
            self.report.add("duplicate", label, of=copy_of)
            return
        skipped = len(repeats) - stored
        self.report.add("imported", label, sessions=stored, **({"already_stored": skipped} if skipped else {}))


def _replay(store, unit: sources.Unit, report: ImportReport) -> int:
    """Outcomes of a file handled before and unchanged since (same size and mtime),
    without reading it. Returns how many files it stood for (0: not replayable)."""
    rows = store.seen(str(unit.path))
    if not rows or any((r["size"], r["mtime_ns"]) != (unit.size, unit.mtime_ns) for r in rows):
        return 0
    known = {r["label"]: store.file_by_hash(r["sha256"]) for r in rows if r["sha256"]}
    if any(v is None for v in known.values()):
        return 0
    for row in rows:
        if row["sha256"]:
            _known(report, row["label"], known[row["label"]])
        else:
            report.add(row["outcome"], row["label"], reason=row["reason"])
    return len(rows)


class Progress:
    """Counts files done against a total that grows as archives are opened."""

    def __init__(self, total: int, callback: Callable[[int, int], None] | None):
        self.total, self.done, self.callback = total, 0, callback

    def found(self, extra: int) -> None:
        self.total += extra

    def __call__(self, done: int) -> None:
        self.done += done
        if self.callback:
            self.callback(self.done, self.total)


def import_paths(store, paths: list[Path], *,
                 on_progress: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 workers: int | None = None, confine: Path | None = None) -> ImportReport:
    """Import every FIT file under `paths` (files, folders, .fit.gz, zips).

    `on_progress(done, total)` follows the files (total grows as archives open).
    `should_stop()` is asked before each file is read: a stop lands between
    files, never inside one. Files seen before, unchanged, are not read again.
    With `confine`, nothing outside that folder is read (links are not followed out).
    """
    from ..adapters.fit import Decoder

    report = ImportReport()
    units = sources.find(paths, confine)
    progress = Progress(len(units), on_progress)
    with Decoder(workers) as decoder:
        importer = _Importer(store, decoder, report, progress)
        for unit in units:
            if should_stop and should_stop():
                report.stopped = True
                break
            if isinstance(unit, sources.Refusal):
                report.add(unit.outcome, unit.label, reason=unit.reason)
                progress(1)
                continue
            replayed = _replay(store, unit, report)
            if replayed:
                progress.found(replayed - 1)
                progress(replayed)
                continue
            importer.remembered, importer.unreadable = [], False
            for entry in sources.entries(unit, progress.found):
                if should_stop and should_stop():
                    report.stopped = True
                    break
                importer.take(entry)
            importer.drain()
            if not (report.stopped or importer.unreadable):
                store.remember_seen(str(unit.path), unit.size, unit.mtime_ns, importer.remembered)
    return report
