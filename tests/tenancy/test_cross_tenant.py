"""No page shows or changes one tenant's data through another tenant's URL.

Every route with ``<tenant_slug>`` is listed in ROUTES; ``test_every_tenant_route_is_covered`` fails when a new
route is added without an entry, so each new page gets these checks too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import url_for
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant, TenantSetting

PASSWORD = "correct-horse-42"

PROFILE_FORM = {"name_zh": "改过的名字", "name_en": "Renamed", "description_zh": "", "description_en": "",
                "legal_name": "郑州市二七区甲街鲜果坊", "registration_number": "92410103MA9DEM001K",
                "phone": "0371-60000000", **{f"hours_{d}": "09:00-18:00" for d in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
STATUS_FORM = {"status": "draft"}
BRAND_FORM = {"primary_color": "#000000", "accent_color": "#111111", "timezone": "Asia/Tokyo"}


@dataclass(frozen=True)
class Route:
    url: str  # with {tenant} and, where the page is about one shop, {shop}
    login: bool  # whether the page needs a signed-in user
    form: dict | None = None  # what a POST sends

    @property
    def has_shop(self) -> bool:
        return "{shop}" in self.url


#: (endpoint, method) → how to request it. Every url_map rule with <tenant_slug> must be here.
ROUTES: dict[tuple[str, str], Route] = {
    ("tenant.home", "GET"): Route("/t/{tenant}/", login=False),
    ("tenant.shop", "GET"): Route("/t/{tenant}/s/{shop}/", login=False),
    ("merchant.shop", "GET"): Route("/merchant/{tenant}/{shop}/", login=True),
    ("merchant.shop_profile", "GET"): Route("/merchant/{tenant}/{shop}/profile", login=True),
    ("merchant.shop_profile", "POST"): Route("/merchant/{tenant}/{shop}/profile", login=True, form=PROFILE_FORM),
    ("operator.tenant", "GET"): Route("/operator/{tenant}/", login=True),
    ("operator.tenant_status", "POST"): Route("/operator/{tenant}/status", login=True, form=STATUS_FORM),
    ("operator.tenant_brand", "POST"): Route("/operator/{tenant}/brand", login=True, form=BRAND_FORM),
    ("operator_search.search_log", "GET"): Route("/operator/{tenant}/search", login=True),
    ("operator_placements.placements_page", "GET"): Route("/operator/{tenant}/placements", login=True),
    ("merchant_orders.index", "GET"): Route("/merchant/{tenant}/{shop}/orders", login=True),
    ("operator_orders.index_for_operator", "GET"): Route("/operator/{tenant}/orders", login=True),
    ("merchant_payments.merchant_index", "GET"): Route("/merchant/{tenant}/{shop}/payments", login=True),
    ("operator_payments.operator_index", "GET"): Route("/operator/{tenant}/payments", login=True),
    ("operator_order_settings.save", "POST"): Route("/operator/{tenant}/order-settings", login=True, form={
        "commission_percent": "1.50", "payment_minutes": "45", "respond_hours": "24"}),
    ("merchant_statements.index", "GET"): Route("/merchant/{tenant}/{shop}/statements", login=True),
    ("operator_statements.operator_index", "GET"): Route("/operator/{tenant}/statements", login=True),
    ("operator_statements.save_period", "POST"): Route("/operator/{tenant}/statements/period", login=True,
                                                       form={"period": "weekly"}),
    ("merchant_delivery.pick_list", "GET"): Route("/merchant/{tenant}/{shop}/deliveries", login=True),
    ("merchant_delivery.shop_counter", "GET"): Route("/merchant/{tenant}/{shop}/pickup", login=True),
    ("operator_delivery.counter", "GET"): Route("/operator/{tenant}/pickup", login=True),
    ("operator_delivery.late_deliveries", "GET"): Route("/operator/{tenant}/deliveries", login=True),
    ("merchant_freight_quotes.inbox", "GET"): Route("/merchant/{tenant}/{shop}/freight-quotes", login=True),
    ("merchant_credit.breakdown", "GET"): Route("/merchant/{tenant}/{shop}/credit", login=True),
    ("merchant_complaints.merchant_index", "GET"): Route("/merchant/{tenant}/{shop}/complaints", login=True),
    ("operator_complaints.queue", "GET"): Route("/operator/{tenant}/complaints", login=True),
    ("operator_badges.merchants", "GET"): Route("/operator/{tenant}/merchants", login=True),
    ("merchant_reviews.merchant_index", "GET"): Route("/merchant/{tenant}/{shop}/reviews", login=True),
    ("operator_reviews.operator_index", "GET"): Route("/operator/{tenant}/reviews", login=True),
    ("shop_licence.licence", "GET"): Route("/t/{tenant}/s/{shop}/licence", login=False),
    ("merchant_onboarding.application", "GET"): Route("/merchant/{tenant}/{shop}/verification", login=True),
    ("merchant_premises.premises", "GET"): Route("/merchant/{tenant}/{shop}/premises", login=True),
    ("merchant_pesticide_ledger.page", "GET"): Route("/merchant/{tenant}/{shop}/pesticide-ledger", login=True),
    ("merchant_pesticide_ledger.download", "GET"): Route("/merchant/{tenant}/{shop}/pesticide-ledger.csv",
                                                         login=True),
    ("operator_tenants.operators", "GET"): Route("/operator/{tenant}/operators", login=True),
    ("operator_tenants.shops", "GET"): Route("/operator/{tenant}/shops", login=True),
    ("operator_tenants.tenant_audit", "GET"): Route("/operator/{tenant}/audit", login=True),
    ("operator_reports.tenant_reports", "GET"): Route("/operator/{tenant}/reports", login=True),
    ("merchant_reports.shop_reports", "GET"): Route("/merchant/{tenant}/{shop}/reports", login=True),
    ("agreements.agreement", "GET"): Route("/t/{tenant}/agreement", login=False),
    ("agreements.rules", "GET"): Route("/t/{tenant}/rules", login=False),
    ("operator_documents.documents", "GET"): Route("/operator/{tenant}/documents", login=True),
    ("operator_conformance.conformance", "GET"): Route("/operator/{tenant}/conformance", login=True),
    ("merchant_documents.changes", "GET"): Route("/merchant/{tenant}/{shop}/rule-changes", login=True),
    # Intellectual-property notices (trust.ip_notice_views): the public list, the shop's and the operator's queue.
    ("ip_notices.public", "GET"): Route("/t/{tenant}/ip-notices", login=False),
    ("merchant_ip_notices.merchant_index", "GET"): Route("/merchant/{tenant}/{shop}/ip-notices", login=True),
    ("operator_ip_notices.queue", "GET"): Route("/operator/{tenant}/ip-notices", login=True),
    ("operator_ip_notices.export", "GET"): Route("/operator/{tenant}/ip-notices/export.csv", login=True),
    ("operator_enforcement.enforcement", "GET"): Route("/operator/{tenant}/enforcement", login=True),
    ("merchant_closing.closing", "GET"): Route("/merchant/{tenant}/{shop}/closing", login=True),
    ("sanctions.public_sanctions", "GET"): Route("/t/{tenant}/sanctions", login=False),
    ("operator_public_records.records", "GET"): Route("/operator/{tenant}/public-records", login=True),
    # The operator's assisted password reset (console.account_help); its POST is in test_cross_tenant_ids.
    ("operator_accounts.assisted_reset", "GET"): Route("/operator/{tenant}/accounts/reset", login=True),
    # Shop applications (shops.views): the operator's list; the join form and the decisions are in test_cross_tenant_ids.
    ("operator_shop_applications.index", "GET"): Route("/operator/{tenant}/shop-applications", login=True),
    # Webhooks (console.webhooks): the lists; adding, disabling and replaying are in test_cross_tenant_ids.
    ("merchant_webhooks.index", "GET"): Route("/merchant/{tenant}/{shop}/webhooks", login=True),
    ("operator_webhooks.index", "GET"): Route("/operator/{tenant}/webhooks", login=True),
    # The shop's API keys (console.api_keys); creating and revoking are in test_cross_tenant_ids.
    ("merchant_api_keys.index", "GET"): Route("/merchant/{tenant}/{shop}/api-keys", login=True),
    # The tenant's operator API keys (console.api_keys); creating and revoking are in test_cross_tenant_ids.
    ("operator_api_keys.index", "GET"): Route("/operator/{tenant}/api-keys", login=True),
}
#: Endpoints with <tenant_slug> that serve files, not tenant data.
NOT_TENANT_PAGES = {"static", "themes.static", "tenant.brand_file"}  # brand files: tests/storefront/test_pages.py

SHOP_ROUTES = {key: route for key, route in ROUTES.items() if route.has_shop}
TENANT_ROUTES = {key: route for key, route in ROUTES.items() if not route.has_shop}


def test_every_route_in_the_table_exists(app):
    """That every tenant route is in this table or in test_cross_tenant_ids.ID_ROUTES is checked there."""
    in_map = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert not ROUTES.keys() - in_map, "ROUTES lists routes that no longer exist"


@pytest.mark.parametrize("endpoint", sorted({endpoint for endpoint, _ in ROUTES}))
def test_route_table_urls_match_the_app(app, endpoint):
    method = next(m for e, m in ROUTES if e == endpoint)
    route = ROUTES[(endpoint, method)]
    with app.test_request_context("/"):
        built = url_for(endpoint, tenant_slug="some-tenant", **({"shop_slug": "some-shop"} if route.has_shop else {}))
    assert built == route.url.format(tenant="some-tenant", shop="some-shop")


# -- the world: tenant A with a shop, tenant B with its own ------------------------------------------------

@dataclass
class World:
    a: Tenant
    b: Tenant
    a_shop: Shop
    b_shop: Shop
    logins: dict[str, str]  # who → login name


@pytest.fixture
def world(make_tenant, make_merchant, make_shop, make_user) -> World:
    a = make_tenant(slug="tenant-a", name_zh="甲街", operator_name="甲街运营管理有限公司", operator_uscc="91410103MA46E5P2WA")
    b = make_tenant(slug="tenant-b", name_zh="乙市场", kind="market")
    a_shop = make_shop(a, slug="a-fruit", name_zh="甲街鲜果坊")
    b_shop = make_shop(b, slug="b-cloth", name_zh="乙市场布行")
    make_user("owner-a@shangdu.example", role=Role.merchant_owner, shop=a_shop)
    make_user("admin@shangdu.example", role=Role.platform_admin)
    make_user("operator-a@shangdu.example", role=Role.tenant_operator, tenant=a)
    return World(a, b, a_shop, b_shop, {
        "owner": "owner-a@shangdu.example", "admin": "admin@shangdu.example",
        "operator": "operator-a@shangdu.example",
    })


def _request(client, method: str, url: str, form: dict | None, page_url: str):
    if method == "GET":
        return client.get(url)
    return client.submit(url, form or {}, page_url=page_url)


def _shop_names() -> dict[str, str]:
    db.session.expire_all()
    with tenant_scope(db.session.scalar(select(Tenant).where(Tenant.slug == "tenant-a"))):
        return {shop.slug: shop.name_zh for shop in db.session.scalars(select(Shop))}


# -- a page about one shop: another tenant's shop is not found ---------------------------------------------

def _shop_cases():
    for (endpoint, method), route in SHOP_ROUTES.items():
        for who in ("owner", "admin") if route.login else ("anonymous", "owner", "admin"):
            yield pytest.param(endpoint, method, who, id=f"{endpoint}-{method}-{who}")


@pytest.mark.parametrize(("endpoint", "method", "who"), list(_shop_cases()))
def test_a_shop_under_another_tenant_is_404(client, world, endpoint, method, who):
    route = ROUTES[(endpoint, method)]
    if who != "anonymous":
        client.login(world.logins[who], PASSWORD)
    own = route.url.format(tenant="tenant-a", shop="a-fruit")
    crossed = route.url.format(tenant="tenant-b", shop="a-fruit")
    page_url = own  # a POST's CSRF token comes from the form's own page in the shop's tenant

    response = _request(client, method, crossed, route.form, page_url)
    assert response.status_code == 404, f"{method} {crossed} as {who}"
    assert "甲街鲜果坊" not in response.get_data(as_text=True)
    assert _shop_names()["a-fruit"] == "甲街鲜果坊"  # nothing changed

    # The same request under the shop's own tenant works, so the 404 above is about the tenant.
    control = _request(client, method, own, route.form, page_url)
    assert control.status_code == (200 if method == "GET" else 302), f"{method} {own} as {who}"
    if method == "POST":
        assert _shop_names()["a-fruit"] == route.form["name_zh"]


def test_a_shop_on_another_tenants_host_is_404(client, world):
    assert client.get("http://tenant-b.shangdu.test/s/a-fruit/").status_code == 404
    assert client.get("http://tenant-a.shangdu.test/s/a-fruit/").status_code == 200


def test_same_shop_slug_in_two_tenants_shows_each_tenants_own_shop(client, world, make_shop):
    make_shop(world.b, slug="a-fruit", name_zh="乙市场同名店")
    a_page = client.get("/t/tenant-a/s/a-fruit/").get_data(as_text=True)
    b_page = client.get("/t/tenant-b/s/a-fruit/").get_data(as_text=True)
    assert "甲街鲜果坊" in a_page and "乙市场同名店" not in a_page
    assert "乙市场同名店" in b_page and "甲街鲜果坊" not in b_page


def test_owner_of_a_shop_cannot_open_the_same_slug_in_another_tenant(client, world, make_shop):
    make_shop(world.b, slug="a-fruit", name_zh="乙市场同名店")
    client.login(world.logins["owner"], PASSWORD)
    assert client.get("/merchant/tenant-b/a-fruit/").status_code == 404
    assert client.get("/merchant/tenant-b/a-fruit/profile").status_code == 404
    assert client.get("/merchant/tenant-a/a-fruit/").status_code == 200


# -- a page about the whole tenant: only that tenant's data ------------------------------------------------

@pytest.mark.parametrize("who", ["anonymous", "owner", "admin"])
def test_tenant_home_lists_only_its_own_shops(client, world, who):
    assert ("tenant.home", "GET") in TENANT_ROUTES
    if who != "anonymous":
        client.login(world.logins[who], PASSWORD)
    b_home = client.get("/t/tenant-b/").get_data(as_text=True)
    assert "乙市场布行" in b_home and "甲街鲜果坊" not in b_home
    a_home = client.get("/t/tenant-a/").get_data(as_text=True)
    assert "甲街鲜果坊" in a_home and "乙市场布行" not in a_home


def test_operator_page_of_a_tenant_lists_only_its_shops(client, world):
    client.login(world.logins["admin"], PASSWORD)
    b_page = client.get("/operator/tenant-b/")
    assert b_page.status_code == 200
    assert "乙市场布行" in b_page.get_data(as_text=True) and "甲街鲜果坊" not in b_page.get_data(as_text=True)


def _tenant_cases():
    for (endpoint, method), route in TENANT_ROUTES.items():
        if route.login:
            yield pytest.param(endpoint, method, id=f"{endpoint}-{method}")


@pytest.mark.parametrize(("endpoint", "method"), list(_tenant_cases()))
def test_operator_of_one_tenant_is_refused_on_another(client, world, endpoint, method):
    route = ROUTES[(endpoint, method)]
    client.login(world.logins["operator"], PASSWORD)
    own, crossed = route.url.format(tenant="tenant-a"), route.url.format(tenant="tenant-b")
    before_a, before_b = _snapshot(world.a), _snapshot(world.b)

    response = _request(client, method, crossed, route.form, "/operator/tenant-a/")
    assert response.status_code == 404, f"{method} {crossed}"
    assert "乙市场布行" not in response.get_data(as_text=True)
    assert _snapshot(world.b) == before_b

    control = _request(client, method, own, route.form, "/operator/tenant-a/")
    assert control.status_code == (200 if method == "GET" else 303), f"{method} {own}"
    if method == "POST":
        assert _snapshot(world.a) != before_a  # the form does change its own tenant
    assert _snapshot(world.b) == before_b


def _snapshot(tenant: Tenant) -> tuple:
    """What the operator forms change: the tenant's own columns and its module settings."""
    db.session.expire_all()
    with tenant_scope(tenant):
        settings = sorted((row.module, row.name, repr(row.value)) for row in db.session.scalars(select(TenantSetting)))
    return tenant.status, dict(tenant.brand), tenant.timezone, tuple(settings)
