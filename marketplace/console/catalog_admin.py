"""Operator console: the tenant's category tree and the licence verification queue."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.accounts.authz import Permission, require
from marketplace.catalog import admin, packs
from marketplace.catalog.models import CONFIRMED_AT_CHECKOUT, EXCLUSIONS
from marketplace.catalog.services import CatalogError
from marketplace.core.forms import add_form_error
from marketplace.core.text import plain_text
from marketplace.extensions import db
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("operator_catalog", __name__, url_prefix="/operator/<slug:tenant_slug>")


class CategoryForm(FlaskForm):
    slug = StringField(_l("分类代码"), validators=[DataRequired(_l("请填写分类代码。")), Length(max=63)])
    name_zh = StringField(_l("中文名称"), validators=[DataRequired(_l("请填写分类中文名称。")), Length(max=100),
                                                   plain_text])
    name_en = StringField(_l("英文名称"), validators=[Length(max=100), plain_text])
    parent_id = SelectField(_l("上级分类"), coerce=int)
    product_type = SelectField(_l("商品类型"))
    position = IntegerField(_l("排序"), validators=[Optional(), NumberRange(0, 9999, _l("排序应为 0 到 9999 之间的整数。"))])
    # Unknown codes are refused by ``admin`` with its own message, not by WTForms' "Not a valid choice".
    return_exclusion = SelectField(_l("七日无理由退货"), default="", validate_choice=False)


class RejectLicenceForm(FlaskForm):
    reason = StringField(_l("驳回理由"), validators=[DataRequired(_l("请填写驳回理由。")), Length(max=200), plain_text])


def _category_form(rows: list[admin.CategoryRow], editing=None, **kwargs) -> CategoryForm:
    """The form with its choices: the tree as possible parents (the edited branch greyed out), installed types."""
    form = CategoryForm(**kwargs)
    branch = _branch_ids(rows, editing) if editing is not None else set()
    form.parent_id.choices = [SelectChoice(0, _("（顶级分类）"))] + [
        SelectChoice(row.category.id, "　" * row.depth + row.category.name_zh,
                     render_kw={"disabled": True} if row.category.id in branch else None)
        for row in rows
    ]
    form.product_type.choices = [SelectChoice(t.id, f"{t.label()}（{t.id}）") for t in packs.all_product_types()]
    form.return_exclusion.choices = [SelectChoice("", _("支持七日无理由退货"))] + [
        SelectChoice(code, _exclusion_label(code)) for code in EXCLUSIONS]
    return form


def _exclusion_label(code: str) -> str:
    """What the operator reads for an exclusion code; those that need the buyer's tick at checkout say so."""
    label = str(EXCLUSIONS.get(code, code))
    return label + _("（需买家下单时确认）") if code in CONFIRMED_AT_CHECKOUT else label


def _branch_ids(rows: list[admin.CategoryRow], category) -> set[int]:
    """The category and everything below it: rows come parents first, so a branch is a run of deeper rows."""
    ids: set[int] = set()
    inside_depth = None
    for row in rows:
        if inside_depth is not None and row.depth <= inside_depth:
            break
        if row.category.id == category.id:
            inside_depth = row.depth
        if inside_depth is not None:
            ids.add(row.category.id)
    return ids


def _form_status(form: FlaskForm) -> int:
    return 400 if form.errors or form.form_errors else 200


# -- categories -------------------------------------------------------------------------------------------------

@blueprint.route("/categories", methods=["GET", "POST"])
@login_required
def categories():
    require(Permission.operate_tenant, current_tenant)
    rows = admin.category_tree()
    form = _category_form(rows)
    if form.validate_on_submit():
        try:
            category = admin.add_category(slug=form.slug.data, name_zh=form.name_zh.data, name_en=form.name_en.data,
                                          product_type=form.product_type.data, parent_id=form.parent_id.data or None,
                                          position=form.position.data, return_exclusion=form.return_exclusion.data or "")
        except CatalogError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field)
        else:
            db.session.commit()
            flash(_("已添加分类“%(name)s”。", name=category.name_zh), "success")
            return redirect(url_for("operator_catalog.categories")), 303
    return render_template("console/catalog_admin/categories.html", rows=rows, form=form,
                           type_labels=_type_labels(), exclusion_label=_exclusion_label), _form_status(form)


