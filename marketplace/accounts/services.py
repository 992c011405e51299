"""Accounts: sign-up, login with throttling, password change and reset. Callable from views, CLI and tests."""

from __future__ import annotations

import re
from datetime import timedelta

import argon2
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from marketplace.accounts.models import LoginAttempt, Role, RoleGrant, User
from marketplace.core.db import utcnow
from marketplace.core.i18n import LOCALES
from marketplace.core.mail import send_mail
from marketplace.extensions import db

MIN_PASSWORD_LENGTH = 8
#: The roles of people who run a shop (what an operator may help with, see ``assisted_reset_token``).
MERCHANT_ROLES = (Role.merchant_owner, Role.merchant_staff)
_MOBILE = re.compile(r"1[3-9]\d{9}")


class AccountError(ValueError):
    """A request the account rules refuse; ``str(error)`` is the message for the user."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.code = code


class LoginThrottled(AccountError):
    pass


# -- identifiers --------------------------------------------------------------------------------------

def normalise_mobile(value: str) -> str | None:
    """A mainland mobile number as 11 digits, accepting +86/0086 and spaces or dashes; else None."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    return digits if _MOBILE.fullmatch(digits) else None


def normalise_email(value: str) -> str | None:
    try:
        return validate_email((value or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def parse_identifier(value: str) -> tuple[str, str]:
    """("email" | "mobile", normalised value) for a login name; raises AccountError when it is neither."""
    value = (value or "").strip()
    if "@" in value:
        email = normalise_email(value)
        if email:
            return "email", email
        raise AccountError(_("邮箱地址格式不正确。"), field="identifier")
    mobile = normalise_mobile(value)
    if mobile:
        return "mobile", mobile
    raise AccountError(_("请输入有效的邮箱地址或中国大陆手机号（11 位，以 1 开头）。"), field="identifier")


def find_user(identifier: str) -> User | None:
    kind, value = parse_identifier(identifier)
    column = User.email if kind == "email" else User.mobile
    return db.session.scalar(select(User).where(column == value))


# -- passwords ----------------------------------------------------------------------------------------

def _hasher() -> argon2.PasswordHasher:
    profile = getattr(argon2.profiles, current_app.config["MARKETPLACE"]["ARGON2_PROFILE"])
    return argon2.PasswordHasher.from_parameters(profile)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(_("密码至少需要 %(n)d 个字符。", n=MIN_PASSWORD_LENGTH), field="password")
    if password.isdigit() and len(set(password)) <= 2:
        raise AccountError(_("密码太简单，请换一个。"), field="password")


def verify_password(user: User, password: str) -> bool:
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


# -- sign-up and login --------------------------------------------------------------------------------

def register_user(identifier: str, password: str, display_name: str, *, locale: str | None = None) -> User:
    """Create a resident account with an email or a mainland mobile number. Flushes; the caller commits."""
    kind, value = parse_identifier(identifier)
    check_password_strength(password)
    display_name = (display_name or "").strip()
    if not display_name:
        raise AccountError(_("请填写称呼。"), field="display_name")
    password_hash = hash_password(password)  # before the first query: on SQLite a POST holds the write lock
    column = User.email if kind == "email" else User.mobile
    if db.session.scalar(select(User.id).where(column == value)) is not None:
        raise AccountError(_("该邮箱或手机号已注册，请直接登录。"), field="identifier", code="taken")
    user = User(display_name=display_name[:100], password_hash=password_hash, locale=locale, **{kind: value})
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(identifier: str, password: str, *, remote_addr: str = "") -> User:
    """The account for these credentials, recording the attempt.

    Refuses with ``LoginThrottled`` once an account has had too many failures in the window, even if
    the password is right, so guessing stays slow. Flushes; the caller commits (also on failure).
    """
    try:
        _kind, key = parse_identifier(identifier)
    except AccountError:
        raise AccountError(_("账号或密码不正确。"), code="invalid_credentials") from None
    _refuse_if_throttled([key])
    user = find_user(identifier)
    ok = user is not None and user.active and verify_password(user, password)
    _record_attempt(key, ok, remote_addr)
    if not ok:
        db.session.flush()
        raise AccountError(_("账号或密码不正确。"), code="invalid_credentials")
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def _failure_window_start():
    return utcnow() - timedelta(seconds=current_app.config["MARKETPLACE"]["LOGIN_FAILURE_WINDOW_S"])


def _refuse_if_throttled(keys: list[str]) -> None:
    """Raise ``LoginThrottled`` once the account named by ``keys`` (its email and/or mobile) has had too many
    failed attempts in the window."""
    settings = current_app.config["MARKETPLACE"]
    failures = db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.identifier.in_(keys), LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at >= _failure_window_start(),
        )
    )
    if failures >= settings["LOGIN_MAX_FAILURES"]:
        minutes = settings["LOGIN_FAILURE_WINDOW_S"] // 60
        raise LoginThrottled(
            _("登录失败次数过多，该账号已暂时锁定。请 %(minutes)d 分钟后再试，或通过“忘记密码”重设密码。",
              minutes=minutes),
            code="login_throttled",
        )


