"""``local_courier``: the conformance kit, zone and weight pricing, cut-offs in the tenant's time zone, and slot
capacity that concurrent checkouts never exceed (SQLite here, PostgreSQL when the test database is one)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from marketplace.accounts import divisions
from marketplace.accounts.models import User
from marketplace.delivery import services
from marketplace.delivery.conformance import MONDAY_MORNING, ZONE, DeliveryConformance
from marketplace.delivery.local_courier import ZHENGZHOU_ZONES, LocalCourierProvider
from marketplace.delivery.models import DeliverySlot, Shipment
from marketplace.delivery.providers import (
    Address,
    DeliveryError,
    NotCovered,
    Origin,
    Parcel,
    ProviderLoadError,
    QuoteRequest,
    ShipmentRequest,
    ShipmentStatus,
    check_options,
)
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from tests.search.test_indexing import purge

S = ShipmentStatus
ERQI, JINSHUI, ZHONGMOU, SHANGJIE, BEIJING_CHAOYANG = "410103", "410105", "410122", "410106", "110105"


def address_in(district_code: str) -> Address:
    """A buyer's address in this district, with the city and province the address book would give it."""
    city = divisions.get(district_code).parent
    return Address(recipient="张三", mobile="13800138000", province_code=divisions.get(city).parent,
                   city_code=city, district_code=district_code, street="大学路 80 号 3 单元 502")


class TestLocalCourier(DeliveryConformance):
    provider_name = "local_courier"
    journey = (S.out_for_delivery, S.delivered)

    def address(self):
        return address_in(ERQI)

    def uncovered(self, request):
        return replace(request, address=address_in(BEIJING_CHAOYANG))


kit = TestLocalCourier()

# -- the provider on its own ------------------------------------------------------------------------------------------

TWO_ZONES = [
    {"name": "市区", "districts": [ERQI, JINSHUI], "fee": 500, "included_kg": 3, "per_kg_fee": 100},
    {"name": "近郊", "districts": [ZHONGMOU], "fee": 1500, "included_kg": 2.5, "per_kg_fee": 250},
]
EVENING = {"code": "18-20", "start": "18:00", "end": "20:00", "cutoff": "16:00", "capacity": 3}
MIDDAY = {"code": "11-13", "start": "11:00", "end": "13:00", "cutoff": "09:30", "capacity": 10}


def courier(**options) -> LocalCourierProvider:
    return LocalCourierProvider({}, check_options(LocalCourierProvider, options))


def ask(district: str | None = ERQI, weight_g: int = 2000, now: datetime = MONDAY_MORNING) -> QuoteRequest:
    return QuoteRequest(tenant="kit", origin=Origin(1, "配送测试店", "street", district_code=ERQI),
                        parcel=Parcel(weight_g=weight_g), address=address_in(district) if district else None, now=now)


@pytest.mark.parametrize(("district", "fee"), [(ERQI, 500), (JINSHUI, 500), (ZHONGMOU, 1500)])
def test_the_fee_is_the_zone_of_the_buyers_district(app_ctx, district, fee):
    options = courier(zones=TWO_ZONES).quote(ask(district, weight_g=1000))
    assert options and {o.fee for o in options} == {fee}


@pytest.mark.parametrize(("district", "weight_g", "fee"), [
    (ERQI, 0, 500), (ERQI, 3000, 500), (ERQI, 3001, 600), (ERQI, 4000, 600), (ERQI, 4001, 700),
    (ERQI, 12500, 1500),
    # 2.5 kg included: the started kilograms count from 2 500 g.
    (ZHONGMOU, 2500, 1500), (ZHONGMOU, 2501, 1750), (ZHONGMOU, 3500, 1750), (ZHONGMOU, 3501, 2000),
])
def test_every_started_kilogram_above_the_included_weight_costs_the_zones_per_kg_fee(app_ctx, district, weight_g,
                                                                                     fee):
    assert courier(zones=TWO_ZONES).quote(ask(district, weight_g=weight_g))[0].fee == fee


def test_the_default_zones_are_zhengzhous_districts(app_ctx):
    assert all(divisions.get(code).parent == "410100" for zone in ZHENGZHOU_ZONES for code in zone["districts"])
    provider = courier()
    assert provider.quote(ask(ERQI, weight_g=2000))[0].fee == 600
    assert provider.quote(ask(ZHONGMOU, weight_g=6200))[0].fee == 1200 + 2 * 200


@pytest.mark.parametrize(("district", "words"), [
    (BEIJING_CHAOYANG, ("北京市朝阳区", "市区", "二七区")),  # another province
    (SHANGJIE, ("郑州市上街区", "近郊")),  # the same city, outside every zone
])
def test_an_address_outside_every_zone_is_refused_naming_the_district_and_the_zones(app_ctx, district, words):
    with pytest.raises(NotCovered) as refused:
        courier().quote(ask(district))
    assert all(word in str(refused.value) for word in words)


def test_an_address_without_a_district_is_refused(app_ctx):
    with pytest.raises(NotCovered, match="区县"):
        courier().quote(ask(None))
    with pytest.raises(NotCovered, match="区县"):
        courier().quote(replace(ask(ERQI), address=replace(address_in(ERQI), district_code="")))


