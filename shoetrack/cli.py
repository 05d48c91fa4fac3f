"""The command line: parse arguments, call the service, print the result.

Heavy modules (the FIT decoder, the scheduler, the notifier) are imported
inside the commands that need them, so `shoetrack status` starts fast.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from . import __version__
from .errors import ShoetrackError
from .service.context import Context


class Failure(click.ClickException):
    """A ShoetrackError on its way out: `Error: <message>` and its exit code."""

    def __init__(self, error: ShoetrackError):
        super().__init__(error.message)
        self.exit_code = error.exit_code


class Group(click.Group):
    """The error boundary: every error leaves as one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ShoetrackError as error:
            raise Failure(error) from None

    def main(self, args=None, prog_name=None, **extra):
        extra["standalone_mode"] = False
        try:
            code = super().main(args, prog_name or "shoetrack", **extra)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "shoetrack"
            click.echo(f"Error: {error.format_message()} (see '{where} --help')", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except BrokenPipeError:
            # The reader (e.g. `| head`) went away: not an error worth a traceback.
            sys.stderr.close()
            sys.exit(0)
        sys.exit(code if isinstance(code, int) else 0)


class Day(click.ParamType):
    """A calendar day written YYYY-MM-DD."""

    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-03-14", param, ctx)


DAY = Day()


def emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def context() -> Context:
    return click.get_current_context().find_object(Context)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar="SHOETRACK_CONFIG",
              help="Config file (default: $XDG_CONFIG_HOME/shoetrack/config.toml).")
@click.option("--db", "db_path", metavar="PATH", envvar="SHOETRACK_DB",
              help="Database file (default: config database.path, else $XDG_DATA_HOME/shoetrack/shoetrack.db).")
@click.version_option(__version__, prog_name="shoetrack")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None) -> None:
    """Track running-shoe wear and training load from your FIT files, on your own machine."""
    ctx.obj = Context(config_path=config_path, db_path=db_path)
    ctx.call_on_close(ctx.obj.close)


@cli.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, readable=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every file's outcome as JSON.")
def import_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Import FIT files, folders of them, .fit.gz files and zip exports."""
    from .service.importing import import_paths

    store = context().store
    show_bar = not as_json and sys.stderr.isatty()
    if show_bar:
        with click.progressbar(length=1, label="Importing", file=sys.stderr) as bar:
            def advance(done: int, total: int) -> None:
                bar.length = total
                bar.update(1)

            report = import_paths(store, list(paths), on_unit=advance)
    else:
        report = import_paths(store, list(paths))
    if as_json:
        emit_json(report.as_json())
        return
    click.echo(
        f"{len(report.imported)} imported ({report.sessions} sessions), "
        f"{len(report.duplicate)} duplicate, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed"
    )
    for outcome in ("failed", "skipped"):
        items = getattr(report, outcome)
        for item in items[:20]:
            click.echo(f"  {outcome}: {item['path']}: {item['reason']}")
        if len(items) > 20:
            click.echo(f"  ... and {len(items) - 20} more {outcome} (see --json)")


def _format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@cli.command("runs")
@click.option("--since", type=DAY, help="First day to list (YYYY-MM-DD).")
@click.option("--until", type=DAY, help="Last day to list (YYYY-MM-DD).")
@click.option("--all-sports", is_flag=True, help="Include cycling, swimming and other sports.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
def runs_command(since: date | None, until: date | None, all_sports: bool, as_json: bool) -> None:
    """List runs (on-foot sessions), newest first."""
    from .service.runs import list_runs

    runs = list_runs(
        context().store,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        all_sports=all_sports,
    )
    if as_json:
        emit_json(runs)
        return
    if not runs:
        click.echo("No runs yet. Import FIT files with: shoetrack import PATH")
        return
    for run in runs:
        sport = run["sport"] + (f"/{run['sub_sport']}" if run["sub_sport"] else "")
        km = "-" if run["distance_km"] is None else f"{run['distance_km']:.2f} km"
        click.echo(
            f"{run['id']:>6}  {run['date']}  {sport:<22} {km:>10}  "
            f"{_format_duration(run['duration_s']):>8}  {Path(run['source'].split('!')[-1]).name}"
        )


@cli.group("config", cls=Group)
def config_group() -> None:
    """Check the configuration file."""


@config_group.command("check")
def config_check() -> None:
    """Validate the config file and list every problem (exit 78 when there are any)."""
    from .config import folder_problems, read_config
    from .errors import EX_CONFIG

    path, required = context().config_file
    config, problems = read_config(path, required=required)
    problems += folder_problems(config)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        click.echo(f"config {config.source}: {len(problems)} {noun}", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EX_CONFIG)
    click.echo(f"config OK: {config.source}")


def main() -> None:
    cli(prog_name="shoetrack")


if __name__ == "__main__":
    main()
