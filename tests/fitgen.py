"""Tiny, dependency-free FIT file *writer* for tests and benchmarks.

Builds real, CRC-correct FIT files from scratch (stdlib only) so the test suite
never needs binary fixtures.  Only the handful of messages shoetrack cares about
are supported: file_id, device_info, record, session, activity, sport,
timestamp_correlation and developer fields, plus a minimal body for a few
non-activity file types.

Quick use::

    from tests import fitgen
    data = fitgen.run("2024-05-01T06:30:00Z", km=10, minutes=50)   # -> bytes
    data = fitgen.activity([fitgen.Session(start=dt, sport=2)], devices=[fitgen.Device(1, 124, 42)])
    data = fitgen.run("2024-05-01T06:30:00Z", widths={"session": {5: 8}})   # a sport field of 8 bytes
    data = fitgen.run("2024-05-01T06:30:00Z", odd_sizes={"session": {9: 1}})  # a uint32 distance of 1 byte
    data = fitgen.run("2024-05-01T06:30:00Z", developer={"session": [("total_distance", fitgen.UINT32, 4200)]})
    data = fitgen.run("2024-05-01T06:30:00Z", records_every_s=5, with_sessions=False)  # records only
    data = fitgen.run("2024-05-01T06:30:00Z", power_on=dt)  # times relative to power-on (+ a correlation)
    data = fitgen.run("2024-05-01T06:30:00Z", records_every_s=1, compressed=("session",))  # compressed header
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
STRING = 0x07  # only ever declared: written as raw bytes (see _Msg)
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
    A field given as (field_num, base_type, count) is declared as an array of `count` values;
    one given as (field_num, BYTE, size, declared_type) is written as `size` raw bytes but declared
    as `declared_type` (a uint32 of 1 byte, a string). `dev_fields` are (developer field number,
    base type) of developer data index 0, written after the message's own fields."""

    def __init__(self, local: int, global_num: int, fields: list[tuple[int, ...]],
                 dev_fields: list[tuple[int, int]] = ()):
        self.local = local
        self.global_num = global_num
        self.fields = [(f[0], f[1], f[2] if len(f) > 2 else 1) for f in fields]
        self.declared = [f[3] if len(f) > 3 else f[1] for f in fields]
        self.dev_fields = list(dev_fields)
        every = self.fields + [(num, bt, 1) for num, bt in self.dev_fields]
        self.invalid = tuple(_INVALID[bt] for _, bt, _ in every)
        raw = self.declared != [bt for _, bt, _ in self.fields]  # some field declared as another type
        self.arrays = raw or any(count != 1 for _, _, count in self.fields)
        header = 0x40 | local | (0x20 if self.dev_fields else 0)
        self.definition = struct.pack("<BBBHB", header, 0, 0, global_num, len(fields)) + b"".join(
            struct.pack("BBB", num, count * struct.calcsize(_FMT[bt]), declared)
            for (num, bt, count), declared in zip(self.fields, self.declared))
        if self.dev_fields:
            self.definition += bytes((len(self.dev_fields),)) + b"".join(
                struct.pack("BBB", num, struct.calcsize(_FMT[bt]), 0) for num, bt in self.dev_fields)
        self.struct = struct.Struct("<B" + "".join(f"{count}{_FMT[bt]}" for _, bt, count in every))

    def pack(self, *values) -> bytes:
        """Given field values in layout order (None = invalid), then the developer fields' values,
        return one data record. An array field takes a tuple of values, or one value followed by
        invalid ones; a raw-bytes field a tuple of bytes, or a number of its declared type (its
        first bytes are written)."""
        if not self.arrays:
            return self.struct.pack(self.local, *(i if v is None else v for v, i in zip(values, self.invalid)))
        flat = []
        declared = self.declared + [bt for _, bt in self.dev_fields]
        every = self.fields + [(num, bt, 1) for num, bt in self.dev_fields]
        for value, invalid, (_, bt, count), kind in zip(values, self.invalid, every, declared):
            if kind != bt and isinstance(value, int):
                value = tuple(struct.pack("<" + _FMT[kind], value)[:count])
            items = list(value) if isinstance(value, tuple) else [value]
            items += [None] * (count - len(items))
            flat.extend(invalid if v is None else v for v in items[:count])
        return self.struct.pack(self.local, *flat)

    def _with(self, fields, dev_fields=None) -> "_Msg":
        return _Msg(self.local, self.global_num, fields, self.dev_fields if dev_fields is None else dev_fields)

    def _layout(self) -> list[tuple[int, ...]]:
        return [(num, bt, count, declared) for (num, bt, count), declared in zip(self.fields, self.declared)]

    def _checked_layout(self, sizes: dict) -> list:
        """The layout, once every field number in `sizes` is known to be in it."""
        unknown = set(sizes) - {num for num, _, _ in self.fields}
        if unknown:
            raise ValueError(f"no field {sorted(unknown)} in message {self.global_num}")
        return list(self._layout())

    def widened(self, sizes: dict[int, int | tuple[int, int]] | None) -> "_Msg":
        """This layout with some fields declared wider than their type, as some devices write them:
        given {field_num: declared size in bytes} (a multiple of the base type's size), or
        {field_num: (size, base type)} to declare another base type too (BYTE of 1 byte for a sport),
        return the layout whose such fields are arrays (pack writes the value first, then invalid
        values)."""
        if not sizes:
            return self
        fields = []
        for num, bt, count, declared in self._checked_layout(sizes):
            if num in sizes:
                size, bt = sizes[num] if isinstance(sizes[num], tuple) else (sizes[num], bt)
                count, rest = divmod(size, struct.calcsize(_FMT[bt]))
                if rest or count < 1:
                    raise ValueError(f"field {num}: {size} bytes is not a whole number of its type")
                declared = bt
            fields.append((num, bt, count, declared))
        return self._with(fields)

    def odd(self, sizes: dict[int, int] | None) -> "_Msg":
        """This layout with some fields declared with a size that is no whole number of their type
        (a uint32 of 1 byte, as a Coros watch writes one, or of 0 bytes): given {field_num: size},
        return the layout; pack writes the first `size` bytes of the value (little-endian)."""
        if not sizes:
            return self
        fields = []
        for num, bt, count, declared in self._checked_layout(sizes):
            if num in sizes:
                if sizes[num] % struct.calcsize(_FMT[declared]) == 0 and sizes[num]:
                    raise ValueError(f"field {num}: {sizes[num]} bytes fits its type; use widths")
                bt, count = BYTE, sizes[num]
            fields.append((num, bt, count, declared))
        return self._with(fields)

    def extended(self, extra: list[tuple[int, int, int]] | None) -> "_Msg":
        """This layout with more fields after its own: given (field_num, declared type, size in bytes),
        each written as raw bytes (pack takes a tuple of bytes or a number, after the own values)."""
        if not extra:
            return self
        return self._with(self._layout() + [(num, BYTE, size, kind) for num, kind, size in extra])

    def developed(self, kinds: list[tuple[int, int]] | None) -> "_Msg":
        """This layout with developer fields (developer field number, base type) of index 0."""
        return self._with(self._layout(), self.dev_fields + list(kinds)) if kinds else self

    def untimed(self) -> "_Msg":
        """This layout without its timestamp field (253), at local type 0-3 (its own, less 4 if
        need be): for a message written after a compressed timestamp header, which holds its time."""
        fields = [f for f in self._layout() if f[0] != 253]
        if len(fields) == len(self.fields):
            raise ValueError(f"message {self.global_num} has no timestamp field")
        return _Msg(self.local & 0x3, self.global_num, fields, self.dev_fields)

    def time_index(self) -> int:
        """Where the timestamp's value comes among the values pack() takes."""
        return [num for num, _, _ in self.fields].index(253)


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
RECORD_NO_TIME = _Msg(3, 20, [(3, UINT8), (5, UINT32), (6, UINT16)])  # follows a compressed timestamp header
SPORT = _Msg(6, 12, [(0, ENUM), (1, ENUM)])
# timestamp, fractional_timestamp, system_timestamp, fractional_system_timestamp, local_timestamp
TIMESTAMP_CORRELATION = _Msg(7, 162, [(253, UINT32), (0, UINT16), (1, UINT32), (2, UINT16), (3, UINT32)])
DEVELOPER_DATA_ID = _Msg(8, 207, [(1, BYTE, 16), (3, UINT8)])  # application_id, developer_data_index
# developer_data_index, field_definition_number, fit_base_type_id, field_name (a string of 32 bytes)
FIELD_DESCRIPTION = _Msg(9, 206, [(0, UINT8), (1, UINT8), (2, UINT8), (3, BYTE, 32, STRING)])


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

    def add_compressed(self, msg: _Msg, time: int, *values) -> None:
        """A message whose time is written in a compressed timestamp header (its low 5 bits):
        `msg` is an untimed() layout, `values` the values of its fields."""
        self.define(msg)
        self.chunks.append(bytes((0x80 | msg.local << 5 | time & 0x1F,)) + msg.pack(*values)[1:])

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


