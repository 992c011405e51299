"""The resident's own checkouts and waiting pickups, read across every tenant.

The orders page (``/account/orders``) and the city portal read them here, the same way. Each query is platform-wide
(``all_tenants()``) and filtered to one buyer: that filter is the whole guard, so it is in every query below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import ShipmentStatus
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderGroup
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant

#: A pickup the buyer still has to collect: being prepared, or ready at the shop or the shared counter.
WAITING_PICKUP = (ShipmentStatus.ready_for_pickup, ShipmentStatus.created)


def checkout_count(buyer_id: int) -> int:
    with all_tenants():
        return db.session.scalar(select(func.count(OrderGroup.id)).where(OrderGroup.buyer_id == buyer_id)) or 0


def checkouts(buyer_id: int, *, limit: int, offset: int = 0) -> list[OrderGroup]:
    """The buyer's checkouts from every tenant, newest first, with their orders and the orders' shops loaded."""
    with all_tenants():
        return list(db.session.scalars(
            select(OrderGroup).where(OrderGroup.buyer_id == buyer_id)
            .options(selectinload(OrderGroup.orders).selectinload(Order.shop))
            .order_by(OrderGroup.created_at.desc(), OrderGroup.id.desc())
            .limit(limit).offset(offset)))


@dataclass
class Pickup:
    """One order waiting to be collected, with what its line on a page needs already loaded."""

    shipment: Shipment
    order: Order
    group: OrderGroup
    shop: Shop

    @property
    def ready(self) -> bool:
        return self.shipment.status == ShipmentStatus.ready_for_pickup


def waiting_pickups(buyer_id: int) -> list[Pickup]:
    """Every pickup of the buyer's still to collect, in every tenant: ready ones first, then newest first."""
    with all_tenants():
        rows = db.session.execute(
            select(Shipment, Order).join(Order, Order.id == Shipment.order_id)
            .where(Order.buyer_id == buyer_id, Shipment.provider == "pickup", Shipment.status.in_(WAITING_PICKUP))
            .options(joinedload(Order.shop), joinedload(Order.group))
            .order_by((Shipment.status == ShipmentStatus.ready_for_pickup).desc(), Order.id.desc())).all()
    return [Pickup(shipment, order, order.group, order.shop) for shipment, order in rows]


def tenants_by_id(tenant_ids: Iterable[int]) -> dict[int, Tenant]:
    """The tenants the buyer's orders belong to (any status: a suspended street's orders stay the buyer's)."""
    ids = set(tenant_ids)
    return {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_(ids)))} if ids else {}
