"""Street maps: a street tenant's layout checked, drawn as inline SVG from the shops' places, and put into words.

A street layout (``[layout]`` of a street manifest, ``Tenant.layout``) measures everything in metres from the
street's start (``0``) to its ``length_m``::

    street = { zh = "德化街", en = "Dehua Street" }
    length_m = 520
    orientation = "north-south"          # or "east-west": where 0 m is (north or west end)
    sides = ["west", "east"]
    cross_streets = [{ at_m = 250, name = { zh = "苑陵街", en = "Yuanling Street" } }]
    landmarks = [{ at_m = 0, side = "west", name = { zh = "二七纪念塔" } }]
    pickup_counter = { at_m = 270, side = "east", name = { zh = "联合自提点" } }

A shop stands on ``Shop.street_side`` with its frontage from ``Shop.map_x`` to ``map_x + map_width`` metres
(``DEFAULT_FRONTAGE_M`` when no width is recorded). The map is generated, never drawn by hand: the street runs left
to right from 0 m, each side a row of frontages, each frontage a link to its shop.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from marketplace.core.i18n import localised
from marketplace.shops.models import STREET_SIDES, Shop
from marketplace.shops.services import is_open_now
from marketplace.tenancy.models import Tenant

#: The frontage assumed for a shop whose width is not recorded (drawing and overlap checks alike).
DEFAULT_FRONTAGE_M = 5.0
MAX_LENGTH_M = 10_000
ORIENTATIONS = ("north-south", "east-west")
#: Which way "further along the street" is, and which side is drawn above the street band (the map is the street
#: turned so that 0 m is at the left: north-south puts north at the left, so east is at the top).
_ALONG = {"north-south": ("south", "north", "east"), "east-west": ("east", "west", "north")}
DIRECTIONS = {"north": _l("北"), "south": _l("南"), "east": _l("东"), "west": _l("西")}

# Drawing units: SCALE units per metre along the street; fixed heights across it.
SCALE = 4
MARGIN = 40
LABEL_ROW = 26
DEPTH = 150
STREET_BAND = 64
CROSS_WIDTH = 24
#: On screen a unit is drawn at least this many pixels wide (CSS min-width), so names stay legible; the page
#: scrolls sideways where the street is longer than the screen.
MIN_PX_PER_UNIT = 0.8


# -- checking a layout -------------------------------------------------------------------------------------------

def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _name_problem(item: Any, where: str) -> str | None:
    name = item.get("name") if isinstance(item, dict) else None
    if not isinstance(name, dict) or not isinstance(name.get("zh"), str) or not name["zh"].strip():
        return f"{where}.name needs a Chinese name: name = {{ zh = \"…\", en = \"…\" }}"
    if "en" in name and not isinstance(name["en"], str):
        return f"{where}.name.en must be text"
    return None


def street_layout_problems(layout: Any) -> list[str]:
    """What is wrong with a street layout, each message naming the field; ``[]`` when it can be drawn.

    An empty layout is allowed (a street launched before its map is known: shops are listed, not drawn).
    """
    if not isinstance(layout, dict):
        return ["[layout] must be a table"]
    if not layout:
        return []
    problems: list[str] = []
    street = layout.get("street")
    if not isinstance(street, dict) or not isinstance(street.get("zh"), str) or not street["zh"].strip():
        problems.append('layout.street needs a Chinese name: street = { zh = "…", en = "…" }')
    length = _number(layout.get("length_m"))
    if length is None or not 0 < length <= MAX_LENGTH_M:
        problems.append(f"layout.length_m must be the street's length in metres, more than 0 and at most "
                        f"{MAX_LENGTH_M}")
        length = None
    orientation = layout.get("orientation", "north-south")
    if orientation not in ORIENTATIONS:
        problems.append(f"layout.orientation must be one of {', '.join(ORIENTATIONS)}, not {orientation!r}")
    sides = layout.get("sides", ["west", "east"] if orientation != "east-west" else ["north", "south"])
    if (not isinstance(sides, list) or len(sides) != 2 or len(set(map(str, sides))) != 2
            or not all(side in STREET_SIDES for side in sides)):
        problems.append(f"layout.sides must name the street's two sides, from {', '.join(STREET_SIDES)}")
        sides = list(STREET_SIDES)

    def place(item: Any, where: str, *, side_needed: bool) -> None:
        if not isinstance(item, dict):
            problems.append(f"{where} must be a table")
            return
        at = _number(item.get("at_m"))
        if at is None:
            problems.append(f"{where}.at_m must be a number of metres along the street")
        elif length is not None and not 0 <= at <= length:
            problems.append(f"{where}.at_m = {at:g} is outside the street (0 to {length:g} m)")
        if side_needed and item.get("side") not in sides:
            problems.append(f"{where}.side must be one of the street's sides ({', '.join(map(str, sides))})")
        problem = _name_problem(item, where)
        if problem:
            problems.append(problem)

    for key, side_needed in (("cross_streets", False), ("landmarks", True)):
        items = layout.get(key, [])
        if not isinstance(items, list):
            problems.append(f"layout.{key} must be a list of tables")
            continue
        for index, item in enumerate(items):
            place(item, f"layout.{key}[{index}]", side_needed=side_needed)
    if "pickup_counter" in layout:
        place(layout["pickup_counter"], "layout.pickup_counter", side_needed=True)
    return problems


def layout_problems(kind: str, layout: Any) -> list[str]:
    """The problems of a tenant's layout for its kind: streets here, markets in ``shops.floorplans`` if present."""
    if kind == "street":
        return street_layout_problems(layout)
    if kind == "market":
        try:
            from marketplace.shops.floorplans import market_layout_problems
        except ImportError:
            return []
        return list(market_layout_problems(layout))
    return []


