"""``local_courier``: same-city delivery by the merchant's or the tenant's own courier, in time slots.

The city is cut into zones of districts (GB/T 2260 codes, as the address book keeps them); a zone has a fee
that covers a parcel up to ``included_kg``, and every started kilogram above it costs ``per_kg_fee`` more.
The buyer picks a slot on a day ("18:00-20:00") whose cut-off has not passed, read in the tenant's time zone.
A slot holds ``capacity`` shipments per shop and day: the platform counts the bookings (``services.book``),
so two buyers racing for the last place never both get it.

Option codes are ``YYYY-MM-DD/<slot code>``: the day and the slot are all the shipment needs to know. Nobody
reports tracking from outside: the courier marks the shipment out for delivery, then delivered, through
``services.advance``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.accounts import divisions
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

#: Zhengzhou's central districts, and the nearer outskirts at a higher fee: the demo's city.
ZHENGZHOU_ZONES = [
    {"name": "市区", "districts": ["410102", "410103", "410104", "410105"], "fee": 600, "included_kg": 5,
     "per_kg_fee": 100},
    {"name": "近郊", "districts": ["410108", "410122"], "fee": 1200, "included_kg": 5, "per_kg_fee": 200},
]
#: A lunchtime and an evening run, each ordered for two hours before it leaves.
DEFAULT_SLOTS = [
    {"code": "11-13", "start": "11:00", "end": "13:00", "cutoff": "09:30", "capacity": 10},
    {"code": "18-20", "start": "18:00", "end": "20:00", "cutoff": "16:00", "capacity": 10},
]
ZONE_KEYS = frozenset({"name", "districts", "fee", "included_kg", "per_kg_fee"})
SLOT_KEYS = frozenset({"code", "start", "end", "cutoff", "capacity"})
#: Room left in ``Shipment.option_code`` (100) after the date and the slash.
MAX_SLOT_CODE = 40
MAX_DAYS_AHEAD = 14


def _clock(text: Any) -> time | None:
    """"18:00" as a time of day; None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%H:%M").time()
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _zone_problem(zone: Any, seen: set[str]) -> str | None:
    if not isinstance(zone, Mapping):
        return "each zone must be a table"
    if set(zone) - ZONE_KEYS:
        return f"a zone has no setting {', '.join(sorted(set(zone) - ZONE_KEYS))}"
    name = zone.get("name")
    if not isinstance(name, str) or not name.strip():
        return "each zone needs a name"
    districts = zone.get("districts")
    if not isinstance(districts, list) or not districts:
        return f"zone {name!r} needs a list of district codes"
    for code in districts:
        found = divisions.get(code) if isinstance(code, str) else None
        if found is None or found.level != 3:
            return f"zone {name!r}: {code!r} is not a district code (GB/T 2260, six digits)"
        if code in seen:
            return f"district {code} is in two zones"
        seen.add(code)
    if not _is_count(zone.get("fee")) or zone["fee"] < 0:
        return f"zone {name!r} needs a fee in fen (a whole number, 0 or more)"
    if not _is_count(zone.get("per_kg_fee", 0)) or zone.get("per_kg_fee", 0) < 0:
        return f"zone {name!r}: per_kg_fee must be a whole number of fen, 0 or more"
    if not _is_number(zone.get("included_kg", 0)) or zone.get("included_kg", 0) < 0:
        return f"zone {name!r}: included_kg must be a number, 0 or more"
    return None


def _slot_problem(slot: Any, seen: set[str]) -> str | None:
    if not isinstance(slot, Mapping):
        return "each slot must be a table"
    if set(slot) - SLOT_KEYS:
        return f"a slot has no setting {', '.join(sorted(set(slot) - SLOT_KEYS))}"
    code = slot.get("code")
    if not isinstance(code, str) or not code or "/" in code or len(code) > MAX_SLOT_CODE or code != code.strip():
        return f"slot code {code!r} must be 1-{MAX_SLOT_CODE} characters without '/' or spaces around"
    if code in seen:
        return f"slot code {code!r} is used twice"
    seen.add(code)
    start, end = _clock(slot.get("start")), _clock(slot.get("end"))
    cutoff = _clock(slot.get("cutoff", slot.get("start")))
    if start is None or end is None or cutoff is None:
        return f"slot {code!r}: start, end and cutoff must look like 18:00"
    if start >= end:
        return f"slot {code!r} must end after it starts"
    if cutoff > start:
        return f"slot {code!r}: the cut-off must be no later than the start"
    capacity = slot.get("capacity")
    if capacity is not None and (not _is_count(capacity) or capacity < 1):
        return f"slot {code!r}: capacity must be a whole number, 1 or more (or left out for no limit)"
    return None


