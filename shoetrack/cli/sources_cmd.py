"""`shoetrack sources`: the places runs are read from, and what came from each.

The words for a place (its name, whether it is there) are shared with the "Sources:"
lines of `status`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from .base import cli, context, emit_json
from .render import plural, table


def place_name(source: dict) -> str:
    """A device by the name it gives itself; a folder by where it is, under the home as ~."""
    if source["kind"] == "device":
        return source["name"]
    path, home = Path(source["path"]), Path.home()
    if path == home or home in path.parents:
        return str(Path("~") / path.relative_to(home))
    return str(path)


def presence(source: dict) -> str:
    """Whether the place is there now, in the words that fit a watch or a folder."""
    if source["kind"] == "device":
        return "plugged in" if source["present"] else "not plugged in"
    return "here" if source["present"] else "not there now"


def _mode(source: dict) -> str:
    """What shoetrack may do to the files there."""
    if source["mode"] == "read-only":
        return "read-only"
    return "files moved after import" if source.get("after_import") == "move" else "files kept"


def _watched(source: dict) -> str:
    """How the daemon notices new files there."""
    seconds = source["poll_seconds"]
    if source["watch"] == "poll" and seconds:
        return "every " + (f"{seconds:g} s" if seconds < 120 else f"{seconds / 60:g} min")
    return "for changes" if source["watch"] == "events" else "-"


def _when(stamp: str | None) -> str:
    """When a place was last looked through: "never", "just now", "3 min ago", "5 h ago",
    or the local day and time once it is a day old (or in the future: a clock set wrong)."""
    if stamp is None:
        return "never"
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = (datetime.now(timezone.utc) - moment).total_seconds()
    if 0 <= seconds < 60:
        return "just now"
    if 0 <= seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if 0 <= seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


@cli.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print the places as JSON.")
def sources_command(as_json) -> None:
    """The places runs are read from (the inbox, watched folders, watches plugged in):
    whether each is there now, when it was last looked through, and what came from it."""
    from ..service.places import sources

    ctx = context()
    found = sources(ctx.store, ctx.config)
    if as_json:
        emit_json({"sources": found})
        return
    rows = [[s["kind"], place_name(s), presence(s), _mode(s), _watched(s), _when(s["last_scanned"]),
             f"{plural(s['files'], 'file')}, {plural(s['runs'], 'run')}"] for s in found]
    header = ["", "place", "now", "mode", "watched", "last looked through", "came from it"]
    for line in table(header, rows):
        click.echo(line)
