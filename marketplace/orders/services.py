"""Carts, placing orders, and the order state machine.

Prices and totals always come from ``catalog.pricing.price_shop_lines``; nothing a client sends about a price,
a total or a tenant is ever read. ``place_order`` is the one way an order comes to exist: it re-prices the cart,
takes stock with conditional updates (``stock = stock - n WHERE stock >= n``), and writes the group, one order
per shop, their lines and their first history entries in one transaction — or nothing. It is idempotent per
checkout submission: the same key gives back the same group.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.catalog.admin import tenant_today
from marketplace.catalog.models import CONFIRMED_AT_CHECKOUT, Category, Product, Quote, QuoteStatus, Variant
from marketplace.catalog.pricing import PricedShop, PricingProblem, price_shop_lines
from marketplace.core.db import MAX_ID, utcnow, writing
from marketplace.extensions import db
from marketplace.orders import notifications
from marketplace.orders.models import Cart, CartLine, Order, OrderEvent, OrderGroup, OrderLine, OrderStatus
from marketplace.search import indexing as search_indexing
from marketplace.shops.models import Shop
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import Setting, SettingsGroup

#: Per tenant: the platform's commission in basis points of each order's total (150 = 1.5 %), how long stock is
#: held for an unpaid order, and per payment provider id a hold of its own (paying at the stall may take a day).
order_settings = SettingsGroup("orders", commission_bp=Setting(int, 0), payment_minutes=Setting(int, 30),
                               payment_minutes_by_provider=Setting(dict, {}))
#: The most units of one variant a line may ask for (a wholesale order of 200 bags is far below it).
MAX_QUANTITY = 100_000
MAX_KEY_LENGTH = 100


def return_exclusions(product_ids) -> dict[int, str]:
    """Per product id: its category's exclusion code, where it has one."""
    ids = {product_id for product_id in product_ids if product_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(Product.id, Category.return_exclusion).join(Category, Product.category_id == Category.id)
                              .where(Product.id.in_(ids), Category.return_exclusion != ""))
    return dict(rows.all())


def payment_minutes(tenant: Tenant, provider: str) -> int:
    """How long stock is held for an order paid with ``provider``: its own hold if the operator set one."""
    settings = order_settings.all(tenant)
    own = settings["payment_minutes_by_provider"].get(provider)
    return own if isinstance(own, int) and not isinstance(own, bool) and own > 0 else settings["payment_minutes"]


class CartError(ValueError):
    """A change to a cart that cannot be made; ``code`` is stable, the message is for the resident."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class CheckoutError(ValueError):
    """A checkout that cannot go through as it stands: every reason, by shop; nothing was written."""

    def __init__(self, problems: list[PricingProblem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class InvalidTransition(ValueError):
    def __init__(self, order: Order, to: str):
        super().__init__(_("订单 %(number)s 当前为“%(status)s”，不能改为“%(to)s”。", number=order.number,
                           status=OrderStatus(order.status).label, to=OrderStatus(to).label))


# -- carts ----------------------------------------------------------------------------------------------------------

def new_cart_token() -> str:
    return secrets.token_urlsafe(32)


def cart_for(tenant: Tenant, *, user_id: int | None = None, token: str | None = None,
             create: bool = False) -> Cart | None:
    """The signed-in resident's cart, or the guest cart of this cookie token; made when ``create``."""
    if user_id is not None:
        cart = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
    elif token:
        cart = db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None)))
    else:
        cart = None
    if cart is None and create:
        cart = Cart(tenant_id=tenant.id, token=token or new_cart_token(), user_id=user_id)
        try:
            with db.session.begin_nested():  # a second tab making the same resident's cart at this moment
                db.session.add(cart)
        except IntegrityError:
            if user_id is None:
                raise
            cart = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
    return cart


def is_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also says yes to "²" and "٣", which ``int`` then refuses."""
    return text.isascii() and text.isdigit()


def parse_quantity(raw) -> int:
    """A whole number of units from a form or JSON: 1 to MAX_QUANTITY, nothing else (no 1.5, no "2e3")."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise CartError(_("数量应为 1 到 %(max)d 之间的整数。", max=MAX_QUANTITY), "bad_quantity")
    text = str(raw).strip()
    if not is_digits(text) or len(text) > 6 or not 1 <= int(text) <= MAX_QUANTITY:
        raise CartError(_("数量应为 1 到 %(max)d 之间的整数。", max=MAX_QUANTITY), "bad_quantity")
    return int(text)


