"""The city portal: each live street and market card carries a small map drawn from its layout and shops, in a
fixed number of queries; a signed-in resident sees their latest orders and the pickups waiting for them (with
their codes) above the cards, and nobody else sees them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from marketplace.delivery import pickup, services
from marketplace.delivery.providers import ShipmentStatus
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from tests.delivery.test_pages import browser, place, ready_at, text, world  # noqa: F401 - world: the fixture
from tests.shops.test_street_maps import DEHUA, SVG
from tests.storefront.test_market_pages import LAYOUT as MARKET_LAYOUT


def page_of(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def card_of(html: str, name: str) -> str | None:
    """The portal card of the tenant called ``name``; None when there is no such card."""
    for card in html.split('<li class="card tenant-card"')[1:]:
        card = card.split("</li>", 1)[0]
        if f"<h2>{name}</h2>" in card:
            return card
    return None


def thumbnail(card: str) -> ET.Element | None:
    found = re.search(r"<svg .*?</svg>", card, re.S)
    return ET.fromstring(found.group(0)) if found else None


def blocks(svg: ET.Element, css: str) -> int:
    """How many blocks a thumbnail path draws: one subpath (``M…z``) each."""
    paths = [p for p in svg.iter(f"{SVG}path") if p.get("class") == css]
    return sum(p.get("d").count("M") for p in paths)


@pytest.fixture
def city(make_tenant, make_shop):
    """A street with three placed shops (and one unplaced, one suspended), a market with two stalls taken on its
    first floor (one declared slot left vacant) and one shop upstairs, a street without a layout, and a market
    being prepared."""
    street = make_tenant(name_zh="德化步行街", kind="street", layout=DEHUA)
    for number, side, at in (("27", "west", 120), ("73", "west", 330), ("40", "east", 200)):
        make_shop(street, street_number=number, street_side=side, map_x=at, map_width=6)
    make_shop(street, name_zh="还没定位的店")
    make_shop(street, street_number="99", street_side="east", map_x=400, status="suspended")
    market = make_tenant(name_zh="农资市场", kind="market", layout=MARKET_LAYOUT)
    make_shop(market, building="A", floor=1, zone="A1", stall="A-101")  # in its declared slot
    make_shop(market, building="A", floor=1, zone="A1", stall="A-150", map_x=20, map_y=10, map_width=3,
              map_depth=3)  # placed on its own
    make_shop(market, building="A", floor=2, zone="A2", stall="A-201", map_x=10, map_y=5)  # upstairs: not drawn
    bare = make_tenant(name_zh="没有地图的街", kind="street")
    make_shop(bare)
    make_tenant(name_zh="筹备中的市场", kind="market", status="draft", layout=MARKET_LAYOUT)
    return street, market, bare


def test_each_live_card_has_a_small_map_with_a_block_per_placed_shop(client, city):
    html = page_of(client)
    street_svg = thumbnail(card_of(html, "德化步行街"))
    assert blocks(street_svg, "thumb-shops") == 3  # the unplaced and the suspended shop are not drawn
    market_svg = thumbnail(card_of(html, "农资市场"))
    assert blocks(market_svg, "thumb-shops") == 2 and blocks(market_svg, "thumb-vacant") == 1
    assert thumbnail(card_of(html, "没有地图的街")) is None  # no layout: the card has words only
    assert card_of(html, "筹备中的市场") is None
    for svg in (street_svg, market_svg):
        assert svg.get("aria-hidden") == "true"  # the card's own words name the place
        assert not list(svg.iter(f"{SVG}text")) and not list(svg.iter(f"{SVG}a"))
        assert len(ET.tostring(svg)) < 2_000


def test_a_street_of_hundreds_of_shops_draws_a_thumbnail_of_a_few_kb(client, make_tenant, make_shop):
    street = make_tenant(name_zh="长街", kind="street", layout={**DEHUA, "length_m": 2000})
    for n in range(300):
        make_shop(street, street_number=str(n), street_side=("west", "east")[n % 2], map_x=(n // 2) * 12,
                  map_width=11.5)
    svg = thumbnail(card_of(page_of(client), "长街"))
    assert blocks(svg, "thumb-shops") == 300
    assert len(ET.tostring(svg)) < 12_000


def test_the_portal_takes_the_same_queries_however_many_tenants_and_shops(client, city, make_tenant, make_shop,
                                                                           count_queries):
    def load() -> int:
        with count_queries() as queries:
            page_of(client)
        return len(queries)

    few = load()
    assert few <= 2  # the tenants with their counts, and every placed shop: nothing else for a visitor
    for n in range(3):
        street = make_tenant(kind="street", layout=DEHUA)
        market = make_tenant(kind="market", layout=MARKET_LAYOUT)
        for m in range(4):
            make_shop(street, street_number=str(m), street_side="west", map_x=10 * m + n)
            make_shop(market, building="A", floor=1, zone="A1", stall=f"A-{300 + m}", map_x=2 + 4 * m, map_y=8)
    assert load() == few


# -- the resident's own orders and pickups ------------------------------------------------------------------------

def test_a_resident_sees_their_latest_orders_and_pickups_with_their_codes(world, make_client):  # noqa: F811
    oldest, _shipment = place(world, "y", "pickup", code="shop")
    preparing, preparing_shipment = place(world, "x", "pickup", code="shop")
    ready, _shipment, ready_code = ready_at(world, "x")
    elsewhere, _shipment = place(world, "z", "pickup")
    preparing_code = pickup.code_for(preparing_shipment)
    resident = browser(make_client, "buyer")
    response = resident.get("/")
    html = text(response)
    assert response.headers["Cache-Control"] == "private, no-store" and "ETag" not in response.headers
    mine = html.split('class="my-recent"', 1)[1].split("</section>", 1)[0]
    assert html.index('class="my-recent"') < html.index('class="tenant-cards"')
    # The three latest orders, linking to their place on the order page; the fourth is a link away.
    recent = mine.split('class="card my-recent-orders"', 1)[1]
    for order in (elsewhere, ready, preparing):
        assert f'id="recent-{order.number}"' in recent
        assert f"#order-{order.number}" in recent
    assert oldest.number not in recent
    elsewhere_row = recent.split(f'id="recent-{elsewhere.number}"', 1)[1].split("</div>", 1)[0]
    assert "银基商贸城" in elsewhere_row and "服装批发" in elsewhere_row and "已接单" in elsewhere_row
    assert "¥399.00" in elsewhere_row
    assert 'href="/account/orders"' in mine
    # Every pickup still to collect, ready first, with its code as the order page shows it and where to go.
    pickups = mine.split('class="my-pickups"', 1)[1].split("</ul>", 1)[0]
    ready_item = pickups.split(f'id="pickup-{ready.number}"', 1)[1].split("</li>", 1)[0]
    assert "备好可取" in ready_item and f"{ready_code[:4]} {ready_code[4:]}" in ready_item
    assert "德化街联合自提点" in ready_item  # the shared counter it waits at
    preparing_item = pickups.split(f'id="pickup-{preparing.number}"', 1)[1].split("</li>", 1)[0]
    assert "备货中" in preparing_item and f"{preparing_code[:4]} {preparing_code[4:]}" in preparing_item
    assert "鲜果坊" in preparing_item
    assert pickups.index(f"pickup-{ready.number}") < pickups.index(f"pickup-{preparing.number}")
    assert f'id="pickup-{oldest.number}"' in pickups and f'id="pickup-{elsewhere.number}"' in pickups

    # Collected, it is no longer waiting.
    with tenant_scope(world.a):
        pickup.redeem(ready_code, actor_id=None)
        db.session.commit()
    html = text(resident.get("/"))
    assert f'id="pickup-{ready.number}"' not in html and ready_code[:4] + " " + ready_code[4:] not in html


def test_nobody_else_sees_a_residents_orders_or_codes(world, make_client, make_user):  # noqa: F811
    ready, _shipment, code = ready_at(world, "x")
    make_user("neighbour@shangdu.example")
    shown = f"{code[:4]} {code[4:]}"
    for who in ("neighbour", None):
        response = browser(make_client, who).get("/")
        html = text(response)
        assert response.status_code == 200
        assert 'class="my-recent"' not in html and ready.number not in html and shown not in html, who
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_a_visitor_costs_no_query_for_the_resident_part(client, make_tenant, count_queries):
    make_tenant(name_zh="德化步行街", layout=DEHUA)
    with count_queries() as queries:
        page_of(client)
    assert not [q for q in queries if re.search(r"\b(orders|order_groups|shipments|users)\b", q)]


def test_the_residents_part_takes_the_same_queries_however_many_orders(world, make_client,  # noqa: F811
                                                                         count_queries):
    place(world, "x", "pickup", code="shop")
    resident = browser(make_client, "buyer")

    def load() -> int:
        with count_queries() as queries:
            assert 'class="my-pickups"' in text(resident.get("/"))
        return len(queries)

    few = load()
    for key in ("x", "y", "z", "y"):
        place(world, key, "pickup")
    ready_at(world, "x")
    assert load() == few


def test_a_preparing_pickup_becomes_ready_on_the_portal(world, make_client):  # noqa: F811
    order, shipment = place(world, "x", "pickup", code="shop")
    resident = browser(make_client, "buyer")
    assert "备货中" in text(resident.get("/")).split(f'id="pickup-{order.number}"', 1)[1].split("</li>", 1)[0]
    with tenant_scope(world.a):
        services.advance(shipment, ShipmentStatus.ready_for_pickup)
        db.session.commit()
    assert "备好可取" in text(resident.get("/")).split(f'id="pickup-{order.number}"', 1)[1].split("</li>", 1)[0]
