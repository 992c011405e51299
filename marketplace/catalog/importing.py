"""Bulk import of a shop's products from the spreadsheet its merchant already keeps (CSV or XLSX).

Three steps, each usable on its own (the CLI and the merchant console call all three):

1. ``read_sheet(data, filename)`` reads the bytes into a ``Sheet``: header names mapped to our columns, one
   ``SheetRow`` per data row with its row number as the spreadsheet shows it (the header is row 1). CSV may
   be UTF-8 (with or without BOM) or GBK/GB18030, as Excel in China writes it; XLSX is read from its first
   sheet. A file we cannot read at all raises ``ImportFileError``.
2. ``import_sheet(shop, sheet, …)`` checks every row — cell formats first, then the catalog's own rules by
   writing each product inside a savepoint — and writes the good ones. All-or-nothing by default: if any
   row is refused, everything is rolled back and the report lists every refused row with its reasons;
   with ``partial=True`` the good rows stay. It flushes; the caller commits.
3. The returned ``ImportReport`` says what was created, updated (matched by SKU) and refused, and how fast.

The file format (also in docs/merchants.md and in the template, import_template.csv):

* required columns ``sku``, ``title``, ``price`` (yuan, "12.50"), ``stock``, ``category`` (slug or zh name);
* optional ``product``, ``compare_at_price``, ``description``, ``unit``, ``moq``, ``barcode``, ``weight_g``,
  ``images`` (paths relative to the file, ``|``-separated), ``tiers`` (``10:10.50|100:9.80``),
  ``attr.<name>`` per product-type attribute and ``option.<name>`` per variant option; Chinese header names
  are accepted too (see ``COLUMN_ALIASES``);
* one row is one variant. Rows with the same ``product`` key are the variants of one product: its
  product-level cells are read from the group's first row (later rows leave them empty or repeat them);
  a row with no ``product`` key is a product of its own;
* a SKU the shop already has updates that variant and its product; a new SKU creates. A column present in
  the file sets its value (an empty cell clears it or restores the default); a column left out of the file
  keeps what is on record. Import never deletes variants or images: ``images`` adds pictures;
* a row whose first cell starts with ``#`` is a note and is skipped; blank rows are skipped.
"""

from __future__ import annotations

import csv
import io
import posixpath
import time
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.catalog import packs
from marketplace.catalog import services as catalog
from marketplace.catalog.models import UNITS, Category, Product, Variant
from marketplace.core.money import AmountInvalid, parse_amount
from marketplace.extensions import db
from marketplace.media.images import ImageRejected, ingest_image
from marketplace.tenancy.context import current_tenant

#: Our column names, each with the other names a header may use (compared after ``_normalise``).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "product": ("款号", "商品组"),
    "sku": ("货号", "商品编码", "sku编码"),
    "title": ("商品名称", "名称", "标题"),
    "category": ("分类", "类目"),
    "price": ("价格", "售价", "单价", "价格(元)", "售价(元)"),
    "compare_at_price": ("原价", "划线价", "原价(元)"),
    "stock": ("库存",),
    "unit": ("单位", "计量单位"),
    "moq": ("起订量", "最小起订量"),
    "tiers": ("阶梯价",),
    "barcode": ("条码", "条形码"),
    "weight_g": ("重量(克)", "重量(g)", "重量"),
    "description": ("描述", "商品描述", "详情"),
    "images": ("图片",),
}
REQUIRED_COLUMNS = ("sku", "title", "price", "stock", "category")
#: Prefixes of the per-type columns: ``attr.<attribute>`` and ``option.<option>``, also in Chinese.
ATTRIBUTE_PREFIXES = ("attr.", "属性.")
OPTION_PREFIXES = ("option.", "选项.", "规格.")
#: Columns that describe the product rather than one variant: read from the first row of a group.
PRODUCT_COLUMNS = ("title", "category", "description", "unit", "moq")

#: Data rows one import takes (the console asks for fewer: a web request should not run for minutes).
MAX_ROWS = 5000
MAX_COLUMNS = 300
#: This many blank rows in a row end the sheet.
MAX_BLANK_RUN = 1000
#: The characters a spreadsheet may read as the start of a formula; exports put a ' in front of them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (format, encoding, header); the message is for the merchant."""


