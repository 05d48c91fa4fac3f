"""Finding activity files in what the user hands over: files, folders, zips, and the
FIT, GPX and TCX files in them (each also gzipped); and an export's manifests.

`find(paths)` lists the files to import (Units) without reading them;
`entries(unit)` yields one entry per candidate file inside a unit: either a
Candidate (something to read) or a Refusal (refused before reading, with the
outcome it gets and why). A Candidate from an archive reads from the
open archive: call its `read` before asking for the next entry. Archives are
read in place; a nested zip is read where it lies when stored uncompressed, else
in memory (past MAX_ARCHIVES_IN_MEMORY, in a private temp file); nothing is
unpacked by name, so member names cannot escape anywhere.

Zip bombs are refused by what the archive declares, before anything is
unpacked: a FIT member over 64 MiB, a member over 1 MiB that claims to unpack
more than 100 times the bytes it occupies, anything past the archive's budget
(what one archive may unpack in all, nested archives included). While reading,
a member that gives more than its declared size is stopped one byte past it.
"""

from __future__ import annotations

import copy
import gzip
import io
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

MiB = 1024 * 1024
GiB = 1024 * MiB
MAX_FIT_BYTES = 64 * MiB  # the largest real activity files are a few MB
MAX_RATIO = 100  # real FIT files deflate 2-10:1; zeros deflate 1000:1
RATIO_FLOOR = 1 * MiB  # members up to this size may compress as they like
BUDGET_FLOOR = 4 * GiB  # what one archive may unpack in all, nested archives included...
BUDGET_PER_BYTE = 16  # ...or 16 times its own size, if that is more
MAX_ARCHIVES_IN_MEMORY = 256 * MiB  # compressed nested archives held at once; beyond, a temp file
MAX_ZIP_DEPTH = 4  # a Garmin export nests zips two deep
MAX_ZIP_MEMBERS = 500_000
CHUNK = 1024 * 1024
METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}  # bzip2 and lzma cannot be read in bounded steps
UNPACK_IT = "unpack it yourself and import the folder if you trust it"


class Meter:
    """Bytes this process has unpacked from archives and .gz files (for tests and diagnosis)."""

    unpacked = 0


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


ACTIVITY_SUFFIXES = (".fit", ".gpx", ".tcx")
GZIPPED = ("fitgz", "gz")


def kind_of(name: str) -> str | None:
    """By file name: 'fit' (also .gpx and .tcx: the bytes tell which), 'gz' (the same,
    gzipped) or 'zip'; None for anything else."""
    lower = name.lower()
    if lower.endswith(ACTIVITY_SUFFIXES):
        return "fit"
    if lower.endswith(".gz") and lower[:-3].endswith(ACTIVITY_SUFFIXES):
        return "gz"
    if lower.endswith(".zip"):
        return "zip"
    return None


