"""HTTP caching: storefront pages revalidated by ETag (304 when nothing the visitor sees changed), and static files
under content-versioned URLs that browsers may keep for a year."""

from __future__ import annotations

import hashlib
import re

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.tenancy.context import all_tenants, tenant_scope
from tests.storefront.demo_pages import parse

IMMUTABLE = "public, max-age=31536000, immutable"
_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def page_url(tenant, product) -> str:
    return f"/t/{tenant.slug}/p/{product.id}-{product.slug}"


def again(client, url, response):
    """The browser's revalidation: the same URL with the ETag it holds."""
    return client.get(url, headers={"If-None-Match": response.headers["ETag"]})


def text(response) -> str:
    return response.get_data(as_text=True)


def variant_of(product) -> Variant:
    with all_tenants():
        return db.session.scalar(select(Variant).where(Variant.product_id == product.id))


# -- pages --------------------------------------------------------------------------------------------------------

def test_every_storefront_page_answers_304_without_a_body_when_unchanged(client, tea_street):
    tenant, shop, category, product = tea_street
    pages = ["/", f"/t/{tenant.slug}/", f"/t/{tenant.slug}/s/{shop.slug}/", page_url(tenant, product),
             f"/t/{tenant.slug}/c/{category.slug}", f"/t/{tenant.slug}/search?q=毛尖", "/search?q=毛尖"]
    for url in pages:
        first = client.get(url)
        assert first.status_code == 200, url
        assert first.headers["ETag"].startswith('W/"'), url
        # The page carries the visitor's CSRF secret: never for a shared cache, always asked again.
        assert first.headers["Cache-Control"] == "private, no-cache", url
        cached = again(client, url, first)
        assert cached.status_code == 304 and cached.data == b"", url
        assert cached.headers["ETag"] == first.headers["ETag"], url
        assert "Last-Modified" not in first.headers  # no date is exact for a page that mixes this much


def test_the_product_form_still_posts_from_the_page_the_browser_kept(client, tea_street, monkeypatch):
    tenant, _shop, _category, product = tea_street
    url = page_url(tenant, product)
    first = client.get(url)
    kept_token = _TOKEN.search(text(first)).group(1)
    # An hour later the token is signed anew, yet the page is the same page.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self, real=TimestampSigner.get_timestamp:
                        real(_self) + 3600)
    later = client.get(url)
    assert _TOKEN.search(text(later)).group(1) != kept_token
    assert later.headers["ETag"] == first.headers["ETag"]
    assert again(client, url, first).status_code == 304
    added = client.post(f"/t/{tenant.slug}/cart/add", data={"csrf_token": kept_token, "quantity": "2",
                                                             "variant_id": str(variant_of(product).id)})
    assert added.status_code == 303
    after = again(client, url, first)
    assert after.status_code == 200 and '<span class="cart-count">1</span>' in text(after)
    assert "已加入购物车" in text(after)  # the flash is part of the page, so part of its ETag
    assert again(client, url, after).status_code == 200  # …and once shown, the page without it is another one


@pytest.mark.parametrize("change, shown", [
    ("price", "¥92.00"),
    ("stock", "已售罄"),
    ("title", "Xinyang Maojian 特级信阳毛尖"),
])
def test_a_change_to_the_product_makes_the_kept_page_stale(client, tea_street, change, shown):
    tenant, _shop, category, product = tea_street
    urls = [page_url(tenant, product), f"/t/{tenant.slug}/c/{category.slug}"]
    kept = {url: client.get(url) for url in urls}
    with tenant_scope(tenant):
        if change == "title":
            product.title = shown  # same ASCII words, so the same address
        else:
            variant = variant_of(product)
            variant.price, variant.stock = (9200, variant.stock) if change == "price" else (variant.price, 0)
        db.session.commit()
    for url in urls:
        fresh = again(client, url, kept[url])
        assert fresh.status_code == 200 and shown in text(fresh), url
        assert fresh.headers["ETag"] != kept[url].headers["ETag"]
        assert again(client, url, fresh).status_code == 304


def test_signing_in_and_switching_language_make_the_kept_page_stale(client, tea_street, make_user):
    tenant, *_rest = tea_street
    url = f"/t/{tenant.slug}/"
    anonymous = client.get(url)
    make_user("chayou@shangdu.example", name="茶友小王")
    client.login("chayou@shangdu.example", "correct-horse-42")
    signed_in = again(client, url, anonymous)
    assert signed_in.status_code == 200 and "茶友小王" in text(signed_in)
    assert client.submit("/lang", {"locale": "en", "next": url}, page_url=url).status_code == 302
    english = again(client, url, signed_in)
    assert english.status_code == 200 and '<html lang="en">' in text(english) and "Cart" in text(english)


