"""Importing FIT files the tests build themselves: outcomes, archives, duplicates."""

from __future__ import annotations

import gzip
import io
import os
import sqlite3
import zipfile
from datetime import datetime, timezone

import pytest

from shoetrack.adapters.store import Store
from shoetrack.service.importing import import_paths
from tests import fitgen
from tests.fitgen import Device, Session
from tests.helpers import write

RUN_KEYS = {"id", "start_time", "date", "sport", "sub_sport", "distance_km", "duration_s", "shoe",
            "shoe_reason", "shoe_why", "source", "format", "derived", "note"}


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_run_is_imported_and_listed(shoetrack, inbox):
    path = write(inbox / "morning.fit", fitgen.run("2026-03-02T06:30:00Z", km=10.5, minutes=52))
    report = shoetrack.json("import", path)
    assert report == {
        "imported": [{"path": str(path), "sessions": 1}],
        "duplicate": [], "skipped": [], "failed": [], "shoes": [],
    }
    [run] = shoetrack.json("runs")
    assert set(run) == RUN_KEYS
    assert run["start_time"] == "2026-03-02T06:30:00Z"
    assert run["sport"] == "running" and run["sub_sport"] == "generic"
    assert run["distance_km"] == pytest.approx(10.5)
    assert run["duration_s"] == pytest.approx(52 * 60)
    assert run["shoe"] is None
    assert run["source"] == str(path)


def test_session_details_are_stored(tmp_path, inbox):
    data = fitgen.activity(
        [Session(datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc), distance_m=8123.45,
                 elapsed_s=2700, timer_s=2600, avg_hr=151, ascent_m=87)],
        serial=123456789, devices=[Device(index=1, antplus_type=124, serial=987654)],
        utc_offset_s=3600,
    )
    write(inbox / "a.fit", data)
    with Store(tmp_path / "st.db") as store:
        import_paths(store, [inbox])
        [row] = store.sessions()
    assert row["distance_m"] == pytest.approx(8123.45)
    assert (row["elapsed_s"], row["timer_s"], row["avg_hr"], row["ascent_m"]) == (2700, 2600, 151, 87)
    assert row["device_serial"] == 123456789
    assert row["device_manufacturer"] == "garmin"
    assert row["foot_pod_serial"] == 987654
    assert row["utc_offset_s"] == 3600


def test_the_runners_own_day_comes_from_the_files_offset(shoetrack, inbox):
    # 03:00 UTC is still the evening before in California (UTC-7 in summer).
    write(inbox / "late.fit", fitgen.run("2026-06-10T03:00:00Z", utc_offset_s=-7 * 3600))
    shoetrack("import", inbox)
    [run] = shoetrack.json("runs")
    assert run["date"] == "2026-06-09"


def test_same_bytes_under_another_name_is_a_duplicate(shoetrack, inbox):
    data = fitgen.run("2026-03-02T06:30:00Z")
    first = write(inbox / "a.fit", data)
    second = write(inbox / "copy" / "b.fit", data)
    report = shoetrack.json("import", inbox)
    assert report["imported"] == [{"path": str(first), "sessions": 1}]
    assert report["duplicate"] == [{"path": str(second), "of": str(first)}]


def test_same_activity_from_another_device_is_a_duplicate(shoetrack, inbox):
    watch = write(inbox / "1-watch.fit", fitgen.run("2026-03-02T06:30:00Z", serial=111))
    phone = write(inbox / "2-phone.fit", fitgen.run("2026-03-02T06:30:40Z", km=5.1, serial=222))
    later = write(inbox / "3-later.fit", fitgen.run("2026-03-02T06:32:00Z", serial=222))
    ride = write(inbox / "4-ride.fit", fitgen.run("2026-03-02T06:30:10Z", sport=2, serial=333))
    report = shoetrack.json("import", inbox)
    assert [i["path"] for i in report["imported"]] == [str(watch), str(later), str(ride)]
    assert report["duplicate"] == [{"path": str(phone), "of": str(watch)}]


