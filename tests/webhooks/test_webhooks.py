"""Outgoing webhooks against a real HTTP receiver on 127.0.0.1: what an order sends, signed; retries with backoff
and giving up; no redirects followed; SSRF targets refused before any connection; replays; who hears what."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.catalog.models import Variant
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.tenancy.context import tenant_scope
from marketplace.webhooks import services as webhooks
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture
def street(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(name_zh="德化街")
    fruit, tea = make_shop(tenant, name_zh="老王水果店"), make_shop(tenant, name_zh="李记茶叶")
    category = make_category(tenant)
    goods = {"apples": make_product(fruit, category=category, title="红富士苹果", price=2990, stock=10),
             "tea": make_product(tea, category=category, title="信阳毛尖", price=12800, stock=5)}
    buyer = make_user("buyer@shangdu.example")
    with tenant_scope(tenant):  # the test reads this street's rows
        yield tenant, fruit, tea, goods, buyer


def _place(tenant, buyer, products: list, key: str = "checkout-1"):
    with tenant_scope(tenant):
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        for product in products:
            variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
            orders.set_line(cart, variant.id, 2)
        db.session.commit()
        group = orders.place_order(tenant, buyer.id, cart, key)
        db.session.commit()
        return group


def _subscribe(tenant, shop, url: str, events=("order.created", "order.paid")):
    with tenant_scope(tenant):
        endpoint = webhooks.subscribe(tenant, shop, url, events, actor_id=None)
        db.session.commit()
        return endpoint


def _deliveries(tenant) -> list[WebhookDelivery]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.scalars(select(WebhookDelivery).options(selectinload(WebhookDelivery.tries))
                                       .order_by(WebhookDelivery.id)))


def documented_check(secret: str, header: str, body: bytes, now: float) -> bool:
    """docs/api.md's recipe, written out independently of the application's own code."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return abs(now - int(parts["t"])) <= 300 and hmac.compare_digest(expected, parts["v1"])


def test_a_new_order_is_sent_to_the_shops_endpoint_signed(loopback, receiver, street):
    tenant, fruit, _tea, goods, buyer = street
    endpoint = _subscribe(tenant, fruit, receiver.url + "/hooks/orders?shop=fruit")
    group = _place(tenant, buyer, [goods["apples"], goods["tea"]])
    assert webhooks.deliver_due() == 1  # the tea shop's order is not the fruit shop's business

    [sent] = receiver.requests
    assert sent["path"] == "/hooks/orders?shop=fruit"
    body = json.loads(sent["body"])
    order = next(o for o in group.orders if o.shop_id == fruit.id)
    assert body["type"] == "order.created" and body["id"].startswith("evt_")
    assert body["data"]["number"] == order.number and body["data"]["total"] == 2 * 2990
    assert body["data"]["currency"] == "CNY" and body["data"]["lines"][0]["sku"]
    assert "buyer" not in body["data"] and "buyer@shangdu.example" not in sent["body"].decode()
    headers = sent["headers"]
    assert headers["Shangdu-Event"] == "order.created" and headers["Shangdu-Event-Id"] == body["id"]
    signature = headers["Shangdu-Signature"]
    assert documented_check(endpoint.secret, signature, sent["body"], time.time())
    assert webhooks.verify_signature(endpoint.secret, signature, sent["body"])
    # One byte changed, another secret, an old timestamp: each fails the check.
    assert not documented_check(endpoint.secret, signature, sent["body"].replace(b'"total":', b'"total": '), time.time())
    assert not documented_check("whsec_someone-else", signature, sent["body"], time.time())
    assert not documented_check(endpoint.secret, signature, sent["body"], time.time() + 600)
    [delivery] = _deliveries(tenant)
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.tries[0].status_code == 200


