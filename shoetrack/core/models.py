"""Plain records passed between the adapters, the service and the core."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SessionSummary:
    """One sport segment of an activity file, as the device summarised it."""

    start_time: datetime  # aware, UTC
    sport: str
    sub_sport: str | None
    distance_m: float | None
    timer_s: float | None
    elapsed_s: float | None
    avg_hr: int | None
    ascent_m: float | None
    # True when the file held no summary of its own and this one was worked out
    # from its records (a FIT file without a session message)
    derived: bool = False


@dataclass(frozen=True)
class DecodedFile:
    """What shoetrack keeps of one activity file (FIT, GPX or TCX)."""

    file_type: str  # FIT file_id.type name: "activity", "settings", "workout", ...
    sessions: tuple[SessionSummary, ...] = ()
    manufacturer: str | None = None
    product: str | None = None
    serial: int | None = None
    foot_pod_serial: int | None = None
    utc_offset_s: int | None = None  # from the activity's local_timestamp, when present
    format: str = "fit"  # "fit", "gpx" or "tcx"
    # What the import report should tell the runner about this file, one short
    # sentence each ("no sport in the file: stored as generic", ...)
    notes: tuple[str, ...] = ()
