"""Resident-facing pages: the city portal, a tenant's home and its shops. Rendered in the tenant's theme."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, make_response, request
from flask_login import current_user

from marketplace.accounts.authz import Permission, can
from marketplace.accounts.models import Role
from marketplace.core import http_cache, page_cache
from marketplace.core.themes import render_themed
from marketplace.orders.models import OrderStatus
from marketplace.shops import services as shops
from marketplace.shops.models import STREET_SIDES, WEEKDAY_LABELS, ShopStatus
from marketplace.storefront import portal as portal_parts
from marketplace.storefront import queries
from marketplace.storefront.catalog import SORT_LABELS, listing_args
from marketplace.storefront.market import market_home, shop_floor
from marketplace.storefront.street import shop_street, street_home
from marketplace.tenancy.context import activate, current_tenant
from marketplace.tenancy.models import TenantKind, TenantStatus

portal_blueprint = Blueprint("storefront", __name__)
tenant_blueprint = Blueprint("tenant", __name__, url_prefix="/t/<slug:tenant_slug>")

#: Pages answered with an ETag and, when the browser already holds the same page, 304 (core.http_cache).
REVALIDATED_PAGES = frozenset({"storefront.portal", "tenant.home", "tenant.shop", "catalog.product",
                               "catalog.category", "search.results", "city_search.city"})


@portal_blueprint.route("/")
def portal():
    tenants = shops.live_tenants_with_shop_counts()
    mine = portal_parts.resident_panel(current_user)
    response = make_response(render_themed(
        "portal.html", tenants=tenants, tenant_maps=portal_parts.tenant_maps([tenant for tenant, _count in tenants]),
        mine=mine, order_labels=OrderStatus.__labels__))
    if mine:  # the resident's pickup codes: never kept by a shared cache or the browser's back-forward store
        response.headers["Cache-Control"] = "private, no-store"
    return response


@tenant_blueprint.before_request
def _tenant_must_be_open():
    """Draft tenants exist only for their operators; suspended ones say so."""
    tenant = current_tenant._get_current_object()
    if tenant.status == TenantStatus.live or can(current_user, Permission.operate_tenant, tenant):
        return None
    if tenant.status == TenantStatus.suspended:
        abort(503)
    activate(None)  # the 404 page must not show the draft tenant's name or theme
    abort(404)


@tenant_blueprint.route("/")
def home():
    if current_tenant.kind == TenantKind.market:
        return market_home(current_tenant._get_current_object(), shops.shops_of_current_tenant())
    if current_tenant.kind == TenantKind.street:
        return street_home(current_tenant._get_current_object(), shops.shops_of_current_tenant())
    return render_themed("tenant/home.html", shops=shops.shops_of_current_tenant())


@tenant_blueprint.route("/brand/<path:filename>")
def brand_file(filename: str):
    """The tenant's own images (its logo), from ``tenants/<slug>/static/``."""
    response = http_cache.send_versioned(_brand_folder(current_tenant.slug), filename, max_age=3600)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"  # inert SVG
    return response


def _brand_folder(tenant_slug: str | None) -> Path | None:
    return Path(current_app.config["MARKETPLACE"]["TENANTS_PATH"]) / tenant_slug / "static" if tenant_slug else None


def _revalidate_pages(response):
    return http_cache.revalidate(response) if request.endpoint in REVALIDATED_PAGES else response


@tenant_blueprint.route("/s/<slug:shop_slug>/")
def shop(shop_slug: str):
    found = shops.shop_by_slug(shop_slug)
    if found is None or not found.is_active:
        abort(404)
    sort, page_number = listing_args()
    page = queries.listing(shop=found, sort=sort, page=page_number)
    where, plan = shop_floor(current_tenant, found) if current_tenant.kind == TenantKind.market else (None, None)
    directions, street_map = (shop_street(current_tenant._get_current_object(), found)
                              if current_tenant.kind == TenantKind.street else ("", ""))
    html = render_themed("tenant/shop.html", shop=found, page=page, offers=queries.offers(page.items), sort=sort,
                         sorts=SORT_LABELS, where=where, floor_plan=plan, directions=directions,
                         street_map=street_map)
    return (html, 404) if page.out_of_range else html


def _label(labels):
    return lambda value: str(labels.get(value, value or ""))


def open_only(blueprint: Blueprint) -> None:
    """Give a blueprint of tenant pages the draft/suspended check (once, however many apps are built)."""
    if _tenant_must_be_open not in blueprint.before_request_funcs.get(None, []):
        blueprint.before_request(_tenant_must_be_open)


def register(app) -> None:
    from marketplace.storefront import cart, catalog, freight_quotes, quotes, search

    app.register_blueprint(portal_blueprint)
    app.register_blueprint(tenant_blueprint)
    app.register_blueprint(search.city_blueprint)
    for blueprint in (catalog.blueprint, quotes.blueprint, search.blueprint, cart.blueprint):
        open_only(blueprint)
        app.register_blueprint(blueprint)
    app.register_blueprint(quotes.account_blueprint)
    freight_quotes.register(app)
    app.after_request(_revalidate_pages)
    # Registered after the ETag hook so that it runs before it (Flask runs after_request hooks last first).
    page_cache.install(app, REVALIDATED_PAGES)
    http_cache.version_static(app, "tenant.brand_file", lambda values: _brand_folder(
        values.get("tenant_slug") or getattr(current_tenant, "slug", None)))
    app.add_template_filter(_label(TenantKind.__labels__), "tenant_kind_label")
    app.add_template_filter(_label(TenantStatus.__labels__), "tenant_status_label")
    app.add_template_filter(_label(STREET_SIDES), "street_side_label")
    app.add_template_filter(_label(ShopStatus.__labels__), "shop_status_label")
    app.add_template_filter(_label(Role.__labels__), "role_label")
    app.jinja_env.globals["weekday_labels"] = WEEKDAY_LABELS
