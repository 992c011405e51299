"""The monthly return as a file: XLSX with a sheet per breakdown and a definitions sheet, or the same tables as
one CSV (sections one after another). Amounts are yuan with two decimals, the way a return is filled in; a
suppressed cell is "—" in both."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from flask_babel import gettext as _

from marketplace.catalog.exporting import XLSX_MIMETYPE, neutralise
from marketplace.reports.definitions import BREAKDOWNS, CURRENCY, FORM, INDICATORS, MEANINGS, MIN_CELL, MONEY
from marketplace.reports.figures import Figures, Row

__all__ = ["XLSX_MIMETYPE", "csv_bytes", "xlsx_bytes", "filename"]
SUPPRESSED = "—"


def _scope_label(found: Figures) -> str:
    if found.scope.shop is not None:
        return f"{found.scope.tenant.name_zh} · {found.scope.shop.name_zh}"
    if found.scope.tenant is not None:
        return found.scope.tenant.name_zh
    return _("全市（全部租户）")


def filename(found: Figures, fmt: str) -> str:
    scope = "city" if found.scope.tenant is None else found.scope.tenant.slug
    if found.scope.shop is not None:
        scope += f"-{found.scope.shop.slug}"
    return f"statistics-{scope}-{found.period.label}.{fmt}"


def _header(first: str) -> list[str]:
    return [first] + [f"{INDICATORS[k][0]}（{_('元')}）" if k in MONEY else str(INDICATORS[k][0]) for k in INDICATORS]


def _cells(row: Row) -> list:
    cells = []
    for key in INDICATORS:
        value = row.values.get(key)
        if value is None:
            cells.append(SUPPRESSED)
        else:
            cells.append(Decimal(value) / 100 if key in MONEY else value)
    return cells


def _tables(found: Figures) -> list[tuple[str, list[list]]]:
    """(sheet title, rows) of the return, in order: the summary, the time series, one per breakdown."""
    summary = [[_("表号"), FORM["number"]], [_("表名"), str(FORM["title"])], [_("制定机关"), str(FORM["authority"])],
               [_("批准或备案文号"), str(FORM["approval"])], [_("有效期至"), FORM["valid_until"]],
               [_("统计范围"), _scope_label(found)], [_("统计期"), found.period.label], [_("币种"), CURRENCY], [],
               _header(_("指标")), [_("合计"), *_cells(found.total)]]
    tables = [(_("总表"), summary),
              (_("按日") if found.period.series_step == "day" else _("按月"),
               [_header(_("日期")), *([r.label, *_cells(r)] for r in found.series)])]
    for name, rows in found.breakdowns.items():
        title = str(BREAKDOWNS[name][0])
        tables.append((title, [_header(title), *([neutralise(r.label), *_cells(r)] for r in rows)]))
    definitions = [[_("指标"), _("口径")], *([str(INDICATORS[k][0]), str(MEANINGS[k])] for k in INDICATORS),
                   [], [_("说明"), _("金额单位为元（数据库与接口以分为单位），人民币。")],
                   [_("小数保护"), _("由少于 %(n)d 个经营者或少于 %(n)d 个买家计算出的数据显示为“—”。", n=MIN_CELL)],
                   [_("时区"), _("统计期按北京时间划分。")]]
    tables.append((_("指标解释"), definitions))
    return tables


def csv_bytes(found: Figures) -> bytes:
    """UTF-8 with a byte-order mark (Excel reads the Chinese right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for index, (title, rows) in enumerate(_tables(found)):
        if index:
            writer.writerow([])
        writer.writerow([f"# {title}"])
        for row in rows:
            writer.writerow([f"{c:.2f}" if isinstance(c, Decimal) else c for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(found: Figures) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in _tables(found):
        sheet = workbook.create_sheet(title[:31])
        for row in rows:
            sheet.append([c if isinstance(c, (int, Decimal)) else ILLEGAL_CHARACTERS_RE.sub("", str(c)) for c in row])
            for index, cell in enumerate(row, start=1):
                if isinstance(cell, Decimal):
                    sheet.cell(row=sheet.max_row, column=index).number_format = "0.00"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 24
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
