"""Products as search documents: what is indexed, analysed once here so every backend gets the same tokens.

A product is in the index while residents can buy it: active, in an active shop. Everything else (drafts,
archived products, suspended shops, deleted rows) is absent, and ``for_ids`` reports those ids so
the caller deletes them.

Besides what the product says of itself, a document carries its units sold (``SOLD_STATUSES``; an order moving
into or out of them re-syncs its products) and its shop's stored credit standing (``trust.credit.ShopCredit``;
a refresh that moves it re-syncs the shop's products).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from types import SimpleNamespace

from sqlalchemy import Index, func, select

from marketplace.catalog import packs
from marketplace.catalog.models import Category, PriceTier, Product, ProductStatus, Variant
from marketplace.core.text import html_to_text
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderLine, OrderStatus
from marketplace.search.analysis import Analyser
from marketplace.search.backend import NEW_SHOP, SearchDocument
from marketplace.shops.models import Shop, ShopStatus
from marketplace.trust.credit import ShopCredit

#: Description text beyond this many characters adds little to matching and much to the index.
BODY_CHARACTERS = 2000
#: Longest facet value kept (free-text attributes such as a brand or crop).
FACET_VALUE_CHARACTERS = 60
BATCH = 500
#: Orders whose goods count as sold: paid for, and neither cancelled nor being (or already) refunded.
SOLD_STATUSES = frozenset({OrderStatus.paid, OrderStatus.accepted, OrderStatus.ready_for_pickup, OrderStatus.shipped,
                           OrderStatus.delivered, OrderStatus.picked_up, OrderStatus.completed})

# Units sold are summed per product for every batch of documents: without this index each sum reads every order
# line of the tenant. (Declared here, beside the one query that needs it.)
Index("ix_order_lines_tenant_id_product_id", OrderLine.tenant_id, OrderLine.product_id)


def category_paths() -> dict[int, list[Category]]:
    """Each category of the current tenant with its ancestors, root first (one query)."""
    categories = {c.id: c for c in db.session.scalars(select(Category))}
    paths: dict[int, list[Category]] = {}
    for category in categories.values():
        path, node, seen = [], category, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            path.append(node)
            node = categories.get(node.parent_id) if node.parent_id else None
        paths[category.id] = path[::-1]
    return paths


def is_searchable(product: Product) -> bool:
    return product.status == ProductStatus.active and product.shop.status == ShopStatus.active


def _load(ids: list[int]) -> list[SimpleNamespace]:
    """What ``to_document`` reads of these products, as plain rows: four queries, no ORM objects (a reindex
    of a million products spends its time analysing text, not building instances)."""
    shops = {}
    products = {}
    for row in db.session.execute(
            select(Product.id, Product.shop_id, Product.category_id, Product.product_type, Product.title,
                   Product.description, Product.attributes, Product.moq, Product.published_at, Product.status,
                   Shop.name_zh, Shop.name_en, Shop.status.label("shop_status"),
                   ShopCredit.score.label("credit_score"), ShopCredit.level.label("credit_level"))
            .join(Shop, Shop.id == Product.shop_id)
            .outerjoin(ShopCredit, ShopCredit.shop_id == Shop.id)  # a shop not scored yet counts as new
            .where(Product.id.in_(ids)).order_by(Product.id)):
        shop = shops.get(row.shop_id)
        if shop is None:
            shop = shops[row.shop_id] = SimpleNamespace(
                name_zh=row.name_zh, name_en=row.name_en, status=row.shop_status,
                credit_score=row.credit_score or 0, credit_level=row.credit_level or NEW_SHOP)
        products[row.id] = SimpleNamespace(
            id=row.id, shop_id=row.shop_id, category_id=row.category_id, product_type=row.product_type,
            title=row.title, description=row.description, attributes=row.attributes, moq=row.moq,
            published_at=row.published_at, status=row.status, shop=shop, variants=[], sales=0)
    if products:
        for product_id, sold in db.session.execute(
                select(OrderLine.product_id, func.sum(OrderLine.quantity))
                .join(Order, Order.id == OrderLine.order_id)
                .where(OrderLine.product_id.in_(products), Order.status.in_(SOLD_STATUSES))
                .group_by(OrderLine.product_id)):
            products[product_id].sales = int(sold or 0)
    variants = {}
    # Sorted here, not by SQL: ORDER BY position would lead SQLite away from the product_id index.
    rows = db.session.execute(select(Variant.id, Variant.product_id, Variant.price, Variant.stock, Variant.options,
                                     Variant.position).where(Variant.product_id.in_(products))).all()
    for row in sorted(rows, key=lambda r: (r.position, r.id)):
        variant = variants[row.id] = SimpleNamespace(price=row.price, stock=row.stock, options=row.options, tiers=[])
        products[row.product_id].variants.append(variant)
    if variants:
        for row in db.session.execute(select(PriceTier.variant_id, PriceTier.unit_price)
                                      .where(PriceTier.variant_id.in_(variants))):
            variants[row.variant_id].tiers.append(SimpleNamespace(unit_price=row.unit_price))
    return list(products.values())


def for_ids(analyser: Analyser, ids: Iterable[int]) -> tuple[list[SearchDocument], set[int]]:
    """Documents for the products of the current tenant with these ids, and the ids to remove."""
    wanted = set(ids)
    if not wanted:
        return [], set()
    paths = category_paths()
    types = product_types()
    documents = []
    for product in _load(sorted(wanted)):
        if is_searchable(product):
            documents.append(to_document(analyser, product, paths, types))
    return documents, wanted - {d.id for d in documents}


def all_documents(analyser: Analyser, progress=None, workers: int | None = None) -> Iterator[SearchDocument]:
    """Every searchable product of the current tenant, in batches; ``progress(n)`` after each batch.

    Analysing text is most of a reindex's work, so a large catalogue is analysed by ``workers`` forked
    processes (default: one per CPU from PARALLEL_FROM products on), while this process reads the next
    batches and the caller writes the index. Documents come out in id order either way.
    """
    paths = category_paths()
    types = product_types()
    ids = list(db.session.scalars(select(Product.id).where(Product.status == ProductStatus.active)
                                  .order_by(Product.id)))
    batches = [ids[start:start + BATCH] for start in range(0, len(ids), BATCH)]
    if workers is None:
        workers = (os.cpu_count() or 1) if len(ids) >= PARALLEL_FROM else 1
    if workers <= 1:
        for batch in batches:
            yield from (to_document(analyser, p, paths, types) for p in _load(batch) if is_searchable(p))
            if progress is not None:
                progress(len(batch))
        return
    global _forked
    _forked = (analyser, paths, types)  # inherited by the forked workers, never pickled
    in_flight: deque = deque()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for batch in batches:
            rows = [p for p in _load(batch) if is_searchable(p)]  # the database is read here, in this process
            in_flight.append((pool.apply_async(_analyse, (rows,)), len(batch)))
            while len(in_flight) > workers * 2:
                yield from _finished(in_flight.popleft(), progress)
        while in_flight:
            yield from _finished(in_flight.popleft(), progress)


#: From this many products on, ``all_documents`` analyses in parallel by default.
PARALLEL_FROM = 20_000
_forked: tuple | None = None


def _analyse(rows) -> list[SearchDocument]:
    analyser, paths, types = _forked
    return [to_document(analyser, row, paths, types) for row in rows]


def _finished(pending, progress) -> list[SearchDocument]:
    result, count = pending
    documents = result.get()
    if progress is not None:
        progress(count)
    return documents


def product_types() -> dict[str, packs.ProductType]:
    return {t.id: t for t in packs.all_product_types()}


def searchable_count() -> int:
    """Products on sale (an upper bound of the documents: suspended shops' goods are left out later)."""
    return db.session.scalar(select(func.count(Product.id)).where(Product.status == ProductStatus.active)) or 0


def to_document(analyser: Analyser, product: Product, paths: dict[int, list[Category]],
                types: dict[str, packs.ProductType] | None = None) -> SearchDocument:
    """The document of a product (an ORM object, or a row from ``_load`` with the same attributes)."""
    product_type = (types or product_types()).get(product.product_type)
    path = paths.get(product.category_id, [])
    attribute_text, facets = _attributes(product, product_type)
    variants = list(product.variants)
    prices = [v.price for v in variants]
    tier_prices = [t.unit_price for v in variants for t in v.tiers]
    option_values = [str(value) for v in variants for value in (v.options or {}).values() if value]
    for name in product_type.options if product_type else ():
        values = sorted({str(v.options.get(name)) for v in variants if (v.options or {}).get(name)})
        if values:
            facets[name] = values
    shop = product.shop
    shop_names = f"{shop.name_zh} {shop.name_en}"
    category_names = " ".join(f"{c.name_zh} {c.name_en}" for c in path)
    description = html_to_text(product.description)[:BODY_CHARACTERS]
    attrs = " ".join([attribute_text, " ".join(dict.fromkeys(option_values)),
                      product_type.label_zh + " " + product_type.label_en if product_type else ""])
    leaf = path[-1].name_zh if path else ""
    fields = {
        "title": " ".join(analyser.words(product.title)),
        "grams": " ".join(analyser.grams(product.title)),
        "pinyin": " ".join(analyser.pinyin(product.title)),
        "attrs": " ".join(analyser.words(attrs)),
        "shop": " ".join(analyser.words(shop_names) + analyser.pinyin(shop.name_zh)),
        "category": " ".join(analyser.words(category_names) + analyser.pinyin(leaf)),
        "body": " ".join(analyser.words(description)),
        # What suggestions match shop and category names by (not searched as fields of their own).
        "shop_words": " ".join(analyser.words(shop.name_zh) + analyser.grams(shop.name_zh)),
        "shop_pinyin": " ".join(analyser.pinyin(shop.name_zh)),
        "category_words": " ".join(analyser.words(leaf) + analyser.grams(leaf)),
        "category_pinyin": " ".join(analyser.pinyin(leaf)),
    }
    return SearchDocument(
        id=product.id,
        shop_id=product.shop_id,
        category_id=product.category_id,
        category_ids=[c.id for c in path] or [product.category_id],
        product_type=product.product_type,
        title=product.title,
        fields=fields,
        facets=facets,
        price_min=min(prices + tier_prices, default=0),
        price_max=max(prices, default=0),
        in_stock=any(v.stock >= max(product.moq, 1) for v in variants),
        published_at=product.published_at.timestamp() if product.published_at else 0.0,
        sales=getattr(product, "sales", 0),
        credit_score=getattr(shop, "credit_score", 0),
        credit_level=getattr(shop, "credit_level", NEW_SHOP),
        shop_name=shop.name_zh,
        category_name=leaf,
    )


def _attributes(product: Product, product_type: packs.ProductType | None) -> tuple[str, dict[str, list[str]]]:
    """Attribute values as searchable text (both languages' labels) and facet values by name."""
    words: list[str] = []
    facets: dict[str, list[str]] = {}
    values = product.attributes or {}
    if product_type is None:
        return " ".join(str(v) for v in values.values()), facets
    for attribute in product_type.attributes:
        value = values.get(attribute.name)
        if value is None or value == "":
            continue
        if attribute.type == packs.AttributeType.enum:
            choice = next((c for c in attribute.choices if c.value == value), None)
            words.extend([choice.label_zh, choice.label_en] if choice else [str(value)])
        elif attribute.type == packs.AttributeType.boolean:
            words.append(attribute.label_zh if value else "")
        elif attribute.unit in ("%", "‰"):
            words.append(f"{value}{attribute.unit}")
        else:
            words.append(f"{value}{attribute.unit}" if attribute.unit.isascii() else str(value))
        if attribute.facet:
            facets[attribute.name] = [facet_value(value)]
    formula = _formula(product_type, values)
    if formula:
        words.append(formula)
    return " ".join(w for w in words if w), facets


def facet_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()[:FACET_VALUE_CHARACTERS]


def _formula(product_type: packs.ProductType, values: dict) -> str:
    """A fertiliser's N-P₂O₅-K₂O formula (15-15-15), the way farmers search for it."""
    names = ("n_pct", "p2o5_pct", "k2o_pct")
    if not any(product_type.attribute(n) for n in names) or not any(n in values for n in names):
        return ""
    return "-".join(str(values.get(n, 0)) for n in names)
