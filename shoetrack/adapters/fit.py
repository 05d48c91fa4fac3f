"""FIT decoding: the only module that imports fitparse.

`decode(data)` turns the bytes of one FIT file into a DecodedFile holding only
what a mileage tracker needs (file_id, device_info, session, activity, and
timestamp_correlation to date a device's power-on times), or raises
FitDecodeError with a one-line reason. An activity file without a session
message is read a second time for its records and sport, and summarised from
them (SessionSummary.derived).

Most files take the fast walk (fitwalk.py), whose raw values are named and
scaled here with fitparse's own profile; any file the walk cannot vouch for
is decoded by fitparse itself, which stays the reference, with three
corrections that both paths share: a message's own fields win over developer
fields of the same name; a field whose size is no whole number of its type is
read as bytes and ignored, as in the FIT SDK; a field declared wider than its
type counts as its first element.
"""

from __future__ import annotations

import io
import os
from datetime import datetime, timedelta, timezone
from typing import Callable

import fitparse
from fitparse.profile import MESSAGE_TYPES
from fitparse.records import BASE_TYPE_BYTE, BASE_TYPES, DevFieldDefinition, FieldDefinition
from fitparse.utils import FitCRCError, FitEOFError, FitHeaderError, FitParseError

from ..core.models import DecodedFile, SessionSummary
from .fitwalk import RECORDS, Broken, Uncertain, walk

BYTE_TYPE_NUMBER = 0x0D  # FIT's base type "byte"

# The messages every file is read for, then those read only to summarise an
# activity that has no session message; WANTED is every message shoetrack reads.
SUMMARY = ("file_id", "device_info", "session", "activity", "timestamp_correlation")
SUMMARISE = ("record", "sport")
WANTED = SUMMARY + SUMMARISE
DERIVED = "no session summary in the file: summarised from its records"
UNDATED = "no session summary in the file, and no timed records to summarise it from: nothing to count"
APPROXIMATE = ("the device recorded times relative to power-on with no time zone: "
               "the start time is approximate")
