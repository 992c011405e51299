"""The operator's location form refuses a stall that would overlap another on the floor plan."""

from __future__ import annotations

import re

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope


def test_an_overlapping_placement_is_refused(world, as_role, make_shop, make_user):
    world.b.layout = {"buildings": [{"code": "A", "name": "A 馆", "floors": [
        {"level": 1, "width_m": 60, "depth_m": 40, "zones": [{"code": "A1", "name": "甲区"}],
         "stalls": [{"number": "A1-050", "x_m": 30, "y_m": 30, "width_m": 5, "depth_m": 5, "zone": "A1"}]}]}]}
    db.session.commit()
    make_shop(world.b, slug="neighbour", building="A", floor=1, zone="A1", stall="A1-001", map_x=10, map_y=10,
              map_width=6, map_depth=4)
    make_user("market-operator@example.com", role=Role.tenant_operator, tenant=world.b)
    browser = as_role("anonymous")
    browser.login("market-operator@example.com", "correct-horse-42")
    url = f"/operator/{world.b.slug}/shops/{world.z.id}/location"
    good = {"building": "A", "floor": "1", "zone": "A1", "stall": "A1-002", "map_x": "16", "map_y": "10",
            "map_width": "4", "map_depth": "4"}
    for changes, message in [({"map_x": "13"}, "这个位置与摊位 A1-001 重叠"),
                             ({"map_x": "28", "map_y": "28"}, "这个位置与摊位 A1-050 重叠"),
                             ({"map_x": "58"}, "摊位超出了这一层的范围（60 × 40 米）")]:
        response = browser.submit(url, {**good, **changes})
        assert response.status_code == 400 and message in response.get_data(as_text=True), changes
    assert browser.submit(url, good).status_code == 303  # touching the neighbour's edge is fine
    # Taking the declared slot A1-050 puts the stall there, whatever coordinates were typed.
    assert browser.submit(url, {**good, "stall": "A1-050", "map_x": "31"}).status_code == 303
    db.session.expire_all()
    with tenant_scope(world.b):
        assert db.session.get(Shop, world.z.id).stall == "A1-050"


def test_the_operator_places_a_shop_by_clicking_a_free_stall_on_the_drawn_plan(world, as_role, make_shop,
                                                                              make_user):
    world.b.layout = {"buildings": [{"code": "A", "name": "A 馆", "floors": [
        {"level": 1, "width_m": 60, "depth_m": 40, "zones": [{"code": "A1", "name": "甲区"}],
         "stalls": [{"number": "A1-050", "x_m": 30, "y_m": 30, "width_m": 5, "depth_m": 4, "zone": "A1"}]},
        {"level": 2, "width_m": 30, "depth_m": 20, "zones": [{"code": "A2", "name": "乙区"}],
         "stalls": [{"number": "A2-001", "x_m": 2, "y_m": 2, "width_m": 4, "depth_m": 4, "zone": "A2"}]}]}]}
    db.session.commit()
    make_shop(world.b, slug="neighbour", building="A", floor=1, zone="A1", stall="A1-001", map_x=10, map_y=10)
    make_user("market-operator@example.com", role=Role.tenant_operator, tenant=world.b)
    browser = as_role("anonymous")
    browser.login("market-operator@example.com", "correct-horse-42")
    url = f"/operator/{world.b.slug}/shops/{world.z.id}/location"

    page = browser.get(url).get_data(as_text=True)
    # The first floor is drawn: the free stall links back here with the slot, the neighbour to its own page.
    slot_link = f'href="{url}?plan=A:1&amp;stall=A1-050"'
    assert slot_link in page
    neighbour = db.session.scalar(db.select(Shop.id).where(Shop.slug == "neighbour").execution_options(
        all_tenants=True))
    assert f'href="/operator/{world.b.slug}/shops/{neighbour}/location"' in page
    assert f'href="{url}?plan=A:2"' in page  # the other floor, one click away
    assert "A2-001" not in page

    # Clicking the free stall fills the form with it; saving puts the shop there.
    filled = browser.get(f"{url}?plan=A:1&stall=A1-050").get_data(as_text=True)
    for name, value in (("floor", "1"), ("zone", "A1"), ("stall", "A1-050"), ("map_x", "30"), ("map_y", "30"),
                        ("map_width", "5"), ("map_depth", "4")):
        assert re.search(rf'<input[^>]*name="{name}"[^>]*value="{value}"', filled), name
    assert 'class="fp-stall is-vacant is-here"' in filled
    form = {"building": "A", "floor": "1", "zone": "A1", "stall": "A1-050", "map_x": "30", "map_y": "30",
            "map_width": "5", "map_depth": "4"}
    assert browser.submit(f"{url}?plan=A:1&stall=A1-050", form).status_code == 303
    db.session.expire_all()
    with tenant_scope(world.b):
        shop = db.session.get(Shop, world.z.id)
        assert (shop.building, shop.floor, shop.zone, shop.stall) == ("A", 1, "A1", "A1-050")
    # Now occupied: no longer offered as free, and drawn as this shop.
    page = browser.get(url).get_data(as_text=True)
    assert slot_link not in page and 'class="fp-stall is-occupied is-here"' in page

    # The second floor on request; a stall number that is not free there fills nothing in.
    second = browser.get(f"{url}?plan=A:2&stall=A1-001").get_data(as_text=True)
    assert "A2-001" in second and 'value="A1-001"' not in second


def test_the_drawn_plan_takes_a_fixed_number_of_queries(world, as_role, make_shop, make_user, make_category,
                                                        count_queries):
    world.b.layout = {"buildings": [{"code": "A", "name": "A 馆", "floors": [
        {"level": 1, "width_m": 200, "depth_m": 40, "zones": [{"code": "A1", "name": "甲区"}]}]}]}
    db.session.commit()
    make_user("market-operator@example.com", role=Role.tenant_operator, tenant=world.b)
    browser = as_role("anonymous")
    browser.login("market-operator@example.com", "correct-horse-42")
    url = f"/operator/{world.b.slug}/shops/{world.z.id}/location"

    def stalls(first: int, count: int):
        for n in range(first, first + count):
            category = make_category(world.b, slug=f"c{n}", name_zh=f"类{n}")
            make_shop(world.b, slug=f"s{n}", building="A", floor=1, zone="A1", stall=f"A1-{n:03d}", map_x=n * 6,
                      map_y=2, category_id=category.id)

    def load() -> int:
        browser.get(url)  # the test's commits expired what the shared session holds: reload it first
        with count_queries() as queries:
            assert browser.get(url).status_code == 200
        return len(queries)

    stalls(1, 3)
    few = load()
    stalls(4, 12)
    assert load() == few