@dataclass
class SheetRow:
    #: The row number the spreadsheet shows (the header is row 1).
    number: int
    #: Column key ("sku", "attr.brand", "option.size"…) → cell text, stripped; only columns the file has.
    cells: dict[str, str]

    def get(self, key: str) -> str:
        return self.cells.get(key, "")


@dataclass
class Sheet:
    columns: list[str]
    rows: list[SheetRow]

    def has(self, key: str) -> bool:
        return key in self.columns


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str  # "" when the reason concerns the row as a whole
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0  # products
    updated: int = 0  # products, found by SKU
    images: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)
    #: Whether the import wrote anything: false when an all-or-nothing import found a bad row.
    written: bool = True
    seconds: float = 0.0

    @property
    def rejected(self) -> int:
        return len(self.rejected_rows)

    @property
    def rate(self) -> float:
        """Products written per second."""
        done = self.created + self.updated
        return done / self.seconds if self.seconds > 0 else 0.0

    def problems_by_row(self) -> list[tuple[int, list[RowProblem]]]:
        rows: dict[int, list[RowProblem]] = {}
        for problem in sorted(self.problems, key=lambda p: p.row):
            rows.setdefault(problem.row, []).append(problem)
        return list(rows.items())


# -- reading the file ---------------------------------------------------------------------------------------

def _normalise(header: str) -> str:
    """Header names compare without case, spaces or full-width forms: "价格（元）" is "价格(元)"."""
    return "".join(unicodedata.normalize("NFKC", header).lower().split())


_ALIASES = {_normalise(alias): key for key, aliases in COLUMN_ALIASES.items() for alias in (key, *aliases)}


def column_key(header: str) -> str | None:
    """Our key for a header cell, or None when we do not know it."""
    name = _normalise(header)
    if name in _ALIASES:
        return _ALIASES[name]
    for prefixes, kind in ((ATTRIBUTE_PREFIXES, "attr."), (OPTION_PREFIXES, "option.")):
        for prefix in prefixes:
            if name.startswith(_normalise(prefix)) and len(name) > len(_normalise(prefix)):
                return kind + name[len(_normalise(prefix)):]
    return None


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious ".0", dates as ISO, a leading ' before a formula character
    dropped (our exports add it), NUL bytes removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).replace("\x00", "").strip()
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_START:
        text = text[1:]
    return text


def read_sheet(data: bytes, filename: str = "", *, max_rows: int = MAX_ROWS) -> Sheet:
    """Read CSV or XLSX bytes (told apart by content, not by name) into a ``Sheet`` of at most ``max_rows``."""
    if data.startswith(b"PK\x03\x04"):
        records = _xlsx_records(data)
        try:
            return _sheet_from(records, max_rows)
        finally:
            records.close()  # the workbook, also when the sheet is refused half-way
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。"))
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError(_("文件不是有效的 xlsx 表格，请在 Excel 中重新保存后再导入。"))
    return _sheet_from(_csv_records(data), max_rows)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # strict: a GBK file almost never decodes as UTF-8
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a superset of GBK and GB2312, which Excel in China writes
    except UnicodeDecodeError:
        raise ImportFileError(_("无法识别文件的编码，请另存为“CSV UTF-8”或 xlsx 后再导入。")) from None


def _csv_records(data: bytes) -> Iterable[list[Any]]:
    text = _decode(data).replace("\x00", "")
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        delimiter = "\t" if "\t" in first_line else (";" if ";" in first_line else ",")
    try:
        # One record per spreadsheet row, even when a quoted cell holds line breaks.
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise ImportFileError(_("CSV 文件格式有误：%(error)s", error=str(error))) from None


def _xlsx_records(data: bytes) -> Iterator[list[Any]]:
    """The first sheet's rows (not the active sheet's: Excel saves whichever was open), read as they are asked for."""
    from openpyxl import load_workbook

    _refuse_zip_bomb(data)  # an xlsx file is a ZIP archive too
    workbook = None
    try:
        with warnings.catch_warnings():
            # Files from other programs carry extensions openpyxl does not read (data validation, …); harmless.
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not workbook.worksheets:
            raise ImportFileError(_("表格中没有工作表。"))
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield list(values[:MAX_COLUMNS])
    except ImportFileError:
        raise
    except Exception as error:  # an uploaded file may be broken in any way the zip or XML layers can find
        current_app.logger.info("unreadable xlsx upload: %r", error)
        raise ImportFileError(_("无法读取这个 xlsx 文件，请在 Excel 中重新保存后再导入。")) from None
    finally:
        if workbook is not None:
            workbook.close()


