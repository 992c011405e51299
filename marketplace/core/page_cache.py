"""Whole storefront pages for visitors who are nobody in particular, kept in the shared cache.

A visitor who is not signed in, has no cart and no message waiting sees what every such visitor of the tenant
sees in that language — apart from the CSRF token in the page's forms (language switch, add to cart), which
belongs to their session. Such a page is rendered once with a placeholder for the token and kept for at most
``PAGE_CACHE_TTL_S`` seconds; each visitor is served it with their own token put in. A hit costs a few cache reads
and no query, where rendering a page with 24 product cards or a street of 100 shops costs tens of milliseconds.

Every key carries the tenant and the tenant's page version. Any committed change to a row the tenant's pages
may show (products, stock, shops, the tenant itself, reviews, orders that change sales counts…) moves that
version when its transaction ends, and a search index update moves it when the index has the change; platform
pages (the portal, the city search) move with every tenant. The next visitor then gets a freshly rendered page.
Rows no page shows (carts, the search statistics, idempotency records, tokens, audit and webhook logs) do not
move it, or every add-to-cart would empty the cache. A transaction that has changed such rows and has not ended
yet renders pages from the database and does not store them.

What is only time-based on a page (a shop's "open now", say) is at most ``PAGE_CACHE_TTL_S`` old.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app, g, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.core import cache as shared_cache
from marketplace.extensions import db
from marketplace.tenancy.context import current_tenant, current_tenant_id
from marketplace.tenancy.models import Tenant

PLATFORM = "platform"
#: Moves every page's version: bulk SQL with no current tenant changed rows no one can name.
ALL = "all"
#: Platform-wide rows that tenants' pages show (a shop's merchant, its approval badge): a change moves every page.
#: Not users: a resident's last login would empty the cache; a renamed reviewer shows within PAGE_CACHE_TTL_S.
PLATFORM_WIDE_SHOWN = frozenset({"merchants", "merchant_approvals"})
#: Tables whose rows no cached page shows (see the module's docstring).
UNSHOWN_TABLES = frozenset({
    "carts", "cart_lines", "search_query_stats", "search_journal", "idempotency_records", "audit_entries",
    "login_attempts", "personal_tokens", "api_tokens", "operator_tokens", "statistics_tokens", "webhook_attempts",
    "webhook_deliveries",
})
#: The search statistics count every search, served from the cache or not: what a page's search would have logged
#: (``search.services.record_query``, written after the response) is kept with the page and logged again on a hit.
QUERY_LOG = "search_query_log"
_HIT = "page_cache_hit"
_MISS_KEY = "page_cache_key"
_MISS_SEARCHES = "page_cache_searches"
_PLACEHOLDER = "page_cache_placeholder"


def version_key(owner) -> str:
    return f"pages:{owner}"


def _ttl() -> int:
    return int(current_app.config["MARKETPLACE"].get("PAGE_CACHE_TTL_S") or 0)


def _anonymous() -> bool:
    from marketplace.storefront.cart import GUEST_COOKIE

    return (not current_user.is_authenticated and GUEST_COOKIE not in request.cookies
            and not session.get("_flashes"))


def _page_key() -> str | None:
    """The key of this request's page, or None when it must be rendered (this transaction changed its rows)."""
    owner = current_tenant_id() or PLATFORM
    owners = [version_key(owner), version_key(PLATFORM), version_key(ALL)]
    session_ = db.session()
    if any(shared_cache.changed_in_transaction(session_, key) for key in owners):
        return None
    epochs = shared_cache.epochs(owners)
    if epochs is None:  # the cache does not answer: render
        return None
    # The page as this address renders it: links differ on a tenant's own host name (no /t/<slug> prefix) and the
    # portal link carries the scheme and port. Raw bytes: a query string need not be UTF-8.
    address = hashlib.sha256(request.host_url.lower().encode("utf-8", "surrogateescape") + b"\0"
                             + request.path.encode("utf-8", "surrogateescape") + b"?" + request.query_string)
    return f"page:{owner}:{':'.join(e or '-' for e in epochs)}:{get_locale()}:{address.hexdigest()[:32]}"


