"""Configuration: TOML text -> checked values, with every problem reported at once.

Loading goes parse -> flatten -> check each key against the schema -> logical
checks (folders that must exist). `parse_config` works on a string so tests need
no files; `load_config` is the thin file wrapper.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError

DEFAULT_INBOX = "~/shoetrack-inbox"


# -- value checkers: each returns (value, None) or (None, "what is expected") --

def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _positive_number(value: Any):
    if not _number(value) or value <= 0:
        return None, "must be a number > 0"
    return float(value), None


def _seconds(value: Any):
    """How often to look at a folder: from once a second to once a day."""
    if not _number(value) or not 1 <= value <= 86400:
        return None, "must be a number of seconds from 1 to 86400"
    return float(value), None


def _positive_int(value: Any):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None, "must be a whole number > 0"
    return value, None


def _percent(value: Any):
    if not _number(value) or not 0 < value <= 100:
        return None, "must be a number > 0 and <= 100"
    return float(value), None


def _boolean(value: Any):
    if not isinstance(value, bool):
        return None, "must be true or false"
    return value, None


def _path(value: Any):
    if not isinstance(value, str) or not value.strip():
        return None, "must be a non-empty path string"
    return value, None


def _path_list(value: Any):
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return None, 'must be a list of path strings, like ["/media/$USER"]'
    return tuple(value), None


def expand_path(raw: str, base_dir: Path) -> Path:
    """A path from the config: `~`, $USER and $UID expanded; relative to the config's folder."""
    import getpass

    text = os.path.expanduser(raw)
    for name, value in (("USER", getpass.getuser()), ("UID", str(os.getuid()))):
        text = text.replace("${" + name + "}", value).replace("$" + name, value)
    path = Path(text)
    return path if path.is_absolute() else base_dir / path


def _clock(value: Any):
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        return None, 'must be a time of day like "19:00"'
    return value, None


def _clock_range(value: Any):
    if not isinstance(value, str) or not re.fullmatch(
        r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value
    ):
        return None, 'must be a range like "22:00-07:00" (or "" for none)'
    return value, None


def _choice(*allowed: str) -> Callable[[Any], tuple]:
    def check(value: Any):
        if value not in allowed:
            return None, "must be one of " + ", ".join(f'"{a}"' for a in allowed)
        return value, None

    return check


def _optional(check: Callable[[Any], tuple]) -> Callable[[Any], tuple]:
    """An option whose empty value ("" or 0) means "off"."""

    def checked(value: Any):
        if value in ("", 0) and not isinstance(value, bool):
            return None, None
        return check(value)

    return checked


@dataclass(frozen=True)
class Option:
    check: Callable[[Any], tuple]
    default: Any


SCHEMA: dict[str, Option] = {
    "units": Option(_choice("km", "mi"), "km"),
    "database.path": Option(_path, None),
    "inbox.path": Option(_path, DEFAULT_INBOX),
    "inbox.after_import": Option(_choice("keep", "move"), "keep"),
    "inbox.poll_seconds": Option(_optional(_seconds), None),
    "shoes.limit_km": Option(_positive_number, 700.0),
    "alerts.shoe_warn_pct": Option(_percent, 80.0),
    "alerts.shoe_max_age_days": Option(_optional(_positive_int), None),
    "alerts.streak_days": Option(_positive_int, 7),
    "alerts.acwr": Option(_positive_number, 1.5),
    "alerts.weekly_jump_pct": Option(_positive_number, 30.0),
    "alerts.monotony": Option(_positive_number, 2.0),
    "training.long_run_km": Option(_positive_number, 18.0),
    "daemon.scan_minutes": Option(_positive_number, 10.0),
    "daemon.check_at": Option(_clock, "19:00"),
    "notify.enabled": Option(_boolean, True),
    "notify.quiet_hours": Option(_optional(_clock_range), ""),
    "notify.urgency": Option(_choice("low", "normal", "critical"), "normal"),
    "notify.retry_minutes": Option(_positive_number, 5.0),
    "backup.keep": Option(_positive_int, 7),
    "backup.min_free_mb": Option(_optional(_positive_number), 100.0),
    "report.enabled": Option(_boolean, True),
    "report.path": Option(_path, None),
    "watch.devices": Option(_boolean, True),
    "watch.device_roots": Option(_path_list, None),
}