def test_importing_again_adds_nothing(shoetrack, inbox):
    for day in range(1, 4):
        write(inbox / f"{day}.fit", fitgen.run(f"2026-03-0{day}T06:30:00Z"))
    shoetrack("import", inbox)
    report = shoetrack.json("import", inbox)
    assert report["imported"] == []
    assert len(report["duplicate"]) == 3
    assert len(shoetrack.json("runs")) == 3


def test_multisport_gives_one_row_per_session(shoetrack, inbox):
    start = datetime(2026, 5, 3, 7, 0, tzinfo=timezone.utc)
    from datetime import timedelta

    legs = [
        Session(start, sport=5, distance_m=1500, elapsed_s=1800),
        Session(start + timedelta(minutes=32), sport=2, distance_m=40000, elapsed_s=4200),
        Session(start + timedelta(minutes=105), sport=1, distance_m=10000, elapsed_s=2700),
    ]
    path = write(inbox / "tri.fit", fitgen.activity(legs))
    assert shoetrack.json("import", path)["imported"] == [{"path": str(path), "sessions": 3}]
    assert [r["sport"] for r in shoetrack.json("runs")] == ["running"]
    assert [r["sport"] for r in shoetrack.json("runs", "--all-sports")] == ["running", "cycling", "swimming"]


@pytest.mark.parametrize("file_type,name", [(2, "settings"), (5, "workout"), (9, "weight"), (32, "monitoring_b")])
def test_files_that_are_not_activities_are_skipped_with_their_type(shoetrack, inbox, file_type, name):
    path = write(inbox / "x.fit", fitgen.non_activity(file_type))
    report = shoetrack.json("import", path)
    assert report["skipped"] == [{"path": str(path), "reason": f"not an activity: a {name} file"}]
    assert report["failed"] == []


@pytest.mark.parametrize("content,words", [
    (b"", "empty file"),
    (b"these are my running notes\n", "not a FIT file"),
    (fitgen.run("2026-03-02T06:30:00Z")[:-40], "truncated"),
])
def test_broken_files_fail_with_a_one_line_reason(shoetrack, inbox, content, words):
    path = write(inbox / "bad.fit", content)
    result = shoetrack("import", path, "--json")
    import json

    report = json.loads(result.stdout)
    [failed] = report["failed"]
    assert failed["path"] == str(path)
    assert words in failed["reason"] and "\n" not in failed["reason"]
    assert shoetrack.json("runs") == []


def test_a_flipped_bit_fails_the_checksum(shoetrack, inbox):
    data = bytearray(fitgen.run("2026-03-02T06:30:00Z"))
    data[40] ^= 0x01
    path = write(inbox / "flip.fit", bytes(data))
    [failed] = shoetrack.json("import", path)["failed"]
    assert "checksum" in failed["reason"]


def test_a_failed_file_is_remembered_until_its_bytes_change(shoetrack, inbox):
    good = fitgen.run("2026-03-02T06:30:00Z")
    path = write(inbox / "run.fit", good[:-10])
    [first] = shoetrack.json("import", path)["failed"]
    [again] = shoetrack.json("import", path)["failed"]
    assert again == first
    conn = sqlite3.connect(shoetrack.db)
    assert conn.execute("SELECT outcome FROM files").fetchall() == [("failed",)]
    conn.close()
    path.write_bytes(good)  # the watch finished syncing
    assert shoetrack.json("import", path)["imported"] == [{"path": str(path), "sessions": 1}]


