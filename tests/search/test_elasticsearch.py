"""The ``elasticsearch`` backend, through the official client, against a recording stand-in server.

No Elasticsearch server can run on these machines. So a small HTTP server in a thread stands in for one:
it records every request the official ``elasticsearch`` client sends (after the client has built the URL,
the parameters and the JSON/NDJSON body) and answers with Elasticsearch 9 responses written from the
documented formats, including the ``X-Elastic-Product`` header the client insists on. These tests check
the index mapping, the bulk bodies, the alias swap, the search and suggest requests, and how responses
and outages become results. They cannot show how a real server scores, aggregates or analyses: the
live section at the end (and the shared conformance kit) does that when ELASTICSEARCH_URL is set.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from marketplace.search.analysis import Term
from marketplace.search.backend import (
    FIELD_WEIGHTS,
    FIELDS,
    PRICE_BUCKETS,
    BackendError,
    SearchDocument,
    SearchQuery,
    SearchUnavailable,
    Suggestion,
    TenantIndex,
    check_options,
    load_backends,
)
from marketplace.search.elasticsearch import ElasticsearchBackend

STREET = TenantIndex(id=1, slug="street")
JSON_TYPE = "application/vnd.elasticsearch+json;compatible-with=9"


# -- the stand-in server ---------------------------------------------------------------------------------------

class Recorded:
    def __init__(self, method: str, target: str, headers, raw: bytes):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.params = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        self.headers = headers
        self.raw = raw.decode()
        lines = [json.loads(line) for line in self.raw.splitlines() if line.strip()]
        #: The JSON body, or the list of NDJSON lines of a bulk request.
        self.body = lines if "ndjson" in headers.get("Content-Type", "") else (lines[0] if lines else None)

    def __repr__(self):
        return f"<{self.method} {self.path} {self.params}>"


class StandIn:
    """Answers ``(method, path)`` with a canned response (or a function of the request); records every request."""

    def __init__(self):
        self.requests: list[Recorded] = []
        self.answers: dict[tuple[str, str], object] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Recorded(self.command, self.path, self.headers, raw)
                stand_in.requests.append(request)
                answer = stand_in.answers.get((request.method, request.path))
                status, body = answer(request) if callable(answer) else (answer or (599, {"error": "unexpected"}))
                payload = b"" if self.command == "HEAD" else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", JSON_TYPE)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, body=None, status: int = 200) -> None:
        self.answers[(method, path)] = body if callable(body) else (status, body)

    def sent(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def bulk_answer(request: Recorded, failing: dict | None = None) -> tuple[int, dict]:
    """An Elasticsearch bulk response with one item per action line (``failing``: _id → error item)."""
    items, lines = [], iter(request.body)
    for action in lines:
        (op, meta), = action.items()
        if op != "delete":
            next(lines)
        item = {"_index": meta["_index"], "_id": meta["_id"], "_version": 1, "result": "created",
                "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": 0, "_primary_term": 1,
                "status": 201}
        if op == "delete":
            item.update(result="not_found" if meta["_id"] == "404" else "deleted",
                        status=404 if meta["_id"] == "404" else 200)
        if failing and meta["_id"] in failing:
            item = {"_index": meta["_index"], "_id": meta["_id"], "status": 400, "error": failing[meta["_id"]]}
        items.append({op: item})
    errors = any(i[op]["status"] >= 300 and op != "delete" for i in items for op in i)
    return 200, {"errors": errors, "took": 7, "items": items}


NO_SUCH_INDEX = {
    "error": {"root_cause": [{"type": "index_not_found_exception", "reason": "no such index [shangdu-street]",
                              "resource.type": "index_or_alias", "resource.id": "shangdu-street",
                              "index_uuid": "_na_", "index": "shangdu-street"}],
              "type": "index_not_found_exception", "reason": "no such index [shangdu-street]",
              "resource.type": "index_or_alias", "resource.id": "shangdu-street", "index_uuid": "_na_",
              "index": "shangdu-street"},
    "status": 404,
}
ACKNOWLEDGED = {"acknowledged": True}


@pytest.fixture
def es():
    stand_in = StandIn()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def backend(es, tmp_path):
    backend = make_backend(es.url, tmp_path)
    yield backend
    backend.close()


def make_backend(url: str | None, tmp_path, prefix: str = "shangdu") -> ElasticsearchBackend:
    settings = {"ELASTICSEARCH_URL": url, "ELASTICSEARCH_INDEX_PREFIX": prefix, "INSTANCE_PATH": str(tmp_path)}
    return ElasticsearchBackend(settings, check_options(ElasticsearchBackend, {}))


def fuji_apples(id: int = 1, shop_id: int = 3, category_id: int = 7, **overrides) -> SearchDocument:
    """A product as ``documents.to_document`` analyses it: 红富士苹果 at the 德华街水果店."""
    fields = {
        "title": "红富士 富士 苹果 5kg",
        "grams": "红富 富士 士苹 苹果 红 富 士 苹 果",
        "pinyin": "hong fu shi hongfushi hfs ping guo pingguo pg hfspg",
        "attrs": "富士 fuji",
        "shop": "德华 街 水果 店 fruit shop dehua jie shuiguo dian",
        "category": "水果 fruit 苹果 appl ping guo pingguo pg",
        "body": "脆甜 多汁",
        "shop_words": "德华 街 水果 店 德华 华街 街水 水果 果店",
        "shop_pinyin": "de hua dehua dh jie shui guo shuiguo sg dian dhjsgd",
        "category_words": "苹果 苹果 苹 果",
        "category_pinyin": "ping guo pingguo pg",
    }
    values = dict(id=id, shop_id=shop_id, category_id=category_id, category_ids=[2, category_id],
                  product_type="fruit", title="红富士苹果 5kg", fields=fields, facets={"variety": ["fuji"]},
                  price_min=2_990, price_max=4_990, in_stock=True, published_at=1_717_000_000.0, sales=12,
                  shop_name="德华街水果店", category_name="苹果")
    values.update(overrides)
    return SearchDocument(**values)


def bigram_term(word: str) -> Term:
    return Term(word, "hanzi", ((word,), tuple(word[i:i + 2] for i in range(len(word) - 1))))


# -- configuration -----------------------------------------------------------------------------------------------

def test_the_registry_builds_it_from_the_platform_settings(tmp_path):
    cls = load_backends()["elasticsearch"].load()
    backend = cls({"ELASTICSEARCH_URL": "http://127.0.0.1:9", "INSTANCE_PATH": str(tmp_path)}, {})
    assert cls is ElasticsearchBackend
    assert backend.alias(STREET) == "shangdu-street"


def test_without_a_url_searches_say_unavailable_and_health_says_why(tmp_path):
    backend = make_backend(None, tmp_path)
    with pytest.raises(SearchUnavailable, match="MARKETPLACE_ELASTICSEARCH_URL"):
        backend.search(STREET, SearchQuery())
    healthy, detail = backend.health()
    assert (healthy, detail) == (False, "elasticsearch: MARKETPLACE_ELASTICSEARCH_URL is not set")


# -- writing -----------------------------------------------------------------------------------------------------

def test_first_write_creates_a_versioned_index_behind_the_alias_with_whitespace_analysis(es, backend):
    es.answer("GET", "/shangdu-street_v*/_alias", {})
    es.answer("PUT", "/shangdu-street_v1", {**ACKNOWLEDGED, "shards_acknowledged": True, "index": "shangdu-street_v1"})
    es.answer("PUT", "/_bulk", bulk_answer)

    assert backend.index(STREET, [fuji_apples()]) == 1

    created = es.sent("PUT", "/shangdu-street_v1")[0].body
    assert created["aliases"] == {"shangdu-street": {}}
    analyzers = created["settings"]["analysis"]["analyzer"]
    assert analyzers == {"pre_analysed": {"type": "custom", "tokenizer": "whitespace"}}
    properties = created["mappings"]["properties"]
    assert created["mappings"]["dynamic"] == "strict"
    for name in FIELDS:
        assert properties[name] == {"type": "text", "analyzer": "pre_analysed"}
    for name in ("facets", "kind", "product_type"):
        assert properties[name]["type"] == "keyword"
    for name in ("shop_id", "category_ids", "price_min", "price_max", "sales", "credit_score"):
        assert properties[name]["type"] == "long"
    assert properties["in_stock"]["type"] == properties["credit_rated"]["type"] == "boolean"
    assert properties["credit_level"]["type"] == "keyword"
    assert es.sent("PUT", "/shangdu-street/_mapping") == []  # a new index has every field already
    assert properties["suggest_words"]["analyzer"] == properties["suggest_pinyin"]["analyzer"] == "pre_analysed"


def test_a_tenants_shard_and_replica_options_shape_its_next_index(es, tmp_path):
    with pytest.raises(BackendError, match="no option index"):
        check_options(ElasticsearchBackend, {"index": "nongzi"})
    backend = ElasticsearchBackend({"ELASTICSEARCH_URL": es.url},
                                   check_options(ElasticsearchBackend, {"shards": 2, "replicas": 0}))
    es.answer("GET", "/shangdu-street_v*/_alias", {})
    es.answer("PUT", "/shangdu-street_v1", {**ACKNOWLEDGED, "shards_acknowledged": True, "index": "shangdu-street_v1"})
    es.answer("PUT", "/_bulk", bulk_answer)
    try:
        backend.index(STREET, [fuji_apples()])
    finally:
        backend.close()
    settings = es.sent("PUT", "/shangdu-street_v1")[0].body["settings"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (2, 0)


def test_bulk_body_carries_the_analysed_fields_and_one_suggestion_per_category_and_shop(es, backend):
    es.answer("GET", "/shangdu-street_v*/_alias", {"shangdu-street_v4": {"aliases": {"shangdu-street": {}}}})
    es.answer("PUT", "/shangdu-street/_mapping", ACKNOWLEDGED)
    es.answer("PUT", "/_bulk", bulk_answer)

    backend.index(STREET, [fuji_apples(1), fuji_apples(2, title="富士苹果 10kg")])
    backend.index(STREET, [fuji_apples(3)])

    assert es.sent("PUT", "/shangdu-street_v5") == []  # the live version is used, not replaced
    assert len(es.sent("GET", "/shangdu-street_v*/_alias")) == 1  # looked up once per process
    first, second = es.sent("PUT", "/_bulk")
    assert first.params == {"refresh": "wait_for", "require_alias": "true"}
    actions = first.body[0::2]
    assert [a["index"]["_id"] for a in actions] == ["1", "category-7", "shop-3", "2"]
    assert {a["index"]["_index"] for a in actions} == {"shangdu-street"}
    product = first.body[1]
    assert product["title"] == "红富士 富士 苹果 5kg"
    assert product["grams"].startswith("红富 富士 士苹 苹果")
    assert product["pinyin"] == "hong fu shi hongfushi hfs ping guo pingguo pg hfspg"
    assert product["facets"] == ["variety=fuji"]
    assert product["category_ids"] == [2, 7] and product["kind"] == "product"
    assert product["price_min"] == 2_990 and product["in_stock"] is True
    assert (product["sales"], product["credit_score"], product["credit_level"], product["credit_rated"]) == (
        12, 0, "new", False)
    assert product["suggest_words"].startswith("红富士 富士 苹果 5kg 红富")
    assert first.body[3] == {"kind": "category", "display": "苹果", "ref": 7,
                             "suggest_words": "苹果 苹果 苹 果", "suggest_pinyin": "ping guo pingguo pg"}
    assert first.body[5]["kind"] == "shop" and first.body[5]["display"] == "德华街水果店"


def test_an_index_made_before_the_credit_fields_gets_them_added_once_per_process(es, backend):
    """A tenant indexed by an earlier release: its strict mapping would refuse documents with credit fields, so the
    first write adds them (adding fields is the one change Elasticsearch allows on a live mapping)."""
    es.answer("GET", "/shangdu-street_v*/_alias", {"shangdu-street_v2": {"aliases": {"shangdu-street": {}}}})
    es.answer("PUT", "/shangdu-street/_mapping", ACKNOWLEDGED)
    es.answer("PUT", "/_bulk", bulk_answer)

    backend.index(STREET, [fuji_apples(1, credit_score=93, credit_level="A")])
    backend.index(STREET, [fuji_apples(2)])

    order = [(r.method, r.path) for r in es.requests]
    assert order == [("GET", "/shangdu-street_v*/_alias"), ("PUT", "/shangdu-street/_mapping"), ("PUT", "/_bulk"),
                     ("PUT", "/_bulk")]
    added = es.sent("PUT", "/shangdu-street/_mapping")[0].body
    assert added == {"properties": {"credit_score": {"type": "long"}, "credit_level": {"type": "keyword"},
                                    "credit_rated": {"type": "boolean"}}}
    first = es.sent("PUT", "/_bulk")[0].body[1]
    assert (first["credit_score"], first["credit_level"], first["credit_rated"]) == (93, "A", True)


def test_delete_sends_bulk_deletes_and_ignores_ids_already_gone(es, backend):
    es.answer("GET", "/shangdu-street_v*/_alias", {"shangdu-street_v1": {"aliases": {"shangdu-street": {}}}})
    es.answer("PUT", "/shangdu-street/_mapping", ACKNOWLEDGED)
    es.answer("PUT", "/_bulk", bulk_answer)

    backend.delete(STREET, [5, 404])

    sent = es.sent("PUT", "/_bulk")[0]
    assert sent.body == [{"delete": {"_index": "shangdu-street", "_id": "5"}},
                         {"delete": {"_index": "shangdu-street", "_id": "404"}}]
    assert sent.params["refresh"] == "wait_for"


def test_a_delete_first_still_brings_an_old_mapping_up_to_date_before_the_next_write(es, backend):
    es.answer("GET", "/shangdu-street_v*/_alias", {"shangdu-street_v2": {"aliases": {"shangdu-street": {}}}})
    es.answer("PUT", "/shangdu-street/_mapping", ACKNOWLEDGED)
    es.answer("PUT", "/_bulk", bulk_answer)

    backend.delete(STREET, [5])
    backend.index(STREET, [fuji_apples(1, credit_score=93, credit_level="A")])

    order = [(r.method, r.path) for r in es.requests]
    assert order == [("GET", "/shangdu-street_v*/_alias"), ("PUT", "/shangdu-street/_mapping"), ("PUT", "/_bulk"),
                     ("PUT", "/_bulk")]


def test_delete_for_a_tenant_without_an_index_sends_nothing(es, backend):
    es.answer("GET", "/shangdu-street_v*/_alias", {})
    backend.delete(STREET, [5])
    assert es.sent("PUT", "/_bulk") == []


def test_reindex_loads_the_next_version_then_swaps_the_alias_in_one_call(es, backend):
    # v1 is live; v2 was left behind by an interrupted reindex.
    es.answer("GET", "/shangdu-street_v*/_alias", {"shangdu-street_v1": {"aliases": {"shangdu-street": {}}},
                                                   "shangdu-street_v2": {"aliases": {}}})
    es.answer("PUT", "/shangdu-street_v3", {**ACKNOWLEDGED, "shards_acknowledged": True, "index": "shangdu-street_v3"})
    es.answer("PUT", "/_bulk", bulk_answer)
    es.answer("POST", "/shangdu-street_v3/_refresh", {"_shards": {"total": 2, "successful": 1, "failed": 0}})
    es.answer("POST", "/_aliases", ACKNOWLEDGED)
    es.answer("DELETE", "/shangdu-street_v1,shangdu-street_v2", ACKNOWLEDGED)

    count = backend.reindex(STREET, iter([fuji_apples(1), fuji_apples(2), fuji_apples(3, shop_id=4)]))

    assert count == 3
    order = [(r.method, r.path) for r in es.requests]
    assert order == [("GET", "/shangdu-street_v*/_alias"), ("PUT", "/shangdu-street_v3"), ("PUT", "/_bulk"),
                     ("POST", "/shangdu-street_v3/_refresh"), ("POST", "/_aliases"),
                     ("DELETE", "/shangdu-street_v1,shangdu-street_v2")]
    assert "aliases" not in es.sent("PUT", "/shangdu-street_v3")[0].body  # invisible until the swap
    bulk = es.sent("PUT", "/_bulk")[0]
    assert "refresh" not in bulk.params
    ids = [a["index"]["_id"] for a in bulk.body[0::2]]
    assert ids == ["1", "category-7", "shop-3", "2", "3", "shop-4"]
    assert {a["index"]["_index"] for a in bulk.body[0::2]} == {"shangdu-street_v3"}
    assert es.sent("POST", "/_aliases")[0].body == {"actions": [
        {"remove": {"index": "shangdu-street_v1", "alias": "shangdu-street"}},
        {"add": {"index": "shangdu-street_v3", "alias": "shangdu-street"}},
    ]}


def test_a_failed_reindex_removes_its_new_index_and_leaves_the_alias_alone(es, backend):
    es.answer("GET", "/shangdu-street_v*/_alias", {"shangdu-street_v1": {"aliases": {"shangdu-street": {}}}})
    es.answer("PUT", "/shangdu-street_v2", {**ACKNOWLEDGED, "shards_acknowledged": True, "index": "shangdu-street_v2"})
    error = {"type": "document_parsing_exception", "reason": "[1:2] failed to parse field [price_min] of type [long]"}
    es.answer("PUT", "/_bulk", lambda request: bulk_answer(request, failing={"2": error}))
    es.answer("DELETE", "/shangdu-street_v2", ACKNOWLEDGED)

    with pytest.raises(Exception, match="failed to index"):
        backend.reindex(STREET, iter([fuji_apples(1), fuji_apples(2)]))

    assert len(es.sent("DELETE", "/shangdu-street_v2")) == 1
    assert es.sent("POST", "/_aliases") == [] and es.sent("DELETE", "/shangdu-street_v1") == []


def test_drop_deletes_every_version_of_the_tenant(es, backend):
    es.answer("GET", "/shangdu-street_v*/_alias", {"shangdu-street_v7": {"aliases": {"shangdu-street": {}}},
                                                   "shangdu-street_v8": {"aliases": {}}})
    es.answer("DELETE", "/shangdu-street_v7,shangdu-street_v8", ACKNOWLEDGED)
    backend.drop(STREET)
    assert len(es.sent("DELETE", "/shangdu-street_v7,shangdu-street_v8")) == 1


# -- searching ---------------------------------------------------------------------------------------------------

FILTERED = SearchQuery(
    text="苹果 红富士", terms=[Term("苹果", "hanzi", (("苹果",),)), bigram_term("红富士")],
    category_id=2, shop_id=3, price_min=1_000, price_max=5_000, in_stock=True,
    attributes={"variety": ["fuji", "gala"], "grade": ["一级"]}, credit_levels=["A", "new"], sort="price_asc",
    page=2, size=10)

RECORDED_SEARCH = {
    "took": 4, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
    "hits": {"total": {"value": 23, "relation": "eq"}, "max_score": None, "hits": [
        {"_index": "shangdu-street_v3", "_id": "12", "_score": None, "sort": [1990, 12]},
        {"_index": "shangdu-street_v3", "_id": "5", "_score": None, "sort": [2990, 5]},
        {"_index": "shangdu-street_v3", "_id": "9", "_score": None, "sort": [2990, 9]},
    ]},
    "aggregations": {
        "category": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                     "buckets": [{"key": 2, "doc_count": 23}, {"key": 7, "doc_count": 20}, {"key": 8, "doc_count": 3}]},
        "shop": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                 "buckets": [{"key": 3, "doc_count": 15}, {"key": 4, "doc_count": 8}]},
        "price": {"buckets": [
            {"key": "0-1000", "from": 0.0, "to": 1000.0, "doc_count": 0},
            {"key": "1000-5000", "from": 1000.0, "to": 5000.0, "doc_count": 21},
            {"key": "5000-10000", "from": 5000.0, "to": 10000.0, "doc_count": 1},
            {"key": "10000-50000", "from": 10000.0, "to": 50000.0, "doc_count": 0},
            {"key": "50000-100000", "from": 50000.0, "to": 100000.0, "doc_count": 0},
            {"key": "100000-", "from": 100000.0, "doc_count": 1},
        ]},
        "in_stock": {"doc_count": 17},
        "credit": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                   "buckets": [{"key": "A", "doc_count": 15}, {"key": "new", "doc_count": 8}]},
        "attributes": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
            {"key": "variety=fuji", "doc_count": 9}, {"key": "grade=一级", "doc_count": 6},
            {"key": "variety=gala", "doc_count": 6}, {"key": "size=L", "doc_count": 4}]},
    },
}


def test_search_request_requires_every_term_as_any_alternative_in_any_field(es, backend):
    es.answer("POST", "/shangdu-street/_search", RECORDED_SEARCH)

    backend.search(STREET, FILTERED)

    sent = es.sent("POST", "/shangdu-street/_search")[0].body
    assert (sent["from"], sent["size"], sent["track_total_hits"], sent["_source"]) == (10, 10, True, False)
    apple, fuji = sent["query"]["bool"]["must"]
    assert apple["bool"]["minimum_should_match"] == 1
    assert apple["bool"]["should"] == [{"term": {field: {"value": "苹果", "boost": weight}}}
                                       for field, weight in FIELD_WEIGHTS.items()]
    should = fuji["bool"]["should"]
    assert {"term": {"title": {"value": "红富士", "boost": FIELD_WEIGHTS["title"]}}} in should
    assert {"match_phrase": {"grams": {"query": "红富 富士", "boost": FIELD_WEIGHTS["grams"]}}} in should
    assert len(should) == 2 * len(FIELDS)
    assert sent["query"]["bool"]["filter"] == [
        {"term": {"kind": "product"}},
        {"term": {"category_ids": 2}},
        {"term": {"shop_id": 3}},
        {"range": {"price_min": {"gte": 1_000, "lt": 5_000}}},
        {"term": {"in_stock": True}},
        {"terms": {"facets": ["grade=一级"]}},
        {"terms": {"facets": ["variety=fuji", "variety=gala"]}},
        # "new" also finds documents indexed before credit levels existed (they have none).
        {"bool": {"should": [{"terms": {"credit_level": ["A", "new"]}},
                             {"bool": {"must_not": {"exists": {"field": "credit_level"}}}}], "minimum_should_match": 1}},
    ]
    assert sent["sort"] == [{"price_min": "asc"}, {"id": "desc"}]
    aggs = sent["aggs"]
    assert aggs["category"]["terms"]["field"] == "category_ids"
    assert aggs["shop"]["terms"]["field"] == "shop_id"
    assert aggs["attributes"]["terms"]["field"] == "facets"
    assert aggs["in_stock"] == {"filter": {"term": {"in_stock": True}}}
    assert aggs["credit"] == {"terms": {"field": "credit_level", "size": 5, "missing": "new"}}
    ranges = aggs["price"]["range"]["ranges"]
    assert [r["key"] for r in ranges] == [f"{low}-{high or ''}" for low, high in PRICE_BUCKETS]
    assert ranges[0] == {"key": "0-1000", "from": 0, "to": 1000} and ranges[-1] == {"key": "100000-", "from": 100000}


@pytest.mark.parametrize(("sort", "terms", "expected"), [
    ("relevance", True, [{"_score": "desc"}, {"id": "desc"}]),
    ("relevance", False, [{"published_at": "desc"}, {"id": "desc"}]),
    ("price_desc", True, [{"price_min": "desc"}, {"id": "desc"}]),
    ("newest", True, [{"published_at": "desc"}, {"id": "desc"}]),
    ("sales", True, [{"sales": "desc"}, {"published_at": "desc"}, {"id": "desc"}]),
    # Rated shops first; an index made before the credit fields existed still sorts (unmapped_type) instead of failing.
    ("credit", False, [{"credit_rated": {"order": "desc", "unmapped_type": "boolean"}},
                       {"credit_score": {"order": "desc", "unmapped_type": "long"}}, {"published_at": "desc"},
                       {"id": "desc"}]),
])
def test_sorts_break_ties_like_the_embedded_backend(es, backend, sort, terms, expected):
    es.answer("POST", "/shangdu-street/_search", RECORDED_SEARCH)
    query = SearchQuery(terms=[Term("苹果", "hanzi", (("苹果",),))] if terms else [], sort=sort, with_facets=False)
    backend.search(STREET, query)
    sent = es.sent("POST", "/shangdu-street/_search")[0].body
    assert sent["sort"] == expected
    assert "aggs" not in sent
    assert bool(sent["query"]["bool"]["must"]) is terms


def test_a_page_beyond_the_result_window_asks_only_for_the_total(es, backend):
    es.answer("POST", "/shangdu-street/_search", {**RECORDED_SEARCH, "hits": {**RECORDED_SEARCH["hits"], "hits": []}})
    result = backend.search(STREET, SearchQuery(page=999_999, size=24, with_facets=False))
    sent = es.sent("POST", "/shangdu-street/_search")[0].body
    assert (sent["from"], sent["size"]) == (0, 0)
    assert (result.ids, result.total) == ([], 23)


def test_a_recorded_response_becomes_ids_in_order_total_and_facets(es, backend):
    es.answer("POST", "/shangdu-street/_search", RECORDED_SEARCH)

    result = backend.search(STREET, FILTERED)

    assert result.ids == [12, 5, 9]
    assert result.total == 23
    counts = {name: [(v.value, v.count) for v in values] for name, values in result.facets.items()}
    assert counts == {
        "category": [("2", 23), ("7", 20), ("8", 3)],
        "shop": [("3", 15), ("4", 8)],
        "price": [("1000-5000", 21), ("100000-", 1), ("5000-10000", 1)],
        "in_stock": [("true", 17)],
        "credit": [("A", 15), ("new", 8)],
        "attr.variety": [("fuji", 9), ("gala", 6)],
        "attr.grade": [("一级", 6)],
        "attr.size": [("L", 4)],
    }


def test_a_tenant_with_nothing_indexed_finds_nothing(es, backend):
    es.answer("POST", "/shangdu-street/_search", NO_SUCH_INDEX, status=404)
    result = backend.search(STREET, SearchQuery(terms=[Term("苹果", "hanzi", (("苹果",),))]))
    assert (result.ids, result.total) == ([], 0)
    assert backend.suggest(STREET, [Term("苹", "hanzi", (("苹",),))]) == []


def test_an_overloaded_cluster_is_an_outage_not_a_crash(es, backend):
    busy = {"error": {"root_cause": [{"type": "es_rejected_execution_exception", "reason": "rejected execution"}],
                      "type": "es_rejected_execution_exception", "reason": "rejected execution"}, "status": 429}
    es.answer("POST", "/shangdu-street/_search", busy, status=429)
    with pytest.raises(SearchUnavailable, match="es_rejected_execution_exception"):
        backend.search(STREET, SearchQuery())


def test_a_refused_connection_is_search_unavailable_and_unhealthy(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = make_backend(f"http://127.0.0.1:{port}", tmp_path)
    try:
        with pytest.raises(SearchUnavailable, match="ConnectionError"):
            backend.search(STREET, FILTERED)
        with pytest.raises(SearchUnavailable):
            backend.suggest(STREET, [Term("pin", "latin", (("pin",),))])
        healthy, detail = backend.health()
        assert not healthy and detail.startswith("elasticsearch: ConnectionError")
        assert str(port) not in detail
    finally:
        backend.close()


def test_health_reports_the_cluster_state(es, backend):
    es.answer("GET", "/_cluster/health", {"cluster_name": "shangdu-prod", "status": "yellow", "timed_out": False,
                                          "number_of_nodes": 1, "number_of_data_nodes": 1,
                                          "active_primary_shards": 12, "active_shards": 12, "unassigned_shards": 12})
    assert backend.health() == (True, "elasticsearch (shangdu-prod: yellow)")
    es.answer("GET", "/_cluster/health", {"cluster_name": "shangdu-prod", "status": "red", "timed_out": False})
    assert backend.health() == (False, "elasticsearch: cluster shangdu-prod is red")


# -- suggestions -------------------------------------------------------------------------------------------------

def test_suggest_matches_earlier_terms_whole_and_the_last_as_a_prefix(es, backend):
    es.answer("POST", "/shangdu-street/_search", {
        "took": 2, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": 4, "relation": "eq"}, "max_score": 5.1, "hits": [
            {"_index": "shangdu-street_v3", "_id": "category-7", "_score": 5.1,
             "_source": {"display": "苹果", "kind": "category", "ref": 7}},
            {"_index": "shangdu-street_v3", "_id": "2", "_score": 3.1,
             "_source": {"display": "红富士苹果 10kg", "kind": "product", "ref": 2}},
            {"_index": "shangdu-street_v3", "_id": "1", "_score": 3.1,
             "_source": {"display": "红富士苹果 5kg", "kind": "product", "ref": 1}},
            {"_index": "shangdu-street_v3", "_id": "8", "_score": 3.0,
             "_source": {"display": "红富士苹果 5KG", "kind": "product", "ref": 8}},
        ]}})

    found = backend.suggest(STREET, [bigram_term("红富士"), Term("pin", "latin", (("pin",),))], limit=5)

    assert found == [Suggestion("苹果", "category", 7), Suggestion("红富士苹果 5kg", "product", 1),
                     Suggestion("红富士苹果 10kg", "product", 2)]
    sent = es.sent("POST", "/shangdu-street/_search")[0].body
    whole, prefix = sent["query"]["bool"]["must"]
    assert {"match_phrase": {"suggest_words": {"query": "红富 富士", "boost": 1.0}}} in whole["bool"]["should"]
    assert prefix["bool"]["should"] == [{"prefix": {"suggest_words": "pin"}}, {"prefix": {"suggest_pinyin": "pin"}}]
    assert {"term": {"kind": {"value": "category", "boost": 2.0}}} in sent["query"]["bool"]["should"]
    assert sent["size"] == 20 and sent["_source"] == ["display", "kind", "ref"]


# == Live server ==================================================================================================
# These run only when ELASTICSEARCH_URL points at a real Elasticsearch 9 server, and leave nothing behind.

live = pytest.mark.skipif(not os.environ.get("ELASTICSEARCH_URL"),
                          reason="needs Elasticsearch: set ELASTICSEARCH_URL=http://… (no server can run on these machines)")


@pytest.fixture
def live_backend(tmp_path):
    backend = make_backend(os.environ["ELASTICSEARCH_URL"], tmp_path, prefix=f"shangdu-test-{uuid.uuid4().hex[:8]}")
    yield backend
    backend.drop(STREET)
    backend.close()


@live
def test_live_index_search_facets_suggest_reindex_and_delete(live_backend):
    backend = live_backend
    assert backend.health()[0]
    backend.index(STREET, [fuji_apples(1), fuji_apples(2, title="富士苹果 10kg", price_min=6_000, in_stock=False)])
    query = SearchQuery(terms=[Term("苹果", "hanzi", (("苹果",),)), bigram_term("红富士")])

    result = backend.search(STREET, query)
    assert sorted(result.ids) == [1, 2] and result.total == 2
    assert {v.value: v.count for v in result.facets["price"]} == {"1000-5000": 1, "5000-10000": 1}
    assert result.facets["in_stock"][0].count == 1
    assert result.facets["attr.variety"][0].value == "fuji"
    assert backend.search(STREET, SearchQuery(terms=query.terms, sort="price_desc")).ids == [2, 1]
    assert backend.search(STREET, SearchQuery(terms=query.terms, in_stock=True)).ids == [1]
    kinds = {s.kind for s in backend.suggest(STREET, [Term("pin", "latin", (("pin",),))])}
    assert kinds == {"product", "category"}

    assert backend.reindex(STREET, iter([fuji_apples(3)])) == 1
    assert backend.search(STREET, query).ids == [3]
    versions = backend.client.indices.get_alias(name=backend.alias(STREET)).body
    assert list(versions) == [f"{backend.alias(STREET)}_v2"]

    backend.delete(STREET, [3])
    assert backend.search(STREET, query).total == 0
