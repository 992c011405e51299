"""Races through real HTTP: the application under gunicorn (4 worker processes, each with its own database
connections) and buyers in parallel threads, on SQLite and on PostgreSQL.

200 buyers for 20 units get exactly 20 orders; a three-shop checkout whose scarce item sells out is bought whole
or not at all; the same submission sent five times at once places one order group.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from marketplace.accounts import services as accounts
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category, Variant
from marketplace.extensions import db
from marketplace.orders.models import OrderGroup
from marketplace.shops.models import Merchant, Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from tests.fixtures.app import configured_database_url, make_test_app
from tests.fixtures.factories import approve_merchant
from tests.orders.live_server import (
    Browser,
    LiveServer,
    migrate,
    postgresql_database,
    server_environment,
    start_server,
)

pytestmark = pytest.mark.no_transaction

SLUG = "race-street"
PASSWORD = "correct-horse-42"
CHECKOUT = f"/t/{SLUG}/checkout"
RUSH_BUYERS, RUSH_STOCK = 200, 20
TRIO_BUYERS, TRIO_SCARCE = 12, 3


def rush_buyer(n: int) -> str:
    return f"rush{n:03d}@shangdu.example"


def trio_buyer(n: int) -> str:
    return f"trio{n:02d}@shangdu.example"


#: Each twin buyer double-submits once; several rounds, since one round may miss the race window.
TWIN_BUYERS = [f"twin{n}@shangdu.example" for n in range(4)]


@dataclass
class Live:
    server: LiveServer
    app: object  # an app on the same database, for seeding and for reading what the server wrote
    products: dict[str, tuple[int, int]]  # name → (product id, variant id)
    users: dict[str, int]  # identifier → user id

    def stock(self, name: str) -> int:
        with self.app.app_context(), all_tenants():
            return db.session.get(Variant, self.products[name][1]).stock

    def groups_by_buyer(self, identifiers) -> dict[str, list[OrderGroup]]:
        ids = {self.users[i]: i for i in identifiers}
        with self.app.app_context(), all_tenants():
            groups = db.session.scalars(select(OrderGroup).where(OrderGroup.buyer_id.in_(ids))).all()
            found = {i: [] for i in identifiers}
            for group in groups:
                len(group.orders)  # loaded while the session is open
                found[ids[group.buyer_id]].append(group)
            return found

    def count_orders_with(self, name: str) -> int:
        from marketplace.orders.models import OrderLine

        with self.app.app_context(), all_tenants():
            return db.session.scalar(select(func.count(func.distinct(OrderLine.order_id)))
                                     .where(OrderLine.variant_id == self.products[name][1]))

    def server_errors(self) -> list[str]:
        log = self.server.log()
        return [line for line in log.splitlines() if "Traceback" in line or "Exception on " in line]


def seed(app) -> tuple[dict, dict]:
    """A live street with three shops, the products each race fights over, and the buyers (cheap argon2)."""
    with app.app_context():
        tenant = Tenant(slug=SLUG, kind="street", status="live", name_zh="竞速街", name_en="Race Street",
                        district_zh="二七区", district_en="Erqi District", theme="base", brand={}, layout={})
        db.session.add(tenant)
        db.session.commit()
        with tenant_scope(tenant):
            shops = []
            for n, name in enumerate(("老王水果店", "李记茶叶", "穗丰农资"), start=1):
                merchant = Merchant(kind="individual_business", legal_name=f"{name}（个体工商户）")
                db.session.add(merchant)
                db.session.flush()
                shop = Shop(tenant_id=tenant.id, merchant_id=merchant.id, slug=f"shop-{n}", name_zh=name,
                            opening_hours={})
                db.session.add(shop)
                shops.append(shop)
                approve_merchant(merchant)
            category = Category(slug="goods", name_zh="百货", product_type="general.goods")
            db.session.add(category)
            db.session.commit()
            products = {}
            for name, shop, title, price, stock in [
                ("rush", shops[0], "限量红富士苹果", 2990, RUSH_STOCK),
                ("trio_a", shops[0], "砀山酥梨", 1590, 100),
                ("trio_b", shops[1], "信阳毛尖", 12800, 100),
                ("trio_c", shops[2], "限量复合肥", 16600, TRIO_SCARCE),
                ("twin", shops[1], "西湖龙井", 25800, 10),
            ]:
                product = catalog.create_product(shop, catalog.ProductInput(
                    category=category, title=title, variants=[catalog.VariantInput(
                        sku=f"SKU-{name}", price=price, stock=stock)]), publish=True)
                db.session.flush()
                products[name] = (product.id, product.variants[0].id)
            db.session.commit()
        users = {}
        for identifier in ([rush_buyer(n) for n in range(RUSH_BUYERS)] + [trio_buyer(n) for n in range(TRIO_BUYERS)]
                           + TWIN_BUYERS):
            users[identifier] = accounts.register_user(identifier, PASSWORD, "抢购居民")
        db.session.commit()
        users = {identifier: user.id for identifier, user in users.items()}
    return products, users


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request, tmp_path_factory):
    instance = tmp_path_factory.mktemp(f"live-{request.param}")
    with fresh_database(request.param, instance) as database_url:
        env = server_environment(instance, database_url)
        migrate(env)
        app = make_test_app(instance, database_url)
        try:
            products, users = seed(app)
            server = start_server(env, instance / "gunicorn.log", workers=4)
            try:
                yield Live(server, app, products, users)
            finally:
                server.stop()
        finally:
            with app.app_context():
                db.engine.dispose()


def fresh_database(kind: str, instance):
    """A SQLite file in the instance folder, or a new database on the PostgreSQL server the tests were given."""
    if kind == "sqlite":
        return contextlib.nullcontext(f"sqlite:///{instance / 'live.sqlite3'}")
    return postgresql_database(configured_database_url(), f"races_{uuid.uuid4().hex[:10]}")


# -- helpers --------------------------------------------------------------------------------------------------------

def in_parallel(count: int, work, *, threads: int = 16) -> list:
    """``work(i)`` for i in range(count) on a pool; exceptions come back to the test."""
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(work, range(count)))


def add_to_cart(browser: Browser, live: Live, name: str, quantity: int = 1) -> None:
    product_id, variant_id = live.products[name]
    page = browser.get(f"/t/{SLUG}/p/{product_id}")
    if page.status in (301, 302, 308):  # to the canonical address with the product's slug
        page = browser.get(page.location)
    assert page.status == 200 and f'action="/t/{SLUG}/cart/add"' in page.body, page.text[:1000]
    added = browser.post(f"/t/{SLUG}/cart/add", {"csrf_token": page.csrf_token(), "variant_id": str(variant_id),
                                                 "quantity": str(quantity), "next": f"/t/{SLUG}/cart"})
    assert added.status == 303, added.text[:1000]


def review(browser: Browser) -> dict[str, str]:
    """The checkout page, and the form a browser would send from it."""
    page = browser.get(CHECKOUT)
    assert page.status == 200, page.text[:1000]
    form = page.form_fields(CHECKOUT)
    assert form.get("idempotency_key") and form.get("fingerprint") and form.get("csrf_token"), form
    return form


def submit_together(browsers_and_forms) -> tuple[list, float]:
    """Every checkout submitted at the same moment (a barrier); the answers and the seconds they all took."""
    barrier = threading.Barrier(len(browsers_and_forms) + 1)
    answers: list = [None] * len(browsers_and_forms)

    def submit(i):
        browser, form = browsers_and_forms[i]
        barrier.wait()
        try:
            answers[i] = browser.post(CHECKOUT, form)
        except Exception as error:  # noqa: BLE001 — reported by the test, not lost in a thread
            answers[i] = error

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(browsers_and_forms))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=300)
    return answers, time.monotonic() - started


class StockWatch:
    """Reads a variant's stock over and over while the race runs: the lowest value seen."""

    def __init__(self, live: Live, name: str):
        self.live, self.name, self.lowest, self.reads = live, name, None, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self):
        while not self._stop.is_set():
            stock = self.live.stock(self.name)
            self.lowest = stock if self.lowest is None else min(self.lowest, stock)
            self.reads += 1
            self._stop.wait(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def is_sold_out_answer(answer) -> bool:
    """The clear refusal: 409 and the review page naming the shortage (sold out before the review was checked,
    or taken by someone else while this checkout was being placed)."""
    return (not isinstance(answer, Exception) and answer.status == 409
            and any("已售罄" in alert or "库存仅剩" in alert or "库存不足" in alert for alert in answer.alerts()))


# -- the races ------------------------------------------------------------------------------------------------------

def test_200_buyers_for_20_units_exactly_20_get_them(live, record_property):
    def prepare(i):
        browser = Browser(live.server.port)
        browser.login(rush_buyer(i), PASSWORD)
        add_to_cart(browser, live, "rush")
        return browser, review(browser)

    started = time.monotonic()
    ready = in_parallel(RUSH_BUYERS, prepare)
    prepared_in = time.monotonic() - started

    with StockWatch(live, "rush") as watch:
        answers, took = submit_together(ready)

    won = [a for a in answers if not isinstance(a, Exception) and a.status == 303
           and a.location.startswith(f"/t/{SLUG}/orders/")]
    refused = [a for a in answers if is_sold_out_answer(a)]
    record_property("prepare_s", round(prepared_in, 2))
    record_property("submit_s", round(took, 2))
    print(f"\n[{live.app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}] {RUSH_BUYERS} buyers prepared in "
          f"{prepared_in:.1f}s; {RUSH_BUYERS} simultaneous checkouts answered in {took:.2f}s "
          f"({RUSH_BUYERS / took:.0f}/s); {len(won)} placed, {len(refused)} refused "
          f"({sum(any('刚刚被别人买走' in m for m in a.alerts()) for a in refused)} of them inside place_order); "
          f"stock read {watch.reads} times during the race, lowest {watch.lowest}")
    odd = [a if isinstance(a, Exception) else a.summary() for a in answers if a not in won and a not in refused]
    assert odd == [], f"answers that are neither an order nor a clear refusal: {odd[:3]}\n{live.server.log_tail()}"
    assert len(won) == RUSH_STOCK and len(refused) == RUSH_BUYERS - RUSH_STOCK
    assert len({a.location for a in won}) == RUSH_STOCK  # twenty different orders
    assert live.stock("rush") == 0 and watch.lowest is not None and watch.lowest >= 0
    assert live.count_orders_with("rush") == RUSH_STOCK
    groups = live.groups_by_buyer([rush_buyer(n) for n in range(RUSH_BUYERS)])
    assert sum(len(g) for g in groups.values()) == RUSH_STOCK
    assert all(len(g) <= 1 for g in groups.values())
    assert live.server_errors() == [], live.server.log_tail()


def test_a_three_shop_cart_whose_scarce_item_sells_out_is_bought_whole_or_not_at_all(live):
    def prepare(i):
        browser = Browser(live.server.port)
        browser.login(trio_buyer(i), PASSWORD)
        for name in ("trio_a", "trio_b", "trio_c"):
            add_to_cart(browser, live, name)
        return browser, review(browser)

    ready = in_parallel(TRIO_BUYERS, prepare, threads=TRIO_BUYERS)
    with StockWatch(live, "trio_c") as watch:
        answers, _took = submit_together(ready)

    buyers = [trio_buyer(n) for n in range(TRIO_BUYERS)]
    groups = live.groups_by_buyer(buyers)
    for n, identifier in enumerate(buyers):
        answer = answers[n]
        orders = [order for group in groups[identifier] for order in group.orders]
        if isinstance(answer, Exception) or answer.status != 303:
            assert is_sold_out_answer(answer), answer
            assert orders == [], f"{identifier} was refused but has orders"
        else:
            assert len(groups[identifier]) == 1 and len(orders) == 3, f"{identifier}: {len(orders)} orders"
            assert len({order.shop_id for order in orders}) == 3
    winners = [i for i in buyers if groups[i]]
    assert len(winners) == TRIO_SCARCE
    assert live.stock("trio_c") == 0 and watch.lowest >= 0
    # The other two shops gave exactly what the winners bought, no more: the losers' takes were rolled back.
    assert live.stock("trio_a") == 100 - TRIO_SCARCE and live.stock("trio_b") == 100 - TRIO_SCARCE
    assert live.server_errors() == [], live.server.log_tail()


def test_the_same_submission_sent_five_times_at_once_places_one_order_group(live):
    answers_by_buyer = {}
    for identifier in TWIN_BUYERS:
        browser = Browser(live.server.port)
        browser.login(identifier, PASSWORD)
        add_to_cart(browser, live, "twin")
        form = review(browser)
        answers_by_buyer[identifier], _took = submit_together([(browser.clone(), dict(form)) for _ in range(5)])

    groups = live.groups_by_buyer(TWIN_BUYERS)
    assert {i: [len(g.orders) for g in groups[i]] for i in TWIN_BUYERS} == {i: [1] for i in TWIN_BUYERS}
    assert live.stock("twin") == 10 - len(TWIN_BUYERS)
    # Every click of an impatient buyer lands on that buyer's one confirmation page.
    seen = {i: [a if isinstance(a, Exception) else (a.status, a.location) for a in answers]
            for i, answers in answers_by_buyer.items()}
    expected = {i: [(303, f"/t/{SLUG}/orders/{groups[i][0].number}")] * 5 for i in TWIN_BUYERS}
    assert seen == expected, {i: [a if isinstance(a, Exception) else a.summary()[:150] for a in answers]
                              for i, answers in answers_by_buyer.items() if seen[i] != expected[i]}
    assert live.server_errors() == [], live.server.log_tail()
