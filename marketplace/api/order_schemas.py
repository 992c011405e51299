"""What the orders API reads and writes: the resident's cart, checkout and orders, and a shop's orders.

Money is an integer count of fen, always computed on the server: a request naming a price, a total or a tenant is
refused as an unknown field. Quantities are JSON integers (no floats, strings or booleans).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from marketplace.api.schemas import Slug, Text, _int, _length, _string
from marketplace.orders.models import OrderStatus
from marketplace.orders.services import MAX_QUANTITY

#: The moves a merchant may ask for through the API; refunds go through the returns flow.
MERCHANT_MOVES = [s.value for s in OrderStatus if s not in (OrderStatus.pending_payment, OrderStatus.refunding,
                                                              OrderStatus.refunded)]
NOTE_MAX = 500


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


class CheckoutIn(Schema):
    """Pickup at each shop and offline payment (paid at the shop) are the only choices for now."""

    notes = fields.Dict(keys=Slug(), values=Text(validate=_length(maximum=NOTE_MAX)), load_default=dict,
                        metadata={"description": "给各店铺的留言，按店铺 slug。", "example": {"suifeng": "下午来取"}})


class OrderQuery(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in OrderStatus], error=_l("不认识的订单状态。")),
                           metadata={"description": "只看这个状态的订单。"})
    page = _int(1, 10_000, load_default=1)
    page_size = _int(1, 100, load_default=20)


class TransitionIn(Schema):
    to = fields.String(required=True, validate=validate.OneOf(MERCHANT_MOVES, error=_l("不能通过接口改为这个状态。")),
                       metadata={"description": "目标状态。", "example": "accepted"})
    note = Text(load_default="", validate=_length(maximum=NOTE_MAX),
                metadata={"description": "说明，例如拒单理由；买家能看到。"})


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


class OrderGroupOut(Schema):
    number = fields.String()
    currency = fields.String()
    total = fields.Integer()
    payment_provider = fields.String()
    payment_deadline = fields.DateTime(metadata={"description": "Unpaid orders are cancelled after it."})
    paid_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    orders = fields.List(fields.Nested(OrderOut))


class OrderGroupList(Schema):
    items = fields.List(fields.Nested(OrderGroupOut))


class MerchantOrderPage(Schema):
    items = fields.List(fields.Nested(MerchantOrderOut))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
