"""Merchant console: spreadsheet import and export of a shop's products.

Load the shop of the current tenant by slug (404 when this tenant has none) → the user must hold
``view_shop`` on it (owners and staff; others get 403) → call ``catalog.importing`` / ``catalog.exporting``.
The upload page shows the import's report: every refused row with its reasons, or the counts.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, render_template, send_file
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from sqlalchemy import select
from wtforms import BooleanField

from marketplace.accounts.authz import Permission, require
from marketplace.catalog import exporting, importing, packs
from marketplace.catalog.models import Category
from marketplace.core.forms import add_form_error
from marketplace.extensions import db
from marketplace.shops import services as shops

blueprint = Blueprint("merchant_imports", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/import")

#: The largest spreadsheet the console accepts (a few thousand rows fit easily), and the largest ZIP of a
#: spreadsheet with its pictures.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ZIP_BYTES = 60 * 1024 * 1024
#: Rows one upload may carry: at the import's pace that stays well inside a web request's time.
MAX_ROWS = 1000
TEMPLATE = Path(__file__).resolve().parent.parent / "catalog" / "import_template.csv"


class ImportForm(FlaskForm):
    file = FileField(_l("表格文件（CSV 或 xlsx），或表格加图片的 ZIP 压缩包"), validators=[
        FileRequired(_l("请选择要导入的文件。")),
        FileSize(MAX_ZIP_BYTES, message=_l("文件太大：压缩包最多 60 MB。请拆成几个文件，或用命令行导入。")),
    ])
    partial = BooleanField(_l("只导入没有问题的行（其余行列出原因）"))
    publish = BooleanField(_l("导入后直接上架"))


def _shop(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.view_shop, shop)
    return shop


def _column_guide() -> list[dict]:
    """Per category of this tenant: its slug and name and the attr./option. columns its product type takes."""
    guide = []
    for category in db.session.scalars(select(Category).order_by(Category.position, Category.id)):
        product_type = packs.product_type(category.product_type or "general.goods")
        if product_type is None:
            continue
        guide.append({
            "category": category, "type": product_type,
            "attributes": product_type.attributes,
            "options": [(name, product_type.option_labels.get(name, (name, name))[0]) for name in product_type.options],
        })
    return guide


@blueprint.route("/", methods=["GET", "POST"])
@login_required
def upload(shop_slug: str):
    shop = _shop(shop_slug)
    form = ImportForm()
    report = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(MAX_ZIP_BYTES + 1)
        try:
            name = upload.filename or ""
            if not name.lower().endswith(".zip") and len(data) > MAX_UPLOAD_BYTES:
                raise importing.ImportFileError(str(_l("表格文件太大：网页上传最多 5 MB。请拆成几个文件，或用命令行导入。")))
            sheet, images = importing.read_upload(data, name, max_rows=MAX_ROWS)
        except importing.ImportFileError as error:
            add_form_error(form, str(error), "file")
        else:
            report = importing.import_sheet(shop, sheet, partial=form.partial.data, publish=form.publish.data,
                                            images=images)
            db.session.commit()
            if not report.written or not (report.created or report.updated):
                status = 400  # nothing was saved: the file needs fixing
    if form.errors or form.form_errors:
        status = 400
    return render_template("console/imports/upload.html", shop=shop, form=form, report=report,
                           guide=_column_guide(), max_mb=MAX_UPLOAD_BYTES // (1024 * 1024)), status


@blueprint.route("/template")
@login_required
def template(shop_slug: str):
    _shop(shop_slug)
    return send_file(io.BytesIO(TEMPLATE.read_bytes()), mimetype="text/csv", as_attachment=True,
                     download_name="import_template.csv", max_age=0)


def _export(shop_slug: str, fmt: str):
    shop = _shop(shop_slug)
    data = exporting.export_products(shop, fmt)
    name = f"{shop.slug}-products-{date.today().isoformat()}.{fmt}"
    mimetype = exporting.XLSX_MIMETYPE if fmt == "xlsx" else "text/csv"
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.route("/export.csv")
@login_required
def export_csv(shop_slug: str):
    return _export(shop_slug, "csv")


@blueprint.route("/export.xlsx")
@login_required
def export_xlsx(shop_slug: str):
    return _export(shop_slug, "xlsx")
