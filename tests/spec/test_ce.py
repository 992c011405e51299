"""网络经营者信用评价 (CE): reviews kept and shown honestly, and a credit score anyone can recompute."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.spec.model import Status
from marketplace.tenancy import agreements
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import credit, public_records, reviews
from marketplace.trust.public_records import PublicRecord
from tests.spec import trust_world
from tests.spec.trust_world import decide, place, status

street = trust_world.street  # the shared fixture
PASSED, FAILED = Status.passed, Status.failed
GOOD = {"product": 5, "described": 4, "service": 5, "delivery": 4}


def _review(tenant, buyer, product, key, **kw):
    order = place(tenant, buyer, {product: 1}, key)
    with tenant_scope(tenant):
        made = reviews.create_review(tenant, order.lines[0], buyer.id, ratings=kw.pop("ratings", GOOD), **kw)
        db.session.commit()
        return made


def _publish_rules(tenant, body: str):
    with tenant_scope(tenant):
        now = utcnow()
        document = agreements.save_draft(tenant, "rules", title="交易规则", body=body, actor_id=None)
        agreements.publish(document, effective_at=now, actor_id=None, urgent_reason="平台开业首版", now=now)
        db.session.commit()
        return document


def test_ce1_the_rules_in_force_must_carry_the_credit_rules(street):
    tenant, *_ = street
    finding = decide(tenant, "CE-1")
    assert (finding.status, finding.detail) == (FAILED, "本租户没有生效的交易规则，信用评价规则因而没有公示。")
    _publish_rules(tenant, "第一章 交易\n买卖双方……")
    assert "没有写明信用评价规则" in decide(tenant, "CE-1").detail
    _publish_rules(tenant, "第一章 交易\n买卖双方……\n第五章 信用评价\n近 180 天的评价、履约、取消和投诉按公式计分。")
    assert status(tenant, "CE-1") == PASSED


def test_ce2_the_buyer_of_a_completed_order_may_review_it(street):
    tenant, _shop, apples, _pears, buyer = street
    place(tenant, buyer, {apples: 1}, "done")
    finding = decide(tenant, "CE-2")
    assert finding.status == PASSED
    assert "1" in finding.detail


def test_ce3_reviews_cannot_be_deleted_and_a_missing_trigger_is_named(street):
    tenant, _shop, apples, _pears, buyer = street
    _review(tenant, buyer, apples, "kept")
    assert status(tenant, "CE-3") == PASSED
    db.session.execute(text("DROP TRIGGER reviews_no_delete" + (
        " ON reviews" if db.session.get_bind().dialect.name == "postgresql" else "")))
    finding = decide(tenant, "CE-3")
    assert finding.status == FAILED
    assert finding.evidence == ["数据库缺少拒绝删除评价的触发器"]


def test_ce4_a_hide_outside_the_service_leaves_no_log_entry_and_fails(street, make_user):
    tenant, _shop, apples, pears, buyer = street
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    first = _review(tenant, buyer, apples, "one")
    with tenant_scope(tenant):
        reviews.hide(tenant, first, operator.id, "privacy")
        db.session.commit()
    assert status(tenant, "CE-4") == PASSED
    second = _review(tenant, buyer, pears, "two")
    with tenant_scope(tenant):
        second.hidden_at, second.hidden_by_id, second.hidden_reason = utcnow(), operator.id, "ads"
        db.session.commit()
    assert decide(tenant, "CE-4").evidence == [f"review {second.id}"]


def test_ce5_the_shop_owner_reviewing_its_own_goods_is_flagged(street, make_user):
    tenant, shop, apples, pears, buyer = street
    _review(tenant, buyer, apples, "honest", ratings={"product": 1, "described": 1, "service": 1, "delivery": 1})
    _review(tenant, buyer, pears, "later")
    assert status(tenant, "CE-5") == PASSED
    owner = make_user("13900000001", role=Role.merchant_owner, shop=shop)
    own = _review(tenant, owner, apples, "self")
    finding = decide(tenant, "CE-5")
    assert finding.status == FAILED
    assert finding.evidence == [f"review {own.id} (shop {shop.id})"]


def test_ce6_search_sorts_by_credit_and_labels_ads(street):
    tenant, *_ = street
    assert status(tenant, "CE-6") == PASSED


#: A decision date a month back (the forms refuse future ones).
DECIDED = date.today() - timedelta(days=30)


def _penalty(tenant, shop, **kw):
    """An administrative penalty of the shop's merchant entered through the service (which refreshes credit)."""
    with tenant_scope(tenant):
        row = public_records.record(tenant, shop.merchant, public_records.RecordInput(
            kind=kw.pop("kind", "administrative_penalty"), authority="郑州市二七区市场监督管理局",
            document_number=kw.pop("document_number", "二七市监罚〔2026〕12号"), decided_on=DECIDED, **kw))
        db.session.commit()
        return row