def serve_from_cache(pages: frozenset[str]):
    """before_request: the stored page for an anonymous GET of one of ``pages``; None to render it."""
    if request.method != "GET" or request.endpoint not in pages or _ttl() <= 0 or not _anonymous():
        return None
    key = _page_key()
    if key is None:
        return None
    entry = shared_cache.get(key)
    if isinstance(entry, dict) and isinstance(entry.get("body"), bytes) and isinstance(entry.get("placeholder"), str):
        tenant = current_tenant._get_current_object()
        g.setdefault(QUERY_LOG, []).extend((tenant, text, total, None) for text, total in entry.get("searches", ()))
        g.setdefault(_PLACEHOLDER, entry["placeholder"])
        g.setdefault(_HIT, True)
        return current_app.response_class(entry["body"], mimetype="text/html")
    g.setdefault(_MISS_KEY, key)
    # The search statistics' list is emptied after the response, before this module stores the page: held here.
    g.setdefault(_MISS_SEARCHES, g.setdefault(QUERY_LOG, []))
    # Flask-WTF hands out the token it finds in g: the page is rendered with a placeholder instead, a fresh random
    # one per render (kept with the page), so that no text a merchant or visitor writes can ask for the token.
    g.csrf_token = g.setdefault(_PLACEHOLDER, f"csrf-{secrets.token_urlsafe(24)}")
    return None


def store_and_personalise(response):
    """after_request: keep a freshly rendered anonymous page; put the visitor's own token in (hit or miss)."""
    key = g.pop(_MISS_KEY, None)
    hit = g.pop(_HIT, None)
    if key is None and hit is None:
        return response
    placeholder = g.pop(_PLACEHOLDER)
    if g.get("csrf_token") == placeholder:
        del g.csrf_token
    if key is not None and _storable(response):
        searches = [(text, total) for _tenant, text, total, _today in g.pop(_MISS_SEARCHES, ())]
        shared_cache.put(key, {"body": response.get_data(), "placeholder": placeholder, "searches": searches},
                         _ttl())
    response.headers["X-Page-Cache"] = "hit" if hit else "miss"
    body = response.get_data()
    if placeholder.encode() in body:
        response.set_data(body.replace(placeholder.encode(), generate_csrf().encode()))
    return response


def _storable(response) -> bool:
    # Not ``session.modified``: Flask-Login's strong session protection rewrites an anonymous visitor's session on
    # every request, whatever the page. What a page shows of the session (messages) keeps it out of the cache.
    return (response.status_code == 200 and response.mimetype == "text/html" and not response.direct_passthrough
            and "Set-Cookie" not in response.headers and not response.cache_control.no_store
            and not response.cache_control.private)


# -- versions ------------------------------------------------------------------------------------------------------

def install(app, pages: frozenset[str]) -> None:
    app.before_request(lambda: serve_from_cache(pages))
    app.after_request(store_and_personalise)
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _after_bulk_statement)


def _shown(table_name: str | None) -> bool:
    return table_name not in UNSHOWN_TABLES


def _after_flush(session: Session, _context) -> None:
    owners = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if isinstance(obj, Tenant):
            owners.add(obj.id)
        elif getattr(obj, "tenant_id", None) is not None and _shown(table):
            owners.add(obj.tenant_id)
        elif table in PLATFORM_WIDE_SHOWN:
            owners.add(ALL)
    if owners:
        shared_cache.note_changed(session, {version_key(owner) for owner in owners} | {version_key(PLATFORM)})


def _after_bulk_statement(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if not _shown(getattr(table, "name", None)):
        return
    owner = current_tenant_id()
    shared_cache.note_changed(state.session, {version_key(owner if owner is not None else ALL),
                                              version_key(PLATFORM)})


def tenant_changed(tenant_id: int) -> None:
    """Move the tenant's page version now (outside a transaction: its search index changed)."""
    shared_cache.invalidate({version_key(tenant_id), version_key(PLATFORM)})
