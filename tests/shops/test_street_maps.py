"""Street maps: layouts checked, the SVG drawn from the shops' places, open-now, the console's overlap check."""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markupsafe import Markup

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.shops import maps
from marketplace.shops.models import Shop
from marketplace.shops.services import is_open_now
from marketplace.tenancy.context import activate, tenant_scope
from marketplace.tenancy.manifests import ManifestError, load_manifest

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
DEHUA = tomllib.loads((ROOT / "tenants/dehua-street/tenant.toml").read_text("utf-8"))["layout"]
DEMO_SHOPS = [spec for spec in tomllib.loads((ROOT / "marketplace/demo/demo.toml").read_text("utf-8"))["shops"]
              if spec["tenant"] == "dehua-street"]
WEEK = {day: "09:00-21:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def parse(svg: Markup | str) -> ET.Element:
    return ET.fromstring(str(svg))


def frontages(root: ET.Element) -> dict[str, ET.Element]:
    """The shop links on the map by shop slug; fails if a shop appears twice."""
    found: dict[str, ET.Element] = {}
    for link in root.iter(f"{SVG}a"):
        slug = link.get("data-shop")
        assert slug not in found, f"{slug} drawn twice"
        found[slug] = link
    return found


@pytest.fixture
def dehua(make_tenant, make_shop):
    """The demo street: its manifest layout and its eight shops at their demo places."""
    tenant = make_tenant(slug="dehua-map", kind="street", theme="street", layout=DEHUA)
    for spec in DEMO_SHOPS:
        place = spec["location"]
        make_shop(tenant, slug=spec["slug"], name_zh=spec["name"]["zh"], opening_hours=spec["opening_hours"],
                  street_number=place["street_number"], street_side=place["side"], map_x=place["at_m"],
                  map_width=place["frontage_m"])
    return tenant


def draw(app, tenant, **kw) -> ET.Element:
    with app.test_request_context(f"/t/{tenant.slug}/"), tenant_scope(tenant):
        activate(tenant)
        shops = list(db.session.scalars(db.select(Shop).order_by(Shop.id)))
        return parse(maps.street_map(tenant, shops, **kw))


# -- layouts ----------------------------------------------------------------------------------------------------

def test_the_shipped_street_layout_is_valid_and_an_empty_one_is_allowed():
    assert maps.street_layout_problems(DEHUA) == []
    assert maps.street_layout_problems({}) == []
    assert maps.layout_problems("street", DEHUA) == []


@pytest.mark.parametrize(("change", "message"), [
    ({"length_m": 0}, "layout.length_m must be the street's length"),
    ({"length_m": "long"}, "layout.length_m"),
    ({"street": {"en": "No Chinese"}}, "layout.street needs a Chinese name"),
    ({"sides": ["west", "west"]}, "layout.sides must name the street's two sides"),
    ({"orientation": "diagonal"}, "layout.orientation must be one of"),
    ({"cross_streets": [{"at_m": 600, "name": {"zh": "远路"}}]}, "layout.cross_streets[0].at_m = 600 is outside"),
    ({"cross_streets": [{"at_m": 10}]}, "layout.cross_streets[0].name needs a Chinese name"),
    ({"landmarks": [{"at_m": 10, "side": "north", "name": {"zh": "塔"}}]}, "layout.landmarks[0].side must be one"),
    ({"pickup_counter": {"at_m": -5, "side": "east", "name": {"zh": "自提点"}}},
     "layout.pickup_counter.at_m = -5 is outside"),
    ({"cross_streets": "二七路"}, "layout.cross_streets must be a list of tables"),
])
def test_invalid_street_layouts_are_rejected_naming_the_field(change, message):
    problems = maps.street_layout_problems({**DEHUA, **change})
    assert any(message in problem for problem in problems), problems


def test_a_bad_layout_fails_the_manifest_check(app, tmp_path):
    text = (ROOT / "tenants/dehua-street/tenant.toml").read_text("utf-8").replace("length_m = 520", "length_m = 200")
    folder = tmp_path / "dehua-street"
    folder.mkdir()
    (folder / "tenant.toml").write_text(text, "utf-8")
    (folder / "static").mkdir()
    (folder / "static" / "logo.svg").write_text("<svg/>", "utf-8")
    with app.app_context(), pytest.raises(ManifestError) as refused:
        load_manifest(folder / "tenant.toml")
    assert "layout.cross_streets[1].at_m = 250 is outside the street (0 to 200 m)" in str(refused.value)


def test_a_market_layout_is_left_to_the_floor_plans():
    assert isinstance(maps.layout_problems("market", {"buildings": []}), list)


# -- the SVG ------------------------------------------------------------------------------------------------------

def test_every_demo_shop_appears_once_at_its_place_linking_to_its_page(app, dehua):
    root = draw(app, dehua)
    assert root.get("role") == "img" and root.get("width") == "100%"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id and "德化街" in root.find(f"{SVG}title").text
    assert root.find(f"{SVG}desc").get("id") == desc_id
    drawn = frontages(root)
    assert sorted(drawn) == sorted(spec["slug"] for spec in DEMO_SHOPS)
    for spec in DEMO_SHOPS:
        link = drawn[spec["slug"]]
        assert link.get("href") == f"/t/{dehua.slug}/s/{spec['slug']}/"
        rect = link.find(f"{SVG}rect")
        place = spec["location"]
        assert float(rect.get("x")) == maps.MARGIN + place["at_m"] * maps.SCALE
        assert float(rect.get("width")) == place["frontage_m"] * maps.SCALE
        title = link.find(f"{SVG}title").text
        assert spec["name"]["zh"] in title and f"{place['street_number']} 号" in title
        numbers = [t.text for t in link.iter(f"{SVG}text") if t.get("class") == "number"]
        assert numbers == [place["street_number"]]
    # West (odd numbers) and east (even) are drawn as two rows, east above: 0 m (north) is at the left.
    top = {slug for slug, link in drawn.items() if float(link.find(f"{SVG}rect").get("y")) == maps.LABEL_ROW}
    assert top == {spec["slug"] for spec in DEMO_SHOPS if spec["location"]["side"] == "east"}


def test_cross_streets_landmarks_and_the_pickup_counter_are_drawn_and_labelled(app, dehua):
    root = draw(app, dehua)
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for name in ("二七广场", "苑陵街", "大同路", "二七纪念塔", "苑陵街口休闲广场", "德化街南口", "德化街商户联合自提点"):
        assert name in texts
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "cross-street"]) == 3
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "landmark"]) == 3
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "pickup-counter"]) == 1
    assert "西侧 · 单号" in texts and "东侧 · 双号" in texts


