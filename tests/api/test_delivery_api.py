"""The delivery API: the cart's delivery options per shop, a shipment for its buyer and its shop, tracking steps
from the merchant's (or its carrier's) token that only move forward, and public tracking by token with the
recipient masked — every refusal problem JSON, another tenant's numbers and tokens not found."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from marketplace.accounts.addresses import AddressInput, add_address
from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.delivery import services as delivery
from marketplace.delivery.models import Shipment, ShipmentEvent
from marketplace.delivery.providers import Parcel
from marketplace.extensions import db
from marketplace.orders import handling
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from tests.api.conftest import assert_problem, token_for
from tests.fixtures.factories import PASSWORD

ZHENGZHOU = AddressInput(recipient="张三丰", mobile="13812345678", province_code="410000", city_code="410100",
                         district_code="410103", street="解放路 1 号 3 单元 502")
URUMQI = AddressInput(recipient="李四", mobile="13987654321", province_code="650000", city_code="650100",
                      district_code="650102", street="人民路 8 号")


@dataclass
class Street:
    tenant: Tenant
    shops: list  # [laowang: pickup + express, liji: pickup only]
    variants: list  # one variant id per shop
    buyer: object
    address_id: int
    tokens: list  # one merchant token per shop

    @property
    def base(self) -> str:
        return f"/api/v1/tenants/{self.tenant.slug}"

    def shop_base(self, index: int = 0) -> str:
        return f"{self.base}/shops/{self.shops[index].slug}"

    def headers(self, index: int = 0, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[index]}"}
        return {**headers, "Idempotency-Key": key or uuid.uuid4().hex}


def _product(make_product, shop, category, weight_g: int):
    sku = f"D-{uuid.uuid4().hex[:8]}"
    return make_product(shop, category=category, variants=[catalog.VariantInput(
        sku=sku, price=2990, stock=50, weight_g=weight_g)])


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product, make_user) -> Street:
    tenant = make_tenant(slug="laojie")
    group = module_settings["delivery"]
    group.set(tenant, "provider", "pickup")
    group.set(tenant, "options", {"pickup": {}, "express": {"excluded": ["650000"]}})
    db.session.commit()
    shops = [make_shop(tenant, slug="laowang", name_zh="老王水果店", delivery={"providers": ["pickup", "express"]}),
             make_shop(tenant, slug="liji", name_zh="李记茶叶")]
    category = make_category(tenant, product_type="general.goods")
    products = [_product(make_product, shops[0], category, 1500), _product(make_product, shops[1], category, 200)]
    owners = [make_user(role=Role.merchant_owner, tenant=tenant, shop=shop) for shop in shops]
    buyer = make_user("buyer@shangdu.example")
    address = add_address(buyer.id, ZHENGZHOU)
    db.session.commit()
    with tenant_scope(tenant):
        variants = [product.variants[0].id for product in products]
    return Street(tenant, shops, variants, buyer, address.id, [token_for(o, s) for o, s in zip(owners, shops, strict=True)])


@pytest.fixture
def resident(client, street):
    client.login("buyer@shangdu.example", PASSWORD)
    return client


@dataclass
class Placed:
    id: int
    number: str
    group_number: str


def place(street: Street, provider: str, *, shop: int = 0, accept: bool = True) -> Placed:
    """An order of two units from one shop with the provider's first option, paid offline and accepted."""
    tenant = street.tenant
    with tenant_scope(tenant):
        shop_row = street.shops[shop]
        cart = orders.cart_for(tenant, user_id=street.buyer.id, create=True)
        orders.set_line(cart, street.variants[shop], 2)
        db.session.commit()
        from marketplace.accounts.addresses import address_of

        address = address_of(street.buyer.id, street.address_id)
        value = delivery.address_value(address) if provider != "pickup" else None
        quote = delivery.quote_shop(tenant, shop_row, Parcel(weight_g=3000, items=2, value=5980), value)
        option = next(o for o in quote.options if o.provider == provider)
        group = orders.place_order(tenant, street.buyer.id, cart, uuid.uuid4().hex, delivery={
            shop_row.id: delivery.Chosen(option, value, address.full_text if value else "")})
        order = group.orders[0]
        if accept:
            handling.confirm_offline_payment(order, actor_id=None)
            orders.transition(order, OrderStatus.accepted)
        db.session.commit()
        return Placed(order.id, order.number, order.group.number)


