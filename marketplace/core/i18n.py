"""Locales, time zones and money formatting. zh_CN first, English complete."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

from marketplace.core.config import LOCALES as SUPPORTED_LOCALES
from marketplace.tenancy.context import current_tenant

#: Locales the platform speaks, with their own names for the language switcher.
LOCALES = {code: {"zh_CN": "中文", "en": "English"}[code] for code in SUPPORTED_LOCALES}
LOCALE_COOKIE = "locale"


def select_locale() -> str:
    """The user's choice (account, then cookie); otherwise the platform default, zh_CN."""
    if has_request_context() and current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    return visitor_locale()


def visitor_locale(cookies=None) -> str:
    """The locale of a visitor who is not signed in: the cookie's choice, otherwise the platform default.
    ``cookies``: the request's, where there is no request context yet (core.page_cache)."""
    if cookies is None and has_request_context():
        cookies = request.cookies
    chosen = cookies.get(LOCALE_COOKIE) if cookies is not None else None
    return chosen if chosen in LOCALES else current_app.config["MARKETPLACE"]["DEFAULT_LOCALE"]


def select_timezone() -> str:
    tenant = current_tenant._get_current_object()
    return tenant.timezone if tenant is not None else current_app.config["MARKETPLACE"]["DEFAULT_TIMEZONE"]


def localised(zh: str, en: str, locale=None) -> str:
    """Pick the English or Chinese text of a bilingual field; Chinese when English is missing."""
    if locale is None:
        locale = get_locale()
    return en if en and str(locale).startswith("en") else zh


def to_major_units(amount_minor: int, currency: str) -> Decimal:
    """Fen to yuan (and likewise for any currency), exactly."""
    return Decimal(int(amount_minor)).scaleb(-get_currency_precision(currency))


def format_money(amount_minor: int, currency: str = "CNY", locale: str | None = None) -> str:
    """Format an integer amount in minor units, e.g. ``format_money(12345)`` → ``¥123.45``."""
    return format_currency(to_major_units(amount_minor, currency), currency, locale=str(locale or get_locale()))
