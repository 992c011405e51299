"""The REST API: public catalog reads per tenant, and merchant writes authorised by a bearer token.

Views stay thin: parse (flask-smorest and marshmallow), load the tenant's object (404 if absent), call a
service, commit once. Every refusal is a JSON problem (``type, status, code, title, detail, errors``) with a
stable ``code``; nothing a client sends may produce a 500.
"""

from __future__ import annotations

import http
import importlib
import json
import logging

from flask import Blueprint as FlaskBlueprint
from flask import abort, current_app, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint
from flask_smorest.utils import prepare_response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from marketplace.api import auth, idempotency, limits, paging, schemas, services
from marketplace.api.idempotency import idempotent
from marketplace.api.scopes import OPERATOR_SCOPES, SCOPES, requires_scope, scheme_description, scope_of
from marketplace.catalog import packs
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category, Product
from marketplace.catalog.services import CatalogError
from marketplace.core.errors import MESSAGES
from marketplace.core.i18n import format_money
from marketplace.extensions import csrf, db
from marketplace.search import placements
from marketplace.search import services as search
from marketplace.search.backend import CREDIT_LEVELS, SearchQuery, SearchUnavailable
from marketplace.shops import services as shops
from marketplace.shops.models import Shop, ShopStatus
from marketplace.storefront.views import _tenant_must_be_open
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.manifests import SLUG
from marketplace.tenancy.views import SlugConverter
from marketplace.trust.credit import standing_label

#: flask-smorest settings, set on the app before ``Api(app)`` reads them.
API_CONFIG = {
    "API_TITLE": "网上商都 Online Commercial Capital API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": "Public catalog of each street and market (no authentication), and merchant "
                                "writes to one shop with a bearer token (`flask api issue-token`). Money is an "
                                "integer count of minor units (fen). Errors are JSON problem details with a "
                                "stable `code`."},
    },
}

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

#: Titles for statuses the platform-wide table (core.errors.MESSAGES) does not name.
TITLES = {
    409: _l("与现有数据冲突，请刷新后重试。"),
    422: _l("提交的内容未通过校验。"),
}

#: marshmallow's and webargs' own messages, in the platform's words (validators in schemas.py say theirs).
FIELD_MESSAGES = {
    "Missing data for required field.": _l("必填。"),
    "Field may not be null.": _l("不能为 null。"),
    "Unknown field.": _l("不认识的字段。"),
    "Invalid input type.": _l("应为 JSON 对象。"),
    "Invalid type.": _l("应为 JSON 对象。"),
    "Not a valid integer.": _l("应为整数。"),
    "Not a valid number.": _l("应为数字。"),
    "Number too large.": _l("数字太大。"),
    "Not a valid string.": _l("应为字符串。"),
    "Not a valid utf-8 string.": _l("应为 UTF-8 字符串。"),
    "Not a valid boolean.": _l("应为 true 或 false。"),
    "Not a valid list.": _l("应为数组。"),
    "Not a valid mapping type.": _l("应为 JSON 对象。"),
    "Invalid JSON body.": _l("请求体不是有效的 JSON。"),
}

#: Descriptions of the error responses every operation documents.
ERROR_RESPONSES = {
    400: "请求体不是有效的 JSON，或含有无法保存的字符。",
    401: "没有令牌，或令牌无效、已吊销（code: token_missing, token_invalid）。",
    403: "令牌不属于此店铺，或其持有人已不是店主或店员（code: token_wrong_shop, token_forbidden），或令牌没有此操作所需的"
         "权限范围（code: insufficient_scope，detail 写明所缺的权限范围）。",
    404: "街区或市场、店铺或商品不存在、未对外开放，或属于另一个街区或市场（code: not_found）。",
    409: "与同时发生的修改冲突（code: conflict）。",
    422: "请求未通过校验，errors 逐字段说明（code: validation_failed）；店铺的商户未通过平台审核或审核已过期时不能上架"
         "（code: merchant_not_approved）。",
    503: "街区或市场已暂停营业（code: unavailable）。",
}
#: The search operations' 503: the tenant may be suspended, or its search backend down.
SEARCH_UNAVAILABLE = ("街区或市场已暂停营业（code: unavailable），或搜索服务暂时无法回答（code: search_unavailable）；"
                      "其他接口照常可用。")


