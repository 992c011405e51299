"""API key scopes, generated from the OpenAPI document: every bearer operation names one scope, and a key holding
only that scope gets through while a key holding any other is refused (403 ``insufficient_scope``, the missing
scope named). A new merchant operation is in the matrix as soon as it is documented."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.api import auth
from marketplace.api.models import ApiToken
from marketplace.api.scopes import ALL_OPERATOR_SCOPES, ALL_RESIDENT_SCOPES, ALL_SCOPES, OPERATOR_SCOPES, SCOPES
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.returns import ReturnRequest
from marketplace.shops import applications
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import complaints
from tests.api.conftest import assert_problem, operator_token_for, token_for
from tests.api.test_openapi import HTTP_METHODS
from tests.orders.test_place_order import fill

#: The operations the scopes were made for, and the least scope each needs.
EXPECTED = {
    ("post", "/shops/{shop_slug}/products"): "catalog:write",
    ("get", "/shops/{shop_slug}/products/{product_id}"): "catalog:read",
    ("patch", "/shops/{shop_slug}/products/{product_id}"): "catalog:write",
    ("post", "/shops/{shop_slug}/products/{product_id}/publish"): "catalog:write",
    ("post", "/shops/{shop_slug}/products/{product_id}/unpublish"): "catalog:write",
    ("post", "/shops/{shop_slug}/variants/stock"): "stock:write",
    ("get", "/shops/{shop_slug}/orders"): "orders:read",
    ("post", "/shops/{shop_slug}/orders/{number}/transitions"): "orders:write",
    ("get", "/shops/{shop_slug}/orders/{number}/shipment"): "orders:read",
    ("post", "/shops/{shop_slug}/orders/{number}/shipment/events"): "shipments:write",
    ("post", "/shops/{shop_slug}/orders/{number}/shipment/ship"): "shipments:write",
    ("get", "/shops/{shop_slug}/complaints"): "complaints:read",
    ("post", "/shops/{shop_slug}/complaints/{complaint_number}/answer"): "complaints:write",
    ("get", "/shops/{shop_slug}/returns"): "orders:read",
    ("get", "/shops/{shop_slug}/returns/{return_id}"): "orders:read",
    ("post", "/shops/{shop_slug}/returns/{return_id}/decisions"): "orders:write",
}
TENANT_PREFIX = "/api/v1/tenants/{tenant_slug}"


@dataclass
class KeyedShop:
    values: dict[str, str]  # path parameter → a real value of this shop
    keys: dict[str, str]  # scope → a key holding only that scope


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def keyed_shop(make_tenant, make_shop, make_category, make_product, make_user) -> KeyedShop:
    """A shop with a product, a picked-up pickup order (so a shipment) under complaint, and one key per scope."""
    tenant = make_tenant(slug="laojie")
    shop = make_shop(tenant, slug="laowang", name_zh="老王水果店")
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(shop, category=category, title="红富士苹果", price=2990, stock=50)
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shop)
    buyer = make_user("buyer@shangdu.example")
    cart = fill(tenant, buyer, {apples: 1})
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, "scopes").orders[0]
        for step in ("paid", "accepted", "ready_for_pickup", "picked_up"):
            orders.transition(order, step)
        db.session.commit()
        complaint = complaints.file_complaint(tenant, order, buyer_id=buyer.id, category="quality",
                                              description="苹果有虫眼")
        db.session.commit()
        asked = ReturnRequest(tenant_id=tenant.id, order_id=order.id, shop_id=shop.id, buyer_id=buyer.id, amount=2990,
                              requested_at=utcnow(), respond_by=utcnow() + timedelta(days=2))
        db.session.add(asked)
        db.session.commit()
        values = {"tenant_slug": tenant.slug, "shop_slug": shop.slug, "product_id": str(apples.id),
                  "number": order.number, "complaint_number": complaint.number, "return_id": str(asked.id)}
    keys = {scope: token_for(owner, shop, f"只有 {scope}", scopes=[scope]) for scope in ALL_SCOPES}
    return KeyedShop(values, keys)


def secured_operations(document: dict, scheme: str):
    """(method, path, operation, scopes named) of every operation whose security names ``scheme``."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for requirement in operation.get("security") or []:
                if scheme in requirement:
                    yield method, path, operation, requirement[scheme]


