"""Read helpers for the resident-facing catalog pages, and what those pages say about price and stock.

Every page loads in a fixed number of queries, whatever the size of the catalog: the rows a page shows come
in one query (the shop joined in), their variants, tiers and images in one ``selectin`` query each, and the
category tree is walked in SQL (recursive CTEs), never one parent at a time. Prices shown and sorted by are
worked out from the loaded rows with the catalog's own pricing rule (``catalog.pricing.unit_price``).

All queries run under the tenant guard: another tenant's rows are simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from marketplace.catalog import packs
from marketplace.catalog.builtin_packs.agri_inputs import FERTILISER, formula
from marketplace.catalog.models import (
    UNITS,
    Category,
    PriceTier,
    Product,
    ProductImage,
    ProductStatus,
    ShopLicence,
    Variant,
)
from marketplace.catalog.pricing import unit_price
from marketplace.catalog.services import LOW_STOCK
from marketplace.core.i18n import localised
from marketplace.core.views import Page
from marketplace.extensions import db
from marketplace.shops.models import Shop, ShopStatus

PAGE_SIZE = 24
SORTS = ("newest", "price_asc", "price_desc")
DEFAULT_SORT = "newest"


# -- loading ------------------------------------------------------------------------------------------------

def _with_offer_rows(query):
    """Eager loads for what a card or product page shows: variants with their tiers, and images."""
    return query.options(selectinload(Product.variants).selectinload(Variant.tiers), selectinload(Product.images))


def _on_sale():
    """Products a resident may see: active, in a shop that is open (the shop is joined and loaded)."""
    return (select(Product).join(Product.shop)
            .where(Product.status == ProductStatus.active, Shop.status == ShopStatus.active)
            .options(contains_eager(Product.shop)))


def product_for_page(product_id: int) -> Product | None:
    """An active product of the current tenant, with everything its page shows, or None."""
    query = _with_offer_rows(_on_sale().where(Product.id == product_id).options(joinedload(Product.category)))
    return db.session.scalars(query).unique().first()


def on_sale_by_ids(ids: list[int]) -> list[Product]:
    """Products on sale with these ids, in the order given (search hits), with what their cards show.

    Ids no longer on sale (the index lags a commit, or the shop was just suspended) are left out.
    """
    if not ids:
        return []
    found = {product.id: product for product in db.session.scalars(
        _with_offer_rows(_on_sale()).where(Product.id.in_(ids))).unique()}
    return [found[product_id] for product_id in ids if product_id in found]


def category_by_slug(slug: str) -> Category | None:
    return db.session.scalar(select(Category).where(Category.slug == slug))


def subcategories(category: Category) -> list[Category]:
    return list(db.session.scalars(select(Category).where(Category.parent_id == category.id)
                                   .order_by(Category.position, Category.id)))


def ancestors(category: Category) -> list[Category]:
    """The category's parents, the root first, in one query (none for a top-level category)."""
    if category.parent_id is None:
        return []
    chain = select(Category.id, Category.parent_id).where(Category.id == category.parent_id).cte(
        "ancestors", recursive=True)
    parent = aliased(Category)
    # UNION, not UNION ALL: should the tree ever loop, the walk still ends.
    chain = chain.union(select(parent.id, parent.parent_id).where(parent.id == chain.c.parent_id))
    found = {row.id: row for row in db.session.scalars(select(Category).join(chain, Category.id == chain.c.id))}
    path, next_id = [], category.parent_id
    while next_id in found and len(path) < len(found):
        path.append(found[next_id])
        next_id = found[next_id].parent_id
    return path[::-1]


def _subtree_ids(category: Category):
    """SELECT of the ids of a category and all its descendants (UNION, so a loop in the tree still ends)."""
    tree = select(Category.id).where(Category.id == category.id).cte("category_tree", recursive=True)
    child = aliased(Category)
    tree = tree.union(select(child.id).where(child.parent_id == tree.c.id))
    return select(tree.c.id)


def lowest_price_sql():
    """SQL for a product's lowest unit price: the cheapest variant price or wholesale tier, whichever is lower.

    The same number the cards show ("¥9.80 起"), so sorting by price agrees with what residents read.
    """
    base = (select(func.min(Variant.price)).where(Variant.product_id == Product.id)
            .correlate(Product).scalar_subquery())
    tier = (select(func.min(PriceTier.unit_price)).join(Variant, PriceTier.variant_id == Variant.id)
            .where(Variant.product_id == Product.id).correlate(Product).scalar_subquery())
    return case((tier < base, tier), else_=base)


