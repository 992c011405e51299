"""The resources the API lacked: the public directory of tenants, a resident's payments of one order group, and a
shop's returns with the merchant's decisions on them (as the console's return page offers them)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import handling
from marketplace.orders import returns as return_services
from marketplace.orders.models import Order, OrderGroup, OrderLine
from marketplace.orders.returns import Refund, ReturnRequest, ReturnStatus
from marketplace.tenancy.context import tenant_scope
from tests.api.conftest import assert_problem, token_for
from tests.api.test_orders_api import checkout, put
from tests.fixtures.factories import PASSWORD

# -- tenants --------------------------------------------------------------------------------------------------------


def test_the_directory_lists_open_tenants_with_their_open_shops(client, make_tenant, make_shop):
    street = make_tenant(slug="dehua", name_zh="德化步行街", name_en="Dehua Street", district_zh="二七区",
                         address_zh="德化街 1 号")
    market = make_tenant(slug="nongzi", kind="market", theme="market")
    make_tenant(slug="draft-one", status="draft")
    make_tenant(slug="paused", status="suspended")
    make_shop(street, slug="laowang")
    make_shop(street, slug="liji")
    make_shop(street, slug="closed", status="suspended")

    body = client.get("/api/v1/tenants").get_json()
    found = {item["slug"]: item for item in body["items"]}
    assert {"dehua", "nongzi"} <= set(found) and not {"draft-one", "paused"} & set(found)
    assert [item["kind"] for item in body["items"]] == sorted((i["kind"] for i in body["items"]), reverse=True)
    dehua = found["dehua"]
    assert dehua | {"name_zh": "德化步行街", "name_en": "Dehua Street", "kind": "street", "district_zh": "二七区",
                    "address_zh": "德化街 1 号", "currency": "CNY", "shop_count": 2} == dehua
    assert dehua["web_url"].endswith("/t/dehua/") and dehua["api_url"].endswith("/api/v1/tenants/dehua")
    assert found["nongzi"]["shop_count"] == 0
    assert [item["slug"] for item in client.get("/api/v1/tenants?kind=market").get_json()["items"]] == ["nongzi"]
    assert_problem(client.get("/api/v1/tenants?kind=mall"), 422, "validation_failed")

    assert client.get("/api/v1/tenants/dehua").get_json() == dehua
    assert client.get(f"/api/v1/tenants/{market.slug}").get_json()["kind"] == "market"
    assert_problem(client.get("/api/v1/tenants/draft-one"), 404, "not_found")  # as the storefront: not there yet
    assert_problem(client.get("/api/v1/tenants/paused"), 503, "unavailable")
    assert_problem(client.get("/api/v1/tenants/no-such"), 404, "not_found")


# -- payments -------------------------------------------------------------------------------------------------------

@pytest.fixture
def paid(client, make_tenant, make_shop, make_category, make_product, make_user):
    """A signed-in buyer's order group, paid at the stall, half of it refunded."""
    tenant = make_tenant(slug="laojie")
    shop = make_shop(tenant, slug="laowang")
    apples = make_product(shop, category=make_category(tenant), title="红富士苹果", price=2990, stock=10)
    make_user("buyer@shangdu.example")
    client.login("buyer@shangdu.example", PASSWORD)
    client.headers = {"X-CSRFToken": client.csrf_token("/account/login")}
    base = f"/api/v1/tenants/{tenant.slug}"
    with tenant_scope(tenant):
        variant = apples.variants[0].id
    client.put(f"{base}/cart/lines/{variant}", json={"quantity": 2}, headers=client.headers)
    number = client.post(f"{base}/checkout", json={},
                         headers={**client.headers, "Idempotency-Key": str(uuid.uuid4())}).get_json()["number"]
    with tenant_scope(tenant):
        group = db.session.scalar(select(OrderGroup))
        for order in group.orders:
            handling.confirm_offline_payment(order, actor_id=None)
        db.session.commit()
    return client, base, number, tenant


