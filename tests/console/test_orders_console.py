"""Order handling in the consoles, used the way merchants and operators use it: buttons in, pages out.

The world (tests/console/conftest.py): tenant A with shops X (owner, staff) and Y; tenant B with shop Z (owner_z).
A resident buys from X and Y in one checkout; each merchant handles its own part.
"""

from __future__ import annotations

import html as html_lib

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.catalog.models import Variant
from marketplace.console.orders import PAGE_SIZE
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.tenancy.context import tenant_scope
from tests.fixtures.factories import PASSWORD, pickup_code

# -- helpers ----------------------------------------------------------------------------------------------------

@pytest.fixture
def goods(app_ctx, world, make_category, make_product):
    a_goods = make_category(world.a, product_type="general.goods")
    b_goods = make_category(world.b, product_type="general.goods")
    return {
        "apples": make_product(world.x, category=a_goods, title="红富士苹果", price=2990, stock=10),
        "tea": make_product(world.y, category=a_goods, title="信阳毛尖", price=12800, stock=5),
        "coat": make_product(world.z, category=b_goods, title="羽绒服", price=39900, stock=3),
    }


_keys = iter(range(1, 10**6))


def place(tenant, buyer, lines: dict, *, payment_provider: str = "offline") -> dict[int, str]:
    """One checkout; the numbers of its orders by shop id."""
    with tenant_scope(tenant):
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        for product, quantity in lines.items():
            variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
            orders.set_line(cart, variant.id, quantity)
        db.session.commit()
        group = orders.place_order(tenant, buyer.id, cart, f"checkout-{next(_keys)}",
                                   payment_provider=payment_provider)
        return {order.shop_id: order.number for order in group.orders}


def load(tenant, number: str) -> Order:
    db.session.expire_all()
    with tenant_scope(tenant):
        order = db.session.scalar(select(Order).where(Order.number == number))
        order.group, order.events, order.lines  # noqa: B018 — loaded while the tenant is set
        return order


def stock_of(tenant, product) -> int:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.scalar(select(Variant.stock).where(Variant.product_id == product.id))


def order_url(world, number: str, shop=None, tenant=None) -> str:
    return f"/merchant/{(tenant or world.a).slug}/{(shop or world.x).slug}/orders/{number}"


def act(browser, world, number: str, action: str, **form):
    url = order_url(world, number)
    if action == "picked_up" and "code" not in form:  # the merchant types the code the buyer shows
        form["code"] = pickup_code(number)
    return browser.submit(f"{url}/{action}", form, page_url=url)


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


@pytest.fixture
def placed(world, goods):
    """A resident's checkout over shops X and Y: two orders, both waiting for payment."""
    return place(world.a, world.users["resident"], {goods["apples"]: 2, goods["tea"]: 1})


# -- the merchant's buttons -------------------------------------------------------------------------------------

def test_staff_takes_an_order_from_payment_to_completion_and_each_step_is_in_the_history(as_role, world, placed):
    number = placed[world.x.id]
    staff = as_role("staff")
    steps = [("confirm_payment", "paid", "已付款"), ("accept", "accepted", "已接单"),
             ("prepared", "ready_for_pickup", "待取货"), ("picked_up", "picked_up", "已取货"),
             ("complete", "completed", "已完成")]
    for action, status, label in steps:
        response = act(staff, world, number, action)
        assert response.status_code == 303
        assert load(world.a, number).status == status
        page = text(staff.get(response.headers["Location"]))
        assert "flash-success" in page and label in page

    order = load(world.a, number)
    assert [(e.from_status, e.to_status) for e in order.events] == [
        ("", "pending_payment"), ("pending_payment", "paid"), ("paid", "accepted"), ("accepted", "ready_for_pickup"),
        ("ready_for_pickup", "picked_up"), ("picked_up", "completed")]
    assert {e.actor_id for e in order.events[1:]} == {world.users["staff"].id}
    history = text(staff.get(order_url(world, number)))
    assert history.count(world.users["staff"].display_name) >= 5


