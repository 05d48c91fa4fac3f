"""Tiny, dependency-free FIT file *writer* for tests and benchmarks.

Builds real, CRC-correct FIT files from scratch (stdlib only) so the test suite
never needs binary fixtures.  Only the handful of messages shoetrack cares about
are supported: file_id, device_info, record, session, activity, plus a minimal
body for a few non-activity file types.

Quick use::

    from tests import fitgen
    data = fitgen.run("2024-05-01T06:30:00Z", km=10, minutes=50)   # -> bytes
    data = fitgen.activity([fitgen.Session(start=dt, sport=2)], devices=[fitgen.Device(1, 124, 42)])
    data = fitgen.run("2024-05-01T06:30:00Z", widths={"session": {5: 8}})   # a sport field of 8 bytes
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

FIT_EPOCH_OFFSET = 631065600  # Unix seconds at 1989-12-31T00:00:00Z (FIT epoch)
PROFILE_VERSION = 2132
PROTOCOL_VERSION = 0x20

# Base types: struct format and the "invalid" value fitparse decodes as None.
ENUM, UINT8, SINT32, UINT16, UINT32, UINT32Z, BYTE = 0x00, 0x02, 0x85, 0x84, 0x86, 0x8C, 0x0D
_FMT = {ENUM: "B", UINT8: "B", UINT16: "H", SINT32: "i", UINT32: "I", UINT32Z: "I", BYTE: "B"}
_INVALID = {ENUM: 0xFF, UINT8: 0xFF, UINT16: 0xFFFF, SINT32: 0x7FFFFFFF, UINT32: 0xFFFFFFFF, UINT32Z: 0, BYTE: 0xFF}

# ---------------------------------------------------------------- CRC-16 (FIT SDK)
_CRC_NIBBLE = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
               0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)


def _crc_nibble_byte(crc: int, byte: int) -> int:
    """Given a CRC and one byte, return the CRC updated exactly as the FIT SDK does (two nibbles)."""
    for nibble in (byte & 0xF, byte >> 4):
        tmp = _CRC_NIBBLE[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC_NIBBLE[nibble]
    return crc


# The SDK CRC is linear, so a 256-entry byte table built from the nibble table is equivalent
# and twice as fast; 16-bit words go through a 64 Ki-entry table, built whole before it is
# published (threads may call this at once: none may see it half built).
_CRC_BYTE = tuple(_crc_nibble_byte(0, b) for b in range(256))
_CRC_WORD: list[int] = []


def crc16(data: bytes, crc: int = 0) -> int:
    """Given bytes and a starting CRC (0 for a fresh one), return the FIT CRC-16 of the data."""
    t = _CRC_BYTE
    if len(data) < 64:
        for b in data:
            crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
        return crc
    if not _CRC_WORD:  # word table: CRC of two bytes (lo, hi) starting from 0
        _CRC_WORD[:] = [t[(t[w & 0xFF] ^ (w >> 8)) & 0xFF] ^ (t[w & 0xFF] >> 8) for w in range(65536)]
    tw = _CRC_WORD
    for w in struct.unpack_from(f"<{len(data) // 2}H", data):
        crc = tw[crc ^ w]  # a 16-bit register absorbs 16 input bits completely
    if len(data) & 1:
        crc = (crc >> 8) ^ t[(crc ^ data[-1]) & 0xFF]
    return crc


# ---------------------------------------------------------------- message layouts
class _Msg:
    """One message layout: given a local type, global message number and (field_num, base_type)
    pairs; holds the ready definition-record bytes and a Struct packing one data record.
    A field given as (field_num, base_type, count) is declared as an array of `count` values."""

    def __init__(self, local: int, global_num: int, fields: list[tuple[int, ...]]):
        self.local = local
        self.global_num = global_num
        self.fields = [(f[0], f[1], f[2] if len(f) > 2 else 1) for f in fields]
        self.invalid = tuple(_INVALID[bt] for _, bt, _ in self.fields)
        self.arrays = any(count != 1 for _, _, count in self.fields)
        self.definition = struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields)) + b"".join(
            struct.pack("BBB", num, count * struct.calcsize(_FMT[bt]), bt) for num, bt, count in self.fields)
        self.struct = struct.Struct("<B" + "".join(f"{count}{_FMT[bt]}" for _, bt, count in self.fields))

    def pack(self, *values) -> bytes:
        """Given field values in layout order (None = invalid), return one data record.
        An array field takes a tuple of values, or one value followed by invalid ones."""
        if not self.arrays:
            return self.struct.pack(self.local, *(i if v is None else v for v, i in zip(values, self.invalid)))
        flat = []
        for value, invalid, (_, _, count) in zip(values, self.invalid, self.fields):
            items = list(value) if isinstance(value, tuple) else [value]
            items += [None] * (count - len(items))
            flat.extend(invalid if v is None else v for v in items[:count])
        return self.struct.pack(self.local, *flat)

    def widened(self, sizes: dict[int, int | tuple[int, int]] | None) -> "_Msg":
        """This layout with some fields declared wider than their type, as some devices write them:
        given {field_num: declared size in bytes} (a multiple of the base type's size), or
        {field_num: (size, base type)} to declare another base type too (BYTE of 1 byte for a sport),
        return the layout whose such fields are arrays (pack writes the value first, then invalid
        values)."""
        if not sizes:
            return self
        unknown = set(sizes) - {num for num, _, _ in self.fields}
        if unknown:
            raise ValueError(f"no field {sorted(unknown)} in message {self.global_num}")
        fields = []
        for num, bt, count in self.fields:
            if num in sizes:
                size, bt = sizes[num] if isinstance(sizes[num], tuple) else (sizes[num], bt)
                count, rest = divmod(size, struct.calcsize(_FMT[bt]))
                if rest or count < 1:
                    raise ValueError(f"field {num}: {size} bytes is not a whole number of its type")
            fields.append((num, bt, count))
        return _Msg(self.local, self.global_num, fields)


FILE_ID = _Msg(0, 0, [(0, ENUM), (1, UINT16), (2, UINT16), (3, UINT32Z), (4, UINT32)])
DEVICE_INFO = _Msg(1, 23, [(253, UINT32), (0, UINT8), (1, UINT8), (2, UINT16), (3, UINT32Z), (4, UINT16), (25, ENUM)])
RECORD = _Msg(2, 20, [(253, UINT32), (3, UINT8), (5, UINT32), (6, UINT16)])
SESSION = _Msg(3, 18, [(254, UINT16), (253, UINT32), (2, UINT32), (5, ENUM), (6, ENUM), (7, UINT32), (8, UINT32),
                       (9, UINT32), (16, UINT8), (22, UINT16)])
_ACT = [(253, UINT32), (0, UINT32), (1, UINT16), (2, ENUM), (3, ENUM), (4, ENUM)]
ACTIVITY = _Msg(4, 34, _ACT + [(5, UINT32)])
ACTIVITY_NO_LOCAL = _Msg(4, 34, _ACT)
WORKOUT = _Msg(5, 26, [(4, ENUM), (6, UINT16)])
USER_PROFILE = _Msg(5, 3, [(4, UINT16)])
WEIGHT_SCALE = _Msg(5, 30, [(253, UINT32), (0, UINT16)])


class _Builder:
    """Accumulates records; emits a definition whenever a local type is (re)bound to a layout."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self._bound: dict[int, _Msg] = {}

    def define(self, msg: _Msg) -> None:
        if self._bound.get(msg.local) is not msg:
            self._bound[msg.local] = msg
            self.chunks.append(msg.definition)

    def add(self, msg: _Msg, *values) -> None:
        self.define(msg)
        self.chunks.append(msg.pack(*values))

    def finish(self) -> bytes:
        """Return the complete file: 14-byte header (with CRC) + records + file CRC."""
        body = b"".join(self.chunks)
        header = struct.pack("<BBHI4s", 14, PROTOCOL_VERSION, PROFILE_VERSION, len(body), b".FIT")
        header += struct.pack("<H", crc16(header))
        return header + body + struct.pack("<H", crc16(body, crc16(header)))


# ---------------------------------------------------------------- public helpers
def fit_time(dt: datetime) -> int:
    """Given a datetime (aware, or naive meaning UTC), return FIT seconds since 1989-12-31T00:00:00Z."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) - FIT_EPOCH_OFFSET


def _scaled(value: float | None, scale: int) -> int | None:
    return None if value is None else int(round(value * scale))


@dataclass
class Session:
    """One sport segment of an activity; distance/hr/ascent/timer may be None (written as invalid)."""
    start: datetime  # aware UTC datetime
    sport: int = 1
    sub_sport: int = 0
    distance_m: float | None = 5000.0
    elapsed_s: float = 1800.0
    timer_s: float | None = None  # defaults to elapsed_s
    avg_hr: int | None = 150
    ascent_m: int | None = 20
    records_every_s: int | None = None  # write a record every N s over [start, end)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed_s)


@dataclass
class Device:
    """An extra device_info entry (e.g. a foot pod: antplus_type=124, or HR strap: 120)."""
    index: int
    antplus_type: int | None = None  # 124 = stride_speed_distance (foot pod)
    serial: int | None = None
    manufacturer: int = 1
    product: int | None = None


def _write_records(b: _Builder, s: Session, t0: int) -> None:
    """Append record messages every s.records_every_s seconds from the session start (exclusive of end):
    distance grows linearly to s.distance_m, heart_rate = avg_hr, constant speed."""
    b.define(RECORD)
    every, elapsed = s.records_every_s, s.elapsed_s
    hr = 0xFF if s.avg_hr is None else s.avg_hr
    pack, local = RECORD.struct.pack, RECORD.local
    if s.distance_m is None or elapsed <= 0:
        b.chunks.extend([pack(local, t0 + t, hr, 0xFFFFFFFF, 0xFFFF) for t in range(0, int(elapsed), every)])
        return
    cm_per_s = s.distance_m * 100.0 / elapsed
    speed = min(int(round(s.distance_m / elapsed * 1000)), 0xFFFE)
    b.chunks.extend([pack(local, t0 + t, hr, int(cm_per_s * t + 0.5), speed) for t in range(0, int(elapsed), every)])


def activity(sessions: list[Session], *, serial: int = 3900000001, manufacturer: int = 1, product: int = 2697,
             devices: list[Device] = (), utc_offset_s: int | None = 0,
             time_created: datetime | None = None, widths: dict[str, dict[int, int]] | None = None) -> bytes:
    """Given sessions (in order) and creator/device details, return a complete activity FIT file (bytes):
    file_id(type 4), device_info for the creator (index 0) and each Device, then per session optional
    records, then one session message each, then activity.  activity.local_timestamp = last session end
    + utc_offset_s (omitted when utc_offset_s is None).  time_created defaults to the first start.
    `widths` declares fields wider than their type, by message ("file_id", "device_info", "session",
    "activity") and field number, in bytes: {"session": {5: 8}} writes a sport of 8 bytes, the sport
    first and 7 invalid values after it."""
    if not sessions:
        raise ValueError("an activity needs at least one session")
    widths = dict(widths or {})
    file_id, device_info, session, act = (
        msg.widened(widths.pop(name, None)) for name, msg in
        (("file_id", FILE_ID), ("device_info", DEVICE_INFO), ("session", SESSION),
         ("activity", ACTIVITY_NO_LOCAL if utc_offset_s is None else ACTIVITY)))
    if widths:
        raise ValueError(f"no message {sorted(widths)} to widen")
    created = fit_time(time_created or sessions[0].start)
    b = _Builder()
    b.add(file_id, 4, manufacturer, product, serial, created)
    b.add(device_info, created, 0, None, manufacturer, serial, product, None)
    for d in devices:
        b.add(device_info, created, d.index, d.antplus_type, d.manufacturer, d.serial, d.product,
              None if d.antplus_type is None else 1)  # source_type 1 = antplus
    for s in sessions:
        if s.records_every_s:
            _write_records(b, s, fit_time(s.start))
    for i, s in enumerate(sessions):
        timer = s.elapsed_s if s.timer_s is None else s.timer_s
        b.add(session, i, fit_time(s.end), fit_time(s.start), s.sport, s.sub_sport, _scaled(s.elapsed_s, 1000),
              _scaled(timer, 1000), _scaled(s.distance_m, 100), s.avg_hr, s.ascent_m)
    end = fit_time(sessions[-1].end)
    total_timer = _scaled(sum(s.elapsed_s if s.timer_s is None else s.timer_s for s in sessions), 1000)
    head = (end, total_timer, len(sessions), 0, 26, 1)  # type manual, event activity, event_type stop
    if utc_offset_s is None:
        b.add(act, *head)
    else:
        b.add(act, *head, end + utc_offset_s)
    return b.finish()


def non_activity(file_type: int, *, serial: int = 3900000001, time_created: datetime | None = None) -> bytes:
    """Given a FIT file type number, return a minimal valid file of that type: file_id plus a tiny body for
    settings (2: user_profile weight 70 kg), workout (5: running, 0 steps), weight (9: 75 kg);
    any other type gets file_id only.  time_created defaults to 2024-01-01T00:00:00Z."""
    created = fit_time(time_created or datetime(2024, 1, 1, tzinfo=timezone.utc))
    b = _Builder()
    b.add(FILE_ID, file_type, 1, 2697, serial, created)
    if file_type == 2:
        b.add(USER_PROFILE, 700)
    elif file_type == 5:
        b.add(WORKOUT, 1, 0)
    elif file_type == 9:
        b.add(WEIGHT_SCALE, created, 7500)
    return b.finish()


def run(start: datetime | str, km: float = 5.0, minutes: float = 30.0, *, sport: int = 1, sub_sport: int = 0,
        **activity_kwargs) -> bytes:
    """Given a start (aware datetime or ISO string like '2024-05-01T06:30:00Z'), distance and duration,
    return a one-session activity file (km=None writes an invalid distance).  Session fields (avg_hr, ascent_m, timer_s, records_every_s) may
    be passed in activity_kwargs; everything else goes to activity()."""
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    session_keys = ("avg_hr", "ascent_m", "timer_s", "records_every_s")
    extra = {k: activity_kwargs.pop(k) for k in session_keys if k in activity_kwargs}
    session = Session(start=start, sport=sport, sub_sport=sub_sport, distance_m=None if km is None else km * 1000.0,
                      elapsed_s=minutes * 60.0, **extra)
    return activity([session], **activity_kwargs)


def chain(*files: bytes) -> bytes:
    """Given complete FIT files, return them chained into one (as `cat a.fit b.fit` does): each keeps
    its own header and CRC, which the FIT protocol allows within a single file."""
    return b"".join(files)