# The keys of one watched place ([[watch]] or [[watch.places]]).
PLACE_KEYS = {"path": _path, "mode": _choice("read-only"), "poll_seconds": _seconds}
DEFAULT_DEVICE_ROOTS = ("/media/$USER", "/run/media/$USER", "/run/user/$UID/gvfs")


@dataclass(frozen=True)
class WatchPlace:
    """A folder watched besides the inbox, as the config names it."""

    raw: str  # the path as written
    path: Path  # expanded
    mode: str = "read-only"
    poll_seconds: float | None = None  # None: poll only where inotify sees no change (FUSE, network)


@dataclass(frozen=True)
class Config:
    """Checked configuration values, keyed by their dotted TOML path."""

    source: str = "<defaults>"
    values: Mapping[str, Any] = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path.cwd)
    explicit: frozenset = frozenset()

    def get(self, key: str) -> Any:
        if key in self.values:
            return self.values[key]
        return SCHEMA[key].default

    def path(self, key: str) -> Path | None:
        raw = self.get(key)
        if raw is None:
            return None
        return expand_path(raw, self.base_dir)

    @property
    def places(self) -> tuple[WatchPlace, ...]:
        """The folders watched besides the inbox ([[watch]]), in the config's order."""
        return self.values.get("watch.places", ())

    @property
    def devices(self) -> bool:
        """Whether watches plugged in (USB, MTP) are looked for and read."""
        return self.get("watch.devices")

    @property
    def device_roots(self) -> tuple[Path, ...]:
        """Where removable media appear (a mount point of its own per device under each)."""
        raw = self.get("watch.device_roots") or DEFAULT_DEVICE_ROOTS
        return tuple(expand_path(r, self.base_dir) for r in raw)

    @property
    def inbox(self) -> Path:
        return self.path("inbox.path")

    @property
    def units(self) -> str:
        return self.get("units")

    @property
    def shoe_limit_km(self) -> float:
        return self.get("shoes.limit_km")

    @property
    def shoe_warn_pct(self) -> float:
        return self.get("alerts.shoe_warn_pct")


SECTIONS = frozenset(k.split(".")[0] for k in SCHEMA if "." in k)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and (prefix or key in SECTIONS):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _unknown_key_problem(key: str) -> str:
    section, _, name = key.rpartition(".")
    siblings = sorted(k.rpartition(".")[2] for k in SCHEMA if k.rpartition(".")[0] == section)
    if not section or not siblings:  # top level: compare with the section names and top-level keys
        name, siblings, section = key, sorted(SECTIONS | {k for k in SCHEMA if "." not in k}), ""
    import difflib  # only needed when there is a typo to explain

    hint = difflib.get_close_matches(name, siblings, n=1, cutoff=0.75)
    hint = [f"{section}.{hint[0]}" if section else hint[0]] if hint else []
    suggestion = f' (did you mean "{hint[0]}"?)' if hint else " (see config.example.toml)"
    return f"{key}: unknown key{suggestion}"


def check_config(text: str, source: str = "<string>", base_dir: Path | None = None
                 ) -> tuple[Config, list[str]]:
    """Parse TOML text and check every key.

    Returns the valid values as a Config and the list of problems (empty when
    the text is fine), so a caller can report everything at once.
    """
    base = base_dir or Path.cwd()
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Config(source=source, base_dir=base), [f"not valid TOML: {exc}"]
    problems: list[str] = []
    values: dict[str, Any] = {}
    if "watch" in document:
        document = dict(document)
        watch = document.pop("watch")
        if isinstance(watch, dict):  # [watch] devices = ..., [[watch.places]]
            places = watch.get("places", [])
            document["watch"] = {k: v for k, v in watch.items() if k != "places"}
        else:  # [[watch]]
            places = watch
        found, problems = _places(places, base)
        if found:
            values["watch.places"] = found
    for key, raw in _flatten(document).items():
        option = SCHEMA.get(key)
        if option is None:
            problems.append(_unknown_key_problem(key))
            continue
        value, problem = option.check(raw)
        if problem:
            problems.append(f"{key}: {problem}")
        else:
            values[key] = value
    config = Config(source=source, values=values, base_dir=base, explicit=frozenset(values))
    return config, problems


