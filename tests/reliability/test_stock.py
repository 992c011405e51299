"""Stock under a crowd: nothing is oversold, nothing is half-bought, and nobody waits on a deadlock."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import RESIDENTS, all_at_once, in_parallel

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

FLASH_UNITS = 50


def is_out_of_stock(answer) -> bool:
    """The clear refusal: 409 cart_problems, the sold-out variant named with a message that says so."""
    errors = (answer.body or {}).get("errors") or {} if isinstance(answer.body, dict) else {}
    return (answer.status == 409 and answer.code == "cart_problems"
            and any("库存" in message or "售罄" in message for message in errors.values()))


def test_a_flash_sale_of_50_units_to_500_buyers_at_once_sells_exactly_50(platform):
    variant = platform.product("秒杀：新疆阿克苏冰糖心苹果 5kg", stock=FLASH_UNITS, price=1990)
    in_parallel(RESIDENTS, platform.empty_cart)
    added = in_parallel(RESIDENTS, lambda n: platform.add_to_cart(n, variant))
    assert {answer.status for answer in added} == {200}, [a.text for a in added if a.status != 200][:3]

    answers = all_at_once(RESIDENTS, lambda n: platform.checkout(n))

    placed = [answer for answer in answers if answer.status == 201]
    refused = [answer for answer in answers if is_out_of_stock(answer)]
    odd = [f"{answer.status} {answer.text[:200]}" for answer in answers if answer not in placed + refused]
    print(f"\n[{platform.database}] {RESIDENTS} checkouts at once for {FLASH_UNITS} units: {len(placed)} orders, "
          f"{len(refused)} told it sold out, {len(odd)} other answers")
    assert odd == []
    assert len(placed) == FLASH_UNITS and len(refused) == RESIDENTS - FLASH_UNITS
    assert len({answer.body["number"] for answer in placed}) == FLASH_UNITS
    platform.check()  # the stock balances: 50 held by 50 orders, 0 left, never below zero


def test_a_three_shop_cart_racing_a_sell_out_is_bought_whole_or_not_at_all_every_round(platform):
    """100 rounds: two buyers want the last unit of one shop's goods, each with goods of two other shops in the
    cart; the one who misses it gets nothing at all, and the other two shops' stock is as if they never came."""
    rounds, plenty = 100, 1_000
    pear, tea = (platform.product("砀山酥梨", stock=plenty, shop=1), platform.product("信阳毛尖", stock=plenty, shop=2))
    won = 0
    for round_ in range(rounds):
        last = platform.product(f"限量复合肥 第{round_}批", stock=1)
        buyers = (2 * round_) % RESIDENTS, (2 * round_ + 1) % RESIDENTS
        for buyer in buyers:
            platform.empty_cart(buyer)
            for variant in (pear, tea, last):
                assert platform.add_to_cart(buyer, variant).status == 200
        answers = all_at_once(2, lambda n, buyers=buyers: platform.checkout(buyers[n]))
        statuses = sorted(answer.status for answer in answers)
        assert statuses == [201, 409], [a.text[:200] for a in answers]
        winner = next(answer for answer in answers if answer.status == 201)
        assert len(winner.body["orders"]) == 3
        assert is_out_of_stock(next(answer for answer in answers if answer.status == 409))
        won += 1
    assert won == rounds
    platform.check()  # pear and tea: exactly one unit each per round, in the winners' orders


# PostgreSQL's alone: SQLite writes one transaction at a time, so two can never wait on each other.
@pytest.mark.parametrize("platform", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_carts_taking_the_same_two_items_in_opposite_orders_never_deadlock(platform):
    """8 buyers at a time, 50 rounds, each cart holding the same two goods added in opposite orders: checkout
    takes stock by variant id whatever the cart's order, so PostgreSQL never has to break a deadlock."""
    first, second = platform.product("东北大米 10kg", stock=10_000), platform.product("花生油 5L", stock=10_000, shop=1)
    buyers, rounds = 8, 50
    for round_ in range(rounds):
        for n in range(buyers):
            if round_ == 0:
                platform.empty_cart(100 + n)
            order = (first, second) if n % 2 else (second, first)
            for variant in order:
                assert platform.add_to_cart(100 + n, variant).status == 200
        answers = all_at_once(buyers, lambda n: platform.checkout(100 + n))
        assert [answer.status for answer in answers] == [201] * buyers, [a.text[:200] for a in answers]
    assert "deadlock" not in platform.server.log().lower()
    platform.check()
