"""``pickup``: the conformance kit, opening hours in the promise, and collection codes — shown to the buyer,
redeemed once by the tenant's staff, useless in another tenant."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.core.db import writing
from marketplace.delivery import pickup, services
from marketplace.delivery.conformance import ZONE, DeliveryConformance
from marketplace.delivery.models import Shipment, ShipmentEvent
from marketplace.delivery.providers import DeliveryError, NotCovered, ShipmentStatus
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from marketplace.tenancy.context import tenant_scope

S = ShipmentStatus


class TestPickup(DeliveryConformance):
    provider_name = "pickup"
    options = {"counter_hours": "08:00-20:00", "prepare_minutes": 30}
    journey = (S.ready_for_pickup, S.collected)

    def uncovered(self, request):
        # A shop that never opens, on a street without a counter: nowhere to collect.
        from dataclasses import replace

        points = tuple(replace(p, hours={day: "closed" for day in pickup.WEEKDAYS}) for p in request.origin.pickup_points
                       if p.code == "shop")
        return replace(request, origin=replace(request.origin, pickup_points=points))


kit = TestPickup()


def test_the_promise_respects_opening_hours(world_factory):
    tenant, shop = world_factory()
    with tenant_scope(tenant):
        shop.opening_hours = {**{day: "09:00-18:00" for day in pickup.WEEKDAYS}, "tue": "closed"}
        provider = services.provider_for(tenant, shop, "pickup")
        evening = datetime(2026, 11, 30, 17, 45, tzinfo=ZONE)  # Monday, the shop closes at six, prepares 30 min
        options = {o.code: o for o in provider.quote(kit.request(tenant, shop, now=evening))}
        # Ready at 18:15, after closing; Tuesday closed: Wednesday at nine.
        assert options["shop"].earliest == datetime(2026, 12, 2, 9, 0, tzinfo=ZONE)
        # The counter opens 08:00-20:00 every day: the same evening.
        assert options["counter"].earliest == datetime(2026, 11, 30, 18, 15, tzinfo=ZONE)
        assert "德化" not in options["counter"].label and "联合自提点" in options["counter"].label


def test_the_counter_is_offered_only_where_the_tenant_has_one(world_factory):
    tenant, shop = world_factory()
    with tenant_scope(tenant):
        tenant.layout = {}
        codes = [o.code for o in services.provider_for(tenant, shop, "pickup").quote(kit.request(tenant, shop))]
        assert codes == ["shop"]
        shop.opening_hours = {day: "closed" for day in pickup.WEEKDAYS}
        with pytest.raises(NotCovered, match="自提点"):
            services.provider_for(tenant, shop, "pickup").quote(kit.request(tenant, shop))


@pytest.fixture
def world_factory(app_ctx):
    def make():
        tenant, shop, _variant, _buyer = kit.make_world()
        return tenant, shop
    return make


@pytest.fixture
def ready(app_ctx):
    """An order at the shared counter, ready: its shipment and its code."""
    world = kit.make_world()
    order, shipment = _at_counter(world)
    return world, order, shipment


def _at_counter(world):
    tenant, shop, variant, buyer = world
    import uuid

    from marketplace.orders import handling
    from marketplace.orders import services as orders

    with tenant_scope(tenant):
        quote = services.quote_shop(tenant, shop, services.parcel_of([]), None)
        option = quote.find("pickup", "counter")
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        orders.set_line(cart, variant.id, 1)
        db.session.commit()
        group = orders.place_order(tenant, buyer.id, cart, uuid.uuid4().hex,
                                   delivery={shop.id: services.Chosen(option)})
        order = group.orders[0]
        handling.confirm_offline_payment(order, actor_id=None)
        orders.transition(order, orders.S.accepted)
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        services.advance(shipment, S.ready_for_pickup, location="联合自提点")
        db.session.commit()
        return order, shipment


def test_a_code_is_eight_random_digits_kept_only_as_a_hash(ready):
    (tenant, *_rest), order, shipment = ready
    with tenant_scope(tenant):
        code = pickup.code_for(shipment)
        assert len(code) == 8 and code.isdigit()
        assert code not in (shipment.pickup_code_hash, shipment.pickup_code_salt, shipment.tracking_token)
        assert order.status == OrderStatus.ready_for_pickup
        assert "<svg" in pickup.qr_svg(code)


def test_a_code_is_redeemed_once_and_the_order_is_picked_up(ready):
    (tenant, *_rest), order, shipment = ready
    with tenant_scope(tenant):
        code = pickup.code_for(shipment)
        pickup.redeem(f" {code[:4]} {code[4:]} ", actor_id=None)  # typed with spaces
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Order, order.id).status == OrderStatus.picked_up
        assert returns.received_on(tenant, order) is not None
        with pytest.raises(DeliveryError) as again:
            pickup.redeem(code, actor_id=None)
        assert again.value.code == "already_collected"
        with pytest.raises(DeliveryError) as wrong:
            pickup.redeem("12345678" if code != "12345678" else "87654321", actor_id=None)
        assert wrong.value.code == "unknown_code"


def test_a_code_of_one_tenant_is_useless_in_another(app_ctx):
    first = kit.make_world()
    order, shipment = _at_counter(first)
    other = kit.make_world()
    with tenant_scope(first[0]):
        code = pickup.code_for(shipment)
    with tenant_scope(other[0]), pytest.raises(DeliveryError) as refused:
        pickup.redeem(code, actor_id=None)
    assert refused.value.code == "unknown_code"


def test_a_merchant_redeems_only_for_their_own_shop(ready):
    (tenant, shop, *_rest), order, shipment = ready
    with tenant_scope(tenant):
        with pytest.raises(DeliveryError):
            pickup.redeem(pickup.code_for(shipment), actor_id=None, shop_ids={shop.id + 1000})
        pickup.redeem(pickup.code_for(shipment), actor_id=None, shop_ids={shop.id})


def test_uncollected_goods_are_reminded_then_returned_to_stock(ready):
    (tenant, shop, variant, _buyer), order, shipment = ready
    with tenant_scope(tenant):
        stock = variant.stock
        since = shipment.status_changed_at
        assert pickup.remind_and_return(tenant, since + timedelta(hours=1)) == (0, 0)
        assert pickup.remind_and_return(tenant, since + timedelta(hours=25)) == (1, 0)
        assert pickup.remind_and_return(tenant, since + timedelta(hours=26)) == (0, 0)  # reminded once
        assert pickup.remind_and_return(tenant, since + timedelta(days=3, minutes=1)) == (0, 1)
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Order, order.id).status == OrderStatus.cancelled
        assert db.session.get(Shipment, shipment.id).status == S.returned
        assert db.session.get(type(variant), variant.id).stock == stock + 1


def test_the_hourly_job_returns_what_waited_too_long(app, ready):
    (tenant, _shop, variant, _buyer), order, shipment = ready
    with tenant_scope(tenant):
        stock = variant.stock
        # Ready four days ago: past the tenant's three days of holding.
        db.session.execute(Shipment.__table__.update().where(Shipment.id == shipment.id)
                           .values(status_changed_at=shipment.status_changed_at - timedelta(days=4)))
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["delivery", "pickups"])

    assert result.exit_code == 0, result.output
    assert f"{tenant.slug}：提醒 0 单，逾期退回 1 单。" in result.output
    db.session.expire_all()
    with tenant_scope(tenant):
        assert db.session.get(Order, order.id).status == OrderStatus.cancelled
        assert db.session.get(type(variant), variant.id).stock == stock + 1


@pytest.mark.no_transaction
def test_one_code_redeemed_at_two_counters_at_once_hands_the_goods_over_once(app):
    """Ten staff type the same code at the same moment, each on their own connection: exactly one hands the
    goods over; everyone else is told the code was already used. Runs on the configured database (SQLite here,
    PostgreSQL in CI)."""
    import threading

    from marketplace.accounts.models import User
    from marketplace.tenancy.models import Tenant
    from tests.search.test_indexing import purge

    with app.test_request_context():
        world = kit.make_world()
        tenant, buyer = world[0], world[3]
        try:
            order, shipment = _at_counter(world)
            with tenant_scope(tenant):
                code = pickup.code_for(shipment)
            db.session.commit()
            tenant_id, outcomes = tenant.id, []
            start = threading.Barrier(10, timeout=30)

            def redeem() -> None:
                with app.test_request_context(), writing():  # as the counter's POST request is
                    start.wait()  # before any connection is taken: the pool has fewer than 20
                    here = db.session.get(Tenant, tenant_id)
                    with tenant_scope(here):
                        try:
                            pickup.redeem(code, actor_id=None)
                            db.session.commit()
                            outcomes.append("handed over")
                        except DeliveryError as error:
                            db.session.rollback()
                            outcomes.append(error.code)
                        except Exception as error:  # noqa: BLE001 - the outcome is what the test reads
                            db.session.rollback()
                            outcomes.append(f"{type(error).__name__}: {error}")

            threads = [threading.Thread(target=redeem) for _ in range(10)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert sorted(outcomes) == ["already_collected"] * 9 + ["handed over"], outcomes
            db.session.commit()
            with tenant_scope(tenant):
                assert db.session.scalar(select(Order.status).where(Order.id == order.id)) == OrderStatus.picked_up
                assert db.session.scalar(select(func.count(ShipmentEvent.id)).where(
                    ShipmentEvent.shipment_id == shipment.id, ShipmentEvent.to_status == S.collected)) == 1
                assert db.session.scalar(select(func.count(OrderEvent.id)).where(
                    OrderEvent.order_id == order.id, OrderEvent.to_status == OrderStatus.picked_up)) == 1
        finally:
            purge(tenant.id)
            with db.engine.begin() as connection:
                connection.execute(User.__table__.delete().where(User.id == buyer.id))


def test_goods_at_the_shared_counter_are_handed_over_only_against_their_code(ready):
    """The shop's "picked up" button is for its own counter; at the street's counter only the code hands over."""
    from marketplace.orders import handling

    (tenant, *_rest), order, shipment = ready
    with tenant_scope(tenant):
        picked_up = handling.ACTIONS["picked_up"]
        assert not handling.offered(picked_up, order)
        assert handling.refusal(picked_up, order, "")[0] == "invalid_transition"
        pickup.redeem(pickup.code_for(shipment), actor_id=None)
        assert order.status == OrderStatus.picked_up
