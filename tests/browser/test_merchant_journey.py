"""Journey 2: the fruit shop's owner, at a desktop, lists a new product with its picture; a resident on a phone
finds it by pinyin and orders it for pickup, paying at the shop; the owner sees the order, takes the money,
gets the goods ready and hands them over against the resident's pickup code.

Two browser contexts (their own cookies): the merchant's desktop and the resident's phone. Selectors go by what
a person reads (labels, button and link text, headings).
"""

from __future__ import annotations

import io
import re

import pytest

from tests.browser.conftest import PHONE, open_journey, sign_in

pytestmark = pytest.mark.browser

JOURNEY = "merchant"
MERCHANT = ("13903710101", "merchant-demo-2026")  # 王建国, owner of 鲜果坊 on Dehua Street (demo.toml)
BUYER = ("li.mingxuan@shangdu.example", "resident-demo-2026")  # 李明轩
SHOP = "鲜果坊"
PRODUCT = "新郑红枣礼盒"


def a_photo() -> bytes:
    """A real JPEG, as a phone camera would hand over (dark red: jujubes)."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (900, 675), (150, 24, 32))
    ImageDraw.Draw(picture).ellipse((250, 140, 650, 540), fill=(190, 40, 45))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def test_a_merchant_lists_a_product_with_its_picture_then_prepares_and_hands_over_an_order(
        desktop_journey, chromium, live_demo):
    from playwright.sync_api import expect

    journey, page = desktop_journey, desktop_journey.page
    buyer_context, buyer = open_journey(chromium, live_demo, JOURNEY, PHONE)
    try:
        # The owner signs in and opens the shop's console.
        journey.goto("/merchant/")
        sign_in(page, MERCHANT)
        expect(page.get_by_role("heading", name="我的店铺", level=1)).to_be_visible()
        page.get_by_role("link", name=SHOP).click()
        expect(page.get_by_role("heading", name=SHOP, level=1)).to_be_visible()
        journey.shot("01-console")

        # A new product: the category first (it decides the attributes asked for), then the details.
        page.get_by_role("link", name="商品管理").click()
        page.get_by_role("link", name=re.compile("新建商品")).first.click()
        page.get_by_label("分类").select_option(label="水果生鲜 / 时令水果（食品）")
        page.get_by_role("button", name="下一步").click()
        page.get_by_label("商品名称").fill(PRODUCT)
        page.get_by_label("品牌").fill("枣乡")
        page.get_by_label("产地").fill("河南新郑")
        page.get_by_label("SKU", exact=True).first.fill("HZ-500")
        page.get_by_label("规格", exact=True).first.fill("500克")
        page.get_by_label("售价（元）").first.fill("39.90")
        page.get_by_label("库存").first.fill("20")
        journey.shot("02-new-product")
        page.get_by_role("button", name="保存").click()
        expect(page.get_by_text("商品已保存为草稿。")).to_be_visible()

        # Its picture, with words for screen readers; then publish.
        page.get_by_label(re.compile("选择图片")).set_input_files(
            files=[{"name": "hongzao.jpg", "mimeType": "image/jpeg", "buffer": a_photo()}])
        page.get_by_label(re.compile("图片说明")).fill("新郑红枣礼盒，深红色大枣")
        page.get_by_role("button", name="上传").click()
        expect(page.get_by_text("已上传 1 张图片。")).to_be_visible()
        thumbnail = page.get_by_role("img", name="新郑红枣礼盒，深红色大枣")
        thumbnail.scroll_into_view_if_needed()
        expect(thumbnail).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
        page.get_by_role("button", name="发布", exact=True).click()
        expect(page.get_by_text("商品已发布，顾客现在可以看到它。")).to_be_visible()
        journey.shot("03-product-published")

        # The resident, on a phone, finds it by pinyin and sees its picture.
        buyer.goto("/t/dehua-street/")
        phone = buyer.page
        box = phone.get_by_label("搜索商品")
        box.fill("hongzao")
        box.press("Enter")
        phone.get_by_role("link", name=re.compile(PRODUCT)).first.tap()
        expect(phone.get_by_role("heading", name=PRODUCT, level=1)).to_be_visible()
        picture = phone.get_by_role("img", name="新郑红枣礼盒，深红色大枣").first
        expect(picture).to_be_visible()
        assert picture.evaluate("img => img.complete && img.naturalWidth > 0"), "the product picture did not load"
        buyer.shot("04-product-page")

        # Ordered for pickup at the shop, paid there.
        phone.get_by_role("button", name="加入购物车").tap()
        phone.get_by_role("link", name="购物车").first.tap()
        phone.get_by_role("link", name="去结算").tap()
        sign_in(phone, BUYER)
        expect(phone.get_by_role("heading", name="确认订单", level=1)).to_be_visible()
        card = phone.locator("article").filter(has=phone.get_by_role("heading", name=SHOP))
        card.get_by_role("radio", name=re.compile("到店自提")).first.check()
        phone.get_by_role("radio", name=re.compile("到店付款")).check()
        phone.get_by_role("button", name="提交订单").tap()
        expect(phone.get_by_role("heading", name="订单已提交", level=1)).to_be_visible()
        part = phone.locator("main article").filter(has=phone.get_by_role("heading", name=SHOP, exact=True)).first
        number = re.search(r"G\d+-\d+", part.inner_text()).group(0)
        code = re.search(r"取货码\s*(\d{4} \d{4})", part.inner_text()).group(1)
        buyer.shot("05-order-placed")

        # The owner sees the new order waiting for payment.
        page.get_by_role("link", name="← 商品管理").click()
        page.get_by_role("link", name=f"← {SHOP}").click()
        page.get_by_role("link", name="订单", exact=True).click()
        expect(page.get_by_role("link", name=number)).to_be_visible()
        journey.shot("06-orders")
        page.get_by_role("link", name=number).click()
        expect(page.get_by_role("heading", name=f"订单 {number}", level=1)).to_be_visible()
        expect(page.locator("main")).to_contain_text(PRODUCT)

        # Money taken at the counter, order accepted, goods ready: each a button, each logged.
        for button, done in (("确认收款", "已确认收款。"), ("接单", "已接单，请尽快备货。"),
                             ("备货完成", "已备货，等待买家取货。")):
            page.get_by_role("button", name=button, exact=True).click()
            expect(page.get_by_text(done)).to_be_visible()
        journey.shot("07-order-ready")

        # The resident comes by and shows the code; the owner redeems it.
        page.get_by_role("link", name="← 订单").click()
        page.get_by_role("link", name=f"← {SHOP}").click()
        page.get_by_role("link", name="取货核销").click()
        expect(page.locator("main")).to_contain_text(number)
        page.get_by_label("取货码").fill(code)
        journey.shot("08-pickup-counter")
        page.get_by_role("button", name="核销并交付").click()
        expect(page.get_by_text("已核销，订单已标记为已取货。")).to_be_visible()
        journey.shot("09-handed-over")

        # The resident's order page says so.
        phone.reload()
        expect(part).to_contain_text("已取货")
        buyer.shot("10-collected")

        assert journey.outside_requests == [] and buyer.outside_requests == [], (
            f"requests left 127.0.0.1: {journey.outside_requests + buyer.outside_requests}")
    finally:
        buyer_context.close()
