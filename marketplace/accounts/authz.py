"""Authorisation: one place decides who may do what.

Views declare what they need with ``@permission_required(Permission.X)`` (no object) or call
``require(Permission.X, obj)`` once they have loaded the tenant or shop. Every account is a resident;
the other roles come from ``RoleGrant`` rows, read once per request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

from flask import abort, g
from flask_login import current_user
from sqlalchemy import select
from werkzeug.local import LocalProxy

from marketplace.accounts.models import Role, RoleGrant, User
from marketplace.extensions import db, login_manager


class Permission(StrEnum):
    manage_platform = "manage_platform"  # create tenants, suspend them, see every tenant
    operator_console = "operator_console"  # open /operator/ at all
    operate_tenant = "operate_tenant"  # a tenant: settings, shops overview, launch
    merchant_console = "merchant_console"  # open /merchant/ at all
    view_shop = "view_shop"  # a shop's console pages
    edit_shop = "edit_shop"  # a shop's profile (owner only)


def grants_of(user: User) -> list[RoleGrant]:
    if not user or not user.is_authenticated:
        return []
    cache = g.setdefault("role_grants", {})
    if user.id not in cache:
        cache[user.id] = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).all()
    return cache[user.id]


def has_role(user: User, role: Role, *, tenant_id: int | None = None, shop_id: int | None = None) -> bool:
    return any(
        grant.role == role
        and (tenant_id is None or grant.tenant_id == tenant_id)
        and (shop_id is None or grant.shop_id == shop_id)
        for grant in grants_of(user)
    )


def can(user: User, permission: Permission, obj=None) -> bool:
    """Whether ``user`` holds ``permission``, on ``obj`` (a Tenant or Shop) where it needs one."""
    if not user or not user.is_authenticated:
        return False
    if isinstance(obj, LocalProxy):  # e.g. current_tenant: decide on what it stands for, None included
        obj = obj._get_current_object()
    if has_role(user, Role.platform_admin):
        return True
    match permission:
        case Permission.manage_platform:
            return False
        case Permission.operator_console:
            return has_role(user, Role.tenant_operator)
        case Permission.operate_tenant:
            return obj is not None and has_role(user, Role.tenant_operator, tenant_id=obj.id)
        case Permission.merchant_console:
            return has_role(user, Role.merchant_owner) or has_role(user, Role.merchant_staff)
        case Permission.view_shop:
            return obj is not None and (
                has_role(user, Role.merchant_owner, shop_id=obj.id)
                or has_role(user, Role.merchant_staff, shop_id=obj.id)
            )
        case Permission.edit_shop:
            return obj is not None and has_role(user, Role.merchant_owner, shop_id=obj.id)
    return False


@dataclass(frozen=True)
class ConsoleAccess:
    """Which consoles the signed-in user may open: their links are shown only to those who can follow them."""

    merchant: bool
    operator: bool


def console_access() -> ConsoleAccess:
    return ConsoleAccess(merchant=can(current_user, Permission.merchant_console),
                         operator=can(current_user, Permission.operator_console))


def require(permission: Permission, obj=None) -> None:
    """Stop the request unless the current user may: signed-out users go to login, others get 403 — or 404 for a
    tenant they do not operate, and for the people of one tenant (its operators, merchants and staff) at a shop of
    another: another tenant's consoles are none of their business to know about, as every cross-tenant request is
    a 404. A resident, who belongs to no tenant, or someone at a page of their own tenant they may not open
    (another shop's, the owner's only), is told 403."""
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    if not can(current_user, permission, obj):
        abort(404 if permission == Permission.operate_tenant or _of_another_tenant(permission, obj) else 403)


def _of_another_tenant(permission: Permission, shop) -> bool:
    """Whether ``shop`` (of a shop permission) is in a tenant where the current user holds no role, though they
    hold one in another."""
    if permission not in (Permission.view_shop, Permission.edit_shop) or shop is None:
        return False
    tenants = {grant.tenant_id for grant in grants_of(current_user)} - {None}
    return bool(tenants) and shop.tenant_id not in tenants


def permission_required(permission: Permission):
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            require(permission)
            return view(*args, **kwargs)

        return wrapper

    return decorate
