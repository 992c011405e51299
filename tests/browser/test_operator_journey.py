"""Journey 3: the platform's operator, at a desktop, launches a new flower market from the market template; a
florist applies on her phone to open a stall there; the operator approves her, places her stall by clicking a
free stall on the drawn floor plan, and opens the market's conformance and statistics pages.

Two browser contexts: the operator's desktop and the florist's phone. Selectors go by what a person reads
(labels, button and link text, headings); a stall on the plan by its number.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PHONE, open_journey, sign_in

pytestmark = pytest.mark.browser

JOURNEY = "operator"
ADMIN = ("admin@shangdu.example", "admin-demo-2026")  # 平台管理员 (demo.toml)
FLORIST = ("13903719004", "resident-demo-2026")  # 赵子涵, a resident who wants a stall
MARKET = "郑东花卉市场"
SLUG = "zhengdong-flowers"
STALL = "A1-005"


def test_an_operator_launches_a_market_admits_a_merchant_and_places_her_stall_on_the_floor_plan(
        desktop_journey, chromium, live_demo):
    from playwright.sync_api import expect

    journey, page = desktop_journey, desktop_journey.page
    florist_context, florist = open_journey(chromium, live_demo, JOURNEY, PHONE)
    try:
        # Launch: the market template brings theme, modules and a hall of numbered stalls.
        journey.goto("/operator/")
        sign_in(page, ADMIN)
        page.get_by_role("link", name="新建商业街或市场").click()
        page.get_by_role("link", name="专业市场", exact=True).click()
        page.get_by_label("网址名（slug）").fill(SLUG)
        page.get_by_label("名称（中文）").fill(MARKET)
        page.get_by_label("名称（英文）").fill("Zhengdong Flower Market")
        page.get_by_label("区县（中文）").fill("金水区")
        page.get_by_label("区县（英文）").fill("Jinshui District")
        page.get_by_label("地址（中文）").fill("郑州市金水区花园路 88 号")
        page.get_by_label("运营机构名称").fill("郑州郑东花卉市场管理有限公司")
        page.get_by_label("运营机构统一社会信用代码").fill("91110108551385082Q")
        journey.shot("01-launch-form")
        page.get_by_role("button", name="创建（筹备中）").click()
        expect(page.get_by_role("heading", name=MARKET, level=1)).to_be_visible()
        expect(page.get_by_text(f"已创建 {MARKET}（筹备中）")).to_be_visible()
        expect(page.get_by_text("还没有营业中的店铺：至少要有一家店铺才能上线。")).to_be_visible()
        journey.shot("02-launched")

        # The florist applies from her phone while the market is still being set up.
        florist.goto(f"/t/{SLUG}/join")
        phone = florist.page
        sign_in(phone, FLORIST)
        expect(phone.get_by_role("heading", name="商户入驻", level=1)).to_be_visible()
        phone.get_by_label("经营者类型").select_option(label="个体工商户")
        phone.get_by_label("经营者名称").fill("郑州市金水区晓梅鲜花店")
        phone.get_by_label("统一社会信用代码").fill("92410103MA9DEM001K")
        phone.get_by_label("联系人").fill("赵子涵")
        phone.get_by_label("联系电话").fill(FLORIST[0])
        phone.get_by_label("店铺名称（中文）").fill("晓梅鲜花")
        phone.get_by_label("店铺网址名").fill("xiaomei-flowers")
        phone.get_by_label("希望的位置").fill(STALL)
        florist.shot("03-join-form")
        phone.get_by_role("button", name="提交申请").tap()
        expect(phone.get_by_text("入驻申请已提交，请等待运营方审核。")).to_be_visible()
        florist.shot("04-applied")

        # The operator approves her: the shop opens, owned by her.
        page.reload()
        page.get_by_role("link", name="入驻申请").click()
        expect(page.get_by_role("heading", name="入驻申请", level=1)).to_be_visible()
        page.get_by_role("link", name=re.compile("晓梅鲜花")).first.click()
        expect(page.locator("main")).to_contain_text("郑州市金水区晓梅鲜花店")
        expect(page.locator("main")).to_contain_text(STALL)
        journey.shot("05-application")
        page.get_by_role("button", name="批准并开通店铺").click()
        expect(page.get_by_text("已批准入驻，店铺已开通；请商户在商户后台提交经营者认证。")).to_be_visible()

        # Her stall, placed by clicking the free stall she asked for on the hall's plan.
        page.get_by_role("link", name="在地图上安排店铺位置").click()
        expect(page.get_by_role("heading", name="在平面图上选摊位")).to_be_visible()
        page.locator(f'a.fp-stall.is-vacant[data-stall="{STALL}"]').click()
        expect(page.get_by_label("摊位号")).to_have_value(STALL)
        expect(page.get_by_label("区域")).to_have_value("A1")
        journey.shot("06-stall-chosen")
        page.get_by_role("button", name="保存").click()
        expect(page.get_by_text("店铺位置已保存。")).to_be_visible()
        expect(page.locator("main")).to_contain_text(STALL)

        # The market's own floor plan (the operator previews it before going live) shows her there.
        journey.goto(f"/t/{SLUG}/")
        stall = page.locator(f'a.fp-stall.is-occupied[data-stall="{STALL}"]')
        expect(stall).to_have_count(1)
        expect(page.locator(".floor-plan .fp-stall.is-vacant")).to_have_count(23)
        journey.shot("07-floor-plan")

        # She is the shop's owner now: her phone shows the approval and the way into the merchant console.
        florist.goto(f"/t/{SLUG}/join")
        expect(phone.get_by_text("已批准，店铺已开通。", exact=False)).to_be_visible()
        phone.get_by_role("link", name="进入商户后台").tap()
        expect(phone.get_by_role("heading", name="晓梅鲜花", level=1)).to_be_visible()
        florist.shot("08-merchant-console")

        # Conformance and statistics of the new market.
        journey.goto(f"/operator/{SLUG}/")
        page.get_by_role("link", name="规范自检").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("规范")
        page.get_by_role("button", name="立即检查").click()
        expect(page.locator("main")).not_to_contain_text("尚未检查过")
        journey.shot("09-conformance")
        journey.goto(f"/operator/{SLUG}/")
        page.get_by_role("link", name="统计报表").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("统计")
        journey.shot("10-statistics")

        assert journey.outside_requests == [] and florist.outside_requests == [], (
            f"requests left 127.0.0.1: {journey.outside_requests + florist.outside_requests}")
    finally:
        florist_context.close()
