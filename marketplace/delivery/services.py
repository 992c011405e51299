"""Delivery in a tenant: which providers it and each shop offer, quoting, and shipments with their one way of moving.

A tenant enables providers in its delivery module (``[modules.delivery]``: ``provider`` is the default every
shop offers, ``settings.<provider>`` enables another with its options); each shop lists which of those it
offers (``Shop.delivery``) and may override their options (its own express template, its own slots).

``quote_shop`` asks each of a shop's providers for options and drops time slots that are full;
``start_for_order`` books the chosen option and makes the order's shipment while the order is placed, in the
same transaction; ``advance`` is the only way a shipment's status changes: a move the state machine does not
allow (backwards, twice, after receipt) is refused with ``DeliveryError``, every move is appended to the
timeline, and the order follows (ready for pickup, shipped, delivered, picked up). Every function flushes and
leaves the commit to its caller.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marketplace.core.db import utcnow
from marketplace.delivery.models import DeliverySlot, Shipment, ShipmentEvent
from marketplace.delivery.providers import (
    CANCELLABLE,
    Address,
    DeliveryError,
    DeliveryOption,
    DeliveryProvider,
    NotCovered,
    Origin,
    Parcel,
    PickupPoint,
    ProviderLoadError,
    QuoteRequest,
    ShipmentStatus,
    check_options,
    move,
    provider_class,
)
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.shops.models import Shop
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings

# -- what a tenant and its shops offer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantDelivery:
    """A tenant's delivery module: the default provider and every enabled provider's checked options."""

    default: str
    options: dict[str, dict[str, Any]]

    @property
    def enabled(self) -> list[str]:
        return [self.default, *sorted(name for name in self.options if name != self.default)]


def split_settings(provider: str, settings: dict) -> TenantDelivery:
    """The module's settings (``{provider name: its options}``), checked: ``ProviderLoadError`` says what is wrong."""
    if not isinstance(settings, dict):
        raise ProviderLoadError("[modules.delivery.settings] must be a table of providers")
    names = [provider, *(name for name in settings if name != provider)]
    return TenantDelivery(provider, {name: check_options(provider_class(name), settings.get(name) or {})
                                     for name in names})


def choice_problem(provider: str, settings: dict) -> str | None:
    """Why a tenant cannot have this delivery module (manifests check it), or None."""
    try:
        split_settings(provider, settings)
    except ProviderLoadError as error:
        return str(error)
    return None


def tenant_delivery(tenant: Tenant) -> TenantDelivery:
    group = module_settings["delivery"]
    return split_settings(group.get(tenant, "provider"), group.get(tenant, "options"))


def shop_providers(tenant: Tenant, shop: Shop, config: TenantDelivery | None = None) -> list[str]:
    """The providers this shop offers: those it chose among the tenant's, or the tenant's default."""
    config = config or tenant_delivery(tenant)
    chosen = [name for name in (shop.delivery or {}).get("providers", []) if name in config.options]
    return chosen or [config.default]


def provider_for(tenant: Tenant, shop: Shop, name: str, config: TenantDelivery | None = None) -> DeliveryProvider:
    """The provider with the tenant's options, the shop's own overrides on top (checked again)."""
    config = config or tenant_delivery(tenant)
    if name not in config.options:
        raise DeliveryError(_("本市场没有这种配送方式。"), "unknown_provider")
    cls = provider_class(name)
    overrides = ((shop.delivery or {}).get("options") or {}).get(name) or {}
    options = check_options(cls, {**config.options[name], **overrides}) if overrides else config.options[name]
    return cls(current_app.config["MARKETPLACE"], options)


def provider_label(name: str) -> str:
    try:
        return str(provider_class(name).label)
    except ProviderLoadError:
        return name


def shipments_of(order_ids) -> dict[int, Shipment]:
    """Per order id, its shipment (one query for a whole checkout)."""
    ids = list(order_ids)
    return {s.order_id: s for s in db.session.scalars(select(Shipment).where(Shipment.order_id.in_(ids)))} if ids else {}