def test_fit_gz_and_nested_zips_are_read_in_place(shoetrack, tmp_path):
    run1 = fitgen.run("2026-04-01T06:00:00Z")
    run2 = fitgen.run("2026-04-02T06:00:00Z")
    run3 = fitgen.run("2026-04-03T06:00:00Z")
    inner = zip_bytes({"1001.fit": run3, "wellness.fit": fitgen.non_activity(32)})
    garmin = zip_bytes({
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": inner,
        "DI_CONNECT/DI-Connect-User/user_profile.json": b"{}",
    })
    strava = zip_bytes({"activities/11.fit.gz": gzip.compress(run1), "activities.csv": b"id\n11\n"})
    exports = tmp_path / "exports"
    write(exports / "garmin.zip", garmin)
    write(exports / "strava.zip", strava)
    write(exports / "loose" / "2.fit.gz", gzip.compress(run2))
    before = sorted(p.name for p in exports.rglob("*"))
    report = shoetrack.json("import", exports)
    assert sorted(i["path"] for i in report["imported"]) == sorted([
        f"{exports}/garmin.zip!DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip!1001.fit",
        f"{exports}/loose/2.fit.gz",
        f"{exports}/strava.zip!activities/11.fit.gz",
    ])
    assert report["skipped"] == [{
        "path": f"{exports}/garmin.zip!DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip!wellness.fit",
        "reason": "not an activity: a monitoring_b file",
    }]
    assert sorted(p.name for p in exports.rglob("*")) == before  # nothing extracted beside the archives
    assert len(shoetrack.json("runs")) == 3


def test_hostile_archives_are_refused_with_reasons(shoetrack, tmp_path):
    nested = fitgen.run("2026-04-01T06:00:00Z")
    for level in range(7):
        nested = zip_bytes({f"level{level}.zip" if level else "deep.fit": nested})
    bomb = zip_bytes({"bomb.fit": b"\0" * (65 * 1024 * 1024)})
    evil = zip_bytes({"../../escape.fit": fitgen.run("2026-04-02T06:00:00Z")})
    folder = tmp_path / "hostile"
    write(folder / "deep.zip", nested)
    write(folder / "bomb.zip", bomb)
    write(folder / "evil.zip", evil)
    write(folder / "broken.zip", b"PK\x03\x04 not really a zip")
    report = shoetrack.json("import", folder)
    reasons = {item["path"][len(str(folder)) + 1:]: item["reason"]
               for outcome in ("skipped", "failed") for item in report[outcome]}
    assert report["imported"] == []
    assert any("nested deeper" in r for r in reasons.values())
    assert "larger than 64 MiB" in reasons["bomb.zip!bomb.fit"]
    assert "unsafe name" in reasons["evil.zip!../../escape.fit"]
    assert "not a readable zip" in reasons["broken.zip"]
    assert not (tmp_path / "escape.fit").exists()


def test_folders_ignore_other_files_and_special_files(shoetrack, inbox):
    write(inbox / "notes.txt", b"hello")
    write(inbox / "run.FIT", fitgen.run("2026-04-01T06:00:00Z"))
    os.mkfifo(inbox / "pipe.fit")
    os.symlink(inbox, inbox / "loop")  # a symlink loop must not trap the walk
    report = shoetrack.json("import", inbox)
    assert [i["path"] for i in report["imported"]] == [str(inbox / "run.FIT")]
    assert report["skipped"] == [{"path": str(inbox / "pipe.fit"),
                                  "reason": "not a regular file (a pipe, socket or device): not read"}]


def test_a_file_is_stored_whole_or_not_at_all(tmp_path, inbox):
    start = datetime(2026, 5, 3, 7, 0, tzinfo=timezone.utc)
    from datetime import timedelta

    legs = [Session(start, sport=1), Session(start + timedelta(hours=2), sport=1)]
    write(inbox / "two.fit", fitgen.activity(legs))
    with Store(tmp_path / "st.db") as store:
        # A real SQLite failure in the middle of the file: the second session is refused.
        store.db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON sessions WHEN NEW.session_index = 1 "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
        with pytest.raises(sqlite3.IntegrityError):
            import_paths(store, [inbox])
        assert store.sessions() == []
        assert store.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0


def test_human_summary(shoetrack, inbox):
    write(inbox / "a.fit", fitgen.run("2026-04-01T06:00:00Z"))
    write(inbox / "b.fit", b"junk")
    result = shoetrack("import", inbox)
    assert result.stdout.splitlines()[0] == "1 imported (1 session), 0 duplicate, 0 skipped, 1 failed"
    assert f"failed: {inbox / 'b.fit'}: not a FIT file" in result.stdout


