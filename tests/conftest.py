"""Shared fixtures: an isolated home for every test, and the CLI as users run it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from shoetrack.cli import cli

@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No test reads or writes the real user's config, data or inbox.

    Times are read in UTC so that calendar days are the same on every machine.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("SHOETRACK_CONFIG", raising=False)
    monkeypatch.delenv("SHOETRACK_DB", raising=False)
    # Never notify the desktop of whoever runs the tests.
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield home
    time.tzset()


class Shell:
    """Runs `shoetrack` commands in-process against one test database."""

    def __init__(self, db: Path, config: Path | None = None):
        self.db = db
        self.config = config

    def __call__(self, *args: str, expect: int | None = 0):
        options = ["--db", str(self.db)]
        if self.config:
            options += ["--config", str(self.config)]
        result = CliRunner().invoke(cli, options + [str(a) for a in args], catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.output)
        return result

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def shoetrack(tmp_path) -> Shell:
    return Shell(tmp_path / "shoetrack.db")


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder
