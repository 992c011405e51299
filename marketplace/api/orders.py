"""The orders API: a signed-in resident's cart, checkout and orders; a shop's orders for its merchant.

Residents use the web's signed-in session cookie. Because a browser sends that cookie with any cross-site request,
every resident write also needs the session's CSRF token in an ``X-CSRFToken`` header (flask-wtf's check, the same
token as the web forms'); the app-wide check is switched off for this blueprint only so that the tenant's objects
are looked up first (another tenant's id answers 404 whatever else is wrong) — the token is checked before anything
is written. Merchants use their shop's bearer token (``auth.py``), which no browser sends by itself.

Writes take an ``Idempotency-Key`` header: a retried checkout gives back the same order group, a retried return
request the same request, and a retried order move (a merchant's action, a buyer's cancellation) the same order
without a second history entry — the key is kept on the move's history entry (``OrderEvent.idempotency_key``,
unique per order), so the answer is exact per key. The same key sent for a different move of the same order is
refused (422, ``idempotency_key_reused``): the client reused a key it should not have.

A merchant never names a target status: it asks for one of the actions of ``orders.handling`` (accept, reject…),
the same table the console's buttons come from, so "paid" is reached only by confirming an offline payment and a
pickup order has no way to "shipped".
"""

from __future__ import annotations

from dataclasses import replace

from flask import abort, current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.accounts.addresses import address_of
from marketplace.accounts.models import User
from marketplace.api import auth, paging, views
from marketplace.api import order_schemas as schemas
from marketplace.api.idempotency import IDEMPOTENCY, idempotent, key_problem
from marketplace.api.scopes import (
    personal_scheme_description,
    requires_resident_scope,
    requires_scope,
    resident_scope_of,
)
from marketplace.api.views import ApiBlueprint, problem_response
from marketplace.catalog.models import Product, ProductStatus, Variant
from marketplace.delivery import services as deliveries
from marketplace.extensions import csrf, db
from marketplace.orders import handling, returns
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderGroup, OrderStatus
from marketplace.payments import services as payments
from marketplace.payments.models import Payment
from marketplace.payments.providers import Choice, PaymentStatus, ProviderError, ProviderUnavailable
from marketplace.shops.models import Shop
from marketplace.storefront import cart as web
from marketplace.tenancy.context import current_tenant

resident_blueprint = ApiBlueprint(
    "api_resident", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>",
    description="居民：购物车、结算和我的订单。使用网站登录后的会话 Cookie（写操作须在 X-CSRFToken 请求头中"
                "带上会话的 CSRF 令牌），或居民的个人令牌（Authorization: Bearer occp_…，不需要 CSRF 令牌）。")
shop_orders_blueprint = ApiBlueprint(
    "api_shop_orders", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>/shops/<slug:shop_slug>",
    description="商户订单处理：查看本店订单、接单、备货、交付、完成或取消（Authorization: Bearer <令牌>）。")

SESSION = [{"sessionCookie": []}]
#: Seconds a resident's app waits before paying again when the payment provider could not be reached.
PAYMENT_RETRY_AFTER_S = 30
#: Placement refusals about the chosen delivery: taken by someone else between the quote and the booking.
DELIVERY_TAKEN = frozenset({"slot_full", "quote_used"})

ERRORS = {
    400: "缺少或无效的 Idempotency-Key（code: missing_idempotency_key, invalid_idempotency_key），CSRF 令牌缺失或"
         "无效（code: csrf_failed），或请求体不是有效的 JSON（code: invalid_json）。",
    401: "未登录（code: login_required），或没有有效的令牌（code: token_missing, token_invalid）。",
    403: "令牌不属于此店铺，或其持有人已不是店主或店员（code: token_wrong_shop, token_forbidden），或令牌没有此操作所需的"
         "权限范围（code: insufficient_scope，detail 写明所缺的权限范围）。",
    404: "街区或市场、商品、店铺或订单不存在，或属于另一个街区或市场、另一位买家、另一家店铺"
         "（code: not_found, unknown_variant）。",
    409: "订单已付款或已无需付款（code: already_paid, nothing_to_pay），购物车现在无法结算（code: empty_cart, cart_problems，errors 按 variant.<规格 id> 或 shop.<店铺 slug> "
         "说明；shop.<店铺 slug> 也说明这家店铺现在没有任何配送方式），所选的配送时段刚刚约满或货运报价已被使用"
         "（code: slot_full, quote_used，请重新查询配送方式后再提交），"
         "购物车里有须确认不适用七日无理由退货的商品而 confirm_exclusions 不是 true（code: confirm_exclusions，"
         "errors 按 variant.<规格 id> 说明），订单现在不能做所要求的操作（code: invalid_transition），或订单还没有签收、"
         "退货期限已过（code: not_received, window_closed）。",
    422: "请求未通过校验，errors 逐字段说明（code: validation_failed, bad_quantity；结算时地址不在我的地址簿中为 "
         "address_id，配送方式不在这家店铺现在的报价之列为 delivery.<店铺 slug>）；付款方式不在本街区或市场提供之列"
         "（code: unknown_payment_method）；拒单没有说明原因（code: reason_required）；退货申请不成立（code: nothing_to_return, unknown_line, too_many, excluded, reason_required）；"
         "或这个 Idempotency-Key 已用于这笔订单的另一个操作（code: idempotency_key_reused）。",
    503: "街区或市场已暂停营业（code: unavailable）。",
}


