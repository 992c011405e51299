"""Resident-facing search: a tenant's search page and its autocomplete, and the portal's city-wide search.

The index answers with ids; cards are loaded from the database, so they show today's price and stock. Every
query-string value is optional and checked here: one that makes no sense is ignored, never a 500. When the
search backend cannot answer, these pages say so with a 503 and the rest of the site keeps working.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision
from flask import Blueprint, jsonify, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from marketplace.catalog import packs
from marketplace.catalog.models import Category, Product, ProductStatus
from marketplace.core.i18n import format_money, localised
from marketplace.core.themes import render_themed, themed
from marketplace.extensions import db
from marketplace.search import placements, services
from marketplace.search.backend import CREDIT_LEVELS, PRICE_BUCKETS, SearchQuery, SearchUnavailable
from marketplace.search.documents import FACET_VALUE_CHARACTERS
from marketplace.shops.models import Shop, ShopStatus
from marketplace.storefront import queries
from marketplace.tenancy.context import current_tenant, tenant_scope
from marketplace.trust.credit import standing_label

log = logging.getLogger(__name__)

blueprint = Blueprint("search", __name__, url_prefix="/t/<slug:tenant_slug>")
city_blueprint = Blueprint("city_search", __name__)

PAGE_SIZE = 24
#: No one pages further, and a deeper page costs every backend more (Elasticsearch refuses past 10,000 hits).
MAX_PAGE = 400
#: The sorts offered: "sales" counts units sold (all time), "credit" the shops' stored credit standing.
SORT_LABELS = {"relevance": _l("综合"), "newest": _l("最新上架"), "sales": _l("销量"), "credit": _l("信用"),
               "price_asc": _l("价格从低到高"), "price_desc": _l("价格从高到低")}
#: ``?price=`` keys, the same strings the backends use for the price facet ("1000-5000", "100000-").
PRICE_KEYS = {f"{low}-{'' if high is None else high}": (low, high) for low, high in PRICE_BUCKETS}
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
#: More attribute filters or values than any page offers: someone is fiddling with the URL.
MAX_ATTRIBUTE_FILTERS = 10
FACET_VALUES_SHOWN = 10
CATEGORIES_SHOWN = 30
POPULAR_CATEGORIES = 8


# -- the query string -------------------------------------------------------------------------------------------

def _positive_int(raw: str | None) -> int | None:
    """An id or page number; 9 digits at most, so it fits every database's integer column."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) > 0:
        return int(raw)
    return None


def search_text(args) -> str:
    """``?q=`` trimmed to what is searched; control characters (a NUL from a fuzzer) are no part of a query."""
    return services.clean_text("".join(ch if ch.isprintable() else " " for ch in args.get("q", "")[:1000]))


def default_sort(text: str) -> str:
    return "relevance" if text else "newest"


def credit_levels(args) -> list[str]:
    """``?credit=A&credit=new``: known levels only, each once, in the order pages list them."""
    chosen = set(args.getlist("credit"))
    return [level for level in CREDIT_LEVELS if level in chosen]


def query_from_args(args) -> SearchQuery:
    """A ``SearchQuery`` from ``?q=&category=&shop=&price=&in_stock=1&credit=&a.<name>=&sort=&page=``; nonsense
    dropped."""
    text = search_text(args)
    sort = args.get("sort", "")
    if sort not in SORT_LABELS:
        sort = default_sort(text)
    low, high = PRICE_KEYS.get(args.get("price", ""), (None, None))
    attributes: dict[str, list[str]] = {}
    for key in args:
        name = key[2:]
        if not key.startswith("a.") or not _ATTRIBUTE_NAME.fullmatch(name) or len(attributes) >= MAX_ATTRIBUTE_FILTERS:
            continue
        values = sorted({v.strip() for v in args.getlist(key) if v.strip() and len(v) <= FACET_VALUE_CHARACTERS})
        if values:
            attributes[name] = values[:MAX_ATTRIBUTE_FILTERS]
    return SearchQuery(text=text, category_id=_positive_int(args.get("category")),
                       shop_id=_positive_int(args.get("shop")), price_min=low, price_max=high,
                       in_stock=args.get("in_stock") == "1", attributes=attributes,
                       credit_levels=credit_levels(args), sort=sort,
                       page=min(_positive_int(args.get("page")) or 1, MAX_PAGE), size=PAGE_SIZE)