def _record_attempt(key: str, ok: bool, remote_addr: str) -> None:
    db.session.add(LoginAttempt(identifier=key, succeeded=ok, remote_addr=(remote_addr or "")[:64]))
    _prune_attempts(_failure_window_start())


def _prune_attempts(since) -> None:
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < since - timedelta(days=1)))


def _login_names(user: User) -> list[str]:
    return [name for name in (user.email, user.mobile) if name]


# -- password reset -----------------------------------------------------------------------------------

def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def reset_token(user: User) -> str:
    """The signed token of a password-reset link for ``user``: the mailed link and the one an operator hands over
    (``assisted_reset_token``) carry the same. It works for ``PASSWORD_RESET_MAX_AGE_S`` and only until the password
    changes, since it carries the credentials fingerprint: using it once spends it, and so does any other change."""
    return _reset_serializer().dumps({"user": user.id, "fp": user.credentials_fingerprint})


def reset_link_minutes() -> int:
    """How long a reset link works, in whole minutes (what the mail and the operator's page say)."""
    return current_app.config["MARKETPLACE"]["PASSWORD_RESET_MAX_AGE_S"] // 60


def request_password_reset(identifier: str, reset_url_for) -> User | None:
    """Mail a reset link to an email account. Answers the same whether or not the account exists.

    ``reset_url_for(token)`` builds the absolute link. Raises AccountError for something that is no login
    name at all. Accounts with only a mobile number would need an SMS sender; until one is configured
    they are told to contact the operator (see the view).
    """
    user = find_user(identifier)
    if user is None or not user.active or not user.email:
        return user
    token = reset_token(user)
    minutes = reset_link_minutes()
    send_mail(
        user.email,
        _("重设您在网上商都的密码"),
        _("%(name)s，您好：\n\n请打开下面的链接重设密码（%(minutes)d 分钟内有效）：\n%(url)s\n\n"
          "如果不是您本人操作，请忽略本邮件。", name=user.display_name, minutes=minutes, url=reset_url_for(token)),
    )
    return user


def user_for_reset_token(token: str) -> User:
    max_age = current_app.config["MARKETPLACE"]["PASSWORD_RESET_MAX_AGE_S"]
    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise AccountError(_("重设链接已过期，请重新申请。"), code="token_expired") from None
    except BadSignature:
        raise AccountError(_("重设链接无效，请重新申请。"), code="token_invalid") from None
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("fp") != user.credentials_fingerprint:
        raise AccountError(_("重设链接无效或已使用，请重新申请。"), code="token_invalid")
    return user


