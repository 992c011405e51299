"""The conformance kit run for ``stripe`` against localstripe, plus what localstripe cannot show: the request
bodies sent for Alipay, WeChat Pay and capture on acceptance, checked on a recording HTTP server."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from marketplace.core.config import ConfigError, load_settings
from marketplace.payments import services
from marketplace.payments.conformance import ProviderConformance
from marketplace.payments.providers import (
    NotificationRefused,
    PaymentRequest,
    PaymentStatus,
    ProviderError,
    ProviderLoadError,
    ProviderUnavailable,
    RefundRequest,
)
from marketplace.payments.stripe_provider import StripeProvider
from tests.orders.live_server import free_port
from tests.payments.conftest import stripe_settings
from tests.payments.emulator import WEBHOOK_SECRET, signed

DECLINED_CARD = "4000000000000341"


class TestStripe(ProviderConformance):
    provider_name = "stripe"
    method = "card"
    options = {"methods": ["card", "alipay", "wechat_pay"]}

    @pytest.fixture(autouse=True)
    def _localstripe(self, use_stripe, app):
        self.localstripe = use_stripe
        self.app = app

    def pay(self, tenant, payment, action):
        assert action.kind == "client_secret" and action.client_secret.startswith(action.reference)
        status, body = self.localstripe.confirm(action.reference)
        assert status == 200 and body["status"] == "succeeded", body

    def decline(self, tenant, payment, action):
        status, body = self.localstripe.confirm(action.reference, DECLINED_CARD)
        assert status == 402, body

    def notifications(self, tenant, payment):
        return [signed(event) for event in self.localstripe.events_for(payment.reference)]

    @contextlib.contextmanager
    def unreachable(self):
        settings = self.app.config["MARKETPLACE"]
        real = settings["STRIPE_API_BASE"]
        settings["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        self.app.extensions.pop("payment_providers", None)
        try:
            yield
        finally:
            settings["STRIPE_API_BASE"] = real
            self.app.extensions.pop("payment_providers", None)


# -- the provider on its own, against localstripe ---------------------------------------------------------------------

def provider(url, **options) -> StripeProvider:
    return StripeProvider({"ENV": "testing", **stripe_settings(url)}, {"methods": ["card"], **options})


def request(payment_id=1, **kw) -> PaymentRequest:
    return PaymentRequest(**{"payment_id": payment_id, "tenant": "t", "reference": "G1", "amount": 4200,
                             "currency": "CNY", "method": "card", **kw})


def test_three_d_secure_asks_the_buyer_then_succeeds(localstripe):
    stripe = provider(localstripe.url)
    action = stripe.create(request())
    status, body = localstripe.confirm(action.reference, "4000002500003155")
    assert status == 200 and body["status"] == "requires_action"
    assert stripe.retrieve(action.reference).status == PaymentStatus.requires_action
    assert localstripe.authenticate(action.reference, action.client_secret)[0] == 200
    result = stripe.retrieve(action.reference)
    assert (result.status, result.amount_captured, result.payment_id) == (PaymentStatus.succeeded, 4200, 1)


def test_a_failed_three_d_secure_step_leaves_the_payment_to_pay_again(localstripe):
    stripe = provider(localstripe.url)
    action = stripe.create(request())
    localstripe.confirm(action.reference, "4000002500003155")
    localstripe.authenticate(action.reference, action.client_secret, success=False)
    result = stripe.retrieve(action.reference)
    assert result.status == PaymentStatus.failed and "authentication" in result.failure


def test_capture_on_acceptance_holds_then_takes_the_money(localstripe):
    stripe = provider(localstripe.url, capture="on_accept")
    action = stripe.create(request())
    localstripe.confirm(action.reference)
    held = stripe.retrieve(action.reference)
    assert (held.status, held.amount_captured) == (PaymentStatus.authorized, 0)
    taken = stripe.capture(action.reference, 4200, key="payment-1-capture")
    assert (taken.status, taken.amount_captured) == (PaymentStatus.succeeded, 4200)


def test_cancel_and_unknown_payments(localstripe):
    stripe = provider(localstripe.url)
    action = stripe.create(request())
    assert stripe.cancel(action.reference, key="payment-1-cancel").status == PaymentStatus.cancelled
    with pytest.raises(ProviderError):
        stripe.retrieve("pi_doesnotexist")
    with pytest.raises(ProviderError):
        stripe.refund(RefundRequest(refund_id=9, payment_reference="pi_doesnotexist", amount=100, currency="CNY"))


def test_reconciliation_lists_the_payments_made_since(localstripe):
    from datetime import UTC, datetime, timedelta

    stripe = provider(localstripe.url)
    before = datetime.now(UTC) - timedelta(seconds=2)
    action = stripe.create(request(payment_id=77))
    localstripe.confirm(action.reference)
    found = {r.reference: r for r in stripe.payments_since(before)}
    assert found[action.reference].status == PaymentStatus.succeeded and found[action.reference].payment_id == 77
    assert action.reference not in {r.reference for r in stripe.payments_since(datetime.now(UTC) + timedelta(hours=1))}


def test_an_unreachable_stripe_is_provider_unavailable():
    stripe = provider(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailable):
        stripe.create(request())
    assert stripe.health()[0] is False


# -- request bodies for what localstripe cannot confirm ---------------------------------------------------------------

class Recorder(BaseHTTPRequestHandler):
    """Stripe's API as far as a create needs it: records each request and answers with a PaymentIntent."""

    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"] or 0)).decode()
        Recorder.seen.append((self.path, dict(self.headers), dict(parse_qsl(body))))
        answer = json.dumps({"id": "pi_recorded", "object": "payment_intent", "client_secret": "pi_recorded_secret_x",
                             "status": "requires_payment_method", "amount": 4200, "currency": "cny"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Recorder.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}", Recorder.seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("method, extra", [
    ("alipay", {}),
    ("wechat_pay", {"payment_method_options[wechat_pay][client]": "web"}),
    ("card", {}),
])
def test_the_payment_intent_we_ask_for(recorder, method, extra):
    url, seen = recorder
    action = provider(url, methods=[method]).create(request(payment_id=31, method=method, reference="G2024"))
    assert action.client_secret == "pi_recorded_secret_x"
    path, headers, form = seen[0]
    assert path == "/v1/payment_intents" and headers["Idempotency-Key"] == "payment-31-create"
    assert form == {"amount": "4200", "currency": "cny", "payment_method_types[0]": method,
                    "capture_method": "automatic", "metadata[payment_id]": "31", "metadata[tenant]": "t",
                    "metadata[reference]": "G2024", **extra}


