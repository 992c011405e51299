"""Complaints (投诉受理): a resident complains about one of their orders, the merchant answers, the resident accepts
the answer or takes it to the market's operator, who decides. Every step has a clock.

=============  ============================  =====================================  ==============================
status         who acts next                 due                                     when the clock runs out
=============  ============================  =====================================  ==============================
filed          the merchant answers          filed + ``merchant_hours`` (48)         escalated to the operator
answered       the resident accepts or       answered + ``resident_days`` (7)        resolved (the answer stands)
               escalates
escalated      the operator decides          escalated + ``operator_days`` (7)       stays in the queue, overdue
                                                                                      first (a person must decide)
resolved, upheld, partly_upheld, rejected: closed, nothing due.
=============  ============================  =====================================  ==============================

The deadlines are tenant settings (``complaint_settings``). ``run_due`` is the job (``flask trust complaints-due``):
it makes the automatic moves and sends one reminder per step — to whoever must act, once half of the step's time is
gone — through the order notices' mail and SMS (``orders.notifications``), after the commit.

Each move appends a ``ComplaintEvent`` (actor, time, from, to, note) that nothing updates or deletes: the audit trail
shown on every complaint page and kept for the regulator. One order has at most one open complaint: the database
holds it (``open_order_id`` is the order's id while the complaint is open, unique, and NULL once it is closed).

What 12315 needs (市场监督管理投诉举报处理暂行办法 Art. 9) is on the complaint or one step from it: the complainant's
name and phone (their account), their postal address (``complainant_address``, by default the order's shipping
address), the respondent's name and address (the shop's merchant and the business address of its approved
application, ``respondent_addresses``), the claim (``claim``, a kind, with ``claim_detail`` in their own words) and
the facts (``description``).

Evidence photos go through the media pipeline's ``ingest_image`` (checked, cleaned of EXIF/GPS, stored by SHA-256);
a complaint keeps their hashes.

``complaint_outcomes(shop, since)`` counts how a shop's complaints ended, for the credit score.

Every function takes ``now`` for tests and jobs, flushes, and leaves the commit to its caller.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import TimestampMixin, UTCDateTime, append_only, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderStatus
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant, TenantScoped
from marketplace.tenancy.settings import Setting, SettingsGroup

log = logging.getLogger(__name__)

#: Per tenant: hours the merchant has to answer, days the resident has to accept or escalate the answer, days the
#: operator has to decide an escalated complaint.
complaint_settings = SettingsGroup("complaints", merchant_hours=Setting(int, 48), resident_days=Setting(int, 7),
                                   operator_days=Setting(int, 7))

MAX_DESCRIPTION = 2000
MAX_NOTE = 2000
MAX_PHOTOS = 6
MAX_ADDRESS = 300
MAX_CLAIM_DETAIL = 500


@labelled({"quality": _l("商品质量"), "not_as_described": _l("描述不符"), "delivery": _l("未按约定发货/配送"),
           "price_fraud": _l("价格欺诈"), "after_sales": _l("售后/退货"), "service": _l("服务态度"),
           "other": _l("其他")})
class ComplaintCategory(LabelledEnum):
    quality = "quality"
    not_as_described = "not_as_described"
    delivery = "delivery"
    price_fraud = "price_fraud"
    after_sales = "after_sales"
    service = "service"
    other = "other"


@labelled({"return_refund": _l("退货退款"), "refund": _l("仅退款"), "exchange": _l("更换"), "repair": _l("修理"),
           "compensation": _l("赔偿"), "other": _l("其他")})
class ComplaintClaim(LabelledEnum):
    """What the complainant asks for (具体投诉请求)."""

    return_refund = "return_refund"
    refund = "refund"
    exchange = "exchange"
    repair = "repair"
    compensation = "compensation"
    other = "other"


@labelled({"filed": _l("待商家答复"), "answered": _l("商家已答复"), "escalated": _l("待平台处理"),
           "resolved": _l("已解决"), "upheld": _l("投诉成立"), "partly_upheld": _l("部分成立"),
           "rejected": _l("投诉不成立")})
class ComplaintStatus(LabelledEnum):
    filed = "filed"
    answered = "answered"
    escalated = "escalated"
    resolved = "resolved"
    upheld = "upheld"
    partly_upheld = "partly_upheld"
    rejected = "rejected"


S = ComplaintStatus
OPEN = (S.filed, S.answered, S.escalated)
#: What the operator may decide.
OUTCOMES = (S.upheld, S.partly_upheld, S.rejected)
#: Every allowed move, in one place: from → the statuses it may go to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.filed: (S.answered, S.escalated),
    S.answered: (S.resolved, S.escalated),
    S.escalated: OUTCOMES,
}
#: Orders that were never paid for are not complained about (nothing was bought).
UNPAID = (OrderStatus.pending_payment,)


class ComplaintError(ValueError):
    """A move that is not allowed now, or bad input; the message is for people, ``field`` names the input at fault
    ("" when it is no one input)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