def summary(shipment: Shipment | None, tenant: Tenant) -> str:
    """How an order travels, in a few words: "到店自提", "共享自提点", "同城配送 12-01 18:00", "快递 中通 ZT…"."""
    if shipment is None:
        return _("到店自提")
    if shipment.provider == "pickup":
        return _("共享自提点自提") if shipment.option_code == "counter" else _("到店自提")
    parts = [provider_label(shipment.provider)]
    if shipment.carrier:
        parts.append(f"{shipment.carrier} {shipment.tracking_number}")
    elif shipment.promised_by is not None:
        parts.append(_("预计 %(when)s 前送达",
                       when=shipment.promised_by.astimezone(ZoneInfo(tenant.timezone)).strftime("%m-%d %H:%M")))
    return " · ".join(parts)


def origin_of(tenant: Tenant, shop: Shop) -> Origin:
    """The shop as a provider sees it: its counter (and the tenant's shared one), in the buyer's language."""
    locale = str(get_locale() or "zh_CN")
    points = [PickupPoint("shop", shop.name(locale), shop_place(tenant, shop, locale), dict(shop.opening_hours or {}))]
    counter = (tenant.layout or {}).get("pickup_counter")
    if isinstance(counter, dict):
        names = counter.get("name") or {}
        name = (names.get("en") if locale.startswith("en") else None) or names.get("zh") or _("共享自提点")
        points.append(PickupPoint("counter", name, counter_place(tenant, counter, locale),
                                  dict(counter.get("hours") or {})))
    return Origin(shop.id, shop.name(locale), tenant.kind, tuple(points), str((tenant.layout or {}).get("district_code", "")))


def shop_place(tenant: Tenant, shop: Shop, locale: str = "zh_CN") -> str:
    """Where the shop is, as a buyer finds it: its stall in a market, its number on a street."""
    if shop.stall:
        return " ".join(part for part in (shop.building and _("%(b)s 馆", b=shop.building),
                                          shop.floor is not None and _("%(f)s 层", f=shop.floor), shop.stall) if part)
    if shop.street_number:
        return _("%(number)s 号", number=shop.street_number)
    return ""


def collection_place(tenant: Tenant, shipment: Shipment | None, shop: Shop, locale: str = "zh_CN") -> str:
    """Where the buyer collects: the shared counter (its name, where it is, the tenant's address) or the shop."""
    from marketplace.orders.notifications import pickup_place

    counter = (tenant.layout or {}).get("pickup_counter")
    if shipment is not None and shipment.option_code == "counter" and isinstance(counter, dict):
        names = counter.get("name") or {}
        name = (names.get("en") if str(locale).startswith("en") else None) or names.get("zh", "")
        address = tenant.address_en if str(locale).startswith("en") and tenant.address_en else tenant.address_zh
        return " ".join(part for part in (name, counter_place(tenant, counter, locale), address) if part)
    return pickup_place(tenant, shop, locale)


def counter_place(tenant: Tenant, counter: dict, locale: str = "zh_CN") -> str:
    if counter.get("building"):
        return _("%(b)s 馆 %(f)s 层", b=counter["building"], f=counter.get("floor", 1))
    if counter.get("at_m") is not None:
        return _("距街口 %(m)s 米", m=counter["at_m"])
    return ""


def address_value(address) -> Address:
    """The address book's entry (``accounts.addresses.Address``) as providers see it."""
    return Address(recipient=address.recipient, mobile=address.mobile, province_code=address.province_code,
                   city_code=address.city_code, district_code=address.district_code or "", street=address.street,
                   third_party_signing=bool(getattr(address, "third_party_signing", False)))


def address_record(address: Address | None, text: str = "") -> dict[str, Any]:
    """How a shipment keeps its address (what the waybill needs: never an ID number)."""
    if address is None:
        return {}
    return {"recipient": address.recipient, "mobile": address.mobile, "province_code": address.province_code,
            "city_code": address.city_code, "district_code": address.district_code, "street": address.street,
            "third_party_signing": address.third_party_signing, **({"text": text} if text else {})}


def parcel_of(lines) -> Parcel:
    """A shop's priced lines (``catalog.pricing``) as a parcel: weight from each variant, value in fen."""
    weight = sum((line.variant.weight_g or 0) * line.quantity for line in lines if getattr(line, "variant", None))
    return Parcel(weight_g=weight, items=sum(line.quantity for line in lines),
                  value=sum(line.total for line in lines))


@dataclass
class ShopQuote:
    """What a shop can offer for this cart: the options, and why a provider had none (shown to the buyer)."""

    options: list[DeliveryOption] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def find(self, provider: str, code: str) -> DeliveryOption | None:
        return next((o for o in self.options if o.provider == provider and o.code == code), None)


