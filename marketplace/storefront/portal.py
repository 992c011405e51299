"""The city portal: every live street and market as a card with its small map, and, for a signed-in resident,
their latest orders and the pickups waiting for them above the cards.

An anonymous visit costs the same two queries however many tenants and shops there are (the tenants with their
shop counts, and every placed shop for the maps); the resident's part adds a fixed few, only when signed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import get_locale
from markupsafe import Markup

from marketplace.accounts import purchases
from marketplace.delivery import services as delivery
from marketplace.delivery.pickup import code_for
from marketplace.orders.models import Order, OrderGroup
from marketplace.shops import floorplans, maps
from marketplace.shops import services as shops
from marketplace.tenancy.models import Tenant, TenantKind

#: How many of the resident's latest orders the portal shows (the rest are a link away).
RECENT_ORDERS = 3


def tenant_maps(tenants: list[Tenant]) -> dict[int, Markup]:
    """Per tenant id, its card's small map: the street with its frontages, or a market's first floor with its stalls.
    Tenants without a drawable layout or without placed shops have none."""
    placed = shops.placed_shops_by_tenant()
    locale = str(get_locale() or "zh_CN")
    drawn = {}
    for tenant in tenants:
        found = placed.get(tenant.id)
        if not found:
            continue
        if tenant.kind == TenantKind.street:
            svg = maps.street_thumbnail(tenant, found)
        elif tenant.kind == TenantKind.market:
            svg = floorplans.floor_thumbnail(tenant, found, locale=locale)
        else:
            svg = Markup("")
        if svg:
            drawn[tenant.id] = svg
    return drawn


@dataclass
class WaitingPickup:
    pickup: purchases.Pickup
    tenant: Tenant
    #: Where to collect (the shop, or the shared counter), as the order page words it.
    place: str
    #: The collection code as the order page shows it (``1234 5678``); only ever on the buyer's own pages.
    code: str


@dataclass
class ResidentPanel:
    recent: list[tuple[Order, OrderGroup, Tenant]] = field(default_factory=list)
    pickups: list[WaitingPickup] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.recent or self.pickups)


def resident_panel(user) -> ResidentPanel:
    """The signed-in resident's latest orders (any tenant) and every pickup waiting for them; empty for a visitor,
    without a query."""
    if not getattr(user, "is_authenticated", False):
        return ResidentPanel()
    groups = purchases.checkouts(user.id, limit=RECENT_ORDERS)  # enough: each checkout has at least one order
    waiting = purchases.waiting_pickups(user.id)
    tenants = purchases.tenants_by_id({group.tenant_id for group in groups}
                                      | {pickup.order.tenant_id for pickup in waiting})
    recent = [(order, group, tenants[group.tenant_id]) for group in groups for order in group.orders]
    locale = str(get_locale() or "zh_CN")
    pickups = []
    for pickup in waiting:
        tenant = tenants[pickup.order.tenant_id]
        code = code_for(pickup.shipment) or ""
        pickups.append(WaitingPickup(pickup, tenant, delivery.collection_place(tenant, pickup.shipment, pickup.shop,
                                                                               locale),
                                     f"{code[:4]} {code[4:]}" if code else ""))
    return ResidentPanel(recent[:RECENT_ORDERS], pickups)
