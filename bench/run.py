"""``make bench``: the platform's pages against the framework ceiling, on a synthetic city that grows to a million.

    make bench                                   # 1,000,000 products, PostgreSQL + Redis when reachable
    make bench BENCH_ARGS="--products 100000"    # a quicker look
    .venv/bin/python -m bench.run --help

One run, on one machine, in this order:

1. builds the city (``bench.city``) in stages — 10, 10,000, then ``--products`` — and at each stage counts the
   SQL statements each page sends (in-process, with the test client);
2. at 10,000 and at the full size serves the platform with gunicorn (the project's ``gunicorn.conf.py``) and loads
   each page from wrk on 127.0.0.1 for ``--duration`` seconds: throughput and p95 latency;
3. serves ``bench/hello.py`` the same way: the ceiling every throughput is divided by, the median of samples taken
   just before each page at full size and at the end (one sample on a shared machine can be a quarter off the next);
4. at full size: add-to-cart + checkout through the resident API (offline payment), from wrk, with a flash sale
   mixed in, then checks that nothing was oversold; a merchant's spreadsheet import through the importer; the
   resident memory of each gunicorn worker.

Results go to ``bench/results/latest.json`` (and a dated copy) and a table on stdout, with each target.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
PAGES = ("product", "category_1", "category_50", "street_home", "market_home", "search")
#: (figure, target, how the figure compares): the issue's table.
TARGETS = {
    "product": 0.35, "category_1": 0.30, "category_50": 0.30, "street_home": 0.30, "market_home": 0.30,
    "search": 0.25,
}
CHECKOUT_TARGET = 150
IMPORT_TARGET = 5_000
P95_GROWTH_TARGET = 1.5
MEMORY_TARGET_MB = 150

WRK_SCRIPT = """
local paths = {%(paths)s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT {\\"requests\\": %%d, \\"seconds\\": %%f, \\"p50_ms\\": %%f, \\"p95_ms\\": %%f, "
    .. "\\"p99_ms\\": %%f, \\"errors\\": %%d}\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""

#: Each wrk thread is one resident with one connection: put a variant in the cart, check out, again.
CHECKOUT_SCRIPT = """
local residents = {%(residents)s}
local hot = {%(hot)s}
local plenty = {%(plenty)s}
local prefix = "%(prefix)s"
local threads = {}
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("me", counter)
  table.insert(threads, thread)
end
init = function(args)
  token = residents[me]
  step = 0
  orders, soldout, errors, n = 0, 0, 0, 0
  math.randomseed(me * 7919)
end
request = function()
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  if step == 0 then
    local variant
    if math.random() < 0.2 then variant = hot[math.random(#hot)] else variant = plenty[math.random(#plenty)] end
    return wrk.format("PUT", prefix .. "/cart/lines/" .. variant, headers, '{"quantity": 1}')
  end
  n = n + 1
  headers["Idempotency-Key"] = "bench-" .. me .. "-" .. n
  return wrk.format("POST", prefix .. "/checkout", headers, '{"confirm_exclusions": true}')
end
response = function(status, headers, body)
  if step == 0 then
    if status == 404 or status == 409 then soldout = soldout + 1 elseif status ~= 200 then errors = errors + 1 end
    if status == 200 then step = 1 end
  else
    step = 0
    if status == 201 then orders = orders + 1
    elseif status == 409 then soldout = soldout + 1
    else errors = errors + 1 end
  end
end
done = function(summary, latency, requests)
  local o, s, e = 0, 0, 0
  for _, t in ipairs(threads) do o = o + t:get("orders"); s = s + t:get("soldout"); e = e + t:get("errors") end
  local x = summary.errors
  io.write(string.format("RESULT {\\"requests\\": %%d, \\"seconds\\": %%f, \\"p95_ms\\": %%f, \\"orders\\": %%d, "
    .. "\\"sold_out\\": %%d, \\"errors\\": %%d, \\"socket_errors\\": %%d}\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(95) / 1000, o, s, e, x.connect + x.read + x.write + x.timeout))
end
"""


# -- servers and load ---------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with the project's settings, serving ``target`` on a free port of 127.0.0.1."""

    def __init__(self, target: str, env: dict, workers: int):
        self.port = _free_port()
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "--bind",
             f"127.0.0.1:{self.port}", "--workers", str(workers), "--log-level", "warning", target],
            cwd=ROOT, env=env, start_new_session=True)
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2).read()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"gunicorn for {target} exited with {self.process.returncode}") from None
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn for {target} did not answer")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_memory(self) -> list[dict]:
        """Each worker's resident set and proportional set (shared pages split between the processes)."""
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout.split()
        found = []
        for pid in children:
            status = Path(f"/proc/{pid}/status").read_text()
            rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            pss = int(re.search(r"Pss:\s+(\d+)", rollup).group(1)) / 1024
            private = sum(int(v) for v in re.findall(r"Private_(?:Clean|Dirty):\s+(\d+)", rollup)) / 1024
            found.append({"pid": int(pid), "rss_mb": round(rss, 1), "pss_mb": round(pss, 1),
                          "private_mb": round(private, 1)})
        return found

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def wrk(url: str, script: str, *, duration: int, threads: int = 2, connections: int = 4) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
                               "--timeout", "10s", "-s", handle.name, url], capture_output=True, text=True,
                              timeout=duration + 60)
    finally:
        os.unlink(handle.name)
    line = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {done.stdout}\n{done.stderr}")
    result = json.loads(line[len("RESULT "):])
    result["per_second"] = round(result["requests"] / result["seconds"], 1)
    return result


