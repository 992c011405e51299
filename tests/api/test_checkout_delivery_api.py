"""Checkout through the API with the buyer's delivery choice: each shop's option re-quoted by the server, the address
and the recipient's consent kept on the shipment, pickup where nothing is chosen — and a choice that is not quoted, a
shop not in the cart or someone else's address refused field by field with nothing placed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from marketplace.accounts.addresses import AddressInput, add_address
from marketplace.api import orders as order_api
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Variant
from marketplace.catalog.pricing import PricingProblem
from marketplace.delivery.models import DeliverySlot, Shipment
from marketplace.delivery.providers import DeliveryError
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import CartLine, Order, OrderGroup
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from tests.api.conftest import assert_problem
from tests.fixtures.factories import PASSWORD

ERQI = AddressInput(recipient="张三丰", mobile="13812345678", province_code="410000", city_code="410100",
                    district_code="410103", street="解放路 1 号 3 单元 502")


@dataclass
class Street:
    tenant: Tenant
    shops: list  # laowang: pickup + local courier; liji: pickup only; zhangsan: nothing in the cart
    variants: list  # laowang's, liji's
    address_id: int

    @property
    def base(self) -> str:
        return f"/api/v1/tenants/{self.tenant.slug}"


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product, make_user) -> Street:
    tenant = make_tenant(slug="laojie")
    group = module_settings["delivery"]
    group.set(tenant, "provider", "pickup")
    group.set(tenant, "options", {"pickup": {}, "local_courier": {}})
    db.session.commit()
    shops = [make_shop(tenant, slug="laowang", name_zh="老王水果店", delivery={"providers": ["pickup", "local_courier"]}),
             make_shop(tenant, slug="liji", name_zh="李记茶叶"),
             make_shop(tenant, slug="zhangsan", name_zh="张三杂货", delivery={"providers": ["pickup", "local_courier"]})]
    category = make_category(tenant, product_type="general.goods")
    products = [make_product(shop, category=category, variants=[catalog.VariantInput(
        sku=f"C-{uuid.uuid4().hex[:8]}", price=2990, stock=50, weight_g=1500)]) for shop in shops[:2]]
    buyer = make_user("buyer@shangdu.example")
    address = add_address(buyer.id, ERQI)
    db.session.commit()
    with tenant_scope(tenant):
        variants = [product.variants[0].id for product in products]
    return Street(tenant, shops, variants, address.id)


@pytest.fixture
def resident(client, street):
    """The buyer signed in with two units from each of two shops in the cart."""
    client.login("buyer@shangdu.example", PASSWORD)
    client.headers = {"X-CSRFToken": client.csrf_token("/account/login")}
    for variant_id in street.variants:
        response = client.put(f"{street.base}/cart/lines/{variant_id}", json={"quantity": 2}, headers=client.headers)
        assert response.status_code == 200, response.get_data(as_text=True)
    return client


def checkout(client, street, key=None, **body):
    key = key or str(uuid.uuid4())  # a fresh key per submission unless the test retries one
    return client.post(f"{street.base}/checkout", json=body, headers={**client.headers, "Idempotency-Key": key})


def courier_option(client, street) -> dict:
    """laowang's last courier slot as the quote endpoint lists it (the last: furthest from today's cut-off)."""
    body = client.get(f"{street.base}/cart/delivery-options?address_id={street.address_id}").get_json()
    laowang = next(s for s in body["shops"] if s["shop"]["slug"] == "laowang")
    return [o for o in laowang["options"] if o["provider"] == "local_courier"][-1]


def shipments(street) -> dict[str, Shipment]:
    """Every shipment of the street, by its shop's slug."""
    with tenant_scope(street.tenant):
        db.session.commit()
        slugs = {shop.id: shop.slug for shop in street.shops}
        return {slugs[order.shop_id]: shipment for shipment, order in
                db.session.execute(select(Shipment, Order).join(Order, Shipment.order_id == Order.id)).all()}


def count(model, street) -> int:
    with tenant_scope(street.tenant):
        db.session.commit()
        return db.session.scalar(select(func.count()).select_from(model))


def booked(street, code: str) -> int | None:
    with tenant_scope(street.tenant):
        db.session.commit()
        return db.session.scalar(select(DeliverySlot.booked).where(DeliverySlot.option_code == code))


def test_a_courier_slot_chosen_through_the_api_is_on_the_shipment(resident, street):
    option = courier_option(resident, street)
    body = {"address_id": street.address_id, "third_party_signing": True,
            "delivery": {"laowang": f"local_courier:{option['code']}"}}
    placed = checkout(resident, street, "k-1", **body)
    assert placed.status_code == 201, placed.get_data(as_text=True)
    group = placed.get_json()
    by_shop = {o["shop"]["slug"]: o for o in group["orders"]}
    assert option["fee"] == 600  # 市区, 3 kg within the included 5
    assert (by_shop["laowang"]["delivery_provider"], by_shop["laowang"]["delivery_fee"]) == ("local_courier", 600)
    assert by_shop["laowang"]["total"] == 2 * 2990 + 600 and group["total"] == 4 * 2990 + 600

    sent = shipments(street)
    courier = sent["laowang"]
    assert (courier.provider, courier.option_code, courier.fee) == ("local_courier", option["code"], 600)
    assert courier.address | {"recipient": "张三丰", "street": "解放路 1 号 3 单元 502", "district_code": "410103",
                              "third_party_signing": True} == courier.address
    assert "解放路 1 号" in courier.address["text"] and courier.promised_by is not None
    # liji was not named: collecting at the shop, free, with no address and a collection code.
    pickup = sent["liji"]
    assert (pickup.provider, pickup.option_code, pickup.fee, pickup.address) == ("pickup", "shop", 0, {})
    assert pickup.pickup_code_hash
    assert booked(street, option["code"]) == 1

    again = checkout(resident, street, "k-1", **body)  # the same key and body: the same answer, the slot taken once
    assert again.status_code == 201 and again.get_json()["number"] == group["number"]
    assert count(OrderGroup, street) == 1 and booked(street, option["code"]) == 1


