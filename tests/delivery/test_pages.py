"""Delivery pages, used the way people use them: the public tracking page, the merchant's shipment panel, pick
list and counter, the tenant's counter and its late deliveries.

The world: tenant A (a street with a shared counter) whose shop X offers pickup, the same-city courier and
express, and shop Y; tenant B with shop Z. Orders are placed through checkout's own services with options the
providers quoted.
"""

from __future__ import annotations

import html as html_lib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.delivery import express, pickup, services
from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import Address, ShipmentStatus
from marketplace.extensions import db
from marketplace.orders import handling
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from tests.fixtures.factories import PASSWORD

S = ShipmentStatus
ALWAYS_OPEN = {day: "00:00-23:59" for day in pickup.WEEKDAYS}
HOME = Address(recipient="张三丰", mobile="13812341234", province_code="410000", city_code="410100",
               district_code="410103", street="大学路 18 号 3 单元 502")


@dataclass
class World:
    a: Tenant
    b: Tenant
    x: Shop
    y: Shop
    z: Shop
    variants: dict  # shop slug → variant id
    buyer: object


@pytest.fixture
def world(app_ctx, make_tenant, make_shop, make_user, make_product):
    a = make_tenant(slug="deliver-a", name_zh="德化步行街", layout={"pickup_counter": {
        "at_m": 120, "name": {"zh": "德化街联合自提点", "en": "Dehua Counter"}}})
    b = make_tenant(slug="deliver-b", name_zh="银基商贸城", kind="market")
    group = module_settings["delivery"]
    group.set(a, "provider", "pickup")
    group.set(a, "options", {"pickup": {}, "local_courier": {}, "express": {}})
    db.session.commit()
    x = make_shop(a, slug="fruit", name_zh="鲜果坊", opening_hours=ALWAYS_OPEN,
                  delivery={"providers": ["pickup", "local_courier", "express"]})
    y = make_shop(a, slug="tea", name_zh="老茶馆", opening_hours=ALWAYS_OPEN)
    z = make_shop(b, slug="fruit", name_zh="服装批发", opening_hours=ALWAYS_OPEN)
    products = {"x": make_product(x, title="红富士苹果", price=2990, stock=50),
                "y": make_product(y, title="信阳毛尖", price=12800, stock=50),
                "z": make_product(z, title="羽绒服", price=39900, stock=50)}
    variants = {}
    for key, tenant in (("x", a), ("y", a), ("z", b)):
        with tenant_scope(tenant):
            variants[key] = products[key].variants[0].id
    make_user("owner-x@shangdu.example", role=Role.merchant_owner, shop=x)
    make_user("owner-y@shangdu.example", role=Role.merchant_owner, shop=y)
    make_user("owner-z@shangdu.example", role=Role.merchant_owner, shop=z)
    make_user("operator-a@shangdu.example", role=Role.tenant_operator, tenant=a)
    make_user("operator-b@shangdu.example", role=Role.tenant_operator, tenant=b)
    buyer = make_user("buyer@shangdu.example", name="王小明")
    return World(a, b, x, y, z, variants, buyer)


def place(world: World, key: str, provider: str = "pickup", *, code: str | None = None,
          address: Address | None = None, quantity: int = 1, accept: bool = True) -> tuple[Order, Shipment]:
    """A paid (and accepted) order of one shop with the provider's first quoted option (or ``code``)."""
    shop = {"x": world.x, "y": world.y, "z": world.z}[key]
    tenant = world.b if key == "z" else world.a
    with tenant_scope(tenant):
        quote = services.quote_shop(tenant, shop, services.parcel_of([]), address)
        option = next(o for o in quote.options if o.provider == provider and code in (None, o.code))
        cart = orders.cart_for(tenant, user_id=world.buyer.id, create=True)
        orders.set_line(cart, world.variants[key], quantity)
        db.session.commit()
        group = orders.place_order(tenant, world.buyer.id, cart, uuid.uuid4().hex,
                                   delivery={shop.id: services.Chosen(option, address)})
        order = group.orders[0]
        handling.confirm_offline_payment(order, actor_id=None)
        if accept:
            orders.transition(order, orders.S.accepted)
        db.session.commit()
        return order, db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))


