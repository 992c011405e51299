"""Settlement statements: what the platform owes each shop per period, frozen when the period closes, then paid.

The platform collects the buyers' money. ``orders.ledger`` computes, for any range of days, what a shop is owed
(paid − refunded − commission kept); a statement fixes that figure for one period so that it can be paid and
never moves again.

* **Periods** are weekly (Monday to Sunday) or monthly, on the tenant's calendar: the ``settlement.period``
  setting. A shop's first period is the one holding its first paid order; each next one starts the day after
  the last one ended, so a change of setting applies from the next period (the first period after it may be a
  short one) and no day is ever in two statements or in none.
* **open → closed → settled.** The period in progress has an ``open`` statement (its figures are the ledger's,
  live). ``close_statements`` (the daily job ``flask payments statements``) closes every period that has ended:
  it copies the ledger's totals onto the statement (``closed``) — a refund made later counts in the period it
  is made in, never in a closed one. Closing again finds nothing to do. ``record_payout`` marks a closed
  statement ``settled`` through the tenant's payout provider (``payments.payouts``).
* **A negative net** (more refunded than sold in a period) stays negative on its statement: the shop owes the
  platform that much, and the statement says so. It is not netted into another period behind anyone's back.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.catalog.exporting import neutralise
from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.orders import ledger as ledgers
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from marketplace.orders.returns import yuan
from marketplace.payments import payouts
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant, TenantScoped
from marketplace.tenancy.settings import Setting, SettingsGroup

#: ``period``: "monthly" or "weekly"; ``payout``: the payout provider's name, ``payout_options`` its options.
settlement_settings = SettingsGroup("settlement", period=Setting(str, "monthly"), payout=Setting(str, "manual"),
                                    payout_options=Setting(dict, {}))
PERIODS = {"monthly": _l("每月"), "weekly": _l("每周（周一至周日）")}
#: The frozen figures, named as on ``orders.ledger.Ledger`` so either can be shown the same way.
FIGURES = ("orders_paid", "paid", "refunds", "refunded", "commission", "commission_returned", "net_due")


@labelled({"open": _l("本期进行中"), "closed": _l("待付款"), "settled": _l("已付款")})
class StatementStatus(LabelledEnum):
    open = "open"
    closed = "closed"
    settled = "settled"


class SettlementStatement(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "settlement_statements"
    __table_args__ = (
        UniqueConstraint("shop_id", "period_start"),
        CheckConstraint("period_end >= period_start", name="period"),
        CheckConstraint("status IN ('open', 'closed', 'settled')", name="status"),
        CheckConstraint("orders_paid >= 0 AND paid >= 0 AND refunds >= 0 AND refunded >= 0 AND commission >= 0 "
                        "AND commission_returned >= 0", name="figures"),
        CheckConstraint("status != 'settled' OR (payout_reference != '' AND settled_at IS NOT NULL)",
                        name="settled"),
        Index("ix_settlement_statements_tenant_id_status_period_end", "tenant_id", "status", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"))
    #: First and last day of the period on the tenant's calendar, both included.
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=StatementStatus.open)
    #: The ledger's totals, copied when the period closed (0 while it is open), in minor units.
    orders_paid: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)
    refunds: Mapped[int] = mapped_column(default=0)
    refunded: Mapped[int] = mapped_column(default=0)
    commission: Mapped[int] = mapped_column(default=0)
    commission_returned: Mapped[int] = mapped_column(default=0)
    #: What the platform owes the shop; negative when refunds exceeded sales (the shop owes the platform).
    net_due: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The payout provider's name, the transfer's reference and day (tenant's calendar), once settled.
    payout_provider: Mapped[str] = mapped_column(String(63), default="")
    payout_reference: Mapped[str] = mapped_column(String(100), default="")
    paid_on: Mapped[date | None] = mapped_column(Date)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    shop: Mapped[Shop] = relationship()

    @property
    def period_label(self) -> str:
        return f"{self.period_start.isoformat()} — {self.period_end.isoformat()}"


class SettlementError(ValueError):
    """A statement that cannot be changed that way; ``code`` is stable, the message is for people."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


# -- periods ----------------------------------------------------------------------------------------------------

def today_for(tenant: Tenant, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(tenant.timezone)).date()


def period_of(day: date, period: str) -> tuple[date, date]:
    """The week (Monday to Sunday) or calendar month holding ``day``."""
    if period == "weekly":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    start = day.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def period_setting(tenant: Tenant) -> str:
    value = settlement_settings.get(tenant, "period")
    return value if value in PERIODS else "monthly"


def set_period(tenant: Tenant, period: str) -> bool:
    """Choose weekly or monthly statements; applies from the next period. Flushes; returns whether it changed."""
    if period not in PERIODS:
        raise SettlementError(_("结算周期只能是每周或每月。"), "unknown_period")
    return settlement_settings.set(tenant, "period", period)


