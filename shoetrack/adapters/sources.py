"""Finding FIT files in what the user hands over: files, folders, .fit.gz and zips.

`find(paths)` lists the files to import (Units) without reading them;
`entries(unit)` yields one entry per candidate file inside a unit: either a
Candidate (something to read) or a Refusal (refused before reading, with the
outcome it gets and why). A Candidate from an archive reads from the
open archive: call its `read` before asking for the next entry. Archives are read in place; nested zips are
spooled to a private temp file, never unpacked by name, so member names cannot
escape anywhere. Limits guard against zip bombs.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

MAX_FIT_BYTES = 64 * 1024 * 1024  # the largest real activity files are a few MB
MAX_NESTED_ZIP_BYTES = 8 * 1024 * 1024 * 1024
MAX_ZIP_DEPTH = 4  # a Garmin export nests zips two deep
MAX_ZIP_MEMBERS = 500_000
CHUNK = 1024 * 1024


class SourceError(Exception):
    """A file could not be read; the message says why in one line."""


@dataclass(frozen=True)
class Candidate:
    label: str  # a path, or archive.zip!inner/path.fit
    read: Callable[[], bytes]  # raises SourceError


@dataclass(frozen=True)
class Refusal:
    label: str
    outcome: str  # "skipped" or "failed"
    reason: str


Entry = Candidate | Refusal


def kind_of(name: str) -> str | None:
    """'fit', 'fitgz' or 'zip' by file name, or None for anything else."""
    lower = name.lower()
    if lower.endswith(".fit"):
        return "fit"
    if lower.endswith(".fit.gz"):
        return "fitgz"
    if lower.endswith(".zip"):
        return "zip"
    return None


def _sniff(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "fitgz"
    return "fit"


def _read_capped(stream, limit: int, what: str) -> bytes:
    """Read a stream fully, refusing to go past `limit` bytes (sizes in headers can lie)."""
    parts, total = [], 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > limit:
            raise SourceError(f"{what} is larger than {limit // (1024 * 1024)} MiB: not an activity file")
        parts.append(chunk)


def _gunzip(data: bytes) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return _read_capped(stream, MAX_FIT_BYTES, "decompressed file")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceError(f"not a valid gzip file ({exc})") from None


def _read_file(path: Path, kind: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            data = _read_capped(stream, MAX_FIT_BYTES, "file")
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    return _gunzip(data) if kind == "fitgz" else data


def _refuse_special(path: Path, st: os.stat_result) -> Refusal | None:
    if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
        return None
    return Refusal(str(path), "skipped", "not a regular file (a pipe, socket or device): not read")


def _unsafe_member(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts


def _zip_entries(opener: Callable, label: str, depth: int, on_found: Callable[[int], None]) -> Iterator[Entry]:
    if depth > MAX_ZIP_DEPTH:
        yield Refusal(label, "skipped", f"archive nested deeper than {MAX_ZIP_DEPTH} levels: not opened")
        return
    try:
        archive = zipfile.ZipFile(opener())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        yield Refusal(label, "failed", f"not a readable zip archive ({exc})")
        return
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and kind_of(m.filename)]
        if len(members) > MAX_ZIP_MEMBERS:
            yield Refusal(label, "skipped", f"archive lists {len(members)} files, over the limit of {MAX_ZIP_MEMBERS}")
            return
        if not members:
            yield Refusal(label, "skipped", "archive holds no .fit, .fit.gz or .zip files")
            return
        on_found(len(members) - 1)  # the archive counted as one file so far
        for member in sorted(members, key=lambda m: m.filename):
            inner = f"{label}!{member.filename}"
            if _unsafe_member(member.filename):
                yield Refusal(inner, "skipped", "unsafe name in archive (absolute or with ..): not read")
                continue
            kind = kind_of(member.filename)
            if kind == "zip":
                yield from _nested_zip(archive, member, inner, depth, on_found)
            else:
                yield Candidate(inner, _member_reader(archive, member, kind))


def _member_reader(archive: zipfile.ZipFile, member: zipfile.ZipInfo, kind: str) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            with archive.open(member) as stream:
                data = _read_capped(stream, MAX_FIT_BYTES, "archive member")
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as exc:
            raise SourceError(f"cannot read from archive ({exc})") from None
        return _gunzip(data) if kind == "fitgz" else data

    return read


def _nested_zip(archive: zipfile.ZipFile, member: zipfile.ZipInfo, label: str, depth: int,
                on_found: Callable[[int], None]) -> Iterator[Entry]:
    # The inner zip needs random access: copy it, capped, to a private temp
    # file that disappears when we are done with it.
    with tempfile.TemporaryFile(prefix="shoetrack-") as spool:
        try:
            with archive.open(member) as stream:
                total = 0
                while chunk := stream.read(CHUNK):
                    total += len(chunk)
                    if total > MAX_NESTED_ZIP_BYTES:
                        yield Refusal(label, "skipped", "nested archive larger than 8 GiB: not opened")
                        return
                    spool.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as exc:
            yield Refusal(label, "failed", f"cannot read nested archive ({exc})")
            return

        def reopen():
            spool.seek(0)
            return spool

        yield from _zip_entries(reopen, label, depth + 1, on_found)


@dataclass(frozen=True)
class Unit:
    """A file found on disk: a FIT file, a .fit.gz or an archive."""

    path: Path
    kind: str
    size: int
    mtime_ns: int


def entries(unit: Unit, on_found: Callable[[int], None] = lambda extra: None) -> Iterator[Entry]:
    """The candidate files inside one unit (itself, or an archive's members).

    `on_found(extra)` learns how many more files an archive holds than the one
    it was counted as, as each archive is opened (for progress).
    """
    if unit.kind == "zip":
        yield from _zip_entries(lambda: open(unit.path, "rb"), str(unit.path), 1, on_found)
    else:
        yield Candidate(str(unit.path), lambda: _read_file(unit.path, unit.kind))


def _found(path: Path, st: os.stat_result, kind: str) -> Unit | Refusal:
    refusal = _refuse_special(path, st)
    if refusal:
        return refusal
    if kind != "zip" and st.st_size > MAX_FIT_BYTES:
        # Refused by its size, before a byte is read.
        return Refusal(str(path), "failed", f"file is larger than {MAX_FIT_BYTES // (1024 * 1024)} MiB: "
                                            "not an activity file")
    return Unit(path, kind, st.st_size, st.st_mtime_ns)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


OUTSIDE = "a link to something outside the folder: not read"


def _walk(folder: Path) -> Iterator[Unit | Refusal]:
    # followlinks=False: a symlink loop cannot trap the walk.
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            kind = kind_of(name)
            if kind is None:
                continue
            path = Path(root) / name
            if path.is_symlink() and not _inside(path, folder):
                yield Refusal(str(path), "skipped", OUTSIDE)
                continue
            try:
                st = path.stat()
            except OSError as exc:
                yield Refusal(str(path), "failed", f"cannot read: {exc.strerror or exc}")
                continue
            yield _found(path, st, kind)


def find(paths: list[Path], confine: Path | None = None) -> list[Unit | Refusal]:
    """Every file to import under `paths`, in order, without reading any.

    A folder contributes its .fit, .fit.gz and .zip files (recursively); a
    file named explicitly is taken whatever its name, by its content. With
    `confine`, nothing that resolves outside that folder is read.
    """
    found: list[Unit | Refusal] = []
    for path in paths:
        if confine is not None and not _inside(path, confine):
            found.append(Refusal(str(path), "skipped", OUTSIDE))
            continue
        try:
            st = path.stat()
        except OSError as exc:
            found.append(Refusal(str(path), "failed", f"cannot read: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(st.st_mode):
            found.extend(_walk(path))
            continue
        kind = kind_of(path.name)
        if kind is None and stat.S_ISREG(st.st_mode):
            try:
                with open(path, "rb") as stream:
                    kind = _sniff(stream.read(4))
            except OSError as exc:
                found.append(Refusal(str(path), "failed", f"cannot read: {exc.strerror or exc}"))
                continue
        found.append(_found(path, st, kind or "fit"))
    return found