class Complaint(TenantScoped, TimestampMixin, db.Model):
    """A resident's complaint about one order, where it stands, and the dates the law and the tenant set."""

    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("number"),
        UniqueConstraint("open_order_id"),
        CheckConstraint("status IN ('filed', 'answered', 'escalated', 'resolved', 'upheld', 'partly_upheld', "
                        "'rejected')", name="status"),
        Index("ix_complaints_tenant_id_shop_id_status", "tenant_id", "shop_id", "status"),
        Index("ix_complaints_tenant_id_status_due_at", "tenant_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    #: The order's id while the complaint is open, NULL once closed: one open complaint per order.
    open_order_id: Mapped[int | None] = mapped_column()
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    #: The facts (争议事实): what happened, in the complainant's words.
    description: Mapped[str] = mapped_column(Text)
    #: Where the complainant takes post (通讯地址); "" on complaints filed before it was asked.
    complainant_address: Mapped[str] = mapped_column(String(MAX_ADDRESS), default="", server_default="")
    #: What the complainant asks for (a ``ComplaintClaim``), and in their own words; "" before it was asked.
    claim: Mapped[str] = mapped_column(String(16), default="", server_default="")
    claim_detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: SHA-256 names of the evidence photos in media storage.
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=S.filed)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When the current step began and when it is due (None once closed); reminders fall halfway between.
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The status whose reminder was sent: one reminder per step.
    reminded_for: Mapped[str] = mapped_column(String(16), default="")
    answer_due: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: True when the merchant's silence escalated it, not the resident.
    escalated_automatically: Mapped[bool] = mapped_column(default=False)
    decide_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()
    shop: Mapped[Shop] = relationship()
    events: Mapped[list[ComplaintEvent]] = relationship(order_by="ComplaintEvent.id", viewonly=True)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def claim_text(self) -> str:
        """The claim as one line: its kind, then the complainant's words ("" when none was recorded)."""
        kind = str(ComplaintClaim.__labels__[self.claim]) if self.claim in ComplaintClaim.values() else ""
        return "：".join(part for part in (kind, self.claim_detail) if part)

    def overdue(self, now: datetime | None = None) -> bool:
        return self.due_at is not None and self.due_at <= (now or utcnow())


