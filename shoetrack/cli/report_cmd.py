"""`shoetrack report`: the report page, written to a file and opened on request."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from .base import cli, context
from .values import DAY, WEEKS


@cli.command("report")
@click.option("--output", "-o", "output", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the page here (default: config report.path, else report.html beside the database).")
@click.option("--as-of", "as_of", type=DAY, help="The report as on this day (default: today).")
@click.option("--weeks", type=WEEKS, default=26, show_default=True,
              help="How many weeks the weekly load chart and the alert time line cover.")
@click.option("--open", "open_page", is_flag=True, help="Open the page in the desktop's browser.")
def report_command(output, as_of, weeks, open_page) -> None:
    """Write one self-contained HTML page: wear per pair, weekly load, the last 12 weeks
    as a calendar, and the alerts and why. It needs no network and no JavaScript."""
    from ..service.report import write_report

    ctx = context()
    path = write_report(ctx.store, ctx.config, as_of or date.today(), output, weeks=weeks)
    click.echo(f"wrote {path}")
    if open_page:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            click.echo(f"no browser found to open it; open {path.resolve().as_uri()} yourself", err=True)