@blueprint.route("/categories/<int:category_id>", methods=["GET", "POST"])
@login_required
def edit_category(category_id: int):
    require(Permission.operate_tenant, current_tenant)
    category = admin.category_by_id(category_id)
    if category is None:
        abort(404)
    rows = admin.category_tree()
    form = _category_form(rows, category, obj=category)
    if not form.is_submitted():
        form.parent_id.data = category.parent_id or 0
    if form.validate_on_submit():
        try:
            admin.edit_category(category, slug=form.slug.data, name_zh=form.name_zh.data, name_en=form.name_en.data,
                                product_type=form.product_type.data, parent_id=form.parent_id.data or None,
                                position=category.position if form.position.data is None else form.position.data,
                                return_exclusion=form.return_exclusion.data or "")
        except CatalogError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field)
        else:
            db.session.commit()
            flash(_("分类“%(name)s”已保存。", name=category.name_zh), "success")
            return redirect(url_for("operator_catalog.categories")), 303
    products = next((row.products for row in rows if row.category.id == category.id), 0)
    return render_template("console/catalog_admin/category.html", category=category, form=form,
                           products=products), _form_status(form)


def _type_labels() -> dict[str, str]:
    return {t.id: t.label() for t in packs.all_product_types()}


# -- licences ---------------------------------------------------------------------------------------------------

def _licences_page(reject_form: RejectLicenceForm | None = None, failed_id: int | None = None, status: int = 200):
    today = admin.tenant_today(current_tenant)
    rows = [(licence, shop, admin.licence_status(licence, today)) for licence, shop in admin.tenant_licences()]
    return render_template("console/catalog_admin/licences.html", rows=rows,
                           labels={licence.kind: licence.label() for licence in admin.licence_kinds()},
                           reject_form=reject_form or RejectLicenceForm(formdata=None), failed_id=failed_id,
                           blank_reject_form=RejectLicenceForm(formdata=None)), status


def _licence_or_404(licence_id: int):
    licence = admin.licence_by_id(licence_id)
    if licence is None:
        abort(404)
    return licence


@blueprint.route("/licences")
@login_required
def licences():
    require(Permission.operate_tenant, current_tenant)
    return _licences_page()


@blueprint.route("/licences/<int:licence_id>/verify", methods=["POST"])
@login_required
def verify_licence(licence_id: int):
    require(Permission.operate_tenant, current_tenant)
    licence = _licence_or_404(licence_id)
    label = admin.licence_label(licence.kind)
    offline = admin.verify_unless_expired(licence, current_user, admin.tenant_today(current_tenant))
    db.session.commit()
    if offline is None:
        flash(_("%(licence)s %(number)s 已核验。", licence=label, number=licence.number), "success")
    else:
        flash(_("%(licence)s %(number)s 已过有效期，未予核验；该店 %(n)d 件需要此许可证的商品已下架。",
                licence=label, number=licence.number, n=offline), "error")
    return redirect(url_for("operator_catalog.licences")), 303


@blueprint.route("/licences/<int:licence_id>/reject", methods=["POST"])
@login_required
def reject_licence(licence_id: int):
    require(Permission.operate_tenant, current_tenant)
    licence = _licence_or_404(licence_id)
    form = RejectLicenceForm()
    if not form.validate_on_submit():
        return _licences_page(form, licence.id, 400)
    label, number = admin.licence_label(licence.kind), licence.number
    offline = admin.reject_licence(licence)
    db.session.commit()
    flash(_("已驳回%(licence)s %(number)s（理由：%(reason)s）；该店 %(n)d 件需要此许可证的商品已下架。",
            licence=label, number=number, reason=form.reason.data.strip(), n=offline), "success")
    return redirect(url_for("operator_catalog.licences")), 303
