"""A small city for the statistics: two streets and a market, their shops and buyers, a November of paid orders,
orders cancelled before payment, orders paid just outside the month, and refunds in and out of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import OrderStatus
from marketplace.tenancy.context import tenant_scope
from tests.orders.test_place_order import fill
from tests.orders.test_returns import record

S = OrderStatus


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@dataclass
class City:
    street: object  # 3 shops, 3 buyers: figures shown
    lane: object  # another street, 3 shops
    market: object  # 1 shop: its cells are suppressed in city tables
    shops: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)
    buyers: list = field(default_factory=list)
    orders: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)


@pytest.fixture
def city(app_ctx, make_tenant, make_shop, make_category, make_product, make_user) -> City:
    street = make_tenant(slug="stat-street", name_zh="统计街", district_zh="二七区")
    lane = make_tenant(slug="stat-lane", name_zh="统计巷", district_zh="金水区")
    market = make_tenant(slug="stat-market", kind="market", name_zh="统计市场", district_zh="惠济区")
    c = City(street=street, lane=lane, market=market)
    fruit, tea = make_category(street, name_zh="水果"), make_category(street, name_zh="茶叶")
    lane_fruit = make_category(lane, name_zh="水果")
    seeds = make_category(market, name_zh="种子")
    for tenant, names, category in ((street, ("s1", "s2", "s3"), None), (lane, ("l1", "l2", "l3"), lane_fruit),
                                    (market, ("m1",), seeds)):
        for name in names:
            shop = c.shops[name] = make_shop(tenant, slug=name, name_zh=f"店{name}")
            chosen = category or (fruit if name != "s3" else tea)
            c.products[name] = make_product(shop, category=chosen, price=1000 * (1 + len(c.products)), stock=1000)
    repairs = make_category(street, name_zh="手机维修", product_type="general.service")
    c.products["repair"] = make_product(c.shops["s2"], category=repairs, price=3000, stock=1000)
    c.buyers = [make_user() for _ in range(4)]
    c.users = {
        "street_operator": make_user(role=Role.tenant_operator, tenant=street),
        "market_operator": make_user(role=Role.tenant_operator, tenant=market),
        "admin": make_user(role=Role.platform_admin),
        "owner_s1": make_user(role=Role.merchant_owner, shop=c.shops["s1"]),
    }

    def sell(name: str, shop: str, buyer: int, quantity: int, paid_at: datetime | None, product: str = ""):
        tenant = c.shops[shop].tenant
        cart = fill(tenant, c.buyers[buyer], {c.products[product or shop]: quantity})
        with tenant_scope(tenant):
            order = orders.place_order(tenant, c.buyers[buyer].id, cart, name).orders[0]
            if paid_at is None:
                record(order, S.cancelled, beijing(2026, 11, 3, 9, 0))  # cancelled before it was paid
            else:
                record(order, S.paid, paid_at)
            db.session.commit()
        c.orders[name] = order
        return order

    for day, (shop, buyer) in enumerate([("s1", 0), ("s2", 1), ("s3", 2), ("s1", 1), ("l1", 0), ("l2", 1),
                                         ("l3", 2), ("l1", 3), ("m1", 0)], start=1):
        sell(f"nov-{shop}-{day}", shop, buyer, day, beijing(2026, 11, day, 10, 0))
    sell("first-minute", "s2", 3, 1, beijing(2026, 11, 1, 0, 5))  # 31 October in UTC, November here
    sell("october", "s1", 0, 2, beijing(2026, 10, 31, 23, 55))  # 31 October here, though already UTC 15:55
    sell("december", "s2", 0, 2, beijing(2026, 12, 1, 0, 0))
    sell("repair", "s2", 2, 1, beijing(2026, 11, 12, 15, 0), product="repair")  # a service, not goods
    sell("never-paid", "s3", 1, 5, None)
    sell("market-unpaid", "m1", 2, 5, None)
    with tenant_scope(street):
        for name in ("october", "nov-s3-3", "nov-s1-4"):  # signed for: a part of the money may go back
            record(c.orders[name], S.delivered, beijing(2026, 11, 10, 9, 0))
        returns.refund(c.orders["october"], 500, actor_id=None, now=beijing(2026, 11, 2, 10, 0))
        returns.refund(c.orders["nov-s2-2"], c.orders["nov-s2-2"].total, actor_id=None, now=beijing(2026, 11, 20, 9))
        returns.refund(c.orders["nov-s3-3"], 1000, actor_id=None, now=beijing(2026, 12, 2, 9, 0))  # December's
        pending = returns.refund(c.orders["nov-s1-4"], 700, actor_id=None, now=beijing(2026, 11, 21, 9))
        pending.status = returns.RefundStatus.pending  # no money has moved yet
        db.session.commit()
    with tenant_scope(lane):
        record(c.orders["nov-l3-7"], S.delivered, beijing(2026, 11, 10, 9, 0))
        returns.refund(c.orders["nov-l3-7"], 300, actor_id=None, now=beijing(2026, 11, 25, 9, 0))
        db.session.commit()
    return c

