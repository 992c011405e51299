"""The shop owner's API keys page: a key is created with the scopes chosen, shown once and never again (only its
hash is kept), revoked with a button (the API then answers 401); staff and other shops' owners are refused. The same
for the tenant operator's keys page (operator API keys)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.api.auth import hash_token
from marketplace.api.models import ApiToken, OperatorToken
from marketplace.core.audit import AuditEntry
from marketplace.extensions import db
from tests.api.conftest import assert_problem, operator_token_for, token_for

TOKEN = re.compile(r"occ_[A-Za-z0-9_-]{20,}")


def _page(world, shop: str = "x", tenant: str = "a") -> str:
    return f"/merchant/{world.slugs[tenant]}/{world.slugs[shop]}/api-keys"


def _keys() -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))


def _create(browser, world, name="ERP 库存同步", scopes=("orders:read",)):
    return browser.submit(_page(world), {"name": name, "scopes": list(scopes)})


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_the_owner_creates_a_key_that_is_shown_once(world, as_role, client):
    owner = as_role("owner")
    form = owner.get(_page(world))
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert "还没有 API 密钥。" in html and 'value="stock:write"' in html and "批量设置库存" in html

    response = _create(owner, world, scopes=("orders:read", "stock:write"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    shown = set(TOKEN.findall(html))
    assert len(shown) == 1
    token = shown.pop()
    assert "离开此页后将无法再次查看" in html

    (key,) = _keys()
    assert key.name == "ERP 库存同步" and key.scopes == "stock:write orders:read"
    assert key.user_id == world.users["owner"].id and key.shop_id == world.x.id
    assert key.token_sha256 == hash_token(token)
    assert token not in str([getattr(key, column.key) for column in ApiToken.__table__.columns])
    entry = _audit("api_key.created")[0]
    assert entry.actor_id == world.users["owner"].id and entry.tenant_id == world.a.id
    assert entry.details["scopes"] == ["stock:write", "orders:read"] and token not in entry.details_text

    # Never shown again: the list names the key and its scopes, not the key itself.
    listing = owner.get(_page(world)).get_data(as_text=True)
    assert "ERP 库存同步" in listing and "orders:read" in listing and "从未使用" in listing
    assert not TOKEN.search(listing)

    # The key works for what it may do, and only that.
    base = f"/api/v1/tenants/{world.a.slug}/shops/{world.x.slug}"
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{base}/orders", headers=headers).status_code == 200
    assert_problem(client.get(f"{base}/complaints", headers=headers), 403, "insufficient_scope")


def test_revoking_a_key_stops_it_at_once(world, as_role, client):
    owner = as_role("owner")
    token = TOKEN.search(_create(owner, world).get_data(as_text=True)).group(0)
    (key,) = _keys()
    url = f"/api/v1/tenants/{world.a.slug}/shops/{world.x.slug}/orders"
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    response = owner.submit(f"{_page(world)}/{key.id}/revoke", {}, page_url=_page(world))
    assert response.status_code == 303 and response.headers["Location"] == _page(world)
    listing = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "已吊销" in listing
    assert _keys()[0].revoked_at is not None
    assert_problem(client.get(url, headers={"Authorization": f"Bearer {token}"}), 401, "token_invalid")
    assert len(_audit("api_key.revoked")) == 1
    # Revoking again changes nothing.
    assert owner.submit(f"{_page(world)}/{key.id}/revoke", {}, page_url=_page(world)).status_code == 303
    assert len(_audit("api_key.revoked")) == 1


def test_the_owner_also_revokes_keys_issued_to_staff(world, as_role):
    token_for(world.users["staff"], world.x, "收银机", scopes=["stock:write"])
    owner = as_role("owner")
    listing = owner.get(_page(world)).get_data(as_text=True)
    assert "收银机" in listing and "staff@example.com" in listing
    (key,) = _keys()
    assert owner.submit(f"{_page(world)}/{key.id}/revoke", {}, page_url=_page(world)).status_code == 303
    assert _keys()[0].is_revoked


@pytest.mark.parametrize("form, field_error", [
    ({"name": "", "scopes": ["orders:read"]}, "请给 API 密钥起个名字"),
    ({"name": "ERP"}, "请至少选择一项权限范围"),
    ({"name": "ERP", "scopes": ["orders:read", "orders:delete"]}, "orders:delete"),
    ({"name": "x" * 101, "scopes": ["orders:read"]}, "最多 100 个字"),
    ({"name": "ERP\x00", "scopes": ["orders:read"]}, "无法识别的字符"),
])
def test_a_bad_form_says_why_and_creates_nothing(world, as_role, form, field_error):
    response = as_role("owner").submit(_page(world), form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error in html and not TOKEN.search(html)
    assert _keys() == [] and _audit("api_key.created") == []


def test_a_form_without_its_csrf_token_is_refused(world, as_role):
    response = as_role("owner").post(_page(world), data={"name": "ERP", "scopes": ["orders:read"]})
    assert response.status_code == 400
    assert _keys() == []


def test_staff_see_no_link_and_are_refused(world, as_role):
    token_for(world.users["owner"], world.x, "ERP")
    (key,) = _keys()
    shop_page = f"/merchant/{world.a.slug}/{world.x.slug}/"
    assert f'href="{_page(world)}"' in as_role("owner").get(shop_page).get_data(as_text=True)
    staff = as_role("staff")
    assert f'href="{_page(world)}"' not in staff.get(shop_page).get_data(as_text=True)
    assert staff.get(_page(world)).status_code == 403
    token = staff.csrf_token(shop_page)
    assert staff.post(_page(world), data={"csrf_token": token, "name": "ERP", "scopes": ["orders:read"]}) \
        .status_code == 403
    assert staff.post(f"{_page(world)}/{key.id}/revoke", data={"csrf_token": token}).status_code == 403
    assert len(_keys()) == 1 and not _keys()[0].is_revoked


def test_another_shops_keys_are_out_of_reach(world, as_role, make_user):
    y_owner = make_user("owner-y@example.com", role=Role.merchant_owner, shop=world.y)
    token_for(y_owner, world.y, "Y 的 ERP")
    token_for(world.users["owner_z"], world.z, "Z 的 ERP")
    y_key, z_key = _keys()
    owner = as_role("owner")
    # The pages of shops one does not own: Y in the same tenant, Z (same slug as X) in the other.
    assert owner.get(_page(world, "y")).status_code == 403
    assert owner.get(_page(world, "z", "b")).status_code == 404
    assert "Y 的 ERP" not in owner.get(_page(world)).get_data(as_text=True)
    # Their keys' ids under one's own shop are not found, and stay live.
    for key in (y_key, z_key):
        response = owner.submit(f"{_page(world)}/{key.id}/revoke", {}, page_url=_page(world))
        assert response.status_code == 404
    assert not any(key.is_revoked for key in _keys())
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "api_key.revoked")) == 0


# -- the tenant's operator keys (/operator/<t>/api-keys) --------------------------------------------------------------

OPERATOR_TOKEN = re.compile(r"occo_[A-Za-z0-9_-]{20,}")


def _operator_page(world, tenant: str = "a") -> str:
    return f"/operator/{world.slugs[tenant]}/api-keys"


def _operator_keys() -> list[OperatorToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(OperatorToken).order_by(OperatorToken.id)))


def test_an_operator_creates_a_key_shown_once_and_revokes_it(world, as_role, client):
    operator = as_role("operator")
    tenant_page = operator.get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert f'href="{_operator_page(world)}"' in tenant_page
    html = operator.get(_operator_page(world)).get_data(as_text=True)
    assert "还没有 API 密钥。" in html and 'value="applications:write"' in html and 'value="stock:write"' not in html

    response = operator.submit(_operator_page(world), {"name": "招商系统",
                                                       "scopes": ["applications:read", "tenant:read"]})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    (token,) = set(OPERATOR_TOKEN.findall(response.get_data(as_text=True)))
    (key,) = _operator_keys()
    assert key.name == "招商系统" and key.scopes == "tenant:read applications:read"
    assert key.user_id == world.users["operator"].id and key.tenant_id == world.a.id
    assert key.token_sha256 == hash_token(token)
    entry = _audit("operator_token.created")[0]
    assert entry.actor_id == world.users["operator"].id and entry.tenant_id == world.a.id
    listing = operator.get(_operator_page(world)).get_data(as_text=True)
    assert "招商系统" in listing and "从未使用" in listing and not OPERATOR_TOKEN.search(listing)

    url = f"/api/v1/tenants/{world.a.slug}/operator/settings"
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    response = operator.submit(f"{_operator_page(world)}/{key.id}/revoke", {}, page_url=_operator_page(world))
    assert response.status_code == 303 and response.headers["Location"] == _operator_page(world)
    assert "已吊销" in operator.get(_operator_page(world)).get_data(as_text=True)
    assert_problem(client.get(url, headers={"Authorization": f"Bearer {token}"}), 401, "token_invalid")
    assert len(_audit("operator_token.revoked")) == 1


@pytest.mark.parametrize("form, field_error", [
    ({"name": "", "scopes": ["tenant:read"]}, "请给 API 密钥起个名字"),
    ({"name": "招商"}, "请至少选择一项权限范围"),
    ({"name": "招商", "scopes": ["tenant:read", "stock:write"]}, "stock:write"),
])
def test_a_bad_operator_key_form_says_why_and_creates_nothing(world, as_role, form, field_error):
    response = as_role("operator").submit(_operator_page(world), form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error in html and not OPERATOR_TOKEN.search(html)
    assert _operator_keys() == [] and _audit("operator_token.created") == []


def test_operator_keys_of_another_tenant_are_out_of_reach(world, as_role, make_user):
    b_operator = make_user("operator-b@example.com", role=Role.tenant_operator, tenant=world.b)
    operator_token_for(b_operator, world.b, "B 的招商系统")
    (b_key,) = _operator_keys()
    operator = as_role("operator")
    assert operator.get(_operator_page(world, "b")).status_code == 404
    assert "B 的招商系统" not in operator.get(_operator_page(world)).get_data(as_text=True)
    response = operator.submit(f"{_operator_page(world)}/{b_key.id}/revoke", {}, page_url=_operator_page(world))
    assert response.status_code == 404 and not _operator_keys()[0].is_revoked
    # …and the shop's owner has no operator keys page at all
    assert as_role("owner").get(_operator_page(world)).status_code == 404
