"""Tenants on their own host names: ``<slug>.<platform domain>`` or a domain listed in the manifest.

Routing is by path (``/t/<slug>/…``). For a request whose Host names a tenant, this middleware puts
``/t/<slug>`` in front of the path before Flask routes it, and ``MarketplaceFlask.url_for`` leaves it out
of the links it builds, so the same views serve both forms.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from marketplace.core.app import HOST_TENANT_KEY

#: Paths that stay platform-wide on every host (accounts, consoles, API, assets, health).
PLATFORM_PATHS = ("/account/", "/merchant/", "/operator/", "/api/", "/healthz", "/static/", "/themes/", "/verify/",
                  "/lang")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
DOMAIN_CACHE_SECONDS = 30


class TenantHostMiddleware:
    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._domains: dict[str, tuple[float, str | None]] = {}

    def __call__(self, environ, start_response):
        slug = self.slug_for_host(environ.get("HTTP_HOST", ""))
        path = environ.get("PATH_INFO", "") or "/"
        if slug and not path.startswith(PLATFORM_PATHS) and path != "/account":
            own = f"/t/{slug}"
            # ``request.path`` holds the prefixed path, so "next" links built from it (login, language)
            # come back with the prefix: serve those too rather than doubling it.
            if path != own and not path.startswith(own + "/"):
                environ["PATH_INFO"] = own + path
            environ[HOST_TENANT_KEY] = slug
        return self.wsgi_app(environ, start_response)

    def slug_for_host(self, host: str) -> str | None:
        host = host.strip().lower()
        if host.startswith("["):
            host = host[: host.find("]") + 1]
        elif ":" in host:
            host = host.rsplit(":", 1)[0]
        platform = self.app.config["MARKETPLACE"]["PLATFORM_DOMAIN"].lower()
        if not host or host in LOCAL_HOSTS or host == platform:
            return None
        if host.endswith("." + platform):
            label = host[: -len(platform) - 1]
            return label if label and "." not in label else None
        return self._custom_domain(host)

    def _custom_domain(self, host: str) -> str | None:
        cached = self._domains.get(host)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        from marketplace.extensions import db
        from marketplace.tenancy.models import Tenant, TenantDomain

        with self.app.app_context():
            slug = db.session.scalar(select(Tenant.slug).join(TenantDomain).where(TenantDomain.domain == host))
        if len(self._domains) > 10_000:  # bound the cache against floods of made-up hosts
            self._domains.clear()
        self._domains[host] = (time.monotonic() + DOMAIN_CACHE_SECONDS, slug)
        return slug