# -- frontages -----------------------------------------------------------------------------------------------------

def frontage(shop: Shop) -> tuple[float, float] | None:
    """``(start, end)`` in metres of a placed shop's frontage, or None when the shop has no place on the street."""
    if shop.map_x is None or not shop.street_side:
        return None
    width = shop.map_width if shop.map_width and shop.map_width > 0 else DEFAULT_FRONTAGE_M
    return float(shop.map_x), float(shop.map_x) + float(width)


def overlapping(shops: Iterable[Shop], side: str, map_x: float, map_width: float | None) -> list[Shop]:
    """The shops among ``shops`` whose frontage on ``side`` overlaps the frontage ``map_x`` … ``map_x + map_width``
    (``DEFAULT_FRONTAGE_M`` wide when no width): what placing a shop there would collide with."""
    start = float(map_x)
    end = start + (float(map_width) if map_width and map_width > 0 else DEFAULT_FRONTAGE_M)
    found = []
    for shop in shops:
        span = frontage(shop)
        if span is not None and shop.street_side == side and span[0] < end and start < span[1]:
            found.append(shop)
    return found


def street_overlaps(shops: Iterable[Shop]) -> list[tuple[Shop, Shop]]:
    """Pairs of shops whose frontages on the same side share more than a point (touching is fine)."""
    by_side: dict[str, list[tuple[float, float, Shop]]] = {}
    for shop in shops:
        span = frontage(shop)
        if span is not None:
            by_side.setdefault(shop.street_side, []).append((*span, shop))
    pairs = []
    for side in sorted(by_side):
        placed = sorted(by_side[side], key=lambda item: (item[0], item[1], item[2].id or 0))
        for index, (_start, end, shop) in enumerate(placed):
            for other_start, _other_end, other in placed[index + 1:]:
                if other_start >= end:
                    break
                pairs.append((shop, other))
    return pairs


# -- words: where a shop is and how to get there ----------------------------------------------------------------

def _text(names: Any, locale: str | None) -> str:
    names = names if isinstance(names, dict) else {}
    return localised(str(names.get("zh") or ""), str(names.get("en") or ""), locale)


