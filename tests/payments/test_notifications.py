"""Stripe webhooks over real HTTP: gunicorn (4 workers) on its own database, localstripe posting its signed
webhooks to it, and the test playing Stripe where localstripe does not (replays, forgeries, event kinds it never
sends). Checkout itself is played in-process through ``payments.services`` on the same database."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import OrderEvent, OrderGroup, OrderStatus
from marketplace.payments import services
from marketplace.payments.conformance import ProviderConformance
from marketplace.payments.models import Payment, PaymentEvent
from marketplace.payments.providers import PaymentStatus, ProviderUnavailable
from marketplace.tenancy.context import all_tenants, tenant_scope
from tests.payments.conftest import start_localstripe
from tests.payments.emulator import signed

pytestmark = pytest.mark.no_transaction
THREE_D_SECURE_CARD, DECLINED_CARD = "4000002500003155", "4000000000000341"


@dataclass
class Checkout:
    group_id: int
    payment_id: int
    reference: str
    client_secret: str


def checkout(live) -> Checkout:
    with live.app.test_request_context():
        kit = ProviderConformance()
        kit.provider_name, kit.method = "stripe", "card"
        group, payment, action = kit.place(live.tenant())
        return Checkout(group.id, payment.id, action.reference, action.client_secret)


def state(live, c: Checkout) -> tuple[str, int, set, int]:
    """(payment status, amount captured, order statuses, 'paid' history entries)."""
    with live.app.app_context(), all_tenants():
        payment = db.session.get(Payment, c.payment_id)
        group = db.session.get(OrderGroup, c.group_id)
        paid = db.session.scalar(select(func.count(OrderEvent.id)).where(
            OrderEvent.order_id.in_([o.id for o in group.orders]), OrderEvent.to_status == OrderStatus.paid))
        return payment.status, payment.amount_captured, {o.status for o in group.orders}, paid


def wait_for(live, c: Checkout, status: str, within: float = 20) -> tuple:
    deadline = time.monotonic() + within
    while True:
        now = state(live, c)
        if now[0] == status or time.monotonic() > deadline:
            return now
        time.sleep(0.2)


def paid_once(live, c: Checkout) -> bool:
    status, captured, statuses, paid = state(live, c)
    return status == PaymentStatus.succeeded and statuses == {OrderStatus.paid} and paid == 2 and captured > 0


def event_rows(live, event_id: str) -> int:
    with live.app.app_context():
        return db.session.scalar(select(func.count(PaymentEvent.id)).where(PaymentEvent.event_id == event_id))


def no_server_errors(live) -> None:
    log = live.server.log()
    assert "Traceback" not in log and "Exception on " not in log, live.server.log_tail()


def test_forged_altered_stale_or_unsigned_webhooks_are_refused_and_change_nothing(live_stripe):
    live = live_stripe
    c = checkout(live)
    intent = live.stripe.get(f"/v1/payment_intents/{c.reference}")
    forged = live.stripe.snapshot_event("payment_intent.succeeded", {
        **intent, "status": "succeeded", "amount_received": intent["amount"]})
    body, headers = signed(forged)
    altered = body.replace(b'"succeeded"', b'"succeedeD"', 1)
    attempts = {
        "unsigned": (body, {"Content-Type": "application/json"}),
        "wrong secret": signed(forged, "whsec_someone_else"),
        "one byte changed": (altered, headers),
        "301 s old": signed(forged, timestamp=int(time.time()) - 301),
    }
    answers = {name: live.post_webhook(b, h) for name, (b, h) in attempts.items()}
    assert answers == dict.fromkeys(attempts, 400)
    assert state(live, c) == (PaymentStatus.requires_action, 0, {OrderStatus.pending_payment}, 0)
    assert event_rows(live, forged["id"]) == 0
    # The same body, rightly signed, is taken: what was refused was the signature, not the content.
    assert live.post_webhook(body, headers) == 200
    assert paid_once(live, c)
    no_server_errors(live)


def test_the_same_event_ten_times_at_once_and_ten_times_in_a_row_moves_the_orders_once(live_stripe):
    live = live_stripe
    c = checkout(live)
    assert live.stripe.confirm(c.reference)[0] == 200
    # localstripe posts its own copy a second later; ten more race it, all at once.
    [event] = live.stripe.events_for(c.reference)
    barrier, answers = threading.Barrier(10), []

    def deliver():
        body, headers = signed(event)
        barrier.wait()
        answers.append(live.post_webhook(body, headers))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    answers += [live.post_webhook(*signed(event)) for _ in range(10)]
    assert answers == [200] * 20
    wait_for(live, c, PaymentStatus.succeeded)
    assert paid_once(live, c) and event_rows(live, event["id"]) == 1
    no_server_errors(live)


def test_any_order_of_an_order_groups_events_ends_in_the_same_state(live_stripe):
    live = live_stripe
    rng = random.Random(6)
    finals = []
    for _ in range(3):
        c = checkout(live)
        created = live.stripe.snapshot_event("payment_intent.created", live.stripe.get(f"/v1/payment_intents/{c.reference}"))
        status, intent = live.stripe.confirm(c.reference, THREE_D_SECURE_CARD)
        assert status == 200 and intent["status"] == "requires_action"
        action = live.stripe.snapshot_event("payment_intent.requires_action", intent)
        assert live.stripe.authenticate(c.reference, c.client_secret)[0] == 200
        [succeeded] = live.stripe.events_for(c.reference)
        live.stripe.post("/v1/refunds", {"payment_intent": c.reference, "amount": 100})
        charge = live.stripe.get(f"/v1/payment_intents/{c.reference}")["latest_charge"]
        refunded = live.stripe.snapshot_event("charge.refunded", charge)
        events = [created, action, succeeded, refunded, succeeded, action]
        rng.shuffle(events)
        assert [live.post_webhook(*signed(e)) for e in events] == [200] * len(events)
        wait_for(live, c, PaymentStatus.succeeded)
        time.sleep(1.5)  # localstripe's own copy of "succeeded" arrives too
        finals.append(state(live, c))
    assert len(set(map(str, finals))) == 1 and paid_once(live, c)
    assert finals[0][0] == PaymentStatus.succeeded and finals[0][3] == 2
    no_server_errors(live)


def test_the_buyers_return_racing_the_webhook_fulfils_the_order_once(live_stripe):
    live = live_stripe
    c = checkout(live)
    assert live.stripe.confirm(c.reference)[0] == 200
    [event] = live.stripe.events_for(c.reference)
    barrier, errors = threading.Barrier(6), []

    def buyer_returns():
        barrier.wait()
        try:
            with live.app.test_request_context(), all_tenants():
                payment = db.session.get(Payment, c.payment_id)
                tenant = live.tenant()
            with live.app.test_request_context(), tenant_scope(tenant):
                services.refresh_payment(tenant, db.session.get(Payment, c.payment_id))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        assert payment

    def webhook():
        barrier.wait()
        assert live.post_webhook(*signed(event)) == 200

    threads = [threading.Thread(target=buyer_returns) for _ in range(3)] + [threading.Thread(target=webhook) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    wait_for(live, c, PaymentStatus.succeeded)
    time.sleep(1.5)
    assert paid_once(live, c)
    no_server_errors(live)


def test_a_declined_card_leaves_the_orders_unpaid_with_the_reason(live_stripe):
    live = live_stripe
    c = checkout(live)
    assert live.stripe.confirm(c.reference, DECLINED_CARD)[0] == 402
    status, captured, statuses, paid = wait_for(live, c, PaymentStatus.failed)
    assert (status, captured, statuses, paid) == (PaymentStatus.failed, 0, {OrderStatus.pending_payment}, 0)
    with live.app.app_context(), all_tenants():
        assert "declined" in db.session.get(Payment, c.payment_id).problem


def test_three_d_secure_waits_for_the_buyer_then_pays(live_stripe):
    live = live_stripe
    c = checkout(live)
    status, intent = live.stripe.confirm(c.reference, THREE_D_SECURE_CARD)
    assert status == 200 and intent["status"] == "requires_action" and intent["next_action"]
    time.sleep(1.5)
    assert state(live, c)[0] == PaymentStatus.requires_action and state(live, c)[3] == 0
    assert live.stripe.authenticate(c.reference, c.client_secret)[0] == 200
    wait_for(live, c, PaymentStatus.succeeded)
    assert paid_once(live, c)


def test_localstripe_stopped_mid_checkout_is_a_clear_error_and_the_hold_job_releases_the_stock(
        live_stripe, tmp_path_factory, monkeypatch):
    live = live_stripe
    own = start_localstripe(tmp_path_factory, "localstripe-stopped")
    monkeypatch.setitem(live.app.config["MARKETPLACE"], "STRIPE_API_BASE", own.url)
    live.app.extensions.pop("payment_providers", None)
    try:
        c = checkout(live)  # the checkout began: Stripe made the intent
        own.stop()
        with live.app.test_request_context(), all_tenants():
            tenant = live.tenant()
        with live.app.test_request_context(), tenant_scope(tenant):
            with pytest.raises(ProviderUnavailable, match="Stripe"):
                services.refresh_payment(tenant, db.session.get(Payment, c.payment_id))
            group = db.session.get(OrderGroup, c.group_id)
            again = services.create_payment(group, services.Choice("stripe", "card", "银行卡"))
            db.session.commit()
            with pytest.raises(ProviderUnavailable):
                services.start_payment(tenant, again)
            again = db.session.get(Payment, again.id)
            assert again.status == PaymentStatus.failed and "Stripe" in again.problem
            group = db.session.get(OrderGroup, c.group_id)
            assert group.paid_at is None and {o.status for o in group.orders} == {OrderStatus.pending_payment}
            stock = [db.session.get(Variant, line.variant_id).stock for o in group.orders for line in o.lines]
            assert orders.release_expired_holds(now=group.payment_deadline + timedelta(seconds=1)) >= 2  # the declined ones too
            db.session.commit()
            db.session.expire_all()
            group = db.session.get(OrderGroup, c.group_id)
            assert {o.status for o in group.orders} == {OrderStatus.cancelled}
            assert sorted(db.session.get(Variant, line.variant_id).stock for o in group.orders for line in o.lines) \
                == [10, 10] != sorted(stock)
    finally:
        own.stop()
        live.app.extensions.pop("payment_providers", None)


def test_events_that_say_nothing_about_a_payment_are_answered_and_ignored(live_stripe):
    live = live_stripe
    event = live.stripe.snapshot_event("customer.created", {"id": "cus_1", "object": "customer"})
    assert live.post_webhook(*signed(event)) == 200
    assert live.post_webhook(b"{}", {"Content-Type": "application/json"}) == 400
