"""Search through the API by the shops' credit: ``sort=credit``, ``credit=`` filters and the credit facet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from marketplace.trust.credit import ShopCredit
from tests.api.conftest import assert_problem
from tests.api.test_search import SEARCH, api, found, indexed, titles

LISTED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product):
    """A tea street: a B shop, a D shop, and a shop not scored yet; the D shop's tea is the newest."""
    tenant = make_tenant(slug="cha-street", name_zh="茶叶街")
    good = make_shop(tenant, slug="mingcha", name_zh="名茶坊")
    poor = make_shop(tenant, slug="chaye", name_zh="茶叶铺")
    unscored = make_shop(tenant, slug="xincha", name_zh="新茶馆")
    with tenant_scope(tenant):
        db.session.add_all([ShopCredit(tenant_id=tenant.id, shop_id=good.id, score=84, level="B", computed_at=LISTED),
                            ShopCredit(tenant_id=tenant.id, shop_id=poor.id, score=50, level="D", computed_at=LISTED)])
        db.session.commit()
    tea = make_category(tenant, slug="tea", name_zh="茶叶", product_type="general.food")
    made = [make_product(unscored, category=tea, title="新茶 信阳毛尖", price=9900),
            make_product(good, category=tea, title="明前 信阳毛尖", price=12800),
            make_product(poor, category=tea, title="散装 信阳毛尖", price=3900)]
    with tenant_scope(tenant):
        for position, product in enumerate(made):
            product.published_at = LISTED + timedelta(hours=position)
        db.session.commit()
    indexed()
    return tenant


def test_sort_by_credit_puts_rated_shops_first_by_score_and_unscored_shops_last(client, street):
    assert titles(found(client, street, "q=毛尖&sort=newest")) == ["散装 信阳毛尖", "明前 信阳毛尖", "新茶 信阳毛尖"]
    assert titles(found(client, street, "q=毛尖&sort=credit")) == ["明前 信阳毛尖", "散装 信阳毛尖", "新茶 信阳毛尖"]


def test_credit_filters_by_any_level_given_and_the_facet_labels_the_levels(client, street):
    body = found(client, street, "q=毛尖")
    assert sorted(body["facets"]["credit"], key=lambda v: v["value"]) == [
        {"value": "B", "count": 1, "label": "B 良好"}, {"value": "D", "count": 1, "label": "D 待改进"},
        {"value": "new", "count": 1, "label": "新店"}]
    assert titles(found(client, street, "q=毛尖&credit=B")) == ["明前 信阳毛尖"]
    assert titles(found(client, street, "credit=new&credit=D&credit=D")) == ["散装 信阳毛尖", "新茶 信阳毛尖"]
    narrowed = found(client, street, "credit=A")
    assert (narrowed["items"], narrowed["total"]) == ([], 0)


@pytest.mark.parametrize("query", ["credit=E", "credit=a", "credit=", "credit=new&credit=%00", "credit=" + "A" * 100,
                                   "&".join(["credit=A"] * 6)])
def test_a_credit_level_that_does_not_exist_is_a_problem_naming_the_field(client, street, query):
    body = assert_problem(client.get(api(street, f"{SEARCH}?{query}")), 422, "validation_failed")
    assert any(name.startswith("credit") for name in body["errors"]), body

