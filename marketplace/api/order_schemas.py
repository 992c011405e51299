"""What the orders API reads and writes: the resident's cart, checkout and orders, and a shop's orders.

Money is an integer count of fen, always computed on the server: a request naming a price, a total or a tenant is
refused as an unknown field. Quantities are JSON integers (no floats, strings or booleans).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from marketplace.api import paging
from marketplace.api.schemas import INT_MAX, Computed, Slug, Text, _length, _range, _string
from marketplace.orders import returns
from marketplace.orders.handling import ACTIONS, actions_for
from marketplace.orders.models import OrderStatus
from marketplace.orders.services import MAX_QUANTITY
from marketplace.payments.providers import PaymentStatus

NOTE_MAX = 500
#: "provider:code" of a delivery option (a slot's code carries its date; a freight quote's, its id).
OPTION_MAX = 100


class Quantity(fields.Integer):
    """A whole number of units, 0 (remove the line) to MAX_QUANTITY; ``true`` is not a number."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=0, max=MAX_QUANTITY,
                                                               error=_l("应在 {min} 到 {max} 之间。")), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError(str(_l("应为整数。")))
        return super()._deserialize(value, attr, data, **kwargs)


# -- requests -------------------------------------------------------------------------------------------------------

class CartLineIn(Schema):
    quantity = Quantity(required=True, metadata={"description": "件数；0 表示从购物车移除。", "example": 2})


def _flag(default: bool, description: str) -> fields.Boolean:
    """A JSON boolean: ``true`` or ``false``, not "yes" or 1."""
    return fields.Boolean(truthy={True}, falsy={False}, load_default=default, metadata={"description": description})


class PaymentChoiceIn(Schema):
    provider = fields.String(required=True, validate=_length(maximum=63),
                             metadata={"description": "付款服务商，如 stripe 或 offline。", "example": "offline"})
    method = fields.String(required=True, validate=_length(maximum=32),
                           metadata={"description": "付款方式：card（银行卡）、alipay（支付宝）、wechat_pay（微信支付）、"
                                                    "pay_at_stall（到店付款）、cash_on_delivery（货到付款）、"
                                                    "bank_transfer（银行转账）——以本街区或市场提供的为准。",
                                     "example": "pay_at_stall"})


class CheckoutIn(Schema):
    """Each shop's delivery as quoted (pickup where none is chosen); the payment is one of the tenant's ways to pay."""

    payment = fields.Nested(PaymentChoiceIn, load_default=None, metadata={
        "description": "付款方式。不填时用本街区或市场的第一种线下付款方式；没有线下付款方式时必填。"
                       "不在本街区或市场提供之列的回答 422（code: unknown_payment_method）。"})

    notes = fields.Dict(keys=Slug(), values=Text(validate=_length(maximum=NOTE_MAX)), load_default=dict,
                        metadata={"description": "给各店铺的留言，按店铺 slug。", "example": {"suifeng": "下午来取"}})
    confirm_exclusions = _flag(False, "买家已确认：购物车里拆封后影响健康或品质、激活后贬值、临近保质期或有瑕疵的商品"
                                      "不适用七日无理由退货。购物车里有这类商品而未确认时，结算回答 409"
                                      "（code: confirm_exclusions）。")
    delivery = fields.Dict(keys=Slug(), values=Text(validate=_length(1, OPTION_MAX)), load_default=dict, metadata={
        "description": "各店铺的配送方式，按店铺 slug：\"provider:code\"，取自“购物车的配送方式”（与这里相同的 "
                       "address_id 和 third_party_signing 查询）。服务器重新报价，不在报价之列的回答 422（errors 中为 "
                       "delivery.<店铺 slug>）。不写的店铺：到店自提（这家店铺提供时），否则用报价中的第一种方式。",
        "example": {"laowang": "local_courier:2024-05-06/18-20", "liji": "pickup:shop"}})
    address_id = fields.Integer(strict=True, validate=_range(1, INT_MAX), load_default=None, metadata={
        "description": "送货地址：我的地址簿中一个地址的 id（送货上门、快递、货运时必填）。别人的地址回答 422"
                       "（errors 中为 address_id）。到店自提的订单不记录地址。"})
    third_party_signing = _flag(False, "收件人同意由快递柜、驿站或他人代收；记在配送单的地址上。")


