"""Delivery pages: the public tracking page, the merchant's shipment panel, pick list and counter, and the
tenant staff's counter and late-delivery list.

* ``/t/<tenant>/track/<token>`` needs no login: the random ``tracking_token`` is the key, looked up within the
  tenant (another tenant's token is not found). It shows how the goods travel, never who receives them: the
  recipient's name, mobile and address are masked down to a first character, 138****1234 and a district, and
  the timeline shows statuses, times and places but no notes (merchants' words, cancellation reasons).
* Merchant pages load the shop and check its merchant roles with the order console's helpers; the shipment
  forms move an express or freight parcel only through its provider module (``ship``, ``record_event``). Once
  the order is closed, the panel masks the recipient as the order page masks the buyer's contact.
* Operator pages need ``operate_tenant``; the counter redeems codes of any shop of the tenant, a merchant's
  counter only its own shop's (``pickup.redeem``'s ``shop_ids``).

Bad input answers with a message (a flash, or the form again with 400), never a server error.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts import divisions
from marketplace.accounts.authz import Permission, require
from marketplace.accounts.models import User
from marketplace.console import orders as order_console
from marketplace.core.db import utcnow
from marketplace.core.money import AmountInvalid, parse_amount
from marketplace.core.text import masked_contact, masked_name
from marketplace.core.themes import render_themed
from marketplace.delivery import pickup, services
from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import (
    HANDED_TO_CARRIER,
    RECEIVED,
    TRANSITIONS,
    DeliveryError,
    ProviderLoadError,
    ShipmentStatus,
    steps_by_hand,
)
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderStatus
from marketplace.shops.models import Shop
from marketplace.tenancy.context import current_tenant

S = ShipmentStatus

tracking_blueprint = Blueprint("tracking", __name__, url_prefix="/t/<slug:tenant_slug>")
merchant_blueprint = Blueprint("merchant_delivery", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>")
operator_blueprint = Blueprint("operator_delivery", __name__, url_prefix="/operator/<slug:tenant_slug>")

#: What ``services.tracking_token`` makes (32 URL-safe characters), with room; anything else is not a token.
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: The path each provider's shipments are expected to take: the steps still ahead are shown greyed.
EXPECTED_PATH: dict[str, tuple[str, ...]] = {
    "pickup": (S.created, S.ready_for_pickup, S.collected),
    "local_courier": (S.created, S.out_for_delivery, S.delivered),
}
#: Express, freight and any provider that hands the goods to a carrier. (The steps that may be recorded by hand
#: are ``providers.steps_by_hand``'s, the same for the console and the API.)
CARRIED_PATH = (S.created, S.picked_up_by_carrier, S.in_transit, S.out_for_delivery, S.delivered)
#: Orders whose goods the shop still has to get ready (the pick list).
TO_PREPARE = (OrderStatus.paid, OrderStatus.accepted)
MAX_CODES = 10
MAX_LOCATION = 200
MAX_NOTE = 500
#: How many rows each list of the late-delivery page shows; failed ones only from the recent past.
LIST_LIMIT = 200
FAILED_WITHIN = timedelta(days=30)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# -- the timeline ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One dot of the timeline: a step taken (``done``), the latest one (``current``) or one still ``ahead``."""

    status: str
    label: str
    state: str
    at: datetime | None = None
    location: str = ""
    note: str = ""


def status_label(status: str) -> str:
    return str(ShipmentStatus(status).label) if status in ShipmentStatus.__members__ else status


def shipment_steps(shipment: Shipment) -> list[Step]:
    """The shipment's timeline as it happened, then the expected steps it has not reached (none once it ended)."""
    steps = [Step(event.to_status, status_label(event.to_status), "done", event.at, event.location, event.note)
             for event in shipment.events]
    if not steps:  # a shipment from before timelines were kept: its status alone
        steps = [Step(shipment.status, status_label(shipment.status), "done", shipment.status_changed_at)]
    steps[-1] = replace(steps[-1], state="current")
    if TRANSITIONS.get(shipment.status):
        path = EXPECTED_PATH.get(shipment.provider, CARRIED_PATH)
        reached = max((path.index(step.status) for step in steps if step.status in path), default=-1)
        steps += [Step(status, status_label(status), "ahead") for status in path[reached + 1:]]
    return steps


# -- masking and naming ---------------------------------------------------------------------------------------------

