"""Who may open which console page. Every route of the merchant and operator consoles is in ROUTES; a new
route fails ``test_every_console_route_is_in_the_table`` until its rights are written down here."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from tests.console.conftest import database_rows
from tests.console.test_tenant_launch import _publish_documents

LOGIN = "login"  # redirected to the login page
DONE = "done"  # a form accepted: redirected onwards, not to login

ROLES = ("anonymous", "resident", "owner", "staff", "operator", "admin")

PROFILE = {"name_zh": "鲜果坊（新）", "name_en": "Fresh Fruit", "description_zh": "<p>新鲜水果</p>",
           "description_en": "", "phone": "0371-6666 8888", **{f"hours_{d}": "09:00-21:00" for d in
                                                               ("mon", "tue", "wed", "thu", "fri")},
           "hours_sat": "10:00-22:00", "hours_sun": "休息",
           "legal_name": "郑州市二七区鲜果坊水果店", "registration_number": "92410103MA9DEM001K"}
BRAND = {"primary_color": "#aa3300", "accent_color": "", "timezone": "Asia/Shanghai"}


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: str  # with {a}, {b}, {x}, {y}, {z}: the slugs of the world's tenants and shops
    expect: tuple  # one per ROLES entry
    data: dict = field(default_factory=dict)

    def status_for(self, role: str):
        return self.expect[ROLES.index(role)]


#                                                              anonymous resident owner staff operator admin
ROUTES = [
    Route("merchant.dashboard", "GET", "/merchant/", (LOGIN, 403, 200, 200, 403, 200)),
    Route("merchant.shop", "GET", "/merchant/{a}/{x}/", (LOGIN, 403, 200, 200, 403, 200)),
    Route("merchant.shop_profile", "GET", "/merchant/{a}/{x}/profile", (LOGIN, 403, 200, 403, 403, 200)),
    Route("merchant.shop_profile", "POST", "/merchant/{a}/{x}/profile", (LOGIN, 403, DONE, 403, 403, DONE),
          PROFILE),
    # API keys, owners only. The POSTs' data is refused by the form (no name; no such key): creating and revoking
    # themselves are tested in test_api_keys.py, where a key's one showing is read.
    Route("merchant_api_keys.index", "GET", "/merchant/{a}/{x}/api-keys", (LOGIN, 403, 200, 403, 403, 200)),
    Route("merchant_api_keys.index", "POST", "/merchant/{a}/{x}/api-keys", (LOGIN, 403, 400, 403, 403, 400),
          {"name": "", "scopes": "orders:read"}),
    Route("merchant_api_keys.revoke", "POST", "/merchant/{a}/{x}/api-keys/999999/revoke",
          (LOGIN, 403, 404, 403, 403, 404)),
    # Webhooks (console.webhooks), owners only. The POST's data is refused by the form (no events) and 999999 is no
    # endpoint: adding, disabling and replaying themselves are tested in tests/webhooks/test_console.py.
    Route("merchant_webhooks.index", "GET", "/merchant/{a}/{x}/webhooks", (LOGIN, 403, 200, 403, 403, 200)),
    Route("merchant_webhooks.index", "POST", "/merchant/{a}/{x}/webhooks", (LOGIN, 403, 400, 403, 403, 400),
          {"url": "https://93.184.216.34/hook"}),
    Route("merchant_webhooks.deliveries", "GET", "/merchant/{a}/{x}/webhooks/999999",
          (LOGIN, 403, 404, 403, 403, 404)),
    Route("merchant_webhooks.disable", "POST", "/merchant/{a}/{x}/webhooks/999999/disable",
          (LOGIN, 403, 404, 403, 403, 404)),
    Route("merchant_webhooks.replay", "POST", "/merchant/{a}/{x}/webhooks/999999/deliveries/999999/replay",
          (LOGIN, 403, 404, 403, 403, 404)),
    Route("operator.tenants", "GET", "/operator/", (LOGIN, 403, 403, 403, 200, 200)),
    # A tenant one does not operate answers 404: its operator pages are none of one's business to know about.
    Route("operator.tenant", "GET", "/operator/{a}/", (LOGIN, 404, 404, 404, 200, 200)),
    Route("operator.tenant_status", "POST", "/operator/{a}/status", (LOGIN, 404, 404, 404, DONE, DONE),
          {"status": "draft"}),
    Route("operator.tenant_brand", "POST", "/operator/{a}/brand", (LOGIN, 404, 404, 404, DONE, DONE), BRAND),
    # The tenant-wide webhooks (console.webhooks), as the merchant's above.
    Route("operator_webhooks.index", "GET", "/operator/{a}/webhooks", (LOGIN, 404, 404, 404, 200, 200)),
    Route("operator_webhooks.index", "POST", "/operator/{a}/webhooks", (LOGIN, 404, 404, 404, 400, 400),
          {"url": "https://93.184.216.34/hook"}),
    # The tenant's operator API keys (console.api_keys), as the shop's above: creating and revoking themselves are
    # tested in test_api_keys.py.
    Route("operator_api_keys.index", "GET", "/operator/{a}/api-keys", (LOGIN, 404, 404, 404, 200, 200)),
    Route("operator_api_keys.index", "POST", "/operator/{a}/api-keys", (LOGIN, 404, 404, 404, 400, 400),
          {"name": "", "scopes": "tenant:read"}),
    Route("operator_api_keys.revoke", "POST", "/operator/{a}/api-keys/999999/revoke", (LOGIN, 404, 404, 404, 404, 404)),
    Route("operator_webhooks.deliveries", "GET", "/operator/{a}/webhooks/999999", (LOGIN, 404, 404, 404, 404, 404)),
    Route("operator_webhooks.disable", "POST", "/operator/{a}/webhooks/999999/disable",
          (LOGIN, 404, 404, 404, 404, 404)),
    Route("operator_webhooks.replay", "POST", "/operator/{a}/webhooks/999999/deliveries/999999/replay",
          (LOGIN, 404, 404, 404, 404, 404)),
]

#: Someone with rights on one object asking for another one.
CROSSINGS = [
    ("owner", "GET", "/merchant/{a}/{y}/", 403),  # owner of X, shop Y in the same tenant
    ("owner", "GET", "/merchant/{a}/{y}/profile", 403),
    ("owner", "POST", "/merchant/{a}/{y}/profile", 403),
    ("staff", "GET", "/merchant/{a}/{y}/", 403),
    ("owner", "GET", "/merchant/{b}/{z}/", 404),  # Z has X's slug, in the other tenant: not found
    ("owner", "GET", "/merchant/{b}/{z}/profile", 404),
    ("owner", "POST", "/merchant/{b}/{z}/profile", 404),
    ("owner_z", "GET", "/merchant/{a}/{x}/", 404),
    ("owner_z", "POST", "/merchant/{a}/{x}/profile", 404),
    ("owner_z", "GET", "/merchant/{b}/{z}/", 200),
    ("owner", "GET", "/merchant/{a}/no-such-shop/", 404),
    ("owner", "GET", "/merchant/no-such-tenant/{x}/", 404),
    ("operator", "GET", "/operator/{b}/", 404),
    ("operator", "POST", "/operator/{b}/status", 404),
    ("operator", "POST", "/operator/{b}/brand", 404),
    ("operator", "GET", "/merchant/{b}/{z}/", 404),
    ("owner", "GET", "/merchant/{a}/{y}/api-keys", 403),
    ("owner", "GET", "/merchant/{b}/{z}/api-keys", 404),
    ("owner_z", "GET", "/merchant/{a}/{x}/api-keys", 404),
    ("owner", "GET", "/merchant/{a}/no-such-shop/api-keys", 404),
    ("owner", "GET", "/merchant/{a}/{y}/webhooks", 403),
    ("owner", "GET", "/merchant/{b}/{z}/webhooks", 404),
    ("owner_z", "GET", "/merchant/{a}/{x}/webhooks", 404),
    ("operator", "GET", "/operator/{b}/webhooks", 404),
    ("admin", "GET", "/operator/{b}/", 200),
    ("admin", "GET", "/merchant/{b}/{z}/profile", 200),
]


def _request(browser, method: str, url: str, data: dict | None = None):
    if method == "GET":
        return browser.get(url)
    # Every visitor, signed in or not, can get a CSRF token from a form page; refusals must not hinge on it.
    return browser.post(url, data={"csrf_token": browser.csrf_token("/account/login"), **(data or {})})


def _check(response, expected, url: str) -> None:
    location = response.headers.get("Location", "")
    if expected == LOGIN:
        assert response.status_code == 302, (url, response.status_code)
        assert location.startswith("/account/login?next="), location
    elif expected == DONE:
        assert response.status_code in (302, 303), (url, response.status_code, response.get_data(as_text=True)[:500])
        assert not location.startswith("/account/login"), location
    else:
        assert response.status_code == expected, (url, response.status_code, location)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
def test_console_route_rights(world, as_role, route, role):
    browser = as_role(role)
    url = route.url.format(**world.slugs)
    expected = route.status_for(role)
    before = database_rows() if route.method != "GET" else None
    response = _request(browser, route.method, url, route.data)
    _check(response, expected, url)
    if before is not None and expected == DONE:
        assert database_rows() != before, "an accepted form changed nothing"
    elif before is not None:
        assert database_rows() == before, "a refused request changed data"


@pytest.mark.parametrize("role, method, url, expected", CROSSINGS, ids=lambda v: str(v))
def test_rights_on_one_object_do_not_reach_another(world, as_role, role, method, url, expected):
    browser = as_role(role)
    before = database_rows()
    response = _request(browser, method, url.format(**world.slugs), PROFILE if "profile" in url else
                        {"status": "draft", **BRAND})
    _check(response, expected, url)
    if method == "POST":
        assert database_rows() == before


def test_every_console_route_is_in_the_table(app):
    table = {(route.endpoint, route.method) for route in ROUTES}
    adapter = app.url_map.bind("localhost")
    slugs = {"a": "tenant-a", "b": "tenant-b", "x": "shop-x", "y": "shop-y", "z": "shop-z"}
    for route in ROUTES:  # the table's URLs reach the endpoints they claim to test
        endpoint, _args = adapter.match(route.url.format(**slugs), method=route.method)
        assert endpoint == route.endpoint, route
    rules = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("merchant", "operator")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert rules, "no console routes found"
    missing = sorted(rules - table)
    assert not missing, f"console routes without rights in ROUTES: {missing}"


# -- what each role sees ------------------------------------------------------------------------------

def test_merchant_dashboard_lists_only_the_users_shops(world, as_role):
    html = as_role("owner").get("/merchant/").get_data(as_text=True)
    assert "鲜果坊" in html
    assert "老茶馆" not in html and "服装批发" not in html
    assert f'href="/merchant/{world.a.slug}/{world.x.slug}/"' in html


def test_only_the_owner_is_offered_the_profile_editor(world, as_role):
    url = f"/merchant/{world.a.slug}/{world.x.slug}/"
    edit = f'href="/merchant/{world.a.slug}/{world.x.slug}/profile"'
    assert edit in as_role("owner").get(url).get_data(as_text=True)
    assert edit not in as_role("staff").get(url).get_data(as_text=True)


def test_owner_saves_the_shop_profile(world, as_role):
    browser = as_role("owner")
    url = f"/merchant/{world.a.slug}/{world.x.slug}/profile"
    response = browser.submit(url, PROFILE)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/merchant/{world.a.slug}/{world.x.slug}/"
    assert "店铺资料已保存。" in browser.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    with tenant_scope(world.a):
        shop = db.session.get(Shop, world.x.id)
        assert shop.name_zh == "鲜果坊（新）" and shop.phone == "0371-6666 8888"
        assert shop.opening_hours["mon"] == "09:00-21:00" and shop.opening_hours["sun"] == "closed"
    with tenant_scope(world.b):  # the shop with the same slug in the other tenant is untouched
        assert db.session.get(Shop, world.z.id).name_zh == "服装批发"


@pytest.mark.parametrize("role, page, merchant_link, operator_link", [
    ("owner", "/merchant/", True, False),
    ("staff", "/merchant/", True, False),
    ("operator", "/operator/", False, True),
    ("admin", "/operator/", True, True),
    ("resident", "/account/", False, False),
    ("owner", "/account/", True, False),
])
def test_console_links_are_shown_only_to_those_who_may_follow_them(world, as_role, role, page, merchant_link,
                                                                    operator_link):
    html = as_role(role).get(page).get_data(as_text=True)
    assert ('href="/merchant/"' in html) is merchant_link, f"{role} on {page}: merchant console link"
    assert ('href="/operator/"' in html) is operator_link, f"{role} on {page}: operator console link"


def test_operator_console_lists_only_the_operators_tenants(world, as_role):
    html = as_role("operator").get("/operator/").get_data(as_text=True)
    assert "德化步行街" in html and "银基商贸城" not in html
    admin = as_role("admin").get("/operator/").get_data(as_text=True)
    assert "德化步行街" in admin and "银基商贸城" in admin


def _status(browser, world, status: str):
    return browser.submit(f"/operator/{world.a.slug}/status", {"status": status},
                          page_url=f"/operator/{world.a.slug}/")


def _tenant_status(world) -> str:
    db.session.expire_all()
    return world.a.status


def test_operator_moves_the_tenant_between_draft_and_live(world, as_role, make_client):
    operator = as_role("operator")
    response = _status(operator, world, "draft")
    assert response.status_code == 303 and response.headers["Location"] == f"/operator/{world.a.slug}/"
    assert "状态已更新。" in operator.get(response.headers["Location"]).get_data(as_text=True)
    assert _tenant_status(world) == "draft"
    assert make_client().get(f"/t/{world.a.slug}/").status_code == 404  # visitors no longer see it

    _publish_documents(world.a)  # going live needs the agreement and the trading rules published
    assert _status(operator, world, "live").status_code == 303
    assert _tenant_status(world) == "live"
    assert make_client().get(f"/t/{world.a.slug}/").status_code == 200


@pytest.mark.parametrize("start, target", [("live", "suspended"), ("draft", "suspended"), ("suspended", "live"),
                                           ("suspended", "draft")])
def test_operator_cannot_suspend_or_restore(world, as_role, start, target):
    world.a.status = start
    db.session.commit()
    operator = as_role("operator")
    page = operator.get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert "暂停或恢复需要平台管理员操作。" in page
    response = _status(operator, world, target)
    assert response.status_code == 303
    assert "暂停或恢复一个市场需要平台管理员操作。" in operator.get(response.headers["Location"]).get_data(as_text=True)
    assert _tenant_status(world) == start


def test_platform_admin_suspends_and_restores(world, as_role, make_client):
    admin = as_role("admin")
    assert "暂停或恢复需要平台管理员操作。" not in admin.get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert _status(admin, world, "suspended").status_code == 303
    assert _tenant_status(world) == "suspended"
    assert make_client().get(f"/t/{world.a.slug}/").status_code == 503
    assert _status(admin, world, "draft").status_code == 303
    assert _tenant_status(world) == "draft"
    _publish_documents(world.a)  # going live needs the agreement and the trading rules published
    assert _status(admin, world, "live").status_code == 303
    assert _tenant_status(world) == "live"


def test_operator_saves_brand_and_timezone(world, as_role):
    operator = as_role("operator")
    response = operator.submit(f"/operator/{world.a.slug}/brand", {**BRAND, "primary_color": "#AA3300",
                                                                   "timezone": "Asia/Urumqi"},
                               page_url=f"/operator/{world.a.slug}/")
    assert response.status_code == 303
    db.session.expire_all()
    assert world.a.brand.get("primary_color") == "#aa3300" and world.a.timezone == "Asia/Urumqi"
    assert "--brand: #aa3300" in operator.get(f"/t/{world.a.slug}/").get_data(as_text=True)


def test_console_pages_use_a_fixed_number_of_queries(world, as_role, make_shop, make_merchant, make_user,
                                                    count_queries):
    """N+1 guard: more shops, each with its own merchant, must not mean more queries."""
    operator, owner = as_role("operator"), as_role("owner")

    def load():
        counts = []
        for browser, url in ((operator, f"/operator/{world.a.slug}/"), (owner, "/merchant/")):
            with count_queries() as queries:
                assert browser.get(url).status_code == 200
            counts.append(len(queries))
        return counts

    load()  # the first look-up fills the shared cache (tenant, settings): measure with it warm
    before = load()
    for n in range(8):
        shop = make_shop(world.a, merchant=make_merchant(), slug=f"extra-{n}")
        accounts.grant_role(world.users["owner"], Role.merchant_owner, shop=shop)
        db.session.commit()
    assert load() == before
