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


@dataclass(frozen=True)
class DecodedFile:
    """What shoetrack keeps of one FIT file."""

    file_type: str  # FIT file_id.type name: "activity", "settings", "workout", ...
    sessions: tuple[SessionSummary, ...] = ()
    manufacturer: str | None = None
    product: str | None = None
    serial: int | None = None
    foot_pod_serial: int | None = None
    utc_offset_s: int | None = None  # from the activity's local_timestamp, when present
