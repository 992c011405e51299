"""A street's home: the map on top, the same shops as a list, filters without JavaScript; a shop's directions."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from marketplace.catalog.models import Category
from marketplace.extensions import db
from marketplace.shops import maps
from marketplace.tenancy.context import tenant_scope
from tests.shops.test_street_maps import DEHUA, SVG

ALWAYS = {day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NEVER = {day: "closed" for day in ALWAYS}


def html_of(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def svg_of(html: str) -> ET.Element:
    return ET.fromstring(re.search(r'<svg xmlns="http://www.w3.org/2000/svg".*?</svg>', html, re.S).group(0))


def listed(html: str) -> list[str]:
    block = html.split('class="shop-list street-list"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'href="/t/[^/]+/s/([^/]+)/"', block)


@pytest.fixture
def street(make_tenant, make_shop):
    tenant = make_tenant(slug="map-street", kind="street", theme="street", layout=DEHUA)
    with tenant_scope(tenant):
        tea, food = Category(slug="tea", name_zh="茶叶茶具"), Category(slug="huimian", name_zh="烩面")
        db.session.add_all([tea, food])
        db.session.commit()
    make_shop(tenant, slug="tea-shop", name_zh="嵩茗茶庄", category_id=tea.id, street_number="73",
              street_side="west", map_x=330, map_width=6, opening_hours=ALWAYS)
    # Open only on the day after tomorrow in Shanghai: closed whenever the test runs, yet its hours are known.
    later = list(ALWAYS)[(datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)).weekday()]
    make_shop(tenant, slug="noodles", name_zh="德福烩面馆", category_id=food.id, street_number="27",
              street_side="west", map_x=120, map_width=8, opening_hours=NEVER | {later: "10:00-20:00"})
    make_shop(tenant, slug="unplaced", name_zh="还没定位的店", category_id=food.id, opening_hours=ALWAYS)
    return tenant


def test_the_home_shows_the_map_then_the_same_shops_as_a_list(client, street):
    html = html_of(client.get(f"/t/{street.slug}/"))
    assert html.index("<svg") < html.index('class="shop-list street-list"')
    drawn = [a.get("data-shop") for a in svg_of(html).iter(f"{SVG}a")]
    assert sorted(drawn) == ["noodles", "tea-shop"]  # an unplaced shop is listed, not drawn
    assert sorted(listed(html)) == ["noodles", "tea-shop", "unplaced"]
    assert "营业中" in html and "休息中" in html and "73 号（西侧）" in html
    assert 'name="open" value="1">' in html  # "open now" unticked by default


def test_filters_work_without_javascript_greying_the_map_and_shortening_the_list(client, street):
    html = html_of(client.get(f"/t/{street.slug}/?category=huimian"))
    assert sorted(listed(html)) == ["noodles", "unplaced"]
    links = {a.get("data-shop"): a for a in svg_of(html).iter(f"{SVG}a")}
    assert sorted(links) == ["noodles", "tea-shop"]  # the street stays whole
    assert "dimmed" in links["tea-shop"].get("class") and "dimmed" not in links["noodles"].get("class")
    assert '<option value="huimian" selected>' in html

    html = html_of(client.get(f"/t/{street.slug}/?open=1"))
    assert sorted(listed(html)) == ["tea-shop", "unplaced"]
    assert 'name="open" value="1" checked>' in html
    html = html_of(client.get(f"/t/{street.slug}/?open=1&category=huimian"))
    assert listed(html) == ["unplaced"]
    html = html_of(client.get(f"/t/{street.slug}/?category=no-such-thing"))  # a stale link shows everything
    assert len(listed(html)) == 3


def test_the_street_home_takes_a_fixed_number_of_queries(client, street, make_shop, count_queries):
    url = f"/t/{street.slug}/?open=1&category=tea"  # (read here: the test's own tenant reloads after each commit)

    def load():
        with count_queries() as queries:
            html_of(client.get(url))
        return len(queries)

    load()  # the first look-up fills the shared cache (tenant, settings): measure with it warm
    small = load()
    for n in range(20):
        make_shop(street, street_number=str(101 + 2 * n), street_side="west", map_x=400 + n * 5, map_width=5,
                  opening_hours=ALWAYS)
    assert load() == small


def test_a_shop_page_shows_its_place_and_how_to_get_there(client, street):
    html = html_of(client.get(f"/t/{street.slug}/s/tea-shop/"))
    # 333 m: nearest is the Yuanling corner rest plaza at 255 m; the counter at 270 m is back north.
    assert "德化街 73 号，西侧；从苑陵街口休闲广场向南约 80 米；共享取货点在德化街商户联合自提点（东侧），从本店向北约 65 米。" in html
    root = svg_of(html)
    highlighted = [a.get("data-shop") for a in root.iter(f"{SVG}a") if "highlight" in a.get("class")]
    assert highlighted == ["tea-shop"]
    view_x, _y, view_width, _h = map(float, root.get("viewBox").split())
    assert view_x > 0 and view_width < 520 * maps.SCALE  # a small map around the shop
    unplaced = html_of(client.get(f"/t/{street.slug}/s/unplaced/"))
    assert "怎么走" not in unplaced and "<svg" not in unplaced.split('class="shop"', 1)[1].split("本店商品")[0]


def test_directions_read_from_the_nearest_cross_street(make_tenant, make_shop, app):
    tenant = make_tenant(kind="street", theme="street", layout=DEHUA)
    shop = make_shop(tenant, street_number="9", street_side="west", map_x=40, map_width=10)
    with app.test_request_context():
        text = maps.directions(tenant, shop, "zh_CN")
    assert text.startswith("德化街 9 号，西侧；从二七广场向南约 45 米；")



def _badge(tenant, shop_slug: str):
    from marketplace.shops.models import Shop
    from marketplace.trust import badges

    with tenant_scope(tenant):
        shop = db.session.scalar(db.select(Shop).where(Shop.slug == shop_slug))
        badge = badges.issue_badge(shop, actor_id=None)
        db.session.commit()
        return badge


def test_each_frontage_and_list_entry_carries_its_badge_state_in_a_fixed_number_of_queries(
        client, street, make_shop, count_queries):
    from marketplace.trust import badges

    _badge(street, "tea-shop")
    revoked = _badge(street, "noodles")
    with tenant_scope(street):
        badges.revoke_badge(revoked, "冒用执照", actor_id=None)
        db.session.commit()
    html = html_of(client.get(f"/t/{street.slug}/"))
    frontages = {a.get("data-shop"): a for a in svg_of(html).iter(f"{SVG}a")}
    assert "badge-valid" in frontages["tea-shop"].get("class")
    assert "badge-revoked" in frontages["noodles"].get("class")
    assert "电子标识：有效" in frontages["tea-shop"].find(f"{SVG}title").text
    marks = {slug: "".join(a.find(f"{SVG}g").itertext()) for slug, a in frontages.items()}
    assert marks == {"tea-shop": "✓", "noodles": "✕"}
    assert "电子标识：有效" in html and "电子标识：已撤销" in html
    unplaced = html.split('href="/t/map-street/s/unplaced/"', 1)[1].split("</li>", 1)[0]
    assert "电子标识" not in unplaced  # no badge, nothing claimed

    def load():
        with count_queries() as queries:
            html_of(client.get(f"/t/{street.slug}/"))
        return len(queries)

    small = load()
    for n in range(10):
        shop = make_shop(street, street_number=str(101 + 2 * n), street_side="west", map_x=400 + n * 5, map_width=5,
                         opening_hours=ALWAYS)
        _badge(street, shop.slug)
    html_of(client.get(f"/t/{street.slug}/"))  # reloads what the test's commits expired in the shared session
    assert load() == small
