"""The platform as it runs — gunicorn with the project's settings on 127.0.0.1, over SQLite and over PostgreSQL — a
street to run the cases against, and the checks every case ends with (``Platform.check``).

A case seeds what it needs (``platform.product(…)`` records the stock it starts with), drives the platform over
HTTP only (``platform.call``: the resident and shop APIs, as apps and counters use them), asserts its own figure,
and ends with ``platform.check()``: the invariants of ``invariants.py``, no answer 500 and no traceback in the
server's log. Adding a case is a function of a few lines; see docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role
from marketplace.api.auth import issue_personal_token, issue_token
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from tests.fixtures.app import configured_database_url, make_test_app
from tests.fixtures.factories import create_merchant, create_shop
from tests.orders.live_server import LiveServer, migrate, postgresql_database, server_environment, start_server
from tests.reliability import invariants

SLUG = "reliable-street"
#: Residents with a personal token each: the flash sale's crowd.
RESIDENTS = 500
SHOPS = 3
#: Tenants are served at <slug>.PLATFORM_DOMAIN too (tenancy.hosts).
PLATFORM_DOMAIN = "shangdu.test"


@dataclass
class Answer:
    status: int
    body: dict | list | None
    text: str

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


@dataclass
class Platform:
    server: LiveServer
    app: object  # on the same database: seeds, and reads what the server wrote
    database: str
    residents: list[str]  # personal tokens, one per resident
    shops: list[tuple[int, str, str]]  # (id, slug, the shop's API key)
    category_id: int
    initial_stock: dict[int, int] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- seeding ----------------------------------------------------------------------------------------------

    def product(self, title: str, *, stock: int, price: int = 1000, shop: int = 0) -> int:
        """A product on sale in one of the street's shops; returns its variant's id."""
        with self.app.app_context():
            tenant = db.session.scalar(db.select(Tenant).where(Tenant.slug == SLUG))
            with tenant_scope(tenant):
                product = catalog.create_product(db.session.get(Shop, self.shops[shop][0]), catalog.ProductInput(
                    category=db.session.get(Category, self.category_id), title=title, variants=[
                        catalog.VariantInput(sku=f"R-{uuid.uuid4().hex[:12]}", price=price, stock=stock)]),
                    publish=True)
                db.session.commit()
                variant_id = product.variants[0].id
        self.initial_stock[variant_id] = stock
        return variant_id

    # -- HTTP -------------------------------------------------------------------------------------------------

    def call(self, method: str, path: str, token: str, body: dict | None = None, *, key: str | None = None) -> Answer:
        """One API request on a new connection, as a phone on a flaky network makes them; every status counted."""
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=300)
        try:
            connection.request(method, f"/api/v1/tenants/{SLUG}{path}",
                               body=json.dumps(body).encode() if body is not None else None, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        with self._lock:
            self.statuses[response.status] += 1
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return Answer(response.status, parsed, text)

    def shop_call(self, shop: int, method: str, path: str, body: dict | None = None, *, key: str | None = None):
        _id, slug, api_key = self.shops[shop]
        return self.call(method, f"/shops/{slug}{path}", api_key, body, key=key)

    def add_to_cart(self, resident: int, variant_id: int, quantity: int = 1) -> Answer:
        return self.call("PUT", f"/cart/lines/{variant_id}", self.residents[resident], {"quantity": quantity})

    def empty_cart(self, resident: int) -> None:
        """Take every line out of the resident's cart (a case's crowd may be another case's)."""
        cart = self.call("GET", "/cart", self.residents[resident])
        assert cart.status == 200, cart.text
        for variant_id in _values_of(cart.body, "variant_id"):
            assert self.add_to_cart(resident, variant_id, 0).status == 200

    def checkout(self, resident: int, key: str | None = None) -> Answer:
        return self.call("POST", "/checkout", self.residents[resident], {"confirm_exclusions": True},
                         key=key or uuid.uuid4().hex)

    def workers(self) -> set[int]:
        """The gunicorn workers serving now: the master's children (this test's processes, nothing else)."""
        found = subprocess.run(["pgrep", "-P", str(self.server.process.pid)], capture_output=True, text=True)
        return {int(pid) for pid in found.stdout.split()}

    # -- the checks every case ends with ----------------------------------------------------------------------

    def check(self) -> None:
        broken = invariants.check(self.app, self.initial_stock)
        assert not broken, f"invariants broken on {self.database}:\n{broken}"
        assert self.statuses[500] == 0, f"{self.statuses[500]} answers 500\n{self.server.log_tail()}"
        # Unhandled errors only: Flask logs "Exception on <path>", gunicorn "Error handling request". A fault the
        # platform handles (Redis gone: "could not queue …; indexing it in this process") is logged, and allowed.
        unhandled = [line for line in self.server.log().splitlines()
                     if "Exception on " in line or "Error handling request" in line]
        assert unhandled == [], self.server.log_tail()


