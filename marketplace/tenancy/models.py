"""Tenants (streets and markets), their domains and settings, and the mixin for tenant-owned rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from marketplace.core.db import TimestampMixin
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.core.i18n import localised
from marketplace.extensions import db


@labelled({"street": _l("商业街"), "market": _l("专业市场")})
class TenantKind(LabelledEnum):
    street = "street"
    market = "market"


@labelled({"draft": _l("筹备中"), "live": _l("运营中"), "suspended": _l("已暂停")})
class TenantStatus(LabelledEnum):
    draft = "draft"
    live = "live"
    suspended = "suspended"


class Tenant(TimestampMixin, db.Model):
    """A street or market: the online twin of a real place where people trade."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("kind IN ('street', 'market')", name="kind"),
        CheckConstraint("status IN ('draft', 'live', 'suspended')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: active_history: a renamed slug (or domain) is invalidated in the shared cache under its old name too.
    slug: Mapped[str] = mapped_column(String(63), unique=True, active_history=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=TenantStatus.draft, index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    district_zh: Mapped[str] = mapped_column(String(100), default="")
    district_en: Mapped[str] = mapped_column(String(100), default="")
    address_zh: Mapped[str] = mapped_column(String(300), default="")
    address_en: Mapped[str] = mapped_column(String(300), default="")
    #: The organisation that runs the street or market, as registered (ECL Art. 9(2): a platform operator is a
    #: legal person or unincorporated organisation): its legal name and 统一社会信用代码 (GB 32100).
    operator_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    operator_uscc: Mapped[str] = mapped_column(String(18), default="", server_default="")
    #: The last trading day of an announced closing (``trust.enforcement.TenantClosing`` keeps the notice): pages
    #: read the notice only when this is set, so an ordinary day costs them no query.
    closing_on: Mapped[date | None] = mapped_column(Date)
    theme: Mapped[str] = mapped_column(String(63), default="base")
    timezone: Mapped[str] = mapped_column(String(63), default="Asia/Shanghai")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    #: Brand settings shown by themes: primary_color, accent_color, logo.
    brand: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Geometry of the street or the market halls, drawn by the tenant home (see the manifest).
    layout: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantDomain.domain"
    )

    def name(self, locale: str | None = None) -> str:
        return localised(self.name_zh, self.name_en, locale)

    def district(self, locale: str | None = None) -> str:
        return localised(self.district_zh, self.district_en, locale)

    def address(self, locale: str | None = None) -> str:
        return localised(self.address_zh, self.address_en, locale)

    @property
    def is_live(self) -> bool:
        return self.status == TenantStatus.live

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantDomain(db.Model):
    """A host name that serves one tenant without the ``/t/<slug>`` prefix."""

    __tablename__ = "tenant_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True, active_history=True)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class TenantScoped:
    """Mixin for every tenant-owned table: ``tenant_id`` NOT NULL, indexed, guarded by the session.

    Queries of a model with this mixin are filtered to the current tenant by the tenant guard, and
    raise when no tenant is set (see ``marketplace.tenancy.guard``).
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        # active_history: assigning to an expired tenant_id loads the old value first, so the guard can
        # still see (and refuse) a move to another tenant.
        return mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), index=True, nullable=False,
                             active_history=True)


class TenantSetting(TenantScoped, db.Model):
    """One per-tenant setting of one module; read through ``marketplace.tenancy.settings``."""

    __tablename__ = "tenant_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "module", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(63))
    value: Mapped[Any] = mapped_column(JSON)

