"""Chinese relevance through the whole pipeline: products written with the factories, found with services.search.

Three realistic catalogues: a street (a fruit shop and a phone repair shop), an agricultural-inputs market
(fertiliser, pesticide, seed) and an apparel market. Each case states exactly which products a resident or
a farmer expects; "first" cases also state which one must lead.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Category, Product, ProductStatus, Variant
from marketplace.extensions import db
from marketplace.search import services
from marketplace.search.backend import SearchQuery
from marketplace.tenancy.context import tenant_scope
from tests.search.conformance import COMPOUND, Item, Spec, bucket, build_catalogue, facet_counts, pesticide

STREET = Spec(
    shops={"fruit": ("老王水果店", "Lao Wang Fruit"), "repair": ("小李手机维修", "Xiao Li Phone Repair")},
    categories={
        "fruit": ("时令水果", None, "general.food"), "apples": ("苹果", "fruit", "general.food"),
        "pears": ("梨", "fruit", "general.food"), "citrus": ("柑橘", "fruit", "general.food"),
        "repair": ("手机维修", None, "general.service"), "parts": ("手机配件", None, "general.goods"),
    },
    items=[
        Item("fuji", "fruit", "apples", "烟台红富士苹果 5斤装", price=2990, stock=40,
             attributes={"origin": "山东烟台", "storage": "chilled"}),
        Item("aksu", "fruit", "apples", "阿克苏冰糖心苹果 10斤礼盒", price=6800, stock=15,
             attributes={"origin": "新疆阿克苏", "storage": "chilled"}),
        Item("gala", "fruit", "apples", "陕西洛川嘎啦苹果 5kg", price=3500, stock=0,
             attributes={"origin": "陕西洛川", "storage": "chilled"}),
        Item("pear", "fruit", "pears", "砀山酥梨 5公斤 整箱", price=2500, stock=20,
             attributes={"origin": "安徽砀山", "storage": "ambient"}),
        Item("laiyang", "fruit", "pears", "莱阳梨 5 kg", price=4500, stock=6, attributes={"origin": "山东莱阳"}),
        Item("orange", "fruit", "citrus", "赣南脐橙 新鲜橙子", price=3990, stock=30, attributes={"origin": "江西赣州"}),
        Item("tangerine", "fruit", "citrus", "广西沙糖桔 1斤", price=800, stock=100, unit="jin"),
        Item("kiwi", "fruit", "fruit", "徐香猕猴桃 12个装", price=2990, stock=25, attributes={"origin": "陕西周至"}),
        Item("screen", "repair", "repair", "iPhone 13 屏幕更换 原装品质", price=45000, stock=5,
             attributes={"duration_minutes": 60, "by_appointment": True}),
        Item("iphone_battery", "repair", "repair", "苹果手机电池更换 iPhone 11/12", price=19900, stock=5,
             attributes={"duration_minutes": 30}),
        Item("huawei_battery", "repair", "repair", "华为 Mate 40 换电池", price=15900, stock=5,
             attributes={"duration_minutes": 40}),
        Item("film", "repair", "parts", "钢化膜 iPhone 14 全屏贴膜", price=1500, stock=200,
             attributes={"brand": "绿联"}),
        Item("case", "repair", "parts", "华为手机壳 硅胶防摔", price=2500, stock=50, attributes={"brand": "华为"}),
        Item("charger", "repair", "parts", "快充充电器 20W PD", price=5900, stock=30, attributes={"brand": "倍思"}),
    ],
)


def fertiliser(kind: str, n: str, p: str, k: str, net: str, **more) -> dict:
    total = str(sum(int(x) for x in (n, p, k)))
    return {**COMPOUND, "fertiliser_kind": kind, "n_pct": n, "p2o5_pct": p, "k2o_pct": k, "total_nutrient_pct": total,
            "net_content": net, **more}


def seed(crop: str, variety: str, seed_class: str, approval: str) -> dict:
    return {"crop": crop, "variety_name": variety, "seed_class": seed_class, "approval_no": approval,
            "producer": "河南金穗种业有限公司", "producer_licence_no": "B(豫)农种许字(2019)第0032号", "purity_pct": "96",
            "germination_pct": "85", "moisture_pct": "13", "net_content": "2 kg"}


AGRI = Spec(
    shops={"farm": ("丰收农资", "Harvest Farm Supplies"), "seeds": ("金穗种业", "Golden Ear Seeds")},
    categories={
        "fertiliser": ("化肥", None, "agri_inputs.fertiliser"),
        "compound": ("复合肥", "fertiliser", "agri_inputs.fertiliser"),
        "nitrogen": ("氮肥", "fertiliser", "agri_inputs.fertiliser"),
        "phosphate": ("磷肥", "fertiliser", "agri_inputs.fertiliser"),
        "organic": ("有机肥", "fertiliser", "agri_inputs.fertiliser"),
        "pesticide": ("农药", None, "agri_inputs.pesticide"),
        "insecticide": ("杀虫剂", "pesticide", "agri_inputs.pesticide"),
        "herbicide": ("除草剂", "pesticide", "agri_inputs.pesticide"),
        "seed": ("种子", None, "agri_inputs.seed"),
    },
    items=[
        Item("sop", "farm", "compound", "硫酸钾型复合肥料 15-15-15 40kg", price=16000, stock=200, unit="bag",
             attributes=fertiliser("compound", "15", "15", "15", "40 kg")),
        Item("stanley", "farm", "compound", "史丹利复合肥 17-17-17 50kg", price=18500, stock=80, unit="bag",
             attributes=fertiliser("compound", "17", "17", "17", "50 kg", manufacturer="史丹利农业集团")),
        Item("chloride", "farm", "compound", "氯化钾型复合肥 16-16-16 40公斤", price=14500, stock=0, unit="bag",
             attributes=fertiliser("compound", "16", "16", "16", "40公斤")),
        Item("urea", "farm", "nitrogen", "尿素 46% 40kg 颗粒", price=13000, stock=120, unit="bag",
             attributes=fertiliser("nitrogen", "46", "0", "0", "40 kg", manufacturer="河南心连心化学工业集团")),
        Item("dap", "farm", "phosphate", "磷酸二铵 18-46-0 50kg", price=21000, stock=60, unit="bag",
             attributes=fertiliser("phosphate", "18", "46", "0", "50 kg")),
        Item("organic", "farm", "organic", "生物有机肥 40kg", price=4500, stock=300, unit="bag",
             attributes={**COMPOUND, "fertiliser_kind": "organic", "n_pct": None, "p2o5_pct": None,
                         "k2o_pct": None, "total_nutrient_pct": None, "organic_matter_pct": "45"}),
        Item("imidacloprid", "farm", "insecticide", "10%吡虫啉可湿性粉剂 治蚜虫 100g", price=800, stock=500,
             attributes=pesticide("insecticide", "吡虫啉", "10", "WP", "low_toxic")),
        Item("cypermethrin", "farm", "insecticide", "4.5%高效氯氰菊酯乳油 500ml", price=1800, stock=90,
             attributes=pesticide("insecticide", "高效氯氰菊酯", "4.5", "EC", "moderately_toxic")),
        Item("abamectin", "farm", "insecticide", "1.8%阿维菌素乳油 红蜘蛛", price=1200, stock=70,
             attributes=pesticide("insecticide", "阿维菌素", "1.8", "EC", "low_toxic")),
        Item("glyphosate", "farm", "herbicide", "41%草甘膦异丙胺盐水剂 果园除草", price=2600, stock=40,
             attributes=pesticide("herbicide", "草甘膦", "41", "AS", "low_toxic")),
        Item("corn", "seeds", "seed", "郑单958 玉米种子 杂交种", price=4200, stock=100, unit="bag",
             attributes=seed("玉米", "郑单958", "hybrid", "国审玉20000009")),
        Item("wheat", "seeds", "seed", "百农207 小麦种子 25kg", price=9800, stock=40, unit="bag",
             attributes=seed("小麦", "百农207", "conventional", "国审麦20130010")),
    ],
)


def garment(material: str, season: str, gender: str) -> dict:
    return {"material": material, "season": season, "gender": gender}


def sizes(price: int, *names: str) -> list[tuple[str, int, int, dict]]:
    return [(name.lower(), price, 10, {"size": name, "colour": "黑色"}) for name in names]


APPAREL = Spec(
    shops={"women": ("靓衣坊女装", "Smart Women"), "men": ("男装批发部", "Menswear Wholesale"),
           "shoes": ("步步高鞋城", "Step Up Shoes")},
    categories={
        "women": ("女装", None, "apparel.garment"), "men": ("男装", None, "apparel.garment"),
        "shoes": ("鞋靴", None, "apparel.footwear"),
    },
    items=[
        Item("tee", "men", "men", "纯棉圆领T恤 男款 短袖", variants=sizes(3900, "M", "L", "XL"),
             attributes=garment("棉 100%", "spring_summer", "men")),
        Item("polo", "men", "men", "商务POLO衫 男 翻领", variants=sizes(8900, "L", "XL"),
             attributes=garment("棉 60%，涤纶 40%", "spring_summer", "men")),
        Item("hoodie", "men", "men", "秋冬加绒卫衣 连帽", variants=sizes(12900, "M", "L"),
             attributes=garment("棉 80%，涤纶 20%", "autumn_winter", "unisex")),
        Item("down", "women", "women", "加厚羽绒服 女 长款", variants=sizes(39900, "S", "M"),
             attributes=garment("聚酯纤维 100%", "autumn_winter", "women")),
        Item("dress", "women", "women", "碎花连衣裙 夏季 雪纺", variants=sizes(15900, "S", "M", "L"),
             attributes=garment("聚酯纤维 100%", "spring_summer", "women")),
        Item("jeans", "women", "women", "高腰牛仔裤 女 弹力", variants=sizes(9900, "S", "M"),
             attributes=garment("棉 98%，氨纶 2%", "all_season", "women")),
        Item("sneakers", "shoes", "shoes", "透气运动鞋 男 跑步", variants=sizes(19900, "41", "42"),
             attributes={"upper_material": "网布", "season": "spring_summer", "gender": "men"}),
        Item("cloth_shoes", "shoes", "shoes", "老北京布鞋 千层底", variants=sizes(6900, "38", "40"),
             attributes={"upper_material": "棉布", "season": "all_season", "gender": "unisex"}),
    ],
)

CATALOGUES = {"street": (STREET, "street"), "agri": (AGRI, "market"), "apparel": (APPAREL, "market")}


@dataclass(frozen=True)
class Case:
    id: str
    catalogue: str
    text: str
    #: The products found, no more and no fewer.
    found: frozenset[str]
    #: The products that must lead the results (in any order among themselves), when it is clear which.
    first: frozenset[str] = frozenset()


def case(id: str, catalogue: str, text: str, *found: str, first: tuple[str, ...] = ()):
    return pytest.param(Case(id, catalogue, text, frozenset(found), frozenset(first)), id=id)


APPLES = ("fuji", "aksu", "gala", "iphone_battery")  # 苹果 is also what residents call an iPhone
CASES = [
    # hanzi words and the words inside longer ones
    case("apple-finds-apples-and-apple-phones-never-pears", "street", "苹果", *APPLES,
         first=("fuji", "aksu", "gala")),  # the fruit: by title and by category
    case("fuji-inside-hongfushi", "street", "富士", "fuji"),
    case("bingtangxin-inside-a-title", "street", "冰糖心", "aksu"),
    case("pear-never-apples", "street", "梨", "pear", "laiyang"),
    case("category-name-citrus", "street", "柑橘", "orange", "tangerine"),
    case("shop-name", "street", "小李", "screen", "iphone_battery", "huawei_battery", "film", "case", "charger"),
    case("apple-phone-two-words", "street", "苹果手机", "iphone_battery"),
    case("phone-case-word-unknown-to-jieba", "street", "手机壳", "case"),
    case("compound-inside-sulphate-compound-fertiliser", "agri", "复合肥", "sop", "stanley", "chloride"),
    case("sulphate-inside-a-pack-word", "agri", "硫酸钾", "sop"),
    case("two-words-must-both-match", "agri", "复合肥 硫酸钾型", "sop"),
    case("organic-fertiliser-pack-word", "agri", "有机肥", "organic"),
    case("shop-name-and-word", "street", "老王 苹果", "fuji", "aksu", "gala"),
    case("seed-variety-hanzi-and-digits", "agri", "郑单958", "corn"),
    case("wheat-seed", "agri", "小麦种子", "wheat"),
    case("down-jacket", "apparel", "羽绒服", "down"),
    case("dress", "apparel", "连衣裙", "dress"),
    case("pure-cotton", "apparel", "纯棉", "tee"),
    case("old-beijing-cloth-shoes", "apparel", "老北京布鞋", "cloth_shoes"),
    # pinyin and initials
    case("pinyin-pingguo", "street", "pingguo", *APPLES, first=("fuji", "aksu", "gala")),
    case("pinyin-fushi-inside-hongfushi", "street", "fushi", "fuji"),
    case("pinyin-syllables-apart", "street", "ping guo", *APPLES),
    case("initials-pg", "street", "pg", *APPLES),
    case("pinyin-kiwi", "street", "mihoutao", "kiwi"),
    case("pinyin-urea", "agri", "niaosu", "urea"),
    case("initials-compound-fertiliser", "agri", "fhf", "sop", "stanley", "chloride"),
    case("pinyin-down-jacket", "apparel", "yurongfu", "down"),
    case("initials-dress", "apparel", "lyq", "dress"),
    # traditional characters
    case("traditional-apple", "street", "蘋果", *APPLES),
    case("traditional-kiwi", "street", "獼猴桃", "kiwi"),
    case("traditional-compound", "agri", "複合肥", "sop", "stanley", "chloride"),
    case("traditional-dress", "apparel", "連衣裙", "dress"),
    # mixed Chinese and English
    case("iphone-screen", "street", "iPhone 屏幕", "screen"),
    case("iphone-any-case", "street", "IPHONE", "screen", "iphone_battery", "film"),
    case("huawei-mate-40", "street", "华为 mate 40", "huawei_battery"),
    case("t-shirt", "apparel", "T恤", "tee"),
    case("t-shirt-lower-case", "apparel", "t恤 男", "tee"),
    case("polo-shirt", "apparel", "polo衫", "polo"),
    # units and grades
    case("5kg", "street", "5kg", "gala", "pear", "laiyang"),
    case("5-gongjin", "street", "5公斤", "gala", "pear", "laiyang"),
    case("5-space-kg", "street", "5 kg", "gala", "pear", "laiyang"),
    case("apple-5kg", "street", "苹果 5kg", "gala"),
    case("20w-charger", "street", "20w", "charger"),
    case("formula-15-15-15", "agri", "15-15-15", "sop"),
    case("compound-and-formula", "agri", "复合肥 16-16-16", "chloride"),
    case("46-percent-urea-and-dap-phosphorus", "agri", "46%", "urea", "dap"),
    case("urea-46-percent", "agri", "尿素 46%", "urea"),
    case("40kg-bags", "agri", "40kg", "sop", "chloride", "urea", "organic"),
    case("40-gongjin-bags", "agri", "40公斤", "sop", "chloride", "urea", "organic"),
    case("pesticide-strength", "agri", "4.5%", "cypermethrin"),
    # attribute values
    case("toxicity-low", "agri", "低毒", "imidacloprid", "abamectin", "glyphosate"),
    case("active-ingredient", "agri", "吡虫啉", "imidacloprid"),
    case("pack-word-kept-whole", "agri", "高效氯氰菊酯", "cypermethrin"),
    case("pack-word-inside-a-pack-word", "agri", "氯氰菊酯", "cypermethrin"),
    case("formulation", "agri", "乳油", "cypermethrin", "abamectin"),
    case("fertiliser-kind-label", "agri", "复合（混）肥料", "sop", "stanley", "chloride"),
    case("seed-class", "agri", "杂交种", "corn"),
    case("season-autumn-winter", "apparel", "秋冬", "hoodie", "down", first=("hoodie",)),  # title, then season
    case("gender-menswear", "apparel", "男装", "tee", "polo", "hoodie", "sneakers",
         first=("tee", "polo")),  # category and gender, then one of them
    # negative: nothing unrelated
    case("no-bananas-on-this-street", "street", "香蕉", ),
    case("no-fertiliser-at-the-clothes-market", "apparel", "复合肥"),
    case("herbicide-is-not-insecticide", "agri", "除草剂", "glyphosate"),
]


@pytest.fixture
def catalogue(request, make_tenant, factories):
    spec, kind = CATALOGUES[request.param]
    return build_catalogue(factories, make_tenant(kind=kind, theme=kind), spec)


def search(catalogue, text: str, **kw):
    with tenant_scope(catalogue.tenant):
        return services.search(catalogue.tenant, SearchQuery(text=text, size=50, **kw))


@pytest.mark.parametrize("case", CASES)
def test_relevance(app_ctx, make_tenant, factories, case: Case):
    spec, kind = CATALOGUES[case.catalogue]
    catalogue = build_catalogue(factories, make_tenant(kind=kind, theme=kind), spec)
    result = search(catalogue, case.text).result
    assert catalogue.keys(result.ids) == case.found
    assert result.total == len(case.found)
    if case.first:
        assert catalogue.keys(result.ids[:len(case.first)]) == case.first


# -- facets against the database ------------------------------------------------------------------------------

def active(*conditions):
    return db.session.scalar(select(func.count(Product.id)).where(Product.status == ProductStatus.active,
                                                                  *conditions))


@pytest.mark.parametrize("catalogue", ["agri"], indirect=True)
def test_category_and_shop_facets_equal_sql_counts(app_ctx, catalogue):
    result = search(catalogue, "").result
    with tenant_scope(catalogue.tenant):
        for key, category in catalogue.categories.items():
            subtree = [c.id for c in catalogue.categories.values() if c.id == category.id or c.parent_id == category.id]
            assert facet_counts(result, "category").get(str(category.id), 0) == active(
                Product.category_id.in_(subtree)), key
        for key, shop in catalogue.shops.items():
            assert facet_counts(result, "shop")[str(shop.id)] == active(Product.shop_id == shop.id), key
        assert result.total == active()


@pytest.mark.parametrize(("text", "attribute", "value"), [
    pytest.param("", "toxicity", "low_toxic", id="toxicity-everything"),
    pytest.param("乳油", "toxicity", "low_toxic", id="toxicity-emulsifiable-concentrates"),
    pytest.param("复合肥", "fertiliser_kind", "compound", id="kind-compound-fertiliser"),
    pytest.param("40kg", "fertiliser_kind", "compound", id="kind-40kg-bags"),
    pytest.param("", "active_ingredient", "吡虫啉", id="active-ingredient"),
    pytest.param("", "crop", "玉米", id="crop"),
])
@pytest.mark.parametrize("catalogue", ["agri"], indirect=True)
def test_attribute_facets_equal_sql_counts(app_ctx, catalogue, text, attribute, value):
    result = search(catalogue, text).result
    matching = set(result.ids)
    with tenant_scope(catalogue.tenant):
        expected = active(Product.attributes[attribute].as_string() == value, Product.id.in_(matching))
        everywhere = active(Product.attributes[attribute].as_string() == value)
    assert facet_counts(result, f"attr.{attribute}").get(value, 0) == expected
    if not text:
        assert expected == everywhere > 0


@pytest.mark.parametrize("catalogue", ["street"], indirect=True)
def test_price_and_stock_facets_equal_sql_counts(app_ctx, catalogue):
    result = search(catalogue, "").result
    with tenant_scope(catalogue.tenant):
        lowest = dict(db.session.execute(select(Variant.product_id, func.min(Variant.price))
                                         .group_by(Variant.product_id)).all())
        stocked = active(Product.id.in_(select(Variant.product_id).where(Variant.stock >= Product.moq)))
    buckets: dict[str, int] = {}
    for price in lowest.values():
        buckets[bucket(price)] = buckets.get(bucket(price), 0) + 1
    assert facet_counts(result, "price") == buckets
    assert facet_counts(result, "in_stock") == {"true": stocked}


@pytest.mark.parametrize("catalogue", ["apparel"], indirect=True)
def test_size_facets_count_products_not_variants(app_ctx, catalogue):
    result = search(catalogue, "", attributes={"gender": ["women"]}).result
    with tenant_scope(catalogue.tenant):
        women = {p.id for p in catalogue.products.values() if p.attributes.get("gender") == "women"}
        with_m = db.session.scalar(select(func.count(func.distinct(Variant.product_id))).where(
            Variant.product_id.in_(women), Variant.options["size"].as_string() == "M"))
    assert result.total == len(women) == 3
    assert facet_counts(result, "attr.size")["M"] == with_m == 3


@pytest.mark.parametrize("catalogue", ["apparel"], indirect=True)
def test_an_attribute_being_filtered_keeps_offering_its_other_values(app_ctx, catalogue):
    """Ticking 女装 narrows the results but still lists 男装 and 童装 with their own counts (any may be ticked),
    while the other attributes count only what is shown."""
    result = search(catalogue, "", attributes={"gender": ["women"]}).result
    with tenant_scope(catalogue.tenant):
        gender = Product.attributes["gender"].as_string().label("gender")
        by_gender = dict(db.session.execute(
            select(gender, func.count(Product.id)).where(Product.status == ProductStatus.active).group_by(gender)).all())
    assert facet_counts(result, "attr.gender") == {k: v for k, v in by_gender.items() if k}
    assert len(by_gender) > 2
    shown = {p.id for p in catalogue.products.values() if p.attributes.get("gender") == "women"}
    seasons = [p.attributes.get("season") for p in catalogue.products.values() if p.id in shown]
    assert sum(facet_counts(result, "attr.season").values()) == len([s for s in seasons if s])


@pytest.mark.parametrize("catalogue", ["street"], indirect=True)
def test_a_category_filter_finds_products_of_its_subcategories(app_ctx, catalogue):
    fruit = catalogue.categories["fruit"]
    result = search(catalogue, "", category_id=fruit.id).result
    with tenant_scope(catalogue.tenant):
        below = select(Category.id).where((Category.id == fruit.id) | (Category.parent_id == fruit.id))
        assert result.total == active(Product.category_id.in_(below)) == 8


# -- help when nothing is found ---------------------------------------------------------------------------------

@pytest.mark.parametrize("catalogue", ["street"], indirect=True)
def test_a_homophone_finds_nothing_but_suggests_the_word_meant(app_ctx, catalogue):
    outcome = search(catalogue, "平果")
    assert outcome.result.total == 0
    assert outcome.did_you_mean == "苹果"
