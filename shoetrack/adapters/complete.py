"""Is a file that was just closed complete? The bytes, the writers and the stat tell.

The daemon imports a file the moment its writer closes it only when this module
vouches for it; anything else waits until it holds still (service/inbox.py).
"""

from __future__ import annotations

import errno
import io
import os
import re
import signal
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from . import sources

try:
    import fcntl
except ImportError:  # not a Unix: no leases; the bytes and the stat alone decide
    fcntl = None


def _open_regular(path: Path) -> int | None:
    """A descriptor for reading a regular file (never through a link, never blocking), or None."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None


def whole(path: Path) -> tuple[int, float] | None:
    """(size, mtime) of a regular file that is complete right now, else None.

    Complete: its bytes say they are all there (`bytes_complete`), no process has
    it open for writing (when that can be told), and its size, modification and
    change times are the same after the check as before. A link, a pipe, a folder
    or an empty file is never vouched for here (they wait, or are refused, as before).
    """
    fd = _open_regular(path)
    if fd is None:
        return None
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode) or before.st_size == 0:
            return None
        if not bytes_complete(fd, before.st_size) or open_for_writing(fd):
            return None
        after = os.fstat(fd)
        now = os.lstat(path)  # the path still names this file
    except OSError:
        return None
    finally:
        os.close(fd)
    same = (after.st_size, after.st_mtime_ns, after.st_ctime_ns) == (before.st_size, before.st_mtime_ns,
                                                                     before.st_ctime_ns)
    return (after.st_size, after.st_mtime) if same and now.st_ino == after.st_ino else None


def being_written(path: Path) -> bool:
    """Whether a process has the file open for writing while its bytes are not complete:
    a writer that paused (a stalled download), not a file that is done."""
    fd = _open_regular(path)
    if fd is None:
        return False
    try:
        return open_for_writing(fd) is True and not bytes_complete(fd, os.fstat(fd).st_size)
    except OSError:
        return False
    finally:
        os.close(fd)


def open_for_writing(fd: int) -> bool | None:
    """Whether any process has this file open for writing; None when it cannot be told.

    Linux grants a read lease only while nobody has the file open for writing (it
    answers EAGAIN otherwise); the lease is released at once. A process that opens
    the file for writing in the microseconds it is held just breaks it: the kernel
    then sends SIGURG (set with F_SETSIG, ignored by default) rather than SIGIO,
    which would end the process. Other systems, network and FUSE file systems, and
    a file of another user (without CAP_LEASE) cannot tell: None.
    """
    if not hasattr(fcntl, "F_SETLEASE") or not hasattr(fcntl, "F_SETSIG"):
        return None
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return True if exc.errno == errno.EAGAIN else None
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    except OSError:
        pass  # closing the file releases it anyway
    return False


_FIT_HEADER = struct.Struct("<BBHI4s")  # header size, protocol, profile, data size, ".FIT"
_XML_END = re.compile(rb"</(?:[\w.-]+:)?(?:gpx|TrainingCenterDatabase)\s*>\s*\Z")


def bytes_complete(fd: int, size: int) -> bool:
    """Whether a file's bytes say they are all there, by what they are (not by name):

    - FIT: its headers' data sizes chain (`cat a.fit b.fit` too) to exactly its end;
    - GPX, TCX: it ends with the closing tag of its root element;
    - gzip: each member ends with its trailer, whose CRC zlib checks (zeros may follow);
    - zip: its central directory can be read (written last).

    Anything else, or a file that does not pass, is not vouched for: it waits until
    it holds still, and the import judges it then.
    """
    head = os.pread(fd, 64, 0)
    if head.startswith(b"PK"):
        return _zip_complete(fd)
    if head.startswith(b"\x1f\x8b"):
        return _gzip_complete(fd, size)
    if len(head) >= 12 and head[8:12] == b".FIT":
        return _fit_complete(fd, size)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return bool(_XML_END.search(os.pread(fd, 512, max(0, size - 512))))
    return False


def _fit_complete(fd: int, size: int) -> bool:
    pos = 0
    while pos < size:
        header = os.pread(fd, _FIT_HEADER.size, pos)
        if len(header) < _FIT_HEADER.size:
            return False
        header_size, _, _, data_size, signature = _FIT_HEADER.unpack(header)
        if signature != b".FIT" or header_size < _FIT_HEADER.size:
            return False
        pos += header_size + data_size + 2  # the header, the messages, the CRC
    return pos == size


def _gzip_complete(fd: int, size: int) -> bool:
    if size > sources.MAX_FIT_BYTES:
        return False  # the import refuses it anyway: let it hold still first
    data = os.pread(fd, size, 0)
    while True:
        member = zlib.decompressobj(wbits=31)
        unpacked, rest = 0, data
        try:
            while not member.eof:
                if not rest:
                    return False  # the member goes on past the end: still being written
                unpacked += len(member.decompress(rest, sources.CHUNK))
                if unpacked > sources.MAX_FIT_BYTES:
                    return False
                rest = member.unconsumed_tail
        except zlib.error:
            return False
        data = member.unused_data
        if not data.strip(b"\0"):
            return True


def _zip_complete(fd: int) -> bool:
    try:
        with zipfile.ZipFile(io.FileIO(fd, closefd=False)):  # reads its end and central directory only
            return True
    except sources.ZIP_ERRORS:
        return False
