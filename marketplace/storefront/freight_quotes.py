"""Freight quotes, the buyer's side: ask a shop what carrying a load to one of my addresses costs, then accept
or decline the merchant's price.

Pages live inside the tenant (``/t/<tenant>/s/<shop>/freight-quote``, ``/t/<tenant>/freight-quotes``): an
accepted quote is only ever used at that tenant's checkout, where it shows up among the shop's delivery options
for the same place. The buyer's own quotes are the only ones found here; anyone else's is a 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.accounts import divisions
from marketplace.accounts.addresses import address_of, addresses_of
from marketplace.core.db import utcnow
from marketplace.core.forms import add_form_error
from marketplace.core.text import plain_text
from marketplace.core.themes import render_themed
from marketplace.delivery import freight, services
from marketplace.delivery.models import FreightQuote, FreightQuoteStatus
from marketplace.delivery.providers import DeliveryError
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, current_tenant
from marketplace.tenancy.models import Tenant

Q = FreightQuoteStatus
blueprint = Blueprint("freight_quotes", __name__, url_prefix="/t/<slug:tenant_slug>")

#: Up to 999 999.999 kg and 9 999.999999 m³: below what ``freight.request_quote`` accepts, in whole g and cm³.
KILOGRAMS = re.compile(r"\d{1,6}(?:\.\d{1,3})?", re.ASCII)
CUBIC_METRES = re.compile(r"\d{1,4}(?:\.\d{1,6})?", re.ASCII)
#: Which form field a refusal of ``freight.request_quote`` is about (the rest go above the form).
REQUEST_FIELDS = {"bad_address": "address", "bad_load": "weight", "bad_description": "description"}


class FreightQuoteForm(FlaskForm):
    # Address ids are checked against the buyer's own book in the view, with a message of ours.
    address = SelectField(_l("送到哪里"), validate_choice=False)
    weight = StringField(_l("重量（公斤）"), validators=[DataRequired(_l("请填写货物重量。")), Length(max=20)])
    volume = StringField(_l("体积（立方米，可不填）"), validators=[Length(max=20)])
    description = TextAreaField(_l("货物说明"), validators=[Length(max=2000), plain_text])


def in_units(text: str | None, pattern: re.Pattern, per_unit: int) -> int | None:
    """``"2.5"`` kg as 2500 g (``per_unit`` 1000): a plain decimal within ``pattern``, else None."""
    text = (text or "").strip()
    return int(Decimal(text) * per_unit) if pattern.fullmatch(text) else None


def load_text(weight_g: int, volume_cm3: int) -> str:
    """The load as people say it: 2000 公斤 · 1.5 立方米."""
    parts = [_("%(kg)s 公斤", kg=_decimal(weight_g, 1000))] if weight_g else []
    if volume_cm3:
        parts.append(_("%(m3)s 立方米", m3=_decimal(volume_cm3, 1_000_000)))
    return " · ".join(parts)


def _decimal(amount: int, per_unit: int) -> str:
    text = f"{Decimal(amount) / per_unit:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def region_text(address: dict) -> str:
    """Province, city and district of a quote's address: where the load goes, without the door or the person."""
    names = []
    for code in (address.get("province_code"), address.get("city_code"), address.get("district_code")):
        division = divisions.get(code)
        if division is not None and division.name not in names:
            names.append(division.name)
    return " ".join(names)


def offers_freight(shop: Shop) -> bool:
    """Whether buyers may ask this shop of the current tenant for a freight quote."""
    tenant = current_tenant._get_current_object()  # the settings scope the tenant itself, not the proxy
    return freight.FreightProvider.name in services.shop_providers(tenant, shop)


def freight_quote_markets() -> list[Tenant]:
    """The markets where the signed-in buyer has asked for freight quotes (the account page links each)."""
    if not current_user.is_authenticated:
        return []
    with all_tenants():  # only this buyer's quotes: the filter is the whole guard here
        ids = set(db.session.scalars(select(FreightQuote.tenant_id).where(FreightQuote.buyer_id == current_user.id)))
    return list(db.session.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.id))) if ids else []


# -- asking -----------------------------------------------------------------------------------------------------

def _freight_shop_or_404(shop_slug: str) -> Shop:
    shop = shops.shop_by_slug(shop_slug)
    if shop is None or not shop.is_active or not offers_freight(shop):
        abort(404)
    return shop