# -- the flask-smorest pieces -----------------------------------------------------------------------------------

class ApiParser(FlaskParser):
    """webargs' parser, refusing JSON that Python cannot even read (nested thousands deep, numbers of thousands
    of digits) as invalid JSON rather than letting the error escape as a 500."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as exc:
            # A non-empty ``doc``: webargs reads an empty one as "no body at all".
            raise json.JSONDecodeError(f"unreadable JSON: {type(exc).__name__}", "<body>", 0) from None


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()


class Api(SmorestApi):
    """flask-smorest's Api, documenting errors as problem details and leaving error pages to the platform."""

    ERROR_SCHEMA = schemas.Problem
    #: No catch-all "default" response: each operation lists the statuses it answers, so a status it does not list
    #: is a bug the fuzzing (tests/api/test_fuzz.py) reports.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_responses(self):
        # As flask-smorest does, but errors are documented as application/problem+json, which is what they are.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)

    def _register_error_handlers(self):
        # flask-smorest would handle every HTTPException of the whole app, replacing the themed error pages.
        # The platform's handler (core.errors) already answers problem JSON under /api/; this API's blueprints
        # add handlers of their own for what only they raise (validation, catalog and token errors, below).
        pass


catalog_blueprint = ApiBlueprint(
    "api_catalog", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>",
    description="公开的商品目录：店铺、分类、在售商品（无需认证）。")
merchant_blueprint = ApiBlueprint(
    "api_merchant", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>/shops/<slug:shop_slug>",
    description="商户写接口：本店商品的创建、修改、上下架与批量库存（Authorization: Bearer <令牌>）。")
#: A bearer token with no scope: use ``@requires_scope(...)`` instead, which every key is checked against (an
#: operation documented with this alone is refused to every key).
BEARER = [{"bearerAuth": []}]


def documented_errors(blueprint: ApiBlueprint, descriptions: dict[int, str], *statuses: int):
    """Document these error responses (problem JSON, described by ``descriptions``) on an operation."""

    def decorate(view):
        for status in statuses:
            view = blueprint.alt_response(status, schema=schemas.Problem, description=descriptions[status],
                                          content_type=PROBLEM)(view)
        return view

    return decorate


def _errors(blueprint: ApiBlueprint, *statuses: int):
    return documented_errors(blueprint, ERROR_RESPONSES, *statuses)


# -- errors -------------------------------------------------------------------------------------------------------

def problem_response(status: int, code: str, *, detail: str | None = None, errors: dict[str, str] | None = None,
                     headers: dict[str, str] | None = None, title: str | None = None):
    """A problem-details response; the same shape as marketplace.core.errors.problem, plus ``errors``."""
    title = title or TITLES.get(status) or MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])[1]
    body = {"type": "about:blank", "status": status, "code": code, "title": str(title)}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    response.headers.update(headers or {})
    return response


def problem_errors(messages, path: tuple[str, ...] = ()) -> dict[str, str]:
    """marshmallow's nested messages as {"variants.0.price": "…"}: one message per field, in Chinese."""
    found: dict[str, str] = {}
    if isinstance(messages, dict):
        # A Dict field reports {name: {"key": […], "value": […]}}: the problem is the entry itself, attributes.<name>.
        entry = bool(path) and set(messages) <= {"key", "value"}
        for key, value in messages.items():
            step = () if key == "_schema" or entry else (str(key),)
            found.update(problem_errors(value, path + step))
    elif isinstance(messages, list | tuple) and messages and not all(isinstance(m, str) for m in messages):
        for index, value in enumerate(messages):
            found.update(problem_errors(value, path + (str(index),)))
    elif messages:
        text = messages[0] if isinstance(messages, list | tuple) else messages
        found.setdefault(".".join(path), str(FIELD_MESSAGES.get(text, text)))
    return found


def _catalog_field(name: str) -> str:
    # The catalog names attribute problems "attr.<name>"; in the API the attributes live under "attributes".
    return f"attributes.{name[5:]}" if name.startswith("attr.") else name


