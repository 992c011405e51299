"""Merchant console: the licences a shop keeps on file to sell in gated categories (pesticide, seed…).

The shop's owner files a licence; the tenant's operator verifies it (see ``console.catalog_admin``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.accounts.authz import Permission, require
from marketplace.catalog import admin
from marketplace.catalog.services import CatalogError
from marketplace.core.forms import add_form_error
from marketplace.core.text import plain_text
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("merchant_licences", __name__,
                      url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/licences")


class LicenceForm(FlaskForm):
    kind = SelectField(_l("许可证类型"))
    number = StringField(_l("许可证编号"), validators=[DataRequired(_l("请填写许可证编号。")), Length(max=100),
                                                    plain_text])
    expires_on = DateField(_l("有效期至"), validators=[Optional()])


@blueprint.route("", methods=["GET", "POST"])
@login_required
def licences(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.edit_shop, shop)
    kinds = admin.licence_kinds()
    form = LicenceForm()
    form.kind.choices = [SelectChoice(licence.kind, licence.label()) for licence in kinds]
    today = admin.tenant_today(current_tenant)
    if form.validate_on_submit():
        try:
            licence, offline = admin.file_licence(shop, form.kind.data, form.number.data, form.expires_on.data, today)
        except CatalogError as error:
            db.session.rollback()
            add_form_error(form, str(error), error.field)
        else:
            db.session.commit()
            label = admin.licence_label(licence.kind)
            if licence.verified_at is not None:
                flash(_("%(licence)s已保存，内容未变，仍为已核验。", licence=label), "success")
            elif offline:
                flash(_("%(licence)s已提交，等待运营方核验；核验前该店 %(n)d 件需要此许可证的商品已下架。",
                        licence=label, n=offline), "success")
            else:
                flash(_("%(licence)s已提交，等待运营方核验。", licence=label), "success")
            return redirect(url_for("merchant_licences.licences", shop_slug=shop.slug)), 303
    on_file = {licence.kind: licence for licence in admin.shop_licences(shop)}
    rows = [(kind, on_file.get(kind.kind), admin.licence_status(on_file[kind.kind], today) if kind.kind in on_file
             else None) for kind in kinds]
    status = 400 if form.errors or form.form_errors else 200
    return render_template("console/licences/licences.html", shop=shop, form=form, rows=rows), status
