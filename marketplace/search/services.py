"""Search as the rest of the platform uses it: which backend a tenant has, searching, suggesting, logging.

Pages and the API call ``search``/``suggest``/``city_search``; they get ids back and load the products
themselves (so a card always shows the database's price and stock, even when the index lags a moment).
"""

from __future__ import annotations

import atexit
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, g
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from marketplace.core.db import writing
from marketplace.core.outage_log import OutageLog
from marketplace.extensions import db
from marketplace.search import analysis, indexing
from marketplace.search.analysis import Analyser
from marketplace.search.backend import (
    BackendError,
    FacetValue,
    SearchBackend,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    Suggestion,
    TenantIndex,
    check_options,
    load_backends,
)
from marketplace.search.models import SearchQueryStat
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant, TenantStatus
from marketplace.tenancy.settings import module_settings

log = logging.getLogger(__name__)

#: Longest query searched (and logged); the rest is dropped.
MAX_QUERY_CHARACTERS = 100
#: Queries with a run of this many digits (spaces, dashes and dots between them ignored), or an @, may be a
#: phone, ID card or e-mail address: never logged.
_PERSONAL = re.compile(r"\d{7,}|@")
_DIGIT_SEPARATORS = re.compile(r"(?<=\d{3})[\s\-.()+]+(?=\d{3})")  # 138 0013 8000, not 15-15-15 40


def init_app(app) -> None:
    app.extensions["search_backends"] = load_backends()
    app.extensions["search_instances"] = {}
    indexing.init_app(app)
    app.extensions["search_query_counts"] = QueryCounts(app)
    app.before_request(_start_query_log)
    app.after_request(_write_query_log)


def analyser() -> Analyser:
    return analysis.analyser()


def index_of(tenant: Tenant) -> TenantIndex:
    return TenantIndex(id=tenant.id, slug=tenant.slug)


def backend_class(name: str) -> type[SearchBackend]:
    registered = current_app.extensions["search_backends"]
    if name not in registered:
        raise BackendError(f"unknown search backend {name!r} (known: {', '.join(sorted(registered))})")
    return registered[name].load()


def backend_for(tenant: Tenant) -> SearchBackend:
    """The tenant's backend (manifest ``[modules.search]`` or the operator's choice), built once per app."""
    choice = module_settings["search"].all(tenant)
    return backend(choice["provider"], choice["options"])


def choice_problem(name: str, options: dict) -> str | None:
    """Why a tenant cannot choose this backend with these options (manifests check this), or None."""
    try:
        check_options(backend_class(name), options)
    except BackendError as error:
        return str(error)
    return None


def backend(name: str, options: dict | None = None) -> SearchBackend:
    cls = backend_class(name)
    clean = check_options(cls, options or {})
    key = (name, json.dumps(clean, sort_keys=True))
    instances = current_app.extensions["search_instances"]
    if key not in instances:
        instances[key] = cls(current_app.config["MARKETPLACE"], clean)
    return instances[key]


# -- searching --------------------------------------------------------------------------------------------------

def clean_text(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_QUERY_CHARACTERS]


def prepare(query: SearchQuery) -> SearchQuery:
    query.text = clean_text(query.text)
    query.terms = analyser().terms(query.text)
    return query


@dataclass
class Outcome:
    """A search as a page shows it: the backend's result, and help when nothing was found."""

    query: SearchQuery
    result: SearchResult
    #: Words the query may have meant: homophones found by pinyin (平果 → 苹果).
    did_you_mean: str = ""
    suggestions: list[Suggestion] = field(default_factory=list)


def search(tenant: Tenant, query: SearchQuery, *, record: bool = False, help_when_empty: bool = True) -> Outcome:
    """Search the tenant's index. Raises ``SearchUnavailable`` when the backend cannot answer.

    A query with no searchable word in it ("!!!", "的", an emoji) finds nothing rather than everything.
    """
    indexing.run_pending()  # this process's own committed changes first
    prepare(query)
    if query.text and not query.terms:
        return Outcome(query=query, result=SearchResult(hits=[], total=0))
    backend = _configured_backend(tenant)
    result = _guarded(lambda: backend.search(index_of(tenant), query))
    if query.with_facets:
        _count_other_choices(tenant, backend, query, result)
    outcome = Outcome(query=query, result=result)
    if result.total == 0 and query.terms and help_when_empty:
        outcome.did_you_mean = _homophones(tenant, backend, query)
    if record and query.text and query.offset == 0:
        record_query(tenant, query.text, result.total)
    return outcome


