"""Catalog packs: typed attributes, label-law field rules, identifier formats, and pack loading."""

from decimal import Decimal

import pytest

from marketplace.catalog import packs
from marketplace.catalog.builtin_packs.agri_inputs import formula
from marketplace.catalog.packs import Attribute, AttributeInvalid, AttributeType, CatalogPack, PackError

T = AttributeType

COMPOUND = {"fertiliser_kind": "compound", "n_pct": "15", "p2o5_pct": "15", "k2o_pct": "15",
            "total_nutrient_pct": "45", "executive_standard": "GB/T 15063-2020", "net_content": "40 kg",
            "manufacturer": "中原丰收肥业有限公司"}
PESTICIDE = {"pesticide_category": "insecticide", "registration_no": "PD20080005",
             "production_licence_no": "农药生许（鲁）0123", "active_ingredient": "吡虫啉", "active_content_pct": "10",
             "formulation": "WP", "toxicity": "low_toxic", "use_scope": "小麦 蚜虫", "net_content": "100 g",
             "manufacturer": "鲁丰农化有限公司"}


def _type(type_id):
    return packs.product_type(type_id)


def test_three_packs_are_built_in(app_ctx):
    assert {"general", "agri_inputs", "apparel"} <= set(packs.registry())
    ids = {t.id for t in packs.all_product_types()}
    assert {"agri_inputs.fertiliser", "agri_inputs.pesticide", "agri_inputs.seed", "apparel.garment"} <= ids


@pytest.mark.parametrize(("attribute", "raw", "expected"), [
    (Attribute("n", T.integer, "数量", "Count", minimum=Decimal(0)), " 12 ", 12),
    (Attribute("n", T.decimal, "氮", "N", unit="%"), "15.0%", "15"),
    (Attribute("n", T.decimal, "氮", "N", unit="%"), "4.5", "4.5"),
    (Attribute("d", T.date, "日期", "Date"), "2026/03/15", "2026-03-15"),
    (Attribute("b", T.boolean, "有", "Has"), "是", True),
    (Attribute("b", T.boolean, "有", "Has"), "no", False),
    (Attribute("e", T.enum, "季节", "Season", choices=(packs.Choice("ss", "春夏", "Spring"),)), "春夏", "ss"),
    (Attribute("i", T.identifier, "登记证号", "Reg", pattern=r"PD\d{8}"), "pd 2008 0005", "PD20080005"),
    (Attribute("t", T.text, "名称", "Name"), "  ", None),
])
def test_attribute_values_are_typed(app_ctx, attribute, raw, expected):
    assert attribute.parse(raw) == expected


@pytest.mark.parametrize(("attribute", "raw", "message"), [
    (Attribute("n", T.integer, "数量", "Count"), "1.5", "应为整数"),
    (Attribute("n", T.integer, "数量", "Count"), "abc", "应为数字"),
    (Attribute("n", T.decimal, "氮", "N", minimum=Decimal(0), maximum=Decimal(100)), "120", "不能大于 100"),
    (Attribute("n", T.decimal, "氮", "N"), "NaN", "应为数字"),
    (Attribute("d", T.date, "生产日期", "Date"), "2026-13-40", "日期格式"),
    (Attribute("b", T.boolean, "限制使用", "R"), "maybe", "是"),
    (Attribute("e", T.enum, "季节", "Season", choices=(packs.Choice("ss", "春夏", "Spring"),)), "冬", "只能是"),
    (Attribute("i", T.identifier, "农药登记证号", "Reg", pattern=r"PD\d{8}", example="PD20080005"), "PD2008", "PD20080005"),
    (Attribute("t", T.text, "名称", "Name", max_length=5), "一二三四五六", "最多 5 个字"),
])
def test_bad_values_are_refused_with_a_message_naming_the_field(app_ctx, attribute, raw, message):
    with pytest.raises(AttributeInvalid, match=message) as error:
        attribute.parse(raw)
    assert attribute.label_zh in str(error.value)


def test_a_compound_fertiliser_label_is_accepted_and_its_formula_printed(app_ctx):
    values, problems = _type("agri_inputs.fertiliser").clean(COMPOUND, title="复合肥 15-15-15", require_complete=True)
    assert problems == {}
    assert values["executive_standard"] == "GB/T15063-2020" and formula(values) == "15-15-15"


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"total_nutrient_pct": "48"}, "total_nutrient_pct", "总养分应等于"),
    ({"total_nutrient_pct": ""}, "total_nutrient_pct", "请同时填写总养分"),
    ({"k2o_pct": "2", "total_nutrient_pct": "32"}, "n_pct", "不得低于 4.0%"),
    ({"executive_standard": "企业标准"}, "executive_standard", "格式不正确"),
    ({"manufacturer": ""}, "manufacturer", "请填写生产企业"),
])
def test_fertiliser_label_rules(app_ctx, change, field, message):
    _values, problems = _type("agri_inputs.fertiliser").clean({**COMPOUND, **change}, title="复合肥",
                                                              require_complete=True)
    assert field in problems and message in problems[field]


