"""The audit log: every operator and admin action is recorded, can never be rewritten, and each operator sees only
the entries of the tenants they run."""

from __future__ import annotations

from datetime import date
from html import unescape

import pytest
from sqlalchemy import delete, select, update

from marketplace.accounts.models import Role
from marketplace.core import audit
from marketplace.core.audit import AuditEntry
from marketplace.core.db import AppendOnly
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from tests.fixtures.factories import PASSWORD


@pytest.fixture
def place(make_tenant, make_shop, make_user):
    a = make_tenant(slug="audit-a", name_zh="甲街")
    b = make_tenant(slug="audit-b", name_zh="乙市场", kind="market")
    make_shop(a, slug="a-shop")
    make_user("op-a@example.com", role=Role.tenant_operator, tenant=a)
    make_user("op-b@example.com", role=Role.tenant_operator, tenant=b)
    make_user("root@example.com", role=Role.platform_admin)
    make_user("someone@example.com")
    return a, b


def _browser(make_client, login: str | None):
    browser = make_client()
    if login:
        browser.login(login, PASSWORD)
    return browser


def _all() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_record_keeps_target_tenant_and_details_as_json(app, place):
    a, _b = place
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        with tenant_scope(a):
            entry = audit.record("shop.location_changed", target=("shop", 7), changes={"map_x": [None, 1.5]},
                                 when=date(2026, 1, 2))
        db.session.commit()
    assert (entry.tenant_id, entry.target_kind, entry.target_id, entry.ip) == (a.id, "shop", "7", "203.0.113.9")
    assert entry.actor_id is None and entry.actor_name == ""  # nobody signed in: a job or the CLI
    assert entry.details == {"changes": {"map_x": [None, 1.5]}, "when": "2026-01-02"}
    platform = audit.record("tenant.created", target=a)
    assert platform.tenant_id == a.id and platform.target_kind == "tenant"


def test_entries_cannot_be_changed_or_deleted(place):
    a, _b = place
    entry = audit.record("tenant.suspended", target=a, reason="原因")
    db.session.commit()
    entry.details = {"reason": "改写"}
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()
    for statement in (update(AuditEntry).values(action="x"), delete(AuditEntry)):
        with pytest.raises(AppendOnly):
            db.session.execute(statement)
        db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).details == {"reason": "原因"}


def test_existing_operator_actions_are_audited(make_client, place):
    a, _b = place
    operator = _browser(make_client, "op-a@example.com")
    page = "/operator/audit-a/"
    operator.submit("/operator/audit-a/brand", {"primary_color": "#112233", "accent_color": "",
                                               "timezone": "Asia/Shanghai"}, page_url=page)
    operator.submit("/operator/audit-a/status", {"status": "draft"}, page_url=page)
    operator.submit("/operator/audit-a/status", {"status": "draft"}, page_url=page)  # no change: no entry
    entries = _all()
    assert [e.action for e in entries] == ["tenant.brand_changed", "tenant.status_changed"]
    brand, status = entries
    assert brand.details["after"]["brand"] == {"primary_color": "#112233"} and brand.actor_name == "op-a@example.com"
    assert status.details == {"previous": "live", "status": "draft"} and status.tenant_id == a.id
    assert brand.ip == "127.0.0.1"


def test_operators_read_their_own_tenants_log_and_admins_everything(make_client, place):
    a, b = place
    audit.record("tenant.suspended", target=a, reason="甲街整改")
    audit.record("tenant.suspended", target=b, reason="乙市场整改")
    audit.record("tenant.operator_granted", target=("user", 1), tenant=b, user="x@example.com")
    db.session.commit()

    operator_a = _browser(make_client, "op-a@example.com")
    html = operator_a.get("/operator/audit-a/audit").get_data(as_text=True)
    assert "甲街整改" in html and "乙市场整改" not in html
    assert operator_a.get("/operator/audit-b/audit").status_code == 404
    assert operator_a.get("/operator/audit").status_code == 403
    assert _browser(make_client, "someone@example.com").get("/operator/audit-a/audit").status_code == 404
    assert _browser(make_client, None).get("/operator/audit").status_code == 302  # to the login page

    admin = _browser(make_client, "root@example.com")
    everything = admin.get("/operator/audit").get_data(as_text=True)
    assert "甲街整改" in everything and "乙市场整改" in everything and "x@example.com" in everything
    only_grants = admin.get("/operator/audit?action=tenant.operator_granted").get_data(as_text=True)
    assert "x@example.com" in only_grants and "甲街整改" not in only_grants
    # An unknown filter is no filter, never an error.
    assert admin.get("/operator/audit?action=%00nope").status_code == 200


def test_the_log_is_paged_newest_first(make_client, place):
    a, _b = place
    for n in range(55):
        audit.record("tenant.brand_changed", target=a, n=n)
    db.session.commit()
    admin = _browser(make_client, "root@example.com")
    first = unescape(admin.get("/operator/audit-a/audit").get_data(as_text=True))
    assert '"n": 54' in first and '"n": 5}' in first and '"n": 4}' not in first
    assert "第 1 / 2 页" in first
    second = unescape(admin.get("/operator/audit-a/audit?page=2").get_data(as_text=True))
    assert '"n": 4}' in second and '"n": 0}' in second and '"n": 54' not in second
    assert admin.get("/operator/audit-a/audit?page=3").status_code == 404
    assert admin.get("/operator/audit-a/audit?page=abc").status_code == 200