def price_key(query: SearchQuery) -> str | None:
    if query.price_min is None:
        return None
    return f"{query.price_min}-{'' if query.price_max is None else query.price_max}"


def params_of(query: SearchQuery) -> dict:
    """The query string that asks for ``query`` again (defaults left out, so links stay short)."""
    params: dict = {}
    if query.text:
        params["q"] = query.text
    if query.category_id:
        params["category"] = query.category_id
    if query.shop_id:
        params["shop"] = query.shop_id
    if price_key(query):
        params["price"] = price_key(query)
    if query.in_stock:
        params["in_stock"] = 1
    if query.credit_levels:
        params["credit"] = list(query.credit_levels)
    for name, values in sorted(query.attributes.items()):
        params[f"a.{name}"] = list(values)
    if query.sort != default_sort(query.text):
        params["sort"] = query.sort
    if query.page > 1:
        params["page"] = query.page
    return params


class Links:
    """URLs of this search with one thing changed; any change of filter or sort starts again at page one."""

    def __init__(self, query: SearchQuery):
        self.params = params_of(query)
        self.params.pop("page", None)

    def with_(self, **changes) -> str:
        params = {**self.params, **changes}
        return url_for("search.results", **{k: v for k, v in params.items() if v not in (None, "", [])})

    def without(self, *names: str) -> str:
        return url_for("search.results", **{k: v for k, v in self.params.items() if k not in names})

    def toggle_value(self, name: str, value: str) -> str:
        """Add an attribute value to its filter, or take it out when it is already there."""
        key = f"a.{name}"
        values = list(self.params.get(key, []))
        values = [v for v in values if v != value] if value in values else sorted([*values, value])
        return self.with_(**{key: values})

    def toggle_credit(self, level: str) -> str:
        """Add a credit level to the filter (any of the levels chosen), or take it out."""
        chosen = set(self.params.get("credit", [])) ^ {level}
        return self.with_(credit=[known for known in CREDIT_LEVELS if known in chosen])

    def page(self, number: int) -> str:
        return self.with_(page=number if number > 1 else None)


# -- what the page shows ----------------------------------------------------------------------------------------

@dataclass
class FacetLink:
    label: str
    count: int
    url: str
    selected: bool = False
    depth: int = 0


@dataclass
class FacetGroup:
    key: str
    label: str
    links: list[FacetLink] = field(default_factory=list)


@dataclass
class Chip:
    """A filter in use, with the address of the same search without it."""

    label: str
    url: str


def whole_money(amount: int, currency: str) -> str:
    """¥50 rather than ¥50.00 for the round amounts of the price ranges."""
    major, rest = divmod(amount, 10 ** get_currency_precision(currency))
    if rest:
        return format_money(amount, currency)
    return format_currency(major, currency, format="¤#,##0", locale=str(get_locale()), currency_digits=False)


def price_label(low: int, high: int | None, currency: str) -> str:
    if high is None:
        return _("%(price)s 以上", price=whole_money(low, currency))
    if low == 0:
        return _("%(price)s 以下", price=whole_money(high, currency))
    return _("%(low)s–%(high)s", low=whole_money(low, currency), high=whole_money(high, currency))


@dataclass(frozen=True)
class FacetField:
    """How to label one attribute facet: its name in the product type, and its values."""

    label: str
    attribute: packs.Attribute | None = None

    def value_label(self, value: str) -> str:
        if self.attribute is None:
            return value
        if self.attribute.type == packs.AttributeType.boolean:
            return self.attribute.display(value == "true")
        return self.attribute.display(value)