def test_runs_filters_by_day(shoetrack, inbox):
    for day in ("2026-04-01", "2026-04-05", "2026-04-09"):
        write(inbox / f"{day}.fit", fitgen.run(f"{day}T06:00:00Z"))
    shoetrack("import", inbox)
    dates = [r["date"] for r in shoetrack.json("runs", "--since", "2026-04-02", "--until", "2026-04-09")]
    assert dates == ["2026-04-09", "2026-04-05"]


# -- chained FIT files (`cat a.fit b.fit > chained.fit`): duplicates are judged per session --

def _starts(shoetrack) -> list[tuple[str, str]]:
    return sorted((r["start_time"], r["source"]) for r in shoetrack.json("runs"))


def test_a_chained_file_decodes_to_every_segments_sessions_on_both_paths():
    from shoetrack.adapters import fit

    a, b = fitgen.run("2026-03-02T06:30:00Z"), fitgen.run("2026-03-05T18:00:00Z", km=8, utc_offset_s=3600)
    for data in (fitgen.chain(a, b), fitgen.chain(fitgen.non_activity(2), a, b)):
        walked = fit._build(fit._messages_by_walk(data))  # the fast walk does not step aside...
        assert walked == fit._build(fit._messages_by_fitparse(data)) == fit.decode(data)  # ...and agrees
        assert walked.file_type == "activity"
        assert [s.start_time.isoformat() for s in walked.sessions] == [
            "2026-03-02T06:30:00+00:00", "2026-03-05T18:00:00+00:00"]


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_a_chained_file_stores_the_run_that_is_not_stored_yet(shoetrack, inbox, order):
    a = write(inbox / "a.fit", fitgen.run("2026-03-02T06:30:00Z"))
    runs = {"a": a.read_bytes(), "b": fitgen.run("2026-03-05T06:30:00Z", km=8)}
    chained = write(inbox / "later" / "chained.fit", fitgen.chain(*(runs[k] for k in order)))
    assert shoetrack.json("import", a)["imported"] == [{"path": str(a), "sessions": 1}]
    report = shoetrack.json("import", chained)
    assert report["imported"] == [{"path": str(chained), "sessions": 1, "already_stored": 1}]
    assert report["duplicate"] == []
    assert _starts(shoetrack) == [("2026-03-02T06:30:00Z", str(a)), ("2026-03-05T06:30:00Z", str(chained))]
    # The same bytes again: nothing more, and the file is known by its hash.
    assert shoetrack.json("import", chained)["duplicate"] == [{"path": str(chained), "of": str(chained)}]
    assert len(shoetrack.json("runs")) == 2


def test_single_files_after_their_chained_file_are_duplicates(shoetrack, inbox):
    a = fitgen.run("2026-03-02T06:30:00Z")
    b = fitgen.run("2026-03-05T06:30:00Z", km=8)
    chained = write(inbox / "chained.fit", fitgen.chain(a, b))
    assert shoetrack.json("import", chained)["imported"] == [{"path": str(chained), "sessions": 2}]
    report = shoetrack.json("import", write(inbox / "a.fit", a), write(inbox / "b.fit", b))
    assert report["imported"] == []
    assert report["duplicate"] == [{"path": str(inbox / "a.fit"), "of": str(chained)},
                                   {"path": str(inbox / "b.fit"), "of": str(chained)}]
    assert [source for _, source in _starts(shoetrack)] == [str(chained)] * 2


def test_a_chained_file_of_runs_not_yet_stored_stores_them_all(shoetrack, inbox):
    chained = write(inbox / "chained.fit", fitgen.chain(fitgen.run("2026-03-02T06:30:00Z"),
                                                        fitgen.run("2026-03-05T06:30:00Z", km=8)))
    assert shoetrack.json("import", chained) == {
        "imported": [{"path": str(chained), "sessions": 2}], "duplicate": [], "skipped": [], "failed": [], "shoes": []}
    assert _starts(shoetrack) == [("2026-03-02T06:30:00Z", str(chained)), ("2026-03-05T06:30:00Z", str(chained))]