def test_the_demo_street_has_no_overlaps_and_an_overlap_is_found(app, dehua):
    with tenant_scope(dehua):
        shops = list(db.session.scalars(db.select(Shop)))
        assert maps.street_overlaps(shops) == []
        by_slug = {shop.slug: shop for shop in shops}
        assert maps.overlapping(shops, "west", 45, 4) == [by_slug["zhiyun-dehua"]]  # 40–50 m, west
        assert maps.overlapping(shops, "west", 50, 4) == []  # touching is fine
        assert maps.overlapping(shops, "east", 45, 4) == []  # other side
        by_slug["defu-huimian"].map_x = 35  # 35–43 m: into Zhiyun's frontage
        assert [(a.slug, b.slug) for a, b in maps.street_overlaps(shops)] == [("defu-huimian", "zhiyun-dehua")]
        db.session.rollback()


def test_names_are_escaped_and_shortened_and_the_output_is_deterministic(app, make_tenant, make_shop):
    tenant = make_tenant(kind="street", theme="street", layout={**DEHUA, "street": {"zh": "<德化&街>"}})
    make_shop(tenant, slug="narrow", name_zh="<b>一个名字非常非常非常非常非常长的小店</b>", street_number="7",
              street_side="west", map_x=10, map_width=3)
    first = draw(app, tenant)
    assert ET.tostring(first) == ET.tostring(draw(app, tenant))
    [link] = frontages(first).values()
    name = next(t.text for t in link.iter(f"{SVG}text") if t.get("class") == "name")
    assert name.endswith("…") and len(name) < 20 and name.startswith("<b>")  # escaped in the markup, parsed back
    assert "<德化&街>" in first.find(f"{SVG}title").text


