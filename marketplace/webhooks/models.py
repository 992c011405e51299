"""Outgoing webhooks: a merchant's or operator's subscription (an endpoint), each event sent to it (a delivery)
and each try (an attempt). Rows belong to one tenant; a subscription with a shop hears that shop's events, one
without hears the whole tenant's (the operator's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core import crypto
from marketplace.core.db import UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.tenancy.models import TenantScoped

#: The key derivation's purpose for signing secrets (``core.crypto``): no other sealed value opens with it.
SECRET_PURPOSE = b"webhook-signing-secret"


@labelled({"pending": _l("待发送"), "succeeded": _l("已送达"), "failed": _l("失败，将重试"),
           "gave_up": _l("已放弃")})
class DeliveryStatus(LabelledEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"  # a try failed; the next is scheduled
    gave_up = "gave_up"  # a day of tries failed; only a replay sends it again


class WebhookEndpoint(TenantScoped, db.Model):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_tenant_id_shop_id", "tenant_id", "shop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The shop whose events it hears; None: every event of the tenant (an operator's subscription).
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The signing secret, encrypted under a key derived from SECRET_KEY (``core.crypto``): read through ``secret``.
    secret_sealed: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def secret(self) -> str:
        """Signs every delivery (HMAC-SHA256); shown to the subscriber once, when the endpoint is created. Kept
        encrypted, so that a copy of the database alone cannot forge deliveries. ``crypto.Unreadable`` when
        SECRET_KEY has changed since (the subscription must be made again)."""
        return crypto.unseal(SECRET_PURPOSE, self.secret_sealed)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_sealed = crypto.seal(SECRET_PURPOSE, value)


class WebhookDelivery(TenantScoped, db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'gave_up')", name="status"),
        Index("ix_webhook_deliveries_tenant_id_endpoint_id", "tenant_id", "endpoint_id"),
        # The sender's query: what is due, across tenants.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    #: The event's own id (``evt_…``): the same in every delivery and replay of it, for the receiver to dedupe.
    event_id: Mapped[str] = mapped_column(String(40))
    #: The exact bytes sent (JSON text), so a replay sends what the first try sent.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The delivery this one replays, if any.
    replay_of_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))

    endpoint: Mapped[WebhookEndpoint] = relationship()
    tries: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.id", cascade="all, delete-orphan",
                                                        back_populates="delivery")

    @property
    def status_label(self) -> str:
        return DeliveryStatus(self.status).label

    def payload(self) -> dict[str, Any]:
        import json

        return json.loads(self.body)


class WebhookAttempt(TenantScoped, db.Model):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_tenant_id_delivery_id", "tenant_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The receiver's HTTP status; None when no answer came (refused target, timeout, connection error).
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(500), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="tries")
