"""Tenants on their own host names: ``<slug>.<platform domain>`` or a domain listed in the manifest.

Routing is by path (``/t/<slug>/…``). For a request whose Host names a tenant, this middleware puts
``/t/<slug>`` in front of the path before Flask routes it, and ``MarketplaceFlask.url_for`` leaves it out
of the links it builds, so the same views serve both forms.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from marketplace.core.app import HOST_TENANT_KEY
from marketplace.tenancy.manifests import DOMAIN, SLUG

#: Paths that stay platform-wide on every host (accounts, consoles, API, assets, health).
PLATFORM_PATHS = ("/account/", "/merchant/", "/operator/", "/api/", "/healthz", "/static/", "/themes/", "/verify/",
                  "/media/", "/lang")  # "/account" and the like, without the slash, count too
log = logging.getLogger(__name__)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


class TenantHostMiddleware:
    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        slug = self.slug_for_host(environ.get("HTTP_HOST", ""))
        if slug:
            environ[HOST_TENANT_KEY] = slug
            own = f"/t/{slug}"
            platform_path = path.startswith(PLATFORM_PATHS) or path + "/" in PLATFORM_PATHS
            # A path that already carries this tenant's prefix (an old link) is served as it is.
            if not platform_path and path != own and not path.startswith(own + "/"):
                environ["PATH_INFO"] = own + path
        return self.wsgi_app(environ, start_response)

    def slug_for_host(self, host: str) -> str | None:
        host = host.strip().lower()
        if host.startswith("["):
            host = host[: host.find("]") + 1]
        elif ":" in host:
            host = host.rsplit(":", 1)[0]
        platform = self.app.config["MARKETPLACE"]["PLATFORM_DOMAIN"].lower()
        if not host or host in LOCAL_HOSTS or host in (platform, f"www.{platform}"):
            return None
        if host.endswith("." + platform):
            label = host[: -len(platform) - 1]
            return label if SLUG.fullmatch(label) else None
        return self._custom_domain(host) if DOMAIN.fullmatch(host) else None

    def _custom_domain(self, host: str) -> str | None:
        from marketplace.tenancy.cache import slug_for_domain

        try:
            with self.app.app_context():  # the shared cache, so a new or removed domain counts in every worker
                return slug_for_domain(host)
        except SQLAlchemyError:  # the database is down: serve the platform, whose /healthz will say so
            log.exception("could not look up the tenant for host %s", host)
            return None
