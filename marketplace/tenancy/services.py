"""Tenant use cases: create, look up."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.tenancy.manifests import SLUG
from marketplace.tenancy.models import Tenant, TenantKind, TenantStatus


class TenantError(ValueError):
    pass


def create_tenant(slug: str, kind: str, name_zh: str, name_en: str, *, theme: str | None = None,
                  district_zh: str = "", district_en: str = "") -> Tenant:
    """Create a draft tenant; it goes live when an operator launches it. Flushes; the caller commits."""
    slug = (slug or "").strip().lower()
    if not SLUG.fullmatch(slug):
        raise TenantError(f"slug {slug!r} must be lowercase letters, digits and hyphens (at most 63)")
    if kind not in TenantKind.values():
        raise TenantError(f"kind must be one of {', '.join(TenantKind.values())}")
    if not name_zh.strip() or not name_en.strip():
        raise TenantError("a tenant needs a Chinese and an English name")
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise TenantError(f"tenant {slug!r} already exists")
    tenant = Tenant(slug=slug, kind=kind, status=TenantStatus.draft, name_zh=name_zh.strip(),
                    name_en=name_en.strip(), theme=theme or kind, district_zh=district_zh, district_en=district_en,
                    brand={}, layout={})
    db.session.add(tenant)
    db.session.flush()
    return tenant


def tenant_by_slug(slug: str) -> Tenant | None:
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))
