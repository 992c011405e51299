"""Service agreement and trading rules: the change procedure, and the public pages every tenant page links to."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.demo.documents import RULES
from marketplace.extensions import db
from marketplace.tenancy import agreements
from marketplace.tenancy.context import tenant_scope
from tests.fixtures.factories import PASSWORD
from tests.fixtures.races import row_lands_after
from tests.spec.documents import publish_document


def _draft(tenant, consulted_days_ago: int | None, now=None):
    now = now or utcnow()
    document = agreements.save_draft(tenant, "rules", title="交易规则", body=RULES, actor_id=None)
    if consulted_days_ago is not None:
        agreements.open_consultation(document, now=now - timedelta(days=consulted_days_ago))
    return document


def test_publication_needs_seven_days_of_comment_and_seven_days_notice(make_tenant):
    tenant = make_tenant()
    now = utcnow()
    with tenant_scope(tenant):
        with pytest.raises(agreements.DocumentError, match="征求意见"):
            agreements.publish(_draft(tenant, None), effective_at=now + timedelta(days=8), actor_id=None)
        db.session.rollback()
        with pytest.raises(agreements.DocumentError, match="不少于 7 日"):
            agreements.publish(_draft(tenant, 6), effective_at=now + timedelta(days=8), actor_id=None)
        db.session.rollback()
        with pytest.raises(agreements.DocumentError, match="公示 7 日之后"):
            agreements.publish(_draft(tenant, 7), effective_at=now + timedelta(days=6), actor_id=None)
        db.session.rollback()
        document = agreements.publish(_draft(tenant, 7, now), effective_at=now + timedelta(days=7), actor_id=None,
                                       now=now)
        assert document.status == "published" and agreements.procedure_breaches(document) == []


def test_an_urgent_change_skips_the_waits_with_its_reason(make_tenant):
    tenant = make_tenant()
    with tenant_scope(tenant):
        document = agreements.publish(_draft(tenant, None), effective_at=utcnow(), actor_id=None,
                                      urgent_reason="省级主管部门要求紧急保护消费者")
        assert document.urgent_reason and agreements.procedure_breaches(document) == []
        with pytest.raises(agreements.DocumentError, match="已经公示"):
            agreements.publish(document, effective_at=utcnow(), actor_id=None, urgent_reason="再次")


def test_public_pages_show_current_and_earlier_versions_and_download(client, make_tenant):
    tenant = make_tenant(slug="docs-street")
    publish_document(tenant, "rules", "## 基本规则\n旧版正文。", days_ago=40, title="旧规则")
    publish_document(tenant, "rules", "## 基本规则\n新版正文<script>x</script>。", days_ago=5, title="新规则")
    page = client.get("/t/docs-street/rules").get_data(as_text=True)
    assert "新版正文&lt;script&gt;" in page and "旧版正文" not in page and "/t/docs-street/rules/v1" in page
    assert "旧版正文" in client.get("/t/docs-street/rules/v1").get_data(as_text=True)
    download = client.get("/t/docs-street/rules/v1.txt")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert "旧版正文" in download.get_data(as_text=True) and "# 旧规则" in download.get_data(as_text=True)
    assert client.get("/t/docs-street/rules/v9.md").status_code == 404
    home = client.get("/t/docs-street/").get_data(as_text=True)
    assert 'href="/t/docs-street/agreement"' in home and 'href="/t/docs-street/rules"' in home


def test_operator_drafts_consults_and_is_refused_an_early_publication(client, make_tenant, make_user):
    tenant = make_tenant(slug="docs-market")
    make_user("op-docs@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    client.login("op-docs@shangdu.example", PASSWORD)
    page = "/operator/docs-market/documents"
    client.submit(page, {"kind": "agreement", "title": "服务协议", "body": "## 总则\n正文"})
    with tenant_scope(tenant):
        draft = agreements.pending("agreement")
    assert draft is not None and draft.version == 1
    refused = client.submit(f"/t/docs-market/documents/{draft.id}/comments", {"comment": "太早"},
                            page_url="/t/docs-market/agreement", follow_redirects=True)
    assert "不在征求意见期内" in refused.get_data(as_text=True)  # a draft is not open for comment yet
    client.submit(f"/operator/docs-market/documents/{draft.id}/consult", {}, page_url=page)
    assert "征求意见中" in client.get("/t/docs-market/agreement").get_data(as_text=True)
    client.submit(f"/t/docs-market/documents/{draft.id}/comments", {"comment": "建议延长退货期限"},
                  page_url="/t/docs-market/agreement")
    assert "建议延长退货期限" in client.get(page).get_data(as_text=True)  # the operator reads it
    effective = (utcnow() + timedelta(days=10)).date().isoformat()
    client.submit(f"/operator/docs-market/documents/{draft.id}/publish", {"effective_on": effective}, page_url=page)
    assert "征求意见期不少于 7 日" in client.get(page).get_data(as_text=True)
    with tenant_scope(tenant):
        db.session.expire_all()
        assert agreements.pending("agreement").status == "consultation"
    bad = client.submit(page, {"kind": "agreement", "title": "", "body": ""})
    assert bad.status_code == 400


def test_a_merchant_leaves_over_a_pending_change_and_stays_under_the_old_version(client, make_tenant, make_shop,
                                                                                 make_user):
    tenant = make_tenant(slug="exit-street")
    shop = make_shop(tenant, slug="exit-shop", name_zh="退出店")
    make_user("owner-exit@shangdu.example", role=Role.merchant_owner, shop=shop)
    old = publish_document(tenant, "rules", RULES, days_ago=30)
    with tenant_scope(tenant):
        change = agreements.save_draft(tenant, "rules", title="新规则", body=RULES + "\n## 附则\n新增收费。",
                                       change_summary="新增收费", actor_id=None)
        agreements.open_consultation(change)
        db.session.commit()
        change_id = change.id

    client.login("owner-exit@shangdu.example", PASSWORD)
    public = client.get("/t/exit-street/rules").get_data(as_text=True)
    assert "/merchant/exit-street/exit-shop/rule-changes" in public  # the owner is shown the way out
    page = "/merchant/exit-street/exit-shop/rule-changes"
    assert "新增收费" in client.get(page).get_data(as_text=True)
    response = client.submit(f"{page}/{change_id}/leave", {}, page_url=page)
    assert response.status_code == 303

    now = utcnow()
    with tenant_scope(tenant):
        db.session.expire_all()
        change = agreements.document_in_tenant(change_id)
        record = agreements.exit_of(shop, change)
        assert record is not None and record.governed_by_id == old.id
        # Once the change is in force, the shop that left is still held to the old version; others are not.
        agreements.publish(change, effective_at=now, actor_id=None, urgent_reason="测试", now=now)
        assert agreements.governing_version(shop, "rules", now + timedelta(seconds=1)).id == old.id
        assert agreements.in_force("rules", now + timedelta(seconds=1)).id == change_id
        with pytest.raises(agreements.DocumentError, match="不是尚未生效的修改"):
            agreements.leave_over_change(shop, change, actor_id=None, now=now + timedelta(seconds=1))


def test_staff_cannot_take_the_shop_out(client, make_tenant, make_shop, make_user):
    tenant = make_tenant(slug="exit-staff")
    shop = make_shop(tenant, slug="staff-shop")
    make_user("staff-exit@shangdu.example", role=Role.merchant_staff, shop=shop)
    client.login("staff-exit@shangdu.example", PASSWORD)
    assert client.get("/merchant/exit-staff/staff-shop/rule-changes").status_code == 403


def test_an_effective_date_out_of_range_is_a_message_not_an_error(client, make_tenant, make_user):
    tenant = make_tenant(slug="docs-years")
    make_user("op-years@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    with tenant_scope(tenant):
        draft = _draft(tenant, 8)
        db.session.commit()
        draft_id = draft.id
    client.login("op-years@shangdu.example", PASSWORD)
    page = "/operator/docs-years/documents"
    for day in ("0001-01-01", "9999-12-31", "1999-12-31"):
        response = client.submit(f"/operator/docs-years/documents/{draft_id}/publish",
                                 {"effective_on": day, "urgent_reason": "法律要求"}, page_url=page)
        assert response.status_code == 303
        assert "生效日期须在 2000 年至 2100 年之间" in client.get(page).get_data(as_text=True)
    with tenant_scope(tenant):
        db.session.expire_all()
        assert agreements.document_in_tenant(draft_id).status == "consultation"


def test_two_operators_starting_the_same_version_get_a_message_not_an_error(client, make_tenant, make_user):
    from marketplace.core.audit import AuditEntry

    tenant = make_tenant(slug="docs-race")
    make_user("op-race@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    client.login("op-race@shangdu.example", PASSWORD)
    page = "/operator/docs-race/documents"
    now = utcnow()
    stop = row_lands_after("max(tenant_documents.version)", agreements.TenantDocument.__table__, dict(
        tenant_id=tenant.id, kind="agreement", version=1, status="draft", title="同事的草稿", body="## 总则\n同事写的",
        change_summary="", urgent_reason="", created_at=now, updated_at=now))
    try:
        response = client.submit(page, {"kind": "agreement", "title": "我的草稿", "body": "## 总则\n我写的"},
                                 follow_redirects=True)
    finally:
        stop()
    assert response.status_code == 400
    assert "另一位运营人员刚刚起草了第 1 版" in response.get_data(as_text=True)
    assert not db.session.query(AuditEntry).filter_by(action="document.draft_saved").count()


def test_a_lost_race_undoes_only_the_losers_draft(make_tenant):
    tenant = make_tenant(slug="docs-race-service")
    now = utcnow()
    with tenant_scope(tenant):
        stop = row_lands_after("max(tenant_documents.version)", agreements.TenantDocument.__table__, dict(
            tenant_id=tenant.id, kind="rules", version=1, status="draft", title="同事的草稿", body="## 总则\n同事写的",
            change_summary="", urgent_reason="", created_at=now, updated_at=now))
        try:
            with pytest.raises(agreements.DocumentError, match="刚刚起草了第 1 版"):
                agreements.save_draft(tenant, "rules", title="我的草稿", body="## 总则\n我写的", actor_id=None)
        finally:
            stop()
        # Only the savepoint was undone: the session goes on, and the colleague's draft is not overwritten.
        kept = agreements.pending("rules")
        assert (kept.title, kept.version) == ("同事的草稿", 1)
        again = agreements.save_draft(tenant, "rules", title="我的修改", body="## 总则\n我改的", actor_id=None)
        assert (again.id, again.version, again.title) == (kept.id, 1, "我的修改")


def test_drafting_consulting_and_publishing_are_in_the_audit_log(client, make_tenant, make_user):
    from marketplace.core.audit import AuditEntry

    tenant = make_tenant(slug="docs-audit")
    operator = make_user("op-audit@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    client.login("op-audit@shangdu.example", PASSWORD)
    page = "/operator/docs-audit/documents"
    client.submit(page, {"kind": "rules", "title": "交易规则", "body": "## 总则\n正文"})
    with tenant_scope(tenant):
        draft_id = agreements.pending("rules").id
    client.submit(f"/operator/docs-audit/documents/{draft_id}/consult", {}, page_url=page)
    effective = utcnow().date().isoformat()
    client.submit(f"/operator/docs-audit/documents/{draft_id}/publish",
                  {"effective_on": effective, "urgent_reason": "法律要求的修改"}, page_url=page)
    db.session.expire_all()
    entries = db.session.query(AuditEntry).filter(AuditEntry.action.like("document.%")).order_by(AuditEntry.id).all()
    assert [e.action for e in entries] == ["document.draft_saved", "document.consultation_opened",
                                           "document.published"]
    assert {(e.tenant_id, e.actor_id, e.target_id) for e in entries} == {(tenant.id, operator.id, str(draft_id))}
    assert entries[2].details["urgent_reason"] == "法律要求的修改" and entries[0].details["kind"] == "rules"
    assert "公示协议/规则" in client.get("/operator/docs-audit/audit").get_data(as_text=True)
