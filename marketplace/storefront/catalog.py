"""Resident-facing catalog pages: product, category, and a shop's products; requests for quotation."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from marketplace.catalog.models import EXCLUSIONS
from marketplace.core.text import sanitise_html
from marketplace.core.themes import render_themed
from marketplace.storefront import queries

blueprint = Blueprint("catalog", __name__, url_prefix="/t/<slug:tenant_slug>")

#: The request-for-quotation page, wherever it is registered; linked only where one exists.
QUOTE_ENDPOINTS = ("quotes.request_quote",)
SORT_LABELS = {"newest": _l("最新上架"), "price_asc": _l("价格从低到高"), "price_desc": _l("价格从高到低")}


def product_url(product, **values) -> str:
    """The canonical address of a product: /p/<id>-<slug>, or /p/<id> when the title gives no slug."""
    return url_for("catalog.product", product_id=product.id, product_slug=product.slug, **values)


@blueprint.route("/p/<int:product_id>", defaults={"product_slug": ""})
@blueprint.route("/p/<int:product_id>-<product_slug>")
def product(product_id: int, product_slug: str):
    found = queries.product_for_page(product_id)
    if found is None:
        abort(404)
    if product_slug != found.slug:
        return redirect(product_url(found), 301)
    return render_themed(
        "catalog/product.html", product=found, details=queries.product_details(found), quote_url=_quote_url(found),
        return_exclusion=EXCLUSIONS.get(found.category.return_exclusion),
        # Stored sanitised; cleaned again here so rows written around the model (bulk SQL) cannot inject either.
        description=Markup(sanitise_html(found.description)),
    )


def _quote_url(product) -> str | None:
    if not product.shop.accepts_quotes:
        return None
    endpoint = next((e for e in QUOTE_ENDPOINTS if e in current_app.view_functions), None)
    return url_for(endpoint, product_id=product.id) if endpoint else None


@blueprint.route("/c/<slug:category_slug>")
def category(category_slug: str):
    found = queries.category_by_slug(category_slug)
    if found is None:
        abort(404)
    sort, page_number = listing_args()
    page = queries.listing(category=found, sort=sort, page=page_number)
    html = render_themed("catalog/category.html", category=found, breadcrumbs=queries.ancestors(found),
                         children=queries.subcategories(found), page=page, offers=queries.offers(page.items),
                         sort=sort, sorts=SORT_LABELS)
    # A page past the end shows the category with a way back, but says 404 so it is never indexed.
    return (html, 404) if page.out_of_range else html


def listing_args() -> tuple[str, int]:
    """``?sort=`` (unknown values fall back to newest) and ``?page=`` (a page that is not a number: 404)."""
    sort = request.args.get("sort", queries.DEFAULT_SORT)
    if sort not in queries.SORTS:
        sort = queries.DEFAULT_SORT
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or int(raw) < 1:
        abort(404)
    return sort, int(raw)

