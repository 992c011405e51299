"""``express``: the conformance kit, 首重/续重 templates by province with the free threshold, the merchant's
carrier and tracking number, the recipient's consent before a locker or a station, and a waybill without ID."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

import pytest

from marketplace.delivery import express
from marketplace.delivery.conformance import MONDAY_MORNING, ZONE, DeliveryConformance
from marketplace.delivery.express import ExpressProvider
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
from marketplace.orders.models import OrderStatus
from marketplace.tenancy.context import tenant_scope

S = ShipmentStatus
ZHENGZHOU = Address("张国强", "13800138000", "410000", "410100", "410103", "德化街 88 号")
BEIJING = Address("李红", "13900139000", "110000", "110100", "110105", "建国路 1 号")
URUMQI = Address("阿依古丽", "13700137000", "650000", "650100", "650102", "人民路 2 号")
LHASA = Address("扎西", "13600136000", "540000", "540100", "540102", "北京中路 3 号")


class TestExpress(DeliveryConformance):
    provider_name = "express"
    options = {"excluded": ["540000"], "free_over": 50000}
    journey = (S.picked_up_by_carrier, S.in_transit, S.out_for_delivery, S.delivered)

    def address(self):
        return ZHENGZHOU

    def uncovered(self, request):
        return replace(request, address=LHASA)


kit = TestExpress()


def provider(**options) -> ExpressProvider:
    return ExpressProvider({}, check_options(ExpressProvider, options))


def asking(address: Address, weight_g: int, value: int = 0) -> QuoteRequest:
    return QuoteRequest(tenant="t", origin=Origin(1, "配送测试店", "street"), address=address, now=MONDAY_MORNING,
                        parcel=Parcel(weight_g=weight_g, value=value))


@pytest.mark.parametrize(("address", "weight_g", "fee"), [
    (ZHENGZHOU, 300, 500), (ZHENGZHOU, 1000, 500), (ZHENGZHOU, 1001, 700), (ZHENGZHOU, 3500, 1100),
    (BEIJING, 300, 800), (BEIJING, 1000, 800), (BEIJING, 1001, 1200), (BEIJING, 3500, 2000),
    (URUMQI, 300, 2000), (URUMQI, 1001, 3500), (URUMQI, 3500, 6500),
])
def test_the_default_templates_price_first_and_extra_weight_by_province(app_ctx, address, weight_g, fee):
    [option] = provider().quote(asking(address, weight_g))
    assert option.fee == fee and option.code == address.province_code
    assert not any("包邮" in c for c in option.constraints)


@pytest.mark.parametrize(("value", "fee"), [(0, 1200), (9899, 1200), (9900, 0), (250000, 0)])
def test_parcels_worth_the_threshold_travel_free(app_ctx, value, fee):
    [option] = provider(free_over=9900).quote(asking(BEIJING, 2000, value))
    assert option.fee == fee
    assert any("包邮" in c and "99" in c for c in option.constraints)


def test_a_shop_template_overrides_only_what_it_names(app_ctx):
    templates = {"default": {"first_g": 500, "first_fee": 600, "extra_g": 500, "extra_fee": 300, "days": [3, 5]},
                 "410000": {"first_fee": 400}}
    cheap = provider(templates=templates)
    assert cheap.quote(asking(ZHENGZHOU, 1200))[0].fee == 400 + 300 * 2
    assert cheap.quote(asking(BEIJING, 1200))[0].fee == 600 + 300 * 2


def test_the_promise_counts_calendar_days_in_the_tenant_zone(app_ctx):
    [option] = provider().quote(asking(ZHENGZHOU, 1000))  # Henan: 1-2 days, asked Monday 09:00
    assert option.earliest == datetime(2026, 12, 1, 0, 0, tzinfo=ZONE)
    assert option.latest == datetime(2026, 12, 2, 23, 59, tzinfo=ZONE)


def test_an_excluded_province_and_a_heavy_parcel_are_refused_with_reasons(app_ctx):
    with pytest.raises(NotCovered, match="^暂不配送到新疆"):
        provider(excluded=["650000"]).quote(asking(URUMQI, 1000))
    with pytest.raises(NotCovered, match="5 公斤"):
        provider(max_weight_kg=5).quote(asking(BEIJING, 5001))
    assert provider(max_weight_kg=5).quote(asking(BEIJING, 5000))


@pytest.mark.parametrize("options", [
    {"templates": {"410000": {"first_fee": 1}}},  # no default
    {"templates": {"default": {"first_g": 1000, "first_fee": 800, "extra_g": 1000, "extra_fee": 400}}},  # no days
    {"templates": {"default": {**express.DEFAULT_TEMPLATES["default"], "extra_g": 0}}},
    {"templates": {"default": {**express.DEFAULT_TEMPLATES["default"], "first_fee": -1}}},
    {"templates": {"default": {**express.DEFAULT_TEMPLATES["default"], "first_fee": True}}},
    {"templates": {"default": {**express.DEFAULT_TEMPLATES["default"], "days": [4, 2]}}},
    {"templates": {**express.DEFAULT_TEMPLATES, "999999": {"first_fee": 1}}},
    {"templates": {**express.DEFAULT_TEMPLATES, "410100": {"first_fee": 1}}},  # a city, not a province
    {"excluded": ["新疆"]},
    {"carriers": []},
    {"free_over": -1},
])
def test_broken_templates_are_refused_when_configured(app_ctx, options):
    with pytest.raises(ProviderLoadError):
        check_options(ExpressProvider, options)


# -- shipping and the timeline ---------------------------------------------------------------------------------------

@pytest.fixture
def placed(app_ctx):
    world = kit.make_world()
    order, shipment = kit.place(world)
    return world[0], order, shipment


@pytest.mark.parametrize(("carrier", "number", "code"), [
    ("顺丰速运", "SF 1234", "bad_tracking_number"), ("顺丰速运", "SF1", "bad_tracking_number"),
    ("顺丰速运", "S" * 41, "bad_tracking_number"), ("顺丰速运", "单号123456", "bad_tracking_number"),
    ("菜鸟飞船", "SF1234567890", "unknown_carrier"), ("", "SF1234567890", "unknown_carrier"),
])
def test_ship_refuses_an_unknown_carrier_or_a_malformed_tracking_number(placed, carrier, number, code):
    tenant, _order, shipment = placed
    with tenant_scope(tenant), pytest.raises(DeliveryError) as refused:
        express.ship(shipment, carrier, number, actor_id=None)
    assert refused.value.code == code and shipment.status == S.created and shipment.tracking_number == ""


def test_ship_keeps_carrier_and_number_and_the_order_is_shipped(placed):
    tenant, order, shipment = placed
    with tenant_scope(tenant):
        express.ship(shipment, "顺丰速运", " SF-1234567890 ", actor_id=None)
        db.session.commit()
        assert (shipment.status, shipment.carrier, shipment.tracking_number) == (
            S.picked_up_by_carrier, "顺丰速运", "SF-1234567890")
        assert order.status == OrderStatus.shipped
        with pytest.raises(DeliveryError) as twice:
            express.ship(shipment, "中通快递", "ZT1234567890", actor_id=None)
        assert twice.value.code == "invalid_transition" and shipment.tracking_number == "SF-1234567890"


def test_record_event_moves_forward_only(placed):
    tenant, order, shipment = placed
    with tenant_scope(tenant):
        express.ship(shipment, "中通快递", "ZT1234567890")
        express.record_event(shipment, S.in_transit, location="郑州转运中心", note="已发往北京")
        with pytest.raises(DeliveryError) as backwards:
            express.record_event(shipment, S.picked_up_by_carrier, note="重复揽收")
        assert backwards.value.code == "invalid_transition"
        with pytest.raises(DeliveryError) as naive:
            express.record_event(shipment, S.out_for_delivery, at=datetime(2026, 12, 1, 9, 0))
        assert naive.value.code == "bad_time"
        assert [e.to_status for e in shipment.events][-2:] == [S.picked_up_by_carrier, S.in_transit]


@pytest.mark.parametrize(("note", "location"), [
    ("已放入快递柜，取件码 123456", ""), ("", "菜鸟驿站（德化街店）"), ("门卫代收", ""), ("放丰巢", "")])
def test_a_locker_or_a_third_party_needs_the_recipients_consent(placed, note, location):
    tenant, order, shipment = placed
    with tenant_scope(tenant):
        express.ship(shipment, "中通快递", "ZT1234567890")
        express.record_event(shipment, S.in_transit)
        with pytest.raises(DeliveryError) as refused:
            express.record_event(shipment, S.delivered, note=note, location=location)
        assert refused.value.code == "no_consent" and shipment.status == S.in_transit
        assert shipment.received_at is None
        express.record_event(shipment, S.delivered, note="本人签收", location="德化街 88 号")
        assert shipment.status == S.delivered and shipment.received_at is not None


def test_with_consent_a_parcel_locker_delivery_is_recorded(placed):
    tenant, order, shipment = placed
    with tenant_scope(tenant):
        shipment.address = {**shipment.address, "third_party_signing": True}
        db.session.flush()
        assert express.consent_problem(shipment, "已放入快递柜", "") is None
        express.ship(shipment, "中通快递", "ZT1234567890")
        express.record_event(shipment, S.in_transit)
        express.record_event(shipment, S.delivered, note="已放入快递柜，取件码 123456", location="丰巢 德化街 3 号柜")
        assert shipment.status == S.delivered and order.status == OrderStatus.delivered


#: A resident ID number: region, birth date (19xx/20xx), sequence, check character — not an order number.
ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]")


def test_the_waybill_never_carries_an_id_number(placed):
    tenant, order, shipment = placed
    with tenant_scope(tenant):
        shipment.address = {**shipment.address, "id_number": "41010219900101123X", "id_card": "410102199001011234",
                            "text": "河南省 郑州市 二七区 德化街 88 号（身份证 410102199001011234）"}
        express.ship(shipment, "圆通速递", "YT9876543210")
        bill = express.waybill(shipment)
    assert not any("id" in key for key in bill)
    assert not any(ID_LIKE.search(str(value)) for value in bill.values()), bill
    assert "41010219900101123" not in repr(bill)
    assert bill["recipient"] == "张国强" and bill["mobile"] == "13800138000"
    assert "德化街 88 号" in bill["address"] and bill["carrier"] == "圆通速递"
    assert bill["tracking_number"] == "YT9876543210" and bill["order_number"] == order.number
    assert "× 2" in bill["goods"] and bill["items"] == 2 and bill["sender"]


def test_the_waybill_spells_the_divisions_when_no_text_was_kept(placed):
    tenant, _order, shipment = placed
    with tenant_scope(tenant):
        shipment.address = {key: value for key, value in shipment.address.items() if key != "text"}
        assert express.waybill(shipment)["address"] == "河南省 郑州市 二七区 德化街 88 号"


def test_only_express_shipments_are_shipped_here(app_ctx):
    from tests.delivery.test_pickup import kit as pickup_kit

    world = pickup_kit.make_world()
    _order, shipment = pickup_kit.place(world)
    with tenant_scope(world[0]), pytest.raises(DeliveryError) as refused:
        express.ship(shipment, "顺丰速运", "SF1234567890")
    assert refused.value.code == "wrong_provider"
