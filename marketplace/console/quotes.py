"""Merchant console: requests for quotation — answer with a price valid until a date."""

from flask import Blueprint

blueprint = Blueprint("merchant_quotes", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/quotes")
