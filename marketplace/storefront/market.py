"""A market tenant's home: the directory by building, floor, zone and stall, one floor plan, and stall search."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.core.themes import render_themed
from marketplace.extensions import db
from marketplace.shops import floorplans
from marketplace.shops.models import Shop, ShopStatus


def market_home(tenant, shops):
    """Render the market home for ``shops`` (already loaded: no query here, whatever the search or floor).

    ``?stall=`` an exact stall number (case, full-width and separators ignored) of an occupied stall redirects to
    its shop; otherwise the stalls whose numbers contain it are listed (vacant ones say so). ``?floor=A-1`` picks
    the floor plan shown; the first floor with a plan by default.
    """
    locale = get_locale()
    floors = floorplans.market_floors(tenant.layout, shops, locale=locale)
    query = (request.args.get("stall") or "").strip()[:32]
    exact, matches = floorplans.find_stalls(floors, query) if query else (None, [])
    if exact is not None and exact.shop is not None:
        return redirect(url_for("tenant.shop", shop_slug=exact.shop.slug))
    drawable = [floor for floor in floors if floor.drawable]
    wanted = request.args.get("floor", "")
    selected = next((floor for floor in drawable if floor.key == wanted), drawable[0] if drawable else None)
    plan = floorplans.draw_floor(selected, locale=locale) if selected else None
    return render_themed("tenant/home.html", shops=shops, floors=floors, drawable=drawable, selected=selected,
                         plan=plan, stall_query=query, exact=exact, matches=matches)


def shop_floor(tenant, shop):
    """(the shop's floor, its plan with the shop's stall highlighted) for a market shop page; (None, None) when the
    shop has no floor in the layout. One query: the other active shops on the same floor."""
    if shop.floor is None or not shop.building:
        return None, None
    neighbours = db.session.scalars(select(Shop).options(selectinload(Shop.category)).where(
        Shop.building == shop.building, Shop.floor == shop.floor, Shop.status == ShopStatus.active)).all()
    locale = get_locale()
    for floor in floorplans.market_floors(tenant.layout, neighbours, locale=locale):
        if floor.building == shop.building and floor.level == shop.floor:
            here = next((stall for stall in floor.stalls if stall.shop is shop), None)
            zone = next((z for z in floor.zones if here is not None and z.code == here.zone), None)
            return ({"floor": floor, "zone": zone, "stall": here},
                    floorplans.draw_floor(floor, highlight=shop.stall or None, locale=locale) or None)
    return None, None
