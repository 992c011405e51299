"""A street shop with two goods and a buyer: what the trust tests (reviews, credit) start from."""

from __future__ import annotations

import pytest


@pytest.fixture
def market(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(slug="review-street")
    shop = make_shop(tenant, slug="fruit", name_zh="鲜果坊")
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(shop, category=category, title="红富士苹果", price=2990, stock=50)
    pears = make_product(shop, category=category, title="砀山梨", price=1990, stock=50)
    buyer = make_user("buyer@shangdu.example", name="张三丰")
    return tenant, shop, apples, pears, buyer
