"""Small helpers the tests share."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def nobody_can_run_python() -> bool:
    """Whether a test can run shoetrack as the unprivileged user nobody (root reads everything)."""
    setpriv = shutil.which("setpriv")
    if not setpriv or os.geteuid() != 0:
        return False
    probe = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-c", "import shoetrack"], capture_output=True)
    return probe.returncode == 0
