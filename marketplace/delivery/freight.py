"""``freight``: wholesale loads from a market to a county town — a rate table, or the merchant's own quote.

The rate table prices a load by destination province, per kilogram and per cubic metre: carriers charge
whichever is more (a tonne of fertiliser by its weight, a van of plastic chairs by its space), and never less
than a minimum. Loads beyond ``max_weight_kg`` are not priced by table: the buyer asks the merchant.

A merchant's quote (``FreightQuote``) goes requested → quoted (the merchant's fee, reply and validity) →
accepted by the buyer before it expires → used by exactly one order of that buyer at that shop; or declined,
or withdrawn by the merchant. Each step is one conditional update, so two tabs or two checkouts can never
both move the same quote. An accepted quote is offered at checkout as the option ``quote-<id>``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from marketplace.core.db import utcnow
from marketplace.core.i18n import format_money
from marketplace.delivery.express import (
    days_problem,
    promise_window,
    province_name,
    province_problem,
    province_table_problem,
    whole,
)
from marketplace.delivery.models import FreightQuote, FreightQuoteStatus
from marketplace.delivery.providers import (
    Address,
    DeliveryError,
    DeliveryOption,
    DeliveryProvider,
    NotCovered,
    QuoteRequest,
    ShipmentRequest,
    ShipmentResult,
    ShipmentStatus,
)
from marketplace.extensions import db

Q = FreightQuoteStatus
RATE_KEYS = ("per_kg", "per_m3", "minimum", "days")
DEFAULT_RATES: dict[str, dict[str, Any]] = {
    "default": {"per_kg": 80, "per_m3": 20000, "minimum": 5000, "days": [3, 6]},
    "410000": {"per_kg": 40, "per_m3": 12000, "minimum": 3000, "days": [1, 2]},  # 河南
}
QUOTE_PREFIX = "quote-"
MAX_VALID_DAYS = 30


def rate_problem(rate: Any, *, partial: bool) -> str | None:
    if not isinstance(rate, dict):
        return "must be a table"
    unknown = set(rate) - set(RATE_KEYS)
    missing = set() if partial else set(RATE_KEYS) - set(rate)
    if unknown or missing:
        return f"unknown {sorted(unknown)} / missing {sorted(missing)}"
    for key in ("per_kg", "per_m3", "minimum"):
        if key in rate and not whole(rate[key], 0):
            return f"{key} must be a whole number of fen, 0 or more"
    return days_problem(rate["days"]) if "days" in rate else None


def chargeable(rate: dict[str, Any], weight_g: int, volume_cm3: int) -> int:
    """Whichever is more, the load's weight or its space, in whole fen rounded up, and at least the minimum."""
    by_weight = math.ceil(weight_g * rate["per_kg"] / 1000)
    by_volume = math.ceil(volume_cm3 * rate["per_m3"] / 1_000_000)
    return max(by_weight, by_volume, rate["minimum"])


class FreightProvider(DeliveryProvider):
    name = "freight"
    label = _l("物流货运")
    options_schema: ClassVar[dict[str, tuple[type, Any]]] = {
        #: "default" and six-digit province codes → {per_kg, per_m3 (fen), minimum (fen), days: [min, max]};
        #: a province's entry overrides only what it names.
        "rates": (dict, DEFAULT_RATES),
        #: Province codes the table does not serve (a merchant may still quote them).
        "excluded": (list, []),
        #: Heavier loads are quoted by the merchant.
        "max_weight_kg": (int, 30000),
    }

    @classmethod
    def options_problem(cls, options) -> str | None:
        if problem := province_table_problem(options["rates"], "rates", rate_problem, options["excluded"]):
            return problem
        if options["max_weight_kg"] < 1:
            return "max_weight_kg must be at least 1"
        return None

    def rate_for(self, province_code: str) -> dict[str, Any]:
        return {**self.options["rates"]["default"], **self.options["rates"].get(province_code, {})}

    def quote(self, request: QuoteRequest) -> list[DeliveryOption]:
        if request.address is None:
            raise NotCovered(_("货运需要收货地址。"))
        province = request.address.province_code
        if province_problem(province):
            raise NotCovered(_("无法识别收货地址所在的省份。"))
        if province in self.options["excluded"]:
            raise NotCovered(_("货运暂不发往%(province)s，可以向商家询价。", province=province_name(province)))
        if request.parcel.weight_g > self.options["max_weight_kg"] * 1000:
            raise NotCovered(_("货物超过 %(kg)d 公斤，请向商家询价。", kg=self.options["max_weight_kg"]))
        rate = self.rate_for(province)
        fee = chargeable(rate, request.parcel.weight_g, request.parcel.volume_cm3)
        earliest, latest = promise_window(request.now, rate["days"])
        constraints = (
            _("每公斤 %(per_kg)s 或每立方米 %(per_m3)s，按较高者计费", per_kg=format_money(rate["per_kg"], request.currency),
              per_m3=format_money(rate["per_m3"], request.currency)),
            _("最低收费 %(minimum)s", minimum=format_money(rate["minimum"], request.currency)),
            _("预计 %(low)d-%(high)d 天到货", low=rate["days"][0], high=rate["days"][1]),
        )
        return [DeliveryOption(self.name, province, _("货运到%(province)s", province=province_name(province)), fee,
                               request.currency, earliest=earliest, latest=latest, constraints=constraints)]

    def create_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        code = request.option_code
        if quote_id(code) is None and (province_problem(code) or code in self.options["excluded"]):
            raise DeliveryError(_("没有这个货运选项。"), "unknown_option")
        return ShipmentResult(ShipmentStatus.created)


