"""Trust jobs and tools, under ``flask trust …``:

* ``flask trust verify-reviews [--tenant SLUG]``: recompute the reviews' hash chains; exits 1 at the first
  broken entry.
* ``flask trust anchor-reviews``: sign each tenant's review chain head with the badge key and publish it (daily);
  ``verify-reviews`` then also checks the chain against every signed checkpoint.
* ``flask trust licences``: take offline the products of shops whose category licence expired (each tenant's
  calendar) and tell the merchant why, once (run it daily).
* ``flask trust complaints-due``: escalate complaints the merchant left unanswered, close those the resident let
  stand, and remind whoever must act, once per step (run it hourly from cron).
* ``flask trust ip-notices-due``: end the intellectual-property measures whose 15 days after a counter-notice ran
  out without a reported complaint or lawsuit, and remind the operators and rights holders once per step (hourly).
* ``flask trust credit [--tenant SLUG]``: recompute every shop's stored credit standing, which search ranks and
  filters by (run it daily: the 180-day window moves on even when nothing happens).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.core.db import writing
from marketplace.extensions import db
from marketplace.tenancy.cli import tenants_for
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant

trust = AppGroup("trust", help="Trust: verification, badges, reviews, credit and complaints.")
#: Shops whose credit ``flask trust credit`` refreshes per transaction.
CREDIT_BATCH = 100


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


@trust.command("ip-notices-due")
def ip_notices_due_command():
    """End the measures whose 15 days after a counter-notice ran out, and remind once per step (hourly)."""
    from marketplace.trust import ip_notices

    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    restored = reminded = 0
    for tenant in tenants:
        with writing():
            done = ip_notices.run_due(tenant)
            db.session.commit()
        restored, reminded = restored + done.restored, reminded + done.reminded
    click.echo(_("知识产权通知：终止措施 %(restored)d 件，提醒 %(reminded)d 件。", restored=restored,
                 reminded=reminded))


@trust.command("verify-reviews")
@click.option("--tenant", "tenant_slug", default=None, help="Only this tenant (its slug); every tenant by default.")
def verify_reviews_command(tenant_slug: str | None):
    """Recompute each tenant's hash chain of reviews and compare it with the reviews as stored now.

    Exits 1 naming the first broken entry (an edited review or log row, a missing row), 0 when all are intact.
    """
    from marketplace.tenancy.context import tenant_scope
    from marketplace.trust import checkpoints, reviews

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
            anchor_problem = checkpoints.checkpoint_problem(tenant) if report.intact else None
            db.session.rollback()  # a read: let the appends waiting on the chain go on
        if not report.intact:
            broken += 1
            click.echo(_("%(tenant)s：评价链已被篡改，%(where)s", tenant=tenant.slug, where=str(report.broken)),
                       err=True)
        elif anchor_problem:
            broken += 1
            click.echo(_("%(tenant)s：评价链与平台签名的检查点不符，%(where)s", tenant=tenant.slug,
                         where=anchor_problem), err=True)
        else:
            click.echo(_("%(tenant)s：评价链完整，共 %(n)d 条记录。", tenant=tenant.slug, n=report.entries))
    if broken:
        raise SystemExit(1)


@trust.command("anchor-reviews")
def anchor_reviews_command():
    """Sign each tenant's review chain head and publish it at /verify/reviews/<tenant> (daily)."""
    from marketplace.tenancy.context import tenant_scope
    from marketplace.trust import checkpoints

    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    signed = broken = 0
    for tenant in tenants:
        with writing(), tenant_scope(tenant):
            try:
                checkpoint = checkpoints.take_checkpoint(tenant)
            except checkpoints.ChainBroken as error:
                db.session.rollback()
                broken += 1
                click.echo(_("%(tenant)s：评价链未通过核验，不签名：%(where)s", tenant=tenant.slug, where=str(error)),
                           err=True)
                continue
            db.session.commit()
        if checkpoint is not None:
            signed += 1
            click.echo(_("%(tenant)s：已签名评价链第 %(seq)d 条记录 %(hash)s。", tenant=tenant.slug,
                         seq=checkpoint.seq, hash=checkpoint.hash))
    click.echo(_("共为 %(n)d 个市场签名了新的检查点。", n=signed))
    if broken:
        raise SystemExit(1)


@trust.command("credit")
@click.option("--tenant", "tenant_slug", default=None, help="Only this tenant (its slug); every tenant by default.")
def credit_command(tenant_slug: str | None):
    """Recompute each shop's stored credit standing; the search index follows the shops whose standing moved."""
    from marketplace.search import indexing
    from marketplace.shops.models import Shop
    from marketplace.tenancy.context import tenant_scope
    from marketplace.trust.credit import refresh_credit

    tenants = tenants_for(tenant_slug)
    total = 0
    for tenant in tenants:
        with tenant_scope(tenant):
            shop_ids = list(db.session.scalars(select(Shop.id).order_by(Shop.id)))
            db.session.rollback()
        moved = 0
        # A batch per write transaction: on SQLite one holds back every other writer until it commits.
        for start in range(0, len(shop_ids), CREDIT_BATCH):
            with writing(), tenant_scope(tenant):
                batch = db.session.scalars(select(Shop).where(Shop.id.in_(shop_ids[start:start + CREDIT_BATCH])))
                moved += refresh_credit(list(batch))
                db.session.commit()
        indexing.run_pending()  # this tenant's moved shops reach its index now (or their jobs are queued)
        click.echo(_("%(tenant)s：%(n)d 家店铺的信用有变化。", tenant=tenant.slug, n=moved))
        total += moved
    click.echo(_("共 %(n)d 家店铺的信用有变化。", n=total))


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
