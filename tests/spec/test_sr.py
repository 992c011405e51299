"""SR — statistics reporting: each encoded requirement passes on a tenant that does it and fails on one that
does not (the city of tests/reports/conftest.py)."""

from __future__ import annotations

import pytest

from marketplace.extensions import db
from marketplace.reports import archive, identity
from marketplace.reports.definitions import parse_period
from marketplace.reports.models import StatisticsReturn
from marketplace.spec.model import Status
from marketplace.spec.runner import run
from tests.reports import conftest as statistics_city
from tests.reports.conftest import beijing

city = statistics_city.city  # the fixture: two streets and a market with a November of orders

NOVEMBER = parse_period("2026-11")
MID_DECEMBER = beijing(2026, 12, 15, 9, 0)  # November's return is due by 10 December


def decided(tenant, requirement: str, now=MID_DECEMBER):
    return run(tenant, now=now, only={requirement}).results[0].finding


def test_sr2_passes_with_a_district_and_fails_without(city, make_tenant):
    assert decided(city.street, "SR-2").status == Status.passed
    nowhere = make_tenant(district_zh="")
    finding = decided(nowhere, "SR-2")
    assert finding.status == Status.failed and "区域" in finding.detail


def test_sr3_passes_with_a_valid_form_and_fails_once_it_expires_or_an_archived_return_lacks_it(city):
    assert decided(city.street, "SR-3").status == Status.passed
    expired = decided(city.street, "SR-3", now=beijing(2028, 1, 2))
    assert expired.status == Status.failed and "有效期" in expired.detail
    db.session.add(StatisticsReturn(kind="statistics", period="2026-09", version=1, form={"number": "SD-EC-01"},
                                    figures={"tenant": {}}, submitted_at=MID_DECEMBER))
    db.session.commit()
    broken = decided(city.street, "SR-3")
    assert broken.status == Status.failed and broken.evidence == ["2026-09 v1"]


def test_sr4_passes_when_categories_say_goods_or_service_and_fails_on_an_untyped_one(city, make_category,
                                                                                       make_product):
    assert decided(city.street, "SR-4").status == Status.passed
    untyped = make_category(city.lane, slug="misc", product_type="")
    make_product(city.shops["l1"], category=untyped)
    finding = decided(city.lane, "SR-4")
    assert finding.status == Status.failed and finding.evidence == ["misc"]


def test_sr5_fails_until_the_month_with_sales_is_archived(city, make_tenant):
    finding = decided(city.street, "SR-5")
    assert finding.status == Status.failed and finding.evidence == ["2026-11"]
    # On 10 December November is not yet late: October is the month due, and the lane sold nothing then.
    assert decided(city.lane, "SR-5").status == Status.failed
    assert decided(city.lane, "SR-5", now=beijing(2026, 12, 10, 9, 0)).status == Status.not_applicable
    archive.submit(NOVEMBER, now=beijing(2026, 12, 3))
    db.session.commit()
    assert decided(city.street, "SR-5").status == Status.passed
    assert decided(make_tenant(), "SR-5").status == Status.not_applicable


def test_sr7_passes_while_the_archive_agrees_and_fails_after_a_late_sale_or_a_lost_version(city):
    from marketplace.orders import services as orders
    from marketplace.tenancy.context import tenant_scope
    from tests.orders.test_place_order import fill
    from tests.orders.test_returns import record

    archive.submit(NOVEMBER, now=beijing(2026, 12, 3))
    db.session.commit()
    assert decided(city.street, "SR-7").status == Status.passed
    # A payment recorded late, dated in November, after the return went: a correction is due.
    cart = fill(city.street, city.buyers[3], {city.products["s3"]: 1})
    with tenant_scope(city.street):
        late = orders.place_order(city.street, city.buyers[3].id, cart, "late").orders[0]
        record(late, "paid", beijing(2026, 11, 28, 10, 0))
        db.session.commit()
    finding = decided(city.street, "SR-7")
    assert finding.status == Status.failed and "更正" in finding.evidence[0]
    archive.submit(NOVEMBER, now=beijing(2026, 12, 4), note="更正")
    db.session.commit()
    assert decided(city.street, "SR-7").status == Status.passed
    db.session.add(StatisticsReturn(kind="statistics", period="2026-10", version=2, form={}, figures={},
                                    submitted_at=MID_DECEMBER))
    db.session.commit()
    assert "版本不连续" in decided(city.street, "SR-7").evidence[0]


@pytest.mark.parametrize("now, status", [(beijing(2026, 12, 1), Status.not_applicable),
                                         (beijing(2027, 2, 5), Status.failed)])
def test_sr8_applies_to_tenants_open_before_the_filing_month_ended(city, now, status):
    assert decided(city.street, "SR-8", now=now).status == status


def test_sr8_passes_once_the_identity_report_lists_the_tenant(city):
    identity.submit(identity.parse_half("2026-H2"), now=beijing(2027, 1, 10))
    db.session.commit()
    assert decided(city.street, "SR-8", now=beijing(2027, 2, 5)).status == Status.passed
    report = db.session.query(StatisticsReturn).filter_by(kind="merchant_identity").one()
    street = report.figures["tenants"]["stat-street"]
    assert [row[1] for row in street] == ["店s1", "店s2", "店s3"]
