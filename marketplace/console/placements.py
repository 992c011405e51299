"""Operator console: the paid placements (推广) a market sells to its merchants, and ending one early.

What residents see of them is the "广告" block beside a search (``search/_ads.html``); the rules of what is
shown are in ``marketplace.search.placements``.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from marketplace.accounts.authz import Permission, require
from marketplace.catalog import admin
from marketplace.core.forms import add_form_error
from marketplace.core.money import AmountInvalid, parse_amount
from marketplace.core.text import plain_text
from marketplace.extensions import db
from marketplace.search import placements
from marketplace.search.placements import PlacementStatus
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("operator_placements", __name__, url_prefix="/operator/<slug:tenant_slug>/placements")

#: A product named by its number, or by its page's address pasted whole (…/p/123-fuji-apples).
_PRODUCT_NUMBER = re.compile(r"\s*#?(\d{1,10})\s*")
_PRODUCT_ADDRESS = re.compile(r"/p/(\d{1,10})(?:[-/?#]|$)")
#: How long a new placement runs unless the operator changes it.
DEFAULT_DAYS = 30


class PlacementForm(FlaskForm):
    product_id = StringField(_l("商品编号"), validators=[DataRequired(_l("请填写要推广的商品编号。")), Length(max=300)])
    keywords = StringField(_l("关键词"), validators=[Length(max=300), plain_text])
    # Checked by the service (another tenant's id is "not here"), not by WTForms' English "Not a valid choice".
    category_id = SelectField(_l("分类"), default="", validate_choice=False)
    # InputRequired, not DataRequired: a date that does not parse says so, rather than "please fill in".
    first_day = DateField(_l("开始日期"), validators=[InputRequired(_l("请填写开始日期。"))])
    last_day = DateField(_l("结束日期"), validators=[InputRequired(_l("请填写结束日期。"))])
    fee = StringField(_l("推广费用（元）"), validators=[DataRequired(_l("请填写推广费用。")), Length(max=20)])


def _placement_form(**kwargs) -> PlacementForm:
    form = PlacementForm(**kwargs)
    form.category_id.choices = [SelectChoice("", _("（不限分类，只按关键词）"))] + [
        SelectChoice(str(row.category.id), "　" * row.depth + row.category.name_zh) for row in admin.category_tree()]
    return form


def _product_id(raw: str) -> int | None:
    found = _PRODUCT_NUMBER.fullmatch(raw or "") or _PRODUCT_ADDRESS.search(raw or "")
    return int(found.group(1)) if found else None


def _page(form: PlacementForm, status: int = 200):
    tenant = current_tenant._get_current_object()
    groups = placements.rows_for_operator(tenant)
    return render_template("console/placements/placements.html", form=form, groups=groups,
                           statuses=PlacementStatus, ended=groups[PlacementStatus.finished]
                           + groups[PlacementStatus.ended_early]), status


@blueprint.route("", methods=["GET", "POST"])
@login_required
def placements_page():
    require(Permission.operate_tenant, current_tenant)
    form = _placement_form()
    if not form.is_submitted():
        today = admin.tenant_today(current_tenant)
        form.first_day.data, form.last_day.data = today, today + timedelta(days=DEFAULT_DAYS - 1)
        return _page(form)
    if form.validate_on_submit():
        product_id = _product_id(form.product_id.data)
        if product_id is None:
            add_form_error(form, _("请填写商品编号（数字），或粘贴商品页的地址。"), "product_id")
        try:
            fee = parse_amount(form.fee.data, current_tenant.currency)
        except AmountInvalid:
            add_form_error(form, _("请填写正确的金额，例如 12.50。"), "fee")
        if not form.errors:
            try:
                placement = placements.create(
                    current_tenant._get_current_object(), product_id=product_id, keywords=form.keywords.data or "",
                    category_id=_category_id(form.category_id.data),
                    first_day=form.first_day.data, last_day=form.last_day.data, fee=fee, actor_id=current_user.id)
            except placements.PlacementInvalid as error:
                db.session.rollback()
                for field, message in error.errors.items():
                    add_form_error(form, message, field)
            else:
                db.session.commit()
                flash(_("已创建推广：%(title)s。居民搜索时会在结果旁的“广告”栏看到它。", title=placement.product.title),
                      "success")
                return redirect(url_for("operator_placements.placements_page")), 303
    return _page(form, 400)


def _category_id(raw: str | None) -> int | None:
    """The chosen category's id; anything but plain ASCII digits (say "²", which str.isdigit accepts) is none."""
    raw = raw or ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else None


@blueprint.route("/<int:placement_id>/end", methods=["POST"])
@login_required
def end_placement(placement_id: int):
    require(Permission.operate_tenant, current_tenant)
    placement = placements.placement_of_tenant(current_tenant._get_current_object(), placement_id, lock=True)
    if placement is None:
        abort(404)
    try:
        placements.end(placement, current_user.id)
    except placements.PlacementError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已结束推广：%(title)s。它不再出现在搜索页。", title=placement.product.title), "success")
    return redirect(url_for("operator_placements.placements_page")), 303
