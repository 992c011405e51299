"""The resident's own account page: login required, display name and language."""

from __future__ import annotations

import re

import pytest

from marketplace.accounts.models import Role
from marketplace.extensions import db
from tests.fixtures.factories import PASSWORD


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1)


@pytest.mark.parametrize("method", ["get", "post"])
def test_account_page_needs_login(client, method):
    if method == "post":  # a signed-out visitor has a CSRF token too (any form page gives one)
        token = client.csrf_token("/account/login")
        response = client.post("/account/", data={"csrf_token": token, "display_name": "x", "locale": "en"})
    else:
        response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login?next=%2Faccount%2F"
    assert "请先登录。" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_account_page_shows_the_account_and_its_roles(client, make_tenant, make_shop, make_user):
    shop = make_shop(make_tenant())
    make_user("owner@example.com", role=Role.merchant_owner, shop=shop, name="李老板")
    client.login("owner@example.com", PASSWORD)
    html = client.get("/account/").get_data(as_text=True)
    assert "owner@example.com" in html and 'value="李老板"' in html
    assert "店主" in html and 'href="/merchant/"' in html
    assert 'href="/operator/"' not in html
    assert html_lang(html) == "zh-CN"


def test_profile_form_saves_display_name_and_locale(client, make_user):
    user = make_user("profile@example.com", name="旧称呼")
    client.login("profile@example.com", PASSWORD)
    response = client.submit("/account/", {"display_name": "  新称呼  ", "locale": "zh_CN"})
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    page = client.get("/account/").get_data(as_text=True)
    assert "已保存。" in page and 'value="新称呼"' in page
    db.session.expire_all()
    assert user.display_name == "新称呼"
    assert user.locale == "zh_CN"


def test_choosing_english_switches_the_pages_language(client, make_client, make_user):
    user = make_user("english@example.com")
    client.login("english@example.com", PASSWORD)
    assert html_lang(client.get("/account/").get_data(as_text=True)) == "zh-CN"

    response = client.submit("/account/", {"display_name": "Mr Wang", "locale": "en"})
    assert response.status_code == 302
    db.session.expire_all()
    assert user.locale == "en"
    assert html_lang(client.get("/account/").get_data(as_text=True)) == "en"
    assert html_lang(client.get("/").get_data(as_text=True)) == "en"

    # The choice belongs to the account: it follows the resident to another browser.
    elsewhere = make_client()
    elsewhere.login("english@example.com", PASSWORD)
    assert html_lang(elsewhere.get("/account/").get_data(as_text=True)) == "en"


@pytest.mark.parametrize("data, message", [
    ({"display_name": "", "locale": "zh_CN"}, "请填写称呼。"),
    ({"display_name": "   ", "locale": "zh_CN"}, "请填写称呼。"),
    ({"display_name": "名" * 101, "locale": "zh_CN"}, None),
    ({"display_name": "小王", "locale": "fr"}, None),
    ({"display_name": "小王", "locale": "x" * 300}, None),
])
def test_profile_form_refuses_bad_values_and_keeps_the_old_ones(client, make_user, data, message):
    user = make_user("keep@example.com", name="原来的称呼")
    client.login("keep@example.com", PASSWORD)
    response = client.submit("/account/", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error"' in html
    if message:
        assert message in html
    db.session.expire_all()
    assert user.display_name == "原来的称呼"
    assert user.locale is None


@pytest.mark.parametrize("target, expected", [
    ("/account/login?next=%2F", "/account/login?next=%2F"),
    ("https://evil.example/", "/"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("/\r\nSet-Cookie: session=forged", "/"),
])
def test_language_switch_returns_to_a_local_page_only(client, target, expected):
    token = client.csrf_token("/account/login")
    response = client.post("/lang", data={"csrf_token": token, "locale": "en", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == expected
    assert html_lang(client.get("/account/login").get_data(as_text=True)) == "en"
