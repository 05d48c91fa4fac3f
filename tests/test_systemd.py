"""The systemd user unit we ship, checked by systemd's own tools."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from shoetrack.adapters.systemd import DEFAULT_PATHS, program_paths, render_unit, unit_path
from shoetrack.cli import cli
from shoetrack.config import DEFAULT_DEVICE_ROOTS, expand_path

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "shoetrack.service"
needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")


def setting(text: str, key: str) -> list[list[str]]:
    """The words of each `key=` line of a unit, unquoted as systemd reads them."""
    return [shlex.split(line) for line in re.findall(rf"^{key}=(.*)$", text, re.M)]


def score(result: subprocess.CompletedProcess) -> float:
    [found] = re.findall(r"Overall exposure level for shoetrack.service: ([0-9.]+)", result.stdout)
    return float(found)


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
    assert score(result) <= 2.0, result.stdout
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
    assert f"BindPaths={data} {inbox}" in text
    assert data.is_dir() and inbox.is_dir()
    verify = analyze(tmp_path, isolated_home, "verify", "--man=no", str(unit))
    assert verify.stdout == "" and verify.stderr == "", verify.stderr


def test_the_shipped_unit_empties_the_homes_and_binds_back_what_it_uses():
    text = UNIT.read_text()
    assert "ProtectHome=tmpfs" in text and "ProtectSystem=strict" in text and "ReadWritePaths" not in text
    assert setting(text, "BindPaths") == [["%h/.local/share/shoetrack", "%h/shoetrack-inbox"]]
    assert setting(text, "BindReadOnlyPaths") == [
        ["-%t", "-%E/shoetrack", "-/media/%u", "-/run/media/%u"],
        ["-%h/.local/bin", "-%h/.local/lib", "-%h/.local/share/pipx", "-%h/.local/pipx"]]


def install(home: Path, config: str) -> Path:
    """The unit `install-service` writes with this config.toml in the test home."""
    (home / ".config" / "shoetrack").mkdir(parents=True, exist_ok=True)
    (home / ".config" / "shoetrack" / "config.toml").write_text(config)
    result = CliRunner().invoke(cli, ["install-service"])
    assert result.exit_code == 0, result.output
    return home / ".config" / "systemd" / "user" / "shoetrack.service"


@needs_systemd
def test_install_service_binds_exactly_the_places_the_config_names(tmp_path, isolated_home):
    synced, later = tmp_path / "Sync" / "watch", tmp_path / "card"  # one there, one not yet
    synced.mkdir(parents=True)
    unit = install(isolated_home, f'[[watch]]\npath = "{synced}"\n[[watch]]\npath = "{later}"\n')
    text = unit.read_text()
    data, inbox = isolated_home / ".local" / "share" / "shoetrack", isolated_home / "shoetrack-inbox"
    assert setting(text, "BindPaths") == [[str(data), str(inbox)]]
    config_dir = isolated_home / ".config" / "shoetrack"
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}")
    roots = [root for root in (expand_path(raw, tmp_path) for raw in DEFAULT_DEVICE_ROOTS)
             if not root.is_relative_to(runtime)]  # gvfs's root comes with %t
    assert len(roots) == 2
    places = setting(text, "BindReadOnlyPaths")[0]  # the next line, if any, is the program's
    assert places == ["-%t", *(f"-{p}" for p in [config_dir, synced, later, *roots])]
    verify = analyze(tmp_path, isolated_home, "verify", "--man=no", str(unit))
    assert verify.stdout == "" and verify.stderr == "", verify.stderr
    security = analyze(tmp_path, isolated_home, "security", "--offline=true", str(unit))
    assert score(security) <= 2.0, security.stdout

    said = CliRunner().invoke(cli, ["install-service"]).output  # the sandbox cannot show a folder made later
    assert f"note: {later} is not there now: once it is, run systemctl --user restart shoetrack" in said
    assert str(synced) not in said

    unit = install(isolated_home, f'[watch]\ndevices = false\n[[watch.places]]\npath = "{synced}"\n')
    assert setting(unit.read_text(), "BindReadOnlyPaths")[0] == ["-%t", f"-{config_dir}", f"-{synced}"]


def test_install_service_binds_a_report_folder_outside_the_data_folder(tmp_path, isolated_home):
    site = tmp_path / "site"
    site.mkdir()
    unit = install(isolated_home, f'[report]\npath = "{site / "shoes.html"}"\n')
    assert setting(unit.read_text(), "BindPaths")[0][2:] == [f"-{site}"]


@needs_systemd
def test_paths_with_spaces_colons_and_percents_are_written_as_systemd_reads_them(tmp_path, isolated_home):
    odd, inbox = tmp_path / "My Runs: 100% done", tmp_path / "drop box"
    odd.mkdir()
    inbox.mkdir()
    unit = install(isolated_home, f'[inbox]\npath = "{inbox}"\n[[watch]]\npath = "{odd}"\n')
    text = unit.read_text()
    assert setting(text, "BindPaths")[0][1] == str(inbox)
    assert f"-{odd}".replace("%", "%%") in setting(text, "BindReadOnlyPaths")[0]  # %% is systemd's %
    verify = analyze(tmp_path, isolated_home, "verify", "--man=no", str(unit))
    assert verify.stdout == "" and verify.stderr == "", verify.stderr
    # The check can fail: the same path unquoted is two words, the second not absolute.
    unit.write_text(text.replace(unit_path(inbox), str(inbox)))
    verify = analyze(tmp_path, isolated_home, "verify", "--man=no", str(unit))
    assert "is not absolute" in verify.stdout + verify.stderr


def test_the_program_is_bound_where_it_lies_in_a_home():
    assert program_paths(["/home/ann/.venv/bin", "/home/ann/.venv", "/usr", "/root/.pyenv/versions/3.11.7",
                          "/opt/shoetrack"]) == [Path("/home/ann/.venv"), Path("/root/.pyenv/versions/3.11.7")]