def _lua_strings(values) -> str:
    return ", ".join(json.dumps(value) for value in values)


# -- the pages measured ---------------------------------------------------------------------------------------------

SEARCHES = ["苹果", "复合肥 15-15-15", "pingguo", "连衣裙", "尿素 46%", "纯棉 T恤", "大米 5公斤", "有机肥", "吡虫啉",
            "fhf", "organic apple", "羽绒服"]


def page_paths(app, city, rng: random.Random) -> dict[str, list[str]]:
    """The URLs of each page measured, in the biggest market (the biggest street for its home)."""
    from sqlalchemy import func, select

    from marketplace.catalog.models import Category, Product
    from marketplace.extensions import db
    from marketplace.tenancy.context import all_tenants

    market = city.market
    with app.app_context(), all_tenants():
        tenant_id = city.tenant_ids[0]
        ids = list(db.session.scalars(select(Product.id).where(Product.tenant_id == tenant_id)
                                      .order_by(func.random()).limit(500)))
        # The market's first product leads (its page's queries are counted): the same product at every stage,
        # so that a licence check or wholesale tiers on one product and not another are not taken for growth.
        first = db.session.scalar(select(func.min(Product.id)).where(Product.tenant_id == tenant_id))
        ids = [first, *(i for i in ids if i != first)] if first else ids
        # Each product at its canonical URL (/p/<id>-<slug>), so wrk measures pages, not redirects; made here, not
        # by visiting them: a visit stores the page, and a stored page's age would then count against the load.
        slugs = {product.id: product.slug for product in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
        # The root category with the most products: it has a page 50 once the market holds ~1,200 of them.
        parent_id = db.session.scalar(
            select(Category.parent_id).join(Product, Product.category_id == Category.id)
            .where(Product.tenant_id == tenant_id).group_by(Category.parent_id)
            .order_by(func.count(Product.id).desc()).limit(1))
        root = db.session.scalar(select(Category.slug).where(Category.id == parent_id)) if parent_id else None
    roots = [root or "fruit"]
    # First, the title of a product the market has: found at every stage, so its query count compares.
    sample = None
    if ids:
        with app.app_context(), all_tenants():
            db_title = db.session.scalar(select(Product.title).where(Product.id == ids[0]))
        sample = db_title.split()[0]
    from urllib.parse import quote

    return {
        "product": [f"/t/{market}/p/{i}-{slugs[i]}" if slugs.get(i) else f"/t/{market}/p/{i}" for i in ids]
        or [f"/t/{market}/p/1"],
        "category_1": [f"/t/{market}/c/{slug}" for slug in roots],
        "category_50": [f"/t/{market}/c/{slug}?page=50" for slug in roots],
        "street_home": [f"/t/{city.street}/"],
        "market_home": [f"/t/{market}/"],
        "search": [f"/t/{market}/search?q={quote(q)}" for q in ([sample] if sample else []) + SEARCHES],
    }


def count_queries(app, paths: dict[str, list[str]]) -> dict[str, dict]:
    """SQL statements per page (the first URL of each, after one warm-up request), and its status."""
    from sqlalchemy import event

    from marketplace.extensions import db

    counted: dict[str, dict] = {}
    with app.app_context():
        engine = db.engine
    statements = []

    def record(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", record)
    try:
        client = app.test_client()
        for page, urls in paths.items():
            # The product page's own URL ends in its slug: follow the redirect the way a browser would.
            client.get(urls[0], follow_redirects=True)
            statements.clear()
            response = client.get(urls[0], follow_redirects=True)
            counted[page] = {"queries": len(statements), "status": response.status_code}
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return counted


def measure_hello(env: dict, workers: int, duration: int) -> dict:
    """hello-world under the same gunicorn settings, loaded like a page: one sample of the ceiling."""
    hello = Server("bench.hello:app", env, workers)
    try:
        return wrk(hello.base, WRK_SCRIPT % {"paths": '"/"'}, duration=duration)
    finally:
        hello.stop()


def _visit(url: str) -> None:
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=60).read()


def measure_pages(server: Server, paths: dict[str, list[str]], duration: int,
                  ceiling: Callable[[], dict] | None = None, samples: list | None = None) -> dict[str, dict]:
    """Each page loaded for ``duration`` seconds, every URL of it visited once first: the figures are the
    steady state (with the page cache on, of a warm cache), not the first visits after a start. With a
    ``ceiling``, it is sampled just before each page too, into ``samples``."""
    measured = {}
    for page, urls in paths.items():
        if ceiling is not None:  # before the visits: stored pages live PAGE_CACHE_TTL_S (30 s) from them
            samples.append(ceiling())
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(_visit, [server.base + url for url in urls]))
        measured[page] = wrk(server.base, WRK_SCRIPT % {"paths": _lua_strings(urls)}, duration=duration)
        print(f"  {page:12} {measured[page]['per_second']:8.1f} req/s  p95 {measured[page]['p95_ms']:7.1f} ms"
              f"  errors {measured[page]['errors']}", flush=True)
    return measured


