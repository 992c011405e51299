"""Paid placements: which placed products a search shows in its 广告 block, and what an operator may sell.

Residents see only goods they could buy now, from approved merchants, while the placement runs; each tenant's
placements stay in that tenant. Times are relative to the real clock (approvals run six months from it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.search import placements
from marketplace.search.placements import Placement, PlacementEvent, PlacementStatus
from marketplace.shops.models import ShopStatus
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import verification


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product, make_user):
    """Tenant A (Zhengzhou time) with fruit under 食品 › 水果, tea in its own category; tenant B with cloth."""
    a = make_tenant(slug="street-a", timezone="Asia/Shanghai")
    b = make_tenant(slug="market-b", kind="market")
    food = make_category(a, slug="food", name_zh="食品")
    fruit = make_category(a, slug="fruit", name_zh="水果", parent_id=food.id)
    tea_category = make_category(a, slug="tea", name_zh="茶叶")
    fruit_shop = make_shop(a, slug="fruit-shop", name_zh="鲜果坊")
    tea_shop = make_shop(a, slug="tea-shop", name_zh="老茶馆")
    cloth_shop = make_shop(b, slug="cloth-shop", name_zh="布行")
    operator = make_user("placements-operator@example.com")
    return {
        "a": a, "b": b, "food": food, "fruit": fruit, "tea_category": tea_category, "operator": operator, "fruit_shop": fruit_shop,
        "apples": make_product(fruit_shop, category=fruit, title="红富士苹果"),
        "pears": make_product(fruit_shop, category=fruit, title="砀山梨"),
        "tea": make_product(tea_shop, category=tea_category, title="信阳毛尖"),
        "cloth": make_product(cloth_shop, title="纯棉布料"),
    }


def today(tenant):
    from marketplace.catalog.admin import tenant_today

    return tenant_today(tenant)


def sell(street, product, *, keywords="", category=None, days=(0, 29), fee=10000, tenant=None, now=None):
    """Create a placement through the service, from today + days[0] to today + days[1], and commit."""
    tenant = tenant or street["a"]
    first = today(tenant)
    with tenant_scope(tenant):
        placement = placements.create(tenant, product_id=product.id, keywords=keywords,
                                      category_id=category.id if category else None,
                                      first_day=first + timedelta(days=days[0]), last_day=first + timedelta(days=days[1]),
                                      fee=fee, actor_id=street["operator"].id, now=now)
        db.session.commit()
    return placement


def ads(street, text="", category=None, *, tenant=None, **kwargs) -> list[str]:
    tenant = tenant or street["a"]
    with tenant_scope(tenant):
        return [p.title for p in placements.ads_for(tenant, text, category.id if category else None, **kwargs)]


# -- what is stored ---------------------------------------------------------------------------------------------

def test_keywords_are_trimmed_folded_and_given_once(street):
    placement = sell(street, street["apples"], keywords=" 苹果，蘋果 Apple、apple ;  红富士  ")
    assert placement.keywords == ["苹果", "apple", "红富士"]
    assert placement.shop_id == street["fruit_shop"].id and placement.fee == 10000


def test_the_days_are_whole_days_of_the_tenants_calendar(street):
    placement = sell(street, street["apples"], keywords="苹果", days=(1, 3))
    first = today(street["a"]) + timedelta(days=1)
    # Midnight in Zhengzhou is 16:00 UTC the day before; the last day is included.
    assert placement.starts_at == datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(hours=8)
    assert placement.ends_at - placement.starts_at == timedelta(days=3)
    assert placements.local_days(street["a"], placement) == (first, first + timedelta(days=2))


# -- matching ---------------------------------------------------------------------------------------------------

def test_a_keyword_in_the_query_shows_the_placed_product(street):
    sell(street, street["apples"], keywords="苹果, apple")
    assert ads(street, "红富士苹果 5斤") == ["红富士苹果"]
    assert ads(street, "ＡＰＰＬＥ") == ["红富士苹果"]  # full-width and upper case, folded like searches
    assert ads(street, "蘋果") == ["红富士苹果"]  # traditional characters too
    assert ads(street, "梨") == []
    assert ads(street, "") == []  # browsing everything is no keyword search


def test_a_category_placement_shows_on_searches_filtered_by_it_or_below(street):
    sell(street, street["pears"], category=street["food"])
    assert ads(street, "", street["food"]) == ["砀山梨"]
    assert ads(street, "水果", street["fruit"]) == ["砀山梨"]  # a sub-category of 食品
    assert ads(street, "", street["tea_category"]) == []
    assert ads(street, "梨") == []  # no keywords: an unfiltered search never shows it


def test_higher_fees_first_then_the_older_sale_and_each_product_once(street):
    sell(street, street["tea"], keywords="特价", fee=100)
    sell(street, street["apples"], keywords="特价", fee=50000)
    sell(street, street["pears"], keywords="特价", fee=50000)
    sell(street, street["apples"], keywords="特价", fee=90000, days=(0, 3))  # a second sale of the apples
    assert ads(street, "今日特价") == ["红富士苹果", "砀山梨"]  # two by default
    assert ads(street, "今日特价", limit=5) == ["红富士苹果", "砀山梨", "信阳毛尖"]
    assert ads(street, "今日特价", limit=0) == []


def test_a_placement_shows_only_while_it_runs(street):
    placement = sell(street, street["apples"], keywords="苹果", days=(1, 2))
    assert ads(street, "苹果") == []  # not started yet
    assert ads(street, "苹果", now=placement.starts_at) == ["红富士苹果"]
    assert ads(street, "苹果", now=placement.ends_at - timedelta(seconds=1)) == ["红富士苹果"]
    assert ads(street, "苹果", now=placement.ends_at) == []
    with tenant_scope(street["a"]):
        assert placement.status(placement.ends_at) == PlacementStatus.finished


def test_ending_early_takes_it_off_the_search_page_and_is_recorded(street):
    placement = sell(street, street["apples"], keywords="苹果")
    assert ads(street, "苹果") == ["红富士苹果"]
    with tenant_scope(street["a"]):
        placements.end(placement, street["operator"].id)
        db.session.commit()
        assert placement.status() == PlacementStatus.ended_early and placement.ended_by_id == street["operator"].id
        with pytest.raises(placements.PlacementError, match="已经结束"):
            placements.end(placement, street["operator"].id)
        db.session.rollback()
        events = db.session.scalars(select(PlacementEvent).order_by(PlacementEvent.id)).all()
    assert ads(street, "苹果") == []
    assert [(e.action, e.actor_id) for e in events] == [("created", street["operator"].id),
                                                        ("ended", street["operator"].id)]
    assert events[0].details["product_title"] == "红富士苹果" and events[0].details["keywords"] == ["苹果"]
    assert events[0].details["fee"] == 10000


def test_the_record_of_a_sale_cannot_be_changed(street):
    sell(street, street["apples"], keywords="苹果")
    with tenant_scope(street["a"]):
        event = db.session.scalar(select(PlacementEvent))
        event.details = {"fee": 0}
        with pytest.raises(placements.PlacementError, match="audit trail"):
            db.session.flush()
        db.session.rollback()


# -- only goods a resident could buy now -------------------------------------------------------------------------

def _sold_out(street):
    with tenant_scope(street["a"]):
        catalog.adjust_stock(street["apples"].variants[0], -street["apples"].variants[0].stock)
        db.session.commit()


def _archived(street):
    with tenant_scope(street["a"]):
        catalog.unpublish_product(street["apples"], archive=True)
        db.session.commit()


def _shop_suspended(street):
    with tenant_scope(street["a"]):
        street["fruit_shop"].status = ShopStatus.suspended
        db.session.commit()


def _approval_lapsed(street):
    """The merchant's six months ran out: its goods stay on sale, but may not be advertised."""
    approval = verification.approval_for(street["fruit_shop"].merchant)
    approval.valid_until = utcnow() - timedelta(minutes=1)
    db.session.commit()


