"""`shoetrack doctor`: a setup where all is well gives ok on every line and exit 0;
each thing broken in turn gives its own problem line and exit 1.

Real files, real SQLite, a real session bus with dunst (tests/desktop.py), the unit
written by `shoetrack install-service` and, when installed, real systemd-analyze."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from shoetrack.adapters.store import SCHEMA_VERSION
from shoetrack.cli import cli
from shoetrack.service.doctor import diagnose
from tests.desktop import Desktop, missing_tools
from tests.helpers import damage, history_of_runs

HAS_SYSTEMD_ANALYZE = shutil.which("systemd-analyze") is not None
needs_systemd = pytest.mark.skipif(not HAS_SYSTEMD_ANALYZE,
                                   reason="systemd-analyze is not installed: doctor leaves the unit "
                                          "verification out, so there is nothing to check")
ALL_CHECKS = ["config", "database", "database schema", "database integrity", "database wal", "inbox",
              "session bus", "notification server", "notification delivery", "service unit",
              *(["unit verification"] if HAS_SYSTEMD_ANALYZE else [])]


@pytest.fixture(scope="module")
def desktop(tmp_path_factory):
    """One private session bus with dunst for the module (each test points at it)."""
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())} (apt: dbus-daemon xvfb dunst)")
    session = Desktop(tmp_path_factory.mktemp("desktop")).start()
    yield session
    session.stop()


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@dataclass
class Setup:
    home: Path
    config: Path
    db: Path
    inbox: Path
    unit: Path


@pytest.fixture
def setup(isolated_home, desktop, monkeypatch, tmp_path) -> Setup:
    """All is well: a valid config, a database, the inbox, a bus with a notification
    server, and the unit installed by `shoetrack install-service` into the test HOME."""
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))  # never the real user's $XDG_RUNTIME_DIR/bus
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", desktop.address)
    config = isolated_home / ".config" / "shoetrack" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('units = "km"\n[notify]\nurgency = "low"\n')
    result = run("install-service")
    assert result.exit_code == 0, result.output
    result = run("log", "2026-01-02", "5")
    assert result.exit_code == 0, result.output
    return Setup(home=isolated_home, config=config,
                 db=isolated_home / ".local" / "share" / "shoetrack" / "shoetrack.db",
                 inbox=isolated_home / "shoetrack-inbox",
                 unit=isolated_home / ".config" / "systemd" / "user" / "shoetrack.service")


def doctor(*options: str) -> tuple[int, dict[str, dict]]:
    """The exit status and the findings of `doctor --json`, by check."""
    result = run(*options, "doctor", "--json")
    findings = json.loads(result.stdout)
    assert all(set(f) == {"check", "status", "detail", "fix"} for f in findings), findings
    by_check = {f["check"]: f for f in findings}
    assert len(by_check) == len(findings), findings
    return result.exit_code, by_check


def assert_only_problem(findings: dict[str, dict], *checks: str) -> None:
    """The named checks are problems with a fix; every other line is ok."""
    for name, finding in findings.items():
        if name in checks:
            assert finding["status"] == "problem" and finding["fix"], finding
        else:
            assert finding["status"] == "ok" and finding["fix"] is None, finding
    assert set(checks) <= set(findings), (checks, list(findings))


# -- all is well -----------------------------------------------------------------------


def test_all_well_every_line_is_ok_and_the_exit_status_is_0(setup):
    files = sorted(setup.db.parent.iterdir())
    started = time.monotonic()
    result = run("doctor")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert sorted(setup.db.parent.iterdir()) == files  # no -wal or -shm left behind
    lines = result.stdout.splitlines()
    assert [line.split(":")[0].split(None, 1) for line in lines] == [["ok", name] for name in ALL_CHECKS]
    assert "; fix:" not in result.stdout
    assert elapsed < 2, f"doctor took {elapsed:.2f} s"  # 0.1 s here: the bus probe and systemd-analyze are short child processes

    code, findings = doctor()
    assert code == 0 and list(findings) == ALL_CHECKS
    assert_only_problem(findings)
    assert str(setup.db) in findings["database"]["detail"]
    assert findings["database schema"]["detail"] == f"schema {SCHEMA_VERSION}, current"
    assert "runs this installation" in findings["service unit"]["detail"]


def test_warnings_alone_keep_the_exit_status_0(setup):
    setup.unit.unlink()
    code, findings = doctor()
    assert code == 0
    assert findings["service unit"]["status"] == "warning"
    assert "shoetrack install-service" in findings["service unit"]["fix"]
    assert "unit verification" not in findings


def test_doctor_creates_and_changes_nothing(isolated_home, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "runtime"))
    result = run("doctor")
    assert result.exit_code == 1  # no inbox, no bus
    assert sorted(p.name for p in isolated_home.rglob("*")) == []
    assert "warning  database: no database yet at " in result.stdout


# -- each problem in turn ----------------------------------------------------------------


def test_a_damaged_database(setup):
    history_of_runs(setup.db)
    assert setup.db.stat().st_size > 1_000_000
    damage(setup.db)
    result = run("doctor")
    assert result.exit_code == 1
    [line] = [line for line in result.stdout.splitlines() if line.startswith("problem")]
    assert line.startswith(f"problem  database integrity: {setup.db} is damaged: SQLite's quick_check found ")
    assert "put back a backup" in line
    code, findings = doctor()
    assert code == 1
    assert_only_problem(findings, "database integrity")


def test_a_database_of_a_newer_schema_is_reported_and_left_alone(setup):
    with sqlite3.connect(setup.db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = setup.db.read_bytes()
    code, findings = doctor()
    assert code == 1
    assert_only_problem(findings, "database schema")
    assert findings["database schema"]["detail"] == (
        f"{setup.db} was written by a newer shoetrack (schema {SCHEMA_VERSION + 1}; this one knows up to "
        f"{SCHEMA_VERSION}): this version refuses to open it")
    assert "upgrade shoetrack" in findings["database schema"]["fix"]
    assert "database integrity" not in findings
    assert setup.db.read_bytes() == before


def test_a_file_that_is_not_a_database(setup, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    code, findings = doctor("--db", str(junk))
    assert code == 1
    assert_only_problem(findings, "database")
    assert findings["database"]["detail"].startswith(f"{junk} is not a shoetrack database, or its first pages")
    assert list(findings)[:2] == ["config", "database"] and "database schema" not in findings
    assert junk.read_bytes() == b"this is not sqlite" * 100


def test_a_missing_inbox(setup):
    setup.inbox.rmdir()
    code, findings = doctor()
    assert code == 1
    assert_only_problem(findings, "inbox")
    assert findings["inbox"]["detail"].startswith(f"the inbox {setup.inbox} does not exist")
    assert f"mkdir -p {setup.inbox}" in findings["inbox"]["fix"]
    assert not setup.inbox.exists()


def test_an_inbox_that_is_a_file(setup):
    setup.inbox.rmdir()
    setup.inbox.write_text("not a folder")
    code, findings = doctor()
    assert code == 1
    assert_only_problem(findings, "inbox")
    assert "is not a folder" in findings["inbox"]["detail"]


def test_a_config_with_an_unknown_key(setup):
    setup.config.write_text('units = "km"\n[shoes]\nlimt_km = 650\n')
    result = run("doctor")
    assert result.exit_code == 1  # not 78: doctor runs on a broken config and reports it
    [line] = [line for line in result.stdout.splitlines() if line.startswith("problem")]
    assert line.startswith(f"problem  config: {setup.config}: 1 problem: shoes.limt_km: unknown key "
                           '(did you mean "shoes.limit_km"?)')
    code, findings = doctor()
    assert_only_problem(findings, "config")
    assert "config check" in findings["config"]["fix"]


def test_no_session_bus(setup, monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    code, findings = doctor()
    assert code == 1
    assert_only_problem(findings, "session bus")
    assert findings["session bus"]["detail"] == "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    assert "desktop session" in findings["session bus"]["fix"]
    assert "notification server" not in findings  # cannot be asked without a bus


def test_a_bus_without_a_notification_server(setup, monkeypatch, tmp_path):
    (tmp_path / "bare").mkdir()
    bare = Desktop(tmp_path / "bare")  # a bus alone: nothing owns org.freedesktop.Notifications
    bare.start_bus()
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bare.address)
        code, findings = doctor()
    finally:
        bare.stop()
    assert code == 1
    assert_only_problem(findings, "notification server")
    assert findings["notification server"]["detail"].startswith("no notification server is running")
    assert "dunst" in findings["notification server"]["fix"]


def point_exec_start_at_a_missing_python(unit: Path, missing: Path) -> None:
    text = unit.read_text()
    start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    unit.write_text(text.replace(start, f"ExecStart={missing} -m shoetrack daemon"))


def test_a_unit_whose_exec_start_points_to_a_missing_python(setup, tmp_path):
    missing = tmp_path / "gone-venv" / "bin" / "python"
    point_exec_start_at_a_missing_python(setup.unit, missing)
    code, findings = doctor()
    assert code == 1
    assert_only_problem(findings, "service unit", *(["unit verification"] if HAS_SYSTEMD_ANALYZE else []))
    assert findings["service unit"]["detail"] == (
        f"{setup.unit}: ExecStart runs {missing}, which does not exist: the daemon cannot start")
    assert "shoetrack install-service" in findings["service unit"]["fix"]


@needs_systemd
def test_systemd_analyze_verify_reports_the_missing_python_too(setup, tmp_path):
    missing = tmp_path / "gone-venv" / "bin" / "python"
    point_exec_start_at_a_missing_python(setup.unit, missing)
    _, findings = doctor()
    verify = findings["unit verification"]
    assert verify["status"] == "problem"
    assert verify["detail"].startswith(f"systemd-analyze --user verify {setup.unit}: ")
    assert str(missing) in verify["detail"]


def test_a_unit_of_another_installation_is_a_warning(setup, tmp_path):
    other = tmp_path / "other-venv" / "bin"
    other.mkdir(parents=True)
    (other / "python").symlink_to(Path(sys.executable).resolve())
    point_exec_start_at_a_missing_python(setup.unit, other / "python")
    code, findings = doctor()
    assert code == 0
    assert findings["service unit"]["status"] == "warning"
    assert "another installation" in findings["service unit"]["detail"]


def test_a_big_write_ahead_log_is_a_warning(setup):
    # A connection that keeps the log from being folded back, as a stuck reader would.
    holder = sqlite3.connect(setup.db, isolation_level=None)
    try:
        holder.execute("PRAGMA wal_autocheckpoint = 0")
        holder.execute("CREATE TABLE filler (data BLOB)")
        for _ in range(40):
            holder.execute("INSERT INTO filler VALUES (zeroblob(4096))")
        wal = setup.db.with_name(setup.db.name + "-wal")
        assert wal.stat().st_size > 100_000
        [finding] = [f for f in diagnose(setup.config, False, wal_warn_bytes=100_000)
                     if f["check"] == "database wal"]
    finally:
        holder.close()
    assert finding["status"] == "warning"
    assert finding["detail"].startswith(f"{wal} is ")
    assert "restart the daemon" in finding["fix"]


def test_the_shipped_unit_running_the_console_script_of_this_installation_is_ok(setup):
    # systemd/shoetrack.service runs %h/.local/bin/shoetrack, as after `pip install --user`.
    scripts = setup.home / ".local" / "bin"
    scripts.mkdir(parents=True)
    (scripts / "shoetrack").symlink_to(Path(sys.executable).parent / "shoetrack")
    setup.unit.write_text((Path(__file__).resolve().parents[1] / "systemd" / "shoetrack.service").read_text())
    code, findings = doctor()
    assert code == 0, findings
    assert_only_problem(findings)
    assert findings["service unit"]["detail"] == f"{setup.unit}: runs this installation ({sys.executable})"