def _count_other_choices(tenant: Tenant, backend: SearchBackend, query: SearchQuery, result: SearchResult) -> None:
    """An attribute or the shop credit the resident filters by keeps offering its other values (any of them may
    be ticked): its counts are taken with every filter but its own, from one more query per such filter."""
    for name, values in query.attributes.items():
        if not values:
            continue
        others = replace(query, attributes={k: v for k, v in query.attributes.items() if k != name}, page=1, size=0, skip=None)
        counts = _guarded(lambda others=others: backend.search(index_of(tenant), others)).facets
        result.facets[f"attr.{name}"] = counts.get(f"attr.{name}", [])
    if query.credit_levels:
        others = replace(query, credit_levels=[], page=1, size=0, skip=None)
        result.facets["credit"] = _guarded(lambda: backend.search(index_of(tenant), others)).facets.get("credit", [])


def _configured_backend(tenant: Tenant) -> SearchBackend:
    """The tenant's backend; a provider that cannot be loaded is an outage to residents (and logged loudly)."""
    try:
        return backend_for(tenant)
    except BackendError as exc:
        log.exception("search backend of tenant %s is misconfigured", tenant.slug)
        raise SearchUnavailable(str(exc)) from exc


def _guarded(call):
    try:
        return call()
    except SearchUnavailable:
        raise
    except Exception as exc:  # a backend's own failure (connection refused, bad index) is an outage to users
        log.exception("search backend failed")
        raise SearchUnavailable(str(exc)) from exc


def _homophones(tenant: Tenant, backend: SearchBackend, query: SearchQuery) -> str:
    """When a hanzi query finds nothing, what its pinyin finds: the words of the best title that matched."""
    syllables = analyser().syllables(query.text)
    if not syllables:
        return ""
    retry = SearchQuery(text=syllables, terms=analyser().terms(syllables), size=1, with_facets=False)
    hits = _guarded(lambda: backend.search(index_of(tenant), retry)).hits
    if not hits:
        return ""
    from marketplace.catalog.models import Product

    title = db.session.scalar(select(Product.title).where(Product.id == hits[0].id))
    words = analyser().matched_words(title or "", retry.terms)
    return "".join(words)


#: How long a tenant's goods-per-category counts are reused (they only guide people who found nothing).
CATEGORY_COUNTS_TTL_S = 600


def category_counts(tenant: Tenant) -> list[FacetValue]:
    """Goods on sale per category (ancestors included), busiest first. Counting a whole catalogue is the
    costliest query there is, so the answer is kept for a few minutes per process."""
    cache = current_app.extensions.setdefault("search_category_counts", {})
    now = time.monotonic()
    cached = cache.get(tenant.id)
    if cached is None or cached[0] < now:
        outcome = search(tenant, SearchQuery(text="", size=0))
        cached = cache[tenant.id] = (now + CATEGORY_COUNTS_TTL_S, outcome.result.facets.get("category", []))
    return cached[1]


def suggest(tenant: Tenant, text: str, limit: int = 8) -> list[Suggestion]:
    """What the search box offers while ``text`` is typed: only what residents can still open (a suspended
    shop's name or an emptied category stays in an index until the next reindex; it is not offered)."""
    indexing.run_pending()
    terms = analyser().terms(clean_text(text), typing=True)
    if not terms:
        return []
    backend = _configured_backend(tenant)
    # More than asked for: names that are no longer open (they stay in an index until a reindex) are dropped.
    found = _guarded(lambda: backend.suggest(index_of(tenant), terms, limit * 3))
    return _still_open(found)[:limit]


def _still_open(suggestions: list[Suggestion]) -> list[Suggestion]:
    from marketplace.catalog.models import Category, Product, ProductStatus
    from marketplace.shops.models import Shop, ShopStatus

    refs: dict[str, set[int]] = {}
    for suggestion in suggestions:
        refs.setdefault(suggestion.kind, set()).add(suggestion.ref)
    open_ = {kind: set() for kind in refs}
    if refs.get("product"):
        open_["product"] = set(db.session.scalars(
            select(Product.id).join(Shop, Shop.id == Product.shop_id)
            .where(Product.id.in_(refs["product"]), Product.status == ProductStatus.active,
                   Shop.status == ShopStatus.active)))
    if refs.get("shop"):
        open_["shop"] = set(db.session.scalars(select(Shop.id).where(Shop.id.in_(refs["shop"]),
                                                                     Shop.status == ShopStatus.active)))
    if refs.get("category"):
        on_sale = (select(Product.id).join(Shop, Shop.id == Product.shop_id)
                   .where(Product.category_id == Category.id, Product.status == ProductStatus.active,
                          Shop.status == ShopStatus.active))
        open_["category"] = set(db.session.scalars(select(Category.id).where(Category.id.in_(refs["category"]),
                                                                             on_sale.exists())))
    return [s for s in suggestions if s.ref in open_.get(s.kind, ())]


