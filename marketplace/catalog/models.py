"""Catalog models. Categories form a tree per tenant, defined in the tenant manifest."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from marketplace.core.db import TimestampMixin, UTCDateTime
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.core.i18n import localised
from marketplace.core.text import sanitise_html
from marketplace.extensions import db
from marketplace.tenancy.models import TenantScoped

#: Category codes for goods outside the 7-day no-reason return, with what the buyer is told. The first four
#: are excluded by law outright (消费者权益保护法 Art. 25; 网络购买商品七日无理由退货暂行办法 Art. 6). The
#: last three are excluded only when the buyer confirmed it when buying (暂行办法 Art. 7): checkout asks for
#: that tick, and an order line carrying one of them is the record that it was given.
EXCLUSIONS = {
    "custom_made": _l("消费者定作的商品"),
    "perishable": _l("鲜活易腐的商品"),
    "opened_media": _l("已拆封或在线下载的音像制品、计算机软件等数字化商品"),
    "periodical": _l("已交付的报纸、期刊"),
    "hygiene": _l("拆封后易影响人身安全、健康或商品品质的商品"),
    "activated": _l("一经激活或试用后价值贬损较大的商品"),
    "near_expiry": _l("销售时已明示临近保质期或有瑕疵的商品"),
}
CONFIRMED_AT_CHECKOUT = frozenset({"hygiene", "activated", "near_expiry"})


class Category(TenantScoped, db.Model):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(63))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    #: Product type id from a catalog pack, e.g. "agri_inputs.fertiliser".
    product_type: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(default=0)
    #: Why goods of this category are outside the 7-day no-reason return (``EXCLUSIONS``): one
    #: of the four classes the law excludes outright, or one of the three that need the buyer's tick at
    #: checkout; "" when they may be returned without a reason.
    return_exclusion: Mapped[str] = mapped_column(String(32), default="", server_default="")

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.position")

    def name(self, locale: str | None = None) -> str:
        return localised(self.name_zh, self.name_en, locale)


@labelled({"draft": _l("草稿"), "active": _l("在售"), "archived": _l("已下架")})
class ProductStatus(LabelledEnum):
    draft = "draft"
    active = "active"
    archived = "archived"


#: Units of sale, with their labels. A price is per unit; quantities are whole units.
UNITS = {
    "piece": _l("件"), "box": _l("箱"), "bag": _l("袋"), "bottle": _l("瓶"), "pack": _l("包"), "set": _l("套"),
    "pair": _l("双"), "dozen": _l("打"), "jin": _l("斤"), "kg": _l("千克"), "ton": _l("吨"), "metre": _l("米"),
    "roll": _l("卷"), "portion": _l("份"),
}


class Product(TenantScoped, TimestampMixin, db.Model):
    """Something a shop sells, in one or more variants (sizes, colours, pack sizes)."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'active', 'archived')", name="status"),
        CheckConstraint("moq >= 1", name="moq"),
        # Category and shop listings: filter by these, newest first.
        Index("ix_products_tenant_id_category_id_status_published_at", "tenant_id", "category_id", "status",
              "published_at", "id"),
        Index("ix_products_tenant_id_shop_id_status_published_at", "tenant_id", "shop_id", "status", "published_at",
              "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    #: Id of a product type from a catalog pack, e.g. "agri_inputs.fertiliser".
    product_type: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    #: Sanitised HTML.
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.draft)
    unit: Mapped[str] = mapped_column(String(16), default="piece")
    #: Minimum order quantity, in units, per order line.
    moq: Mapped[int] = mapped_column(default=1)
    #: Typed attribute values, validated by the product type (see catalog.packs).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Goes up with every change through the catalog services (fields, variants, status, images); with the
    #: variants' versions it makes the API's ETag (``api.services.product_etag``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    shop = relationship("Shop")
    category: Mapped[Category] = relationship()
    variants: Mapped[list[Variant]] = relationship(back_populates="product", order_by="Variant.position",
                                                   cascade="all, delete-orphan")
    images: Mapped[list[ProductImage]] = relationship(back_populates="product", order_by="ProductImage.position",
                                                      cascade="all, delete-orphan")

    @validates("description")
    def _sanitise_description(self, _key: str, value: str) -> str:
        return sanitise_html(value)

    @property
    def slug(self) -> str:
        """For the URL /p/<id>-<slug>: ASCII words of the title, or nothing (the id alone is enough)."""
        words = re.findall(r"[a-z0-9]+", self.title.lower())
        return "-".join(words)[:60].strip("-")

    @property
    def is_active(self) -> bool:
        return self.status == ProductStatus.active