def _errors(blueprint: ApiBlueprint, *statuses: int):
    return views.documented_errors(blueprint, ERRORS, *statuses)


class ApiProblem(Exception):
    """A refusal this module decides itself, answered as problem JSON (nothing written: the session rolls back)."""

    def __init__(self, status: int, code: str, detail: str | None = None, errors: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail or code)
        self.status, self.code, self.detail, self.errors, self.headers = status, code, detail, errors, headers


# -- shared steps ---------------------------------------------------------------------------------------------------

def _idempotency_key() -> str:
    """The request's ``Idempotency-Key``: 1 to 100 printable characters."""
    key = (request.headers.get("Idempotency-Key") or "").strip()
    refused = key_problem(key)
    if refused is not None:
        raise ApiProblem(*refused)
    return key


def _check_csrf() -> None:
    """A resident write over the session cookie must carry the session's CSRF token (X-CSRFToken); raises CSRFError
    otherwise. A personal token needs none: CSRF forges what a browser sends by itself, and it never sends a token."""
    if g.get("personal_token") is None:
        csrf.protect()


def _signed_in():
    """Who the resident is: a personal token (``Authorization: Bearer occp_…``) if the request has one — then the
    token, not any session cookie sent along, is the caller, within the operation's resident scope — else the
    signed-in session. A token's user becomes ``current_user`` for this request only: no session is started or
    changed."""
    if request.method == "OPTIONS":
        return
    presented = auth.bearer_token(request.headers.get("Authorization"))
    if presented is not None:
        token = auth.authenticate_personal(presented)  # 401
        auth.require_resident_scope(token, resident_scope_of(current_app.view_functions.get(request.endpoint)))  # 403
        auth.save_last_use()  # whatever the operation then answers
        auth.act_as(db.session.get(User, token.user_id), personal_token=token)
        return
    if not current_user.is_authenticated:
        raise ApiProblem(401, "login_required", _("请先登录。"))


def _cart_out(cart) -> dict:
    """The cart as the server prices it now, shop by shop, with every problem."""
    tenant = current_tenant._get_current_object()
    if cart is None:
        return {"currency": tenant.currency, "total": 0, "shops": [], "problems": []}
    priced = orders.price_cart(tenant, cart)
    variants = {line.variant_id: line.variant for line in priced.lines}
    quantities = {line.variant_id: line.quantity for line in priced.lines}
    shops = []
    for shop, shop_priced in priced.shops:
        prices = {line.variant_id: line for line in shop_priced.lines}
        lines = []
        for variant_id, variant in variants.items():
            if variant.shop_id != shop.id:
                continue
            price = prices.get(variant_id)
            lines.append({"variant_id": variant_id, "product_id": variant.product_id, "title": variant.product.title,
                          "sku": variant.sku, "options": dict(variant.options or {}), "unit": variant.product.unit,
                          "quantity": quantities[variant_id], "unit_price": price.unit_price if price else None,
                          "total": price.total if price else None, "price_source": price.price_source if price else None})
        shops.append({"shop": shop, "lines": lines, "total": shop_priced.total, "problems": shop_priced.problems})
    return {"currency": tenant.currency, "total": priced.total, "shops": shops, "problems": priced.problems}


def _my_cart(*, create: bool = False):
    return orders.cart_for(current_tenant._get_current_object(), user_id=current_user.id, create=create)


def _group_query():
    return (select(OrderGroup).where(OrderGroup.buyer_id == current_user.id)
            .options(selectinload(OrderGroup.orders).selectinload(Order.lines),
                     selectinload(OrderGroup.orders).selectinload(Order.events),
                     selectinload(OrderGroup.orders).selectinload(Order.shop),
                     selectinload(OrderGroup.orders).selectinload(Order.group)))


#: One order of one of my order groups: the group's number, then the order's.
MY_ORDER = "/orders/<string(maxlength=32):number>/orders/<string(maxlength=32):order_number>"


def _my_group(number: str) -> OrderGroup | None:
    return db.session.scalar(_group_query().where(OrderGroup.number == number))


def _my_order(group_number: str, number: str, *, lock: bool = False) -> Order:
    """One of my orders, by its group's number and its own; anyone else's (or another tenant's) is 404."""
    query = (select(Order).join(OrderGroup).where(Order.buyer_id == current_user.id, OrderGroup.number == group_number,
                                                  Order.number == number)
             .options(selectinload(Order.lines), selectinload(Order.events), selectinload(Order.shop),
                      selectinload(Order.group)))
    if lock:  # a second click, or the merchant acting at the same moment, waits and then sees the new status
        query = query.with_for_update(of=Order)
    order = db.session.scalar(query)
    if order is None:
        abort(404)
    return order