def test_the_group_is_paid_once_every_shop_has_confirmed_its_part(as_role, world, placed, make_user):
    make_user("owner-y@example.com", role=Role.merchant_owner, shop=world.y)
    act(as_role("owner"), world, placed[world.x.id], "confirm_payment")
    assert load(world.a, placed[world.x.id]).group.paid_at is None  # shop Y has not been paid yet

    owner_y = as_role("anonymous")
    owner_y.login("owner-y@example.com", PASSWORD)
    url = order_url(world, placed[world.y.id], shop=world.y)
    assert owner_y.submit(f"{url}/confirm_payment", {}, page_url=url).status_code == 303
    assert load(world.a, placed[world.y.id]).group.paid_at is not None


def test_only_the_buttons_the_order_can_take_are_shown(as_role, world, placed):
    owner = as_role("owner")
    number = placed[world.x.id]
    page = text(owner.get(order_url(world, number)))
    assert "确认收款</button>" in page and "拒单</button>" in page
    assert "接单</button>" not in page and "备货完成</button>" not in page
    act(owner, world, number, "confirm_payment")
    page = text(owner.get(order_url(world, number)))
    assert "接单</button>" in page and "拒单</button>" in page and "确认收款</button>" not in page


def test_a_move_the_order_cannot_make_is_refused_with_a_message(as_role, world, placed):
    owner = as_role("owner")
    number = placed[world.x.id]
    for action in ("accept", "prepared", "picked_up", "complete"):
        response = act(owner, world, number, action)
        assert response.status_code == 303
        page = text(owner.get(response.headers["Location"]))
        assert "flash-error" in page and "当前为“待付款”，不能改为" in page
    order = load(world.a, number)
    assert order.status == "pending_payment" and len(order.events) == 1

    act(owner, world, number, "confirm_payment")
    again = act(owner, world, number, "confirm_payment")  # a second click, or a second browser tab
    assert "当前为“已付款”，不能改为“已付款”" in text(owner.get(again.headers["Location"]))
    assert len(load(world.a, number).events) == 2


def test_rejecting_needs_a_reason_then_cancels_and_puts_the_stock_back(as_role, world, goods, placed):
    owner = as_role("owner")
    number = placed[world.x.id]
    assert stock_of(world.a, goods["apples"]) == 8
    for blank in ("", "   "):
        response = act(owner, world, number, "reject", reason=blank)
        assert "请填写拒单原因" in text(owner.get(response.headers["Location"]))
    assert load(world.a, number).status == "pending_payment"
    assert stock_of(world.a, goods["apples"]) == 8

    act(owner, world, number, "reject", reason="苹果品相不好，不卖了")
    order = load(world.a, number)
    assert order.status == "cancelled"
    assert order.events[-1].to_status == "cancelled" and "苹果品相不好，不卖了" in order.events[-1].note
    assert stock_of(world.a, goods["apples"]) == 10
    assert load(world.a, placed[world.y.id]).status == "pending_payment"  # the other shop's part is its own
    page = text(owner.get(order_url(world, number)))
    assert "苹果品相不好，不卖了" in page and "拒单</button>" not in page


def test_an_accepted_order_can_still_be_rejected_before_pickup(as_role, world, goods, placed):
    owner = as_role("owner")
    number = placed[world.x.id]
    for action in ("confirm_payment", "accept", "prepared"):
        act(owner, world, number, action)
    act(owner, world, number, "reject", reason="买家联系不上")
    assert load(world.a, number).status == "cancelled"
    assert stock_of(world.a, goods["apples"]) == 10


def test_an_online_payment_cannot_be_confirmed_by_hand(as_role, world, goods):
    number = place(world.a, world.users["resident"], {goods["apples"]: 1}, payment_provider="alipay")[world.x.id]
    owner = as_role("owner")
    assert "确认收款</button>" not in text(owner.get(order_url(world, number)))
    response = act(owner, world, number, "confirm_payment")
    assert "在线支付" in text(owner.get(response.headers["Location"]))
    assert load(world.a, number).status == "pending_payment"


