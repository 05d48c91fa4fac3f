"""A database written by the version before this one opens, keeps what it knew, and
no longer breaks on values that version let through."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

from shoetrack.adapters.store import MIGRATIONS

TODAY = date.today()


def ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def schema_4_database(path) -> None:
    """What shoetrack wrote before alerts were derived: an open, announced and delivered
    streak alert, a run of infinite length and a pair with an infinite limit."""
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:4]:
        for statement in step.split(";\n"):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    for n in range(9, -1, -1):
        conn.execute("INSERT INTO sessions (source, start_time, local_date, sport, sub_sport, distance_m, timer_s) "
                     "VALUES ('manual', ?, ?, 'running', 'generic', 5000, 1800)", [f"{ago(n)}T12:00:00Z", ago(n)])
    conn.execute("INSERT INTO sessions (source, start_time, local_date, sport, sub_sport, distance_m) "
                 "VALUES ('manual', ?, ?, 'running', 'generic', 9e999)", [f"{ago(20)}T12:00:00Z", ago(20)])
    conn.execute("INSERT INTO shoes (name, limit_km, start_km, default_for, added_at) "
                 "VALUES ('Endless', 9e999, 0, '[\"running\"]', '2026-01-01T00:00:00Z')")
    conn.execute("INSERT INTO alerts (kind, subject, started, announced_on, delivered_at, message, advice) "
                 "VALUES ('streak', '', ?, ?, '2026-01-01T19:00:00Z', 'old text', 'old advice')", [ago(3), ago(3)])
    conn.commit()
    conn.close()


def test_a_schema_4_database_keeps_its_announcements_and_loses_its_impossible_values(shoetrack, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[notify]\nenabled = false\n[alerts]\nstreak_days = 7\nacwr = 100\nweekly_jump_pct = 10000\n")
    shoetrack.config = config
    schema_4_database(shoetrack.db)

    status = json.loads(shoetrack("status", "--json").stdout)
    assert [(a["kind"], a["since"]) for a in status["alerts"]] == [("streak", ago(3))]
    assert shoetrack.json("check")["new"] == []  # announced and shown before the upgrade
    [hidden] = shoetrack.json("runs", "--deleted")
    assert hidden["date"] == ago(20) and hidden["distance_km"] is None
    assert "beyond what a person can run" in hidden["shoe_why"]
    [pair] = shoetrack.json("shoes", "list")
    assert pair["limit_km"] == 10000
    assert len(list(tmp_path.glob("shoetrack.db.schema4-*.bak"))) == 1


def test_an_impossible_run_from_an_old_version_can_be_deleted_for_good(shoetrack, tmp_path):
    schema_4_database(shoetrack.db)
    [hidden] = shoetrack.json("runs", "--deleted")
    assert f"deleted run {hidden['id']}" in shoetrack("runs", "delete", hidden["id"]).stdout
    assert shoetrack.json("runs", "--deleted") == []
