"""API tokens, one kind per caller: a shop's key (``ApiToken``: an ERP, a till, a script writing to one shop), a
tenant operator's token, a resident's personal token, and the statistics office's token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.extensions import db


class BearerToken:
    """What every kind of bearer token keeps: a name its holder chose, the SHA-256 of the token (tokens are long
    random strings, so a plain hash is enough: no salt, no argon2; the token itself is shown once, when issued, and
    never stored), its scopes (of the kind's set in ``api.scopes``, space-separated, in the set's order; no
    default: whoever issues a token says what it is for), and when it was made, last used and revoked."""

    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def scope_list(self) -> list[str]:
        return (self.scopes or "").split()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope_list


class ApiToken(BearerToken, db.Model):
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

    user = relationship("User")

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


class OperatorToken(BearerToken, db.Model):
    """A bearer token of one tenant's operator for the operator API (``/api/v1/tenants/<t>/operator/…``): the
    tenant's settings and its shop applications. Only its SHA-256 is kept; the token is shown once, when issued.

    Apart from ``ApiToken`` on purpose: it belongs to a tenant, not a shop, and a shop's key must never open the
    operator API, nor an operator's token a shop. Kept outside the tenant guard like ``ApiToken``: every query
    names the tenant explicitly.
    """

    __tablename__ = "operator_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    #: Whose rights the token carries: it stops working when they no longer operate the tenant
    #: (``Permission.operate_tenant``) or their account is closed.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<OperatorToken {self.id} tenant={self.tenant_id} user={self.user_id}>"


class PersonalToken(BearerToken, db.Model):
    """A resident's own bearer token for the resident API (cart, checkout, orders, returns, complaints…) in every
    tenant, for a mobile app or a script: the same as signing in, limited to its scopes. Only its SHA-256 is kept;
    the token is shown once, when made on the account page (``/account/tokens``).

    Apart from ``ApiToken`` on purpose: it belongs to a person, not a shop, and a personal token must never open a
    shop, the operator or the statistics API, nor a shop's key the resident API. Platform-wide like the account.
    """

    __tablename__ = "personal_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The resident the token acts as; it stops working when their account is closed or deactivated.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: Chosen when made (30, 90 or 365 days on, or never: None); the token is refused from then on.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User")

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    def __repr__(self) -> str:
        return f"<PersonalToken {self.id} user={self.user_id}>"
