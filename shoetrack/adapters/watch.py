"""Watching folders for changes: the only module that imports watchdog.

Events only name paths, with what happened to each; the callback must be quick
and thread-safe (it runs in watchdog's thread). Nothing here reads files or
touches the database.

On Linux, inotify tells when a writer closed a file (watchdog's FileClosedEvent,
"closed"; a close of a file opened only for reading is FileClosedNoWriteEvent,
"closed_no_write", and says nothing). The observer is made with
`generate_full_events`, so a file renamed into the inbox from outside it is a
FileMovedEvent with an empty source, not a FileCreatedEvent: a move is told
apart from a creation. Folders where inotify sees nothing (FUSE and network
mounts) are not watched here: the daemon looks through them on a timer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

# What happened to a path, named as the inbox tracker names it (shoetrack.service.inbox.KINDS:
# the service may not be imported from here; a test checks they agree).
SEEN, WRITTEN, CLOSED, FOLDER, GONE = "seen", "written", "closed", "folder", "gone"
KINDS = (SEEN, WRITTEN, CLOSED, FOLDER, GONE)
_FILE_EVENTS = {
    "created": SEEN,  # opened to be written, or linked in: the close tells when it is done
    "attrib": SEEN,
    "modified": WRITTEN,
    "closed": CLOSED,  # closed after writing
    "deleted": GONE,
}


def _path(raw) -> Path:
    return Path(raw if isinstance(raw, str) else raw.decode())


class _Handler(FileSystemEventHandler):
    def __init__(self, on_path: Callable[[Path, str], None]):
        self.on_path = on_path

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type == "moved":
            # A rename is complete at once: it lands whole. An empty side lies outside the watched folder.
            if event.src_path:
                self.on_path(_path(event.src_path), GONE)
            if event.dest_path:
                self.on_path(_path(event.dest_path), FOLDER if event.is_directory else CLOSED)
            return
        kind = _FILE_EVENTS.get(event.event_type)  # "opened" and "closed_no_write" say nothing
        if kind is not None and not event.is_directory:
            self.on_path(_path(event.src_path), kind)


def _observer():
    try:
        return Observer(generate_full_events=True)  # inotify (Linux)
    except TypeError:  # another system's observer: moves in may come as creations
        return Observer()


class Watcher:
    """One observer for every watched folder. `add(folder, on_path)` reports every file
    created, written, closed, moved or deleted in `folder` (recursively) as
    `on_path(path, kind)`, kind one of SEEN, WRITTEN, CLOSED, FOLDER (a folder moved in)
    and GONE; `recursive=False` watches the folder's own entries, folders included
    (the removable-media roots, where a device's folder appears)."""

    def __init__(self):
        self.observer = _observer()
        self.observer.daemon = True
        self._watches: dict[Path, object] = {}

    def add(self, folder: Path, on_path: Callable[[Path, str], None], *, recursive: bool = True) -> bool:
        """Watch `folder`; False when it cannot be watched (gone, or out of inotify watches)."""
        handler = _Handler(on_path) if recursive else _Entries(on_path)
        try:
            self._watches[folder] = self.observer.schedule(handler, str(folder), recursive=recursive)
        except OSError:
            return False
        return True

    def remove(self, folder: Path) -> None:
        watch = self._watches.pop(folder, None)
        if watch is not None:
            try:
                self.observer.unschedule(watch)
            except (KeyError, OSError):  # its folder went away, and the watch with it
                pass

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)


class _Entries(FileSystemEventHandler):
    """A folder's own entries appearing or going (a device's mount point): SEEN or GONE."""

    def __init__(self, on_path: Callable[[Path, str], None]):
        self.on_path = on_path

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("created", "moved"):
            self.on_path(_path(event.dest_path or event.src_path), SEEN)
        elif event.event_type == "deleted":
            self.on_path(_path(event.src_path), GONE)
