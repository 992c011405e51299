"""A shipment's timeline: made for an order, moved only forward through ``advance``, each step kept for good,
receipt recorded, cancellation only before the goods leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.core.db import AppendOnly, utcnow
from marketplace.delivery import services as delivery
from marketplace.delivery.models import Shipment, ShipmentEvent
from marketplace.delivery.providers import DeliveryError, ShipmentStatus
from marketplace.extensions import db
from marketplace.orders import handling
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.tenancy.context import tenant_scope
from tests.orders.test_place_order import fill

S = ShipmentStatus


@pytest.fixture
def order(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    """A paid, accepted order collected at the shop, with the shipment its placement made."""
    tenant = make_tenant()
    category = make_category(tenant, product_type="general.goods")
    fertiliser = make_product(make_shop(tenant), category=category, title="复合肥 15-15-15", price=16600, stock=500)
    buyer = make_user()
    cart = fill(tenant, buyer, {fertiliser: 40})
    with tenant_scope(tenant):
        placed = orders.place_order(tenant, buyer.id, cart, "ship-1").orders[0]
        db.session.commit()
    return tenant, placed


def accept(placed) -> Shipment:
    handling.confirm_offline_payment(placed, actor_id=None)
    orders.transition(placed, orders.S.accepted)
    return db.session.scalar(select(Shipment).where(Shipment.order_id == placed.id))


def test_placing_an_order_makes_its_shipment_and_the_order_follows_it_to_receipt(order):
    tenant, placed = order
    with tenant_scope(tenant):
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == placed.id))
        assert shipment.provider == "pickup" and shipment.option_code == "shop" and shipment.status == S.created
        assert len(shipment.tracking_token) >= 32
        with pytest.raises(DeliveryError) as early:  # not paid, not accepted: the goods cannot be ready
            delivery.advance(shipment, S.ready_for_pickup)
        assert early.value.code == "order_not_ready"
        accept(placed)
        delivery.advance(shipment, S.ready_for_pickup)
        assert placed.status == OrderStatus.ready_for_pickup
        collected = utcnow()
        delivery.advance(shipment, S.collected, note="本人取货", at=collected)
        db.session.commit()
        db.session.expire_all()
        shipment = db.session.scalar(select(Shipment))
        assert shipment.status == S.collected and shipment.received_at == collected
        assert db.session.get(Order, placed.id).status == OrderStatus.picked_up
        assert [e.to_status for e in shipment.events] == [S.created, S.ready_for_pickup, S.collected]


def test_tracking_that_tries_to_move_backwards_or_twice_is_refused_and_changes_nothing(order):
    tenant, placed = order
    with tenant_scope(tenant):
        shipment = accept(placed)
        delivery.advance(shipment, S.ready_for_pickup)
        for wrong in (S.ready_for_pickup, S.created, S.in_transit, "teleported"):
            with pytest.raises(DeliveryError) as refused:
                delivery.advance(shipment, wrong)
            assert refused.value.code == "invalid_transition"
        db.session.commit()
        assert db.session.scalar(select(Shipment.status)) == S.ready_for_pickup
        assert len(db.session.scalars(select(ShipmentEvent)).all()) == 2


def test_a_stale_copy_cannot_move_a_shipment_someone_else_moved(order):
    tenant, placed = order
    with tenant_scope(tenant):
        shipment = accept(placed)
        db.session.commit()
        assert shipment.status == S.created  # this copy, read now
        db.session.execute(Shipment.__table__.update().values(status=S.ready_for_pickup))  # a counter, elsewhere
        with pytest.raises(DeliveryError) as refused:
            delivery.advance(shipment, S.cancelled)  # the copy still says "created"
        assert refused.value.code == "moved_meanwhile" and shipment.status == S.ready_for_pickup


def test_cancelling_the_order_calls_the_shipment_off_but_not_once_collected(order):
    tenant, placed = order
    with tenant_scope(tenant):
        shipment = accept(placed)
        delivery.advance(shipment, S.ready_for_pickup)
        delivery.advance(shipment, S.collected)
        with pytest.raises(DeliveryError) as refused:
            delivery.cancel(shipment)
        assert refused.value.code == "too_late" and shipment.status == S.collected


def test_a_step_cannot_be_dated_before_the_one_before_it_nor_in_the_future(order):
    """A backdated receipt would shorten the buyer's 7-day return window: refused, and nothing moves."""
    tenant, placed = order
    with tenant_scope(tenant):
        shipment = accept(placed)
        delivery.advance(shipment, S.ready_for_pickup)
        for when in (datetime(2020, 1, 1, tzinfo=UTC), utcnow() + timedelta(hours=1)):
            with pytest.raises(DeliveryError) as refused:
                delivery.advance(shipment, S.collected, at=when)
            assert refused.value.code == "bad_time" and shipment.status == S.ready_for_pickup
        assert shipment.received_at is None


def test_the_timeline_is_never_rewritten(order):
    tenant, placed = order
    with tenant_scope(tenant):
        db.session.commit()
        step = db.session.scalar(select(ShipmentEvent))
        step.note = "改写"
        with pytest.raises(AppendOnly):
            db.session.flush()
        db.session.rollback()