# -- merchant quotes ----------------------------------------------------------------------------------------------

def quote_id(code: str) -> int | None:
    """The quote's id in an option code ``quote-<id>``, or None."""
    number = code[len(QUOTE_PREFIX):] if code.startswith(QUOTE_PREFIX) else ""
    return int(number) if number.isascii() and number.isdigit() and len(number) < 19 else None


def quote_option(quote: FreightQuote, zone: ZoneInfo) -> DeliveryOption:
    """An accepted quote as the checkout offers it (its validity told in the tenant's ``zone``)."""
    until = quote.valid_until and _("报价有效期至 %(when)s", when=quote.valid_until.astimezone(zone).strftime("%Y-%m-%d %H:%M"))
    return DeliveryOption(FreightProvider.name, f"{QUOTE_PREFIX}{quote.id}", _("商家报价的货运（报价单 %(id)d）", id=quote.id),
                          quote.fee or 0, quote.currency, constraints=tuple(part for part in (quote.reply, until) if part))


def _step(quote: FreightQuote, to: str, *conditions, **values) -> bool:
    """Move a quote from the status this copy has, only if ``conditions`` hold as well; True if it moved."""
    values = {"status": to, "updated_at": utcnow(), **values}
    moved = db.session.execute(update(FreightQuote).where(
        FreightQuote.id == quote.id, FreightQuote.tenant_id == quote.tenant_id, FreightQuote.status == quote.status,
        *conditions).values(**values).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.refresh(quote)
        return False
    for name, value in values.items():
        setattr(quote, name, value)
    db.session.flush()
    return True


def request_quote(tenant, shop, buyer_id: int, address: Address, weight_g: int, volume_cm3: int,
                  description: str) -> FreightQuote:
    """A buyer asks the shop what carrying this load to this address costs."""
    from marketplace.delivery.services import address_record, tenant_delivery

    if shop.tenant_id != tenant.id:
        raise DeliveryError(_("本市场没有这家店铺。"), "unknown_shop")
    if FreightProvider.name not in tenant_delivery(tenant).options:
        raise DeliveryError(_("本市场没有这种配送方式。"), "unknown_provider")
    if province_problem(address.province_code):
        raise DeliveryError(_("无法识别收货地址所在的省份。"), "bad_address")
    if type(weight_g) is not int or type(volume_cm3) is not int or weight_g < 0 or volume_cm3 < 0 \
            or weight_g + volume_cm3 == 0 or weight_g > 10**9 or volume_cm3 > 10**10:
        raise DeliveryError(_("请填写货物的重量或体积。"), "bad_load")
    description = (description or "").strip()
    if len(description) > 2000:
        raise DeliveryError(_("货物说明太长了（最多 2000 字）。"), "bad_description")
    quote = FreightQuote(tenant_id=tenant.id, shop_id=shop.id, buyer_id=buyer_id, status=Q.requested,
                         weight_g=weight_g, volume_cm3=volume_cm3, address=address_record(address),
                         description=description, currency=tenant.currency)
    db.session.add(quote)
    db.session.flush()
    return quote


def answer(quote: FreightQuote, fee: int, reply: str, valid_days: int, actor_id: int | None = None) -> None:
    """The merchant's price for the load, valid for ``valid_days`` days."""
    if type(fee) is not int or not 0 <= fee <= 10**10:
        raise DeliveryError(_("运费必须是不小于 0 的金额。"), "bad_fee")
    if type(valid_days) is not int or not 1 <= valid_days <= MAX_VALID_DAYS:
        raise DeliveryError(_("报价有效期应为 1-%(days)d 天。", days=MAX_VALID_DAYS), "bad_validity")
    reply = (reply or "").strip()[:2000]
    if quote.status != Q.requested or not _step(quote, Q.quoted, fee=fee, reply=reply,
                                                valid_until=utcnow() + timedelta(days=valid_days)):
        raise DeliveryError(_("这份询价已经回复或关闭了。"), "not_requested")


def accept(quote: FreightQuote, buyer_id: int) -> None:
    """The buyer takes the merchant's price: it becomes a delivery option of that shop at checkout."""
    if quote.buyer_id != buyer_id:
        raise DeliveryError(_("这不是您的询价。"), "not_yours")
    if quote.status != Q.quoted:
        raise DeliveryError(_("这份报价当前不能接受。"), "not_quoted")
    if not _step(quote, Q.accepted, FreightQuote.valid_until > utcnow()):
        raise DeliveryError(_("这份报价已过期或已变化，请重新询价。"), "quote_expired")


def decline(quote: FreightQuote, buyer_id: int) -> None:
    """The buyer says no (to a pending request or a price)."""
    if quote.buyer_id != buyer_id:
        raise DeliveryError(_("这不是您的询价。"), "not_yours")
    if quote.status not in (Q.requested, Q.quoted, Q.accepted) or not _step(quote, Q.declined):
        raise DeliveryError(_("这份询价已经关闭了。"), "closed")


def withdraw(quote: FreightQuote, actor_id: int | None = None) -> None:
    """The merchant takes back a request or a price the buyer has not accepted yet."""
    if quote.status not in (Q.requested, Q.quoted) or not _step(quote, Q.withdrawn):
        raise DeliveryError(_("这份询价已被接受或已关闭，不能撤回。"), "closed")


def use_quote(order, code: str) -> FreightQuote:
    """While ``order`` is placed: use up the accepted quote named by ``code`` — the order's buyer's, from the
    order's shop, unexpired, at the fee the order charges. Exactly once, even for two checkouts at once."""
    number = quote_id(code)
    quote = db.session.get(FreightQuote, number) if number is not None else None
    if quote is None or quote.status != Q.accepted or not _step(
            quote, Q.used, FreightQuote.buyer_id == order.buyer_id, FreightQuote.shop_id == order.shop_id,
            FreightQuote.fee == order.delivery_fee, FreightQuote.valid_until > utcnow()):
        raise DeliveryError(_("这份运费报价已使用或已失效，请重新选择配送方式。"), "quote_used")
    return quote


def accepted_options(tenant, shop, buyer_id: int, address: Address | None) -> list[DeliveryOption]:
    """The buyer's accepted, unexpired quotes from this shop as checkout options, for the place ``address`` is
    (a price to one county town says nothing about another); none without an address."""
    if address is None:
        return []
    quotes = db.session.scalars(select(FreightQuote).where(
        FreightQuote.shop_id == shop.id, FreightQuote.buyer_id == buyer_id, FreightQuote.status == Q.accepted,
        FreightQuote.valid_until > utcnow()).order_by(FreightQuote.id))
    return [quote_option(quote, ZoneInfo(tenant.timezone)) for quote in quotes if _same_place(quote.address, address)]


def release_quote(code: str) -> None:
    """An order placed with this quote was cancelled before it left: the buyer may use the price again
    while it is still valid."""
    number = quote_id(code)
    if number is not None:
        db.session.execute(update(FreightQuote).where(
            FreightQuote.id == number, FreightQuote.status == Q.used, FreightQuote.valid_until > utcnow())
            .values(status=Q.accepted).execution_options(synchronize_session=False))


def _same_place(record: dict[str, Any], address: Address) -> bool:
    return all((record.get(key) or "") == getattr(address, key) for key in ("province_code", "city_code", "district_code"))
