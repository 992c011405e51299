"""What must hold after every reliability case, whatever the case did to the platform.

Read straight from the database the server wrote, through an application on the same database:

* **stock balances**: for every variant, the stock it started with = what is on the shelf now + what unpaid
  orders hold + what was sold, and the shelf is never below zero. An order gives its units back only by a
  cancellation from a status before the goods left the shop (``orders.services.RESTOCK_ON_CANCEL``);
* **orders and payments belong together**: no order without its group, no group without orders, no payment
  for a group without orders;
* **paid means paid once, in full**: every paid group has exactly one succeeded payment, for the group's total;
  no succeeded payment for a group that was never paid;
* **every move written once**: each order's history is one chain from its placing to its status now, with no
  step repeated and none missing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderGroup, OrderLine, OrderStatus
from marketplace.orders.services import RESTOCK_ON_CANCEL
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.tenancy.context import all_tenants


@dataclass
class Broken:
    """What did not hold, by invariant: an empty report is a pass."""

    found: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, invariant: str, what: str) -> None:
        self.found[invariant].append(what)

    def __bool__(self) -> bool:
        return any(self.found.values())

    def __str__(self) -> str:
        return "\n".join(f"{name}: {len(items)} — {items[:5]}" for name, items in self.found.items() if items)


def check(app, initial_stock: dict[int, int]) -> Broken:
    """Every invariant, for the variants whose starting stock is given (variant id → units)."""
    broken = Broken()
    with app.app_context(), all_tenants():
        _stock(broken, initial_stock)
        _groups_and_payments(broken)
        _histories(broken)
        db.session.rollback()
    return broken


def _stock(broken: Broken, initial_stock: dict[int, int]) -> None:
    if not initial_stock:
        return
    returned = select(OrderEvent.order_id).where(OrderEvent.to_status == OrderStatus.cancelled,
                                                 OrderEvent.from_status.in_(RESTOCK_ON_CANCEL))
    taken = dict(db.session.execute(
        select(OrderLine.variant_id, func.sum(OrderLine.quantity))
        .where(OrderLine.variant_id.in_(initial_stock), OrderLine.order_id.not_in(returned))
        .group_by(OrderLine.variant_id)).all())
    shelf = dict(db.session.execute(select(Variant.id, Variant.stock).where(Variant.id.in_(initial_stock))).all())
    for variant_id, started in initial_stock.items():
        now, out = shelf.get(variant_id), taken.get(variant_id, 0)
        if now is None or now < 0:
            broken.add("stock never negative", f"variant {variant_id}: {now}")
        elif started != now + out:
            broken.add("stock balances", f"variant {variant_id}: started {started} ≠ shelf {now} + orders {out}")


def _groups_and_payments(broken: Broken) -> None:
    empty_groups = db.session.scalars(select(OrderGroup.number).where(
        ~select(Order.id).where(Order.group_id == OrderGroup.id).exists())).all()
    for number in empty_groups:
        broken.add("no group without orders", number)
    orphan_payments = db.session.scalars(select(Payment.id).where(
        ~select(Order.id).where(Order.group_id == Payment.group_id).exists())).all()
    for payment_id in orphan_payments:
        broken.add("no payment without orders", f"payment {payment_id}")
    succeeded = defaultdict(list)
    for group_id, amount in db.session.execute(select(Payment.group_id, Payment.amount_captured)
                                               .where(Payment.status == PaymentStatus.succeeded)):
        succeeded[group_id].append(amount)
    for group_id, number, total, paid_at in db.session.execute(
            select(OrderGroup.id, OrderGroup.number, OrderGroup.total, OrderGroup.paid_at)):
        payments = succeeded.get(group_id, [])
        if paid_at is not None:
            if len(payments) != 1:
                broken.add("one succeeded payment per paid group", f"{number}: {len(payments)}")
            elif payments[0] != total:
                broken.add("payment equals the total", f"{number}: paid {payments[0]} of {total}")
        elif paid_at is None and payments:
            broken.add("no payment for an unpaid group", f"{number}: {payments}")


def _histories(broken: Broken) -> None:
    events = defaultdict(list)
    for order_id, from_status, to_status in db.session.execute(
            select(OrderEvent.order_id, OrderEvent.from_status, OrderEvent.to_status).order_by(OrderEvent.id)):
        events[order_id].append((from_status, to_status))
    for order_id, number, status in db.session.execute(select(Order.id, Order.number, Order.status)):
        steps = events.get(order_id, [])
        repeated = [step for step, times in Counter(steps).items() if times > 1]
        chained = all(steps[n][0] == steps[n - 1][1] for n in range(1, len(steps)))
        if not steps or steps[0][0] != "" or not chained or steps[-1][1] != status:
            broken.add("one history chain per order", f"{number} ({status}): {steps}")
        elif repeated:
            broken.add("each move written once", f"{number}: {repeated}")
