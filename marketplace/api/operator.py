"""The operator API: what a street's or market's operator does in the operator console, for their own systems.

``/api/v1/tenants/<t>/operator/…`` with an operator token (``occo_…``, ``auth.issue_operator_token``): the
tenant's settings (read; brand, time zone and order settings changed through the console's own services, audited
there) and its shop applications (入驻申请: list, read, approve, reject, through ``shops.applications``).

The token is checked first (401: none, unknown, revoked, another kind of token, or a closed account), then the
tenant (404: a token of another tenant, as every cross-tenant request), then its holder's rights (403
``token_forbidden``: they no longer operate the tenant), then the operation's scope (403 ``insufficient_scope``).
For the request the token's holder is the signed-in user, so the audit log names the operator who acted. The API
answers for draft and suspended tenants too: operators prepare a market before it opens.

Decisions take an ``Idempotency-Key``; the decision itself makes a retry safe: approving an approved application
(or rejecting a rejected one) answers 200 with it, deciding it the other way is a 409.
"""

from __future__ import annotations

from flask import abort, current_app, g, request
from flask_babel import gettext as _

from marketplace.api import auth, paging, views
from marketplace.api import operator_schemas as schemas
from marketplace.api import orders as order_api
from marketplace.api.idempotency import idempotent
from marketplace.api.orders import ApiProblem
from marketplace.api.schemas import INT_MAX
from marketplace.api.scopes import operator_scheme_description, operator_scope_of, requires_operator_scope
from marketplace.console import order_settings as order_settings_console
from marketplace.console import services as console
from marketplace.extensions import csrf, db
from marketplace.shops import applications
from marketplace.shops.applications import ApplicationError, ShopApplication, ShopApplicationStatus
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.models import TenantStatus

blueprint = views.ApiBlueprint(
    "api_operator", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>/operator",
    description="运营方接口：本街区或市场的设置与入驻申请（Authorization: Bearer <运营 API 密钥>）。")

ERRORS = {
    400: "缺少或无效的 Idempotency-Key（code: missing_idempotency_key, invalid_idempotency_key），或请求体不是有效的 "
         "JSON（code: invalid_json）。",
    401: "没有令牌，或令牌无效、已吊销、不是运营 API 密钥，或其持有人的账户已停用（code: token_missing, token_invalid）。",
    403: "令牌的持有人已不再是本街区或市场的运营方（code: token_forbidden），或令牌没有此操作所需的权限范围"
         "（code: insufficient_scope，detail 写明所缺的权限范围）。",
    404: "街区或市场不存在，令牌属于另一个街区或市场，或申请不存在、属于另一个街区或市场（code: not_found）。",
    409: "申请已经以另一种方式处理或已被申请人撤回（code: already_approved, already_rejected, already_withdrawn），"
         "或现在不能批准或驳回（code: cannot_approve, cannot_reject，例如申请的网址名已被其他店铺使用、申请人账户已停用，"
         "detail 说明原因）。",
    422: "请求未通过校验，errors 逐字段说明（code: validation_failed）。",
}


def _errors(*statuses: int):
    return views.documented_errors(blueprint, ERRORS, *statuses)


@blueprint.before_request
def _authenticate():
    """Token (401), tenant (404), holder's rights (403), then the operation's scope (403)."""
    if request.method == "OPTIONS":
        return
    token = auth.authenticate_operator(auth.bearer_token(request.headers.get("Authorization")))
    user = auth.authorise_operator(token, current_tenant._get_current_object())
    auth.require_operator_scope(token, operator_scope_of(current_app.view_functions.get(request.endpoint)))
    auth.save_last_use()  # before the operation reads anything: in a read's transaction SQLite may refuse the write
    auth.act_as(user, operator_token=token, api_user=user)  # the services' audit entries name the operator


# -- settings ------------------------------------------------------------------------------------------------------

def _settings() -> dict:
    tenant = current_tenant._get_current_object()
    brand = tenant.brand or {}
    return {
        "slug": tenant.slug, "name_zh": tenant.name_zh, "name_en": tenant.name_en, "kind": tenant.kind,
        "status": tenant.status, "status_label": TenantStatus(tenant.status).label, "currency": tenant.currency,
        "timezone": tenant.timezone, "district_zh": tenant.district_zh, "district_en": tenant.district_en,
        "address_zh": tenant.address_zh, "address_en": tenant.address_en, "operator_name": tenant.operator_name,
        "operator_uscc": tenant.operator_uscc, "closing_on": tenant.closing_on,
        "brand": {"primary_color": brand.get("primary_color"), "accent_color": brand.get("accent_color")},
        "orders": _order_settings(tenant),
    }


