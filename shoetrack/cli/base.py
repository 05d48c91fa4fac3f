"""The command group, its error boundary, and JSON output.

The option types commands share (days, distances, names...) live in values.py.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
import sys

import click

from .. import __version__
from ..adapters.store import is_damage
from ..errors import DamagedDatabase, ShoetrackError
from ..service.context import Context
from .render import one_line


class Failure(click.ClickException):
    """A ShoetrackError on its way out: `Error: <message>` and its exit code."""

    def __init__(self, error: ShoetrackError):
        super().__init__(error.message)
        self.exit_code = error.exit_code


class Group(click.Group):
    """The error boundary: every error leaves as one line on stderr and an exit code.

    The top group loads a command's module when the command is run (`lazy`: command
    name -> module of shoetrack.cli), so `shoetrack import` does not load `status`."""

    lazy: dict[str, str] = {}

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.lazy:
            importlib.import_module(f"shoetrack.cli.{self.lazy[name]}")
        return super().get_command(ctx, name)

    def list_commands(self, ctx):
        self.load_all()
        return super().list_commands(ctx)

    def load_all(self) -> None:
        """Every command registered (help, and tests that go through them all)."""
        for module in sorted(set(self.lazy.values())):
            importlib.import_module(f"shoetrack.cli.{module}")

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ShoetrackError as error:
            raise Failure(error) from None
        except sqlite3.DatabaseError as error:
            if not is_damage(error):
                raise
            raise Failure(DamagedDatabase(ctx.find_object(Context).database, str(error))) from None

    def main(self, args=None, prog_name=None, **extra):
        extra["standalone_mode"] = False
        try:
            code = super().main(args, prog_name or "shoetrack", **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            # A group given no command (`shoetrack shoes`): its help is the answer.
            click.echo(error.ctx.get_help())
            sys.exit(0)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "shoetrack"
            # one line whatever was typed: click repeats an unexpected argument as given
            click.echo(one_line(f"Error: {error.format_message()} (see '{where} --help')"), err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(one_line(f"Error: {error.format_message()}"), err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except BrokenPipeError:
            # The reader (e.g. `| head`) went away: not an error worth a traceback.
            sys.stderr.close()
            sys.exit(0)
        sys.exit(code if isinstance(code, int) else 0)


def emit_json(data) -> None:
    """Print `data` as JSON; a stored value JSON cannot hold (infinity) is an error, never `Infinity`."""
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ShoetrackError(
            "the database holds an infinite or undefined number, which JSON cannot carry "
            "(saved by an earlier shoetrack); correct the pair with `shoetrack shoes edit NAME "
            "--limit-km/--start-km`, or see `shoetrack runs` for the run"
        ) from None
    click.echo(text)


def context() -> Context:
    return click.get_current_context().find_object(Context)


def say_waiting() -> None:
    """Said once when a write waits longer than the busy timeout for another process's
    write lock (on a terminal only: scripts and logs see the outcome, not the wait)."""
    if sys.stderr.isatty():
        # From the line's start, erased first: `import` may have its progress bar there.
        click.echo("\r\033[Kwaiting for another shoetrack writing to the database…", err=True)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar="SHOETRACK_CONFIG",
              help="Config file (default: $XDG_CONFIG_HOME/shoetrack/config.toml).")
@click.option("--db", "db_path", metavar="PATH", envvar="SHOETRACK_DB",
              help="Database file (default: config database.path, else $XDG_DATA_HOME/shoetrack/shoetrack.db).")
@click.version_option(__version__, prog_name="shoetrack")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None) -> None:
    """Track running-shoe wear and training load from your FIT files, on your own machine."""
    from ..adapters.store import Store

    Store.on_long_wait = say_waiting
    ctx.obj = Context(config_path=config_path, db_path=db_path)
    ctx.call_on_close(ctx.obj.close)


# The module of shoetrack.cli that defines each command (tests/test_cli.py checks it).
cli.lazy = {
    "assign": "shoes", "backup": "data_cmd", "check": "health", "config": "config_cmd",
    "daemon": "daemon_cmd", "doctor": "doctor_cmd", "export": "data_cmd", "import": "history",
    "install-service": "daemon_cmd", "log": "history", "notify": "daemon_cmd", "pain": "health",
    "report": "report_cmd", "restore": "data_cmd", "runs": "history", "shoes": "shoes",
    "snooze": "health", "sources": "sources_cmd", "status": "health", "why": "health",
}


def main() -> None:
    cli(prog_name="shoetrack")

