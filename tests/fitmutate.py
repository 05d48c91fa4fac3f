"""Structure-aware mutation of FIT files, for fuzzing the decoders (stdlib only).

`parse(data)` reads a FIT file, or several chained (`cat a.fit b.fit`), into its
parts: per file a header and its messages in order, definition messages
(architecture, global message number, field definitions, developer field
definitions) and data messages (normal or compressed-timestamp header, the bytes
of each field). `serialise(fit)` writes them back, computing the data size, the
header CRC and the file CRC; for a well-formed file, `serialise(parse(data)) ==
data`. `mutate(fit, rng, pool)` changes the structure the way an odd device or a
buggy writer could and keeps the file well-formed: every data message matches the
layout in force, and the CRCs are right, so a mutant gets past the CRC checks and
exercises the decoders themselves.

Written from the FIT protocol (the SDK's "FIT File Protocol" description):

  file header     size (12 or 14+), protocol version, profile version (LE uint16),
                  data size (LE uint32), ".FIT", then for 14+ bytes a CRC of the
                  first 12 bytes (0 = not computed)
  record header   bit 7 set: compressed timestamp, local message 0-3 in bits 5-6,
                  time offset in bits 0-4; else bit 6: definition, bit 5: developer
                  fields follow (definitions), local message number in bits 0-3
  definition      reserved byte, architecture (0 little-, 1 big-endian), global
                  message number (in that endianness), field count, then per field
                  (number, size in bytes, base type); with developer fields: count,
                  then per field (number, size, developer data index)
  file CRC        CRC-16 of the header and the data, little-endian

A data message's layout is the last definition of its local message number; the
serialiser writes a definition again wherever the layout in force for a local
number is not the one a data message was read with, so mutations may move, add or
renumber messages freely.
"""

from __future__ import annotations

import copy
import random
import struct
from dataclasses import dataclass, field

# -- base types -------------------------------------------------------------------------


@dataclass(frozen=True)
class BaseType:
    number: int
    name: str
    size: int
    code: str  # struct code of one element; "s" for a string's byte
    invalid: bytes  # one invalid element, little-endian


def _le(code: str, value) -> bytes:
    return struct.pack("<" + code, value)


BASE_TYPES = {b.number: b for b in (
    BaseType(0x00, "enum", 1, "B", b"\xff"),
    BaseType(0x01, "sint8", 1, "b", b"\x7f"),
    BaseType(0x02, "uint8", 1, "B", b"\xff"),
    BaseType(0x83, "sint16", 2, "h", _le("h", 0x7FFF)),
    BaseType(0x84, "uint16", 2, "H", b"\xff\xff"),
    BaseType(0x85, "sint32", 4, "i", _le("i", 0x7FFFFFFF)),
    BaseType(0x86, "uint32", 4, "I", b"\xff" * 4),
    BaseType(0x07, "string", 1, "s", b"\x00"),
    BaseType(0x88, "float32", 4, "f", b"\xff" * 4),
    BaseType(0x89, "float64", 8, "d", b"\xff" * 8),
    BaseType(0x0A, "uint8z", 1, "B", b"\x00"),
    BaseType(0x8B, "uint16z", 2, "H", b"\x00" * 2),
    BaseType(0x8C, "uint32z", 4, "I", b"\x00" * 4),
    BaseType(0x0D, "byte", 1, "B", b"\xff"),
    BaseType(0x8E, "sint64", 8, "q", _le("q", 0x7FFFFFFFFFFFFFFF)),
    BaseType(0x8F, "uint64", 8, "Q", b"\xff" * 8),
    BaseType(0x90, "uint64z", 8, "Q", b"\x00" * 8),
)}
BYTE, UINT8, UINT16, UINT32, STRING = 0x0D, 0x02, 0x84, 0x86, 0x07
# Base type bytes no FIT profile defines (some are a real type without its
# endian-ability bit); a reader may take them for bytes.
UNKNOWN_BASES = (0x03, 0x04, 0x06, 0x0E, 0x55, 0x87, 0x91, 0xFF)


def base(number: int) -> BaseType:
    """The base type of a base type byte; an unknown one reads as bytes."""
    return BASE_TYPES.get(number) or BaseType(number, f"unknown 0x{number:02X}", 1, "B", b"\xff")


def is_array(size: int, base_number: int) -> bool:
    """Whether a field of this size and type holds several values (a decoder may
    give it as a tuple): more than one element, or bytes of any length."""
    b = BASE_TYPES.get(base_number)
    if b is None or b.number == BYTE:
        return size >= 1
    return b.code != "s" and size > b.size and size % b.size == 0


# The messages and fields shoetrack reads, from the FIT profile (global number ->
# field numbers): file_id, session, device_info, activity.
WANTED = {
    0: (0, 1, 2, 3, 4, 5, 8),
    18: (253, 254, 0, 1, 2, 5, 6, 7, 8, 9, 16, 22),
    23: (253, 0, 1, 2, 3, 4, 25),
    34: (253, 0, 1, 2, 3, 4, 5),
}
NAMES = {0: "file_id", 18: "session", 23: "device_info", 34: "activity", 20: "record",
         206: "field_description", 207: "developer_data_id"}
