"""Returns (七日无理由退货) and refunds.

What the law asks, in short (re-check against the official texts before relying on it):

* A buyer of goods bought online may return them without giving a reason within seven days of receiving
  them (消费者权益保护法 Art. 25). The seven days start on the day *after* the goods were signed for or
  picked up (网络购买商品七日无理由退货暂行办法 Arts. 2 and 10), so goods signed for on the 1st may be
  returned until the end of the 8th. We count days on the tenant's calendar (its time zone), and take the
  moment of receipt from the order history: the first time the order reached ``delivered`` or ``picked_up``.
* Four kinds of goods are outside that right by law (Art. 25; 暂行办法 Art. 6): goods made to the buyer's
  order, fresh or perishable goods, audio-visual products or software that were downloaded or unsealed, and
  newspapers and periodicals. Three more (Art. 7: goods that once unsealed touch health or quality, goods that
  lose value once activated, goods sold as near expiry or flawed) are outside it only when the buyer
  confirmed so at purchase: checkout asks for that tick (``catalog.models.CONFIRMED_AT_CHECKOUT``). A category
  carries its code in ``Category.return_exclusion``; each order line keeps the code it was bought under, so a
  later change to the category neither takes the right away nor gives it back.
* Goods that fail the quality promised may be returned within seven days too (CRPL Art. 24): that is a
  return with ``no_reason=False`` and a stated reason; category exclusions do not apply to it.
* The merchant must answer and give a real return address promptly (暂行办法 Art. 11); we give it
  ``respond_hours`` (48 by default, a tenant setting) and approve on its behalf when it stays silent
  (``auto_approve_overdue``, run by a job). The refund is due within seven days of the goods coming back
  (Art. 13), through the original payment channel.
* ``refund`` records money going back to the buyer, through the provider the order was paid with. For
  ``offline`` it is recorded ``succeeded`` — the merchant paid the buyer back by hand; for a provider that
  moves money it starts ``pending`` and ``payments.services.send_refund`` asks the provider after the commit. ``Order.refunded`` never exceeds ``Order.total``: the
  increase is a conditional update, safe under concurrent refunds, and the database CHECK backs it up.

Every function works on the current tenant, flushes, and leaves the commit to its caller.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from marketplace.catalog.models import EXCLUSIONS
from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from marketplace.orders.services import is_digits, refund_status_for, restock, transition
from marketplace.tenancy.models import Tenant, TenantScoped
from marketplace.tenancy.settings import Setting, SettingsGroup

#: Days after receipt during which goods may be returned (the day of receipt itself not counted).
RETURN_DAYS = 7
#: Per tenant: how long a merchant has to answer a return request before it is approved for them.
returns_settings = SettingsGroup("returns", respond_hours=Setting(int, 48))
MAX_REASON = 1000


@labelled({"requested": _l("待商家处理"), "approved": _l("已同意退货"), "rejected": _l("已拒绝"),
           "received": _l("商家已收货"), "refunded": _l("已退款")})
class ReturnStatus(LabelledEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    received = "received"
    refunded = "refunded"


#: Returns in these states hold their quantities: the same units cannot be asked back twice.
OPEN_OR_DONE = (ReturnStatus.requested, ReturnStatus.approved, ReturnStatus.received, ReturnStatus.refunded)


@labelled({"pending": _l("处理中"), "succeeded": _l("已退款"), "failed": _l("退款失败")})
class RefundStatus(LabelledEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class ReturnRequest(TenantScoped, TimestampMixin, db.Model):
    """A buyer asking to send back some of an order's goods, and the merchant's answer."""

    __tablename__ = "return_requests"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint("status IN ('requested', 'approved', 'rejected', 'received', 'refunded')", name="status"),
        Index("ix_return_requests_tenant_id_shop_id_status", "tenant_id", "shop_id", "status"),
        UniqueConstraint("order_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    #: The form submission or API Idempotency-Key that asked for it: sent twice, it is one request.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=ReturnStatus.requested)
    #: True for a 7-day return without reason; False for goods that fail the quality promised.
    no_reason: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: What the returned goods cost the buyer, in fen (unit price paid × quantity returned).
    amount: Mapped[int] = mapped_column()
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Approved for the merchant if it has not answered by then.
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: None when the platform approved it because the merchant did not answer in time.
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    #: Where the buyer sends the goods, given with the approval.
    return_address: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()
    lines: Mapped[list[ReturnLine]] = relationship(back_populates="request", order_by="ReturnLine.id",
                                                   cascade="all, delete-orphan")
    #: Money paid back on this request (read only: refunds are made by ``refund``).
    refunds: Mapped[list[Refund]] = relationship(viewonly=True, order_by="Refund.id")


class ReturnLine(TenantScoped, db.Model):
    __tablename__ = "return_lines"
    __table_args__ = (CheckConstraint("quantity >= 1 AND amount >= 0", name="amounts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("return_requests.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[int] = mapped_column()
    amount: Mapped[int] = mapped_column()

    request: Mapped[ReturnRequest] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


class Refund(TenantScoped, TimestampMixin, db.Model):
    """Money paid back to a buyer on one order. Kept (never deleted) as transaction records (ECL Art. 31)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        Index("ix_refunds_tenant_id_refunded_at", "tenant_id", "refunded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("return_requests.id", ondelete="RESTRICT"))
    #: Set for money given back that no order kept (a second payment for a paid group, a payment that arrived
    #: after its order was cancelled): the payment it came from. Such refunds are not the shop's, and the
    #: settlement ledger leaves them out.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"), index=True)
    amount: Mapped[int] = mapped_column()
    #: The currency of ``amount`` (its order group's).
    currency: Mapped[str] = mapped_column(String(3), default="CNY", server_default="CNY")
    #: The payment provider id that moves the money ("offline": the merchant pays back by hand).
    provider: Mapped[str] = mapped_column(String(63), default="offline")
    status: Mapped[str] = mapped_column(String(16), default=RefundStatus.succeeded)
    #: The provider's reference for the refund, when it has one.
    reference: Mapped[str] = mapped_column(String(100), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    #: When the money went back; the settlement ledger counts the refund on that day.
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()


class ReturnError(ValueError):
    """A return or refund that cannot be made; ``code`` is stable, the message is for people."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


# -- the return window ----------------------------------------------------------------------------------------------

SIGNED_FOR = (OrderStatus.delivered, OrderStatus.picked_up)


def received_on(tenant: Tenant, order: Order) -> date | None:
    """The day (tenant's calendar) the buyer signed for or picked up the goods, as the shipment recorded it;
    None if not yet. An order moved without its shipment (one from before shipments existed) reads its own
    history."""
    from marketplace.delivery.models import Shipment  # the delivery package builds on orders

    at = db.session.scalar(select(Shipment.received_at).where(Shipment.order_id == order.id))
    if at is None:
        at = db.session.scalar(select(func.min(OrderEvent.at)).where(OrderEvent.order_id == order.id,
                                                                     OrderEvent.to_status.in_(SIGNED_FOR)))
    if at is None:
        return None
    return at.astimezone(ZoneInfo(tenant.timezone)).date()


def last_return_day(tenant: Tenant, order: Order) -> date | None:
    """The last day a return may be asked for: receipt day + 7 (the day of receipt does not count)."""
    received = received_on(tenant, order)
    return None if received is None else received + timedelta(days=RETURN_DAYS)


def returnable_quantities(order: Order) -> dict[int, int]:
    """Per order line id: how many units may still be asked back (bought less already in a return)."""
    taken = dict(db.session.execute(
        select(ReturnLine.order_line_id, func.sum(ReturnLine.quantity)).join(ReturnRequest)
        .where(ReturnRequest.order_id == order.id, ReturnRequest.status.in_(OPEN_OR_DONE))
        .group_by(ReturnLine.order_line_id)).all())
    return {line.id: line.quantity - int(taken.get(line.id) or 0) for line in order.lines}


def _exclusions(order: Order) -> dict[int, str]:
    """Per order line id: the exclusion code it was bought under, where there is one."""
    return {line.id: line.return_exclusion for line in order.lines if line.return_exclusion}


def _lock(order: Order) -> Order:
    """The order row, re-read and locked for this transaction (PostgreSQL; SQLite's writer lock does it)."""
    return db.session.scalars(select(Order).where(Order.id == order.id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def _count(raw) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not is_digits(str(raw).strip()) \
            or len(str(raw).strip()) > 6:
        raise ReturnError(_("退货数量应为正整数。"), "bad_quantity")
    return int(str(raw).strip())


# -- requests and answers -------------------------------------------------------------------------------------------

def request_return(tenant: Tenant, order: Order, quantities: dict, *, buyer_id: int, reason: str = "",
                   no_reason: bool = True, key: str = "", today: date | None = None,
                   now: datetime | None = None) -> ReturnRequest:
    """The buyer asks to send back ``quantities`` (order line id → units) of a signed-for order.

    Refused (``ReturnError``) when the goods have not been received, the 7-day window is over on the tenant's
    calendar, a line is not in this order, more units are asked than were bought and not already returned,
    a no-reason return includes goods of an excluded category, or a quality return gives no reason. With a
    ``key`` (the form's submission id, the API's Idempotency-Key) the same submission made twice gives back
    the request the first one made.
    """
    now = now or utcnow()
    today = today or now.astimezone(ZoneInfo(tenant.timezone)).date()
    order = _lock(order)
    if order.buyer_id != buyer_id:
        raise ReturnError(_("只能为自己的订单申请退货。"), "not_your_order")
    key = (key or "").strip()[:100]
    if key:
        existing = db.session.scalar(select(ReturnRequest).where(ReturnRequest.order_id == order.id,
                                                                 ReturnRequest.idempotency_key == key))
        if existing is not None:  # the order row lock above makes the second submission wait for the first
            return existing
    received = received_on(tenant, order)
    if received is None or order.status not in (*SIGNED_FOR, OrderStatus.completed, OrderStatus.refunding):
        raise ReturnError(_("签收或取货后才能申请退货。"), "not_received")
    last_day = received + timedelta(days=RETURN_DAYS)
    if today > last_day:
        raise ReturnError(_("退货期限已过：签收次日起七日内（截至 %(day)s）可申请退货。", day=last_day.isoformat()),
                          "window_closed")
    reason = (reason or "").strip()[:MAX_REASON]
    if not no_reason and not reason:
        raise ReturnError(_("请说明商品的质量问题。"), "reason_required")
    if not isinstance(quantities, dict) or not quantities:
        raise ReturnError(_("请选择要退的商品和数量。"), "nothing_to_return")
    lines = {line.id: line for line in order.lines}
    left = returnable_quantities(order)
    excluded = _exclusions(order) if no_reason else {}
    request = ReturnRequest(tenant_id=tenant.id, order_id=order.id, shop_id=order.shop_id, buyer_id=buyer_id,
                            idempotency_key=key or None, status=ReturnStatus.requested, no_reason=no_reason, reason=reason, amount=0,
                            requested_at=now,
                            respond_by=now + timedelta(hours=returns_settings.get(tenant, "respond_hours")))
    for raw_id, raw_quantity in quantities.items():
        line_id = int(raw_id) if is_digits(str(raw_id)) and len(str(raw_id)) < 12 else None
        line = lines.get(line_id)
        if line is None:
            raise ReturnError(_("这件商品不在该订单中。"), "unknown_line")
        quantity = _count(raw_quantity)
        if quantity == 0:
            continue
        if quantity > left[line.id]:
            raise ReturnError(_("“%(title)s”最多还能退 %(n)d 件。", title=line.title, n=left[line.id]),
                              "too_many")
        if line.id in excluded:
            raise ReturnError(_("“%(title)s”属于%(kind)s，不适用七日无理由退货。", title=line.title,
                                kind=EXCLUSIONS.get(excluded[line.id], excluded[line.id])), "excluded")
        request.lines.append(ReturnLine(tenant_id=tenant.id, order_line_id=line.id, quantity=quantity,
                                        amount=line.unit_price * quantity))
    if not request.lines:
        raise ReturnError(_("请选择要退的商品和数量。"), "nothing_to_return")
    request.amount = sum(line.amount for line in request.lines)
    db.session.add(request)
    db.session.flush()
    from marketplace.webhooks import services as webhooks  # webhooks read returns, not the other way round

    webhooks.emit("return.requested", tenant_id=tenant.id, shop_id=order.shop_id, data={
        "return_id": request.id, "order_number": order.number, "amount": request.amount,
        "currency": order.group.currency, "no_reason": request.no_reason, "reason": request.reason,
        "lines": [{"order_line_id": line.order_line_id, "quantity": line.quantity, "amount": line.amount}
                  for line in request.lines]})
    return request


def _require(request: ReturnRequest, *statuses: str) -> None:
    if request.status not in statuses:
        raise ReturnError(_("该退货申请当前为“%(status)s”，不能这样处理。", status=ReturnStatus(request.status).label),
                          "bad_status")


def approve(request: ReturnRequest, *, actor_id: int | None, return_address: str,
            now: datetime | None = None) -> None:
    """The merchant agrees and says where the goods go back to (a real address is required by law)."""
    _require(request, ReturnStatus.requested)
    address = (return_address or "").strip()[:500]
    if not address:
        raise ReturnError(_("请填写退货地址、联系人和电话。"), "address_required")
    request.status = ReturnStatus.approved
    request.return_address = address
    request.decided_at = now or utcnow()
    request.decided_by = actor_id
    db.session.flush()


def reject(request: ReturnRequest, *, actor_id: int, reason: str, now: datetime | None = None) -> None:
    """The merchant refuses, saying why (the buyer may then complain to the platform)."""
    _require(request, ReturnStatus.requested)
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise ReturnError(_("请说明拒绝的理由。"), "reason_required")
    request.status = ReturnStatus.rejected
    request.reject_reason = reason
    request.decided_at = now or utcnow()
    request.decided_by = actor_id
    db.session.flush()


def default_return_address(tenant: Tenant, request: ReturnRequest) -> str:
    """The shop's own place on the street or in the market, used when the platform approves for it."""
    shop = request.order.shop
    place = " ".join(p for p in (tenant.address_zh, shop.building, shop.street_number, shop.zone, shop.stall) if p)
    return " ".join(p for p in (place, shop.name_zh, shop.phone) if p)


def auto_approve_overdue(tenant: Tenant, now: datetime | None = None) -> int:
    """Approve the current tenant's requests the merchant left unanswered past ``respond_by`` (a job, run
    hourly). Returns how many were approved."""
    now = now or utcnow()
    overdue = list(db.session.scalars(
        select(ReturnRequest).where(ReturnRequest.status == ReturnStatus.requested, ReturnRequest.respond_by < now)
        .order_by(ReturnRequest.id).options(selectinload(ReturnRequest.order).selectinload(Order.shop))))
    for request in overdue:
        approve(request, actor_id=None, return_address=default_return_address(tenant, request), now=now)
    return len(overdue)


def mark_received(request: ReturnRequest, *, actor_id: int, now: datetime | None = None) -> None:
    """The goods came back to the shop: the refund is now due within seven days."""
    _require(request, ReturnStatus.approved)
    request.status = ReturnStatus.received
    request.received_at = now or utcnow()
    db.session.flush()


def refund_return(request: ReturnRequest, *, actor_id: int | None, now: datetime | None = None) -> Refund:
    """Pay back what the returned goods cost (the merchant may refund before the goods arrive)."""
    _require(request, ReturnStatus.approved, ReturnStatus.received)
    refund_ = refund(request.order, request.amount, actor_id=actor_id, now=now, return_request=request,
                     note=_("退货退款"))
    request.status = ReturnStatus.refunded
    db.session.flush()
    return refund_


# -- refunds --------------------------------------------------------------------------------------------------------

#: Orders from which a part of the money may go back. Before receipt only a full refund is possible: the
#: state machine has no way back from ``refunding`` to ``paid`` or ``accepted``.
PARTIAL_FROM = (*SIGNED_FOR, OrderStatus.completed, OrderStatus.refunding)
BEFORE_DISPATCH = (OrderStatus.paid, OrderStatus.accepted)
FULL_FROM = (*BEFORE_DISPATCH, *PARTIAL_FROM)


def parcel_came_back(order: Order) -> bool:
    """The carrier brought the goods back to the shop (refused, undeliverable): the buyer is refunded in full."""
    from marketplace.delivery.models import Shipment  # the delivery package builds on orders
    from marketplace.delivery.providers import ShipmentStatus

    return db.session.scalar(select(Shipment.status).where(Shipment.order_id == order.id)) == ShipmentStatus.returned


def refundable(order: Order) -> int:
    """What may still go back to the buyer of this order, in fen."""
    return max(order.total - order.refunded, 0)


def refund(order: Order, amount, *, actor_id: int | None, now: datetime | None = None,
           return_request: ReturnRequest | None = None, note: str = "", reference: str = "") -> Refund:
    """Record ``amount`` fen going back to the buyer, never more than was paid and not yet refunded.

    The order moves to ``refunding`` and then to ``refunded`` when all of it has gone back, or to
    ``completed`` after a partial refund. Raises ``ReturnError`` for a bad amount or an order that cannot be
    refunded. Concurrent refunds are safe: the increase of ``Order.refunded`` is conditional in SQL. A refund a
    provider still has ``pending`` counts too: money promised back is not refundable a second time.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ReturnError(_("退款金额应为正数（单位：分）。"), "bad_amount")
    order = _lock(order)
    came_back = order.status == OrderStatus.shipped and parcel_came_back(order)
    if order.status not in FULL_FROM and not came_back:
        raise ReturnError(_("订单 %(number)s 当前为“%(status)s”，不能退款。", number=order.number,
                            status=OrderStatus(order.status).label), "not_refundable")
    full = order.refunded + amount == order.total
    if not full and order.status not in PARTIAL_FROM:
        raise ReturnError(_("商品签收前只能全额退款。"), "full_refund_only")
    moved = db.session.execute(
        update(Order).where(Order.id == order.id, Order.refunded + amount <= Order.total)
        .values(refunded=Order.refunded + amount).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.refresh(order)
        raise ReturnError(_("退款金额超过可退金额（还可退 %(left)s 元）。", left=yuan(refundable(order))),
                          "too_much")
    db.session.refresh(order, ["refunded"])
    now = now or utcnow()
    # The money goes back the way it came: by the provider the group was paid with.
    provider = order.group.payment_provider
    record = Refund(tenant_id=order.tenant_id, order_id=order.id, return_id=return_request.id if return_request else None,
                    amount=amount, currency=order.group.currency, provider=provider, status=refund_status_for(provider), reference=reference[:100],
                    actor_id=actor_id, note=(note or "")[:1000], refunded_at=now)
    db.session.add(record)
    if order.status in BEFORE_DISPATCH or came_back:  # the goods never left the shop, or came back to it
        restock(order)
    if order.status != OrderStatus.refunding:
        transition(order, OrderStatus.refunding, actor_id=actor_id, note=_("退款 %(amount)s 元", amount=yuan(amount)))
    if order.refunded >= order.total:
        transition(order, OrderStatus.refunded, actor_id=actor_id, note=_("已全额退款"))
    else:
        transition(order, OrderStatus.completed, actor_id=actor_id, note=_("已部分退款"))
    db.session.flush()
    return record


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals, exactly (no floats): 12345 → "123.45"."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"
