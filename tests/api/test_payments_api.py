"""Paying through the orders API: checkout names one of the tenant's ways to pay (default: the first offline one),
the answer carries the payment — instructions, or a client secret for Stripe.js in that answer only — and an
unpaid group can be paid again."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders import handling
from marketplace.orders.models import OrderGroup
from marketplace.payments.models import Payment
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.settings import module_settings
from tests.api.conftest import assert_problem
from tests.fixtures.factories import PASSWORD
from tests.payments.conftest import localstripe, use_stripe  # noqa: F401 - fixtures

BASE = "/api/v1/tenants/laojie"


@pytest.fixture
def resident(client, make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(slug="laojie")
    apples = make_product(make_shop(tenant), category=make_category(tenant), title="红富士苹果", price=2990)
    make_user("buyer@shangdu.example")
    client.login("buyer@shangdu.example", PASSWORD)
    client.headers = {"X-CSRFToken": client.csrf_token("/account/login")}
    with tenant_scope(tenant):
        variant = db.session.scalar(select(Variant.id).where(Variant.product_id == apples.id))
    client.put(f"{BASE}/cart/lines/{variant}", json={"quantity": 2}, headers=client.headers)
    client.tenant = tenant
    return client


def _count(model) -> int:
    with all_tenants():
        return db.session.scalar(select(func.count(model.id)))


def _set(tenant, provider, **options):
    module_settings["payment"].set(tenant, "provider", provider)
    module_settings["payment"].set(tenant, "options", options)
    db.session.commit()


def _checkout(client, key=None, **body):
    key = key or str(uuid.uuid4())  # a fresh key per submission unless the test retries one
    return client.post(f"{BASE}/checkout", json=body, headers={**client.headers, "Idempotency-Key": key})


def test_checkout_pays_offline_by_default_with_instructions(resident):
    response = _checkout(resident, "k-1")
    assert response.status_code == 201, response.get_json()
    payment = response.get_json()["payment"]
    assert (payment["provider"], payment["method"], payment["status"], payment["amount"]) == (
        "offline", "pay_at_stall", "pending", 5980)
    assert response.get_json()["number"] in payment["instructions"] and "client_secret" not in payment
    again = _checkout(resident, "k-1")
    assert again.status_code == 201 and again.get_data() == response.get_data()
    assert _count(Payment) == 1


@pytest.mark.parametrize("payment", [{"provider": "stripe", "method": "card"}, {"provider": "offline", "method": "x"},
                                     {"provider": "offline"}, "offline"])
def test_a_way_to_pay_not_offered_is_refused_and_nothing_placed(resident, payment):
    response = _checkout(resident, payment=payment)
    assert response.status_code == 422
    assert response.get_json()["code"] in ("unknown_payment_method", "validation_failed")
    assert _count(OrderGroup) == 0


def test_card_checkout_answers_the_client_secret_once_and_a_retry_starts_a_new_attempt(resident, use_stripe):  # noqa: F811
    _set(resident.tenant, "stripe", methods=["card"])
    missing = _checkout(resident)  # no offline way offered: the payment must be named
    assert_problem(missing, 422, "validation_failed")
    response = _checkout(resident, payment={"provider": "stripe", "method": "card"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    payment = body["payment"]
    assert payment["status"] == "requires_action" and payment["reference"].startswith("pi_")
    assert payment["client_secret"].startswith(payment["reference"]) and payment["publishable_key"].startswith("pk_")
    later = resident.get(f"{BASE}/orders/{body['number']}").get_json()["payment"]
    assert "client_secret" not in later and later["may_retry"] is False

    headers = {**resident.headers, "Idempotency-Key": "retry-1"}
    open_attempt = resident.post(f"{BASE}/orders/{body['number']}/payments", json={}, headers=headers)
    assert open_attempt.status_code == 200  # the first attempt is still open: it stands
    assert use_stripe.confirm(payment["reference"], "4000000000000341")[0] == 402
    resident.get(f"/t/laojie/orders/{body['number']}/paid?payment_intent={payment['reference']}")
    headers["Idempotency-Key"] = "retry-2"  # a new attempt: a new key
    retried = resident.post(f"{BASE}/orders/{body['number']}/payments", json={}, headers=headers)
    assert retried.status_code == 201 and retried.get_json()["payment"]["client_secret"]
    assert retried.get_json()["payment"]["reference"] != payment["reference"]
    headers["Idempotency-Key"] = "retry-3"
    assert resident.post(f"{BASE}/orders/{body['number']}/payments", json={}, headers=headers).status_code == 200
    assert _count(Payment) == 2


def test_with_stripe_unreachable_paying_again_is_a_clear_503(resident, use_stripe, monkeypatch, app):  # noqa: F811
    """The order is still placed and held; paying again while the provider is down says so and when to retry."""
    from tests.orders.live_server import free_port

    _set(resident.tenant, "stripe", methods=["card"])
    monkeypatch.setitem(app.config["MARKETPLACE"], "STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")  # no one
    app.extensions.pop("payment_providers", None)
    placed = _checkout(resident, payment={"provider": "stripe", "method": "card"})
    assert placed.status_code == 201  # the goods are held for the buyer until the payment deadline
    payment = placed.get_json()["payment"]
    assert payment["status"] == "failed" and payment["may_retry"] is True and "Stripe" in payment["problem"]
    again = resident.post(f"{BASE}/orders/{placed.get_json()['number']}/payments", json={},
                          headers={**resident.headers, "Idempotency-Key": "retry-down"})
    assert_problem(again, 503, "payment_unavailable")
    assert int(again.headers["Retry-After"]) > 0
    with all_tenants():
        assert db.session.scalar(select(OrderGroup.paid_at)) is None


def test_a_paid_group_refuses_a_retry(resident):
    body = _checkout(resident).get_json()
    with tenant_scope(resident.tenant):
        group = db.session.scalar(select(OrderGroup))
        for order in group.orders:
            handling.confirm_offline_payment(order, actor_id=None)
        db.session.commit()
    response = resident.post(f"{BASE}/orders/{body['number']}/payments", json={},
                             headers={**resident.headers, "Idempotency-Key": "r"})
    assert_problem(response, 409, "already_paid")
    assert resident.post(f"{BASE}/orders/NOPE/payments", json={},
                         headers={**resident.headers, "Idempotency-Key": "r-2"}).status_code == 404
