"""Rate limits on the API: per key, per signed-in user, per address; 429 problem JSON with Retry-After; the rest
of the site is not limited; every operation documents the 429."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from tests.api.conftest import token_for


@pytest.fixture
def limits(app, monkeypatch):
    monkeypatch.setitem(app.config["MARKETPLACE"], "API_RATE_LIMIT", "5 per minute")
    monkeypatch.setitem(app.config["MARKETPLACE"], "API_RATE_LIMIT_ANONYMOUS", "3 per minute")
    from marketplace.api.limits import limiter

    limiter.reset()
    yield
    limiter.reset()


def test_an_address_without_credentials_is_limited_then_told_when_to_come_back(limits, client, make_tenant):
    tenant = make_tenant()
    url = f"/api/v1/tenants/{tenant.slug}/shops"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(url)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Limit"] == "3" and refused.headers["X-RateLimit-Remaining"] == "0"
    # Another address is counted on its own; pages of the site are not limited at all.
    assert client.get(url, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200
    assert all(client.get(f"/t/{tenant.slug}/").status_code == 200 for _ in range(5))


def test_each_key_has_its_own_allowance(limits, app, merchant, make_user):
    from marketplace.accounts.models import Role

    client = app.test_client()
    url = f"{merchant.base}/orders"
    assert [client.get(url, headers=merchant.headers).status_code for _ in range(5)] == [200] * 5
    assert client.get(url, headers=merchant.headers).status_code == 429
    colleague = make_user(role=Role.merchant_owner, tenant=merchant.tenant, shop=merchant.shop)
    other_key = {"Authorization": f"Bearer {token_for(colleague, merchant.shop)}"}
    assert client.get(url, headers=other_key).status_code == 200  # the same address, another key


def test_every_operation_documents_the_429(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = [op for ops in spec["paths"].values() for method, op in ops.items()
                  if method in ("get", "post", "put", "patch", "delete")]
    assert operations and all("429" in op["responses"] for op in operations)
    assert all("default" not in op["responses"] for op in operations)  # statuses are listed, not waved through


def test_a_made_up_token_is_counted_with_its_address(limits, client, make_tenant):
    """Random bearer strings get no allowance of their own: the address's limit still holds."""
    tenant = make_tenant()
    url = f"/api/v1/tenants/{tenant.slug}/shops"
    answers = [client.get(url, headers={"Authorization": f"Bearer occ_made-up-{n}"}).status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]


def test_behind_a_proxy_the_clients_own_address_is_counted(limits, make_tenant, tmp_path):
    from tests.fixtures.app import make_test_app

    app = make_test_app(tmp_path, PROXY_FIX_X_FOR=1, API_RATE_LIMIT_ANONYMOUS="2 per minute")
    with app.app_context():
        from marketplace.extensions import db

        db.create_all()
    client = app.test_client()
    url = "/api/v1/badges/nonexistent-serial"
    first = [client.get(url, headers={"X-Forwarded-For": "198.51.100.1"}).status_code for _ in range(3)]
    second = client.get(url, headers={"X-Forwarded-For": "198.51.100.2"}).status_code
    assert first[-1] == 429 and second != 429


def test_each_operator_token_has_its_own_allowance(limits, app, make_tenant, make_user):
    from marketplace.accounts.models import Role
    from tests.api.conftest import operator_token_for

    tenant = make_tenant()
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    client = app.test_client()
    url = f"/api/v1/tenants/{tenant.slug}/operator/settings"
    first = {"Authorization": f"Bearer {operator_token_for(operator, tenant)}"}
    # Past the address's allowance (3) up to the key's (5): counted by the token, not the address.
    assert [client.get(url, headers=first).status_code for _ in range(5)] == [200] * 5
    assert client.get(url, headers=first).status_code == 429
    second = {"Authorization": f"Bearer {operator_token_for(operator, tenant, '第二个')}"}
    assert client.get(url, headers=second).status_code == 200


@pytest.mark.postgres
@pytest.mark.no_transaction
def test_a_connection_cut_while_the_key_is_looked_up_does_not_fail_the_request(app, make_tenant, make_shop, make_user):
    """Flask-Limiter swallows its key function's errors. The database cutting the connection just as the limit
    looks the key up (a restart, a failover) must not leave the request on a dead transaction, to fail later with
    a bare 500: the request goes on with a fresh connection."""
    from marketplace.accounts.models import Role, User
    from marketplace.extensions import db
    from tests.search.test_indexing import purge

    with app.app_context():
        tenant = make_tenant()
        users = []
        admin = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        cuts = []

        def cut_before_the_lookup(connection, _cursor, statement, *_args):
            if not cuts and "FROM api_tokens" in statement and "revoked_at IS NULL" in statement:
                pid = connection.connection.dbapi_connection.info.backend_pid
                with admin.connect() as other:
                    cuts.append(other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar())

        try:
            shop = make_shop(tenant, slug="duanxian")
            owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shop)
            users.append(owner.id)
            headers = {"Authorization": f"Bearer {token_for(owner, shop)}"}
            db.session.commit()
            event.listen(db.engine, "before_cursor_execute", cut_before_the_lookup)
            try:
                answer = app.test_client().get(f"/api/v1/tenants/{tenant.slug}/shops/duanxian/orders", headers=headers)
            finally:
                event.remove(db.engine, "before_cursor_execute", cut_before_the_lookup)
            assert cuts == [True]
            assert answer.status_code == 200, answer.get_data(as_text=True)
        finally:
            purge(tenant.id)
            with db.engine.begin() as connection:
                connection.execute(User.__table__.delete().where(User.id.in_(users)))