def first_paid_day(tenant: Tenant, shop: Shop) -> date | None:
    """The day (tenant's calendar) the shop's first order was paid; None if none ever was."""
    at = db.session.scalar(select(func.min(OrderEvent.at)).join(Order, OrderEvent.order_id == Order.id)
                           .where(Order.shop_id == shop.id, OrderEvent.to_status == OrderStatus.paid))
    return None if at is None else at.astimezone(ZoneInfo(tenant.timezone)).date()


# -- closing ----------------------------------------------------------------------------------------------------

def close_statements(tenant: Tenant, *, until: date | None = None, now: datetime | None = None
                     ) -> list[SettlementStatement]:
    """Close every period of every shop of ``tenant`` that ended on or before ``until`` (at most yesterday on the
    tenant's calendar) and is not closed yet, and open the current period's statement. Flushes; the caller
    commits. Returns the statements closed now (none when run again)."""
    now = now or utcnow()
    today = today_for(tenant, now)
    until = min(until or today, today - timedelta(days=1))  # a period still running cannot close
    period = period_setting(tenant)
    closed: list[SettlementStatement] = []
    with tenant_scope(tenant):
        for shop in db.session.scalars(select(Shop).order_by(Shop.id)).all():
            closed += _close_shop(tenant, shop, period, until, today, now)
    return closed


def _close_shop(tenant, shop, period, until, today, now) -> list[SettlementStatement]:
    latest = db.session.scalar(select(SettlementStatement).where(SettlementStatement.shop_id == shop.id)
                               .order_by(SettlementStatement.period_start.desc()).limit(1).with_for_update())
    if latest is None:
        first = first_paid_day(tenant, shop)
        if first is None:
            return []  # nothing sold yet: nothing to settle
        start = period_of(first, period)[0]
    closed = []
    while True:
        if latest is None or latest.status != StatementStatus.open:
            if latest is not None:
                start = latest.period_end + timedelta(days=1)
            end = period_of(start, period)[1]
            if start > today or until < end < today:  # an open row only for the period in progress
                break
            latest = SettlementStatement(tenant_id=tenant.id, shop_id=shop.id, period_start=start,
                                         period_end=end, currency=tenant.currency, status=StatementStatus.open)
            db.session.add(latest)
            db.session.flush()
        if latest.period_end > until:
            break
        ledger = ledgers.shop_ledger(tenant, shop, latest.period_start, latest.period_end)
        for name in FIGURES:
            setattr(latest, name, getattr(ledger, name))
        latest.status, latest.closed_at = StatementStatus.closed, now
        closed.append(latest)
    db.session.flush()
    return closed


# -- reading ----------------------------------------------------------------------------------------------------

@dataclass
class StatementDetail:
    statement: SettlementStatement
    #: The ledger of the statement's period, recomputed: its lines, and an open statement's figures.
    ledger: ledgers.Ledger

    @property
    def figures(self):
        """Where the totals come from: the frozen statement once closed, the live ledger while open."""
        return self.ledger if self.statement.status == StatementStatus.open else self.statement

    @property
    def drift(self) -> list[str]:
        """Totals of a closed statement that its recomputed lines no longer add up to (should stay empty)."""
        if self.statement.status == StatementStatus.open:
            return []
        return [name for name in FIGURES if getattr(self.ledger, name) != getattr(self.statement, name)]


def statement_detail(tenant: Tenant, shop: Shop, statement: SettlementStatement) -> StatementDetail:
    with tenant_scope(tenant):
        return StatementDetail(statement, ledgers.shop_ledger(tenant, shop, statement.period_start,
                                                              statement.period_end))


def negative_note(net_due: int) -> str:
    """What a negative amount due means, said on the statement rather than hidden."""
    return _("本期退款多于收入，应结金额为负：店铺应付平台 %(amount)s 元。", amount=yuan(-net_due))


# -- payouts ----------------------------------------------------------------------------------------------------

def payout_provider(tenant: Tenant) -> payouts.PayoutProvider:
    """The tenant's payout provider (``settlement.payout``, ``manual`` by default) with its options."""
    name = settlement_settings.get(tenant, "payout")
    cls = payouts.payout_provider_class(name)
    options = payouts.check_options(cls, settlement_settings.get(tenant, "payout_options"))
    return cls(current_app.config["MARKETPLACE"], options)


