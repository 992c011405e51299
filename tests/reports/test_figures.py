"""The figures equal independent SQL sums over the same orders and refunds, counted by the documented rules."""

from __future__ import annotations

from sqlalchemy import bindparam, text

from marketplace.core.db import UTCDateTime
from marketplace.extensions import db
from marketplace.reports.definitions import parse_period
from marketplace.reports.figures import Scope, figures
from marketplace.tenancy.context import tenant_scope
from tests.reports.conftest import beijing

NOVEMBER = parse_period("2026-11")


def truth(tenant_ids: list[int], shop_id: int | None = None) -> dict:
    """The month's figures in plain SQL, written apart from the code under test."""
    params = {"since": beijing(2026, 11, 1), "until": beijing(2026, 12, 1), "shop": shop_id}
    dates = [bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime())]
    tenants = ", ".join(str(int(i)) for i in tenant_ids)
    shop = "AND o.shop_id = :shop" if shop_id else ""
    paid = (f"FROM orders o JOIN tenants t ON t.id = o.tenant_id JOIN shops s ON s.id = o.shop_id "
            f"WHERE o.tenant_id IN ({tenants}) {shop} AND EXISTS (SELECT 1 FROM order_events e WHERE "
            f"e.order_id = o.id AND e.to_status = 'paid' AND e.at >= :since AND e.at < :until)")
    gmv, b2c, orders, buyers, merchants, shops = db.session.execute(text(
        "SELECT COALESCE(SUM(o.total), 0), COALESCE(SUM(CASE WHEN t.kind = 'street' THEN o.total ELSE 0 END), 0), "
        "COUNT(*), "
        "COUNT(DISTINCT o.buyer_id), COUNT(DISTINCT s.merchant_id), COUNT(DISTINCT o.shop_id) " + paid)
        .bindparams(*dates), params).one()
    units = db.session.execute(text(
        "SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l WHERE l.order_id IN (SELECT o.id " + paid + ")")
        .bindparams(*dates), params).scalar()
    physical = db.session.execute(text(
        "SELECT COALESCE(SUM(l.total), 0) FROM order_lines l JOIN orders o2 ON o2.id = l.order_id "
        "JOIN tenants t2 ON t2.id = o2.tenant_id JOIN products p ON p.id = l.product_id WHERE t2.kind = 'street' "
        "AND p.product_type <> 'general.service' AND l.order_id IN (SELECT o.id " + paid + ")")
        .bindparams(*dates), params).scalar()
    refunded, refunds = db.session.execute(text(
        f"SELECT COALESCE(SUM(r.amount), 0), COUNT(*) FROM refunds r JOIN orders o ON o.id = r.order_id "
        f"WHERE o.tenant_id IN ({tenants}) {shop} AND r.status = 'succeeded' AND r.payment_id IS NULL "
        f"AND r.refunded_at >= :since AND r.refunded_at < :until").bindparams(*dates), params).one()
    return {"gmv": gmv, "b2c_gmv": b2c, "b2b_gmv": gmv - b2c, "online_retail": b2c,
            "physical_online_retail": physical, "units": units, "orders": orders, "buyers": buyers,
            "merchants": merchants, "shops": shops, "refund_amount": refunded, "refund_count": refunds}


def test_the_city_total_equals_plain_sql_sums_with_refunds_apart_and_unpaid_orders_left_out(city):
    found = figures(Scope(), NOVEMBER)
    expected = truth([city.street.id, city.lane.id, city.market.id])
    assert found.total.values == expected
    # 9 November orders, the repair and the one paid at 00:05 on 1 November; not October's, December's or the
    # unpaid ones.
    assert expected["orders"] == 11
    # The repair is retail, but no physical goods.
    repair = city.orders["repair"].total
    assert expected["physical_online_retail"] == expected["online_retail"] - repair
    # October's order refunded in November counts in November's refunds; the pending one and December's not.
    assert expected["refund_count"] == 3
    assert expected["refund_amount"] == 500 + city.orders["nov-s2-2"].total + 300


def test_a_tenant_and_a_shop_equal_plain_sql_sums(city):
    with tenant_scope(city.street):
        found = figures(Scope(tenant=city.street), NOVEMBER)
        own = figures(Scope(tenant=city.street, shop=city.shops["s1"]), NOVEMBER)
    expected = truth([city.street.id])
    # Two refunds of two merchants: too few to show, the rest is shown.
    assert found.total.values == {**expected, "refund_amount": None, "refund_count": None}
    assert expected["refund_count"] == 2
    # A merchant sees its own shop whole, however few its buyers.
    assert own.total.values == truth([city.street.id], city.shops["s1"].id)


def test_breakdowns_add_up_to_the_total_and_the_series_follows_the_paid_day(city):
    whole = figures(Scope(), NOVEMBER, ("tenant", "district", "category", "kind"), suppressing=False)
    for name, rows in whole.breakdowns.items():
        # An order with goods of two categories is one order of each: orders add up except by category.
        for indicator in ("gmv", "units") if name == "category" else ("gmv", "orders", "units"):
            assert sum(r.values[indicator] for r in rows) == whole.total.values[indicator], (name, indicator)
    assert sum(r.values["gmv"] for r in whole.series) == whole.total.values["gmv"]
    by_tenant = {r.key: r.values for r in whole.breakdowns["tenant"]}
    assert by_tenant["stat-lane"]["gmv"] == truth([city.lane.id])["gmv"]
    assert {r.label: r.values["gmv"] for r in whole.breakdowns["district"]}["惠济区"] == truth([city.market.id])["gmv"]
    assert {r.key: r.values["b2b_gmv"] for r in whole.breakdowns["kind"]}["market"] == truth([city.market.id])["gmv"]
    # Fruit sold in two tenants is one category of the city.
    fruit = {r.label: r.values for r in whole.breakdowns["category"]}["水果"]
    assert fruit["merchants"] == 5
    # Online retail is what the streets sold; never more than the whole volume.
    assert whole.total.values["online_retail"] <= whole.total.values["gmv"]
    days = {r.key: r.values["orders"] for r in whole.series}
    assert len(whole.series) == 30 and days["2026-11-01"] == 2 and days["2026-11-10"] == 0


def test_a_quarter_and_a_year_cut_their_series_by_month(city):
    quarter = figures(Scope(), parse_period("2026-Q4"), (), suppressing=False)
    assert [r.key for r in quarter.series] == ["2026-10", "2026-11", "2026-12"]
    assert [r.values["orders"] for r in quarter.series] == [1, 11, 1]
    assert len(figures(Scope(), parse_period("2026"), (), suppressing=False).series) == 12
