"""Merchant writes through the API: create, change, publish and restock, with refusals as problem JSON."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product, Variant
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from tests.api.conftest import assert_problem
from tests.catalog.test_packs import COMPOUND, PESTICIDE


@pytest.fixture
def categories(merchant, make_category):
    return {
        "fertiliser": make_category(merchant.tenant, slug="fertiliser", name_zh="化肥",
                                    product_type="agri_inputs.fertiliser"),
        "pesticide": make_category(merchant.tenant, slug="pesticide", name_zh="农药",
                                   product_type="agri_inputs.pesticide"),
    }


def fertiliser(**changes) -> dict:
    body = {"category": "fertiliser", "title": "复合肥 15-15-15 40kg", "unit": "bag", "moq": 2,
            "description": "<p>颗粒均匀</p><script>alert(1)</script>", "attributes": dict(COMPOUND),
            "variants": [{"sku": "FERT-15-40", "price": 12500, "stock": 80, "weight_g": 40000,
                          "tiers": [{"min_quantity": 10, "unit_price": 12000}]}]}
    body.update(changes)
    return body


def product_count(merchant) -> int:
    with tenant_scope(merchant.tenant):
        return db.session.scalar(select(func.count(Product.id)))


def public(client, merchant, product_id):
    return client.get(f"/api/v1/tenants/{merchant.tenant.slug}/products/{product_id}")


def test_create_a_draft_then_publish_it(client, merchant, categories):
    response = client.post(f"{merchant.base}/products", json=fertiliser(), headers=merchant.headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "draft" and body["moq"] == 2 and "<script>" not in body["description"]
    assert body["variants"][0]["tiers"] == [{"min_quantity": 10, "unit_price": 12000}]
    assert response.headers["Location"].endswith(f"{merchant.base}/products/{body['id']}")
    assert client.get(response.headers["Location"], headers=merchant.headers).get_json()["status"] == "draft"
    assert public(client, merchant, body["id"]).status_code == 404  # a draft is not on sale

    published = client.post(f"{merchant.base}/products/{body['id']}/publish", headers=merchant.headers)
    assert published.status_code == 200 and published.get_json()["status"] == "active"
    assert public(client, merchant, body["id"]).get_json()["title"] == "复合肥 15-15-15 40kg"

    withdrawn = client.post(f"{merchant.base}/products/{body['id']}/unpublish", headers=merchant.headers)
    assert withdrawn.get_json()["status"] == "draft"
    assert public(client, merchant, body["id"]).status_code == 404


def test_create_and_publish_at_once(client, merchant, categories):
    response = client.post(f"{merchant.base}/products", json=fertiliser(publish=True), headers=merchant.headers)
    assert response.status_code == 201 and response.get_json()["status"] == "active"


def test_field_errors_come_back_per_field_and_nothing_is_written(client, merchant, categories):
    body = fertiliser(title="", moq=0, unit="furlong",
                      variants=[{"sku": "A", "price": -5, "stock": 1.5, "tiers": [{"min_quantity": "ten"}]}])
    problem = assert_problem(client.post(f"{merchant.base}/products", json=body, headers=merchant.headers), 422,
                             "validation_failed")
    assert set(problem["errors"]) >= {"title", "moq", "unit", "variants.0.price", "variants.0.stock",
                                      "variants.0.tiers.0.min_quantity", "variants.0.tiers.0.unit_price"}
    assert problem["errors"]["variants.0.tiers.0.unit_price"] == "必填。"
    assert product_count(merchant) == 0


def test_catalog_rules_are_field_errors_too(client, merchant, categories):
    wrong_sum = dict(COMPOUND, total_nutrient_pct="50")
    problem = assert_problem(client.post(f"{merchant.base}/products", json=fertiliser(attributes=wrong_sum),
                                         headers=merchant.headers), 422, "validation_failed")
    assert "attributes.total_nutrient_pct" in problem["errors"]

    problem = assert_problem(client.post(f"{merchant.base}/products", json=fertiliser(category="no-such"),
                                         headers=merchant.headers), 422, "validation_failed")
    assert "category" in problem["errors"]

    unknown = assert_problem(client.post(f"{merchant.base}/products", json=fertiliser(colour="red"),
                                         headers=merchant.headers), 422, "validation_failed")
    assert unknown["errors"] == {"colour": "不认识的字段。"}
    assert product_count(merchant) == 0


def test_publishing_a_gated_product_without_the_licence_says_which(client, merchant, categories):
    body = fertiliser(category="pesticide", title="吡虫啉 10% 可湿性粉剂", attributes=PESTICIDE,
                      variants=[{"sku": "PD-IMI-100", "price": 800, "stock": 10}])
    created = client.post(f"{merchant.base}/products", json=body, headers=merchant.headers).get_json()
    problem = assert_problem(client.post(f"{merchant.base}/products/{created['id']}/publish",
                                         headers=merchant.headers), 422, "validation_failed")
    assert "农药经营许可证" in problem["errors"]["licence"]
    assert public(client, merchant, created["id"]).status_code == 404


def test_publishing_an_incomplete_draft_lists_what_is_missing(client, merchant, categories):
    half = {k: v for k, v in COMPOUND.items() if k not in ("manufacturer", "net_content")}
    created = client.post(f"{merchant.base}/products", json=fertiliser(attributes=half), headers=merchant.headers)
    assert created.status_code == 201
    problem = assert_problem(client.post(f"{merchant.base}/products/{created.get_json()['id']}/publish",
                                         headers=merchant.headers), 422, "validation_failed")
    assert {"attributes.manufacturer", "attributes.net_content"} <= set(problem["errors"])


def test_patch_changes_only_what_it_names(client, merchant, categories):
    created = client.post(f"{merchant.base}/products", json=fertiliser(publish=True), headers=merchant.headers)
    url = f"{merchant.base}/products/{created.get_json()['id']}"
    response = client.patch(url, json={"title": "复合肥 15-15-15 40kg 新包装", "attributes": {"net_content": "50 kg"}},
                            headers=merchant.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    attributes = {a["name"]: a["value"] for a in body["attributes"]}
    assert body["title"].endswith("新包装") and attributes["net_content"] == "50 kg"
    assert attributes["manufacturer"] == COMPOUND["manufacturer"]  # merged, not replaced
    assert body["variants"][0]["tiers"] == [{"min_quantity": 10, "unit_price": 12000}]

    response = client.patch(url, json={"variants": [
        {"sku": "FERT-15-40", "price": 12000, "stock": 50, "tiers": [{"min_quantity": 10, "unit_price": 11000}]},
        {"sku": "FERT-15-20", "price": 6800, "stock": 30}]}, headers=merchant.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [(v["sku"], v["price"]) for v in response.get_json()["variants"]] == [("FERT-15-40", 12000),
                                                                                 ("FERT-15-20", 6800)]


def test_patch_refusals_leave_the_product_as_it_was(client, merchant, categories):
    created = client.post(f"{merchant.base}/products", json=fertiliser(publish=True), headers=merchant.headers)
    url = f"{merchant.base}/products/{created.get_json()['id']}"
    # An active product must stay publishable: clearing a required attribute is refused.
    problem = assert_problem(client.patch(url, json={"title": "改了名", "attributes": {"manufacturer": None}},
                                          headers=merchant.headers), 422, "validation_failed")
    assert "attributes.manufacturer" in problem["errors"]
    assert client.get(url, headers=merchant.headers).get_json()["title"] == "复合肥 15-15-15 40kg"


def test_another_shops_product_is_404(client, merchant, categories, make_shop, make_product, make_tenant):
    neighbour = make_product(make_shop(merchant.tenant), category=categories["fertiliser"], attributes=COMPOUND)
    foreign = make_product(make_shop(make_tenant()))
    for product in (neighbour, foreign):
        url = f"{merchant.base}/products/{product.id}"
        assert_problem(client.patch(url, json={"title": "抢过来"}, headers=merchant.headers), 404, "not_found")
        assert_problem(client.post(f"{url}/publish", headers=merchant.headers), 404, "not_found")
        assert_problem(client.get(url, headers=merchant.headers), 404, "not_found")
    with tenant_scope(merchant.tenant):
        assert db.session.get(Product, neighbour.id).title != "抢过来"


@pytest.fixture
def stocked(client, merchant, categories):
    body = fertiliser(variants=[{"sku": "FERT-15-40", "price": 12500, "stock": 80},
                                {"sku": "FERT-15-20", "price": 6800, "stock": 5}])
    assert client.post(f"{merchant.base}/products", json=body, headers=merchant.headers).status_code == 201


def stock_levels(merchant) -> dict[str, int]:
    with tenant_scope(merchant.tenant):
        return dict(db.session.execute(select(Variant.sku, Variant.stock)).all())


def test_bulk_stock_sets_and_adjusts_many_skus(client, merchant, stocked):
    response = client.post(f"{merchant.base}/variants/stock", headers=merchant.headers, json={"items": [
        {"sku": "FERT-15-40", "stock": 120}, {"sku": "FERT-15-20", "adjust": -3}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [(i["sku"], i["stock"]) for i in response.get_json()["items"]] == [("FERT-15-40", 120), ("FERT-15-20", 2)]
    assert stock_levels(merchant) == {"FERT-15-40": 120, "FERT-15-20": 2}


@pytest.mark.parametrize(("items", "field"), [
    ([{"sku": "FERT-15-40", "stock": 1}, {"sku": "NO-SUCH", "stock": 1}], "items.1.sku"),
    ([{"sku": "FERT-15-40", "stock": 1}, {"sku": "FERT-15-20", "adjust": -6}], "items.1.adjust"),
    ([{"sku": "FERT-15-40", "stock": 1}, {"sku": "FERT-15-40", "adjust": 1}], "items.1.sku"),
    ([{"sku": "FERT-15-40", "stock": 1}, {"sku": "FERT-15-20", "stock": -1}], "items.1.stock"),
    ([{"sku": "FERT-15-40", "stock": 1}, {"sku": "FERT-15-20", "stock": 1, "adjust": 1}], "items.1"),
    ([{"sku": "FERT-15-40", "stock": 1}, {"sku": "FERT-15-20", "adjust": 2**31 - 1}], "items.1.adjust"),
])
def test_bulk_stock_is_all_or_nothing(client, merchant, stocked, items, field):
    response = client.post(f"{merchant.base}/variants/stock", headers=merchant.headers, json={"items": items})
    problem = assert_problem(response, 422, "validation_failed")
    assert field in problem["errors"], problem
    assert stock_levels(merchant) == {"FERT-15-40": 80, "FERT-15-20": 5}


def test_bulk_stock_cannot_touch_another_shops_skus(client, merchant, stocked, make_shop, make_product):
    neighbour = make_shop(merchant.tenant)
    make_product(neighbour, sku="THEIRS-1", stock=7)
    response = client.post(f"{merchant.base}/variants/stock", headers=merchant.headers,
                           json={"items": [{"sku": "THEIRS-1", "stock": 0}]})
    assert_problem(response, 422, "validation_failed")
    with tenant_scope(merchant.tenant):
        assert catalog.variant_by_sku(neighbour, "THEIRS-1").stock == 7


def test_writes_need_no_csrf_token(client, merchant, categories):
    """The API is exempt from CSRF (bearer tokens, no cookies); the console's forms are not."""
    assert client.post(f"{merchant.base}/products", json=fertiliser(), headers=merchant.headers).status_code == 201
    assert client.post("/account/login", data={"identifier": "x@example.com", "password": "x"}).status_code == 400


def test_bulk_stock_reaches_the_search_index(client, merchant, categories):
    """Sold out through the API: the in-stock filter of search stops offering it, and offers it again on restock."""
    body = fertiliser(variants=[{"sku": "FERT-15-40", "price": 12500, "stock": 80}])
    product = client.post(f"{merchant.base}/products", json=body, headers=merchant.headers).get_json()
    assert client.post(f"{merchant.base}/products/{product['id']}/publish", headers=merchant.headers).status_code == 200
    search = f"/api/v1/tenants/{merchant.tenant.slug}/search?q=复合肥&in_stock=true"

    def set_stock(stock: int) -> None:
        response = client.post(f"{merchant.base}/variants/stock", headers=merchant.headers,
                               json={"items": [{"sku": "FERT-15-40", "stock": stock}]})
        assert response.status_code == 200, response.get_data(as_text=True)

    assert client.get(search).get_json()["total"] == 1
    set_stock(0)
    assert client.get(search).get_json()["total"] == 0
    set_stock(40)
    assert client.get(search).get_json()["total"] == 1