#: A category or shop listing counts its products exactly up to this many pages past the page shown; beyond, it
#: says "2,400+".
COUNTED_PAGES_AHEAD = 100


def listing(*, category: Category | None = None, shop: Shop | None = None, sort: str = DEFAULT_SORT,
            page: int = 1, size: int = PAGE_SIZE) -> Page:
    """A page of products on sale: of a category and its descendants, and/or of one shop.

    Two queries (count, then the page with its shops) plus one each for variants, tiers and images.
    A page past the end comes back empty with ``out_of_range`` set, without loading anything.
    """
    conditions = []
    if category is not None:
        conditions.append(Product.category_id.in_(_subtree_ids(category)))
    if shop is not None:
        conditions.append(Product.shop_id == shop.id)
    # Counted only as far as the pages a resident may still click through to: counting a 100,000-product
    # category exactly would cost every render as much as the rest of the page, and its p95 would grow with it.
    counted = (page + COUNTED_PAGES_AHEAD) * size
    rows = (select(Product.id).join(Product.shop)
            .where(Product.status == ProductStatus.active, Shop.status == ShopStatus.active, *conditions)
            .limit(counted + 1))
    total = db.session.scalar(select(func.count()).select_from(rows.subquery())) or 0
    result = Page(items=[], number=page, total=min(total, counted), size=size, more=total > counted)
    if total == 0 or result.out_of_range:
        return result
    if sort == "price_asc":
        order = (lowest_price_sql().asc(), Product.id.desc())
    elif sort == "price_desc":
        order = (lowest_price_sql().desc(), Product.id.desc())
    else:  # newest listings first; published_at is set once, when a product first goes on sale
        order = (Product.published_at.desc().nulls_last(), Product.id.desc())
    query = _with_offer_rows(_on_sale().where(*conditions)).order_by(*order).limit(size).offset((page - 1) * size)
    result.items = list(db.session.scalars(query))
    return result


def verified_licences(shop: Shop, product_type: packs.ProductType | None) -> list[ShopLicence]:
    """The shop's verified licence for what this product type needs (none asked, none shown)."""
    if product_type is None or product_type.licence is None:
        return []
    return list(db.session.scalars(select(ShopLicence).where(
        ShopLicence.shop_id == shop.id, ShopLicence.kind == product_type.licence.kind,
        ShopLicence.verified_at.is_not(None))))


# -- what the pages say -------------------------------------------------------------------------------------

class StockState(StrEnum):
    in_stock = "in_stock"
    low = "low"
    sold_out = "sold_out"


STOCK_LABELS = {StockState.in_stock: _l("有货"), StockState.low: _l("库存紧张"), StockState.sold_out: _l("已售罄")}


def stock_state(stock: int, moq: int = 1) -> StockState:
    """What a resident is told about stock: never the exact number, except that little is left.

    Fewer units than the minimum order cannot be bought, so that reads as sold out too.
    """
    if stock <= 0 or stock < moq:
        return StockState.sold_out
    return StockState.low if stock <= LOW_STOCK else StockState.in_stock


@dataclass(frozen=True)
class TierRow:
    """A band of quantities with one unit price: ``low``–``high`` units (``high`` None: and more)."""

    low: int
    high: int | None
    unit_price: int


def tier_rows(variant: Variant, moq: int = 1) -> list[TierRow]:
    """The price table of a variant from the minimum order up, priced by ``catalog.pricing.unit_price``.

    Bands below the minimum order are left out, and neighbouring bands with the same price are merged.
    """
    start = max(1, moq)
    breaks = [start, *sorted(t.min_quantity for t in variant.tiers if t.min_quantity > start)]
    rows: list[TierRow] = []
    for index, low in enumerate(breaks):
        high = breaks[index + 1] - 1 if index + 1 < len(breaks) else None
        price, _source = unit_price(variant, low)
        if rows and rows[-1].unit_price == price:
            rows[-1] = TierRow(rows[-1].low, high, price)
        else:
            rows.append(TierRow(low, high, price))
    return rows


def unit_label(product: Product) -> str:
    return str(UNITS.get(product.unit, product.unit))


