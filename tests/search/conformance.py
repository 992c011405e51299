"""The search backend conformance kit: what every ``SearchBackend`` must do, as one suite of tests.

A backend package runs it by subclassing ``BackendConformance`` in a test module, with a ``backend``
fixture that yields a fresh instance and the ``search_analyser`` and ``factories`` fixtures of
``tests/search/conftest.py`` (``tests/search/test_conformance.py`` runs it against ``embedded`` always and
``elasticsearch`` when ``ELASTICSEARCH_URL`` is set). Dropping an index twice must be harmless. The catalogue is
made of real products, written with the platform's factories and turned into documents by
``marketplace.search.documents``, so the kit checks the documents as well as the backend. Expectations
are computed from the documents handed to the backend, never from another backend's answers.

The rules come from ``marketplace.search.backend``'s docstring: every query term must match, filters,
facets over the matching documents, sorts (units sold; the shops' credit, rated shops before new ones),
pagination, deletes, tenant isolation, suggestions in hanzi, pinyin and initials, and a reindex that answers
exactly as incremental indexing did.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category, Product
from marketplace.extensions import db
from marketplace.search import documents
from marketplace.search.backend import PRICE_BUCKETS, SORTS, SearchDocument, SearchQuery, TenantIndex
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.trust.credit import ShopCredit

#: Publication times start here, one hour apart in catalogue order, so "newest" has one right answer.
FIRST_PUBLISHED = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


# -- catalogues written with the factories -------------------------------------------------------------------

@dataclass
class Item:
    """One product of a catalogue. ``variants``: (sku suffix, price, stock, options) when it has several."""

    key: str
    shop: str
    category: str
    title: str
    price: int = 1000
    stock: int = 10
    attributes: dict = field(default_factory=dict)
    variants: list[tuple[str, int, int, dict]] = field(default_factory=list)
    tiers: list[tuple[int, int]] = field(default_factory=list)
    description: str = ""
    unit: str = "piece"


@dataclass
class Spec:
    #: key → (name_zh, name_en)
    shops: dict[str, tuple[str, str]]
    #: key → (name_zh, parent key or None, product type)
    categories: dict[str, tuple[str, str | None, str]]
    items: list[Item]
    #: Shop key → its stored credit standing (score, level); shops left out have none yet (new, 0).
    credit: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass
class Catalogue:
    tenant: Tenant
    shops: dict[str, Shop]
    categories: dict[str, Category]
    products: dict[str, Product]
    ids: dict[str, int]
    #: Set by the kit: where the catalogue is indexed, and the documents it indexed there.
    index: TenantIndex | None = None
    docs: list[SearchDocument] = field(default_factory=list)

    def id(self, key: str) -> int:
        return self.ids[key]

    def keys(self, ids) -> set[str]:
        """Product keys for ids (unknown ids come back as themselves, so a failure message shows them)."""
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id.get(i, i) for i in ids}

    def documents(self, analyser) -> list[SearchDocument]:
        """The catalogue's searchable products as ``marketplace.search.documents`` makes them, in id order."""
        with tenant_scope(self.tenant):
            found, _gone = documents.for_ids(analyser, self.ids.values())
        return sorted(found, key=lambda d: d.id)


LICENSED_TYPES = {"agri_inputs.pesticide": "pesticide_business", "agri_inputs.seed": "seed_business"}


def build_catalogue(factories, tenant: Tenant, spec: Spec) -> Catalogue:
    """Shops, categories and published products of ``spec`` in ``tenant``, with the licences they need."""
    make_shop, make_category, make_product, make_user = factories
    shops = {key: make_shop(tenant, name_zh=zh, name_en=en, slug=f"{key}-{tenant.id}")
             for key, (zh, en) in spec.shops.items()}
    categories: dict[str, Category] = {}
    for key, (name, parent, product_type) in spec.categories.items():
        categories[key] = make_category(tenant, slug=key, name_zh=name, product_type=product_type,
                                        parent_id=categories[parent].id if parent else None)
    licensed = {(item.shop, LICENSED_TYPES[categories[item.category].product_type]) for item in spec.items
                if categories[item.category].product_type in LICENSED_TYPES}
    if licensed:
        operator = make_user(role=Role.tenant_operator, tenant=tenant)
        with tenant_scope(tenant):
            for shop_key, kind in sorted(licensed):
                licence = catalog.record_licence(shops[shop_key], kind, f"许可证-{shop_key}-{kind}", None)
                catalog.verify_licence(licence, operator)
            db.session.commit()
    products = {}
    for item in spec.items:
        variants = None
        if item.variants:
            variants = [catalog.VariantInput(sku=f"{item.key}-{suffix}", price=price, stock=stock, options=options,
                                             tiers=list(item.tiers))
                        for suffix, price, stock, options in item.variants]
        products[item.key] = make_product(shops[item.shop], category=categories[item.category], title=item.title,
                                          price=item.price, stock=item.stock, attributes=item.attributes,
                                          tiers=item.tiers, variants=variants, unit=item.unit,
                                          sku=f"{item.key}-{tenant.id}")
    with tenant_scope(tenant):
        for position, item in enumerate(spec.items):
            product = products[item.key]
            product.published_at = FIRST_PUBLISHED + timedelta(hours=position)
            if item.description:
                product.description = item.description
        for shop_key, (score, level) in spec.credit.items():
            db.session.add(ShopCredit(tenant_id=tenant.id, shop_id=shops[shop_key].id, score=score, level=level,
                                      computed_at=FIRST_PUBLISHED))
        db.session.commit()
    return Catalogue(tenant=tenant, shops=shops, categories=categories, products=products,
                     ids={key: product.id for key, product in products.items()})


