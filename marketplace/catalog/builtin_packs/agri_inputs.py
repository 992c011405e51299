"""The agricultural-inputs pack: fertiliser, pesticide and seed listings carry what their legal label carries.

Field lists follow the label rules: the Product Quality Law (art. 27) for every input, the Pesticide
Regulations (art. 22) and the pesticide label measures for pesticides, GB 18382 / GB 15063 for fertiliser
labels, and the Seed Law (art. 40) with the seed label measures for seeds. Pesticides and seeds may only be
published by a shop whose business licence is on file and verified.
"""

from decimal import Decimal

from flask_babel import gettext as _

from marketplace.catalog.packs import Attribute, AttributeType, CatalogPack, Choice, Licence, ProductType

T = AttributeType
PERCENT = {"unit": "%", "minimum": Decimal(0), "maximum": Decimal(100)}

MANUFACTURER = Attribute("manufacturer", T.text, "生产企业", "Manufacturer", required=True, max_length=200)
MANUFACTURER_ADDRESS = Attribute("manufacturer_address", T.text, "生产企业地址", "Manufacturer address", max_length=300)
NET_CONTENT = Attribute("net_content", T.text, "净含量", "Net content", required=True, max_length=50,
                        help_zh="例如：40 kg、500 mL", help_en="e.g. 40 kg, 500 mL")
PRODUCTION_DATE = Attribute("production_date", T.date, "生产日期", "Production date")
BATCH_NO = Attribute("batch_no", T.text, "产品批号", "Batch no.", max_length=50)
SHELF_LIFE = Attribute("shelf_life_months", T.integer, "保质期", "Shelf life", unit="个月", minimum=1, maximum=120)

# -- fertiliser ----------------------------------------------------------------------------------------------

#: Exaggerated names the fertiliser label standard forbids in a product name.
FORBIDDEN_FERTILISER_WORDS = ("高效", "肥王", "全元素", "特效", "神肥")
#: Each nutrient of a compound fertiliser must be at least this much, when present (GB 15063).
MIN_COMPOUND_NUTRIENT = Decimal("4.0")
NUTRIENT_TOLERANCE = Decimal("0.1")


def nutrients_add_up(values: dict, title: str) -> dict[str, str]:
    """Total nutrient = N + P₂O₅ + K₂O; compound components ≥ 4 %; no exaggerated words in the name."""
    problems = {}
    parts = [Decimal(values[k]) for k in ("n_pct", "p2o5_pct", "k2o_pct") if k in values]
    if "total_nutrient_pct" in values and parts:
        total, expected = Decimal(values["total_nutrient_pct"]), sum(parts)
        if abs(total - expected) > NUTRIENT_TOLERANCE:
            problems["total_nutrient_pct"] = _(
                "总养分应等于氮、五氧化二磷、氧化钾含量之和（%(sum)s%%），现填 %(total)s%%。", sum=expected, total=total)
    elif parts and "total_nutrient_pct" not in values:
        problems["total_nutrient_pct"] = _("填写了养分含量时，请同时填写总养分。")
    if values.get("fertiliser_kind") == "compound":
        low = [p for p in parts if 0 < p < MIN_COMPOUND_NUTRIENT]
        if low:
            problems["n_pct"] = _("复合（混）肥料中每种单一养分不得低于 4.0%%。")
    for word in FORBIDDEN_FERTILISER_WORDS:
        if word in title:
            problems["title"] = _("肥料名称不得使用“%(word)s”等夸大用语。", word=word)
    return problems


def formula(values: dict) -> str:
    """The N-P₂O₅-K₂O formula as printed on the bag, e.g. "15-15-15" (0 for a missing nutrient)."""
    if not any(k in values for k in ("n_pct", "p2o5_pct", "k2o_pct")):
        return ""
    return "-".join(str(values.get(k, 0)) for k in ("n_pct", "p2o5_pct", "k2o_pct"))


