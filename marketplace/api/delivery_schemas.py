"""What the delivery API reads and writes: quotes for the cart, a shipment with its timeline, tracking events.

Fees are integer fen computed on the server. A shipment is shown in three ways: to the shop (the address the
waybill needs, masked down to 张*, 138****1234 and the district once the order is closed, as the order console
hides the buyer's contact), to its buyer (with the secret tracking token and, for pickup, the collection code),
and to anyone holding the tracking token (the recipient masked: no full name, mobile or street; the timeline's
statuses, times and places without its notes).
"""

from __future__ import annotations

from datetime import timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates

from marketplace.api.order_schemas import ShopRef
from marketplace.api.schemas import INT_MAX, Computed, Text, _length, _range, _string
from marketplace.core.db import utcnow
from marketplace.core.text import masked_contact, masked_name
from marketplace.delivery.providers import TRANSITIONS, ShipmentStatus

#: What a tracking event may report: every status a shipment can move to, except calling it off (an order is
#: cancelled or rejected through the orders API, which also gives back stock, money and the time slot).
TRACKED = [s.value for s in ShipmentStatus if any(s in targets for targets in TRANSITIONS.values())
           and s != ShipmentStatus.cancelled]
#: A carrier's clock may run a little ahead of ours; beyond this an event "in the future" is a mistake.
CLOCK_SKEW = timedelta(minutes=10)


def _status_label(status: str) -> str:
    return str(ShipmentStatus(status).label) if status in ShipmentStatus.__members__ else status


def _provider_label(name: str) -> str:
    from marketplace.delivery.services import provider_label

    return provider_label(name)


# -- requests -------------------------------------------------------------------------------------------------------

class QuoteQuery(Schema):
    address_id = fields.Integer(validate=_range(1, INT_MAX), metadata={
        "description": "我的地址簿中一个地址的 id；不给时只有自提方式。"})
    # Query strings are text: "true" and "false" only, as the web's checkbox sends one of them.
    third_party_signing = fields.Boolean(truthy={"true"}, falsy={"false"}, load_default=False, metadata={
        "description": "收件人同意由快递柜、驿站或他人代收（true/false）。"})


class TrackingEventIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(TRACKED, error=_l("不认识的配送状态。")),
                           metadata={"enum": TRACKED, "example": "in_transit",
                                     "description": "配送单的新状态，只能向前，且只能是这种配送方式的步骤。快递和货运"
                                                    "（先 ship 交给快递公司）：运输中 in_transit → 派送中 "
                                                    "out_for_delivery → 已签收 delivered；异常 exception 之后可继续"
                                                    "运输、派送、签收或退回 returned。同城配送：派送中、已签收、异常、"
                                                    "退回。到店自提：待取货 ready_for_pickup（已取货 collected 只能在"
                                                    "柜台核销取货码）。"})
    at = fields.AwareDateTime(load_default=None, error_messages={
        "invalid": _l("应为 ISO 8601 时间，如 2026-12-01T09:30:00+08:00。"),
        "invalid_awareness": _l("时间必须带时区，如 +08:00。")},
        metadata={"description": "事情发生的时间（带时区）；不给时为收到请求的时间。"})
    location = Text(load_default="", validate=_length(maximum=200),
                    metadata={"description": "发生的地点，如“郑州转运中心”。", "example": "郑州转运中心"})
    note = Text(load_default="", validate=_length(maximum=1000),
                metadata={"description": "说明，买家能看到。代收（快递柜、驿站、他人）须收件人事先同意。"})

    @validates("at")
    def _not_in_the_future(self, value, **_kwargs):
        if value is not None and value > utcnow() + CLOCK_SKEW:
            raise ValidationError(str(_l("不能晚于现在。")))


class ShipIn(Schema):
    carrier = Text(required=True, validate=_length(1, 63),
                   metadata={"description": "快递公司，须是本街区或市场（或本店）设置的之一。", "example": "中通快递"})
    tracking_number = Text(required=True, validate=_length(1, 64),
                           metadata={"description": "快递单号：4-40 位字母、数字或“-”。", "example": "ZT7500123456789"})


# -- responses ------------------------------------------------------------------------------------------------------

class DeliveryOptionOut(Schema):
    provider = fields.String(metadata={"description": "pickup, local_courier, express, freight…"})
    provider_label = _string(lambda option: _provider_label(option.provider), "In the request's language.")
    code = fields.String(metadata={"description": "The provider's code for the option (a pickup point, a time "
                                                  "slot, a province); with provider, what checkout names."})
    label = fields.String()
    fee = fields.Integer(metadata={"description": "fen"})
    currency = fields.String()
    earliest = fields.DateTime(allow_none=True)
    latest = fields.DateTime(allow_none=True, metadata={"description": "The latest time promised; null if none."})
    constraints = fields.List(fields.String(), metadata={"description": "What the buyer should know (a cut-off, "
                                                                        "opening hours, a free-shipping threshold)."})


