"""Idempotency-Key on every API write: one stored answer per caller and key, replayed byte for byte; the key with
another request is refused (422), the key while its first request runs is refused (409); records go after 24 h.

Every POST of the API is either ``@idempotent`` or on ``EXEMPT`` with its reason: a new POST without either fails
``test_every_post_is_idempotent_or_exempt_with_a_reason``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role, User
from marketplace.api import idempotency
from marketplace.api.auth import hash_token
from marketplace.api.idempotency import IdempotencyRecord
from marketplace.api.models import ApiToken
from marketplace.catalog.models import Product, Variant
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from tests.api.conftest import assert_problem, token_for
from tests.tenancy.test_cross_tenant_ids import ID_ROUTES, _fill, world  # noqa: F401 (world: the fixture)

#: POST operations that take no key, and why.
EXEMPT = {
    "api_merchant.publish_product": "sets a state: publishing twice leaves the product on sale, as once does",
    "api_merchant.unpublish_product": "sets a state: taking a product off sale twice is the same as once",
}


def _api_posts(app) -> dict[str, object]:
    return {rule.endpoint: app.view_functions[rule.endpoint] for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/") and "POST" in (rule.methods or ())}


def test_every_post_is_idempotent_or_exempt_with_a_reason(app):
    posts = _api_posts(app)
    assert posts, "no POST operations found"
    undecided = sorted(e for e, view in posts.items() if not idempotency.is_idempotent(view) and e not in EXEMPT)
    assert not undecided, f"POST operations neither @idempotent nor in EXEMPT: {undecided}"
    both = sorted(e for e, view in posts.items() if idempotency.is_idempotent(view) and e in EXEMPT)
    assert not both, f"exempt yet decorated: {both}"
    assert all(len(reason) > 20 for reason in EXEMPT.values())
    assert not set(EXEMPT) - set(posts), "an exemption for an operation that no longer exists"


def test_every_idempotent_operation_documents_the_header_and_what_it_answers(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    checked = 0
    for path, item in document["paths"].items():
        operation = item.get("post")
        if operation is None or "Idempotency-Key" not in {p["name"] for p in operation.get("parameters", [])}:
            continue
        checked += 1
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and header["required"], path
        responses = operation["responses"]
        assert "idempotency_key_in_use" in responses["409"]["description"], path
        assert "Retry-After" in responses["409"]["headers"], path
        assert "idempotency_key_reused" in responses["422"]["description"], path
        assert "missing_idempotency_key" in responses["400"]["description"], path
        success = [r for status, r in responses.items() if status.startswith("2")]
        assert all("Idempotent-Replayed" in r.get("headers", {}) for r in success), path
    decorated = [e for e, view in _api_posts(app).items() if idempotency.is_idempotent(view)]
    assert checked == len(decorated)


# -- the rules, on the shop API's bulk stock and product creation -------------------------------------------------

@pytest.fixture
def stocked(merchant, make_product):
    product = make_product(merchant.shop, title="复合肥", sku="FERT-1", stock=10)
    return merchant, product


def _stock(merchant, sku: str = "FERT-1") -> int:
    with tenant_scope(merchant.tenant):
        db.session.expire_all()
        return db.session.scalar(select(Variant.stock).where(Variant.sku == sku))


def test_the_same_key_and_body_is_answered_once_and_replayed_byte_for_byte(client, stocked):
    merchant, _product = stocked
    headers = merchant.headers
    url = f"{merchant.base}/variants/stock"
    first = client.post(url, json={"items": [{"sku": "FERT-1", "adjust": 5}]}, headers=headers)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    # Spacing and key order do not make it another request.
    again = client.post(url, data='{ "items" : [ {"adjust": 5, "sku": "FERT-1"} ] }',
                        headers={**headers, "Content-Type": "application/json"})
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _stock(merchant) == 15  # added once


def test_stored_answers_are_encrypted_and_forgotten_when_the_platform_key_changes(app, client, stocked,
                                                                                  monkeypatch):
    merchant, _product = stocked
    headers = merchant.headers
    url = f"{merchant.base}/variants/stock"
    first = client.post(url, json={"items": [{"sku": "FERT-1", "stock": 30}]}, headers=headers)
    assert first.status_code == 200
    stored = db.session.scalar(select(IdempotencyRecord.body))
    assert b"FERT-1" in first.get_data() and b"FERT-1" not in stored

    # A new SECRET_KEY cannot open the answer: the key is forgotten and the request runs again (setting stock to
    # 30 twice is harmless; the operations that create things recognise their own retries as well).
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-platform-key-" + "y" * 32)
    again = client.post(url, json={"items": [{"sku": "FERT-1", "stock": 30}]}, headers=headers)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers and _stock(merchant) == 30


def test_the_same_key_with_another_body_or_path_is_refused_and_changes_nothing(client, stocked, make_category):
    merchant, _product = stocked
    make_category(merchant.tenant, slug="tools", product_type="general.goods")
    headers = merchant.headers
    url = f"{merchant.base}/variants/stock"
    assert client.post(url, json={"items": [{"sku": "FERT-1", "adjust": 5}]}, headers=headers).status_code == 200
    assert_problem(client.post(url, json={"items": [{"sku": "FERT-1", "adjust": 6}]}, headers=headers),
                   422, "idempotency_key_reused")
    body = {"category": "tools", "title": "铁锹", "variants": [{"sku": "SPADE-1", "price": 3500}]}
    assert_problem(client.post(f"{merchant.base}/products", json=body, headers=headers), 422, "idempotency_key_reused")
    assert _stock(merchant) == 15
    with tenant_scope(merchant.tenant):
        assert db.session.scalar(select(func.count(Product.id)).where(Product.title == "铁锹")) == 0


def test_creating_a_product_twice_with_one_key_makes_one_product(client, merchant, make_category):
    make_category(merchant.tenant, slug="tools", product_type="general.goods")
    headers = merchant.headers
    body = {"category": "tools", "title": "铁锹", "variants": [{"sku": "SPADE-1", "price": 3500}]}
    first = client.post(f"{merchant.base}/products", json=body, headers=headers)
    again = client.post(f"{merchant.base}/products", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    with tenant_scope(merchant.tenant):
        assert db.session.scalar(select(func.count(Product.id)).where(Product.title == "铁锹")) == 1


def test_a_key_is_required_and_must_be_printable_ascii(client, stocked):
    merchant, _product = stocked
    url = f"{merchant.base}/variants/stock"
    body = {"items": [{"sku": "FERT-1", "adjust": 1}]}
    bare = {"Authorization": f"Bearer {merchant.token}"}
    assert_problem(client.post(url, json=body, headers=bare), 400, "missing_idempotency_key")
    assert_problem(client.post(url, json=body, headers={**bare, "Idempotency-Key": "x" * 101}), 400,
                   "invalid_idempotency_key")
    product = {"category": "fertiliser", "title": "铁锹", "variants": [{"sku": "SPADE-1", "price": 3500}]}
    assert_problem(client.post(f"{merchant.base}/products", json=product, headers=bare), 400,
                   "missing_idempotency_key")
    assert _stock(merchant) == 10


def test_a_refusal_is_the_keys_answer_too_but_a_refusal_of_the_caller_is_not(client, stocked, make_user):
    merchant, _product = stocked
    url = f"{merchant.base}/variants/stock"
    headers = merchant.headers
    refused = client.post(url, json={"items": [{"sku": "NOPE", "adjust": 1}]}, headers=headers)
    assert_problem(refused, 422, "validation_failed")
    replay = client.post(url, json={"items": [{"sku": "NOPE", "adjust": 1}]}, headers=headers)
    assert replay.get_data() == refused.get_data() and replay.headers["Idempotent-Replayed"] == "true"
    # A key without the scope is refused (403) before anything is claimed: the right key may then use it.
    read_only = token_for(merchant.user, merchant.shop, "只读", ["catalog:read"])
    key = {"Idempotency-Key": "retry-with-the-right-token"}
    denied = client.post(url, json={"items": [{"sku": "FERT-1", "adjust": 1}]},
                         headers={"Authorization": f"Bearer {read_only}", **key})
    assert_problem(denied, 403, "insufficient_scope")
    done = client.post(url, json={"items": [{"sku": "FERT-1", "adjust": 1}]},
                       headers={"Authorization": f"Bearer {merchant.token}", **key})
    assert done.status_code == 200 and "Idempotent-Replayed" not in done.headers


def test_a_clash_with_the_present_state_is_not_the_keys_answer(client, stocked):
    """409 (here: the stock moved since the client read it) gives the key back, so the client resolves the clash
    and sends its request again with the same key: it goes through, once."""
    merchant, product = stocked
    url = f"{merchant.base}/variants/stock"
    headers = {**merchant.headers, "Idempotency-Key": "sheet-2026-12-01"}
    version = client.get(f"{merchant.base}/products/{product.id}",
                         headers=merchant.headers).get_json()["variants"][0]["version"]
    client.post(url, json={"items": [{"sku": "FERT-1", "adjust": -1}]}, headers=merchant.headers)  # a sale, say
    stale = {"items": [{"sku": "FERT-1", "stock": 50, "expected_version": version}]}
    assert_problem(client.post(url, json=stale, headers=headers), 409, "version_conflict")
    assert _stock(merchant) == 9

    fresh = {"items": [{"sku": "FERT-1", "stock": 50, "expected_version": version + 1}]}  # read again
    done = client.post(url, json=fresh, headers=headers)
    assert done.status_code == 200 and "Idempotent-Replayed" not in done.headers and _stock(merchant) == 50
    again = client.post(url, json=fresh, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and _stock(merchant) == 50


def test_keys_belong_to_their_caller(client, stocked, make_user):
    merchant, _product = stocked
    other = token_for(merchant.user, merchant.shop, "另一个系统")
    url = f"{merchant.base}/variants/stock"
    key = {"Idempotency-Key": "same-key"}
    first = client.post(url, json={"items": [{"sku": "FERT-1", "adjust": 1}]},
                        headers={"Authorization": f"Bearer {merchant.token}", **key})
    second = client.post(url, json={"items": [{"sku": "FERT-1", "adjust": 1}]},
                         headers={"Authorization": f"Bearer {other}", **key})
    assert first.status_code == second.status_code == 200 and "Idempotent-Replayed" not in second.headers
    assert _stock(merchant) == 12


def test_a_claim_still_running_is_refused_with_retry_after(client, stocked):
    merchant, _product = stocked
    headers = merchant.headers
    url = f"{merchant.base}/variants/stock"
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_sha256 == hash_token(merchant.token)))
    body = '{"items":[{"sku":"FERT-1","adjust":1}]}'
    with client.application.test_request_context(url, method="POST", data=body,
                                                 headers={"Content-Type": "application/json"}):
        fingerprint = idempotency.fingerprint()
    db.session.add(IdempotencyRecord(who=f"api_tokens:{token_id}", key=headers["Idempotency-Key"], tenant_id=None,
                                     method="POST", endpoint="api_merchant.set_stock", path=url,
                                     fingerprint=fingerprint))
    db.session.commit()
    busy = client.post(url, data=body, headers={**headers, "Content-Type": "application/json"})
    assert_problem(busy, 409, "idempotency_key_in_use")
    assert busy.headers["Retry-After"].isdigit()
    assert _stock(merchant) == 10
    # A claim whose request died (older than the claim timeout) is taken over.
    record = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == headers["Idempotency-Key"]))
    record.created_at = utcnow() - idempotency.CLAIM_TIMEOUT - timedelta(seconds=1)
    db.session.commit()
    taken = client.post(url, data=body, headers={**headers, "Content-Type": "application/json"})
    assert taken.status_code == 200 and _stock(merchant) == 11


def test_a_claim_of_a_process_that_died_is_taken_over_at_once_and_a_living_ones_is_not(client, stocked):
    """A worker killed mid-request (out of memory, a timeout, kill -9) must not keep a phone's retry waiting for
    the claim timeout: on the same machine the retry sees the claimant is gone and runs the operation."""
    merchant, _product = stocked
    url = f"{merchant.base}/variants/stock"
    body = '{"items":[{"sku":"FERT-1","adjust":1}]}'
    headers = {**merchant.headers, "Content-Type": "application/json"}
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_sha256 == hash_token(merchant.token)))
    with client.application.test_request_context(url, method="POST", data=body,
                                                 headers={"Content-Type": "application/json"}):
        fingerprint = idempotency.fingerprint()
    worker = subprocess.Popen([sys.executable, "-c", "from marketplace.api.idempotency import claimant; "
                               "print(claimant(), flush=True); import time; time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    try:
        claimed_by = worker.stdout.readline().strip()
        assert claimed_by.endswith(f"/{worker.pid}/{idempotency._started(worker.pid)}")
        db.session.add(IdempotencyRecord(who=f"api_tokens:{token_id}", key=headers["Idempotency-Key"],
                                         tenant_id=None, method="POST", endpoint="api_merchant.set_stock", path=url,
                                         fingerprint=fingerprint, claimed_by=claimed_by))
        db.session.commit()
        assert_problem(client.post(url, data=body, headers=headers), 409, "idempotency_key_in_use")  # still alive
    finally:
        worker.kill()
        worker.communicate()
    taken = client.post(url, data=body, headers=headers)
    assert taken.status_code == 200 and _stock(merchant) == 11
    replayed = client.post(url, data=body, headers=headers)
    assert replayed.headers["Idempotent-Replayed"] == "true" and _stock(merchant) == 11


def test_records_older_than_a_day_are_purged_and_no_longer_replayed(app, client, stocked):
    merchant, _product = stocked
    headers = merchant.headers
    url = f"{merchant.base}/variants/stock"
    body = {"items": [{"sku": "FERT-1", "adjust": 1}]}
    assert client.post(url, json=body, headers=headers).status_code == 200
    fresh = client.post(f"{merchant.base}/variants/stock", json={"items": [{"sku": "FERT-1", "adjust": 2}]},
                        headers=merchant.headers)
    assert fresh.status_code == 200
    old = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == headers["Idempotency-Key"]))
    old.created_at = utcnow() - idempotency.RETENTION - timedelta(minutes=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["api", "purge-idempotency"])
    assert result.exit_code == 0 and result.output.startswith("1 "), result.output
    assert db.session.scalar(select(func.count(IdempotencyRecord.id))) == 1  # the day-old one went
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers  # forgotten: runs again
    assert _stock(merchant) == 14


# -- every decorated operation, with real ids ---------------------------------------------------------------------

DECORATED_ROUTES = sorted(key for key in ID_ROUTES if key[1] == "POST" and key[0].startswith("api_")
                          and key[0] not in EXEMPT)


@pytest.mark.parametrize(("endpoint", "method"), DECORATED_ROUTES, ids=[e for e, _m in DECORATED_ROUTES])
def test_each_operation_replays_its_answer_and_refuses_the_key_for_another_body(client, world, endpoint,  # noqa: F811
                                                                               method):
    route = ID_ROUTES[(endpoint, method)]
    client.login("admin@shangdu.example", "correct-horse-42")
    # Under tenant B, where the keys are B's, with tenant A's ids: each view runs and answers (404, mostly); the
    # effects of a retry are checked where they can happen (above, and in test_orders_api, test_trust_api…).
    url = _fill(route.url, {"tenant": "tenant-b", **world.ids})
    body = _fill(route.form, world.ids) or {}
    if getattr(route, "operator", False):
        headers = {"Authorization": f"Bearer {world.operator_token}"}
    elif "/shops/" in url and endpoint.startswith(("api_shop", "api_merchant")):
        headers = {"Authorization": f"Bearer {world.token}"}
    else:
        headers = {"X-CSRFToken": client.csrf_token("/account/")}
    headers["Idempotency-Key"] = str(uuid.uuid4())
    first = client.post(url, json=body, headers=headers)
    assert first.status_code < 500 and first.status_code not in (401, 403), first.get_data(as_text=True)
    again = client.post(url, json=body, headers=headers)
    assert (again.status_code, again.get_data()) == (first.status_code, first.get_data())
    if first.status_code == 409:  # a clash with the present state (an empty cart): not kept, so it ran again
        assert "Idempotent-Replayed" not in again.headers
        return
    assert again.headers.get("Idempotent-Replayed") == "true", (first.status_code, first.get_data(as_text=True))
    assert_problem(client.post(url, json={**body, "other": 1}, headers=headers), 422, "idempotency_key_reused")


# -- at the same moment, through separate connections -------------------------------------------------------------

@pytest.mark.no_transaction
def test_concurrent_requests_with_one_key_have_one_effect(app, make_tenant, make_shop, make_user, make_product):
    """Six clients send the same request with the same key at once (real connections to a file-backed SQLite, or
    PostgreSQL under MARKETPLACE_TEST_DATABASE_URL): the stock moves once, every answer is that answer or 409."""
    from tests.search.test_indexing import purge

    with app.app_context():
        tenant = make_tenant()
        user_ids = []
        try:
            shop = make_shop(tenant, slug="suifeng")
            owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shop)
            user_ids.append(owner.id)
            make_product(shop, title="复合肥", sku="FERT-1", stock=10)
            token = token_for(owner, shop)
            url = f"/api/v1/tenants/{tenant.slug}/shops/suifeng/variants/stock"
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "one-sync"}
            start = threading.Barrier(6)
            answers: list[tuple[int, bytes, bool]] = []

            def send() -> None:
                browser = app.test_client()
                start.wait()
                response = browser.post(url, json={"items": [{"sku": "FERT-1", "adjust": 1}]}, headers=headers)
                answers.append((response.status_code, response.get_data(), "Idempotent-Replayed" in response.headers))

            threads = [threading.Thread(target=send) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(answers) == 6 and {status for status, _b, _r in answers} <= {200, 409}, answers
            made = [body for status, body, replayed in answers if status == 200 and not replayed]
            assert len(made) == 1
            assert all(body == made[0] for status, body, _r in answers if status == 200)
            db.session.rollback()  # a fresh snapshot: the threads' commits
            with tenant_scope(tenant):
                assert db.session.scalar(select(Variant.stock).where(Variant.sku == "FERT-1")) == 11
        finally:
            purge(tenant.id)
            with db.engine.begin() as connection:
                connection.execute(User.__table__.delete().where(User.id.in_(user_ids)))
