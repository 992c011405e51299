"""The consoles' payment pages, read-only: a shop's payments and refunds for its merchant (staff too, nobody
else's), and for the tenant's operator every payment with a status filter, payments and notifications with a
problem, refunds failed or stuck, and the last reconciliation report."""

from __future__ import annotations

import html as html_lib
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderGroup
from marketplace.orders.returns import Refund, RefundStatus
from marketplace.payments import services as payments
from marketplace.payments.models import PaymentEvent
from marketplace.payments.providers import Choice, PaymentStatus
from marketplace.payments.reconcile import reconcile_settings
from marketplace.tenancy.context import tenant_scope
from tests.console.test_orders_console import goods, place  # noqa: F401 - fixture


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


@pytest.fixture
def paid_world(world, goods):  # noqa: F811
    buyer = world.users["resident"]
    numbers = place(world.a, buyer, {goods["apples"]: 1, goods["tea"]: 1}, payment_provider="stripe")
    place(world.b, world.users["resident"], {goods["coat"]: 1})
    with tenant_scope(world.a):
        order = db.session.scalar(select(Order).where(Order.number == numbers[world.x.id]))
        group = db.session.get(OrderGroup, order.group_id)
        payment = payments.create_payment(group, Choice("stripe", "card", "银行卡"))
        payment.reference, payment.status = "pi_visible", PaymentStatus.failed
        payment.problem = "卡被拒绝"
        mismatch = payments.create_payment(group, Choice("stripe", "card", "银行卡"))
        mismatch.reference, mismatch.problem = "pi_mismatch", "支付平台报告的金额或币种与订单不符"
        db.session.flush()
        db.session.add_all([
            Refund(tenant_id=world.a.id, order_id=order.id, amount=100, provider="stripe", reference="re_failed",
                   status=RefundStatus.failed, note="退货退款\n银行拒绝了这笔退款", refunded_at=utcnow()),
            Refund(tenant_id=world.a.id, order_id=order.id, amount=200, provider="stripe", reference="",
                   status=RefundStatus.pending, note="卡住的退款", refunded_at=utcnow(),
                   created_at=utcnow() - timedelta(hours=2)),
            PaymentEvent(provider="stripe", event_id="evt_mismatch", event_type="payment_intent.succeeded",
                         tenant_id=world.a.id, payment_id=mismatch.id, outcome="mismatch"),
            PaymentEvent(provider="stripe", event_id="evt_fine", event_type="payment_intent.succeeded",
                         tenant_id=world.a.id, payment_id=mismatch.id, outcome=""),
            PaymentEvent(provider="stripe", event_id="evt_nobody", event_type="payment_intent.succeeded",
                         outcome="unknown_payment"),
        ])
        reconcile_settings.set(world.a, "last_report", {"at": "2026-11-30T02:00:00+00:00", "provider": "stripe",
                                                        "since": "2026-11-23", "compared": 3,
                                                        "differences": ["payment 9 pi_x: missing at stripe"]})
        db.session.commit()
    return numbers


def test_the_merchant_sees_its_orders_payments_and_refunds(world, paid_world, as_role):
    for role in ("owner", "staff"):
        page = as_role(role).get("/merchant/tenant-a/same-slug/payments")
        assert page.status_code == 200
        body = text(page)
        assert paid_world[world.x.id] in body and paid_world[world.y.id] not in body  # its own orders only
        # The group's latest attempt, with why it is not paid.
        assert "银行卡" in body and "待付款" in body and "金额或币种与订单不符" in body and "¥29.90" in body
        assert "re_failed" in body and "银行拒绝了这笔退款" in body and "¥1.00" in body
    assert 'href="/merchant/tenant-a/same-slug/payments"' in text(as_role("owner").get("/merchant/tenant-a/same-slug/"))


