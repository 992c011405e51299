"""The demo catalog: what the demo shops sell, as plain data (loaded by ``catalog_loader``).

Every brand, manufacturer, variety, registration and licence number below is invented for the demo; the
formats follow the real ones (PD + 8 digits, 农药生许（省）NNNN, 国审麦YYYYNNNN, GPD作物（年）NNNNNN…) so that
the catalog packs accept them. Prices are in fen; tiers are (minimum quantity, unit price in fen).

A product is found again by its first variant's SKU, so the demo can be loaded any number of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoVariant:
    sku: str
    price: int  # fen
    stock: int
    options: dict[str, str] = field(default_factory=dict)
    tiers: tuple[tuple[int, int], ...] = ()
    compare_at_price: int | None = None
    weight_g: int | None = None


@dataclass(frozen=True)
class DemoProduct:
    category: str  # slug in the tenant's manifest
    title: str
    short: str  # the name drawn on the picture
    shape: str  # see marketplace.demo.images.SHAPES
    variants: tuple[DemoVariant, ...]
    attributes: dict = field(default_factory=dict)
    description: str = ""
    unit: str = "piece"
    moq: int = 1
    caption: str = ""  # the smaller line on the picture
    label: bool = False  # a second picture: the label with the product's attributes
    hue: float | None = None  # the picture's colour (0–1), when not the shop's

    @property
    def sku(self) -> str:
        return self.variants[0].sku


@dataclass(frozen=True)
class DemoShop:
    tenant: str
    slug: str
    hue: float  # the colour family of the shop's pictures (0–1)
    products: tuple[DemoProduct, ...]
    #: Wholesale settings, applied when the shop gets its demo products.
    mixed_batch_min_amount: int | None = None
    mixed_batch_min_quantity: int | None = None
    accepts_quotes: bool = False
    #: (kind, number) of the licence gated categories need; the demo operator verifies it.
    licence: tuple[str, str] | None = None


# -- helpers ---------------------------------------------------------------------------------------------------

def tiers(price: int, *steps: tuple[int, float]) -> tuple[tuple[int, int], ...]:
    """Tiers as fractions of the base price, rounded down to 10 fen: tiers(1200, (10, .9)) -> ((10, 1080),)."""
    return tuple((quantity, int(price * share) // 10 * 10) for quantity, share in steps)


def one(sku: str, price: int, stock: int, *, tiers=(), weight_g=None, compare_at_price=None, **options):
    return (DemoVariant(sku, price, stock, dict(options), tuple(tiers), compare_at_price, weight_g),)


def specs(sku: str, rows, *, option: str = "spec", steps=(), weight=None):
    """One variant per (suffix, spec label, price, stock) row; ``steps`` are tier shares for every row."""
    return tuple(DemoVariant(f"{sku}-{suffix}", price, stock, {option: label}, tiers(price, *steps),
                             weight_g=(weight or {}).get(suffix))
                 for suffix, label, price, stock in rows)


def grid(sku: str, sizes, colours, price: int, stock: int, *, steps=(), size_option: str = "size",
         price_step: dict | None = None):
    """Size × colour variants; ``colours`` are (code, name); ``price_step`` adds fen for some sizes."""
    variants = []
    for code, colour in colours:
        for size in sizes:
            own = price + (price_step or {}).get(size, 0)
            variants.append(DemoVariant(f"{sku}-{code}-{size}", own, stock, {size_option: size, "colour": colour},
                                        tiers(own, *steps)))
    return tuple(variants)


def food(origin: str, *, brand: str = "", net: str = "", days: int | None = None, storage: str = "ambient",
         licence: str = "") -> dict:
    values = {"origin": origin, "storage": storage}
    if brand:
        values["brand"] = brand
    if net:
        values["net_content"] = net
    if days is not None:
        values["shelf_life_days"] = days
    if licence:
        values["food_licence_no"] = licence
    return values


def p(text: str) -> str:
    return "".join(f"<p>{part}</p>" for part in text.split("\n"))


# =============================================================================================================
# 德化步行街 / Dehua Pedestrian Street — retail: single prices, a few spec variants, no tiers
# =============================================================================================================

STREET = "dehua-street"
JIN = "jin"


def _fruit(sku, category, title, short, origin, rows, *, hue, days=10, storage="ambient", unit=JIN, caption="",
           description=""):
    return DemoProduct(category, title, short, "fruit", specs(sku, rows), food(origin, days=days, storage=storage),
                       p(description) if description else "", unit, caption=caption, hue=hue)


XIANGUOFANG = DemoShop(STREET, "xianguofang", 0.02, (
    _fruit("XGF-FUJI", "seasonal-fruit", "陕西洛川富士苹果", "富士苹果", "陕西洛川",
           [("75", "果径75-80mm", 598, 300), ("80", "果径80-85mm", 798, 260), ("85", "果径85mm以上", 998, 120)],
           days=30, hue=0.0, caption="按斤称", description="脆甜多汁的红富士，每天早上从批发市场挑选到店。\n按斤称重，"
           "规格按果径分级，个头越大越贵。"),
    _fruit("XGF-LBAPL", "seasonal-fruit", "灵宝高山红富士苹果", "灵宝苹果", "河南三门峡灵宝",
           [("STD", "家庭装 果径75mm+", 548, 200), ("GIFT", "精品 果径85mm+", 898, 80)], days=30, hue=0.97, caption="按斤称",
           description="豫西高山果园的苹果，昼夜温差大，果肉紧实，冰糖心明显。"),
    _fruit("XGF-JUJUBE", "seasonal-fruit", "新郑红枣（干枣）", "新郑大枣", "河南郑州新郑",
           [("L1", "一级 中果", 1580, 150), ("SP", "特级 大果", 2280, 90)], days=180, hue=0.02, caption="按斤称",
           description="自然晾晒的新郑灰枣，皮薄肉厚，煮粥煲汤都合适。"),
    _fruit("XGF-POME", "seasonal-fruit", "河阴软籽石榴", "软籽石榴", "河南荥阳河阴",
           [("M", "中果 约4两/个", 1280, 120), ("L", "大果 约6两/个", 1680, 80)], days=20, hue=0.95, caption="按斤称",
           description="籽粒软、可以连籽一起嚼，汁多味甜，秋季当家水果。"),
    _fruit("XGF-PEAR", "seasonal-fruit", "砀山酥梨", "砀山酥梨", "安徽宿州砀山",
           [("STD", "果重250g+", 398, 260), ("L", "果重350g+", 528, 120)], days=25, hue=0.16, caption="按斤称"),
    _fruit("XGF-NAVEL", "seasonal-fruit", "赣南脐橙", "赣南脐橙", "江西赣州",
           [("70", "果径70-75mm", 698, 220), ("80", "果径80mm以上", 898, 150)], days=25, hue=0.08, caption="按斤称",
           description="橙皮薄、好剥，酸甜适中，榨汁也出汁率高。"),
    _fruit("XGF-PAPA", "seasonal-fruit", "四川耙耙柑", "耙耙柑", "四川成都蒲江",
           [("STD", "中果", 898, 160), ("L", "大果", 1180, 90)], days=20, hue=0.09, caption="按斤称"),
    _fruit("XGF-SUGAR", "seasonal-fruit", "广西砂糖橘", "砂糖橘", "广西桂林",
           [("STD", "标准果", 498, 300)], days=12, hue=0.07, caption="按斤称"),
    _fruit("XGF-GRAPE", "seasonal-fruit", "阳光玫瑰葡萄", "阳光玫瑰", "云南红河建水",
           [("STD", "单串约1.5斤", 1580, 100), ("SEL", "精品串 颗粒均匀", 1980, 50)], days=10, storage="chilled",
           hue=0.25, caption="按斤称", description="青提品种，带淡淡的玫瑰香，冷藏后口感更脆。"),
    _fruit("XGF-KIWI", "seasonal-fruit", "周至徐香猕猴桃", "猕猴桃", "陕西西安周至",
           [("M", "单果80-100g", 698, 180), ("L", "单果100g以上", 898, 120)], days=20, hue=0.1, caption="按斤称",
           description="到手略硬，和苹果放在一起两三天就软糯香甜。"),
    _fruit("XGF-WINTERJ", "seasonal-fruit", "沾化冬枣", "冬枣", "山东滨州沾化",
           [("STD", "果径30mm+", 1280, 120)], days=10, storage="chilled", hue=0.22, caption="按斤称"),
    _fruit("XGF-POMELO", "seasonal-fruit", "平和红心蜜柚", "红心柚", "福建漳州平和",
           [("ONE", "单个约2.5斤", 1680, 90), ("TWO", "两个装", 3180, 40)], days=30, unit="piece", hue=0.13, caption="按个卖"),
    _fruit("XGF-PERSIM", "seasonal-fruit", "富平吊柿饼", "柿饼", "陕西渭南富平",
           [("500", "500g盒装", 3280, 60)], days=90, storage="chilled", unit="box", hue=0.06, caption="500g/盒"),
    _fruit("XGF-BANANA", "imported-fruit", "菲律宾进口香蕉", "香蕉", "菲律宾",
           [("STD", "整把约3斤", 398, 200)], days=5, hue=0.14, caption="按斤称"),
    _fruit("XGF-CHERRY", "imported-fruit", "智利车厘子", "车厘子", "智利",
           [("J", "J级 果径26-28mm", 4980, 60), ("JJ", "JJ级 果径28-30mm", 5980, 50),
            ("JJJ", "JJJ级 果径30mm以上", 7980, 30)], days=7, storage="chilled", hue=0.99, caption="按斤称",
           description="空运到货，冷链保存；果径越大等级越高。"),
    _fruit("XGF-DURIAN", "imported-fruit", "泰国金枕榴莲", "金枕榴莲", "泰国",
           [("STD", "整个 约4-6斤", 2980, 25)], days=5, hue=0.18, caption="按斤称", description="按整个称重计价，可以请店员当场开果取肉。"),
    _fruit("XGF-AVO", "imported-fruit", "墨西哥牛油果", "牛油果", "墨西哥",
           [("ONE", "单个约200g", 690, 120), ("FOUR", "4个装", 2480, 40)], days=7, unit="piece", hue=0.3, caption="按个卖"),
    _fruit("XGF-GOLDKIWI", "imported-fruit", "新西兰阳光金果", "金果", "新西兰",
           [("22", "22-25个装 礼盒", 12800, 20), ("6", "6个装", 3980, 60)], days=25, unit="box", hue=0.15, caption="整盒装"),
    DemoProduct("fruit", "鲜切水果拼盘", "鲜切果盘", "fruit",
                specs("XGF-PLATTER", [("S", "小份 约400g", 1800, 30), ("L", "大份 约800g", 3200, 20)]),
                food("郑州二七区德化街店内现切", days=1, storage="chilled"),
                p("当季水果现切装盒，适合办公室下午茶和家庭聚会。\n下单后约 15 分钟可取，当天食用。"), "portion",
                caption="现切现卖"),
))

DEFU = "德福"
DF_ORIGIN = "郑州二七区德化街"

DEFU_HUIMIAN = DemoShop(STREET, "defu-huimian", 0.07, (
    DemoProduct("huimian", "招牌羊肉烩面", "羊肉烩面", "bowl",
                specs("DF-YR", [("S", "小碗", 2200, 200), ("L", "大碗", 2600, 200)]),
                food(DF_ORIGIN, brand=DEFU, days=0, storage="ambient"),
                p("每天现熬的羊骨汤，面片现扯现下，配海带丝、豆腐丝、粉条和香菜。\n可堂食，也可自提打包（汤面分装）。"),
                "portion", caption="现扯现下"),
    DemoProduct("huimian", "三鲜烩面", "三鲜烩面", "bowl",
                specs("DF-SX", [("S", "小碗", 2500, 200), ("L", "大碗", 2900, 200)]),
                food(DF_ORIGIN, brand=DEFU, days=0), p("海参、鱿鱼、虾仁三鲜，羊骨高汤打底。"), "portion",
                caption="海参 鱿鱼 虾仁"),
    DemoProduct("huimian", "牛肉烩面", "牛肉烩面", "bowl",
                specs("DF-NR", [("S", "小碗", 2300, 200), ("L", "大碗", 2700, 200)]),
                food(DF_ORIGIN, brand=DEFU, days=0), "", "portion", caption="大块牛腱"),
    DemoProduct("huimian", "加肉羊肉烩面", "加肉烩面", "bowl", one("DF-YRJR", 3200, 150),
                food(DF_ORIGIN, brand=DEFU, days=0), p("比招牌烩面多一倍羊肉，适合饭量大的客人。"), "portion",
                caption="双份羊肉"),
    DemoProduct("huimian", "番茄鸡蛋烩面", "番茄烩面", "bowl", one("DF-FQ", 1800, 150),
                food(DF_ORIGIN, brand=DEFU, days=0), p("不吃羊肉的客人可以选这一款，素汤底。"), "portion",
                caption="素汤底"),
    DemoProduct("huimian", "羊肉烩面半成品（两人份）", "烩面礼包", "bowl",
                specs("DF-KIT", [("2", "两人份", 3980, 80), ("4", "四人份", 7280, 50)]),
                food("郑州二七区", brand=DEFU, net="两人份约1.2kg", days=5, storage="chilled"),
                p("面片、羊骨浓汤、羊肉和配菜分装，回家煮 5 分钟就是店里的味道。\n冷藏保存，请在 5 天内食用。"),
                "set", caption="回家煮5分钟"),
    DemoProduct("huimian", "羊骨浓汤（打包）", "羊骨浓汤", "bowl", one("DF-SOUP", 1500, 80),
                food(DF_ORIGIN, brand=DEFU, net="1000mL", days=3, storage="chilled"), "", "portion",
                caption="1000mL/份"),
    DemoProduct("huimian", "手扯烩面片（生）", "生烩面片", "bowl", one("DF-NOODLE", 800, 100),
                food(DF_ORIGIN, brand=DEFU, net="500g", days=2, storage="chilled"), "", "pack",
                caption="500g/包"),
    DemoProduct("local-food", "凉拌羊杂", "凉拌羊杂", "bowl", one("DF-YZ", 2800, 60),
                food(DF_ORIGIN, brand=DEFU, net="约300g", days=0, storage="chilled"), "", "portion",
                caption="约300g"),
    DemoProduct("local-food", "五香卤牛肉", "卤牛肉", "bowl",
                specs("DF-LNR", [("250", "250g", 3800, 60), ("500", "500g", 7200, 40)]),
                food(DF_ORIGIN, brand=DEFU, days=2, storage="chilled"), "", "portion", caption="现卤现切"),
    DemoProduct("local-food", "凉拌黄瓜", "拍黄瓜", "bowl", one("DF-HG", 800, 100),
                food(DF_ORIGIN, brand=DEFU, days=0), "", "portion", caption="解腻小菜"),
    DemoProduct("huimian", "烩面双人套餐", "双人套餐", "bowl", one("DF-SET2", 6800, 50),
                food(DF_ORIGIN, brand=DEFU, days=0),
                p("羊肉烩面两碗（大碗）＋凉拌羊杂＋凉拌黄瓜＋酸梅汤两瓶。"), "set", caption="两碗面两凉菜"),
))

CHENXIANG = "晨香"
CX_ORIGIN = "郑州二七区德化街"

CHENXIANG_HULATANG = DemoShop(STREET, "chenxiang-hulatang", 0.1, (
    DemoProduct("hulatang", "胡辣汤", "胡辣汤", "bowl",
                specs("CX-HLT", [("S", "小碗", 500, 300), ("L", "大碗", 700, 300)]),
                food(CX_ORIGIN, brand=CHENXIANG, days=0),
                p("牛骨汤底加面筋、粉条、木耳、黄花菜和牛肉，胡椒味足，早上六点开卖。"), "portion",
                caption="牛肉胡辣汤"),
    DemoProduct("hulatang", "胡辣汤豆腐脑两掺", "两掺", "bowl",
                specs("CX-LC", [("S", "小碗", 600, 300), ("L", "大碗", 800, 300)]),
                food(CX_ORIGIN, brand=CHENXIANG, days=0), p("一半胡辣汤一半豆腐脑，老郑州的吃法。"), "portion",
                caption="一半一半"),
    DemoProduct("hulatang", "咸豆腐脑", "咸豆腐脑", "bowl", one("CX-DFN-X", 500, 200),
                food(CX_ORIGIN, brand=CHENXIANG, days=0), "", "portion", caption="卤汁浇头"),
    DemoProduct("hulatang", "甜豆腐脑", "甜豆腐脑", "bowl", one("CX-DFN-T", 500, 200),
                food(CX_ORIGIN, brand=CHENXIANG, days=0), "", "portion", caption="红糖桂花"),
    DemoProduct("hulatang", "八宝粥", "八宝粥", "bowl", one("CX-BBZ", 400, 150),
                food(CX_ORIGIN, brand=CHENXIANG, days=0), "", "portion", caption="小火慢熬"),
    DemoProduct("local-food", "猪肉大葱水煎包", "水煎包", "bun",
                specs("CX-SJB-ROU", [("5", "5个", 800, 200), ("10", "10个", 1500, 150)]),
                food(CX_ORIGIN, brand=CHENXIANG, days=0), p("平底锅现煎，底部金黄酥脆。"), "portion", caption="底酥馅香"),
    DemoProduct("local-food", "韭菜鸡蛋水煎包", "素水煎包", "bun",
                specs("CX-SJB-SU", [("5", "5个", 700, 200), ("10", "10个", 1300, 150)]),
                food(CX_ORIGIN, brand=CHENXIANG, days=0), "", "portion", caption="韭菜鸡蛋粉条"),
    DemoProduct("local-food", "油馍头", "油馍头", "bun", one("CX-YMT", 200, 300),
                food(CX_ORIGIN, brand=CHENXIANG, days=0), p("现炸的油馍头，泡在胡辣汤里吃最香。"), "piece", caption="现炸"),
    DemoProduct("local-food", "芝麻烧饼", "芝麻烧饼", "bun",
                specs("CX-SB", [("1", "单个", 250, 300), ("5", "5个装", 1100, 100)]),
                food(CX_ORIGIN, brand=CHENXIANG, days=1), p("炉子里现烤的白芝麻烧饼，外酥里软。"), "piece",
                caption="炉烤现出"),
    DemoProduct("local-food", "韭菜肉盒", "韭菜盒子", "bun", one("CX-HZ", 400, 150),
                food(CX_ORIGIN, brand=CHENXIANG, days=0), "", "piece", caption="现烙"),
    DemoProduct("snacks", "晨香胡辣汤料（家庭装）", "胡辣汤料", "packet",
                specs("CX-MIX", [("250", "250g袋", 1680, 120), ("500", "500g袋", 2980, 80)]),
                food("河南周口西华", brand=CHENXIANG, days=365, licence="SC10341162200318"),
                p("店里同款汤料，开水冲调后加面筋、粉条小火煮 10 分钟即可。"), "bag", caption="在家做胡辣汤"),
    DemoProduct("hulatang", "胡辣汤早餐套餐", "早餐套餐", "bowl", one("CX-SET", 1200, 150),
                food(CX_ORIGIN, brand=CHENXIANG, days=0), p("大碗胡辣汤＋猪肉水煎包 5 个＋油馍头 1 个。"), "set",
                caption="汤+包+油馍头"),
))

SONGMING = "嵩茗"


def _tea(sku, title, short, origin, rows, *, days=540, description="", caption="", unit="box"):
    return DemoProduct("tea", title, short, "tin", specs(sku, rows),
                       food(origin, brand=SONGMING, days=days, licence="SC11441150300276"),
                       p(description) if description else "", unit, caption=caption)


SONGMING_TEA = DemoShop(STREET, "songming-tea", 0.3, (
    _tea("SM-MJ-MQ", "信阳毛尖·明前特级", "明前毛尖", "河南信阳浉河区",
         [("50", "50g罐", 16800, 60), ("125", "125g罐", 39800, 40), ("250", "250g礼盒", 76800, 20)],
         description="清明前采摘的一芽一叶初展，条索细圆紧直，汤色嫩绿，栗香明显。\n"
                     "建议 80℃ 左右的水冲泡，玻璃杯上投法。", caption="明前一芽一叶"),
    _tea("SM-MJ-YQ", "信阳毛尖·雨前一级", "雨前毛尖", "河南信阳浉河区",
         [("50", "50g罐", 8800, 80), ("125", "125g罐", 19800, 60), ("250", "250g礼盒", 36800, 30)],
         caption="雨前一级"),
    _tea("SM-MJ-KL", "信阳毛尖·高山口粮茶", "口粮毛尖", "河南信阳商城",
         [("250", "250g袋", 12800, 80), ("500", "500g袋", 23800, 50)], unit="bag", caption="天天喝不心疼"),
    _tea("SM-XYH", "信阳红 红茶", "信阳红", "河南信阳",
         [("100", "100g罐", 12800, 50), ("250", "250g礼盒", 29800, 20)], caption="蜜香红茶"),
    _tea("SM-YTXL", "仰天雪绿 绿茶", "仰天雪绿", "河南信阳固始",
         [("100", "100g罐", 9800, 40)], caption="豫南高山绿茶"),
    _tea("SM-HJH", "怀菊花 花草茶", "怀菊花", "河南焦作武陟",
         [("50", "50g罐", 3800, 80), ("150", "150g袋", 9800, 40)], caption="焦作怀菊"),
    _tea("SM-MD", "洛阳牡丹花蕊茶", "牡丹花茶", "河南洛阳",
         [("30", "30g罐", 6800, 40)], caption="花香清雅"),
    _tea("SM-TGY", "安溪铁观音 清香型", "铁观音", "福建泉州安溪",
         [("250", "250g小泡袋装", 15800, 40)], caption="清香型乌龙"),
    _tea("SM-PE", "云南普洱熟茶饼", "普洱熟饼", "云南普洱",
         [("357", "357g茶饼", 26800, 30)], days=3650, unit="piece", caption="2021年压制"),
    _tea("SM-SM", "福鼎白茶·寿眉饼", "寿眉白茶", "福建宁德福鼎",
         [("300", "300g茶饼", 19800, 25)], days=3650, unit="piece", caption="2022年寿眉"),
    DemoProduct("tea", "双层防烫玻璃茶杯", "玻璃茶杯", "cup",
                specs("SM-CUP", [("300", "300mL", 3800, 60), ("450", "450mL 带滤网", 5800, 40)]),
                {"brand": SONGMING, "origin": "河北沧州"}, p("高硼硅玻璃，双层中空不烫手，泡绿茶看茶叶舒展。"),
                caption="高硼硅玻璃"),
    DemoProduct("tea", "宜兴紫砂西施壶", "紫砂壶", "cup", one("SM-ZSH", 36800, 8),
                {"brand": SONGMING, "origin": "江苏无锡宜兴"}, p("原矿紫泥，容量约 220mL，适合冲泡乌龙和红茶。"),
                caption="容量220mL"),
    DemoProduct("tea", "便携旅行茶具套装", "旅行茶具", "cup", one("SM-TRAVEL", 12800, 20),
                {"brand": SONGMING, "origin": "广东潮州"}, p("一壶三杯带收纳包，出差露营都方便。"), "set",
                caption="一壶三杯"),
    DemoProduct("tea", "白瓷盖碗", "白瓷盖碗", "cup", one("SM-GW", 6800, 30),
                {"brand": SONGMING, "origin": "江西景德镇"}, "", caption="容量150mL"),
))

ZHIYUN = "织韵"
WOMEN_SIZES = ("S", "M", "L", "XL")


def _womens(sku, title, short, shape, colours, price, *, model, description="", caption="", stock=6):
    return DemoProduct("womenswear", title, short, shape,
                       grid(sku, WOMEN_SIZES, colours, price, stock, size_option="spec"),
                       {"brand": ZHIYUN, "origin": "河南郑州", "model": model}, p(description) if description else "",
                       caption=caption)


ZHIYUN_DEHUA = DemoShop(STREET, "zhiyun-dehua", 0.9, (
    _womens("ZYD-QZ01", "织韵 通勤收腰连衣裙", "收腰连衣裙", "dress", (("NV", "藏青"), ("BK", "黑色")), 39900,
            model="ZY24Q-101", description="醋酸混纺面料，垂感好不易皱，收腰设计显瘦，通勤约会都合适。",
            caption="通勤款"),
    _womens("ZYD-QZ02", "织韵 碎花雪纺长裙", "碎花长裙", "dress", (("BL", "雾蓝"), ("PK", "浅粉")), 32900,
            model="ZY24Q-118", caption="雪纺碎花"),
    _womens("ZYD-QZ03", "织韵 针织打底连衣裙", "针织长裙", "dress", (("CM", "燕麦色"), ("BK", "黑色")), 35900,
            model="ZY24K-106", caption="秋冬打底"),
    _womens("ZYD-ZZ01", "织韵 羊毛混纺开衫", "羊毛开衫", "coat", (("CM", "驼色"), ("GR", "灰色")), 42900,
            model="ZY24K-201", description="羊毛混纺，柔软不扎，单穿叠穿都好搭。", caption="羊毛混纺"),
    _womens("ZYD-ZZ02", "织韵 圆领羊绒毛衣", "羊绒毛衣", "shirt", (("WH", "米白"), ("RD", "酒红")), 69900,
            model="ZY24K-215", caption="细腻亲肤"),
    _womens("ZYD-DY01", "织韵 双面呢长款大衣", "双面呢大衣", "coat", (("CM", "驼色"), ("BK", "黑色")), 129900,
            model="ZY24D-301", description="手工双面呢，无里衬更轻薄，版型宽松可以内搭毛衣。", caption="手工双面呢"),
    _womens("ZYD-FY01", "织韵 中长款风衣", "中长风衣", "coat", (("KH", "卡其"), ("NV", "藏青")), 59900,
            model="ZY24D-312", caption="经典卡其"),
    _womens("ZYD-CS01", "织韵 真丝衬衫", "真丝衬衫", "shirt", (("WH", "白色"), ("GN", "墨绿")), 49900,
            model="ZY24C-401", caption="桑蚕丝"),
    _womens("ZYD-CS02", "织韵 纯棉条纹衬衫", "条纹衬衫", "shirt", (("BL", "蓝白条"), ("PK", "粉白条")), 25900,
            model="ZY24C-405", caption="纯棉"),
    _womens("ZYD-KZ01", "织韵 高腰阔腿裤", "阔腿裤", "trousers", (("BK", "黑色"), ("GR", "灰色")), 29900,
            model="ZY24P-501", caption="垂感显高"),
    _womens("ZYD-KZ02", "织韵 九分烟管裤", "烟管裤", "trousers", (("BK", "黑色"), ("KH", "卡其")), 26900,
            model="ZY24P-508", caption="通勤百搭"),
    _womens("ZYD-BQ01", "织韵 A字半身裙", "A字半身裙", "dress", (("CM", "燕麦色"), ("BR", "咖啡")), 27900,
            model="ZY24Q-602", caption="毛呢半裙"),
    _womens("ZYD-WY01", "织韵 休闲连帽卫衣", "连帽卫衣", "shirt", (("GR", "麻灰"), ("GN", "牛油果绿")), 22900,
            model="ZY24W-701", caption="加绒款"),
    _womens("ZYD-YR01", "织韵 轻薄羽绒服", "轻薄羽绒", "coat", (("BK", "黑色"), ("WH", "奶白")), 59900,
            model="ZY24D-330", description="90% 白鸭绒填充，轻薄保暖，可收纳进随附小包。", caption="白鸭绒"),
    _womens("ZYD-XZ01", "织韵 小西装外套", "小西装", "coat", (("BK", "黑色"), ("CM", "杏色")), 45900,
            model="ZY24D-340", caption="通勤西装"),
    _womens("ZYD-TX01", "织韵 基础款纯棉T恤", "纯棉T恤", "shirt", (("WH", "白色"), ("BK", "黑色")), 12900,
            model="ZY24T-801", caption="打底必备", stock=12),
))

TAXIA = "塔下书屋"
PRESS = "嵩岳书局"


def _book(sku, category, title, short, price, stock, *, brand=PRESS, model="", description="", caption="",
          shape="book", unit="piece", rows=None):
    values = {"brand": brand, "origin": "河南郑州"}
    if model:
        values["model"] = model
    variants = specs(sku, rows) if rows else one(sku, price, stock)
    return DemoProduct(category, title, short, shape, variants, values, p(description) if description else "", unit,
                       caption=caption)


TAXIA_BOOKS = DemoShop(STREET, "taxia-books", 0.6, (
    _book("TX-B001", "books", "《二七塔下：一条老街的百年商事》", "二七塔下", 6800, 40, model="平装 320页",
          description="从德化街的老字号、老照片和老商户口述里，讲郑州商业一百年的变迁。本店签名本限量。",
          caption="本地历史"),
    _book("TX-B002", "books", "《中原古都漫游手册》", "古都漫游", 5800, 30, model="平装 256页",
          caption="郑汴洛安"),
    _book("TX-B003", "books", "《黄河边的村庄》（散文集）", "黄河边", 4500, 25, model="精装 208页", caption="散文"),
    _book("TX-B004", "books", "《河南方言趣谈》", "方言趣谈", 3900, 35, model="平装 180页", caption="中不中"),
    _book("TX-B005", "books", "《郑州老味道：小吃里的城市》", "郑州老味道", 5200, 30, model="平装 240页",
          description="烩面、胡辣汤、水煎包……一本写给吃货的郑州小吃地图。", caption="美食随笔"),
    _book("TX-B006", "books", "《小熊逛德化街》（儿童绘本）", "小熊逛街", 3600, 50, model="精装 40页",
          caption="3-6岁绘本"),
    _book("TX-B007", "books", "《黄河的故事》（少儿科普）", "黄河的故事", 4200, 40, model="精装 64页",
          caption="6-10岁科普"),
    _book("TX-B008", "books", "《中原汉字寻源》", "汉字寻源", 7800, 20, model="精装 300页", caption="汉字文化"),
    _book("TX-S001", "stationery", "二七塔金属书签", "二七塔书签", 2800, 80, brand="塔下文创", shape="pen",
          caption="黄铜镀金"),
    _book("TX-S002", "stationery", "德化街手绘地图明信片", "手绘明信片", 2500, 100, brand="塔下文创", model="12张/套",
          unit="set", caption="12张一套"),
    _book("TX-S003", "stationery", "A5 锁线笔记本", "锁线笔记本", 0, 0, brand="塔下文创", shape="book",
          rows=[("GRID", "方格 160页", 2200, 80), ("LINE", "横线 160页", 2200, 80), ("DOT", "点阵 160页", 2400, 60)],
          caption="可平摊书写"),
    _book("TX-S004", "stationery", "按动中性笔 0.5mm", "中性笔", 0, 0, brand="晨文", shape="pen",
          rows=[("BK12", "黑色 12支/盒", 1800, 100), ("BL12", "蓝色 12支/盒", 1800, 60),
                ("RD12", "红色 12支/盒", 1800, 40)], unit="box", caption="12支/盒"),
    _book("TX-S005", "stationery", "学生练字钢笔", "练字钢笔", 0, 0, brand="晨文", shape="pen",
          rows=[("EF", "EF尖", 3800, 50), ("F", "F尖", 3800, 50)], caption="送墨囊"),
    _book("TX-S006", "stationery", "书法练习宣纸（半生熟）", "练习宣纸", 3200, 60, brand="墨林", shape="book",
          model="四尺三开 100张", unit="pack", caption="100张/刀"),
    _book("TX-S007", "stationery", "兼毫毛笔三支装", "兼毫毛笔", 4500, 40, brand="墨林", shape="pen", unit="set",
          caption="大中小楷"),
    _book("TX-S008", "stationery", "二七塔冰箱贴", "二七塔冰箱贴", 1800, 120, brand="塔下文创", shape="pen",
          caption="滴胶工艺"),
    _book("TX-S009", "stationery", "德化街帆布袋", "帆布袋", 3500, 60, brand="塔下文创", shape="handbag",
          caption="加厚帆布"),
    _book("TX-S010", "stationery", "中小学生文具礼盒", "文具礼盒", 5800, 30, brand="晨文", shape="pen", unit="set",
          model="12件套", caption="12件套"),
))

HUIZHONG = "惠众"
OTC_NOTE = "非处方药（OTC），请仔细阅读说明书并按说明使用或在药师指导下购买和使用。"


def _pharmacy(sku, title, short, price, stock, *, brand, model="", warranty=None, otc=False, description="",
              caption="", unit="box", rows=None):
    values = {"brand": brand, "origin": "中国"}
    if model:
        values["model"] = model
    if warranty:
        values["warranty_months"] = warranty
    text = "\n".join(part for part in (description, OTC_NOTE if otc else "") if part)
    variants = specs(sku, rows) if rows else one(sku, price, stock)
    return DemoProduct("pharmacy", title, short, "pillbox", variants, values, p(text) if text else "", unit,
                       caption=caption)


HUIZHONG_PHARMACY = DemoShop(STREET, "huizhong-pharmacy", 0.55, (
    _pharmacy("HZ-IBU", "布洛芬缓释胶囊 0.3g×20粒（OTC）", "布洛芬", 1850, 60, brand="康宁制药", otc=True,
              description="用于缓解轻至中度疼痛，如头痛、关节痛、牙痛，也用于普通感冒或流感引起的发热。",
              caption="0.3g×20粒"),
    _pharmacy("HZ-APAP", "对乙酰氨基酚片 0.5g×12片（OTC）", "对乙酰氨基酚", 850, 80, brand="康宁制药", otc=True,
              caption="0.5g×12片"),
    _pharmacy("HZ-BLG", "板蓝根颗粒 10g×20袋（OTC）", "板蓝根颗粒", 1600, 70, brand="中岳药业", otc=True,
              caption="10g×20袋"),
    _pharmacy("HZ-HXZQ", "藿香正气水 10mL×10支（OTC）", "藿香正气水", 1280, 60, brand="中岳药业", otc=True,
              caption="10mL×10支"),
    _pharmacy("HZ-FYJ", "风油精 9mL（OTC）", "风油精", 650, 100, brand="清凉堂", otc=True, unit="bottle",
              caption="9mL"),
    _pharmacy("HZ-VC", "维生素C片 0.1g×100片（OTC）", "维生素C", 550, 90, brand="康宁制药", otc=True,
              unit="bottle", caption="0.1g×100片"),
    _pharmacy("HZ-BANDAID", "防水创可贴", "创可贴", 0, 0, brand=HUIZHONG,
              rows=[("50", "50片装", 990, 80), ("100", "100片装 多规格", 1690, 50)], caption="透气防水"),
    _pharmacy("HZ-MASK", "一次性医用外科口罩（独立包装）", "医用外科口罩", 0, 0, brand="护安",
              rows=[("10", "10只/盒", 990, 120), ("50", "50只/盒", 3990, 60)],
              description="符合 YY 0469-2011，三层过滤，独立包装便于携带。", caption="独立包装"),
    _pharmacy("HZ-THERMO", "电子体温计（腋下/口腔）", "电子体温计", 2980, 40, brand="护安", model="MT-201",
              warranty=12, unit="piece", caption="约60秒出结果"),
    _pharmacy("HZ-BP", "上臂式电子血压计", "电子血压计", 19800, 15, brand="护安", model="BP-520", warranty=24,
              unit="piece", description="一键测量，大字屏，双人各 90 组记忆。", caption="家用上臂式"),
    _pharmacy("HZ-IOD", "碘伏消毒液 100mL", "碘伏消毒液", 690, 80, brand="洁康", unit="bottle", caption="100mL"),
    _pharmacy("HZ-ALC", "75% 医用酒精消毒液 500mL", "医用酒精", 1290, 60, brand="洁康", unit="bottle",
              description="易燃，远离火源，阴凉处存放；仅限门店自提或同城配送。", caption="500mL"),
    _pharmacy("HZ-SWAB", "医用无菌棉签", "医用棉签", 590, 100, brand="洁康", model="10支×20包", unit="pack",
              caption="10支×20包"),
    _pharmacy("HZ-HOTPACK", "暖贴（发热贴）10片装", "暖贴", 1290, 90, brand=HUIZHONG, caption="约12小时"),
))

XIAOCHEN = "小陈手机维修"


def _service(sku, title, short, price, minutes, *, appointment=False, description="", caption="", shape="repair",
             stock=99):
    return DemoProduct("phone-repair", title, short, shape, one(sku, price, stock),
                       {"duration_minutes": minutes, "by_appointment": appointment},
                       p(description) if description else "", caption=caption)


XIAOCHEN_REPAIR = DemoShop(STREET, "xiaochen-repair", 0.58, (
    _service("XC-SCREEN-A", "安卓手机换外屏（国产主流机型）", "安卓换屏", 18000, 40,
             description="碎屏、触摸失灵都可以换，当面拆装，换下的旧屏交还给您；具体价格以机型为准，到店先检测。",
             caption="当面更换"),
    _service("XC-SCREEN-I", "苹果手机换屏（品质屏）", "苹果换屏", 32000, 40, caption="当面更换"),
    _service("XC-BATT", "手机换电池（含电池）", "换电池", 12000, 30,
             description="电池鼓包、掉电快可以换；换后保修 6 个月。", caption="保修6个月"),
    _service("XC-PORT", "充电口维修/清理", "充电口维修", 5000, 30, caption="接触不良"),
    _service("XC-WATER", "手机进水清洗检测", "进水检测", 3000, 60, caption="先检测后报价"),
    _service("XC-DATA", "新旧手机数据迁移", "数据迁移", 3000, 45, appointment=True,
             description="通讯录、照片、聊天记录迁移到新手机；请预约，全程在您面前操作。", caption="需预约"),
    _service("XC-FILM", "钢化膜（含贴膜）", "钢化膜", 3000, 10, shape="phone", caption="含贴膜服务"),
    _service("XC-CASE", "透明防摔手机壳（含安装）", "手机壳", 2500, 5, shape="phone", caption="常见机型"),
    _service("XC-CABLE", "Type-C 快充数据线 1米（含测试）", "快充数据线", 2500, 5, shape="phone",
             caption="当面测试"),
    _service("XC-CHARGER", "20W 快充充电头（含测试）", "快充充电头", 4500, 5, shape="phone", caption="当面测试"),
))

STREET_SHOPS = (XIANGUOFANG, DEFU_HUIMIAN, CHENXIANG_HULATANG, SONGMING_TEA, ZHIYUN_DEHUA, TAXIA_BOOKS,
                HUIZHONG_PHARMACY, XIAOCHEN_REPAIR)


# =============================================================================================================
# 中原农资批发市场 / Central Plains Agricultural Inputs Market — wholesale: bags and bottles, MOQs, tiers
# =============================================================================================================

AGRI = "nongzi-market"

#: Fictional fertiliser makers: (name, address).
WOYUAN = ("河南沃原化肥有限公司", "河南省商丘市睢县产业集聚区纬三路 18 号")
LUHE = ("山东鲁禾复合肥有限公司", "山东省临沂市临沭县经济开发区化肥路 6 号")
CHUFENG = ("湖北楚丰磷化有限公司", "湖北省宜昌市猇亭区化工园区 2 号")
YUWO = ("河南豫沃肥业有限公司", "河南省驻马店市遂平县产业集聚区创业大道 9 号")
JINNIU = ("河南金牛氮肥有限公司", "河南省濮阳市濮阳县化工产业园区 12 号")
LVRANG = ("中牟县绿壤生物有机肥厂", "河南省郑州市中牟县狼城岗镇工业园 3 号")
MUYUAN = ("河南牧原生物肥料有限公司", "河南省南阳市内乡县灌涨镇产业园 5 号")
DIFENG = ("河南滴丰肥业有限公司", "河南省郑州市中牟县官渡镇农资路 8 号")


#: How each kind of fertiliser is used, and the precautions and storage every bag of the demo prints (GB 18382).
FERTILISER_USAGE = {
    "compound": "作底肥或追肥，每亩 40–50 公斤，沟施或穴施后覆土。",
    "nitrogen": "作追肥，每亩 10–20 公斤，施后覆土或结合灌水。",
    "phosphate": "作底肥，每亩 25–50 公斤，集中施于根系附近。",
    "potash": "作底肥或追肥，每亩 10–15 公斤。",
    "organic": "作底肥，每亩 200–400 公斤，翻耕时均匀撒施。",
    "water_soluble": "稀释 800–1000 倍滴灌或叶面喷施，每次每亩 3–5 公斤。",
    "microbial": "作底肥每亩 80–120 公斤，不与杀菌剂混用。",
}
FERTILISER_PRECAUTIONS = "避免与种子、根系直接接触；不与碱性物质混用。"
FERTILISER_STORAGE = "阴凉干燥处存放，防潮防晒，远离火源。"


def fertiliser(kind: str, npk=None, *, standard: str, net: str, maker, made: str, batch: str, shelf: int = 36,
               registration: str = "", organic: str | None = None) -> dict:
    """A fertiliser label: the three nutrients (strings, "" for absent) and their total, which must add up."""
    values = {"fertiliser_kind": kind, "executive_standard": standard, "net_content": net,
              "manufacturer": maker[0], "manufacturer_address": maker[1], "production_date": made,
              "batch_no": batch, "shelf_life_months": shelf, "usage": FERTILISER_USAGE[kind],
              "precautions": FERTILISER_PRECAUTIONS, "storage": FERTILISER_STORAGE}
    if npk:
        total = 0
        for name, amount in zip(("n_pct", "p2o5_pct", "k2o_pct"), npk, strict=True):
            if amount:
                values[name] = amount
                total += float(amount)
        values["total_nutrient_pct"] = f"{total:g}"
    if registration:
        values["registration_no"] = registration
    if organic:
        values["organic_matter_pct"] = organic
    return values


BAG_STEPS = ((10, 0.96), (100, 0.92))


def _compound(sku, npk, title, short, maker, price50, *, base="sulphur", standard="GB/T 15063-2020", made,
              batch, description="", price40=None, category="compound-fertiliser", kind="compound", organic=None,
              registration=""):
    rows = [("50", "50kg/袋", price50, 600)]
    if price40:
        rows.append(("40", "40kg/袋", price40, 400))
    net = "50 kg" if not price40 else "50 kg、40 kg"
    formula = "-".join(amount or "0" for amount in npk)
    base_text = {"sulphur": "，硫酸钾型（低氯）", "chloride": "，氯化钾型（含氯）", "": ""}[base]
    text = description or f"N-P₂O₅-K₂O 配比 {formula}{base_text}。\n按袋零售，10 袋、100 袋起各有批发价；整车可询价。"
    return DemoProduct(category, title, short, "sack",
                       specs(sku, rows, steps=BAG_STEPS, weight={"50": 50000, "40": 40000}),
                       fertiliser(kind, npk, standard=standard, net=net, maker=maker, made=made, batch=batch,
                                  organic=organic, registration=registration),
                       p(text), "bag", caption=f"{formula} {net.split('、')[0].replace(' ', '')}", label=True)


SUIFENG = DemoShop(AGRI, "suifeng-fertiliser", 0.36, (
    _compound("SF-151515S", ("15", "15", "15"), "硫酸钾型复合肥 15-15-15", "复合肥 15-15-15", WOYUAN, 19500,
              price40=15800, made="2026-09-12", batch="WY20260912A",
              description="氮磷钾各 15%，硫酸钾型，适合小麦、玉米、蔬菜和果树的底肥与追肥。\n"
                          "颗粒均匀、不易结块；1–9 袋零售价，10 袋起、100 袋起分别优惠。"),
    _compound("SF-151515C", ("15", "15", "15"), "氯基复合肥 15-15-15", "氯基 15-15-15", LUHE, 16500, base="chloride",
              price40=13400, made="2026-08-26", batch="LH2608261"),
    _compound("SF-171717S", ("17", "17", "17"), "硫酸钾型复合肥 17-17-17", "复合肥 17-17-17", WOYUAN, 21500,
              price40=17400, made="2026-09-20", batch="WY20260920B"),
    _compound("SF-161616S", ("16", "16", "16"), "高塔造粒复合肥 16-16-16", "高塔 16-16-16", LUHE, 20500,
              made="2026-09-03", batch="LH2609032"),
    _compound("SF-181818S", ("18", "18", "18"), "高塔造粒复合肥 18-18-18", "高塔 18-18-18", LUHE, 23500,
              made="2026-09-03", batch="LH2609033"),
    _compound("SF-2866", ("28", "6", "6"), "高氮追肥复合肥 28-6-6", "追肥 28-6-6", YUWO, 16800, price40=13600,
              made="2026-10-08", batch="YW261008",
              description="高氮配方，小麦返青拔节期、玉米大喇叭口期追施。\n每亩用量 15–25 公斤，开沟条施后覆土。"),
    _compound("SF-26-10-12", ("26", "10", "12"), "玉米专用复合肥 26-10-12", "玉米专用", YUWO, 17800,
              made="2026-05-16", batch="YW260516"),
    _compound("SF-30-5-5", ("30", "5", "5"), "高氮复合肥 30-5-5", "高氮 30-5-5", JINNIU, 16200, base="chloride",
              made="2026-04-22", batch="JN260422"),
    _compound("SF-18-22-5", ("18", "22", "5"), "小麦底肥专用复合肥 18-22-5", "小麦底肥", WOYUAN, 18800,
              price40=15200, made="2026-08-18", batch="WY20260818C",
              description="高磷配方，秋播小麦整地时一次底施，促进分蘖和根系发育。"),
    _compound("SF-12-18-15", ("12", "18", "15"), "小麦专用复合肥 12-18-15", "小麦专用", LUHE, 17600,
              base="chloride", made="2026-08-10", batch="LH2608101"),
    _compound("SF-20-12-8", ("20", "12", "8"), "夏玉米专用复合肥 20-12-8", "夏玉米专用", JINNIU, 15800,
              made="2026-05-05", batch="JN260505"),
    _compound("SF-14-16-15", ("14", "16", "15"), "硫酸钾型复合肥 14-16-15", "复合肥 14-16-15", WOYUAN, 18200,
              made="2026-07-30", batch="WY20260730A"),
    _compound("SF-24-12-9", ("24", "12", "9"), "氯基复合肥 24-12-9", "氯基 24-12-9", LUHE, 16600, base="chloride",
              made="2026-06-15", batch="LH2606151"),
    _compound("SF-15-20-10", ("15", "20", "10"), "硫酸钾型复合肥 15-20-10", "复合肥 15-20-10", YUWO, 18900,
              made="2026-08-02", batch="YW260802"),
    _compound("SF-10-15-20", ("10", "15", "20"), "高钾果蔬复合肥 10-15-20", "果蔬高钾", WOYUAN, 19800,
              made="2026-07-12", batch="WY20260712B",
              description="高钾配方，果树膨果期和设施蔬菜结果期使用，着色好、口感足。"),
    _compound("SF-13-5-27", ("13", "5", "27"), "大蒜专用高钾复合肥 13-5-27", "大蒜专用", LUHE, 20800,
              made="2026-08-28", batch="LH2608282",
              description="中牟大蒜产区常用配方，播种前底施，蒜薹期可再追一次。"),
    _compound("SF-22-9-9", ("22", "9", "9"), "控失复合肥 22-9-9", "控失 22-9-9", JINNIU, 16900, made="2026-06-08",
              batch="JN260608"),
    _compound("SF-26-12-10", ("26", "12", "10"), "缓控释掺混肥料 26-12-10", "缓控释掺混", YUWO, 19200,
              standard="GB/T 21633-2020", made="2026-05-20", batch="YW260520",
              description="掺混肥料（BB 肥），含部分包膜尿素，玉米一次性施肥不追肥。"),
    _compound("SF-28-8-6", ("28", "8", "6"), "稳定性复合肥 28-8-6", "稳定性肥料", WOYUAN, 18600,
              standard="GB/T 35113-2017", made="2026-05-11", batch="WY20260511A",
              description="添加脲酶抑制剂和硝化抑制剂，氮素释放平稳，肥效期长。"),
    _compound("SF-1555OM", ("15", "5", "5"), "有机-无机复混肥料 15-5-5（有机质15%）", "有机无机复混", YUWO, 14800,
              standard="GB/T 18877-2020", organic="15", made="2026-09-06", batch="YW260906"),
    _compound("SF-DAP", ("18", "46", ""), "磷酸二铵 18-46-0", "磷酸二铵", CHUFENG, 20500, base="",
              standard="GB/T 10205-2009", kind="phosphate", made="2026-07-18", batch="CF20260718",
              description="湖北产磷酸二铵，颗粒硬、溶解快，作底肥或种肥。"),
    _compound("SF-MAP", ("11", "44", ""), "磷酸一铵 11-44-0", "磷酸一铵", CHUFENG, 18800, base="",
              standard="GB/T 10205-2009", kind="phosphate", made="2026-07-18", batch="CF20260718M"),
    _compound("SF-SSP", ("", "16", ""), "过磷酸钙（粉状）P₂O₅ 16%", "过磷酸钙", CHUFENG, 6500, base="",
              standard="GB/T 20413-2017", kind="phosphate", made="2026-06-01", batch="CF20260601"),
    _compound("SF-KCL", ("", "", "60"), "氯化钾（红颗粒）K₂O 60%", "氯化钾", LUHE, 19800, base="",
              standard="GB/T 6549-2011", kind="potash", made="2026-06-25", batch="LH2606252"),
    _compound("SF-K2SO4", ("", "", "50"), "农用硫酸钾 K₂O 50%", "硫酸钾", LUHE, 24800, base="",
              standard="GB/T 20406-2017", kind="potash", made="2026-07-09", batch="LH2607091"),
), accepts_quotes=True)


def _nitrogen(sku, title, short, n, standard, maker, price50, *, made, batch, price40=None, description="",
              kind="nitrogen"):
    return _compound(sku, (n, "", ""), title, short, maker, price50, base="", standard=standard, made=made,
                     batch=batch, price40=price40, category="urea", kind=kind, description=description)


FENGSHOU = DemoShop(AGRI, "fengshou-urea", 0.55, (
    _nitrogen("FS-UREA-L", "大颗粒尿素 N≥46%", "大颗粒尿素", "46", "GB/T 2440-2017", JINNIU, 11500, price40=9300,
              made="2026-10-15", batch="JN261015",
              description="农业用大颗粒尿素，总氮 ≥46.0%，缩二脲 ≤0.9%。\n小麦返青追肥、玉米追肥都可用；"
                          "撒施后及时浇水或覆土，减少氨挥发。"),
    _nitrogen("FS-UREA-S", "小颗粒尿素 N≥46%", "小颗粒尿素", "46", "GB/T 2440-2017", JINNIU, 11200, price40=9100,
              made="2026-10-12", batch="JN261012"),
    _nitrogen("FS-UREA-Z", "增效尿素（含聚天门冬氨酸）N≥46%", "增效尿素", "46", "GB/T 2440-2017", YUWO, 12800,
              made="2026-09-25", batch="YW260925"),
    _nitrogen("FS-UREA-SR", "树脂包膜缓释尿素 N≥44%", "包膜尿素", "44", "GB/T 23348-2009", YUWO, 15800,
              made="2026-08-30", batch="YW260830"),
    _nitrogen("FS-ABC", "碳酸氢铵（碳铵）N≥17.1%", "碳铵", "17.1", "GB/T 3559-2001", JINNIU, 4200,
              made="2026-10-02", batch="JN261002",
              description="价格实惠的速效氮肥，易挥发，应深施覆土，不要和碱性肥料混用。"),
    _nitrogen("FS-AS", "农用硫酸铵 N≥21%", "硫酸铵", "21", "GB/T 535-2020", JINNIU, 7800, made="2026-09-18",
              batch="JN260918"),
    _nitrogen("FS-AC", "农用氯化铵 N≥25%", "氯化铵", "25", "GB/T 2946-2018", LUHE, 6800, made="2026-09-08",
              batch="LH2609081", description="含氯氮肥，适合小麦、玉米、水稻；忌氯作物（烟草、马铃薯、葡萄）不宜使用。"),
    DemoProduct("urea", "尿素（1000kg 吨袋）", "尿素吨袋", "sack",
                specs("FS-UREA-T", [("1T", "1000kg吨袋", 215000, 40)], steps=((5, 0.97), (30, 0.94)),
                      weight={"1T": 1000000}),
                fertiliser("nitrogen", ("46", "", ""), standard="GB/T 2440-2017", net="1000 kg", maker=JINNIU,
                           made="2026-10-15", batch="JN261015T"),
                p("1000 公斤吨袋，需叉车装卸，适合合作社和种植大户；5 吨、30 吨起分别优惠，整车请询价。"),
                "ton", caption="46-0-0 1000kg", label=True),
    _compound("FS-151515", ("15", "15", "15"), "氯基复合肥 15-15-15（经济型）", "经济型复合肥", JINNIU, 15800,
              base="chloride", made="2026-09-01", batch="JN260901", category="compound-fertiliser"),
    _compound("FS-28-6-6", ("28", "6", "6"), "追肥专用复合肥 28-6-6", "追肥 28-6-6", JINNIU, 15600,
              base="chloride", made="2026-09-01", batch="JN260901B", category="compound-fertiliser"),
    _compound("FS-DAP", ("18", "46", ""), "磷酸二铵 18-46-0（经济型）", "磷酸二铵", CHUFENG, 19600, base="",
              standard="GB/T 10205-2009", kind="phosphate", made="2026-06-21", batch="CF20260621",
              category="fertiliser"),
    _compound("FS-CMP", ("", "12", ""), "钙镁磷肥 P₂O₅ 12%", "钙镁磷肥", CHUFENG, 5200, base="",
              standard="GB/T 20412-2021", kind="phosphate", made="2026-05-30", batch="CF20260530",
              category="fertiliser"),
), mixed_batch_min_amount=100000, accepts_quotes=True)


def _bagged(sku, category, title, short, values, rows, *, steps, unit="bag", moq=1, caption, description="",
            shape="sack", weight=None):
    return DemoProduct(category, title, short, shape, specs(sku, rows, steps=steps, weight=weight), values,
                       p(description) if description else "", unit, moq, caption=caption, label=True)


ORGANIC_STEPS = ((50, 0.95), (200, 0.9))


def _organic(sku, title, short, npk, om, price, *, maker=LVRANG, made, batch, registration, description="",
             kind="organic", standard="NY/T 525-2021", net="40 kg", category="organic-fertiliser", pellet=None):
    rows = [("P40", "粉状 40kg/袋", price, 800)]
    if pellet:
        rows.append(("G40", "颗粒 40kg/袋", pellet, 500))
    values = fertiliser(kind, npk, standard=standard, net=net, maker=maker, made=made, batch=batch, shelf=24,
                        registration=registration, organic=om)
    return _bagged(sku, category, title, short, values, rows, steps=ORGANIC_STEPS, moq=10,
                   caption=f"有机质≥{om}% {net.replace(' ', '')}", weight={"P40": 40000, "G40": 40000},
                   description=description or f"有机质 ≥{om}%，充分发酵腐熟，无臭味。10 袋起订，50 袋、200 袋起分别优惠。")


LVRANG_SHOP = DemoShop(AGRI, "lvrang-organic", 0.12, (
    _organic("LR-SHEEP", "腐熟羊粪有机肥", "羊粪有机肥", ("1.8", "1.2", "1.5"), "45", 3200, pellet=3800,
             made="2026-09-10", batch="LR260910", registration="豫农肥（2022）准字3216号",
             description="内蒙古羊粪经 60 天高温发酵腐熟，疏松土壤、提高保水保肥能力。\n"
                         "大蒜、果园、大棚蔬菜底肥每亩 200–400 公斤。10 袋起订。"),
    _organic("LR-CHICKEN", "发酵鸡粪有机肥", "鸡粪有机肥", ("2.5", "1.5", "1.2"), "40", 3000, pellet=3500,
             made="2026-09-22", batch="LR260922", registration="豫农肥（2022）准字3217号"),
    _organic("LR-CATTLE", "牛粪有机肥", "牛粪有机肥", ("1.5", "1.2", "1.5"), "45", 2600, made="2026-08-30",
             batch="LR260830", registration="豫农肥（2021）准字2988号"),
    _organic("LR-BIO", "生物有机肥（枯草芽孢杆菌）", "生物有机肥", None, "40", 4200, pellet=4600, kind="microbial",
             standard="NY 884-2012", maker=MUYUAN, made="2026-09-05", batch="MY260905",
             registration="微生物肥（2023）准字（12873）号",
             description="有效活菌数 ≥0.20 亿/克，有机质 ≥40%；改良连作障碍土壤，不与杀菌剂同施。"),
    _organic("LR-COMPMIC", "复合微生物肥料 6-4-5", "复合微生物肥", ("6", "4", "5"), "20", 5800, kind="microbial",
             standard="NY/T 798-2015", maker=MUYUAN, made="2026-08-16", batch="MY260816",
             registration="微生物肥（2022）准字（10452）号"),
    _organic("LR-HUMIC", "腐植酸有机肥", "腐植酸有机肥", ("2", "1.5", "1.5"), "50", 3600, made="2026-09-01",
             batch="LR260901", registration="豫农肥（2023）准字3620号"),
    _organic("LR-WORM", "蚯蚓粪有机肥", "蚯蚓粪", ("1.6", "1.4", "1.2"), "40", 4800, net="20 kg",
             made="2026-08-12", batch="LR260812", registration="豫农肥（2023）准字3655号",
             description="蚯蚓过腹的细颗粒有机肥，适合育苗基质和盆栽花卉。"),
    _organic("LR-MUSH", "菌渣发酵有机肥", "菌渣有机肥", ("1.5", "1.0", "1.5"), "45", 2400, made="2026-07-26",
             batch="LR260726", registration="豫农肥（2021）准字2990号"),
    _organic("LR-GARLIC", "大蒜专用有机肥", "大蒜专用", ("2.2", "1.3", "2.5"), "42", 3800, made="2026-08-20",
             batch="LR260820", registration="豫农肥（2022）准字3302号"),
    _organic("LR-ORCHARD", "果园专用羊粪颗粒肥", "果园专用", ("1.8", "1.3", "2.0"), "45", 3900, made="2026-09-14",
             batch="LR260914", registration="豫农肥（2022）准字3303号"),
    _organic("LR-SOY", "发酵豆粕有机肥", "豆粕有机肥", ("4", "1.5", "1.5"), "60", 6800, net="25 kg",
             made="2026-09-28", batch="LR260928", registration="豫农肥（2024）准字4102号",
             description="豆粕发酵，有机质 ≥60%，氮含量高，草莓、西瓜、葡萄提味增甜常用。"),
    _organic("LR-SEAWEED", "海藻有机肥", "海藻有机肥", ("2", "1", "2"), "45", 4500, maker=MUYUAN, made="2026-08-08",
             batch="MY260808", registration="豫农肥（2023）准字3701号"),
    _organic("LR-OMIX", "有机-无机复混肥料 12-6-7（有机质20%）", "有机无机复混", ("12", "6", "7"), "20", 9800,
             kind="compound", standard="GB/T 18877-2020", made="2026-09-18", batch="LR260918", registration="",
             category="compound-fertiliser"),
    _organic("LR-VEG", "设施蔬菜专用有机肥", "大棚专用", ("2", "1.5", "2"), "45", 3500, pellet=3900,
             made="2026-10-02", batch="LR261002", registration="豫农肥（2024）准字4115号"),
), mixed_batch_min_quantity=20)

WS_STEPS = ((20, 0.95), (100, 0.9))


def _soluble(sku, title, short, npk, price, *, standard="NY/T 1107-2020", net="10 kg", made, batch,
             registration="", description="", unit="bag", rows=None, shape="sack"):
    values = fertiliser("water_soluble", npk, standard=standard, net=net, maker=DIFENG, made=made, batch=batch,
                        shelf=36, registration=registration)
    formula = "-".join(amount or "0" for amount in npk) if npk else short
    rows = rows or [("10", f"{net.replace(' ', '')}/袋", price, 300)]
    return _bagged(sku, "water-soluble-fertiliser", title, short, values, rows, steps=WS_STEPS, unit=unit,
                   caption=f"{formula} {net.replace(' ', '')}", shape=shape,
                   description=description or "全水溶、无残渣，滴灌、冲施、叶面喷施均可。20 袋、100 袋起分别优惠。")


DIFENG_SHOP = DemoShop(AGRI, "difeng-water-soluble", 0.5, (
    _soluble("DF-202020", "平衡型大量元素水溶肥 20-20-20+TE", "平衡型 20-20-20", ("20", "20", "20"), 16800,
             made="2026-08-20", batch="DF260820A", registration="农肥（2023）准字31245号",
             description="氮磷钾平衡配方，添加螯合态微量元素（TE），苗期到花期通用。\n"
                         "滴灌每亩每次 3–5 公斤；叶面喷施稀释 800–1000 倍。"),
    _soluble("DF-13740", "高钾型大量元素水溶肥 13-7-40+TE", "高钾 13-7-40", ("13", "7", "40"), 17800,
             made="2026-08-20", batch="DF260820B", registration="农肥（2023）准字31246号",
             description="果实膨大期、转色期使用，促进膨果和着色。"),
    _soluble("DF-301010", "高氮型大量元素水溶肥 30-10-10+TE", "高氮 30-10-10", ("30", "10", "10"), 15800,
             made="2026-08-21", batch="DF260821A", registration="农肥（2023）准字31247号"),
    _soluble("DF-105010", "高磷生根型水溶肥 10-50-10", "高磷 10-50-10", ("10", "50", "10"), 18800,
             made="2026-08-21", batch="DF260821B", registration="农肥（2023）准字31248号",
             description="定植缓苗期、花芽分化期使用，促生根、促花。"),
    _soluble("DF-151530", "大量元素水溶肥 15-15-30+TE", "膨果 15-15-30", ("15", "15", "30"), 17200,
             made="2026-09-02", batch="DF260902", registration="农肥（2024）准字33102号"),
    _soluble("DF-MKP", "磷酸二氢钾（农用）0-52-34", "磷酸二氢钾", ("", "52", "34"), 9800, net="5 kg",
             standard="HG/T 2321-2016", made="2026-07-08", batch="DF260708", unit="bag",
             description="叶面喷施 0.2%–0.3%（一桶水 30–50 克），小麦“一喷三防”常用。"),
    _soluble("DF-KNO3", "农业用硝酸钾 13.5-0-46", "硝酸钾", ("13.5", "", "46"), 11800, net="25 kg",
             standard="GB/T 20784-2018", made="2026-07-15", batch="DF260715",
             rows=[("25", "25kg/袋", 11800, 200)]),
    _soluble("DF-HUMIC", "含腐植酸水溶肥 8-6-8（腐植酸≥3%）", "腐植酸水溶肥", ("8", "6", "8"), 6800, net="5 kg",
             standard="NY 1106-2010", made="2026-08-05", batch="DF260805", registration="农肥（2022）准字28876号"),
    _soluble("DF-AMINO", "含氨基酸水溶肥（微量元素型）", "氨基酸水溶肥", None, 4500, net="1 kg",
             standard="NY 1429-2010", made="2026-08-06", batch="DF260806", registration="农肥（2022）准字28877号",
             unit="bottle", shape="bottle", rows=[("1", "1kg/瓶", 4500, 300)]),
    _soluble("DF-CAMG", "中量元素水溶肥（钙镁型）", "钙镁水溶肥", None, 3800, net="1 kg", standard="NY 2266-2012",
             made="2026-08-09", batch="DF260809", registration="农肥（2022）准字28890号", unit="bottle",
             shape="bottle", rows=[("1", "1kg/瓶", 3800, 300)],
             description="补钙补镁，预防番茄脐腐、苹果苦痘和叶片黄化。"),
    _soluble("DF-TRACE", "微量元素水溶肥（硼锌铁）", "微量元素肥", None, 2800, net="500 g", standard="NY 1428-2010",
             made="2026-08-09", batch="DF260809T", registration="农肥（2022）准字28891号", unit="bag",
             rows=[("500", "500g/袋", 2800, 400)]),
    _soluble("DF-202020-BOX", "平衡型水溶肥 20-20-20（整箱 10kg×4袋）", "整箱 20-20-20", ("20", "20", "20"), 63800,
             net="40 kg", made="2026-08-20", batch="DF260820A", registration="农肥（2023）准字31245号", unit="box",
             rows=[("4X10", "10kg×4袋/箱", 63800, 80)]),
    _soluble("DF-13740-BOX", "高钾型水溶肥 13-7-40（整箱 10kg×4袋）", "整箱 13-7-40", ("13", "7", "40"), 67800,
             net="40 kg", made="2026-08-20", batch="DF260820B", registration="农肥（2023）准字31246号", unit="box",
             rows=[("4X10", "10kg×4袋/箱", 67800, 60)]),
    _soluble("DF-191919", "滴灌专用水溶肥 19-19-19+TE", "滴灌 19-19-19", ("19", "19", "19"), 15200,
             made="2026-09-12", batch="DF260912", registration="农肥（2024）准字33160号"),
), accepts_quotes=True)

#: Fictional pesticide makers, also the registrants: (name, production licence, enterprise standard prefix,
#: address, telephone).
WOHE = ("河南沃禾生物科技有限公司", "农药生许（豫）0215", "Q/HNWH", "河南省新乡市平原示范区农药产业园 11 号",
        "0373-5551215")
HETAI = ("山东禾泰农化有限公司", "农药生许（鲁）0388", "Q/SDHT", "山东省潍坊市滨海经济开发区农化路 22 号",
         "0536-5550388")
SUNONG = ("江苏苏农作物保护有限公司", "农药生许（苏）0562", "Q/JSSN", "江苏省盐城市大丰区化工园区 7 号",
          "0515-5550562")
FENGGU = ("安徽丰谷化工有限公司", "农药生许（皖）0147", "Q/AHFG", "安徽省宿州市埇桥区化工园区 5 号", "0557-5550147")
QINNONG = ("陕西秦农生物科技有限公司", "农药生许（陕）0093", "Q/SXQN", "陕西省咸阳市杨凌示范区新桥路 9 号",
           "029-5550093")

#: What every pesticide label of the demo says about safe use, first aid and storage (PEST Art. 22).
PESTICIDE_PRECAUTIONS = "施药时穿戴防护用品，避免吸入药液；施药后洗手洗脸；禁止在河塘等水体清洗施药器具。"
PESTICIDE_FIRST_AID = "误服立即携带标签就医；皮肤接触用肥皂和清水冲洗，溅入眼睛用清水冲洗至少 15 分钟。"
PESTICIDE_STORAGE = "置于阴凉干燥、儿童接触不到处，远离食品、饲料和火源；运输时防雨防晒。"

PESTICIDE_STEPS = ((10, 0.95), (50, 0.9))
PESTICIDE_CATEGORIES = {"insecticide": "insecticide", "fungicide": "fungicide", "herbicide": "herbicide",
                        "plant_growth_regulator": "pesticide", "seed": "pesticide"}


def _pesticide(sku, kind, title, short, *, reg, maker, ingredient, pct, formulation, toxicity, scope, dosage,
               rows, phi=None, made, batch, std_no, unit="bottle", description="", category=None):
    """A pesticide label; ``rows`` are (suffix, net content, price, stock) — each pack size a variant."""
    values = {
        "pesticide_category": "insecticide" if kind == "seed" and "虫" in scope else
                              "fungicide" if kind == "seed" else kind,
        "registration_no": reg, "production_licence_no": maker[1], "active_ingredient": ingredient,
        "active_content_pct": pct, "formulation": formulation, "toxicity": toxicity, "use_scope": scope,
        "dosage": dosage, "restricted_use": False, "quality_standard_no": f"{maker[2]} {std_no}",
        "net_content": "、".join(row[1] for row in rows), "manufacturer": maker[0], "manufacturer_address": maker[3],
        "production_date": made, "batch_no": batch, "shelf_life_months": 24, "precautions": PESTICIDE_PRECAUTIONS,
        "first_aid": PESTICIDE_FIRST_AID, "storage_transport": PESTICIDE_STORAGE,
        "registrant": f"{maker[0]} {maker[4]}",
    }
    if phi is not None:
        values["pre_harvest_interval_days"] = phi
    toxicity_text = {"low_toxic": "低毒", "slightly_toxic": "微毒"}[toxicity]
    text = description or f"{scope}。{dosage}。"
    text += f"\n{toxicity_text}；请按标签说明使用，施药时穿戴防护用品"
    text += f"，安全间隔期 {phi} 天。" if phi is not None else "。"
    unit_label = {"bottle": "瓶", "bag": "袋"}[unit]
    shape = "bottle" if unit == "bottle" else "packet"
    return DemoProduct(category or PESTICIDE_CATEGORIES[kind], title, short, shape,
                       specs(sku, [(s, f"{net}/{unit_label}", price, stock) for s, net, price, stock in rows],
                             steps=PESTICIDE_STEPS),
                       values, p(text), unit, caption=f"{pct}% {formulation} {rows[0][1]}", label=True)


HUINONG = DemoShop(AGRI, "huinong-crop-protection", 0.0, (
    # -- insecticides (red band)
    _pesticide("HN-IMI70", "insecticide", "70%吡虫啉水分散粒剂", "吡虫啉", reg="PD20171823", maker=WOHE,
               ingredient="吡虫啉", pct="70", formulation="WG", toxicity="low_toxic", scope="小麦 蚜虫",
               dosage="每亩 2–4 克，兑水 30 公斤均匀喷雾", phi=20, made="2026-04-16", batch="WH260416",
               std_no="031-2023", unit="bag", rows=[("10G", "10g", 350, 800), ("100G", "100g", 2600, 300)]),
    _pesticide("HN-THX25", "insecticide", "25%噻虫嗪水分散粒剂", "噻虫嗪", reg="PD20182217", maker=HETAI,
               ingredient="噻虫嗪", pct="25", formulation="WG", toxicity="low_toxic", scope="小麦 蚜虫；番茄 白粉虱",
               dosage="小麦每亩 8–10 克，番茄每亩 10–15 克，兑水喷雾", phi=14, made="2026-03-22", batch="HT260322",
               std_no="018-2022", unit="bag", rows=[("10G", "10g", 450, 600), ("100G", "100g", 3800, 200)]),
    _pesticide("HN-EMA5", "insecticide", "5%甲氨基阿维菌素苯甲酸盐水分散粒剂", "甲维盐", reg="PD20160932",
               maker=SUNONG, ingredient="甲氨基阿维菌素苯甲酸盐", pct="5", formulation="WG", toxicity="low_toxic",
               scope="甘蓝 甜菜夜蛾", dosage="每亩 3–4 克，低龄幼虫期兑水喷雾", phi=7, made="2026-05-08",
               batch="SN260508", std_no="027-2021", unit="bag", rows=[("20G", "20g", 600, 500)]),
    _pesticide("HN-CAP5", "insecticide", "5%氯虫苯甲酰胺悬浮剂", "氯虫苯甲酰胺", reg="PD20190455", maker=SUNONG,
               ingredient="氯虫苯甲酰胺", pct="5", formulation="SC", toxicity="slightly_toxic",
               scope="玉米 玉米螟；水稻 稻纵卷叶螟", dosage="每亩 16–20 毫升，卵孵盛期兑水喷雾", phi=21,
               made="2026-04-02", batch="SN260402", std_no="033-2022",
               rows=[("50ML", "50mL", 1200, 300), ("200ML", "200mL", 4200, 120)]),
    _pesticide("HN-BCY45", "insecticide", "4.5%高效氯氰菊酯水乳剂", "高效氯氰菊酯", reg="PD20150876", maker=FENGGU,
               ingredient="高效氯氰菊酯", pct="4.5", formulation="EW", toxicity="low_toxic", scope="甘蓝 菜青虫",
               dosage="每亩 20–40 毫升，兑水喷雾", phi=7, made="2026-03-10", batch="FG260310", std_no="009-2021",
               rows=[("100ML", "100mL", 500, 600), ("500ML", "500mL", 2000, 150)]),
    _pesticide("HN-PYM25", "insecticide", "25%吡蚜酮可湿性粉剂", "吡蚜酮", reg="PD20172106", maker=WOHE,
               ingredient="吡蚜酮", pct="25", formulation="WP", toxicity="low_toxic", scope="水稻 稻飞虱；小麦 蚜虫",
               dosage="每亩 16–24 克，兑水喷雾", phi=14, made="2026-04-20", batch="WH260420", std_no="035-2023",
               unit="bag", rows=[("20G", "20g", 400, 600), ("100G", "100g", 1600, 200)]),
    _pesticide("HN-IND15", "insecticide", "15%茚虫威悬浮剂", "茚虫威", reg="PD20183301", maker=HETAI,
               ingredient="茚虫威", pct="15", formulation="SC", toxicity="low_toxic", scope="甘蓝 小菜蛾",
               dosage="每亩 10–18 毫升，兑水喷雾", phi=3, made="2026-05-14", batch="HT260514", std_no="022-2022",
               rows=[("50ML", "50mL", 1500, 300)]),
    _pesticide("HN-SPT22", "insecticide", "22.4%螺虫乙酯悬浮剂", "螺虫乙酯", reg="PD20201178", maker=SUNONG,
               ingredient="螺虫乙酯", pct="22.4", formulation="SC", toxicity="low_toxic", scope="番茄 烟粉虱",
               dosage="每亩 20–30 毫升，兑水喷雾", phi=5, made="2026-06-03", batch="SN260603", std_no="041-2023",
               rows=[("100ML", "100mL", 3200, 200)]),
    _pesticide("HN-LUF5", "insecticide", "5%虱螨脲乳油", "虱螨脲", reg="PD20170654", maker=FENGGU,
               ingredient="虱螨脲", pct="5", formulation="EC", toxicity="low_toxic", scope="甘蓝 甜菜夜蛾",
               dosage="每亩 30–40 毫升，兑水喷雾", phi=14, made="2026-04-25", batch="FG260425", std_no="014-2022",
               rows=[("100ML", "100mL", 1300, 300)]),
    _pesticide("HN-ABA18", "insecticide", "1.8%阿维菌素乳油", "阿维菌素", reg="PD20141290", maker=QINNONG,
               ingredient="阿维菌素", pct="1.8", formulation="EC", toxicity="low_toxic", scope="甘蓝 小菜蛾",
               dosage="每亩 30–40 毫升，兑水喷雾", phi=7, made="2026-03-28", batch="QN260328", std_no="006-2021",
               rows=[("100ML", "100mL", 600, 500), ("500ML", "500mL", 2500, 120)]),
    # -- fungicides (black band)
    _pesticide("HN-TEB43", "fungicide", "43%戊唑醇悬浮剂", "戊唑醇", reg="PD20152644", maker=HETAI,
               ingredient="戊唑醇", pct="43", formulation="SC", toxicity="low_toxic", scope="小麦 锈病；苹果 斑点落叶病",
               dosage="小麦每亩 15–20 毫升兑水喷雾；苹果 5000–7000 倍液喷雾", phi=21, made="2026-03-18",
               batch="HT260318", std_no="011-2021",
               rows=[("100ML", "100mL", 1500, 400), ("500ML", "500mL", 6500, 100)]),
    _pesticide("HN-PYR25", "fungicide", "25%吡唑醚菌酯悬浮剂", "吡唑醚菌酯", reg="PD20184402", maker=SUNONG,
               ingredient="吡唑醚菌酯", pct="25", formulation="SC", toxicity="low_toxic", scope="黄瓜 霜霉病、白粉病",
               dosage="每亩 20–40 毫升，发病初期兑水喷雾，间隔 7–10 天", phi=3, made="2026-05-20", batch="SN260520",
               std_no="038-2023", rows=[("100ML", "100mL", 2200, 300)]),
    _pesticide("HN-AZO25", "fungicide", "25%嘧菌酯悬浮剂", "嘧菌酯", reg="PD20173390", maker=WOHE,
               ingredient="嘧菌酯", pct="25", formulation="SC", toxicity="low_toxic", scope="黄瓜 霜霉病；葡萄 霜霉病",
               dosage="黄瓜每亩 48–64 毫升；葡萄 1000–1500 倍液喷雾", phi=3, made="2026-05-02", batch="WH260502",
               std_no="029-2022", rows=[("100ML", "100mL", 2500, 300)]),
    _pesticide("HN-MAN80", "fungicide", "80%代森锰锌可湿性粉剂", "代森锰锌", reg="PD20131588", maker=FENGGU,
               ingredient="代森锰锌", pct="80", formulation="WP", toxicity="low_toxic", scope="番茄 早疫病",
               dosage="每亩 150–210 克，兑水喷雾", phi=15, made="2026-02-26", batch="FG260226", std_no="003-2020",
               unit="bag", rows=[("200G", "200g", 800, 500), ("1KG", "1kg", 3200, 100)]),
    _pesticide("HN-CAR50", "fungicide", "50%多菌灵可湿性粉剂", "多菌灵", reg="PD20120947", maker=QINNONG,
               ingredient="多菌灵", pct="50", formulation="WP", toxicity="low_toxic", scope="小麦 赤霉病",
               dosage="每亩 100–150 克，扬花初期兑水喷雾", phi=28, made="2026-03-05", batch="QN260305",
               std_no="002-2020", unit="bag", rows=[("250G", "250g", 700, 600)]),
    _pesticide("HN-TPM70", "fungicide", "70%甲基硫菌灵可湿性粉剂", "甲基硫菌灵", reg="PD20141877", maker=WOHE,
               ingredient="甲基硫菌灵", pct="70", formulation="WP", toxicity="low_toxic", scope="苹果 轮纹病",
               dosage="800–1000 倍液喷雾", phi=21, made="2026-03-30", batch="WH260330", std_no="012-2021",
               unit="bag", rows=[("100G", "100g", 600, 500)]),
    _pesticide("HN-BJBZ30", "fungicide", "30%苯甲·丙环唑乳油", "苯甲丙环唑", reg="PD20161429", maker=HETAI,
               ingredient="苯醚甲环唑 15%、丙环唑 15%", pct="30", formulation="EC", toxicity="low_toxic",
               scope="水稻 纹枯病", dosage="每亩 15–20 毫升，兑水喷雾", phi=30, made="2026-04-12", batch="HT260412",
               std_no="016-2022", rows=[("100ML", "100mL", 1800, 300)]),
    _pesticide("HN-CHL75", "fungicide", "75%百菌清可湿性粉剂", "百菌清", reg="PD20130562", maker=FENGGU,
               ingredient="百菌清", pct="75", formulation="WP", toxicity="low_toxic", scope="黄瓜 霜霉病",
               dosage="每亩 107–147 克，兑水喷雾", phi=7, made="2026-03-15", batch="FG260315", std_no="005-2020",
               unit="bag", rows=[("200G", "200g", 900, 400)]),
    _pesticide("HN-BOS50", "fungicide", "50%啶酰菌胺水分散粒剂", "啶酰菌胺", reg="PD20190871", maker=SUNONG,
               ingredient="啶酰菌胺", pct="50", formulation="WG", toxicity="low_toxic", scope="番茄 灰霉病",
               dosage="每亩 30–50 克，发病初期兑水喷雾", phi=3, made="2026-05-26", batch="SN260526",
               std_no="044-2023", unit="bag", rows=[("30G", "30g", 1500, 300)]),
    _pesticide("HN-JGM5", "fungicide", "5%井冈霉素水剂", "井冈霉素", reg="PD20110318", maker=QINNONG,
               ingredient="井冈霉素", pct="5", formulation="AS", toxicity="slightly_toxic", scope="水稻 纹枯病",
               dosage="每亩 100–150 毫升，兑水喷雾", phi=14, made="2026-04-08", batch="QN260408", std_no="001-2020",
               rows=[("200ML", "200mL", 500, 500)]),
    # -- herbicides (green band)
    _pesticide("HN-GLY41", "herbicide", "41%草甘膦异丙胺盐水剂", "草甘膦", reg="PD20121906", maker=HETAI,
               ingredient="草甘膦异丙胺盐", pct="41", formulation="AS", toxicity="low_toxic", scope="非耕地 杂草",
               dosage="每亩 150–250 毫升，杂草生长旺盛期定向茎叶喷雾，勿喷到作物", made="2026-03-01",
               batch="HT260301", std_no="004-2020", rows=[("1L", "1L", 2200, 300), ("5L", "5L", 9800, 80)]),
    _pesticide("HN-GLU18", "herbicide", "18%草铵膦可溶液剂", "草铵膦", reg="PD20181566", maker=WOHE,
               ingredient="草铵膦", pct="18", formulation="SL", toxicity="low_toxic", scope="果园 杂草",
               dosage="每亩 300–400 毫升，定向茎叶喷雾", made="2026-04-18", batch="WH260418", std_no="037-2023",
               rows=[("1L", "1L", 3000, 200)]),
    _pesticide("HN-TRI10", "herbicide", "10%苯磺隆可湿性粉剂", "苯磺隆", reg="PD20140771", maker=QINNONG,
               ingredient="苯磺隆", pct="10", formulation="WP", toxicity="low_toxic", scope="冬小麦田 一年生阔叶杂草",
               dosage="每亩 10–20 克，小麦 3 叶期后、杂草 2–4 叶期兑水茎叶喷雾", made="2026-02-20", batch="QN260220",
               std_no="008-2021", unit="bag", rows=[("10G", "10g", 300, 800)]),
    _pesticide("HN-NIC4", "herbicide", "4%烟嘧磺隆悬浮剂", "烟嘧磺隆", reg="PD20151923", maker=FENGGU,
               ingredient="烟嘧磺隆", pct="4", formulation="SC", toxicity="low_toxic", scope="玉米田 一年生杂草",
               dosage="每亩 75–100 毫升，玉米 3–5 叶期茎叶喷雾；甜玉米、爆裂玉米慎用", made="2026-04-28",
               batch="FG260428", std_no="013-2022", rows=[("100ML", "100mL", 800, 400)]),
    _pesticide("HN-ATR38", "herbicide", "38%莠去津悬浮剂", "莠去津", reg="PD20131255", maker=HETAI,
               ingredient="莠去津", pct="38", formulation="SC", toxicity="low_toxic", scope="夏玉米田 一年生杂草",
               dosage="每亩 200–250 毫升，播后苗前土壤喷雾", made="2026-04-30", batch="HT260430", std_no="007-2021",
               rows=[("500ML", "500mL", 1600, 300)]),
    _pesticide("HN-ACE50", "herbicide", "50%乙草胺乳油", "乙草胺", reg="PD20120488", maker=WOHE,
               ingredient="乙草胺", pct="50", formulation="EC", toxicity="low_toxic", scope="夏玉米田 一年生禾本科杂草",
               dosage="每亩 100–140 毫升，播后苗前土壤喷雾", made="2026-04-22", batch="WH260422", std_no="010-2021",
               rows=[("500ML", "500mL", 1500, 300)]),
    _pesticide("HN-QUI5", "herbicide", "5%精喹禾灵乳油", "精喹禾灵", reg="PD20130944", maker=QINNONG,
               ingredient="精喹禾灵", pct="5", formulation="EC", toxicity="low_toxic", scope="花生田 一年生禾本科杂草",
               dosage="每亩 50–70 毫升，杂草 3–5 叶期茎叶喷雾", made="2026-05-06", batch="QN260506",
               std_no="015-2022", rows=[("100ML", "100mL", 700, 400)]),
    # -- plant growth regulators (dark yellow band) and seed treatments
    _pesticide("HN-BRA", "plant_growth_regulator", "0.01%芸苔素内酯可溶液剂", "芸苔素内酯", reg="PD20173012",
               maker=QINNONG, ingredient="芸苔素内酯", pct="0.01", formulation="SL", toxicity="slightly_toxic",
               scope="小麦 调节生长", dosage="稀释 2000–3000 倍，拔节期、灌浆期各喷一次", phi=7, made="2026-05-12",
               batch="QN260512", std_no="019-2022", rows=[("10ML", "10mL", 300, 800), ("100ML", "100mL", 1800, 200)]),
    _pesticide("HN-MEP25", "plant_growth_regulator", "25%甲哌鎓水剂", "甲哌鎓", reg="PD20150330", maker=FENGGU,
               ingredient="甲哌鎓", pct="25", formulation="AS", toxicity="low_toxic", scope="棉花 调节生长",
               dosage="每亩 8–12 毫升，初花期兑水喷雾，控旺防徒长", phi=7, made="2026-05-18", batch="FG260518",
               std_no="017-2022", rows=[("100ML", "100mL", 600, 400)]),
    _pesticide("HN-FS-THX", "seed", "30%噻虫嗪种子处理悬浮剂", "噻虫嗪种衣剂", reg="PD20182769", maker=HETAI,
               ingredient="噻虫嗪", pct="30", formulation="FS", toxicity="low_toxic", scope="小麦 蚜虫（拌种）",
               dosage="每 100 公斤种子用药 200–400 毫升，加适量水稀释后均匀拌种，晾干后播种",
               made="2026-06-10", batch="HT260610", std_no="026-2022", rows=[("100ML", "100mL", 2200, 300)]),
    _pesticide("HN-FS-TEB", "seed", "6%戊唑醇种子处理悬浮剂", "戊唑醇种衣剂", reg="PD20160118", maker=SUNONG,
               ingredient="戊唑醇", pct="6", formulation="FS", toxicity="low_toxic", scope="小麦 散黑穗病（拌种）",
               dosage="每 100 公斤种子用药 50–67 毫升，兑水拌种，晾干后播种", made="2026-06-18", batch="SN260618",
               std_no="030-2022", rows=[("50ML", "50mL", 1200, 300)]),
), licence=("pesticide_business", "农药经许（豫）41012220035"))

#: Fictional seed companies: (name, seed production and business licence).
HELING = ("河南禾岭种业有限公司", "B（豫）农种许字（2019）第0126号", "河南省新乡市红旗区种业路 6 号", "HL")
MAIFENG = ("河南中原麦丰种业有限公司", "A（豫）农种许字（2018）第0008号", "河南省郑州市惠济区种业大道 18 号", "MF")
YUFENG = ("河南豫丰玉米种业有限公司", "B（豫）农种许字（2020）第0215号", "河南省鹤壁市浚县种业园 3 号", "YF")
FENGYUAN = ("郑州丰园蔬菜种苗有限公司", "D（豫）农种许字（2021）第0418号", "河南省郑州市中牟县官渡镇种苗路 2 号", "FY")

SEED_STEPS = ((10, 0.96), (100, 0.92))


def seed_label(crop, variety, seed_class, approval, producer, *, purity, germination, moisture, net, made,
               region, cleanliness="99.0", quarantine="") -> dict:
    """A seed label (Seed Law Art. 40): the batch is the producer's code and the packing date, tested that day."""
    values = {"crop": crop, "variety_name": variety, "seed_class": seed_class, "approval_no": approval,
              "producer": producer[0], "producer_licence_no": producer[1], "producer_address": producer[2],
              "purity_pct": purity, "germination_pct": germination, "moisture_pct": moisture,
              "cleanliness_pct": cleanliness, "suitable_region": region, "gmo": False, "net_content": net,
              "production_date": made, "batch_no": f"{producer[3]}{made.replace('-', '')}", "test_date": made,
              "warranty_months": 12, "quarantine_cert_no": quarantine or f"豫检{made[:4]}-{producer[3]}{made[5:7]}"}
    return values


