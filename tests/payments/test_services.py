"""What the platform makes of a provider's word (``payments.services.apply_result``): amounts that are not ours
mark nothing paid, a payment only moves forward, money that no order keeps is given back, and refunds never
exceed what was paid. The provider here is a stand-in only in name: the results are the plain values any
provider hands over, and everything they touch is the real order and payment code."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import OrderEvent, OrderStatus
from marketplace.orders.returns import Refund, RefundStatus
from marketplace.payments import services as payments
from marketplace.payments.models import Payment
from marketplace.payments.providers import Choice, PaymentStatus, ProviderResult, RefundResult
from marketplace.tenancy.context import tenant_scope
from tests.fixtures.factories import pickup_code
from tests.orders.test_place_order import fill

S = PaymentStatus


@pytest.fixture
def placed(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    """A two-shop group, unpaid, with an online payment attempt for its total (provider answered pi_1)."""
    tenant = make_tenant()
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(make_shop(tenant, name_zh="鲜果坊"), category=category, title="苹果", price=1200, stock=9)
    tea = make_product(make_shop(tenant, name_zh="茶庄"), category=category, title="毛尖", price=16800, stock=9)
    buyer = make_user()
    cart = fill(tenant, buyer, {apples: 1, tea: 1})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "pay-1", payment_provider="stripe")
        payment = payments.create_payment(group, Choice("stripe", "card", "银行卡"))
        payment.reference = "pi_1"
        db.session.commit()
    return tenant, group, payment


def result(status, *, amount=18000, currency="cny", reference="pi_1", captured=None) -> ProviderResult:
    return ProviderResult(reference=reference, status=status, amount=amount, currency=currency,
                          amount_captured=amount if captured is None and status == S.succeeded else captured or 0)


def paid_events(group) -> int:
    return db.session.scalar(select(db.func.count(OrderEvent.id)).where(
        OrderEvent.order_id.in_([o.id for o in group.orders]), OrderEvent.to_status == OrderStatus.paid))


def test_a_succeeded_payment_pays_every_order_of_the_group_once(placed):
    tenant, group, payment = placed
    with tenant_scope(tenant):
        assert payments.apply_result(payment, result(S.succeeded)) == "applied"
        assert payments.apply_result(payment, result(S.succeeded)) == "unchanged"
        db.session.commit()
        assert {o.status for o in group.orders} == {OrderStatus.paid} and group.paid_at is not None
        assert paid_events(group) == 2 and payment.amount_captured == 18000


@pytest.mark.parametrize(("amount", "currency", "reference"), [(17999, "cny", "pi_1"), (18000, "usd", "pi_1"),
                                                              (18000, "cny", "pi_other")])
def test_an_amount_currency_or_reference_that_is_not_ours_marks_nothing_paid(placed, amount, currency, reference):
    tenant, group, payment = placed
    with tenant_scope(tenant):
        outcome = payments.apply_result(payment, result(S.succeeded, amount=amount, currency=currency,
                                                        reference=reference))
        db.session.commit()
        assert outcome == "mismatch" and payment.status == S.pending and "不符" in payment.problem
        assert {o.status for o in group.orders} == {OrderStatus.pending_payment} and group.paid_at is None


def test_results_in_any_order_end_in_the_same_state(placed):
    tenant, group, payment = placed
    steps = [result(S.requires_action), result(S.failed), result(S.succeeded), result(S.pending)]
    with tenant_scope(tenant):
        for order_of_steps in itertools.permutations(steps):
            db.session.rollback()
            for step in order_of_steps:
                payments.apply_result(payment, step)
            db.session.flush()
            assert payment.status == S.succeeded and paid_events(group) == 2, order_of_steps


def test_money_for_an_order_cancelled_meanwhile_goes_back_and_is_not_the_shops(placed):
    tenant, group, payment = placed
    with tenant_scope(tenant):
        apples, tea = group.orders
        orders.transition(apples, OrderStatus.cancelled, note="超时")
        payments.apply_result(payment, result(S.succeeded))
        db.session.commit()
        assert (apples.status, tea.status) == (OrderStatus.cancelled, OrderStatus.paid)
        [given_back] = db.session.scalars(select(Refund)).all()
        assert (given_back.order_id, given_back.amount, given_back.currency, given_back.payment_id,
                given_back.status) == (apples.id, apples.total, "CNY", payment.id, RefundStatus.pending)


def test_a_second_payment_for_a_paid_group_is_given_back_whole(placed):
    tenant, group, payment = placed
    with tenant_scope(tenant):
        # The buyer started a second attempt (another tab) before the first one went through.
        second = payments.create_payment(group, Choice("stripe", "alipay", "支付宝"))
        second.reference = "pi_2"
        payments.apply_result(payment, result(S.succeeded))
        payments.apply_result(second, result(S.succeeded, reference="pi_2"))
        db.session.commit()
        assert paid_events(group) == 2  # the orders were paid once
        refunds = db.session.scalars(select(Refund).where(Refund.payment_id == second.id)).all()
        assert sum(r.amount for r in refunds) == group.total and "另一笔付款" in second.problem


def test_a_paid_group_refuses_a_new_payment_attempt(placed):
    tenant, group, payment = placed
    with tenant_scope(tenant):
        payments.apply_result(payment, result(S.succeeded))
        with pytest.raises(payments.PaymentError) as refused:
            payments.create_payment(group, Choice("stripe", "card", "银行卡"))
        assert refused.value.code == "already_paid"


def test_a_hold_is_captured_for_what_the_merchants_accepted_once_both_answered(use_stripe, make_tenant, make_shop,
                                                                                make_category, make_product,
                                                                                make_user):
    """Capture on acceptance: the card is authorised at checkout, one shop accepts and the other refuses; the
    capture waits for both answers, then takes only the accepted order, and the refused order's "refund" is
    simply money never taken."""
    from marketplace.orders.handling import ACTIONS, perform
    from marketplace.tenancy.settings import module_settings

    tenant = make_tenant()
    with tenant_scope(tenant):
        module_settings["payment"].set(tenant, "provider", "stripe")
        module_settings["payment"].set(tenant, "options", {"methods": ["card"], "capture": "on_accept"})
        db.session.commit()
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(make_shop(tenant, name_zh="鲜果坊"), category=category, title="苹果", price=1200, stock=9)
    tea = make_product(make_shop(tenant, name_zh="茶庄"), category=category, title="毛尖", price=16800, stock=9)
    buyer = make_user()
    cart = fill(tenant, buyer, {apples: 1, tea: 1})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "hold-1", payment_provider="stripe")
        payment = payments.create_payment(group, Choice("stripe", "card", "银行卡"))
        action = payments.start_payment(tenant, payment)
        status, body = use_stripe.confirm(action.reference)
        assert status == 200 and body["status"] == "requires_capture"
        assert payments.refresh_payment(tenant, payment) == "applied"
        payment = db.session.get(Payment, payment.id)
        assert payment.status == S.authorized and {o.status for o in group.orders} == {OrderStatus.paid}

        apple_order, tea_order = group.orders
        perform(apple_order, ACTIONS["accept"], actor_id=None)
        db.session.commit()
        assert payments.capture_if_due(group.id) == "waiting"  # the tea shop has not answered yet
        perform(tea_order, ACTIONS["reject"], actor_id=None, reason="缺货")
        db.session.commit()
        [released] = db.session.scalars(select(Refund).where(Refund.order_id == tea_order.id)).all()
        assert payments.send_refund(released.id) == RefundStatus.succeeded  # nothing taken, nothing to send back
        assert payments.capture_if_due(group.id) == "captured"
        assert db.session.get(Payment, payment.id).status == S.succeeded
    intent = use_stripe.get(f"/v1/payment_intents/{action.reference}")
    charge = intent["latest_charge"]  # localstripe books the part not captured as refunded
    assert intent["status"] == "succeeded" and charge["amount"] - charge["amount_refunded"] == apple_order.total


def _stripe_street(make_tenant, make_shop, make_category, make_product, make_user, options):
    from marketplace.tenancy.settings import module_settings

    tenant = make_tenant()
    with tenant_scope(tenant):
        module_settings["payment"].set(tenant, "provider", "stripe")
        module_settings["payment"].set(tenant, "options", options)
        db.session.commit()
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(make_shop(tenant, name_zh="鲜果坊"), category=category, title="苹果", price=1200, stock=9)
    tea = make_product(make_shop(tenant, name_zh="茶庄"), category=category, title="毛尖", price=16800, stock=9)
    return tenant, apples, tea, make_user()


def _taken(emulator, reference) -> int:
    """What the buyer's card was charged for, as localstripe books it (a smaller capture refunds the rest)."""
    intent = emulator.get(f"/v1/payment_intents/{reference}")
    charge = intent["latest_charge"]
    return charge["amount"] - charge["amount_refunded"] if intent["status"] == "succeeded" else 0


