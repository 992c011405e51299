"""What the API needs beyond the catalog's own services: the public catalog as clients page through it, input
from JSON turned into the catalog's input dataclasses, and stock set for many SKUs at once.

Everything works on the current tenant (the guard filters by it) and flushes; the caller commits.
"""

from __future__ import annotations

import hashlib

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from marketplace.api import paging
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category, Product, ProductStatus, Variant
from marketplace.catalog.services import CatalogError, ProductInput, VariantInput
from marketplace.extensions import db
from marketplace.search import indexing as search_indexing
from marketplace.shops.models import Shop, ShopStatus
from marketplace.storefront.queries import lowest_price_sql

#: Stock is an ``Integer`` column: PostgreSQL's int4 bounds it.
MAX_STOCK = 2_147_483_647


# -- public reads ---------------------------------------------------------------------------------------------

def _public_products():
    """Active products of active shops, with what a listing shows loaded up front (a fixed number of queries)."""
    return (select(Product).join(Shop, Shop.id == Product.shop_id)
            .where(Product.status == ProductStatus.active, Shop.status == ShopStatus.active))


def category_tree() -> list[dict]:
    """The current tenant's categories as nested dicts (``children`` in position order), from one query."""
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.id)).all()
    nodes = {c.id: {"id": c.id, "slug": c.slug, "name": c.name(), "name_zh": c.name_zh, "name_en": c.name_en,
                    "product_type": c.product_type, "children": []} for c in categories}
    roots = []
    for category in categories:
        parent = nodes.get(category.parent_id)
        (parent["children"] if parent is not None else roots).append(nodes[category.id])
    return roots


def _with_descendants(category: Category) -> list[int]:
    children: dict[int | None, list[int]] = {}
    for category_id, parent_id in db.session.execute(select(Category.id, Category.parent_id)):
        children.setdefault(parent_id, []).append(category_id)
    found, pending = [], [category.id]
    while pending:
        current = pending.pop()
        if current not in found:  # a cycle in hand-edited data must not loop forever
            found.append(current)
            pending.extend(children.get(current, []))
    return found


#: The product list's orders (``sort``), each with its keys for cursor pagination; ties newest (highest id) first.
PRODUCT_ORDERINGS = {
    "newest": paging.Ordering("products:newest", (paging.Key(Product.published_at), paging.Key(Product.id))),
    "price": paging.Ordering("products:price", (paging.Key(lowest_price_sql(), descending=False),
                                                paging.Key(Product.id))),
    "-price": paging.Ordering("products:-price", (paging.Key(lowest_price_sql()), paging.Key(Product.id))),
}


def active_products(*, category_slug: str | None = None, shop_slug: str | None = None, sort: str = "newest",
                    limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None) -> dict | None:
    """One page of the current tenant's products on sale (``items``, ``next_cursor``, ``total``), in the order
    ``sort`` names; None when a filter names nothing."""
    query = _public_products()
    if category_slug:
        category = db.session.scalar(select(Category).where(Category.slug == category_slug))
        if category is None:
            return None
        query = query.where(Product.category_id.in_(_with_descendants(category)))
    if shop_slug:
        query = query.where(Shop.slug == shop_slug)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = paging.keyset_page(
        query.options(selectinload(Product.shop), selectinload(Product.category), selectinload(Product.variants),
                      selectinload(Product.images)),
        PRODUCT_ORDERINGS[sort], limit=limit, cursor=cursor)
    return {**page, "total": total}


def active_product(product_id: int) -> Product | None:
    """A product on sale in the current tenant, with variants, tiers and images; drafts and others' are None."""
    return db.session.scalar(
        _public_products().where(Product.id == product_id)
        .options(selectinload(Product.shop), selectinload(Product.category),
                 selectinload(Product.variants).selectinload(Variant.tiers), selectinload(Product.images))
    )


