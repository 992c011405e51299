"""Bulk import and export of a shop's products: ``flask catalog import|export`` and the merchant console's upload.

Every fixture file is written by the test itself into its own folder: CSV in UTF-8 (with and without BOM) and
GBK, XLSX made with openpyxl, pictures made with Pillow.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import pytest
from openpyxl import Workbook, load_workbook
from PIL import Image
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.catalog.exporting import shop_table
from marketplace.catalog.importing import column_key, read_sheet
from marketplace.catalog.models import Product, Variant
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from tests.fixtures.factories import PASSWORD

HEADER = ["sku", "title", "price", "stock", "category"]


@dataclass
class Market:
    tenant: Tenant
    shop: Shop
    other_tenant: Tenant
    other_shop: Shop  # in the other tenant, with a slug this tenant does not have
    users: dict


@pytest.fixture
def market(make_tenant, make_shop, make_category, make_user) -> Market:
    tenant = make_tenant(slug="nongzi", kind="market", name_zh="农资市场")
    shop = make_shop(tenant, slug="green-farm", name_zh="绿野农资")
    make_category(tenant, slug="fruit", name_zh="水果", product_type="general.food")
    make_category(tenant, slug="tools", name_zh="农具", product_type="general.goods")
    make_category(tenant, slug="fertiliser", name_zh="复合肥", product_type="agri_inputs.fertiliser")
    make_category(tenant, slug="garment", name_zh="服装", product_type="apparel.garment")
    make_category(tenant, slug="pesticide", name_zh="农药", product_type="agri_inputs.pesticide")
    other = make_tenant(slug="other-street")
    other_shop = make_shop(other, slug="elsewhere", name_zh="别处小店")
    users = {
        "owner": make_user("owner@farm.example", role=Role.merchant_owner, shop=shop),
        "staff": make_user("staff@farm.example", role=Role.merchant_staff, shop=shop),
        "resident": make_user("resident@farm.example"),
    }
    return Market(tenant, shop, other, other_shop, users)


@pytest.fixture(autouse=True)
def _as_market(market):
    """The test reads the market's rows lazily (``variant.product``): keep its tenant current meanwhile."""
    with tenant_scope(market.tenant):
        yield


@pytest.fixture
def media_root(app, tmp_path, monkeypatch):
    root = tmp_path / "media"
    monkeypatch.setitem(app.config["MARKETPLACE"], "MEDIA_ROOT", str(root))
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", None)
    return root


@pytest.fixture
def cli(app, market):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    def import_(path, *flags: str):
        return invoke("catalog", "import", "--tenant", market.tenant.slug, "--shop", market.shop.slug, *flags,
                      str(path))

    invoke.import_ = import_
    invoke.export = lambda path: invoke("catalog", "export", "--tenant", market.tenant.slug, "--shop",
                                        market.shop.slug, str(path))
    return invoke


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_csv(path, rows: list[list], encoding: str = "utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(rows, encoding))
    return path


def products(market: Market) -> list[Product]:
    db.session.expire_all()
    with tenant_scope(market.tenant):
        return list(db.session.scalars(select(Product).where(Product.shop_id == market.shop.id).order_by(Product.id)))


def variant(market: Market, sku: str) -> Variant | None:
    db.session.expire_all()
    with tenant_scope(market.tenant):
        return catalog.variant_by_sku(market.shop, sku)


def reported(output: str) -> dict[int, str]:
    """Row number → everything the CLI said about that row."""
    rows: dict[int, str] = {}
    for number, rest in re.findall(r"^\s+第 (\d+) 行(.*)$", output, flags=re.M):
        rows[int(number)] = rows.get(int(number), "") + rest
    return rows


def table(market: Market):
    db.session.expire_all()
    with tenant_scope(market.tenant):
        return shop_table(market.shop)


def png(path, colour=(30, 160, 60)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), colour).save(path, format="PNG")
    return path


# -- the command line ---------------------------------------------------------------------------------------

