"""The printable receipt of a checkout (/t/<tenant>/orders/<group>/receipt): who sold what as registered, the
goods, delivery, totals, refunds and payment, at the tenant's clock — the buyer's alone, linked from the
confirmation page and from /account/orders."""

from __future__ import annotations

import html as html_lib
from datetime import UTC, datetime

import pytest

from marketplace.extensions import db
from marketplace.orders import handling, returns
from marketplace.orders import services as orders
from marketplace.orders.models import OrderStatus
from marketplace.tenancy.context import tenant_scope
from tests.fixtures.factories import PASSWORD
from tests.orders.test_place_order import fill

S = OrderStatus


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


@pytest.fixture
def checkout(make_tenant, make_merchant, make_shop, make_category, make_product, make_user):
    """A paid checkout over two shops, one with a registered merchant; one order picked up and partly refunded."""
    tenant = make_tenant(slug="erqi-road", name_zh="二七路", timezone="Asia/Shanghai")
    fruit = make_shop(tenant, slug="wang-fruit", name_zh="老王水果店", street_number="12", street_side="east",
                      phone="0371-66668888",
                      merchant=make_merchant(legal_name="郑州市二七区老王水果店（个体工商户）",
                                             registration_number="92410103MA40ABCD1X"))
    tea = make_shop(tenant, slug="li-tea", name_zh="李记茶叶", merchant=make_merchant(legal_name="李建国"))
    category = make_category(tenant)
    apples = make_product(fruit, category=category, title="红富士苹果", sku="APL-5KG", price=2990, stock=10)
    tea_leaves = make_product(tea, category=category, title="信阳毛尖", sku="TEA-250", price=12800, stock=5)
    buyer = make_user("buyer@shangdu.example", name="王女士")
    make_user("someone@shangdu.example", name="路人")
    make_tenant(slug="other-market", kind="market", name_zh="别的市场")
    cart = fill(tenant, buyer, {apples: 2, tea_leaves: 1})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "receipt-1",
                                   notes={fruit.id: "开具发票：个人", tea.id: ""})
        group.created_at = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)  # 09:30 in Zhengzhou
        fruit_order = next(order for order in group.orders if order.shop_id == fruit.id)
        for order in group.orders:
            handling.confirm_offline_payment(order, actor_id=None)  # the group is paid once both shops say so
        for step in (S.accepted, S.ready_for_pickup, S.picked_up):
            orders.transition(fruit_order, step)
        returns.refund(fruit_order, 1000, actor_id=None)
        db.session.commit()
        return group.number


def _browser(make_client, login="buyer"):
    browser = make_client()
    browser.login(f"{login}@shangdu.example", PASSWORD)
    return browser


def test_the_receipt_names_the_seller_the_goods_payment_and_refunds(checkout, make_client):
    page = _text(_browser(make_client).get(f"/t/erqi-road/orders/{checkout}/receipt"))
    assert "收据" in page and checkout in page
    assert "郑州市二七区老王水果店（个体工商户）" in page
    assert "统一社会信用代码/注册号" in page and "92410103MA40ABCD1X" in page
    assert "12 号" in page and "0371-66668888" in page
    assert "红富士苹果" in page and "APL-5KG" in page and "¥29.90" in page and "¥59.80" in page
    assert "信阳毛尖" in page and "TEA-250" in page and "¥128.00" in page
    assert "到店自提" in page and "¥187.80" in page  # the checkout's total
    assert "已退款合计" in page and "¥10.00" in page
    assert "线下付款" in page and 'class="payment-status">已付款' in page
    assert "2026-03-01 09:30" in page  # placed at 01:30 UTC, shown on the tenant's clock
    assert "开具发票：个人" in page
    assert "@media print" in page and "打印" in page


def test_the_registration_line_is_left_out_when_the_merchant_has_none(checkout, make_client):
    page = _text(_browser(make_client).get(f"/t/erqi-road/orders/{checkout}/receipt"))
    tea_part = page[page.index("李记茶叶"):]
    assert "李建国" in tea_part and "统一社会信用代码/注册号" not in tea_part


def test_the_receipt_is_linked_from_the_confirmation_page_and_the_order_list(checkout, make_client):
    browser = _browser(make_client)
    link = f'href="/t/erqi-road/orders/{checkout}/receipt"'
    assert link in browser.get(f"/t/erqi-road/orders/{checkout}").get_data(as_text=True)
    assert link in browser.get("/account/orders").get_data(as_text=True)


def test_the_receipt_is_only_the_buyers(checkout, make_client, client):
    url = f"/t/erqi-road/orders/{checkout}/receipt"
    assert _browser(make_client, "someone").get(url).status_code == 404
    assert client.get(url).status_code == 302  # a visitor is asked to sign in first
    buyer = _browser(make_client)
    assert buyer.get(url.replace("erqi-road", "other-market")).status_code == 404
    assert buyer.get("/t/erqi-road/orders/G-NOPE/receipt").status_code == 404
