"""Whole pages for anonymous visitors from the shared cache: no query on a hit, never stale after a committed
change, never another visitor's token, cart, name, language or tenant."""

from __future__ import annotations

import re

import pytest
from flask import request
from sqlalchemy import select, update

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.search import indexing
from marketplace.search import services as search
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import TenantStatus

_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
_SIGNED = re.compile(r"[\w-]+\.[\w-]+\.[\w-]+")  # itsdangerous: payload.timestamp.signature


@pytest.fixture(autouse=True)
def page_cache_on(app, monkeypatch):
    # The rest of the suite counts what rendering costs, so the test settings turn the cache off.
    monkeypatch.setitem(app.config["MARKETPLACE"], "PAGE_CACHE_TTL_S", 30)


def product_url(tenant, product) -> str:
    return f"/t/{tenant.slug}/p/{product.id}-{product.slug}"


def text(response) -> str:
    return response.get_data(as_text=True)


def variant_of(product) -> Variant:
    with all_tenants():
        return db.session.scalar(select(Variant).where(Variant.product_id == product.id))


def test_the_second_anonymous_visit_is_served_without_a_query(client, tea_street, count_queries):
    tenant, shop, category, product = tea_street
    for url in [product_url(tenant, product), f"/t/{tenant.slug}/", f"/t/{tenant.slug}/s/{shop.slug}/",
                f"/t/{tenant.slug}/c/{category.slug}", "/"]:
        first = client.get(url)
        assert first.status_code == 200 and first.headers["X-Page-Cache"] == "miss", url
        with count_queries() as statements:
            second = client.get(url)
        assert second.headers["X-Page-Cache"] == "hit", url
        assert statements == [], url
        assert _TOKEN.sub("", text(second)) == _TOKEN.sub("", text(first)), url


def test_every_visitor_gets_their_own_token_and_the_stored_page_still_adds_to_the_cart(make_client, tea_street):
    tenant, _shop, _category, product = tea_street
    url = product_url(tenant, product)
    first_browser, second_browser = make_client(), make_client()
    rendered, stored = first_browser.get(url), second_browser.get(url)
    assert stored.headers["X-Page-Cache"] == "hit"
    tokens = [_TOKEN.search(text(page)).group(1) for page in (rendered, stored)]
    assert all(_SIGNED.fullmatch(token) for token in tokens)  # real tokens, not the stored page's placeholder
    assert tokens[0] != tokens[1]
    added = second_browser.post(f"/t/{tenant.slug}/cart/add", data={
        "csrf_token": tokens[1], "quantity": "1", "variant_id": str(variant_of(product).id)})
    assert added.status_code == 303
    # Now the visitor has a cart (and a message): their pages are their own, rendered for them.
    mine = second_browser.get(url)
    assert "X-Page-Cache" not in mine.headers
    assert '<span class="cart-count">1</span>' in text(mine) and "已加入购物车" in text(mine)
    assert '<span class="cart-count">' not in text(first_browser.get(url))


@pytest.mark.parametrize("change, shown", [("price", "¥92.00"), ("sold out", "已售罄"),
                                           ("title", "Xinyang Maojian 特级信阳毛尖")])
def test_a_committed_change_shows_on_the_next_visit(client, tea_street, change, shown):
    tenant, _shop, category, product = tea_street
    urls = [product_url(tenant, product), f"/t/{tenant.slug}/c/{category.slug}"]
    for url in urls:
        client.get(url)
        assert client.get(url).headers["X-Page-Cache"] == "hit"
    with tenant_scope(tenant):
        if change == "title":
            product.title = shown
        elif change == "price":
            variant_of(product).price = 9200
        else:  # as checkout takes stock: one UPDATE statement, no object changed in the session
            db.session.execute(update(Variant).where(Variant.product_id == product.id).values(stock=0))
        db.session.commit()
    for url in urls:
        fresh = client.get(url)
        assert fresh.headers["X-Page-Cache"] == "miss" and shown in text(fresh), url


