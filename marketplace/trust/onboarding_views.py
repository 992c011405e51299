"""Onboarding pages: the merchant's verification application and the operator's decisions on it.

* ``/merchant/<tenant>/<shop>/verification`` (the shop's owner: ``edit_shop``): the current application with
  its status and the operator's message, the form to file it (again), the approval's term and a notice when
  re-verification is due within 30 days. Another tenant's shop is not found (404), another shop's owner is
  refused (403).
* ``/operator/<tenant>/applications/<id>/approve|reject|more|reveal`` (``operate_tenant``): the decisions, taken
  from the merchants page (``console/badges/merchants.html`` lists submitted applications first). ``reveal``
  answers a page with the full ID number, after recording who asked; the number never goes into a flash
  message (the session cookie) or a URL. Another tenant's application is not found (404).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from marketplace.accounts.authz import Permission, require
from marketplace.catalog import admin
from marketplace.core.db import utcnow
from marketplace.core.forms import add_form_error
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.shops.models import MerchantKind
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.models import Tenant
from marketplace.trust import onboarding, verification
from marketplace.trust.onboarding import ApplicationStatus, OnboardingError

merchant_blueprint = Blueprint("merchant_onboarding", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/verification")
operator_blueprint = Blueprint("operator_onboarding", __name__,
                               url_prefix="/operator/<slug:tenant_slug>/applications")


class ApplicationForm(FlaskForm):
    kind = SelectField(_l("经营者类型"))
    legal_name = StringField(_l("经营者名称"), validators=[Length(max=200)])
    registration_number = StringField(_l("统一社会信用代码"), validators=[Length(max=32)])
    resident_id = StringField(_l("居民身份证号码"), validators=[Length(max=32)],
                              render_kw={"autocomplete": "off", "spellcheck": "false"})
    id_consent = BooleanField(_l("我单独同意平台为核验经营者身份处理我的身份证号码（敏感个人信息），"
                                 "号码加密保存，页面只显示部分号码。"))
    legal_representative = StringField(_l("法定代表人/经营者"), validators=[Length(max=100)])
    contact_name = StringField(_l("联系人"), validators=[Length(max=100)])
    contact_phone = StringField(_l("联系电话"), validators=[Length(max=32)])
    business_address = StringField(_l("经营地址"), validators=[Length(max=300)])
    entity_type = StringField(_l("企业类型"), validators=[Length(max=64)])
    registered_capital = StringField(_l("注册资本（出资额）"), validators=[Length(max=64)])
    organisation_form = SelectField(_l("组成形式"), validate_choice=False)
    exemption = SelectField(_l("免于登记情形"), validate_choice=False)
    licence_image = FileField(_l("营业执照照片"))


class NoteForm(FlaskForm):
    note = TextAreaField(_l("说明"), validators=[Length(max=onboarding.MAX_NOTE)])


class ConfirmForm(FlaskForm):
    """A button: only the CSRF token."""


def _licence_field(kind: str, part: str) -> str:
    return f"licence_{part}_{kind}"


def _application_form(kinds) -> ApplicationForm:
    """The form, with a number and an expiry field for each licence kind the installed packs ask for."""
    class Form(ApplicationForm):
        pass

    for licence in kinds:
        setattr(Form, _licence_field(licence.kind, "number"),
                StringField(licence.label(), validators=[Optional(), Length(max=100)]))
        setattr(Form, _licence_field(licence.kind, "expires"), DateField(_l("有效期至"), validators=[Optional()]))
    form = Form()
    form.kind.choices = [SelectChoice(kind.value, kind.label) for kind in MerchantKind]
    form.organisation_form.choices = [SelectChoice("", _("（个体工商户选择）"))] + [
        SelectChoice(value, label) for value, label in onboarding.ORGANISATION_FORMS.items()]
    form.exemption.choices = [SelectChoice("", _("（自然人经营者选择）"))] + [
        SelectChoice(value, text) for value, text in onboarding.EXEMPTIONS.items()]
    return form


def _prefill(form: ApplicationForm, application: onboarding.OnboardingApplication | None, merchant, kinds) -> None:
    source = application or merchant
    form.kind.data = source.kind
    form.legal_name.data = source.legal_name
    form.registration_number.data = source.registration_number
    form.contact_name.data = source.contact_name
    form.contact_phone.data = source.contact_phone
    if application is not None:
        form.legal_representative.data = application.legal_representative
        form.business_address.data = application.business_address
        form.entity_type.data = application.entity_type
        form.registered_capital.data = application.registered_capital
        form.organisation_form.data = application.organisation_form
        form.exemption.data = application.exemption
        by_kind = {licence["kind"]: licence for licence in application.licences}
        for licence in kinds:
            if licence.kind in by_kind:
                getattr(form, _licence_field(licence.kind, "number")).data = by_kind[licence.kind]["number"]
                getattr(form, _licence_field(licence.kind, "expires")).data = application.expiry(by_kind[licence.kind])


def _input(form: ApplicationForm, kinds) -> onboarding.ApplicationInput:
    upload = form.licence_image.data
    image = upload.read() if upload and getattr(upload, "filename", "") else None
    licences = [onboarding.LicenceInput(licence.kind, getattr(form, _licence_field(licence.kind, "number")).data,
                                        getattr(form, _licence_field(licence.kind, "expires")).data)
                for licence in kinds if (getattr(form, _licence_field(licence.kind, "number")).data or "").strip()]
    return onboarding.ApplicationInput(
        kind=form.kind.data or "", legal_name=form.legal_name.data or "",
        registration_number=form.registration_number.data or "", resident_id=form.resident_id.data or "",
        id_consent=bool(form.id_consent.data), legal_representative=form.legal_representative.data or "",
        contact_name=form.contact_name.data or "", contact_phone=form.contact_phone.data or "",
        business_address=form.business_address.data or "", licence_image=image, licences=licences,
        entity_type=form.entity_type.data or "", registered_capital=form.registered_capital.data or "",
        organisation_form=form.organisation_form.data or "", exemption=form.exemption.data or "")


@merchant_blueprint.route("", methods=["GET", "POST"])
@login_required
def application(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.edit_shop, shop)
    merchant = shop.merchant
    kinds = admin.licence_kinds()
    form = _application_form(kinds)
    current = onboarding.current_application(merchant)
    elsewhere = current is not None and current.tenant_id != shop.tenant_id
    # Filed through a shop in another tenant: named here, shown and edited there.
    current_tenant_name = db.session.get(Tenant, current.tenant_id).name() if elsewhere else None
    editable = current is None or current.status != ApplicationStatus.submitted
    if request.method == "POST" and form.validate_on_submit():
        try:
            onboarding.submit_application(shop, _input(form, kinds), actor_id=current_user.id)
        except OnboardingError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field if error.field in form else None)
        else:
            db.session.commit()
            flash(_("认证申请已提交，请等待市场运营方审核。"), "success")
            return redirect(url_for("merchant_onboarding.application", shop_slug=shop.slug)), 303
    elif request.method == "GET":
        _prefill(form, None if elsewhere else current, merchant, kinds)
    form.resident_id.data = ""  # the number is never written back into a page
    now = utcnow()
    approval = verification.approval_for(merchant)
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "console/onboarding/application.html", shop=shop, form=form, current=None if elsewhere else current,
        elsewhere=current_tenant_name, editable=editable and not elsewhere, approval=approval,
        approval_status=verification.effective_status(approval, now), Status=ApplicationStatus,
        due=onboarding.reverification_due(merchant, now),
        licence_rows=[(licence, _licence_field(licence.kind, "number"), _licence_field(licence.kind, "expires"))
                      for licence in kinds],
        licence_label=admin.licence_label,
        history=[] if elsewhere else [a for a in onboarding.history_of(merchant) if not a.is_current]), status


# -- operator --------------------------------------------------------------------------------------------

def _application_or_404(application_id: int, *, lock: bool = False) -> onboarding.OnboardingApplication:
    found = onboarding.application_in_tenant(application_id, lock=lock)
    if found is None:
        abort(404)
    return found


def _back(application: onboarding.OnboardingApplication):
    return redirect(url_for("operator_badges.merchants", _anchor=f"merchant-{application.merchant_id}")), 303


@operator_blueprint.route("/<int:application_id>/approve", methods=["POST"])
@login_required
def approve(application_id: int):
    require(Permission.operate_tenant, current_tenant)
    found = _application_or_404(application_id, lock=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        approval = onboarding.approve_application(found, operator=current_user, tenant=current_tenant)
    except OnboardingError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已通过“%(name)s”的认证申请，有效期至 %(date)s。", name=found.legal_name,
                date=approval.valid_until.date().isoformat()), "success")
    return _back(found)


@operator_blueprint.route("/<int:application_id>/<any(reject, more):decision>", methods=["POST"])
@login_required
def decide(application_id: int, decision: str):
    require(Permission.operate_tenant, current_tenant)
    found = _application_or_404(application_id, lock=True)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("说明最多 %(n)d 个字。", n=onboarding.MAX_NOTE), "error")
        return _back(found)
    try:
        if decision == "reject":
            onboarding.reject_application(found, form.note.data, actor_id=current_user.id, tenant=current_tenant)
        else:
            onboarding.ask_for_more(found, form.note.data, actor_id=current_user.id)
    except OnboardingError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        if decision == "reject":
            flash(_("已驳回“%(name)s”的认证申请，其电子标识已撤销。", name=found.legal_name), "success")
        else:
            flash(_("已请“%(name)s”补充材料。", name=found.legal_name), "success")
    return _back(found)


@operator_blueprint.route("/<int:application_id>/reveal", methods=["POST"])
@login_required
def reveal(application_id: int):
    require(Permission.operate_tenant, current_tenant)
    found = _application_or_404(application_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        number = onboarding.reveal_resident_id(found, actor_id=current_user.id)
    except OnboardingError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(found)
    db.session.commit()
    response = render_template("console/onboarding/reveal.html", application=found, number=number,
                               tenant=current_tenant._get_current_object())
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def register(app) -> None:
    app.register_blueprint(merchant_blueprint)
    app.register_blueprint(operator_blueprint)
