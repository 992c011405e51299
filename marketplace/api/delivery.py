"""The delivery API: a resident's delivery options for the cart, a shipment for its buyer and its shop, tracking
events from the shop or its carrier, and public tracking by the shipment's secret token.

Quoting is a GET: it reads the cart and asks the providers, and writes nothing — like the cart itself, so no CSRF
header is needed and a client may ask again whenever the address changes.

Tracking events and handing a parcel to a carrier are merchant writes with the shop's bearer token (tokens carry
the whole shop's rights; there are no narrower scopes). A carrier's webhook uses the same endpoint: the merchant
issues a token for the carrier's integration (``flask api issue-token``) and the carrier posts each step. Only the
steps of the shipment's provider may be posted (``providers.steps_by_hand``, as in the console): a pickup is marked
ready but collected only with the buyer's code at a counter, an express or freight parcel moves only after
``/ship``. Every step goes through the delivery services, so the state machine refuses a step backwards or a
second delivery. Both refusals are 409 ``invalid_transition`` (the status is one the API knows, only not for this
shipment now; a status it does not know is a 422 field error), whoever sends it.

The writes take an ``Idempotency-Key`` like the orders API. A shipment's timeline has no column for the key, so a
retry is recognised by what it asks: the same step by the same token's user, with the same time, place and note,
as the latest entry of the timeline, is answered 200 with the shipment and not recorded twice (and a parcel
already handed over under the same carrier and number likewise). Where the step moves the order too, the key is
kept on the order's history entry.
"""

from __future__ import annotations

from flask import abort, g
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.api import delivery_schemas as schemas
from marketplace.api import orders as order_api
from marketplace.api import views
from marketplace.api.idempotency import idempotent
from marketplace.api.orders import IDEMPOTENCY, ApiProblem
from marketplace.api.scopes import requires_resident_scope, requires_scope
from marketplace.api.views import ApiBlueprint, problem_response
from marketplace.delivery import express
from marketplace.delivery import services as delivery
from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import (
    HANDED_TO_CARRIER,
    OTHER_STEPS,
    STEPS_BY_HAND,
    DeliveryError,
    ShipmentStatus,
    steps_by_hand,
)
from marketplace.extensions import csrf, db
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.storefront import cart as web
from marketplace.tenancy.context import current_tenant

resident_delivery_blueprint = ApiBlueprint(
    "api_resident_delivery", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>",
    description="居民：购物车各店铺的配送方式与运费，我的订单的配送进度。使用网站登录后的会话 Cookie，或居民的"
                "个人令牌（Authorization: Bearer occp_…）。")
shop_delivery_blueprint = ApiBlueprint(
    "api_shop_delivery", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>/shops/<slug:shop_slug>",
    description="商户配送：查看本店订单的配送单，交给快递公司，记录配送进度（Authorization: Bearer <令牌>）。"
                "快递公司的推送（webhook）用商户为它签发的令牌调用同一个接口。")
tracking_blueprint = ApiBlueprint(
    "api_tracking", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>",
    description="公开的配送跟踪：凭配送单的跟踪令牌查看进度（无需认证，收件人信息已隐去）。")

#: Refusals about where the shipment is now; the request itself was well formed.
CONFLICTS = frozenset({"invalid_transition", "order_not_ready", "moved_meanwhile", "wrong_provider", "too_late"})
#: Refusals about one field of the request.
FIELD_OF = {"unknown_carrier": "carrier", "bad_tracking_number": "tracking_number", "bad_time": "at",
            "no_consent": "note"}

