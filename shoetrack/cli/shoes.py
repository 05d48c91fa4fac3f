"""Commands about pairs of shoes: shoes ..., assign, status."""

from __future__ import annotations

from datetime import date

import click

from .base import Group, cli, context, emit_json
from .render import format_distance, format_limit, plural, table, wear_bar
from .values import BRAND, DAY, DEFAULT_FOR, LIMIT_KM, MODEL, PAIR, PAIR_NAME, PAST_DAY, RULE, RUN_ID, START_KM


def pair_options(command):
    """The options `shoes add` and `shoes edit` share."""
    options = [
        click.option("--brand", type=BRAND, help="Maker, e.g. Brooks."),
        click.option("--model", type=MODEL, help="Model, e.g. Ghost 15."),
        click.option("--limit-km", type=LIMIT_KM, metavar="DISTANCE",
                     help="The pair's life, in your units or with one: 700km, 450mi "
                          "(default: config shoes.limit_km, 700 km)."),
        click.option("--start-km", type=START_KM, metavar="DISTANCE",
                     help="Distance already on the pair before tracking, in your units or with one."),
        click.option("--since", type=PAST_DAY,
                     help="First day in service; earlier runs never go to it automatically "
                          "(default for a new pair when runs exist: today)."),
        click.option("--from-first-run", is_flag=True,
                     help="In service from your first run on: it may take every past run that fits."),
        click.option("--default-for", "default_for", type=DEFAULT_FOR, multiple=True, metavar="SPORT[/SUB_SPORT]",
                     help="Use it by default for a sport, e.g. running or running/trail (repeatable)."),
        click.option("--rule", "rules", type=RULE, multiple=True, metavar="'FIELD OP VALUE'",
                     help="Use it for runs matching all its rules, e.g. 'distance_km >= 18' (repeatable). "
                          "Fields: sport, sub_sport, distance_km, duration_min, weekday, device_serial, "
                          "foot_pod_serial."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.group("shoes", cls=Group)
def shoes_group() -> None:
    """Add, change, retire and list your pairs of shoes."""


@shoes_group.command("add")
@click.argument("name", type=PAIR_NAME)
@pair_options
def shoes_add(name, brand, model, limit_km, start_km, since, from_first_run, default_for, rules) -> None:
    """Add a pair; past runs that fit it (from --since on) are attributed to it at once."""
    from ..service.shoes import add_shoe

    ctx = context()
    today = date.today()
    starts, moved = add_shoe(ctx.store, ctx.config, name, brand=brand, model=model, limit_km=limit_km,
                             start_km=start_km, since=since, from_first_run=from_first_run,
                             default_for=default_for, rules=rules, today=today)
    click.echo(f"added {name}")
    units = ctx.config.units
    mine = next((m for m in moved if m.name == name), None)
    for m, line in zip(moved, moved_lines(moved, units)):
        click.echo(line + ("; add --since DATE if you bought it later" if m is mine and since is None else ""))
    if mine is None:
        if since is None and starts == today and not from_first_run:
            click.echo(f"{name}: in service from today ({today}); your past runs stay as they were "
                       "(give --since DATE or --from-first-run to hand it older ones)")
        elif starts is None:
            click.echo(f"{name}: no runs yet; it takes the matching runs you import, however old "
                       "(give --since DATE for the day you bought it)")
        else:
            click.echo(f"{name}: no runs match it since {starts}")


def moved_lines(moved, units: str) -> list[str]:
    """One line per pair whose runs changed: what it has now, and what it had."""
    lines = []
    for m in moved:
        now = (f"{plural(m.runs, 'run')} from {m.first_run}, {format_distance(m.km, units, 0)}" if m.runs
               else "no runs")
        was = f" (was {plural(m.was_runs, 'run')}, {format_distance(m.was_km, units, 0)})" if m.was_runs else ""
        lines.append(f"{m.name}: {now}{was}")
    return lines


@shoes_group.command("edit")
@click.argument("name", type=PAIR)
@click.option("--rename", type=PAIR_NAME, metavar="NEW_NAME", help="Give the pair a new name.")
@pair_options
@click.option("--clear-defaults", is_flag=True, help="Remove every --default-for.")
@click.option("--clear-rules", is_flag=True, help="Remove every rule.")
def shoes_edit(name, rename, brand, model, limit_km, start_km, since, from_first_run, default_for, rules,
               clear_defaults, clear_rules) -> None:
    """Change a pair; --default-for and --rule replace the old lists. Runs are re-attributed."""
    from ..service.shoes import edit_shoe

    ctx = context()
    moved = edit_shoe(
        ctx.store, name, rename=rename, brand=brand, model=model, limit_km=limit_km,
        start_km=start_km, since=since, from_first_run=from_first_run,
        default_for=[] if clear_defaults else (list(default_for) or None),
        rules=[] if clear_rules else (list(rules) or None),
    )
    click.echo(f"updated {rename or name}")
    for line in moved_lines(moved, ctx.config.units):
        click.echo(line)


@shoes_group.command("retire")
@click.argument("name", type=PAIR)
@click.option("--on", "on", type=DAY, help="Last day in service (default: today).")
def shoes_retire(name, on) -> None:
    """Retire a pair: later runs no longer go to it; its history stays."""
    from ..service.shoes import retire_shoe

    on = on or date.today()
    retire_shoe(context().store, name, on)
    click.echo(f"retired {name} on {on}")


@shoes_group.command("unretire")
@click.argument("name", type=PAIR)
def shoes_unretire(name) -> None:
    """Put a retired pair back in service."""
    from ..service.shoes import unretire_shoe

    unretire_shoe(context().store, name)
    click.echo(f"{name} is back in service")


@shoes_group.command("delete")
@click.argument("name", type=PAIR)
@click.option("--force", is_flag=True, help="Delete even though runs are attributed to it.")
def shoes_delete(name, force) -> None:
    """Delete a pair (refused while it has runs, unless --force)."""
    from ..service.shoes import delete_shoe

    moved = delete_shoe(context().store, name, force=force)
    suffix = f"; {plural(moved, 'run')} re-attributed" if moved else ""
    click.echo(f"deleted {name}{suffix}")


def print_pairs(pairs: list[dict], units: str) -> None:
    """The pairs as a table: wear, distance against the limit, runs, age, and the day each
    should reach its limit (none for a retired pair: it runs no more)."""
    retired = any(pair["retired_on"] for pair in pairs)
    rows = []
    for pair in pairs:
        limit = "-" if pair["retired_on"] else (pair["projected_limit_date"] or "-")
        age = "-" if pair["age_days"] is None else f"{pair['age_days']} d"
        row = [pair["name"], f"{wear_bar(pair['wear_pct'])}{pair['wear_pct']:4.0f}%",
               format_limit(pair["distance_km"], pair["limit_km"], units), str(pair["runs"]), age, limit]
        rows.append(row + [pair["retired_on"] or ""] if retired else row)
    header = ["NAME", "WEAR", "DISTANCE", "RUNS", "AGE", "LIMIT BY"] + (["RETIRED"] if retired else [])
    for line in table(header, rows, right={2, 3, 4}, most={0: 24}, indent="  "):
        click.echo(line)


@shoes_group.command("list")
@click.option("--all", "include_retired", is_flag=True, help="Include retired pairs.")
@click.option("--json", "as_json", is_flag=True, help="Print the pairs as JSON.")
def shoes_list(include_retired, as_json) -> None:
    """List pairs with their distance, wear and projected limit date."""
    from ..service.shoes import list_shoes

    ctx = context()
    pairs = list_shoes(ctx.store, date.today(), include_retired=include_retired)
    if as_json:
        emit_json(pairs)
    elif not pairs:
        click.echo("No pairs yet. Add one with: shoetrack shoes add NAME --default-for running")
    else:
        print_pairs(pairs, ctx.config.units)


@cli.command("assign")
@click.argument("run_id", type=RUN_ID)
@click.argument("shoe", required=False, type=PAIR)
@click.option("--auto", is_flag=True, help="Unpin: let the rules and defaults decide again.")
@click.option("--none", "none", is_flag=True, help="The run was not done in any tracked pair.")
def assign_command(run_id, shoe, auto, none) -> None:
    """Pin a run to a pair (or --none, or back to --auto)."""
    from ..errors import InvalidInput
    from ..service.shoes import assign

    if sum(bool(x) for x in (shoe, auto, none)) != 1:
        raise InvalidInput("give exactly one of SHOE, --auto or --none")
    assign(context().store, run_id, shoe, auto=auto, none=none)
    target = shoe or ("automatic attribution" if auto else "no tracked pair")
    click.echo(f"run {run_id}: {target}")
