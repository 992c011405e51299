"""Export a shop's products as CSV or XLSX in the import format: an export re-imports as "0 created, N updated".

One row per variant. A product with several variants gets its first SKU as ``product`` key on each of its
rows, so the rows group again on import. Pictures cannot travel inside a spreadsheet: ``images`` stays empty
(an import adds pictures and never removes them).

Cells are neutralised against formula injection: text starting with ``= + - @``, a tab or a carriage
return gets a leading ``'`` so no spreadsheet runs it as a formula (the importer drops that ``'`` again).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.catalog import packs
from marketplace.catalog.importing import FORMULA_START
from marketplace.catalog.models import Product, Variant
from marketplace.core.i18n import to_major_units
from marketplace.extensions import db
from marketplace.tenancy.context import current_tenant

#: The fixed columns, in the order the template uses; then ``option.*`` and ``attr.*`` of the shop's types.
BASE_COLUMNS = ("product", "sku", "title", "category", "price", "compare_at_price", "stock", "unit", "moq", "tiers",
                "barcode", "weight_g", "description", "images")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: str) -> str:
    """Text a spreadsheet would take for a formula, made inert with a leading single quote."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _attribute_cell(attribute: packs.Attribute | None, value) -> str:
    if value is None or value == "":
        return ""
    if attribute is not None and attribute.type == packs.AttributeType.enum:
        for choice in attribute.choices:
            if choice.value == value:
                return choice.label_zh  # what the merchant reads; the importer accepts labels and values
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def shop_table(shop) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows (one per variant) of ``shop``'s products, oldest first.

    Numbers stay numbers (prices as ``Decimal`` yuan); the writers turn them into cells.
    """
    products = db.session.scalars(
        select(Product).where(Product.shop_id == shop.id).order_by(Product.id)
        .options(selectinload(Product.category), selectinload(Product.variants).selectinload(Variant.tiers))
    ).all()
    currency = getattr(current_tenant, "currency", None) or "CNY"

    def yuan(fen: int | None) -> Decimal | None:
        return None if fen is None else to_major_units(fen, currency)

    types: dict[str, packs.ProductType | None] = {}
    for product in products:
        if product.product_type not in types:
            types[product.product_type] = packs.product_type(product.product_type)
    options: list[str] = []
    attributes: list[str] = []
    for product_type in filter(None, types.values()):
        options += [name for name in product_type.options if name not in options]
        attributes += [a.name for a in product_type.attributes if a.name not in attributes]
    for product in products:  # option names a variant carries beyond its type's (kept, not lost)
        for variant in product.variants:
            options += [name for name in (variant.options or {}) if name not in options]
        attributes += [name for name in (product.attributes or {}) if name not in attributes]

    header = [*BASE_COLUMNS, *(f"option.{n}" for n in options), *(f"attr.{n}" for n in attributes)]
    rows: list[list[Any]] = []
    for product in products:
        product_type = types.get(product.product_type)
        key = product.variants[0].sku if len(product.variants) > 1 else ""
        attribute_cells = [
            _attribute_cell(product_type.attribute(name) if product_type else None,
                            (product.attributes or {}).get(name))
            for name in attributes
        ]
        for variant in product.variants:
            tiers = "|".join(f"{t.min_quantity}:{yuan(t.unit_price)}" for t in variant.tiers)
            rows.append([
                key, variant.sku, product.title, product.category.slug, yuan(variant.price),
                yuan(variant.compare_at_price), variant.stock, product.unit, product.moq, tiers, variant.barcode or "",
                variant.weight_g, product.description or "", "",
                *((variant.options or {}).get(name, "") for name in options),
                *attribute_cells,
            ])
    return header, rows


def _text(value: Any) -> str:
    return "" if value is None else neutralise(str(value))


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark and CRLF line ends: how Excel opens a CSV without garbling Chinese."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_text(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "products"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    price_columns = {header.index(name) for name in ("price", "compare_at_price")}
    for row in rows:
        cells = []
        for value in row:
            if value is None or value == "":
                cells.append(None)
            elif isinstance(value, int | Decimal) and not isinstance(value, bool):
                cells.append(value)
            else:
                cells.append(ILLEGAL_CHARACTERS_RE.sub("", neutralise(str(value))))
        sheet.append(cells)
        for index in price_columns:
            sheet.cell(row=sheet.max_row, column=index + 1).number_format = "0.00"
    for index, name in enumerate(header):
        if name in ("sku", "product", "barcode"):
            for column in sheet.iter_cols(min_col=index + 1, max_col=index + 1, min_row=2):
                for cell in column:
                    cell.number_format = "@"  # text: long codes keep their digits and leading zeros
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_products(shop, fmt: str) -> bytes:
    """The shop's products as a ``"csv"`` or ``"xlsx"`` file."""
    header, rows = shop_table(shop)
    if fmt == "xlsx":
        return to_xlsx(header, rows)
    if fmt == "csv":
        return to_csv(header, rows)
    raise ValueError(f"unknown export format {fmt!r}")
