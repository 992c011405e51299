"""The shop's public licence page (亮照, E-Commerce Law Art. 15), and the console's approval and licence notes."""

from __future__ import annotations

from flask import Blueprint, abort

from marketplace.core.themes import render_themed
from marketplace.shops import services as shops
from marketplace.trust.publishing import approval_notice, licence_notes, licence_notice

public_blueprint = Blueprint("shop_licence", __name__, url_prefix="/t/<slug:tenant_slug>")


@public_blueprint.route("/s/<slug:shop_slug>/licence")
def licence(shop_slug: str):
    """Who runs the shop: legal name, registration number, address, platform approval, category licences."""
    shop = shops.shop_by_slug(shop_slug)
    if shop is None or not shop.is_active:
        abort(404)
    return render_themed("tenant/licence.html", shop=shop, notice=licence_notice(shop))


def register(app) -> None:
    from marketplace.storefront.views import open_only

    open_only(public_blueprint)  # like the shop page: a draft or suspended tenant's pages are closed
    app.register_blueprint(public_blueprint)
    app.jinja_env.globals.update(merchant_approval_notice=approval_notice, product_licence_notes=licence_notes)