DEVELOPER_DATA_ID, FIELD_DESCRIPTION = 207, 206
# Names of values shoetrack reads, which a developer field may shadow.
SHADOWING_NAMES = ("sport", "sub_sport", "total_distance", "start_time", "timestamp", "type",
                   "serial_number", "avg_heart_rate", "total_timer_time", "total_elapsed_time",
                   "local_timestamp", "manufacturer", "device_type", "total_ascent")

# -- CRC-16 as the FIT protocol defines it ----------------------------------------------

_NIBBLES = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
            0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)


def _byte_crc(byte: int) -> int:
    crc = 0
    for nibble in (byte & 0xF, byte >> 4):
        crc = ((crc >> 4) & 0x0FFF) ^ _NIBBLES[crc & 0xF] ^ _NIBBLES[nibble]
    return crc


_TABLE = [_byte_crc(b) for b in range(256)]


def crc16(data: bytes, crc: int = 0) -> int:
    table = _TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


# -- the parts of a FIT file -----------------------------------------------------------


@dataclass
class Field:
    num: int
    size: int
    base: int


@dataclass
class DevField:
    num: int
    size: int
    index: int  # developer data index


@dataclass(eq=False)
class Definition:
    local: int
    global_num: int
    fields: list[Field]
    dev_fields: list[DevField] = field(default_factory=list)
    arch: int = 0  # 0: little-endian; any other value: big-endian
    reserved: int = 0
    flags: int = 0  # header bits 4-5 as written (bit 5: developer fields follow)

    @property
    def endian(self) -> str:
        return ">" if self.arch else "<"

    @property
    def name(self) -> str:
        return NAMES.get(self.global_num, f"message {self.global_num}")

    def to_bytes(self) -> bytes:
        flags = self.flags | (0x20 if self.dev_fields else 0)
        out = bytearray((0x40 | flags | self.local, self.reserved, self.arch))
        out += struct.pack(self.endian + "HB", self.global_num, len(self.fields))
        for f in self.fields:
            out += bytes((f.num, f.size, f.base))
        if flags & 0x20:
            out.append(len(self.dev_fields))
            for d in self.dev_fields:
                out += bytes((d.num, d.size, d.index))
        return bytes(out)


@dataclass(eq=False)
class Data:
    definition: Definition
    values: list[bytes]  # one per field, as stored (in the definition's endianness)
    dev_values: list[bytes] = field(default_factory=list)
    time_offset: int | None = None  # a compressed-timestamp header, with this offset
    flags: int = 0  # normal header bits 4-5 as written

    def to_bytes(self) -> bytes:
        d = self.definition
        if len(self.values) != len(d.fields) or len(self.dev_values) != len(d.dev_fields):
            raise AssertionError(f"a {d.name} message does not match its definition")
        for v, f in zip(self.values + self.dev_values, d.fields + d.dev_fields):
            if len(v) != f.size:
                raise AssertionError(f"field {f.num} of a {d.name} message: {len(v)} bytes, defined {f.size}")
        if self.time_offset is None:
            header = self.flags | d.local
        else:
            if d.local > 3:
                raise AssertionError("a compressed timestamp header needs local message 0-3")
            header = 0x80 | d.local << 5 | self.time_offset
        return bytes((header,)) + b"".join(self.values) + b"".join(self.dev_values)


@dataclass
class Segment:
    """One FIT file of a chain."""

    messages: list  # Definition and Data, in order
    header_size: int = 14
    protocol: int = 0x20
    profile: int = 2132
    header_crc: bool = True  # a 14+ byte header carries its CRC (else 0)
    header_extra: bytes = b""  # header bytes past the 14th

    def written(self):
        """The messages in the order they are written: each data message preceded by
        its definition again wherever another layout is in force for its local number."""
        bound: dict[int, Definition] = {}
        for message in self.messages:
            if isinstance(message, Definition):
                bound[message.local] = message
                yield message
                continue
            d = message.definition
            if bound.get(d.local) is not d:
                bound[d.local] = d
                yield d
            yield message

    def to_bytes(self) -> bytes:
        body = b"".join(message.to_bytes() for message in self.written())
        header = struct.pack("<BBHI4s", self.header_size, self.protocol, self.profile, len(body), b".FIT")
        if self.header_size >= 14:
            header += struct.pack("<H", crc16(header) if self.header_crc else 0) + self.header_extra
        return header + bytes(body) + struct.pack("<H", crc16(body, crc16(header)))


@dataclass
class FitFile:
    segments: list[Segment]

    def data(self) -> list[Data]:
        return [m for s in self.segments for m in s.messages if isinstance(m, Data)]

    def definitions(self) -> list[Definition]:
        """Every layout in use or declared, each once, in order of appearance."""
        seen, out = set(), []
        for s in self.segments:
            for m in s.messages:
                d = m if isinstance(m, Definition) else m.definition
                if id(d) not in seen:
                    seen.add(id(d))
                    out.append(d)
        return out

    def records(self, definition: Definition) -> list[Data]:
        return [m for m in self.data() if m.definition is definition]


class ParseError(Exception):
    """Not a well-formed FIT file (this parser reads structure only, never values)."""


def serialise(fit: FitFile) -> bytes:
    return b"".join(s.to_bytes() for s in fit.segments)


def parse(data: bytes) -> FitFile:
    segments, pos = [], 0
    while pos < len(data):
        segment, pos = _segment(data, pos)
        segments.append(segment)
    if not segments:
        raise ParseError("empty")
    return FitFile(segments)