def test_a_300_row_file_imports_every_row_and_says_so(cli, market, tmp_path):
    rows = [HEADER + ["unit", "moq", "tiers", "attr.brand", "option.spec"]]
    rows += [[f"FRT-{n:03d}", f"红富士苹果 {n} 号", f"{10 + n % 7}.50", str(n), "水果" if n % 2 else "fruit",
              "箱", "2", "10:9.00|50:8.50", "栖霞", f"{n} kg"] for n in range(300)]
    result = cli.import_(write_csv(tmp_path / "apples.csv", rows))

    assert result.exit_code == 0, result.output
    assert "新建 300 个商品，按 SKU 更新 0 个商品，拒绝 0 行" in result.output
    assert re.search(r"[\d.]+ 个商品/秒", result.output)
    imported = products(market)
    assert len(imported) == 300
    assert all(p.status == "draft" for p in imported)  # not put on sale without --publish
    apple = variant(market, "FRT-007")
    assert (apple.price, apple.stock, apple.options) == (1050, 7, {"spec": "7 kg"})
    assert [(t.min_quantity, t.unit_price) for t in apple.tiers] == [(10, 900), (50, 850)]
    assert (apple.product.title, apple.product.unit, apple.product.moq) == ("红富士苹果 7 号", "box", 2)
    assert apple.product.attributes == {"brand": "栖霞"} and apple.product.category.slug == "fruit"


def test_publish_puts_products_on_sale_unless_a_licence_is_missing(cli, market, tmp_path):
    label = {"pesticide_category": "杀虫剂（红色标志带）", "registration_no": "PD20080005",
             "production_licence_no": "农药生许（鲁）0123", "active_ingredient": "吡虫啉", "active_content_pct": "10",
             "formulation": "WP", "toxicity": "低毒", "use_scope": "水稻 稻飞虱", "net_content": "100 g",
             "manufacturer": "山东某农化有限公司"}
    refused = cli.import_(write_csv(tmp_path / "gated.csv", [
        HEADER + [f"attr.{name}" for name in label],
        ["PEAR-1", "砀山酥梨", "4.00", "10", "fruit", *[""] * len(label)],
        ["PD-1", "10%吡虫啉可湿性粉剂", "15.00", "10", "pesticide", *label.values()]]), "--publish")
    assert refused.exit_code == 1
    assert set(reported(refused.output)) == {3}  # complete label, but the shop has no verified licence
    assert "农药经营许可证" in reported(refused.output)[3]
    assert products(market) == []

    published = cli.import_(write_csv(tmp_path / "fruit.csv", [HEADER, ["PEAR-1", "砀山酥梨", "4.00", "10", "fruit"]]),
                            "--publish")
    assert published.exit_code == 0, published.output
    assert [p.status for p in products(market)] == ["active"]


BAD_ROWS = [
    HEADER + ["attr.n_pct", "attr.p2o5_pct", "attr.k2o_pct", "attr.total_nutrient_pct"],
    ["OK-1", "好苹果", "12.50", "5", "fruit", "", "", "", ""],  # row 2
    ["BAD-PRICE", "贵苹果", "12.345", "5", "fruit", "", "", "", ""],  # row 3
    ["BAD-STOCK", "负库存", "3.00", "-4", "fruit", "", "", "", ""],  # row 4
    ["BAD-CAT", "无分类", "3.00", "4", "no-such-category", "", "", "", ""],  # row 5
    ["NO-TITLE", "", "3.00", "4", "fruit", "", "", "", ""],  # row 6
    ["NPK-1", "复合肥 15-15-15", "150.00", "20", "fertiliser", "15", "15", "15", "40"],  # row 7: 15+15+15 ≠ 40
    ["OK-1", "重复的货号", "1.00", "1", "fruit", "", "", "", ""],  # row 8: same SKU as row 2
    ["OK-2", "好梨", "8.00", "9", "水果", "", "", "", ""],  # row 9
]


def test_a_file_with_bad_rows_writes_nothing_and_reports_every_bad_row(cli, market, tmp_path):
    result = cli.import_(write_csv(tmp_path / "bad.csv", BAD_ROWS))

    assert result.exit_code == 1
    assert products(market) == []
    assert "没有导入任何内容" in result.output and "拒绝 6 行" in result.output
    rows = reported(result.output)
    assert set(rows) == {3, 4, 5, 6, 7, 8}
    assert "[price]" in rows[3] and "12.345" in rows[3]
    assert "[stock]" in rows[4] and "库存不能为负" in rows[4]
    assert "[category]" in rows[5] and "找不到分类“no-such-category”" in rows[5]
    assert "[title]" in rows[6] and "请填写商品名称" in rows[6]
    assert "[attr.total_nutrient_pct]" in rows[7] and "总养分应等于" in rows[7]
    assert "[sku]" in rows[8] and "与第 2 行重复" in rows[8]


