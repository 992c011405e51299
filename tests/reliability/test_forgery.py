"""Cross-site request forgery: every route that changes anything, sent with a signed-in session's cookie but
without its CSRF token, or with a token from another session, is refused and changes nothing.

The routes are read from the application's own URL map, so a route added later is in the matrix without anyone
listing it. "Changes nothing" is checked in the database: the number of rows of every table is the same after the
whole matrix as before it, and the resident is still signed in (signing out is a change too).
"""

from __future__ import annotations

import http.client
import json

import pytest
from sqlalchemy import func, select
from werkzeug.routing import AnyConverter, FloatConverter, IntegerConverter

from marketplace.extensions import db
from marketplace.tenancy.context import all_tenants
from tests.orders.live_server import Browser
from tests.reliability.conftest import SLUG, as_browser

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
#: What each kind of URL value is filled with: real names where a lookup comes before the check (the tenant),
#: anything plausible elsewhere.
VALUES = {"tenant_slug": SLUG, "shop_slug": "shop-0", "slug": "shop-0"}


def _value(name: str, converter) -> object:
    if name in VALUES:
        return VALUES[name]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return 1 if isinstance(converter, IntegerConverter | FloatConverter) else "x"


def unsafe_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route that accepts a state-changing method, with its URL values filled in."""
    routes = []
    adapter = app.url_map.bind("127.0.0.1")
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & UNSAFE):
            values = {name: _value(name, rule._converters[name]) for name in rule.arguments}
            routes.append((method, adapter.build(rule.endpoint, values, method=method)))
    return sorted(set(routes))


def row_counts(app) -> dict[str, int]:
    with app.app_context(), all_tenants():
        counts = {table.name: db.session.scalar(select(func.count()).select_from(table))
                  for table in db.metadata.sorted_tables}
        db.session.rollback()
    return counts


def signed_in(browser: Browser) -> bool:
    """Whether the headers a forged request carries sign the resident in (their orders page, not the login)."""
    connection = http.client.HTTPConnection("127.0.0.1", browser.port, timeout=60)
    try:
        connection.request("GET", "/account/orders", headers=as_browser(browser))
        return connection.getresponse().status == 200
    finally:
        connection.close()


def send(browser: Browser, method: str, path: str, token: str | None) -> int:
    """A forged request: the victim's cookies (a browser sends them along), as a form and as JSON, with the token
    given (or none) in both the form field and the header the API reads."""
    headers = {**as_browser(browser), "Origin": "http://evil.example"}
    if token:
        headers["X-CSRFToken"] = token
    if path.startswith("/api/"):
        headers["Content-Type"] = "application/json"
        body = json.dumps({"quantity": 1, "action": "accept", "name": "forged"}).encode()
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = (f"csrf_token={token}&" if token else "").encode() + b"quantity=1&name=forged&confirm=1"
    connection = http.client.HTTPConnection("127.0.0.1", browser.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_every_state_changing_route_refuses_a_forged_request_and_changes_nothing(platform):
    variant = platform.product("普洱茶饼 357g", stock=10)
    resident = Browser(platform.server.port)
    resident.login("resident010@reliable.example", "correct-horse-42")
    page = resident.get(f"/t/{SLUG}/")
    assert page.status == 200
    stranger = Browser(platform.server.port)
    foreign_token = stranger.get(f"/t/{SLUG}/").csrf_token()  # a valid token, of another session
    routes = unsafe_routes(platform.app)
    assert len(routes) > 50  # the matrix is the application's own URL map

    assert signed_in(resident)  # the forgeries below carry a live session, as a victim's browser would
    before = row_counts(platform.app)
    answers = {(method, path, kind): send(resident, method, path, token)
               for method, path in routes for kind, token in (("no token", None), ("foreign token", foreign_token))}

    accepted = {route: status for route, status in answers.items() if status < 400 or status >= 500}
    print(f"\n[{platform.database}] {len(routes)} state-changing routes × 2 forgeries: "
          f"{len(answers) - len(accepted)} refused")
    assert accepted == {}
    html_forms = {route: status for route, status in answers.items()
                  if not route[1].startswith(("/api/", "/payments/notifications/")) and status != 400}
    assert html_forms == {}, "a form refused other than as a forgery (400) may have run before the check"
    assert row_counts(platform.app) == before
    assert signed_in(resident)  # no forged request signed the resident out
    assert platform.initial_stock[variant] == 10
    platform.check()