# -- checkout --------------------------------------------------------------------------------------------------------

def prepare_checkout(app, city, residents: int) -> dict:
    """Personal tokens for ``residents`` residents; 1,000 variants with plenty of stock and 5 flash-sale ones."""
    from sqlalchemy import select, update

    from marketplace.accounts.models import User
    from marketplace.api.auth import issue_personal_token
    from marketplace.catalog.models import Variant
    from marketplace.extensions import db
    from marketplace.tenancy.context import all_tenants

    with app.app_context(), all_tenants():
        tenant_id = city.tenant_ids[0]
        variants = list(db.session.scalars(select(Variant.id).where(Variant.tenant_id == tenant_id)
                                           .order_by(Variant.id).limit(1_005)))
        hot, plenty = variants[:5], variants[5:]
        db.session.execute(update(Variant).where(Variant.id.in_(plenty)).values(stock=1_000_000))
        db.session.execute(update(Variant).where(Variant.id.in_(hot)).values(stock=100))
        tokens = [issue_personal_token(db.session.get(User, user_id), "bench", ["purchases:read", "purchases:write"],
                                       None) for user_id in city.resident_ids[:residents]]
        db.session.commit()
    return {"tokens": tokens, "hot": hot, "plenty": plenty, "stock": {v: 100 for v in hot}}


def check_checkout(app, city, prepared: dict, started_at: datetime) -> dict:
    """Oversold units (sold beyond the 100 in stock, or stock below zero) and orders missing their payment group."""
    from sqlalchemy import func, select

    from marketplace.catalog.models import Variant
    from marketplace.extensions import db
    from marketplace.orders.models import Order, OrderLine
    from marketplace.tenancy.context import all_tenants

    with app.app_context(), all_tenants():
        sold = dict(db.session.execute(
            select(OrderLine.variant_id, func.sum(OrderLine.quantity)).join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.variant_id.in_(prepared["hot"]), Order.created_at >= started_at)
            .group_by(OrderLine.variant_id)).all())
        stock = dict(db.session.execute(select(Variant.id, Variant.stock).where(Variant.id.in_(prepared["hot"]))).all())
        orders = db.session.scalar(select(func.count(Order.id)).where(Order.created_at >= started_at))
    oversold = sum(max(0, sold.get(v, 0) - 100) for v in prepared["hot"]) + sum(
        max(0, -stock[v]) for v in prepared["hot"])
    mismatched = sum(1 for v in prepared["hot"] if sold.get(v, 0) + stock[v] != 100)
    return {"orders_in_database": orders, "flash_sale_sold": sum(sold.values()), "oversold": oversold,
            "stock_mismatches": mismatched}


# -- the merchant's spreadsheet ---------------------------------------------------------------------------------------