class LocalCourierProvider(DeliveryProvider):
    name = "local_courier"
    label = _l("同城配送")
    options_schema: ClassVar[dict[str, tuple[type, Any]]] = {
        #: [{"name", "districts": [district codes], "fee", "included_kg", "per_kg_fee"}]; a district in one zone.
        "zones": (list, ZHENGZHOU_ZONES),
        "max_weight_kg": (int, 30),
        #: [{"code", "start", "end", "cutoff", "capacity"}]; no cutoff: the start; no capacity: no limit.
        "slots": (list, DEFAULT_SLOTS),
        #: Days offered after today (today's slots while their cut-off has not passed).
        "days_ahead": (int, 2),
    }

    @classmethod
    def options_problem(cls, options) -> str | None:
        if not options["zones"]:
            return "at least one zone is needed"
        districts: set[str] = set()
        for zone in options["zones"]:
            problem = _zone_problem(zone, districts)
            if problem:
                return problem
        if not options["slots"]:
            return "at least one slot is needed"
        codes: set[str] = set()
        for slot in options["slots"]:
            problem = _slot_problem(slot, codes)
            if problem:
                return problem
        if options["max_weight_kg"] < 1:
            return "max_weight_kg must be 1 or more"
        if not 0 <= options["days_ahead"] <= MAX_DAYS_AHEAD:
            return f"days_ahead must be between 0 and {MAX_DAYS_AHEAD}"
        return None

    # -- what the buyer is offered ----------------------------------------------------------------------------------

    def zone_for(self, district_code: str) -> Mapping[str, Any] | None:
        return next((zone for zone in self.options["zones"] if district_code in zone["districts"]), None)

    def fee(self, zone: Mapping[str, Any], weight_g: int) -> int:
        """The zone's fee, and ``per_kg_fee`` for every started kilogram above ``included_kg`` (in grams, so
        2.5 kg included means 2 500 g, without float rounding)."""
        included_g = round(zone.get("included_kg", 0) * 1000)
        extra_kg = -(-max(0, weight_g - included_g) // 1000)
        return zone["fee"] + zone.get("per_kg_fee", 0) * extra_kg

    def quote(self, request: QuoteRequest) -> list[DeliveryOption]:
        address = request.address
        if address is None or not address.district_code:
            raise NotCovered(_("同城配送需要精确到区县的收货地址。"))
        zone = self.zone_for(address.district_code)
        if zone is None:
            raise NotCovered(_("%(place)s不在同城配送范围内（只送%(zones)s）。", place=_place_name(address.district_code),
                               zones="、".join(_zone_description(z) for z in self.options["zones"])))
        limit_g = self.options["max_weight_kg"] * 1000
        if request.parcel.weight_g > limit_g:
            raise NotCovered(_("包裹重 %(weight)s 公斤，超过同城配送的上限 %(limit)s 公斤。",
                               weight=f"{request.parcel.weight_g / 1000:g}", limit=self.options["max_weight_kg"]))
        fee = self.fee(zone, request.parcel.weight_g)
        now, zone_info = request.now, request.now.tzinfo
        options = []
        for days in range(self.options["days_ahead"] + 1):
            day = now.date() + timedelta(days=days)
            for slot in sorted(self.options["slots"], key=lambda s: (_clock(s["start"]), s["code"])):
                cutoff = slot.get("cutoff", slot["start"])
                if now >= datetime.combine(day, _clock(cutoff), zone_info):
                    continue
                options.append(DeliveryOption(
                    self.name, f"{day.isoformat()}/{slot['code']}",
                    _("同城配送 %(month)d月%(day)d日 %(start)s-%(end)s", month=day.month, day=day.day,
                      start=slot["start"], end=slot["end"]),
                    fee, request.currency,
                    earliest=datetime.combine(day, _clock(slot["start"]), zone_info),
                    latest=datetime.combine(day, _clock(slot["end"]), zone_info),
                    constraints=(_("当日%(time)s前下单", time=cutoff), zone["name"])))
        if not options:  # only with days_ahead 0, after the last cut-off
            raise NotCovered(_("今天的同城配送已截单，请明天再来。"))
        return options

    # -- slots and shipments ----------------------------------------------------------------------------------------

    def slot_for(self, option_code: str) -> tuple[date, Mapping[str, Any]] | None:
        """The day and the slot an option code names, or None for a code this provider never quoted."""
        day_text, sep, code = (option_code or "").partition("/")
        if not sep or len(day_text) != len("2026-12-01"):  # fromisoformat would take "20261201" too
            return None
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            return None
        slot = next((s for s in self.options["slots"] if s["code"] == code), None)
        return (day, slot) if slot is not None else None

    def capacity(self, option_code: str) -> int | None:
        found = self.slot_for(option_code)
        return found[1].get("capacity") if found else None

    def create_shipment(self, request: ShipmentRequest) -> ShipmentResult:
        if self.slot_for(request.option_code) is None:
            raise DeliveryError(_("没有这个同城配送时段。"), "unknown_option")
        return ShipmentResult(ShipmentStatus.created)


def _place_name(district_code: str) -> str:
    """"北京市朝阳区" for a district code; the code itself when the divisions do not know it."""
    district = divisions.get(district_code)
    if district is None:
        return district_code
    city = divisions.get(district.parent)
    return f"{city.name if city else ''}{district.name}"


def _zone_description(zone: Mapping[str, Any]) -> str:
    """"市区（中原区、二七区）": a zone by its name and the districts it covers."""
    names = [found.name for found in map(divisions.get, zone["districts"]) if found]
    return f"{zone['name']}（{'、'.join(names)}）"
