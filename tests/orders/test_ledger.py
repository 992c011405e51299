"""The settlement ledger of one shop: orders paid in the period on the tenant's calendar, refunds made in it
(whenever the order was paid), commission less the pro-rata commission on refunds, the net due, and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from marketplace.extensions import db
from marketplace.orders import ledger as ledgers
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import OrderStatus
from marketplace.tenancy.context import tenant_scope
from tests.orders.test_place_order import fill
from tests.orders.test_returns import record

S = OrderStatus
DECEMBER = (date(2026, 12, 1), date(2026, 12, 31))


def shanghai(*args) -> datetime:
    """A Shanghai wall-clock time (UTC+8, no daylight saving) as UTC."""
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture
def month(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    """A shop's December: two orders paid in it, one paid the day before with a refund in it, one paid ten
    minutes after it ends, and another shop's order."""
    tenant = make_tenant()
    with tenant_scope(tenant):
        orders.order_settings.set(tenant, "commission_bp", 150)
        db.session.commit()
    shop, neighbour = make_shop(tenant, name_zh="老王杂货"), make_shop(tenant, name_zh="隔壁")
    category = make_category(tenant)
    rice = make_product(shop, category=category, title="五常大米", price=10000, stock=50)
    theirs = make_product(neighbour, category=category, title="茶叶", price=10000, stock=50)
    buyer, clerk = make_user(), make_user()
    placed = {}

    def order(name, product, quantity, paid_at):
        cart = fill(tenant, buyer, {product: quantity})
        with tenant_scope(tenant):
            placed[name] = orders.place_order(tenant, buyer.id, cart, name).orders[0]
            record(placed[name], S.paid, paid_at)
            db.session.commit()

    order("first-minutes", rice, 1, shanghai(2026, 12, 1, 0, 30))  # 30 November in UTC, 1 December here
    order("two-bags", rice, 2, shanghai(2026, 12, 10, 9, 0))
    order("november", rice, 1, shanghai(2026, 11, 30, 12, 0))
    order("new-year", rice, 1, shanghai(2027, 1, 1, 0, 10))
    order("neighbour", theirs, 1, shanghai(2026, 12, 5, 10, 0))
    with tenant_scope(tenant):
        record(placed["two-bags"], S.delivered, shanghai(2026, 12, 11, 10, 0))
        record(placed["first-minutes"], S.delivered, shanghai(2026, 12, 2, 10, 0))
        returns.refund(placed["two-bags"], 7000, actor_id=clerk.id, now=shanghai(2026, 12, 12, 10, 0))
        returns.refund(placed["two-bags"], 3000, actor_id=clerk.id, now=shanghai(2026, 12, 20, 10, 0))
        returns.refund(placed["november"], 10000, actor_id=clerk.id, now=shanghai(2026, 12, 2, 10, 0))
        returns.refund(placed["neighbour"], 10000, actor_id=clerk.id, now=shanghai(2026, 12, 6, 10, 0))
        # Not yet through the provider: no money has moved, the ledger leaves it out.
        returns.refund(placed["first-minutes"], 1000, actor_id=clerk.id,
                       now=shanghai(2026, 12, 3, 10, 0)).status = returns.RefundStatus.pending
        db.session.commit()
    return tenant, shop, placed


def test_the_ledger_counts_the_periods_payments_and_refunds_on_the_tenants_calendar(month):
    tenant, shop, placed = month
    with tenant_scope(tenant):
        ledger = ledgers.shop_ledger(tenant, shop, *DECEMBER)
    assert (ledger.orders_paid, ledger.paid, ledger.commission) == (2, 30000, 150 + 300)
    assert (ledger.refunds, ledger.refunded) == (3, 20000)
    # Pro rata: 7000 of 20000 gives back 105 of 300; the running total 10000 gives back 150, so 45 more;
    # the November order's full refund gives back all of its 150.
    assert ledger.commission_returned == 105 + 45 + 150
    assert ledger.net_commission == 150
    assert ledger.net_due == 30000 - 20000 - 150
    assert [(e.day, e.kind, e.order_number, e.amount, e.commission) for e in ledger.entries] == [
        (date(2026, 12, 1), "payment", placed["first-minutes"].number, 10000, 150),
        (date(2026, 12, 2), "refund", placed["november"].number, -10000, -150),
        (date(2026, 12, 10), "payment", placed["two-bags"].number, 20000, 300),
        (date(2026, 12, 12), "refund", placed["two-bags"].number, -7000, -105),
        (date(2026, 12, 20), "refund", placed["two-bags"].number, -3000, -45),
    ]


