"""Use cases behind the merchant and operator consoles."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.accounts.authz import grants_of
from marketplace.accounts.models import Role, User
from marketplace.core import audit
from marketplace.core.config import is_time_zone
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant, TenantStatus


class ConsoleError(ValueError):
    pass


def shops_for_user(user: User) -> list[Shop]:
    """The shops this user owns or staffs, in every tenant (the merchant console spans tenants)."""
    shop_ids = {g.shop_id for g in grants_of(user) if g.role in (Role.merchant_owner, Role.merchant_staff)}
    if not shop_ids:
        return []
    with all_tenants():  # restricted to the user's own shops by the id list above
        return list(db.session.scalars(
            select(Shop).where(Shop.id.in_(shop_ids)).options(selectinload(Shop.tenant)).order_by(Shop.tenant_id,
                                                                                                    Shop.id)
        ))


def tenants_for_operator(user: User) -> list[Tenant]:
    grants = grants_of(user)
    query = select(Tenant).order_by(Tenant.id)
    if not any(g.role == Role.platform_admin for g in grants):
        query = query.where(Tenant.id.in_({g.tenant_id for g in grants if g.role == Role.tenant_operator}))
    return list(db.session.scalars(query))


def change_tenant_status(tenant: Tenant, status: str, *, may_suspend: bool) -> None:
    """Launch (draft → live), take back to draft, or suspend. Suspending is for platform admins only."""
    if status not in TenantStatus.values():
        raise ConsoleError(_("请选择有效的状态。"))
    touches_suspension = TenantStatus.suspended in (status, tenant.status)
    if touches_suspension and status != tenant.status and not may_suspend:
        raise ConsoleError(_("暂停或恢复一个市场需要平台管理员操作。"))
    tenant.status = status
    db.session.flush()


def update_tenant_brand(tenant: Tenant, *, primary_color: str, accent_color: str, timezone: str) -> None:
    """Set the tenant's colours (``#rrggbb``; empty removes one) and time zone; a change is recorded in the audit
    log (the console's form and the operator API both come here). Flushes; the caller commits."""
    if not is_time_zone(timezone):
        raise ConsoleError(_("未知的时区：%(tz)s（例如 Asia/Shanghai）。", tz=timezone))
    before = {"brand": dict(tenant.brand or {}), "timezone": tenant.timezone}
    brand = dict(tenant.brand or {})
    for key, value in (("primary_color", primary_color), ("accent_color", accent_color)):
        if value:
            brand[key] = value.lower()
        else:
            brand.pop(key, None)
    tenant.brand = brand
    tenant.timezone = timezone
    after = {"brand": dict(tenant.brand or {}), "timezone": tenant.timezone}
    if after != before:
        audit.record("tenant.brand_changed", target=tenant, before=before, after=after)
    db.session.flush()