@pytest.mark.parametrize("change", [_sold_out, _archived, _shop_suspended, _approval_lapsed],
                         ids=lambda f: f.__name__.strip("_"))
def test_goods_that_cannot_be_bought_now_are_not_advertised(street, change):
    sell(street, street["apples"], keywords="水果", fee=90000)
    sell(street, street["pears"], keywords="水果", fee=100)
    assert ads(street, "水果") == ["红富士苹果", "砀山梨"]
    change(street)
    db.session.expire_all()
    assert "红富士苹果" not in ads(street, "水果")
    if change is not _shop_suspended and change is not _approval_lapsed:  # the pears' shop is the same one
        assert ads(street, "水果") == ["砀山梨"]


def test_the_operator_list_says_why_a_running_placement_is_not_shown(street):
    sell(street, street["apples"], keywords="苹果")
    _sold_out(street)
    with tenant_scope(street["a"]):
        rows = placements.rows_for_operator(street["a"])
    [row] = rows[PlacementStatus.running]
    assert row.not_shown == "商品已售罄。"


# -- tenants ----------------------------------------------------------------------------------------------------

def test_a_tenants_placements_never_show_in_another_tenant(street):
    sell(street, street["apples"], keywords="布料 苹果")
    sell(street, street["cloth"], keywords="布料", tenant=street["b"])
    assert ads(street, "布料") == ["红富士苹果"]
    assert ads(street, "布料", tenant=street["b"]) == ["纯棉布料"]
    assert ads(street, "苹果", tenant=street["b"]) == []