FIT_EPOCH = datetime(1989, 12, 31)  # naive UTC, as fitparse gives times
# fitparse decodes about 0.13-0.25 MB/s: small odd files are decoded here, big
# ones in a child process with these bounds.
REFERENCE_INLINE_BYTES = 1 << 20
REFERENCE_SECONDS, REFERENCE_SECONDS_PER_MB = 30, 20
REFERENCE_MEMORY = 2 << 30
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
    """A profile name, or a number the profile has no name for; nothing else."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _fit_seconds(value) -> float | None:
    """A FIT time as seconds since the FIT epoch: a date, or a relative time (int)."""
    if isinstance(value, datetime):
        return (value.replace(tzinfo=None) - FIT_EPOCH).total_seconds()
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _correlation(values: dict) -> int | None:
    """The seconds a timestamp_correlation says to add to the device's system time
    (a time relative to power-on) to get UTC, or None when it says nothing usable.
    Its fractional parts count; the offset is rounded to a whole second."""
    utc, system = values.get("timestamp"), values.get("system_timestamp")
    if not isinstance(utc, datetime) or not isinstance(system, int) or isinstance(system, bool):
        return None  # the UTC side must be a date, the system side a relative time

    def fraction(key: str) -> float:
        part = _number(values.get(key))
        return part if part is not None and 0 <= part < 2 else 0.0

    offset = _fit_seconds(utc) + fraction("fractional_timestamp") - system - fraction("fractional_system_timestamp")
    return round(offset)


class _Clock:
    """Turns FIT times into aware UTC datetimes.

    Devices without a clock fix write times relative to power-on (small
    integers, which fitparse leaves as int). A timestamp_correlation message
    maps them to UTC exactly. Without one, the activity message's
    local_timestamp, a wall-clock reading taken at its relative timestamp,
    anchors them in this machine's time zone: a guess (`guessed` says one was
    made), since the file does not say its zone.

    device_settings is not used: its time_offset disagrees with the activity's own
    local and UTC times in real files (an Edge 820 writes 0 for a -7 h zone), and
    its sign contradicts the SDK's description; its time_zone_offset reads 0 in all.
    """

    def __init__(self, activity: dict | None, correlations=()):
        self.offset = next((o for o in map(_correlation, correlations) if o is not None), None)
        self.anchor = None
        self.guessed = False
        if activity:
            local, relative = activity.get("local_timestamp"), activity.get("timestamp")
            if isinstance(local, datetime) and isinstance(relative, int):
                self.anchor = (local, relative)

    def exact(self, value) -> datetime | None:
        """The UTC time the file itself vouches for, or None."""
        if isinstance(value, datetime):
            return _utc(value)
        if isinstance(value, int) and self.offset is not None:
            return (FIT_EPOCH + timedelta(seconds=value + self.offset)).replace(tzinfo=timezone.utc)
        return None

    def __call__(self, value) -> datetime | None:
        moment = self.exact(value)
        if moment is None and isinstance(value, int) and self.anchor:
            local, relative = self.anchor
            self.guessed = True
            return (local - timedelta(seconds=relative - value)).astimezone(timezone.utc)
        return moment


def _session(values: dict, clock: _Clock, fallback_start) -> SessionSummary:
    """`fallback_start` gives the start to use when the session has none of its own."""
    start = clock(values.get("start_time"))
    elapsed = _number(values.get("total_elapsed_time"))
    if start is None:
        end = clock(values.get("timestamp"))
        if end is not None and elapsed is not None:
            start = end - timedelta(seconds=elapsed)
        else:
            start = fallback_start()
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


def _derived(part: "_Part", clock: _Clock) -> SessionSummary | None:
    """One session summarised from the records of an activity without a session
    message: from the earliest to the latest record time, the greatest record
    distance, the sport of its sport message (else generic: never a guess)."""
    times = [t for t in (clock(stamp) for stamp, _ in part.records) if t is not None]
    if not times:
        return None
    start = min(times)
    distances = [d for d in (_number(distance) for _, distance in part.records) if d is not None]
    sport = part.sport or {}
    return SessionSummary(
        start_time=start,
        sport=_name(sport.get("sport")) or "generic",
        sub_sport=_name(sport.get("sub_sport")),
        distance_m=max(distances) if distances else None,
        timer_s=None,  # pauses are not known from records alone
        elapsed_s=(max(times) - start).total_seconds(),
        avg_hr=None,
        ascent_m=None,
        derived=True,
    )


def _utc_offset(part: "_Part", clock: _Clock) -> int | None:
    """The runner's UTC offset, from the activity's local and UTC end times, or
    else from a timestamp_correlation's local and UTC times."""
    pairs = [(values.get("local_timestamp"), clock.exact(values.get("timestamp")))
             for values in ([part.activity] if part.activity else []) + part.correlations]
    for local, utc in pairs:
        if isinstance(local, datetime) and utc is not None:
            # Offsets come in quarter hours; rounding removes clock jitter.
            offset = round((local.replace(tzinfo=timezone.utc) - utc).total_seconds() / 900) * 900
            return offset if abs(offset) <= 14 * 3600 else None
    return None


class _Misfit(FieldDefinition):
    """A field whose declared size is no whole number of its base type (a uint32
    of 1 byte, as a Coros watch writes one), or 0: its bytes are read and
    ignored, as the FIT SDK and fitdecode do, where fitparse refuses the file."""

    __slots__ = ()


class _OneField:
    """What fitparse's value reader needs of a definition, for one field."""

    __slots__ = ("field_defs", "dev_field_defs", "endian")

    def __init__(self, field_def, endian: str):
        self.field_defs, self.dev_field_defs, self.endian = [field_def], [], endian


