"""The ``elasticsearch`` search backend: one Elasticsearch index per tenant, read and written through an alias.

Names, for the prefix ``shangdu`` and the tenant ``street``::

    shangdu-street        the alias every search and write goes through
    shangdu-street_v3     the index it points at now

The version follows an underscore, which no tenant slug may contain: with ``-v3`` the alias of a tenant
called ``street-v3`` would be the very name of tenant ``street``'s index, and would search it.

``reindex`` builds the next version beside the live one, loads and refreshes it, then moves the alias in
one ``update_aliases`` call (each search sees the old index or the new one, never neither) and deletes
the older versions.

Documents arrive analysed (see ``marketplace.search.analysis``), so the analysed fields use an analyser
made of the ``whitespace`` tokenizer alone: no server plugin, and the index holds the very tokens the
embedded backend holds. What suggestions offer lives in the same index, told apart by ``kind``: each
product document carries its own suggestion fields, and categories and shops get a small document each.
So there is one index to create, reindex and drop, and suggestions switch with the products in the same
alias swap. Writes use ``refresh=wait_for``: they return once a search can see them, without forcing a
refresh per write (which would make a tiny segment for every edit a merchant saves).

Fields added to the mapping after a tenant's index was created (``ADDED_FIELDS``) are added to its live index in
place, with one put-mapping call the first time a process writes to it: Elasticsearch adds fields to a mapping
(it never changes one), and a ``strict`` mapping would otherwise refuse every new document. Documents indexed
before then lack those fields until they are written again or the tenant is reindexed; sorts on them name an
``unmapped_type`` so an index without them still answers.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers

from marketplace.search.analysis import Term
from marketplace.search.backend import (
    CREDIT_LEVELS,
    FIELD_WEIGHTS,
    FIELDS,
    NEW_SHOP,
    PRICE_BUCKETS,
    BackendError,
    FacetValue,
    SearchBackend,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    Suggestion,
    TenantIndex,
)

log = logging.getLogger(__name__)

ANALYSER = "pre_analysed"
_ANALYSED = {"type": "text", "analyzer": ANALYSER}
#: Prefix queries on suggestion words are answered from indexed prefixes of 1–8 characters (苹 → 苹果).
_SUGGESTED = {**_ANALYSED, "index_prefixes": {"min_chars": 1, "max_chars": 8}}
MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        #: "product", "category" or "shop": only products are searched, all three are suggested.
        "kind": {"type": "keyword"},
        "id": {"type": "long"},
        **{name: _ANALYSED for name in FIELDS},
        "shop_id": {"type": "long"},
        "category_id": {"type": "long"},
        "category_ids": {"type": "long"},
        "product_type": {"type": "keyword"},
        #: Facet values as "name=value", so one field and one aggregation serve every attribute.
        "facets": {"type": "keyword"},
        "price_min": {"type": "long"},
        "price_max": {"type": "long"},
        "in_stock": {"type": "boolean"},
        "published_at": {"type": "double"},
        "sales": {"type": "long"},
        #: The shop's credit standing; ``credit_rated`` (a level A–D, not a new shop) sorts rated shops first.
        "credit_score": {"type": "long"},
        "credit_level": {"type": "keyword"},
        "credit_rated": {"type": "boolean"},
        # Suggestions: the text shown, what it refers to, and the words and pinyin it is found by.
        "display": {"type": "keyword", "index": False},
        "ref": {"type": "long"},
        "suggest_words": _SUGGESTED,
        "suggest_pinyin": _SUGGESTED,
    },
}
#: Fields of ``MAPPINGS`` that indexes created by earlier releases lack, added to them in place.
ADDED_FIELDS = ("credit_score", "credit_level", "credit_rated")
SORTS = {
    "price_asc": [{"price_min": "asc"}, {"id": "desc"}],
    "price_desc": [{"price_min": "desc"}, {"id": "desc"}],
    "sales": [{"sales": "desc"}, {"published_at": "desc"}, {"id": "desc"}],
    "newest": [{"published_at": "desc"}, {"id": "desc"}],
    "credit": [{"credit_rated": {"order": "desc", "unmapped_type": "boolean"}},
               {"credit_score": {"order": "desc", "unmapped_type": "long"}}, {"published_at": "desc"},
               {"id": "desc"}],
}
#: Most values one facet lists (a tenant's categories or shops); attribute values share one aggregation, so
#: theirs is larger — in practice every value is listed, as ``embedded`` does.
FACET_SIZE = 1000
ATTRIBUTE_FACET_SIZE = 20_000
#: Elasticsearch's default ``index.max_result_window``: pages beyond it come back empty (with their total).
MAX_RESULT_WINDOW = 10_000
#: Suggestions: categories and shops before products at equal match quality (as ``embedded``).
KIND_BOOST = {"category": 2.0, "shop": 1.5}
REQUEST_TIMEOUT_S = 10
HEALTH_TIMEOUT_S = 3
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._-]{0,100}$")


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"
    #: Per tenant: shards (1 keeps BM25 statistics and facet counts exact) and replicas (None: the cluster's
    #: default); they apply when the tenant's next index version is created.
    options_schema = {"shards": (int, 1), "replicas": (int, None)}

    def __init__(self, settings: dict, options: dict):
        super().__init__(settings, options)
        self.url = settings.get("ELASTICSEARCH_URL") or ""
        self.prefix = settings.get("ELASTICSEARCH_INDEX_PREFIX") or "shangdu"
        if not _PREFIX.match(self.prefix):
            raise BackendError(f"ELASTICSEARCH_INDEX_PREFIX {self.prefix!r}: lower-case letters, digits, . _ - only")
        self._client: Elasticsearch | None = None
        self._lock = threading.Lock()
        #: Aliases this process has seen in place, so a write does not look them up every time.
        self._ready: set[str] = set()

    @property
    def client(self) -> Elasticsearch:
        """Made on first use, so each gunicorn worker opens its own connections after the fork."""
        if self._client is None:
            if not self.url:
                raise SearchUnavailable("elasticsearch: MARKETPLACE_ELASTICSEARCH_URL is not set")
            with self._lock:
                if self._client is None:
                    try:
                        self._client = Elasticsearch(self.url, request_timeout=REQUEST_TIMEOUT_S, max_retries=1)
                    except ValueError as exc:
                        raise SearchUnavailable(f"elasticsearch: bad MARKETPLACE_ELASTICSEARCH_URL: {exc}") from exc
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- names -------------------------------------------------------------------------------------------------

    def alias(self, tenant: TenantIndex) -> str:
        if not _SLUG.match(tenant.slug):
            raise ValueError(f"not a tenant slug: {tenant.slug!r}")
        return f"{self.prefix}-{tenant.slug}"

    def _versions(self, alias: str) -> dict[str, bool]:
        """The tenant's index versions, oldest first, each with whether the alias points at it."""
        try:
            found = self.client.indices.get_alias(index=f"{alias}_v*").body
        except NotFoundError:
            return {}
        versions = {name: alias in info.get("aliases", {}) for name, info in found.items()
                    if re.fullmatch(re.escape(alias) + r"_v\d+", name)}
        return dict(sorted(versions.items(), key=lambda item: _version_number(item[0])))

    def _next_version(self, alias: str, versions: dict[str, bool]) -> str:
        return f"{alias}_v{max(map(_version_number, versions), default=0) + 1}"

    def _create(self, name: str, alias: str | None = None) -> None:
        settings = {"number_of_shards": self.options.get("shards") or 1,
                    "analysis": {"analyzer": {ANALYSER: {"type": "custom", "tokenizer": "whitespace"}}}}
        if self.options.get("replicas") is not None:
            settings["number_of_replicas"] = self.options["replicas"]
        self.client.indices.create(index=name, mappings=MAPPINGS, settings=settings,
                                   aliases={alias: {}} if alias else None)

    def _ensure(self, alias: str, versions: dict[str, bool] | None = None) -> None:
        """Create the first version with its alias when the tenant has none yet; bring an older one's mapping up
        to date (see ``ADDED_FIELDS``). ``versions``: what ``_versions`` just said, when the caller asked."""
        if alias in self._ready:
            return
        versions = self._versions(alias) if versions is None else versions
        if not any(versions.values()):
            try:
                self._create(self._next_version(alias, versions), alias)
            except ApiError as exc:  # another worker created it a moment ago
                if exc.meta.status != 400 or "already_exists" not in str(exc.message):
                    raise
        else:
            # Adding fields that are there already, with the same types, changes nothing: no need to look first.
            self.client.indices.put_mapping(index=alias, properties={
                name: MAPPINGS["properties"][name] for name in ADDED_FIELDS})
        self._ready.add(alias)

    def _exists(self, alias: str) -> bool:
        """Whether the tenant has an index; one found here is brought up to date like ``_ensure`` does, so a
        later write never meets an old mapping marked ready."""
        if alias not in self._ready:
            versions = self._versions(alias)
            if any(versions.values()):
                self._ensure(alias, versions)
        return alias in self._ready

    # -- writing -----------------------------------------------------------------------------------------------

    def index(self, tenant: TenantIndex, documents: Iterable[SearchDocument]) -> int:
        documents = list(documents)
        if not documents:
            return 0
        alias = self.alias(tenant)
        self._ensure(alias)
        try:
            helpers.bulk(self.client, _actions(alias, documents, set()), refresh="wait_for", require_alias=True)
        except Exception:
            self._ready.discard(alias)  # dropped by another process? look again next time
            raise
        return len(documents)

    def delete(self, tenant: TenantIndex, ids: Iterable[int]) -> None:
        ids = list(ids)
        alias = self.alias(tenant)
        if not ids or not self._exists(alias):
            return
        actions = [{"_op_type": "delete", "_index": alias, "_id": str(i)} for i in ids]
        helpers.bulk(self.client, actions, refresh="wait_for", ignore_status=(404,))

    def reindex(self, tenant: TenantIndex, documents: Iterator[SearchDocument]) -> int:
        alias = self.alias(tenant)
        versions = self._versions(alias)
        new = self._next_version(alias, versions)
        self._create(new)
        count = 0

        def counted() -> Iterator[dict]:
            nonlocal count
            suggested: set[str] = set()
            for document in documents:
                count += 1
                yield from _actions(new, [document], suggested)

        try:
            helpers.bulk(self.client, counted(), chunk_size=1000)
            self.client.indices.refresh(index=new)
        except BaseException:
            try:
                self.client.indices.delete(index=new, ignore_unavailable=True)
            except Exception:  # the load's own error matters more; the next reindex deletes it
                log.warning("could not remove the unfinished search index %s", new, exc_info=True)
            raise
        actions = [{"remove": {"index": name, "alias": alias}} for name, live in versions.items() if live]
        self.client.indices.update_aliases(actions=[*actions, {"add": {"index": new, "alias": alias}}])
        if versions:
            self.client.indices.delete(index=",".join(versions), ignore_unavailable=True)
        self._ready.add(alias)
        return count

    def drop(self, tenant: TenantIndex) -> None:
        alias = self.alias(tenant)
        versions = self._versions(alias)
        if versions:
            self.client.indices.delete(index=",".join(versions), ignore_unavailable=True)
        self._ready.discard(alias)

    # -- reading -----------------------------------------------------------------------------------------------

    def search(self, tenant: TenantIndex, query: SearchQuery) -> SearchResult:
        alias = self.alias(tenant)
        try:
            response = self.client.search(index=alias, **search_request(query))
        except NotFoundError:  # nothing indexed for this tenant yet
            return SearchResult(hits=[], total=0)
        except (ApiError, TransportError) as exc:
            raise SearchUnavailable(f"elasticsearch search failed: {describe(exc)}") from exc
        return search_result(response.body)

    def suggest(self, tenant: TenantIndex, prefix_terms: list[Term], limit: int = 8) -> list[Suggestion]:
        if not prefix_terms:
            return []
        alias = self.alias(tenant)
        try:
            response = self.client.search(index=alias, **suggest_request(prefix_terms, limit))
        except NotFoundError:
            return []
        except (ApiError, TransportError) as exc:
            raise SearchUnavailable(f"elasticsearch suggestions failed: {describe(exc)}") from exc
        hits = sorted(response.body["hits"]["hits"],
                      key=lambda hit: (-(hit.get("_score") or 0.0), len(hit["_source"]["display"])))
        seen, suggestions = set(), []
        for hit in hits:
            source = hit["_source"]
            if source["display"].lower() in seen:
                continue
            seen.add(source["display"].lower())
            suggestions.append(Suggestion(text=source["display"], kind=source["kind"], ref=int(source["ref"])))
            if len(suggestions) == limit:
                break
        return suggestions

    def health(self) -> tuple[bool, str]:
        try:
            answer = self.client.options(request_timeout=HEALTH_TIMEOUT_S, max_retries=0).cluster.health().body
        except SearchUnavailable as exc:  # not configured
            return False, str(exc)
        except Exception as exc:  # /healthz reports; it never fails itself
            return False, f"elasticsearch: {describe(exc)}"
        if answer.get("status") == "red":
            return False, f"elasticsearch: cluster {answer.get('cluster_name', '')} is red"
        return True, f"elasticsearch ({answer.get('cluster_name', '')}: {answer.get('status')})"