def test_another_tenants_product_or_category_cannot_be_placed(street):
    with tenant_scope(street["b"]), pytest.raises(placements.PlacementInvalid) as refused:
        placements.create(street["b"], product_id=street["apples"].id, keywords="", category_id=street["fruit"].id,
                          first_day=today(street["b"]), last_day=today(street["b"]), fee=0, actor_id=None)
    assert refused.value.errors["product_id"] == f"本市场没有编号为 {street['apples'].id} 的商品。"
    assert refused.value.errors["category_id"] == "请选择本市场的商品分类。"
    with tenant_scope(street["b"]):
        assert db.session.scalars(select(Placement)).all() == []


# -- what cannot be sold ----------------------------------------------------------------------------------------

def _create(street, **changes):
    first = today(street["a"])
    values = {"product_id": street["apples"].id, "keywords": "苹果", "category_id": None, "first_day": first,
              "last_day": first + timedelta(days=6), "fee": 5000, "actor_id": None, **changes}
    with tenant_scope(street["a"]):
        try:
            placements.create(street["a"], **values)
        except placements.PlacementInvalid as refused:
            db.session.rollback()
            return refused.errors
        raise AssertionError("the placement was created")


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"product_id": None}, "product_id", "请填写要推广的商品编号。"),
    ({"product_id": 2**40}, "product_id", "本市场没有编号为"),
    ({"keywords": ""}, "keywords", "请填写至少一个关键词，或选择一个分类。"),
    ({"keywords": " ，、 "}, "keywords", "请填写至少一个关键词，或选择一个分类。"),
    ({"keywords": ",".join(f"词{n}" for n in range(11))}, "keywords", "关键词最多 10 个。"),
    ({"keywords": "苹" * 21}, "keywords", "每个关键词最多 20 个字。"),
    ({"category_id": 2**40}, "category_id", "请选择本市场的商品分类。"),
    ({"first_day": None}, "first_day", "请填写开始日期。"),
    ({"last_day": None}, "last_day", "请填写结束日期。"),
    ({"last_day": datetime(2000, 1, 1).date()}, "last_day", "结束日期不能早于今天。"),
    ({"first_day": datetime(9999, 12, 31).date(), "last_day": datetime(9999, 12, 31).date()}, "first_day",
     "开始日期最多在一年之后。"),
    ({"last_day": datetime(9999, 12, 31).date()}, "last_day", "一次推广最长 366 天。"),
    ({"fee": None}, "fee", "请填写推广费用。"),
    ({"fee": -1}, "fee", "推广费用应在 0 到 1000 万元之间。"),
    ({"fee": 10**12}, "fee", "推广费用应在 0 到 1000 万元之间。"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_is_refused_field_by_field(street, changes, field, message):
    errors = _create(street, **changes)
    assert message in errors[field]


def test_the_last_day_may_not_come_before_the_first(street):
    first = today(street["a"]) + timedelta(days=5)
    assert _create(street, first_day=first, last_day=first - timedelta(days=1)) == {
        "last_day": "结束日期不能早于开始日期。"}


def test_goods_not_on_sale_or_unapproved_merchants_cannot_be_placed(street, make_shop, make_product):
    draft = make_product(street["fruit_shop"], title="待上架的桃", publish=False)
    assert "未在售" in _create(street, product_id=draft.id)["product_id"]
    _approval_lapsed(street)
    assert "未通过平台审核" in _create(street)["product_id"]
    _shop_suspended(street)
    assert "暂停营业" in _create(street)["product_id"]
    with tenant_scope(street["a"]):
        assert db.session.scalars(select(Placement)).all() == []


def test_a_category_alone_is_enough(street):
    with tenant_scope(street["a"]):
        placement = placements.create(street["a"], product_id=street["pears"].id, keywords="",
                                      category_id=street["fruit"].id, first_day=today(street["a"]),
                                      last_day=today(street["a"]), fee=0, actor_id=None)
        assert placement.keywords == [] and db.session.get(Category, placement.category_id).slug == "fruit"


# -- what residents see -----------------------------------------------------------------------------------------

def test_the_ads_block_labels_every_card_as_an_advertisement(app, street):
    from flask import render_template

    from marketplace.core.themes import themed
    from marketplace.storefront import queries

    sell(street, street["apples"], keywords="苹果")
    with app.test_request_context("/"), tenant_scope(street["a"]):
        offers = queries.offers(placements.ads_for(street["a"], "苹果", None))
        html = render_template(themed("search/_ads.html"), ads=offers)
        nothing = render_template(themed("search/_ads.html"), ads=[])
    assert "广告 · 推广商品" in html and 'aria-labelledby="search-ads-heading"' in html
    card = re.search(r'<li class="card product-card is-ad">.*?</li>', html, re.S).group()
    assert '<span class="ad-label" aria-label="广告"' in card and ">广告</span>" in card  # in words, not colour
    assert "红富士苹果" in card and "鲜果坊" in card
    assert f'href="/t/street-a/p/{street["apples"].id}' in card
    assert nothing.strip() == ""
