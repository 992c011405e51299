"""Accounts: one per person across every tenant; roles granted per tenant or per shop."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db


@labelled({
    "platform_admin": _l("平台管理员"),
    "tenant_operator": _l("运营方"),
    "merchant_owner": _l("店主"),
    "merchant_staff": _l("店员"),
})
class Role(LabelledEnum):
    """Roles beyond "resident", which every account is."""

    platform_admin = "platform_admin"
    tenant_operator = "tenant_operator"
    merchant_owner = "merchant_owner"
    merchant_staff = "merchant_staff"


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email IS NOT NULL OR mobile IS NOT NULL", name="has_login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased; one of email and mobile is required.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    #: Mainland mobile number, 11 digits without +86.
    mobile: Mapped[str | None] = mapped_column(String(11), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    grants: Mapped[list[RoleGrant]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def credentials_fingerprint(self) -> str:
        """Changes whenever the password does. Sessions and reset links carry it, so a new password ends
        every other session and spends every earlier link. One-way: cookies and links are readable."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:20]

    def get_id(self) -> str:  # what Flask-Login keeps in the session and the remember-me cookie
        return f"{self.id}:{self.credentials_fingerprint}"

    @property
    def login_name(self) -> str:
        return self.email or self.mobile or ""

    def __repr__(self) -> str:
        return f"<User {self.id} {self.login_name}>"


class RoleGrant(db.Model):
    """A role held by a user: platform-wide, for one tenant, or for one shop.

    Kept outside the tenant guard because authorisation reads a user's grants across tenants; every
    query here filters by user, tenant or shop explicitly.
    """

    __tablename__ = "role_grants"
    __table_args__ = (
        CheckConstraint(
            "(role = 'platform_admin' AND tenant_id IS NULL AND shop_id IS NULL)"
            " OR (role = 'tenant_operator' AND tenant_id IS NOT NULL AND shop_id IS NULL)"
            " OR (role IN ('merchant_owner', 'merchant_staff') AND tenant_id IS NOT NULL AND shop_id IS NOT NULL)",
            name="scope",
        ),
        Index("ix_role_grants_user_id_role", "user_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants")


class LoginAttempt(db.Model):
    """A login attempt, kept for throttling; old rows are pruned as new ones come in."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_identifier_created_at", "identifier", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The normalised email or mobile the attempt named (an account may not exist for it).
    identifier: Mapped[str] = mapped_column(String(254))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
