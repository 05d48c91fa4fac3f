"""Commands that hand the runner their data: backup, restore, export."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .base import cli, context


@cli.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path | None) -> None:
    """Copy the database to PATH, or without PATH into the backups folder beside it,
    keeping the newest backup.keep there (safe while the daemon is running)."""
    if path is None:
        from ..service.backups import backups, take_backup

        ctx = context()
        backup, removed = take_backup(ctx.store, ctx.config)
        kept = len(backups(backup.path.parent))
        click.echo(f"backed up to {backup.path} (verified); {kept} kept in {backup.path.parent}"
                   + (f", {len(removed)} older removed" if removed else ""))
        return
    from ..service.data import backup

    target = backup(context().store, path)
    click.echo(f"backed up to {target}")


@cli.command("restore")
@click.argument("backup", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(backup: Path | None) -> None:
    """Put back the newest backup that verifies (or BACKUP), keeping the current file aside,
    then import again the files imported since. Stop the daemon first."""
    from ..service.backups import restore
    from .render import plural

    ctx = context()
    config = ctx.config
    report = restore(ctx.database, config, backup, inbox=config.inbox)
    for path, problem in report.unusable:
        click.echo(f"skipped {path}: it does not verify ({problem})")
    click.echo(f"restored {report.backup} (taken {report.taken:%Y-%m-%d %H:%M} UTC)")
    if report.aside:
        click.echo(f"the old file is kept as {report.aside}")
    if report.unread:
        click.echo(f"the old file could be read only in part ({', '.join(report.unread)}): more may have "
                   "come after the backup than is listed here")
    imported = report.imported
    click.echo(f"imported again {plural(report.files_again, 'file')} known since the backup: "
               f"{len(imported.imported)} imported ({plural(imported.sessions, 'session')}), "
               f"{len(imported.duplicate)} duplicate, {len(imported.skipped)} skipped, "
               f"{len(imported.failed)} failed")
    for item in imported.failed:
        click.echo(f"  failed: {item['path']}: {item['reason']}")
    if report.not_found:
        click.echo(f"not found, import {'it' if len(report.not_found) == 1 else 'them'} again if you still "
                   f"have {'it' if len(report.not_found) == 1 else 'them'}:")
        for text in report.not_found:
            click.echo(f"  {text}")
    if report.lost:
        click.echo("typed after the backup and not in it, may be lost (add them again):")
        for text in report.lost:
            click.echo(f"  {text}")
    if report.back:
        click.echo("deleted after the backup and back now (`runs delete` them again):")
        for text in report.back:
            click.echo(f"  {text}")
    if report.pins_lost:
        click.echo(f"{plural(report.pins_lost, 'run')} pinned to a pair with `assign` after the backup "
                   f"{'is' if report.pins_lost == 1 else 'are'} not pinned any more (assign again)")


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