def district_of(address: dict) -> str:
    """The district's name (or the city's, where a city has no districts): where, but not which door."""
    for code in (address.get("district_code"), address.get("city_code")):
        found = divisions.get(code)
        if found is not None:
            return found.name
    return ""


def full_address(address: dict) -> str:
    """The address as the courier reads it, for the merchant (ID numbers never shown)."""
    from marketplace.delivery.express import address_text

    return address_text(address) if address else ""


def closed_address(address: dict) -> dict:
    """The address as the shop may keep seeing it once the order closed (``order_console.CONTACT_HIDDEN``):
    张*, 138****1234 and the province, city and district — no street, no whole-address text."""
    region = {key: address.get(key) or "" for key in ("province_code", "city_code", "district_code")}
    return {**region, "recipient": masked_name(address.get("recipient")),
            "mobile": masked_contact(address.get("mobile")), "street": "",
            "text": full_address(region), "third_party_signing": bool(address.get("third_party_signing"))}


def pickup_point(tenant, shop: Shop, code: str) -> tuple[str, str]:
    """The pickup point's name and where it is, as the buyer was told at checkout."""
    for point in services.origin_of(tenant, shop).pickup_points:
        if point.code == code:
            return point.name, point.place
    return "", ""


def _point_title(tenant, shop: Shop, code: str) -> str:
    name, _place = pickup_point(tenant, shop, code)
    if code == "counter":
        return _("共享自提点：%(name)s", name=name) if name else _("共享自提点")
    return _("到店自提")


def _duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, hours = divmod(minutes // 60, 24)
    if days:
        return _("%(days)d 天 %(hours)d 小时", days=days, hours=hours)
    if hours:
        return _("%(hours)d 小时 %(minutes)d 分钟", hours=hours, minutes=minutes % 60)
    return _("%(minutes)d 分钟", minutes=minutes)


def _one_line(raw: str | None, limit: int) -> str | None:
    """Printable text on one line, or None when it is longer than ``limit`` (NUL never reaches the database)."""
    text = "".join(ch for ch in " ".join((raw or "").split()) if ch.isprintable())
    return text if len(text) <= limit else None


def _buyers(orders) -> dict[int, User]:
    ids = {order.buyer_id for order in orders}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _shipment_of(order: Order) -> Shipment:
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    if shipment is None:
        abort(404)
    return shipment


# -- public tracking ------------------------------------------------------------------------------------------------

@tracking_blueprint.route("/track/<token>")
def track(token: str):
    if not TOKEN.fullmatch(token):
        abort(404)
    shipment = db.session.scalar(select(Shipment).where(Shipment.tracking_token == token)
                                 .options(selectinload(Shipment.events)))
    if shipment is None:  # unknown, or another tenant's (the guard adds this tenant)
        abort(404)
    tenant = current_tenant._get_current_object()
    shop = shipment.order.shop
    address = shipment.address or {}
    point = pickup_point(tenant, shop, shipment.option_code) if shipment.provider == "pickup" else ("", "")
    html = render_themed("delivery/track.html", shipment=shipment, shop=shop, status=status_label(shipment.status),
                         provider=services.provider_label(shipment.provider), point=point,
                         recipient=masked_name(address.get("recipient")),
                         mobile=masked_contact(address.get("mobile")), district=district_of(address))
    response = make_response(html)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token never leaves in a Referer
    response.headers["Cache-Control"] = "no-store"
    return response


# -- merchant: the shipment panel of an order ----------------------------------------------------------------------

@dataclass
class Panel:
    """What the order page's shipment panel shows and offers."""

    shipment: Shipment
    steps: list[Step]
    provider: str
    #: The recipient, their mobile and the address; masked (``closed_address``) once the order is closed.
    recipient: str
    mobile: str
    address: str
    point: tuple[str, str] = ("", "")
    #: The carriers a parcel may be handed to; empty: the merchant types the carrier's name.
    carriers: list[str] = field(default_factory=list)
    can_ship: bool = False
    next_statuses: list[tuple[str, str]] = field(default_factory=list)


def _provider_options(shop: Shop, name: str) -> dict:
    try:
        return dict(services.provider_for(current_tenant._get_current_object(), shop, name).options)
    except (DeliveryError, ProviderLoadError):  # the tenant switched the provider off since
        return {}


def _next_statuses(shipment: Shipment) -> list[tuple[str, str]]:
    return [(status, status_label(status)) for status in steps_by_hand(shipment.provider, shipment.status)]


def shipment_panel(order: Order) -> Panel | None:
    """The order's shipment as its merchant sees it (template global of the order page), or None."""
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id)
                                 .options(selectinload(Shipment.events)))
    if shipment is None:
        return None
    tenant = current_tenant._get_current_object()
    address = shipment.address or {}
    if address and order.status in order_console.CONTACT_HIDDEN:
        address = closed_address(address)
    panel = Panel(shipment, shipment_steps(shipment), services.provider_label(shipment.provider),
                  address.get("recipient") or "", address.get("mobile") or "", full_address(address))
    if shipment.provider == "pickup":
        panel.point = pickup_point(tenant, order.shop, shipment.option_code)
    if shipment.provider in HANDED_TO_CARRIER:
        panel.carriers = [str(c) for c in _provider_options(order.shop, shipment.provider).get("carriers") or []]
        panel.can_ship = shipment.status == S.created
        panel.next_statuses = _next_statuses(shipment)  # none before it is shipped
    return panel


