"""The command line as users meet it: help, entry points, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import pytest

from shoetrack.cli import cli
from shoetrack.cli.base import Group
from tests import fitgen
from tests.helpers import nobody_can_run_python, write


def _commands(group: click.Group, prefix=()):
    if isinstance(group, Group):
        group.load_all()  # commands load when run: register every one
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


def test_every_command_has_help_text():
    for path, command in _commands(cli):
        assert command.help and command.help.strip(), " ".join(path)


def test_python_dash_m_runs_the_cli(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "shoetrack", "--db", str(tmp_path / "st.db"), "runs", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


def test_a_path_that_does_not_exist_is_a_usage_error(shoetrack, tmp_path):
    line = _one_error_line(shoetrack("import", tmp_path / "nope", expect=2))
    assert "nope" in line and "does not exist" in line


def test_import_needs_a_path(shoetrack):
    assert "Missing argument" in _one_error_line(shoetrack("import", expect=2))


def test_a_bad_date_is_a_usage_error(shoetrack):
    line = _one_error_line(shoetrack("runs", "--since", "last tuesday", expect=2))
    assert "YYYY-MM-DD" in line


@pytest.mark.parametrize("make_db,words", [
    (lambda tmp: tmp / "missing" / "st.db", "database folder does not exist"),
    (lambda tmp: write(tmp / "afile", b"x") / "st.db", "database folder is not a folder"),
    (lambda tmp: Path("/proc/shoetrack-test.db"), "cannot create database"),
    (lambda tmp: write(tmp / "junk.db", b"this is not sqlite" * 100), "file is not a database"),
])
def test_an_unusable_database_is_one_clear_line(shoetrack, inbox, tmp_path, make_db, words):
    run = write(inbox / "run.fit", fitgen.run("2026-03-02T06:30:00Z"))
    before = run.read_bytes()
    shoetrack.db = make_db(tmp_path)
    line = _one_error_line(shoetrack("import", run, expect=1))
    assert words in line and "--db" in line
    assert run.read_bytes() == before  # the user's file is untouched


def test_the_database_is_private_to_the_user(shoetrack):
    shoetrack("runs")
    assert os.stat(shoetrack.db).st_mode & 0o777 == 0o600


def test_the_default_database_follows_xdg(isolated_home, inbox):
    from click.testing import CliRunner

    write(inbox / "run.fit", fitgen.run("2026-03-02T06:30:00Z"))
    result = CliRunner().invoke(cli, ["import", str(inbox)])
    assert result.exit_code == 0, result.output
    assert (isolated_home / ".local" / "share" / "shoetrack" / "shoetrack.db").is_file()


def test_shoetrack_db_environment_variable(monkeypatch, tmp_path, inbox):
    from click.testing import CliRunner

    db = tmp_path / "env.db"
    monkeypatch.setenv("SHOETRACK_DB", str(db))
    write(inbox / "run.fit", fitgen.run("2026-03-02T06:30:00Z"))
    assert CliRunner().invoke(cli, ["import", str(inbox)]).exit_code == 0
    assert db.is_file()


@pytest.mark.skipif(not nobody_can_run_python(),
                    reason="needs root, setpriv and a Python the nobody user can run")
def test_an_unreadable_file_fails_with_a_reason():
    # Root reads every file, so the import runs as the unprivileged user nobody.
    folder = Path(tempfile.mkdtemp(prefix="shoetrack-perm-"))
    try:
        folder.chmod(0o777)
        secret = write(folder / "secret.fit", fitgen.run("2026-03-02T06:30:00Z"))
        secret.chmod(0o000)
        hidden = write(folder / "inbox" / "hidden.fit", fitgen.run("2026-03-03T06:30:00Z"))
        hidden.chmod(0o000)
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-m", "shoetrack", "--db", str(folder / "st.db"),
             "import", str(secret), str(hidden.parent), "--json"],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "HOME": str(folder), "XDG_CONFIG_HOME": str(folder)},
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["failed"] == [
            {"path": str(secret), "reason": "cannot read: Permission denied"},
            {"path": str(hidden), "reason": "cannot read: Permission denied"},
        ]
    finally:
        shutil.rmtree(folder)


def test_each_command_loads_its_own_module_only_when_run():
    """`cli.lazy` names the module that defines each command: all of them, rightly."""
    cli.load_all()
    assert {name: command.callback.__module__ for name, command in cli.commands.items()} == \
        {name: f"shoetrack.cli.{module}" for name, module in cli.lazy.items()}
    script = ("import sys\nfrom shoetrack.cli import cli\n"
              "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
              "print(sorted(m for m in sys.modules if m.startswith('shoetrack.cli.')))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "shoetrack.cli.health" not in loaded and "shoetrack.cli.report_cmd" not in loaded
