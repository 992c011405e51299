"""``flask payments reconcile [--since YYYY-MM-DD] [--tenant slug]`` (daily): compare our payments and refunds with
what each tenant's automatic provider holds, by the provider's reference, and print every difference (missing at
the provider, missing here, amount, currency, status or captured amount differing). Exit code 0 when there is
none, 1 otherwise. Each tenant's last report is kept for the operator console (``reconcile_settings``).

The provider's account serves every tenant: a payment it holds that none of our tenants knows is reported as
missing here; one another tenant knows is that tenant's business. Payments not yet confirmed read "pending" at the
provider and "requires_action" here: the same thing, not a difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders.returns import Refund, RefundStatus
from marketplace.payments import services
from marketplace.payments.models import Payment
from marketplace.payments.providers import PaymentStatus, ProviderError, ProviderUnavailable, provider_class
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import Setting, SettingsGroup

#: The last reconciliation of each tenant, for the operator's payments page.
reconcile_settings = SettingsGroup("reconciliation", last_report=Setting(dict, {}))
#: States that mean "not paid yet" on either side: an intent the buyer has not confirmed reads pending at the
#: provider while we call it requires_action — not a difference.
UNPAID = {PaymentStatus.pending, PaymentStatus.requires_action}


@dataclass
class Report:
    tenant: str
    provider: str
    since: str
    compared: int = 0
    differences: list[str] = field(default_factory=list)

    def as_setting(self) -> dict:
        return {"at": utcnow().isoformat(timespec="seconds"), "provider": self.provider, "since": self.since,
                "compared": self.compared, "differences": self.differences}


def _same_status(ours: str, theirs: str) -> bool:
    return ours == theirs or (ours in UNPAID and theirs in UNPAID)


def reconcile_tenant(tenant: Tenant, since: datetime) -> Report | None:
    """Compare the tenant's payments and refunds with its automatic provider's since then; None when the tenant
    has no such provider (offline payments: nothing to compare). Raises ``ProviderUnavailable``."""
    name = services.tenant_payments(tenant).online
    if name is None or not provider_class(name).capabilities.automatic:
        return None
    report = Report(tenant.slug, name, since.date().isoformat())
    provider = services.provider_for(tenant, name)
    with tenant_scope(tenant):
        ours = {p.reference: p for p in db.session.scalars(
            select(Payment).where(Payment.provider == name, Payment.reference != "", Payment.created_at >= since)
            .order_by(Payment.id))}
        refunds = {r.reference: r for r in db.session.scalars(
            select(Refund).where(Refund.provider == name, Refund.reference != "", Refund.created_at >= since))}
    theirs = {}
    for result in provider.payments_since(since):
        theirs[result.reference] = result
    seen_refunds: set[str] = set()
    add = report.differences.append
    for reference, payment in ours.items():
        result = theirs.get(reference)
        if result is None:
            add(f"payment {payment.id} {reference}: missing at {name}")
            continue
        report.compared += 1
        if (result.amount, result.currency.upper()) != (payment.amount, payment.currency.upper()):
            add(f"payment {payment.id} {reference}: amount differs: ours {payment.amount} {payment.currency}, "
                f"{name} {result.amount} {result.currency.upper()}")
        if not _same_status(payment.status, result.status):
            add(f"payment {payment.id} {reference}: status differs: ours {payment.status}, {name} {result.status}")
        if result.amount_captured != payment.amount_captured:
            add(f"payment {payment.id} {reference}: captured differs: ours {payment.amount_captured}, "
                f"{name} {result.amount_captured}")
        for refund in result.refunds:
            seen_refunds.add(refund.reference)
            mine = refunds.get(refund.reference)
            if mine is None:
                add(f"refund {refund.reference} of payment {payment.id}: missing here ({refund.amount}, {refund.status})")
            elif (mine.amount, mine.status) != (refund.amount, refund.status):
                add(f"refund {mine.id} {refund.reference}: differs: ours {mine.amount} {mine.status}, "
                    f"{name} {refund.amount} {refund.status}")
    with all_tenants():  # the provider's account serves every tenant: only payments of none of them are ours to report
        elsewhere = set(db.session.scalars(select(Payment.reference).where(
            Payment.provider == name, Payment.reference.in_([r for r in theirs if r not in ours]))))
    for reference, result in theirs.items():
        if reference not in ours and reference not in elsewhere \
                and (result.payment_id is None or _tenant_of(result.payment_id) in (None, tenant.id)):
            add(f"payment {reference}: missing here ({result.amount} {result.currency.upper()}, {result.status})")
    for reference, refund in refunds.items():
        paid_by = next((p for p in ours.values() if p.id == refund.payment_id), None)
        if reference not in seen_refunds and refund.status != RefundStatus.failed \
                and (paid_by is not None or refund.payment_id is None):
            add(f"refund {refund.id} {reference}: missing at {name}")
    return report


def _tenant_of(payment_id: int) -> int | None:
    with all_tenants():
        return db.session.scalar(select(Payment.tenant_id).where(Payment.id == payment_id))


@click.command("reconcile")
@click.option("--since", default=None, help="YYYY-MM-DD; default: 7 days ago.")
@click.option("--tenant", "slug", default=None, help="Only this tenant (its slug).")
def reconcile(since: str | None, slug: str | None) -> None:
    """Compare our payments and refunds with each automatic provider's; exit 1 if anything differs."""
    try:
        start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC) if since else utcnow() - timedelta(days=7)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--since") from None
    query = select(Tenant).order_by(Tenant.slug)
    if slug:
        query = query.where(Tenant.slug == slug)
    tenants = db.session.scalars(query).all()
    if slug and not tenants:
        raise click.BadParameter(f"no tenant {slug!r}", param_hint="--tenant")
    differences = 0
    failed = False
    for tenant in tenants:
        try:
            report = reconcile_tenant(tenant, start)
        except (ProviderUnavailable, ProviderError) as error:
            click.echo(f"{tenant.slug}: could not ask the provider: {error}")
            failed = True
            continue
        if report is None:
            click.echo(f"{tenant.slug}: no automatic payment provider, nothing to compare")
            continue
        for line in report.differences:
            click.echo(f"{tenant.slug}: {line}")
        click.echo(f"{tenant.slug}: {report.provider}, {report.compared} payments compared since {report.since}, "
                   f"{len(report.differences) or 'no'} difference{'' if len(report.differences) == 1 else 's'}")
        reconcile_settings.set(tenant, "last_report", report.as_setting())
        db.session.commit()
        differences += len(report.differences)
    if differences:
        click.echo(f"{differences} difference{'' if differences == 1 else 's'}")
    elif not failed:
        click.echo("no differences")
    if differences or failed:
        raise SystemExit(1)