def test_a_page_from_another_session_is_not_revalidated(client, make_client, tea_street):
    """Its token belongs to a session the server no longer knows: the visitor gets a page that can post."""
    tenant, _shop, _category, product = tea_street
    url = page_url(tenant, product)
    first = client.get(url)
    other_browser = make_client()
    fresh = again(other_browser, url, first)
    assert fresh.status_code == 200 and fresh.headers["ETag"] != first.headers["ETag"]


def test_another_tenants_page_never_answers_304_to_this_ones_etag(client, tea_street, make_tenant, make_shop,
                                                                  make_category, make_product):
    tenant, _shop, _category, product = tea_street
    other = make_tenant(slug="other-street", name_zh="另一条街")
    other_shop = make_shop(other, slug="tea-house", name_zh="老茶馆")
    other_product = make_product(other_shop, category=make_category(other, slug="tea", name_zh="茶叶"),
                                 title="Xinyang Maojian 信阳毛尖", price=8800, stock=50)
    for mine, theirs in [(f"/t/{tenant.slug}/", f"/t/{other.slug}/"),
                         (f"/t/{tenant.slug}/s/tea-house/", f"/t/{other.slug}/s/tea-house/"),
                         (page_url(tenant, product), page_url(other, other_product))]:
        kept = client.get(mine)
        answer = again(client, theirs, kept)
        assert answer.status_code == 200 and "另一条街" in text(answer), theirs


def test_a_malformed_if_none_match_gets_the_page(client, tea_street):
    tenant, *_rest = tea_street
    for header in ['W/"', '"unterminated', "garbage, ,W/", "\u00e9" * 3]:
        response = client.get(f"/t/{tenant.slug}/", headers={"If-None-Match": header})
        assert response.status_code == 200 and "缓存测试街" in text(response), header


# -- static files -------------------------------------------------------------------------------------------------

def _versioned(html: str) -> list[str]:
    parts = parse(html)
    return list(dict.fromkeys([*parts.stylesheets, *parts.scripts]))


def test_static_urls_carry_their_content_version_and_are_kept_a_year(client, make_tenant):
    tenant = make_tenant(theme="market", kind="market")
    urls = _versioned(text(client.get(f"/t/{tenant.slug}/")))
    assert "/themes/market/theme.css" in [url.split("?")[0] for url in urls]
    for url in urls:
        path, _, version = url.partition("?v=")
        assert re.fullmatch(r"[0-9a-f]{12}", version), url
        with client.get(url) as response:
            assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE, url
            assert hashlib.sha256(response.data).hexdigest()[:12] == version, url
            body = response.data
        for unversioned in (path, f"{path}?v=000000000000"):  # a link from before a deploy, or none at all
            with client.get(unversioned) as response:
                assert response.status_code == 200 and response.data == body
                assert response.headers["Cache-Control"] == "public, max-age=3600", unversioned


def test_a_theme_file_from_the_parent_theme_is_versioned_by_the_file_served(client, make_tenant):
    tenant = make_tenant(theme="street", kind="street")
    site_css = next(url for url in _versioned(text(client.get(f"/t/{tenant.slug}/"))) if "site.css" in url)
    version = site_css.split("?v=")[1]
    with client.get(f"/themes/street/site.css?v={version}") as response:  # only the base theme has it
        assert response.headers["Cache-Control"] == IMMUTABLE


def test_the_application_static_files_and_tenant_logos_are_versioned_too(client, make_tenant):
    docs = text(client.get("/api/v1/docs"))
    console_css = re.search(r'href="(/static/console\.css\?v=[0-9a-f]{12})"', docs).group(1)
    with client.get(console_css) as response:
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
    with client.get("/static/console.css") as response:
        assert "immutable" not in response.headers.get("Cache-Control", "")
    make_tenant(slug="dehua-street", brand={"logo": "logo.svg"})  # a shipped manifest with a logo
    logo = re.search(r'src="(/t/dehua-street/brand/logo\.svg\?v=[0-9a-f]{12})"', text(client.get("/"))).group(1)
    with client.get(logo) as response:
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    with client.get("/t/dehua-street/brand/logo.svg?v=../../tenant.toml") as response:
        assert response.status_code == 200 and response.headers["Cache-Control"] == "public, max-age=3600"