def facet_fields(categories: list[Category]) -> dict[str, FacetField]:
    """Attribute facets by name, labelled by the product types this tenant's categories use first."""
    used = {c.product_type for c in categories}
    types = sorted(packs.all_product_types(), key=lambda t: t.id not in used)
    fields: dict[str, FacetField] = {}
    for product_type in types:
        for attribute in product_type.facets:
            fields.setdefault(attribute.name, FacetField(attribute.label(), attribute))
        for option in product_type.options:
            if option in product_type.option_labels:
                fields.setdefault(option, FacetField(localised(*product_type.option_labels[option])))
    return fields


def _all_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


def _shops_by_id(ids: set[int]) -> dict[int, Shop]:
    if not ids:
        return {}
    return {shop.id: shop for shop in db.session.scalars(
        select(Shop).where(Shop.id.in_(ids), Shop.status == ShopStatus.active))}


def _tree_order(categories: list[Category]) -> list[tuple[Category, int]]:
    """Categories parents first, each followed by its children, with their depth."""
    children: dict[int | None, list[Category]] = {}
    known = {c.id for c in categories}
    for category in categories:
        children.setdefault(category.parent_id if category.parent_id in known else None, []).append(category)
    ordered, seen = [], set()

    def walk(parent_id, depth):
        for category in children.get(parent_id, []):
            if category.id not in seen:  # a loop in the tree is walked once
                seen.add(category.id)
                ordered.append((category, depth))
                walk(category.id, depth + 1)

    walk(None, 0)
    return ordered


@dataclass
class SearchPage:
    """Everything the results page shows."""

    query: SearchQuery
    total: int
    offers: list
    groups: list[FacetGroup]
    chips: list[Chip]
    sorts: list[tuple[str, str, bool]]
    links: Links
    did_you_mean: str = ""
    did_you_mean_url: str = ""
    popular: list[FacetLink] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.size))


def _facet_groups(result, query: SearchQuery, links: Links, categories: list[Category], shops: dict[int, Shop],
                  fields: dict[str, FacetField], currency: str) -> list[FacetGroup]:
    facets = result.facets
    locale = str(get_locale())
    groups = []

    counts = {int(v.value): v.count for v in facets.get("category", []) if v.value.isdigit()}
    if counts:
        group = FacetGroup("category", _("分类"))
        for category, depth in _tree_order(categories):
            if category.id in counts and len(group.links) < CATEGORIES_SHOWN:
                selected = category.id == query.category_id
                group.links.append(FacetLink(category.name(locale), counts[category.id],
                                             links.without("category") if selected else links.with_(
                                                 category=category.id), selected, depth))
        groups.append(group)

    shop_counts = [(shops[int(v.value)], v.count) for v in facets.get("shop", [])
                   if v.value.isdigit() and int(v.value) in shops]
    if shop_counts:
        group = FacetGroup("shop", _("店铺"))
        for shop, count in shop_counts[:FACET_VALUES_SHOWN]:
            selected = shop.id == query.shop_id
            group.links.append(FacetLink(shop.name(locale), count,
                                         links.without("shop") if selected else links.with_(shop=shop.id), selected))
        groups.append(group)

    price_counts = {v.value: v.count for v in facets.get("price", [])}
    if price_counts:
        group = FacetGroup("price", _("价格"))
        for key, (low, high) in PRICE_KEYS.items():  # cheapest first, not by count
            if key in price_counts:
                selected = key == price_key(query)
                group.links.append(FacetLink(price_label(low, high, currency), price_counts[key],
                                             links.without("price") if selected else links.with_(price=key), selected))
        groups.append(group)

    in_stock = next((v.count for v in facets.get("in_stock", [])), 0)
    if in_stock:
        groups.append(FacetGroup("in_stock", _("库存"), [FacetLink(
            _("仅看有货"), in_stock, links.without("in_stock") if query.in_stock else links.with_(in_stock=1),
            query.in_stock)]))

    credit_counts = {v.value: v.count for v in facets.get("credit", [])}
    if credit_counts:
        group = FacetGroup("credit", _("店铺信用"))
        for level in CREDIT_LEVELS:  # best first, new shops last, not by count
            if level in credit_counts:
                group.links.append(FacetLink(standing_label(level), credit_counts[level], links.toggle_credit(level),
                                             level in query.credit_levels))
        groups.append(group)

    order = {name: position for position, name in enumerate(fields)}  # the product types' own order
    for key in sorted((k for k in facets if k.startswith("attr.")), key=lambda k: (order.get(k[5:], len(order)), k)):
        name = key[5:]
        facet_field = fields.get(name, FacetField(name))
        chosen = query.attributes.get(name, [])
        group = FacetGroup(key, facet_field.label)
        shown = facets[key][:FACET_VALUES_SHOWN]
        if all(_is_number(v.value) for v in shown):  # nutrients, purity, sizes in numbers: read as a scale
            shown = sorted(shown, key=lambda v: Decimal(v.value))
        for value in shown:
            group.links.append(FacetLink(facet_field.value_label(value.value), value.count,
                                         links.toggle_value(name, value.value), value.value in chosen))
        groups.append(group)
    return groups


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _chips(query: SearchQuery, links: Links, categories: dict[int, Category], shops: dict[int, Shop],
           fields: dict[str, FacetField], currency: str) -> list[Chip]:
    locale = str(get_locale())
    chips = []
    if query.category_id in categories:
        chips.append(Chip(_("分类：%(name)s", name=categories[query.category_id].name(locale)),
                          links.without("category")))
    if query.shop_id in shops:
        chips.append(Chip(_("店铺：%(name)s", name=shops[query.shop_id].name(locale)), links.without("shop")))
    if query.price_min is not None:
        chips.append(Chip(price_label(query.price_min, query.price_max, currency), links.without("price")))
    if query.in_stock:
        chips.append(Chip(_("仅看有货"), links.without("in_stock")))
    for level in query.credit_levels:
        chips.append(Chip(_("%(label)s：%(value)s", label=_("店铺信用"), value=standing_label(level)),
                          links.toggle_credit(level)))
    for name, values in sorted(query.attributes.items()):
        facet_field = fields.get(name, FacetField(name))
        for value in values:
            chips.append(Chip(_("%(label)s：%(value)s", label=facet_field.label, value=facet_field.value_label(value)),
                              links.toggle_value(name, value)))
    return chips


