"""The half-yearly report of merchants' identity to the provincial market regulator (OTSM Art. 25; SR-8, IA-8).

Filed each January (for the second half of the year before) and each July (for the first half), through the same
archive as the monthly statistics return. It lists every active shop of every tenant with its merchant's facts
as verified: name, credit code, business address, contact phone, shop name and address. The resident ID number of
an unregistered merchant is kept only encrypted, so the report carries its masked form; the full number is read
out under the regulator's request, never stored in a report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.reports.archive import ArchiveError, next_version, store
from marketplace.reports.definitions import STATISTICS_ZONE
from marketplace.reports.models import StatisticsReturn
from marketplace.shops.models import Merchant, Shop, ShopStatus
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant
from marketplace.trust.onboarding import approved_applications

KIND = "merchant_identity"
FORM = {"number": "SD-ID-01", "title": _l("平台内经营者身份信息报送"), "authority": _l("省级市场监督管理部门"),
        "approval": _l("依据《网络交易监督管理办法》第二十五条"), "valid_until": "2027-12-31"}
COLUMNS = (_l("租户"), _l("网店名称"), _l("网店网址"), _l("经营者名称"), _l("统一社会信用代码"), _l("身份证件号码（脱敏）"),
           _l("实际经营地址"), _l("联系电话"))
_HALF = re.compile(r"(?P<year>[0-9]{4})-H(?P<half>[12])")


@dataclass(frozen=True)
class Half:
    year: int
    half: int

    @property
    def label(self) -> str:
        return f"{self.year}-H{self.half}"

    @property
    def ends(self) -> datetime:
        """When the half-year is over (Beijing midnight)."""
        first = date(self.year, 7, 1) if self.half == 1 else date(self.year + 1, 1, 1)
        return datetime.combine(first, time.min, STATISTICS_ZONE).astimezone(UTC)

    @property
    def filing_ends(self) -> datetime:
        """The end of the filing month (July, or the January after)."""
        first = date(self.year, 8, 1) if self.half == 1 else date(self.year + 1, 2, 1)
        return datetime.combine(first, time.min, STATISTICS_ZONE).astimezone(UTC)


def parse_half(text: str) -> Half:
    match = _HALF.fullmatch((text or "").strip())
    if match is None or not 2000 <= int(match["year"]) <= 2100:
        raise ArchiveError(_("半年度应写作 2026-H1 或 2026-H2。"))
    return Half(int(match["year"]), int(match["half"]))


def last_due(now: datetime) -> Half:
    """The latest report whose filing month has ended by ``now``."""
    local = now.astimezone(STATISTICS_ZONE)
    if local.month >= 8:
        return Half(local.year, 1)
    if local.month >= 2:
        return Half(local.year - 1, 2)
    return Half(local.year - 1, 1)


def rows() -> dict[str, list[list[str]]]:
    """Tenant slug → one row per active shop (see ``COLUMNS``), in tenant and shop order.

    The facts are those of each merchant's latest approved application: the regulator is told what the platform
    verified, not what a merchant has since filed and is still waiting on (or was refused)."""
    with all_tenants():
        found = db.session.execute(
            select(Tenant, Shop, Merchant)
            .join(Shop, Shop.tenant_id == Tenant.id).join(Merchant, Merchant.id == Shop.merchant_id)
            .where(Shop.status == ShopStatus.active).order_by(Tenant.slug, Shop.slug)).all()
    verified = approved_applications({merchant.id for _tenant, _shop, merchant in found})
    report: dict[str, list[list[str]]] = {}
    for tenant, shop, merchant in found:
        application = verified.get(merchant.id)
        report.setdefault(tenant.slug, []).append([
            tenant.name_zh, shop.name_zh, shop_url(tenant.slug, shop.slug), merchant.legal_name,
            merchant.registration_number, application.resident_id_masked if application else "",
            application.business_address if application else "", merchant.contact_phone or
            (application.contact_phone if application else "")])
    return report


def shop_url(tenant_slug: str, shop_slug: str) -> str:
    """A shop's address on the platform's own domain (configured, never taken from a request's Host header)."""
    domain = current_app.config["MARKETPLACE"]["PLATFORM_DOMAIN"]
    return f"https://{tenant_slug}.{domain}/s/{shop_slug}/"


def submit(half: Half, *, now: datetime, submitted_by=None, note: str = "") -> StatisticsReturn:
    """Archive the report of a half-year that has ended; flushes, the caller commits."""
    if now < half.ends:
        raise ArchiveError(_("%(half)s 尚未结束，结束后才能报送。", half=half.label))
    saved = StatisticsReturn(kind=KIND, period=half.label, version=next_version(KIND, half.label),
                             form={k: str(v) for k, v in FORM.items()},
                             figures={"columns": [str(c) for c in COLUMNS], "tenants": rows()}, submitted_at=now,
                             submitted_by_id=getattr(submitted_by, "id", None), note=(note or "").strip()[:500])
    return store(saved)


def xlsx_bytes(report: dict[str, list[list[str]]]) -> bytes:
    import io

    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from marketplace.catalog.exporting import neutralise

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(FORM["title"])[:31]
    sheet.append([str(c) for c in COLUMNS])
    for tenant_rows in report.values():
        for row in tenant_rows:
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", neutralise(str(v))) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
