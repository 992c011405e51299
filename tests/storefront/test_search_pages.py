"""The resident-facing search: a tenant's search page and autocomplete, and the portal's city-wide search.

What a resident types (hanzi, pinyin, initials, a homophone) and what they get back: highlighted cards,
filters with counts, sorting, pages, help when nothing matches, and a clear page when search is down. One
tenant's goods never show under another tenant's search.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from marketplace.catalog import services as catalog
from marketplace.extensions import db
from marketplace.search import indexing
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.settings import module_settings

FERTILISER = {"fertiliser_kind": "compound", "n_pct": "15", "p2o5_pct": "15", "k2o_pct": "15",
              "total_nutrient_pct": "45", "executive_standard": "GB/T 15063-2020", "net_content": "40 kg",
              "manufacturer": "河南穗丰化肥有限公司", "shelf_life_months": "36"}
UREA = {"fertiliser_kind": "nitrogen", "n_pct": "46", "total_nutrient_pct": "46",
        "executive_standard": "GB/T 2440-2017", "net_content": "40 kg", "manufacturer": "河南心连心化学工业集团",
        "shelf_life_months": "36"}


def index_now() -> None:
    """What the test itself committed reaches the index (a request does this at its end)."""
    indexing.run_pending()


def html_of(response) -> str:
    return response.get_data(as_text=True)


def titles_in(html: str) -> list[str]:
    """Card titles in page order, highlights removed."""
    return [unescape(re.sub(r"</?mark>", "", t)) for t in re.findall(r'<h3 class="title">(.*?)</h3>', html)]


def facet(html: str, key: str) -> dict[str, tuple[int, str]]:
    """One filter group: label → (count, link)."""
    section = re.search(rf'<section class="facet-group facet-{key}".*?</section>', html, re.S)
    assert section, f"no {key} filter on the page"
    return {unescape(label): (int(count), unescape(url)) for url, label, count in re.findall(
        r'<a href="([^"]+)"[^>]*>([^<]+?) <span class="facet-count">(\d+)</span>', section.group())}


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product):
    """A street with a fruit shop and a tea house: apples, oranges and tea, each at its own price."""
    tenant = make_tenant(slug="dehua", name_zh="德化步行街", theme="street")
    fruit_shop = make_shop(tenant, slug="xianguo", name_zh="鲜果坊")
    tea_shop = make_shop(tenant, slug="chazhuang", name_zh="德化茶庄")
    fresh = make_category(tenant, slug="fresh", name_zh="水果生鲜", product_type="general.food")
    fruit = make_category(tenant, slug="fruit", name_zh="时令水果", product_type="general.food", parent_id=fresh.id)
    tea = make_category(tenant, slug="tea", name_zh="茶叶", product_type="general.food")
    products = {
        "fuji": make_product(fruit_shop, category=fruit, title="陕西洛川富士苹果 5斤装", price=3990),
        "lingbao": make_product(fruit_shop, category=fruit, title="灵宝高山红富士苹果", price=2580),
        "orange": make_product(fruit_shop, category=fruit, title="赣南脐橙", price=1990, stock=0),
        "tea": make_product(tea_shop, category=tea, title="信阳毛尖 250g", price=8800),
    }
    index_now()
    return tenant, products, {"fresh": fresh, "fruit": fruit, "tea": tea}, {"fruit": fruit_shop, "tea": tea_shop}


def search(client, tenant, query: str = "", **params):
    return client.get(f"/t/{tenant.slug}/search", query_string={"q": query, **params})


# -- finding things ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["苹果", "pingguo", "pg", "富士", "蘋果"])
def test_a_resident_finds_the_apples_by_hanzi_pinyin_initials_and_traditional(client, street, query):
    tenant, *_ = street
    response = search(client, tenant, query)
    assert response.status_code == 200
    html = html_of(response)
    assert set(titles_in(html)) == {"陕西洛川富士苹果 5斤装", "灵宝高山红富士苹果"}
    assert "找到 2 件商品" in html
    assert "<mark>" in html  # the words the query matched are marked in the titles


def test_the_words_that_matched_are_highlighted(client, street):
    tenant, *_ = street
    html = html_of(search(client, tenant, "富士苹果"))
    assert "灵宝高山红<mark>富士苹果</mark>" in html
    pinyin = html_of(search(client, tenant, "pingguo"))
    assert "<mark>苹果</mark>" in pinyin


def test_highlighting_never_lets_markup_through(client, street, make_product):
    tenant, products, categories, shops = street
    make_product(shops["fruit"], category=categories["fruit"], title="苹果 <b onclick=x>大促</b>")
    index_now()
    html = html_of(search(client, tenant, "苹果"))
    assert "<mark>苹果</mark> &lt;b onclick=x&gt;大促&lt;/b&gt;" in html and "<b onclick" not in html


def test_the_search_page_loads_in_a_fixed_number_of_queries(client, street, count_queries, make_product):
    """N+1 guard: four times the hits (more shops, images, variants) must not mean more queries."""
    tenant, products, categories, shops = street

    def load():
        with count_queries() as queries:
            assert search(client, tenant, "富士").status_code == 200
        return len(queries)

    load()  # the first search of the day inserts the log row; later ones count on it
    few = load()
    for n in range(6):
        make_product(shops["tea" if n % 2 else "fruit"], category=categories["fruit"], title=f"红富士 {n} 号",
                     tiers=[(10, 900)])
    index_now()
    assert tenant.slug  # the commits above expired the test's own tenant object: reload it outside the count
    assert load() == few


def test_the_search_box_keeps_the_query_and_offers_suggestions(client, street):
    tenant, *_ = street
    html = html_of(search(client, tenant, "苹果"))
    box = re.search(r'<input id="site-search"[^>]*>', html).group()
    assert 'value="苹果"' in box and 'role="combobox"' in box and 'aria-controls="site-search-list"' in box
    assert f'data-suggest-url="/t/{tenant.slug}/search/suggest"' in box
    assert '<label for="site-search"' in html and 'role="listbox"' in html
    home = html_of(client.get(f"/t/{tenant.slug}/"))
    assert f'action="/t/{tenant.slug}/search"' in home and 'name="q"' in home


def test_on_the_tenants_own_host_search_lives_at_slash_search(client, street):
    tenant, products, *_ = street
    response = client.get("http://dehua.shangdu.test/search?q=苹果")
    assert response.status_code == 200
    html = html_of(response)
    assert set(titles_in(html)) == {"陕西洛川富士苹果 5斤装", "灵宝高山红富士苹果"}
    assert 'action="/search"' in html and 'data-suggest-url="/search/suggest"' in html
    assert f'href="/p/{products["lingbao"].id}"' in html and "/t/dehua/" not in html
    suggested = client.get("http://dehua.shangdu.test/search/suggest?q=pg").get_json()["suggestions"]
    assert {"text": "灵宝高山红富士苹果", "kind": "product", "url": f"/p/{products['lingbao'].id}"} in suggested


def test_browsing_without_words_lists_everything_newest_first(client, street):
    tenant, products, *_ = street
    html = html_of(search(client, tenant))
    assert titles_in(html) == [p.title for p in sorted(products.values(), key=lambda p: p.id, reverse=True)]
    assert "全部商品" in html and "综合" not in html  # no relevance without words


# -- filters ----------------------------------------------------------------------------------------------------

def test_filters_show_their_counts_and_narrow_the_results(client, street):
    tenant, products, categories, shops = street
    html = html_of(search(client, tenant))
    by_category = facet(html, "category")
    assert by_category["水果生鲜"][0] == 3 and by_category["时令水果"][0] == 3 and by_category["茶叶"][0] == 1
    assert facet(html, "shop")["鲜果坊"][0] == 3 and facet(html, "shop")["德化茶庄"][0] == 1
    assert facet(html, "in_stock")["仅看有货"][0] == 3
    assert facet(html, "price") == {"¥10–¥50": (3, facet(html, "price")["¥10–¥50"][1]),
                                     "¥50–¥100": (1, facet(html, "price")["¥50–¥100"][1])}

    tea_only = html_of(client.get(by_category["茶叶"][1]))
    assert titles_in(tea_only) == ["信阳毛尖 250g"]
    assert "分类：茶叶" in tea_only  # the filter in use, as a chip that takes it away

    in_stock = html_of(client.get(facet(html, "in_stock")["仅看有货"][1]))
    assert "赣南脐橙" not in titles_in(in_stock) and len(titles_in(in_stock)) == 3

    cheap = html_of(client.get(facet(html, "price")["¥10–¥50"][1]))
    assert set(titles_in(cheap)) == {"陕西洛川富士苹果 5斤装", "灵宝高山红富士苹果", "赣南脐橙"}

    from_the_tea_house = html_of(search(client, tenant, shop=shops["tea"].id))
    assert titles_in(from_the_tea_house) == ["信阳毛尖 250g"] and "店铺：德化茶庄" in from_the_tea_house


def test_a_chip_removes_its_filter(client, street):
    tenant, products, categories, shops = street
    html = html_of(search(client, tenant, "苹果", category=categories["tea"].id, in_stock="1"))
    assert "找到 0 件商品" in html
    chip = re.search(r'<a href="([^"]+)" title="去掉这个条件">分类：茶叶', html).group(1)
    again = html_of(client.get(unescape(chip)))
    assert set(titles_in(again)) == {"陕西洛川富士苹果 5斤装", "灵宝高山红富士苹果"} and "仅看有货" in again


def test_attribute_filters_are_labelled_by_the_product_type(client, make_tenant, make_shop, make_category,
                                                            make_product):
    market = make_tenant(slug="nongzi", kind="market", theme="market", name_zh="农资大市场")
    shop = make_shop(market, slug="suifeng", name_zh="穗丰复合肥批发", building="A", floor=1, zone="A1",
                     stall="A1-003")
    fertiliser = make_category(market, slug="fertiliser", product_type="agri_inputs.fertiliser", name_zh="化肥")
    make_product(shop, category=fertiliser, title="穗丰 复合肥 15-15-15 40kg", attributes=FERTILISER, unit="bag")
    make_product(shop, category=fertiliser, title="心连心 尿素 46% 40kg", attributes=UREA, unit="bag")
    index_now()

    html = html_of(search(client, market))
    assert set(titles_in(html)) == {"穗丰 复合肥 15-15-15 40kg", "心连心 尿素 46% 40kg"}
    assert '<h2 id="facet-' in html and ">肥料类别</h2>" in html and ">总养分</h2>" in html
    kinds = facet(html, "attr-fertiliser_kind")
    assert kinds["复合（混）肥料"][0] == 1 and kinds["氮肥"][0] == 1
    assert facet(html, "attr-total_nutrient_pct")["45%"][0] == 1

    compound = html_of(client.get(kinds["复合（混）肥料"][1]))
    assert titles_in(compound) == ["穗丰 复合肥 15-15-15 40kg"]
    assert "肥料类别：复合（混）肥料" in compound  # the chip
    assert 'class="selected" aria-current="true">复合（混）肥料' in compound

    by_url = html_of(search(client, market, "", **{"a.total_nutrient_pct": "46"}))
    assert titles_in(by_url) == ["心连心 尿素 46% 40kg"]


def test_numeric_filters_read_as_a_scale(client, make_tenant, make_shop, make_category, make_product):
    """Nutrient contents are listed low to high, not by how many products have them."""
    market = make_tenant(kind="market", theme="market")
    shop = make_shop(market, name_zh="穗丰复合肥批发")
    fertiliser = make_category(market, product_type="agri_inputs.fertiliser", name_zh="化肥")
    for n in range(3):
        make_product(shop, category=fertiliser, title=f"尿素 46% 40kg {n}", attributes=UREA, unit="bag")
    make_product(shop, category=fertiliser, title="复合肥 15-15-15 40kg", attributes=FERTILISER, unit="bag")
    index_now()

    assert list(facet(html_of(search(client, market)), "attr-total_nutrient_pct")) == ["45%", "46%"]


# -- sorting and pages ------------------------------------------------------------------------------------------

def test_sort_by_price_both_ways(client, street):
    tenant, *_ = street
    cheapest_first = titles_in(html_of(search(client, tenant, sort="price_asc")))
    assert cheapest_first == ["赣南脐橙", "灵宝高山红富士苹果", "陕西洛川富士苹果 5斤装", "信阳毛尖 250g"]
    assert titles_in(html_of(search(client, tenant, sort="price_desc"))) == cheapest_first[::-1]
    html = html_of(search(client, tenant, "苹果", sort="price_asc"))
    assert 'aria-current="true" class="current">价格从低到高' in html
    assert titles_in(html) == ["灵宝高山红富士苹果", "陕西洛川富士苹果 5斤装"]


def test_results_come_in_pages(client, make_tenant, make_shop, make_category, make_product):
    tenant = make_tenant()
    shop = make_shop(tenant)
    category = make_category(tenant)
    for n in range(30):
        make_product(shop, category=category, title=f"手工挂面 {n + 1} 号", price=1000 + n)
    index_now()

    first = html_of(search(client, tenant, "挂面", sort="price_asc"))
    assert "找到 30 件商品" in first and len(titles_in(first)) == 24 and "第 1 / 2 页" in first
    next_url = unescape(re.search(r'<a rel="next" href="([^"]+)"', first).group(1))
    second = html_of(client.get(next_url))
    assert titles_in(second) == [f"手工挂面 {n + 1} 号" for n in range(24, 30)] and "第 2 / 2 页" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second

    past_the_end = search(client, tenant, "挂面", sort="price_asc", page="999999")
    assert past_the_end.status_code == 200 and titles_in(html_of(past_the_end)) == titles_in(second)


@pytest.mark.parametrize("params", [
    {"page": "0"}, {"page": "-1"}, {"page": "abc"}, {"page": "9" * 40}, {"page": "1.5"},
    {"category": "abc"}, {"category": "-3"}, {"category": "9" * 30}, {"shop": "x"}, {"shop": "0"},
    {"price": "5-"}, {"price": "abc"}, {"price": "-"}, {"sort": "bogus"}, {"sort": ""}, {"in_stock": "yes"},
    {"q": "苹" * 5000}, {"q": "\x00苹果\x07"}, {"q": "   "}, {"q": "%_*\"'():-^"}, {"q": "AND OR NOT NEAR"},
    {"a.size": "L" * 500}, {"a.DROP TABLE": "1"}, {"a.": "x"}, {"a.brand": ""}, {"a.origin": ["河南"] * 50},
])
def test_bad_parameters_are_ignored_never_a_server_error(client, street, params):
    tenant, *_ = street
    response = search(client, tenant, **({"q": "苹果"} | params))
    assert response.status_code == 200, params
    assert client.get(f"/t/{tenant.slug}/search/suggest", query_string={"q": params.get("q", "苹")}).status_code == 200


def test_an_overlong_query_is_cut_not_refused(client, street):
    tenant, *_ = street
    html = html_of(search(client, tenant, "苹果" + "x" * 500))
    assert "搜索“苹果" + "x" * 98 + "”" in html


# -- when nothing matches ---------------------------------------------------------------------------------------

def test_no_results_offers_the_homophone_and_popular_categories(client, street):
    tenant, products, categories, _shops = street
    html = html_of(search(client, tenant, "平果"))
    assert "没有找到与“平果”相关的商品。" in html and titles_in(html) == []
    assert re.search(rf'您是不是要找：<a href="/t/{tenant.slug}/search\?q=%E8%8B%B9%E6%9E%9C">苹果</a>', html)
    popular = re.search(r'<ul class="popular-categories">.*?</ul>', html, re.S).group()
    assert f'href="/t/{tenant.slug}/c/fresh"' in popular and "水果生鲜" in popular and "茶叶" in popular
    assert "时令水果" not in popular  # top-level categories only
    assert "拼音" in html  # the hint


def test_no_results_under_filters_offers_the_words_alone(client, street):
    tenant, products, categories, _shops = street
    html = html_of(search(client, tenant, "毛尖", price="0-1000"))
    assert "找到 0 件商品" in html
    assert f'href="/t/{tenant.slug}/search?q=%E6%AF%9B%E5%B0%96"' in html


# -- tenants stay apart ------------------------------------------------------------------------------------------

def test_another_tenants_goods_never_show(client, street, make_tenant, make_shop, make_category, make_product):
    tenant, products, categories, shops = street
    other = make_tenant(slug="yinji", name_zh="银基商贸城", kind="market")
    make_product(make_shop(other, name_zh="银基果业"), title="烟台红富士苹果 整箱", price=6800)
    index_now()

    ours = html_of(search(client, tenant, "苹果"))
    assert "烟台红富士苹果 整箱" not in titles_in(ours) and "银基果业" not in ours
    theirs = html_of(search(client, other, "苹果"))
    assert titles_in(theirs) == ["烟台红富士苹果 整箱"] and "鲜果坊" not in theirs

    # Our category and shop ids under their URL are no filter there, and show none of our goods.
    crossed = html_of(search(client, other, "", category=categories["fruit"].id, shop=shops["fruit"].id))
    assert titles_in(crossed) == ["烟台红富士苹果 整箱"] and "时令水果" not in crossed and "鲜果坊" not in crossed

    suggested = client.get(f"/t/{other.slug}/search/suggest?q=pg").get_json()["suggestions"]
    assert [s["text"] for s in suggested if s["kind"] == "product"] == ["烟台红富士苹果 整箱"]
    assert all(s["url"].startswith(f"/t/{other.slug}/") for s in suggested)


def test_a_draft_tenants_search_is_not_found(client, make_tenant):
    draft = make_tenant(status="draft")
    assert client.get(f"/t/{draft.slug}/search?q=苹果").status_code == 404
    assert client.get(f"/t/{draft.slug}/search/suggest?q=苹果").status_code == 404


# -- autocomplete -----------------------------------------------------------------------------------------------

def test_suggestions_lead_to_the_product_category_and_shop(client, street):
    tenant, products, categories, shops = street
    response = client.get(f"/t/{tenant.slug}/search/suggest?q=pingg")
    assert response.status_code == 200 and response.mimetype == "application/json"
    suggestions = response.get_json()["suggestions"]
    assert {"text": "灵宝高山红富士苹果", "kind": "product",
            "url": f"/t/{tenant.slug}/p/{products['lingbao'].id}"} in suggestions

    by_kind = {s["kind"]: s for s in client.get(f"/t/{tenant.slug}/search/suggest?q=鲜果").get_json()["suggestions"]}
    assert by_kind["shop"] == {"text": "鲜果坊", "kind": "shop", "url": f"/t/{tenant.slug}/s/xianguo/"}
    fruit = client.get(f"/t/{tenant.slug}/search/suggest?q=shiling").get_json()["suggestions"]
    assert {"text": "时令水果", "kind": "category", "url": f"/t/{tenant.slug}/c/fruit"} in fruit

    assert client.get(f"/t/{tenant.slug}/search/suggest?q=").get_json() == {"suggestions": []}
    assert client.get(f"/t/{tenant.slug}/search/suggest").get_json() == {"suggestions": []}


def test_a_product_taken_off_sale_is_neither_shown_nor_suggested(client, street):
    tenant, products, *_ = street
    with tenant_scope(tenant):
        catalog.unpublish_product(products["lingbao"], archive=True)
        db.session.commit()
    index_now()
    assert titles_in(html_of(search(client, tenant, "苹果"))) == ["陕西洛川富士苹果 5斤装"]
    texts = [s["text"] for s in client.get(f"/t/{tenant.slug}/search/suggest?q=苹果").get_json()["suggestions"]]
    assert "灵宝高山红富士苹果" not in texts


# -- when search is down ----------------------------------------------------------------------------------------

@pytest.fixture
def search_down(app, monkeypatch):
    """Point a tenant at Elasticsearch on a port where nothing listens."""
    monkeypatch.setitem(app.config["MARKETPLACE"], "ELASTICSEARCH_URL", "http://127.0.0.1:9")

    def down(tenant):
        module_settings["search"].set(tenant, "provider", "elasticsearch")
        db.session.commit()

    return down


def test_an_outage_gets_a_clear_page_and_the_rest_of_the_site_works(client, street, search_down):
    tenant, products, *_ = street
    search_down(tenant)
    response = search(client, tenant, "苹果")
    assert response.status_code == 503
    html = html_of(response)
    assert "搜索暂时不可用，请稍后再试。" in html and "德化步行街" in html  # in the tenant's own page
    assert "Traceback" not in html and "127.0.0.1" not in html

    suggest = client.get(f"/t/{tenant.slug}/search/suggest?q=苹果")
    assert suggest.status_code == 503 and suggest.get_json()["suggestions"] == []

    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    assert client.get(f"/t/{tenant.slug}/p/{products['fuji'].id}-{products['fuji'].slug}").status_code == 200
    assert client.get(f"/t/{tenant.slug}/c/fruit").status_code == 200


# -- the portal's city-wide search ------------------------------------------------------------------------------

def test_the_portal_searches_every_live_tenant_grouped_by_tenant(client, street, make_tenant, make_shop,
                                                                 make_product):
    tenant, *_ = street
    market = make_tenant(slug="yinji", name_zh="银基商贸城", kind="market", theme="market")
    make_product(make_shop(market, name_zh="银基果业"), title="烟台红富士苹果 整箱", price=6800)
    draft = make_tenant(slug="choubei", name_zh="筹备中的市场", status="draft")
    make_product(make_shop(draft), title="还没开业的苹果")
    index_now()

    portal = html_of(client.get("/"))
    assert 'action="/search"' in portal and 'id="portal-search"' in portal

    html = html_of(client.get("/search?q=苹果"))
    groups = re.findall(r'<section class="city-group".*?</section>', html, re.S)
    assert len(groups) == 2  # the draft tenant is not searched
    street_group = next(g for g in groups if "德化步行街" in g)
    market_group = next(g for g in groups if "银基商贸城" in g)
    assert street_group.index("德化步行街") < street_group.index("<mark>")
    assert set(titles_in(street_group)) == {"陕西洛川富士苹果 5斤装", "灵宝高山红富士苹果"}
    assert f'href="/t/{tenant.slug}/search?q=%E8%8B%B9%E6%9E%9C"' in street_group and "查看全部 2 件" in street_group
    assert titles_in(market_group) == ["烟台红富士苹果 整箱"]
    assert 'href="/t/yinji/p/' in market_group and "¥68.00" in market_group
    assert "还没开业的苹果" not in html


def test_the_portal_search_shows_at_most_four_cards_per_tenant(client, make_tenant, make_shop, make_product):
    tenant = make_tenant(name_zh="德化步行街")
    shop = make_shop(tenant)
    for n in range(6):
        make_product(shop, title=f"红富士苹果 {n + 1} 号")
    index_now()
    html = html_of(client.get("/search?q=苹果"))
    assert len(titles_in(html)) == 4 and "查看全部 6 件" in html


def test_a_tenant_whose_search_is_down_gets_a_note_not_a_broken_page(client, street, search_down, make_tenant,
                                                                      make_shop, make_product):
    tenant, *_ = street
    market = make_tenant(slug="yinji", name_zh="银基商贸城", kind="market")
    make_product(make_shop(market), title="烟台红富士苹果 整箱", price=6800)
    index_now()
    search_down(tenant)
    response = client.get("/search?q=苹果")
    assert response.status_code == 200
    html = html_of(response)
    assert titles_in(html) == ["烟台红富士苹果 整箱"]
    down_group = next(g for g in re.findall(r'<section class="city-group".*?</section>', html, re.S)
                      if "德化步行街" in g)
    assert "这里的搜索暂时不可用" in down_group


def test_the_portal_search_without_words_or_matches(client, street):
    empty = client.get("/search")
    assert empty.status_code == 200 and "全城搜索" in html_of(empty)
    nothing = html_of(client.get("/search?q=榴莲"))
    assert "全城都没有找到与“榴莲”相关的商品。" in nothing
    assert client.get("/search", query_string={"q": "\x00" + "苹" * 3000}).status_code == 200
