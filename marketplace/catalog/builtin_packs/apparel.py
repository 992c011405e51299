"""The apparel pack: size, colour, material composition, season and care for garments and shoes."""

import re
from decimal import Decimal

from flask_babel import gettext as _

from marketplace.catalog.packs import Attribute, AttributeType, CatalogPack, Choice, ProductType

T = AttributeType

SEASON = Attribute("season", T.enum, "季节", "Season", facet=True, choices=(
    Choice("spring_summer", "春夏", "Spring/summer"), Choice("autumn_winter", "秋冬", "Autumn/winter"),
    Choice("all_season", "四季", "All seasons"),
))
GENDER = Attribute("gender", T.enum, "适用人群", "For", facet=True, choices=(
    Choice("women", "女装", "Women"), Choice("men", "男装", "Men"), Choice("children", "童装", "Children"),
    Choice("unisex", "男女通用", "Unisex"),
))
#: "棉 95%, 氨纶 5%" — fibre names with percentages that add up to 100 (the fibre content label).
MATERIAL = Attribute("material", T.text, "面料成分", "Material composition", required=True, max_length=200,
                     help_zh="例如：棉 95%，氨纶 5%", help_en="e.g. cotton 95%, elastane 5%")
CARE = Attribute("care", T.text, "洗涤说明", "Care", max_length=300)
SIZE_CHART = Attribute("size_chart", T.text, "尺码表", "Size chart", max_length=1000,
                       help_zh="每行一个尺码：S 胸围 88 衣长 62", help_en="One size per line: S chest 88 length 62")
EXECUTIVE_STANDARD = Attribute("executive_standard", T.identifier, "执行标准", "Standard",
                               pattern=r"(GB|FZ|GB/T|FZ/T)\s?\d{3,6}(-\d{4})?", example="GB/T 2660-2017")


def material_adds_up(values: dict, _title: str) -> dict[str, str]:
    """The percentages in the composition must add up to 100."""
    material = values.get("material")
    if not material:
        return {}
    shares = [Decimal(n) for n in re.findall(r"(\d+(?:\.\d+)?)\s*%", material)]
    if shares and sum(shares) != 100:
        return {"material": _("面料成分的百分比合计应为 100%%，现为 %(total)s%%。", total=sum(shares))}
    return {}


GARMENT_OPTIONS = {"size": ("尺码", "Size"), "colour": ("颜色", "Colour")}

PACK = CatalogPack(
    id="apparel",
    label_zh="服装鞋帽",
    label_en="Apparel",
    product_types=(
        ProductType(
            id="apparel.garment",
            label_zh="服装",
            label_en="Garment",
            attributes=(MATERIAL, SEASON, GENDER, SIZE_CHART, CARE, EXECUTIVE_STANDARD,
                        Attribute("safety_class", T.enum, "安全技术类别", "Safety class", choices=(
                            Choice("A", "A 类（婴幼儿）", "Class A (infants)"),
                            Choice("B", "B 类（直接接触皮肤）", "Class B (next to skin)"),
                            Choice("C", "C 类（非直接接触皮肤）", "Class C (not next to skin)"),
                        ))),
            rules=(material_adds_up,),
            options=("size", "colour"),
            option_labels=GARMENT_OPTIONS,
        ),
        ProductType(
            id="apparel.footwear",
            label_zh="鞋靴",
            label_en="Footwear",
            attributes=(
                Attribute("upper_material", T.text, "鞋面材质", "Upper", required=True, max_length=100),
                Attribute("sole_material", T.text, "鞋底材质", "Sole", max_length=100),
                SEASON, GENDER, SIZE_CHART,
            ),
            options=("size", "colour"),
            option_labels=GARMENT_OPTIONS,
        ),
        ProductType(
            id="apparel.accessory",
            label_zh="配饰与面料",
            label_en="Accessories & fabrics",
            attributes=(
                Attribute("material", T.text, "材质", "Material", max_length=200),
                Attribute("width_cm", T.decimal, "门幅", "Width", unit="cm", minimum=Decimal(0)),
                SEASON, CARE,
            ),
            options=("spec", "colour"),
            option_labels={"spec": ("规格", "Specification"), "colour": ("颜色", "Colour")},
        ),
    ),
    search_words=(
        "卫衣", "连衣裙", "半身裙", "羽绒服", "棉服", "冲锋衣", "夹克", "风衣", "大衣", "毛衣", "针织衫",
        "衬衫", "牛仔裤", "休闲裤", "运动裤", "打底裤", "西装", "旗袍", "汉服", "童装", "女装", "男装",
        "运动鞋", "帆布鞋", "皮鞋", "老北京布鞋", "纯棉", "涤纶", "氨纶", "真丝", "羊毛", "羊绒", "莫代尔",
    ),
)
