"""A synthetic city for the benchmarks: tenants, merchants, shops, residents, a catalogue and its order history.

The city is built straight into the database with bulk inserts (the way a migration from another system would
arrive), then indexed through the real search pipeline. It grows in stages (``grow``), so the same pages can be
measured at 10, 10,000 and 1,000,000 products in one run.

Shape, by default: 200 tenants, alternately a market (stalls on floor plans) and a street (frontages on a map), 100
shops each; products spread over the tenants by a Zipf law (s = 0.8), so the first tenant, a market, holds about a
tenth of the catalogue — the pages measured are that tenant's, the worst case, not an average one. Every product
has one to three variants, a picture (one of a dozen real images in the media store) and a realistic Chinese title
and attributes (``bench.search.run._product``); about one order per ten products, over the past year.
"""

from __future__ import annotations

import io
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from bench.search.run import _product
from marketplace.tenancy.context import all_tenants

PRODUCT_TYPES = {  # category root slug: (name, product type, the titles it takes)
    "fruit": ("水果生鲜", "general.food"), "grain": ("粮油副食", "general.food"),
    "fertiliser": ("化肥", "agri_inputs.fertiliser"), "pesticide": ("农药", "agri_inputs.pesticide"),
    "apparel": ("服装", "apparel.garment"), "goods": ("日用百货", "general.goods"),
}
STREET_NAMES = ["人民路", "解放路", "建设路", "中原路", "大学路", "紫荆山路", "花园路", "文化路", "农业路", "经三路",
                "纬五路", "金水路", "桐柏路", "嵩山路", "淮河路", "陇海路", "航海路", "黄河路", "东风路", "丰产路"]