# -- the kit's catalogue: a street with a fruit shop and a phone repair shop, a farm shop, a clothes stall ----

COMPOUND = {"fertiliser_kind": "compound", "n_pct": "15", "p2o5_pct": "15", "k2o_pct": "15",
            "total_nutrient_pct": "45", "executive_standard": "GB/T 15063-2020", "net_content": "40 kg",
            "manufacturer": "中原丰收肥业有限公司"}
HIGH_COMPOUND = {**COMPOUND, "n_pct": "17", "p2o5_pct": "17", "k2o_pct": "17", "total_nutrient_pct": "51",
                 "net_content": "50 kg"}
UREA = {**COMPOUND, "fertiliser_kind": "nitrogen", "n_pct": "46", "p2o5_pct": "0", "k2o_pct": "0",
        "total_nutrient_pct": "46", "manufacturer": "河南心连心化学工业集团"}
TEE_SIZES = [("s", 3900, 5, {"size": "S", "colour": "白色"}), ("m", 3900, 0, {"size": "M", "colour": "白色"}),
             ("l", 4200, 8, {"size": "L", "colour": "黑色"})]

KIT_SPEC = Spec(
    shops={"fruit": ("老王水果店", "Lao Wang Fruit"), "repair": ("小李手机维修", "Xiao Li Phone Repair"),
           "farm": ("丰收农资店", "Harvest Farm Supplies"), "clothes": ("靓衣坊服装", "Smart Clothes")},
    categories={
        "fruit": ("新鲜水果", None, "general.food"), "apples": ("苹果", "fruit", "general.food"),
        "pears": ("梨", "fruit", "general.food"), "repair": ("手机维修", None, "general.service"),
        "fertiliser": ("化肥", None, "agri_inputs.fertiliser"), "clothes": ("服装", None, "apparel.garment"),
        "tops": ("上衣", "clothes", "apparel.garment"), "coats": ("外套", "clothes", "apparel.garment"),
    },
    items=[
        Item("tangerine", "fruit", "fruit", "广西沙糖桔 1斤", price=800, stock=100, unit="jin",
             attributes={"origin": "广西", "storage": "ambient"}),
        Item("fuji", "fruit", "apples", "烟台红富士苹果 5斤装", price=2990, stock=40,
             attributes={"origin": "山东烟台", "storage": "chilled"}),
        Item("gala", "fruit", "apples", "嘎啦苹果 新鲜脆甜 3kg", price=1990, stock=0,
             attributes={"origin": "陕西洛川", "storage": "chilled"}),
        Item("pear", "fruit", "pears", "砀山酥梨 5kg", price=2500, stock=20,
             attributes={"origin": "安徽砀山", "storage": "ambient"}),
        Item("banana", "fruit", "fruit", "海南香蕉 一把", price=1200, stock=30,
             description="<p>和苹果放在一起熟得更快。</p>", attributes={"origin": "海南"}),
        Item("screen", "repair", "repair", "iPhone 13 屏幕更换 原装品质", price=45000, stock=5,
             attributes={"duration_minutes": 60, "by_appointment": True}),
        Item("battery", "repair", "repair", "华为手机电池更换", price=12000, stock=5,
             attributes={"duration_minutes": 30}),
        Item("compound", "farm", "fertiliser", "硫酸钾型复合肥料 15-15-15 40kg", price=16000, stock=200,
             attributes=COMPOUND, tiers=[(10, 15000)], unit="bag"),
        Item("compound_high", "farm", "fertiliser", "复合肥 17-17-17 50kg", price=18000, stock=0,
             attributes=HIGH_COMPOUND, unit="bag"),
        Item("urea", "farm", "fertiliser", "尿素 46% 40kg", price=13000, stock=80, attributes=UREA, unit="bag"),
        Item("tee", "clothes", "tops", "纯棉圆领T恤 男款", variants=TEE_SIZES,
             attributes={"material": "棉 100%", "season": "spring_summer", "gender": "men"}),
        Item("hoodie", "clothes", "tops", "秋冬加绒卫衣", price=12900, stock=12,
             attributes={"material": "棉 80%，涤纶 20%", "season": "autumn_winter", "gender": "unisex"}),
        Item("down", "clothes", "coats", "加厚羽绒服 女款", price=39900, stock=3,
             attributes={"material": "聚酯纤维 100%", "season": "autumn_winter", "gender": "women"}),
    ],
    # The repair shop is new with a provisional 88: above the farm shop's 70, yet ranked after it.
    credit={"fruit": (93, "A"), "clothes": (85, "B"), "farm": (70, "C"), "repair": (88, "new")},
)

