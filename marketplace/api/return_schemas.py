"""What the merchant's returns API reads and writes (``api/returns.py``); a return request is dumped as the
resident sees it (``order_schemas.ReturnOut``), plus the decisions the merchant may make on it now."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from marketplace.api import paging
from marketplace.api.order_schemas import ReturnOut, ReturnQuery
from marketplace.api.schemas import Text, _length
from marketplace.orders import returns
from marketplace.orders.returns import ReturnStatus

#: The merchant's decisions, as the console's buttons name them.
DECISIONS = ("approve", "reject", "receive", "refund")

__all__ = ["DECISIONS", "MerchantReturnOut", "MerchantReturnPage", "ReturnDecisionIn", "ReturnQuery", "actions_for"]


def actions_for(found) -> list[str]:
    """The decisions the merchant may make on a return request now (the buttons the console shows)."""
    if found.status == ReturnStatus.requested:
        return ["approve", "reject"]
    if found.status == ReturnStatus.approved:
        return ["receive", "refund"]
    if found.status == ReturnStatus.received:
        return ["refund"]
    return []


class MerchantReturnOut(ReturnOut):
    actions = fields.Function(actions_for, metadata={
        "type": "array", "items": {"type": "string", "enum": list(DECISIONS)},
        "description": "The decisions the merchant may make now (POST …/decisions)."})


MerchantReturnPage = paging.page_schema("MerchantReturnPage", MerchantReturnOut, description="Newest first.",
                                        total=paging.total_field())


class ReturnDecisionIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(DECISIONS, error=_l("不认识的操作。")), metadata={
        "description": "approve（同意）、reject（拒绝）、receive（已收到退货）、refund（退款）。", "example": "approve"})
    return_address = Text(load_default="", validate=_length(maximum=500), metadata={
        "description": "同意时：退货地址、联系人和电话；不填时用店铺在街区或市场里的地址。"})
    reason = Text(load_default="", validate=_length(maximum=returns.MAX_REASON), metadata={
        "description": "拒绝的理由（拒绝时必填），买家能看到。"})
