"""Password reset by mail: the link, its single use and expiry, and answers that do not reveal accounts."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from marketplace.accounts.models import LoginAttempt, User
from marketplace.extensions import db
from tests.fixtures.factories import PASSWORD

NEUTRAL = "如果该账号存在，我们已发送重设密码的邮件，请查收。"
MOBILE_ONLY = ("该账号只绑定了手机号，无法通过邮件重设。请带上本人有效身份证件到所在商业街或市场的服务台，"
               "由运营方当面核验后为您生成重设链接。")
NEW_PASSWORD = "new-battery-staple-7"


def request_reset(client, identifier: str):
    return client.submit("/account/reset", {"identifier": identifier})


def set_password(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.submit(path, {"password": password, "confirm": password if confirm is None else confirm})


def login_status(make_client, identifier: str, password: str) -> int:
    browser = make_client()
    return browser.submit("/account/login", {"identifier": identifier, "password": password}).status_code


def flashed_page(client, response) -> str:
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_reset_mail_link_sets_a_new_password(client, make_client, make_user, outbox):
    make_user("forgot@example.com", name="王阿姨")
    response = request_reset(client, "Forgot@Example.com")
    assert response.headers["Location"] == "/account/login"
    assert NEUTRAL in flashed_page(client, response)

    mail = outbox.only_message()
    assert mail["To"] == "forgot@example.com"
    body = mail.get_content()
    assert "王阿姨" in body and "60 分钟" in body
    path = outbox.reset_path()

    page = client.get(path)
    assert page.status_code == 200 and "设置新密码" in page.get_data(as_text=True)
    done = set_password(client, path)
    assert done.headers["Location"] == "/account/login"
    assert "密码已重设，请用新密码登录。" in flashed_page(client, done)

    db.session.expire_all()
    assert login_status(make_client, "forgot@example.com", PASSWORD) == 400
    assert login_status(make_client, "forgot@example.com", NEW_PASSWORD) == 302
    user = db.session.scalars(select(User).where(User.email == "forgot@example.com")).one()
    assert user.password_hash.startswith("$argon2id$")


def test_a_reset_link_works_only_once(client, make_client, make_user, outbox):
    make_user("once@example.com")
    request_reset(client, "once@example.com")
    path = outbox.reset_path()
    assert set_password(client, path).status_code == 302

    again = client.get(path)
    assert again.status_code == 302 and again.headers["Location"] == "/account/reset"
    assert "重设链接无效或已使用，请重新申请。" in flashed_page(client, again)

    token = client.csrf_token("/account/reset")
    posted = client.post(path, data={"csrf_token": token, "password": "third-password-99",
                                     "confirm": "third-password-99"})
    assert posted.status_code == 302 and posted.headers["Location"] == "/account/reset"
    db.session.expire_all()
    assert login_status(make_client, "once@example.com", "third-password-99") == 400
    assert login_status(make_client, "once@example.com", NEW_PASSWORD) == 302


def test_an_earlier_link_dies_when_the_password_changes(client, make_user, outbox):
    make_user("twice@example.com")
    request_reset(client, "twice@example.com")
    first = outbox.reset_path()
    outbox.mark_read()
    request_reset(client, "twice@example.com")
    second = outbox.reset_path()
    assert set_password(client, second).status_code == 302
    assert client.get(first).headers["Location"] == "/account/reset"


def _tampered(path: str) -> str:
    prefix, token = path.rsplit("/", 1)
    at = len(token) - 6  # inside the signature
    swapped = "A" if token[at] != "A" else "B"
    return f"{prefix}/{token[:at]}{swapped}{token[at + 1:]}"


@pytest.mark.parametrize("mangle", [_tampered, lambda path: path + "x", lambda path: "/account/reset/not-a-token"])
def test_a_tampered_link_is_refused(client, make_client, make_user, outbox, mangle):
    make_user("tamper@example.com")
    request_reset(client, "tamper@example.com")
    path = mangle(outbox.reset_path())
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"] == "/account/reset"
    assert "重设链接无效，请重新申请。" in flashed_page(client, response)

    token = client.csrf_token("/account/reset")
    posted = client.post(path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert posted.status_code == 302
    db.session.expire_all()
    assert login_status(make_client, "tamper@example.com", PASSWORD) == 302


@pytest.fixture
def clock(monkeypatch):
    """Moves itsdangerous' clock forward, as if the resident opened the mail later."""

    def advance(seconds: int) -> None:
        now = time.time
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(now()) + seconds)

    return advance


def test_a_link_still_works_before_the_hour_is_up(client, make_client, make_user, outbox, clock):
    make_user("slow@example.com")
    request_reset(client, "slow@example.com")
    path = outbox.reset_path()
    clock(59 * 60)
    assert client.get(path).status_code == 200
    assert set_password(client, path).status_code == 302
    assert login_status(make_client, "slow@example.com", NEW_PASSWORD) == 302