def test_open_and_closed_shops_differ_in_colour_and_words(app, make_tenant, make_shop):
    tenant = make_tenant(kind="street", theme="street", layout=DEHUA)
    make_shop(tenant, slug="early", street_number="1", street_side="west", map_x=0, map_width=10,
              opening_hours={**WEEK})
    make_shop(tenant, slug="late", street_number="2", street_side="east", map_x=0, map_width=10,
              opening_hours={day: "18:00-23:00" for day in WEEK})
    noon = datetime(2026, 3, 4, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    drawn = frontages(draw(app, tenant, now=noon))
    assert "open" in drawn["early"].get("class") and "closed" in drawn["late"].get("class")
    assert drawn["early"].find(f"{SVG}rect").get("fill") != drawn["late"].find(f"{SVG}rect").get("fill")
    assert "营业中" in drawn["early"].find(f"{SVG}title").text and "休息中" in drawn["late"].find(f"{SVG}title").text
    states = [t.text for t in drawn["late"].iter(f"{SVG}text") if t.get("class") == "state"]
    assert states == ["休息中"]


def test_a_300_shop_street_renders_every_shop(app, make_tenant, make_merchant):
    tenant = make_tenant(kind="street", theme="street",
                         layout={**DEHUA, "length_m": 1500, "cross_streets": [], "landmarks": []})
    merchant = make_merchant()
    with tenant_scope(tenant):
        db.session.add_all([Shop(tenant_id=tenant.id, merchant_id=merchant.id, slug=f"s{n}", name_zh=f"第{n}号店",
                                 street_number=str(n), street_side=("west", "east")[n % 2], map_x=(n // 2) * 10,
                                 map_width=10, opening_hours=WEEK) for n in range(300)])
        db.session.commit()
        assert maps.street_overlaps(db.session.scalars(db.select(Shop)).all()) == []
    drawn = frontages(draw(app, tenant))
    assert len(drawn) == 300
    assert sum(1 for link in drawn.values() if link.find(f"{SVG}rect") is not None) == 300


# -- open now -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("utc", "expected"), [
    (datetime(2026, 3, 4, 1, 59, tzinfo=UTC), False),  # Wednesday 09:59 in Shanghai
    (datetime(2026, 3, 4, 2, 0, tzinfo=UTC), True),    # 10:00 opens
    (datetime(2026, 3, 4, 11, 59, tzinfo=UTC), True),  # 19:59
    (datetime(2026, 3, 4, 12, 0, tzinfo=UTC), False),  # 20:00 closes
    (datetime(2026, 3, 5, 4, 0, tzinfo=UTC), False),   # Thursday noon: closed all day
])
def test_open_now_follows_the_hours_in_shanghai(make_tenant, utc, expected):
    tenant = make_tenant(timezone="Asia/Shanghai")
    shop = Shop(opening_hours={**WEEK, "wed": "10:00-20:00", "thu": "closed"})
    assert is_open_now(shop, tenant, utc) is expected


def test_open_now_uses_the_tenants_own_time_zone(make_tenant):
    shop = Shop(opening_hours={**WEEK, "mon": "09:00-17:00"})
    moment = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 23:00 in Shanghai, 10:00 in New York
    assert is_open_now(shop, make_tenant(timezone="Asia/Shanghai"), moment) is False
    assert is_open_now(shop, make_tenant(timezone="America/New_York"), moment) is True


def test_open_until_midnight_overnight_and_unknown_hours(make_tenant):
    tenant = make_tenant()
    late = Shop(opening_hours={day: "18:00-24:00" for day in WEEK})
    assert is_open_now(late, tenant, datetime(2026, 3, 4, 15, 59, tzinfo=UTC)) is True  # 23:59
    assert is_open_now(late, tenant, datetime(2026, 3, 4, 16, 0, tzinfo=UTC)) is False  # 00:00
    overnight = Shop(opening_hours={**{day: "closed" for day in WEEK}, "fri": "20:00-02:00"})
    assert is_open_now(overnight, tenant, datetime(2026, 3, 6, 13, 0, tzinfo=UTC)) is True  # Fri 21:00
    assert is_open_now(overnight, tenant, datetime(2026, 3, 6, 17, 30, tzinfo=UTC)) is True  # Sat 01:30
    assert is_open_now(overnight, tenant, datetime(2026, 3, 6, 18, 30, tzinfo=UTC)) is False  # Sat 02:30
    assert is_open_now(Shop(opening_hours={}), tenant) is None
    assert is_open_now(Shop(opening_hours={day: "closed" for day in WEEK}), tenant) is None


# -- the console ----------------------------------------------------------------------------------------------------

def test_the_console_refuses_an_overlapping_frontage(app, dehua, make_shop, make_user, make_client):
    newcomer = make_shop(dehua, slug="newcomer", name_zh="新店")
    make_user("street-operator@example.com", role=Role.tenant_operator, tenant=dehua)
    browser = make_client()
    browser.login("street-operator@example.com", "correct-horse-42")
    url = f"/operator/{dehua.slug}/shops/{newcomer.id}/location"
    refused = browser.submit(url, {"street_number": "11", "street_side": "west", "map_x": "46", "map_width": "6"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "门面与织韵女装·德化街店（9 号，40–50 米）重叠" in html
    accepted = browser.submit(url, {"street_number": "11", "street_side": "west", "map_x": "50", "map_width": "6"})
    assert accepted.status_code == 303
    db.session.expire_all()
    with tenant_scope(dehua):
        assert db.session.get(Shop, newcomer.id).map_x == 50
