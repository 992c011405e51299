"""Every model of every domain, imported in one place for migrations and the tenant guard."""

from marketplace.accounts.models import LoginAttempt, RoleGrant, User
from marketplace.catalog.models import Category
from marketplace.shops.models import Merchant, Shop
from marketplace.tenancy.models import Tenant, TenantDomain, TenantSetting

__all__ = ["Category", "LoginAttempt", "Merchant", "RoleGrant", "Shop", "Tenant", "TenantDomain", "TenantSetting",
           "User"]
