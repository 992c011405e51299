"""Market floor plans drawn from data: every stall once at its place, vacant slots, links, layout checks."""

from __future__ import annotations

import gzip
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from marketplace.catalog.models import Category
from marketplace.shops.floorplans import (
    MARGIN,
    SCALE,
    Rect,
    Stall,
    find_stalls,
    floor_plan,
    market_floors,
    market_layout_problems,
    normalise_stall,
    stall_overlaps,
)
from marketplace.shops.models import Shop

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]


def _layout(**floor) -> dict:
    spec = {"level": 1, "name": {"zh": "一层", "en": "Ground floor"}, "width_m": 40, "depth_m": 20,
            "zones": [{"code": "A1", "name": {"zh": "化肥区", "en": "Fertiliser"}},
                      {"code": "A2", "name": {"zh": "农药区", "en": "Pesticides"}}]}
    spec.update(floor)
    return {"buildings": [{"code": "A", "name": {"zh": "A 馆", "en": "Hall A"}, "floors": [spec]}]}


def _shop(slug, stall, x=None, y=None, w=None, d=None, *, zone="A1", name="测试店", category=None, floor=1):
    return Shop(slug=slug, name_zh=name, building="A", floor=floor, zone=zone, stall=stall, map_x=x, map_y=y,
                map_width=w, map_depth=d, category=Category(slug="c", name_zh=category) if category else None)


def _link(shop) -> str:
    return f"/t/m/s/{shop.slug}/"