def events_of(street: Street, order_number: str) -> list[str]:
    with tenant_scope(street.tenant):
        db.session.commit()
        shipment = db.session.scalar(select(Shipment).join(Order).where(Order.number == order_number))
        return list(db.session.scalars(select(ShipmentEvent.to_status).where(ShipmentEvent.shipment_id == shipment.id)
                                       .order_by(ShipmentEvent.id)))


def order_status(street: Street, order_number: str) -> str:
    with tenant_scope(street.tenant):
        db.session.commit()
        return db.session.scalar(select(Order.status).where(Order.number == order_number))


def post_event(client, street, order, body, *, index: int = 0, key: str | None = None):
    return client.post(f"{street.shop_base(index)}/orders/{order.number}/shipment/events", json=body,
                       headers=street.headers(index, key))


def ship(client, street, order, body=None, *, key: str | None = None):
    return client.post(f"{street.shop_base()}/orders/{order.number}/shipment/ship",
                       json=body or {"carrier": "中通快递", "tracking_number": "ZT7500123456789"},
                       headers=street.headers(key=key))


# -- quotes ----------------------------------------------------------------------------------------------------------

def test_quotes_list_every_shops_options_and_delivery_only_with_an_address(resident, street):
    for variant_id in street.variants:
        resident.put(f"{street.base}/cart/lines/{variant_id}", json={"quantity": 2},
                     headers={"X-CSRFToken": resident.csrf_token("/account/login")})

    collecting = resident.get(f"{street.base}/cart/delivery-options")
    assert collecting.status_code == 200, collecting.get_data(as_text=True)
    body = collecting.get_json()
    assert body["currency"] == "CNY" and body["address_id"] is None
    assert {s["shop"]["slug"]: {o["provider"] for o in s["options"]} for s in body["shops"]} == \
        {"laowang": {"pickup"}, "liji": {"pickup"}}

    delivered = resident.get(f"{street.base}/cart/delivery-options?address_id={street.address_id}").get_json()
    laowang = next(s for s in delivered["shops"] if s["shop"]["slug"] == "laowang")
    express = next(o for o in laowang["options"] if o["provider"] == "express")
    # 河南's template: 500 fen for the first kilo, 200 for each further kilo begun; 2 × 1.5 kg.
    assert express | {"code": "410000", "fee": 900, "currency": "CNY"} == express
    assert express["earliest"] and express["latest"] and express["constraints"] and express["provider_label"]
    liji = next(s for s in delivered["shops"] if s["shop"]["slug"] == "liji")
    assert {o["provider"] for o in liji["options"]} == {"pickup"}  # the tea shop offers no express


def test_an_address_outside_coverage_gets_a_reason(resident, street):
    address = add_address(street.buyer.id, URUMQI)
    db.session.commit()
    resident.put(f"{street.base}/cart/lines/{street.variants[0]}", json={"quantity": 1},
                 headers={"X-CSRFToken": resident.csrf_token("/account/login")})
    body = resident.get(f"{street.base}/cart/delivery-options?address_id={address.id}").get_json()
    [shop] = body["shops"]
    assert {o["provider"] for o in shop["options"]} == {"pickup"}
    assert any("新疆" in reason for reason in shop["reasons"]), shop["reasons"]


