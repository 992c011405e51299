"""``freight``: the conformance kit for a market, the rate table (weight against volume, the minimum), and the
merchant's quote — asked, answered, accepted, used by exactly one order of that buyer at that shop."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from marketplace.accounts import services as accounts
from marketplace.core.db import utcnow
from marketplace.delivery import freight, services
from marketplace.delivery.conformance import MONDAY_MORNING, DeliveryConformance
from marketplace.delivery.freight import FreightProvider
from marketplace.delivery.models import FreightQuote, FreightQuoteStatus, Shipment
from marketplace.delivery.providers import (
    Address,
    DeliveryError,
    NotCovered,
    Origin,
    Parcel,
    ProviderLoadError,
    QuoteRequest,
    ShipmentStatus,
    check_options,
)
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.tenancy.context import tenant_scope

S = ShipmentStatus
Q = FreightQuoteStatus
COUNTY_TOWN = Address("王建军", "13800138001", "410000", "411700", "411721", "西平县农资站")
BEIJING = Address("李红", "13900139000", "110000", "110100", "110105", "建国路 1 号")


class TestFreight(DeliveryConformance):
    provider_name = "freight"
    tenant_kind = "market"
    options = {"max_weight_kg": 5000}
    journey = (S.picked_up_by_carrier, S.in_transit, S.delivered)

    def address(self):
        return COUNTY_TOWN

    def uncovered(self, request):
        return replace(request, parcel=replace(request.parcel, weight_g=5000 * 1000 + 1))


kit = TestFreight()


def asking(address: Address, weight_g: int, volume_cm3: int = 0, **options) -> int:
    provider = FreightProvider({}, check_options(FreightProvider, options))
    [option] = provider.quote(QuoteRequest(tenant="t", origin=Origin(1, "农资店", "market"), address=address,
                                           now=MONDAY_MORNING, parcel=Parcel(weight_g, volume_cm3)))
    return option.fee


@pytest.mark.parametrize(("address", "weight_g", "volume_cm3", "fee"), [
    (COUNTY_TOWN, 2_000_000, 1_000_000, 80000),  # two tonnes in a cubic metre: by weight, 0.40 a kg
    (COUNTY_TOWN, 100_000, 2_000_000, 24000),  # 100 kg of chairs in two cubic metres: by volume
    (COUNTY_TOWN, 10_000, 10_000, 3000),  # a small load: the minimum
    (BEIJING, 500_000, 1_000_000, 40000),  # elsewhere, the default table: 0.80 a kg
    (BEIJING, 100_000, 3_000_000, 60000),
    (BEIJING, 1_000, 0, 5000),
])
def test_the_rate_table_charges_weight_or_volume_whichever_is_more(app_ctx, address, weight_g, volume_cm3, fee):
    assert asking(address, weight_g, volume_cm3) == fee


def test_fractions_of_a_fen_are_rounded_up():
    rate = {"per_kg": 80, "per_m3": 20000, "minimum": 0}
    assert freight.chargeable(rate, 1, 0) == 1 and freight.chargeable(rate, 12_501, 0) == 1001
    assert freight.chargeable(rate, 0, 51) == 2


def test_excluded_provinces_and_heavy_loads_are_sent_to_the_merchant(app_ctx):
    with pytest.raises(NotCovered, match="北京市.*询价"):
        asking(BEIJING, 1000, excluded=["110000"])
    with pytest.raises(NotCovered, match="10 公斤"):
        asking(BEIJING, 10_001, max_weight_kg=10)


@pytest.mark.parametrize("options", [
    {"rates": {"410000": {"per_kg": 1}}},
    {"rates": {"default": {"per_kg": 80, "per_m3": 20000, "minimum": 5000}}},
    {"rates": {"default": {**freight.DEFAULT_RATES["default"], "per_kg": -1}}},
    {"rates": {**freight.DEFAULT_RATES, "410100": {"per_kg": 1}}},
    {"excluded": ["999999"]},
    {"max_weight_kg": 0},
])
def test_broken_rate_tables_are_refused(app_ctx, options):
    with pytest.raises(ProviderLoadError):
        check_options(FreightProvider, options)


# -- merchant quotes ------------------------------------------------------------------------------------------------

@pytest.fixture
def market(app_ctx):
    return kit.make_world()


def another_buyer():
    return accounts.register_user(f"fq{uuid.uuid4().hex[:10]}@shangdu.example", "correct-horse-42", "另一位买家")


def quoted(market, fee: int = 68000, *, valid_days: int = 7) -> FreightQuote:
    tenant, shop, _variant, buyer = market
    quote = freight.request_quote(tenant, shop, buyer.id, COUNTY_TOWN, 2_000_000, 1_500_000, "复合肥 40 袋，需卸货")
    assert quote.status == Q.requested and quote.fee is None
    freight.answer(quote, fee, "4.2 米厢车，次日到", valid_days, actor_id=None)
    return quote


def offered(market, buyer_id: int, address: Address = COUNTY_TOWN):
    tenant, shop, _variant, _buyer = market
    return services.quote_shop(tenant, shop, Parcel(3000), address, now=MONDAY_MORNING, buyer_id=buyer_id)


def checkout(market, option, buyer_id: int):
    tenant, shop, variant, _buyer = market
    cart = orders.cart_for(tenant, user_id=buyer_id, create=True)
    orders.set_line(cart, variant.id, 2)
    db.session.commit()
    return orders.place_order(tenant, buyer_id, cart, uuid.uuid4().hex,
                              delivery={shop.id: services.Chosen(option, COUNTY_TOWN)}).orders[0]


def test_an_accepted_quote_is_offered_and_used_once_at_its_fee(market):
    tenant, shop, _variant, buyer = market
    with tenant_scope(tenant):
        quote = quoted(market)
        assert quote.status == Q.quoted and quote.valid_until > utcnow() + timedelta(days=6)
        code = f"quote-{quote.id}"
        assert offered(market, buyer.id).find("freight", code) is None  # not yet accepted
        freight.accept(quote, buyer.id)
        option = offered(market, buyer.id).find("freight", code)
        assert option.fee == 68000 and "厢车" in " ".join(option.constraints)
        config = services.tenant_delivery(tenant)
        for_place = [o.code for o in services._freight_quote_options(tenant, shop, config, buyer_id=buyer.id,
                                                                     address=COUNTY_TOWN)]
        assert for_place == [code]
        assert services._freight_quote_options(tenant, shop, config, buyer_id=buyer.id, address=BEIJING) == []
        assert offered(market, None).find("freight", code) is None

        order = checkout(market, option, buyer.id)
        assert order.delivery_fee == 68000 and order.total == order.items_total + 68000
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        assert (shipment.provider, shipment.option_code, shipment.fee) == ("freight", code, 68000)
        db.session.refresh(quote)
        assert quote.status == Q.used
        assert offered(market, buyer.id).find("freight", code) is None

        with pytest.raises(orders.CheckoutError) as again:
            checkout(market, option, buyer.id)
        assert [p.code for p in again.value.problems] == ["quote_used"]


def test_another_buyer_cannot_accept_or_use_the_quote(market):
    tenant, shop, _variant, buyer = market
    with tenant_scope(tenant):
        quote = quoted(market)
        stranger = another_buyer()
        db.session.commit()
        with pytest.raises(DeliveryError) as refused:
            freight.accept(quote, stranger.id)
        assert refused.value.code == "not_yours"
        freight.accept(quote, buyer.id)
        option = offered(market, buyer.id).find("freight", f"quote-{quote.id}")
        assert offered(market, stranger.id).find("freight", option.code) is None
        with pytest.raises(orders.CheckoutError) as theirs:
            checkout(market, option, stranger.id)
        assert [p.code for p in theirs.value.problems] == ["quote_used"]
        db.session.refresh(quote)
        assert quote.status == Q.accepted  # still the buyer's to use


def test_an_expired_quote_can_be_neither_accepted_nor_used(market):
    tenant, shop, _variant, buyer = market
    with tenant_scope(tenant):
        late = quoted(market)
        kept = quoted(market, 50000)
        freight.accept(kept, buyer.id)
        option = offered(market, buyer.id).find("freight", f"quote-{kept.id}")
        past = utcnow() - timedelta(minutes=1)
        db.session.execute(update(FreightQuote).where(FreightQuote.id.in_([late.id, kept.id]))
                           .values(valid_until=past))
        db.session.commit()
        db.session.refresh(late)
        with pytest.raises(DeliveryError) as expired:
            freight.accept(late, buyer.id)
        assert expired.value.code == "quote_expired" and late.status == Q.quoted
        assert offered(market, buyer.id).find("freight", option.code) is None
        with pytest.raises(orders.CheckoutError) as refused:
            checkout(market, option, buyer.id)
        assert [p.code for p in refused.value.problems] == ["quote_used"]


def test_a_quote_used_at_another_fee_is_refused(market):
    tenant, shop, _variant, buyer = market
    with tenant_scope(tenant):
        quote = quoted(market)
        freight.accept(quote, buyer.id)
        option = offered(market, buyer.id).find("freight", f"quote-{quote.id}")
        with pytest.raises(orders.CheckoutError):
            checkout(market, replace(option, fee=1), buyer.id)
        db.session.refresh(quote)
        assert quote.status == Q.accepted


def test_a_stale_copy_of_a_used_quote_cannot_use_it_again(market):
    """The use is one conditional update: a copy loaded before another checkout used it changes nothing."""
    tenant, shop, _variant, buyer = market
    with tenant_scope(tenant):
        quote = quoted(market)
        freight.accept(quote, buyer.id)
        order = checkout(market, offered(market, buyer.id).find("freight", f"quote-{quote.id}"), buyer.id)
        db.session.refresh(quote)
        set_committed_value(quote, "status", Q.accepted)  # as a concurrent checkout had read it
        with pytest.raises(DeliveryError) as refused:
            freight.use_quote(order, f"quote-{quote.id}")
        assert refused.value.code == "quote_used" and quote.status == Q.used


@pytest.mark.parametrize("code", ["quote-", "quote-x1", "quote-999999999", "quote-１"])
def test_a_malformed_or_unknown_quote_code_is_refused(market, code):
    tenant, shop, _variant, buyer = market
    with tenant_scope(tenant):
        order = checkout(market, offered(market, buyer.id).find("freight", "410000"), buyer.id)
        with pytest.raises(DeliveryError) as refused:
            freight.use_quote(order, code)
        assert refused.value.code == "quote_used"


def test_each_step_happens_once_and_only_from_its_place(market):
    tenant, shop, _variant, buyer = market
    with tenant_scope(tenant):
        quote = quoted(market)
        with pytest.raises(DeliveryError) as twice:
            freight.answer(quote, 1, "改价", 3)
        assert twice.value.code == "not_requested" and quote.fee == 68000
        freight.decline(quote, buyer.id)
        with pytest.raises(DeliveryError) as closed:
            freight.accept(quote, buyer.id)
        assert closed.value.code == "not_quoted" and quote.status == Q.declined
        fresh = freight.request_quote(tenant, shop, buyer.id, COUNTY_TOWN, 1000, 0, "")
        freight.withdraw(fresh)
        assert fresh.status == Q.withdrawn


@pytest.mark.parametrize(("weight_g", "volume_cm3", "fee", "days", "code"), [
    (0, 0, 100, 7, "bad_load"), (-5, 0, 100, 7, "bad_load"),
    (1000, 0, -1, 7, "bad_fee"), (1000, 0, 100, 0, "bad_validity"), (1000, 0, 100, 31, "bad_validity"),
])
def test_bad_requests_and_answers_are_refused_by_code(market, weight_g, volume_cm3, fee, days, code):
    tenant, shop, _variant, buyer = market
    with tenant_scope(tenant), pytest.raises(DeliveryError) as refused:
        quote = freight.request_quote(tenant, shop, buyer.id, COUNTY_TOWN, weight_g, volume_cm3, "")
        freight.answer(quote, fee, "", days)
    assert refused.value.code == code
