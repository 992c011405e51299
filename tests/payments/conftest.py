"""Fixtures for payments: localstripe started for the test run, and the app pointed at it."""

from __future__ import annotations

import contextlib
import http.client
import logging
import uuid
from dataclasses import dataclass

import pytest

from marketplace.extensions import db
from marketplace.tenancy.models import Tenant
from tests.fixtures.app import configured_database_url, make_test_app
from tests.orders.live_server import LiveServer, migrate, postgresql_database, server_environment, start_server
from tests.payments.emulator import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, EmulatorMissing, LocalStripe


def start_localstripe(tmp_path_factory, name: str) -> LocalStripe:
    try:
        return LocalStripe.start(tmp_path_factory.mktemp(name) / "localstripe.log")
    except EmulatorMissing as error:
        pytest.skip(f"needs localstripe (the Stripe emulator): {error}")


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """A localstripe for in-process tests: no webhook registered (nothing listens for one)."""
    server = start_localstripe(tmp_path_factory, "localstripe")
    yield server
    server.stop()


def stripe_settings(url: str) -> dict:
    return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": url}


@pytest.fixture
def use_stripe(app, localstripe, monkeypatch):
    """The app's Stripe settings point at localstripe for this test; providers are made afresh."""
    for name, value in stripe_settings(localstripe.url).items():
        monkeypatch.setitem(app.config["MARKETPLACE"], name, value)
    app.extensions.pop("payment_providers", None)
    yield localstripe
    app.extensions.pop("payment_providers", None)


# -- the application under gunicorn, with localstripe delivering its webhooks ----------------------------------------

class Recorded(logging.Handler):
    """Every log record of the payment tests, formatted, for the card-number scan (test_traces)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))


@pytest.fixture(scope="session")
def recorded_logs():
    handler = Recorded()
    loggers = [logging.getLogger(name) for name in ("marketplace", "stripe", "werkzeug")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)  # stripe logs each request's parameters at debug
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(autouse=True)
def _record_logs(recorded_logs):
    yield


@dataclass
class LiveStripe:
    """gunicorn on its own database, localstripe posting webhooks to it, and an app on the same database that
    plays the checkout (the pages are another module's) and reads what the server wrote."""

    server: LiveServer
    stripe: LocalStripe
    app: object
    database_url: str
    tenant_id: int

    def tenant(self):
        return db.session.get(Tenant, self.tenant_id)

    def post_webhook(self, body: bytes, headers: dict) -> int:
        return post_notification(self.server.port, body, headers)


def post_notification(port: int, body: bytes, headers: dict) -> int:
    """One Stripe notification POSTed to the platform on ``port``, as Stripe sends it; the answer's status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/payments/notifications/stripe", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.fixture(scope="session")
def live_stripe(tmp_path_factory, recorded_logs):
    from marketplace.payments.conformance import ProviderConformance

    instance = tmp_path_factory.mktemp("live-stripe")
    emulator = start_localstripe(tmp_path_factory, "localstripe-live")
    url = configured_database_url() or ""
    database = (postgresql_database(url, f"stripe_{uuid.uuid4().hex[:10]}") if url.startswith("postgresql")
                else contextlib.nullcontext(f"sqlite:///{instance / 'live.sqlite3'}"))
    try:
        with database as database_url:
            settings = stripe_settings(emulator.url)
            env = server_environment(instance, database_url)
            env.update({f"MARKETPLACE_{name}": value for name, value in settings.items()})
            migrate(env)
            app = make_test_app(instance, database_url, **settings)
            with app.test_request_context():
                kit = ProviderConformance()
                kit.provider_name, kit.options = "stripe", {"methods": ["card"]}
                tenant = kit.make_tenant()
                tenant_id = tenant.id
            server = start_server(env, instance / "gunicorn.log", workers=4)
            try:
                emulator.register_webhook("platform", f"http://127.0.0.1:{server.port}/payments/notifications/stripe")
                yield LiveStripe(server, emulator, app, database_url, tenant_id)
            finally:
                server.stop()
                with app.app_context():
                    db.engine.dispose()
    finally:
        emulator.stop()
