"""The pesticide sales ledger a pesticide seller must keep (农药管理条例 Art. 27): for every sale the product's
name, specification, quantity, maker, the buyer and the date, kept at least two years.

Nothing is stored: each order line keeps a snapshot of the product's attributes when it was bought, so the
ledger is a report over order lines, and an edit to the catalogue never rewrites what was sold.

The buyer is the account's name and mobile; once the buyer has closed the account these are gone, and the copy
the legal hold keeps (``HeldOrder.buyer_name`` / ``buyer_contact``) names them instead.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, select

from marketplace.accounts.closure import HeldOrder
from marketplace.accounts.models import User
from marketplace.catalog.models import UNITS
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderLine, OrderStatus

#: The regulations keep a ledger two years; order history is kept three (PC-7), so the ledger can cover that.
KEEP_YEARS = 2
#: Where a merchant downloads the ledger (``console/ledgers.py``); PD-8 checks that it is served.
EXPORT_ENDPOINT = "merchant_pesticide_ledger.download"
#: Orders that never became a sale.
NOT_SOLD = (OrderStatus.pending_payment, OrderStatus.cancelled)


def is_pesticide_line():
    # A published pesticide always has a category (a required attribute), and the line's snapshot keeps it
    # even when the product is later deleted.
    return OrderLine.attributes["pesticide_category"].as_string().is_not(None)


def buyer_columns():
    """(name, contact) of an order's buyer: the held copy when the account was closed, else the account's own."""
    held = HeldOrder.id.is_not(None)
    return (case((held, HeldOrder.buyer_name), else_=User.display_name).label("buyer_name"),
            case((held, HeldOrder.buyer_contact), else_=func.coalesce(User.mobile, "")).label("buyer_contact"))


def without_buyer():
    """A ledger row that names nobody as the buyer (use with ``sales``, whose joins it reads)."""
    name, contact = buyer_columns()
    return and_(func.coalesce(name, "") == "", func.coalesce(contact, "") == "")


def sales(since: datetime, until: datetime | None = None, shop_id: int | None = None) -> Select:
    """Pesticide order lines sold from ``since`` (up to ``until``), oldest first: one ledger row each."""
    query = (select(Order.created_at, Order.number, Order.shop_id, OrderLine.title, OrderLine.options,
                    OrderLine.attributes, OrderLine.quantity, OrderLine.unit, *buyer_columns())
             .join(Order, OrderLine.order_id == Order.id)
             .join(User, Order.buyer_id == User.id)
             .outerjoin(HeldOrder, HeldOrder.order_id == Order.id)
             .where(is_pesticide_line(), Order.status.not_in(NOT_SOLD), Order.created_at >= since)
             .order_by(Order.created_at, OrderLine.id))
    if until is not None:
        query = query.where(Order.created_at < until)
    if shop_id is not None:
        query = query.where(Order.shop_id == shop_id)
    return query


@dataclass(frozen=True)
class LedgerRow:
    day: date
    order_number: str
    name: str
    specification: str
    quantity: int
    unit: str
    manufacturer: str
    buyer: str


def ledger_rows(shop_id: int, since: datetime, until: datetime, timezone: str) -> list[LedgerRow]:
    """The ledger of one shop over a period; dates on the tenant's calendar. Call inside the tenant's scope."""
    zone = ZoneInfo(timezone)
    rows = []
    for line in db.session.execute(sales(since, until, shop_id)):
        attributes = line.attributes or {}
        specification = " / ".join(str(v) for v in (line.options or {}).values() if v)
        buyer = " ".join(part for part in (line.buyer_name, line.buyer_contact) if part)
        rows.append(LedgerRow(line.created_at.astimezone(zone).date(), line.number, line.title,
                              specification or str(attributes.get("net_content", "")), line.quantity, line.unit,
                              str(attributes.get("manufacturer", "")), buyer))
    return rows


def ledger_csv(rows: list[LedgerRow]) -> bytes:
    """The ledger as CSV in UTF-8 with a byte-order mark, so Excel reads the Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("销售日期"), _("订单号"), _("农药名称"), _("规格"), _("数量"), _("生产企业"), _("购买人")])
    for row in rows:
        writer.writerow([row.day.isoformat(), row.order_number, _cell(row.name), _cell(row.specification),
                         f"{row.quantity} {UNITS.get(row.unit, row.unit)}", _cell(row.manufacturer), _cell(row.buyer)])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _cell(text: str) -> str:
    """A cell Excel will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
