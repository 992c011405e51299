"""The operator's enforcement: takedowns of illegal listings, public sanctions on shops, and closing notices.

* **Takedown** (E-Commerce Law Art. 29, OTSM Art. 29): the operator takes a product off sale for a reason from a
  closed list. A ``TakedownRecord`` keeps what was taken down as it was (title, SKUs, shop, merchant), why, by whom
  and when; it is never changed or deleted, except that exporting it to the regulator's report stamps
  ``reported_at`` once, and a release stamps ``released_at`` once. ``takedowns_report`` is that report (per month,
  on the tenant's calendar); reading it changes nothing, marking a month reported is the operator's separate act.
  While a takedown stands (not released) its product cannot be put on sale again: the ``Product.status`` listener
  below refuses with ``CatalogError`` code ``taken_down``. The operator's release ends that hold; the record stays.
* **Sanction** (OTSM Art. 30, ECL Art. 36): a warning or a suspension until a date, or a termination, with the
  violation. It is public from the moment it is decided (``/t/<tenant>/sanctions`` and the shop page) until a
  temporary one ends. A suspension or termination suspends the shop at once; ``apply_due`` (``flask trust
  enforcement``, hourly) lets a suspended shop trade again when its last suspension ends. Sanctions are append-only.
* **Closing notice** (ECL Art. 16): the merchant or the operator announces the shop's last trading day at least
  30 days ahead; the shop page and badge say so until that day, and ``apply_due`` suspends the shop after it.
  A whole street or market that stops trading does the same (``TenantClosing``): its operator announces the last
  day at least 30 days ahead, every page of the tenant says so until then, and ``apply_due`` suspends the tenant
  after it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Date, ForeignKey, Index, String, Text, event, inspect, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product, ProductStatus
from marketplace.core.db import UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.shops.models import Shop, ShopStatus
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant, TenantScoped, TenantStatus

#: ECL Art. 16: a shop that stops trading announces it at least this many days ahead.
CLOSING_NOTICE_DAYS = 30
MAX_TEXT = 500
#: Rows a console list shows; the CSV report has them all.
LIST_LIMIT = 200
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
#: Dates the forms accept: far enough to cover any real measure, near enough that date arithmetic cannot overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: ``CatalogError.code`` when a product is put on sale while a takedown of it stands.
TAKEN_DOWN = "taken_down"


@labelled({"prohibited": _l("禁止交易的商品"), "unlicensed": _l("未取得许可的商品"),
           "false_advertising": _l("虚假宣传"), "counterfeit": _l("假冒伪劣"), "other": _l("其他违法情形")})
class TakedownReason(LabelledEnum):
    prohibited = "prohibited"
    unlicensed = "unlicensed"
    false_advertising = "false_advertising"
    counterfeit = "counterfeit"
    other = "other"


@labelled({"warning": _l("警示"), "suspension": _l("暂停服务"), "termination": _l("终止服务")})
class SanctionMeasure(LabelledEnum):
    warning = "warning"
    suspension = "suspension"
    termination = "termination"


#: Measures that take the shop off the platform while they run.
SUSPENDING = (SanctionMeasure.suspension, SanctionMeasure.termination)


class EnforcementError(ValueError):
    """An enforcement action that cannot be taken; the message says why, in the user's language."""


