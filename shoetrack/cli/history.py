"""Commands about the runs themselves: import, runs, log."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import click

from .base import DAY, cli, context, emit_json
from .render import format_distance, format_duration


@cli.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, readable=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every file's outcome as JSON.")
def import_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Import FIT files, folders of them, .fit.gz files and zip exports."""
    from ..service.importing import import_paths

    store = context().store
    if as_json or not sys.stderr.isatty():
        report = import_paths(store, list(paths))
    else:
        report = _import_with_bar(store, list(paths), import_paths)
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


def _import_with_bar(store, paths, import_paths):
    """A progress bar on the terminal: files done, rate and time left."""
    started = time.monotonic()
    state = {"done": 0}

    def rate(_item) -> str:
        elapsed = time.monotonic() - started
        return f"{state['done'] / elapsed:.0f} files/s" if elapsed > 0.5 else ""

    with click.progressbar(length=1, label="Importing", file=sys.stderr, show_pos=True, show_eta=True,
                           item_show_func=rate) as bar:
        def advance(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - state["done"], done)
            state["done"] = done

        return import_paths(store, paths, on_progress=advance)


@cli.command("runs")
@click.option("--since", type=DAY, help="First day to list (YYYY-MM-DD).")
@click.option("--until", type=DAY, help="Last day to list (YYYY-MM-DD).")
@click.option("--all-sports", is_flag=True, help="Include cycling, swimming and other sports.")
@click.option("--shoe", metavar="NAME", help="Only the runs done in this pair.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
def runs_command(since: date | None, until: date | None, all_sports: bool, shoe: str | None,
                 as_json: bool) -> None:
    """List runs (on-foot sessions), newest first, with the pair each was run in."""
    from ..service.runs import list_runs

    ctx = context()
    runs = list_runs(
        ctx.store,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        all_sports=all_sports,
        shoe=shoe,
    )
    if as_json:
        emit_json(runs)
        return
    if not runs:
        click.echo("No runs to show. Import FIT files with: shoetrack import PATH")
        return
    units = ctx.config.units
    for run in runs:
        sport = run["sport"] + (f"/{run['sub_sport']}" if run["sub_sport"] else "")
        source = "logged by hand" if run["source"] == "manual" else Path(run["source"].split("!")[-1]).name
        click.echo(
            f"{run['id']:>6}  {run['date']}  {sport:<20} {format_distance(run['distance_km'], units, 2):>10}"
            f"  {format_duration(run['duration_s']):>8}  {run['shoe'] or '-':<14} {source}"
        )


@cli.command("log", context_settings={"ignore_unknown_options": True})
@click.argument("day", metavar="DATE", type=DAY)
@click.argument("km", type=float)
@click.option("--minutes", type=float, help="How long the run took.")
@click.option("--sport", default="running", show_default=True, help="FIT sport name.")
@click.option("--sub-sport", help="FIT sub-sport name, e.g. treadmill or trail.")
@click.option("--shoe", metavar="NAME", help="The pair you ran in (pins the run to it).")
@click.option("--note", help="A note to keep with the run.")
def log_command(day: date, km: float, minutes, sport, sub_sport, shoe, note) -> None:
    """Record a run by hand: a treadmill run, or one without the watch."""
    from ..service.shoes import log_run

    run_id = log_run(context().store, day, km, today=date.today(), minutes=minutes, sport=sport,
                     sub_sport=sub_sport, shoe=shoe, note=note)
    click.echo(f"logged run {run_id}: {day} {km:g} km {sport}")