def _sniff(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "fitgz"
    return "fit"


def _size(n: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


class _Budget:
    """What one archive may unpack in all, across every nesting level."""

    def __init__(self, archive_size: int):
        self.total = max(BUDGET_FLOOR, BUDGET_PER_BYTE * archive_size)
        self.left = self.total
        self.in_memory = 0  # bytes of nested archives held in memory right now

    def refusal(self) -> str:
        return f"the archive would unpack to more than {_size(self.total)} in all: not read; {UNPACK_IT}"

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise SourceError(self.refusal())


def _ratio_refusal(size: int, packed: int) -> str:
    return (f"would unpack to {_size(size)} from {_size(packed)}, over {MAX_RATIO}:1 like a zip bomb: "
            f"not read; {UNPACK_IT}")


def _read_capped(stream, limit: int, what: str) -> bytes:
    """Read a stream fully, refusing to go past `limit` bytes (sizes in headers can lie)."""
    parts, total = [], 0
    try:  # a file: read what it holds in one go (a 1 MiB buffer per small file costs more)
        expected = os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        expected = 0
    if 0 < expected <= limit:
        data = stream.read(expected + 1)
        if len(data) <= expected:
            return data
        parts, total = [data], len(data)  # it grew while read: go on as for any stream
        if total > limit:
            raise SourceError(f"{what} is larger than {limit // MiB} MiB: not an activity file")
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > limit:
            raise SourceError(f"{what} is larger than {limit // MiB} MiB: not an activity file")
        parts.append(chunk)


def _gunzip(data: bytes, budget: _Budget | None = None) -> bytes:
    parts, total = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(CHUNK):
                total += len(chunk)
                Meter.unpacked += len(chunk)
                if total > MAX_FIT_BYTES:
                    raise SourceError(f"decompressed file is larger than {MAX_FIT_BYTES // MiB} MiB: "
                                      "not an activity file")
                if total > RATIO_FLOOR and total > MAX_RATIO * len(data):
                    raise SourceError(f"unpacks to over {MAX_RATIO} times its {_size(len(data))} like a zip bomb: "
                                      f"stopped; {UNPACK_IT}")
                if budget is not None:
                    budget.spend(len(chunk))
                parts.append(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"not a valid gzip file ({exc})") from None
    return b"".join(parts)


def _read_file(path: Path, kind: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            data = _read_capped(stream, MAX_FIT_BYTES, "file")
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    return _gunzip(data) if kind in GZIPPED else data


def _refuse_special(path: Path, st: os.stat_result) -> Refusal | None:
    if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
        return None
    return Refusal(str(path), "skipped", "not a regular file (a pipe, socket or device): not read")


def _unsafe_member(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts


ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError)


def _room(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> dict[int, int]:
    """For each member's offset, the bytes up to the next member (or the central
    directory): all the room its compressed data can really take, whatever it claims."""
    offsets = sorted({info.header_offset for info in infos} | {archive.start_dir})
    return {start: end - start for start, end in zip(offsets, offsets[1:])}


def _refuse_member(member: zipfile.ZipInfo, kind: str, room: int, budget: _Budget) -> tuple[str, str] | None:
    """(outcome, reason) for a member refused by what the archive declares, before a byte is unpacked."""
    if member.compress_type not in METHODS:
        method = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}.get(member.compress_type,
                                                                          f"method {member.compress_type}")
        return "skipped", f"compressed with {method}, which shoetrack does not unpack: {UNPACK_IT}"
    if member.flag_bits & 0x1:
        return "skipped", f"encrypted, which shoetrack does not read: {UNPACK_IT}"
    size = member.file_size
    if kind != "zip" and size > MAX_FIT_BYTES:
        return "failed", f"archive member is larger than {MAX_FIT_BYTES // MiB} MiB: not an activity file"
    packed = min(member.compress_size, room)
    if size > RATIO_FLOOR and size > MAX_RATIO * packed:
        return "skipped", _ratio_refusal(size, packed)
    if kind != "zip" and size > budget.left:
        return "skipped", budget.refusal()
    return None


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, write: Callable[[bytes], object],
            budget: _Budget | None) -> None:
    """Copy a member out, counting it against the budget and stopping one byte past
    its declared size: a header that lies does not get to unpack more."""
    declared = member.file_size
    probe = copy.copy(member)
    probe.file_size = declared + 1  # zipfile stops at file_size: one byte more shows a lie...
    probe.CRC = None  # ...and would fail its checksum first: checked here instead
    total = crc = 0
    try:
        with archive.open(probe) as stream:
            while chunk := stream.read(min(CHUNK, declared + 1 - total)):
                total += len(chunk)
                Meter.unpacked += len(chunk)
                if total > declared:
                    raise SourceError(f"holds more than the {declared} bytes its header declares "
                                      "(a damaged or forged archive): not read; download it again")
                if budget is not None:
                    budget.spend(len(chunk))
                crc = zlib.crc32(chunk, crc)
                write(chunk)
    except ZIP_ERRORS as exc:
        raise SourceError(f"cannot read from archive ({exc})") from None
    if crc != member.CRC:
        raise SourceError(f"cannot read from archive (Bad CRC-32 for file {member.filename!r})")


def _zip_entries(source, label: str, depth: int, on_found: Callable[[int], None],
                 budget: _Budget) -> Iterator[Entry]:
    if depth > MAX_ZIP_DEPTH:
        yield Refusal(label, "skipped", f"archive nested deeper than {MAX_ZIP_DEPTH} levels: not opened")
        return
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        yield Refusal(label, "failed", f"not a readable zip archive ({exc})")
        return
    with archive:
        everything = archive.infolist()
        members = [m for m in everything if not m.is_dir() and kind_of(m.filename)]
        if len(members) > MAX_ZIP_MEMBERS:
            yield Refusal(label, "skipped", f"archive lists {len(members)} files, over the limit of {MAX_ZIP_MEMBERS}")
            return
        if not members:
            yield Refusal(label, "skipped", "archive holds no activity files (.fit, .gpx, .tcx, gzipped or not) "
                                            "and no archives")
            return
        room = _room(archive, everything)
        on_found(len(members) - 1)  # the archive counted as one file so far
        for member in sorted(members, key=lambda m: m.filename):
            inner = f"{label}!{member.filename}"
            if _unsafe_member(member.filename):
                yield Refusal(inner, "skipped", "unsafe name in archive (absolute or with ..): not read")
                continue
            kind = kind_of(member.filename)
            space = room.get(member.header_offset, 0)
            refused = _refuse_member(member, kind, space, budget)
            if refused:
                yield Refusal(inner, *refused)
            elif kind == "zip":
                yield from _nested_zip(archive, source, member, inner, depth, on_found, budget, space)
            else:
                yield Candidate(inner, _member_reader(archive, member, kind, budget))


def _member_reader(archive: zipfile.ZipFile, member: zipfile.ZipInfo, kind: str,
                   budget: _Budget) -> Callable[[], bytes]:
    charged = []  # read again (a decoding worker died): the budget is not spent twice

    def read() -> bytes:
        parts: list[bytes] = []
        spend = None if charged else budget
        charged.append(True)
        _unpack(archive, member, parts.append, spend)
        data = b"".join(parts)
        return _gunzip(data, spend) if kind in GZIPPED else data

    return read


class _Window(io.RawIOBase):
    """A stretch of a seekable file, read where it lies: a zip stored uncompressed
    inside another is opened without copying a byte."""

    def __init__(self, base, start: int, length: int):
        super().__init__()
        self._base, self._start, self._length, self._pos = base, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        pos = offset + (0, self._pos, self._length)[whence]
        if pos < 0:
            raise OSError("seek before the start of a nested archive")
        self._pos = pos
        return pos

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._length - self._pos)
        if n <= 0:
            return 0
        self._base.seek(self._start + self._pos)
        data = self._base.read(n)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


def _in_place(source, member: zipfile.ZipInfo, room: int) -> _Window | None:
    """A nested zip stored uncompressed, as a window on its archive; None if it must be unpacked."""
    if (member.compress_type != zipfile.ZIP_STORED or member.flag_bits & 0x1
            or member.compress_size != member.file_size):
        return None
    try:
        source.seek(member.header_offset)
        header = source.read(30)
    except (OSError, ValueError):
        return None
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        return None
    name_length, extra_length = struct.unpack_from("<HH", header, 26)
    skip = 30 + name_length + extra_length
    if skip + member.compress_size > room:  # it would overlap the next member
        return None
    return _Window(source, member.header_offset + skip, member.compress_size)


def _nested_zip(archive: zipfile.ZipFile, source, member: zipfile.ZipInfo, label: str, depth: int,
                on_found: Callable[[int], None], budget: _Budget, room: int) -> Iterator[Entry]:
    window = _in_place(source, member, room)
    if window is not None:
        yield from _zip_entries(window, label, depth + 1, on_found, budget)
        return
    # A compressed inner zip needs random access: unpack it, within the budget,
    # in memory or (past MAX_ARCHIVES_IN_MEMORY) to a private temp file that
    # disappears when we are done with it.
    size = member.file_size
    if size > budget.left:
        yield Refusal(label, "skipped", budget.refusal())
        return
    held = size if budget.in_memory + size <= MAX_ARCHIVES_IN_MEMORY else None
    try:
        import tempfile

        holder = io.BytesIO() if held is not None else tempfile.TemporaryFile(prefix="shoetrack-")
    except OSError as exc:
        yield Refusal(label, "failed", f"cannot make a temp file for a nested archive ({exc.strerror or exc})")
        return
    budget.in_memory += held or 0
    try:
        with holder:
            try:
                _unpack(archive, member, holder.write, budget)
            except SourceError as exc:
                yield Refusal(label, "failed", str(exc))
                return
            yield from _zip_entries(holder, label, depth + 1, on_found, budget)
    finally:
        budget.in_memory -= held or 0


@dataclass(frozen=True)
class Unit:
    """A file found on disk: an activity file (maybe gzipped) or an archive."""

    path: Path | str  # a str when found in a folder: thousands are found in a re-scan
    kind: str
    size: int
    mtime_ns: int


def entries(unit: Unit, on_found: Callable[[int], None] = lambda extra: None) -> Iterator[Entry]:
    """The candidate files inside one unit (itself, or an archive's members).

    `on_found(extra)` learns how many more files an archive holds than the one
    it was counted as, as each archive is opened (for progress).
    """
    if unit.kind == "zip":
        yield from _archive_entries(unit, on_found)
    else:
        yield Candidate(str(unit.path), lambda: _read_file(unit.path, unit.kind))


def _archive_entries(unit: Unit, on_found: Callable[[int], None]) -> Iterator[Entry]:
    try:
        stream = open(unit.path, "rb")
    except OSError as exc:
        yield Refusal(str(unit.path), "failed", f"not a readable zip archive ({exc.strerror or exc})")
        return
    with stream:
        yield from _zip_entries(stream, str(unit.path), 1, on_found, _Budget(unit.size))


def _found(path: Path | str, st: os.stat_result, kind: str) -> Unit | Refusal:
    refusal = _refuse_special(path, st)
    if refusal:
        return refusal
    if kind != "zip" and st.st_size > MAX_FIT_BYTES:
        # Refused by its size, before a byte is read.
        return Refusal(str(path), "failed", f"file is larger than {MAX_FIT_BYTES // (1024 * 1024)} MiB: "
                                            "not an activity file")
    return Unit(path, kind, st.st_size, st.st_mtime_ns)


def inside(path: Path, folder: Path) -> bool:
    """Whether `path` resolves to `folder` or something in it (links followed)."""
    return _Within(folder)(path)


OUTSIDE = "a link to something outside the folder: not read"


class _Within:
    """`inside(path, folder)` for many paths in one folder (a daemon's round of a thousand
    files from a watch): the folder and each parent folder are resolved once, and a file
    that is not a link adds one lstat, not one per component of its path."""

    def __init__(self, folder: Path):
        self.root = os.path.realpath(folder)
        self.parents: dict[str, str] = {}

    def __call__(self, path: Path) -> bool:
        name = path.name
        try:
            plain = name not in ("", ".", "..") and not stat.S_ISLNK(os.lstat(path).st_mode)
        except OSError:
            plain = False
        if plain:
            parent = str(path.parent)
            real_parent = self.parents.get(parent)
            if real_parent is None:
                real_parent = self.parents[parent] = os.path.realpath(parent)
            real = os.path.join(real_parent, name)
        else:
            real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root.rstrip("/") + "/")


