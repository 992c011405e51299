"""Public regulatory records (国家企业信用信息公示系统) of the tenant's merchants, as the shop credit takes them in.

Market regulators publish, for every registered business, its listing in the abnormal-operations list (经营异常名录),
its administrative penalties (行政处罚), its listing as a serious violator (严重违法失信名单) and the spot checks it
failed (抽查检查不合格) (OTSM Art. 37, spec CE-7). That system has no public API and the platform reaches no external
network, so the tenant's operator enters each record from the published one: kind, deciding authority (决定机关),
document number (文书号), date of the decision and a summary, and — where the publication says so — the last day it
is listed (``listed_until``: a penalty's publicity period, a listing's term).

A record is **in force** at a moment ``t`` when it was recorded by then, its listed period has not ended, and no
removal was recorded by then (``in_force``); the credit formula (``trust.credit``) counts the records in force at the
moment it computes, so a stored standing can be recomputed later to the same score (spec CE-9).

Records are never deleted or rewritten. When the authority takes a merchant off a list (移出经营异常名录) or a
penalty's publicity ends early, the operator records the removal: its date (``removed_on``), by whom and when
(``removed_at``); from then on the record no longer counts. Recording or removing refreshes the stored credit of the
merchant's shops in the tenant at once (``credit.refresh_credit``), so search's credit sort and filter follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, event, func, inspect, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from marketplace.core.db import MAX_ID, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.shops.models import Merchant, Shop
from marketplace.tenancy.models import Tenant, TenantScoped

MAX_AUTHORITY, MAX_DOCUMENT_NUMBER, MAX_SUMMARY, MAX_NOTE = 200, 100, 500, 500
#: Dates the forms accept: any real record falls between; beyond them date arithmetic could overflow.
FIRST_YEAR, LAST_YEAR = 1990, 2100
#: Rows the operator's list shows, newest first.
LIST_LIMIT = 300


@labelled({"abnormal_operations": _l("经营异常名录"), "administrative_penalty": _l("行政处罚"),
           "serious_violation": _l("严重违法失信名单"), "failed_inspection": _l("抽查检查不合格")})
class PublicRecordKind(LabelledEnum):
    abnormal_operations = "abnormal_operations"
    administrative_penalty = "administrative_penalty"
    serious_violation = "serious_violation"
    failed_inspection = "failed_inspection"


class PublicRecordError(ValueError):
    """A record or removal that cannot be saved; ``field`` names the form field at fault ("" for the form)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class PublicRecord(TenantScoped, db.Model):
    """One published regulatory record of a merchant, as the tenant's operator entered it."""

    __tablename__ = "public_records"
    __table_args__ = (
        Index("ix_public_records_tenant_id_merchant_id", "tenant_id", "merchant_id"),
        CheckConstraint("kind IN (" + ", ".join(f"'{kind}'" for kind in PublicRecordKind.values()) + ")",
                        name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    #: 决定机关: the authority that decided (e.g. 郑州市二七区市场监督管理局).
    authority: Mapped[str] = mapped_column(String(MAX_AUTHORITY))
    #: 文书号: the decision's document number, as published.
    document_number: Mapped[str] = mapped_column(String(MAX_DOCUMENT_NUMBER))
    decided_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text, default="")
    #: The last day the record is listed (a penalty's publicity period, a listing's term); None: until removed.
    listed_until: Mapped[date | None] = mapped_column(Date)
    #: The first moment after ``listed_until`` on the tenant's calendar: when the record stops counting by itself.
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The operator's name as it was, so the record still says who entered it after the account is gone.
    recorded_by_name: Mapped[str] = mapped_column(String(254), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The date the authority took the record off (移出), as published; with ``removed_at``, the only fields written
    #: after the record (once). active_history: the guard below sees a second removal.
    removed_on: Mapped[date | None] = mapped_column(Date, active_history=True)
    #: When the removal was recorded here: the record stops counting from this moment (a standing computed before
    #: it still recomputes to the same score).
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    removed_by_name: Mapped[str] = mapped_column(String(254), default="")
    removal_note: Mapped[str] = mapped_column(Text, default="")

    merchant: Mapped[Merchant] = relationship()

    @property
    def kind_label(self) -> str:
        return PublicRecordKind(self.kind).label

    def in_force(self, now: datetime) -> bool:
        return (self.recorded_at <= now and (self.ends_at is None or now < self.ends_at)
                and (self.removed_at is None or now < self.removed_at))


#: The only fields written after a record is saved, all together and once: its removal.
REMOVAL = {"removed_on", "removed_at", "removed_by_id", "removed_by_name", "removal_note"}


@event.listens_for(PublicRecord, "before_delete")
def _never_deleted(_mapper, _connection, target: PublicRecord) -> None:
    raise PublicRecordError(f"public record {target.id} is a retained record and cannot be deleted")


@event.listens_for(PublicRecord, "before_update")
def _only_the_removal_once(_mapper, _connection, target: PublicRecord) -> None:
    state = inspect(target)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    removed = state.attrs["removed_at"].history
    removed_before = bool(removed.deleted and removed.deleted[0] is not None) or (
        "removed_at" not in changed and target.removed_at is not None)
    if not changed <= REMOVAL or removed_before:
        raise PublicRecordError(f"public record {target.id} is a retained record and cannot be changed")


def in_force(now: datetime):
    """The SQL condition of a record in force at ``now`` (see ``PublicRecord.in_force``)."""
    return ((PublicRecord.recorded_at <= now) & or_(PublicRecord.ends_at.is_(None), PublicRecord.ends_at > now)
            & or_(PublicRecord.removed_at.is_(None), PublicRecord.removed_at > now))


# -- reading ------------------------------------------------------------------------------------------------------

def counts_in_force(merchant_id: int, now: datetime) -> dict[str, int]:
    """kind → how many of the merchant's records (current tenant) are in force at ``now``: what the credit reads."""
    rows = db.session.execute(select(PublicRecord.kind, func.count(PublicRecord.id))
                              .where(PublicRecord.merchant_id == merchant_id, in_force(now))
                              .group_by(PublicRecord.kind)).all()
    return {kind: count for kind, count in rows}


def records_in_force(merchant_id: int, now: datetime | None = None) -> list[PublicRecord]:
    """The merchant's records in force now (current tenant), the latest decision first: what the shop page lists."""
    now = now or utcnow()
    return list(db.session.scalars(select(PublicRecord).where(PublicRecord.merchant_id == merchant_id, in_force(now))
                                   .order_by(PublicRecord.decided_on.desc(), PublicRecord.id.desc())))


def shop_records(shop: Shop) -> list[PublicRecord]:
    """For the shop's credit line and breakdown: its merchant's records in force."""
    return records_in_force(shop.merchant_id)


def all_records(limit: int = LIST_LIMIT) -> list[PublicRecord]:
    """The current tenant's records, latest entered first (the operator's list)."""
    return list(db.session.scalars(select(PublicRecord).options(selectinload(PublicRecord.merchant))
                                   .order_by(PublicRecord.recorded_at.desc(), PublicRecord.id.desc()).limit(limit)))


def record_of_current_tenant(record_id: int | None) -> PublicRecord | None:
    """The record with this id in the current tenant (the guard filters), or None; locked for the removal, so two
    operators removing it at once do not both stamp it."""
    if record_id is None or not 0 < record_id <= MAX_ID:
        return None
    return db.session.scalar(select(PublicRecord).where(PublicRecord.id == record_id).with_for_update())


# -- writing ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordInput:
    """What the operator copies from the published record."""

    kind: str
    authority: str
    document_number: str
    decided_on: date | None
    summary: str = ""
    listed_until: date | None = None


def _zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.timezone or "Asia/Shanghai")


def tenant_day(tenant: Tenant, now: datetime | None = None) -> date:
    """Today on the tenant's calendar."""
    return (now or utcnow()).astimezone(_zone(tenant)).date()


def _text(value: str | None, field: str, limit: int, *, required_message: str | None = None) -> str:
    value = " ".join((value or "").split())
    if required_message and not value:
        raise PublicRecordError(required_message, field)
    if len(value) > limit:
        raise PublicRecordError(_("最多 %(n)d 个字。", n=limit), field)
    return value


def _year(day: date, field: str) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise PublicRecordError(_("日期的年份须在 %(first)d 至 %(last)d 之间。", first=FIRST_YEAR, last=LAST_YEAR),
                                field)


def _merchant_shops(merchant_id: int) -> list[Shop]:
    """The merchant's shops in the current tenant (the guard filters): whose stored credit a record moves."""
    return list(db.session.scalars(select(Shop).where(Shop.merchant_id == merchant_id).order_by(Shop.id)))


def record(tenant: Tenant, merchant: Merchant, data: RecordInput, *, actor=None,
           now: datetime | None = None) -> PublicRecord:
    """Save a published record of ``merchant`` (who must trade in ``tenant``, the current tenant) and refresh its
    shops' stored credit. ``PublicRecordError`` (with the field) when the input cannot be a published record.
    Flushes; the caller commits."""
    from marketplace.trust.credit import refresh_credit

    now = now or utcnow()
    shops = _merchant_shops(merchant.id)
    if not shops:
        raise PublicRecordError(_("本商业街/市场没有这家经营者。"), "merchant_id")
    if data.kind not in PublicRecordKind.values():
        raise PublicRecordError(_("请选择记录类别。"), "kind")
    authority = _text(data.authority, "authority", MAX_AUTHORITY, required_message=_("请填写决定机关。"))
    document_number = _text(data.document_number, "document_number", MAX_DOCUMENT_NUMBER,
                            required_message=_("请填写文书号。"))
    summary = _text(data.summary, "summary", MAX_SUMMARY)
    if data.decided_on is None:
        raise PublicRecordError(_("请填写决定日期。"), "decided_on")
    _year(data.decided_on, "decided_on")
    if data.decided_on > tenant_day(tenant, now):
        raise PublicRecordError(_("决定日期不能晚于今天。"), "decided_on")
    ends_at = None
    if data.listed_until is not None:
        _year(data.listed_until, "listed_until")
        if data.listed_until < data.decided_on:
            raise PublicRecordError(_("公示截止日期不能早于决定日期。"), "listed_until")
        ends_at = datetime.combine(data.listed_until + timedelta(days=1), time(), _zone(tenant))
    row = PublicRecord(tenant_id=tenant.id, merchant_id=merchant.id, kind=data.kind, authority=authority,
                       document_number=document_number, decided_on=data.decided_on, summary=summary,
                       listed_until=data.listed_until, ends_at=ends_at, recorded_at=now,
                       recorded_by_id=getattr(actor, "id", None), recorded_by_name=_actor_name(actor))
    db.session.add(row)
    db.session.flush()
    refresh_credit(shops, now=now)
    return row


def remove(tenant: Tenant, row: PublicRecord, removed_on: date | None, note: str = "", *, actor=None,
           now: datetime | None = None) -> PublicRecord:
    """Record that the authority took ``row`` off on ``removed_on``: from now on it no longer counts. Refreshes the
    merchant's shops' stored credit. ``PublicRecordError`` for a record not in force or a date that cannot be.
    Flushes; the caller commits."""
    from marketplace.trust.credit import refresh_credit

    now = now or utcnow()
    if row.removed_at is not None:
        raise PublicRecordError(_("该记录已于此前移出。"), "removed_on")
    if not row.in_force(now):
        raise PublicRecordError(_("该记录的公示期已满，不再计入信用，无需移出。"), "removed_on")
    if removed_on is None:
        raise PublicRecordError(_("请填写移出日期。"), "removed_on")
    _year(removed_on, "removed_on")
    if removed_on > tenant_day(tenant, now):
        raise PublicRecordError(_("移出日期不能晚于今天。"), "removed_on")
    if removed_on < row.decided_on:
        raise PublicRecordError(_("移出日期不能早于决定日期。"), "removed_on")
    row.removal_note = _text(note, "removal_note", MAX_NOTE)
    row.removed_on, row.removed_at = removed_on, now
    row.removed_by_id, row.removed_by_name = getattr(actor, "id", None), _actor_name(actor)
    db.session.flush()
    refresh_credit(_merchant_shops(row.merchant_id), now=now)
    return row


def _actor_name(actor) -> str:
    if actor is None:
        return ""
    return (getattr(actor, "display_name", "") or getattr(actor, "login_name", "") or "")[:254]