def test_ce7_a_fresh_tenant_passes_the_formula_takes_public_records_in(street):
    tenant, *_ = street
    finding = decide(tenant, "CE-7")
    assert finding.status == PASSED, finding.evidence
    assert "0 条在公示中" in finding.detail


def test_ce7_records_entered_and_removed_through_the_service_keep_the_standings_current(street):
    tenant, shop, apples, _pears, buyer = street
    _review(tenant, buyer, apples, "before")  # a stored standing from before the record
    row = _penalty(tenant, shop)
    assert status(tenant, "CE-7") == PASSED
    assert status(tenant, "CE-9") == PASSED  # the standing stored with the record recomputes to itself
    with tenant_scope(tenant):
        public_records.remove(tenant, row, DECIDED + timedelta(days=20), "已履行处罚决定")
        db.session.commit()
    assert status(tenant, "CE-7") == PASSED
    assert status(tenant, "CE-9") == PASSED


def test_ce7_a_record_inserted_without_refreshing_credit_names_the_shop(street):
    tenant, shop, apples, _pears, buyer = street
    _review(tenant, buyer, apples, "scored")
    with tenant_scope(tenant):  # written past the service: the stored standing (search's) still lacks it
        row = PublicRecord(tenant_id=tenant.id, merchant_id=shop.merchant_id, kind="abnormal_operations",
                           authority="郑州市二七区市场监督管理局", document_number="二七市监异〔2026〕3号",
                           decided_on=DECIDED, recorded_at=utcnow())
        db.session.add(row)
        db.session.commit()
    finding = decide(tenant, "CE-7")
    assert finding.status == FAILED
    assert len(finding.evidence) == 1 and finding.evidence[0].startswith(f"shop {shop.id}: ")
    assert f"public record {row.id} (abnormal_operations)" in finding.evidence[0]
    with tenant_scope(tenant):  # the daily refresh (or any refresh of the shop) puts it right
        credit.refresh_credit([shop])
        db.session.commit()
    assert status(tenant, "CE-7") == PASSED


def test_ce8_and_ce10_say_why_no_check_decides_them(street):
    tenant, *_ = street
    assert status(tenant, "CE-8") == Status.not_checkable
    assert status(tenant, "CE-10") == Status.not_checkable


def test_ce9_a_stored_score_that_does_not_recompute_is_named(street):
    tenant, shop, apples, _pears, buyer = street
    _review(tenant, buyer, apples, "scored")  # refreshes the shop's stored standing
    assert status(tenant, "CE-9") == PASSED
    with tenant_scope(tenant):
        row = db.session.query(credit.ShopCredit).one()
        honest = row.score
        row.score = 100
        db.session.commit()
    finding = decide(tenant, "CE-9")
    assert finding.status == FAILED
    assert finding.evidence == [f"shop {shop.id}: 100/{row.level} → {honest}/{row.level}"]


def test_ce7_a_removal_stamped_without_refreshing_credit_names_the_shop(street):
    tenant, shop, *_ = street
    row = _penalty(tenant, shop)
    with tenant_scope(tenant):  # removed past the service: search still ranks the shop with the penalty
        row.removed_on, row.removed_at = DECIDED + timedelta(days=1), utcnow()
        db.session.commit()
    finding = decide(tenant, "CE-7")
    assert finding.status == FAILED
    assert finding.evidence[0].startswith(f"shop {shop.id}: ") and f"public record {row.id}" in finding.evidence[0]
