"""Commands about pairs of shoes: shoes ..., assign, status."""

from __future__ import annotations

from datetime import date

import click

from .base import DAY, Group, cli, context, emit_json
from .render import format_limit, wear_bar


def pair_options(command):
    """The options `shoes add` and `shoes edit` share."""
    options = [
        click.option("--brand", help="Maker, e.g. Brooks."),
        click.option("--model", help="Model, e.g. Ghost 15."),
        click.option("--limit-km", type=float, help="The pair's life in km (default: config shoes.limit_km, 700)."),
        click.option("--start-km", type=float, help="Distance already on the pair before tracking."),
        click.option("--since", type=DAY, help="First day in service; earlier runs never go to it automatically."),
        click.option("--default-for", "default_for", multiple=True, metavar="SPORT[/SUB_SPORT]",
                     help="Use it by default for a sport, e.g. running or running/trail (repeatable)."),
        click.option("--rule", "rules", multiple=True, metavar="'FIELD OP VALUE'",
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
@click.argument("name")
@pair_options
def shoes_add(name, brand, model, limit_km, start_km, since, default_for, rules) -> None:
    """Add a pair; past runs that fit it are attributed to it at once."""
    from ..service.shoes import add_shoe

    ctx = context()
    add_shoe(ctx.store, ctx.config, name, brand=brand, model=model, limit_km=limit_km,
             start_km=start_km, since=since, default_for=default_for, rules=rules)
    click.echo(f"added {name}")


@shoes_group.command("edit")
@click.argument("name")
@click.option("--rename", metavar="NEW_NAME", help="Give the pair a new name.")
@pair_options
@click.option("--clear-defaults", is_flag=True, help="Remove every --default-for.")
@click.option("--clear-rules", is_flag=True, help="Remove every rule.")
def shoes_edit(name, rename, brand, model, limit_km, start_km, since, default_for, rules,
               clear_defaults, clear_rules) -> None:
    """Change a pair; --default-for and --rule replace the old lists. Runs are re-attributed."""
    from ..service.shoes import edit_shoe

    edit_shoe(
        context().store, name, rename=rename, brand=brand, model=model, limit_km=limit_km,
        start_km=start_km, since=since,
        default_for=[] if clear_defaults else (list(default_for) or None),
        rules=[] if clear_rules else (list(rules) or None),
    )
    click.echo(f"updated {rename or name}")


@shoes_group.command("retire")
@click.argument("name")
@click.option("--on", "on", type=DAY, help="Last day in service (default: today).")
def shoes_retire(name, on) -> None:
    """Retire a pair: later runs no longer go to it; its history stays."""
    from ..service.shoes import retire_shoe

    on = on or date.today()
    retire_shoe(context().store, name, on)
    click.echo(f"retired {name} on {on}")


@shoes_group.command("unretire")
@click.argument("name")
def shoes_unretire(name) -> None:
    """Put a retired pair back in service."""
    from ..service.shoes import unretire_shoe

    unretire_shoe(context().store, name)
    click.echo(f"{name} is back in service")


@shoes_group.command("delete")
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete even though runs are attributed to it.")
def shoes_delete(name, force) -> None:
    """Delete a pair (refused while it has runs, unless --force)."""
    from ..service.shoes import delete_shoe

    moved = delete_shoe(context().store, name, force=force)
    suffix = f"; {moved} run{'s' if moved != 1 else ''} re-attributed" if moved else ""
    click.echo(f"deleted {name}{suffix}")


def print_pairs(pairs: list[dict], units: str) -> None:
    width = max((len(p["name"]) for p in pairs), default=4)
    for pair in pairs:
        age = f"age {pair['age_days']} d" if pair["age_days"] is not None else ""
        limit = pair["projected_limit_date"] or "-"
        retired = f"  retired {pair['retired_on']}" if pair["retired_on"] else ""
        click.echo(
            f"  {pair['name']:<{width}}  {wear_bar(pair['wear_pct'])} "
            f"{format_limit(pair['distance_km'], pair['limit_km'], units):>18} {pair['wear_pct']:>5.0f}%"
            f"  {pair['runs']:>4} runs  {age:<10} limit {limit}{retired}"
        )


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
@click.argument("run_id", type=int)
@click.argument("shoe", required=False)
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