#: Shops in the order a visitor walks them (as ``shops.shops_of_current_tenant``: building, floor, zone, street
#: side, position, stall), with the places a shop may lack sorted first on every database.
SHOP_ORDERING = paging.Ordering("shops:place", tuple(paging.Key(column, descending=False) for column in (
    Shop.building, func.coalesce(Shop.floor, -paging.INT_BOUND), Shop.zone, Shop.street_side,
    func.coalesce(Shop.map_x, -1e12), Shop.stall, Shop.id)))


def active_shops(*, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None) -> dict:
    """One page of the current tenant's open shops (``items``, ``next_cursor``)."""
    query = select(Shop).where(Shop.status == ShopStatus.active).options(selectinload(Shop.category))
    return paging.keyset_page(query, SHOP_ORDERING, limit=limit, cursor=cursor)


# -- merchant writes ------------------------------------------------------------------------------------------

def _category(text: str) -> Category:
    category = catalog.category_by_slug_or_name(text)
    if category is None:
        raise CatalogError(_("找不到分类“%(category)s”。", category=text), "category")
    return category


def _variant_inputs(items: list[dict]) -> list[VariantInput]:
    return [VariantInput(sku=item["sku"].strip(), price=item["price"], stock=item.get("stock", 0),
                         options=dict(item.get("options") or {}), compare_at_price=item.get("compare_at_price"),
                         weight_g=item.get("weight_g"), barcode=(item.get("barcode") or "").strip(),
                         tiers=[(t["min_quantity"], t["unit_price"]) for t in item.get("tiers") or []])
            for item in items]


def _current_variants(product: Product) -> list[VariantInput]:
    return [VariantInput(sku=v.sku, price=v.price, stock=v.stock, options=dict(v.options or {}),
                         compare_at_price=v.compare_at_price, weight_g=v.weight_g, barcode=v.barcode,
                         tiers=[(t.min_quantity, t.unit_price) for t in v.tiers])
            for v in product.variants]


def create_product(shop: Shop, data: dict) -> Product:
    """A new product from a validated request body (``schemas.ProductIn``); published when it asks."""
    product_input = ProductInput(
        category=_category(data["category"]), title=data["title"], variants=_variant_inputs(data["variants"]),
        description=data.get("description", ""), unit=data.get("unit", "piece"), moq=data.get("moq", 1),
        attributes={k: v for k, v in (data.get("attributes") or {}).items() if v is not None},
    )
    return catalog.create_product(shop, product_input, publish=bool(data.get("publish")))


def update_product(product: Product, data: dict) -> Product:
    """Change the fields a PATCH body names (``schemas.ProductPatch``); attributes merge, null clears one."""
    attributes = dict(product.attributes or {})
    for name, value in (data.get("attributes") or {}).items():
        if value is None:
            attributes.pop(name, None)
        else:
            attributes[name] = value
    product_input = ProductInput(
        category=_category(data["category"]) if "category" in data else product.category,
        title=data.get("title", product.title),
        variants=_variant_inputs(data["variants"]) if "variants" in data else _current_variants(product),
        description=data.get("description", product.description), unit=data.get("unit", product.unit),
        moq=data.get("moq", product.moq), attributes=attributes,
    )
    return catalog.update_product(product, product_input)


class VersionConflict(Exception):
    """Some items of a stock change named a version their variant no longer has (``problems`` by
    ``items.<index>.expected_version``); nothing was changed."""

    def __init__(self, message: str, problems: dict[str, str]):
        super().__init__(message)
        self.problems = problems


def product_etag(product: Product) -> str:
    """The product's strong entity tag: its version and every variant's (stock and prices), hashed. It changes
    whenever the product is changed through the catalog services, or a variant's stock or prices change."""
    parts = [f"{product.id}:{product.version}"] + [f"{v.id}:{v.version}" for v in sorted(product.variants,
                                                                                       key=lambda v: v.id or 0)]
    return '"' + hashlib.sha256(";".join(parts).encode()).hexdigest()[:32] + '"'


