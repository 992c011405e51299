"""``flask webhooks deliver``: send the webhook deliveries that are due, retries included (run it every minute from
cron, under ``flock -n`` so that a slow run is not joined by the next)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.webhooks import services

webhooks = AppGroup("webhooks", help="Outgoing webhooks.")


@webhooks.command("deliver")
@click.option("--limit", default=200, show_default=True, help="at most this many deliveries in one run")
def deliver_command(limit: int):
    """Send the deliveries that are due, with their retries."""
    click.echo(f"{services.deliver_due(limit=limit)} deliveries tried")


def register(app) -> None:
    app.cli.add_command(webhooks)