WHEAT_REGION = "黄淮冬麦区南片的河南（信阳除外）、安徽北部、江苏北部、陕西关中；10 月上中旬播种，中高水肥地块"
MAIZE_REGION = "黄淮海夏玉米区的河南、山东、河北中南部；6 月上中旬麦收后播种，每亩 4500–5000 株"


def _wheat(sku, variety, approval, producer, price, *, made="2026-08-20", germination="92", description=""):
    values = seed_label("小麦", variety, "conventional", approval, producer, purity="99.2", germination=germination,
                        moisture="12.5", net="25 kg", made=made, region=WHEAT_REGION, quarantine="豫检2026-0318")
    text = description or f"{variety}，半冬性中晚熟品种，抗倒伏，籽粒饱满。每亩播量 12–15 公斤，适期晚播可适当加量。"
    return DemoProduct("wheat-seed", f"{variety} 小麦种子（包衣）", variety, "packet",
                       specs(sku, [("25", "25kg/袋", price, 400)], steps=SEED_STEPS, weight={"25": 25000}),
                       values, p(text), "bag", caption="小麦 25kg/袋", label=True)


def _maize(sku, variety, approval, producer, price, *, made="2026-10-10", description=""):
    values = seed_label("玉米", variety, "hybrid", approval, producer, purity="97.5", germination="95",
                        moisture="12.8", net="2 kg（约 5000 粒）", made=made, region=MAIZE_REGION)
    text = description or f"{variety}，紧凑型中熟杂交种，适宜单粒精播，出苗整齐。"
    return DemoProduct("maize-seed", f"{variety} 玉米种子（单粒播）", variety, "packet",
                       specs(sku, [("2", "2kg/袋 约5000粒", price, 600)], steps=SEED_STEPS, weight={"2": 2000}),
                       values, p(text), "bag", caption="玉米 单粒播", label=True)