class _FitFile(fitparse.FitFile):
    """fitparse, except that

    - in the messages shoetrack reads, a field declared wider than its type (an
      array where one value is expected, like a `sport` of 8 bytes) stands for
      its first element, as in the FIT SDK and fitdecode. fitparse would keep
      the whole tuple, unnamed and unscaled (and fail on a widened time); here
      the element is named, scaled and checked for validity like any single
      value, and picks subfields as one (but bytes the profile defines as
      such, with components, stay whole);
    - a field whose size does not fit its type is unknown bytes (_Misfit), and
      absent if shoetrack reads it, where fitparse refuses the whole file.
    """

    def _parse_definition_message(self, header):
        # fitparse refuses a field whose size is no whole number of its type. While a
        # definition is read, _read_struct shows it such a field as bytes (so it reads
        # on), and the field is then marked unknown (_Misfit).
        self._misfits, self._fields_left, self._field_index = [], 0, 0
        self._in_definition = True
        try:
            def_mesg = super()._parse_definition_message(header)
        finally:
            self._in_definition = False
        for i in self._misfits:
            found = def_mesg.field_defs[i]
            def_mesg.field_defs[i] = _Misfit(field=None, def_num=found.def_num, base_type=BASE_TYPE_BYTE,
                                             size=found.size)
        return def_mesg

    def _read_struct(self, fmt, endian="<", data=None, always_tuple=False):
        values = super()._read_struct(fmt, endian=endian, data=data, always_tuple=always_tuple)
        if not getattr(self, "_in_definition", False):
            return values
        if fmt == "HB":  # the global message number and how many fields follow
            self._fields_left = values[1]
        elif fmt == "3B" and self._fields_left:  # one field: number, size, base type
            self._fields_left -= 1
            number, size, base_number = values
            base_type = BASE_TYPES.get(base_number, BASE_TYPE_BYTE)
            if not size or size % base_type.size:
                self._misfits.append(self._field_index)
                values = (number, size, BYTE_TYPE_NUMBER)
            self._field_index += 1
        return values

    def _parse_raw_values_from_data_message(self, def_mesg):
        if any(type(field_def) is _Misfit for field_def in def_mesg.field_defs):
            raw_values = []
            for field_def in def_mesg.field_defs + def_mesg.dev_field_defs:
                if type(field_def) is _Misfit:
                    self._read(field_def.size)  # read (for the CRC), never used
                    raw_values.append(None)
                else:
                    raw_values += super()._parse_raw_values_from_data_message(_OneField(field_def, def_mesg.endian))
        else:
            raw_values = super()._parse_raw_values_from_data_message(def_mesg)
        if def_mesg.mesg_num not in _NAMES:
            return raw_values
        fields = def_mesg.field_defs + def_mesg.dev_field_defs
        for i, (field_def, raw) in enumerate(zip(fields, raw_values)):
            if isinstance(raw, tuple) and not _bytes_by_design(field_def):
                first = raw[0] if raw else None
                if field_def.base_type.name == "byte" and first == 0xFF:
                    first = None  # fitparse checks a byte array as a whole, not element by element
                raw_values[i] = first
        return raw_values


def _bytes_by_design(field_def) -> bool:
    """A field the profile defines as bytes holding components (a record's
    compressed_speed_distance: 3 bytes, speed and distance read from all of them),
    whatever type a file declares it with."""
    field = field_def.field if isinstance(field_def, FieldDefinition) else None
    return bool(field is not None and field.components and field.type.name == "byte")


def _native_values(message) -> dict:
    """A message's values as fitparse's get_values() gives them, but for its own
    fields only: a developer field named like one of them (a Connect IQ
    `total_distance`) never takes its place."""
    return {f.name: f.value for f in message.fields if not isinstance(f.field_def, DevFieldDefinition)}