def _sheet_from(records: Iterable[list[Any]], max_rows: int) -> Sheet:
    columns: list[str | None] | None = None
    rows: list[SheetRow] = []
    blank_run = 0
    for number, record in enumerate(records, start=1):
        texts = [cell_text(value) for value in record]
        blank_run = 0 if any(texts) else blank_run + 1
        if blank_run > MAX_BLANK_RUN:
            break  # the formatted but empty tail some sheets drag along, up to row 1,048,576
        if not any(texts) or texts[0].startswith("#"):
            continue  # blank rows and notes
        if columns is None:
            columns = _header(texts, number)
            continue
        cells = {key: texts[index] if index < len(texts) else "" for index, key in enumerate(columns) if key}
        rows.append(SheetRow(number, cells))
        if len(rows) > max_rows:
            raise ImportFileError(_("一次最多导入 %(n)d 行，请把文件拆开分批导入。", n=max_rows))
    if columns is None:
        raise ImportFileError(_("文件是空的：第一行应为表头（sku、title、price、stock、category…）。"))
    if not rows:
        raise ImportFileError(_("文件只有表头，没有商品行。"))
    return Sheet([key for key in columns if key], rows)


def _header(texts: list[str], number: int) -> list[str | None]:
    keys: list[str | None] = []
    unknown, repeated = [], []
    for text in texts:
        if not text:
            keys.append(None)  # an unnamed column (often an empty one Excel kept): ignored
            continue
        key = column_key(text)
        if key is None:
            unknown.append(text)
        elif key in keys:
            repeated.append(text)
        keys.append(key)
    if unknown:
        raise ImportFileError(_("第 %(row)d 行（表头）有无法识别的列：%(names)s。可用的列见导入模板的说明。",
                                row=number, names="、".join(unknown)))
    if repeated:
        raise ImportFileError(_("第 %(row)d 行（表头）有重复的列：%(names)s。", row=number, names="、".join(repeated)))
    missing = [key for key in REQUIRED_COLUMNS if key not in keys]
    if missing:
        raise ImportFileError(_("缺少必填的列：%(names)s。", names="、".join(missing)))
    return keys


# -- where pictures come from -------------------------------------------------------------------------------

class ImageSource:
    """Reads the pictures an ``images`` cell names. This one has none: every path is refused."""

    def problem(self, path: str) -> str | None:
        """Why ``path`` cannot be used, or None."""
        return _("只上传表格时不能带图片：请把表格和图片一起打包成 ZIP 上传，或在商品页上传图片。")

    def read(self, path: str) -> bytes:
        raise ImageRejected(self.problem(path) or "", "unsupported_format")


