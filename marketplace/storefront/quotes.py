"""Requests for quotation, the buyer's side: ask a shop for a price, then accept or decline its answer.

``quotes`` asks, inside a tenant (``/t/<tenant>/p/<id>/quote``). ``account_quotes`` lists the buyer's quotes
from every tenant under the account (``/account/quotes``); it is the one page here that reads across
tenants, and it only ever reads the signed-in buyer's own quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from marketplace.catalog import admin
from marketplace.catalog import services as catalog
from marketplace.catalog.models import UNITS, Product, ProductStatus, Quote, QuoteStatus, Variant
from marketplace.core.forms import add_form_error
from marketplace.core.i18n import format_money
from marketplace.core.money import AmountInvalid, parse_amount
from marketplace.core.text import plain_text
from marketplace.core.themes import render_themed
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.tenancy.context import all_tenants, current_tenant, tenant_scope
from marketplace.tenancy.models import Tenant

blueprint = Blueprint("quotes", __name__, url_prefix="/t/<slug:tenant_slug>")
account_blueprint = Blueprint("account_quotes", __name__, url_prefix="/account/quotes")

MAX_QUANTITY = 1_000_000


class QuoteRequestForm(FlaskForm):
    variant_id = SelectField(_l("规格"), coerce=int)
    quantity = IntegerField(_l("数量"), validators=[
        InputRequired(_l("请填写数量。")),
        NumberRange(1, MAX_QUANTITY, _l("数量应在 1 到 %(max)d 之间。", max=MAX_QUANTITY)),
    ])
    target_price = StringField(_l("期望单价（元，可不填）"), validators=[Optional(), Length(max=20)])
    message = TextAreaField(_l("留言"), validators=[Length(max=2000), plain_text])


# -- asking -----------------------------------------------------------------------------------------------------

def _quotable_product_or_404(product_id: int) -> Product:
    """An active product of an active shop that takes quotes, in this tenant; anything else is not found."""
    product = db.session.scalar(
        select(Product).where(Product.id == product_id, Product.status == ProductStatus.active)
        .options(selectinload(Product.variants), selectinload(Product.shop)))
    if product is None or not product.shop.is_active or not product.shop.accepts_quotes or not product.variants:
        abort(404)
    return product


@blueprint.route("/p/<int:product_id>/quote", methods=["GET", "POST"])
@login_required
def request_quote(product_id: int):
    product = _quotable_product_or_404(product_id)
    currency = current_tenant.currency
    form = QuoteRequestForm()
    form.variant_id.choices = [
        SelectChoice(v.id, f"{v.option_text or v.sku} · {format_money(v.price, currency)}") for v in product.variants]
    if not form.is_submitted():
        form.quantity.data = product.moq
    if form.validate_on_submit():
        variant = next(v for v in product.variants if v.id == form.variant_id.data)  # one of the choices
        target = None
        if form.target_price.data:
            try:
                target = parse_amount(form.target_price.data, currency)
            except AmountInvalid:
                add_form_error(form, _("请填写正确的金额，例如 12.50。"), "target_price")
        if not (form.target_price.errors or form.quantity.errors):
            try:
                catalog.request_quote(current_user, variant, form.quantity.data, target_unit_price=target,
                                      message=form.message.data)
            except catalog.CatalogError as error:
                db.session.rollback()
                add_form_error(form, str(error), error.field)
            else:
                db.session.commit()
                flash(_("询价已发给%(shop)s，商家报价后会显示在“我的询价”里。", shop=product.shop.name()), "success")
                return redirect(url_for("account_quotes.quotes")), 303
    status = 400 if form.errors or form.form_errors else 200
    return render_themed("quotes/request.html", product=product, form=form, unit=UNITS.get(product.unit, "")), status


# -- the buyer's quotes, across tenants ------------------------------------------------------------------------

@dataclass(frozen=True)
class QuoteRow:
    quote: Quote
    tenant: Tenant
    #: What the buyer sees: an answered quote past its date reads as expired even before anyone marks it.
    status: str
    unit: str

    @property
    def can_accept(self) -> bool:
        return self.status == QuoteStatus.answered

    @property
    def can_decline(self) -> bool:
        return self.status in (QuoteStatus.requested, QuoteStatus.answered)


def _buyer_quotes(buyer) -> list[QuoteRow]:
    with all_tenants():  # every tenant's quotes, but only this buyer's (the filter below is the whole guard here)
        quotes = list(db.session.scalars(
            select(Quote).where(Quote.buyer_id == buyer.id)
            .options(selectinload(Quote.variant).selectinload(Variant.product).selectinload(Product.shop))
            .order_by(Quote.id.desc())))
    tenants = {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_({q.tenant_id for q in quotes})))}
    rows = []
    for quote in quotes:
        tenant = tenants[quote.tenant_id]
        status = quote.status
        if status in (QuoteStatus.answered, QuoteStatus.accepted) and quote.valid_until < admin.tenant_today(tenant):
            status = QuoteStatus.expired
        rows.append(QuoteRow(quote, tenant, status, str(UNITS.get(quote.variant.product.unit, ""))))
    return rows


def _own_quote_or_404(quote_id: int) -> tuple[Quote, Tenant]:
    with all_tenants():
        quote = db.session.scalar(select(Quote).where(Quote.id == quote_id, Quote.buyer_id == current_user.id))
    if quote is None:  # someone else's quote is not found, exactly like a missing one
        abort(404)
    return quote, db.session.get(Tenant, quote.tenant_id)


@account_blueprint.route("")
@login_required
def quotes():
    return render_themed("quotes/account.html", rows=_buyer_quotes(current_user), labels=QuoteStatus.__labels__)


@account_blueprint.route("/<int:quote_id>/accept", methods=["POST"])
@login_required
def accept(quote_id: int):
    quote, tenant = _own_quote_or_404(quote_id)
    with tenant_scope(tenant):
        try:
            catalog.accept_quote(quote, current_user, today=admin.tenant_today(tenant))
        except catalog.CatalogError as error:
            if quote.status == QuoteStatus.expired:
                db.session.commit()  # the service marked the lapsed answer expired: a fact worth keeping
            else:
                db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("已接受报价，下单时按 %(price)s 计价。", price=format_money(quote.quoted_unit_price, tenant.currency)),
                  "success")
            return _into_cart(quote, tenant)
    return redirect(url_for("account_quotes.quotes")), 303


@account_blueprint.route("/<int:quote_id>/cart", methods=["POST"])
@login_required
def add_to_cart(quote_id: int):
    """An accepted quote (back) into the cart of its tenant, at the quoted price and quantity."""
    quote, tenant = _own_quote_or_404(quote_id)
    return _into_cart(quote, tenant)


def _into_cart(quote: Quote, tenant: Tenant):
    """Put the quote in the buyer's cart and show the cart; when it cannot go, say why on the quotes page."""
    with tenant_scope(tenant):
        try:
            cart = orders.cart_for(tenant, user_id=current_user.id, create=True)
            orders.quote_line(cart, quote, admin.tenant_today(tenant))
        except orders.CartError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("account_quotes.quotes")), 303
        db.session.commit()
    flash(_("报价商品已加入购物车。"), "success")
    return redirect(url_for("cart.view", tenant_slug=tenant.slug)), 303


@account_blueprint.route("/<int:quote_id>/decline", methods=["POST"])
@login_required
def decline(quote_id: int):
    quote, tenant = _own_quote_or_404(quote_id)
    with tenant_scope(tenant):
        try:
            catalog.decline_quote(quote)
        except catalog.CatalogError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("已拒绝该报价。"), "success")
    return redirect(url_for("account_quotes.quotes")), 303