def live_tenants() -> list[Tenant]:
    with all_tenants():
        return list(db.session.scalars(select(Tenant).where(Tenant.status == TenantStatus.live)
                                       .order_by(Tenant.id)))


def city_search(text: str, per_tenant: int = 4) -> list[tuple[Tenant, Outcome | None]]:
    """The portal's search: each live tenant's best matches, busiest tenant first. A tenant whose backend is
    down comes back with ``None`` rather than failing the whole page."""
    groups: list[tuple[Tenant, Outcome | None]] = []
    for tenant in live_tenants():
        with tenant_scope(tenant):
            try:
                outcome = search(tenant, SearchQuery(text=text, size=per_tenant, with_facets=False),
                                 help_when_empty=False)
            except SearchUnavailable:
                groups.append((tenant, None))
                continue
        if outcome.result.total:
            groups.append((tenant, outcome))
    groups.sort(key=lambda group: -(group[1].result.total if group[1] else 0))
    return groups


# -- the query log ----------------------------------------------------------------------------------------------

def loggable(text: str) -> bool:
    return bool(text) and not _PERSONAL.search(_DIGIT_SEPARATORS.sub("", text))


def record_query(tenant: Tenant, text: str, total: int, today: date | None = None) -> None:
    """Count one search of ``text`` today (the tenant's calendar). The log is a report, not the search:
    when it cannot be written (a locked database, say), the failure is logged and the search answers."""
    text = clean_text(analyser().fold(text))  # folding may lengthen text (ﷺ is 18 letters): cut after it
    if not loggable(text) or not analyser().terms(text):
        return
    waiting = g.get("search_query_log")
    if waiting is not None:  # inside a page or API call: written once the response is ready
        waiting.append((tenant.id, tenant.timezone, text, total, today))
        return
    _write_query(tenant, text, total, today)


def _start_query_log() -> None:
    g.setdefault("search_query_log", [])  # the page cache may have started it (core.page_cache.QUERY_LOG)


def _write_query_log(response):
    counts = current_app.extensions["search_query_counts"]
    for entry in g.pop("search_query_log", None) or ():
        counts.add(*entry)
    if counts.due(current_app.config["MARKETPLACE"].get("SEARCH_STATS_FLUSH_S") or 0):
        counts.flush()
    return response


def _write_query(tenant: Tenant, text: str, total: int, today: date | None) -> None:
    counts = current_app.extensions["search_query_counts"]
    counts.add(tenant.id, tenant.timezone, text, total, today)
    counts.flush()


#: Counts a failed write kept for the next try: at most this many (tenant, day, query) entries, the most searched,
#: so that a long database outage does not grow a worker without bound.
MAX_PENDING_QUERIES = 10_000
#: A database outage fails every flush of every worker.
_write_failures = OutageLog("the database still refuses the write")


