"""The inbox's edges: when a file counts as complete, move mode, and what a kill -9
of an import leaves behind.

Real files and processes only: the inbox tracker (service/inbox.py) on real files,
given the events the watcher would report and the clock as a number; the daemon
as tests/desktop.py runs it, watching a real inbox; the `shoetrack import`
command; /proc to see which processes are left. Nothing waits a fixed time:
every wait is for a condition, with a timeout.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from shoetrack.adapters.fit import Decoder
from shoetrack.adapters import complete
from shoetrack.service import inbox as tracker
from tests import fitgen, trackgen
from tests.desktop import DaemonProcess, wait_until
from tests.helpers import write

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads processes from Linux's /proc")

MOVE = 'after_import = "move"\n'
# A session declaring its sport twice: the fast walk steps aside and fitparse decodes
# the file (about 0.1 s for half an hour of per-second records), so decoding takes a while.
SLOW = {"session": [(5, 0, 1)]}


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


# -- when a file counts as complete (the tracker alone, on real files) ---------------------------

SETTLE = 30.0  # the stability window of these trackers: only a close can make a file ready sooner


def tracked(folder: Path) -> tracker.Inbox:
    folder.mkdir(parents=True, exist_ok=True)
    return tracker.Inbox(folder, settle_s=SETTLE)


def complete_now(path: Path) -> bool:
    """Whether the tracker takes `path` on a close, at once (a fresh tracker, clock at 0)."""
    inbox = tracker.Inbox(path.parent, settle_s=SETTLE)
    inbox.notice(path, tracker.CLOSED)
    return inbox.ready(0.0) == [path]


def test_the_watcher_and_the_tracker_name_events_alike():
    from shoetrack.adapters import watch

    assert watch.KINDS == tracker.KINDS


def test_a_closed_file_is_ready_at_once_and_a_file_without_a_close_only_once_it_held_still(tmp_path):
    inbox = tracked(tmp_path / "inbox")
    closed = write(inbox.folder / "closed.fit", fitgen.run(recent(2)))
    seen = write(inbox.folder / "seen.fit", fitgen.run(recent(1)))
    inbox.notice(closed, tracker.CLOSED)
    inbox.notice(seen, tracker.SEEN)
    assert inbox.ready(100.0) == [closed]
    inbox.done(closed)
    assert inbox.ready(100.0 + SETTLE / 2) == []
    assert inbox.ready(100.0 + SETTLE) == [seen]  # the fallback: held still for the whole window
    inbox.done(seen)
    assert not inbox.has_pending()


def _zip(members: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(members):
            archive.writestr(f"activities/{i}.fit", fitgen.run(recent(i + 1), km=10, records_every_s=1))
    return buffer.getvalue()


TCX = trackgen.tcx(trackgen.Activity(trackgen.START, "Running",
                                     [trackgen.Lap(trackgen.line(5000), distance_m=5000, seconds=1500)]))


@pytest.mark.parametrize("name, parts", [
    ("a.fit", [fitgen.run(recent(1), km=10, records_every_s=1)]),
    ("chained.fit", [fitgen.run(recent(3)), fitgen.run(recent(2), km=7)]),
    ("a.gpx", [trackgen.gpx(trackgen.line(5000), sport="running")]),
    ("a.tcx", [TCX]),
    ("a.fit.gz", [gzip.compress(fitgen.run(recent(1), km=10, records_every_s=1))]),
    ("two-members.fit.gz", [gzip.compress(fitgen.run(recent(1))), gzip.compress(fitgen.run(recent(2)))]),
    ("export.zip", [_zip(3)]),
])
def test_a_file_is_complete_by_its_bytes_and_never_while_any_part_is_missing(tmp_path, name, parts):
    """Every prefix is what a writer may leave between two writes. Only the whole file
    is complete, and a prefix that is itself whole: the first files of a chain, the
    first members of a .gz (the lease, not the bytes, holds those back while the
    writer has the file open), or an XML file without its trailing newline."""
    data = b"".join(parts)
    whole_prefixes = {sum(len(p) for p in parts[:n]) for n in range(1, len(parts) + 1)}
    if name.endswith((".gpx", ".tcx")):
        whole_prefixes |= set(range(len(data.rstrip()), len(data) + 1))
    path = write(tmp_path / name, data)
    assert complete_now(path)
    cuts = {1, 11, 12, 13, 14, 15, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 3,
            len(data) - 2, len(data) - 1} | set(range(50, len(data), max(1, len(data) // 40)))
    cuts |= {n + d for n in whole_prefixes for d in (-1, 1, 12)} - {0}
    for cut in sorted(c for c in cuts if 0 < c < len(data)):
        path.write_bytes(data[:cut])
        assert complete_now(path) == (cut in whole_prefixes), (name, cut, len(data))
    path.write_bytes(data)
    assert complete_now(path)


def test_a_file_that_is_not_provably_complete_waits_until_it_held_still(tmp_path):
    inbox = tracked(tmp_path / "inbox")
    odd = write(inbox.folder / "odd.fit", b"not a FIT file, nor anything else")
    padded = write(inbox.folder / "padded.fit", fitgen.run(recent(1)) + b"\0" * 16)
    for path in (odd, padded):
        inbox.notice(path, tracker.CLOSED)
    assert inbox.ready(0.0) == []
    assert inbox.ready(SETTLE) == [odd, padded]  # their import decides what they are


def test_a_write_after_the_close_cancels_it_until_the_next_close(tmp_path):
    inbox = tracked(tmp_path / "inbox")
    data = fitgen.run(recent(1), km=10, records_every_s=1)
    path = write(inbox.folder / "a.fit", data)
    inbox.notice(path, tracker.CLOSED)
    inbox.notice(path, tracker.WRITTEN)  # (the bytes happen to be whole: the write is what counts)
    inbox.notice(path, tracker.SEEN)  # a scan or an attribute change vouches for nothing, cancels nothing
    assert inbox.ready(0.0) == []
    inbox.notice(path, tracker.CLOSED)
    assert inbox.ready(1.0) == [path]


def test_a_close_while_another_writer_has_the_file_open_takes_nothing(tmp_path):
    """A chain of FIT files, written by one writer that keeps it open: after the first
    file its bytes look complete, yet a close by someone else (a `touch`) takes nothing
    while the writer still has it open; the writer's own close does."""
    inbox = tracked(tmp_path / "inbox")
    first, second = fitgen.run(recent(2)), fitgen.run(recent(1))
    path = inbox.folder / "chain.fit"
    with open(path, "wb") as writer:
        writer.write(first)
        writer.flush()
        with open(path, "rb") as reader:
            assert complete.bytes_complete(reader.fileno(), len(first))  # the bytes alone look complete
        open(path, "ab").close()  # another opener closes it: inotify reports a close after writing
        inbox.notice(path, tracker.CLOSED)
        assert inbox.ready(0.0) == []
        writer.write(second)
    inbox.notice(path, tracker.WRITTEN)
    inbox.notice(path, tracker.CLOSED)
    assert inbox.ready(1.0) == [path]
    assert path.read_bytes() == first + second