def _messages_by_fitparse(data: bytes, records: bool = False) -> list[tuple[int, str, dict]]:
    """The wanted messages as (segment, name, values), decoded by fitparse, the
    reference; the segment counts the FIT files of a chain from 0. With
    `records`, the record and sport messages too (their timestamp and distance,
    sport and sub_sport), to summarise an activity without a session."""
    # fitparse keeps developer-field types in a module-wide table; clearing it
    # makes every file decode as it would in a fresh process.
    fitparse.records.DEV_TYPES.clear()
    with _FitFile(io.BytesIO(data), check_crc=True) as fit:
        fit._messages = _Discard()
        # fitparse reads the header of each further file of a chain just before that
        # file's first message: counting those reads tells which file a message is from.
        segment, read_header = [0], fit._parse_file_header

        def next_segment() -> None:
            segment[0] += 1
            read_header()

        fit._parse_file_header = next_segment
        messages = []
        for m in fit.get_messages(WANTED if records else SUMMARY):
            values = _native_values(m)
            if m.name == "record":
                values = {key: values[key] for key in ("timestamp", "distance") if key in values}
            messages.append((segment[0], m.name, values))
        return messages


_NAMES = {0: "file_id", 18: "session", 23: "device_info", 34: "activity", 162: "timestamp_correlation",
          20: "record", 12: "sport"}


def _subfield(field, raw: dict):
    """The subfield fitparse would pick from the raw values of its reference fields."""
    for sub in field.subfields or ():
        if any(raw.get(ref.def_num, _MISSING) == ref.raw_value for ref in sub.ref_fields):
            return sub
    return field


_MISSING = object()