def test_a_refund_made_while_the_money_is_only_held_is_not_captured(use_stripe, make_tenant, make_shop,
                                                                    make_category, make_product, make_user):
    from marketplace.orders import returns
    from marketplace.orders.handling import ACTIONS, perform

    tenant, apples, tea, buyer = _stripe_street(make_tenant, make_shop, make_category, make_product, make_user,
                                                {"methods": ["card"], "capture": "on_accept"})
    cart = fill(tenant, buyer, {apples: 1, tea: 1})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "held-refund", payment_provider="stripe")
        payment = payments.create_payment(group, Choice("stripe", "card", "银行卡"))
        action = payments.start_payment(tenant, payment)
        use_stripe.confirm(action.reference)
        payments.refresh_payment(tenant, payment)
        apple_order, tea_order = group.orders
        for step in ("accept", "prepared", "picked_up"):
            perform(apple_order, ACTIONS[step], actor_id=None,
                    code=pickup_code(apple_order.number) if step == "picked_up" else "")
            db.session.commit()
        refund = returns.refund(apple_order, apple_order.total, actor_id=None, note="退货")
        db.session.commit()
        assert payments.send_refund(refund.id) == RefundStatus.succeeded  # paid back by never taking it
        perform(tea_order, ACTIONS["accept"], actor_id=None)
        db.session.commit()
        assert payments.capture_if_due(group.id) == "captured"
        tea_total = tea_order.total
    assert _taken(use_stripe, action.reference) == tea_total


