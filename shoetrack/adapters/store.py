"""Storage: the only module that imports sqlite-utils (and talks SQL).

One SQLite file in WAL mode with a busy timeout, so the daemon can write while
the CLI reads. Each imported file is stored in one transaction.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta, timezone
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import DamagedDatabase, StorageError


def _seconds(name: str, default: float, environ=os.environ) -> float:
    """A number of seconds from the environment (for tests and slow machines), else the default."""
    try:
        value = float(environ.get(name, ""))
    except ValueError:
        return default
    return value if 0 < value < 1e6 else default


# SQLite waits this long for another process's write lock by itself (short waits: another
# writer holds it for one file's transaction, milliseconds).
CLAIM_STALE_S = 120  # a send takes at most 15 s; a claim this old was abandoned
BUSY_TIMEOUT_S = _seconds("SHOETRACK_BUSY_TIMEOUT_S", 10)
# A command's write waits this long in all before giving up (a long-held lock: a migration's
# backup, another program holding the file).
WRITE_WAIT_S = _seconds("SHOETRACK_WRITE_WAIT_S", 120)


class DatabaseBusy(StorageError):
    """Another process held the write lock for longer than this store waits; nothing was
    stored from the step. The daemon tries the step again within seconds."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


# Each step brings the schema from the version before it to its own number;
# statements are separated by ";" at line ends (comments must not hold one).
MIGRATIONS: list[str] = [
    # 1: files and their sessions
    """
CREATE TABLE files (
    sha256   TEXT PRIMARY KEY,
    path     TEXT NOT NULL,
    size     INTEGER NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('imported', 'duplicate', 'skipped', 'failed')),
    reason   TEXT,             -- why skipped or failed, or the source a duplicate repeats
    sessions INTEGER NOT NULL DEFAULT 0,
    seen_at  TEXT NOT NULL
);
CREATE TABLE sessions (
    id                  INTEGER PRIMARY KEY,
    file_sha256         TEXT REFERENCES files(sha256),
    source              TEXT NOT NULL,
    session_index       INTEGER NOT NULL DEFAULT 0,
    start_time          TEXT NOT NULL,   -- ISO 8601 UTC, YYYY-MM-DDTHH:MM:SSZ
    local_date          TEXT NOT NULL,   -- the runner's calendar day
    sport               TEXT NOT NULL,
    sub_sport           TEXT,
    distance_m          REAL,
    timer_s             REAL,
    elapsed_s           REAL,
    avg_hr              INTEGER,
    ascent_m            REAL,
    device_manufacturer TEXT,
    device_product      TEXT,
    device_serial       INTEGER,
    foot_pod_serial     INTEGER,
    utc_offset_s        INTEGER
);
CREATE INDEX sessions_start ON sessions (start_time);
CREATE INDEX sessions_day ON sessions (local_date)
""",
    # 2: pairs of shoes, the runner's pins, and each session's derived pair
    """
CREATE TABLE shoes (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    brand       TEXT,
    model       TEXT,
    limit_km    REAL NOT NULL CHECK (limit_km > 0),
    start_km    REAL NOT NULL DEFAULT 0 CHECK (start_km >= 0),
    since       TEXT,
    retired_on  TEXT,
    default_for TEXT NOT NULL DEFAULT '[]',   -- JSON list: "running", "running/trail"
    rules       TEXT NOT NULL DEFAULT '[]',   -- JSON list: "distance_km >= 15"
    added_at    TEXT NOT NULL
);
CREATE TABLE pins (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    shoe_id    INTEGER REFERENCES shoes(id)  -- NULL: not run in any tracked pair
);
ALTER TABLE sessions ADD COLUMN note TEXT;
ALTER TABLE sessions ADD COLUMN shoe_id INTEGER;
ALTER TABLE sessions ADD COLUMN shoe_reason TEXT NOT NULL DEFAULT 'none';
ALTER TABLE sessions ADD COLUMN shoe_why TEXT;
CREATE INDEX sessions_shoe ON sessions (shoe_id, local_date, distance_m)
""",
    # 3: the pain log, alert episodes and snoozes
    """
CREATE TABLE pain (
    id        INTEGER PRIMARY KEY,
    day       TEXT NOT NULL,
    level     INTEGER NOT NULL CHECK (level BETWEEN 0 AND 10),
    side      TEXT CHECK (side IN ('left', 'right', 'both')),
    note      TEXT,
    logged_at TEXT NOT NULL
);
CREATE INDEX pain_day ON pain (day);
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',   -- a pair's name, or '' for none
    started      TEXT NOT NULL,              -- the day the condition began
    cleared      TEXT,                       -- the first day it no longer held
    announced_on TEXT,                       -- the day it was reported as new
    delivered_at TEXT,                       -- when a notification reached the desktop
    message      TEXT NOT NULL,
    advice       TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_open ON alerts (kind, subject) WHERE cleared IS NULL;
CREATE TABLE snoozes (
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',        -- '' silences every subject of the kind
    until   TEXT NOT NULL,                   -- silent on days before this one
    PRIMARY KEY (kind, subject)
)
""",
    # 4: files on disk already handled, so an unchanged one is never read again
    """
CREATE TABLE seen (
    label    TEXT PRIMARY KEY,   -- a path, or archive.zip!member
    path     TEXT NOT NULL,      -- the file on disk that holds it
    size     INTEGER NOT NULL,   -- of that file, when it was handled
    mtime_ns INTEGER NOT NULL,
    sha256   TEXT,               -- the member's bytes; NULL when it was refused unread
    outcome  TEXT,               -- for a refusal: its outcome and reason
    reason   TEXT
);
CREATE INDEX seen_path ON seen (path)
""",
    # 5: alert episodes are derived from the history; only what cannot be derived stays:
    # which episodes were announced, and whether their notification was shown
    """
CREATE TABLE announcements (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',   -- a pair's name, or '' for none
    started      TEXT NOT NULL,              -- the episode's first day, as known when announced
    announced_on TEXT NOT NULL,              -- the day it was reported as new
    delivered_at TEXT                        -- when a notification reached the desktop
);
CREATE INDEX announcements_episode ON announcements (kind, subject, announced_on);
INSERT INTO announcements (kind, subject, started, announced_on, delivered_at)
    SELECT kind, subject, started, announced_on, delivered_at FROM alerts WHERE announced_on IS NOT NULL;
DROP TABLE alerts
""",
    # 6: runs the runner deleted that came from a file: hidden, not forgotten, so the
    # file is still known and importing it again does not bring the run back
    """
ALTER TABLE sessions ADD COLUMN hidden_at TEXT
""",
    # 7: values older versions let through (an infinite or 1e6 km run, an infinite limit)
    # broke every figure. Such runs are hidden (`runs --deleted` lists them) and such
    # pairs get the largest value the edge accepts; the pre-migration backup keeps the rest.
    """
UPDATE sessions SET hidden_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), shoe_id = NULL, shoe_reason = 'none',
    shoe_why = 'hidden: its distance or time is beyond what a person can run'
    WHERE hidden_at IS NULL AND (abs(distance_m) > 1e6 OR abs(timer_s) > 1e300 OR abs(elapsed_s) > 1e300);
UPDATE shoes SET limit_km = 10000 WHERE limit_km > 10000;
UPDATE shoes SET start_km = 10000 WHERE start_km > 10000
""",
    # 8: who is sending an announcement's notification right now, so two processes never
    # both send it (a claim left by a process that died goes stale)
    """
ALTER TABLE announcements ADD COLUMN sending_since TEXT
""",
    # 9: exports (Strava, Garmin) say which pair each activity was run in. The choice is
    # kept by activity, not by session, so the run's file may come before or after, in
    # any format, and importing the export again changes nothing. Sessions say which
    # format they came from (a FIT file outranks a TCX, a TCX a GPX, of the same run)
    # and whether the file had no summary of its own (summarised from its records).
    """
CREATE TABLE gear_choices (
    source      TEXT NOT NULL,              -- "Strava", "Garmin"
    activity_id TEXT NOT NULL,
    start_time  TEXT NOT NULL,              -- ISO 8601 UTC, as sessions.start_time
    sport       TEXT NOT NULL,
    shoe_id     INTEGER NOT NULL REFERENCES shoes(id),
    PRIMARY KEY (source, activity_id)
);
CREATE INDEX gear_choices_start ON gear_choices (start_time);
ALTER TABLE sessions ADD COLUMN format TEXT;
ALTER TABLE sessions ADD COLUMN derived INTEGER NOT NULL DEFAULT 0
""",
    # 10: the places files are read from (the inbox, watched folders, watches plugged in):
    # when each was last looked through, which no file records, and a device's name, so
    # `shoetrack sources` can list a watch that is not plugged in now
    """
CREATE TABLE places (
    path         TEXT PRIMARY KEY,   -- the folder read (a device's GARMIN/Activity)
    kind         TEXT NOT NULL CHECK (kind IN ('inbox', 'folder', 'device')),
    label        TEXT,               -- a device's name: "Forerunner 245"
    last_scanned TEXT NOT NULL       -- ISO 8601 UTC
);
CREATE INDEX sessions_source ON sessions (source)
""",
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass
class Recorded:
    """What storing a file did."""

    stored: int  # sessions stored
    copy_of: str | None = None  # none stored: the source of the copy that was there
    in_place: list[int] = field(default_factory=list)  # ids of sessions that took a lesser copy's place
    displaced: list[str] = field(default_factory=list)  # files whose only session was such a copy


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def integrity_problem(conn: sqlite3.Connection, *, quick: bool = True) -> str | None:
    """None when `PRAGMA quick_check` (or the full integrity_check) says ok, else its findings."""
    try:
        rows = conn.execute(f"PRAGMA {'quick_check' if quick else 'integrity_check'}(3)").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    found = [row[0] for row in rows]
    return None if found == ["ok"] else "; ".join(found)


def is_damage(exc: BaseException) -> bool:
    """Whether an SQLite error says the file itself is damaged (not busy, full or read-only)."""
    return isinstance(exc, sqlite3.DatabaseError) and any(
        words in str(exc) for words in ("malformed", "not a database", "corrupt"))


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (runs are personal)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class Store:
    """The runner's history in one SQLite file.

    A write waits for another process's write lock: SQLite's busy timeout covers the short
    waits; past it, `on_long_wait` is called once (the CLI says so on a terminal) and the
    write goes on waiting, up to `write_wait_s` in all, then fails with DatabaseBusy. The
    daemon passes `write_wait_s=0`: it gives up after the busy timeout and retries soon."""

    # Set by an edge: called once when a write has waited the busy timeout and goes on waiting.
    on_long_wait: Callable[[], None] | None = None

    def __init__(self, path: Path, *, write_wait_s: float | None = None):
        self.path = path
        self.write_wait_s = WRITE_WAIT_S if write_wait_s is None else write_wait_s
        self._said_waiting = False
        self._savepoints = 0
        folder = path.parent
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise StorageError(
                f"database folder {what}: {folder} (create it, or choose another file with --db)"
            )
        try:
            _create_private(path)
        except OSError as exc:
            raise StorageError(
                f"cannot create database {path}: {exc.strerror} "
                "(check the folder is writable, or choose another file with --db)"
            ) from None
        try:
            self.conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._retry_while_busy(self.conn, "PRAGMA journal_mode=WAL")
            # In WAL mode, NORMAL keeps every commit atomic and the file consistent
            # across crashes; only a power cut can undo the last commits.
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(
                f"cannot open database {path}: {exc} (check the file is a shoetrack database "
                "and its folder is writable, or use --db)"
            ) from None

    @cached_property
    def db(self):
        """sqlite-utils over the same connection, for writes. Imported on first
        write: reading commands (status, runs) start faster without it."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    @contextmanager
    def _writing(self, *, plain: bool = False):
        """One transaction; a failed write leaves the database as it was and says why.

        The write lock is taken first (BEGIN IMMEDIATE), so the busy timeout applies: a
        plain BEGIN that reads first is refused at once when another process commits
        in between. A step inside another is a savepoint of it. A `plain` step writes
        with SQL only; the others use sqlite-utils, imported before the lock is taken,
        not while holding it (an import never needs it: it starts faster)."""
        outer = not self.conn.in_transaction
        if not plain:
            self.db  # noqa: B018 - the import happens here
        try:
            if outer:
                self._begin_immediate()
            with self._savepoint(outer):
                yield
            if outer:
                self.conn.execute("COMMIT")
        except BaseException as exc:
            if outer and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if not isinstance(exc, sqlite3.OperationalError):
                raise
            if _is_busy(exc):
                raise self._busy(BUSY_TIMEOUT_S) from None
            text = str(exc)
            hint = ("free some disk space, then try again" if "full" in text
                    else "make the file and its folder writable, then try again" if "readonly" in text
                    else "try again")
            raise StorageError(f"cannot write to the database {self.path}: {text}; nothing was stored "
                               f"from this step ({hint})") from None

    @contextmanager
    def _savepoint(self, outer: bool):
        """Inside a transaction, a step that is undone alone when it fails."""
        if outer:
            yield
            return
        self._savepoints += 1
        name = f"step_{self._savepoints}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # a failure may have ended the whole transaction
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
            raise
        self.conn.execute(f"RELEASE {name}")

    def transaction(self):
        """One write transaction around several steps (each step inside is a savepoint):
        an import stores many files per commit. Nothing of it is stored if it fails."""
        return self._writing(plain=True)

    def _begin_immediate(self) -> None:
        """Take the write lock. SQLite waits the busy timeout itself; when another process
        holds the lock longer, say so once and keep waiting, up to write_wait_s in all."""
        import time

        started = time.monotonic()
        deadline = started + self.write_wait_s
        try:
            while True:
                tried = time.monotonic()
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc):
                        raise
                now = time.monotonic()
                if now >= deadline:
                    raise self._busy(now - started)
                if now - started >= BUSY_TIMEOUT_S and not self._said_waiting:
                    self._said_waiting = True
                    if Store.on_long_wait is not None:
                        Store.on_long_wait()
                if now - tried < 0.01:
                    time.sleep(0.01)  # refused without waiting (a WAL reset): no busy loop
                # Until the busy timeout has passed, then to the deadline; SQLite polls the
                # lock (every 0.1 s at most) and takes it as soon as it is free.
                wait = deadline - now if self._said_waiting else min(deadline, started + BUSY_TIMEOUT_S) - now
                self.conn.execute(f"PRAGMA busy_timeout = {max(int(wait * 1000), 1)}")
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    def _busy(self, waited_s: float) -> DatabaseBusy:
        return DatabaseBusy(
            f"cannot write to the database {self.path}: another process kept it locked for "
            f"{round(waited_s, 1):g} s (another shoetrack writing, or a program holding the file open); "
            "nothing was stored from this step (try again once it is done)")

    def _backup_before_migrating(self, version: int) -> None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.schema{version}-{stamp}.bak")
        self.backup_to(target)

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the database, taken with SQLite's online backup, then
        verified (integrity_check on the copy). A copy that cannot be written whole, or
        that shows damage, is removed: no half or damaged backup is ever left behind."""
        try:
            fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            raise StorageError(f"{target} already exists; give a new file name for the backup") from None
        except OSError as exc:
            raise StorageError(f"cannot create the backup {target}: {exc.strerror}") from None
        os.close(fd)
        try:
            copy = sqlite3.connect(target)
            try:
                self.conn.backup(copy)
                problem = integrity_problem(copy, quick=False)
            finally:
                copy.close()
        except (sqlite3.Error, OSError) as exc:
            target.unlink(missing_ok=True)
            if is_damage(exc):
                raise DamagedDatabase(self.path, str(exc)) from None
            text = str(exc) if isinstance(exc, sqlite3.Error) else (exc.strerror or str(exc))
            hint = " (free some disk space, then try again)" if "full" in text or "space" in text else ""
            raise StorageError(f"cannot write the backup {target}: {text}; no file was left behind{hint}") from None
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if problem:
            target.unlink(missing_ok=True)
            raise DamagedDatabase(self.path, problem)

    def integrity_problem(self, *, quick: bool = True) -> str | None:
        """None when SQLite finds the file sound, else what it found (first lines)."""
        return integrity_problem(self.conn, quick=quick)

    def _query(self, sql: str, params=()) -> list[dict]:
        cursor = self.conn.execute(sql, params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor]

    def _one(self, sql: str, params=()) -> dict | None:
        rows = self._query(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _migrate(self) -> None:
        """Create the schema in a new file, or back up and migrate an older one.

        All of it happens in one IMMEDIATE transaction, and the version is read again
        once the write lock is held: of several processes opening a new or older file
        at once, one creates or migrates it and the others wait, then find it current.
        """
        if self._schema_version(self.conn) == SCHEMA_VERSION:
            return  # the usual case, without taking the write lock
        # SQLite cannot back up through a connection that is writing, so the schema is
        # changed through a connection of its own; its write lock keeps every other
        # process out while this one takes the backup.
        writer = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            writer.execute("PRAGMA foreign_keys=ON")
            self._retry_while_busy(writer, "BEGIN IMMEDIATE")
            version = self._schema_version(writer)
            if 0 < version < SCHEMA_VERSION:
                self._backup_before_migrating(version)
            for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in step.split(";\n"):
                    writer.execute(statement)
                writer.execute(f"PRAGMA user_version = {number}")
            writer.execute("COMMIT")
        except BaseException:
            if writer.in_transaction:
                writer.execute("ROLLBACK")
            raise
        finally:
            writer.close()

    def _schema_version(self, conn: sqlite3.Connection) -> int:
        [(version,)] = conn.execute("PRAGMA user_version").fetchall()
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"database {self.path} was written by a newer shoetrack (schema {version}); upgrade shoetrack"
            )
        return version

    @staticmethod
    def _retry_while_busy(conn: sqlite3.Connection, sql: str) -> None:
        """Run a statement that SQLite may refuse at once with "database is locked"
        instead of waiting out the busy timeout: switching a file to WAL needs it to
        itself, so several processes opening a new or older file together refuse
        each other. Retried after short random pauses, for up to the busy timeout."""
        import random
        import time

        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = 0.002
        while True:
            try:
                conn.execute(sql).fetchall()
                return
            except sqlite3.OperationalError as exc:
                busy = (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() + pause > deadline:
                    raise
            time.sleep(random.uniform(pause / 2, pause))
            pause = min(pause * 2, 0.1)

    # -- files ---------------------------------------------------------------

    def file_by_hash(self, sha256: str) -> dict | None:
        return self._one("SELECT * FROM files WHERE sha256 = ?", [sha256])

    def sessions_near(self, earliest: str, latest: str, *, manual: bool = False) -> list[dict]:
        """Stored sessions from files (hidden ones too), or with `manual` the runs logged
        by hand, starting between two ISO times: what a new session could be a copy of."""
        return self._query(
            "SELECT id, source, sport, format, file_sha256 FROM sessions "
            f"WHERE start_time BETWEEN ? AND ? AND source {'=' if manual else '!='} 'manual' "
            "ORDER BY start_time, id",
            [earliest, latest],
        )

    def record_file(self, sha256: str, path: str, size: int, outcome: str, reason: str | None = None,
                    sessions: Iterable[dict] = (), *, judge: Callable[[dict], tuple] | None = None
                    ) -> "Recorded":
        """Store a file's outcome and its sessions in one transaction.

        For an imported file the last word is said under the write lock, so imports
        running side by side never store one activity twice: when another process
        imported the same bytes meanwhile, nothing is stored. With `judge`, each session
        is judged again against what is stored now: judge(row) gives ("new",),
        ("duplicate", source) or ("replace", [session ids]) - a copy of the same run from
        a lesser format, which this one takes the place of (keeping its pin, note and
        hidden state; its file then counts as a duplicate of this one). A file left with
        no session is recorded as a duplicate."""
        rows = [dict(s, file_sha256=sha256) for s in sessions]
        with self._writing(plain=True):
            copy_of = None
            replacing: list[tuple[dict, list[int]]] = []
            if outcome == "imported":
                earlier = self.file_by_hash(sha256)
                if earlier is not None and earlier["outcome"] == "imported":
                    return Recorded(0, earlier["path"])
                if judge is not None:
                    for row in rows:
                        verdict = judge(row)
                        if verdict[0] == "duplicate":
                            copy_of = copy_of or verdict[1]
                        else:
                            replacing.append((row, verdict[1] if verdict[0] == "replace" else []))
                    if rows and not replacing:
                        outcome, reason = "duplicate", copy_of
                    rows = [row for row, _ in replacing]
            self.conn.execute(
                "INSERT OR REPLACE INTO files (sha256, path, size, outcome, reason, sessions, seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", [sha256, path, size, outcome, reason, len(rows), _now()])
            result = Recorded(len(rows), None if rows else copy_of)
            if judge is None:
                for row in rows:
                    self._insert_session(row)
            else:
                for row, old_ids in replacing:
                    new_id = self._insert_session(row)
                    for old_id in old_ids:
                        displaced = self._take_the_place_of(old_id, new_id, path)
                        if displaced:
                            result.displaced.append(displaced)
                    if old_ids:
                        result.in_place.append(new_id)
        return result

    def _insert_session(self, row: dict) -> int:
        """Inside a write: store one session row (plain SQL: an import stores thousands)."""
        columns = list(row)
        cursor = self.conn.execute(
            f"INSERT INTO sessions ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            [row[c] for c in columns])
        return cursor.lastrowid

    def _take_the_place_of(self, old_id: int, new_id: int, path: str) -> None:
        """Inside a write: session `new_id` replaces `old_id`, the same run from a lesser
        format. What the runner said of the old one stays. Returns the old one's file when
        it is now a copy (no session of its own left)."""
        old = self._one("SELECT hidden_at, note, shoe_why, file_sha256 FROM sessions WHERE id = ?", [old_id])
        if old is None:
            return None
        if old["hidden_at"] is not None:
            self.conn.execute("UPDATE sessions SET hidden_at = ?, shoe_id = NULL, shoe_reason = 'none', "
                              "shoe_why = ? WHERE id = ?", [old["hidden_at"], old["shoe_why"], new_id])
        if old["note"] is not None:
            self.conn.execute("UPDATE sessions SET note = ? WHERE id = ?", [old["note"], new_id])
        self.conn.execute("UPDATE OR REPLACE pins SET session_id = ? WHERE session_id = ?", [new_id, old_id])
        self.conn.execute("DELETE FROM sessions WHERE id = ?", [old_id])
        if old["file_sha256"]:
            self.conn.execute(
                "UPDATE files SET sessions = max(sessions - 1, 0), "
                "outcome = CASE WHEN sessions <= 1 THEN 'duplicate' ELSE outcome END, "
                "reason = CASE WHEN sessions <= 1 THEN ? ELSE reason END WHERE sha256 = ?",
                [path, old["file_sha256"]])
            after = self.file_by_hash(old["file_sha256"])
            if after and after["outcome"] == "duplicate":
                return after["path"]
        return None

    # -- queries -------------------------------------------------------------

    def sessions(self, *, since: str | None = None, until: str | None = None,
                 sports: Iterable[str] | None = None, shoe_id: int | None = None,
                 hidden: bool = False) -> list[dict]:
        """Sessions newest first, filtered by local day (inclusive), sport and pair; the
        hidden ones (deleted by the runner) only, with `hidden`."""
        where, params = [f"sessions.hidden_at IS {'NOT ' if hidden else ''}NULL"], []
        if shoe_id is not None:
            where.append("sessions.shoe_id = ?")
            params.append(shoe_id)
        if since:
            where.append("local_date >= ?")
            params.append(since)
        if until:
            where.append("local_date <= ?")
            params.append(until)
        if sports is not None:
            sports = list(sports)
            where.append(f"sport IN ({', '.join('?' for _ in sports)})")
            params.extend(sports)
        sql = "SELECT sessions.*, shoes.name AS shoe FROM sessions LEFT JOIN shoes ON shoes.id = sessions.shoe_id"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY sessions.start_time DESC, sessions.id DESC"
        return self._query(sql, params)

    def session(self, session_id: int, *, with_shoe: bool = False) -> dict | None:
        """One session (hidden or not); with its pair's name as `shoe` when asked."""
        if with_shoe:
            return self._one("SELECT sessions.*, shoes.name AS shoe FROM sessions "
                             "LEFT JOIN shoes ON shoes.id = sessions.shoe_id WHERE sessions.id = ?", [session_id])
        return self._one("SELECT * FROM sessions WHERE id = ?", [session_id])

    def hide_session(self, session_id: int) -> None:
        """Take a run out of every figure, keeping it (and its file) known. A hidden run
        wears no pair, so the pairs' queries need no filter."""
        with self._writing():
            self.conn.execute("UPDATE sessions SET hidden_at = ?, shoe_id = NULL, shoe_reason = 'none', "
                              "shoe_why = 'deleted by you' WHERE id = ?", [_now(), session_id])

    def unhide_session(self, session_id: int) -> None:
        with self._writing():
            self.conn.execute("UPDATE sessions SET hidden_at = NULL WHERE id = ?", [session_id])

    def delete_session(self, session_id: int) -> None:
        """Forget a run logged by hand (its pin goes with it)."""
        with self._writing():
            self.conn.execute("DELETE FROM sessions WHERE id = ?", [session_id])

    def update_session(self, session_id: int, changes: dict) -> None:
        with self._writing():
            self.db["sessions"].update(session_id, changes)

    def add_session(self, row: dict) -> int:
        """Store one session made by hand (no file behind it); returns its id."""
        with self._writing():
            return self.db["sessions"].insert(row).last_pk

    # -- shoes ---------------------------------------------------------------

    def shoes(self) -> list[dict]:
        return self._query("SELECT * FROM shoes ORDER BY name COLLATE NOCASE")

    def shoe_by_name(self, name: str) -> dict | None:
        return self._one("SELECT * FROM shoes WHERE name = ? COLLATE NOCASE", [name])

    def add_shoe(self, row: dict) -> int:
        with self._writing():
            return self.db["shoes"].insert(dict(row, added_at=_now())).last_pk

    def update_shoe(self, shoe_id: int, changes: dict) -> None:
        with self._writing():
            self.db["shoes"].update(shoe_id, changes)

    def delete_shoe(self, shoe_id: int) -> None:
        """Delete a pair; runs pinned to it go back to automatic attribution."""
        with self._writing():
            self.db.execute("DELETE FROM pins WHERE shoe_id = ?", [shoe_id])
            self.db.execute("DELETE FROM gear_choices WHERE shoe_id = ?", [shoe_id])
            self.db.execute("DELETE FROM shoes WHERE id = ?", [shoe_id])

    def export_runs(self) -> dict[int, int]:
        """Per pair, the runs in it because an export said so."""
        rows = self._query("SELECT shoe_id, count(*) AS runs FROM sessions "
                           "WHERE shoe_reason = 'export' GROUP BY shoe_id")
        return {row["shoe_id"]: row["runs"] for row in rows}

    def runs_on_shoe(self, shoe_id: int) -> int:
        return self.conn.execute("SELECT count(*) FROM sessions WHERE shoe_id = ?", [shoe_id]).fetchone()[0]

    def pins(self) -> dict[int, int | None]:
        return {row["session_id"]: row["shoe_id"] for row in self._query("SELECT * FROM pins")}

    def set_pin(self, session_id: int, shoe_id: int | None) -> None:
        with self._writing():
            self.db["pins"].insert({"session_id": session_id, "shoe_id": shoe_id}, replace=True)

    def clear_pin(self, session_id: int) -> None:
        with self._writing():
            self.db.execute("DELETE FROM pins WHERE session_id = ?", [session_id])

    def gear_choices(self) -> list[dict]:
        """What exports said about each activity's pair, oldest first."""
        return self._query("SELECT * FROM gear_choices ORDER BY start_time, source, activity_id")

    def save_gear_choices(self, rows: list[dict]) -> int:
        """Add or correct exports' choices (keyed by source and activity); returns how many changed."""
        changed = 0
        with self._writing():
            for row in rows:
                old = self._one("SELECT start_time, sport, shoe_id FROM gear_choices "
                                "WHERE source = ? AND activity_id = ?", [row["source"], row["activity_id"]])
                if old != {k: row[k] for k in ("start_time", "sport", "shoe_id")}:
                    self.db["gear_choices"].insert(row, replace=True)
                    changed += 1
        return changed

    def attribution_facts(self, session_ids: Iterable[int] | None = None) -> list[dict]:
        """What attribution needs to know of each session (all, or the ids given)."""
        sql = ("SELECT id, start_time, local_date, sport, sub_sport, distance_m, timer_s, elapsed_s, "
               "device_serial, foot_pod_serial FROM sessions WHERE hidden_at IS NULL")
        if session_ids is None:
            return self._query(sql)
        ids = list(session_ids)
        return self._query(f"{sql} AND id IN ({', '.join('?' for _ in ids)})", ids)

    def set_attributions(self, rows: Iterable[tuple[int | None, str, str, int]]) -> None:
        """Write (shoe_id, reason, why, session_id) for many sessions in one transaction."""
        with self._writing(plain=True):
            self.conn.executemany(
                "UPDATE sessions SET shoe_id = ?, shoe_reason = ?, shoe_why = ? WHERE id = ?", rows
            )

    def shoe_usage(self, as_of: str, recent_from: str) -> dict[int, dict]:
        """Per pair, up to `as_of`: runs, metres, first and last day, metres since `recent_from`."""
        rows = self._query(
            "SELECT shoe_id, count(*) AS runs, coalesce(sum(distance_m), 0) AS metres, "
            "min(local_date) AS first_run, max(local_date) AS last_run, "
            "coalesce(sum(CASE WHEN local_date >= ? THEN distance_m END), 0) AS recent_metres "
            "FROM sessions WHERE shoe_id IS NOT NULL AND local_date <= ? GROUP BY shoe_id",
            [recent_from, as_of],
        )
        return {row["shoe_id"]: row for row in rows}

    def shoe_days(self, shoe_id: int, as_of: str) -> Iterator[tuple[str, float | None]]:
        """(day, metres) of a pair's runs up to `as_of`, oldest first, read lazily
        from the index so a caller can stop early."""
        return iter(self.conn.execute(
            "SELECT local_date, distance_m FROM sessions WHERE shoe_id = ? AND local_date <= ? "
            "ORDER BY local_date",
            [shoe_id, as_of],
        ))

    # -- training days -----------------------------------------------------------

    def day_totals(self, first: str, last: str, on_foot: Iterable[str]) -> list[dict]:
        """Per day in [first, last]: on-foot km, minutes and longest session, other minutes."""
        sports = list(on_foot)
        marks = ", ".join("?" for _ in sports)
        return self._query(
            "SELECT local_date AS day, "
            f" sum(CASE WHEN sport IN ({marks}) THEN coalesce(distance_m, 0) ELSE 0 END) / 1000.0 AS foot_km,"
            f" sum(CASE WHEN sport IN ({marks}) THEN coalesce(timer_s, elapsed_s, 0) ELSE 0 END) / 60.0"
            "   AS foot_minutes,"
            f" sum(CASE WHEN sport IN ({marks}) THEN 0 ELSE coalesce(timer_s, elapsed_s, 0) END) / 60.0"
            "   AS cross_minutes,"
            f" max(CASE WHEN sport IN ({marks}) THEN coalesce(distance_m, 0) ELSE 0 END) / 1000.0 AS longest_km,"
            f" max(sport IN ({marks})) AS on_foot "
            "FROM sessions WHERE local_date BETWEEN ? AND ? AND hidden_at IS NULL GROUP BY local_date",
            [*sports, *sports, *sports, *sports, *sports, first, last],
        )

    def first_day(self, on_foot: Iterable[str]) -> str | None:
        sports = list(on_foot)
        # Walks the day index from the oldest day: no scan of the whole history.
        row = self.conn.execute(
            f"SELECT local_date FROM sessions INDEXED BY sessions_day "
            f"WHERE sport IN ({', '.join('?' for _ in sports)}) AND hidden_at IS NULL "
            "ORDER BY local_date LIMIT 1", sports
        ).fetchone()
        return row[0] if row else None

    def first_session_day(self) -> str | None:
        """The day of the oldest session of any sport (from the day index)."""
        row = self.conn.execute("SELECT local_date FROM sessions INDEXED BY sessions_day "
                                "WHERE hidden_at IS NULL ORDER BY local_date LIMIT 1").fetchone()
        return row[0] if row else None

    def pair_days(self) -> list[tuple[int, str, int, float]]:
        """(shoe_id, day, runs, km) for every pair and day it ran, by pair, oldest first."""
        return self.conn.execute(
            "SELECT shoe_id, local_date, count(*), coalesce(sum(distance_m), 0) / 1000.0 FROM sessions "
            "WHERE shoe_id IS NOT NULL GROUP BY shoe_id, local_date ORDER BY shoe_id, local_date"
        ).fetchall()

    # -- pain --------------------------------------------------------------------

    def add_pain(self, day: str, level: int, side: str | None, note: str | None) -> int:
        with self._writing():
            return self.db["pain"].insert(
                {"day": day, "level": level, "side": side, "note": note, "logged_at": _now()}
            ).last_pk

    def delete_pain(self, pain_id: int) -> None:
        with self._writing():
            self.conn.execute("DELETE FROM pain WHERE id = ?", [pain_id])

    def pain_entry(self, pain_id: int) -> dict | None:
        return self._one("SELECT id, day, level, side, note FROM pain WHERE id = ?", [pain_id])

    def pain_log(self, first: str | None = None, last: str | None = None) -> list[dict]:
        return self._query(
            "SELECT id, day, level, side, note FROM pain WHERE day BETWEEN ? AND ? ORDER BY day, id",
            [first or "0000-01-01", last or "9999-12-31"],
        )

    # -- announced alert episodes -------------------------------------------------

    def announcements(self, since_day: str) -> list[dict]:
        """Announcements made on or after a day, oldest first."""
        return self._query("SELECT * FROM announcements WHERE announced_on >= ? ORDER BY announced_on, id",
                           [since_day])

    def announce_new(self, since_day: str, choose: Callable[[list[dict]], Iterable[dict]]) -> list[dict]:
        """Record the episodes not announced yet, deciding which under the write lock.

        `choose(announcements)` gets the announcements made on or after `since_day`, read
        once the write lock is held, and returns the rows to add (kind, subject, started,
        announced_on). Of several processes checking at once, one records and the others,
        waiting for the lock, then find its rows. Returns the rows added."""
        with self._writing():
            rows = list(choose(self.announcements(since_day)))
            if rows:
                self.db["announcements"].insert_all(rows)
        return rows

    def has_undelivered(self) -> bool:
        return self.conn.execute("SELECT 1 FROM announcements WHERE delivered_at IS NULL LIMIT 1").fetchone() is not None

    def claim_delivery(self, announcement_id: int, stale_after_s: int = CLAIM_STALE_S) -> bool:
        """Take the right to send one announcement's notification, so that two processes
        (a check and the daemon) never both send it. A claim older than `stale_after_s`
        (its process died mid-send) can be taken again. False: delivered, or being sent."""
        now = datetime.now(timezone.utc)
        stale = (now - timedelta(seconds=stale_after_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._writing():
            cursor = self.conn.execute(
                "UPDATE announcements SET sending_since = ? WHERE id = ? AND delivered_at IS NULL "
                "AND (sending_since IS NULL OR sending_since < ?)",
                [now.strftime("%Y-%m-%dT%H:%M:%SZ"), announcement_id, stale])
            return cursor.rowcount == 1

    def release_delivery(self, announcement_id: int) -> None:
        """Give a claim back after a failed attempt: the announcement stays due."""
        with self._writing():
            self.conn.execute("UPDATE announcements SET sending_since = NULL WHERE id = ?", [announcement_id])

    def mark_delivered(self, announcement_id: int, when: str | None = None) -> None:
        with self._writing():
            self.conn.execute("UPDATE announcements SET delivered_at = ?, sending_since = NULL WHERE id = ?",
                              [when or _now(), announcement_id])

    def snoozes(self) -> list[dict]:
        return self._query("SELECT * FROM snoozes")

    def snooze(self, kind: str, subject: str, until: str) -> None:
        with self._writing():
            self.db["snoozes"].insert({"kind": kind, "subject": subject, "until": until}, replace=True)

    # -- files already handled -----------------------------------------------------

    SEEN = ("SELECT seen.*, files.path AS known_path, files.outcome AS known_outcome, "
            "files.reason AS known_reason FROM seen LEFT JOIN files ON files.sha256 = seen.sha256")

    def seen(self, path: str) -> list[dict]:
        """What is remembered of the file at `path`, each part with its file's outcome
        (known_*: None when the bytes are not known any more)."""
        return self._query(f"{self.SEEN} WHERE seen.path = ? ORDER BY seen.rowid", [path])

    def seen_everywhere(self) -> dict[str, list[dict]]:
        """seen() of every file at once, by path: a re-scan of thousands of files."""
        found: dict[str, list[dict]] = {}
        for row in self._query(f"{self.SEEN} ORDER BY seen.rowid"):
            found.setdefault(row["path"], []).append(row)
        return found

    def remember_seen(self, path: str, size: int, mtime_ns: int, rows: list[dict]) -> None:
        """Replace what is remembered of the file at `path` (one transaction)."""
        with self._writing(plain=True):
            self.conn.execute("DELETE FROM seen WHERE path = ?", [path])
            self.conn.executemany(
                "INSERT OR REPLACE INTO seen (label, path, size, mtime_ns, sha256, outcome, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r["label"], path, size, mtime_ns, r.get("sha256"), r.get("outcome"), r.get("reason"))
                 for r in rows],
            )

    def files_under(self, folder: str) -> dict:
        """How many files were handled under `folder`, and how many runs (not deleted) were
        stored from them. Ranges on the seen_path and sessions_source indexes: fast at any size."""
        low, high = folder.rstrip("/") + "/", folder.rstrip("/") + "0"  # "0" sorts right after "/"
        row = self._one(
            "SELECT (SELECT count(DISTINCT path) FROM seen WHERE path >= ? AND path < ?) AS files, "
            "(SELECT count(*) FROM sessions WHERE source >= ? AND source < ? AND hidden_at IS NULL) AS runs",
            [low, high, low, high])
        return {"files": row["files"], "runs": row["runs"]}

    def runs_from(self, sources: list[str]) -> list[dict]:
        """The runs (not deleted) stored from these files, each with its pair's name (or None)."""
        rows: list[dict] = []
        for start in range(0, len(sources), 500):
            chunk = sources[start:start + 500]
            rows += self._query(
                "SELECT sessions.id, sessions.sport, shoes.name AS shoe FROM sessions "
                "LEFT JOIN shoes ON shoes.id = sessions.shoe_id "
                f"WHERE sessions.hidden_at IS NULL AND sessions.source IN ({', '.join('?' * len(chunk))})", chunk)
        return rows

    def places(self) -> list[dict]:
        """Every place files were read from, with when it was last looked through."""
        return self._query("SELECT * FROM places ORDER BY kind, path")

    def record_scan(self, path: str, kind: str, label: str | None, when: str | None = None) -> None:
        """A place was looked through (all of it) at `when` (default: now)."""
        with self._writing(plain=True):
            self.conn.execute("INSERT OR REPLACE INTO places (path, kind, label, last_scanned) VALUES (?, ?, ?, ?)",
                              [path, kind, label, when or _now()])

    # -- other files: a backup, or a database set aside (maybe damaged) -------------------

    @staticmethod
    def _open_file(path: Path, *, as_is: bool) -> sqlite3.Connection:
        """A connection to another database file that writes nothing to it. `as_is`: read-only,
        so even its -wal is read and never folded into the file (a damaged file set aside
        stays as it was); else an ordinary connection, which removes the -wal and -shm it
        made when it closes (a backup's folder stays tidy)."""
        if not path.is_file():
            raise StorageError(f"{path} is not a file")
        if as_is:
            return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)

    @staticmethod
    def probe(path: Path) -> tuple[int, int, str | None]:
        """(schema version, number of tables, quick_check findings or None) of a database
        file, read without migrating or creating anything. The connection may write
        (mode=rw, never create): a read-only one would leave -wal and -shm files behind.
        Raises DamagedDatabase when the file cannot be read as a database at all, and
        StorageError when it cannot be opened."""
        try:
            conn = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True, timeout=2)
            try:
                [(version,)] = conn.execute("PRAGMA user_version").fetchall()
                [(tables,)] = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchall()
                return version, tables, integrity_problem(conn, quick=True)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            if is_damage(exc):
                raise DamagedDatabase(path, str(exc)) from None
            raise StorageError(f"{path} cannot be opened: {exc}") from None

    @staticmethod
    def file_problem(path: Path) -> str | None:
        """None when `path` is a sound shoetrack database this version can open (the full
        integrity_check, a schema it knows), else what is wrong, in a few words."""
        try:
            conn = Store._open_file(path, as_is=False)
        except StorageError as exc:
            return exc.message
        except sqlite3.Error as exc:
            return str(exc)
        try:
            problem = integrity_problem(conn, quick=False)
            if problem:
                return problem
            [(version,)] = conn.execute("PRAGMA user_version").fetchall()
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.Error as exc:
            return str(exc)
        finally:
            conn.close()
        if version > SCHEMA_VERSION:
            return f"written by a newer shoetrack (schema {version})"
        if version < 1 or not {"files", "sessions"} <= tables:
            return "not a shoetrack database"
        return None

    @staticmethod
    def salvage(path: Path, table: str, columns: Iterable[str], *, as_is: bool = True
                ) -> tuple[list[dict], bool]:
        """The rows of `table` that can be read from a file that may be damaged, and whether
        every row could be read. A column the file's schema lacks reads as None; a table
        it lacks has no rows.

        Rows are read in rowid order. Where a damaged page stops the reading, it starts again
        one rowid further, until past the damage: a bad page costs only the rows it held."""
        columns = list(columns)
        try:
            conn = Store._open_file(path, as_is=as_is)
        except (StorageError, sqlite3.Error):
            return [], False
        try:
            try:
                present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            except sqlite3.DatabaseError:
                return [], False  # the schema itself cannot be read
            if not present:
                return [], True
            wanted = ", ".join(c if c in present else f"NULL AS {c}" for c in columns)
            whole = True
            try:
                first, last = conn.execute(f"SELECT min(rowid), max(rowid) FROM {table}").fetchone()
            except sqlite3.DatabaseError:
                first, last, whole = None, None, False
            if first is None and whole:
                return [], True  # an empty table
            rows: list[dict] = []
            next_id = 1 if first is None else first
            misses = 0  # rowids in a row that could not be read
            sql = f"SELECT rowid, {wanted} FROM {table} WHERE rowid >= ? ORDER BY rowid"
            while True:
                moved = False
                try:
                    for found in conn.execute(sql, [next_id]):
                        rows.append(dict(zip(columns, found[1:])))
                        next_id, moved, misses = found[0] + 1, True, 0
                    return rows, whole
                except sqlite3.DatabaseError:
                    whole = False
                    if not moved:
                        next_id += 1
                        misses += 1
                    if (last is not None and next_id > last) or misses > 200_000:
                        return rows, whole
        finally:
            conn.close()