def _svg(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def _stalls(svg: ET.Element) -> dict[str, ET.Element]:
    found = {}
    for element in svg.iter():
        if element.get("data-stall") is not None:
            assert element.get("data-stall") not in found, "a stall is drawn twice"
            found[element.get("data-stall")] = element
    return found


def _box(element) -> tuple[float, float, float, float]:
    rect = element.find(f"{SVG}rect")
    return tuple(round((float(rect.get(k)) - (MARGIN if k in "xy" else 0)) / SCALE, 2)
                 for k in ("x", "y", "width", "height"))


# -- layout checks --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("slug", ["nongzi-market", "apparel-market"])
def test_the_demo_market_layouts_are_valid_and_declare_vacant_stalls(slug):
    layout = tomllib.loads((ROOT / "tenants" / slug / "tenant.toml").read_text())["layout"]
    assert market_layout_problems(layout) == []
    demo = tomllib.loads((ROOT / "marketplace/demo/demo.toml").read_text())
    shops = [_shop(s["slug"], s["location"]["stall"], floor=s["location"]["floor"]) for s in demo["shops"]
             if s["tenant"] == slug]
    for shop, spec in zip(shops, [s for s in demo["shops"] if s["tenant"] == slug], strict=True):
        shop.building = spec["location"]["building"]
    stalls = [stall for floor in market_floors(layout, shops, locale="zh_CN") for stall in floor.stalls]
    assert {s.shop.slug for s in stalls if not s.vacant} == {shop.slug for shop in shops}
    assert sum(s.vacant for s in stalls) >= 3


@pytest.mark.parametrize(("layout", "message"), [
    ([], "[layout] must be a table"),
    ({}, "[layout] buildings must list"),
    ({"buildings": [{"code": "A", "floors": [{"level": 1, "width_m": 10, "depth_m": 10}]}]},
     "buildings[A].name is required"),
    ({"buildings": [{"name": "甲馆", "floors": []}]}, "buildings[0].code is required"),
    (_layout(width_m=0), "floors[level 1].width_m must be a number of metres"),
    (_layout(depth_m="40"), "floors[level 1].depth_m must be a number of metres"),
    (_layout(zones=[{"code": "A1"}]), "zones[A1].name is required"),
    (_layout(zones=[{"code": "A1", "name": "甲", "x_m": 30, "y_m": 0, "width_m": 20, "depth_m": 20}]),
     "zones[A1] lies outside the floor (40 × 20 m)"),
    (_layout(stalls=[{"number": "A1-001", "x_m": 38, "y_m": 0, "width_m": 4, "depth_m": 4}]),
     "stalls[A1-001] lies outside the floor"),
    (_layout(stalls=[{"number": "A1-001", "x_m": 0, "y_m": 0, "width_m": 4}]), "stalls[A1-001].depth_m is missing"),
    (_layout(stalls=[{"number": "A1-001", "x_m": 0, "y_m": 0, "width_m": 4, "depth_m": 4, "zone": "Z9"}]),
     "stalls[A1-001].zone 'Z9' is not a zone of this floor (A1, A2)"),
    (_layout(stalls=[{"number": "A1-001", "x_m": 0, "y_m": 0, "width_m": 4, "depth_m": 4},
                     {"number": "ａ1001", "x_m": 10, "y_m": 0, "width_m": 4, "depth_m": 4}]),
     "stalls[ａ1001].number is the same stall as 'A1-001' on this floor"),
    (_layout(stalls=[{"number": "A1-001", "x_m": 0, "y_m": 0, "width_m": 4, "depth_m": 4},
                     {"number": "A1-002", "x_m": 3, "y_m": 3, "width_m": 4, "depth_m": 4}]),
     "stalls: A1-001 and A1-002 overlap"),
    (_layout(zones=[{"code": "A1", "name": "甲", "x_m": 0, "y_m": 0, "width_m": 10, "depth_m": 20}],
             stalls=[{"number": "A1-001", "x_m": 8, "y_m": 0, "width_m": 4, "depth_m": 4, "zone": "A1"}]),
     "stalls[A1-001] lies outside its zone A1"),
    (_layout(entrances=[{"name": "东门", "x_m": 41, "y_m": 0}]), "entrances[0] at (41, 0) is outside the floor"),
    ({**_layout(), "pickup_counter": {"building": "B", "floor": 1, "name": "提货处"}},
     "pickup_counter.building/floor: no floor 1 in building 'B'"),
])
def test_invalid_layouts_are_rejected_naming_the_field(layout, message):
    problems = market_layout_problems(layout)
    assert any(message in problem for problem in problems), problems


def test_stalls_that_only_touch_do_not_overlap():
    touching = [Stall("1", "", Rect(0, 0, 4, 4)), Stall("2", "", Rect(4, 0, 4, 4)), Stall("3", "", Rect(0, 4, 4, 4))]
    assert stall_overlaps(touching) == []
    [(first, second)] = stall_overlaps([*touching, Stall("4", "", Rect(7, 3, 2, 2))])
    assert {first.number, second.number} == {"2", "4"}


@pytest.mark.parametrize("typed", ["a-101", "Ａ101", "A 101", "ａ－１０１", "A101"])
def test_stall_numbers_compare_ignoring_case_width_and_separators(typed):
    assert normalise_stall(typed) == normalise_stall("A-101")


# -- drawing --------------------------------------------------------------------------------------------------------

def test_every_occupied_stall_appears_once_at_its_position_and_links_to_its_shop(app_ctx):
    layout = _layout(stalls=[{"number": "A1-001", "x_m": 1, "y_m": 1, "width_m": 4, "depth_m": 3, "zone": "A1"},
                             {"number": "A1-002", "x_m": 6, "y_m": 1, "width_m": 4, "depth_m": 3, "zone": "A1"}])
    tenant = SimpleNamespace(layout=layout)
    shops = [_shop("suifeng", "a1-001", 30, 10, 9, 9, name="穗丰复合肥", category="化肥"),  # declared: its slot wins
             _shop("huinong", "A2-201", 25.5, 12, 5, 4, zone="A2", name="惠农植保 <农药>", category="农药"),
             _shop("elsewhere", "B1-001", 1, 1, 3, 3, floor=2)]
    svg = _svg(floor_plan(tenant, "A", 1, shops, link=_link, locale="zh_CN"))
    assert svg.get("role") == "img" and svg.get("width") == "100%" and "A 馆" in svg.get("aria-label")
    stalls = _stalls(svg)
    assert set(stalls) == {"A1-001", "A1-002", "A2-201"}
    suifeng, huinong, vacant = stalls["A1-001"], stalls["A2-201"], stalls["A1-002"]
    assert suifeng.tag == f"{SVG}a" and suifeng.get("href") == "/t/m/s/suifeng/"
    assert _box(suifeng) == (1, 1, 4, 3)
    assert suifeng.find(f"{SVG}title").text == "穗丰复合肥 · A1-001 · 化肥"  # the declared number
    assert huinong.get("href") == "/t/m/s/huinong/" and _box(huinong) == (25.5, 12, 5, 4)
    assert huinong.find(f"{SVG}title").text == "惠农植保 <农药> · A2-201 · 农药"  # escaped in the markup, parsed back
    assert vacant.tag == f"{SVG}g" and "is-vacant" in vacant.get("class") and vacant.get("href") is None
    assert [t.text for t in vacant.iter(f"{SVG}text")] == ["A1-002", "空置"]
    assert [z.get("data-zone") for z in svg.iter(f"{SVG}g") if z.get("class") == "fp-zone"] == ["A1", "A2"]


def test_the_plan_is_deterministic_and_marks_the_highlighted_stall(app_ctx):
    tenant = SimpleNamespace(layout=_layout(entrances=[{"name": {"zh": "东门", "en": "East Gate"}, "x_m": 40,
                                                          "y_m": 10}]))
    tenant.layout["pickup_counter"] = {"building": "A", "floor": 1, "x_m": 38, "y_m": 18, "name": "提货处"}
    shop = _shop("one", "A1-009", 2, 2, 3, 3)
    first = floor_plan(tenant, "A", 1, [shop], highlight=shop, link=_link, locale="zh_CN")
    assert first == floor_plan(tenant, "A", 1, [shop], highlight="a1009", link=_link, locale="zh_CN")
    svg = _svg(first)
    here = _stalls(svg)["A1-009"]
    assert "is-here" in here.get("class") and here.get("aria-current") == "location"
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert "东门" in labels and "提货处" in labels
    assert floor_plan(tenant, "A", 7, [shop], link=_link) == ""  # a floor the layout lacks: nothing drawn


def test_a_500_stall_floor_renders_every_stall_and_stays_small(app_ctx):
    slots = [{"number": f"A-{n:03d}", "x_m": (n % 25) * 4, "y_m": (n // 25) * 4, "width_m": 3.5, "depth_m": 3.5}
             for n in range(500)]
    layout = _layout(width_m=100, depth_m=80, stalls=slots)
    assert market_layout_problems(layout) == []
    shops = [_shop(f"shop-{n}", f"A-{n:03d}", name=f"第{n}号摊位的店", category="化肥") for n in range(0, 500, 2)]
    markup = floor_plan(SimpleNamespace(layout=layout), "A", 1, shops, link=_link, locale="zh_CN")
    stalls = _stalls(_svg(markup))
    assert len(stalls) == 500
    assert sum(1 for e in stalls.values() if e.tag == f"{SVG}a") == 250
    assert sum(1 for e in stalls.values() if "is-vacant" in e.get("class")) == 250
    assert len(gzip.compress(str(markup).encode())) < 150 * 1024


def test_stall_search_finds_exact_and_partial_matches_vacant_included():
    layout = _layout(stalls=[{"number": "A-101", "x_m": 0, "y_m": 0, "width_m": 3, "depth_m": 3},
                             {"number": "A-102", "x_m": 4, "y_m": 0, "width_m": 3, "depth_m": 3}])
    floors = market_floors(layout, [_shop("s", "A-101")], locale="zh_CN")
    exact, matches = find_stalls(floors, "Ａ101")
    assert exact.shop.slug == "s" and [s.number for _, s in matches] == ["A-101"]
    exact, matches = find_stalls(floors, "a-10")
    assert exact is None and [(s.number, s.vacant) for _, s in matches] == [("A-101", False), ("A-102", True)]
    exact, _matches = find_stalls(floors, "a102")
    assert exact.vacant
    assert find_stalls(floors, "C-9") == (None, [])
