"""The delivery issue's "done means", on the demo and through web pages only: a resident collects orders from
two shops of 德化步行街 at the street's shared counter with one code each; another resident has fruit brought
across town in the evening courier slot; a market buyer accepts a merchant's freight quote and follows the
parcel's timeline."""

from __future__ import annotations

import re

from sqlalchemy import select

from marketplace.delivery.models import Shipment
from marketplace.extensions import db
from marketplace.orders.models import OrderGroup, OrderStatus
from marketplace.tenancy.context import all_tenants
from tests.demo.test_order_journey import _hidden, _something_to_buy, _text

STREET = "dehua-street"
SHOPS = {"xianguofang": "13903710101", "songming-tea": "13903710104"}


def _buy(client, tenant: str, items: dict, choices, extra=None) -> tuple[str, OrderGroup]:
    """Put two units of each item in the cart, choose a delivery per shop (``choices(page, shop_id)``) and
    place the order, paying at the stall. Returns the order page's address and the group."""
    for item in items.values():
        response = client.submit(f"/t/{tenant}/cart/add", {"variant_id": str(item.variant_id), "quantity": "2"},
                                 page_url=f"/t/{tenant}/cart")
        assert response.status_code == 303
    review = _text(client.get(f"/t/{tenant}/checkout" + (f"?address={extra['address']}" if extra else "")))
    form = {"idempotency_key": _hidden(review, "idempotency_key"), "fingerprint": _hidden(review, "fingerprint"),
            "payment": "offline:pay_at_stall", "invoice": "", "confirm_exclusions": "y", **(extra or {})}
    for shop_id in set(re.findall(r'name="delivery_(\d+)"', review)):
        form[f"delivery_{shop_id}"] = choices(review, shop_id)
    response = client.submit(f"/t/{tenant}/checkout", form, page_url=f"/t/{tenant}/checkout")
    assert response.status_code == 303, _text(response)
    with all_tenants():
        group = db.session.scalar(select(OrderGroup).order_by(OrderGroup.id.desc()))
        len(group.orders)
    return response.headers["Location"], group


def _option(review: str, shop_id: str, pattern: str) -> str:
    values = re.findall(rf'name="delivery_{shop_id}" value="([^"]+)"', review)
    return next(value for value in values if re.search(pattern, value))


def _merchant(make_client, login: str):
    merchant = make_client()
    merchant.login(login, "merchant-demo-2026")
    return merchant


def test_two_shops_one_counter_one_code_each(demo_city, make_client):
    resident = make_client()
    resident.login("li.mingxuan@shangdu.example", "resident-demo-2026")
    bought = {slug: _something_to_buy(slug) for slug in SHOPS}
    order_page, group = _buy(resident, STREET, bought, lambda page, shop: _option(page, shop, r"^pickup:counter$"))
    with all_tenants():
        orders = {order.shop.slug: order.number for order in group.orders}
    for slug, login in SHOPS.items():
        merchant = _merchant(make_client, login)
        page_url = f"/merchant/{STREET}/{slug}/orders/{orders[slug]}"
        for action in ("confirm_payment", "accept", "prepared"):  # prepared: taken to the counter
            assert merchant.submit(f"{page_url}/{action}", {}, page_url=page_url).status_code == 303
    page = _text(resident.get(order_page))
    codes = [a + b for a, b in re.findall(r'class="pickup-code">(\d{4}) (\d{4})<', page)]
    assert len(codes) == 2 and codes[0] != codes[1]
    assert page.count("<svg") >= 2  # a QR code per order
    assert "德化街商户联合自提点" in page

    counter = make_client()
    counter.login(f"operator@{STREET}.shangdu.example", "operator-demo-2026")
    response = counter.submit(f"/operator/{STREET}/pickup", {"code": ", ".join(codes)}, page_url=f"/operator/{STREET}/pickup")
    assert response.status_code in (200, 303)
    with all_tenants():
        db.session.expire_all()
        assert {o.status for o in db.session.get(OrderGroup, group.id).orders} == {OrderStatus.picked_up}
    again = counter.submit(f"/operator/{STREET}/pickup", {"code": codes[0]}, page_url=f"/operator/{STREET}/pickup")
    assert again.status_code == 400 and "已经用过" in _text(again)
    assert "已取货" in _text(resident.get(order_page))