def ready_at(world: World, key: str, point: str = "counter") -> tuple[Order, Shipment, str]:
    """A pickup order made ready at the point: its code, as the buyer's page shows it."""
    order, shipment = place(world, key, "pickup", code=point)
    with tenant_scope(world.b if key == "z" else world.a):
        services.advance(shipment, S.ready_for_pickup)
        db.session.commit()
        return order, shipment, pickup.code_for(shipment)


def browser(make_client, who: str | None):
    client = make_client()
    if who:
        client.login(f"{who}@shangdu.example", PASSWORD)
    return client


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def reload(tenant: Tenant, shipment: Shipment) -> Shipment:
    db.session.expire_all()
    with tenant_scope(tenant):
        found = db.session.get(Shipment, shipment.id)
        found.events  # noqa: B018 — loaded while the tenant is set
        return found


# -- the public tracking page -------------------------------------------------------------------------------------

def test_the_tracking_page_shows_the_timeline_and_masks_the_recipient(world, make_client):
    order, shipment = place(world, "x", "express", address=HOME)
    owner = browser(make_client, "owner-x")
    detail = f"/merchant/deliver-a/fruit/orders/{order.number}"
    shipped = owner.submit(f"{detail}/shipment/ship", {"carrier": "顺丰速运", "tracking_number": "SF1234567890"},
                           page_url=detail)
    assert shipped.status_code == 303

    page = make_client().get(f"/t/deliver-a/track/{shipment.tracking_token}")
    body = text(page)
    assert page.status_code == 200
    assert '<ol class="shipment-timeline"' in body and 'aria-current="step"' in body
    assert "已揽收" in body and "待发货" in body  # the steps taken
    assert "step-ahead step-delivered" in body  # and the one still ahead, greyed
    assert "鲜果坊" in body and "顺丰速运" in body and "SF1234567890" in body
    assert "张*" in body and "138****1234" in body and "二七区" in body
    assert "13812341234" not in body and "张三丰" not in body and "大学路" not in body
    assert '<meta name="robots" content="noindex' in body
    assert page.headers["X-Robots-Tag"].startswith("noindex")


def test_the_tracking_page_shows_steps_and_places_but_no_notes(world, make_client):
    order, shipment = place(world, "x", "express", address=HOME)
    with tenant_scope(world.a):
        express.ship(shipment, "顺丰速运", "SF1234567890")
        express.record_event(shipment, S.in_transit, location="郑州转运中心", note="买家要求放在门卫室")
        db.session.commit()
    body = text(make_client().get(f"/t/deliver-a/track/{shipment.tracking_token}"))
    assert "运输中" in body and "郑州转运中心" in body
    assert "门卫室" not in body and 'class="st-note"' not in body
    owner = browser(make_client, "owner-x")
    assert "门卫室" in text(owner.get(f"/merchant/deliver-a/fruit/orders/{order.number}"))  # the shop's own page


def test_a_pickup_is_tracked_with_its_point_and_never_its_code(world, make_client):
    order, shipment, code = ready_at(world, "x")
    body = text(make_client().get(f"/t/deliver-a/track/{shipment.tracking_token}"))
    assert "德化街联合自提点" in body and "待取货" in body and code not in body


def test_another_tenants_token_and_an_unknown_one_are_not_found(world, make_client):
    _order, shipment = place(world, "x", "pickup", code="shop")
    visitor = make_client()
    assert visitor.get(f"/t/deliver-b/track/{shipment.tracking_token}").status_code == 404
    assert visitor.get("/t/deliver-a/track/" + "A" * 32).status_code == 404
    assert visitor.get("/t/deliver-a/track/not a token").status_code == 404
    assert visitor.get(f"/t/deliver-a/track/{shipment.tracking_token}").status_code == 200