class PageQuery(paging.PageArgs):
    """``limit`` and ``cursor``, for a list with no filters."""


class MyOrderQuery(paging.PageArgs, paging.Period):
    """``since``/``until``: when the order group was placed."""


class OrderQuery(paging.PageArgs, paging.Period):
    """``since``/``until``: when the order was placed."""

    status = fields.String(validate=validate.OneOf([s.value for s in OrderStatus], error=_l("不认识的订单状态。")),
                           metadata={"description": "只看这个状态的订单。"})


class ReturnQuery(paging.PageArgs, paging.Period):
    """``since``/``until``: when the return was requested."""

    status = fields.String(validate=validate.OneOf(returns.ReturnStatus.values(), error=_l("不认识的退货状态。")),
                           metadata={"description": "只看这个状态的退货申请（requested 为待处理）。"})


class TransitionIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(list(ACTIONS), error=_l("不认识的操作。")),
                           metadata={"description": "要做的操作：confirm_payment（确认已收到线下付款）、accept（接单）、"
                                                    "prepared（备货完成）、picked_up（核对买家的取货码后交货）、complete（完成）、"
                                                    "reject（拒单，须说明原因）。", "example": "accept",
                                     "enum": list(ACTIONS)})
    reason = Text(load_default="", validate=_length(maximum=NOTE_MAX),
                  metadata={"description": "拒单原因（拒单时必填）；其他操作时为可选的说明。买家能看到。"})
    code = fields.String(load_default="", validate=validate.Length(max=40),
                         metadata={"description": "买家出示的 8 位取货码（picked_up 时必填；码不对回答 422，code: wrong_code）。",
                                   "example": "20261130"})


class RetryPaymentIn(Schema):
    payment = fields.Nested(PaymentChoiceIn, load_default=None,
                            metadata={"description": "这次用的付款方式；不填时与上一次相同。"})


class CancelIn(Schema):
    reason = Text(load_default="", validate=_length(maximum=NOTE_MAX),
                  metadata={"description": "取消的原因（可选），商家能看到。"})


class ReturnIn(Schema):
    lines = fields.Dict(keys=fields.String(validate=_length(maximum=12)), values=Quantity(), required=True,
                        metadata={"description": "要退的商品：订单商品行 id（订单里 lines[].id）→ 件数。",
                                  "example": {"12": 1}})
    no_reason = _flag(True, "true：七日无理由退货；false：商品质量问题，须在 reason 中说明。")
    reason = Text(load_default="", validate=_length(maximum=returns.MAX_REASON),
                  metadata={"description": "退货原因；质量问题退货时必填。"})


# -- responses ------------------------------------------------------------------------------------------------------