def _order_settings(tenant) -> dict:
    stored = order_settings_console.current_order_settings(tenant)
    return {"commission_bp": stored["commission_bp"], "payment_minutes": stored["payment_minutes"],
            "offline_payment_minutes": stored["offline_payment_minutes"],
            "return_respond_hours": stored["respond_hours"]}


@blueprint.route("/settings", methods=["GET"])
@blueprint.response(200, schemas.OperatorSettingsOut)
@_errors(401, 403, 404)
@requires_operator_scope("tenant:read")
def get_settings():
    """本街区或市场的设置

    名称、类型、状态、币种、时区、地址、运营机构、品牌颜色和订单设置（佣金、付款期限、退货答复期限）。
    """
    return _settings()


@blueprint.route("/settings", methods=["PATCH"])
@blueprint.arguments(schemas.OperatorSettingsPatch, description="只改给出的字段。")
@blueprint.response(200, schemas.OperatorSettingsOut)
@_errors(400, 401, 403, 404, 422)
@requires_operator_scope("tenant:write")
def update_settings(data: dict):
    """修改本街区或市场的设置

    可改运营后台允许运营方修改的：品牌颜色（brand.primary_color、brand.accent_color，null 恢复主题默认）、时区
    （timezone）和订单设置（orders.commission_bp 等，范围与运营后台相同）。全部校验通过才保存，任何一项有问题都回答
    422，什么也不改。每项改动记入审计日志。新设置只用于此后的订单和退货申请。
    """
    tenant = current_tenant._get_current_object()
    brand = dict(tenant.brand or {})
    if "brand" in data or "timezone" in data:
        wanted = {**{key: brand.get(key) for key in ("primary_color", "accent_color")}, **data.get("brand", {})}
        try:
            console.update_tenant_brand(tenant, primary_color=wanted["primary_color"] or "",
                                        accent_color=wanted["accent_color"] or "",
                                        timezone=data.get("timezone", tenant.timezone).strip())
        except console.ConsoleError as error:
            raise ApiProblem(422, "validation_failed", str(error), {"timezone": str(error)}) from None
    if "orders" in data:
        stored = order_settings_console.current_order_settings(tenant)
        wanted = {**stored, **{("respond_hours" if key == "return_respond_hours" else key): value
                               for key, value in data["orders"].items()}}
        order_settings_console.update_order_settings(
            tenant, commission_bp=wanted["commission_bp"], payment_minutes=wanted["payment_minutes"],
            offline_payment_minutes=wanted["offline_payment_minutes"], respond_hours=wanted["respond_hours"])
    db.session.commit()
    return _settings()


# -- shop applications ---------------------------------------------------------------------------------------------

def _application_out(application) -> dict:
    def person(user):
        return {"id": user.id, "display_name": user.display_name} if user is not None else None

    category = application.category
    return {
        "id": application.id, "status": application.status, "status_label": application.status_label,
        "kind": application.kind, "kind_label": application.kind_label, "legal_name": application.legal_name,
        "registration_number": application.registration_number, "contact_name": application.contact_name,
        "contact_phone": application.contact_phone, "shop_name_zh": application.shop_name_zh,
        "shop_name_en": application.shop_name_en, "slug": application.slug,
        "category": {"slug": category.slug, "name": category.name()} if category is not None else None,
        "wished_place": application.wished_place, "note": application.note,
        "applicant": person(application.applicant), "created_at": application.created_at,
        "decided_at": application.decided_at, "decided_by": person(application.decided_by),
        "reason": application.reason,
        "shop": {"id": application.shop.id, "slug": application.shop.slug} if application.shop is not None else None,
    }


#: Applications by id, oldest first: the order of a queue, and a key that never changes.
BY_ID = paging.Ordering("id", (paging.Key(ShopApplication.id, descending=False),))


def _application_or_404(application_id: int, *, lock: bool = False):
    found = applications.application_in_tenant(application_id, lock=lock)
    if found is None:
        abort(404)
    return found