def measure_spreadsheet_import(app, city, rows: int) -> dict:
    """A merchant's CSV of ``rows`` products through the importer (validation, rows, search index), published."""
    import csv
    import io

    from sqlalchemy import select

    from bench.search.run import _product
    from marketplace.catalog import importing
    from marketplace.core.db import writing
    from marketplace.extensions import db
    from marketplace.search import indexing
    from marketplace.shops.models import Shop
    from marketplace.tenancy.context import tenant_scope
    from marketplace.tenancy.models import Tenant

    rng = random.Random(5)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["sku", "title", "category", "price", "stock", "unit", "attr.brand"])
    for index in range(rows):
        title, _type, _attributes = _product(rng, index * 10 + 8)  # general goods: one category takes them all
        writer.writerow([f"IMPORT-{index}", title, "goods-0", f"{rng.randint(100, 99_999) / 100:.2f}",
                         rng.randint(0, 500), "件", f"品牌{rng.randint(1, 80)}"])
    data = buffer.getvalue().encode("utf-8")
    with app.app_context():
        started = time.perf_counter()
        sheet, images = importing.read_upload(data, "products.csv")
        with writing():
            tenant = db.session.get(Tenant, city.tenant_ids[0])
            with tenant_scope(tenant):
                shop = db.session.scalar(select(Shop).where(Shop.id == city.shops_of[tenant.id][0]))
                report = importing.import_sheet(shop, sheet, publish=True, images=images)
            db.session.commit()
        indexing.run_pending()
        seconds = time.perf_counter() - started
    return {"rows": rows, "created": report.created, "rejected": report.rejected, "seconds": round(seconds, 2),
            "per_second": round(rows / seconds)}


# -- the run ----------------------------------------------------------------------------------------------------------

