"""The orders API: a resident's cart, checkout and orders over the session cookie (with the CSRF header), and a
merchant's order handling with a bearer token — refusals as problem JSON, nothing written."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders.models import Cart, CartLine, OrderEvent, OrderGroup
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from tests.api.conftest import assert_problem, token_for
from tests.fixtures.factories import PASSWORD


@dataclass
class Street:
    tenant: Tenant
    shops: list
    variants: dict  # name → variant id
    buyer: object
    merchant_token: str  # for shops[0]

    @property
    def base(self) -> str:
        return f"/api/v1/tenants/{self.tenant.slug}"


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product, make_user) -> Street:
    tenant = make_tenant(slug="laojie")
    shops = [make_shop(tenant, slug="laowang", name_zh="老王水果店"), make_shop(tenant, slug="liji", name_zh="李记茶叶")]
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(shops[0], category=category, title="红富士苹果", price=2990, stock=10)
    tea = make_product(shops[1], category=category, title="信阳毛尖", price=12800, stock=5,
                       tiers=[(3, 12000)])
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shops[0])
    buyer = make_user("buyer@shangdu.example")
    with tenant_scope(tenant):
        ids = {name: db.session.scalar(select(Variant.id).where(Variant.product_id == p.id))
               for name, p in (("apples", apples), ("tea", tea))}
    return Street(tenant, shops, ids, buyer, token_for(owner, shops[0]))


@pytest.fixture
def resident(client, street):
    """The buyer signed in; ``resident.headers`` carry the session's CSRF token."""
    client.login("buyer@shangdu.example", PASSWORD)
    client.headers = {"X-CSRFToken": client.csrf_token("/account/login")}
    return client


def put(client, street, variant_id, quantity, **kwargs):
    headers = kwargs.pop("headers", client.headers)
    return client.put(f"{street.base}/cart/lines/{variant_id}", json={"quantity": quantity}, headers=headers,
                      **kwargs)


def checkout(client, street, key="k-1", **body):
    return client.post(f"{street.base}/checkout", json=body, headers={**client.headers, "Idempotency-Key": key})


def count(model, tenant) -> int:
    with tenant_scope(tenant):
        db.session.commit()
        return db.session.scalar(select(func.count()).select_from(model))


def stock(street, name) -> int:
    with tenant_scope(street.tenant):
        db.session.commit()
        return db.session.get(Variant, street.variants[name]).stock


# -- cart ------------------------------------------------------------------------------------------------------------

def test_cart_lines_by_shop_with_server_prices(resident, street):
    assert put(resident, street, street.variants["apples"], 2).status_code == 200
    response = put(resident, street, street.variants["tea"], 3)
    assert response.status_code == 200, response.get_data(as_text=True)
    cart = resident.get(f"{street.base}/cart").get_json()
    assert cart["total"] == 2 * 2990 + 3 * 12000 and cart["problems"] == []
    by_shop = {s["shop"]["slug"]: s for s in cart["shops"]}
    assert by_shop["laowang"]["lines"][0]["unit_price"] == 2990
    assert by_shop["liji"]["lines"][0] | {"quantity": 3, "unit_price": 12000, "price_source": "tier:3"} == \
        by_shop["liji"]["lines"][0]

    removed = put(resident, street, street.variants["apples"], 0).get_json()
    assert [s["shop"]["slug"] for s in removed["shops"]] == ["liji"]


def test_cart_reports_problems_with_the_stock(resident, street):
    response = put(resident, street, street.variants["tea"], 6)
    assert response.status_code == 200
    problems = response.get_json()["problems"]
    assert [p["code"] for p in problems] == ["not_enough_stock"] and problems[0]["variant_id"] == street.variants["tea"]


@pytest.mark.parametrize("quantity", [-1, 1.5, "2", True, None, 10**9, [1]])
def test_tampered_quantities_are_refused(resident, street, quantity):
    problem = assert_problem(put(resident, street, street.variants["apples"], quantity), 422, "validation_failed")
    assert "quantity" in problem["errors"]
    assert count(CartLine, street.tenant) == 0


def test_injected_prices_are_refused(resident, street):
    response = resident.put(f"{street.base}/cart/lines/{street.variants['apples']}", headers=resident.headers,
                            json={"quantity": 1, "unit_price": 1})
    assert assert_problem(response, 422, "validation_failed")["errors"] == {"unit_price": "不认识的字段。"}
    assert count(CartLine, street.tenant) == 0