HELING_SEED = DemoShop(AGRI, "heling-seed", 0.16, (
    _wheat("HL-W-HL6", "禾岭麦6号", "国审麦20210043", HELING, 13500,
           description="禾岭种业自育品种，半冬性，抗倒伏、抗寒性好，亩穗数多。\n每批种子附发芽率检测单。"),
    _wheat("HL-W-HL19", "禾岭麦19", "豫审麦20230017", HELING, 14500, germination="93"),
    _wheat("HL-W-ZYM518", "中原麦518", "国审麦20200029", MAIFENG, 12800),
    _wheat("HL-W-ZFM21", "郑丰麦21", "豫审麦20220008", MAIFENG, 13200),
    _wheat("HL-W-YHM8", "豫禾麦8号", "豫审麦20210031", HELING, 12500, germination="90"),
    _wheat("HL-W-HHM166", "黄淮麦166", "国审麦20220055", MAIFENG, 13800,
           description="强筋小麦，适合订单种植，面粉厂收购有加价。"),
    _maize("HL-M-HL38", "禾岭玉38", "国审玉20220118", HELING, 4800,
           description="禾岭种业主推品种，耐密抗倒，脱水快，适合机收籽粒。"),
    _maize("HL-M-YF606", "豫丰玉606", "豫审玉20210026", YUFENG, 4200),
    _maize("HL-M-ZY16", "中原玉16", "国审玉20200231", YUFENG, 4500),
    _maize("HL-M-HL88", "禾岭玉88", "豫审玉20230041", HELING, 5200),
    _maize("HL-M-YF9", "豫丰9号", "国审玉20230187", YUFENG, 3900),
    _maize("HL-M-FT1", "丰田1号（鲜食糯玉米）", "豫审玉20220073", YUFENG, 3600,
           description="鲜食白糯玉米，皮薄香糯，播种后 85 天左右采收嫩穗。"),
    DemoProduct("seed", "豫禾豆12 大豆种子", "豫禾豆12", "packet",
                specs("HL-S-YHD12", [("20", "20kg/袋", 15800, 200)], steps=SEED_STEPS, weight={"20": 20000}),
                seed_label("大豆", "豫禾豆12", "conventional", "豫审豆20220005", HELING, purity="98.0",
                           germination="88", moisture="12.0", net="20 kg", made="2026-10-18",
                           region="河南全省夏大豆区，6 月中旬麦收后播种"),
                p("有限结荚习性，高蛋白，适合麦茬夏播。"), "bag", caption="大豆 20kg/袋", label=True),
    DemoProduct("seed", "禾岭花3号 花生种子", "禾岭花3号", "packet",
                specs("HL-S-HLH3", [("10", "10kg/袋（荚果）", 18800, 150)], steps=SEED_STEPS, weight={"10": 10000}),
                seed_label("花生", "禾岭花3号", "conventional", "GPD花生（2021）410087", HELING, purity="96.0",
                           germination="85", moisture="10.0", net="10 kg", made="2026-09-25",
                           region="河南、山东春播及麦套花生区"),
                p("大果高油酸花生，出仁率高，春播或麦垄套种。"), "bag", caption="花生 10kg/袋", label=True),
), licence=("seed_business", "B（豫）农种许字（2019）第0126号"))


