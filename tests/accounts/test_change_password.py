"""Changing the password while signed in: the old one stops working, other browsers are signed out, this one stays."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import LoginAttempt
from marketplace.extensions import db
from tests.fixtures.factories import PASSWORD

NEW_PASSWORD = "new-battery-staple-7"
CHANGED = "密码已修改。其他设备上的登录已全部退出。"


def change(client, current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):
    return client.submit("/account/password", {"current_password": current, "password": new,
                                               "confirm": new if confirm is None else confirm})


def login_status(make_client, identifier: str, password: str) -> int:
    return make_client().submit("/account/login", {"identifier": identifier, "password": password}).status_code


def test_the_account_page_links_the_change_page(client, make_user):
    make_user("linked@example.com")
    client.login("linked@example.com", PASSWORD)
    assert 'href="/account/password"' in client.get("/account/").get_data(as_text=True)
    page = client.get("/account/password")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "修改密码" in html and 'autocomplete="current-password"' in html


def test_a_new_password_replaces_the_old_one(client, make_client, make_user):
    make_user("change@example.com")
    client.login("change@example.com", PASSWORD)
    response = change(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    assert CHANGED in client.get("/account/").get_data(as_text=True)

    db.session.expire_all()
    assert login_status(make_client, "change@example.com", PASSWORD) == 400
    assert login_status(make_client, "change@example.com", NEW_PASSWORD) == 302


def test_other_browsers_are_signed_out_and_this_one_stays_in(client, make_client, make_user):
    make_user("13903719002")
    other = make_client()
    other.login("13903719002", PASSWORD)
    remembered = make_client()
    remembered.submit("/account/login", {"identifier": "13903719002", "password": PASSWORD, "remember": "y"})
    assert other.get("/account/").status_code == 200 and remembered.get("/account/").status_code == 200

    client.login("13903719002", PASSWORD)
    assert change(client).status_code == 302

    assert client.get("/account/").status_code == 200  # this browser, signed in again under the new password
    for browser in (other, remembered):  # neither their session nor a remember-me cookie still works
        response = browser.get("/account/")
        assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_a_remembered_browser_keeps_a_working_remember_me_cookie(client, make_user):
    make_user("keep-me@example.com")
    client.submit("/account/login", {"identifier": "keep-me@example.com", "password": PASSWORD, "remember": "y"})
    old_cookie = client.get_cookie("remember_token").value
    assert change(client).status_code == 302
    new_cookie = client.get_cookie("remember_token")
    assert new_cookie is not None and new_cookie.value != old_cookie

    client.delete_cookie("session")  # the browser was closed: only the remember-me cookie is left
    assert client.get("/account/").status_code == 200


def test_a_wrong_current_password_is_refused_and_counts_as_a_failed_login(client, make_client, make_user):
    make_user("wrong@example.com")
    client.login("wrong@example.com", PASSWORD)
    response = change(client, current="not-my-password")
    assert response.status_code == 400
    assert "当前密码不正确。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.identifier == "wrong@example.com", LoginAttempt.succeeded.is_(False))) == 1
    assert login_status(make_client, "wrong@example.com", NEW_PASSWORD) == 400
    assert login_status(make_client, "wrong@example.com", PASSWORD) == 302


def test_guessing_the_current_password_locks_the_account_as_at_login(client, make_user):
    make_user("guess@example.com")
    client.login("guess@example.com", PASSWORD)
    for _ in range(10):
        assert change(client, current="guess-guess-guess").status_code == 400
    locked = change(client)  # even the right password, once the account is locked
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)


@pytest.mark.parametrize("new, confirm, message", [
    ("short", None, "密码至少需要 8 个字符。"),
    ("11112222", None, "密码太简单，请换一个。"),
    (NEW_PASSWORD, NEW_PASSWORD + "!", "两次输入的密码不一致。"),
    ("", None, "请设置新密码。"),
])
def test_a_weak_or_mistyped_new_password_is_refused(client, make_client, make_user, new, confirm, message):
    make_user("weak@example.com")
    client.login("weak@example.com", PASSWORD)
    response = change(client, new=new, confirm=confirm)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert login_status(make_client, "weak@example.com", PASSWORD) == 302
    assert client.get("/account/").status_code == 200


def test_a_post_without_the_csrf_token_is_refused(client, make_client, make_user):
    make_user("csrf@example.com")
    client.login("csrf@example.com", PASSWORD)
    response = client.post("/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                      "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert "表单已过期或来源不明" in response.get_data(as_text=True)
    db.session.expire_all()
    assert login_status(make_client, "csrf@example.com", PASSWORD) == 302


@pytest.mark.parametrize("method", ["get", "post"])
def test_signed_out_visitors_are_sent_to_login(client, method):
    if method == "post":
        token = client.csrf_token("/account/login")
        response = client.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                           "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    else:
        response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login?next=%2Faccount%2Fpassword"
