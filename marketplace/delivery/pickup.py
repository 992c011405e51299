"""``pickup``: the buyer collects at the shop or stall, or at the street's or market's shared pickup counter.

The shared counter serves every shop of the tenant: each shop brings its orders there, and a resident who
bought from three shops makes one trip, showing one code per order. A promise of when the goods can be
collected respects opening hours (the shop's own, or the counter's), after the time a shop needs to prepare.

Collection codes are 8 digits, random and unguessable: each is derived from a random salt with the
platform's secret key (HMAC-SHA-256), so the buyer's order page can show it again while the database keeps
only its salt and a keyed hash to look it up by — a copy of the database alone gives no code. (Changing
``SECRET_KEY`` therefore changes every code not yet collected: rotate it when no pickup is waiting, or
expect the counter to find those orders by number.) Staff of the tenant redeem a code
once: looked up by its hash within the tenant (another tenant's code finds nothing), then one conditional
update moves the shipment to ``collected`` — two counters redeeming the same code at once give one success.

``remind_and_return`` is the job: a reminder after ``remind_after_hours`` at the pickup point, and after
``hold_days`` an uncollected order goes back to stock (cancelled, refunded if paid).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from datetime import datetime, timedelta
from typing import Any, ClassVar

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.core.db import utcnow
from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import (
    DeliveryError,
    DeliveryOption,
    DeliveryProvider,
    Hours,
    NotCovered,
    ProviderLoadError,
    QuoteRequest,
    ShipmentRequest,
    ShipmentResult,
    ShipmentStatus,
)
from marketplace.extensions import db

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CODE_DIGITS = 8


def _hours_of(spec: Any) -> dict[str, str]:
    """Opening hours from a shop's table or a daily "08:00-21:00"."""
    if isinstance(spec, str):
        return {day: spec for day in WEEKDAYS} if spec else {}
    return dict(spec or {})


def next_open(hours: Hours, at: datetime) -> datetime | None:
    """The first moment at or after ``at`` (aware, tenant's zone) when the place is open; None if it is closed
    all of the coming week. No hours known: open whenever."""
    if not hours:
        return at
    for days in range(8):
        day = (at + timedelta(days=days)).date()
        span = hours.get(WEEKDAYS[day.weekday()], "closed")
        if not span or span == "closed" or "-" not in span:
            continue
        try:
            start, end = (_moment(day, text.strip(), at.tzinfo) for text in span.split("-", 1))
        except ValueError:  # hours kept in a form this cannot read: that day is not promised
            continue
        if at < end:
            return max(at, start)
    return None


def _moment(day, text: str, zone) -> datetime:
    """"09:30" on ``day``; "24:00" (a shop open all night) is the midnight that ends it."""
    if text == "24:00":
        return datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    return datetime.combine(day, datetime.strptime(text, "%H:%M").time(), zone)


class PickupProvider(DeliveryProvider):
    name = "pickup"
    label = _l("自提")
    needs_address = False
    options_schema: ClassVar[dict[str, tuple[type, Any]]] = {
        "at_shop": (bool, True),
        "at_counter": (bool, True),
        #: The shared counter's hours, every day ("08:00-21:00"); "" takes the manifest's, or any time.
        "counter_hours": (str, ""),
        #: How long a shop needs to get an order ready.
        "prepare_minutes": (int, 60),
        "remind_after_hours": (int, 24),
        #: Uncollected this long after it is ready: the order goes back to stock.
        "hold_days": (int, 3),
    }

    @classmethod
    def options_problem(cls, options) -> str | None:
        if not options["at_shop"] and not options["at_counter"]:
            return "at_shop or at_counter must be true"
        if options["counter_hours"]:
            start, _sep, end = options["counter_hours"].partition("-")
            try:
                if datetime.strptime(start, "%H:%M") >= datetime.strptime(end, "%H:%M"):
                    return "counter_hours must end after it starts"
            except ValueError:
                return "counter_hours must look like 08:00-21:00"
        if not 0 <= options["prepare_minutes"] <= 7 * 24 * 60 or not 1 <= options["hold_days"] <= 30 \
                or not 1 <= options["remind_after_hours"] <= 30 * 24:
            return "prepare_minutes, hold_days or remind_after_hours out of range"
        return None

    def quote(self, request: QuoteRequest) -> list[DeliveryOption]:
        ready = request.now + timedelta(minutes=self.options["prepare_minutes"])
        options = []
        for point in request.origin.pickup_points:
            if point.code == "shop" and not self.options["at_shop"] or \
                    point.code == "counter" and not self.options["at_counter"]:
                continue
            hours = _hours_of(self.options["counter_hours"] or point.hours) if point.code == "counter" \
                else _hours_of(point.hours)
            opens = next_open(hours, ready)
            if opens is None:
                continue
            label = _("到店自提：%(name)s", name=point.name) if point.code == "shop" \
                else _("共享自提点：%(name)s", name=point.name)
            constraints = tuple(part for part in (
                point.place,
                _("营业时间 %(hours)s", hours=hours.get(WEEKDAYS[opens.weekday()], "")) if hours else "",
                _("备好后保留 %(days)d 天", days=self.options["hold_days"])) if part)
            options.append(DeliveryOption(self.name, point.code, label, 0, request.currency, earliest=opens,
                                          constraints=constraints))
        if not options:
            raise NotCovered(_("近一周没有开放的自提点。"))
        return options

    def create_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        if request.option_code not in ("shop", "counter"):
            raise DeliveryError(_("没有这个自提点。"), "unknown_option")
        return ShipmentResult(ShipmentStatus.created)


