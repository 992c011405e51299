"""Merchant API tokens: one shop each, refused once revoked or once their holder loses the shop."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from marketplace.accounts.models import Role, RoleGrant
from marketplace.api.auth import TokenError, issue_statistics_token, issue_token, revoke_token
from marketplace.api.models import ApiToken, OperatorToken, StatisticsToken
from marketplace.api.scopes import ALL_SCOPES
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from tests.api.conftest import assert_problem, operator_token_for, token_for

TOKEN_MODELS = (ApiToken, OperatorToken, StatisticsToken)
NEW_PRODUCT = {"category": "tools", "title": "锄头", "variants": [{"sku": "HOE-1", "price": 2500, "stock": 3}]}


@pytest.fixture
def tools(merchant, make_category):
    return make_category(merchant.tenant, slug="tools", product_type="general.goods")


def test_a_token_lets_its_holder_write_to_its_shop(client, merchant, tools):
    response = client.post(f"{merchant.base}/products", json=NEW_PRODUCT, headers=merchant.headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    stored = db.session.scalar(select(ApiToken).where(ApiToken.shop_id == merchant.shop.id))
    assert stored.last_used_at is not None
    # Only the hash is kept.
    assert stored.token_sha256 == hashlib.sha256(merchant.token.encode()).hexdigest()
    assert merchant.token not in str([getattr(stored, c.key) for c in ApiToken.__table__.columns])


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Token abc"])
def test_no_token_is_401(client, merchant, tools, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.post(f"{merchant.base}/products", json=NEW_PRODUCT, headers=headers)
    assert_problem(response, 401, "token_missing")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", ["occ_not-a-real-token", "x" * 5000, "occ_\u4e2d\u6587"])
def test_an_unknown_token_is_401(client, merchant, tools, token):
    response = client.post(f"{merchant.base}/products", json=NEW_PRODUCT, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "token_invalid")


def test_a_revoked_token_is_401(client, merchant, tools):
    with tenant_scope(merchant.tenant):
        revoke_token(db.session.scalar(select(ApiToken).where(ApiToken.shop_id == merchant.shop.id)))
        db.session.commit()
    response = client.post(f"{merchant.base}/products", json=NEW_PRODUCT, headers=merchant.headers)
    assert_problem(response, 401, "token_invalid")


def test_a_token_does_not_open_another_shop(client, merchant, tools, make_shop, make_tenant, make_user):
    neighbour = make_shop(merchant.tenant, slug="neighbour")
    response = client.post(f"/api/v1/tenants/{merchant.tenant.slug}/shops/neighbour/products", json=NEW_PRODUCT,
                           headers=merchant.headers)
    assert_problem(response, 403, "token_wrong_shop")
    # A shop with the same slug in another tenant, whose owner is the same person, is not found (cross-tenant).
    elsewhere = make_tenant()
    twin = make_shop(elsewhere, slug=merchant.shop.slug)
    from marketplace.accounts import services as accounts

    accounts.grant_role(merchant.user, Role.merchant_owner, tenant=elsewhere, shop=twin)
    db.session.commit()
    response = client.post(f"/api/v1/tenants/{elsewhere.slug}/shops/{twin.slug}/products", json=NEW_PRODUCT,
                           headers=merchant.headers)
    assert_problem(response, 404, "not_found")
    assert neighbour.id  # nothing was created in either shop:
    assert client.get(f"/api/v1/tenants/{merchant.tenant.slug}/products").get_json()["total"] == 0


def test_an_unknown_shop_is_404_for_a_valid_token(client, merchant, tools):
    response = client.post(f"/api/v1/tenants/{merchant.tenant.slug}/shops/no-such-shop/products", json=NEW_PRODUCT,
                           headers=merchant.headers)
    assert_problem(response, 404, "not_found")


def test_a_token_stops_working_when_its_holder_loses_the_shop(client, merchant, tools):
    db.session.execute(delete(RoleGrant).where(RoleGrant.user_id == merchant.user.id))
    db.session.commit()
    response = client.post(f"{merchant.base}/products", json=NEW_PRODUCT, headers=merchant.headers)
    assert_problem(response, 403, "token_forbidden")


def test_a_deactivated_account_is_401(client, merchant, tools):
    merchant.user.active = False
    db.session.commit()
    assert_problem(client.post(f"{merchant.base}/products", json=NEW_PRODUCT, headers=merchant.headers), 401,
                   "token_invalid")


def test_staff_may_hold_tokens_but_residents_may_not(merchant, make_user):
    staff = make_user(role=Role.merchant_staff, tenant=merchant.tenant, shop=merchant.shop)
    assert token_for(staff, merchant.shop).startswith("occ_")
    resident = make_user()
    with tenant_scope(merchant.tenant), pytest.raises(TokenError) as refused:
        issue_token(resident, merchant.shop, "脚本", ALL_SCOPES)
    assert "不是店铺" in str(refused.value)
    with tenant_scope(merchant.tenant), pytest.raises(TokenError):
        issue_token(staff, merchant.shop, "  ", ALL_SCOPES)


def test_tokens_are_not_needed_for_reading_and_cookies_are_not_enough_for_writing(client, merchant, tools):
    assert client.get(f"/api/v1/tenants/{merchant.tenant.slug}/products").status_code == 200
    client.login(merchant.user.email, "correct-horse-42")
    assert_problem(client.post(f"{merchant.base}/products", json=NEW_PRODUCT), 401, "token_missing")


def test_the_cli_issues_a_working_token_and_revokes_it(app, client, merchant, tools):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api", "issue-token", "--tenant", merchant.tenant.slug, "--shop", merchant.shop.slug,
                                 "--user", merchant.user.email, "收银机"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("occ_")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "cli-1"}
    assert client.post(f"{merchant.base}/products", json=NEW_PRODUCT, headers=headers).status_code == 201

    listing = runner.invoke(args=["api", "tokens", "--tenant", merchant.tenant.slug, "--shop", merchant.shop.slug])
    assert "收银机" in listing.output and token not in listing.output
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "收银机"))
    assert runner.invoke(args=["api", "revoke-token", str(token_id)]).exit_code == 0
    assert_problem(client.post(f"{merchant.base}/products", json=NEW_PRODUCT, headers=headers), 401, "token_invalid")


def test_the_cli_refuses_someone_without_rights(app, merchant, make_user):
    outsider = make_user("outsider@example.com")
    result = app.test_cli_runner().invoke(args=["api", "issue-token", "--tenant", merchant.tenant.slug, "--shop",
                                                merchant.shop.slug, "--user", outsider.email, "脚本"])
    assert result.exit_code != 0 and "不是店铺" in result.output
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == outsider.id)) is None


def test_a_read_saves_its_tokens_last_use_before_it_reads_anything(client, merchant, make_user):
    """Noting a token's use is a write. Left to the read's first query (autoflush), it was made inside the read's
    transaction, which SQLite refuses when another worker wrote meanwhile: a shop's, an operator's or the statistics
    office's read answered 503 under load (found by tests/reliability/test_policy.py). Each API's authentication
    now saves it first, in a transaction of its own, as the resident API's does."""
    operator = make_user(role=Role.tenant_operator, tenant=merchant.tenant)
    operator_token = operator_token_for(operator, merchant.tenant)
    statistics_token = issue_statistics_token("市统计局", make_user(role=Role.platform_admin))
    db.session.commit()
    unsaved: list[str] = []

    def note_unsaved_uses(state):
        if state.is_select:
            unsaved.extend(type(row).__name__ for row in state.session.dirty if isinstance(row, TOKEN_MODELS))

    event.listen(Session, "do_orm_execute", note_unsaved_uses)
    try:
        for path, token, status in ((f"{merchant.base}/returns/1", merchant.token, 404),  # looked up, not found
                                    (f"/api/v1/tenants/{merchant.tenant.slug}/operator/applications", operator_token,
                                     200), ("/api/v1/statistics?period=2026-11", statistics_token, 200)):
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == status, response.get_data(as_text=True)
    finally:
        event.remove(Session, "do_orm_execute", note_unsaved_uses)
    assert unsaved == []
    db.session.expire_all()
    assert all(row.last_used_at is not None for model in TOKEN_MODELS for row in db.session.scalars(select(model)))