class ShopRef(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = _string(lambda shop: shop.name(), "In the request's language.")


class CartProblem(Schema):
    code = fields.String(metadata={"description": "Stable: out_of_stock, not_enough_stock, below_moq, unavailable, "
                                                  "below_batch_amount, below_batch_quantity, shop_closed…"})
    message = fields.String()
    variant_id = fields.Integer(allow_none=True)


class CartLineOut(Schema):
    variant_id = fields.Integer()
    product_id = fields.Integer()
    title = fields.String()
    sku = fields.String()
    options = fields.Dict(keys=fields.String())
    unit = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer(allow_none=True, metadata={"description": "fen, as the server prices it now; null "
                                                                          "when the item cannot be bought."})
    total = fields.Integer(allow_none=True)
    price_source = fields.String(allow_none=True, metadata={"description": "base, tier:<min quantity> or quote."})


class CartShopOut(Schema):
    shop = fields.Nested(ShopRef)
    lines = fields.List(fields.Nested(CartLineOut))
    total = fields.Integer()
    problems = fields.List(fields.Nested(CartProblem))


class CartOut(Schema):
    currency = fields.String()
    total = fields.Integer(metadata={"description": "fen; the sum of the shops' totals."})
    shops = fields.List(fields.Nested(CartShopOut))
    problems = fields.List(fields.Nested(CartProblem), metadata={"description": "Every reason the cart cannot be "
                                                                                "checked out as it stands."})


class OrderLineOut(Schema):
    id = fields.Integer(metadata={"description": "The order line's id, as a return request names it."})
    title = fields.String()
    sku = fields.String()
    options = fields.Dict(keys=fields.String())
    unit = fields.String()
    unit_price = fields.Integer()
    quantity = fields.Integer()
    total = fields.Integer()
    price_source = fields.String()


class OrderEventOut(Schema):
    at = fields.DateTime()
    from_status = fields.String()
    to_status = fields.String()
    note = fields.String()


class OrderOut(Schema):
    number = fields.String()
    group_number = _string(lambda order: order.group.number)
    status = fields.String(metadata={"enum": [s.value for s in OrderStatus]})
    status_label = _string(lambda order: str(OrderStatus(order.status).label), "In the request's language.")
    shop = fields.Nested(ShopRef)
    items_total = fields.Integer()
    delivery_provider = fields.String()
    delivery_fee = fields.Integer()
    total = fields.Integer()
    refunded = fields.Integer()
    note = fields.String()
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(OrderLineOut))
    events = fields.List(fields.Nested(OrderEventOut), metadata={"description": "The order's history, oldest first."})


class MerchantOrderOut(OrderOut):
    commission = fields.Integer(metadata={"description": "The platform's commission on this order, fen."})
    actions = fields.Function(lambda order: [action.name for action in actions_for(order)],
                              metadata={"type": "array", "items": {"type": "string", "enum": list(ACTIONS)},
                                        "description": "The actions the merchant may take on the order now."})


class PaymentOut(Schema):
    status = fields.String(metadata={"enum": [s.value for s in PaymentStatus],
                                     "description": "pending 待付款，requires_action 待验证（如 3-D Secure 或待扫码），"
                                                    "authorized 已授权，succeeded 已付款，failed 付款失败，cancelled 已取消。"})
    status_label = fields.String(metadata={"description": "In the request's language."})
    provider = fields.String()
    method = fields.String()
    method_label = fields.String()
    amount = fields.Integer(metadata={"description": "fen; always the group's total."})
    currency = fields.String()
    reference = fields.String(metadata={"description": "The provider's id for the payment (e.g. a PaymentIntent id)."})
    problem = fields.String(metadata={"description": "Why the payment failed, for people; empty otherwise."})
    instructions = fields.String(metadata={"description": "For offline payments not yet paid: what the buyer does."})
    may_retry = fields.Boolean(metadata={"description": "Whether a new attempt may be made (POST …/payments)."})
    client_secret = fields.String(metadata={
        "description": "Only in the answer that started the attempt, for Stripe.js (confirmCardPayment, "
                       "confirmAlipayPayment, confirmWechatPayPayment); never stored, never shown again."})
    publishable_key = fields.String(metadata={"description": "With client_secret: the key Stripe.js is started with."})


class PaymentRefundOut(Schema):
    amount = fields.Integer(metadata={"description": "fen"})
    currency = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in returns.RefundStatus]})
    order_number = _string(lambda refund: refund.order.number, "The order of the group the money was for.")
    refunded_at = fields.AwareDateTime()