def test_a_resident_reads_the_payments_of_an_order_group(paid):
    client, base, number, tenant = paid
    body = client.get(f"{base}/orders/{number}/payments").get_json()
    assert body["next_cursor"] is None and len(body["items"]) == 1
    payment = body["items"][0]
    assert payment | {"provider": "offline", "status": "succeeded", "amount": 5980, "currency": "CNY",
                      "refunded": 0, "refunded_at": None, "refunds": []} == payment
    assert payment["created_at"] and payment["paid_at"] and payment["status_label"]
    assert "client_secret" not in payment and "publishable_key" not in payment
    with tenant_scope(tenant):
        order = db.session.scalar(select(Order))
        handling.perform(order, handling.ACTIONS["accept"], actor_id=None, reason="", key="a", code="")
        db.session.commit()
        order = db.session.scalar(select(Order))
        return_services.refund(order, 5980, actor_id=None)
        db.session.commit()
    refunded = client.get(f"{base}/orders/{number}/payments").get_json()["items"][0]
    assert refunded["refunded"] == 5980 and refunded["refunded_at"]
    assert [(r["amount"], r["status"]) for r in refunded["refunds"]] == [(5980, "succeeded")]


def test_someone_elses_or_another_tenants_payments_are_not_found(paid, make_client, make_user, make_tenant):
    client, base, number, _tenant = paid
    assert_problem(client.get(f"/api/v1/tenants/{make_tenant().slug}/orders/{number}/payments"), 404, "not_found")
    assert_problem(client.get(f"{base}/orders/NOPE/payments"), 404, "not_found")
    make_user("other@shangdu.example")
    other = make_client()
    other.login("other@shangdu.example", PASSWORD)
    assert_problem(other.get(f"{base}/orders/{number}/payments"), 404, "not_found")
    assert_problem(make_client().get(f"{base}/orders/{number}/payments"), 401, "login_required")


# -- a shop's returns -----------------------------------------------------------------------------------------------

@pytest.fixture
def asked(client, make_tenant, make_shop, make_category, make_product, make_user):
    """Two return requests at the shop "laowang" (one of them about to be decided), one at "liji"; the owner of
    laowang's token. Returns (base, headers, [laowang's request ids], liji's id, tenant)."""
    tenant = make_tenant(slug="laojie")
    shops = [make_shop(tenant, slug="laowang"), make_shop(tenant, slug="liji")]
    category = make_category(tenant)
    products = [make_product(shop, category=category, price=2990, stock=10) for shop in shops]
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shops[0])
    make_user("buyer@shangdu.example")
    client.login("buyer@shangdu.example", PASSWORD)
    client.headers = {"X-CSRFToken": client.csrf_token("/account/login")}

    class Place:
        base = f"/api/v1/tenants/{tenant.slug}"

    with tenant_scope(tenant):
        variants = [product.variants[0].id for product in products]
    for variant in (variants[0], variants[0], variants[1]):
        put(client, Place, variant, 1)
        assert checkout(client, Place).status_code == 201
    ids = []
    with tenant_scope(tenant):
        for order in db.session.scalars(select(Order).order_by(Order.id)):
            handling.confirm_offline_payment(order, actor_id=None)
            line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
            request = ReturnRequest(tenant_id=tenant.id, order_id=order.id, shop_id=order.shop_id,
                                    buyer_id=order.buyer_id, amount=line.unit_price, requested_at=utcnow(),
                                    respond_by=utcnow() + timedelta(days=2))
            db.session.add(request)
            db.session.flush()
            ids.append(request.id)
        db.session.commit()
    headers = {"Authorization": f"Bearer {token_for(owner, shops[0])}"}
    return Place.base, headers, ids[:2], ids[2], tenant


def decide(client, base, headers, return_id, action, key=None, **body):
    return client.post(f"{base}/shops/laowang/returns/{return_id}/decisions", json={"action": action, **body},
                       headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())})


def test_the_merchant_lists_its_own_returns_with_what_it_may_do(client, asked):
    base, headers, mine, theirs, _tenant = asked
    body = client.get(f"{base}/shops/laowang/returns", headers=headers).get_json()
    assert [item["id"] for item in body["items"]] == mine[::-1] and body["total"] == 2
    assert body["items"][0]["actions"] == ["approve", "reject"] and body["items"][0]["status"] == "requested"
    one = client.get(f"{base}/shops/laowang/returns/{mine[0]}", headers=headers)
    assert one.status_code == 200 and one.get_json()["id"] == mine[0]
    assert client.get(f"{base}/shops/laowang/returns?status=refunded", headers=headers).get_json()["items"] == []
    assert_problem(client.get(f"{base}/shops/laowang/returns?status=lost", headers=headers), 422,
                   "validation_failed")
    assert_problem(client.get(f"{base}/shops/laowang/returns/{theirs}", headers=headers), 404, "not_found")
    assert_problem(decide(client, base, headers, theirs, "approve"), 404, "not_found")
    assert_problem(client.get(f"{base}/shops/liji/returns", headers=headers), 403, "token_wrong_shop")
    assert_problem(client.get(f"{base}/shops/laowang/returns"), 401, "token_missing")


