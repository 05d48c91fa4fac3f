"""Backups that run themselves, and putting one back.

The daemon calls `backup_if_due` at start and every hour: when the newest backup in the
backups folder (`backups/` beside the database) is over 23 hours old, it takes a new one
with SQLite's online backup, verified (`Store.backup_to`), and keeps the newest
`backup.keep`. `shoetrack backup` without a path calls `take_backup`, which does the same
at once. A damaged database is never backed up, and then nothing is pruned; a disk
without room for a copy is left alone.

`restore` puts back the newest backup that verifies (or the one named), keeps the old file
aside, and imports again the files the old file knew of and the backup does not.

Whether a daemon runs on a database is told by a lock file beside it that the daemon holds
(flock) for as long as it runs: `hold_daemon_lock`.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..adapters.store import Store
from ..errors import DamagedDatabase, ShoetrackError, StorageError
from .importing import ImportReport, import_paths
from .runs import MANUAL

NAME = re.compile(r"shoetrack-(\d{8}T\d{6}Z)(?:-(\d+))?\.db")
STAMP = "%Y%m%dT%H%M%SZ"
# The daemon looks every hour; 23 hours rather than 24 keeps it daily whatever the hours fall on.
DUE_AFTER = timedelta(hours=23)
CHECK_EVERY_S = 3600
MIB = 1024 * 1024
STALE_PART_S = 3600  # a half-written copy this old was left by a process that died

# What is read from an old file to tell what came after a backup.
FILE_COLUMNS = ("sha256", "path", "outcome")
SEEN_COLUMNS = ("label", "path", "sha256")
SESSION_COLUMNS = ("source", "session_index", "start_time", "local_date", "sport", "sub_sport",
                   "distance_m", "timer_s", "note", "hidden_at")
MANUAL_KEY = ("start_time", "local_date", "sport", "sub_sport", "distance_m", "timer_s", "note")
PAIN_COLUMNS = ("day", "level", "side", "note", "logged_at")
SHOE_COLUMNS = ("name", "brand", "model", "limit_km", "start_km", "since", "retired_on", "default_for",
                "rules", "added_at")
PIN_COLUMNS = ("session_id", "shoe_id")
TABLES = {"files": FILE_COLUMNS, "seen": SEEN_COLUMNS, "sessions": SESSION_COLUMNS, "pain": PAIN_COLUMNS,
          "shoes": SHOE_COLUMNS, "pins": PIN_COLUMNS}


class LowDiskSpace(StorageError):
    """Too little free space for a backup: none was taken, and nothing was removed."""


@dataclass(frozen=True)
class Backup:
    path: Path
    taken: datetime  # UTC, from its name


def folder_for(database: Path) -> Path:
    """Where the backups of a database live: `backups/` beside it."""
    return database.parent / "backups"


def backups(folder: Path) -> list[Backup]:
    """The backups in `folder`, newest first (by the time in their names)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StorageError(f"cannot list the backups in {folder}: {exc.strerror}") from None
    found = []
    for name in names:
        match = NAME.fullmatch(name)
        if match:
            taken = datetime.strptime(match[1], STAMP).replace(tzinfo=timezone.utc)
            found.append((taken, int(match[2] or 0), folder / name))
    found.sort(reverse=True)
    return [Backup(path, taken) for taken, _, path in found]


def _private_folder(folder: Path) -> Path:
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        if folder.stat().st_mode & 0o777 != 0o700:
            folder.chmod(0o700)
    except OSError as exc:
        raise StorageError(f"cannot create the backups folder {folder}: {exc.strerror}") from None
    return folder


def _database_bytes(database: Path) -> int:
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += os.stat(f"{database}{suffix}").st_size
        except FileNotFoundError:
            pass
    return total


def space_problem(database: Path, folder: Path, config) -> str | None:
    """Why a backup would not fit, or None. It needs twice the database's size (the copy,
    and room for the database to go on growing) plus `backup.min_free_mb`."""
    size = _database_bytes(database)
    need = 2 * size + (config.get("backup.min_free_mb") or 0) * MIB
    free = shutil.disk_usage(folder).free
    if free >= need:
        return None
    return (f"only {free / MIB:.0f} MiB free in {folder}, and a backup needs {need / MIB:.0f} MiB "
            f"(twice the database's {size / MIB:.1f} MiB plus backup.min_free_mb)")


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _clear_stale_parts(folder: Path) -> None:
    for path in folder.glob("*.db.*.part"):
        try:
            if time.time() - path.stat().st_mtime > STALE_PART_S:
                path.unlink()
        except OSError:
            pass