def test_partial_imports_the_good_rows_and_reports_the_rest(cli, market, tmp_path):
    result = cli.import_(write_csv(tmp_path / "bad.csv", BAD_ROWS), "--partial")

    assert result.exit_code == 0, result.output
    assert "新建 2 个商品，按 SKU 更新 0 个商品，拒绝 6 行" in result.output
    assert sorted(p.title for p in products(market)) == ["好梨", "好苹果"]
    assert set(reported(result.output)) == {3, 4, 5, 6, 7, 8}
    with tenant_scope(market.tenant):  # a refused row left nothing behind, not even a variant
        assert db.session.scalar(select(Variant).where(Variant.sku == "NPK-1")) is None


def test_gbk_csv_with_chinese_headers_keeps_chinese_titles(cli, market, tmp_path):
    rows = [["货号", "商品名称", "价格（元）", "库存", "分类", "描述", "属性.品牌"],
            ["GBK-1", "信阳毛尖·明前特级", "88.00", "12", "水果", "产自河南信阳", "文新"],
            ["GBK-2", "铁观音（浓香型）", "120", "3", "农具", "", ""]]
    result = cli.import_(write_csv(tmp_path / "excel-gbk.csv", rows, encoding="gbk"))

    assert result.exit_code == 0, result.output
    assert [(p.title, p.description, p.attributes) for p in products(market)] == [
        ("信阳毛尖·明前特级", "产自河南信阳", {"brand": "文新"}), ("铁观音（浓香型）", "", {})]
    assert variant(market, "GBK-2").price == 12000


