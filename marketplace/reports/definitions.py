"""What the city's e-commerce statistics count: the indicators, the periods and the breakdowns.

docs/statistics.md says the same in prose; the two must agree (tests/reports/test_definitions.py reads both).

Which orders count
------------------
* An order counts once it is **paid**, in the period of the day it was first paid (its first ``paid`` event in the
  order history), on Beijing time. Orders cancelled before payment never count; an order paid and later cancelled
  or refunded still counts in the period it was paid.
* Refunds are **never netted** from the volume: they are reported beside it, in the period of the day the money
  went back (``Refund.refunded_at``), counting only refunds that succeeded and that belong to an order (money
  returned for a duplicate or late payment, ``Refund.payment_id``, is no sale and no refund of a sale).
* Money is integer fen in CNY (every tenant trades in CNY); the volume includes VAT and delivery fees as the
  buyer paid them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

#: The city's calendar: every tenant of the platform trades on Beijing time.
STATISTICS_ZONE = ZoneInfo("Asia/Shanghai")
CURRENCY = "CNY"
#: A cell computed from fewer distinct merchants, or fewer distinct buyers, than this is suppressed.
MIN_CELL = 3

#: Indicator key → (zh, en, unit). The order is the order of the columns in every table and export.
INDICATORS: dict[str, tuple] = {
    "gmv": (_l("电子商务交易额"), "E-commerce transaction volume", "fen"),
    "b2b_gmv": (_l("其中：单位间（B2B，专业市场）交易额"), "of which B2B (market tenants)", "fen"),
    "b2c_gmv": (_l("其中：对个人（B2C，商业街）交易额"), "of which B2C (street tenants)", "fen"),
    "online_retail": (_l("网上零售额"), "Online retail sales", "fen"),
    "physical_online_retail": (_l("实物商品网上零售额"), "Physical-goods online retail sales", "fen"),
    "units": (_l("销售数量"), "Units sold", "units"),
    "orders": (_l("订单数"), "Orders", "orders"),
    "buyers": (_l("买家数"), "Buyers (distinct)", "people"),
    "merchants": (_l("有成交的经营者数"), "Active merchants", "merchants"),
    "shops": (_l("有成交的店铺数"), "Active shops", "shops"),
    "refund_amount": (_l("退款金额"), "Refunds (amount)", "fen"),
    "refund_count": (_l("退款笔数"), "Refunds (count)", "refunds"),
}
MONEY = frozenset(key for key, (_zh, _en, unit) in INDICATORS.items() if unit == "fen")

#: What each indicator counts, in one sentence (the definitions sheet of the exports and the console).
MEANINGS: dict[str, object] = {
    "gmv": _l("统计期内付款的订单金额合计（含运费和税），按首次付款日期计入；付款前取消的订单不计；退款不冲减。"),
    "b2b_gmv": _l("专业市场租户的付款订单金额：买家多为经营单位（批发、采购）。"),
    "b2c_gmv": _l("商业街租户的付款订单金额：买家为个人消费者。"),
    "online_retail": _l("向个人销售的商品和服务金额，即商业街租户的付款订单金额（含运费这一服务）。"),
    "physical_online_retail": _l("网上零售额中的实物商品部分：商业街租户付款订单的商品金额，不含运费和服务类商品（如维修）。"),
    "units": _l("付款订单中商品的数量合计（按各商品自己的计量单位）。"),
    "orders": _l("统计期内付款的订单数（每个店铺一单）。"),
    "buyers": _l("统计期内有付款订单的不同买家数。"),
    "merchants": _l("统计期内有付款订单的不同经营者数。"),
    "shops": _l("统计期内有付款订单的不同店铺数。"),
    "refund_amount": _l("统计期内退回买家的金额（按退款日期计入，仅计成功的退款），单独列示，不冲减交易额。"),
    "refund_count": _l("统计期内成功的退款笔数。"),
}

#: Breakdown key → (zh, en).
BREAKDOWNS: dict[str, tuple] = {
    "tenant": (_l("按租户"), "by tenant"),
    "district": (_l("按区域"), "by district"),
    "category": (_l("按商品类目"), "by category"),
    "kind": (_l("按交易类型"), "by trade type"),
    "shop": (_l("按店铺"), "by shop"),
}
#: Breakdowns the statistics office may ask the JSON API for.
API_BREAKDOWNS = ("tenant", "category", "district")
#: The pseudo-category that carries delivery fees, so that the categories add up to the whole volume.
DELIVERY_CATEGORY = _l("配送服务（运费）")
UNCATEGORISED = _l("未分类")
NO_DISTRICT = _l("未填区域")

#: The form the monthly return is filed as (shown on every export; SR-3 wants form metadata on each return).
FORM = {
    "number": "SD-EC-01",
    "title": _l("网上商都电子商务统计月报"),
    "authority": _l("网上商都平台运营方"),
    "approval": _l("平台自用统计表，未经统计机构批准或备案"),
    "valid_until": "2027-12-31",
}


class PeriodError(ValueError):
    """A period that is not one; the message is for people, ``code`` is stable."""

    code = "bad_period"


_PERIOD = re.compile(r"(?P<year>[0-9]{4})(?:-(?:(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?|Q(?P<quarter>[1-4])))?")
#: Periods further from today are surely a typo; they also bound the work of one request.
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Period:
    """A day, month, quarter or year on the statistics calendar: ``start`` included, ``end`` excluded."""

    kind: str  # day | month | quarter | year
    start: date
    end: date
    label: str

    @property
    def utc_bounds(self) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time.min, STATISTICS_ZONE).astimezone(UTC),
                datetime.combine(self.end, time.min, STATISTICS_ZONE).astimezone(UTC))

    @property
    def series_step(self) -> str:
        """How the period's time series is cut: days of a month (or day), months of a quarter or year."""
        return "day" if self.kind in ("day", "month") else "month"

    def buckets(self) -> list[str]:
        """The labels of the time series, in order (``2026-11-01`` … or ``2026-10`` …)."""
        labels, cursor = [], self.start
        while cursor < self.end:
            if self.series_step == "day":
                labels.append(cursor.isoformat())
                cursor += timedelta(days=1)
            else:
                labels.append(cursor.strftime("%Y-%m"))
                cursor = _next_month(cursor)
        return labels


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def parse_period(text: str | None) -> Period:
    """``2026-11-05`` (day), ``2026-11`` (month), ``2026-Q4`` (quarter) or ``2026`` (year)."""
    match = _PERIOD.fullmatch((text or "").strip())
    if match is None:
        raise PeriodError(_l("统计期应写作 2026-11（月）、2026-Q4（季）、2026（年）或 2026-11-05（日）。"))
    year = int(match["year"])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(_l("统计期的年份应在 %(first)d 至 %(last)d 之间。", first=FIRST_YEAR, last=LAST_YEAR))
    try:
        if match["day"]:
            start = date(year, int(match["month"]), int(match["day"]))
            return Period("day", start, start + timedelta(days=1), start.isoformat())
        if match["month"]:
            start = date(year, int(match["month"]), 1)
            return Period("month", start, _next_month(start), start.strftime("%Y-%m"))
    except ValueError:
        raise PeriodError(_l("没有这一天或这个月：%(text)s。", text=text)) from None
    if match["quarter"]:
        quarter = int(match["quarter"])
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return Period("quarter", start, end, f"{year}-Q{quarter}")
    return Period("year", date(year, 1, 1), date(year + 1, 1, 1), str(year))


def current_month(now: datetime) -> Period:
    return parse_period(now.astimezone(STATISTICS_ZONE).strftime("%Y-%m"))


def previous_month(now: datetime) -> Period:
    first = now.astimezone(STATISTICS_ZONE).date().replace(day=1)
    return parse_period((first - timedelta(days=1)).strftime("%Y-%m"))
