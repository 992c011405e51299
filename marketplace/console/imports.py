"""Merchant console: spreadsheet import and export of a shop's products."""

from flask import Blueprint

blueprint = Blueprint("merchant_imports", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/import")