def _replayed(order: Order, key: str, actor_id: int, to: str) -> bool:
    """Whether this request already moved the order (its history holds a move to ``to`` by this actor under this
    Idempotency-Key); the key used for any other move of the order is refused."""
    made = next((event for event in order.events if event.idempotency_key == key), None)
    if made is None:
        return False
    if made.to_status != to or made.actor_id != actor_id:
        raise ApiProblem(422, "idempotency_key_reused",
                         _("这个 Idempotency-Key 已用于这笔订单的另一个操作；新的操作请换一个新的值。"))
    return True


#: The lists' orders, for cursor pagination: newest first.
NEWEST_GROUPS = paging.Ordering("order-groups:newest", (paging.Key(OrderGroup.id),))
NEWEST_ORDERS = paging.Ordering("orders:newest", (paging.Key(Order.id),))
NEWEST_RETURNS = paging.Ordering("returns:newest", (paging.Key(returns.ReturnRequest.id),))


# -- resident: cart -------------------------------------------------------------------------------------------------

@resident_blueprint.route("/cart")
@resident_blueprint.response(200, schemas.CartOut)
@_errors(resident_blueprint, 401, 404, 503)
@requires_resident_scope("purchases:read")
def get_cart():
    """我的购物车

    按店铺分组，单价和金额都由服务器按当前价格（含阶梯价、已接受的报价）重新计算；problems 列出现在不能结算的
    每一条原因（售罄、库存不足、未达起订量、已下架……）。
    """
    return _cart_out(_my_cart())


@resident_blueprint.route(f"/cart/lines/<int(max={views.schemas.INT_MAX}):variant_id>", methods=["PUT"])
@resident_blueprint.arguments(schemas.CartLineIn, description="把这个规格的件数设为 quantity；0 表示移除。")
@resident_blueprint.response(200, schemas.CartOut)
@_errors(resident_blueprint, 400, 401, 404, 422, 503)
@requires_resident_scope("purchases:write")
def put_cart_line(data: dict, variant_id: int):
    """设置购物车里某个规格的件数

    回答整个购物车（与“我的购物车”相同）。别的街区或市场的商品、已下架的商品都回答 404（code: unknown_variant）。
    """
    on_sale = db.session.scalar(select(Variant.id).join(Product).where(Variant.id == variant_id,
                                                                       Product.status == ProductStatus.active))
    cart = _my_cart()
    in_cart = cart is not None and any(line.variant_id == variant_id for line in cart.lines)
    if on_sale is None and not (in_cart and data["quantity"] == 0):
        raise ApiProblem(404, "unknown_variant", _("找不到这件商品。"))
    _check_csrf()
    cart = _my_cart(create=data["quantity"] > 0)
    if cart is not None:
        if on_sale is None:  # withdrawn since it was added: it may still be taken out
            cart.lines[:] = [line for line in cart.lines if line.variant_id != variant_id]
            db.session.flush()
        else:
            orders.set_line(cart, variant_id, data["quantity"])
    db.session.commit()
    return _cart_out(_my_cart())


# -- resident: checkout and orders ----------------------------------------------------------------------------------

@resident_blueprint.route("/checkout", methods=["POST"])
@idempotent
@resident_blueprint.arguments(schemas.CheckoutIn, description="delivery 为各店铺的配送方式（不填的店铺到店自提），"
                                                             "address_id 为送货地址；payment 为付款方式（provider + "
                                                             "method）；confirm_exclusions 为买家对不适用七日无理由退货"
                                                             "商品的确认。")
@resident_blueprint.response(201, schemas.OrderGroupOut, description="下单成功：一个订单组，每家店铺一个订单，"
                                                                     "payment 为发起的付款。")
@resident_blueprint.alt_response(200, schema=schemas.OrderGroupOut,
                                 description="这个 Idempotency-Key 已经下过单：回答同一个订单组，不再下单，也不再发起付款。")
