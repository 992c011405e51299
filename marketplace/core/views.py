"""Platform-wide endpoints: health, language switch, static helpers, template globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, request
from flask_babel import get_locale

from marketplace.accounts.authz import console_access
from marketplace.core import errors, health, http_cache
from marketplace.core.app import visible_path
from marketplace.core.i18n import LOCALES, format_money
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("core", __name__)


@blueprint.route("/healthz")
def healthz():
    ok, checks = health.report()
    return jsonify({"status": "ok" if ok else "failing", "checks": checks}), 200 if ok else 503


def safe_next(target: str | None, fallback: str = "/") -> str:
    """Only redirect to paths on this site (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or len(target) > 2000:
        return fallback
    # Browsers read "\" as "/" and drop tabs and newlines; control characters cannot go in a header at all.
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:  # urlsplit refuses some malformed URLs; they are no place to send anyone
        return fallback
    return fallback if parts.scheme or parts.netloc else target


def page_arg(max_page: int = 10_000) -> int:
    """``?page=`` of a paged list: a page number from 1 to ``max_page``; anything else (missing, not a number,
    zero, absurdly long) is page 1 — a list's page is no place for an error."""
    raw = request.args.get("page", "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or int(raw) < 1:
        return 1
    return min(int(raw), max_page)


@dataclass
class Page:
    """One page of a list (products, orders, statements, payments): its rows, which page it is, how many rows
    there are in all, and how many a page holds."""

    items: list = field(default_factory=list)
    number: int = 1
    total: int = 0
    size: int = 20
    #: ``total`` is where counting stopped: there are more rows than that ("2,400+").
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def out_of_range(self) -> bool:
        return self.number > self.pages

    @property
    def has_previous(self) -> bool:
        return 1 < self.number <= self.pages

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def register(app) -> None:
    app.register_blueprint(blueprint)
    errors.register(app)
    http_cache.install(app)
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.globals.update(LOCALES=LOCALES, visible_path=visible_path,  # csrf_token: from Flask-WTF
                                 console_access=console_access)

    @app.context_processor
    def _globals():
        return {"current_tenant": current_tenant._get_current_object(), "current_locale": str(get_locale())}

