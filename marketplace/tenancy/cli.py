"""``flask tenants sync | create | list``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy import manifests, services
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant

tenants = AppGroup("tenants", help="Create, list and sync tenants (streets and markets).")


def sync_all(root: Path, *, echo=click.echo) -> dict[str, str]:
    """Apply every manifest under ``root`` in one transaction; nothing is applied if one is invalid."""
    themes = set(current_app.extensions["themes"])
    paths = manifests.discover_manifests(root)
    loaded, problems = [], []
    for path in paths:
        try:
            loaded.append(manifests.load_manifest(path, themes))
        except manifests.ManifestError as error:
            problems.append(str(error))
    if problems:
        raise click.ClickException("invalid manifests, nothing applied:\n" + "\n".join(problems))
    outcome = {}
    try:
        for manifest in loaded:
            tenant, result, changes = manifests.sync_manifest(manifest)
            outcome[tenant.slug] = result
            detail = f" ({', '.join(changes)})" if result == "updated" else ""
            echo(f"{result:9} {tenant.slug}{detail}")
    except manifests.ManifestError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    return outcome


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
        tenant = services.create_tenant(slug, kind, name_zh, name_en, theme=theme)
    except services.TenantError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
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
