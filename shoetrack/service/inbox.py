"""The inbox folder: which files are complete, importing them, tidying up.

A file being copied in fires events before it is complete. Two ways tell that
one is:

- **At once, when the writer is done** (on Linux, inotify): the watcher reports
  a file closed after writing, or moved (renamed) into the inbox. Such a file is
  taken in the next round, without waiting, once `whole` agrees: its bytes say
  they are all there (a FIT file's chain of headers ends exactly at its end, a
  GPX or TCX file ends with its closing root tag, a .gz file's last member ends
  with its checksum, a zip has its central directory), no process still has it
  open for writing (a read lease, which Linux refuses while anyone does), and
  neither its size nor its modification time changed while this was checked.
  A write after the close cancels it (the next close vouches again). A file
  that fails this check waits the second way. So a file written in several
  opens (a copy tool that closes and reopens it) is taken only after the close
  that completes it, and a close by another process while the writer still has
  the file open (a `touch`) takes nothing.
- **Held still** (the fallback): its size and modification time have not
  changed for `settle_s` (SETTLE_S). This covers sources that report no close:
  polling observers, network and FUSE mounts, the periodic rescan, and the
  files already there at start. Where it can be told, a file that a process
  still has open for writing and whose bytes are not complete is not taken
  then either (a download that stalls): its window starts again. A file first
  seen with a modification time older than the window has held still that long
  already: it is taken at once (the files on a watch just plugged in, a polled
  folder's new file).

The same tracker serves every place files are read from (service/places.py):
the inbox, watched folders and watches plugged in, each with a tracker of its own.

The tracker is fed from any thread (the watcher's); everything that reads
files or the database runs in the caller's worker.
"""

from __future__ import annotations

import itertools
import os
import time
import shutil
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..adapters import sources
from ..adapters.complete import being_written, whole
from .importing import ImportReport, import_paths

SETTLE_S = 1.5
KEPT_FOLDERS = ("imported", "failed")  # where after_import = "move" puts files

# What the watcher saw happen to a path (see notice).
SEEN = "seen"  # created, attributes changed, found by a scan: it may be new or changed
WRITTEN = "written"  # bytes were written to it: a close before this one no longer vouches for it
CLOSED = "closed"  # closed after writing, or moved into the inbox: it may be complete now
FOLDER = "folder"  # a folder moved into the inbox: its files arrived complete
GONE = "gone"  # deleted, or moved away
KINDS = (SEEN, WRITTEN, CLOSED, FOLDER, GONE)


@dataclass
class _Pending:
    size: int = -1
    mtime: float = -1.0
    since: float = 0.0  # when size and mtime were last seen to change (monotonic)
    closed: int = 0  # the number of the close (or move in) that vouches for it; 0: none
    last: int = 0  # the number of the last event about it


