"""``flask demo``: the demo city, idempotently, with its logins printed."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from marketplace.core.db import writing
from marketplace.demo.catalog_loader import load_demo_catalog, plan_demo_catalog
from marketplace.demo.loader import load_demo
from marketplace.extensions import db
from marketplace.tenancy.cli import sync_all
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.trust.credit import refresh_credit


@click.command("demo")
def demo_command():
    """Create the demo tenants, operators, merchants, shops and residents (safe to run again)."""
    # Only missing tenants: what an operator changed in the console since stays as they left it.
    sync_all(Path(current_app.config["MARKETPLACE"]["TENANTS_PATH"]), only_missing=True)
    with writing():
        report = load_demo()
        plan = plan_demo_catalog()
        with click.progressbar(length=plan.steps, label="demo catalog", hidden=not plan.steps) as bar:
            products = load_demo_catalog(plan, progress=bar.update)
        _refresh_credit()
        _seal_orders()
        db.session.commit()
    if report.created or products:
        click.echo(f"demo: {len(report.created)} records created, {products} products")
    else:
        click.echo("demo: already loaded, nothing changed")
    click.echo("\nDemo logins (login / password):")
    for role, name, login, password in report.logins:
        click.echo(f"  {role:16} {login:42} {password:20} {name}")


def _refresh_credit() -> None:
    """Every demo shop's stored credit standing, so search's 信用 sort and filter have something to go by
    without waiting for the daily ``flask trust credit``."""
    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    for tenant in tenants:
        with tenant_scope(tenant):
            refresh_credit()


def _seal_orders() -> None:
    """Seal what the hourly ``flask orders seal`` would, so the demo's order records are tamper-evident (PC-8) from
    the start. With the usual settling time: the demo may be loaded again while the site takes orders, and sealing
    up to this very moment could leave out a checkout still committing."""
    from marketplace.orders import seals

    with all_tenants():
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
    for tenant in tenants:
        with tenant_scope(tenant):
            seals.seal(tenant)


def register(app) -> None:
    app.cli.add_command(demo_command)
