"""Merchant console: freight quotes — price a buyer's load, or withdraw a request or a price not yet accepted.

The merchant sees what pricing needs (the destination's province, city and district, the weight, the volume
and the buyer's description), never the recipient, the mobile number or the street: those reach the shop with
the order that uses the quote.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import case, select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.accounts.authz import Permission, require
from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.forms import add_form_error
from marketplace.core.money import AmountInvalid, parse_amount
from marketplace.core.text import masked_name, plain_text
from marketplace.delivery import freight
from marketplace.delivery.models import FreightQuote, FreightQuoteStatus
from marketplace.delivery.providers import DeliveryError
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.tenancy.context import current_tenant

Q = FreightQuoteStatus
blueprint = Blueprint("merchant_freight_quotes", __name__,
                      url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/freight-quotes")

#: The inbox shows what waits for the merchant first, then prices the buyer has not answered yet.
INBOX_ORDER = case((FreightQuote.status == Q.requested, 0), (FreightQuote.status == Q.quoted, 1),
                   (FreightQuote.status == Q.accepted, 2), else_=3)
DAYS = re.compile(r"\d{1,3}", re.ASCII)
DEFAULT_VALID_DAYS = 7
#: Which answer field a refusal of ``freight.answer`` is about.
ANSWER_FIELDS = {"bad_fee": "fee", "bad_validity": "valid_days"}


class AnswerForm(FlaskForm):
    fee = StringField(_l("运费（元）"), validators=[DataRequired(_l("请填写运费。")), Length(max=20)])
    valid_days = StringField(_l("报价有效天数"), validators=[DataRequired(_l("请填写报价有效天数。")), Length(max=3)])
    reply = TextAreaField(_l("回复买家"), validators=[Length(max=2000), plain_text])


def _shop_or_404(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.view_shop, shop)
    return shop


def _quote_or_404(shop, quote_id: int) -> FreightQuote:
    """A quote asked of this shop (in this tenant); another shop's quote is not found."""
    quote = db.session.scalar(select(FreightQuote).where(FreightQuote.id == quote_id, FreightQuote.shop_id == shop.id))
    if quote is None:
        abort(404)
    return quote


def _expired(quote: FreightQuote) -> bool:
    return quote.status in (Q.quoted, Q.accepted) and quote.valid_until is not None and quote.valid_until <= utcnow()


@blueprint.route("")
@login_required
def inbox(shop_slug: str):
    shop = _shop_or_404(shop_slug)
    quotes = db.session.scalars(select(FreightQuote).where(FreightQuote.shop_id == shop.id)
                                .order_by(INBOX_ORDER, FreightQuote.id.desc())).all()
    return render_template("console/freight/inbox.html", shop=shop, quotes=quotes, labels=Q.__labels__,
                           expired=_expired)


def _detail(shop, quote: FreightQuote, form: AnswerForm, status: int = 200):
    buyer = db.session.get(User, quote.buyer_id)
    return render_template("console/freight/detail.html", shop=shop, quote=quote, form=form, labels=Q.__labels__,
                           expired=_expired(quote), buyer=masked_name(buyer.display_name if buyer else ""),
                           max_days=freight.MAX_VALID_DAYS), status


@blueprint.route("/<int:quote_id>", methods=["GET", "POST"])
@login_required
def detail(shop_slug: str, quote_id: int):
    shop = _shop_or_404(shop_slug)
    quote = _quote_or_404(shop, quote_id)
    form = AnswerForm()
    if not form.is_submitted():
        form.valid_days.data = str(DEFAULT_VALID_DAYS)
    if form.validate_on_submit():
        try:
            fee = parse_amount(form.fee.data, current_tenant.currency)
        except AmountInvalid:
            fee = None
            add_form_error(form, _("请填写正确的金额，例如 1234.50。"), "fee")
        raw_days = form.valid_days.data.strip()
        days = int(raw_days) if DAYS.fullmatch(raw_days) else None
        if days is None:
            add_form_error(form, _("报价有效期应为 1-%(days)d 天。", days=freight.MAX_VALID_DAYS), "valid_days")
        if fee is not None and days is not None:
            try:
                freight.answer(quote, fee, form.reply.data, days)
            except DeliveryError as error:
                db.session.rollback()
                add_form_error(form, str(error), ANSWER_FIELDS.get(error.code))
            else:
                db.session.commit()
                flash(_("已向买家报运费。"), "success")
                return redirect(url_for("merchant_freight_quotes.inbox", shop_slug=shop.slug)), 303
    return _detail(shop, quote, form, 400 if form.errors or form.form_errors else 200)


@blueprint.route("/<int:quote_id>/withdraw", methods=["POST"])
@login_required
def withdraw(shop_slug: str, quote_id: int):
    shop = _shop_or_404(shop_slug)
    quote = _quote_or_404(shop, quote_id)
    try:
        freight.withdraw(quote)
    except DeliveryError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已撤回这份运费询价。"), "success")
    return redirect(url_for("merchant_freight_quotes.inbox", shop_slug=shop.slug)), 303