def _places(tables: Any, base: Path) -> tuple[tuple[WatchPlace, ...], list[str]]:
    """The watched places from [[watch]] (or [[watch.places]]) tables, and their problems."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        return (), ['watch: must be [[watch]] tables, each with a path (see config.example.toml)']
    problems, places = [], []
    for number, table in enumerate(tables, 1):
        where = f"watch[{number}]"
        values, bad = {}, False
        for key, raw in table.items():
            check = PLACE_KEYS.get(key)
            if check is None:
                import difflib

                hint = difflib.get_close_matches(key, list(PLACE_KEYS), n=1, cutoff=0.75)
                problems.append(f"{where}.{key}: unknown key"
                                + (f' (did you mean "{hint[0]}"?)' if hint else " (see config.example.toml)"))
                bad = True
                continue
            value, problem = check(raw)
            if problem:
                problems.append(f"{where}.{key}: {problem}")
                bad = True
            values[key] = value
        if "path" not in table:
            problems.append(f"{where}: needs a path, like path = \"~/Sync/watch\"")
            continue
        if bad:
            continue
        place = WatchPlace(values["path"], expand_path(values["path"], base),
                           values.get("mode", "read-only"), values.get("poll_seconds"))
        same = next((p for p in places if overlaps(p.path, place.path)), None)
        if same is not None:
            problems.append(f"{where}.path: {place.path} overlaps {same.path}, watched already "
                            "(name each folder once, and no folder inside another)")
            continue
        places.append(place)
    return tuple(places), problems


def overlaps(a: Path, b: Path) -> bool:
    """Whether one folder is the other or holds it."""
    a, b = Path(os.path.normpath(a)), Path(os.path.normpath(b))
    return a == b or a in b.parents or b in a.parents


def parse_config(text: str, source: str = "<string>", base_dir: Path | None = None) -> Config:
    """Parse and check TOML text; raises ConfigError listing every problem."""
    config, problems = check_config(text, source, base_dir)
    if problems:
        raise ConfigError(source, problems)
    return config


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "shoetrack" / "config.toml"


def default_database_path(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "shoetrack" / "shoetrack.db"


def default_report_path(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "shoetrack" / "report.html"


def read_config(path: Path, *, required: bool) -> tuple[Config, list[str]]:
    """Read and check the config file at `path`: the valid values and every problem.

    A missing file means defaults, unless `required` (the user named it).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        defaults = Config(source=str(path) if required else f"{path} (not present: defaults)",
                          base_dir=path.parent)
        return defaults, (["file does not exist"] if required else [])
    except UnicodeDecodeError:
        return Config(source=str(path), base_dir=path.parent), ["not UTF-8 text"]
    except OSError as exc:
        return Config(source=str(path), base_dir=path.parent), [f"cannot be read: {exc.strerror}"]
    return check_config(text, source=str(path), base_dir=path.parent)


def load_config(path: Path, *, required: bool) -> Config:
    """The checked config at `path`; raises ConfigError listing every problem."""
    config, problems = read_config(path, required=required)
    if problems:
        raise ConfigError(config.source, problems)
    return config


def place_notes(config: Config) -> list[str]:
    """What is worth knowing about the watched places but is no error: a folder that is
    not there now may appear later (a sync folder made later, a card mounted later)."""
    return [f"watch[{number}].path: {place.path} is not there now; it is read when it appears"
            for number, place in enumerate(config.places, 1) if not place.path.is_dir()]


def folder_problems(config: Config) -> list[str]:
    """Logical checks on a parsed config: folders the user named must exist."""
    problems = []
    if "inbox.path" in config.explicit:
        inbox = config.inbox
        if not inbox.is_dir():
            problems.append(
                f"inbox.path: folder does not exist: {inbox} (create it or fix the path)"
            )
    db = config.path("database.path")
    if db is not None and not db.parent.is_dir():
        problems.append(
            f"database.path: folder does not exist: {db.parent} (create it or fix the path)"
        )
    for number, place in enumerate(config.places, 1):
        if overlaps(place.path, config.inbox):
            problems.append(f"watch[{number}].path: {place.path} overlaps the inbox {config.inbox} "
                            "(the inbox is watched already: name another folder)")
    report = config.path("report.path")
    if report is not None and not report.parent.is_dir():
        problems.append(
            f"report.path: folder does not exist: {report.parent} (create it or fix the path)"
        )
    return problems
