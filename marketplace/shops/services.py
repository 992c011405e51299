"""Shops: listing and loading within a tenant, and editing a shop's profile."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.shops.models import WEEKDAYS, Shop, ShopStatus
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant, TenantStatus

_HOURS = re.compile(r"([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)")


class ShopError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def shops_of_current_tenant(*, include_suspended: bool = False, with_merchants: bool = False) -> list[Shop]:
    """The current tenant's shops in the order a visitor walks them (street side, then position; stalls)."""
    query = select(Shop).options(selectinload(Shop.category))
    if with_merchants:
        query = query.options(selectinload(Shop.merchant))
    if not include_suspended:
        query = query.where(Shop.status == ShopStatus.active)
    query = query.order_by(Shop.building, Shop.floor, Shop.zone, Shop.street_side, Shop.map_x, Shop.stall, Shop.id)
    return list(db.session.scalars(query))


def shop_by_slug(slug: str) -> Shop | None:
    """A shop of the current tenant (the guard adds the tenant filter; another tenant's shop is None)."""
    return db.session.scalar(select(Shop).where(Shop.slug == slug))


def live_tenants_with_shop_counts() -> list[tuple[Tenant, int]]:
    """Every live tenant with its number of active shops, in one query (the portal)."""
    with all_tenants():  # the portal is platform-wide by design
        counts = (
            select(Shop.tenant_id, func.count(Shop.id).label("shops"))
            .where(Shop.status == ShopStatus.active)
            .group_by(Shop.tenant_id)
            .subquery()
        )
        rows = db.session.execute(
            select(Tenant, func.coalesce(counts.c.shops, 0))
            .outerjoin(counts, counts.c.tenant_id == Tenant.id)
            .where(Tenant.status == TenantStatus.live)
            .order_by(Tenant.kind.desc(), Tenant.id)
        ).all()
    return [(tenant, count) for tenant, count in rows]


def parse_opening_hours(values: dict[str, str]) -> dict[str, str]:
    """Validate {"mon": "09:00-21:00" | "closed" | "", …}; raises ShopError naming the day."""
    hours = {}
    for day in WEEKDAYS:
        value = (values.get(day) or "").strip().replace("–", "-").replace(" ", "")
        if value in ("", "closed", "休息"):
            hours[day] = "closed"
        elif _HOURS.fullmatch(value) and value[:5] < value[6:]:
            hours[day] = value
        else:
            raise ShopError(_("营业时间格式应为 09:00-21:00，或填写“休息”。"), field=f"hours_{day}")
    return hours


def update_shop_profile(shop: Shop, *, name_zh: str, name_en: str, description_zh: str, description_en: str,
                        phone: str, opening_hours: dict[str, str]) -> Shop:
    """Change what residents see about a shop; descriptions are sanitised. Flushes; the caller commits."""
    name_zh = (name_zh or "").strip()
    if not name_zh:
        raise ShopError(_("请填写店铺中文名称。"), field="name_zh")
    phone = (phone or "").strip()
    if phone and not re.fullmatch(r"[0-9+\-() ]{5,32}", phone):
        raise ShopError(_("电话号码只能包含数字、空格和 + - ( )。"), field="phone")
    shop.name_zh = name_zh[:200]
    shop.name_en = (name_en or "").strip()[:200]
    shop.description_zh = description_zh or ""  # sanitised by the model
    shop.description_en = description_en or ""
    shop.phone = phone
    shop.opening_hours = parse_opening_hours(opening_hours)
    db.session.flush()
    return shop
