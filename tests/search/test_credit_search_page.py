"""The search page's 销量 and 信用 sorts and its 店铺信用 filter, as a resident uses them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from marketplace.trust.credit import ShopCredit
from tests.storefront.test_search_pages import facet, html_of, index_now, search, titles_in
from tests.trust.test_reviews import place

LISTED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def street(app_ctx, make_tenant, make_shop, make_category, make_product):
    """Three fruit shops: one rated A, one rated C, one too new for a firm score. The A shop's apples were listed
    first, so only the credit sort puts them first."""
    tenant = make_tenant(slug="xinyong", name_zh="信用街")
    shops = {"good": make_shop(tenant, slug="chengxin", name_zh="诚信果园"),
             "fair": make_shop(tenant, slug="putong", name_zh="普通果铺"),
             "new": make_shop(tenant, slug="xinkai", name_zh="新开水果店")}
    with tenant_scope(tenant):
        for key, (score, level) in {"good": (95, "A"), "fair": (70, "C"), "new": (88, "new")}.items():
            db.session.add(ShopCredit(tenant_id=tenant.id, shop_id=shops[key].id, score=score, level=level,
                                      computed_at=LISTED))
        db.session.commit()
    fruit = make_category(tenant, slug="fruit", name_zh="水果", product_type="general.food")
    products = {"good": make_product(shops["good"], category=fruit, title="诚信红富士苹果", price=3990),
                "fair": make_product(shops["fair"], category=fruit, title="普通苹果", price=1990),
                "new": make_product(shops["new"], category=fruit, title="新开苹果", price=2990)}
    with tenant_scope(tenant):
        for position, key in enumerate(("good", "fair", "new")):
            products[key].published_at = LISTED + timedelta(hours=position)
        db.session.commit()
    index_now()
    return tenant, shops, products


def test_the_credit_sort_puts_the_a_level_shops_product_first_and_new_shops_last(client, street):
    tenant, _shops, products = street
    assert titles_in(html_of(search(client, tenant, "苹果", sort="newest")))[0] == "新开苹果"
    html = html_of(search(client, tenant, "苹果", sort="credit"))
    assert titles_in(html) == ["诚信红富士苹果", "普通苹果", "新开苹果"]  # A 95, C 70, then the new shop's 88
    assert 'aria-current="true" class="current">信用' in html
    assert ">销量</a>" in html


def test_the_shop_credit_filter_lists_the_levels_and_narrows_the_results(client, street):
    tenant, *_ = street
    levels = facet(html_of(search(client, tenant, "苹果")), "credit")
    assert {label: count for label, (count, _url) in levels.items()} == {"A 优秀": 1, "C 一般": 1, "新店": 1}
    assert list(levels) == ["A 优秀", "C 一般", "新店"]  # best first, not by count
    narrowed = client.get(levels["A 优秀"][1])
    html = html_of(narrowed)
    assert titles_in(html) == ["诚信红富士苹果"]
    assert "店铺信用：A 优秀" in html  # the chip that takes it off again
    more = facet(html, "credit")
    assert more["A 优秀"][1].count("credit=") == 0  # ticking A again takes it off
    # The other levels stay on offer with their own counts, and ticking one adds it to A.
    assert {label: count for label, (count, _url) in more.items()} == {"A 优秀": 1, "C 一般": 1, "新店": 1}
    assert sorted(titles_in(html_of(client.get(more["C 一般"][1])))) == sorted(["诚信红富士苹果", "普通苹果"])
    both = html_of(search(client, tenant, "苹果", credit=["A", "new"], sort="credit"))
    assert titles_in(both) == ["诚信红富士苹果", "新开苹果"]


@pytest.mark.parametrize("credit", [["bogus"], ["a"], ["A" * 500], ["new", "nonsense"], [""]])
def test_nonsense_credit_values_are_ignored(client, street, credit):
    tenant, *_ = street
    response = search(client, tenant, "苹果", credit=credit)
    assert response.status_code == 200
    expected = 1 if "new" in credit else 3
    assert len(titles_in(html_of(response))) == expected


def test_the_sales_sort_puts_the_best_seller_first(client, street, make_user):
    tenant, _shops, products = street
    buyer = make_user("buyer@xinyong.example")
    place(tenant, buyer, {products["fair"]: 3}, "sold-fair", steps=("paid",))
    place(tenant, buyer, {products["good"]: 1}, "sold-good", steps=("paid",))
    place(tenant, buyer, {products["new"]: 9}, "unpaid-new", steps=())  # not paid for: not sold
    index_now()
    html = html_of(search(client, tenant, "苹果", sort="sales"))
    assert titles_in(html) == ["普通苹果", "诚信红富士苹果", "新开苹果"]
    assert 'aria-current="true" class="current">销量' in html