def test_unknown_and_foreign_variants_are_404(resident, street, make_tenant, make_shop, make_product):
    other = make_tenant()
    foreign = make_product(make_shop(other), price=100, stock=5)
    with tenant_scope(other):
        foreign_id = foreign.variants[0].id
    for variant_id in (999_999, foreign_id):
        assert_problem(put(resident, street, variant_id, 1), 404, "unknown_variant")
    assert count(Cart, street.tenant) == 0


def test_writes_need_the_csrf_header_and_a_session(make_client, resident, street):
    assert_problem(put(resident, street, street.variants["apples"], 1, headers={}), 400, "csrf_failed")
    assert_problem(put(resident, street, street.variants["apples"], 1, headers={"X-CSRFToken": "forged"}), 400,
                   "csrf_failed")
    assert count(CartLine, street.tenant) == 0
    guest = make_client()
    assert_problem(guest.get(f"{street.base}/cart"), 401, "login_required")
    assert_problem(guest.put(f"{street.base}/cart/lines/{street.variants['apples']}", json={"quantity": 1}), 401,
                   "login_required")


# -- checkout --------------------------------------------------------------------------------------------------------

def test_checkout_is_idempotent(resident, street):
    put(resident, street, street.variants["apples"], 2)
    put(resident, street, street.variants["tea"], 1)
    first = checkout(resident, street, notes={"liji": "下午来取"})
    assert first.status_code == 201, first.get_data(as_text=True)
    group = first.get_json()
    assert group["total"] == 2 * 2990 + 12800 and group["payment_provider"] == "offline"
    assert {o["shop"]["slug"]: o["note"] for o in group["orders"]} == {"laowang": "", "liji": "下午来取"}
    assert {o["status"] for o in group["orders"]} == {"pending_payment"}

    again = checkout(resident, street)
    assert again.status_code == 200 and again.get_json()["number"] == group["number"]
    assert count(OrderGroup, street.tenant) == 1 and stock(street, "apples") == 8
    assert resident.get(f"{street.base}/cart").get_json()["shops"] == []

    mine = resident.get(f"{street.base}/orders").get_json()["items"]
    assert [g["number"] for g in mine] == [group["number"]]
    detail = resident.get(f"{street.base}/orders/{group['number']}").get_json()
    assert detail["orders"][0]["lines"][0]["title"] in ("红富士苹果", "信阳毛尖")


def test_checkout_refusals_write_nothing(resident, street):
    assert_problem(resident.post(f"{street.base}/checkout", json={}, headers=resident.headers), 400,
                   "missing_idempotency_key")
    assert_problem(checkout(resident, street, key="x" * 101), 400, "invalid_idempotency_key")
    assert_problem(checkout(resident, street), 409, "empty_cart")
    put(resident, street, street.variants["tea"], 6)  # only 5 in stock
    problem = assert_problem(checkout(resident, street), 409, "cart_problems")
    assert f"variant.{street.variants['tea']}" in problem["errors"]
    put(resident, street, street.variants["tea"], 1)
    assert_problem(checkout(resident, street, notes={"laowang": "不在车里"}), 422, "validation_failed")
    assert_problem(checkout(resident, street, total=1), 422, "validation_failed")
    assert count(OrderGroup, street.tenant) == 0 and stock(street, "tea") == 5


def test_anothers_orders_are_404(client, make_client, resident, street, make_user):
    put(resident, street, street.variants["apples"], 1)
    number = checkout(resident, street).get_json()["number"]
    make_user("other@shangdu.example")
    other = make_client()
    other.login("other@shangdu.example", PASSWORD)
    assert_problem(other.get(f"{street.base}/orders/{number}"), 404, "not_found")
    assert other.get(f"{street.base}/orders").get_json()["items"] == []


def test_cross_tenant_ids_are_404(resident, street, make_tenant):
    put(resident, street, street.variants["apples"], 1)
    number = checkout(resident, street).get_json()["number"]
    elsewhere = f"/api/v1/tenants/{make_tenant(slug='xinjie').slug}"
    assert_problem(resident.get(f"{elsewhere}/orders/{number}"), 404, "not_found")
    assert resident.get(f"{elsewhere}/orders").get_json()["items"] == []
    assert_problem(resident.put(f"{elsewhere}/cart/lines/{street.variants['tea']}", json={"quantity": 1},
                                headers=resident.headers), 404, "unknown_variant")