# -- the merchant's shipment panel ---------------------------------------------------------------------------------

def test_the_merchant_ships_and_updates_an_express_parcel_from_the_order_page(world, make_client):
    order, shipment = place(world, "x", "express", address=HOME)
    owner = browser(make_client, "owner-x")
    detail = f"/merchant/deliver-a/fruit/orders/{order.number}"
    page = text(owner.get(detail))
    assert 'id="shipment"' in page and "13812341234" in page and "大学路 18 号" in page  # full, for the merchant
    assert 'name="tracking_number"' in page and "顺丰速运" in page

    refused = owner.submit(f"{detail}/shipment/ship", {"carrier": "顺丰速运", "tracking_number": "单号?"},
                           page_url=detail, follow_redirects=True)
    assert refused.status_code == 200 and "快递单号应为" in text(refused)
    assert reload(world.a, shipment).status == S.created

    owner.submit(f"{detail}/shipment/ship", {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}, page_url=detail)
    moved = owner.submit(f"{detail}/shipment/events", {"status": "in_transit", "location": "郑州转运中心",
                                                       "note": "已发往收件城市"}, page_url=detail)
    assert moved.status_code == 303
    found = reload(world.a, shipment)
    assert found.status == S.in_transit and found.tracking_number == "SF1234567890"
    assert found.events[-1].location == "郑州转运中心"
    with tenant_scope(world.a):
        assert db.session.get(Order, order.id).status == OrderStatus.shipped

    backwards = owner.submit(f"{detail}/shipment/events", {"status": "created"}, page_url=detail,
                             follow_redirects=True)
    assert backwards.status_code == 200 and "请选择物流状态" in text(backwards)
    for bad in ({"status": "delivered", "at": "yesterday"}, {"status": "delivered", "note": "x" * 600},
                {"status": "delivered", "at": "2999-01-01T10:00"}, {"status": "\x00"}):
        answer = owner.submit(f"{detail}/shipment/events", bad, page_url=detail, follow_redirects=True)
        assert answer.status_code == 200 and "flash-error" in text(answer), bad
    assert reload(world.a, shipment).status == S.in_transit


def test_an_express_parcel_is_shipped_before_any_step_is_recorded(world, make_client):
    order, shipment = place(world, "x", "express", address=HOME)
    owner = browser(make_client, "owner-x")
    detail = f"/merchant/deliver-a/fruit/orders/{order.number}"
    assert 'name="status"' not in text(owner.get(detail))  # only the form to ship
    refused = owner.submit(f"{detail}/shipment/events", {"status": "out_for_delivery"}, page_url=detail,
                           follow_redirects=True)
    assert "请先发货（填写快递单号）。" in text(refused)
    assert reload(world.a, shipment).status == S.created
    with tenant_scope(world.a):
        assert db.session.get(Order, order.id).status == OrderStatus.accepted


def test_the_panel_masks_the_recipient_once_the_order_is_closed(world, make_client):
    order, shipment = place(world, "x", "express", address=HOME)
    owner = browser(make_client, "owner-x")
    detail = f"/merchant/deliver-a/fruit/orders/{order.number}"
    owner.submit(f"{detail}/shipment/ship", {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}, page_url=detail)
    for status in ("out_for_delivery", "delivered"):
        owner.submit(f"{detail}/shipment/events", {"status": status}, page_url=detail)
    assert "13812341234" in text(owner.get(detail))  # still running: in full
    db.session.expire_all()
    with tenant_scope(world.a):
        orders.transition(db.session.get(Order, order.id), OrderStatus.completed)
        db.session.commit()

    page = text(owner.get(detail))
    assert "张* · 138****1234 · 河南省 郑州市 二七区" in page
    for secret in ("张三丰", "13812341234", "大学路"):
        assert secret not in page