class TakedownRecord(TenantScoped, db.Model):
    """One product taken off sale by the operator, kept as it was at the takedown."""

    __tablename__ = "takedown_records"
    __table_args__ = (Index("ix_takedown_records_tenant_id_at", "tenant_id", "at"),
                      Index("ix_takedown_records_product_id_released_at", "product_id", "released_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="SET NULL"))
    # What was taken down, as it read then: the record must still say it after the product changes or goes.
    product_title: Mapped[str] = mapped_column(String(200))
    skus: Mapped[str] = mapped_column(Text, default="")
    shop_name: Mapped[str] = mapped_column(String(200))
    merchant_name: Mapped[str] = mapped_column(String(200), default="")
    registration_number: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(String(32))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(254), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When it first went out in a regulator report; the only field that is ever written after the takedown.
    #: active_history: the old value is loaded before a change, so the guard below can refuse a second stamp.
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    #: When the operator ended the takedown's hold on the product (it may be sold again), by whom and why.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    release_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    @property
    def reason_label(self) -> str:
        return TakedownReason(self.reason).label


class Sanction(TenantScoped, db.Model):
    """A measure against a shop, public from ``decided_at`` until ``ends_at`` (None: for good)."""

    __tablename__ = "shop_sanctions"
    __table_args__ = (Index("ix_shop_sanctions_tenant_id_shop_id", "tenant_id", "shop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"))
    shop_name: Mapped[str] = mapped_column(String(200))
    measure: Mapped[str] = mapped_column(String(16))
    violation: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When the public page first showed it: at once, since both read the same row.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last day it runs (tenant calendar), shown to the public; None for a termination.
    until: Mapped[date | None] = mapped_column(Date)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    shop: Mapped[Shop] = relationship()

    @property
    def measure_label(self) -> str:
        return SanctionMeasure(self.measure).label

    def in_force(self, now: datetime) -> bool:
        return self.decided_at <= now and (self.ends_at is None or now < self.ends_at)


class ClosingNotice(TenantScoped, db.Model):
    """A shop's announced last trading day; after it the shop is closed."""

    __tablename__ = "shop_closing_notices"
    __table_args__ = (Index("ix_shop_closing_notices_tenant_id_shop_id", "tenant_id", "shop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"))
    last_day: Mapped[date] = mapped_column(Date)
    #: The first moment after the last day (tenant calendar): the shop closes then.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime())
    announced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by_operator: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    #: When ``apply_due`` took the shop offline.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    shop: Mapped[Shop] = relationship()


class TenantClosing(TenantScoped, db.Model):
    """The announced last trading day of a whole street or market; after it the tenant is suspended."""

    __tablename__ = "tenant_closing_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)
    #: The first moment after the last day (tenant calendar): the tenant closes then.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime())
    announced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    #: When ``apply_due`` suspended the tenant.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@event.listens_for(Sanction, "before_update")
@event.listens_for(Sanction, "before_delete")
@event.listens_for(TakedownRecord, "before_delete")
def _append_only(_mapper, _connection, target) -> None:
    raise EnforcementError(f"{type(target).__name__} {target.id} is a retained record and cannot be changed")


#: The only fields written after a takedown, each once: the report stamp and the release.
STAMPS = {"reported_at": "reported_at", "released_at": "released_at", "released_by_id": "released_at",
          "release_reason": "released_at"}


@event.listens_for(TakedownRecord, "before_update")
def _only_first_stamps(_mapper, _connection, target: TakedownRecord) -> None:
    changed = {attr.key: attr.history for attr in inspect(target).attrs if attr.history.has_changes()}

    def stamped_before(key: str) -> bool:
        history = inspect(target).attrs[key].history
        return bool(history.deleted and history.deleted[0] is not None) or (
            key not in changed and getattr(target, key) is not None)

    if not set(changed) <= set(STAMPS) or any(stamped_before(STAMPS[key]) for key in changed):
        raise EnforcementError(f"takedown record {target.id} is a retained record and cannot be changed")


def takedown_holds(product_id: int, tenant_id: int) -> bool:
    """Whether a takedown of ``product_id`` stands (not released), keeping it off sale."""
    with db.session.no_autoflush, all_tenants():  # read what is stored; the caller's own moves are flushed
        return db.session.scalar(select(TakedownRecord.id).where(
            TakedownRecord.product_id == product_id, TakedownRecord.tenant_id == tenant_id,
            TakedownRecord.released_at.is_(None)).limit(1)) is not None


@event.listens_for(Product.status, "set")
def _refuse_publishing_a_taken_down_product(target: Product, value, oldvalue, _initiator):
    # Every way of putting a product on sale sets this attribute: one guard covers the console, API and imports.
    if value == ProductStatus.active and oldvalue != ProductStatus.active and target.id is not None \
            and takedown_holds(target.id, target.tenant_id):
        message = _("该商品已被平台下架，运营方解除下架前不能重新上架。")
        raise catalog.CatalogError(message, "status", code=TAKEN_DOWN)
    return value


# -- helpers ------------------------------------------------------------------------------------------------------

def _zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.timezone)


def today(tenant: Tenant, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(_zone(tenant)).date()


def check_year(year: int) -> None:
    """``EnforcementError`` unless ``year`` is one the forms accept (``FIRST_YEAR``..``LAST_YEAR``)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise EnforcementError(_("日期的年份须在 %(first)d 至 %(last)d 之间。", first=FIRST_YEAR, last=LAST_YEAR))


def end_of_day(tenant: Tenant, day: date) -> datetime:
    """The first moment after ``day`` on the tenant's calendar; ``EnforcementError`` for a year out of range."""
    check_year(day.year)
    return datetime.combine(day + timedelta(days=1), time(), _zone(tenant))


def _text(value: str, empty_message: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise EnforcementError(empty_message)
    if len(value) > MAX_TEXT:
        raise EnforcementError(_("说明最多 %(n)d 个字。", n=MAX_TEXT))
    return value


# -- takedowns ----------------------------------------------------------------------------------------------------

def take_down(product: Product, reason: str, reason_text: str = "", *, actor=None,
              now: datetime | None = None) -> TakedownRecord:
    """Take ``product`` (current tenant) off sale for ``reason`` and keep the record. Flushes; the caller commits."""
    if reason not in TakedownReason.values():
        raise EnforcementError(_("请选择下架理由。"))
    reason_text = " ".join((reason_text or "").split())
    if reason == TakedownReason.other and not reason_text:
        raise EnforcementError(_("理由为“其他违法情形”时须写明具体情形。"))
    if len(reason_text) > MAX_TEXT:
        raise EnforcementError(_("说明最多 %(n)d 个字。", n=MAX_TEXT))
    if product.status != ProductStatus.active:
        raise EnforcementError(_("该商品不在售，无需下架。"))
    shop = product.shop
    merchant = shop.merchant
    record = TakedownRecord(
        tenant_id=product.tenant_id, product_id=product.id, shop_id=shop.id, product_title=product.title,
        skus=", ".join(v.sku for v in product.variants), shop_name=shop.name_zh, merchant_name=merchant.legal_name,
        registration_number=merchant.registration_number or "", reason=reason, reason_text=reason_text,
        actor_id=getattr(actor, "id", None), actor_name=getattr(actor, "display_name", "") or "",
        at=(now or utcnow()).replace(microsecond=0))
    catalog.unpublish_product(product, archive=True)  # archived, not draft: the merchant's list shows why it went
    db.session.add(record)
    db.session.flush()
    return record


def recent_takedowns(limit: int = LIST_LIMIT) -> list[TakedownRecord]:
    return list(db.session.scalars(select(TakedownRecord).order_by(TakedownRecord.at.desc(), TakedownRecord.id.desc())
                                   .limit(limit)))


def period_bounds(tenant: Tenant, period: str) -> tuple[datetime, datetime]:
    """The month ``YYYY-MM`` on the tenant's calendar, as [start, end). ``EnforcementError`` if ill-formed."""
    match = PERIOD.fullmatch((period or "").strip())
    if not match:
        raise EnforcementError(_("报告期间的格式应为 YYYY-MM，例如 2026-11。"))
    year, month = int(match[1]), int(match[2])
    check_year(year)
    start = datetime(year, month, 1, tzinfo=_zone(tenant))
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=_zone(tenant))
    return start, end


REPORT_HEADER = (_l("下架编号"), _l("下架时间"), _l("商业街/市场"), _l("店铺"), _l("经营者名称"),
                 _l("统一社会信用代码/注册号"), _l("商品名称"), _l("SKU"), _l("下架理由"), _l("具体情形"), _l("操作人"))


def takedowns_of_period(tenant: Tenant, period: str) -> list[TakedownRecord]:
    start, end = period_bounds(tenant, period)
    return list(db.session.scalars(select(TakedownRecord).where(TakedownRecord.tenant_id == tenant.id,
                                                                TakedownRecord.at >= start, TakedownRecord.at < end)
                                   .order_by(TakedownRecord.at, TakedownRecord.id)))


def report_rows(tenant: Tenant, records: list[TakedownRecord]) -> list[list[str]]:
    from marketplace.catalog.exporting import neutralise

    zone = _zone(tenant)
    return [[neutralise(str(v)) for v in (
        r.id, r.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), tenant.name_zh, r.shop_name, r.merchant_name,
        r.registration_number, r.product_title, r.skus, r.reason_label, r.reason_text, r.actor_name)]
        for r in records]


def write_report(rows: list[list[str]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so that Excel reads the Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(h) for h in REPORT_HEADER])
    writer.writerows(rows)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def mark_reported(records: list[TakedownRecord], now: datetime | None = None) -> int:
    """Stamp the records that go out in a report for the first time; returns how many. Flushes."""
    now = now or utcnow()
    fresh = [r for r in records if r.reported_at is None]
    for record in fresh:
        record.reported_at = now
    db.session.flush()
    return len(fresh)


def takedowns_report(tenant: Tenant, period: str) -> tuple[bytes, int]:
    """The regulator's CSV of ``tenant``'s takedowns in ``period`` (YYYY-MM), and how many rows. Reads only:
    downloading it twice, or to look, must not claim it went to the regulator (``mark_period_reported`` does)."""
    records = takedowns_of_period(tenant, period)
    return write_report(report_rows(tenant, records)), len(records)


def mark_period_reported(tenant: Tenant, period: str, now: datetime | None = None) -> int:
    """Stamp ``tenant``'s takedowns in ``period`` as reported; returns how many were new. Flushes."""
    return mark_reported(takedowns_of_period(tenant, period), now)


def takedown_of_current_tenant(record_id: int | None) -> TakedownRecord | None:
    return db.session.scalar(select(TakedownRecord).where(TakedownRecord.id == record_id)) if record_id else None


def release(record: TakedownRecord, reason: str, *, actor_id: int | None,
            now: datetime | None = None) -> TakedownRecord:
    """End ``record``'s hold on its product: the merchant may put it on sale again. The record stays, with who
    released it, when and why. Flushes; the caller commits."""
    reason = _text(reason, _("请写明解除下架的理由。"))
    if record.released_at is not None:
        raise EnforcementError(_("该下架已于此前解除。"))
    record.released_at = (now or utcnow()).replace(microsecond=0)
    record.released_by_id = actor_id
    record.release_reason = reason
    db.session.flush()
    return record


# -- sanctions ----------------------------------------------------------------------------------------------------

def impose(shop: Shop, measure: str, violation: str, *, until: date | None = None, actor_id: int | None = None,
           now: datetime | None = None) -> Sanction:
    """Apply ``measure`` to ``shop`` (current tenant), public at once. A warning or a suspension runs through
    ``until`` (a later day on the tenant's calendar); a termination has no end. Flushes; the caller commits."""
    if measure not in SanctionMeasure.values():
        raise EnforcementError(_("请选择处理措施。"))
    violation = _text(violation, _("请写明违法行为。"))
    now = (now or utcnow()).replace(microsecond=0)
    tenant = db.session.get(Tenant, shop.tenant_id)
    if measure == SanctionMeasure.termination:
        until, ends_at = None, None
    else:
        if until is None:
            raise EnforcementError(_("警示和暂停须写明截止日期。"))
        check_year(until.year)
        if until < today(tenant, now):
            raise EnforcementError(_("截止日期不能早于今天。"))
        ends_at = end_of_day(tenant, until)
    sanction = Sanction(tenant_id=shop.tenant_id, shop_id=shop.id, shop_name=shop.name_zh, measure=measure,
                        violation=violation, decided_at=now, published_at=now, until=until, ends_at=ends_at,
                        actor_id=actor_id)
    db.session.add(sanction)
    if measure in SUSPENDING:
        shop.status = ShopStatus.suspended
    db.session.flush()
    return sanction


def in_force(now: datetime):
    """The SQL condition of a sanction public at ``now``."""
    return (Sanction.decided_at <= now) & or_(Sanction.ends_at.is_(None), Sanction.ends_at > now)


def public_sanctions(now: datetime | None = None, limit: int = LIST_LIMIT) -> list[Sanction]:
    """The current tenant's sanctions shown now, newest first."""
    now = now or utcnow()
    return list(db.session.scalars(select(Sanction).where(in_force(now))
                                   .order_by(Sanction.decided_at.desc(), Sanction.id.desc()).limit(limit)))


def all_sanctions(limit: int = LIST_LIMIT) -> list[Sanction]:
    return list(db.session.scalars(select(Sanction).order_by(Sanction.decided_at.desc(), Sanction.id.desc())
                                   .limit(limit)))


# -- closing notices ----------------------------------------------------------------------------------------------

def earliest_last_day(tenant: Tenant, now: datetime | None = None) -> date:
    return today(tenant, now) + timedelta(days=CLOSING_NOTICE_DAYS)


def _check_last_day(tenant: Tenant, last_day: date | None, now: datetime) -> None:
    """``EnforcementError`` unless ``last_day`` is a closing day announced at least 30 days ahead (ECL Art. 16)."""
    if last_day is None:
        raise EnforcementError(_("请填写最后经营日。"))
    check_year(last_day.year)
    earliest = earliest_last_day(tenant, now)
    if last_day < earliest:
        raise EnforcementError(_("终止经营须提前 %(n)d 日公示：最后经营日不能早于 %(date)s。", n=CLOSING_NOTICE_DAYS,
                                 date=earliest.isoformat()))


def pending_notice(shop: Shop) -> ClosingNotice | None:
    return db.session.scalar(select(ClosingNotice).where(ClosingNotice.shop_id == shop.id,
                                                         ClosingNotice.closed_at.is_(None))
                             .order_by(ClosingNotice.id.desc()).limit(1))


def announce_closing(shop: Shop, last_day: date | None, *, actor_id: int | None, by_operator: bool, note: str = "",
                     now: datetime | None = None) -> ClosingNotice:
    """Announce ``shop``'s last trading day, at least 30 days ahead. Flushes; the caller commits."""
    tenant = db.session.get(Tenant, shop.tenant_id)
    now = (now or utcnow()).replace(microsecond=0)
    _check_last_day(tenant, last_day, now)
    if not shop.is_active:
        raise EnforcementError(_("店铺已暂停营业，不能公示终止经营。"))
    if pending_notice(shop) is not None:
        raise EnforcementError(_("本店已公示终止经营日期。"))
    note = " ".join((note or "").split())
    if len(note) > MAX_TEXT:
        raise EnforcementError(_("说明最多 %(n)d 个字。", n=MAX_TEXT))
    notice = ClosingNotice(tenant_id=shop.tenant_id, shop_id=shop.id, last_day=last_day,
                           closes_at=end_of_day(tenant, last_day), announced_at=now, announced_by_id=actor_id,
                           by_operator=by_operator, note=note)
    db.session.add(notice)
    db.session.flush()
    return notice


def tenant_closing(now: datetime | None = None) -> TenantClosing | None:
    """The current tenant's announced closing that has not taken effect yet (every page shows it)."""
    now = now or utcnow()
    return db.session.scalar(select(TenantClosing).where(TenantClosing.announced_at <= now,
                                                         TenantClosing.closed_at.is_(None))
                             .order_by(TenantClosing.closes_at).limit(1))


def announce_tenant_closing(tenant: Tenant, last_day: date | None, *, actor_id: int | None, note: str = "",
                            now: datetime | None = None) -> TenantClosing:
    """Announce the whole tenant's last trading day, at least 30 days ahead. Flushes; the caller commits."""
    now = (now or utcnow()).replace(microsecond=0)
    _check_last_day(tenant, last_day, now)
    if tenant.status != TenantStatus.live:
        raise EnforcementError(_("本商业街/市场未在营业，不能公示终止经营。"))
    if tenant_closing(now) is not None:
        raise EnforcementError(_("本商业街/市场已公示终止经营日期。"))
    notice = TenantClosing(tenant_id=tenant.id, last_day=last_day, closes_at=end_of_day(tenant, last_day),
                           announced_at=now, announced_by_id=actor_id, note=_text(note, _("请填写终止经营的说明。")))
    db.session.add(notice)
    tenant.closing_on = last_day
    db.session.flush()
    return notice


def recent_notices(limit: int = LIST_LIMIT) -> list[ClosingNotice]:
    # The page names each notice's shop: load them in one more query, not one per row.
    return list(db.session.scalars(select(ClosingNotice).options(selectinload(ClosingNotice.shop))
                                   .order_by(ClosingNotice.announced_at.desc(), ClosingNotice.id.desc())
                                   .limit(limit)))


# -- what a shop shows now, and the job ---------------------------------------------------------------------------

@dataclass
class Standing:
    """What the public is told about a shop at a moment: sanctions in force and an announced closing."""

    sanctions: list[Sanction]
    closing: ClosingNotice | None

    @property
    def warned(self) -> bool:
        return any(s.measure == SanctionMeasure.warning for s in self.sanctions)

    @property
    def suspended(self) -> bool:
        return any(s.measure in SUSPENDING for s in self.sanctions)

    def __bool__(self) -> bool:
        return bool(self.sanctions or self.closing)


def standing(shop: Shop, now: datetime | None = None) -> Standing:
    """Two indexed reads of the shop's own rows (current tenant)."""
    return standings([shop.id], now)[shop.id]


def standings(shop_ids: list[int], now: datetime | None = None) -> dict[int, Standing]:
    """``standing`` of each of these shops (current tenant) in two queries, however many there are."""
    now = now or utcnow()
    found = {shop_id: Standing([], None) for shop_id in shop_ids}
    if not shop_ids:
        return found
    for sanction in db.session.scalars(select(Sanction).where(Sanction.shop_id.in_(shop_ids), in_force(now))
                                       .order_by(Sanction.decided_at.desc())):
        found[sanction.shop_id].sanctions.append(sanction)
    for notice in db.session.scalars(select(ClosingNotice).where(ClosingNotice.shop_id.in_(shop_ids),
                                                                 ClosingNotice.announced_at <= now,
                                                                 ClosingNotice.closes_at > now)
                                     .order_by(ClosingNotice.closes_at.desc())):
        found[notice.shop_id].closing = notice  # the earliest closing date wins: it comes last
    return found


@dataclass
class DueRun:
    reopened: int = 0
    closed: int = 0
    #: Whether the whole tenant closed (its announced last day passed).
    tenant_closed: bool = False


def apply_due(now: datetime | None = None) -> DueRun:
    """For the current tenant: reopen shops whose last suspension ended, close shops past their last day.

    A shop is reopened only when a suspension of ours ended and nothing else holds it: no suspension or
    termination in force and no closing notice run out. Flushes; the caller commits."""
    now = now or utcnow()
    done = DueRun()
    for notice in db.session.scalars(select(ClosingNotice).where(ClosingNotice.closed_at.is_(None),
                                                                 ClosingNotice.closes_at <= now)):
        notice.closed_at = now
        if notice.shop.status != ShopStatus.suspended:
            notice.shop.status = ShopStatus.suspended
            done.closed += 1
    for notice in db.session.scalars(select(TenantClosing).where(TenantClosing.closed_at.is_(None),
                                                                 TenantClosing.closes_at <= now)):
        notice.closed_at = now
        tenant = db.session.get(Tenant, notice.tenant_id)
        if tenant.status == TenantStatus.live:
            tenant.status = TenantStatus.suspended
            done.tenant_closed = True
    held = select(Sanction.shop_id).where(Sanction.measure.in_(SUSPENDING), in_force(now))
    closed = select(ClosingNotice.shop_id).where(ClosingNotice.closes_at <= now)
    ended = select(Sanction.shop_id).where(Sanction.measure == SanctionMeasure.suspension, Sanction.ends_at <= now)
    for shop in db.session.scalars(select(Shop).where(Shop.status == ShopStatus.suspended, Shop.id.in_(ended),
                                                      Shop.id.not_in(held), Shop.id.not_in(closed))):
        shop.status = ShopStatus.active
        done.reopened += 1
    db.session.flush()
    return done


# -- what the specification checks read (spec PC-13, PC-14, PC-17, EB-9) -------------------------------------------

#: Days after a month ends by which its takedowns are expected in a regulator report.
REPORT_GRACE_DAYS = 15
#: Rows of evidence a check names.
EVIDENCE = 10


def report_cutoff(tenant: Tenant, now: datetime | None = None) -> datetime:
    """Takedowns before this moment should have gone out in a report: the months that ended more than
    ``REPORT_GRACE_DAYS`` ago (tenant calendar)."""
    day = today(tenant, now)
    month_start = day.replace(day=1)
    if day.day <= REPORT_GRACE_DAYS:  # last month's report is not due yet
        month_start = (month_start - timedelta(days=1)).replace(day=1)
    return datetime.combine(month_start, time(), _zone(tenant))


def unreported_takedowns(tenant: Tenant, now: datetime | None = None) -> list[str]:
    """Takedowns (current tenant) whose report is overdue, as 'title (date)'."""
    rows = db.session.execute(select(TakedownRecord.product_title, TakedownRecord.at)
                              .where(TakedownRecord.reported_at.is_(None),
                                     TakedownRecord.at < report_cutoff(tenant, now))
                              .order_by(TakedownRecord.at).limit(EVIDENCE))
    return [f"{title} ({at.astimezone(_zone(tenant)).date().isoformat()})" for title, at in rows]


def working_days_after(moment: datetime, days: int) -> datetime:
    """The moment ``days`` working days (Monday to Friday; public holidays are not known) after ``moment``."""
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def published_late() -> list[str]:
    """Sanctions (current tenant) not public within one working day of the decision (OTSM Art. 30); only rows
    not published at the moment of decision are looked at."""
    candidates = db.session.execute(select(Sanction.shop_name, Sanction.decided_at, Sanction.published_at)
                                    .where(or_(Sanction.published_at.is_(None),
                                               Sanction.published_at != Sanction.decided_at))
                                    .order_by(Sanction.decided_at).limit(100))
    return [f"{name} ({decided.date().isoformat()})" for name, decided, published in candidates
            if published is None or published > working_days_after(decided, 1)][:EVIDENCE]


def suspensions_not_enforced(now: datetime) -> list[str]:
    """Shops (current tenant) trading although a suspension or termination of theirs is in force."""
    return list(db.session.scalars(select(Shop.name_zh).join(Sanction, Sanction.shop_id == Shop.id)
                                   .where(Sanction.measure.in_(SUSPENDING), in_force(now),
                                          Shop.status == ShopStatus.active).distinct().limit(EVIDENCE)))


def closings_overdue(now: datetime) -> list[str]:
    """Shops (current tenant) still trading after their announced last day."""
    return list(db.session.scalars(select(Shop.name_zh).join(ClosingNotice, ClosingNotice.shop_id == Shop.id)
                                   .where(ClosingNotice.closes_at <= now, Shop.status == ShopStatus.active)
                                   .distinct().limit(EVIDENCE)))


def notices_too_short(tenant: Tenant) -> list[str]:
    """Open closing notices (current tenant, the tenant's own first) announced less than 30 days before the last
    day."""
    short = [f"{tenant.name_zh} ({n.last_day.isoformat()})" for n in db.session.scalars(
        select(TenantClosing).where(TenantClosing.closed_at.is_(None))) if _short(tenant, n)]
    open_notices = db.session.scalars(select(ClosingNotice).where(ClosingNotice.closed_at.is_(None))
                                      .options(selectinload(ClosingNotice.shop)).order_by(ClosingNotice.closes_at).limit(500))
    short += [f"{n.shop.name_zh} ({n.last_day.isoformat()})" for n in open_notices if _short(tenant, n)]
    return short[:EVIDENCE]


def _short(tenant: Tenant, notice) -> bool:
    return (notice.last_day - today(tenant, notice.announced_at)).days < CLOSING_NOTICE_DAYS


def tenant_closed_after_notice(tenant: Tenant) -> TenantClosing | None:
    """The notice after which the (current) tenant closed, if it ran its full 30 days."""
    return next((n for n in db.session.scalars(select(TenantClosing).where(TenantClosing.closed_at.is_not(None))
                                                .order_by(TenantClosing.closed_at.desc()).limit(1))
                 if not _short(tenant, n)), None)
