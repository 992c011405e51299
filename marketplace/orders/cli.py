"""Order jobs, to run from cron:

* ``flask orders release-holds``: cancel unpaid orders past their payment deadline and put their stock back
  (every few minutes);
* ``flask orders auto-approve-returns``: approve return requests the merchant left unanswered past their
  deadline, giving the shop's own address for the goods (hourly).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.core.db import writing
from marketplace.extensions import db
from marketplace.orders import returns, services
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant

orders = AppGroup("orders", help="Orders: jobs that keep them moving.")


@orders.command("release-holds")
def release_holds_command():
    """Cancel orders still unpaid after their deadline, returning their stock (run every few minutes)."""
    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    total = 0
    for tenant in tenants:
        with tenant_scope(tenant), writing():
            released = services.release_expired_holds()
            db.session.commit()
        if released:
            click.echo(_("%(tenant)s：取消了 %(n)d 个超时未付款的订单。", tenant=tenant.slug, n=released))
        total += released
    click.echo(_("共取消 %(n)d 个订单。", n=total))


@orders.command("auto-approve-returns")
def auto_approve_returns_command():
    """Approve return requests that merchants left unanswered past their deadline (run hourly)."""
    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    total = 0
    for tenant in tenants:
        with tenant_scope(tenant), writing():
            approved = returns.auto_approve_overdue(tenant)
            db.session.commit()
        if approved:
            click.echo(_("%(tenant)s：自动同意了 %(n)d 个商家逾期未处理的退货申请。", tenant=tenant.slug, n=approved))
        total += approved
    click.echo(_("共自动同意 %(n)d 个退货申请。", n=total))


def register(app) -> None:
    app.cli.add_command(orders)
