"""Bad input on every console and account form: a form error people can read, never a 500, no partial data."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.accounts import services as accounts
from marketplace.accounts.models import LoginAttempt, User
from marketplace.extensions import db
from marketplace.shops.models import WEEKDAYS, Shop
from marketplace.tenancy.context import tenant_scope
from tests.console.conftest import database_rows
from tests.fixtures.factories import PASSWORD

LONG = "长" * 10_000
CSRF_MESSAGE = "表单已过期或来源不明，请刷新页面后重试。"
ODD_CHARACTERS = "含有无法识别的字符"


def _id(value) -> str | None:
    return repr(value)[:40] if isinstance(value, dict) else None


def assert_refused(response, message: str | None = None, status: int = 400) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, html[:1000])
    assert 'role="alert"' in html, "no error shown to the user"
    if message:
        assert message in html
    return html


# -- shop profile -------------------------------------------------------------------------------------

def _profile(**changes) -> dict:
    data = {"name_zh": "鲜果坊", "name_en": "", "description_zh": "", "description_en": "", "phone": "",
            "legal_name": "郑州市二七区鲜果坊水果店", "registration_number": "92410103MA9DEM001K",
            **{f"hours_{day}": "09:00-21:00" for day in WEEKDAYS}}
    data.update(changes)
    return data


@pytest.mark.parametrize("changes, message", [
    ({"name_zh": ""}, "请填写店铺中文名称。"),
    ({"name_zh": "   "}, "请填写店铺中文名称。"),
    ({"name_zh": LONG}, None),
    ({"name_en": LONG}, None),
    ({"name_zh": "鲜果\x00坊"}, ODD_CHARACTERS),
    ({"name_en": "Fresh\x1bFruit"}, ODD_CHARACTERS),
    ({"description_zh": "<p>" + LONG + "</p>"}, None),
    ({"phone": "abc<script>"}, "电话号码只能包含数字"),
    ({"phone": "1234"}, "电话号码只能包含数字"),
    ({"phone": LONG}, None),
    ({"phone": "0371\x006666"}, None),
    ({"hours_mon": "25:00-26:00"}, "营业时间格式应为 09:00-21:00"),
    ({"hours_tue": "21:00-09:00"}, "营业时间格式应为 09:00-21:00"),
    ({"hours_wed": "早上九点"}, "营业时间格式应为 09:00-21:00"),
    ({"hours_thu": "09:00-24:30"}, "营业时间格式应为 09:00-21:00"),
    ({"hours_fri": "09:00-21:60"}, "营业时间格式应为 09:00-21:00"),
    ({"hours_sat": "09:00-21:00\x00"}, "营业时间格式应为 09:00-21:00"),
    ({"hours_sun": LONG}, None),
], ids=_id)
def test_shop_profile_refuses_bad_input(world, as_role, changes, message):
    owner = as_role("owner")
    url = f"/merchant/{world.a.slug}/{world.x.slug}/profile"
    token = owner.csrf_token(url)
    before = database_rows()
    html = assert_refused(owner.post(url, data={"csrf_token": token, **_profile(**changes)}), message)
    assert "<script>" not in html
    assert database_rows() == before


def test_shop_profile_accepts_a_day_that_ends_at_midnight(world, as_role):
    owner = as_role("owner")
    url = f"/merchant/{world.a.slug}/{world.x.slug}/profile"
    assert owner.submit(url, _profile(hours_fri="18:00-24:00", hours_sat="休息")).status_code == 302
    db.session.expire_all()
    with tenant_scope(world.a):
        hours = db.session.get(Shop, world.x.id).opening_hours
    assert hours["fri"] == "18:00-24:00" and hours["sat"] == "closed"


def test_shop_description_is_stored_sanitised(world, as_role, make_client):
    owner = as_role("owner")
    url = f"/merchant/{world.a.slug}/{world.x.slug}/profile"
    payload = '<script>alert(1)</script><p onclick="x">hi</p>'
    response = owner.submit(url, _profile(description_zh=payload, description_en='<a href="javascript:x()">x</a>'))
    assert response.status_code == 302
    db.session.expire_all()
    with tenant_scope(world.a):
        shop = db.session.get(Shop, world.x.id)
        assert shop.description_zh == "<p>hi</p>"
        assert "javascript" not in shop.description_en
    page = make_client().get(f"/t/{world.a.slug}/s/{world.x.slug}/").get_data(as_text=True)
    assert "<p>hi</p>" in page and "alert(1)" not in page and "onclick" not in page


def test_shop_name_is_shown_as_text_not_markup(world, as_role, make_client):
    owner = as_role("owner")
    url = f"/merchant/{world.a.slug}/{world.x.slug}/profile"
    assert owner.submit(url, _profile(name_zh="<b>鲜果坊</b>")).status_code == 302
    page = make_client().get(f"/t/{world.a.slug}/s/{world.x.slug}/").get_data(as_text=True)
    assert "&lt;b&gt;鲜果坊&lt;/b&gt;" in page and "<b>鲜果坊</b>" not in page


# -- tenant brand and status --------------------------------------------------------------------------

def _brand(**changes) -> dict:
    return {"primary_color": "#aa3300", "accent_color": "#003366", "timezone": "Asia/Shanghai", **changes}


@pytest.mark.parametrize("changes, message", [
    ({"primary_color": "red"}, "颜色格式应为 #RRGGBB。"),
    ({"accent_color": "#12345"}, "颜色格式应为 #RRGGBB。"),
    ({"accent_color": "#gggggg"}, "颜色格式应为 #RRGGBB。"),
    ({"primary_color": "#000000;}body{display:none"}, "颜色格式应为 #RRGGBB。"),
    ({"primary_color": "#aa3300\n"}, "颜色格式应为 #RRGGBB。"),
    ({"primary_color": LONG}, "颜色格式应为 #RRGGBB。"),
    ({"timezone": "Mars/Olympus"}, "未知的时区：Mars/Olympus"),
    ({"timezone": "../../etc/passwd"}, "未知的时区"),
    ({"timezone": "/etc/localtime"}, "未知的时区"),
    ({"timezone": "Asia"}, "未知的时区"),
    ({"timezone": "zone.tab"}, "未知的时区"),
    ({"timezone": "Asia/Shanghai\x00"}, "未知的时区"),
    ({"timezone": ""}, "请填写时区。"),
    ({"timezone": LONG}, None),
], ids=_id)
def test_tenant_brand_refuses_bad_input(world, as_role, changes, message):
    operator = as_role("operator")
    token = operator.csrf_token(f"/operator/{world.a.slug}/")
    before = database_rows()
    response = operator.post(f"/operator/{world.a.slug}/brand", data={"csrf_token": token, **_brand(**changes)})
    assert_refused(response, message)
    assert database_rows() == before


@pytest.mark.parametrize("status", ["archived", "", "LIVE", "\x00", LONG])
def test_tenant_status_refuses_an_unknown_value(world, as_role, status):
    admin = as_role("admin")  # may set any status, so only the value can be wrong
    token = admin.csrf_token(f"/operator/{world.a.slug}/")
    before = database_rows()
    response = admin.post(f"/operator/{world.a.slug}/status", data={"csrf_token": token, "status": status})
    assert response.status_code == 303
    assert "请选择有效的状态。" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert database_rows() == before


# -- account forms ------------------------------------------------------------------------------------

ODD = ["", LONG, "\x00", "小\x00王"]


def _signup(**changes) -> dict:
    return {"identifier": "new@example.com", "display_name": "小王", "password": PASSWORD, "confirm": PASSWORD,
            **changes}


@pytest.mark.parametrize("value", ODD, ids=repr)
@pytest.mark.parametrize("name", ["identifier", "display_name", "password", "confirm"])
def test_signup_refuses_odd_values(client, name, value):
    changes = {name: value, "confirm": value} if name == "password" else {name: value}
    token = client.csrf_token("/account/signup")
    before = database_rows()
    assert_refused(client.post("/account/signup", data={"csrf_token": token, **_signup(**changes)}))
    assert database_rows() == before
    assert client.get("/account/").status_code == 302  # not signed in


@pytest.mark.parametrize("value", ODD, ids=repr)
@pytest.mark.parametrize("name", ["identifier", "password"])
def test_login_refuses_odd_values(client, make_user, name, value):
    make_user("odd@example.com")
    data = {"identifier": "odd@example.com", "password": PASSWORD, name: value}
    token = client.csrf_token("/account/login")
    before = database_rows()
    assert_refused(client.post("/account/login", data={"csrf_token": token, **data}))
    after = database_rows()
    failures = db.session.scalars(select(LoginAttempt)).all()
    assert all(not attempt.succeeded for attempt in failures)  # at most a failed attempt was recorded
    assert {k: v for k, v in after.items() if k != "login_attempts"} == \
        {k: v for k, v in before.items() if k != "login_attempts"}
    assert client.get("/account/").status_code == 302


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_reset_request_refuses_odd_values(client, value):
    token = client.csrf_token("/account/reset")
    before = database_rows()
    assert_refused(client.post("/account/reset", data={"csrf_token": token, "identifier": value}))
    assert database_rows() == before


@pytest.mark.parametrize("value", ["", LONG, "\x00", "short"], ids=repr)
def test_new_password_form_refuses_odd_values(client, make_user, value):
    user = make_user("resetter@example.com")
    links = []
    accounts.request_password_reset("resetter@example.com", lambda token: links.append(token) or "http://x/")
    db.session.commit()
    url = f"/account/reset/{links[0]}"
    token = client.csrf_token(url)
    before = database_rows()
    assert_refused(client.post(url, data={"csrf_token": token, "password": value, "confirm": value}))
    assert database_rows() == before
    db.session.expire_all()
    assert accounts.verify_password(user, PASSWORD)


@pytest.mark.parametrize("changes", [{"display_name": v} for v in ODD] + [{"locale": v} for v in ODD + ["fr"]],
                         ids=repr)
def test_profile_form_refuses_odd_values(client, make_user, changes):
    make_user("me@example.com")
    client.login("me@example.com", PASSWORD)
    token = client.csrf_token("/account/")
    before = database_rows()
    data = {"display_name": "小王", "locale": "zh_CN", **changes}
    assert_refused(client.post("/account/", data={"csrf_token": token, **data}))
    assert database_rows() == before


@pytest.mark.parametrize("url", ["/account/signup", "/account/login", "/account/reset"])
def test_bytes_that_are_not_utf8_get_a_form_error(client, url):
    token = client.csrf_token(url)
    before = database_rows()
    body = f"csrf_token={token}&identifier=%FF%FE%00&display_name=%C0%AF&password=%80%80%80%80%80%80%80%80" \
           f"&confirm=%80%80%80%80%80%80%80%80"
    response = client.post(url, data=body.encode(), content_type="application/x-www-form-urlencoded")
    assert_refused(response)
    assert database_rows() == before


# -- CSRF on every form -------------------------------------------------------------------------------

def _csrf_targets(world, reset_token: str) -> list[tuple[str, str, dict]]:
    a, x = world.a.slug, world.x.slug
    return [
        ("anonymous", "/account/signup", _signup()),
        ("anonymous", "/account/login", {"identifier": "owner@example.com", "password": PASSWORD}),
        ("anonymous", "/account/reset", {"identifier": "owner@example.com"}),
        ("anonymous", f"/account/reset/{reset_token}", {"password": "brand-new-pass-1", "confirm": "brand-new-pass-1"}),
        ("anonymous", "/lang", {"locale": "en", "next": "/"}),
        ("owner", "/account/", {"display_name": "改名", "locale": "en"}),
        ("owner", "/account/logout", {}),
        ("owner", f"/merchant/{a}/{x}/profile", _profile(name_zh="改名")),
        ("admin", f"/operator/{a}/status", {"status": "suspended"}),
        ("admin", f"/operator/{a}/brand", _brand()),
    ]


@pytest.mark.parametrize("bad_token", [None, "", "forged-token", "IjEyMyI.ZZZZZZ.abcdefabcdef"])
def test_every_form_refuses_a_post_without_a_valid_csrf_token(world, as_role, bad_token):
    links = []
    accounts.request_password_reset("resident@example.com", lambda token: links.append(token) or "http://x/")
    for role, url, data in _csrf_targets(world, links[0]):
        browser = as_role(role)
        before = database_rows()
        payload = data if bad_token is None else {"csrf_token": bad_token, **data}
        response = browser.post(url, data=payload)
        assert response.status_code == 400, (url, response.status_code)
        assert CSRF_MESSAGE in response.get_data(as_text=True), url
        assert database_rows() == before, url
        if role != "anonymous":
            assert browser.get("/account/").status_code == 200, f"{url} signed the user out"


def test_a_csrf_token_from_another_session_is_refused(world, as_role):
    stranger_token = as_role("anonymous").csrf_token("/account/login")
    owner = as_role("owner")
    before = database_rows()
    response = owner.post(f"/merchant/{world.a.slug}/{world.x.slug}/profile",
                          data={"csrf_token": stranger_token, **_profile(name_zh="被篡改")})
    assert response.status_code == 400 and CSRF_MESSAGE in response.get_data(as_text=True)
    assert database_rows() == before


@pytest.mark.parametrize("url, data", [
    ("/account/signup", _signup(display_name="小\x00王")),
    ("/account/", {"display_name": "小\x00王", "locale": "zh_CN"}),
])
def test_names_with_control_characters_are_refused_with_a_message(client, make_user, url, data):
    make_user("named@example.com", name="小王")
    if url == "/account/":
        client.login("named@example.com", PASSWORD)
    assert_refused(client.submit(url, data), ODD_CHARACTERS)
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.email == "new@example.com")) is None
    assert db.session.scalars(select(User.display_name)).all() == ["小王"]
