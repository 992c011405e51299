"""``flask tenants sync | create | list``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace.core.db import writing
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy import manifests, services
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant

tenants = AppGroup("tenants", help="Create, list and sync tenants (streets and markets).")


def tenants_for(slug: str | None) -> list[Tenant]:
    """A job's tenants: every tenant, or the one ``--tenant`` names (an unknown slug is an error, not a quiet run
    over nothing)."""
    with all_tenants():
        query = select(Tenant).order_by(Tenant.id)
        if slug is not None:
            query = query.where(Tenant.slug == slug)
        found = list(db.session.scalars(query))
    if slug is not None and not found:
        raise click.ClickException(_("没有这个市场：%(slug)s", slug=slug))
    return found


def sync_all(root: Path, *, only_missing: bool = False) -> dict[str, str]:
    """Apply the manifests under ``root`` in one write transaction, printing one line per tenant."""
    try:
        with writing():
            outcome = manifests.sync_folder(root, set(current_app.extensions["themes"]), only_missing=only_missing)
            db.session.commit()
    except manifests.ManifestError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    for tenant, result, changes in outcome:
        detail = f" ({', '.join(changes)})" if result == "updated" else ""
        click.echo(f"{result:9} {tenant.slug}{detail}")
    return {tenant.slug: result for tenant, result, _changes in outcome}


@tenants.command("sync")
@click.option("--path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder of <slug>/tenant.toml manifests (default: MARKETPLACE_TENANTS_PATH)")
def sync_command(path: Path | None):
    """Create or update tenants from their manifests; prints what changed."""
    root = path or Path(current_app.config["MARKETPLACE"]["TENANTS_PATH"])
    outcome = sync_all(root)
    counts = {k: list(outcome.values()).count(k) for k in ("created", "updated", "unchanged")}
    click.echo(f"{len(outcome)} manifests: {counts['created']} created, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged")


@tenants.command("create")
@click.argument("slug")
@click.option("--kind", type=click.Choice(["street", "market"]), required=True)
@click.option("--name-zh", required=True, help="Chinese name, e.g. 德化步行街")
@click.option("--name-en", required=True, help="English name")
@click.option("--theme", default=None, help="theme (default: street or market, by kind)")
def create_command(slug, kind, name_zh, name_en, theme):
    """Create a tenant in draft; launch it from the operator console."""
    if theme and theme not in current_app.extensions["themes"]:
        raise click.BadParameter(f"theme {theme!r} is not installed", param_hint="--theme")
    try:
        with writing():
            tenant = services.create_tenant(slug, kind, name_zh, name_en, theme=theme)
            db.session.commit()
    except services.TenantError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {tenant.slug} ({tenant.kind}, draft) — /t/{tenant.slug}/")


@tenants.command("list")
def list_command():
    """List every tenant with its kind, status and number of shops."""
    with all_tenants():  # counting shops of every tenant
        counts = dict(db.session.execute(select(Shop.tenant_id, func.count()).group_by(Shop.tenant_id)).all())
    rows = db.session.scalars(select(Tenant).order_by(Tenant.id)).all()
    if not rows:
        click.echo("no tenants yet: run `flask tenants sync` or `flask tenants create`")
    for tenant in rows:
        click.echo(f"{tenant.slug:24} {tenant.kind:7} {tenant.status:10} {counts.get(tenant.id, 0):4} shops  "
                   f"{tenant.name_zh} / {tenant.name_en}")


def register(app) -> None:
    app.cli.add_command(tenants)
