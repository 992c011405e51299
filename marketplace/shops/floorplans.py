"""Market floor plans: a market's halls, floors, zones and stalls, drawn as inline SVG from data.

A market tenant's manifest describes its halls in ``[layout] buildings``: each building has a ``code`` and a
``name``, each floor a ``level``, a ``name``, its size (``width_m`` × ``depth_m``, metres) and its ``zones``
(``code``, ``name``, optionally a rectangle ``x_m``/``y_m``/``width_m``/``depth_m``; zones without rectangles are
drawn as equal strips across the floor). A floor may declare its stall slots (``stalls``: ``number``, ``x_m``,
``y_m``, ``width_m``, ``depth_m``, optional ``zone``) and its ``entrances`` (``name``, ``x_m``, ``y_m``). A declared
slot with no shop in it is *vacant*; a shop whose stall number is declared is drawn in its slot, any other shop at
its own ``map_x``/``map_y``/``map_width``/``map_depth``. Positions are metres from the floor's north-west corner.

Nothing here touches the database: callers pass the shops. The SVG is generated, never hand-drawn, and the same
data always gives the same bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from marketplace.core.i18n import localised

#: SVG user units per metre.
SCALE = 10
#: Margin around the floor outline, in user units (room for entrance labels).
MARGIN = 24
#: Size drawn for a shop placed without a width or depth, in metres.
DEFAULT_STALL_M = 3.0
#: Largest floor side a manifest may declare, in metres.
MAX_FLOOR_M = 2_000
_EPSILON = 1e-9


# -- data ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rect:
    """A rectangle in metres from the floor's north-west corner."""

    x: float
    y: float
    w: float
    d: float

    def overlaps(self, other: Rect) -> bool:
        """True when the two share area; rectangles that only touch along an edge do not overlap."""
        return (self.x < other.x + other.w - _EPSILON and other.x < self.x + self.w - _EPSILON
                and self.y < other.y + other.d - _EPSILON and other.y < self.y + self.d - _EPSILON)

    def within(self, w: float, d: float, x: float = 0, y: float = 0) -> bool:
        return (self.x >= x - _EPSILON and self.y >= y - _EPSILON
                and self.x + self.w <= x + w + _EPSILON and self.y + self.d <= y + d + _EPSILON)


@dataclass
class Stall:
    """A stall on one floor: a declared slot (vacant when ``shop`` is None) or a shop's own placement."""

    number: str
    zone: str
    rect: Rect | None
    shop: Any = None  # a Shop

    @property
    def vacant(self) -> bool:
        return self.shop is None


@dataclass
class Zone:
    code: str
    name: str
    rect: Rect | None
    stalls: list[Stall] = field(default_factory=list)


@dataclass
class Floor:
    """One floor of one building, with its zones and stalls (occupied and vacant), ready to list or draw."""

    building: str
    building_name: str
    level: int | None
    name: str
    width: float | None
    depth: float | None
    zones: list[Zone] = field(default_factory=list)
    stalls: list[Stall] = field(default_factory=list)
    entrances: list[tuple[str, float, float]] = field(default_factory=list)
    counter: tuple[str, float | None, float | None] | None = None

    @property
    def key(self) -> str:
        """The floor's id in URLs (``?floor=A-1``) and anchors."""
        return f"{self.building}-{self.level if self.level is not None else ''}"

    @property
    def drawable(self) -> bool:
        return bool(self.width and self.depth)


# -- validation ---------------------------------------------------------------------------------------------------

def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _name_problem(value: Any, where: str) -> str | None:
    if isinstance(value, str) and value.strip():
        return None
    if isinstance(value, dict) and isinstance(value.get("zh"), str) and value["zh"].strip():
        if "en" in value and not isinstance(value["en"], str):
            return f"{where}.name.en must be text"
        return None
    return f"{where}.name is required (text, or a table with zh and en)"