def test_a_one_day_period_and_the_day_boundary(month):
    tenant, shop, placed = month
    with tenant_scope(tenant):
        first = ledgers.shop_ledger(tenant, shop, date(2026, 12, 1), date(2026, 12, 1))
        eve = ledgers.shop_ledger(tenant, shop, date(2026, 12, 31), date(2026, 12, 31))
        new_year = ledgers.shop_ledger(tenant, shop, date(2027, 1, 1), date(2027, 1, 1))
    assert (first.orders_paid, first.paid) == (1, 10000)
    assert eve.orders_paid == 0 and eve.entries == []
    assert (new_year.orders_paid, new_year.paid, new_year.net_due) == (1, 10000, 10000 - 150)


def test_commission_given_back_is_exact_over_several_partial_refunds():
    # 7 fen of commission on 100 yuan; refunds of 50 + 50 yuan give back 4 + 3, never 8.
    assert ledgers.commission_returned(7, 10000, 5000) == 4
    assert ledgers.commission_returned(7, 10000, 10000) == 7
    assert ledgers.commission_returned(0, 0, 0) == 0


@pytest.mark.parametrize("start, end", [(date(2026, 12, 31), date(2026, 12, 1)),
                                        (date(2025, 1, 1), date(2026, 12, 31)), ("2026-12-01", date(2026, 12, 2))])
def test_a_wrong_period_is_refused(month, start, end):
    tenant, shop, _placed = month
    with tenant_scope(tenant), pytest.raises(ledgers.LedgerError):
        ledgers.shop_ledger(tenant, shop, start, end)


def test_the_csv_opens_in_excel_with_the_entries_and_totals_in_yuan(month):
    tenant, shop, placed = month
    with tenant_scope(tenant):
        data = ledgers.ledger_csv(ledgers.shop_ledger(tenant, shop, *DECEMBER))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert rows[0] == ["日期", "类型", "订单号", "金额（元）", "佣金（元）", "应结（元）"]
    assert rows[1] == ["2026-12-01", "付款", placed["first-minutes"].number, "100.00", "1.50", "98.50"]
    assert rows[2] == ["2026-12-02", "退款", placed["november"].number, "-100.00", "-1.50", "-98.50"]
    assert rows[4] == ["2026-12-12", "退款", placed["two-bags"].number, "-70.00", "-1.05", "-68.95"]
    totals = {row[0]: row[1] for row in rows[7:] if row}
    assert totals == {"结算期间": "2026-12-01 — 2026-12-31", "付款订单数": "2", "付款金额（元）": "300.00",
                      "退款笔数": "3", "退款金额（元）": "200.00", "佣金（元）": "4.50", "退还佣金（元）": "3.00",
                      "应结金额（元）": "98.50"}


def test_an_order_number_cannot_become_an_excel_formula(app_ctx):
    ledger = ledgers.Ledger(shop_id=1, start=date(2026, 12, 1), end=date(2026, 12, 1),
                            entries=[ledgers.Entry(date(2026, 12, 1), "payment", "=HYPERLINK(1)", 100, 0)])
    rows = list(csv.reader(io.StringIO(ledgers.ledger_csv(ledger)[3:].decode("utf-8"))))
    assert rows[1][2] == "'=HYPERLINK(1)"
