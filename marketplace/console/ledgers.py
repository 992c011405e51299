"""The pesticide sales ledger in the merchant console (农药管理条例 Art. 27).

``/merchant/<tenant>/<shop>/pesticide-ledger`` shows how many pesticide sales a period holds and links the CSV;
``pesticide-ledger.csv`` downloads it. Without dates both cover the last two years (what the regulation keeps);
``from`` and ``to`` (days on the tenant's calendar, both included) choose another period. Owners and staff alike
may download it: it is the shop's own record of sales, which staff already see order by order. The shop is
loaded among the current tenant's by slug, so another tenant's shop is not found.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from marketplace.accounts.authz import Permission, require
from marketplace.core.db import utcnow
from marketplace.orders import pesticide_ledger
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("merchant_pesticide_ledger", __name__,
                      url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>")

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: Years a date may name: wider than any real order history, narrow enough that no date arithmetic overflows.
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: One download covers at most the order history the platform keeps (three years, PC-7) and a day to spare.
MAX_DAYS = 3 * 366


class PeriodError(ValueError):
    """A period the ledger cannot be made for; the message is for people."""


def _shop(shop_slug: str) -> Shop:
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.view_shop, shop)
    return shop


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _period(today: date) -> tuple[date, date]:
    """The period asked for in ``from`` and ``to``, or the last two years up to ``today``."""
    raw_from, raw_to = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    if not raw_from and not raw_to:
        return _years_before(today, pesticide_ledger.KEEP_YEARS), today
    try:
        if not _DAY.match(raw_from) or not _DAY.match(raw_to):
            raise ValueError
        start, end = date.fromisoformat(raw_from), date.fromisoformat(raw_to)
    except ValueError:
        raise PeriodError(_("日期格式不正确，请按“年-月-日”填写开始和结束日期，例如 2026-12-01。")) from None
    if not (FIRST_YEAR <= start.year <= LAST_YEAR and FIRST_YEAR <= end.year <= LAST_YEAR):
        raise PeriodError(_("日期须在 %(first)d 年至 %(last)d 年之间。", first=FIRST_YEAR, last=LAST_YEAR))
    if end < start:
        raise PeriodError(_("结束日期不能早于开始日期。"))
    if (end - start).days >= MAX_DAYS:
        raise PeriodError(_("一次最多导出三年的台账。"))
    return start, end


def _ledger(shop: Shop):
    """(rows, start, end, message): rows is None when the period cannot be read, with the reason."""
    tenant = current_tenant._get_current_object()
    zone = ZoneInfo(tenant.timezone)
    today = utcnow().astimezone(zone).date()
    try:
        start, end = _period(today)
    except PeriodError as refused:
        default_start = _years_before(today, pesticide_ledger.KEEP_YEARS)
        return None, default_start, today, str(refused)
    since = datetime.combine(start, time.min, zone)
    until = datetime.combine(end + timedelta(days=1), time.min, zone)
    return pesticide_ledger.ledger_rows(shop.id, since, until, tenant.timezone), start, end, None


@blueprint.route("/pesticide-ledger")
@login_required
def page(shop_slug: str):
    shop = _shop(shop_slug)
    rows, start, end, message = _ledger(shop)
    return render_template("console/merchant/pesticide_ledger.html", shop=shop, rows=rows, start=start, end=end,
                           message=message, keep_years=pesticide_ledger.KEEP_YEARS), 400 if message else 200


@blueprint.route("/pesticide-ledger.csv")
@login_required
def download(shop_slug: str):
    shop = _shop(shop_slug)
    rows, start, end, message = _ledger(shop)
    if message:  # a file of another period than the one asked for would mislead: say why instead
        return render_template("console/merchant/pesticide_ledger.html", shop=shop, rows=None, start=start,
                               end=end, message=message, keep_years=pesticide_ledger.KEEP_YEARS), 400
    name = f"pesticide-ledger-{shop.slug}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(pesticide_ledger.ledger_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