def test_an_expired_link_is_refused(client, make_client, make_user, outbox, clock):
    make_user("late@example.com")
    request_reset(client, "late@example.com")
    path = outbox.reset_path()
    clock(61 * 60)
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"] == "/account/reset"
    assert "重设链接已过期，请重新申请。" in flashed_page(client, response)

    token = client.csrf_token("/account/reset")
    client.post(path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    db.session.expire_all()
    assert login_status(make_client, "late@example.com", PASSWORD) == 302


def test_the_link_lifetime_follows_the_setting(app, client, make_user, outbox, clock, monkeypatch):
    monkeypatch.setitem(app.config["MARKETPLACE"], "PASSWORD_RESET_MAX_AGE_S", 600)
    make_user("short@example.com")
    request_reset(client, "short@example.com")
    assert "10 分钟" in outbox.only_message().get_content()
    path = outbox.reset_path()
    clock(11 * 60)
    assert client.get(path).headers.get("Location") == "/account/reset"


@pytest.mark.parametrize("password, confirm, message", [
    ("short", None, "密码至少需要 8 个字符。"),
    (NEW_PASSWORD, NEW_PASSWORD + "!", "两次输入的密码不一致。"),
    ("", None, "请设置新密码。"),
])
def test_a_weak_new_password_is_refused_and_the_link_stays_usable(client, make_client, make_user, outbox,
                                                                   password, confirm, message):
    make_user("weak@example.com")
    request_reset(client, "weak@example.com")
    path = outbox.reset_path()
    response = set_password(client, path, password, confirm)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert login_status(make_client, "weak@example.com", PASSWORD) == 302
    assert set_password(client, path).status_code == 302


def test_unknown_address_gets_the_same_answer_and_no_mail(client, make_user, outbox):
    make_user("known@example.com")
    known = request_reset(client, "known@example.com")
    known_page = flashed_page(client, known)
    assert len(outbox.messages()) == 1
    outbox.mark_read()

    unknown = request_reset(client, "unknown@example.com")
    assert unknown.status_code == known.status_code
    assert unknown.headers["Location"] == known.headers["Location"]
    unknown_page = flashed_page(client, unknown)
    assert NEUTRAL in unknown_page and NEUTRAL in known_page
    assert outbox.messages() == []


def test_deactivated_account_gets_the_neutral_answer_and_no_mail(client, make_user, outbox):
    user = make_user("inactive@example.com")
    user.active = False
    db.session.commit()
    assert NEUTRAL in flashed_page(client, request_reset(client, "inactive@example.com"))
    assert outbox.messages() == []


def test_mobile_only_account_is_told_to_contact_the_operator(client, make_user, outbox):
    make_user("13903719001")
    page = flashed_page(client, request_reset(client, "+86 139 0371 9001"))
    assert MOBILE_ONLY in page
    assert NEUTRAL not in page
    assert outbox.messages() == []


def test_reset_request_refuses_something_that_is_no_login_name(client, outbox):
    response = request_reset(client, "not an address")
    assert response.status_code == 400
    assert "请输入有效的邮箱地址或中国大陆手机号" in response.get_data(as_text=True)
    assert outbox.messages() == []


def test_a_reset_lifts_the_login_lock(client, make_client, make_user, outbox):
    make_user("lockedout@example.com")
    token = client.csrf_token("/account/login")
    for _ in range(10):
        client.post("/account/login", data={"csrf_token": token, "identifier": "lockedout@example.com",
                                            "password": "wrong-wrong-wrong"})
    assert login_status(make_client, "lockedout@example.com", PASSWORD) == 429

    request_reset(client, "lockedout@example.com")
    assert set_password(client, outbox.reset_path()).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.identifier == "lockedout@example.com")) == 0
    assert login_status(make_client, "lockedout@example.com", NEW_PASSWORD) == 302


def test_a_new_password_ends_sessions_signed_in_elsewhere(client, make_client, make_user, outbox):
    make_user("shared-phone@example.com")
    other_device = make_client()
    other_device.login("shared-phone@example.com", PASSWORD)
    other_device.submit("/account/login", {"identifier": "shared-phone@example.com", "password": PASSWORD,
                                           "remember": "y"})
    assert other_device.get("/account/").status_code == 200

    request_reset(client, "shared-phone@example.com")
    set_password(client, outbox.reset_path())

    response = other_device.get("/account/")  # neither the session nor the remember-me cookie still works
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert "remember_token" in [c.key for c in other_device._cookies.values()]
    fresh = make_client()
    fresh.login("shared-phone@example.com", NEW_PASSWORD)
    assert fresh.get("/account/").status_code == 200