def _walk(folder: str, top: Path) -> Iterator[Unit | Refusal]:
    """A folder's files, then its subfolders', in name order. A link to a folder is not
    followed (no loop can trap the walk); each file costs one stat and no Path (a
    re-scan of thousands of files is mostly this)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return  # an unreadable folder holds nothing to import, as for os.walk
    subfolders = []
    for entry in entries:
        path = os.path.join(folder, entry.name)
        try:
            if entry.is_dir(follow_symlinks=False):
                subfolders.append(path)
                continue
            kind = kind_of(entry.name)
            if kind is None or (entry.is_symlink() and entry.is_dir()):
                continue
        except OSError:
            continue
        if entry.is_symlink() and not inside(Path(path), top):
            yield Refusal(path, "skipped", OUTSIDE)
            continue
        try:
            st = entry.stat()
        except OSError as exc:
            yield Refusal(path, "failed", f"cannot read: {exc.strerror or exc}")
            continue
        yield _found(path, st, kind)
    for subfolder in subfolders:
        yield from _walk(subfolder, top)


def find(paths: list[Path], confine: Path | None = None) -> list[Unit | Refusal]:
    """Every file to import under `paths`, in order, without reading any.

    A folder contributes its .fit, .fit.gz and .zip files (recursively); a
    file named explicitly is taken whatever its name, by its content. With
    `confine`, nothing that resolves outside that folder is read.
    """
    found: list[Unit | Refusal] = []
    within = _Within(confine) if confine is not None else None
    for path in paths:
        if within is not None and not within(path):
            found.append(Refusal(str(path), "skipped", OUTSIDE))
            continue
        try:
            st = path.stat()
        except OSError as exc:
            found.append(Refusal(str(path), "failed", f"cannot read: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(st.st_mode):
            found.extend(_walk(str(path), path))
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


# -- exports' manifests ------------------------------------------------------------
# A Strava bulk export lists its activities (with the gear of each) in activities.csv
# and its shoes in shoes.csv; a Garmin export keeps gear and activity summaries in
# JSON under DI_CONNECT/DI-Connect-Fitness. They are found at the top of a folder or
# zip, or one folder down (an export unpacked into a folder of its own).

MAX_MANIFEST_BYTES = 64 * MiB
GARMIN_FITNESS = ("DI_CONNECT", "DI-Connect-Fitness")


@dataclass(frozen=True)
class Manifest:
    kind: str  # "strava" or "garmin"
    label: str  # where it was found, for messages
    root: str  # the folder (or zip!prefix) the export's own file names are relative to
    in_zip: bool
    files: dict  # strava: {"activities": [bytes], "shoes": [bytes]}; garmin: {"gear": [...], "summaries": [...]}

    def label_of(self, name: str) -> str:
        """The label an importer gives the export's file `name` (posix, relative to its root)."""
        if self.in_zip:
            return f"{self.root}{name}"
        return str(Path(self.root) / name)