def _publish(part: Path, folder: Path, taken: datetime) -> Path:
    """Give a verified copy its name (a new one: never over another backup)."""
    stamp = taken.strftime(STAMP)
    n = 0
    while True:
        target = folder / (f"shoetrack-{stamp}-{n}.db" if n else f"shoetrack-{stamp}.db")
        try:
            os.link(part, target)
            break
        except FileExistsError:
            n += 1
        except OSError:  # a file system without hard links
            if target.exists():
                n += 1
                continue
            os.rename(part, target)
            return target
    part.unlink()
    return target


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups; returns what was removed."""
    removed = []
    for old in backups(folder)[keep:]:
        for path in (old.path, Path(f"{old.path}-wal"), Path(f"{old.path}-shm")):
            path.unlink(missing_ok=True)
        removed.append(old.path)
    return removed


def take_backup(store, config, now: datetime | None = None) -> tuple[Backup, list[Path]]:
    """Back up the database into its backups folder now, verified, then keep the newest
    `backup.keep`. Returns the backup and the older ones removed. A damaged database
    (quick_check) raises DamagedDatabase and a disk without room LowDiskSpace; either
    way no backup is made and none removed."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    problem = store.integrity_problem(quick=True)
    if problem:
        raise DamagedDatabase(store.path, problem)
    folder = _private_folder(folder_for(store.path))
    space = space_problem(store.path, folder, config)
    if space:
        raise LowDiskSpace(f"backup skipped: {space}; free some space (the older backups are kept)")
    _clear_stale_parts(folder)
    part = folder / f"shoetrack-{now.strftime(STAMP)}.db.{os.getpid()}.part"
    store.backup_to(part)  # verified by integrity_check, or removed with a one-line reason
    try:
        target = _publish(part, folder, now)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise StorageError(f"cannot name the backup in {folder}: {exc.strerror}; no file was left behind") from None
    try:
        _fsync_folder(folder)  # the new name survives a power cut
    except OSError:
        pass
    removed = prune(folder, config.get("backup.keep"))
    return Backup(target, now), removed


def backup_if_due(store, config, log, now: datetime | None = None) -> Backup | None:
    """The daemon's job: back up when the newest backup is over 23 hours old (or there is
    none), saying what happened on `log` (one line)."""
    now = now or datetime.now(timezone.utc)
    folder = folder_for(store.path)
    found = backups(folder)
    if found and now - found[0].taken < DUE_AFTER:
        return None
    try:
        backup, removed = take_backup(store, config, now)
    except LowDiskSpace as exc:
        log.warning("%s", exc.message)
        return None
    except DamagedDatabase as exc:
        log.error("backup skipped, the %d backups in %s are kept: %s", len(found), folder, exc.message)
        return None
    log.info("backed up the database to %s (verified; %d kept%s)", backup.path, len(backups(folder)),
             f", {len(removed)} older removed" if removed else "")
    return backup


# -- the daemon's lock --------------------------------------------------------------------

def lock_path(database: Path) -> Path:
    return database.with_name(f"{database.name}.daemon.lock")


def _take_lock(database: Path) -> int:
    """The lock's file descriptor, locked; BlockingIOError when another process holds it."""
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def hold_daemon_lock(database: Path) -> int | None:
    """For the daemon: take the lock that says it runs on this database, and keep the
    returned descriptor open while it runs. None when it cannot (another daemon holds it,
    or the folder is read-only): the daemon runs all the same."""
    try:
        return _take_lock(database)
    except OSError:
        return None


# -- restore --------------------------------------------------------------------------

@dataclass
class RestoreReport:
    backup: Path
    taken: datetime
    aside: Path | None = None  # the old file, kept
    unusable: list[tuple[Path, str]] = field(default_factory=list)  # newer backups that did not verify
    imported: ImportReport = field(default_factory=ImportReport)
    files_again: int = 0  # files on disk imported again
    not_found: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # typed after the backup: not in it
    back: list[str] = field(default_factory=list)  # deleted after the backup: there again
    pins_lost: int = 0  # pins (`assign`) the old file has and the backup does not
    unread: list[str] = field(default_factory=list)  # tables of the old file read only in part


