"""Watching the inbox: the only module that imports watchdog.

Events only name paths; the callback must be quick and thread-safe (it runs
in watchdog's thread). Nothing here reads files or touches the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer


class _Handler(FileSystemEventHandler):
    def __init__(self, on_path: Callable[[Path], None]):
        self.on_path = on_path

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("deleted", "opened", "closed_no_write"):
            return
        # A file moved in is known by where it landed.
        target = getattr(event, "dest_path", "") or event.src_path
        self.on_path(Path(target if isinstance(target, str) else target.decode()))


class Watcher:
    """Reports every file created, written, closed or moved into `folder` (recursively)."""

    def __init__(self, folder: Path, on_path: Callable[[Path], None]):
        self.observer = Observer()
        self.observer.daemon = True
        self.observer.schedule(_Handler(on_path), str(folder), recursive=True)

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)