@dataclass
class Offer:
    """What a card or a product page says about a product's price and stock, from its loaded variants."""

    product: Product
    #: The lowest unit price anyone can get (tiers included), in fen.
    lowest: int
    #: True when every unit of every variant costs the same: then the price is shown plainly, not "from".
    single_price: bool
    compare_at: int | None
    tiered: bool
    #: The price table of the cheapest variant that has tiers (cards in the market theme).
    tiers: list[TierRow]
    stock: StockState
    image: ProductImage | None
    unit: str

    @property
    def stock_label(self) -> str:
        return str(STOCK_LABELS[self.stock])


def offer(product: Product) -> Offer:
    variants = list(product.variants)
    prices = [v.price for v in variants]
    tier_prices = [t.unit_price for v in variants for t in v.tiers]
    tiered_variants = sorted((v for v in variants if v.tiers), key=lambda v: (v.price, v.position))
    single = len(set(prices)) <= 1 and not tiered_variants
    compare_at = variants[0].compare_at_price if single and variants else None
    return Offer(
        product=product,
        lowest=min(prices + tier_prices, default=0),
        single_price=single,
        compare_at=compare_at,
        tiered=bool(tiered_variants),
        tiers=tier_rows(tiered_variants[0], product.moq) if tiered_variants else [],
        stock=stock_state(sum(v.stock for v in variants), product.moq),
        image=product.images[0] if product.images else None,
        unit=unit_label(product),
    )


def offers(products: list[Product]) -> list[Offer]:
    return [offer(product) for product in products]


@dataclass(frozen=True)
class AttributeRow:
    name: str
    label: str
    value: str


@dataclass
class VariantRow:
    variant: Variant
    options: list[tuple[str, str]]  # (label, value)
    stock: StockState
    tiers: list[TierRow]

    @property
    def stock_label(self) -> str:
        return str(STOCK_LABELS[self.stock])


@dataclass
class ProductDetails:
    """Everything the product page shows beyond the product row itself."""

    offer: Offer
    product_type: packs.ProductType | None
    attributes: list[AttributeRow]
    variants: list[VariantRow]
    breadcrumbs: list[Category]
    licences: list[ShopLicence] = field(default_factory=list)
    licence_label: str = ""

    @property
    def needs_licence(self) -> bool:
        return bool(self.product_type and self.product_type.licence)


def attribute_rows(product: Product, product_type: packs.ProductType | None) -> list[AttributeRow]:
    """The label table: each filled-in attribute with its label and unit, in the product type's order.

    Fertiliser also gets its N-P₂O₅-K₂O formula, the way the bag prints it.
    """
    values = product.attributes or {}
    if product_type is None:  # its pack is no longer installed: show what is stored, plainly
        return [AttributeRow(name, name, str(value)) for name, value in values.items() if value not in (None, "")]
    rows = []
    if product_type.id == FERTILISER.id and formula(values):
        rows.append(AttributeRow("formula", str(_l("养分配比（N-P₂O₅-K₂O）")), formula(values)))
    for attribute in product_type.attributes:
        shown = attribute.display(values.get(attribute.name))
        if shown:
            rows.append(AttributeRow(attribute.name, attribute.label(), shown))
    return rows


def variant_rows(product: Product, product_type: packs.ProductType | None) -> list[VariantRow]:
    labels = product_type.option_labels if product_type else {}
    rows = []
    for variant in product.variants:
        options = [(localised(*labels[name]) if name in labels else name, value)
                   for name, value in (variant.options or {}).items() if value]
        rows.append(VariantRow(variant, options, stock_state(variant.stock, product.moq),
                               tier_rows(variant, product.moq) if variant.tiers else []))
    return rows


def product_details(product: Product, *, today: date | None = None) -> ProductDetails:
    """The product page's content: a fixed number of extra queries (breadcrumbs, and the licence if needed)."""
    product_type = packs.product_type(product.product_type)
    licences = verified_licences(product.shop, product_type)
    today = today or date.today()
    return ProductDetails(
        offer=offer(product),
        product_type=product_type,
        attributes=attribute_rows(product, product_type),
        variants=variant_rows(product, product_type),
        breadcrumbs=[*ancestors(product.category), product.category],
        licences=[licence for licence in licences if licence.is_valid(today)],
        licence_label=product_type.licence.label() if product_type and product_type.licence else "",
    )