def _taken(path: Path) -> datetime:
    match = NAME.fullmatch(path.name)
    if match:
        return datetime.strptime(match[1], STAMP).replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).replace(microsecond=0)


def _choose(database: Path, chosen: Path | None, report_unusable: list) -> tuple[Path, datetime]:
    folder = folder_for(database)
    if chosen is not None:
        chosen = chosen.expanduser()
        if chosen.exists() and database.exists() and chosen.samefile(database):
            raise ShoetrackError(f"{chosen} is the database itself; name a backup (they are in {folder})")
        problem = Store.file_problem(chosen)
        if problem:
            raise ShoetrackError(f"the backup {chosen} cannot be put back: {problem}; nothing was changed "
                                 f"(the backups are in {folder})")
        return chosen, _taken(chosen)
    found = backups(folder)
    for backup in found:
        problem = Store.file_problem(backup.path)
        if problem is None:
            return backup.path, backup.taken
        report_unusable.append((backup.path, problem))
    if found:
        raise ShoetrackError(f"none of the {len(found)} backups in {folder} verifies; nothing was changed "
                             "(name another copy: shoetrack restore BACKUP)")
    raise ShoetrackError(f"there is no backup in {folder}; nothing was changed "
                         "(name a copy: shoetrack restore BACKUP)")


def _read(path: Path, as_is: bool, unread: list[str]) -> dict[str, list[dict]]:
    found = {}
    for table, columns in TABLES.items():
        rows, whole = Store.salvage(path, table, columns, as_is=as_is)
        found[table] = rows
        if not whole:
            unread.append(table)
    return found