def test_paying_sends_order_paid_and_the_tenant_wide_endpoint_hears_every_shop(loopback, receiver, street,
                                                                               make_tenant):
    tenant, fruit, tea, goods, buyer = street
    _subscribe(tenant, None, receiver.url + "/operator", events=("order.created",))
    _subscribe(tenant, fruit, receiver.url + "/fruit", events=("order.paid",))
    other = make_tenant(name_zh="别的街")
    _subscribe(other, None, receiver.url + "/other", events=("order.created", "order.paid"))
    group = _place(tenant, buyer, [goods["apples"], goods["tea"]])
    with tenant_scope(tenant):
        for order in group.orders:
            orders.transition(order, "paid", actor_id=None)
        db.session.commit()
    webhooks.deliver_due()
    heard = sorted((r["path"], json.loads(r["body"])["type"]) for r in receiver.requests)
    assert heard == [("/fruit", "order.paid"), ("/operator", "order.created"), ("/operator", "order.created")]


def test_failures_are_retried_with_backoff_then_given_up_after_about_a_day(loopback, receiver, street):
    tenant, fruit, _tea, goods, buyer = street
    _subscribe(tenant, fruit, receiver.url + "/flaky")
    receiver.answers = [(500, {}), (503, {})]  # then 200
    _place(tenant, buyer, [goods["apples"]])
    now = utcnow()
    webhooks.deliver_due(now)
    [delivery] = _deliveries(tenant)
    assert delivery.status == "failed" and delivery.next_attempt_at == now + timedelta(seconds=60)
    assert webhooks.deliver_due(now + timedelta(seconds=30)) == 0  # not due yet
    webhooks.deliver_due(now + timedelta(seconds=61))
    webhooks.deliver_due(now + timedelta(seconds=61 + 301))
    [delivery] = _deliveries(tenant)
    assert delivery.status == "succeeded" and [t.status_code for t in delivery.tries] == [500, 503, 200]
    assert len(receiver.requests) == 3 and len({json.loads(r["body"])["id"] for r in receiver.requests}) == 1

    # A receiver that never answers well: eight tries over about 22 hours, then no more.
    receiver.answers = [(500, {})] * 20
    _place(tenant, buyer, [goods["apples"]], key="checkout-2")
    moment = now + timedelta(hours=1)
    for _ in range(12):
        webhooks.deliver_due(moment)
        moment += timedelta(hours=13)
    last = _deliveries(tenant)[-1]
    assert last.status == "gave_up" and last.attempts == len(webhooks.BACKOFF) + 1 == 8
    assert last.next_attempt_at is None
    assert sum(webhooks.BACKOFF) < 24 * 3600


def test_a_redirect_is_not_followed(loopback, receiver, street):
    tenant, fruit, _tea, goods, buyer = street
    _subscribe(tenant, fruit, receiver.url + "/moved")
    receiver.answers = [(302, {"Location": receiver.url + "/elsewhere"})]
    _place(tenant, buyer, [goods["apples"]])
    webhooks.deliver_due()
    assert [r["path"] for r in receiver.requests] == ["/moved"]
    [delivery] = _deliveries(tenant)
    assert delivery.status == "failed" and delivery.tries[0].status_code == 302


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook", "http://10.0.0.5/hook",
    "http://172.16.3.4/hook", "http://192.168.1.10/hook", "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/hook", "http://[fe80::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://100.64.0.1/hook",
    "ftp://example.com/hook", "http://user:secret@example.com/hook", "not a url", "http:///nohost",
    # IPv6 forms that carry an IPv4 address (NAT64, IPv4-compatible, 6to4) and the old site-local range.
    "http://[64:ff9b::a9fe:a9fe]/hook", "http://[::127.0.0.1]:6379/hook", "http://[2002:a9fe:a9fe::]/hook",
    "http://[fec0::1]/hook",
    # A public address, but a port no web receiver uses (a way to probe other services).
    "http://93.184.216.34:22/hook", "http://例子.测试/hook",
])
def test_private_and_odd_targets_are_refused_when_subscribing(street, url):
    tenant, fruit, *_ = street
    with tenant_scope(tenant), pytest.raises(webhooks.WebhookError):
        webhooks.subscribe(tenant, fruit, url, ["order.created"], actor_id=None)