# -- merchant --------------------------------------------------------------------------------------------------------

@pytest.fixture
def placed(resident, street) -> dict:
    put(resident, street, street.variants["apples"], 2)
    put(resident, street, street.variants["tea"], 1)
    group = checkout(resident, street).get_json()
    return {o["shop"]["slug"]: o["number"] for o in group["orders"]}


def move(client, street, number, to, key, **body):
    return client.post(f"{street.base}/shops/laowang/orders/{number}/transitions", json={"to": to, **body},
                       headers={"Authorization": f"Bearer {street.merchant_token}", "Idempotency-Key": key})


def test_merchant_sees_only_its_shops_orders(client, street, placed):
    headers = {"Authorization": f"Bearer {street.merchant_token}"}
    page = client.get(f"{street.base}/shops/laowang/orders", headers=headers).get_json()
    assert [o["number"] for o in page["items"]] == [placed["laowang"]] and page["total"] == 1
    assert page["items"][0]["commission"] == 0
    assert client.get(f"{street.base}/shops/laowang/orders?status=paid", headers=headers).get_json()["total"] == 0
    assert_problem(client.get(f"{street.base}/shops/laowang/orders?status=lost", headers=headers), 422,
                   "validation_failed")
    assert_problem(client.get(f"{street.base}/shops/liji/orders", headers=headers), 403, "token_wrong_shop")
    assert_problem(client.get(f"{street.base}/shops/laowang/orders"), 401, "token_missing")


def test_merchant_moves_an_order_once_per_key(client, street, placed):
    number = placed["laowang"]
    response = move(client, street, number, "paid", "pay-1", note="已收现金")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "paid" and response.get_json()["events"][-1]["note"] == "已收现金"
    again = move(client, street, number, "paid", "pay-1", note="已收现金")
    assert again.status_code == 200 and again.get_json()["status"] == "paid"
    assert count(OrderEvent, street.tenant) == 3  # two placed, one paid

    problem = assert_problem(move(client, street, number, "completed", "c-1"), 409, "invalid_transition")
    assert "已付款" in problem["detail"]
    assert_problem(move(client, street, number, "refunded", "r-1"), 422, "validation_failed")
    assert_problem(client.post(f"{street.base}/shops/laowang/orders/{number}/transitions", json={"to": "accepted"},
                               headers={"Authorization": f"Bearer {street.merchant_token}"}), 400,
                   "missing_idempotency_key")
    for step in ("accepted", "ready_for_pickup", "picked_up", "completed"):
        assert move(client, street, number, step, f"k-{step}").get_json()["status"] == step
    assert count(OrderEvent, street.tenant) == 7


def test_cancel_returns_the_stock(client, street, placed):
    assert stock(street, "apples") == 8
    assert move(client, street, placed["laowang"], "cancelled", "c-1", note="缺货").get_json()["status"] == "cancelled"
    assert stock(street, "apples") == 10


def test_another_shops_or_tenants_order_is_404(client, street, placed, make_tenant, make_shop, make_user):
    assert_problem(move(client, street, placed["liji"], "paid", "x-1"), 404, "not_found")
    assert_problem(move(client, street, "G000-1", "paid", "x-2"), 404, "not_found")
    other = make_tenant(slug="xinjie")
    shop = make_shop(other, slug="laowang")
    owner = make_user(role=Role.merchant_owner, tenant=other, shop=shop)
    token = token_for(owner, shop)
    response = client.post(f"/api/v1/tenants/xinjie/shops/laowang/orders/{placed['laowang']}/transitions",
                           json={"to": "paid"}, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "z"})
    assert_problem(response, 404, "not_found")
    assert count(OrderEvent, street.tenant) == 2


def test_the_openapi_document_lists_the_order_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    prefix = "/api/v1/tenants/{tenant_slug}"
    assert {"get"} <= set(paths[f"{prefix}/cart"])
    assert "put" in paths[f"{prefix}/cart/lines/{{variant_id}}"]
    checkout_op = paths[f"{prefix}/checkout"]["post"]
    assert {"201", "200", "409"} <= set(checkout_op["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in checkout_op["parameters"])
    assert "get" in paths[f"{prefix}/orders"] and "get" in paths[f"{prefix}/orders/{{number}}"]
    assert "get" in paths[f"{prefix}/shops/{{shop_slug}}/orders"]
    assert "post" in paths[f"{prefix}/shops/{{shop_slug}}/orders/{{number}}/transitions"]
