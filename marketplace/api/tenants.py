"""The public directory of tenants: every open street and market, and one of them, as the portal shows them.

No authentication. A draft tenant is not there (404, as on the storefront, except to its own signed-in
operators); a suspended one answers 503, as every other path of that tenant does.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from marketplace.api import paging, views
from marketplace.api.schemas import _string
from marketplace.api.views import ApiBlueprint, _errors
from marketplace.extensions import csrf, db
from marketplace.shops.models import Shop, ShopStatus
from marketplace.storefront.views import _tenant_must_be_open
from marketplace.tenancy.context import all_tenants, current_tenant
from marketplace.tenancy.models import Tenant, TenantKind, TenantStatus

tenants_blueprint = ApiBlueprint(
    "api_tenants", __name__, url_prefix="/api/v1/tenants",
    description="公开的街区和市场目录：营业中的网上商业街和专业市场（无需认证）。")

#: As on the portal: streets, then markets; in the order they were set up.
ORDERING = paging.Ordering("tenants:portal", (paging.Key(Tenant.kind), paging.Key(Tenant.id, descending=False)))


class TenantOut(Schema):
    slug = fields.String(metadata={"description": "As in /t/<slug>/ and /api/v1/tenants/<slug>/…"})
    kind = fields.String(metadata={"enum": [kind.value for kind in TenantKind],
                                   "description": "street: 网上商业街; market: 专业市场."})
    name = _string(lambda tenant: tenant.name(), "In the request's language.")
    name_zh = fields.String()
    name_en = fields.String()
    district = _string(lambda tenant: tenant.district(), "In the request's language; empty if not recorded.")
    district_zh = fields.String()
    district_en = fields.String()
    address = _string(lambda tenant: tenant.address(), "In the request's language; empty if not recorded.")
    address_zh = fields.String()
    address_en = fields.String()
    currency = fields.String(metadata={"description": "Of every amount in this tenant (ISO 4217).", "example": "CNY"})
    timezone = fields.String(metadata={"description": "Where times are shown (IANA).", "example": "Asia/Shanghai"})
    shop_count = fields.Integer(attribute="api_shop_count", metadata={"description": "Shops open now."})
    web_url = _string(lambda tenant: url_for("tenant.home", tenant_slug=tenant.slug, _external=True),
                      "The tenant's home page on the storefront.")
    api_url = _string(lambda tenant: url_for("api_tenants.get_tenant", tenant_slug=tenant.slug, _external=True),
                      "This resource.")


TenantPage = paging.page_schema("TenantPage", TenantOut, description="Streets first, then markets.")


class TenantQuery(paging.PageArgs):
    kind = fields.String(validate=validate.OneOf([k.value for k in TenantKind], error=_l("应为以下之一：{choices}。")),
                         metadata={"description": "Only streets (street) or only markets (market)."})


def _with_shop_counts(tenants: list[Tenant]) -> list[Tenant]:
    """Each tenant's open shops as ``api_shop_count``, in one query for the page."""
    counts: dict[int, int] = {}
    if tenants:
        with all_tenants():  # the directory is platform-wide by design
            counts = dict(db.session.execute(
                select(Shop.tenant_id, func.count(Shop.id))
                .where(Shop.tenant_id.in_([t.id for t in tenants]), Shop.status == ShopStatus.active)
                .group_by(Shop.tenant_id)).all())
    for tenant in tenants:
        tenant.api_shop_count = counts.get(tenant.id, 0)
    return tenants


@tenants_blueprint.route("")
@tenants_blueprint.arguments(TenantQuery, location="query", as_kwargs=True)
@paging.responds(tenants_blueprint, TenantPage)
@_errors(tenants_blueprint, 404)
def list_tenants(limit: int, cursor: str | None = None, kind: str | None = None):
    """街区和市场

    营业中的网上商业街和专业市场，与门户首页相同：名称、类型、所在区和地址、币种、营业中的店铺数和网址。可按类型
    筛选（kind=street 或 market）。
    """
    query = select(Tenant).where(Tenant.status == TenantStatus.live)
    if kind:
        query = query.where(Tenant.kind == kind)
    page = paging.keyset_page(query, ORDERING, limit=limit, cursor=cursor)
    _with_shop_counts(page["items"])
    return page


@tenants_blueprint.route("/<slug:tenant_slug>")
@tenants_blueprint.response(200, TenantOut)
@_errors(tenants_blueprint, 404, 503)
def get_tenant():
    """一个街区或市场

    与列表中的一项相同。还在筹备中的回答 404，已暂停营业的回答 503（code: unavailable），与网站相同。
    """
    _tenant_must_be_open()
    return _with_shop_counts([current_tenant._get_current_object()])[0]


views.answer_with_problems(tenants_blueprint, tenant=False)


def register(api) -> None:
    """Add this blueprint to the API (called from ``views.register``)."""
    csrf.exempt(tenants_blueprint)  # reads only
    api.register_blueprint(tenants_blueprint)
