"""What the operator API reads and writes: a tenant's settings and its shop applications (入驻申请).

Validation messages are Chinese, translated when the error is rendered (``views.problem_errors``); the bounds are
the operator console's (``console.order_settings``), so the API accepts exactly what the console's form accepts.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from marketplace.api import paging
from marketplace.api.schemas import Text
from marketplace.console.order_settings import COMMISSION_BP, PAYMENT_MINUTES, RESPOND_HOURS
from marketplace.shops.applications import MAX_REASON, ShopApplicationStatus

_COLOUR = validate.Regexp(r"^#[0-9a-fA-F]{6}\Z", error=_l("颜色格式应为 #RRGGBB。"))


def _bounded(bounds: tuple[int, int], message, **kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=bounds[0], max=bounds[1], error=message),
                          **kwargs)


# -- settings ----------------------------------------------------------------------------------------------------

class BrandOut(Schema):
    primary_color = fields.String(allow_none=True, metadata={"description": "#rrggbb, or null (the theme's own)."})
    accent_color = fields.String(allow_none=True, metadata={"description": "#rrggbb, or null (the theme's own)."})


class OrderSettingsOut(Schema):
    commission_bp = fields.Integer(metadata={"description": "平台佣金，基点（150 即 1.50%）。", "example": 150})
    payment_minutes = fields.Integer(metadata={"description": "付款期限（分钟）。", "example": 30})
    offline_payment_minutes = fields.Integer(allow_none=True, metadata={
        "description": "线下付款的期限（分钟）；null 表示与 payment_minutes 相同。"})
    return_respond_hours = fields.Integer(metadata={"description": "商户答复退货申请的期限（小时）。"})


class OperatorSettingsOut(Schema):
    slug = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    kind = fields.String(metadata={"description": "street（商业街）或 market（市场）。"})
    status = fields.String(metadata={"description": "draft（筹备中）、live（运营中）或 suspended（已暂停）。"})
    status_label = fields.String()
    currency = fields.String(metadata={"example": "CNY"})
    timezone = fields.String(metadata={"example": "Asia/Shanghai"})
    district_zh = fields.String()
    district_en = fields.String()
    address_zh = fields.String()
    address_en = fields.String()
    operator_name = fields.String(metadata={"description": "运营机构名称。"})
    operator_uscc = fields.String(metadata={"description": "运营机构统一社会信用代码。"})
    closing_on = fields.Date(allow_none=True, metadata={"description": "已公示的终止经营日期，或 null。"})
    brand = fields.Nested(BrandOut)
    orders = fields.Nested(OrderSettingsOut)


class BrandPatch(Schema):
    primary_color = Text(allow_none=True, validate=_COLOUR, metadata={"description": "#rrggbb；null 恢复主题默认。"})
    accent_color = Text(allow_none=True, validate=_COLOUR, metadata={"description": "#rrggbb；null 恢复主题默认。"})


class OrderSettingsPatch(Schema):
    commission_bp = _bounded(COMMISSION_BP, _l("佣金应为 0 到 3000 之间的整数（基点，150 即 1.50 个百分点）。"))
    payment_minutes = _bounded(PAYMENT_MINUTES, _l("付款期限应为 5 到 10080 之间的整数（分钟）。"))
    offline_payment_minutes = _bounded(PAYMENT_MINUTES, _l("线下付款期限应为 5 到 10080 之间的整数（分钟），或 null。"),
                                       allow_none=True)
    return_respond_hours = _bounded(RESPOND_HOURS, _l("退货答复期限应为 1 到 720 之间的整数（小时）。"))


class OperatorSettingsPatch(Schema):
    """Only the fields given change; the others keep their values. Everything is checked before anything is
    stored: one bad field and nothing changes."""

    brand = fields.Nested(BrandPatch)
    timezone = Text(validate=validate.Length(min=1, max=63, error=_l("请填写时区。")),
                    metadata={"description": "IANA 时区，例如 Asia/Shanghai。"})
    orders = fields.Nested(OrderSettingsPatch)


# -- shop applications -----------------------------------------------------------------------------------------

class ApplicationQuery(paging.PageArgs):
    status = fields.String(validate=validate.OneOf(ShopApplicationStatus.values()), metadata={
        "description": "只列出这个状态的申请：submitted（待审核）、approved、rejected、withdrawn。"})


class Person(Schema):
    id = fields.Integer()
    display_name = fields.String()


class ApplicationCategory(Schema):
    slug = fields.String()
    name = fields.String()


class ApplicationShop(Schema):
    id = fields.Integer()
    slug = fields.String()


class ApplicationOut(Schema):
    """One shop application, with what the operator console shows the operator (the contact phone the applicant
    gave for it, never the applicant's account details)."""

    id = fields.Integer()
    status = fields.String(metadata={"description": "submitted、approved、rejected 或 withdrawn。"})
    status_label = fields.String()
    kind = fields.String(metadata={"description": "enterprise、individual_business 或 natural_person。"})
    kind_label = fields.String()
    legal_name = fields.String()
    registration_number = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String(metadata={"description": "申请人为这份申请填写的联系电话。"})
    shop_name_zh = fields.String()
    shop_name_en = fields.String()
    slug = fields.String(metadata={"description": "申请的店铺网址名。"})
    category = fields.Nested(ApplicationCategory, allow_none=True)
    wished_place = fields.String()
    note = fields.String()
    applicant = fields.Nested(Person)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.Nested(Person, allow_none=True)
    reason = fields.String(metadata={"description": "驳回原因（申请人能看到）。"})
    shop = fields.Nested(ApplicationShop, allow_none=True, metadata={"description": "批准后开通的店铺。"})


ApplicationPage = paging.page_schema("OperatorApplicationPage", ApplicationOut,
                                     description="入驻申请，先提交的在前。")


class RejectIn(Schema):
    reason = Text(required=True, validate=validate.Length(max=MAX_REASON, error=_l("最多 {max} 个。")),
                  metadata={"description": "驳回原因，申请人会看到。"})