def _manifest_role(parts: tuple[str, ...]) -> tuple[str, tuple[str, ...], str] | None:
    """(kind, root parts, role) for a path inside an export, or None."""
    name = parts[-1].lower() if parts else ""
    if len(parts) <= 2 and name in ("activities.csv", "shoes.csv"):
        return "strava", parts[:-1], name[:-4]
    at = len(parts) - 3  # DI_CONNECT's place: the top, or one folder down
    if at in (0, 1) and parts[at:at + 2] == GARMIN_FITNESS:
        if name.endswith("_gear.json"):
            return "garmin", parts[:at], "gear"
        if name.endswith("_summarizedactivities.json"):
            return "garmin", parts[:at], "summaries"
    return None


def _collect(found: dict, kind: str, root: tuple[str, ...], role: str, data: bytes) -> None:
    found.setdefault((kind, root), {}).setdefault(role, []).append(data)


def _complete(kind: str, roles: dict) -> bool:
    return "activities" in roles if kind == "strava" else "gear" in roles


def manifests(path: Path) -> tuple[list[Manifest], list[Refusal]]:
    """The export manifests in a folder or zip given to import (none for anything else)."""
    try:
        st = path.stat()
    except OSError:
        return [], []
    if stat.S_ISDIR(st.st_mode):
        return _folder_manifests(path)
    if stat.S_ISREG(st.st_mode) and kind_of(path.name) == "zip":
        return _zip_manifests(path)
    return [], []


