"""Shop pages: joining a street or market (入驻申请), the resident's form and the operator's decisions.

* ``/t/<tenant>/join`` (signed in; signed-out visitors go to the login page and come back): the applicant's
  applications in this tenant with their status and the operator's decision, the form while none is open, and a
  button to withdraw the open one. Unlike every other tenant page it also answers while the tenant is still a
  draft — stall-holders sign up while a market is being set up; a suspended tenant answers as everywhere else.
* ``/operator/<tenant>/shop-applications`` and ``…/<id>`` (``operate_tenant``): the list, waiting ones first with
  the counts by status, and one application with its approve and reject forms. Another tenant's application is
  not found (404). Approving redirects to the application, which links to placing the new shop on the map.

Bad input answers with a message next to the field (400), never a server error.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from marketplace.accounts.authz import Permission, require
from marketplace.core.db import MAX_ID
from marketplace.core.forms import add_form_error
from marketplace.core.text import plain_text
from marketplace.core.themes import render_themed
from marketplace.core.views import page_arg
from marketplace.extensions import db
from marketplace.shops import applications
from marketplace.shops.applications import ApplicationError, ShopApplicationStatus
from marketplace.shops.models import MerchantKind
from marketplace.storefront.views import _tenant_must_be_open  # the rule of every tenant page, but for drafts
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.models import TenantStatus

resident_blueprint = Blueprint("shop_applications", __name__, url_prefix="/t/<slug:tenant_slug>")
operator_blueprint = Blueprint("operator_shop_applications", __name__,
                               url_prefix="/operator/<slug:tenant_slug>/shop-applications")


class ShopApplicationForm(FlaskForm):
    # Kind and category are checked by ``applications.submit_application``, with its own messages.
    kind = SelectField(_l("经营者类型"), validate_choice=False)
    legal_name = StringField(_l("经营者名称"), validators=[Length(max=200), plain_text])
    registration_number = StringField(_l("统一社会信用代码"), validators=[Length(max=32)])
    contact_name = StringField(_l("联系人"), validators=[Length(max=100), plain_text])
    contact_phone = StringField(_l("联系电话"), validators=[Length(max=32)])
    shop_name_zh = StringField(_l("店铺名称（中文）"), validators=[Length(max=200), plain_text])
    shop_name_en = StringField(_l("店铺名称（英文）"), validators=[Length(max=200), plain_text])
    slug = StringField(_l("店铺网址名"), validators=[Length(max=63)])
    category_id = SelectField(_l("经营类别"), validate_choice=False)
    wished_place = StringField(_l("希望的位置"), validators=[Length(max=100), plain_text])
    note = TextAreaField(_l("备注"), validators=[Length(max=applications.MAX_NOTE), plain_text])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("驳回原因"), validators=[Length(max=applications.MAX_REASON), plain_text])


class ConfirmForm(FlaskForm):
    """A button: only the CSRF token (approve, withdraw)."""


# -- the resident -----------------------------------------------------------------------------------------------

@resident_blueprint.before_request
def _tenant_takes_applications():
    """The one tenant page open while the tenant is a draft (it is being set up: stall-holders sign up now).
    Otherwise the rule of every tenant page: live tenants answer, suspended ones say so."""
    if current_tenant.status == TenantStatus.draft:
        return None
    return _tenant_must_be_open()


def _application_form() -> ShopApplicationForm:
    form = ShopApplicationForm()
    form.kind.choices = [SelectChoice(kind.value, kind.label) for kind in MerchantKind]
    if not form.is_submitted():
        form.kind.data = MerchantKind.individual_business  # most stall-holders
    form.category_id.choices = [SelectChoice("", _("（不选）"))] + [
        SelectChoice(str(category.id), category.name()) for category in applications.top_level_categories()]
    return form


def _category_id(raw: str | None) -> int | None:
    """The chosen category's id; anything that is not one becomes an id no category has (refused, with a message)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= MAX_ID else 0


def _input(form: ShopApplicationForm) -> applications.ApplicationInput:
    return applications.ApplicationInput(
        kind=form.kind.data or "", legal_name=form.legal_name.data or "",
        registration_number=form.registration_number.data or "", contact_name=form.contact_name.data or "",
        contact_phone=form.contact_phone.data or "", shop_name_zh=form.shop_name_zh.data or "",
        shop_name_en=form.shop_name_en.data or "", slug=form.slug.data or "",
        category_id=_category_id(form.category_id.data), wished_place=form.wished_place.data or "",
        note=form.note.data or "")