ERRORS = {
    400: "缺少或无效的 Idempotency-Key（code: missing_idempotency_key, invalid_idempotency_key），或请求体不是有效的 "
         "JSON（code: invalid_json）。",
    401: "未登录（code: login_required），或没有有效的令牌（code: token_missing, token_invalid）。",
    403: "令牌不属于此店铺，或其持有人已不是店主或店员（code: token_wrong_shop, token_forbidden），或令牌没有此操作所需的"
         "权限范围（code: insufficient_scope，detail 写明所缺的权限范围）。",
    404: "街区或市场、订单、配送单或跟踪令牌不存在，或属于另一个街区或市场、另一位买家、另一家店铺（code: not_found）。",
    409: "配送单现在不能这样改：状态只能向前，且只能是这种配送方式的步骤（code: invalid_transition），订单还没有接单（code: order_not_ready），"
         "刚被别人改过（code: moved_meanwhile），或不是快递或货运配送单（code: wrong_provider）。",
    422: "请求未通过校验，errors 逐字段说明（code: validation_failed）；地址不在我的地址簿中；快递公司或单号不对"
         "（code: unknown_carrier, bad_tracking_number）；或收件人没有同意代收（code: no_consent）。",
    503: "街区或市场已暂停营业（code: unavailable）。",
}


def _errors(blueprint: ApiBlueprint, *statuses: int):
    return views.documented_errors(blueprint, ERRORS, *statuses)


def _shipment_query():
    return select(Shipment).options(selectinload(Shipment.events), selectinload(Shipment.order).selectinload(Order.shop))


def _shipment_of(order: Order, *, lock: bool = False) -> Shipment:
    query = _shipment_query().where(Shipment.order_id == order.id)
    if lock:  # the shop's click and the carrier's report wait for each other; the second sees the first's step
        query = query.with_for_update(of=Shipment)
    shipment = db.session.scalar(query)
    if shipment is None:  # an order placed before shipments existed
        raise ApiProblem(404, "not_found", _("这笔订单没有配送单。"))
    return shipment


def _fresh(shipment: Shipment) -> Shipment:
    """The shipment as committed, with its whole timeline (the services appended to it behind the ORM's back)."""
    db.session.expire(shipment)
    return db.session.scalar(_shipment_query().where(Shipment.id == shipment.id))


# -- resident -------------------------------------------------------------------------------------------------------

@resident_delivery_blueprint.route("/cart/delivery-options")
@resident_delivery_blueprint.arguments(schemas.QuoteQuery, location="query")
@resident_delivery_blueprint.response(200, schemas.DeliveryQuoteOut)
@_errors(resident_delivery_blueprint, 401, 404, 422, 503)
@requires_resident_scope("purchases:read")
def quote_cart(args: dict):
    """购物车的配送方式

    按店铺列出购物车里每家店铺现在提供的配送方式：自提点、同城配送的时段、快递、货运，各有运费（分）、最早和最晚
    时间和注意事项；约满的时段不列出。给出 address_id（我的地址簿中的地址）时才有送货上门的方式；某种方式无法
    配送时，reasons 说明原因。只读，不占用时段。
    """
    tenant = current_tenant._get_current_object()
    address, value = order_api.delivery_address(args.get("address_id"), args["third_party_signing"])
    quotes = delivery.quote_cart(tenant, web.cart_view(order_api._my_cart()).shops, value, buyer_id=current_user.id)
    shops = [{"shop": shop, "options": quote.options, "reasons": quote.reasons} for shop, quote in quotes]
    return {"currency": tenant.currency, "address_id": address.id if address is not None else None, "shops": shops}


@resident_delivery_blueprint.route(f"{order_api.MY_ORDER}/shipment")
@resident_delivery_blueprint.response(200, schemas.BuyerShipmentOut)
@_errors(resident_delivery_blueprint, 401, 404, 503)
@requires_resident_scope("purchases:read")
def get_my_shipment(number: str, order_number: str):
    """我的订单的配送

    number 为订单组编号，order_number 为组里某一家店铺的订单编号。配送方式、运费、承诺送达时间、快递公司和单号、
    每一步的时间线；tracking_token 和 tracking_url 用于分享公开的跟踪页；自提订单有取货码 pickup_code。
    """
    return _shipment_of(order_api._my_order(number, order_number))


# -- merchant -------------------------------------------------------------------------------------------------------

