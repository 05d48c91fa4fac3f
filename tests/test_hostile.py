"""Hostile folders, and every command given wrong arguments."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from shoetrack.cli import cli
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
    import io
    import zipfile

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
        with zipfile.ZipFile(inner, "w") as archive:  # a nested zip is spooled to a temporary file
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
    assert tree(daemon.db.parent) <= {"st.db", "st.db-wal", "st.db-shm", "tmp"}
    assert not list((daemon.db.parent / "tmp").iterdir())


def commands(group: click.Group, prefix: tuple = ()):
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
