"""The inbox's edges in move mode, and what a kill -9 of an import leaves behind.

Real processes only: the daemon as tests/desktop.py runs it, watching a real
inbox; the `shoetrack import` command; /proc to see which processes are left.
Nothing waits a fixed time: every wait is for a condition, with a timeout.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from shoetrack.adapters.fit import Decoder
from tests import fitgen
from tests.desktop import DaemonProcess, wait_until
from tests.helpers import write

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads processes from Linux's /proc")

MOVE = 'after_import = "move"\n'
# A sport written as a raw byte: the fast walk steps aside and fitparse decodes the
# file (about 0.1 s for half an hour of per-second records), so decoding takes a while.
SLOW = {"session": {5: (1, fitgen.BYTE)}}


def recent(days_ago: int) -> str:
    return f"{date.today() - timedelta(days=days_ago)}T06:30:00Z"


def env_for(home: Path) -> dict:
    """The daemon's environment: no desktop session (nothing here is about notifying)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    return {**env, "HOME": str(home)}


def mover_daemon(folder: Path) -> DaemonProcess:
    daemon = DaemonProcess(folder, env_for(folder))
    daemon.config.write_text(f'[inbox]\npath = "{daemon.inbox}"\n{MOVE}')
    return daemon


@pytest.fixture
def mover(tmp_path):
    daemon = mover_daemon(tmp_path / "m")
    yield daemon
    if daemon.process and daemon.process.poll() is None:
        daemon.stop()


def drop(folder: Path, name: str, data: bytes) -> Path:
    """Write a file the way a copy does: under another name outside, then renamed in."""
    part = folder.parent / (name + ".part")
    part.write_bytes(data)
    os.replace(part, folder / name)
    return folder / name


def tree(folder: Path) -> tuple[set[str], set[str]]:
    """(files, empty folders) under `folder`, as paths relative to it; links count as files."""
    files, empty = set(), set()
    for root, dirs, names in os.walk(folder):
        relative = Path(root).relative_to(folder)
        files.update(str(relative / name) for name in names)
        files.update(str(relative / d) for d in dirs if (Path(root) / d).is_symlink())
        if not dirs and not names and Path(root) != folder:
            empty.add(str(relative))
    return files, empty


def sessions(daemon) -> int:
    rows = daemon.query("SELECT count(*) FROM sessions")
    return rows[0][0] if rows else 0


# -- move mode: links and folders ------------------------------------------------------------

REFUSED = "a link to something outside the folder: not read"


def test_a_refused_link_stays_where_it_is_untouched_and_is_reported(mover, tmp_path):
    elsewhere = write(tmp_path / "elsewhere" / "private.fit", fitgen.run(recent(2), km=9))
    link = mover.inbox / "link.fit"
    link.symlink_to(elsewhere)
    before = os.lstat(link)
    drop(mover.inbox, "good.fit", fitgen.run(recent(1)))
    mover.start()  # both are found by the first scan, and handled in one round
    assert mover.wait_log(rf"INFO skipped {re.escape(str(link))}: {REFUSED}", 10), mover.text()
    assert (mover.inbox / "imported" / "good.fit").is_file()
    # A link made while it runs, to a folder named like a file: refused and left alone too.
    folder_link = mover.inbox / "outside.fit"
    folder_link.symlink_to(elsewhere.parent, target_is_directory=True)
    assert mover.wait_log(rf"INFO skipped {re.escape(str(folder_link))}: {REFUSED}", 10), mover.text()
    assert mover.stop() == 0

    assert link.is_symlink() and os.readlink(link) == str(elsewhere)
    after = os.lstat(link)
    assert (after.st_ino, after.st_mtime_ns, after.st_ctime_ns) == (before.st_ino, before.st_mtime_ns,
                                                                     before.st_ctime_ns)
    assert folder_link.is_symlink() and os.readlink(folder_link) == str(elsewhere.parent)
    assert tree(mover.inbox) == ({"link.fit", "outside.fit", "imported/good.fit"}, set())
    assert tree(elsewhere.parent) == ({"private.fit"}, set())  # nothing read, moved or changed there
    assert elsewhere.read_bytes() == fitgen.run(recent(2), km=9)
    assert sessions(mover) == 1


def test_a_folder_named_like_a_fit_file_is_walked_and_leaves_no_empty_folder(mover, tmp_path):
    """A folder is never imported or moved as a file: its files are handled like any
    others (imported, then moved to the same place under imported/), and a folder
    that moving them empties goes too, in the inbox and in imported/."""
    mover.start()
    # A file that becomes a folder before it settles: the daemon has noticed `dir.fit` as a file.
    drop(mover.inbox, "dir.fit", b"half a file")
    (mover.inbox / "dir.fit").unlink()
    (mover.inbox / "dir.fit").mkdir()
    drop(mover.inbox / "dir.fit", "a.fit", fitgen.run(recent(3)))
    # A folder moved in whole, and one made in place, deeper down.
    staged = write(tmp_path / "staging" / "moved.fit" / "b.fit", fitgen.run(recent(2))).parent
    os.rename(staged, mover.inbox / "moved.fit")
    (mover.inbox / "2026" / "nested.fit").mkdir(parents=True)
    drop(mover.inbox / "2026" / "nested.fit", "c.fit", fitgen.run(recent(1)))

    expected = {"imported/dir.fit/a.fit", "imported/moved.fit/b.fit", "imported/2026/nested.fit/c.fit"}
    assert wait_until(lambda: tree(mover.inbox) == (expected, set()), 15), (tree(mover.inbox), mover.text())
    assert mover.stop() == 0
    assert tree(mover.inbox) == (expected, set())
    assert sessions(mover) == 3
    log = mover.text()
    for name in ("dir.fit/a.fit", "moved.fit/b.fit", "2026/nested.fit/c.fit"):
        assert log.count(f"imported {mover.inbox / name} (1 sessions)") == 1, log
    assert "duplicate" not in log and "failed" not in log and "Traceback" not in log