def test_the_buyers_contact_is_shown_while_the_order_is_open_and_masked_after(as_role, world, goods, make_user):
    buyer = make_user("13800138000", name="张三")
    number = place(world.a, buyer, {goods["apples"]: 1})[world.x.id]
    owner = as_role("owner")
    page = text(owner.get(order_url(world, number)))
    assert "张三" in page and "13800138000" in page
    act(owner, world, number, "reject", reason="缺货")
    page = text(owner.get(order_url(world, number)))
    assert "张三" in page and "13800138000" not in page and "138****8000" in page


# -- who may see which order ------------------------------------------------------------------------------------

def test_an_order_of_another_shop_or_tenant_is_not_found(as_role, world, goods, placed, make_user):
    x_number = placed[world.x.id]
    make_user("staff-y@example.com", role=Role.merchant_staff, shop=world.y)
    staff_y = as_role("anonymous")
    staff_y.login("staff-y@example.com", PASSWORD)
    # Shop X's order under shop Y's own pages: not found, and nothing moves.
    assert staff_y.get(order_url(world, x_number, shop=world.y)).status_code == 404
    y_page = order_url(world, placed[world.y.id], shop=world.y)
    assert staff_y.submit(order_url(world, x_number, shop=world.y) + "/confirm_payment", {},
                          page_url=y_page).status_code == 404
    # Tenant A's order under tenant B's shop with the same slug: not found either.
    owner_z = as_role("owner_z")
    assert owner_z.get(order_url(world, x_number, tenant=world.b)).status_code == 404
    z_orders = f"/merchant/{world.b.slug}/{world.z.slug}/orders"
    assert owner_z.submit(order_url(world, x_number, tenant=world.b) + "/confirm_payment", {},
                          page_url=z_orders).status_code == 404
    assert load(world.a, x_number).status == "pending_payment"
    # Shop Y's pages themselves are closed to shop X's staff and to residents, as every shop page is.
    assert as_role("staff").get(f"/merchant/{world.a.slug}/{world.y.slug}/orders").status_code == 403
    assert as_role("resident").get(order_url(world, x_number)).status_code == 403
    assert as_role("anonymous").get(order_url(world, x_number)).status_code == 302


def test_bad_addresses_and_forms_never_break_the_page(as_role, world, placed):
    owner = as_role("owner")
    base = f"/merchant/{world.a.slug}/{world.x.slug}/orders"
    number = placed[world.x.id]
    assert owner.get(f"{base}/{'9' * 200}").status_code == 404
    assert owner.get(f"{base}/%00").status_code == 404
    assert owner.post(f"{order_url(world, number)}/explode", data={
        "csrf_token": owner.csrf_token(order_url(world, number))}).status_code in (404, 405)
    assert owner.get(f"{base}?status=nonsense").status_code == 400
    assert owner.get(f"{base}?page=abc").status_code == 200
    assert owner.get(f"{base}?page=99999999999").status_code == 200
    response = act(owner, world, number, "reject", reason="太" * 501)
    assert "原因太长了" in text(owner.get(response.headers["Location"]))
    assert load(world.a, number).status == "pending_payment"
    assert owner.post(f"{order_url(world, number)}/accept").status_code == 400  # no CSRF token
    act(owner, world, number, "reject", reason="\x00\x07缺货\n了")
    assert load(world.a, number).events[-1].note.endswith("缺货 了")


# -- lists ------------------------------------------------------------------------------------------------------

def test_the_merchant_list_shows_the_shops_own_orders_newest_first_with_a_status_filter(as_role, world, goods,
                                                                                       placed):
    later = place(world.a, world.users["resident"], {goods["apples"]: 1})[world.x.id]
    place(world.b, world.users["resident"], {goods["coat"]: 1})
    owner = as_role("owner")
    act(owner, world, later, "confirm_payment")
    base = f"/merchant/{world.a.slug}/{world.x.slug}/orders"
    page = text(owner.get(base))
    assert later in page and placed[world.x.id] in page
    assert page.index(later) < page.index(placed[world.x.id])
    assert placed[world.y.id] not in page and "羽绒服" not in page
    paid = text(owner.get(f"{base}?status=paid"))
    assert later in paid and placed[world.x.id] not in paid
    assert "没有符合条件的订单" in text(owner.get(f"{base}?status=completed"))


