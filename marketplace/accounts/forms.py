from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from marketplace.core.i18n import LOCALES
from marketplace.core.text import plain_text


class SignupForm(FlaskForm):
    identifier = StringField(_l("邮箱或手机号"), validators=[DataRequired(_l("请填写邮箱或手机号。")), Length(max=254)])
    display_name = StringField(_l("称呼"), validators=[DataRequired(_l("请填写称呼。")), Length(max=100), plain_text])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请设置密码。")), Length(max=200)])
    confirm = PasswordField(_l("确认密码"), validators=[EqualTo("password", _l("两次输入的密码不一致。"))])


class LoginForm(FlaskForm):
    identifier = StringField(_l("邮箱或手机号"), validators=[DataRequired(_l("请填写邮箱或手机号。")), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=200)])
    remember = BooleanField(_l("记住我"))
    next = HiddenField()


class ResetRequestForm(FlaskForm):
    identifier = StringField(_l("邮箱或手机号"), validators=[DataRequired(_l("请填写邮箱或手机号。")), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请设置新密码。")), Length(max=200)])
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("password", _l("两次输入的密码不一致。"))])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请填写当前密码。")), Length(max=200)],
                                     render_kw={"autocomplete": "current-password"})
    password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请设置新密码。")), Length(max=200)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("password", _l("两次输入的密码不一致。"))],
                            render_kw={"autocomplete": "new-password"})


class ProfileForm(FlaskForm):
    display_name = StringField(_l("称呼"), validators=[DataRequired(_l("请填写称呼。")), Length(max=100), plain_text])
    locale = SelectField(_l("语言"), choices=[SelectChoice(code, name) for code, name in LOCALES.items()])


class LogoutForm(FlaskForm):
    pass


class CloseAccountForm(FlaskForm):
    password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请填写当前密码。")), Length(max=200)])
    understood = BooleanField(_l("我已了解：注销后无法登录，也无法恢复此账户。"),
                              validators=[DataRequired(_l("请勾选确认。"))])