shop_delivery_blueprint.url_value_preprocessor(views._take_shop_slug)


def _shop_order(number: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.shop_id == g.api_shop.id, Order.number == number))
    if order is None:
        abort(404)
    return order


@shop_delivery_blueprint.route("/orders/<string(maxlength=32):number>/shipment")
@shop_delivery_blueprint.response(200, schemas.ShipmentOut)
@_errors(shop_delivery_blueprint, 401, 403, 404, 503)
@requires_scope("orders:read")
def get_shop_shipment(number: str):
    """本店订单的配送单

    配送方式、运费、承诺时间、收件地址（送货上门时；不含身份证号）、快递公司和单号，以及时间线。
    """
    shipment = _shipment_of(_shop_order(number))
    return shipment


def _must_be_a_step_by_hand(shipment: Shipment, status: str) -> None:
    """Refuse a step that is not one of the shipment's provider's by hand (the console offers the same ones).
    A step of its path, only not from where it is now, is left to the state machine (``advance``) to refuse."""
    if status in steps_by_hand(shipment.provider, shipment.status):
        return
    if shipment.provider in HANDED_TO_CARRIER and shipment.status == ShipmentStatus.created:
        raise DeliveryError(_("请先发货（填写快递单号）。"), "invalid_transition")
    if status == ShipmentStatus.collected and shipment.provider == "pickup":
        raise DeliveryError(_("自提订单只能在柜台核销买家的取货码后交付。"), "invalid_transition")
    if status not in STEPS_BY_HAND.get(shipment.provider, OTHER_STEPS):
        raise DeliveryError(_("%(provider)s的配送单不能记为“%(status)s”。", provider=delivery.provider_label(
            shipment.provider), status=ShipmentStatus(status).label), "invalid_transition")


def _same_step(shipment: Shipment, data: dict) -> bool:
    """Whether the latest entry of the timeline is this very step by this very sender (a retried request)."""
    if not shipment.events:
        return False
    last = shipment.events[-1]
    return (last.to_status == data["status"] and last.actor_id == g.api_user.id
            and last.location == data["location"][:200] and last.note == data["note"][:1000]
            and (data["at"] is None or last.at == data["at"]))


@shop_delivery_blueprint.route("/orders/<string(maxlength=32):number>/shipment/events", methods=["POST"])
@idempotent
@shop_delivery_blueprint.arguments(schemas.TrackingEventIn, description="新的状态，以及可选的时间、地点和说明。")
@shop_delivery_blueprint.response(200, schemas.ShipmentOut, description="已记录（或这个请求已记录过）：配送单和时间线。")
@_errors(shop_delivery_blueprint, 400, 401, 403, 404, 409, 422, 503)
@requires_scope("shipments:write")
@shop_delivery_blueprint.doc(parameters=[IDEMPOTENCY])
def record_tracking_event(data: dict, number: str):
    """记录配送进度

    商户或快递公司报告配送单的一步，只能是这种配送方式的步骤：快递和货运在交给快递公司（ship）之后报告运输中、
    派送中、已签收、异常、退回；同城配送报告派送中、已签收、异常、退回；自提订单只报告待取货（已取货须在柜台
    核销买家的取货码）。快递公司的推送（webhook）也调用这个接口，用商户为它签发的令牌（flask api issue-token）。
    状态只能向前，退回上一步、重复签收或不属于这种配送方式的步骤回答 409（code: invalid_transition）；订单还没有接单回答 409（code: order_not_ready）；快递
    放入快递柜、驿站或由他人代收须收件人事先同意，否则回答 422（code: no_consent）。订单随之改变（已发货、已送达、
    待取货、已取货）。用同一个 Idempotency-Key 重试时回答 200 和配送单，不会再记一次。
    """
    shipment = _shipment_of(_shop_order(number), lock=True)
    key = order_api._idempotency_key()
    if _same_step(shipment, data):
        return shipment
    _must_be_a_step_by_hand(shipment, data["status"])
    step = {"at": data["at"], "location": data["location"], "note": data["note"], "actor_id": g.api_user.id}
    if shipment.provider in HANDED_TO_CARRIER:
        express.record_event(shipment, data["status"], **step)
    else:
        delivery.advance(shipment, data["status"], key=key, **step)
    db.session.commit()
    return _fresh(shipment)


