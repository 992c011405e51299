"""The resident's cart, checkout and orders in one tenant (``/t/<tenant>/cart``, ``/checkout``,
``/orders/<number>`` with its printable ``/receipt``, paying (``/pay``, ``/paid``, ``/pay/retry``), the buyer's
cancellation and return request).

Paying: checkout offers the tenant's ``payments.services.payment_choices`` and places the order with a payment
attempt for its total in one flow; the provider is asked only after both are committed. Its answer decides the
next page: instructions (offline) on the order page; a client secret on the pay page, where Stripe.js confirms the
payment in the browser (card data goes to Stripe only) and sends the buyer back to ``/paid``, which asks the
provider how the payment stands — the webhook may have said it first; both end in the same state. The client
secret is never stored: the pay page fetches it from the provider for its own response only.

Every price and total on these pages comes from ``orders.services.price_cart``; the forms send only variant ids,
quantities and choices. A guest's cart is found by a random token in the ``guest_cart`` cookie — one cookie
for the whole site, turned into a different cart token per tenant (``guest_cart_token``) so that the same cookie
never names the same cart twice, and a database leak gives no usable cookie. A signed-in resident's cart is
found by their account; the guest carts merge into it at login (``accounts.views``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import Length, Optional

from marketplace.accounts.addresses import addresses_of
from marketplace.catalog.models import CONFIRMED_AT_CHECKOUT, EXCLUSIONS, UNITS, Variant
from marketplace.catalog.pricing import PricingProblem
from marketplace.core.text import plain_text
from marketplace.core.themes import render_themed
from marketplace.core.views import safe_next
from marketplace.delivery import pickup
from marketplace.delivery import services as delivery
from marketplace.delivery.providers import DeliveryOption, ShipmentStatus
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import Cart, Order, OrderGroup, OrderStatus
from marketplace.payments import services as payments
from marketplace.payments.models import Payment
from marketplace.payments.providers import (
    Choice,
    PaymentRequest,
    PaymentStatus,
    ProviderError,
    ProviderLoadError,
    ProviderUnavailable,
    provider_class,
)
from marketplace.shops.models import Shop
from marketplace.shops.services import normalise_identifier, taxpayer_id_problem
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("cart", __name__, url_prefix="/t/<slug:tenant_slug>")

GUEST_COOKIE = "guest_cart"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
OFFLINE = payments.OFFLINE
NOTE_MAX = 200
PRICE_SOURCES = {"base": _l("标价"), "quote": _l("报价")}


def guest_cart_token(raw: str, tenant_id: int) -> str:
    """The cart token of a guest cookie in one tenant (64 hex characters)."""
    return hashlib.sha256(f"{tenant_id}:{raw}".encode()).hexdigest()


def guest_cookie() -> str | None:
    """The visitor's guest cookie, if it is one we could have set."""
    raw = request.cookies.get(GUEST_COOKIE, "")
    return raw if _TOKEN.match(raw) else None


def _cart(*, create: bool = False) -> Cart | None:
    tenant = current_tenant._get_current_object()
    if current_user.is_authenticated:
        return orders.cart_for(tenant, user_id=current_user.id, create=create)
    raw = guest_cookie()
    if raw is None:
        if not create:
            return None
        raw = g.new_guest_cookie = secrets.token_urlsafe(32)
    return orders.cart_for(tenant, token=guest_cart_token(raw, tenant.id), create=create)


