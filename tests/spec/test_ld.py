"""物流配送规范 (LD): each encoded requirement passes on parcels that travel as the rules ask and fails on ones
that do not, with real express shipments moved by the platform's delivery services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.core.db import utcnow
from marketplace.delivery import express, services
from marketplace.delivery.models import ShipmentEvent
from marketplace.delivery.providers import TRANSITIONS, DeliveryError, ShipmentStatus
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.spec.model import Status
from marketplace.spec.runner import run
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.settings import module_settings
from marketplace.trust.complaints import complaint_settings
from tests.delivery.test_express import ZHENGZHOU, kit

S = ShipmentStatus


def decided(tenant, requirement: str, now=None):
    [result] = run(tenant, now=now, only={requirement}).results
    return result.finding


def edit(tenant, row, **values):
    """Change a row as an import or a bug would, bypassing the services (the state a check must catch)."""
    with tenant_scope(tenant):
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


@pytest.fixture
def parcel(app_ctx):
    """An express parcel of a paid, accepted order, not yet handed to the carrier: (tenant, shop, order, shipment)."""
    world = kit.make_world()
    order, shipment = kit.place(world)
    return world[0], world[1], order, shipment


def carry(tenant, shipment, *steps, note: str = "", location: str = ""):
    """Hand the parcel to 中通 and record the carrier's steps; the last one gets ``note`` and ``location``."""
    with tenant_scope(tenant):
        express.ship(shipment, "中通快递", "ZT1234567890")
        for index, step in enumerate(steps):
            last = index == len(steps) - 1
            express.record_event(shipment, step, note=note if last else "", location=location if last else "郑州")
        db.session.commit()


# -- LD-1, LD-4: receipt -------------------------------------------------------------------------------------------

def test_ld1_receipt_recorded_only_by_signing(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment, S.in_transit, S.delivered, note="本人签收")
    assert shipment.received_at is not None
    assert decided(tenant, "LD-1").status == Status.passed


def test_ld1_a_time_of_receipt_on_a_parcel_still_travelling_fails(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment, S.in_transit)
    edit(tenant, shipment, received_at=utcnow())  # "shipped" counted as delivered
    finding = decided(tenant, "LD-1")
    assert finding.status == Status.failed and finding.evidence == [f"shipment {shipment.id}"]


def test_ld4_a_signature_note_is_proof_and_refusal_can_be_recorded(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment, S.in_transit, S.delivered, note="本人签收")
    assert decided(tenant, "LD-4").status == Status.passed


def test_ld4_a_delivery_recorded_with_no_one_and_nothing_fails(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment, S.in_transit)
    with tenant_scope(tenant):
        services.advance(shipment, S.delivered)
        db.session.commit()
    finding = decided(tenant, "LD-4")
    assert finding.status == Status.failed and finding.evidence == [f"shipment {shipment.id}"]


# -- LD-2, LD-12: parcels that come back ----------------------------------------------------------------------------

def came_back(tenant, shipment):
    carry(tenant, shipment, S.in_transit, S.exception, note="收件人拒收：外包装破损")
    with tenant_scope(tenant):
        express.record_event(shipment, S.returned, note="已退回寄件人")
        db.session.commit()


def test_ld2_a_parcel_that_came_back_is_refunded(parcel):
    tenant, _shop, order, shipment = parcel
    came_back(tenant, shipment)
    with tenant_scope(tenant):
        returns.refund(order, order.total, actor_id=None, note="包裹退回")
        db.session.commit()
    assert decided(tenant, "LD-2", now=utcnow() + timedelta(days=16)).status == Status.passed


def test_ld2_a_parcel_back_for_fifteen_days_without_a_refund_fails(parcel):
    tenant, _shop, order, shipment = parcel
    came_back(tenant, shipment)
    assert decided(tenant, "LD-2", now=utcnow() + timedelta(days=3)).status == Status.passed
    finding = decided(tenant, "LD-2", now=utcnow() + timedelta(days=16))
    assert finding.status == Status.failed and finding.evidence == [order.number]