def _tracking_module(provider: str):
    """The provider module that records a carried parcel's steps (freight may keep its own; else express's)."""
    try:
        module = importlib.import_module(f"marketplace.delivery.{provider}")
    except ImportError:
        module = None
    if hasattr(module, "ship") and hasattr(module, "record_event"):
        return module
    return importlib.import_module("marketplace.delivery.express")


def _carried_shipment(shop_slug: str, number: str) -> tuple[Shop, Order, Shipment | None, object]:
    """Load → check: the shop (403 for others), its order (404 for others), and the way back to the order page."""
    shop = order_console._shop(shop_slug)
    order = order_console._order(shop, number, for_update=True)
    shipment = _shipment_of(order)
    back = redirect(url_for("merchant_orders.detail", shop_slug=shop.slug, number=order.number,
                            _anchor="shipment"), 303)
    if shipment.provider not in HANDED_TO_CARRIER:
        flash(_("这种配送方式不通过快递发货，请用订单上方的按钮处理。"), "error")
        return shop, order, None, back
    return shop, order, shipment, back


@merchant_blueprint.route("/orders/<number>/shipment/ship", methods=["POST"])
@login_required
def ship(shop_slug: str, number: str):
    _shop, _order, shipment, back = _carried_shipment(shop_slug, number)
    if shipment is None:
        return back
    carrier = _one_line(request.form.get("carrier"), 63)
    tracking_number = _one_line(request.form.get("tracking_number"), 64)
    if not carrier or not tracking_number:
        flash(_("请选择快递公司并填写快递单号。"), "error")
        return back
    try:
        _tracking_module(shipment.provider).ship(shipment, carrier, tracking_number, actor_id=current_user.id)
    except DeliveryError as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return back
    db.session.commit()
    flash(_("已发货：%(carrier)s %(number)s。", carrier=carrier, number=tracking_number), "success")
    return back


def _event_time(raw: str, tenant) -> tuple[datetime | None, str | None]:
    """The time a step happened, typed on the tenant's clock ("" for now); (None, why) when it cannot be."""
    if not raw:
        return None, None
    try:
        moment = datetime.strptime(raw.strip(), "%Y-%m-%dT%H:%M").replace(tzinfo=ZoneInfo(tenant.timezone))
    except ValueError:
        return None, _("时间格式不正确，请按“年-月-日 时:分”填写。")
    if moment > utcnow() + timedelta(minutes=5):
        return None, _("时间不能晚于现在。")
    return moment, None


@merchant_blueprint.route("/orders/<number>/shipment/events", methods=["POST"])
@login_required
def record_event(shop_slug: str, number: str):
    _shop, _order, shipment, back = _carried_shipment(shop_slug, number)
    if shipment is None:
        return back
    status = request.form.get("status", "")
    location = _one_line(request.form.get("location"), MAX_LOCATION)
    note = _one_line(request.form.get("note"), MAX_NOTE)
    at, time_problem = _event_time(request.form.get("at", ""), current_tenant)
    if status not in dict(_next_statuses(shipment)):
        problem = _("请选择物流状态。") if shipment.status != S.created else _("请先发货（填写快递单号）。")
    elif location is None or note is None:
        problem = _("地点请控制在 %(location)d 字以内，说明请控制在 %(note)d 字以内。", location=MAX_LOCATION, note=MAX_NOTE)
    else:
        problem = time_problem
    if problem:
        flash(problem, "error")
        return back
    try:
        _tracking_module(shipment.provider).record_event(shipment, status, at=at, location=location, note=note,
                                                         actor_id=current_user.id)
    except DeliveryError as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return back
    db.session.commit()
    flash(_("物流已更新：%(status)s。", status=status_label(status)), "success")
    return back


