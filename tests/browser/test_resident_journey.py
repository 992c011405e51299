"""Journey 1: a resident on a phone walks into Dehua Street, finds apples by pinyin, buys from two shops and
collects at the street's shared counter, paying there.

Selectors go by what a person reads (link text, labels, headings), not by layout: the street map and the
market floor plans change shape, their shops keep their names.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

JOURNEY = "resident"
RESIDENT = ("wang.fang@shangdu.example", "resident-demo-2026")  # 王芳, from marketplace/demo/demo.toml
COUNTER = "共享自提点"


def test_a_resident_buys_from_two_shops_on_a_phone_and_collects_at_the_shared_counter(phone_journey):
    from playwright.sync_api import expect

    journey, page = phone_journey, phone_journey.page

    # The portal: the city's streets and markets.
    journey.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("网上商都")
    journey.shot("01-portal")

    # Enter the street.
    page.get_by_role("link", name="德化步行街").first.tap()
    expect(page).to_have_url(re.compile(r"/t/dehua-street/$"))
    expect(page.get_by_role("heading", name="德化步行街", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="鲜果坊").first).to_be_visible()
    journey.shot("02-street")

    # Tap a shop on the street.
    page.get_by_role("link", name="鲜果坊").first.tap()
    expect(page.get_by_role("heading", name="鲜果坊", level=1)).to_be_visible()
    expect(page.get_by_text("德化步行街 · 36 号")).to_be_visible()
    journey.shot("03-shop")

    # Search in pinyin: "pingguo" finds the shop's apples (苹果).
    search = page.get_by_label("搜索商品")
    search.fill("pingguo")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=pingguo"))
    apples = page.get_by_role("link", name=re.compile("陕西洛川富士苹果"))
    expect(apples).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("灵宝高山红富士苹果"))).to_be_visible()
    journey.shot("04-search-pinyin")

    # First shop: two jin of apples.
    apples.first.tap()
    expect(page.get_by_role("heading", name="陕西洛川富士苹果", level=1)).to_be_visible()
    page.get_by_label("数量").fill("2")
    page.get_by_role("button", name="加入购物车").tap()
    expect(page.get_by_text("已加入购物车：陕西洛川富士苹果 × 2。")).to_be_visible()
    journey.shot("05-apples-in-cart")

    # Second shop: back to the street, the noodle house.
    page.get_by_role("link", name="德化步行街").first.tap()
    page.get_by_role("link", name="德福烩面馆").first.tap()
    expect(page.get_by_role("heading", name="德福烩面馆", level=1)).to_be_visible()
    page.get_by_role("link", name=re.compile("手扯烩面片")).first.tap()
    expect(page.get_by_role("heading", name=re.compile("手扯烩面片"), level=1)).to_be_visible()
    page.get_by_role("button", name="加入购物车").tap()
    expect(page.get_by_text(re.compile(r"已加入购物车：手扯烩面片.* × 1。"))).to_be_visible()
    journey.shot("06-noodles-in-cart")

    # The cart holds both shops.
    page.get_by_role("link", name="购物车").first.tap()
    expect(page.get_by_role("heading", name="购物车", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="鲜果坊")).to_be_visible()
    expect(page.get_by_role("heading", name="德福烩面馆")).to_be_visible()
    journey.shot("07-cart")

    # Checkout asks her to sign in first, then brings her back.
    page.get_by_role("link", name="去结算").tap()
    expect(page.get_by_role("heading", name="登录", level=1)).to_be_visible()
    page.get_by_label("邮箱或手机号").fill(RESIDENT[0])
    page.get_by_label("密码", exact=True).fill(RESIDENT[1])
    journey.shot("08-sign-in")
    page.get_by_role("button", name="登录", exact=True).tap()
    expect(page.get_by_role("heading", name="确认订单", level=1)).to_be_visible()

    # Both shops: the street's shared pickup counter. Payment: offline, at pickup.
    for shop in ("鲜果坊", "德福烩面馆"):
        card = page.locator("article").filter(has=page.get_by_role("heading", name=shop))
        card.get_by_role("radio", name=re.compile(COUNTER)).check()
        expect(card.get_by_role("radio", name=re.compile(COUNTER))).to_be_checked()
    offline = page.get_by_role("radio", name=re.compile("到店付款"))
    offline.check()
    expect(offline).to_be_checked()
    journey.shot("09-checkout")
    page.get_by_role("button", name="提交订单").tap()

    # She sees her order: one part per shop, each to collect at the counter with an eight-digit code and its QR.
    expect(page.get_by_role("heading", name="订单已提交", level=1)).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text("线下付款")
    for shop, goods in (("鲜果坊", "陕西洛川富士苹果"), ("德福烩面馆", "手扯烩面片")):
        part = main.locator("article").filter(has=page.get_by_role("heading", name=shop, exact=True))
        expect(part.first).to_contain_text(goods)
        expect(part.first).to_contain_text("共享自提点")
        expect(part.first).to_contain_text(re.compile(r"取货码\s*\d{4} \d{4}"))
        expect(part.first.get_by_role("figure", name="取货码二维码")).to_be_visible()
    codes = main.get_by_text(re.compile(r"^\d{4} \d{4}$")).all_inner_texts()
    assert len(set(codes)) == 2, f"expected two different pickup codes, saw {codes}"
    journey.shot("10-order-and-pickup-codes")

    assert journey.outside_requests == [], f"requests left 127.0.0.1: {journey.outside_requests}"


def test_browsing_and_buying_work_with_javascript_turned_off(chromium, live_demo):
    """JavaScript only enhances: the street map's links, the cart, sign-in and checkout are plain links and forms."""
    from playwright.sync_api import expect

    from tests.browser.conftest import DESKTOP, open_journey

    context, journey = open_journey(chromium, live_demo, "no-javascript",
                                    {**DESKTOP, "java_script_enabled": False})
    page = journey.page
    try:
        journey.goto("/")
        page.get_by_role("link", name="德化步行街").first.click()
        page.locator('svg a[data-shop="chenxiang-hulatang"]').click()  # a frontage on the drawn street
        expect(page.get_by_role("heading", name="晨香胡辣汤", level=1)).to_be_visible()
        page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=re.compile("胡辣汤"))) \
            .get_by_role("link").first.click()  # the first product card
        expect(page.get_by_role("heading", level=1)).to_contain_text("胡辣汤")
        expect(page.get_by_role("heading", name="晨香胡辣汤", level=1)).to_have_count(0)
        page.get_by_role("button", name="加入购物车").click()
        expect(page.get_by_text(re.compile(r"已加入购物车："))).to_be_visible()
        page.get_by_role("link", name="购物车").first.click()
        page.get_by_role("link", name="去结算").click()
        page.get_by_label("邮箱或手机号").fill(RESIDENT[0])
        page.get_by_label("密码", exact=True).fill(RESIDENT[1])
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("heading", name="确认订单", level=1)).to_be_visible()
        card = page.locator("article").filter(has=page.get_by_role("heading", name="晨香胡辣汤"))
        card.get_by_role("radio", name=re.compile("到店自提")).first.check()
        page.get_by_role("radio", name=re.compile("到店付款")).check()
        page.get_by_role("button", name="提交订单").click()
        expect(page.get_by_role("heading", name="订单已提交", level=1)).to_be_visible()
        expect(page.locator("main")).to_contain_text(re.compile(r"取货码\s*\d{4} \d{4}"))
        journey.shot("01-ordered-without-javascript")
        assert journey.outside_requests == [], f"requests left 127.0.0.1: {journey.outside_requests}"
    finally:
        context.close()