@_errors(resident_blueprint, 400, 401, 404, 409, 422, 503)
@requires_resident_scope("purchases:write")
@resident_blueprint.doc(parameters=[IDEMPOTENCY])
def checkout(data: dict):
    """结算下单

    把购物车按店铺拆成订单，一次付款。价格和库存在下单时重新核对，全部成功或全部不变。
    配送：delivery 按店铺 slug 给出“购物车的配送方式”所列的一种（"provider:code"，如 "local_courier:2024-05-06/18-20"），
    送货上门的方式须同时给出 address_id（我的地址簿中的地址），与查询配送方式时相同；服务器下单时重新报价，所选方式
    已不在报价之列（时段约满、地址不在范围内……）回答 422，errors 中为 delivery.<店铺 slug>。没有写在 delivery 中的
    店铺：到店自提（这家店铺提供时），否则用报价中的第一种方式。自提订单不记录地址；送货的订单把地址和
    third_party_signing（收件人同意由快递柜、驿站或他人代收）记在配送单上。下单的一刻时段刚好约满、货运报价已被
    使用时回答 409（code: slot_full, quote_used），什么也不下单。
    付款方式 payment 须是本街区或市场提供的一种（{"provider": "stripe", "method": "card"}、
    {"provider": "offline", "method": "pay_at_stall"} 等）；不填时用第一种线下付款方式。下单后立即发起付款，回答中的
    payment 说明下一步：线下付款时 instructions 为付款说明；在线付款时 client_secret 和 publishable_key 用于在浏览器中
    以 Stripe.js 完成付款（卡号只交给 Stripe），它们只在这一次回答中给出。支付平台暂时无法连接时订单照样下单，
    payment.status 为 failed、may_retry 为 true，可稍后调用“重新付款”。
    购物车里有拆封后影响健康或品质、激活后贬值、临近保质期或有瑕疵的商品时，须让买家确认这些商品不适用七日无理由
    退货，并带上 confirm_exclusions: true；否则回答 409（code: confirm_exclusions）。
    同一个 Idempotency-Key 重复提交（双击、网络重试）只会下一次单，之后回答 200 和同一个订单组。
    """
    key = _idempotency_key()
    _check_csrf()
    tenant = current_tenant._get_current_object()
    choice = _payment_choice(tenant, data["payment"], default_offline=True)
    existing = orders._group_for_key(current_user.id, key)
    if existing is not None:
        # The same submission again. If the request that placed it died before recording the payment (its worker
        # killed), the payment is recorded and started now: a group is never left without one.
        payment = web.first_payment(existing, choice) if existing.paid_at is None else None
        if payment is not None:
            _start(tenant, existing, payment)
        return _my_group(_existing_number(key)), 200
    cart = _my_cart()
    if cart is None:
        raise ApiProblem(409, "empty_cart", _("购物车是空的。"))
    shop_ids = {line.variant.shop_id for line in cart.lines}
    slugs = dict(db.session.execute(select(Shop.slug, Shop.id).where(Shop.id.in_(shop_ids))).all()) if shop_ids else {}
    unknown = {f"{field}.{slug}": _("购物车里没有这家店铺的商品。")
               for field in ("notes", "delivery") for slug in data[field] if slug not in slugs}
    if unknown:
        raise ApiProblem(422, "validation_failed", errors=unknown)
    notes = {slugs[slug]: text.strip() for slug, text in data["notes"].items()}
    chosen = _chosen_deliveries(tenant, cart, data)
    try:
        group = orders.place_order(tenant, current_user.id, cart, key, payment_provider=choice.provider,
                                   delivery=chosen, notes=notes,
                                   confirmed_exclusions=data["confirm_exclusions"])
    except orders.CheckoutError as error:
        db.session.rollback()
        raise _cart_problem(error) from None
    payment = web.first_payment(group, choice)
    if payment is None:  # the same key, placed a moment ago by a concurrent request
        return _my_group(group.number), 200
    _start(tenant, group, payment)
    return _my_group(group.number), 201


def delivery_address(address_id: int | None, third_party_signing: bool):
    """The resident's address book entry and the address the providers quote for (with the recipient's consent
    to a locker or a neighbour); (None, None) when collecting. Anyone else's entry is a 422 on ``address_id``."""
    if address_id is None:
        return None, None
    entry = address_of(current_user.id, address_id)
    if entry is None:
        raise ApiProblem(422, "validation_failed", errors={"address_id": _("我的地址簿中没有这个地址。")})
    return entry, replace(deliveries.address_value(entry), third_party_signing=third_party_signing)


def _chosen_deliveries(tenant, cart, data: dict) -> dict[int, deliveries.Chosen]:
    """Every shop's delivery, checked against a fresh quote (the one the quote endpoint gives): a shop the body
    leaves out collects at the shop when it offers that, else gets its first option. Pickup keeps no address."""
    entry, address = delivery_address(data["address_id"], data["third_party_signing"])
    quotes = deliveries.quote_cart(tenant, web.cart_view(cart).shops, address, buyer_id=current_user.id)
    chosen, errors, none_offered = {}, {}, {}
    for shop, quote in quotes:
        asked = data["delivery"].get(shop.slug)
        if asked is None:
            option = quote.find("pickup", "shop") or next(iter(quote.options), None)
        else:
            provider, _sep, code = asked.partition(":")
            option = quote.find(provider, code)
        if option is None and asked is not None:
            offered = ", ".join(web.option_value(o) for o in quote.options) or "—"
            errors[f"delivery.{shop.slug}"] = _("这家店铺现在没有这种配送方式；可选：%(offered)s。", offered=offered)
        elif option is None:
            none_offered[f"shop.{shop.slug}"] = "；".join(quote.reasons) or _("这家店铺现在没有可选的配送方式。")
        else:
            delivered = option.provider != "pickup"
            chosen[shop.id] = deliveries.Chosen(option, address if delivered else None,
                                                entry.full_text if delivered and entry is not None else "")
    if errors:
        raise ApiProblem(422, "validation_failed", errors=errors)
    if none_offered:
        raise ApiProblem(409, "cart_problems", _("有店铺现在没有可选的配送方式。"), none_offered)
    return chosen


