"""The demo city's pages, walked once per test run for the checks that cover every storefront page."""

from __future__ import annotations

import pytest

from marketplace.extensions import db
from tests.storefront.demo_pages import build_demo_site


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory):
    site = build_demo_site(tmp_path_factory.mktemp("demo-pages"))
    yield site
    for backend in site.app.extensions["search_instances"].values():
        backend.close()
    with site.app.app_context():
        db.engine.dispose()


@pytest.fixture
def tea_street(make_tenant, make_shop, make_category, make_product):
    """A street with one tea house and one product: the pages the caching tests load again and again."""
    tenant = make_tenant(slug="cache-street", name_zh="缓存测试街")
    shop = make_shop(tenant, slug="tea-house", name_zh="老茶馆")
    category = make_category(tenant, slug="tea", name_zh="茶叶")
    product = make_product(shop, category=category, title="Xinyang Maojian 信阳毛尖", price=8800, stock=50)
    return tenant, shop, category, product