class Inbox:
    """Tracks the inbox's files from first sight until they are imported."""

    def __init__(self, folder: Path, settle_s: float = SETTLE_S, kept: tuple[str, ...] = KEPT_FOLDERS,
                 check_writers: bool = True):
        self.folder = folder
        self.settle_s = settle_s
        # Whether a file that held still is checked for a writer that paused. Not on a watch
        # plugged in: nothing writes to it while it is mounted, and opening each file of an
        # MTP mount costs a round trip to the device.
        self.check_writers = check_writers
        self.kept = kept  # folders of its own that are not read (the inbox's imported/ and failed/)
        self._lock = threading.Lock()
        self._events = itertools.count(1)
        self._pending: dict[Path, _Pending] = {}
        self._taken: dict[Path, int] = {}  # path -> its last event when ready() returned it
        self._done: dict[str, tuple[int, float]] = {}  # path (as text) -> (size, mtime) when imported

    def _ours(self, path: Path, kind: str = SEEN) -> bool:
        try:
            relative = path.relative_to(self.folder)
        except ValueError:
            return False
        if not relative.parts or relative.parts[0] in self.kept:
            return False
        return kind == FOLDER or sources.kind_of(path.name) is not None

    def notice(self, path: Path, kind: str = SEEN) -> bool:
        """Something happened to a path (any thread); `kind` says what (SEEN, WRITTEN,
        CLOSED, FOLDER, GONE). Returns whether the path is now being watched."""
        if not self._ours(path, kind):
            return False
        with self._lock:
            number = next(self._events)
            if kind == GONE:
                entry = self._pending.get(path)
                if entry is not None:
                    entry.closed, entry.last = 0, number
                return False
            entry = self._pending.setdefault(path, _Pending())
            entry.last = number
            if kind in (CLOSED, FOLDER):
                entry.closed = number
            elif kind == WRITTEN:
                entry.closed = 0
        return True

    def rescan(self, vouch: bool = False) -> int:
        """Notice every file that is new or changed since it was imported; returns how many.
        `vouch`: the look stands for the close events a polled place never gives, so each
        file found is taken as soon as `whole` shows it complete (else once it held still)."""
        found = 0
        top = str(self.folder)
        folders = [top]
        while folders:  # os.scandir, paths as text: a poll of a thousand unchanged files is mostly stat calls
            folder = folders.pop()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        try:
                            if entry.is_dir():  # a link to a folder is not followed (as os.walk)
                                if not entry.is_symlink() and not (folder == top and entry.name in self.kept):
                                    folders.append(entry.path)
                                continue
                            if sources.kind_of(entry.name) is None:
                                continue
                            st = entry.stat()
                        except OSError:
                            continue
                        now = (st.st_size, st.st_mtime)
                        if self._done.get(entry.path) == now:
                            continue  # imported, unchanged (a pending file is never in _done as it is)
                        if self._look_again(Path(entry.path), now, vouch):
                            found += 1
            except OSError:
                continue  # gone, or unreadable: nothing to notice there
        return found

    def _look_again(self, path: Path, now: tuple[int, float], vouch: bool) -> bool:
        """Notice a file a rescan found new or changed; whether it is noticed now."""
        with self._lock:
            entry = self._pending.get(path)
            if entry is not None and (not vouch or (entry.size, entry.mtime) == now):
                # A pending file is looked at by every round anyway; a poll vouches again
                # only for one that changed since (the bytes a failed check saw grew).
                return False
        return self.notice(path, CLOSED if vouch else SEEN)

    def ready(self, now: float) -> list[Path]:
        """Files that are complete (`now` is a monotonic clock): vouched for by a close or
        a move that `whole` confirms, or whose size and mtime have held still for settle_s.

        A folder with a FIT file's name (`dir.fit`, or a file that became a folder)
        is never one: it is walked instead, and its files wait like any others (those
        of a folder moved in whole count as moved in).
        """
        ready, closed, folders = self._look(None, now)
        while folders:
            found = []
            for folder, moved_in in folders:
                for root, dirs, files in os.walk(folder):  # links to folders are not followed
                    for name in files:
                        path = Path(root) / name
                        if self.notice(path, CLOSED if moved_in else SEEN):
                            found.append(path)
            more_ready, more_closed, folders = self._look(found, now)
            ready += more_ready
            closed += more_closed
        stalled = [path for path in ready if self.check_writers and being_written(path)]  # not under the lock
        if stalled:
            with self._lock:
                for path in stalled:
                    ready.remove(path)
                    self._taken.pop(path, None)
                    if path in self._pending:
                        self._pending[path].since = now  # its window starts again
        for path, number in closed:
            if self._vouched(path, number):
                ready.append(path)
        return sorted(set(ready))

    def _look(self, paths: list[Path] | None, now: float):
        """One look at the pending paths (all, or those given): (ready by the stability
        window, [(path, close number)] to check with `whole`, [(folder, moved in)] to walk)."""
        ready, closed, folders = [], [], []
        with self._lock:
            for path in list(self._pending) if paths is None else paths:
                entry = self._pending.get(path)
                if entry is None:
                    continue
                try:
                    st = path.stat()
                except OSError:
                    del self._pending[path]  # gone again
                    continue
                if stat.S_ISDIR(st.st_mode) and not path.is_symlink():
                    del self._pending[path]  # a link to a folder goes on to be refused, or read
                    folders.append((path, bool(entry.closed)))
                    continue
                if (st.st_size, st.st_mtime) != (entry.size, entry.mtime):
                    first = entry.size < 0
                    entry.size, entry.mtime, entry.since = st.st_size, st.st_mtime, now
                    if first and time.time() - st.st_mtime >= self.settle_s:  # still for that long already
                        entry.since = now - self.settle_s
                if now - entry.since >= self.settle_s:
                    self._taken[path] = entry.last
                    ready.append(path)
                    continue
                if entry.closed:
                    closed.append((path, entry.closed))
        return ready, closed, folders

    def _vouched(self, path: Path, number: int) -> bool:
        """Whether the close (or move) numbered `number` shows `path` complete: `whole`
        agrees, and nothing happened to the path since (checked under the lock after)."""
        checked = whole(path)  # reads the file: not under the lock
        with self._lock:
            entry = self._pending.get(path)
            if entry is None or entry.closed != number:
                return False  # written or closed again meanwhile: the next round looks again
            if checked is None:
                entry.closed = 0  # not provably whole: it waits until it holds still, or the next close
                return False
            entry.size, entry.mtime = checked
            self._taken[path] = entry.last
            return True

    def done(self, path: Path) -> None:
        """A file ready() returned was imported. If anything happened to it since,
        it stays pending (its stability window starts again)."""
        with self._lock:
            taken = self._taken.pop(path, None)
            entry = self._pending.get(path)
            if entry is None:
                return
            if entry.size >= 0:
                self._done[str(path)] = (entry.size, entry.mtime)
            if taken is not None and entry.last != taken:
                entry.size, entry.mtime = -1, -1.0
            else:
                del self._pending[path]

    def forget(self, path: Path) -> None:
        """Stop watching a file without calling it done (a rescan will find it again)."""
        with self._lock:
            self._pending.pop(path, None)
            self._taken.pop(path, None)

    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._pending)


