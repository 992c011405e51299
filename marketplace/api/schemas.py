"""What the API reads and writes, as marshmallow schemas; flask-smorest turns them into the OpenAPI document.

Money is an integer count of the currency's minor unit (fen for CNY), as everywhere in the platform; the
product says which currency. Texts are localised by the request's locale (zh_CN unless chosen otherwise).
Validation messages are Chinese, translated when the error is rendered (see ``views.problem_errors``).
"""

from __future__ import annotations

import math
import re

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from marketplace.api import paging
from marketplace.catalog import packs
from marketplace.catalog.models import UNITS
from marketplace.core.i18n import localised
from marketplace.media.storage import DERIVED_WIDTHS
from marketplace.media.views import image_url
from marketplace.search.backend import CREDIT_LEVELS
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.manifests import SLUG

#: The largest integer every supported database stores in an ``Integer`` column (PostgreSQL's int4).
INT_MAX = 2_147_483_647
#: Control characters no text field may carry (tab, newline and carriage return are allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _range(minimum: int, maximum: int = INT_MAX) -> validate.Range:
    return validate.Range(min=minimum, max=maximum, error=_l("应在 {min} 到 {max} 之间。"))


def _length(minimum: int | None = None, maximum: int | None = None) -> validate.Length:
    if minimum:
        return validate.Length(min=minimum, max=maximum, error=_l("长度应在 {min} 到 {max} 之间。"))
    return validate.Length(max=maximum, error=_l("最多 {max} 个。"))


def _int(minimum: int = 0, maximum: int = INT_MAX, **kwargs) -> fields.Integer:
    """A JSON integer (no floats, no strings) that fits the database."""
    return fields.Integer(strict=True, validate=_range(minimum, maximum), **kwargs)