# -- documents ---------------------------------------------------------------------------------------------------

def _version_number(name: str) -> int:
    return int(name.rsplit("_v", 1)[1])


def product_source(document: SearchDocument) -> dict:
    fields = document.fields
    return {
        "kind": "product",
        "id": document.id,
        **{name: fields.get(name, "") for name in FIELDS},
        "shop_id": document.shop_id,
        "category_id": document.category_id,
        "category_ids": document.category_ids,
        "product_type": document.product_type,
        "facets": [f"{name}={value}" for name, values in sorted(document.facets.items()) for value in values],
        "price_min": document.price_min,
        "price_max": document.price_max,
        "in_stock": document.in_stock,
        "published_at": document.published_at,
        "sales": document.sales,
        "credit_score": document.credit_score,
        "credit_level": document.credit_level,
        "credit_rated": document.credit_level != NEW_SHOP,
        "display": document.title,
        "ref": document.id,
        "suggest_words": f"{fields.get('title', '')} {fields.get('grams', '')}".strip(),
        "suggest_pinyin": fields.get("pinyin", ""),
    }


def _actions(index: str, documents: Iterable[SearchDocument], suggested: set[str]) -> Iterator[dict]:
    """Bulk actions: each product, and its category and shop once each (``suggested`` holds those sent)."""
    for document in documents:
        yield {"_index": index, "_id": str(document.id), "_source": product_source(document)}
        fields = document.fields
        names = [("category", document.category_id, document.category_name, "category"),
                 ("shop", document.shop_id, document.shop_name, "shop")]
        for kind, ref, display, field in names:
            key = f"{kind}-{ref}"
            if not display or key in suggested:
                continue
            suggested.add(key)
            yield {"_index": index, "_id": key, "_source": {
                "kind": kind, "display": display, "ref": ref,
                "suggest_words": fields.get(f"{field}_words", ""), "suggest_pinyin": fields.get(f"{field}_pinyin", "")}}