def test_the_fallback_does_not_take_a_half_file_its_writer_still_has_open(tmp_path):
    """Without close events (a polling watcher), a file that held still is taken, unless a
    process still has it open for writing and its bytes are not complete (a stalled
    download): its window starts again. A truncated file nobody writes is taken (its
    import says what is wrong), and so is a complete one still held open."""
    inbox = tracked(tmp_path / "inbox")
    data = fitgen.run(recent(1), km=10, records_every_s=1)
    stalled, truncated, held = (inbox.folder / name for name in ("stalled.fit", "truncated.fit", "held.fit"))
    write(truncated, data[:len(data) // 2])
    with open(stalled, "wb") as writer, open(held, "wb") as holder:
        writer.write(data[:len(data) // 2])
        writer.flush()
        holder.write(fitgen.run(recent(2)))
        holder.flush()
        for path in (stalled, truncated, held):
            inbox.notice(path, tracker.SEEN)
        assert inbox.ready(0.0) == []
        assert inbox.ready(SETTLE) == [held, truncated]
        inbox.done(held)
        inbox.done(truncated)
        assert inbox.ready(2 * SETTLE) == []  # still stalled: its window started again
        writer.write(data[len(data) // 2:])
    inbox.notice(stalled, tracker.WRITTEN)
    assert inbox.ready(2 * SETTLE + 1) == []  # it changed: a whole window from now
    assert inbox.ready(3 * SETTLE + 1) == [stalled]


def test_a_folder_moved_in_whole_brings_complete_files(tmp_path):
    inbox = tracked(tmp_path / "inbox")
    staged = write(tmp_path / "staging" / "2026" / "a.fit", fitgen.run(recent(2))).parent
    write(staged / "deeper" / "b.fit", fitgen.run(recent(1)))
    os.rename(staged, inbox.folder / "2026")
    inbox.notice(inbox.folder / "2026", tracker.FOLDER)
    assert inbox.ready(0.0) == [inbox.folder / "2026" / "a.fit", inbox.folder / "2026" / "deeper" / "b.fit"]


def test_links_pipes_and_empty_files_are_never_vouched_for_by_a_close(tmp_path):
    inbox = tracked(tmp_path / "inbox")
    outside = write(tmp_path / "outside.fit", fitgen.run(recent(1)))
    link = inbox.folder / "link.fit"
    link.symlink_to(outside)
    pipe = inbox.folder / "pipe.fit"
    os.mkfifo(pipe)  # opening it to read would wait for a writer: it is never opened
    empty = write(inbox.folder / "empty.fit", b"")
    for path in (link, pipe, empty):
        assert complete.whole(path) is None
        inbox.notice(path, tracker.CLOSED)
    assert inbox.ready(0.0) == []
    assert inbox.ready(SETTLE) == [empty, link, pipe]  # as before: the import refuses or judges them


def test_a_file_changed_while_it_was_imported_is_looked_at_again(tmp_path):
    inbox = tracked(tmp_path / "inbox")
    path = write(inbox.folder / "a.fit", fitgen.run(recent(2)))
    inbox.notice(path, tracker.CLOSED)
    assert inbox.ready(0.0) == [path]
    # While it is being imported, a writer rewrites it and closes it again.
    path.write_bytes(fitgen.run(recent(1)))
    inbox.notice(path, tracker.WRITTEN)
    inbox.notice(path, tracker.CLOSED)
    inbox.done(path)
    assert inbox.has_pending()
    assert inbox.ready(1.0) == [path]
    inbox.done(path)
    assert not inbox.has_pending()


def test_a_file_gone_before_it_was_looked_at_is_dropped(tmp_path):
    inbox = tracked(tmp_path / "inbox")
    path = write(inbox.folder / "a.fit", fitgen.run(recent(1)))
    inbox.notice(path, tracker.CLOSED)
    path.unlink()
    inbox.notice(path, tracker.GONE)
    assert inbox.ready(0.0) == [] and not inbox.has_pending()


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
                                                  extra_fields=SLOW))
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
                                                        extra_fields=SLOW))
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