class FolderImages(ImageSource):
    """Pictures in the spreadsheet's folder or below it; a path that leads out of it is refused."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()

    def _resolve(self, path: str) -> Path | None:
        relative = Path(path.replace("\\", "/"))
        if relative.is_absolute() or relative.drive:
            return None
        # resolve() follows symbolic links too, so a link pointing out of the folder is refused as well.
        target = (self.folder / relative).resolve()
        return target if target.is_relative_to(self.folder) else None

    def problem(self, path: str) -> str | None:
        target = self._resolve(path)
        if target is None:
            return _("图片路径“%(path)s”超出了表格所在的文件夹，只能引用该文件夹及其子文件夹中的图片。", path=path)
        if not target.is_file():
            return _("找不到图片文件“%(path)s”（路径相对于表格所在的文件夹）。", path=path)
        return None

    def read(self, path: str) -> bytes:
        target = self._resolve(path)
        if target is None or not target.is_file():
            raise ImageRejected(self.problem(path) or "", "unsupported_format")
        limit = current_app.config["MARKETPLACE"]["MEDIA_MAX_UPLOAD_BYTES"]
        with open(target, "rb") as handle:
            return handle.read(limit + 1)  # no more than the media pipeline accepts; it refuses larger


class ZipImages(ImageSource):
    """Pictures packed in the same ZIP file as the spreadsheet, named relative to the spreadsheet's folder."""

    def __init__(self, archive: zipfile.ZipFile, base: str):
        self.archive = archive
        self.base = base
        self.names = {info.filename for info in archive.infolist() if not info.is_dir()}

    def _name(self, path: str) -> str | None:
        relative = path.replace("\\", "/")
        if relative.startswith("/") or ":" in relative:
            return None
        name = posixpath.normpath(posixpath.join(self.base, relative))
        inside = name.startswith(self.base + "/") if self.base else not (name.startswith("../") or name == "..")
        return name if inside else None

    def problem(self, path: str) -> str | None:
        name = self._name(path)
        if name is None:
            return _("图片路径“%(path)s”超出了压缩包中表格所在的文件夹。", path=path)
        if name not in self.names:
            return _("压缩包里找不到图片“%(path)s”（路径相对于表格所在的文件夹）。", path=path)
        return None

    def read(self, path: str) -> bytes:
        if self.problem(path):
            raise ImageRejected(self.problem(path) or "", "unsupported_format")
        limit = current_app.config["MARKETPLACE"]["MEDIA_MAX_UPLOAD_BYTES"]
        try:
            with self.archive.open(self._name(path)) as handle:
                return handle.read(limit + 1)  # never more than the media pipeline accepts, whatever the header says
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, zlib.error, EOFError):
            raise ImageRejected(_("压缩包中的图片“%(path)s”已损坏或已加密。", path=path), "corrupt") from None


#: A ZIP may hold this many entries, unpacking to at most this much: enough for a shop, not for a zip bomb.
MAX_ZIP_ENTRIES = 2000
MAX_ZIP_UNPACKED = 500 * 1024 * 1024
MAX_SHEET_BYTES = 5 * 1024 * 1024


