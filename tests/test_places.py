"""Places besides the inbox, read by the real daemon: watched folders, polled folders,
FUSE mounts and watches plugged in (a folder with GARMIN/Activity appearing under a
removable-media root, as udisks or gvfs would mount it).

Real folders stand in for the devices: moved in whole (as a mount appears at once),
or bind-mounted read-only, and a real FUSE mount (bindfs) where this machine allows
mounting. Every file on a device is checked unchanged afterwards: its bytes, its
modification time, and the folder's listing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests import fitgen
from tests.desktop import DaemonProcess, Desktop, missing_tools, quiet_env, run_count, wait_until

OLD = time.time() - 3 * 86400  # a watch's files were written when the runs were recorded


def day(days_ago: int, hour: int = 6) -> datetime:
    return datetime.combine(date.today() - timedelta(days=days_ago), datetime.min.time(),
                            tzinfo=timezone.utc).replace(hour=hour)


def make_watch(folder: Path, runs: list[bytes], model: str | None = "Forerunner 245") -> Path:
    """A watch's storage as it mounts: GARMIN/GarminDevice.xml and GARMIN/Activity/*.fit."""
    activity = folder / "GARMIN" / "Activity"
    activity.mkdir(parents=True)
    if model:
        (folder / "GARMIN" / "GarminDevice.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<Device xmlns="http://www.garmin.com/xmlschemas/GarminDevice/v2">'
            f"<Model><PartNumber>006-B3076-00</PartNumber><Description>{model}</Description></Model></Device>\n")
    for number, data in enumerate(runs):
        path = activity / f"{number:05d}.FIT"
        path.write_bytes(data)
        os.utime(path, (OLD, OLD))
    return activity


def fingerprint(folder: Path) -> dict:
    """Every entry under `folder`: its bytes' digest (files) and modification time."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            st = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            found[str(path.relative_to(folder))] = (digest, st.st_mtime_ns, st.st_size if digest else None)
    return found


def can_mount(tmp_path: Path) -> str | None:
    """Why bind mounts cannot be made here, or None when they can."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return "bind mounts need root and mount(8)"
    source, target = tmp_path / "probe-src", tmp_path / "probe-dst"
    source.mkdir()
    target.mkdir()
    made = subprocess.run(["mount", "-o", "bind,ro", str(source), str(target)], capture_output=True, text=True)
    if made.returncode:
        return f"mount refused here: {made.stderr.strip()}"
    subprocess.run(["umount", str(target)], check=True)
    return None


def unmount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture
def desktop(tmp_path):
    missing = missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt: dbus-daemon xvfb dunst)")
    session = Desktop(tmp_path).start()
    yield session
    session.stop()


@pytest.mark.parametrize("how", ["moved in", "bind-mounted read-only"])
def test_a_watch_that_appears_is_read_in_place_and_announced_once(tmp_path, desktop, how):
    media, built = tmp_path / "media", tmp_path / "built" / "GARMIN-FR245"
    media.mkdir()
    runs = [fitgen.run(day(n), km=26, serial=3900000245) for n in (5, 3, 1)]
    make_watch(built, runs)
    before = fingerprint(built)
    if how != "moved in":
        reason = can_mount(tmp_path)
        if reason:
            pytest.skip(reason)
    daemon = DaemonProcess(tmp_path / "d", desktop.env,
                           f'[watch]\ndevice_roots = ["{media}"]\n[notify]\nquiet_hours = ""\n')
    assert daemon.cli("shoes", "add", "Road A", "--default-for", "running", "--limit-km", "100").returncode == 0
    daemon.start()
    mount = media / "GARMIN"
    try:
        if how == "moved in":
            os.rename(built, mount)  # appears whole, as a mount does
        else:
            mount.mkdir()
            subprocess.run(["mount", "-o", "bind,ro", str(built), str(mount)], check=True)
        assert daemon.wait_log(r"notified: 3 runs from Forerunner 245", 20), daemon.text()
        [note] = desktop.shoetrack_notes()
        assert note["summary"] == "3 runs from Forerunner 245 · Road A now 78 %"
        assert run_count(daemon) == 3
        assert daemon.query("SELECT DISTINCT shoe_reason FROM sessions") == [("default",)]
        # Read in place: each run's source is the file on the watch, and nothing there changed.
        activity = mount / "GARMIN" / "Activity"
        assert sorted(r[0] for r in daemon.query("SELECT source FROM sessions")) == sorted(
            str(p) for p in activity.iterdir())
        assert fingerprint(mount) == before
        assert f"found Forerunner 245 at {activity}" in daemon.text()

        # Plugged in again with nothing new: nothing is read again, and nothing is said.
        rounds = daemon.text().count("went away")
        if how == "moved in":
            os.rename(mount, built)
        else:
            unmount(mount)
        assert daemon.wait_log(r"Forerunner 245 went away", 10, count=rounds + 1), daemon.text()
        if how == "moved in":
            os.rename(built, mount)
        else:
            subprocess.run(["mount", "-o", "bind,ro", str(built), str(mount)], check=True)
        assert daemon.wait_log(f"found Forerunner 245 at {activity}", 10, count=2), daemon.text()
        assert wait_until(lambda: len(daemon.query("SELECT * FROM places WHERE kind = 'device'")) == 1, 10)
        assert daemon.stop() == 0
        assert len(desktop.shoetrack_notes()) == 1 and daemon.text().count("notified:") == 1
        assert "imported" not in daemon.text().split(f"found Forerunner 245 at {activity}")[-1]
        assert fingerprint(mount) == before
    finally:
        if daemon.process.poll() is None:
            daemon.stop()
        if how != "moved in":
            unmount(mount)


