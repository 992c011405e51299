"""Whatever a client sends, the API answers with problem JSON and a 4xx, never a 500, and writes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Product, Variant
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope

GOOD = {"category": "tools", "title": "锄头", "variants": [{"sku": "HOE-1", "price": 2500, "stock": 3}]}


def variant(**changes) -> dict:
    return {**GOOD, "variants": [{**GOOD["variants"][0], **changes}]}


DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000

#: Bodies sent as application/json, with the status creating a product from them answers.
RAW_BODIES = [
    (b"", 422), (b"null", 422), (b"[]", 422), (b"42", 422), (b'"text"', 422), (b"{", 400),
    (b"{'single': 'quotes'}", 400), (b"\xff\xfe\x00garbage", 400), (DEEP.encode(), 400),
    (DEEP_OBJECT.encode(), 400), (b'{"title": ' + b"9" * 5000 + b"}", 400), (b'{"moq": NaN}', 422),
    (b'{"moq": Infinity}', 422), (json.dumps({**GOOD, "title": "\u0000"}).encode(), 422),
    ('{"title": "\ud800"}'.encode("utf-8", "surrogatepass"), 400),
]

JSON_BODIES = [
    {**GOOD, "title": ["a", "list"]},
    {**GOOD, "title": {"nested": {"deeper": [1, 2, {"deepest": None}]}}},
    {**GOOD, "title": "锄头\u0000"},
    {**GOOD, "title": "x" * 100_000},
    {**GOOD, "description": "\x00" * 10},
    {**GOOD, "category": "\u0000"},
    {**GOOD, "category": None},
    {**GOOD, "moq": 10**30},
    {**GOOD, "moq": -(10**30)},
    {**GOOD, "moq": 1.5},
    {**GOOD, "moq": True},
    {**GOOD, "publish": "maybe"},
    {**GOOD, "variants": []},
    {**GOOD, "variants": "HOE-1"},
    {**GOOD, "variants": [None]},
    {**GOOD, "variants": [[[[[]]]]]},
    {**GOOD, "variants": [GOOD["variants"][0]] * 500},
    {**GOOD, "attributes": []},
    {**GOOD, "attributes": {"brand": {"nested": "object"}}},
    {**GOOD, "attributes": {"brand": ["a", "list"]}},
    {**GOOD, "attributes": {"warranty_months": 10**100}},
    {**GOOD, "attributes": {"warranty_months": "1e999"}},
    {**GOOD, "attributes": {"brand": "\x00"}},
    {**GOOD, "attributes": {"": "empty name"}},
    {**GOOD, "attributes": {f"a{n}": n for n in range(500)}},
    variant(price=10**20),
    variant(price="12.50"),
    variant(price=None),
    variant(stock=2**31),
    variant(sku="\u0000"),
    variant(sku="x" * 1000),
    variant(sku=123),
    variant(options={"size": {"nested": 1}}),
    variant(options=["L"]),
    variant(barcode="\x00"),
    variant(weight_g=-1),
    variant(compare_at_price=1),
    variant(tiers=[{"min_quantity": 1, "unit_price": 1}]),
    variant(tiers=[{"min_quantity": 10**12, "unit_price": 1}]),
    variant(tiers=[{"min_quantity": 10, "unit_price": 9999}]),
    variant(tiers=["10:9.80"]),
]

STOCK_BODIES = [
    {}, {"items": []}, {"items": None}, {"items": "all"}, {"items": [{}]}, {"items": [{"sku": "HOE-1"}]},
    {"items": [{"sku": "HOE-1", "stock": 10**40}]}, {"items": [{"sku": "HOE-1", "adjust": -(10**40)}]},
    {"items": [{"sku": "HOE-1", "stock": "5"}]}, {"items": [{"sku": "\u0000", "stock": 5}]},
    {"items": [{"sku": ["HOE-1"], "stock": 5}]}, {"items": [{"sku": "HOE-1", "stock": 1}] * 5000},
]

QUERIES = [
    "page=0", "page=-1", "page=abc", "page=1e309", "page=" + "9" * 5000, "page=99999999999999999999",
    "page_size=0", "page_size=100000", "page_size=1.5", "category=%00", "category=" + "x" * 5000,
    "category=A%20B", "shop=%ff%fe", "shop=../../etc", "page=%00", "category=food&category=tea",
]


@pytest.fixture
def shop_with_a_product(client, merchant, make_category):
    make_category(merchant.tenant, slug="tools", product_type="general.goods")
    response = client.post(f"{merchant.base}/products", json=GOOD, headers=merchant.headers)
    assert response.status_code == 201
    return response.get_json()["id"]


def snapshot(merchant) -> tuple:
    with tenant_scope(merchant.tenant):
        return (db.session.scalar(select(func.count(Product.id))),
                tuple(db.session.execute(select(Variant.sku, Variant.stock, Variant.price)).all()),
                tuple(db.session.scalars(select(Product.title))))


def refused(response) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == response.status_code and body["code"] and body["title"]
    return body


@pytest.mark.parametrize(("raw", "status"), RAW_BODIES, ids=range(len(RAW_BODIES)))
def test_unreadable_bodies_are_refused(client, merchant, shop_with_a_product, raw, status):
    before = snapshot(merchant)
    response = client.post(f"{merchant.base}/products", data=raw, content_type="application/json",
                           headers=merchant.headers)
    assert refused(response)["code"] == {400: "invalid_json", 422: "validation_failed"}[status]
    for method, url in [("post", f"{merchant.base}/products"),
                        ("patch", f"{merchant.base}/products/{shop_with_a_product}"),
                        ("post", f"{merchant.base}/variants/stock")]:
        response = getattr(client, method)(url, data=raw, content_type="application/json", headers=merchant.headers)
        if response.status_code == 200 and method == "patch":  # an empty or null PATCH changes nothing
            continue
        refused(response)
    assert snapshot(merchant) == before


@pytest.mark.parametrize("body", JSON_BODIES, ids=range(len(JSON_BODIES)))
def test_wrong_types_and_sizes_are_refused(client, merchant, shop_with_a_product, body):
    before = snapshot(merchant)
    created = client.post(f"{merchant.base}/products", json={**body, "variants": body["variants"]},
                          headers=merchant.headers)
    problem = refused(created)
    assert problem.get("errors"), problem
    patch = {k: v for k, v in body.items() if k != "category" or v != "tools"}
    refused(client.patch(f"{merchant.base}/products/{shop_with_a_product}", json=patch, headers=merchant.headers))
    assert snapshot(merchant) == before


@pytest.mark.parametrize("body", STOCK_BODIES, ids=range(len(STOCK_BODIES)))
def test_bad_stock_requests_are_refused(client, merchant, shop_with_a_product, body):
    before = snapshot(merchant)
    refused(client.post(f"{merchant.base}/variants/stock", json=body, headers=merchant.headers))
    assert snapshot(merchant) == before


@pytest.mark.parametrize("query", QUERIES)
def test_bad_query_parameters_are_refused_or_ignored(client, merchant, shop_with_a_product, query):
    response = client.get(f"/api/v1/tenants/{merchant.tenant.slug}/products?{query}")
    if response.status_code != 200:
        refused(response)


@pytest.mark.parametrize("path", [
    "/products/99999999999999999999999", "/products/-1", "/products/1.5", "/products/%00", "/shops/%00",
    "/shops/" + "x" * 500, "/shops/UPPER", "/categories/extra", "/products/1/../../../etc/passwd",
])
def test_bad_paths_are_not_found(client, merchant, path):
    refused(client.get(f"/api/v1/tenants/{merchant.tenant.slug}{path}"))


def test_wrong_methods_and_content_types_are_refused(client, merchant, shop_with_a_product):
    refused(client.delete(f"/api/v1/tenants/{merchant.tenant.slug}/products"))
    refused(client.put(f"{merchant.base}/products/{shop_with_a_product}", json=GOOD, headers=merchant.headers))
    form = client.post(f"{merchant.base}/products", data={"title": "表单"}, headers=merchant.headers)
    assert refused(form)["errors"]


def test_errors_point_at_the_field_in_the_request(client, merchant, shop_with_a_product):
    body = {**GOOD, "attributes": {"brand": {"nested": 1}}, "variants": [{**GOOD["variants"][0], "options": {"size": 1}}]}
    problem = refused(client.post(f"{merchant.base}/products", json=body, headers=merchant.headers))
    assert set(problem["errors"]) == {"attributes.brand", "variants.0.options.size"}


def test_a_number_out_of_range_in_the_path_is_not_found_whatever_the_method(client, merchant):
    """Werkzeug would say 405 (another method's rule has the same shape): nothing is there, so 404."""
    for method in ("PATCH", "GET", "POST"):
        response = client.open(f"{merchant.base}/products/6874357022088", method=method, json={},
                               headers=merchant.headers)
        assert response.status_code == 404, (method, response.status_code)
        assert response.mimetype == "application/problem+json"
    assert client.open(f"{merchant.base}/products", method="DELETE", headers=merchant.headers).status_code == 405
