"""Merchant approval: the platform's decision that a merchant (the legal entity behind shops) is who it says.

This is the minimal record the badges rest on (``is_approved``); the onboarding application that feeds it is
built elsewhere. The rules:

* One ``MerchantApproval`` row per merchant, platform-wide: a merchant is one legal entity, whichever streets
  and markets it trades in. An operator may decide only for merchants with a shop in their own tenant; the
  tenant the decision was taken in is kept on the event.
* An approval holds for six months (OTSM Art. 24(1): re-verify at least every six months); after
  ``valid_until`` the merchant reads as expired and ``is_approved`` is False, with or without a job having
  marked the row (``expire_approvals`` does that for lists and reminders).
* Every decision appends an ``ApprovalEvent``; events are never changed or deleted (refused at flush).
* Rejecting a merchant revokes its badges at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, event, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.shops.models import Merchant, Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant

#: How long an approval holds before the merchant must be verified again (OTSM Art. 24(1)).
APPROVAL_VALIDITY = relativedelta(months=6)
MAX_REASON = 500


@labelled({"pending": _l("待审核"), "approved": _l("已通过"), "rejected": _l("已驳回"), "expired": _l("已过期")})
class ApprovalStatus(LabelledEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"


class ApprovalError(ValueError):
    """A decision that cannot be taken; the message says why, in the user's language."""


class MerchantApproval(TimestampMixin, db.Model):
    """The current verification decision about one merchant (the history is in ``ApprovalEvent``)."""

    __tablename__ = "merchant_approvals"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'expired')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="RESTRICT"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ApprovalStatus.pending)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: decided_at + 6 months for an approval; None otherwise. Past it the merchant reads as expired.
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why the merchant was rejected (shown to the operator; empty for approvals).
    reason: Mapped[str] = mapped_column(Text, default="")

    merchant: Mapped[Merchant] = relationship()


class ApprovalEvent(db.Model):
    """One decision about a merchant, appended and never changed or deleted."""

    __tablename__ = "merchant_approval_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="RESTRICT"), index=True)
    #: The tenant whose operator console the decision was taken in (None: a job, such as expiry).
    via_tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")


@event.listens_for(ApprovalEvent, "before_update")
@event.listens_for(ApprovalEvent, "before_delete")
def _events_are_append_only(_mapper, _connection, target: ApprovalEvent) -> None:
    raise ApprovalError(f"approval event {target.id} is part of the audit trail and cannot be changed or deleted")


# -- reading ---------------------------------------------------------------------------------------------