def _popular_categories(tenant, categories: dict[int, Category]) -> list[FacetLink]:
    """The top-level categories with the most goods: somewhere to go when a search finds nothing."""
    locale = str(get_locale())
    popular = []
    for value in services.category_counts(tenant):
        category = categories.get(int(value.value)) if value.value.isdigit() else None
        if category is not None and category.parent_id is None:
            popular.append(FacetLink(category.name(locale), value.count,
                                     url_for("catalog.category", category_slug=category.slug)))
    return popular[:POPULAR_CATEGORIES]


def search_page(tenant, query: SearchQuery) -> SearchPage:
    """Run the search (logging it) and gather what the page shows. Raises ``SearchUnavailable``."""
    categories = _all_categories()
    by_id = {c.id: c for c in categories}
    if query.category_id not in by_id:  # another tenant's id, or a deleted category: no such filter here
        query.category_id = None
    if query.shop_id is not None and not _shops_by_id({query.shop_id}):
        query.shop_id = None
    outcome = services.search(tenant, query, record=True)
    result = outcome.result
    last_page = max(1, math.ceil(result.total / query.size))
    if query.page > last_page:  # a page past the end: show the last one
        query.page = last_page
        outcome = services.search(tenant, query)
        result = outcome.result
    shop_ids = {int(v.value) for v in result.facets.get("shop", []) if v.value.isdigit()}
    shops = _shops_by_id(shop_ids | ({query.shop_id} if query.shop_id else set()))
    fields = facet_fields(categories)
    links = Links(query)
    currency = tenant.currency
    page = SearchPage(
        query=query, total=result.total, offers=queries.offers(queries.on_sale_by_ids(result.ids)),
        groups=_facet_groups(result, query, links, categories, shops, fields, currency),
        chips=_chips(query, links, by_id, shops, fields, currency),
        sorts=[(str(label), links.with_(sort=key if key != default_sort(query.text) else None), key == query.sort)
               for key, label in SORT_LABELS.items() if query.text or key != "relevance"],
        links=links,
    )
    if result.total == 0:
        page.did_you_mean = outcome.did_you_mean
        if outcome.did_you_mean:
            page.did_you_mean_url = url_for("search.results", q=outcome.did_you_mean)
        page.popular = _popular_categories(tenant, by_id)
    return page