def _rect(item: dict, where: str, problems: list[str], *, required: bool) -> Rect | None:
    keys = ("x_m", "y_m", "width_m", "depth_m")
    if not any(k in item for k in keys):
        if required:
            problems.append(f"{where} needs x_m, y_m, width_m and depth_m (metres)")
        return None
    bad = False
    for key in keys:
        value = item.get(key)
        if key not in item:
            problems.append(f"{where}.{key} is missing (x_m, y_m, width_m and depth_m go together)")
            bad = True
        elif not _number(value) or value < 0 or (key in ("width_m", "depth_m") and value <= 0):
            problems.append(f"{where}.{key} must be a {'positive ' if key in ('width_m', 'depth_m') else ''}"
                            f"number of metres, not {value!r}")
            bad = True
    return None if bad else Rect(float(item["x_m"]), float(item["y_m"]), float(item["width_m"]),
                                 float(item["depth_m"]))


def market_layout_problems(layout: Any) -> list[str]:
    """What is wrong with a market's ``[layout]``, each problem naming the field; empty when it can be drawn.

    Checks: buildings with unique codes and names; floors with unique levels, names optional, ``width_m`` and
    ``depth_m``; zones with unique codes and names, their rectangles inside the floor; declared stalls with a
    number unique on the floor, a rectangle inside the floor (and inside their zone's), a zone of that floor,
    no two overlapping; entrances inside the floor; the pickup counter on a floor that exists.
    """
    problems: list[str] = []
    if not isinstance(layout, dict):
        return ["[layout] must be a table"]
    buildings = layout.get("buildings")
    if not isinstance(buildings, list) or not buildings:
        return ["[layout] buildings must list the market's buildings (code, name, floors)"]
    floors_of: dict[str, dict[int, dict]] = {}
    for b_index, building in enumerate(buildings):
        where = f"[layout] buildings[{b_index}]"
        if not isinstance(building, dict):
            problems.append(f"{where} must be a table")
            continue
        code = building.get("code")
        if not isinstance(code, str) or not code.strip():
            problems.append(f"{where}.code is required (e.g. \"A\")")
            continue
        where = f"[layout] buildings[{code}]"
        if code in floors_of:
            problems.append(f"{where}.code is used by two buildings")
            continue
        floors_of[code] = {}
        if problem := _name_problem(building.get("name"), where):
            problems.append(problem)
        floors = building.get("floors")
        if not isinstance(floors, list) or not floors:
            problems.append(f"{where}.floors must list at least one floor")
            continue
        for f_index, floor in enumerate(floors):
            f_where = f"{where}.floors[{f_index}]"
            if not isinstance(floor, dict):
                problems.append(f"{f_where} must be a table")
                continue
            level = floor.get("level")
            if not isinstance(level, int) or isinstance(level, bool):
                problems.append(f"{f_where}.level must be a whole number (1 = ground floor, -1 = basement)")
                continue
            f_where = f"{where}.floors[level {level}]"
            if level in floors_of[code]:
                problems.append(f"{f_where}.level is used by two floors")
                continue
            floors_of[code][level] = floor
            if "name" in floor and (problem := _name_problem(floor.get("name"), f_where)):
                problems.append(problem)
            problems.extend(_floor_problems(floor, f_where))
    counter = layout.get("pickup_counter")
    if counter is not None:
        if not isinstance(counter, dict):
            problems.append("[layout] pickup_counter must be a table")
        elif "building" in counter or "floor" in counter:
            floor = floors_of.get(str(counter.get("building")), {}).get(counter.get("floor"))
            if floor is None:
                problems.append(f"[layout] pickup_counter.building/floor: no floor {counter.get('floor')!r} "
                                f"in building {counter.get('building')!r}")
            elif any(k in counter for k in ("x_m", "y_m")):
                _point_problem(counter, "[layout] pickup_counter", floor, problems)
    return problems


def _size(floor: dict) -> tuple[float, float] | None:
    width, depth = floor.get("width_m"), floor.get("depth_m")
    if _number(width) and _number(depth) and 0 < width <= MAX_FLOOR_M and 0 < depth <= MAX_FLOOR_M:
        return float(width), float(depth)
    return None