def _copy_private(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
            dst.flush()
            os.fsync(dst.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _set_aside(database: Path, now: datetime) -> Path | None:
    """Rename the database (with its -wal and -shm) to NAME.damaged-STAMP."""
    if not database.exists():
        return None
    stamp, n = now.strftime(STAMP), 0
    while True:
        aside = database.with_name(f"{database.name}.damaged-{stamp}" + (f"-{n}" if n else ""))
        if not any(Path(f"{aside}{s}").exists() for s in ("", "-wal", "-shm", "-journal")):
            break
        n += 1
    os.rename(database, aside)
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(f"{database}{suffix}")
        if side.exists():
            os.rename(side, f"{aside}{suffix}")
    return aside


def _on_disk(label: str) -> str:
    """The file on disk that holds a file's label: itself, or the archive of `a.zip!member`."""
    if "!" not in label or Path(label).is_file():
        return label
    parts = label.split("!")
    for end in range(1, len(parts)):
        prefix = "!".join(parts[:end])
        if Path(prefix).is_file():
            return prefix
    return parts[0]


def _find(text: str, inbox: Path | None) -> Path | None:
    """The file, where it still is; a file the daemon moved to inbox/imported/ is found there."""
    path = Path(text)
    if path.is_file():
        return path
    if inbox is not None:
        try:
            moved = inbox / "imported" / path.relative_to(inbox)
        except ValueError:
            return None
        if moved.is_file():
            return moved
    return None


def _km(metres) -> str:
    return f"{metres / 1000:g} km" if isinstance(metres, (int, float)) else "no distance"


def _after_backup(old: dict, kept: dict) -> tuple[list[str], list[str]]:
    """What was typed after the backup (the old file has it, the backup does not), and the
    runs deleted after it (there again now)."""
    lost = []
    manual = Counter(tuple(r[c] for c in MANUAL_KEY) for r in kept["sessions"] if r["source"] == MANUAL)
    for row in old["sessions"]:
        if row["source"] != MANUAL:
            continue
        key = tuple(row[c] for c in MANUAL_KEY)
        if manual[key]:
            manual[key] -= 1
            continue
        lost.append(f"run logged by hand: {row['local_date']} {row['sport']} {_km(row['distance_m'])}"
                    + (f" ({row['note']})" if row["note"] else ""))
    pain = Counter(tuple(r[c] for c in PAIN_COLUMNS) for r in kept["pain"])
    for row in old["pain"]:
        key = tuple(row[c] for c in PAIN_COLUMNS)
        if pain[key]:
            pain[key] -= 1
            continue
        lost.append(f"pain {row['level']}/10 on {row['day']}" + (f" ({row['side']})" if row["side"] else ""))
    shoes = {tuple(r[c] for c in SHOE_COLUMNS) for r in kept["shoes"]}
    names = {str(r["name"]).casefold() for r in kept["shoes"]}
    for row in old["shoes"]:
        if tuple(row[c] for c in SHOE_COLUMNS) not in shoes:
            how = "changed" if str(row["name"]).casefold() in names else "added"
            lost.append(f'pair "{row["name"]}" ({how} after the backup)')
    hidden = {(r["source"], r["session_index"]) for r in kept["sessions"] if r["hidden_at"]}
    back = [f"{row['local_date']} {row['sport']} {_km(row['distance_m'])} from {row['source']}"
            for row in old["sessions"]
            if row["hidden_at"] and row["source"] != MANUAL and (row["source"], row["session_index"]) not in hidden]
    return lost, back


def _files_since(old: dict, kept: dict) -> list[str]:
    """The files on disk the old file knew of as imported and the backup does not, in order."""
    known = {r["sha256"] for r in kept["files"]}
    outcome = {r["sha256"]: r["outcome"] for r in old["files"]}
    paths: dict[str, None] = {}
    for row in old["files"]:
        if row["outcome"] == "imported" and row["sha256"] not in known and isinstance(row["path"], str):
            paths[_on_disk(row["path"])] = None
    for row in old["seen"]:  # what the files table lost to damage, the list of files on disk may hold
        if (row["sha256"] and row["sha256"] not in known and outcome.get(row["sha256"], "imported") == "imported"
                and isinstance(row["path"], str)):
            paths[row["path"]] = None
    return list(paths)


def restore(database: Path, config, chosen: Path | None = None, *, now: datetime | None = None,
            inbox: Path | None = None) -> RestoreReport:
    """Put back a backup in place of the database (kept aside as NAME.damaged-STAMP), then
    import again the files imported since that backup. Refused while the daemon runs."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    if not database.parent.is_dir():
        raise StorageError(f"database folder does not exist: {database.parent}")
    try:
        lock = _take_lock(database)
    except BlockingIOError:
        raise ShoetrackError(f"the daemon is running on {database}; stop it first (systemctl --user stop "
                             "shoetrack), then restore; nothing was changed") from None
    except OSError as exc:
        raise StorageError(f"cannot create {lock_path(database)}: {exc.strerror}; nothing was changed") from None
    try:
        unusable: list = []
        source, taken = _choose(database, chosen, unusable)
        report = RestoreReport(source, taken, unusable=unusable)
        kept = _read(source, False, [])
        old = (_read(database, True, report.unread) if database.exists()
               else {table: [] for table in TABLES})
        part = database.with_name(f".{database.name}.restoring")
        try:
            _copy_private(source, part)
        except OSError as exc:
            raise StorageError(f"cannot copy the backup {source} beside the database: {exc.strerror}; "
                               "nothing was changed") from None
        try:
            report.aside = _set_aside(database, now)
            os.rename(part, database)
            _fsync_folder(database.parent)
        except OSError as exc:
            raise StorageError(f"cannot put the backup in place of {database}: {exc.strerror} "
                               f"(the old file is {report.aside or database})") from None
        report.lost, report.back = _after_backup(old, kept)
        pins = {(r["session_id"], r["shoe_id"]) for r in kept["pins"]}
        report.pins_lost = sum((r["session_id"], r["shoe_id"]) not in pins for r in old["pins"])
        again = []
        for text in _files_since(old, kept):
            path = _find(text, inbox)
            if path is None:
                report.not_found.append(text)
            elif path not in again:
                again.append(path)
        report.files_again = len(again)
        if again:
            try:
                with Store(database) as store:
                    report.imported = import_paths(store, again)
            except ShoetrackError as error:
                raise ShoetrackError(f"{source} is back in place (the old file is {report.aside}), but importing "
                                     f"the files since stopped: {error.message}; import your folders again to "
                                     "finish") from None
        return report
    finally:
        os.close(lock)