def test_pickup_orders_show_only_the_timeline(world, make_client):
    order, _shipment = place(world, "x", "pickup", code="shop")
    owner = browser(make_client, "owner-x")
    detail = f"/merchant/deliver-a/fruit/orders/{order.number}"
    page = text(owner.get(detail))
    assert "shipment-timeline" in page and 'name="tracking_number"' not in page
    refused = owner.submit(f"{detail}/shipment/ship", {"carrier": "顺丰速运", "tracking_number": "SF1"},
                           page_url=detail, follow_redirects=True)
    assert "不通过快递发货" in text(refused)


def test_another_shops_merchant_cannot_see_the_pick_list_or_post_shipment_forms(world, make_client):
    order, shipment = place(world, "x", "express", address=HOME)
    owner_x, owner_y, owner_z = (browser(make_client, who) for who in ("owner-x", "owner-y", "owner-z"))
    detail = f"/merchant/deliver-a/fruit/orders/{order.number}"
    form = {"carrier": "顺丰速运", "tracking_number": "SF1234567890", "status": "in_transit"}
    assert owner_y.get("/merchant/deliver-a/fruit/deliveries").status_code == 403
    assert owner_y.get("/merchant/deliver-a/fruit/pickup").status_code == 403
    assert owner_z.get("/merchant/deliver-a/fruit/deliveries").status_code == 404  # another tenant's
    assert owner_x.get("/merchant/deliver-a/fruit/deliveries").status_code == 200
    for client in (owner_y, owner_z):
        for route in ("ship", "events"):  # with a valid form token of their own: only the rights refuse
            answer = client.submit(f"{detail}/shipment/{route}", form, page_url="/merchant/")
            assert answer.status_code == (403 if client is owner_y else 404), route
    # Shop Y's merchant naming its own shop does not find X's order.
    assert owner_y.submit(f"/merchant/deliver-a/tea/orders/{order.number}/shipment/ship", form,
                          page_url="/merchant/").status_code == 404
    assert reload(world.a, shipment).status == S.created


# -- the pick list -------------------------------------------------------------------------------------------------

def test_the_pick_list_groups_orders_by_slot_and_pickup_point(world, make_client):
    courier, courier_shipment = place(world, "x", "local_courier", address=HOME, quantity=3)
    at_shop, _s = place(world, "x", "pickup", code="shop", quantity=2)
    at_counter, counter_shipment = place(world, "x", "pickup", code="counter")
    unpaid_key = place(world, "x", "pickup", code="shop", accept=False)[0]  # paid, not yet accepted: listed too
    ready, *_rest = ready_at(world, "x", "shop")  # already prepared: not on the list
    other_shop, _s = place(world, "y", "pickup", code="shop")
    day = courier_shipment.option_code.split("/")[0]

    owner = browser(make_client, "owner-x")
    page = owner.get(f"/merchant/deliver-a/fruit/deliveries?date={day}")
    body = text(page)
    assert page.status_code == 200
    slot_at, shop_at = body.index("<h2>同城配送 "), body.index("<h2>到店自提")
    counter_at = body.index("<h2>共享自提点：德化街联合自提点")
    assert slot_at < shop_at < counter_at
    assert courier.number in body[slot_at:shop_at]
    assert at_shop.number in body[shop_at:counter_at] and unpaid_key.number in body[shop_at:counter_at]
    assert at_counter.number in body[counter_at:]
    assert ready.number not in body and other_shop.number not in body
    assert "红富士苹果 × 3" in body and "红富士苹果 × 2" in body
    assert "王*" in body and "张*" in body and "王小明" not in body and "张三丰" not in body
    with tenant_scope(world.a):
        assert pickup.code_for(counter_shipment) not in body
    assert "@media print" in body and "window.print()" in body

    # The day before the slot: the courier order waits for its day.
    earlier = date.fromisoformat(day) - timedelta(days=1)
    assert courier.number not in text(owner.get(f"/merchant/deliver-a/fruit/deliveries?date={earlier}"))
    # Its day passed and it was never sent: it stays on the list, as late.
    later = text(owner.get(f"/merchant/deliver-a/fruit/deliveries?date={date.fromisoformat(day) + timedelta(days=1)}"))
    assert "更早时段" in later and courier.number in later