class Variant(TenantScoped, db.Model):
    """One buyable version of a product, with its own SKU, price and stock."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("tenant_id", "shop_id", "sku"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("compare_at_price IS NULL OR compare_at_price > price", name="compare_at_price"),
        CheckConstraint("stock >= 0", name="stock"),
        CheckConstraint("weight_g IS NULL OR weight_g >= 0", name="weight"),
        Index("ix_variants_product_id_price", "product_id", "price"),  # a product's lowest price, from the index
        # Loading a page's variants: the tenant guard adds tenant_id = ?, and without this index SQLite (which
        # has no statistics) reads every variant of the tenant through ix_variants_tenant_id instead.
        Index("ix_variants_tenant_id_product_id", "tenant_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    #: The product's shop, repeated so the SKU can be unique per shop.
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    #: {"size": "L", "colour": "藏青"} — names from the product type's options.
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: Price per unit in minor units (fen), in the tenant's currency.
    price: Mapped[int] = mapped_column()
    compare_at_price: Mapped[int | None] = mapped_column()
    stock: Mapped[int] = mapped_column(default=0)
    weight_g: Mapped[int | None] = mapped_column()
    barcode: Mapped[str] = mapped_column(String(32), default="")
    position: Mapped[int] = mapped_column(default=0)
    #: Goes up whenever the stock or a price (price, compare_at_price, tiers) changes, however it changes (the
    #: merchant, a sale, a cancellation): the API's ``expected_version`` compares against it.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    product: Mapped[Product] = relationship(back_populates="variants")
    tiers: Mapped[list[PriceTier]] = relationship(back_populates="variant", order_by="PriceTier.min_quantity",
                                                  cascade="all, delete-orphan")

    @property
    def option_text(self) -> str:
        return " / ".join(str(v) for v in (self.options or {}).values() if v)


class PriceTier(TenantScoped, db.Model):
    """A wholesale price: from ``min_quantity`` units on, each costs ``unit_price``."""

    __tablename__ = "price_tiers"
    __table_args__ = (
        UniqueConstraint("variant_id", "min_quantity"),
        CheckConstraint("min_quantity >= 2", name="min_quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        Index("ix_price_tiers_tenant_id_variant_id", "tenant_id", "variant_id"),  # as for variants, above
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    min_quantity: Mapped[int] = mapped_column()
    unit_price: Mapped[int] = mapped_column()

    variant: Mapped[Variant] = relationship(back_populates="tiers")


class ProductImage(TenantScoped, db.Model):
    """A product picture: the cleaned original is stored by content hash (see marketplace.media)."""

    __tablename__ = "product_images"
    __table_args__ = (Index("ix_product_images_tenant_id_product_id", "tenant_id", "product_id"),)  # as for variants

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    alt_zh: Mapped[str] = mapped_column(String(200), default="")
    alt_en: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="images")

    def alt(self, locale=None) -> str:
        return localised(self.alt_zh, self.alt_en, locale)


class ShopLicence(TenantScoped, TimestampMixin, db.Model):
    """A licence on file for a shop (pesticide or seed business…); an operator marks it verified.

    Interim home until merchant verification arrives with the trust domain.
    """

    __tablename__ = "shop_licences"
    __table_args__ = (UniqueConstraint("tenant_id", "shop_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    #: The licence kind a product type asks for, e.g. "pesticide_business".
    kind: Mapped[str] = mapped_column(String(63))
    number: Mapped[str] = mapped_column(String(100))
    expires_on: Mapped[date | None] = mapped_column(Date)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def is_valid(self, today: date) -> bool:
        return self.verified_at is not None and (self.expires_on is None or self.expires_on >= today)


@labelled({"requested": _l("待报价"), "answered": _l("已报价"), "accepted": _l("已接受"), "declined": _l("已拒绝"),
           "expired": _l("已过期"), "ordered": _l("已下单")})
class QuoteStatus(LabelledEnum):
    requested = "requested"
    answered = "answered"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    ordered = "ordered"


class Quote(TenantScoped, TimestampMixin, db.Model):
    """A request for quotation: a buyer asks a shop for a quantity; the merchant answers with a price."""

    __tablename__ = "quotes"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity"),
        CheckConstraint("status IN ('requested', 'answered', 'accepted', 'declined', 'expired', 'ordered')",
                        name="status"),
        Index("ix_quotes_tenant_id_shop_id_status", "tenant_id", "shop_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column()
    #: What the buyer hopes to pay per unit, in fen (optional).
    target_unit_price: Mapped[int | None] = mapped_column()
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=QuoteStatus.requested)
    #: The merchant's answer: price per unit in fen, valid through ``valid_until`` (tenant's calendar).
    quoted_unit_price: Mapped[int | None] = mapped_column()
    valid_until: Mapped[date | None] = mapped_column(Date)
    reply: Mapped[str] = mapped_column(Text, default="")

    variant: Mapped[Variant] = relationship()
    buyer = relationship("User")
