from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from marketplace.core.text import plain_text
from marketplace.shops.models import WEEKDAY_LABELS, WEEKDAYS
from marketplace.tenancy.models import TenantKind, TenantStatus


class ShopProfileForm(FlaskForm):
    name_zh = StringField(_l("店铺名称（中文）"),
                          validators=[DataRequired(_l("请填写店铺中文名称。")), Length(max=200), plain_text])
    name_en = StringField(_l("店铺名称（英文）"), validators=[Length(max=200), plain_text])
    description_zh = TextAreaField(_l("店铺介绍（中文）"), validators=[Length(max=5000)])
    description_en = TextAreaField(_l("店铺介绍（英文）"), validators=[Length(max=5000)])
    phone = StringField(_l("电话"), validators=[Length(max=32)])
    # The merchant behind the shop (checked by ``shops.services.update_merchant_identity``).
    legal_name = StringField(_l("经营者名称"), validators=[Length(max=200), plain_text])
    registration_number = StringField(_l("统一社会信用代码/注册号"), validators=[Length(max=32)])


for _day in WEEKDAYS:
    setattr(ShopProfileForm, f"hours_{_day}", StringField(WEEKDAY_LABELS[_day], validators=[Length(max=20)]))


class TenantStatusForm(FlaskForm):
    status = SelectField(_l("状态"), choices=[SelectChoice(s.value, s.__labels__[s.value]) for s in TenantStatus])


class TenantBrandForm(FlaskForm):
    primary_color = StringField(_l("主色"), validators=[Optional(), Regexp(r"^#[0-9a-fA-F]{6}\Z",
                                                                        message=_l("颜色格式应为 #RRGGBB。"))])
    accent_color = StringField(_l("辅色"), validators=[Optional(), Regexp(r"^#[0-9a-fA-F]{6}\Z",
                                                                       message=_l("颜色格式应为 #RRGGBB。"))])
    timezone = StringField(_l("时区"), validators=[DataRequired(_l("请填写时区。")), Length(max=63)])


_COLOUR = Regexp(r"^#[0-9a-fA-F]{6}\Z", message=_l("颜色格式应为 #RRGGBB。"))


class TenantLaunchForm(FlaskForm):
    """The fixed part of /operator/new; the module providers and their settings are added per request
    (``console.tenants.launch_form``), generated from each provider's own settings schema."""

    # Kind and theme are checked by the view, with messages of its own.
    kind = SelectField(_l("类型"), choices=[SelectChoice(k.value, k.__labels__[k.value]) for k in TenantKind],
                       validate_choice=False)
    slug = StringField(_l("网址名（slug）"), validators=[
        DataRequired(_l("请填写网址名。")), Length(max=63),
        Regexp(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z",
               message=_l("网址名只能用小写字母、数字和连字符，不能以连字符开头或结尾，最长 63 个字符。"))])
    name_zh = StringField(_l("名称（中文）"), validators=[DataRequired(_l("请填写中文名称。")), Length(max=200),
                                                     plain_text])
    name_en = StringField(_l("名称（英文）"), validators=[DataRequired(_l("请填写英文名称。")), Length(max=200),
                                                     plain_text])
    district_zh = StringField(_l("区县（中文）"), validators=[Length(max=100), plain_text])
    district_en = StringField(_l("区县（英文）"), validators=[Length(max=100), plain_text])
    address_zh = StringField(_l("地址（中文）"), validators=[Length(max=300), plain_text])
    address_en = StringField(_l("地址（英文）"), validators=[Length(max=300), plain_text])
    domains = TextAreaField(_l("独立域名（每行一个，可不填）"), validators=[Length(max=2000)])
    theme = SelectField(_l("主题"), choices=[], validate_choice=False)  # the installed themes, set per request
    primary_color = StringField(_l("主色"), validators=[Optional(), _COLOUR])
    accent_color = StringField(_l("辅色"), validators=[Optional(), _COLOUR])
    commission_percent = StringField(_l("平台佣金（%）"), default="0.00")
    street_length_m = StringField(_l("街道长度（米，仅商业街）"), default="500")


class OperatorGrantForm(FlaskForm):
    identifier = StringField(_l("账号（邮箱或手机号）"), validators=[DataRequired(_l("请填写邮箱或手机号。")),
                                                               Length(max=254)])


class SuspendForm(FlaskForm):
    reason = TextAreaField(_l("暂停原因"), validators=[DataRequired(_l("请写明暂停原因。")), Length(max=500),
                                                   plain_text])


class ShopLocationForm(FlaskForm):
    """Where a shop is: a street number, side and metres along the street, or a market stall's building, floor,
    zone and stall with its place on the floor plan. Checked against the tenant's layout by the view."""

    street_number = StringField(_l("门牌号"), validators=[Length(max=32), plain_text])
    # Choices come from the tenant's layout; the view checks them with its own messages.
    street_side = SelectField(_l("街道一侧"), choices=[], validate_choice=False)
    building = SelectField(_l("楼馆"), choices=[], validate_choice=False)
    floor = StringField(_l("楼层"), validators=[Length(max=4)])
    zone = StringField(_l("区域"), validators=[Length(max=32), plain_text])
    stall = StringField(_l("摊位号"), validators=[Length(max=32), plain_text])
    map_x = StringField(_l("位置 x（米）"), validators=[Length(max=12)])
    map_y = StringField(_l("位置 y（米）"), validators=[Length(max=12)])
    map_width = StringField(_l("宽度/门面（米）"), validators=[Length(max=12)])
    map_depth = StringField(_l("进深（米）"), validators=[Length(max=12)])


class ConfirmForm(FlaskForm):
    """A button that only needs its CSRF token (take live, revoke)."""


class AssistedResetForm(FlaskForm):
    """An operator makes a password-reset link for a merchant who came to the service desk in person."""

    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请填写对方登录用的手机号。")), Length(max=32)])
    #: Unticked by default: the operator states each time that they saw the person's identity document.
    identity_checked = BooleanField(_l("已当面核验本人有效身份证件"),
                                    validators=[DataRequired(_l("请先当面核验本人有效身份证件，并勾选确认。"))])
    note = StringField(_l("备注"), validators=[Length(max=200), plain_text])
