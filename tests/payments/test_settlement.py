"""Settlement statements: weekly and monthly periods on the tenant's calendar, closing that freezes the ledger's
figures once and only once, a negative amount due said out loud, the manual payout and its refusals, the CSV and
XLSX files, and the daily job ``flask payments statements``."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import OrderStatus
from marketplace.payments import payouts, settlement
from marketplace.payments.settlement import SettlementStatement, StatementStatus
from marketplace.tenancy.context import tenant_scope
from tests.console.conftest import database_rows
from tests.orders.test_place_order import fill
from tests.orders.test_returns import record


def shanghai(*args) -> datetime:
    """A Shanghai wall-clock time (UTC+8) as UTC."""
    return datetime(*args, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture
def street(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    """A tenant taking 1.50 % commission, a shop selling rice at 100 yuan, and ``sell`` to record sales."""
    tenant = make_tenant()
    with tenant_scope(tenant):
        orders.order_settings.set(tenant, "commission_bp", 150)
        db.session.commit()
    shop = make_shop(tenant, name_zh="老王杂货")
    neighbour = make_shop(tenant, name_zh="隔壁茶叶")
    category = make_category(tenant)
    rice = make_product(shop, category=category, title="五常大米", price=10000, stock=100)
    tea = make_product(neighbour, category=category, title="茶叶", price=5000, stock=100)
    buyer, clerk = make_user(), make_user()
    count = iter(range(1000))

    def sell(paid_at: datetime, quantity: int = 1, product=rice):
        cart = fill(tenant, buyer, {product: quantity})
        with tenant_scope(tenant):
            order = orders.place_order(tenant, buyer.id, cart, f"sale-{next(count)}").orders[0]
            record(order, OrderStatus.paid, paid_at)
            db.session.commit()
        return order

    def refund(order, amount: int, at: datetime):
        with tenant_scope(tenant):
            if order.status == OrderStatus.paid:  # part of an order goes back once it is signed for
                record(order, OrderStatus.delivered, at - timedelta(hours=1))
            returns.refund(order, amount, actor_id=clerk.id, now=at)
            db.session.commit()

    return tenant, shop, neighbour, sell, refund, tea, clerk


def close(tenant, now: datetime, until: date | None = None) -> list[SettlementStatement]:
    with tenant_scope(tenant):
        closed = settlement.close_statements(tenant, until=until, now=now)
        db.session.commit()
    return closed


def statements_of(tenant, shop) -> list[SettlementStatement]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.scalars(select(SettlementStatement).where(SettlementStatement.shop_id == shop.id)
                                       .order_by(SettlementStatement.period_start)))


def weekly(tenant):
    with tenant_scope(tenant):
        settlement.set_period(tenant, "weekly")
        db.session.commit()


# -- periods ------------------------------------------------------------------------------------------------------

def test_weeks_run_monday_to_sunday_on_the_tenants_calendar(street):
    tenant, shop, _neighbour, sell, _refund, _tea, _clerk = street
    weekly(tenant)
    late_sunday = sell(shanghai(2026, 12, 6, 23, 30))  # Sunday 23:30 here, 15:30 UTC
    early_monday = sell(shanghai(2026, 12, 7, 0, 10))  # Monday 00:10 here, still Sunday in UTC

    closed = close(tenant, now=shanghai(2026, 12, 15, 1, 0))  # a Tuesday: two weeks have ended

    assert [(s.period_start, s.period_end) for s in closed] == [
        (date(2026, 11, 30), date(2026, 12, 6)), (date(2026, 12, 7), date(2026, 12, 13))]
    first, second, current = statements_of(tenant, shop)
    assert (first.orders_paid, first.paid, first.commission, first.net_due) == (1, 10000, 150, 9850)
    assert (second.orders_paid, second.paid) == (1, 10000)
    assert [e.order_number for e in settlement.statement_detail(tenant, shop, first).ledger.entries] == [
        late_sunday.number]
    assert [e.order_number for e in settlement.statement_detail(tenant, shop, second).ledger.entries] == [
        early_monday.number]
    # The week in progress has its open statement, figures not frozen yet.
    assert (current.status, current.period_start, current.period_end) == ("open", date(2026, 12, 14),
                                                                          date(2026, 12, 20))
    assert current.net_due == 0 and current.closed_at is None


def test_months_close_the_day_after_they_end(street):
    tenant, shop, _neighbour, sell, _refund, _tea, _clerk = street
    sell(shanghai(2026, 12, 31, 23, 30))
    sell(shanghai(2027, 1, 1, 0, 10), quantity=2)

    assert close(tenant, now=shanghai(2026, 12, 31, 23, 59)) == []  # December has not ended here yet
    closed = close(tenant, now=shanghai(2027, 1, 1, 0, 20))

    assert [(s.period_start, s.period_end, s.paid) for s in closed] == [(date(2026, 12, 1), date(2026, 12, 31),
                                                                         10000)]
    december, january = statements_of(tenant, shop)
    assert (january.status, january.period_end) == ("open", date(2027, 1, 31))
    with tenant_scope(tenant):
        live = settlement.statement_detail(tenant, shop, january).figures
    assert (live.orders_paid, live.paid) == (1, 20000)


def test_a_change_of_period_starts_with_the_next_statement_and_leaves_no_gap(street):
    tenant, shop, _neighbour, sell, _refund, _tea, _clerk = street
    sell(shanghai(2026, 12, 10, 9, 0))
    close(tenant, now=shanghai(2027, 1, 2, 9, 0))  # December closed, January open (monthly)
    weekly(tenant)
    sell(shanghai(2027, 1, 20, 9, 0))

    close(tenant, now=shanghai(2027, 2, 10, 9, 0))

    periods = [(s.period_start, s.period_end, s.status) for s in statements_of(tenant, shop)]
    # January was already open as a month when the setting changed: it stays a month; then Monday-weeks
    # from 1 February (a Monday), the first of them possibly short.
    assert periods == [(date(2026, 12, 1), date(2026, 12, 31), "closed"),
                       (date(2027, 1, 1), date(2027, 1, 31), "closed"),
                       (date(2027, 2, 1), date(2027, 2, 7), "closed"),
                       (date(2027, 2, 8), date(2027, 2, 14), "open")]
    for before, after in zip(periods, periods[1:], strict=False):
        assert after[0] == before[1] + timedelta(days=1)


def test_a_shop_that_never_sold_has_no_statements(street):
    tenant, _shop, neighbour, sell, _refund, _tea, _clerk = street
    sell(shanghai(2026, 12, 10, 9, 0))
    close(tenant, now=shanghai(2027, 1, 2, 9, 0))
    assert statements_of(tenant, neighbour) == []


def test_an_unknown_period_is_refused(street):
    tenant = street[0]
    with tenant_scope(tenant), pytest.raises(settlement.SettlementError) as refused:
        settlement.set_period(tenant, "daily")
    assert refused.value.code == "unknown_period"


# -- closing ------------------------------------------------------------------------------------------------------

def test_closing_freezes_the_figures_and_a_later_refund_goes_in_the_next_statement(street):
    tenant, shop, _neighbour, sell, refund, _tea, _clerk = street
    december_order = sell(shanghai(2026, 12, 10, 9, 0), quantity=2)
    close(tenant, now=shanghai(2027, 1, 1, 8, 0))
    frozen = statements_of(tenant, shop)[0]
    assert (frozen.status, frozen.paid, frozen.refunded, frozen.net_due) == ("closed", 20000, 0, 20000 - 300)

    refund(december_order, 5000, shanghai(2027, 1, 5, 10, 0))  # after December was closed
    close(tenant, now=shanghai(2027, 2, 1, 8, 0))

    december, january, _february = statements_of(tenant, shop)
    assert (december.paid, december.refunded, december.net_due) == (20000, 0, 19700)
    # Pro rata: 5000 of 20000 gives back 75 of the 300 commission.
    assert (january.orders_paid, january.refunded, january.commission_returned, january.net_due) == (
        0, 5000, 75, -5000 + 75)
    with tenant_scope(tenant):
        assert settlement.statement_detail(tenant, shop, december).drift == []


def test_closing_twice_changes_nothing(street):
    tenant, shop, _neighbour, sell, _refund, _tea, _clerk = street
    sell(shanghai(2026, 12, 10, 9, 0))
    now = shanghai(2027, 1, 2, 9, 0)
    assert len(close(tenant, now=now)) == 1
    before = database_rows()

    assert close(tenant, now=now) == []
    assert close(tenant, now=now + timedelta(days=1)) == []  # a day later: nothing more has ended
    assert database_rows() == before


def test_until_closes_only_the_periods_ended_by_then(street):
    tenant, shop, _neighbour, sell, _refund, _tea, _clerk = street
    weekly(tenant)
    sell(shanghai(2026, 12, 1, 9, 0))
    closed = close(tenant, now=shanghai(2026, 12, 30, 9, 0), until=date(2026, 12, 14))
    assert [s.period_end for s in closed] == [date(2026, 12, 6), date(2026, 12, 13)]
    assert len(statements_of(tenant, shop)) == 2  # no open statement for a week that is over
    # A day after today cannot close a period still running.
    close(tenant, now=shanghai(2026, 12, 30, 9, 0), until=date(2027, 6, 1))
    assert statements_of(tenant, shop)[-1].period_end == date(2027, 1, 3)
    assert statements_of(tenant, shop)[-1].status == "open"


def test_a_negative_net_is_kept_and_said(street):
    tenant, shop, _neighbour, sell, refund, _tea, _clerk = street
    order = sell(shanghai(2026, 12, 10, 9, 0))
    close(tenant, now=shanghai(2027, 1, 1, 8, 0))
    refund(order, 10000, shanghai(2027, 1, 3, 10, 0))  # the whole order back in January, nothing sold then
    close(tenant, now=shanghai(2027, 2, 1, 8, 0))

    january = statements_of(tenant, shop)[1]
    assert january.net_due == -10000 + 150
    with tenant_scope(tenant):
        rows = csv_rows(settlement.statement_csv(shop, settlement.statement_detail(tenant, shop, january)))
    summary = {row[0]: row[1] for row in rows if len(row) == 2}
    assert summary["应结金额（元）"] == "-98.50"
    assert summary["说明"] == "本期退款多于收入，应结金额为负：店铺应付平台 98.50 元。"


# -- payouts ------------------------------------------------------------------------------------------------------

@pytest.fixture
def closed_december(street):
    tenant, shop, _neighbour, sell, _refund, _tea, clerk = street
    sell(shanghai(2026, 12, 10, 9, 0))
    close(tenant, now=shanghai(2027, 1, 1, 8, 0))
    december, january = statements_of(tenant, shop)
    return tenant, shop, december, january, clerk


def pay(tenant, shop, statement, **kw):
    with tenant_scope(tenant):
        row = db.session.scalar(select(SettlementStatement).where(SettlementStatement.id == statement.id)
                                .with_for_update())
        settlement.record_payout(tenant, shop, row, **{"now": shanghai(2027, 1, 4, 10, 0), **kw})
        db.session.commit()
    return row


def test_a_manual_payout_settles_the_statement_with_its_reference(closed_december):
    tenant, shop, december, _january, clerk = closed_december
    pay(tenant, shop, december, reference=" 工行 2027010400123 ", paid_on=date(2027, 1, 4), actor_id=clerk.id)

    settled = statements_of(tenant, shop)[0]
    assert settled.status == StatementStatus.settled
    assert (settled.payout_provider, settled.payout_reference, settled.paid_on) == (
        "manual", "工行 2027010400123", date(2027, 1, 4))
    assert settled.settled_by == clerk.id and settled.settled_at == shanghai(2027, 1, 4, 10, 0)
    assert settled.net_due == 9850  # the figures do not move


@pytest.mark.parametrize(("which", "kw", "code", "message"), [
    ("january", {"reference": "X1", "paid_on": date(2027, 1, 4)}, "statement_open", "这一期还没有结束结账"),
    ("december", {"reference": "   ", "paid_on": date(2027, 1, 4)}, "reference_required", "请填写银行转账的凭证号"),
    ("december", {"reference": "A" * 101, "paid_on": date(2027, 1, 4)}, "reference_too_long", "最多 100 个字符"),
    ("december", {"reference": "A\nB", "paid_on": date(2027, 1, 4)}, "reference_unprintable", "控制字符"),
    ("december", {"reference": "A1", "paid_on": None}, "date_required", "请填写转账日期"),
    ("december", {"reference": "A1", "paid_on": date(2027, 1, 5)}, "date_in_future", "不能晚于今天"),
])
def test_refused_payouts_say_why_and_write_nothing(closed_december, which, kw, code, message):
    tenant, shop, december, january, clerk = closed_december
    before = database_rows()
    with pytest.raises(settlement.SettlementError) as refused:
        pay(tenant, shop, january if which == "january" else december, actor_id=clerk.id, **kw)
    assert refused.value.code == code and message in str(refused.value)
    db.session.rollback()
    assert database_rows() == before


def test_a_second_payout_is_refused(closed_december):
    tenant, shop, december, _january, clerk = closed_december
    pay(tenant, shop, december, reference="工行-1", paid_on=date(2027, 1, 4), actor_id=clerk.id)
    before = database_rows()
    with pytest.raises(settlement.SettlementError) as refused:
        pay(tenant, shop, december, reference="工行-2", paid_on=date(2027, 1, 4), actor_id=clerk.id)
    assert refused.value.code == "already_settled" and "工行-1" in str(refused.value)
    db.session.rollback()
    assert database_rows() == before


def test_the_payout_registry_knows_manual_and_refuses_strangers(app_ctx):
    assert payouts.payout_provider_class("manual") is payouts.ManualPayout
    with pytest.raises(payouts.PayoutLoadError, match="unknown payout provider"):
        payouts.payout_provider_class("stripe_connect")
    with pytest.raises(payouts.PayoutLoadError, match="no option"):
        payouts.check_options(payouts.ManualPayout, {"account": "x"})


def test_an_unknown_payout_provider_in_the_settings_is_a_clear_refusal(closed_december):
    tenant, shop, december, _january, clerk = closed_december
    with tenant_scope(tenant):
        settlement.settlement_settings.set(tenant, "payout", "stripe_connect")
        db.session.commit()
    with pytest.raises(settlement.SettlementError) as refused:
        pay(tenant, shop, december, reference="X", paid_on=date(2027, 1, 4))
    assert refused.value.code == "payout_provider" and "stripe_connect" in str(refused.value)
    db.session.rollback()


# -- exports ------------------------------------------------------------------------------------------------------

def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the byte-order mark
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


@pytest.fixture
def settled_december(street):
    tenant, shop, _neighbour, sell, refund, _tea, clerk = street
    with tenant_scope(tenant):
        shop.name_zh = "=老王杂货"  # a name a spreadsheet would run as a formula
        db.session.commit()
    first = sell(shanghai(2026, 12, 1, 0, 30))
    second = sell(shanghai(2026, 12, 10, 9, 0), quantity=2)
    refund(second, 7000, shanghai(2026, 12, 12, 10, 0))
    close(tenant, now=shanghai(2027, 1, 1, 8, 0))
    december = statements_of(tenant, shop)[0]
    pay(tenant, shop, december, reference="工行 2027010400123", paid_on=date(2027, 1, 4), actor_id=clerk.id)
    with tenant_scope(tenant):
        detail = settlement.statement_detail(tenant, shop, statements_of(tenant, shop)[0])
    return tenant, shop, detail, first, second


def test_the_csv_has_the_frozen_totals_the_payout_and_the_lines(settled_december):
    tenant, shop, detail, first, second = settled_december
    with tenant_scope(tenant):
        rows = csv_rows(settlement.statement_csv(shop, detail))
    blank = rows.index([])
    summary = {row[0]: row[1] for row in rows[:blank]}
    assert summary["店铺"] == "'=老王杂货"
    assert summary["结算期间"] == "2026-12-01 — 2026-12-31"
    assert summary["状态"] == "已付款"
    assert (summary["付款订单数"], summary["付款金额（元）"], summary["退款金额（元）"]) == ("2", "300.00", "70.00")
    assert (summary["佣金（元）"], summary["退还佣金（元）"], summary["应结金额（元）"]) == ("4.50", "1.05", "226.55")
    assert (summary["付款方式"], summary["付款凭证号"], summary["转账日期"]) == (
        "人工转账", "工行 2027010400123", "2027-01-04")
    assert "说明" not in summary
    assert rows[blank + 1] == ["日期", "类型", "订单号", "金额（元）", "佣金（元）", "应结（元）"]
    assert rows[blank + 2:] == [["2026-12-01", "付款", first.number, "100.00", "1.50", "98.50"],
                                ["2026-12-10", "付款", second.number, "200.00", "3.00", "197.00"],
                                ["2026-12-12", "退款", second.number, "-70.00", "-1.05", "-68.95"]]


def test_the_xlsx_opens_with_numbers_in_yuan(settled_december):
    tenant, shop, detail, first, second = settled_december
    with tenant_scope(tenant):
        data = settlement.statement_xlsx(shop, detail)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["结算单", "明细"]
    summary = {row[0]: row[1] for row in book["结算单"].iter_rows(values_only=True)}
    assert summary["店铺"] == "'=老王杂货"  # text, not a formula
    assert summary["付款订单数"] == 2
    assert float(summary["应结金额（元）"]) == pytest.approx(226.55)
    assert book["结算单"]["B12"].number_format == "0.00"
    assert summary["付款凭证号"] == "工行 2027010400123"
    lines = list(book["明细"].iter_rows(values_only=True))
    assert lines[0] == ("日期", "类型", "订单号", "金额（元）", "佣金（元）", "应结（元）")
    assert [(r[0], r[1], r[2]) for r in lines[1:]] == [("2026-12-01", "付款", first.number),
                                                       ("2026-12-10", "付款", second.number),
                                                       ("2026-12-12", "退款", second.number)]
    assert [float(r[5]) for r in lines[1:]] == pytest.approx([98.50, 197.00, -68.95])


# -- the daily job ------------------------------------------------------------------------------------------------

def test_the_job_closes_ended_periods_per_tenant_and_a_second_run_closes_nothing(app, street, make_tenant):
    tenant, shop, _neighbour, sell, _refund, _tea, _clerk = street
    quiet = make_tenant(slug="quiet-street")  # nothing sold there: not a word about it
    sell(utcnow() - timedelta(days=40))  # a month that has certainly ended, whatever today is

    first = app.test_cli_runner().invoke(args=["payments", "statements"])
    assert first.exit_code == 0, first.output
    assert f"{tenant.slug}: #" in first.output and shop.slug in first.output
    assert f"{tenant.slug}: closed 1" in first.output or f"{tenant.slug}: closed 2" in first.output
    assert quiet.slug not in first.output

    second = app.test_cli_runner().invoke(args=["payments", "statements"])
    assert second.exit_code == 0, second.output
    assert second.output.strip() == "statements closed: 0"


def test_the_job_refuses_an_unreadable_day(app, street):
    result = app.test_cli_runner().invoke(args=["payments", "statements", "--until", "31/12/2026"])
    assert result.exit_code == 2
    assert "日期格式不正确" in result.output