def _isoformat(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


class PaymentRecordOut(Schema):
    """One attempt to pay for an order group, as the platform recorded it (no secrets: never a client secret)."""

    id = fields.Integer()
    provider = fields.String(metadata={"description": "stripe, offline…"})
    method = fields.String(metadata={"description": "card, alipay, wechat_pay, pay_at_stall…"})
    status = fields.String(metadata={"enum": [s.value for s in PaymentStatus]})
    status_label = _string(lambda payment: str(PaymentStatus(payment.status).label), "In the request's language.")
    amount = fields.Integer(metadata={"description": "fen: the group's total when the attempt was made."})
    amount_captured = fields.Integer(metadata={"description": "fen actually collected (card payments held first)."})
    currency = fields.String()
    reference = fields.String(metadata={"description": "The provider's id for the payment; empty until it answered."})
    problem = fields.String(metadata={"description": "Why it failed, for people; empty otherwise."})
    created_at = fields.AwareDateTime()
    paid_at = fields.AwareDateTime(attribute="succeeded_at", allow_none=True)
    refunded = fields.Function(lambda payment: sum(r.amount for r in payment.api_refunds
                                                   if r.status == returns.RefundStatus.succeeded),
                               metadata={"type": "integer", "description": "fen paid back from this payment."})
    refunded_at = fields.Function(
        lambda payment: _isoformat(max((r.refunded_at for r in payment.api_refunds), default=None)),
        metadata={"type": "string", "format": "date-time", "nullable": True,
                  "description": "When money last went back from this payment; null if never."})
    refunds = Computed(lambda payment: payment.api_refunds, PaymentRefundOut, many=True,
                       metadata={"description": "Money paid back from this payment, oldest first."})


PaymentPage = paging.page_schema("PaymentPage", PaymentRecordOut, description="Oldest first: every attempt.")


def _payment(group) -> dict | None:
    from marketplace.api.orders import payment_out  # the view knows what this response alone may carry

    return payment_out(group)


class OrderGroupOut(Schema):
    number = fields.String()
    currency = fields.String()
    total = fields.Integer()
    payment_provider = fields.String()
    payment = Computed(_payment, PaymentOut, allow_none=True,
                       metadata={"description": "The latest payment attempt for the group; null before any."})
    payment_deadline = fields.DateTime(metadata={"description": "Unpaid orders are cancelled after it."})
    paid_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    orders = fields.List(fields.Nested(OrderOut))


OrderGroupPage = paging.page_schema("OrderGroupPage", OrderGroupOut, description="Newest first.",
                                     total=paging.total_field())
MerchantOrderPage = paging.page_schema("MerchantOrderPage", MerchantOrderOut, description="Newest first.",
                                       total=paging.total_field())


class ReturnLineOut(Schema):
    order_line_id = fields.Integer()
    title = _string(lambda line: line.order_line.title)
    sku = _string(lambda line: line.order_line.sku)
    quantity = fields.Integer()
    amount = fields.Integer(metadata={"description": "fen: the unit price paid × the quantity returned."})


class RefundOut(Schema):
    amount = fields.Integer(metadata={"description": "fen"})
    provider = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in returns.RefundStatus]})
    status_label = _string(lambda refund: str(returns.RefundStatus(refund.status).label), "In the request's language.")
    refunded_at = fields.DateTime()


class ReturnOut(Schema):
    id = fields.Integer()
    order_number = _string(lambda request: request.order.number)
    group_number = _string(lambda request: request.order.group.number)
    shop = fields.Nested(ShopRef, attribute="order.shop")
    status = fields.String(metadata={"enum": [s.value for s in returns.ReturnStatus]})
    status_label = _string(lambda request: str(returns.ReturnStatus(request.status).label),
                           "In the request's language.")
    no_reason = fields.Boolean(metadata={"description": "True: a 7-day return without reason; false: a quality "
                                                        "problem."})
    reason = fields.String()
    amount = fields.Integer(metadata={"description": "fen: what the returned goods cost the buyer."})
    requested_at = fields.DateTime()
    respond_by = fields.DateTime(metadata={"description": "Approved for the merchant if it has not answered by then."})
    decided_at = fields.DateTime(allow_none=True)
    reject_reason = fields.String()
    return_address = fields.String(metadata={"description": "Where to send the goods, once approved."})
    received_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(ReturnLineOut))
    refunds = fields.List(fields.Nested(RefundOut), metadata={"description": "Money paid back on this request."})


ReturnPage = paging.page_schema("ReturnPage", ReturnOut, description="Newest first.", total=paging.total_field())