class ComplaintEvent(TenantScoped, db.Model):
    """One step of a complaint, appended and never changed: who moved it from which status to which, when, why."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="RESTRICT"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: None for the platform itself (the deadline job).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


append_only(ComplaintEvent, "complaint event")


# -- moves --------------------------------------------------------------------------------------------------------

def _clean(text: str | None, limit: int, *, required: bool, what: str, field: str = "") -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if any(ord(c) < 32 and c not in "\n\t" or ord(c) == 127 for c in text):
        raise ComplaintError(_("%(what)s含有无法识别的字符，请修改后重试。", what=what), field)
    if required and not text:
        raise ComplaintError(_("请填写%(what)s。", what=what), field)
    if len(text) > limit:
        raise ComplaintError(_("%(what)s不能超过 %(limit)d 个字。", what=what, limit=limit), field)
    return text


def _move(complaint: Complaint, to: str, *, actor_id: int | None, now: datetime, note: str = "") -> None:
    if to not in TRANSITIONS.get(complaint.status, ()):
        raise ComplaintError(_("投诉当前为“%(status)s”，不能进行这一步。", status=S.__labels__[complaint.status]))
    db.session.add(ComplaintEvent(tenant_id=complaint.tenant_id, complaint_id=complaint.id, at=now,
                                  actor_id=actor_id, from_status=complaint.status, to_status=to, note=note))
    complaint.status = to
    complaint.step_started_at = now
    if to in OPEN:
        complaint.due_at = _due(complaint, to, now)
    else:
        complaint.due_at = None
        complaint.closed_at = now
        complaint.open_order_id = None
    db.session.flush()


def _due(complaint: Complaint, status: str, now: datetime) -> datetime:
    tenant = db.session.get(Tenant, complaint.tenant_id)
    if status == S.filed:
        return now + timedelta(hours=complaint_settings.get(tenant, "merchant_hours"))
    if status == S.answered:
        return now + timedelta(days=complaint_settings.get(tenant, "resident_days"))
    return now + timedelta(days=complaint_settings.get(tenant, "operator_days"))


def open_complaint_of(order: Order) -> Complaint | None:
    return db.session.scalar(select(Complaint).where(Complaint.open_order_id == order.id))


def may_complain(order: Order) -> bool:
    """Whether the buyer may file a complaint about ``order`` now (paid for at some point, none open)."""
    if order.status in UNPAID or (order.status == OrderStatus.cancelled and order.group.paid_at is None):
        return False
    return open_complaint_of(order) is None


def shipping_address(order: Order) -> str:
    """Where ``order`` was sent, on one line (region and street, no name or phone); "" when it was collected."""
    from marketplace.delivery.express import address_text
    from marketplace.delivery.models import Shipment

    address = db.session.scalar(select(Shipment.address).where(Shipment.order_id == order.id))
    return address_text(address) if address else ""


def respondent_addresses(merchant_ids) -> dict[int, str]:
    """Merchant id → the business address of its approved application (what the platform verified): the
    respondent's address a complaint names. A merchant never approved, or approved without one, is missing."""
    from marketplace.trust.onboarding import approved_applications

    found = approved_applications(merchant_ids)
    return {merchant_id: address for merchant_id, application in found.items()
            if (address := (application.business_address or "").strip())}


def _number(now: datetime) -> str:
    for _attempt in range(10):
        number = f"TS{now:%Y%m%d}{secrets.randbelow(10**8):08d}"
        if db.session.scalar(select(Complaint.id).where(Complaint.number == number)) is None:
            return number
    raise RuntimeError("could not find a free complaint number")  # 10 collisions among 10**8: not in practice


def ingest_evidence(photos: list[bytes]) -> list[str]:
    """Evidence photos (uploaded files' bytes, at most ``MAX_PHOTOS``) checked and stored by the media pipeline;
    their SHA-256 names, for ``file_complaint``. Refuses (``ComplaintError``) too many or a file that is no image."""
    from marketplace.media.images import ImageRejected, ingest_image

    photos = [data for data in photos if data]
    if len(photos) > MAX_PHOTOS:
        raise ComplaintError(_("最多上传 %(n)d 张图片。", n=MAX_PHOTOS))
    stored = []
    for data in photos:
        try:
            stored.append(ingest_image(data).sha256)
        except ImageRejected as rejected:
            raise ComplaintError(rejected.message) from None
    return stored