# -- collection codes ---------------------------------------------------------------------------------------------

def _derive(salt: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"pickup:{salt}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def _hash(code: str) -> str:
    """The key a code is looked up by: keyed with the platform's secret, so that a copy of the database alone
    cannot be searched through all 10⁸ codes."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"pickup-lookup:{code}".encode(), hashlib.sha256).hexdigest()


def issue_code(shipment: Shipment) -> None:
    """Give a pickup shipment its collection code (unique in the tenant; a rare clash draws again)."""
    for _attempt in range(5):
        salt = secrets.token_hex(16)
        try:
            with db.session.begin_nested():
                shipment.pickup_code_salt = salt
                shipment.pickup_code_hash = _hash(_derive(salt))
                db.session.flush()
            return
        except IntegrityError:
            continue
    raise DeliveryError(_("暂时无法生成取货码，请重试。"), "code_unavailable")


def code_for(shipment: Shipment) -> str | None:
    """The collection code, for the buyer's own pages only."""
    return _derive(shipment.pickup_code_salt) if shipment.pickup_code_salt else None


def qr_svg(text: str) -> str:
    """A QR code of ``text`` as inline SVG (no image file, no script). Without the library's fixed ``id="qr-path"``:
    a page with a code per order would repeat the id."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    image.path.attrib.pop("id", None)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode().split("?>", 1)[-1].strip()


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in (raw or "") if ch.isascii() and ch.isdigit())


def find_by_code(raw: str) -> Shipment | None:
    """The current tenant's pickup shipment with this code (queries are tenant-scoped), or None."""
    code = normalise_code(raw)
    if len(code) != CODE_DIGITS:
        return None
    return db.session.scalar(select(Shipment).where(Shipment.provider == "pickup",
                                                    Shipment.pickup_code_hash == _hash(code)))


def redeem(raw: str, *, actor_id: int | None, shop_ids: set[int] | None = None, key: str | None = None) -> Shipment:
    """Hand the goods over against their code: exactly once. ``shop_ids``: the shops a merchant's staff may
    hand over for (None: the tenant's counter staff, any shop). Raises ``DeliveryError`` with a stable code."""
    from marketplace.delivery.services import advance

    shipment = find_by_code(raw)
    if shipment is None or shop_ids is not None and shipment.order.shop_id not in shop_ids:
        raise DeliveryError(_("取货码不正确，请核对后重新输入。"), "unknown_code")
    if shipment.status == ShipmentStatus.collected:
        raise DeliveryError(_("这个取货码已经用过了：订单 %(number)s 已被取走。", number=shipment.order.number),
                            "already_collected")
    if shipment.status != ShipmentStatus.ready_for_pickup:
        raise DeliveryError(_("订单 %(number)s 还不能取货（%(status)s）。", number=shipment.order.number,
                              status=ShipmentStatus(shipment.status).label), "not_ready")
    try:
        advance(shipment, ShipmentStatus.collected, actor_id=actor_id, note=_("凭取货码取货"), key=key)
    except DeliveryError as error:
        if error.code == "moved_meanwhile":  # redeemed at another counter this very moment
            raise DeliveryError(_("这个取货码已经用过了：订单 %(number)s 已被取走。", number=shipment.order.number),
                                "already_collected") from error
        raise
    return shipment


# -- the job --------------------------------------------------------------------------------------------------------

def remind_and_return(tenant, now: datetime | None = None) -> tuple[int, int]:
    """Remind buyers whose goods wait at a pickup point, and put back on the shelf what waited past the
    tenant's hold. Returns (reminded, returned). The caller commits."""
    from marketplace.delivery.services import advance, provider_for
    from marketplace.orders import notifications
    from marketplace.orders import services as orders

    now = now or utcnow()
    reminded = returned = 0
    waiting = list(db.session.scalars(select(Shipment).where(Shipment.provider == "pickup",
                                                             Shipment.status == ShipmentStatus.ready_for_pickup)))
    for shipment in waiting:
        order = shipment.order
        try:
            options = provider_for(tenant, order.shop, "pickup").options
        except (DeliveryError, ProviderLoadError):  # the tenant no longer offers pickup, or its options broke
            continue
        since = shipment.status_changed_at or shipment.created_at
        if since + timedelta(days=options["hold_days"]) <= now:
            note = _("超过 %(days)d 天未取货，商品退回库存", days=options["hold_days"])
            try:
                with db.session.begin_nested():  # both moves, or neither
                    advance(shipment, ShipmentStatus.returned, note=note)
                    orders.transition(order, orders.S.cancelled, note=note)
            except (DeliveryError, orders.InvalidTransition):
                db.session.refresh(shipment)
                continue  # collected (or cancelled) at this moment
            returned += 1
        elif shipment.reminded_at is None and since + timedelta(hours=options["remind_after_hours"]) <= now:
            shipment.reminded_at = now
            notifications.pickup_reminder(tenant, order, code_for(shipment) or "")
            reminded += 1
    db.session.flush()
    return reminded, returned