MARKET_KINDS = ["农资市场", "服装城", "小商品市场", "水果批发市场", "粮油市场", "五金机电城", "茶叶市场", "布料市场"]
SHOP_WORDS = ["商行", "农资店", "服饰", "百货", "果业", "粮油店", "经营部", "批发部"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
BATCH = 20_000


@dataclass
class CitySpec:
    products: int = 1_000_000
    tenants: int = 200
    shops: int = 20_000
    residents: int = 2_000
    orders_per_product: float = 0.1
    seed: int = 12


@dataclass
class City:
    """What was built: enough to find the pages to measure."""

    spec: CitySpec
    tenant_ids: list[int] = field(default_factory=list)
    tenant_slugs: list[str] = field(default_factory=list)
    shops_of: dict[int, list[int]] = field(default_factory=dict)
    leaves_of: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    images: list[tuple[str, int, int]] = field(default_factory=list)
    resident_ids: list[int] = field(default_factory=list)
    products: int = 0
    #: Ids of the products the last ``grow`` added, by tenant (for ``index_new``).
    added: dict[int, list[int]] = field(default_factory=dict)
    variants: int = 0
    orders: int = 0
    cum_weights: list[float] = field(default_factory=list)

    @property
    def market(self) -> str:
        """The biggest tenant (a market)."""
        return self.tenant_slugs[0]

    @property
    def street(self) -> str:
        """The biggest street."""
        return self.tenant_slugs[1]


def _street_layout(index: int, shops: int) -> dict:
    per_side = (shops + 1) // 2
    name = STREET_NAMES[index % len(STREET_NAMES)]
    length = per_side * 9 + 10
    return {"street": {"zh": name, "en": f"Street {index}"}, "length_m": length, "orientation": "north-south",
            "sides": ["west", "east"],
            "cross_streets": [{"at_m": 0, "name": {"zh": "北口", "en": "North end"}},
                              {"at_m": length, "name": {"zh": "南口", "en": "South end"}}],
            "pickup_counter": {"at_m": length // 2, "side": "east", "name": {"zh": "联合自提点", "en": "Pickup"}}}


def _market_layout(shops: int) -> tuple[dict, list[tuple[str, int, str, str]]]:
    """Two halls of two floors, 5 × 5 stalls on each floor (more floors as needed); and each stall's place."""
    places, buildings = [], []
    floors_needed = max(1, -(-shops // 25))
    for b in range(max(1, -(-floors_needed // 2))):
        code = "ABCDEFGHIJ"[b % 10] + ("" if b < 10 else str(b))
        floors = []
        for level in (1, 2):
            if len(places) >= shops:
                break
            zones = [{"code": f"{code}{level}{z}", "name": {"zh": f"{z + 1} 区", "en": f"Zone {z + 1}"}} for z in range(5)]
            stalls = []
            for i in range(25):
                zone = zones[i // 5]["code"]
                number = f"{code}{level}-{i + 1:03d}"
                stalls.append({"number": number, "x_m": 2 + (i % 5) * 11, "y_m": 2 + (i // 5) * 9, "width_m": 9,
                               "depth_m": 7, "zone": zone})
                if len(places) < shops:
                    places.append((code, level, zone, number))
            floors.append({"level": level, "name": {"zh": f"{level} 层", "en": f"Floor {level}"}, "width_m": 58,
                           "depth_m": 48, "zones": zones, "stalls": stalls,
                           "entrances": [{"name": {"zh": "南门", "en": "South gate"}, "x_m": 29, "y_m": 48}]})
        buildings.append({"code": code, "name": {"zh": f"{code} 馆", "en": f"Hall {code}"}, "floors": floors})
    return {"buildings": buildings}, places


def _images(app) -> list[tuple[str, int, int]]:
    """A dozen real product pictures, stored through the media pipeline like an upload."""
    from PIL import Image, ImageDraw

    from marketplace.media.images import ingest_image

    stored = []
    with app.app_context():
        for hue in range(12):
            picture = Image.new("RGB", (800, 800), (40 + hue * 17, 160 - hue * 9, 90 + hue * 11))
            draw = ImageDraw.Draw(picture)
            for ring in range(8):
                draw.ellipse((100 + ring * 20, 100 + ring * 20, 700 - ring * 20, 700 - ring * 20),
                             outline=(255, 255 - ring * 25, ring * 30), width=6)
            buffer = io.BytesIO()
            picture.save(buffer, "JPEG", quality=85)
            image = ingest_image(buffer.getvalue())
            stored.append((image.sha256, image.width, image.height))
    return stored


def build(app, spec: CitySpec, progress=print) -> City:
    """The city without products: tenants with layouts and categories, merchants and shops, residents."""
    from marketplace.accounts.services import hash_password
    from marketplace.catalog.models import Category
    from marketplace.extensions import db
    from marketplace.shops import floorplans, maps
    from marketplace.shops.models import Merchant, Shop
    from marketplace.tenancy.models import Tenant
    from marketplace.trust.verification import MerchantApproval

    rng = random.Random(spec.seed)
    city = City(spec)
    now = datetime.now(UTC)
    shops_per_tenant = max(1, spec.shops // spec.tenants)
    with app.app_context(), all_tenants():  # the city is built across tenants, on purpose
        tenants, places = [], {}
        for t in range(spec.tenants):
            market = t % 2 == 0
            slug = f"city-{'m' if market else 's'}{t:03d}"
            if market:
                layout, places[t] = _market_layout(shops_per_tenant)
                assert not floorplans.market_layout_problems(layout), floorplans.market_layout_problems(layout)
                name = f"{STREET_NAMES[t % 20][:2]}{MARKET_KINDS[t % len(MARKET_KINDS)]}"
            else:
                layout = _street_layout(t, shops_per_tenant)
                assert not maps.street_layout_problems(layout), maps.street_layout_problems(layout)
                name = f"{STREET_NAMES[t % 20]}商业街"
            tenants.append({"id": t + 1, "slug": slug, "kind": "market" if market else "street", "status": "live",
                            "name_zh": f"{name}{t:03d}", "name_en": f"Bench tenant {t}", "theme": "market" if market
                            else "street", "operator_name": f"{name}运营管理有限公司", "layout": layout,
                            "brand": {}, "created_at": now, "updated_at": now})
        db.session.execute(insert(Tenant.__table__), tenants)
        city.tenant_ids = [row["id"] for row in tenants]
        city.tenant_slugs = [row["slug"] for row in tenants]

        categories, category_id = [], 0
        for tenant_id in city.tenant_ids:
            for position, (root, (name, product_type)) in enumerate(PRODUCT_TYPES.items()):
                category_id += 1
                root_id = category_id
                categories.append({"id": root_id, "tenant_id": tenant_id, "parent_id": None, "slug": root,
                                   "name_zh": name, "name_en": root, "product_type": product_type,
                                   "position": position})
                leaves = city.leaves_of.setdefault((tenant_id, product_type), [])
                for child in range(4):
                    category_id += 1
                    categories.append({"id": category_id, "tenant_id": tenant_id, "parent_id": root_id,
                                       "slug": f"{root}-{child}", "name_zh": f"{name}{'一二三四'[child]}类",
                                       "name_en": f"{root} {child}", "product_type": product_type,
                                       "position": child})
                    leaves.append(category_id)
        db.session.execute(insert(Category.__table__), categories)

        merchants, shops = [], []
        for t, tenant_id in enumerate(city.tenant_ids):
            ids = city.shops_of.setdefault(tenant_id, [])
            for s in range(shops_per_tenant):
                shop_id = len(shops) + 1
                owner = f"{SURNAMES[rng.randrange(len(SURNAMES))]}{SURNAMES[rng.randrange(len(SURNAMES))]}"
                name = f"{owner}{SHOP_WORDS[rng.randrange(len(SHOP_WORDS))]}"
                merchants.append({"id": shop_id, "kind": "individual_business", "legal_name": f"{name}（个体工商户）",
                                  "created_at": now, "updated_at": now})
                row = {"id": shop_id, "tenant_id": tenant_id, "merchant_id": shop_id, "slug": f"shop-{s:03d}",
                       "status": "active", "name_zh": f"{name}{s}", "name_en": f"Shop {s}", "phone": "0371-60000000",
                       "opening_hours": {}, "street_number": "", "street_side": "", "building": "", "floor": None,
                       "zone": "", "stall": "", "map_x": None, "map_width": None, "created_at": now,
                       "updated_at": now}
                if t in places:
                    row["building"], row["floor"], row["zone"], row["stall"] = places[t][s]
                else:
                    row.update(street_side=("west", "east")[s % 2], map_x=float((s // 2) * 9 + 5), map_width=8.0,
                               street_number=str(s + 1))
                shops.append(row)
                ids.append(shop_id)
        db.session.execute(insert(Merchant.__table__), merchants)
        # Every merchant passed the platform's review (trust.verification), so their shops may publish.
        db.session.execute(insert(MerchantApproval.__table__), [
            {"merchant_id": row["id"], "status": "approved", "decided_at": now, "valid_until": now + timedelta(days=180),
             "reason": "", "created_at": now, "updated_at": now} for row in merchants])
        for start in range(0, len(shops), BATCH):
            db.session.execute(insert(Shop.__table__), shops[start:start + BATCH])

        password = hash_password("bench-resident-2026")
        residents = [{"id": i + 1, "email": f"resident{i}@bench.example", "password_hash": password,
                      "display_name": f"居民{i}", "active": True, "created_at": now, "updated_at": now}
                     for i in range(spec.residents)]
        from marketplace.accounts.models import User

        db.session.execute(insert(User.__table__), residents)
        city.resident_ids = [row["id"] for row in residents]
        db.session.commit()
        _advance_sequences(db, ("tenants", "categories", "merchants", "shops", "users"))
    city.images = _images(app)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(spec.tenants)]
    city.cum_weights = list(itertools.accumulate(weights))
    progress(f"city: {spec.tenants} tenants, {len(shops):,} shops, {spec.residents:,} residents")
    return city


def grow(app, city: City, upto: int, progress=print) -> float:
    """Add products (with variants, pictures and past orders) until the city has ``upto``; returns seconds taken."""
    from marketplace.catalog.models import Product, ProductImage, Variant
    from marketplace.extensions import db
    from marketplace.orders.models import Order, OrderGroup, OrderLine

    rng = random.Random(city.spec.seed * 1_000_003 + city.products)
    started = time.perf_counter()
    first = city.products
    city.added = {}
    now = datetime.now(UTC)
    with app.app_context(), all_tenants():
        while city.products < upto:
            products, variants, images, groups, orders, lines = [], [], [], [], [], []
            for index in range(city.products, min(upto, city.products + BATCH)):
                tenant = rng.choices(city.tenant_ids, cum_weights=city.cum_weights)[0]
                title, product_type, attributes = _product(rng, index)
                shop_id = rng.choice(city.shops_of[tenant])
                published = now - timedelta(minutes=index % 500_000)
                product_id = index + 1
                city.added.setdefault(tenant, []).append(product_id)
                products.append({"id": product_id, "tenant_id": tenant, "shop_id": shop_id,
                                 "category_id": rng.choice(city.leaves_of[(tenant, product_type)]),
                                 "product_type": product_type, "title": title,
                                 "description": f"<p>{title}，产地直供，品质保证。</p>", "status": "active",
                                 "unit": "piece", "moq": 1, "attributes": attributes, "published_at": published,
                                 "created_at": published, "updated_at": published, "version": 1})
                sha, width, height = city.images[index % len(city.images)]
                images.append({"tenant_id": tenant, "product_id": product_id, "sha256": sha, "width": width,
                               "height": height, "alt_zh": title[:200], "alt_en": "", "position": 0})
                first_variant = city.variants + 1
                for v in range(1 + index % 3):
                    city.variants += 1
                    price = rng.randint(100, 200_000)
                    variants.append({"id": city.variants, "tenant_id": tenant, "product_id": product_id,
                                     "shop_id": shop_id, "sku": f"SKU-{product_id}-{v}", "options": {},
                                     "price": price, "stock": rng.choice([0, 5, 50, 500]), "position": v,
                                     "version": 1})
                if rng.random() < city.spec.orders_per_product:
                    city.orders += 1
                    number = f"B{city.orders:010d}"
                    quantity = rng.randint(1, 5)
                    price = variants[-1]["price"]
                    placed = now - timedelta(hours=rng.randint(24, 24 * 365))
                    buyer = rng.choice(city.resident_ids)
                    groups.append({"id": city.orders, "tenant_id": tenant, "number": f"G{city.orders:010d}",
                                   "buyer_id": buyer, "idempotency_key": number, "currency": "CNY",
                                   "total": price * quantity, "payment_provider": "offline",
                                   "payment_deadline": placed + timedelta(hours=24), "paid_at": placed,
                                   "created_at": placed, "updated_at": placed})
                    orders.append({"id": city.orders, "tenant_id": tenant, "number": number, "group_id": city.orders,
                                   "shop_id": shop_id, "buyer_id": buyer, "status": "completed",
                                   "items_total": price * quantity, "delivery_provider": "pickup", "delivery_fee": 0,
                                   "total": price * quantity, "commission": 0, "refunded": 0, "note": "",
                                   "created_at": placed, "updated_at": placed})
                    lines.append({"tenant_id": tenant, "order_id": city.orders, "variant_id": first_variant,
                                  "product_id": product_id, "title": title, "sku": f"SKU-{product_id}-0",
                                  "options": {}, "attributes": {}, "unit": "piece", "unit_price": price,
                                  "quantity": quantity, "total": price * quantity, "price_source": "base"})
            for table, rows in ((Product, products), (Variant, variants), (ProductImage, images),
                                (OrderGroup, groups), (Order, orders), (OrderLine, lines)):
                if rows:
                    db.session.execute(insert(table.__table__), rows)
            db.session.commit()
            city.products += len(products)
            rate = (city.products - first) / max(time.perf_counter() - started, 1e-9)
            progress(f"\rcatalogue: {city.products:,}/{upto:,} products ({rate:,.0f}/s)", end="")
        _advance_sequences(db, ("products", "variants", "order_groups", "orders"))
        if db.engine.dialect.name == "postgresql":
            # After a bulk load the planner's statistics still describe the empty tables, until autovacuum
            # catches up: a tenant's sales counts then take seconds (a nested loop over every order line of
            # the tenant) instead of a millisecond. Any bulk import should be followed by ANALYZE.
            db.session.execute(text("ANALYZE"))
        db.session.commit()
    progress("")
    return time.perf_counter() - started


def _advance_sequences(db, tables) -> None:
    """Rows were inserted with their ids: PostgreSQL's sequences must move past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    db.session.commit()


def index_new(app, city: City, progress=print) -> tuple[int, float]:
    """Index the products the last ``grow`` added, tenant by tenant, as the search index follows commits."""
    from marketplace.search import indexing, services

    started = time.perf_counter()
    documents = 0
    with app.app_context():
        services.analyser()
        for tenant_id, ids in city.added.items():
            indexing.sync(tenant_id, product_ids=ids)
            documents += len(ids)
            progress(f"\rindexing: {documents:,} new products", end="")
    progress("")
    return documents, time.perf_counter() - started


def reindex(app, city: City, progress=print) -> tuple[int, float]:
    """Index every tenant through the real pipeline; (documents, seconds)."""
    from marketplace.extensions import db
    from marketplace.search import indexing, services
    from marketplace.tenancy.context import all_tenants
    from marketplace.tenancy.models import Tenant

    started = time.perf_counter()
    documents = 0
    with app.app_context():
        services.analyser()
        with all_tenants():
            tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
        for tenant in tenants:
            documents += indexing.reindex(tenant)
            progress(f"\rindexing: {documents:,}/{city.products:,} products", end="")
    progress("")
    return documents, time.perf_counter() - started
