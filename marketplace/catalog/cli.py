"""``flask catalog import | export``: a shop's products from and to a spreadsheet (CSV or XLSX)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.catalog import exporting, importing
from marketplace.core.db import writing
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant

catalog = AppGroup("catalog", help="Import and export a shop's products (CSV or XLSX).")


def _tenant_and_shop(tenant_slug: str, shop_slug: str):
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        raise click.BadParameter(_("没有代码为 %(slug)s 的市场或街区。", slug=tenant_slug), param_hint="--tenant")
    with tenant_scope(tenant):
        shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        raise click.BadParameter(_("%(tenant)s 中没有代码为 %(slug)s 的店铺。", tenant=tenant_slug, slug=shop_slug),
                                 param_hint="--shop")
    return tenant, shop


def summary_lines(report: importing.ImportReport) -> list[str]:
    """What the CLI prints after an import: the counts, the speed, then every refused row with its reasons."""
    lines = []
    if report.written:
        lines.append(_("新建 %(created)d 个商品，按 SKU 更新 %(updated)d 个商品，拒绝 %(rejected)d 行"
                       "（共 %(rows)d 行，新增图片 %(images)d 张）。", created=report.created, updated=report.updated,
                       rejected=report.rejected, rows=report.rows, images=report.images))
    else:
        lines.append(_("新建 0 个商品，按 SKU 更新 0 个商品，拒绝 %(rejected)d 行（共 %(rows)d 行）：文件有错误，"
                       "没有导入任何内容。改正后重新导入，或加 --partial 只导入没有问题的行。",
                       rejected=report.rejected, rows=report.rows))
    lines.append(_("用时 %(seconds).2f 秒，%(rate).1f 个商品/秒。", seconds=report.seconds, rate=report.rate))
    for row, problems in report.problems_by_row():
        for problem in problems:
            where = _("第 %(row)d 行", row=row) + (f" [{problem.column}]" if problem.column else "")
            lines.append(f"  {where}: {problem.message}")
    return lines


@catalog.command("import")
@click.option("--tenant", "tenant_slug", required=True, help="tenant slug, e.g. nongzi-market")
@click.option("--shop", "shop_slug", required=True, help="shop slug within the tenant")
@click.option("--partial", is_flag=True, help="import the good rows even when others are refused")
@click.option("--publish", is_flag=True, help="put the imported products on sale (drafts otherwise)")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(tenant_slug: str, shop_slug: str, partial: bool, publish: bool, file: Path):
    """Create and update a shop's products from FILE (CSV in UTF-8 or GBK, XLSX, or a ZIP of one with pictures).

    All-or-nothing unless --partial: a file with a bad row writes nothing and lists every bad row. Pictures in
    the images column are read relative to FILE's folder. Exits with status 1 when rows were refused.
    """
    try:
        sheet, images = importing.read_upload(file.read_bytes(), file.name, folder=file.parent)
    except importing.ImportFileError as error:
        raise click.ClickException(str(error)) from None
    # A write transaction from the first read on: SQLite then queues this import behind other writers
    # instead of failing half-way with "database is locked".
    with writing():
        tenant, shop = _tenant_and_shop(tenant_slug, shop_slug)
        with tenant_scope(tenant), click.progressbar(length=len(sheet.rows), label=_("导入中")) as bar:
            report = importing.import_sheet(shop, sheet, partial=partial, publish=publish,
                                            images=images, progress=bar.update)
        db.session.commit()
    for line in summary_lines(report):
        click.echo(line)
    if report.rejected and not partial:
        raise SystemExit(1)


@catalog.command("export")
@click.option("--tenant", "tenant_slug", required=True, help="tenant slug")
@click.option("--shop", "shop_slug", required=True, help="shop slug within the tenant")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_command(tenant_slug: str, shop_slug: str, file: Path):
    """Write a shop's products to FILE, as XLSX when it ends in .xlsx and as CSV otherwise."""
    tenant, shop = _tenant_and_shop(tenant_slug, shop_slug)
    fmt = "xlsx" if file.suffix.lower() == ".xlsx" else "csv"
    with tenant_scope(tenant):
        header, rows = exporting.shop_table(shop)
        data = exporting.to_xlsx(header, rows) if fmt == "xlsx" else exporting.to_csv(header, rows)
    file.write_bytes(data)
    click.echo(_("已导出 %(n)d 行到 %(file)s。", n=len(rows), file=str(file)))


@catalog.command("expire-licences")
def expire_licences_command():
    """Take offline the products of shops whose licence has run out (run daily, e.g. from cron at 00:05)."""
    from marketplace.catalog.admin import expire_licences

    with writing():
        expired = expire_licences()
        db.session.commit()
    for row in expired:
        click.echo(f"{row.tenant_slug}/{row.shop_slug}: {row.kind} expired {row.expired_on}, "
                   f"{row.products_offline} products taken offline")
    click.echo(f"{len(expired)} expired licences, {sum(r.products_offline for r in expired)} products taken offline")


def register(app) -> None:
    app.cli.add_command(catalog)