def _record_values(s: Session, t0: int) -> list[tuple[int, int, int | None, int | None]]:
    """(time, heart rate, distance in cm, speed in mm/s) of each record of a session: every
    s.records_every_s seconds from its start (exclusive of end), distance growing linearly to
    s.distance_m, heart_rate = avg_hr, constant speed."""
    every, elapsed = s.records_every_s, s.elapsed_s
    hr = 0xFF if s.avg_hr is None else s.avg_hr
    if s.distance_m is None or elapsed <= 0:
        return [(t0 + t, hr, None, None) for t in range(0, int(elapsed), every)]
    cm_per_s = s.distance_m * 100.0 / elapsed
    speed = min(int(round(s.distance_m / elapsed * 1000)), 0xFFFE)
    return [(t0 + t, hr, int(cm_per_s * t + 0.5), speed) for t in range(0, int(elapsed), every)]


def _write_records(b: _Builder, s: Session, t0: int, layout: "_Msg" = None, extra: tuple = (),
                   compressed: bool = False) -> None:
    """Append the record messages of a session (see _record_values), in `layout` (RECORD, or RECORD
    changed: then `extra` are the values of its further fields). `compressed`: every record but the
    first has a compressed timestamp header (time in its low 5 bits, no timestamp field)."""
    layout = layout or RECORD
    values = _record_values(s, t0)
    if layout is RECORD and not compressed:  # the common case, fast: benchmarks write thousands
        b.define(RECORD)
        pack, local = RECORD.struct.pack, RECORD.local
        b.chunks.extend([pack(local, t, hr, 0xFFFFFFFF if cm is None else cm, 0xFFFF if speed is None else speed)
                         for t, hr, cm, speed in values])
        return
    if compressed and s.records_every_s > 31:
        raise ValueError("a compressed timestamp holds 5 bits: records at most 31 s apart")
    for n, (t, hr, cm, speed) in enumerate(values):
        if compressed and n:
            b.define(RECORD_NO_TIME)
            b.chunks.append(bytes((0x80 | RECORD_NO_TIME.local << 5 | t & 0x1F,)) + RECORD_NO_TIME.pack(
                hr, cm, speed)[1:])
        else:
            b.add(layout, t, hr, cm, speed, *extra)