def bearer_operations(document: dict):
    return secured_operations(document, "bearerAuth")


def test_every_bearer_operation_declares_its_scope(document):
    found = {}
    for method, path, operation, scopes in bearer_operations(document):
        where = f"{method.upper()} {path}"
        assert len(scopes) == 1, f"{where}: every bearer operation declares its scope (one of SCOPES), not {scopes}"
        assert scopes[0] in SCOPES, f"{where}: unknown scope {scopes[0]}"
        assert "403" in operation["responses"], f"{where} does not document the 403 of a key without its scope"
        found[(method, path.removeprefix(TENANT_PREFIX))] = scopes[0]
    assert found.items() >= EXPECTED.items()  # the least scope of each, as designed
    assert set(found.values()) == set(SCOPES), "a scope that no operation needs"


def test_the_security_scheme_lists_every_scope(document):
    description = document["components"]["securitySchemes"]["bearerAuth"]["description"]
    for scope in SCOPES:
        assert f"`{scope}`" in description


def _url(path: str, values: dict[str, str]) -> str:
    def value(match):
        name = match.group(1)
        if name not in values:
            pytest.fail(f"no value for {{{name}}} in {path}: add one to the keyed_shop fixture")
        return values[name]

    return re.sub(r"{(\w+)}", value, path)


def test_a_key_may_call_what_its_scope_allows_and_nothing_else(client, document, keyed_shop):
    operations = list(bearer_operations(document))
    assert len(operations) >= len(EXPECTED)
    wrong = []
    for method, path, _operation, (needed,) in operations:
        url = _url(path, keyed_shop.values)
        for scope, key in keyed_shop.keys.items():
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"scope-{scope}-{method}-{path}"}
            # An empty body is enough: a 422 for it still proves the key got past the scope check.
            body = {} if method in ("post", "put", "patch") else None
            response = client.open(url, method=method.upper(), json=body, headers=headers)
            where = f"{method.upper()} {url} with only {scope}"
            if scope == needed:
                if response.status_code in (401, 403) or response.status_code >= 500:
                    wrong.append(f"{where}: {response.status_code}, expected to pass ({needed})")
            elif response.status_code != 403 or response.get_json().get("code") != "insufficient_scope":
                wrong.append(f"{where}: {response.status_code} {response.get_data(as_text=True)[:200]}, "
                             f"expected 403 insufficient_scope")
            elif needed not in response.get_json()["detail"]:
                wrong.append(f"{where}: the 403's detail does not name {needed}")
    assert not wrong, "\n".join(wrong)


def test_a_refusal_says_which_scope_is_missing(client, keyed_shop):
    values = keyed_shop.values
    url = f"/api/v1/tenants/{values['tenant_slug']}/shops/{values['shop_slug']}/variants/stock"
    response = client.post(url, json={"items": [{"sku": "X", "stock": 1}]},
                           headers={"Authorization": f"Bearer {keyed_shop.keys['catalog:write']}"})
    body = assert_problem(response, 403, "insufficient_scope")
    assert "stock:write" in body["detail"] and "批量设置库存" in body["detail"]
    assert response.headers["WWW-Authenticate"] == \
        'Bearer realm="api", error="insufficient_scope", scope="stock:write"'
    # Refused before anything: the key is not even marked used.
    key = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 ==
                                                   auth.hash_token(keyed_shop.keys["catalog:write"])))
    assert key.last_used_at is None


def test_an_operation_that_declares_no_scope_is_closed_to_every_key(keyed_shop):
    key = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 ==
                                                   auth.hash_token(keyed_shop.keys["orders:read"])))
    with pytest.raises(auth.ApiAuthError) as refused:
        auth.require_scope(key, None)
    assert refused.value.status == 403 and refused.value.code == "insufficient_scope"
    auth.require_scope(key, "orders:read")  # and the scope it holds passes