def _on_http_error(exc: HTTPException):
    if exc.code is None or exc.code < 400:
        return exc
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    headers = dict(data.get("headers") or {})
    if exc.code == 400 and messages:
        return problem_response(400, "invalid_json", detail=_("请求体不是有效的 JSON。"), headers=headers)
    if exc.code == 422 and messages:
        # webargs nests messages under the request part ("json", "query"); clients know which part they sent.
        errors = {}
        for part in messages.values():
            errors.update(problem_errors(part))
        return problem_response(422, "validation_failed", errors=errors, headers=headers)
    code = MESSAGES.get(exc.code, ("error",))[0]
    return problem_response(exc.code, code, headers=headers)


def _on_catalog_error(exc: CatalogError):
    db.session.rollback()
    errors = {_catalog_field(name): message for name, message in exc.problems.items()}
    return problem_response(422, exc.code, detail=str(exc), errors=errors)


def _on_auth_error(exc: auth.ApiAuthError):
    db.session.rollback()
    headers = {}
    if exc.status == 401:
        error = "invalid_token" if exc.code == "token_invalid" else "invalid_request"
        headers["WWW-Authenticate"] = f'Bearer realm="api", error="{error}"'
    elif exc.scope:  # RFC 6750: which scope the request lacked
        headers["WWW-Authenticate"] = f'Bearer realm="api", error="insufficient_scope", scope="{exc.scope}"'
    return problem_response(exc.status, exc.code, detail=exc.message, headers=headers)


def _on_version_conflict(exc: services.VersionConflict):
    db.session.rollback()
    return problem_response(409, "version_conflict", detail=str(exc), errors=exc.problems)


def _on_conflict(exc: IntegrityError):
    # A unique SKU taken by a request that committed between our check and our write.
    db.session.rollback()
    return problem_response(409, "conflict")


def _on_invalid_cursor(exc: paging.InvalidCursor):
    db.session.rollback()
    return problem_response(400, "invalid_cursor", detail=_("cursor 无效：请使用上一页回答中的 next_cursor，原样传回。"))


def answer_with_problems(blueprint: ApiBlueprint, handlers: dict | None = None, *, tenant: bool = True) -> None:
    """What every API blueprint answers as problem JSON (HTTP errors, a refused token, a clash in the database),
    then its own ``handlers`` (exception class → handler); with ``tenant``, a draft tenant answers 404 and a
    suspended one 503, exactly as on the storefront."""
    for error, handler in {HTTPException: _on_http_error, auth.ApiAuthError: _on_auth_error,
                           IntegrityError: _on_conflict, paging.InvalidCursor: _on_invalid_cursor,
                           **(handlers or {})}.items():
        blueprint.register_error_handler(error, handler)
    if tenant:
        blueprint.before_request(_tenant_must_be_open)


for _blueprint in (catalog_blueprint, merchant_blueprint):
    answer_with_problems(_blueprint, {CatalogError: _on_catalog_error, services.VersionConflict: _on_version_conflict})


def _on_search_unavailable(exc: SearchUnavailable):
    # The backend is down (or its index unreadable): a clear 503 for this call, the rest of the API still works.
    db.session.rollback()
    log.warning("search unavailable: %s", exc)
    return problem_response(503, "search_unavailable", title=_("搜索暂时不可用，请稍后再试。"),
                            detail=_("店铺、分类和商品列表的接口照常可用。"))


catalog_blueprint.register_error_handler(SearchUnavailable, _on_search_unavailable)


# -- public catalog -----------------------------------------------------------------------------------------------

@catalog_blueprint.route("/shops")
@catalog_blueprint.arguments(paging.PageArgs, location="query", as_kwargs=True)
@paging.responds(catalog_blueprint, schemas.ShopList)
@_errors(catalog_blueprint, 404, 503)
def list_shops(limit: int, cursor: str | None = None):
    """店铺列表

    营业中的店铺，按街道或市场里的位置排列（楼栋、楼层、区域；街道的一侧，再按沿街的位置）。
    """
    return services.active_shops(limit=limit, cursor=cursor)