def _payment_choice(tenant, chosen: dict | None, *, default_offline: bool) -> Choice | None:
    """The way to pay named in the body, if the tenant offers it; with nothing named, the first offline way
    (checkout) or None (a retry: the last attempt's)."""
    choices = payments.payment_choices(tenant)
    if chosen is None:
        if not default_offline:
            return None
        found = next((c for c in choices if c.provider == payments.OFFLINE), None)
        if found is None:
            raise ApiProblem(422, "validation_failed", errors={"payment": _("请选择付款方式。")})
        return found
    found = next((c for c in choices if (c.provider, c.method) == (chosen["provider"], chosen["method"])), None)
    if found is None:
        offered = ", ".join(f"{c.provider}:{c.method}" for c in choices)
        raise ApiProblem(422, "unknown_payment_method", _("本街区或市场不提供这种付款方式。"),
                         {"payment": _("可选的付款方式：%(offered)s。", offered=offered)})
    return found


def _start(tenant, group: OrderGroup, payment) -> bool:
    """Ask the provider to collect; what it answered goes into this response only (``payment_out``). False when
    the provider could not be reached."""
    try:
        action = payments.start_payment(tenant, payment, return_url=web.return_url(group))
    except ProviderUnavailable:
        db.session.rollback()
        return False  # recorded as failed: the answer shows it, with may_retry
    except (ProviderError, payments.PaymentError):
        db.session.rollback()
        return True  # refused (a declined card) or left pending, never asked: the answer shows it
    g.payment_actions = {**g.get("payment_actions", {}), payment.id: action}
    return True


def payment_out(group: OrderGroup) -> dict | None:
    """The group's latest payment for the API; the client secret only in the answer that started it."""
    view = web.payment_view(group)
    payment = view.payment
    if payment is None:
        return None
    out = {"status": payment.status, "status_label": view.status_label, "provider": payment.provider,
           "method": payment.method, "method_label": view.method_label, "amount": payment.amount,
           "currency": payment.currency, "reference": payment.reference, "problem": payment.problem,
           "instructions": view.instructions, "may_retry": view.may_retry}
    action = g.get("payment_actions", {}).get(payment.id)
    if action is not None and action.kind == "client_secret" and action.client_secret:
        out["client_secret"] = action.client_secret
        out["publishable_key"] = current_app.config["MARKETPLACE"].get("STRIPE_PUBLISHABLE_KEY") or ""
    elif action is not None and action.kind == "instructions":
        out["instructions"] = action.instructions
    return out


OLDEST_PAYMENTS = paging.Ordering("payments:oldest", (paging.Key(Payment.id, descending=False),))


def _with_refunds(group: OrderGroup, found: list[Payment]) -> list[Payment]:
    """Each payment's refunds as ``api_refunds``: those naming it (money no order kept), and the orders' refunds
    for the payment that paid the group (the first that succeeded and was not itself given back)."""
    refunds = list(db.session.scalars(select(returns.Refund).join(Order, returns.Refund.order_id == Order.id)
                                      .where(Order.group_id == group.id).options(selectinload(returns.Refund.order))
                                      .order_by(returns.Refund.refunded_at, returns.Refund.id)))
    given_back = {refund.payment_id for refund in refunds if refund.payment_id is not None}
    paid = [Payment.group_id == group.id, Payment.status == PaymentStatus.succeeded]
    if given_back:
        paid.append(Payment.id.not_in(given_back))
    kept = db.session.scalar(select(Payment.id).where(*paid).order_by(Payment.id).limit(1))
    for payment in found:
        payment.api_refunds = [refund for refund in refunds if refund.payment_id == payment.id
                               or (refund.payment_id is None and payment.id == kept)]
    return found


@resident_blueprint.route("/orders/<string(maxlength=32):number>/payments")
@resident_blueprint.arguments(schemas.PageQuery, location="query", as_kwargs=True)
@paging.responds(resident_blueprint, schemas.PaymentPage)
@_errors(resident_blueprint, 401, 404, 422, 503)
@requires_resident_scope("purchases:read")
def list_my_payments(number: str, limit: int, cursor: str | None = None):
    """订单组的付款记录

    这个订单组的每一次付款尝试，最早的在前：付款服务商和方式、状态、金额和币种、发起、付款和退款的时间，以及从这笔
    付款退回的款项。不含任何密钥（client_secret 只在发起付款的那一次回答中给出）。别人的订单、别的街区或市场的订单
    都回答 404。
    """
    group = _my_group(number)
    if group is None:
        abort(404)
    page = paging.keyset_page(select(Payment).where(Payment.group_id == group.id), OLDEST_PAYMENTS, limit=limit,
                              cursor=cursor)
    _with_refunds(group, page["items"])
    return page


@resident_blueprint.route("/orders/<string(maxlength=32):number>/payments", methods=["POST"])
@idempotent
@resident_blueprint.arguments(schemas.RetryPaymentIn, description="这次用的付款方式（可选）。")
@resident_blueprint.response(201, schemas.OrderGroupOut, description="已发起新的付款；payment 说明下一步，与结算时相同。")
@resident_blueprint.alt_response(200, schema=schemas.OrderGroupOut,
                                 description="这个 Idempotency-Key 已经发起过付款：回答订单组，不再发起。")