#: Another tenant's street, for isolation: its own apples, shop and category names that overlap the kit's.
OTHER_SPEC = Spec(
    shops={"fruit": ("老王鲜果行", "Lao Wang Fresh")},
    categories={"fruit": ("新鲜水果", None, "general.food")},
    items=[Item("juice", "fruit", "fruit", "鲜榨苹果汁 500ml", price=1500, stock=10)],
)


APPLE_SUGGESTIONS = {("category", "苹果"), ("product", "烟台红富士苹果 5斤装"), ("product", "嘎啦苹果 新鲜脆甜 3kg")}

PESTICIDE = {"registration_no": "PD20080005", "production_licence_no": "农药生许（鲁）0123",
             "use_scope": "小麦 蚜虫", "net_content": "100 g", "manufacturer": "鲁丰农化有限公司"}


def pesticide(category: str, ingredient: str, content: str, formulation: str, toxicity: str) -> dict:
    """A pesticide's label attributes (the ones that vary between the products of the tests)."""
    return {**PESTICIDE, "pesticide_category": category, "active_ingredient": ingredient,
            "active_content_pct": content, "formulation": formulation, "toxicity": toxicity}


def bucket(price: int) -> str:
    for low, high in PRICE_BUCKETS:
        if price >= low and (high is None or price < high):
            return f"{low}-{'' if high is None else high}"
    raise AssertionError(price)


def credit_order(doc: SearchDocument) -> tuple:
    """The "credit" sort's key: shops with a level before new ones, then the higher score, then newest."""
    return doc.credit_level == "new", -doc.credit_score, -doc.published_at, -doc.id


def sales_order(doc: SearchDocument) -> tuple:
    """The "sales" sort's key: the most units sold, then newest."""
    return -doc.sales, -doc.published_at, -doc.id


def facet_counts(result, name: str) -> dict[str, int]:
    return {v.value: v.count for v in result.facets.get(name, [])}


def expected_facets(docs: list[SearchDocument]) -> dict[str, dict[str, int]]:
    """Every facet's counts over ``docs``, as the backend docstring defines them."""
    counts: dict[str, Counter] = {"category": Counter(), "shop": Counter(), "price": Counter(),
                                  "in_stock": Counter(), "credit": Counter()}
    for doc in docs:
        counts["category"].update(str(c) for c in set(doc.category_ids))
        counts["shop"][str(doc.shop_id)] += 1
        counts["price"][bucket(doc.price_min)] += 1
        counts["credit"][doc.credit_level] += 1
        if doc.in_stock:
            counts["in_stock"]["true"] += 1
        for name, values in doc.facets.items():
            counts.setdefault(f"attr.{name}", Counter()).update(set(values))
    return {name: dict(counter) for name, counter in counts.items() if counter}


