"""Which tenant a request is for: by path (/t/<slug>/), by host (<slug>.shangdu.test or a custom domain)."""

from __future__ import annotations

import html
import itertools
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from flask import url_for

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.tenancy.models import TenantDomain

_domains = itertools.count(1)


def _hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|action)="([^"]*)"', html)


def _host(slug: str) -> str:
    return f"http://{slug}.shangdu.test"


def _unique_domain() -> str:
    # The host middleware caches domain look-ups across requests, so every test uses its own name.
    return f"shop{next(_domains)}.resolution-test.cn"


# -- by path ----------------------------------------------------------------------------------------------

def test_tenant_path_serves_the_tenant_home(client, make_tenant, make_shop):
    tenant = make_tenant(name_zh="德化步行街")
    make_shop(tenant, name_zh="鲜果坊")
    response = client.get(f"/t/{tenant.slug}/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "德化步行街" in html and "鲜果坊" in html


def test_unknown_tenant_is_404(client, make_tenant):
    make_tenant(slug="dehua-street")
    assert client.get("/t/no-such-street/").status_code == 404
    assert client.get("/t/no-such-street/s/anything/").status_code == 404


def test_links_on_a_tenant_page_carry_the_tenant_slug(client, make_tenant, make_shop):
    tenant = make_tenant()
    make_shop(tenant, slug="fresh-fruit")
    html = client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    assert f'href="/t/{tenant.slug}/s/fresh-fruit/"' in html
    assert client.get(f"/t/{tenant.slug}/s/fresh-fruit/").status_code == 200


def test_url_for_reinjects_the_current_tenant(app, make_tenant):
    tenant = make_tenant()
    with app.test_request_context(f"/t/{tenant.slug}/"):
        app.preprocess_request()  # resolves the tenant from the URL, as a request does
        assert url_for("tenant.shop", shop_slug="fresh-fruit") == f"/t/{tenant.slug}/s/fresh-fruit/"
        assert url_for("tenant.home") == f"/t/{tenant.slug}/"
        assert url_for("storefront.portal") == "/"


# -- by host ----------------------------------------------------------------------------------------------

def test_tenant_host_serves_the_tenant_at_the_root(client, make_tenant, make_shop):
    tenant = make_tenant(slug="dehua", name_zh="德化步行街")
    make_shop(tenant, slug="fresh-fruit", name_zh="鲜果坊")
    response = client.get("/", base_url=_host("dehua"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "德化步行街" in html and "鲜果坊" in html
    assert not [h for h in _hrefs(html) if urlsplit(h).path.startswith("/t/")]  # links drop the prefix
    assert 'href="/s/fresh-fruit/"' in html
    assert 'href="/"' in html  # tenant name in the header links home

    shop = client.get("/s/fresh-fruit/", base_url=_host("dehua"))
    assert shop.status_code == 200
    assert "鲜果坊" in shop.get_data(as_text=True)
    assert not [h for h in _hrefs(shop.get_data(as_text=True)) if urlsplit(h).path.startswith("/t/")]


def test_tenant_host_ignores_port_and_case(client, make_tenant):
    make_tenant(slug="dehua", name_zh="德化步行街")
    response = client.get("/", base_url="http://DeHua.ShangDu.test:8080")
    assert response.status_code == 200
    assert "德化步行街" in response.get_data(as_text=True)


def test_platform_host_serves_the_portal(client, make_tenant):
    make_tenant(slug="dehua", name_zh="德化步行街")
    html = client.get("/", base_url="http://shangdu.test").get_data(as_text=True)
    assert 'href="/t/dehua/"' in html  # the portal, linking to the tenant by path


def test_unknown_tenant_host_is_404(client, make_tenant):
    make_tenant(slug="dehua")
    assert client.get("/", base_url=_host("nowhere")).status_code == 404


def test_custom_domain_serves_its_tenant(client, make_tenant, make_shop):
    tenant = make_tenant(slug="nongzi", name_zh="中原农资批发市场", kind="market")
    make_shop(tenant, slug="seed-shop", name_zh="丰收种业")
    domain = _unique_domain()
    db.session.add(TenantDomain(tenant_id=tenant.id, domain=domain))
    db.session.commit()
    response = client.get("/", base_url=f"http://{domain}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "中原农资批发市场" in html and 'href="/s/seed-shop/"' in html
    assert client.get("/s/seed-shop/", base_url=f"https://{domain}").status_code == 200


def test_unlisted_custom_domain_is_the_platform(client, make_tenant):
    make_tenant(slug="dehua", name_zh="德化步行街")
    html = client.get("/", base_url=f"http://{_unique_domain()}").get_data(as_text=True)
    assert 'href="/t/dehua/"' in html  # the portal


def test_platform_pages_are_not_rewritten_on_a_tenant_host(client, make_tenant):
    make_tenant(slug="dehua")
    login = client.get("/account/login", base_url=_host("dehua"))
    assert login.status_code == 200
    assert 'name="identifier"' in login.get_data(as_text=True)
    assert 'class="platform"' in login.get_data(as_text=True)  # not inside the tenant
    assert client.get("/healthz", base_url=_host("dehua")).status_code == 200


def test_another_tenants_path_on_a_tenant_host_is_404(client, make_tenant, make_shop):
    make_tenant(slug="dehua")
    other = make_tenant(slug="nongzi")
    make_shop(other, slug="seed-shop")
    assert client.get("/t/nongzi/", base_url=_host("dehua")).status_code == 404
    assert client.get("/t/nongzi/s/seed-shop/", base_url=_host("dehua")).status_code == 404


def test_login_from_a_tenant_host_returns_to_the_page(client, make_tenant, make_shop, make_user):
    """The header's login link carries the page as ``next``; after login the visitor is back on that page."""
    tenant = make_tenant(slug="dehua")
    make_shop(tenant, slug="fresh-fruit", name_zh="鲜果坊")
    make_user("resident@shangdu.example")
    page = client.get(_host("dehua") + "/s/fresh-fruit/").get_data(as_text=True)
    login_link = html.unescape(next(h for h in _hrefs(page) if h.startswith("/account/login")))
    next_path = parse_qs(urlsplit(login_link).query)["next"][0]
    assert next_path == "/s/fresh-fruit/"  # the address the visitor sees, without the internal prefix
    response = client.submit(_host("dehua") + login_link, {
        "identifier": "resident@shangdu.example", "password": "correct-horse-42", "next": next_path,
    })
    assert response.status_code == 302
    back = client.get(urljoin(_host("dehua") + "/", response.headers["Location"]))
    assert back.status_code == 200
    assert "鲜果坊" in back.get_data(as_text=True)
    assert "测试用户" in back.get_data(as_text=True)  # signed in: the header shows the user's name


def test_language_switch_on_a_tenant_host_returns_to_the_page(client, make_tenant, make_shop):
    tenant = make_tenant(slug="dehua", name_zh="德化步行街", name_en="Dehua Pedestrian Street")
    make_shop(tenant, slug="fresh-fruit", name_zh="鲜果坊", name_en="Fresh Fruit")
    page_url = _host("dehua") + "/s/fresh-fruit/"
    page = client.get(page_url).get_data(as_text=True)
    next_path = html.unescape(re.search(r'name="next" value="([^"]*)"', page).group(1))
    assert next_path == "/s/fresh-fruit/"
    response = client.submit(_host("dehua") + "/lang", {"locale": "en", "next": next_path}, page_url=page_url)
    assert response.status_code == 302
    back = client.get(urljoin(page_url, response.headers["Location"]))
    assert back.status_code == 200
    assert "Fresh Fruit" in back.get_data(as_text=True)


# -- draft and suspended tenants --------------------------------------------------------------------------

@pytest.fixture
def draft(make_tenant, make_shop):
    tenant = make_tenant(slug="new-market", name_zh="筹备中的市场", status="draft")
    make_shop(tenant, slug="first-stall", name_zh="第一家摊位")
    return tenant


def test_draft_tenant_is_404_for_the_public(client, draft):
    for response in (client.get("/t/new-market/"), client.get("/t/new-market/s/first-stall/"),
                     client.get("/", base_url=_host("new-market"))):
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "筹备中的市场" not in html and "theme.css" not in html  # neither its name nor its theme


def test_draft_tenant_is_404_for_residents_and_other_operators(client, draft, make_tenant, make_user):
    make_user("resident@shangdu.example")
    client.login("resident@shangdu.example", "correct-horse-42")
    assert client.get("/t/new-market/").status_code == 404
    other = make_tenant()
    make_user("other-op@shangdu.example", role=Role.tenant_operator, tenant=other)
    client.login("other-op@shangdu.example", "correct-horse-42")
    assert client.get("/t/new-market/").status_code == 404


@pytest.mark.parametrize("role", [Role.tenant_operator, Role.platform_admin])
def test_draft_tenant_is_visible_to_its_operator_and_admins(client, draft, make_user, role):
    make_user("staff@shangdu.example", role=role, tenant=draft if role == Role.tenant_operator else None)
    client.login("staff@shangdu.example", "correct-horse-42")
    home = client.get("/t/new-market/")
    assert home.status_code == 200
    assert "第一家摊位" in home.get_data(as_text=True)
    assert "尚未对居民开放" in home.get_data(as_text=True)  # the preview says so
    assert client.get("/t/new-market/s/first-stall/").status_code == 200


def test_suspended_tenant_is_503_in_its_theme(client, make_tenant, make_shop):
    tenant = make_tenant(slug="paused", name_zh="暂停的市场", kind="market", theme="market", status="suspended",
                         brand={"primary_color": "#3d405b"})
    make_shop(tenant, slug="stall")
    for path in ("/t/paused/", "/t/paused/s/stall/"):
        response = client.get(path)
        assert response.status_code == 503
        html = response.get_data(as_text=True)
        assert "暂时无法访问" in html
        assert "/themes/market/theme.css" in html and "#3d405b" in html  # the tenant's look
    assert client.get("/", base_url=_host("paused")).status_code == 503


def test_suspended_tenant_is_not_on_the_portal(client, make_tenant):
    make_tenant(name_zh="运营中的街")
    make_tenant(name_zh="暂停的市场", status="suspended")
    html = client.get("/").get_data(as_text=True)
    assert "运营中的街" in html and "暂停的市场" not in html


# -- one request's tenant never leaks into the next -------------------------------------------------------

def test_current_tenant_does_not_leak_between_requests(client, make_tenant, make_shop):
    a = make_tenant(name_zh="甲街", theme="street")
    b = make_tenant(name_zh="乙市场", kind="market", theme="market")
    make_shop(a, name_zh="甲街鲜果坊")
    make_shop(b, name_zh="乙市场布行")

    first = client.get(f"/t/{a.slug}/").get_data(as_text=True)
    assert "甲街鲜果坊" in first and "乙市场布行" not in first

    portal = client.get("/").get_data(as_text=True)
    assert 'class="platform"' in portal  # no tenant on the platform page
    assert "/themes/street/theme.css" not in portal

    second = client.get(f"/t/{b.slug}/").get_data(as_text=True)
    assert "乙市场布行" in second and "甲街鲜果坊" not in second
    assert "/themes/market/theme.css" in second and "/themes/street/theme.css" not in second

    host_page = client.get("/", base_url=_host(a.slug)).get_data(as_text=True)
    assert "甲街鲜果坊" in host_page
    after_host = client.get(f"/t/{b.slug}/").get_data(as_text=True)
    assert f'href="/t/{b.slug}/' in after_host  # links of a path request keep the prefix again


# -- odd addresses and hosts --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/t/%00/", "/t/a%00b/s/x/", "/t/UPPER/", "/t/" + "x" * 80 + "/",
                                  "/t/dehua/s/%00/", "/merchant/dehua/%00/", "/operator/%00/"])
def test_malformed_slugs_are_404_before_any_query(client, make_tenant, path, count_queries):
    make_tenant(slug="dehua")
    with count_queries() as queries:
        assert client.get(path).status_code == 404
    assert not [q for q in queries if "tenants" in q or "shops" in q]


@pytest.mark.parametrize("host", ["a\x00b.example.cn", "-bad-.example.cn", "x" * 300 + ".cn", "[::1]:8000",
                                  "203.0.113.7", "www.shangdu.test"])
def test_odd_hosts_are_the_platform_and_never_crash(client, make_tenant, host):
    make_tenant(name_zh="德化步行街")
    response = client.get("/", headers={"Host": host})
    if len(host) > 253:  # Werkzeug itself refuses a host name that long
        assert response.status_code == 400
    else:
        assert response.status_code == 200 and "德化步行街" in response.get_data(as_text=True)  # the portal


def test_the_portal_link_on_a_tenant_host_leads_to_the_platform_host(client, make_tenant):
    make_tenant(slug="dehua", name_zh="德化步行街")
    page = client.get("/", base_url="http://dehua.shangdu.test:8000").get_data(as_text=True)
    assert 'href="http://shangdu.test:8000/"' in page
