"""Every mistake undoable: runs deleted, restored and edited, pain entries removed,
and the alerts follow the corrected history."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from tests import fitgen
from tests.helpers import database_rows, write

TODAY = date.today()


def ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def table(db, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def quiet_config(shoetrack, tmp_path, **alerts) -> None:
    settings = {"streak_days": 100, "acwr": 100, "weekly_jump_pct": 10000, "shoe_warn_pct": 100, **alerts}
    config = tmp_path / "config.toml"
    config.write_text("[notify]\nenabled = false\n[alerts]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    shoetrack.config = config


def test_a_logged_run_is_deleted_and_the_alerts_follow(shoetrack, tmp_path):
    quiet_config(shoetrack, tmp_path, weekly_jump_pct=30)
    for n in range(14, 0, -2):
        shoetrack("log", ago(n), 5, "--minutes", 30)
    typo = shoetrack("log", ago(0), 500, "--minutes", 30).stdout  # meant 5.00
    run_id = int(typo.split()[2].rstrip(":"))
    assert [a["kind"] for a in shoetrack.json("check")["active"]] == ["load_spike"]

    result = shoetrack("runs", "delete", run_id)
    assert f"deleted run {run_id}" in result.stdout and ago(0) in result.stdout
    assert run_id not in [r["id"] for r in shoetrack.json("runs")]
    assert shoetrack.json("check")["active"] == []
    assert table(shoetrack.db, f"SELECT count(*) FROM sessions WHERE id = {run_id}") == [(0,)]


def test_an_imported_run_is_hidden_stays_hidden_on_reimport_and_can_be_restored(shoetrack, tmp_path, inbox):
    quiet_config(shoetrack, tmp_path)
    shoetrack("shoes", "add", "Road", "--default-for", "running", "--since", ago(30))
    for n in (3, 2, 1):
        write(inbox / f"{n}.fit", fitgen.run(f"{ago(n)}T07:00:00Z", km=10))
    shoetrack("import", inbox)
    [newest, *_] = shoetrack.json("runs")
    assert newest["shoe"] == "Road"

    result = shoetrack("runs", "delete", newest["id"])
    assert f"restore {newest['id']}" in result.stdout  # says how to undo
    assert [r["id"] for r in shoetrack.json("runs")] != [] and newest["id"] not in [
        r["id"] for r in shoetrack.json("runs")]
    assert shoetrack.json("shoes", "list")[0]["distance_km"] == 20
    report = shoetrack.json("import", inbox)
    assert len(report["duplicate"]) == 3 and report["imported"] == []
    assert newest["id"] not in [r["id"] for r in shoetrack.json("runs")]
    assert [r["id"] for r in shoetrack.json("runs", "--deleted")] == [newest["id"]]

    shoetrack("runs", "restore", newest["id"])
    [back] = [r for r in shoetrack.json("runs") if r["id"] == newest["id"]]
    assert back["shoe"] == "Road" and back["distance_km"] == newest["distance_km"]
    assert shoetrack.json("shoes", "list")[0]["distance_km"] == 30


def test_a_logged_run_is_edited_and_an_imported_one_is_not(shoetrack, tmp_path, inbox):
    quiet_config(shoetrack, tmp_path)
    shoetrack("shoes", "add", "Mill", "--default-for", "running/treadmill", "--since", ago(30))
    shoetrack("log", ago(2), 8, "--minutes", 50)
    [run] = shoetrack.json("runs")
    result = shoetrack("runs", "edit", run["id"], "--date", ago(1), "--km", "6.5", "--minutes", 40,
                       "--sub-sport", "treadmill", "--note", "hotel gym")
    assert "8.00" in result.stdout and "6.50" in result.stdout
    [edited] = shoetrack.json("runs")
    assert (edited["date"], edited["distance_km"], edited["duration_s"], edited["sub_sport"], edited["note"],
            edited["shoe"]) == (ago(1), 6.5, 2400, "treadmill", "hotel gym", "Mill")

    write(inbox / "a.fit", fitgen.run(f"{ago(3)}T07:00:00Z", km=10))
    shoetrack("import", inbox)
    imported = next(r for r in shoetrack.json("runs") if r["source"] != "manual")
    before = database_rows(shoetrack.db)
    result = shoetrack("runs", "edit", imported["id"], "--km", 3, expect=2)
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "runs delete" in line
    assert database_rows(shoetrack.db) == before


def test_deleting_runs_checks_every_id_first(shoetrack, tmp_path):
    quiet_config(shoetrack, tmp_path)
    shoetrack("log", ago(1), 5, "--minutes", 30)
    [run] = shoetrack.json("runs")
    before = database_rows(shoetrack.db)
    result = shoetrack("runs", "delete", run["id"], 424242, expect=None)
    assert result.exit_code != 0 and "424242" in result.stderr
    assert database_rows(shoetrack.db) == before
    shoetrack("runs", "restore", run["id"], expect=2)  # not deleted: nothing to restore
    assert database_rows(shoetrack.db) == before


def test_a_pain_entry_is_deleted_by_its_id_and_the_alert_goes(shoetrack, tmp_path):
    quiet_config(shoetrack, tmp_path, streak_days=3)
    for n in (3, 2, 1, 0):
        shoetrack("log", ago(n), 5, "--minutes", 30)
    shoetrack("pain", 6, "--side", "left")
    assert "pain_with_cause" in [a["kind"] for a in shoetrack.json("check")["active"]]
    [entry] = shoetrack.json("pain", "--list")
    assert f"{entry['id']:>3}" in shoetrack("pain", "--list").stdout

    result = shoetrack("pain", "--delete", entry["id"])
    assert f"deleted pain entry {entry['id']}" in result.stdout
    assert shoetrack.json("pain", "--list") == []
    assert "pain_with_cause" not in [a["kind"] for a in shoetrack.json("check")["active"]]
    shoetrack("pain", "--delete", entry["id"], expect=1)
