"""Whole exports: `shoetrack import export.zip` brings the runs, the pairs and which
pair each run was in, from Strava and Garmin, in one command, and again changes nothing.

The exports here are built from generated FIT, GPX and TCX files (they run
everywhere); the last tests build one from the real files in ../shared when present.
"""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests import exportgen, fitgen, trackgen
from tests.helpers import CORPUS, SHARED, database_rows, needs_corpus

AUG = datetime(2026, 8, 1, 6, 0, tzinfo=timezone.utc)


def day(n: int, hour: int = 6) -> datetime:
    return AUG + timedelta(days=n, hours=hour - 6)


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def unpacked(folder: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def gpx_run(start: datetime, metres: float, sport: str | None = None) -> bytes:
    return trackgen.gpx(trackgen.line(metres, step_s=6), start, sport=sport)


def tcx_run(start: datetime, metres: float, sport: str = "Running") -> bytes:
    points = trackgen.line(metres, step_s=6)
    return trackgen.tcx(trackgen.Activity(start, sport, trackgen.laps_of(points, 2)))


def strava_export() -> dict[str, bytes]:
    """A small Strava bulk export: FIT, GPX and TCX activities (some gzipped), a ride on
    a bike, a manual entry, and two pairs of shoes (one named by brand and model)."""
    activities = [
        {"id": 101, "date": day(0), "type": "Run", "gear": "Road A", "filename": "activities/101.fit.gz",
         "km": 10.0, "seconds": 3000},
        {"id": 102, "date": day(2), "type": "Trail Run", "gear": "Salomon Speedcross 6",
         "filename": "activities/102.gpx", "km": 7.3, "seconds": 2700},
        {"id": 103, "date": day(4), "type": "Run", "gear": "Road A", "filename": "activities/103.tcx.gz",
         "km": 6.0, "seconds": 1800},
        {"id": 104, "date": day(5), "type": "Ride", "gear": "Winter Bike", "filename": "activities/104.fit",
         "km": 30.0, "seconds": 3600},
        {"id": 105, "date": day(6), "type": "Run", "gear": "Road A", "filename": "", "km": 8.0, "seconds": 2600},
        {"id": 106, "date": day(7), "type": "Walk", "gear": "", "filename": "activities/106.gpx.gz",
         "km": 3.0, "seconds": 2400},
    ]
    return {
        "activities.csv": exportgen.strava_activities_csv(activities),
        "shoes.csv": exportgen.strava_shoes_csv([
            {"name": "Road A", "brand": "Nike", "model": "Pegasus 40", "sports": "Run"},
            {"name": "", "brand": "Salomon", "model": "Speedcross 6", "sports": "Run"},
        ]),
        "activities/101.fit.gz": gzip.compress(fitgen.run(day(0), 10.0, 50)),
        "activities/102.gpx": gpx_run(day(2), 7200),  # no <type>: the export says it is a trail run
        "activities/103.tcx.gz": gzip.compress(tcx_run(day(4), 6000)),
        "activities/104.fit": fitgen.run(day(5), 30.0, 60, sport=2),
        "activities/106.gpx.gz": gzip.compress(gpx_run(day(7), 3000, sport="walking")),
    }


def history(db: Path) -> dict:
    """Every row of every table but `seen`, which notes when files on disk were last read."""
    rows = database_rows(db)
    rows.pop("seen")
    return rows


def runs_by_day(shoetrack) -> dict[str, dict]:
    return {run["date"]: run for run in shoetrack.json("runs", "--all-sports")}


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_a_strava_export_brings_its_pairs_and_every_gear_choice(shoetrack, tmp_path, form):
    members = strava_export()
    if form == "zip":
        export = zipped(tmp_path / "export_12345.zip", members)
    else:
        export = unpacked(tmp_path / "export_12345", members)
    report = shoetrack.json("import", export)

    assert len(report["imported"]) == 5 and not report["failed"] and not report["skipped"]
    assert sorted((s["name"], s["source"], s["runs"]) for s in report["shoes"]) == [
        ("Road A", "Strava", 3), ("Salomon Speedcross 6", "Strava", 1)]
    pairs = {p["name"]: p for p in shoetrack.json("shoes", "list")}
    assert (pairs["Road A"]["brand"], pairs["Road A"]["model"]) == ("Nike", "Pegasus 40")
    runs = runs_by_day(shoetrack)
    for date, shoe in [("2026-08-01", "Road A"), ("2026-08-03", "Salomon Speedcross 6"),
                       ("2026-08-05", "Road A"), ("2026-08-07", "Road A")]:
        assert runs[date]["shoe"] == shoe
        assert (runs[date]["shoe_reason"], runs[date]["shoe_why"]) == ("export", "chosen in Strava")
    # The GPX file said nothing of its sport: the export did; its distance is the export's.
    assert (runs["2026-08-03"]["sport"], runs["2026-08-03"]["sub_sport"]) == ("running", "trail")
    assert runs["2026-08-03"]["distance_km"] == pytest.approx(7.3)
    assert runs["2026-08-03"]["format"] == "gpx" and runs["2026-08-05"]["format"] == "tcx"
    # The manual entry is a run logged by hand, at its own time.
    assert runs["2026-08-07"]["source"] == "manual" and runs["2026-08-07"]["distance_km"] == 8.0
    assert runs["2026-08-07"]["start_time"] == "2026-08-07T06:00:00Z"
    # The bike is not a pair; the ride and the walk wear none.
    assert "Winter Bike" not in pairs
    assert runs["2026-08-06"]["shoe"] is None and runs["2026-08-08"]["shoe"] is None
    assert runs["2026-08-08"]["sport"] == "walking"


def test_the_summary_says_what_came_with_the_export(shoetrack, tmp_path):
    export = zipped(tmp_path / "export.zip", strava_export())
    out = shoetrack("import", export).output
    assert "5 imported" in out
    assert "From the Strava export: 2 pairs of shoes (2 new), 4 runs in the pair chosen there" in out


def test_importing_the_same_export_again_changes_nothing(shoetrack, tmp_path):
    members = strava_export()
    export = zipped(tmp_path / "export.zip", members)
    shoetrack("import", export)
    before = database_rows(shoetrack.db)
    again = shoetrack.json("import", export)
    assert not again["imported"] and len(again["duplicate"]) == 5
    assert database_rows(shoetrack.db) == before
    # Unpacked, the same export is the same history.
    shoetrack("import", unpacked(tmp_path / "unpacked", members))
    after = database_rows(shoetrack.db)
    assert after["sessions"] == before["sessions"] and after["shoes"] == before["shoes"]
    assert after["gear_choices"] == before["gear_choices"]


def test_the_runner_s_own_pin_and_pairs_survive_a_re_import(shoetrack, tmp_path):
    export = zipped(tmp_path / "export.zip", strava_export())
    shoetrack("import", export)
    runs = runs_by_day(shoetrack)
    shoetrack("assign", runs["2026-08-01"]["id"], "Salomon Speedcross 6")
    shoetrack("shoes", "edit", "Road A", "--limit-km", "500")
    export.touch()  # a fresh download of the same export: read again
    shoetrack("import", export)
    run = runs_by_day(shoetrack)["2026-08-01"]
    assert (run["shoe"], run["shoe_reason"]) == ("Salomon Speedcross 6", "pinned")
    assert {p["name"]: p["limit_km"] for p in shoetrack.json("shoes", "list")}["Road A"] == 500
    shoetrack("assign", run["id"], "--auto")  # handed back: the export's word counts again
    run = runs_by_day(shoetrack)["2026-08-01"]
    assert (run["shoe"], run["shoe_reason"]) == ("Road A", "export")


def test_a_pair_already_in_shoetrack_is_reused_by_name(shoetrack, tmp_path):
    shoetrack("shoes", "add", "road a", "--limit-km", "650")
    report = shoetrack.json("import", zipped(tmp_path / "export.zip", strava_export()))
    assert [(s["name"], s["new"]) for s in report["shoes"] if s["runs"] == 3] == [("road a", False)]
    names = [p["name"] for p in shoetrack.json("shoes", "list")]
    assert names.count("road a") == 1 and "Road A" not in names


def garmin_export() -> dict[str, bytes]:
    """A Garmin "Export Your Data" archive: FIT files in a zip inside the zip, gear and
    activity summaries as JSON."""
    uploads = io.BytesIO()
    with zipfile.ZipFile(uploads, "w") as inner:
        for n, (km, sport) in enumerate([(8.0, 1), (12.0, 1), (5.0, 1), (40.0, 2)]):
            inner.writestr(f"user@example.com_{9000 + n}.fit", fitgen.run(day(n * 3), km, km * 6, sport=sport))
    gear = exportgen.garmin_gear_json(
        [{"pk": 11, "name": "Daily Trainer", "make": "Brooks Ghost 15", "type": "Shoes", "status": "active",
          "begin": "2026-01-01", "end": None, "max_m": 800_000},
         {"pk": 12, "name": "Old Racer", "make": "Adidas Adios", "type": "Shoes", "status": "retired",
          "begin": "2025-03-01", "end": "2026-08-05", "max_m": 0},
         {"pk": 13, "name": "Road Bike", "make": "Canyon", "type": "Bike", "status": "active"}],
        {"11": [9000, 9001], "12": [9002], "13": [9003]})
    summaries = exportgen.garmin_summaries_json([
        {"id": 9000 + n, "start": day(n * 3), "type": kind, "km": km, "seconds": km * 360}
        for n, (km, kind) in enumerate([(8.0, "running"), (12.0, "running"), (5.0, "running"), (40.0, "cycling")])])
    return {
        "DI_CONNECT/DI-Connect-Fitness/user@example.com_0_gear.json": gear,
        "DI_CONNECT/DI-Connect-Fitness/user@example.com_0_summarizedActivities.json": summaries,
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": uploads.getvalue(),
    }


def test_a_garmin_export_brings_its_shoes_their_limits_and_their_runs(shoetrack, tmp_path):
    export = zipped(tmp_path / "garmin.zip", garmin_export())
    report = shoetrack.json("import", export)
    assert len(report["imported"]) == 4
    assert sorted((s["name"], s["source"], s["runs"]) for s in report["shoes"]) == [
        ("Daily Trainer", "Garmin", 2), ("Old Racer", "Garmin", 1)]
    pairs = {p["name"]: p for p in shoetrack.json("shoes", "list", "--all")}
    assert "Road Bike" not in pairs
    assert pairs["Daily Trainer"]["limit_km"] == 800
    assert pairs["Old Racer"]["retired_on"] == "2026-08-05"
    runs = runs_by_day(shoetrack)
    assert [runs[d]["shoe"] for d in ("2026-08-01", "2026-08-04", "2026-08-07")] == [
        "Daily Trainer", "Daily Trainer", "Old Racer"]
    assert runs["2026-08-07"]["shoe_why"] == "chosen in Garmin"
    before = history(shoetrack.db)
    export.touch()  # a fresh download of the same export: read again
    shoetrack("import", export)
    assert history(shoetrack.db) == before


def test_gear_choices_reach_runs_imported_before_the_export(shoetrack, tmp_path):
    """The watch's files came first (from the inbox); the export's gear arrives later."""
    members = garmin_export()
    inner = zipfile.ZipFile(io.BytesIO(members.pop("DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip")))
    for name in inner.namelist():
        (tmp_path / name).write_bytes(inner.read(name))
        shoetrack("import", tmp_path / name)
    assert {r["shoe"] for r in shoetrack.json("runs")} == {None}
    shoetrack("import", zipped(tmp_path / "gear-only.zip", members))
    assert [r["shoe"] for r in sorted(shoetrack.json("runs"), key=lambda r: r["date"])] == [
        "Daily Trainer", "Daily Trainer", "Old Racer"]


# -- the same run in several formats ---------------------------------------------------

def sessions_and_files(db: Path) -> tuple[list, list]:
    """The history without what differs by when it was made (ids, times of import)."""
    conn = sqlite3.connect(db)
    try:
        sessions = conn.execute(
            "SELECT source, session_index, start_time, local_date, sport, sub_sport, distance_m, timer_s, "
            "elapsed_s, device_serial, format, shoe_reason, hidden_at FROM sessions ORDER BY start_time, source"
        ).fetchall()
        files = conn.execute("SELECT sha256, path, outcome, reason, sessions FROM files ORDER BY sha256").fetchall()
    finally:
        conn.close()
    return sessions, files


@pytest.mark.parametrize("lesser", ["gpx", "tcx"])
def test_the_same_run_as_fit_and_as_gpx_or_tcx_is_stored_once_from_the_fit_file(tmp_path, lesser, shoetrack):
    start = day(0)
    fit = tmp_path / "run.fit"
    fit.write_bytes(fitgen.run(start + timedelta(seconds=20), 6.0, 33))
    other = tmp_path / f"run.{lesser}"
    other.write_bytes(gpx_run(start, 6100) if lesser == "gpx" else tcx_run(start, 6050))
    histories = []
    for n, order in enumerate([(fit, other), (other, fit)]):
        db = tmp_path / f"order{n}.db"
        for path in order:
            shoetrack.db = db
            shoetrack("import", path)
        runs = shoetrack.json("runs", "--all-sports")
        assert [(r["format"], r["sport"], r["distance_km"]) for r in runs] == [("fit", "running", 6.0)]
        histories.append(sessions_and_files(db))
    assert histories[0] == histories[1]
    files = histories[0][1]
    assert sorted((f[2], f[4]) for f in files) == [("duplicate", 0), ("imported", 1)]


def test_a_better_copy_keeps_what_the_runner_said_about_the_run(shoetrack, tmp_path):
    shoetrack("shoes", "add", "Road A", "--since", "2026-01-01")
    gpx = tmp_path / "run.gpx"
    gpx.write_bytes(gpx_run(day(0), 6000))
    shoetrack("import", gpx)
    (run,) = shoetrack.json("runs", "--all-sports")
    assert run["sport"] == "generic"
    shoetrack("runs", "edit", run["id"], "--sport", "running", "--note", "hill reps")
    shoetrack("assign", run["id"], "Road A")
    fit = tmp_path / "run.fit"
    fit.write_bytes(fitgen.run(day(0), 6.0, 33))
    report = shoetrack.json("import", fit)
    assert len(report["imported"]) == 1
    (run,) = shoetrack.json("runs", "--all-sports")
    assert (run["format"], run["shoe"], run["shoe_reason"], run["note"]) == ("fit", "Road A", "pinned", "hill reps")


def test_a_gpx_file_with_no_sport_is_stored_as_generic_and_says_so(shoetrack, tmp_path):
    gpx = tmp_path / "morning.gpx"
    gpx.write_bytes(gpx_run(day(0), 5000))
    out = shoetrack("import", gpx).output
    assert "1 imported" in out and "note:" in out and "generic" in out
    (run,) = shoetrack.json("runs", "--all-sports")
    assert run["sport"] == "generic" and run["shoe"] is None
    shoetrack("runs", "edit", run["id"], "--sport", "running")
    assert shoetrack.json("runs")[0]["sport"] == "running"
    # A file's distance stays the device's.
    assert shoetrack("runs", "edit", run["id"], "--km", "9", expect=2).output.count("\n") == 1


# -- real files ------------------------------------------------------------------------

TRACKS = SHARED / "gpx-tcx-corpus"


def _real_runs(count: int) -> list[tuple[Path, datetime]]:
    """Real running FIT files with one session, and their start."""
    chosen = []
    for entry in json.loads((CORPUS / "reference.json").read_text()):
        ref = entry["fitparse_1_2_0"]
        if ref.get("ok") and len(ref.get("sessions") or []) == 1 and ref["sessions"][0]["sport"] == "running":
            if not isinstance(ref["sessions"][0]["start_time"], str):
                continue
            start = datetime.fromisoformat(ref["sessions"][0]["start_time"]).replace(tzinfo=timezone.utc)
            if start.year >= 2000 and all(abs((start - s).total_seconds()) > 120 for _, s in chosen):
                chosen.append((CORPUS / entry["path"], start))
        if len(chosen) == count:
            break
    return chosen


@needs_corpus
@pytest.mark.skipif(not TRACKS.exists(), reason="../shared/gpx-tcx-corpus is not here")
def test_a_strava_export_of_real_files_imports_in_one_command(shoetrack, tmp_path):
    fits = _real_runs(4)
    tracks = json.loads((TRACKS / "reference.json").read_text())["files"]
    real_tracks = [name for name, ref in sorted(tracks.items())
                   if ref.get("sport") in ("Running", "running") and ref.get("start_time")]
    members, rows = {}, []
    for n, (path, start) in enumerate(fits):
        members[f"activities/{n}.fit.gz"] = gzip.compress(path.read_bytes())
        rows.append({"id": n, "date": start, "type": "Run", "gear": "Real Road" if n % 2 else "Real Trail",
                     "filename": f"activities/{n}.fit.gz", "km": 5, "seconds": 1800})
    for n, name in enumerate(real_tracks[:4], start=100):
        suffix = ".gpx" if name.endswith(".gpx") else ".tcx"
        members[f"activities/{n}{suffix}"] = (TRACKS / "files" / name).read_bytes()
        start = datetime.fromisoformat(tracks[name]["start_time"].replace("Z", "+00:00"))
        rows.append({"id": n, "date": start, "type": "Run", "gear": "Real Road",
                     "filename": f"activities/{n}{suffix}", "km": tracks[name]["distance_m"] / 1000, "seconds": 1800})
    members["activities.csv"] = exportgen.strava_activities_csv(rows)
    members["shoes.csv"] = exportgen.strava_shoes_csv([{"name": "Real Road"}, {"name": "Real Trail"}])
    export = zipped(tmp_path / "export.zip", members)

    report = shoetrack.json("import", export)
    assert not report["failed"], report["failed"]
    runs = shoetrack.json("runs")
    chosen = [r for r in runs if r["shoe_reason"] == "export"]
    assert len(chosen) == len(rows) == sum(s["runs"] for s in report["shoes"])
    assert {s["name"] for s in report["shoes"]} == {"Real Road", "Real Trail"}
    before = history(shoetrack.db)
    export.touch()  # a fresh download of the same export: read again
    shoetrack("import", export)
    assert history(shoetrack.db) == before


@pytest.mark.skipif(not TRACKS.exists(), reason="../shared/gpx-tcx-corpus is not here")
def test_the_real_gpx_and_tcx_files_get_their_outcomes_in_any_order(shoetrack, tmp_path):
    """40 real files: the odd ones are refused with a reason (tests/test_gpxtcx.py has one
    test each); three runs come both as TCX and as GPX and are stored once, from the TCX
    file, whichever comes first."""
    files = sorted((TRACKS / "files").iterdir())
    report = shoetrack.json("import", *files)
    counts = {outcome: len(report[outcome]) for outcome in ("imported", "duplicate", "skipped", "failed")}
    assert counts == {"imported": 32, "duplicate": 3, "skipped": 2, "failed": 3}
    assert all(item["path"].endswith(".gpx") and item["of"].endswith(".tcx") for item in report["duplicate"])
    forwards = sessions_and_files(shoetrack.db)
    shoetrack.db = tmp_path / "backwards.db"
    for path in reversed(files):
        shoetrack("import", path)
    assert sessions_and_files(shoetrack.db) == forwards


def test_an_export_holding_a_run_as_fit_and_as_gpx_gives_one_history_in_either_order(shoetrack, tmp_path):
    """Strava lists each file once, but a runner's export folder may hold both copies of
    a run; whichever the import meets first, the history is the same."""
    start = day(1)
    rows = [{"id": 7, "date": start, "type": "Run", "gear": "Road A", "filename": "activities/7.fit.gz",
             "km": 6.0, "seconds": 1980}]
    common = {"activities.csv": exportgen.strava_activities_csv(rows),
              "shoes.csv": exportgen.strava_shoes_csv([{"name": "Road A"}])}
    fit = gzip.compress(fitgen.run(start, 6.0, 33))
    gpx = gpx_run(start + timedelta(seconds=3), 6050, sport="running")
    histories = []
    for n, names in enumerate([("activities/7.fit.gz", "activities/a_copy.gpx"),
                               ("activities/7.fit.gz", "activities/0_copy.gpx")]):
        members = dict(common, **{names[0]: fit, names[1]: gpx})
        shoetrack.db = tmp_path / f"order{n}.db"
        shoetrack("import", zipped(tmp_path / f"export{n}.zip", members))
        runs = shoetrack.json("runs")
        assert [(r["format"], r["shoe"], r["shoe_reason"]) for r in runs] == [("fit", "Road A", "export")]
        sessions, files = sessions_and_files(shoetrack.db)
        histories.append(([s[1:] for s in sessions], sorted((f[0], f[2], f[4]) for f in files)))
    assert histories[0] == histories[1]
