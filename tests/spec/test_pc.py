"""PC (platform construction): for each encoded requirement, a tenant that meets it and one that does not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

from marketplace.core.db import utcnow
from marketplace.demo.documents import AGREEMENT, RULES
from marketplace.extensions import db
from marketplace.spec.checks.pc import cascading_deletes
from marketplace.spec.model import Status
from marketplace.spec.runner import run
from marketplace.tenancy.agreements import TenantDocument
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import badges
from tests.spec.documents import publish_document, with_documents


def status(tenant, requirement_id: str) -> Status:
    return run(tenant, only={requirement_id}).results[0].finding.status


def finding(tenant, requirement_id: str):
    return run(tenant, only={requirement_id}).results[0].finding


def test_pc1_passes_with_an_agreement_and_rules_in_force(make_tenant):
    assert status(with_documents(make_tenant()), "PC-1") == Status.passed


def test_pc1_fails_without_rules_or_when_they_are_not_yet_in_force(make_tenant):
    tenant = make_tenant()
    assert status(tenant, "PC-1") == Status.failed
    publish_document(tenant, "agreement", AGREEMENT)
    publish_document(tenant, "rules", RULES, days_ago=-3)  # published, takes effect in three days
    assert "交易规则" in finding(tenant, "PC-1").detail


def test_pc2_names_the_subject_no_heading_covers(make_tenant):
    assert status(with_documents(make_tenant()), "PC-2") == Status.passed
    tenant = with_documents(make_tenant(), agreement=AGREEMENT.replace("## 个人信息保护", "## 其他"),
                            rules=RULES.replace("信息披露", "公示"))
    result = finding(tenant, "PC-2")
    assert result.status == Status.failed and result.evidence == ["个人信息保护"]


def test_pc3_fails_for_a_version_announced_too_late(make_tenant):
    tenant = with_documents(make_tenant())
    assert status(tenant, "PC-3") == Status.passed
    with tenant_scope(tenant):  # a version whose dates were written around the service
        late = TenantDocument(tenant_id=tenant.id, kind="rules", version=2, status="published", title="改",
                              body=RULES, consultation_from=utcnow() - timedelta(days=3),
                              published_at=utcnow() - timedelta(days=2), effective_at=utcnow() - timedelta(days=1))
        db.session.add(late)
        db.session.commit()
    result = finding(tenant, "PC-3")
    assert result.status == Status.failed and "v2" in result.evidence[0]


def test_pc4_needs_the_exit_clause_under_the_change_heading(make_tenant):
    assert status(with_documents(make_tenant()), "PC-4") == Status.passed
    no_exit = "## 协议的修改\n修改前公开征求意见。\n"
    assert status(with_documents(make_tenant(), agreement=no_exit, rules=no_exit), "PC-4") == Status.failed


def test_pc5_fails_when_a_published_version_is_missing(make_tenant):
    tenant = with_documents(make_tenant())
    assert status(tenant, "PC-5") == Status.passed
    with tenant_scope(tenant):
        db.session.add(TenantDocument(tenant_id=tenant.id, kind="rules", version=3, status="published", title="三",
                                      body=RULES, published_at=utcnow(), effective_at=utcnow()))
        db.session.commit()
    assert status(tenant, "PC-5") == Status.failed


def test_pc6_names_missing_rulebook_sections(make_tenant):
    assert status(with_documents(make_tenant()), "PC-6") == Status.passed
    tenant = with_documents(make_tenant(), rules=RULES.replace("## 知识产权保护", "## 其他"))
    result = finding(tenant, "PC-6")
    assert result.status == Status.failed and result.evidence == ["知识产权保护"]


def test_pc7_reads_cascading_deletes_from_the_schema(make_tenant):
    assert status(make_tenant(), "PC-7") == Status.passed
    metadata = MetaData()
    Table("users", metadata, Column("id", Integer, primary_key=True))
    Table("orders", metadata, Column("id", Integer, primary_key=True),
          Column("buyer_id", ForeignKey("users.id", ondelete="CASCADE")))
    assert cascading_deletes(metadata, ("orders",)) == ["orders.buyer_id → users"]


def test_pc10_fails_for_a_shop_whose_merchant_has_no_name(make_tenant, make_shop, make_merchant):
    tenant = make_tenant()
    make_shop(tenant)
    assert status(tenant, "PC-10") == Status.passed
    make_shop(tenant, slug="nameless", merchant=make_merchant(legal_name=" "))
    assert finding(tenant, "PC-10").evidence == ["nameless"]


def test_pc12_fails_for_an_exclusivity_clause(make_tenant):
    assert status(with_documents(make_tenant()), "PC-12") == Status.passed
    tenant = with_documents(make_tenant(), rules=RULES + "\n## 附则\n经营者须独家经营，二选一。\n")
    assert status(tenant, "PC-12") == Status.failed


def test_pc14_fails_for_a_badge_suspension_without_a_reason(make_tenant, make_shop):
    tenant = make_tenant()
    shop = make_shop(tenant)
    shop.merchant.registration_number = "91110108551385082Q"
    with tenant_scope(tenant):
        badge = badges.issue_badge(shop, actor_id=None)
        badges.suspend_badge(badge, "虚假宣传", actor_id=None)
        db.session.commit()
        assert status(tenant, "PC-14") == Status.passed
        badge.status_reason = ""
        db.session.commit()
    assert status(tenant, "PC-14") == Status.failed


def test_pc17_passes_while_live_and_fails_when_the_tenant_stops_without_notice(make_tenant):
    assert status(make_tenant(), "PC-17") == Status.passed
    assert status(make_tenant(status="suspended"), "PC-17") == Status.failed
    assert status(make_tenant(status="draft"), "PC-17") == Status.not_applicable


def test_pc17_a_tenant_closing_after_its_notice_passes_and_one_trading_past_its_last_day_fails(make_tenant):
    from marketplace.trust import enforcement

    tenant = make_tenant()
    announced = utcnow() - timedelta(days=40)
    with tenant_scope(tenant):
        last_day = enforcement.earliest_last_day(tenant, announced)
        enforcement.announce_tenant_closing(tenant, last_day, actor_id=None, note="市场搬迁", now=announced)
        db.session.commit()
    result = finding(tenant, "PC-17")  # the job has not run: the street still trades after its last day
    assert result.status == Status.failed and result.evidence == [last_day.isoformat()]
    with tenant_scope(tenant):
        assert enforcement.apply_due().tenant_closed
        db.session.commit()
    result = finding(tenant, "PC-17")
    assert result.status == Status.passed and last_day.isoformat() in result.detail


def test_pc19_fails_when_an_exchange_module_is_configured(make_tenant):
    from marketplace.tenancy.models import TenantSetting

    tenant = make_tenant()
    assert status(tenant, "PC-19") == Status.passed
    with tenant_scope(tenant):
        db.session.add(TenantSetting(tenant_id=tenant.id, module="exchange", name="provider", value="orderbook"))
        db.session.commit()
    assert status(tenant, "PC-19") == Status.failed


def test_pc20_deposit_clause_must_settle_all_four_terms(make_tenant):
    assert status(with_documents(make_tenant()), "PC-20") == Status.not_applicable
    full = RULES + "\n## 消费者权益保证金\n保证金数额为一万元，由平台专户管理，用于先行赔付，退出后三十日内退还。\n"
    assert status(with_documents(make_tenant(), rules=full), "PC-20") == Status.passed
    partial = RULES + "\n## 消费者权益保证金\n经营者缴纳保证金。\n"
    assert status(with_documents(make_tenant(), rules=partial), "PC-20") == Status.failed


def test_features_the_platform_lacks_fail_honestly(make_tenant):
    tenant = make_tenant()
    assert status(tenant, "PC-11") == Status.passed


def test_pc21_passes_only_for_a_named_operator_with_a_code_that_checks(make_tenant):
    recorded = make_tenant(operator_name="郑州东大街运营管理有限公司", operator_uscc="91410103MA46E5P2WA")
    result = finding(recorded, "PC-21")
    assert result.status == Status.passed and "91410103MA46E5P2WA" in result.detail
    assert status(make_tenant(), "PC-21") == Status.failed  # nothing recorded
    assert status(make_tenant(operator_uscc="91410103MA46E5P2WA"), "PC-21") == Status.failed  # no name
    assert status(make_tenant(operator_name="郑州东大街运营管理有限公司"), "PC-21") == Status.failed  # no code
    wrong = finding(make_tenant(operator_name="某公司", operator_uscc="91410103MA46E5P2WB"), "PC-21")
    assert wrong.status == Status.failed and "校验码" in wrong.evidence[0]


def test_pc13_fails_for_a_takedown_not_reported_within_a_month(make_tenant, make_shop, make_product):
    from marketplace.trust import enforcement

    tenant = make_tenant()
    product = make_product(make_shop(tenant))
    assert status(tenant, "PC-13") == Status.passed
    with tenant_scope(tenant):
        record = enforcement.take_down(product, "counterfeit", now=utcnow() - timedelta(days=40))
        db.session.commit()
    found = finding(tenant, "PC-13")
    assert found.status == Status.failed and len(found.evidence) == 1
    assert found.evidence[0].startswith(f"{record.product_title} (")  # the day it was taken down, tenant time
    with tenant_scope(tenant):
        enforcement.mark_reported([record])
        db.session.commit()
    assert status(tenant, "PC-13") == Status.passed


def test_pc14_fails_for_a_sanction_never_published(make_tenant, make_shop):
    from marketplace.trust import enforcement

    tenant = make_tenant()
    shop = make_shop(tenant)
    with tenant_scope(tenant):
        enforcement.impose(shop, "warning", "虚假宣传", until=enforcement.today(tenant) + timedelta(days=3))
        db.session.commit()
    assert status(tenant, "PC-14") == Status.passed
    with tenant_scope(tenant):  # a sanction written around the service, never shown
        db.session.add(enforcement.Sanction(tenant_id=tenant.id, shop_id=shop.id, shop_name="店", measure="warning",
                                            violation="", decided_at=utcnow()))
        db.session.commit()
    assert status(tenant, "PC-14") == Status.failed


def test_pc15_fails_for_an_ip_notice_left_past_its_deadline(make_tenant, make_shop, make_product, make_user):
    from marketplace.trust import ip_notices

    tenant = make_tenant()
    product = make_product(make_shop(tenant))
    holder = make_user()
    assert status(tenant, "PC-15") == Status.passed
    with tenant_scope(tenant):
        notice = ip_notices.file_notice(tenant, product, ip_notices.NoticeInput(
            right_kind="trademark", right_number="TM-1", holder_name="权利人", description="仿冒商标",
            contact="13800138000", warned=True), holder_id=holder.id, photos=["a" * 64])
        db.session.commit()
        due = notice.due_at
    assert run(tenant, now=due - timedelta(minutes=1), only={"PC-15"}).results[0].finding.status == Status.passed
    late = run(tenant, now=due + timedelta(days=1), only={"PC-15"}).results[0].finding
    assert late.status == Status.failed and late.evidence == [notice.number]


def test_pc16_fails_when_a_closed_account_keeps_a_mobile_number(make_tenant, make_user):
    from marketplace.accounts import closure
    from tests.fixtures.factories import PASSWORD

    tenant = make_tenant()
    user = make_user()
    closure.close_account(user, PASSWORD)
    db.session.commit()
    assert status(tenant, "PC-16") == Status.passed
    user.mobile = "13800138000"
    db.session.commit()
    assert finding(tenant, "PC-16").evidence == [f"user {user.id}"]


def test_pc17_fails_for_a_shop_closing_announced_too_late(make_tenant, make_shop):
    from marketplace.trust import enforcement

    tenant = make_tenant()
    shop = make_shop(tenant)
    with tenant_scope(tenant):
        enforcement.announce_closing(shop, enforcement.today(tenant) + timedelta(days=35), actor_id=None,
                                     by_operator=False)
        db.session.commit()
    assert status(tenant, "PC-17") == Status.passed
    with tenant_scope(tenant):
        db.session.add(enforcement.ClosingNotice(tenant_id=tenant.id, shop_id=shop.id, last_day=utcnow().date(),
                                                 closes_at=utcnow() + timedelta(days=2), announced_at=utcnow()))
        db.session.commit()
    assert status(tenant, "PC-17") == Status.failed


def test_pc4_fails_for_an_exit_held_to_the_refused_version(make_tenant, make_shop):
    from marketplace.tenancy.agreements import RuleChangeExit

    tenant = with_documents(make_tenant())
    shop = make_shop(tenant)
    with tenant_scope(tenant):
        rules = db.session.query(TenantDocument).filter_by(kind="rules").one()
        db.session.add(RuleChangeExit(tenant_id=tenant.id, shop_id=shop.id, refused_id=rules.id,
                                      governed_by_id=rules.id, at=utcnow()))
        db.session.commit()
    result = finding(tenant, "PC-4")
    assert result.status == Status.failed and result.evidence[0].endswith("v1 → v1")


def test_pc18_needs_the_district_the_figures_by_area_count_the_tenant_in(make_tenant):
    assert "二七区" in finding(make_tenant(district_zh="二七区"), "PC-18").detail
    unplaced = finding(make_tenant(district_zh=" "), "PC-18")
    assert unplaced.status == Status.failed and "所在区县" in unplaced.detail


def test_the_demo_city_meets_the_pc_musts_it_can(app, monkeypatch):
    """`flask demo` gives every tenant an agreement and rules, so every PC "must" passes there."""
    from sqlalchemy import select

    from marketplace.tenancy.context import all_tenants
    from marketplace.tenancy.models import Tenant
    from tests.demo.test_demo import run_demo

    monkeypatch.setitem(app.config["MARKETPLACE"], "DEMO_CATALOG", False)
    monkeypatch.setitem(app.config["MARKETPLACE"], "DEMO_IMAGES", False)
    run_demo(app)
    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.slug)))
    assert {t.slug for t in tenants} >= {"dehua-street", "nongzi-market", "apparel-market"}
    pc = {f"PC-{n}" for n in range(1, 22)}
    for tenant in tenants:
        failing = {r.requirement.id for r in run(tenant, only=pc).must_failures}
        assert failing == set(), tenant.slug
        assert status(tenant, "PC-8") == Status.passed, tenant.slug  # `flask demo` seals its order records


def _pc8(tenant, now=None):
    return run(tenant, now=now, only={"PC-8"}).results[0].finding


@pytest.fixture
def seal_street(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    """A street shop with one kettle on sale and a buyer."""
    tenant = make_tenant(slug="pc8-street")
    shop = make_shop(tenant)
    kettle = make_product(shop, category=make_category(tenant), title="电水壶", price=8900, stock=10)
    return tenant, kettle, make_user()


def test_pc8_passes_with_no_orders_and_once_the_orders_are_sealed(seal_street):
    from tests.orders.test_seals import place, seal

    tenant, kettle, buyer = seal_street
    result = _pc8(tenant)
    assert result.status == Status.passed and "尚无订单" in result.detail
    place(tenant, buyer, {kettle: 1}, "pc8-1", steps=("paid",))
    assert _pc8(tenant).status == Status.passed  # placed just now: the hourly seal has two days to catch up
    seal(tenant)
    result = _pc8(tenant, now=utcnow() + timedelta(days=3))
    assert result.status == Status.passed and "1 次封存" in result.detail


def test_pc8_fails_for_an_order_left_unsealed_more_than_two_days(seal_street):
    from tests.orders.test_seals import place, seal

    tenant, kettle, buyer = seal_street
    order = place(tenant, buyer, {kettle: 1}, "pc8-2")
    result = _pc8(tenant, now=utcnow() + timedelta(days=3))
    assert result.status == Status.failed and result.evidence == [order.number]
    assert "flask orders seal" in result.detail
    seal(tenant)
    assert _pc8(tenant, now=utcnow() + timedelta(days=3)).status == Status.passed


def test_pc8_fails_naming_the_order_when_a_sealed_record_was_edited(seal_street):
    from sqlalchemy import text

    from tests.orders.test_seals import place, seal

    tenant, kettle, buyer = seal_street
    order = place(tenant, buyer, {kettle: 1}, "pc8-3", steps=("paid",))
    seal(tenant)
    db.session.execute(text("UPDATE orders SET total = 1, items_total = 1 WHERE id = :id"), {"id": order.id})
    db.session.commit()
    db.session.expire_all()
    result = _pc8(tenant)
    assert result.status == Status.failed
    assert result.evidence == ["#1", order.number] and order.number in result.detail
