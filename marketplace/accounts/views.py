"""Sign-up, login, logout, password change and reset, and the resident's account page."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from marketplace.accounts import address_views, closure, purchases, services, token_views
from marketplace.accounts.authz import grants_of
from marketplace.accounts.forms import (
    ChangePasswordForm,
    CloseAccountForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignupForm,
)
from marketplace.accounts.models import User
from marketplace.core.forms import add_form_error
from marketplace.core.i18n import LOCALE_COOKIE, LOCALES
from marketplace.core.themes import render_themed
from marketplace.core.views import Page, page_arg, safe_next
from marketplace.extensions import db, login_manager
from marketplace.orders import services as orders
from marketplace.orders.models import Cart, OrderStatus
from marketplace.storefront.cart import guest_cart_token, guest_cookie
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant

blueprint = Blueprint("accounts", __name__, url_prefix="/account")
language = Blueprint("language", __name__)


@language.route("/lang", methods=["POST"])
def choose_language():
    """The language switch in every page header: kept in a cookie, and on the account when signed in."""
    locale = request.form.get("locale", "")
    response = redirect(safe_next(request.form.get("next"), url_for("storefront.portal")))
    if locale in LOCALES:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
        if current_user.is_authenticated:
            services.update_profile(current_user, display_name=current_user.display_name, locale=locale)
            db.session.commit()
    return response


@blueprint.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            chosen = request.cookies.get(LOCALE_COOKIE)  # the cookie is the visitor's to forge
            user = services.register_user(form.identifier.data, form.password.data, form.display_name.data,
                                          locale=chosen if chosen in LOCALES else None)
        except services.AccountError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field)
        else:
            db.session.commit()
            login_user(user)
            _merge_guest_carts(user)
            flash(_("注册成功，欢迎来到网上商都！"), "success")
            return redirect(url_for("accounts.account"))
    return render_themed("accounts/signup.html", form=form), 400 if form.errors or form.form_errors else 200


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.identifier.data, form.password.data,
                                         remote_addr=request.remote_addr or "")
        except services.AccountError as error:
            db.session.commit()  # the failed attempt is recorded for throttling
            form.form_errors.append(str(error))
            status = 429 if isinstance(error, services.LoginThrottled) else 400
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            _merge_guest_carts(user)
            return redirect(safe_next(form.next.data, url_for("accounts.account")))
    elif form.errors:
        status = 400
    return render_themed("accounts/login.html", form=form), status


def _merge_guest_carts(user: User) -> None:
    """What the visitor put in carts before signing in joins their own cart, tenant by tenant."""
    raw = guest_cookie()
    if raw is None:
        return
    tenants = {t.id: t for t in db.session.scalars(select(Tenant))}
    tokens = [guest_cart_token(raw, tenant_id) for tenant_id in tenants]
    with all_tenants():  # the guest's carts in every tenant: found by this cookie's tokens only
        guests = list(db.session.scalars(select(Cart).where(Cart.token.in_(tokens), Cart.user_id.is_(None))))
    for guest in guests:
        tenant = tenants[guest.tenant_id]
        with tenant_scope(tenant):
            orders.merge_into(orders.cart_for(tenant, user_id=user.id, create=True), guest)
    if guests:
        db.session.commit()


#: Checkouts (order groups) per page of the resident's orders.
ORDERS_PAGE_SIZE = 20


@blueprint.route("/orders", endpoint="orders")
@login_required
def orders_list():
    """The resident's checkouts from every tenant, newest first, 20 to a page (``?page=``; a page that does not
    exist shows the first)."""
    page = Page(items=[], number=page_arg(), total=purchases.checkout_count(current_user.id), size=ORDERS_PAGE_SIZE)
    if page.out_of_range:
        page.number = 1
    page.items = purchases.checkouts(current_user.id, limit=page.size, offset=(page.number - 1) * page.size)
    tenants = purchases.tenants_by_id(group.tenant_id for group in page.items)
    return render_themed("accounts/orders.html", page=page,
                         rows=[(group, tenants[group.tenant_id]) for group in page.items],
                         labels=OrderStatus.__labels__)


@blueprint.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("storefront.portal"))


@blueprint.route("/reset", methods=["GET", "POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        try:
            user = services.request_password_reset(
                form.identifier.data, lambda token: url_for("accounts.reset_password", token=token, _external=True)
            )
        except services.AccountError as error:
            add_form_error(form, str(error), error.field)
        else:
            db.session.commit()
            if user is not None and not user.email:
                flash(_("该账号只绑定了手机号，无法通过邮件重设。请带上本人有效身份证件到所在商业街或市场的服务台，"
                        "由运营方当面核验后为您生成重设链接。"), "info")
            else:
                flash(_("如果该账号存在，我们已发送重设密码的邮件，请查收。"), "info")
            return redirect(url_for("accounts.login"))
    return render_themed("accounts/reset_request.html", form=form), 400 if form.errors else 200


@blueprint.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        services.user_for_reset_token(token)
    except services.AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("accounts.reset_request"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except services.AccountError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field)
        else:
            db.session.commit()
            flash(_("密码已重设，请用新密码登录。"), "success")
            return redirect(url_for("accounts.login"))
    return render_themed("accounts/reset_password.html", form=form), 400 if form.errors else 200


@blueprint.route("/", methods=["GET", "POST"])
@login_required
def account():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.locale.data = current_user.locale or "zh_CN"
    if form.validate_on_submit():
        try:
            services.update_profile(current_user, display_name=form.display_name.data, locale=form.locale.data)
        except services.AccountError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field)
        else:
            db.session.commit()
            flash(_("已保存。"), "success")
            return redirect(url_for("accounts.account"))
    return render_themed("accounts/account.html", form=form, grants=grants_of(current_user)), \
        400 if form.errors else 200


@blueprint.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Replace the password, e.g. because someone may know it: every other browser is signed out, this one stays."""
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current_password.data, form.password.data,
                                     remote_addr=request.remote_addr or "")
        except services.AccountError as error:
            db.session.commit()  # only a failed attempt is pending: kept for throttling, as at login
            add_form_error(form, str(error), error.field)
            status = 429 if isinstance(error, services.LoginThrottled) else 400
        else:
            db.session.commit()
            # The session still names the old password's fingerprint: sign this browser in again under the new
            # one, and renew its remember-me cookie if it had one (the old cookie no longer loads the account).
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(user, remember=remembered)
            flash(_("密码已修改。其他设备上的登录已全部退出。"), "success")
            return redirect(url_for("accounts.account"))
    elif form.errors:
        status = 400
    return render_themed("accounts/password.html", form=form), status


