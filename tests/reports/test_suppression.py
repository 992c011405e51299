"""Small cells: a figure computed from fewer than three merchants or buyers is blank ("—", null), and a lone blank
cell takes a second one with it so that it cannot be read off the total."""

from __future__ import annotations

from marketplace.reports.definitions import MIN_CELL, parse_period
from marketplace.reports.figures import Row, Scope, figures, suppress

NOVEMBER = parse_period("2026-11")


def test_the_one_shop_market_is_blank_in_the_city_tables_and_so_is_the_next_smallest_tenant(city):
    found = figures(Scope(), NOVEMBER, ("tenant", "district"))
    by_tenant = {r.key: r for r in found.breakdowns["tenant"]}
    assert MIN_CELL == 3
    assert by_tenant["stat-market"].values["gmv"] is None and by_tenant["stat-market"].suppressed
    # The market alone would be total minus the streets: the smaller street is blanked too, the larger shown.
    unsuppressed = figures(Scope(), NOVEMBER, ("tenant",), suppressing=False)
    sizes = {r.key: r.values["gmv"] for r in unsuppressed.breakdowns["tenant"]}
    smaller, larger = sorted(["stat-street", "stat-lane"], key=sizes.get)
    assert by_tenant[smaller].values["gmv"] is None
    assert by_tenant[larger].values["gmv"] == sizes[larger]
    # The city total comes from 7 merchants and 4 buyers: shown.
    assert found.total.values["gmv"] == sum(sizes.values())


def test_a_shop_owner_sees_its_own_small_figures(city):
    from marketplace.tenancy.context import tenant_scope

    with tenant_scope(city.market):
        own = figures(Scope(tenant=city.market, shop=city.shops["m1"]), NOVEMBER, ())
        operator = figures(Scope(tenant=city.market), NOVEMBER, ())
    assert own.total.values["gmv"] > 0 and own.total.values["merchants"] == 1
    assert operator.total.values["gmv"] is None


def test_suppression_counts_merchants_and_buyers_and_leaves_zero_alone():
    def row(key, gmv, merchants, buyers):
        return Row(key, key, {"gmv": gmv, "orders": 1, "refund_amount": 0, "refund_count": 0},
                   {"merchants": merchants, "buyers": buyers, "refund_merchants": 0, "refund_buyers": 0})

    rows = suppress([row("few-buyers", 900, 5, 2), row("many", 5000, 4, 9), row("small", 800, 3, 3),
                     row("empty", 0, 0, 0)])
    values = {r.key: r.values["gmv"] for r in rows}
    assert values == {"few-buyers": None, "many": 5000, "small": None, "empty": 0}
