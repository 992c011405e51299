"""Each storefront page fits the size budget — HTML, CSS and JS under 150 KB gzipped, pictures aside — and loads
nothing from another site (no CDN): on a phone in a market hall every kilobyte and every outside host counts."""

from __future__ import annotations

import gzip

import pytest

from tests.storefront.demo_pages import PAGE_NAMES, css_urls, is_outside, parse

#: The demo pages come from a site of their own (demo_pages.py): the suite's per-test transaction stays out of it.
on_the_demo_site = pytest.mark.no_transaction

BUDGET = 150 * 1024


def gzipped(data: bytes) -> int:
    """Bytes on the wire at zlib's default level, the one servers and proxies commonly use."""
    return len(gzip.compress(data, compresslevel=6))


@on_the_demo_site
@pytest.mark.parametrize("name", PAGE_NAMES)
def test_the_page_with_its_css_and_js_fits_the_budget(demo_site, name):
    page = demo_site.page(name)
    parts = parse(page.html)
    sizes = {f"HTML {page.url}": gzipped(page.html.encode())}
    for url in dict.fromkeys([*parts.stylesheets, *parts.scripts]):
        if is_outside(url):
            continue  # refused by the test below; nothing of ours to measure
        status, body = demo_site.asset(url)
        assert status == 200, f"{name}: {url} answered {status}"
        sizes[url] = gzipped(body)
    total = sum(sizes.values())
    listing = "\n".join(f"  {size / 1024:7.1f} KB  {part}" for part, size in sizes.items())
    assert total < BUDGET, f"{name} is {total / 1024:.1f} KB gzipped, over the {BUDGET // 1024} KB budget:\n{listing}"


@on_the_demo_site
@pytest.mark.parametrize("name", PAGE_NAMES)
def test_the_page_loads_nothing_from_another_site(demo_site, name):
    page = demo_site.page(name)
    parts = parse(page.html)
    outside = [url for url in parts.fetched if is_outside(url)]
    for url in dict.fromkeys(parts.stylesheets):
        if not is_outside(url):
            css = demo_site.asset(url)[1].decode()
            outside += [f"{found} (in {url})" for found in css_urls(css) if is_outside(found)]
    assert not outside, f"{name} ({page.url}) loads from outside the site: {outside}"


def test_outside_addresses_are_told_apart_from_our_own():
    assert not any(map(is_outside, ["/themes/base/site.css", "site.css", "../x.png", "data:image/png;base64,AA"]))
    assert all(map(is_outside, ["https://cdn.example/x.js", "//cdn.example/x.css", "http://localhost/x.css"]))
    parts = parse('<link rel="preload" href="https://fonts.example/f.woff2">'
                  '<img src="/m.png" srcset="//cdn/a.png 2x"><div style="background: url(\'https://cdn/b.png\')"></div>'
                  '<style>@import "https://cdn/c.css";</style>')
    assert [url for url in parts.fetched if is_outside(url)] == [
        "https://fonts.example/f.woff2", "//cdn/a.png", "https://cdn/b.png", "https://cdn/c.css"]


def test_a_tenant_on_the_base_theme_links_only_stylesheets_that_exist(client, make_tenant):
    tenant = make_tenant(theme="base")
    parts = parse(client.get(f"/t/{tenant.slug}/").get_data(as_text=True))
    assert f"/themes/{tenant.theme}/theme.css" in [url.split("?")[0] for url in parts.stylesheets]
    for url in [*parts.stylesheets, *parts.scripts]:
        with client.get(url) as response:
            assert response.status_code == 200, url