def _vegetable(sku, crop, variety, approval, price, *, net, germination="85", purity="96.0", moisture="7.0",
               region, made="2026-06-15", description="", seed_class="hybrid"):
    values = seed_label(crop, variety, seed_class, approval, FENGYUAN, purity=purity, germination=germination,
                        moisture=moisture, net=net, made=made, region=region, cleanliness="98.0")
    return DemoProduct("vegetable-seed", f"{variety} {crop}种子", variety, "packet",
                       specs(sku, [("PK", f"{net}/包", price, 500)], steps=((10, 0.9), (50, 0.8))),
                       values, p(description or f"{crop}品种{variety}，分装小包，适合自家菜园；10 包、50 包起优惠。"),
                       "pack", caption=f"{crop} {net}", label=True)


XIULAN = DemoShop(AGRI, "xiulan-veg-seed", 0.25, (
    _vegetable("XL-DBC-1", "大白菜", "丰园早白菜", "GPD大白菜（2019）410236", 500, net="10g",
               region="河南各地秋季栽培，8 月中下旬播种", description="早熟秋白菜，60 天左右收获，包心紧实。"),
    _vegetable("XL-DBC-2", "大白菜", "丰园冬储白", "GPD大白菜（2020）410311", 600, net="10g",
               region="北方秋季栽培，耐储藏"),
    _vegetable("XL-GL-1", "结球甘蓝", "丰园圆球甘蓝", "GPD结球甘蓝（2019）410102", 800, net="5g",
               region="春秋两季露地栽培"),
    _vegetable("XL-GL-2", "结球甘蓝", "丰园牛心甘蓝", "GPD结球甘蓝（2021）410198", 800, net="5g",
               region="春季早熟栽培"),
    _vegetable("XL-HG-1", "黄瓜", "丰园密刺黄瓜", "GPD黄瓜（2020）410355", 1200, net="200粒", germination="90",
               region="保护地及露地春茬栽培", description="瓜条顺直、刺密瘤小，清香脆嫩。"),
    _vegetable("XL-HG-2", "黄瓜", "丰园水果黄瓜", "GPD黄瓜（2022）410402", 1500, net="100粒", germination="90",
               region="设施栽培"),
    _vegetable("XL-FQ-1", "番茄", "丰园粉果番茄", "GPD番茄（2019）410288", 1500, net="500粒", germination="85",
               region="春秋保护地栽培", description="粉果大番茄，单果 250 克左右，口感沙甜。"),
    _vegetable("XL-FQ-2", "番茄", "丰园樱桃番茄", "GPD番茄（2021）410376", 1500, net="200粒", germination="85",
               region="保护地及露地栽培"),
    _vegetable("XL-LJ-1", "辣椒", "丰园线椒", "GPD辣椒（2020）410221", 1000, net="10g", germination="80",
               region="露地春季栽培", description="辣味浓、果条长，鲜食干制两用。"),
    _vegetable("XL-LJ-2", "辣椒", "丰园甜椒", "GPD辣椒（2021）410265", 1200, net="5g", germination="80",
               region="保护地及露地栽培"),
    _vegetable("XL-XG-1", "西瓜", "丰园中牟早蜜", "GPD西瓜（2020）410133", 1500, net="50粒", germination="90",
               moisture="8.0", region="中牟及周边地区春季栽培", description="中早熟西瓜，皮薄瓤红，适合中牟沙土地。"),
    _vegetable("XL-TG-1", "甜瓜", "丰园羊角蜜", "GPD甜瓜（2021）410147", 1000, net="100粒", germination="90",
               moisture="8.0", region="春季保护地及露地栽培"),
), licence=("seed_business", "豫郑种备（2023）0117号"))

