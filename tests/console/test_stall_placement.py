"""The operator's location form refuses a stall that would overlap another on the floor plan."""

from __future__ import annotations

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