@shop_delivery_blueprint.route("/orders/<string(maxlength=32):number>/shipment/ship", methods=["POST"])
@idempotent
@shop_delivery_blueprint.arguments(schemas.ShipIn, description="快递公司和快递单号。")
@shop_delivery_blueprint.response(200, schemas.ShipmentOut, description="已交给快递公司（或这个请求已记录过）。")
@_errors(shop_delivery_blueprint, 400, 401, 403, 404, 409, 422, 503)
@requires_scope("shipments:write")
@shop_delivery_blueprint.doc(parameters=[IDEMPOTENCY])
def ship(data: dict, number: str):
    """交给快递公司

    快递或货运订单接单后，商户把包裹交给快递公司，填写快递公司和单号；配送单变为已揽收，订单变为已发货，买家能
    看到单号。不是快递或货运的配送单回答 409（code: wrong_provider）；已经发出的回答 409（code: invalid_transition）。
    用同一个 Idempotency-Key 重试时回答 200 和配送单。
    """
    shipment = _shipment_of(_shop_order(number), lock=True)
    order_api._idempotency_key()  # required (documented); the carrier and number already kept make a retry safe
    if shipment.provider not in HANDED_TO_CARRIER:
        raise ApiProblem(409, "wrong_provider", _("这张配送单不经快递公司承运。"))
    carrier, tracking_number = data["carrier"].strip(), data["tracking_number"].strip()
    if shipment.tracking_number and (shipment.carrier, shipment.tracking_number) == (carrier, tracking_number):
        return shipment
    express.ship(shipment, carrier, tracking_number, actor_id=g.api_user.id)
    db.session.commit()
    return _fresh(shipment)


# -- public ---------------------------------------------------------------------------------------------------------

@tracking_blueprint.route("/tracking/<string(maxlength=64):token>")
@tracking_blueprint.response(200, schemas.PublicTrackingOut)
@_errors(tracking_blueprint, 404, 503)
def track(token: str):
    """配送跟踪

    凭配送单的跟踪令牌（买家可以分享给收件人）查看配送进度，无需登录。收件人姓名和手机号只显示部分，不显示
    收件地址。令牌不对或属于另一个街区或市场时回答 404。
    """
    shipment = db.session.scalar(_shipment_query().where(Shipment.tracking_token == token))
    if shipment is None:
        abort(404)
    return shipment


# -- errors and registration ----------------------------------------------------------------------------------------

def _on_delivery_error(exc: DeliveryError):
    db.session.rollback()
    if exc.code in CONFLICTS:
        return problem_response(409, exc.code, detail=str(exc))
    field = FIELD_OF.get(exc.code)
    return problem_response(422, exc.code, detail=str(exc), errors={field: str(exc)} if field else None)


def _on_order_conflict(exc: orders.InvalidTransition):
    db.session.rollback()
    return problem_response(409, "invalid_transition", detail=str(exc))


BLUEPRINTS = (resident_delivery_blueprint, shop_delivery_blueprint, tracking_blueprint)
for _blueprint in BLUEPRINTS:
    views.answer_with_problems(_blueprint, {**order_api.PROBLEMS, DeliveryError: _on_delivery_error,
                                            orders.InvalidTransition: _on_order_conflict})
resident_delivery_blueprint.before_request(order_api._signed_in)
shop_delivery_blueprint.before_request(views._authenticate)


def register(api) -> None:
    """Add these blueprints to the API (called from ``views.register``, after the orders API)."""
    for blueprint in BLUEPRINTS:
        # Nothing here is written on a cookie's say-so: resident operations only read, merchant writes need a
        # bearer token, which a browser never sends by itself.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