FERTILISER = ProductType(
    id="agri_inputs.fertiliser",
    label_zh="肥料",
    label_en="Fertiliser",
    attributes=(
        Attribute("fertiliser_kind", T.enum, "肥料类别", "Fertiliser kind", required=True, facet=True, choices=(
            Choice("compound", "复合（混）肥料", "Compound fertiliser"), Choice("nitrogen", "氮肥", "Nitrogen"),
            Choice("phosphate", "磷肥", "Phosphate"), Choice("potash", "钾肥", "Potash"),
            Choice("organic", "有机肥料", "Organic"), Choice("water_soluble", "水溶肥料", "Water-soluble"),
            Choice("microbial", "微生物肥料", "Microbial"),
        )),
        Attribute("n_pct", T.decimal, "氮（N）", "Nitrogen (N)", facet=True, **PERCENT),
        Attribute("p2o5_pct", T.decimal, "有效磷（P₂O₅）", "Phosphorus (P₂O₅)", facet=True, **PERCENT),
        Attribute("k2o_pct", T.decimal, "氧化钾（K₂O）", "Potassium (K₂O)", facet=True, **PERCENT),
        Attribute("total_nutrient_pct", T.decimal, "总养分", "Total nutrient", facet=True, **PERCENT),
        Attribute("organic_matter_pct", T.decimal, "有机质", "Organic matter", **PERCENT),
        Attribute("registration_no", T.identifier, "肥料登记证号", "Fertiliser registration no.",
                  pattern=r"([\u4e00-\u9fa5]{1,2})?农肥([（(]\d{4}[）)])?[准临]字\d{3,6}号"
                          r"|微生物肥[（(]\d{4}[）)][准临]字[（(]?\d{3,5}[）)]?号",
                  example="农肥准字1234号"),
        Attribute("executive_standard", T.identifier, "执行标准", "Standard", required=True,
                  pattern=r"(GB|GB/T|NY|NY/T|HG|HG/T)\d{3,6}(-\d{4})?", example="GB/T 15063-2020"),
        NET_CONTENT, MANUFACTURER, MANUFACTURER_ADDRESS, PRODUCTION_DATE, BATCH_NO, SHELF_LIFE,
        Attribute("usage", T.text, "使用方法", "Usage", max_length=300),
        Attribute("precautions", T.text, "注意事项", "Precautions", max_length=500),
        Attribute("storage", T.text, "贮存要求", "Storage", max_length=200),
    ),
    rules=(nutrients_add_up,),
    options=("spec",),
    option_labels={"spec": ("规格", "Specification")},
)

# -- pesticide -----------------------------------------------------------------------------------------------

PESTICIDE_LICENCE = Licence("pesticide_business", "农药经营许可证", "Pesticide business licence")
SEED_LICENCE = Licence("seed_business", "农作物种子生产经营许可证", "Seed production and business licence")


def pesticide_may_be_sold_online(values: dict, _title: str) -> dict[str, str]:
    """Restricted-use pesticides, and the highly and extremely toxic ones (all restricted), stay off-line."""
    if values.get("restricted_use"):
        return {"restricted_use": _("限制使用农药不得在线销售，请到店购买。")}
    if values.get("toxicity") in ("extremely_toxic", "highly_toxic"):
        return {"toxicity": _("剧毒、高毒农药不得在线销售。")}
    return {}


