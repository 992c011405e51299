"""The operator API: a tenant operator's token reads and changes the tenant's settings and decides shop
applications, as the operator console does — and nothing of another tenant, with no other kind of token."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select

from marketplace.accounts.models import Role, RoleGrant, User
from marketplace.api import auth
from marketplace.api.models import OperatorToken
from marketplace.core.audit import AuditEntry
from marketplace.extensions import db
from marketplace.orders.returns import returns_settings
from marketplace.orders.services import order_settings
from marketplace.shops import applications
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from tests.api.conftest import assert_problem, operator_token_for, token_for

PASSWORD = "correct-horse-42"


@dataclass
class Market:
    tenant: Tenant
    operator: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def base(self) -> str:
        return f"/api/v1/tenants/{self.tenant.slug}/operator"


@pytest.fixture
def market(make_tenant, make_user) -> Market:
    tenant = make_tenant(slug="dongfeng", kind="market", theme="market", name_zh="东风农资市场")
    operator = make_user("operator@dongfeng.example", role=Role.tenant_operator, tenant=tenant, name="东风运营")
    return Market(tenant, operator, operator_token_for(operator, tenant))


def apply(tenant: Tenant, applicant: User, slug: str, **kw) -> int:
    """``applicant`` asks to open a stall ``slug`` in ``tenant``; returns the application's id."""
    values = {"kind": "natural_person", "legal_name": "王建军", "contact_name": "王建军",
              "contact_phone": "13900139000", "shop_name_zh": f"{slug} 摊位", "slug": slug, **kw}
    with tenant_scope(tenant):
        application = applications.submit_application(tenant, applicant, applications.ApplicationInput(**values))
        db.session.commit()
        return application.id


