"""Catalog use cases: products with typed attributes, variants, wholesale tiers, publishing, stock, quotes.

Every function works on the current tenant (the guard filters by it) and flushes; the caller commits.
Refusals are ``CatalogError`` with a message for the merchant and, where it concerns one field, its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from marketplace.catalog import packs
from marketplace.catalog.models import (
    UNITS,
    Category,
    PriceTier,
    Product,
    ProductImage,
    ProductStatus,
    Quote,
    QuoteStatus,
    ShopLicence,
    Variant,
)
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.search import indexing as search_indexing

SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
BARCODE = re.compile(r"\d{8}|\d{12,14}")
LOW_STOCK = 5


#: ``CatalogError.code`` when the shop's merchant holds no valid platform approval (never, rejected or expired).
MERCHANT_NOT_APPROVED = "merchant_not_approved"


class CatalogError(ValueError):
    def __init__(self, message: str, field: str | None = None, problems: dict[str, str] | None = None, *,
                 code: str = "validation_failed"):
        super().__init__(message)
        self.field = field
        #: Every problem found, by field name, when there were several.
        self.problems = problems or ({field: message} if field else {"": message})
        #: A stable, machine-readable reason (the API's problem ``code``).
        self.code = code


@dataclass
class VariantInput:
    sku: str
    price: int  # fen
    stock: int = 0
    options: dict[str, str] = field(default_factory=dict)
    compare_at_price: int | None = None
    weight_g: int | None = None
    barcode: str = ""
    #: (minimum quantity, unit price in fen), e.g. [(10, 1050), (100, 980)].
    tiers: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class ProductInput:
    category: Category
    title: str
    variants: list[VariantInput]
    description: str = ""
    unit: str = "piece"
    moq: int = 1
    attributes: dict = field(default_factory=dict)


# -- reading ------------------------------------------------------------------------------------------------

def category_by_slug_or_name(text: str) -> Category | None:
    text = (text or "").strip()
    return db.session.scalar(select(Category).where((Category.slug == text) | (Category.name_zh == text)).limit(1))


def product_of_shop(shop, product_id: int) -> Product | None:
    """A product of this shop (of the current tenant), or None — another shop's product is not found."""
    return db.session.scalar(select(Product).where(Product.id == product_id, Product.shop_id == shop.id))


def shop_products(shop, *, status: str | None = None, category_id: int | None = None,
                  low_stock: bool = False) -> list[Product]:
    """The merchant console's list: one shop's products with their variants, newest first."""
    query = (select(Product).where(Product.shop_id == shop.id)
             .options(selectinload(Product.variants), selectinload(Product.category),
                      selectinload(Product.images)).order_by(Product.id.desc()))
    if status:
        query = query.where(Product.status == status)
    if category_id:
        query = query.where(Product.category_id == category_id)
    if low_stock:
        query = query.where(Product.id.in_(select(Variant.product_id).where(Variant.stock <= LOW_STOCK)))
    return list(db.session.scalars(query))


def variant_by_sku(shop, sku: str) -> Variant | None:
    return db.session.scalar(select(Variant).where(Variant.shop_id == shop.id, Variant.sku == sku))


# -- writing ------------------------------------------------------------------------------------------------

