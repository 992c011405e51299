"""The delivery provider interface: how goods get from a shop to a resident, and the values that cross it.

A provider quotes (a shop's part of a cart, to an address or to a pickup point → options with a fee in fen, a
promised time and its constraints), creates a shipment for an order, reports tracking events, and cancels. The
platform keeps the shipment and its timeline (``delivery.models``); a provider only ever hands over the frozen
dataclasses below, so it can be written and tested with the delivery conformance kit alone.

One state machine holds for every provider (``TRANSITIONS``): a shipment only moves forward, and reaching
``delivered`` or ``collected`` is the moment the buyer received the goods — the 7-day return window starts the
day after. Providers are found in ``BUILT_IN_PROVIDERS`` and through the ``marketplace.delivery_providers``
entry point.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.core.plugins import load, registered


@labelled({"created": _l("待发货"), "ready_for_pickup": _l("待取货"), "picked_up_by_carrier": _l("已揽收"),
           "in_transit": _l("运输中"), "out_for_delivery": _l("派送中"), "delivered": _l("已签收"),
           "collected": _l("已取货"), "exception": _l("配送异常"), "returned": _l("已退回"),
           "cancelled": _l("已取消")})
class ShipmentStatus(LabelledEnum):
    created = "created"
    ready_for_pickup = "ready_for_pickup"
    picked_up_by_carrier = "picked_up_by_carrier"
    in_transit = "in_transit"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    collected = "collected"
    exception = "exception"
    returned = "returned"
    cancelled = "cancelled"


S = ShipmentStatus
#: Every move a shipment may make; tracking that tries anything else (a step back, a second delivery) is refused.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.created: frozenset({S.ready_for_pickup, S.picked_up_by_carrier, S.out_for_delivery, S.cancelled}),
    S.ready_for_pickup: frozenset({S.collected, S.returned, S.cancelled}),
    S.picked_up_by_carrier: frozenset({S.in_transit, S.out_for_delivery, S.exception}),
    S.in_transit: frozenset({S.out_for_delivery, S.delivered, S.exception}),
    S.out_for_delivery: frozenset({S.delivered, S.exception}),
    S.exception: frozenset({S.in_transit, S.out_for_delivery, S.delivered, S.returned}),
    S.delivered: frozenset(),
    S.collected: frozenset(),
    S.returned: frozenset(),
    S.cancelled: frozenset(),
}
#: The buyer has the goods: the return window counts from the day after.
RECEIVED = frozenset({S.delivered, S.collected})
#: A shipment may be called off only before the goods left the shop (or the pickup point).
CANCELLABLE = frozenset({S.created, S.ready_for_pickup})


@dataclass(frozen=True)
class Address:
    """Where goods go: a mainland address by administrative division codes, as the address book keeps it."""

    recipient: str
    mobile: str
    province_code: str
    city_code: str
    district_code: str
    street: str
    #: The buyer agreed that a parcel locker or a third party (a neighbour, the doorman) may sign for it.
    third_party_signing: bool = False


@dataclass(frozen=True)
class Parcel:
    """A shop's part of a cart, as a carrier weighs it."""

    weight_g: int
    volume_cm3: int = 0
    items: int = 1
    value: int = 0  # fen


#: Opening hours as shops keep them: weekday ("mon" … "sun") → "09:00-21:00" or "closed".
Hours = Mapping[str, str]


@dataclass(frozen=True)
class PickupPoint:
    """Where a buyer may collect: the shop or stall itself, or the street's or market's shared counter."""

    code: str  # "shop" or "counter"
    name: str
    place: str = ""  # "德化街 88 号（东侧）", "A 馆 1 层 A-018"
    hours: Hours = field(default_factory=dict)


@dataclass(frozen=True)
class Origin:
    """The shop the goods leave from, as a provider needs to know it."""

    shop_id: int
    shop_name: str
    #: The tenant's kind ("street" or "market"): freight is a market's way.
    tenant_kind: str
    #: The shop's own counter, and the tenant's shared one when it has one.
    pickup_points: tuple[PickupPoint, ...] = ()
    #: The tenant's district (GB/T 2260 code), where "same city" starts from; "" when unknown.
    district_code: str = ""


@dataclass(frozen=True)
class QuoteRequest:
    tenant: str
    origin: Origin
    parcel: Parcel
    #: None for collecting at a pickup point.
    address: Address | None
    #: When the buyer asks, aware, in the tenant's time zone (opening hours and cut-offs are read in it).
    now: datetime
    currency: str = "CNY"


@dataclass(frozen=True)
class DeliveryOption:
    """One way the shop's goods can reach the buyer, with its price and promise."""

    provider: str
    #: The provider's code for it (a pickup point, a time slot, a freight template), given back at shipment.
    code: str
    label: str
    fee: int  # fen
    currency: str
    earliest: datetime | None = None
    latest: datetime | None = None
    #: Why the buyer should know more (a cut-off, a minimum weight, "only within the Third Ring").
    constraints: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShipmentRequest:
    #: Our own id: a provider's idempotency key derives from it.
    shipment_id: int
    order_number: str
    option_code: str
    parcel: Parcel
    address: Address | None


@dataclass(frozen=True)
class ShipmentResult:
    status: str  # a ShipmentStatus
    tracking_number: str = ""
    carrier: str = ""


@dataclass(frozen=True)
class TrackingEvent:
    status: str  # a ShipmentStatus
    at: datetime
    note: str = ""
    location: str = ""