# -- merchant: what to prepare -------------------------------------------------------------------------------------

@dataclass
class PickGroup:
    title: str
    kind: str  # "slot", "point" or "other": how the group is sorted and styled
    entries: list[tuple[Order, str]] = field(default_factory=list)  # (order, the buyer's masked name)


def _pick_day(tenant) -> tuple[date, bool]:
    today = utcnow().astimezone(ZoneInfo(tenant.timezone)).date()
    raw = request.args.get("date", "")
    if not raw:
        return today, True
    try:
        return (date.fromisoformat(raw), True) if DATE.fullmatch(raw) else (today, False)
    except ValueError:
        return today, False


def _slot_titles(shop: Shop) -> dict[str, str]:
    """Slot code → "18:00-20:00", as the shop's courier options have them."""
    slots = _provider_options(shop, "local_courier").get("slots") or []
    return {slot["code"]: f"{slot.get('start', '')}-{slot.get('end', '')}" for slot in slots if "code" in slot}


def pick_groups(tenant, shop: Shop, day: date) -> list[PickGroup]:
    """The shop's orders still to prepare, by courier slot of ``day`` (and earlier slots not yet sent), by
    pickup point, and by any other provider; later days' slots are left for their day."""
    rows = db.session.execute(
        select(Shipment, Order).join(Order, Order.id == Shipment.order_id)
        .where(Order.shop_id == shop.id, Order.status.in_(TO_PREPARE), Shipment.status == S.created)
        .order_by(Order.created_at, Order.id).options(selectinload(Order.lines))).all()
    buyers = _buyers(order for _shipment, order in rows)
    slot_titles = _slot_titles(shop) if any(s.provider == "local_courier" for s, _o in rows) else {}
    groups: dict[tuple, PickGroup] = {}
    for shipment, order in rows:
        recipient = (shipment.address or {}).get("recipient") or getattr(buyers.get(order.buyer_id), "display_name", "")
        entry = (order, masked_name(recipient))
        if shipment.provider == "local_courier":
            day_text, _slash, slot = shipment.option_code.partition("/")
            slot_day = date.fromisoformat(day_text) if DATE.fullmatch(day_text) else None
            if slot_day is not None and slot_day > day:
                continue
            if slot_day == day:
                key = ("0-slot", slot)
                title = _("同城配送 %(slot)s", slot=slot_titles.get(slot, slot))
            else:
                key, title = ("0-late", ""), _("同城配送：更早时段，尚未送出")
            kind = "slot"
        elif shipment.provider == "pickup":
            # The shop's own counter first: what stays here, then what is carried to the shared counter.
            key = ("1-point", shipment.option_code != "shop", shipment.option_code)
            title, kind = _point_title(tenant, shop, shipment.option_code), "point"
        else:
            key, title, kind = ("2-other", shipment.provider), services.provider_label(shipment.provider), "other"
        groups.setdefault(key, PickGroup(title, kind)).entries.append(entry)
    return [groups[key] for key in sorted(groups, key=lambda k: (k[0] != "0-late", k))]


def goods_totals(groups: list[PickGroup]) -> list[tuple[str, int]]:
    """Everything on the list, added up per article: what to take off the shelf once."""
    totals: Counter = Counter()
    for group in groups:
        for order, _buyer in group.entries:
            for line in order.lines:
                options = " / ".join(str(value) for value in (line.options or {}).values() if value)
                totals[f"{line.title} · {options}" if options else line.title] += line.quantity
    return sorted(totals.items())


@merchant_blueprint.route("/deliveries")
@login_required
def pick_list(shop_slug: str):
    shop = order_console._shop(shop_slug)
    tenant = current_tenant._get_current_object()
    day, understood = _pick_day(tenant)
    if not understood:
        flash(_("日期格式不正确，已显示今天的备货单。"), "error")
    groups = pick_groups(tenant, shop, day)
    return render_template("console/delivery/pick_list.html", shop=shop, day=day, groups=groups,
                           totals=goods_totals(groups), count=sum(len(g.entries) for g in groups)), \
        200 if understood else 400


# -- the counter (tenant staff) and a shop's own counter -----------------------------------------------------------

@dataclass
class Waiting:
    shipment: Shipment
    order: Order
    shop: Shop
    buyer: str
    age: str


