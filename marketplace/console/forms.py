from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from marketplace.core.text import plain_text
from marketplace.shops.models import WEEKDAY_LABELS, WEEKDAYS
from marketplace.tenancy.models import TenantStatus


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
