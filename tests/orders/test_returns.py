"""Returns and refunds: the 7-day window counted from the day after receipt on the tenant's calendar, excluded
categories, quantity bounds, the merchant's answer and the platform's approval when it stays silent, and refunds
that never exceed what was paid — also when two arrive at once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from marketplace.orders.returns import Refund, ReturnError, ReturnStatus
from marketplace.tenancy.context import tenant_scope
from tests.orders.test_place_order import fill, variant_of
from tests.search.test_indexing import purge

S = OrderStatus
#: 2026-12-01 01:30 in Shanghai — still 11-30 in UTC: the day that counts is the tenant's.
SIGNED_AT = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)


def record(order: Order, to: str, at: datetime) -> None:
    """Test data: the order reached ``to`` at ``at`` (a past moment ``transition`` cannot stamp)."""
    db.session.add(OrderEvent(tenant_id=order.tenant_id, order_id=order.id, at=at, from_status=order.status,
                              to_status=to))
    order.status = to
    db.session.flush()


def delivered_order(tenant, buyer, lines: dict, key: str, *, signed_at: datetime = SIGNED_AT) -> Order:
    cart = fill(tenant, buyer, lines)
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, key).orders[0]
        for step in (S.paid, S.accepted, S.shipped):
            orders.transition(order, step)
        record(order, S.delivered, signed_at)
        db.session.commit()
        return order


@pytest.fixture
def street(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(address_zh="郑州市二七区德化街")
    shop = make_shop(tenant, name_zh="老王杂货", phone="0371-66668888", street_number="18号")
    general = make_category(tenant)
    fresh = make_category(tenant, name_zh="生鲜", return_exclusion="perishable")
    goods = {
        "kettle": make_product(shop, category=general, title="电水壶", price=8900, stock=10),
        "cups": make_product(shop, category=general, title="玻璃杯", price=1500, stock=20),
        "fish": make_product(shop, category=fresh, title="活鲤鱼", price=3200, stock=10),
    }
    return tenant, shop, goods, make_user(), make_user()


def lines_by_title(order: Order) -> dict[str, int]:
    return {line.title: line.id for line in order.lines}


def test_a_no_reason_return_is_open_until_the_seventh_day_after_receipt(street):
    tenant, _shop, goods, buyer, _merchant = street
    order = delivered_order(tenant, buyer, {goods["kettle"]: 1}, "r-1")
    with tenant_scope(tenant):
        kettle = lines_by_title(order)["电水壶"]
        # Signed for at 01:30 on 1 December in Shanghai (30 November in UTC): the 7 days run 2–8 December.
        assert returns.received_on(tenant, order) == date(2026, 12, 1)
        assert returns.last_return_day(tenant, order) == date(2026, 12, 8)
        with pytest.raises(ReturnError) as late:
            returns.request_return(tenant, order, {kettle: 1}, buyer_id=buyer.id, today=date(2026, 12, 9))
        assert late.value.code == "window_closed" and "2026-12-08" in str(late.value)
        request = returns.request_return(tenant, order, {kettle: 1}, buyer_id=buyer.id, today=date(2026, 12, 8),
                                         now=datetime(2026, 12, 8, 15, 0, tzinfo=UTC))
        assert request.status == ReturnStatus.requested and request.amount == 8900
        assert request.no_reason and request.shop_id == order.shop_id


def test_the_day_of_receipt_itself_does_not_use_up_a_day(street):
    tenant, _shop, goods, buyer, _merchant = street
    # Signed for at 23:50 on 1 December (Shanghai): 1 December is not counted, so the 8th is still open.
    order = delivered_order(tenant, buyer, {goods["cups"]: 2}, "r-2",
                            signed_at=datetime(2026, 12, 1, 15, 50, tzinfo=UTC))
    with tenant_scope(tenant):
        cups = lines_by_title(order)["玻璃杯"]
        assert returns.last_return_day(tenant, order) == date(2026, 12, 8)
        returns.request_return(tenant, order, {cups: 1}, buyer_id=buyer.id, today=date(2026, 12, 1))
        returns.request_return(tenant, order, {cups: 1}, buyer_id=buyer.id, today=date(2026, 12, 8))


def test_goods_not_yet_received_cannot_be_returned(street):
    tenant, _shop, goods, buyer, _merchant = street
    cart = fill(tenant, buyer, {goods["kettle"]: 1})
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, "r-3").orders[0]
        for step in (S.paid, S.accepted, S.shipped):
            orders.transition(order, step)
        with pytest.raises(ReturnError) as refused:
            returns.request_return(tenant, order, {order.lines[0].id: 1}, buyer_id=buyer.id,
                                   today=date(2026, 12, 1))
        assert refused.value.code == "not_received"


def test_perishable_goods_are_refused_without_reason_but_not_for_a_quality_fault(street):
    tenant, _shop, goods, buyer, _merchant = street
    order = delivered_order(tenant, buyer, {goods["fish"]: 2, goods["cups"]: 1}, "r-4")
    with tenant_scope(tenant):
        ids = lines_by_title(order)
        with pytest.raises(ReturnError) as refused:
            returns.request_return(tenant, order, {ids["活鲤鱼"]: 1, ids["玻璃杯"]: 1}, buyer_id=buyer.id,
                                   today=date(2026, 12, 3))
        assert refused.value.code == "excluded" and "鲜活易腐" in str(refused.value)
        with pytest.raises(ReturnError) as no_reason_given:
            returns.request_return(tenant, order, {ids["活鲤鱼"]: 1}, buyer_id=buyer.id, no_reason=False,
                                   today=date(2026, 12, 3))
        assert no_reason_given.value.code == "reason_required"
        request = returns.request_return(tenant, order, {ids["活鲤鱼"]: 2}, buyer_id=buyer.id, no_reason=False,
                                         reason="送到时鱼已经死了", today=date(2026, 12, 3))
        assert request.amount == 2 * 3200 and not request.no_reason


def test_quantities_are_bounded_by_what_was_bought_and_not_yet_returned(street):
    tenant, _shop, goods, buyer, merchant = street
    order = delivered_order(tenant, buyer, {goods["cups"]: 3}, "r-5")
    with tenant_scope(tenant):
        cups = lines_by_title(order)["玻璃杯"]
        today = date(2026, 12, 2)
        for bad, code in ((4, "too_many"), (-1, "bad_quantity"), ("1.5", "bad_quantity"), (True, "bad_quantity"),
                          (None, "bad_quantity"), ("abc", "bad_quantity"), (0, "nothing_to_return")):
            with pytest.raises(ReturnError) as refused:
                returns.request_return(tenant, order, {cups: bad}, buyer_id=buyer.id, today=today)
            assert refused.value.code == code, bad
        with pytest.raises(ReturnError) as refused:
            returns.request_return(tenant, order, {}, buyer_id=buyer.id, today=today)
        assert refused.value.code == "nothing_to_return"
        first = returns.request_return(tenant, order, {str(cups): "2"}, buyer_id=buyer.id, today=today)
        with pytest.raises(ReturnError) as refused:
            returns.request_return(tenant, order, {cups: 2}, buyer_id=buyer.id, today=today)
        assert refused.value.code == "too_many" and "1" in str(refused.value)
        # A refused request gives its units back.
        returns.reject(first, actor_id=merchant.id, reason="杯子有使用痕迹")
        returns.request_return(tenant, order, {cups: 3}, buyer_id=buyer.id, today=today)
        assert returns.returnable_quantities(order) == {cups: 0}


def test_a_line_of_another_order_or_someone_elses_order_is_refused(street, make_user):
    tenant, _shop, goods, buyer, _merchant = street
    mine = delivered_order(tenant, buyer, {goods["cups"]: 1}, "r-6")
    other_buyer = make_user()
    theirs = delivered_order(tenant, other_buyer, {goods["kettle"]: 1}, "r-7")
    with tenant_scope(tenant):
        for bad in (theirs.lines[0].id, "x", -3, 10**15):
            with pytest.raises(ReturnError) as refused:
                returns.request_return(tenant, mine, {bad: 1}, buyer_id=buyer.id, today=date(2026, 12, 2))
            assert refused.value.code == "unknown_line"
        with pytest.raises(ReturnError) as refused:
            returns.request_return(tenant, theirs, {theirs.lines[0].id: 1}, buyer_id=buyer.id,
                                   today=date(2026, 12, 2))
        assert refused.value.code == "not_your_order"


def test_the_merchant_approves_receives_and_refunds_and_the_order_follows(street):
    tenant, _shop, goods, buyer, merchant = street
    order = delivered_order(tenant, buyer, {goods["kettle"]: 1, goods["cups"]: 2}, "r-8")
    with tenant_scope(tenant):
        ids = lines_by_title(order)
        request = returns.request_return(tenant, order, {ids["玻璃杯"]: 2}, buyer_id=buyer.id,
                                         today=date(2026, 12, 2))
        with pytest.raises(ReturnError) as refused:
            returns.approve(request, actor_id=merchant.id, return_address="  ")
        assert refused.value.code == "address_required"
        returns.approve(request, actor_id=merchant.id, return_address="德化街18号 老王 0371-66668888")
        with pytest.raises(ReturnError):
            returns.reject(request, actor_id=merchant.id, reason="太晚了")  # already answered
        returns.mark_received(request, actor_id=merchant.id)
        refund = returns.refund_return(request, actor_id=merchant.id)
        db.session.commit()
        order = db.session.get(Order, order.id)
        assert (refund.amount, refund.provider, refund.status) == (3000, "offline", "succeeded")
        assert request.status == ReturnStatus.refunded
        assert order.refunded == 3000 and order.status == S.completed  # a partial refund: the rest stands
        history = [(e.from_status, e.to_status) for e in db.session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))][-2:]
        assert history == [("delivered", "refunding"), ("refunding", "completed")]
        # The kettle too, later: now everything has gone back.
        second = returns.request_return(tenant, order, {ids["电水壶"]: 1}, buyer_id=buyer.id,
                                        today=date(2026, 12, 5))
        returns.approve(second, actor_id=merchant.id, return_address="德化街18号")
        returns.refund_return(second, actor_id=merchant.id)
        assert (order.refunded, order.total) == (11900, 11900)  # collected in the shop: no delivery fee
        assert order.status == S.refunded


def test_a_rejection_needs_a_reason(street):
    tenant, _shop, goods, buyer, merchant = street
    order = delivered_order(tenant, buyer, {goods["cups"]: 1}, "r-9")
    with tenant_scope(tenant):
        request = returns.request_return(tenant, order, {order.lines[0].id: 1}, buyer_id=buyer.id,
                                         today=date(2026, 12, 2))
        with pytest.raises(ReturnError) as refused:
            returns.reject(request, actor_id=merchant.id, reason="")
        assert refused.value.code == "reason_required"
        returns.reject(request, actor_id=merchant.id, reason="商品已使用")
        assert request.status == ReturnStatus.rejected and request.reject_reason == "商品已使用"


def test_requests_the_merchant_leaves_unanswered_are_approved_after_the_deadline(street):
    tenant, _shop, goods, buyer, merchant = street
    order = delivered_order(tenant, buyer, {goods["cups"]: 2}, "r-10")
    with tenant_scope(tenant):
        cups = order.lines[0].id
        asked = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
        silent = returns.request_return(tenant, order, {cups: 1}, buyer_id=buyer.id, today=date(2026, 12, 2),
                                        now=asked)
        answered = returns.request_return(tenant, order, {cups: 1}, buyer_id=buyer.id, today=date(2026, 12, 2),
                                          now=asked)
        returns.reject(answered, actor_id=merchant.id, reason="已拆封使用", now=asked + timedelta(hours=1))
        assert silent.respond_by == asked + timedelta(hours=48)
        assert returns.auto_approve_overdue(tenant, now=asked + timedelta(hours=47)) == 0
        assert silent.status == ReturnStatus.requested
        assert returns.auto_approve_overdue(tenant, now=asked + timedelta(hours=48, seconds=1)) == 1
        assert silent.status == ReturnStatus.approved and silent.decided_by is None
        assert "德化街" in silent.return_address and "0371-66668888" in silent.return_address
        assert answered.status == ReturnStatus.rejected
        assert returns.auto_approve_overdue(tenant, now=asked + timedelta(days=5)) == 0


def test_the_answer_deadline_is_a_tenant_setting(street):
    tenant, _shop, goods, buyer, _merchant = street
    order = delivered_order(tenant, buyer, {goods["cups"]: 1}, "r-11")
    with tenant_scope(tenant):
        returns.returns_settings.set(tenant, "respond_hours", 24)
        asked = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
        request = returns.request_return(tenant, order, {order.lines[0].id: 1}, buyer_id=buyer.id,
                                         today=date(2026, 12, 2), now=asked)
        assert request.respond_by == asked + timedelta(hours=24)


def test_refunds_never_exceed_what_was_paid(street):
    tenant, _shop, goods, buyer, merchant = street
    order = delivered_order(tenant, buyer, {goods["kettle"]: 1}, "r-12")
    with tenant_scope(tenant):
        for bad in (0, -100, "100", 1.5, True, None):
            with pytest.raises(ReturnError) as refused:
                returns.refund(order, bad, actor_id=merchant.id)
            assert refused.value.code == "bad_amount"
        with pytest.raises(ReturnError) as refused:
            returns.refund(order, 8901, actor_id=merchant.id)
        assert refused.value.code == "too_much" and "89.00" in str(refused.value)
        returns.refund(order, 2000, actor_id=merchant.id)
        with pytest.raises(ReturnError) as refused:
            returns.refund(order, 6901, actor_id=merchant.id)
        assert refused.value.code == "too_much" and "69.00" in str(refused.value)
        returns.refund(order, 6900, actor_id=merchant.id)
        db.session.commit()
        order = db.session.get(Order, order.id)
        assert (order.refunded, order.status) == (8900, S.refunded)
        assert [r.amount for r in db.session.scalars(select(Refund).where(Refund.order_id == order.id))] == \
            [2000, 6900]
        with pytest.raises(ReturnError) as refused:
            returns.refund(order, 1, actor_id=merchant.id)
        assert refused.value.code == "not_refundable"


def test_before_receipt_only_a_full_refund_is_possible(street):
    tenant, _shop, goods, buyer, merchant = street
    cart = fill(tenant, buyer, {goods["kettle"]: 1})
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, "r-13").orders[0]
        with pytest.raises(ReturnError) as refused:
            returns.refund(order, 8900, actor_id=merchant.id)
        assert refused.value.code == "not_refundable"  # not paid yet
        orders.transition(order, S.paid)
        with pytest.raises(ReturnError) as refused:
            returns.refund(order, 100, actor_id=merchant.id)
        assert refused.value.code == "full_refund_only"
        returns.refund(order, 8900, actor_id=merchant.id)
        assert order.status == S.refunded
        # The goods never left the shop: refunding in full before dispatch puts them back on the shelf.
        assert variant_of(goods["kettle"]).stock == 10


def test_an_order_line_keeps_the_exclusion_it_was_bought_under(street):
    """A category marked perishable after the sale does not take the buyer's right away (nor give it back)."""
    tenant, _shop, goods, buyer, _merchant = street
    order = delivered_order(tenant, buyer, {goods["kettle"]: 1, goods["fish"]: 1}, "r-snap")
    with tenant_scope(tenant):
        ids = lines_by_title(order)
        assert {line.title: line.return_exclusion for line in order.lines} == {"电水壶": "", "活鲤鱼": "perishable"}
        goods["kettle"].category.return_exclusion = "perishable"
        goods["fish"].category.return_exclusion = ""
        db.session.flush()
        request = returns.request_return(tenant, order, {ids["电水壶"]: 1}, buyer_id=buyer.id, today=date(2026, 12, 2))
        assert request.amount == 8900
        with pytest.raises(ReturnError) as refused:
            returns.request_return(tenant, order, {ids["活鲤鱼"]: 1}, buyer_id=buyer.id, today=date(2026, 12, 2))
        assert refused.value.code == "excluded"