def _check_product(shop, data: ProductInput, *, publishing: bool) -> tuple[packs.ProductType, dict]:
    problems: dict[str, str] = {}
    title = (data.title or "").strip()
    if not title:
        problems["title"] = _("请填写商品名称。")
    elif len(title) > 200:
        problems["title"] = _("商品名称最多 200 个字。")
    if data.category is None:
        raise CatalogError(_("请选择分类。"), "category")
    product_type = packs.product_type(data.category.product_type or "general.goods")
    if product_type is None:
        raise CatalogError(_("分类“%(category)s”的商品类型 %(type)s 未安装。", category=data.category.name_zh,
                             type=data.category.product_type), "category")
    if data.unit not in UNITS:
        problems["unit"] = _("不支持的计量单位：%(unit)s。", unit=data.unit)
    if not isinstance(data.moq, int) or data.moq < 1:
        problems["moq"] = _("起订量至少为 1。")
    values, attribute_problems = product_type.clean(data.attributes, title=title, require_complete=publishing)
    problems.update({("title" if k == "title" else f"attr.{k}"): v for k, v in attribute_problems.items()})
    if not data.variants:
        problems["variants"] = _("至少需要一个规格（SKU）。")
    seen = set()
    for index, variant in enumerate(data.variants):
        for name, message in _variant_problems(shop, variant).items():
            problems.setdefault(f"variants.{index}.{name}", message)
        if variant.sku in seen:
            problems[f"variants.{index}.sku"] = _("SKU %(sku)s 重复。", sku=variant.sku)
        seen.add(variant.sku)
    if problems:
        first = next(iter(problems.values()))
        raise CatalogError(first, next(iter(problems)), problems)
    return product_type, values


def _variant_problems(shop, variant: VariantInput) -> dict[str, str]:
    problems = {}
    if not SKU.fullmatch(variant.sku or ""):
        problems["sku"] = _("SKU 只能包含字母、数字和 . _ / -，最多 64 个字符。")
    if not isinstance(variant.price, int) or variant.price < 0:
        problems["price"] = _("价格不能为负。")
    if variant.compare_at_price is not None and variant.compare_at_price <= variant.price:
        problems["compare_at_price"] = _("原价应高于售价。")
    if not isinstance(variant.stock, int) or variant.stock < 0:
        problems["stock"] = _("库存不能为负。")
    if variant.weight_g is not None and variant.weight_g < 0:
        problems["weight_g"] = _("重量不能为负。")
    if variant.barcode and not BARCODE.fullmatch(variant.barcode):
        problems["barcode"] = _("条码应为 8、12、13 或 14 位数字。")
    previous_quantity, previous_price = 1, variant.price
    for min_quantity, price in sorted(variant.tiers):
        if min_quantity <= previous_quantity or min_quantity < 2:
            problems["tiers"] = _("阶梯价的起始数量须从 2 起且逐级增加。")
        elif price >= previous_price:
            problems["tiers"] = _("买得越多单价应越低：%(n)d 件起的单价须低于上一档。", n=min_quantity)
        previous_quantity, previous_price = min_quantity, price
    return problems


def create_product(shop, data: ProductInput, *, publish: bool = False) -> Product:
    """A new product of ``shop`` (draft unless ``publish``); attributes checked against its product type."""
    product_type, values = _check_product(shop, data, publishing=publish)
    taken = db.session.scalars(select(Variant.sku).where(Variant.shop_id == shop.id,
                                                         Variant.sku.in_([v.sku for v in data.variants]))).all()
    if taken:
        raise CatalogError(_("SKU 已被本店其他商品使用：%(skus)s。", skus="、".join(taken)), "variants")
    product = Product(shop_id=shop.id, category_id=data.category.id, product_type=product_type.id,
                      title=data.title.strip(), description=data.description or "", unit=data.unit, moq=data.moq,
                      attributes=values, status=ProductStatus.draft)
    db.session.add(product)
    _replace_variants(product, data.variants, existing={})  # one flush for the product, variants and tiers
    if publish:
        publish_product(product)
    return product


def update_product(product: Product, data: ProductInput) -> Product:
    """Change a product; variants are matched by SKU (new ones added, missing ones removed)."""
    publishing = product.status == ProductStatus.active
    product_type, values = _check_product(product.shop, data, publishing=publishing)
    own_ids = {v.id for v in product.variants}
    clash = db.session.scalars(select(Variant.sku).where(
        Variant.shop_id == product.shop_id, Variant.sku.in_([v.sku for v in data.variants]),
        Variant.id.not_in(own_ids) if own_ids else True)).all()
    if clash:
        raise CatalogError(_("SKU 已被本店其他商品使用：%(skus)s。", skus="、".join(clash)), "variants")
    product.category_id = data.category.id
    product.product_type = product_type.id
    product.title = data.title.strip()
    product.description = data.description or ""
    product.unit, product.moq, product.attributes = data.unit, data.moq, values
    product.version = Product.version + 1  # in SQL: a concurrent bump is not lost
    _replace_variants(product, data.variants)
    if publishing:
        check_publishable(product)
    db.session.flush()
    return product


