"""Units sold and the shop's credit standing as search sees them: what the documents carry, how orders and credit
refreshes keep them current, and an ``embedded`` index file written before they existed."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.search import documents, indexing, services
from marketplace.search.backend import FIELDS, SearchDocument, SearchQuery, TenantIndex
from marketplace.search.embedded import SCHEMA_VERSION, EmbeddedBackend
from marketplace.tenancy.context import tenant_scope
from marketplace.trust.credit import ShopCredit, refresh_credit
from tests.trust.test_reviews import place


@pytest.fixture
def market(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(slug="sales-street")
    shop = make_shop(tenant, slug="fruit", name_zh="鲜果坊")
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(shop, category=category, title="红富士苹果", price=2990, stock=100)
    pears = make_product(shop, category=category, title="砀山梨", price=1990, stock=100)
    buyer = make_user("buyer@sales.example", name="李四")
    return tenant, shop, apples, pears, buyer


def found(tenant, **kw) -> list[int]:
    with tenant_scope(tenant):
        return services.search(tenant, SearchQuery(size=50, **kw)).result.ids


def move(tenant, order, *steps: str) -> None:
    with tenant_scope(tenant):
        for step in steps:
            orders.transition(order, step)
        db.session.commit()


# -- what the documents carry ------------------------------------------------------------------------------------

def test_units_sold_count_orders_paid_for_and_not_cancelled_or_refunded(market, search_analyser, count_queries):
    tenant, _shop, apples, pears, buyer = market
    place(tenant, buyer, {apples: 3, pears: 1}, "sold-1", steps=("paid",))
    place(tenant, buyer, {apples: 2}, "sold-2")  # completed
    place(tenant, buyer, {apples: 5}, "unpaid", steps=())
    cancelled = place(tenant, buyer, {apples: 7}, "cancelled", steps=("paid",))
    move(tenant, cancelled, orders.S.cancelled)
    place(tenant, buyer, {pears: 11}, "refunding", steps=("paid", "refunding"))
    with tenant_scope(tenant), count_queries() as queries:
        docs, _gone = documents.for_ids(search_analyser, [apples.id, pears.id])
    assert {d.id: d.sales for d in docs} == {apples.id: 5, pears.id: 1}
    assert sum("order_lines" in statement for statement in queries) == 1  # one grouped query for the batch


def test_a_shop_not_scored_yet_is_new_and_a_scored_one_carries_its_stored_standing(market, search_analyser):
    tenant, shop, apples, _pears, _buyer = market
    with tenant_scope(tenant):
        docs, _gone = documents.for_ids(search_analyser, [apples.id])
        assert (docs[0].credit_level, docs[0].credit_score) == ("new", 0)
        db.session.add(ShopCredit(tenant_id=tenant.id, shop_id=shop.id, score=91, level="A",
                                  computed_at=apples.created_at))
        db.session.flush()
        docs, _gone = documents.for_ids(search_analyser, [apples.id])
        assert (docs[0].credit_level, docs[0].credit_score) == ("A", 91)


# -- kept current ------------------------------------------------------------------------------------------------

def test_an_order_starting_or_stopping_to_count_as_sold_moves_its_products_among_the_best_sellers(market):
    tenant, _shop, apples, pears, buyer = market
    assert found(tenant, sort="sales") == [pears.id, apples.id]  # nothing sold yet: newest first
    order = place(tenant, buyer, {apples: 2}, "moving", steps=())
    assert found(tenant, sort="sales") == [pears.id, apples.id]  # not paid for
    move(tenant, order, "paid")
    assert found(tenant, sort="sales") == [apples.id, pears.id]
    move(tenant, order, "accepted", "ready_for_pickup", "picked_up", "completed", "refunding")
    assert found(tenant, sort="sales") == [pears.id, apples.id]  # being refunded: not sold
    move(tenant, order, "completed")  # the refund was turned down
    assert found(tenant, sort="sales") == [apples.id, pears.id]


def test_a_credit_refresh_that_moves_a_shop_reaches_its_products_in_the_index(market):
    tenant, shop, apples, pears, _buyer = market
    assert found(tenant, credit_levels=["new"]) == [pears.id, apples.id]  # not scored yet
    with tenant_scope(tenant):  # a standing stored long ago, when the shop was doing badly
        db.session.add(ShopCredit(tenant_id=tenant.id, shop_id=shop.id, score=40, level="D",
                                  computed_at=apples.created_at))
        indexing.touch(tenant.id, "shop", [shop.id])
        db.session.commit()
    assert found(tenant, credit_levels=["D"]) == [pears.id, apples.id]
    with tenant_scope(tenant):
        assert refresh_credit() == 1  # today it has no orders at all: new, a provisional 88
        assert refresh_credit() == 0
        db.session.commit()
        stored = db.session.scalar(select(ShopCredit).where(ShopCredit.shop_id == shop.id))
        assert (stored.score, stored.level) == (88, "new")
    assert found(tenant, credit_levels=["D"]) == []
    assert found(tenant, credit_levels=["new"]) == [pears.id, apples.id]


# -- an index file from before ----------------------------------------------------------------------------------

def plain_document(id: int, **kw) -> SearchDocument:
    fields = {name: "" for name in FIELDS} | {"title": f"苹果 {id}", "grams": "苹 果", "pinyin": "ping guo pg"}
    values = dict(id=id, shop_id=1, category_id=1, category_ids=[1], product_type="general.goods",
                  title=f"苹果 {id}", fields=fields, facets={}, price_min=100, price_max=100, in_stock=True,
                  published_at=1_700_000_000.0 + id)
    return SearchDocument(**values | kw)


def test_an_embedded_index_written_before_credit_existed_is_upgraded_in_place(tmp_path):
    settings = {"INSTANCE_PATH": str(tmp_path), "SEARCH_PATH": None}
    index = TenantIndex(id=1, slug="old-street")
    writer = EmbeddedBackend(settings, {})
    writer.index(index, [plain_document(1), plain_document(2)])
    live = writer._live(writer._folder(index))
    writer.close()
    # As the first release wrote it: no credit columns, no schema version.
    with sqlite3.connect(live) as old:
        old.executescript("DROP INDEX docs_credit; ALTER TABLE docs DROP COLUMN credit_score; "
                          "ALTER TABLE docs DROP COLUMN credit_level; PRAGMA user_version = 0;")
    old.close()

    backend = EmbeddedBackend(settings, {})
    try:
        result = backend.search(index, SearchQuery(sort="credit"))
        assert result.ids == [2, 1] and {v.value: v.count for v in result.facets["credit"]} == {"new": 2}
        backend.index(index, [dataclasses.replace(plain_document(1), credit_score=95, credit_level="A")])
        assert backend.search(index, SearchQuery(sort="credit")).ids == [1, 2]
        assert backend.search(index, SearchQuery(credit_levels=["A"])).ids == [1]
    finally:
        backend.close()
    with sqlite3.connect(live) as upgraded:
        assert upgraded.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    upgraded.close()