@resident_blueprint.route("/join", methods=["GET", "POST"])
@login_required
def join():
    tenant = current_tenant._get_current_object()
    form = _application_form()
    if request.method == "POST" and applications.open_application_of(current_user.id) is not None:
        flash(_("您在这里已有一份待审核的入驻申请。"), "info")
        return redirect(url_for(".join")), 303
    if form.validate_on_submit():
        try:
            applications.submit_application(tenant, current_user, _input(form))
        except ApplicationError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field if error.field in form else None)
        else:
            db.session.commit()
            flash(_("入驻申请已提交，请等待运营方审核。"), "success")
            return redirect(url_for(".join")), 303
    mine = applications.applications_of(current_user.id)
    status = 400 if form.errors or form.form_errors else 200
    return render_themed("shops/join.html", form=form, applications=mine, Status=ShopApplicationStatus,
                         open_application=next((a for a in mine if a.is_open), None), confirm_form=ConfirmForm(),
                         closing_announced=tenant.closing_on is not None), status


@resident_blueprint.route("/join/withdraw", methods=["POST"])
@login_required
def withdraw():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    found = applications.open_application_of(current_user.id)
    if found is None:
        flash(_("没有待审核的入驻申请。"), "info")
    else:
        applications.withdraw_application(found, current_user)
        db.session.commit()
        flash(_("入驻申请已撤回。"), "success")
    return redirect(url_for(".join")), 303


# -- the operator -----------------------------------------------------------------------------------------------

@operator_blueprint.app_template_global()
def waiting_shop_applications() -> int:
    """How many applications wait in the current tenant (the operator's tenant page shows it beside the link)."""
    return applications.waiting_count()


def _application_or_404(application_id: int, *, lock: bool = False) -> applications.ShopApplication:
    found = applications.application_in_tenant(application_id, lock=lock)
    if found is None:
        abort(404)
    return found


@operator_blueprint.route("")
@login_required
def index():
    require(Permission.operate_tenant, current_tenant)
    status = request.args.get("status", "")
    page = applications.applications_page(status=status if status in ShopApplicationStatus.values() else None,
                                          page=page_arg())
    html = render_template("console/shop_applications/list.html", tenant=current_tenant._get_current_object(),
                           page=page, counts=applications.status_counts(), status=status,
                           Status=ShopApplicationStatus)
    return (html, 404) if page.out_of_range else html


def _detail(found: applications.ShopApplication, reject_form: RejectForm | None = None, status: int = 200):
    return render_template(
        "console/shop_applications/detail.html", tenant=current_tenant._get_current_object(), application=found,
        reject_form=reject_form or RejectForm(), confirm_form=ConfirmForm(), Status=ShopApplicationStatus,
        slug_taken=found.is_open and applications.slug_taken_by_shop(found.slug),
        merchant_to_reuse=applications.merchant_to_reuse(found) if found.is_open else None), status


@operator_blueprint.route("/<int:application_id>")
@login_required
def detail(application_id: int):
    require(Permission.operate_tenant, current_tenant)
    return _detail(_application_or_404(application_id))


@operator_blueprint.route("/<int:application_id>/approve", methods=["POST"])
@login_required
def approve(application_id: int):
    require(Permission.operate_tenant, current_tenant)
    if not ConfirmForm().validate_on_submit():
        _application_or_404(application_id)  # someone else's number answers 404 before a bad form's 400
        abort(400)
    found = _application_or_404(application_id, lock=True)
    try:
        applications.approve_application(found, current_user)
    except ApplicationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已批准入驻，店铺已开通；请商户在商户后台提交经营者认证。"), "success")
    return redirect(url_for(".detail", application_id=application_id)), 303


@operator_blueprint.route("/<int:application_id>/reject", methods=["POST"])
@login_required
def reject(application_id: int):
    require(Permission.operate_tenant, current_tenant)
    found = _application_or_404(application_id, lock=True)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            applications.reject_application(found, form.reason.data, current_user)
        except ApplicationError as error:
            db.session.rollback()
            if error.field != "reason":  # decided meanwhile: the page says how
                flash(str(error), "error")
                return redirect(url_for(".detail", application_id=application_id)), 303
            add_form_error(form, str(error), "reason")
        else:
            db.session.commit()
            flash(_("已驳回入驻申请，申请人会看到驳回原因。"), "success")
            return redirect(url_for(".detail", application_id=application_id)), 303
    return _detail(_application_or_404(application_id), form, 400)


def register(app) -> None:
    app.register_blueprint(resident_blueprint)
    app.register_blueprint(operator_blueprint)
