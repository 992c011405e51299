"""Handing goods over at the counter: a pickup code is good for one handover, however many clerks type it at once."""

from __future__ import annotations

import uuid

import pytest

from tests.reliability.conftest import all_at_once

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

CLERKS = 20


def test_one_pickup_code_typed_at_20_counters_at_once_hands_the_goods_over_once(platform):
    buyer = 450
    variant = platform.product("西湖龙井 明前特级 250g", stock=5, price=25800)
    platform.empty_cart(buyer)
    assert platform.add_to_cart(buyer, variant).status == 200
    placed = platform.checkout(buyer)
    assert placed.status == 201, placed.text
    group, order = placed.body["number"], placed.body["orders"][0]["number"]
    shipment = platform.call("GET", f"/orders/{group}/orders/{order}/shipment", platform.residents[buyer])
    code = shipment.body["pickup_code"]
    for action in ("confirm_payment", "accept", "prepared"):  # paid at the counter, accepted, packed
        moved = platform.shop_call(0, "POST", f"/orders/{order}/transitions", {"action": action},
                                   key=uuid.uuid4().hex)
        assert moved.status == 200, moved.text

    answers = all_at_once(CLERKS, lambda _n: platform.shop_call(
        0, "POST", f"/orders/{order}/transitions", {"action": "picked_up", "code": code}, key=uuid.uuid4().hex))

    handed = [answer for answer in answers if answer.status == 200]
    refused = [answer for answer in answers if answer.status == 409
               and answer.code in {"invalid_transition", "already_collected", "moved_meanwhile"}]
    print(f"\n[{platform.database}] one code at {CLERKS} counters at once: {len(handed)} handover, "
          f"{len(refused)} told it was collected already")
    assert len(handed) == 1 and handed[0].body["status"] == "picked_up"
    assert len(refused) == CLERKS - 1, [f"{a.status} {a.text[:200]}" for a in answers if a not in handed + refused]
    platform.check()
