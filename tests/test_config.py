"""Configuration: defaults, every problem reported at once, the shipped example."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoetrack.config import SCHEMA, parse_config
from shoetrack.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def test_the_example_config_parses_and_validates(shoetrack, isolated_home):
    (isolated_home / "shoetrack-inbox").mkdir()
    shoetrack.config = EXAMPLE
    result = shoetrack("config", "check")
    assert result.stdout.strip() == f"config OK: {EXAMPLE}"


def test_the_example_documents_every_option():
    text = EXAMPLE.read_text()
    for key in SCHEMA:
        section, _, name = key.rpartition(".")
        if section:
            assert f"[{section}]" in text, key
        assert f"{name} =" in text, key


def test_a_missing_config_file_means_defaults(shoetrack):
    result = shoetrack("config", "check")
    assert "not present: defaults" in result.stdout
    config = parse_config("")
    assert config.units == "km"
    assert config.shoe_limit_km == 700
    assert config.inbox == Path.home() / "shoetrack-inbox"


def test_every_problem_is_reported_at_once(shoetrack, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        'units = "furlongs"\n'
        "[shoes]\nlimit_km = 0\n"
        "[inbox]\npath = \"/nowhere/inbox\"\nafter = 1\n"
        "[databse]\npath = \"x.db\"\n"
    )
    shoetrack.config = config
    result = shoetrack("config", "check", expect=78)
    lines = result.stderr.splitlines()
    assert lines[0] == f"config {config}: 5 problems"
    assert set(lines[1:]) == {
        '  units: must be one of "km", "mi"',
        "  shoes.limit_km: must be a number > 0",
        '  inbox.after: unknown key (see config.example.toml)',
        '  databse: unknown key (did you mean "database"?)',
        "  inbox.path: folder does not exist: /nowhere/inbox (create it or fix the path)",
    }


def test_folder_problems_are_reported_by_check(shoetrack, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[inbox]\npath = "/nowhere/inbox"\n')
    shoetrack.config = config
    result = shoetrack("config", "check", expect=78)
    assert "inbox.path: folder does not exist: /nowhere/inbox" in result.stderr


def test_not_toml_is_one_clear_problem(shoetrack, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("units = km\n")
    shoetrack.config = config
    result = shoetrack("config", "check", expect=78)
    assert "not valid TOML" in result.stderr


@pytest.mark.parametrize("command", [["runs"], ["import", "."]])
def test_other_commands_refuse_a_broken_config_with_exit_78(shoetrack, tmp_path, command):
    config = tmp_path / "config.toml"
    config.write_text("[shoes]\nlimit_km = -3\n")
    shoetrack.config = config
    result = shoetrack(*command, expect=78)
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: config {config} has 1 problem: shoes.limit_km: must be a number > 0")
    assert not shoetrack.db.exists()


def test_a_named_config_file_must_exist(shoetrack, tmp_path):
    shoetrack.config = tmp_path / "missing.toml"
    result = shoetrack("runs", expect=78)
    assert "missing.toml has 1 problem: file does not exist" in result.stderr


def test_relative_paths_are_taken_from_the_config_folder(tmp_path):
    config = parse_config('[database]\npath = "data/st.db"\n', base_dir=tmp_path)
    assert config.path("database.path") == tmp_path / "data" / "st.db"


def test_config_error_lists_problems():
    with pytest.raises(ConfigError) as caught:
        parse_config("units = 3\n[shoes]\nlimit_km = true\n")
    assert caught.value.problems == [
        'units: must be one of "km", "mi"',
        "shoes.limit_km: must be a number > 0",
    ]
    assert caught.value.exit_code == 78
