"""``flask orders release-holds``: cancel unpaid orders past their payment deadline and put their stock back."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.core.db import writing
from marketplace.extensions import db
from marketplace.orders import services
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


def register(app) -> None:
    app.cli.add_command(orders)