def _render(mesg: int, raw: dict) -> dict:
    """Raw field values -> values named and scaled exactly as fitparse presents them."""
    fields = MESSAGE_TYPES[mesg].fields
    values = {}
    for number, value in raw.items():
        field = fields.get(number)
        if field is None:
            continue
        field = _subfield(field, raw)
        if field.components:
            raise Uncertain("a wanted field with components")
        value = field.render(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if field.scale:
                value = float(value) / field.scale
            if field.offset:
                value = value - field.offset
        kind = field.type.name
        if kind == "date_time" and value is not None and value >= 0x10000000:
            value = FIT_EPOCH + timedelta(seconds=value)
        elif kind == "local_date_time" and value is not None:
            value = FIT_EPOCH + timedelta(seconds=value)
        values[field.name] = value
    return values


def _messages_by_walk(data: bytes, records: bool = False) -> list[tuple[int, str, dict]]:
    """The wanted messages as _messages_by_fitparse gives them, by the fast walk
    (which raises Uncertain when fitparse must decide)."""
    found = walk(data, RECORDS if records else None)
    return [(segment, _NAMES[mesg], _render(mesg, raw)) for segment, mesg, raw in found]


def _single(value):
    """One value, never a container: the first element of an array (both decoders
    already give it; this guards whatever else could slip through), no raw bytes."""
    while isinstance(value, (tuple, list)):
        value = value[0] if value else None
    return None if isinstance(value, (bytes, bytearray, memoryview, dict, set)) else value


class _Part:
    """What shoetrack reads of one FIT file of a chain (`cat a.fit b.fit`)."""

    def __init__(self):
        self.file_id: dict | None = None
        self.sessions: list[dict] = []
        self.foot_pod = None
        self.activity: dict | None = None
        self.correlations: list[dict] = []
        self.sport: dict | None = None  # the first sport message
        self.records: list[tuple] = []  # (timestamp, distance) of each record, in order

    @property
    def bare(self) -> bool:
        """An activity file without a session message: summarised from its records."""
        return self.file_id is not None and self.file_id.get("type") == "activity" and not self.sessions


def _parts(messages: list[tuple[int, str, dict]]) -> list[_Part]:
    """The wanted messages, grouped by the FIT file of a chain they belong to. A
    segment without a typed file_id of its own (devices that split one recording
    into several segments write none) continues the file before it."""
    parts = [_Part()]
    typed_segments = set()
    for segment, name, values in messages:
        values = {key: _single(value) for key, value in values.items()}
        part = parts[-1]
        if name == "file_id" and segment not in typed_segments:
            typed_segments.add(segment)
            if part.file_id is not None and values.get("type") is not None:
                part = _Part()
                parts.append(part)
        if name == "file_id":
            part.file_id = part.file_id or values
        elif name == "session":
            part.sessions.append(values)
        elif name == "device_info":
            kind = values.get("antplus_device_type", values.get("device_type"))
            if kind in FOOT_POD_TYPES and values.get("serial_number"):
                part.foot_pod = part.foot_pod or values["serial_number"]
        elif name == "activity":
            part.activity = part.activity or values
        elif name == "timestamp_correlation":
            part.correlations.append(values)
        elif name == "record":
            part.records.append((values.get("timestamp"), values.get("distance")))
        elif name == "sport":
            part.sport = part.sport or values
    return parts


def _decoded(read, data: bytes) -> DecodedFile:
    """The DecodedFile of a FIT file's bytes, read by `read` (_messages_by_walk or
    _messages_by_fitparse): once for the messages every file is read for and, only
    when an activity has no session message, again with its records."""
    parts = _parts(read(data))
    if parts[0].file_id is not None and any(part.bare for part in parts):
        parts = _parts(read(data, records=True))
    return _assemble(parts)


def _build(messages: list[tuple[int, str, dict]]) -> DecodedFile:
    """The DecodedFile of the wanted messages, as (segment, name, values)."""
    return _assemble(_parts(messages))


def _assemble(parts: list[_Part]) -> DecodedFile:
    file_id = parts[0].file_id
    if file_id is None:
        raise FitDecodeError("no file_id message: not a complete FIT file")
    if file_id.get("type") is None:
        raise FitDecodeError("file_id has no file type")
    # A chain is an activity when any of its files is one, and then holds the
    # sessions of its activities; each file's own clock dates its sessions.
    kept = [p for p in parts if p.file_id.get("type") == "activity"] or parts
    file_id = kept[0].file_id
    file_type = file_id.get("type")
    sessions, notes, offset = [], [], None
    for part in kept:
        clock = _Clock(part.activity, part.correlations)
        if part.bare:
            derived = _derived(part, clock)
            sessions.extend([derived] if derived else [])
            notes.append(DERIVED if derived else UNDATED)
        else:
            fallback = lambda clock=clock, part=part: clock(part.file_id.get("time_created"))  # noqa: E731
            sessions.extend(_session(s, clock, fallback) for s in part.sessions)
        if clock.guessed:
            notes.append(APPROXIMATE)
        if offset is None:
            offset = _utc_offset(part, clock)
    foot_pod = next((p.foot_pod for p in kept if p.foot_pod is not None), None)
    return DecodedFile(
        file_type=str(file_type) if isinstance(file_type, str) else f"type {file_type}",
        sessions=tuple(sessions),
        manufacturer=_name(file_id.get("manufacturer")),
        product=_name(file_id.get("garmin_product", file_id.get("product"))),
        serial=file_id.get("serial_number") if isinstance(file_id.get("serial_number"), int) else None,
        foot_pod_serial=foot_pod if isinstance(foot_pod, int) else None,
        utc_offset_s=offset,
        notes=tuple(dict.fromkeys(notes)),
    )


def _by_reference(data: bytes) -> DecodedFile:
    """Decode with fitparse in this process; its errors become one-line reasons."""
    try:
        return _decoded(_messages_by_fitparse, data)
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
    except MemoryError:
        raise FitDecodeError(f"needs more than {REFERENCE_MEMORY >> 20} MiB to decode: not an activity export") from None
    except Exception as exc:  # fitparse has no complete error vocabulary
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise FitDecodeError(f"corrupt: could not decode ({type(exc).__name__}{': ' if detail else ''}{detail})") from None


def _bounded_child(data: bytes, pipe, lifeline) -> None:
    """In a child process: decode with fitparse under a memory ceiling, send the outcome."""
    import resource

    _follow_parent(lifeline)
    resource.setrlimit(resource.RLIMIT_AS, (REFERENCE_MEMORY, REFERENCE_MEMORY))
    seconds = int(REFERENCE_SECONDS + REFERENCE_SECONDS_PER_MB * len(data) / 1e6) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))  # outlives no parent for long
    pipe.send(_outcome(_by_reference, data))
    pipe.close()


