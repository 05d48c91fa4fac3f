"""Commands about the runs themselves: import, runs, log."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import click

from .base import Group, cli, context, emit_json
from .render import format_distance, format_duration, plural, sport_label, table
from .values import DAY, MINUTES, NOTE, PAIR, PAST_DAY, RUN_ID, RUN_KM, SPORT, SUB_SPORT


@cli.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, readable=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every file's outcome as JSON.")
def import_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Import FIT, GPX and TCX files (also gzipped), folders and zips of them, and
    whole Strava or Garmin exports with their shoes and which pair each run was in."""
    from ..service.importing import import_paths

    ctx = context()
    store, config = ctx.store, ctx.config
    if as_json or not sys.stderr.isatty():
        report = import_paths(store, list(paths), config=config)
    else:
        report = _import_with_bar(store, list(paths), import_paths, config)
    if as_json:
        emit_json(report.as_json())
        return
    click.echo(
        f"{len(report.imported)} imported ({plural(report.sessions, 'session')}), "
        f"{len(report.duplicate)} duplicate, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed"
    )
    for source in sorted({pair["source"] for pair in report.shoes}):
        pairs = [pair for pair in report.shoes if pair["source"] == source]
        new = sum(pair["new"] for pair in pairs)
        runs = sum(pair["runs"] for pair in pairs)
        click.echo(f"From the {source} export: {plural(len(pairs), 'pair')} of shoes ({new} new), "
                   f"{plural(runs, 'run')} in the pair chosen there")
    notes = [(item["path"], note) for item in report.imported for note in item.get("notes", ())]
    for outcome, items in (("failed", report.failed), ("skipped", report.skipped),
                           ("note", [{"path": path, "reason": note} for path, note in notes])):
        for item in items[:20]:
            click.echo(f"  {outcome}: {item['path']}: {item['reason']}")
        if len(items) > 20:
            click.echo(f"  ... and {len(items) - 20} more {'notes' if outcome == 'note' else outcome} (see --json)")


def _import_with_bar(store, paths, import_paths, config):
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

        return import_paths(store, paths, on_progress=advance, config=config)


