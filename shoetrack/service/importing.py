"""Importing activity files (FIT, GPX, TCX): every input file ends in exactly one outcome.

imported  - an activity with at least one session not stored before; those are
            stored (`already_stored` counts the others, when there are any)
duplicate - the same bytes as a file already imported, or an activity each of
            whose sessions is already stored: the same run (same sport, start within
            a minute) from a file of the same or a better format
skipped   - a valid file that is not an activity, or a file refused unread
failed    - unreadable or corrupt; remembered by its bytes and not retried
            until they change

The same run exported as FIT, TCX and GPX is stored once, from the best of them:
a FIT file carries the sport, the timer time and the device; a TCX file the sport
and the laps; a GPX file only the track. A better copy arriving later takes the
place of a lesser one stored before (keeping what the runner said about it), so the
order files arrive in does not change the result. Across formats, a copy without a
sport (a GPX file with no type) matches a run of any sport.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from ..adapters import sources
from ..config import Config
from ..errors import StorageError
from ..core.attribution import SAME_RUN_WITHIN, UNKNOWN_SPORT
from ..core.models import DecodedFile
from .shoes import attribution_columns, attributor, choice_for, export_choices, facts_from_row, reattribute

OUTCOMES = ("imported", "duplicate", "skipped", "failed")
SAME_ACTIVITY_WINDOW = SAME_RUN_WITHIN
FORMAT_RANK = {"gpx": 1, "tcx": 2, "fit": 3}  # which copy of the same run is kept


@dataclass
class ImportReport:
    imported: list[dict] = field(default_factory=list)
    duplicate: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    stopped: bool = False  # asked to stop before every file had its outcome
    # the pairs exports brought: {"name", "source", "runs", "new"}
    shoes: list[dict] = field(default_factory=list)
    pins: int = 0  # gear choices exports made (activities whose pair they named)

    def add(self, outcome: str, path: str, **details) -> None:
        getattr(self, outcome).append({"path": path, **details})

    def displaced(self, paths: list[str], by: str) -> None:
        """Files imported earlier in this import whose run a better copy now holds: duplicates."""
        for path in paths:
            for item in [i for i in self.imported if i["path"] == path]:
                self.imported.remove(item)
                self.duplicate.append({"path": path, "of": by})

    def as_json(self) -> dict:
        return {**{outcome: getattr(self, outcome) for outcome in OUTCOMES}, "shoes": self.shoes}

    @property
    def sessions(self) -> int:
        return sum(item["sessions"] for item in self.imported)


def utc_text(moment: datetime) -> str:
    """A moment as sessions store it: ISO 8601 UTC to the second, with Z."""
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
            "start_time": utc_text(s.start_time),
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
            "format": decoded.format,
            "derived": int(s.derived),
        }
        for index, s in enumerate(decoded.sessions)
    ]


def _rank(fmt: str | None) -> int:
    return FORMAT_RANK.get(fmt or "fit", FORMAT_RANK["fit"])


def verdict(stored: list[dict], row: dict) -> tuple:
    """How a new session relates to the sessions stored near its start: ("new",),
    ("duplicate", source of the copy kept) or ("replace", [ids of lesser copies])."""
    fmt = row.get("format") or "fit"
    same = [c for c in stored
            if c["sport"] == row["sport"]
            or ((c["format"] or "fit") != fmt and UNKNOWN_SPORT in (c["sport"], row["sport"]))]
    if not same:
        return ("new",)
    kept = [c for c in same if _rank(c["format"]) >= _rank(fmt)]
    if kept:
        return ("duplicate", kept[0]["source"])
    return ("replace", [c["id"] for c in same])


def judge(store) -> Callable[[dict], tuple]:
    """The verdict on a session row against what is stored now."""
    def judge_row(row: dict) -> tuple:
        start = datetime.fromisoformat(row["start_time"])
        return verdict(store.sessions_near(utc_text(start - SAME_ACTIVITY_WINDOW),
                                           utc_text(start + SAME_ACTIVITY_WINDOW)), row)
    return judge_row


def _judged(store, decoded: DecodedFile, rows: list[dict], label: str) -> list[tuple]:
    """For each session of a file, in order, its verdict against what is stored: ("new",),
    ("duplicate", source) or ("replace", ids). Judged session by session, so a chained
    file (`cat a.fit b.fit`) or a multisport file stores whatever part of it is not
    stored yet. A session that repeats one earlier in the same file exactly (a file
    chained to itself) counts as stored by this file."""
    judge_row = judge(store)
    return [("duplicate", label) if session in decoded.sessions[:index] else judge_row(row)
            for index, (session, row) in enumerate(zip(decoded.sessions, rows))]


def _known(report: ImportReport, label: str, known: dict) -> None:
    """Report a file whose exact bytes were seen before, as they were judged then."""
    outcome = known["outcome"]
    if outcome == "imported":
        report.add("duplicate", label, of=known["path"])
    elif outcome == "duplicate":
        report.add("duplicate", label, of=known["reason"])
    else:
        report.add(outcome, label, reason=known["reason"])


def _attributed(rows: list[dict], attribute, choices) -> list[dict]:
    """Rows with their pair decided before they are stored, in the same transaction.
    (A lesser copy's pin, which the row may inherit, is applied when it is stored.)"""
    for row in rows:
        result = attribute(facts_from_row(dict(row, id=0)), None, choice_for(choices, row))
        row.update(attribution_columns(result))
    return rows


class _Batch:
    """Files are stored many to a transaction: one transaction per file costs more than
    decoding it. A batch is committed after MOST_FILES files or MOST_S seconds, before
    a slow decode, and at the end, so other writers and readers never wait long; a crash
    loses at most the batch, which the next import stores again (never half a file)."""

    # A commit costs ~0.1 ms (WAL, synchronous=NORMAL: no fsync), a file ~0.3 ms to store:
    # small batches cost little, and an import killed at any moment keeps all but the last.
    MOST_FILES = 64
    MOST_S = 0.05

    def __init__(self, store):
        self.store = store
        self.stack: ExitStack | None = None
        self.files = 0
        self.started = 0.0

    def open(self) -> None:
        if self.stack is None:
            stack = ExitStack()
            stack.enter_context(self.store.transaction())
            self.stack, self.files, self.started = stack, 0, time.monotonic()

    def stored_one(self) -> None:
        self.files += 1
        if self.files >= self.MOST_FILES or time.monotonic() - self.started >= self.MOST_S:
            self.commit()

    def commit(self) -> None:
        stack, self.stack = self.stack, None
        if stack is not None:
            stack.close()

    def abort(self, exc: BaseException) -> None:
        """After a failed write (a full disk), keep the files stored whole before it if
        the commit still goes through; after anything else, roll the batch back."""
        stack, self.stack = self.stack, None
        if stack is None:
            return
        if isinstance(exc, StorageError):  # the failed step is undone already (a savepoint)
            try:
                stack.close()
            except StorageError:
                pass  # rolled back: nothing of the batch is stored
            return
        stack.__exit__(type(exc), exc, exc.__traceback__)


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
    hint: object = None  # what an export says of this file (GPX and TCX use it)


class _Importer:
    """Reads, decodes (files that need fitparse on every core) and stores, in batches.

    Files are finished strictly in the order they were found, so duplicates
    within one import are judged as if it ran file by file.
    """

    def __init__(self, store, decoder, report: ImportReport, progress, hints: dict | None = None):
        self.store = store
        self.decoder = decoder
        self.report = report
        self.progress = progress
        self.hints = hints or {}
        self.attribute = attributor(store)
        self.choices = export_choices(store)
        self.window: deque[_Item] = deque()
        self.remembered: list[dict] = []
        self.unreadable = False  # something could not be read: the unit cannot be replayed
        self.batch = _Batch(store)
        decoder.before_slow = self.batch.commit  # never hold the write lock through fitparse

    def take(self, entry) -> None:
        if isinstance(entry, sources.Refusal):
            self._queue(_Item(entry.label, entry.outcome, {"reason": entry.reason}))
            return
        try:
            data = entry.read()
        except sources.SourceError as exc:
            self._queue(_Item(entry.label, "failed", {"reason": str(exc)}))
            return
        item = _Item(entry.label, sha=hashlib.sha256(data).hexdigest(), size=len(data), read=entry.read,
                     hint=self.hints.get(entry.label))
        if self.store.file_by_hash(item.sha) is None:
            item.future = self.decoder.submit(data, item.hint)
        self._queue(item)

    def _queue(self, item: _Item) -> None:
        self.window.append(item)
        while len(self.window) > self.decoder.window:
            self._finish(self.window.popleft())

    def drain(self) -> None:
        while self.window:
            self._finish(self.window.popleft())

    def _finish(self, item: _Item) -> None:
        self.batch.open()
        self._outcome(item)
        self.batch.stored_one()
        self.progress(1)

    def _outcome(self, item: _Item) -> None:
        if item.outcome:
            self.report.add(item.outcome, item.label, **item.details)
            if item.outcome == "skipped":  # refused unread: remembered as such
                self.remembered.append({"label": item.label, "outcome": "skipped", **item.details})
            else:
                self.unreadable = True
        else:
            self._store(item)
            self.remembered.append({"label": item.label, "sha256": item.sha})

    def _store(self, item: _Item) -> None:
        known = self.store.file_by_hash(item.sha)  # also catches a twin earlier in this import
        if known:
            _known(self.report, item.label, known)
            return
        status, result = self.decoder.result(item.future, item.read, item.hint)
        label, sha, size = item.label, item.sha, item.size
        if status in ("error", "skipped"):
            outcome = "failed" if status == "error" else "skipped"
            self.store.record_file(sha, label, size, outcome, result)
            self.report.add(outcome, label, reason=result)
            return
        decoded: DecodedFile = result
        if decoded.file_type != "activity":
            reason = f"not an activity: a {decoded.file_type} file"
            self.store.record_file(sha, label, size, "skipped", reason)
            self.report.add("skipped", label, reason=reason)
            return
        # An activity without a session summary is still an activity: it is
        # imported with nothing to count, and known by its bytes from then on.
        rows = session_rows(decoded, label)
        notes = {"notes": list(decoded.notes)} if decoded.notes else {}
        # The batch holds the write lock: what is judged now is what the write will meet.
        verdicts = _judged(self.store, decoded, rows, label)
        repeats = [verdict[1] if verdict[0] == "duplicate" else None for verdict in verdicts]
        if decoded.sessions and all(repeats):  # every session is stored already
            earliest = min(range(len(repeats)), key=lambda i: decoded.sessions[i].start_time)
            original = repeats[earliest]
            self.store.record_file(sha, label, size, "duplicate", original)
            self.report.add("duplicate", label, of=original)
            return
        kept = [(row, verdict) for row, verdict in zip(rows, verdicts) if verdict[0] != "duplicate"]
        rows = _attributed([row for row, _ in kept], self.attribute, self.choices)
        verdict_of = {row["session_index"]: verdict for row, verdict in kept}
        done = self.store.record_file(sha, label, size, "imported", sessions=rows,
                                      judge=lambda row: verdict_of[row["session_index"]])
        if rows and not done.stored:
            self.report.add("duplicate", label, of=done.copy_of)
            return
        if done.in_place:  # took the place of lesser copies: their pins came along
            reattribute(self.store, done.in_place)
        self.report.displaced(done.displaced, label)
        stored = done.stored
        skipped = len(repeats) - stored
        self.report.add("imported", label, sessions=stored,
                        **({"already_stored": skipped} if skipped else {}), **notes)


class _Decoding:
    """The decoder, imported and started only when a file needs decoding: a re-scan of
    files already known never loads the FIT decoder."""

    def __init__(self, workers: int | None):
        self.workers = workers
        self.decoder = None
        self.before_slow: Callable[[], None] = lambda: None

    def _started(self):
        if self.decoder is None:
            from ..adapters.fit import Decoder

            self.decoder = Decoder(self.workers)
            self.decoder.before_slow = self.before_slow
        return self.decoder

    @property
    def window(self) -> int:
        return self.decoder.window if self.decoder else 0

    def submit(self, data: bytes, hint=None):
        return self._started().submit(data, hint)

    def result(self, future, data_again, hint=None):
        return self._started().result(future, data_again, hint)

    def __enter__(self) -> "_Decoding":
        return self

    def __exit__(self, *_exc) -> None:
        if self.decoder is not None:
            self.decoder.close()


class _Remembered:
    """What is remembered of files on disk: asked per file, or, for a big import (a
    re-scan of thousands of files), read in one query."""

    AT_ONCE = 64

    def __init__(self, store, units: int):
        self.store = store
        self.everything = store.seen_everywhere() if units > self.AT_ONCE else None

    def of(self, path: str) -> list[dict]:
        if self.everything is not None:
            return self.everything.get(path, [])
        return self.store.seen(path)


def _replay(remembered: _Remembered, unit: sources.Unit, report: ImportReport) -> int:
    """Outcomes of a file handled before and unchanged since (same size and mtime),
    without reading it. Returns how many files it stood for (0: not replayable)."""
    rows = remembered.of(str(unit.path))
    if not rows or any((r["size"], r["mtime_ns"]) != (unit.size, unit.mtime_ns) for r in rows):
        return 0
    if any(r["sha256"] and r["known_outcome"] is None for r in rows):
        return 0  # its bytes are not known any more (a restore, a damaged file set aside)
    for row in rows:
        if row["sha256"]:
            known = {"path": row["known_path"], "outcome": row["known_outcome"], "reason": row["known_reason"]}
            _known(report, row["label"], known)
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
                 workers: int | None = None, confine: Path | None = None, config=None) -> ImportReport:
    """Import every activity file under `paths` (files, folders, gzipped files, zips),
    and what exports among them say of pairs and gear (with `config`, for new pairs' limits).

    `on_progress(done, total)` follows the files (total grows as archives open).
    `should_stop()` is asked before each file is read: a stop lands between
    files, never inside one. Files seen before, unchanged, are not read again.
    With `confine`, nothing outside that folder is read (links are not followed out).
    """
    from .exports import ExportPlan, read_exports, summarise

    report = ImportReport()
    units = sources.find(paths, confine)
    named = {str(p) for p in paths}
    outside = any(isinstance(u, sources.Refusal) and u.reason == sources.OUTSIDE and u.label in named for u in units)
    plan = ExportPlan() if outside else read_exports(store, config or Config(), paths, report)
    progress = Progress(len(units), on_progress)
    with _Decoding(workers) as decoder:
        importer = _Importer(store, decoder, report, progress, plan.hints)
        try:
            _import_units(store, units, importer, report, progress, should_stop)
        except BaseException as exc:
            importer.batch.abort(exc)
            raise
        importer.batch.commit()
    if plan.changed:  # pairs or gear choices arrived: runs stored before may change pair
        reattribute(store)
    summarise(store, plan, report)
    return report


def _import_units(store, units, importer: _Importer, report: ImportReport, progress: Progress,
                  should_stop: Callable[[], bool] | None) -> None:
    remembered = _Remembered(store, len(units))
    for unit in units:
        if should_stop and should_stop():
            report.stopped = True
            break
        if isinstance(unit, sources.Refusal):
            report.add(unit.outcome, unit.label, reason=unit.reason)
            progress(1)
            continue
        replayed = _replay(remembered, unit, report)
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
            importer.batch.open()
            store.remember_seen(str(unit.path), unit.size, unit.mtime_ns, importer.remembered)