@catalog_blueprint.route("/shops/<slug:shop_slug>")
@catalog_blueprint.response(200, schemas.ShopOut)
@_errors(catalog_blueprint, 404, 503)
def get_shop(shop_slug: str):
    """店铺详情"""
    shop = shops.shop_by_slug(shop_slug)
    if shop is None or not shop.is_active:
        abort(404)
    return shop


@catalog_blueprint.route("/categories")
@catalog_blueprint.response(200, schemas.CategoryTree)
@_errors(catalog_blueprint, 404, 503)
def list_categories():
    """分类树

    顶级分类及其子分类，按排列顺序。
    """
    return {"items": services.category_tree()}


@catalog_blueprint.route("/products")
@catalog_blueprint.arguments(schemas.ProductQuery, location="query", as_kwargs=True)
@paging.responds(catalog_blueprint, schemas.ProductPage)
@_errors(catalog_blueprint, 404, 503)
def list_products(limit: int, sort: str, cursor: str | None = None, category: str | None = None,
                  shop: str | None = None):
    """在售商品

    按分类（含子分类，slug）和店铺（slug）筛选；sort=newest（最新上架的在前，默认）、price（最低价从低到高）或
    -price（从高到低）。total 为符合条件的商品总数；next_cursor 不为 null 时用 cursor=next_cursor 取下一页。
    """
    result = services.active_products(category_slug=category, shop_slug=shop, sort=sort, limit=limit,
                                      cursor=cursor)
    if result is None:
        raise CatalogError(_("找不到分类“%(category)s”。", category=category), "category")
    return result


@catalog_blueprint.route(f"/products/<int(max={schemas.INT_MAX}):product_id>")
@catalog_blueprint.response(200, schemas.ProductOut)
@_errors(catalog_blueprint, 404, 503)
def get_product(product_id: int):
    """商品详情

    含规格（SKU）、阶梯价、图片和带标签的属性。草稿、已下架和其他街区的商品都回答 404。
    """
    product = services.active_product(product_id)
    if product is None:
        abort(404)
    return product


# -- search -------------------------------------------------------------------------------------------------------

def _search_errors(view):
    """The errors a search operation documents: 404, and a 503 that may also mean the backend is down."""
    view = _errors(catalog_blueprint, 404)(view)
    return catalog_blueprint.alt_response(503, schema=schemas.Problem, description=SEARCH_UNAVAILABLE,
                                          content_type=PROBLEM)(view)


def _filter_ids(args: dict) -> tuple[int | None, int | None]:
    """The ids of the category and the open shop the slugs name; one that is not the tenant's is a mistake to
    point out, not an empty page."""
    category_id = shop_id = None
    if "category" in args:
        category_id = db.session.scalar(select(Category.id).where(Category.slug == args["category"]))
        if category_id is None:
            raise CatalogError(_("找不到这个分类。"), "category")
    if "shop" in args:
        shop_id = db.session.scalar(select(Shop.id).where(Shop.slug == args["shop"], Shop.status == ShopStatus.active))
        if shop_id is None:
            raise CatalogError(_("找不到这个店铺。"), "shop")
    return category_id, shop_id


def _on_sale_in_order(ids: list[int]) -> list[Product]:
    """The products with these ids that are still on sale, in this order, loaded as ``list_products`` loads them."""
    if not ids:
        return []
    found = {product.id: product for product in db.session.scalars(
        services._public_products().where(Product.id.in_(ids))
        .options(selectinload(Product.shop), selectinload(Product.category), selectinload(Product.variants),
                 selectinload(Product.images)))}
    return [found[product_id] for product_id in ids if product_id in found]


def _price_label(bucket: str) -> str:
    lower, _sep, upper = bucket.partition("-")
    if not lower.isdigit() or not (upper.isdigit() or upper == ""):
        return bucket
    currency = current_tenant.currency
    if not upper:
        return _("%(price)s 以上", price=format_money(int(lower), currency))
    return f"{format_money(int(lower), currency)}–{format_money(int(upper), currency)}"


def _attribute_label(name: str, value: str) -> str:
    """The value as the product type shows it (a choice's label, with its unit, 是/否); options as they are."""
    for product_type in packs.all_product_types():
        attribute = product_type.attribute(name)
        if attribute is None:
            continue
        if attribute.type == packs.AttributeType.boolean:
            return attribute.display(value == "true")
        if attribute.type != packs.AttributeType.enum or any(c.value == value for c in attribute.choices):
            return attribute.display(value)
    return value


