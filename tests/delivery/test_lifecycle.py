"""What happens to a shipment around its order: a cancelled or refunded order gives back its slot place and its
freight quote; a parcel the carrier brings back is refunded in full; hours, capacities and addresses the
operator or buyer change later never break a checkout."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from marketplace.delivery import pickup, services
from marketplace.delivery.conformance import ZONE
from marketplace.delivery.models import DeliverySlot, FreightQuoteStatus, Shipment
from marketplace.delivery.providers import DeliveryError, Parcel, ShipmentStatus
from marketplace.extensions import db
from marketplace.orders import handling, returns
from marketplace.orders import services as orders
from marketplace.orders.models import OrderStatus
from marketplace.tenancy.context import tenant_scope
from tests.delivery import test_express, test_freight, test_local_courier, test_pickup

S = ShipmentStatus


def _paid_and_accepted(order):
    handling.confirm_offline_payment(order, actor_id=None)
    orders.transition(order, orders.S.accepted)


def test_a_shop_open_all_night_is_promised_not_broken(app_ctx):
    tenant, shop, _variant, _buyer = test_pickup.kit.make_world()
    with tenant_scope(tenant):
        shop.opening_hours = {day: "00:00-24:00" for day in pickup.WEEKDAYS}
        late = datetime(2026, 11, 30, 23, 50, tzinfo=ZONE)
        options = {o.code: o for o in services.provider_for(tenant, shop, "pickup").quote(
            test_pickup.kit.request(tenant, shop, now=late))}
        assert options["shop"].earliest == datetime(2026, 12, 1, 0, 20, tzinfo=ZONE)  # ready 30 minutes later
        shop.opening_hours = {day: "早上-晚上" for day in pickup.WEEKDAYS}  # hours this cannot read: not promised
        assert "shop" not in {o.code for o in services.provider_for(tenant, shop, "pickup").quote(
            test_pickup.kit.request(tenant, shop, now=late))}


@pytest.fixture
def courier(app_ctx):
    return test_local_courier.kit.make_world()


def _courier_order(world, slot_capacity: int):
    tenant, shop, variant, buyer = world
    from marketplace.tenancy.settings import module_settings

    evening = {**test_local_courier.EVENING, "capacity": slot_capacity}
    module_settings["delivery"].set(tenant, "options", {"local_courier": {"slots": [evening], "days_ahead": 2}})
    address = test_local_courier.address_in(test_local_courier.ERQI)
    option = services.quote_shop(tenant, shop, Parcel(weight_g=1000), address).options[0]
    cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
    orders.set_line(cart, variant.id, 1)
    db.session.commit()
    group = orders.place_order(tenant, buyer.id, cart, f"lc-{option.code}-{slot_capacity}",
                               delivery={shop.id: services.Chosen(option, address)})
    return group.orders[0], option


def test_raising_a_slots_capacity_lets_the_next_buyer_in(courier):
    tenant, shop, _variant, _buyer = courier
    with tenant_scope(tenant):
        _first, option = _courier_order(courier, 1)
        provider = services.provider_for(tenant, shop, "local_courier")
        with pytest.raises(DeliveryError):
            services.book(tenant, shop, provider, option.code)  # the one place is taken
        from marketplace.tenancy.settings import module_settings

        module_settings["delivery"].set(tenant, "options", {"local_courier": {
            "slots": [{**test_local_courier.EVENING, "capacity": 3}], "days_ahead": 2}})
        services.book(tenant, shop, services.provider_for(tenant, shop, "local_courier"), option.code)
        slot = db.session.scalar(select(DeliverySlot).where(DeliverySlot.option_code == option.code))
        assert (slot.booked, slot.capacity) == (2, 3)


def test_a_full_refund_before_dispatch_calls_the_shipment_off_and_frees_the_slot(courier):
    tenant, _shop, _variant, _buyer = courier
    with tenant_scope(tenant):
        order, option = _courier_order(courier, 2)
        _paid_and_accepted(order)
        returns.refund(order, order.total, actor_id=None, note="缺货")
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        assert order.status == OrderStatus.refunded and shipment.status == S.cancelled
        assert db.session.scalar(select(DeliverySlot.booked).where(DeliverySlot.option_code == option.code)) == 0


@pytest.fixture
def market(app_ctx):
    return test_freight.kit.make_world()


def test_a_freight_quote_is_never_offered_without_an_address_nor_shipped_to_nowhere(market):
    tenant, shop, _variant, buyer = market
    with tenant_scope(tenant):
        quote = test_freight.quoted(market)
        from marketplace.delivery import freight

        freight.accept(quote, buyer.id)
        assert services.quote_shop(tenant, shop, Parcel(3000), None, buyer_id=buyer.id).find(
            "freight", f"quote-{quote.id}") is None
        option = test_freight.offered(market, buyer.id).find("freight", f"quote-{quote.id}")
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        orders.set_line(cart, market[2].id, 1)
        db.session.commit()
        with pytest.raises(orders.CheckoutError) as refused:
            orders.place_order(tenant, buyer.id, cart, "no-address", delivery={shop.id: services.Chosen(option)})
        assert [p.code for p in refused.value.problems] == ["address_required"]


def test_a_cancelled_order_gives_its_freight_quote_back(market):
    tenant, _shop, _variant, buyer = market
    with tenant_scope(tenant):
        quote = test_freight.quoted(market)
        from marketplace.delivery import freight

        freight.accept(quote, buyer.id)
        option = test_freight.offered(market, buyer.id).find("freight", f"quote-{quote.id}")
        order = test_freight.checkout(market, option, buyer.id)
        db.session.refresh(quote)
        assert quote.status == FreightQuoteStatus.used
        orders.cancel_by_buyer(order, buyer_id=buyer.id, reason="改天再买")
        db.session.refresh(quote)
        assert quote.status == FreightQuoteStatus.accepted
        assert test_freight.offered(market, buyer.id).find("freight", f"quote-{quote.id}") is not None


def test_a_parcel_the_carrier_brings_back_is_refunded_in_full_and_restocked(app_ctx):
    world = test_express.kit.make_world()
    tenant, _shop, variant, _buyer = world
    with tenant_scope(tenant):
        order, shipment = test_express.kit.place(world)
        stock = variant.stock
        from marketplace.delivery import express

        refund = handling.ACTIONS["refund_returned"]
        express.ship(shipment, "中通快递", "ZT10001", actor_id=None)
        assert not handling.offered(refund, order)  # on its way: nothing to refund yet
        services.advance(shipment, S.exception, note="收件人拒收")
        services.advance(shipment, S.returned, note="已退回商家")
        assert order.status == OrderStatus.shipped and handling.offered(refund, order)
        handling.perform(order, refund, actor_id=None)
        db.session.refresh(variant)
        assert order.status == OrderStatus.refunded and order.refunded == order.total
        assert variant.stock == stock + 2
        with pytest.raises(returns.ReturnError):
            returns.refund(order, 1, actor_id=None)
