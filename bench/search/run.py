"""Search benchmark: a synthetic catalogue, its indexing rate, and query latency in-process and over HTTP.

    .venv/bin/python -m bench.search.run                     # 1,000,000 products (several minutes)
    .venv/bin/python -m bench.search.run --products 50000    # a quick look

What it does, in a fresh instance folder (``--keep`` leaves it for inspection):

1. creates one market tenant with 200 shops and a category tree, and inserts the products (Chinese and
   English titles, fertiliser/pesticide/food/garment attributes, one to three variants, some price tiers)
   straight into the database;
2. runs ``flask search reindex``'s pipeline (database → documents → analysis → embedded index) and reports
   products per second, with the analysis and the index writes also timed on their own;
3. runs a fixed query mix (hanzi, sub-words, pinyin, initials, traditional, units, English, filters) through
   ``marketplace.search.services.search`` with and without facets, and reports p50/p95/p99;
4. serves the app with gunicorn (the project's gunicorn.conf.py) and sends the same mix to the JSON API's
   search endpoint from a client process, reporting latency and requests per second.

Figures are for comparison between runs on one machine, not promises: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TENANT = "bench-market"

#: The query mix: what residents and farmers type. Each is run with and without facets.
QUERIES = [
    "苹果", "红富士苹果", "富士", "pingguo", "pg", "蘋果", "复合肥", "复合肥 15-15-15", "尿素 46%", "吡虫啉",
    "低毒 杀虫剂", "连衣裙", "lianyiqun", "纯棉 T恤", "羽绒服 秋冬", "5kg", "大米 5公斤", "organic apple",
    "cotton dress", "手机 屏幕", "玉米种子", "xj", "有机肥 40kg", "猕猴桃", "不存在的商品名",
]
FILTERED = [("复合肥", {"attr.fertiliser_kind": "compound"}), ("苹果", {"in_stock": True}),
            ("连衣裙", {"price": [5_000, 20_000]})]


# -- the synthetic catalogue ----------------------------------------------------------------------------------

FRUITS = ["苹果", "红富士苹果", "香梨", "猕猴桃", "香蕉", "葡萄", "橙子", "柚子", "草莓", "西瓜", "桃子", "樱桃"]
ORIGINS = ["陕西洛川", "山东烟台", "河南灵宝", "新疆阿克苏", "四川蒲江", "广西百色", "云南", "福建平和"]
FOODS = ["大米", "小米", "面粉", "花生油", "芝麻油", "绿豆", "红枣", "核桃", "茶叶", "蜂蜜"]
FERTILISERS = [("复合肥", "compound"), ("硫酸钾型复合肥", "compound"), ("氯基复合肥", "compound"),
               ("尿素", "nitrogen"), ("有机肥", "organic"), ("水溶肥", "water_soluble"), ("磷酸二铵", "phosphate")]
FORMULAS = [(15, 15, 15), (16, 16, 16), (18, 18, 18), (24, 12, 9), (13, 5, 27), (30, 5, 5), (46, 0, 0)]
PESTICIDES = ["吡虫啉", "啶虫脒", "阿维菌素", "高效氯氰菊酯", "草甘膦", "多菌灵", "苯醚甲环唑", "吡唑醚菌酯"]
FORMULATIONS = [("可湿性粉剂", "WP"), ("乳油", "EC"), ("悬浮剂", "SC"), ("水分散粒剂", "WG")]
GARMENTS = ["连衣裙", "T恤", "卫衣", "羽绒服", "牛仔裤", "衬衫", "毛衣", "冲锋衣", "休闲裤", "半身裙"]
MATERIALS = ["纯棉", "真丝", "羊毛", "涤纶", "亚麻", "莫代尔"]
GADGETS = ["手机屏幕", "数据线", "充电器", "蓝牙耳机", "手机壳", "移动电源"]
ENGLISH = ["Organic Fuji Apple", "Cotton Summer Dress", "Compound Fertiliser", "Wireless Earphones",
           "Down Jacket", "Green Tea", "Phone Screen Replacement", "Kiwi Fruit"]
WEIGHTS = ["500g", "1kg", "2.5kg", "5kg", "5公斤", "10斤", "40kg", "50kg", "500ml", "1L"]


def _product(rng: random.Random, index: int) -> tuple[str, str, dict]:
    """A title, product type and attributes."""
    kind = index % 10
    if kind < 3:
        fruit = rng.choice(FRUITS)
        return (f"{rng.choice(ORIGINS)}{fruit} {rng.choice(WEIGHTS)}", "general.food",
                {"origin": rng.choice(ORIGINS), "storage": rng.choice(["ambient", "chilled"])})
    if kind == 3:
        return (f"{rng.choice(ORIGINS)}{rng.choice(FOODS)} {rng.choice(WEIGHTS)}", "general.food",
                {"brand": f"品牌{rng.randint(1, 300)}", "storage": "ambient"})
    if kind == 4:
        name, fertiliser_kind = rng.choice(FERTILISERS)
        n, p, k = rng.choice(FORMULAS)
        return (f"{name} {n}-{p}-{k} {rng.choice(['40kg', '50kg'])}", "agri_inputs.fertiliser",
                {"fertiliser_kind": fertiliser_kind, "n_pct": str(n), "p2o5_pct": str(p), "k2o_pct": str(k),
                 "total_nutrient_pct": str(n + p + k), "manufacturer": f"化肥厂{rng.randint(1, 50)}",
                 "net_content": "40 kg"})
    if kind == 5:
        ingredient = rng.choice(PESTICIDES)
        formulation, code = rng.choice(FORMULATIONS)
        return (f"{rng.choice([5, 10, 20, 70])}%{ingredient}{formulation}", "agri_inputs.pesticide",
                {"active_ingredient": ingredient, "formulation": code,
                 "toxicity": rng.choice(["low_toxic", "moderately_toxic", "slightly_toxic"]), "pesticide_category": "insecticide"})
    if kind in (6, 7):
        return (f"{rng.choice(MATERIALS)}{rng.choice(['女士', '男士', '儿童'])}{rng.choice(GARMENTS)}", "apparel.garment",
                {"material": "棉 100%", "season": rng.choice(["spring_summer", "autumn_winter", "all_season"]),
                 "gender": rng.choice(["women", "men", "children"])})
    if kind == 8:
        return f"{rng.choice(GADGETS)} 型号{rng.randint(1, 999)}", "general.goods", {"brand": f"品牌{rng.randint(1, 80)}"}
    return f"{rng.choice(ENGLISH)} {rng.choice(WEIGHTS)}", "general.goods", {"brand": "Evergreen"}


def build_catalogue(app, products: int, seed: int = 4) -> None:
    from sqlalchemy import insert

    from marketplace.catalog.models import Category, Product, Variant
    from marketplace.extensions import db
    from marketplace.search import indexing
    from marketplace.shops.models import Merchant, Shop
    from marketplace.tenancy.context import tenant_scope
    from marketplace.tenancy.models import Tenant

    rng = random.Random(seed)
    with app.app_context():
        tenant = Tenant(slug=TENANT, kind="market", status="live", name_zh="基准测试市场", name_en="Bench market")
        db.session.add(tenant)
        db.session.commit()
        with tenant_scope(tenant):
            merchant = Merchant(kind="enterprise", legal_name="基准商户")
            db.session.add(merchant)
            roots = {}
            for slug, zh, product_type in [("fruit", "水果", "general.food"), ("food", "粮油", "general.food"),
                                           ("fertiliser", "肥料", "agri_inputs.fertiliser"),
                                           ("pesticide", "农药", "agri_inputs.pesticide"),
                                           ("apparel", "服装", "apparel.garment"), ("goods", "日用", "general.goods")]:
                roots[product_type] = roots.get(product_type) or []
                category = Category(tenant_id=tenant.id, slug=slug, name_zh=zh, name_en=slug, product_type=product_type)
                db.session.add(category)
                db.session.flush()
                for i in range(4):
                    child = Category(tenant_id=tenant.id, slug=f"{slug}-{i}", name_zh=f"{zh}{i}", name_en=f"{slug} {i}",
                                     product_type=product_type, parent_id=category.id)
                    db.session.add(child)
                    db.session.flush()
                    roots[product_type].append(child.id)
            shops = []
            for i in range(200):
                shop = Shop(tenant_id=tenant.id, merchant=merchant, slug=f"shop-{i}", name_zh=f"{rng.choice(ORIGINS)}商行{i}",
                            name_en=f"Trader {i}")
                db.session.add(shop)
                shops.append(shop)
            db.session.flush()
            shop_ids = [s.id for s in shops]
            db.session.commit()
            indexing.run_pending()  # index the (empty) shops now, not the whole catalogue at the end of this block
            now = datetime.now(UTC)
            started = time.perf_counter()
            batch = 20_000
            for start in range(0, products, batch):
                rows, variants = [], []
                for index in range(start, min(products, start + batch)):
                    title, product_type, attributes = _product(rng, index)
                    rows.append({"id": index + 1, "tenant_id": tenant.id, "shop_id": rng.choice(shop_ids),
                                 "category_id": rng.choice(roots[product_type]), "product_type": product_type,
                                 "title": title, "description": f"<p>{title}，产地直供，品质保证。</p>",
                                 "status": "active", "unit": "piece", "moq": 1, "attributes": attributes,
                                 "published_at": now, "created_at": now, "updated_at": now})
                    for v in range(1 + index % 3):
                        variants.append({"tenant_id": tenant.id, "product_id": index + 1, "shop_id": rows[-1]["shop_id"],
                                         "sku": f"SKU-{index}-{v}", "options": {}, "price": rng.randint(100, 200_000),
                                         "stock": rng.choice([0, 5, 50, 500]), "position": v})
                db.session.execute(insert(Product.__table__), rows)
                db.session.execute(insert(Variant.__table__), variants)
                db.session.commit()
                _progress("catalogue", min(products, start + batch), products, started)
            print()


def _progress(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(f"\r{label}: {done:,}/{total:,} ({rate:,.0f}/s)", end="", flush=True)


# -- measuring ------------------------------------------------------------------------------------------------

def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.50) * 1000, "p95": pick(0.95) * 1000, "p99": pick(0.99) * 1000,
            "mean": statistics.fmean(ordered) * 1000}


def measure_indexing(app, products: int) -> dict:
    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.search import indexing, services
    from marketplace.tenancy.context import all_tenants
    from marketplace.tenancy.models import Tenant

    with app.app_context():
        services.analyser()
        with all_tenants():
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == TENANT))
        started = time.perf_counter()
        done = [0]

        def progress(n):
            done[0] += n
            _progress("reindex", done[0], products, started)

        count = indexing.reindex(tenant, progress=progress)
        elapsed = time.perf_counter() - started
        print()
    return {"documents": count, "seconds": round(elapsed, 1), "per_second": round(count / elapsed)}


def _query(text: str, filters: dict, facets: bool):
    from marketplace.search.backend import SearchQuery

    query = SearchQuery(text=text, with_facets=facets, size=24)
    if "attr.fertiliser_kind" in filters:
        query.attributes = {"fertiliser_kind": [filters["attr.fertiliser_kind"]]}
    query.in_stock = bool(filters.get("in_stock"))
    if "price" in filters:
        query.price_min, query.price_max = filters["price"]
    return query


def measure_in_process(app, rounds: int) -> dict:
    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.search import services
    from marketplace.tenancy.context import all_tenants, tenant_scope
    from marketplace.tenancy.models import Tenant

    mix = [(q, {}) for q in QUERIES] + FILTERED
    results = {}
    with app.test_request_context():
        with all_tenants():
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == TENANT))
        with tenant_scope(tenant):
            per_query: dict[str, dict] = {}
            for facets in (False, True):
                for text, filters in mix:  # warm the page cache once
                    services.search(tenant, _query(text, filters, facets))
                samples = []
                for _ in range(rounds):
                    for text, filters in mix:
                        started = time.perf_counter()
                        outcome = services.search(tenant, _query(text, filters, facets))
                        elapsed = time.perf_counter() - started
                        samples.append(elapsed)
                        row = per_query.setdefault(text + (" " + json.dumps(filters) if filters else ""),
                                                   {"matches": outcome.result.total, "ms": [], "ms_facets": []})
                        row["ms_facets" if facets else "ms"].append(elapsed * 1000)
                results["with facets" if facets else "without facets"] = percentiles(samples)
            # Latency follows the number of matching documents: the median of each query, with its matches.
            results["per_query_median_ms"] = {
                text: {"matches": row["matches"], "ms": round(statistics.median(row["ms"]), 1),
                       "ms_facets": round(statistics.median(row["ms_facets"]), 1)}
                for text, row in per_query.items()}
    return results


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure_http(env: dict, requests: int, workers: int) -> dict:
    port = _free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}/api/v1/tenants/{TENANT}/search"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        urls = [f"{base}?{urllib.parse.urlencode({'q': q, 'limit': 24})}" for q in QUERIES]

        def fetch(url: str) -> float:
            started = time.perf_counter()
            with urllib.request.urlopen(url, timeout=30) as response:
                response.read()
            return time.perf_counter() - started

        for url in urls:
            fetch(url)
        plan = [urls[i % len(urls)] for i in range(requests)]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            samples = list(pool.map(fetch, plan))
        elapsed = time.perf_counter() - started
        return {**percentiles(samples), "requests_per_second": round(requests / elapsed, 1),
                "client_threads": workers, "gunicorn_workers": workers}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20, help="passes over the query mix in-process")
    parser.add_argument("--http-requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder")
    args = parser.parse_args(argv)

    instance = Path(tempfile.mkdtemp(prefix="bench-search-"))
    env = {**os.environ, "MARKETPLACE_INSTANCE_PATH": str(instance), "MARKETPLACE_SECRET_KEY": "bench-" + "x" * 40,
           "MARKETPLACE_ENV": "production", "MARKETPLACE_SEARCH_INDEXING": "inline", "PYTHONPATH": str(ROOT)}
    os.environ.update({k: v for k, v in env.items() if k.startswith("MARKETPLACE_")})
    sys.path.insert(0, str(ROOT))
    try:
        import flask_migrate

        from marketplace import create_app

        app = create_app()
        with app.app_context():
            flask_migrate.upgrade()
        report = {"products": args.products, "python": sys.version.split()[0], "cpus": os.cpu_count()}
        started = time.perf_counter()
        build_catalogue(app, args.products)
        report["catalogue_seconds"] = round(time.perf_counter() - started, 1)
        report["indexing"] = measure_indexing(app, args.products)
        report["in_process_ms"] = measure_in_process(app, args.rounds)
        if not args.no_http:
            report["http_ms"] = measure_http(env, args.http_requests, args.workers)
        report["index_bytes"] = sum(p.stat().st_size for p in (instance / "search" / "embedded").rglob("*")
                                    if p.is_file())
        print(json.dumps(report, ensure_ascii=False, indent=2))
    finally:
        if args.keep:
            print(f"instance kept in {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