class QueryCounts:
    """Searches counted in one worker and not written yet: (tenant id, day, query) → [searches, zero results].

    A search page served from the page cache in a millisecond must not wait for a write transaction of its own:
    the counts are written together every SEARCH_STATS_FLUSH_S seconds (0: after each request) and when the
    worker stops; counts a write could not save (the database away) wait for the next, up to
    MAX_PENDING_QUERIES queries. A worker killed outright loses at most that many seconds of counts: they are a
    report.
    """

    def __init__(self, app):
        self.app = app
        self.pending: dict[tuple[int, date, str], list[int]] = {}
        self.since = 0.0
        self.lock = threading.Lock()
        self.flushed_at_exit = False

    def add(self, tenant_id: int, timezone: str, text: str, total: int, today: date | None) -> None:
        """One search of ``text`` that found ``total``, on ``today`` or today on the tenant's calendar."""
        key = (tenant_id, today or datetime.now(ZoneInfo(timezone)).date(), text)
        with self.lock:
            if not self.pending:
                self.since = time.monotonic()
            counts = self.pending.setdefault(key, [0, 0])
            counts[0] += 1
            counts[1] += 1 if total == 0 else 0

    def due(self, every: int) -> bool:
        if not self.pending:
            return False
        if every > 0 and not self.flushed_at_exit:
            self.flushed_at_exit = True
            atexit.register(self._flush_at_exit)
        return every <= 0 or time.monotonic() - self.since >= every

    def _flush_at_exit(self) -> None:
        with self.app.app_context():
            self.flush()

    def flush(self) -> None:
        """Write the counts in one write transaction of its own. The read transaction before it is ended first:
        on SQLite, upgrading it to a write would fail at once ("database is locked") when another worker writes,
        where a write transaction waits its turn. Nothing uncommitted of the caller's is ever committed with it:
        while there is some, the counts wait for the next time."""
        if not self.pending or indexing.has_uncommitted_writes(db.session()):
            return
        with self.lock:
            pending, self.pending = self.pending, {}
        try:
            db.session.rollback()
            with writing(), all_tenants():
                for (tenant_id, day, text), (searches, zero) in sorted(pending.items()):  # one lock order for all
                    _count_query(tenant_id, day, text, searches, zero)
                db.session.commit()
        except SQLAlchemyError:
            _write_failures.failed(log, "could not log %d searches; kept for the next try",
                                   sum(searches for searches, _zero in pending.values()))
            db.session.rollback()
            with self.lock:  # back with those counted meanwhile, to be written when next due
                if not self.pending:
                    self.since = time.monotonic()
                for key, (searches, zero) in pending.items():
                    counts = self.pending.setdefault(key, [0, 0])
                    counts[0] += searches
                    counts[1] += zero
                dropped = self._drop_least_searched()
            if dropped:
                log.warning("dropped the counts of %d queries (%d searches) waiting for the database: at most %d "
                            "are kept", len(dropped), sum(searches for searches, _zero in dropped), MAX_PENDING_QUERIES)

    def _drop_least_searched(self) -> list[list[int]]:
        """Keep the MAX_PENDING_QUERIES most searched queries (a report shows the top ones); returns the counts
        of the others. Called with the lock held."""
        if len(self.pending) <= MAX_PENDING_QUERIES:
            return []
        ranked = sorted(self.pending.items(), key=lambda item: item[1][0], reverse=True)
        self.pending = dict(ranked[:MAX_PENDING_QUERIES])
        return [counts for _key, counts in ranked[MAX_PENDING_QUERIES:]]


def _count_query(tenant_id: int, day: date, text: str, searches: int, zero: int) -> None:
    changed = db.session.execute(
        update(SearchQueryStat)
        .where(SearchQueryStat.tenant_id == tenant_id, SearchQueryStat.day == day, SearchQueryStat.query == text)
        .values(searches=SearchQueryStat.searches + searches, zero_results=SearchQueryStat.zero_results + zero)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        try:
            with db.session.begin_nested():
                db.session.add(SearchQueryStat(tenant_id=tenant_id, day=day, query=text, searches=searches,
                                               zero_results=zero))
        except IntegrityError:  # another worker logged the same query first: count on its row
            _count_query(tenant_id, day, text, searches, zero)


@dataclass(frozen=True)
class QueryCount:
    query: str
    searches: int
    zero_results: int


def query_report(tenant: Tenant, days: int = 30, limit: int = 20) -> tuple[list[QueryCount], list[QueryCount]]:
    """The most searched queries, and the most searched queries that found nothing, over ``days`` days."""
    from marketplace.catalog.admin import tenant_today

    since = tenant_today(tenant) - timedelta(days=days - 1)
    searches = func.sum(SearchQueryStat.searches)
    zero = func.sum(SearchQueryStat.zero_results)
    base = (select(SearchQueryStat.query, searches, zero).where(SearchQueryStat.day >= since)
            .group_by(SearchQueryStat.query))
    with tenant_scope(tenant):
        top = [QueryCount(*row) for row in db.session.execute(
            base.order_by(searches.desc(), SearchQueryStat.query).limit(limit))]
        empty = [QueryCount(*row) for row in db.session.execute(
            base.having(zero > 0).order_by(zero.desc(), SearchQueryStat.query).limit(limit))]
    return top, empty


# -- health -----------------------------------------------------------------------------------------------------

def health() -> tuple[bool, str]:
    """Each backend that a live tenant uses, checked once: ``/healthz`` reports the first that fails."""
    details = []
    seen = set()
    try:
        tenants = live_tenants()
    except Exception:  # the database check reports that failure; check the default backend alone
        db.session.rollback()
        tenants = []
    choices = {("embedded", "{}")}
    for tenant in tenants:
        settings = module_settings["search"]
        choices.add((settings.get(tenant, "provider"), json.dumps(settings.get(tenant, "options"), sort_keys=True)))
    ok = True
    for name, options in sorted(choices):
        if (name, options) in seen:
            continue
        seen.add((name, options))
        try:
            healthy, detail = backend(name, json.loads(options)).health()
        except Exception as exc:
            healthy, detail = False, f"{name}: {exc}"
        ok = ok and healthy
        details.append(detail)
    return ok, "; ".join(details)