def _set_password(user: User, new_password: str) -> None:
    """Give ``user`` a new password: every other session, remember-me cookie and reset link stops working (they
    carry the fingerprint of the old one) and the login lock is lifted. Flushes."""
    check_password_strength(new_password)
    user.password_hash = hash_password(new_password)
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.identifier.in_(_login_names(user))))
    db.session.flush()


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    _set_password(user, new_password)
    return user


def change_password(user: User, current: str, new: str, *, remote_addr: str = "") -> None:
    """A signed-in user replaces their password, e.g. because someone may know it.

    A wrong ``current`` password counts as a failed login, so a session left open cannot be used to guess it
    faster than the login form allows; once the account is locked this refuses with ``LoginThrottled`` too.
    Every other session of the account ends (the caller signs this one in again). Flushes; the caller commits,
    also on failure, so the failed attempt is kept.
    """
    _refuse_if_throttled(_login_names(user))
    if not current or not verify_password(user, current):
        _record_attempt(user.login_name, False, remote_addr)
        db.session.flush()
        raise AccountError(_("当前密码不正确。"), field="current_password", code="wrong_password")
    _set_password(user, new)


def assisted_reset_token(tenant, mobile: str, *, any_account: bool) -> tuple[User, str]:
    """A reset link's token for someone who cannot get the mail (most merchants sign in with a mobile only), handed
    over by the market's operator after checking their identity card in person.

    A tenant operator may help only the merchants of this tenant's shops, and only when the account holds no role
    beyond them: a password is the key to everything an account may do, so an operator of one market must not be
    able to take over an account that also runs another market's shop, operates a market or administers the
    platform. Platform admins (``any_account``) may help any active account. Every refusal of someone outside this
    tenant's staff reads the same, so the form tells nothing about who else has an account. Nothing is written.
    """
    number = normalise_mobile(mobile)
    if number is None:
        raise AccountError(_("请输入有效的中国大陆手机号（11 位，以 1 开头）。"), field="mobile")
    user = db.session.scalar(select(User).where(User.mobile == number, User.active.is_(True)))
    if any_account:
        if user is None:
            raise AccountError(_("没有使用这个手机号的有效账号。"), field="mobile", code="unknown")
        return user, reset_token(user)
    grants = list(db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id))) if user else []
    merchant_here = [g for g in grants if g.role in MERCHANT_ROLES and g.tenant_id == tenant.id]
    if not merchant_here:
        raise AccountError(_("本市场的商户中没有使用这个手机号的账号。"), field="mobile", code="unknown")
    if len(merchant_here) != len(grants):
        raise AccountError(_("这个账号还有本市场商户以外的权限，请联系平台管理员协助重设。"), field="mobile",
                           code="beyond_tenant")
    return user, reset_token(user)


# -- roles --------------------------------------------------------------------------------------------

def update_profile(user: User, *, display_name: str, locale: str | None) -> None:
    """Change what the account is called and the language its pages use. Flushes; the caller commits."""
    display_name = (display_name or "").strip()
    if not display_name:
        raise AccountError(_("请填写称呼。"), field="display_name")
    user.display_name = display_name[:100]
    user.locale = locale if locale in LOCALES else None
    db.session.flush()


def grant_role(user: User, role: Role, *, tenant=None, shop=None) -> RoleGrant:
    """Give ``user`` a role (idempotent). Merchant roles name a shop; operator roles a tenant."""
    tenant_id = shop.tenant_id if shop is not None else (tenant.id if tenant is not None else None)
    shop_id = shop.id if shop is not None else None
    existing = db.session.scalar(select(RoleGrant).where(
        RoleGrant.user_id == user.id, RoleGrant.role == role,
        RoleGrant.tenant_id.is_(None) if tenant_id is None else RoleGrant.tenant_id == tenant_id,
        RoleGrant.shop_id.is_(None) if shop_id is None else RoleGrant.shop_id == shop_id,
    ))
    if existing is not None:
        return existing
    grant = RoleGrant(user_id=user.id, role=role, tenant_id=tenant_id, shop_id=shop_id)
    db.session.add(grant)
    db.session.flush()
    return grant
