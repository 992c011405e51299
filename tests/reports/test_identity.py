"""The half-yearly identity report tells the regulator what the platform verified: each merchant's latest
approved application, not one it has filed since and that waits for a decision or was refused."""

from __future__ import annotations

import pytest

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.reports import archive, identity
from marketplace.reports.models import StatisticsReturn
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import onboarding
from marketplace.trust.onboarding import ApplicationInput
from tests.fixtures.races import row_lands_after
from tests.reports.conftest import beijing

PERSON_ID = "11010519491231002X"
LATER_ID = "440524188001010014"


def _person(**kw) -> ApplicationInput:
    values = dict(kind="natural_person", legal_name="王建军", resident_id=PERSON_ID, id_consent=True,
                  contact_name="王建军", contact_phone="13900139000", business_address="郑州市二七区农资市场 B-12",
                  exemption="own_farm_produce")
    return ApplicationInput(**{**values, **kw})


def _row(shop_slug: str) -> list[str]:
    return next(row for rows in identity.rows().values() for row in rows if row[2].endswith(f"/s/{shop_slug}/"))


def test_the_report_keeps_the_approved_facts_while_a_new_application_waits_or_is_refused(
        app_ctx, make_tenant, make_merchant, make_shop, make_user):
    tenant = make_tenant(slug="id-street")
    merchant = make_merchant(kind="natural_person", legal_name="王建军")
    shop = make_shop(tenant, merchant=merchant, slug="wang", approved=False)
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    with tenant_scope(tenant):
        first = onboarding.submit_application(shop, _person(), actor_id=None)
        onboarding.approve_application(first, operator=operator, tenant=tenant)
        db.session.commit()
    assert _row("wang")[5:7] == ["110****002X", "郑州市二七区农资市场 B-12"]

    with tenant_scope(tenant):
        onboarding.submit_application(shop, _person(business_address="郑州市金水区未核验地址 9 号",
                                                    resident_id=LATER_ID, id_consent=True), actor_id=None)
        db.session.commit()
    assert _row("wang")[5:7] == ["110****002X", "郑州市二七区农资市场 B-12"]  # still waiting: not verified

    with tenant_scope(tenant):
        waiting = onboarding.current_application(merchant)
        onboarding.reject_application(waiting, "地址无法核实", actor_id=operator.id, tenant=tenant)
        db.session.commit()
    assert _row("wang")[5:7] == ["110****002X", "郑州市二七区农资市场 B-12"]


def test_the_shop_address_is_on_the_configured_platform_domain(app_ctx, make_tenant, make_shop):
    make_tenant(slug="id-lane")
    shop = make_shop(make_tenant(slug="id-market"), slug="tea")
    assert _row("tea")[2] == f"https://id-market.shangdu.test/s/{shop.slug}/"


def test_an_identity_report_filed_by_someone_else_at_the_same_moment_is_refused_cleanly(app_ctx, make_tenant,
                                                                                     make_shop):
    make_shop(make_tenant(slug="id-race"), slug="fruit")
    stop = row_lands_after("max(statistics_returns.version)", StatisticsReturn.__table__, dict(
        kind=identity.KIND, period="2026-H1", version=1, form={}, figures={}, submitted_at=utcnow(), note=""))
    try:
        with pytest.raises(archive.ArchiveError, match="第 1 版刚刚由他人报送"):
            identity.submit(identity.parse_half("2026-H1"), now=beijing(2026, 7, 10))
    finally:
        stop()
    # Only the loser's row was undone; the other submission stands and the session goes on.
    assert [r.note for r in archive.submitted("2026-H1", kind=identity.KIND)] == [""]
