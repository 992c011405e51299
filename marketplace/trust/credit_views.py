"""The credit score on the pages: the shop page's line, and the merchant's own breakdown."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required

from marketplace.accounts.authz import Permission, require
from marketplace.shops import services as shops
from marketplace.trust.credit import WINDOW, shop_credit

merchant_blueprint = Blueprint("merchant_credit", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>")


@merchant_blueprint.route("/credit")
@login_required
def breakdown(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.view_shop, shop)
    return render_template("console/credit/breakdown.html", shop=shop, credit=shop_credit(shop),
                           window_days=WINDOW.days)


def register(app) -> None:
    app.register_blueprint(merchant_blueprint)
    app.add_template_global(shop_credit, "shop_credit")