class BackendConformance:
    """Subclass this in a test module that provides a ``backend`` fixture (a fresh ``SearchBackend``)."""

    # -- fixtures ----------------------------------------------------------------------------------------------

    @pytest.fixture
    def tenant_index(self, backend):
        """``tenant_index(tenant)``: the tenant's ``TenantIndex``; its index is dropped after the test."""
        made: list[TenantIndex] = []

        def factory(tenant: Tenant) -> TenantIndex:
            made.append(TenantIndex(id=tenant.id, slug=tenant.slug))
            return made[-1]

        yield factory
        for index in made:
            backend.drop(index)

    @pytest.fixture
    def kit(self, backend, tenant_index, factories, make_tenant, search_analyser):
        """The kit's catalogue, indexed document by document (incrementally) in its tenant's index."""
        catalogue = build_catalogue(factories, make_tenant(slug="kit-street"), KIT_SPEC)
        catalogue.index = tenant_index(catalogue.tenant)
        catalogue.docs = catalogue.documents(search_analyser)
        for doc in catalogue.docs:
            assert backend.index(catalogue.index, [doc]) == 1
        return catalogue

    @pytest.fixture
    def q(self, search_analyser):
        """``q("苹果", category_id=…)``: a query as services.prepare makes it."""

        def query(text: str = "", **kw) -> SearchQuery:
            return SearchQuery(text=text, terms=search_analyser.terms(text), **kw)

        return query

    def search(self, backend, kit, query: SearchQuery) -> set[str]:
        return kit.keys(backend.search(kit.index, query).ids)

    # -- every document is there once ------------------------------------------------------------------------

    def test_the_documents_are_the_published_products(self, kit):
        assert {d.id for d in kit.docs} == set(kit.ids.values())
        fuji = next(d for d in kit.docs if d.id == kit.id("fuji"))
        assert fuji.category_ids == [kit.categories["fruit"].id, kit.categories["apples"].id]
        assert fuji.shop_name == "老王水果店" and fuji.category_name == "苹果"
        assert (fuji.credit_level, fuji.credit_score, fuji.sales) == ("A", 93, 0)  # the shop's stored standing
        screen = next(d for d in kit.docs if d.id == kit.id("screen"))
        assert (screen.credit_level, screen.credit_score) == ("new", 88)

    def test_an_empty_query_finds_every_document_once(self, backend, kit, q):
        result = backend.search(kit.index, q(size=100))
        assert sorted(result.ids) == sorted(kit.ids.values()) and result.total == len(kit.ids)

    def test_indexing_a_document_again_replaces_it(self, backend, kit, q, search_analyser):
        fuji = next(d for d in kit.docs if d.id == kit.id("fuji"))
        renamed = dataclasses.replace(fuji, title="阿克苏冰糖心", fields={
            **fuji.fields, "title": " ".join(search_analyser.words("阿克苏冰糖心")),
            "grams": " ".join(search_analyser.grams("阿克苏冰糖心")),
            "pinyin": " ".join(search_analyser.pinyin("阿克苏冰糖心"))})
        assert backend.index(kit.index, [renamed]) == 1
        assert self.search(backend, kit, q("冰糖心")) == {"fuji"}
        assert self.search(backend, kit, q("富士")) == set()
        assert backend.search(kit.index, q()).total == len(kit.ids)

    # -- relevance ---------------------------------------------------------------------------------------------

    @pytest.mark.parametrize(("text", "expected"), [
        pytest.param("富士", {"fuji"}, id="word-inside-hongfushi"),
        pytest.param("苹果", {"fuji", "gala", "banana"}, id="hanzi-banana-by-description"),
        pytest.param("蘋果", {"fuji", "gala", "banana"}, id="traditional"),
        pytest.param("pingguo", {"fuji", "gala"}, id="pinyin-titles-not-descriptions"),
        pytest.param("ping guo", {"fuji", "gala"}, id="pinyin-syllables"),
        pytest.param("pg", {"fuji", "gala"}, id="initials"),
        pytest.param("复合肥", {"compound", "compound_high"}, id="word-inside-compound-fertiliser"),
        pytest.param("複合肥", {"compound", "compound_high"}, id="traditional-fertiliser"),
        pytest.param("15-15-15", {"compound"}, id="formula"),
        pytest.param("46%", {"urea"}, id="percent"),
        pytest.param("40kg", {"compound", "urea"}, id="40kg"),
        pytest.param("40 公斤", {"compound", "urea"}, id="40-space-gongjin"),
        pytest.param("5公斤", {"pear"}, id="5-gongjin"),
        pytest.param("iPhone 屏幕", {"screen"}, id="mixed-iphone-screen"),
        pytest.param("IPHONE", {"screen"}, id="upper-case"),
        pytest.param("T恤", {"tee"}, id="t-shirt"),
        pytest.param("秋冬", {"hoodie", "down"}, id="title-or-attribute"),
        pytest.param("老王", {"tangerine", "fuji", "gala", "pear", "banana"}, id="shop-name"),
        pytest.param("苹果 梨", set(), id="every-term-must-match"),
        pytest.param("西瓜", set(), id="nothing"),
    ])
    def test_a_query_finds_exactly_the_products_that_match_every_term(self, backend, kit, q, text, expected):
        assert self.search(backend, kit, q(text, size=50)) == expected

    def test_titles_rank_above_descriptions(self, backend, kit, q):
        ranked = kit.keys(backend.search(kit.index, q("苹果")).ids[:2])
        assert ranked == {"fuji", "gala"}
        assert backend.search(kit.index, q("苹果")).ids[-1] == kit.id("banana")

    def test_a_title_word_outranks_the_same_word_in_an_attribute(self, backend, kit, q):
        # "秋冬" is the hoodie's title and season; the down coat only has the season.
        assert backend.search(kit.index, q("秋冬")).ids == [kit.id("hoodie"), kit.id("down")]

    def test_hits_carry_scores_in_rank_order(self, backend, kit, q):
        hits = backend.search(kit.index, q("苹果")).hits
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    # -- facets ------------------------------------------------------------------------------------------------

    def test_facets_count_every_matching_document(self, backend, kit, q):
        result = backend.search(kit.index, q())
        expected = expected_facets(kit.docs)
        assert {name: facet_counts(result, name) for name in result.facets} == expected
        assert facet_counts(result, "category")[str(kit.categories["fruit"].id)] == 5  # its children's too
        assert facet_counts(result, "in_stock") == {"true": 11}  # gala, compound_high out; tee's S and L in
        assert facet_counts(result, "attr.fertiliser_kind") == {"compound": 2, "nitrogen": 1}
        assert facet_counts(result, "attr.size") == {"S": 1, "M": 1, "L": 1}
        assert facet_counts(result, "attr.total_nutrient_pct") == {"45": 1, "51": 1, "46": 1}
        assert facet_counts(result, "price") == {"0-1000": 1, "1000-5000": 5, "10000-50000": 7}
        assert facet_counts(result, "credit") == {"A": 5, "B": 3, "C": 3, "new": 2}

    def test_facet_values_come_most_frequent_first(self, backend, kit, q):
        for values in backend.search(kit.index, q()).facets.values():
            assert [v.count for v in values] == sorted((v.count for v in values), reverse=True)

    def test_facets_count_only_what_the_query_and_filters_match(self, backend, kit, q):
        compound = backend.search(kit.index, q("复合肥"))
        assert facet_counts(compound, "attr.fertiliser_kind") == {"compound": 2}
        assert facet_counts(compound, "shop") == {str(kit.shops["farm"].id): 2}
        assert facet_counts(compound, "in_stock") == {"true": 1}
        assert facet_counts(compound, "price") == {"10000-50000": 2}  # the tier price 150.00 is the lowest
        assert facet_counts(compound, "credit") == {"C": 2}
        filtered = backend.search(kit.index, q(attributes={"season": ["autumn_winter"]}))
        assert facet_counts(filtered, "attr.gender") == {"unisex": 1, "women": 1}
        assert facet_counts(filtered, "attr.season") == {"autumn_winter": 2}
        assert "attr.fertiliser_kind" not in filtered.facets
        in_stock = backend.search(kit.index, q("苹果", in_stock=True))
        assert in_stock.total == 2 and facet_counts(in_stock, "in_stock") == {"true": 2}

    def test_without_facets_the_total_is_still_counted(self, backend, kit, q):
        result = backend.search(kit.index, q("苹果", with_facets=False, size=1))
        assert result.total == 3 and len(result.hits) == 1 and not result.facets

    # -- filters -----------------------------------------------------------------------------------------------

    def test_a_category_filter_includes_its_descendants(self, backend, kit, q):
        fruit = kit.categories["fruit"].id
        assert self.search(backend, kit, q(category_id=fruit)) == {"tangerine", "fuji", "gala", "pear", "banana"}
        assert self.search(backend, kit, q(category_id=kit.categories["apples"].id)) == {"fuji", "gala"}
        assert self.search(backend, kit, q("苹果", category_id=kit.categories["pears"].id)) == set()

    def test_a_shop_filter(self, backend, kit, q):
        assert self.search(backend, kit, q(shop_id=kit.shops["repair"].id)) == {"screen", "battery"}
        assert self.search(backend, kit, q("更换", shop_id=kit.shops["fruit"].id)) == set()

    def test_a_price_range_filters_the_lowest_price_from_inclusive_to_exclusive(self, backend, kit, q):
        assert self.search(backend, kit, q(price_min=2500, price_max=2990)) == {"pear"}
        assert self.search(backend, kit, q(price_min=2500, price_max=2991)) == {"pear", "fuji"}
        # The compound fertiliser costs 160.00 a bag, 150.00 from ten bags: its lowest price is 150.00.
        assert self.search(backend, kit, q("复合肥", price_max=15001)) == {"compound"}
        assert self.search(backend, kit, q(price_min=40000)) == {"screen"}

    def test_in_stock_leaves_out_products_no_one_can_buy(self, backend, kit, q):
        assert self.search(backend, kit, q("苹果", in_stock=True)) == {"fuji", "banana"}
        assert "tee" in self.search(backend, kit, q(in_stock=True))  # one size sold out, two in stock

    def test_attribute_values_are_alternatives_within_one_attribute_and_all_required_across(self, backend, kit, q):
        seasons = {"season": ["spring_summer", "autumn_winter"]}
        assert self.search(backend, kit, q(attributes=seasons)) == {"tee", "hoodie", "down"}
        assert self.search(backend, kit, q(attributes={**seasons, "gender": ["women"]})) == {"down"}
        assert self.search(backend, kit, q(attributes={"fertiliser_kind": ["compound"],
                                                       "total_nutrient_pct": ["45"]})) == {"compound"}
        assert self.search(backend, kit, q(attributes={"season": ["no-such-season"]})) == set()
        assert self.search(backend, kit, q(attributes={"size": ["M"]})) == {"tee"}  # a variant option

    def test_filters_combine_with_the_query(self, backend, kit, q):
        query = q("苹果", category_id=kit.categories["fruit"].id, shop_id=kit.shops["fruit"].id, price_min=1500,
                  in_stock=True)
        assert self.search(backend, kit, query) == {"fuji"}

    def test_an_empty_query_with_filters_browses_newest_first(self, backend, kit, q):
        result = backend.search(kit.index, q(category_id=kit.categories["fruit"].id))
        assert result.ids == [kit.id(k) for k in ("banana", "pear", "gala", "fuji", "tangerine")]
        assert result.total == 5

    # -- sorting -----------------------------------------------------------------------------------------------

    def test_every_sort(self, backend, kit, q):
        docs = {d.id: d for d in kit.docs}
        for sort in SORTS:
            ids = backend.search(kit.index, q(sort=sort, size=50)).ids
            assert sorted(ids) == sorted(docs), sort
            prices = [docs[i].price_min for i in ids]
            if sort == "price_asc":
                assert prices == sorted(prices)
            elif sort == "price_desc":
                assert prices == sorted(prices, reverse=True)
            elif sort in ("newest", "relevance"):  # an empty query has no relevance: newest first
                assert ids == sorted(docs, key=lambda i: docs[i].published_at, reverse=True), sort
            elif sort == "credit":
                assert ids == [d.id for d in sorted(docs.values(), key=credit_order)]
            elif sort == "sales":  # nothing sold in the kit: newest first
                assert ids == [d.id for d in sorted(docs.values(), key=sales_order)]

    def test_price_sorts_use_the_lowest_price_tiers_included(self, backend, kit, q):
        ids = backend.search(kit.index, q("复合肥", sort="price_asc")).ids
        assert ids == [kit.id("compound"), kit.id("compound_high")]  # 150.00 (tier) before 180.00
        assert backend.search(kit.index, q("复合肥", sort="price_desc")).ids == ids[::-1]

    def test_best_selling_first(self, backend, kit, q, tenant_index, make_tenant):
        index = tenant_index(make_tenant())
        sold = {"fuji": 7, "gala": 120, "banana": 30, "pear": 0}
        backend.index(index, [dataclasses.replace(d, sales=sold[k]) for k in sold
                              for d in kit.docs if d.id == kit.id(k)])
        ids = backend.search(index, q(sort="sales")).ids
        assert ids == [kit.id(k) for k in ("gala", "banana", "fuji", "pear")]
        assert backend.search(index, q("苹果", sort="sales")).ids == [kit.id(k) for k in ("gala", "banana", "fuji")]

    def test_best_selling_counts_units_then_newest_over_matches_filters_and_pages(self, backend, kit, q, tenant_index,
                                                                                   make_tenant):
        index = tenant_index(make_tenant())
        sold = {"tangerine": 40, "fuji": 7, "gala": 120, "pear": 7, "banana": 30, "compound": 500, "urea": 12}
        docs = [dataclasses.replace(d, sales=sold.get(kit.keys([d.id]).pop(), 0)) for d in kit.docs]
        backend.index(index, docs)
        everything = backend.search(index, q(sort="sales", size=50)).ids
        assert everything == [d.id for d in sorted(docs, key=sales_order)]
        assert everything[:2] == [kit.id("compound"), kit.id("gala")]
        assert everything.index(kit.id("pear")) < everything.index(kit.id("fuji"))  # 7 each: the newer first
        apples = [d for d in docs if d.id in {kit.id(k) for k in ("fuji", "gala", "banana")}]
        assert backend.search(index, q("苹果", sort="sales")).ids == [d.id for d in sorted(apples, key=sales_order)]
        in_fruit = [d for d in docs if kit.categories["fruit"].id in d.category_ids]
        second_page = backend.search(index, q(sort="sales", category_id=kit.categories["fruit"].id, size=2, page=2))
        assert second_page.ids == [d.id for d in sorted(in_fruit, key=sales_order)][2:4]
        assert second_page.total == len(in_fruit)

    # -- credit ------------------------------------------------------------------------------------------------

    def test_credit_sorts_rated_shops_first_then_by_score_then_newest(self, backend, kit, q):
        docs = {d.id: d for d in kit.docs}
        ids = backend.search(kit.index, q(sort="credit", size=50)).ids
        assert ids == [d.id for d in sorted(docs.values(), key=credit_order)]
        assert kit.keys(ids[:5]) == {"tangerine", "fuji", "gala", "pear", "banana"}  # the A shop's goods, newest first
        assert ids[:5] == sorted(ids[:5], key=lambda i: docs[i].published_at, reverse=True)
        assert kit.keys(ids[-2:]) == {"screen", "battery"}  # new shop: last, though its 88 beats the C shop's 70
        repairs = backend.search(kit.index, q("更换", sort="credit")).ids
        assert repairs == [kit.id("battery"), kit.id("screen")]  # one shop: newest first
        fertiliser = backend.search(kit.index, q("40kg", sort="credit")).ids
        assert fertiliser == [d.id for d in sorted((docs[kit.id(k)] for k in ("compound", "urea")), key=credit_order)]

    def test_credit_sort_puts_any_level_before_any_new_shop(self, backend, kit, q, tenant_index, make_tenant):
        index = tenant_index(make_tenant())
        standing = {"fuji": (99, "new"), "gala": (12, "D"), "pear": (12, "D"), "banana": (64, "D"),
                    "tangerine": (0, "new")}
        docs = [dataclasses.replace(d, credit_score=standing[k][0], credit_level=standing[k][1])
                for k in standing for d in kit.docs if d.id == kit.id(k)]
        backend.index(index, docs)
        ids = backend.search(index, q(sort="credit")).ids
        assert ids == [d.id for d in sorted(docs, key=credit_order)]
        assert ids == [kit.id(k) for k in ("banana", "pear", "gala", "fuji", "tangerine")]

    def test_a_credit_level_filter_keeps_the_shops_of_any_level_given(self, backend, kit, q):
        by_level: dict[str, set[str]] = {}
        for doc in kit.docs:
            by_level.setdefault(doc.credit_level, set()).update(kit.keys([doc.id]))
        assert self.search(backend, kit, q(credit_levels=["A"], size=50)) == by_level["A"]
        assert self.search(backend, kit, q(credit_levels=["B", "C"], size=50)) == by_level["B"] | by_level["C"]
        assert self.search(backend, kit, q(credit_levels=["new"], size=50)) == {"screen", "battery"}
        assert self.search(backend, kit, q(credit_levels=["D"], size=50)) == set()
        assert self.search(backend, kit, q("苹果", credit_levels=["A", "new"])) == {"fuji", "gala", "banana"}
        assert self.search(backend, kit, q("更换", credit_levels=["A"])) == set()
        filtered = backend.search(kit.index, q(credit_levels=["B", "C"], in_stock=True))
        matching = [d for d in kit.docs if d.credit_level in ("B", "C") and d.in_stock]
        assert filtered.total == len(matching)
        assert facet_counts(filtered, "credit") == dict(Counter(d.credit_level for d in matching))

    def test_the_credit_facet_counts_what_the_query_matches(self, backend, kit, q):
        for text in ("老王", "复合肥", "秋冬", "更换"):
            result = backend.search(kit.index, q(text, size=50))
            matched = [d for d in kit.docs if d.id in set(result.ids)]
            assert facet_counts(result, "credit") == dict(Counter(d.credit_level for d in matched)), text
        assert facet_counts(backend.search(kit.index, q("老王")), "credit") == {"A": 5}

    def test_relevance_ties_go_newest_first(self, backend, kit, q, tenant_index, make_tenant):
        index = tenant_index(make_tenant())
        fuji = next(d for d in kit.docs if d.id == kit.id("fuji"))
        twins = [dataclasses.replace(fuji, id=fuji.id + n, published_at=fuji.published_at + n * 60)
                 for n in (3, 1, 2)]
        backend.index(index, twins)
        assert backend.search(index, q("富士")).ids == [fuji.id + 3, fuji.id + 2, fuji.id + 1]

    # -- pagination --------------------------------------------------------------------------------------------

    @pytest.mark.parametrize("sort", SORTS)
    def test_pages_do_not_overlap_and_the_total_holds(self, backend, kit, q, sort):
        everything = backend.search(kit.index, q(sort=sort, size=50)).ids
        pages = [backend.search(kit.index, q(sort=sort, size=4, page=n)) for n in range(1, 6)]
        assert [len(p.hits) for p in pages] == [4, 4, 4, 1, 0]
        assert {p.total for p in pages} == {len(kit.ids)}
        assert [i for p in pages for i in p.ids] == everything

    def test_a_query_with_more_pages(self, backend, kit, q):
        first = backend.search(kit.index, q("老王", size=3))
        second = backend.search(kit.index, q("老王", size=3, page=2))
        assert first.total == second.total == 5
        assert len(first.ids) == 3 and len(second.ids) == 2 and not set(first.ids) & set(second.ids)

    # -- deletes -----------------------------------------------------------------------------------------------

    def test_deleted_products_are_gone_from_results_facets_and_suggestions(self, backend, kit, q, search_analyser):
        assert kit.id("fuji") in {s.ref for s in backend.suggest(kit.index, search_analyser.terms("红富"))}
        backend.delete(kit.index, [kit.id("fuji"), kit.id("urea"), 999_999_999])  # unknown ids are ignored
        assert self.search(backend, kit, q("苹果")) == {"gala", "banana"}
        result = backend.search(kit.index, q())
        assert result.total == len(kit.ids) - 2
        assert facet_counts(result, "attr.fertiliser_kind") == {"compound": 2}
        suggested = backend.suggest(kit.index, search_analyser.terms("红富"))
        assert kit.id("fuji") not in {s.ref for s in suggested if s.kind == "product"}
        backend.delete(kit.index, [])
        assert backend.search(kit.index, q()).total == len(kit.ids) - 2

    def test_deleting_from_a_tenant_without_an_index_is_harmless(self, backend, q, tenant_index, make_tenant):
        index = tenant_index(make_tenant())
        backend.delete(index, [1, 2, 3])
        result = backend.search(index, q("苹果"))
        assert result.ids == [] and result.total == 0
        assert backend.suggest(index, []) == []

    # -- tenants -----------------------------------------------------------------------------------------------

    def test_a_tenants_products_never_reach_another_tenants_results_or_suggestions(
            self, backend, kit, q, tenant_index, factories, make_tenant, search_analyser):
        other = build_catalogue(factories, make_tenant(slug="kit-other"), OTHER_SPEC)
        other_index = tenant_index(other.tenant)
        backend.index(other_index, other.documents(search_analyser))
        mine, theirs = set(kit.ids.values()), set(other.ids.values())
        for text in ("", "苹果", "pingguo", "pg", "老王", "水果"):
            assert set(backend.search(other_index, q(text, size=50)).ids) <= theirs, text
            assert set(backend.search(kit.index, q(text, size=50)).ids) <= mine, text
        assert backend.search(other_index, q()).total == 1
        assert facet_counts(backend.search(other_index, q()), "shop") == {str(other.shops["fruit"].id): 1}
        for text in ("苹", "pingg", "pg", "老王", "水果"):
            refs = {(s.kind, s.ref) for s in backend.suggest(other_index, search_analyser.terms(text))}
            assert refs <= {("product", other.id("juice")), ("shop", other.shops["fruit"].id),
                            ("category", other.categories["fruit"].id)}, text
            assert refs, text
        backend.drop(other_index)
        assert backend.search(kit.index, q()).total == len(kit.ids)  # dropping one tenant leaves the other

    # -- suggestions -------------------------------------------------------------------------------------------

    def suggested(self, backend, kit, analyser, text: str, limit: int = 8) -> set[tuple[str, str]]:
        return {(s.kind, s.text) for s in backend.suggest(kit.index, analyser.terms(text), limit)}

    @pytest.mark.parametrize(("text", "expected"), [
        pytest.param("苹", APPLE_SUGGESTIONS, id="hanzi-prefix"),
        pytest.param("苹果", APPLE_SUGGESTIONS, id="hanzi-word"),
        pytest.param("pingg", APPLE_SUGGESTIONS, id="pinyin-prefix"),
        pytest.param("pg", APPLE_SUGGESTIONS, id="initials"),
        pytest.param("老王", {("shop", "老王水果店")}, id="shop-name"),
        pytest.param("laow", {("shop", "老王水果店")}, id="shop-name-pinyin"),
        pytest.param("手机", {("shop", "小李手机维修"), ("category", "手机维修"), ("product", "华为手机电池更换")},
                     id="shop-category-and-product"),
        pytest.param("水果", {("category", "新鲜水果"), ("shop", "老王水果店")}, id="category-name"),
        pytest.param("复合", {("product", "硫酸钾型复合肥料 15-15-15 40kg"), ("product", "复合肥 17-17-17 50kg")},
                     id="product-titles"),
        pytest.param("iph", {("product", "iPhone 13 屏幕更换 原装品质")}, id="english-prefix"),
    ])
    def test_suggestions_by_prefix_in_hanzi_pinyin_and_initials(self, backend, kit, search_analyser, text,
                                                                 expected):
        assert self.suggested(backend, kit, search_analyser, text) == expected

    def test_suggestions_name_what_they_point_to_and_respect_the_limit(self, backend, kit, search_analyser):
        suggestions = backend.suggest(kit.index, search_analyser.terms("苹"), limit=2)
        assert len(suggestions) == 2
        every = backend.suggest(kit.index, search_analyser.terms("苹"))
        refs = {"category": {c.id for c in kit.categories.values()}, "shop": {s.id for s in kit.shops.values()},
                "product": set(kit.ids.values())}
        assert all(s.ref in refs[s.kind] for s in every)
        assert backend.suggest(kit.index, search_analyser.terms("西瓜")) == []

    def test_every_word_but_the_last_must_match_whole(self, backend, kit, search_analyser):
        assert self.suggested(backend, kit, search_analyser, "红富士 苹") == {("product", "烟台红富士苹果 5斤装")}
        assert self.suggested(backend, kit, search_analyser, "hongfushi 苹") == {("product", "烟台红富士苹果 5斤装")}
        assert self.suggested(backend, kit, search_analyser, "hongf 苹") == set()  # only the last word is a prefix

    # -- reindexing --------------------------------------------------------------------------------------------

    def answers(self, backend, index, q) -> list:
        """What a set of queries finds: ids in order, totals, facets and suggestions."""
        out = []
        for text in ("", "苹果", "pg", "复合肥", "老王", "秋冬", "40kg"):
            for sort in SORTS:
                result = backend.search(index, q(text, sort=sort, size=50))
                out.append((text, sort, result.ids, result.total, {n: facet_counts(result, n) for n in result.facets}))
        return out

    def test_a_reindex_answers_exactly_as_incremental_indexing_did(self, backend, kit, q, search_analyser):
        before = self.answers(backend, kit.index, q)
        suggestions = backend.suggest(kit.index, search_analyser.terms("pg"))
        assert backend.reindex(kit.index, iter(kit.docs)) == len(kit.docs)
        assert self.answers(backend, kit.index, q) == before
        assert backend.suggest(kit.index, search_analyser.terms("pg")) == suggestions

    def test_a_reindex_leaves_out_what_its_documents_leave_out(self, backend, kit, q):
        kept = [d for d in kit.docs if d.id != kit.id("fuji")]
        assert backend.reindex(kit.index, iter(kept)) == len(kept)
        assert self.search(backend, kit, q("苹果")) == {"gala", "banana"}
        assert backend.search(kit.index, q()).total == len(kept)
        backend.index(kit.index, [d for d in kit.docs if d.id == kit.id("fuji")])  # and indexing goes on after it
        assert self.search(backend, kit, q("苹果")) == {"fuji", "gala", "banana"}

    def test_a_reindex_creates_an_index_for_a_new_tenant(self, backend, kit, q, tenant_index, make_tenant):
        index = tenant_index(make_tenant())
        assert backend.reindex(index, iter(kit.docs[:3])) == 3
        assert backend.search(index, q()).total == 3
        assert backend.reindex(index, iter([])) == 0
        assert backend.search(index, q()).total == 0

    def test_health_answers(self, backend):
        healthy, detail = backend.health()
        assert healthy is True and detail
