"""The statistics themselves: aggregate SQL over paid orders, order lines and refunds (see ``definitions``).

Every figure is a GROUP BY in the database, never a loop over orders in Python, so a month of a busy city costs a
handful of queries. Three scopes share one code path: the whole city (platform admin, statistics office), one
tenant (its operators) and one shop (its merchant, who sees its own figures without suppression).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from sqlalchemy import case, distinct, func, literal, select

from marketplace.catalog.models import Category, Product
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from marketplace.orders.returns import Refund, RefundStatus
from marketplace.reports.definitions import (
    DELIVERY_CATEGORY,
    INDICATORS,
    MIN_CELL,
    NO_DISTRICT,
    UNCATEGORISED,
    Period,
)
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant, TenantKind

ORDER_SIDE = ("gmv", "b2b_gmv", "b2c_gmv", "online_retail", "physical_online_retail", "units", "orders", "buyers",
              "merchants", "shops")
REFUND_SIDE = ("refund_amount", "refund_count")
#: Lines of a service (a catalog pack's ``*.service`` product type, e.g. a phone repair) are no physical goods.
#: A line whose product was since deleted counts as goods: that is what the catalogue mostly sells.
SERVICE = func.coalesce(Product.product_type, "").like("%.service")


@dataclass(frozen=True)
class Scope:
    """Whose figures: the whole city (no tenant), one tenant, or one shop of a tenant."""

    tenant: Tenant | None = None
    shop: Shop | None = None

    @property
    def suppresses(self) -> bool:
        # A merchant reading its own shop learns nothing about anyone else.
        return self.shop is None


@dataclass
class Row:
    key: str
    label: str
    #: Indicator → value; None where the cell is suppressed (or, for refunds by category, not attributable).
    values: dict[str, int | None] = field(default_factory=dict)
    #: Distinct merchants and buyers behind the order side and the refund side (for suppression; not shown).
    base: dict[str, int] = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        return any(self.values.get(k) is None for k in ORDER_SIDE)


@dataclass
class Figures:
    period: Period
    scope: Scope
    total: Row
    series: list[Row]
    breakdowns: dict[str, list[Row]]


# -- building blocks ------------------------------------------------------------------------------------------------

def _bucket(column, step: str):
    """The local day (``2026-11-05``) or month (``2026-11``) of a UTC timestamp, in SQL.

    Beijing time has had no daylight saving since 1991, so on SQLite a fixed +8 hours is exact."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM-DD" if step == "day" else "YYYY-MM")
    return func.strftime("%Y-%m-%d" if step == "day" else "%Y-%m", column, "+8 hours")


def _dimension(name: str, time_column, period: Period):
    """(key expression, label expression) of a breakdown; ``time_column`` is when the row counts."""
    match name:
        case "total":
            return literal("all"), literal("")
        case "tenant":
            return Tenant.slug, Tenant.name_zh
        case "district":
            return Tenant.district_zh, Tenant.district_zh
        case "kind":
            return Tenant.kind, Tenant.kind
        case "shop":
            return Shop.slug, Shop.name_zh
        case "series":
            bucket = _bucket(time_column, period.series_step)
            return bucket, bucket
    raise ValueError(f"no breakdown {name!r}")


def _paid_orders(period: Period):
    """Orders first paid in the period, with when (one row per order, whatever its status now)."""
    since, until = period.utc_bounds
    return (select(OrderEvent.order_id.label("order_id"), func.min(OrderEvent.at).label("paid_at"))
            .where(OrderEvent.to_status == OrderStatus.paid, OrderEvent.at >= since, OrderEvent.at < until)
            .group_by(OrderEvent.order_id).subquery("paid"))


def _scoped(statement, scope: Scope):
    if scope.tenant is not None:
        statement = statement.where(Order.tenant_id == scope.tenant.id)
    if scope.shop is not None:
        statement = statement.where(Order.shop_id == scope.shop.id)
    return statement


@contextlib.contextmanager
def _reading(scope: Scope):
    """City figures read every tenant's rows, visibly; a tenant's are left to the tenant guard as well."""
    if scope.tenant is None:
        with all_tenants():
            yield
    else:
        yield


def _int(value) -> int:
    return int(value or 0)