@pytest.mark.parametrize("raw", ["tomorrow", "2026-13-45", "2026-02-30", "%00", "9" * 300])
def test_a_bad_pick_list_date_says_so(world, make_client, raw):
    answer = browser(make_client, "owner-x").get(f"/merchant/deliver-a/fruit/deliveries?date={raw}")
    assert answer.status_code == 400 and "日期格式不正确" in text(answer)


# -- the counter ----------------------------------------------------------------------------------------------------

def test_the_counter_hands_over_once_then_says_already_collected(world, make_client):
    order, shipment, code = ready_at(world, "x")
    operator = browser(make_client, "operator-a")
    page = text(operator.get("/operator/deliver-a/pickup"))
    assert order.number in page and "鲜果坊" in page  # waiting at the counter, with its shop

    first = operator.submit("/operator/deliver-a/pickup", {"code": f"{code[:4]} {code[4:]}"})
    assert first.status_code == 200
    body = text(first)
    assert order.number in body and "红富士苹果 × 1" in body and "已核销" in body
    assert reload(world.a, shipment).status == S.collected
    with tenant_scope(world.a):
        assert db.session.get(Order, order.id).status == OrderStatus.picked_up

    again = operator.submit("/operator/deliver-a/pickup", {"code": code})
    assert again.status_code == 400 and "已经用过了" in text(again)


def test_several_codes_at_once_one_trip_for_two_shops(world, make_client):
    first, _s, first_code = ready_at(world, "x")
    second, _s, second_code = ready_at(world, "y")
    answer = browser(make_client, "operator-a").submit("/operator/deliver-a/pickup",
                                                       {"code": f"{first_code}，{second_code}"})
    body = text(answer)
    assert answer.status_code == 200 and first.number in body and second.number in body
    assert "鲜果坊" in body and "老茶馆" in body


def test_a_code_of_another_tenant_is_refused(world, make_client):
    _order, shipment, code = ready_at(world, "z", "shop")
    answer = browser(make_client, "operator-a").submit("/operator/deliver-a/pickup", {"code": code})
    assert answer.status_code == 400 and "取货码不正确" in text(answer)
    assert reload(world.b, shipment).status == S.ready_for_pickup
    # Its own tenant's counter takes it.
    assert browser(make_client, "operator-b").submit("/operator/deliver-b/pickup", {"code": code}).status_code == 200


def test_a_merchant_redeems_only_its_own_shops_codes(world, make_client):
    _order, y_shipment, y_code = ready_at(world, "y")
    x_order, _s, x_code = ready_at(world, "x", "shop")
    owner = browser(make_client, "owner-x")
    assert x_order.number in text(owner.get("/merchant/deliver-a/fruit/pickup"))
    refused = owner.submit("/merchant/deliver-a/fruit/pickup", {"code": y_code})
    assert refused.status_code == 400 and "取货码不正确" in text(refused)
    assert reload(world.a, y_shipment).status == S.ready_for_pickup
    assert owner.submit("/merchant/deliver-a/fruit/pickup", {"code": x_code}).status_code == 200
    assert browser(make_client, "owner-x").get("/operator/deliver-a/pickup").status_code == 404


@pytest.mark.parametrize("raw", ["", "   ", "garbage", "1234", "'; DROP TABLE shipments; --", "\x00" * 5,
                                 "12345678" * 40, ",".join(["12345678"] * 11)])
