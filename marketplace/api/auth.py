"""Bearer tokens for the merchant API: issued per user and shop, stored only as a SHA-256, shown once.

A token works only for its own shop, only while it is not revoked, and only while its user is still an owner
or staff member of that shop (``Permission.view_shop``): taking someone's role away ends their tokens too. Within
that, it may call only the operations its scopes allow (``scopes.py``).
"""

from __future__ import annotations

import hashlib
import secrets

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.accounts.authz import Permission, can
from marketplace.accounts.models import User
from marketplace.api import scopes as api_scopes
from marketplace.api.models import ApiToken, StatisticsToken
from marketplace.core import audit
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.tenancy.models import Tenant

#: Tokens start with this, so that secret scanners and people can tell what one is.
TOKEN_PREFIX = "occ_"
#: Longer "tokens" are not ours; refused before hashing.
MAX_TOKEN_LENGTH = 200


class TokenError(ValueError):
    """A token cannot be issued; the message is for the merchant or operator."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ApiAuthError(Exception):
    """A request's token was refused: ``status`` 401 (no usable token), 403 (not for this shop, or without the
    operation's ``scope``) or 404 (a shop of another tenant)."""

    def __init__(self, status: int, code: str, message: str, scope: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.scope = scope


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _chosen_scopes(scopes) -> str:
    """The scopes asked for, as stored; TokenError for none or for one that does not exist."""
    chosen = api_scopes.as_list(scopes)
    unknown = api_scopes.unknown(chosen)
    if unknown:
        raise TokenError(_("没有这样的权限范围：%(unknown)s。可选的有：%(known)s。", unknown="、".join(unknown),
                           known="、".join(api_scopes.ALL_SCOPES)), "scopes")
    if not chosen:
        raise TokenError(_("请至少选择一项权限范围。"), "scopes")
    return api_scopes.canonical(chosen)


def issue_token(user: User, shop, name: str, scopes) -> str:
    """A new token for ``user`` on ``shop`` that may do what ``scopes`` allow (names of ``scopes.SCOPES``, a list
    or a space-separated string); returns the token itself, which is not stored and cannot be shown again. The
    user must be an owner or staff member of the shop. Recorded in the audit log. Flushes; the caller commits."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_("请给令牌起个名字，例如“ERP 库存同步”。"), "name")
    if len(name) > 100:
        raise TokenError(_("令牌名称最多 100 个字。"), "name")
    chosen = _chosen_scopes(scopes)
    if not user.active:
        raise TokenError(_("该账户已停用。"), "user")
    if not can(user, Permission.view_shop, shop):
        raise TokenError(_("%(user)s 不是店铺“%(shop)s”的店主或店员。", user=user.login_name, shop=shop.name()),
                         "user")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(tenant_id=shop.tenant_id, shop_id=shop.id, user_id=user.id, name=name,
                   token_sha256=hash_token(token), scopes=chosen)
    db.session.add(row)
    db.session.flush()
    audit.record("api_key.created", ("api_key", row.id), tenant=db.session.get(Tenant, shop.tenant_id),
                 shop=shop.slug, name=name, holder=user.login_name, scopes=row.scope_list)
    return token


def revoke_token(token: ApiToken) -> None:
    """Stop a token working from now on (kept, with when it was revoked); recorded in the audit log."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        audit.record("api_key.revoked", ("api_key", token.id), tenant=db.session.get(Tenant, token.tenant_id),
                     shop_id=token.shop_id, name=token.name)


def tokens_of_shop(shop) -> list[ApiToken]:
    """The shop's tokens, oldest first, with their holders (listed by the console and the command line)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.tenant_id == shop.tenant_id,
                                                          ApiToken.shop_id == shop.id)
                                   .options(selectinload(ApiToken.user)).order_by(ApiToken.id)))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _sep, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def authenticate(token: str | None) -> ApiToken:
    """The live token row for a presented token; raises ApiAuthError(401) when there is none."""
    if not token:
        raise ApiAuthError(401, "token_missing", _("请在请求头中提供 Authorization: Bearer <令牌>。"))
    row = None
    if len(token) <= MAX_TOKEN_LENGTH and token.isprintable():
        row = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == hash_token(token)))
    if row is None or row.is_revoked:
        raise ApiAuthError(401, "token_invalid", _("令牌无效或已被吊销。"))
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        raise ApiAuthError(401, "token_invalid", _("令牌无效或已被吊销。"))
    return row


def authorise(token: ApiToken, shop) -> User:
    """The token's user, if the token may act on ``shop``; raises ApiAuthError(403, or 404 across tenants).

    Marks the token used (saved with the request's commit).
    """
    if token.tenant_id != shop.tenant_id:
        # Another tenant's shop: refused as not found, like every cross-tenant request.
        raise ApiAuthError(404, "not_found", _("找不到该店铺。"))
    if token.shop_id != shop.id:
        raise ApiAuthError(403, "token_wrong_shop", _("此令牌不能用于该店铺。"))
    user = db.session.get(User, token.user_id)
    if not can(user, Permission.view_shop, shop):
        raise ApiAuthError(403, "token_forbidden", _("令牌的持有人已不再是该店铺的店主或店员。"))
    token.last_used_at = utcnow()
    return user


def require_scope(token: ApiToken, scope: str | None) -> None:
    """Refuse (403 ``insufficient_scope``) a token without ``scope``; ``None`` — an operation that declares no
    scope — is refused to every token."""
    if scope is None:
        raise ApiAuthError(403, "insufficient_scope", _("此操作没有声明所需的权限范围，任何令牌都不能调用。"))
    if not token.has_scope(scope):
        message = _("此令牌没有这个操作所需的权限范围 %(scope)s（%(label)s）。请店主在商户后台创建一个带有该权限范围的 "
                    "API 密钥。", scope=scope, label=api_scopes.label(scope))
        raise ApiAuthError(403, "insufficient_scope", message, scope=scope)


# -- the statistics office's tokens ---------------------------------------------------------------------------------

#: Statistics tokens say what they are too; a shop token presented to the statistics API is simply not found.
STATISTICS_PREFIX = "occstat_"


def issue_statistics_token(name: str, issued_by: User | None) -> str:
    """A new token for the statistics office; returns the token, which is not stored and cannot be shown again.
    Only a platform admin issues one (the command line passes the admin it runs for). Flushes; the caller commits."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_("请写明令牌的持有单位，例如“市统计局 电子商务处”。"), "name")
    if len(name) > 100:
        raise TokenError(_("令牌名称最多 100 个字。"), "name")
    if issued_by is not None and not can(issued_by, Permission.manage_platform):
        raise TokenError(_("只有平台管理员可以签发统计令牌。"), "user")
    token = STATISTICS_PREFIX + secrets.token_urlsafe(32)
    db.session.add(StatisticsToken(name=name, token_sha256=hash_token(token),
                                   issued_by_id=issued_by.id if issued_by is not None else None))
    db.session.flush()
    return token


def authenticate_statistics(token: str | None) -> StatisticsToken:
    """The live statistics token for a presented token; raises ApiAuthError(401) when there is none. Marks it
    used (saved with the request's commit)."""
    if not token:
        raise ApiAuthError(401, "token_missing", _("请在请求头中提供 Authorization: Bearer <令牌>。"))
    row = None
    if len(token) <= MAX_TOKEN_LENGTH and token.isprintable():
        row = db.session.scalar(select(StatisticsToken).where(StatisticsToken.token_sha256 == hash_token(token)))
    if row is None or row.is_revoked:
        raise ApiAuthError(401, "token_invalid", _("令牌无效或已被吊销。"))
    row.last_used_at = utcnow()
    return row
