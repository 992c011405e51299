"""Sign-up, login, logout, the post-login redirect and login throttling, through the pages a resident uses."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import quote, urljoin, urlsplit

import pytest
from sqlalchemy import func, select, update

from marketplace.accounts.models import LoginAttempt, User
from marketplace.core.db import utcnow
from marketplace.extensions import db
from tests.fixtures.factories import PASSWORD

THROTTLED = "登录失败次数过多"
BAD_CREDENTIALS = "账号或密码不正确。"


def signup(client, identifier: str, password: str = PASSWORD, confirm: str | None = None, name: str = "小王",
           **kwargs):
    return client.submit("/account/signup", {"identifier": identifier, "display_name": name, "password": password,
                                             "confirm": password if confirm is None else confirm}, **kwargs)


def login(client, identifier: str, password: str, **kwargs):
    return client.submit("/account/login", {"identifier": identifier, "password": password}, **kwargs)


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def user_by(**where) -> User | None:
    db.session.expire_all()
    return db.session.scalars(select(User).filter_by(**where)).one_or_none()


def is_signed_in(client) -> bool:
    response = client.get("/account/")
    return response.status_code == 200


# -- sign-up ------------------------------------------------------------------------------------------

def test_signup_with_email_creates_a_resident_and_signs_in(client):
    response = signup(client, "  Xiao.Wang@Example.COM ", name="小王")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    user = user_by(email="xiao.wang@example.com")
    assert user is not None and user.display_name == "小王" and user.mobile is None
    assert user.grants == []
    page = client.get("/account/").get_data(as_text=True)
    assert "注册成功" in page and "xiao.wang@example.com" in page


def test_signup_with_mainland_mobile_stores_eleven_digits(client):
    response = signup(client, "+86 139-0371-9001")
    assert response.status_code == 302
    user = user_by(mobile="13903719001")
    assert user is not None and user.email is None
    assert is_signed_in(client)


@pytest.mark.parametrize("identifier, message", [
    ("12345678901", "中国大陆手机号"),  # 11 digits, but mobile numbers start with 13–19
    ("1390371900", "中国大陆手机号"),  # 10 digits
    ("+1 139 0371 9001 2", "中国大陆手机号"),
    ("wang@", "邮箱地址格式不正确"),
    ("wang@@example.com", "邮箱地址格式不正确"),
    ("wang@example", "邮箱地址格式不正确"),
])
def test_signup_refuses_identifiers_that_are_neither_email_nor_mobile(client, identifier, message):
    before = user_count()
    response = signup(client, identifier)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert user_count() == before
    assert not is_signed_in(client)


@pytest.mark.parametrize("existing, again", [
    ("dup@example.com", "DUP@example.com"),
    ("13903719001", "+86 139 0371 9001"),
])
def test_signup_refuses_an_account_that_exists(client, make_user, existing, again):
    make_user(existing)
    before = user_count()
    response = signup(client, again)
    assert response.status_code == 400
    assert "该邮箱或手机号已注册，请直接登录。" in response.get_data(as_text=True)
    assert user_count() == before


@pytest.mark.parametrize("password, confirm, message", [
    ("short7!", None, "密码至少需要 8 个字符。"),
    ("11111111", None, "密码太简单"),
    ("correct-horse-42", "correct-horse-43", "两次输入的密码不一致。"),
    ("", None, "请设置密码。"),
])
def test_signup_refuses_weak_or_mismatched_passwords(client, password, confirm, message):
    response = signup(client, "weak@example.com", password=password, confirm=confirm)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert user_by(email="weak@example.com") is None


def test_password_is_stored_as_argon2id_hash_only(client):
    signup(client, "hash@example.com")
    user = user_by(email="hash@example.com")
    assert user.password_hash.startswith("$argon2id$")
    row = db.session.execute(select(User.__table__).where(User.id == user.id)).one()
    assert all(PASSWORD not in str(value) for value in row)


def test_signup_keeps_a_known_language_choice_and_ignores_a_forged_one(client):
    client.set_cookie("locale", "en")
    signup(client, "english@example.com")
    assert user_by(email="english@example.com").locale == "en"

    other = client.application.test_client()
    other.set_cookie("locale", "x" * 300)
    response = signup(other, "forged@example.com")
    assert response.status_code == 302
    assert user_by(email="forged@example.com").locale is None


# -- login and logout ---------------------------------------------------------------------------------

def test_login_by_email_and_by_mobile(client, make_client, make_user):
    make_user("login@example.com")
    make_user("13803718888")
    response = login(client, "LOGIN@example.com", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    assert "login@example.com" in client.get("/account/").get_data(as_text=True)

    mobile = make_client()
    assert login(mobile, "138 0371 8888", PASSWORD).status_code == 302
    assert "13803718888" in mobile.get("/account/").get_data(as_text=True)
    assert user_by(mobile="13803718888").last_login_at is not None


def test_wrong_password_shows_a_message_and_starts_no_session(client, make_user):
    make_user("wrong@example.com")
    response = login(client, "wrong@example.com", "not-the-password")
    assert response.status_code == 400
    assert BAD_CREDENTIALS in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_unknown_account_gets_the_same_message_as_a_wrong_password(client):
    response = login(client, "nobody@example.com", PASSWORD)
    assert response.status_code == 400
    assert BAD_CREDENTIALS in response.get_data(as_text=True)


def test_deactivated_account_cannot_log_in(client, make_user):
    user = make_user("gone@example.com")
    user.active = False
    db.session.commit()
    response = login(client, "gone@example.com", PASSWORD)
    assert response.status_code == 400
    assert not is_signed_in(client)


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    make_user("cookie@example.com")
    response = client.login("cookie@example.com", PASSWORD)
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    assert cookies, response.headers
    attributes = [part.strip().lower() for part in cookies[-1].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_logout_needs_a_post_with_csrf_token_and_ends_the_session(client, make_user):
    make_user("bye@example.com")
    client.login("bye@example.com", PASSWORD)

    assert client.get("/account/logout").status_code == 405
    assert is_signed_in(client)

    refused = client.post("/account/logout")
    assert refused.status_code == 400
    assert "表单已过期或来源不明" in refused.get_data(as_text=True)
    assert is_signed_in(client)

    token = client.csrf_token("/account/")
    response = client.post("/account/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    after = client.get("/account/")
    assert after.status_code == 302 and after.headers["Location"].startswith("/account/login")


# -- where login leads --------------------------------------------------------------------------------

def login_from(client, next_value: str):
    """Open the login page with ?next=… and submit it as a browser would, with the hidden ``next`` field."""
    page_url = "/account/login?next=" + quote(next_value, safe="")
    page = client.get(page_url).get_data(as_text=True)
    hidden = re.search(r'<input id="next" name="next" type="hidden" value="([^"]*)"', page)
    assert hidden, "the login form does not carry next"
    data = {"identifier": "next@example.com", "password": PASSWORD, "next": html.unescape(hidden.group(1))}
    return client.submit(page_url, data, page_url=page_url), data["next"]


@pytest.mark.parametrize("target", ["/account/", "/t/some-street/s/a-shop/?tab=hours"])
def test_login_returns_to_a_local_next_path(client, make_user, target):
    make_user("next@example.com")
    response, carried = login_from(client, target)
    assert carried == target
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", [
    "https://evil.example/",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",  # browsers read a backslash as a slash: //evil.example
    "\\\\evil.example",
    "/\t/evil.example",  # browsers drop tabs and newlines from URLs
    "javascript:alert(1)",
    "evil.example",
    "/\x00//evil.example",
    "/\r\nLocation: https://evil.example/",
])
def test_login_ignores_a_next_that_leaves_the_site(client, make_user, target):
    make_user("next@example.com")
    response, _carried = login_from(client, target)
    assert response.status_code == 302
    assert is_signed_in(client)
    assert where_a_browser_goes(response.headers["Location"]).netloc == "localhost"


def where_a_browser_goes(location: str):
    """The URL a browser opens for a Location header: it drops tabs and newlines and reads ``\\`` as ``/``."""
    cleaned = location.replace("\\", "/").replace("\t", "").replace("\n", "").replace("\r", "")
    cleaned = re.sub(r"^/{2,}", "//", cleaned)  # for http(s), any run of leading slashes starts a host name
    return urlsplit(urljoin("http://localhost/account/login", cleaned))


def test_protected_page_sends_to_login_and_back(client, make_user):
    make_user("next@example.com")
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login?next=%2Faccount%2F"
    response, carried = login_from(client, "/account/")
    assert carried == "/account/"
    assert response.headers["Location"] == "/account/"


# -- throttling ---------------------------------------------------------------------------------------

def fail_times(client, identifier: str, times: int) -> None:
    token = client.csrf_token("/account/login")
    for _ in range(times):
        response = client.post("/account/login", data={"csrf_token": token, "identifier": identifier,
                                                       "password": "guess-guess-guess"})
        assert response.status_code == 400, response.status_code


def test_eleventh_attempt_is_refused_even_with_the_right_password(client, make_client, make_user):
    make_user("victim@example.com")
    make_user("bystander@example.com")
    fail_times(client, "victim@example.com", 10)

    response = login(client, "victim@example.com", PASSWORD)
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert THROTTLED in html and "15 分钟" in html
    assert not is_signed_in(client)

    # Another browser fares no better: the lock is on the account, not the session.
    other = make_client()
    assert login(other, "VICTIM@example.com", PASSWORD).status_code == 429

    # Another account is unaffected, even from the attacker's browser.
    assert login(client, "bystander@example.com", PASSWORD).status_code == 302


def test_failures_count_per_account_whatever_the_spelling(client, make_user):
    make_user("13903719001")
    for spelling in ("13903719001", "+86 139 0371 9001", "0086-139-0371-9001", "139 0371 9001", "(139)03719001"):
        fail_times(client, spelling, 2)
    assert login(client, "13903719001", PASSWORD).status_code == 429


def test_lock_ends_when_the_failures_leave_the_window(client, make_user):
    make_user("patient@example.com")
    fail_times(client, "patient@example.com", 10)
    assert login(client, "patient@example.com", PASSWORD).status_code == 429

    db.session.execute(update(LoginAttempt).where(LoginAttempt.identifier == "patient@example.com")
                       .values(created_at=utcnow() - timedelta(minutes=15, seconds=5)))
    db.session.commit()
    assert login(client, "patient@example.com", PASSWORD).status_code == 302
    assert is_signed_in(client)


def test_failures_just_inside_the_window_still_count(client, make_user):
    make_user("early@example.com")
    fail_times(client, "early@example.com", 10)
    db.session.execute(update(LoginAttempt).where(LoginAttempt.identifier == "early@example.com")
                       .values(created_at=utcnow() - timedelta(minutes=14)))
    db.session.commit()
    assert login(client, "early@example.com", PASSWORD).status_code == 429


def test_a_successful_login_does_not_buy_more_guesses(client, make_client, make_user):
    """The rule is at most 10 failures per account per 15 minutes; successes in between do not reset it."""
    make_user("owner@example.com")
    attacker = make_client()
    fail_times(attacker, "owner@example.com", 9)
    assert login(client, "owner@example.com", PASSWORD).status_code == 302  # the owner logs in meanwhile

    fail_times(attacker, "owner@example.com", 1)  # the tenth failure is still answered normally
    response = login(attacker, "owner@example.com", "guess-number-11")
    assert response.status_code == 429
    assert THROTTLED in response.get_data(as_text=True)
    failures = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.identifier == "owner@example.com", LoginAttempt.succeeded.is_(False)))
    assert failures == 10


def test_refused_attempts_while_locked_do_not_extend_the_lock(client, make_user):
    make_user("locked@example.com")
    fail_times(client, "locked@example.com", 10)
    db.session.execute(update(LoginAttempt).where(LoginAttempt.identifier == "locked@example.com")
                       .values(created_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    for _ in range(5):
        assert login(client, "locked@example.com", "more-guessing").status_code == 429
    db.session.execute(update(LoginAttempt).where(LoginAttempt.identifier == "locked@example.com")
                       .values(created_at=utcnow() - timedelta(minutes=16)))
    db.session.commit()
    assert login(client, "locked@example.com", PASSWORD).status_code == 302
