"""What a merchant may do to an order: one table of moves, shared by the console's buttons and the merchant API.

A merchant never names a target status. It takes an ``Action`` (accept, prepared, reject…), and the action is
offered only from the statuses it lists, only where the state machine (``services.TRANSITIONS``) allows its
move, and — for confirming an offline payment — only for a group paid offline. Both the console's order page
and ``POST …/orders/<number>/transitions`` read this table, so what a merchant may do is the same wherever it
asks: "paid" is reached only through ``confirm_offline_payment`` (which also marks the group paid), and a
pickup order has no way to "shipped" or "delivered".

Every function flushes and leaves the commit to its caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.delivery import pickup
from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import DeliveryError, ShipmentStatus
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus

S = OrderStatus


@dataclass(frozen=True)
class Action:
    """One move a merchant may ask for: its name (the console's button, the API's ``action``), the status it
    leads to, and the statuses it is offered from."""

    name: str
    label: str
    to: str
    from_statuses: frozenset[str]
    needs_reason: bool = False
    offline_only: bool = False
    done: str = ""
    #: The delivery providers whose orders it is offered for (None: every order); such a step moves the
    #: order's shipment, and the order follows it (``delivery.services.advance``).
    providers: frozenset[str] | None = None
    shipment_to: str = ""
    #: Handing goods over needs the buyer's pickup code (``delivery.pickup``): one code, one handover.
    needs_code: bool = False


ACTIONS: dict[str, Action] = {action.name: action for action in (
    Action("confirm_payment", _l("确认收款"), S.paid, frozenset({S.pending_payment}), offline_only=True,
           done=_l("已确认收款。")),
    Action("accept", _l("接单"), S.accepted, frozenset({S.paid}), done=_l("已接单，请尽快备货。")),
    Action("prepared", _l("备货完成"), S.ready_for_pickup, frozenset({S.accepted}), done=_l("已备货，等待买家取货。"),
           providers=frozenset({"pickup"}), shipment_to=ShipmentStatus.ready_for_pickup),
    Action("picked_up", _l("核对取货码并交货"), S.picked_up, frozenset({S.ready_for_pickup}),
           done=_l("取货码正确，已记录买家取货。"), providers=frozenset({"pickup"}),
           shipment_to=ShipmentStatus.collected, needs_code=True),
    Action("out_for_delivery", _l("出发配送"), S.shipped, frozenset({S.accepted}), done=_l("已出发配送。"),
           providers=frozenset({"local_courier"}), shipment_to=ShipmentStatus.out_for_delivery),
    Action("delivered", _l("已送达"), S.delivered, frozenset({S.shipped}), done=_l("已记录送达，买家签收。"),
           providers=frozenset({"local_courier"}), shipment_to=ShipmentStatus.delivered),
    Action("complete", _l("完成"), S.completed, frozenset({S.picked_up, S.delivered}), done=_l("订单已完成。")),
    # The carrier brought the parcel back (refused, undeliverable): the goods go back on the shelf, the money back.
    Action("refund_returned", _l("包裹已退回，全额退款"), S.refunding, frozenset({S.shipped}),
           done=_l("已全额退款，商品已退回库存。")),
    # Before the goods leave the shop the merchant may still refuse the order; its stock goes back on the shelf.
    Action("reject", _l("拒单"), S.cancelled, frozenset(orders.RESTOCK_ON_CANCEL), needs_reason=True,
           done=_l("已拒单，库存已退回。")),
)}


def actions_for(order: Order) -> list[Action]:
    """The actions offered for the order as it is now (the buttons of its console page)."""
    return [action for action in ACTIONS.values() if offered(action, order)]


def offered(action: Action, order: Order) -> bool:
    """Whether ``action`` may be taken on ``order`` now."""
    return (order.status in action.from_statuses
            and action.to in orders.TRANSITIONS.get(order.status, ())
            and (not action.offline_only or order.group.payment_provider == "offline")
            and (action.providers is None or order.delivery_provider in action.providers)
            and not (action.name == "picked_up" and _at_the_counter(order))
            and (action.name != "refund_returned" or returns.parcel_came_back(order)))


def _at_the_counter(order: Order) -> bool:
    """Goods left at the tenant's shared counter are handed over there, against their code, by its staff."""
    return db.session.scalar(select(Shipment.option_code).where(Shipment.order_id == order.id)) == "counter"


