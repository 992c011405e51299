"""Returns, refunds and the ledger in the merchant console, the way buyers and merchants use them: the buyer asks
on the order page, the merchant answers, takes the goods back and refunds, and the ledger and its CSV follow.

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
from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.returns import ReturnRequest
from marketplace.tenancy.context import tenant_scope

S = OrderStatus
_keys = iter(range(1, 10**6))


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


@dataclass
class Placed:
    number: str  # the group's
    orders: dict  # shop id → PlacedOrder


@dataclass
class PlacedOrder:
    number: str
    lines: dict  # title → order line id


def picked_up(tenant, buyer, lines: dict) -> Placed:
    """One checkout, paid, prepared and picked up today: its goods may be returned for seven days."""
    with tenant_scope(tenant):
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        for product, quantity in lines.items():
            variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
            orders.set_line(cart, variant.id, quantity)
        group = orders.place_order(tenant, buyer.id, cart, f"returns-{next(_keys)}")
        for order in group.orders:
            for step in (S.paid, S.accepted, S.ready_for_pickup, S.picked_up):
                orders.transition(order, step)
        placed = Placed(group.number, {o.shop_id: PlacedOrder(o.number, {line.title: line.id for line in o.lines})
                                       for o in group.orders})
        db.session.commit()
        return placed


def load(tenant, number: str) -> Order:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.scalar(select(Order).where(Order.number == number))


def the_return(tenant) -> ReturnRequest:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.scalar(select(ReturnRequest).order_by(ReturnRequest.id.desc()))


@pytest.fixture
def goods(app_ctx, world, make_category, make_product):
    a_goods = make_category(world.a, product_type="general.goods")
    return {"apples": make_product(world.x, category=a_goods, title="红富士苹果", price=2990, stock=10),
            "pears": make_product(world.x, category=a_goods, title="砀山梨", price=1500, stock=10),
            "tea": make_product(world.y, category=a_goods, title="信阳毛尖", price=12800, stock=5)}


@pytest.fixture
def bought(world, goods):
    """The resident bought 2 apples and 1 pear from X and tea from Y, and took them home today."""
    return picked_up(world.a, world.users["resident"], {goods["apples"]: 2, goods["pears"]: 1, goods["tea"]: 1})


def x_order(world, group: Placed) -> PlacedOrder:
    return group.orders[world.x.id]


def ask_return(browser, world, group, order, quantities: dict, **form):
    page = f"/t/{world.a.slug}/orders/{group.number}"
    data = {"order": order.number, **{f"qty_{line_id}": str(n) for line_id, n in quantities.items()}, **form}
    return browser.submit(f"{page}/returns", data, page_url=page)


def returns_url(world, return_id=None, shop=None, tenant=None) -> str:
    base = f"/merchant/{(tenant or world.a).slug}/{(shop or world.x).slug}/returns"
    return base if return_id is None else f"{base}/{return_id}"


def act(browser, world, return_id, action, **form):
    url = returns_url(world, return_id)
    return browser.submit(f"{url}/{action}", form, page_url=url)


def today_in(tenant) -> str:
    return datetime.now(UTC).astimezone(ZoneInfo(tenant.timezone)).date().isoformat()


# -- the whole path ---------------------------------------------------------------------------------------------

def test_a_return_from_request_to_refund_and_the_ledger_follows(as_role, world, bought):
    resident, staff = as_role("resident"), as_role("staff")
    order = x_order(world, bought)
    apples = order.lines["红富士苹果"]

    # The buyer asks on the order page.
    page = text(resident.get(f"/t/{world.a.slug}/orders/{bought.number}"))
    assert "申请退货" in page
    response = ask_return(resident, world, bought, order, {apples: 2}, kind="no_reason")
    assert response.status_code == 303
    assert "退货申请已提交" in text(resident.get(response.headers["Location"]))
    request = the_return(world.a)
    assert (request.status, request.amount) == ("requested", 2 * 2990)

    # The merchant sees it in the list with the time to answer by.
    listing = text(staff.get(returns_url(world) + "?status=requested"))
    assert f"#{request.id}" in listing and order.number in listing and "待商家处理" in listing
    assert request.respond_by.astimezone(ZoneInfo(world.a.timezone)).strftime("%Y-%m-%d %H:%M") in listing

    # Approval needs an address; then the goods come back and the money goes back.
    response = act(staff, world, request.id, "approve", return_address="  ")
    assert "请填写退货地址" in text(staff.get(response.headers["Location"]))
    assert the_return(world.a).status == "requested"
    act(staff, world, request.id, "approve", return_address="德化街 18 号 鲜果坊 0371-66668888")
    assert the_return(world.a).status == "approved"
    buyer_page = text(resident.get(f"/t/{world.a.slug}/orders/{bought.number}"))
    assert "德化街 18 号 鲜果坊 0371-66668888" in buyer_page and "已同意退货" in buyer_page
    act(staff, world, request.id, "receive")
    assert the_return(world.a).status == "received"
    response = act(staff, world, request.id, "refund")
    assert "已退款 59.80 元" in text(staff.get(response.headers["Location"]))
    assert the_return(world.a).status == "refunded"
    refunded = load(world.a, order.number)
    assert (refunded.refunded, refunded.status) == (5980, S.completed)  # the pear stays sold

    # Refunding twice is refused with a message, not an error.
    response = act(staff, world, request.id, "refund")
    assert response.status_code == 303 and "不能这样处理" in text(staff.get(response.headers["Location"]))
    assert load(world.a, order.number).refunded == 5980

    # The pear too: now the whole order has gone back, and the buyer sees it.
    ask_return(resident, world, bought, order, {order.lines["砀山梨"]: 1})
    second = the_return(world.a)
    act(staff, world, second.id, "approve", return_address="德化街 18 号")
    act(staff, world, second.id, "refund")
    assert load(world.a, order.number).status == S.refunded
    buyer_page = text(resident.get(f"/t/{world.a.slug}/orders/{bought.number}"))
    assert "已退款" in buyer_page and "¥74.80" in buyer_page

    # The ledger of today: one order paid, two refunds, all of X's money back.
    day = today_in(world.a)
    ledger_page = text(staff.get(f"/merchant/{world.a.slug}/{world.x.slug}/ledger?from={day}&to={day}"))
    assert order.number in ledger_page and "¥74.80" in ledger_page
    csv_response = staff.get(f"/merchant/{world.a.slug}/{world.x.slug}/ledger.csv?from={day}&to={day}")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(csv_response.data[3:].decode("utf-8"))))
    kinds = [(row[1], row[3]) for row in rows[1:] if len(row) == 6]
    assert sorted(kinds) == sorted([("付款", "74.80"), ("退款", "-59.80"), ("退款", "-15.00")])
    totals = {row[0]: row[1] for row in rows if len(row) == 2}
    assert totals["退款金额（元）"] == "74.80" and totals["应结金额（元）"] == "0.00"


def test_a_rejection_needs_a_reason_and_the_buyer_sees_it(as_role, world, bought):
    resident, owner = as_role("resident"), as_role("owner")
    order = x_order(world, bought)
    ask_return(resident, world, bought, order, {order.lines["红富士苹果"]: 1})
    request = the_return(world.a)
    response = act(owner, world, request.id, "reject", reason="   ")
    assert "请说明拒绝的理由" in text(owner.get(response.headers["Location"]))
    assert the_return(world.a).status == "requested"
    act(owner, world, request.id, "reject", reason="苹果已经吃了一半")
    assert the_return(world.a).status == "rejected"
    assert "苹果已经吃了一半" in text(resident.get(f"/t/{world.a.slug}/orders/{bought.number}"))
    # A refused request cannot be approved afterwards.
    response = act(owner, world, request.id, "approve", return_address="德化街")
    assert "不能这样处理" in text(owner.get(response.headers["Location"]))


def test_the_list_filters_by_status_and_says_when_the_filter_is_unknown(as_role, world, bought):
    resident, owner = as_role("resident"), as_role("owner")
    order = x_order(world, bought)
    ask_return(resident, world, bought, order, {order.lines["红富士苹果"]: 1})
    first = the_return(world.a)
    act(owner, world, first.id, "reject", reason="不符合退货条件")
    ask_return(resident, world, bought, order, {order.lines["砀山梨"]: 1})
    second = the_return(world.a)
    rejected = text(owner.get(returns_url(world) + "?status=rejected"))
    assert f"#{first.id}<" in rejected and f"#{second.id}<" not in rejected
    response = owner.get(returns_url(world) + "?status=nonsense")
    assert response.status_code == 400 and "没有这种退货状态" in text(response)
    assert f"#{first.id}<" in text(response) and f"#{second.id}<" in text(response)


# -- not found, not allowed ---------------------------------------------------------------------------------------

def test_a_return_of_another_shop_or_tenant_is_not_found(as_role, world, bought, make_user):
    from marketplace.accounts.models import Role
    from tests.fixtures.factories import PASSWORD

    order = x_order(world, bought)
    ask_return(as_role("resident"), world, bought, order, {order.lines["红富士苹果"]: 1})
    request = the_return(world.a)
    make_user("owner-y@example.com", role=Role.merchant_owner, shop=world.y)
    owner_y = as_role("anonymous")
    owner_y.login("owner-y@example.com", PASSWORD)
    assert owner_y.get(returns_url(world, request.id, shop=world.y)).status_code == 404
    y_page = returns_url(world, shop=world.y)
    assert owner_y.submit(f"{y_page}/{request.id}/approve", {"return_address": "x"},
                          page_url=y_page).status_code == 404
    owner_z = as_role("owner_z")
    assert owner_z.get(returns_url(world, request.id, tenant=world.b)).status_code == 404
    z_page = returns_url(world, tenant=world.b)
    assert owner_z.submit(f"{z_page}/{request.id}/refund", {}, page_url=z_page).status_code == 404
    assert the_return(world.a).status == "requested"
    assert as_role("resident").get(returns_url(world, request.id)).status_code == 403
    assert as_role("staff").get(returns_url(world, shop=world.y)).status_code == 403
    assert as_role("staff").get(returns_url(world, 10**30)).status_code == 404
    assert as_role("staff").get(f"/merchant/{world.a.slug}/{world.y.slug}/ledger").status_code == 403


# -- the ledger ---------------------------------------------------------------------------------------------------

def test_the_ledger_defaults_to_the_current_month_and_bad_dates_get_a_message(as_role, world, bought):
    owner = as_role("owner")
    base = f"/merchant/{world.a.slug}/{world.x.slug}/ledger"
    day = today_in(world.a)
    page = text(owner.get(base))
    assert f"{day[:8]}01 — " in page and x_order(world, bought).number in page
    for query in ("from=2026-13-01&to=2026-12-31", "from=yesterday&to=today", "from=2026-12-01",
                  "from=2026-02-30&to=2026-03-01", "from=%00&to=2026-12-01", "from=" + "9" * 500 + "&to=1"):
        response = owner.get(f"{base}?{query}")
        assert response.status_code == 400, query
        assert "日期格式不正确" in text(response)
    response = owner.get(f"{base}?from=2026-12-31&to=2026-12-01")
    assert response.status_code == 400 and "结束日期不能早于开始日期" in text(response)
    response = owner.get(f"{base}?from=2020-01-01&to=2026-12-01")
    assert response.status_code == 400 and "最长一年" in text(response)
    response = owner.get(f"{base}.csv?from=2026-12-31&to=2026-12-01")
    assert response.status_code == 303
    assert "结束日期不能早于开始日期" in text(owner.get(response.headers["Location"]))


def test_the_shop_page_links_to_returns_and_the_ledger(as_role, world):
    page = text(as_role("staff").get(f"/merchant/{world.a.slug}/{world.x.slug}/"))
    assert f"/merchant/{world.a.slug}/{world.x.slug}/returns" in page
    assert f"/merchant/{world.a.slug}/{world.x.slug}/ledger" in page


