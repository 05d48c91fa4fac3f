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
    import os

    from ..adapters.systemd import exec_line, program_paths, render_unit, this_program, unit_path
    from ..config import default_config_path
    from ..service.context import ensure_folder

    ctx = context()
    config = ctx.config
    data_dir = Path(os.path.abspath(ctx.database.parent))
    inbox = Path(os.path.abspath(config.inbox))
    options = []
    if ctx.config_path:
        options += ["--config", str(Path(ctx.config_path).expanduser().resolve())]
    if ctx.db_path:
        options += ["--db", str(Path(ctx.db_path).expanduser().resolve())]
    exec_start = exec_line([sys.executable, "-m", "shoetrack", *options, "daemon"])
    # The sandbox empties the homes: the unit names each folder the daemon reads or writes.
    config_file = Path(os.path.abspath(ctx.config_file[0]))
    read_only = [config_file.parent, Path(os.path.realpath(config_file)).parent,  # a config linked from dotfiles
                 *(place.path for place in config.places), *(config.device_roots if config.devices else ())]
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}")  # bound whole: %t
    report = config.path("report.path") if config.get("report.enabled") else None
    read_write = [Path(os.path.abspath(report.parent))] if report else []
    read_write = [p for p in read_write if not (p.is_relative_to(data_dir) or p.is_relative_to(inbox))]
    unit = render_unit(exec_start, unit_path(data_dir), unit_path(inbox),
                       read_write=[unit_path(p) for p in read_write],
                       read_only=[unit_path(p) for p in dict.fromkeys(os.path.abspath(p) for p in read_only)
                                  if not Path(p).is_relative_to(runtime)],
                       program=[unit_path(p) for p in program_paths(this_program())])
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
    for place in config.places:
        if not place.path.is_dir():  # the sandbox binds what is there when the service starts
            click.echo(f"note: {place.path} is not there now: once it is, run systemctl --user restart shoetrack "
                       "so the service can see it")
