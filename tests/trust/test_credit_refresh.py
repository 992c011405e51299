"""The stored credit standing search ranks by: refreshed at once after a review or a complaint decision, and for every
shop by the daily ``flask trust credit``; the index follows each shop whose standing moved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.search import services
from marketplace.search.backend import SearchQuery
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.trust import cli as trust_cli
from marketplace.trust import complaints
from marketplace.trust.credit import ShopCredit, refresh_credit
from tests.trust.test_reviews import place, review

FIVE_STARS = {"product": 5, "described": 5, "service": 5, "delivery": 5}


def stored(tenant, shop) -> tuple[int, str] | None:
    db.session.expire_all()
    with tenant_scope(tenant):
        row = db.session.scalar(select(ShopCredit).where(ShopCredit.shop_id == shop.id))
        return None if row is None else (row.score, row.level)


def found(tenant, *levels: str) -> set[int]:
    with tenant_scope(tenant):
        return set(services.search(tenant, SearchQuery(credit_levels=list(levels), size=50)).result.ids)


def test_a_refresh_stores_each_shops_standing_and_counts_only_the_ones_that_moved(market, make_tenant, make_shop):
    tenant, shop, *_ = market
    other = make_tenant(slug="other-street")
    elsewhere = make_shop(other, slug="elsewhere")
    assert stored(tenant, shop) is None
    with tenant_scope(tenant):
        assert refresh_credit() == 1  # scored for the first time
        first = db.session.scalar(select(ShopCredit.computed_at))
        assert refresh_credit() == 0  # nothing happened since
        assert refresh_credit([elsewhere]) == 0  # another tenant's shop is not this scope's to score
        db.session.commit()
    assert stored(tenant, shop) == (88, "new")  # no orders, no reviews: a new shop's provisional 88
    assert stored(other, elsewhere) is None
    with tenant_scope(tenant):
        assert db.session.scalar(select(ShopCredit.computed_at)) >= first  # checked again, even if unchanged


def test_a_refresh_needs_a_tenant(app_ctx):
    with pytest.raises(RuntimeError, match="tenant scope"):
        refresh_credit()


def test_reviews_and_a_complaint_decision_move_the_standing_search_ranks_by_at_once(market, make_user):
    tenant, shop, apples, pears, buyer = market
    done = [place(tenant, buyer, {apples: 1, pears: 1}, f"credit-{n}") for n in range(5)]
    for order in done[:4]:
        review(tenant, order, buyer, ratings=FIVE_STARS)
    # Four reviews and four orders: still too few for a firm score. r = 40 / 9 → 34.44 + 57.5 = 92, provisional.
    assert stored(tenant, shop) == (92, "new")
    assert found(tenant, "new") == {apples.id, pears.id}
    review(tenant, done[4], buyer, ratings=FIVE_STARS)
    # The fifth review makes the score firm: r = 45 / 10 = 4.5 → 35 + 22.5 + 15 + 20 = 92.5 → 93, A.
    assert stored(tenant, shop) == (93, "A")
    assert found(tenant, "A") == {apples.id, pears.id} and found(tenant, "new") == set()

    merchant = make_user("owner@credit-refresh.example")
    with tenant_scope(tenant):
        complaint = complaints.file_complaint(tenant, done[0], buyer_id=buyer.id, category="quality",
                                              description="苹果有虫眼")
        complaints.answer(complaint, actor_id=merchant.id, text="已联系买家换货")
        complaints.escalate(complaint, actor_id=buyer.id, reason="没有换")
        assert stored(tenant, shop) == (93, "A")  # an open complaint costs nothing yet
        complaints.decide(complaint, actor_id=merchant.id, outcome="upheld")
        db.session.commit()
    # One upheld in the first twenty orders: k = 1 / 20 → 10 points of 20: 82.5 → 83, B.
    assert stored(tenant, shop) == (83, "B")
    assert found(tenant, "B") == {apples.id, pears.id} and found(tenant, "A") == set()


def test_the_daily_command_refreshes_every_tenant_or_the_one_named(app, market, make_tenant, make_shop,
                                                                   make_product, monkeypatch):
    tenant, shop, *_ = market
    other = make_tenant(slug="tea-street")
    teahouse, teashop = make_shop(other, slug="teahouse"), make_shop(other, slug="teashop")
    tea = make_product(teahouse, title="信阳毛尖")
    monkeypatch.setattr(trust_cli, "CREDIT_BATCH", 1)  # a transaction per shop: every batch is refreshed
    run = app.test_cli_runner().invoke

    named = run(trust_cli.trust, ["credit", "--tenant", "tea-street"])
    assert named.exit_code == 0, named.output
    assert "tea-street：2 家店铺的信用有变化。" in named.output and "review-street" not in named.output
    assert stored(other, teahouse) == stored(other, teashop) == (88, "new") and stored(tenant, shop) is None
    assert found(other, "new") == {tea.id}

    every = run(trust_cli.trust, ["credit"])
    assert every.exit_code == 0, every.output
    assert "review-street：1 家店铺的信用有变化。" in every.output
    assert "tea-street：0 家店铺的信用有变化。" in every.output and "共 1 家店铺的信用有变化。" in every.output
    with all_tenants():
        assert db.session.scalar(select(func.count(ShopCredit.id))) == 3

    unknown = run(trust_cli.trust, ["credit", "--tenant", "no-such-street"])
    assert unknown.exit_code != 0 and "没有这个市场：no-such-street" in unknown.output


def test_the_demo_city_is_scored_so_its_search_sorts_by_credit(app, monkeypatch):
    from marketplace.shops.models import Shop
    from marketplace.tenancy.models import Tenant
    from tests.demo.test_demo import run_demo

    monkeypatch.setitem(app.config["MARKETPLACE"], "DEMO_CATALOG", True)
    monkeypatch.setitem(app.config["MARKETPLACE"], "DEMO_IMAGES", False)
    run_demo(app)
    with all_tenants():
        shops = set(db.session.scalars(select(Shop.id)))
        assert set(db.session.scalars(select(ShopCredit.shop_id))) == shops  # every shop, in every tenant
        street = db.session.scalar(select(Tenant).where(Tenant.slug == "dehua-street"))
    with tenant_scope(street):
        everything = services.search(street, SearchQuery(size=0)).result
        assert sum(v.count for v in everything.facets["credit"]) == everything.total > 0
        by_credit = services.search(street, SearchQuery(sort="credit", size=5)).result
        assert by_credit.total == everything.total and len(by_credit.ids) == 5
