"""Merchant console: requests for quotation — answer with a price valid until a date."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.accounts.authz import Permission, require
from marketplace.catalog import admin
from marketplace.catalog import services as catalog
from marketplace.catalog.models import UNITS, Quote, QuoteStatus, Variant
from marketplace.core.forms import add_form_error
from marketplace.core.money import AmountInvalid, parse_amount
from marketplace.core.text import plain_text
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("merchant_quotes", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/quotes")

OPEN = (QuoteStatus.requested, QuoteStatus.answered)


class AnswerForm(FlaskForm):
    unit_price = StringField(_l("报价单价（元）"), validators=[DataRequired(_l("请填写报价单价。")), Length(max=20)])
    valid_until = DateField(_l("报价有效期至"), validators=[DataRequired(_l("请填写报价有效期。"))])
    reply = TextAreaField(_l("回复买家"), validators=[Length(max=2000), plain_text])


def _shop_or_404(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.view_shop, shop)
    return shop


def _quote_or_404(shop, quote_id: int) -> Quote:
    """A quote sent to this shop (in this tenant); another shop's quote is not found."""
    quote = db.session.scalar(select(Quote).where(Quote.id == quote_id, Quote.shop_id == shop.id))
    if quote is None:
        abort(404)
    return quote


def _inbox(shop, failed: tuple[int, AnswerForm] | None = None, status: int = 200):
    today = admin.tenant_today(current_tenant)
    quotes = db.session.scalars(
        select(Quote).where(Quote.shop_id == shop.id)
        .options(selectinload(Quote.variant).selectinload(Variant.product), selectinload(Quote.buyer))
        .order_by(case((Quote.status.in_(OPEN), 0), else_=1), Quote.id.desc())
    ).all()
    blank = AnswerForm(formdata=None)
    blank.valid_until.data = today + timedelta(days=7)
    return render_template("console/quotes/inbox.html", shop=shop, quotes=quotes, today=today, units=UNITS,
                           blank_form=blank, failed_id=failed[0] if failed else None,
                           failed_form=failed[1] if failed else None, open_statuses=OPEN,
                           status_labels=QuoteStatus.__labels__), status


@blueprint.route("")
@login_required
def inbox(shop_slug: str):
    return _inbox(_shop_or_404(shop_slug))


@blueprint.route("/<int:quote_id>/answer", methods=["POST"])
@login_required
def answer(shop_slug: str, quote_id: int):
    shop = _shop_or_404(shop_slug)
    quote = _quote_or_404(shop, quote_id)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            unit_price = parse_amount(form.unit_price.data, current_tenant.currency)
        except AmountInvalid:
            add_form_error(form, _("请填写正确的金额，例如 12.50。"), "unit_price")
        else:
            try:
                catalog.answer_quote(quote, unit_price, form.valid_until.data, reply=form.reply.data,
                                     today=admin.tenant_today(current_tenant))
            except catalog.CatalogError as error:
                db.session.rollback()
                add_form_error(form, str(error), error.field)
            else:
                db.session.commit()
                flash(_("已向买家报价。"), "success")
                return redirect(url_for("merchant_quotes.inbox", shop_slug=shop.slug)), 303
    return _inbox(shop, (quote.id, form), 400)


@blueprint.route("/<int:quote_id>/decline", methods=["POST"])
@login_required
def decline(shop_slug: str, quote_id: int):
    shop = _shop_or_404(shop_slug)
    quote = _quote_or_404(shop, quote_id)
    try:
        catalog.decline_quote(quote)
    except catalog.CatalogError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已婉拒该询价。"), "success")
    return redirect(url_for("merchant_quotes.inbox", shop_slug=shop.slug)), 303
