"""SQLite plans for the lookups every product page and listing makes under the tenant guard.

SQLite keeps no statistics unless ANALYZE runs, so for ``tenant_id = ? AND product_id IN (…)`` it would pick
the tenant index and read every variant of the tenant: pages and reindexing slow down with the catalogue.
The (tenant_id, parent) indexes keep those lookups to the rows asked for.
"""

import pytest
from sqlalchemy import text

from marketplace.extensions import db

LOOKUPS = [
    ("variants", "product_id", "ix_variants_tenant_id_product_id"),
    ("price_tiers", "variant_id", "ix_price_tiers_tenant_id_variant_id"),
    ("product_images", "product_id", "ix_product_images_tenant_id_product_id"),
]


@pytest.mark.parametrize(("table", "parent", "index"), LOOKUPS)
def test_children_of_a_page_are_found_through_their_parent(app_ctx, table, parent, index):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("checks SQLite's planner, which has no statistics; PostgreSQL plans from its own")
    plan = db.session.execute(text(
        f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE tenant_id = 1 AND {parent} IN (1, 2, 3, 4, 5)")).all()
    details = " ".join(row[-1] for row in plan)
    assert index in details, details