@_errors(resident_blueprint, 400, 401, 404, 409, 422, 503)
@requires_resident_scope("purchases:write")
@resident_blueprint.doc(parameters=[IDEMPOTENCY])
def retry_my_payment(data: dict, number: str):
    """重新付款

    为还没有付款的订单组发起一次新的付款：上一次付款失败，或支付平台当时无法连接（payment.may_retry 为 true）。
    可在 payment 中换一种付款方式。上一次付款仍在进行中时（包括用同一个 Idempotency-Key 重试本请求）回答 200 和
    订单组，不再发起新的付款。已付款的回答 409（code: already_paid），订单都已取消的回答 409（code: nothing_to_pay）。
    支付平台暂时无法连接时回答 503（code: payment_unavailable）和 Retry-After：这次尝试记为失败，订单仍保留到付款期限。
    """
    group = _my_group(number)
    if group is None:
        abort(404)
    _idempotency_key()  # required (documented); the open attempt, not the key, makes a retry safe
    _check_csrf()
    tenant = current_tenant._get_current_object()
    choice = _payment_choice(tenant, data["payment"], default_offline=False)
    if not web.payment_view(group).may_retry and group.paid_at is None \
            and any(o.status == OrderStatus.pending_payment for o in group.orders):
        # The latest attempt is still open (a retry of this request, or one made a moment ago): it stands.
        return _my_group(number), 200
    payment, code, problem = web.new_attempt(tenant, group, f"{choice.provider}:{choice.method}" if choice else "")
    if payment is None:
        raise ApiProblem(422 if code == "unknown_payment_method" else 409, code, problem)
    if not _start(tenant, group, payment):
        # Nothing new to show but a failed try: the provider is down, the orders are still held. Try later.
        raise ApiProblem(503, "payment_unavailable", _("支付平台暂时无法连接，订单仍为您保留到付款期限，请稍后重新付款。"),
                         headers={"Retry-After": str(PAYMENT_RETRY_AFTER_S)})
    return _my_group(number), 201


def _existing_number(key: str) -> str:
    return db.session.scalar(select(OrderGroup.number).where(OrderGroup.buyer_id == current_user.id,
                                                             OrderGroup.idempotency_key == key))


def _cart_problem(error: orders.CheckoutError) -> ApiProblem:
    codes = {p.code for p in error.problems}
    if codes == {"empty_cart"}:
        return ApiProblem(409, "empty_cart", str(error))
    if len(codes) == 1 and codes <= DELIVERY_TAKEN:
        return ApiProblem(409, codes.pop(), str(error), {"delivery": str(error)})
    if codes == {"confirm_exclusions"}:  # nothing else is wrong: the buyer's tick is all that is missing
        return ApiProblem(409, "confirm_exclusions", str(error),
                          {f"variant.{item.variant_id}": item.message for item in error.problems})
    errors = {}
    for item in error.problems:
        errors.setdefault(f"variant.{item.variant_id}" if item.variant_id else "cart", item.message)
    return ApiProblem(409, "cart_problems", str(error), errors)


@resident_blueprint.route("/orders")
@resident_blueprint.arguments(schemas.MyOrderQuery, location="query", as_kwargs=True)
@paging.responds(resident_blueprint, schemas.OrderGroupPage)
@_errors(resident_blueprint, 401, 404, 422, 503)
@requires_resident_scope("purchases:read")
def list_my_orders(limit: int, cursor: str | None = None, since=None, until=None):
    """我的订单

    我在这个街区或市场下的订单组，最新的在前，可按下单时间筛选（since、until）；每组含各店铺的订单、商品和状态
    记录。
    """
    query = paging.within(_group_query(), OrderGroup.created_at, since, until)
    return paging.keyset_page(query, NEWEST_GROUPS, limit=limit, cursor=cursor, total=True)


@resident_blueprint.route("/orders/<string(maxlength=32):number>")
@resident_blueprint.response(200, schemas.OrderGroupOut)
@_errors(resident_blueprint, 401, 404, 503)
@requires_resident_scope("purchases:read")
def get_my_order(number: str):
    """一个订单组

    按订单组编号（下单时回答的 number）。别人的订单、别的街区或市场的订单都回答 404。
    """
    group = _my_group(number)
    if group is None:
        abort(404)
    return group