TOOL_STEPS = ((10, 0.95), (50, 0.9))


def _tool(sku, category, title, short, shape, rows, *, brand, maker, model="", power=None, description="",
          caption=""):
    values = {"brand": brand, "manufacturer": maker}
    if model:
        values["model"] = model
    if power:
        values["power_w"] = power
    return DemoProduct(category, title, short, shape, specs(sku, rows, steps=TOOL_STEPS), values,
                       p(description) if description else "", caption=caption)


LAOSUN = DemoShop(AGRI, "laosun-tools", 0.08, (
    _tool("LS-SPR16", "sprayers", "16升电动喷雾器（锂电）", "电动喷雾器", "sprayer",
          [("12AH", "12Ah锂电", 26800, 40), ("20AH", "20Ah锂电", 32800, 30)], brand="农友", model="NY-16D",
          power=60, maker="台州农友喷雾器有限公司",
          description="背负式电动喷雾器，压力可调，一次充电可喷 8–12 桶；店里可修理、配件齐全。", caption="16L 锂电"),
    _tool("LS-SPR20", "sprayers", "20升电动喷雾器（高压）", "高压喷雾器", "sprayer",
          [("20AH", "20Ah锂电", 36800, 30)], brand="农友", model="NY-20G", power=80, maker="台州农友喷雾器有限公司",
          caption="20L 高压"),
    _tool("LS-SPR-M", "sprayers", "16升手动背负式喷雾器", "手动喷雾器", "sprayer", [("16L", "16L", 8500, 50)],
          brand="农友", model="NY-16S", maker="台州农友喷雾器有限公司", caption="16L 手动"),
    _tool("LS-NOZZLE", "sprayers", "喷雾器喷头配件套装", "喷头配件", "sprayer", [("SET", "扇形/锥形各2个", 1500, 200)],
          brand="农友", maker="台州农友喷雾器有限公司", caption="通用接口"),
    _tool("LS-HOE", "hand-tools", "锰钢锄头（带木柄）", "锰钢锄头", "hoe", [("STD", "1.2米木柄", 4500, 80)],
          brand="老孙", maker="山东临沂铁匠铺农具厂", caption="锰钢锻打"),
    _tool("LS-SICKLE", "hand-tools", "锯齿镰刀", "镰刀", "hoe", [("STD", "标准", 1800, 150)], brand="老孙",
          maker="山东临沂铁匠铺农具厂", caption="割麦割草"),
    _tool("LS-SPADE", "hand-tools", "加厚铁锹", "铁锹", "hoe", [("STD", "1.3米木柄", 4200, 80)], brand="老孙",
          maker="河北唐山丰润农具厂", caption="加厚锰钢"),
    _tool("LS-RAKE", "hand-tools", "12齿钉耙", "钉耙", "hoe", [("STD", "1.5米木柄", 3800, 60)], brand="老孙",
          maker="河北唐山丰润农具厂", caption="12齿"),
    _tool("LS-SHEAR", "hand-tools", "果树修枝剪", "修枝剪", "hoe", [("STD", "8寸", 3500, 100), ("L", "长柄高枝剪", 8800, 30)],
          brand="园艺家", maker="浙江永康园艺工具有限公司", caption="SK5刀片"),
    _tool("LS-HOSE", "hand-tools", "农用四季软水管", "农用水管", "hoe",
          [("1IN50", "1寸 50米", 16800, 30), ("1IN100", "1寸 100米", 31800, 20)], brand="农友",
          maker="河北衡水塑胶制品有限公司", caption="防冻不硬化"),
))

