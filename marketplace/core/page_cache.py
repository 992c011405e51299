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

A hit is answered before Flask's request machinery runs (``answer_before_flask``): its context, its hooks and
its response processing would cost as much again as the hit itself. Whatever that path does not fully
understand (a signed-in visitor, a search to count, an error) goes on to Flask, where ``answer_from_cache``
serves the same page the same way. So no ``before_request`` or ``after_request`` hook runs for a hit: a header
every page must carry is set in ``_answer_early`` too.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import secrets

from flask import current_app, g, request, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from marketplace.core import cache as shared_cache
from marketplace.core import http_cache
from marketplace.core.i18n import visitor_locale
from marketplace.core.outage_log import OutageLog
from marketplace.extensions import db
from marketplace.tenancy.context import current_tenant_id
from marketplace.tenancy.models import Tenant

log = logging.getLogger(__name__)
_early_failures = OutageLog("the early answer still fails")
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
PAGES = "page_cache_pages"
#: Per process: the tenant each slug named when one of its pages was last rendered here. A hit needs the tenant's
#: id (its page version) before the tenant is resolved; a slug that now names another tenant misses (the stored
#: page names the tenant it was rendered for) and is learnt again by the render.
_owner_of_slug: dict[str, int] = {}
_HIT = "page_cache_hit"
_MISS = "page_cache_miss"
_MISS_SEARCHES = "page_cache_searches"
_PLACEHOLDER = "page_cache_placeholder"


def version_key(owner) -> str:
    return f"pages:{owner}"


def _ttl() -> int:
    return int(current_app.config["MARKETPLACE"].get("PAGE_CACHE_TTL_S") or 0)


def _anonymous(app, request_, session_) -> bool:
    """Nobody in particular: not signed in (no user in the session, no remember cookie), no cart, no message
    waiting. Read from the session and cookies alone, so that a hit answers before Flask-Login loads anyone; a
    session naming a user who no longer signs in is treated as signed in (rendered, not stored), which is safe."""
    from marketplace.storefront.cart import GUEST_COOKIE

    cookies = request_.cookies
    return ("_user_id" not in session_ and "Authorization" not in request_.headers
            and app.config.get("REMEMBER_COOKIE_NAME", "remember_token") not in cookies
            and GUEST_COOKIE not in cookies and not session_.get("_flashes"))


def _owner(view_args) -> int | str | None:
    """Whose version the page moves with: the tenant the URL names, as this process last saw it (None: not yet)."""
    slug = (view_args or {}).get("tenant_slug")
    return PLATFORM if slug is None else _owner_of_slug.get(slug)


def _versions(owner) -> list[str]:
    return [version_key(owner), version_key(PLATFORM), version_key(ALL)]


def _page_key(request_) -> str:
    # The page as this address renders it: links differ on a tenant's own host name (no /t/<slug> prefix) and the
    # portal link carries the scheme and port. Raw bytes: a query string need not be UTF-8. The locale is the one
    # an anonymous visitor gets (i18n.visitor_locale), without asking Flask-Login.
    address = hashlib.sha256(request_.host_url.lower().encode("utf-8", "surrogateescape") + b"\0"
                             + request_.path.encode("utf-8", "surrogateescape") + b"?" + request_.query_string
                             + b"\0" + visitor_locale(request_.cookies).encode())
    return f"page:{address.hexdigest()[:40]}"


def _cacheable() -> bool:
    pages = current_app.extensions.get(PAGES, ())
    return (request.method == "GET" and request.endpoint in pages and _ttl() > 0
            and _anonymous(current_app, request, session))


def _stored(request_, owner) -> dict | None:
    """The page kept for this address, if it was rendered for ``owner`` under the versions current now (one cache
    round trip for both); None when there is none, it is stale, or the cache does not answer."""
    if owner is None:  # this process has not rendered a page of the tenant yet
        return None
    found = shared_cache.get_with_epochs(_page_key(request_), _versions(owner))
    if found is None:
        return None
    entry, epochs = found
    if not (isinstance(entry, dict) and entry.get("owner") == owner and entry.get("epochs") == epochs
            and isinstance(entry.get("body"), bytes) and isinstance(entry.get("placeholder"), str)
            and isinstance(entry.get("digest"), str)):
        return None
    return entry


def answer_before_flask(app, environ):
    """The response to an anonymous GET of a stored page, made without Flask's request context and hooks; None
    for every other request, which Flask then handles as usual (``answer_from_cache`` included).

    It does what the hooks would have done to a hit and no more: the visitor's own CSRF token (Flask-WTF's format,
    a new session when they have none), the session cookie, the ETag and 304, Cache-Control and Vary. A search
    page goes on to Flask, whose hooks count the search.
    """
    if (environ.get("REQUEST_METHOD") != "GET" or "HTTP_AUTHORIZATION" in environ
            or not app.config["MARKETPLACE"].get("PAGE_CACHE_TTL_S")):
        return None
    request_ = app.request_class(environ)
    try:
        rule, view_args = app.create_url_adapter(request_).match(return_rule=True)
    except HTTPException:  # not found, a redirect to the canonical URL, a wrong method: Flask answers
        return None
    if rule.endpoint not in app.extensions.get(PAGES, ()):
        return None
    try:
        with app.app_context():
            return _answer_early(app, request_, view_args)
    except Exception:  # never worse than no cache: Flask serves the request
        _early_failures.failed(log, "the page cache's early answer failed; Flask serves the page")
        return None


