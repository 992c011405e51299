"""Journey 4: a wholesale buyer at a desktop, in the agri-inputs market, narrows fertilisers down by nutrient,
meets the minimum order (the cart says what is missing first) and asks a shop that takes quotes for a price.

Selectors go by what a person reads (link text, labels, headings, the facet group's name), not by layout.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

JOURNEY = "wholesale"
BUYER = ("13903719001", "resident-demo-2026")  # 张晓燕, who runs a village farm-supply shop (demo.toml)
MARKET = "中原农资批发市场"


def facet(page, group: str, value: str):
    """The link of one value in a named facet group (“氮（N）” → “2.5%”), whatever the page's layout."""
    return page.get_by_role("region", name=group).get_by_role("link", name=re.compile(rf"^{re.escape(value)}(\s|$)"))


def search(page, text: str):
    box = page.get_by_label("搜索商品")
    box.fill(text)
    box.press("Enter")


def test_a_wholesale_buyer_finds_fertiliser_by_nutrient_meets_the_minimum_and_asks_for_a_quote(desktop_journey):
    from playwright.sync_api import expect

    journey, page = desktop_journey, desktop_journey.page

    # Sign in from the portal, then into the market.
    journey.goto("/")
    page.get_by_role("link", name="登录").first.click()
    page.get_by_label("邮箱或手机号").fill(BUYER[0])
    page.get_by_label("密码", exact=True).fill(BUYER[1])
    page.get_by_role("button", name="登录", exact=True).click()
    page.get_by_role("link", name=MARKET).first.click()
    expect(page.get_by_role("heading", name=MARKET, level=1)).to_be_visible()
    journey.shot("01-market")

    # Organic fertiliser, narrowed to 2.5 % nitrogen: one product left.
    search(page, "有机肥")
    expect(page.get_by_role("heading", name="搜索“有机肥”", level=1)).to_be_visible()
    expect(page.get_by_role("region", name="氮（N）")).to_be_visible()
    journey.shot("02-search-with-nutrient-facets")
    facet(page, "氮（N）", "2.5%").click()
    expect(page).to_have_url(re.compile(r"a\.n_pct=2\.5"))
    expect(page.get_by_text("找到 1 件商品")).to_be_visible()
    found = page.locator("main").get_by_role("link", name=re.compile("发酵鸡粪有机肥"))
    expect(found).to_have_count(1)
    expect(page.locator("main").get_by_role("link", name=re.compile("腐熟羊粪有机肥"))).to_have_count(0)
    journey.shot("03-nitrogen-2.5")

    # The product page shows its wholesale tiers and its minimum order.
    found.click()
    expect(page.get_by_role("heading", name="发酵鸡粪有机肥", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("10 袋起订")
    expect(page.locator("main")).to_contain_text("有机质")
    journey.shot("04-product")

    # Five bags: in the cart, but the cart says the minimum is not met and offers no checkout.
    page.get_by_label("数量").fill("5")
    page.get_by_role("button", name="加入购物车").click()
    expect(page.get_by_text("已加入购物车：发酵鸡粪有机肥 × 5。")).to_be_visible()
    page.get_by_role("link", name="购物车").first.click()
    expect(page.get_by_text("“发酵鸡粪有机肥”10 件起订。")).to_be_visible()
    expect(page.get_by_text("请先处理上面标出的问题，再去结算。")).to_be_visible()
    expect(page.get_by_role("link", name="去结算")).to_have_count(0)
    journey.shot("05-under-minimum")

    # Twenty bags meet the product's minimum and the stall's mixed-batch minimum, at the 10–49 bag price.
    line = page.locator("main li").filter(has_text="发酵鸡粪有机肥")
    line.get_by_label("数量").fill("20")
    line.get_by_role("button", name="更新").click()
    expect(page.get_by_text("数量已更新。")).to_be_visible()
    expect(page.get_by_text("“发酵鸡粪有机肥”10 件起订。")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("¥600.00")
    expect(page.get_by_role("link", name="去结算")).to_be_visible()
    journey.shot("06-minimum-met")

    # A truckload of compound fertiliser is worth a quote: 15 % nitrogen, from a stall that takes quotes.
    search(page, "复合肥")
    facet(page, "氮（N）", "15%").click()
    expect(page).to_have_url(re.compile(r"a\.n_pct=15(&|$)"))
    page.locator("main").get_by_role("link", name=re.compile("硫酸钾型复合肥 15-15-15")).first.click()
    expect(page.get_by_role("heading", name="硫酸钾型复合肥 15-15-15", level=1)).to_be_visible()
    journey.shot("07-quotable-product")
    page.get_by_role("link", name="询价").click()
    expect(page.get_by_role("heading", name="向商家询价", level=1)).to_be_visible()
    page.get_by_label("规格").select_option(label="50kg/袋 · ¥195.00")
    page.get_by_label("数量").fill("600")
    page.get_by_label("期望单价（元，可不填）").fill("178.00")
    page.get_by_label("留言").fill("整车 600 袋，下周送到中牟县城关镇，需要增值税普通发票。")
    journey.shot("08-quote-request")
    page.get_by_role("button", name="发送询价").click()

    # Her quotes: the request is there, waiting for the stall's price.
    expect(page.get_by_role("heading", name="我的询价", level=1)).to_be_visible()
    expect(page.get_by_text("询价已发给穗丰复合肥批发，商家报价后会显示在“我的询价”里。")).to_be_visible()
    request = page.locator("main article").filter(has_text="硫酸钾型复合肥 15-15-15")
    expect(request).to_contain_text("穗丰复合肥批发")
    expect(request).to_contain_text("600 袋")
    expect(request).to_contain_text("¥178.00/袋")
    expect(request).to_contain_text("待报价")
    journey.shot("09-my-quotes")

    assert journey.outside_requests == [], f"requests left 127.0.0.1: {journey.outside_requests}"
