"""The operator's search log: what residents of the tenant searched for, and what they could not find."""

from __future__ import annotations

import re
from html import unescape

import pytest

from marketplace.search import indexing


def section(html: str, anchor: str) -> str:
    found = re.search(rf'<section class="panel" id="{anchor}">.*?</section>', html, re.S)
    assert found, f"no {anchor} section"
    return found.group()


def rows(html: str) -> list[tuple[str, int, int]]:
    return [(unescape(q), int(a), int(b)) for q, a, b in
            re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td></tr>", html)]


@pytest.fixture
def searched(world, make_client, make_category, make_product):
    """Residents of tenant A searched: apples three times, durian twice (nothing), a phone number once."""
    make_product(world.x, category=make_category(world.a), title="红富士苹果")
    indexing.run_pending()
    resident = make_client()
    for text in ("苹果", "苹果", " 蘋果 ", "榴莲", "榴莲", "13903719001", "找 zhang@example.com"):
        assert resident.get(f"/t/{world.a.slug}/search", query_string={"q": text}).status_code == 200
    resident.get(f"/t/{world.a.slug}/search", query_string={"q": "苹果", "page": "2"})  # a next page: not again
    resident.get(f"/t/{world.b.slug}/search", query_string={"q": "布料"})  # another tenant's log


def test_the_operator_sees_top_and_zero_result_queries(world, as_role, searched):
    response = as_role("operator").get(f"/operator/{world.a.slug}/search")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert rows(section(html, "top-queries")) == [("苹果", 3, 0), ("榴莲", 2, 2)]
    assert rows(section(html, "zero-results")) == [("榴莲", 2, 2)]
    assert "最近 30 天" in html


def test_queries_that_look_like_personal_data_are_never_logged(world, as_role, searched):
    html = as_role("operator").get(f"/operator/{world.a.slug}/search").get_data(as_text=True)
    assert "13903719001" not in html and "example.com" not in html
    assert "布料" not in html  # tenant B's residents' searches stay in tenant B


def test_an_empty_log_says_so(world, as_role):
    html = as_role("admin").get(f"/operator/{world.b.slug}/search").get_data(as_text=True)
    assert "最近还没有人搜索。" in html and "最近没有找不到结果的搜索。" in html


def test_the_tenant_page_links_to_the_log(world, as_role):
    html = as_role("operator").get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert f'href="/operator/{world.a.slug}/search"' in html


@pytest.mark.parametrize(("role", "tenant", "expected"), [
    ("resident", "a", 404), ("owner", "a", 404), ("staff", "a", 404), ("operator", "b", 404),
    ("operator", "a", 200), ("admin", "b", 200),
])
def test_only_the_tenants_operator_may_read_it(world, as_role, searched, role, tenant, expected):
    response = as_role(role).get(f"/operator/{world.slugs[tenant]}/search")
    assert response.status_code == expected
    assert ("榴莲" in response.get_data(as_text=True)) == (expected == 200 and tenant == "a")


def test_signed_out_visitors_are_sent_to_log_in(world, as_role):
    response = as_role("anonymous").get(f"/operator/{world.a.slug}/search")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/login?next=")
