"""网络经营者电子标识 (EB): the shop's licence notice (亮照) and its signed badge, judged per requirement."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.spec.model import Status
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import badges, verification
from marketplace.trust.onboarding import OnboardingApplication
from tests.spec import trust_world
from tests.spec.trust_world import application, decide, status

street, farm = trust_world.street, trust_world.farm  # the shared fixtures
PASSED, FAILED, NOT_APPLICABLE = Status.passed, Status.failed, Status.not_applicable


def _badge(tenant, shop):
    with tenant_scope(tenant):
        badge = badges.issue_badge(shop, actor_id=None)
        db.session.commit()
        return badge


def test_eb1_a_company_without_its_licence_number_has_nothing_to_show(street, make_merchant, make_shop):
    tenant, *_ = street
    assert status(tenant, "EB-1") == PASSED
    make_shop(tenant, merchant=make_merchant(kind="enterprise", legal_name="无照公司"))
    finding = decide(tenant, "EB-1")
    assert finding.status == FAILED
    assert finding.evidence == ["无照公司"]


def test_eb2_registered_merchants_show_what_their_kind_requires_and_exempt_only_tenants_are_out_of_scope(
        street, make_tenant, make_merchant, make_shop):
    tenant, shop, *_ = street
    finding = decide(tenant, "EB-2")
    assert finding.status == FAILED
    assert finding.evidence == [f"{shop.merchant.legal_name}: 无已通过的认证申请"]
    application(shop, business_address="郑州市二七区德化街 8 号", organisation_form="")  # an individual business
    assert decide(tenant, "EB-2").evidence == [f"{shop.merchant.legal_name}: 组成形式"]
    with tenant_scope(tenant):
        filed = db.session.scalar(select(OnboardingApplication).where(OnboardingApplication.shop_id == shop.id))
        filed.organisation_form = "family"
        db.session.commit()
    assert status(tenant, "EB-2") == PASSED
    company = make_shop(tenant, slug="company", merchant=make_merchant(kind="enterprise", legal_name="甲公司",
                                                                       registration_number="91110108551385082Q"))
    application(company, entity_type="有限责任公司", registered_capital="")
    assert decide(tenant, "EB-2").evidence == ["甲公司: 注册资本（出资额）"]
    village = make_tenant(slug="spec-village")
    make_shop(village, merchant=make_merchant(kind="natural_person", legal_name="赵秀兰"))
    assert status(village, "EB-2") == NOT_APPLICABLE


def test_the_licence_page_shows_the_business_address_once_approved(street, client):
    tenant, shop, *_ = street
    url = f"/t/{tenant.slug}/s/{shop.slug}/licence"
    waiting = application(shop, status="submitted", business_address="郑州市二七区德化街 8 号")
    assert "德化街 8 号" not in client.get(url).get_data(as_text=True)
    with tenant_scope(tenant):
        waiting.status = "approved"
        db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "住所（经营场所）" in page and "郑州市二七区德化街 8 号" in page


def test_eb3_an_exempt_trader_shows_a_prescribed_declaration(street, make_merchant, make_shop):
    tenant, *_ = street
    assert status(tenant, "EB-3") == NOT_APPLICABLE
    stall = make_shop(tenant, slug="zhao", merchant=make_merchant(kind="natural_person", legal_name="赵秀兰"))
    finding = decide(tenant, "EB-3")
    assert finding.status == FAILED and finding.evidence == ["赵秀兰"]
    application(stall, exemption="个人从事零星小额交易活动")  # not one of the four codes, word for word
    assert status(tenant, "EB-3") == FAILED
    with tenant_scope(tenant):
        filed = db.session.scalar(select(OnboardingApplication).where(OnboardingApplication.shop_id == stall.id))
        filed.exemption = "small_sporadic"
        db.session.commit()
    assert status(tenant, "EB-3") == PASSED


def test_eb4_a_badge_left_stale_ten_working_days_after_a_change_fails(street):
    tenant, shop, *_ = street
    badge = _badge(tenant, shop)
    assert status(tenant, "EB-4") == PASSED
    shop.merchant.legal_name = "郑州市二七区鲜果坊水果商行"
    db.session.commit()
    assert status(tenant, "EB-4") == PASSED  # still inside the ten working days
    finding = decide(tenant, "EB-4", now=utcnow() + timedelta(days=20))
    assert finding.status == FAILED
    assert finding.evidence == [f"{badge.serial} (fruit): legal_name"]


def test_eb5_a_rejected_merchant_whose_badge_still_reads_valid_fails(street):
    tenant, shop, *_ = street
    badge = _badge(tenant, shop)
    assert status(tenant, "EB-5") == PASSED
    approval = verification.approval_for(shop.merchant)
    approval.status = verification.ApprovalStatus.rejected  # withdrawn without going through reject()
    db.session.commit()
    assert decide(tenant, "EB-5").evidence == [badge.serial]


def test_eb6_a_business_without_a_licence_number_cannot_be_marked_registered(street, make_merchant, make_shop):
    tenant, *_ = street
    make_shop(tenant, merchant=make_merchant(kind="natural_person", legal_name="陈磊"))
    assert status(tenant, "EB-6") == PASSED
    make_shop(tenant, merchant=make_merchant(kind="individual_business", legal_name="无照个体户"))
    assert decide(tenant, "EB-6").evidence == ["无照个体户"]


def test_eb7_a_pesticide_licence_without_its_expiry_date_fails(farm):
    tenant, _shop, licence, _product = farm
    assert status(tenant, "EB-7") == PASSED
    with tenant_scope(tenant):
        licence.expires_on = None
        db.session.commit()
    finding = decide(tenant, "EB-7")
    assert finding.status == FAILED
    assert finding.evidence == ["suifeng: pesticide_business (1)"]


def test_eb8_does_not_apply_without_live_or_social_selling(street):
    tenant, *_ = street
    assert status(tenant, "EB-8") == NOT_APPLICABLE


def test_eb9_a_warned_shop_trades_under_a_warning_badge_and_a_suspension_must_stop_the_shop(street):
    from marketplace.trust import enforcement
    from marketplace.trust.enforcement import Sanction

    tenant, shop, *_ = street
    badge = _badge(tenant, shop)
    with tenant_scope(tenant):
        enforcement.impose(shop, "warning", "虚假宣传", until=utcnow().date() + timedelta(days=10))
        db.session.commit()
        assert badges.badge_state(badge) == badges.BadgeState.warning
    assert status(tenant, "EB-9") == PASSED
    with tenant_scope(tenant):  # a suspension written past the service: the shop was left trading
        now = utcnow()
        db.session.add(Sanction(tenant_id=tenant.id, shop_id=shop.id, shop_name=shop.name_zh, measure="suspension",
                                violation="销售假冒商品", decided_at=now, published_at=now,
                                until=now.date() + timedelta(days=5), ends_at=now + timedelta(days=5)))
        db.session.commit()
    finding = decide(tenant, "EB-9")
    assert finding.status == FAILED
    assert finding.evidence == ["鲜果坊"]


def test_eb9_a_shop_past_its_announced_last_day_must_have_closed(street):
    from marketplace.trust import enforcement

    tenant, shop, *_ = street
    _badge(tenant, shop)
    with tenant_scope(tenant):
        enforcement.announce_closing(shop, enforcement.earliest_last_day(tenant), actor_id=None, by_operator=False)
        db.session.commit()
    assert status(tenant, "EB-9") == PASSED
    later = utcnow() + timedelta(days=40)
    finding = decide(tenant, "EB-9", now=later)
    assert finding.status == FAILED and finding.evidence == ["鲜果坊"]
    with tenant_scope(tenant):
        assert enforcement.apply_due(later).closed == 1  # the hourly job closes it
        db.session.commit()
    assert status(tenant, "EB-9", now=later) == PASSED