def _by_reference_bounded(data: bytes) -> DecodedFile:
    """fitparse for a big odd file, in a child process with a time and memory bound,
    so no file can hold up an import for long or exhaust the machine."""
    limit = REFERENCE_SECONDS + REFERENCE_SECONDS_PER_MB * len(data) / 1e6
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    receive, send = context.Pipe(duplex=False)
    lifeline = Lifeline(context)
    child = context.Process(target=_bounded_child, args=(data, send, lifeline.end), daemon=True)
    try:
        child.start()
    except OSError:  # no process can be started (e.g. a temp folder path too long for a socket)
        receive.close()
        send.close()
        lifeline.close()
        return _by_reference(data)
    send.close()
    try:
        if not receive.poll(limit):
            raise FitDecodeError(f"took longer than {limit:.0f} s to decode: the file is probably damaged")
        status, result = receive.recv()
    except EOFError:
        raise FitDecodeError("the decoder stopped without an answer: the file is probably damaged") from None
    finally:
        child.kill()
        child.join()
        receive.close()
        lifeline.close()
    if status == "error":
        raise FitDecodeError(result)
    return result


def decode_fast(data: bytes) -> DecodedFile | None:
    """Decode one FIT file's bytes by the fast walk; None when the walk cannot vouch
    for the file and fitparse, the reference, must decide. Raises FitDecodeError with
    a one-line reason for a file that is certainly not readable."""
    if not data:
        raise FitDecodeError("empty file (0 bytes)")
    if len(data) < 12 or data[8:12] != b".FIT":
        raise FitDecodeError("not a FIT file (no FIT header)")
    try:
        return _decoded(_messages_by_walk, data)
    except Broken as exc:
        raise FitDecodeError(str(exc)) from None
    except (Uncertain, ArithmeticError, TypeError, ValueError):
        # A value the walk cannot place (a time of "min", a huge or infinite time).
        return None


def decode_by_reference(data: bytes) -> DecodedFile:
    """Decode by fitparse, in this process for a small file, bounded in a child for a big one."""
    if len(data) <= REFERENCE_INLINE_BYTES:
        return _by_reference(data)
    return _by_reference_bounded(data)


def decode(data: bytes) -> DecodedFile:
    """Decode one FIT file's bytes. Raises FitDecodeError with a one-line reason."""
    fast = decode_fast(data)
    return fast if fast is not None else decode_by_reference(data)


class Lifeline:
    """A pipe whose writing end only this process ever holds. A child process given
    the reading end (`end`) sees it close the moment this process is gone, however
    it ends: killed with SIGKILL, and even while it waits, a zombie, to be reaped
    (os.kill(pid, 0) still finds a zombie, and a pid can be reused).

    Children are started by the fork server, which passes them only the file
    descriptors they are given: no other process holds the writing end.
    """

    def __init__(self, context):
        self.end, self._held = context.Pipe(duplex=False)

    def close(self) -> None:
        self._held.close()
        self.end.close()


def _follow_parent(lifeline) -> None:
    """In a child process (a pool worker, a bounded decoder): exit as soon as the
    process that started the import is gone, instead of decoding, or waiting
    forever, for it. With the decoding processes gone, the fork server, which
    exits once no process holds its own lifeline (they all do), follows them.
    """
    import threading

    def watch() -> None:
        try:
            lifeline.recv_bytes()  # nothing is ever sent: this returns at the end of the pipe
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def _outcome(decoder, data: bytes) -> tuple[str, object]:
    """("ok", DecodedFile) or ("error", reason): what a child process sends back."""
    try:
        return "ok", decoder(data)
    except FitDecodeError as exc:
        return "error", str(exc)


