"""The order jobs run from cron, invoked the way cron invokes them: ``flask orders …``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders.returns import ReturnRequest, ReturnStatus
from marketplace.tenancy.context import tenant_scope
from tests.orders.test_returns import delivered_order


@pytest.fixture
def street(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(address_zh="郑州市二七区德化街")
    shop = make_shop(tenant, name_zh="老王杂货", phone="0371-66668888", street_number="18号")
    general = make_category(tenant)
    goods = {
        "kettle": make_product(shop, category=general, title="电水壶", price=8900, stock=10),
        "cups": make_product(shop, category=general, title="玻璃杯", price=1500, stock=20),
    }
    return tenant, goods, make_user()


def status_of(tenant, request_id: int) -> ReturnRequest:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.scalar(select(ReturnRequest).where(ReturnRequest.id == request_id))


def test_auto_approve_returns_approves_only_requests_left_unanswered_too_long(app, street, make_tenant):
    tenant, goods, buyer = street
    quiet = make_tenant(slug="quiet-market")  # a tenant with nothing to do is passed over without a word
    kettle_order = delivered_order(tenant, buyer, {goods["kettle"]: 1}, "job-1")
    cups_order = delivered_order(tenant, buyer, {goods["cups"]: 2}, "job-2")
    with tenant_scope(tenant):
        # Asked three days ago: the merchant's 48 hours are over. Asked just now: still the merchant's to answer.
        overdue = returns.request_return(tenant, kettle_order, {kettle_order.lines[0].id: 1}, buyer_id=buyer.id,
                                         today=date(2026, 12, 2), now=utcnow() - timedelta(days=3))
        fresh = returns.request_return(tenant, cups_order, {cups_order.lines[0].id: 1}, buyer_id=buyer.id,
                                       today=date(2026, 12, 2))
        overdue_id, fresh_id = overdue.id, fresh.id
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["orders", "auto-approve-returns"])

    assert result.exit_code == 0, result.output
    assert f"{tenant.slug}：自动同意了 1 个商家逾期未处理的退货申请。" in result.output
    assert quiet.slug not in result.output
    assert "共自动同意 1 个退货申请。" in result.output
    approved = status_of(tenant, overdue_id)
    assert approved.status == ReturnStatus.approved and approved.decided_by is None
    # The buyer is told where to send the goods: the shop's own place on the street, with its phone.
    assert "德化街" in approved.return_address and "0371-66668888" in approved.return_address
    assert status_of(tenant, fresh_id).status == ReturnStatus.requested

    again = app.test_cli_runner().invoke(args=["orders", "auto-approve-returns"])
    assert again.exit_code == 0 and "共自动同意 0 个退货申请。" in again.output