PESTICIDE = ProductType(
    id="agri_inputs.pesticide",
    label_zh="农药",
    label_en="Pesticide",
    licence=PESTICIDE_LICENCE,
    attributes=(
        Attribute("pesticide_category", T.enum, "农药类别", "Category", required=True, facet=True, choices=(
            Choice("herbicide", "除草剂（绿色标志带）", "Herbicide (green band)"),
            Choice("insecticide", "杀虫剂（红色标志带）", "Insecticide (red band)"),
            Choice("fungicide", "杀菌剂（黑色标志带）", "Fungicide (black band)"),
            Choice("plant_growth_regulator", "植物生长调节剂（深黄色标志带）", "Plant growth regulator (dark yellow band)"),
            Choice("rodenticide", "杀鼠剂（蓝色标志带）", "Rodenticide (blue band)"),
            Choice("insecticide_fungicide", "杀虫/杀菌剂（红黑标志带）", "Insecticide/fungicide (red and black band)"),
        )),
        Attribute("registration_no", T.identifier, "农药登记证号", "Pesticide registration no.", required=True,
                  pattern=r"(PD|WP|LS|WL)\d{8}|PD\d{5}-\d{1,2}", example="PD20080005"),
        Attribute("production_licence_no", T.identifier, "农药生产许可证号", "Production licence no.",
                  required=True, pattern=r"农药生许[（(][\u4e00-\u9fa5][）)]\d{4,5}", example="农药生许（鲁）0123"),
        Attribute("active_ingredient", T.text, "有效成分", "Active ingredient", required=True, facet=True,
                  max_length=100),
        Attribute("active_content_pct", T.decimal, "有效成分含量", "Active content", required=True, **PERCENT),
        Attribute("formulation", T.enum, "剂型", "Formulation", required=True, facet=True, choices=(
            Choice("WP", "可湿性粉剂（WP）", "Wettable powder (WP)"), Choice("EC", "乳油（EC）", "Emulsifiable concentrate (EC)"),
            Choice("SC", "悬浮剂（SC）", "Suspension concentrate (SC)"), Choice("WG", "水分散粒剂（WG）", "Water-dispersible granule (WG)"),
            Choice("SL", "可溶液剂（SL）", "Soluble concentrate (SL)"), Choice("EW", "水乳剂（EW）", "Emulsion in water (EW)"),
            Choice("ME", "微乳剂（ME）", "Microemulsion (ME)"), Choice("GR", "颗粒剂（GR）", "Granule (GR)"),
            Choice("AS", "水剂（AS）", "Aqueous solution (AS)"), Choice("FS", "悬浮种衣剂（FS）", "Seed treatment (FS)"),
        )),
        Attribute("toxicity", T.enum, "毒性", "Toxicity", required=True, facet=True, choices=(
            Choice("extremely_toxic", "剧毒", "Extremely toxic"), Choice("highly_toxic", "高毒", "Highly toxic"),
            Choice("moderately_toxic", "中等毒", "Moderately toxic"), Choice("low_toxic", "低毒", "Low toxicity"),
            Choice("slightly_toxic", "微毒", "Slightly toxic"),
        )),
        Attribute("use_scope", T.text, "使用范围（作物/防治对象）", "Use (crop / target)", required=True, max_length=300),
        Attribute("dosage", T.text, "用药量及使用方法", "Dosage and method", max_length=300),
        Attribute("pre_harvest_interval_days", T.integer, "安全间隔期", "Pre-harvest interval", unit="天",
                  minimum=0, maximum=365),
        Attribute("restricted_use", T.boolean, "限制使用", "Restricted use"),
        Attribute("quality_standard_no", T.identifier, "产品质量标准号", "Quality standard no.",
                  pattern=r"(GB|GB/T|HG|HG/T|NY|NY/T|Q/)[\w./-]{2,30}", example="GB/T 28141-2011"),
        NET_CONTENT, MANUFACTURER, MANUFACTURER_ADDRESS, PRODUCTION_DATE, BATCH_NO, SHELF_LIFE,
        Attribute("precautions", T.text, "使用技术要求和注意事项", "Directions and precautions", max_length=500),
        Attribute("first_aid", T.text, "中毒急救措施", "First aid", max_length=300),
        Attribute("storage_transport", T.text, "储存和运输方法", "Storage and transport", max_length=200),
        Attribute("registrant", T.text, "登记证持有人及联系方式", "Registrant and contact", max_length=200),
    ),
    rules=(pesticide_may_be_sold_online,),
    options=("spec",),
    option_labels={"spec": ("规格", "Specification")},
)

# -- seed ----------------------------------------------------------------------------------------------------

def gmo_seed_is_marked(values: dict, _title: str) -> dict[str, str]:
    """A genetically modified seed must say so and tell the grower its safety measures (Seed Law art. 40)."""
    if values.get("gmo") and not values.get("gmo_safety_notice"):
        return {"gmo_safety_notice": _("转基因种子须注明安全控制措施。")}
    return {}