def test_bad_codes_get_a_message_never_a_server_error(world, make_client, raw):
    ready_at(world, "x")
    answer = browser(make_client, "operator-a").submit("/operator/deliver-a/pickup", {"code": raw})
    assert answer.status_code == 400
    assert "redeem-problem" in text(answer)


# -- late and failed deliveries ------------------------------------------------------------------------------------

def test_late_and_failed_deliveries_are_listed_for_the_operator(world, make_client):
    late, late_shipment = place(world, "x", "local_courier", address=HOME)
    on_time, _s = place(world, "x", "local_courier", address=HOME)
    failed, failed_shipment = place(world, "x", "express", address=HOME)
    waiting, waiting_shipment, _code = ready_at(world, "y")
    with tenant_scope(world.a):
        late_shipment.promised_by = utcnow() - timedelta(hours=3)
        waiting_shipment.status_changed_at = utcnow() - timedelta(days=4)  # the hold is 3 days
        services.advance(failed_shipment, S.picked_up_by_carrier)
        services.advance(failed_shipment, S.exception, note="地址不详")
        db.session.commit()

    page = browser(make_client, "operator-a").get("/operator/deliver-a/deliveries")
    body = text(page)
    assert page.status_code == 200
    late_part = body[body.index('id="late"'):body.index('id="failed"')]
    assert late.number in late_part and on_time.number not in late_part and "小时" in late_part
    assert failed.number in body[body.index('id="failed"'):body.index('id="uncollected"')]
    assert waiting.number in body[body.index('id="uncollected"'):]
    assert '<strong class="count-late">1</strong>' in body
    assert '<strong class="count-failed">1</strong>' in body
    assert '<strong class="count-uncollected">1</strong>' in body

    other = text(browser(make_client, "operator-b").get("/operator/deliver-b/deliveries"))
    assert late.number not in other and '<strong class="count-late">0</strong>' in other
    assert browser(make_client, "operator-a").get("/operator/deliver-b/deliveries").status_code == 404
    assert browser(make_client, "owner-x").get("/operator/deliver-a/deliveries").status_code == 404


def test_the_owner_chooses_the_shops_delivery_providers(app_ctx, make_tenant, make_shop, make_user, make_client):
    from marketplace.accounts.models import Role
    from marketplace.delivery import services as delivery_services
    from marketplace.tenancy.settings import module_settings

    tenant = make_tenant(slug="settings-street")
    module_settings["delivery"].set(tenant, "options", {"pickup": {}, "local_courier": {}, "express": {}})
    shop = make_shop(tenant, slug="fruit")
    make_user("owner@fruit.example", role=Role.merchant_owner, shop=shop)
    make_user("staff@fruit.example", role=Role.merchant_staff, shop=shop)
    page_url = "/merchant/settings-street/fruit/delivery-settings"

    client = make_client()
    client.login("owner@fruit.example", PASSWORD)
    page = client.get(page_url).get_data(as_text=True)
    assert "同城配送" in page and "快递" in page
    response = client.submit(page_url, {"providers": ["pickup", "local_courier", "teleport"], "free_over": "99"},
                             page_url=page_url)
    assert response.status_code == 303
    db.session.expire_all()
    with tenant_scope(tenant):
        shop = db.session.get(type(shop), shop.id)
        assert delivery_services.shop_providers(tenant, shop) == ["pickup", "local_courier"]
        assert delivery_services.provider_for(tenant, shop, "express").options["free_over"] == 9900
    refused = client.submit(page_url, {"free_over": "-3"}, page_url=page_url)
    assert refused.status_code == 400 and "请至少选择一种配送方式" in refused.get_data(as_text=True)
    bad = client.submit(page_url, {"providers": ["pickup"], "free_over": "九十九"}, page_url=page_url)
    assert bad.status_code == 400 and "包邮门槛" in bad.get_data(as_text=True)

    helper = make_client()
    helper.login("staff@fruit.example", PASSWORD)
    assert helper.get(page_url).status_code == 403  # staff handle orders; the owner decides how the shop delivers