@dataclass
class DevField:
    """A developer field (as a Connect IQ app adds one): its name, base type and value."""
    name: str
    base_type: int
    value: int


MESSAGES = ("file_id", "device_info", "session", "activity", "record")
COMPRESSIBLE = ("device_info", "session", "activity", "timestamp_correlation")


def activity(sessions: list[Session], *, serial: int = 3900000001, manufacturer: int = 1, product: int = 2697,
             devices: list[Device] = (), utc_offset_s: int | None = 0,
             time_created: datetime | None = None, widths: dict[str, dict[int, int]] | None = None,
             odd_sizes: dict[str, dict[int, int]] | None = None,
             extra_fields: dict[str, list[tuple[int, int, int]]] | None = None,
             developer: dict[str, list[DevField | tuple]] | None = None,
             with_sessions: bool = True, with_activity: bool = True, sport_message: bool = False,
             compressed_records: bool = False, power_on: datetime | None = None,
             correlation: bool = True, compressed: tuple[str, ...] = ()) -> bytes:
    """Given sessions (in order) and creator/device details, return a complete activity FIT file (bytes):
    file_id(type 4), device_info for the creator (index 0) and each Device, then per session optional
    records, then one session message each, then activity.  activity.local_timestamp = last session end
    + utc_offset_s (omitted when utc_offset_s is None).  time_created defaults to the first start.
    `widths` declares fields wider than their type, by message ("file_id", "device_info", "session",
    "activity", "record") and field number, in bytes: {"session": {5: 8}} writes a sport of 8 bytes, the
    sport first and 7 invalid values after it.

    Odder files:
    - `odd_sizes` {"session": {9: 1}}: fields declared with a size that is no whole number of their type
      (a uint32 total_distance of 1 byte, its first byte written);
    - `extra_fields` {"record": [(91, UINT32, 1)]}: more fields after a message's own, as (field number,
      declared type, size in bytes), each filled with 0x01 bytes;
    - `developer` {"session": [DevField("total_distance", UINT32, 4200)]}: developer fields (described by
      a developer_data_id and field_description messages after file_id);
    - `with_sessions=False`: no session message (the records must say it all), `with_activity=False`:
      no activity message; `sport_message`: a sport message with the first session's sport and sub_sport;
    - `compressed_records`: records after each session's first with compressed timestamp headers;
    - `compressed` ("session", "activity", "device_info", "timestamp_correlation"): those messages
      written with a compressed timestamp header instead of their timestamp field. A decoder counts
      such a time from the last timestamp before it: it reads right only within 31 s of that one;
    - `power_on` (a datetime before the first start): every time but local ones written relative to
      it (seconds since power-on, as devices without a clock fix write them), with a
      timestamp_correlation at the first start unless `correlation=False`.
    """
    if not sessions:
        raise ValueError("an activity needs at least one session")
    widths, odd_sizes = dict(widths or {}), dict(odd_sizes or {})
    extra_fields, developer = dict(extra_fields or {}), dict(developer or {})
    for name, given in (("widths", widths), ("odd_sizes", odd_sizes), ("extra_fields", extra_fields),
                        ("developer", developer)):
        if set(given) - set(MESSAGES):
            raise ValueError(f"{name}: no message {sorted(set(given) - set(MESSAGES))} to change")
    if "file_id" in developer:
        raise ValueError("file_id comes first: no developer field can be described before it")
    if set(compressed) - set(COMPRESSIBLE):
        raise ValueError(f"compressed: no timestamp to compress in {sorted(set(compressed) - set(COMPRESSIBLE))}")
    described = []  # (developer field number, DevField)
    layouts, extras = {}, {}
    for name, msg in (("file_id", FILE_ID), ("device_info", DEVICE_INFO), ("session", SESSION),
                      ("activity", ACTIVITY_NO_LOCAL if utc_offset_s is None else ACTIVITY), ("record", RECORD)):
        fields = [f if isinstance(f, DevField) else DevField(*f) for f in developer.get(name, ())]
        numbers = list(range(len(described), len(described) + len(fields)))
        described += zip(numbers, fields)
        layouts[name] = msg.widened(widths.get(name)).odd(odd_sizes.get(name)).extended(
            extra_fields.get(name)).developed([(n, f.base_type) for n, f in zip(numbers, fields)])
        extras[name] = tuple(b"\x01" * size for _, _, size in extra_fields.get(name, ())) + tuple(
            f.value for f in fields)
        extras[name] = tuple(tuple(v) if isinstance(v, bytes) else v for v in extras[name])
    file_id, device_info, session, act = (layouts[n] for n in ("file_id", "device_info", "session", "activity"))
    zero = fit_time(power_on) if power_on is not None else 0

    def t(moment: datetime) -> int:  # a FIT time as written: relative to power-on, or absolute
        value = fit_time(moment) - zero
        if power_on is not None and not 0 <= value < 0x10000000:
            raise ValueError("power_on must be less than 8 years before every time")
        return value

    created = t(time_created or sessions[0].start)
    b = _Builder()
    untimed = {name: (layouts.get(name) or TIMESTAMP_CORRELATION).untimed() for name in compressed}

    def put(name: str, msg: _Msg, *values) -> None:  # b.add, or with a compressed timestamp header
        if name not in untimed:
            b.add(msg, *values)
            return
        i = msg.time_index()
        b.add_compressed(untimed[name], values[i], *values[:i], *values[i + 1:])
    b.add(file_id, 4, manufacturer, product, serial, created, *extras["file_id"])
    if described:
        b.add(DEVELOPER_DATA_ID, tuple(range(16)), 0)
        for number, f in described:
            b.add(FIELD_DESCRIPTION, 0, number, f.base_type, tuple(f.name.encode() + b"\0"))
    if power_on is not None and correlation:
        first = sessions[0].start
        local = None if utc_offset_s is None else fit_time(first) + utc_offset_s
        put("timestamp_correlation", TIMESTAMP_CORRELATION, fit_time(first), None, t(first), None, local)
    if sport_message:
        b.add(SPORT, sessions[0].sport, sessions[0].sub_sport)
    put("device_info", device_info, created, 0, None, manufacturer, serial, product, None, *extras["device_info"])
    for d in devices:
        put("device_info", device_info, created, d.index, d.antplus_type, d.manufacturer, d.serial, d.product,
            None if d.antplus_type is None else 1, *extras["device_info"])  # source_type 1 = antplus
    for s in sessions:
        if s.records_every_s:
            _write_records(b, s, t(s.start), layouts["record"], extras["record"], compressed_records)
    for i, s in enumerate(sessions if with_sessions else ()):
        timer = s.elapsed_s if s.timer_s is None else s.timer_s
        put("session", session, i, t(s.end), t(s.start), s.sport, s.sub_sport, _scaled(s.elapsed_s, 1000),
              _scaled(timer, 1000), _scaled(s.distance_m, 100), s.avg_hr, s.ascent_m, *extras["session"])
    end = t(sessions[-1].end)
    total_timer = _scaled(sum(s.elapsed_s if s.timer_s is None else s.timer_s for s in sessions), 1000)
    # type manual, event activity, event_type stop
    head = (end, total_timer, len(sessions) if with_sessions else 0, 0, 26, 1)
    if not with_activity:
        pass
    elif utc_offset_s is None:
        put("activity", act, *head, *extras["activity"])
    else:
        put("activity", act, *head, fit_time(sessions[-1].end) + utc_offset_s, *extras["activity"])
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
