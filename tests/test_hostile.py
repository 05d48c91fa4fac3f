"""Hostile folders, and every command given wrong arguments."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import resource
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from shoetrack.adapters import sources
from shoetrack.cli import cli
from shoetrack.cli.base import Group
from tests import fitgen
from tests.desktop import DaemonProcess, wait_until
from tests.helpers import write


def test_a_2_gb_file_is_refused_by_its_size_without_being_read(shoetrack, inbox):
    huge = inbox / "huge.fit"
    with open(huge, "wb") as stream:
        stream.truncate(2 * 1024**3)  # sparse: 2 GB on paper
    started = time.monotonic()
    report = shoetrack.json("import", inbox)
    assert time.monotonic() - started < 5
    assert report["failed"] == [{"path": str(huge), "reason": "file is larger than 64 MiB: not an activity file"}]


MiB = 1024 * 1024

# Runs an import in a process of its own, where no file may grow past 64 MiB, and
# reports what it wrote (every write() call: database, temp files, output), the
# bytes it unpacked from archives and its peak memory.
IMPORT_AND_MEASURE = """
import json, resource, sys
from shoetrack.adapters import sources
from shoetrack.cli import main
if __name__ == "__main__":
    status = None
    try:
        main()
    except SystemExit as stop:
        status = stop.code
    io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
    print(json.dumps({"status": status, "written": int(io["wchar"]), "unpacked": sources.Meter.unpacked,
                      "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}), file=sys.stderr)
"""


def import_measured(tmp_path: Path, *paths: Path) -> tuple[dict, dict]:
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)

    def no_big_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * MiB, resource.RLIM_INFINITY))

    done = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_MEASURE, "--db", str(tmp_path / "measured.db"), "import",
         *map(str, paths), "--json"],
        capture_output=True, text=True, timeout=120, preexec_fn=no_big_files,
        cwd=Path(__file__).resolve().parents[1], env={**os.environ, "TMPDIR": str(temp)})
    stats = json.loads(done.stderr.strip().splitlines()[-1])
    assert stats["status"] in (0, None), done.stderr
    assert not list(temp.iterdir())  # no temp file left behind
    return json.loads(done.stdout), stats


def zeros(stream, size: int) -> None:
    chunk = bytes(8 * MiB)
    for start in range(0, size, len(chunk)):
        stream.write(chunk[:size - start])


def reasons(report: dict) -> dict[str, tuple[str, str]]:
    return {item["path"].rsplit("!", 1)[-1]: (outcome, item["reason"])
            for outcome in ("skipped", "failed") for item in report[outcome]}


def test_a_small_zip_holding_a_huge_inner_zip_is_refused_without_unpacking_it(tmp_path, inbox):
    bomb = inbox / "export.zip"
    # Built by streaming: a 512 MiB inner zip of zeros, deflated into about 2 MB.
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as outer:
        outer.writestr("export/run.fit", fitgen.run("2026-03-01T06:30:00Z"))
        with outer.open("export/part1.zip", "w", force_zip64=True) as raw:
            with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as inner:
                with inner.open("big.fit", "w", force_zip64=True) as big:
                    zeros(big, 512 * MiB)
    assert bomb.stat().st_size < 3 * MiB
    report, stats = import_measured(tmp_path, inbox)
    assert [i["path"] for i in report["imported"]] == [f"{bomb}!export/run.fit"]
    outcome, reason = reasons(report)["export/part1.zip"]
    assert outcome == "skipped" and "over 100:1 like a zip bomb: not read; unpack it yourself" in reason
    assert stats["written"] < 4 * MiB, stats  # the old code spooled the inner zip to a temp file
    assert stats["unpacked"] < MiB, stats
    assert stats["rss_mib"] < 100, stats


def zip_of_copies(path: Path, names: list[str], size: int) -> None:
    """A zip whose members each hold `size` zeros, deflated once and copied into
    every member (zipfile would deflate each: 100 x 63 MiB takes seconds)."""
    packer, crc, packed = zlib.compressobj(9, zlib.DEFLATED, -15), 0, []
    for start in range(0, size, MiB):
        chunk = bytes(min(MiB, size - start))
        crc = zlib.crc32(chunk, crc)
        packed.append(packer.compress(chunk))
    data = b"".join(packed) + packer.flush()
    local, central = bytearray(), bytearray()
    for name in map(str.encode, names):
        fields = (20, 0, zipfile.ZIP_DEFLATED, 0, 0x21, crc, len(data), size, len(name))
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, len(local)) + name
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, 0) + name + data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(names), len(names), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))


def test_a_hundred_members_of_63_mib_zeros_are_refused_before_one_is_unpacked(shoetrack, inbox):
    bomb = inbox / "export.zip"
    names = [f"activities/{n:03d}.fit" for n in range(100)]
    zip_of_copies(bomb, names, 63 * MiB)
    run = fitgen.run("2026-03-01T06:30:00Z")
    with zipfile.ZipFile(bomb, "a") as archive:  # zipfile reads it and adds a real run
        archive.writestr("activities/run.fit", run)
        assert [i.file_size for i in archive.infolist()] == [63 * MiB] * 100 + [len(run)]
        assert len(archive.read(names[0])) == 63 * MiB  # a real zip, members and CRCs
    assert bomb.stat().st_size < 8 * MiB
    before = sources.Meter.unpacked
    report = shoetrack.json("import", inbox)
    assert sources.Meter.unpacked - before == len(run)  # not one byte of the bombs
    assert [i["path"] for i in report["imported"]] == [f"{bomb}!activities/run.fit"]
    refused = reasons(report)
    assert set(refused) == set(names)
    for outcome, reason in refused.values():
        assert outcome == "skipped"
        assert reason.startswith("would unpack to 63 MiB from ") and "over 100:1 like a zip bomb" in reason


def patch_size(data: bytes, name: bytes, size: int) -> bytes:
    """Make both headers of a member claim `size` unpacked bytes."""
    data = bytearray(data)
    local, central = data.index(b"PK\x03\x04" + data[4:26]), data.rindex(name) - 46
    assert data[local + 30:local + 30 + len(name)] == name and data[central:central + 4] == b"PK\x01\x02"
    struct.pack_into("<L", data, local + 22, size)
    struct.pack_into("<L", data, central + 24, size)
    return bytes(data)


def test_a_member_whose_header_lies_about_its_size_is_stopped_there(shoetrack, inbox):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("liar.fit", "w") as liar:
            zeros(liar, 32 * MiB)
        archive.writestr("run.fit", run := fitgen.run("2026-03-01T06:30:00Z"))
    path = write(inbox / "export.zip", patch_size(buffer.getvalue(), b"liar.fit", 1000))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("liar.fit").file_size == 1000
    before = sources.Meter.unpacked
    report = shoetrack.json("import", inbox)
    assert sources.Meter.unpacked - before <= 1001 + len(run)
    assert [i["path"] for i in report["imported"]] == [f"{path}!run.fit"]
    assert reasons(report) == {"liar.fit": ("failed", "holds more than the 1000 bytes its header declares "
                                                      "(a damaged or forged archive): not read; download it again")}


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED,
              stored: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data, zipfile.ZIP_STORED if name in stored else method)
    return buffer.getvalue()


def test_a_real_export_with_nested_zips_imports_every_run_without_temp_files(tmp_path, inbox):
    runs = [fitgen.run(f"2026-03-{day:02d}T06:30:00Z", km=5 + day) for day in range(1, 10)]
    uploads = "DI_CONNECT/DI-Connect-Uploaded-Files/"
    part1 = zip_bytes({**{f"{n}.fit": runs[n] for n in range(4)},
                       "wellness.fit": fitgen.non_activity(32),
                       "notes.bin": os.urandom(12 * MiB)})  # incompressible: a 12 MiB inner zip
    deepest = zip_bytes({"8.fit.gz": gzip.compress(runs[8])})
    part2 = zip_bytes({"4.fit": runs[4], "5.fit": runs[5], "more/part3.zip": deepest}, zipfile.ZIP_STORED)
    export = write(inbox / "garmin.zip", zip_bytes({
        f"{uploads}UploadedFiles_0-_Part1.zip": part1,  # deflated: read in memory
        f"{uploads}UploadedFiles_0-_Part2.zip": part2,  # stored: read where it lies
        "DI_CONNECT/DI-Connect-User/user_profile.json": b"{}",
        "activities/6.fit": runs[6], "activities/7.fit.gz": gzip.compress(runs[7]),
    }, stored=(f"{uploads}UploadedFiles_0-_Part2.zip",)))
    report, stats = import_measured(tmp_path, inbox)
    inside = f"{export}!{uploads}UploadedFiles_0-_Part"
    assert sorted(i["path"] for i in report["imported"]) == sorted([
        *(f"{inside}1.zip!{n}.fit" for n in range(4)), f"{inside}2.zip!4.fit", f"{inside}2.zip!5.fit",
        f"{export}!activities/6.fit", f"{export}!activities/7.fit.gz", f"{inside}2.zip!more/part3.zip!8.fit.gz"])
    assert [i["path"] for i in report["skipped"]] == [f"{inside}1.zip!wellness.fit"]
    assert report["failed"] == []
    assert stats["written"] < 4 * MiB, stats  # the old code wrote the 12 MiB part to a temp file


def test_the_budget_is_one_for_all_nesting_levels(shoetrack, inbox, monkeypatch):
    runs = [fitgen.run(f"2026-03-{day:02d}T06:30:00Z", km=5 + day) for day in range(1, 7)]
    inner = zip_bytes({"c.fit": runs[2], "d.fit": runs[3]})
    write(inbox / "export.zip", zip_bytes({"a.fit": runs[0], "b.fit": runs[1], "c/part.zip": inner,
                                             "d.fit": runs[4], "e.fit": runs[5]}))
    budget = 2 * len(runs[0]) + len(inner) + len(runs[2])  # a, b, the inner zip and c
    monkeypatch.setattr(sources, "BUDGET_FLOOR", budget)
    monkeypatch.setattr(sources, "BUDGET_PER_BYTE", 0)
    before = sources.Meter.unpacked
    report = shoetrack.json("import", inbox)
    assert sources.Meter.unpacked - before <= budget
    assert sorted(i["path"].split("!", 1)[1] for i in report["imported"]) == ["a.fit", "b.fit", "c/part.zip!c.fit"]
    skipped = {i["path"].split("!", 1)[1]: i["reason"] for i in report["skipped"]}
    assert set(skipped) == {"c/part.zip!d.fit", "d.fit", "e.fit"}  # d.fit in the inner zip too
    for reason in skipped.values():
        assert reason.startswith("the archive would unpack to more than ") and reason.endswith(
            " in all: not read; unpack it yourself and import the folder if you trust it"), reason
    assert report["failed"] == []


def test_an_inner_zip_too_big_for_memory_goes_to_a_temp_file_that_disappears(shoetrack, inbox, tmp_path,
                                                                               monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    made = []
    real = tempfile.TemporaryFile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **kw: made.append(kw) or real(**kw))
    monkeypatch.setattr(sources, "MAX_ARCHIVES_IN_MEMORY", 1024)
    inner = zip_bytes({"1.fit": fitgen.run("2026-03-01T06:30:00Z"), "pad.bin": os.urandom(4096)})
    export = write(inbox / "export.zip", zip_bytes({"part.zip": inner}))
    report = shoetrack.json("import", inbox)
    assert [i["path"] for i in report["imported"]] == [f"{export}!part.zip!1.fit"]
    assert len(made) == 1 and not list(temp.iterdir())


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_file_in_the_inbox_is_not_read(shoetrack, inbox):
    os.mknod(inbox / "zero.fit", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero would never end
    report = shoetrack.json("import", inbox)
    assert report["skipped"] == [{"path": str(inbox / "zero.fit"),
                                  "reason": "not a regular file (a pipe, socket or device): not read"}]


def test_links_out_of_a_folder_are_not_followed(shoetrack, inbox, tmp_path):
    secret = write(tmp_path / "elsewhere" / "secret.fit", fitgen.run("2026-03-02T06:30:00Z"))
    (inbox / "link.fit").symlink_to(secret)
    (inbox / "inside.fit").symlink_to(write(inbox / "sub" / "real.fit", fitgen.run("2026-03-03T06:30:00Z")))
    report = shoetrack.json("import", inbox)
    assert report["skipped"] == [{"path": str(inbox / "link.fit"),
                                  "reason": "a link to something outside the folder: not read"}]
    assert {i["path"] for i in report["imported"]} | {i["path"] for i in report["duplicate"]} == {
        str(inbox / "inside.fit"), str(inbox / "sub" / "real.fit")}


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_the_daemon_reads_and_writes_nowhere_but_its_inbox_and_data_folder(tmp_path):
    home, temp, settings, outside = (tmp_path / name for name in ("h", "t", "settings", "outside"))
    for folder in (home, temp, settings, outside):
        folder.mkdir()
    secret = write(outside / "secret.fit", fitgen.run("2026-02-01T06:30:00Z"))
    env = {**{k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")},
           "HOME": str(home), "TMPDIR": str(temp), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local" / "share")}
    daemon = DaemonProcess(tmp_path / "work", env, "[notify]\nenabled = false\n")
    daemon.config.rename(settings / "config.toml")
    daemon.config = settings / "config.toml"
    daemon.db = tmp_path / "work" / "data" / "st.db"
    daemon.db.parent.mkdir()
    before = {name: tree(folder) for name, folder in (("home", home), ("tmp", temp), ("settings", settings),
                                                      ("outside", outside))}
    daemon.start()
    try:
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as archive:  # a nested zip is read in place, never spooled
            archive.writestr("1.fit", fitgen.run("2026-03-01T06:30:00Z"))
        outer = io.BytesIO()
        with zipfile.ZipFile(outer, "w") as archive:
            archive.writestr("export/part1.zip", inner.getvalue())
        write(daemon.inbox / "export.zip", outer.getvalue())
        for n in range(30):  # enough to start the worker processes
            write(daemon.inbox / f"run{n:02d}.fit", fitgen.run(f"2026-04-{n % 28 + 1:02d}T{6 + n // 28:02d}:30:00Z"))
        (daemon.inbox / "link.fit").symlink_to(secret)
        assert daemon.wait_log(r"skipped .*link\.fit: a link to something outside", 15), daemon.text()
        assert wait_until(lambda: len(daemon.query("SELECT id FROM sessions")) == 31, 15), daemon.text()
    finally:
        assert daemon.stop() == 0
    after = {name: tree(folder) for name, folder in (("home", home), ("tmp", temp), ("settings", settings),
                                                     ("outside", outside))}
    assert after == before
    # Besides the database: its daily backup (taken at start), the lock the daemon holds and
    # the report page it writes after each import.
    backups = {path for path in tree(daemon.db.parent) if re.fullmatch(r"backups/shoetrack-\d{8}T\d{6}Z\.db", path)}
    assert len(backups) == 1
    assert tree(daemon.db.parent) - backups <= {"st.db", "st.db-wal", "st.db-shm", "tmp", "backups",
                                                "st.db.daemon.lock", "report.html"}
    assert not list((daemon.db.parent / "tmp").iterdir())


def commands(group: click.Group, prefix: tuple = ()):
    if isinstance(group, Group):
        group.load_all()  # commands load when run: register every one
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in commands(cli)])
def test_every_command_answers_wrong_arguments_with_one_line(path, tmp_path):
    for wrong in (["--no-such-option"], ["--json", "--json", "stray", "extra", "arguments", "here"]):
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "st.db"), *path.split(), *wrong])
        assert result.exit_code != 0, (path, wrong, result.output)
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
            path, wrong, repr(result.exception))
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (path, wrong, result.output)
        assert "Traceback" not in result.output
