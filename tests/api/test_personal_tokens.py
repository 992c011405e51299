"""A resident's personal token (``occp_…``) on the resident API: it acts as the resident, with no cookie and no CSRF
header, within its scopes (``purchases:read``, ``purchases:write``); revoked, expired or closed-account tokens, and
every other kind of token, are refused; it opens nothing but the resident API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts import closure
from marketplace.accounts.models import Role, User
from marketplace.api import auth, limits
from marketplace.api.models import PersonalToken
from marketplace.api.scopes import ALL_RESIDENT_SCOPES, RESIDENT_SCOPES
from marketplace.catalog.models import Variant
from marketplace.core.audit import AuditEntry
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import OrderGroup
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from tests.api.conftest import assert_problem, token_for
from tests.api.test_openapi import HTTP_METHODS
from tests.fixtures.factories import PASSWORD
from tests.orders.test_place_order import fill

READ, WRITE = "purchases:read", "purchases:write"


@dataclass
class Street:
    tenant: Tenant
    apples: object  # the product
    variant_id: int
    buyer: User
    neighbour: User
    shop_key: str
    base: str


def personal_token(user: User, scopes=ALL_RESIDENT_SCOPES, days: int | None = 90, name: str = "手机 App") -> str:
    token = auth.issue_personal_token(user, name, scopes, days)
    db.session.commit()
    return token


def row_of(token: str) -> PersonalToken:
    db.session.expire_all()
    return db.session.scalar(select(PersonalToken).where(PersonalToken.token_sha256 == auth.hash_token(token)))


def bearer(token: str, **extra) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def groups_of(street: Street, user: User) -> int:
    with tenant_scope(street.tenant):
        db.session.commit()
        return db.session.scalar(select(func.count(OrderGroup.id)).where(OrderGroup.buyer_id == user.id))


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product, make_user) -> Street:
    tenant = make_tenant(slug="laojie")
    shop = make_shop(tenant, slug="laowang", name_zh="老王水果店")
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(shop, category=category, title="红富士苹果", price=2990, stock=10)
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shop)
    with tenant_scope(tenant):
        variant_id = db.session.scalar(select(Variant.id).where(Variant.product_id == apples.id))
    return Street(tenant, apples, variant_id, make_user("buyer@shangdu.example"),
                  make_user("neighbour@shangdu.example"), token_for(owner, shop), f"/api/v1/tenants/{tenant.slug}")


def place(street: Street, buyer: User, key: str) -> OrderGroup:
    cart = fill(street.tenant, buyer, {street.apples: 1})
    with tenant_scope(street.tenant):
        group = orders.place_order(street.tenant, buyer.id, cart, key)
        db.session.commit()
        return group


def test_a_token_reads_the_residents_own_orders(client, street):
    mine, theirs = place(street, street.buyer, "mine"), place(street, street.neighbour, "theirs")
    token = personal_token(street.buyer, [READ])
    response = client.get(f"{street.base}/orders", headers=bearer(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [group["number"] for group in response.get_json()["items"]] == [mine.number]
    assert "Set-Cookie" not in response.headers  # no session is started for a token
    assert client.get(f"{street.base}/orders/{mine.number}", headers=bearer(token)).status_code == 200
    # Another resident's order is not found, as if it did not exist.
    assert_problem(client.get(f"{street.base}/orders/{theirs.number}", headers=bearer(token)), 404, "not_found")
    with tenant_scope(street.tenant):
        order_number = db.session.merge(theirs).orders[0].number
    assert_problem(client.get(f"{street.base}/orders/{theirs.number}/orders/{order_number}/shipment",
                              headers=bearer(token)), 404, "not_found")
    assert row_of(token).last_used_at is not None


def test_a_token_places_an_order_without_csrf(client, street):
    token = personal_token(street.buyer)
    put = client.put(f"{street.base}/cart/lines/{street.variant_id}", json={"quantity": 2}, headers=bearer(token))
    assert put.status_code == 200, put.get_data(as_text=True)
    assert put.get_json()["total"] == 2 * 2990

    placed = client.post(f"{street.base}/checkout", json={}, headers=bearer(token, **{"Idempotency-Key": "app-1"}))
    assert placed.status_code == 201, placed.get_data(as_text=True)
    number = placed.get_json()["number"]
    again = client.post(f"{street.base}/checkout", json={}, headers=bearer(token, **{"Idempotency-Key": "app-1"}))
    assert again.status_code in (200, 201) and again.get_json()["number"] == number  # a replay: the same order
    assert groups_of(street, street.buyer) == 1 and groups_of(street, street.neighbour) == 0
    with tenant_scope(street.tenant):
        assert db.session.get(Variant, street.variant_id).stock == 8


def test_a_session_still_needs_its_csrf_header(client, street):
    """What the token skips, the cookie still must send: CSRF protects cookies."""
    client.login("buyer@shangdu.example", PASSWORD)
    response = client.put(f"{street.base}/cart/lines/{street.variant_id}", json={"quantity": 1})
    assert_problem(response, 400, "csrf_failed")


def test_the_token_not_the_cookie_is_the_caller(client, street):
    place(street, street.neighbour, "theirs")
    client.login("buyer@shangdu.example", PASSWORD)  # the browser is signed in as the buyer…
    token = personal_token(street.neighbour, [READ])  # …and sends the neighbour's token
    response = client.get(f"{street.base}/orders", headers=bearer(token))
    assert response.status_code == 200 and len(response.get_json()["items"]) == 1
    assert "Set-Cookie" not in response.headers  # the buyer's session is left as it was
    assert client.get(f"{street.base}/orders").get_json()["items"] == []  # and still is the buyer's


def test_a_read_only_token_cannot_check_out(client, street):
    fill(street.tenant, street.buyer, {street.apples: 1})
    token = personal_token(street.buyer, [READ])
    assert client.get(f"{street.base}/cart", headers=bearer(token)).status_code == 200
    response = client.post(f"{street.base}/checkout", json={}, headers=bearer(token, **{"Idempotency-Key": "k"}))
    body = assert_problem(response, 403, "insufficient_scope")
    assert WRITE in body["detail"] and str(RESIDENT_SCOPES[WRITE]) in body["detail"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="insufficient_scope", ' \
                                                   f'scope="{WRITE}"'
    assert groups_of(street, street.buyer) == 0


def test_a_write_only_token_cannot_read(client, street):
    token = personal_token(street.buyer, [WRITE])
    assert_problem(client.get(f"{street.base}/orders", headers=bearer(token)), 403, "insufficient_scope")


def test_revoked_expired_and_closed_account_tokens_are_refused(client, street):
    revoked, expired, closed, fine = (personal_token(street.buyer), personal_token(street.buyer),
                                      personal_token(street.neighbour), personal_token(street.buyer))
    auth.revoke_personal_token(row_of(revoked))
    row_of(expired).expires_at = utcnow() - timedelta(seconds=1)
    db.session.get(User, street.neighbour.id).active = False
    db.session.commit()
    for token in (revoked, expired, closed, "occp_made-up", "occp_" + "x" * 300):
        response = client.get(f"{street.base}/cart", headers=bearer(token))
        assert_problem(response, 401, "token_invalid")
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert "过期" in client.get(f"{street.base}/cart", headers=bearer(expired)).get_json()["detail"]
    assert client.get(f"{street.base}/cart", headers=bearer(fine)).status_code == 200


def test_closing_the_account_deletes_its_tokens(client, street):
    token = personal_token(street.neighbour)
    assert client.get(f"{street.base}/cart", headers=bearer(token)).status_code == 200
    closure.close_account(db.session.get(User, street.neighbour.id), PASSWORD)
    db.session.commit()
    assert row_of(token) is None
    assert_problem(client.get(f"{street.base}/cart", headers=bearer(token)), 401, "token_invalid")


def test_other_kinds_of_token_do_not_open_the_resident_api(client, street, make_user):
    admin = make_user("admin@shangdu.example", role=Role.platform_admin)
    statistics = auth.issue_statistics_token("市统计局", admin)
    db.session.commit()
    for token in (street.shop_key, statistics):
        response = client.get(f"{street.base}/orders", headers=bearer(token))
        assert_problem(response, 401, "token_invalid")
        assert "occp_" in response.get_json()["detail"]
        write = client.post(f"{street.base}/checkout", json={}, headers=bearer(token, **{"Idempotency-Key": "k"}))
        assert_problem(write, 401, "token_invalid")


def test_a_personal_token_opens_no_other_api(client, street):
    token = personal_token(street.buyer)
    shop = f"{street.base}/shops/laowang"
    for url in (f"{shop}/orders", f"{shop}/complaints", f"{shop}/products/{street.apples.id}"):
        assert_problem(client.get(url, headers=bearer(token)), 401, "token_invalid")
    response = client.post(f"{shop}/variants/stock", json={"items": []}, headers=bearer(token))
    assert_problem(response, 401, "token_invalid")
    assert_problem(client.get("/api/v1/statistics?period=2026-11", headers=bearer(token)), 401, "token_invalid")


def test_an_operation_without_a_resident_scope_refuses_every_token(street):
    row = row_of(personal_token(street.buyer))
    with pytest.raises(auth.ApiAuthError) as refused:
        auth.require_resident_scope(row, None)
    assert refused.value.status == 403 and refused.value.code == "insufficient_scope"
    auth.require_resident_scope(row, READ)


def test_issuing_checks_the_name_scopes_and_expiry(street):
    for name, scopes, days, field in [("", [READ], 30, "name"), ("App", [], 30, "scopes"),
                                      ("App", ["orders:read"], 30, "scopes"), ("App", [READ], 7, "expires")]:
        with pytest.raises(auth.TokenError) as refused:
            auth.issue_personal_token(street.buyer, name, scopes, days)
        assert refused.value.field == field
    db.session.rollback()
    thirty = row_of(personal_token(street.buyer, f"{WRITE} {READ} {WRITE}", days=30))
    assert thirty.scopes == f"{READ} {WRITE}"
    assert timedelta(days=30) - timedelta(minutes=1) < thirty.expires_at - thirty.created_at <= timedelta(days=30)
    assert row_of(personal_token(street.buyer, days=None)).expires_at is None


def test_issuing_and_revoking_are_audited_without_the_token(street):
    token = personal_token(street.buyer, [READ])
    auth.revoke_personal_token(row_of(token))
    db.session.commit()
    created, revoked = (db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).one()
                        for action in ("personal_token.created", "personal_token.revoked"))
    assert created.details["scopes"] == [READ] and created.details["holder"] == "buyer@shangdu.example"
    assert token not in created.details_text and created.target_id == str(row_of(token).id)
    assert revoked.target_id == created.target_id


def test_rate_limits_count_a_residents_tokens_as_the_resident(street):
    """Every live personal token of a resident draws on the resident's one allowance (minting more tokens buys no
    more requests); a made-up, revoked or expired one counts as no token at all (the address's allowance)."""
    token, another = personal_token(street.buyer), personal_token(street.buyer)
    assert limits._token_key(token) == limits._token_key(another) == f"user:{street.buyer.id}"
    assert limits._token_key("occp_made-up") is None
    auth.revoke_personal_token(row_of(token))
    row_of(another).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert limits._token_key(token) is None and limits._token_key(another) is None


def test_every_resident_operation_offers_the_session_or_a_scoped_token(client):
    document = client.get("/api/v1/openapi.json").get_json()
    scheme = document["components"]["securitySchemes"]["personalToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert all(f"`{scope}`" in scheme["description"] for scope in RESIDENT_SCOPES)
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS or not any("sessionCookie" in need for need in operation.get("security", [])):
                continue
            where = f"{method.upper()} {path}"
            security = operation["security"]
            assert security[0] == {"sessionCookie": []} and len(security) == 2, where
            (scope,) = security[1]["personalToken"]
            assert scope in RESIDENT_SCOPES and "403" in operation["responses"], where
            found[where] = scope
    assert found["GET /api/v1/tenants/{tenant_slug}/orders"] == READ
    assert found["POST /api/v1/tenants/{tenant_slug}/checkout"] == WRITE
    assert set(found.values()) == set(RESIDENT_SCOPES) and len(found) >= 15