@blueprint.after_request
def _set_guest_cookie(response):
    raw = g.pop("new_guest_cookie", None)
    if raw and response.status_code < 400:
        response.set_cookie(GUEST_COOKIE, raw, max_age=30 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@blueprint.app_template_filter("tenant_time")
def tenant_time(moment: datetime, tenant) -> str:
    """A stored (UTC) time as the tenant's clock shows it: an order placed at 9 in Zhengzhou reads 09:00."""
    return moment.astimezone(ZoneInfo(tenant.timezone)).strftime("%Y-%m-%d %H:%M")


@blueprint.app_template_global()
def cart_count() -> int:
    """How many lines the visitor's cart in the current tenant holds (the header's cart link)."""
    if current_tenant._get_current_object() is None:
        return 0
    cart = _cart()
    return len(cart.lines) if cart is not None else 0


# -- what the pages show ------------------------------------------------------------------------------------------

@dataclass
class LineView:
    variant: Variant
    quantity: int
    unit_price: int
    total: int
    price_source: str
    problems: list[PricingProblem] = field(default_factory=list)
    #: Why the goods are outside the 7-day no-reason return (``catalog.models.EXCLUSIONS``), or "".
    exclusion: str = ""

    @property
    def unit(self) -> str:
        return str(UNITS.get(self.variant.product.unit, ""))

    @property
    def price_label(self) -> str:
        """Which price applies: the list price, a quote, or a quantity tier (“满 10 件价”)."""
        if self.price_source.startswith("tier:"):
            return _("满 %(n)s%(unit)s价", n=self.price_source[5:], unit=self.unit)
        return str(PRICE_SOURCES.get(self.price_source, ""))


@dataclass
class ShopView:
    shop: Shop
    lines: list[LineView]
    subtotal: int
    #: Problems about the shop's part as a whole (its mixed-batch minimum, the shop closed).
    problems: list[PricingProblem]


@dataclass
class CartView:
    shops: list[ShopView]
    total: int
    problems: list[PricingProblem]

    @property
    def empty(self) -> bool:
        return not self.shops

    def _excluded(self, *, ticked: bool) -> list[LineView]:
        return [line for s in self.shops for line in s.lines
                if line.exclusion and (line.exclusion in CONFIRMED_AT_CHECKOUT) == ticked]

    @property
    def to_confirm(self) -> list[LineView]:
        """Goods outside the 7-day no-reason return only with the buyer's tick (暂行办法 Art. 7)."""
        return self._excluded(ticked=True)

    @property
    def excluded(self) -> list[LineView]:
        """Goods outside it by law whatever the buyer says (暂行办法 Art. 6): the buyer is told, nothing to tick."""
        return self._excluded(ticked=False)

    def fingerprint(self) -> str:
        """What the review page showed, line by line, to notice a change before placing."""
        text = ";".join(f"{s.shop.id}:{line.variant.id}:{line.quantity}:{line.unit_price}:{line.total}"
                        for s in self.shops for line in s.lines)
        return hashlib.sha256(f"{text}|{self.total}".encode()).hexdigest()


def cart_view(cart: Cart | None) -> CartView:
    tenant = current_tenant._get_current_object()
    if cart is None:
        return CartView([], 0, [])
    priced = orders.price_cart(tenant, cart)
    variants = {line.variant_id: line.variant for line in priced.lines}  # the lines priced, not a second read
    exclusions = orders.return_exclusions(variant.product_id for variant in variants.values())
    shops = []
    for shop, shop_priced in priced.shops:
        by_variant: dict[int, list[PricingProblem]] = {}
        general = []
        for problem in shop_priced.problems:
            if problem.variant_id is not None and problem.variant_id in variants:
                by_variant.setdefault(problem.variant_id, []).append(problem)
            else:
                general.append(problem)
        lines = [LineView(variants[line.variant_id], line.quantity, line.unit_price, line.total, line.price_source,
                          by_variant.pop(line.variant_id, []), exclusions.get(variants[line.variant_id].product_id, ""))
                 for line in shop_priced.lines]
        # A line refused before pricing (taken off sale) has no priced line: show it with its problem.
        for variant_id, problems in by_variant.items():
            lines.append(LineView(variants[variant_id], next(line.quantity for line in priced.lines
                                                             if line.variant_id == variant_id), 0, 0, "", problems,
                                  exclusions.get(variants[variant_id].product_id, "")))
        shops.append(ShopView(shop, lines, shop_priced.total, general))
    return CartView(shops, priced.total, priced.problems)


# -- the cart -----------------------------------------------------------------------------------------------------

def _refused(error: orders.CartError, back: str):
    db.session.rollback()
    g.pop("new_guest_cookie", None)
    flash(str(error), "error")
    if error.code == "unknown_variant":  # another tenant's id, or gone: the cart page says so, as not found
        return render_themed("cart/cart.html", view=cart_view(_cart())), 404
    return redirect(back), 303


@blueprint.route("/cart")
def view():
    return render_themed("cart/cart.html", view=cart_view(_cart()))


@blueprint.route("/cart/add", methods=["POST"])
def add():
    back = safe_next(request.form.get("next"), url_for("cart.view"))
    cart = _cart(create=True)
    try:
        line = orders.set_line(cart, request.form.get("variant_id", ""), request.form.get("quantity", ""), add=True)
    except orders.CartError as error:
        return _refused(error, back)
    db.session.commit()
    flash(_("已加入购物车：%(title)s × %(n)d。", title=line.variant.product.title, n=line.quantity), "success")
    return redirect(back), 303


@blueprint.route("/cart/update", methods=["POST"])
def update():
    back = url_for("cart.view")
    cart = _cart(create=True)  # dropped again (with its cookie) if the change is refused
    quantity = "0" if "remove" in request.form else request.form.get("quantity", "")
    try:
        orders.set_line(cart, request.form.get("variant_id", ""), quantity)
    except orders.CartError as error:
        return _refused(error, back)
    db.session.commit()
    flash(_("已从购物车移除。") if quantity == "0" else _("数量已更新。"), "success")
    return redirect(back), 303


# -- checkout -----------------------------------------------------------------------------------------------------

class CheckoutForm(FlaskForm):
    idempotency_key = HiddenField()
    fingerprint = HiddenField()
    #: "provider:method", one of ``payment_choices`` (set per request, checked in the view).
    payment = RadioField(_l("付款方式"), choices=[], validate_choice=False)
    invoice = RadioField(_l("发票"), choices=[SelectChoice("", _l("不需要发票")), SelectChoice("personal", _l("个人")),
                                              SelectChoice("company", _l("单位"))], default="")
    invoice_title = StringField(_l("单位名称"), validators=[Optional(), Length(max=100), plain_text])
    invoice_tax_id = StringField(_l("纳税人识别号"), validators=[Optional(), Length(max=20)])
    #: Required only when the cart holds goods of ``catalog.models.CONFIRMED_AT_CHECKOUT`` (checked in the view).
    confirm_exclusions = BooleanField(_l("我已知晓以上商品不适用七日无理由退货"))
    #: Consent (邮政法, 快递市场管理办法) that a parcel locker, a station or a neighbour may sign for the goods.
    third_party_signing = BooleanField(_l("同意由快递柜、驿站或他人代收"))
    # The per-shop fields (note_<shop id>, delivery_<shop id>) and the address (an address book entry's id) are
    # read from the request: their number varies.


def _invoice_text(form: CheckoutForm) -> str | None:
    """The invoice request as a line of the order note (orders have no invoice fields yet); None if invalid."""
    if form.invoice.data == "personal":
        return _("开具发票：个人")
    if form.invoice.data == "company":
        title = (form.invoice_title.data or "").strip()
        tax_id = normalise_identifier(form.invoice_tax_id.data or "")
        ok = True
        if not title:
            form.invoice_title.errors.append(_("请填写单位名称。"))
            ok = False
        if problem := taxpayer_id_problem(tax_id):  # the 18-character one is a 统一社会信用代码: check character too
            form.invoice_tax_id.errors.append(problem)
            ok = False
        return _("开具发票：单位 %(title)s，纳税人识别号 %(tax_id)s", title=title, tax_id=tax_id) if ok else None
    return ""


def choice_value(choice: Choice) -> str:
    return f"{choice.provider}:{choice.method}"


def provider_label(provider: str) -> str:
    try:
        return str(provider_class(provider).label)
    except ProviderLoadError:
        return provider


def _offer(form: CheckoutForm) -> list[Choice]:
    """The tenant's ways to pay, as the form's radio buttons (the first one chosen unless the buyer chose)."""
    choices = payments.payment_choices(current_tenant._get_current_object())
    form.payment.choices = [SelectChoice(choice_value(c), c.label) for c in choices]
    if not form.is_submitted() and choices:
        form.payment.data = choice_value(choices[0])
    return choices


def _chosen(form: CheckoutForm, choices: list[Choice]) -> Choice | None:
    """The buyer's choice if it is one of those offered; otherwise the field says so."""
    found = next((c for c in choices if choice_value(c) == form.payment.data), None)
    if found is None:
        form.payment.errors = [*form.payment.errors, _("请选择本页列出的一种付款方式。")]
    return found


def _review(form: CheckoutForm, view: CartView, deliveries: Deliveries, status: int = 200, notes: dict | None = None):
    form.idempotency_key.data = secrets.token_urlsafe(24)  # a new submission: a new key
    form.fingerprint.data = fingerprint(view, deliveries)
    return render_themed("cart/checkout.html", form=form, view=view, notes=notes or {}, deliveries=deliveries,
                         quoted_address=address_key(deliveries.address),
                         exclusions=EXCLUSIONS, provider_label=provider_label, offline=OFFLINE,
                         offered={c.provider for c in payments.payment_choices(current_tenant._get_current_object())}), status


@dataclass
class Deliveries:
    """The delivery part of checkout: where to (an address book entry, or none for collecting), and per shop
    what its providers offer for that address and which option is chosen (``"provider:code"``)."""

    addresses: list
    address: object | None
    quotes: dict[int, delivery.ShopQuote]
    chosen: dict[int, str]

    def option(self, shop_id: int) -> DeliveryOption | None:
        provider, _sep, code = self.chosen.get(shop_id, "").partition(":")
        quote = self.quotes.get(shop_id)
        return quote.find(provider, code) if quote is not None else None

    def fee(self, shop_id: int) -> int:
        option = self.option(shop_id)
        return option.fee if option is not None else 0

    @property
    def fees(self) -> int:
        return sum(self.fee(shop_id) for shop_id in self.quotes)


def option_value(option: DeliveryOption) -> str:
    return f"{option.provider}:{option.code}"


def _deliveries(tenant, view: CartView, values) -> Deliveries:
    """Quote every shop of the cart for the chosen address (``values``: the form, or the query string)."""
    addresses = addresses_of(current_user.id)
    raw = values.get("address", None)
    if raw is None:
        address = next((a for a in addresses if a.is_default), addresses[0] if addresses else None)
    else:
        address = next((a for a in addresses if str(a.id) == raw), None)
    value = delivery.address_value(address) if address is not None else None
    if value is not None and values.get("third_party_signing"):
        value = replace(value, third_party_signing=True)
    quotes, chosen = {}, {}
    for shop, quote in delivery.quote_cart(tenant, view.shops, value, buyer_id=current_user.id):
        quotes[shop.id] = quote
        asked = values.get(f"delivery_{shop.id}", "")
        offered = [option_value(o) for o in quote.options]
        chosen[shop.id] = asked if asked in offered else ("" if asked or not offered else offered[0])
    return Deliveries(addresses, address, quotes, chosen)


def address_key(address) -> str:
    """How the review page names the address its delivery options were quoted for."""
    return str(address.id) if address is not None else "none"


def fingerprint(view: CartView, deliveries: Deliveries) -> str:
    """What the review page showed — goods and every delivery option with its fee — to notice a change."""
    offered = ";".join(f"{shop_id}:{option_value(o)}:{o.fee}" for shop_id, quote in sorted(deliveries.quotes.items())
                       for o in quote.options)
    return hashlib.sha256(f"{view.fingerprint()}|{offered}".encode()).hexdigest()


@blueprint.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    tenant = current_tenant._get_current_object()
    form = CheckoutForm()
    choices = _offer(form)
    cart = _cart()
    key = ""
    if form.is_submitted() and form.validate():  # CSRF checked (CSRFProtect refuses a POST without it first)
        key = (form.idempotency_key.data or "").strip()[:orders.MAX_KEY_LENGTH]
        placed = _placed(key)
        if placed is not None:  # the same submission again (a double click, a retry): it is already placed
            return redirect(url_for("cart.confirmation", number=placed.number)), 303
    view = cart_view(cart)
    if view.empty or (key and view.problems):
        # The first of two clicks may have placed the order a moment ago (emptying the cart, taking the stock):
        # look again, from what is committed now, before calling anything a problem.
        placed = _placed(key, fresh=True)
        if placed is not None:
            return redirect(url_for("cart.confirmation", number=placed.number)), 303
    if view.empty:
        flash(_("购物车是空的。"), "info")
        return redirect(url_for("cart.view")), 303
    deliveries = _deliveries(tenant, view, request.form if form.is_submitted() else request.args)
    if not form.is_submitted() or "requote" in request.form:
        return _review(form, view, deliveries)
    notes = {s.shop.id: (request.form.get(f"note_{s.shop.id}") or "").strip()[:NOTE_MAX] for s in view.shops}
    choice = _chosen(form, choices)
    if form.errors or not key or choice is None:
        return _review(form, view, deliveries, 400, notes)
    if view.problems:
        return _review(form, view, deliveries, 409, notes)
    shown_for = request.form.get("quoted_address")
    if shown_for is not None and shown_for != address_key(deliveries.address):
        # The buyer picked another address without asking for its options: show them before anything is placed.
        form.form_errors.append(_("收货地址已更改，配送方式和运费已按新地址更新，请确认后再提交。"))
        return _review(form, view, deliveries, 409, notes)
    if form.fingerprint.data != fingerprint(view, deliveries):
        placed = _placed(key, fresh=True)
        if placed is not None:
            return redirect(url_for("cart.confirmation", number=placed.number)), 303
        form.form_errors.append(_("价格、数量或配送选项在您查看后有变化，请核对后再提交。"))
        return _review(form, view, deliveries, 409, notes)
    missing = [s.shop for s in view.shops if deliveries.option(s.shop.id) is None]
    for shop in missing:
        form.form_errors.append(_("请为“%(shop)s”选择本页列出的一种配送方式。", shop=shop.name()))
    if missing:
        return _review(form, view, deliveries, 400, notes)
    invoice = _invoice_text(form)
    if view.to_confirm and not form.confirm_exclusions.data:
        form.confirm_exclusions.errors.append(_("请勾选确认：以上商品不适用七日无理由退货。"))
    if invoice is None or form.confirm_exclusions.errors:
        return _review(form, view, deliveries, 400, notes)
    full_notes = {shop_id: "\n".join(part for part in (text, invoice) if part) for shop_id, text in notes.items()}
    address = deliveries.address
    value = delivery.address_value(address) if address is not None else None
    if value is not None:
        value = replace(value, third_party_signing=bool(form.third_party_signing.data))
    chosen = {s.shop.id: delivery.Chosen(
        deliveries.option(s.shop.id), value if deliveries.option(s.shop.id).provider != "pickup" else None,
        address.full_text if address is not None and deliveries.option(s.shop.id).provider != "pickup" else "")
        for s in view.shops}
    try:
        group = orders.place_order(tenant, current_user.id, cart, key, payment_provider=choice.provider,
                                   delivery=chosen, notes=full_notes,
                                   confirmed_exclusions=bool(form.confirm_exclusions.data))
    except orders.CheckoutError as error:
        db.session.rollback()
        form.form_errors.extend(problem.message for problem in error.problems)
        view = cart_view(_cart())
        return _review(form, view, _deliveries(tenant, view, request.form), 409, notes)
    except orders.CartError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        view = cart_view(_cart())
        return _review(form, view, _deliveries(tenant, view, request.form), 400, notes)
    payment = first_payment(group, choice)
    if payment is None:  # the same submission, placed a moment ago by the first click: it is under way
        return redirect(url_for("cart.confirmation", number=group.number)), 303
    return _start(tenant, group, payment, placed=True)


def first_payment(group: OrderGroup, choice: Choice) -> Payment | None:
    """The group's first payment attempt, committed; None when it has one already (a submission sent twice)."""
    locked = db.session.scalar(select(OrderGroup).where(OrderGroup.id == group.id).with_for_update())
    if db.session.scalar(select(Payment.id).where(Payment.group_id == locked.id).limit(1)) is not None:
        db.session.commit()
        return None
    payment = payments.create_payment(locked, choice)
    db.session.commit()
    return payment


def return_url(group: OrderGroup) -> str:
    """Where the provider sends the buyer's browser back to (absolute: it leaves our site first)."""
    return url_for("cart.paid", number=group.number, _external=True)


def _start(tenant, group: OrderGroup, payment: Payment, *, placed: bool):
    """Ask the provider to collect the payment, then show what the buyer does next."""
    here = url_for("cart.confirmation", number=group.number)
    try:
        action = payments.start_payment(tenant, payment, return_url=return_url(group))
    except (ProviderUnavailable, ProviderError, payments.PaymentError):
        flash(_("订单已提交，但暂时无法发起付款，请稍后点击“重新付款”。订单在付款期限前保留。") if placed
              else _("暂时无法发起付款，请稍后再点击“重新付款”。"), "error")
        return redirect(here), 303
    if action.kind == "client_secret":
        return redirect(url_for("cart.pay", number=group.number)), 303
    if action.kind == "redirect" and action.redirect_url.startswith(("https://", "http://")):
        return redirect(action.redirect_url), 303
    flash(_("下单成功！请按下面的说明付款。") if placed else _("请按下面的说明付款。"), "success")
    return redirect(here), 303


def _placed(key: str, *, fresh: bool = False) -> OrderGroup | None:
    """The group this submission already placed, if any; ``fresh`` ends the read transaction first, so a
    commit made a moment ago by the first of two clicks is seen."""
    if not key:
        return None
    if fresh:
        db.session.commit()
    return db.session.scalar(select(OrderGroup).where(OrderGroup.buyer_id == current_user.id,
                                                      OrderGroup.idempotency_key == key))


def _my_group(number: str, *, with_shops: bool = False) -> OrderGroup:
    """The signed-in buyer's order group by number; someone else's is not found, exactly like a missing one."""
    query = select(OrderGroup).where(OrderGroup.number == number, OrderGroup.buyer_id == current_user.id)
    if with_shops:
        query = query.options(selectinload(OrderGroup.orders).selectinload(Order.lines),
                              selectinload(OrderGroup.orders).selectinload(Order.shop).selectinload(Shop.merchant))
    group = db.session.scalar(query)
    if group is None:
        abort(404)
    return group


# -- payment state and paying ---------------------------------------------------------------------------------------

@dataclass
class PaymentView:
    """How a group's payment stands, for its pages: the latest attempt (None before any), what it reads as."""

    payment: Payment | None
    provider_label: str
    method_label: str
    status_label: str
    instructions: str = ""
    #: Whether the buyer can start a new attempt (nothing paid, something still to pay, the last one failed).
    may_retry: bool = False
    #: Whether the pay page (the provider's script) goes on with the current attempt.
    may_continue: bool = False


def payment_view(group: OrderGroup) -> PaymentView:
    payment = db.session.scalar(select(Payment).where(Payment.group_id == group.id)
                                .order_by(Payment.id.desc()).limit(1))
    provider = payment.provider if payment is not None else group.payment_provider
    method = payment.method if payment is not None else ""
    if group.paid_at is not None:
        status = PaymentStatus.succeeded if payment is None or payment.status not in payments.PAID else payment.status
    else:
        status = payment.status if payment is not None else PaymentStatus.pending
    view = PaymentView(payment, provider_label(provider), payments.method_label(provider, method) if method else "",
                       str(PaymentStatus.__labels__[status]))
    awaiting = group.paid_at is None and any(o.status == OrderStatus.pending_payment for o in group.orders)
    if awaiting and payment is not None:
        if payment.provider == OFFLINE:
            view.instructions = _instructions(group, payment)
        view.may_retry = payment.status in (PaymentStatus.failed, PaymentStatus.cancelled) \
            or (payment.provider != OFFLINE and not payment.reference)  # the provider never answered
        view.may_continue = payment.provider != OFFLINE and bool(payment.reference) \
            and payment.status in (PaymentStatus.pending, PaymentStatus.requires_action)
    elif awaiting:  # placed before payments were recorded, or the attempt could not be made
        view.may_retry = group.payment_provider != OFFLINE
    return view


def _instructions(group: OrderGroup, payment: Payment) -> str:
    """What an offline payment asks of the buyer (the provider says it again: it keeps nothing to ask)."""
    tenant = current_tenant._get_current_object()
    try:
        action = payments.provider_for(tenant, OFFLINE).create(PaymentRequest(
            payment_id=payment.id, tenant=tenant.slug, reference=group.number, amount=payment.amount,
            currency=payment.currency, method=payment.method))
    except (payments.PaymentError, ProviderLoadError):
        return ""
    return action.instructions


def _client_secret(tenant, payment: Payment) -> str:
    """The payment's client secret, from the provider, for this response only (never stored)."""
    action = payments.provider_for(tenant, payment.provider).resume(payment.reference)
    return action.client_secret if action.reference == payment.reference else ""


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def pay_page_csp(settings) -> str:
    """The pay page may run our script and Stripe.js, frame Stripe's card fields and 3-D Secure pages, and talk to
    Stripe's API — nothing else."""
    js = _origin(settings.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/")
    api = _origin(settings.get("STRIPE_API_BASE") or "") or "https://api.stripe.com"
    # Stripe.js loads parts of itself from subdomains of js.stripe.com, and 3-D Secure pages from hooks.stripe.com.
    scripts = " ".join(dict.fromkeys([js, "https://*.js.stripe.com"]))
    frames = " ".join(dict.fromkeys([js, "https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]))
    connect = " ".join(dict.fromkeys([api, js]))
    return (f"default-src 'self'; script-src 'self' {scripts}; frame-src {frames}; connect-src 'self' {connect}; "
            "img-src 'self' data: https://*.stripe.com; style-src 'self' 'unsafe-inline'; "
            "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")


@blueprint.route("/orders/<string(maxlength=32):number>/pay")
@login_required
def pay(number: str):
    """The page where the buyer pays in the browser with the provider's script (a card, Alipay, WeChat Pay)."""
    tenant = current_tenant._get_current_object()
    group = _my_group(number, with_shops=True)
    here = url_for("cart.confirmation", number=group.number)
    view = payment_view(group)
    if group.paid_at is not None:
        flash(_("这笔订单已经付过款了。"), "info")
        return redirect(here), 303
    if not view.may_continue:
        return redirect(here), 303
    payment = view.payment
    try:
        secret = _client_secret(tenant, payment)
    except (ProviderUnavailable, ProviderError, payments.PaymentError):
        secret = ""
    if not secret:
        flash(_("暂时无法连接支付平台，请稍后再试或点击“重新付款”。"), "error")
        return redirect(here), 303
    settings = current_app.config["MARKETPLACE"]
    response = make_response(render_themed(
        "cart/pay.html", group=group, payment=payment, view=view, client_secret=secret,
        publishable_key=settings.get("STRIPE_PUBLISHABLE_KEY") or "",
        stripe_js=settings.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/", return_url=return_url(group)))
    response.headers["Content-Security-Policy"] = pay_page_csp(settings)
    response.headers["Cache-Control"] = "no-store"  # the client secret is for this response only
    response.headers["Referrer-Policy"] = "same-origin"
    return response


#: What the buyer reads on coming back from the provider, by the payment's state.
RETURN_MESSAGES = {
    PaymentStatus.succeeded: ("success", _l("付款成功，谢谢！商家将尽快备货。")),
    PaymentStatus.authorized: ("success", _l("付款已授权，商家接单后扣款。")),
    PaymentStatus.requires_action: ("info", _l("付款还需要您完成验证，请继续付款。")),
    PaymentStatus.pending: ("info", _l("付款正在处理中，稍后刷新本页查看结果。")),
}


@blueprint.route("/orders/<string(maxlength=32):number>/paid")
@login_required
def paid(number: str):
    """The buyer's browser back from the provider (``?payment_intent=…``): ask how the payment stands, say it."""
    tenant = current_tenant._get_current_object()
    group = _my_group(number)
    here = url_for("cart.confirmation", number=group.number)
    reference = (request.args.get("payment_intent") or "")[:100]
    query = select(Payment).where(Payment.group_id == group.id)
    query = query.where(Payment.reference == reference) if reference else query.order_by(Payment.id.desc()).limit(1)
    payment = db.session.scalar(query)
    if payment is None:  # not one of this group's payments: nothing to ask about
        return redirect(here), 303
    try:
        payments.refresh_payment(tenant, payment)
    except (ProviderUnavailable, ProviderError, payments.PaymentError):
        db.session.rollback()
        flash(str(RETURN_MESSAGES[PaymentStatus.pending][1]), "info")
        return redirect(here), 303
    db.session.refresh(payment)
    if payment.status == PaymentStatus.failed:
        flash(_("付款未成功：%(reason)s 您可以点击“重新付款”再试一次。", reason=payment.problem or _("支付平台未说明原因。")),
              "error")
    elif payment.problem:  # the provider's amount is not ours: nothing was marked paid
        flash(_("付款出现异常，订单暂未记为已付款，平台会尽快核实。"), "error")
    else:
        category, message = RETURN_MESSAGES.get(payment.status, RETURN_MESSAGES[PaymentStatus.pending])
        flash(str(message), category)
    return redirect(here), 303


@blueprint.route("/orders/<string(maxlength=32):number>/pay/retry", methods=["POST"])
@login_required
def retry_payment(number: str):
    """重新付款: a new payment attempt for a group still unpaid (CSRF is checked before the view runs)."""
    tenant = current_tenant._get_current_object()
    group = _my_group(number, with_shops=True)
    here = url_for("cart.confirmation", number=group.number)
    view = payment_view(group)
    if view.may_continue:  # the latest attempt is still open (a second click): go on with it
        return redirect(url_for("cart.pay", number=group.number)), 303
    if not view.may_retry and group.paid_at is None and view.payment is not None:
        return redirect(here), 303
    payment, _code, problem = new_attempt(tenant, group, request.form.get("payment", ""))
    if payment is None:
        flash(problem, "error")
        return redirect(here), 303
    return _start(tenant, group, payment, placed=False)


def new_attempt(tenant, group: OrderGroup, chosen: str) -> tuple[Payment | None, str, str]:
    """A new committed payment attempt for an unpaid group by the way to pay named ("provider:method"; default:
    the last attempt's), or None with a stable code and why not. Shared with the API."""
    last = db.session.scalar(select(Payment).where(Payment.group_id == group.id).order_by(Payment.id.desc()).limit(1))
    choices = payments.payment_choices(tenant)
    if not chosen and last is not None:
        chosen = f"{last.provider}:{last.method}"
    choice = next((c for c in choices if choice_value(c) == chosen), None) if chosen else \
        next((c for c in choices if c.provider == group.payment_provider), None)
    if choice is None:
        return None, "unknown_payment_method", _("请选择本市场提供的一种付款方式。")
    locked = db.session.scalar(select(OrderGroup).where(OrderGroup.id == group.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked.paid_at is not None or db.session.scalar(select(Payment.id).where(
            Payment.group_id == group.id, Payment.status.in_(payments.PAID)).limit(1)) is not None:
        db.session.rollback()
        return None, "already_paid", _("这笔订单已经付过款了。")
    if not any(o.status == OrderStatus.pending_payment for o in locked.orders):
        db.session.rollback()
        return None, "nothing_to_pay", _("订单已取消或无需再付款。")
    try:
        payment = payments.create_payment(locked, choice)
    except payments.PaymentError as error:
        db.session.rollback()
        return None, error.code, str(error)
    db.session.commit()
    return payment, "", ""


@blueprint.route("/orders/<string(maxlength=32):number>")
@login_required
def confirmation(number: str):
    group = _my_group(number, with_shops=True)
    shipments = delivery.shipments_of(order.id for order in group.orders)
    return render_themed("cart/confirmation.html", group=group, labels=OrderStatus.__labels__, units=UNITS,
                         shipments=shipments, delivery_summary=delivery.summary, pickup_code=pickup.code_for,
                         qr_svg=pickup.qr_svg, shipment_labels=ShipmentStatus.__labels__,
                         collection_place=delivery.collection_place,
                         pay=payment_view(group), retry_choices=payments.payment_choices(current_tenant._get_current_object()),
                         choice_value=choice_value,
                         after_sale={order.id: _after_sale(order) for order in group.orders},
                         return_labels=returns.ReturnStatus.__labels__, may_cancel=orders.BUYER_MAY_CANCEL,
                         # One id per page shown: the same return form sent twice is one request.
                         submission=secrets.token_urlsafe(16))


@blueprint.route("/orders/<string(maxlength=32):number>/receipt")
@login_required
def receipt(number: str):
    """A printable receipt of the checkout: per order the seller as registered, the goods, payment and refunds."""
    group = _my_group(number, with_shops=True)
    refunds = {order.id: [] for order in group.orders}
    for refund in db.session.scalars(select(returns.Refund).where(returns.Refund.order_id.in_(list(refunds)))
                                     .order_by(returns.Refund.id)):
        refunds[refund.order_id].append(refund)
    return render_themed("cart/receipt.html", group=group, labels=OrderStatus.__labels__, units=UNITS,
                         refunds=refunds, pay=payment_view(group), shipments=delivery.shipments_of(refunds),
                         delivery_summary=delivery.summary)


@blueprint.route("/orders/<string(maxlength=32):number>/<string(maxlength=32):order_number>/cancel",
                 methods=["POST"])
@login_required
def cancel(number: str, order_number: str):
    """The buyer's 取消订单 button under one order, before its goods leave the shop (CSRF checked before)."""
    group = _my_group(number)
    # Locked, so that a merchant's move at this moment (accepting, handing over) waits and is then seen.
    order = db.session.scalar(select(Order).where(Order.group_id == group.id, Order.number == order_number)
                              .with_for_update())
    if order is None:
        abort(404)
    paid = order.status in orders.PAID_BEFORE_DISPATCH
    try:
        orders.cancel_by_buyer(order, buyer_id=current_user.id, reason=request.form.get("reason", ""))
    except orders.InvalidTransition as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(_("订单已取消，已付款项将全额退回。") if paid else _("订单已取消。"), "success")
    return redirect(url_for("cart.confirmation", number=group.number, _anchor=f"order-{order.number}")), 303


# -- returns ------------------------------------------------------------------------------------------------------

@dataclass
class AfterSale:
    """What the confirmation page shows under one order: its return requests and refunds, and whether (until
    when, which units) a return may still be asked for."""

    requests: list
    refunds: list
    last_day: object = None  # a date, when the goods have been received
    returnable: dict = field(default_factory=dict)  # order line id → units that may still go back

    @property
    def may_return(self) -> bool:
        return bool(self.returnable) and any(self.returnable.values())


def _after_sale(order: Order) -> AfterSale:
    tenant = current_tenant._get_current_object()
    found = AfterSale(
        requests=list(db.session.scalars(select(returns.ReturnRequest).where(returns.ReturnRequest.order_id == order.id)
                                          .options(selectinload(returns.ReturnRequest.lines))
                                          .order_by(returns.ReturnRequest.id))),
        refunds=list(db.session.scalars(select(returns.Refund).where(returns.Refund.order_id == order.id)
                                        .order_by(returns.Refund.id))))
    if order.status in (*returns.SIGNED_FOR, OrderStatus.completed, OrderStatus.refunding):
        found.last_day = returns.last_return_day(tenant, order)
        today = datetime.now(ZoneInfo(tenant.timezone)).date()
        if found.last_day is not None and today <= found.last_day:
            found.returnable = returns.returnable_quantities(order)
    return found


@blueprint.route("/orders/<string(maxlength=32):number>/returns", methods=["POST"])
@login_required
def request_return(number: str):
    """The buyer's 申请退货 form under one order of the group (CSRF is checked before the view runs)."""
    tenant = current_tenant._get_current_object()
    group = _my_group(number)
    order = next((o for o in group.orders if o.number == request.form.get("order", "")), None)
    if order is None:
        abort(404)
    # Only this order's lines are read from the form: another line id cannot be slipped in.
    quantities = {line.id: (request.form.get(f"qty_{line.id}") or "0").strip() for line in order.lines}
    no_reason = request.form.get("kind", "no_reason") != "quality"
    try:
        returns.request_return(tenant, order, quantities, buyer_id=current_user.id, no_reason=no_reason,
                               reason=request.form.get("reason", ""), key=request.form.get("submission", ""))
    except returns.ReturnError as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(_("退货申请已提交，请等待商家处理。"), "success")
    return redirect(url_for("cart.confirmation", number=group.number, _anchor=f"order-{order.number}")), 303