def approval_for(merchant: Merchant, *, lock: bool = False) -> MerchantApproval | None:
    """The merchant's approval row; ``lock`` holds it, so decisions taken at once (a rejection in one market, a
    renewal in another) take turns and each sees the other's outcome."""
    query = select(MerchantApproval).where(MerchantApproval.merchant_id == merchant.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def effective_status(approval: MerchantApproval | None, now: datetime | None = None) -> ApprovalStatus:
    """The status as it stands at ``now``: an approval past its ``valid_until`` is expired."""
    if approval is None:
        return ApprovalStatus.pending
    now = now or utcnow()
    if approval.status == ApprovalStatus.approved and (approval.valid_until is None or approval.valid_until <= now):
        return ApprovalStatus.expired
    return ApprovalStatus(approval.status)


def is_approved(merchant: Merchant, now: datetime | None = None) -> bool:
    """Whether ``merchant`` holds an approval that is still valid at ``now`` (default: the current time)."""
    return effective_status(approval_for(merchant), now) == ApprovalStatus.approved


def events_of(merchant: Merchant) -> list[ApprovalEvent]:
    return list(db.session.scalars(select(ApprovalEvent).where(ApprovalEvent.merchant_id == merchant.id)
                                   .order_by(ApprovalEvent.at, ApprovalEvent.id)))


def identity_problem(merchant: Merchant) -> str | None:
    """Why the merchant's identity record cannot be approved as it stands, or None."""
    if not (merchant.legal_name or "").strip():
        return _("商户未填写经营者名称。")
    try:
        shops.check_registration_number(merchant.kind, merchant.registration_number)
    except shops.ShopError as error:
        return str(error)
    return None


@dataclass
class MerchantRow:
    """One line of the operator's merchants page."""

    merchant: Merchant
    shops: list[Shop]
    approval: MerchantApproval | None
    status: ApprovalStatus
    problem: str | None
    badges: dict[int, object] = field(default_factory=dict)  # shop id → the shop's current Badge


def merchants_of_tenant(tenant: Tenant, now: datetime | None = None) -> list[MerchantRow]:
    """The merchants with a shop in ``tenant`` (the current tenant), with their approval and shops' badges."""
    from marketplace.trust import badges

    now = now or utcnow()
    tenant_shops = db.session.scalars(select(Shop).where(Shop.tenant_id == tenant.id)
                                      .order_by(Shop.name_zh, Shop.id)).all()
    by_merchant: dict[int, list[Shop]] = {}
    for shop in tenant_shops:
        by_merchant.setdefault(shop.merchant_id, []).append(shop)
    if not by_merchant:
        return []
    merchants = db.session.scalars(select(Merchant).where(Merchant.id.in_(by_merchant))
                                   .order_by(Merchant.legal_name, Merchant.id)).all()
    approvals = {row.merchant_id: row for row in db.session.scalars(
        select(MerchantApproval).where(MerchantApproval.merchant_id.in_(by_merchant)))}
    current = badges.current_badges([shop.id for shop in tenant_shops])
    rows = []
    for merchant in merchants:
        approval = approvals.get(merchant.id)
        rows.append(MerchantRow(merchant, by_merchant[merchant.id], approval, effective_status(approval, now),
                                identity_problem(merchant),
                                {shop.id: current[shop.id] for shop in by_merchant[merchant.id] if shop.id in current}))
    return rows


def merchant_in_tenant(merchant_id: int) -> Merchant | None:
    """The merchant with this id if it has a shop in the current tenant (the guard filters the shops), else None."""
    shop = db.session.scalar(select(Shop).where(Shop.merchant_id == merchant_id).limit(1))
    return shop.merchant if shop is not None else None


# -- deciding --------------------------------------------------------------------------------------------

def _decide(merchant: Merchant, to_status: ApprovalStatus, *, actor_id: int | None, tenant: Tenant | None,
            now: datetime, valid_until: datetime | None, reason: str) -> MerchantApproval:
    approval = approval_for(merchant, lock=True)
    if approval is None:
        approval = MerchantApproval(merchant_id=merchant.id, status=ApprovalStatus.pending)
        db.session.add(approval)
    from_status = effective_status(approval, now) if approval.id else ApprovalStatus.pending
    approval.status = to_status
    approval.decided_by_id = actor_id
    approval.decided_at = now
    approval.valid_until = valid_until
    approval.reason = reason
    db.session.add(ApprovalEvent(merchant_id=merchant.id, via_tenant_id=tenant.id if tenant is not None else None,
                                 at=now, actor_id=actor_id, from_status=from_status, to_status=to_status,
                                 valid_until=valid_until, reason=reason))
    db.session.flush()
    return approval


def approve(merchant: Merchant, *, actor_id: int | None, tenant: Tenant | None,
            now: datetime | None = None) -> MerchantApproval:
    """Approve ``merchant`` for six months from ``now`` (approving again renews it).

    Refused (``ApprovalError``) while the identity record is incomplete: an enterprise or individual business
    needs a legal name and a registration number whose check character is right. Flushes; the caller commits.
    """
    problem = identity_problem(merchant)
    if problem:
        raise ApprovalError(_("不能通过审核：%(problem)s", problem=problem))
    now = now or utcnow()
    return _decide(merchant, ApprovalStatus.approved, actor_id=actor_id, tenant=tenant, now=now,
                   valid_until=now + APPROVAL_VALIDITY, reason="")


def renew(merchant: Merchant, *, actor_id: int | None, tenant: Tenant | None,
          now: datetime | None = None) -> MerchantApproval:
    """Re-verify a merchant an operator has verified before (approved, or approved and since expired) for another
    six months. A merchant never verified, or rejected, is approved only through an onboarding application, so
    no operator approves an identity without the documents in front of them. Flushes; the caller commits."""
    now = now or utcnow()
    if effective_status(approval_for(merchant, lock=True), now) not in (ApprovalStatus.approved, ApprovalStatus.expired):
        raise ApprovalError(_("这个商户还没有通过认证：请商户在商户后台提交认证申请，再在申请上审核。"))
    return approve(merchant, actor_id=actor_id, tenant=tenant, now=now)


def reject(merchant: Merchant, reason: str, *, actor_id: int | None, tenant: Tenant | None,
           now: datetime | None = None) -> MerchantApproval:
    """Reject ``merchant`` with a reason (required, at most 500 characters); its badges are revoked at once.

    Flushes; the caller commits.
    """
    from marketplace.trust import badges

    reason = " ".join((reason or "").split())
    if not reason:
        raise ApprovalError(_("请填写驳回原因。"))
    if len(reason) > MAX_REASON:
        raise ApprovalError(_("驳回原因最多 %(n)d 个字。", n=MAX_REASON))
    now = now or utcnow()
    approval = _decide(merchant, ApprovalStatus.rejected, actor_id=actor_id, tenant=tenant, now=now,
                       valid_until=None, reason=reason)
    badges.revoke_merchant_badges(merchant, reason=_("商户审核被驳回：%(reason)s", reason=reason),
                                  actor_id=actor_id, now=now)
    _take_goods_off_sale(merchant)
    return approval


def _take_goods_off_sale(merchant: Merchant) -> None:
    """A rejected merchant sells nothing more, in any street or market: its goods on sale go back to draft."""
    from marketplace.catalog.services import unpublish_shop_products

    with all_tenants():
        shops = list(db.session.scalars(select(Shop).where(Shop.merchant_id == merchant.id)))
    for shop in shops:
        with tenant_scope(shop.tenant):
            unpublish_shop_products(shop)


def expire_approvals(now: datetime | None = None) -> int:
    """Mark approvals past their ``valid_until`` as expired (for lists and reminders; ``is_approved`` already
    reads them as expired). Returns how many were marked. Flushes; the caller commits."""
    now = now or utcnow()
    stale = db.session.scalars(select(MerchantApproval).where(MerchantApproval.status == ApprovalStatus.approved,
                                                              MerchantApproval.valid_until <= now)).all()
    for approval in stale:
        approval.status = ApprovalStatus.expired
        db.session.add(ApprovalEvent(merchant_id=approval.merchant_id, via_tenant_id=None, at=now, actor_id=None,
                                     from_status=ApprovalStatus.approved, to_status=ApprovalStatus.expired,
                                     valid_until=approval.valid_until, reason=""))
    db.session.flush()
    return len(stale)
