"""Paid placements on the search page and in the search API: a block of their own labelled 广告, on the first page,
whatever the sort (credit included), and never part of the ranked results (E-Commerce Law Art. 40; spec PC-11, CE-6)."""

from __future__ import annotations

import base64
import html
import re

from tests.search import test_placements
from tests.search.test_placements import sell
from tests.storefront.test_search_pages import index_now

street = test_placements.street  # the fixture


def _ad_block(page: str) -> str:
    found = re.search(r'<section class="search-ads".*?</section>', page, re.S)
    return found.group(0) if found else ""


def test_the_page_shows_the_placed_product_apart_and_labelled_whatever_the_sort(app_ctx, client, street):
    sell(street, street["pears"], keywords="苹果")
    index_now()
    for sort in ("", "&sort=credit", "&sort=price_asc", "&sort=sales"):
        page = html.unescape(client.get(f"/t/street-a/search?q=苹果{sort}").get_data(as_text=True))
        block = _ad_block(page)
        assert "砀山梨" in block and "广告" in block and 'class="ad-label"' in block, sort
        # The pear is no apple: the ranked results do not gain it because it paid.
        assert "砀山梨" not in page.replace(block, "") and "红富士" in page.replace(block, ""), sort
    assert _ad_block(html.unescape(client.get("/t/street-a/search?q=毛尖").get_data(as_text=True))) == ""


def test_the_api_lists_ads_apart_with_is_ad(app_ctx, client, street):
    sell(street, street["pears"], keywords="苹果")
    index_now()
    for sort in ("relevance", "credit"):
        body = client.get(f"/api/v1/tenants/street-a/search?q=苹果&sort={sort}").get_json()
        assert [(ad["title"], ad["is_ad"]) for ad in body["ads"]] == [("砀山梨", True)]
        assert [(item["title"], item["is_ad"]) for item in body["items"]] == [("红富士苹果", False)]
    second = base64.urlsafe_b64encode(b'{"o":"search:relevance","k":[1]}').decode().rstrip("=")
    assert client.get(f"/api/v1/tenants/street-a/search?q=苹果&cursor={second}").get_json()["ads"] == []