def _codes(raw: str) -> list[str]:
    """One code, or several separated by commas, semicolons or new lines (a scanner ends each with Enter)."""
    return [part for part in re.split(r"[,，;；、\r\n]+", raw) if part.strip()]


def _waiting(shop: Shop | None) -> list[Waiting]:
    query = (select(Shipment, Order).join(Order, Order.id == Shipment.order_id)
             .where(Shipment.provider == "pickup", Shipment.status == S.ready_for_pickup)
             .options(joinedload(Order.shop), selectinload(Order.lines))
             .order_by(Shipment.status_changed_at, Shipment.id).limit(LIST_LIMIT))
    query = query.where(Order.shop_id == shop.id) if shop else query.where(Shipment.option_code == "counter")
    rows = db.session.execute(query).all()
    buyers, now = _buyers(order for _s, order in rows), utcnow()
    return [Waiting(shipment, order, order.shop, masked_name(getattr(buyers.get(order.buyer_id), "display_name", "")),
                    _duration(now - (shipment.status_changed_at or shipment.created_at))) for shipment, order in rows]


def _counter_page(shop: Shop | None):
    """The form, what it handed over and refused, and what still waits (one commit for the whole form)."""
    handed: list[Shipment] = []
    problems: list[str] = []
    if request.method == "POST":
        raw = request.form.get("code") or ""
        codes = _codes(raw[:1000])
        if not codes:
            problems.append(_("请输入取货码。"))
        elif len(codes) > MAX_CODES:
            problems.append(_("一次最多核销 %(max)d 个取货码。", max=MAX_CODES))
        else:
            for code in codes:
                shown = pickup.normalise_code(code) or code.strip()[:20]
                try:
                    with db.session.begin_nested():
                        handed.append(pickup.redeem(code, actor_id=current_user.id,
                                                    shop_ids={shop.id} if shop else None))
                except DeliveryError as refused:
                    problems.append(_("%(code)s：%(reason)s", code=shown, reason=str(refused)))
            db.session.commit()
    buyers = _buyers(shipment.order for shipment in handed)
    handed_rows = [(s, s.order, masked_name(getattr(buyers.get(s.order.buyer_id), "display_name", "")))
                   for s in handed]
    return render_template("console/delivery/counter.html", shop=shop, handed=handed_rows, problems=problems,
                           waiting=_waiting(shop)), 400 if problems and not handed else 200


@operator_blueprint.route("/pickup", methods=["GET", "POST"])
@login_required
def counter():
    require(Permission.operate_tenant, current_tenant)
    return _counter_page(None)


@merchant_blueprint.route("/pickup", methods=["GET", "POST"])
@login_required
def shop_counter(shop_slug: str):
    return _counter_page(order_console._shop(shop_slug))


# -- late and failed deliveries (tenant staff) ---------------------------------------------------------------------

@dataclass
class Trouble:
    shipment: Shipment
    order: Order
    shop: Shop
    #: How late, or how long past the hold; "" for failed ones.
    overdue: str = ""


def _hold_days(tenant, shop: Shop, cache: dict[int, int]) -> int:
    if shop.id not in cache:
        try:
            cache[shop.id] = services.provider_for(tenant, shop, "pickup").options["hold_days"]
        except (DeliveryError, ProviderLoadError):
            cache[shop.id] = pickup.PickupProvider.options_schema["hold_days"][1]
    return cache[shop.id]


def troubles(tenant, now: datetime) -> dict[str, list[Trouble]]:
    """Late (promised time passed, goods not received), failed (exception or sent back, the last 30 days), and
    pickups waiting past their hold — the operator's list, oldest first."""
    def rows(*conditions, order_by):
        return db.session.execute(select(Shipment, Order).join(Order, Order.id == Shipment.order_id)
                                  .where(*conditions).options(joinedload(Order.shop))
                                  .order_by(order_by, Shipment.id).limit(LIST_LIMIT)).all()

    ended = {*RECEIVED, S.cancelled, S.returned, S.exception}
    late = [Trouble(s, o, o.shop, _duration(now - s.promised_by))
            for s, o in rows(Shipment.promised_by < now, Shipment.status.not_in(ended), order_by=Shipment.promised_by)]
    failed = [Trouble(s, o, o.shop) for s, o in rows(Shipment.status.in_((S.exception, S.returned)),
                                                     Shipment.status_changed_at >= now - FAILED_WITHIN,
                                                     order_by=Shipment.status_changed_at)]
    holds: dict[int, int] = {}
    uncollected = []
    for s, o in rows(Shipment.provider == "pickup", Shipment.status == S.ready_for_pickup,
                     order_by=Shipment.status_changed_at):
        due = (s.status_changed_at or s.created_at) + timedelta(days=_hold_days(tenant, o.shop, holds))
        if due <= now:
            uncollected.append(Trouble(s, o, o.shop, _duration(now - due)))
    return {"late": late, "failed": failed, "uncollected": uncollected}


