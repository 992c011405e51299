"""Carts, orders and their audit trail.

A checkout places one ``OrderGroup`` (what the buyer pays once) holding one ``Order`` per shop (what each
merchant prepares). Lines keep a snapshot of what was bought — title, SKU, options, attributes, unit price —
so later edits to the catalogue never change an order. ``OrderEvent`` rows are the append-only history of
every order: nothing updates or deletes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import TimestampMixin, UTCDateTime, append_only, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.tenancy.models import TenantScoped


class Cart(TenantScoped, TimestampMixin, db.Model):
    """A resident's cart in one tenant: a guest's is found by the random token in their cookie, a signed-in
    resident's by their account (the guest cart merges into it at login)."""

    __tablename__ = "carts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        Index("ix_carts_token", "token", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    lines: Mapped[list[CartLine]] = relationship(back_populates="cart", order_by="CartLine.id",
                                                 cascade="all, delete-orphan")


class CartLine(TenantScoped, db.Model):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id"),
        CheckConstraint("quantity >= 1", name="quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column()
    #: An accepted quote whose price this line takes.
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id", ondelete="SET NULL"))

    cart: Mapped[Cart] = relationship(back_populates="lines")
    variant = relationship("Variant")
    quote = relationship("Quote")


@labelled({"pending_payment": _l("待付款"), "paid": _l("已付款"), "accepted": _l("已接单"),
           "ready_for_pickup": _l("待取货"), "shipped": _l("已发货"), "delivered": _l("已送达"),
           "picked_up": _l("已取货"), "completed": _l("已完成"), "cancelled": _l("已取消"),
           "refunding": _l("退款中"), "refunded": _l("已退款")})
class OrderStatus(LabelledEnum):
    pending_payment = "pending_payment"
    paid = "paid"
    accepted = "accepted"
    ready_for_pickup = "ready_for_pickup"
    shipped = "shipped"
    delivered = "delivered"
    picked_up = "picked_up"
    completed = "completed"
    cancelled = "cancelled"
    refunding = "refunding"
    refunded = "refunded"


class OrderGroup(TenantScoped, TimestampMixin, db.Model):
    """What a buyer pays for in one go: the orders of one checkout, one per shop."""

    __tablename__ = "order_groups"
    __table_args__ = (
        # One checkout submission, one group: a double click or a retried request finds the first one.
        UniqueConstraint("tenant_id", "buyer_id", "idempotency_key"),
        UniqueConstraint("number"),
        CheckConstraint("total >= 0", name="total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int] = mapped_column()
    payment_provider: Mapped[str] = mapped_column(String(63))
    #: Stock is held until then; an unpaid group is cancelled and its stock released after it.
    payment_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    orders: Mapped[list[Order]] = relationship(back_populates="group", order_by="Order.id")


class Order(TenantScoped, TimestampMixin, db.Model):
    """One shop's part of a checkout."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("number"),
        CheckConstraint("items_total >= 0 AND delivery_fee >= 0 AND total >= 0 AND commission >= 0",
                        name="amounts"),
        CheckConstraint("refunded <= total", name="refunded"),
        Index("ix_orders_tenant_id_shop_id_status_created_at", "tenant_id", "shop_id", "status", "created_at"),
        # The orders of a time window (what ``orders.seals`` seals and verifies).
        Index("ix_orders_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[int] = mapped_column(ForeignKey("order_groups.id", ondelete="RESTRICT"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(32), default=OrderStatus.pending_payment)
    items_total: Mapped[int] = mapped_column()
    delivery_provider: Mapped[str] = mapped_column(String(63))
    delivery_fee: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column()
    #: The platform's commission on this order, in fen, at the tenant's rate when it was placed.
    commission: Mapped[int] = mapped_column(default=0)
    refunded: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(Text, default="")

    group: Mapped[OrderGroup] = relationship(back_populates="orders")
    shop = relationship("Shop")
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id",
                                                  cascade="all, delete-orphan")
    events: Mapped[list[OrderEvent]] = relationship(order_by="OrderEvent.id", viewonly=True)


class OrderLine(TenantScoped, db.Model):
    """What was bought, as it was when it was bought."""

    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity >= 1 AND unit_price >= 0 AND total >= 0", name="amounts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    #: Kept for stock returns; the snapshot below is what the order shows.
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    unit: Mapped[str] = mapped_column(String(16))
    unit_price: Mapped[int] = mapped_column()
    quantity: Mapped[int] = mapped_column()
    total: Mapped[int] = mapped_column()
    #: "base", "tier:<min quantity>" or "quote".
    price_source: Mapped[str] = mapped_column(String(32), default="base")
    #: Why these goods are outside the 7-day no-reason return, as their category said when they were bought
    #: (``catalog.models.EXCLUSIONS``); "" when they may be returned. A later change to the category does not
    #: change what the buyer was told.
    return_exclusion: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: The accepted quote that set the price (used up by this order).
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id", ondelete="SET NULL"))

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderEvent(TenantScoped, db.Model):
    """One step in an order's life, appended and never changed: who moved it from which status to which, when,
    and why. Kept at least three years (no code path deletes them)."""

    __tablename__ = "order_events"
    __table_args__ = (
        UniqueConstraint("order_id", "idempotency_key"),
        # The events of a time window (what ``orders.seals`` seals and verifies, the ledgers read).
        Index("ix_order_events_tenant_id_at", "tenant_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: None for the platform itself (a job releasing an unpaid order).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_status: Mapped[str] = mapped_column(String(32), default="")
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    #: The API's Idempotency-Key of the request that made this move: the same request again finds it.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))


append_only(OrderEvent, "order event")