def parse_day(text: str | None) -> date | None:
    """"2026-12-07" → that day; "" → None; anything else raises ``SettlementError``."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise SettlementError(_("日期格式不正确，请按“年-月-日”填写，例如 2026-12-07。"), "bad_date") from None


def record_payout(tenant: Tenant, shop: Shop, statement: SettlementStatement, *, reference: str = "",
                  paid_on: date | None = None, actor_id: int | None = None, now: datetime | None = None
                  ) -> SettlementStatement:
    """Pay a closed statement through the tenant's payout provider (for ``manual``: record the operator's bank
    transfer with its reference and day) and mark it settled. Load the statement ``with_for_update`` first: a
    second click then finds it settled. Refused with ``SettlementError`` — nothing written — for an open or
    already settled statement, or when the provider refuses (no reference, a date in the future…). Flushes."""
    if statement.status == StatementStatus.open:
        raise SettlementError(_("这一期还没有结束结账，不能付款；结账后金额才会确定。"), "statement_open")
    if statement.status == StatementStatus.settled:
        raise SettlementError(_("这张结算单已经付过款（凭证号 %(reference)s），不能重复付款。",
                                reference=statement.payout_reference), "already_settled")
    now = now or utcnow()
    try:
        provider = payout_provider(tenant)
    except payouts.PayoutLoadError as error:
        raise SettlementError(_("付款方式配置有误：%(error)s", error=str(error)), "payout_provider") from error
    request = payouts.PayoutRequest(
        statement_id=statement.id, tenant=tenant.slug, shop=shop.name_zh, payee=shop.merchant.legal_name,
        period_start=statement.period_start, period_end=statement.period_end, amount=statement.net_due,
        currency=statement.currency, reference=reference or "", paid_on=paid_on, today=today_for(tenant, now))
    try:
        result = provider.pay(request)
    except payouts.PayoutRefused as refused:
        raise SettlementError(str(refused), refused.code) from refused
    statement.status = StatementStatus.settled
    statement.payout_provider = provider.name
    statement.payout_reference = result.reference[:payouts.MAX_REFERENCE]
    statement.paid_on = result.paid_on
    statement.settled_at, statement.settled_by = now, actor_id
    db.session.flush()
    return statement


# -- exports ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Money:
    """An amount in fen, for a cell: yuan text in CSV, a number in XLSX."""

    fen: int


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _summary(shop: Shop, detail: StatementDetail) -> list[list]:
    statement, figures = detail.statement, detail.figures
    rows = [
        [_("结算单"), f"#{statement.id}"],
        [_("店铺"), shop.name_zh],
        [_("商户"), shop.merchant.legal_name],
        [_("结算期间"), statement.period_label],
        [_("状态"), StatementStatus(statement.status).label],
        [_("付款订单数"), figures.orders_paid],
        [_("付款金额（元）"), Money(figures.paid)],
        [_("退款笔数"), figures.refunds],
        [_("退款金额（元）"), Money(figures.refunded)],
        [_("佣金（元）"), Money(figures.commission)],
        [_("退还佣金（元）"), Money(figures.commission_returned)],
        [_("应结金额（元）"), Money(figures.net_due)],
    ]
    if statement.status == StatementStatus.open:
        rows.append([_("说明"), _("本期尚未结束，金额截至导出时，结账后才确定。")])
    if figures.net_due < 0:
        rows.append([_("说明"), negative_note(figures.net_due)])
    if statement.status == StatementStatus.settled:
        rows += [[_("付款方式"), _payout_label(statement.payout_provider)],
                 [_("付款凭证号"), statement.payout_reference],
                 [_("转账日期"), statement.paid_on.isoformat() if statement.paid_on else ""]]
    return rows


def _payout_label(name: str) -> str:
    try:
        return str(payouts.payout_provider_class(name).label)
    except payouts.PayoutLoadError:
        return name


def _entries(detail: StatementDetail) -> tuple[list[str], list[list]]:
    kinds = {"payment": _("付款"), "refund": _("退款")}
    header = [_("日期"), _("类型"), _("订单号"), _("金额（元）"), _("佣金（元）"), _("应结（元）")]
    return header, [[e.day.isoformat(), kinds[e.kind], e.order_number, Money(e.amount), Money(e.commission),
                     Money(e.net)] for e in detail.ledger.entries]


def _text(value) -> str:
    return yuan(value.fen) if isinstance(value, Money) else str(value) if isinstance(value, int) \
        else neutralise(str(value))


def statement_csv(shop: Shop, detail: StatementDetail) -> bytes:
    """The statement as CSV in UTF-8 with a byte-order mark (Excel reads the Chinese right), like the ledger's:
    its totals, then its lines; amounts in yuan."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([[_text(v) for v in row] for row in _summary(shop, detail)])
    writer.writerow([])
    header, rows = _entries(detail)
    writer.writerow(header)
    writer.writerows([[_text(v) for v in row] for row in rows])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def statement_xlsx(shop: Shop, detail: StatementDetail) -> bytes:
    """The statement as an Excel workbook: a sheet of totals and a sheet of lines; amounts are numbers in yuan."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    def put(sheet, row: list) -> None:
        cells = [Decimal(v.fen) / 100 if isinstance(v, Money) else v if isinstance(v, int)
                 else ILLEGAL_CHARACTERS_RE.sub("", neutralise(str(v))) for v in row]
        sheet.append(cells)
        for index, value in enumerate(row):
            if isinstance(value, Money):
                sheet.cell(row=sheet.max_row, column=index + 1).number_format = "0.00"

    workbook = Workbook()
    summary = workbook.active
    summary.title = _("结算单")
    for row in _summary(shop, detail):
        put(summary, row)
    summary.column_dimensions["A"].width = 18
    summary.column_dimensions["B"].width = 40
    lines = workbook.create_sheet(_("明细"))
    header, rows = _entries(detail)
    put(lines, header)
    for cell in lines[1]:
        cell.font = Font(bold=True)
    for row in rows:
        put(lines, row)
    lines.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
