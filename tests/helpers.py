"""Small helpers the tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "fit-corpus"
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "reference.json").is_file(),
    reason="../shared/fit-corpus is not present: real-file checks skipped",
)


def write(path: Path, data: bytes) -> Path:
    """Write bytes to a file, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