def test_three_chained_files_whose_middle_one_is_stored(shoetrack, inbox):
    a, b, c = (fitgen.run(f"2026-03-0{day}T06:30:00Z", km=day) for day in (2, 4, 6))
    middle = write(inbox / "b.fit", b)
    shoetrack("import", middle)
    chained = write(inbox / "abc.fit", fitgen.chain(a, b, c))
    report = shoetrack.json("import", chained)
    assert report["imported"] == [{"path": str(chained), "sessions": 2, "already_stored": 1}]
    assert _starts(shoetrack) == [("2026-03-02T06:30:00Z", str(chained)), ("2026-03-04T06:30:00Z", str(middle)),
                                  ("2026-03-06T06:30:00Z", str(chained))]
    distances = {r["start_time"][:10]: r["distance_km"] for r in shoetrack.json("runs")}
    assert distances == {"2026-03-02": pytest.approx(2), "2026-03-04": pytest.approx(4),
                         "2026-03-06": pytest.approx(6)}


def test_a_chained_file_whose_every_run_is_stored_is_a_duplicate(shoetrack, inbox):
    a = write(inbox / "a.fit", fitgen.run("2026-03-02T06:30:00Z"))
    b = write(inbox / "b.fit", fitgen.run("2026-03-05T06:30:00Z", km=8))
    shoetrack("import", a, b)
    chained = write(inbox / "chain" / "ab.fit", fitgen.chain(a.read_bytes(), b.read_bytes()))
    report = shoetrack.json("import", chained)
    assert report["imported"] == []
    assert report["duplicate"] == [{"path": str(chained), "of": str(a)}]
    assert len(shoetrack.json("runs")) == 2


def test_a_file_chained_to_itself_stores_its_run_once(shoetrack, inbox):
    run = fitgen.run("2026-03-02T06:30:00Z")
    twice = write(inbox / "twice.fit", fitgen.chain(run, run))
    assert shoetrack.json("import", twice)["imported"] == [{"path": str(twice), "sessions": 1, "already_stored": 1}]
    assert _starts(shoetrack) == [("2026-03-02T06:30:00Z", str(twice))]


def test_a_run_chained_after_a_settings_file_is_imported(shoetrack, inbox):
    chained = write(inbox / "chained.fit", fitgen.chain(fitgen.non_activity(2), fitgen.run("2026-03-02T06:30:00Z")))
    assert shoetrack.json("import", chained)["imported"] == [{"path": str(chained), "sessions": 1}]
    assert _starts(shoetrack) == [("2026-03-02T06:30:00Z", str(chained))]


def test_multisport_legs_are_judged_one_by_one(shoetrack, inbox):
    from datetime import timedelta

    start = datetime(2026, 5, 3, 7, 0, tzinfo=timezone.utc)
    run_leg = Session(start + timedelta(minutes=105), sport=1, distance_m=10000, elapsed_s=2700)
    phone = write(inbox / "1-phone-run.fit", fitgen.activity([run_leg], serial=222))
    tri = write(inbox / "2-watch-tri.fit", fitgen.activity(
        [Session(start, sport=5, distance_m=1500, elapsed_s=1800),
         Session(start + timedelta(minutes=32), sport=2, distance_m=40000, elapsed_s=4200), run_leg]))
    report = shoetrack.json("import", inbox)
    assert report["imported"] == [{"path": str(phone), "sessions": 1},
                                  {"path": str(tri), "sessions": 2, "already_stored": 1}]
    rows = shoetrack.json("runs", "--all-sports")
    assert sorted((r["sport"], r["source"]) for r in rows) == [
        ("cycling", str(tri)), ("running", str(phone)), ("swimming", str(tri))]