@resident_blueprint.route(f"{MY_ORDER}/cancel", methods=["POST"])
@idempotent
@resident_blueprint.arguments(schemas.CancelIn, description="取消的原因（可选）。")
@resident_blueprint.response(200, schemas.OrderOut, description="订单已取消（或这个 Idempotency-Key 已取消过它）。")
@_errors(resident_blueprint, 400, 401, 404, 409, 422, 503)
@requires_resident_scope("purchases:write")
@resident_blueprint.doc(parameters=[IDEMPOTENCY])
def cancel_my_order(data: dict, number: str, order_number: str):
    """取消我的订单

    number 为订单组编号，order_number 为组里某一家店铺的订单编号。商品离店前（到店自取：取货前）可以取消，库存退回，
    已付款的全额退款；之后回答 409（code: invalid_transition），请改为申请退货。
    用同一个 Idempotency-Key 重试时回答 200 和同一个订单，不会再记一次。
    """
    order = _my_order(number, order_number, lock=True)
    key = _idempotency_key()
    _check_csrf()
    if _replayed(order, key, current_user.id, OrderStatus.cancelled):
        return order
    try:
        orders.cancel_by_buyer(order, buyer_id=current_user.id, reason=data["reason"], key=key)
    except orders.InvalidTransition as error:
        raise ApiProblem(409, "invalid_transition", str(error)) from None
    db.session.commit()
    db.session.expire(order, ["events"])
    return order


@resident_blueprint.route(f"{MY_ORDER}/returns", methods=["POST"])
@idempotent
@resident_blueprint.arguments(schemas.ReturnIn, description="要退的商品和件数，退货类型和原因。")
@resident_blueprint.response(201, schemas.ReturnOut, description="退货申请已提交，等待商家处理。")
@resident_blueprint.alt_response(200, schema=schemas.ReturnOut,
                                 description="这个 Idempotency-Key 已经提交过：回答同一个退货申请，不再新建。")
@_errors(resident_blueprint, 400, 401, 404, 409, 422, 503)
@requires_resident_scope("purchases:write")
@resident_blueprint.doc(parameters=[IDEMPOTENCY])
def request_my_return(data: dict, number: str, order_number: str):
    """申请退货

    签收或取货次日起七日内，可以为订单里的商品申请七日无理由退货（no_reason: true），或因质量问题退货
    （no_reason: false，须说明原因）。还没有签收、期限已过回答 409（code: not_received, window_closed）；
    商品不在订单里、件数超过还能退的数量、商品不适用七日无理由退货等回答 422（code: unknown_line, too_many,
    excluded……）。同一个 Idempotency-Key 再次提交时回答 200 和第一次建立的申请（不看请求体）。
    """
    order = _my_order(number, order_number)
    key = _idempotency_key()
    _check_csrf()
    made = db.session.scalar(select(returns.ReturnRequest).where(returns.ReturnRequest.order_id == order.id,
                                                                 returns.ReturnRequest.idempotency_key == key))
    if made is not None:
        return made, 200
    try:
        made = returns.request_return(current_tenant._get_current_object(), order, data["lines"],
                                      buyer_id=current_user.id, reason=data["reason"].strip(),
                                      no_reason=data["no_reason"], key=key)
    except returns.ReturnError as error:
        raise _return_problem(error) from None
    db.session.commit()
    return made, 201


#: Refusals about where the order is (not yet received, too late): the request itself was fine.
RETURN_CONFLICTS = frozenset({"not_received", "window_closed"})


def _return_problem(error: returns.ReturnError) -> ApiProblem:
    if error.code in RETURN_CONFLICTS:
        return ApiProblem(409, error.code, str(error))
    return ApiProblem(422, error.code, str(error), {"reason" if error.code == "reason_required" else "lines": str(error)})


def return_query():
    """Return requests with what ``ReturnOut`` shows loaded up front."""
    return (select(returns.ReturnRequest)
            .options(selectinload(returns.ReturnRequest.lines).selectinload(returns.ReturnLine.order_line),
                     selectinload(returns.ReturnRequest.refunds),
                     selectinload(returns.ReturnRequest.order).selectinload(Order.group),
                     selectinload(returns.ReturnRequest.order).selectinload(Order.shop)))


@resident_blueprint.route("/returns")
@resident_blueprint.arguments(schemas.ReturnQuery, location="query", as_kwargs=True)
@paging.responds(resident_blueprint, schemas.ReturnPage)
@_errors(resident_blueprint, 401, 404, 422, 503)
@requires_resident_scope("purchases:read")
def list_my_returns(limit: int, cursor: str | None = None, status: str | None = None, since=None, until=None):
    """我的退货申请

    我在这个街区或市场提出的退货申请，最新的在前，可按状态（status）和申请时间（since、until）筛选：状态、金额、
    所退商品、退货地址和已退的款。
    """
    query = return_query().where(returns.ReturnRequest.buyer_id == current_user.id)
    if status:
        query = query.where(returns.ReturnRequest.status == status)
    query = paging.within(query, returns.ReturnRequest.requested_at, since, until)
    return paging.keyset_page(query, NEWEST_RETURNS, limit=limit, cursor=cursor, total=True)


# -- merchant -------------------------------------------------------------------------------------------------------

shop_orders_blueprint.url_value_preprocessor(views._take_shop_slug)


def _shop_orders():
    return (select(Order).where(Order.shop_id == g.api_shop.id)
            .options(selectinload(Order.lines), selectinload(Order.events), selectinload(Order.shop),
                     selectinload(Order.group)))