def _segment(data: bytes, pos: int) -> tuple[Segment, int]:
    if len(data) - pos < 12:
        raise ParseError("truncated header")
    header_size, protocol, profile, data_size, signature = struct.unpack_from("<BBHI4s", data, pos)
    if signature != b".FIT" or header_size < 12 or header_size == 13:
        raise ParseError("bad header")
    segment = Segment([], header_size, protocol, profile)
    if header_size >= 14:
        if pos + header_size > len(data):
            raise ParseError("truncated header")
        segment.header_crc = data[pos + 12:pos + 14] != b"\0\0"
        segment.header_extra = data[pos + 14:pos + header_size]
    p = pos + header_size
    end = p + data_size
    if end + 2 > len(data):
        raise ParseError("truncated data")
    layouts: dict[int, Definition] = {}
    while p < end:
        header = data[p]
        if header & 0x80 or not header & 0x40:
            local = (header >> 5) & 3 if header & 0x80 else header & 0xF
            d = layouts.get(local)
            if d is None:
                raise ParseError("a data message without a definition")
            values, p = _split(data, p + 1, [f.size for f in d.fields])
            dev_values, p = _split(data, p, [f.size for f in d.dev_fields])
            message = Data(d, values, dev_values)
            if header & 0x80:
                message.time_offset = header & 0x1F
            else:
                message.flags = header & 0x30
            segment.messages.append(message)
            continue
        if p + 6 > len(data):
            raise ParseError("truncated definition")
        reserved, arch = data[p + 1], data[p + 2]
        endian = ">" if arch else "<"
        global_num, count = struct.unpack_from(endian + "HB", data, p + 3)
        p += 6
        fields = [Field(*data[p + 3 * i:p + 3 * i + 3]) for i in range(count)]
        p += 3 * count
        dev_fields = []
        if header & 0x20:
            if p >= len(data):
                raise ParseError("truncated definition")
            extra = data[p]
            dev_fields = [DevField(*data[p + 1 + 3 * i:p + 4 + 3 * i]) for i in range(extra)]
            p += 1 + 3 * extra
        if p > end:
            raise ParseError("truncated definition")
        d = Definition(header & 0xF, global_num, fields, dev_fields, arch, reserved, header & 0x30)
        layouts[d.local] = d
        segment.messages.append(d)
    if p != end:
        raise ParseError("the last message runs past the data size")
    return segment, end + 2


def _split(data: bytes, p: int, sizes: list[int]) -> tuple[list[bytes], int]:
    out = []
    for size in sizes:
        if p + size > len(data):
            raise ParseError("truncated data message")
        out.append(data[p:p + size])
        p += size
    return out, p


# -- reading and writing values --------------------------------------------------------


def elements(raw: bytes, base_number: int, endian: str) -> list:
    """The values of a field (numbers; bytes for a string or a size that does not fit)."""
    b = base(base_number)
    if b.code == "s" or not raw or len(raw) % b.size:
        return [raw]
    return list(struct.unpack(f"{endian}{len(raw) // b.size}{b.code}", raw))


def encode(value, base_number: int, endian: str) -> bytes:
    """One element of a base type; an integer out of range wraps around, as a
    writer truncating its value would."""
    b = base(base_number)
    if b.code == "s":
        return bytes((int(value) & 0xFF,))
    if b.code in "fd":
        return struct.pack(endian + b.code, float(value))
    bits = 8 * b.size
    value = int(value) & ((1 << bits) - 1)
    if b.code.islower() and value >= 1 << (bits - 1):
        value -= 1 << bits
    return struct.pack(endian + b.code, value)


def invalid(base_number: int, endian: str) -> bytes:
    raw = base(base_number).invalid
    return raw[::-1] if endian == ">" else raw


def swap_elements(raw: bytes, base_number: int) -> bytes:
    """The bytes of each element reversed: a value written in the other endianness."""
    size = base(base_number).size
    if size == 1 or len(raw) % size:
        return raw
    return b"".join(raw[i:i + size][::-1] for i in range(0, len(raw), size))


def value_of(message: Data, num: int):
    """The first value of a field of a data message, or None."""
    for f, raw in zip(message.definition.fields, message.values):
        if f.num == num:
            found = elements(raw, f.base, message.definition.endian)
            return found[0] if found else None
    return None


def developer_types(fit: FitFile) -> dict[tuple[int, int], tuple[int, str | None]]:
    """(developer data index, field number) -> (base type, name) of every developer
    field described anywhere in the file (the last description wins)."""
    found = {}
    for m in fit.data():
        if m.definition.global_num == FIELD_DESCRIPTION:
            index, num, kind = value_of(m, 0), value_of(m, 1), value_of(m, 2)
            name = None
            for f, raw in zip(m.definition.fields, m.values):
                if f.num == 3 and f.base == STRING:
                    name = raw.split(b"\0")[0].decode("utf-8", "replace") or None
            if isinstance(index, int) and isinstance(num, int) and isinstance(kind, int):
                found[(index, num)] = (kind, name)
    return found


