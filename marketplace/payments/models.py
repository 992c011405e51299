"""Payments and the provider notifications that moved them.

A ``Payment`` is one attempt to collect an order group's total through one provider (a buyer whose card is
declined may try again: a second row). Its amount always equals the group's total at the time it was made;
the provider's own id is ``reference``. At most one payment of a group succeeds (``services`` checks it under
the group's row lock). Refunds are ``orders.returns.Refund`` rows, per order, with the same provider id.

``PaymentEvent`` records each provider notification once: its id is unique per provider and is inserted in the
same transaction as its effect, so the same event delivered ten times, or ten at once, moves a payment once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.extensions import db
from marketplace.payments.providers import PaymentStatus
from marketplace.tenancy.models import TenantScoped


class Payment(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount >= 0 AND amount_captured >= 0 AND amount_captured <= amount", name="amounts"),
        CheckConstraint("status IN ('pending', 'requires_action', 'authorized', 'succeeded', 'failed', 'cancelled')",
                        name="status"),
        Index("ix_payments_provider_reference", "provider", "reference"),
        Index("ix_payments_tenant_id_status_created_at", "tenant_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("order_groups.id", ondelete="RESTRICT"), index=True)
    provider: Mapped[str] = mapped_column(String(63))
    method: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.pending)
    #: The provider's id for it (a PaymentIntent id, a bank-transfer code); "" until the provider answered.
    reference: Mapped[str] = mapped_column(String(100), default="")
    amount_captured: Mapped[int] = mapped_column(default=0)
    #: Why it failed, or what is wrong with it (an amount the provider reports that is not ours), for people.
    problem: Mapped[str] = mapped_column(Text, default="")
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    group = relationship("OrderGroup")


class PaymentEvent(db.Model):
    """A provider notification, processed once. Not tenant-scoped: it is looked up before anyone knows whose
    payment it is; ``tenant_id`` is filled in once the payment is found."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(63))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100), default="")
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: "" when it was applied; otherwise why not (unknown payment, amount mismatch), for the operator.
    outcome: Mapped[str] = mapped_column(Text, default="")
