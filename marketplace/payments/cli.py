"""``flask payments …``: jobs for payments.

* ``send-refunds`` (every few minutes): asks the providers to pay back refunds still pending — those a request
  could not send at once (the provider was down) — with the same idempotency keys, so nothing is paid twice.
* ``capture`` (every few minutes): for tenants that capture on acceptance, takes the money held for groups
  whose merchants have all answered (or releases it when every order was refused).
* ``statements [--until DAY]`` (daily): closes every ended settlement period of every shop and opens the
  current one (``payments.settlement``); a second run closes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.core.db import utcnow, writing
from marketplace.extensions import db
from marketplace.orders.returns import yuan
from marketplace.payments import services, settlement
from marketplace.tenancy.context import all_tenants, tenant_scope
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


@payments_cli.command("statements")
@click.option("--until", "until", default="", help="Close periods ended on or before this day (YYYY-MM-DD); "
              "default and latest: yesterday on each tenant's calendar.")
def close_statements(until: str) -> None:
    """Close every ended settlement period of every shop, tenant by tenant (run daily); closing twice is a no-op."""
    try:
        last_day = settlement.parse_day(until)
    except settlement.SettlementError as error:
        raise click.BadParameter(str(error), param_hint="--until") from None
    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.slug)))
    total = 0
    for tenant in tenants:
        with tenant_scope(tenant), writing():
            try:
                closed = settlement.close_statements(tenant, until=last_day)
                db.session.commit()
            except IntegrityError:  # another run got there first: it closes them, nothing is written twice
                db.session.rollback()
                click.echo(f"{tenant.slug}: another run is closing these statements; skipped", err=True)
                continue
            for statement in closed:
                click.echo(f"{tenant.slug}: #{statement.id} {statement.shop.slug} {statement.period_label} "
                           f"net due {yuan(statement.net_due)} {statement.currency}"
                           + (" (negative: the shop owes the platform)" if statement.net_due < 0 else ""))
        if closed:
            click.echo(f"{tenant.slug}: closed {len(closed)}")
        total += len(closed)
    click.echo(f"statements closed: {total}")


@payments_cli.command("capture")
def capture() -> None:
    """Capture the payments held for orders every merchant has answered (tenants capturing on acceptance)."""
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)).all():
        with tenant_scope(tenant):
            counts = services.capture_due_payments()
        if counts:
            click.echo(f"{tenant.slug}: " + ", ".join(f"{outcome} {n}" for outcome, n in sorted(counts.items())))


def _add_reconcile() -> None:
    from marketplace.payments.reconcile import reconcile

    payments_cli.add_command(reconcile)


_add_reconcile()


def register(app: Flask) -> None:
    app.cli.add_command(payments_cli)
