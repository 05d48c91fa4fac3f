"""The systemd user unit we ship, checked by systemd's own tools."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from shoetrack.adapters.systemd import DEFAULT_PATHS, render_unit
from shoetrack.cli import cli

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "shoetrack.service"
needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")


def analyze(tmp_path: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    runtime = tmp_path / "runtime"
    runtime.mkdir(exist_ok=True)
    return subprocess.run(["systemd-analyze", "--user", *args], capture_output=True, text=True, timeout=60,
                          env={"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def home(tmp_path) -> Path:
    """A home where %h/.local/bin/shoetrack exists, as after `pip install --user`."""
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "bin" / "shoetrack").symlink_to(Path(sys.executable).parent / "shoetrack")
    return home


def test_the_shipped_unit_is_the_template_with_default_paths():
    assert UNIT.read_text() == render_unit(**DEFAULT_PATHS)


def test_the_unit_starts_the_console_script():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    [exec_start] = re.findall(r"^ExecStart=(.*)$", UNIT.read_text(), re.M)
    command = exec_start.split()
    assert Path(command[0]).name in scripts and command[1:] == ["daemon"]


@needs_systemd
def test_systemd_analyze_verify_says_nothing(tmp_path, home):
    result = analyze(tmp_path, home, "verify", "--man=no", str(UNIT))
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result.stderr


@needs_systemd
def test_hardening_exposure_is_2_or_lower(tmp_path, home):
    result = analyze(tmp_path, home, "security", "--offline=true", str(UNIT))
    [score] = re.findall(r"Overall exposure level for shoetrack.service: ([0-9.]+)", result.stdout)
    assert float(score) <= 2.0, result.stdout
    assert "RestrictAddressFamilies=AF_UNIX" in UNIT.read_text()  # D-Bus needs unix sockets


@needs_systemd
def test_install_service_writes_a_unit_for_this_installation(tmp_path, isolated_home):
    result = CliRunner().invoke(cli, ["install-service"])
    assert result.exit_code == 0, result.output
    unit = isolated_home / ".config" / "systemd" / "user" / "shoetrack.service"
    assert f"wrote {unit}" in result.stdout
    assert "systemctl --user enable --now shoetrack" in result.stdout
    text = unit.read_text()
    assert f"ExecStart={sys.executable} -m shoetrack daemon" in text
    data, inbox = isolated_home / ".local" / "share" / "shoetrack", isolated_home / "shoetrack-inbox"
    assert f"ReadWritePaths={data} {inbox}" in text
    assert data.is_dir() and inbox.is_dir()
    verify = analyze(tmp_path, isolated_home, "verify", "--man=no", str(unit))
    assert verify.stdout == "" and verify.stderr == "", verify.stderr
