"""`shoetrack config check`."""

from __future__ import annotations

import sys

import click

from .base import Group, cli, context


@cli.group("config", cls=Group)
def config_group() -> None:
    """Check the configuration file."""


@config_group.command("check")
def config_check() -> None:
    """Validate the config file and list every problem (exit 78 when there are any)."""
    from ..config import folder_problems, place_notes, read_config
    from ..errors import EX_CONFIG

    path, required = context().config_file
    config, problems = read_config(path, required=required)
    problems += folder_problems(config)
    for note in place_notes(config):
        click.echo(f"note: {note}")
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        click.echo(f"config {config.source}: {len(problems)} {noun}", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EX_CONFIG)
    click.echo(f"config OK: {config.source}")