def _point_problem(item: dict, where: str, floor: dict, problems: list[str]) -> None:
    size = _size(floor)
    x, y = item.get("x_m"), item.get("y_m")
    if not (_number(x) and _number(y)):
        problems.append(f"{where}.x_m and y_m must be numbers of metres")
    elif size and not (0 <= x <= size[0] and 0 <= y <= size[1]):
        problems.append(f"{where} at ({x:g}, {y:g}) is outside the floor ({size[0]:g} × {size[1]:g} m)")


def _floor_problems(floor: dict, where: str) -> list[str]:
    problems: list[str] = []
    for key in ("width_m", "depth_m"):
        value = floor.get(key)
        if not _number(value) or not 0 < value <= MAX_FLOOR_M:
            problems.append(f"{where}.{key} must be a number of metres between 0 and {MAX_FLOOR_M}, not {value!r}")
    size = _size(floor)
    zone_rects: dict[str, Rect | None] = {}
    zones = floor.get("zones", [])
    if not isinstance(zones, list):
        problems.append(f"{where}.zones must be a list")
        zones = []
    for z_index, zone in enumerate(zones):
        z_where = f"{where}.zones[{z_index}]"
        if not isinstance(zone, dict) or not isinstance(zone.get("code"), str) or not zone["code"].strip():
            problems.append(f"{z_where}.code is required (e.g. \"A1\")")
            continue
        z_where = f"{where}.zones[{zone['code']}]"
        if zone["code"] in zone_rects:
            problems.append(f"{z_where}.code is used by two zones on this floor")
            continue
        if problem := _name_problem(zone.get("name"), z_where):
            problems.append(problem)
        rect = _rect(zone, z_where, problems, required=False)
        if rect and size and not rect.within(*size):
            problems.append(f"{z_where} lies outside the floor ({size[0]:g} × {size[1]:g} m)")
        zone_rects[zone["code"]] = rect
    stalls = floor.get("stalls", [])
    if not isinstance(stalls, list):
        problems.append(f"{where}.stalls must be a list")
        stalls = []
    seen: dict[str, str] = {}
    placed: list[Stall] = []
    for s_index, stall in enumerate(stalls):
        s_where = f"{where}.stalls[{s_index}]"
        if not isinstance(stall, dict) or not isinstance(stall.get("number"), str) or not stall["number"].strip():
            problems.append(f"{s_where}.number is required (e.g. \"A1-003\")")
            continue
        number = stall["number"].strip()
        s_where = f"{where}.stalls[{number}]"
        key = normalise_stall(number)
        if key in seen:
            problems.append(f"{s_where}.number is the same stall as {seen[key]!r} on this floor")
            continue
        seen[key] = number
        rect = _rect(stall, s_where, problems, required=True)
        zone = stall.get("zone", "")
        if zone and zone not in zone_rects:
            problems.append(f"{s_where}.zone {zone!r} is not a zone of this floor "
                            f"({', '.join(zone_rects) or 'none declared'})")
        if rect is None:
            continue
        if size and not rect.within(*size):
            problems.append(f"{s_where} lies outside the floor ({size[0]:g} × {size[1]:g} m)")
        zone_rect = zone_rects.get(zone)
        if zone_rect and not rect.within(zone_rect.w, zone_rect.d, zone_rect.x, zone_rect.y):
            problems.append(f"{s_where} lies outside its zone {zone}")
        placed.append(Stall(number, str(zone), rect))
    for first, second in stall_overlaps(placed):
        problems.append(f"{where}.stalls: {first.number} and {second.number} overlap")
    entrances = floor.get("entrances", [])
    if not isinstance(entrances, list):
        problems.append(f"{where}.entrances must be a list")
        entrances = []
    for e_index, entrance in enumerate(entrances):
        e_where = f"{where}.entrances[{e_index}]"
        if not isinstance(entrance, dict):
            problems.append(f"{e_where} must be a table")
            continue
        if problem := _name_problem(entrance.get("name"), e_where):
            problems.append(problem)
        _point_problem(entrance, e_where, floor, problems)
    return problems


