"""The one pricing function: what a quantity of a variant costs, and whether a shop's part of an order may
be bought at all (minimum order quantities, the shop's mixed-batch minimum, stock).

The cart and checkout call ``price_shop_lines``; prices always come from here, never from the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _

from marketplace.catalog.models import Quote, QuoteStatus, Variant
from marketplace.core.i18n import format_money


@dataclass(frozen=True)
class PricingProblem:
    code: str  # stable: below_moq, out_of_stock, not_enough_stock, unavailable, below_batch_amount, …
    message: str
    variant_id: int | None = None


@dataclass(frozen=True)
class PricedLine:
    variant_id: int
    quantity: int
    unit_price: int  # fen
    total: int  # fen
    #: The tier that set the price (its minimum quantity), None for the base price; "quote" for a quote.
    price_source: str = "base"


@dataclass
class PricedShop:
    shop_id: int
    lines: list[PricedLine] = field(default_factory=list)
    problems: list[PricingProblem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def ok(self) -> bool:
        return not self.problems


def unit_price(variant: Variant, quantity: int) -> tuple[int, str]:
    """The price per unit for ``quantity`` units: the tier with the highest minimum reached, else the base."""
    price, source = variant.price, "base"
    for tier in variant.tiers:  # ordered by min_quantity
        if quantity >= tier.min_quantity and tier.unit_price < price:
            price, source = tier.unit_price, f"tier:{tier.min_quantity}"
    return price, source


def quote_price(quote: Quote | None, variant: Variant, quantity: int, today: date) -> int | None:
    """An accepted, unexpired quote for this variant sets the price of exactly the quantity it was asked for
    (the merchant priced that quantity, not any larger one: more or fewer units are priced as listed)."""
    if (quote is None or quote.status != QuoteStatus.accepted or quote.variant_id != variant.id
            or quote.quoted_unit_price is None or (quote.valid_until and quote.valid_until < today)
            or quantity != quote.quantity):
        return None
    return quote.quoted_unit_price


def price_shop_lines(shop, lines: list[tuple[Variant, int]], *, currency: str = "CNY",
                     quotes: dict[int, Quote] | None = None, today: date | None = None) -> PricedShop:
    """Price one shop's part of an order and list every reason it cannot be bought as it stands.

    ``lines`` are (variant, quantity) with variants (their product and tiers loaded) of ``shop``.
    ``quotes`` maps variant id → an accepted quote to honour.
    """
    today = today or date.today()
    priced = PricedShop(shop_id=shop.id)
    per_product: dict[int, int] = {}
    for variant, quantity in lines:
        per_product[variant.product_id] = per_product.get(variant.product_id, 0) + max(quantity, 0)
    short_of_moq: set[int] = set()
    for variant, quantity in lines:
        product = variant.product
        if variant.shop_id != shop.id or not product.is_active:
            priced.problems.append(PricingProblem("unavailable", _("“%(title)s”已下架。", title=product.title),
                                                  variant.id))
            continue
        if quantity < 1:
            priced.problems.append(PricingProblem("bad_quantity", _("数量至少为 1。"), variant.id))
            continue
        quoted = quote_price((quotes or {}).get(variant.id), variant, quantity, today)
        # The minimum is per product: sizes and colours of one garment count together.
        if quoted is None and per_product[product.id] < product.moq and product.id not in short_of_moq:
            short_of_moq.add(product.id)
            priced.problems.append(PricingProblem(
                "below_moq", _("“%(title)s”%(moq)d 件起订。", title=product.title, moq=product.moq), variant.id))
        if variant.stock <= 0:
            priced.problems.append(PricingProblem("out_of_stock", _("“%(title)s”已售罄。", title=product.title),
                                                  variant.id))
        elif quantity > variant.stock:
            priced.problems.append(PricingProblem(
                "not_enough_stock", _("“%(title)s”库存仅剩 %(stock)d。", title=product.title, stock=variant.stock),
                variant.id))
        if quoted is not None:
            price, source = quoted, "quote"
        else:
            price, source = unit_price(variant, quantity)
        priced.lines.append(PricedLine(variant.id, quantity, price, price * quantity, source))
    if priced.lines:
        if shop.mixed_batch_min_amount and priced.total < shop.mixed_batch_min_amount:
            priced.problems.append(PricingProblem("below_batch_amount", _(
                "%(shop)s 混批起订金额为 %(amount)s，还差 %(missing)s。", shop=shop.name(),
                amount=format_money(shop.mixed_batch_min_amount, currency),
                missing=format_money(shop.mixed_batch_min_amount - priced.total, currency))))
        if shop.mixed_batch_min_quantity and priced.quantity < shop.mixed_batch_min_quantity:
            priced.problems.append(PricingProblem("below_batch_quantity", _(
                "%(shop)s 混批 %(n)d 件起，还差 %(missing)d 件。", shop=shop.name(), n=shop.mixed_batch_min_quantity,
                missing=shop.mixed_batch_min_quantity - priced.quantity)))
    return priced