AGRI_SHOPS = (SUIFENG, FENGSHOU, LVRANG_SHOP, DIFENG_SHOP, HUINONG, HELING_SEED, XIULAN, LAOSUN)


# =============================================================================================================
# 二七服装批发城 / Erqi Apparel Wholesale City — garments by size × colour, tiers by the piece or the dozen
# =============================================================================================================

APPAREL = "apparel-market"

CARE_WASH = "30℃以下水温手洗或机洗轻柔程序，不可漂白，悬挂晾干，中温熨烫"
CARE_DELICATE = "建议手洗或专业干洗，不可拧干，平铺阴干，低温熨烫"
CARE_DRYCLEAN = "建议专业干洗，不可水洗，不可漂白，低温熨烫"
WOMEN_CHART = "S 胸围 84 腰围 66 衣长 100\nM 胸围 88 腰围 70 衣长 102\nL 胸围 92 腰围 74 衣长 104\nXL 胸围 96 腰围 78 衣长 106"
COAT_CHART = "S 胸围 98 肩宽 39 衣长 105\nM 胸围 102 肩宽 40 衣长 107\nL 胸围 106 肩宽 41 衣长 109\nXL 胸围 110 肩宽 42 衣长 111"
MEN_SIZES = ("M", "L", "XL", "2XL", "3XL", "4XL")
MEN_CHART = ("M 胸围 104 衣长 68\nL 胸围 108 衣长 70\nXL 胸围 112 衣长 72\n2XL 胸围 116 衣长 74\n"
             "3XL 胸围 120 衣长 76\n4XL 胸围 124 衣长 78")
