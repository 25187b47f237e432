"""flask commands: the routine library (check, load), the push worker and VAPID keys."""

from __future__ import annotations

import logging
import signal

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import delete

from server.database import write_transactions
from server.extensions import db
from server.models import PushSubscription
from server.push.keys import rotate_vapid_keys
from server.push.setup import make_sender, push_settings
from server.push.worker import Worker
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


push_cli = AppGroup("push", help="Web Push: the server's VAPID keys.")


@click.command("worker")
@click.option("--threads", type=click.IntRange(1, 64), help="Sending threads (PUSH_WORKER_THREADS).")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
def run_worker(threads, once):
    """Send reminders and notifications until SIGTERM or Ctrl-C."""
    # The worker's own log (start, stop, every failed delivery) goes to stderr beside gunicorn's.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [worker] %(levelname)s %(message)s")
    app = current_app._get_current_object()
    worker = Worker(app, make_sender(app), threads=threads)
    if once:
        report = worker.run_until_idle()
        worker.close()
        click.echo(f"reminders: {report.reminders.sent} queued; notifications: {report.sent or 'none'}")
        return
    # Stopping finishes the messages in flight and hands the rest of the batch back.
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    try:
        worker.run()
    finally:
        worker.close()


@push_cli.command("keys")
@click.option("--rotate", is_flag=True, help="Make a new key pair in instance/.")
@click.option("--yes", is_flag=True, help="Do not ask before rotating.")
def push_keys(rotate, yes):
    """Print the VAPID public key (applicationServerKey), or rotate the key pair."""
    keys = push_settings().keys
    if rotate:
        if keys.source == "environment":
            raise click.ClickException("The keys come from VAPID_PRIVATE_KEY; change that instead.")
        # Browsers bind a subscription to the key: every phone has to subscribe again.
        if not yes:
            click.confirm("Every phone will have to turn notifications on again. Rotate?", abort=True)
        keys = rotate_vapid_keys(current_app.instance_path)
        with write_transactions():
            removed = db.session.execute(delete(PushSubscription)).rowcount
            db.session.commit()
        click.echo(f"rotated; {removed} subscription(s) removed; restart the server and worker")
    click.echo(f"public key: {keys.application_server_key}")
    click.echo(f"source: {keys.source}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(routines_cli)
    app.cli.add_command(push_cli)
    app.cli.add_command(run_worker)