def _replace_variants(product: Product, inputs: list[VariantInput], *, existing: dict | None = None) -> None:
    """Match variants by SKU: update those that exist, add new ones, drop the rest. Flushes once at the end."""
    existing = {v.sku: v for v in product.variants} if existing is None else existing
    kept = []
    for position, data in enumerate(inputs):
        variant = existing.get(data.sku)
        if variant is None:
            variant = Variant(shop_id=product.shop_id, sku=data.sku,
                              tiers=[PriceTier(min_quantity=q, unit_price=p) for q, p in sorted(data.tiers)])
        else:
            before = (variant.price, variant.compare_at_price, variant.stock,
                      sorted((t.min_quantity, t.unit_price) for t in variant.tiers))
            if before != (data.price, data.compare_at_price, data.stock, sorted(data.tiers)):
                variant.version = Variant.version + 1  # in SQL (not lost to a concurrent sale); see Variant.version
            _replace_tiers(variant, data.tiers)
        variant.options = {k: str(v).strip() for k, v in data.options.items() if str(v).strip()}
        variant.price, variant.compare_at_price = data.price, data.compare_at_price
        variant.stock, variant.weight_g, variant.barcode = data.stock, data.weight_g, data.barcode
        variant.position = position
        kept.append(variant)
    dropped = [v.id for v in existing.values() if v not in kept and v.id is not None]
    if dropped:
        quoted = db.session.execute(select(Variant.sku, Quote.status).join(Quote, Quote.variant_id == Variant.id).where(
            Variant.id.in_(dropped), Quote.status.in_([QuoteStatus.requested, QuoteStatus.answered,
                                                       QuoteStatus.accepted, QuoteStatus.ordered]))).all()
        still_open = sorted({sku for sku, status in quoted if status != QuoteStatus.ordered})
        if still_open:
            raise CatalogError(_("规格 %(skus)s 还有未结束的询价，不能删除；可以把库存设为 0。",
                                 skus="、".join(still_open)), "variants")
        # A quote that priced an order is part of that order's record, kept for the legal period (ECL Art. 31);
        # deleting the variant would take it along (quotes.variant_id cascades).
        priced_orders = sorted({sku for sku, _status in quoted})
        if priced_orders:
            raise CatalogError(_("规格 %(skus)s 的报价已用于订单，须随订单记录保存，不能删除；可以把库存设为 0。",
                                 skus="、".join(priced_orders)), "variants")
    product.variants = kept
    db.session.flush()


def _replace_tiers(variant: Variant, tiers: list[tuple[int, int]]) -> None:
    """Update tiers in place by minimum quantity, so an unchanged tier never collides with itself."""
    wanted = dict(tiers)
    for tier in list(variant.tiers):
        if tier.min_quantity in wanted:
            tier.unit_price = wanted.pop(tier.min_quantity)
        else:
            variant.tiers.remove(tier)
    db.session.flush()  # deletions first: the unique (variant, min_quantity) must hold at every step
    variant.tiers.extend(PriceTier(min_quantity=q, unit_price=p) for q, p in sorted(wanted.items()))
    variant.tiers.sort(key=lambda tier: tier.min_quantity)


def missing_licence(shop, product_type: packs.ProductType, today: date | None = None) -> packs.Licence | None:
    """The licence this shop lacks for this product type (none on file, not verified, or expired), if any."""
    if product_type.licence is None:
        return None
    licence = db.session.scalar(select(ShopLicence).where(ShopLicence.shop_id == shop.id,
                                                          ShopLicence.kind == product_type.licence.kind))
    if today is None:  # the shop's own calendar: a licence runs out at the tenant's midnight
        today = datetime.now(ZoneInfo(shop.tenant.timezone)).date()
    if licence is None or not licence.is_valid(today):
        return product_type.licence
    return None