def test_the_merchant_list_is_paged_in_a_constant_number_of_queries(as_role, world, goods, count_queries,
                                                                   make_user):
    owner = as_role("owner")
    base = f"/merchant/{world.a.slug}/{world.x.slug}/orders"
    place(world.a, world.users["resident"], {goods["apples"]: 1})
    owner.get(base)  # warm the caches that are not about orders
    with count_queries() as few:
        assert owner.get(base).status_code == 200
    buyers = [make_user(name=f"买家{n}") for n in range(PAGE_SIZE + 2)]
    with tenant_scope(world.a):
        db.session.scalar(select(Variant).where(Variant.product_id == goods["apples"].id)).stock = 500
        db.session.commit()
    numbers = [place(world.a, buyer, {goods["apples"]: 1})[world.x.id] for buyer in buyers]
    with count_queries() as many:
        first = text(owner.get(base))
    assert len(many) == len(few)
    assert numbers[-1] in first and numbers[0] not in first and "第 1 / 2 页" in first
    second = text(owner.get(f"{base}?page=2"))
    assert numbers[0] in second and numbers[-1] not in second


def test_the_operator_sees_the_tenants_orders_by_shop_and_status(as_role, world, goods, placed):
    place(world.b, world.users["resident"], {goods["coat"]: 1})
    act(as_role("owner"), world, placed[world.x.id], "confirm_payment")
    operator = as_role("operator")
    base = f"/operator/{world.a.slug}/orders"
    page = text(operator.get(base))
    assert placed[world.x.id] in page and placed[world.y.id] in page
    assert "鲜果坊" in page and "老茶馆" in page and "羽绒服" not in page and "服装批发" not in page
    assert "¥59.80" in page and "¥128.00" in page
    only_y = text(operator.get(f"{base}?shop={world.y.slug}"))
    assert placed[world.y.id] in only_y and placed[world.x.id] not in only_y
    only_paid = text(operator.get(f"{base}?status=paid"))
    assert placed[world.x.id] in only_paid and placed[world.y.id] not in only_paid
    assert operator.get(f"{base}?shop=no-such-shop").status_code == 400
    assert "确认收款" not in page and "<form method=\"post\"" not in page.split("<main>")[1]  # read-only


def test_an_operator_of_another_tenant_is_refused(as_role, world, placed):
    response = as_role("operator").get(f"/operator/{world.b.slug}/orders")
    assert response.status_code == 404
    assert as_role("owner").get(f"/operator/{world.a.slug}/orders").status_code == 404
    admin_page = text(as_role("admin").get(f"/operator/{world.b.slug}/orders"))
    assert placed[world.x.id] not in admin_page  # tenant B's list never shows tenant A's orders


def test_the_shop_and_tenant_pages_link_to_the_orders(as_role, world):
    assert f"/merchant/{world.a.slug}/{world.x.slug}/orders" in text(
        as_role("staff").get(f"/merchant/{world.a.slug}/{world.x.slug}/"))
    assert f"/operator/{world.a.slug}/orders" in text(as_role("operator").get(f"/operator/{world.a.slug}/"))



def test_goods_are_handed_over_only_against_the_buyers_pickup_code(as_role, world, placed):
    owner = as_role("owner")
    number = placed[world.x.id]
    for action in ("confirm_payment", "accept", "prepared"):
        act(owner, world, number, action)
    assert "买家出示的取货码" in text(owner.get(order_url(world, number)))
    right = pickup_code(number)
    for wrong in ("", "12345678" if right != "12345678" else "87654321", "abc"):
        response = act(owner, world, number, "picked_up", code=wrong)
        assert "取货码不正确" in text(owner.get(response.headers["Location"]))
        assert load(world.a, number).status == "ready_for_pickup"
    act(owner, world, number, "picked_up", code=f"{right[:4]} {right[4:]}")
    assert load(world.a, number).status == "picked_up"
