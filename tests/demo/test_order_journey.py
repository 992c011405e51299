"""The orders issue's "done means", on the demo and through the web pages only: a resident buys from three shops
of 德化步行街 in one checkout (pickup, pay at the shop), each merchant confirms the payment, accepts, prepares,
hands over and completes; the resident returns one item within the 7 days and is refunded; the shop's ledger
shows the sale, the refund and the platform's commission."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from sqlalchemy import select

from marketplace.catalog.models import Product, Variant
from marketplace.extensions import db
from marketplace.orders.models import OrderGroup, OrderStatus
from marketplace.orders.returns import Refund
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants
from tests.fixtures.factories import pickup_code

STREET = "dehua-street"
#: The three shops bought from, each with its demo owner's login.
SHOPS = {"xianguofang": "13903710101", "songming-tea": "13903710104",
         "taxia-books": "gao.yuan@taxia-books.shangdu.example"}
RESIDENT = "li.mingxuan@shangdu.example"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)


@dataclass(frozen=True)
class Item:
    variant_id: int
    product_id: int
    title: str
    price: int


def _something_to_buy(shop_slug: str) -> Item:
    """The shop's first product on sale with stock, as a resident would pick from its page."""
    with all_tenants():
        variant = db.session.scalar(
            select(Variant).join(Product).join(Shop, Product.shop_id == Shop.id)
            .where(Shop.slug == shop_slug, Product.status == "active", Variant.stock >= 2)
            .order_by(Product.id, Variant.id))
        return Item(variant.id, variant.product_id, variant.product.title, variant.price)


def test_a_resident_buys_from_three_shops_returns_one_item_and_the_ledger_shows_it(demo_city, make_client):
    operator = make_client()
    operator.login(f"operator@{STREET}.shangdu.example", "operator-demo-2026")
    response = operator.submit(f"/operator/{STREET}/order-settings",
                               {"commission_percent": "2.00", "payment_minutes": "1440", "respond_hours": "48"},
                               page_url=f"/operator/{STREET}/")
    assert response.status_code == 303

    resident = make_client()
    resident.login(RESIDENT, "resident-demo-2026")
    bought = {slug: _something_to_buy(slug) for slug in SHOPS}
    for variant in bought.values():
        response = resident.submit(f"/t/{STREET}/cart/add", {"variant_id": str(variant.variant_id), "quantity": "2"},
                                   page_url=f"/t/{STREET}/p/{variant.product_id}")
        assert response.status_code == 303
    review = _text(resident.get(f"/t/{STREET}/checkout"))
    for variant in bought.values():
        assert variant.title in review
    response = resident.submit(f"/t/{STREET}/checkout", {
        "idempotency_key": _hidden(review, "idempotency_key"), "fingerprint": _hidden(review, "fingerprint"),
        "payment": "offline:pay_at_stall", "invoice": "", "confirm_exclusions": "y"}, page_url=f"/t/{STREET}/checkout")
    assert response.status_code == 303, _text(response)
    confirmation = response.headers["Location"]
    page = _text(resident.get(confirmation))
    assert "下单成功" in page

    with all_tenants():
        group = db.session.scalar(select(OrderGroup).order_by(OrderGroup.id.desc()))
        orders = {order.shop.slug: order for order in group.orders}
        assert set(orders) == set(SHOPS)
        # Two units of each at the list price, 2 % commission per order, rounded half up.
        for slug, order in orders.items():
            assert order.total == 2 * bought[slug].price
            assert order.commission == (order.total * 200 + 5000) // 10000

    # Each merchant takes the money at the counter, accepts, prepares, hands over and completes.
    merchants = {}
    for slug, login in SHOPS.items():
        merchant = merchants[slug] = make_client()
        merchant.login(login, "merchant-demo-2026")
        page_url = f"/merchant/{STREET}/{slug}/orders/{orders[slug].number}"
        for action in ("confirm_payment", "accept", "prepared", "picked_up", "complete"):
            # Handing over: the merchant types the code the resident shows from the order page.
            form = {"code": pickup_code(orders[slug].number)} if action == "picked_up" else {}
            response = merchant.submit(f"{page_url}/{action}", form, page_url=page_url)
            assert response.status_code == 303
    with all_tenants():
        db.session.expire_all()
        assert {order.status for order in group.orders} == {OrderStatus.completed}
        assert group.paid_at is not None

    # The resident sends one packet of tea back within the 7 days, without giving a reason.
    tea = orders["songming-tea"]
    with all_tenants():
        tea_line = tea.lines[0].id
    response = resident.submit(f"{confirmation}/returns", {
        "order": tea.number, f"qty_{tea_line}": "1", "kind": "no_reason"}, page_url=confirmation)
    assert response.status_code == 303
    assert "退货申请已提交" in _text(resident.get(confirmation))

    merchant = merchants["songming-tea"]
    returns_page = _text(merchant.get(f"/merchant/{STREET}/songming-tea/returns"))
    return_id = re.search(rf"/merchant/{STREET}/songming-tea/returns/(\d+)", returns_page).group(1)
    detail = f"/merchant/{STREET}/songming-tea/returns/{return_id}"
    for action, data in (("approve", {"return_address": "德化街 32 号 宋茗茶庄 0371-66661234"}),
                         ("receive", {}), ("refund", {})):
        assert merchant.submit(f"{detail}/{action}", data, page_url=detail).status_code == 303
    unit_price = bought["songming-tea"].price
    assert "已退款" in _text(merchant.get(detail))
    with all_tenants():
        [refund] = db.session.scalars(select(Refund).where(Refund.order_id == tea.id)).all()
        assert refund.amount == unit_price

    # The ledger: the sale, the refund, the commission kept on what was not refunded, and the net due.
    ledger = _text(merchant.get(f"/merchant/{STREET}/songming-tea/ledger"))
    commission = (2 * unit_price * 200 + 5000) // 10000
    given_back = (commission + 1) // 2  # half the order went back: half its commission, rounded half up
    net = 2 * unit_price - unit_price - (commission - given_back)
    for figure in (2 * unit_price, unit_price, commission - given_back, net):
        assert f"{figure // 100:,}.{figure % 100:02d}" in ledger, figure
    assert "佣金" in ledger
