"""Merchants (legal entities, platform-wide) and their shops (one per tenant they trade in)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from marketplace.core.db import TimestampMixin
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.core.i18n import localised
from marketplace.core.text import sanitise_html
from marketplace.extensions import db
from marketplace.tenancy.models import Tenant, TenantScoped


@labelled({"enterprise": _l("企业"), "individual_business": _l("个体工商户"), "natural_person": _l("自然人")})
class MerchantKind(LabelledEnum):
    enterprise = "enterprise"
    individual_business = "individual_business"
    natural_person = "natural_person"


@labelled({"active": _l("营业中"), "suspended": _l("已暂停")})
class ShopStatus(LabelledEnum):
    active = "active"
    suspended = "suspended"


class Merchant(TimestampMixin, db.Model):
    """The legal entity behind one or more shops; one merchant may trade in several tenants."""

    __tablename__ = "merchants"
    __table_args__ = (
        CheckConstraint("kind IN ('enterprise', 'individual_business', 'natural_person')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    legal_name: Mapped[str] = mapped_column(String(200))
    #: The business licence's registration number (统一社会信用代码 or 注册号), shown on receipts and the shop's
    #: licence notice (ECL Art. 15); empty for a natural person selling without a licence.
    registration_number: Mapped[str] = mapped_column(String(32), default="", server_default="")
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")

    shops: Mapped[list[Shop]] = relationship(back_populates="merchant")


#: Days of the week as keys of ``Shop.opening_hours``, with their labels.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS = dict(zip(WEEKDAYS, (_l("周一"), _l("周二"), _l("周三"), _l("周四"), _l("周五"), _l("周六"),
                                     _l("周日")), strict=True))
#: Sides of a street a shop can stand on.
STREET_SIDES = {"west": _l("西侧"), "east": _l("东侧"), "north": _l("北侧"), "south": _l("南侧")}


class Shop(TenantScoped, TimestampMixin, db.Model):
    """A merchant's storefront or stall in one tenant."""

    __tablename__ = "shops"
    __table_args__ = (
        UniqueConstraint("tenant_id", "slug"),
        Index("ix_shops_tenant_id_stall", "tenant_id", "stall"),
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="RESTRICT"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    slug: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16), default=ShopStatus.active)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    #: Sanitised HTML (see ``marketplace.core.text.sanitise_html``).
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    #: {"mon": "09:00-21:00" | "closed", …} in the tenant's time zone.
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Where the shop is. A street shop: its building number, the side of the street, and its place
    # along the street. A market stall: building, floor, zone and stall number.
    street_number: Mapped[str] = mapped_column(String(32), default="")
    street_side: Mapped[str] = mapped_column(String(16), default="")
    building: Mapped[str] = mapped_column(String(32), default="")
    floor: Mapped[int | None] = mapped_column()
    zone: Mapped[str] = mapped_column(String(32), default="")
    stall: Mapped[str] = mapped_column(String(32), default="")
    #: Position on the street map (metres along the street) or the floor plan (metres from its corner).
    map_x: Mapped[float | None] = mapped_column(Float)
    map_y: Mapped[float | None] = mapped_column(Float)
    #: Frontage (street) or stall width and depth, in metres.
    map_width: Mapped[float | None] = mapped_column(Float)
    map_depth: Mapped[float | None] = mapped_column(Float)
    #: Wholesale: the least a buyer's order from this shop must come to, across its goods (either or both).
    mixed_batch_min_amount: Mapped[int | None] = mapped_column()  # fen
    mixed_batch_min_quantity: Mapped[int | None] = mapped_column()  # units
    #: Whether buyers may ask this shop for a quote (market tenants).
    accepts_quotes: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: How the shop delivers: {"providers": [names the tenant enabled], "options": {name: {overrides}}}.
    #: No providers listed: the tenant's default delivery provider only (``delivery.services.shop_providers``).
    delivery: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    tenant: Mapped[Tenant] = relationship()
    merchant: Mapped[Merchant] = relationship(back_populates="shops")
    category = relationship("Category")

    @validates("description_zh", "description_en")
    def _sanitise_description(self, _key: str, value: str) -> str:
        # Shown with |safe: sanitised here, whoever writes it (console, import, API, demo).
        return sanitise_html(value)

    def name(self, locale: str | None = None) -> str:
        return localised(self.name_zh, self.name_en, locale)

    def description(self, locale: str | None = None) -> str:
        return localised(self.description_zh, self.description_en, locale)

    @property
    def is_active(self) -> bool:
        return self.status == ShopStatus.active

    def __repr__(self) -> str:
        return f"<Shop {self.slug}>"