def check_publishable(product: Product) -> None:
    """Refuse publishing with every reason: incomplete attributes, a missing licence, no stockable variant."""
    product_type = packs.product_type(product.product_type)
    if product_type is None:
        raise CatalogError(_("商品类型 %(type)s 未安装，暂不能上架。", type=product.product_type), "category")
    _values, problems = product_type.clean(product.attributes, title=product.title, require_complete=True)
    problems = {f"attr.{k}" if k not in ("title", "") else k: v for k, v in problems.items()}
    licence = missing_licence(product.shop, product_type)
    if licence is not None:
        problems["licence"] = _("发布“%(type)s”类商品需要本店的%(licence)s已上传并经运营方核验且在有效期内。",
                                type=product_type.label(), licence=licence.label())
    if not product.variants:
        problems["variants"] = _("至少需要一个规格（SKU）。")
    if problems:
        raise CatalogError(next(iter(problems.values())), next(iter(problems)), problems)


def approval_problem(shop, now: datetime | None = None) -> str | None:
    """Why ``shop`` may not put products on sale at ``now``: its merchant was never approved by the platform, was
    rejected, or its approval (six months) has expired. None when the approval holds."""
    from marketplace.trust import verification  # trust builds on the catalog: imported when first needed

    approval = verification.approval_for(shop.merchant)
    status = verification.effective_status(approval, now)
    if status == verification.ApprovalStatus.approved:
        return None
    if status == verification.ApprovalStatus.expired:
        return _("商户资质审核已于%(date)s到期，请重新提交审核；通过前不能上架新商品，已在售的商品不受影响。",
                 date=approval.valid_until.strftime("%Y-%m-%d"))
    if status == verification.ApprovalStatus.rejected:
        return _("商户资质审核未通过，不能上架商品；可以先保存为草稿，修改资料后重新提交审核。")
    return _("商户资质尚未通过平台审核，审核通过后才能上架商品；可以先保存为草稿。")


def publish_product(product: Product, *, now: datetime | None = None) -> None:
    """Put ``product`` on sale: the only place a product becomes active.

    Refused (``CatalogError`` with ``code`` ``merchant_not_approved``, field ``merchant``) unless the shop's
    merchant holds a platform approval valid at ``now`` (E-Commerce Law Art. 27); the product's own problems
    (``check_publishable``) are listed with it. A product already on sale stays on sale: an approval that
    expires asks for re-verification, it does not take the shop offline.
    """
    refusal = None if product.is_active else approval_problem(product.shop, now)
    try:
        check_publishable(product)
    except CatalogError as error:
        if refusal is None:
            raise
        raise CatalogError(refusal, "merchant", {"merchant": refusal, **error.problems},
                           code=MERCHANT_NOT_APPROVED) from None
    if refusal is not None:
        raise CatalogError(refusal, "merchant", code=MERCHANT_NOT_APPROVED)
    product.status = ProductStatus.active
    product.published_at = product.published_at or utcnow()
    product.version = Product.version + 1  # in SQL: a concurrent bump is not lost
    db.session.flush()


def unpublish_product(product: Product, *, archive: bool = False) -> None:
    product.status = ProductStatus.archived if archive else ProductStatus.draft
    product.version = Product.version + 1  # in SQL: a concurrent bump is not lost
    db.session.flush()