def test_the_same_return_submission_twice_is_one_request(street):
    tenant, _shop, goods, buyer, _merchant = street
    order = delivered_order(tenant, buyer, {goods["cups"]: 3}, "r-twice")
    with tenant_scope(tenant):
        cups = lines_by_title(order)["玻璃杯"]
        first = returns.request_return(tenant, order, {cups: 1}, buyer_id=buyer.id, key="form-1",
                                       today=date(2026, 12, 2))
        again = returns.request_return(tenant, order, {cups: 1}, buyer_id=buyer.id, key="form-1",
                                       today=date(2026, 12, 2))
        other = returns.request_return(tenant, order, {cups: 1}, buyer_id=buyer.id, key="form-2",
                                       today=date(2026, 12, 2))
        assert again.id == first.id and other.id != first.id
        assert returns.returnable_quantities(order)[cups] == 1


@pytest.mark.no_transaction
def test_two_refunds_at_once_never_return_more_than_was_paid(app, make_tenant, make_shop, make_category,
                                                             make_product, make_user):
    """Eight merchants' clerks refund 30 yuan each, at once, of an 89-yuan order: two win, and no more."""
    with app.app_context():
        tenant = make_tenant()
        try:
            shop = make_shop(tenant)
            product = make_product(shop, category=make_category(tenant), title="电水壶", price=8900, stock=5)
            buyer, clerk = make_user(), make_user()
            users = [buyer.id, clerk.id]
            order = delivered_order(tenant, buyer, {product: 1}, "race-refund")
            tenant_id, order_id, clerk_id = tenant.id, order.id, clerk.id
            outcomes: list[str] = []
            start = threading.Barrier(8)

            def refund_once() -> None:
                with app.app_context():
                    from marketplace.core.db import writing
                    from marketplace.tenancy.models import Tenant

                    here = db.session.get(Tenant, tenant_id)
                    db.session.commit()
                    start.wait()
                    with writing(), tenant_scope(here):  # the write lock first: no read that turns into a write
                        try:
                            returns.refund(db.session.get(Order, order_id), 3000, actor_id=clerk_id)
                            db.session.commit()
                            outcomes.append("refunded")
                        except ReturnError as refused:
                            db.session.rollback()
                            outcomes.append(refused.code)
                        except Exception as error:  # reported by the assertion below, not lost in a thread
                            db.session.rollback()
                            outcomes.append(repr(error))

            threads = [threading.Thread(target=refund_once) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert outcomes.count("refunded") == 2, outcomes
            with tenant_scope(tenant):
                db.session.commit()
                order = db.session.get(Order, order_id)
                assert order.refunded == 6000
                assert sum(r.amount for r in db.session.scalars(select(Refund))) == 6000
        finally:
            purge(tenant.id)
            if "users" in locals():  # committed too: no other test should see them
                with db.engine.begin() as connection:
                    connection.execute(User.__table__.delete().where(User.id.in_(users)))
