"""The Flask application class: Flask, plus URLs without the tenant prefix on a tenant's own host, and static files
kept for a year under versioned URLs."""

from __future__ import annotations

from flask import Flask, has_request_context, request

from marketplace.core.http_cache import send_versioned

#: WSGI environ key set by ``TenantHostMiddleware`` when the Host named a tenant.
HOST_TENANT_KEY = "marketplace.host_tenant"


class MarketplaceFlask(Flask):
    def wsgi_app(self, environ, start_response):
        # An anonymous visitor's stored page is answered before Flask's own machinery (core.page_cache).
        from marketplace.core.page_cache import answer_before_flask

        answer = answer_before_flask(self, environ)
        if answer is not None:
            return answer(environ, start_response)
        return super().wsgi_app(environ, start_response)

    def preprocess_request(self):
        # A stored page (core.page_cache) answers before the tenant is resolved and before anyone is loaded:
        # what a hit costs is what makes anonymous traffic cheap.
        from marketplace.core.page_cache import answer_from_cache

        answer = answer_from_cache()
        return answer if answer is not None else super().preprocess_request()

    def send_static_file(self, filename: str):
        # /static/… is kept for a year when the URL names the file's current version (core.http_cache).
        return send_versioned(self.static_folder, filename, self.get_send_file_max_age(filename))

    def url_for(self, /, endpoint: str, **values) -> str:
        url = super().url_for(endpoint, **values)
        slug = request.environ.get(HOST_TENANT_KEY) if has_request_context() else None
        if slug and endpoint == "storefront.portal":
            # On a tenant's host "/" is the tenant's home; the city portal lives on the platform's host.
            port = request.host.rsplit(":", 1)[1] if request.host.count(":") == 1 else ""
            domain = self.config["MARKETPLACE"]["PLATFORM_DOMAIN"]
            return f"{request.scheme}://{domain}{':' + port if port else ''}{url}"
        if slug:
            # The middleware added /t/<slug> to the path; links on the tenant's host drop it again.
            marker = f"{request.script_root}/t/{slug}/"
            at = url.find(marker)
            if at == 0 or (at > 0 and url[:at] == request.host_url.rstrip("/")):
                url = url[:at] + request.script_root + "/" + url[at + len(marker):]
        return url


def visible_path(with_query: bool = False) -> str:
    """The path as the visitor's browser shows it (without the /t/<slug> the host middleware added)."""
    path = request.path
    slug = request.environ.get(HOST_TENANT_KEY)
    if slug and (path == f"/t/{slug}" or path.startswith(f"/t/{slug}/")):
        path = path[len(slug) + 3:] or "/"
    if with_query and request.query_string:
        path += "?" + request.query_string.decode("utf-8", "replace")
    return path