def stall_overlaps(stalls: Iterable[Stall]) -> list[tuple[Stall, Stall]]:
    """Pairs of stalls on one floor whose rectangles overlap (touching edges do not), in a stable order.

    Sorted by x, each stall is compared only with those starting before it ends: fast for hundreds of stalls.
    """
    placed = sorted((s for s in stalls if s.rect is not None), key=lambda s: (s.rect.x, s.rect.y, s.number))
    found = []
    for i, first in enumerate(placed):
        end = first.rect.x + first.rect.w
        for second in placed[i + 1:]:
            if second.rect.x >= end - _EPSILON:
                break
            if first.rect.overlaps(second.rect):
                found.append((first, second))
    return found


# -- stall numbers ------------------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-_‐‑‒–—―−·.・/]+")


def normalise_stall(text: str) -> str:
    """A stall number for comparison: full-width folded (NFKC), case-insensitive, separators ignored.

    "a-101", "Ａ101" and "A 101" are all "A101".
    """
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "")).upper()


# -- building the floors from a layout and shops ------------------------------------------------------------------

def _text(value: Any, locale=None) -> str:
    if isinstance(value, dict):
        return localised(str(value.get("zh", "")), str(value.get("en", "") or ""), locale)
    return str(value or "")


def _shop_rect(shop) -> Rect | None:
    if shop.map_x is None or shop.map_y is None:
        return None
    return Rect(float(shop.map_x), float(shop.map_y), float(shop.map_width or DEFAULT_STALL_M),
                float(shop.map_depth or DEFAULT_STALL_M))


