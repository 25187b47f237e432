"""flask commands: the routine library (check, load)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from server.database import write_transactions
from server.services import routine_files

routines_cli = AppGroup("routines", help="The exercise library and templates in routines/.")


@routines_cli.command("check")
def check_routines():
    """Validate every file in routines/; print each problem with file and field."""
    problems = routine_files.check_library(current_app.config["ROUTINES_PATH"])
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) found")
    click.echo("routines: all files are valid")


@routines_cli.command("load")
def load_routines():
    """Load routines/ into the database (idempotent: keyed by slug)."""
    try:
        with write_transactions():
            report = routine_files.load_library(current_app.config["ROUTINES_PATH"])
    except routine_files.LibraryInvalid as invalid:
        for problem in invalid.problems:
            click.echo(problem, err=True)
        raise click.ClickException(
            f"{len(invalid.problems)} problem(s) found; nothing was loaded"
        ) from invalid
    summary = ", ".join(f"{count} {what}" for what, count in sorted(report.counts.items()))
    click.echo(f"routines loaded: {summary or 'nothing to do'}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(routines_cli)