def _order_side(scope: Scope, period: Period, dimension: str) -> dict[str, Row]:
    paid = _paid_orders(period)
    key, label = _dimension(dimension, paid.c.paid_at, period)
    street = Tenant.kind == TenantKind.street
    statement = _scoped(
        select(key.label("key"), label.label("label"),
               func.sum(Order.total), func.sum(case((~street, Order.total), else_=0)),
               func.sum(case((street, Order.total), else_=0)), func.count(Order.id), func.count(distinct(Order.buyer_id)), func.count(distinct(Shop.merchant_id)),
               func.count(distinct(Order.shop_id)))
        .select_from(Order).join(paid, paid.c.order_id == Order.id).join(Shop, Shop.id == Order.shop_id)
        .join(Tenant, Tenant.id == Order.tenant_id).group_by(key, label), scope)
    rows: dict[str, Row] = {}
    for k, lab, gmv, b2b, b2c, orders, buyers, merchants, shops in db.session.execute(statement):
        rows[str(k)] = Row(str(k), str(lab or ""), {
            "gmv": _int(gmv), "b2b_gmv": _int(b2b), "b2c_gmv": _int(b2c), "online_retail": _int(b2c),
            "physical_online_retail": 0, "units": 0, "orders": _int(orders), "buyers": _int(buyers),
            "merchants": _int(merchants), "shops": _int(shops)},
            {"merchants": _int(merchants), "buyers": _int(buyers)})
    lines = _scoped(
        select(key, func.sum(OrderLine.quantity), func.sum(case((street & ~SERVICE, OrderLine.total), else_=0)))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id).join(paid, paid.c.order_id == Order.id)
        .join(Shop, Shop.id == Order.shop_id).join(Tenant, Tenant.id == Order.tenant_id)
        .outerjoin(Product, Product.id == OrderLine.product_id).group_by(key), scope)
    for k, quantity, physical in db.session.execute(lines):
        if str(k) in rows:
            rows[str(k)].values["units"] = _int(quantity)
            rows[str(k)].values["physical_online_retail"] = _int(physical)
    return rows


def _refund_side(scope: Scope, period: Period, dimension: str) -> dict[str, tuple[str, dict, dict]]:
    since, until = period.utc_bounds
    key, label = _dimension(dimension, Refund.refunded_at, period)
    statement = _scoped(
        select(key, label, func.sum(Refund.amount), func.count(Refund.id), func.count(distinct(Shop.merchant_id)),
               func.count(distinct(Order.buyer_id)))
        .select_from(Refund).join(Order, Order.id == Refund.order_id).join(Shop, Shop.id == Order.shop_id)
        .join(Tenant, Tenant.id == Order.tenant_id)
        .where(Refund.status == RefundStatus.succeeded, Refund.payment_id.is_(None), Refund.refunded_at >= since,
               Refund.refunded_at < until)
        .group_by(key, label), scope)
    return {str(k): (str(lab or ""), {"refund_amount": _int(amount), "refund_count": _int(count)},
                     {"refund_merchants": _int(merchants), "refund_buyers": _int(buyers)})
            for k, lab, amount, count, merchants, buyers in db.session.execute(statement)}


def _merged(scope: Scope, period: Period, dimension: str) -> list[Row]:
    rows = _order_side(scope, period, dimension)
    for key, (label, values, base) in _refund_side(scope, period, dimension).items():
        row = rows.get(key)
        if row is None:  # refunds in a period with no sales in that cell
            row = rows[key] = Row(key, label, {k: 0 for k in ORDER_SIDE}, {"merchants": 0, "buyers": 0})
        row.values.update(values)
        row.base.update(base)
    for row in rows.values():
        for k in REFUND_SIDE:
            row.values.setdefault(k, 0)
        row.base.setdefault("refund_merchants", 0)
        row.base.setdefault("refund_buyers", 0)
    return list(rows.values())