def _labelled_facets(facets: dict) -> dict[str, list[dict]]:
    """The backend's facet counts with a label for each value (category and shop names in two queries)."""
    def ids(name: str) -> list[int]:
        return [int(v.value) for v in facets.get(name, []) if v.value.isdigit()]

    # Category and shop values are the slugs the filters take (the backend counts by id).
    names, slugs = {}, {}
    for name, model in (("category", Category), ("shop", Shop)):
        if ids(name):
            found = list(db.session.scalars(select(model).where(model.id.in_(ids(name)))))
            names[name] = {str(row.id): row.name() for row in found}
            slugs[name] = {str(row.id): row.slug for row in found}
    labelled = {}
    for name, values in facets.items():
        items = []
        for facet in values:
            value = facet.value
            if name in names:
                label = names[name].get(facet.value, facet.value)
                value = slugs[name].get(facet.value)
                if value is None:  # deleted since it was indexed: nothing to filter by
                    continue
            elif name == "price":
                label = _price_label(facet.value)
            elif name == "in_stock":
                label = _("有货")
            elif name == "credit":
                label = standing_label(facet.value)
            elif name.startswith("attr."):
                label = _attribute_label(name[5:], facet.value)
            else:
                label = facet.value
            items.append({"value": value, "count": facet.count, "label": label})
        labelled[name] = items
    return labelled


@catalog_blueprint.route("/search")
@catalog_blueprint.arguments(schemas.SearchArgs, location="query")
@paging.responds(catalog_blueprint, schemas.SearchPage)
@_search_errors
def search_products(args: dict):
    """搜索商品

    按汉字、拼音、拼音首字母、繁体字或英文搜索在售商品，如 苹果、pingguo、pg、蘋果、复合肥 15-15-15。
    可按分类（含子分类，slug）、店铺（slug）、价格区间、是否有货、店铺信用等级（credit=A…D 或 new，可重复）和属性
    （attr=属性名:值，可重复）筛选，按相关度、价格、上架时间、销量或店铺信用排序（sort=relevance、price、-price、
    newest、sales、credit）。facets 给出每个筛选项的可选值
    及其商品数；什么也没找到时，did_you_mean 给出读音相同、能找到商品的词。搜索服务暂时不可用时回答 503
    （code: search_unavailable）。
    """
    category_id, shop_id = _filter_ids(args)
    # Ranked by the backend, which pages by offset: the cursor carries the offset (bound to the sort).
    cursor_name, limit = f"search:{args['sort']}", args["limit"]
    offset = paging.offset_of(args.get("cursor"), cursor_name)
    query = SearchQuery(text=args["q"], category_id=category_id, shop_id=shop_id,
                        price_min=args.get("price_min"), price_max=args.get("price_max"), in_stock=args["in_stock"],
                        attributes=args["attributes"],
                        credit_levels=[level for level in CREDIT_LEVELS if level in args["credit"]],
                        sort=args["sort"], size=limit, skip=offset)
    tenant = current_tenant._get_current_object()
    outcome = search.search(tenant, query, record=True)
    result = outcome.result
    ads = placements.ads_for(tenant, query.text, query.category_id) if offset == 0 else []
    return {"items": _on_sale_in_order(result.ids), "total": result.total,
            "next_cursor": paging.next_offset_cursor(cursor_name, offset, len(result.ids), result.total),
            "facets": _labelled_facets(result.facets), "did_you_mean": outcome.did_you_mean, "ads": ads}


@catalog_blueprint.route("/search/suggest")
@catalog_blueprint.arguments(schemas.SuggestArgs, location="query")
@catalog_blueprint.response(200, schemas.SuggestionList)
@_search_errors
def search_suggestions(args: dict):
    """搜索建议

    输入框的自动补全：标题、分类名或店铺名以所输入内容开头的商品、分类和店铺，拼音和拼音首字母同样可用
    （pingg、pg）。搜索服务暂时不可用时回答 503（code: search_unavailable）。
    """
    return {"suggestions": search.suggest(current_tenant._get_current_object(), args["q"])}


