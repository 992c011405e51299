"""Merchant console (/merchant/) and operator console (/operator/). Never themed."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from marketplace.accounts.authz import Permission, can, permission_required, require
from marketplace.console import services
from marketplace.console import tenants as tenants_console
from marketplace.console.forms import ConfirmForm, ShopProfileForm, SuspendForm, TenantBrandForm, TenantStatusForm
from marketplace.core import audit
from marketplace.core.forms import add_form_error
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.shops.models import WEEKDAYS, MerchantKind
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.models import TenantStatus

merchant = Blueprint("merchant", __name__, url_prefix="/merchant")
operator = Blueprint("operator", __name__, url_prefix="/operator")


def _tenant_shop_or_404(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    return shop


# -- merchant -----------------------------------------------------------------------------------------

@merchant.route("/")
@login_required
@permission_required(Permission.merchant_console)
def dashboard():
    return render_template("console/merchant/dashboard.html", shops=services.shops_for_user(current_user))


@merchant.route("/<slug:tenant_slug>/<slug:shop_slug>/")
@login_required
def shop(shop_slug: str):
    found = _tenant_shop_or_404(shop_slug)
    require(Permission.view_shop, found)
    return render_template("console/merchant/shop.html", shop=found,
                           can_edit=can(current_user, Permission.edit_shop, found))


def _keep_verified_identity(merchant, legal_name: str, registration_number: str) -> None:
    """Once the platform has decided on a merchant's identity, the profile cannot change it: a new identity is a
    new verification application (what the approval, the licence page and the badges vouch for stays true)."""
    from marketplace.trust.verification import approval_for  # the trust domain builds on shops

    approval = approval_for(merchant)
    if approval is None or approval.decided_by_id is None:  # no operator has checked this identity yet
        return
    same_name = (legal_name or "").strip() == merchant.legal_name
    same_number = shops.normalise_identifier(registration_number or "") == (merchant.registration_number or "")
    if not (same_name and same_number):
        raise shops.ShopError(_("经营者名称和注册号已经平台审核，不能在这里修改；如有变更，请提交新的经营者认证。"),
                              field="legal_name")


@merchant.route("/<slug:tenant_slug>/<slug:shop_slug>/profile", methods=["GET", "POST"])
@login_required
def shop_profile(shop_slug: str):
    found = _tenant_shop_or_404(shop_slug)
    require(Permission.edit_shop, found)
    form = ShopProfileForm(obj=found)
    if request.method == "GET":
        for day in WEEKDAYS:
            getattr(form, f"hours_{day}").data = (found.opening_hours or {}).get(day, "")
        form.legal_name.data = found.merchant.legal_name
        form.registration_number.data = found.merchant.registration_number
    if form.validate_on_submit():
        try:
            shops.update_shop_profile(
                found, name_zh=form.name_zh.data, name_en=form.name_en.data,
                description_zh=form.description_zh.data, description_en=form.description_en.data,
                phone=form.phone.data,
                opening_hours={day: getattr(form, f"hours_{day}").data for day in WEEKDAYS},
            )
            _keep_verified_identity(found.merchant, form.legal_name.data, form.registration_number.data)
            shops.update_merchant_identity(found.merchant, legal_name=form.legal_name.data,
                                           registration_number=form.registration_number.data)
        except shops.ShopError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field)
        else:
            db.session.commit()
            flash(_("店铺资料已保存。"), "success")
            return redirect(url_for("merchant.shop", shop_slug=found.slug))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("console/merchant/profile.html", shop=found, form=form, weekdays=WEEKDAYS,
                           merchant_kind=MerchantKind(found.merchant.kind)), status


# -- operator -----------------------------------------------------------------------------------------

@operator.route("/")
@login_required
@permission_required(Permission.operator_console)
def tenants():
    return render_template("console/operator/tenants.html", rows=services.tenants_for_operator(current_user),
                           is_admin=can(current_user, Permission.manage_platform))


def _tenant_page(brand_form: TenantBrandForm | None = None, status: int = 200):
    tenant = current_tenant._get_current_object()
    brand_form = brand_form or TenantBrandForm(primary_color=tenant.brand.get("primary_color"),
                                               accent_color=tenant.brand.get("accent_color"), timezone=tenant.timezone)
    return render_template("console/operator/tenant.html", tenant=tenant, brand_form=brand_form,
                           shops=shops.shops_of_current_tenant(include_suspended=True, with_merchants=True),
                           status_form=TenantStatusForm(status=tenant.status),
                           can_suspend=can(current_user, Permission.manage_platform),
                           launch_problems=tenants_console.launch_problems(tenant)
                           if tenant.status != TenantStatus.live else [],
                           confirm_form=ConfirmForm(), suspend_form=SuspendForm(),
                           more_pages=_pages_of_other_modules()), status


#: Operator pages of modules that may not be installed in every tree: linked from the tenant page when present.
OPTIONAL_PAGES = (("operator_documents.documents", _l("服务协议与交易规则")),
                  ("operator_conformance.conformance", _l("规范自检")),
                  ("operator_reports.tenant_reports", _l("统计报表")),
                  ("operator_enforcement.enforcement", _l("违法处置与公示")),
                  ("operator_ip_notices.queue", _l("知识产权通知")),
                  ("operator_public_records.records", _l("公示信用记录")))


def _pages_of_other_modules() -> list[tuple[str, str]]:
    return [(str(label), url_for(endpoint)) for endpoint, label in OPTIONAL_PAGES
            if endpoint in current_app.view_functions]


@operator.route("/<slug:tenant_slug>/")
@login_required
def tenant():
    require(Permission.operate_tenant, current_tenant)
    return _tenant_page()


@operator.route("/<slug:tenant_slug>/status", methods=["POST"])
@login_required
def tenant_status():
    require(Permission.operate_tenant, current_tenant)
    form = TenantStatusForm()
    if not form.validate_on_submit():
        flash(_("请选择有效的状态。"), "error")
    else:
        tenant = current_tenant._get_current_object()
        previous = tenant.status
        # Launching a draft asks the same as the "take live" button: nothing required may be missing. (Restoring a
        # suspended tenant is the admins' call, made with the reason for the suspension in view.)
        problems = tenants_console.launch_problems(tenant) \
            if form.status.data == TenantStatus.live and previous == TenantStatus.draft else []
        try:
            if problems:
                raise services.ConsoleError(_("还不能上线：%(reason)s", reason="；".join(problems)))
            services.change_tenant_status(tenant, form.status.data,
                                          may_suspend=can(current_user, Permission.manage_platform))
        except services.ConsoleError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            if tenant.status != previous:
                audit.record("tenant.status_changed", target=tenant, previous=previous, status=tenant.status)
            db.session.commit()
            flash(_("状态已更新。"), "success")
    return redirect(url_for("operator.tenant")), 303


@operator.route("/<slug:tenant_slug>/brand", methods=["POST"])
@login_required
def tenant_brand():
    require(Permission.operate_tenant, current_tenant)
    form = TenantBrandForm()
    if form.validate_on_submit():
        tenant = current_tenant._get_current_object()
        try:  # recorded in the audit log by the service when something changed
            services.update_tenant_brand(tenant, primary_color=form.primary_color.data,
                                         accent_color=form.accent_color.data, timezone=form.timezone.data)
        except services.ConsoleError as error:
            db.session.rollback()
            add_form_error(form, str(error), "timezone")
        else:
            db.session.commit()
            flash(_("已保存。"), "success")
            return redirect(url_for("operator.tenant")), 303
    return _tenant_page(form, 400)


def register(app) -> None:
    from marketplace.console import (
        account_help,
        api_keys,
        catalog_admin,
        freight_quotes,
        imports,
        ledgers,
        licences,
        orders,
        placements,
        products,
        quotes,
        search_log,
    )
    from marketplace.console import order_settings as order_settings_console
    from marketplace.console import payments as payments_console
    from marketplace.console import returns as returns_console
    from marketplace.console import settlement as settlement_console
    from marketplace.console import webhooks as webhooks_console

    app.register_blueprint(merchant)
    app.register_blueprint(operator)
    app.register_blueprint(tenants_console.blueprint)
    for module in (products, imports, catalog_admin, quotes, freight_quotes, licences, search_log,
                   order_settings_console, placements, ledgers, account_help, api_keys):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(orders.merchant_blueprint)
    app.register_blueprint(orders.operator_blueprint)
    app.register_blueprint(returns_console.returns_blueprint)
    app.register_blueprint(returns_console.ledger_blueprint)
    app.register_blueprint(payments_console.merchant_blueprint)
    app.register_blueprint(payments_console.operator_blueprint)
    app.register_blueprint(settlement_console.merchant_blueprint)
    app.register_blueprint(settlement_console.operator_blueprint)
    app.register_blueprint(webhooks_console.merchant_blueprint)
    app.register_blueprint(webhooks_console.operator_blueprint)
    app.register_blueprint(api_keys.operator_blueprint)
