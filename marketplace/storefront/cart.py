"""The resident's cart, checkout and orders in one tenant (``/t/<tenant>/cart``, ``/checkout``,
``/orders/<number>`` with its printable ``/receipt``, the buyer's cancellation and return request).

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
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import Length, Optional

from marketplace.catalog.models import CONFIRMED_AT_CHECKOUT, EXCLUSIONS, UNITS, Variant
from marketplace.catalog.pricing import PricingProblem
from marketplace.core.text import plain_text
from marketplace.core.themes import render_themed
from marketplace.core.views import safe_next
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import Cart, Order, OrderGroup, OrderStatus
from marketplace.shops.models import Shop
from marketplace.shops.services import normalise_identifier, taxpayer_id_problem
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("cart", __name__, url_prefix="/t/<slug:tenant_slug>")

GUEST_COOKIE = "guest_cart"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
#: The only delivery and payment there are until their providers land: pick up at the shop, pay there.
PICKUP, OFFLINE = "pickup", "offline"
NOTE_MAX = 200
PRICE_SOURCES = {"base": _l("标价"), "quote": _l("报价")}
PAYMENT_LABELS = {OFFLINE: _l("线下付款（到店取货时付款）")}
DELIVERY_LABELS = {PICKUP: _l("到店自提")}


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
    payment = RadioField(_l("付款方式"), choices=[SelectChoice(k, v) for k, v in PAYMENT_LABELS.items()],
                         default=OFFLINE)
    invoice = RadioField(_l("发票"), choices=[SelectChoice("", _l("不需要发票")), SelectChoice("personal", _l("个人")),
                                              SelectChoice("company", _l("单位"))], default="")
    invoice_title = StringField(_l("单位名称"), validators=[Optional(), Length(max=100), plain_text])
    invoice_tax_id = StringField(_l("纳税人识别号"), validators=[Optional(), Length(max=20)])
    #: Required only when the cart holds goods of ``catalog.models.CONFIRMED_AT_CHECKOUT`` (checked in the view).
    confirm_exclusions = BooleanField(_l("我已知晓以上商品不适用七日无理由退货"))
    # The per-shop fields (note_<shop id>, delivery_<shop id>) are read from the request: their number varies.


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


def _review(form: CheckoutForm, view: CartView, status: int = 200, notes: dict | None = None):
    form.idempotency_key.data = secrets.token_urlsafe(24)  # a new submission: a new key
    form.fingerprint.data = view.fingerprint()
    return render_themed("cart/checkout.html", form=form, view=view, notes=notes or {},
                         exclusions=EXCLUSIONS), status


@blueprint.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    tenant = current_tenant._get_current_object()
    form = CheckoutForm()
    cart = _cart()
    key = ""
    if form.is_submitted() and form.validate():  # CSRF checked (CSRFProtect refuses a POST without it first)
        key = (form.idempotency_key.data or "").strip()[:orders.MAX_KEY_LENGTH]
        placed = _placed(key)
        if placed is not None:  # the same submission again (a double click, a retry): it is already placed
            return redirect(url_for("cart.confirmation", number=placed.number)), 303
    view = cart_view(cart)
    if view.empty or (key and (view.problems or form.fingerprint.data != view.fingerprint())):
        # The first of two clicks may have placed the order a moment ago (emptying the cart, taking the stock):
        # look again, from what is committed now, before calling anything a problem.
        placed = _placed(key, fresh=True)
        if placed is not None:
            return redirect(url_for("cart.confirmation", number=placed.number)), 303
    if view.empty:
        flash(_("购物车是空的。"), "info")
        return redirect(url_for("cart.view")), 303
    if not form.is_submitted():
        return _review(form, view)
    notes = {s.shop.id: (request.form.get(f"note_{s.shop.id}") or "").strip()[:NOTE_MAX] for s in view.shops}
    if form.errors or not key:
        return _review(form, view, 400, notes)
    if view.problems:
        return _review(form, view, 409, notes)
    if form.fingerprint.data != view.fingerprint():
        form.form_errors.append(_("价格或数量在您查看后有变化，请核对以下金额后再提交。"))
        return _review(form, view, 409, notes)
    if any(request.form.get(f"delivery_{s.shop.id}", PICKUP) != PICKUP for s in view.shops):
        form.form_errors.append(_("请选择配送方式。"))
        return _review(form, view, 400, notes)
    invoice = _invoice_text(form)
    if view.to_confirm and not form.confirm_exclusions.data:
        form.confirm_exclusions.errors.append(_("请勾选确认：以上商品不适用七日无理由退货。"))
    if invoice is None or form.confirm_exclusions.errors:
        return _review(form, view, 400, notes)
    full_notes = {shop_id: "\n".join(part for part in (text, invoice) if part) for shop_id, text in notes.items()}
    try:
        group = orders.place_order(tenant, current_user.id, cart, key, payment_provider=OFFLINE,
                                   delivery={s.shop.id: (PICKUP, 0) for s in view.shops}, notes=full_notes,
                                   confirmed_exclusions=bool(form.confirm_exclusions.data))
    except orders.CheckoutError as error:
        db.session.rollback()
        form.form_errors.extend(problem.message for problem in error.problems)
        return _review(form, cart_view(_cart()), 409, notes)
    except orders.CartError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return _review(form, cart_view(_cart()), 400, notes)
    flash(_("下单成功！请按下面的说明到店付款取货。"), "success")
    return redirect(url_for("cart.confirmation", number=group.number)), 303


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


@blueprint.route("/orders/<string(maxlength=32):number>")
@login_required
def confirmation(number: str):
    group = _my_group(number, with_shops=True)
    return render_themed("cart/confirmation.html", group=group, labels=OrderStatus.__labels__, units=UNITS,
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
                         refunds=refunds, payments=PAYMENT_LABELS, deliveries=DELIVERY_LABELS)


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
