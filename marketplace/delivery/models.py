"""Shipments: how one order's goods travel, and the timeline of every step.

A ``Shipment`` belongs to one order (a shop's part of a checkout). Its ``status`` moves along the one state
machine of ``providers.TRANSITIONS``, only through ``services.advance``; each step is a ``ShipmentEvent`` that
is appended and never changed (like the order history). ``tracking_token`` is the random, unguessable part of
the public tracking page's address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import TimestampMixin, UTCDateTime, append_only, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.delivery.providers import ShipmentStatus
from marketplace.extensions import db
from marketplace.tenancy.models import TenantScoped


class Shipment(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("order_id"),
        UniqueConstraint("tracking_token"),
        # A pickup code is looked up by its hash within one tenant: another tenant's code finds nothing.
        UniqueConstraint("tenant_id", "pickup_code_hash"),
        CheckConstraint("fee >= 0", name="fee"),
        Index("ix_shipments_tenant_id_provider_status", "tenant_id", "provider", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    provider: Mapped[str] = mapped_column(String(63))
    #: The option the buyer chose (a pickup point, a time slot, a freight template), in the provider's words.
    option_code: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(32), default=ShipmentStatus.created)
    fee: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    #: Where it goes (recipient, mobile, division codes, street), as it was at checkout; {} for pickup.
    address: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tracking_token: Mapped[str] = mapped_column(String(64))
    carrier: Mapped[str] = mapped_column(String(63), default="")
    tracking_number: Mapped[str] = mapped_column(String(64), default="")
    #: When the buyer had the goods (delivered or collected): the return window counts from the next day.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the status last changed (how long a parcel has waited at the counter, how late a delivery is).
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The latest time the chosen option promised (end of a courier slot, an express estimate); None if none.
    promised_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Pickup only: the SHA-256 of the collection code (the code itself is derived, see ``pickup.code_for``),
    #: and the random salt it is derived from. Staff look a code up by its hash.
    pickup_code_hash: Mapped[str | None] = mapped_column(String(64))
    pickup_code_salt: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: When the buyer was last reminded to collect.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list[ShipmentEvent]] = relationship(order_by="ShipmentEvent.id", viewonly=True)
    order = relationship("Order")


class ShipmentEvent(TenantScoped, db.Model):
    """One step of a shipment, appended and never changed."""

    __tablename__ = "shipment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="RESTRICT"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    from_status: Mapped[str] = mapped_column(String(32), default="")
    to_status: Mapped[str] = mapped_column(String(32))
    #: None for the platform or a carrier's own report.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200), default="")


class DeliverySlot(TenantScoped, db.Model):
    """How many shipments one capacity-limited option of a shop (a courier's evening slot) has taken.

    Booking is one conditional update (``booked = booked + 1 WHERE booked < capacity``), so concurrent
    checkouts can never take more than the slot holds.
    """

    __tablename__ = "delivery_slots"
    __table_args__ = (
        UniqueConstraint("tenant_id", "shop_id", "provider", "option_code"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(63))
    option_code: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column()
    booked: Mapped[int] = mapped_column(default=0)


@labelled({"requested": _l("待报价"), "quoted": _l("已报价"), "accepted": _l("已接受"), "declined": _l("已拒绝"),
           "used": _l("已下单"), "withdrawn": _l("已撤回")})
class FreightQuoteStatus(LabelledEnum):
    requested = "requested"
    quoted = "quoted"
    accepted = "accepted"
    declined = "declined"
    used = "used"
    withdrawn = "withdrawn"


class FreightQuote(TenantScoped, TimestampMixin, db.Model):
    """A wholesale buyer asks a shop what carrying goods to a place costs; the merchant answers with a fee
    the buyer accepts before paying. An accepted quote is a delivery option of that shop at checkout, used
    once (like a price quote)."""

    __tablename__ = "freight_quotes"
    __table_args__ = (
        CheckConstraint("fee IS NULL OR fee >= 0", name="fee"),
        Index("ix_freight_quotes_tenant_id_shop_id_status", "tenant_id", "shop_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=FreightQuoteStatus.requested)
    weight_g: Mapped[int] = mapped_column(default=0)
    volume_cm3: Mapped[int] = mapped_column(default=0)
    #: Where to (recipient, mobile, division codes, street), as the buyer gave it.
    address: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: What the buyer says about the load (goods, pallets, unloading).
    description: Mapped[str] = mapped_column(Text, default="")
    fee: Mapped[int | None] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    #: The merchant's answer: the vehicle, the days on the road, what is included.
    reply: Mapped[str] = mapped_column(Text, default="")
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


append_only(ShipmentEvent, "shipment event")
