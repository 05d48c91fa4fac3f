"""The errors shoetrack raises on purpose.

Each carries a one-line message meant for the user (what is wrong and what to
do) and the exit code an edge should use. The CLI and the daemon turn them into
a message and an exit status; nothing else catches them.
"""

EX_USAGE = 2
EX_CONFIG = 78  # sysexits.h EX_CONFIG; systemd's RestartPreventExitStatus uses it


class ShoetrackError(Exception):
    """A problem the user can act on: a one-line message and an exit code."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(ShoetrackError):
    """The configuration cannot be used; `problems` lists every finding."""

    exit_code = EX_CONFIG

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        summary = "; ".join(self.problems)
        super().__init__(
            f"config {source} has {count} {noun}: {summary} "
            "(fix the file, or run `shoetrack config check` for the list)"
        )


class StorageError(ShoetrackError):
    """The database cannot be opened or written."""


class NotFound(ShoetrackError):
    """A named thing (run id, pair of shoes) does not exist."""


class InvalidInput(ShoetrackError):
    """A value given on the command line is not acceptable."""

    exit_code = EX_USAGE


class DamagedDatabase(StorageError):
    """The database file is damaged (SQLite says it is malformed): nothing more is written."""

    exit_code = 65  # sysexits.h EX_DATAERR; the unit does not restart on it

    def __init__(self, path, detail: str):
        self.detail = detail
        super().__init__(
            f"the database {path} is damaged ({detail}); nothing was written to it. Stop the daemon, "
            "keep the file aside and put back a backup (`shoetrack backup` copies verify themselves)"
        )