def test_issuing_names_unknown_scopes_and_needs_at_least_one(merchant):
    with tenant_scope(merchant.tenant):
        with pytest.raises(auth.TokenError) as refused:
            auth.issue_token(merchant.user, merchant.shop, "脚本", ["catalog:read", "orders:delete"])
        assert "orders:delete" in str(refused.value) and refused.value.field == "scopes"
        with pytest.raises(auth.TokenError) as refused:
            auth.issue_token(merchant.user, merchant.shop, "脚本", [])
        assert refused.value.field == "scopes"
        # Stored once each, in the set's order, whichever way they are given.
        token = auth.issue_token(merchant.user, merchant.shop, "脚本", "stock:write catalog:read stock:write")
        stored = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == auth.hash_token(token)))
        assert stored.scopes == "catalog:read stock:write"


def _cli_issue(app, merchant, *options: str):
    return app.test_cli_runner().invoke(args=["api", "issue-token", "--tenant", merchant.tenant.slug, "--shop",
                                              merchant.shop.slug, "--user", merchant.user.email, *options, "收银机"])


def test_the_cli_issues_a_token_with_the_scopes_asked_for(app, client, merchant):
    result = _cli_issue(app, merchant, "--scope", "stock:write", "--scope", "catalog:read")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    stored = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == auth.hash_token(token)))
    assert stored.scopes == "catalog:read stock:write"
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(f"{merchant.base}/variants/stock", json={"items": []}, headers=headers).status_code != 403
    assert_problem(client.get(f"{merchant.base}/orders", headers=headers), 403, "insufficient_scope")

    listing = app.test_cli_runner().invoke(args=["api", "tokens", "--tenant", merchant.tenant.slug, "--shop",
                                                 merchant.shop.slug])
    assert "收银机  [catalog:read stock:write]" in listing.output and token not in listing.output


def test_the_cli_gives_every_scope_by_default_and_refuses_unknown_ones(app, merchant):
    result = _cli_issue(app, merchant)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    stored = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == auth.hash_token(token)))
    assert stored.scope_list == list(ALL_SCOPES)

    before = db.session.scalar(select(func.count()).select_from(ApiToken))
    refused = _cli_issue(app, merchant, "--scope", "orders:delete")
    assert refused.exit_code != 0 and "orders:delete" in refused.output
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == before


# -- the operator API: its own scopes, on operator tokens ------------------------------------------------------------

#: The operator operations and the one operator scope each needs.
OPERATOR_EXPECTED = {
    ("get", "/operator/settings"): "tenant:read",
    ("patch", "/operator/settings"): "tenant:write",
    ("get", "/operator/applications"): "applications:read",
    ("get", "/operator/applications/{application_id}"): "applications:read",
    ("post", "/operator/applications/{application_id}/approve"): "applications:write",
    ("post", "/operator/applications/{application_id}/reject"): "applications:write",
}


def operator_operations(document: dict):
    return secured_operations(document, "operatorToken")


def test_every_operator_operation_declares_its_operator_scope(document):
    found = {}
    for method, path, operation, scopes in operator_operations(document):
        where = f"{method.upper()} {path}"
        assert len(scopes) == 1 and scopes[0] in OPERATOR_SCOPES, f"{where}: one operator scope, not {scopes}"
        assert {"401", "403", "404"} <= set(operation["responses"]), f"{where}: its auth errors"
        found[(method, path.removeprefix(TENANT_PREFIX))] = scopes[0]
    assert found == OPERATOR_EXPECTED
    under_operator = {(method, path) for path, item in document["paths"].items() if "/operator/" in path
                      for method in item if method in HTTP_METHODS}
    assert len(under_operator) == len(found), "an operation under /operator/ without the operatorToken scheme"
    description = document["components"]["securitySchemes"]["operatorToken"]["description"]
    assert all(f"`{scope}`" in description for scope in OPERATOR_SCOPES)


@pytest.fixture
def operated_market(make_tenant, make_user) -> KeyedShop:
    """A market with a waiting shop application, and one operator token per operator scope."""
    tenant = make_tenant(slug="dongfeng", kind="market", theme="market")
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    applicant = make_user("applicant@shangdu.example")
    with tenant_scope(tenant):
        application = applications.submit_application(tenant, applicant, applications.ApplicationInput(
            kind="natural_person", legal_name="王建军", contact_name="王建军", contact_phone="13900139000",
            shop_name_zh="新摊位", slug="new-stall"))
        db.session.commit()
        values = {"tenant_slug": tenant.slug, "application_id": str(application.id)}
    keys = {scope: operator_token_for(operator, tenant, f"只有 {scope}", [scope]) for scope in ALL_OPERATOR_SCOPES}
    return KeyedShop(values, keys)


