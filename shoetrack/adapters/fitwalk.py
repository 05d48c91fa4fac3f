"""A fast walk through a FIT file that reads only the messages shoetrack keeps.

fitparse decodes every message, and nearly all of a FIT file is per-second
`record` messages a mileage tracker never needs. This walk reads each
definition, steps over every data message by its defined size (whole runs of
same-type messages at a time), checks the file's CRC, and returns the raw
field values of the few wanted messages.

It is only ever right or silent. Damage that fitparse, reading the same
structure, would also reject (truncation, a bad CRC, an undefined layout, a
developer field never described) raises Broken with the reason. Anything else it
cannot read with certainty (a wanted string field, a developer field of an odd
size, a compressed timestamp counted from a time it cannot read) raises
Uncertain, and the caller hands the file to fitparse, the reference decoder,
which then produces fitparse's own result or error.

Compressed timestamp headers are counted as fitparse counts them: from the last
timestamp field of any message (the last of a run stepped over is read when a
compressed timestamp needs it), restarting from 0 in each file of a chain.

Developer fields are stepped over, never read: a wanted message's own fields
are what shoetrack keeps, whatever a developer field is named. A field whose
size is no whole number of its type (a uint32 of 1 byte) is stepped over as
unknown bytes, as the FIT SDK does; a wanted one is then simply absent (fit.py
has fitparse read such a field the same way).
"""

from __future__ import annotations

import struct

# Global message number -> field numbers kept (as fitparse names them in comments).
WANTED = {
    0: {0, 1, 2, 3, 4},  # file_id: type, manufacturer, product, serial_number, time_created
    18: {253, 2, 5, 6, 7, 8, 9, 16, 22},  # session: timestamp, start_time, sport, sub_sport,
    # total_elapsed_time, total_timer_time, total_distance, avg_heart_rate, total_ascent
    23: {0, 1, 3, 25},  # device_info: device_index, device_type, serial_number, source_type
    34: {253, 5},  # activity: timestamp, local_timestamp
    # timestamp_correlation: timestamp, fractional_timestamp, system_timestamp,
    # fractional_system_timestamp, local_timestamp (dates a device's power-on times)
    162: {253, 0, 1, 2, 3},
}
# Read only from an activity file without a session message, to summarise it
# (a second walk, `walk(data, RECORDS)`): record timestamp and distance, sport.
RECORDS = {
    20: {253, 5},  # record: timestamp, distance
    12: {0, 1},  # sport: sport, sub_sport
}
# Fields whose components fitparse expands into a kept field (record
# compressed_speed_distance -> distance): a layout with one is left to fitparse.
# tests/test_fit_beyond.py checks this against fitparse's profile.
COMPONENT_SOURCES = {20: {8}}
# Messages whose compressed timestamp is still left to fitparse: a record's (read only to
# summarise an activity without a session). The walk works it out as for any other
# message (tests/test_fast_path.py checks it against fitparse with this set emptied),
# but tests/test_fit_beyond.py still holds such files to fitparse.
STAMPS_LEFT_TO_FITPARSE = frozenset({20})
DEVELOPER_DATA_ID, FIELD_DESCRIPTION = 207, 206
# developer_data_id: developer_data_index; field_description: developer_data_index,
# field_definition_number, fit_base_type_id (to know each developer field's size)
REGISTRY = {DEVELOPER_DATA_ID: {3}, FIELD_DESCRIPTION: {0, 1, 2}}

# Base type number -> (struct code, size, invalid value) of the integer types.
NUMERIC = {
    0x00: ("B", 1, 0xFF), 0x01: ("b", 1, 0x7F), 0x02: ("B", 1, 0xFF), 0x83: ("h", 2, 0x7FFF),
    0x84: ("H", 2, 0xFFFF), 0x85: ("i", 4, 0x7FFFFFFF), 0x86: ("I", 4, 0xFFFFFFFF),
    0x0A: ("B", 1, 0), 0x8B: ("H", 2, 0), 0x8C: ("I", 4, 0),
    0x8E: ("q", 8, 0x7FFFFFFFFFFFFFFF), 0x8F: ("Q", 8, 0xFFFFFFFFFFFFFFFF), 0x90: ("Q", 8, 0),
}
FLOATS = {0x88: ("f", 4), 0x89: ("d", 8)}
STRING, BYTE = 0x07, 0x0D
BASE_SIZE = {**{k: v[1] for k, v in NUMERIC.items()}, **{k: v[1] for k, v in FLOATS.items()}, STRING: 1, BYTE: 1}
# How a kept field is read: a byte field (or one of a type fitparse does not know) as its
# first byte, 0xFF meaning invalid.
CODE = {**{k: v[0] for k, v in NUMERIC.items()}, **{k: v[0] for k, v in FLOATS.items()}, BYTE: "B"}
INVALID = {**{k: v[2] for k, v in NUMERIC.items()}, BYTE: 0xFF}
TIMESTAMP = 253
HEADER = struct.Struct("<BBHI4s")
RUN_WINDOW = 512  # messages looked at per strided step