def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _database(choice: str) -> tuple[str | None, str | None]:
    """(SQLAlchemy URL or None for SQLite, the PostgreSQL database to drop afterwards)."""
    if choice == "sqlite" or (choice == "auto" and not _reachable("127.0.0.1", 5432)):
        return None, None
    name = f"bench_{int(time.time())}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--shops", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the machine's cores)")
    parser.add_argument("--database", choices=("auto", "postgresql", "sqlite"), default="auto",
                        help="auto: PostgreSQL on 127.0.0.1:5432 when it answers, else SQLite")
    parser.add_argument("--import-rows", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="keep the instance folder and database")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    from bench.city import CitySpec, build, grow, index_new, reindex

    instance = Path(tempfile.mkdtemp(prefix="bench-city-"))
    database_url, database_name = _database(args.database)
    redis_url = "redis://127.0.0.1:6379/13" if _reachable("127.0.0.1", 6379) else None
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MARKETPLACE_ENV": "production",
           "MARKETPLACE_INSTANCE_PATH": str(instance), "MARKETPLACE_SECRET_KEY": "bench-" + "x" * 40,
           # With Redis, as in production: a changed product is reindexed by an RQ worker (started below), not
           # inside the request; without it, inline.
           "MARKETPLACE_SEARCH_INDEXING": "auto",
           # The load comes from a handful of residents on one address: the API's limits would measure themselves.
           "MARKETPLACE_API_RATE_LIMIT": "1000000 per minute", "MARKETPLACE_API_RATE_LIMIT_ANONYMOUS": "1000000 per minute"}
    if database_url:
        env["MARKETPLACE_DATABASE_URL"] = database_url
    if redis_url:
        env["MARKETPLACE_REDIS_URL"] = redis_url
        subprocess.run(["redis-cli", "-n", "13", "flushdb"], capture_output=True)
    os.environ.update({k: v for k, v in env.items() if k.startswith("MARKETPLACE_")})
    report = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "args": vars(args),
              "machine": {"cpus": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version(),
                          "database": "PostgreSQL" if database_url else "SQLite", "redis": bool(redis_url)},
              "stages": {}}
    try:
        import flask_migrate

        from marketplace import create_app

        # This process builds and imports (indexed at once) and counts what rendering a page costs (no page cache).
        app = create_app({"SEARCH_INDEXING": "inline", "PAGE_CACHE_TTL_S": 0, "SEARCH_STATS_FLUSH_S": 0})
        with app.app_context():
            flask_migrate.upgrade()
        spec = CitySpec(products=args.products, tenants=args.tenants, shops=args.shops)
        city = build(app, spec)
        rng = random.Random(3)
        stages = sorted({min(10, args.products), min(10_000, args.products), args.products})
        for size in stages:
            loaded = grow(app, city, size)
            # The last stage is indexed the way a bulk import is (`flask search reindex`: every tenant afresh);
            # the stages before it as a catalogue grows (the new products, as the index follows commits).
            documents, indexed = reindex(app, city) if size == args.products else index_new(app, city)
            stage = {"products": size, "load_seconds": round(loaded, 1), "index_seconds": round(indexed, 1),
                     "documents": documents}
            paths = page_paths(app, city, rng)
            stage["queries"] = count_queries(app, paths)
            print(f"stage {size:,}: queries per page {({p: q['queries'] for p, q in stage['queries'].items()})}")
            if size >= 10_000 or size == args.products:
                final = size == args.products
                # Anonymous visitors (most pages from the page cache), then every page rendered (as for a
                # signed-in resident: PAGE_CACHE_TTL_S=0). Checkout and memory on the second server, after it all.
                for mode, extra in (("pages", {}), ("rendered", {"MARKETPLACE_PAGE_CACHE_TTL_S": "0"})):
                    print(f"stage {size:,}, {'anonymous visitors' if mode == 'pages' else 'pages rendered'}:")
                    server = Server("wsgi:app", {**env, **extra}, args.workers)
                    worker = _rq_worker(env) if redis_url else None
                    try:
                        # The ceiling is as noisy as the pages: at full size it is sampled next to each page.
                        ceiling = (partial(measure_hello, env, args.workers, args.duration)
                                   if final and mode == "pages" else None)
                        stage[mode] = measure_pages(server, paths, args.duration, ceiling,
                                                    report.setdefault("hello_samples", []))
                        if final and mode == "rendered":
                            report["checkout"] = measure_checkout(app, city, server, args.duration)
                            report["memory"] = server.worker_memory()
                    finally:
                        server.stop()
                        if worker is not None:
                            os.killpg(worker.pid, signal.SIGTERM)
                            worker.wait(timeout=30)
            report["stages"][str(size)] = stage
        last = report["stages"][str(args.products)]
        loaded = args.products - max((int(k) for k in report["stages"] if int(k) < args.products), default=0)
        # The last stage: its rows loaded, then every tenant indexed afresh (the whole catalogue). Per product:
        # the time to load one plus the time to index one.
        per_product = last["load_seconds"] / loaded + last["index_seconds"] / last["documents"]
        report["import"] = {"bulk": {"loaded": loaded, "load_seconds": last["load_seconds"],
                                     "indexed": last["documents"], "index_seconds": last["index_seconds"],
                                     "per_second": round(1 / per_product)}}
        report["import"]["spreadsheet"] = measure_spreadsheet_import(app, city, args.import_rows)
        report.setdefault("hello_samples", []).append(measure_hello(env, args.workers, args.duration))
        # The median of the samples: one sample of a shared machine can be a quarter off the next.
        report["hello"] = sorted(report["hello_samples"], key=lambda r: r["per_second"])[
            len(report["hello_samples"]) // 2]
        report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M")
        for name in ("latest.json", f"{stamp}-{args.products}.json"):
            (RESULTS / name).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        print()
        print(table(report))
    finally:
        if args.keep:
            print(f"kept: instance {instance}, database {database_name or 'SQLite in the instance'}")
        else:
            shutil.rmtree(instance, ignore_errors=True)
            if database_name:
                subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", database_name])


def _rq_worker(env: dict) -> subprocess.Popen:
    """One RQ worker, as docs/deploy.md runs them: reindexes what checkouts change, outside the requests."""
    return subprocess.Popen([str(ROOT / ".venv/bin/rq"), "worker", "--worker-class", "rq.worker.SimpleWorker",
                             "--url", env["MARKETPLACE_REDIS_URL"], "--quiet", "marketplace"], cwd=ROOT, env=env,
                            start_new_session=True)


def measure_checkout(app, city, server: Server, duration: int) -> dict:
    threads = 8
    prepared = prepare_checkout(app, city, threads)
    started_at = datetime.now(UTC)
    result = wrk(server.base, CHECKOUT_SCRIPT % {
        "residents": _lua_strings(prepared["tokens"]), "hot": _lua_strings(prepared["hot"]),
        "plenty": _lua_strings(prepared["plenty"]), "prefix": f"/api/v1/tenants/{city.market}"},
        duration=duration, threads=threads, connections=threads)
    result["orders_per_second"] = round(result["orders"] / result["seconds"], 1)
    result.update(check_checkout(app, city, prepared, started_at))
    print(f"  checkout     {result['orders_per_second']:8.1f} orders/s, {result['sold_out']} sold out, "
          f"{result['errors']} errors, {result['oversold']} oversold", flush=True)
    return result


def _cpu_model() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def table(report: dict) -> str:
    """The issue's table: each figure, its target, and whether it is met."""
    hello = report["hello"]["per_second"]
    stages = report["stages"]
    full = stages[str(report["args"]["products"])]
    small = stages.get("10000")
    samples = sorted(r["per_second"] for r in report.get("hello_samples", ()))
    spread = (f" (median of {len(samples)} samples, {samples[0]:,.0f}–{samples[-1]:,.0f})"
              if len(samples) > 1 else "")
    rows = [("hello-world (the ceiling)", f"{hello:,.0f} req/s{spread}", "", "")]
    for page in PAGES:
        cached, rendered = full.get("pages", {}).get(page), full.get("rendered", {}).get(page)
        if cached is None:
            continue
        ratio = cached["per_second"] / hello
        shown = f"{cached['per_second']:,.0f} req/s = **{ratio:.2f} ×**"
        if rendered:
            shown += f" (rendered: {rendered['per_second']:,.0f} req/s = {rendered['per_second'] / hello:.2f} ×)"
        rows.append((f"{page.replace('_', ' ')} throughput", shown, f"≥ {TARGETS[page]:.2f} ×",
                     _mark(ratio >= TARGETS[page] and cached["errors"] == 0)))
    checkout = report.get("checkout")
    if checkout:
        ok = (checkout["orders_per_second"] >= CHECKOUT_TARGET and checkout["oversold"] == 0
              and checkout["errors"] == 0 and checkout["stock_mismatches"] == 0)
        rows.append(("add-to-cart + checkout", f"{checkout['orders_per_second']:,.0f} orders/s, "
                     f"{checkout['oversold']} oversold, {checkout['errors']} errors", f"≥ {CHECKOUT_TARGET}/s, 0, 0",
                     _mark(ok)))
    for name, figure in report["import"].items():
        rows.append((f"catalogue import ({name})", f"{figure['per_second']:,} products/s", f"≥ {IMPORT_TARGET:,}/s",
                     _mark(figure["per_second"] >= IMPORT_TARGET)))
    counts = {size: {page: q["queries"] for page, q in stage["queries"].items() if q["status"] == 200}
              for size, stage in stages.items()}
    constant = all(len({c[page] for c in counts.values() if page in c}) <= 1 for page in PAGES)
    rows.append(("SQL queries per page, " + " → ".join(f"{int(s):,}" for s in counts),
                 "; ".join(f"{p} " + "/".join(str(c.get(p, "–")) for c in counts.values()) for p in PAGES),
                 "constant", _mark(constant)))
    if small and small is not full:
        for mode in ("pages", "rendered"):
            if mode not in small or mode not in full:
                continue
            growth = {page: full[mode][page]["p95_ms"] / max(small[mode][page]["p95_ms"], 0.001)
                      for page in PAGES if small[mode].get(page, {}).get("errors", 1) == 0}
            worst = max(growth.values()) if growth else 0
            rows.append((f"p95 at {report['args']['products']:,} vs 10,000 ({'anonymous' if mode == 'pages' else 'rendered'})",
                         ", ".join(f"{p.replace('_', ' ')} {g:.2f}×" for p, g in growth.items()),
                         f"≤ {P95_GROWTH_TARGET} ×", _mark(worst <= P95_GROWTH_TARGET)))
    memory = report.get("memory") or []
    if memory:
        worst = max(m["rss_mb"] for m in memory)
        rows.append(("memory per worker after the run",
                     ", ".join(f"RSS {m['rss_mb']:.0f} MB (PSS {m['pss_mb']:.0f}, private {m['private_mb']:.0f})"
                               for m in memory), f"≤ {MEMORY_TARGET_MB} MB", _mark(worst <= MEMORY_TARGET_MB)))
    machine = report["machine"]
    lines = [f"{report['args']['products']:,} products, {report['args']['tenants']} tenants, "
             f"{report['args']['shops']:,} shops; {machine['database']}"
             f"{' + Redis' if machine['redis'] else ''}; {machine['cpus']} × {machine['cpu']}; Python "
             f"{machine['python']}; {report['started']}", "",
             "| figure | measured | target | |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


if __name__ == "__main__":
    main()
