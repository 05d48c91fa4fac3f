"""Commands that hand the runner their data: backup, export."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .base import cli, context


@cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the database to PATH (safe while the daemon is running)."""
    from ..service.data import backup

    target = backup(context().store, path)
    click.echo(f"backed up to {target}")


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), required=True,
              help="csv: every session; json: sessions, pairs and the pain log.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this new file instead of standard output.")
def export_command(fmt: str, output: Path | None) -> None:
    """Export your data as CSV or JSON."""
    from ..errors import ShoetrackError
    from ..service.data import export

    text = export(context().store, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        fd = os.open(output, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise ShoetrackError(f"{output} already exists; give a new file name") from None
    except OSError as exc:
        raise ShoetrackError(f"cannot create {output}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(text)
    click.echo(f"exported to {output}")
