"""`shoetrack doctor`: is this setup able to do its job? Checks, never repairs.

Each check gives a finding {check, status, detail, fix}: status "ok", "warning"
(works, but worth knowing or doing something about) or "problem" (something
will not work until it is fixed); `fix` says what to do (None when ok). A check
that needs one that failed is left out (no server check without a session bus,
no integrity check of a file that cannot be opened).

Nothing is created, migrated or changed: the database is only read (an older
schema is reported, not migrated), the config is read the way
`shoetrack config check` reads it, and the unit is only read and verified.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from ..adapters.store import SCHEMA_VERSION, Store
from ..adapters.systemd import UnitCheckError, verify_unit
from ..errors import DamagedDatabase, StorageError
from ..config import Config, default_config_path, default_database_path, folder_problems, read_config

OK, WARNING, PROBLEM = "ok", "warning", "problem"
WAL_WARN_BYTES = 64 * 1024 * 1024  # a -wal file this big means checkpoints are being held off
MIB = 1024 * 1024
RESTORE = ("stop the daemon (systemctl --user stop shoetrack), keep the file aside and put back a "
           "backup (`shoetrack backup` copies verify themselves)")
REINSTALL = ("run `shoetrack install-service` from the installation you use, then "
             "`systemctl --user daemon-reload && systemctl --user restart shoetrack`")


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    detail: str
    fix: str | None = None


def diagnose(config_file: Path, config_required: bool, db_option: str | None = None, *,
             python: str = sys.executable, wal_warn_bytes: int = WAL_WARN_BYTES) -> list[dict]:
    """Every check, in order: config, database, inbox, notifications, the systemd unit.

    `config_file` and `config_required` are what the command line chose (Context.config_file),
    `db_option` the --db given (or None); `python` is the interpreter this installation runs."""
    config, config_finding = _config(config_file, config_required)
    findings = [config_finding]
    findings += _database(config, db_option, wal_warn_bytes)
    findings.append(_inbox(config))
    findings += _notifications(config)
    findings += _unit(python)
    return [asdict(f) for f in findings]


def worst(findings: list[dict]) -> str:
    """"problem" if any finding is one, else "warning" if any, else "ok"."""
    statuses = {f["status"] for f in findings}
    return PROBLEM if PROBLEM in statuses else WARNING if WARNING in statuses else OK


# -- the config ----------------------------------------------------------------------


def _config(path: Path, required: bool) -> tuple[Config, Finding]:
    """The same checks as `shoetrack config check`. The valid values are kept for the
    other checks (a bad key elsewhere does not hide where the inbox is)."""
    config, problems = read_config(path, required=required)
    problems += folder_problems(config)
    if not problems:
        return config, Finding("config", OK, f"{config.source}: no problems")
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    return config, Finding(
        "config", PROBLEM,
        f"{config.source}: {count}: {'; '.join(problems)}; every command and the daemon refuse to run until "
        "it is fixed",
        "correct the file (config.example.toml documents every option); `shoetrack config check` lists the same")


# -- the database --------------------------------------------------------------------


def database_path(config: Config, db_option: str | None) -> tuple[Path, bool]:
    """The database the commands would use, and whether the user chose it (--db,
    SHOETRACK_DB or database.path). Like Context.database, without creating anything."""
    if db_option:
        return Path(db_option).expanduser(), True
    configured = config.path("database.path")
    if configured is not None:
        return configured, True
    return default_database_path(), False


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"


def _database(config: Config, db_option: str | None, wal_warn_bytes: int) -> list[Finding]:
    path, chosen = database_path(config, db_option)
    folder = path.parent
    if not path.exists():
        if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
            return [Finding("database", PROBLEM, f"no database at {path}, and its folder {folder} is not "
                            "writable: shoetrack cannot create it",
                            f"make {folder} writable by you (chmod u+rwx {shlex.quote(str(folder))})")]
        if not folder.exists() and chosen:
            return [Finding("database", PROBLEM, f"no database at {path}: its folder {folder} does not exist",
                            f"create it (mkdir -p {shlex.quote(str(folder))}) or fix the path (--db, "
                            "SHOETRACK_DB or database.path)")]
        return [Finding("database", WARNING, f"no database yet at {path}: it is created on first use",
                        "import your runs: `shoetrack import PATH`, or start the daemon and drop files into "
                        "the inbox")]
    if not path.is_file():
        return [Finding("database", PROBLEM, f"{path} is not a file",
                        "move it away, or choose the database file with --db or database.path")]
    unwritable = [str(p) for p in (path, folder) if not os.access(p, os.W_OK)]
    if unwritable:
        return [Finding("database", PROBLEM, f"{' and '.join(unwritable)} {'is' if len(unwritable) == 1 else 'are'} "
                        "not writable by you: nothing can be imported or changed",
                        f"give yourself write access (chmod u+w {' '.join(map(shlex.quote, unwritable))}), "
                        "or check who owns them")]
    wal = path.with_name(path.name + "-wal")
    wal_size = _size(wal) or 0  # measured before opening
    try:
        version, tables, damage = Store.probe(path)
    except DamagedDatabase as exc:
        return [Finding("database", PROBLEM, f"{path} is not a shoetrack database, or its first pages are "
                        f"damaged ({exc.detail})", RESTORE)]
    except StorageError as exc:
        return [Finding("database", PROBLEM, exc.message,
                        "check the file and its folder are yours and readable; stop programs locking it")]
    size = _size(path) or 0
    findings = [Finding("database", OK, f"{path} ({_mib(size)})")]
    findings.append(_schema(path, version, tables))
    if version <= SCHEMA_VERSION:
        findings.append(Finding("database integrity", PROBLEM, f"{path} is damaged: SQLite's quick_check found "
                                f"{' '.join(damage.split())}; nothing should be written to it", RESTORE)
                        if damage else Finding("database integrity", OK, "quick_check: ok"))
    findings.append(_wal(wal, wal_size, wal_warn_bytes))
    return findings


def _schema(path: Path, version: int, tables: int) -> Finding:
    if version > SCHEMA_VERSION:
        return Finding("database schema", PROBLEM,
                       f"{path} was written by a newer shoetrack (schema {version}; this one knows up to "
                       f"{SCHEMA_VERSION}): this version refuses to open it",
                       "upgrade shoetrack (the same way you installed it), or use the newer version that wrote it")
    if version == 0 and tables:
        return Finding("database schema", PROBLEM, f"{path} is an SQLite file of another program "
                       f"({tables} tables, no shoetrack schema)",
                       "point --db or database.path at your shoetrack database")
    if version == 0:
        return Finding("database schema", OK, f"empty: shoetrack sets up schema {SCHEMA_VERSION} on first use")
    if version < SCHEMA_VERSION:
        return Finding("database schema", OK, f"schema {version}: the next shoetrack command backs it up and "
                       f"migrates it to schema {SCHEMA_VERSION}")
    return Finding("database schema", OK, f"schema {version}, current")


def _wal(wal: Path, size: int, limit: int) -> Finding:
    if size > limit:
        return Finding("database wal", WARNING,
                       f"{wal} is {_mib(size)} (over {_mib(limit)}): something keeps SQLite from folding "
                       "it back into the database, so reads slow down and disk fills",
                       "close programs that keep the database open (a second shoetrack daemon, a database "
                       "browser), then restart the daemon (systemctl --user restart shoetrack): the file is "
                       "folded back and removed when the last connection closes")
    return Finding("database wal", OK, f"{_mib(size)}" if size else "no pending write-ahead log")


# -- the inbox -------------------------------------------------------------------------


def _folder_problem(folder: Path, what: str) -> tuple[str, str] | None:
    """(what is wrong, what to do) for a folder shoetrack must read and write, or None."""
    quoted = shlex.quote(str(folder))
    if not folder.exists():
        return (f"{what} {folder} does not exist", f"create it (mkdir -p {quoted}) or fix inbox.path; "
                "the daemon creates it when it starts")
    if not folder.is_dir():
        return f"{what} {folder} is not a folder", "move the file away or set inbox.path to a folder"
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        return (f"{what} {folder} is not readable and writable by you",
                f"chmod u+rwx {quoted}, or check who owns it")
    return None


def _inbox(config: Config) -> Finding:
    inbox = config.inbox
    found = _folder_problem(inbox, "the inbox")
    if found is None and config.get("inbox.after_import") == "move":
        for name in ("imported", "failed"):  # created by the daemon when first needed
            kept = inbox / name
            if kept.exists():
                found = _folder_problem(kept, "the inbox folder")
                if found:
                    break
    if found:
        return Finding("inbox", PROBLEM, found[0] + ": nothing dropped there can be imported", found[1])
    return Finding("inbox", OK, f"{inbox}: readable and writable")


# -- notifications ---------------------------------------------------------------------


def _notifications(config: Config) -> list[Finding]:
    from ..adapters.notify import NO_WAY, START_ONE, backend_name, desktop_problem

    if not config.get("notify.enabled"):
        return [Finding("notifications", OK, "off (notify.enabled = false): nothing is sent")]
    way = backend_name()
    delivery = (Finding("notification delivery", PROBLEM, "nothing can hand a notification over", NO_WAY)
                if way == "none" else
                Finding("notification delivery", OK, f"confirmed: sent with {way}, which reports whether the "
                        "notification server took it"))
    problem = desktop_problem()
    bus = Finding("session bus", OK, "reachable (" + (os.environ.get("DBUS_SESSION_BUS_ADDRESS")
                                                       or "$XDG_RUNTIME_DIR/bus") + ")")
    server = Finding("notification server", OK, "org.freedesktop.Notifications is there (or can be started)")
    if problem is None or problem == NO_WAY:
        return [bus, server, delivery]
    # The adapter's messages read "what is wrong: what to do".
    what, todo = problem.rsplit(": ", 1) if problem.startswith("no ") and ": " in problem else (problem, None)
    if problem.startswith("no notification server"):
        return [bus, Finding("notification server", PROBLEM, what, todo or START_ONE), delivery]
    return [Finding("session bus", PROBLEM, what, todo or "run shoetrack inside your desktop session"), delivery]


# -- the systemd user unit ----------------------------------------------------------------


def unit_path() -> Path:
    """Where `shoetrack install-service` writes the unit ($XDG_CONFIG_HOME/systemd/user)."""
    return default_config_path().parent.parent / "systemd" / "user" / "shoetrack.service"


def _exec_start(text: str) -> str | None:
    """The last ExecStart= of the unit's [Service] section, or None."""
    section, found = "", None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line
        elif section == "[Service]" and line.startswith("ExecStart="):
            found = line.removeprefix("ExecStart=").strip() or None
    return found


