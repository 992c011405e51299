"""Electronic badges (网上商都商户电子标识): a signed record that an approved merchant trades at a shop and place.

* The operator issues a badge for a shop whose merchant is approved (``verification.is_approved``); it holds
  until the approval's ``valid_until``. Issuing again replaces (revokes) the shop's previous badge.
* The badge's facts are a canonical JSON payload (``canonical_payload``: sorted keys, no spaces, UTF-8) signed
  with the platform's Ed25519 key. ``/verify/keys`` publishes the public key and the format, so anyone can check
  a badge offline. The payload and signature are stored as issued: the check is over the bytes that were signed.
* Suspension and revocation are not in the payload: they are read online at ``/verify/<serial>`` and take effect
  at once. A badge also reads as expired once its own ``valid_until`` passes or its merchant's approval lapses.
* The signing key comes from ``MARKETPLACE_BADGE_SIGNING_KEY`` (base64 of the raw 32-byte Ed25519 private key).
  Without it, development and testing generate one once into ``instance/badge-signing.key`` (mode 0600);
  production refuses to sign (``BadgeKeyMissing``) rather than invent a key nobody has published.
* The serial is random (128 bits, URL-safe): knowing one badge says nothing about another.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.config import PREFIX, ConfigError
from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.shops.models import Merchant, Shop, ShopStatus
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant, TenantScoped

#: The payload format's version (the "v" field).
PAYLOAD_VERSION = 1
#: The payload's fields, in the (sorted) order they are serialised.
PAYLOAD_FIELDS = ("issued", "legal_name", "place", "registration_number", "serial", "shop", "tenant", "v",
                  "valid_until")
#: Bytes of randomness in a serial (128 bits; URL-safe base64 gives 22 characters).
SERIAL_BYTES = 16
#: What a serial may look like in a URL; anything else is not looked up.
SERIAL = re.compile(r"[A-Za-z0-9_-]{16,64}")
KEY_SETTING = "BADGE_SIGNING_KEY"
KEY_FILE = "badge-signing.key"
MAX_REASON = 500
#: The plain title printed on every badge: no emblem, no seal, nothing a government mark would use.
BADGE_TITLE = _l("网上商都商户电子标识")


@labelled({"valid": _l("有效"), "suspended": _l("已暂停"), "revoked": _l("已撤销")})
class BadgeStatus(LabelledEnum):
    """What the operator set; a badge in status ``valid`` may still read as expired (see ``BadgeState``)."""

    valid = "valid"
    suspended = "suspended"
    revoked = "revoked"


@labelled({"valid": _l("有效"), "suspended": _l("已暂停"), "revoked": _l("已撤销"), "expired": _l("已过期"),
           "unknown": _l("不存在"), "warning": _l("警示"), "closing": _l("将终止经营")})
class BadgeState(LabelledEnum):
    """What a person checking a badge is told. ``warning`` and ``closing`` are valid badges of a shop that trades
    under an operator's public warning, or has announced its last trading day (``trust.enforcement``)."""

    valid = "valid"
    suspended = "suspended"
    revoked = "revoked"
    expired = "expired"
    unknown = "unknown"
    warning = "warning"
    closing = "closing"


#: States of a genuine badge of a shop that is trading.
TRADING_STATES = (BadgeState.valid, BadgeState.warning, BadgeState.closing)


class BadgeError(ValueError):
    """A badge action that cannot be taken; the message says why, in the user's language."""


class BadgeKeyMissing(ConfigError):
    """Production has no badge signing key configured."""


