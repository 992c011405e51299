"""Requests for quotation, end to end: a buyer asks, the merchant answers, the buyer accepts or declines.

Quotes are per tenant, but a buyer's list under /account/quotes gathers them from every tenant; nobody sees or
acts on another person's quote, and no tenant's URL reaches another tenant's products or quotes.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.catalog import admin
from marketplace.catalog.models import Quote, QuoteStatus, Variant
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from tests.fixtures.factories import PASSWORD


@dataclass
class Market:
    tenant: Tenant
    shop: Shop  # takes quotes
    product: object  # 尿素 50 kg, ¥120.00 a bag, from 5 bags
    other_tenant: Tenant
    other_product: object  # in the other tenant, whose shop also takes quotes


def _variant_id(product) -> str:
    with all_tenants():
        return str(db.session.scalar(select(Variant.id).where(Variant.product_id == product.id)))


@pytest.fixture
def market(make_tenant, make_shop, make_product, make_user) -> Market:
    tenant = make_tenant(slug="agri-market", kind="market", theme="market", name_zh="中原农资市场")
    shop = make_shop(tenant, slug="suifeng", name_zh="穗丰农资", accepts_quotes=True)
    product = make_product(shop, title="尿素 50kg", price=12000, stock=500, moq=5, unit="bag", sku="UREA-50")
    other = make_tenant(slug="cloth-market", kind="market", theme="market", name_zh="银基服装城")
    other_shop = make_shop(other, slug="bolin", name_zh="博林服饰", accepts_quotes=True)
    other_product = make_product(other_shop, title="纯棉T恤", price=2500, stock=1000, sku="TEE-1")
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    make_user("staff@shangdu.example", role=Role.merchant_staff, shop=shop)
    make_user("other-owner@shangdu.example", role=Role.merchant_owner, shop=other_shop)
    make_user("buyer@shangdu.example", name="王采购")
    make_user("someone@shangdu.example", name="路人")
    return Market(tenant, shop, product, other, other_product)


@pytest.fixture
def as_user(make_client):
    def factory(login: str | None):
        browser = make_client()
        if login:
            browser.login(f"{login}@shangdu.example", PASSWORD)
        return browser

    return factory


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _quote_url(tenant, product) -> str:
    return f"/t/{tenant.slug}/p/{product.id}/quote"


def _ask(browser, tenant, product, **changes):
    data = {"variant_id": _variant_id(product), "quantity": "100", "target_price": "110",
            "message": "月底前送到郑州，需要开票。"}
    data.update(changes)
    return browser.submit(_quote_url(tenant, product), data)


def _quotes() -> list[Quote]:
    db.session.expire_all()
    with all_tenants():
        return list(db.session.scalars(select(Quote).order_by(Quote.id)))


def _inbox(market) -> str:
    return f"/merchant/{market.tenant.slug}/{market.shop.slug}/quotes"


def _answer(browser, market, quote, price="115.50", valid_until=None, reply="含税价，送货上门。"):
    valid_until = valid_until or (admin.tenant_today(market.tenant) + timedelta(days=7)).isoformat()
    return browser.submit(f"{_inbox(market)}/{quote.id}/answer",
                          {"unit_price": price, "valid_until": valid_until, "reply": reply}, page_url=_inbox(market))


def _post(browser, url: str):
    return browser.post(url, data={"csrf_token": browser.csrf_token("/account/login")})


def _count() -> int:
    with all_tenants():
        return db.session.scalar(select(func.count(Quote.id)))


# -- the whole way through ----------------------------------------------------------------------------------------

def test_a_buyer_asks_the_merchant_answers_and_the_buyer_accepts(market, as_user):
    buyer, owner = as_user("buyer"), as_user("owner")
    page = _text(buyer.get(_quote_url(market.tenant, market.product)))
    assert "尿素 50kg" in page and "穗丰农资" in page and "¥120.00/袋" in page and "起订量" in page

    response = _ask(buyer, market.tenant, market.product)
    assert response.status_code == 303 and response.headers["Location"] == "/account/quotes"
    page = _text(buyer.get("/account/quotes"))
    assert "询价已发给穗丰农资" in page
    assert "尿素 50kg" in page and "中原农资市场" in page and "100 袋" in page and "¥110.00/袋" in page
    assert "待报价" in page and "接受报价</button>" not in page
    [quote] = _quotes()
    assert (quote.quantity, quote.target_unit_price, quote.status) == (100, 11000, QuoteStatus.requested)

    inbox = _text(owner.get(_inbox(market)))
    assert "王采购" in inbox and "月底前送到郑州，需要开票。" in inbox and "¥110.00" in inbox
    response = _answer(owner, market, quote)
    assert response.status_code == 303
    assert "已向买家报价。" in _text(owner.get(response.headers["Location"]))

    page = _text(buyer.get("/account/quotes"))
    assert "已报价" in page and "¥115.50/袋" in page and "含税价，送货上门。" in page and "接受报价</button>" in page
    response = _post(buyer, f"/account/quotes/{quote.id}/accept")
    assert response.status_code == 303 and response.headers["Location"] == f"/t/{market.tenant.slug}/cart"
    cart = _text(buyer.get(response.headers["Location"]))
    assert "已接受报价，下单时按 ¥115.50 计价。" in cart and "报价商品已加入购物车。" in cart
    assert "尿素 50kg" in cart and "¥11,550.00" in cart  # 100 bags at the quoted ¥115.50, not the list ¥120
    page = _text(buyer.get("/account/quotes"))
    assert "已接受，下单时按报价 ¥115.50/袋" in page and "接受报价</button>" not in page
    assert _quotes()[0].status == QuoteStatus.accepted
    assert "买家已接受，下单时按报价 ¥115.50/袋" in _text(owner.get(_inbox(market)))


def test_the_buyer_declines_an_answer(market, as_user):
    buyer, owner = as_user("buyer"), as_user("owner")
    _ask(buyer, market.tenant, market.product)
    [quote] = _quotes()
    _answer(owner, market, quote)
    assert _post(buyer, f"/account/quotes/{quote.id}/decline").status_code == 303
    page = _text(buyer.get("/account/quotes"))
    assert "已拒绝该报价。" in page and "接受报价</button>" not in page
    assert _quotes()[0].status == QuoteStatus.declined


def test_staff_may_answer_and_the_merchant_may_decline(market, as_user):
    buyer, staff, owner = as_user("buyer"), as_user("staff"), as_user("owner")
    _ask(buyer, market.tenant, market.product)
    _ask(buyer, market.tenant, market.product, quantity="500")
    first, second = _quotes()
    assert _answer(staff, market, first, price="99").status_code == 303
    response = _post(owner, f"{_inbox(market)}/{second.id}/decline")
    assert response.status_code == 303 and "已婉拒该询价。" in _text(owner.get(response.headers["Location"]))
    first, second = _quotes()
    assert (first.status, first.quoted_unit_price, second.status) == (QuoteStatus.answered, 9900,
                                                                      QuoteStatus.declined)
    assert "已拒绝" in _text(buyer.get("/account/quotes"))


def test_an_expired_answer_cannot_be_accepted(market, as_user):
    buyer, owner = as_user("buyer"), as_user("owner")
    _ask(buyer, market.tenant, market.product)
    [quote] = _quotes()
    _answer(owner, market, quote)
    with tenant_scope(market.tenant):  # a week and a day later
        quote = db.session.get(Quote, quote.id)
        quote.valid_until = admin.tenant_today(market.tenant) - timedelta(days=1)
        db.session.commit()

    page = _text(buyer.get("/account/quotes"))
    assert "已过期" in page and "接受报价</button>" not in page
    response = _post(buyer, f"/account/quotes/{quote.id}/accept")
    assert response.status_code == 303
    assert "报价已过期，请重新询价。" in _text(buyer.get("/account/quotes"))
    assert _quotes()[0].status == QuoteStatus.expired


def test_a_past_date_is_no_answer(market, as_user):
    buyer, owner = as_user("buyer"), as_user("owner")
    _ask(buyer, market.tenant, market.product)
    [quote] = _quotes()
    yesterday = (admin.tenant_today(market.tenant) - timedelta(days=1)).isoformat()
    response = _answer(owner, market, quote, valid_until=yesterday)
    assert response.status_code == 400 and "报价有效期不能早于今天。" in _text(response)
    assert _quotes()[0].status == QuoteStatus.requested


def test_the_account_list_gathers_quotes_from_every_tenant(market, as_user):
    buyer = as_user("buyer")
    _ask(buyer, market.tenant, market.product)
    _ask(buyer, market.other_tenant, market.other_product, quantity="300", target_price="")
    page = _text(buyer.get("/account/quotes"))
    assert "尿素 50kg" in page and "中原农资市场" in page
    assert "纯棉T恤" in page and "银基服装城" in page and "300 件" in page
    assert {q.tenant_id for q in _quotes()} == {market.tenant.id, market.other_tenant.id}


# -- who may do what ----------------------------------------------------------------------------------------------

def test_asking_needs_a_signed_in_buyer(market, as_user):
    anonymous = as_user(None)
    response = anonymous.get(_quote_url(market.tenant, market.product))
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/login?next=")
    assert anonymous.get("/account/quotes").status_code == 302
    assert _post(anonymous, _quote_url(market.tenant, market.product)).status_code == 302
    assert _count() == 0


def test_another_buyer_neither_sees_nor_acts_on_the_quote(market, as_user):
    buyer, owner, someone = as_user("buyer"), as_user("owner"), as_user("someone")
    _ask(buyer, market.tenant, market.product)
    [quote] = _quotes()
    _answer(owner, market, quote)
    page = _text(someone.get("/account/quotes"))
    assert "尿素 50kg" not in page and "还没有询价" in page
    assert _post(someone, f"/account/quotes/{quote.id}/accept").status_code == 404
    assert _post(someone, f"/account/quotes/{quote.id}/decline").status_code == 404
    assert _post(someone, "/account/quotes/999999/accept").status_code == 404
    assert _quotes()[0].status == QuoteStatus.answered


def test_a_shop_that_takes_no_quotes_has_no_quote_page(market, as_user, make_shop, make_product):
    quiet = make_shop(market.tenant, slug="quiet", name_zh="不议价农资店")
    product = make_product(quiet, title="复合肥")
    buyer = as_user("buyer")
    assert buyer.get(_quote_url(market.tenant, product)).status_code == 404
    token = buyer.csrf_token("/account/login")
    response = buyer.post(_quote_url(market.tenant, product),
                          data={"csrf_token": token, "variant_id": _variant_id(product), "quantity": "10"})
    assert response.status_code == 404
    assert _count() == 0


def test_drafts_suspended_shops_and_missing_products_have_no_quote_page(market, as_user, make_product, make_shop):
    draft = make_product(market.shop, title="还没上架的种子", publish=False)
    suspended = make_shop(market.tenant, slug="closed", status="suspended", accepts_quotes=True)
    hidden = make_product(suspended, title="暂停店的商品")
    buyer = as_user("buyer")
    assert buyer.get(_quote_url(market.tenant, draft)).status_code == 404
    assert buyer.get(_quote_url(market.tenant, hidden)).status_code == 404
    assert buyer.get(f"/t/{market.tenant.slug}/p/999999/quote").status_code == 404


def test_a_draft_tenant_shows_no_quote_page(market, as_user):
    market.tenant.status = "draft"
    db.session.commit()
    assert as_user("buyer").get(_quote_url(market.tenant, market.product)).status_code == 404


@pytest.mark.parametrize("login, expected", [(None, 302), ("buyer", 403), ("other-owner", 404), ("staff", 200),
                                             ("owner", 200)])
def test_only_the_shops_people_open_its_inbox(market, as_user, login, expected):
    assert as_user(login).get(_inbox(market)).status_code == expected


# -- no tenant's URL reaches another's ----------------------------------------------------------------------------

def test_another_tenants_product_is_not_found_through_this_tenant(market, as_user):
    buyer = as_user("buyer")
    assert buyer.get(_quote_url(market.tenant, market.other_product)).status_code == 404
    response = _ask(buyer, market.other_tenant, market.other_product)  # the form itself, on its own tenant
    assert response.status_code == 303
    token = buyer.csrf_token("/account/login")
    response = buyer.post(_quote_url(market.tenant, market.other_product),
                          data={"csrf_token": token, "variant_id": _variant_id(market.other_product),
                                "quantity": "10"})
    assert response.status_code == 404
    assert _count() == 1


def test_a_merchant_cannot_reach_another_shops_quotes(market, as_user):
    buyer, other_owner, owner = as_user("buyer"), as_user("other-owner"), as_user("owner")
    _ask(buyer, market.tenant, market.product)
    [quote] = _quotes()
    other_inbox = f"/merchant/{market.other_tenant.slug}/bolin/quotes"
    assert "尿素 50kg" not in _text(other_owner.get(other_inbox))
    token = other_owner.csrf_token("/account/login")
    for action in ("answer", "decline"):
        # Through the other owner's own shop, and through this tenant's URL with the other tenant's shop slug.
        response = other_owner.post(f"{other_inbox}/{quote.id}/{action}",
                                    data={"csrf_token": token, "unit_price": "1", "valid_until": "2099-01-01"})
        assert response.status_code == 404
        assert other_owner.post(f"/merchant/{market.tenant.slug}/bolin/quotes/{quote.id}/{action}",
                                data={"csrf_token": token}).status_code == 404
    assert other_owner.get(_inbox(market)).status_code == 404  # another tenant's shop
    # The owner of this shop reaching the other tenant's shop by its slug under this tenant: not found.
    assert owner.get(f"/merchant/{market.tenant.slug}/bolin/quotes").status_code == 404
    assert _quotes()[0].status == QuoteStatus.requested


# -- bad input ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    ({"quantity": "0"}, "数量应在 1 到 1000000 之间。"),
    ({"quantity": "abc"}, None),
    ({"quantity": ""}, "请填写数量。"),
    ({"quantity": "99999999999999999999"}, None),
    ({"quantity": "3"}, "该商品 5 袋起订。"),
    ({"target_price": "abc"}, "请填写正确的金额，例如 12.50。"),
    ({"target_price": "-5"}, "请填写正确的金额，例如 12.50。"),
    ({"target_price": "1.234"}, "请填写正确的金额，例如 12.50。"),
    ({"variant_id": "999999"}, None),
    ({"variant_id": "x"}, None),
    ({"message": "长" * 2001}, None),
    ({"message": "送货\x00上门"}, "含有无法识别的字符"),
])
def test_a_bad_request_gets_a_form_error_and_stores_nothing(market, as_user, changes, message):
    response = _ask(as_user("buyer"), market.tenant, market.product, **changes)
    page = _text(response)
    assert response.status_code == 400 and 'role="alert"' in page
    if message:
        assert message in page
    assert _count() == 0


@pytest.mark.parametrize("changes, message", [
    ({"price": ""}, "请填写报价单价。"),
    ({"price": "abc"}, "请填写正确的金额，例如 12.50。"),
    ({"price": "-1"}, "请填写正确的金额，例如 12.50。"),
    ({"valid_until": "下周"}, None),
    ({"reply": "好\x00的"}, "含有无法识别的字符"),
])
def test_a_bad_answer_gets_a_form_error_and_changes_nothing(market, as_user, changes, message):
    buyer, owner = as_user("buyer"), as_user("owner")
    _ask(buyer, market.tenant, market.product)
    [quote] = _quotes()
    response = _answer(owner, market, quote, **changes)
    page = _text(response)
    assert response.status_code == 400 and 'role="alert"' in page
    if message:
        assert message in page
    assert f'id="quote-{quote.id}"' in page  # the inbox again, the error beside the quote it concerns
    assert _quotes()[0].status == QuoteStatus.requested


def test_the_shop_page_links_to_the_inbox(market, as_user):
    page = as_user("staff").get(f"/merchant/{market.tenant.slug}/{market.shop.slug}/").get_data(as_text=True)
    assert f'href="{_inbox(market)}"' in page


def test_the_lists_take_a_fixed_number_of_queries(market, as_user, count_queries):
    """N+1 guard: more quotes, from more tenants, must not mean more queries."""
    buyer, owner = as_user("buyer"), as_user("owner")

    def load():
        counts = []
        for browser, url in ((buyer, "/account/quotes"), (owner, _inbox(market))):
            with count_queries() as queries:
                assert browser.get(url).status_code == 200
            counts.append(len(queries))
        return counts

    _ask(buyer, market.tenant, market.product)
    small = load()
    for _ in range(4):
        _ask(buyer, market.tenant, market.product)
        _ask(buyer, market.other_tenant, market.other_product)
    for quote in _quotes()[:3]:
        if quote.tenant_id == market.tenant.id:
            _answer(owner, market, quote)
    assert load() == small


def _accepted_quote(market, as_user):
    """The buyer asked, the merchant answered ¥115.50, the buyer accepted (and so has it in the cart)."""
    buyer, owner = as_user("buyer"), as_user("owner")
    _ask(buyer, market.tenant, market.product)
    [quote] = _quotes()
    _answer(owner, market, quote)
    _post(buyer, f"/account/quotes/{quote.id}/accept")
    return buyer, _quotes()[0]  # as the accepting request left it


def test_an_accepted_quote_prices_one_order_and_is_then_used_up(market, as_user):
    from marketplace.orders import services as orders
    from marketplace.orders.models import OrderLine

    buyer, quote = _accepted_quote(market, as_user)
    with tenant_scope(market.tenant):
        buyer_id = quote.buyer_id
        cart = orders.cart_for(market.tenant, user_id=buyer_id)
        group = orders.place_order(market.tenant, buyer_id, cart, "quote-order-1")
        [line] = db.session.scalars(select(OrderLine).where(OrderLine.order_id == group.orders[0].id)).all()
        assert (line.unit_price, line.quantity, line.total, line.price_source, line.quote_id) == (
            11550, 100, 1_155_000, "quote", quote.id)
    assert _quotes()[0].status == QuoteStatus.ordered
    page = _text(buyer.get("/account/quotes"))
    assert "已下单" in page and "加入购物车</button>" not in page

    # The quote cannot price a second order: putting it in the cart again is refused, the cart stays empty.
    response = _post(buyer, f"/account/quotes/{quote.id}/cart")
    assert response.status_code == 303 and response.headers["Location"] == "/account/quotes"
    assert "只能把自己已接受的报价加入购物车。" in _text(buyer.get("/account/quotes"))
    with tenant_scope(market.tenant):
        assert orders.cart_for(market.tenant, user_id=buyer_id).lines == []


def test_a_quote_line_left_in_a_cart_after_the_quote_was_used_falls_back_to_the_list_price(market, as_user):
    from marketplace.orders import services as orders

    buyer, quote = _accepted_quote(market, as_user)
    with tenant_scope(market.tenant):
        db.session.execute(Quote.__table__.update().where(Quote.id == quote.id).values(status="ordered"))
        db.session.expire_all()
        cart = orders.cart_for(market.tenant, user_id=quote.buyer_id)
        priced = orders.price_cart(market.tenant, cart)
        [(_shop, shop_priced)] = priced.shops
        assert (shop_priced.lines[0].unit_price, shop_priced.lines[0].price_source) == (12000, "base")


def test_someone_elses_quote_cannot_go_into_a_cart(market, as_user):
    _buyer, quote = _accepted_quote(market, as_user)
    someone = as_user("someone")
    assert _post(someone, f"/account/quotes/{quote.id}/cart").status_code == 404


def test_a_cancelled_order_gives_its_quote_back(market, as_user):
    from marketplace.orders import services as orders

    buyer, quote = _accepted_quote(market, as_user)
    with tenant_scope(market.tenant):
        cart = orders.cart_for(market.tenant, user_id=quote.buyer_id)
        order = orders.place_order(market.tenant, quote.buyer_id, cart, "quote-then-cancel").orders[0]
        db.session.commit()
    assert _quotes()[0].status == QuoteStatus.ordered
    with tenant_scope(market.tenant):
        orders.cancel_by_buyer(order, buyer_id=quote.buyer_id)
        db.session.commit()
    assert _quotes()[0].status == QuoteStatus.accepted
    assert _post(buyer, f"/account/quotes/{quote.id}/cart").headers["Location"] == f"/t/{market.tenant.slug}/cart"


def test_a_quote_that_priced_an_order_cannot_be_declined(market, as_user):
    from marketplace.orders import services as orders

    buyer, quote = _accepted_quote(market, as_user)
    with tenant_scope(market.tenant):
        orders.place_order(market.tenant, quote.buyer_id, orders.cart_for(market.tenant, user_id=quote.buyer_id),
                           "quote-ordered")
        db.session.commit()
    assert _post(buyer, f"/account/quotes/{quote.id}/decline").status_code == 303
    assert "该询价已结束。" in _text(buyer.get("/account/quotes"))
    assert _quotes()[0].status == QuoteStatus.ordered


def test_a_lapsed_accepted_quote_reads_expired_and_stays_out_of_the_cart(market, as_user):
    from marketplace.orders import services as orders

    buyer, quote = _accepted_quote(market, as_user)
    with tenant_scope(market.tenant):
        cart = orders.cart_for(market.tenant, user_id=quote.buyer_id)
        orders.set_line(cart, _variant_id(market.product), "0")
        db.session.execute(Quote.__table__.update().where(Quote.id == quote.id).values(
            valid_until=admin.tenant_today(market.tenant) - timedelta(days=1)))
        db.session.commit()
    page = _text(buyer.get("/account/quotes"))
    assert "已过期" in page and "加入购物车</button>" not in page
    response = _post(buyer, f"/account/quotes/{quote.id}/cart")
    assert response.headers["Location"] == "/account/quotes"
    assert "报价已过期，请重新询价。" in _text(buyer.get("/account/quotes"))


def test_the_quoted_price_is_for_the_quoted_quantity_only(market, as_user):
    from marketplace.orders import services as orders

    _buyer, quote = _accepted_quote(market, as_user)  # 100 bags at ¥115.50
    with tenant_scope(market.tenant):
        cart = orders.cart_for(market.tenant, user_id=quote.buyer_id)
        for quantity, price in ((100, 11550), (5000, 12000), (99, 12000)):
            orders.set_line(cart, _variant_id(market.product), quantity)
            [(_shop, priced)] = orders.price_cart(market.tenant, cart).shops
            assert priced.lines[0].unit_price == price, quantity

