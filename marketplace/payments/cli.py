"""``flask payments …``: jobs for payments.

* ``send-refunds`` (every few minutes): asks the providers to pay back refunds still pending — those a request
  could not send at once (the provider was down) — with the same idempotency keys, so nothing is paid twice.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.payments import services
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant

payments_cli = AppGroup("payments", help="Payment jobs: send pending refunds, reconcile with providers.")


@payments_cli.command("send-refunds")
@click.option("--min-age", default=1, show_default=True, help="Only refunds pending for at least this many minutes.")
def send_refunds(min_age: int) -> None:
    """Send pending refunds through their providers, tenant by tenant."""
    totals: dict[str, int] = {}
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)).all():
        with tenant_scope(tenant):
            counts = services.send_pending_refunds(older_than=utcnow() - timedelta(minutes=min_age))
        if counts:
            click.echo(f"{tenant.slug}: " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items())))
        for status, n in counts.items():
            totals[status] = totals.get(status, 0) + n
    click.echo("refunds: " + (", ".join(f"{status} {n}" for status, n in sorted(totals.items())) or "none pending"))


def register(app: Flask) -> None:
    app.cli.add_command(payments_cli)