# -- merchant writes ----------------------------------------------------------------------------------------------

@merchant_blueprint.url_value_preprocessor
def _take_shop_slug(_endpoint, values):
    g.api_shop_slug = (values or {}).pop("shop_slug", None)


@merchant_blueprint.before_request
def _authenticate():
    """Token first (401), then the shop (404), then whether the token may act on it (403)."""
    if request.method == "OPTIONS":
        return
    token = auth.authenticate(auth.bearer_token(request.headers.get("Authorization")))
    shop = shops.shop_by_slug(g.api_shop_slug)
    if shop is None:
        abort(404)
    g.api_user = auth.authorise(token, shop)
    g.api_shop = shop
    g.api_token = token  # the caller, for Idempotency-Key records
    auth.require_scope(token, scope_of(current_app.view_functions.get(request.endpoint)))  # then its scope (403)
    auth.save_last_use()  # before the operation reads anything: in a read's transaction SQLite may refuse the write


def _own_product(product_id: int):
    product = catalog.product_of_shop(g.api_shop, product_id)
    if product is None:
        abort(404)
    return product


def _product_url(product) -> str:
    return url_for("api_merchant.get_own_product", shop_slug=g.api_shop.slug, product_id=product.id)


def _key_refused():
    """The problem answer for a missing or invalid Idempotency-Key, or None when the request has a usable one."""
    refused = idempotency.key_problem(idempotency.request_key())
    return problem_response(refused[0], refused[1], detail=refused[2]) if refused else None


#: The product's entity tag, answered by every merchant operation that returns a product.
ETAG_HEADER = {"ETag": {"description": "The product's version (its fields and its variants' stock and prices): send "
                                       "it back in If-Match to change the product only if nobody changed it since.",
                        "schema": {"type": "string"}}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 1000},
            "description": "只在商品仍是这个版本（读取时 ETag 响应头的值）时修改；已被别人改过回答 412"
                           "（code: precondition_failed），什么也不改。不带时照常修改（后写的为准）。"}
PRECONDITION_FAILED = "商品在读取之后已被修改，If-Match 不再匹配（code: precondition_failed）：请重新读取后再改。"
VERSION_CONFLICT = ("某几项的 expected_version 与规格现在的版本不符：库存或价格在读取之后已有变化（code: version_conflict，"
                    "errors 按 items.<序号>.expected_version 列出）；整个请求都没有执行，请重新读取后再试。")


def _with_etag(product, status: int = 200, headers: dict | None = None):
    return product, status, {**(headers or {}), "ETag": services.product_etag(product)}


@merchant_blueprint.route("/products", methods=["POST"])
@idempotent
@merchant_blueprint.arguments(schemas.ProductIn, description="新商品；publish 为 true 时立即上架。")
@merchant_blueprint.response(201, schemas.MerchantProductOut, headers={
    "Location": {"description": "The product's URL in this API.", "schema": {"type": "string"}}, **ETAG_HEADER})
@_errors(merchant_blueprint, 400, 401, 403, 404, 409, 503)
@requires_scope("catalog:write")
def create_product(data: dict):
    """创建商品

    属性按分类的商品类型校验；草稿可以不完整，上架时必须完整，受限类目还需店铺持有经核验的许可证。
    须带 Idempotency-Key：重试时用同一个值，只会创建一次。
    """
    refused = _key_refused()
    if refused is not None:
        return refused
    product = services.create_product(g.api_shop, data)
    db.session.commit()
    return _with_etag(product, 201, {"Location": _product_url(product)})


@merchant_blueprint.route(f"/products/<int(max={schemas.INT_MAX}):product_id>", methods=["GET"])
@merchant_blueprint.response(200, schemas.MerchantProductOut, headers=ETAG_HEADER)
@_errors(merchant_blueprint, 401, 403, 404, 503)
@requires_scope("catalog:read")
def get_own_product(product_id: int):
    """读取本店商品

    与公开接口相同的内容，但也能读到草稿和已下架的商品；另有商品和每个规格的版本（version），以及 ETag 响应头，
    供修改时用 If-Match、批量设置库存时用 expected_version 防止覆盖别人刚做的修改。
    """
    return _with_etag(_own_product(product_id))


