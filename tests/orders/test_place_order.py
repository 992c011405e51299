"""Placing orders: one checkout over several shops, stock that never oversells, idempotent submissions,
tampered quantities refused, and the order state machine with its append-only history."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.catalog.models import Variant
from marketplace.core.db import AppendOnly, utcnow
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderEvent, OrderGroup, OrderStatus
from marketplace.tenancy.context import tenant_scope
from tests.search.test_indexing import purge


@pytest.fixture
def street(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant()
    shops = [make_shop(tenant, name_zh=name) for name in ("老王水果店", "李记茶叶", "穗丰农资")]
    category = make_category(tenant, product_type="general.goods")
    goods = {
        "apples": make_product(shops[0], category=category, title="红富士苹果", price=2990, stock=10),
        "tea": make_product(shops[1], category=category, title="信阳毛尖", price=12800, stock=5),
        "fertiliser": make_product(shops[2], category=category, title="复合肥 15-15-15", price=16600, stock=500,
                                   tiers=[(10, 15930), (100, 15270)]),
    }
    buyer = make_user()
    return tenant, shops, goods, buyer


def variant_of(product) -> Variant:
    return db.session.scalar(select(Variant).where(Variant.product_id == product.id))


def stock(product) -> int:
    db.session.commit()  # a fresh read: other connections may have written
    return variant_of(product).stock


def fill(tenant, buyer, lines: dict) -> orders.Cart:
    with tenant_scope(tenant):
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        for product, quantity in lines.items():
            orders.set_line(cart, variant_of(product).id, quantity)
        db.session.commit()
        return cart


def test_one_checkout_over_three_shops_makes_three_orders_and_takes_the_stock(street):
    tenant, shops, goods, buyer = street
    with tenant_scope(tenant):
        orders.order_settings.set(tenant, "commission_bp", 150)
        db.session.commit()
    cart = fill(tenant, buyer, {goods["apples"]: 2, goods["tea"]: 1, goods["fertiliser"]: 200})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "checkout-1")
        placed = sorted(group.orders, key=lambda o: o.shop_id)
        assert [o.shop_id for o in placed] == sorted(s.id for s in shops)
        by_shop = {o.shop_id: o for o in placed}
        assert by_shop[shops[0].id].total == 2 * 2990
        assert by_shop[shops[2].id].lines[0].unit_price == 15270  # 200 bags: the 100+ tier price
        assert by_shop[shops[2].id].lines[0].price_source == "tier:100"
        assert group.total == 2 * 2990 + 12800 + 200 * 15270
        assert by_shop[shops[2].id].commission == (200 * 15270 * 150 + 5000) // 10000
        assert all(o.status == OrderStatus.pending_payment for o in placed)
        assert db.session.scalar(select(func.count(OrderEvent.id))) == 3
        assert stock(goods["apples"]) == 8 and stock(goods["tea"]) == 4 and stock(goods["fertiliser"]) == 300
        assert orders.cart_for(tenant, user_id=buyer.id).lines == []
        line = by_shop[shops[1].id].lines[0]
        assert (line.title, line.sku, line.quantity) == ("信阳毛尖", variant_of(goods["tea"]).sku, 1)


def test_when_one_shop_cannot_deliver_nothing_is_ordered_anywhere(street):
    tenant, _shops, goods, buyer = street
    cart = fill(tenant, buyer, {goods["apples"]: 2, goods["tea"]: 5})
    with tenant_scope(tenant):
        variant = variant_of(goods["tea"])
        variant.stock = 3  # sold in the shop meanwhile
        db.session.commit()
        with pytest.raises(orders.CheckoutError) as refused:
            orders.place_order(tenant, buyer.id, cart, "checkout-2")
        assert [p.code for p in refused.value.problems] == ["not_enough_stock"]
        assert db.session.scalar(select(func.count(Order.id))) == 0
        assert stock(goods["apples"]) == 10
        assert len(orders.cart_for(tenant, user_id=buyer.id).lines) == 2  # the cart is kept to fix


def test_the_same_submission_twice_is_one_order_group(street):
    tenant, _shops, goods, buyer = street
    cart = fill(tenant, buyer, {goods["apples"]: 3})
    with tenant_scope(tenant):
        first = orders.place_order(tenant, buyer.id, cart, "checkout-3")
        again = orders.place_order(tenant, buyer.id, cart, "checkout-3")
        assert again.id == first.id
        assert db.session.scalar(select(func.count(OrderGroup.id))) == 1
        assert stock(goods["apples"]) == 7


@pytest.mark.parametrize("quantity", [0, -1, "-5", "abc", 1.5, "1.5", "2e3", None, True, 10**9, "", " ", [], {}])
def test_tampered_quantities_are_refused_and_change_nothing(street, quantity):
    tenant, _shops, goods, buyer = street
    with tenant_scope(tenant):
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        with pytest.raises(orders.CartError) as refused:
            orders.set_line(cart, variant_of(goods["apples"]).id, quantity, add=True)
        assert refused.value.code == "bad_quantity"
        assert cart.lines == []


def test_another_tenants_variant_is_not_found(street, make_tenant, make_shop, make_category, make_product):
    tenant, _shops, _goods, buyer = street
    other = make_tenant()
    theirs = make_product(make_shop(other), category=make_category(other), title="别家的苹果")
    with tenant_scope(other):
        their_variant = variant_of(theirs).id
    with tenant_scope(tenant):
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        for bad in (their_variant, "abc", -1, 2**40):
            with pytest.raises(orders.CartError) as refused:
                orders.set_line(cart, bad, 1)
            assert refused.value.code == "unknown_variant"


def test_an_order_moves_only_along_the_state_machine_and_keeps_its_history(street):
    tenant, shops, goods, buyer = street
    cart = fill(tenant, buyer, {goods["apples"]: 1})
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, "checkout-4").orders[0]
        with pytest.raises(orders.InvalidTransition):
            orders.transition(order, OrderStatus.completed)
        for step in (OrderStatus.paid, OrderStatus.accepted, OrderStatus.ready_for_pickup, OrderStatus.picked_up,
                     OrderStatus.completed):
            orders.transition(order, step, actor_id=buyer.id)
        db.session.commit()
        history = [(e.from_status, e.to_status) for e in db.session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))]
        assert history == [("", "pending_payment"), ("pending_payment", "paid"), ("paid", "accepted"),
                           ("accepted", "ready_for_pickup"), ("ready_for_pickup", "picked_up"),
                           ("picked_up", "completed")]
        event = db.session.scalar(select(OrderEvent).where(OrderEvent.order_id == order.id))
        event.note = "改写历史"
        with pytest.raises(AppendOnly):
            db.session.flush()
        db.session.rollback()


def test_cancelling_before_dispatch_puts_the_goods_back(street):
    tenant, _shops, goods, buyer = street
    cart = fill(tenant, buyer, {goods["tea"]: 2})
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, "checkout-5").orders[0]
        assert stock(goods["tea"]) == 3
        orders.transition(db.session.get(Order, order.id), OrderStatus.cancelled, actor_id=buyer.id, note="不要了")
        db.session.commit()
        assert stock(goods["tea"]) == 5


def test_an_unpaid_order_is_cancelled_after_its_deadline_and_its_stock_released(street):
    tenant, _shops, goods, buyer = street
    cart = fill(tenant, buyer, {goods["apples"]: 4})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "checkout-6")
        assert orders.release_expired_holds(utcnow()) == 0  # still within the 30 minutes
        assert orders.release_expired_holds(group.payment_deadline + timedelta(seconds=1)) == 1
        db.session.commit()
        assert db.session.get(Order, group.orders[0].id).status == OrderStatus.cancelled
        assert stock(goods["apples"]) == 10


@pytest.mark.no_transaction
def test_many_buyers_at_once_never_buy_more_than_there_is(app, make_tenant, make_shop, make_category,
                                                          make_product, make_user):
    """Twelve buyers race for five units through real, separate database connections: exactly five win."""
    with app.app_context():
        tenant = make_tenant()
        try:
            product = make_product(make_shop(tenant), category=make_category(tenant, product_type="general.goods"),
                                   title="限量月饼", price=8800, stock=5)
            buyer_ids: list[int] = []
            buyers = [make_user() for _ in range(12)]
            carts = [fill(tenant, buyer, {product: 1}) for buyer in buyers]
            tenant_id, cart_ids = tenant.id, [c.id for c in carts]
            buyer_ids.extend(b.id for b in buyers)
            outcomes: list[str] = []
            start = threading.Barrier(len(buyers))

            def buy(index: int) -> None:
                with app.app_context():
                    from marketplace.tenancy.models import Tenant

                    start.wait()
                    here = db.session.get(Tenant, tenant_id)
                    with tenant_scope(here):
                        cart = db.session.get(orders.Cart, cart_ids[index])
                        try:
                            orders.place_order(here, buyer_ids[index], cart, f"race-{index}")
                            outcomes.append("bought")
                        except orders.CheckoutError:
                            outcomes.append("sold out")

            threads = [threading.Thread(target=buy, args=(i,)) for i in range(len(buyers))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert outcomes.count("bought") == 5 and outcomes.count("sold out") == 7
            with tenant_scope(tenant):
                assert stock(product) == 0
                assert db.session.scalar(select(func.count(Order.id))) == 5
        finally:
            purge(tenant.id)
            with db.engine.begin() as connection:  # the buyers were committed too: no other test should see them
                connection.execute(User.__table__.delete().where(User.id.in_(buyer_ids)))


def test_the_release_holds_command_cancels_what_was_not_paid_in_time(app, street):
    tenant, _shops, goods, buyer = street
    cart = fill(tenant, buyer, {goods["apples"]: 4})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "checkout-7")
        group.payment_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["orders", "release-holds"])
    assert result.exit_code == 0, result.output
    assert f"{tenant.slug}：取消了 1 个超时未付款的订单。" in result.output
    with tenant_scope(tenant):
        assert stock(goods["apples"]) == 10


def test_cancelling_a_paid_order_refunds_it_in_full_and_the_ledger_owes_the_shop_nothing(street):
    from marketplace.catalog.admin import tenant_today
    from marketplace.orders import ledger
    from marketplace.orders.returns import Refund

    tenant, shops, goods, buyer = street
    cart = fill(tenant, buyer, {goods["tea"]: 1})
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, "checkout-8").orders[0]
        orders.transition(order, OrderStatus.paid, actor_id=buyer.id)
        orders.transition(order, OrderStatus.cancelled, note="缺货，已退还现金")
        db.session.commit()
        refunds = db.session.scalars(select(Refund).where(Refund.order_id == order.id)).all()
        assert [r.amount for r in refunds] == [12800] and db.session.get(Order, order.id).refunded == 12800
        today = tenant_today(tenant)
        statement = ledger.shop_ledger(tenant, db.session.get(orders.Shop, shops[1].id), today, today)
        assert statement.net_due == 0


def test_the_buyer_may_cancel_until_the_goods_leave_the_shop(street):
    tenant, _shops, goods, buyer = street
    cart = fill(tenant, buyer, {goods["apples"]: 3})
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, "buyer-cancel").orders[0]
        orders.transition(order, OrderStatus.paid)
        orders.transition(order, OrderStatus.accepted)
        with pytest.raises(orders.InvalidTransition):  # not their order
            orders.cancel_by_buyer(order, buyer_id=buyer.id + 1000)
        orders.cancel_by_buyer(order, buyer_id=buyer.id, reason="买多了")
        assert order.status == OrderStatus.cancelled and order.refunded == order.total
        assert order.events[-1].note == "买家取消：买多了" and order.events[-1].actor_id == buyer.id
        assert variant_of(goods["apples"]).stock == 10

    cart = fill(tenant, buyer, {goods["apples"]: 1})
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, "buyer-cancel-late").orders[0]
        for step in (OrderStatus.paid, OrderStatus.accepted, OrderStatus.shipped):
            orders.transition(order, step)
        with pytest.raises(orders.InvalidTransition):  # on its way: a return is the way now
            orders.cancel_by_buyer(order, buyer_id=buyer.id)
        assert order.status == OrderStatus.shipped


def test_goods_outside_no_reason_returns_by_confirmation_need_the_buyers_tick(street, make_category, make_product):
    tenant, shops, goods, buyer = street
    hygiene = make_category(tenant, name_zh="贴身衣物", return_exclusion="hygiene")
    fresh = make_category(tenant, name_zh="生鲜", return_exclusion="perishable")
    underwear = make_product(shops[0], category=hygiene, title="纯棉内衣", price=3900, stock=5)
    fish = make_product(shops[0], category=fresh, title="活鲤鱼", price=3200, stock=5)
    cart = fill(tenant, buyer, {fish: 1, goods["apples"]: 1})
    with tenant_scope(tenant):  # the four classes the law excludes outright need no tick
        assert orders.needs_confirmation(orders.price_cart(tenant, cart)) == []
        orders.place_order(tenant, buyer.id, cart, "no-tick-needed")
    cart = fill(tenant, buyer, {underwear: 1, goods["apples"]: 1})
    with tenant_scope(tenant):
        assert [code for _line, code in orders.needs_confirmation(orders.price_cart(tenant, cart))] == ["hygiene"]
        with pytest.raises(orders.CheckoutError) as refused:
            orders.place_order(tenant, buyer.id, cart, "no-tick")
        assert [p.code for p in refused.value.problems] == ["confirm_exclusions"]
        assert "纯棉内衣" in str(refused.value) and variant_of(underwear).stock == 5
        group = orders.place_order(tenant, buyer.id, cart, "ticked", confirmed_exclusions=True)
        assert {line.title: line.return_exclusion for line in group.orders[0].lines} == {
            "纯棉内衣": "hygiene", "红富士苹果": ""}


def test_the_payment_hold_may_differ_per_payment_provider(street):
    tenant, _shops, goods, buyer = street
    with tenant_scope(tenant):
        orders.order_settings.set(tenant, "payment_minutes", 30)
        orders.order_settings.set(tenant, "payment_minutes_by_provider", {"offline": 1440})
        db.session.commit()
        assert orders.payment_minutes(tenant, "offline") == 1440
        assert orders.payment_minutes(tenant, "stripe") == 30
    cart = fill(tenant, buyer, {goods["apples"]: 1})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "held-a-day")
        held = group.payment_deadline - group.created_at
        assert timedelta(minutes=1439) < held <= timedelta(minutes=1441)


@pytest.mark.postgres
@pytest.mark.no_transaction
def test_a_cancellation_and_a_checkout_of_the_same_goods_at_once_both_go_through(app, make_tenant, make_shop,
                                                                                 make_category, make_product,
                                                                                 make_user):
    """Restocking takes the variant rows in the order checkout does (by id): the two never deadlock, even when
    the cancelled order lists its goods the other way round and each has updated its first row."""
    from sqlalchemy import event

    from marketplace.tenancy.models import Tenant

    with app.app_context():
        tenant = make_tenant()
        users: list[int] = []
        try:
            shop = make_shop(tenant)
            category = make_category(tenant, product_type="general.goods")
            low = make_product(shop, category=category, title="低", price=100, stock=50)
            high = make_product(shop, category=category, title="高", price=100, stock=50)
            first, second = make_user(), make_user()
            users = [first.id, second.id]
            cart = fill(tenant, first, {high: 1, low: 1})  # the order's lines: high id first
            with tenant_scope(tenant):
                order_id = orders.place_order(tenant, first.id, cart, "cancel-race-1").orders[0].id
            other_cart_id = fill(tenant, second, {low: 1, high: 1}).id
            tenant_id, first_id, second_id = tenant.id, first.id, second.id
            started = {"cancel": threading.Event(), "checkout": threading.Event()}
            seen: dict[str, int] = {}

            def meet_after_first_update(_conn, _cursor, statement, *_args):
                name = threading.current_thread().name
                if name in started and statement.lstrip().upper().startswith("UPDATE VARIANTS"):
                    seen[name] = seen.get(name, 0) + 1
                    if seen[name] == 1:  # each holds one row and waits (briefly) for the other to hold one
                        started[name].set()
                        started["checkout" if name == "cancel" else "cancel"].wait(3)

            outcomes: dict[str, str] = {}

            def run(name, work):
                with app.app_context(), tenant_scope(db.session.get(Tenant, tenant_id)):
                    try:
                        work()
                        db.session.commit()
                        outcomes[name] = "ok"
                    except Exception as error:  # noqa: BLE001 - the outcome is what the test reads
                        db.session.rollback()
                        outcomes[name] = f"{type(error).__name__}: {error}"

            def cancel():
                order = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
                orders.cancel_by_buyer(order, buyer_id=first_id)

            def checkout():
                here = db.session.get(Tenant, tenant_id)
                orders.place_order(here, second_id, db.session.get(orders.Cart, other_cart_id), "cancel-race-2")

            event.listen(db.engine, "after_cursor_execute", meet_after_first_update)
            try:
                threads = [threading.Thread(target=run, args=(name, work), name=name)
                           for name, work in (("cancel", cancel), ("checkout", checkout))]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(30)
            finally:
                event.remove(db.engine, "after_cursor_execute", meet_after_first_update)
            assert outcomes == {"cancel": "ok", "checkout": "ok"}
            with tenant_scope(tenant):
                assert stock(low) == 49 and stock(high) == 49
        finally:
            purge(tenant.id)
            with db.engine.begin() as connection:
                connection.execute(User.__table__.delete().where(User.id.in_(users)))


def test_the_group_is_paid_once_the_buyer_cancels_the_part_still_unpaid(street):
    from marketplace.orders.handling import confirm_offline_payment

    tenant, _shops, goods, buyer = street
    cart = fill(tenant, buyer, {goods["apples"]: 1, goods["tea"]: 1})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "half-paid")
        apples, tea = group.orders
        confirm_offline_payment(apples, actor_id=None)
        assert group.paid_at is None  # the tea is still unpaid
        orders.cancel_by_buyer(tea, buyer_id=buyer.id)
        db.session.refresh(group)
        assert group.paid_at is not None
