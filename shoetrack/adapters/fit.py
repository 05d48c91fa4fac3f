"""FIT decoding: the only module that imports fitparse.

`decode(data)` turns the bytes of one FIT file into a DecodedFile holding only
what a mileage tracker needs (file_id, device_info, session, activity), or
raises FitDecodeError with a one-line reason.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import fitparse
from fitparse.utils import FitCRCError, FitEOFError, FitHeaderError, FitParseError

from ..core.models import DecodedFile, SessionSummary

WANTED = ("file_id", "device_info", "session", "activity")
FOOT_POD_TYPES = frozenset({"stride_speed_distance", 124})


class FitDecodeError(Exception):
    """The bytes are not a readable FIT file; the message says why, in one line."""


class _Discard(list):
    """fitparse 1.2 keeps every decoded message in FitFile._messages; a file of
    per-second records then costs hundreds of MB. We stream instead."""

    def append(self, _message) -> None:
        pass


def _utc(value) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _name(value) -> str | None:
    return None if value is None else str(value)


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class _Clock:
    """Turns FIT times into aware UTC datetimes.

    Devices without a clock fix write times relative to power-on (small
    integers, which fitparse leaves as int). The activity message's
    local_timestamp, a wall-clock reading taken at its relative timestamp,
    anchors them, in this machine's time zone.
    """

    def __init__(self, activity: dict | None):
        self.anchor = None
        if activity:
            local, relative = activity.get("local_timestamp"), activity.get("timestamp")
            if isinstance(local, datetime) and isinstance(relative, int):
                self.anchor = (local, relative)

    def __call__(self, value) -> datetime | None:
        if isinstance(value, datetime):
            return _utc(value)
        if isinstance(value, int) and self.anchor:
            local, relative = self.anchor
            return (local - timedelta(seconds=relative - value)).astimezone(timezone.utc)
        return None


def _session(values: dict, clock: _Clock, fallback_start: datetime | None) -> SessionSummary:
    start = clock(values.get("start_time"))
    elapsed = _number(values.get("total_elapsed_time"))
    if start is None:
        end = clock(values.get("timestamp"))
        if end is not None and elapsed is not None:
            start = end - timedelta(seconds=elapsed)
        else:
            start = fallback_start
    if start is None:
        raise FitDecodeError(
            "a session has no usable start time (device clock not set); the run cannot be dated"
        )
    hr = values.get("avg_heart_rate")
    return SessionSummary(
        start_time=start,
        sport=_name(values.get("sport")) or "generic",
        sub_sport=_name(values.get("sub_sport")),
        distance_m=_number(values.get("total_distance")),
        timer_s=_number(values.get("total_timer_time")),
        elapsed_s=elapsed,
        avg_hr=hr if isinstance(hr, int) else None,
        ascent_m=_number(values.get("total_ascent")),
    )


def _utc_offset(activity: dict | None) -> int | None:
    """The runner's UTC offset, from the activity's local and UTC end times."""
    if not activity:
        return None
    local, utc = activity.get("local_timestamp"), activity.get("timestamp")
    if not (isinstance(local, datetime) and isinstance(utc, datetime)):
        return None
    # Offsets come in quarter hours; rounding removes clock jitter.
    offset = round((local - utc).total_seconds() / 900) * 900
    return offset if abs(offset) <= 14 * 3600 else None


def _read(data: bytes) -> DecodedFile:
    file_id: dict | None = None
    sessions: list[dict] = []
    foot_pod = None
    activity: dict | None = None
    with fitparse.FitFile(io.BytesIO(data), check_crc=True) as fit:
        fit._messages = _Discard()
        for message in fit.get_messages(WANTED):
            values = message.get_values()
            if message.name == "file_id":
                file_id = file_id or values
            elif message.name == "session":
                sessions.append(values)
            elif message.name == "device_info":
                kind = values.get("antplus_device_type", values.get("device_type"))
                if kind in FOOT_POD_TYPES and values.get("serial_number"):
                    foot_pod = foot_pod or values["serial_number"]
            elif message.name == "activity":
                activity = activity or values
    if file_id is None:
        raise FitDecodeError("no file_id message: not a complete FIT file")
    file_type = file_id.get("type")
    if file_type is None:
        raise FitDecodeError("file_id has no file type")
    clock = _Clock(activity)
    fallback = clock(file_id.get("time_created"))
    return DecodedFile(
        file_type=str(file_type) if isinstance(file_type, str) else f"type {file_type}",
        sessions=tuple(_session(s, clock, fallback) for s in sessions),
        manufacturer=_name(file_id.get("manufacturer")),
        product=_name(file_id.get("garmin_product", file_id.get("product"))),
        serial=file_id.get("serial_number") if isinstance(file_id.get("serial_number"), int) else None,
        foot_pod_serial=foot_pod if isinstance(foot_pod, int) else None,
        utc_offset_s=_utc_offset(activity),
    )


def decode(data: bytes) -> DecodedFile:
    """Decode one FIT file's bytes. Raises FitDecodeError with a one-line reason."""
    if not data:
        raise FitDecodeError("empty file (0 bytes)")
    if len(data) < 12 or data[8:12] != b".FIT":
        raise FitDecodeError("not a FIT file (no FIT header)")
    try:
        return _read(data)
    except FitDecodeError:
        raise
    except FitCRCError:
        raise FitDecodeError("corrupt: checksum mismatch (damaged or altered file)") from None
    except FitEOFError:
        raise FitDecodeError("truncated: the file ends before its data does") from None
    except FitHeaderError as exc:
        raise FitDecodeError(f"corrupt header: {exc}") from None
    except FitParseError as exc:
        raise FitDecodeError(f"corrupt: {exc}") from None
    except RecursionError:
        raise FitDecodeError("corrupt: nesting too deep to decode") from None
    except Exception as exc:  # fitparse has no complete error vocabulary
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise FitDecodeError(f"corrupt: could not decode ({type(exc).__name__}{': ' if detail else ''}{detail})") from None