def test_signed_in_residents_always_get_their_own_page(client, tea_street, make_user):
    tenant, *_rest = tea_street
    url = f"/t/{tenant.slug}/"
    client.get(url)
    make_user("chayou@shangdu.example", name="茶友小王")
    client.login("chayou@shangdu.example", "correct-horse-42")
    for _ in range(2):
        page = client.get(url)
        assert "X-Page-Cache" not in page.headers and "茶友小王" in text(page)


def test_languages_and_tenants_are_kept_apart(client, make_client, tea_street, make_tenant, make_shop):
    tenant, *_rest = tea_street
    other = make_tenant(slug="other-street", name_zh="另一条街")
    make_shop(other, slug="tea-house", name_zh="新茶馆")
    chinese = client.get(f"/t/{tenant.slug}/")
    english_browser = make_client()
    english_browser.set_cookie("locale", "en")
    english = english_browser.get(f"/t/{tenant.slug}/")
    assert english.headers["X-Page-Cache"] == "miss" and '<html lang="en">' in text(english)
    assert '<html lang="zh' in text(client.get(f"/t/{tenant.slug}/"))
    elsewhere = client.get(f"/t/{other.slug}/s/tea-house/")
    assert elsewhere.headers["X-Page-Cache"] == "miss" and "新茶馆" in text(elsewhere)
    assert "缓存测试街" in text(chinese) and "缓存测试街" not in text(elsewhere)


@pytest.mark.parametrize("status, expected", [(TenantStatus.suspended, 503), (TenantStatus.draft, 404)])
def test_closing_a_tenant_takes_effect_at_once(client, tea_street, status, expected):
    tenant, _shop, _category, product = tea_street
    url = product_url(tenant, product)
    client.get(url)
    assert client.get(url).headers["X-Page-Cache"] == "hit"
    tenant.status = status
    db.session.commit()
    assert client.get(url).status_code == expected


def test_searches_served_from_the_cache_still_count_in_the_statistics(client, tea_street):
    tenant, *_rest = tea_street
    indexing.run_pending()  # the street's products: indexed now, not by the first search
    url = f"/t/{tenant.slug}/search?q=毛尖"
    assert client.get(url).headers["X-Page-Cache"] == "miss"
    assert client.get(url).headers["X-Page-Cache"] == "hit"
    top, _zero = search.query_report(tenant)
    assert [(row.query, row.searches) for row in top] == [("毛尖", 2)]


def test_a_search_index_update_renews_the_search_page(client, tea_street, make_product):
    tenant, shop, category, _product = tea_street
    url = f"/t/{tenant.slug}/search?q=安吉白茶"
    assert "/p/" not in text(client.get(url))
    white_tea = make_product(shop, category=category, title="安吉白茶 250g", price=12800, stock=5)
    fresh = client.get(url)  # the search indexes the committed product first, which renews the page
    assert fresh.headers["X-Page-Cache"] == "miss" and f"/p/{white_tea.id}-250g" in text(fresh)


def test_with_the_cache_turned_off_every_page_is_rendered(client, tea_street, app, monkeypatch):
    monkeypatch.setitem(app.config["MARKETPLACE"], "PAGE_CACHE_TTL_S", 0)
    tenant, *_rest = tea_street
    for _ in range(2):
        assert "X-Page-Cache" not in client.get(f"/t/{tenant.slug}/").headers


def test_a_page_rendered_on_the_tenants_own_host_is_kept_apart_from_the_platform_address(client, make_client, tea_street):
    """Links differ: no /t/<slug> prefix on the tenant's own host name."""
    tenant, shop, _category, _product = tea_street
    there = make_client().get("/", base_url=f"http://{tenant.slug}.shangdu.test")
    assert f'href="/s/{shop.slug}/"' in text(there)
    here = client.get(f"/t/{tenant.slug}/")
    assert here.headers["X-Page-Cache"] == "miss" and f'href="/t/{tenant.slug}/s/{shop.slug}/"' in text(here)