def test_a_second_hold_for_the_same_group_is_released_not_captured(use_stripe, make_tenant, make_shop, make_category,
                                                                   make_product, make_user):
    from marketplace.orders.handling import ACTIONS, perform

    tenant, apples, _tea, buyer = _stripe_street(make_tenant, make_shop, make_category, make_product, make_user,
                                                 {"methods": ["card"], "capture": "on_accept"})
    cart = fill(tenant, buyer, {apples: 1})
    with tenant_scope(tenant):
        group = orders.place_order(tenant, buyer.id, cart, "two-holds", payment_provider="stripe")
        first = payments.create_payment(group, Choice("stripe", "card", "银行卡"))
        first_action = payments.start_payment(tenant, first)
        second = payments.create_payment(db.session.get(type(group), group.id), Choice("stripe", "card", "银行卡"))
        db.session.commit()
        second_action = payments.start_payment(tenant, second)
        for action, attempt in ((first_action, first), (second_action, second)):  # two tabs, both paid
            use_stripe.confirm(action.reference)
            payments.refresh_payment(tenant, db.session.get(Payment, attempt.id))
        assert db.session.scalars(select(Refund)).all() == []  # a hold is let go, not paid back
        perform(group.orders[0], ACTIONS["accept"], actor_id=None)
        db.session.commit()
        payments.capture_if_due(group.id)
        assert payments.capture_due_payments() == {}
        statuses = {p.reference: p.status for p in db.session.scalars(select(Payment))}
    assert statuses == {first_action.reference: S.succeeded, second_action.reference: S.cancelled}
    assert _taken(use_stripe, first_action.reference) == 1200 and _taken(use_stripe, second_action.reference) == 0


def test_a_refund_the_provider_has_is_not_sent_again_and_its_notification_settles_it(placed):
    tenant, group, payment = placed
    with tenant_scope(tenant):
        payments.apply_result(payment, result(S.succeeded))
        order = group.orders[0]
        sent = Refund(tenant_id=tenant.id, order_id=order.id, amount=500, provider="stripe", reference="re_1",
                      status=RefundStatus.pending, refunded_at=group.created_at)
        db.session.add(sent)
        db.session.commit()
        assert payments.send_pending_refunds() == {}  # with Stripe already: nothing to send
        settled = ProviderResult(reference="pi_1", status=S.succeeded, amount=18000, currency="CNY",
                                 amount_captured=18000,
                                 refunds=(RefundResult(reference="re_1", status="succeeded", amount=500),))
        payments.apply_result(payment, settled)
        db.session.commit()
        assert sent.status == RefundStatus.succeeded and sent.refunded_at > group.created_at


def test_switching_to_pay_at_the_stall_after_a_failed_card_lets_the_merchant_confirm(placed):
    from marketplace.orders.handling import confirm_offline_payment

    tenant, group, payment = placed
    with tenant_scope(tenant):
        payments.apply_result(payment, result(S.failed))
        payments.create_payment(group, Choice("offline", "pay_at_stall", "到店付款"))
        db.session.commit()
        for order in group.orders:
            confirm_offline_payment(order, actor_id=None)
        db.session.commit()
        assert group.paid_at is not None and group.payment_provider == "offline"