def test_ld12_an_undeliverable_parcel_goes_back_and_stays_traceable(parcel):
    tenant, _shop, _order, shipment = parcel
    came_back(tenant, shipment)
    assert decided(tenant, "LD-12").status == Status.passed


def test_ld12_a_returned_parcel_without_its_tracking_link_fails(parcel):
    tenant, _shop, _order, shipment = parcel
    came_back(tenant, shipment)
    edit(tenant, shipment, tracking_token="")
    finding = decided(tenant, "LD-12")
    assert finding.status == Status.failed and finding.evidence == [f"shipment {shipment.id}"]


# -- LD-3: consent to a locker or a third party ----------------------------------------------------------------------

def test_ld3_a_locker_delivery_the_recipient_agreed_to_passes(parcel):
    tenant, _shop, _order, shipment = parcel
    edit(tenant, shipment, address={**shipment.address, "third_party_signing": True})
    carry(tenant, shipment, S.in_transit, S.delivered, note="已放入快递柜，取件码 123456")
    assert decided(tenant, "LD-3").status == Status.passed


def test_ld3_no_provider_records_a_locker_delivery_without_consent(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment, S.in_transit)
    with tenant_scope(tenant), pytest.raises(DeliveryError) as refused:  # the shared path, as the courier's
        services.advance(shipment, S.delivered, location="菜鸟驿站（德化街店）")
    assert refused.value.code == "no_consent" and shipment.status == S.in_transit


def test_ld3_a_locker_delivery_without_consent_fails(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment, S.in_transit)
    with tenant_scope(tenant):  # history imported from before the consent rule
        db.session.add(ShipmentEvent(tenant_id=tenant.id, shipment_id=shipment.id, from_status=S.in_transit,
                                     to_status=S.delivered, location="菜鸟驿站（德化街店）"))
        db.session.commit()
    finding = decided(tenant, "LD-3")
    assert finding.status == Status.failed and finding.evidence == [f"shipment {shipment.id}"]


# -- LD-5: the waybill ---------------------------------------------------------------------------------------------

def test_ld5_the_waybill_states_sender_recipient_goods_and_weight(parcel):
    tenant, shop, _order, shipment = parcel
    assert decided(tenant, "LD-5").status == Status.not_applicable  # nothing handed to a carrier yet
    edit(tenant, shop, phone="0371-66668888")
    carry(tenant, shipment)
    with tenant_scope(tenant):
        bill = express.waybill(shipment)
    assert bill["sender_phone"] == "0371-66668888" and bill["weight_g"] == 2 * kit.unit_weight_g
    assert decided(tenant, "LD-5").status == Status.passed


def test_ld5_a_waybill_without_the_senders_telephone_fails(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment)
    finding = decided(tenant, "LD-5")
    assert finding.status == Status.failed and finding.evidence == [f"shipment {shipment.id}: sender_phone"]


# -- LD-7: the express brand -------------------------------------------------------------------------------------------

def test_ld7_shops_offering_express_name_their_carriers(parcel, make_tenant):
    tenant = parcel[0]
    assert decided(tenant, "LD-7").status == Status.passed
    assert decided(make_tenant(), "LD-7").status == Status.not_applicable  # collecting at the shop only
    with tenant_scope(tenant):
        [option] = services.provider_for(tenant, parcel[1], "express").quote(kit.request(tenant, parcel[1]))
    assert "承运快递：中通快递、圆通速递、顺丰速运、中国邮政 EMS" in option.constraints


def test_ld7_a_shop_whose_express_names_no_carrier_fails(parcel):
    tenant, shop, _order, _shipment = parcel
    edit(tenant, shop, delivery={"providers": ["express"], "options": {"express": {"carriers": []}}})
    finding = decided(tenant, "LD-7")
    assert finding.status == Status.failed and finding.evidence == [shop.slug]


