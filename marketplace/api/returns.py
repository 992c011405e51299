"""The merchant's returns API: a shop's return requests, and the merchant's decisions on them (bearer token).

The same decisions as the buttons of the console's return page (``console/returns.py``), through the same
services (``orders.returns``): approve with a return address, reject with a reason, mark the goods received,
refund. A decision is asked for by name, never by target status, and only from the status the service allows it
(anything else: 409 ``invalid_transition``).

Decisions take an ``Idempotency-Key`` (stored answers, ``api.idempotency``). A return request keeps no key of its
own, so the second line of recognition is what the request asks: the decision already made, by the same person —
or for a refund, the refund already paid — is answered 200 with the request and nothing is done twice.
"""

from __future__ import annotations

from flask import abort, g

from marketplace.api import orders as order_api
from marketplace.api import paging, views
from marketplace.api import return_schemas as schemas
from marketplace.api.idempotency import IDEMPOTENCY, idempotent
from marketplace.api.orders import ApiProblem
from marketplace.api.scopes import requires_scope
from marketplace.api.views import ApiBlueprint
from marketplace.extensions import csrf, db
from marketplace.orders import returns
from marketplace.orders.returns import ReturnRequest, ReturnStatus
from marketplace.tenancy.context import current_tenant

shop_returns_blueprint = ApiBlueprint(
    "api_shop_returns", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>/shops/<slug:shop_slug>",
    description="商户退货处理：查看本店的退货申请，同意（给出退货地址）、拒绝（说明理由）、确认收到退货、退款"
                "（Authorization: Bearer <令牌>）。")

ERRORS = {
    **order_api.ERRORS,
    404: "街区或市场、店铺或退货申请不存在，或属于另一个街区或市场、另一家店铺（code: not_found）。",
    409: "退货申请现在的状态不允许这一步（code: invalid_transition），或订单现在不能退款（code: not_refundable, "
         "full_refund_only, too_much）。",
    422: "请求未通过校验，errors 逐字段说明（code: validation_failed）；拒绝没有说明理由（code: reason_required，"
         "errors 中为 reason）。",
}
#: Refusals of ``orders.returns`` about a field of the request; every other one is about where the return is.
FIELD_CODES = {"reason_required": "reason", "address_required": "return_address"}
#: The status each decision leads to, and whether a retry must be by the same person (decisions are signed).
LEADS_TO = {"approve": ReturnStatus.approved, "reject": ReturnStatus.rejected, "receive": ReturnStatus.received,
            "refund": ReturnStatus.refunded}

NEWEST = paging.Ordering("shop-returns:newest", (paging.Key(ReturnRequest.id),))


def _errors(*statuses: int):
    return views.documented_errors(shop_returns_blueprint, ERRORS, *statuses)


shop_returns_blueprint.url_value_preprocessor(views._take_shop_slug)


def _own_return(return_id: int, *, lock: bool = False) -> ReturnRequest:
    query = order_api.return_query().where(ReturnRequest.id == return_id, ReturnRequest.shop_id == g.api_shop.id)
    if lock:  # the console's button at the same moment waits, then sees the new status
        query = query.with_for_update(of=ReturnRequest)
    found = db.session.scalar(query)
    if found is None:
        abort(404)
    return found


@shop_returns_blueprint.route("/returns")
@shop_returns_blueprint.arguments(schemas.ReturnQuery, location="query", as_kwargs=True)
@paging.responds(shop_returns_blueprint, schemas.MerchantReturnPage)
@_errors(401, 403, 404, 503)
@requires_scope("orders:read")
def list_shop_returns(limit: int, cursor: str | None = None, status: str | None = None, since=None, until=None):
    """本店的退货申请

    最新的在前，可按状态（status=requested 为待处理）和申请时间（since、until）筛选。respond_by 为答复期限，逾期
    平台按店铺地址自动同意；actions 列出现在可以做的决定。
    """
    query = order_api.return_query().where(ReturnRequest.shop_id == g.api_shop.id)
    if status:
        query = query.where(ReturnRequest.status == status)
    query = paging.within(query, ReturnRequest.requested_at, since, until)
    return paging.keyset_page(query, NEWEST, limit=limit, cursor=cursor, total=True)


@shop_returns_blueprint.route(f"/returns/<int(max={views.schemas.INT_MAX}):return_id>")
@shop_returns_blueprint.response(200, schemas.MerchantReturnOut)
@_errors(401, 403, 404, 503)
@requires_scope("orders:read")
def get_shop_return(return_id: int):
    """一个退货申请

    按退货申请的 id。别的店铺、别的街区或市场的申请回答 404。
    """
    found = _own_return(return_id)
    return found


def _already(found: ReturnRequest, action: str) -> bool:
    """Whether this decision is the one already made (a retry): same result, and for a signed decision, same
    person."""
    if action == "receive":
        return found.received_at is not None and found.status in (ReturnStatus.received, ReturnStatus.refunded)
    if action == "refund":
        return found.status == ReturnStatus.refunded
    return found.status == LEADS_TO[action] and found.decided_by == g.api_user.id


@shop_returns_blueprint.route(f"/returns/<int(max={views.schemas.INT_MAX}):return_id>/decisions",
                              methods=["POST"])
@idempotent
@shop_returns_blueprint.arguments(schemas.ReturnDecisionIn, description="决定和说明。")
@shop_returns_blueprint.response(200, schemas.MerchantReturnOut,
                                 description="已处理（或这个决定已经做过：回答退货申请，不再做一次）。")
@_errors(400, 401, 403, 404, 409, 422, 503)
@requires_scope("orders:write")
@shop_returns_blueprint.doc(parameters=[IDEMPOTENCY])
def decide_return(data: dict, return_id: int):
    """处理退货申请

    与商户后台退货页的按钮相同：approve（同意，return_address 为退货地址、联系人和电话，不填时用店铺在街区或市场里的
    地址）、reject（拒绝，须在 reason 中说明理由，买家能看到，可向平台投诉）、receive（确认收到退货，之后七日内
    须退款）、refund（退款：退回所退商品的金额，可在收到退货前退）。actions 列出现在可以做的决定；现在不能做的回答
    409（code: invalid_transition）。用同一个 Idempotency-Key 重试、或再次提出已经做过的决定时回答 200 和退货申请，
    不会再做一次。
    """
    found = _own_return(return_id, lock=True)
    order_api._idempotency_key()
    action = data["action"]
    if _already(found, action):
        return found
    try:
        if action == "approve":
            address = data["return_address"].strip() or returns.default_return_address(
                current_tenant._get_current_object(), found)
            returns.approve(found, actor_id=g.api_user.id, return_address=address)
        elif action == "reject":
            returns.reject(found, actor_id=g.api_user.id, reason=data["reason"])
        elif action == "receive":
            returns.mark_received(found, actor_id=g.api_user.id)
        else:
            returns.refund_return(found, actor_id=g.api_user.id)
    except returns.ReturnError as error:
        if error.code in FIELD_CODES:
            raise ApiProblem(422, error.code, str(error), {FIELD_CODES[error.code]: str(error)}) from None
        raise ApiProblem(409, "invalid_transition" if error.code == "bad_status" else error.code, str(error)) from None
    db.session.commit()
    return _own_return(return_id)


views.answer_with_problems(shop_returns_blueprint, order_api.PROBLEMS)
shop_returns_blueprint.before_request(views._authenticate)


def register(api) -> None:
    """Add this blueprint to the API (called from ``views.register``, after the orders API)."""
    csrf.exempt(shop_returns_blueprint)  # bearer tokens only, which a browser never sends by itself
    api.register_blueprint(shop_returns_blueprint)

