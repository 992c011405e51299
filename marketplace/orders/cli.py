"""Order jobs, to run from cron:

* ``flask orders release-holds``: cancel unpaid orders past their payment deadline and put their stock back
  (every few minutes);
* ``flask orders auto-approve-returns``: approve return requests the merchant left unanswered past their
  deadline, giving the shop's own address for the goods (hourly);
* ``flask orders seal [--tenant SLUG]``: seal the order records written since the last seal into the tenant's
  signed hash chain (hourly; ``orders.seals``);
* ``flask orders verify-seals [--tenant SLUG]``: recompute every seal from the records as they are now; exits 1
  naming the first break (daily).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.core.db import writing
from marketplace.extensions import db
from marketplace.orders import returns, seals, services
from marketplace.tenancy.cli import tenants_for
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


@orders.command("seal")
@click.option("--tenant", "tenant_slug", default=None, help="Only this tenant (its slug); every tenant by default.")
def seal_command(tenant_slug: str | None):
    """Seal the order records written since the last seal into each tenant's signed hash chain (run hourly)."""
    for tenant in tenants_for(tenant_slug):
        said = []
        with tenant_scope(tenant), writing():
            # A backlog comes in several seals of at most seals.MAX_RECORDS records each, committed one by one.
            while (sealed := seals.seal(tenant)) is not None:
                said.append(_("%(tenant)s：第 %(seq)d 次封存，%(events)d 条订单状态记录、%(orders)d 个新订单。",
                              tenant=tenant.slug, seq=sealed.seq, events=sealed.events, orders=sealed.orders))
                db.session.commit()
            db.session.commit()
        for line in said or [_("%(tenant)s：没有需要封存的新订单记录。", tenant=tenant.slug)]:
            click.echo(line)


@orders.command("verify-seals")
@click.option("--tenant", "tenant_slug", default=None, help="Only this tenant (its slug); every tenant by default.")
def verify_seals_command(tenant_slug: str | None):
    """Recompute each tenant's order seals from the records as stored now (run daily).

    Exits 1 naming the first break (the seal, and the order when one is concerned), 0 when every chain holds.
    """
    broken = 0
    for tenant in tenants_for(tenant_slug):
        with tenant_scope(tenant):
            report = seals.verify(tenant)
            db.session.rollback()
        if report.intact:
            click.echo(_("%(tenant)s：订单封存链完整，%(seals)d 次封存，共 %(events)d 条订单状态记录、%(orders)d 个订单。",
                         tenant=tenant.slug, seals=report.seals, events=report.events, orders=report.orders))
        else:
            broken += 1
            click.echo(_("%(tenant)s：订单记录被篡改，%(where)s", tenant=tenant.slug, where=str(report.broken)), err=True)
    if broken:
        raise SystemExit(1)


def register(app) -> None:
    app.cli.add_command(orders)
