"""Merchant console: a shop's products — list, create and edit, variants, tiers, images, stock, publishing."""

from flask import Blueprint

blueprint = Blueprint("merchant_products", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/products")
