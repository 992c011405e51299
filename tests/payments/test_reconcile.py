"""``flask payments reconcile``: our payments and refunds against what the provider holds — nothing to compare for
offline tenants; against localstripe, a clean run says "no differences" (exit 0) and each kind of difference is
printed (exit 1) and kept for the operator's page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.returns import Refund, RefundStatus
from marketplace.payments import services as payments
from marketplace.payments.conformance import ProviderConformance
from marketplace.payments.models import Payment
from marketplace.payments.reconcile import reconcile_settings
from marketplace.payments.stripe_provider import intent_result
from marketplace.tenancy.context import tenant_scope


def run(app, *args):
    return app.test_cli_runner().invoke(args=["payments", "reconcile", *args])


def test_offline_tenants_have_nothing_to_compare(app, app_ctx, make_tenant):
    tenant = make_tenant(slug="offline-street")
    result = run(app, "--tenant", "offline-street")
    assert result.exit_code == 0, result.output
    assert "offline-street: no automatic payment provider, nothing to compare" in result.output
    assert result.output.strip().endswith("no differences")
    assert reconcile_settings.get(tenant, "last_report") == {}


@pytest.mark.parametrize("args", [["--since", "30/11/2026"], ["--tenant", "no-such-tenant"]])
def test_bad_arguments_are_refused_by_name(app, app_ctx, args):
    result = run(app, *args)
    assert result.exit_code == 2 and args[0] in result.output


@pytest.fixture
def stripe_tenant(app_ctx, use_stripe):
    kit = ProviderConformance()
    kit.provider_name, kit.options = "stripe", {"methods": ["card"]}
    tenant = kit.make_tenant()
    return tenant, kit, use_stripe


def _paid(kit, tenant, emulator):
    group, payment, _action = kit.place(tenant)
    assert emulator.confirm(payment.reference)[0] == 200
    with tenant_scope(tenant):
        payments.refresh_payment(tenant, payment)
        db.session.refresh(payment)
    return group, payment


def test_a_clean_run_and_every_kind_of_difference(app, stripe_tenant):
    tenant, kit, emulator = stripe_tenant
    group, payment = _paid(kit, tenant, emulator)
    assert payment.status == "succeeded"
    result = run(app, "--tenant", tenant.slug, "--since", "2020-01-01")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("no differences")
    assert reconcile_settings.get(tenant, "last_report")["differences"] == []

    with tenant_scope(tenant):
        # A refund we made that the provider never saw, an amount we changed, and a payment it does not know.
        order = group.orders[0]
        db.session.add(Refund(tenant_id=tenant.id, order_id=order.id, amount=100, provider="stripe",
                              reference="re_nowhere", status=RefundStatus.succeeded, refunded_at=payment.created_at))
        ghost = Payment(tenant_id=tenant.id, group_id=group.id, provider="stripe", method="card", amount=group.total,
                        currency=group.currency, reference="pi_ghost", status="failed")
        db.session.add(ghost)
        db.session.commit()
    # A PaymentIntent made at Stripe with no payment of ours behind it.
    stray = emulator.post("/v1/payment_intents", {"amount": 500, "currency": "cny", "payment_method_types[]": "card"})
    result = run(app, "--tenant", tenant.slug, "--since", "2020-01-01")
    assert result.exit_code == 1, result.output
    assert f"payment {ghost.id} pi_ghost: missing at stripe" in result.output
    assert "re_nowhere: missing at stripe" in result.output
    assert f"payment {stray['id']}: missing here" in result.output
    assert "no differences" not in result.output
    report = reconcile_settings.get(tenant, "last_report")
    assert len(report["differences"]) == 3 and report["provider"] == "stripe"


def test_status_and_amount_differences(app, stripe_tenant):
    tenant, kit, emulator = stripe_tenant
    _group, payment = _paid(kit, tenant, emulator)
    with tenant_scope(tenant):
        # Our books say failed and a captured amount Stripe does not: both are reported.
        row = db.session.scalar(select(Payment).where(Payment.id == payment.id))
        row.status, row.amount_captured = "failed", row.amount - 1
        db.session.commit()
    result = run(app, "--tenant", tenant.slug, "--since", "2020-01-01")
    assert result.exit_code == 1
    assert f"payment {payment.id} {payment.reference}: status differs: ours failed, stripe succeeded" in result.output
    assert "captured differs" in result.output
    assert intent_result  # the provider's reading is the one the webhook uses
