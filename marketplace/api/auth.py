"""Bearer tokens, stored only as a SHA-256 and shown once: shops' API keys, tenant operators' tokens, residents'
personal tokens and the statistics office's tokens. Each kind opens its own API and no other.

A shop's key works only for its own shop, only while it is not revoked, and only while its user is still an owner
or staff member of that shop (``Permission.view_shop``): taking someone's role away ends their tokens too. Within
that, it may call only the operations its scopes allow (``scopes.py``). Operator tokens follow the same rules for
a tenant (``Permission.operate_tenant``); personal tokens act as their resident, until they expire.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import after_this_request, g
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload

from marketplace.accounts.authz import Permission, can
from marketplace.accounts.models import User
from marketplace.api import scopes as api_scopes
from marketplace.api.models import ApiToken, OperatorToken, PersonalToken, StatisticsToken
from marketplace.core import audit
from marketplace.core.db import utcnow, write_intended, writing
from marketplace.extensions import db, login_manager
from marketplace.tenancy.models import Tenant

log = logging.getLogger(__name__)
#: Every kind of token the API takes (their rows note their last use).
_TOKENS = (ApiToken, OperatorToken, PersonalToken, StatisticsToken)

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


def _chosen_scopes(scopes, scope_set: api_scopes.ScopeSet) -> str:
    """The scopes asked for, as stored; TokenError for none or for one that is not in ``scope_set``."""
    chosen = api_scopes.as_list(scopes)
    unknown = scope_set.unknown(chosen)
    if unknown:
        raise TokenError(_("没有这样的权限范围：%(unknown)s。可选的有：%(known)s。", unknown="、".join(unknown),
                           known="、".join(scope_set.names)), "scopes")
    if not chosen:
        raise TokenError(_("请至少选择一项权限范围。"), "scopes")
    return scope_set.canonical(chosen)


def _token_name(name: str, missing: str) -> str:
    """The name a token is issued under, stripped; TokenError(``missing``) for none, or one too long."""
    name = (name or "").strip()
    if not name:
        raise TokenError(missing, "name")
    if len(name) > 100:
        raise TokenError(_("令牌名称最多 100 个字。"), "name")
    return name


def _presented(model, token: str | None):
    """The stored row of ``model`` for a presented token, if it is not revoked; ApiAuthError(401) otherwise."""
    if not token:
        raise ApiAuthError(401, "token_missing", _("请在请求头中提供 Authorization: Bearer <令牌>。"))
    row = None
    if len(token) <= MAX_TOKEN_LENGTH and token.isprintable():
        row = db.session.scalar(select(model).where(model.token_sha256 == hash_token(token)))
    if row is None or row.is_revoked:
        raise ApiAuthError(401, "token_invalid", _("令牌无效或已被吊销。"))
    return row


def _mark_used(row, now=None) -> None:
    """Note the token's use, to the minute (LAST_USE_PRECISION): a busy integration does not write its key's row
    on every request. Saved by ``save_last_use``."""
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USE_PRECISION:
        row.last_used_at = now


def save_last_use() -> None:
    """Commit what authentication noted (the token's last use) before the operation runs.

    On SQLite a read request's transaction cannot become a write one while another worker writes ("database is
    locked" at once, not after the busy timeout): there the last use is written in a write transaction of its
    own, which waits its turn, and a database still too busy skips it. The time of last use is a convenience for
    the key's owner, never worth failing the request for.
    """
    session = db.session()
    if not (session.dirty or session.new or session.deleted):
        return  # used within the minute: nothing to save
    used = [(type(row), row.id, row.last_used_at) for row in session.dirty if isinstance(row, _TOKENS)]
    if (not used or write_intended() or len(used) != len(session.dirty) or session.new or session.deleted
            or session.get_bind().dialect.name != "sqlite"):
        session.commit()
        return
    session.rollback()
    try:
        with writing():
            for model, row_id, when in used:
                session.execute(update(model).where(model.id == row_id).values(last_used_at=when))
            session.commit()
    except OperationalError:
        session.rollback()
        log.warning("the last use of a token was not saved: the database stayed busy")


def _holder(row) -> User:
    """The active account a token acts for; ApiAuthError(401) when it is closed or deactivated."""
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        raise ApiAuthError(401, "token_invalid", _("令牌无效或已被吊销。"))
    return user


def _refuse_without(row, scope: str | None, refusal) -> None:
    """403 ``insufficient_scope`` for a token without ``scope`` (``refusal(scope)`` says where to get one); an
    operation that declares no scope (``None``) is refused to every token."""
    if scope is None:
        raise ApiAuthError(403, "insufficient_scope", _("此操作没有声明所需的权限范围，任何令牌都不能调用。"))
    if not row.has_scope(scope):
        raise ApiAuthError(403, "insufficient_scope", refusal(scope), scope=scope)


def issue_token(user: User, shop, name: str, scopes) -> str:
    """A new token for ``user`` on ``shop`` that may do what ``scopes`` allow (names of ``scopes.SCOPES``, a list
    or a space-separated string); returns the token itself, which is not stored and cannot be shown again. The
    user must be an owner or staff member of the shop. Recorded in the audit log. Flushes; the caller commits."""
    name = _token_name(name, _("请给令牌起个名字，例如“ERP 库存同步”。"))
    chosen = _chosen_scopes(scopes, api_scopes.SHOP)
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


def _revoke(row, kind: str, **details) -> None:
    """Stop a token of ``kind`` ("api_key", "operator_token", "personal_token") working from now on: kept, with
    when it was revoked, and recorded in the audit log (under its tenant, where it has one)."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()
        tenant_id = getattr(row, "tenant_id", None)
        audit.record(f"{kind}.revoked", (kind, row.id), name=row.name, **details,
                     **({"tenant": db.session.get(Tenant, tenant_id)} if tenant_id is not None else {}))


def revoke_token(token: ApiToken) -> None:
    _revoke(token, "api_key", shop_id=token.shop_id)


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
    row = _presented(ApiToken, token)
    _holder(row)
    return row


def act_as(user: User, **request_values) -> None:
    """Make a token's holder the caller of this request: ``current_user`` (flask-login's user of the request; no
    session is started or written), so that the services and their audit entries see them, with ``request_values``
    set on ``g``. All of it is forgotten when the request ends: ``g`` outlives a request where an app context is
    shared (a test, a command calling views), and must not sign the next one in."""
    for name, value in request_values.items():
        setattr(g, name, value)
    login_manager._update_request_context_with_user(user)
    names = ("_login_user", *request_values)

    @after_this_request
    def _forget(response):
        for name in names:
            g.pop(name, None)
        return response


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
    _mark_used(token)
    return user


def require_scope(token: ApiToken, scope: str | None) -> None:
    """Refuse (403 ``insufficient_scope``) a shop key without ``scope``, or any for an operation without one."""
    _refuse_without(token, scope, lambda scope: _(
        "此令牌没有这个操作所需的权限范围 %(scope)s（%(label)s）。请店主在商户后台创建一个带有该权限范围的 API 密钥。",
        scope=scope, label=api_scopes.SHOP.label(scope)))


# -- the statistics office's tokens ---------------------------------------------------------------------------------

#: Statistics tokens say what they are too; a shop token presented to the statistics API is simply not found.
STATISTICS_PREFIX = "occstat_"


def issue_statistics_token(name: str, issued_by: User | None) -> str:
    """A new token for the statistics office; returns the token, which is not stored and cannot be shown again.
    Only a platform admin issues one (the command line passes the admin it runs for). Flushes; the caller commits."""
    name = _token_name(name, _("请写明令牌的持有单位，例如“市统计局 电子商务处”。"))
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
    row = _presented(StatisticsToken, token)
    _mark_used(row)
    return row


# -- the tenant operators' tokens -----------------------------------------------------------------------------------

#: Operator tokens say what they are; a shop key, personal or statistics token is no operator token (401).
OPERATOR_PREFIX = "occo_"


def issue_operator_token(user: User, tenant: Tenant, name: str, scopes) -> str:
    """A new token for ``user``, an operator of ``tenant``, that may do what ``scopes`` allow (names of
    ``scopes.OPERATOR_SCOPES``); returns the token itself, which is not stored and cannot be shown again. Recorded
    in the audit log. Flushes; the caller commits."""
    name = _token_name(name, _("请给令牌起个名字，例如“招商系统”。"))
    chosen = _chosen_scopes(scopes, api_scopes.OPERATOR)
    if not user.active:
        raise TokenError(_("该账户已停用。"), "user")
    if not can(user, Permission.operate_tenant, tenant):
        raise TokenError(_("%(user)s 不是“%(tenant)s”的运营方。", user=user.login_name, tenant=tenant.name()), "user")
    token = OPERATOR_PREFIX + secrets.token_urlsafe(32)
    row = OperatorToken(tenant_id=tenant.id, user_id=user.id, name=name, token_sha256=hash_token(token),
                        scopes=chosen)
    db.session.add(row)
    db.session.flush()
    audit.record("operator_token.created", ("operator_token", row.id), tenant=tenant, name=name,
                 holder=user.login_name, scopes=row.scope_list)
    return token


def revoke_operator_token(token: OperatorToken) -> None:
    _revoke(token, "operator_token")


def operator_tokens_of(tenant: Tenant) -> list[OperatorToken]:
    """The tenant's operator tokens, oldest first, with their holders."""
    return list(db.session.scalars(select(OperatorToken).where(OperatorToken.tenant_id == tenant.id)
                                   .options(selectinload(OperatorToken.user)).order_by(OperatorToken.id)))


def authenticate_operator(token: str | None) -> OperatorToken:
    """The live operator token for a presented token; raises ApiAuthError(401) when there is none (another kind of
    token included) or its holder's account is closed."""
    row = _presented(OperatorToken, token)
    _holder(row)
    return row


def authorise_operator(token: OperatorToken, tenant: Tenant) -> User:
    """The token's user, if the token may act on ``tenant``: another tenant's is not found (404), and a holder who
    no longer operates the tenant is refused (403 ``token_forbidden``). Marks the token used."""
    if token.tenant_id != tenant.id:
        raise ApiAuthError(404, "not_found", _("找不到该商业街或市场。"))
    user = db.session.get(User, token.user_id)
    if not can(user, Permission.operate_tenant, tenant):
        raise ApiAuthError(403, "token_forbidden", _("令牌的持有人已不再是该商业街或市场的运营方。"))
    _mark_used(token)
    return user


def require_operator_scope(token: OperatorToken, scope: str | None) -> None:
    """Refuse (403 ``insufficient_scope``) an operator token without ``scope``, or any for an operation without one."""
    _refuse_without(token, scope, lambda scope: _(
        "此令牌没有这个操作所需的权限范围 %(scope)s（%(label)s）。请在运营后台创建一个带有该权限范围的 API 密钥。",
        scope=scope, label=api_scopes.OPERATOR.label(scope)))


# -- residents' personal tokens -------------------------------------------------------------------------------------

#: Personal tokens say what they are; a shop key, operator or statistics token is no personal token (401).
PERSONAL_PREFIX = "occp_"
#: How long a new personal token may live, in days, as the account page offers it; None: until revoked.
PERSONAL_EXPIRY_DAYS: tuple[int | None, ...] = (30, 90, 365, None)
#: A token's last use is written at most this often (every request would be a write per read).
LAST_USE_PRECISION = timedelta(minutes=1)


def issue_personal_token(user: User, name: str, scopes, expires_in_days: int | None) -> str:
    """A new personal token of ``user`` that may do what ``scopes`` allow (names of ``scopes.RESIDENT_SCOPES``) for
    ``expires_in_days`` days (one of PERSONAL_EXPIRY_DAYS; None: until revoked); returns the token itself, which is
    not stored and cannot be shown again. Recorded in the audit log. Flushes; the caller commits."""
    name = _token_name(name, _("请给令牌起个名字，例如“手机 App”。"))
    chosen = _chosen_scopes(scopes, api_scopes.RESIDENT)
    if expires_in_days not in PERSONAL_EXPIRY_DAYS:
        raise TokenError(_("请选择令牌的有效期。"), "expires")
    if not user.active:
        raise TokenError(_("该账户已停用。"), "user")
    token = PERSONAL_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = PersonalToken(user_id=user.id, name=name, token_sha256=hash_token(token), scopes=chosen, created_at=now,
                        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    db.session.add(row)
    db.session.flush()
    audit.record("personal_token.created", ("personal_token", row.id), holder=user.login_name, name=name,
                 scopes=row.scope_list, expires_at=row.expires_at.isoformat() if row.expires_at else None)
    return token


def revoke_personal_token(token: PersonalToken) -> None:
    _revoke(token, "personal_token")


def personal_tokens_of(user: User) -> list[PersonalToken]:
    """The resident's personal tokens, newest first (the account page lists them)."""
    return list(db.session.scalars(select(PersonalToken).where(PersonalToken.user_id == user.id)
                                   .order_by(PersonalToken.id.desc())))


def authenticate_personal(token: str | None) -> PersonalToken:
    """The live personal token for a presented token; raises ApiAuthError(401 ``token_invalid``) for another kind
    of token, an unknown, revoked or expired one, or one whose account is closed or deactivated. Marks it used
    (saved with the request's commit)."""
    if token and not token.startswith(PERSONAL_PREFIX):
        raise ApiAuthError(401, "token_invalid", _("居民接口只接受个人令牌（occp_…）：店铺的 API 密钥和其他令牌不能用于"
                                                   "这里。"))
    row = _presented(PersonalToken, token)
    now = utcnow()
    if row.is_expired(now):
        raise ApiAuthError(401, "token_invalid", _("令牌已过期。请在“我的账号 → 个人令牌”中新建一个。"))
    _holder(row)
    _mark_used(row, now)
    return row


def require_resident_scope(token: PersonalToken, scope: str | None) -> None:
    """Refuse (403 ``insufficient_scope``) a personal token without ``scope``, or any for an operation without one."""
    _refuse_without(token, scope, lambda scope: _(
        "此令牌没有这个操作所需的权限范围 %(scope)s（%(label)s）。请在“我的账号 → 个人令牌”中创建一个带有该权限范围的令牌。",
        scope=scope, label=api_scopes.RESIDENT.label(scope)))
