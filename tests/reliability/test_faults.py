"""Parts of the platform failing under load: only processes this test started are stopped."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.fixtures.app import configured_database_url
from tests.orders.live_server import Browser, free_port
from tests.reliability.conftest import RUN_DATABASE, SLUG, in_parallel, launched

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

BUYERS = 40


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A Redis of this test's own, on a free port, that the test may stop."""
    port, folder = free_port(), tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
            break
        time.sleep(0.05)
    try:
        yield port, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def platform_on_redis(redis_server, tmp_path_factory):
    port, _process = redis_server
    with launched(RUN_DATABASE, tmp_path_factory.mktemp(f"redis-{RUN_DATABASE}"), {
            "MARKETPLACE_REDIS_URL": f"redis://127.0.0.1:{port}/0", "MARKETPLACE_SEARCH_INDEXING": "auto"}) as running:
        yield running


def health(platform) -> tuple[int, dict]:
    page = Browser(platform.server.port).get("/healthz")
    return page.status, json.loads(page.body)


def test_with_redis_stopped_checkout_still_sells_and_the_pages_still_answer(platform_on_redis, redis_server):
    """Redis holds the page cache, the rate limits and the job queue: without it pages are rendered, limits are
    counted per worker, and jobs (search indexing) run in the request. Health says what is down."""
    platform, (_port, redis) = platform_on_redis, redis_server
    variant = platform.product("五常大米 5kg", stock=1_000, price=6990)

    def buy(n: int) -> int:
        platform.empty_cart(n)
        assert platform.add_to_cart(n, variant).status == 200
        return platform.checkout(n).status

    assert health(platform)[0] == 200
    assert in_parallel(BUYERS, buy) == [201] * BUYERS

    redis.terminate()
    redis.wait(timeout=10)

    status, report = health(platform)
    assert status == 503 and report["checks"]["redis"]["ok"] is False and report["checks"]["database"]["ok"]
    started = time.monotonic()
    assert in_parallel(BUYERS, lambda n: buy(BUYERS + n)) == [201] * BUYERS
    took = time.monotonic() - started
    visitor = Browser(platform.server.port)
    for path in (f"/t/{SLUG}/", f"/t/{SLUG}/search?q=%E5%A4%A7%E7%B1%B3", "/"):
        page = visitor.get(path)
        assert page.status == 200, (path, page.summary())
    found = visitor.get(f"/t/{SLUG}/search?q=%E5%A4%A7%E7%B1%B3").text
    assert "找到 1 件商品" in found and "五常" in found  # search needs no Redis (the title is highlighted)
    print(f"\n[{platform.database}] Redis stopped: {BUYERS} checkouts in {took:.1f}s, all placed; health 503 "
          f"naming Redis; pages and search answer")
    platform.check()


# PostgreSQL's alone: the embedded default has no server connections to cut.
@pytest.mark.parametrize("platform", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_postgresql_connections_cut_every_5_seconds_answer_503_not_500_and_health_recovers(platform):
    """A database restart or failover cuts every connection: requests caught in it are told to try again (503,
    Retry-After), nothing half-done is kept, and the next requests reconnect. While the database refuses
    connections, /healthz says so; once it takes them again, /healthz is green."""
    variant = platform.product("金龙鱼花生油 5L", stock=100_000, price=8990)
    database = make_url(platform.app.config["SQLALCHEMY_DATABASE_URI"]).database
    admin = create_engine(configured_database_url(), isolation_level="AUTOCOMMIT")
    cut_all = text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE datname = :database AND pid <> pg_backend_pid()")
    stop, cuts, answers = threading.Event(), [], Counter()

    def cutter():
        while not stop.wait(5):
            with admin.connect() as connection:
                cuts.append(connection.execute(cut_all, {"database": database}).scalar())

    def buyer(n: int) -> None:
        while not stop.is_set():
            added = platform.add_to_cart(200 + n, variant)
            answers[added.status] += 1
            if added.status == 200:
                answers[platform.checkout(200 + n).status] += 1

    try:
        cutting = threading.Thread(target=cutter)
        cutting.start()
        with ThreadPoolExecutor(8) as pool:
            buyers = [pool.submit(buyer, n) for n in range(8)]
            time.sleep(21)
            stop.set()
            for done in buyers:
                done.result()
        cutting.join()

        with admin.connect() as connection:  # a failover: connections refused for a moment
            connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
            connection.execute(cut_all, {"database": database})
        red, report = health(platform)
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        green, _report = health(platform)
    finally:
        stop.set()
        admin.dispose()

    print(f"\n[{platform.database}] connections cut {len(cuts)} times ({sum(cuts)} backends) under 8 buyers: "
          f"answers {dict(answers)}; health {red} while refused, then {green}")
    assert len(cuts) == 4 and sum(cuts) > 0
    assert answers[201] > 0 and set(answers) <= {200, 201, 503}, platform.server.log_tail()
    assert red == 503 and report["checks"]["database"]["ok"] is False and green == 200
    platform.check()  # no 500 at all, and nothing half-done: stock, orders and payments still balance
