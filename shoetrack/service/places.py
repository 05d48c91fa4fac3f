"""The places runs are read from: the inbox, the folders the config names ([[watch]]),
and watches plugged in (USB drives and MTP mounts with a GARMIN/Activity folder).

The inbox is the runner's own drop folder (`inbox.after_import = "move"` may tidy it).
Every other place is read in place: read-only, its files never moved, renamed or
deleted. A place that is not there is no error: a sync folder may be made later, a
card or a watch mounted later; it is read when it appears.

What `shoetrack sources` and `status` show is worked out here, from the config, the
file system as it is now, and the store (when each place was last looked through, and
how many files and runs came from it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..adapters import devices as mounted
from ..config import Config, overlaps

DEFAULT_POLL_S = 30.0  # where inotify sees no change (FUSE, MTP, network), unless the config says
# A watch plugged in is read when it appears; its files change only if it records a run while
# mounted, so it is looked through again rarely (every look stats each file: slow over MTP).
DEVICE_POLL_S = 300.0


@dataclass(frozen=True)
class Place:
    path: Path  # the folder read: the inbox, a watched folder, a device's GARMIN/Activity
    kind: str  # "inbox", "folder" or "device"
    label: str  # what the runner reads: "inbox", the path as configured, "Forerunner 245"
    poll_seconds: float | None = None  # from the config; None: poll only where events miss changes

    @property
    def read_only(self) -> bool:
        return self.kind != "inbox"

    @property
    def mode(self) -> str:
        return "inbox" if self.kind == "inbox" else "read-only"

    def present(self) -> bool:
        return self.path.is_dir()

    def polling_every(self) -> float | None:
        """Seconds between looks when this place is polled, None when its events are
        watched. A device is always polled: its files change only between mounts, and an
        unmount must not be met by a watch on a folder that went away."""
        if self.poll_seconds is not None:
            return self.poll_seconds
        if self.kind == "device":
            return DEVICE_POLL_S
        return DEFAULT_POLL_S if mounted.needs_polling(self.path) else None


def configured_places(config: Config) -> list[Place]:
    """The inbox, then every [[watch]] folder, in the config's order."""
    places = [Place(config.inbox, "inbox", "inbox", config.get("inbox.poll_seconds"))]
    places += [Place(p.path, "folder", p.raw, p.poll_seconds) for p in config.places]
    return places


def devices_now(config: Config, configured: list[Place] | None = None) -> list[Place]:
    """The watches mounted now (none when watch.devices is off). A device's folder that a
    configured place already covers is that place's."""
    if not config.devices:
        return []
    configured = configured_places(config) if configured is None else configured
    return [Place(d.folder, "device", d.label) for d in mounted.find_devices(config.device_roots)
            if not any(overlaps(d.folder, p.path) for p in configured)]


def source_view(place: Place, present: bool, scanned: dict | None, counts: dict, config: Config) -> dict:
    every = place.polling_every() if present else place.poll_seconds
    view = {
        "name": place.label,
        "path": str(place.path),
        "kind": place.kind,
        "present": present,
        "mode": place.mode,
        "watch": "poll" if every else ("events" if present else "unknown"),
        "poll_seconds": every,
        "last_scanned": scanned["last_scanned"] if scanned else None,
        "files": counts["files"],
        "runs": counts["runs"],
    }
    if place.kind == "inbox":
        view["after_import"] = config.get("inbox.after_import")
    return view


def sources(store, config: Config) -> list[dict]:
    """Every place: the inbox, the watched folders, the watches plugged in now, and
    watches read before that are not plugged in now."""
    scans = {row["path"]: row for row in store.places()}
    configured = configured_places(config)
    present_devices = devices_now(config, configured)
    listed = [(p, p.present()) for p in configured] + [(d, True) for d in present_devices]
    known = {str(p.path) for p, _ in listed}
    listed += [(Place(Path(row["path"]), "device", row["label"] or row["path"]), False)
               for row in scans.values() if row["kind"] == "device" and row["path"] not in known]
    return [source_view(place, present, scans.get(str(place.path)), store.files_under(str(place.path)), config)
            for place, present in listed]


def arrival(store, config: Config, labels: list[str], today: date) -> dict:
    """What a device's import brought: how many runs (on foot, not deleted) and other
    activities came from the files imported (`labels`), and the wear now of each pair
    they were done in."""
    from .shoes import list_shoes

    from ..core.sports import ON_FOOT

    sessions = store.runs_from(labels)
    runs = [row for row in sessions if row["sport"] in ON_FOOT]
    names = sorted({row["shoe"] for row in sessions if row["shoe"] is not None})
    shoes = {s["name"]: s for s in list_shoes(store, today, include_retired=True)} if names else {}
    return {"runs": len(runs), "other": len(sessions) - len(runs),
            "unattributed": sum(1 for row in runs if row["shoe"] is None),
            "pairs": [{"name": n, "wear_pct": shoes[n]["wear_pct"]} for n in names if n in shoes]}