def looks_like_xml(data: bytes) -> bool:
    """GPX and TCX are XML: after an optional byte-order mark and blanks, a '<'."""
    head = data[:64].lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<")


def decode_outcome(data: bytes, hint=None) -> tuple[str, object]:
    """("ok", DecodedFile), ("skipped", reason) or ("error", reason) for a FIT, GPX or
    TCX file's bytes.
    `hint` (a gpxtcx.Hint) is what an export says of a GPX or TCX file."""
    if looks_like_xml(data):
        from . import gpxtcx

        try:
            return "ok", gpxtcx.decode(data, hint)
        except gpxtcx.NotAnActivity as exc:  # a route, a file with no track points
            return "skipped", str(exc)
        except gpxtcx.TrackError as exc:
            return "error", str(exc)
    return _outcome(decode, data)


class _Done:
    """The outcome of a file decoded in this process (multiprocessing and its futures
    are loaded only when workers start: most imports never need them)."""

    __slots__ = ("value",)

    def set_result(self, value) -> None:
        self.value = value

    def result(self):
        return self.value


class Decoder:
    """Decodes files: by the fast walk in this process, which takes well under a
    millisecond per megabyte; a file the walk cannot vouch for goes to fitparse,
    ~100 times slower, which runs in worker processes on every core once an import
    has more than one such file. Results come back through futures, in order of use.

    Workers are started by a fork server, never forked from a process that runs
    threads (the daemon does).
    """

    INLINE_FIRST = 1  # the first file that needs fitparse is decoded here: most imports have none

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.pool = None
        self.lifeline: Lifeline | None = None
        self.count = 0  # files that needed fitparse
        self.before_slow: Callable[[], None] = lambda: None  # told before fitparse runs in this process

    @property
    def window(self) -> int:
        """How many files may be in flight at once."""
        return 4 * self.workers if self.pool else 0

    def submit(self, data: bytes, hint=None):
        """A future of the outcome (a file decoded here is done at once)."""
        done = _Done()
        if looks_like_xml(data):
            done.set_result(decode_outcome(data, hint))
            return done
        try:
            fast = decode_fast(data)
        except FitDecodeError as exc:
            done.set_result(("error", str(exc)))
            return done
        if fast is not None:
            done.set_result(("ok", fast))
            return done
        self.count += 1
        if self.pool is None and self.workers > 1 and self.count > self.INLINE_FIRST:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("forkserver")
            self.lifeline = Lifeline(context)
            self.pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                            initializer=_follow_parent, initargs=(self.lifeline.end,))
        if self.pool is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                return self.pool.submit(_outcome, decode_by_reference, data)
            except (BrokenProcessPool, OSError):
                # Workers cannot start (e.g. the temp folder's path is too long for the
                # forkserver's socket): decode in this process instead.
                self.pool.shutdown(wait=False, cancel_futures=False)
                self._drop_pool()
                self.workers = 1
        self.before_slow()
        done.set_result(_outcome(decode_by_reference, data))
        return done

    def result(self, future, data_again, hint=None) -> tuple[str, object]:
        """The outcome of a submitted file; if a worker died, decode it here instead."""
        if isinstance(future, _Done):
            return future.result()
        from concurrent.futures.process import BrokenProcessPool

        try:
            return future.result()
        except BrokenProcessPool:
            self.workers = 1
            self._drop_pool()
            return decode_outcome(data_again(), hint)

    def _drop_pool(self) -> None:
        """Forget the pool; any of its workers still running exits with the lifeline."""
        self.pool = None
        if self.lifeline is not None:
            self.lifeline.close()
            self.lifeline = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self._drop_pool()

    def __enter__(self) -> "Decoder":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
