"""Delivery jobs, to run from cron:

* ``flask delivery pickups``: remind buyers whose orders wait at a pickup point, and put back on the shelf
  (cancelled, refunded if paid) what waited past the tenant's ``hold_days`` (hourly).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.core.db import writing
from marketplace.delivery import pickup
from marketplace.delivery.providers import ProviderLoadError
from marketplace.delivery.services import tenant_delivery
from marketplace.extensions import db
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant

delivery = AppGroup("delivery", help="Delivery: jobs that keep shipments moving.")


@delivery.command("pickups")
def pickups_command():
    """Remind buyers of goods waiting at a pickup point; return to stock what waited too long (hourly)."""
    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    reminded = returned = 0
    for tenant in tenants:
        try:
            if "pickup" not in tenant_delivery(tenant).options:
                continue
        except ProviderLoadError as error:  # one tenant's broken settings must not stop the others
            click.echo(_("%(tenant)s：配送设置有误，已跳过（%(error)s）。", tenant=tenant.slug, error=error), err=True)
            continue
        with tenant_scope(tenant), writing():
            counts = pickup.remind_and_return(tenant)
            db.session.commit()
        if any(counts):
            click.echo(_("%(tenant)s：提醒 %(reminded)d 单，逾期退回 %(returned)d 单。", tenant=tenant.slug,
                         reminded=counts[0], returned=counts[1]))
        reminded, returned = reminded + counts[0], returned + counts[1]
    click.echo(_("共提醒 %(reminded)d 单，逾期退回 %(returned)d 单。", reminded=reminded, returned=returned))


def register(app) -> None:
    app.cli.add_command(delivery)