def _metres(distance: float) -> int:
    return int(round(abs(distance) / 5.0) * 5)


def _walk(from_m: float, to_m: float, orientation: str) -> str:
    forward, backward, _top = _along(orientation)
    return str(DIRECTIONS[forward if to_m > from_m else backward])


def _along(orientation: str) -> tuple[str, str, str]:
    return _ALONG.get(orientation, _ALONG["north-south"])


def directions(tenant: Tenant, shop: Shop, locale: str | None = None) -> str:
    """How to find ``shop`` on its street, in a sentence: its number and side, the way from the nearest cross street
    or landmark, and where the shared pickup counter is from it. "" when the shop has no place on the street."""
    layout = tenant.layout or {}
    span = frontage(shop)
    if span is None or street_layout_problems(layout) or not layout:
        return ""
    orientation = layout.get("orientation", "north-south")
    door = (span[0] + span[1]) / 2
    side = str(STREET_SIDES.get(shop.street_side, shop.street_side))
    parts = [_("%(street)s %(number)s 号，%(side)s", street=_text(layout.get("street"), locale),
               number=shop.street_number or "—", side=side)]
    references = [(float(item["at_m"]), _text(item.get("name"), locale))
                  for key in ("cross_streets", "landmarks") for item in layout.get(key, [])]
    if references:
        at, name = min(references, key=lambda ref: (abs(ref[0] - door), ref[0]))
        metres = _metres(door - at)
        if metres == 0:
            parts.append(_("就在%(place)s旁", place=name))
        else:
            parts.append(_("从%(place)s向%(direction)s约 %(metres)s 米", place=name,
                           direction=_walk(at, door, orientation), metres=metres))
    counter = layout.get("pickup_counter")
    if isinstance(counter, dict):
        name = _text(counter.get("name"), locale)
        counter_side = str(STREET_SIDES.get(counter.get("side"), counter.get("side") or ""))
        metres = _metres(float(counter["at_m"]) - door)
        if metres == 0:
            parts.append(_("共享取货点在%(name)s（%(side)s），就在本店旁", name=name, side=counter_side))
        else:
            parts.append(_("共享取货点在%(name)s（%(side)s），从本店向%(direction)s约 %(metres)s 米", name=name,
                           side=counter_side, direction=_walk(door, float(counter["at_m"]), orientation),
                           metres=metres))
    return "；".join(parts) + "。"


# -- the street page: filters and the same facts for map and list -------------------------------------------------

@dataclass
class StreetEntry:
    """One shop as the street page shows it, on the map and in the list."""

    shop: Shop
    #: True / False by opening hours now; None when its hours are unknown.
    open_now: bool | None
    #: Whether the visitor's filters keep it (others are greyed on the map and left out of the list).
    matches: bool = True
    #: Its electronic badge's state (``trust.badges.BadgeState``), None where not looked up or it has none.
    badge: Any = None


@dataclass
class StreetView:
    entries: list[StreetEntry]
    #: The shops' own categories, for the filter: (slug, name), in the order first met walking the street.
    categories: list[tuple[str, str]] = field(default_factory=list)
    category: str = ""
    open_only: bool = False

    @property
    def shown(self) -> list[StreetEntry]:
        return [entry for entry in self.entries if entry.matches]


def street_view(tenant: Tenant, shops: Sequence[Shop], *, category: str = "", open_only: bool = False,
                now: datetime | None = None, locale: str | None = None,
                badges: dict[int, Any] | None = None) -> StreetView:
    """The street's shops with their open state now, their badge state (from ``badges``, shop id → state, read
    in one go by the caller) and whether the filters keep them. An unknown category slug filters nothing (a stale
    link shows the whole street). Uses only what ``shops`` already loaded: no queries."""
    categories: dict[str, str] = {}
    for shop in shops:
        if shop.category is not None:
            categories.setdefault(shop.category.slug, shop.category.name(locale))
    category = category if category in categories else ""
    entries = []
    for shop in shops:
        open_now = is_open_now(shop, tenant, now)
        matches = ((not category or (shop.category is not None and shop.category.slug == category))
                   and (not open_only or open_now is True))
        entries.append(StreetEntry(shop, open_now, matches, (badges or {}).get(shop.id)))
    return StreetView(entries, list(categories.items()), category, open_only)


