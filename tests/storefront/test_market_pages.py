"""A market's home (directory, floor plans, stall search) and a stall's page, all without JavaScript."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET

import pytest

LAYOUT = {"buildings": [
    {"code": "A", "name": {"zh": "A 馆化肥馆", "en": "Hall A"}, "floors": [
        {"level": 1, "name": {"zh": "一层", "en": "Ground floor"}, "width_m": 40, "depth_m": 20, "zones": [
            {"code": "A1", "name": {"zh": "复合肥区", "en": "Compound"}}],
         "stalls": [{"number": "A-101", "x_m": 1, "y_m": 1, "width_m": 4, "depth_m": 4, "zone": "A1"},
                    {"number": "A-102", "x_m": 6, "y_m": 1, "width_m": 4, "depth_m": 4, "zone": "A1"}]},
        {"level": 2, "name": {"zh": "二层", "en": "First floor"}, "width_m": 40, "depth_m": 20, "zones": [
            {"code": "A2", "name": {"zh": "农药区", "en": "Pesticides"}}]}]}]}


@pytest.fixture
def market(make_tenant, make_shop):
    tenant = make_tenant(kind="market", theme="market", layout=LAYOUT)
    make_shop(tenant, slug="suifeng", name_zh="穗丰复合肥", building="A", floor=1, zone="A1", stall="A-101")
    make_shop(tenant, slug="huinong", name_zh="惠农植保", building="A", floor=2, zone="A2", stall="A-201",
              map_x=10, map_y=5, map_width=5, map_depth=4)
    return tenant


def _plans(html: str) -> list[ET.Element]:
    start = 0
    found = []
    while (start := html.find("<svg", start)) != -1:
        end = html.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(html[start:end]))
        start = end
    return found


def _stall_links(svg) -> dict[str, str]:
    return {e.get("data-stall"): e.get("href") for e in svg.iter() if e.get("data-stall")}


def test_the_home_lists_the_directory_and_shows_the_first_floor_plan(client, market):
    html = client.get(f"/t/{market.slug}/").get_data(as_text=True)
    for text in ("A 馆化肥馆", "一层", "二层", "复合肥区", "农药区", "穗丰复合肥", "惠农植保", "A-102", "空置"):
        assert text in html, text
    [plan] = _plans(html)
    assert _stall_links(plan) == {"A-101": f"/t/{market.slug}/s/suifeng/", "A-102": None}
    assert f'href="/t/{market.slug}/?floor=A-2#plan"' in html


def test_the_floor_switcher_shows_another_floor(client, market):
    html = client.get(f"/t/{market.slug}/?floor=A-2").get_data(as_text=True)
    [plan] = _plans(html)
    assert _stall_links(plan) == {"A-201": f"/t/{market.slug}/s/huinong/"}
    assert client.get(f"/t/{market.slug}/?floor=nonsense").status_code == 200  # falls back to the first floor


@pytest.mark.parametrize("typed", ["a-101", "Ａ１０１", " A101 "])
def test_an_exact_stall_number_goes_to_its_shop(client, market, typed):
    response = client.get(f"/t/{market.slug}/", query_string={"stall": typed})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/t/{market.slug}/s/suifeng/")


def test_a_partial_stall_number_lists_the_matching_stalls(client, market):
    response = client.get(f"/t/{market.slug}/", query_string={"stall": "a-1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    results = html[html.index('class="stall-results"'):html.index("</section>", html.index('class="stall-results"'))]
    assert "A-101" in results and "A-102" in results and "A-201" not in results
    assert f'href="/t/{market.slug}/s/suifeng/"' in results and "空置" in results


def test_a_vacant_stall_says_so_and_an_unknown_one_finds_nothing(client, market):
    html = client.get(f"/t/{market.slug}/", query_string={"stall": "A-102"}).get_data(as_text=True)
    assert "摊位 A-102 目前空置" in html
    html = client.get(f"/t/{market.slug}/", query_string={"stall": "Z-9"}).get_data(as_text=True)
    assert "没有摊位号含“Z-9”的摊位" in html


def test_a_stall_page_shows_its_place_on_its_floor_plan(client, market):
    html = client.get(f"/t/{market.slug}/s/huinong/").get_data(as_text=True)
    assert "A 馆化肥馆 二层 农药区" in html and "A-201" in html
    [plan] = _plans(html)
    [here] = [e for e in plan.iter() if e.get("aria-current") == "location"]
    assert here.get("data-stall") == "A-201"


def test_a_market_without_a_layout_still_lists_its_stalls(client, make_tenant, make_shop):
    tenant = make_tenant(kind="market", theme="market")
    make_shop(tenant, slug="plain", name_zh="无布局的店", building="B", floor=1, zone="B1", stall="B1-001")
    make_shop(tenant, slug="nowhere", name_zh="未定位置的店")
    html = client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    assert "无布局的店" in html and "未定位置的店" in html and "stall-table" in html and "<svg" not in html
    assert "<svg" not in client.get(f"/t/{tenant.slug}/s/plain/").get_data(as_text=True)


def test_the_market_home_takes_a_fixed_number_of_queries(client, make_tenant, make_shop, count_queries):
    tenant = make_tenant(kind="market", theme="market", layout=LAYOUT)

    url = f"/t/{tenant.slug}/?stall=A"  # (read here: the test's own tenant reloads after each commit)

    def load():
        with count_queries() as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    make_shop(tenant, building="A", floor=1, zone="A1", stall="A-101")
    load()  # the first look-up fills the shared cache (tenant, settings): measure with it warm
    small = load()
    for n in range(10):
        make_shop(tenant, building="A", floor=1 + n % 2, zone="A1", stall=f"A-3{n:02d}", map_x=12 + n * 2, map_y=10)
    assert load() == small


def test_a_market_home_with_500_stalls_stays_under_the_size_budget(client, make_tenant, make_shop):
    slots = [{"number": f"A-{n:03d}", "x_m": (n % 25) * 4, "y_m": (n // 25) * 4, "width_m": 3.5, "depth_m": 3.5}
             for n in range(500)]
    layout = {"buildings": [{"code": "A", "name": "A 馆", "floors": [
        {"level": 1, "width_m": 100, "depth_m": 80, "zones": [], "stalls": slots}]}]}
    tenant = make_tenant(kind="market", theme="market", layout=layout)
    for n in range(0, 500, 25):
        make_shop(tenant, building="A", floor=1, stall=f"A-{n:03d}")
    html = client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    [plan] = _plans(html)
    assert len(_stall_links(plan)) == 500
    assert len(gzip.compress(html.encode())) < 150 * 1024
