"""Storage: the only module that imports sqlite-utils (and talks SQL).

One SQLite file in WAL mode with a busy timeout, so the daemon can write while
the CLI reads. Each imported file is stored in one transaction.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import sqlite_utils

from ..errors import StorageError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10

# Statements are separated by ";" at line ends (comments must not contain one).
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    sha256   TEXT PRIMARY KEY,
    path     TEXT NOT NULL,
    size     INTEGER NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('imported', 'duplicate', 'skipped', 'failed')),
    reason   TEXT,             -- why skipped or failed, or the source a duplicate repeats
    sessions INTEGER NOT NULL DEFAULT 0,
    seen_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
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
CREATE INDEX IF NOT EXISTS sessions_start ON sessions (start_time);
CREATE INDEX IF NOT EXISTS sessions_day ON sessions (local_date);
"""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (runs are personal)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class Store:
    """The runner's history in one SQLite file."""

    def __init__(self, path: Path):
        self.path = path
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
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(
                f"cannot open database {path}: {exc} (check the file is a shoetrack database "
                "and its folder is writable, or use --db)"
            ) from None

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"database {self.path} was written by a newer shoetrack (schema {version}); upgrade shoetrack"
            )
        if version < SCHEMA_VERSION:
            with self.db.atomic():
                for statement in SCHEMA.split(";\n"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- files ---------------------------------------------------------------

    def file_by_hash(self, sha256: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM files WHERE sha256 = ?", [sha256]))
        return rows[0] if rows else None

    def session_near(self, sport: str, earliest: str, latest: str) -> dict | None:
        """An already stored session of `sport` starting between two ISO times."""
        rows = self.db.query(
            "SELECT id, source FROM sessions WHERE start_time BETWEEN ? AND ? AND sport = ? "
            "ORDER BY start_time LIMIT 1",
            [earliest, latest, sport],
        )
        return next(iter(rows), None)

    def record_file(self, sha256: str, path: str, size: int, outcome: str,
                    reason: str | None = None, sessions: Iterable[dict] = ()) -> None:
        """Store a file's outcome and its sessions in one transaction."""
        rows = [dict(s, file_sha256=sha256) for s in sessions]
        with self.db.atomic():
            self.db["files"].insert(
                {"sha256": sha256, "path": path, "size": size, "outcome": outcome,
                 "reason": reason, "sessions": len(rows), "seen_at": _now()},
                replace=True,
            )
            if rows:
                self.db["sessions"].insert_all(rows)

    # -- queries -------------------------------------------------------------

    def sessions(self, *, since: str | None = None, until: str | None = None,
                 sports: Iterable[str] | None = None) -> list[dict]:
        """Sessions newest first, filtered by local day (inclusive) and sport."""
        where, params = [], []
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
        sql = "SELECT * FROM sessions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start_time DESC, id DESC"
        return list(self.db.query(sql, params))
