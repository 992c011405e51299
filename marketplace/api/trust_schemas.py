"""What the trust API reads and writes: badge checks, reviews and their figures, complaints.

A hidden review is shown as hidden, with the reason, and never with what it said (its ratings, text or photos):
the same as the shop and product pages. Reviews are listed newest first, never by rating.
"""

from __future__ import annotations

import base64
import binascii

from flask import request
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from marketplace.api import paging
from marketplace.api.order_schemas import ShopRef
from marketplace.api.schemas import Computed, Text, _length, _range, _string
from marketplace.media.views import image_url
from marketplace.trust import badges, complaints, reviews
from marketplace.trust.complaints import ComplaintCategory, ComplaintClaim, ComplaintStatus
from marketplace.trust.reviews import DIMENSIONS, HideReason


class Rating(fields.Integer):
    """1 to 5 stars, as a JSON integer (``true`` is not a number)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=_range(1, 5), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError(str(_l("应为整数。")))
        return super()._deserialize(value, attr, data, **kwargs)


class Base64Image(fields.String):
    """A picture sent inside JSON: the file's bytes in base64 (a ``data:image/…;base64,`` prefix is allowed).
    Only the encoding is checked here; the media pipeline checks that it is a picture, and its size."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text.startswith("data:"):
            text = text.partition(",")[2]
        text = "".join(text.split())
        try:
            decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(str(_l("应为 Base64 编码的图片文件。"))) from None
        if not decoded:
            raise ValidationError(str(_l("图片是空的。")))
        return decoded


def _photo_list(most: int, what: str) -> fields.List:
    return fields.List(Base64Image(), load_default=list, validate=_length(maximum=most), metadata={
        "description": f"{what}: at most {most} JPEG, PNG or WebP files, each base64-encoded. They go through the "
                       "platform's image pipeline (checked, EXIF and location removed, resized copies made); a file "
                       "that is not a picture, or too large, is refused with 422."})


# -- badges ---------------------------------------------------------------------------------------------------

def _facts(result) -> dict:
    return result.facts or {}


class BadgeTenantOut(Schema):
    slug = fields.String()
    name = _string(lambda tenant: tenant.name(), "In the request's language.")


class BadgeOut(Schema):
    """What /verify/<serial> shows, for programs: the state now, the signed facts, and the signature check."""

    serial = fields.String()
    status = fields.Function(lambda result: str(result.state), metadata={
        "type": "string", "enum": [s.value for s in badges.BadgeState if s != badges.BadgeState.unknown],
        "description": "valid 有效, suspended 已暂停, revoked 已撤销, expired 已过期 (its own term or the merchant's "
                       "approval ended). Suspension and revocation are not in the signed payload: this is the word "
                       "that counts."})
    status_label = _string(lambda result: str(result.state.label), "In the request's language.")
    reason = _string(lambda result: result.badge.status_reason if result.state in (
        badges.BadgeState.suspended, badges.BadgeState.revoked) else "",
        "Why it was suspended or revoked; empty otherwise.")
    trustworthy = fields.Function(lambda result: result.trustworthy, metadata={
        "type": "boolean", "description": "Valid now and its signature verifies: the only state to trust."})
    legal_name = _string(lambda result: _facts(result).get("legal_name", ""), "The merchant, as signed.")
    registration_number = _string(lambda result: _facts(result).get("registration_number", ""),
                                  "统一社会信用代码/注册号, as signed (may be empty).")
    shop = _string(lambda result: _facts(result).get("shop", ""), "The shop's Chinese name, as signed.")
    place = _string(lambda result: _facts(result).get("place", ""), "The stall or street address, as signed.")
    tenant = Computed(lambda result: result.tenant, BadgeTenantOut,
                      metadata={"description": "The street or market the shop trades in."})
    issued_at = fields.DateTime(attribute="badge.issued_at")
    valid_until = fields.DateTime(attribute="badge.valid_until")
    signature_valid = fields.Function(lambda result: result.signature_ok, metadata={
        "type": "boolean", "nullable": True,
        "description": "Whether the signature verifies with the platform's public key over payload; null when the "
                       "platform has no signing key configured and cannot check."})
    payload = _string(lambda result: result.badge.payload,
                      "The exact signed bytes (canonical JSON, UTF-8), for an offline check.")
    signature = _string(lambda result: result.badge.signature, "Base64 of the Ed25519 signature over payload.")
    public_key_url = _string(lambda result: request.host_url.rstrip("/") + "/verify/keys",
                             "Where the platform publishes its public key and the payload format.")