# -- requests and responses --------------------------------------------------------------------------------------

def term_clause(term: Term, weights: dict[str, float]) -> dict:
    """One query term: any of its alternatives in any of the fields (a token as a term, a phrase as a phrase)."""
    should = []
    for tokens in term.alternatives:
        for field, weight in weights.items():
            if len(tokens) == 1:
                should.append({"term": {field: {"value": tokens[0], "boost": weight}}})
            else:
                should.append({"match_phrase": {field: {"query": " ".join(tokens), "boost": weight}}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def filters(query: SearchQuery) -> list[dict]:
    found: list[dict] = [{"term": {"kind": "product"}}]
    if query.category_id is not None:
        found.append({"term": {"category_ids": query.category_id}})
    if query.shop_id is not None:
        found.append({"term": {"shop_id": query.shop_id}})
    price = {}
    if query.price_min is not None:
        price["gte"] = query.price_min
    if query.price_max is not None:
        price["lt"] = query.price_max
    if price:
        found.append({"range": {"price_min": price}})
    if query.in_stock:
        found.append({"term": {"in_stock": True}})
    for name, values in sorted(query.attributes.items()):
        if values:
            found.append({"terms": {"facets": [f"{name}={value}" for value in values]}})
    if query.credit_levels:
        # Documents written before the credit fields existed have none: they are new shops, as in the embedded index.
        levels = {"terms": {"credit_level": list(query.credit_levels)}}
        if NEW_SHOP in query.credit_levels:
            levels = {"bool": {"should": [levels, {"bool": {"must_not": {"exists": {"field": "credit_level"}}}}],
                               "minimum_should_match": 1}}
        found.append(levels)
    return found


def aggregations() -> dict:
    ranges = [{"key": f"{low}-{'' if high is None else high}", "from": low, **({"to": high} if high is not None else {})}
              for low, high in PRICE_BUCKETS]
    return {
        "category": {"terms": {"field": "category_ids", "size": FACET_SIZE}},
        "shop": {"terms": {"field": "shop_id", "size": FACET_SIZE}},
        "price": {"range": {"field": "price_min", "ranges": ranges}},
        "in_stock": {"filter": {"term": {"in_stock": True}}},
        "credit": {"terms": {"field": "credit_level", "size": len(CREDIT_LEVELS), "missing": NEW_SHOP}},
        "attributes": {"terms": {"field": "facets", "size": ATTRIBUTE_FACET_SIZE}},
    }


def search_request(query: SearchQuery) -> dict:
    """The keyword arguments of ``Elasticsearch.search`` for a query: every term must match, filters don't score."""
    must = [term_clause(term, FIELD_WEIGHTS) for term in query.terms]
    if query.sort in SORTS:
        sort = SORTS[query.sort]
    else:
        sort = [{"_score": "desc"}, {"id": "desc"}] if query.terms else SORTS["newest"]
    request = {"query": {"bool": {"must": must, "filter": filters(query)}}, "sort": sort,
               "from_": query.offset, "size": query.size, "track_total_hits": True, "source": False}
    if query.offset + query.size > MAX_RESULT_WINDOW:  # Elasticsearch refuses such pages; answer the total only
        request.update(from_=0, size=0)
    if query.with_facets:
        request["aggs"] = aggregations()
    return request


def search_result(body: dict) -> SearchResult:
    hits = [SearchHit(id=int(hit["_id"]), score=float(hit.get("_score") or 0.0)) for hit in body["hits"]["hits"]]
    facets: dict[str, list[FacetValue]] = {}
    found = body.get("aggregations", {})
    for name in ("category", "shop", "price", "credit"):
        for bucket in found.get(name, {}).get("buckets", []):
            if bucket["doc_count"]:
                facets.setdefault(name, []).append(FacetValue(str(bucket["key"]), bucket["doc_count"]))
    if found.get("in_stock", {}).get("doc_count"):
        facets["in_stock"] = [FacetValue("true", found["in_stock"]["doc_count"])]
    for bucket in found.get("attributes", {}).get("buckets", []):
        name, _, value = bucket["key"].partition("=")
        facets.setdefault(f"attr.{name}", []).append(FacetValue(value, bucket["doc_count"]))
    for values in facets.values():
        values.sort(key=lambda v: (-v.count, v.value))
    return SearchResult(hits=hits, total=body["hits"]["total"]["value"], facets=facets)


def suggest_request(prefix_terms: list[Term], limit: int) -> dict:
    """Earlier terms whole, the last one as a prefix of a suggestion's words or pinyin; categories and shops first."""
    *whole, last = prefix_terms
    weights = {"suggest_words": 1.0, "suggest_pinyin": 1.0}
    must = [term_clause(term, weights) for term in whole]
    must.append({"bool": {"should": [{"prefix": {field: prefix}} for field in weights for prefix in last.prefixes],
                          "minimum_should_match": 1}})
    should = [{"term": {"kind": {"value": kind, "boost": boost}}} for kind, boost in KIND_BOOST.items()]
    return {"query": {"bool": {"must": must, "should": should}}, "size": limit * 4,
            "source": ["display", "kind", "ref"]}


def describe(exc: Exception) -> str:
    """A short reason for logs and /healthz (never the URL, which may hold a password)."""
    if isinstance(exc, ApiError):
        return f"HTTP {exc.meta.status} {exc.message}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"
