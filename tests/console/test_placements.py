"""The operator's placements page: selling a placement through the form, ending one, and who may do either."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from marketplace.catalog.admin import tenant_today
from marketplace.extensions import db
from marketplace.search import placements
from marketplace.search.placements import Placement, PlacementEvent
from marketplace.tenancy.context import tenant_scope
from tests.console.conftest import database_rows


@pytest.fixture
def goods(world, make_category, make_product):
    fruit = make_category(world.a, slug="fruit", name_zh="水果")
    apples = make_product(world.x, category=fruit, title="红富士苹果")
    cloth = make_product(world.z, title="纯棉布料")
    return {"fruit": fruit, "apples": apples, "cloth": cloth}


def url(world, tenant="a", tail=""):
    return f"/operator/{world.slugs[tenant]}/placements{tail}"


def form(world, goods, **changes) -> dict:
    first = tenant_today(world.a)
    return {"product_id": str(goods["apples"].id), "keywords": "苹果，红富士", "category_id": "",
            "first_day": first.isoformat(), "last_day": (first + timedelta(days=13)).isoformat(), "fee": "1,200.50",
            **changes}


def section(html: str, anchor: str) -> str:
    found = re.search(rf'<section class="panel" id="{anchor}">.*?</section>', html, re.S)
    assert found, f"no {anchor} section"
    return unescape(re.sub(r"\s+", " ", found.group()))


def sold(world, goods, **changes) -> Placement:
    first = tenant_today(world.a)
    values = {"product_id": goods["apples"].id, "keywords": "苹果", "category_id": None, "first_day": first,
              "last_day": first + timedelta(days=6), "fee": 5000, "actor_id": None, **changes}
    with tenant_scope(world.a):
        placement = placements.create(world.a, **values)
        db.session.commit()
    return placement


# -- selling ----------------------------------------------------------------------------------------------------

def test_the_operator_sells_a_placement_through_the_form(world, goods, as_role):
    operator = as_role("operator")
    page = operator.get(url(world))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'value="{tenant_today(world.a).isoformat()}"' in html  # starts today unless changed
    assert "目前没有投放中的推广。" in html

    response = operator.submit(url(world), form(world, goods, category_id=str(goods["fruit"].id)))
    assert response.status_code == 303 and response.headers["Location"].endswith(url(world))

    html = operator.get(url(world)).get_data(as_text=True)
    assert "已创建推广：红富士苹果。" in html
    running = section(html, "running")
    first = tenant_today(world.a)
    for shown in ("红富士苹果", f"#{goods['apples'].id}", "鲜果坊", "苹果、红富士", "水果",
                  f"{first.isoformat()} 至 {(first + timedelta(days=13)).isoformat()}", "¥1,200.50", "投放中",
                  "立即结束"):
        assert shown in running, shown
    with tenant_scope(world.a):
        placement = db.session.scalar(select(Placement))
        assert placement.fee == 120050 and placement.created_by_id == world.users["operator"].id
        assert db.session.scalar(select(PlacementEvent)).action == "created"


def test_the_product_may_be_named_by_its_page_address(world, goods, as_role):
    address = f"https://shangdu.test/t/{world.a.slug}/p/{goods['apples'].id}-hong-fu-shi"
    response = as_role("operator").submit(url(world), form(world, goods, product_id=address))
    assert response.status_code == 303
    with tenant_scope(world.a):
        assert db.session.scalar(select(Placement.product_id)) == goods["apples"].id


def test_a_placement_starting_later_is_listed_as_upcoming(world, goods, as_role):
    later = tenant_today(world.a) + timedelta(days=3)
    sold(world, goods, first_day=later, last_day=later)
    html = as_role("operator").get(url(world)).get_data(as_text=True)
    assert "红富士苹果" in section(html, "upcoming") and "未开始" in section(html, "upcoming")
    assert "红富士苹果" not in section(html, "running")


@pytest.mark.parametrize(("changes", "message"), [
    ({"product_id": ""}, "请填写要推广的商品编号。"),
    ({"product_id": "苹果"}, "请填写商品编号（数字），或粘贴商品页的地址。"),
    ({"product_id": "99999999999999999999"}, "请填写商品编号（数字），或粘贴商品页的地址。"),
    ({"product_id": "999999999"}, "本市场没有编号为 999999999 的商品。"),
    ({"keywords": ""}, "请填写至少一个关键词，或选择一个分类。"),
    ({"keywords": "", "category_id": "abc"}, "请填写至少一个关键词，或选择一个分类。"),
    ({"keywords": "", "category_id": "²"}, "请填写至少一个关键词，或选择一个分类。"),
    ({"keywords": "", "category_id": "99999999999999999999"}, "请填写至少一个关键词，或选择一个分类。"),
    ({"category_id": "999999999"}, "请选择本市场的商品分类。"),
    ({"keywords": "苹" * 21}, "每个关键词最多 20 个字。"),
    ({"keywords": "苹果\x00"}, "含有无法识别的字符"),
    ({"first_day": ""}, "请填写开始日期。"),
    ({"last_day": "2026-13-40"}, "不是有效的日期值"),
    ({"last_day": "2000-01-01"}, "结束日期不能早于今天。"),
    ({"first_day": "9999-12-31", "last_day": "9999-12-31"}, "开始日期最多在一年之后。"),
    ({"fee": ""}, "请填写推广费用。"),
    ({"fee": "-5"}, "请填写正确的金额，例如 12.50。"),
    ({"fee": "12.345"}, "请填写正确的金额，例如 12.50。"),
    ({"fee": "20000000"}, "推广费用应在 0 到 1000 万元之间。"),
], ids=lambda v: repr(v)[:40] if isinstance(v, dict) else None)
def test_bad_input_is_a_message_on_the_form(world, goods, as_role, changes, message):
    operator = as_role("operator")
    token = operator.csrf_token(url(world))
    before = database_rows()
    response = operator.post(url(world), data={"csrf_token": token, **form(world, goods, **changes)})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400, html[:500]
    assert 'role="alert"' in html and message in html
    assert database_rows() == before


def test_another_tenants_product_cannot_be_placed(world, goods, as_role):
    response = as_role("admin").submit(url(world), form(world, goods, product_id=str(goods["cloth"].id)))
    assert response.status_code == 400
    assert f"本市场没有编号为 {goods['cloth'].id} 的商品。" in response.get_data(as_text=True)


def test_an_unapproved_merchants_goods_cannot_be_placed(world, goods, as_role):
    from marketplace.trust import verification

    with tenant_scope(world.a):
        verification.approval_for(world.x.merchant).status = verification.ApprovalStatus.expired
        db.session.commit()
    response = as_role("operator").submit(url(world), form(world, goods))
    assert response.status_code == 400
    assert "这件商品的商户未通过平台审核（或审核已过期），不能推广。" in response.get_data(as_text=True)


# -- ending early -----------------------------------------------------------------------------------------------

def test_end_now_moves_it_to_the_ended_list(world, goods, as_role):
    placement = sold(world, goods)
    operator = as_role("operator")
    response = operator.submit(url(world, tail=f"/{placement.id}/end"), {}, page_url=url(world))
    assert response.status_code == 303
    html = operator.get(url(world)).get_data(as_text=True)
    assert "已结束推广：红富士苹果。它不再出现在搜索页。" in html
    assert "红富士苹果" in section(html, "ended") and "已提前结束" in section(html, "ended")
    assert "红富士苹果" not in section(html, "running")
    with tenant_scope(world.a):
        assert ads_titles(world) == []
        assert [e.action for e in db.session.scalars(select(PlacementEvent).order_by(PlacementEvent.id))] == [
            "created", "ended"]

    again = operator.submit(url(world, tail=f"/{placement.id}/end"), {}, page_url=url(world))
    assert again.status_code == 303
    assert "这条推广已经结束。" in operator.get(url(world)).get_data(as_text=True)


def ads_titles(world) -> list[str]:
    return [p.title for p in placements.ads_for(world.a, "苹果", None)]


def test_a_placement_of_one_tenant_cannot_be_ended_from_another(world, goods, as_role):
    placement = sold(world, goods)
    admin = as_role("admin")
    response = admin.submit(url(world, "b", f"/{placement.id}/end"), {}, page_url=url(world, "b"))
    assert response.status_code == 404
    with tenant_scope(world.a):
        assert ads_titles(world) == ["红富士苹果"]
    assert admin.submit(url(world, "a", "/99999999999/end"), {}, page_url=url(world)).status_code == 404


# -- who may ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "tenant", "expected"), [
    ("resident", "a", 404), ("owner", "a", 404), ("staff", "a", 404), ("owner_z", "b", 404),
    ("operator", "b", 404), ("operator", "a", 200), ("admin", "b", 200),
])
def test_only_the_tenants_operator_may_open_the_page(world, goods, as_role, role, tenant, expected):
    sold(world, goods)
    response = as_role(role).get(url(world, tenant))
    assert response.status_code == expected
    assert ("红富士苹果" in response.get_data(as_text=True)) == (expected == 200 and tenant == "a")


@pytest.mark.parametrize("role", ["resident", "owner", "staff"])
def test_merchants_and_residents_can_neither_sell_nor_end(world, goods, as_role, role):
    placement = sold(world, goods)
    browser = as_role(role)
    token = browser.csrf_token("/account/")  # their own session's token: the refusal is about the role
    before = database_rows()
    assert browser.post(url(world), data={"csrf_token": token, **form(world, goods)}).status_code == 404
    assert browser.post(url(world, tail=f"/{placement.id}/end"), data={"csrf_token": token}).status_code == 404
    assert database_rows() == before


def test_signed_out_visitors_are_sent_to_log_in(world, as_role):
    response = as_role("anonymous").get(url(world))
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/login?next=")


def test_the_tenant_page_links_to_the_placements(world, as_role):
    html = as_role("operator").get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert f'href="{url(world)}"' in html
