"""The operator's conformance page, stored runs, and the signed statement at /verify/conformance/<tenant>."""

from __future__ import annotations

import json

from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.spec import reports, statement
from marketplace.spec.reports import ConformanceRun
from marketplace.spec.runner import run
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import badges
from tests.fixtures.factories import PASSWORD


def _operator(make_user, tenant):
    return make_user(f"op-{tenant.slug}@shangdu.example", role=Role.tenant_operator, tenant=tenant)


def test_run_now_stores_a_run_shown_with_failures_first_and_no_statement(client, make_tenant, make_user):
    tenant = make_tenant(slug="conf-a")
    _operator(make_user, tenant)
    client.login("op-conf-a@shangdu.example", PASSWORD)
    response = client.submit("/operator/conf-a/conformance/run", {}, page_url="/operator/conf-a/conformance")
    assert response.status_code == 303
    page = client.get("/operator/conf-a/conformance").get_data(as_text=True)
    assert "尚无生效的" in page  # PC-1's reason is shown
    assert page.index("PC-1") < page.index("PC-7")  # a failure before a pass within the part
    assert "/conformance/statement" not in page and "不能签发符合性声明" in page
    with tenant_scope(tenant):
        assert len(db.session.scalars(select(ConformanceRun)).all()) == 1
    refused = client.submit("/operator/conf-a/conformance/statement", {}, page_url="/operator/conf-a/conformance")
    assert refused.status_code == 303
    with tenant_scope(tenant):
        assert reports.latest(tenant).statement_signature == ""
    assert client.get("/verify/conformance/conf-a").status_code == 404


def test_a_conforming_run_gets_a_signed_statement_anyone_can_verify(client, make_tenant, make_user):
    tenant = make_tenant(slug="conf-b", name_zh="乙街")
    _operator(make_user, tenant)
    with tenant_scope(tenant):  # a run of requirements the bare tenant meets: no failing must
        reports.save(tenant, run(tenant, only={"PC-7", "PC-17", "DC-6"}))
        db.session.commit()
    client.login("op-conf-b@shangdu.example", PASSWORD)
    assert "签发符合性声明" in client.get("/operator/conf-b/conformance").get_data(as_text=True)
    client.submit("/operator/conf-b/conformance/statement", {}, page_url="/operator/conf-b/conformance")

    public = client.get("/verify/conformance/conf-b.json").get_json()
    assert public["signature_valid"] is True and public["later_run_fails"] is False
    payload = json.loads(public["payload"])
    assert payload["tenant"] == "conf-b" and payload["tenant_name"] == "乙街" and payload["counts"]["passed"] == 3
    assert badges.signature_valid(public["payload"].encode("utf-8"), public["signature"])  # offline check
    assert "签名有效" in client.get("/verify/conformance/conf-b").get_data(as_text=True)

    # A later run failing a must does not unsign the statement, but the public page says so.
    with tenant_scope(tenant):
        reports.save(tenant, run(tenant, only={"PC-1"}))
        db.session.commit()
    assert client.get("/verify/conformance/conf-b.json").get_json()["later_run_fails"] is True


def test_statement_is_never_issued_for_a_run_with_a_failing_must(make_tenant):
    tenant = make_tenant()
    with tenant_scope(tenant):
        failing = reports.save(tenant, run(tenant, only={"PC-1"}))
        try:
            statement.issue(tenant, failing)
        except statement.StatementError as error:
            assert "不能出具" in str(error)
        else:
            raise AssertionError("a statement was issued for a failing run")
        assert failing.statement_signature == ""


def test_another_tenants_operator_is_refused(client, make_tenant, make_user):
    make_tenant(slug="conf-c")
    other = make_tenant(slug="conf-d")
    _operator(make_user, other)
    client.login("op-conf-d@shangdu.example", PASSWORD)
    assert client.get("/operator/conf-c/conformance").status_code == 404


def test_running_the_check_and_issuing_the_statement_are_in_the_audit_log(client, make_tenant, make_user):
    from marketplace.core.audit import AuditEntry

    tenant = make_tenant(slug="conf-audit")
    operator = _operator(make_user, tenant)
    client.login("op-conf-audit@shangdu.example", PASSWORD)
    page = "/operator/conf-audit/conformance"
    client.submit("/operator/conf-audit/conformance/run", {}, page_url=page)
    client.submit("/operator/conf-audit/conformance/statement", {}, page_url=page)  # refused: failing musts
    with tenant_scope(tenant):  # a run of requirements the bare tenant meets: no failing must
        passing = reports.save(tenant, run(tenant, only={"PC-7", "PC-17", "DC-6"}))
        db.session.commit()
    client.submit("/operator/conf-audit/conformance/statement", {}, page_url=page)
    client.submit("/operator/conf-audit/conformance/statement", {}, page_url=page)  # keeps the first: no new entry

    db.session.expire_all()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("conformance.%"))
                                 .order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["conformance.run", "conformance.statement_issued"]
    assert all((e.tenant_id, e.actor_id) == (tenant.id, operator.id) for e in entries)
    assert entries[0].details["must_failures"] > 0 and entries[1].target_id == str(passing.id)
    audit_page = client.get("/operator/conf-audit/audit").get_data(as_text=True)
    assert "运行符合性检查" in audit_page and "签发符合性声明" in audit_page
