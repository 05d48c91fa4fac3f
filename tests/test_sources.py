"""`shoetrack sources` and the sources of `status`: every place runs are read from, whether
it is there now, when the daemon last looked through it, and what came from it."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone

import pytest

from shoetrack import config as config_module
from shoetrack.adapters.store import Store
from tests import fitgen
from tests.helpers import write

KEYS = {"name", "path", "kind", "present", "mode", "watch", "poll_seconds", "last_scanned", "files", "runs"}


def _line(text: str, *words: str) -> str:
    """The one line of `text` that holds every word."""
    [line] = [line for line in text.splitlines() if all(word in line for word in words)]
    return line


@pytest.fixture
def no_machine_devices(monkeypatch, tmp_path):
    """Watches plugged into the machine running the tests stay out of them."""
    monkeypatch.setattr(config_module, "DEFAULT_DEVICE_ROOTS", (str(tmp_path / "no-media"),))


@pytest.fixture
def folders(shoetrack, tmp_path, isolated_home, no_machine_devices):
    """The inbox with one run, a watched folder with three files (a run, three runs
    chained in one file, a settings file), a watched folder that is not there, and a folder named
    like the watched one but not watched, all imported."""
    inbox = isolated_home / "shoetrack-inbox"
    write(inbox / "inbox.fit", fitgen.run("2026-11-18T06:30:00Z", km=8))
    sync = tmp_path / "sync"
    write(sync / "one.fit", fitgen.run("2026-11-19T06:30:00Z", km=10))
    write(sync / "deeper" / "three.fit", fitgen.chain(fitgen.run("2026-11-20T06:30:00Z", km=5),
                                                      fitgen.run("2026-11-20T12:30:00Z", km=4),
                                                      fitgen.run("2026-11-20T17:30:00Z", km=6)))
    write(sync / "settings.fit", fitgen.non_activity(2))
    write(tmp_path / "sync-old" / "old.fit", fitgen.run("2026-11-01T06:30:00Z", km=12))
    shoetrack.config = write(tmp_path / "config.toml", (
        f'[[watch]]\npath = "{sync}"\n\n[[watch]]\npath = "{tmp_path / "gone"}"\npoll_seconds = 300\n'
    ).encode())
    for folder in (inbox, sync, tmp_path / "sync-old"):
        shoetrack("import", folder)
    return inbox, sync, tmp_path / "gone"


def test_sources_lists_the_inbox_and_the_watched_folders(shoetrack, folders):
    inbox, sync, gone = folders
    three_min_ago = datetime.now(timezone.utc) - timedelta(minutes=3, seconds=5)
    with Store(shoetrack.db) as store:  # as the daemon writes down each look through a place
        store.record_scan(str(inbox), "inbox", None, three_min_ago.strftime("%Y-%m-%dT%H:%M:%SZ"))
        store.record_scan(str(sync), "folder", None, "2026-11-20T18:04:00Z")
    here, there, missing = shoetrack.json("sources")["sources"]

    assert set(here) == KEYS | {"after_import"} and set(there) == KEYS and set(missing) == KEYS
    assert here == {"name": "inbox", "path": str(inbox), "kind": "inbox", "present": True, "mode": "inbox",
                    "watch": "events", "poll_seconds": None, "files": 1, "runs": 1, "after_import": "keep",
                    "last_scanned": three_min_ago.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert there == {"name": str(sync), "path": str(sync), "kind": "folder", "present": True,
                     "mode": "read-only", "watch": "events", "poll_seconds": None,
                     "last_scanned": "2026-11-20T18:04:00Z", "files": 3, "runs": 4}
    assert missing == {"name": str(gone), "path": str(gone), "kind": "folder", "present": False,
                       "mode": "read-only", "watch": "poll", "poll_seconds": 300.0,
                       "last_scanned": None, "files": 0, "runs": 0}

    text = shoetrack("sources").stdout
    assert len(text.splitlines()) == 4  # a header, then one line per place
    line = _line(text, "~/shoetrack-inbox")  # under the home: shown with ~
    assert line.startswith("inbox") and "here" in line and "files kept" in line
    assert "3 min ago" in line and line.endswith("1 file, 1 run")
    line = _line(text, str(sync) + " ")
    assert line.startswith("folder") and " here " in line and "read-only" in line and "for changes" in line
    assert "2026-11-20 18:04" in line and line.endswith("3 files, 4 runs")  # in local time (UTC here)
    line = _line(text, str(gone))
    assert "not there now" in line and "every 5 min" in line and "never" in line and line.endswith("0 files, 0 runs")


def test_a_deleted_run_no_longer_counts_as_come_from_its_place(shoetrack, folders):
    _, sync, _ = folders
    [run] = [r for r in shoetrack.json("runs") if r["start_time"] == "2026-11-19T06:30:00Z"]
    shoetrack("runs", "delete", run["id"])
    there = shoetrack.json("sources")["sources"][1]
    assert there["path"] == str(sync) and (there["files"], there["runs"]) == (3, 3)


def test_status_lists_the_sources_last(shoetrack, folders):
    inbox, sync, gone = folders
    report = shoetrack.json("status")
    assert report["sources"] == shoetrack.json("sources")["sources"]
    assert {"shoes", "load", "alerts", "weekly_km"} <= set(report)  # what status said before is still there

    lines = shoetrack("status").stdout.splitlines()
    assert lines[-4] == "Sources:"
    assert lines[-3].split() == ["inbox", "~/shoetrack-inbox", "here", "1", "file"]
    assert lines[-2].split() == ["folder", str(sync), "here", "3", "files"]
    assert lines[-1].split() == ["folder", str(gone), "not", "there", "now", "0", "files"]


def test_a_watch_plugged_in_is_listed_by_its_name_and_stays_listed_once_gone(shoetrack, tmp_path, monkeypatch):
    media, sync = tmp_path / "media", tmp_path / "sync"
    sync.mkdir()
    activity = media / "WATCH" / "GARMIN" / "ACTIVITY"
    write(activity / "a.fit", fitgen.run("2026-11-19T06:30:00Z", km=8))
    write(activity / "b.fit", fitgen.run("2026-11-20T06:30:00Z", km=9))
    write(media / "WATCH" / "GARMIN" / "GarminDevice.xml",
          b'<?xml version="1.0"?><Device><Model><PartNumber>006-B3076-00</PartNumber>'
          b"<Description>Forerunner 245</Description></Model></Device>")
    shoetrack.config = write(tmp_path / "config.toml", (
        f'[watch]\ndevice_roots = ["{media}"]\n\n[[watch.places]]\npath = "{sync}"\n').encode())
    shoetrack("import", activity)

    inbox, folder, device = shoetrack.json("sources")["sources"]
    assert (inbox["kind"], folder["kind"], folder["path"]) == ("inbox", "folder", str(sync))
    assert set(device) == KEYS
    assert device == {"name": "Forerunner 245", "path": str(activity), "kind": "device", "present": True,
                      "mode": "read-only", "watch": "poll", "poll_seconds": device["poll_seconds"],
                      "last_scanned": None, "files": 2, "runs": 2}
    assert device["poll_seconds"] > 0  # a device is always looked at on a timer
    line = _line(shoetrack("sources").stdout, "Forerunner 245")
    assert line.startswith("device") and " plugged in " in line and line.endswith("2 files, 2 runs")

    with Store(shoetrack.db) as store:
        store.record_scan(str(activity), "device", "Forerunner 245", "2026-11-20T18:04:00Z")
    shutil.rmtree(media / "WATCH")  # unplugged
    monkeypatch.setenv("TZ", "IST-5:30")  # times are shown in local time
    time.tzset()
    *_, device = shoetrack.json("sources")["sources"]
    assert (device["name"], device["kind"], device["present"]) == ("Forerunner 245", "device", False)
    assert (device["last_scanned"], device["files"], device["runs"]) == ("2026-11-20T18:04:00Z", 2, 2)
    line = _line(shoetrack("sources").stdout, "Forerunner 245")
    assert "not plugged in" in line and "2026-11-20 23:34" in line and line.endswith("2 files, 2 runs")
    assert _line(shoetrack("status").stdout, "Forerunner 245").split() == [
        "device", "Forerunner", "245", "not", "plugged", "in", "2", "files"]


def test_config_check_notes_a_watched_folder_that_is_not_there(shoetrack, tmp_path, isolated_home):
    gone = tmp_path / "gone"
    shoetrack.config = write(tmp_path / "config.toml", f'[[watch]]\npath = "{gone}"\n'.encode())
    lines = shoetrack("config", "check").stdout.splitlines()
    assert lines == [f"note: watch[1].path: {gone} is not there now; it is read when it appears",
                     f"config OK: {shoetrack.config}"]