def _if_match_holds(product) -> bool:
    """RFC 9110 If-Match: absent, "*", or one of the listed tags equal (strong comparison) to the product's."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return True
    current = services.product_etag(product)
    return any(tag.strip() == current for tag in header.split(",") if not tag.strip().startswith("W/"))


@merchant_blueprint.route(f"/products/<int(max={schemas.INT_MAX}):product_id>", methods=["PATCH"])
@merchant_blueprint.arguments(schemas.ProductPatch, description="只改给出的字段。")
@merchant_blueprint.response(200, schemas.MerchantProductOut, headers=ETAG_HEADER)
@_errors(merchant_blueprint, 400, 401, 403, 404, 409, 503)
@merchant_blueprint.alt_response(412, schema=schemas.Problem, description=PRECONDITION_FAILED, content_type=PROBLEM)
@requires_scope("catalog:write")
@merchant_blueprint.doc(parameters=[IF_MATCH])
def update_product(data: dict, product_id: int):
    """修改商品

    attributes 与已有属性合并（值为 null 时清除该属性）；给出 variants 时按 SKU 整体替换规格列表。
    在售商品修改后仍须满足上架条件。带 If-Match（读取时的 ETag）时，商品在那之后被改过（价格、库存、任何字段）
    回答 412（code: precondition_failed），什么也不改；回答带新的 ETag。
    """
    product = _own_product(product_id)
    services.lock_product(product)  # a concurrent PATCH waits here, then sees this one's version
    if not _if_match_holds(product):
        db.session.rollback()
        return problem_response(412, "precondition_failed", detail=_("商品在读取之后已被修改，请重新读取后再改。"),
                                headers={"ETag": services.product_etag(product)})
    product = services.update_product(product, data)
    db.session.commit()
    return _with_etag(product)


@merchant_blueprint.route(f"/products/<int(max={schemas.INT_MAX}):product_id>/publish", methods=["POST"])
@merchant_blueprint.response(200, schemas.MerchantProductOut, headers=ETAG_HEADER)
@_errors(merchant_blueprint, 401, 403, 404, 422, 503)
@requires_scope("catalog:write")
def publish_product(product_id: int):
    """上架商品

    不满足上架条件时回答 422，errors 列出每一条原因（缺少的属性、许可证……）。
    """
    product = _own_product(product_id)
    catalog.publish_product(product)
    db.session.commit()
    return _with_etag(product)


@merchant_blueprint.route(f"/products/<int(max={schemas.INT_MAX}):product_id>/unpublish", methods=["POST"])
@merchant_blueprint.response(200, schemas.MerchantProductOut, headers=ETAG_HEADER)
@_errors(merchant_blueprint, 401, 403, 404, 503)
@requires_scope("catalog:write")
def unpublish_product(product_id: int):
    """下架商品（回到草稿）"""
    product = _own_product(product_id)
    catalog.unpublish_product(product)
    db.session.commit()
    return _with_etag(product)


@merchant_blueprint.route("/variants/stock", methods=["POST"])
@idempotent
@merchant_blueprint.arguments(schemas.StockIn, description="每项给出 sku 和 stock（设为）或 adjust（增减），"
                                                          "可选 expected_version。")
@merchant_blueprint.response(200, schemas.StockOut)
@_errors(merchant_blueprint, 400, 401, 403, 404, 503)
@merchant_blueprint.alt_response(409, schema=schemas.Problem, description=VERSION_CONFLICT, content_type=PROBLEM)
@requires_scope("stock:write")
def set_stock(data: dict):
    """批量设置库存

    例如由 ERP 同步。全部成功或全部不变：任何一项有问题都回答 422，errors 按 items.<序号>.<字段> 列出。
    某项带 expected_version（读取商品时规格的 version）而规格的库存或价格在那之后变过（包括顾客下单、取消），
    整个请求回答 409（code: version_conflict），什么也不改；不带时照常设置（后写的为准）。adjust（增减）本身
    不会覆盖别人的修改，通常不需要 expected_version。须带 Idempotency-Key：重试时用同一个值，只会执行一次
    （adjust 不会加两次）。回答每个 SKU 新的库存和版本。
    """
    refused = _key_refused()
    if refused is not None:
        return refused
    levels = services.set_stock(g.api_shop, data["items"])
    db.session.commit()
    return {"items": [{"sku": sku, "stock": stock, "version": version} for sku, stock, version in levels]}


# -- a reference page, rendered on the server from the OpenAPI document (no scripts, nothing from a CDN) ----------

docs_blueprint = FlaskBlueprint("api_docs", __name__)


def _type_of(schema: dict) -> str:
    """A property's type as a reader wants it: "string", "integer | null", "array of VariantOut"…"""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for combined in ("allOf", "anyOf", "oneOf"):
        if combined in schema:
            kinds = [_type_of(part) for part in schema[combined] if part.get("type") != "object" or "$ref" in part]
            text = " | ".join(kinds) or "object"
            return f"{text} | null" if schema.get("nullable") or len(kinds) < len(schema[combined]) else text
    kind = schema.get("type", "any")
    if kind == "array":
        kind = f"array of {_type_of(schema.get('items', {}))}"
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        kind = f"object of {_type_of(schema['additionalProperties'])}"
    if schema.get("enum"):
        kind += " (" + ", ".join(map(str, schema["enum"])) + ")"
    return f"{kind} | null" if schema.get("nullable") else kind