class Uncertain(Exception):
    """The walk cannot vouch for this file; decode it with the reference decoder."""


class Broken(Exception):
    """The file is damaged in a way fitparse, reading the same structure, also
    rejects: no need to wait for it. The message is a one-line reason."""


TRUNCATED = "truncated: the file ends before its data does"
UNDEFINED = "corrupt: a message uses a layout that was never defined"
UNDESCRIBED = "corrupt: a developer field that was never described"


# -- CRC-16 as the FIT SDK defines it ------------------------------------------------
# It is CRC-16/ARC (poly 0x8005 reflected, init 0, no final xor): computed in C by
# anycrc (~10 GB/s) when it is installed, else by the tables below (~17 MB/s: on a big
# file, many times the cost of the walk itself).

def _byte_table() -> list[int]:
    nibbles = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
               0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)
    table = []
    for byte in range(256):
        crc = 0
        for nibble in (byte & 0xF, byte >> 4):
            crc = ((crc >> 4) & 0x0FFF) ^ nibbles[crc & 0xF] ^ nibbles[nibble]
        table.append(crc)
    return table


_BYTE = _byte_table()
_WORD: list[int] = []


def python_crc16(data, crc: int = 0) -> int:
    """The FIT CRC of `data` (bytes or memoryview), continuing from `crc`, in pure
    Python: two bytes per table lookup."""
    if not _WORD:
        # A 16-bit register takes in two bytes completely, so one lookup per word suffices.
        # Built whole, then published at once: no other thread sees it half built.
        t = _BYTE
        _WORD[:] = [t[(t[w & 0xFF] ^ (w >> 8)) & 0xFF] ^ (t[w & 0xFF] >> 8) for w in range(65536)]
    words = len(data) // 2
    table = _WORD
    for word in struct.unpack_from(f"<{words}H", data):
        crc = table[crc ^ word]
    if len(data) & 1:
        crc = (crc >> 8) ^ _BYTE[(crc ^ data[-1]) & 0xFF]
    return crc


try:
    from anycrc import Model as _CrcModel
except ImportError:  # not installed (or no build for this platform): the table does it
    CRC_IMPLEMENTATION = "python"
    crc16 = python_crc16
else:
    CRC_IMPLEMENTATION = "anycrc"
    _ARC = _CrcModel("CRC16-ARC").calc

    def crc16(data, crc: int = 0) -> int:
        """The FIT CRC of `data` (bytes or memoryview), continuing from `crc`."""
        return _ARC(data, crc)


# -- the walk --------------------------------------------------------------------------

class _Definition:
    __slots__ = ("mesg", "size", "fields", "unpack", "keep", "timed", "stamp")

    def __init__(self, mesg: int, size: int, fields: list[tuple[int, int, int, int]], endian: str, keep: bool,
                 timed: bool, stamp):
        self.mesg = mesg
        self.size = size
        self.fields = fields  # (field number, offset, base type, size) of the fields to read
        self.keep = keep
        self.timed = timed  # its timestamp (253) is read: a compressed timestamp header gives it
        self.stamp = stamp  # how to read its own timestamp field, if it has one (see _stamp)
        layout, position = endian, 0
        for _, offset, base, field_size in fields:
            if offset > position:
                layout += f"{offset - position}x"
            code = CODE[base]
            layout += code
            position = offset + struct.calcsize("<" + code)
        self.unpack = struct.Struct(layout).unpack_from


def _values(definition: _Definition, data: bytes, start: int) -> dict[int, object]:
    raw = definition.unpack(data, start)
    values = {}
    for (number, _, base, _), value in zip(definition.fields, raw):
        if base in FLOATS:
            values[number] = None if value != value else value  # NaN means invalid
        else:
            values[number] = None if value == INVALID[base] else value
    return values


# A timestamp field the walk cannot read as fitparse keeps it for compressed timestamps
# (a float, bytes, an array, one of two, a developer field numbered 253).
ODD = "odd"


def _stamp(data: bytes, definition: _Definition, body: int) -> int | None:
    """The timestamp (field 253) of the message whose fields start at `body`, as
    fitparse takes it up for the compressed timestamps after it; None when that is
    not known here (an odd field, or an invalid value: fitparse then keeps an earlier
    time, which the walk no longer holds)."""
    if definition.stamp is ODD:
        return None
    layout, offset, invalid = definition.stamp
    (value,) = struct.unpack_from(layout, data, body + offset)
    return None if value == invalid else value


_SEEN_DEFINITIONS: dict = {}  # a definition's bytes -> (_Definition, its length); devices repeat a few