def _expand(word: str) -> str:
    """The systemd specifiers a unit path may hold (%h, %%)."""
    return word.replace("%%", "\0").replace("%h", os.path.expanduser("~")).replace("\0", "%")


def _interpreter(script: str) -> str | None:
    """The interpreter named by a script's #! line, or None."""
    try:
        with open(script, "rb") as stream:
            first = stream.readline(500)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    return words[0] if words else None


def _same_python(one: str, other: str) -> bool:
    """Whether two interpreter paths are the same installation: equal, or the same file
    in the same folder (a venv's python and python3)."""
    if one == other:
        return True
    return (os.path.dirname(os.path.abspath(one)) == os.path.dirname(os.path.abspath(other))
            and os.path.realpath(one) == os.path.realpath(other))


def _exec_finding(unit: Path, exec_start: str | None, python: str) -> Finding:
    if exec_start is None:
        return Finding("service unit", PROBLEM, f"{unit} has no ExecStart=", REINSTALL)
    try:
        words = [_expand(w) for w in shlex.split(exec_start)]
    except ValueError:
        words = []
    program = words[0].lstrip("-@:+!") if words else ""
    if not program:
        return Finding("service unit", PROBLEM, f"{unit}: ExecStart={exec_start} cannot be read", REINSTALL)
    if not os.path.exists(program):
        return Finding("service unit", PROBLEM, f"{unit}: ExecStart runs {program}, which does not exist: "
                       "the daemon cannot start", REINSTALL)
    if not os.path.isfile(program) or not os.access(program, os.X_OK):
        return Finding("service unit", PROBLEM, f"{unit}: ExecStart runs {program}, which is not an executable "
                       "file: the daemon cannot start", REINSTALL)
    if "daemon" not in words[1:]:
        return Finding("service unit", PROBLEM, f"{unit}: ExecStart={exec_start} does not run `shoetrack daemon`",
                       REINSTALL)
    runs = program if words[1:3] == ["-m", "shoetrack"] else _interpreter(program)
    if runs is None or os.path.basename(runs) == "env":  # a binary, or `#!/usr/bin/env python3`
        return Finding("service unit", OK, f"{unit}: runs {program}")
    if not os.path.exists(runs):
        return Finding("service unit", PROBLEM, f"{unit}: {program} runs {runs}, which does not exist: the "
                       "daemon cannot start", REINSTALL)
    if not _same_python(runs, python):
        return Finding("service unit", WARNING, f"{unit}: ExecStart runs {program}, another installation than "
                       f"this one ({python})", REINSTALL)
    return Finding("service unit", OK, f"{unit}: runs this installation ({python})")