def test_a_query_string_that_is_not_utf8_is_the_clients_error(client, tea_street):
    tenant, *_rest = tea_street
    for _ in range(2):  # rendered, then (had it been kept) from the cache: a clear 400 both times, never a 500
        refused = client.get(f"/t/{tenant.slug}/", environ_overrides={"QUERY_STRING": "category=\xff"})
        assert refused.status_code == 400 and refused.headers.get("X-Page-Cache") != "hit"


def test_no_text_on_a_page_can_ask_for_the_visitors_token(client, make_client, tea_street, make_product):
    """The stored page stands in for the token with a random string of its own, so a title cannot name it."""
    tenant, shop, category, _product = tea_street
    bait = make_product(shop, category=category, title="好茶 @@csrf-token@@ csrf-placeholder", price=100, stock=5)
    url = product_url(tenant, bait)
    for browser in (client, make_client()):
        page = text(browser.get(url))
        token = _TOKEN.search(page).group(1)
        assert "好茶 @@csrf-token@@ csrf-placeholder" in page and page.count(token) == page.count('name="csrf_token"')


def test_a_stored_page_is_revalidated_as_the_page_it_was_rendered_as(client, make_client, tea_street):
    """The page cache gives the ETag without hashing the page on each visit: the same visitor's browser still gets
    304 for the page it holds, whether that page was rendered or came from the cache, and nobody else's ETag."""
    tenant, _shop, _category, product = tea_street
    url = product_url(tenant, product)
    rendered = client.get(url)
    assert rendered.headers["X-Page-Cache"] == "miss"
    again = client.get(url, headers={"If-None-Match": rendered.headers["ETag"]})
    assert again.headers["X-Page-Cache"] == "hit" and again.status_code == 304 and again.get_data() == b""
    stranger = make_client().get(url, headers={"If-None-Match": rendered.headers["ETag"]})
    assert stranger.status_code == 200 and stranger.headers["ETag"] != rendered.headers["ETag"]


def test_a_hit_is_answered_before_flasks_request_hooks_with_the_headers_they_would_set(client, make_client,
                                                                                     tea_street, app, monkeypatch):
    """What a hit costs is what makes anonymous traffic cheap: it is answered before Flask's request context and
    hooks (core.page_cache.answer_before_flask), and still carries what the hooks give a page."""
    tenant, _shop, _category, product = tea_street
    url = product_url(tenant, product)
    ran = []
    monkeypatch.setitem(app.after_request_funcs, None,
                        [*app.after_request_funcs[None], lambda response: ran.append(request.path) or response])
    assert client.get(url).headers["X-Page-Cache"] == "miss" and ran == [url]
    newcomer = make_client().get(url)
    assert newcomer.headers["X-Page-Cache"] == "hit" and ran == [url]
    assert newcomer.headers["Cache-Control"] == "private, no-cache" and newcomer.headers["Vary"] == "Cookie"
    assert newcomer.headers["Content-Type"] == "text/html; charset=utf-8"
    cookie = newcomer.headers["Set-Cookie"]  # a new session holding the new visitor's CSRF secret
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # A search page is counted in the statistics by Flask's hooks: its hits go through them.
    indexing.run_pending()  # the street's products: indexed now, not by the first search (which renews the page)
    search = f"/t/{tenant.slug}/search"
    client.get(search + "?q=maojian")
    assert client.get(search + "?q=maojian").headers["X-Page-Cache"] == "hit" and ran == [url, search, search]


def test_a_returning_visitor_keeps_their_session_and_posts_with_the_token_of_a_stored_page(client, tea_street):
    tenant, _shop, _category, product = tea_street
    url = product_url(tenant, product)
    first = client.get(url)
    assert "Set-Cookie" in first.headers
    again = client.get(url)
    assert again.headers["X-Page-Cache"] == "hit" and "Set-Cookie" not in again.headers
    token = _TOKEN.search(text(again)).group(1)
    assert token.rsplit(".", 2)[0] == _TOKEN.search(text(first)).group(1).rsplit(".", 2)[0]  # the same secret
    added = client.post(f"/t/{tenant.slug}/cart/add", data={
        "csrf_token": token, "quantity": "1", "variant_id": str(variant_of(product).id)})
    assert added.status_code == 303