def _known_definition(data: bytes, pos: int, header: int, developers: dict,
                      kept: dict) -> tuple[_Definition, int]:
    """_definition, remembered by its bytes: a history from one watch defines the same
    few messages in every file. A definition with developer fields depends on the file's
    field descriptions, and one read for records too (a second pass) is read for it:
    they are read every time. One that fails is never remembered."""
    if header & 0x20 or kept is not WANTED or pos + 6 > len(data):
        return _definition(data, pos, header, developers, kept)
    key = data[pos + 2:pos + 6 + 3 * data[pos + 5]]
    found = _SEEN_DEFINITIONS.get(key)
    if found is None:
        definition, after = _definition(data, pos, header, developers, kept)
        if len(_SEEN_DEFINITIONS) > 4096:
            _SEEN_DEFINITIONS.clear()
        found = _SEEN_DEFINITIONS[key] = (definition, after - pos)
    return found[0], pos + found[1]


def _definition(data: bytes, pos: int, header: int, developers: dict, kept: dict) -> tuple[_Definition, int]:
    if pos + 6 > len(data):
        raise Broken(TRUNCATED)
    endian = ">" if data[pos + 2] else "<"
    mesg, count = struct.unpack_from(endian + "HB", data, pos + 3)
    pos += 6
    if pos + 3 * count > len(data):
        raise Broken(TRUNCATED)
    wanted = kept.get(mesg) or REGISTRY.get(mesg) or ()
    expanding = COMPONENT_SOURCES.get(mesg, ()) if mesg in kept else ()
    fields, size, stamp = [], 0, None
    for i in range(count):
        number, field_size, base = data[pos + 3 * i], data[pos + 3 * i + 1], data[pos + 3 * i + 2]
        if not field_size or field_size % BASE_SIZE.get(base, 1):
            # No whole number of its type (nothing at all, or a uint32 of 1 byte): unknown
            # bytes, stepped over, as in the FIT SDK; a kept one is absent.
            size += field_size
            continue
        if number == TIMESTAMP:
            plain = stamp is None and base in NUMERIC and field_size == NUMERIC[base][1]
            stamp = (endian + NUMERIC[base][0], size, NUMERIC[base][2]) if plain else ODD
        if number in expanding:
            raise Uncertain("a field whose components fitparse expands into a kept one")
        if number in wanted:
            if any(kept_field[0] == number for kept_field in fields):
                raise Uncertain("a field number appears twice in one definition")
            if base == STRING:
                raise Uncertain("wanted field of a string type")
            if base not in NUMERIC and base not in FLOATS:
                if mesg not in kept:
                    raise Uncertain("a developer registry field of bytes")
                # Bytes (or a type fitparse does not know, which it reads as bytes) where a
                # number is expected: the first byte, 0xFF meaning invalid, as fit.py has
                # fitparse read it.
                base = BYTE
            elif field_size != BASE_SIZE[base] and mesg not in kept:
                raise Uncertain("a developer registry field holds an array")
            # A wider field (a sport of 8 bytes) is an array where one value is expected:
            # only its first element is read, as in the FIT SDK (fit.py has fitparse agree).
            fields.append((number, size, base, field_size))
        size += field_size
    pos += 3 * count
    if header & 0x20:  # developer fields follow
        if pos >= len(data):
            raise Broken(TRUNCATED)
        extra = data[pos]
        pos += 1
        if pos + 3 * extra > len(data):
            raise Broken(TRUNCATED)
        for i in range(extra):
            number, field_size, index = data[pos + 3 * i], data[pos + 3 * i + 1], data[pos + 3 * i + 2]
            described = developers.get(index)
            if described is None or number not in described:
                raise Broken(UNDESCRIBED)  # fitparse stops here too: "No such field ..."
            base_size = described[number]
            if field_size < base_size or field_size % base_size:
                # fitparse would read fewer bytes than the field holds, and lose its place
                raise Uncertain("a developer field of a size no whole number of its type")
            if number == TIMESTAMP:
                stamp = ODD  # fitparse takes a developer field numbered 253 as a timestamp too
            size += field_size  # never read, whatever its name: a message's own fields win
        pos += 3 * extra
    keep = mesg in kept or mesg in REGISTRY
    timed = mesg in kept and TIMESTAMP in kept[mesg]
    return _Definition(mesg, size, fields, endian, keep, timed, stamp), pos


def _register(mesg: int, values: dict, developers: dict) -> None:
    """Track developer data the way fitparse does, to know every developer field's
    size; where fitparse fails on a description, fail with it."""
    if mesg == DEVELOPER_DATA_ID:
        developers[values.get(3)] = {}
        return
    index, number, base = values.get(0), values.get(1), values.get(2)
    if index not in developers:
        raise Broken(UNDESCRIBED)  # fitparse: "No such dev_data_index"
    try:
        described = developers[int(index)]  # as fitparse looks it up
    except (TypeError, ValueError, OverflowError, KeyError):
        raise Broken(UNDESCRIBED) from None
    if base not in BASE_SIZE:
        raise Broken("corrupt: a developer field is described with an unknown type")
    described[number] = BASE_SIZE[base]