def test_quotes_refuse_an_address_outside_my_book_and_bad_input(resident, street, make_user):
    stranger = make_user("stranger@shangdu.example")
    theirs = add_address(stranger.id, ZHENGZHOU)
    db.session.commit()
    problem = assert_problem(resident.get(f"{street.base}/cart/delivery-options?address_id={theirs.id}"), 422,
                             "validation_failed")
    assert set(problem["errors"]) == {"address_id"}
    for query in ("address_id=abc", "address_id=0", "address_id=99999999999", "third_party_signing=maybe"):
        problem = assert_problem(resident.get(f"{street.base}/cart/delivery-options?{query}"), 422,
                                 "validation_failed")
        assert set(problem["errors"]) == {query.split("=")[0]}
    # An empty cart has nothing to quote.
    assert resident.get(f"{street.base}/cart/delivery-options").get_json()["shops"] == []


def test_quotes_need_a_signed_in_resident(make_client, street):
    assert_problem(make_client().get(f"{street.base}/cart/delivery-options"), 401, "login_required")


# -- a shipment for its buyer and its shop ---------------------------------------------------------------------------

def test_the_buyer_sees_the_shipment_with_its_tracking_token_and_the_shop_without(resident, client, street):
    order = place(street, "express")
    assert ship(client, street, order).status_code == 200

    mine = resident.get(f"{street.base}/orders/{order.group_number}/orders/{order.number}/shipment")
    assert mine.status_code == 200, mine.get_data(as_text=True)
    body = mine.get_json()
    assert body | {"status": "picked_up_by_carrier", "provider": "express", "option": "410000", "fee": 900,
                   "carrier": "中通快递", "tracking_number": "ZT7500123456789", "pickup_code": None} == body
    assert len(body["tracking_token"]) >= 32 and body["tracking_url"].endswith(f"/tracking/{body['tracking_token']}")
    assert body["promised_by"] and [e["to_status"] for e in body["events"]] == ["created", "picked_up_by_carrier"]
    assert body["address"]["recipient"] == "张三丰"

    shops = client.get(f"{street.shop_base()}/orders/{order.number}/shipment", headers=street.headers())
    assert shops.status_code == 200
    merchant_view = shops.get_json()
    assert "tracking_token" not in merchant_view and "tracking_url" not in merchant_view
    assert merchant_view["address"] | {"recipient": "张三丰", "mobile": "13812345678"} == merchant_view["address"]
    assert merchant_view["events"] == body["events"]


def test_the_shop_sees_the_recipient_masked_once_the_order_is_closed(resident, client, street):
    order = place(street, "express")
    ship(client, street, order)
    post_event(client, street, order, {"status": "out_for_delivery"})
    post_event(client, street, order, {"status": "delivered"})
    url = f"{street.shop_base()}/orders/{order.number}/shipment"
    assert client.get(url, headers=street.headers()).get_json()["address"]["street"] == "解放路 1 号 3 单元 502"
    with tenant_scope(street.tenant):
        orders.transition(db.session.get(Order, order.id), OrderStatus.completed)
        db.session.commit()

    closed = client.get(url, headers=street.headers())
    assert closed.status_code == 200
    assert closed.get_json()["address"] | {
        "recipient": "张*", "mobile": "138****5678", "street": "", "province_code": "410000",
        "city_code": "410100", "district_code": "410103"} == closed.get_json()["address"]
    assert "二七区" in closed.get_json()["address"]["text"]
    for secret in ("张三丰", "13812345678", "解放路"):
        assert secret not in closed.get_data(as_text=True)
    # The buyer's own view keeps the address as given.
    mine = resident.get(f"{street.base}/orders/{order.group_number}/orders/{order.number}/shipment").get_json()
    assert mine["address"]["recipient"] == "张三丰"


def test_a_pickup_buyer_gets_the_collection_code(resident, street):
    order = place(street, "pickup", shop=1)
    body = resident.get(f"{street.base}/orders/{order.group_number}/orders/{order.number}/shipment").get_json()
    assert body["provider"] == "pickup" and body["address"] is None
    assert len(body["pickup_code"]) == 8 and body["pickup_code"].isdigit()


