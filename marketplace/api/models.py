"""API tokens: a merchant's key for writing to one shop from another system (an ERP, a till, a script)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.extensions import db


class ApiToken(db.Model):
    """A bearer token of one user for one shop. Only its SHA-256 is kept; the token is shown once, when issued.

    Kept outside the tenant guard, like ``RoleGrant``: a request is authenticated by looking the token up by
    its hash, and every query here names the tenant and shop explicitly.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_tenant_id_shop_id", "tenant_id", "shop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    #: Whose rights the token carries: it stops working when they lose owner or staff rights on the shop.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: What the merchant calls it ("ERP 库存同步").
    name: Mapped[str] = mapped_column(String(100))
    #: Hex SHA-256 of the token. Tokens are long random strings, so a plain hash is enough (no salt, no argon2).
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: What the token may do: scopes of ``api.scopes.SCOPES``, space-separated ("catalog:read stock:write").
    #: No default: whoever issues a token says what it is for (``auth.issue_token``).
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def scope_list(self) -> list[str]:
        return (self.scopes or "").split()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope_list

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} shop={self.shop_id} user={self.user_id}>"


class StatisticsToken(db.Model):
    """A bearer token of the city's statistics office for ``/api/v1/statistics``: reads the city's aggregate
    figures and nothing else. Issued by a platform admin (``flask api token-statistics``); only its SHA-256 is kept.

    Apart from ``ApiToken`` on purpose: it belongs to no tenant, shop or user, and a shop token must never open
    the statistics, nor a statistics token a shop.
    """

    __tablename__ = "statistics_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who holds it ("市统计局 电子商务处").
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: The platform admin who issued it (None when issued from the command line without one).
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
