"""What the API needs beyond the catalog's own services: the public catalog as clients page through it, input
from JSON turned into the catalog's input dataclasses, and stock set for many SKUs at once.

Everything works on the current tenant (the guard filters by it) and flushes; the caller commits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category, Product, ProductStatus, Variant
from marketplace.catalog.services import CatalogError, ProductInput, VariantInput
from marketplace.extensions import db
from marketplace.search import indexing as search_indexing
from marketplace.shops.models import Shop, ShopStatus

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


@dataclass
class ProductPage:
    items: list[Product]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.page_size) if self.total else 0


def active_products(*, category_slug: str | None = None, shop_slug: str | None = None, page: int = 1,
                    page_size: int = 20) -> ProductPage | None:
    """One page of the current tenant's products on sale, newest first; None when a filter names nothing."""
    query = _public_products()
    if category_slug:
        category = db.session.scalar(select(Category).where(Category.slug == category_slug))
        if category is None:
            return None
        query = query.where(Product.category_id.in_(_with_descendants(category)))
    if shop_slug:
        query = query.where(Shop.slug == shop_slug)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(
        query.options(selectinload(Product.shop), selectinload(Product.category), selectinload(Product.variants),
                      selectinload(Product.images))
        .order_by(Product.published_at.desc(), Product.id.desc())
        .limit(page_size).offset((page - 1) * page_size)
    ).all()
    return ProductPage(list(items), page, page_size, total)


def active_product(product_id: int) -> Product | None:
    """A product on sale in the current tenant, with variants, tiers and images; drafts and others' are None."""
    return db.session.scalar(
        _public_products().where(Product.id == product_id)
        .options(selectinload(Product.shop), selectinload(Product.category),
                 selectinload(Product.variants).selectinload(Variant.tiers), selectinload(Product.images))
    )


def active_shops() -> list[Shop]:
    from marketplace.shops import services as shops

    return shops.shops_of_current_tenant()


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


def set_stock(shop: Shop, items: list[dict]) -> list[tuple[str, int]]:
    """Set or adjust the stock of many SKUs of ``shop`` at once: every change is made, or none.

    ``items`` are ``{"sku", "stock"}`` (set) or ``{"sku", "adjust"}`` (add, or take when negative). Every
    problem is reported at once, by ``items.<index>.<field>``. The changes are conditional updates, so an
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
    levels = []
    for index, item in enumerate(items):
        variant = variants[item["sku"]]
        if "stock" in item:
            statement = update(Variant).where(Variant.id == variant.id).values(stock=item["stock"])
        else:
            delta = item["adjust"]
            statement = (update(Variant)
                         .where(Variant.id == variant.id, Variant.stock + delta >= 0, Variant.stock + delta <= MAX_STOCK)
                         .values(stock=Variant.stock + delta))
        if db.session.execute(statement.execution_options(synchronize_session=False)).rowcount != 1:
            # Stock moved between our read and this update (an order came in): refuse the whole batch.
            message = _("SKU %(sku)s 的库存刚刚发生变化，请重新读取后再试。", sku=item["sku"])
            raise CatalogError(message, f"items.{index}.adjust", {f"items.{index}.adjust": message})
        db.session.refresh(variant, ["stock"])
        levels.append((variant.sku, variant.stock))
    # Bulk SQL: the session saw no change, so say which products the search index must look at again.
    search_indexing.touch(shop.tenant_id, "product", {v.product_id for v in variants.values()})
    return levels