def test_someone_elses_order_and_another_shops_order_are_not_found(make_client, client, street, make_user):
    order = place(street, "express")
    make_user("other@shangdu.example")
    other = make_client()
    other.login("other@shangdu.example", PASSWORD)
    assert_problem(other.get(f"{street.base}/orders/{order.group_number}/orders/{order.number}/shipment"), 404,
                   "not_found")
    # The tea shop's token under its own URL does not find the fruit shop's order.
    assert_problem(client.get(f"{street.shop_base(1)}/orders/{order.number}/shipment", headers=street.headers(1)),
                   404, "not_found")
    assert_problem(post_event(client, street, order, {"status": "in_transit"}, index=1), 404, "not_found")


def test_merchant_operations_need_the_shops_token(client, street):
    order = place(street, "express")
    url = f"{street.shop_base()}/orders/{order.number}/shipment"
    assert_problem(client.get(url), 401, "token_missing")
    assert_problem(client.get(url, headers={"Authorization": "Bearer occ_forged"}), 401, "token_invalid")
    # The tea shop's token on the fruit shop.
    assert_problem(client.get(url, headers=street.headers(1)), 403, "token_wrong_shop")
    assert_problem(client.post(f"{url}/events", json={"status": "in_transit"}, headers=street.headers(1)), 403,
                   "token_wrong_shop")
    assert_problem(client.post(f"{url}/ship", json={"carrier": "中通快递", "tracking_number": "ZT1234"}), 401,
                   "token_missing")
    assert events_of(street, order.number) == ["created"]


# -- shipping and tracking -------------------------------------------------------------------------------------------

def test_an_express_parcel_walks_forward_and_the_order_follows(client, street):
    order = place(street, "express")
    assert order_status(street, order.number) == OrderStatus.accepted
    assert ship(client, street, order).get_json()["status"] == "picked_up_by_carrier"
    assert order_status(street, order.number) == OrderStatus.shipped

    at = datetime.now(timezone(timedelta(hours=8)))  # on the carrier's clock: after the handover, before now
    moving = post_event(client, street, order, {"status": "in_transit", "at": at.isoformat(),
                                                "location": "郑州转运中心", "note": "已发往乌鲁木齐"})
    assert moving.status_code == 200, moving.get_data(as_text=True)
    last = moving.get_json()["events"][-1]
    assert last | {"to_status": "in_transit", "location": "郑州转运中心", "note": "已发往乌鲁木齐"} == last
    assert datetime.fromisoformat(last["at"]) == at

    delivered = post_event(client, street, order, {"status": "delivered", "note": "本人签收"})
    assert delivered.status_code == 200 and delivered.get_json()["received_at"]
    assert order_status(street, order.number) == OrderStatus.delivered
    assert events_of(street, order.number) == ["created", "picked_up_by_carrier", "in_transit", "delivered"]


def test_tracking_backwards_or_twice_is_refused(client, street):
    order = place(street, "express")
    ship(client, street, order)
    post_event(client, street, order, {"status": "out_for_delivery"})
    for status in ("in_transit", "picked_up_by_carrier", "ready_for_pickup"):
        assert_problem(post_event(client, street, order, {"status": status}), 409, "invalid_transition")
    post_event(client, street, order, {"status": "delivered"})
    assert_problem(post_event(client, street, order, {"status": "delivered", "note": "又签收一次"}), 409,
                   "invalid_transition")
    assert_problem(ship(client, street, order, {"carrier": "顺丰速运", "tracking_number": "SF1234567"}), 409,
                   "invalid_transition")
    assert events_of(street, order.number) == ["created", "picked_up_by_carrier", "out_for_delivery", "delivered"]


