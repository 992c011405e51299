"""The trust issue's "done means", on the demo and through web pages only: the market's operator approves a
fertiliser merchant and prints its badge; a phone opens the badge's QR address and reads "valid"; a resident
reviews a completed order and files a complaint that the merchant answers; the shop's credit score moves as the
published formula says."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.trust.credit import shop_credit
from tests.demo.test_delivery_journey import _buy, _merchant, _option
from tests.demo.test_order_journey import _something_to_buy, _text
from tests.fixtures.factories import pickup_code
from tests.media.samples import encode, picture

MARKET, SHOP, OWNER = "nongzi-market", "suifeng-fertiliser", "13903710111"


def _credit():
    db.session.expire_all()
    with all_tenants():
        shop = db.session.scalar(select(Shop).where(Shop.slug == SHOP))
    with tenant_scope(shop.tenant):
        return shop_credit(shop)


def test_an_approved_merchants_badge_verifies_and_a_review_and_a_complaint_move_its_credit(demo_city, make_client):
    operator = make_client()
    operator.login(f"operator@{MARKET}.shangdu.example", "operator-demo-2026")
    merchants = f"/operator/{MARKET}/merchants"
    page = _text(operator.get(merchants))
    with all_tenants():
        shop = db.session.scalar(select(Shop).where(Shop.slug == SHOP))
        shop_id = shop.id
    assert "郑州穗丰农资有限公司" in page

    # The fertiliser merchant files its verification application with its licence; the operator approves it.
    owner = _merchant(make_client, OWNER)
    filing = f"/merchant/{MARKET}/{SHOP}/verification"
    response = owner.submit(filing, {
        "kind": "enterprise", "legal_name": "郑州穗丰农资有限公司", "registration_number": "91410100MA9DEM0081",
        "entity_type": "有限责任公司（自然人投资或控股）", "registered_capital": "500 万元",
        "legal_representative": "张国强", "contact_name": "张国强", "contact_phone": "13903710111",
        "business_address": "郑州市惠济区农资市场 A 区 12 号",
        "licence_number_pesticide_business": "农药经营许可（豫）41010820260012",
        "licence_expires_pesticide_business": "2030-06-30",
        "licence_image": (io.BytesIO(encode(picture(), "PNG")), "licence.png")})
    assert response.status_code == 303, _text(response)
    page = _text(operator.get(merchants))
    application = re.search(rf"/operator/{MARKET}/applications/(\d+)/approve", page)
    assert application is not None and "待审核" in page
    assert operator.submit(application.group(0), {}, page_url=merchants).status_code == 303
    assert "认证通过" in _text(owner.get(filing)) or "已通过" in _text(owner.get(filing))
    assert operator.submit(f"/operator/{MARKET}/shops/{shop_id}/badge", {}, page_url=merchants).status_code in (302, 303)
    # The card link in this shop's row (the demo's other shops show theirs on the same page).
    row = _text(operator.get(merchants)).split(f"/operator/{MARKET}/shops/{shop_id}/badge", 1)[1]
    serial = re.search(rf"/operator/{MARKET}/badges/([A-Za-z0-9_-]+)/card", row).group(1)
    card = _text(operator.get(f"/operator/{MARKET}/badges/{serial}/card"))
    assert "<svg" in card and "网上商都商户电子标识" in card and f"/verify/{serial}" in card

    phone = make_client()  # the QR code's address, opened by anyone
    verified = _text(phone.get(f"/verify/{serial}"))
    assert "此电子标识有效" in verified and "穗丰" in verified

    before = _credit()
    resident = make_client()
    resident.login("13903719001", "resident-demo-2026")
    order_page, group = _buy(resident, MARKET, {SHOP: _something_to_buy(SHOP)},
                             lambda page, shop: _option(page, shop, r"^pickup:shop$"))
    [order] = group.orders
    merchant = _merchant(make_client, OWNER)
    url = f"/merchant/{MARKET}/{SHOP}/orders/{order.number}"
    for action in ("confirm_payment", "accept", "prepared", "picked_up", "complete"):
        form = {"code": pickup_code(order.number)} if action == "picked_up" else {}
        assert merchant.submit(f"{url}/{action}", form, page_url=url).status_code == 303
    line = re.search(rf"/t/{MARKET}/orders/{group.number}/{order.number}/lines/(\d+)/review", _text(resident.get(order_page)))
    review_url = line.group(0)
    response = resident.submit(review_url, {"product": "5", "described": "5", "service": "4", "delivery": "5",
                                            "text": "肥效好，提货快。"}, page_url=review_url)
    assert response.status_code == 303
    after_review = _credit()
    assert after_review.inputs.reviews == before.inputs.reviews + 1
    assert after_review.inputs.rating_sum == before.inputs.rating_sum + Decimal("4.75")
    assert "肥效好" in _text(resident.get(f"/t/{MARKET}/s/{SHOP}/"))

    complaint_url = f"/t/{MARKET}/orders/{group.number}/{order.number}/complaint"
    response = resident.submit(complaint_url, {"category": "quality", "description": "有两袋结块。",
                                               "claim": "exchange", "complainant_address": "郑州市惠济区 花园口镇 八堡村"},
                               page_url=complaint_url)
    assert response.status_code == 303, _text(response)
    number = response.headers["Location"].rsplit("/", 1)[-1]
    answer = f"/merchant/{MARKET}/{SHOP}/complaints/{number}"
    assert merchant.submit(f"{answer}/answer", {"answer": "明天上门更换两袋。"}, page_url=answer).status_code == 303
    assert "明天上门更换两袋" in _text(resident.get(f"/t/{MARKET}/complaints/{number}"))

    # The operator upholds it: the complaints part falls as the formula says (k = 1 / max(orders, 20)).
    operator_page = f"/operator/{MARKET}/complaints/{number}"
    resident.submit(f"/t/{MARKET}/complaints/{number}/escalate", {"reason": "没有更换"},
                    page_url=f"/t/{MARKET}/complaints/{number}")
    assert operator.submit(f"{operator_page}/decide", {"outcome": "upheld", "note": "结块属实"},
                           page_url=operator_page).status_code == 303
    final = _credit()
    orders = max(final.inputs.orders, 20)
    assert final.inputs.upheld == before.inputs.upheld + 1
    expected = (20 * max(Decimal(0), 1 - 10 * Decimal(final.inputs.upheld) / orders)).quantize(Decimal("0.01"))
    assert final.parts["complaints"] == expected < after_review.parts["complaints"]
    assert str(final.score) in _text(merchant.get(f"/merchant/{MARKET}/{SHOP}/credit"))
