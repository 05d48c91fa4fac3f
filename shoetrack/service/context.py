"""Where things live: the config file and the database, resolved once per command."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..config import Config, default_config_path, default_database_path, load_config
from ..errors import StorageError


@dataclass
class Context:
    """The config and database a command works on, opened on first use.

    `config_path` and `db_path` are what the user gave (option or environment),
    or None for the defaults.
    """

    config_path: str | None = None
    db_path: str | None = None
    _store: object = field(default=None, repr=False)

    @property
    def config_file(self) -> tuple[Path, bool]:
        """The config file to read, and whether the user named it."""
        if self.config_path:
            return Path(self.config_path).expanduser(), True
        return default_config_path(), False

    @cached_property
    def config(self) -> Config:
        path, required = self.config_file
        return load_config(path, required=required)

    @cached_property
    def database(self) -> Path:
        if self.db_path:
            return Path(self.db_path).expanduser()
        configured = self.config.path("database.path")
        if configured is not None:
            return configured
        default = default_database_path()
        try:
            default.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StorageError(f"cannot create data folder {default.parent}: {exc.strerror}") from None
        return default

    @property
    def store(self):
        """The open database. The config is checked first: a broken config stops
        every command before anything is read or written."""
        _ = self.config
        if self._store is None:
            from ..adapters.store import Store

            self._store = Store(self.database)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def ensure_folder(path: Path) -> Path:
    """Create a folder (and its parents) private to the user if it is missing."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path

