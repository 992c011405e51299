"""Shops: listing and loading within a tenant, editing a shop's profile and its merchant's legal identity.

The checks of Chinese business identifiers live here once: ``uscc_problem`` (统一社会信用代码, GB 32100-2015,
check character verified), ``check_registration_number`` for a merchant's licence, ``resident_id_problem``
(居民身份证号码, GB 11643-1999) for a natural person selling without one, and ``taxpayer_id_problem`` for the
纳税人识别号 a buyer gives for a company invoice at checkout.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.shops.models import WEEKDAYS, Merchant, MerchantKind, Shop, ShopStatus
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant, TenantStatus

_HOURS = re.compile(r"([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)")


class ShopError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def shops_of_current_tenant(*, include_suspended: bool = False, with_merchants: bool = False) -> list[Shop]:
    """The current tenant's shops in the order a visitor walks them (street side, then position; stalls)."""
    query = select(Shop).options(selectinload(Shop.category))
    if with_merchants:
        query = query.options(selectinload(Shop.merchant))
    if not include_suspended:
        query = query.where(Shop.status == ShopStatus.active)
    query = query.order_by(Shop.building, Shop.floor, Shop.zone, Shop.street_side, Shop.map_x, Shop.stall, Shop.id)
    return list(db.session.scalars(query))


def shop_by_slug(slug: str) -> Shop | None:
    """A shop of the current tenant (the guard adds the tenant filter; another tenant's shop is None)."""
    return db.session.scalar(select(Shop).where(Shop.slug == slug))


def live_tenants_with_shop_counts() -> list[tuple[Tenant, int]]:
    """Every live tenant with its number of active shops, in one query (the portal)."""
    with all_tenants():  # the portal is platform-wide by design
        counts = (
            select(Shop.tenant_id, func.count(Shop.id).label("shops"))
            .where(Shop.status == ShopStatus.active)
            .group_by(Shop.tenant_id)
            .subquery()
        )
        rows = db.session.execute(
            select(Tenant, func.coalesce(counts.c.shops, 0))
            .outerjoin(counts, counts.c.tenant_id == Tenant.id)
            .where(Tenant.status == TenantStatus.live)
            .order_by(Tenant.kind.desc(), Tenant.id)
        ).all()
    return [(tenant, count) for tenant, count in rows]


#: What the portal's small maps need of a shop: its place on a street or in a market, nothing else.
PLACING_COLUMNS = (Shop.tenant_id, Shop.id, Shop.street_side, Shop.map_x, Shop.map_y, Shop.map_width,
                   Shop.map_depth, Shop.building, Shop.floor, Shop.zone, Shop.stall)


def placed_shops_by_tenant() -> dict[int, list]:
    """Every live tenant's active shops that have a place (a street frontage, a stall or a spot on a floor), as rows
    of ``PLACING_COLUMNS`` by tenant id: one query for all the portal's small maps, however many tenants."""
    with all_tenants():  # the portal is platform-wide by design
        rows = db.session.execute(
            select(*PLACING_COLUMNS)
            .join(Tenant, Tenant.id == Shop.tenant_id)
            .where(Tenant.status == TenantStatus.live, Shop.status == ShopStatus.active,
                   or_(Shop.map_x.is_not(None), Shop.stall != ""))
            .order_by(Shop.tenant_id, Shop.id)
        ).all()
    placed: dict[int, list] = {}
    for row in rows:
        placed.setdefault(row.tenant_id, []).append(row)
    return placed


def parse_opening_hours(values: dict[str, str]) -> dict[str, str]:
    """Validate {"mon": "09:00-21:00" | "closed" | "", …}; raises ShopError naming the day."""
    hours = {}
    for day in WEEKDAYS:
        value = (values.get(day) or "").strip().replace("–", "-").replace(" ", "")
        if value in ("", "closed", "休息"):
            hours[day] = "closed"
        elif _HOURS.fullmatch(value) and value[:5] < value[6:]:
            hours[day] = value
        else:
            raise ShopError(_("营业时间格式应为 09:00-21:00，或填写“休息”。"), field=f"hours_{day}")
    return hours


