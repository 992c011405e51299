"""The general pack: everyday goods, food and services on a shopping street."""

from marketplace.catalog.packs import Attribute, AttributeType, CatalogPack, Choice, ProductType

T = AttributeType

BRAND = Attribute("brand", T.text, "品牌", "Brand", facet=True, max_length=100)
ORIGIN = Attribute("origin", T.text, "产地", "Origin", facet=True, max_length=100)

PACK = CatalogPack(
    id="general",
    label_zh="通用商品",
    label_en="General goods",
    product_types=(
        ProductType(
            id="general.goods",
            label_zh="日用商品",
            label_en="Goods",
            attributes=(
                BRAND,
                ORIGIN,
                Attribute("model", T.text, "型号", "Model", max_length=100),
                Attribute("warranty_months", T.integer, "保修期", "Warranty", unit="个月", minimum=0, maximum=120),
            ),
            options=("spec", "colour"),
            option_labels={"spec": ("规格", "Specification"), "colour": ("颜色", "Colour")},
        ),
        ProductType(
            id="general.food",
            label_zh="食品",
            label_en="Food",
            attributes=(
                BRAND,
                ORIGIN,
                Attribute("net_content", T.text, "净含量", "Net content", max_length=50),
                Attribute("shelf_life_days", T.integer, "保质期", "Shelf life", unit="天", minimum=0, maximum=3650),
                Attribute("storage", T.enum, "储存方式", "Storage", facet=True, choices=(
                    Choice("ambient", "常温", "Ambient"), Choice("chilled", "冷藏", "Chilled"),
                    Choice("frozen", "冷冻", "Frozen"),
                )),
                Attribute("food_licence_no", T.identifier, "食品生产许可证编号", "Food production licence no.",
                          pattern=r"SC\d{14}", example="SC10641010300234"),
            ),
            options=("spec",),
            option_labels={"spec": ("规格", "Specification")},
        ),
        ProductType(
            id="general.service",
            label_zh="服务",
            label_en="Service",
            attributes=(
                Attribute("duration_minutes", T.integer, "时长", "Duration", unit="分钟", minimum=1, maximum=1440),
                Attribute("by_appointment", T.boolean, "需预约", "By appointment"),
            ),
        ),
    ),
)
