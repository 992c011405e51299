"""Intellectual-property notices (知识产权“通知—删除—声明”, E-Commerce Law Arts. 42–45): a queue of its own,
apart from the residents' complaints about orders.

=================  ==================================  ====================================  =========================
status             who acts next                        due                                   when the clock runs out
=================  ==================================  ====================================  =========================
filed              the operator reviews the notice      filed + ``review_hours`` (48)         stays first in the queue,
                                                                                              overdue (a person decides)
taken_down         the merchant may send a counter-     nothing (the measure holds)           —
                   notice (Art. 43)
countered          the rights holder reports a          forwarded + ``HOLDER_DAYS`` (15,      restored: the measure
                   complaint to the authority or a      the law's)                            ends, the product may sell
                   lawsuit, with its reference                                                again
rejected, action_reported (the measure stays until the operator ends it), restored: closed, nothing due.
=================  ==================================  ====================================  =========================

A complete notice gets the "necessary measure": its product goes off sale (``catalog.services.unpublish_product``)
and the notice is forwarded to the merchant. While any notice of a product holds a measure, the product cannot be
put on sale again (the ``Product.status`` listener below refuses with ``CatalogError`` code ``ip_measure``). A
counter-notice is forwarded to the rights holder the moment it arrives, with the 15-day clock; when it runs out
without a reported complaint or lawsuit, ``run_due`` (``flask trust ip-notices-due``, hourly) ends the measure and
puts the product back on sale if it was on sale before. A complaint or lawsuit keeps the measure until the operator
ends it (``end_measure``, with the reason: the holder withdrew, the authority or court decided); the operator may
also end a measure early that way, e.g. when the holder withdraws a notice.

Several notices may hold one product: each carries whether the product was on sale before the first of them took
it off, and the product goes back on sale when the last measure ends.

Each move appends an ``IpNoticeEvent`` that nothing updates or deletes. Notices are published (Art. 44) on
``/t/<tenant>/ip-notices`` without anyone's contact details. Every function takes ``now`` for tests and jobs,
flushes, and leaves the commit to its caller.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.catalog.models import Product, ProductStatus
from marketplace.core import audit
from marketplace.core.db import TimestampMixin, UTCDateTime, append_only, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant, TenantScoped
from marketplace.tenancy.settings import Setting, SettingsGroup
from marketplace.trust import complaints
from marketplace.trust.complaints import MAX_PHOTOS, ComplaintError

log = logging.getLogger(__name__)

#: Per tenant: hours the operator has to review a notice and take the measure ("及时", Art. 42(2)).
ip_notice_settings = SettingsGroup("ip_notices", review_hours=Setting(int, 48))
#: Art. 43(2): days after the counter-notice reaches the rights holder for them to say they complained or sued.
HOLDER_DAYS = 15

MAX_DESCRIPTION = 2000
MAX_NOTE = 2000
MAX_FIELD = 100


@labelled({"trademark": _l("商标权"), "patent": _l("专利权"), "copyright": _l("著作权")})
class RightKind(LabelledEnum):
    trademark = "trademark"
    patent = "patent"
    copyright = "copyright"


@labelled({"filed": _l("待平台审核"), "rejected": _l("通知不合格"), "taken_down": _l("已采取必要措施"),
           "countered": _l("已转送不侵权声明"), "action_reported": _l("权利人已投诉或起诉，措施继续"),
           "restored": _l("措施已终止")})
class IpNoticeStatus(LabelledEnum):
    filed = "filed"
    rejected = "rejected"
    taken_down = "taken_down"
    countered = "countered"
    action_reported = "action_reported"
    restored = "restored"


S = IpNoticeStatus
OPEN = (S.filed, S.taken_down, S.countered)
#: While a notice is in one of these, its product stays off sale.
HOLDING = (S.taken_down, S.countered, S.action_reported)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.filed: (S.taken_down, S.rejected),
    S.taken_down: (S.countered, S.restored),
    S.countered: (S.action_reported, S.restored),
    S.action_reported: (S.restored,),
}


class IpNoticeError(ComplaintError):
    """A move that is not allowed now, or bad input; the message is for people."""


def _clean(text: str | None, limit: int, *, required: bool, what: str) -> str:
    # The complaints' rules for free text (no control characters, required, a length limit).
    try:
        return complaints._clean(text, limit, required=required, what=what)
    except ComplaintError as error:
        raise IpNoticeError(str(error)) from None


def ingest_evidence(photos: list[bytes]) -> list[str]:
    """Preliminary evidence through the complaints' media pipeline (checked, cleaned of EXIF/GPS, stored by
    SHA-256); their SHA-256 names. Refuses (``IpNoticeError``) too many or a file that is no image."""
    try:
        return complaints.ingest_evidence(photos)
    except ComplaintError as error:
        raise IpNoticeError(str(error)) from None


class IpNotice(TenantScoped, TimestampMixin, db.Model):
    """A rights holder's notice that one product infringes their right, and the platform's handling of it."""

    __tablename__ = "ip_notices"
    __table_args__ = (
        UniqueConstraint("number"),
        CheckConstraint("status IN ('filed', 'rejected', 'taken_down', 'countered', 'action_reported', "
                        "'restored')", name="status"),
        CheckConstraint("right_kind IN ('trademark', 'patent', 'copyright')", name="right_kind"),
        Index("ix_ip_notices_tenant_id_status_due_at", "tenant_id", "status", "due_at"),
        Index("ix_ip_notices_tenant_id_shop_id_status", "tenant_id", "shop_id", "status"),
        Index("ix_ip_notices_product_id_status", "product_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"))
    #: The signed-in user who filed it (the holder or their agent).
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    right_kind: Mapped[str] = mapped_column(String(16))
    right_number: Mapped[str] = mapped_column(String(MAX_FIELD))
    holder_name: Mapped[str] = mapped_column(String(MAX_FIELD))
    description: Mapped[str] = mapped_column(Text)
    #: SHA-256 names of the preliminary evidence in media storage.
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: How to reach the holder; never published.
    contact: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=S.filed)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When the current step is due (None while the measure simply holds, and once closed).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_for: Mapped[str] = mapped_column(String(16), default="")
    review_due: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    #: Whether the product was on sale before the first measure still holding it began (carried from notice to
    #: notice): only then does ending the last measure put it back.
    product_was_active: Mapped[bool] = mapped_column(default=False)
    #: When the notice went to the merchant (with the measure).
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counter_statement: Mapped[str] = mapped_column(Text, default="")
    counter_photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    countered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    countered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: When the counter-notice went to the rights holder: the 15 days count from here.
    counter_forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    holder_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    action_reference: Mapped[str] = mapped_column(String(200), default="")
    action_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the measure ended (the product may sell again).
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    product: Mapped[Product] = relationship()
    shop: Mapped[Shop] = relationship()
    events: Mapped[list[IpNoticeEvent]] = relationship(order_by="IpNoticeEvent.id", viewonly=True)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def overdue(self, now: datetime | None = None) -> bool:
        return self.due_at is not None and self.due_at <= (now or utcnow())


class IpNoticeEvent(TenantScoped, db.Model):
    """One step of a notice, appended and never changed."""

    __tablename__ = "ip_notice_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("ip_notices.id", ondelete="RESTRICT"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: None for the platform itself (the deadline job).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


append_only(IpNoticeEvent, "ip notice event")


# -- the measure holds the product off sale -----------------------------------------------------------------------

def measure_holds(product_id: int, tenant_id: int) -> bool:
    """Whether a notice keeps ``product_id`` off sale now."""
    with db.session.no_autoflush, all_tenants():  # read what is stored; callers flush their own moves first
        return db.session.scalar(select(IpNotice.id).where(
            IpNotice.product_id == product_id, IpNotice.tenant_id == tenant_id,
            IpNotice.status.in_(HOLDING)).limit(1)) is not None


@event.listens_for(Product.status, "set")
def _refuse_publishing_a_held_product(target: Product, value, oldvalue, _initiator):
    # Every way of putting a product on sale sets this attribute: one guard covers the console, API and imports.
    if value == ProductStatus.active and oldvalue != ProductStatus.active and target.id is not None \
            and measure_holds(target.id, target.tenant_id):
        from marketplace.catalog.services import CatalogError

        message = _("该商品因知识产权通知已被采取必要措施，措施终止前不能重新上架。")
        raise CatalogError(message, "status", code="ip_measure")
    return value


# -- moves --------------------------------------------------------------------------------------------------------

def _move(notice: IpNotice, to: str, *, actor_id: int | None, now: datetime, note: str = "",
          due: datetime | None = None) -> None:
    if to not in TRANSITIONS.get(notice.status, ()):
        raise IpNoticeError(_("通知当前为“%(status)s”，不能进行这一步。", status=S.__labels__[notice.status]))
    db.session.add(IpNoticeEvent(tenant_id=notice.tenant_id, notice_id=notice.id, at=now, actor_id=actor_id,
                                 from_status=notice.status, to_status=to, note=note))
    notice.status, notice.step_started_at, notice.due_at = to, now, due
    if to not in OPEN:
        notice.closed_at = now
    db.session.flush()


def _number(now: datetime) -> str:
    for _attempt in range(10):
        number = f"ZS{now:%Y%m%d}{secrets.randbelow(10**8):08d}"
        if db.session.scalar(select(IpNotice.id).where(IpNotice.number == number)) is None:
            return number
    raise RuntimeError("could not find a free notice number")  # 10 collisions among 10**8: not in practice


@dataclass
class NoticeInput:
    right_kind: str = ""
    right_number: str = ""
    holder_name: str = ""
    description: str = ""
    contact: str = ""
    #: The filer ticked that they read the warning about false notices (Art. 42(3)).
    warned: bool = False


def file_notice(tenant: Tenant, product: Product, form: NoticeInput, *, holder_id: int,
                photos: list[str] | tuple[str, ...] = (), now: datetime | None = None) -> IpNotice:
    """A rights holder's notice against ``product`` (on sale in ``tenant``); the operator's review clock starts.
    ``photos``: SHA-256 names from ``ingest_evidence``. Refuses bad input and a product that is not on sale."""
    now = now or utcnow()
    if product.tenant_id != tenant.id:
        raise IpNoticeError(_("商品不存在。"))
    if form.right_kind not in RightKind.values():
        raise IpNoticeError(_("请选择权利类型。"))
    right_number = _clean(form.right_number, MAX_FIELD, required=True, what=_("权利登记号或证书号"))
    holder_name = _clean(form.holder_name, MAX_FIELD, required=True, what=_("权利人名称"))
    description = _clean(form.description, MAX_DESCRIPTION, required=True, what=_("侵权说明"))
    contact = _clean(form.contact, 200, required=True, what=_("联系方式"))
    if not form.warned:
        raise IpNoticeError(_("请确认已知悉错误通知造成损害须依法承担责任。"))
    photos = list(photos)
    if not photos:
        raise IpNoticeError(_("请上传构成侵权的初步证据。"))
    if len(photos) > MAX_PHOTOS:
        raise IpNoticeError(_("最多上传 %(n)d 张图片。", n=MAX_PHOTOS))
    if product.status != ProductStatus.active:
        raise IpNoticeError(_("该商品当前未在售，无需通知。"))
    review_due = now + timedelta(hours=ip_notice_settings.get(tenant, "review_hours"))
    notice = IpNotice(tenant_id=tenant.id, number=_number(now), product_id=product.id, shop_id=product.shop_id,
                      holder_id=holder_id, right_kind=form.right_kind, right_number=right_number,
                      holder_name=holder_name, description=description, photos=photos, contact=contact,
                      status=S.filed, filed_at=now, step_started_at=now, due_at=review_due, review_due=review_due,
                      reminded_for="")
    db.session.add(notice)
    db.session.flush()
    db.session.add(IpNoticeEvent(tenant_id=tenant.id, notice_id=notice.id, at=now, actor_id=holder_id,
                                 from_status="", to_status=S.filed))
    db.session.flush()
    _notify(notice, "filed")
    return notice


def take_down(notice: IpNotice, *, actor_id: int, note: str = "", now: datetime | None = None) -> None:
    """The operator finds the notice complete: the product goes off sale and the notice goes to the merchant."""
    from marketplace.catalog.services import unpublish_product

    now = now or utcnow()
    note = _clean(note, MAX_NOTE, required=False, what=_("处理说明"))
    _move(notice, S.taken_down, actor_id=actor_id, now=now, note=note or _("通知合格，商品已下架并转送商家。"))
    product = db.session.get(Product, notice.product_id)
    notice.product_was_active = _was_on_sale_before_the_measures(notice, product)
    if product.status == ProductStatus.active:
        unpublish_product(product)
    notice.reviewed_at, notice.reviewed_by, notice.forwarded_at = now, actor_id, now
    db.session.flush()
    audit.record("ip_notice.taken_down", target=notice, tenant=db.session.get(Tenant, notice.tenant_id),
                 number=notice.number, product=notice.product_id, note=note)
    _notify(notice, "taken_down")


def _was_on_sale_before_the_measures(notice: IpNotice, product: Product) -> bool:
    # A second measure finds the product already off sale because of the first: what counts is whether it was on
    # sale before the first, which that notice still holding it remembers.
    if product.status == ProductStatus.active:
        return True
    return bool(db.session.scalar(select(IpNotice.id).where(
        IpNotice.product_id == product.id, IpNotice.tenant_id == notice.tenant_id, IpNotice.id != notice.id,
        IpNotice.status.in_(HOLDING), IpNotice.product_was_active.is_(True)).limit(1)))


def reject(notice: IpNotice, *, actor_id: int, reason: str, now: datetime | None = None) -> None:
    """The operator finds the notice incomplete (no right number, no evidence that holds): rejected with why."""
    now = now or utcnow()
    reason = _clean(reason, MAX_NOTE, required=True, what=_("不予处理的理由"))
    _move(notice, S.rejected, actor_id=actor_id, now=now, note=reason)
    notice.reviewed_at, notice.reviewed_by, notice.reject_reason = now, actor_id, reason
    db.session.flush()
    audit.record("ip_notice.rejected", target=notice, tenant=db.session.get(Tenant, notice.tenant_id),
                 number=notice.number, product=notice.product_id, reason=reason)
    _notify(notice, "rejected")


def counter(notice: IpNotice, *, actor_id: int, statement: str, photos: list[str] | tuple[str, ...] = (),
            now: datetime | None = None) -> None:
    """The merchant states there is no infringement, with preliminary evidence (Art. 43); it is forwarded to the
    rights holder at once and their 15 days begin."""
    now = now or utcnow()
    statement = _clean(statement, MAX_DESCRIPTION, required=True, what=_("不存在侵权行为的声明"))
    photos = list(photos)
    if not photos:
        raise IpNoticeError(_("请上传不存在侵权行为的初步证据。"))
    if len(photos) > MAX_PHOTOS:
        raise IpNoticeError(_("最多上传 %(n)d 张图片。", n=MAX_PHOTOS))
    holder_due = now + timedelta(days=HOLDER_DAYS)
    _move(notice, S.countered, actor_id=actor_id, now=now, note=statement, due=holder_due)
    notice.counter_statement, notice.counter_photos = statement, photos
    notice.countered_at, notice.countered_by = now, actor_id
    notice.counter_forwarded_at, notice.holder_due = now, holder_due
    db.session.flush()
    _notify(notice, "countered")


def report_action(notice: IpNotice, *, actor_id: int, reference: str, now: datetime | None = None) -> None:
    """The rights holder tells the platform, within the 15 days, that they complained to the authority or sued,
    with its reference (case or acceptance number): the measure stays."""
    now = now or utcnow()
    if notice.holder_id != actor_id:
        raise IpNoticeError(_("只有发出通知的权利人可以这样做。"))
    reference = _clean(reference, 200, required=True, what=_("投诉或起诉的受理编号"))
    if notice.status == S.countered and notice.overdue(now):
        raise IpNoticeError(_("十五日期限已过，所采取的措施已终止。"))
    _move(notice, S.action_reported, actor_id=actor_id, now=now, note=reference)
    notice.action_reference, notice.action_reported_at = reference, now
    db.session.flush()
    _notify(notice, "action_reported")


def end_measure(notice: IpNotice, *, actor_id: int, reason: str, now: datetime | None = None) -> bool:
    """The operator ends a measure that still holds, with the reason (the holder withdrew the notice, the
    authority or court found no infringement): without it a reported complaint or lawsuit would hold the product
    for good. Whether the product went back on sale (see ``_end_measure``)."""
    now = now or utcnow()
    if notice.status not in HOLDING:
        raise IpNoticeError(_("通知当前为“%(status)s”，没有需要终止的措施。", status=S.__labels__[notice.status]))
    reason = _clean(reason, MAX_NOTE, required=True, what=_("终止措施的理由"))
    previous = notice.status
    republished = _end_measure(notice, actor_id=actor_id, now=now, note=reason)
    audit.record("ip_notice.measure_ended", target=notice, tenant=db.session.get(Tenant, notice.tenant_id),
                 number=notice.number, product=notice.product_id, previous=previous, reason=reason,
                 republished=republished)
    return republished


def _restore(notice: IpNotice, now: datetime) -> None:
    _end_measure(notice, actor_id=None, now=now,
                 note=_("转送声明后十五日内未收到权利人已投诉或起诉的通知，终止所采取的措施。"))


def _end_measure(notice: IpNotice, *, actor_id: int | None, now: datetime, note: str) -> bool:
    """Close the notice as restored; the product goes back on sale when it was on sale before the measures and
    this was the last one holding it. Whether it did."""
    from marketplace.catalog.services import CatalogError, publish_product

    _move(notice, S.restored, actor_id=actor_id, now=now, note=note)
    notice.restored_at = now
    product = db.session.get(Product, notice.product_id)
    republished = False
    if notice.product_was_active and product.status == ProductStatus.draft \
            and not measure_holds(product.id, product.tenant_id):
        try:
            publish_product(product, now=now)
            republished = True
        except CatalogError as error:  # e.g. the merchant's approval lapsed meanwhile: they publish it later
            db.session.add(IpNoticeEvent(tenant_id=notice.tenant_id, notice_id=notice.id, at=now, actor_id=None,
                                         from_status=S.restored, to_status=S.restored,
                                         note=_("商品未能自动重新上架：%(why)s", why=str(error))))
    db.session.flush()
    _notify(notice, "restored")
    return republished


# -- the job ------------------------------------------------------------------------------------------------------

@dataclass
class DueRun:
    restored: int = 0
    reminded: int = 0


def reminder_at(notice: IpNotice) -> datetime | None:
    """Halfway through the current step's time."""
    if notice.due_at is None:
        return None
    return notice.step_started_at + (notice.due_at - notice.step_started_at) / 2