def _unit(python: str) -> list[Finding]:
    unit = unit_path()
    if not unit.exists():
        return [Finding("service unit", WARNING, f"not installed ({unit} does not exist): the daemon does not "
                        "start with your desktop session",
                        "run `shoetrack install-service`, then `systemctl --user daemon-reload && "
                        "systemctl --user enable --now shoetrack` (or skip it if you start the daemon yourself)")]
    try:
        text = unit.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding("service unit", PROBLEM, f"{unit} cannot be read: {getattr(exc, 'strerror', exc)}",
                        REINSTALL)]
    findings = [_exec_finding(unit, _exec_start(text), python)]
    verified = _verify(unit)
    if verified is not None:
        findings.append(verified)
    return findings


def _verify(unit: Path) -> Finding | None:
    """`systemd-analyze --user verify` on the unit, offline; any output is a problem.
    None when systemd-analyze is not installed."""
    try:
        said = verify_unit(unit)
    except UnitCheckError as exc:
        return Finding("unit verification", WARNING, str(exc), f"run it yourself: systemd-analyze --user verify {unit}")
    if said is None:
        return None
    if said:
        return Finding("unit verification", PROBLEM, f"systemd-analyze --user verify {unit}: {said}", REINSTALL)
    return Finding("unit verification", OK, "systemd-analyze --user verify: nothing to say")