class ShopQuoteOut(Schema):
    shop = fields.Nested(ShopRef)
    options = fields.List(fields.Nested(DeliveryOptionOut))
    reasons = fields.List(fields.String(), metadata={"description": "Why a provider the shop offers has no option "
                                                                    "for this cart and address, for people."})


class DeliveryQuoteOut(Schema):
    currency = fields.String()
    address_id = fields.Integer(allow_none=True)
    shops = fields.List(fields.Nested(ShopQuoteOut))


class ShipmentEventOut(Schema):
    at = fields.DateTime()
    from_status = fields.String()
    to_status = fields.String(metadata={"enum": [s.value for s in ShipmentStatus]})
    status_label = _string(lambda event: _status_label(event.to_status), "In the request's language.")
    location = fields.String()
    note = fields.String()


class PublicEventOut(Schema):
    """A step as anyone with the tracking token sees it: no note (the shop's words, a cancellation reason)."""

    at = fields.DateTime()
    from_status = fields.String()
    to_status = fields.String(metadata={"enum": [s.value for s in ShipmentStatus]})
    status_label = _string(lambda event: _status_label(event.to_status), "In the request's language.")
    location = fields.String()


class ShipmentAddressOut(Schema):
    """As it was at checkout, with what a waybill needs (never an identity number)."""

    recipient = fields.String()
    mobile = fields.String()
    province_code = fields.String()
    city_code = fields.String()
    district_code = fields.String()
    street = fields.String()
    text = fields.String(metadata={"description": "The whole address on one line."})
    third_party_signing = fields.Boolean(metadata={"description": "The recipient agreed that a parcel locker, a "
                                                                  "parcel station or someone else may sign."})


def _address(shipment):
    return shipment.address or None


def _shop_address(shipment):
    """The buyer's address for the shop: in full while the order runs, masked once it is closed."""
    from marketplace.console.orders import CONTACT_HIDDEN
    from marketplace.delivery.views import closed_address

    if shipment.address and shipment.order.status in CONTACT_HIDDEN:
        return closed_address(shipment.address)
    return _address(shipment)


class ShipmentOut(Schema):
    order_number = _string(lambda shipment: shipment.order.number)
    status = fields.String(metadata={"enum": [s.value for s in ShipmentStatus]})
    status_label = _string(lambda shipment: _status_label(shipment.status), "In the request's language.")
    provider = fields.String()
    provider_label = _string(lambda shipment: _provider_label(shipment.provider), "In the request's language.")
    option = fields.String(attribute="option_code", metadata={"description": "The option the buyer chose."})
    fee = fields.Integer(metadata={"description": "fen"})
    currency = fields.String()
    promised_by = fields.DateTime(allow_none=True, metadata={"description": "The latest time the option promised."})
    status_changed_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True, metadata={"description": "When the buyer had the goods "
                                                                           "(delivered or collected)."})
    carrier = fields.String()
    tracking_number = fields.String()
    address = Computed(_shop_address, ShipmentAddressOut, allow_none=True, metadata={"description": (
        "Where it goes; null when the buyer collects. Once the order is completed, cancelled or refunded: the "
        "recipient and mobile masked (张*, 138****1234), only the province, city and district, no street.")})
    events = fields.List(fields.Nested(ShipmentEventOut), metadata={"description": "The timeline, oldest first."})


def _pickup_code(shipment) -> str | None:
    from marketplace.delivery.pickup import code_for

    return code_for(shipment) if shipment.provider == "pickup" else None


class BuyerShipmentOut(ShipmentOut):
    address = Computed(_address, ShipmentAddressOut, allow_none=True,
                       metadata={"description": "Where it goes, as the buyer gave it; null when the buyer collects."})
    tracking_token = fields.String(metadata={"description": "The secret of the public tracking address; share it "
                                                            "only with whom may follow the parcel."})
    tracking_url = _string(lambda shipment: url_for("api_tracking.track", token=shipment.tracking_token,
                                                    _external=True), "The public tracking address in this API.")
    pickup_code = fields.Function(_pickup_code, metadata={"type": "string", "nullable": True, "description": (
        "Pickup only: the 8-digit collection code to show at the shop or the counter.")})


class PublicTrackingOut(Schema):
    """What anyone with the tracking token sees: the parcel's journey, never the full recipient."""

    shop = _string(lambda shipment: shipment.order.shop.name(), "The shop the goods come from.")
    status = fields.String(metadata={"enum": [s.value for s in ShipmentStatus]})
    status_label = _string(lambda shipment: _status_label(shipment.status), "In the request's language.")
    provider = fields.String()
    provider_label = _string(lambda shipment: _provider_label(shipment.provider), "In the request's language.")
    carrier = fields.String()
    tracking_number = fields.String()
    promised_by = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    recipient = _string(lambda shipment: masked_name((shipment.address or {}).get("recipient", "")),
                        "Masked (张*); empty when the buyer collects.")
    mobile = _string(lambda shipment: masked_contact((shipment.address or {}).get("mobile", "")),
                     "Masked (138****0000); empty when the buyer collects.")
    events = fields.List(fields.Nested(PublicEventOut), metadata={"description": "The timeline, oldest first: "
                                                                                "statuses, times and places."})