def developer_kinds(fit: FitFile) -> dict[int, list[int | None]]:
    """id(data message) -> the base type of each of its developer fields, as a reader
    knows it: from the descriptions read before its definition was (last) written, in
    every file of a chain; registering an index again forgets its fields; None: not
    described then."""
    described: dict[int, dict[int, int]] = {}
    at_definition: dict[int, list[int | None]] = {}  # id(definition) -> kinds when last written
    out = {}
    for m in (m for s in fit.segments for m in s.written()):
        if isinstance(m, Definition):
            at_definition[id(m)] = [described.get(f.index, {}).get(f.num) for f in m.dev_fields]
            continue
        g = m.definition.global_num
        if g == DEVELOPER_DATA_ID:
            index = value_of(m, 3)
            described[index] = {}
        elif g == FIELD_DESCRIPTION:
            index, num, kind = value_of(m, 0), value_of(m, 1), value_of(m, 2)
            if index in described:
                described[index][num] = kind
        if m.dev_values:
            out[id(m)] = at_definition[id(m.definition)]
    return out


# -- derived files ---------------------------------------------------------------------


def thin(fit: FitFile, keep: int = 6) -> FitFile:
    """A copy with at most `keep` data messages per layout of the messages shoetrack
    does not read (records, events, laps...): a real file's structure, in few bytes."""
    fit = copy.deepcopy(fit)
    counts: dict[int, int] = {}
    for s in fit.segments:
        kept = []
        for m in s.messages:
            if isinstance(m, Data) and m.definition.global_num not in WANTED and m.definition.global_num not in (
                    DEVELOPER_DATA_ID, FIELD_DESCRIPTION):
                counts[id(m.definition)] = counts.get(id(m.definition), 0) + 1
                if counts[id(m.definition)] > keep:
                    continue
            kept.append(m)
        s.messages = kept
    return fit


def first_elements(fit: FitFile, messages=tuple(WANTED)) -> tuple[FitFile, bool]:
    """A copy in which every field that holds several values (an array, or bytes) in
    the given messages holds only its first value, as a single value of its type
    (bytes become one uint8, whose invalid value is the same 0xFF): what the FIT SDK
    reads from such a field. Returns the copy and whether it could reduce every such
    field (a developer field's type comes from its description, which may change
    between messages of one layout, and stands for every message)."""
    fit = copy.deepcopy(fit)
    kinds = developer_kinds(fit)
    complete = True
    for d in fit.definitions():
        if d.global_num not in messages:
            continue
        records = fit.records(d)
        for i, f in enumerate(d.fields):
            if is_array(f.size, f.base):
                size = base(f.base).size if f.base in BASE_TYPES and f.base != BYTE else 1
                for m in records:
                    m.values[i] = m.values[i][:size]
                f.size = size
                if f.base not in BASE_TYPES or f.base == BYTE:
                    f.base = UINT8
        for i, f in enumerate(d.dev_fields):
            seen = {kinds[id(m)][i] for m in records}
            if len(seen) != 1:
                complete = complete and not any(k is not None and is_array(f.size, k) for k in seen)
                continue
            kind = seen.pop()
            if kind is None or kind not in BASE_TYPES or not is_array(f.size, kind):
                continue  # not described (a reader refuses it), of no known type, or a single value
            if kind == BYTE:
                complete = False
                continue
            size = BASE_TYPES[kind].size
            for m in records:
                m.dev_values[i] = m.dev_values[i][:size]
            f.size = size
    return fit, complete


def keep_only(fit: FitFile, fields: dict[int, set[int]]) -> FitFile:
    """A copy holding only the given fields of the given messages (global number ->
    field numbers), and the developer registry (developer_data_id, field_description):
    what remains of a file for a reader that looks at nothing else."""
    fit = copy.deepcopy(fit)
    registry = (DEVELOPER_DATA_ID, FIELD_DESCRIPTION)
    for s in fit.segments:
        s.messages = [m for m in s.messages if (m if isinstance(m, Definition) else m.definition).global_num in fields
                      or (m if isinstance(m, Definition) else m.definition).global_num in registry]
    for d in fit.definitions():
        if d.global_num not in fields:
            continue
        keep = [i for i, f in enumerate(d.fields) if f.num in fields[d.global_num]]
        for m in fit.records(d):
            m.values = [m.values[i] for i in keep]
        d.fields = [d.fields[i] for i in keep]
    return fit


def _pick_definition(fit: FitFile, rng: random.Random, target=None, wanted_bias: float = 0.65,
                     usable=lambda d: True) -> Definition | None:
    if target is not None:
        return target if usable(target) else None
    used = [d for d in fit.definitions() if fit.records(d) and usable(d)]
    if not used:
        return None
    wanted = [d for d in used if d.global_num in WANTED]
    if wanted and rng.random() < wanted_bias:
        return rng.choice(wanted)
    return rng.choice(used)


def _pick_field(fit, rng, target=None, usable=lambda f: True) -> tuple[Definition, int] | tuple[None, None]:
    d = _pick_definition(fit, rng, target, usable=lambda d: any(usable(f) for f in d.fields))
    if d is None:
        return None, None
    choices = [i for i, f in enumerate(d.fields) if usable(f)]
    wanted = [i for i in choices if d.fields[i].num in WANTED.get(d.global_num, ())]
    i = rng.choice(wanted if wanted and rng.random() < 0.7 else choices)
    return d, i


def _describe(d: Definition, f: Field | DevField) -> str:
    kind = f"dev {f.index}" if isinstance(f, DevField) else base(f.base).name
    return f"{d.name} (local {d.local}) field {f.num} ({kind}, {f.size} B)"