def quote_shop(tenant: Tenant, shop: Shop, parcel: Parcel, address: Address | None, *,
               now: datetime | None = None, config: TenantDelivery | None = None,
               buyer_id: int | None = None) -> ShopQuote:
    """Every option of every provider the shop offers; full time slots left out, reasons kept. ``buyer_id``:
    the buyer's accepted freight quotes from the shop are options too."""
    config = config or tenant_delivery(tenant)
    now = (now or utcnow()).astimezone(ZoneInfo(tenant.timezone))
    origin = origin_of(tenant, shop)
    result = ShopQuote()
    for name in shop_providers(tenant, shop, config):
        provider = provider_for(tenant, shop, name, config)
        if provider.needs_address and address is None:
            continue
        request = QuoteRequest(tenant=tenant.slug, origin=origin, parcel=parcel,
                               address=address if provider.needs_address else None, now=now,
                               currency=tenant.currency)
        try:
            options = provider.quote(request)
        except NotCovered as reason:
            result.reasons.append(f"{provider.label}：{reason}")
            continue
        result.options.extend(o for o in options if not _full(tenant, shop, provider, o.code))
    result.options.extend(_freight_quote_options(tenant, shop, config, buyer_id=buyer_id, address=address))
    return result


def quote_cart(tenant: Tenant, groups, address: Address | None, *,
               buyer_id: int | None = None) -> list[tuple[Shop, ShopQuote]]:
    """Each shop of a cart (``groups``: the cart view's shops, each with its priced lines) quoted for one address:
    what the API lists, and what its checkout checks the buyer's choices against."""
    config = tenant_delivery(tenant)
    return [(group.shop, quote_shop(tenant, group.shop, parcel_of(group.lines), address, config=config,
                                    buyer_id=buyer_id)) for group in groups]


def _full(tenant: Tenant, shop: Shop, provider: DeliveryProvider, code: str) -> bool:
    capacity = provider.capacity(code)
    if capacity is None:
        return False
    booked = db.session.scalar(select(DeliverySlot.booked).where(
        DeliverySlot.shop_id == shop.id, DeliverySlot.provider == provider.name, DeliverySlot.option_code == code))
    return (booked or 0) >= capacity


def _freight_quote_options(tenant: Tenant, shop: Shop, config: TenantDelivery, *, buyer_id: int | None = None,
                           address: Address | None = None) -> list[DeliveryOption]:
    """The buyer's accepted, unexpired freight quotes from this shop, as options — only where the tenant has
    freight, and, given the checkout's address, only quotes for that place. No buyer (a guest): none."""
    if buyer_id is None or "freight" not in config.options:
        return []
    from marketplace.delivery.freight import accepted_options  # freight builds on this module

    return accepted_options(tenant, shop, buyer_id, address)