def test_a_watch_unplugged_mid_import_leaves_whole_runs_and_is_finished_when_back(tmp_path):
    """Unplugging lands between two files: every run stored is whole (each file's runs all
    there), none twice, and the rest comes in when the watch is back, with one line."""
    media, away = tmp_path / "media", tmp_path / "unplugged"
    media.mkdir()
    start = day(400)
    runs = [fitgen.run(start + timedelta(hours=5 * n), km=5) for n in range(1500)]
    make_watch(away / "FR", runs, model=None)  # no GarminDevice.xml: named after its mount
    before = fingerprint(away / "FR")
    daemon = DaemonProcess(tmp_path / "d", quiet_env(tmp_path),
                           f'[watch]\ndevice_roots = ["{media}"]\n[notify]\nenabled = false\n')
    daemon.start()
    try:
        os.rename(away / "FR", media / "FR")
        assert wait_until(lambda: run_count(daemon) > 0, 20, step=0.002), daemon.text()
        os.rename(media / "FR", away / "FR")  # unplugged while it imports
        assert daemon.wait_log(r"FR went away", 10), daemon.text()
        stored = run_count(daemon)
        assert 0 < stored < len(runs), f"the import was over before the unplug ({stored} runs): {daemon.text()}"
        assert "FR went away during its import" in daemon.text()

        os.rename(away / "FR", media / "FR")
        assert daemon.wait_log(r"INFO 1500 runs from FR", 60), daemon.text()
        assert run_count(daemon) == len(runs)
        assert daemon.query("SELECT count(DISTINCT start_time) FROM sessions") == [(len(runs),)]
        assert daemon.query("SELECT count(*) FROM files WHERE outcome = 'imported'") == [(len(runs),)]
        half_stored = daemon.query("SELECT count(*) FROM files WHERE sessions != (SELECT count(*) FROM sessions "
                                   "WHERE file_sha256 = files.sha256)")
        assert half_stored == [(0,)]
        assert daemon.query("PRAGMA integrity_check") == [("ok",)]
        assert daemon.stop() == 0
        assert "Traceback" not in daemon.text() and "failed" not in daemon.text()
        assert fingerprint(media / "FR") == before
    finally:
        if daemon.process.poll() is None:
            daemon.stop()


def test_a_polled_folder_picks_up_a_new_file_within_poll_seconds_plus_2(tmp_path):
    synced = tmp_path / "Sync" / "watch"
    synced.mkdir(parents=True)
    (synced / "old.fit").write_bytes(fitgen.run(day(9), km=7))
    poll = 2
    daemon = DaemonProcess(tmp_path / "d", quiet_env(tmp_path),
                           f'[[watch]]\npath = "{synced}"\npoll_seconds = {poll}\n[notify]\nenabled = false\n')
    daemon.start()
    try:
        assert f"reading {synced} in place (read-only, looked through every {poll} s)" in daemon.text()
        assert wait_until(lambda: run_count(daemon) == 1, 10), daemon.text()
        for n in range(3):
            part = tmp_path / f"new{n}.part"
            part.write_bytes(fitgen.run(day(3 - n), km=5 + n))
            os.replace(part, synced / f"new{n}.fit")  # a sync tool's way: written aside, renamed in
            landed = time.monotonic()
            assert wait_until(lambda: run_count(daemon) == 2 + n, poll + 2, step=0.02), daemon.text()
            assert time.monotonic() - landed < poll + 2
        assert sorted(p.name for p in synced.iterdir()) == ["new0.fit", "new1.fit", "new2.fit", "old.fit"]
        assert daemon.stop() == 0
        scanned = daemon.query("SELECT kind, last_scanned FROM places WHERE path = ?", [str(synced)])
        assert [kind for kind, _ in scanned] == ["folder"]
    finally:
        if daemon.process.poll() is None:
            daemon.stop()