def test_a_target_that_became_private_gets_no_connection(app, monkeypatch, receiver, street):
    tenant, fruit, _tea, goods, buyer = street
    monkeypatch.setitem(app.config["MARKETPLACE"], "WEBHOOKS_ALLOW_LOOPBACK", True)
    _subscribe(tenant, fruit, receiver.url + "/hook")  # allowed while developing…
    monkeypatch.setitem(app.config["MARKETPLACE"], "WEBHOOKS_ALLOW_LOOPBACK", False)  # …not in production
    _place(tenant, buyer, [goods["apples"]])
    webhooks.deliver_due()
    assert receiver.requests == []
    [delivery] = _deliveries(tenant)
    assert delivery.status == "failed" and delivery.tries[0].status_code is None
    assert "127.0.0.1" in delivery.tries[0].error


def test_a_replay_sends_the_same_event_again(loopback, receiver, street):
    tenant, fruit, _tea, goods, buyer = street
    _subscribe(tenant, fruit, receiver.url + "/hook")
    _place(tenant, buyer, [goods["apples"]])
    webhooks.deliver_due()
    [first] = _deliveries(tenant)
    with tenant_scope(tenant):
        again = webhooks.replay(first)
        db.session.commit()
    webhooks.deliver_due()
    assert len(receiver.requests) == 2 and receiver.requests[0]["body"] == receiver.requests[1]["body"]
    assert _deliveries(tenant)[-1].replay_of_id == first.id and again.event_id == first.event_id


def test_a_checkout_that_fails_sends_nothing(loopback, receiver, street):
    tenant, fruit, _tea, goods, buyer = street
    _subscribe(tenant, None, receiver.url + "/hook", events=("order.created",))
    cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
    for product in (goods["apples"], goods["tea"]):
        orders.set_line(cart, db.session.scalar(select(Variant.id).where(Variant.product_id == product.id)), 2)
    tea = db.session.scalar(select(Variant).where(Variant.product_id == goods["tea"].id))
    tea.stock = 1  # sold meanwhile: the whole checkout fails, the fruit shop's order with it
    db.session.commit()
    with pytest.raises(orders.CheckoutError):
        orders.place_order(tenant, buyer.id, cart, "too-late")
    assert webhooks.deliver_due() == 0 and receiver.requests == [] and _deliveries(tenant) == []


def test_stock_running_low_and_a_shipment_moving_are_sent_too(loopback, receiver, street):
    from marketplace.delivery import services as deliveries
    from marketplace.delivery.models import Shipment

    tenant, fruit, _tea, goods, buyer = street
    _subscribe(tenant, fruit, receiver.url + "/hook", events=("stock.low", "shipment.updated"))
    group = _place(tenant, buyer, [goods["apples"]])  # 10 → 8: not low yet
    cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
    orders.set_line(cart, db.session.scalar(select(Variant.id).where(Variant.product_id == goods["apples"].id)), 4)
    db.session.commit()
    orders.place_order(tenant, buyer.id, cart, "checkout-2")  # 8 → 4: low, once
    order = group.orders[0]
    for step in ("paid", "accepted"):
        orders.transition(order, step, actor_id=None)
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    deliveries.advance(shipment, "ready_for_pickup", actor_id=None)
    db.session.commit()
    webhooks.deliver_due()
    sent = [json.loads(r["body"]) for r in receiver.requests]
    assert [(s["type"], s["data"].get("stock"), s["data"].get("status")) for s in sent] == [
        ("stock.low", 4, None), ("shipment.updated", None, "ready_for_pickup")]
    assert sent[0]["data"]["threshold"] == webhooks.LOW_STOCK_UNITS and sent[1]["data"]["order_number"] == order.number


def test_disabling_a_subscription_gives_up_what_still_waits(loopback, receiver, street):
    tenant, fruit, _tea, goods, buyer = street
    endpoint = _subscribe(tenant, fruit, receiver.url + "/hook")
    receiver.answers = [(500, {})]
    _place(tenant, buyer, [goods["apples"]])
    webhooks.deliver_due()
    assert _deliveries(tenant)[0].status == "failed"
    webhooks.disable(db.session.get(type(endpoint), endpoint.id))
    db.session.commit()
    _place(tenant, buyer, [goods["apples"]], key="checkout-2")  # after disabling: nothing new
    [given_up] = _deliveries(tenant)
    assert given_up.status == "gave_up" and given_up.next_attempt_at is None
    assert webhooks.deliver_due(utcnow() + timedelta(hours=1)) == 0 and len(receiver.requests) == 1


