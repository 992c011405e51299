"""SQLite as the embedded default: WAL, foreign keys, a busy timeout, and writers that queue instead of failing."""

import threading

import pytest
from sqlalchemy import event, text

from marketplace.core.db import writing
from marketplace.extensions import db
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import Setting, SettingsGroup
from tests.fixtures.app import make_test_app, migrate_to_head
from tests.fixtures.web import RequestClient

counter = SettingsGroup("test_counter", value=Setting(int, 0))


@pytest.fixture
def file_app(tmp_path):
    app = make_test_app(tmp_path)
    migrate_to_head(app)
    return app


@pytest.mark.no_transaction
def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(file_app):
    with file_app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 30000


@pytest.mark.no_transaction
def test_concurrent_read_then_write_transactions_never_fail_with_database_locked(file_app):
    with file_app.app_context():
        tenant = Tenant(slug="counter", kind="street", name_zh="计数", name_en="Counter", brand={}, layout={})
        db.session.add(tenant)
        db.session.commit()
        tenant_id = tenant.id
    errors: list[BaseException] = []
    threads, rounds = 6, 15

    def work():
        try:
            with file_app.app_context(), writing():
                tenant = db.session.get(Tenant, tenant_id)
                for _ in range(rounds):
                    # Read, then write on what was read: the pattern of taking stock or money.
                    counter.set(tenant, "value", counter.get(tenant, "value") + 1)
                    db.session.commit()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    with file_app.app_context():
        assert counter.get(db.session.get(Tenant, tenant_id), "value") == threads * rounds  # no lost update


@pytest.mark.no_transaction
def test_unsafe_requests_open_write_transactions_and_reads_do_not(file_app):
    statements: list[str] = []
    with file_app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    file_app.test_client_class = RequestClient
    client = file_app.test_client()
    client.get("/")
    begins_on_get = [s for s in statements if s.startswith("BEGIN")]
    token = client.csrf_token("/account/login")
    statements.clear()
    client.post("/account/login", data={"csrf_token": token, "identifier": "a@b.cn", "password": "wrong-password"})
    begins_on_post = [s for s in statements if s.startswith("BEGIN")]
    assert begins_on_get and all(s == "BEGIN" for s in begins_on_get)
    assert begins_on_post and all(s == "BEGIN IMMEDIATE" for s in begins_on_post)


@pytest.mark.postgres
@pytest.mark.no_transaction
def test_a_request_whose_connection_the_database_cut_ends_cleanly_and_the_next_one_reconnects(app):
    """A database restart or failover cuts connections in the middle of a transaction: ending the request must not
    raise (a bare 500 past every error handler), and the next request gets a working connection."""
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()  # a transaction open on it
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
        # The request ends here: its teardown's rollback (core.db.end_session_safely) is the first to meet the cut.
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar() == 1
