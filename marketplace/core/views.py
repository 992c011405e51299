"""Platform-wide endpoints: health, language switch, static helpers, template globals."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from marketplace.core import errors, health
from marketplace.core.app import visible_path
from marketplace.core.i18n import LOCALE_COOKIE, LOCALES, format_money
from marketplace.extensions import db
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("core", __name__)


@blueprint.route("/healthz")
def healthz():
    ok, checks = health.report()
    return jsonify({"status": "ok" if ok else "failing", "checks": checks}), 200 if ok else 503


def safe_next(target: str | None, fallback: str = "/") -> str:
    """Only redirect to paths on this site (no open redirects)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    # Browsers read "\" as "/" and drop tabs and newlines; control characters cannot go in a header at all.
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return fallback
    return target


@blueprint.route("/lang", methods=["POST"])
def set_language():
    locale = request.form.get("locale", "")
    target = safe_next(request.form.get("next"), url_for("storefront.portal"))
    response = redirect(target)
    if locale in LOCALES:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return response


def register(app) -> None:
    app.register_blueprint(blueprint)
    errors.register(app)
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.globals.update(LOCALES=LOCALES, csrf_token=generate_csrf, visible_path=visible_path)

    @app.context_processor
    def _globals():
        return {"current_tenant": current_tenant._get_current_object(), "current_locale": str(get_locale())}

