"""The one shipment state machine every delivery provider follows: forward only, and receipt is final."""

from __future__ import annotations

import pytest

from marketplace.delivery.providers import (
    CANCELLABLE,
    RECEIVED,
    TRANSITIONS,
    ProviderLoadError,
    ShipmentStatus,
    move,
    provider_class,
)

S = ShipmentStatus


def test_every_status_has_its_moves_and_a_label():
    assert set(TRANSITIONS) == set(S.values())
    assert all(str(S(status).label) for status in S.values())
    assert all(to in TRANSITIONS for moves in TRANSITIONS.values() for to in moves)


@pytest.mark.parametrize(("path", "received_at"), [
    ([S.created, S.ready_for_pickup, S.collected], 2),  # collected at the stall or the shared counter
    ([S.created, S.picked_up_by_carrier, S.in_transit, S.out_for_delivery, S.delivered], 4),  # express
    ([S.created, S.out_for_delivery, S.delivered], 2),  # a same-city courier from the shop's door
    ([S.created, S.picked_up_by_carrier, S.exception, S.in_transit, S.delivered], 4),  # held up, then delivered
])
def test_the_usual_journeys_move_forward_and_receipt_comes_last(path, received_at):
    for index, (current, to) in enumerate(zip(path, path[1:], strict=False), start=1):
        step = move(current, to)
        assert step.allowed, (current, to)
        assert step.received == (index == received_at)


@pytest.mark.parametrize(("current", "to"), [
    (S.in_transit, S.picked_up_by_carrier),  # backwards
    (S.delivered, S.in_transit),  # after receipt nothing moves
    (S.delivered, S.delivered),  # nor twice
    (S.collected, S.returned),
    (S.out_for_delivery, S.cancelled),  # the goods left: too late to cancel
    (S.created, S.delivered),  # nobody carried it
    ("created", "teleported"),
])
def test_moves_outside_the_machine_are_refused(current, to):
    assert not move(current, to).allowed


def test_only_goods_still_at_the_shop_may_be_cancelled_and_only_receipt_starts_the_return_window():
    assert {s for s in S.values() if S.cancelled in TRANSITIONS[s]} == CANCELLABLE
    assert {S.delivered, S.collected} == RECEIVED


def test_an_unknown_provider_is_refused_by_name():
    with pytest.raises(ProviderLoadError, match="unknown delivery provider 'drone'"):
        provider_class("drone")
