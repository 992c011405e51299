"""Conformance pages.

* ``/operator/<tenant>/conformance`` (``operate_tenant``): the latest stored run grouped by part, failures first
  with why; "run now" stores a new run; the history of runs; and, when the latest run has no failing "must",
  the signed conformance statement.
* ``/verify/conformance/<tenant>`` (public, no login): the tenant's latest statement with its payload and
  signature, checkable offline with the key at ``/verify/keys``; ``.json`` gives the same as data.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from marketplace.accounts.authz import Permission, require
from marketplace.core import audit
from marketplace.core.config import ConfigError
from marketplace.core.themes import render_themed
from marketplace.extensions import db
from marketplace.spec import reports, statement
from marketplace.spec.runner import run
from marketplace.tenancy.context import all_tenants, current_tenant, tenant_scope
from marketplace.tenancy.models import Tenant, TenantStatus

operator_blueprint = Blueprint("operator_conformance", __name__, url_prefix="/operator/<slug:tenant_slug>")
public_blueprint = Blueprint("conformance", __name__, url_prefix="/verify/conformance")


class ConfirmForm(FlaskForm):
    """A button: only the CSRF token."""


def _back():
    return redirect(url_for("operator_conformance.conformance")), 303


@operator_blueprint.route("/conformance")
@login_required
def conformance():
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    latest = reports.latest(tenant)
    return render_template("console/spec/conformance.html", tenant=tenant, latest=latest,
                           parts=reports.grouped(latest.results) if latest else [],
                           history=reports.history(tenant), form=ConfirmForm(), status_labels=reports.STATUS_LABELS,
                           severity_labels=reports.SEVERITY_LABELS)


@operator_blueprint.route("/conformance/run", methods=["POST"])
@login_required
def run_now():
    require(Permission.operate_tenant, current_tenant)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    tenant = current_tenant._get_current_object()
    stored = reports.save(tenant, run(tenant), actor_id=current_user.id)
    audit.record("conformance.run", target=stored, spec_version=stored.spec_version,
                 must_failures=stored.must_failures)
    db.session.commit()
    if stored.conforms:
        flash(_("检查完成：所有“必须”项均已通过。"), "success")
    else:
        flash(_("检查完成：%(n)d 项“必须”要求未通过。", n=stored.must_failures), "error")
    return _back()


@operator_blueprint.route("/conformance/statement", methods=["POST"])
@login_required
def issue_statement():
    require(Permission.operate_tenant, current_tenant)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    tenant = current_tenant._get_current_object()
    latest = reports.latest(tenant)
    if latest is None:
        flash(_("请先运行一次检查。"), "error")
        return _back()
    already_signed = bool(latest.statement_signature)
    try:
        statement.issue(tenant, latest)
    except (statement.StatementError, ConfigError) as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        if not already_signed:  # issuing again keeps the first statement: nothing new to record
            audit.record("conformance.statement_issued", target=latest, spec_version=latest.spec_version)
        db.session.commit()
        flash(_("符合性声明已签发并公开。"), "success")
    return _back()


def _live_tenant_or_404(slug: str) -> Tenant:
    with all_tenants():
        found = db.session.scalar(select(Tenant).where(Tenant.slug == slug, Tenant.status == TenantStatus.live))
    if found is None:
        abort(404)
    return found


@public_blueprint.route("/<slug:tenant>")
@public_blueprint.route("/<slug:tenant>.json", endpoint="statement_json")
def statement_page(tenant: str):
    from flask import request

    found = _live_tenant_or_404(tenant)
    with tenant_scope(found):
        signed = statement.latest_statement(found)
        latest = reports.latest(found)
    if signed is None:
        abort(404)
    valid = statement.valid(signed)
    # A later run that fails a "must" does not rewrite the signed statement, but a reader must learn of it.
    superseded = latest is not None and latest.id != signed.id and not latest.conforms
    if request.endpoint == "conformance.statement_json":
        return jsonify({"tenant": found.slug, "payload": signed.statement_payload,
                        "signature": signed.statement_signature, "signature_valid": valid,
                        "later_run_fails": superseded, "key": url_for("badges.keys", _external=True)})
    return render_themed("spec/statement.html", tenant=found, signed=signed, valid=valid, superseded=superseded,
                         latest=latest, fields=statement.PAYLOAD_FIELDS)


def register(app) -> None:
    from marketplace.tenancy import agreement_views

    app.register_blueprint(operator_blueprint)
    app.register_blueprint(public_blueprint)
    # The agreement and rules pages live with the tenancy domain; they are what PC-1 to PC-6 check.
    agreement_views.register(app)