# -- kill -9: no decoding process outlives the import --------------------------------------

def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            return stream.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as stream:
                found += [int(child) for child in stream.read().split()]
    except OSError:
        pass
    return found


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid`, with its start time (to tell a reused pid apart)."""
    found, todo = {}, _children(pid)
    while todo:
        child = todo.pop()
        fields = _stat(child)
        if fields is not None:
            found[child] = fields[19]  # starttime
            todo += _children(child)
    return found


def grandchildren(pid: int) -> list[int]:
    """Processes started by the fork server (decoding workers), not by `pid` itself."""
    return [g for child in _children(pid) for g in _children(child)]


def cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def survivors(known: dict[int, str], marker: str, group: int | None = None) -> list[str]:
    """Live processes (zombies are dead) that were below the killed process, or are in
    its process group, or mention this test's own folder on their command line."""
    left = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        pid = int(name)
        fields = _stat(pid)
        if fields is None or fields[0] in "ZX":
            continue
        command = _cmdline(pid)
        if known.get(pid) == fields[19] or (group is not None and int(fields[2]) == group) or marker in command:
            left.append(f"{pid} ({fields[0]}): {command[:160]}")
    return left


def stored_files(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM files").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def slow_history(folder: Path, files: int) -> Path:
    for i in range(files):
        write(folder / f"{i:04d}.fit", fitgen.run(recent(400 - i), km=5, minutes=30, records_every_s=1,
                                                  widths=SLOW))
    return folder


FOLLOW_S = 10  # decoding processes exit within milliseconds of the kill; the big file takes far longer


def killed_and_followed(process: subprocess.Popen, marker: str, group: int | None = None) -> list[str]:
    """SIGKILL `process`, leave it unreaped (a zombie still "exists" for os.kill(pid, 0)),
    and return what is still running below it after FOLLOW_S (empty: all gone)."""
    known = descendants(process.pid)
    assert known, "no decoding process was running"
    process.send_signal(signal.SIGKILL)
    wait_until(lambda: _stat(process.pid) is None or _stat(process.pid)[0] == "Z", 10)
    left = wait_until(lambda: not survivors(known, marker, group), FOLLOW_S, step=0.1)
    return [] if left else survivors(known, marker, group)


def _end(process: subprocess.Popen, leftovers: list[str]) -> None:
    """Reap the killed process; end, by pid, whatever the test found still running."""
    if process.poll() is None:
        process.kill()
    process.wait(10)
    for line in leftovers:
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass


needs_two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2,
                                     reason="an import starts decoding workers only with two cores or more")
BIG_ODD = "one big file fitparse decodes in a bounded child"
MANY = "many files decoded by a pool of workers"


@pytest.mark.parametrize("case", [MANY, BIG_ODD])
def test_kill_9_of_an_import_leaves_no_decoding_process_behind(tmp_path, case):
    if case == MANY:
        if (os.cpu_count() or 1) < 2:
            pytest.skip("an import starts decoding workers only with two cores or more")
        source = slow_history(tmp_path / "history", 150)
    else:  # over 1 MiB, decoded by fitparse: 5.5 days of per-second records, ~30 s of work
        source = write(tmp_path / "big.fit", fitgen.run(recent(3), km=200, minutes=8000, records_every_s=1,
                                                        widths=SLOW))
    db = tmp_path / "st.db"
    with open(tmp_path / "import.log", "w") as log:
        # Its own process group, and this test's folder as its working directory: the fork
        # server's command line names it (sys.path), so even a process that escaped is found.
        process = subprocess.Popen([sys.executable, "-m", "shoetrack", "--db", str(db), "import", str(source)],
                                   cwd=tmp_path, stdout=log, stderr=log, start_new_session=True,
                                   env=env_for(tmp_path))
    leftovers = []
    try:
        # The kill falls mid-way, at this machine's pace: with many files, once workers
        # took over after the first files were stored; with the big one, once its
        # decoder has worked a second (it has received the file and is decoding it).
        def decoding() -> bool:
            if case == MANY:
                return stored_files(db) > Decoder.INLINE_FIRST and bool(grandchildren(process.pid))
            return any(cpu_seconds(child) >= 1 for child in grandchildren(process.pid))

        assert wait_until(decoding, 120), (tmp_path / "import.log").read_text()
        assert process.poll() is None, "the import ended before it could be killed: give it more work"
        leftovers = killed_and_followed(process, str(tmp_path), group=process.pid)
        assert leftovers == []
    finally:
        _end(process, leftovers)
    if case == MANY:
        assert Decoder.INLINE_FIRST < stored_files(db) < 150  # it was killed mid-way


@needs_two_cores
def test_kill_9_of_the_daemon_mid_import_leaves_no_decoding_process_behind(tmp_path):
    daemon = DaemonProcess(tmp_path / "d", env_for(tmp_path / "d"))
    slow_history(daemon.inbox, 150)  # all there at start: one round, big enough for workers
    daemon.start()
    leftovers = []
    try:
        assert wait_until(lambda: stored_files(daemon.db) > Decoder.INLINE_FIRST
                          and grandchildren(daemon.process.pid), 120), daemon.text()
        assert daemon.process.poll() is None
        leftovers = killed_and_followed(daemon.process, str(daemon.folder))
        assert leftovers == []
    finally:
        _end(daemon.process, leftovers)
    assert Decoder.INLINE_FIRST < stored_files(daemon.db) < 150