def _folder_manifests(folder: Path) -> tuple[list[Manifest], list[Refusal]]:
    found: dict = {}
    problems: list[Refusal] = []
    candidates = []
    try:
        with os.scandir(folder) as entries:
            tops = [folder] + sorted(folder / e.name for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return [], []
    for top in tops:
        candidates += [top / "activities.csv", top / "shoes.csv"]
        fitness = top.joinpath(*GARMIN_FITNESS)
        if fitness.is_dir():
            candidates += sorted(fitness.glob("*.json"))
    for file in candidates:
        parts = file.relative_to(folder).parts
        role = _manifest_role(parts)
        if role is None or not file.is_file() or (file.is_symlink() and not inside(file, folder)):
            continue
        try:
            if file.stat().st_size > MAX_MANIFEST_BYTES:
                raise SourceError(f"larger than {MAX_MANIFEST_BYTES // MiB} MiB: not an export's list")
            with open(file, "rb") as stream:
                data = _read_capped(stream, MAX_MANIFEST_BYTES, "file")
        except (OSError, SourceError) as exc:
            problems.append(Refusal(str(file), "failed", f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
            continue
        _collect(found, *role, data)
    result = [Manifest(kind, str(folder.joinpath(*root)), str(folder.joinpath(*root)), False, roles)
              for (kind, root), roles in sorted(found.items()) if _complete(kind, roles)]
    return result, problems


def _zip_manifests(path: Path) -> tuple[list[Manifest], list[Refusal]]:
    found: dict = {}
    problems: list[Refusal] = []
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if member.is_dir() or _unsafe_member(member.filename):
                    continue
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                role = _manifest_role(parts)
                if role is None:
                    continue
                label = f"{path}!{member.filename}"
                if member.file_size > MAX_MANIFEST_BYTES or member.compress_type not in METHODS:
                    problems.append(Refusal(label, "skipped", f"over {MAX_MANIFEST_BYTES // MiB} MiB or packed in "
                                                              "a way shoetrack does not unpack: not read"))
                    continue
                chunks: list[bytes] = []
                try:
                    _unpack(archive, member, chunks.append, None)
                except SourceError as exc:
                    problems.append(Refusal(label, "failed", str(exc)))
                    continue
                _collect(found, *role, b"".join(chunks))
    except ZIP_ERRORS:
        return [], []  # the import itself says why the archive cannot be read
    result = [Manifest(kind, f"{path}!{'/'.join(root)}", f"{path}!" + "".join(f"{p}/" for p in root), True, roles)
              for (kind, root), roles in sorted(found.items()) if _complete(kind, roles)]
    return result, problems