def test_urea_may_carry_a_single_nutrient(app_ctx):
    urea = {**COMPOUND, "fertiliser_kind": "nitrogen", "n_pct": "46", "p2o5_pct": "0", "k2o_pct": "0",
            "total_nutrient_pct": "46"}
    assert _type("agri_inputs.fertiliser").clean(urea, title="尿素", require_complete=True)[1] == {}


def test_exaggerated_fertiliser_names_are_refused(app_ctx):
    problems = _type("agri_inputs.fertiliser").clean(COMPOUND, title="高效全元素肥王")[1]
    assert "夸大用语" in problems["title"]


@pytest.mark.parametrize(("number", "ok"), [("PD20080005", True), ("WP20120031", True), ("LS20150012", True),
                                            ("PD85150-2", True), ("PD2008005", False), ("XX20080005", False)])
def test_pesticide_registration_number_format(app_ctx, number, ok):
    problems = _type("agri_inputs.pesticide").clean({**PESTICIDE, "registration_no": number},
                                                   require_complete=True)[1]
    assert ("registration_no" not in problems) is ok


def test_restricted_and_highly_toxic_pesticides_stay_offline(app_ctx):
    pesticide = _type("agri_inputs.pesticide")
    assert "不得在线销售" in pesticide.clean({**PESTICIDE, "restricted_use": "是"})[1]["restricted_use"]
    assert "不得在线销售" in pesticide.clean({**PESTICIDE, "toxicity": "高毒"})[1]["toxicity"]
    assert pesticide.licence.kind == "pesticide_business"


@pytest.mark.parametrize(("number", "ok"), [("国审麦20210001", True), ("豫审玉20200012", True),
                                            ("GPD玉米(2018)410001", True), ("审麦2021", False)])
def test_seed_approval_number_format(app_ctx, number, ok):
    seed = {"crop": "小麦", "variety_name": "郑麦 379", "seed_class": "conventional", "approval_no": number,
            "producer": "河南丰禾种业有限公司", "producer_licence_no": "B(豫)农种许字(2019)第0032号",
            "purity_pct": "99", "germination_pct": "85", "moisture_pct": "13", "net_content": "25 kg"}
    problems = _type("agri_inputs.seed").clean(seed, require_complete=True)[1]
    assert ("approval_no" not in problems) is ok


def test_apparel_material_must_add_up_to_100(app_ctx):
    garment = _type("apparel.garment")
    assert garment.clean({"material": "棉 95%，氨纶 5%"}, require_complete=True)[1] == {}
    assert "合计应为 100%" in garment.clean({"material": "棉 90%，氨纶 5%"})[1]["material"]


def test_unknown_attributes_and_drafts(app_ctx):
    garment = _type("apparel.garment")
    assert "没有" in garment.clean({"horsepower": "3"})[1]["horsepower"]
    assert garment.clean({}, require_complete=False)[1] == {}  # a draft may be half-filled
    assert "material" in garment.clean({}, require_complete=True)[1]


def test_third_party_packs_load_from_the_entry_point_and_bad_ones_stop_start_up(monkeypatch):
    class Entry:
        def __init__(self, name, value):
            self.name, self.value = name, value

        def load(self):
            return self.value

    good = CatalogPack("building", "建材", "Building materials", (packs.ProductType(
        "building.tile", "瓷砖", "Tiles", (Attribute("size_mm", T.text, "规格", "Size"),)),))
    monkeypatch.setattr(packs, "entry_points", lambda group: [Entry("building", good)])
    assert "building" in packs.load_packs()
    bad = CatalogPack("general", "重名", "Clash", ())
    monkeypatch.setattr(packs, "entry_points", lambda group: [Entry("clash", bad)])
    with pytest.raises(PackError, match="used twice"):
        packs.load_packs()


@pytest.mark.parametrize("raw", ["1e2000000", "-1e999999", "Infinity", "1" * 40])
def test_absurd_numbers_are_refused_at_once(app_ctx, raw):
    with pytest.raises(AttributeInvalid, match="应为数字"):
        Attribute("power_w", T.integer, "功率", "Power").parse(raw)