# -- the SVG -----------------------------------------------------------------------------------------------------

def _width(text: str) -> float:
    """Rough drawn width of ``text`` in font-size units: CJK and other wide characters 1, the rest 0.6."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)


def shorten(text: str, room: float) -> str:
    """``text`` cut (with "…") so that it fits ``room`` font-size units."""
    if _width(text) <= room:
        return text
    out = ""
    for ch in text:
        if _width(out + ch) + 1 > room:
            break
        out += ch
    return out + "…" if out else ""


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


#: The mark a frontage carries for its electronic badge's state: (symbol, colour). A shop with no badge: none.
BADGE_MARKS = {"valid": ("✓", "#2a7d4f"), "warning": ("!", "#c77700"), "closing": ("!", "#c77700"),
               "suspended": ("✕", "#b3261e"), "revoked": ("✕", "#b3261e"), "expired": ("✕", "#b3261e")}


def _state_label(open_now: bool | None) -> str:
    if open_now is None:
        return _("营业时间未知")
    return _("营业中") if open_now else _("休息中")


def street_map(tenant: Tenant, shops: Sequence[Shop] | Sequence[StreetEntry], *, highlight: Shop | None = None,
               now: datetime | None = None, locale: str | None = None, id_prefix: str = "street-map",
               window_m: float | None = None) -> Markup:
    """The street as an inline SVG: the street band with its name, cross streets, landmarks and the shared pickup
    counter, and each placed shop as a frontage linking to its shop page, with its number, name (shortened to fit),
    a category mark and its open/closed state (colour and words). Shops given as ``StreetEntry`` that the filters
    leave out are greyed, not removed. ``highlight`` marks one shop (its page); with ``window_m`` the view is cropped
    to that many metres either side of it (a small map). "" when the layout cannot be drawn.
    Output depends only on the arguments (and ``now``): the same street draws the same bytes."""
    layout = tenant.layout or {}
    if not layout or street_layout_problems(layout):
        return Markup("")
    entries = [item if isinstance(item, StreetEntry) else StreetEntry(item, is_open_now(item, tenant, now))
               for item in shops]
    length = float(layout["length_m"])
    orientation = layout.get("orientation", "north-south")
    sides = [str(side) for side in layout.get("sides") or _default_sides(orientation)]
    top_side = _along(orientation)[2] if _along(orientation)[2] in sides else sides[0]
    bottom_side = next(side for side in sides if side != top_side)
    width = length * SCALE + 2 * MARGIN
    top_y = LABEL_ROW
    street_y = top_y + DEPTH
    bottom_y = street_y + STREET_BAND
    height = bottom_y + DEPTH + LABEL_ROW

    def x_of(metres: float) -> float:
        return MARGIN + min(max(metres, 0.0), length) * SCALE

    street_name = _text(layout.get("street"), locale)
    open_count = sum(1 for entry in entries if entry.open_now)
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    view_x, view_width = 0.0, width
    if highlight is not None and window_m and frontage(highlight) is not None:
        middle = sum(frontage(highlight)) / 2
        start, end = max(0.0, middle - window_m), min(length, middle + window_m)
        view_x = 0.0 if start == 0 else x_of(start)
        view_width = (width if end == length else x_of(end)) - view_x
    summary = _("%(count)s 家店铺，%(open)s 家营业中；店铺列表见地图下方。", count=len(entries), open=open_count)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="street-map" '
        f'viewBox="{_fmt(view_x)} 0 {_fmt(view_width)} {_fmt(height)}" '
        f'width="100%" style="min-width:{int(view_width * MIN_PX_PER_UNIT)}px" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" font-family="sans-serif">',
        f'<title id="{escape(title_id)}">{escape(_("%(street)s地图", street=street_name))}</title>',
        f'<desc id="{escape(desc_id)}">{escape(summary)}</desc>',
        f'<rect class="street-band" x="0" y="{_fmt(street_y)}" width="{_fmt(width)}" height="{STREET_BAND}" '
        f'fill="#e8e2d6"/>',
        f'<text class="street-name" x="{_fmt(view_x + view_width / 2)}" y="{_fmt(street_y + STREET_BAND / 2 + 6)}" '
        f'text-anchor="middle" font-size="18" fill="#6b5d4f">{escape(street_name)} → '
        f'{escape(DIRECTIONS[_along(orientation)[0]])}</text>',
    ]
    # Side names (and whether a side has odd or even numbers) in the left margin, written across the band.
    for side, band_y in ((top_side, top_y), (bottom_side, bottom_y)):
        numbers = [int(e.shop.street_number) for e in entries
                   if e.shop.street_side == side and e.shop.street_number.isascii() and e.shop.street_number.isdigit()]
        label = str(STREET_SIDES.get(side, side))
        if numbers and all(n % 2 for n in numbers):
            label += " · " + _("单号")
        elif numbers and not any(n % 2 for n in numbers):
            label += " · " + _("双号")
        cy = band_y + DEPTH / 2
        out.append(f'<text class="side-name" x="{MARGIN / 2 - 4}" y="{_fmt(cy)}" text-anchor="middle" font-size="13" '
                   f'fill="#6b5d4f" transform="rotate(-90 {MARGIN / 2 - 4} {_fmt(cy)})">{escape(label)}</text>')
    for item in layout.get("cross_streets", []):
        x = x_of(float(item["at_m"]))
        name = _text(item.get("name"), locale)
        out.append(f'<g class="cross-street"><rect x="{_fmt(x - CROSS_WIDTH / 2)}" y="{top_y}" width="{CROSS_WIDTH}" '
                   f'height="{_fmt(bottom_y + DEPTH - top_y)}" fill="#e8e2d6"/>'
                   f'<text x="{_fmt(x)}" y="{_fmt(top_y + DEPTH / 2)}" text-anchor="middle" dominant-baseline="central" '
                   f'font-size="12" fill="#6b5d4f" transform="rotate(-90 {_fmt(x)} {_fmt(top_y + DEPTH / 2)})">'
                   f'{escape(shorten(name, (DEPTH - 10) / 12))}</text><title>{escape(name)}</title></g>')

    def marker(item: dict, css: str, glyph: str, fill: str) -> str:
        x = x_of(float(item["at_m"]))
        top = item.get("side") == top_side
        y = top_y - 8 if top else bottom_y + DEPTH + 18
        name = _text(item.get("name"), locale)
        return (f'<g class="{css}"><circle cx="{_fmt(x)}" cy="{_fmt(y - 5)}" r="8" fill="{fill}"/>'
                f'<text x="{_fmt(x)}" y="{_fmt(y - 1)}" text-anchor="middle" font-size="10" fill="#fff">{glyph}</text>'
                f'<text x="{_fmt(x + 11)}" y="{_fmt(y)}" font-size="13" fill="#333">{escape(name)}</text>'
                f'<title>{escape(name)}</title></g>')

    for item in layout.get("landmarks", []):
        out.append(marker(item, "landmark", "★", "#6b5d4f"))
    counter = layout.get("pickup_counter")
    if isinstance(counter, dict):
        out.append(marker(counter, "pickup-counter", escape(_("取")), "#1d4e89"))

    for entry in sorted(entries, key=lambda e: (e.shop.street_side, e.shop.map_x or 0, e.shop.id or 0)):
        shop = entry.shop
        span = frontage(shop)
        if span is None or shop.street_side not in (top_side, bottom_side):
            continue
        x0, x1 = x_of(span[0]), x_of(span[1])
        w = max(x1 - x0, 2.0)
        top = shop.street_side == top_side
        y = top_y if top else bottom_y
        name = shop.name(locale)
        state = _state_label(entry.open_now)
        number = shop.street_number
        classes = ["shop", {True: "open", False: "closed", None: "hours-unknown"}[entry.open_now]]
        if not entry.matches:
            classes.append("dimmed")
        if highlight is not None and shop.id == highlight.id:
            classes.append("highlight")
        fill = {True: "#cfe8d5", False: "#e4e4e4", None: "#f2efe9"}[entry.open_now]
        stroke, stroke_width = ("#9e2a2b", 4) if "highlight" in classes else ("#8a8a8a", 1)
        title = _("%(name)s，%(number)s 号，%(state)s", name=name, number=number or "—", state=state)
        badge = BADGE_MARKS.get(str(entry.badge)) if entry.badge is not None else None
        if badge is not None:
            title += _("，电子标识：%(state)s", state=entry.badge.label)
            classes.append(f"badge-{entry.badge}")
        href = url_for("tenant.shop", shop_slug=shop.slug)
        dim = ' opacity="0.35"' if not entry.matches else ""
        parts = [f'<a href="{escape(href)}" class="{" ".join(classes)}" data-shop="{escape(shop.slug)}"{dim}>',
                 f'<title>{escape(title)}</title>',
                 f'<rect x="{_fmt(x0)}" y="{y}" width="{_fmt(w)}" height="{DEPTH}" fill="{fill}" stroke="{stroke}" '
                 f'stroke-width="{stroke_width}"/>']
        # The building number on the pavement edge, the category mark at the back, the name along the depth.
        edge_y = y + DEPTH - 6 if top else y + 14
        font = max(min(14.0, w * 0.7), 6.0)
        number_font = max(min(11.0, w * 0.8), 6.0)
        parts.append(f'<text class="number" x="{_fmt(x0 + w / 2)}" y="{_fmt(edge_y)}" text-anchor="middle" '
                     f'font-size="{_fmt(number_font)}" fill="#333">{escape(shorten(number, w / number_font))}</text>')
        mark_r = min(9.0, w / 2 - 1)
        if shop.category is not None and mark_r >= 4:
            cy = y + 12 if top else y + DEPTH - 12
            letter = shop.category.name(locale)[:1]
            parts.append(f'<circle class="category-mark" cx="{_fmt(x0 + w / 2)}" cy="{_fmt(cy)}" r="{_fmt(mark_r)}" '
                         f'fill="#fff" stroke="#6b5d4f"/><text x="{_fmt(x0 + w / 2)}" y="{_fmt(cy + mark_r * 0.4)}" '
                         f'text-anchor="middle" font-size="{_fmt(mark_r * 1.1)}" fill="#6b5d4f">{escape(letter)}</text>')
        if badge is not None and w >= 14:  # the badge's mark by the number: ✓ trading, ! warned, ✕ not
            bx, by = x0 + w / 2, (y + DEPTH - 22 if top else y + 23)
            parts.append(f'<g class="badge-mark"><circle cx="{_fmt(bx)}" cy="{_fmt(by)}" r="6" fill="{badge[1]}"/>'
                         f'<text x="{_fmt(bx)}" y="{_fmt(by + 3)}" text-anchor="middle" font-size="9" fill="#fff">'
                         f'{badge[0]}</text></g>')
        # Name and state written across the frontage's depth (rotated), between the mark and the number.
        room = (DEPTH - 2 * 26) / font
        lines = [shorten(name, room)]
        if w >= 2 * font + 4:
            lines.append(shorten(state, room))
        cx, cy = x0 + w / 2, y + DEPTH / 2
        offsets = [0.0] if len(lines) == 1 else [-font * 0.55, font * 0.6]
        for index, (text, offset) in enumerate(zip(lines, offsets, strict=True)):
            css, size = ("name", font) if index == 0 else ("state", font * 0.85)
            parts.append(f'<text class="{css}" x="{_fmt(cx)}" y="{_fmt(cy)}" dy="{_fmt(offset)}" text-anchor="middle" '
                         f'dominant-baseline="central" font-size="{_fmt(size)}" fill="#222" '
                         f'transform="rotate(-90 {_fmt(cx)} {_fmt(cy)})">{escape(text)}</text>')
        parts.append("</a>")
        out.append("".join(parts))
    out.append("</svg>")
    return Markup("".join(out))


def _default_sides(orientation: str) -> list[str]:
    return ["north", "south"] if orientation == "east-west" else ["west", "east"]


# -- the portal's thumbnail ---------------------------------------------------------------------------------------

#: The thumbnail's fixed size (user units, drawn as pixels): the street's length fills the width; a row of
#: frontages above and below the band.
THUMB_WIDTH, THUMB_HEIGHT = 240, 64
_THUMB_PAD, _THUMB_ROW, _THUMB_BAND = 4, 24, 12


def street_thumbnail(tenant: Tenant, shops: Iterable[Any]) -> Markup:
    """The street at card size for the city portal: the band, its cross streets and each placed shop's frontage as
    a plain block (one subpath each of a single path), without text, links or open state, so a street of hundreds
    of shops stays a few KB. Decorative (``aria-hidden``): the card's words name the street. ``shops`` need only
    ``id``, ``street_side``, ``map_x`` and ``map_width``. "" when the layout cannot be drawn or no shop is placed."""
    layout = tenant.layout or {}
    if not layout or street_layout_problems(layout):
        return Markup("")
    length = float(layout["length_m"])
    orientation = layout.get("orientation", "north-south")
    sides = [str(side) for side in layout.get("sides") or _default_sides(orientation)]
    top_side = _along(orientation)[2] if _along(orientation)[2] in sides else sides[0]
    bottom_side = next(side for side in sides if side != top_side)
    scale = (THUMB_WIDTH - 2 * _THUMB_PAD) / length
    band_y = (THUMB_HEIGHT - _THUMB_BAND) / 2
    row_y = {top_side: band_y - _THUMB_ROW, bottom_side: band_y + _THUMB_BAND}
    blocks = []
    for shop in sorted(shops, key=lambda s: (s.street_side or "", s.map_x or 0, s.id or 0)):
        span = frontage(shop)
        if span is None or shop.street_side not in row_y:
            continue
        x = _THUMB_PAD + min(max(span[0], 0.0), length) * scale
        w = max((min(span[1], length) - min(max(span[0], 0.0), length)) * scale, 1.0)
        blocks.append(f"M{_fmt(x)} {_fmt(row_y[shop.street_side])}h{_fmt(w)}v{_THUMB_ROW}h-{_fmt(w)}z")
    if not blocks:
        return Markup("")
    cross_width = max(CROSS_WIDTH / SCALE * scale, 2.0)
    crossings = "".join(
        f'<rect x="{_fmt(_THUMB_PAD + float(item["at_m"]) * scale - cross_width / 2)}" y="0" '
        f'width="{_fmt(cross_width)}" height="{THUMB_HEIGHT}"/>' for item in layout.get("cross_streets", []))
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="thumb-map street-thumb" viewBox="0 0 {THUMB_WIDTH} '
        f'{THUMB_HEIGHT}" width="{THUMB_WIDTH}" height="{THUMB_HEIGHT}" aria-hidden="true" focusable="false">'
        f'<g class="thumb-street" fill="#e8e2d6"><rect x="0" y="{_fmt(band_y)}" width="{THUMB_WIDTH}" '
        f'height="{_THUMB_BAND}"/>{crossings}</g>'
        f'<path class="thumb-shops" fill="#b5835a" stroke="#fff" stroke-width=".6" d="{"".join(blocks)}"/></svg>')