def test_nothing_moves_before_the_order_is_accepted(client, street):
    order = place(street, "express", accept=False)
    assert_problem(ship(client, street, order), 409, "order_not_ready")
    assert events_of(street, order.number) == ["created"]
    pickup = place(street, "pickup", shop=1, accept=False)
    assert_problem(post_event(client, street, pickup, {"status": "ready_for_pickup"}, index=1), 409, "order_not_ready")
    assert events_of(street, pickup.number) == ["created"]


def test_an_express_parcel_is_handed_to_its_carrier_before_any_step(client, street):
    order = place(street, "express")
    for status in ("out_for_delivery", "picked_up_by_carrier", "in_transit"):
        problem = assert_problem(post_event(client, street, order, {"status": status}), 409, "invalid_transition")
        assert "请先发货" in problem["detail"]
    assert events_of(street, order.number) == ["created"]
    assert order_status(street, order.number) == OrderStatus.accepted
    ship(client, street, order)
    assert post_event(client, street, order, {"status": "out_for_delivery"}).status_code == 200


def test_a_pickup_is_collected_only_with_its_code_never_through_the_api(client, street):
    order = place(street, "pickup")
    problem = assert_problem(post_event(client, street, order, {"status": "collected"}), 409, "invalid_transition")
    assert "取货码" in problem["detail"]
    post_event(client, street, order, {"status": "ready_for_pickup"})
    for status in ("collected", "out_for_delivery", "delivered", "exception", "returned"):
        assert_problem(post_event(client, street, order, {"status": status}), 409, "invalid_transition")
    assert events_of(street, order.number) == ["created", "ready_for_pickup"]
    assert order_status(street, order.number) == OrderStatus.ready_for_pickup