# -- sent at once by a worker when Redis is configured ----------------------------------------------------------------

def sends(queue) -> list:
    return [job for job in queue.jobs if job.args[0] == "marketplace.webhooks.services.send_now"]


@pytest.mark.redis
def test_with_redis_a_worker_sends_the_event_without_waiting_for_cron(app, loopback, receiver, street, monkeypatch):
    import os

    import redis
    from rq import Queue, SimpleWorker

    from marketplace.media import jobs

    tenant, fruit, _tea, goods, buyer = street
    url = os.environ["MARKETPLACE_TEST_REDIS_URL"]
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", url)
    connection = redis.Redis.from_url(url)
    queue = Queue(jobs.QUEUE_NAME, connection=connection)
    queue.empty()
    try:
        _subscribe(tenant, fruit, receiver.url + "/hook", events=("order.created",))
        _place(tenant, buyer, [goods["apples"]])
        [delivery] = _deliveries(tenant)
        [job] = sends(queue)  # queued by the checkout's commit (beside its search and notice jobs); nothing sent yet
        assert job.args[1:] == ([delivery.id],) and receiver.requests == []

        SimpleWorker([queue], connection=connection).work(burst=True)

        assert queue.fetch_job(job.id).is_finished
        assert [json.loads(sent["body"])["type"] for sent in receiver.requests] == ["order.created"]
        assert _deliveries(tenant)[0].status == "succeeded"
        assert webhooks.deliver_due() == 0  # nothing left for the cron run

        # A checkout that fails (the tea sold meanwhile) queues nothing.
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        orders.set_line(cart, db.session.scalar(select(Variant.id).where(Variant.product_id == goods["apples"].id)), 1)
        db.session.commit()
        queue.empty()
        with pytest.raises(orders.CheckoutError), tenant_scope(tenant):
            db.session.scalar(select(Variant).where(Variant.product_id == goods["apples"].id)).stock = 0
            orders.place_order(tenant, buyer.id, cart, "sold-out")
        db.session.rollback()
        assert sends(queue) == [] and len(_deliveries(tenant)) == 1
    finally:
        queue.empty()
        connection.close()


def test_with_redis_down_the_order_still_goes_through_and_cron_sends_the_event(app, loopback, receiver, street,
                                                                               monkeypatch):
    tenant, fruit, _tea, goods, buyer = street
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    _subscribe(tenant, fruit, receiver.url + "/hook", events=("order.created",))
    group = _place(tenant, buyer, [goods["apples"]])
    assert group.orders and receiver.requests == []
    assert webhooks.deliver_due() == 1 and len(receiver.requests) == 1


# -- the signing secret at rest -----------------------------------------------------------------------------------------

def test_the_signing_secret_is_stored_encrypted(loopback, receiver, street):
    tenant, fruit, *_ = street
    endpoint = _subscribe(tenant, fruit, receiver.url + "/hook")
    stored = db.session.execute(select(WebhookEndpoint.secret_sealed)).scalar()
    assert endpoint.secret.startswith("whsec_") and endpoint.secret not in stored
    assert endpoint.secret[6:] not in stored


def test_after_the_platform_key_changed_a_delivery_fails_with_a_clear_reason(app, loopback, receiver, street,
                                                                              monkeypatch):
    tenant, fruit, _tea, goods, buyer = street
    _subscribe(tenant, fruit, receiver.url + "/hook", events=("order.created",))
    _place(tenant, buyer, [goods["apples"]])
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-platform-key-" + "x" * 32)
    assert webhooks.deliver_due() == 1 and receiver.requests == []  # nothing unsigned or wrongly signed goes out
    [delivery] = _deliveries(tenant)
    assert delivery.status == "failed" and "无法解密" in delivery.tries[0].error
