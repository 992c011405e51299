"""Tenant resolution for every request whose URL names a tenant (``/t/<slug>/…``)."""

from __future__ import annotations

from flask import abort, g, request
from werkzeug.routing import BaseConverter

from marketplace.core.db import reset_write_intent, set_write_intent
from marketplace.tenancy.cache import tenant_by_slug
from marketplace.tenancy.context import activate
from marketplace.tenancy.manifests import SLUG

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class SlugConverter(BaseConverter):
    """Tenant and shop slugs in URLs: anything else is a 404 before any query."""

    regex = SLUG.pattern


def install_resolution(app) -> None:
    app.url_map.converters["slug"] = SlugConverter
    @app.url_value_preprocessor
    def _start_request(endpoint, values):
        # First, before anything reads: requests that change data open a write transaction (SQLite).
        if request.method in UNSAFE_METHODS:
            g.write_intent_token = set_write_intent(True)
        activate(None)
        if values and "tenant_slug" in values:
            slug = values.pop("tenant_slug")
            tenant = tenant_by_slug(slug)  # from the shared cache: no query on most requests
            if tenant is None:
                abort(404)
            activate(tenant)

    @app.url_defaults
    def _inject_tenant(endpoint, values):
        if "tenant_slug" not in values and g.get("tenant_slug") and app.url_map.is_endpoint_expecting(
            endpoint, "tenant_slug"
        ):
            values["tenant_slug"] = g.tenant_slug

    @app.teardown_request
    def _end_request(_exc):
        token = g.pop("write_intent_token", None)
        if token is not None:
            reset_write_intent(token)
