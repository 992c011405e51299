"""Street tenants' pages: the home as a map of the street with its list and filters, and a shop's place on it.

The filters are a plain GET form (``?category=<slug>&open=1``), so they work without JavaScript; a filtered-out
shop is greyed on the map (the street stays whole and walkable) and left out of the list.
"""

from __future__ import annotations

from flask import request
from flask_babel import get_locale
from markupsafe import Markup

from marketplace.core.themes import render_themed
from marketplace.shops import maps
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.models import Tenant
from marketplace.trust import badges

#: The shop page's small map shows this many metres of street either side of the shop.
SHOP_MAP_WINDOW_M = 80


def street_home(tenant: Tenant, found: list[Shop]) -> str:
    locale = str(get_locale() or "zh_CN")
    view = maps.street_view(tenant, found, category=request.args.get("category", "", type=str)[:63],
                            open_only=request.args.get("open") == "1", locale=locale,
                            badges=badges.badge_states(found))
    return render_themed("tenant/home.html", shops=found, street=view,
                         street_map=maps.street_map(tenant, view.entries, locale=locale))


def shop_street(tenant: Tenant, shop: Shop) -> tuple[str, Markup]:
    """The shop page's directions sentence and small map (this shop highlighted among its neighbours)."""
    locale = str(get_locale() or "zh_CN")
    if maps.frontage(shop) is None:
        return "", Markup("")
    return (maps.directions(tenant, shop, locale),
            maps.street_map(tenant, shops.shops_of_current_tenant(), highlight=shop, locale=locale,
                            id_prefix="shop-map", window_m=SHOP_MAP_WINDOW_M))