def _natural(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", normalise_stall(text)))


def market_floors(layout: dict | None, shops: Iterable, *, locale=None) -> list[Floor]:
    """Every floor of the layout in order, with its zones and stalls: declared slots (occupied by the shop with that
    stall number, or vacant) and shops placed on their own. Shops on a floor the layout lacks get a floor of
    their own (listed, not drawn). Assumes a layout ``market_layout_problems`` accepts; skips what it cannot use."""
    layout = layout if isinstance(layout, dict) else {}
    counter = layout.get("pickup_counter") if isinstance(layout.get("pickup_counter"), dict) else None
    floors: dict[tuple[str, int | None], Floor] = {}
    for building in layout.get("buildings") or []:
        if not isinstance(building, dict) or not isinstance(building.get("code"), str):
            continue
        code = building["code"]
        for spec in building.get("floors") or []:
            if not isinstance(spec, dict) or not isinstance(spec.get("level"), int):
                continue
            level = spec["level"]
            size = _size(spec)
            floor = Floor(code, _text(building.get("name"), locale) or code, level,
                          _text(spec.get("name"), locale) or _("%(floor)s 层", floor=level),
                          size[0] if size else None, size[1] if size else None)
            zones = [z for z in spec.get("zones") or [] if isinstance(z, dict) and isinstance(z.get("code"), str)]
            explicit = any(all(_number(z.get(k)) for k in ("x_m", "y_m", "width_m", "depth_m")) for z in zones)
            for index, zone in enumerate(zones):
                if explicit:
                    rect = (Rect(float(zone["x_m"]), float(zone["y_m"]), float(zone["width_m"]),
                                 float(zone["depth_m"]))
                            if all(_number(zone.get(k)) for k in ("x_m", "y_m", "width_m", "depth_m")) else None)
                elif size:  # no rectangles declared: equal strips across the floor, in the order listed
                    strip = size[0] / len(zones)
                    rect = Rect(index * strip, 0.0, strip, size[1])
                else:
                    rect = None
                floor.zones.append(Zone(zone["code"], _text(zone.get("name"), locale) or zone["code"], rect))
            for stall in spec.get("stalls") or []:
                if isinstance(stall, dict) and isinstance(stall.get("number"), str) and all(
                        _number(stall.get(k)) for k in ("x_m", "y_m", "width_m", "depth_m")):
                    floor.stalls.append(Stall(stall["number"].strip(), str(stall.get("zone", "")),
                                              Rect(float(stall["x_m"]), float(stall["y_m"]),
                                                   float(stall["width_m"]), float(stall["depth_m"]))))
            for entrance in spec.get("entrances") or []:
                if isinstance(entrance, dict) and _number(entrance.get("x_m")) and _number(entrance.get("y_m")):
                    floor.entrances.append((_text(entrance.get("name"), locale), float(entrance["x_m"]),
                                            float(entrance["y_m"])))
            if counter and str(counter.get("building")) == code and counter.get("floor") == level:
                x, y = counter.get("x_m"), counter.get("y_m")
                floor.counter = (_text(counter.get("name"), locale) or _("提货处"),
                                 float(x) if _number(x) else None, float(y) if _number(y) else None)
            floors[(code, level)] = floor
    for floor in floors.values():
        floor._slots = {normalise_stall(s.number): s for s in floor.stalls}  # type: ignore[attr-defined]
    for shop in shops:
        floor = floors.get((shop.building, shop.floor))
        if floor is None:
            floor = floors[(shop.building, shop.floor)] = Floor(
                shop.building, shop.building, shop.floor,
                _("%(floor)s 层", floor=shop.floor) if shop.floor is not None else "", None, None)
            floor._slots = {}  # type: ignore[attr-defined]
        slot = floor._slots.get(normalise_stall(shop.stall)) if shop.stall else None  # type: ignore[attr-defined]
        if slot is not None and slot.shop is None:
            slot.shop = shop
            if not slot.zone:
                slot.zone = shop.zone
        else:
            floor.stalls.append(Stall(shop.stall, shop.zone, _shop_rect(shop) if floor.drawable else None, shop))
    for floor in floors.values():
        del floor._slots  # type: ignore[attr-defined]
        floor.stalls.sort(key=lambda s: (_natural(s.number), s.shop.id if s.shop is not None else 0))
        by_code = {zone.code: zone for zone in floor.zones}
        for stall in floor.stalls:
            zone = by_code.get(stall.zone)
            if zone is None:  # a zone the layout does not name: listed under its code
                zone = by_code[stall.zone] = Zone(stall.zone, stall.zone, None)
                floor.zones.append(zone)
            zone.stalls.append(stall)
    return list(floors.values())


def find_stalls(floors: Iterable[Floor], query: str) -> tuple[Stall | None, list[tuple[Floor, Stall]]]:
    """Stall search: (the stall whose number matches exactly, or None; every stall whose number contains it)."""
    wanted = normalise_stall(query)
    if not wanted:
        return None, []
    exact, matches = None, []
    for floor in floors:
        for stall in floor.stalls:
            number = normalise_stall(stall.number)
            if wanted in number:
                matches.append((floor, stall))
                if number == wanted and exact is None:
                    exact = stall
    return exact, matches


# -- drawing ------------------------------------------------------------------------------------------------------

def _f(value: float) -> str:
    """A coordinate in user units, compact and deterministic."""
    return f"{value * SCALE + MARGIN:.1f}".rstrip("0").rstrip(".")


def _u(value: float) -> str:
    return f"{value * SCALE:.1f}".rstrip("0").rstrip(".")


def _font(rect: Rect, text: str, lines: int = 1) -> str:
    size = min(rect.w * SCALE / (0.62 * max(len(text), 1)), rect.d * SCALE / (1.6 * lines), 14.0)
    return f"{max(size, 2.0):.1f}".rstrip("0").rstrip(".")


def _shop_url(shop) -> str:
    return url_for("tenant.shop", shop_slug=shop.slug)


def draw_floor(floor: Floor, *, highlight: str | None = None, link: Callable[[Any], str] = _shop_url,
               vacant_link: Callable[[Floor, Stall], str] | None = None, locale=None) -> Markup:
    """The SVG of one floor; ``highlight`` is the stall number to mark as "you are here". With ``vacant_link``
    each vacant slot links there too (the console's placing: click a free stall to put the shop in it)."""
    if not floor.drawable:
        return Markup("")
    width, depth = floor.width * SCALE + 2 * MARGIN, floor.depth * SCALE + 2 * MARGIN
    label = _("%(building)s %(floor)s 平面图", building=floor.building_name, floor=floor.name)
    wanted = normalise_stall(highlight) if highlight else None
    out = [f'<svg class="floor-plan" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {depth:g}" '
           f'width="100%" role="img" aria-label="{escape(label)}" preserveAspectRatio="xMinYMin meet">',
           f'<title>{escape(label)}</title>',
           f'<rect class="fp-floor" x="{MARGIN}" y="{MARGIN}" width="{_u(floor.width)}" height="{_u(floor.depth)}"/>']
    for zone in floor.zones:
        if zone.rect is None:
            continue
        r = zone.rect
        out.append(f'<g class="fp-zone" data-zone="{escape(zone.code)}"><rect x="{_f(r.x)}" y="{_f(r.y)}" '
                   f'width="{_u(r.w)}" height="{_u(r.d)}"/><text x="{_f(r.x + 0.5)}" y="{_f(r.y + r.d)}" dy="-6">'
                   f'{escape(zone.name)}</text></g>')
    vacant_label = _("空置")
    for stall in floor.stalls:
        r = stall.rect
        if r is None:
            continue
        number = escape(stall.number)
        here = wanted is not None and normalise_stall(stall.number) == wanted
        box = f'<rect x="{_f(r.x)}" y="{_f(r.y)}" width="{_u(r.w)}" height="{_u(r.d)}"/>'
        cx, cy = _f(r.x + r.w / 2), _f(r.y + r.d / 2)
        if stall.vacant:
            title = f"{number} · {escape(vacant_label)}"
            font = _font(r, stall.number, 2)
            inner = (f'<title>{title}</title>{box}<text x="{cx}" y="{cy}" font-size="{font}">{number}</text>'
                     f'<text class="fp-vacant" x="{cx}" y="{cy}" dy="1.2em" font-size="{font}">'
                     f'{escape(vacant_label)}</text>')
            classes = "fp-stall is-vacant" + (" is-here" if here else "")
            if vacant_link is None:
                out.append(f'<g class="{classes}" data-stall="{number}">{inner}</g>')
            else:
                out.append(f'<a class="{classes}" href="{escape(vacant_link(floor, stall))}" '
                           f'data-stall="{number}">{inner}</a>')
            continue
        shop = stall.shop
        sells = shop.category.name(locale) if shop.category is not None else ""
        title = " · ".join(escape(part) for part in (shop.name(locale), stall.number, sells) if part)
        classes = "fp-stall is-occupied" + (" is-here" if here else "")
        current = ' aria-current="location"' if here else ""
        out.append(f'<a class="{classes}" href="{escape(link(shop))}" data-stall="{number}"{current}>'
                   f'<title>{title}</title>{box}<text x="{cx}" y="{cy}" font-size="{_font(r, stall.number)}">'
                   f'{number}</text></a>')
    for name, x, y in floor.entrances:
        out.append(f'<g class="fp-entrance"><circle cx="{_f(x)}" cy="{_f(y)}" r="6"/>'
                   f'<text x="{_f(x)}" y="{_f(y)}" dy="-9">{escape(name)}</text></g>')
    if floor.counter and floor.counter[1] is not None and floor.counter[2] is not None:
        name, x, y = floor.counter
        out.append(f'<g class="fp-counter"><title>{escape(name)}</title>'
                   f'<rect x="{float(_f(x)) - 7:g}" y="{float(_f(y)) - 7:g}" width="14" height="14"/>'
                   f'<text x="{_f(x)}" y="{_f(y)}" dy="-10">{escape(name)}</text></g>')
    out.append("</svg>")
    return Markup("".join(out))


def floor_plan(tenant, building: str, floor: int, shops: Iterable, *, highlight: Any = None,
               link: Callable[[Any], str] = _shop_url, vacant_link: Callable[[Floor, Stall], str] | None = None,
               locale=None) -> Markup:
    """Inline SVG of one floor of a market tenant: outline, zones, stalls (occupied ones link to their shop,
    vacant ones greyed and labelled 空置), entrances and the pickup counter. Empty when the layout lacks the floor.

    ``highlight``: a shop or a stall number to mark; ``shops`` may include shops of other floors (skipped).
    """
    here = [s for s in shops if s.building == building and s.floor == floor]
    for found in market_floors(tenant.layout, here, locale=locale):
        if found.building == building and found.level == floor:
            number = getattr(highlight, "stall", highlight)
            return draw_floor(found, highlight=number or None, link=link, vacant_link=vacant_link, locale=locale)
    return Markup("")


# -- the portal's thumbnail ---------------------------------------------------------------------------------------

#: The largest box a thumbnail fills (user units, drawn as pixels); the floor keeps its proportions inside it.
THUMB_WIDTH, THUMB_MAX_HEIGHT = 240, 120
_THUMB_PAD = 2


def _thumb(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def floor_thumbnail(tenant, shops: Iterable, *, locale=None) -> Markup:
    """The market's first floor with a plan (the one its home shows first) at card size for the city portal: the
    outline, the zones, and every stall as a plain block, occupied and vacant in two colours (one subpath each of
    two paths), without text or links, so a floor of hundreds of stalls stays a few KB. Decorative
    (``aria-hidden``): the card's words name the market. ``shops`` need only the placing columns (``id``,
    ``building``, ``floor``, ``zone``, ``stall``, ``map_*``). "" when no floor can be drawn or no shop is given."""
    shops = list(shops)
    floor = next((f for f in market_floors(tenant.layout, shops, locale=locale) if f.drawable), None)
    if floor is None or not shops:
        return Markup("")
    scale = min((THUMB_WIDTH - 2 * _THUMB_PAD) / floor.width, (THUMB_MAX_HEIGHT - 2 * _THUMB_PAD) / floor.depth)
    width, height = floor.width * scale + 2 * _THUMB_PAD, floor.depth * scale + 2 * _THUMB_PAD

    def box(r: Rect) -> tuple[str, str, str, str]:
        return (_thumb(_THUMB_PAD + r.x * scale), _thumb(_THUMB_PAD + r.y * scale), _thumb(max(r.w * scale, 1.0)),
                _thumb(max(r.d * scale, 1.0)))

    zones = "".join('<rect x="{}" y="{}" width="{}" height="{}"/>'.format(*box(zone.rect))
                    for zone in floor.zones if zone.rect is not None)
    blocks: dict[bool, list[str]] = {True: [], False: []}
    for stall in floor.stalls:
        if stall.rect is not None:
            x, y, w, d = box(stall.rect)
            blocks[stall.vacant].append(f"M{x} {y}h{w}v{d}h-{w}z")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="thumb-map floor-thumb" viewBox="0 0 {_thumb(width)} '
           f'{_thumb(height)}" width="{round(width)}" height="{round(height)}" aria-hidden="true" focusable="false">',
           f'<rect class="thumb-floor" x="{_THUMB_PAD}" y="{_THUMB_PAD}" width="{_thumb(floor.width * scale)}" '
           f'height="{_thumb(floor.depth * scale)}" fill="#f4f1ea" stroke="#8a8a8a"/>']
    if zones:
        out.append(f'<g class="thumb-zones" fill="#e8e2d6" stroke="#fff">{zones}</g>')
    if blocks[True]:
        out.append(f'<path class="thumb-vacant" fill="#fff" stroke="#b0a898" stroke-width=".6" '
                   f'd="{"".join(blocks[True])}"/>')
    if blocks[False]:
        out.append(f'<path class="thumb-shops" fill="#b5835a" stroke="#fff" stroke-width=".6" '
                   f'd="{"".join(blocks[False])}"/>')
    out.append("</svg>")
    return Markup("".join(out))