def test_the_consent_is_kept_as_given(resident, street):
    option = courier_option(resident, street)
    placed = checkout(resident, street, address_id=street.address_id,
                      delivery={"laowang": f"local_courier:{option['code']}"})
    assert placed.status_code == 201, placed.get_data(as_text=True)
    assert shipments(street)["laowang"].address["third_party_signing"] is False


def test_without_delivery_every_shop_collects_at_the_shop(resident, street):
    placed = checkout(resident, street, address_id=street.address_id)  # an address alone chooses nothing
    assert placed.status_code == 201, placed.get_data(as_text=True)
    assert {o["delivery_provider"] for o in placed.get_json()["orders"]} == {"pickup"}
    sent = shipments(street)
    assert {slug: (s.provider, s.option_code, s.fee, s.address) for slug, s in sent.items()} == \
        {"laowang": ("pickup", "shop", 0, {}), "liji": ("pickup", "shop", 0, {})}


def test_bad_delivery_choices_are_field_errors_and_place_nothing(resident, street, make_user):
    option = courier_option(resident, street)
    courier = f"local_courier:{option['code']}"
    theirs = add_address(make_user("stranger@shangdu.example").id, ERQI)
    with tenant_scope(street.tenant):
        db.session.add(DeliverySlot(tenant_id=street.tenant.id, shop_id=street.shops[0].id, provider="local_courier",
                                    option_code=option["code"], capacity=10, booked=10))
        db.session.commit()
    past = "local_courier:2000-01-01/18-20"
    refused = [
        ({"address_id": street.address_id, "delivery": {"laowang": past}}, "delivery.laowang"),
        ({"address_id": street.address_id, "delivery": {"laowang": courier}}, "delivery.laowang"),  # now full
        ({"delivery": {"laowang": "local_courier:2099-01-01/18-20"}}, "delivery.laowang"),  # no address, no courier
        ({"address_id": street.address_id, "delivery": {"liji": "local_courier:2099-01-01/18-20"}}, "delivery.liji"),
        ({"address_id": street.address_id, "delivery": {"zhangsan": "pickup:shop"}}, "delivery.zhangsan"),
        ({"address_id": theirs.id, "delivery": {"laowang": "pickup:shop"}}, "address_id"),
        ({"address_id": "1"}, "address_id"),
        ({"delivery": {"laowang": ""}}, "delivery.laowang"),
        ({"delivery": ["pickup:shop"]}, "delivery"),
        ({"third_party_signing": "yes"}, "third_party_signing"),
    ]
    for body, field in refused:
        problem = assert_problem(checkout(resident, street, **body), 422, "validation_failed")
        assert set(problem["errors"]) == {field}, (body, problem)
    problem = assert_problem(checkout(resident, street, delivery={"laowang": past}), 422, "validation_failed")
    assert "pickup:shop" in problem["errors"]["delivery.laowang"]  # what may be chosen instead
    assert count(OrderGroup, street) == 0 and count(Shipment, street) == 0 and count(CartLine, street) == 2
    with tenant_scope(street.tenant):
        assert db.session.get(Variant, street.variants[0]).stock == 50
    assert booked(street, option["code"]) == 10


def test_a_slot_taken_at_placement_is_a_conflict_with_its_code():
    """What ``place_order`` raises when another checkout took the last place between the quote and the booking."""
    taken = DeliveryError("“老王水果店”的这个配送时段刚刚约满了，请换一个时段。", "slot_full")
    problem = order_api._cart_problem(orders.CheckoutError([PricingProblem(taken.code, str(taken))]))
    assert (problem.status, problem.code, list(problem.errors)) == (409, "slot_full", ["delivery"])
    used = order_api._cart_problem(orders.CheckoutError([PricingProblem("quote_used", "报价已使用")]))
    assert (used.status, used.code) == (409, "quote_used")


def test_the_openapi_document_describes_the_delivery_fields(client):
    document = client.get("/api/v1/openapi.json").get_json()
    body = document["paths"]["/api/v1/tenants/{tenant_slug}/checkout"]["post"]["requestBody"]["content"]
    ref = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    properties = document["components"]["schemas"][ref]["properties"]
    assert {"delivery", "address_id", "third_party_signing"} <= set(properties)
    assert properties["delivery"]["type"] == "object" and properties["address_id"]["type"] == "integer"
    assert "delivery.<店铺 slug>" in properties["delivery"]["description"]
