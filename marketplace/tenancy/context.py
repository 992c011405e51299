"""The current tenant: set once per request (or explicitly by CLI and jobs), kept in ``g``."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from flask import g, has_app_context
from werkzeug.local import LocalProxy

if TYPE_CHECKING:
    from marketplace.tenancy.models import Tenant


def _get_current_tenant() -> Tenant | None:
    return g.get("tenant") if has_app_context() else None


#: The tenant of the current request, or None on platform-wide pages.
current_tenant: Tenant | None = LocalProxy(_get_current_tenant)  # type: ignore[assignment]


def current_tenant_id() -> int | None:
    """The current tenant's id, read without touching the database (the guard calls this)."""
    return g.get("tenant_id") if has_app_context() else None


def all_tenants_allowed() -> bool:
    return bool(has_app_context() and g.get("all_tenants_depth", 0) > 0)


def activate(tenant: Tenant | None) -> None:
    """Make ``tenant`` the current tenant for the rest of this app context (the request)."""
    g.tenant = tenant
    g.tenant_id = tenant.id if tenant is not None else None
    g.tenant_slug = tenant.slug if tenant is not None else None


@contextlib.contextmanager
def tenant_scope(tenant: Tenant):
    """Run a block as ``tenant`` (CLI commands, jobs, tests); restores the previous tenant after."""
    previous = g.get("tenant"), g.get("tenant_id"), g.get("tenant_slug")
    activate(tenant)
    try:
        yield tenant
    finally:
        g.tenant, g.tenant_id, g.tenant_slug = previous


@contextlib.contextmanager
def all_tenants():
    """Opt out of the tenant guard for a block: platform-wide pages, reports, the merchant console.

    Every use is a place where rows of several tenants may be read, so keep the block short and
    filter by hand where a user's rights end.
    """
    g.all_tenants_depth = g.get("all_tenants_depth", 0) + 1
    try:
        yield
    finally:
        g.all_tenants_depth -= 1
