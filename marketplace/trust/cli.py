"""Trust jobs and tools, under ``flask trust …``:

* ``flask trust verify-reviews [--tenant SLUG]``: recompute the reviews' hash chains; exits 1 at the first
  broken entry.
* ``flask trust licences``: take offline the products of shops whose category licence expired (each tenant's
  calendar) and tell the merchant why, once (run it daily).
* ``flask trust complaints-due``: escalate complaints the merchant left unanswered, close those the resident let
  stand, and remind whoever must act, once per step (run it hourly from cron).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.core.db import writing
from marketplace.extensions import db
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant

trust = AppGroup("trust", help="Trust: verification, badges, reviews, credit and complaints.")


@trust.command("complaints-due")
def complaints_due_command():
    """Escalate overdue complaints and send the reminders of each step once (hourly)."""
    from marketplace.trust import complaints

    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    total = complaints.DueRun()
    for tenant in tenants:
        with writing():
            done = complaints.run_due(tenant)
            db.session.commit()
        if done.escalated or done.resolved or done.reminded:
            click.echo(_("%(tenant)s：转平台 %(escalated)d 件，视为接受 %(resolved)d 件，提醒 %(reminded)d 件。",
                         tenant=tenant.slug, escalated=done.escalated, resolved=done.resolved,
                         reminded=done.reminded))
        total.escalated += done.escalated
        total.resolved += done.resolved
        total.reminded += done.reminded
    click.echo(_("共转平台 %(escalated)d 件，视为接受 %(resolved)d 件，提醒 %(reminded)d 件。",
                 escalated=total.escalated, resolved=total.resolved, reminded=total.reminded))



@trust.command("verify-reviews")
@click.option("--tenant", "tenant_slug", default=None, help="Only this tenant (its slug); every tenant by default.")
def verify_reviews_command(tenant_slug: str | None):
    """Recompute each tenant's hash chain of reviews and compare it with the reviews as stored now.

    Exits 1 naming the first broken entry (an edited review or log row, a missing row), 0 when all are intact.
    """
    from marketplace.tenancy.context import tenant_scope
    from marketplace.trust import reviews

    with all_tenants():
        query = select(Tenant).order_by(Tenant.id)
        if tenant_slug is not None:
            query = query.where(Tenant.slug == tenant_slug)
        tenants = list(db.session.scalars(query))
    if tenant_slug is not None and not tenants:
        raise click.ClickException(_("没有这个市场：%(slug)s", slug=tenant_slug))
    broken = 0
    for tenant in tenants:
        with tenant_scope(tenant):
            report = reviews.verify_chain(tenant)
            db.session.rollback()  # a read: let the appends waiting on the chain go on
        if report.intact:
            click.echo(_("%(tenant)s：评价链完整，共 %(n)d 条记录。", tenant=tenant.slug, n=report.entries))
        else:
            broken += 1
            click.echo(_("%(tenant)s：评价链已被篡改，%(where)s", tenant=tenant.slug, where=str(report.broken)),
                       err=True)
    if broken:
        raise SystemExit(1)

@trust.command("licences")
def licences_command():
    """Take offline the products of shops whose category licence expired, and tell each merchant why (daily)."""
    from marketplace.trust import publishing

    with writing():
        lapsed = publishing.lapse_licences()
        db.session.commit()  # the merchants' notices go out with the commit
    for item in lapsed:
        click.echo(_("%(tenant)s/%(shop)s：%(licence)s有效期至%(date)s，已下架 %(n)d 件商品并通知商户。",
                     tenant=item.tenant_slug, shop=item.shop_slug, licence=item.kind,
                     date=item.expired_on.isoformat(), n=len(item.products)))
    click.echo(_("共 %(n)d 个过期许可证涉及的商品已下架。", n=len(lapsed)))


def register(app) -> None:
    app.cli.add_command(trust)
