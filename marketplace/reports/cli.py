"""``flask reports export | submit | identity``: the statistics return and the half-yearly identity report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.accounts import services as accounts
from marketplace.core.db import utcnow, writing
from marketplace.extensions import db
from marketplace.reports import archive, definitions, exports, identity
from marketplace.reports.figures import Scope, figures
from marketplace.reports.views import CITY_BREAKDOWNS, TENANT_BREAKDOWNS
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant

reports = AppGroup("reports", help="The city's e-commerce statistics (电子商务统计报表).")


def _period(text: str) -> definitions.Period:
    try:
        return definitions.parse_period(text)
    except definitions.PeriodError as error:
        raise click.BadParameter(str(error), param_hint="--period") from None


@reports.command("export")
@click.option("--period", "period_text", required=True, help="2026-11, 2026-Q4, 2026 or 2026-11-05 (Beijing time)")
@click.option("--format", "fmt", type=click.Choice(("xlsx", "csv")), default="xlsx",
              show_default=True)
@click.option("--tenant", "tenant_slug", default=None, help="one tenant's figures instead of the whole city")
@click.option("--output", "output", default=None,
              help="file to write (default: statistics-<scope>-<period>.<format> here; '-' for standard output)")
def export_command(period_text, fmt, tenant_slug, output):
    """Write the return of a period as XLSX (a sheet per breakdown, a definitions sheet) or CSV."""
    period = _period(period_text)
    if tenant_slug:
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
        if tenant is None:
            raise click.BadParameter(f"no tenant {tenant_slug!r}", param_hint="--tenant")
        with tenant_scope(tenant):
            found = figures(Scope(tenant=tenant), period, TENANT_BREAKDOWNS)
    else:
        found = figures(Scope(), period, CITY_BREAKDOWNS)
    data = exports.xlsx_bytes(found) if fmt == "xlsx" else exports.csv_bytes(found)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(output or exports.filename(found, fmt))
    target.write_bytes(data)
    click.echo(f"wrote {target} ({len(data)} bytes)", err=True)


@reports.command("submit")
@click.option("--period", "period_text", required=True, help="the month, e.g. 2026-11 (it must have ended)")
@click.option("--admin", "identifier", default=None, help="email or mobile of the platform admin submitting it")
@click.option("--note", default="", help="why (for a correction)")
def submit_command(period_text, identifier, note):
    """Archive the month's return as submitted; submitting again archives a correction as a new version."""
    period = _period(period_text)
    admin = None
    if identifier:
        admin = accounts.find_user(identifier)
        if admin is None:
            raise click.BadParameter(f"no account {identifier!r}", param_hint="--admin")
    with writing():
        try:
            saved = archive.submit(period, submitted_by=admin, now=utcnow(), note=note)
        except archive.ArchiveError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
    click.echo(f"return {saved.period} archived as version {saved.version}")


@reports.command("identity")
@click.option("--half", "half_text", required=True, help="the half-year, e.g. 2026-H2 (filed in January 2027)")
@click.option("--output", default=None, help="XLSX file to write (default: merchant-identity-<half>.xlsx here)")
@click.option("--submit", "submit_it", is_flag=True, help="also archive it as submitted (the half must have ended)")
@click.option("--admin", "identifier", default=None, help="email or mobile of the platform admin submitting it")
def identity_command(half_text, output, submit_it, identifier):
    """The half-yearly report of merchants' identity (each January and July) as XLSX; --submit archives it."""
    try:
        half = identity.parse_half(half_text)
    except archive.ArchiveError as error:
        raise click.BadParameter(str(error), param_hint="--half") from None
    admin = accounts.find_user(identifier) if identifier else None
    if identifier and admin is None:
        raise click.BadParameter(f"no account {identifier!r}", param_hint="--admin")
    target = Path(output or f"merchant-identity-{half.label}.xlsx")
    target.write_bytes(identity.xlsx_bytes(identity.rows()))
    click.echo(f"wrote {target}", err=True)
    if submit_it:
        with writing():
            try:
                saved = identity.submit(half, now=utcnow(), submitted_by=admin)
            except archive.ArchiveError as error:
                db.session.rollback()
                raise click.ClickException(str(error)) from None
            db.session.commit()
        click.echo(f"identity report {saved.period} archived as version {saved.version}")


def register(app) -> None:
    app.cli.add_command(reports)