KID_SIZES = ("110", "120", "130", "140", "150")
KID_CHART = "110 适合身高 105-115cm\n120 适合身高 115-125cm\n130 适合身高 125-135cm\n140 适合身高 135-145cm\n" \
            "150 适合身高 145-155cm"
PIECE_STEPS = ((12, 0.95), (60, 0.9))  # a dozen, five dozen
BIG_SIZES = {"2XL": 500, "3XL": 1000, "4XL": 1000}


def _garment(sku, category, title, short, shape, colours, price, *, sizes=WOMEN_SIZES, material, season, gender,
             standard, safety="B", care=CARE_WASH, chart=WOMEN_CHART, moq=1, steps=PIECE_STEPS, unit="piece",
             stock=60, description="", caption="", price_step=None):
    values = {"material": material, "season": season, "gender": gender, "size_chart": chart, "care": care,
              "executive_standard": standard, "safety_class": safety}
    return DemoProduct(category, title, short, shape,
                       grid(sku, sizes, colours, price, stock, steps=steps, price_step=price_step), values,
                       p(description) if description else "", unit, moq, caption=caption)


def _dress(sku, title, short, colours, price, material, *, season="autumn_winter", shape="dress", **kw):
    return _garment(sku, "dresses", title, short, shape, colours, price, material=material, season=season,
                    gender="women", standard="FZ/T 81004-2022", caption=kw.pop("caption", "S-XL 混码"), **kw)


ZHIYUN_WHOLESALE = DemoShop(APPAREL, "zhiyun-wholesale", 0.88, (
    _dress("ZYW-QZ01", "通勤收腰连衣裙（工厂直供）", "收腰连衣裙", (("NV", "藏青"), ("BK", "黑色"), ("WN", "酒红")),
           13800, "醋酸纤维 60%，聚酯纤维 40%",
           description="织韵自有工厂货，与德化街门店同款。\n单件拿货价，12 件起、60 件起分别优惠；店铺混批 3 件起。"),
    _dress("ZYW-QZ02", "碎花雪纺长裙", "碎花长裙", (("BL", "雾蓝"), ("PK", "浅粉")), 9800, "聚酯纤维 100%",
           season="spring_summer", care=CARE_DELICATE),
    _dress("ZYW-QZ03", "针织打底长裙", "针织长裙", (("CM", "燕麦色"), ("BK", "黑色"), ("GR", "灰色")), 11800,
           "粘纤 65%，聚酯纤维 30%，氨纶 5%"),
    _dress("ZYW-QZ04", "法式方领泡泡袖连衣裙", "方领连衣裙", (("WH", "米白"), ("GN", "墨绿")), 12800,
           "棉 60%，聚酯纤维 40%", season="spring_summer"),
    _dress("ZYW-QZ05", "醋酸缎面吊带裙", "缎面吊带裙", (("CH", "香槟"), ("BK", "黑色")), 14800,
           "醋酸纤维 100%", season="spring_summer", care=CARE_DELICATE),
    _dress("ZYW-QZ06", "毛呢背心连衣裙", "毛呢背心裙", (("BR", "咖啡"), ("GR", "灰色")), 15800,
           "羊毛 30%，聚酯纤维 70%", care=CARE_DRYCLEAN, safety="C"),
    _dress("ZYW-QZ07", "亚麻衬衫式连衣裙", "亚麻衬衫裙", (("KH", "卡其"), ("WH", "白色")), 13800, "亚麻 55%，棉 45%",
           season="spring_summer"),
    _dress("ZYW-QZ08", "高领针织毛衣裙", "毛衣裙", (("CM", "驼色"), ("BK", "黑色")), 16800,
           "羊毛 50%，腈纶 30%，聚酰胺纤维 20%", care=CARE_DELICATE),
    _dress("ZYW-QZ09", "丝绒长袖连衣裙", "丝绒长裙", (("WN", "酒红"), ("NV", "藏青")), 15800, "聚酯纤维 92%，氨纶 8%"),
    _dress("ZYW-QZ10", "真丝印花连衣裙", "真丝长裙", (("FL", "花色"),), 39800, "桑蚕丝 100%",
           season="spring_summer", care=CARE_DRYCLEAN, description="重磅真丝，单件 398 元起批，适合精品店。"),
    _dress("ZYW-QZ11", "条纹衬衫连衣裙", "条纹衬衫裙", (("BL", "蓝白条"), ("PK", "粉白条")), 10800,
           "棉 100%", season="spring_summer"),
    _dress("ZYW-QZ12", "灯芯绒背带裙", "灯芯绒背带裙", (("BR", "咖啡"), ("KH", "卡其")), 11800, "棉 98%，氨纶 2%"),
    _dress("ZYW-QZ13", "收腰西装连衣裙", "西装连衣裙", (("BK", "黑色"), ("CM", "杏色")), 16800,
           "聚酯纤维 85%，粘纤 15%", safety="C"),
    _dress("ZYW-QZ14", "针织开衫两件套裙", "两件套裙", (("GR", "灰色"), ("CM", "燕麦色")), 18800,
           "粘纤 50%，聚酯纤维 28%，锦纶 22%"),
    _dress("ZYW-BQ01", "毛呢A字半身裙", "A字半身裙", (("CM", "燕麦色"), ("BR", "咖啡"), ("BK", "黑色")), 8800,
           "羊毛 30%，聚酯纤维 70%", safety="C"),
    _dress("ZYW-BQ02", "百褶中长半身裙", "百褶半身裙", (("BK", "黑色"), ("NV", "藏青")), 7800, "聚酯纤维 100%"),
    _dress("ZYW-BQ03", "牛仔直筒半身裙", "牛仔半身裙", (("LB", "浅蓝"), ("DB", "深蓝")), 8800, "棉 99%，氨纶 1%",
           season="all_season"),
    _dress("ZYW-ZZ01", "羊毛混纺开衫（工厂直供）", "羊毛开衫", (("CM", "驼色"), ("GR", "灰色")), 12800,
           "羊毛 50%，腈纶 30%，聚酰胺纤维 20%", shape="coat", care=CARE_DELICATE),
), mixed_batch_min_quantity=3)


def _coat(sku, title, short, colours, price, material, *, standard="FZ/T 81007-2022", shape="coat", **kw):
    return _garment(sku, "womens-outerwear", title, short, shape, colours, price, material=material,
                    season=kw.pop("season", "autumn_winter"), gender="women", standard=standard,
                    safety=kw.pop("safety", "C"), care=kw.pop("care", CARE_DRYCLEAN), chart=COAT_CHART,
                    moq=kw.pop("moq", 2), steps=kw.pop("steps", ((10, 0.95), (30, 0.9))),
                    caption=kw.pop("caption", "2件起批"), **kw)


YISHANG = DemoShop(APPAREL, "yishang-outerwear", 0.08, (
    _coat("YS-DY01", "双面羊毛呢大衣", "双面呢大衣", (("CM", "驼色"), ("BK", "黑色"), ("GR", "灰色")),
          52800, "羊毛 90%，聚酰胺纤维 10%",
          description="手工双面呢，无里衬，版型宽松落肩。\n每款每色 2 件起批，10 件、30 件起分别优惠。"),
    _coat("YS-DY02", "羊毛混纺茧型大衣", "茧型大衣", (("CM", "燕麦色"), ("NV", "藏青")), 32800, "羊毛 50%，聚酯纤维 50%"),
    _coat("YS-DY03", "毛呢短款外套", "毛呢短外套", (("WH", "奶白"), ("BR", "咖啡")), 23800, "羊毛 30%，聚酯纤维 70%"),
    _coat("YS-FY01", "经典双排扣风衣", "双排扣风衣", (("KH", "卡其"), ("BK", "黑色")), 22800, "棉 65%，聚酯纤维 35%",
          season="spring_summer", care=CARE_WASH),
    _coat("YS-FY02", "中长款系带风衣", "系带风衣", (("KH", "卡其"), ("GN", "军绿")), 19800, "聚酯纤维 100%",
          season="spring_summer", care=CARE_WASH),
    _coat("YS-YR01", "白鸭绒短款羽绒服", "短款羽绒服", (("BK", "黑色"), ("WH", "奶白"), ("PK", "粉色")), 25800,
          "聚酯纤维 100%", standard="GB/T 14272-2021",
          description="面料聚酯纤维 100%，填充 90% 白鸭绒，充绒量约 150 克。"),
    _coat("YS-YR02", "长款过膝羽绒服", "长款羽绒服", (("BK", "黑色"), ("CM", "驼色")), 39800, "聚酯纤维 100%",
          standard="GB/T 14272-2021", description="面料聚酯纤维 100%，填充 90% 白鸭绒，充绒量约 260 克。"),
    _coat("YS-MF01", "棉服面包服", "面包服", (("BK", "黑色"), ("GN", "抹茶绿")), 15800, "聚酰胺纤维 100%",
          care=CARE_WASH),
    _coat("YS-JK01", "短款牛仔外套", "牛仔外套", (("LB", "浅蓝"), ("DB", "深蓝")), 13800, "棉 100%",
          standard="FZ/T 81006-2017", season="all_season", care=CARE_WASH),
    _coat("YS-JK02", "PU皮机车夹克", "机车夹克", (("BK", "黑色"), ("BR", "棕色")), 18800, "聚氨酯 100%",
          care="不可水洗，用湿布擦拭，阴凉处悬挂"),
    _coat("YS-XZ01", "宽松西装外套", "西装外套", (("BK", "黑色"), ("CM", "杏色"), ("GR", "灰色")), 17800,
          "聚酯纤维 80%，粘纤 20%", season="all_season"),
    _coat("YS-XZ02", "格纹西装外套", "格纹西装", (("GR", "灰格"), ("BR", "咖格")), 19800, "聚酯纤维 70%，粘纤 30%",
          season="all_season"),
    _coat("YS-MM01", "羊羔毛拼接外套", "羊羔毛外套", (("WH", "奶白"), ("BR", "咖啡")), 21800, "聚酯纤维 100%",
          care=CARE_WASH),
    _garment("YS-ZZ01", "knitwear", "粗棒针织开衫", "针织开衫", "coat", (("CM", "燕麦色"), ("GN", "墨绿")), 12800,
             material="腈纶 60%，羊毛 20%，聚酰胺纤维 20%", season="autumn_winter", gender="women",
             standard="FZ/T 73018-2021", care=CARE_DELICATE, moq=2, caption="2件起批"),
    _garment("YS-ZZ02", "knitwear", "圆领羊绒衫", "羊绒衫", "shirt", (("WH", "米白"), ("WN", "酒红"), ("GR", "灰色")),
             29800, material="山羊绒 100%", season="autumn_winter", gender="women", standard="FZ/T 73009-2021",
             care=CARE_DELICATE, moq=2, caption="2件起批"),
    _garment("YS-ZZ03", "knitwear", "高领打底毛衣", "打底毛衣", "shirt", (("BK", "黑色"), ("WH", "白色"), ("CM", "驼色")), 6800,
             material="粘纤 55%，聚酯纤维 25%，锦纶 20%", season="autumn_winter", gender="women",
             standard="FZ/T 73018-2021", moq=3, caption="3件起批"),
), mixed_batch_min_amount=100000, accepts_quotes=True)


def _mens(sku, category, title, short, shape, colours, price, material, *, standard="FZ/T 73020-2019",
          season="autumn_winter", **kw):
    return _garment(sku, category, title, short, shape, colours, price, sizes=MEN_SIZES, material=material,
                    season=season, gender="men", standard=standard, chart=MEN_CHART, moq=kw.pop("moq", 3),
                    steps=kw.pop("steps", ((30, 0.95), (100, 0.9))), price_step=BIG_SIZES,
                    caption=kw.pop("caption", "M-4XL"), stock=40, **kw)


ZHUOFAN = DemoShop(APPAREL, "zhuofan-menswear", 0.6, (
    _mens("ZF-JK01", "mens-casual", "男士立领休闲夹克", "立领夹克", "coat", (("NV", "藏青"), ("BK", "黑色"), ("KH", "卡其")),
          9800, "聚酯纤维 100%", standard="FZ/T 81007-2022", safety="C",
          description="面向县城服装店的走量款，M–4XL，2XL 起加价。\n每色每码 3 件起批，30 件、100 件起分别优惠。"),
    _mens("ZF-JK02", "mens-casual", "男士工装夹克", "工装夹克", "coat", (("GN", "军绿"), ("KH", "卡其")), 11800,
          "棉 100%", standard="FZ/T 81007-2022", safety="C"),
    _mens("ZF-WY01", "mens-casual", "男士加绒圆领卫衣", "加绒卫衣", "shirt", (("BK", "黑色"), ("GR", "麻灰"), ("NV", "藏青")),
          5800, "棉 60%，聚酯纤维 40%"),
    _mens("ZF-WY02", "mens-casual", "男士连帽卫衣", "连帽卫衣", "shirt", (("BK", "黑色"), ("WH", "白色")), 6800,
          "棉 80%，聚酯纤维 20%"),
    _mens("ZF-KZ01", "mens-casual", "男士弹力休闲裤", "休闲裤", "trousers", (("BK", "黑色"), ("KH", "卡其"), ("GR", "灰色")),
          5800, "棉 97%，氨纶 3%", standard="FZ/T 81007-2022", season="all_season"),
    _mens("ZF-KZ02", "mens-casual", "男士直筒牛仔裤", "直筒牛仔裤", "trousers", (("DB", "深蓝"), ("LB", "浅蓝")), 6800,
          "棉 98%，氨纶 2%", standard="FZ/T 81006-2017", season="all_season"),
    _mens("ZF-KZ03", "mens-casual", "男士多口袋工装裤", "工装裤", "trousers", (("GN", "军绿"), ("BK", "黑色")), 7800,
          "棉 100%", standard="FZ/T 81007-2022", season="all_season"),
    _mens("ZF-KZ04", "mens-casual", "男士加绒运动裤", "加绒运动裤", "trousers", (("BK", "黑色"), ("GR", "深灰")), 4800,
          "聚酯纤维 95%，氨纶 5%"),
    _mens("ZF-YR01", "mens-casual", "男士连帽羽绒服", "男士羽绒服", "coat", (("BK", "黑色"), ("NV", "藏青")), 22800,
          "聚酰胺纤维 100%", standard="GB/T 14272-2021", safety="C", care=CARE_DRYCLEAN,
          description="面料聚酰胺纤维 100%，填充 80% 白鸭绒。"),
    _mens("ZF-MF01", "mens-casual", "男士棉服", "男士棉服", "coat", (("BK", "黑色"), ("GN", "军绿")), 12800,
          "聚酯纤维 100%", standard="FZ/T 81007-2022", safety="C"),
    _mens("ZF-POLO", "mens-casual", "男士纯棉短袖POLO衫", "POLO衫", "shirt", (("WH", "白色"), ("NV", "藏青"), ("BK", "黑色")),
          3800, "棉 100%", standard="GB/T 22849-2014", season="spring_summer"),
    _mens("ZF-TX12", "mens-casual", "男士纯棉圆领T恤（按打）", "T恤按打", "shirt", (("WH", "白色"), ("BK", "黑色")), 26400,
          "棉 100%", standard="GB/T 22849-2014", season="spring_summer", unit="dozen", moq=1,
          steps=((5, 0.95), (20, 0.9)), caption="12件/打",
          description="一打 12 件同码同色，按打计价；5 打、20 打起分别优惠。"),
    _mens("ZF-MY01", "mens-casual", "男士半高领毛衣", "男士毛衣", "shirt", (("GR", "灰色"), ("NV", "藏青"), ("BR", "咖啡")),
          8800, "腈纶 70%，羊毛 30%", standard="FZ/T 73018-2021", care=CARE_DELICATE),
    _mens("ZF-CS01", "mens-shirts", "男士免烫长袖衬衫", "免烫衬衫", "shirt", (("WH", "白色"), ("BL", "浅蓝")), 6800,
          "棉 70%，聚酯纤维 30%", standard="GB/T 2660-2017", season="all_season"),
    _mens("ZF-CS02", "mens-shirts", "男士牛津纺衬衫", "牛津纺衬衫", "shirt", (("BL", "浅蓝"), ("PK", "粉色"), ("WH", "白色")),
          5800, "棉 100%", standard="GB/T 2660-2017", season="all_season"),
    _mens("ZF-XK01", "mens-shirts", "男士商务西裤", "商务西裤", "trousers", (("BK", "黑色"), ("NV", "藏青"), ("GR", "灰色")),
          7800, "聚酯纤维 70%，粘纤 30%", standard="GB/T 2666-2017", season="all_season", safety="C"),
), accepts_quotes=True)


def _kids(sku, title, short, shape, colours, price, material, *, standard="FZ/T 81003-2003", season="all_season",
          **kw):
    return _garment(sku, "kids", title, short, shape, colours, price, sizes=KID_SIZES, material=material,
                    season=season, gender="children", standard=standard, chart=KID_CHART, moq=kw.pop("moq", 5),
                    steps=kw.pop("steps", ((20, 0.95), (50, 0.9))), caption=kw.pop("caption", "110-150"), stock=50,
                    **kw)


