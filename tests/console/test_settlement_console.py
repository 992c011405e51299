"""Settlement statements in the consoles, used the way owners and operators use them: the owner reads the
shop's statements and downloads them, the operator sees every shop's, records the bank transfer of a closed one,
and chooses weekly or monthly statements. Staff, other shops and other tenants see none of it.

The world (tests/console/conftest.py): tenant A with shops X (owner, staff) and Y; tenant B with shop Z (owner_z).
"""

from __future__ import annotations

import csv
import html as html_lib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from marketplace.payments import settlement
from marketplace.payments.settlement import SettlementStatement
from marketplace.tenancy.context import tenant_scope
from tests.console.conftest import database_rows

_keys = iter(range(1, 10**6))


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def shanghai(*args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def today_in(tenant) -> str:
    return datetime.now(UTC).astimezone(ZoneInfo(tenant.timezone)).date().isoformat()


def sold(tenant, buyer, product, paid_at: datetime):
    """One order of ``product``, paid at ``paid_at`` (a past moment the state machine cannot stamp)."""
    with tenant_scope(tenant):
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        orders.set_line(cart, db.session.scalar(select(Variant.id).where(Variant.product_id == product.id)), 1)
        order = orders.place_order(tenant, buyer.id, cart, f"statements-{next(_keys)}").orders[0]
        db.session.add(OrderEvent(tenant_id=tenant.id, order_id=order.id, at=paid_at, from_status=order.status,
                                  to_status=OrderStatus.paid))
        order.status = OrderStatus.paid
        db.session.commit()
        return order


@dataclass
class Books:
    x_october: int
    x_november: int  # open
    y_october: int
    z_october: int  # tenant B's
    x_order: str


@pytest.fixture
def books(app_ctx, world, make_category, make_product) -> Books:
    """October sales in X, Y and Z, closed on 2 November; November open."""
    buyer = world.users["resident"]
    with tenant_scope(world.a):
        orders.order_settings.set(world.a, "commission_bp", 150)
        db.session.commit()
    a_goods, b_goods = make_category(world.a), make_category(world.b)
    apples = make_product(world.x, category=a_goods, title="红富士苹果", price=10000, stock=10)
    tea = make_product(world.y, category=a_goods, title="信阳毛尖", price=12800, stock=10)
    cloth = make_product(world.z, category=b_goods, title="棉布", price=3000, stock=10)
    x_order = sold(world.a, buyer, apples, shanghai(2026, 10, 10, 9, 0))
    sold(world.a, buyer, tea, shanghai(2026, 10, 12, 9, 0))
    sold(world.b, buyer, cloth, shanghai(2026, 10, 15, 9, 0))
    for tenant in (world.a, world.b):
        with tenant_scope(tenant):
            settlement.close_statements(tenant, now=shanghai(2026, 11, 2, 8, 0))
            db.session.commit()
    ids = {}
    for tenant, shop in ((world.a, world.x), (world.a, world.y), (world.b, world.z)):
        with tenant_scope(tenant):
            for s in db.session.scalars(select(SettlementStatement).where(SettlementStatement.shop_id == shop.id)):
                ids[(shop.id, s.period_start.month)] = s.id
    return Books(ids[(world.x.id, 10)], ids[(world.x.id, 11)], ids[(world.y.id, 10)], ids[(world.z.id, 10)],
                 x_order.number)


def statement(tenant, statement_id: int) -> SettlementStatement:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.scalar(select(SettlementStatement).where(SettlementStatement.id == statement_id))


def merchant_url(world, tail: str = "", *, tenant=None, shop=None) -> str:
    return f"/merchant/{(tenant or world.a).slug}/{(shop or world.x).slug}/statements{tail}"


def operator_url(world, tail: str = "", *, tenant=None) -> str:
    return f"/operator/{(tenant or world.a).slug}/statements{tail}"


# -- the merchant's pages -----------------------------------------------------------------------------------------

def test_the_owner_sees_the_statements_with_their_status_and_net_due(as_role, world, books):
    owner = as_role("owner")
    listing = owner.get(merchant_url(world))
    assert listing.status_code == 200
    page = text(listing)
    assert "2026-10-01 — 2026-10-31" in page and "待付款" in page
    assert "¥98.50" in page  # 100.00 less 1.50 % commission
    assert "2026-11-01 — 2026-11-30" in page and "本期进行中" in page
    assert "信阳毛尖" not in page and "¥126.08" not in page  # Y's statement is not X's

    detail = text(owner.get(merchant_url(world, f"/{books.x_october}")))
    assert books.x_order in detail and "¥100.00" in detail and "¥1.50" in detail and "¥98.50" in detail
    assert f"statements/{books.x_october}.csv" in detail and f"statements/{books.x_october}.xlsx" in detail

    # The shop page leads there for owners.
    assert merchant_url(world) in text(owner.get(f"/merchant/{world.a.slug}/{world.x.slug}/"))


def test_the_open_statement_shows_live_figures_and_a_negative_net_is_said(as_role, world, books):
    with tenant_scope(world.a):
        order = db.session.scalar(select(Order).where(Order.number == books.x_order))
        # The whole October order, refunded in November (a fixed day: the test must not depend on today's date).
        returns.refund(order, order.total, actor_id=world.users["owner"].id, now=shanghai(2026, 11, 20, 10, 0))
        db.session.commit()
    page = text(as_role("owner").get(merchant_url(world, f"/{books.x_november}")))
    assert "本期尚未结束" in page
    assert "-¥98.50" in page or "¥-98.50" in page
    assert "店铺应付平台 98.50 元" in page
    # October stays as it was closed.
    assert statement(world.a, books.x_october).net_due == 9850


def test_the_downloads_are_the_statement_in_csv_and_xlsx(as_role, world, books):
    owner = as_role("owner")
    response = owner.get(merchant_url(world, f"/{books.x_october}.csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    summary = {row[0]: row[1] for row in rows if len(row) == 2}
    assert summary["店铺"] == "鲜果坊" and summary["应结金额（元）"] == "98.50" and summary["状态"] == "待付款"
    assert ["2026-10-10", "付款", books.x_order, "100.00", "1.50", "98.50"] in rows

    response = owner.get(merchant_url(world, f"/{books.x_october}.xlsx"))
    assert response.status_code == 200 and response.mimetype == settlement.XLSX_MIMETYPE
    book = load_workbook(io.BytesIO(response.get_data()))
    assert {row[0]: row[1] for row in book["结算单"].iter_rows(values_only=True)}["店铺"] == "鲜果坊"
    assert list(book["明细"].iter_rows(values_only=True))[1][2] == books.x_order

    assert owner.get(merchant_url(world, f"/{books.x_october}.pdf")).status_code == 404


@pytest.mark.parametrize("tail", ["", "/{id}", "/{id}.csv", "/{id}.xlsx"])
def test_staff_and_residents_do_not_see_statements(as_role, world, books, tail):
    """Statements are the owner's: staff keep the ledger for the day's work (see console/settlement.py)."""
    url = merchant_url(world, tail.format(id=books.x_october))
    assert as_role("staff").get(url).status_code == 403
    assert as_role("resident").get(url).status_code == 403
    anonymous = as_role("anonymous").get(url)
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    assert as_role("staff").get(f"/merchant/{world.a.slug}/{world.x.slug}/ledger").status_code == 200


def test_another_shops_or_tenants_statement_is_not_found(as_role, world, books):
    owner, admin, owner_z = as_role("owner"), as_role("admin"), as_role("owner_z")
    # Y's statement under X's address; X's under Z's (same slug, tenant B), for Z's owner and for an admin.
    for browser, url in ((owner, merchant_url(world, f"/{books.y_october}")),
                         (owner, merchant_url(world, f"/{books.y_october}.csv")),
                         (admin, merchant_url(world, f"/{books.x_october}", tenant=world.b, shop=world.z)),
                         (owner_z, merchant_url(world, f"/{books.x_october}.xlsx", tenant=world.b, shop=world.z)),
                         (admin, operator_url(world, f"/{books.x_october}", tenant=world.b)),
                         (admin, operator_url(world, f"/{books.z_october}")),
                         (admin, operator_url(world, f"/{books.z_october}.csv")),
                         (owner, merchant_url(world, "/99999999999999999999"))):
        assert browser.get(url).status_code == 404, url
    assert owner.get(merchant_url(world, shop=world.y)).status_code == 403  # not X's owner's shop
    before = database_rows()
    crossed = admin.submit(operator_url(world, f"/{books.x_october}/payout", tenant=world.b),
                           {"reference": "越界", "paid_on": today_in(world.a)}, page_url=operator_url(world))
    assert crossed.status_code == 404 and database_rows() == before


# -- the operator's pages ------------------------------------------------------------------------------------------

def test_the_operator_sees_every_shops_statements_and_filters_them(as_role, world, books):
    operator = as_role("operator")
    page = text(operator.get(operator_url(world)))
    assert "鲜果坊" in page and "老茶馆" in page and "服装批发" not in page
    assert f"#{books.x_october}" in page and f"#{books.y_october}" in page and f"#{books.z_october}" not in page
    assert "待付款合计 ¥224.58" in page  # 98.50 + 126.08

    open_only = text(operator.get(operator_url(world, "?status=open")))
    assert f"#{books.x_november}" in open_only and f"#{books.x_october}" not in open_only
    bad = operator.get(operator_url(world, "?status=paid-twice"))
    assert bad.status_code == 400 and "筛选条件无效" in text(bad)
    assert as_role("owner").get(operator_url(world)).status_code == 404
    assert as_role("operator").get(operator_url(world, tenant=world.b)).status_code == 404
    assert operator_url(world) in text(operator.get(f"/operator/{world.a.slug}/"))


def test_the_operator_records_a_bank_transfer_and_the_statement_is_settled(as_role, world, books):
    operator = as_role("operator")
    detail = operator_url(world, f"/{books.x_october}")
    form_page = text(operator.get(detail))
    assert "记录付款" in form_page and "银行转账凭证号" in form_page
    day = today_in(world.a)

    response = operator.submit(f"{detail}/payout", {"reference": "工行 2026110200123", "paid_on": day},
                               page_url=detail)

    assert response.status_code == 303
    settled = statement(world.a, books.x_october)
    assert (settled.status, settled.payout_reference, settled.paid_on.isoformat()) == (
        "settled", "工行 2026110200123", day)
    assert settled.settled_by == world.users["operator"].id
    page = text(operator.get(detail))
    assert "已付款" in page and "工行 2026110200123" in page and "银行转账凭证号" not in page
    # The owner sees it paid, with the reference to find the transfer in the bank statement.
    mine = text(as_role("owner").get(merchant_url(world, f"/{books.x_october}")))
    assert "已付款" in mine and "工行 2026110200123" in mine and "人工转账" in mine


@pytest.mark.parametrize(("which", "form", "message"), [
    ("x_october", {"reference": "", "paid_on": "{today}"}, "请填写银行转账的凭证号"),
    ("x_october", {"reference": "A" * 101, "paid_on": "{today}"}, "凭证号最多 100 个字符"),
    ("x_october", {"reference": "工行-1", "paid_on": "2026/11/02"}, "日期格式不正确"),
    ("x_october", {"reference": "工行-1", "paid_on": "2999-01-01"}, "转账日期不能晚于今天"),
    ("x_november", {"reference": "工行-1", "paid_on": "{today}"}, "这一期还没有结束结账"),
])
def test_a_refused_payout_says_why_and_writes_nothing(as_role, world, books, which, form, message):
    operator = as_role("operator")
    detail = operator_url(world, f"/{getattr(books, which)}")
    before = database_rows()
    response = operator.submit(f"{detail}/payout", {k: v.format(today=today_in(world.a)) for k, v in form.items()},
                               page_url=detail)
    assert response.status_code == 400
    assert message in text(response)
    assert database_rows() == before


def test_a_second_payout_is_refused(as_role, world, books):
    operator = as_role("operator")
    detail = operator_url(world, f"/{books.x_october}")
    day = today_in(world.a)
    assert operator.submit(f"{detail}/payout", {"reference": "工行-1", "paid_on": day},
                           page_url=detail).status_code == 303
    before = database_rows()
    again = operator.submit(f"{detail}/payout", {"reference": "工行-2", "paid_on": day},
                            page_url=operator_url(world))
    assert again.status_code == 400 and "不能重复付款" in text(again) and "工行-1" in text(again)
    assert database_rows() == before


def test_a_payout_without_the_form_token_is_refused(as_role, world, books):
    operator = as_role("operator")
    before = database_rows()
    response = operator.post(operator_url(world, f"/{books.x_october}/payout"),
                                        data={"reference": "工行-1", "paid_on": today_in(world.a)})
    assert response.status_code == 400
    assert database_rows() == before


def test_the_operator_chooses_weekly_statements(as_role, world, books):
    operator = as_role("operator")
    response = operator.submit(operator_url(world, "/period"), {"period": "weekly"}, page_url=operator_url(world))
    assert response.status_code == 303
    with tenant_scope(world.a):
        assert settlement.period_setting(world.a) == "weekly"
    refused = operator.submit(operator_url(world, "/period"), {"period": "daily"}, page_url=operator_url(world),
                              follow_redirects=True)
    assert "结算周期只能是每周或每月" in text(refused)
    with tenant_scope(world.a):
        assert settlement.period_setting(world.a) == "weekly"