def run_due(tenant: Tenant, now: datetime | None = None) -> DueRun:
    """The deadline job for one tenant: counter-notices whose 15 days ran out end their measure; the operators are
    reminded of a notice waiting for review, the holder of their running 15 days, once each. The caller commits."""
    now = now or utcnow()
    done = DueRun()
    with tenant_scope(tenant):
        found = list(db.session.scalars(select(IpNotice).where(IpNotice.status.in_((S.filed, S.countered)))
                                        .order_by(IpNotice.due_at, IpNotice.id).with_for_update()))
        for notice in found:
            if notice.status == S.countered and notice.overdue(now):
                _restore(notice, now)
                done.restored += 1
            elif notice.reminded_for != notice.status and now >= reminder_at(notice):
                notice.reminded_for = notice.status
                _notify(notice, "reminder")
                done.reminded += 1
        db.session.flush()
    return done


# -- notices ------------------------------------------------------------------------------------------------------

def _notify(notice: IpNotice, kind: str) -> None:
    from marketplace.orders.notifications import prepare_safely

    prepare_safely(_prepare, notice, kind)


def _prepare(notice: IpNotice, kind: str) -> None:
    from marketplace.orders import notifications as n
    from marketplace.trust.complaints import _operators

    tenant = db.session.get(Tenant, notice.tenant_id)
    sign = n._signature(tenant)
    holder = n._buyer(notice.holder_id)
    merchant = n._merchant(db.session.get(Shop, notice.shop_id))
    product = db.session.get(Product, notice.product_id)
    key = (f"ip-notice-{kind}", notice.id, notice.status)
    messages = []  # (recipient, subject, text)
    if kind == "filed" or (kind == "reminder" and notice.status == S.filed):
        for operator in _operators(tenant):
            with force_locale(operator.locale):
                text = _("知识产权通知%(number)s（商品：%(product)s）待审核，请于%(due)s前处理。",
                         number=notice.number, product=product.title, due=n._local_time(notice.due_at, tenant))
                messages.append((operator, _("知识产权通知待审核：%(number)s", number=notice.number), text))
    elif kind == "taken_down":
        with force_locale(merchant.locale):
            text = _("您的商品“%(product)s”收到知识产权通知%(number)s（%(kind)s %(right)s），平台已采取下架措施。"
                     "如认为不存在侵权行为，可在商家后台提交声明及初步证据。", product=product.title,
                     number=notice.number, kind=str(RightKind.__labels__[notice.right_kind]),
                     right=notice.right_number)
            messages.append((merchant, _("知识产权通知：%(number)s", number=notice.number), text))
        with force_locale(holder.locale):
            text = _("您的知识产权通知%(number)s已受理，平台已对商品采取下架措施并转送商家。", number=notice.number)
            messages.append((holder, _("知识产权通知已处理：%(number)s", number=notice.number), text))
    elif kind == "rejected":
        with force_locale(holder.locale):
            text = _("您的知识产权通知%(number)s不予处理：%(reason)s", number=notice.number,
                     reason=notice.reject_reason)
            messages.append((holder, _("知识产权通知不予处理：%(number)s", number=notice.number), text))
    elif kind == "countered" or (kind == "reminder" and notice.status == S.countered):
        with force_locale(holder.locale):
            text = _("商家对知识产权通知%(number)s提交了不存在侵权行为的声明。您可以向有关主管部门投诉或者向人民法院"
                     "起诉；请于%(due)s前告知平台并提供受理编号，逾期平台将终止所采取的措施。",
                     number=notice.number, due=n._local_time(notice.due_at, tenant))
            messages.append((holder, _("收到不侵权声明：%(number)s", number=notice.number), text))
    elif kind in ("action_reported", "restored"):
        with force_locale(merchant.locale):
            if kind == "action_reported":
                text = _("权利人已就知识产权通知%(number)s投诉或起诉，商品“%(product)s”的下架措施继续。",
                         number=notice.number, product=product.title)
            else:
                text = _("知识产权通知%(number)s的措施已终止，商品“%(product)s”可以重新上架。",
                         number=notice.number, product=product.title)
            messages.append((merchant, _("知识产权通知：%(number)s", number=notice.number), text))
    for recipient, subject, text in messages:
        n._to(recipient, subject, text, text, sign, key=key)


def local_time_text(moment: datetime | None, tenant: Tenant) -> str:
    """``moment`` on the tenant's calendar, to the minute (empty for None), for exports."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(tenant.timezone)).strftime("%Y-%m-%d %H:%M") if moment else ""