def _variant(variant_id) -> Variant:
    """A variant of the current tenant that is on sale (another tenant's id is simply not found)."""
    if isinstance(variant_id, bool) or not is_digits(str(variant_id)) or len(str(variant_id)) > 10 or int(variant_id) > MAX_ID:
        raise CartError(_("找不到这件商品。"), "unknown_variant")
    variant = db.session.scalar(select(Variant).join(Product).where(Variant.id == int(variant_id))
                                .options(selectinload(Variant.product)))
    if variant is None or not variant.product.is_active:
        raise CartError(_("找不到这件商品。"), "unknown_variant")
    return variant


def set_line(cart: Cart, variant_id, quantity, *, add: bool = False) -> CartLine | None:
    """Put ``quantity`` of a variant in the cart (or add to what is there); 0 with ``add=False`` removes it."""
    variant = _variant(variant_id)
    line = next((line for line in cart.lines if line.variant_id == variant.id), None)
    if not add and str(quantity).strip() == "0":
        if line is not None:
            cart.lines.remove(line)
            db.session.flush()
        return None
    quantity = parse_quantity(quantity)
    if add and line is not None:
        quantity = min(line.quantity + quantity, MAX_QUANTITY)
    if line is None:
        line = CartLine(tenant_id=cart.tenant_id, variant_id=variant.id, quantity=quantity)
        cart.lines.append(line)
    else:
        line.quantity = quantity
    db.session.flush()
    return line


def merge_into(user_cart: Cart, guest: Cart) -> None:
    """At login: the guest cart's lines join the resident's (the larger quantity wins), then it is gone."""
    mine = {line.variant_id: line for line in user_cart.lines}
    for line in list(guest.lines):
        if line.variant_id in mine:
            mine[line.variant_id].quantity = max(mine[line.variant_id].quantity, line.quantity)
        else:
            user_cart.lines.append(CartLine(tenant_id=user_cart.tenant_id, variant_id=line.variant_id,
                                            quantity=line.quantity, quote_id=line.quote_id))
    db.session.delete(guest)
    db.session.flush()


