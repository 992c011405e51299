"""Search through the API: what a resident's phone app gets for 苹果, pingguo or 蘋果, with facets and pages,
and a clear 503 when the search backend is down."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from sqlalchemy import update

from marketplace.catalog.models import Product, ProductStatus
from marketplace.extensions import db
from marketplace.search import indexing
from marketplace.search.backend import SearchBackend, _LazyBackend
from marketplace.search.services import query_report
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from tests.api.conftest import assert_problem
from tests.catalog.test_packs import COMPOUND

SEARCH = "/search"
SUGGEST = "/search/suggest"


@dataclass
class Street:
    tenant: Tenant
    fruit_shop: Shop
    tea_shop: Shop
    fruit: object
    citrus: object
    tea: object
    apple: Product
    banana: Product
    orange: Product
    maojian: Product


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product) -> Street:
    tenant = make_tenant(slug="dehua-street", name_zh="德化步行街")
    fruit_shop = make_shop(tenant, slug="laowang", name_zh="老王水果店")
    tea_shop = make_shop(tenant, slug="chaguan", name_zh="老茶馆")
    fruit = make_category(tenant, slug="fruit", name_zh="水果", product_type="general.food")
    citrus = make_category(tenant, slug="citrus", name_zh="柑橘", product_type="general.food", parent_id=fruit.id)
    tea = make_category(tenant, slug="tea", name_zh="茶叶", product_type="general.food")
    apple = make_product(fruit_shop, category=fruit, title="红富士苹果 5斤装", price=2990, stock=30,
                         attributes={"origin": "山东烟台", "storage": "chilled"})
    banana = make_product(fruit_shop, category=fruit, title="海南香蕉", price=690, stock=0,
                          attributes={"origin": "海南", "storage": "ambient"})
    orange = make_product(fruit_shop, category=citrus, title="赣南脐橙", price=3990, stock=12,
                          attributes={"origin": "江西赣州", "storage": "ambient"})
    maojian = make_product(tea_shop, category=tea, title="信阳毛尖 250克", price=12800, stock=5,
                           attributes={"origin": "河南信阳", "storage": "ambient"})
    indexed()
    return Street(tenant, fruit_shop, tea_shop, fruit, citrus, tea, apple, banana, orange, maojian)


def indexed() -> None:
    """Sync what the test committed, as the end of a request would (requests run in contexts of their own)."""
    indexing.run_pending()


def api(tenant: Tenant, path: str) -> str:
    return f"/api/v1/tenants/{tenant.slug}{path}"


def found(client, tenant: Tenant, query: str = "") -> dict:
    response = client.get(api(tenant, f"{SEARCH}?{query}"))
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_json()


def titles(body: dict) -> list[str]:
    return [item["title"] for item in body["items"]]


def facet(body: dict, name: str) -> dict[str, tuple[int, str]]:
    return {v["value"]: (v["count"], v["label"]) for v in body["facets"].get(name, [])}


@pytest.mark.parametrize("query", ["苹果", "pingguo", "蘋果", "富士", "红富士", "pg"])
def test_the_apples_are_found_by_hanzi_pinyin_initials_and_traditional_characters(client, street, query):
    body = found(client, street.tenant, f"q={query}")
    assert "红富士苹果 5斤装" in titles(body)
    assert "信阳毛尖 250克" not in titles(body)
    apple = next(item for item in body["items"] if item["id"] == street.apple.id)
    # The same cards as the product list: price, stock and the shop from the database.
    assert apple["price_min"] == 2990 and apple["in_stock"] is True and apple["shop"]["slug"] == "laowang"
    assert apple["currency"] == "CNY" and apple["web_url"]


def test_an_empty_query_lists_everything_on_sale(client, street, make_product):
    make_product(street.fruit_shop, category=street.fruit, title="还没上架的苹果", publish=False)
    indexed()
    body = found(client, street.tenant)
    assert sorted(titles(body)) == sorted(["红富士苹果 5斤装", "海南香蕉", "赣南脐橙", "信阳毛尖 250克"])
    assert body["total"] == 4 and body["did_you_mean"] == ""


def test_filters_narrow_the_results(client, street):
    t = street.tenant
    assert sorted(titles(found(client, t, f"category={street.fruit.slug}"))) == sorted(
        ["红富士苹果 5斤装", "海南香蕉", "赣南脐橙"])  # sub-categories included
    assert titles(found(client, t, f"category={street.citrus.slug}")) == ["赣南脐橙"]
    assert titles(found(client, t, f"shop={street.tea_shop.slug}")) == ["信阳毛尖 250克"]
    assert sorted(titles(found(client, t, "price_min=1000&price_max=5000"))) == sorted(["红富士苹果 5斤装", "赣南脐橙"])
    assert titles(found(client, t, "price_max=1000")) == ["海南香蕉"]
    assert "海南香蕉" not in titles(found(client, t, "in_stock=true"))
    assert titles(found(client, t, "attr=storage:chilled")) == ["红富士苹果 5斤装"]
    assert sorted(titles(found(client, t, "attr=storage:chilled&attr=origin:海南"))) == []  # all attributes
    assert sorted(titles(found(client, t, "attr=origin:海南&attr=origin:江西赣州"))) == sorted(
        ["海南香蕉", "赣南脐橙"])  # any value of one attribute
    assert titles(found(client, t, f"q=橙&shop={street.fruit_shop.slug}&in_stock=1")) == ["赣南脐橙"]
    # Ids are not what these filters take (the product list and search speak one language: slugs).
    assert_problem(client.get(api(t, f"{SEARCH}?shop={street.tea_shop.id}")), 422, "validation_failed")


def test_facets_count_what_matched_with_labels(client, street):
    body = found(client, street.tenant, f"category={street.fruit.slug}")
    # Category and shop values are the slugs the filters take.
    assert facet(body, "category") == {street.fruit.slug: (3, "水果"), street.citrus.slug: (1, "柑橘")}
    assert facet(body, "shop") == {street.fruit_shop.slug: (3, "老王水果店")}
    assert facet(body, "in_stock") == {"true": (2, "有货")}
    assert facet(body, "attr.storage") == {"ambient": (2, "常温"), "chilled": (1, "冷藏")}
    prices = facet(body, "price")
    assert prices["0-1000"][0] == 1 and prices["1000-5000"][0] == 2
    assert "¥10" in prices["1000-5000"][1] and "¥50" in prices["1000-5000"][1]
    # Values come by count, most first.
    assert [v["count"] for v in body["facets"]["attr.storage"]] == [2, 1]

    everything = found(client, street.tenant)
    assert facet(everything, "shop")[street.tea_shop.slug] == (1, "老茶馆")
    assert facet(everything, "price")["10000-50000"][0] == 1


def test_attribute_facets_of_a_fertiliser_are_labelled_from_its_product_type(client, make_tenant, make_shop,
                                                                             make_category, make_product):
    market = make_tenant(kind="market", theme="market")
    shop = make_shop(market, name_zh="穗丰农资")
    fertiliser = make_category(market, slug="fertiliser", name_zh="化肥", product_type="agri_inputs.fertiliser")
    make_product(shop, category=fertiliser, title="复合肥 15-15-15 40kg", attributes=COMPOUND, unit="bag")
    indexed()
    body = found(client, market, "q=复合肥 15-15-15&attr=total_nutrient_pct:45")
    assert titles(body) == ["复合肥 15-15-15 40kg"]
    assert facet(body, "attr.fertiliser_kind") == {"compound": (1, "复合（混）肥料")}
    assert facet(body, "attr.total_nutrient_pct") == {"45": (1, "45%")}
    assert titles(found(client, market, "attr=total_nutrient_pct:48")) == []


def test_sorts(client, street):
    def ids(sort: str) -> list[int]:
        return [item["id"] for item in found(client, street.tenant, f"sort={sort}")["items"]]

    s = street
    assert ids("price") == [s.banana.id, s.apple.id, s.orange.id, s.maojian.id]
    assert ids("-price") == [s.maojian.id, s.orange.id, s.apple.id, s.banana.id]
    assert ids("newest") == [s.maojian.id, s.orange.id, s.banana.id, s.apple.id]
    assert sorted(ids("sales")) == sorted(ids("relevance")) == sorted(ids("newest"))


def test_pages(client, street):
    first = found(client, street.tenant, "sort=price&limit=3")
    second = found(client, street.tenant, f"sort=price&limit=3&cursor={first['next_cursor']}")
    assert (first["total"], len(first["items"])) == (4, 3) and first["next_cursor"]
    assert titles(first) == ["海南香蕉", "红富士苹果 5斤装", "赣南脐橙"]
    assert (titles(second), second["total"], second["next_cursor"]) == (["信阳毛尖 250克"], 4, None)
    # The cursor belongs to its sort: another sort's is refused, not misread.
    assert_problem(client.get(api(street.tenant, f"{SEARCH}?sort=-price&cursor={first['next_cursor']}")), 400,
                   "invalid_cursor")


def test_a_product_taken_off_sale_behind_the_index_is_left_out(client, street):
    # Bulk SQL, which the index does not hear about until someone touches it: the page must still not offer it.
    with tenant_scope(street.tenant):
        db.session.execute(update(Product).where(Product.id == street.apple.id)
                           .values(status=ProductStatus.archived).execution_options(synchronize_session=False))
        db.session.commit()
    body = found(client, street.tenant, "q=苹果")
    assert (body["total"], titles(body)) == (1, [])  # the index still has it; the answer does not


def test_a_homophone_that_finds_nothing_suggests_the_word_that_would(client, street):
    body = found(client, street.tenant, "q=平果")
    assert body["items"] == [] and body["total"] == 0
    assert body["did_you_mean"] == "苹果"


def test_suggestions_complete_hanzi_and_pinyin(client, street):
    for typed in ("苹", "pingg", "红富"):
        response = client.get(api(street.tenant, f"{SUGGEST}?q={typed}"))
        assert response.status_code == 200, response.get_data(as_text=True)
        suggestions = response.get_json()["suggestions"]
        assert {"text": "红富士苹果 5斤装", "kind": "product", "ref": street.apple.id} in suggestions, typed
    shop = client.get(api(street.tenant, f"{SUGGEST}?q=老王")).get_json()["suggestions"]
    assert {"text": "老王水果店", "kind": "shop", "ref": street.fruit_shop.id} in shop
    assert client.get(api(street.tenant, SUGGEST)).get_json() == {"suggestions": []}


def test_one_tenants_products_never_show_in_anothers_search(client, street, make_tenant, make_shop, make_category,
                                                           make_product):
    other = make_tenant(slug="erqi-market")
    other_shop = make_shop(other, slug="guoyuan", name_zh="果园直供")
    theirs = make_product(other_shop, category=make_category(other, product_type="general.food"),
                          title="烟台红富士苹果 整箱")
    indexed()
    ours = found(client, street.tenant, "q=苹果")
    assert theirs.id not in [item["id"] for item in ours["items"]] and ours["total"] == 1
    assert str(other_shop.id) not in facet(ours, "shop")
    suggested = client.get(api(street.tenant, f"{SUGGEST}?q=pingguo")).get_json()["suggestions"]
    assert theirs.id not in [s["ref"] for s in suggested if s["kind"] == "product"]
    assert "果园直供" not in [s["text"] for s in suggested]
    assert titles(found(client, other, "q=苹果")) == ["烟台红富士苹果 整箱"]
    # Another tenant's category or shop id is not this tenant's: pointed out, not silently empty.
    body = assert_problem(client.get(api(other, f"{SEARCH}?category={street.fruit.id}")), 422, "validation_failed")
    assert set(body["errors"]) == {"category"}
    body = assert_problem(client.get(api(other, f"{SEARCH}?shop={street.fruit_shop.id}")), 422, "validation_failed")
    assert set(body["errors"]) == {"shop"}


@pytest.mark.parametrize(("query", "field"), [
    ("page=2", "page"), ("per_page=10", "per_page"),
    ("limit=0", "limit"), ("limit=1000", "limit"), ("limit=2.5", "limit"), ("limit=" + "9" * 5000, "limit"),
    ("price_min=-1", "price_min"), ("price_max=1e309", "price_max"), ("price_min=99999999999", "price_min"),
    ("price_min=5000&price_max=1000", "price_max"), ("sort=bogus", "sort"), ("category=abc", "category"),
    ("category=0", "category"), ("category=no-such", "category"), ("shop=%00", "shop"), ("shop=Big_Shop", "shop"),
    ("category=123456", "category"), ("in_stock=maybe", "in_stock"), ("attr=storage", "attr.0"),
    ("attr=storage:", "attr.0"), ("attr=:chilled", "attr.0"), ("attr=Bad Name:x", "attr.0"),
    ("attr=storage:chilled&attr=origin", "attr.1"), ("attr=storage:%00", "attr.0"),
    ("attr=origin:" + "x" * 61, "attr.0"), ("q=" + "苹" * 201, "q"), ("q=%00", "q"),
    ("&".join(f"attr=a{n}:b" for n in range(21)), "attr"),
])
def test_bad_arguments_are_refused_with_a_problem_naming_the_field(client, street, query, field):
    body = assert_problem(client.get(api(street.tenant, f"{SEARCH}?{query}")), 422, "validation_failed")
    assert field in body["errors"], body


@pytest.mark.parametrize("query", ["q=%ff%fe", "q=" + "x" * 101, "q=%00"])
def test_bad_suggestion_input_is_refused_or_answered(client, street, query):
    response = client.get(api(street.tenant, f"{SUGGEST}?{query}"))
    if response.status_code != 200:
        assert_problem(response, 422, "validation_failed")


def test_unknown_and_odd_arguments_are_harmless(client, street):
    assert titles(found(client, street.tenant, "q=苹果&colour=red&q=香蕉")) == ["红富士苹果 5斤装"]  # first q wins
    assert found(client, street.tenant, "q=%22%27%29%28*%3A%5E-OR-NEAR")["items"] == []  # FTS syntax is just text


def test_the_openapi_document_describes_search_and_its_outage(client):
    document = client.get("/api/v1/openapi.json").get_json()
    search = document["paths"]["/api/v1/tenants/{tenant_slug}/search"]["get"]
    suggest = document["paths"]["/api/v1/tenants/{tenant_slug}/search/suggest"]["get"]
    assert search["summary"] == "搜索商品" and suggest["summary"] == "搜索建议"
    assert {p["name"] for p in search["parameters"]} >= {"q", "category", "shop", "price_min", "price_max",
                                                         "in_stock", "attr", "credit", "sort", "limit", "cursor"}
    sort = next(p for p in search["parameters"] if p["name"] == "sort")
    assert sort["schema"]["enum"] == ["relevance", "newest", "price", "-price", "sales", "credit"]
    credit = next(p for p in search["parameters"] if p["name"] == "credit")
    assert credit["schema"]["items"]["enum"] == ["A", "B", "C", "D", "new"]
    for operation in (search, suggest):
        unavailable = operation["responses"]["503"]
        assert "search_unavailable" in unavailable["description"]
        assert "application/problem+json" in unavailable["content"]
        assert {"200", "404", "422"} <= set(operation["responses"])
    page = document["components"]["schemas"]["SearchPage"]["properties"]
    assert {"items", "next_cursor", "total", "facets", "did_you_mean"} <= set(page)


# -- outage ---------------------------------------------------------------------------------------------------------

class UnreachableBackend(SearchBackend):
    """A stand-in for a search server that cannot be reached (the connection is refused every time)."""

    name = "unreachable"

    def _refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("[Errno 111] Connection refused: search.example:9200")

    index = delete = search = suggest = reindex = drop = _refuse

    def health(self):
        return False, "unreachable: connection refused"


@pytest.fixture
def search_is_down(app, monkeypatch, street):
    monkeypatch.setitem(app.extensions["search_backends"], "unreachable",
                        _LazyBackend("unreachable", f"{__name__}:UnreachableBackend"))
    module_settings["search"].set(street.tenant, "provider", "unreachable")
    db.session.commit()
    return street


def test_a_search_outage_is_a_503_problem_and_the_catalog_still_answers(client, search_is_down):
    tenant = search_is_down.tenant
    for path in (f"{SEARCH}?q=苹果", f"{SEARCH}?q=苹果&limit=2", SEARCH, f"{SUGGEST}?q=pingg"):
        body = assert_problem(client.get(api(tenant, path)), 503, "search_unavailable")
        assert body["title"] == "搜索暂时不可用，请稍后再试。"
        assert "Errno" not in str(body)  # the backend's own message stays in the log
    english = client.get(api(tenant, SEARCH), headers={"Accept-Language": "en"}).get_json()
    assert english["code"] == "search_unavailable" and english["title"]
    products = client.get(api(tenant, "/products"))
    assert products.status_code == 200 and products.get_json()["total"] == 4
    # Bad input is still bad input, outage or not.
    assert_problem(client.get(api(tenant, f"{SEARCH}?limit=0")), 422, "validation_failed")


def test_first_pages_of_searches_reach_the_operators_query_log(client, street):
    found(client, street.tenant, "q=苹果")
    second_page = base64.urlsafe_b64encode(b'{"o":"search:relevance","k":[1]}').decode().rstrip("=")
    found(client, street.tenant, f"q=苹果&limit=1&cursor={second_page}")  # paging through is not another search
    found(client, street.tenant, "q=榴莲")
    found(client, street.tenant, "q=13812345678")  # looks like a phone number: never logged
    top, empty = query_report(street.tenant)
    assert sorted((q.query, q.searches, q.zero_results) for q in top) == [("榴莲", 1, 1), ("苹果", 1, 0)]
    assert [q.query for q in empty] == ["榴莲"]