def test_returns_of_another_tenant_are_not_found(client, asked, make_tenant, make_shop, make_user):
    base, _headers, mine, _theirs, _tenant = asked
    other = make_tenant(slug="elsewhere")
    shop = make_shop(other, slug="laowang")
    stranger = {"Authorization": f"Bearer {token_for(make_user(role=Role.merchant_owner, tenant=other, shop=shop), shop)}"}
    assert_problem(client.get(f"/api/v1/tenants/elsewhere/shops/laowang/returns/{mine[0]}", headers=stranger), 404,
                   "not_found")
    assert client.get("/api/v1/tenants/elsewhere/shops/laowang/returns", headers=stranger).get_json()["items"] == []
    assert_problem(decide(client, "/api/v1/tenants/elsewhere", stranger, mine[0], "approve"), 404, "not_found")


def _status(tenant, return_id) -> str:
    with tenant_scope(tenant):
        db.session.commit()
        return db.session.get(ReturnRequest, return_id).status


def test_the_merchant_decides_as_on_the_console_and_a_retry_does_nothing_twice(client, asked):
    base, headers, (first, second), _theirs, tenant = asked
    approved = decide(client, base, headers, first, "approve", key="ap-1", return_address="德化街 1 号 老王 138")
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.get_json() | {"status": "approved", "return_address": "德化街 1 号 老王 138",
                                  "actions": ["receive", "refund"]} == approved.get_json()
    again = decide(client, base, headers, first, "approve", key="ap-1", return_address="德化街 1 号 老王 138")
    assert again.status_code == 200 and again.get_json()["status"] == "approved"
    # The same decision under a new key (records purged, another client): recognised, not made twice.
    assert decide(client, base, headers, first, "approve", return_address="别处").get_json()["return_address"] == \
        "德化街 1 号 老王 138"
    assert_problem(decide(client, base, headers, first, "reject", reason="不行"), 409, "invalid_transition")

    refunded = decide(client, base, headers, first, "refund", key="rf-1")
    assert refunded.status_code == 200 and refunded.get_json()["status"] == "refunded"
    assert [r["amount"] for r in refunded.get_json()["refunds"]] == [2990]
    assert decide(client, base, headers, first, "refund").status_code == 200  # a retry: no second refund
    with tenant_scope(tenant):
        assert db.session.scalar(select(func.count(Refund.id))) == 1

    assert_problem(decide(client, base, headers, second, "reject"), 422, "reason_required")
    assert _status(tenant, second) == ReturnStatus.requested
    rejected = decide(client, base, headers, second, "reject", reason="商品已使用")
    assert rejected.get_json() | {"status": "rejected", "reject_reason": "商品已使用", "actions": []} == rejected.get_json()
    assert_problem(decide(client, base, headers, second, "receive"), 409, "invalid_transition")
    assert_problem(decide(client, base, headers, second, "lose"), 422, "validation_failed")
    missing_key = client.post(f"{base}/shops/laowang/returns/{second}/decisions", json={"action": "reject",
                                                                                         "reason": "x"},
                              headers=headers)
    assert_problem(missing_key, 400, "missing_idempotency_key")


def test_approving_without_an_address_uses_the_shops_place(client, asked):
    base, headers, (first, _second), _theirs, _tenant = asked
    approved = decide(client, base, headers, first, "approve").get_json()
    assert approved["status"] == "approved" and approved["return_address"]


def test_reading_needs_orders_read_and_deciding_orders_write(client, asked, make_user):
    base, _headers, (first, _second), _theirs, tenant = asked
    with tenant_scope(tenant):
        from marketplace.shops.models import Shop

        shop = db.session.scalar(select(Shop).where(Shop.slug == "laowang"))
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shop)
    reader = {"Authorization": f"Bearer {token_for(owner, shop, scopes=['orders:read'])}"}
    writer = {"Authorization": f"Bearer {token_for(owner, shop, scopes=['orders:write'])}"}
    assert client.get(f"{base}/shops/laowang/returns", headers=reader).status_code == 200
    assert_problem(client.get(f"{base}/shops/laowang/returns", headers=writer), 403, "insufficient_scope")
    assert_problem(decide(client, base, reader, first, "approve"), 403, "insufficient_scope")
    assert decide(client, base, writer, first, "approve").status_code == 200