def lock_product(product: Product) -> None:
    """Lock the product's row until the transaction ends (PostgreSQL; SQLite's writers queue anyway), and read
    its and its variants' versions as they are now, so an If-Match check cannot pass on what was just changed."""
    db.session.execute(select(Product.id).where(Product.id == product.id).with_for_update())
    db.session.refresh(product, ["version"])
    # The variants as they are now, in one query (one removed meanwhile drops out of the product's list).
    db.session.scalars(select(Variant).where(Variant.product_id == product.id)
                       .execution_options(populate_existing=True)).all()
    db.session.expire(product, ["variants"])


def set_stock(shop: Shop, items: list[dict]) -> list[tuple[str, int, int]]:
    """Set or adjust the stock of many SKUs of ``shop`` at once: every change is made, or none; returns each SKU's
    new (sku, stock, version).

    ``items`` are ``{"sku", "stock"}`` (set) or ``{"sku", "adjust"}`` (add, or take when negative), each with an
    optional ``expected_version``: when the variant's version differs (its stock or prices changed since the client
    read it), the whole request is refused with ``VersionConflict``. Every other problem is reported at once, by
    ``items.<index>.<field>``. The changes are conditional updates, so an
    order taking stock at the same moment can never drive it below zero; the caller rolls back on refusal.
    """
    skus = [item["sku"] for item in items]
    variants = {v.sku: v for v in db.session.scalars(
        select(Variant).where(Variant.shop_id == shop.id, Variant.sku.in_(set(skus))))}
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for index, item in enumerate(items):
        sku = item["sku"]
        variant = variants.get(sku)
        if sku in seen:
            problems[f"items.{index}.sku"] = _("SKU %(sku)s 在本次请求中出现了两次。", sku=sku)
        elif variant is None:
            problems[f"items.{index}.sku"] = _("本店没有 SKU %(sku)s。", sku=sku)
        elif "adjust" in item and not 0 <= variant.stock + item["adjust"] <= MAX_STOCK:
            problems[f"items.{index}.adjust"] = _("SKU %(sku)s 现有库存 %(stock)d，无法调整 %(delta)d。",
                                                  sku=sku, stock=variant.stock, delta=item["adjust"])
        seen.add(sku)
    if problems:
        raise CatalogError(next(iter(problems.values())), next(iter(problems)), problems)
    stale = {f"items.{index}.expected_version": _("SKU %(sku)s 现在的版本是 %(version)d。", sku=item["sku"],
                                                 version=variants[item["sku"]].version)
             for index, item in enumerate(items)
             if item.get("expected_version") is not None and variants[item["sku"]].version != item["expected_version"]}
    if stale:
        raise VersionConflict(_("库存或价格在读取之后已有变化，整个请求都没有执行；请重新读取后再试。"), stale)
    levels = []
    for index, item in enumerate(items):
        variant = variants[item["sku"]]
        if "stock" in item:
            statement = (update(Variant).where(Variant.id == variant.id)
                         .values(stock=item["stock"], version=Variant.version + 1))
        else:
            delta = item["adjust"]
            statement = (update(Variant)
                         .where(Variant.id == variant.id, Variant.stock + delta >= 0, Variant.stock + delta <= MAX_STOCK)
                         .values(stock=Variant.stock + delta, version=Variant.version + 1))
        if item.get("expected_version") is not None:  # checked again in the write itself: nothing slips in between
            statement = statement.where(Variant.version == item["expected_version"])
        if db.session.execute(statement.execution_options(synchronize_session=False)).rowcount != 1:
            if item.get("expected_version") is not None:
                message = _("SKU %(sku)s 的库存刚刚发生变化，请重新读取后再试。", sku=item["sku"])
                raise VersionConflict(message, {f"items.{index}.expected_version": message})
            # Stock moved between our read and this update (an order came in): refuse the whole batch.
            message = _("SKU %(sku)s 的库存刚刚发生变化，请重新读取后再试。", sku=item["sku"])
            raise CatalogError(message, f"items.{index}.adjust", {f"items.{index}.adjust": message})
        db.session.refresh(variant, ["stock", "version"])
        levels.append((variant.sku, variant.stock, variant.version))
    # Bulk SQL: the session saw no change, so say which products the search index must look at again.
    search_indexing.touch(shop.tenant_id, "product", {v.product_id for v in variants.values()})
    return levels