@shop_orders_blueprint.route("/orders")
@shop_orders_blueprint.arguments(schemas.OrderQuery, location="query", as_kwargs=True)
@paging.responds(shop_orders_blueprint, schemas.MerchantOrderPage)
@_errors(shop_orders_blueprint, 401, 403, 404, 503)
@requires_scope("orders:read")
def list_shop_orders(limit: int, cursor: str | None = None, status: str | None = None, since=None, until=None):
    """本店订单

    最新的在前，可按状态（status=paid 等）和下单时间（since、until）筛选。每个订单的 actions 列出现在可以做的
    操作。同步新订单：记下已处理的最新下单时间，下次用 since 从那里取。
    """
    query = _shop_orders()
    if status:
        query = query.where(Order.status == status)
    query = paging.within(query, Order.created_at, since, until)
    return paging.keyset_page(query, NEWEST_ORDERS, limit=limit, cursor=cursor, total=True)


@shop_orders_blueprint.route("/orders/<string(maxlength=32):number>/transitions", methods=["POST"])
@idempotent
@shop_orders_blueprint.arguments(schemas.TransitionIn, description="要做的操作和说明。")
@shop_orders_blueprint.response(200, schemas.MerchantOrderOut)
@_errors(shop_orders_blueprint, 400, 401, 403, 404, 409, 422, 503)
@requires_scope("orders:write")
@shop_orders_blueprint.doc(parameters=[IDEMPOTENCY])
def transition_order(data: dict, number: str):
    """处理订单

    与商户后台订单页的按钮相同的操作：确认已收到线下付款（confirm_payment，只用于到店付款的订单；整组订单都确认后
    订单组记为已付款）、接单（accept）、备货完成（prepared）、买家已取货（picked_up）、完成（complete）、拒单
    （reject，须在 reason 中说明原因，买家能看到；库存退回，已付款的全额退款）。订单的 actions 列出现在可以做的
    操作；现在不能做的回答 409（code: invalid_transition）。
    用同一个 Idempotency-Key 重试时回答 200 和订单，不会再做一次；同一个值用于这笔订单的另一个操作回答 422
    （code: idempotency_key_reused）。
    """
    order = db.session.scalar(_shop_orders().where(Order.number == number).with_for_update(of=Order))
    if order is None:
        abort(404)
    key = _idempotency_key()
    action, reason = handling.ACTIONS[data["action"]], data["reason"].strip()
    if _replayed(order, key, g.api_user.id, action.to):
        return order  # a retry of the move already made: same answer, no second entry
    refused = handling.refusal(action, order, reason, data["code"])
    if refused is not None:
        code, message = refused
        fields = {"reason_required": "reason", "wrong_code": "code"}
        status, errors = (422, {fields[code]: message}) if code in fields else (409, None)
        raise ApiProblem(status, code, message, errors)
    try:
        handling.perform(order, action, actor_id=g.api_user.id, reason=reason, key=key, code=data["code"])
    except orders.InvalidTransition as error:
        raise ApiProblem(409, "invalid_transition", str(error)) from None
    db.session.commit()
    db.session.expire(order, ["events"])
    return order


# -- errors and registration ----------------------------------------------------------------------------------------

def _on_problem(exc: ApiProblem):
    db.session.rollback()
    headers = {"WWW-Authenticate": 'Cookie realm="api"'} if exc.status == 401 else exc.headers
    return problem_response(exc.status, exc.code, detail=exc.detail, errors=exc.errors, headers=headers)


def _on_cart_error(exc: orders.CartError):
    db.session.rollback()
    if exc.code == "unknown_variant":
        return problem_response(404, exc.code, detail=str(exc))
    return problem_response(422, exc.code, detail=str(exc), errors={"quantity": str(exc)})


def _on_csrf(exc: CSRFError):
    db.session.rollback()
    return problem_response(400, "csrf_failed", detail=_("请在请求头 X-CSRFToken 中带上当前会话的 CSRF 令牌。"))


#: What the resident and shop APIs built on this module answer as problem JSON, besides every API's own.
PROBLEMS = {ApiProblem: _on_problem, CSRFError: _on_csrf}
for _blueprint in (resident_blueprint, shop_orders_blueprint):
    views.answer_with_problems(_blueprint, {**PROBLEMS, orders.CartError: _on_cart_error})
resident_blueprint.before_request(_signed_in)
shop_orders_blueprint.before_request(views._authenticate)


def register(api) -> None:
    """Add these blueprints to the API (called from ``views.register``)."""
    api.spec.components.security_scheme("sessionCookie", {
        "type": "apiKey", "in": "cookie", "name": "session",
        "description": "The web's signed-in session; writes also need the X-CSRFToken header."})
    api.spec.components.security_scheme("personalToken", {
        "type": "http", "scheme": "bearer", "description": personal_scheme_description()})
    for blueprint in (resident_blueprint, shop_orders_blueprint):
        # Checked per view instead (resident writes: csrf.protect() after the 404 lookups, before any write;
        # merchant writes: bearer tokens only, which a browser never sends on its own).
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
