"""The credit score's formula on hand-computed examples (docs/credit.md shows the same ones)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.trust.credit import CreditInputs, score


def test_a_new_shop_starts_from_the_priors():
    # Ratings: r = 20 / 5 = 4.0 → 40 × 3/4 = 30. On time: 9/10 → 22.5. No cancellations: 15. No complaints: 20.
    result = score(CreditInputs())
    assert result.parts == {"ratings": Decimal("30.00"), "fulfilment": Decimal("22.50"),
                            "cancellations": Decimal("15.00"), "complaints": Decimal("20.00")}
    assert (result.score, result.level, result.provisional) == (88, "B", True)


def test_a_busy_shop_with_good_ratings_and_one_upheld_complaint():
    # 40 reviews averaging 4.75 (sum 190): r = (190 + 20) / 45 = 4.6667 → 36.67.
    # 100 promises, 96 on time: (96 + 9) / 110 = 0.9545 → 23.86.
    # 200 orders, 2 rejected: c = 0.01 → 15 × 0.95 = 14.25.
    # 1 upheld, 1 partly: k = 1.5 / 200 = 0.0075 → 20 × 0.925 = 18.50.
    result = score(CreditInputs(reviews=40, rating_sum=Decimal(190), orders=200, rejected=2, promises_due=100,
                                on_time=96, upheld=1, partly_upheld=1))
    assert result.parts == {"ratings": Decimal("36.67"), "fulfilment": Decimal("23.86"),
                            "cancellations": Decimal("14.25"), "complaints": Decimal("18.50")}
    assert (result.score, result.level, result.provisional) == (93, "A", False)


@pytest.mark.parametrize("inputs, expected", [
    # Everything wrong: ratings of 1 (r = (30 + 20) / 35 = 1.43 → 4.29), half late ((10 + 9) / 30 → 15.83),
    # one in five rejected (0), one in ten upheld (0): 20.12 → 20, D.
    (CreditInputs(reviews=30, rating_sum=Decimal(30), orders=50, rejected=10, promises_due=20, on_time=10,
                  upheld=5), (20, "D")),
    # The thresholds: exactly 65 is C.
    (CreditInputs(reviews=5, rating_sum=Decimal(15), orders=20, rejected=2, promises_due=0, on_time=0,
                  upheld=1, partly_upheld=0), (65, "C")),
])
def test_levels_follow_the_score(inputs, expected):
    result = score(inputs)
    assert (result.score, result.level) == expected


def test_the_same_inputs_always_give_the_same_score():
    inputs = CreditInputs(reviews=7, rating_sum=Decimal("30.25"), orders=33, rejected=1, promises_due=12, on_time=11)
    assert score(inputs) == score(inputs)


def test_the_shops_own_records_move_its_score_as_the_formula_says(market, make_user):
    """A shop's window read from the database: a five-star review raises the ratings part, an order the merchant
    rejects lowers the cancellations part, a complaint the operator upholds lowers the complaints part."""
    from marketplace.extensions import db
    from marketplace.orders import services as orders
    from marketplace.tenancy.context import tenant_scope
    from marketplace.trust import complaints
    from marketplace.trust.credit import credit_inputs, shop_credit
    from tests.trust.test_reviews import place, review

    tenant, shop, apples, pears, buyer = market
    with tenant_scope(tenant):
        assert shop_credit(shop).score == 88  # a new shop: the priors
    done = place(tenant, buyer, {apples: 1}, "credit-1")
    review(tenant, done, buyer, ratings={"product": 5, "described": 5, "service": 5, "delivery": 5})
    with tenant_scope(tenant):
        inputs = credit_inputs(shop)
        assert (inputs.reviews, inputs.rating_sum, inputs.orders) == (1, Decimal(5), 1)
        # r = (5 + 20) / 6 = 4.1667 → 31.67; 22.5 + 15 + 20: 89.17 → 89.
        assert shop_credit(shop).parts["ratings"] == Decimal("31.67") and shop_credit(shop).score == 89

    rejected = place(tenant, buyer, {pears: 1}, "credit-2", steps=("paid",))
    merchant = make_user("owner@credit.example")
    with tenant_scope(tenant):
        orders.transition(rejected, orders.S.cancelled, actor_id=merchant.id, note="拒单原因：缺货")
        db.session.commit()
        inputs = credit_inputs(shop)
        assert (inputs.orders, inputs.rejected) == (2, 1)
        assert shop_credit(shop).parts["cancellations"] == Decimal("7.50")  # c = 1 / 10 → 15 × 0.5

        complaint = complaints.file_complaint(tenant, done, buyer_id=buyer.id, category="quality",
                                              description="苹果有虫眼")
        complaints.answer(complaint, actor_id=merchant.id, text="已联系买家换货")
        complaints.escalate(complaint, actor_id=buyer.id, reason="没有换")
        complaints.decide(complaint, actor_id=merchant.id, outcome="upheld")
        db.session.commit()
        assert credit_inputs(shop).upheld == 1
        # k = 1 / 20 → 20 × 0.5 = 10: 31.67 + 22.5 + 7.5 + 10 = 71.67 → 72, C.
        result = shop_credit(shop)
        assert result.parts["complaints"] == Decimal("10.00") and (result.score, result.level) == (72, "C")