def test_a_parcel_over_the_weight_limit_is_refused(app_ctx):
    provider = courier(max_weight_kg=20)
    assert provider.quote(ask(weight_g=20000))
    with pytest.raises(NotCovered, match="20.*公斤") as refused:
        provider.quote(ask(weight_g=20001))
    assert "20.001" in str(refused.value)


# -- slots and cut-offs -----------------------------------------------------------------------------------------------

def codes(options) -> list[str]:
    return [o.code for o in options]


def test_an_option_is_a_slot_on_a_day_with_its_time_cut_off_and_zone(app_ctx):
    evening = {o.code: o for o in courier(slots=[MIDDAY, EVENING]).quote(ask())}["2026-11-30/18-20"]
    assert evening.label == "同城配送 11月30日 18:00-20:00"
    assert evening.earliest == datetime(2026, 11, 30, 18, 0, tzinfo=ZONE)
    assert evening.latest == datetime(2026, 11, 30, 20, 0, tzinfo=ZONE)
    assert evening.constraints == ("当日16:00前下单", "市区")
    assert evening.provider == "local_courier" and evening.currency == "CNY"


@pytest.mark.parametrize(("hour", "minute", "today_evening"), [(15, 59, True), (16, 0, False), (16, 1, False)])
def test_todays_slot_is_offered_until_its_cut_off(app_ctx, hour, minute, today_evening):
    now = datetime(2026, 11, 30, hour, minute, tzinfo=ZONE)
    offered = codes(courier(slots=[MIDDAY, EVENING], days_ahead=1).quote(ask(now=now)))
    assert ("2026-11-30/18-20" in offered) is today_evening
    assert "2026-11-30/11-13" not in offered  # its cut-off was 09:30
    assert offered[-2:] == ["2026-12-01/11-13", "2026-12-01/18-20"]


@pytest.mark.parametrize(("days_ahead", "last_day"), [(0, "2026-11-30"), (1, "2026-12-01"), (3, "2026-12-03")])
def test_the_slots_of_today_and_days_ahead_are_offered_in_order(app_ctx, days_ahead, last_day):
    offered = codes(courier(slots=[EVENING, MIDDAY], days_ahead=days_ahead).quote(ask()))
    assert len(offered) == 2 * (days_ahead + 1)
    assert offered[:2] == ["2026-11-30/11-13", "2026-11-30/18-20"]  # by the time of day, as configured or not
    assert offered[-1] == f"{last_day}/18-20"


def test_after_the_last_cut_off_with_no_days_ahead_nothing_is_offered(app_ctx):
    with pytest.raises(NotCovered, match="截单"):
        courier(days_ahead=0).quote(ask(now=datetime(2026, 11, 30, 17, 0, tzinfo=ZONE)))


def test_the_cut_off_is_read_in_the_tenants_time_zone(world):
    tenant, shop, _variant, _buyer = world
    with tenant_scope(tenant):
        parcel, address = Parcel(weight_g=1000), address_in(ERQI)
        before = services.quote_shop(tenant, shop, parcel, address, now=datetime(2026, 11, 30, 7, 59, tzinfo=UTC))
        after = services.quote_shop(tenant, shop, parcel, address, now=datetime(2026, 11, 30, 8, 1, tzinfo=UTC))
    assert "2026-11-30/18-20" in codes(before.options)  # 15:59 in Zhengzhou
    assert "2026-11-30/18-20" not in codes(after.options)  # 16:01


def test_capacity_is_the_slots_and_unknown_codes_have_none(app_ctx):
    provider = courier(slots=[MIDDAY, EVENING])
    assert provider.capacity("2026-11-30/18-20") == 3 and provider.capacity("2026-12-24/11-13") == 10
    for code in ("", "18-20", "2026-11-30/22-24", "2026-13-01/18-20", "tomorrow/18-20", "20261130/18-20", "quote-1"):
        assert provider.capacity(code) is None
    assert courier(slots=[{"code": "any", "start": "09:00", "end": "21:00"}]).capacity("2026-11-30/any") is None


def test_shipping_needs_a_slot_the_provider_quotes(app_ctx):
    provider = courier(slots=[EVENING])

    def ship(code):
        return provider.create_shipment(ShipmentRequest(shipment_id=7, order_number="G1-1", option_code=code,
                                                        parcel=Parcel(weight_g=1000), address=address_in(ERQI)))

    assert ship("2026-11-30/18-20").status == S.created
    for code in ("2026-11-30/11-13", "2026-02-30/18-20", "18-20", "2026-11-30/"):
        with pytest.raises(DeliveryError) as refused:
            ship(code)
        assert refused.value.code == "unknown_option"