def test_utf8_bom_csv_imports_and_the_bom_is_not_part_of_the_first_header(cli, market, tmp_path):
    path = write_csv(tmp_path / "bom.csv", [HEADER, ["BOM-1", "库尔勒香梨", "6.80", "30", "fruit"]],
                     encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfsku,")
    sheet = read_sheet(path.read_bytes(), path.name)
    assert sheet.columns[0] == "sku"

    result = cli.import_(path)
    assert result.exit_code == 0, result.output
    assert variant(market, "BOM-1").product.title == "库尔勒香梨"


def test_xlsx_imports_from_its_first_sheet(cli, market, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["SKU", "Title", "价格（元）", "Stock", "Category", "weight_g", "barcode"])
    sheet.append(["X-1", "苹果礼盒", 12.5, 40, "fruit", 2500, 6901234567892])
    sheet.append([1002, "梨", 7, 3.0, "水果", None, None])
    notes = workbook.create_sheet("说明")
    notes.append(["this sheet is ignored", "=1+1"])
    path = tmp_path / "goods.xlsx"
    workbook.save(path)

    result = cli.import_(path)
    assert result.exit_code == 0, result.output
    box = variant(market, "X-1")
    assert (box.price, box.stock, box.weight_g, box.barcode) == (1250, 40, 2500, "6901234567892")
    assert (variant(market, "1002").price, variant(market, "1002").stock) == (700, 3)


def test_images_are_imported_from_beside_the_file(cli, market, tmp_path, media_root):
    png(tmp_path / "pics" / "apple.png")
    png(tmp_path / "pics" / "apple-back.png", colour=(200, 30, 30))
    path = write_csv(tmp_path / "with-images.csv", [
        HEADER + ["images"], ["IMG-1", "带图苹果", "5.00", "1", "fruit", "pics/apple.png | pics/apple-back.png"]])

    result = cli.import_(path)
    assert result.exit_code == 0, result.output
    product = variant(market, "IMG-1").product
    assert len(product.images) == 2
    assert all(image.width == 64 and image.height == 48 for image in product.images)
    assert any(media_root.rglob(f"{product.images[0].sha256}*"))

    again = cli.import_(path)  # the same pictures are not added twice
    assert again.exit_code == 0, again.output
    assert len(variant(market, "IMG-1").product.images) == 2


def test_an_image_path_leaving_the_files_folder_is_refused(cli, market, tmp_path, media_root):
    png(tmp_path / "secret.png")
    path = write_csv(tmp_path / "upload" / "goods.csv", [
        HEADER + ["images"],
        ["ESC-1", "越界图片", "5.00", "1", "fruit", "../secret.png"],
        ["ESC-2", "绝对路径", "5.00", "1", "fruit", str(tmp_path / "secret.png")],
        ["ESC-3", "不存在的图", "5.00", "1", "fruit", "missing.png"],
    ])

    result = cli.import_(path)
    assert result.exit_code == 1
    rows = reported(result.output)
    assert "超出了表格所在的文件夹" in rows[2] and "超出了表格所在的文件夹" in rows[3]
    assert "找不到图片文件" in rows[4]
    assert products(market) == []


def test_reimport_updates_by_sku(cli, market, tmp_path):
    first = cli.import_(write_csv(tmp_path / "v1.csv", [HEADER + ["description"],
                                                        ["UP-1", "苹果", "5.00", "10", "fruit", "脆甜"],
                                                        ["UP-2", "梨", "4.00", "10", "fruit", "多汁"]]))
    assert first.exit_code == 0, first.output
    ids = [p.id for p in products(market)]

    # A file without the description column keeps the descriptions; the one it has changes what it says.
    second = cli.import_(write_csv(tmp_path / "v2.csv", [HEADER, ["UP-1", "红苹果", "5.50", "8", "fruit"],
                                                          ["UP-3", "桃", "6.00", "2", "fruit"]]))
    assert second.exit_code == 0, second.output
    assert "新建 1 个商品，按 SKU 更新 1 个商品，拒绝 0 行" in second.output
    apple = variant(market, "UP-1")
    assert (apple.product_id, apple.product.title, apple.price, apple.stock) == (ids[0], "红苹果", 550, 8)
    assert apple.product.description == "脆甜"
    assert len(products(market)) == 3


def test_rows_sharing_a_product_key_become_variants_of_one_product(cli, market, tmp_path):
    rows = [["product", *HEADER, "option.size", "option.colour", "attr.material", "tiers"],
            ["T100", "T100-S", "纯棉T恤", "29.00", "50", "garment", "S", "白", "棉 100%", "10:25.00|100:22.00"],
            ["T100", "T100-M", "", "29.00", "40", "", "M", "白", "", ""],
            ["T100", "T100-L", "纯棉T恤", "31.00", "0", "服装", "L", "黑", "", "20:28.00"]]
    result = cli.import_(write_csv(tmp_path / "shirts.csv", rows))

    assert result.exit_code == 0, result.output
    assert "新建 1 个商品" in result.output
    (shirt,) = products(market)
    assert [(v.sku, v.options, v.price) for v in shirt.variants] == [
        ("T100-S", {"size": "S", "colour": "白"}, 2900), ("T100-M", {"size": "M", "colour": "白"}, 2900),
        ("T100-L", {"size": "L", "colour": "黑"}, 3100)]
    assert shirt.attributes == {"material": "棉 100%"}


def test_export_then_import_is_a_round_trip(cli, market, tmp_path, make_product, app):
    rows = [["product", *HEADER, "compare_at_price", "unit", "moq", "tiers", "barcode", "weight_g", "description",
             "option.size", "option.colour", "attr.material", "attr.season", "attr.n_pct", "attr.p2o5_pct",
             "attr.k2o_pct", "attr.total_nutrient_pct", "attr.fertiliser_kind", "attr.brand"],
            ["", "NPK-45", "复合肥 15-15-15", "150.00", "20", "fertiliser", "168.00", "袋", "2", "10:140.00", "",
             "40000", "<p>氮磷钾<b>平衡</b></p>", "", "", "", "", "15", "15", "15", "45", "复合（混）肥料", ""],
            ["P1", "POLO-S", "-20% 特价 Polo", "59.90", "5", "garment", "", "件", "", "", "6901234567892", "300",
             "", "S", "藏青", "棉 95%，氨纶 5%", "春夏", "", "", "", "", "", ""],
            ["P1", "POLO-M", "", "59.90", "0", "", "", "", "", "", "", "", "", "M", "藏青", "", "", "", "", "", "", "",
             ""],
            ["", "TOOL-1", "=HYPERLINK(\"http://evil.example\")", "30.00", "3", "tools", "", "", "", "", "", "", "",
             "", "", "", "", "", "", "", "", "", "@SUM(1+1)"]]
    assert cli.import_(write_csv(tmp_path / "start.csv", rows)).exit_code == 0
    before = table(market)

    for name in ("export.csv", "export.xlsx"):
        exported = cli.export(tmp_path / name)
        assert exported.exit_code == 0, exported.output
        again = cli.import_(tmp_path / name)
        assert again.exit_code == 0, again.output
        assert "新建 0 个商品，按 SKU 更新 3 个商品，拒绝 0 行" in again.output
        assert table(market) == before, name
    assert len(products(market)) == 3


def test_exported_cells_cannot_run_as_formulas(cli, market, tmp_path, make_product):
    with tenant_scope(market.tenant):
        tools = catalog.category_by_slug_or_name("tools")
    make_product(market.shop, category=tools, title="=HYPERLINK(\"http://evil.example\",\"点我\")", sku="EVIL-1",
                 attributes={"brand": "+cmd|' /C calc'!A0", "model": "@SUM(1)"})

    assert cli.export(tmp_path / "out.csv").exit_code == 0
    data = (tmp_path / "out.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese right
    (header, row) = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    cells = dict(zip(header, row, strict=True))
    assert cells["title"] == "'=HYPERLINK(\"http://evil.example\",\"点我\")"
    assert cells["attr.brand"] == "'+cmd|' /C calc'!A0" and cells["attr.model"] == "'@SUM(1)"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)

    assert cli.export(tmp_path / "out.xlsx").exit_code == 0
    sheet = load_workbook(tmp_path / "out.xlsx").worksheets[0]
    values = {sheet.cell(1, c).value: sheet.cell(2, c) for c in range(1, sheet.max_column + 1)}
    assert values["title"].value == "'=HYPERLINK(\"http://evil.example\",\"点我\")"
    assert values["title"].data_type == "s" and values["attr.brand"].data_type == "s"
    assert values["attr.model"].value == "'@SUM(1)"

    assert cli.import_(tmp_path / "out.xlsx").exit_code == 0  # and the quote is dropped again on import
    assert variant(market, "EVIL-1").product.title == "=HYPERLINK(\"http://evil.example\",\"点我\")"


def test_unknown_columns_and_missing_required_ones_refuse_the_file(cli, market, tmp_path):
    typo = cli.import_(write_csv(tmp_path / "typo.csv", [["sku", "title", "prcie", "stock", "category"],
                                                         ["A", "苹果", "1", "1", "fruit"]]))
    assert typo.exit_code != 0 and "无法识别的列：prcie" in typo.output
    missing = cli.import_(write_csv(tmp_path / "missing.csv", [["sku", "title", "stock"], ["A", "苹果", "1"]]))
    assert missing.exit_code != 0 and "缺少必填的列：price、category" in missing.output
    assert products(market) == []


def test_the_template_is_documented_and_readable(app):
    from marketplace.console.imports import TEMPLATE

    data = TEMPLATE.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header = records[0]
    assert {"sku", "title", "price", "stock", "category"} <= set(header)
    assert all(column_key(name) for name in header)
    notes = [r for r in records[1:] if r[0].startswith("#")]
    assert len(notes) == len(records) - 1  # every other row is a note the importer skips
    assert any("必填" in cell for cell in notes[0]) and any("Required" in cell for cell in notes[1])


# -- the merchant console -----------------------------------------------------------------------------------

@pytest.fixture
def browser(make_client, market):
    def signed_in(role: str):
        client = make_client()
        client.login(market.users[role].email, PASSWORD)
        return client

    return signed_in


def import_url(market: Market, path: str = "") -> str:
    return f"/merchant/{market.tenant.slug}/{market.shop.slug}/import/{path}"


def upload(client, market, data: bytes, name: str = "goods.csv", **fields):
    return client.submit(import_url(market), {"file": (io.BytesIO(data), name), **fields})


def test_owner_uploads_a_spreadsheet_in_the_console(browser, market):
    owner = browser("owner")
    page = owner.get(import_url(market))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and "attr.total_nutrient_pct" in html  # the column guide

    bad = upload(owner, market, csv_bytes(BAD_ROWS))
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "没有导入任何内容" in html
    for number in (3, 4, 5, 6, 7, 8):
        assert f"<td>{number}</td>" in html
    assert "找不到分类“no-such-category”" in html and "与第 2 行重复" in html
    assert products(market) == []

    good = upload(owner, market, csv_bytes([HEADER, ["WEB-1", "网页导入的苹果", "3.20", "7", "fruit"]],
                                           encoding="gbk"), publish="y")
    assert good.status_code == 200, good.get_data(as_text=True)[:2000]
    assert "导入完成" in good.get_data(as_text=True)
    (apple,) = products(market)
    assert apple.title == "网页导入的苹果" and apple.status == "active"


def test_staff_may_import_and_partial_keeps_the_good_rows(browser, market):
    response = upload(browser("staff"), market, csv_bytes(BAD_ROWS), partial="y")
    assert response.status_code == 200
    assert "部分导入" in response.get_data(as_text=True)
    assert sorted(p.title for p in products(market)) == ["好梨", "好苹果"]


def test_console_refuses_image_paths_and_unreadable_or_oversized_files(browser, market):
    owner = browser("owner")
    pictures = upload(owner, market, csv_bytes([HEADER + ["images"], ["P-1", "苹果", "1", "1", "fruit", "a.png"]]))
    assert pictures.status_code == 400 and "打包成 ZIP" in pictures.get_data(as_text=True)

    long = upload(owner, market, csv_bytes([HEADER] + [[f"L-{n}", "苹果", "1", "1", "fruit"] for n in range(1001)]))
    assert long.status_code == 400 and "一次最多导入 1000 行" in long.get_data(as_text=True)

    xls = upload(owner, market, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, name="old.xls")
    assert xls.status_code == 400 and "另存为 .xlsx" in xls.get_data(as_text=True)

    # Built by hand: Werkzeug's test client spools a large body to a temporary file and never closes it.
    environ = EnvironBuilder(import_url(market), method="POST", data={
        "csrf_token": owner.csrf_token(import_url(market)),
        "file": (io.BytesIO(b"sku,title,price,stock,category\r\n" + b"x" * (5 * 1024 * 1024 + 10)), "big.csv"),
    }).get_environ()
    try:
        huge = owner.open(environ)
    finally:
        environ["wsgi.input"].close()
    assert huge.status_code == 400 and "最多 5 MB" in huge.get_data(as_text=True)
    assert products(market) == []


def test_template_and_exports_download(browser, market, make_product):
    with tenant_scope(market.tenant):
        fruit = catalog.category_by_slug_or_name("fruit")
    make_product(market.shop, category=fruit, title="哈密瓜", sku="MELON-1", price=1999)
    owner = browser("owner")

    template = owner.get(import_url(market, "template"))
    assert template.status_code == 200 and "attachment" in template.headers["Content-Disposition"]
    assert template.data.startswith(b"\xef\xbb\xbfproduct,sku,title")

    exported = owner.get(import_url(market, "export.csv"))
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "MELON-1,哈密瓜,fruit,19.99" in exported.data.decode("utf-8-sig")

    workbook = owner.get(import_url(market, "export.xlsx"))
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.data)).worksheets[0]
    assert [c.value for c in sheet[2]][1:4] == ["MELON-1", "哈密瓜", "fruit"]