@blueprint.route("/close", methods=["GET", "POST"])
@login_required
def close_account():
    """Close the account: the page says what goes and what the law keeps, lists anything still running that
    stops it, and asks for the password once more."""
    form = CloseAccountForm()
    status = 200
    if form.validate_on_submit():
        try:
            closure.close_account(current_user, form.password.data)
        except closure.ClosureRefused as refused:
            db.session.rollback()
            form.form_errors.append(str(refused))
            status = 409
        except services.AccountError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field)
            status = 400
        else:
            db.session.commit()
            logout_user()
            flash(_("您的账户已注销，个人信息已删除。依法保存的订单记录将在保存期满后清除。"), "success")
            return redirect(url_for("storefront.portal"))
    elif form.errors:
        status = 400
    return render_themed("accounts/close.html", form=form, blockers=closure.blockers(current_user),
                         hold_years=closure.HOLD_YEARS), status


def register(app) -> None:
    app.register_blueprint(blueprint)
    app.register_blueprint(language)
    app.register_blueprint(address_views.blueprint)
    app.register_blueprint(token_views.blueprint)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(session_id: str):
        user_id, _, fingerprint = session_id.partition(":")
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None or not user.active or fingerprint != user.credentials_fingerprint:
            return None  # deleted, deactivated, or the password changed since this session began
        return user
