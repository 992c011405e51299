"""The OpenAPI document: served, well-formed, and describing every operation the API has, errors included."""

from __future__ import annotations

import re

import pytest

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
#: Public reads under a shop's path (everything else under /shops/{shop_slug}/ is the merchant's, with a token).
PUBLIC_UNDER_SHOPS = {"/api/v1/tenants/{tenant_slug}/shops/{shop_slug}/reviews"}


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def resolve(document: dict, node: dict) -> dict:
    """Follow a local ``$ref`` (failing when it points nowhere)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are expected: {ref}"
        target = document
        for part in ref[2:].split("/"):
            assert part in target, f"dangling reference {ref}"
            target = target[part]
        node, seen = target, seen + 1
        assert seen < 20, f"reference loop at {ref}"
    return node


def all_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_refs(value)


def test_the_document_names_the_api(document):
    assert document["openapi"] == "3.0.3"
    assert document["info"] == {**document["info"], "title": "网上商都 Online Commercial Capital API", "version": "v1"}
    assert document["components"]["securitySchemes"]["bearerAuth"] == {**document["components"]["securitySchemes"][
        "bearerAuth"], "type": "http", "scheme": "bearer"}


def test_every_api_route_is_documented(app, document):
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in HTTP_METHODS}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1/tenants", "/api/v1/badges/", "/api/v1/statistics")):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routed |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert len(routed) >= 10
    assert routed == documented
    # What the issue asks for, by name.
    for path, method in [("/api/v1/tenants/{tenant_slug}/shops", "get"),
                         ("/api/v1/tenants/{tenant_slug}/shops/{shop_slug}", "get"),
                         ("/api/v1/tenants/{tenant_slug}/categories", "get"),
                         ("/api/v1/tenants/{tenant_slug}/products", "get"),
                         ("/api/v1/tenants/{tenant_slug}/products/{product_id}", "get"),
                         ("/api/v1/tenants/{tenant_slug}/shops/{shop_slug}/products", "post"),
                         ("/api/v1/tenants/{tenant_slug}/shops/{shop_slug}/products/{product_id}", "patch"),
                         ("/api/v1/tenants/{tenant_slug}/shops/{shop_slug}/products/{product_id}/publish", "post"),
                         ("/api/v1/tenants/{tenant_slug}/shops/{shop_slug}/variants/stock", "post")]:
        assert (path, method) in documented


def test_every_operation_is_fully_described(document):
    for path, item in document["paths"].items():
        path_params = [resolve(document, p) for p in item.get("parameters", [])]
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            params = path_params + [resolve(document, p) for p in operation.get("parameters", [])]
            for param in params:
                assert param.get("schema"), f"{where}: parameter {param.get('name')} has no schema"
            named = {p["name"] for p in params if p["in"] == "path"}
            assert named == set(re.findall(r"{(\w+)}", path)), f"{where}: path parameters {named}"

            if "requestBody" in operation:
                body = resolve(document, operation["requestBody"])
                assert body["content"], f"{where}: request body without content"
                for media in body["content"].values():
                    assert resolve(document, media["schema"]).get("properties"), f"{where}: request body schema"

            responses = operation.get("responses")
            assert responses, f"{where} has no responses"
            statuses = {code for code in responses if code != "default"}
            assert any(code.startswith("2") for code in statuses), f"{where} documents no success"
            assert {"404"} <= statuses, f"{where} does not document 404"
            if "/shops/{shop_slug}/" in path and path not in PUBLIC_UNDER_SHOPS:
                assert {"401", "403"} <= statuses, f"{where} does not document its auth errors"
                security = operation.get("security") or [{}]
                assert list(security[0]) == ["bearerAuth"] and len(security[0]["bearerAuth"]) == 1, \
                    f"{where} does not say it needs a token with one scope"
            if "requestBody" in operation or any(p["in"] == "query" for p in params):
                assert "422" in statuses, f"{where} does not document validation errors"
            for code, response in responses.items():
                response = resolve(document, response)
                assert response.get("description"), f"{where} {code}: no description"
                content = response.get("content")
                assert content, f"{where} {code}: no response schema"
                for media_type, media in content.items():
                    schema = resolve(document, media["schema"])
                    assert schema.get("properties"), f"{where} {code}: empty schema"
                    if code >= "400" or code == "default":
                        assert media_type == "application/problem+json"
                        assert {"type", "status", "code", "title", "detail", "errors"} <= set(schema["properties"])


def test_every_reference_resolves(document):
    refs = set(all_refs(document))
    assert refs
    for ref in refs:
        resolve(document, {"$ref": ref})


def test_the_docs_page_is_served_from_the_document_without_outside_assets(client, document):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script" not in html and "https://" not in html and "//cdn" not in html
    for path, item in document["paths"].items():
        assert path in html
        assert all(operation["summary"] in html for method, operation in item.items() if method in HTTP_METHODS)
    assert 'id="schema-ProductIn"' in html and "openapi.json" in html
