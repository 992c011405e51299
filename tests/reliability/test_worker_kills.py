"""Workers dying mid-request: the kernel's out-of-memory killer, gunicorn's timeout, an operator's kill -9. Only the
workers of the gunicorn this test started are killed; its master starts new ones."""

from __future__ import annotations

import http.client
import os
import random
import signal
import statistics
import threading
import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.orders.models import OrderGroup
from marketplace.tenancy.context import all_tenants
from tests.reliability.conftest import in_parallel

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

CHECKOUTS = 300
KILL_EVERY_S = 2
#: Kills that must land while checkouts run. A fast machine places 300 checkouts in 16 s (8 kills): the checkouts
#: are spread over at least this many kill intervals and a bit, whatever the machine.
KILLS_AT_LEAST = 10
SPREAD_S = KILL_EVERY_S * (KILLS_AT_LEAST + 2)
#: A phone retrying the same request (same Idempotency-Key) as long as a resident would wait.
PATIENCE_S = 90


class Killer(threading.Thread):
    """SIGKILL one of the platform's workers every KILL_EVERY_S seconds, until stopped."""

    def __init__(self, platform):
        super().__init__(daemon=True)
        self.platform, self.stop, self.killed = platform, threading.Event(), []

    def run(self):
        rng = random.Random(13)
        while not self.stop.wait(KILL_EVERY_S):
            alive = sorted(self.platform.workers())
            if alive:
                victim = rng.choice(alive)
                try:
                    os.kill(victim, signal.SIGKILL)
                    self.killed.append(victim)
                except ProcessLookupError:
                    pass


def until_answered(send, seen: Counter):
    """``send()`` again, unchanged, while the connection drops (its worker killed), the key's first request is still
    held (409 idempotency_key_in_use) or the platform asks to retry (503): what a client does with a key."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            answer = send()
        except (OSError, http.client.HTTPException):
            seen["connection dropped"] += 1
        else:
            retry = answer.status == 503 or (answer.status == 409 and answer.code == "idempotency_key_in_use")
            if not retry:
                return answer
            seen[f"{answer.status} {answer.code}"] += 1
        assert time.monotonic() < deadline, f"no answer within {PATIENCE_S} s: {seen}"
        time.sleep(0.2)


def test_workers_killed_every_2_seconds_during_300_checkouts_lose_and_double_nothing(platform):
    variant = platform.product("东北珍珠米 10kg", stock=1_000, price=5990)
    seen, keys, took = Counter(), {}, []
    killer = Killer(platform)
    killer.start()
    try:
        def buy(n: int) -> None:
            time.sleep(max(0.0, started + n * SPREAD_S / CHECKOUTS - time.monotonic()))
            added = until_answered(lambda: platform.add_to_cart(n, variant), seen)
            assert added.status == 200, added.text
            key = uuid.uuid4().hex
            began = time.monotonic()
            placed = until_answered(lambda: platform.checkout(n, key), seen)
            took.append(time.monotonic() - began)
            assert placed.status in (200, 201), placed.text
            keys[n] = (key, placed.body["number"], placed.body["orders"][0]["number"])

        started = time.monotonic()
        in_parallel(CHECKOUTS, buy, threads=8)
        placing = time.monotonic() - started
    finally:
        killer.stop.set()
        killer.join()

    def confirm(n: int) -> None:  # paid at the counter: the shop confirms each order, retrying the same key
        key = uuid.uuid4().hex
        moved = until_answered(lambda: platform.shop_call(
            0, "POST", f"/orders/{keys[n][2]}/transitions", {"action": "confirm_payment"}, key=key), seen)
        assert moved.status == 200 and moved.body["status"] == "paid", moved.text

    # Every group must now have its payment to be paid once: one whose payment a killed worker never recorded
    # would be paid with no money recorded (the invariants check it).
    in_parallel(CHECKOUTS, confirm, threads=8)

    with platform.app.app_context(), all_tenants():
        groups = dict(db.session.execute(
            select(OrderGroup.idempotency_key, func.count(OrderGroup.id))
            .where(OrderGroup.idempotency_key.in_([key for key, _group, _order in keys.values()]))
            .group_by(OrderGroup.idempotency_key)).all())
        paid = db.session.scalar(select(func.count(OrderGroup.id)).where(
            OrderGroup.number.in_([group for _key, group, _order in keys.values()]), OrderGroup.paid_at.is_not(None)))
    print(f"\n[{platform.database}] {len(killer.killed)} workers killed, one every {KILL_EVERY_S} s: "
          f"{len(keys)} checkouts placed in {placing:.0f} s (each {statistics.median(took):.2f} s, at worst "
          f"{max(took):.1f} s), {len(groups)} order groups for {len(keys)} keys, "
          f"{paid} paid once; retries: {dict(seen)}")
    assert len(killer.killed) >= KILLS_AT_LEAST
    assert len(keys) == CHECKOUTS and len(groups) == CHECKOUTS and set(groups.values()) == {1}  # one per key
    assert paid == CHECKOUTS
    assert len(platform.workers()) == 4  # the master replaced every one
    platform.check()  # stock, payments (paid once, in full), one history chain: nothing doubled, nothing lost