def _fill(rng: random.Random, how: str, base_number: int, endian: str, count: int, first: bytes = b"") -> bytes:
    size = base(base_number).size
    if how == "invalid":
        return invalid(base_number, endian) * count
    if how == "copy" and len(first) == size:
        return first * count
    if how == "zeros":
        return bytes(size * count)
    return rng.randbytes(size * count)


def widen(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """A field declared as several values of its type; the data keeps its value
    first and gets more after it."""
    d, i = _pick_field(fit, rng, target, lambda f: f.size and f.size % base(f.base).size == 0)
    if d is None:
        return None
    f = d.fields[i]
    b = base(f.base).size
    count = f.size // b
    most = min(16, 255 // b)
    if count >= most:
        return None
    new = rng.randint(count + 1, min(most, count + rng.choice((1, 1, 3, 7))))
    how = rng.choice(("invalid", "invalid", "copy", "random", "zeros"))
    for m in fit.records(d):
        m.values[i] += _fill(rng, how, f.base, d.endian, new - count, m.values[i][:b])
    text = f"widen {_describe(d, f)} to {new * b} B, filled with {how}"
    f.size = new * b
    return text


def narrow(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """A field declared smaller: fewer values of an array, or fewer bytes than one
    value of its type (nothing at all, at the extreme); the data keeps its first bytes."""
    d, i = _pick_field(fit, rng, target, lambda f: f.size > 1)
    if d is None:
        return None
    f = d.fields[i]
    b = base(f.base).size
    if f.size > b and f.size % b == 0 and rng.random() < 0.6:
        new = b * rng.randint(1, f.size // b - 1)
    elif rng.random() < 0.1:
        new = 0
    else:
        new = rng.randint(1, min(f.size, b) - 1) if min(f.size, b) > 1 else rng.randint(1, f.size - 1)
    for m in fit.records(d):
        m.values[i] = m.values[i][:new]
    text = f"narrow {_describe(d, f)} to {new} B"
    f.size = new
    return text


def flip_endianness(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """The architecture byte of a definition (or of all) flipped. `reencode`: every
    multi-byte value rewritten in the new byte order (the same file, written by a
    big-endian device); `values`: the global number rewritten, the values left as
    they were (read byte-swapped); `raw`: nothing rewritten, so the global number
    reads swapped too."""
    d = _pick_definition(fit, rng, target)
    if d is None:
        return None
    group = [d] if target is not None or rng.random() < 0.7 else fit.definitions()
    mode = rng.choice(("reencode", "reencode", "values", "raw"))
    kinds = developer_kinds(fit)
    big = rng.choice((1, 1, 1, 0x80, 0xFF))  # any non-zero architecture byte means big-endian
    for each in group:
        each.arch = 0 if each.arch else big
        if mode == "raw":
            each.global_num = struct.unpack("<H", struct.pack(">H", each.global_num))[0]
        if mode == "reencode":
            for m in fit.records(each):
                m.values = [swap_elements(v, f.base) for v, f in zip(m.values, each.fields)]
                m.dev_values = [swap_elements(v, BYTE if kind is None else kind)
                                for v, kind in zip(m.dev_values, kinds.get(id(m), ()))]
    what = "every definition" if len(group) > 1 else f"{d.name} (local {d.local}) to {d.arch}"
    return f"flip the architecture of {what}, {mode}"


def _field_number(rng: random.Random, d: Definition) -> int:
    own = [f.num for f in d.fields]
    choice = rng.random()
    if choice < 0.45 and d.global_num in WANTED:
        return rng.choice(WANTED[d.global_num])
    if choice < 0.6 and own:
        return rng.choice(own)  # a field number twice in one definition
    if choice < 0.7:
        return 253
    return rng.randrange(256)


def renumber_field(fit: FitFile, rng: random.Random, target=None) -> str | None:
    d, i = _pick_field(fit, rng, target)
    if d is None:
        return None
    f = d.fields[i]
    new = _field_number(rng, d)
    if new == f.num:
        return None
    text = f"renumber {_describe(d, f)} to {new}"
    f.num = new
    return text


def drop_field(fit: FitFile, rng: random.Random, target=None) -> str | None:
    d, i = _pick_field(fit, rng, target)
    if d is None:
        return None
    text = f"drop {_describe(d, d.fields[i])}"
    del d.fields[i]
    for m in fit.records(d):
        del m.values[i]
    return text


NOTABLE = {  # values worth writing into a number field
    1: (0, 1, 0x7F, 0x80, 0xFE, 0xFF),
    2: (0, 1, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF),
    4: (0, 1, 1000, 0x0FFFFFFF, 0x10000000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF),
    8: (0, 1, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1),
}
FLOAT_NOTABLE = (0.0, -0.0, 1.0, -1.0, 1e30, float("inf"), float("-inf"), float("nan"), 5000.0)


def _notable(rng: random.Random, base_number: int, endian: str) -> bytes:
    b = base(base_number)
    if b.code in "fd":
        return struct.pack(endian + b.code, rng.choice(FLOAT_NOTABLE))
    if b.code == "s":
        return bytes((rng.choice((0, 0x41, 0xC3, 0xFF)),))
    return encode(rng.choice(NOTABLE[b.size]), base_number, endian)


def add_field(fit: FitFile, rng: random.Random, target=None) -> str | None:
    d = _pick_definition(fit, rng, target, usable=lambda d: len(d.fields) < 255)
    if d is None:
        return None
    num = _field_number(rng, d)
    kind = rng.choice(list(BASE_TYPES) + [BYTE, UINT8, UINT16, UINT32] + list(UNKNOWN_BASES[:3]))
    b = base(kind).size
    size = b * rng.choice((1, 1, 1, 2, 3)) if rng.random() < 0.92 else rng.randint(0, 9)
    how = rng.choice(("invalid", "random", "notable", "zeros"))
    position = rng.randint(0, len(d.fields))
    d.fields.insert(position, Field(num, size, kind))
    for m in fit.records(d):
        if how == "notable" and size % b == 0 and size:
            raw = b"".join(_notable(rng, kind, d.endian) for _ in range(size // b))
        elif size % b == 0:
            raw = _fill(rng, how, kind, d.endian, size // b)
        else:
            raw = rng.randbytes(size)
        m.values.insert(position, raw)
    return f"add {_describe(d, d.fields[position])} at {position}, {how}"


SAME_SIZE = {1: (0x00, 0x01, 0x02, 0x07, 0x0A, 0x0D), 2: (0x83, 0x84, 0x8B), 4: (0x85, 0x86, 0x88, 0x8C),
             8: (0x89, 0x8E, 0x8F, 0x90)}


def change_base_type(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """Another base type: of the same size (the bytes read differently), or of
    another size with each value converted or the bytes cut or padded; now and
    then with the size left as it was, whether it fits the new type or not."""
    d, i = _pick_field(fit, rng, target)
    if d is None:
        return None
    f = d.fields[i]
    old = base(f.base)
    choice = rng.random()
    if choice < 0.45:
        kind = rng.choice([k for k in SAME_SIZE.get(old.size, (BYTE,)) if k != f.base] or [BYTE])
        how = "same bytes"
        new_size = f.size
    else:
        kind = rng.choice(list(BASE_TYPES) + list(UNKNOWN_BASES))
        how = rng.choice(("convert", "resize", "keep size"))
        count = max(1, f.size // old.size) if f.size else 1
        new_size = f.size if how == "keep size" else min(255 - 255 % base(kind).size, count * base(kind).size)
    new = base(kind)
    for m in fit.records(d):
        raw = m.values[i]
        if how == "convert" and old.code != "s" and new.code != "s" and raw and len(raw) % old.size == 0:
            values = elements(raw, f.base, d.endian)[: new_size // new.size]
            out = b""
            for v in values:
                if isinstance(v, float):
                    v = 0 if v != v or v in (float("inf"), float("-inf")) else int(v)
                out += encode(v, kind, d.endian)
            m.values[i] = (out + invalid(kind, d.endian) * (new_size // new.size))[:new_size]
        elif len(raw) >= new_size:
            m.values[i] = raw[:new_size]
        else:
            m.values[i] = raw + rng.choice((b"\xff", b"\x00")) * (new_size - len(raw))
    text = f"base type of {_describe(d, f)} to {new.name} ({new_size} B, {how})"
    f.base, f.size = kind, new_size
    return text


DEFINITION_MUTATIONS = (widen, narrow, flip_endianness, renumber_field, drop_field, add_field, change_base_type)


def redefine_mid_file(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """From some data message on, its local message number is redefined with a
    changed layout (the data after it follows the new layout)."""
    d = _pick_definition(fit, rng, target)
    if d is None:
        return None
    records = fit.records(d)
    k = rng.randrange(len(records))
    new = copy.deepcopy(d)
    new.fields, new.dev_fields = copy.deepcopy(d.fields), copy.deepcopy(d.dev_fields)
    for m in records[k:]:
        m.definition = new
    for s in fit.segments:
        if records[k] in s.messages:
            s.messages.insert(s.messages.index(records[k]), new)
            break
    for _ in range(5):
        text = rng.choice(DEFINITION_MUTATIONS)(fit, rng, new)
        if text:
            return f"redefine local {d.local} from its message {k + 1}: {text}"
    return None


def reuse_local_numbers(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """Local message numbers reassigned: all to one, shuffled, or one layout moved
    onto another's number, so layouts are redefined mid-file as messages alternate."""
    definitions = fit.definitions()
    if not definitions:
        return None
    compressed = {id(m.definition) for m in fit.data() if m.time_offset is not None}
    mode = rng.choice(("one", "shuffle", "collide"))
    if mode == "one":
        local = rng.choice((0, 0, 1, 3, 15)) if not compressed else rng.randint(0, 3)
        mapping = {id(d): local for d in definitions}
    elif mode == "shuffle":
        numbers = list(range(16))
        rng.shuffle(numbers)
        mapping = {id(d): numbers[d.local] for d in definitions}
    else:
        a, b = rng.choice(definitions), rng.choice(definitions)
        if a.local == b.local:
            return None
        mapping = {id(a): b.local}
    for d in definitions:
        local = mapping.get(id(d), d.local)
        d.local = local if id(d) not in compressed or local <= 3 else local & 3
    return f"reuse local message numbers ({mode})"


def compress_timestamps(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """Data messages of a layout with local number 0-3 given compressed-timestamp
    headers (offset from their own timestamp field when they have one), or back."""
    candidates = [m for m in fit.data() if m.definition.local <= 3]
    if not candidates:
        return None
    m = rng.choice(candidates)
    if m.time_offset is not None:
        for each in fit.records(m.definition):
            each.time_offset = None
        return f"normal headers for {m.definition.name}"
    group = fit.records(m.definition) if rng.random() < 0.5 else [m]
    for each in group:
        stamp = value_of(each, 253)
        each.time_offset = stamp & 0x1F if isinstance(stamp, int) and rng.random() < 0.7 else rng.randrange(32)
    return f"compressed timestamps on {len(group)} {m.definition.name} message(s)"


def _developer_messages(index: int, num: int, kind: int, name: str | None, local: int, rng) -> list[Data]:
    ident = Definition(local, DEVELOPER_DATA_ID, [Field(1, 16, BYTE), Field(3, 1, UINT8)])
    described = [Field(0, 1, UINT8), Field(1, 1, UINT8), Field(2, 1, UINT8)]
    values = [bytes((index,)), bytes((num,)), bytes((kind,))]
    if name is not None:
        text = name.encode() + b"\0"
        described.append(Field(3, len(text), STRING))
        values.append(text)
    if rng.random() < 0.3:
        described.append(Field(8, 8, STRING))
        values.append(rng.choice((b"m\0".ljust(8, b"\0"), b"semicirc", b"\0" * 8)))
    description = Definition(local, FIELD_DESCRIPTION, described)
    return [Data(ident, [rng.randbytes(16), bytes((index,))]), Data(description, values)]


def add_developer_field(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """A developer field on a message: described first (a developer_data_id and a
    field_description), or described late, twice, never, with a type no profile
    has, as an array, or of a size that does not fit its type; named like a field
    shoetrack reads, or not."""
    d = _pick_definition(fit, rng, target, usable=lambda d: len(d.dev_fields) < 255)
    if d is None:
        return None
    known = developer_types(fit)
    variant = rng.choice(("described", "described", "described", "array", "shadow", "shadow", "late",
                          "undescribed", "odd size", "unknown type", "reset index", "existing"))
    index = rng.choice((0, 0, 1, 7, 255))
    num = rng.choice((0, 1, 2, 17, 255))
    kind = rng.choice((UINT8, UINT16, UINT32, 0x85, 0x88, 0x89, 0x00, BYTE, STRING, 0x8C))
    if variant == "unknown type":
        kind = rng.choice(UNKNOWN_BASES)
    if variant == "existing" and known:
        (index, num), (kind, _) = rng.choice(sorted(known.items(), key=str))
    name = rng.choice(SHADOWING_NAMES) if variant == "shadow" else rng.choice(("dev_power", "Stryd", None))
    b = base(kind).size
    size = b * (rng.randint(2, 4) if variant == "array" else 1)
    if variant == "odd size":
        size = rng.choice([s for s in range(0, 2 * b + 2) if s % b] or [0])
    first = fit.records(d)[0]
    segment = next(s for s in fit.segments if first in s.messages)
    where = segment.messages.index(first)
    messages = [] if variant in ("undescribed", "existing") else _developer_messages(
        index, num, kind, name, rng.randrange(16), rng)
    if variant == "late":
        later = [m for m in segment.messages[where + 1:] if isinstance(m, Data)]
        at = segment.messages.index(rng.choice(later)) if later else len(segment.messages)
        segment.messages[at:at] = messages
    else:
        before = rng.randint(0, where)
        segment.messages[before:before] = messages
    if variant == "reset index":  # the same index registered again, after the description
        at = segment.messages.index(first)
        again = messages[0]
        segment.messages[at:at] = [Data(again.definition, list(again.values), list(again.dev_values))]
    d.dev_fields.append(DevField(num, size, index))
    how = rng.choice(("random", "invalid", "notable"))
    for m in fit.records(d):
        if how == "notable" and size and size % b == 0:
            m.dev_values.append(b"".join(_notable(rng, kind, d.endian) for _ in range(size // b)))
        elif how == "invalid" and size % b == 0:
            m.dev_values.append(invalid(kind, d.endian) * (size // b))
        else:
            m.dev_values.append(rng.randbytes(size))
    return (f"developer field {num} of index {index} ({base(kind).name}, {size} B, name {name!r}) on "
            f"{d.name}: {variant}, {how}")


def _pick_message(fit: FitFile, rng: random.Random) -> tuple[Segment, Data] | tuple[None, None]:
    data = fit.data()
    if not data:
        return None, None
    wanted = [m for m in data if m.definition.global_num in WANTED]
    m = rng.choice(wanted if wanted and rng.random() < 0.7 else data)
    return next(s for s in fit.segments if m in s.messages), m


def shuffle_messages(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """A data message duplicated, dropped, or moved elsewhere (into another file of a chain too)."""
    segment, m = _pick_message(fit, rng)
    if m is None:
        return None
    how = rng.choice(("duplicate", "drop", "move", "move"))
    at = segment.messages.index(m)
    if how == "duplicate":
        twin = copy.copy(m)
        twin.values, twin.dev_values = list(m.values), list(m.dev_values)
        segment.messages.insert(rng.randint(at + 1, len(segment.messages)), twin)
    elif how == "drop":
        del segment.messages[at]
    else:
        del segment.messages[at]
        other = rng.choice(fit.segments)
        other.messages.insert(rng.randint(0, len(other.messages)), m)
    return f"{how} a {m.definition.name} message"


def set_value(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """A notable value (invalid, zero, extremes, a time before 1998, NaN...) in a
    field of a message shoetrack reads."""
    candidates = [m for m in fit.data() if m.definition.global_num in WANTED and m.values]
    if not candidates:
        return None
    m = rng.choice(candidates)
    d = m.definition
    times = [i for i, f in enumerate(d.fields) if f.num in TIME_FIELDS.get(d.global_num, ())]
    i = rng.choice(times) if times and rng.random() < 0.5 else rng.randrange(len(d.fields))
    f = d.fields[i]
    b = base(f.base).size
    if not f.size or f.size % b:
        return None
    if f.num in TIME_FIELDS.get(d.global_num, ()) and rng.random() < 0.5:
        if b < 4 or base(f.base).code == "s":
            return None
        if rng.random() < 0.5 and b == 4:  # a time shoetrack reads, widened to 64 bits on the way
            f.base, f.size = rng.choice((0x8E, 0x8F, 0x90, 0x89)), 8 * (f.size // 4)
            b = 8
            for each in fit.records(d):
                each.values[i] = _notable(rng, f.base, d.endian) * (f.size // 8)
            return f"64-bit time in {_describe(d, f)}"
        code = base(f.base).code
        value = rng.choice(TIME_NOTABLE) if code not in "fd" else rng.choice(FLOAT_NOTABLE + (1e9, 2e9, -1e9))
        raw = struct.pack(d.endian + code, value) if code in "fd" else encode(value, f.base, d.endian)
        m.values[i] = raw + m.values[i][b:]
        return f"a notable time in {_describe(d, f)}"
    m.values[i] = _notable(rng, f.base, d.endian) + m.values[i][b:]
    return f"a notable value in {_describe(d, f)}"


# The times shoetrack reads (global number -> field numbers), and values worth
# writing into them: relative times (below 0x10000000), the profile's "min", far
# ends of the range.
TIME_FIELDS = {0: (4,), 18: (253, 2), 23: (253,), 34: (253, 5)}
TIME_NOTABLE = (0, 1, 1000, 0x0FFFFFFF, 0x10000000, 0x10000001, 0x7FFFFFFF, 0xFFFFFFFE)


def change_header(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """A 12-byte header, a 14-byte one, a header CRC of 0, extra header bytes, other versions."""
    s = rng.choice(fit.segments)
    how = rng.choice(("12", "14", "no crc", "extra", "versions"))
    if how == "12":
        s.header_size, s.header_extra = 12, b""
    elif how == "14":
        s.header_size, s.header_extra, s.header_crc = 14, b"", True
    elif how == "no crc":
        s.header_size, s.header_crc = max(14, s.header_size), False
    elif how == "extra":
        s.header_extra = rng.randbytes(rng.randint(1, 6))
        s.header_size = 14 + len(s.header_extra)
    else:
        s.protocol, s.profile = rng.choice((0x10, 0x20, 0x21, 0xFF)), rng.randrange(65536)
    return f"header: {how}"


def split_file(fit: FitFile, rng: random.Random, target=None) -> str | None:
    """One file of the chain cut in two at a message, as a device splitting a recording does."""
    s = rng.choice(fit.segments)
    if len(s.messages) < 2:
        return None
    at = rng.randint(1, len(s.messages) - 1)
    tail = Segment(s.messages[at:], s.header_size, s.protocol, s.profile, s.header_crc, s.header_extra)
    s.messages = s.messages[:at]
    fit.segments.insert(fit.segments.index(s) + 1, tail)
    return f"split a file at message {at}"


MUTATIONS = (  # (weight, mutation)
    (6, widen), (4, narrow), (5, flip_endianness), (3, renumber_field), (3, drop_field), (3, add_field),
    (4, change_base_type), (4, redefine_mid_file), (3, reuse_local_numbers), (2, compress_timestamps),
    (5, add_developer_field), (3, shuffle_messages), (3, set_value), (2, change_header), (1, split_file),
)
# Mutations after which the file says exactly what it said before.
PRESERVING = ("reencode", "reuse local", "header: 12", "header: 14", "header: no crc", "header: extra",
              "header: versions")


def mutate(fit: FitFile, rng: random.Random, pool: list[FitFile] = (), steps: int | None = None) -> list[str]:
    """Change `fit` in place by one to three structural mutations (and sometimes a
    chain with another file of `pool`, itself mutated or not). Returns what was done."""
    done = []
    if pool and rng.random() < 0.2:
        other = copy.deepcopy(rng.choice(pool))
        if rng.random() < 0.5:
            done += [f"chained file: {text}" for text in mutate(other, rng, steps=1)]
        else:
            done.append("chained file")
        if rng.random() < 0.8:
            fit.segments += other.segments
        else:
            fit.segments[:0] = other.segments
    weights, operations = zip(*MUTATIONS)
    for _ in range(steps or rng.choice((1, 1, 1, 2, 2, 3))):
        for _ in range(10):
            text = rng.choices(operations, weights)[0](fit, rng)
            if text:
                done.append(text)
                break
    return done


def preserving(steps: list[str]) -> bool:
    """Whether every step keeps what the file says (the same decode is expected)."""
    return all(any(step.startswith(p) or f", {p}" in step for p in PRESERVING) for step in steps) and all(
        not step.startswith("chained") for step in steps)