class NotCovered(ValueError):
    """The address (or parcel) is outside what the provider serves; the message says why, for the buyer."""


class DeliveryError(ValueError):
    """A request the provider refuses (cancel after delivery, an unknown option); ``code`` is stable."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class DeliveryProvider(ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    #: Tenant options (a shop may override them): name → (type, default). Checked by ``check_options``.
    options_schema: ClassVar[dict[str, tuple[type, Any]]] = {}
    #: Whether the buyer gives an address (couriers, express, freight) or collects (pickup).
    needs_address: ClassVar[bool] = True

    @classmethod
    def options_problem(cls, options: Mapping[str, Any]) -> str | None:
        """Why these options (types checked, defaults filled in) cannot work — a zone without a fee, a slot
        ending before it starts — or None. Called by ``check_options``."""
        return None

    def capacity(self, option_code: str) -> int | None:
        """How many shipments one option (a courier's time slot) may take; None for no limit. The platform
        counts the bookings (``services.book``), so a provider stays free of storage."""
        return None

    def __init__(self, settings: Mapping[str, Any], options: Mapping[str, Any]):
        self.settings = settings
        self.options = options

    @abstractmethod
    def quote(self, request: QuoteRequest) -> list[DeliveryOption]:
        """The options for this parcel and address, the same for the same input; ``NotCovered`` when none."""

    @abstractmethod
    def create_shipment(self, request: ShipmentRequest) -> ShipmentResult: ...

    def track(self, tracking_number: str) -> list[TrackingEvent]:
        """What the carrier reports (providers whose progress is marked by people report nothing here)."""
        return []

    def cancel(self, tracking_number: str) -> None:  # noqa: B027 - nothing to tell a carrier by default
        """Tell the carrier the shipment is off (the platform checks the status first)."""


class ProviderLoadError(RuntimeError):
    """A provider that cannot be loaded, or tenant options it refuses."""


BUILT_IN_PROVIDERS: dict[str, str] = {
    "pickup": "marketplace.delivery.pickup:PickupProvider",
    "local_courier": "marketplace.delivery.local_courier:LocalCourierProvider",
    "express": "marketplace.delivery.express:ExpressProvider",
    "freight": "marketplace.delivery.freight:FreightProvider",
}


def provider_classes() -> dict[str, str]:
    return registered("marketplace.delivery_providers", BUILT_IN_PROVIDERS, "delivery provider", ProviderLoadError)


def provider_class(name: str) -> type[DeliveryProvider]:
    return load(name, provider_classes(), DeliveryProvider, "delivery provider", ProviderLoadError)


def check_options(cls: type[DeliveryProvider], options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with defaults filled in; unknown names and wrong types refused by name."""
    if not isinstance(options, Mapping):
        raise ProviderLoadError(f"delivery provider {cls.name!r} settings must be a table")
    unknown = set(options) - set(cls.options_schema)
    if unknown:
        raise ProviderLoadError(f"delivery provider {cls.name!r} has no option {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    for name, (kind, default) in cls.options_schema.items():
        value = options.get(name, default)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ProviderLoadError(f"delivery option {cls.name}.{name} must be {kind.__name__}")
        clean[name] = value
    problem = cls.options_problem(clean)
    if problem:
        raise ProviderLoadError(f"delivery provider {cls.name!r}: {problem}")
    return clean


@dataclass(frozen=True)
class Move:
    """A tracking step as the state machine sees it: allowed, and whether the buyer now has the goods."""

    allowed: bool
    received: bool = field(default=False)


def move(current: str, to: str) -> Move:
    allowed = to in TRANSITIONS.get(current, frozenset())
    return Move(allowed, allowed and to in RECEIVED)


# -- steps recorded by hand -----------------------------------------------------------------------------------------

#: Providers whose parcels the merchant hands to a carrier: ``ship`` (the carrier and its number) comes first.
HANDED_TO_CARRIER = frozenset({"express", "freight"})
#: What a carrier reports once it has the parcel (cancelling is the order's business).
CARRIER_STEPS = (S.in_transit, S.out_for_delivery, S.delivered, S.exception, S.returned)
#: The steps a shipment may be moved to by hand — in the console, with the shop's API token or by a carrier's
#: webhook — per provider. Never by hand: ``collected`` (only with the buyer's one-time code, ``pickup.redeem``)
#: and ``picked_up_by_carrier`` for express and freight (only ``ship``, which keeps the carrier and number).
STEPS_BY_HAND: dict[str, tuple[str, ...]] = {
    "pickup": (S.ready_for_pickup,),
    "local_courier": (S.out_for_delivery, S.delivered, S.exception, S.returned),
    "express": CARRIER_STEPS,
    "freight": CARRIER_STEPS,
}
#: Another provider's parcel (an entry point's): its carrier reports every step from the pickup on.
OTHER_STEPS = (S.picked_up_by_carrier, *CARRIER_STEPS)


def steps_by_hand(provider: str, status: str) -> tuple[str, ...]:
    """The steps that may be recorded by hand next for a ``provider`` shipment now at ``status``: the provider's
    steps that the state machine allows; none for an express or freight parcel not yet handed over."""
    if provider in HANDED_TO_CARRIER and status == S.created:
        return ()
    allowed = TRANSITIONS.get(status, frozenset())
    return tuple(step for step in STEPS_BY_HAND.get(provider, OTHER_STEPS) if step in allowed)
