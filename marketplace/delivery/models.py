"""Shipments: how one order's goods travel, and the timeline of every step.

A ``Shipment`` belongs to one order (a shop's part of a checkout). Its ``status`` moves along the one state
machine of ``providers.TRANSITIONS``, only through ``services.advance``; each step is a ``ShipmentEvent`` that
is appended and never changed (like the order history). ``tracking_token`` is the random, unguessable part of
the public tracking page's address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.delivery.providers import ShipmentStatus
from marketplace.extensions import db
from marketplace.tenancy.models import TenantScoped


class Shipment(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("order_id"),
        UniqueConstraint("tracking_token"),
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

    events: Mapped[list[ShipmentEvent]] = relationship(order_by="ShipmentEvent.id", viewonly=True)


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


class AppendOnly(RuntimeError):
    """A shipment's timeline is never rewritten."""


@event.listens_for(ShipmentEvent, "before_update")
@event.listens_for(ShipmentEvent, "before_delete")
def _refuse_rewriting_history(_mapper, _connection, target) -> None:
    raise AppendOnly(f"shipment event {target.id} cannot be changed or deleted")
