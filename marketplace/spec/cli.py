"""``flask spec …``: check tenants against the platform service specification, and write its documents.

* ``flask spec check [--tenant SLUG] [--format text|json|html] [--save]``: every requirement for one tenant or
  all; exits 1 when a "must" fails (or a check breaks), so it can gate a deployment. ``--save`` stores the
  run, which the operator console then shows.
* ``flask spec docs``: rewrite ``docs/spec/`` from the data.
"""

from __future__ import annotations

import json
import sys

import click
from flask import render_template
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.core.db import writing
from marketplace.extensions import db
from marketplace.spec import docs, reports
from marketplace.spec.model import Status
from marketplace.spec.runner import Report, run
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant

spec = AppGroup("spec", help="The platform service specification: conformance checks and documents.")


def _tenants(slug: str | None) -> list[Tenant]:
    with all_tenants():
        query = select(Tenant).order_by(Tenant.slug)
        if slug:
            query = query.where(Tenant.slug == slug)
        return list(db.session.scalars(query))


def as_json(report: Report) -> dict:
    return {"tenant": report.tenant_slug, "spec_version": report.spec_version, "at": report.at.isoformat(),
            "conforms": report.conforms, "counts": reports.counts_of(report),
            "must_failures": [r.requirement.id for r in report.must_failures], "results": reports.results_of(report)}


def as_text(report: Report) -> str:
    lines = [f"== {report.tenant_slug} (spec {report.spec_version}, {report.at:%Y-%m-%d %H:%M} UTC)"]
    for result in report.results:
        lines.append(f"{result.requirement.id:6} {result.finding.status.value:14} {result.requirement.severity.value:6} "
                     f"{result.finding.detail}")
        if result.fails and result.finding.evidence:
            lines.append(f"{'':28}{', '.join(result.finding.evidence)}")
    counts = ", ".join(f"{status.value} {report.count(status)}" for status in Status)
    failures = ", ".join(r.requirement.id for r in report.must_failures) or "none"
    lines.append(f"-- {report.tenant_slug}: {counts}; failing musts: {failures}")
    return "\n".join(lines)


@spec.command("check")
@click.option("--tenant", "slug", help="One tenant's slug (default: every tenant).")
@click.option("--format", "output", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.option("--save", is_flag=True, help="Store each run for the operator console's history.")
def check_command(slug: str | None, output: str, save: bool):
    """Decide every requirement for the tenant(s); exit 1 when a "must" fails."""
    tenants = _tenants(slug)
    if slug and not tenants:
        raise click.UsageError(f"no tenant {slug!r}")
    runs = []
    for tenant in tenants:
        report = run(tenant)
        if save:
            with writing(), tenant_scope(tenant):
                reports.save(tenant, report)
                db.session.commit()
        runs.append((tenant, report))
    if output == "json":
        click.echo(json.dumps([as_json(report) for _tenant, report in runs], ensure_ascii=False, indent=2))
    elif output == "html":
        click.echo(render_template("spec/report.html", status_labels=reports.STATUS_LABELS,
                                   severity_labels=reports.SEVERITY_LABELS, runs=[
                                       (tenant, report, reports.grouped(reports.results_of(report)))
                                       for tenant, report in runs]))
    else:
        click.echo("\n\n".join(as_text(report) for _tenant, report in runs))
    if any(not report.conforms for _tenant, report in runs):
        sys.exit(1)


@spec.command("docs")
def docs_command():
    """Rewrite docs/spec/ (README.md, zh.md, en.md) from the specification data."""
    for path in docs.write():
        click.echo(f"wrote {path}")


def register(app) -> None:
    app.cli.add_command(spec)