def _refuse_zip_bomb(data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a ZIP (an upload, or an xlsx file) after checking what it would unpack to."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise ImportFileError(_("压缩包已损坏或不是 ZIP 文件。")) from None
    if len(entries) > MAX_ZIP_ENTRIES or sum(info.file_size for info in entries) > MAX_ZIP_UNPACKED:
        raise ImportFileError(_("压缩包太大：最多 %(n)d 个文件、解压后 %(mb)d MB。", n=MAX_ZIP_ENTRIES,
                                mb=MAX_ZIP_UNPACKED // (1024 * 1024)))
    return archive, entries


def read_zip(data: bytes, *, max_rows: int = MAX_ROWS) -> tuple[Sheet, ZipImages]:
    """A ZIP with one spreadsheet (CSV or xlsx) and the pictures its ``images`` column names."""
    archive, entries = _refuse_zip_bomb(data)
    sheets = [info for info in entries if info.filename.lower().endswith((".csv", ".xlsx"))
              and not info.filename.startswith("__MACOSX/") and not posixpath.basename(info.filename).startswith(".")]
    if len(sheets) != 1:
        raise ImportFileError(_("压缩包里应恰好有一个表格文件（CSV 或 xlsx），现有 %(n)d 个。", n=len(sheets)))
    try:
        with archive.open(sheets[0]) as handle:
            content = handle.read(MAX_SHEET_BYTES + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):  # damaged, encrypted, odd method
        raise ImportFileError(_("压缩包中的表格无法读取（文件损坏或已加密）。")) from None
    if len(content) > MAX_SHEET_BYTES:
        raise ImportFileError(_("表格文件太大：最多 5 MB。"))
    sheet = read_sheet(content, sheets[0].filename, max_rows=max_rows)
    return sheet, ZipImages(archive, posixpath.dirname(sheets[0].filename))


# -- checking rows ------------------------------------------------------------------------------------------

@dataclass
class _Row:
    """One data row, its cells parsed, and what is wrong with it (column → message)."""

    source: SheetRow
    key: str  # the product group
    first: bool  # whether it is the first row of its group
    values: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)  # attribute name → cell text, for present columns
    options: dict[str, str] = field(default_factory=dict)  # option name → cell text, for present columns
    images: list[str] = field(default_factory=list)
    category: Category | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return self.source.number


@dataclass
class _Group:
    key: str
    rows: list[_Row]

    @property
    def first(self) -> _Row:
        return self.rows[0]


class _Checker:
    """Parses cells into typed values, with a cache of the lookups many rows share."""

    def __init__(self, sheet: Sheet, images: ImageSource):
        self.sheet = sheet
        self.images = images
        self.currency = getattr(current_tenant, "currency", None) or "CNY"
        self._categories: dict[str, Category | None] = {}
        self._units = self._unit_names()

    @staticmethod
    def _unit_names() -> dict[str, str]:
        names = {}
        for code, label in UNITS.items():
            names[_normalise(code)] = code
            names[_normalise(str(label))] = code
            with force_locale("zh_CN"):
                names[_normalise(str(label))] = code
        return names

    def category(self, text: str) -> Category | None:
        if text not in self._categories:
            self._categories[text] = catalog.category_by_slug_or_name(text)
        return self._categories[text]

    def amount(self, text: str) -> int:
        return parse_amount(text, self.currency)

    def check(self, row: _Row) -> None:
        cells, problems = row.source, row.problems
        for key in ("sku", "price", "stock") + (("title", "category") if row.first else ()):
            if not cells.get(key):
                problems[key] = {
                    "sku": _("请填写 SKU（货号）。"), "title": _("请填写商品名称。"), "price": _("请填写价格。"),
                    "stock": _("请填写库存。"), "category": _("请填写分类。"),
                }[key]
        if cells.get("sku"):
            row.values["sku"] = cells.get("sku")
        self._money(row, "price")
        self._money(row, "compare_at_price")
        self._whole(row, "stock", _("库存应为整数。"))
        self._whole(row, "moq", _("起订量应为整数。"))
        self._whole(row, "weight_g", _("重量应为以克为单位的整数。"))
        for key in ("title", "description", "barcode"):
            if self.sheet.has(key):
                row.values[key] = cells.get(key)
        if self.sheet.has("unit"):
            text = cells.get("unit")
            unit = self._units.get(_normalise(text)) if text else "piece"
            if unit is None:
                problems["unit"] = _("不支持的计量单位：%(unit)s。可用：%(units)s。", unit=text,
                                     units="、".join(str(label) for label in UNITS.values()))
            row.values["unit"] = unit
        if self.sheet.has("tiers"):
            try:
                row.values["tiers"] = self.tiers(cells.get("tiers"))
            except ValueError:
                problems["tiers"] = _("阶梯价格式应为“数量:单价”，多档用 | 分隔，例如 10:10.50|100:9.80。")
        if cells.get("category"):
            row.category = self.category(cells.get("category"))
            if row.category is None:
                problems["category"] = _("找不到分类“%(name)s”：请填写分类的代码或中文名称。",
                                         name=cells.get("category"))
        if cells.get("images"):
            for path in (part.strip() for part in cells.get("images").replace("｜", "|").split("|")):
                if not path:
                    continue
                reason = self.images.problem(path)
                if reason:
                    problems.setdefault("images", reason)
                row.images.append(path)

    def _money(self, row: _Row, key: str) -> None:
        text = row.source.get(key)
        if not text:
            if self.sheet.has(key):
                row.values[key] = None
            return
        try:
            row.values[key] = self.amount(text)
        except AmountInvalid:
            row.problems[key] = _("金额“%(value)s”有误：以元为单位、最多两位小数，例如 12.50。", value=text)

    def _whole(self, row: _Row, key: str, message: str) -> None:
        text = row.source.get(key)
        if not text:
            if self.sheet.has(key):
                row.values[key] = None
            return
        try:
            number = Decimal(text.replace(",", ""))
            # Finite, whole and of sensible size: "Infinity" or "1e2000000" would hang or crash int().
            if not number.is_finite() or abs(number.adjusted()) > 12 or number != number.to_integral_value():
                raise InvalidOperation
            row.values[key] = int(number)
        except (InvalidOperation, ValueError):
            row.problems[key] = message

    def tiers(self, text: str) -> list[tuple[int, int]]:
        """"10:10.50|100:9.80" → [(10, 1050), (100, 980)]; ValueError when malformed."""
        tiers = []
        text = unicodedata.normalize("NFKC", text or "")
        for part in (p.strip() for p in text.replace(";", "|").split("|")):
            if not part:
                continue
            quantity, sep, price = part.partition(":")
            if not sep or not quantity.strip().isdigit():
                raise ValueError(part)
            try:
                tiers.append((int(quantity), self.amount(price)))
            except AmountInvalid:
                raise ValueError(part) from None
        return tiers

    def per_type(self, row: _Row, product_type: packs.ProductType) -> None:
        """Sort the ``attr.*`` and ``option.*`` cells by what the row's product type knows."""
        for key in self.sheet.columns:
            if not key.startswith(("attr.", "option.")):
                continue
            kind, _dot, name = key.partition(".")
            text = row.source.get(key)
            found = (_attribute_name(product_type, name) if kind == "attr" else _option_name(product_type, name))
            if found is None:
                if text:  # a file mixing categories has columns other types lack; only filled ones are wrong
                    row.problems[key] = (
                        _("“%(type)s”类商品没有“%(name)s”这一属性。", type=product_type.label(), name=name)
                        if kind == "attr" else
                        _("“%(type)s”类商品没有“%(name)s”这一规格项。", type=product_type.label(), name=name))
                continue
            (row.attributes if kind == "attr" else row.options)[found] = text


def _attribute_name(product_type: packs.ProductType, name: str) -> str | None:
    for attribute in product_type.attributes:
        if name in (attribute.name, _normalise(attribute.label_zh), _normalise(attribute.label_en)):
            return attribute.name
    return None


def _option_name(product_type: packs.ProductType, name: str) -> str | None:
    for option in product_type.options:
        labels = product_type.option_labels.get(option, ("", ""))
        if name in (option, *(_normalise(label) for label in labels if label)):
            return option
    return None


def _product_type_of(category: Category) -> packs.ProductType | None:
    return packs.product_type(category.product_type or "general.goods")


def _group_rows(sheet: Sheet) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for index, source in enumerate(sheet.rows):
        key = source.get("product")
        # A row without a product key is a product of its own (a key no cell can hold).
        key = f"p:{key}" if key else f"row:{index}"
        group = groups.get(key)
        if group is None:
            groups[key] = _Group(key, [_Row(source, key, first=True)])
        else:
            group.rows.append(_Row(source, key, first=False))
    return list(groups.values())


def _check_group(group: _Group, checker: _Checker, skus: dict[str, int]) -> None:
    for row in group.rows:
        checker.check(row)
        sku = row.source.get("sku")
        if sku:
            if sku in skus:
                row.problems["sku"] = _("SKU %(sku)s 与第 %(row)d 行重复。", sku=sku, row=skus[sku])
            else:
                skus[sku] = row.number
    first = group.first
    for row in group.rows[1:]:
        for key in (*PRODUCT_COLUMNS, *(k for k in checker.sheet.columns if k.startswith("attr."))):
            text = row.source.get(key)
            same = (row.category is first.category if key == "category" else text == first.source.get(key))
            if text and not same:
                row.problems.setdefault(key, _("同一款号（%(key)s）的商品信息应与第 %(row)d 行一致，或留空。",
                                               key=first.source.get("product"), row=first.number))
        row.category = first.category
    if first.category is not None:
        product_type = _product_type_of(first.category)
        if product_type is None:
            first.problems["category"] = _("分类“%(category)s”的商品类型 %(type)s 未安装。",
                                           category=first.category.name_zh, type=first.category.product_type)
        else:
            for row in group.rows:
                checker.per_type(row, product_type)


# -- writing ------------------------------------------------------------------------------------------------

def _variant_input(row: _Row, existing: Variant | None) -> catalog.VariantInput:
    values = row.values

    def pick(key: str, current, default):
        if key in values:
            return default if values[key] is None else values[key]
        return current if existing is not None else default

    options = dict(existing.options or {}) if existing is not None else {}
    for name, text in row.options.items():
        if text:
            options[name] = text
        else:
            options.pop(name, None)
    return catalog.VariantInput(
        sku=values["sku"], price=values["price"], stock=values["stock"], options=options,
        compare_at_price=pick("compare_at_price", existing and existing.compare_at_price, None),
        weight_g=pick("weight_g", existing and existing.weight_g, None),
        barcode=pick("barcode", existing and existing.barcode, ""),
        tiers=pick("tiers", existing and [(t.min_quantity, t.unit_price) for t in existing.tiers], []),
    )


def _kept_variant(variant: Variant) -> catalog.VariantInput:
    return catalog.VariantInput(
        sku=variant.sku, price=variant.price, stock=variant.stock, options=dict(variant.options or {}),
        compare_at_price=variant.compare_at_price, weight_g=variant.weight_g, barcode=variant.barcode,
        tiers=[(t.min_quantity, t.unit_price) for t in variant.tiers])


class _Importer:
    def __init__(self, shop, sheet: Sheet, images: ImageSource, publish: bool):
        self.shop, self.sheet, self.image_source, self.publish = shop, sheet, images, publish
        self.existing = self._existing_variants()
        #: For the group being written: the row of each variant, in order (None for one kept as it was).
        self.rows_of_variants: list[_Row | None] = []

    def _existing_variants(self) -> dict[str, Variant]:
        skus = sorted({row.get("sku") for row in self.sheet.rows if row.get("sku")})
        found: dict[str, Variant] = {}
        for start in range(0, len(skus), 500):  # keep IN lists well inside every database's limit
            chunk = skus[start:start + 500]
            query = (select(Variant).where(Variant.shop_id == self.shop.id, Variant.sku.in_(chunk))
                     .options(selectinload(Variant.product).selectinload(Product.variants)
                              .selectinload(Variant.tiers),
                              selectinload(Variant.product).selectinload(Product.images)))
            found.update((variant.sku, variant) for variant in db.session.scalars(query))
        return found

    def write(self, group: _Group) -> tuple[str, int]:
        """Create or update the group's product; returns ("created" | "updated", images added).

        Raises what the catalog and the media pipeline raise (CatalogError, ImageRejected); meanwhile
        ``rows_of_variants`` tells which row each variant came from, to place their problems.
        """
        first = group.first
        products = {self.existing[r.values["sku"]].product_id: self.existing[r.values["sku"]].product
                    for r in group.rows if r.values["sku"] in self.existing}
        if len(products) > 1:
            raise catalog.CatalogError(_("这些 SKU 在店里分属不同的商品，不能归入同一款号。"), "product")
        product = next(iter(products.values()), None)
        product_type = _product_type_of(first.category)
        values = first.values

        def pick(key: str, current, default):
            if key in values:
                return default if values[key] is None else values[key]
            return current if product is not None else default

        attributes: dict = {}
        if product is not None and product.product_type == product_type.id:
            attributes = dict(product.attributes or {})
        for name, text in first.attributes.items():
            if text:
                attributes[name] = text
            else:
                attributes.pop(name, None)
        # Each variant's row, so the catalog's problems ("variants.2.price") land on the right row.
        variants: list[catalog.VariantInput] = []
        rows: list[_Row | None] = []
        incoming = {row.values["sku"]: row for row in group.rows}
        if product is not None:
            for variant in product.variants:
                row = incoming.pop(variant.sku, None)
                variants.append(_variant_input(row, variant) if row else _kept_variant(variant))
                rows.append(row)
        for row in incoming.values():
            variants.append(_variant_input(row, None))
            rows.append(row)
        self.rows_of_variants = rows
        data = catalog.ProductInput(
            category=first.category, title=values["title"], variants=variants,
            description=pick("description", product and product.description, ""),
            unit=pick("unit", product and product.unit, "piece"), moq=pick("moq", product and product.moq, 1),
            attributes=attributes)
        if product is None:
            product = catalog.create_product(self.shop, data, publish=self.publish)
            outcome = "created"
        else:
            catalog.update_product(product, data)
            if self.publish and not product.is_active:
                catalog.publish_product(product)
            outcome = "updated"
        return outcome, self._add_images(product, group, known=outcome == "updated")

    def _add_images(self, product: Product, group: _Group, *, known: bool) -> int:
        paths = list(dict.fromkeys(path for row in group.rows for path in row.images))
        if not paths:
            return 0
        have = {image.sha256 for image in product.images} if known else set()
        added = 0
        for path in paths:
            stored = ingest_image(self.image_source.read(path))
            if known:  # re-importing the same file must not add the same picture again
                if stored.sha256 in have:
                    continue
                have.add(stored.sha256)
            catalog.add_image(product, stored=stored)
            added += 1
        return added


def _problems_of(error: Exception, group: _Group, rows_of_variants: list[_Row | None]) -> list[RowProblem]:
    """The catalog's problems ("variants.1.price", "attr.n_pct", "title"…) as (row, column, message)."""
    first = group.first.number
    if isinstance(error, ImageRejected):
        return [RowProblem(first, "images", error.message)]
    if isinstance(error, IntegrityError | DataError):
        return [RowProblem(first, "", _("数据库拒绝保存这一行，请检查内容后重试。"))]
    found = []
    for key, message in error.problems.items():
        row, column = first, key
        if key.startswith("variants."):
            _variants, index, column = key.split(".", 2)
            owner = rows_of_variants[int(index)] if int(index) < len(rows_of_variants) else None
            row = owner.number if owner is not None else first
        elif key == "variants":
            column = "sku"
        elif key in ("licence", "merchant", ""):
            column = ""
        found.append(RowProblem(row, column, message))
    return found


def import_sheet(shop, sheet: Sheet, *, partial: bool = False, publish: bool = False,
                 images: ImageSource | None = None, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import ``sheet`` into ``shop`` (of the current tenant); returns what happened, row by row.

    Every row is checked, and each product is written inside its own savepoint so a refused one leaves
    nothing behind. All-or-nothing unless ``partial``: one refused row and the whole import is rolled back
    (``report.written`` is False). ``publish`` puts the imported products on sale (each must be complete and
    the shop licensed for gated categories). ``images`` reads the ``images`` cells (default: none allowed).
    ``progress(n)`` is called as rows are done. Flushes; the caller commits.
    """
    started = time.perf_counter()
    images = images or ImageSource()
    report = ImportReport(rows=len(sheet.rows))
    outer = db.session.begin_nested()
    try:
        checker = _Checker(sheet, images)
        groups = _group_rows(sheet)
        skus: dict[str, int] = {}
        for group in groups:
            _check_group(group, checker, skus)
        importer = _Importer(shop, sheet, images, publish)
        created = updated = added = 0
        for group in groups:
            problems = [RowProblem(row.number, column, message)
                        for row in group.rows for column, message in row.problems.items()]
            if not problems:
                importer.rows_of_variants = []
                savepoint = db.session.begin_nested()
                try:
                    outcome, count = importer.write(group)
                    db.session.flush()
                except (catalog.CatalogError, ImageRejected, IntegrityError, DataError) as error:
                    savepoint.rollback()
                    problems = _problems_of(error, group, importer.rows_of_variants)
                else:
                    savepoint.commit()
                    created += outcome == "created"
                    updated += outcome == "updated"
                    added += count
            if problems:
                report.problems.extend(problems)
                bad = {p.row for p in problems}
                for row in group.rows:
                    report.rejected_rows.add(row.number)
                    if row.number not in bad:
                        report.problems.append(RowProblem(row.number, "", _(
                            "与第 %(row)d 行属于同一商品，该商品有错误，本行未导入。", row=min(bad))))
            if progress is not None:
                progress(len(group.rows))
        if report.rejected_rows and not partial:
            outer.rollback()
            report.written = False
        else:
            outer.commit()
            report.created, report.updated, report.images = created, updated, added
    except BaseException:
        if outer.is_active:
            outer.rollback()
        raise
    report.problems.sort(key=lambda p: (p.row, p.column))
    report.seconds = time.perf_counter() - started
    return report


def read_upload(data: bytes, filename: str, *, folder: Path | None = None,
                max_rows: int = MAX_ROWS) -> tuple[Sheet, ImageSource]:
    """The sheet in an uploaded file and where its pictures come from: the ZIP it came in, the ``folder``
    beside it (command line), or nowhere (a lone spreadsheet sent from a browser)."""
    if filename.lower().endswith(".zip"):
        return read_zip(data, max_rows=max_rows)
    sheet = read_sheet(data, filename, max_rows=max_rows)
    return sheet, FolderImages(folder) if folder is not None else ImageSource()