def _span(value) -> tuple[str, str] | None:
    """``"09:00-21:00"`` as ``("09:00", "21:00")``; None for "closed" or anything malformed."""
    text = str(value or "").strip()
    if not _HOURS.fullmatch(text) and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", text):
        return None
    return text[:5], text[6:]


def is_open_now(shop: Shop, tenant: Tenant, now: datetime | None = None) -> bool | None:
    """Whether ``shop`` is open at ``now`` (default: this moment) by its opening hours, read in the tenant's time zone.

    None when its hours are unknown: none recorded, or every day "closed" (what an untouched console form saves),
    which says nothing about the shop. A day's hours run from their start up to, not including, their end; "24:00"
    closes at midnight. Hours whose end is before their start (not accepted by ``parse_opening_hours``, but possible
    in older data) run overnight into the next day.
    """
    hours = shop.opening_hours or {}
    spans = {day: _span(hours.get(day)) for day in WEEKDAYS}
    if not any(spans.values()):
        return None
    moment = (now or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(tenant.timezone or "Asia/Shanghai"))
    clock = moment.strftime("%H:%M")
    today = spans[WEEKDAYS[moment.weekday()]]
    if today is not None:
        start, end = today
        if (start <= clock < end) if start < end else clock >= start:
            return True
    yesterday = spans[WEEKDAYS[(moment - timedelta(days=1)).weekday()]]
    return yesterday is not None and yesterday[1] < yesterday[0] and clock < yesterday[1]


def update_shop_profile(shop: Shop, *, name_zh: str, name_en: str, description_zh: str, description_en: str,
                        phone: str, opening_hours: dict[str, str]) -> Shop:
    """Change what residents see about a shop; descriptions are sanitised. Flushes; the caller commits."""
    name_zh = (name_zh or "").strip()
    if not name_zh:
        raise ShopError(_("请填写店铺中文名称。"), field="name_zh")
    phone = (phone or "").strip()
    if phone and not re.fullmatch(r"[0-9+\-() ]{5,32}", phone):
        raise ShopError(_("电话号码只能包含数字、空格和 + - ( )。"), field="phone")
    shop.name_zh = name_zh[:200]
    shop.name_en = (name_en or "").strip()[:200]
    shop.description_zh = description_zh or ""  # sanitised by the model
    shop.description_en = description_en or ""
    shop.phone = phone
    shop.opening_hours = parse_opening_hours(opening_hours)
    db.session.flush()
    return shop


# -- business identifiers -------------------------------------------------------------------------------------------

#: GB 32100-2015: the 31 characters a 统一社会信用代码 is written with (no I, O, Z, S, V) and the weights of its
#: first 17 characters; the 18th is the check character.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: A 注册号 from before the unified code (2015): 15 digits.
_LEGACY_REGISTRATION = re.compile(r"[0-9]{15}")
#: An older 纳税人识别号: 15 or 20 letters and digits (the 18-character one is the unified code).
_LEGACY_TAX_ID = re.compile(r"[0-9A-Z]{15}|[0-9A-Z]{20}")


def normalise_identifier(text: str) -> str:
    """What people type into an identifier field, as it is written on the licence: full-width characters from
    a Chinese input method become half-width, letters upper case, spaces are dropped."""
    return "".join(unicodedata.normalize("NFKC", text or "").upper().split())