def file_complaint(tenant: Tenant, order: Order, *, buyer_id: int, category: str, description: str,
                   claim: str | None = None, claim_detail: str = "", complainant_address: str | None = None,
                   photos: list[str] | tuple[str, ...] = (), now: datetime | None = None) -> Complaint:
    """The buyer of ``order`` complains about it; the merchant's clock starts. ``claim`` is what they ask for (a
    ``ComplaintClaim``; ``claim_detail`` says it in their words, required for "other"); None only from callers that
    do not ask (the complaint then lacks it, and CH-2 names it). ``complainant_address`` None takes the order's
    shipping address. ``photos``: SHA-256 names of images already stored through ``media.images.ingest_image``.
    Refuses someone else's order, an unpaid one, a second open complaint, an unknown category or claim, an empty or
    too long description or address."""
    now = now or utcnow()
    if order.buyer_id != buyer_id or order.tenant_id != tenant.id:
        raise ComplaintError(_("只能投诉自己的订单。"))
    if category not in ComplaintCategory.values():
        raise ComplaintError(_("请选择投诉类型。"), "category")
    description = _clean(description, MAX_DESCRIPTION, required=True, what=_("投诉内容"), field="description")
    if claim is not None and claim not in ComplaintClaim.values():
        raise ComplaintError(_("请选择投诉请求。"), "claim")
    claim_detail = _clean(claim_detail, MAX_CLAIM_DETAIL, required=claim == ComplaintClaim.other,
                          what=_("具体要求"), field="claim_detail")
    if complainant_address is None:
        complainant_address = shipping_address(order)
    else:  # one line, as an envelope has it
        complainant_address = " ".join(_clean(complainant_address, MAX_ADDRESS, required=True, what=_("通讯地址"),
                                              field="complainant_address").split())
    photos = list(photos)
    if len(photos) > MAX_PHOTOS:
        raise ComplaintError(_("最多上传 %(n)d 张图片。", n=MAX_PHOTOS), "photos")
    if order.status in UNPAID or (order.status == OrderStatus.cancelled and order.group.paid_at is None):
        raise ComplaintError(_("未付款的订单不能投诉。"))
    if open_complaint_of(order) is not None:
        raise ComplaintError(_("这笔订单已有一件处理中的投诉。"))
    complaint = Complaint(tenant_id=tenant.id, number=_number(now), order_id=order.id, open_order_id=order.id,
                          shop_id=order.shop_id, buyer_id=buyer_id, category=category, description=description,
                          complainant_address=complainant_address, claim=claim or "", claim_detail=claim_detail,
                          photos=photos, status=S.filed, filed_at=now, step_started_at=now, reminded_for="",
                          answer_due=now + timedelta(hours=complaint_settings.get(tenant, "merchant_hours")))
    complaint.due_at = complaint.answer_due
    db.session.add(complaint)
    db.session.flush()
    db.session.add(ComplaintEvent(tenant_id=tenant.id, complaint_id=complaint.id, at=now, actor_id=buyer_id,
                                  from_status="", to_status=S.filed, note=""))
    db.session.flush()
    _notify(complaint, "filed")
    from marketplace.webhooks import services as webhooks  # webhooks read complaints, not the other way round

    webhooks.emit("complaint.opened", tenant_id=tenant.id, shop_id=complaint.shop_id, data={
        "number": complaint.number, "order_number": order.number, "category": complaint.category,
        "claim": complaint.claim, "description": complaint.description,
        "answer_due": complaint.answer_due.isoformat()})
    return complaint


def answer(complaint: Complaint, *, actor_id: int, text: str, now: datetime | None = None) -> None:
    """The merchant answers, before ``answer_due``; the resident's clock starts."""
    now = now or utcnow()
    text = _clean(text, MAX_NOTE, required=True, what=_("答复"))
    if complaint.status == S.filed and complaint.overdue(now):
        raise ComplaintError(_("答复期限已过，投诉将转交市场运营方处理。"))
    _move(complaint, S.answered, actor_id=actor_id, now=now, note=text)
    complaint.answer, complaint.answered_at, complaint.answered_by = text, now, actor_id
    _notify(complaint, "answered")


def accept(complaint: Complaint, *, actor_id: int, now: datetime | None = None) -> None:
    """The resident accepts the merchant's answer: resolved."""
    now = now or utcnow()
    _only_buyer(complaint, actor_id)
    _move(complaint, S.resolved, actor_id=actor_id, now=now, note=_("投诉人接受商家答复。"))


def escalate(complaint: Complaint, *, actor_id: int, reason: str = "", now: datetime | None = None) -> None:
    """The resident is not satisfied with the answer and asks the operator to decide; the operator's clock starts."""
    now = now or utcnow()
    _only_buyer(complaint, actor_id)
    reason = _clean(reason, MAX_NOTE, required=False, what=_("理由"))
    if complaint.status != S.answered:  # before the answer only the merchant's silence escalates
        raise ComplaintError(_("投诉当前为“%(status)s”，不能进行这一步。", status=S.__labels__[complaint.status]))
    if complaint.overdue(now):
        raise ComplaintError(_("回应期限已过，商家的答复已视为接受。"))
    _move(complaint, S.escalated, actor_id=actor_id, now=now, note=reason)
    complaint.escalated_at, complaint.decide_due = now, complaint.due_at
    _notify(complaint, "escalated")


def decide(complaint: Complaint, *, actor_id: int, outcome: str, note: str = "", now: datetime | None = None) -> None:
    """The operator decides an escalated complaint: upheld, partly upheld (a note is required) or rejected."""
    from marketplace.trust.credit import refresh_credit  # the score reads complaints

    now = now or utcnow()
    if outcome not in OUTCOMES:
        raise ComplaintError(_("请选择处理结果。"))
    note = _clean(note, MAX_NOTE, required=outcome == S.partly_upheld, what=_("处理说明"))
    _move(complaint, outcome, actor_id=actor_id, now=now, note=note)
    complaint.decided_at, complaint.decided_by, complaint.decision_note = now, actor_id, note
    _notify(complaint, "decided")
    # An upheld complaint costs the shop credit: search ranks by it from this commit on, not tonight.
    refresh_credit([db.session.get(Shop, complaint.shop_id)], now=now)


