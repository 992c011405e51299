"""PC-11 and CE-6 ask the tenant's own search, sorted and filtered as residents would, and compare its answers with
the products and shops as the database has them now; a tenant's own template for the ads block must still say 广告."""

from __future__ import annotations

from sqlalchemy import text

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.search import indexing
from marketplace.spec.model import Status
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import credit
from tests.spec import trust_world
from tests.spec.trust_world import decide

street = trust_world.street  # a fruit shop selling apples (29.90) and pears (19.90)

UNLABELLED_ADS = "{% for ad in ads %}<a href='#'>{{ ad.title }}</a>{% endfor %}"


def behind_the_index(sql: str, **values) -> None:
    """Change rows the way a bulk import writing straight to the tables would: the search index is not told."""
    db.session.execute(text(sql), values)
    db.session.commit()


def test_pc11_passes_when_the_sorted_results_match_the_products(street):
    tenant, _shop, apples, pears, _buyer = street
    finding = decide(tenant, "PC-11")
    assert finding.status == Status.passed and "销量" in finding.detail


def test_pc11_names_products_a_stale_index_sorts_wrongly_by_price(street):
    tenant, _shop, apples, pears, _buyer = street
    assert decide(tenant, "PC-11").status == Status.passed
    behind_the_index("UPDATE variants SET price = 100 WHERE product_id = :id", id=apples.id)
    finding = decide(tenant, "PC-11")
    assert finding.status == Status.failed
    assert finding.evidence == [f"商品 {pears.id} 排在商品 {apples.id} 之前，按“价格从低到高”排序应在其后"]


def test_pc11_and_ce6_fail_when_the_tenant_template_drops_the_ad_label(street, tenant_templates):
    tenant, *_ = street
    tenant_templates(tenant, {"search/_ads.html": UNLABELLED_ADS})
    for requirement in ("PC-11", "CE-6"):
        finding = decide(tenant, requirement)
        assert finding.status == Status.failed and "推广商品没有标注“广告”" in finding.evidence


def test_ce6_passes_when_credit_sort_and_filter_match_the_stored_standing(street, make_shop, make_product):
    tenant, shop, *_ = street
    rated = make_shop(tenant, slug="rated", name_zh="老字号")
    make_product(rated, title="新郑大枣", price=3500, stock=10)
    with tenant_scope(tenant):  # stored as a refresh stores it: the row, then its products' documents
        db.session.add(credit.ShopCredit(tenant_id=tenant.id, shop_id=rated.id, score=93, level="A",
                                         computed_at=utcnow()))
        indexing.touch(tenant.id, "shop", [rated.id])
        db.session.commit()
    assert decide(tenant, "CE-6").status == Status.passed


def test_ce6_names_products_filed_under_a_level_their_shop_no_longer_has(street):
    tenant, shop, apples, pears, _buyer = street
    assert decide(tenant, "CE-6").status == Status.passed
    behind_the_index("INSERT INTO shop_credit (tenant_id, shop_id, score, level, computed_at) "
                     "VALUES (:tenant, :shop, 95, 'A', CURRENT_TIMESTAMP)", tenant=tenant.id, shop=shop.id)
    finding = decide(tenant, "CE-6")
    assert finding.status == Status.failed
    assert f"筛选信用 new 时出现了信用为 A 的店铺的商品 {apples.id}" in finding.evidence


def test_ce6_a_serious_violator_ranks_below_every_c_shop(street, make_shop, make_product):
    from datetime import date

    from marketplace.trust import public_records

    tenant, shop, *_ = street
    middling = make_shop(tenant, slug="middling", name_zh="一般店")
    make_product(middling, title="新郑大枣", price=3500, stock=10)
    with tenant_scope(tenant):
        db.session.add(credit.ShopCredit(tenant_id=tenant.id, shop_id=middling.id, score=65, level="C",
                                         computed_at=utcnow()))
        indexing.touch(tenant.id, "shop", [middling.id])
        public_records.record(tenant, shop.merchant, public_records.RecordInput(
            kind="serious_violation", authority="郑州市市场监督管理局", document_number="豫严违〔2026〕1号",
            decided_on=date(2026, 11, 2)))
        db.session.commit()
    assert decide(tenant, "CE-6").status == Status.passed