# -- reviews --------------------------------------------------------------------------------------------------

class RatingsIn(Schema):
    product = Rating(required=True, metadata={"description": "商品评分 1–5。", "example": 5})
    described = Rating(required=True, metadata={"description": "描述相符 1–5。", "example": 5})
    service = Rating(required=True, metadata={"description": "服务态度 1–5。", "example": 4})
    delivery = Rating(required=True, metadata={"description": "物流/取货体验 1–5。", "example": 5})


class ReviewIn(Schema):
    ratings = fields.Nested(RatingsIn, required=True, metadata={"description": "Each dimension, 1 to 5 stars."})
    text = Text(load_default="", validate=_length(maximum=reviews.MAX_TEXT),
                metadata={"description": "Plain text (no markup); optional. Kept for good: it cannot be changed "
                                         "or deleted afterwards."})
    photos = _photo_list(reviews.MAX_PHOTOS, "Photos of what was bought")


class RatingsOut(Schema):
    product = fields.Integer()
    described = fields.Integer()
    service = fields.Integer()
    delivery = fields.Integer()


class PhotoOut(Schema):
    url = fields.String(metadata={"description": "The photo as uploaded (EXIF removed)."})
    thumbnail = fields.String(metadata={"description": "A 160 pixels wide copy."})
    width = fields.Integer()
    height = fields.Integer()


def _photos(review) -> list[dict]:
    if review.hidden:
        return []
    host = request.host_url.rstrip("/")
    return [{"url": host + image_url(photo["sha256"]), "thumbnail": host + image_url(photo["sha256"], 160),
             "width": photo.get("width"), "height": photo.get("height")}
            for photo in review.photos or [] if photo.get("sha256")]


def _evidence(complaint) -> list[dict]:
    host = request.host_url.rstrip("/")
    return [{"url": host + image_url(sha256), "thumbnail": host + image_url(sha256, 160)}
            for sha256 in complaint.photos or []]


class ReviewOut(Schema):
    id = fields.Integer()
    buyer = _string(lambda review: review.buyer_label, "The buyer's masked name (张*).")
    product_id = fields.Integer(allow_none=True)
    title = _string(lambda review: review.line.title, "The goods, as the order line names them.")
    options = fields.Function(lambda review: dict(review.line.options or {}),
                              metadata={"type": "object", "additionalProperties": {"type": "string"},
                                        "description": "The variant's options (colour, size…)."})
    created_at = fields.DateTime()
    hidden = fields.Boolean(metadata={"description": "Hidden by the platform for a reason the law lists: still "
                                                     "counted in the ratings; its ratings, text and photos are not "
                                                     "shown."})
    hidden_reason = fields.String(allow_none=True, metadata={"enum": [r.value for r in HideReason],
                                                             "description": "Why it was hidden; null otherwise."})
    hidden_reason_label = _string(lambda review: str(review.hidden_label) if review.hidden else "",
                                  "The reason in the request's language; empty when not hidden.")
    ratings = Computed(lambda review: None if review.hidden else {d: review.rating(d) for d in DIMENSIONS},
                       RatingsOut, allow_none=True, metadata={"description": "Null when hidden."})
    text = fields.Function(lambda review: None if review.hidden else review.text,
                           metadata={"type": "string", "nullable": True, "description": "Null when hidden."})
    photos = Computed(_photos, PhotoOut, many=True, metadata={"description": "Empty when hidden."})
    reply = fields.String(metadata={"description": "The merchant's one public reply; empty until then."})
    replied_at = fields.DateTime(allow_none=True)


