"""Server-side request forgery: the one place the platform fetches a URL a user gave is a webhook delivery. A
merchant's console must not make the platform knock on its own loopback, the private network, link-local or the
cloud metadata address — spelled any way, or reached through a redirect."""

from __future__ import annotations

import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.webhooks import services as webhooks
from marketplace.webhooks.models import WebhookAttempt, WebhookEndpoint
from tests.orders.live_server import Browser
from tests.reliability.conftest import SLUG

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it


class Trap:
    """A listening socket standing for what must never be reached: it counts every connection made to it."""

    def __init__(self, host: str = "127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.bind((host, 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self):
        while True:
            try:
                connection, _address = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self):
        self.socket.close()


class Redirector(ThreadingHTTPServer):
    """A receiver that answers every delivery with a redirect to ``target``."""

    def __init__(self, target: str):
        self.target, self.hits = target, 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(handler):  # noqa: N805 - the handler's own self
                self.hits += 1
                handler.send_response(302)
                handler.send_header("Location", self.target)
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def trap():
    found = Trap()
    yield found
    found.close()


def hostile_targets(port: int) -> list[str]:
    """The trap (this machine's loopback) however it may be spelled, then the private, shared, link-local and
    metadata addresses and names a cloud machine would answer on."""
    loopback = [f"http://127.0.0.1:{port}/hook", f"http://localhost:{port}/hook", f"http://127.1:{port}/hook",
                f"http://2130706433:{port}/hook", f"http://0x7f000001:{port}/hook", f"http://0177.0.0.1:{port}/hook",
                f"http://0.0.0.0:{port}/hook", f"http://[::ffff:127.0.0.1]:{port}/hook", f"http://[::1]:{port}/hook",
                f"http://127.0.0.1.:{port}/hook", f"http://LOCALHOST:{port}/hook", f"https://127.0.0.1:{port}/hook"]
    elsewhere = ["http://10.0.0.5/hook", "http://172.16.3.4/hook", "http://192.168.1.10:8080/hook",
                 "http://100.64.0.1/hook", "http://169.254.169.254/latest/meta-data/",
                 "http://[fd00:ec2::254]/latest/meta-data/", "http://metadata.google.internal/computeMetadata/v1/",
                 "http://[fe80::1]/hook", "http://[64:ff9b::a9fe:a9fe]/hook", "http://[2002:a9fe:a9fe::]/hook",
                 "http://224.0.0.1/hook", "http://255.255.255.255/hook", "gopher://127.0.0.1:6379/_INFO",
                 "file:///etc/passwd", "http://user:pass@127.0.0.1/hook"]
    return loopback + elsewhere


def test_a_merchant_cannot_point_a_webhook_at_the_platforms_own_network(platform, trap):
    merchant = Browser(platform.server.port)
    merchant.login("merchant0@reliable.example", "correct-horse-42")
    path = f"/merchant/{SLUG}/shop-0/webhooks"
    token = merchant.get(path).csrf_token()
    targets = hostile_targets(trap.port)

    answers = {url: merchant.post(path, {"csrf_token": token, "url": url, "events": "order.created"})
               for url in targets}

    unclear = {url: (page.status, page.alerts()) for url, page in answers.items()
               if page.status != 400 or not page.alerts()}
    with platform.app.app_context(), all_tenants():
        stored = db.session.scalar(select(func.count(WebhookEndpoint.id)))
    print(f"\n[{platform.database}] {len(targets)} hostile webhook targets: {len(targets) - len(unclear)} refused with "
          f"a reason, {stored} stored, {trap.connections} connections to the trap")
    assert unclear == {}
    assert stored == 0 and trap.connections == 0
    assert any(re.search(r"127\.0\.0\.1|公网", " ".join(page.alerts())) for page in answers.values())
    platform.check()


def test_a_receiver_redirecting_to_the_inside_or_turned_private_gets_no_connection_through(platform, trap):
    """Deliveries never follow a redirect, and check the address again at each send: a receiver that answers
    302 to loopback or to the metadata address, or whose address is no longer allowed, gets nothing through."""
    variant = platform.product("山西老陈醋 500ml", stock=10, price=1290)
    redirectors = [Redirector(f"http://127.0.0.1:{trap.port}/"), Redirector("http://169.254.169.254/latest/")]
    settings = platform.app.config["MARKETPLACE"]
    allowed_before = settings.get("WEBHOOKS_ALLOW_LOOPBACK")

    def subscribe(targets: list[str]) -> None:
        with platform.app.app_context():
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
            with tenant_scope(tenant):
                for target in targets:
                    webhooks.subscribe(tenant, None, target, ["order.created"], actor_id=None)
                db.session.commit()

    def subscribe_and_order(resident: int, targets: list[str]) -> int:
        subscribe(targets)
        assert platform.add_to_cart(resident, variant).status == 200
        assert platform.checkout(resident).status == 201
        with platform.app.app_context():
            return webhooks.deliver_due()

    def tries() -> list[tuple]:
        with platform.app.app_context(), all_tenants():
            return db.session.execute(select(WebhookAttempt.status_code, WebhookAttempt.error)
                                      .order_by(WebhookAttempt.id)).all()

    try:
        settings["WEBHOOKS_ALLOW_LOOPBACK"] = True  # as a developer's machine allows: the first hop is reachable
        redirected = subscribe_and_order(0, [f"http://127.0.0.1:{r.server_port}/hook" for r in redirectors])
        after_redirects = tries()
        # Saved while allowed, sent once it is not: the trap itself, and the redirectors again.
        subscribe([f"http://127.0.0.1:{trap.port}/hook"])
        settings["WEBHOOKS_ALLOW_LOOPBACK"] = False
        refused = subscribe_and_order(1, [])
        later = tries()[len(after_redirects):]
    finally:
        settings["WEBHOOKS_ALLOW_LOOPBACK"] = allowed_before
        for redirector in redirectors:
            redirector.shutdown()
            redirector.server_close()
    print(f"\n[{platform.database}] redirects: {redirected} sent, answered {[code for code, _e in after_redirects]}, "
          f"followed 0 times; no longer allowed: {refused} refused before connecting "
          f"({[error[:40] for _code, error in later]}); {trap.connections} connections to the trap")
    assert redirected == 2 and [code for code, _error in after_redirects] == [302, 302]
    assert [r.hits for r in redirectors] == [1, 1]  # each asked once, and its redirect not followed
    assert refused == 3 and all(code is None and "127.0.0.1" in error for code, error in later)
    assert trap.connections == 0
    platform.check()