@pytest.mark.parametrize(("role", "url", "status"), [
    ("owner_z", "/merchant/tenant-a/same-slug/payments", 403),
    ("owner", "/merchant/tenant-a/shop-y/payments", 403),
    ("owner", "/merchant/tenant-a/no-such-shop/payments", 404),
    ("resident", "/operator/tenant-a/payments", 404),
    ("operator", "/operator/tenant-b/payments", 404),
])
def test_nobody_else_sees_them(world, paid_world, as_role, role, url, status):
    response = as_role(role).get(url)
    assert response.status_code in (status, 404) and "pi_visible" not in text(response)


def test_the_operator_sees_payments_problems_notifications_refunds_and_the_reconciliation(world, paid_world, as_role):
    operator = as_role("operator")
    body = text(operator.get("/operator/tenant-a/payments"))
    assert "pi_visible" in body and "pi_mismatch" in body and "金额或币种与订单不符" in body
    assert "evt_mismatch" in body and "evt_fine" not in body
    assert "evt_nobody" not in body  # a notification naming no payment is no tenant's: administrators see it
    assert "银行拒绝了这笔退款" in body and "卡住的退款" in body
    assert "payment 9 pi_x: missing at stripe" in body and "flask payments reconcile --tenant tenant-a" in body
    assert "服装批发" not in body
    failed = text(operator.get("/operator/tenant-a/payments?status=failed"))
    assert "pi_visible" in failed.split("全部付款", 1)[1] and "pi_mismatch" not in failed.split("全部付款", 1)[1]
    assert operator.get("/operator/tenant-a/payments?status=nonsense").status_code == 400
    assert "evt_nobody" in text(as_role("admin").get("/operator/tenant-a/payments"))
    assert 'href="/operator/tenant-a/payments"' in text(operator.get("/operator/tenant-a/"))


def test_the_operator_confirms_a_bank_transfer_and_every_order_of_it_is_paid(world, goods, as_role):  # noqa: F811
    numbers = place(world.a, world.users["resident"], {goods["apples"]: 1, goods["tea"]: 1})
    with tenant_scope(world.a):
        group = db.session.get(OrderGroup, db.session.scalar(
            select(Order.group_id).where(Order.number == numbers[world.x.id])))
        transfer = payments.create_payment(group, Choice("offline", "bank_transfer", "银行转账"))
        db.session.commit()
        transfer_id, group_number = transfer.id, group.number
    operator = as_role("operator")
    page = text(operator.get("/operator/tenant-a/payments"))
    assert "待确认的银行转账" in page and group_number in page and "确认到账" in page

    # Someone who is not the operator cannot, nor can the operator of another tenant.
    for role, url, status in (("owner", f"/operator/tenant-a/payments/{transfer_id}/confirm-transfer", 404),
                              ("operator", f"/operator/tenant-b/payments/{transfer_id}/confirm-transfer", 404)):
        browser = as_role(role)
        response = browser.post(url, data={"csrf_token": browser.csrf_token("/account/login")})
        assert response.status_code == status
    response = operator.submit(f"/operator/tenant-a/payments/{transfer_id}/confirm-transfer", {},
                               page_url="/operator/tenant-a/payments")
    assert response.status_code == 303
    assert "已确认到账，2 笔订单已付款。" in text(operator.get("/operator/tenant-a/payments"))
    db.session.expire_all()
    with tenant_scope(world.a):
        group = db.session.scalar(select(OrderGroup).where(OrderGroup.number == group_number))
        assert {o.status for o in group.orders} == {"paid"} and group.paid_at is not None
        assert db.session.get(payments.Payment, transfer_id).status == PaymentStatus.succeeded
        assert group.orders[0].events[-1].note == f"运营方确认已收到银行转账（附言 {group_number}）"
    # A second confirmation finds nothing to confirm: a message, nothing changes.
    operator.submit(f"/operator/tenant-a/payments/{transfer_id}/confirm-transfer", {},
                    page_url="/operator/tenant-a/payments")
    assert "只有待确认的银行转账才能由运营方确认到账。" in text(operator.get("/operator/tenant-a/payments"))
