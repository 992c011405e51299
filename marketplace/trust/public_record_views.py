"""The operator's page of public regulatory records (``trust.public_records``).

``/operator/<tenant>/public-records``: the tenant's records (in force, removed, or past their listed period) and a
form to enter one for a merchant trading here from the published record; ``…/public-records/<id>/remove`` records
that the authority took one off. A form that cannot be saved comes back with each field's error (400) and nothing
written. Every save leaves an audit entry and refreshes the merchant's shops' stored credit.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.accounts.authz import Permission, require
from marketplace.core import audit
from marketplace.core.db import MAX_ID, utcnow
from marketplace.core.text import plain_text
from marketplace.extensions import db
from marketplace.tenancy.context import current_tenant
from marketplace.trust import public_records
from marketplace.trust.public_records import PublicRecordError, PublicRecordKind, RecordInput
from marketplace.trust.verification import merchant_in_tenant, merchants_of_tenant

operator_blueprint = Blueprint("operator_public_records", __name__, url_prefix="/operator/<slug:tenant_slug>")


def _required(message):
    return DataRequired(message=message)


class RecordForm(FlaskForm):
    merchant_id = SelectField(_l("经营者"), choices=[], validate_choice=False,
                              validators=[_required(_l("请选择经营者。"))])
    kind = SelectField(_l("记录类别"), choices=[], validators=[_required(_l("请选择记录类别。"))])
    authority = StringField(_l("决定机关"), validators=[_required(_l("请填写决定机关。")),
                                                     Length(max=public_records.MAX_AUTHORITY), plain_text])
    document_number = StringField(_l("文书号"), validators=[_required(_l("请填写文书号。")),
                                                         Length(max=public_records.MAX_DOCUMENT_NUMBER), plain_text])
    decided_on = DateField(_l("决定日期"), validators=[_required(_l("请填写决定日期（YYYY-MM-DD）。"))])
    listed_until = DateField(_l("公示截止日期（公示系统写明的才填）"), validators=[Optional()])
    summary = TextAreaField(_l("内容摘要"), validators=[Optional(), Length(max=public_records.MAX_SUMMARY), plain_text])


class RemoveForm(FlaskForm):
    removed_on = DateField(_l("移出日期"), validators=[_required(_l("请填写移出日期（YYYY-MM-DD）。"))])
    removal_note = StringField(_l("移出依据"), validators=[Optional(), Length(max=public_records.MAX_NOTE),
                                                        plain_text])


def _record_form(tenant, **kw) -> RecordForm:
    """The form with its choices in the reader's language: the tenant's merchants (with their shops here) and the
    kinds of record."""
    form = RecordForm(**kw)
    form.merchant_id.choices = [("", _("请选择"))] + [
        (str(row.merchant.id), f"{row.merchant.legal_name}（{'、'.join(shop.name_zh for shop in row.shops)}）")
        for row in merchants_of_tenant(tenant)]
    form.kind.choices = [SelectChoice(kind.value, kind.label) for kind in PublicRecordKind]
    return form


def _id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        return None
    number = int(raw)
    return number if number <= MAX_ID else None


def _page(form: RecordForm, *, status: int = 200, remove_forms: dict | None = None):
    tenant = current_tenant._get_current_object()
    now = utcnow()
    rows = public_records.all_records()
    forms = remove_forms or {}
    today = public_records.tenant_day(tenant, now)
    for row in rows:
        if row.id not in forms and row.in_force(now):
            forms[row.id] = RemoveForm(formdata=None, removed_on=today)
    return render_template("console/public_records/operator.html", tenant=tenant, form=form, records=rows,
                           remove_forms=forms, now=now, today=today), status


@operator_blueprint.route("/public-records", methods=["GET", "POST"], endpoint="records")
@login_required
def records_page():
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    form = _record_form(tenant)
    if request.method == "GET":
        return _page(form)
    if form.validate_on_submit():
        merchant_id = _id(form.merchant_id.data)
        merchant = merchant_in_tenant(merchant_id) if merchant_id else None
        try:
            if merchant is None:
                raise PublicRecordError(_("本商业街/市场没有这家经营者。"), "merchant_id")
            row = public_records.record(tenant, merchant, RecordInput(
                kind=form.kind.data, authority=form.authority.data, document_number=form.document_number.data,
                decided_on=form.decided_on.data, summary=form.summary.data or "",
                listed_until=form.listed_until.data), actor=current_user)
        except PublicRecordError as error:
            db.session.rollback()
            getattr(form, error.field or "merchant_id").errors.append(str(error))
        else:
            audit.record("public_record.recorded", target=("public_record", row.id), merchant_id=merchant.id,
                         merchant=merchant.legal_name, kind=row.kind, authority=row.authority,
                         document_number=row.document_number, decided_on=row.decided_on,
                         listed_until=row.listed_until)
            db.session.commit()
            flash(_("已录入“%(merchant)s”的%(kind)s记录（%(number)s），该经营者店铺的信用分已重新计算。",
                    merchant=merchant.legal_name, kind=row.kind_label, number=row.document_number), "success")
            return redirect(url_for("operator_public_records.records")), 303
    return _page(form, status=400)


@operator_blueprint.route("/public-records/<int:record_id>/remove", methods=["POST"])
@login_required
def remove(record_id: int):
    require(Permission.operate_tenant, current_tenant)
    row = public_records.record_of_current_tenant(record_id)  # the guard: another tenant's record is not found
    if row is None:
        abort(404)
    tenant = current_tenant._get_current_object()
    form = RemoveForm()
    if form.validate_on_submit():
        try:
            public_records.remove(tenant, row, form.removed_on.data, form.removal_note.data or "",
                                  actor=current_user)
        except PublicRecordError as error:
            db.session.rollback()
            getattr(form, "removal_note" if error.field == "removal_note" else "removed_on").errors.append(str(error))
            if not row.in_force(utcnow()):  # the row shows no removal form to carry the message
                flash(str(error), "error")
        else:
            audit.record("public_record.removed", target=("public_record", row.id), merchant_id=row.merchant_id,
                         kind=row.kind, document_number=row.document_number, removed_on=row.removed_on,
                         note=row.removal_note)
            db.session.commit()
            flash(_("已记录“%(number)s”移出，该经营者店铺的信用分已重新计算。", number=row.document_number), "success")
            return redirect(url_for("operator_public_records.records")), 303
    return _page(_record_form(tenant, formdata=None), status=400, remove_forms={record_id: form})


def register(app) -> None:
    app.register_blueprint(operator_blueprint)
    app.add_template_global(public_records.shop_records, "shop_public_records")