def test_a_courier_delivery_takes_only_the_couriers_steps(client, street):
    tenant, shop = street.tenant, street.shops[0]
    module_settings["delivery"].set(tenant, "options", {"pickup": {}, "express": {}, "local_courier": {}})
    with tenant_scope(tenant):
        shop.delivery = {"providers": ["pickup", "express", "local_courier"]}
        shop.opening_hours = {day: "00:00-23:59" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        db.session.commit()
    order = place(street, "local_courier")
    for status in ("ready_for_pickup", "picked_up_by_carrier", "collected"):
        assert_problem(post_event(client, street, order, {"status": status}), 409, "invalid_transition")
    assert post_event(client, street, order, {"status": "out_for_delivery"}).status_code == 200
    assert_problem(post_event(client, street, order, {"status": "in_transit"}), 409, "invalid_transition")
    assert post_event(client, street, order, {"status": "delivered"}).status_code == 200
    assert events_of(street, order.number) == ["created", "out_for_delivery", "delivered"]


def test_a_retried_request_is_recorded_once(client, street):
    order = place(street, "express")
    first = ship(client, street, order, key="ship-1")
    again = ship(client, street, order, key="ship-1")
    assert first.status_code == again.status_code == 200 and again.get_json() == first.get_json()
    step = {"status": "in_transit", "location": "郑州转运中心"}
    first = post_event(client, street, order, step, key="step-1")
    again = post_event(client, street, order, step, key="step-1")
    assert first.status_code == again.status_code == 200 and again.get_json()["events"] == first.get_json()["events"]
    assert events_of(street, order.number) == ["created", "picked_up_by_carrier", "in_transit"]


def test_writes_need_an_idempotency_key(client, street):
    order = place(street, "express")
    headers = {"Authorization": f"Bearer {street.tokens[0]}"}
    url = f"{street.shop_base()}/orders/{order.number}/shipment"
    assert_problem(client.post(f"{url}/ship", json={"carrier": "中通快递", "tracking_number": "ZT1234"},
                               headers=headers), 400, "missing_idempotency_key")
    assert_problem(client.post(f"{url}/events", json={"status": "in_transit"},
                               headers={**headers, "Idempotency-Key": "x" * 101}), 400, "invalid_idempotency_key")
    assert events_of(street, order.number) == ["created"]


def test_a_pickup_order_is_marked_ready_through_the_same_endpoint_but_never_shipped(client, street):
    order = place(street, "pickup")
    ready = post_event(client, street, order, {"status": "ready_for_pickup", "location": "老王水果店"})
    assert ready.status_code == 200, ready.get_data(as_text=True)
    assert order_status(street, order.number) == OrderStatus.ready_for_pickup
    assert_problem(ship(client, street, order), 409, "wrong_provider")
    assert_problem(post_event(client, street, order, {"status": "in_transit"}), 409, "invalid_transition")


def test_a_carrier_and_number_are_checked(client, street):
    order = place(street, "express")
    problem = assert_problem(ship(client, street, order, {"carrier": "路边快递", "tracking_number": "ZT1234"}), 422,
                             "unknown_carrier")
    assert set(problem["errors"]) == {"carrier"}
    problem = assert_problem(ship(client, street, order, {"carrier": "中通快递", "tracking_number": "ZT 12/34"}), 422,
                             "bad_tracking_number")
    assert set(problem["errors"]) == {"tracking_number"}
    assert events_of(street, order.number) == ["created"]


def test_a_locker_delivery_needs_the_recipients_consent(client, street):
    order = place(street, "express")
    ship(client, street, order)
    problem = assert_problem(post_event(client, street, order, {"status": "delivered", "note": "已放入丰巢快递柜"}),
                             422, "no_consent")
    assert set(problem["errors"]) == {"note"}
    assert order_status(street, order.number) == OrderStatus.shipped


@pytest.mark.parametrize("body", [
    {"status": "teleported"}, {"status": "cancelled"}, {"status": "created"}, {"status": 5}, {}, [], "in_transit",
    {"status": "in_transit", "at": "yesterday"}, {"status": "in_transit", "at": "2026-12-01T09:30:00"},
    {"status": "in_transit", "at": "2999-01-01T00:00:00+08:00"}, {"status": "in_transit", "note": "x" * 1001},
    {"status": "in_transit", "location": "\x00"}, {"status": "in_transit", "actor_id": 1},
])
def test_bad_tracking_events_are_field_errors(client, street, body):
    order = place(street, "express")
    ship(client, street, order)
    problem = assert_problem(post_event(client, street, order, body), 422, "validation_failed")
    assert problem["errors"]
    assert events_of(street, order.number) == ["created", "picked_up_by_carrier"]


def test_unreadable_bodies_are_problems_not_errors(client, street):
    order = place(street, "express")
    url = f"{street.shop_base()}/orders/{order.number}/shipment"
    for path in ("events", "ship"):
        response = client.post(f"{url}/{path}", data="{not json", content_type="application/json",
                               headers=street.headers())
        assert_problem(response, 400, "invalid_json")
        response = client.post(f"{url}/{path}", json={"carrier": ["x"], "tracking_number": {"a": 1}, "status": None},
                               headers=street.headers())
        assert_problem(response, 422, "validation_failed")


# -- public tracking -------------------------------------------------------------------------------------------------

def test_anyone_with_the_token_follows_the_parcel_without_the_recipients_details(make_client, client, street):
    order = place(street, "express")
    ship(client, street, order)
    post_event(client, street, order, {"status": "in_transit", "location": "郑州转运中心", "note": "客户要求放门卫室"})
    with tenant_scope(street.tenant):
        token = db.session.scalar(select(Shipment.tracking_token).where(Shipment.order_id == order.id))
    response = make_client().get(f"{street.base}/tracking/{token}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body | {"status": "in_transit", "carrier": "中通快递", "tracking_number": "ZT7500123456789",
                   "shop": "老王水果店", "recipient": "张*", "mobile": "138****5678"} == body
    text = response.get_data(as_text=True)
    for secret in ("张三丰", "13812345678", "解放路", token, "410103", "门卫室"):  # no note either
        assert secret not in text
    assert [e["to_status"] for e in body["events"]] == ["created", "picked_up_by_carrier", "in_transit"]
    assert body["events"][-1]["location"] == "郑州转运中心" and "note" not in body["events"][-1]


def test_an_unknown_token_is_not_found(client, street):
    place(street, "express")
    for token in ("nope", "x" * 64, "x" * 65):
        assert_problem(client.get(f"{street.base}/tracking/{token}"), 404, "not_found")


# -- across tenants --------------------------------------------------------------------------------------------------

def test_another_tenants_numbers_and_tokens_are_not_found(make_client, client, street, make_tenant, make_shop,
                                                         make_user):
    order = place(street, "express")
    other = make_tenant(slug="xinjie")
    their_shop = make_shop(other, slug="laowang")  # the same shop slug in another street
    their_owner = make_user(role=Role.merchant_owner, tenant=other, shop=their_shop)
    their_token = token_for(their_owner, their_shop)
    with tenant_scope(street.tenant):
        token = db.session.scalar(select(Shipment.tracking_token).where(Shipment.order_id == order.id))
    base = "/api/v1/tenants/xinjie"
    headers = {"Authorization": f"Bearer {their_token}", "Idempotency-Key": "cross"}
    assert_problem(client.get(f"{base}/tracking/{token}"), 404, "not_found")
    assert_problem(client.get(f"{base}/shops/laowang/orders/{order.number}/shipment", headers=headers), 404,
                   "not_found")
    assert_problem(client.post(f"{base}/shops/laowang/orders/{order.number}/shipment/events",
                               json={"status": "in_transit"}, headers=headers), 404, "not_found")
    assert_problem(client.post(f"{base}/shops/laowang/orders/{order.number}/shipment/ship",
                               json={"carrier": "中通快递", "tracking_number": "ZT1234"},
                               headers={**headers, "Idempotency-Key": "cross-2"}), 404,
                   "not_found")
    # Street A's token under street B's URL: a shop of another tenant.
    assert_problem(client.get(f"{base}/shops/laowang/orders/{order.number}/shipment", headers=street.headers()), 404,
                   "not_found")
    buyer = make_client()
    buyer.login("buyer@shangdu.example", PASSWORD)
    assert_problem(buyer.get(f"{base}/orders/{order.group_number}/orders/{order.number}/shipment"), 404, "not_found")
    assert events_of(street, order.number) == ["created"]


# -- the OpenAPI document --------------------------------------------------------------------------------------------

def test_the_document_describes_the_delivery_operations(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    base = "/api/v1/tenants/{tenant_slug}"
    expected = {
        (f"{base}/cart/delivery-options", "get"): "DeliveryQuoteOut",
        (f"{base}/orders/{{number}}/orders/{{order_number}}/shipment", "get"): "BuyerShipmentOut",
        (f"{base}/shops/{{shop_slug}}/orders/{{number}}/shipment", "get"): "ShipmentOut",
        (f"{base}/shops/{{shop_slug}}/orders/{{number}}/shipment/events", "post"): "ShipmentOut",
        (f"{base}/shops/{{shop_slug}}/orders/{{number}}/shipment/ship", "post"): "ShipmentOut",
        (f"{base}/tracking/{{token}}", "get"): "PublicTrackingOut",
    }
    for (path, method), schema in expected.items():
        operation = paths[path][method]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(f"/{schema}")
    events = paths[f"{base}/shops/{{shop_slug}}/orders/{{number}}/shipment/events"]["post"]
    body = events["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "in_transit" in document["components"]["schemas"][body]["properties"]["status"]["enum"]
    assert "webhook" in events["description"] and "Idempotency-Key" in {p["name"] for p in events["parameters"]}
    assert {"401", "403", "409", "422"} <= set(events["responses"])
    assert "security" not in paths[f"{base}/tracking/{{token}}"]["get"]

