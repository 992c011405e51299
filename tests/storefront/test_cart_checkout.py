"""The resident's cart and checkout, end to end through the pages: add from the product page, change quantities,
a guest cart that joins the account at login, one checkout over several shops with pickup and offline payment,
double submissions, stock that ran out after the review, and the buyer-only confirmation page."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders.models import Cart, CartLine, Order, OrderGroup, OrderLine
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from tests.fixtures.factories import PASSWORD


@dataclass
class Street:
    tenant: Tenant
    apples: object  # 老王水果店, ¥29.90, 10 in stock
    tea: object  # 李记茶叶, ¥128.00, 5 in stock
    fertiliser: object  # 穗丰农资, ¥166.00, 15.93 from 10 bags
    other_product: object  # in another tenant


@pytest.fixture
def street(make_tenant, make_merchant, make_shop, make_category, make_product, make_user) -> Street:
    tenant = make_tenant(slug="erqi-road", name_zh="二七路")
    fruit = make_shop(tenant, slug="wang-fruit", name_zh="老王水果店", street_number="12", street_side="east",
                      merchant=make_merchant(legal_name="郑州市二七区老王水果店（个体工商户）"))
    tea = make_shop(tenant, slug="li-tea", name_zh="李记茶叶")
    farm = make_shop(tenant, slug="suifeng", name_zh="穗丰农资")
    category = make_category(tenant)
    goods = {
        "apples": make_product(fruit, category=category, title="红富士苹果", price=2990, stock=10),
        "tea": make_product(tea, category=category, title="信阳毛尖", price=12800, stock=5),
        "fertiliser": make_product(farm, category=category, title="复合肥", price=16600, stock=500,
                                   tiers=[(10, 15930)]),
    }
    other = make_tenant(slug="other-market", kind="market", name_zh="别的市场")
    other_product = make_product(make_shop(other), title="别家的苹果", price=100, stock=10)
    make_user("buyer@shangdu.example", name="王女士")
    make_user("someone@shangdu.example", name="路人")
    return Street(tenant, goods["apples"], goods["tea"], goods["fertiliser"], other_product)


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _variant(product) -> Variant:
    with all_tenants():
        return db.session.scalar(select(Variant).where(Variant.product_id == product.id))


def _product_url(product) -> str:
    return f"/t/erqi-road/p/{product.id}"


def _add(browser, product, quantity="1", variant_id=None):
    return browser.submit("/t/erqi-road/cart/add", {
        "variant_id": str(variant_id if variant_id is not None else _variant(product).id), "quantity": quantity,
        "next": _product_url(product)}, page_url="/t/erqi-road/cart")


def _cart_lines() -> list[tuple[str, int]]:
    db.session.expire_all()
    with all_tenants():
        rows = db.session.execute(select(Variant.sku, CartLine.quantity).join(Variant, Variant.id == CartLine.variant_id)
                                  .order_by(CartLine.id))
        return [tuple(row) for row in rows]


def _count(model) -> int:
    db.session.expire_all()
    with all_tenants():
        return db.session.scalar(select(func.count(model.id)))


def _buyer(make_client, login="buyer"):
    browser = make_client()
    browser.login(f"{login}@shangdu.example", PASSWORD)
    return browser


def _review(browser) -> tuple[str, dict]:
    """The checkout review page, and the hidden fields a browser would send from its form."""
    response = browser.get("/t/erqi-road/checkout")
    assert response.status_code == 200, _text(response)[:2000]
    page = response.get_data(as_text=True)
    form = {}
    for tag in re.findall(r"<input[^>]*>", page.split('action="/t/erqi-road/checkout"', 1)[1]):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if 'type="hidden"' in tag and name and value:
            form[name.group(1)] = html_lib.unescape(value.group(1))
    form["payment"] = "offline:pay_at_stall"
    return html_lib.unescape(page), form


# -- the cart -------------------------------------------------------------------------------------------------------

def test_the_product_page_adds_to_the_cart_and_the_cart_shows_server_prices(street, client):
    page = _text(client.get(_product_url(street.fertiliser), follow_redirects=True))
    assert "加入购物车" in page and 'action="/t/erqi-road/cart/add"' in page

    response = _add(client, street.fertiliser, "12")
    assert response.status_code == 303 and response.headers["Location"] == _product_url(street.fertiliser)
    cookie = client.get_cookie("guest_cart")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert "已加入购物车：复合肥 × 12。" in _text(client.get(response.headers["Location"], follow_redirects=True))

    page = _text(client.get("/t/erqi-road/cart"))
    assert "穗丰农资" in page and "¥159.30" in page and "满 10" in page  # the tier price, and why
    assert "¥1,911.60" in page  # 12 × 159.30, computed here
    assert 'class="cart-count">1<' in page
    assert 'href="/t/erqi-road/checkout"' in page


def test_quantities_are_updated_and_removed(street, client):
    _add(client, street.apples, "2")
    variant = _variant(street.apples)
    response = client.submit("/t/erqi-road/cart/update", {"variant_id": variant.id, "quantity": "4"},
                             page_url="/t/erqi-road/cart")
    assert response.status_code == 303 and _cart_lines() == [(variant.sku, 4)]
    client.submit("/t/erqi-road/cart/update", {"variant_id": variant.id, "quantity": "4", "remove": "1"},
                  page_url="/t/erqi-road/cart")
    assert _cart_lines() == []
    assert "购物车是空的" in _text(client.get("/t/erqi-road/cart"))


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "1.5", "999999999", "", "2e3"])
def test_tampered_quantities_are_refused_with_a_message_and_change_nothing(street, client, quantity):
    _add(client, street.apples, "2")
    variant = _variant(street.apples)
    response = _add(client, street.apples, quantity)
    assert response.status_code == 303
    assert "数量应为 1 到 100000 之间的整数。" in _text(client.get(response.headers["Location"],
                                                                   follow_redirects=True))
    response = client.submit("/t/erqi-road/cart/update", {"variant_id": variant.id, "quantity": quantity},
                             page_url="/t/erqi-road/cart")
    if quantity == "0":  # on the cart page 0 means remove, like the button
        assert _cart_lines() == []
        return
    assert response.status_code == 303
    assert "数量应为" in _text(client.get("/t/erqi-road/cart"))
    assert _cart_lines() == [(variant.sku, 2)]


def test_a_price_sent_by_the_client_is_ignored(street, client):
    client.submit("/t/erqi-road/cart/add", {"variant_id": _variant(street.apples).id, "quantity": "1",
                                            "price": "1", "unit_price": "1", "total": "1", "tenant_id": "999"},
                  page_url="/t/erqi-road/cart")
    assert "¥29.90" in _text(client.get("/t/erqi-road/cart"))


def test_another_tenants_variant_is_not_found(street, client):
    response = _add(client, street.apples, "1", variant_id=_variant(street.other_product).id)
    assert response.status_code == 404
    assert "找不到这件商品。" in _text(response)
    assert _count(CartLine) == 0


def test_a_guest_cart_joins_the_residents_cart_at_login(street, client):
    _add(client, street.apples, "3")
    _add(client, street.tea, "1")
    client.login("buyer@shangdu.example", PASSWORD)
    assert sorted(q for _sku, q in _cart_lines()) == [1, 3]
    with all_tenants():
        assert db.session.scalar(select(func.count(Cart.id)).where(Cart.user_id.is_(None))) == 0
    page = _text(client.get("/t/erqi-road/cart"))
    assert "红富士苹果" in page and "信阳毛尖" in page


# -- checkout -------------------------------------------------------------------------------------------------------

def test_checkout_needs_sign_in_and_comes_back(street, client):
    response = client.get("/t/erqi-road/checkout")
    assert response.status_code == 302 and "/account/login?next=" in response.headers["Location"]
    assert "checkout" in response.headers["Location"]


def test_one_checkout_places_one_order_per_shop_with_pickup_and_offline_payment(street, make_client):
    buyer = _buyer(make_client)
    _add(buyer, street.apples, "2")
    _add(buyer, street.tea, "1")
    page, form = _review(buyer)
    assert "到店自提" in page and "线下付款" in page and "¥187.80" in page  # 2 × 29.90 + 128.00
    assert form.get("idempotency_key") and form.get("fingerprint")
    apples_shop = _variant(street.apples).shop_id
    form[f"note_{apples_shop}"] = "请挑大一点的"
    form.update(invoice="company", invoice_title="郑州某某商贸有限公司", invoice_tax_id="91410100MA44B6RK13")

    response = buyer.post("/t/erqi-road/checkout", data=form)
    assert response.status_code == 303, _text(response)[:3000]
    with tenant_scope(street.tenant):
        group = db.session.scalar(select(OrderGroup))
        assert response.headers["Location"] == f"/t/erqi-road/orders/{group.number}"
        placed = sorted(group.orders, key=lambda o: o.id)
        assert len(placed) == 2 and group.total == 18780 and group.payment_provider == "offline"
        assert {o.delivery_provider for o in placed} == {"pickup"} and {o.delivery_fee for o in placed} == {0}
        apples_order = next(o for o in placed if o.shop_id == apples_shop)
        assert "请挑大一点的" in apples_order.note and "91410100MA44B6RK13" in apples_order.note
    assert _cart_lines() == []

    page = _text(buyer.get(response.headers["Location"]))
    assert "下单成功" in page and group.number in page
    assert all(order.number in page for order in placed)
    assert "郑州市二七区老王水果店（个体工商户）" in page  # the receipt names the merchant
    assert "12 号" in page and "线下付款" in page and "待付款" in page

    listing = _text(buyer.get("/account/orders"))
    assert all(order.number in listing for order in placed)
    assert f"/t/erqi-road/orders/{group.number}" in listing and "二七路" in listing


def test_a_double_submit_places_one_group(street, make_client):
    buyer = _buyer(make_client)
    _add(buyer, street.apples, "2")
    _page, form = _review(buyer)
    first = buyer.post("/t/erqi-road/checkout", data=form)
    second = buyer.post("/t/erqi-road/checkout", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(OrderGroup) == 1 and _count(Order) == 1
    assert _variant(street.apples).stock == 8


def test_stock_sold_after_the_review_is_shown_and_nothing_is_placed(street, make_client):
    buyer = _buyer(make_client)
    _add(buyer, street.apples, "2")
    _add(buyer, street.tea, "3")
    _page, form = _review(buyer)
    with tenant_scope(street.tenant):
        _variant(street.tea).stock = 1
        db.session.commit()
    response = buyer.post("/t/erqi-road/checkout", data=form)
    assert response.status_code == 409
    assert "“信阳毛尖”库存仅剩 1。" in _text(response)
    assert _count(OrderGroup) == 0 and _variant(street.apples).stock == 10
    assert len(_cart_lines()) == 2


def test_a_price_changed_after_the_review_is_shown_and_nothing_is_placed(street, make_client):
    buyer = _buyer(make_client)
    _add(buyer, street.apples, "2")
    _page, form = _review(buyer)
    with tenant_scope(street.tenant):
        _variant(street.apples).price = 3290
        db.session.commit()
    response = buyer.post("/t/erqi-road/checkout", data=form)
    assert response.status_code == 409
    page = _text(response)
    assert "价格、数量或配送选项在您查看后有变化" in page and "¥65.80" in page
    assert _count(OrderGroup) == 0


def test_a_company_invoice_needs_a_valid_taxpayer_id(street, make_client):
    buyer = _buyer(make_client)
    _add(buyer, street.apples, "1")
    _page, form = _review(buyer)
    form.update(invoice="company", invoice_title="", invoice_tax_id="12345")
    response = buyer.post("/t/erqi-road/checkout", data=form)
    assert response.status_code == 400
    assert "请填写单位名称。" in _text(response) and "纳税人识别号应为" in _text(response)
    assert _count(OrderGroup) == 0


def test_a_taxpayer_id_typed_full_width_with_spaces_is_read_and_its_check_character_verified(street, make_client):
    buyer = _buyer(make_client)
    _add(buyer, street.apples, "1")
    _page, form = _review(buyer)
    form.update(invoice="company", invoice_title="郑州某某商贸有限公司", invoice_tax_id="９１４１ ０１００ MA44B6RK1X")
    response = buyer.post("/t/erqi-road/checkout", data=form)
    assert response.status_code == 400 and "校验码" in _text(response)  # read, then refused for its last character
    _page, form = _review(buyer)
    form.update(invoice="company", invoice_title="郑州某某商贸有限公司", invoice_tax_id="９１４１ ０１００ ma44b6rk13")
    response = buyer.post("/t/erqi-road/checkout", data=form)
    assert response.status_code == 303
    with all_tenants():
        assert "91410100MA44B6RK13" in db.session.scalar(select(Order.note))


def test_the_confirmation_page_is_only_the_buyers(street, make_client, client):
    buyer = _buyer(make_client)
    _add(buyer, street.apples, "1")
    _page, form = _review(buyer)
    location = buyer.post("/t/erqi-road/checkout", data=form).headers["Location"]
    someone = _buyer(make_client, "someone")
    assert someone.get(location).status_code == 404
    assert client.get(location).status_code == 302  # a visitor is asked to sign in first
    assert buyer.get(location.replace("erqi-road", "other-market")).status_code == 404
    assert "还没有订单" in _text(someone.get("/account/orders"))


# -- goods outside the 7-day no-reason return -------------------------------------------------------------------------

def _excluded_goods(street, make_category, make_product) -> tuple:
    """A toothbrush (returnable only without the buyer's tick) and live fish (never), both at 李记茶叶."""
    with tenant_scope(street.tenant):
        shop = db.session.get(Variant, _variant(street.tea).id).product.shop
        hygiene = make_category(street.tenant, name_zh="个护", return_exclusion="hygiene")
        fresh = make_category(street.tenant, name_zh="生鲜", return_exclusion="perishable")
        return (make_product(shop, category=hygiene, title="软毛牙刷", price=990, stock=20),
                make_product(shop, category=fresh, title="活鲤鱼", price=3200, stock=20))


def test_the_product_page_says_when_goods_cannot_be_returned_without_reason(street, client, make_category,
                                                                           make_product):
    toothbrush, fish = _excluded_goods(street, make_category, make_product)
    page = _text(client.get(_product_url(toothbrush), follow_redirects=True))
    assert "本商品不支持七日无理由退货（拆封后易影响人身安全、健康或商品品质的商品）" in page
    assert "本商品不支持七日无理由退货（鲜活易腐的商品）" in _text(client.get(_product_url(fish), follow_redirects=True))
    assert "不支持七日无理由退货" not in _text(client.get(_product_url(street.apples), follow_redirects=True))


def test_checkout_asks_the_buyer_to_tick_that_such_goods_are_not_returnable(street, make_client, make_category,
                                                                           make_product):
    toothbrush, fish = _excluded_goods(street, make_category, make_product)
    buyer = _buyer(make_client)
    _add(buyer, street.apples, "1")
    page, _form = _review(buyer)
    assert "我已知晓" not in page and "七日无理由退货" not in page  # ordinary goods: nothing to confirm
    _add(buyer, toothbrush, "2")
    _add(buyer, fish, "1")
    page, form = _review(buyer)
    assert "软毛牙刷 · 拆封后易影响人身安全、健康或商品品质的商品" in page
    assert "活鲤鱼 · 鲜活易腐的商品" in page and "依法不适用七日无理由退货" in page  # told, nothing to tick
    assert re.search(r'<input[^>]*name="confirm_exclusions"[^>]*required', page)
    assert "我已知晓以上商品不适用七日无理由退货" in page

    response = buyer.post("/t/erqi-road/checkout", data=form)
    assert response.status_code == 400
    assert "请勾选确认：以上商品不适用七日无理由退货。" in _text(response)
    assert _count(OrderGroup) == 0 and _variant(toothbrush).stock == 20 and len(_cart_lines()) == 3

    response = buyer.post("/t/erqi-road/checkout", data={**form, "confirm_exclusions": "y"})
    assert response.status_code == 303, _text(response)[:3000]
    with tenant_scope(street.tenant):
        bought = {line.title: line.return_exclusion
                  for line in db.session.scalars(select(OrderLine).order_by(OrderLine.id))}
    assert bought == {"红富士苹果": "", "软毛牙刷": "hygiene", "活鲤鱼": "perishable"}
    assert _variant(toothbrush).stock == 18


def test_choosing_another_address_shows_its_delivery_options_before_anything_is_placed(street, make_client):
    from marketplace.accounts import addresses
    from marketplace.accounts.models import User

    buyer = _buyer(make_client)
    with all_tenants():
        user = db.session.scalar(select(User).where(User.email == "buyer@shangdu.example"))
        addresses.add_address(user.id, addresses.AddressInput(
            recipient="李小龙", mobile="13800138000", province_code="410000", city_code="410100",
            district_code="410103", street="大学路 80 号"))
        db.session.commit()
    _add(buyer, street.apples, "1")
    page, form = _review(buyer)
    assert form["quoted_address"] != "none"  # the default address was quoted
    response = buyer.post("/t/erqi-road/checkout", data={**form, "address": "none"})
    assert response.status_code == 409
    assert "收货地址已更改" in _text(response) and _count(OrderGroup) == 0
    _page, again = _review(buyer)
    placed = buyer.post("/t/erqi-road/checkout", data=again)
    assert placed.status_code == 303 and _count(OrderGroup) == 1
