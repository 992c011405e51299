"""Freight quotes by their pages: the buyer asks a shop, its merchant prices the load, the buyer accepts, and
checkout offers the price as the shop's option ``freight:quote-<id>`` for that address.

The world: a market whose delivery module offers pickup and freight; shop 穗丰 and shop 金田 offer both, shop
老茶馆 only pickup. Nobody but the buyer sees or acts on the buyer's quote, nobody but the shop prices it.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from marketplace.accounts.addresses import AddressInput, add_address
from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.delivery.models import FreightQuote, FreightQuoteStatus
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from tests.fixtures.factories import PASSWORD

Q = FreightQuoteStatus
ALWAYS_OPEN = {day: "00:00-23:59" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
COUNTY_TOWN = AddressInput(recipient="王建军", mobile="13800138001", province_code="410000", city_code="411700",
                           district_code="411721", street="西平县农资站后院")


@dataclass
class Market:
    tenant: Tenant
    shop: Shop  # offers freight
    other_shop: Shop  # offers freight too, with its own merchant
    tea: Shop  # pickup only
    variant_id: int  # of the freight shop's product
    address_id: int  # the buyer's address in 西平县
    buyer_id: int
    stranger_address_id: int


@pytest.fixture
def market(app_ctx, make_tenant, make_shop, make_user, make_product) -> Market:
    tenant = make_tenant(slug="freight-market", kind="market", name_zh="中原农资市场")
    group = module_settings["delivery"]
    group.set(tenant, "provider", "pickup")
    group.set(tenant, "options", {"pickup": {}, "freight": {}})
    db.session.commit()
    both = {"providers": ["pickup", "freight"]}
    shop = make_shop(tenant, slug="suifeng", name_zh="穗丰农资", opening_hours=ALWAYS_OPEN, delivery=both)
    other_shop = make_shop(tenant, slug="jintian", name_zh="金田化肥", opening_hours=ALWAYS_OPEN, delivery=both)
    tea = make_shop(tenant, slug="tea", name_zh="老茶馆", opening_hours=ALWAYS_OPEN,
                    delivery={"providers": ["pickup"]})
    product = make_product(shop, title="复合肥 40kg", price=16000, stock=500)
    with tenant_scope(tenant):
        variant_id = product.variants[0].id
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    make_user("other-owner@shangdu.example", role=Role.merchant_owner, shop=other_shop)
    buyer = make_user("buyer@shangdu.example", name="王采购")
    stranger = make_user("stranger@shangdu.example", name="路人")
    address = add_address(buyer.id, COUNTY_TOWN)
    stranger_address = add_address(stranger.id, COUNTY_TOWN)
    db.session.commit()
    return Market(tenant, shop, other_shop, tea, variant_id, address.id, buyer.id, stranger_address.id)


@pytest.fixture
def as_user(make_client):
    def factory(login: str):
        browser = make_client()
        browser.login(f"{login}@shangdu.example", PASSWORD)
        return browser

    return factory


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _ask_url(market: Market, shop: Shop | None = None) -> str:
    return f"/t/{market.tenant.slug}/s/{(shop or market.shop).slug}/freight-quote"


def _mine_url(market: Market) -> str:
    return f"/t/{market.tenant.slug}/freight-quotes"


def _inbox_url(market: Market, shop: Shop | None = None) -> str:
    return f"/merchant/{market.tenant.slug}/{(shop or market.shop).slug}/freight-quotes"


def _ask(browser, market: Market, **changes):
    data = {"address": str(market.address_id), "weight": "2000", "volume": "1.5",
            "description": "复合肥 40 袋，两个托盘，需要卸货"}
    data.update(changes)
    return browser.submit(_ask_url(market), data)


def _answer(browser, market: Market, quote_id: int, shop: Shop | None = None, **changes):
    data = {"fee": "680.00", "valid_days": "7", "reply": "4.2 米厢车，次日到"}
    data.update(changes)
    url = f"{_inbox_url(market, shop)}/{quote_id}"
    return browser.submit(url, data, page_url=f"{_inbox_url(market)}/{quote_id}")


def _quote(market: Market) -> FreightQuote:
    with tenant_scope(market.tenant):  # as the pages left it, not as this session last saw it
        return db.session.scalars(select(FreightQuote).order_by(FreightQuote.id.desc())
                                  .execution_options(populate_existing=True)).first()


def _requested(as_user, market: Market) -> FreightQuote:
    assert _ask(as_user("buyer"), market).status_code == 303
    return _quote(market)


def _quoted(as_user, market: Market) -> FreightQuote:
    quote = _requested(as_user, market)
    assert _answer(as_user("owner"), market, quote.id).status_code == 303
    return _quote(market)


# -- the round trip -----------------------------------------------------------------------------------------------

def test_a_quote_asked_answered_and_accepted_by_pages_is_offered_at_checkout(market, as_user):
    buyer, owner = as_user("buyer"), as_user("owner")
    shop_page = _text(buyer.get(f"/t/{market.tenant.slug}/s/{market.shop.slug}/"))
    assert "询运费" in shop_page and _ask_url(market) in shop_page

    form = _text(buyer.get(_ask_url(market)))
    assert "西平县农资站后院" in form  # the buyer picks one of their own addresses
    asked = _ask(buyer, market)
    assert asked.status_code == 303 and asked.headers["Location"].endswith(_mine_url(market))
    quote = _quote(market)
    assert (quote.status, quote.weight_g, quote.volume_cm3, quote.buyer_id) == (Q.requested, 2_000_000, 1_500_000,
                                                                               market.buyer_id)
    assert quote.address["district_code"] == "411721" and quote.shop_id == market.shop.id
    assert "我的运费询价" in _text(buyer.get("/account/"))

    assert f'href="{_inbox_url(market)}"' in owner.get(f"/merchant/{market.tenant.slug}/{market.shop.slug}/") \
        .get_data(as_text=True)
    inbox = _text(owner.get(_inbox_url(market)))
    assert "驻马店市" in inbox and "2000 公斤 · 1.5 立方米" in inbox and "待报价" in inbox
    detail = _text(owner.get(f"{_inbox_url(market)}/{quote.id}"))
    assert "西平县" in detail and "两个托盘" in detail
    for private in ("王建军", "13800138001", "农资站后院", "王采购"):  # only what pricing needs
        assert private not in inbox and private not in detail
    answered = _answer(owner, market, quote.id)
    assert answered.status_code == 303
    quote = _quote(market)
    assert (quote.status, quote.fee, quote.reply) == (Q.quoted, 68000, "4.2 米厢车，次日到")

    mine = _text(buyer.get(_mine_url(market)))
    assert "¥680.00" in mine and "4.2 米厢车" in mine and "接受报价" in mine
    accepted = buyer.submit(f"{_mine_url(market)}/{quote.id}/accept", {}, page_url=_mine_url(market))
    assert accepted.status_code == 303
    assert _quote(market).status == Q.accepted
    after = _text(buyer.get(_mine_url(market)))
    assert "结账时在该店的配送方式中选择这份报价" in after and f"/t/{market.tenant.slug}/cart" in after

    cart_page = f"/t/{market.tenant.slug}/cart"
    buyer.submit(f"/t/{market.tenant.slug}/cart/add", {"variant_id": str(market.variant_id), "quantity": "2"},
                 page_url=f"/t/{market.tenant.slug}/s/{market.shop.slug}/")
    assert "复合肥" in _text(buyer.get(cart_page))
    checkout = _text(buyer.get(f"/t/{market.tenant.slug}/checkout?address={market.address_id}"))
    assert f'value="freight:quote-{quote.id}"' in checkout and "¥680.00" in checkout


def test_a_shop_without_freight_has_no_freight_quote_form(market, as_user):
    buyer = as_user("buyer")
    assert buyer.get(_ask_url(market, market.tea)).status_code == 404
    assert buyer.submit(_ask_url(market, market.tea), {"address": str(market.address_id), "weight": "10"},
                        page_url=_mine_url(market)).status_code == 404
    assert "询运费" not in _text(buyer.get(f"/t/{market.tenant.slug}/s/{market.tea.slug}/"))
    assert buyer.get(f"/t/{market.tenant.slug}/s/no-such-shop/freight-quote").status_code == 404


def test_asking_needs_a_login(market, make_client):
    response = make_client().get(_ask_url(market))
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


# -- nobody else's business ---------------------------------------------------------------------------------------

def test_another_buyer_can_neither_see_nor_accept_nor_decline_the_quote(market, as_user):
    quote = _quoted(as_user, market)
    stranger = as_user("stranger")
    assert f"freight-quote-{quote.id}" not in stranger.get(_mine_url(market)).get_data(as_text=True)
    for action in ("accept", "decline"):
        response = stranger.submit(f"{_mine_url(market)}/{quote.id}/{action}", {}, page_url=_mine_url(market))
        assert response.status_code == 404
    assert _quote(market).status == Q.quoted


def test_another_shops_merchant_cannot_see_or_answer_the_quote(market, as_user):
    quote = _requested(as_user, market)
    other = as_user("other-owner")
    assert other.get(f"{_inbox_url(market)}/{quote.id}").status_code == 403
    assert other.get(f"{_inbox_url(market, market.other_shop)}/{quote.id}").status_code == 404
    assert f"freight-quote-{quote.id}" not in other.get(_inbox_url(market, market.other_shop)).get_data(as_text=True)
    data = {"fee": "1.00", "valid_days": "7"}
    crossed = other.submit(f"{_inbox_url(market, market.other_shop)}/{quote.id}", data,
                           page_url=_inbox_url(market, market.other_shop))
    assert crossed.status_code == 404
    withdrawn = other.submit(f"{_inbox_url(market, market.other_shop)}/{quote.id}/withdraw", {},
                             page_url=_inbox_url(market, market.other_shop))
    assert withdrawn.status_code == 404
    assert _quote(market).status == Q.requested and _quote(market).fee is None


def test_a_buyer_cannot_open_the_merchant_pages(market, as_user):
    quote = _requested(as_user, market)
    buyer = as_user("buyer")
    assert buyer.get(_inbox_url(market)).status_code == 403
    assert buyer.get(f"{_inbox_url(market)}/{quote.id}").status_code == 403


# -- bad input: messages on the form, never a server error -------------------------------------------------------

@pytest.mark.parametrize(("changes", "message"), [
    ({"weight": "abc"}, "请按公斤填写重量"),
    ({"weight": "-5"}, "请按公斤填写重量"),
    ({"weight": "1e5"}, "请按公斤填写重量"),
    ({"weight": "１２"}, "请按公斤填写重量"),  # full-width digits
    ({"weight": "2.0005"}, "请按公斤填写重量"),
    ({"weight": ""}, "请填写货物重量"),
    ({"weight": "0", "volume": ""}, "请填写货物的重量或体积"),
    ({"volume": "lots"}, "请按立方米填写体积"),
    ({"address": ""}, "请选择一个收货地址"),
    ({"address": "x1"}, "请选择一个收货地址"),
    ({"address": "99999999999999999999999"}, "请选择一个收货地址"),
    ({"description": "长" * 2001}, "2000"),
])
def test_bad_requests_are_shown_on_the_form(market, as_user, changes, message):
    response = _ask(as_user("buyer"), market, **changes)
    assert response.status_code == 400 and message in _text(response)
    assert _quote(market) is None


def test_someone_elses_address_is_not_a_choice(market, as_user):
    response = _ask(as_user("buyer"), market, address=str(market.stranger_address_id))
    assert response.status_code == 400 and "请选择一个收货地址" in _text(response)
    assert _quote(market) is None


def test_a_buyer_without_addresses_is_sent_to_add_one(market, as_user, make_user):
    make_user("newcomer@shangdu.example")
    page = _text(as_user("newcomer").get(_ask_url(market)))
    assert "询运费需要一个收货地址" in page and "/account/addresses/new" in page


def test_a_volume_alone_is_a_load(market, as_user):
    assert _ask(as_user("buyer"), market, weight="0", volume="12.25").status_code == 303
    quote = _quote(market)
    assert (quote.weight_g, quote.volume_cm3) == (0, 12_250_000)


@pytest.mark.parametrize(("changes", "message"), [
    ({"fee": "-5"}, "请填写正确的金额"),
    ({"fee": "abc"}, "请填写正确的金额"),
    ({"fee": "12.345"}, "请填写正确的金额"),
    ({"fee": ""}, "请填写运费"),
    ({"valid_days": "0"}, "报价有效期应为 1-30 天"),
    ({"valid_days": "31"}, "报价有效期应为 1-30 天"),
    ({"valid_days": "x"}, "报价有效期应为 1-30 天"),
])
def test_bad_answers_are_shown_on_the_form(market, as_user, changes, message):
    quote = _requested(as_user, market)
    response = _answer(as_user("owner"), market, quote.id, **changes)
    assert response.status_code == 400 and message in _text(response)
    assert _quote(market).status == Q.requested


def test_a_quote_is_answered_once(market, as_user):
    quote = _quoted(as_user, market)
    again = _answer(as_user("owner"), market, quote.id, fee="1.00")
    assert again.status_code == 400 and "这份询价已经回复或关闭了" in _text(again)
    assert _quote(market).fee == 68000


# -- closing a quote ----------------------------------------------------------------------------------------------

def test_the_buyer_declines_and_the_quote_is_not_offered(market, as_user):
    quote = _quoted(as_user, market)
    buyer = as_user("buyer")
    declined = buyer.submit(f"{_mine_url(market)}/{quote.id}/decline", {}, page_url=_mine_url(market))
    assert declined.status_code == 303 and _quote(market).status == Q.declined
    late = buyer.submit(f"{_mine_url(market)}/{quote.id}/accept", {}, page_url=_mine_url(market))
    assert late.status_code == 303
    assert "这份报价当前不能接受" in _text(buyer.get(_mine_url(market)))
    assert _quote(market).status == Q.declined


def test_the_merchant_withdraws_a_price_the_buyer_has_not_accepted(market, as_user):
    quote = _quoted(as_user, market)
    owner = as_user("owner")
    assert "撤回报价" in _text(owner.get(f"{_inbox_url(market)}/{quote.id}"))
    withdrawn = owner.submit(f"{_inbox_url(market)}/{quote.id}/withdraw", {}, page_url=f"{_inbox_url(market)}/{quote.id}")
    assert withdrawn.status_code == 303 and _quote(market).status == Q.withdrawn
    again = owner.submit(f"{_inbox_url(market)}/{quote.id}/withdraw", {}, page_url=f"{_inbox_url(market)}/{quote.id}")
    assert again.status_code == 303 and "不能撤回" in _text(owner.get(_inbox_url(market)))
    mine = _text(as_user("buyer").get(_mine_url(market)))
    assert "已撤回" in mine and "接受报价" not in mine


def test_an_expired_price_reads_expired_and_cannot_be_accepted(market, as_user):
    quote = _quoted(as_user, market)
    with tenant_scope(market.tenant):
        db.session.execute(update(FreightQuote).where(FreightQuote.id == quote.id)
                           .values(valid_until=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    buyer = as_user("buyer")
    mine = _text(buyer.get(_mine_url(market)))
    assert "已过期" in mine and "接受报价" not in mine
    refused = buyer.submit(f"{_mine_url(market)}/{quote.id}/accept", {}, page_url=_mine_url(market))
    assert refused.status_code == 303 and "已过期" in _text(buyer.get(_mine_url(market)))
    assert _quote(market).status == Q.quoted