class AveragesOut(Schema):
    product = fields.Float(allow_none=True)
    described = fields.Float(allow_none=True)
    service = fields.Float(allow_none=True)
    delivery = fields.Float(allow_none=True)


class RatingsSummary(Schema):
    count = fields.Integer(metadata={"description": "Reviews, hidden ones included."})
    averages = fields.Nested(AveragesOut, metadata={"description": "Per dimension, to two decimals; null with no "
                                                                   "reviews. Hidden reviews count: hiding never "
                                                                   "improves the figures."})


ReviewPage = paging.page_schema(
    "ReviewPage", ReviewOut, description="Newest first, never by rating.", total=paging.total_field(),
    ratings=fields.Nested(RatingsSummary, metadata={"description": "The figures of the shop (or product)."}))


# -- complaints -----------------------------------------------------------------------------------------------

class ComplaintIn(Schema):
    category = fields.String(required=True, validate=validate.OneOf(ComplaintCategory.values(),
                                                                     error=_l("不认识的投诉类型。")),
                             metadata={"enum": ComplaintCategory.values(), "example": "quality",
                                       "description": "quality 商品质量, not_as_described 描述不符, delivery 未按约定发货/"
                                                      "配送, price_fraud 价格欺诈, after_sales 售后/退货, service 服务态度, "
                                                      "other 其他."})
    description = Text(required=True, validate=_length(1, complaints.MAX_DESCRIPTION),
                       metadata={"description": "What happened (争议事实).", "example": "苹果一半是烂的。"})
    claim = fields.String(required=True, validate=validate.OneOf(ComplaintClaim.values(),
                                                                 error=_l("不认识的投诉请求。")),
                          metadata={"enum": ComplaintClaim.values(), "example": "return_refund",
                                    "description": "What the resident asks for (具体投诉请求): return_refund 退货退款, "
                                                   "refund 仅退款, exchange 更换, repair 修理, compensation 赔偿, "
                                                   "other 其他 (then claim_detail is required)."})
    claim_detail = Text(load_default="", validate=_length(maximum=complaints.MAX_CLAIM_DETAIL),
                        metadata={"description": "The claim in the resident's words (an amount, a deadline).",
                                  "example": "退款 29.90 元"})
    complainant_address = Text(load_default=None, validate=_length(1, complaints.MAX_ADDRESS), metadata={
        "description": "The resident's postal address (通讯地址), which the market regulator (12315) may write to. "
                       "Left out: the order's shipping address; an order that was collected has none, so then it is "
                       "required.", "example": "河南省 郑州市 二七区 德化街 8 号 3 单元 201"})
    photos = _photo_list(complaints.MAX_PHOTOS, "Evidence photos")


class EscalateIn(Schema):
    reason = Text(load_default="", validate=_length(maximum=complaints.MAX_NOTE),
                  metadata={"description": "Why the merchant's answer does not settle it (optional)."})


class AnswerIn(Schema):
    answer = Text(required=True, validate=_length(1, complaints.MAX_NOTE),
                  metadata={"description": "The merchant's answer; the resident sees it.", "example": "已为您补发。"})


def _by(complaint, event) -> str:
    if event.actor_id is None:
        return "platform"
    if event.to_status == ComplaintStatus.answered:
        return "merchant"
    if event.to_status in complaints.OUTCOMES:
        return "operator"
    return "buyer" if event.actor_id == complaint.buyer_id else "platform"


class ComplaintEventOut(Schema):
    at = fields.DateTime()
    by = fields.String(metadata={"enum": ["buyer", "merchant", "operator", "platform"],
                                 "description": "platform: the deadline job moved it."})
    from_status = fields.String()
    to_status = fields.String()
    note = fields.String()