class Badge(TenantScoped, TimestampMixin, db.Model):
    """One badge issued to one shop; a shop's newest badge is its current one."""

    __tablename__ = "badges"
    __table_args__ = (
        Index("ix_badges_tenant_id_shop_id", "tenant_id", "shop_id"),
        CheckConstraint("status IN ('valid', 'suspended', 'revoked')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random, URL-safe, unique across the platform: /verify/<serial> finds the badge without a tenant.
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="RESTRICT"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"))
    #: The stall or street address at issue (as signed).
    place: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The merchant approval's valid_until at issue (as signed).
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=BadgeStatus.valid)
    #: The exact bytes that were signed (canonical JSON, UTF-8), kept so the check is over what was signed.
    payload: Mapped[str] = mapped_column(Text)
    #: Base64 of the 64-byte Ed25519 signature over ``payload``.
    signature: Mapped[str] = mapped_column(String(128))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Why the badge was suspended or revoked (shown on the verification page).
    status_reason: Mapped[str] = mapped_column(Text, default="")

    merchant: Mapped[Merchant] = relationship()
    shop: Mapped[Shop] = relationship()
    tenant: Mapped[Tenant] = relationship()


# -- the key ---------------------------------------------------------------------------------------------

def decode_private_key(text: str) -> Ed25519PrivateKey:
    """The Ed25519 private key from base64 of its raw 32 bytes; ``ConfigError`` naming the setting otherwise."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(f"{PREFIX}{KEY_SETTING} must be the base64 of a raw 32-byte Ed25519 private key: generate "
                          f"one with `python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'`.")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _development_key(instance_path: Path) -> Ed25519PrivateKey:
    """The key kept under instance/ (created once, mode 0600) for development and tests."""
    path = instance_path / KEY_FILE
    instance_path.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return decode_private_key(path.read_text())
    with os.fdopen(fd, "w") as file:
        file.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    return decode_private_key(path.read_text())


def signing_key() -> Ed25519PrivateKey:
    """The platform's badge signing key (cached on the app).

    Raises ``BadgeKeyMissing`` in production when ``MARKETPLACE_BADGE_SIGNING_KEY`` is not set: a key made up on
    one server would sign badges that no published key verifies.
    """
    cached = current_app.extensions.get("badge_signing_key")
    if cached is not None:
        return cached
    settings = current_app.config["MARKETPLACE"]
    configured = settings.get(KEY_SETTING)
    if configured:
        key = decode_private_key(configured)
    elif settings["ENV"] == "production":
        raise BadgeKeyMissing(
            f"{PREFIX}{KEY_SETTING} is not set. In production badges are signed only with the platform's own "
            f"Ed25519 key: generate one with `python -c 'import base64, os; "
            f"print(base64.b64encode(os.urandom(32)).decode())'`, keep it secret, set {PREFIX}{KEY_SETTING} to it, "
            f"and restart. (Development and tests generate instance/{KEY_FILE} instead.)")
    else:
        key = _development_key(Path(current_app.instance_path))
    current_app.extensions["badge_signing_key"] = key
    return key


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_raw_b64(key: Ed25519PublicKey | None = None) -> str:
    key = key or public_key()
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def public_key_pem(key: Ed25519PublicKey | None = None) -> str:
    key = key or public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# -- the payload -----------------------------------------------------------------------------------------

def canonical_payload(data: dict) -> bytes:
    """The bytes that are signed: JSON with sorted keys, no spaces, non-ASCII kept as UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def timestamp(moment: datetime) -> str:
    """A UTC time as written in payloads: 2026-05-01T08:30:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(payload: bytes) -> str:
    return base64.b64encode(signing_key().sign(payload)).decode()


def signature_valid(payload: bytes, signature: str, key: Ed25519PublicKey | None = None) -> bool:
    """Whether ``signature`` (base64) is the platform key's signature of exactly these bytes."""
    try:
        raw = base64.b64decode(signature, validate=True)
        (key or public_key()).verify(raw, payload)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def new_serial() -> str:
    return secrets.token_urlsafe(SERIAL_BYTES)


def badge_place(tenant: Tenant, shop: Shop) -> str:
    """Where the shop is, in Chinese as printed on the card: the stall or street number, else the tenant's
    address."""
    from marketplace.delivery.services import shop_place

    with force_locale("zh_CN"):
        return shop_place(tenant, shop, "zh_CN") or tenant.address_zh or ""


# -- issuing and changing status -------------------------------------------------------------------------

def current_badges(shop_ids: list[int]) -> dict[int, Badge]:
    """The newest badge of each of these shops (current tenant), by shop id."""
    if not shop_ids:
        return {}
    found: dict[int, Badge] = {}
    for badge in db.session.scalars(select(Badge).where(Badge.shop_id.in_(shop_ids))
                                    .order_by(Badge.issued_at.desc(), Badge.id.desc())):
        found.setdefault(badge.shop_id, badge)
    return found


def shop_badge(shop: Shop) -> Badge | None:
    return current_badges([shop.id]).get(shop.id)


def issue_badge(shop: Shop, *, actor_id: int | None, now: datetime | None = None) -> Badge:
    """Issue a signed badge for ``shop`` (of the current tenant), valid until its merchant's approval ends.

    Refused (``BadgeError``) unless the merchant is approved at ``now``. The shop's earlier badges are revoked.
    Raises ``BadgeKeyMissing`` in production without a signing key. Flushes; the caller commits.
    """
    from marketplace.trust import verification

    now = (now or utcnow()).replace(microsecond=0)
    merchant = shop.merchant
    if not verification.is_approved(merchant, now):
        raise BadgeError(_("商户“%(name)s”尚未通过审核或审核已过期，不能签发电子标识。", name=merchant.legal_name))
    approval = verification.approval_for(merchant)
    valid_until = approval.valid_until.replace(microsecond=0)
    key = signing_key()  # before any change: without a key nothing is revoked or written
    tenant = db.session.get(Tenant, shop.tenant_id)
    serial = new_serial()
    place = badge_place(tenant, shop)
    data = {"v": PAYLOAD_VERSION, "serial": serial, "legal_name": merchant.legal_name,
            "registration_number": merchant.registration_number or "", "shop": shop.name_zh, "tenant": tenant.slug,
            "place": place, "issued": timestamp(now), "valid_until": timestamp(valid_until)}
    payload = canonical_payload(data)
    for earlier in db.session.scalars(select(Badge).where(Badge.shop_id == shop.id,
                                                          Badge.status != BadgeStatus.revoked)):
        _set_status(earlier, BadgeStatus.revoked, _("已重新签发新的电子标识。"), actor_id, now)
    badge = Badge(tenant_id=shop.tenant_id, serial=serial, merchant_id=merchant.id, shop_id=shop.id, place=place,
                  issued_at=now, valid_until=valid_until, status=BadgeStatus.valid, payload=payload.decode("utf-8"),
                  signature=base64.b64encode(key.sign(payload)).decode(), issued_by_id=actor_id)
    db.session.add(badge)
    db.session.flush()
    return badge


def _set_status(badge: Badge, status: BadgeStatus, reason: str, actor_id: int | None, now: datetime) -> None:
    badge.status = status
    badge.status_reason = reason
    badge.status_changed_at = now
    badge.status_changed_by_id = actor_id


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise BadgeError(_("请填写原因。"))
    if len(reason) > MAX_REASON:
        raise BadgeError(_("原因最多 %(n)d 个字。", n=MAX_REASON))
    return reason


def suspend_badge(badge: Badge, reason: str, *, actor_id: int | None, now: datetime | None = None) -> Badge:
    """Suspend a valid badge (it reads 已暂停 at once). Flushes; the caller commits."""
    reason = _clean_reason(reason)
    if badge.status != BadgeStatus.valid:
        raise BadgeError(_("只有有效的电子标识可以暂停。"))
    _set_status(badge, BadgeStatus.suspended, reason, actor_id, now or utcnow())
    db.session.flush()
    return badge


def reinstate_badge(badge: Badge, *, actor_id: int | None, now: datetime | None = None) -> Badge:
    """Lift a suspension. A revoked badge stays revoked (issue a new one). Flushes; the caller commits."""
    if badge.status != BadgeStatus.suspended:
        raise BadgeError(_("只有已暂停的电子标识可以恢复。"))
    _set_status(badge, BadgeStatus.valid, "", actor_id, now or utcnow())
    db.session.flush()
    return badge


def revoke_badge(badge: Badge, reason: str, *, actor_id: int | None, now: datetime | None = None) -> Badge:
    """Revoke a badge for good (it reads 已撤销 at once). Flushes; the caller commits."""
    reason = _clean_reason(reason)
    if badge.status == BadgeStatus.revoked:
        raise BadgeError(_("该电子标识已撤销。"))
    _set_status(badge, BadgeStatus.revoked, reason, actor_id, now or utcnow())
    db.session.flush()
    return badge


def revoke_merchant_badges(merchant: Merchant, *, reason: str, actor_id: int | None,
                           now: datetime | None = None) -> int:
    """Revoke every badge of ``merchant`` in every tenant (its approval was withdrawn). Flushes."""
    now = now or utcnow()
    with all_tenants():  # a merchant is platform-wide: so is the withdrawal of its approval
        badges = db.session.scalars(select(Badge).where(Badge.merchant_id == merchant.id,
                                                        Badge.status != BadgeStatus.revoked)).all()
        for badge in badges:
            _set_status(badge, BadgeStatus.revoked, reason, actor_id, now)
        db.session.flush()
    return len(badges)


def badge_in_tenant(serial: str) -> Badge | None:
    """The current tenant's badge with this serial (the guard filters), or None."""
    if not SERIAL.fullmatch(serial or ""):
        return None
    return db.session.scalar(select(Badge).where(Badge.serial == serial))


# -- checking --------------------------------------------------------------------------------------------

def badge_state(badge: Badge | None, now: datetime | None = None) -> BadgeState:
    """What the badge reads as at ``now``: revoked and suspended first, then expired (its own term or its
    merchant's approval), then a public warning or an announced closing, else valid."""
    from marketplace.trust import enforcement, verification  # trust modules load on demand

    if badge is None:
        return BadgeState.unknown
    now = now or utcnow()
    return _state(badge, badge.shop, verification.approval_for(badge.merchant),
                  lambda: enforcement.standing(badge.shop, now), now)


def badge_states(shops, now: datetime | None = None) -> dict[int, BadgeState]:
    """``badge_state`` of each shop's current badge (current tenant), by shop id, in four queries however many
    shops there are: the street map and the market plan mark every shop."""
    from marketplace.trust import enforcement
    from marketplace.trust.verification import MerchantApproval

    now = now or utcnow()
    shops = list(shops)
    ids = [shop.id for shop in shops]
    badges = current_badges(ids)
    merchant_ids = {shop.merchant_id for shop in shops if shop.id in badges}
    approvals = ({approval.merchant_id: approval for approval in db.session.scalars(
        select(MerchantApproval).where(MerchantApproval.merchant_id.in_(merchant_ids)))} if merchant_ids else {})
    standings = enforcement.standings([shop_id for shop_id in ids if shop_id in badges], now)
    return {shop.id: (_state(badges[shop.id], shop, approvals.get(shop.merchant_id),
                             lambda shop=shop: standings[shop.id], now)
                      if shop.id in badges else BadgeState.unknown) for shop in shops}


def _state(badge: Badge, shop: Shop, approval, standing_of, now: datetime) -> BadgeState:
    """The decision of ``badge_state`` from rows already read; ``standing_of()`` is asked only when needed."""
    from marketplace.trust import verification

    if badge.status == BadgeStatus.revoked:
        return BadgeState.revoked
    if badge.status == BadgeStatus.suspended or shop.status != ShopStatus.active:
        return BadgeState.suspended  # a shop the operator suspended is not trading, whatever its badge says
    if badge.valid_until <= now or verification.effective_status(approval, now) != verification.ApprovalStatus.approved:
        return BadgeState.expired
    standing = standing_of()
    if standing.warned:
        return BadgeState.warning
    if standing.closing is not None:
        return BadgeState.closing
    return BadgeState.valid


@dataclass
class Verification:
    """The answer of /verify/<serial> (and of the API): the state, the signed facts, and the signature check."""

    serial: str
    state: BadgeState
    badge: Badge | None = None
    tenant: Tenant | None = None
    #: The signed payload, parsed (None for an unknown serial).
    facts: dict | None = None
    #: Whether the stored signature verifies with the platform's public key over the stored payload.
    signature_ok: bool | None = None

    @property
    def trustworthy(self) -> bool:
        return self.state in TRADING_STATES and bool(self.signature_ok)


def verify(serial: str, now: datetime | None = None) -> Verification:
    """Look a serial up platform-wide and check it. An ill-formed or unknown serial reads ``unknown``."""
    if not SERIAL.fullmatch(serial or ""):
        return Verification(serial=serial, state=BadgeState.unknown)
    with all_tenants():  # the public check is platform-wide: the random serial is the key
        badge = db.session.scalar(select(Badge).where(Badge.serial == serial))
        if badge is None:
            return Verification(serial=serial, state=BadgeState.unknown)
        state = badge_state(badge, now)
        tenant = db.session.get(Tenant, badge.tenant_id)
    payload = badge.payload.encode("utf-8")
    try:
        facts = json.loads(payload)
    except ValueError:
        facts = {}
    try:
        signature_ok = signature_valid(payload, badge.signature)
    except ConfigError:  # production without a key: the state still stands, the signature cannot be checked
        signature_ok = None
    return Verification(serial=serial, state=state, badge=badge, tenant=tenant, facts=facts,
                        signature_ok=signature_ok)