def as_browser(browser) -> dict[str, str]:
    """The headers a request needs to come from ``browser`` (tests.orders.live_server.Browser): its cookies, and
    its User-Agent, which the session is bound to (Flask-Login's strong session protection)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in browser.cookies.items()),
            "User-Agent": "race-test", "Accept-Language": "zh-CN,zh;q=0.9"}


def _values_of(tree, key: str) -> set:
    if isinstance(tree, dict):
        return {tree[key]} if key in tree else set().union(*(_values_of(value, key) for value in tree.values()))
    if isinstance(tree, list):
        return set().union(*(_values_of(value, key) for value in tree))
    return set()


def all_at_once(count: int, work: Callable[[int], object]) -> list:
    """``work(i)`` for i in range(count), every call released at the same moment (a barrier), one thread each."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def in_parallel(count: int, work: Callable[[int], object], threads: int = 16) -> list:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(work, range(count)))


def _seed(app) -> tuple[list[str], list[tuple[int, str, str]], int]:
    with app.app_context():
        tenant = Tenant(slug=SLUG, kind="street", status="live", name_zh="可靠街", name_en="Reliable Street",
                        district_zh="金水区", district_en="Jinshui District", theme="base", brand={}, layout={})
        db.session.add(tenant)
        db.session.commit()
        shops = []
        with tenant_scope(tenant):
            for n in range(SHOPS):
                owner = accounts.register_user(f"merchant{n}@reliable.example", "correct-horse-42", f"店主{n}")
                shop = create_shop(tenant, slug=f"shop-{n}", name_zh=f"可靠商店{n}",
                                   merchant=create_merchant(legal_name=f"可靠商户{n}（个体工商户）"),
                                   grants=[(owner, Role.merchant_owner)])
                shops.append((shop, owner))
            category = Category(slug="goods", name_zh="百货", product_type="general.goods")
            db.session.add(category)
            db.session.commit()
            keys = [(shop.id, shop.slug, issue_token(owner, shop, "reliability", ["orders:read", "orders:write"]))
                    for shop, owner in shops]
            category_id = category.id
        users = [accounts.register_user(f"resident{n:03d}@reliable.example", "correct-horse-42", f"居民{n}")
                 for n in range(RESIDENTS)]
        db.session.flush()
        tokens = [issue_personal_token(user, "reliability", ["purchases:read", "purchases:write"], None)
                  for user in users]
        db.session.commit()
    return tokens, keys, category_id


def _database(kind: str, instance):
    if kind == "sqlite":
        return contextlib.nullcontext(f"sqlite:///{instance / 'reliability.sqlite3'}")
    return postgresql_database(configured_database_url(), f"reliability_{uuid.uuid4().hex[:10]}")


#: The run's database: CI runs the suite once on each (``.ci/run``).
RUN_DATABASE = "postgresql" if (configured_database_url() or "").startswith("postgresql") else "sqlite"


@contextlib.contextmanager
def launched(kind: str, instance, extra_env: dict[str, str] | None = None):
    """A seeded platform under gunicorn on a database of ``kind`` (a SQLite file, or a new PostgreSQL database
    dropped afterwards), with ``extra_env`` in the server's environment."""
    with _database(kind, instance) as database_url:
        env = server_environment(instance, database_url)
        # The crowd comes from one address: the API's limits would refuse the case, not the platform.
        env.update({"MARKETPLACE_PLATFORM_DOMAIN": PLATFORM_DOMAIN,
                    "MARKETPLACE_API_RATE_LIMIT": "1000000 per minute",
                    "MARKETPLACE_API_RATE_LIMIT_ANONYMOUS": "1000000 per minute", **(extra_env or {})})
        migrate(env)
        app = make_test_app(instance, database_url)
        try:
            tokens, shops, category_id = _seed(app)
            server = start_server(env, instance / "gunicorn.log", workers=4)
            try:
                yield Platform(server, app, kind, tokens, shops, category_id)
            finally:
                server.stop()
        finally:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture(scope="module", params=[RUN_DATABASE])
def platform(request, tmp_path_factory):
    with launched(request.param, tmp_path_factory.mktemp(f"reliability-{request.param}")) as running:
        yield running
