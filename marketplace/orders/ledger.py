"""The settlement ledger: what the platform owes one shop for a period, computed from orders and refunds.

Nothing is stored: the ledger is a report over ``OrderEvent`` (when an order was paid) and ``Refund`` (when
money went back), so it can be re-run for any period and always agrees with the orders.

* A period is a range of days on the tenant's calendar, both ends included; an order counts on the day it
  reached ``paid``, a refund on the day it was made. A refund of an order paid in an earlier period counts in
  the period of the refund.
* Commission is what each order recorded when it was placed (``Order.commission``). When money goes back the
  platform gives back its commission **pro rata**: after refunds totalling R of an order's total T, the
  commission given back is ``round_half_up(commission × R / T)``. It is computed on the running total of
  refunds, so several partial refunds never give back more, or less, than one refund of the same sum, and a
  full refund gives back the whole commission, to the fen.
* Net due to the shop = paid − refunded − (commission − commission given back).

Only refunds with status ``succeeded`` count; a pending refund has not left anyone's account yet. Money
given back that no order kept (a duplicate payment, one that arrived after its order was cancelled) is the
platform's, not the shop's: refunds tied to a payment (``Refund.payment_id``) are left out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from marketplace.orders.returns import Refund, RefundStatus, yuan
from marketplace.shops.models import Shop
from marketplace.tenancy.models import Tenant

#: Longest period one ledger covers (a year and a day for leap years): bounds the work of one request.
MAX_DAYS = 367


class LedgerError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    """One line of the ledger: an order paid (positive) or a refund (negative amounts)."""

    day: date
    kind: str  # "payment" or "refund"
    order_number: str
    amount: int
    commission: int

    @property
    def net(self) -> int:
        return self.amount - self.commission


@dataclass
class Ledger:
    shop_id: int
    start: date
    end: date
    orders_paid: int = 0
    paid: int = 0
    refunds: int = 0
    refunded: int = 0
    commission: int = 0
    commission_returned: int = 0
    entries: list[Entry] = field(default_factory=list)

    @property
    def net_commission(self) -> int:
        return self.commission - self.commission_returned

    @property
    def net_due(self) -> int:
        return self.paid - self.refunded - self.net_commission


def commission_returned(commission: int, total: int, refunded: int) -> int:
    """Commission given back once ``refunded`` of ``total`` has gone back (pro rata, rounded half up)."""
    if total <= 0:
        return 0
    return (commission * refunded * 2 + total) // (2 * total)


def _utc_bounds(tenant: Tenant, start: date, end: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tenant.timezone)
    return (datetime.combine(start, time.min, zone).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC))


def shop_ledger(tenant: Tenant, shop: Shop, start: date, end: date) -> Ledger:
    """The ledger of ``shop`` from ``start`` to ``end`` (tenant's calendar, both included)."""
    if not isinstance(start, date) or not isinstance(end, date) or end < start:
        raise LedgerError(_("结算期间不正确：结束日期不能早于开始日期。"))
    if (end - start).days >= MAX_DAYS:
        raise LedgerError(_("结算期间最长一年。"))
    zone = ZoneInfo(tenant.timezone)
    since, until = _utc_bounds(tenant, start, end)
    ledger = Ledger(shop_id=shop.id, start=start, end=end)

    # An order paid, unpaid by the state machine and paid again cannot happen; min() guards against doubles.
    paid = db.session.execute(
        select(Order, OrderEvent.at).join(OrderEvent, OrderEvent.order_id == Order.id)
        .where(Order.shop_id == shop.id, OrderEvent.to_status == OrderStatus.paid,
               OrderEvent.at >= since, OrderEvent.at < until)
        .order_by(OrderEvent.at, Order.id)).all()
    seen: set[int] = set()
    for order, at in paid:
        if order.id in seen:
            continue
        seen.add(order.id)
        ledger.orders_paid += 1
        ledger.paid += order.total
        ledger.commission += order.commission
        ledger.entries.append(Entry(at.astimezone(zone).date(), "payment", order.number, order.total,
                                    order.commission))

    refunds = db.session.execute(
        select(Refund, Order).join(Order, Refund.order_id == Order.id)
        .where(Order.shop_id == shop.id, Refund.status == RefundStatus.succeeded, Refund.payment_id.is_(None),
               Refund.refunded_at >= since, Refund.refunded_at < until)
        .order_by(Refund.refunded_at, Refund.id)).all()
    if refunds:
        # Running totals need every earlier refund of these orders, including those before the period.
        order_ids = {order.id for _refund, order in refunds}
        history = db.session.scalars(
            select(Refund).where(Refund.order_id.in_(order_ids), Refund.status == RefundStatus.succeeded,
                                 Refund.payment_id.is_(None))
            .order_by(Refund.refunded_at, Refund.id)).all()
        before: dict[int, int] = {}
        given_back: dict[int, int] = {}
        orders = {order.id: order for _refund, order in refunds}
        for refund in history:
            order = orders[refund.order_id]
            running = before.get(order.id, 0) + refund.amount
            back = commission_returned(order.commission, order.total, running)
            given_back[refund.id] = back - commission_returned(order.commission, order.total,
                                                               before.get(order.id, 0))
            before[order.id] = running
        for refund, order in refunds:
            ledger.refunds += 1
            ledger.refunded += refund.amount
            ledger.commission_returned += given_back[refund.id]
            ledger.entries.append(Entry(refund.refunded_at.astimezone(zone).date(), "refund", order.number,
                                        -refund.amount, -given_back[refund.id]))
    ledger.entries.sort(key=lambda e: (e.day, e.kind != "payment", e.order_number))
    return ledger


def ledger_csv(ledger: Ledger) -> bytes:
    """The ledger as CSV in UTF-8 with a byte-order mark (Excel then reads the Chinese right); amounts in yuan."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    kinds = {"payment": _("付款"), "refund": _("退款")}
    writer.writerow([_("日期"), _("类型"), _("订单号"), _("金额（元）"), _("佣金（元）"), _("应结（元）")])
    for entry in ledger.entries:
        writer.writerow([entry.day.isoformat(), kinds[entry.kind], _safe(entry.order_number), yuan(entry.amount),
                         yuan(entry.commission), yuan(entry.net)])
    writer.writerow([])
    writer.writerow([_("结算期间"), f"{ledger.start.isoformat()} — {ledger.end.isoformat()}"])
    writer.writerow([_("付款订单数"), ledger.orders_paid])
    writer.writerow([_("付款金额（元）"), yuan(ledger.paid)])
    writer.writerow([_("退款笔数"), ledger.refunds])
    writer.writerow([_("退款金额（元）"), yuan(ledger.refunded)])
    writer.writerow([_("佣金（元）"), yuan(ledger.commission)])
    writer.writerow([_("退还佣金（元）"), yuan(ledger.commission_returned)])
    writer.writerow([_("应结金额（元）"), yuan(ledger.net_due)])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _safe(text: str) -> str:
    """A cell Excel will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