def adjust_stock(variant: Variant, delta: int) -> int:
    """Add (or with a negative delta take) stock in one conditional update; never below zero."""
    result = db.session.execute(
        update(Variant).where(Variant.id == variant.id, Variant.stock + delta >= 0)
        .values(stock=Variant.stock + delta, version=Variant.version + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise CatalogError(_("库存不足，无法减少 %(n)d。", n=-delta), "stock")
    db.session.refresh(variant, ["stock", "version"])
    search_indexing.touch(variant.tenant_id, "product", [variant.product_id])  # bulk SQL: the session saw nothing
    return variant.stock


def unpublish_gated_products(shop, licence_kind: str) -> int:
    """When a licence lapses: take the shop's products that need it offline; returns how many."""
    gated = [t.id for t in packs.all_product_types() if t.licence and t.licence.kind == licence_kind]
    if not gated:
        return 0
    result = db.session.execute(
        update(Product).where(Product.shop_id == shop.id, Product.product_type.in_(gated),
                              Product.status == ProductStatus.active)
        .values(status=ProductStatus.draft, version=Product.version + 1).execution_options(synchronize_session=False))
    search_indexing.touch(shop.tenant_id, "shop", [shop.id])
    return result.rowcount


def unpublish_shop_products(shop) -> int:
    """When the platform rejects the shop's merchant: every product on sale goes back to draft; returns how many."""
    result = db.session.execute(
        update(Product).where(Product.shop_id == shop.id, Product.status == ProductStatus.active)
        .values(status=ProductStatus.draft, version=Product.version + 1).execution_options(synchronize_session=False))
    search_indexing.touch(shop.tenant_id, "shop", [shop.id])
    return result.rowcount


# -- licences (until merchant verification arrives with the trust domain) -------------------------------------

def record_licence(shop, kind: str, number: str, expires_on: date | None) -> ShopLicence:
    """The merchant files a licence; it needs an operator's verification before it opens gated categories."""
    number = (number or "").strip()
    if not number:
        raise CatalogError(_("请填写许可证编号。"), "number")
    licence = db.session.scalar(select(ShopLicence).where(ShopLicence.shop_id == shop.id, ShopLicence.kind == kind))
    if licence is None:
        licence = ShopLicence(shop_id=shop.id, kind=kind, number=number)
        db.session.add(licence)
    elif licence.number != number or licence.expires_on != expires_on:
        licence.verified_at, licence.verified_by_id = None, None  # a changed licence is checked again
    licence.number, licence.expires_on = number, expires_on
    db.session.flush()
    return licence


def verify_licence(licence: ShopLicence, operator) -> None:
    licence.verified_at, licence.verified_by_id = utcnow(), operator.id
    db.session.flush()


# -- requests for quotation -----------------------------------------------------------------------------------

def request_quote(buyer, variant: Variant, quantity: int, *, target_unit_price: int | None = None,
                  message: str = "") -> Quote:
    shop = variant.product.shop
    if not shop.accepts_quotes or not variant.product.is_active:
        raise CatalogError(_("该店铺暂不接受询价。"))
    if not isinstance(quantity, int) or quantity < 1:
        raise CatalogError(_("数量至少为 1。"), "quantity")
    product = variant.product
    if quantity < product.moq:
        raise CatalogError(_("该商品 %(n)d %(unit)s起订。", n=product.moq, unit=UNITS.get(product.unit, "")),
                           "quantity")
    quote = Quote(shop_id=shop.id, variant_id=variant.id, buyer_id=buyer.id, quantity=quantity,
                  target_unit_price=target_unit_price, message=(message or "").strip()[:2000])
    db.session.add(quote)
    db.session.flush()
    return quote


def answer_quote(quote: Quote, unit_price: int, valid_until: date, *, reply: str = "",
                 today: date | None = None) -> None:
    if quote.status not in (QuoteStatus.requested, QuoteStatus.answered):
        raise CatalogError(_("该询价已结束。"))
    if valid_until < (today or date.today()):
        raise CatalogError(_("报价有效期不能早于今天。"), "valid_until")
    if unit_price < 0:
        raise CatalogError(_("价格不能为负。"), "unit_price")
    quote.quoted_unit_price, quote.valid_until, quote.reply = unit_price, valid_until, (reply or "").strip()[:2000]
    quote.status = QuoteStatus.answered
    db.session.flush()


def accept_quote(quote: Quote, buyer, today: date | None = None) -> None:
    """The buyer takes the price; the cart will add it as a line at that price."""
    if quote.buyer_id != buyer.id:
        raise CatalogError(_("只能接受自己的询价。"))
    if quote.status != QuoteStatus.answered:
        raise CatalogError(_("该询价还没有报价或已结束。"))
    if quote.valid_until < (today or date.today()):
        quote.status = QuoteStatus.expired
        db.session.flush()
        raise CatalogError(_("报价已过期，请重新询价。"))
    quote.status = QuoteStatus.accepted
    db.session.flush()


def decline_quote(quote: Quote) -> None:
    if quote.status in (QuoteStatus.accepted, QuoteStatus.declined, QuoteStatus.expired, QuoteStatus.ordered):
        raise CatalogError(_("该询价已结束。"))
    quote.status = QuoteStatus.declined
    db.session.flush()


def count_products(shop) -> int:
    return db.session.scalar(select(func.count(Product.id)).where(Product.shop_id == shop.id))


# -- images ---------------------------------------------------------------------------------------------------

MAX_IMAGES = 12


def _pictures_locked(product: Product) -> None:
    """Take the product's row lock, then read its pictures again: two people changing one product's pictures at the
    same moment do it one after the other, each on what the other left (renumbering a picture the other just
    deleted was an answer 500 on PostgreSQL). SQLite's writers queue already (BEGIN IMMEDIATE)."""
    db.session.flush()  # a product made in this transaction has its id
    db.session.execute(select(Product.id).where(Product.id == product.id).with_for_update())
    db.session.expire(product, ["images"])


def add_image(product: Product, data: bytes | None = None, *, stored=None, alt_zh: str = "",
              alt_en: str = "") -> ProductImage:
    """Store an uploaded picture (checked and cleaned by marketplace.media) and queue its smaller sizes.

    Pass the file's bytes, or ``stored`` when marketplace.media already took it in. Raises ``ImageRejected``
    (from marketplace.media.images) with a message for the merchant.
    """
    from marketplace.media.images import ingest_image
    from marketplace.media.jobs import enqueue

    _pictures_locked(product)
    if len(product.images) >= MAX_IMAGES:
        raise CatalogError(_("每个商品最多 %(n)d 张图片。", n=MAX_IMAGES), "images")
    stored = stored or ingest_image(data)
    image = ProductImage(product_id=product.id, sha256=stored.sha256, width=stored.width, height=stored.height,
                         alt_zh=(alt_zh or product.title)[:200], alt_en=(alt_en or "")[:200],
                         position=len(product.images))
    product.images.append(image)
    product.version = Product.version + 1  # in SQL: a concurrent bump is not lost
    db.session.flush()
    enqueue("marketplace.media.images.make_derivatives", stored.sha256)
    return image


def set_image_alt(image: ProductImage, alt_zh: str, alt_en: str) -> None:
    alt_zh, alt_en = (alt_zh or "").strip(), (alt_en or "").strip()
    if len(alt_zh) > 200 or len(alt_en) > 200 or any(ord(c) < 32 for c in alt_zh + alt_en):
        raise CatalogError(_("图片说明最多 200 个字，且不能含控制字符。"), "alt")
    image.alt_zh, image.alt_en = alt_zh, alt_en
    db.session.flush()


def reorder_images(product: Product, image_ids: list[int]) -> None:
    """Put the product's images in this order; ids not of this product are refused."""
    _pictures_locked(product)
    own = {image.id: image for image in product.images}
    if sorted(image_ids) != sorted(own):
        raise CatalogError(_("图片顺序与商品的图片不符。"), "images")
    for position, image_id in enumerate(image_ids):
        own[image_id].position = position
    product.version = Product.version + 1  # in SQL: a concurrent bump is not lost
    db.session.flush()


def remove_image(product: Product, image_id: int) -> None:
    """Delete one of the product's images (CatalogError when it is not, or no longer, one); the rest close up."""
    _pictures_locked(product)
    image = next((i for i in product.images if i.id == image_id), None)
    if image is None:
        raise CatalogError(_("找不到这张图片。"), "images")
    product.images.remove(image)
    for position, other in enumerate(sorted(product.images, key=lambda i: i.position)):
        other.position = position
    product.version = Product.version + 1  # in SQL: a concurrent bump is not lost
    db.session.flush()
