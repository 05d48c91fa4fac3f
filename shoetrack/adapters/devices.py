"""Mounted file systems and the watches on them: the only module that reads the mount table.

- `filesystem_type(path)` and `needs_polling(path)`: inotify reports only changes made
  through this machine's kernel. On FUSE (gvfs's MTP mounts, sshfs, bindfs) and network
  file systems, files change without an event, so such folders are looked at on a timer.
- `find_devices(roots)`: watches mounted under the removable-media folders: a folder
  under a root (a mount point: /media/$USER/GARMIN, or gvfs's mtp:host=...) that holds a
  `GARMIN/Activity` folder, in any case, directly or one storage level down (MTP shows
  "Primary" or "Internal Storage" first). A device's name comes from its own
  GARMIN/GarminDevice.xml when it has one, else from the mount's name.
- `MountWatcher`: calls back when anything is mounted or unmounted (the kernel marks
  /proc/self/mountinfo for poll()), so a watch plugged in is seen at once, at no cost
  while nothing happens.

Nothing here touches the database; every read is of folder listings and one small XML file.
"""

from __future__ import annotations

import os
import re
import select
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

MOUNTINFO = "/proc/self/mountinfo"
# File systems where a change may come from elsewhere, unseen by inotify.
_POLLED = {"fuse", "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre",
           "davfs", "virtiofs", "sshfs"}
DEVICE_XML_MAX = 1 << 20  # GarminDevice.xml is a few KB: anything bigger is not one


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_table(text: str | None = None) -> list[tuple[str, str]]:
    """(mount point, file system type) of every mount, from /proc/self/mountinfo."""
    if text is None:
        try:
            with open(MOUNTINFO, encoding="utf-8", errors="surrogateescape") as stream:
                text = stream.read()
        except OSError:
            return []
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            dash = fields.index("-")
            mounts.append((_unescape(fields[4]), fields[dash + 1]))
        except (ValueError, IndexError):
            continue
    return mounts


def filesystem_type(path: Path, mounts: list[tuple[str, str]] | None = None) -> str | None:
    """The type of the file system that holds `path` (the deepest mount above it)."""
    real = os.path.realpath(path)
    best, kind = "", None
    for point, fstype in mount_table() if mounts is None else mounts:
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind


def polled_type(fstype: str | None) -> bool:
    """Whether changes on a file system of this type may go unseen by inotify."""
    if not fstype or fstype == "fuseblk":  # fuseblk: a local disk (NTFS, exFAT) that only this machine writes
        return False
    return fstype.split(".")[0] in _POLLED or fstype.split(".")[-1] in _POLLED


def needs_polling(path: Path) -> bool:
    return polled_type(filesystem_type(path))


@dataclass(frozen=True)
class Device:
    """A watch's activity folder, found mounted."""

    folder: Path  # .../GARMIN/Activity
    mount: Path  # the folder under a root it was found in
    label: str  # "Forerunner 245"


def _child(folder: Path, name: str) -> Path | None:
    """The entry of `folder` named `name` in any case, when it is a folder."""
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.lower() == name and entry.is_dir():
                    return Path(entry.path)
    except OSError:
        pass
    return None


def _subfolders(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []


def activity_folder(mount: Path) -> Path | None:
    """The GARMIN/Activity folder of a mounted device, directly under it or one storage down."""
    for top in [mount, *_subfolders(mount)]:
        garmin = _child(top, "garmin")
        if garmin is not None:
            activity = _child(garmin, "activity")
            if activity is not None:
                return activity
    return None


def device_label(mount: Path, activity: Path) -> str:
    """The model the device names itself (GarminDevice.xml), else a name from its mount."""
    described = _described_model(activity.parent)
    if described:
        return described
    name = mount.name
    if name.startswith("mtp:host="):  # gvfs: mtp:host=Garmin_Forerunner_245_0000c0ffee
        name = re.sub(r"_[0-9A-Fa-f]{8,}$", "", name[len("mtp:host="):]).replace("_", " ").strip()
    return name or str(mount)


def _described_model(garmin: Path) -> str | None:
    xml = next((p for p in _files(garmin) if p.name.lower() == "garmindevice.xml"), None)
    if xml is None:
        return None
    try:
        with open(xml, "rb") as stream:
            data = stream.read(DEVICE_XML_MAX + 1)
    except OSError:
        return None
    if len(data) > DEVICE_XML_MAX:
        return None
    # The first <Description> inside <Model>. Read by a pattern, not an XML parser: one
    # text field of a small file, and no entity or DTD is ever expanded.
    text = data.decode("utf-8", errors="replace")
    found = _MODEL.search(text)
    if found is None:
        return None
    import html

    name = " ".join(html.unescape(found.group(1)).split())[:60]
    return name or None


_MODEL = re.compile(r"<(?:[\w.-]+:)?Model\b[^>]*>(?:(?!</(?:[\w.-]+:)?Model>).){0,4000}?"
                    r"<(?:[\w.-]+:)?Description>([^<]{1,200})</", re.S)


def _files(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return [Path(e.path) for e in entries if e.is_file()]
    except OSError:
        return []


def find_devices(roots: Iterable[Path]) -> list[Device]:
    """Every watch mounted under the roots now (a root that does not exist has none)."""
    found = []
    for root in roots:
        for mount in _subfolders(root):
            activity = activity_folder(mount)
            if activity is not None:
                found.append(Device(activity, mount, device_label(mount, activity)))
    return found


class MountWatcher:
    """Calls `on_change()` (from its own thread) whenever the mount table changes."""

    def __init__(self, on_change: Callable[[], None]):
        self.on_change = on_change
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start watching; returns False where the mount table cannot be watched."""
        try:
            self._table = open(MOUNTINFO, "rb")
        except OSError:
            return False
        self._thread = threading.Thread(target=self._run, name="shoetrack-mounts", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._table.fileno(), select.POLLPRI | select.POLLERR)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            events = poller.poll()
            if any(fd == self._wake_r for fd, _ in events):
                return
            self.on_change()

    def stop(self) -> None:
        if self._thread is None:
            return
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        self._table.close()
        self._thread = None