@operator_blueprint.route("/deliveries")
@login_required
def late_deliveries():
    require(Permission.operate_tenant, current_tenant)
    found = troubles(current_tenant._get_current_object(), utcnow())
    return render_template("console/delivery/late.html", found=found, labels=S.__labels__,
                           provider_label=services.provider_label)


# -- the shop's own choice of providers (owner) -----------------------------------------------------------------------

class DeliverySettingsForm(FlaskForm):
    """Only the CSRF token: the providers' checkboxes depend on the tenant (read from the request)."""


def set_shop_delivery(tenant, shop: Shop, providers: list[str], free_over: str) -> None:
    """The providers this shop offers (at least one, among the tenant's) and its own free-shipping threshold
    for express ("" keeps the tenant's). Raises ``DeliveryError`` naming what is wrong; flushes."""
    config = services.tenant_delivery(tenant)
    chosen = [name for name in config.enabled if name in providers]
    if not chosen:
        raise DeliveryError(_("请至少选择一种配送方式。"), "no_provider")
    overrides = dict((shop.delivery or {}).get("options") or {})
    express = dict(overrides.get("express") or {})
    if free_over.strip():
        try:
            express["free_over"] = parse_amount(free_over, tenant.currency)
        except AmountInvalid:
            raise DeliveryError(_("包邮门槛应为不小于 0 的金额，如 99 或 99.00。"), "bad_amount") from None
    else:
        express.pop("free_over", None)
    if express:
        overrides["express"] = express
    else:
        overrides.pop("express", None)
    shop.delivery = {"providers": chosen, "options": overrides}
    if "express" in config.options:
        services.provider_for(tenant, shop, "express", config)  # the overrides must still make a valid provider
    db.session.flush()


@merchant_blueprint.route("/delivery-settings", methods=["GET", "POST"])
@login_required
def delivery_settings(shop_slug: str):
    from marketplace.shops import services as shops

    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.edit_shop, shop)
    tenant = current_tenant._get_current_object()
    config = services.tenant_delivery(tenant)
    form = DeliverySettingsForm()
    status, error = 200, None
    offered = services.shop_providers(tenant, shop, config)
    free_over = ((shop.delivery or {}).get("options") or {}).get("express", {}).get("free_over")
    free_over_text = "" if free_over is None else f"{free_over / 100:.2f}"
    if form.validate_on_submit():
        try:
            set_shop_delivery(tenant, shop, request.form.getlist("providers"), request.form.get("free_over", ""))
        except (DeliveryError, ProviderLoadError) as problem:
            db.session.rollback()
            error, status = str(problem), 400
            offered, free_over_text = request.form.getlist("providers"), request.form.get("free_over", "")
        else:
            db.session.commit()
            flash(_("配送方式已保存。"), "success")
            return redirect(url_for("merchant_delivery.delivery_settings", shop_slug=shop.slug)), 303
    elif form.is_submitted():
        error, status = _("表单已过期，请重新提交。"), 400
    return render_template("console/delivery/settings.html", shop=shop, form=form, error=error,
                           providers=[(name, services.provider_label(name)) for name in config.enabled],
                           offered=offered, free_over=free_over_text, has_express="express" in config.options,
                           default=config.default), status


def order_delivery(order: Order) -> str:
    """How an order travels, in a few words, for the console's order page."""
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    return services.summary(shipment, current_tenant._get_current_object())


def register(app) -> None:
    from marketplace.storefront.views import open_only

    open_only(tracking_blueprint)  # a draft tenant's parcels are not tracked in public either
    for blueprint in (tracking_blueprint, merchant_blueprint, operator_blueprint):
        app.register_blueprint(blueprint)
    app.add_template_global(shipment_steps, "shipment_steps")
    app.add_template_global(shipment_panel, "shipment_panel")
    app.add_template_global(order_delivery, "order_delivery")
    app.add_template_global(status_label, "shipment_status_label")
