"""Resident-facing catalog pages: product, category, and a shop's products; requests for quotation."""

from flask import Blueprint

blueprint = Blueprint("catalog", __name__, url_prefix="/t/<slug:tenant_slug>")
