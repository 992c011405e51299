"""``flask search prepare | reindex``: build the analyser's dictionary cache; rebuild tenants' indexes."""

from __future__ import annotations

import logging
import time

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.search import documents, indexing, services
from marketplace.search.backend import SearchUnavailable
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant

log = logging.getLogger(__name__)
search = AppGroup("search", help="Search indexes: prepare the dictionaries, rebuild indexes.")


@search.command("prepare")
def prepare_command():
    """Build jieba's dictionary cache under the instance folder (install time: no request waits for it)."""
    started = time.perf_counter()
    services.analyser()
    click.echo(_("分词词典已就绪（%(s).1f 秒）。", s=time.perf_counter() - started))


@search.command("reindex")
@click.option("--tenant", "tenant_slug", help="only this tenant (slug); default: every tenant")
def reindex_command(tenant_slug: str | None):
    """Rebuild search indexes from the database, switching to each new index when it is complete."""
    with all_tenants():
        query = select(Tenant).order_by(Tenant.id)
        if tenant_slug:
            query = query.where(Tenant.slug == tenant_slug)
        tenants = list(db.session.scalars(query))
    if tenant_slug and not tenants:
        raise click.BadParameter(_("没有代码为 %(slug)s 的市场或街区。", slug=tenant_slug), param_hint="--tenant")
    services.analyser()
    total, started = 0, time.perf_counter()
    for tenant in tenants:
        with tenant_scope(tenant):
            expected = documents.searchable_count()
        label = f"{tenant.slug} ({services.backend_for(tenant).name})"
        try:
            with click.progressbar(length=expected, label=label, show_pos=True) as bar:
                count = indexing.reindex(tenant, progress=bar.update)
        except indexing.AlreadyRunning:
            raise click.ClickException(_("%(tenant)s 正在由另一个进程重建索引，请等它完成。", tenant=tenant.slug)) from None
        except SearchUnavailable as error:
            raise click.ClickException(_("%(tenant)s 的搜索服务不可用：%(error)s", tenant=tenant.slug,
                                         error=str(error))) from None
        except Exception as error:  # a backend's own failure (a refused connection…): say which tenant, keep the trace
            log.exception("reindex of %s failed", tenant.slug)
            raise click.ClickException(_("%(tenant)s 的搜索服务不可用：%(error)s", tenant=tenant.slug,
                                         error=type(error).__name__)) from None
        total += count
        click.echo(_("%(tenant)s：已索引 %(n)d 件商品。", tenant=tenant.slug, n=count))
    elapsed = time.perf_counter() - started
    click.echo(_("共 %(tenants)d 个市场或街区，%(n)d 件商品，用时 %(s).1f 秒。", tenants=len(tenants), n=total,
                 s=elapsed))


def register(app) -> None:
    app.cli.add_command(search)