def test_an_evening_courier_slot_brings_the_fruit(demo_city, make_client):
    resident = make_client()
    resident.login("wang.fang@shangdu.example", "resident-demo-2026")
    fruit = {"xianguofang": _something_to_buy("xianguofang")}
    order_page, group = _buy(resident, STREET, fruit, lambda page, shop: _option(page, shop, r"^local_courier:.*/18-20$"))
    [order] = group.orders
    with all_tenants():
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        assert shipment.provider == "local_courier" and shipment.option_code.endswith("/18-20")
        assert shipment.fee > 0 and order.total == order.items_total + shipment.fee
        assert shipment.address["district_code"] == "410103"
        assert shipment.promised_by.astimezone().hour in (12, 20)  # 20:00 in Zhengzhou is 12:00 UTC
    merchant = _merchant(make_client, SHOPS["xianguofang"])
    page_url = f"/merchant/{STREET}/xianguofang/orders/{order.number}"
    for action in ("confirm_payment", "accept"):
        assert merchant.submit(f"{page_url}/{action}", {}, page_url=page_url).status_code == 303
    picks = _text(merchant.get(f"/merchant/{STREET}/xianguofang/deliveries?date={shipment.option_code[:10]}"))
    assert order.number in picks and "18:00-20:00" in picks  # on the day's pick list, under its slot
    for action in ("out_for_delivery", "delivered"):
        assert merchant.submit(f"{page_url}/{action}", {}, page_url=page_url).status_code == 303
    page = _text(resident.get(order_page))
    assert "已送达" in page and "已签收" in page
    tracking = _text(resident.get(f"/t/{STREET}/track/{shipment.tracking_token}"))
    assert "已签收" in tracking and "13903719003" not in tracking  # the mobile is masked on the public page


def test_a_market_buyer_accepts_a_freight_quote_and_follows_the_timeline(demo_city, make_client):
    market, shop = "nongzi-market", "suifeng-fertiliser"
    buyer = make_client()
    buyer.login("13903719001", "resident-demo-2026")  # 张晓燕, whose farm shop is in 中牟县
    ask = f"/t/{market}/s/{shop}/freight-quote"
    form = _text(buyer.get(ask))
    address = re.search(r'<option value="(\d+)"', form).group(1)
    response = buyer.submit(ask, {"address": address, "weight": "2000", "volume": "2.5",
                                  "description": "复合肥 40 袋，两托盘，需要卸货"}, page_url=ask)
    assert response.status_code == 303, _text(response)

    merchant = _merchant(make_client, "13903710111")
    inbox = _text(merchant.get(f"/merchant/{market}/{shop}/freight-quotes"))
    quote = re.search(rf"/merchant/{market}/{shop}/freight-quotes/(\d+)", inbox).group(1)
    detail = f"/merchant/{market}/{shop}/freight-quotes/{quote}"
    response = merchant.submit(detail, {"fee": "680", "valid_days": "3", "reply": "4.2 米厢货，次日送达，含卸货"},
                               page_url=detail)
    assert response.status_code == 303, _text(response)
    mine = f"/t/{market}/freight-quotes"
    assert "¥680.00" in _text(buyer.get(mine))
    assert buyer.submit(f"{mine}/{quote}/accept", {}, page_url=mine).status_code == 303

    fertiliser = {shop: _something_to_buy(shop)}
    order_page, group = _buy(buyer, market, fertiliser, lambda page, shop_id: _option(page, shop_id, rf"^freight:quote-{quote}$"),
                             extra={"address": address})
    [order] = group.orders
    assert order.delivery_fee == 68000 and order.total == order.items_total + 68000

    page_url = f"/merchant/{market}/{shop}/orders/{order.number}"
    for action in ("confirm_payment", "accept"):
        assert merchant.submit(f"{page_url}/{action}", {}, page_url=page_url).status_code == 303
    assert merchant.submit(f"{page_url}/shipment/ship", {"carrier": "中原物流", "tracking_number": "ZY20261130001"},
                           page_url=page_url).status_code == 303
    for status, where in (("in_transit", "郑州圃田物流园"), ("delivered", "中牟县城关镇")):
        response = merchant.submit(f"{page_url}/shipment/events", {"status": status, "location": where, "note": ""},
                                   page_url=page_url)
        assert response.status_code == 303
    page = _text(buyer.get(order_page))
    for seen in ("中原物流", "ZY20261130001", "郑州圃田物流园", "已签收", "已送达"):
        assert seen in page, seen
    with all_tenants():
        db.session.expire_all()
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        assert [e.to_status for e in shipment.events] == ["created", "picked_up_by_carrier", "in_transit", "delivered"]
        assert shipment.received_at is not None