def _answer_early(app, request_, view_args):
    session_ = app.session_interface.open_session(app, request_)
    if session_ is None or not _anonymous(app, request_, session_):
        return None
    entry = _stored(request_, _owner(view_args))
    if entry is None or entry.get("searches"):
        return None
    token = None
    if entry.get("with_token"):
        token = _csrf_token(app, session_)
        if token is None:
            return None
    body = entry["body"]
    response = app.response_class(body.replace(entry["placeholder"].encode(), token.encode()) if token else body,
                                  mimetype="text/html")
    response.headers["X-Page-Cache"] = "hit"
    response.set_etag(http_cache.etag_of_stored_page(entry["digest"], token), weak=True)
    app.session_interface.save_session(app, session_, response)
    http_cache.mark_page(response, personal=bool(request_.cookies) or bool(session_))
    return response.make_conditional(request_)


def _csrf_token(app, session_) -> str | None:
    """The token Flask-WTF's ``generate_csrf`` would give this session (its secret made when the session has none);
    None when the session holds something else under its name (Flask-WTF then makes a new one)."""
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field not in session_:
        session_[field] = hashlib.sha1(os.urandom(64)).hexdigest()
    if not isinstance(session_[field], str):
        return None
    return _csrf_serializer(app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key).dumps(session_[field])


@functools.lru_cache(maxsize=8)
def _csrf_serializer(secret) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token")


def answer_from_cache():
    """The stored page for an anonymous GET of a cached page, or None to go on and render it.

    Called first thing (``MarketplaceFlask.preprocess_request``), before the tenant is resolved or anyone is
    loaded: one cache round trip fetches the page with the current versions of its owner, and a page counts only
    under the versions it was rendered under and for the tenant it was rendered for.
    """
    if not _cacheable():
        return None
    entry = _stored(request, _owner(request.view_args))
    if entry is None:
        return None
    g.setdefault(QUERY_LOG, []).extend((*search, None) for search in entry.get("searches", ()))
    g.setdefault(_PLACEHOLDER, entry["placeholder"])
    g.setdefault(_HIT, {"digest": entry["digest"], "with_token": bool(entry.get("with_token"))})
    return current_app.response_class(entry["body"], mimetype="text/html")


def prepare_render():
    """before_request, once the tenant is resolved (after a miss): render with a placeholder token, to store."""
    if not _cacheable():
        return None
    tenant_id = current_tenant_id()
    slug = (request.view_args or {}).get("tenant_slug") or g.get("tenant_slug")
    owner = tenant_id if tenant_id is not None else PLATFORM
    if slug and tenant_id is not None:
        _owner_of_slug[slug] = tenant_id
    versions = _versions(owner)
    session_ = db.session()
    if any(shared_cache.changed_in_transaction(session_, key) for key in versions):
        return None
    epochs = shared_cache.epochs(versions)  # read before rendering: a change meanwhile makes the page stale
    if epochs is None:  # the cache does not answer: render
        return None
    g.setdefault(_MISS, {"key": _page_key(request), "owner": owner, "epochs": epochs})
    # The search statistics' list is emptied after the response, before this module stores the page: held here.
    g.setdefault(_MISS_SEARCHES, g.setdefault(QUERY_LOG, []))
    # Flask-WTF hands out the token it finds in g: the page is rendered with a placeholder instead, a fresh random
    # one per render (kept with the page), so that no text a merchant or visitor writes can ask for the token.
    g.csrf_token = g.setdefault(_PLACEHOLDER, f"csrf-{secrets.token_urlsafe(24)}")
    return None


def store_and_personalise(response):
    """after_request: keep a freshly rendered anonymous page; put the visitor's own token in (hit or miss).

    The page's ETag is worked out here from the digest of the stored page and the visitor's session, so a hit
    does not hash the page again, and a hit and the render it came from give the same ETag (core.http_cache).
    """
    miss = g.pop(_MISS, None)
    hit = g.pop(_HIT, None)
    if miss is None and hit is None:
        return response
    placeholder = g.pop(_PLACEHOLDER)
    if g.get("csrf_token") == placeholder:
        del g.csrf_token
    response.headers["X-Page-Cache"] = "hit" if hit else "miss"
    body = response.get_data()
    if hit:
        digest, with_token = hit["digest"], hit["with_token"]
    else:
        digest, with_token = hashlib.sha256(body).hexdigest(), placeholder.encode() in body
        if _storable(response):
            shared_cache.put(miss["key"], {
                "body": body, "placeholder": placeholder, "digest": digest, "with_token": with_token,
                "owner": miss["owner"], "epochs": miss["epochs"],
                "searches": [search[:4] for search in g.pop(_MISS_SEARCHES, ())]}, _ttl())
    token = generate_csrf() if with_token else None
    if token:
        response.set_data(body.replace(placeholder.encode(), token.encode()))
    if response.status_code == 200:
        response.set_etag(http_cache.etag_of_stored_page(digest, token), weak=True)
    return response


def _storable(response) -> bool:
    # Not ``session.modified``: Flask-Login's strong session protection rewrites an anonymous visitor's session on
    # every request, whatever the page. What a page shows of the session (messages) keeps it out of the cache.
    return (response.status_code == 200 and response.mimetype == "text/html" and not response.direct_passthrough
            and "Set-Cookie" not in response.headers and not response.cache_control.no_store
            and not response.cache_control.private)


# -- versions ------------------------------------------------------------------------------------------------------

def install(app, pages: frozenset[str]) -> None:
    app.extensions[PAGES] = pages
    app.before_request(prepare_render)
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
