"""Operator console: the tenant's category tree and the licence verification queue."""

from flask import Blueprint

blueprint = Blueprint("operator_catalog", __name__, url_prefix="/operator/<slug:tenant_slug>")