@blueprint.route("/s/<slug:shop_slug>/freight-quote", methods=["GET", "POST"])
@login_required
def request_quote(shop_slug: str):
    shop = _freight_shop_or_404(shop_slug)
    tenant = current_tenant._get_current_object()
    addresses = addresses_of(current_user.id)
    form = FreightQuoteForm()
    form.address.choices = [(str(a.id), f"{a.recipient} · {a.region_text} {a.street}") for a in addresses]
    if form.validate_on_submit():
        raw = (form.address.data or "").strip()
        address = address_of(current_user.id, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
        if address is None:
            add_form_error(form, _("请选择一个收货地址。"), "address")
        weight_g = in_units(form.weight.data, KILOGRAMS, 1000)
        if weight_g is None:
            add_form_error(form, _("请按公斤填写重量，例如 1500 或 2.5。"), "weight")
        volume_cm3 = in_units(form.volume.data, CUBIC_METRES, 1_000_000) if (form.volume.data or "").strip() else 0
        if volume_cm3 is None:
            add_form_error(form, _("请按立方米填写体积，例如 3 或 0.75。"), "volume")
        if address is not None and weight_g is not None and volume_cm3 is not None:
            try:
                freight.request_quote(tenant, shop, current_user.id, services.address_value(address), weight_g,
                                      volume_cm3, form.description.data)
            except DeliveryError as error:
                db.session.rollback()
                add_form_error(form, str(error), REQUEST_FIELDS.get(error.code))
            else:
                db.session.commit()
                flash(_("询价已发给%(shop)s，商家报价后会显示在“我的运费询价”里。", shop=shop.name()), "success")
                return redirect(url_for("freight_quotes.mine")), 303
    status = 400 if form.errors or form.form_errors else 200
    return render_themed("freight/request.html", shop=shop, form=form, has_addresses=bool(addresses)), status


# -- the buyer's quotes in this market ---------------------------------------------------------------------------

@dataclass(frozen=True)
class QuoteRow:
    quote: FreightQuote
    shop: Shop
    #: What the buyer sees: a price past its validity reads as expired even though nobody marked it.
    expired: bool

    @property
    def can_accept(self) -> bool:
        return self.quote.status == Q.quoted and not self.expired

    @property
    def can_decline(self) -> bool:
        return self.quote.status in (Q.requested, Q.quoted, Q.accepted)

    @property
    def usable(self) -> bool:
        return self.quote.status == Q.accepted and not self.expired


def _rows() -> list[QuoteRow]:
    quotes = list(db.session.scalars(
        select(FreightQuote).where(FreightQuote.buyer_id == current_user.id).order_by(FreightQuote.id.desc())))
    shop_ids = {quote.shop_id for quote in quotes}
    by_id = {shop.id: shop for shop in db.session.scalars(select(Shop).where(Shop.id.in_(shop_ids)))} if quotes else {}
    now = utcnow()
    return [QuoteRow(quote, by_id[quote.shop_id], quote.status in (Q.quoted, Q.accepted)
                     and quote.valid_until is not None and quote.valid_until <= now) for quote in quotes]


def _own_quote_or_404(quote_id: int) -> FreightQuote:
    """One of the signed-in buyer's quotes in this tenant; anyone else's is not found, like a missing one."""
    quote = db.session.scalar(select(FreightQuote).where(FreightQuote.id == quote_id,
                                                         FreightQuote.buyer_id == current_user.id))
    if quote is None:
        abort(404)
    return quote


@blueprint.route("/freight-quotes")
@login_required
def mine():
    return render_themed("freight/mine.html", rows=_rows(), labels=Q.__labels__)


@blueprint.route("/freight-quotes/<int:quote_id>/accept", methods=["POST"])
@login_required
def accept(quote_id: int):
    quote = _own_quote_or_404(quote_id)
    try:
        freight.accept(quote, current_user.id)
    except DeliveryError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已接受报价。结账时在该店的配送方式中选择这份报价。"), "success")
    return redirect(url_for("freight_quotes.mine")), 303


@blueprint.route("/freight-quotes/<int:quote_id>/decline", methods=["POST"])
@login_required
def decline(quote_id: int):
    quote = _own_quote_or_404(quote_id)
    asked_only = quote.status == Q.requested
    try:
        freight.decline(quote, current_user.id)
    except DeliveryError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已撤回询价。") if asked_only else _("已拒绝该报价。"), "success")
    return redirect(url_for("freight_quotes.mine")), 303


def register(app) -> None:
    from marketplace.storefront.views import open_only

    open_only(blueprint)
    app.register_blueprint(blueprint)
    app.add_template_global(offers_freight, "offers_freight")
    app.add_template_global(freight_quote_markets, "freight_quote_markets")
    app.add_template_global(load_text, "freight_load")
    app.add_template_global(region_text, "freight_region")
