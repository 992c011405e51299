"""Card payments through Stripe's official client against localstripe, with Stripe's webhooks arriving as Stripe
sends them: more than once, at the same moment, in any order, forged — and Stripe itself stalling, then gone."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderEvent, OrderGroup, OrderStatus
from marketplace.payments.models import Payment, PaymentEvent
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from tests.payments.conftest import post_notification, start_localstripe, stripe_settings
from tests.payments.emulator import signed
from tests.reliability.conftest import RUN_DATABASE, SLUG, all_at_once, in_parallel, launched

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

CARD = {"provider": "stripe", "method": "card"}
ORDERINGS = 300


def _with_stripe(tmp_path_factory, name: str):
    """A platform whose street takes cards through its own localstripe, which posts its webhooks to it."""
    emulator = start_localstripe(tmp_path_factory, f"localstripe-{name}")
    settings = {f"MARKETPLACE_{key}": value for key, value in stripe_settings(emulator.url).items()}
    return emulator, launched(RUN_DATABASE, tmp_path_factory.mktemp(f"{name}-{RUN_DATABASE}"), settings)


def _take_cards(platform, emulator) -> None:
    with platform.app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        module_settings["payment"].set(tenant, "provider", "stripe")
        module_settings["payment"].set(tenant, "options", {"methods": ["card"]})
        db.session.commit()
    emulator.register_webhook("platform", f"http://127.0.0.1:{platform.server.port}/payments/notifications/stripe")


@pytest.fixture(scope="module")
def paying(tmp_path_factory):
    emulator, launching = _with_stripe(tmp_path_factory, "payments")
    try:
        with launching as platform:
            _take_cards(platform, emulator)
            yield platform, emulator
    finally:
        emulator.stop()


def pay_by_card(platform, resident: int, variant: int):
    """Resident ``resident`` checks ``variant`` out by card: the answer (its payment carries Stripe's reference)."""
    platform.empty_cart(resident)
    assert platform.add_to_cart(resident, variant).status == 200
    return platform.call("POST", "/checkout", platform.residents[resident],
                         {"confirm_exclusions": True, "payment": CARD}, key=os.urandom(12).hex())


def send(platform, body: bytes, headers: dict) -> int:
    return post_notification(platform.server.port, body, headers)


def post_webhook(platform, event: dict) -> int:
    return send(platform, *signed(event))


def group_state(platform, number: str) -> tuple:
    """(payment status, captured = total, order statuses, 'paid' entries per order) of one order group."""
    with platform.app.app_context(), all_tenants():
        group = db.session.scalar(select(OrderGroup).where(OrderGroup.number == number))
        payments = db.session.execute(select(Payment.status, Payment.amount_captured)
                                      .where(Payment.group_id == group.id)).all()
        orders_ = db.session.scalars(select(Order).where(Order.group_id == group.id)).all()
        paid = [db.session.scalar(select(func.count(OrderEvent.id)).where(
            OrderEvent.order_id == order.id, OrderEvent.to_status == OrderStatus.paid)) for order in orders_]
        return (tuple(status for status, _captured in payments), [captured == group.total for _s, captured in payments],
                tuple(sorted(order.status for order in orders_)), tuple(paid))


def wait_until(condition, within: float = 20):
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_the_same_event_ten_times_at_once_and_ten_times_in_a_row_moves_the_orders_once(paying):
    platform, stripe = paying
    variant = platform.product("赣南脐橙 5kg", stock=100, price=4990)
    placed = pay_by_card(platform, 0, variant)
    assert placed.status == 201, placed.text
    reference = placed.body["payment"]["reference"]
    assert stripe.confirm(reference)[0] == 200  # localstripe posts its own "succeeded" too
    wait_until(lambda: len(stripe.events_for(reference)) >= 1)
    [event] = stripe.events_for(reference)

    at_once = all_at_once(10, lambda _n: post_webhook(platform, event))
    in_a_row = [post_webhook(platform, event) for _ in range(10)]

    state = group_state(platform, placed.body["number"])
    with platform.app.app_context():
        rows = db.session.scalar(select(func.count(PaymentEvent.id)).where(PaymentEvent.event_id == event["id"]))
    print(f"\n[{platform.database}] one Stripe event 10 times at once and 10 in a row: answers {at_once + in_a_row}; "
          f"{rows} event recorded; state {state}")
    assert at_once + in_a_row == [200] * 20
    assert state == (("succeeded",), [True], ("paid",), (1,)) and rows == 1
    platform.check()


def _events_of_a_payment(stripe, reference: str) -> list[dict]:
    """What Stripe may send about one card payment that was declined, then authenticated and paid: each event
    with its redelivery (the same event id) — every one a signed body Stripe could have sent."""
    intent = stripe.get(f"/v1/payment_intents/{reference}")
    base = {key: value for key, value in intent.items() if key != "status"}
    declined = {**base, "status": "requires_payment_method",
                "last_payment_error": {"code": "card_declined", "message": "Your card was declined."}}
    kinds = [("payment_intent.created", {**base, "status": "requires_payment_method"}),
             ("payment_intent.payment_failed", declined),
             ("payment_intent.requires_action", {**base, "status": "requires_action"}),
             ("payment_intent.processing", {**base, "status": "processing"}),
             ("payment_intent.succeeded", {**base, "status": "succeeded", "amount_received": intent["amount"]})]
    events = [stripe.snapshot_event(kind, obj) for kind, obj in kinds]
    return [*events, events[4], events[2]]  # "succeeded" and "requires_action" delivered twice


def test_300_orderings_of_a_payments_events_all_end_paid_once(paying):
    """Stripe does not promise order: whatever order a payment's events come in, the end is the same."""
    platform, stripe = paying
    variant = platform.product("五香牛肉干 500g", stock=ORDERINGS, price=6800)
    placed = in_parallel(ORDERINGS, lambda n: pay_by_card(platform, 100 + n, variant), threads=8)
    assert {answer.status for answer in placed} == {201}, [a.text for a in placed if a.status != 201][:3]

    rng = random.Random(300)
    seen: set[tuple[int, ...]] = set()
    orderings = []
    while len(orderings) < ORDERINGS:
        order = tuple(rng.sample(range(7), 7))
        # The two deliveries of one event are the same body: swapping them is not another ordering.
        canonical = tuple(min(i, {5: 4, 6: 2}.get(i, i)) for i in order)
        if canonical not in seen:
            seen.add(canonical)
            orderings.append(order)

    def deliver(n: int):
        events = _events_of_a_payment(stripe, placed[n].body["payment"]["reference"])
        answers = [post_webhook(platform, events[i]) for i in orderings[n]]
        return answers, group_state(platform, placed[n].body["number"])

    started = time.monotonic()
    results = in_parallel(ORDERINGS, deliver, threads=8)
    ends = {(state[0], tuple(state[1]), state[2], state[3]) for _answers, state in results}
    print(f"\n[{platform.database}] {ORDERINGS} orderings of 7 deliveries (5 events) in {time.monotonic() - started:.0f}"
          f" s: {len(ends)} end state(s): {ends}")
    assert all(answers == [200] * 7 for answers, _state in results)
    assert ends == {(("succeeded",), (True,), ("paid",), (1,))}
    platform.check()


def test_forged_altered_stale_or_unsigned_webhooks_are_refused_and_change_nothing(paying):
    platform, stripe = paying
    variant = platform.product("东北黑木耳 250g", stock=10, price=3900)
    placed = pay_by_card(platform, 1, variant)
    reference, number = placed.body["payment"]["reference"], placed.body["number"]
    before = group_state(platform, number)
    event = _events_of_a_payment(stripe, reference)[4]  # "succeeded": what a forger would want accepted
    body, headers = signed(event)
    forgeries = {
        "no signature": (body, {"Content-Type": "application/json"}),
        "someone else's secret": signed(event, "whsec_not_the_platforms"),
        "one byte changed": (body.replace(b'"succeeded"', b'"succeedeD"', 1), headers),
        "a stale timestamp (301 s)": signed(event, timestamp=int(time.time()) - 301),
    }

    answers = {name: send(platform, *forgery) for name, forgery in forgeries.items()}
    with platform.app.app_context():
        recorded = db.session.scalar(select(func.count(PaymentEvent.id)).where(PaymentEvent.event_id == event["id"]))
    print(f"\n[{platform.database}] forged webhooks: {answers}; events recorded {recorded}")
    assert answers == dict.fromkeys(forgeries, 400)
    assert group_state(platform, number) == before and recorded == 0
    assert send(platform, body, headers) == 200  # the same body rightly signed is taken: the signature was what was refused
    platform.check()


def test_stripe_stalled_for_15_seconds_then_gone_fails_clearly_and_releases_the_holds(tmp_path_factory):
    emulator, launching = _with_stripe(tmp_path_factory, "stripe-down")
    try:
        with launching as platform:
            _take_cards(platform, emulator)
            variant = platform.product("宁夏枸杞 500g", stock=100, price=5800)
            assert pay_by_card(platform, 0, variant).status == 201

            os.kill(emulator.process.pid, signal.SIGSTOP)  # Stripe stalls: connections open, nothing answers
            resume = threading.Timer(15, os.kill, (emulator.process.pid, signal.SIGCONT))
            resume.start()
            started = time.monotonic()
            stalled = in_parallel(8, lambda n: pay_by_card(platform, 10 + n, variant), threads=8)
            waited = time.monotonic() - started
            resume.join()

            emulator.stop()  # then gone
            gone = in_parallel(8, lambda n: pay_by_card(platform, 20 + n, variant), threads=8)
            again = [platform.call("POST", f"/orders/{answer.body['number']}/payments", platform.residents[20 + n],
                                   {"payment": CARD}, key=os.urandom(12).hex()) for n, answer in enumerate(gone)]

            outcomes = [answer.body["payment"]["status"] for answer in stalled]
            print(f"\n[{platform.database}] Stripe stalled 15 s: 8 checkouts answered in {waited:.0f} s, payments "
                  f"{sorted(outcomes)}; Stripe gone: checkouts {sorted(a.status for a in gone)}, payments "
                  f"{sorted(a.body['payment']['status'] for a in gone)}, paying again "
                  f"{sorted((a.status, a.code) for a in again)}")
            assert all(answer.status == 201 for answer in stalled + gone)  # the goods are held for the buyer
            assert set(outcomes) <= {"requires_action", "failed"}
            for answer in gone:
                payment = answer.body["payment"]
                assert payment["status"] == "failed" and payment["may_retry"] and "Stripe" in payment["problem"]
            assert all(a.status == 503 and a.code == "payment_unavailable" and a.text for a in again)

            with platform.app.app_context(), all_tenants():
                paid = db.session.scalar(select(func.count(OrderGroup.id)).where(OrderGroup.paid_at.is_not(None)))
                deadline = db.session.scalar(select(func.max(OrderGroup.payment_deadline)))
                tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
                with tenant_scope(tenant):
                    released = orders.release_expired_holds(now=deadline + timedelta(seconds=1))
                    db.session.commit()
                shelf = db.session.get(Variant, variant).stock
            print(f"[{platform.database}] {paid} groups paid; the hold job released {released} orders; shelf {shelf}")
            assert paid == 0 and released == 17 and shelf == 100  # every unpaid hold given back
            platform.check()
    finally:
        emulator.stop()