SEED = ProductType(
    id="agri_inputs.seed",
    label_zh="种子",
    label_en="Seed",
    licence=SEED_LICENCE,
    attributes=(
        Attribute("crop", T.text, "作物种类", "Crop", required=True, facet=True, max_length=50),
        Attribute("variety_name", T.text, "品种名称", "Variety", required=True, facet=True, max_length=100),
        Attribute("seed_class", T.enum, "种子类别", "Seed class", required=True, facet=True, choices=(
            Choice("conventional", "常规种", "Conventional"), Choice("hybrid", "杂交种", "Hybrid"),
        )),
        Attribute("approval_no", T.identifier, "品种审定（登记）编号", "Variety approval / registration no.",
                  required=True, pattern=r"(国审|[\u4e00-\u9fa5]审)[\u4e00-\u9fa5]{1,2}\d{8}"
                                         r"|GPD[\u4e00-\u9fa5]{1,6}[（(]\d{4}[）)]\d{6}",
                  example="国审麦20210001"),
        Attribute("producer", T.text, "生产经营者", "Producer", required=True, max_length=200),
        Attribute("producer_licence_no", T.identifier, "种子生产经营许可证编号", "Seed licence no.", required=True,
                  pattern=r"[A-E][（(]?[\u4e00-\u9fa5]?[）)]?农种许字[（(]\d{4}[）)]第?\d{3,6}号?|[A-E]\d{12,14}",
                  example="B(豫)农种许字(2019)第0032号"),
        Attribute("quarantine_cert_no", T.text, "检疫证明编号", "Quarantine certificate no.", max_length=50),
        Attribute("purity_pct", T.decimal, "纯度", "Purity", required=True, facet=True, **PERCENT),
        Attribute("germination_pct", T.decimal, "发芽率", "Germination", required=True, facet=True, **PERCENT),
        Attribute("moisture_pct", T.decimal, "水分", "Moisture", required=True, **PERCENT),
        Attribute("cleanliness_pct", T.decimal, "净度", "Cleanliness", **PERCENT),
        Attribute("suitable_region", T.text, "适宜种植区域及季节", "Suitable region and season", max_length=300),
        Attribute("gmo", T.boolean, "转基因", "Genetically modified"),
        NET_CONTENT, PRODUCTION_DATE,
        # The rest of the Seed Law (art. 40) label: where the producer is registered, the batch that makes
        # a sale traceable (art. 36), and the items that apply only to some seeds.
        Attribute("producer_address", T.text, "生产经营者注册地", "Producer's registered address", max_length=300),
        BATCH_NO,
        Attribute("test_date", T.date, "检测日期", "Test date"),
        Attribute("warranty_months", T.integer, "质量保证期", "Quality warranty", unit="个月", minimum=1,
                  maximum=60),
        Attribute("pvp_right_no", T.text, "品种权号", "Plant variety right no.", max_length=50),
        Attribute("import_approval_no", T.text, "进口审批文号", "Import approval no.", max_length=50),
        Attribute("gmo_safety_notice", T.text, "转基因安全控制措施", "GMO safety measures", max_length=300),
    ),
    rules=(gmo_seed_is_marked,),
    options=("spec",),
    option_labels={"spec": ("规格", "Specification")},
)

TOOL = ProductType(
    id="agri_inputs.tool",
    label_zh="农机具",
    label_en="Tools and machinery",
    attributes=(
        Attribute("brand", T.text, "品牌", "Brand", facet=True, max_length=100),
        Attribute("model", T.text, "型号", "Model", max_length=100),
        Attribute("power_w", T.integer, "功率", "Power", unit="W", minimum=0),
        MANUFACTURER,
    ),
    options=("spec",),
    option_labels={"spec": ("规格", "Specification")},
)

PACK = CatalogPack(
    id="agri_inputs",
    label_zh="农资",
    label_en="Agricultural inputs",
    product_types=(FERTILISER, PESTICIDE, SEED, TOOL),
    search_words=(
        # fertiliser
        "复合肥", "复混肥", "复合肥料", "掺混肥", "水溶肥", "叶面肥", "有机肥", "生物有机肥", "缓释肥", "控释肥",
        "尿素", "碳铵", "硫酸钾", "氯化钾", "磷酸二铵", "磷酸一铵", "过磷酸钙", "钙镁磷肥", "硫酸钾型", "氯化钾型",
        "总养分", "微量元素", "腐植酸",
        # pesticide active ingredients and formulations
        "吡虫啉", "啶虫脒", "噻虫嗪", "阿维菌素", "甲维盐", "高效氯氰菊酯", "氯氰菊酯", "高效氯氟氰菊酯",
        "溴氰菊酯", "毒死蜱", "辛硫磷", "草甘膦", "草铵膦", "百草枯", "莠去津", "烟嘧磺隆", "乙草胺", "多菌灵",
        "甲基硫菌灵", "代森锰锌", "苯醚甲环唑", "戊唑醇", "吡唑醚菌酯", "嘧菌酯", "丙环唑", "井冈霉素",
        "乳油", "可湿性粉剂", "悬浮剂", "水分散粒剂", "水剂", "颗粒剂", "微乳剂", "种衣剂",
        "杀虫剂", "杀菌剂", "除草剂", "植物生长调节剂",
        # seed
        "玉米种子", "小麦种子", "杂交种", "常规种", "郑单958", "先玉335", "百农207", "发芽率",
    ),
)
