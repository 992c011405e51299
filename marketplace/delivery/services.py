"""Shipments and their one way of moving.

``start_shipment`` makes the shipment of an order; ``advance`` is the only way its status changes: a move the
state machine does not allow (backwards, twice, after receipt) is refused with ``DeliveryError``, and every
move is appended to the shipment's timeline. Every function flushes and leaves the commit to its caller.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import update

from marketplace.core.db import utcnow
from marketplace.delivery.models import Shipment, ShipmentEvent
from marketplace.delivery.providers import CANCELLABLE, DeliveryError, ShipmentStatus, move
from marketplace.extensions import db
from marketplace.orders.models import Order


def tracking_token() -> str:
    """The secret part of a public tracking address: 192 random bits, not guessable from anything."""
    return secrets.token_urlsafe(24)


def start_shipment(order: Order, provider: str, *, option_code: str = "", fee: int = 0,
                   address: dict | None = None) -> Shipment:
    shipment = Shipment(tenant_id=order.tenant_id, order_id=order.id, provider=provider, option_code=option_code,
                        status=ShipmentStatus.created, fee=fee, currency=order.group.currency,
                        address=dict(address or {}), tracking_token=tracking_token())
    db.session.add(shipment)
    db.session.flush()
    db.session.add(ShipmentEvent(tenant_id=order.tenant_id, shipment_id=shipment.id, from_status="",
                                 to_status=ShipmentStatus.created, note=_("已创建配送单")))
    db.session.flush()
    return shipment


def advance(shipment: Shipment, to: str, *, actor_id: int | None = None, note: str = "", location: str = "",
            at: datetime | None = None) -> None:
    """Move a shipment one step along the state machine and append it to its timeline.

    The move is made only from the status this copy has (a carrier's report and a merchant's click at once
    cannot both move it). Reaching ``delivered`` or ``collected`` records when the buyer had the goods.
    """
    step = move(shipment.status, to)
    if not step.allowed:
        raise DeliveryError(_("配送单当前为“%(status)s”，不能改为“%(to)s”。",
                              status=ShipmentStatus(shipment.status).label,
                              to=ShipmentStatus(to).label if to in ShipmentStatus.__members__ else to),
                            "invalid_transition")
    at = at or utcnow()
    values = {"status": to, **({"received_at": at} if step.received else {})}
    moved = db.session.execute(update(Shipment).where(Shipment.id == shipment.id, Shipment.status == shipment.status)
                               .values(**values).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.refresh(shipment, ["status"])
        raise DeliveryError(_("配送单刚刚被更新过，请刷新后再试。"), "moved_meanwhile")
    db.session.add(ShipmentEvent(tenant_id=shipment.tenant_id, shipment_id=shipment.id, at=at,
                                 from_status=shipment.status, to_status=to, actor_id=actor_id,
                                 note=note[:1000], location=location[:200]))
    shipment.status = to
    if step.received:
        shipment.received_at = at
    db.session.flush()


def cancel(shipment: Shipment, *, actor_id: int | None = None, note: str = "") -> None:
    """Call a shipment off while the goods have not left; after that, refused (a return is the way)."""
    if shipment.status not in CANCELLABLE:
        raise DeliveryError(_("货物已发出，不能取消配送。"), "too_late")
    advance(shipment, ShipmentStatus.cancelled, actor_id=actor_id, note=note)