@blueprint.route("/applications", methods=["GET"])
@blueprint.arguments(schemas.ApplicationQuery, location="query", as_kwargs=True)
@paging.responds(blueprint, schemas.ApplicationPage)
@_errors(401, 403, 404)
@requires_operator_scope("applications:read")
def list_applications(limit: int, status: str | None = None, cursor: str | None = None):
    """入驻申请列表

    按提交先后排列（先提交的在前），可按 status 筛选（submitted 即待审核的队列）。每页最多 limit 条；
    next_cursor 不为 null 时，把它作为 cursor 取下一页（也在 Link 头中给出）。
    """
    page = paging.keyset_page(applications.applications_query(status=status), BY_ID, limit=limit, cursor=cursor)
    return {"items": [_application_out(a) for a in page["items"]], "next_cursor": page["next_cursor"]}


@blueprint.route(f"/applications/<int(max={INT_MAX}):application_id>", methods=["GET"])
@blueprint.response(200, schemas.ApplicationOut)
@_errors(401, 403, 404)
@requires_operator_scope("applications:read")
def get_application(application_id: int):
    """入驻申请详情

    联系电话是申请人为这份申请填写的（与运营后台显示的相同）；申请人账户的手机号和邮箱不对外给出。
    """
    found = _application_or_404(application_id)
    return _application_out(found)


def _refuse_other_decision(found, wanted: str) -> bool:
    """True when ``found`` already has the ``wanted`` decision (a retry: answer it again); 409 when it has another."""
    if found.status == wanted:
        return True
    if found.status != ShopApplicationStatus.submitted:
        raise ApiProblem(409, f"already_{found.status}",
                         _("这份申请已经是“%(status)s”，不能再次处理。", status=found.status_label))
    return False


@blueprint.route(f"/applications/<int(max={INT_MAX}):application_id>/approve", methods=["POST"])
@idempotent
@blueprint.response(200, schemas.ApplicationOut, description="已批准（或早已批准：重试同一决定）；shop 为开通的店铺。")
@_errors(400, 401, 403, 404, 409)
@requires_operator_scope("applications:write")
def approve_application(application_id: int):
    """批准入驻申请

    在同一事务中开通店铺（营业中，尚未安排位置）、建立或沿用商户、授予申请人店主身份，并记入审计日志；
    与运营后台的“批准并开通店铺”相同。已批准的申请再次批准（重试）回答 200 和这份申请；已驳回或已撤回的回答 409。
    """
    found = _application_or_404(application_id, lock=True)  # another tenant's: 404, whatever else is wrong
    order_api._idempotency_key()  # required (documented); the decision already made, not the key, makes a retry safe
    if not _refuse_other_decision(found, ShopApplicationStatus.approved):
        try:
            applications.approve_application(found, g.api_user)
        except ApplicationError as error:
            raise ApiProblem(409, "cannot_approve", str(error)) from None
    db.session.commit()
    return _application_out(found)


@blueprint.route(f"/applications/<int(max={INT_MAX}):application_id>/reject", methods=["POST"])
@idempotent
@blueprint.arguments(schemas.RejectIn, description="驳回原因，申请人会看到。")
@blueprint.response(200, schemas.ApplicationOut, description="已驳回（或早已驳回：重试同一决定）。")
@_errors(400, 401, 403, 404, 409, 422)
@requires_operator_scope("applications:write")
def reject_application(data: dict, application_id: int):
    """驳回入驻申请

    须写明原因（reason，最多 500 字），申请人会看到；记入审计日志。已驳回的申请再次驳回（重试）回答 200 和这份
    申请，原因不变；已批准或已撤回的回答 409。
    """
    found = _application_or_404(application_id, lock=True)
    order_api._idempotency_key()  # required (documented); as for approving
    if not _refuse_other_decision(found, ShopApplicationStatus.rejected):
        try:
            applications.reject_application(found, data["reason"], g.api_user)
        except ApplicationError as error:
            if error.field is None:
                raise ApiProblem(409, "cannot_reject", str(error)) from None
            raise ApiProblem(422, "validation_failed", str(error), {error.field: str(error)}) from None
    db.session.commit()
    return _application_out(found)


# -- registration --------------------------------------------------------------------------------------------------

views.answer_with_problems(blueprint, order_api.PROBLEMS, tenant=False)


def register(api) -> None:
    """Add the operator API (called from ``views.register``)."""
    api.spec.components.security_scheme("operatorToken", {
        "type": "http", "scheme": "bearer", "description": operator_scheme_description()})
    csrf.exempt(blueprint)  # a bearer token, never a cookie
    api.register_blueprint(blueprint)