def _free_name(folder: Path, relative: Path) -> Path:
    target = folder / relative
    stem, n = target.name, 1
    while target.exists():
        target = target.with_name(f"{stem}.{n}")
        n += 1
    return target


def move_after_import(inbox: Path, path: Path, report: ImportReport) -> Path | None:
    """Move a handled file to inbox/imported/, or to inbox/failed/ with its reason beside it.

    A file goes to failed/ only when nothing in it could be used. Only regular
    files move: a link (refused when it leads out of the inbox, and never
    followed to be moved) or a pipe stays where it is, untouched, and a folder
    is never moved as a file. A subfolder of the inbox that the move empties
    goes too, so no empty folders pile up.
    """
    if report.stopped:
        return None
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
    except OSError:  # gone already
        return None
    usable = report.imported or report.duplicate or report.skipped
    folder = inbox / ("imported" if usable or not report.failed else "failed")
    target = _free_name(folder, path.relative_to(inbox))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target))
    if folder.name == "failed":
        reasons = "\n".join(f"{item['path']}: {item['reason']}" for item in report.failed)
        target.with_name(target.name + ".reason.txt").write_text(reasons + "\n")
    _remove_emptied(inbox, path.parent)
    return target


def _remove_emptied(inbox: Path, folder: Path) -> None:
    """Remove `folder` and the folders above it, up to the inbox (excluded), while empty."""
    while folder != inbox and inbox in folder.parents:
        try:
            folder.rmdir()  # fails, harmlessly, while anything is in it
        except OSError:
            return
        folder = folder.parent


def _report_for(report: ImportReport, path: Path) -> ImportReport:
    """The part of a report about one file on disk (itself, or its archive members)."""
    own = ImportReport(stopped=report.stopped)
    prefix = f"{path}!"
    for outcome in ("imported", "duplicate", "skipped", "failed"):
        for item in getattr(report, outcome):
            if item["path"] == str(path) or item["path"].startswith(prefix):
                getattr(own, outcome).append(item)
    return own


def import_inbox_files(store, config, inbox: Path, paths: list[Path],
                       should_stop: Callable[[], bool]) -> ImportReport:
    """Import files that landed in the inbox, the way `shoetrack import` does
    (many at once use every core), then tidy them away if asked to."""
    report = import_paths(store, paths, should_stop=should_stop, confine=inbox, config=config)
    if config.get("inbox.after_import") == "move":
        for path in paths:
            move_after_import(inbox, path, _report_for(report, path))
    return report


def import_place_files(store, config, place, paths: list[Path],
                       should_stop: Callable[[], bool]) -> ImportReport:
    """Import files from any place (service/places.py): the inbox's way for the inbox;
    elsewhere in place, read-only (nothing is moved, renamed or deleted)."""
    if place.kind == "inbox":
        return import_inbox_files(store, config, place.path, paths, should_stop)
    return import_paths(store, paths, should_stop=should_stop, confine=place.path, config=config)