def test_a_folder_that_is_not_there_is_read_when_it_appears(tmp_path):
    later = tmp_path / "later"
    daemon = DaemonProcess(tmp_path / "d", quiet_env(tmp_path),
                           f'[[watch]]\npath = "{later}"\n[notify]\nenabled = false\n')
    check = daemon.cli("config", "check")
    assert check.returncode == 0, check.stderr
    assert f"note: watch[1].path: {later} is not there now; it is read when it appears" in check.stdout
    daemon.start()
    try:
        built = tmp_path / "built"
        built.mkdir()
        (built / "run.fit").write_bytes(fitgen.run(day(2), km=9))
        os.rename(built, later)
        assert daemon.wait_log(f"reading {later} in place", 10), daemon.text()
        assert wait_until(lambda: run_count(daemon) == 1, 10), daemon.text()
        assert (later / "run.fit").exists()
    finally:
        daemon.stop()


def bindfs_problem(tmp_path: Path) -> str | None:
    """Why a FUSE mount cannot be made here (bindfs), or None when it can."""
    if shutil.which("bindfs") is None:
        return "bindfs is not installed (apt: bindfs)"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse on this machine"
    source, target = tmp_path / "fuse-probe-src", tmp_path / "fuse-probe"
    source.mkdir()
    target.mkdir()
    made = subprocess.run(["bindfs", str(source), str(target)], capture_output=True, text=True)
    if made.returncode:
        return f"bindfs cannot mount here: {made.stderr.strip()}"
    subprocess.run(["fusermount", "-u", str(target)], capture_output=True)
    return None


def test_a_fuse_mount_is_looked_through_on_a_timer_and_read_in_place(tmp_path):
    """inotify sees no change made to a FUSE file system from elsewhere (as with gvfs's MTP
    mounts): such a folder is found to be FUSE and looked through every 30 s unless the
    config says otherwise. With no FUSE here, a polled folder stands in (see the test above)."""
    problem = bindfs_problem(tmp_path)
    if problem:
        pytest.skip(f"{problem}: test_a_polled_folder_picks_up_a_new_file_within_poll_seconds_plus_2 "
                    "covers a folder looked through on a timer")
    sources, mounts = tmp_path / "phone", tmp_path / "mnt"
    (sources / "a").mkdir(parents=True)
    (sources / "b").mkdir()
    (sources / "a" / "first.fit").write_bytes(fitgen.run(day(6), km=6))
    for name in ("a", "b"):
        (mounts / name).mkdir(parents=True)
        subprocess.run(["bindfs", str(sources / name), str(mounts / name)], check=True)
    try:
        before = fingerprint(sources)
        daemon = DaemonProcess(tmp_path / "d", quiet_env(tmp_path),
                               f'[[watch]]\npath = "{mounts / "a"}"\n'
                               f'[[watch]]\npath = "{mounts / "b"}"\npoll_seconds = 2\n'
                               "[notify]\nenabled = false\n")
        sources_json = daemon.cli("sources", "--json")
        daemon.start()
        try:
            text = daemon.text()
            assert f"reading {mounts / 'a'} in place (read-only, looked through every 30 s)" in text, text
            assert f"reading {mounts / 'b'} in place (read-only, looked through every 2 s)" in text, text
            assert wait_until(lambda: run_count(daemon) == 1, 10), daemon.text()
            # Written beside the mount, not through it: no event can tell; the timer finds it.
            (sources / "b" / "second.fit").write_bytes(fitgen.run(day(4), km=8))
            assert wait_until(lambda: run_count(daemon) == 2, 2 + 2), daemon.text()
            assert daemon.stop() == 0
        finally:
            if daemon.process.poll() is None:
                daemon.stop()
        after = fingerprint(sources)
        changed_by_the_test = ("b", "b/second.fit")  # the folder written to, and the file written
        assert {k: v for k, v in after.items() if k not in changed_by_the_test} == \
            {k: v for k, v in before.items() if k not in changed_by_the_test}
        # `sources` says what the daemon does: the FUSE folder found to be polled, every 30 s.
        assert sources_json.returncode == 0, sources_json.stderr
        listed = {s["path"]: s for s in json.loads(sources_json.stdout)["sources"]}
        assert (listed[str(mounts / "a")]["watch"], listed[str(mounts / "a")]["poll_seconds"]) == ("poll", 30)
        assert (listed[str(mounts / "b")]["watch"], listed[str(mounts / "b")]["poll_seconds"]) == ("poll", 2)
    finally:
        for name in ("a", "b"):
            subprocess.run(["fusermount", "-u", str(mounts / name)], capture_output=True)