@pytest.mark.parametrize("options", [
    {"zones": []},
    {"zones": [{**TWO_ZONES[0], "districts": ["410199"]}]},  # no such district
    {"zones": [{**TWO_ZONES[0], "districts": ["410100"]}]},  # a city, not a district
    {"zones": [TWO_ZONES[0], {**TWO_ZONES[1], "districts": [ERQI]}]},  # one district, two fees
    {"zones": [{**TWO_ZONES[0], "fee": 5.5}]},
    {"zones": [{**TWO_ZONES[0], "per_kg_fee": -1}]},
    {"zones": [{**TWO_ZONES[0], "included_kg": "3"}]},
    {"zones": [{**TWO_ZONES[0], "price": 500}]},
    {"zones": [{k: v for k, v in TWO_ZONES[0].items() if k != "name"}]},
    {"slots": []},
    {"slots": [{**EVENING, "end": "17:00"}]},
    {"slots": [{**EVENING, "cutoff": "18:30"}]},
    {"slots": [{**EVENING, "start": "6pm"}]},
    {"slots": [EVENING, {**MIDDAY, "code": "18-20"}]},
    {"slots": [{**EVENING, "code": "18/20"}]},
    {"slots": [{**EVENING, "capacity": 0}]},
    {"slots": [{**EVENING, "capacity": True}]},
    {"days_ahead": 15},
    {"days_ahead": -1},
    {"max_weight_kg": 0},
])
def test_options_that_cannot_work_are_refused(options):
    with pytest.raises(ProviderLoadError):
        check_options(LocalCourierProvider, options)


def test_the_empty_options_are_a_working_courier(app_ctx):
    assert check_options(LocalCourierProvider, {})["days_ahead"] == 2
    assert len(courier().quote(ask())) == 2 * 3


# -- capacity under concurrent checkouts ------------------------------------------------------------------------------

@pytest.fixture
def world(app_ctx):
    return kit.make_world()


@pytest.mark.no_transaction
def test_concurrent_checkouts_never_take_more_places_than_a_slot_has(app, make_product, make_user):
    """Ten buyers race through separate connections for an evening slot with three places, each buying their
    own goods (so only the slot is shared): three get it, seven are told it is full. A full slot is no longer
    quoted; a cancelled order gives its place back."""
    racer = TestLocalCourier()
    racer.options = {"slots": [MIDDAY, EVENING], "days_ahead": 1}
    with app.test_request_context():
        tenant, shop, _variant, owner = racer.make_world()
        user_ids = [owner.id]
        try:
            buyers = [make_user() for _ in range(10)]
            user_ids += [b.id for b in buyers]
            goods = [make_product(shop, title=f"抢购商品{i}", price=1000, stock=5) for i in range(10)]
            address = address_in(ERQI)
            with tenant_scope(tenant):
                carts = []
                for buyer, product in zip(buyers, goods, strict=True):
                    cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
                    orders.set_line(cart, product.variants[0].id, 1)
                    carts.append(cart.id)
                quote = services.quote_shop(tenant, shop, Parcel(weight_g=1000), address, now=MONDAY_MORNING)
                evening = quote.find("local_courier", "2026-11-30/18-20")
                db.session.commit()
            tenant_id, shop_id, buyer_ids = tenant.id, shop.id, [b.id for b in buyers]
            outcomes: list[str] = []
            start = threading.Barrier(len(buyers))

            def buy(index: int) -> None:
                with app.app_context():
                    start.wait()
                    here = db.session.get(Tenant, tenant_id)
                    with tenant_scope(here):
                        try:
                            orders.place_order(here, buyer_ids[index], db.session.get(orders.Cart, carts[index]),
                                               f"slot-race-{uuid.uuid4().hex}",
                                               delivery={shop_id: services.Chosen(evening, address)})
                            outcomes.append("placed")
                        except orders.CheckoutError as error:
                            outcomes.append(",".join(p.code for p in error.problems))
                        except Exception as error:  # noqa: BLE001 - the outcome is what the test reads
                            outcomes.append(f"{type(error).__name__}: {error}")

            threads = [threading.Thread(target=buy, args=(i,)) for i in range(len(buyers))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert sorted(outcomes) == ["placed"] * 3 + ["slot_full"] * 7, outcomes

            db.session.commit()  # a fresh read of what the buyers committed
            with tenant_scope(tenant):
                def booked() -> int:
                    db.session.commit()
                    return db.session.scalar(select(DeliverySlot.booked).where(
                        DeliverySlot.shop_id == shop_id, DeliverySlot.option_code == evening.code))

                def offered() -> list[str]:
                    return codes(services.quote_shop(tenant, shop, Parcel(weight_g=1000), address,
                                                     now=MONDAY_MORNING).options)

                assert booked() == 3
                assert db.session.scalar(select(func.count(Shipment.id)).where(
                    Shipment.option_code == evening.code)) == 3
                assert evening.code not in offered() and "2026-12-01/18-20" in offered()

                order = db.session.scalar(select(Order).join(Shipment, Shipment.order_id == Order.id)
                                          .where(Shipment.option_code == evening.code).limit(1))
                orders.transition(order, orders.S.cancelled, note="不要了")
                db.session.commit()
                assert booked() == 2 and evening.code in offered()
        finally:
            purge(tenant.id)
            with db.engine.begin() as connection:  # the buyers were committed too: no other test should see them
                connection.execute(User.__table__.delete().where(User.id.in_(user_ids)))
