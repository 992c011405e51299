"""DC (digital certificates): the platform's signed records verify, keep what was signed, and can be withdrawn."""

from __future__ import annotations

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.spec.model import Status
from marketplace.spec.runner import run
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import badges


def _finding(tenant, requirement_id):
    return run(tenant, only={requirement_id}).results[0].finding


def _badged_tenant(make_tenant, make_shop):
    tenant = make_tenant()
    shop = make_shop(tenant)
    shop.merchant.registration_number = "91110108551385082Q"
    with tenant_scope(tenant):
        badge = badges.issue_badge(shop, actor_id=None)
        db.session.commit()
    return tenant, badge


def test_dc1_passes_for_untouched_signatures_and_fails_after_a_change(make_tenant, make_shop):
    tenant, badge = _badged_tenant(make_tenant, make_shop)
    assert _finding(tenant, "DC-1").status == Status.passed
    with tenant_scope(tenant):
        badge.payload = badge.payload.replace(badge.place or "\"v\"", "x", 1)  # rewritten after signing
        db.session.commit()
    result = _finding(tenant, "DC-1")
    assert result.status == Status.failed and result.evidence == [f"badge {badge.serial}"]


def test_dc4_fails_when_a_signed_record_lost_its_signed_bytes(make_tenant, make_shop):
    tenant, badge = _badged_tenant(make_tenant, make_shop)
    assert _finding(tenant, "DC-4").status == Status.passed
    with tenant_scope(tenant):
        badge.signature = ""
        db.session.commit()
    assert _finding(tenant, "DC-4").evidence == [badge.serial]


def test_dc6_passes_with_password_reset_and_badge_suspension(make_tenant):
    assert _finding(make_tenant(), "DC-6").status == Status.passed


def test_dc6_passes_when_the_tenant_has_an_operator_to_help_phone_only_merchants(make_tenant, make_shop, make_user):
    tenant = make_tenant()
    make_user("13903710111", role=Role.merchant_owner, shop=make_shop(tenant))
    make_user("operator@example.com", role=Role.tenant_operator, tenant=tenant)
    assert _finding(tenant, "DC-6").status == Status.passed


def test_dc6_fails_naming_phone_only_merchants_nobody_can_help_until_an_operator_is_granted(
        make_tenant, make_shop, make_user):
    tenant, elsewhere = make_tenant(), make_tenant()
    shop = make_shop(tenant, slug="fruit")
    make_user("13903710111", role=Role.merchant_owner, shop=shop)
    make_user("staff@example.com", role=Role.merchant_staff, shop=shop)  # can reset by mail: not named
    make_user("13903710112", role=Role.merchant_staff, shop=make_shop(elsewhere))  # another tenant's
    gone = make_user("operator-gone@example.com", role=Role.tenant_operator, tenant=tenant)
    gone.active = False  # a deactivated operator helps nobody
    make_user("operator-elsewhere@example.com", role=Role.tenant_operator, tenant=elsewhere)
    db.session.commit()

    result = _finding(tenant, "DC-6")
    assert result.status == Status.failed
    assert result.evidence == ["fruit:139****0111"]
    assert "运营方" in result.detail

    accounts.grant_role(make_user("operator@example.com"), Role.tenant_operator, tenant=tenant)
    db.session.commit()
    assert _finding(tenant, "DC-6").status == Status.passed


def test_dc_requirements_no_software_decides_say_why(make_tenant):
    report = run(make_tenant(), only={"DC-2", "DC-3", "DC-5", "DC-7"})
    assert {r.finding.status for r in report.results} == {Status.not_checkable}
    assert all(r.finding.detail for r in report.results)
