"""`shoetrack doctor`: check the database, config, inbox, notifications and the unit."""

from __future__ import annotations

import sys

import click

from .base import cli, context, emit_json


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print a list of {check, status, detail, fix}.")
def doctor_command(as_json: bool) -> None:
    """Check this setup and say what to do: one line per check (ok, warning, problem).

    Exit status 0 when nothing is a problem (warnings allowed), 1 otherwise.
    Nothing is created, migrated or changed.
    """
    from ..service.doctor import PROBLEM, diagnose, worst
    from .render import one_line

    ctx = context()
    path, required = ctx.config_file  # read here, not through ctx.config: a broken config is a finding
    findings = diagnose(path, required, ctx.db_path)
    if as_json:
        emit_json(findings)
    else:
        for finding in findings:
            fix = f"; fix: {finding['fix']}" if finding["fix"] else ""
            click.echo(one_line(f"{finding['status']:<7}  {finding['check']}: {finding['detail']}{fix}"))
    sys.exit(1 if worst(findings) == PROBLEM else 0)