def book(tenant: Tenant, shop: Shop, provider: DeliveryProvider, option_code: str) -> None:
    """Take one place of a capacity-limited option, or refuse with ``slot_full``: one conditional update, so
    concurrent checkouts can never take more places than there are."""
    capacity = provider.capacity(option_code)
    if capacity is None:
        return
    slot = db.session.scalar(select(DeliverySlot.id).where(
        DeliverySlot.shop_id == shop.id, DeliverySlot.provider == provider.name, DeliverySlot.option_code == option_code))
    if slot is None:
        try:
            with db.session.begin_nested():
                row = DeliverySlot(tenant_id=tenant.id, shop_id=shop.id, provider=provider.name,
                                   option_code=option_code, capacity=capacity, booked=0)
                db.session.add(row)
            slot = row.id
        except IntegrityError:  # made by a concurrent checkout a moment ago
            slot = db.session.scalar(select(DeliverySlot.id).where(
                DeliverySlot.shop_id == shop.id, DeliverySlot.provider == provider.name,
                DeliverySlot.option_code == option_code))
    # The slot's capacity as the provider says it now (the operator may have changed it since the row was made).
    taken = db.session.execute(update(DeliverySlot).where(DeliverySlot.id == slot, DeliverySlot.booked < capacity)
                               .values(booked=DeliverySlot.booked + 1, capacity=capacity)
                               .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise DeliveryError(_("“%(shop)s”的这个配送时段刚刚约满了，请换一个时段。", shop=shop.name()), "slot_full")


def unbook(shipment: Shipment) -> None:
    """A cancelled shipment gives its place in a time slot back."""
    db.session.execute(update(DeliverySlot).where(
        DeliverySlot.shop_id == shipment.order.shop_id, DeliverySlot.provider == shipment.provider,
        DeliverySlot.option_code == shipment.option_code, DeliverySlot.booked > 0)
        .values(booked=DeliverySlot.booked - 1).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Chosen:
    """The delivery a buyer chose for one shop at checkout, as the server quoted it."""

    option: DeliveryOption
    address: Address | None = None
    #: The address as the buyer reads it (kept on the shipment for the pick list and the waybill).
    address_text: str = ""


def tracking_token() -> str:
    """The secret part of a public tracking address: 192 random bits, not guessable from anything."""
    return secrets.token_urlsafe(24)


def start_shipment(order: Order, provider: str, *, option_code: str = "", fee: int = 0,
                   address: dict | None = None, promised_by: datetime | None = None) -> Shipment:
    now = utcnow()
    shipment = Shipment(tenant_id=order.tenant_id, order_id=order.id, provider=provider, option_code=option_code,
                        status=ShipmentStatus.created, fee=fee, currency=order.group.currency,
                        address=dict(address or {}), tracking_token=tracking_token(), status_changed_at=now,
                        promised_by=promised_by)
    db.session.add(shipment)
    db.session.flush()
    db.session.add(ShipmentEvent(tenant_id=order.tenant_id, shipment_id=shipment.id, from_status="", at=now,
                                 to_status=ShipmentStatus.created, note=_("已创建配送单")))
    db.session.flush()
    return shipment


def at_the_shop(tenant: Tenant) -> Chosen:
    """Collecting at the shop, free: what an order placed without a delivery choice gets (the API before
    it asks, older callers)."""
    return Chosen(DeliveryOption("pickup", "shop", _("到店自提"), 0, tenant.currency))


def start_for_order(tenant: Tenant, order: Order, shop: Shop, chosen: Chosen) -> Shipment:
    """While an order is placed: book the chosen option (a slot's place, an accepted freight quote) and make
    the order's shipment. Raises ``DeliveryError`` (``slot_full``, ``quote_used``) — the checkout then stops."""
    option = chosen.option
    provider = provider_for(tenant, shop, option.provider)
    if provider.needs_address and chosen.address is None:
        raise DeliveryError(_("“%(shop)s”的这种配送方式需要收货地址。", shop=shop.name()), "address_required")
    book(tenant, shop, provider, option.code)
    if option.provider == "freight" and option.code.startswith("quote-"):
        from marketplace.delivery.freight import use_quote

        use_quote(order, option.code)
    shipment = start_shipment(order, option.provider, option_code=option.code, fee=option.fee,
                              address=address_record(chosen.address, chosen.address_text),
                              promised_by=option.latest)
    if option.provider == "pickup":
        from marketplace.delivery.pickup import issue_code

        issue_code(shipment)
    return shipment


#: How far ahead of our clock a carrier's report may be dated (clocks differ a little).
CLOCK_SKEW = timedelta(minutes=5)
#: What the order becomes when its shipment reaches a status (the order follows its goods).
ORDER_FOLLOWS = {
    ShipmentStatus.ready_for_pickup: OrderStatus.ready_for_pickup,
    ShipmentStatus.picked_up_by_carrier: OrderStatus.shipped,
    ShipmentStatus.out_for_delivery: OrderStatus.shipped,
    ShipmentStatus.in_transit: OrderStatus.shipped,
    ShipmentStatus.delivered: OrderStatus.delivered,
    ShipmentStatus.collected: OrderStatus.picked_up,
}


def advance(shipment: Shipment, to: str, *, actor_id: int | None = None, note: str = "", location: str = "",
            at: datetime | None = None, key: str | None = None) -> None:
    """Move a shipment one step along the state machine, append it to its timeline, and move its order along.

    The move is made only from the status this copy has (a carrier's report and a merchant's click at once
    cannot both move it). Reaching ``delivered`` or ``collected`` records when the buyer had the goods. The
    goods leave only an accepted order: a shipment of an order not yet accepted (or cancelled) stays put.
    ``key``: the API request's Idempotency-Key, kept on the order's history entry.
    """
    step = move(shipment.status, to)
    if not step.allowed:
        raise DeliveryError(_("配送单当前为“%(status)s”，不能改为“%(to)s”。",
                              status=ShipmentStatus(shipment.status).label,
                              to=ShipmentStatus(to).label if to in ShipmentStatus.__members__ else to),
                            "invalid_transition")
    if to == ShipmentStatus.delivered:
        # Whoever delivers (a carrier, the tenant's courier, the merchant), a locker, a station or a neighbour
        # only with the recipient's consent (电子商务法 Art. 52, 快递暂行条例 Art. 25).
        from marketplace.delivery.express import consent_problem  # express builds on this module

        if problem := consent_problem(shipment, note, location):
            raise DeliveryError(problem, "no_consent")
    order = db.session.get(Order, shipment.order_id)
    follows = ORDER_FOLLOWS.get(to)
    if follows is not None and order.status != follows and follows not in orders.TRANSITIONS.get(order.status, ()):
        raise DeliveryError(_("订单 %(number)s 当前为“%(status)s”，配送还不能开始（请先接单）。", number=order.number,
                              status=OrderStatus(order.status).label), "order_not_ready")
    now = utcnow()
    at = at or now
    # A step happens after the one before it, and not in the future: a backdated "delivered" would shorten
    # the buyer's return window.
    if shipment.status_changed_at is not None and at < shipment.status_changed_at or at > now + CLOCK_SKEW:
        raise DeliveryError(_("时间应在上一步之后、现在之前。"), "bad_time")
    values = {"status": to, "status_changed_at": at, **({"received_at": at} if step.received else {})}
    moved = db.session.execute(update(Shipment).where(Shipment.id == shipment.id, Shipment.status == shipment.status)
                               .values(**values).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.refresh(shipment, ["status"])
        raise DeliveryError(_("配送单刚刚被更新过，请刷新后再试。"), "moved_meanwhile")
    db.session.add(ShipmentEvent(tenant_id=shipment.tenant_id, shipment_id=shipment.id, at=at,
                                 from_status=shipment.status, to_status=to, actor_id=actor_id,
                                 note=note[:1000], location=location[:200]))
    shipment.status = to
    shipment.status_changed_at = at
    if step.received:
        shipment.received_at = at
    db.session.flush()
    from marketplace.webhooks import services as webhooks  # webhooks read shipments, not the other way round

    webhooks.emit("shipment.updated", tenant_id=shipment.tenant_id, shop_id=order.shop_id, data={
        "order_number": order.number, "provider": shipment.provider, "status": to, "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number, "location": location[:200], "at": at.isoformat()})
    if follows is not None and order.status != follows:
        try:
            orders.transition(order, follows, actor_id=actor_id, note=note, key=key)
        except orders.InvalidTransition as error:  # the order moved meanwhile (cancelled at this moment)
            raise DeliveryError(str(error), "moved_meanwhile") from error


def order_cancelled(order: Order, *, actor_id: int | None = None, note: str = "") -> None:
    """The order will not travel (cancelled, or refunded in full before the goods left): its shipment is called
    off, giving back its place in a slot and the freight quote it used; a shipment already moving is left
    for the merchant to bring back."""
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    if shipment is None or shipment.status not in CANCELLABLE:
        return
    if shipment.provider == "freight" and shipment.option_code.startswith("quote-"):
        from marketplace.delivery.freight import release_quote

        release_quote(shipment.option_code)
    step = db.session.execute(update(Shipment).where(Shipment.id == shipment.id, Shipment.status == shipment.status)
                              .values(status=ShipmentStatus.cancelled, status_changed_at=utcnow())
                              .execution_options(synchronize_session=False))
    if step.rowcount == 1:
        db.session.add(ShipmentEvent(tenant_id=shipment.tenant_id, shipment_id=shipment.id,
                                     from_status=shipment.status, to_status=ShipmentStatus.cancelled,
                                     actor_id=actor_id, note=note[:1000] or _("订单已取消")))
        shipment.status = ShipmentStatus.cancelled
        unbook(shipment)
        db.session.flush()


def cancel(shipment: Shipment, *, actor_id: int | None = None, note: str = "") -> None:
    """Call a shipment off while the goods have not left; after that, refused (a return is the way)."""
    if shipment.status not in CANCELLABLE:
        raise DeliveryError(_("货物已发出，不能取消配送。"), "too_late")
    advance(shipment, ShipmentStatus.cancelled, actor_id=actor_id, note=note)
    unbook(shipment)
