"""The resident's personal tokens page (``/account/tokens``): a token is made with the scopes and expiry chosen,
shown once and never again (only its hash is kept), revoked with a button (the API then answers 401); forms need
their CSRF token, and another resident's tokens are out of reach."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.api import auth
from marketplace.api.models import PersonalToken
from marketplace.core.audit import AuditEntry
from marketplace.extensions import db
from tests.api.conftest import assert_problem
from tests.fixtures.factories import PASSWORD

PAGE = "/account/tokens"
TOKEN = re.compile(r"occp_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def resident(client, make_user, make_tenant):
    make_tenant(slug="laojie")
    user = make_user("resident@shangdu.example")
    client.login("resident@shangdu.example", PASSWORD)
    client.user = user
    return client


def _tokens() -> list[PersonalToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(PersonalToken).order_by(PersonalToken.id)))


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _create(browser, name="手机 App", scopes=("purchases:read",), expires="90"):
    return browser.submit(PAGE, {"name": name, "scopes": list(scopes), "expires": expires})


def test_the_account_page_links_the_tokens_page(resident, client):
    assert f'href="{PAGE}"' in resident.get("/account/").get_data(as_text=True)
    page = resident.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "还没有个人令牌。" in html and 'value="purchases:write"' in html and 'value="never"' in html


def test_signed_out_visitors_are_sent_to_sign_in(make_client):
    response = make_client().get(PAGE)
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/login")


def test_a_token_is_shown_once_and_only_its_hash_is_kept(resident, client):
    response = _create(resident, scopes=("purchases:write", "purchases:read"), expires="30")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    (token,) = set(TOKEN.findall(html))
    assert "离开此页后将无法再次查看" in html and "不需要 X-CSRFToken 请求头" in html

    (row,) = _tokens()
    assert row.name == "手机 App" and row.scopes == "purchases:read purchases:write"
    assert row.user_id == resident.user.id and row.token_sha256 == auth.hash_token(token)
    assert timedelta(days=29) < row.expires_at - row.created_at <= timedelta(days=30)
    assert token not in str([getattr(row, column.key) for column in PersonalToken.__table__.columns])
    (entry,) = _audit("personal_token.created")
    assert entry.actor_id == resident.user.id and token not in entry.details_text

    listing = resident.get(PAGE).get_data(as_text=True)
    assert "手机 App" in listing and "purchases:write" in listing and "从未使用" in listing
    assert not TOKEN.search(listing)

    # It works on the resident API, as the resident, without a cookie.
    api = client.application.test_client()
    response = api.get("/api/v1/tenants/laojie/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "从未使用" not in resident.get(PAGE).get_data(as_text=True)


def test_a_token_may_never_expire(resident):
    assert _create(resident, expires="never").status_code == 200
    (row,) = _tokens()
    assert row.expires_at is None
    assert "永不过期" in resident.get(PAGE).get_data(as_text=True)


def test_revoking_stops_the_token_at_once(resident, client):
    token = TOKEN.search(_create(resident).get_data(as_text=True)).group(0)
    (row,) = _tokens()
    api = client.application.test_client()
    url, headers = "/api/v1/tenants/laojie/cart", {"Authorization": f"Bearer {token}"}
    assert api.get(url, headers=headers).status_code == 200

    response = resident.submit(f"{PAGE}/{row.id}/revoke", {}, page_url=PAGE)
    assert response.status_code == 303 and response.headers["Location"] == PAGE
    assert "已吊销" in resident.get(PAGE).get_data(as_text=True)
    assert _tokens()[0].is_revoked
    assert_problem(api.get(url, headers=headers), 401, "token_invalid")
    assert len(_audit("personal_token.revoked")) == 1
    # Revoking again changes nothing.
    assert resident.submit(f"{PAGE}/{row.id}/revoke", {}, page_url=PAGE).status_code == 303
    assert len(_audit("personal_token.revoked")) == 1


@pytest.mark.parametrize("form, error", [
    ({"name": "", "scopes": ["purchases:read"], "expires": "90"}, "请给令牌起个名字"),
    ({"name": "App", "expires": "90"}, "请至少选择一项权限范围"),
    ({"name": "App", "scopes": ["purchases:read", "orders:read"], "expires": "90"}, "orders:read"),
    ({"name": "App", "scopes": ["purchases:read"], "expires": "7"}, "请选择令牌的有效期"),
    ({"name": "x" * 101, "scopes": ["purchases:read"], "expires": "90"}, "最多 100 个字"),
])
def test_a_bad_form_says_why_and_makes_nothing(resident, form, error):
    response = resident.submit(PAGE, form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert error in html and not TOKEN.search(html)
    assert _tokens() == [] and _audit("personal_token.created") == []


def test_forms_without_their_csrf_token_are_refused(resident):
    assert resident.post(PAGE, data={"name": "App", "scopes": ["purchases:read"], "expires": "90"}).status_code == 400
    assert _tokens() == []
    _create(resident)
    (row,) = _tokens()
    assert resident.post(f"{PAGE}/{row.id}/revoke").status_code == 400
    assert not _tokens()[0].is_revoked


def test_another_residents_tokens_are_out_of_reach(resident, make_user):
    neighbour = make_user("neighbour@shangdu.example")
    auth.issue_personal_token(neighbour, "邻居的脚本", ["purchases:read"], 30)
    db.session.commit()
    (theirs,) = _tokens()
    assert "邻居的脚本" not in resident.get(PAGE).get_data(as_text=True)
    assert resident.submit(f"{PAGE}/{theirs.id}/revoke", {}, page_url=PAGE).status_code == 404
    assert not _tokens()[0].is_revoked