def walk(data: bytes, extra: dict[int, set[int]] | None = None) -> list[tuple[int, int, dict[int, object]]]:
    """The wanted messages of a FIT file, in order, as (segment, global number,
    {field: raw value}); the segment counts the FIT files of a chain from 0.
    `extra` names more messages and fields to read (RECORDS).

    Raises Uncertain whenever the reference decoder must decide.
    """
    kept = {**WANTED, **extra} if extra else WANTED
    found: list[tuple[int, int, dict]] = []
    developers: dict = {}
    length = len(data)
    pos = 0
    segment = -1
    while True:  # one pass per FIT file in a chain
        start = pos
        segment += 1
        if length - pos < 12:
            raise Broken(TRUNCATED)
        header_size, _, _, data_size, signature = HEADER.unpack_from(data, pos)
        if signature != b".FIT":
            raise Broken("corrupt header: no FIT signature where a file should start")
        pos += 12
        if header_size > 12:
            if header_size < 14:
                raise Broken("corrupt header: irregular header size")
            if pos + header_size - 12 > length:
                raise Broken(TRUNCATED)
            stored = data[pos] | data[pos + 1] << 8
            if stored and stored != crc16(data[start:pos]):
                raise Broken("corrupt header: checksum mismatch")
            pos += header_size - 12
        end = pos + data_size
        definitions: dict[int, _Definition] = {}
        # fitparse's time for compressed timestamps, from 0 in each file of a chain: the
        # last timestamp read (`stamp`, None when the walk cannot know it), or the message
        # that holds it, read only when a compressed timestamp needs it (`stamp_in`, its
        # definition, and `stamp_body`, where its fields start).
        stamp, stamp_in, stamp_body = 0, None, 0
        while pos < end:
            if pos >= length:
                raise Broken(TRUNCATED)
            header = data[pos]
            compressed = header & 0x80
            if compressed:  # a compressed timestamp header: a time offset from the last timestamp
                definition = definitions.get((header >> 5) & 0x3)
                if definition is None:
                    raise Broken(UNDEFINED)
                if pos + 1 + definition.size > length:
                    raise Broken(TRUNCATED)
                if definition.stamp is not None:  # its own timestamp field is read first
                    stamp_in, stamp_body = definition, pos + 1
                if stamp_in is not None:
                    stamp = _stamp(data, stamp_in, stamp_body)
                    stamp_in = None
                if stamp is not None:  # as fitparse's _apply_compressed_accumulation(offset, stamp, 5)
                    offset = header & 0x1F
                    stamp = offset + (stamp & ~0x1F) + (0x20 if offset < stamp & 0x1F else 0)
                if not definition.keep:
                    pos += 1 + definition.size
                    continue
            elif header & 0x40:
                definition, pos = _known_definition(data, pos, header, developers, kept)
                definitions[header & 0xF] = definition
                continue
            else:
                definition = definitions.get(header & 0xF)
                if definition is None:
                    raise Broken(UNDEFINED)
                if not definition.keep:
                    # Step over the whole run of messages that share this header.
                    step = 1 + definition.size
                    marker = bytes((header,))
                    while True:
                        window = data[pos:min(end, pos + step * RUN_WINDOW):step]
                        same = len(window) - len(window.lstrip(marker))
                        pos += step * same
                        if same < RUN_WINDOW:
                            break
                    if definition.stamp is not None:  # the last of the run holds the time
                        stamp_in, stamp_body = definition, pos - definition.size
                    continue
                if pos + 1 + definition.size > length:
                    raise Broken(TRUNCATED)
                if definition.stamp is not None:
                    stamp_in, stamp_body = definition, pos + 1
            # a message shoetrack reads
            values = _values(definition, data, pos + 1)
            if compressed and definition.timed:
                if definition.mesg in STAMPS_LEFT_TO_FITPARSE:
                    raise Uncertain("compressed timestamp on a record")
                if stamp is None:
                    raise Uncertain("compressed timestamp after a time the walk cannot read")
                values[TIMESTAMP] = stamp  # fitparse adds it after the message's own fields
            if definition.mesg in REGISTRY:
                _register(definition.mesg, values, developers)
            else:
                found.append((segment, definition.mesg, values))
            pos += 1 + definition.size
        if pos + 2 > length:
            raise Broken(TRUNCATED)
        stored = data[pos] | data[pos + 1] << 8
        if stored != crc16(memoryview(data)[start:pos]):
            raise Broken("corrupt: checksum mismatch (damaged or altered file)")
        pos += 2
        if pos >= length:
            return found