def _audit(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _key(n: str) -> dict[str, str]:
    return {"Idempotency-Key": f"decision-{n}"}


# -- settings ------------------------------------------------------------------------------------------------------

def test_the_settings_are_read_with_the_order_settings(client, market):
    with tenant_scope(market.tenant):
        order_settings.set(market.tenant, "commission_bp", 150)
        db.session.commit()
    response = client.get(f"{market.base}/settings", headers=market.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["slug"] == "dongfeng" and body["name_zh"] == "东风农资市场" and body["kind"] == "market"
    assert body["status"] == "live" and body["currency"] == "CNY" and body["timezone"] == "Asia/Shanghai"
    assert body["orders"] == {"commission_bp": 150, "payment_minutes": 30, "offline_payment_minutes": None,
                              "return_respond_hours": 48}
    assert body["brand"] == {"primary_color": None, "accent_color": None}
    token = db.session.scalar(select(OperatorToken).where(OperatorToken.token_sha256 == auth.hash_token(market.token)))
    assert token.last_used_at is not None


def test_patching_changes_only_what_is_given_and_is_audited_as_the_operator(client, market):
    body = {"brand": {"primary_color": "#AA3300"}, "timezone": "Asia/Urumqi",
            "orders": {"commission_bp": 250, "offline_payment_minutes": 1440}}
    response = client.patch(f"{market.base}/settings", json=body, headers=market.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["brand"] == {"primary_color": "#aa3300", "accent_color": None}
    assert answer["timezone"] == "Asia/Urumqi"
    assert answer["orders"] == {"commission_bp": 250, "payment_minutes": 30, "offline_payment_minutes": 1440,
                                "return_respond_hours": 48}
    db.session.expire_all()
    tenant = db.session.get(Tenant, market.tenant.id)
    assert tenant.brand == {"primary_color": "#aa3300"} and tenant.timezone == "Asia/Urumqi"
    assert order_settings.get(tenant, "commission_bp") == 250
    assert order_settings.get(tenant, "payment_minutes_by_provider") == {"offline": 1440}
    brand, = _audit("tenant.brand_changed")
    orders_entry, = _audit("tenant.order_settings_changed")
    for entry in (brand, orders_entry):
        assert entry.actor_id == market.operator.id and entry.tenant_id == tenant.id
    assert orders_entry.details["before"]["commission_bp"] == 0 and orders_entry.details["after"]["commission_bp"] == 250

    # null takes a colour back to the theme's and the offline deadline back to the general one
    again = client.patch(f"{market.base}/settings", json={"brand": {"primary_color": None},
                                                         "orders": {"offline_payment_minutes": None}},
                         headers=market.headers).get_json()
    assert again["brand"]["primary_color"] is None and again["orders"]["offline_payment_minutes"] is None
    assert again["timezone"] == "Asia/Urumqi" and again["orders"]["commission_bp"] == 250


def test_patching_nothing_new_writes_no_audit_entry(client, market):
    response = client.patch(f"{market.base}/settings", json={"timezone": "Asia/Shanghai",
                                                             "orders": {"payment_minutes": 30}}, headers=market.headers)
    assert response.status_code == 200
    assert not _audit("tenant.brand_changed") and not _audit("tenant.order_settings_changed")


def _stored(tenant: Tenant) -> tuple:
    db.session.expire_all()
    tenant = db.session.get(Tenant, tenant.id)
    return (dict(tenant.brand or {}), tenant.timezone, order_settings.all(tenant),
            returns_settings.get(tenant, "respond_hours"))


@pytest.mark.parametrize(("body", "field"), [
    ({"timezone": "Asia/Shanghai", "orders": {"commission_bp": 3001}}, "orders.commission_bp"),
    ({"brand": {"primary_color": "#abc"}, "orders": {"commission_bp": 100}}, "brand.primary_color"),
    ({"orders": {"payment_minutes": 4, "return_respond_hours": 24}}, "orders.payment_minutes"),
    ({"orders": {"return_respond_hours": 721}}, "orders.return_respond_hours"),
    ({"orders": {"commission_bp": "150"}}, "orders.commission_bp"),
    ({"timezone": "Mars/Olympus", "orders": {"commission_bp": 100}, "brand": {"accent_color": "#000000"}},
     "timezone"),
    ({"status": "live"}, "status"),
])
def test_a_bad_field_is_named_and_nothing_changes(client, market, body, field):
    before = _stored(market.tenant)
    response = client.patch(f"{market.base}/settings", json=body, headers=market.headers)
    problem = assert_problem(response, 422, "validation_failed")
    assert field in problem["errors"], problem
    assert _stored(market.tenant) == before
    assert not _audit("tenant.brand_changed") and not _audit("tenant.order_settings_changed")


# -- applications --------------------------------------------------------------------------------------------------

def test_applications_are_listed_oldest_first_page_by_page(client, market, make_user):
    ids = [apply(market.tenant, make_user(), f"stall-{n}") for n in range(3)]
    with tenant_scope(market.tenant):
        applications.reject_application(applications.application_in_tenant(ids[1]), "位置已满", market.operator)
        db.session.commit()

    seen, url = [], f"{market.base}/applications?limit=2"
    response = client.get(url, headers=market.headers)
    first = response.get_json()
    assert [a["id"] for a in first["items"]] == ids[:2] and first["next_cursor"]
    assert response.headers["Link"].endswith('>; rel="next"') and "cursor=" in response.headers["Link"]
    seen += first["items"]
    following = client.get(f"{market.base}/applications?limit=2&cursor={first['next_cursor']}",
                           headers=market.headers)
    last = following.get_json()
    assert [a["id"] for a in last["items"]] == ids[2:] and last["next_cursor"] is None
    assert "Link" not in following.headers

    waiting = client.get(f"{market.base}/applications?status=submitted", headers=market.headers).get_json()
    assert [a["id"] for a in waiting["items"]] == [ids[0], ids[2]]
    rejected = client.get(f"{market.base}/applications?status=rejected", headers=market.headers).get_json()
    assert [(a["id"], a["status"], a["reason"]) for a in rejected["items"]] == [(ids[1], "rejected", "位置已满")]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJhZnRlciI6ICJ4In0", "W10", "eyJhZnRlciI6IC0xfQ"])
def test_a_tampered_cursor_is_400(client, market, cursor):
    response = client.get(f"{market.base}/applications?cursor={cursor}", headers=market.headers)
    assert_problem(response, 400, "invalid_cursor")


def test_bad_list_parameters_are_422(client, market):
    for query in ("status=open", "limit=0", "limit=101"):
        assert_problem(client.get(f"{market.base}/applications?{query}", headers=market.headers), 422,
                       "validation_failed")


def test_an_application_shows_what_the_console_shows_and_not_the_account(client, market, make_user):
    applicant = make_user("13800138000", name="王建军")
    applicant.email = "wang@private.example"
    db.session.commit()
    application_id = apply(market.tenant, applicant, "wang-seeds", contact_phone="0371-66668888",
                           wished_place="A1-003", note="种子化肥")
    response = client.get(f"{market.base}/applications/{application_id}", headers=market.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "submitted" and body["slug"] == "wang-seeds" and body["wished_place"] == "A1-003"
    assert body["contact_phone"] == "0371-66668888"
    assert body["applicant"] == {"id": applicant.id, "display_name": "王建军"}
    text = response.get_data(as_text=True)
    assert "13800138000" not in text and "wang@private.example" not in text
    assert_problem(client.get(f"{market.base}/applications/999999", headers=market.headers), 404, "not_found")


def test_approving_opens_the_shop_once_and_a_retry_answers_the_same(client, market, make_user):
    applicant = make_user()
    application_id = apply(market.tenant, applicant, "new-stall")
    url = f"{market.base}/applications/{application_id}/approve"
    assert_problem(client.post(url, headers=market.headers), 400, "missing_idempotency_key")

    response = client.post(url, headers={**market.headers, **_key("a")})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "approved" and body["shop"]["slug"] == "new-stall"
    assert body["decided_by"] == {"id": market.operator.id, "display_name": "东风运营"}
    with tenant_scope(market.tenant):
        shop = db.session.scalar(select(Shop).where(Shop.slug == "new-stall"))
        assert shop is not None and shop.is_active
    assert db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == applicant.id,
                                                     RoleGrant.role == Role.merchant_owner)).shop_id == shop.id
    entry, = _audit("shop_application.approved")
    assert entry.actor_id == market.operator.id and entry.actor_name == "operator@dongfeng.example"

    for key in ("a", "b"):  # the same key, or a new one: the decision is made, the answer is the same
        retry = client.post(url, headers={**market.headers, **_key(key)})
        assert retry.status_code == 200 and retry.get_json() == body
    with tenant_scope(market.tenant):
        assert db.session.scalar(select(func.count()).select_from(Shop).where(Shop.slug == "new-stall")) == 1
    assert len(_audit("shop_application.approved")) == 1

    contrary = client.post(f"{market.base}/applications/{application_id}/reject", json={"reason": "改主意了"},
                           headers={**market.headers, **_key("c")})
    assert_problem(contrary, 409, "already_approved")


def test_rejecting_needs_a_reason_and_a_rejected_application_is_not_approved(client, market, make_user):
    application_id = apply(market.tenant, make_user(), "late-stall")
    url = f"{market.base}/applications/{application_id}/reject"
    for n, body in enumerate(({}, {"reason": "   "}, {"reason": "长" * 501})):
        problem = assert_problem(client.post(url, json=body, headers={**market.headers, **_key(f"bad-{n}")}), 422,
                                 "validation_failed")
        assert "reason" in problem["errors"]
    headers = {**market.headers, **_key("r")}
    with tenant_scope(market.tenant):
        assert applications.application_in_tenant(application_id).status == "submitted"

    response = client.post(url, json={"reason": "市场摊位已满"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected" and response.get_json()["reason"] == "市场摊位已满"
    replay = client.post(url, json={"reason": "市场摊位已满"}, headers=headers)  # the same request again
    assert replay.status_code == 200 and replay.get_json() == response.get_json()
    assert_problem(client.post(url, json={"reason": "另一个原因"}, headers=headers), 422, "idempotency_key_reused")
    retry = client.post(url, json={"reason": "另一个原因"}, headers={**market.headers, **_key("r2")})
    assert retry.status_code == 200 and retry.get_json()["reason"] == "市场摊位已满"
    assert len(_audit("shop_application.rejected")) == 1

    problem = assert_problem(client.post(f"{market.base}/applications/{application_id}/approve",
                                         headers={**market.headers, **_key("x")}), 409, "already_rejected")
    assert "已驳回" in problem["detail"]
    with tenant_scope(market.tenant):
        assert db.session.scalar(select(Shop).where(Shop.slug == "late-stall")) is None


def test_an_approval_the_platform_cannot_make_is_a_409_with_the_reason(client, market, make_user, make_shop):
    application_id = apply(market.tenant, make_user(), "taken-later")
    make_shop(market.tenant, slug="taken-later")  # the address was given to another shop meanwhile
    problem = assert_problem(client.post(f"{market.base}/applications/{application_id}/approve",
                                         headers={**market.headers, **_key("t")}), 409, "cannot_approve")
    assert "taken-later" in problem["detail"]


def test_a_withdrawn_application_cannot_be_decided(client, market, make_user):
    applicant = make_user()
    application_id = apply(market.tenant, applicant, "gone-stall")
    with tenant_scope(market.tenant):
        applications.withdraw_application(applications.application_in_tenant(application_id), applicant)
        db.session.commit()
    assert_problem(client.post(f"{market.base}/applications/{application_id}/approve",
                               headers={**market.headers, **_key("w")}), 409, "already_withdrawn")


# -- who may call --------------------------------------------------------------------------------------------------

def test_each_operation_needs_its_scope(client, market):
    reader = operator_token_for(market.operator, market.tenant, "只读", ["tenant:read", "applications:read"])
    headers = {"Authorization": f"Bearer {reader}", **_key("s")}
    assert client.get(f"{market.base}/settings", headers=headers).status_code == 200
    refused = client.patch(f"{market.base}/settings", json={"timezone": "Asia/Tokyo"}, headers=headers)
    body = assert_problem(refused, 403, "insufficient_scope")
    assert "tenant:write" in body["detail"]
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="api", error="insufficient_scope", scope="tenant:write"'
    assert_problem(client.post(f"{market.base}/applications/1/approve", headers=headers), 403, "insufficient_scope")
    assert _stored(market.tenant)[1] == "Asia/Shanghai"


def test_another_tenants_token_is_not_found_there(client, market, make_tenant, make_user):
    other = make_tenant(slug="xiguan", kind="market", theme="market")
    theirs = apply(other, make_user(), "their-stall")
    ours = apply(market.tenant, make_user(), "our-stall")
    for path in ("settings", "applications", f"applications/{theirs}", f"applications/{ours}"):
        assert_problem(client.get(f"/api/v1/tenants/xiguan/operator/{path}", headers=market.headers), 404, "not_found")
    for path in (f"applications/{theirs}/approve", f"applications/{ours}/approve"):
        response = client.post(f"/api/v1/tenants/xiguan/operator/{path}", headers={**market.headers, **_key("x")})
        assert_problem(response, 404, "not_found")
    # …and under its own tenant, another tenant's application is not found either
    assert_problem(client.get(f"{market.base}/applications/{theirs}", headers=market.headers), 404, "not_found")
    with tenant_scope(other):
        assert applications.application_in_tenant(theirs).status == "submitted"


def test_other_kinds_of_token_are_not_operator_tokens(client, market, make_shop, make_user):
    shop = make_shop(market.tenant, slug="stall-1")
    owner = make_user(role=Role.merchant_owner, tenant=market.tenant, shop=shop)
    admin = make_user(role=Role.platform_admin)
    shop_key = token_for(owner, shop)
    statistics = auth.issue_statistics_token("市统计局", admin)
    db.session.commit()
    for token in (shop_key, statistics, "occo_made-up", market.token + "x"):
        response = client.get(f"{market.base}/settings", headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 401, "token_invalid")
    assert_problem(client.get(f"{market.base}/settings"), 401, "token_missing")
    # …and an operator token opens no shop, nor the statistics
    merchant_url = f"/api/v1/tenants/{market.tenant.slug}/shops/stall-1/orders"
    assert_problem(client.get(merchant_url, headers=market.headers), 401, "token_invalid")
    assert_problem(client.get("/api/v1/statistics?period=2026-11", headers=market.headers), 401, "token_invalid")


def test_a_cookie_session_is_not_enough(client, market):
    client.login(market.operator.email, PASSWORD)
    assert_problem(client.get(f"{market.base}/settings"), 401, "token_missing")


def test_the_token_stops_when_its_holder_stops_operating(client, market):
    db.session.execute(delete(RoleGrant).where(RoleGrant.user_id == market.operator.id))
    db.session.commit()
    assert_problem(client.get(f"{market.base}/settings", headers=market.headers), 403, "token_forbidden")


def test_a_closed_account_or_a_revoked_token_is_401(client, market, make_user):
    colleague = make_user(role=Role.tenant_operator, tenant=market.tenant)
    second = operator_token_for(colleague, market.tenant)
    colleague.active = False
    db.session.commit()
    assert_problem(client.get(f"{market.base}/settings", headers={"Authorization": f"Bearer {second}"}), 401,
                   "token_invalid")
    row = db.session.scalar(select(OperatorToken).where(OperatorToken.token_sha256 == auth.hash_token(market.token)))
    auth.revoke_operator_token(row)
    db.session.commit()
    assert_problem(client.get(f"{market.base}/settings", headers=market.headers), 401, "token_invalid")
    entry, = _audit("operator_token.revoked")
    assert entry.tenant_id == market.tenant.id


def test_a_draft_tenant_is_run_through_the_api_before_it_opens(client, make_tenant, make_user):
    tenant = make_tenant(slug="new-market", kind="market", theme="market", status="draft")
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    headers = {"Authorization": f"Bearer {operator_token_for(operator, tenant)}"}
    application_id = apply(tenant, make_user(), "first-stall")
    assert client.get("/api/v1/tenants/new-market/operator/settings", headers=headers).get_json()["status"] == "draft"
    response = client.post(f"/api/v1/tenants/new-market/operator/applications/{application_id}/approve",
                           headers={**headers, **_key("d")})
    assert response.status_code == 200 and response.get_json()["status"] == "approved"


# -- issuing ---------------------------------------------------------------------------------------------------------

def test_only_the_tenants_operators_get_tokens_stored_as_a_hash(market, make_user, make_tenant):
    assert market.token.startswith("occo_")
    row = db.session.scalar(select(OperatorToken).where(OperatorToken.token_sha256 == auth.hash_token(market.token)))
    assert row.tenant_id == market.tenant.id and row.user_id == market.operator.id
    assert row.scopes == "tenant:read tenant:write applications:read applications:write"
    assert market.token not in repr(row.__dict__)
    entry, = _audit("operator_token.created")
    assert entry.details["scopes"] == row.scope_list and market.token not in entry.details_text

    elsewhere = make_user(role=Role.tenant_operator, tenant=make_tenant())
    for user in (make_user(), elsewhere):
        with pytest.raises(auth.TokenError) as refused:
            auth.issue_operator_token(user, market.tenant, "脚本", ["tenant:read"])
        assert refused.value.field == "user"
    with pytest.raises(auth.TokenError) as refused:
        auth.issue_operator_token(market.operator, market.tenant, "脚本", ["catalog:read"])
    assert refused.value.field == "scopes" and "catalog:read" in str(refused.value)
    with pytest.raises(auth.TokenError) as refused:
        auth.issue_operator_token(market.operator, market.tenant, " ", ["tenant:read"])
    assert refused.value.field == "name"


def test_the_cli_issues_an_operator_token(app, client, market):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api", "issue-operator-token", "--tenant", "dongfeng", "--user",
                                 market.operator.email, "--scope", "applications:read", "招商系统"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("occo_")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{market.base}/applications", headers=headers).status_code == 200
    assert_problem(client.get(f"{market.base}/settings", headers=headers), 403, "insufficient_scope")

    listing = runner.invoke(args=["api", "operator-tokens", "--tenant", "dongfeng"])
    assert "招商系统  [applications:read]" in listing.output and token not in listing.output
    token_id = db.session.scalar(select(OperatorToken.id).where(OperatorToken.token_sha256 == auth.hash_token(token)))
    assert runner.invoke(args=["api", "revoke-operator-token", str(token_id)]).exit_code == 0
    assert_problem(client.get(f"{market.base}/applications", headers=headers), 401, "token_invalid")

    refused = runner.invoke(args=["api", "issue-operator-token", "--tenant", "dongfeng", "--user", "nobody@x.example",
                                  "脚本"])
    assert refused.exit_code != 0
