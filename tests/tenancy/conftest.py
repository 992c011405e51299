"""Helpers for the tenancy tests: two tenants with shops, a merchant trading in both."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from marketplace.shops.models import Merchant, Shop
from marketplace.tenancy.models import Tenant


@dataclass
class TwoTenants:
    a: Tenant
    b: Tenant
    merchant: Merchant  # trades in both tenants
    a_shop: Shop
    a_other: Shop
    b_shop: Shop


@pytest.fixture
def two_tenants(make_tenant, make_merchant, make_shop) -> TwoTenants:
    a = make_tenant(name_zh="甲街")
    b = make_tenant(name_zh="乙市场", kind="market")
    merchant = make_merchant(legal_name="两地商户")
    a_shop = make_shop(a, merchant=merchant, slug="a-shop", name_zh="甲街鲜果坊")
    a_other = make_shop(a, slug="a-other", name_zh="甲街书店")
    b_shop = make_shop(b, merchant=merchant, slug="b-shop", name_zh="乙市场布行")
    return TwoTenants(a, b, merchant, a_shop, a_other, b_shop)
