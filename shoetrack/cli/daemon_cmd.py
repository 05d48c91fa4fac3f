"""Commands for the background side: daemon, notify --test, install-service."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .base import cli, context


@cli.command("daemon")
@click.option("--verbose", is_flag=True, help="Log debugging detail too.")
def daemon_command(verbose: bool) -> None:
    """Watch the inbox, import new files, check alerts and notify (runs in the foreground)."""
    from ..daemon import Daemon, configure_logging

    configure_logging(verbose)
    sys.exit(Daemon(context()).run())


@cli.command("notify")
@click.option("--test", "test", is_flag=True, required=True, help="Send a test notification.")
def notify_command(test: bool) -> None:
    """Send a test notification and say whether it was delivered."""
    from ..adapters.notify import Notifier, NotifyError
    from ..errors import ShoetrackError
    from ..service.notifying import send_test

    notifier = Notifier(urgency=context().config.get("notify.urgency"))
    try:
        send_test(notifier)
    except NotifyError as exc:
        raise ShoetrackError(f"not delivered, nothing was shown: {exc}") from None
    click.echo(f"delivered: the notification server accepted it (via {notifier.last_way})")


@cli.command("install-service")
@click.option("--print", "just_print", is_flag=True, help="Print the unit instead of writing it.")
def install_service_command(just_print: bool) -> None:
    """Write the systemd user unit for this installation into ~/.config/systemd/user/."""
    from ..adapters.systemd import render_unit
    from ..config import default_config_path
    from ..service.context import ensure_folder

    ctx = context()
    config = ctx.config
    data_dir = ctx.database.parent
    options = []
    if ctx.config_path:
        options += ["--config", str(Path(ctx.config_path).expanduser().resolve())]
    if ctx.db_path:
        options += ["--db", str(Path(ctx.db_path).expanduser().resolve())]
    exec_start = " ".join([sys.executable, "-m", "shoetrack", *options, "daemon"])
    unit = render_unit(exec_start, str(data_dir), str(config.inbox))
    if just_print:
        click.echo(unit, nl=False)
        return
    ensure_folder(data_dir)
    ensure_folder(config.inbox)
    target = default_config_path().parent.parent / "systemd" / "user" / "shoetrack.service"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch(mode=0o600)
    target.chmod(0o600)
    target.write_text(unit)
    click.echo(f"wrote {target}")
    click.echo("now run: systemctl --user daemon-reload && systemctl --user enable --now shoetrack")