def uscc_check_character(first_17: str) -> str:
    """The check character that completes the 17 characters of a 统一社会信用代码 (GB 32100-2015)."""
    total = sum(USCC_CHARSET.index(char) * weight for char, weight in zip(first_17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[-total % 31]


def uscc_problem(code: str) -> str | None:
    """Why ``code`` (normalised) is not a 统一社会信用代码, or None when it is one."""
    if len(code) != 18 or any(char not in USCC_CHARSET for char in code):
        return _("统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）。")
    if code[17] != uscc_check_character(code[:17]):
        return _("统一社会信用代码 %(code)s 的最后一位（校验码）不对，请对照营业执照核对。", code=code)
    return None


#: GB 11643-1999 (ISO 7064 MOD 11-2): the weights of a 居民身份证号码's first 17 digits, and the check character
#: for each remainder of their weighted sum modulo 11.
_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK = "10X98765432"


def resident_id_check_character(first_17: str) -> str:
    """The check character (a digit or X) that completes the 17 digits of a 居民身份证号码 (GB 11643-1999)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_17, _RESIDENT_ID_WEIGHTS, strict=True))
    return _RESIDENT_ID_CHECK[total % 11]


def resident_id_problem(number: str) -> str | None:
    """Why ``number`` (normalised) is not a 居民身份证号码, or None when it is one: 18 characters, 17 digits and
    a check character (digit or X) that is right, with a real date of birth in positions 7–14.

    The messages never repeat the number: it is sensitive personal information (PIPL Art. 28).
    """
    if len(number or "") != 18 or not number[:17].isascii() or not number[:17].isdigit() \
            or number[17] not in "0123456789X":
        return _("居民身份证号码应为 18 位：17 位数字加 1 位校验码（数字或 X）。")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1800 or born > date.today():
        return _("居民身份证号码中的出生日期（第 7–14 位）不是有效日期，请核对。")
    if number[17] != resident_id_check_character(number[:17]):
        return _("居民身份证号码的最后一位（校验码）不对，请对照身份证核对。")
    return None


def check_registration_number(kind: str, number: str) -> str:
    """A merchant's licence number as it is stored (normalised), or ``ShopError`` on field ``registration_number``.

    A natural person selling without a licence may leave it empty; enterprises and individual businesses give
    their 18-character 统一社会信用代码 (check character verified) or a 15-digit 注册号 from before 2015.
    """
    number = normalise_identifier(number)
    if not number:
        if kind == MerchantKind.natural_person:
            return ""
        raise ShopError(_("企业和个体工商户须填写营业执照上的统一社会信用代码或注册号。"), field="registration_number")
    if _LEGACY_REGISTRATION.fullmatch(number):
        return number
    if len(number) != 18:
        raise ShopError(_("应填写 18 位统一社会信用代码，或 2015 年以前的 15 位注册号。"), field="registration_number")
    problem = uscc_problem(number)
    if problem:
        raise ShopError(problem, field="registration_number")
    return number


def taxpayer_id_problem(tax_id: str) -> str | None:
    """Why ``tax_id`` (normalised) is not a 纳税人识别号 for a company invoice, or None: the 18-character one is the
    统一社会信用代码 and its check character must be right; older ids of 15 or 20 letters and digits pass."""
    if _LEGACY_TAX_ID.fullmatch(tax_id or ""):
        return None
    if len(tax_id or "") == 18:
        return uscc_problem(tax_id)
    return _("纳税人识别号应为 15、18 或 20 位字母和数字。")


def update_merchant_identity(merchant: Merchant, *, legal_name: str, registration_number: str) -> Merchant:
    """Change the legal name and licence number of the merchant behind a shop (the same in every tenant it
    trades in). Raises ``ShopError`` naming the field. Flushes; the caller commits."""
    legal_name = " ".join((legal_name or "").split())
    if not legal_name:
        raise ShopError(_("请填写经营者名称（营业执照上的名称，自然人填姓名）。"), field="legal_name")
    if len(legal_name) > 200:
        raise ShopError(_("经营者名称最多 200 个字。"), field="legal_name")
    merchant.registration_number = check_registration_number(merchant.kind, registration_number)
    merchant.legal_name = legal_name
    db.session.flush()
    return merchant