# -- LD-8, LD-9, LD-14: tracking -------------------------------------------------------------------------------------

def test_ld8_tracking_links_cannot_be_guessed(parcel):
    assert decided(parcel[0], "LD-8").status == Status.passed


def test_ld8_a_short_tracking_token_fails(parcel):
    tenant, _shop, _order, shipment = parcel
    edit(tenant, shipment, tracking_token="abc123")
    finding = decided(tenant, "LD-8")
    assert finding.status == Status.failed and finding.evidence == [f"shipment {shipment.id}"]


def test_ld9_a_timeline_that_moves_forward_passes(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment, S.in_transit, S.out_for_delivery, S.delivered, note="本人签收")
    assert decided(tenant, "LD-9").status == Status.passed


def test_ld9_a_status_missing_from_the_timeline_fails(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment)
    edit(tenant, shipment, status=S.in_transit)  # a step the timeline does not show
    finding = decided(tenant, "LD-9")
    assert finding.status == Status.failed and finding.evidence == [f"shipment {shipment.id}"]


def test_ld14_public_tracking_masks_the_recipient(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment, S.in_transit, S.delivered, note="本人签收", location="二七区")
    assert decided(tenant, "LD-14").status == Status.passed


def test_ld14_a_step_placed_at_the_recipients_street_exposes_it_and_fails(parcel):
    tenant, _shop, _order, shipment = parcel
    carry(tenant, shipment, S.in_transit, S.delivered, note="本人签收", location=ZHENGZHOU.street)
    finding = decided(tenant, "LD-14")
    assert finding.status == Status.failed and finding.evidence == [f"shipment {shipment.id}"]


# -- LD-10: delivery complaints ----------------------------------------------------------------------------------------

def test_ld10_delivery_complaints_are_answered_within_seven_days(parcel):
    assert decided(parcel[0], "LD-10").status == Status.passed


def test_ld10_an_answer_time_beyond_seven_days_fails(parcel):
    tenant = parcel[0]
    with tenant_scope(tenant):
        complaint_settings.set(tenant, "merchant_hours", 10 * 24)
        db.session.commit()
    finding = decided(tenant, "LD-10")
    assert finding.status == Status.failed and finding.evidence == ["merchant_hours=240"]


# -- LD-15, LD-16 ------------------------------------------------------------------------------------------------------

def test_ld15_cash_on_delivery_is_reported_when_offered(parcel):
    tenant = parcel[0]
    assert decided(tenant, "LD-15").status == Status.not_applicable
    with tenant_scope(tenant):
        module_settings["payment"].set(tenant, "options", {"methods": ["pay_at_stall", "cash_on_delivery"]})
        db.session.commit()
    assert decided(tenant, "LD-15").status == Status.passed


def test_ld15_cash_on_delivery_with_nobody_delivering_fails(parcel):
    tenant = parcel[0]
    with tenant_scope(tenant):  # goods are only ever collected at the stall
        module_settings["payment"].set(tenant, "options", {"methods": ["cash_on_delivery"]})
        module_settings["delivery"].set(tenant, "provider", "pickup")
        module_settings["delivery"].set(tenant, "options", {"pickup": {}})
        db.session.commit()
    finding = decided(tenant, "LD-15")
    assert finding.status == Status.failed and "无人代收" in finding.detail


def test_ld16_the_state_machine_only_moves_forward(parcel):
    assert decided(parcel[0], "LD-16").status == Status.passed


def test_ld16_a_state_machine_reopening_a_delivered_parcel_fails(parcel, monkeypatch):
    monkeypatch.setitem(TRANSITIONS, S.delivered, frozenset({S.in_transit}))
    finding = decided(parcel[0], "LD-16")
    assert finding.status == Status.failed and finding.evidence == ["final states move on"]
