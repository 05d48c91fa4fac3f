"""The mount table and the watches on it, read from text and real folders (no mount needed)."""

from __future__ import annotations

from pathlib import Path

from shoetrack.adapters import devices

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /run/user/1000 rw shared:20 - tmpfs tmpfs rw
41 40 0:36 / /run/user/1000/gvfs rw shared:21 - fuse.gvfsd-fuse gvfsd-fuse rw,user_id=1000
42 22 8:17 / /media/ana/GARMIN\\040WATCH rw shared:30 - vfat /dev/sdb1 rw
43 22 8:33 / /media/ana/BIG rw shared:31 - fuseblk /dev/sdc1 rw
44 22 0:50 / /mnt/nas rw shared:32 - nfs4 nas:/runs rw
"""


def test_the_mount_table_is_read_with_its_escapes_and_the_deepest_mount_wins():
    table = devices.mount_table(MOUNTINFO)
    assert ("/media/ana/GARMIN WATCH", "vfat") in table and len(table) == 6
    kind = lambda path: devices.filesystem_type(Path(path), table)  # noqa: E731
    assert kind("/run/user/1000/gvfs/mtp:host=Garmin_Forerunner_245_0000c0ffee/Primary") == "fuse.gvfsd-fuse"
    assert kind("/run/user/1000/bus") == "tmpfs"
    assert kind("/media/ana/GARMIN WATCH/GARMIN") == "vfat"
    assert kind("/media/ana/GARMIN WATCHES") == "ext4"  # a longer name is not inside the mount


def test_only_file_systems_changed_from_elsewhere_are_polled():
    assert [t for t in ("fuse.gvfsd-fuse", "fuse", "fuse.sshfs", "nfs4", "cifs", "9p") if devices.polled_type(t)] == \
        ["fuse.gvfsd-fuse", "fuse", "fuse.sshfs", "nfs4", "cifs", "9p"]
    assert not any(devices.polled_type(t) for t in ("ext4", "vfat", "fuseblk", "tmpfs", None))


def test_watches_are_found_in_any_case_directly_or_one_storage_down(tmp_path):
    root = tmp_path / "media"
    (root / "GARMIN" / "garmin" / "ACTIVITY").mkdir(parents=True)
    (root / "GARMIN" / "garmin" / "GarminDevice.xml").write_text(
        '<Device xmlns="http://www.garmin.com/xmlschemas/GarminDevice/v2"><Id>1</Id>'
        "<Model><PartNumber>006-B3076-00</PartNumber><Description>Forerunner &amp; 245</Description></Model>"
        "<Description>not the model</Description></Device>")
    mtp = root / "mtp:host=Garmin_Fenix_7_0000c0ffee12"
    (mtp / "Internal Storage" / "GARMIN" / "Activity").mkdir(parents=True)
    (root / "USBSTICK" / "photos").mkdir(parents=True)  # no GARMIN/Activity: not a watch
    found = {d.label: d.folder for d in devices.find_devices([root, tmp_path / "not-there"])}
    assert found == {"Forerunner & 245": root / "GARMIN" / "garmin" / "ACTIVITY",
                     "Garmin Fenix 7": mtp / "Internal Storage" / "GARMIN" / "Activity"}
