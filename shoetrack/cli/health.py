"""Commands about the runner's health: status, pain, check, snooze, why."""

from __future__ import annotations

import textwrap
from datetime import date

import click

from ..core.advice import cause_title, retire_first_line, wear_next_line
from .base import cli, context, emit_json
from .render import format_distance, one_line, plural
from .shoes import print_pairs
from .values import DAY, DAYS, NOTE, PAIN_ID, PAIN_LEVEL, PAIR, PAST_DAY

def _wrapped(text: str, indent: str = "    ") -> str:
    return textwrap.fill(text, width=88, initial_indent=indent, subsequent_indent=indent)


def _print_alerts(alerts: list[dict], heading: str) -> None:
    if not alerts:
        return
    click.echo(heading)
    for alert in alerts:
        click.echo(f"  ! {alert['message']} (since {alert['since']})")
        click.echo(_wrapped(alert["advice"]))


@cli.command("status")
@click.option("--as-of", "as_of", type=DAY, help="Show the state on this day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_command(as_of, as_json) -> None:
    """Wear of every pair in service, which to retire first and wear next, and active alerts."""
    from ..core.series import sparkline
    from ..service.report import status_report

    ctx = context()
    as_of = as_of or date.today()
    report = status_report(ctx.store, ctx.config, as_of)
    if as_json:
        emit_json(report)
        return
    if report["shoes"]:
        click.echo(f"Shoes in service on {report['as_of']}:")
        print_pairs(report["shoes"], ctx.config.units)
    else:
        click.echo(f"No pairs in service on {as_of}. Add one with: shoetrack shoes add NAME --default-for running")
    if report["retire_first"]:
        click.echo(retire_first_line(report["retire_first"]))
    if report["next_pair"]:
        click.echo(wear_next_line(report["next_pair"]))
    load, units = report["load"], ctx.config.units
    click.echo(f"Training: {plural(load['streak_days'], 'day')} running in a row, {load['rest_days_7']} without "
               f"running in the last 7, {format_distance(load['week_km'], units)} this week "
               f"({format_distance(load['last_week_km'], units)} the week before)")
    weeks = report["weekly_km"]
    click.echo(f"Last {len(weeks)} weeks: {sparkline(weeks)} (7 days each, the last ending {report['as_of']}; "
               f"most {format_distance(max(weeks, default=0), units)})")
    _print_alerts(report["alerts"], "Alerts:")
    # Last, one line per place runs are read from (`shoetrack sources` tells more).
    from .render import table
    from .sources_cmd import place_name, presence

    click.echo("Sources:")
    rows = [[s["kind"], place_name(s), presence(s), plural(s["files"], "file")] for s in report["sources"]]
    for line in table(["", "", "", ""], rows, indent="  ")[1:]:  # no header row
        click.echo(line)


@cli.command("pain")
@click.argument("level", required=False, type=PAIN_LEVEL)
@click.option("--date", "day", type=PAST_DAY, help="The day of the pain (default: today).")
@click.option("--side", type=click.Choice(["left", "right", "both"]), help="Which ankle.")
@click.option("--note", type=NOTE, help="A note, e.g. what the run was.")
@click.option("--list", "show", is_flag=True, help="Show the pain log (with ids) instead.")
@click.option("--delete", "delete_id", type=PAIN_ID, help="Remove the entry with this id (see --list).")
@click.option("--json", "as_json", is_flag=True, help="With --list: print the log as JSON.")
def pain_command(level, day, side, note, show, delete_id, as_json) -> None:
    """Log ankle pain after a run, 0 (none) to 10 (worst), or --list the log."""
    from ..errors import InvalidInput
    from ..service.health import delete_pain, log_pain, pain_list

    ctx = context()
    if delete_id is not None:
        if level is not None or show:
            raise InvalidInput("--delete removes one entry: give no LEVEL and no --list with it")
        entry = delete_pain(ctx.store, delete_id)
        click.echo(f"deleted pain entry {entry['id']}: {entry['day']} {entry['level']}/10"
                   + (f" {entry['side']}" if entry["side"] else ""))
        return
    if show:
        if level is not None:
            raise InvalidInput("give either LEVEL to log pain or --list to show the log, not both")
        entries = pain_list(ctx.store)
        if as_json:
            emit_json(entries)
        elif not entries:
            click.echo("No pain logged. Log it after a run with: shoetrack pain LEVEL")
        for entry in entries if not as_json else ():
            side_text = f" {entry['side']}" if entry["side"] else ""
            note_text = f"  {one_line(entry['note'])}" if entry["note"] else ""
            click.echo(f"{entry['id']:>3}  {entry['day']}  {entry['level']:>2}/10{side_text}{note_text}")
        return
    if level is None:
        raise InvalidInput("give a pain LEVEL from 0 to 10 (or --list to show the log)")
    today = date.today()
    suggestion = log_pain(ctx.store, ctx.config, level, day or today, side=side, note=note)
    click.echo(f"logged pain {level}/10 on {day or today}")
    click.echo(textwrap.fill(suggestion, width=88))


@cli.command("check")
@click.option("--as-of", "as_of", type=DAY, help="Evaluate on this day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print new and active alerts as JSON.")
@click.option("--no-notify", is_flag=True, help="Do not send desktop notifications.")
def check_command(as_of, as_json, no_notify) -> None:
    """Evaluate the alerts and record which fired (each fires once per episode)."""
    from ..service.health import check

    ctx = context()
    today = date.today()
    report = check(ctx.store, ctx.config, as_of or today, today=today)
    if not no_notify:
        _deliver(ctx)
    if as_json:
        emit_json(report)
        return
    if not report["active"]:
        click.echo(f"No alerts on {report['as_of']}.")
    _print_alerts(report["new"], "New alerts:")
    new = {(a["kind"], a["subject"]) for a in report["new"]}
    _print_alerts([a for a in report["active"] if (a["kind"], a["subject"]) not in new], "Still active:")


def _deliver(ctx) -> None:
    """Send the alerts that are due; a failure leaves them due and is said on stderr."""
    from datetime import datetime

    from ..adapters.notify import Notifier
    from ..service.notifying import deliver_due

    result = deliver_due(ctx.store, ctx.config, Notifier(urgency=ctx.config.get("notify.urgency")), datetime.now())
    if result.error:
        click.echo(f"notification not delivered ({result.error}); the alert stays due", err=True)


@cli.command("snooze")
@click.argument("kind", metavar="KIND")
@click.argument("subject", required=False, type=PAIR)
@click.option("--days", type=DAYS, required=True, help="How many days to stay silent (1 to 3650).")
def snooze_command(kind, subject, days) -> None:
    """Silence an alert kind (for one pair, or all) for some days.

    KIND is one of shoe_worn, shoe_limit, shoe_old, streak, no_rest, load_spike,
    pain_persists, pain_with_cause.
    """
    from ..service.health import snooze

    until = snooze(context().store, kind, subject, days, date.today())
    click.echo(f"{kind}{' for ' + subject if subject else ''} is silent until {until}")




@cli.command("why")
@click.option("--as-of", "as_of", type=DAY, help="Look at this day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the ranked causes as JSON.")
def why_command(as_of, as_json) -> None:
    """Why might your ankles hurt? Causes ranked by your data, with what to try."""
    from ..core.advice import NOT_A_DIAGNOSIS
    from ..service.health import why_report

    ctx = context()
    report = why_report(ctx.store, ctx.config, as_of or date.today())
    if as_json:
        emit_json(report)
        return
    click.echo(f"Why might your ankles hurt? ({report['as_of']})")
    for rank, cause in enumerate(report["causes"], start=1):
        subject = f": {cause['subject']}" if cause["subject"] else ""
        click.echo(f"{rank}. {cause_title(cause['cause'])}{subject} (score {cause['score']})")
        for item in cause["evidence"]:
            click.echo(f"   - {item}")
        if rank <= 3:
            click.echo(_wrapped("Try: " + cause["advice"], "   "))
    click.echo(textwrap.fill(NOT_A_DIAGNOSIS, width=88))