def _schema_name(content: dict | None) -> str:
    for media in (content or {}).values():
        return _type_of(media.get("schema", {}))
    return ""


@docs_blueprint.route("/api/v1/docs")
def docs():
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    document = api.spec.to_dict()
    operations = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            body = operation.get("requestBody", {}).get("content")
            responses = [(code, (document["components"]["responses"].get(r["$ref"].rsplit("/", 1)[-1], {})
                                 if "$ref" in r else r)) for code, r in operation["responses"].items()]
            operations.append({
                "method": method.upper(), "path": path, "summary": operation.get("summary", ""),
                "description": operation.get("description", ""), "token": bool(operation.get("security")),
                # Every scheme's scopes: a shop key's, a personal token's (resident operations), an operator's…
                "scopes": [scope for need in operation.get("security", []) for scopes in need.values()
                           for scope in scopes],
                "parameters": [(p["name"], p["in"], p.get("required", False), _type_of(p.get("schema", {})),
                                p.get("description", "")) for p in parameters],
                "body": _schema_name(body),
                "responses": [(code, r.get("description", ""), _schema_name(r.get("content"))) for code, r in
                              sorted(responses)],
            })
    schemas_ = [(name, schema.get("description", ""),
                 [(prop, _type_of(spec), spec.get("description", ""), prop in schema.get("required", []))
                  for prop, spec in schema.get("properties", {}).items()])
                for name, schema in document["components"]["schemas"].items()]
    return render_template("api/docs.html", document=document, operations=operations, schemas=schemas_,
                           scopes=SCOPES, operator_scopes=OPERATOR_SCOPES)


# -- registration -------------------------------------------------------------------------------------------------

def _slug_schema(_converter) -> dict:
    return {"type": "string", "pattern": f"^{SLUG.pattern}$", "maxLength": 63}


def register(app) -> None:
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = Api(app, spec_kwargs={"extra_plugins": [limits.RateLimitDocs(), idempotency.IdempotencyDocs()]})
    limits.register(app)
    api.register_converter(SlugConverter, _slug_schema)
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": scheme_description()})
    for blueprint in (catalog_blueprint, merchant_blueprint):
        csrf.exempt(blueprint)  # bearer tokens, never cookies: there is no cross-site form to forge
        api.register_blueprint(blueprint)
    importlib.import_module("marketplace.api.orders").register(api)  # cart, checkout, orders (imports this module)
    importlib.import_module("marketplace.api.delivery").register(api)  # quotes, shipments, tracking (likewise)
    importlib.import_module("marketplace.api.trust").register(api)  # badges, reviews, complaints (likewise)
    importlib.import_module("marketplace.api.returns").register(api)  # a shop's returns (likewise)
    importlib.import_module("marketplace.api.tenants").register(api)  # the directory of tenants (likewise)
    importlib.import_module("marketplace.api.operator").register(api)  # the operator API (likewise)
    app.register_blueprint(docs_blueprint)