@pytest.mark.parametrize("path", ["", "template", "export.csv", "export.xlsx"])
def test_a_resident_is_refused_and_another_tenants_shop_is_not_found(browser, market, make_client, path):
    assert browser("resident").get(import_url(market, path)).status_code == 403
    assert make_client().get(import_url(market, path)).status_code == 302  # signed out: to the login page
    other = f"/merchant/{market.tenant.slug}/{market.other_shop.slug}/import/{path}"
    assert browser("owner").get(other).status_code == 404


def test_a_resident_cannot_upload(browser, market):
    resident = browser("resident")
    token = resident.csrf_token("/account/login")
    response = resident.post(import_url(market), data={
        "csrf_token": token, "file": (io.BytesIO(csv_bytes([HEADER, ["R-1", "苹果", "1", "1", "fruit"]])), "a.csv")})
    assert response.status_code == 403
    assert products(market) == []


# -- a ZIP of a spreadsheet and its pictures ---------------------------------------------------------------

def zip_bytes(files: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def png_bytes(colour=(30, 160, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_zip_of_a_sheet_and_its_pictures_imports_with_images_in_the_console(browser, market, media_root):
    sheet = csv_bytes([HEADER + ["images"], ["ZIP-1", "打包的苹果", "6.00", "9", "fruit", "pics/apple.png"],
                       ["ZIP-2", "打包的梨", "5.00", "9", "fruit", "pics/pear.png|pics/apple.png"]])
    archive = zip_bytes({"shop/goods.csv": sheet, "shop/pics/apple.png": png_bytes(),
                         "shop/pics/pear.png": png_bytes((200, 200, 40))})
    response = upload(browser("owner"), market, archive, name="goods.zip", publish="y")
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    pear = variant(market, "ZIP-2").product
    assert pear.status == "active" and len(pear.images) == 2 and len(variant(market, "ZIP-1").product.images) == 1


@pytest.mark.parametrize(("files", "message"), [
    ({"goods.csv": b"", "more.xlsx": b""}, "恰好有一个表格文件"),
    ({"pics/a.png": b""}, "恰好有一个表格文件"),
])
def test_a_zip_needs_exactly_one_sheet(browser, market, files, message):
    response = upload(browser("owner"), market, zip_bytes(files), name="goods.zip")
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_a_zip_picture_path_cannot_leave_the_sheets_folder(browser, market, media_root):
    sheet = csv_bytes([HEADER + ["images"], ["ZIP-3", "越界", "6.00", "9", "fruit", "../secret.png"],
                       ["ZIP-4", "不存在", "6.00", "9", "fruit", "pics/none.png"]])
    archive = zip_bytes({"shop/goods.csv": sheet, "secret.png": png_bytes()})
    response = upload(browser("owner"), market, archive, name="goods.zip")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "超出了压缩包中表格所在的文件夹" in html and "压缩包里找不到图片" in html
    assert products(market) == []


def test_a_broken_or_bomb_zip_is_refused(browser, market):
    import zipfile

    owner = browser("owner")
    broken = upload(owner, market, b"PK\x03\x04 not really a zip", name="goods.zip")
    assert broken.status_code == 400 and "不是 ZIP 文件" in broken.get_data(as_text=True)
    buffer = io.BytesIO()  # 600 MB of zeros packs into well under a megabyte
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("goods.csv", b"sku,title,price,stock,category\r\n")
        with archive.open("zeros.bin", "w", force_zip64=True) as handle:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(600):
                handle.write(chunk)
    environ = EnvironBuilder(import_url(market), method="POST", data={  # closed by hand: see the test above
        "csrf_token": owner.csrf_token(import_url(market)), "file": (io.BytesIO(buffer.getvalue()), "goods.zip"),
    }).get_environ()
    try:
        bomb = owner.open(environ)
    finally:
        environ["wsgi.input"].close()
    assert bomb.status_code == 400 and "压缩包太大" in bomb.get_data(as_text=True)


def test_the_command_line_imports_a_zip_too(cli, market, tmp_path, media_root):
    path = tmp_path / "goods.zip"
    path.write_bytes(zip_bytes({"goods.csv": csv_bytes([HEADER + ["images"],
                                                        ["ZIP-5", "命令行打包", "6.00", "9", "fruit", "a.png"]]),
                                "a.png": png_bytes()}))
    result = cli.import_(path)
    assert result.exit_code == 0, result.output
    assert len(variant(market, "ZIP-5").product.images) == 1


@pytest.mark.parametrize("stock", ["Infinity", "1e2000000", "-NaN"])
def test_absurd_numbers_in_cells_are_row_errors(cli, market, tmp_path, stock):
    result = cli.import_(write_csv(tmp_path / "odd.csv", [HEADER, ["ODD-1", "苹果", "1.00", stock, "fruit"]]))
    assert result.exit_code == 1 and "第 2 行" in result.output and "Traceback" not in result.output
    assert products(market) == []


def test_a_damaged_picture_in_a_zip_is_a_row_error(browser, market, media_root):
    archive = bytearray(zip_bytes({"goods.csv": csv_bytes([HEADER + ["images"],
                                                          ["ZIP-9", "坏图", "6.00", "9", "fruit", "a.png"]]),
                                   "a.png": png_bytes() * 4}))
    index = archive.find(b"PK\x03\x04", 10) + 60  # inside the second entry's compressed bytes: the picture
    archive[index:index + 20] = b"\xff" * 20
    response = upload(browser("owner"), market, bytes(archive), name="goods.zip")
    assert response.status_code == 400
    assert products(market) == []


def test_an_xlsx_that_unpacks_to_a_bomb_is_refused(market):
    import zipfile

    from marketplace.catalog.importing import ImportFileError

    buffer = io.BytesIO()
    with (zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
          archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as handle):
        for _ in range(600):
            handle.write(b"\0" * (1024 * 1024))
    with pytest.raises(ImportFileError, match="压缩包太大"):
        read_sheet(buffer.getvalue(), "goods.xlsx")