def title_marker(terms):
    """Product titles with the words the query matched in <mark>."""
    analyser = services.analyser()
    return lambda title: analyser.highlight(title, terms) if terms else title


def _unavailable():
    return render_themed("search/unavailable.html", q=search_text(request.args)), 503


# -- the tenant's search ----------------------------------------------------------------------------------------

@blueprint.route("/search")
def results():
    tenant = current_tenant._get_current_object()
    query = query_from_args(request.args)
    try:
        page = search_page(tenant, query)
    except SearchUnavailable:
        return _unavailable()
    # Paid placements: their own block, labelled 广告, on the first page; the results are ranked without them.
    ads = queries.offers(placements.ads_for(tenant, query.text, query.category_id)) if query.page == 1 else []
    return render_themed("search/results.html", page=page, q=query.text, mark_title=title_marker(query.terms), ads=ads,
                         show_shop=True)


@blueprint.route("/search/suggest")
def suggest():
    """Autocomplete for the search box: ``{"suggestions": [{"text", "kind", "url"}]}``."""
    tenant = current_tenant._get_current_object()
    try:
        found = services.suggest(tenant, request.args.get("q", ""))
    except SearchUnavailable:
        return jsonify({"suggestions": [], "error": _("搜索暂时不可用，请稍后再试。")}), 503
    urls = _suggestion_urls(found)
    return jsonify({"suggestions": [{"text": s.text, "kind": s.kind, "url": urls[(s.kind, s.ref)]}
                                    for s in found if (s.kind, s.ref) in urls]})


def _suggestion_urls(suggestions) -> dict[tuple[str, int], str]:
    """Where each suggestion leads; things gone since they were indexed are left out."""
    wanted: dict[str, set[int]] = {}
    for suggestion in suggestions:
        wanted.setdefault(suggestion.kind, set()).add(suggestion.ref)
    urls = {}
    if wanted.get("product"):
        on_sale = (select(Product).join(Product.shop)
                   .where(Product.id.in_(wanted["product"]), Product.status == ProductStatus.active,
                          Shop.status == ShopStatus.active))
        for product in db.session.scalars(on_sale):
            urls[("product", product.id)] = url_for("catalog.product", product_id=product.id,
                                                    product_slug=product.slug)
    if wanted.get("category"):
        for category in db.session.scalars(select(Category).where(Category.id.in_(wanted["category"]))):
            urls[("category", category.id)] = url_for("catalog.category", category_slug=category.slug)
    for shop in _shops_by_id(wanted.get("shop", set())).values():
        urls[("shop", shop.id)] = url_for("tenant.shop", shop_slug=shop.slug)
    return urls


# -- the portal's city-wide search ------------------------------------------------------------------------------

@dataclass
class CityGroup:
    """One tenant's part of the city-wide results: its best cards pre-rendered in its own context."""

    tenant: object
    total: int
    html: Markup = Markup("")
    unavailable: bool = False


@city_blueprint.route("/search")
def city():
    text = search_text(request.args)
    groups: list[CityGroup] = []
    if text:
        try:
            found = services.city_search(text)
        except SearchUnavailable:
            return _unavailable()
        for tenant, outcome in found:
            if outcome is None:
                groups.append(CityGroup(tenant, 0, unavailable=True))
                continue
            with tenant_scope(tenant):  # the cards' links, prices and look are the tenant's own
                offers = queries.offers(queries.on_sale_by_ids(outcome.result.ids))
                html = render_template(themed("search/_city_group.html"), offers=offers, total=outcome.result.total,
                                       q=text, show_shop=True, mark_title=title_marker(outcome.query.terms))
            groups.append(CityGroup(tenant, outcome.result.total, Markup(html)))
    return render_themed("search/city.html", q=text, groups=groups)