def _only_buyer(complaint: Complaint, actor_id: int) -> None:
    if complaint.buyer_id != actor_id:
        raise ComplaintError(_("只有投诉人可以这样做。"))


# -- the job ------------------------------------------------------------------------------------------------------

@dataclass
class DueRun:
    escalated: int = 0
    resolved: int = 0
    reminded: int = 0


def reminder_at(complaint: Complaint) -> datetime | None:
    """When the reminder of the current step is due: halfway through the step's time."""
    if complaint.due_at is None:
        return None
    return complaint.step_started_at + (complaint.due_at - complaint.step_started_at) / 2


def run_due(tenant: Tenant, now: datetime | None = None) -> DueRun:
    """The deadline job for one tenant (within its scope): a merchant's silence escalates, a resident's silence
    resolves, and whoever must act is reminded once per step. The caller commits."""
    now = now or utcnow()
    done = DueRun()
    with tenant_scope(tenant):
        found = list(db.session.scalars(select(Complaint).where(Complaint.status.in_(OPEN))
                                        .order_by(Complaint.due_at, Complaint.id).with_for_update()))
        for complaint in found:
            if complaint.status == S.filed and complaint.overdue(now):
                _move(complaint, S.escalated, actor_id=None, now=now,
                      note=_("商家未在期限内答复，自动转交市场运营方处理。"))
                complaint.escalated_at, complaint.decide_due = now, complaint.due_at
                complaint.escalated_automatically = True
                _notify(complaint, "escalated")
                done.escalated += 1
            elif complaint.status == S.answered and complaint.overdue(now):
                _move(complaint, S.resolved, actor_id=None, now=now,
                      note=_("投诉人未在期限内回应，视为接受商家答复。"))
                done.resolved += 1
            if complaint.is_open and complaint.reminded_for != complaint.status and now >= reminder_at(complaint):
                complaint.reminded_for = complaint.status
                _notify(complaint, "reminder")
                done.reminded += 1
        db.session.flush()
    return done


# -- what the credit score reads ----------------------------------------------------------------------------------

def complaint_outcomes(shop: Shop, since: datetime) -> dict[str, int]:
    """How ``shop``'s complaints closed since ``since``: ``upheld``, ``partly_upheld``, ``rejected`` (by the operator)
    and ``resolved`` (the resident accepted the merchant's answer, or let it stand). Open ones are not counted."""
    tenant = db.session.get(Tenant, shop.tenant_id)
    with tenant_scope(tenant):
        rows = db.session.execute(select(Complaint.status, func.count(Complaint.id))
                                  .where(Complaint.shop_id == shop.id, Complaint.closed_at >= since,
                                         Complaint.status.in_((S.resolved, *OUTCOMES)))
                                  .group_by(Complaint.status)).all()
    counts = {S.upheld.value: 0, S.partly_upheld.value: 0, S.rejected.value: 0, S.resolved.value: 0}
    counts.update({str(status): n for status, n in rows})
    return counts


# -- notices ------------------------------------------------------------------------------------------------------

def _notify(complaint: Complaint, kind: str) -> None:
    from marketplace.orders.notifications import prepare_safely

    prepare_safely(_prepare, complaint, kind)


def _operators(tenant: Tenant):
    from marketplace.accounts.models import Role, RoleGrant, User
    from marketplace.orders import notifications as n

    users = db.session.scalars(select(User).join(RoleGrant, RoleGrant.user_id == User.id)
                               .where(RoleGrant.role == Role.tenant_operator, RoleGrant.tenant_id == tenant.id,
                                      User.active.is_(True)).order_by(User.id)).unique()
    return [n._buyer(user.id) for user in users]