@cli.group("runs", cls=Group, invoke_without_command=True)
@click.option("--since", type=DAY, help="First day to list (YYYY-MM-DD).")
@click.option("--until", type=DAY, help="Last day to list (YYYY-MM-DD).")
@click.option("--all-sports", is_flag=True, help="Include cycling, swimming and other sports.")
@click.option("--shoe", type=PAIR, help="Only the runs done in this pair.")
@click.option("--deleted", is_flag=True, help="List the runs you deleted that came from files.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.pass_context
def runs_command(click_ctx: click.Context, since: date | None, until: date | None, all_sports: bool,
                 shoe: str | None, deleted: bool, as_json: bool) -> None:
    """List runs (on-foot sessions), newest first, with the pair each was run in.

    `runs delete`, `runs restore` and `runs edit` correct the history.
    """
    from ..service.runs import list_runs

    if click_ctx.invoked_subcommand is not None:
        return
    if since and until and since > until:
        raise click.UsageError(f"--since {since} is after --until {until}, so no day is in between; swap them")
    ctx = context()
    runs = list_runs(
        ctx.store,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        all_sports=all_sports,
        shoe=shoe,
        deleted=deleted,
    )
    if as_json:
        emit_json(runs)
        return
    if not runs:
        click.echo("No deleted runs." if deleted else _nothing_in(since, until, shoe))
        return
    print_runs(runs, ctx.config.units)


def print_runs(runs: list[dict], units: str) -> None:
    rows = [
        [str(run["id"]), run["date"], sport_label(run["sport"], run["sub_sport"]),
         format_distance(run["distance_km"], units, 2), format_duration(run["duration_s"]), run["shoe"] or "-",
         "logged by hand" if run["source"] == "manual" else Path(run["source"].split("!")[-1]).name]
        for run in runs
    ]
    header = ["ID", "DATE", "SPORT", "DISTANCE", "TIME", "SHOE", "SOURCE"]
    for line in table(header, rows, right={0, 3, 4}, most={2: 28, 5: 24, 6: 40}):
        click.echo(line)


def _nothing_in(since: date | None, until: date | None, shoe: str | None) -> str:
    """The empty answer, naming what was asked for."""
    if since is None and until is None and shoe is None:
        return "No runs to show. Import FIT files with: shoetrack import PATH"
    if since and until:
        days = f" on {since}" if since == until else f" from {since} to {until}"
    elif since or until:
        days = f" since {since}" if since else f" up to {until}"
    else:
        days = ""
    return f"No runs{f' in {shoe}' if shoe else ''}{days}."


@cli.command("log", context_settings={"ignore_unknown_options": True})
@click.argument("day", metavar="DATE", type=PAST_DAY)
@click.argument("km", metavar="DISTANCE", type=RUN_KM)
@click.option("--minutes", type=MINUTES, help="How long the run took.")
@click.option("--sport", type=SPORT, default="running", show_default=True, help="FIT sport name.")
@click.option("--sub-sport", type=SUB_SPORT, help="FIT sub-sport name, e.g. treadmill or trail.")
@click.option("--shoe", type=PAIR, help="The pair you ran in (pins the run to it).")
@click.option("--note", type=NOTE, help="A note to keep with the run.")
def log_command(day: date, km: float, minutes, sport, sub_sport, shoe, note) -> None:
    """Record a run by hand: a treadmill run, or one without the watch.

    DISTANCE is in your units (config `units`, km unless set); a unit after the
    number says otherwise: 5mi, 8km.
    """
    from ..service.runs import log_run

    ctx = context()
    run_id = log_run(ctx.store, day, km, minutes=minutes, sport=sport,
                     sub_sport=sub_sport, shoe=shoe, note=note)
    click.echo(f"logged run {run_id}: {day} {format_distance(km, ctx.config.units, 2)} "
               f"{sport_label(sport, sub_sport)}")


def _described(run: dict, units: str) -> str:
    """'2026-11-27 running 5.00 km' for one run."""
    return f"{run['date']} {sport_label(run['sport'], run['sub_sport'])} {format_distance(run['distance_km'], units, 2)}"


@runs_command.command("delete")
@click.argument("run_ids", metavar="RUN_ID...", nargs=-1, required=True, type=RUN_ID)
def runs_delete(run_ids: tuple[int, ...]) -> None:
    """Delete runs. One logged by hand is gone; one from a file is hidden (importing the
    file again does not bring it back) until `runs restore`."""
    from ..service.runs import delete_runs

    ctx = context()
    for done, run in delete_runs(ctx.store, list(run_ids)):
        what = _described(run, ctx.config.units)
        if done == "deleted":
            click.echo(f"deleted run {run['id']}: {what} (logged by hand)")
        else:
            click.echo(f"deleted run {run['id']}: {what} from {run['source']}; "
                       f"`shoetrack runs restore {run['id']}` brings it back")


@runs_command.command("restore")
@click.argument("run_ids", metavar="RUN_ID...", nargs=-1, required=True, type=RUN_ID)
def runs_restore(run_ids: tuple[int, ...]) -> None:
    """Bring back runs deleted with `runs delete` (see `runs --deleted`)."""
    from ..service.runs import restore_runs

    ctx = context()
    for run in restore_runs(ctx.store, list(run_ids)):
        click.echo(f"restored run {run['id']}: {_described(run, ctx.config.units)}, pair {run['shoe'] or '-'}")


@runs_command.command("edit")
@click.argument("run_id", type=RUN_ID)
@click.option("--date", "day", type=PAST_DAY, help="The day of the run.")
@click.option("--km", type=RUN_KM, metavar="DISTANCE", help="The distance, in your units (or 5mi, 8km).")
@click.option("--minutes", type=MINUTES, help="How long the run took.")
@click.option("--sport", type=SPORT, help="FIT sport name.")
@click.option("--sub-sport", type=SUB_SPORT, help="FIT sub-sport name, e.g. treadmill or trail.")
@click.option("--note", type=NOTE, help="A note to keep with the run ('' removes it).")
def runs_edit(run_id: int, day, km, minutes, sport, sub_sport, note) -> None:
    """Correct a run: any figure of a run logged by hand; the sport and note of a run
    from a file (a GPX file often has no sport). The alerts follow the corrected history."""
    from ..service.runs import edit_run

    ctx = context()
    if note is None and click.get_current_context().get_parameter_source("note").name == "COMMANDLINE":
        note = ""  # --note '' removes the note
    before, after = edit_run(ctx.store, run_id, day=day, km=km, minutes=minutes, sport=sport,
                             sub_sport=sub_sport, note=note)
    units = ctx.config.units
    click.echo(f"run {run_id}: {_described(before, units)} -> {_described(after, units)}"
               + (f", {format_duration(after['duration_s'])}" if minutes is not None else "")
               + (f", note: {after['note'] or '-'}" if note is not None else ""))
