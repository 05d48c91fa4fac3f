"""The FIT CRC: computed in C (anycrc), with the pure-Python tables as the fallback.

Both must give the same CRC everywhere the walk uses one: over a whole file, over
its 12-byte header, continued from an earlier CRC (a header's CRC carries on into
its file's), over nothing at all, over bytes or a memoryview.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from functools import reduce
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoetrack.adapters import fit, fitwalk
from tests import fitgen
from tests.helpers import CORPUS, needs_corpus

NATIVE, PYTHON = fitwalk.crc16, fitwalk.python_crc16
ROOT = Path(__file__).resolve().parents[1]


def by_the_book(data: bytes, crc: int = 0) -> int:
    """The FIT SDK's own definition: two nibble lookups per byte."""
    return reduce(fitgen._crc_nibble_byte, data, crc)


def test_the_walk_uses_the_native_crc_here():
    """anycrc is a dependency: where it is installed, the walk uses it."""
    assert fitwalk.CRC_IMPLEMENTATION == "anycrc"
    assert fitwalk.crc16 is not fitwalk.python_crc16


def test_the_check_value_of_crc_16_arc():
    assert NATIVE(b"123456789") == PYTHON(b"123456789") == by_the_book(b"123456789") == 0xBB3D


@pytest.mark.parametrize("crc", [0, 1, 0xBB3D, 0xFFFF])
def test_empty_input_leaves_the_crc_as_it_was(crc):
    assert NATIVE(b"", crc) == PYTHON(b"", crc) == crc
    assert NATIVE(memoryview(b"abc")[1:1], crc) == PYTHON(memoryview(b"abc")[1:1], crc) == crc


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=5000), st.integers(0, 0xFFFF))
def test_both_agree_on_random_bytes_from_any_initial_value(data, crc):
    expected = PYTHON(data, crc)
    assert NATIVE(data, crc) == expected
    assert NATIVE(memoryview(data), crc) == expected
    if len(data) < 300:
        assert expected == by_the_book(data, crc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.data())
def test_a_crc_continued_over_pieces_is_the_crc_of_the_whole(data, draw):
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=4)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    for crc16 in (NATIVE, PYTHON):
        assert reduce(lambda crc, piece: crc16(piece, crc), pieces, 0) == PYTHON(data)


def test_big_inputs_of_every_length_parity():
    data = os.urandom(1 << 20)
    for size in (len(data), len(data) - 1, 65537):
        assert NATIVE(data[:size]) == PYTHON(data[:size])


def test_generated_files_check_out_on_both():
    data = fitgen.run("2026-03-02T06:30:00Z", km=10, minutes=50, records_every_s=1)
    for crc16 in (NATIVE, PYTHON):
        assert crc16(data[:12]) == int.from_bytes(data[12:14], "little")  # the header's CRC
        assert crc16(data[14:-2], crc16(data[:14])) == int.from_bytes(data[-2:], "little")
        assert crc16(data) == 0  # over a whole file, its own CRC included


@needs_corpus
def test_both_agree_on_every_corpus_file():
    entries = json.loads((CORPUS / "reference.json").read_text())
    assert entries
    for entry in entries:
        data = (CORPUS / entry["path"]).read_bytes()
        view = memoryview(data)
        for piece in (data, data[:12], data[:-2], view[14:-2]):
            assert NATIVE(piece) == PYTHON(piece), entry["path"]
        header = NATIVE(data[:14])
        assert NATIVE(view[14:], header) == PYTHON(view[14:], PYTHON(data[:14])) == NATIVE(data), entry["path"]


FALLBACK = textwrap.dedent("""
    import json, sys
    sys.modules["anycrc"] = None  # as if it were not installed: importing it raises ImportError
    from shoetrack.adapters import fit, fitwalk
    from tests import fitgen
    good = fitgen.run("2026-03-02T06:30:00Z", km=7, minutes=35, records_every_s=5)
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    walked = len(fitwalk.walk(good))  # the walk itself checks the CRC, with the fallback
    try:
        fitwalk.walk(bytes(bad))
        walk_refused = None
    except fitwalk.Broken as exc:
        walk_refused = str(exc)
    try:
        fit.decode(bytes(bad))
        refused = None
    except fit.FitDecodeError as exc:
        refused = str(exc)
    print(json.dumps({
        "implementation": fitwalk.CRC_IMPLEMENTATION,
        "is_python": fitwalk.crc16 is fitwalk.python_crc16,
        "check": fitwalk.crc16(b"123456789"),
        "distance": fit.decode(good).sessions[0].distance_m,
        "refused": refused,
        "walked": walked > 0,
        "walk_refused": walk_refused,
    }))
""")


def test_without_the_native_module_the_pure_python_crc_is_used():
    result = subprocess.run([sys.executable, "-c", FALLBACK], capture_output=True, text=True, timeout=120,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"implementation": "python", "is_python": True, "check": 0xBB3D, "distance": 7000.0,
                    "refused": "corrupt: checksum mismatch (damaged or altered file)", "walked": True,
                    "walk_refused": "corrupt: checksum mismatch (damaged or altered file)"}
    # the same decode, with the native CRC, in this process
    assert fit.decode(fitgen.run("2026-03-02T06:30:00Z", km=7, minutes=35, records_every_s=5)
                      ).sessions[0].distance_m == 7000.0
