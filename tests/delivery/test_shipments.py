"""A shipment's timeline: made for an order, moved only forward through ``advance``, each step kept for good,
receipt recorded, cancellation only before the goods leave."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from marketplace.delivery import services as delivery
from marketplace.delivery.models import AppendOnly, Shipment, ShipmentEvent
from marketplace.delivery.providers import DeliveryError, ShipmentStatus
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.tenancy.context import tenant_scope
from tests.orders.test_place_order import fill

S = ShipmentStatus


@pytest.fixture
def order(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant()
    category = make_category(tenant, product_type="general.goods")
    fertiliser = make_product(make_shop(tenant), category=category, title="复合肥 15-15-15", price=16600, stock=500)
    buyer = make_user()
    cart = fill(tenant, buyer, {fertiliser: 40})
    with tenant_scope(tenant):
        placed = orders.place_order(tenant, buyer.id, cart, "ship-1").orders[0]
        db.session.commit()
    return tenant, placed


def test_an_express_shipment_moves_forward_and_records_receipt(order):
    tenant, placed = order
    signed = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    with tenant_scope(tenant):
        shipment = delivery.start_shipment(placed, "express", option_code="henan-41", fee=3500,
                                           address={"recipient": "张国强", "district_code": "411721"})
        assert len(shipment.tracking_token) >= 32 and shipment.status == S.created
        for step in (S.picked_up_by_carrier, S.in_transit, S.out_for_delivery):
            delivery.advance(shipment, step, location="郑州转运中心")
        delivery.advance(shipment, S.delivered, note="本人签收", at=signed)
        db.session.commit()
        db.session.expire_all()
        shipment = db.session.scalar(select(Shipment))
        assert shipment.status == S.delivered and shipment.received_at == signed
        assert [e.to_status for e in shipment.events] == [S.created, S.picked_up_by_carrier, S.in_transit,
                                                          S.out_for_delivery, S.delivered]


def test_tracking_that_tries_to_move_backwards_or_twice_is_refused_and_changes_nothing(order):
    tenant, placed = order
    with tenant_scope(tenant):
        shipment = delivery.start_shipment(placed, "express")
        delivery.advance(shipment, S.picked_up_by_carrier)
        delivery.advance(shipment, S.in_transit)
        for wrong in (S.picked_up_by_carrier, S.created, S.in_transit, "teleported"):
            with pytest.raises(DeliveryError) as refused:
                delivery.advance(shipment, wrong)
            assert refused.value.code == "invalid_transition"
        db.session.commit()
        assert db.session.scalar(select(Shipment.status)) == S.in_transit
        assert len(db.session.scalars(select(ShipmentEvent)).all()) == 3


def test_a_stale_copy_cannot_move_a_shipment_someone_else_moved(order):
    tenant, placed = order
    with tenant_scope(tenant):
        shipment = delivery.start_shipment(placed, "pickup")
        db.session.commit()
        assert shipment.status == S.created  # this copy, read now
        db.session.execute(Shipment.__table__.update().values(status=S.picked_up_by_carrier))  # a carrier, elsewhere
        with pytest.raises(DeliveryError) as refused:
            delivery.advance(shipment, S.cancelled)  # the copy still says "created"
        assert refused.value.code == "moved_meanwhile" and shipment.status == S.picked_up_by_carrier


def test_cancelling_is_possible_only_before_the_goods_leave(order):
    tenant, placed = order
    with tenant_scope(tenant):
        shipment = delivery.start_shipment(placed, "local_courier")
        delivery.advance(shipment, S.out_for_delivery)
        with pytest.raises(DeliveryError) as refused:
            delivery.cancel(shipment)
        assert refused.value.code == "too_late" and shipment.status == S.out_for_delivery


def test_the_timeline_is_never_rewritten(order):
    tenant, placed = order
    with tenant_scope(tenant):
        delivery.start_shipment(placed, "pickup")
        db.session.commit()
        step = db.session.scalar(select(ShipmentEvent))
        step.note = "改写"
        with pytest.raises(AppendOnly):
            db.session.flush()
        db.session.rollback()