XIAOCHENGZI = DemoShop(APPAREL, "xiaochengzi-kids", 0.1, (
    _kids("XCZ-TX01", "儿童纯棉短袖T恤", "儿童T恤", "shirt", (("WH", "白色"), ("YL", "柠檬黄"), ("BL", "天蓝")), 1800,
          "棉 100%", standard="GB/T 22849-2014", season="spring_summer",
          description="A/B 类安全技术要求按 GB 31701-2015 检测；每码 5 件起批，可按尺码配货打包。"),
    _kids("XCZ-WY01", "儿童加绒卫衣", "儿童卫衣", "shirt", (("RD", "红色"), ("NV", "藏青"), ("GR", "灰色")), 3800,
          "棉 80%，聚酯纤维 20%", standard="FZ/T 73020-2019", season="autumn_winter"),
    _kids("XCZ-KZ01", "儿童加绒运动裤", "儿童运动裤", "trousers", (("BK", "黑色"), ("NV", "藏青")), 2800,
          "棉 70%，聚酯纤维 30%", season="autumn_winter"),
    _kids("XCZ-KZ02", "儿童弹力牛仔裤", "儿童牛仔裤", "trousers", (("LB", "浅蓝"), ("DB", "深蓝")), 3500,
          "棉 95%，氨纶 5%", standard="FZ/T 81006-2017"),
    _kids("XCZ-YR01", "儿童连帽羽绒服", "儿童羽绒服", "coat", (("RD", "红色"), ("PK", "粉色"), ("NV", "藏青")), 12800,
          "聚酯纤维 100%", standard="GB/T 14272-2021", season="autumn_winter", safety="C", care=CARE_DRYCLEAN,
          description="面料聚酯纤维 100%，填充 80% 白鸭绒；帽绳已按童装安全要求去除。"),
    _kids("XCZ-MF01", "儿童棉服外套", "儿童棉服", "coat", (("YL", "姜黄"), ("GN", "墨绿")), 6800, "聚酯纤维 100%",
          season="autumn_winter", safety="C"),
    _kids("XCZ-XF01", "校园风针织开衫", "校园开衫", "coat", (("NV", "藏青"), ("GR", "灰色")), 4800,
          "棉 60%，腈纶 40%", standard="FZ/T 73018-2021", season="autumn_winter"),
    _kids("XCZ-XF02", "校园风百褶裙", "百褶裙", "dress", (("NV", "藏青格"), ("RD", "红格")), 3800, "聚酯纤维 100%",
          season="all_season"),
    _kids("XCZ-XF03", "学院风纯棉衬衫", "学院衬衫", "shirt", (("WH", "白色"), ("BL", "浅蓝")), 3200, "棉 100%"),
    _kids("XCZ-QZ01", "女童碎花连衣裙", "女童连衣裙", "dress", (("PK", "粉色"), ("YL", "黄色")), 4200, "棉 100%",
          season="spring_summer"),
    _kids("XCZ-TZ01", "儿童家居服套装", "家居服套装", "shirt", (("BL", "蓝色"), ("PK", "粉色")), 3800,
          "棉 95%，氨纶 5%", standard="FZ/T 73020-2019", unit="set", caption="上衣+长裤"),
    _kids("XCZ-TZ02", "儿童运动套装", "运动套装", "coat", (("NV", "藏青"), ("RD", "红色")), 6800,
          "聚酯纤维 100%", standard="FZ/T 73020-2019", unit="set", caption="外套+长裤"),
    _kids("XCZ-NY01", "儿童纯棉内衣套装", "内衣套装", "shirt", (("WH", "白色"), ("BL", "浅蓝")), 2600, "棉 100%",
          standard="FZ/T 73045-2013", season="autumn_winter", unit="set", caption="秋衣秋裤"),
    _kids("XCZ-WZ12", "儿童纯棉袜（按打）", "童袜按打", "shoe", (("MX", "混色"),), 3600, "棉 80%，聚酰胺纤维 17%，氨纶 3%",
          standard="FZ/T 73045-2013", unit="dozen", moq=1, steps=((10, 0.95), (50, 0.9)), caption="12双/打"),
), mixed_batch_min_quantity=30)

SHOE_STEPS = ((36, 0.95), (120, 0.9))
WOMEN_SHOE_SIZES = ("35", "36", "37", "38", "39", "40")
MEN_SHOE_SIZES = ("39", "40", "41", "42", "43", "44")


def _shoe(sku, category, title, short, colours, price, *, upper, sole, gender, season="all_season",
          description="", caption=""):
    sizes = MEN_SHOE_SIZES if gender == "men" else WOMEN_SHOE_SIZES
    chart = "\n".join(f"{size} 脚长 {int(size) * 5 + 50 - 25 * 5}mm" for size in sizes)
    values = {"upper_material": upper, "sole_material": sole, "season": season, "gender": gender, "size_chart": chart}
    return DemoProduct(category, title, short, "shoe", grid(sku, sizes, colours, price, 36, steps=SHOE_STEPS),
                       values, p(description or "按双计价，6 双起批（可配码）；36 双、120 双起分别优惠，断码可调换。"),
                       "pair", 6, caption=caption or f"{sizes[0]}-{sizes[-1]} 码")


BUYUN = DemoShop(APPAREL, "buyun-shoes", 0.02, (
    _shoe("BY-W01", "womens-shoes", "女士软底单鞋", "软底单鞋", (("BK", "黑色"), ("BE", "米色")), 5800,
          upper="超纤皮革", sole="橡胶", gender="women"),
    _shoe("BY-W02", "womens-shoes", "女士乐福鞋", "乐福鞋", (("BK", "黑色"), ("BR", "棕色")), 7800, upper="头层牛皮",
          sole="橡胶", gender="women"),
    _shoe("BY-W03", "womens-shoes", "女士加绒短靴", "加绒短靴", (("BK", "黑色"), ("BR", "棕色")), 9800, upper="头层牛皮",
          sole="TPR", gender="women", season="autumn_winter"),
    _shoe("BY-W04", "womens-shoes", "女士小白鞋", "小白鞋", (("WH", "白色"), ("WP", "白粉")), 5200, upper="超纤皮革",
          sole="橡胶", gender="women"),
    _shoe("BY-W05", "womens-shoes", "女士雪地靴", "雪地靴", (("CM", "栗色"), ("BK", "黑色")), 8800, upper="反绒皮",
          sole="EVA", gender="women", season="autumn_winter"),
    _shoe("BY-M01", "mens-shoes", "男士商务皮鞋", "商务皮鞋", (("BK", "黑色"), ("BR", "棕色")), 11800,
          upper="头层牛皮", sole="橡胶", gender="men"),
    _shoe("BY-M02", "mens-shoes", "男士休闲板鞋", "休闲板鞋", (("WH", "白色"), ("BK", "黑色")), 6800, upper="超纤皮革",
          sole="橡胶", gender="men"),
    _shoe("BY-M03", "mens-shoes", "男士加绒棉鞋", "加绒棉鞋", (("BK", "黑色"), ("BR", "棕色")), 6200,
          upper="超纤皮革", sole="TPR", gender="men", season="autumn_winter"),
    _shoe("BY-M04", "mens-shoes", "男士工装马丁靴", "马丁靴", (("BK", "黑色"), ("YL", "黄棕")), 12800,
          upper="头层牛皮", sole="橡胶", gender="men", season="autumn_winter"),
    _shoe("BY-S01", "sports-shoes", "飞织透气跑步鞋", "跑步鞋", (("BK", "黑色"), ("GR", "灰色"), ("WH", "白色")), 6800,
          upper="飞织网布", sole="EVA＋橡胶", gender="men"),
    _shoe("BY-S02", "sports-shoes", "女士轻便运动鞋", "女士运动鞋", (("PK", "粉色"), ("WH", "白色")), 5800,
          upper="飞织网布", sole="EVA", gender="women"),
    _shoe("BY-S03", "sports-shoes", "男士篮球鞋", "篮球鞋", (("RD", "红黑"), ("WH", "白蓝")), 9800, upper="超纤皮革＋网布",
          sole="橡胶", gender="men"),
    _shoe("BY-S04", "sports-shoes", "户外徒步鞋", "徒步鞋", (("BR", "棕色"), ("GR", "灰色")), 10800, upper="反绒皮＋网布",
          sole="橡胶大底", gender="men"),
    _shoe("BY-S05", "sports-shoes", "女士老爹鞋", "老爹鞋", (("WH", "白色"), ("CM", "奶茶色")), 7200, upper="超纤皮革＋网布",
          sole="EVA", gender="women"),
), mixed_batch_min_amount=200000)

ACC_STEPS = ((12, 0.9), (60, 0.8))


def _accessory(sku, category, title, short, shape, rows, *, material, season="autumn_winter", care="",
               width=None, unit="piece", moq=1, steps=ACC_STEPS, description="", caption="", colours=None):
    values = {"material": material, "season": season}
    if care:
        values["care"] = care
    if width:
        values["width_cm"] = width
    if colours:  # one spec in several colours
        spec, price, stock = rows
        variants = tuple(DemoVariant(f"{sku}-{code}", price, stock, {"spec": spec, "colour": name},
                                     tiers(price, *steps)) for code, name in colours)
    else:
        variants = specs(sku, rows, steps=steps)
    return DemoProduct(category, title, short, shape, variants, values, p(description) if description else "", unit,
                       moq, caption=caption)


AMEI = DemoShop(APPAREL, "amei-accessories", 0.83, (
    _accessory("AM-SC01", "scarves-hats", "仿羊绒格子围巾", "格子围巾", "scarf", ("180×65cm", 2800, 60),
               colours=(("RD", "红格"), ("GR", "灰格"), ("CM", "驼格")), material="腈纶 100%", care=CARE_DELICATE,
               description="零售批发都做：单条零售价，12 条、60 条起批发价。"),
    _accessory("AM-SC02", "scarves-hats", "真丝小方巾", "真丝方巾", "scarf", ("53×53cm", 3800, 40),
               colours=(("FL", "印花"), ("BL", "蓝色")), material="桑蚕丝 100%", season="all_season",
               care=CARE_DELICATE),
    _accessory("AM-SC03", "scarves-hats", "纯色针织围巾", "针织围巾", "scarf", ("180×30cm", 2200, 80),
               colours=(("BK", "黑色"), ("WH", "米白"), ("WN", "酒红")), material="腈纶 70%，羊毛 30%"),
    _accessory("AM-HT01", "scarves-hats", "粗线针织毛线帽", "毛线帽", "hat", ("均码", 1500, 100),
               colours=(("BK", "黑色"), ("GR", "灰色"), ("CM", "燕麦色")), material="腈纶 100%"),
    _accessory("AM-HT02", "scarves-hats", "羊毛贝雷帽", "贝雷帽", "hat", ("均码 56-58cm", 2600, 60),
               colours=(("BK", "黑色"), ("WN", "酒红")), material="羊毛 100%"),
    _accessory("AM-HT03", "scarves-hats", "纯棉渔夫帽", "渔夫帽", "hat", ("均码", 1800, 80),
               colours=(("KH", "卡其"), ("BK", "黑色")), material="棉 100%", season="spring_summer"),
    _accessory("AM-HT04", "scarves-hats", "加绒护耳帽", "护耳帽", "hat", ("均码", 2200, 60),
               colours=(("GR", "灰色"), ("NV", "藏青")), material="聚酯纤维 100%"),
    _accessory("AM-GL01", "scarves-hats", "触屏针织手套", "针织手套", "hat", ("均码", 1200, 100),
               colours=(("BK", "黑色"), ("GR", "灰色")), material="腈纶 95%，氨纶 5%"),
    _accessory("AM-HA01", "accessories", "珍珠发夹套装", "珍珠发夹", "scarf", [("SET6", "6枚/套", 1500, 100)],
               material="合金、仿珍珠", season="all_season", unit="set"),
    _accessory("AM-HA02", "accessories", "大肠发圈（10个装）", "发圈", "scarf", [("P10", "10个/包", 1000, 150)],
               material="丝绒", season="all_season", unit="pack"),
    _accessory("AM-BG01", "bags", "帆布托特包", "帆布包", "handbag", ("38×35cm", 2500, 60),
               colours=(("WH", "米白"), ("BK", "黑色")), material="棉帆布", season="all_season"),
    _accessory("AM-BG02", "bags", "小号斜挎包", "斜挎包", "handbag", ("20×14cm", 4500, 40),
               colours=(("BK", "黑色"), ("BR", "焦糖"), ("WH", "奶白")), material="PU革", season="all_season"),
))

METRE_STEPS = ((50, 0.92), (200, 0.85))


def _fabric(sku, title, short, colours, price, *, material, width, season="all_season", description="",
            caption="", care=CARE_WASH):
    return _accessory(sku, "fabrics", title, short, "fabric", ("按米零剪", price, 500), colours=colours,
                      material=material, width=width, season=season, care=care, unit="metre", steps=METRE_STEPS,
                      description=description or "按米零剪，1 米起卖；50 米、200 米起批发价，整匹（约 100 米）请询价。",
                      caption=caption or f"门幅{width}cm")


HENGFANG = DemoShop(APPAREL, "hengfang-fabrics", 0.45, (
    _fabric("HF-CL01", "棉麻混纺面料", "棉麻面料", (("NT", "本白"), ("KH", "卡其"), ("GN", "豆绿")), 1800,
            material="亚麻 55%，棉 45%", width="145"),
    _fabric("HF-CF01", "雪纺面料（乔其）", "雪纺面料", (("WH", "白色"), ("PK", "浅粉"), ("BK", "黑色")), 1200,
            material="聚酯纤维 100%", width="150", season="spring_summer"),
    _fabric("HF-KN01", "精梳棉针织汗布", "针织汗布", (("WH", "白色"), ("BK", "黑色"), ("GR", "麻灰")), 2200,
            material="棉 95%，氨纶 5%", width="180"),
    _fabric("HF-DN01", "12 安牛仔布", "牛仔布", (("DB", "深蓝"), ("LB", "浅蓝")), 2600, material="棉 98%，氨纶 2%",
            width="150"),
    _fabric("HF-WL01", "双面羊毛呢面料", "羊毛呢", (("CM", "驼色"), ("BK", "黑色"), ("GR", "灰色")), 12800,
            material="羊毛 90%，聚酰胺纤维 10%", width="150", season="autumn_winter", care=CARE_DRYCLEAN),
    _fabric("HF-SK01", "真丝双绉面料", "真丝双绉", (("WH", "白色"), ("CH", "香槟")), 9800, material="桑蚕丝 100%",
            width="114", season="spring_summer", care=CARE_DELICATE),
    _fabric("HF-LN01", "涤纶里布", "涤纶里布", (("BK", "黑色"), ("WH", "白色"), ("CM", "米色")), 600,
            material="聚酯纤维 100%", width="150"),
    _fabric("HF-FL01", "摇粒绒面料", "摇粒绒", (("GR", "灰色"), ("NV", "藏青")), 1500, material="聚酯纤维 100%",
            width="160", season="autumn_winter"),
    _accessory("HF-BT01", "fabrics", "树脂四眼纽扣（100粒装）", "树脂纽扣", "fabric",
               [("15MM", "15mm 100粒", 1200, 300), ("20MM", "20mm 100粒", 1500, 200)], material="树脂",
               season="all_season", unit="pack", steps=((10, 0.9), (50, 0.8)), caption="100粒/包"),
    _accessory("HF-ZP01", "fabrics", "5号金属拉链", "金属拉链", "fabric",
               [("20", "20cm 闭尾", 150, 2000), ("60", "60cm 开尾", 400, 1000)], material="黄铜、涤纶布带",
               season="all_season", steps=((100, 0.9), (500, 0.8)), caption="5号铜拉链"),
    _accessory("HF-EL01", "fabrics", "服装松紧带", "松紧带", "fabric",
               [("2CM", "2cm宽 50米/卷", 1800, 200), ("3CM", "3cm宽 50米/卷", 2400, 150)], material="聚酯纤维 80%，氨纶 20%",
               season="all_season", unit="roll", steps=((10, 0.9), (50, 0.8)), caption="50米/卷"),
    _accessory("HF-LC01", "fabrics", "棉线蕾丝花边", "蕾丝花边", "fabric", ("宽3cm", 300, 2000),
               colours=(("WH", "白色"), ("CM", "米色")), material="棉 100%", season="all_season", unit="metre",
               steps=((50, 0.9), (200, 0.8)), caption="按米卖"),
), accepts_quotes=True)

APPAREL_SHOPS = (ZHIYUN_WHOLESALE, YISHANG, ZHUOFAN, XIAOCHENGZI, BUYUN, AMEI, HENGFANG)

#: Every demo shop's catalog, by tenant.
SHOPS: tuple[DemoShop, ...] = STREET_SHOPS + AGRI_SHOPS + APPAREL_SHOPS
