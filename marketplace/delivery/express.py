"""``express``: a parcel carrier (中通, 顺丰, EMS…) across the country, priced by freight templates per province.

A template is the carriers' usual 首重/续重 tariff: a fee for the first weight, and a fee for each further step
of weight begun. The tenant (or a shop) keeps a default template and overrides by destination province, may
exclude provinces it does not send to, and may carry parcels worth ``free_over`` fen or more free.

The merchant hands the parcel to a carrier and enters the carrier and its tracking number (``ship``); every
later step of the timeline — typed in the console, sent by an API call or by a carrier's webhook — goes
through ``record_event``. The law on express delivery shapes two rules here: a parcel may be left in a
parcel locker, at a parcel station or with someone else only if the recipient agreed to it (the address's
``third_party_signing``), and a waybill carries name, address and telephone only — never an ID number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.accounts import divisions
from marketplace.catalog.models import Variant
from marketplace.core.i18n import format_money
from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import (
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

#: What a template must say; a province's override may give only what differs from the default.
TEMPLATE_KEYS = ("first_g", "first_fee", "extra_g", "extra_fee", "days")
DEFAULT_TEMPLATES: dict[str, dict[str, Any]] = {
    "default": {"first_g": 1000, "first_fee": 800, "extra_g": 1000, "extra_fee": 400, "days": [2, 4]},
    "410000": {"first_fee": 500, "extra_fee": 200, "days": [1, 2]},  # 河南：same province as the markets
    "650000": {"first_fee": 2000, "extra_fee": 1500, "days": [5, 9]},  # 新疆
    "540000": {"first_fee": 2000, "extra_fee": 1500, "days": [5, 10]},  # 西藏
}
DEFAULT_CARRIERS = ["中通快递", "圆通速递", "顺丰速运", "中国邮政 EMS"]
TRACKING_NUMBER = re.compile(r"[A-Za-z0-9-]{4,40}")
#: Words with which a courier says the parcel went into a locker, a station, or to someone else.
UNATTENDED_WORDS = ("快递柜", "快件箱", "智能柜", "丰巢", "驿站", "服务站", "代收", "代签", "locker", "parcel station")
#: A resident identity number (GB 11643): 17 digits and a check character; scrubbed from waybill text.
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?![0-9A-Za-z])")


def province_name(code: str) -> str:
    division = divisions.get(code)
    return division.name if division else code


def province_problem(code: Any) -> str | None:
    division = divisions.get(code) if isinstance(code, str) else None
    return None if division is not None and division.level == 1 else f"{code!r} is not a province code"


def province_table_problem(table: dict, name: str, entry_problem, excluded: list) -> str | None:
    """What is wrong with a table keyed by "default" and province codes (express templates, freight rates),
    each entry checked by ``entry_problem`` (a province's may give only what differs), or with the list of
    provinces not served."""
    if not isinstance(table.get("default"), dict):
        return f"{name} need a default entry"
    for key, entry in table.items():
        problem = (province_problem(key) if key != "default" else None) or entry_problem(entry, partial=key != "default")
        if problem:
            return f"{name}[{key}]: {problem}"
    for code in excluded:
        if problem := province_problem(code):
            return f"excluded: {problem}"
    return None


def days_problem(days: Any) -> str | None:
    if not isinstance(days, list) or len(days) != 2 or not all(type(d) is int for d in days) \
            or not 0 <= days[0] <= days[1] <= 60:
        return "days must be [earliest, latest] whole days, 0 ≤ earliest ≤ latest ≤ 60"
    return None


def whole(value: Any, low: int) -> bool:
    """An int (not a bool) of at least ``low``."""
    return type(value) is int and value >= low


def promise_window(now: datetime, days: list[int]) -> tuple[datetime, datetime]:
    """Calendar days after ``now`` (aware, the tenant's zone): from the start of the first day (never before
    now) to the end of the last."""
    first = datetime.combine(now.date() + timedelta(days=days[0]), time.min, now.tzinfo)
    last = datetime.combine(now.date() + timedelta(days=days[1]), time(23, 59), now.tzinfo)
    return max(now, first), last


def template_fee(template: Mapping[str, Any], weight_g: int) -> int:
    """首重 plus one 续重 fee for every step of extra weight begun."""
    steps = math.ceil(max(0, weight_g - template["first_g"]) / template["extra_g"])
    return template["first_fee"] + template["extra_fee"] * steps


class ExpressProvider(DeliveryProvider):
    name = "express"
    label = _l("快递")
    options_schema: ClassVar[dict[str, tuple[type, Any]]] = {
        #: "default" and six-digit province codes → {first_g, first_fee, extra_g, extra_fee, days: [min, max]};
        #: a province's entry overrides only what it names.
        "templates": (dict, DEFAULT_TEMPLATES),
        #: Province codes not sent to.
        "excluded": (list, []),
        #: Parcels worth this many fen or more travel free; 0: never.
        "free_over": (int, 0),
        #: The carriers a merchant may hand parcels to.
        "carriers": (list, DEFAULT_CARRIERS),
        "max_weight_kg": (int, 30),
    }

    @classmethod
    def options_problem(cls, options) -> str | None:
        if problem := province_table_problem(options["templates"], "templates", template_problem, options["excluded"]):
            return problem
        if not options["carriers"] or not all(isinstance(c, str) and c.strip() for c in options["carriers"]):
            return "carriers must name at least one carrier"
        if options["free_over"] < 0 or options["max_weight_kg"] < 1:
            return "free_over must be 0 or more and max_weight_kg at least 1"
        return None

    def template_for(self, province_code: str) -> dict[str, Any]:
        templates = self.options["templates"]
        return {**templates["default"], **templates.get(province_code, {})}

    def covered(self, province_code: str) -> str | None:
        """Why this province is not served, or None."""
        if province_problem(province_code):
            return _("无法识别收货地址所在的省份。")
        if province_code in self.options["excluded"]:
            return _("暂不配送到%(province)s。", province=province_name(province_code))
        return None

    def quote(self, request: QuoteRequest) -> list[DeliveryOption]:
        if request.address is None:
            raise NotCovered(_("快递需要收货地址。"))
        province = request.address.province_code
        if reason := self.covered(province):
            raise NotCovered(reason)
        if request.parcel.weight_g > self.options["max_weight_kg"] * 1000:
            raise NotCovered(_("包裹超过 %(kg)d 公斤，快递不收，请选择其他配送方式。", kg=self.options["max_weight_kg"]))
        template = self.template_for(province)
        free_over = self.options["free_over"]
        fee = 0 if free_over and request.parcel.value >= free_over else template_fee(template, request.parcel.weight_g)
        earliest, latest = promise_window(request.now, template["days"])
        constraints = [_("首重 %(first_g)d 克 %(first_fee)s，续重每 %(extra_g)d 克 %(extra_fee)s",
                         first_g=template["first_g"], first_fee=format_money(template["first_fee"], request.currency),
                         extra_g=template["extra_g"], extra_fee=format_money(template["extra_fee"], request.currency)),
                       _("预计 %(low)d-%(high)d 天送达", low=template["days"][0], high=template["days"][1])]
        if free_over:
            constraints.append(_("满 %(amount)s 包邮", amount=format_money(free_over, request.currency)))
        # The buyer sees which express brands carry the parcel before buying (快递市场管理办法 Art. 23).
        constraints.append(_("承运快递：%(carriers)s", carriers="、".join(self.options["carriers"])))
        return [DeliveryOption(self.name, province, _("快递到%(province)s", province=province_name(province)), fee,
                               request.currency, earliest=earliest, latest=latest, constraints=tuple(constraints))]

    def create_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        if province_problem(request.option_code) or request.option_code in self.options["excluded"]:
            raise DeliveryError(_("没有这个快递选项。"), "unknown_option")
        return ShipmentResult(ShipmentStatus.created)


def template_problem(template: Any, *, partial: bool) -> str | None:
    if not isinstance(template, dict):
        return "must be a table"
    unknown = set(template) - set(TEMPLATE_KEYS)
    missing = set() if partial else set(TEMPLATE_KEYS) - set(template)
    if unknown or missing:
        return f"unknown {sorted(unknown)} / missing {sorted(missing)}"
    for key, low in (("first_g", 1), ("extra_g", 1), ("first_fee", 0), ("extra_fee", 0)):
        if key in template and not whole(template[key], low):
            return f"{key} must be a whole number of at least {low}"
    return days_problem(template["days"]) if "days" in template else None


# -- after the parcel left ---------------------------------------------------------------------------------------

#: Providers whose parcels a carrier takes with a tracking number: express, and wholesale freight whose
#: logistics company the merchant names (its waybill number is the tracking number).
CARRIED = ("express", "freight")


def _express(shipment: Shipment):
    """The provider as this shipment's shop has it (its own carriers, say)."""
    from marketplace.delivery.services import provider_for
    from marketplace.tenancy.models import Tenant

    if shipment.provider not in CARRIED:
        raise DeliveryError(_("这不是快递配送单。"), "wrong_provider")
    return provider_for(db.session.get(Tenant, shipment.tenant_id), shipment.order.shop, shipment.provider)


def ship(shipment: Shipment, carrier: str, tracking_number: str, actor_id: int | None = None) -> None:
    """The merchant handed the parcel to ``carrier``: keep its tracking number and mark it picked up."""
    from marketplace.delivery.services import advance

    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    carriers = _express(shipment).options.get("carriers")
    if carriers is not None and carrier not in carriers:
        raise DeliveryError(_("请选择快递公司：%(carriers)s。", carriers="、".join(carriers)), "unknown_carrier")
    if carriers is None and not 2 <= len(carrier) <= 60:  # freight: the logistics company the merchant uses
        raise DeliveryError(_("请填写承运的物流公司（2-60 字）。"), "unknown_carrier")
    if not TRACKING_NUMBER.fullmatch(tracking_number):
        raise DeliveryError(_("快递单号应为 4-40 位字母、数字或“-”。"), "bad_tracking_number")
    advance(shipment, ShipmentStatus.picked_up_by_carrier, actor_id=actor_id,
            note=_("%(carrier)s 已揽收，单号 %(number)s", carrier=carrier, number=tracking_number))
    shipment.carrier, shipment.tracking_number = carrier, tracking_number
    db.session.flush()


def consent_problem(shipment: Shipment, note: str, location: str) -> str | None:
    """Why a delivery to a locker, a station or another person may not be recorded: the recipient did not
    agree to it. None when the recipient agreed, or the parcel was handed over in person."""
    if (shipment.address or {}).get("third_party_signing") is True:
        return None
    said = f"{note or ''} {location or ''}".lower()
    if any(word in said for word in UNATTENDED_WORDS):
        return _("收件人没有同意由快递柜、驿站或他人代收，请联系收件人当面签收。")
    return None


def record_event(shipment: Shipment, status: str, at: datetime | None = None, location: str = "", note: str = "",
                 actor_id: int | None = None) -> None:
    """One step of an express parcel's timeline, from the console, the API or a carrier's webhook alike:
    forward only, and a delivery without the recipient in person only with their consent."""
    from marketplace.delivery.services import advance

    _express(shipment)
    if at is not None and at.tzinfo is None:
        raise DeliveryError(_("时间必须带时区。"), "bad_time")
    if status == ShipmentStatus.delivered and (problem := consent_problem(shipment, note, location)):
        raise DeliveryError(problem, "no_consent")
    advance(shipment, status, actor_id=actor_id, note=note, location=location, at=at)


def _scrub(text: str) -> str:
    return ID_NUMBER.sub("", text or "").strip()


def address_text(address: Mapping[str, Any]) -> str:
    """The address as a courier reads it: the text kept at checkout, or the divisions' names and the street."""
    if address.get("text"):
        return _scrub(str(address["text"]))
    names = [division.name for code in (address.get("province_code"), address.get("city_code"),
                                        address.get("district_code")) if (division := divisions.get(code))]
    unique = [name for index, name in enumerate(names) if name not in names[:index]]  # 北京市 北京市 → once
    return _scrub(" ".join([*unique, str(address.get("street") or "")]))


def parcel_weight_g(order) -> int:
    """What the goods weigh, in grams, from their variants' weights (a waybill states the weight); goods
    whose variant is gone since count as nothing."""
    weights = dict(db.session.execute(select(Variant.id, Variant.weight_g).where(
        Variant.id.in_([line.variant_id for line in order.lines if line.variant_id is not None]))).all())
    return sum((weights.get(line.variant_id) or 0) * line.quantity for line in order.lines)


def waybill(shipment: Shipment) -> dict[str, Any]:
    """What goes on the waybill: sender (name, place, telephone), recipient's name, telephone and address, the
    goods with their number and weight, the carrier.

    Only these fields are picked from the shipment (a waybill may carry no other identity information, so an
    ID number kept anywhere in the address never reaches it), and free text is scrubbed of ID numbers.
    """
    from marketplace.delivery.services import shop_place
    from marketplace.tenancy.models import Tenant

    order = shipment.order
    shop = order.shop
    address = shipment.address or {}
    goods = [f"{_scrub(line.title)} × {line.quantity}" for line in order.lines]
    return {
        "order_number": order.number,
        "sender": shop.name(),
        "sender_address": shop_place(db.session.get(Tenant, shipment.tenant_id), shop),
        "sender_phone": shop.phone,
        "recipient": _scrub(str(address.get("recipient") or "")),
        "mobile": str(address.get("mobile") or ""),
        "address": address_text(address),
        "goods": "；".join(goods),
        "items": sum(line.quantity for line in order.lines),
        "weight_g": parcel_weight_g(order),
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
    }