def refusal(action: Action, order: Order, reason: str, code: str = "") -> tuple[str, str] | None:
    """Why ``action`` cannot be taken on ``order`` now with this reason (and pickup code): a stable code and a
    message for the merchant (``reason_required``, ``wrong_code`` or ``invalid_transition``); None when it can."""
    if action.needs_reason and not reason:
        return "reason_required", _("请填写拒单原因，买家会看到它。")
    if action.needs_code and offered(action, order):
        found = pickup.find_by_code(code)
        if found is None or found.order_id != order.id:
            return "wrong_code", _("取货码不正确：请核对买家出示的 8 位取货码。")
    if action.offline_only and order.group.payment_provider != "offline":
        return "invalid_transition", _("这笔订单是在线支付的，收款由支付平台确认，不能手动确认。")
    if not offered(action, order):
        return "invalid_transition", str(orders.InvalidTransition(order, action.to))
    return None


def perform(order: Order, action: Action, *, actor_id: int | None, reason: str = "", key: str | None = None,
            code: str = "") -> None:
    """Take ``action`` on ``order`` (check ``refusal`` first). A rejection's reason goes into the history
    for the buyer to read; for other actions ``reason`` is an optional note. ``key`` is the API request's
    Idempotency-Key, kept on the history entry. Raises ``InvalidTransition`` when the order moved meanwhile."""
    if action.name == "confirm_payment":
        confirm_offline_payment(order, actor_id=actor_id, key=key, note=reason)
    elif action.name == "refund_returned":
        returns.refund(order, returns.refundable(order), actor_id=actor_id, note=reason or _("包裹被退回"))
    elif action.needs_code:
        try:
            pickup.redeem(code, actor_id=actor_id, shop_ids={order.shop_id}, key=key)
        except DeliveryError as error:
            raise orders.InvalidTransition(order, action.to) from error
    elif action.shipment_to:
        _move_shipment(order, action, actor_id=actor_id, note=reason, key=key)
    else:
        note = _("拒单原因：%(reason)s", reason=reason) if action.needs_reason else reason
        orders.transition(order, action.to, actor_id=actor_id, note=note, key=key)


def _move_shipment(order: Order, action: Action, *, actor_id: int | None, note: str, key: str | None) -> None:
    """A delivery step: the shipment moves and the order follows; the history entry keeps the API's key."""
    from marketplace.delivery import services as delivery  # the delivery package builds on orders

    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    if shipment is None:  # an order placed before shipments existed: the order alone moves
        orders.transition(order, action.to, actor_id=actor_id, note=note, key=key)
        return
    try:
        delivery.advance(shipment, action.shipment_to, actor_id=actor_id, note=note, key=key)
    except DeliveryError as error:
        raise orders.InvalidTransition(order, action.to) from error


def confirm_offline_payment(order: Order, *, actor_id: int | None, key: str | None = None, note: str = "") -> None:
    """The merchant received the buyer's offline payment for this order: it becomes paid, and its group is
    marked paid once none of the group's orders still waits for payment (cancelled ones do not count).

    ``note`` replaces the standard history note; ``key`` is kept on the history entry (see ``perform``).
    Flushes; the caller commits. Online payments are confirmed by their provider, not here.
    """
    if order.group.payment_provider != "offline":
        raise orders.InvalidTransition(order, S.paid)
    orders.transition(order, S.paid, actor_id=actor_id, note=note or _("商户确认已收到线下付款"), key=key)
    orders.mark_group_paid_if_settled(order.group_id)