@dataclass
class PricedCart:
    shops: list[tuple[Shop, PricedShop]]
    #: The cart lines as read for this pricing (placing an order uses these, not a second read).
    lines: list[CartLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(priced.total for _shop, priced in self.shops)

    @property
    def problems(self) -> list[PricingProblem]:
        return [p for _shop, priced in self.shops for p in priced.problems]


def price_cart(tenant: Tenant, cart: Cart, *, lock: bool = False) -> PricedCart:
    """The cart as it would be charged now, shop by shop, with every reason it cannot be bought yet."""
    lines = list(db.session.scalars(
        select(CartLine).where(CartLine.cart_id == cart.id).order_by(CartLine.id)
        .options(selectinload(CartLine.variant).selectinload(Variant.product),
                 selectinload(CartLine.variant).selectinload(Variant.tiers), selectinload(CartLine.quote))))
    by_shop: dict[int, list[CartLine]] = {}
    for line in lines:
        by_shop.setdefault(line.variant.shop_id, []).append(line)
    shops = {s.id: s for s in db.session.scalars(select(Shop).where(Shop.id.in_(by_shop)))}
    today = tenant_today(tenant)
    priced = []
    for shop_id, shop_lines in by_shop.items():
        shop = shops[shop_id]
        quotes = {line.variant_id: line.quote for line in shop_lines
                  if line.quote is not None and line.quote.buyer_id == cart.user_id
                  and line.quote.status == QuoteStatus.accepted}
        result = price_shop_lines(shop, [(line.variant, line.quantity) for line in shop_lines],
                                  currency=tenant.currency, quotes=quotes, today=today)
        if not shop.is_active:
            result.problems.append(PricingProblem("shop_closed", _("%(shop)s 暂停营业。", shop=shop.name())))
        priced.append((shop, result))
    return PricedCart(priced, lines)


# -- placing orders -------------------------------------------------------------------------------------------------

def _number(prefix: str) -> str:
    return f"{prefix}{utcnow():%Y%m%d}{secrets.randbelow(10**10):010d}"


def commission_for(total: int, basis_points: int) -> int:
    """Commission in fen, rounded half up."""
    return (total * basis_points + 5_000) // 10_000


def place_order(tenant: Tenant, buyer_id: int, cart: Cart, idempotency_key: str, *, payment_provider: str = "offline",
                delivery: dict | None = None, notes: dict[int, str] | None = None,
                confirmed_exclusions: bool = False) -> OrderGroup:
    """Turn the cart into one paid-together group of orders, one per shop — all of it, or nothing.

    ``delivery`` maps shop id → ``delivery.services.Chosen``, the option the server quoted and the buyer chose
    (default: collect at the shop, free); each order gets its shipment, a time slot its place. ``confirmed_exclusions`` is the buyer's tick that goods needing it (``CONFIRMED_AT_CHECKOUT``) are
    bought without the 7-day no-reason return. Raises ``CheckoutError`` with every problem when the cart
    cannot be bought as it stands.
    """
    key = (idempotency_key or "").strip()[:MAX_KEY_LENGTH]
    if not key:
        raise CartError(_("缺少提交编号，请刷新页面后重试。"), "missing_idempotency_key")
    existing = _group_for_key(buyer_id, key)
    if existing is not None:
        return existing
    # End the read transaction first: on SQLite a read transaction that turns into a write fails at once when
    # another buyer writes; a transaction begun for writing waits its turn (see core.db.writing).
    db.session.commit()
    with writing():
        try:
            # One submission at a time per cart: SQLite's write transaction already serialises writers; on
            # PostgreSQL the cart row is locked. Then the key is looked up again — a duplicate that waited here
            # finds the group the first one placed, and answers with it.
            db.session.execute(select(Cart.id).where(Cart.id == cart.id).with_for_update())
            existing = _group_for_key(buyer_id, key)
            if existing is not None:
                db.session.rollback()
                return existing
            group = _place(tenant, buyer_id, cart, key, payment_provider, delivery or {}, notes or {},
                           confirmed_exclusions)
            notifications.order_placed(tenant, group)  # sent once the commit below succeeds
            db.session.commit()
        except IntegrityError:  # the same submission placed by a concurrent request: that one stands
            db.session.rollback()
            existing = _group_for_key(buyer_id, key)
            if existing is None:
                raise
            return existing
        except Exception:
            db.session.rollback()
            raise
    return group


def _group_for_key(buyer_id: int, key: str) -> OrderGroup | None:
    return db.session.scalar(select(OrderGroup).where(OrderGroup.buyer_id == buyer_id,
                                                      OrderGroup.idempotency_key == key))


def needs_confirmation(priced: PricedCart) -> list[tuple[CartLine, str]]:
    """The cart lines whose goods are outside the no-reason return only with the buyer's tick, with the code."""
    codes = return_exclusions(line.variant.product_id for line in priced.lines)
    return [(line, codes[line.variant.product_id]) for line in priced.lines
            if codes.get(line.variant.product_id) in CONFIRMED_AT_CHECKOUT]


def _place(tenant, buyer_id, cart, key, payment_provider, delivery, notes, confirmed_exclusions) -> OrderGroup:
    priced = price_cart(tenant, cart)
    if not priced.shops:
        raise CheckoutError([PricingProblem("empty_cart", _("购物车是空的。"))])
    if priced.problems:
        raise CheckoutError(priced.problems)
    if not confirmed_exclusions and needs_confirmation(priced):
        raise CheckoutError([PricingProblem(
            "confirm_exclusions", _("“%(title)s”不适用七日无理由退货，请勾选确认后再提交。", title=line.variant.product.title),
            line.variant_id) for line, _code in needs_confirmation(priced)])
    variants = {line.variant_id: line.variant for line in priced.lines}  # the very lines that were priced
    exclusions = return_exclusions(variant.product_id for variant in variants.values())
    quotes = {line.variant_id: line.quote_id for line in priced.lines if line.quote_id is not None}
    # Every checkout takes stock in the same order (by variant id): two carts holding the same goods in
    # opposite orders would otherwise wait on each other's row locks (a deadlock on PostgreSQL).
    every_line = sorted((line for _shop, shop_priced in priced.shops for line in shop_priced.lines),
                        key=lambda line: line.variant_id)
    for line in every_line:
        taken = db.session.execute(
            update(Variant).where(Variant.id == line.variant_id, Variant.stock >= line.quantity)
            .values(stock=Variant.stock - line.quantity, version=Variant.version + 1)
            .execution_options(synchronize_session=False))
        if taken.rowcount != 1:  # sold between pricing and now: the whole checkout stops, nothing is kept
            title = variants[line.variant_id].product.title
            raise CheckoutError([PricingProblem("not_enough_stock", _("“%(title)s”库存不足，刚刚被别人买走了。",
                                                                       title=title), line.variant_id)])
        search_indexing.touch(tenant.id, "product", [variants[line.variant_id].product_id])
    settings = order_settings.all(tenant)
    group = OrderGroup(tenant_id=tenant.id, number=_number("G"), buyer_id=buyer_id, idempotency_key=key,
                       currency=tenant.currency, total=0, payment_provider=payment_provider,
                       payment_deadline=utcnow() + timedelta(minutes=payment_minutes(tenant, payment_provider)))
    db.session.add(group)
    from marketplace.delivery import services as deliveries  # built on this module
    from marketplace.delivery.providers import DeliveryError
    from marketplace.webhooks import services as webhooks  # webhooks read orders, not the other way round

    for index, (shop, shop_priced) in enumerate(priced.shops, start=1):
        chosen = delivery.get(shop.id) or deliveries.at_the_shop(tenant)
        provider, fee = chosen.option.provider, chosen.option.fee
        total = shop_priced.total + max(fee, 0)
        order = Order(tenant_id=tenant.id, number=f"{group.number}-{index}", group=group, shop_id=shop.id,
                      buyer_id=buyer_id, status=OrderStatus.pending_payment, items_total=shop_priced.total,
                      delivery_provider=provider, delivery_fee=max(fee, 0), total=total,
                      commission=commission_for(total, settings["commission_bp"]),
                      note=(notes.get(shop.id) or "")[:500])
        db.session.add(order)
        for line in shop_priced.lines:
            variant = variants[line.variant_id]
            order.lines.append(OrderLine(
                tenant_id=tenant.id, variant_id=variant.id, product_id=variant.product_id,
                title=variant.product.title, sku=variant.sku, options=dict(variant.options or {}),
                attributes=dict(variant.product.attributes or {}), unit=variant.product.unit,
                unit_price=line.unit_price, quantity=line.quantity, total=line.total, price_source=line.price_source,
                return_exclusion=exclusions.get(variant.product_id, ""),
                quote_id=quotes.get(variant.id) if line.price_source == "quote" else None))
            if line.price_source == "quote":
                _use_quote(quotes[variant.id], variant)
        group.total += total
        db.session.flush()
        db.session.add(OrderEvent(tenant_id=tenant.id, order_id=order.id, actor_id=buyer_id, from_status="",
                                  to_status=OrderStatus.pending_payment, note=_("下单")))
        try:
            deliveries.start_for_order(tenant, order, shop, chosen)
        except DeliveryError as error:  # the slot filled up, the freight quote was used: nothing is kept
            raise CheckoutError([PricingProblem(error.code, str(error))]) from error
        webhooks.emit("order.created", tenant_id=tenant.id, shop_id=shop.id, data=webhooks.order_data(order))
    for line in priced.lines:
        db.session.delete(line)
    db.session.flush()
    webhooks.stock_taken(tenant.id, {line.variant_id: line.quantity for line in every_line})
    return group


def _use_quote(quote_id: int, variant: Variant) -> None:
    """An accepted quote prices one order: it is used up here, and a second checkout on it is refused."""
    used = db.session.execute(update(Quote).where(Quote.id == quote_id, Quote.status == QuoteStatus.accepted)
                              .values(status=QuoteStatus.ordered).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise CheckoutError([PricingProblem("quote_used", _("“%(title)s”的报价已经用于另一笔订单。",
                                                            title=variant.product.title), variant.id)])


# -- the order state machine ----------------------------------------------------------------------------------------

S = OrderStatus
#: Every move an order may make; anything else is refused.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.pending_payment: frozenset({S.paid, S.cancelled}),
    S.paid: frozenset({S.accepted, S.cancelled, S.refunding}),
    S.accepted: frozenset({S.ready_for_pickup, S.shipped, S.cancelled, S.refunding}),
    S.ready_for_pickup: frozenset({S.picked_up, S.cancelled}),
    S.shipped: frozenset({S.delivered, S.refunding}),  # refunding: the parcel came back (``returns.refund``)
    S.delivered: frozenset({S.completed, S.refunding}),
    S.picked_up: frozenset({S.completed, S.refunding}),
    S.completed: frozenset({S.refunding}),
    S.refunding: frozenset({S.refunded, S.completed}),
    S.refunded: frozenset(),
    S.cancelled: frozenset(),
}
#: Cancelling from these puts the goods back on the shelf: they never left the shop.
RESTOCK_ON_CANCEL = frozenset({S.pending_payment, S.paid, S.accepted, S.ready_for_pickup})
#: Cancelling from these gives the buyer's money back: they were paid for.
PAID_BEFORE_DISPATCH = frozenset({S.paid, S.accepted, S.ready_for_pickup})


def refund_status_for(provider: str) -> str:
    """How a new refund starts: done, for money the merchant paid back by hand (offline); pending, for a
    provider that pays it back itself once asked (``payments.services.send_refund``)."""
    return "succeeded" if provider == "offline" else "pending"


def _refund_in_full(order: Order, actor_id: int | None, note: str) -> None:
    """A paid order that is cancelled is refunded in full, recorded like every refund (the settlement
    ledger then counts it, and nothing is due to the shop). With offline payment the merchant pays back by
    hand; an online provider is asked after the commit (``payments.services``)."""
    from marketplace.orders.returns import Refund

    amount = order.total - order.refunded
    if amount <= 0:
        return
    provider = order.group.payment_provider
    db.session.add(Refund(tenant_id=order.tenant_id, order_id=order.id, amount=amount, currency=order.group.currency,
                          actor_id=actor_id,
                          provider=provider, status=refund_status_for(provider), note=note[:1000],
                          refunded_at=utcnow()))
    order.refunded = order.total


def restock(order: Order) -> None:
    """Put an order's goods back on the shelf: they never left the shop. Rows are updated in variant id
    order, as checkout takes them, so a cancellation and a checkout never wait on each other in a circle."""
    for line in sorted(order.lines, key=lambda line: line.variant_id or 0):
        if line.variant_id is not None:
            db.session.execute(update(Variant).where(Variant.id == line.variant_id)
                               .values(stock=Variant.stock + line.quantity, version=Variant.version + 1)
                               .execution_options(synchronize_session=False))
            if line.product_id is not None:
                search_indexing.touch(order.tenant_id, "product", [line.product_id])


def _release_quotes(order: Order) -> None:
    """A cancelled order gives back the quotes it used: the buyer may order at the agreed price again."""
    quote_ids = [line.quote_id for line in order.lines if line.quote_id is not None]
    if quote_ids:
        db.session.execute(update(Quote).where(Quote.id.in_(quote_ids), Quote.status == QuoteStatus.ordered)
                           .values(status=QuoteStatus.accepted).execution_options(synchronize_session=False))


def mark_group_paid_if_settled(group_id: int) -> None:
    """Mark a group paid once none of its orders waits for payment and at least one was paid (cancelled ones
    do not count). The group row is locked: two orders settling at once cannot both miss the last one."""
    group = db.session.scalar(select(OrderGroup).where(OrderGroup.id == group_id).with_for_update()
                              .execution_options(populate_existing=True))
    statuses = set(db.session.scalars(select(Order.status).where(Order.group_id == group_id)))
    if group.paid_at is None and S.pending_payment not in statuses and statuses - {S.cancelled}:
        group.paid_at = utcnow()
        db.session.flush()
        # Only offline groups settle order by order (online ones are paid by their provider, all at once).
        # Imported here: the payments package builds on this module.
        from marketplace.payments.services import offline_group_paid

        offline_group_paid(group)


def transition(order: Order, to: str, *, actor_id: int | None = None, note: str = "", key: str | None = None) -> None:
    """Move an order to ``to`` (the one way a status changes) and append it to the order's history.

    Flushes; the caller commits. A cancellation before the goods left the shop returns their stock. The buyer
    and the merchant are told once the caller's transaction commits (``orders.notifications``). ``key`` is the
    API request's Idempotency-Key, kept on the history entry so that a retry can find the move it made.
    """
    if to not in TRANSITIONS.get(order.status, ()):
        raise InvalidTransition(order, to)
    # Move only from the status this copy of the order has: a job and a merchant acting on the same order at
    # once cannot both move it (nor both put its stock back).
    moved = db.session.execute(update(Order).where(Order.id == order.id, Order.status == order.status)
                               .values(status=to).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.refresh(order, ["status"])
        raise InvalidTransition(order, to)
    if to == S.cancelled and order.status in PAID_BEFORE_DISPATCH:
        _refund_in_full(order, actor_id, note)
    if to == S.cancelled and order.status in RESTOCK_ON_CANCEL:
        restock(order)
        _release_quotes(order)
    if to in (S.cancelled, S.refunded):  # the goods will not travel (a no-op once they left)
        from marketplace.delivery.services import order_cancelled  # built on this module

        order_cancelled(order, actor_id=actor_id, note=note)
    db.session.add(OrderEvent(tenant_id=order.tenant_id, order_id=order.id, actor_id=actor_id,
                              from_status=order.status, to_status=to, note=note[:1000], idempotency_key=key))
    previous, order.status = order.status, to
    db.session.flush()
    _note_sales_change(order, previous, to)
    if to == S.cancelled and previous == S.pending_payment:  # the rest of its group may be all paid now
        mark_group_paid_if_settled(order.group_id)
    notifications.order_moved(order, previous, to, actor_id=actor_id, note=note)  # sent when the caller commits
    from marketplace.webhooks import services as webhooks  # webhooks read orders, not the other way round

    webhooks.order_moved(order, to)


def _note_sales_change(order: Order, previous: str, to: str) -> None:
    """Search ranks by units sold: an order that starts or stops counting as sold re-syncs its products."""
    from marketplace.search import documents, indexing  # search reads orders, not the other way round

    if (previous in documents.SOLD_STATUSES) != (to in documents.SOLD_STATUSES):
        indexing.touch(order.tenant_id, "product", {line.product_id for line in order.lines if line.product_id})


#: A buyer may cancel an order until the goods leave the shop (pickup: until they are picked up).
BUYER_MAY_CANCEL = RESTOCK_ON_CANCEL


def cancel_by_buyer(order: Order, *, buyer_id: int, reason: str = "", key: str | None = None) -> None:
    """The buyer calls the order off before dispatch: its stock goes back, a paid order is refunded in full.

    Raises ``InvalidTransition`` once the goods have left the shop (a return is the way then). ``key``: the API
    request's Idempotency-Key, kept on the history entry (see ``transition``). Flushes.
    """
    if order.buyer_id != buyer_id or order.status not in BUYER_MAY_CANCEL:
        raise InvalidTransition(order, S.cancelled)
    reason = " ".join((reason or "").split())[:500]
    transition(order, S.cancelled, actor_id=buyer_id,
               note=_("买家取消：%(reason)s", reason=reason) if reason else _("买家取消"), key=key)


def release_expired_holds(now: datetime | None = None) -> int:
    """Cancel the current tenant's orders still unpaid after their group's deadline, returning their stock
    (a job, run every few minutes). Returns how many orders were cancelled."""
    now = now or utcnow()
    expired = list(db.session.scalars(
        select(Order).join(OrderGroup).where(Order.status == S.pending_payment, OrderGroup.payment_deadline < now)
        .options(selectinload(Order.lines))))
    cancelled = 0
    for order in expired:
        try:
            transition(order, S.cancelled, note=_("超过付款期限，自动取消"))
        except InvalidTransition:  # paid (or cancelled) a moment ago by someone else: leave it
            continue
        cancelled += 1
    return cancelled


def quote_line(cart: Cart, quote: Quote, today) -> CartLine:
    """An accepted quote becomes a cart line at the quoted price and quantity (``today``: tenant's calendar)."""
    if quote.status != QuoteStatus.accepted or quote.buyer_id != cart.user_id:
        raise CartError(_("只能把自己已接受的报价加入购物车。"), "quote_not_accepted")
    if quote.valid_until is not None and quote.valid_until < today:
        raise CartError(_("报价已过期，请重新询价。"), "quote_expired")
    line = set_line(cart, quote.variant_id, quote.quantity)
    line.quote_id = quote.id
    db.session.flush()
    return line
