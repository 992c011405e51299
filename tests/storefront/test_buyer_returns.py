"""The buyer's side of returns and cancellations, on the order confirmation page (/t/<tenant>/orders/<group>): the
申请退货 form appears only while a return may be asked for and is one request however often it is sent, the 取消订单
button only before the goods leave the shop, refusals come back as messages, and nobody reaches another buyer's or
another tenant's order through them."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.returns import ReturnRequest
from marketplace.tenancy.context import all_tenants, tenant_scope
from tests.fixtures.factories import PASSWORD
from tests.orders.test_place_order import fill
from tests.orders.test_returns import record

S = OrderStatus


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _requests() -> int:
    db.session.expire_all()
    with all_tenants():
        return db.session.scalar(select(func.count(ReturnRequest.id)))


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(slug="erqi-road", name_zh="二七路")
    shop = make_shop(tenant, slug="wang-fruit", name_zh="老王水果店")
    general = make_category(tenant)
    fresh = make_category(tenant, name_zh="生鲜", return_exclusion="perishable")
    goods = {"kettle": make_product(shop, category=general, title="电水壶", price=8900, stock=10),
             "fish": make_product(shop, category=fresh, title="活鲤鱼", price=3200, stock=10)}
    buyer = make_user("buyer@shangdu.example", name="王女士")
    make_user("someone@shangdu.example", name="路人")
    other = make_tenant(slug="other-market", kind="market", name_zh="别的市场")
    return tenant, goods, buyer, other


def order_for(tenant, buyer, lines: dict, key: str, *, signed_at: datetime | None = None, up_to=S.picked_up):
    """(group number, order number, {title: line id}) of a checkout taken as far as ``up_to``."""
    cart = fill(tenant, buyer, lines)
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, key)
        order = group.orders[0]
        steps = (S.paid, S.accepted, S.ready_for_pickup, S.picked_up)
        for step in steps[:steps.index(up_to) + 1] if up_to in steps else ():
            if step == S.picked_up and signed_at is not None:
                record(order, step, signed_at)
            else:
                orders.transition(order, step)
        found = group.number, order.number, {line.title: line.id for line in order.lines}
        db.session.commit()
        return found


def signed_in(make_client, email="buyer@shangdu.example"):
    browser = make_client()
    browser.login(email, PASSWORD)
    return browser


def ask(browser, group: str, order: str, form: dict, tenant="erqi-road"):
    page = f"/t/erqi-road/orders/{group}"
    return browser.submit(f"/t/{tenant}/orders/{group}/returns", {"order": order, **form}, page_url=page)


def test_the_form_is_offered_once_the_goods_are_picked_up(app_ctx, street, make_client):
    tenant, goods, buyer, _other = street
    waiting, _n, _l = order_for(tenant, buyer, {goods["kettle"]: 1}, "b-1", up_to=S.ready_for_pickup)
    done, _n, _l = order_for(tenant, buyer, {goods["kettle"]: 1}, "b-2")
    browser = signed_in(make_client)
    assert "申请退货" not in _text(browser.get(f"/t/erqi-road/orders/{waiting}"))
    page = _text(browser.get(f"/t/erqi-road/orders/{done}"))
    assert "申请退货" in page and "截至" in page


def test_a_request_is_shown_with_its_state_and_the_units_are_not_offered_twice(app_ctx, street, make_client):
    tenant, goods, buyer, _other = street
    group, number, lines = order_for(tenant, buyer, {goods["kettle"]: 2}, "b-3")
    browser = signed_in(make_client)
    response = ask(browser, group, number, {f"qty_{lines['电水壶']}": "2", "kind": "no_reason"})
    assert response.status_code == 303
    page = _text(browser.get(response.headers["Location"]))
    assert "退货申请已提交" in page and "待商家处理" in page and "电水壶 × 2" in page
    assert "申请退货</summary>" not in page  # nothing left to return
    response = ask(browser, group, number, {f"qty_{lines['电水壶']}": "1"})
    assert "最多还能退 0 件" in _text(browser.get(response.headers["Location"]))
    assert _requests() == 1


def test_refusals_come_back_as_messages(app_ctx, street, make_client):
    tenant, goods, buyer, _other = street
    group, number, lines = order_for(tenant, buyer, {goods["kettle"]: 1, goods["fish"]: 1}, "b-4")
    browser = signed_in(make_client)
    for form, message in (({}, "请选择要退的商品和数量"),
                          ({f"qty_{lines['电水壶']}": "abc"}, "退货数量应为正整数"),
                          ({f"qty_{lines['电水壶']}": "5"}, "最多还能退 1 件"),
                          ({f"qty_{lines['活鲤鱼']}": "1"}, "不适用七日无理由退货"),
                          ({f"qty_{lines['活鲤鱼']}": "1", "kind": "quality", "reason": ""}, "请说明商品的质量问题")):
        response = ask(browser, group, number, form)
        assert response.status_code == 303, form
        assert message in _text(browser.get(response.headers["Location"])), form
    assert _requests() == 0
    response = ask(browser, group, number, {f"qty_{lines['活鲤鱼']}": "1", "kind": "quality", "reason": "鱼是死的"})
    assert "退货申请已提交" in _text(browser.get(response.headers["Location"]))
    assert _requests() == 1


def test_after_the_seven_days_the_form_is_gone_and_a_request_is_refused(app_ctx, street, make_client):
    tenant, goods, buyer, _other = street
    long_ago = datetime.now(UTC) - timedelta(days=10)
    group, number, lines = order_for(tenant, buyer, {goods["kettle"]: 1}, "b-5", signed_at=long_ago)
    browser = signed_in(make_client)
    assert "申请退货" not in _text(browser.get(f"/t/erqi-road/orders/{group}"))
    response = ask(browser, group, number, {f"qty_{lines['电水壶']}": "1"})
    assert response.status_code == 303
    assert "退货期限已过" in _text(browser.get(response.headers["Location"]))
    assert _requests() == 0


def test_another_buyers_or_tenants_order_is_not_found(app_ctx, street, make_client):
    tenant, goods, buyer, other = street
    group, number, lines = order_for(tenant, buyer, {goods["kettle"]: 1}, "b-6")
    mine, _n, _l = order_for(tenant, buyer, {goods["kettle"]: 1}, "b-7")
    form = {f"qty_{lines['电水壶']}": "1"}
    stranger = make_client()
    stranger.login("someone@shangdu.example", PASSWORD)
    page = "/t/erqi-road/cart"
    assert stranger.submit(f"/t/erqi-road/orders/{group}/returns", {"order": number, **form},
                           page_url=page).status_code == 404
    browser = signed_in(make_client)
    assert ask(browser, group, number, form, tenant="other-market").status_code == 404
    assert ask(browser, mine, number, form).status_code == 404  # an order of another of her checkouts
    assert ask(browser, group, "x" * 200, form).status_code == 404
    assert _requests() == 0


def test_the_same_return_form_sent_twice_makes_one_request(app_ctx, street, make_client):
    tenant, goods, buyer, _other = street
    group, number, lines = order_for(tenant, buyer, {goods["kettle"]: 2}, "b-8")
    browser = signed_in(make_client)
    page = browser.get(f"/t/erqi-road/orders/{group}").get_data(as_text=True)
    submission = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    form = {f"qty_{lines['电水壶']}": "1", "kind": "no_reason", "submission": submission}
    first, second = ask(browser, group, number, form), ask(browser, group, number, form)
    assert first.status_code == second.status_code == 303
    assert "退货申请已提交" in _text(browser.get(second.headers["Location"]))
    assert _requests() == 1
    fresh = re.search(r'name="submission" value="([^"]+)"', browser.get(f"/t/erqi-road/orders/{group}")
                      .get_data(as_text=True)).group(1)
    assert fresh != submission  # the page shown again is a new submission: the last kettle may still go back
    ask(browser, group, number, {**form, "submission": fresh})
    assert _requests() == 2


# -- cancellation by the buyer ----------------------------------------------------------------------------------------

def _order(number: str) -> Order:
    db.session.expire_all()
    with all_tenants():
        return db.session.scalar(select(Order).where(Order.number == number))


def _stock(product) -> int:
    db.session.expire_all()
    with all_tenants():
        return db.session.scalar(select(Variant.stock).where(Variant.product_id == product.id))


def cancel(browser, group: str, order: str, reason="", tenant="erqi-road"):
    return browser.submit(f"/t/{tenant}/orders/{group}/{order}/cancel", {"reason": reason},
                          page_url=f"/t/erqi-road/orders/{group}")


def test_the_buyer_cancels_an_unpaid_order_and_its_stock_goes_back(app_ctx, street, make_client):
    tenant, goods, buyer, _other = street
    group, number, _lines = order_for(tenant, buyer, {goods["kettle"]: 3}, "c-1", up_to=S.pending_payment)
    assert _stock(goods["kettle"]) == 7
    browser = signed_in(make_client)
    page = _text(browser.get(f"/t/erqi-road/orders/{group}"))
    assert "取消订单" in page and f'action="/t/erqi-road/orders/{group}/{number}/cancel"' in page
    response = cancel(browser, group, number, "买多了")
    assert response.status_code == 303
    page = _text(browser.get(response.headers["Location"]))
    assert "订单已取消。" in page and "已付款项将全额退回" not in page
    assert "已取消" in page and "取消订单</summary>" not in page  # nothing left to cancel
    assert _order(number).status == S.cancelled and _stock(goods["kettle"]) == 10
    with all_tenants():
        assert "买多了" in _order(number).events[-1].note


def test_a_paid_order_cancelled_by_the_buyer_is_refunded_in_full(app_ctx, street, make_client):
    tenant, goods, buyer, _other = street
    group, number, _lines = order_for(tenant, buyer, {goods["kettle"]: 1}, "c-2", up_to=S.accepted)
    browser = signed_in(make_client)
    response = cancel(browser, group, number)
    assert "订单已取消，已付款项将全额退回。" in _text(browser.get(response.headers["Location"]))
    order = _order(number)
    assert order.status == S.cancelled and order.refunded == order.total == 8900
    assert _stock(goods["kettle"]) == 10


def test_once_the_goods_are_picked_up_the_order_cannot_be_cancelled(app_ctx, street, make_client):
    tenant, goods, buyer, _other = street
    group, number, _lines = order_for(tenant, buyer, {goods["kettle"]: 1}, "c-3")
    browser = signed_in(make_client)
    assert "取消订单" not in _text(browser.get(f"/t/erqi-road/orders/{group}"))
    response = cancel(browser, group, number)  # the form of a page loaded before the goods were handed over
    assert response.status_code == 303
    assert "不能改为“已取消”" in _text(browser.get(response.headers["Location"]))
    assert _order(number).status == S.picked_up and _stock(goods["kettle"]) == 9


def test_nobody_cancels_another_buyers_order(app_ctx, street, make_client):
    tenant, goods, buyer, _other = street
    group, number, _lines = order_for(tenant, buyer, {goods["kettle"]: 1}, "c-4", up_to=S.paid)
    mine, _n, _l = order_for(tenant, buyer, {goods["kettle"]: 1}, "c-5", up_to=S.paid)
    stranger = signed_in(make_client, "someone@shangdu.example")
    assert stranger.submit(f"/t/erqi-road/orders/{group}/{number}/cancel", {},
                           page_url="/t/erqi-road/cart").status_code == 404
    browser = signed_in(make_client)
    assert cancel(browser, group, number, tenant="other-market").status_code == 404
    assert cancel(browser, mine, number).status_code == 404  # an order of another of her checkouts
    assert cancel(browser, group, "x" * 40).status_code == 404
    assert browser.post(f"/t/erqi-road/orders/{group}/{number}/cancel", data={}).status_code == 400  # no CSRF
    assert _order(number).status == S.paid
