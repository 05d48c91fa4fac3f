"""The inbox folder: which files are complete, importing them, tidying up.

A file being copied in fires events before it is complete, so a file is
only imported once its size and modification time have held still for
SETTLE_S. The tracker is fed from any thread (the watcher's); everything
that reads files or the database runs in the caller's worker.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
from pathlib import Path
from typing import Callable

from ..adapters import sources
from .importing import ImportReport, import_paths

SETTLE_S = 1.5
KEPT_FOLDERS = ("imported", "failed")  # where after_import = "move" puts files


class Inbox:
    """Tracks the inbox's files from first sight until they are imported."""

    def __init__(self, folder: Path, settle_s: float = SETTLE_S):
        self.folder = folder
        self.settle_s = settle_s
        self._lock = threading.Lock()
        self._pending: dict[Path, tuple[int, float, float]] = {}  # path -> (size, mtime, steady since)
        self._done: dict[Path, tuple[int, float]] = {}  # path -> (size, mtime) when imported

    def _ours(self, path: Path) -> bool:
        try:
            relative = path.relative_to(self.folder)
        except ValueError:
            return False
        return bool(relative.parts) and relative.parts[0] not in KEPT_FOLDERS and sources.kind_of(path.name) is not None

    def notice(self, path: Path) -> bool:
        """A file may have changed (any thread). Returns whether it is now being watched."""
        if not self._ours(path):
            return False
        with self._lock:
            self._pending.setdefault(path, (-1, -1.0, 0.0))
        return True

    def rescan(self) -> int:
        """Notice every file that is new or changed since it was imported; returns how many."""
        found = 0
        for root, dirs, files in os.walk(self.folder):
            if Path(root) == self.folder:
                dirs[:] = [d for d in dirs if d not in KEPT_FOLDERS]
            for name in files:
                path = Path(root) / name
                if sources.kind_of(name) is None:
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue
                if self._done.get(path) != (st.st_size, st.st_mtime) and self.notice(path):
                    found += 1
        return found

    def ready(self, now: float) -> list[Path]:
        """Files whose size and mtime have held still for settle_s (`now` is a monotonic clock).

        A folder with a FIT file's name (`dir.fit`, or a file that became a folder)
        is never one: it is walked instead, and its files wait like any others.
        """
        ready, folders = [], []
        with self._lock:
            for path, (size, mtime, since) in list(self._pending.items()):
                try:
                    st = path.stat()
                except OSError:
                    del self._pending[path]  # gone again
                    continue
                if stat.S_ISDIR(st.st_mode) and not path.is_symlink():
                    del self._pending[path]  # a link to a folder goes on to be refused, or read
                    folders.append(path)
                    continue
                if (st.st_size, st.st_mtime) != (size, mtime):
                    self._pending[path] = (st.st_size, st.st_mtime, now)
                elif now - since >= self.settle_s:
                    ready.append(path)
        for folder in folders:
            for root, dirs, files in os.walk(folder):  # links to folders are not followed
                for name in files:
                    self.notice(Path(root) / name)
        return sorted(ready)

    def done(self, path: Path) -> None:
        with self._lock:
            size, mtime, _ = self._pending.pop(path, (-1, -1.0, 0.0))
        if size >= 0:
            self._done[path] = (size, mtime)

    def forget(self, path: Path) -> None:
        """Stop watching a file without calling it done (a rescan will find it again)."""
        with self._lock:
            self._pending.pop(path, None)

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