class Text(fields.String):
    """A string without control characters (a NUL byte cannot be stored in PostgreSQL)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise ValidationError(str(_l("不能包含控制字符。")))
        return text


class Slug(Text):
    def __init__(self, **kwargs):
        super().__init__(validate=validate.Regexp(f"^{SLUG.pattern}$", error=_l("应为小写字母、数字和连字符。")),
                         **kwargs)


class AttributeValue(fields.Field):
    """One attribute value as the product type accepts it: text, a number, true/false, or null to clear it."""

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, metadata={
            "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "nullable": True}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValidationError(str(_l("应为有限的数字。")))
            return value
        if isinstance(value, str):
            if len(value) > 2000:
                raise ValidationError(str(_l("最多 2000 个字。")))
            if _CONTROL.search(value):
                raise ValidationError(str(_l("不能包含控制字符。")))
            return value
        raise ValidationError(str(_l("属性值应为文字、数字或 true/false。")))


class Computed(fields.Nested):
    """A nested object (or list, with ``many=True``) computed from the dumped object by ``getter``; documented
    in the OpenAPI document as a reference to its schema."""

    def __init__(self, getter, nested, **kwargs):
        super().__init__(nested, dump_only=True, **kwargs)
        self.getter = getter

    def serialize(self, attr, obj, accessor=None, **kwargs):
        return self._serialize(self.getter(obj), attr, obj, **kwargs)


def _string(getter, description: str = "", **metadata) -> fields.Function:
    """A computed string (``fields.Function``, documented as a string)."""
    if description:
        metadata["description"] = description
    return fields.Function(getter, metadata={"type": "string", **metadata})


# -- errors ---------------------------------------------------------------------------------------------------

class Problem(Schema):
    """An error, as JSON problem details (RFC 9457) with a stable machine-readable ``code``."""

    type = fields.String(metadata={"description": "Always about:blank.", "example": "about:blank"})
    status = fields.Integer(metadata={"description": "The HTTP status.", "example": 422})
    code = fields.String(metadata={
        "description": "Stable code: not_found, validation_failed, invalid_json, token_missing, token_invalid, "
                       "token_wrong_shop, token_forbidden, conflict, unavailable, search_unavailable, merchant_not_approved, "
                       "bad_request…",
        "example": "validation_failed"})
    title = fields.String(metadata={"description": "A short message for people, in the request's language."})
    detail = fields.String(metadata={"description": "More about this occurrence, when there is more to say."})
    errors = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "Per field: the path of the field in the request (dotted, list items by index, e.g. "
                       "variants.0.price; an empty key for the request as a whole) → what is wrong with it.",
        "example": {"title": "请填写商品名称。", "variants.0.price": "应在 0 到 2147483647 之间。"}})


# -- reading --------------------------------------------------------------------------------------------------

def _absolute(path: str) -> str:
    return request.host_url.rstrip("/") + path


class Location(Schema):
    """Where the shop is: on a street (number, side) or in a market hall (building, floor, zone, stall)."""

    street_number = fields.String()
    street_side = fields.String(metadata={"enum": ["", "west", "east", "north", "south"]})
    building = fields.String()
    floor = fields.Integer(allow_none=True)
    zone = fields.String()
    stall = fields.String()
    map_x = fields.Float(allow_none=True, metadata={"description": "Metres along the street or from the hall's corner."})
    map_y = fields.Float(allow_none=True)


class ShopOut(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = _string(lambda shop: shop.name(), "In the request's language.")
    name_zh = fields.String()
    name_en = fields.String()
    description = _string(lambda shop: shop.description(), "Sanitised HTML, in the request's language.")
    phone = fields.String()
    opening_hours = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": 'Per weekday (mon…sun): "09:00-21:00" or "closed", in the tenant\'s time zone.'})
    location = Computed(lambda shop: shop, Location)
    category = _string(lambda shop: shop.category.slug if shop.category else None,
                       "Slug of the shop's main category, if any.", nullable=True)
    accepts_quotes = fields.Boolean(metadata={"description": "Whether buyers may ask this shop for a quote."})
    mixed_batch_min_amount = fields.Integer(allow_none=True, metadata={
        "description": "Wholesale: the least an order from this shop must come to, in minor units (fen)."})
    mixed_batch_min_quantity = fields.Integer(allow_none=True, metadata={
        "description": "Wholesale: the fewest units an order from this shop must hold, across its goods."})
    web_url = _string(lambda shop: url_for("tenant.shop", shop_slug=shop.slug, _external=True),
                      "The shop's page on the storefront.")


ShopList = paging.page_schema("ShopList", ShopOut, description="In the order a visitor walks them (building, "
                               "floor, zone; street side, then position along the street).")


class CategoryNode(Schema):
    """A category with its sub-categories (dumped from ``services.category_tree``)."""

    id = fields.Integer()
    slug = fields.String()
    name = fields.String(metadata={"description": "In the request's language."})
    name_zh = fields.String()
    name_en = fields.String()
    product_type = fields.String(metadata={"description": "Product type id from a catalog pack, "
                                                          "e.g. agri_inputs.fertiliser."})
    children = fields.List(fields.Nested(lambda: CategoryNode()), metadata={"description": "Sub-categories, in order."})


class CategoryTree(Schema):
    items = fields.List(fields.Nested(CategoryNode), metadata={"description": "The top-level categories."})


class Tier(Schema):
    min_quantity = _int(2, required=True, metadata={"description": "From this many units on…"})
    unit_price = _int(0, required=True, metadata={"description": "…each unit costs this, in minor units (fen)."})


class VariantOut(Schema):
    id = fields.Integer()
    sku = fields.String()
    options = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": 'Option values by option name, e.g. {"size": "L", "colour": "藏青"}.'})
    price = fields.Integer(metadata={"description": "Price per unit in minor units (fen)."})
    compare_at_price = fields.Integer(allow_none=True, metadata={"description": "The former price, shown struck out."})
    stock = fields.Integer()
    in_stock = fields.Function(lambda variant: variant.stock > 0, metadata={"type": "boolean"})
    weight_g = fields.Integer(allow_none=True)
    barcode = fields.String()
    tiers = fields.List(fields.Nested(Tier), metadata={"description": "Wholesale prices by quantity, lowest first."})


class ImageSize(Schema):
    width = fields.Integer()
    webp = fields.String(metadata={"description": "URL of the WEBP copy."})
    jpeg = fields.String(metadata={"description": "URL of the JPEG fallback."})


class ImageOut(Schema):
    id = fields.Integer()
    alt = _string(lambda image: image.alt(), "Alternative text, in the request's language.")
    width = fields.Integer(metadata={"description": "Of the original, in pixels."})
    height = fields.Integer()
    sizes = Computed(lambda image: [
        {"width": width, "webp": _absolute(image_url(image.sha256, width, "webp")),
         "jpeg": _absolute(image_url(image.sha256, width, "jpeg"))} for width in DERIVED_WIDTHS
    ], ImageSize, many=True, metadata={"description": "Resized copies, narrowest first."})


class AttributeOut(Schema):
    name = fields.String()
    label = fields.String(metadata={"description": "In the request's language."})
    value = fields.Raw(metadata={"description": "As stored: text, integer, decimal as text, boolean or ISO date."})
    display = fields.String(metadata={"description": "As people read it, with its unit or choice label."})
    unit = fields.String()


class Reference(Schema):
    slug = fields.String()
    name = fields.String()


def _price_range(product) -> tuple[int | None, int | None]:
    prices = [v.price for v in product.variants]
    return (min(prices), max(prices)) if prices else (None, None)


class ProductSummary(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String(metadata={"enum": ["draft", "active", "archived"]})
    shop = Computed(lambda p: {"slug": p.shop.slug, "name": p.shop.name()}, Reference)
    category = Computed(lambda p: {"slug": p.category.slug, "name": p.category.name()}, Reference)
    product_type = fields.String()
    unit = fields.String(metadata={"enum": sorted(UNITS)})
    unit_label = _string(lambda p: str(UNITS.get(p.unit, p.unit)), "The unit of sale, in the request's language.")
    moq = fields.Integer(metadata={"description": "Minimum order quantity, in units."})
    currency = _string(lambda p: current_tenant.currency, "Currency of every amount (ISO 4217).", example="CNY")
    price_min = fields.Function(lambda p: _price_range(p)[0], metadata={"type": "integer", "nullable": True})
    price_max = fields.Function(lambda p: _price_range(p)[1], metadata={"type": "integer", "nullable": True})
    in_stock = fields.Function(lambda p: any(v.stock > 0 for v in p.variants), metadata={"type": "boolean"})
    image = Computed(lambda p: p.images[0] if p.images else None, ImageOut, allow_none=True,
                     metadata={"description": "The first image, if any."})
    published_at = fields.AwareDateTime(allow_none=True)
    web_url = _string(lambda p: _product_page(p), "The product's page on the storefront.", nullable=True)


def _product_page(product) -> str | None:
    if "catalog.product" not in current_app.view_functions:  # a platform without the storefront's product pages
        return None
    return url_for("catalog.product", product_id=product.id, product_slug=product.slug, _external=True)


def _attributes(product) -> list[dict]:
    product_type = packs.product_type(product.product_type)
    if product_type is None:
        return []
    values = product.attributes or {}
    return [{"name": a.name, "label": a.label(), "value": values[a.name], "display": a.display(values[a.name]),
             "unit": a.unit} for a in product_type.attributes if values.get(a.name) not in (None, "")]


def _option_labels(product) -> list[dict]:
    product_type = packs.product_type(product.product_type)
    if product_type is None:
        return []
    return [{"name": name, "label": localised(*product_type.option_labels.get(name, (name, name)))}
            for name in product_type.options]


def _product_type_label(product) -> str:
    product_type = packs.product_type(product.product_type)
    return product_type.label() if product_type else product.product_type


class OptionOut(Schema):
    name = fields.String()
    label = fields.String()


class ProductOut(ProductSummary):
    description = fields.String(metadata={"description": "Sanitised HTML."})
    product_type_label = _string(_product_type_label, "The product type, in the request's language.")
    options = Computed(_option_labels, OptionOut, many=True,
                       metadata={"description": "The options variants differ by, with their labels."})
    attributes = Computed(_attributes, AttributeOut, many=True,
                          metadata={"description": "Filled-in attributes of the product type, in the type's order."})
    variants = fields.List(fields.Nested(VariantOut))
    images = fields.List(fields.Nested(ImageOut), metadata={"description": "In the merchant's order."})


class MerchantVariantOut(VariantOut):
    version = fields.Integer(metadata={
        "description": "Goes up whenever the stock or a price changes (the merchant, a sale, a cancellation): send it "
                       "as expected_version when setting stock, to be refused rather than overwrite a newer change."})


class MerchantProductOut(ProductOut):
    """A product as its own shop reads it: with the versions behind its ETag."""

    version = fields.Integer(metadata={"description": "Goes up with every change to the product itself."})
    variants = fields.List(fields.Nested(MerchantVariantOut))


ProductPage = paging.page_schema("ProductPage", ProductSummary, description="In the order asked for (sort).",
                                  total=paging.total_field("Products matching the filters, on all pages."))

#: The orders a list of products comes in (``sort``): the same words in the product list and in search.
PRODUCT_SORTS = {"newest": "newest first (when first put on sale)",
                 "price": "lowest price first (the lowest unit price, wholesale tiers included)",
                 "-price": "highest price first"}


def _one_of(choices) -> validate.OneOf:
    return validate.OneOf(list(choices), error=_l("应为以下之一：{choices}。"))


class ProductQuery(paging.PageArgs):
    category = Slug(metadata={"description": "A category slug; its sub-categories' products are included."})
    shop = Slug(metadata={"description": "A shop slug."})
    sort = fields.String(load_default="newest", validate=_one_of(PRODUCT_SORTS), metadata={
        "description": "; ".join(f"{name}: {text}" for name, text in PRODUCT_SORTS.items()) + "; ties newest first."})


# -- search ---------------------------------------------------------------------------------------------------

#: ``attr=<name>:<value>``: attribute names are identifiers; values as long as the index keeps them.
_ATTRIBUTE_FILTER = re.compile(r"([a-z][a-z0-9_]{0,62}):(.{1,60})")


class AttributeFilter(Text):
    """One attribute filter, ``<name>:<value>`` (e.g. ``total_nutrient_pct:45``), loaded as (name, value)."""

    def _deserialize(self, value, attr, data, **kwargs):
        match = _ATTRIBUTE_FILTER.fullmatch(super()._deserialize(value, attr, data, **kwargs).strip())
        if match is None or not match.group(2).strip():
            raise ValidationError(str(_l("应为“属性名:值”，例如 total_nutrient_pct:45。")))
        return match.group(1), match.group(2).strip()


#: ``sort`` in search: the product list's words, and relevance, sales and credit (the backend's names after →).
SEARCH_SORTS = {"relevance": "relevance", "newest": "newest", "price": "price_asc", "-price": "price_desc",
                "sales": "sales", "credit": "credit"}


class SearchArgs(paging.PageArgs):
    q = Text(load_default="", validate=_length(0, 200), metadata={
        "description": "What to look for: Chinese words (苹果), pinyin (pingguo), pinyin initials (pg), traditional "
                       "characters (蘋果), English, units and grades (15-15-15, 5kg). Empty: every product on sale.",
        "example": "苹果"})
    category = Slug(metadata={"description": "A category slug; its sub-categories' products are included."})
    shop = Slug(metadata={"description": "A shop slug."})
    price_min = fields.Integer(validate=_range(0), metadata={
        "description": "The product's lowest unit price is at least this, in minor units (fen)."})
    price_max = fields.Integer(validate=_range(0), metadata={
        "description": "The product's lowest unit price is below this (exclusive, like the price facet's buckets), "
                       "in minor units (fen)."})
    in_stock = fields.Boolean(load_default=False, metadata={
        "description": "Only products that can be bought now (stock for at least the minimum order)."})
    attr = fields.List(AttributeFilter(), load_default=list, validate=_length(0, 20), metadata={
        "description": "Attribute filters, repeatable: attr=<name>:<value>, e.g. attr=total_nutrient_pct:45. "
                       "Several values of one attribute: any of them; several attributes: all of them. "
                       "The facets attr.<name> list the names and values there are.",
        "example": ["fertiliser_kind:compound"]})
    credit = fields.List(fields.String(validate=validate.OneOf(CREDIT_LEVELS, error=_l("应为以下之一：{choices}。"))),
                         load_default=list, validate=_length(0, len(CREDIT_LEVELS)), metadata={
        "description": "The shops' credit level, repeatable: A (优秀, 90+), B (良好, 80+), C (一般, 65+), D (待改进), "
                       "new (新店: too few orders and reviews for a firm score). Several: any of them. As of the "
                       "last credit refresh (at once after a review or a complaint decision, otherwise daily).",
        "example": ["A", "B"]})
    sort = fields.String(load_default="relevance", validate=_one_of(SEARCH_SORTS),
                         metadata={"description": "relevance (best match, then newest), price and -price "
                                                  "(by the lowest price, lowest or highest first), newest, sales "
                                                  "(units sold, most first), credit (shops with a credit level "
                                                  "before new shops, then the higher credit score; ties newest "
                                                  "first)."})

    @validates_schema
    def _prices_in_order(self, data, **kwargs):
        if "price_min" in data and "price_max" in data and data["price_max"] <= data["price_min"]:
            raise ValidationError(str(_l("应大于 price_min。")), "price_max")

    @post_load
    def _attributes_by_name(self, data, **kwargs):
        data["sort"] = SEARCH_SORTS[data["sort"]]
        attributes: dict[str, list[str]] = {}
        for name, value in data.pop("attr"):
            attributes.setdefault(name, []).append(value)
        data["attributes"] = attributes
        return data


class FacetValueOut(Schema):
    value = fields.String(metadata={
        "description": "What to filter by: the slug for category and shop; \"<lower>-<upper>\" in fen for price "
                       "(price_min=<lower>&price_max=<upper>; no upper: and above); \"true\" for in_stock; A, B, "
                       "C, D or new for credit (credit=<value>); the stored value for attr.<name> "
                       "(attr=<name>:<value>)."})
    count = fields.Integer(metadata={"description": "Products matching the query and every filter with this value."})
    label = fields.String(metadata={"description": "The value as people read it, in the request's language."})


class SearchItem(ProductSummary):
    is_ad = fields.Constant(False, metadata={
        "type": "boolean", "description": "Always false: results are ranked without regard to payment."})


class AdItem(ProductSummary):
    is_ad = fields.Constant(True, metadata={
        "type": "boolean", "description": "Always true: a paid placement (广告), to be shown labelled as one."})


class SearchPage(paging.page_schema("SearchPageBase", SearchItem)):
    """One page of search results, with the facets of everything that matched."""

    ads = fields.List(fields.Nested(AdItem), metadata={
        "description": "Paid placements (广告) for this query, at most two, on the first page only (empty on the "
                       "others). Never part of items nor of their order; show them apart, each labelled 广告 "
                       "(E-Commerce Law Art. 40)."})
    items = fields.List(fields.Nested(SearchItem), metadata={
        "description": "In the order asked for; a product taken off sale a moment ago is left out."})
    total = fields.Integer(metadata={"description": "Products matching the query and filters, on all pages."})
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FacetValueOut)), metadata={
        "description": "Counts by facet: category, shop, price, in_stock, credit (the shops' credit levels), "
                       "and attr.<name> for each attribute offered as a filter; values by count, most first."})
    did_you_mean = fields.String(metadata={
        "description": "When nothing matched: words that sound the same and do find products (平果 → 苹果); "
                       "otherwise empty."})


class SuggestArgs(Schema):
    q = Text(load_default="", validate=_length(0, 100), metadata={
        "description": "What has been typed so far; the last word may be unfinished (pingg, pg).",
        "example": "pingg"})


class SuggestionOut(Schema):
    text = fields.String(metadata={"description": "What to show and to search for."})
    kind = fields.String(metadata={"enum": ["product", "category", "shop"]})
    ref = fields.Integer(metadata={"description": "The id of the product, category or shop."})


class SuggestionList(Schema):
    suggestions = fields.List(fields.Nested(SuggestionOut), metadata={"description": "Best first; at most 8."})


# -- writing --------------------------------------------------------------------------------------------------

class VariantIn(Schema):
    sku = Text(required=True, validate=_length(1, 64), metadata={
        "description": "Unique in the shop: letters, digits and . _ / -", "example": "FERT-45-40KG"})
    price = _int(0, required=True, metadata={"description": "Price per unit in minor units (fen).", "example": 12500})
    compare_at_price = _int(0, allow_none=True, load_default=None)
    stock = _int(0, load_default=0)
    options = fields.Dict(keys=Text(validate=_length(1, 50)), values=Text(validate=_length(0, 100)),
                          load_default=dict, validate=_length(0, 10))
    weight_g = _int(0, allow_none=True, load_default=None)
    barcode = Text(load_default="", validate=_length(0, 32))
    tiers = fields.List(fields.Nested(Tier), load_default=list, validate=_length(0, 20))


class ProductPatch(Schema):
    """Fields to change; those left out stay as they are."""

    category = Text(validate=_length(1, 100), metadata={"description": "Category slug (or its Chinese name)."})
    title = Text(validate=_length(1, 200))
    description = Text(validate=_length(0, 20_000), metadata={"description": "HTML; sanitised when stored."})
    unit = Text(validate=validate.OneOf(sorted(UNITS), error=_l("应为以下之一：{choices}。")))
    moq = _int(1)
    attributes = fields.Dict(keys=Text(validate=_length(1, 63)), values=AttributeValue(), validate=_length(0, 100),
                             metadata={"description": "Attribute values by name, merged into the stored ones; "
                                                      "null clears one."})
    variants = fields.List(fields.Nested(VariantIn), validate=_length(1, 200), metadata={
        "description": "The full list of variants: matched by SKU, new SKUs added, missing ones removed."})


class ProductIn(ProductPatch):
    category = Text(required=True, validate=_length(1, 100), metadata={
        "description": "Category slug (or its Chinese name).", "example": "fertiliser"})
    title = Text(required=True, validate=_length(1, 200))
    description = Text(load_default="", validate=_length(0, 20_000))
    unit = Text(load_default="piece", validate=validate.OneOf(sorted(UNITS), error=_l("应为以下之一：{choices}。")))
    moq = _int(1, load_default=1)
    attributes = fields.Dict(keys=Text(validate=_length(1, 63)), values=AttributeValue(), load_default=dict,
                             validate=_length(0, 100), metadata={"description": "Attribute values by name."})
    variants = fields.List(fields.Nested(VariantIn), required=True, validate=_length(1, 200))
    publish = fields.Boolean(load_default=False, metadata={
        "description": "Publish at once (all required attributes, licences and stock rules must hold)."})


class StockItem(Schema):
    sku = Text(required=True, validate=_length(1, 64))
    stock = _int(0, metadata={"description": "Set the stock to this number."})
    adjust = _int(-INT_MAX, INT_MAX, metadata={"description": "Add this (or take it, when negative) to the stock."})
    expected_version = _int(1, allow_none=True, load_default=None, metadata={
        "description": "The variant's version as last read (variants[].version): if it has changed since, the "
                       "whole request is refused (409 version_conflict) and nothing changes. Leave it out to write "
                       "regardless (the last write wins)."})

    @validates_schema
    def _one_of(self, data, **kwargs):
        if ("stock" in data) == ("adjust" in data):
            raise ValidationError(str(_l("每一项须给出 stock（设为）或 adjust（增减）之一。")))


class StockIn(Schema):
    """Stock changes for many SKUs of the shop; all are applied, or none."""

    items = fields.List(fields.Nested(StockItem), required=True, validate=_length(1, 1000))


class StockLevel(Schema):
    sku = fields.String()
    stock = fields.Integer()
    version = fields.Integer(metadata={"description": "The variant's new version."})


class StockOut(Schema):
    items = fields.List(fields.Nested(StockLevel), metadata={"description": "The new stock of each SKU, in order."})