def _events(complaint) -> list[dict]:
    return [{"at": e.at, "by": _by(complaint, e), "from_status": e.from_status, "to_status": e.to_status,
             "note": e.note} for e in complaint.events]


class ComplaintOut(Schema):
    number = fields.String()
    status = fields.String(metadata={"enum": ComplaintStatus.values(),
                                     "description": "filed 待商家答复, answered 商家已答复, escalated 待平台处理, "
                                                    "resolved 已解决, upheld 投诉成立, partly_upheld 部分成立, "
                                                    "rejected 投诉不成立."})
    status_label = _string(lambda c: str(ComplaintStatus.__labels__[c.status]), "In the request's language.")
    category = fields.String(metadata={"enum": ComplaintCategory.values()})
    category_label = _string(lambda c: str(ComplaintCategory.__labels__[c.category]), "In the request's language.")
    description = fields.String(metadata={"description": "What happened (争议事实)."})
    claim = fields.String(metadata={"enum": ComplaintClaim.values(),
                                    "description": "What the resident asks for; empty on complaints filed before it "
                                                   "was asked."})
    claim_label = _string(lambda c: str(ComplaintClaim.__labels__[c.claim]) if c.claim else "",
                          "In the request's language.")
    claim_detail = fields.String()
    complainant_address = fields.String(metadata={"description": "The resident's postal address (通讯地址)."})
    order_number = _string(lambda c: c.order.number)
    group_number = _string(lambda c: c.order.group.number)
    shop = fields.Nested(ShopRef)
    filed_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True, metadata={
        "description": "When the current step is due: the merchant's answer (then it goes to the operator), the "
                       "resident's reply (then the answer stands) or the operator's decision; null once closed."})
    answer_due = fields.DateTime()
    answer = fields.String(metadata={"description": "The merchant's answer; empty until then."})
    answered_at = fields.DateTime(allow_none=True)
    escalated_at = fields.DateTime(allow_none=True)
    escalated_automatically = fields.Boolean(metadata={"description": "True when the merchant's silence escalated it."})
    decide_due = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String()
    closed_at = fields.DateTime(allow_none=True)
    photos = fields.Function(lambda c: _evidence(c), metadata={
        "type": "array", "items": {"type": "object", "properties": {"url": {"type": "string"},
                                                                    "thumbnail": {"type": "string"}}},
        "description": "The evidence photos the resident sent (EXIF removed)."})
    actions = fields.Function(lambda c: ["accept", "escalate"] if c.status == ComplaintStatus.answered else [],
                              metadata={"type": "array", "items": {"type": "string", "enum": ["accept", "escalate"]},
                                        "description": "What the resident may do now."})
    events = Computed(_events, ComplaintEventOut, many=True, metadata={"description": "Every step, oldest first."})


class ShopComplaintOut(ComplaintOut):
    class Meta:
        # The merchant reads what is asked, not where the resident lives once the order is over.
        exclude = ("complainant_address",)

    actions = fields.Function(lambda c: ["answer"] if c.status == ComplaintStatus.filed else [],
                              metadata={"type": "array", "items": {"type": "string", "enum": ["answer"]},
                                        "description": "What the merchant may do now."})


ComplaintPage = paging.page_schema("ComplaintPage", ComplaintOut, description="Newest first.",
                                    total=paging.total_field())
ShopComplaintPage = paging.page_schema("ShopComplaintPage", ShopComplaintOut, description="Newest first.",
                                        total=paging.total_field())


class ComplaintQuery(paging.PageArgs, paging.Period):
    """``since``/``until``: when the complaint was filed."""

    status = fields.String(validate=validate.OneOf(ComplaintStatus.values(), error=_l("不认识的投诉状态。")),
                           metadata={"description": "Only complaints in this status (filed: waiting for the answer)."})