def test_an_operator_token_may_call_what_its_scope_allows_and_nothing_else(client, document, operated_market):
    wrong = []
    for method, path, _operation, (needed,) in operator_operations(document):
        url = _url(path, operated_market.values)
        for scope, key in operated_market.keys.items():
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"scope-{scope}-{method}-{path}"}
            body = {"reason": "摊位已满"} if method in ("post", "patch") else None
            response = client.open(url, method=method.upper(), json=body, headers=headers)
            where = f"{method.upper()} {url} with only {scope}"
            if scope == needed:
                if response.status_code in (401, 403) or response.status_code >= 500:
                    wrong.append(f"{where}: {response.status_code}, expected to pass ({needed})")
            elif response.status_code != 403 or response.get_json().get("code") != "insufficient_scope":
                wrong.append(f"{where}: {response.status_code}, expected 403 insufficient_scope")
            elif needed not in response.get_json()["detail"]:
                wrong.append(f"{where}: the 403's detail does not name {needed}")
    assert not wrong, "\n".join(wrong)


# -- the resident API: the session, or a personal token with a resident scope --------------------------------------

def resident_operations(document: dict):
    """(method, path, resident scope named) of every operation that a personal token may call."""
    for method, path, _operation, scopes in secured_operations(document, "personalToken"):
        yield method, path, scopes


@pytest.fixture
def resident_tokens(make_tenant, make_shop, make_category, make_product, make_user) -> KeyedShop:
    """A buyer's picked-up order under complaint, a personal token per resident scope, and a shop key."""
    tenant = make_tenant(slug="laojie")
    shop = make_shop(tenant, slug="laowang", name_zh="老王水果店")
    apples = make_product(shop, category=make_category(tenant, product_type="general.goods"), title="红富士苹果",
                          price=2990, stock=50)
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shop)
    buyer = make_user("buyer@shangdu.example")
    cart = fill(tenant, buyer, {apples: 1})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "resident-scopes")
        order = group.orders[0]
        for step in ("paid", "accepted", "ready_for_pickup", "picked_up"):
            orders.transition(order, step)
        db.session.commit()
        complaint = complaints.file_complaint(tenant, order, buyer_id=buyer.id, category="quality",
                                              description="苹果有虫眼")
        db.session.commit()
        values = {"tenant_slug": tenant.slug, "number": group.number, "order_number": order.number,
                  "line_id": str(order.lines[0].id), "variant_id": str(order.lines[0].variant_id),
                  "complaint_number": complaint.number}
    keys = {scope: auth.issue_personal_token(buyer, f"只有 {scope}", [scope], 30) for scope in ALL_RESIDENT_SCOPES}
    db.session.commit()
    keys["shop key"] = token_for(owner, shop)
    return KeyedShop(values, keys)


def test_a_personal_token_may_call_what_its_scope_allows_and_a_shop_key_nothing(client, document, resident_tokens):
    operations = list(resident_operations(document))
    assert len(operations) >= 15
    wrong = []
    for method, path, (needed,) in operations:
        url = _url(path, resident_tokens.values)
        for holder, key in resident_tokens.keys.items():
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"scope-{holder}-{method}-{path}"}
            body = {} if method in ("post", "put", "patch") else None
            response = client.open(url, method=method.upper(), json=body, headers=headers)
            status, code = response.status_code, (response.get_json(silent=True) or {}).get("code")
            where = f"{method.upper()} {url} with {holder}: {status} {response.get_data(as_text=True)[:200]}"
            if holder == "shop key":
                if (status, code) != (401, "token_invalid"):
                    wrong.append(f"{where}, expected 401 token_invalid")
            elif holder == needed:
                if status in (401, 403) or status >= 500 or code == "csrf_failed":
                    wrong.append(f"{where}, expected to pass ({needed}, no CSRF header)")
            elif (status, code) != (403, "insufficient_scope") or needed not in response.get_json()["detail"]:
                wrong.append(f"{where}, expected 403 insufficient_scope naming {needed}")
    assert not wrong, "\n".join(wrong)
