"""The public catalog API: only what a resident may see on the storefront, tenant by tenant."""

from __future__ import annotations

import pytest

from marketplace.catalog.models import ProductImage
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from tests.api.conftest import assert_problem
from tests.catalog.test_packs import COMPOUND


@pytest.fixture
def street(make_tenant, make_shop, make_category):
    tenant = make_tenant(slug="dehua", name_zh="德化步行街")
    food = make_category(tenant, slug="food", name_zh="美食", product_type="general.food")
    tea = make_category(tenant, slug="tea", name_zh="茶叶", product_type="general.food", parent_id=food.id)
    shop = make_shop(tenant, slug="laochaguan", name_zh="老茶馆", street_number="27", street_side="west")
    return tenant, shop, food, tea


def api(tenant, path: str) -> str:
    return f"/api/v1/tenants/{tenant.slug}{path}"


def test_shops_lists_the_tenants_open_shops_only(client, street, make_tenant, make_shop):
    tenant, shop, _food, _tea = street
    make_shop(tenant, slug="closed", name_zh="已暂停的店", status="suspended")
    make_shop(make_tenant(), slug="elsewhere", name_zh="别处的店")
    body = client.get(api(tenant, "/shops")).get_json()
    assert [s["slug"] for s in body["items"]] == ["laochaguan"]
    one = client.get(api(tenant, "/shops/laochaguan")).get_json()
    assert one["name"] == "老茶馆" and one["location"]["street_number"] == "27"
    assert one["web_url"].endswith(f"/t/{tenant.slug}/s/laochaguan/")
    assert_problem(client.get(api(tenant, "/shops/closed")), 404, "not_found")
    assert_problem(client.get(api(tenant, "/shops/elsewhere")), 404, "not_found")


def test_categories_come_as_a_tree(client, street):
    tenant, _shop, _food, _tea = street
    body = client.get(api(tenant, "/categories")).get_json()
    assert [(c["slug"], [k["slug"] for k in c["children"]]) for c in body["items"]] == [("food", ["tea"])]
    assert body["items"][0]["children"][0]["name"] == "茶叶"


def test_products_are_the_tenants_active_ones_with_filters_and_pages(client, street, make_tenant, make_shop,
                                                                     make_product):
    tenant, shop, food, tea = street
    other_shop = make_shop(tenant, slug="other")
    noodles = make_product(shop, category=food, title="烩面")
    green = make_product(shop, category=tea, title="信阳毛尖")
    sold_elsewhere = make_product(other_shop, category=food, title="胡辣汤")
    make_product(shop, category=food, title="还没上架", publish=False)
    make_product(make_shop(make_tenant()), title="别的街区的商品")

    def titles(query: str = "") -> list[str]:
        response = client.get(api(tenant, f"/products{query}"))
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["title"] for item in response.get_json()["items"]]

    assert sorted(titles()) == sorted(["烩面", "信阳毛尖", "胡辣汤"])
    assert sorted(titles("?category=food")) == sorted(["烩面", "信阳毛尖", "胡辣汤"])  # sub-categories included
    assert titles("?category=tea") == ["信阳毛尖"]
    assert sorted(titles("?shop=laochaguan")) == sorted(["烩面", "信阳毛尖"])
    assert titles("?shop=nobody") == []

    first = client.get(api(tenant, "/products?limit=2")).get_json()
    second = client.get(api(tenant, f"/products?limit=2&cursor={first['next_cursor']}")).get_json()
    assert (first["total"], len(first["items"]), len(second["items"]), second["next_cursor"]) == (3, 2, 1, None)
    assert {i["id"] for i in first["items"] + second["items"]} == {noodles.id, green.id, sold_elsewhere.id}

    body = assert_problem(client.get(api(tenant, "/products?category=no-such")), 422, "validation_failed")
    assert "category" in body["errors"]


def test_product_detail_has_variants_tiers_images_and_labelled_attributes(client, make_tenant, make_shop,
                                                                           make_category, make_product):
    market = make_tenant(kind="market", theme="market")
    shop = make_shop(market, slug="suifeng", name_zh="穗丰复合肥批发")
    category = make_category(market, slug="fertiliser", product_type="agri_inputs.fertiliser")
    product = make_product(shop, category=category, title="复合肥 15-15-15", price=12500, unit="bag",
                           attributes=COMPOUND, tiers=[(10, 12000), (100, 11500)])
    with tenant_scope(market):
        db.session.add(ProductImage(product_id=product.id, sha256="ab" * 32, width=1200, height=900, alt_zh="正面"))
        db.session.commit()

    body = client.get(api(market, f"/products/{product.id}")).get_json()
    assert body["title"] == "复合肥 15-15-15" and body["unit_label"] == "袋" and body["currency"] == "CNY"
    assert body["product_type_label"] == "肥料"
    assert body["web_url"] == f"http://localhost/t/{market.slug}/p/{product.id}-15-15-15"
    variant = body["variants"][0]
    assert variant["price"] == 12500
    assert variant["tiers"] == [{"min_quantity": 10, "unit_price": 12000}, {"min_quantity": 100, "unit_price": 11500}]
    attributes = {a["name"]: a for a in body["attributes"]}
    assert attributes["total_nutrient_pct"]["label"] == "总养分"
    assert attributes["total_nutrient_pct"]["display"] == "45%"
    assert attributes["fertiliser_kind"]["display"] == "复合（混）肥料"
    image = body["images"][0]
    assert image["alt"] == "正面"
    assert [s["width"] for s in image["sizes"]] == [160, 400, 800]
    assert image["sizes"][0]["webp"].startswith("http://localhost/media/") and "ab" * 32 in image["sizes"][0]["webp"]


def test_drafts_and_other_tenants_products_are_not_found(client, street, make_tenant, make_shop, make_product):
    tenant, shop, food, _tea = street
    draft = make_product(shop, category=food, publish=False)
    foreign = make_product(make_shop(make_tenant()))
    suspended_shop = make_shop(tenant, slug="gone")
    hidden = make_product(suspended_shop, category=food)
    with tenant_scope(tenant):
        suspended_shop.status = "suspended"
        db.session.commit()
    for product_id in (draft.id, foreign.id, hidden.id, 2**31 - 1, 2**40):
        assert_problem(client.get(api(tenant, f"/products/{product_id}")), 404, "not_found")


def test_unknown_draft_and_suspended_tenants_answer_like_the_storefront(client, make_tenant, make_shop):
    draft = make_tenant(status="draft", name_zh="筹备中的街区")
    make_shop(draft, slug="early")
    suspended = make_tenant(status="suspended")
    for path in ("/shops", "/categories", "/products", "/shops/early"):
        body = assert_problem(client.get(api(draft, path)), 404, "not_found")
        assert "筹备中的街区" not in str(body)
        assert_problem(client.get(api(suspended, path)), 503, "unavailable")
    assert_problem(client.get("/api/v1/tenants/no-such-tenant/products"), 404, "not_found")


def test_the_product_list_runs_a_fixed_number_of_queries(client, street, make_product, count_queries):
    tenant, shop, food, tea = street

    url = api(tenant, "/products?limit=100")  # not inside the count: the test's tenant reloads after each commit

    def load() -> int:
        with count_queries() as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    make_product(shop, category=food, tiers=[(10, 1000)])
    load()  # the tenant is now in the shared cache, as on every request after a worker's first
    few = load()
    for n in range(8):
        make_product(shop, category=tea if n % 2 else food, tiers=[(10, 1000)])
    assert load() == few