def test_capture_on_acceptance_asks_for_a_manual_capture(recorder):
    url, seen = recorder
    provider(url, capture="on_accept").create(request())
    assert seen[0][2]["capture_method"] == "manual"


# -- settings ---------------------------------------------------------------------------------------------------------

PRODUCTION = {"ENV": "production", "SECRET_KEY": "x" * 40}


def test_production_refuses_to_start_with_half_a_stripe_configuration(tmp_path):
    base = {**PRODUCTION, "INSTANCE_PATH": str(tmp_path)}
    for half in ({"STRIPE_SECRET_KEY": "sk_live_x"}, {"STRIPE_WEBHOOK_SECRET": "whsec_x"},
                 {"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"}):
        with pytest.raises(ConfigError, match="STRIPE"):
            load_settings({}, {**base, **half})
    load_settings({}, base)  # no Stripe at all: offline payments only
    load_settings({}, {**base, "STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x",
                       "STRIPE_PUBLISHABLE_KEY": "pk_live_x"})


def test_production_without_keys_cannot_make_or_choose_stripe(app, monkeypatch):
    with pytest.raises(ProviderLoadError, match="MARKETPLACE_STRIPE_SECRET_KEY"):
        StripeProvider({"ENV": "production"}, {"methods": ["card"]})
    with app.app_context():
        assert services.choice_problem("stripe", {"methods": ["card"]}) is None  # testing: keys optional
        monkeypatch.setitem(app.config["MARKETPLACE"], "ENV", "production")
        assert "not configured" in services.choice_problem("stripe", {"methods": ["card"]})
        assert services.choice_problem("offline", {}) is None


def test_tenant_options_are_checked():
    assert "capture must be automatic or on_accept" in services.choice_problem(
        "stripe", {"methods": ["card"], "capture": "later"})
    assert "not paypal" in services.choice_problem("stripe", {"methods": ["paypal"]})


@pytest.mark.parametrize("body", [
    [], None, 1, "event", {"id": 7, "type": "payment_intent.succeeded"}, {"id": "evt_1", "type": ["x"]},
    {"id": "evt_" + "x" * 300, "type": "payment_intent.succeeded", "data": {"object": {"object": "payment_intent"}}},
    {"id": "evt_2", "type": "payment_intent.succeeded", "data": {"object": {"object": "payment_intent",
                                                                           "id": "pi_1", "amount": "abc"}}},
    {"id": "evt_3", "type": "payment_intent.succeeded", "data": {"object": "not an object"}},
])
def test_a_signed_body_that_is_no_stripe_event_is_refused_not_a_crash(body):
    """Only someone with the webhook secret can send these; they are refused (400), never a server error."""
    raw = json.dumps(body).encode()
    timestamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), b"%d.%s" % (timestamp, raw), hashlib.sha256).hexdigest()
    with pytest.raises(NotificationRefused):
        provider("http://127.0.0.1:9").parse_notification(raw, {"Stripe-Signature": f"t={timestamp},v1={signature}"})


def test_a_signature_header_with_characters_outside_ascii_is_refused():
    with pytest.raises(NotificationRefused):
        provider("http://127.0.0.1:9").parse_notification(b"{}", {"Stripe-Signature": "t=1,v1=éé"})


def test_metadata_that_is_not_one_of_our_ids_is_ignored():
    from marketplace.payments.stripe_provider import intent_result

    for value in ("99999999999999999999", "٣", "-1", 5):
        assert intent_result({"id": "pi_1", "status": "succeeded", "amount": 1, "currency": "cny",
                              "metadata": {"payment_id": value}}).payment_id is None