def _categories(scope: Scope, period: Period) -> list[Row]:
    """Goods by the category they were listed in, plus delivery fees as a row of their own: the rows add up to
    the whole volume. Refunds are on orders, not on goods lines, so they are not split by category."""
    paid = _paid_orders(period)
    street = Tenant.kind == TenantKind.street
    name = func.coalesce(Category.name_zh, "")
    statement = _scoped(
        select(name, func.sum(OrderLine.total), func.sum(case((~street, OrderLine.total), else_=0)),
               func.sum(case((street, OrderLine.total), else_=0)),
               func.sum(case((street & ~SERVICE, OrderLine.total), else_=0)), func.sum(OrderLine.quantity),
               func.count(distinct(Order.id)), func.count(distinct(Order.buyer_id)),
               func.count(distinct(Shop.merchant_id)), func.count(distinct(Order.shop_id)))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id).join(paid, paid.c.order_id == Order.id)
        .join(Shop, Shop.id == Order.shop_id).join(Tenant, Tenant.id == Order.tenant_id)
        .outerjoin(Product, Product.id == OrderLine.product_id).outerjoin(Category, Category.id == Product.category_id)
        .group_by(name), scope)
    rows = []
    for category, gmv, b2b, b2c, physical, units, orders, buyers, merchants, shops in db.session.execute(statement):
        rows.append(Row(category or str(UNCATEGORISED), category or str(UNCATEGORISED), {
            "gmv": _int(gmv), "b2b_gmv": _int(b2b), "b2c_gmv": _int(b2c), "online_retail": _int(b2c),
            "physical_online_retail": _int(physical), "units": _int(units), "orders": _int(orders),
            "buyers": _int(buyers), "merchants": _int(merchants), "shops": _int(shops),
            "refund_amount": None, "refund_count": None},
            {"merchants": _int(merchants), "buyers": _int(buyers), "refund_merchants": 0, "refund_buyers": 0}))
    delivery = _scoped(
        select(func.sum(Order.delivery_fee), func.sum(case((~street, Order.delivery_fee), else_=0)),
               func.sum(case((street, Order.delivery_fee), else_=0)), func.count(Order.id),
               func.count(distinct(Order.buyer_id)), func.count(distinct(Shop.merchant_id)),
               func.count(distinct(Order.shop_id)))
        .select_from(Order).join(paid, paid.c.order_id == Order.id).join(Shop, Shop.id == Order.shop_id)
        .join(Tenant, Tenant.id == Order.tenant_id).where(Order.delivery_fee > 0), scope)
    fee, b2b, b2c, orders, buyers, merchants, shops = db.session.execute(delivery).one()
    if _int(fee):
        label = str(DELIVERY_CATEGORY)
        rows.append(Row("delivery", label, {
            "gmv": _int(fee), "b2b_gmv": _int(b2b), "b2c_gmv": _int(b2c), "online_retail": _int(b2c),
            "physical_online_retail": 0, "units": 0, "orders": _int(orders), "buyers": _int(buyers),
            "merchants": _int(merchants), "shops": _int(shops), "refund_amount": None, "refund_count": None},
            {"merchants": _int(merchants), "buyers": _int(buyers), "refund_merchants": 0, "refund_buyers": 0}))
    return sorted(rows, key=lambda r: (r.key == "delivery", -(r.values["gmv"] or 0), r.key))


# -- suppression ----------------------------------------------------------------------------------------------------

def _too_few(*counts: int) -> bool:
    # Zero is no one's figure: an empty cell reads 0, not "—".
    return any(0 < count < MIN_CELL for count in counts)


def _blank(row: Row, side: tuple[str, ...]) -> None:
    for k in side:
        row.values[k] = None


def suppress(rows: list[Row], *, with_total: bool = True) -> list[Row]:
    """Blank every cell computed from fewer than ``MIN_CELL`` merchants or buyers.

    When a table also shows its total, one blank cell could be read off as total minus the others, so a second
    cell (the smallest left) is blanked with it."""
    for side, counts in ((ORDER_SIDE, ("merchants", "buyers")), (REFUND_SIDE, ("refund_merchants", "refund_buyers"))):
        blanked = []
        for row in rows:
            if row.values.get(side[0]) is not None and _too_few(*(row.base.get(c, 0) for c in counts)):
                _blank(row, side)
                blanked.append(row)
        if with_total and len(blanked) == 1:
            others = [r for r in rows if r.values.get(side[0]) is not None and r.values.get(side[0])]
            if others:
                _blank(min(others, key=lambda r: (r.values[side[0]], r.key)), side)
    return rows


# -- the figures ----------------------------------------------------------------------------------------------------

def figures(scope: Scope, period: Period, breakdowns: tuple[str, ...] = ("tenant", "district", "category", "kind"),
            *, suppressing: bool | None = None) -> Figures:
    """Every indicator of ``period`` for ``scope``: the total, the time series and the breakdowns asked for.

    Cells are suppressed as the scope wants (``Scope.suppresses``); ``suppressing=False`` is for the platform's
    own checks of the figures (SR), which never leave the process."""
    with _reading(scope):
        total = (_merged(scope, period, "total") or [_empty("all")])[0]
        total.key, total.label = "all", ""
        found = {row.key: row for row in _merged(scope, period, "series")}
        series = [found.get(bucket) or _empty(bucket) for bucket in period.buckets()]
        for row in series:
            row.label = row.key
        tables = {name: (_categories(scope, period) if name == "category" else
                         sorted(_merged(scope, period, name), key=lambda r: (-(r.values["gmv"] or 0), r.key)))
                  for name in breakdowns}
    for row in tables.get("district", []):
        row.label = row.label or str(NO_DISTRICT)
    for row in tables.get("kind", []):
        row.label = str(TenantKind(row.key).label) if row.key in TenantKind.values() else row.key
    if scope.suppresses if suppressing is None else suppressing:
        suppress([total], with_total=False)
        suppress(series)
        for rows in tables.values():
            suppress(rows)
    return Figures(period=period, scope=scope, total=total, series=series, breakdowns=tables)


def _empty(key: str) -> Row:
    return Row(key, key, {k: 0 for k in INDICATORS}, {"merchants": 0, "buyers": 0, "refund_merchants": 0,
                                                      "refund_buyers": 0})