def _prepare(complaint: Complaint, kind: str) -> None:
    # The order notices' addresses, languages and after-commit sending; their "key" sends each message once.
    from marketplace.orders import notifications as n

    tenant = db.session.get(Tenant, complaint.tenant_id)
    sign = n._signature(tenant)
    shop = db.session.get(Shop, complaint.shop_id)
    buyer = n._buyer(complaint.buyer_id)
    merchant = n._merchant(shop)
    key = (f"complaint-{kind}", complaint.id, complaint.status)
    messages = []  # (recipient, subject, text)
    if kind == "filed" or (kind == "reminder" and complaint.status == S.filed):
        with force_locale(merchant.locale):
            due = n._local_time(complaint.due_at, tenant)
            text = _("订单%(order)s收到投诉%(number)s，请于%(due)s前在商家后台答复，逾期将转交市场运营方处理。",
                     order=complaint.order.number, number=complaint.number, due=due)
            subject = _("投诉待答复：%(number)s", number=complaint.number)
            messages.append((merchant, subject, text))
    elif kind == "answered" or (kind == "reminder" and complaint.status == S.answered):
        with force_locale(buyer.locale):
            due = n._local_time(complaint.due_at, tenant)
            text = _("您的投诉%(number)s商家已答复，请于%(due)s前确认接受或申请平台处理，逾期视为接受。",
                     number=complaint.number, due=due)
            messages.append((buyer, _("投诉已答复：%(number)s", number=complaint.number), text))
    elif kind in ("escalated", "reminder") and complaint.status == S.escalated:
        for operator in _operators(tenant):
            with force_locale(operator.locale):
                due = n._local_time(complaint.due_at, tenant)
                text = _("投诉%(number)s待平台处理，处理期限%(due)s。", number=complaint.number, due=due)
                messages.append((operator, _("投诉待处理：%(number)s", number=complaint.number), text))
        if kind == "escalated":
            with force_locale(buyer.locale):
                text = _("您的投诉%(number)s已转交市场运营方处理。", number=complaint.number)
                messages.append((buyer, _("投诉已转平台处理：%(number)s", number=complaint.number), text))
    elif kind == "decided":
        for recipient in (buyer, merchant):
            with force_locale(recipient.locale):
                text = _("投诉%(number)s处理结果：%(outcome)s。", number=complaint.number,
                         outcome=str(S.__labels__[complaint.status]))
                messages.append((recipient, _("投诉处理结果：%(number)s", number=complaint.number), text))
    for recipient, subject, text in messages:
        n._to(recipient, subject, text, text, sign, key=key)


# -- export for the market regulator ------------------------------------------------------------------------------

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_rows(tenant: Tenant, complaints: list[Complaint]) -> tuple[list[str], list[list[str]]]:
    """The header and one row per complaint, times on the tenant's calendar, for the regulator's export. The
    columns 12315 asks for (complainant, respondent's address, claim, facts) come after the older ones, so that a
    sheet read by position keeps working."""
    from marketplace.accounts.models import User
    from marketplace.catalog.exporting import neutralise

    zone = ZoneInfo(tenant.timezone)
    buyer_ids = {c.buyer_id for c in complaints}
    buyers = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(buyer_ids)))} if buyer_ids else {}
    addresses = respondent_addresses({c.shop.merchant_id for c in complaints})

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    header = [_("投诉编号"), _("投诉时间"), _("订单号"), _("店铺"), _("经营者名称"), _("统一社会信用代码/注册号"),
              _("投诉类型"), _("状态"), _("商家答复期限"), _("商家答复时间"), _("平台处理期限"), _("办结时间"),
              _("处理结果"), _("处理说明"), _("投诉人"), _("投诉人电话"), _("投诉人通讯地址"), _("被投诉人地址"),
              _("投诉请求"), _("争议事实")]
    rows = []
    for c in complaints:
        merchant = c.shop.merchant
        buyer = buyers.get(c.buyer_id)
        outcome = str(S.__labels__[c.status]) if not c.is_open else ""
        rows.append([neutralise(str(v)) for v in (
            c.number, when(c.filed_at), c.order.number, c.shop.name_zh, merchant.legal_name,
            merchant.registration_number, str(ComplaintCategory.__labels__[c.category]), str(S.__labels__[c.status]),
            when(c.answer_due), when(c.answered_at), when(c.decide_due), when(c.closed_at), outcome,
            c.decision_note, buyer.display_name if buyer else "", (buyer.mobile or "") if buyer else "",
            c.complainant_address, addresses.get(merchant.id, ""), c.claim_text, c.description)])
    return header, rows


def export_csv(tenant: Tenant, complaints: list[Complaint]) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so that Excel reads the Chinese right."""
    header, rows = export_rows(tenant, complaints)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def export_xlsx(tenant: Tenant, complaints: list[Complaint]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    header, rows = export_rows(tenant, complaints)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("投诉")
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) for v in row])
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
