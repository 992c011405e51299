"""localstripe, the Stripe emulator, in a subprocess of the test run — and the buyer's side of Stripe.js.

It is started from Python bound to 127.0.0.1 on a free port (its own command line listens on every interface),
with its pickle file left alone: it keeps state in memory only (the file would also hold the test card numbers).
The test talks to it over plain HTTP where a browser would (Stripe.js confirming a card), so card numbers never
pass through the platform's code or its loggers.

Known differences from Stripe (measured): it ignores idempotency keys, returns ``latest_charge`` expanded,
refuses ``description`` on a PaymentIntent, answers 500 to ``confirm(payment_method=…)`` (the method is attached
with an update first, as here), charges ``pm_card_visa_chargeDeclined`` successfully (card 4000000000000341
declines), sends only ``payment_intent.succeeded`` and ``payment_intent.payment_failed`` events, does not
refuse a refund above the captured amount, and cannot confirm Alipay or WeChat Pay.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from tests.orders.live_server import free_port

SECRET_KEY = "sk_test_localstripe_0123456789"
PUBLISHABLE_KEY = "pk_test_localstripe_0123456789"
WEBHOOK_SECRET = "whsec_test_localstripe_0123456789"
PICKLE = Path("/tmp/localstripe.pickle")

_SCRIPT = """
import logging, sys
from localstripe import resources
resources.Store.dump_to_disk = lambda self: None  # state in memory only
from aiohttp import web
from localstripe.server import app
logging.basicConfig(level=logging.INFO)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


class EmulatorMissing(RuntimeError):
    pass


def _flatten(data, prefix=""):
    """Stripe's form encoding: card[number]=…, payment_method_types[0]=…"""
    pairs = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict | list):
            pairs += _flatten(value, name)
        else:
            pairs.append((name, "true" if value is True else "false" if value is False else str(value)))
    return pairs


@dataclass
class LocalStripe:
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, log_path: Path) -> LocalStripe:
        if importlib.util.find_spec("localstripe") is None:  # not imported here: it warns on import
            raise EmulatorMissing("localstripe is not installed: pip install -r requirements-dev.txt")
        with contextlib.suppress(FileNotFoundError):
            PICKLE.unlink()  # a state left by another run must not come back
        port = free_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(port)], stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        server = cls(port, process, log_path)
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise EmulatorMissing(f"localstripe exited with {process.returncode}: {server.log_tail()}")
            with contextlib.suppress(OSError):
                if server.request("GET", "/v1/balance")[0] == 200:
                    return server
            if time.monotonic() > deadline:
                server.stop()
                raise EmulatorMissing(f"localstripe did not answer within 20 s: {server.log_tail()}")
            time.sleep(0.1)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    # -- HTTP -------------------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, data: dict | None = None, *, key: str = SECRET_KEY) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {key}"}
        body = None
        if data is not None:
            body = urlencode(_flatten(data))
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw.strip() else {}
        finally:
            connection.close()

    def post(self, path: str, data: dict | None = None) -> dict:
        status, body = self.request("POST", path, data or {})
        assert status == 200, f"localstripe POST {path} answered {status}: {body}"
        return body

    def get(self, path: str) -> dict:
        status, body = self.request("GET", path)
        assert status == 200, f"localstripe GET {path} answered {status}: {body}"
        return body

    def register_webhook(self, name: str, url: str, secret: str = WEBHOOK_SECRET) -> None:
        status, body = self.request("POST", f"/_config/webhooks/{name}", {"url": url, "secret": secret})
        assert status == 200, body

    # -- the buyer, as Stripe.js would act ---------------------------------------------------------------------------

    def payment_method(self, card: str | None) -> str:
        if card is None:
            return "pm_card_visa"
        return self.post("/v1/payment_methods", {"type": "card", "card": {
            "number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"}})["id"]

    def confirm(self, reference: str, card: str | None = None) -> tuple[int, dict]:
        """Attach a card and confirm: 200 with the intent, or 402 for a declined card."""
        self.post(f"/v1/payment_intents/{reference}", {"payment_method": self.payment_method(card)})
        return self.request("POST", f"/v1/payment_intents/{reference}/confirm", {})

    def authenticate(self, reference: str, client_secret: str, success: bool = True) -> tuple[int, dict]:
        """The buyer passes (or fails) the 3-D Secure step, as the bank's page would report it."""
        return self.request("POST", f"/v1/payment_intents/{reference}/_authenticate",
                            {"client_secret": client_secret, "success": success, "key": PUBLISHABLE_KEY},
                            key=PUBLISHABLE_KEY)

    # -- events, as Stripe signs them --------------------------------------------------------------------------------

    def events_for(self, reference: str) -> list[dict]:
        """Every event localstripe made about this PaymentIntent (or its charge), oldest first."""
        found, after = [], None
        while True:
            page = self.get("/v1/events?limit=100" + (f"&starting_after={after}" if after else ""))
            for event in page["data"]:
                obj = event["data"]["object"]
                if reference in (obj.get("id"), obj.get("payment_intent")):
                    found.append(event)
            if not page.get("has_more") or not page["data"]:
                return found
            after = page["data"][-1]["id"]

    def snapshot_event(self, kind: str, obj: dict) -> dict:
        """An event of a kind localstripe does not send (payment_intent.created, charge.refunded…), around an
        object localstripe holds now: the body Stripe would send."""
        return {"id": f"evt_{uuid.uuid4().hex[:14]}", "object": "event", "type": kind, "created": int(time.time()),
                "livemode": False, "api_version": "2017-08-15", "data": {"object": obj}}


def signed(event: dict, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None) -> tuple[bytes, dict]:
    """(body, headers) exactly as localstripe (and Stripe) sign a webhook."""
    body = json.dumps(event, indent=2, sort_keys=True).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), b"%d.%s" % (timestamp, body), hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json; charset=utf-8",
                  "Stripe-Signature": f"t={timestamp},v1={signature}"}
