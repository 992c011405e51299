"""The statistics in the consoles.

* ``/operator/reports``: the whole city for platform admins, by tenant, district, category and trade type; the
  monthly return is archived from here (SR-3).
* ``/operator/<tenant>/reports``: one tenant's figures for its operators (an operator of another tenant is
  refused, as on every operator page).
* ``/merchant/<tenant>/<shop>/reports``: a shop's own figures for its owners and staff, without suppression.

``?period=`` picks the day, month, quarter or year (this month by default); ``&format=csv|xlsx`` downloads the
return instead of showing it. Charts are SVG drawn here.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.accounts.authz import Permission, require
from marketplace.core import audit
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.reports import archive, charts, definitions, exports
from marketplace.reports.figures import Figures, Scope, figures
from marketplace.shops import services as shops
from marketplace.tenancy.context import current_tenant

city_blueprint = Blueprint("operator_city_reports", __name__, url_prefix="/operator/reports")
operator_blueprint = Blueprint("operator_reports", __name__, url_prefix="/operator/<slug:tenant_slug>/reports")
merchant_blueprint = Blueprint("merchant_reports", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/reports")
FORMATS = ("csv", "xlsx")
CITY_BREAKDOWNS = ("tenant", "district", "category", "kind")
TENANT_BREAKDOWNS = ("category",)
SHOP_BREAKDOWNS = ("category",)


def _period() -> tuple[definitions.Period, str]:
    """The period asked for, or this month with the reason it was not understood."""
    asked = request.args.get("period", "").strip()
    if not asked:
        return definitions.current_month(utcnow()), ""
    try:
        return definitions.parse_period(asked), ""
    except definitions.PeriodError as error:
        return definitions.current_month(utcnow()), str(error)


def _charts(found: Figures) -> list:
    step = _("按日") if found.period.series_step == "day" else _("按月")
    drawn = [charts.columns(f"{definitions.INDICATORS['gmv'][0]}（{step}）",
                            [(r.key, r.values["gmv"]) for r in found.series], "gmv"),
             charts.columns(f"{definitions.INDICATORS['orders'][0]}（{step}）",
                            [(r.key, r.values["orders"]) for r in found.series], "orders")]
    for name, rows in found.breakdowns.items():
        drawn.append(charts.bars(f"{definitions.INDICATORS['gmv'][0]} · {definitions.BREAKDOWNS[name][0]}",
                                 [(r.label, r.values["gmv"]) for r in rows], "gmv"))
    return drawn


def _answer(found: Figures, problem: str, **context):
    fmt = request.args.get("format", "")
    if fmt and fmt not in FORMATS:
        problem = problem or _("下载格式只能是 csv 或 xlsx。")
    if fmt in FORMATS and not problem:
        data = exports.xlsx_bytes(found) if fmt == "xlsx" else exports.csv_bytes(found)
        mimetype = exports.XLSX_MIMETYPE if fmt == "xlsx" else "text/csv"
        response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                             download_name=exports.filename(found, fmt), max_age=0)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    if problem:
        flash(problem, "error")
    return render_template("console/reports/report.html", found=found, charts=_charts(found),
                           indicators=definitions.INDICATORS, meanings=definitions.MEANINGS,
                           breakdown_names=definitions.BREAKDOWNS, money=definitions.MONEY,
                           min_cell=definitions.MIN_CELL, **context), 400 if problem else 200


# -- the whole city -------------------------------------------------------------------------------------------------

@city_blueprint.route("")
@login_required
def city():
    require(Permission.manage_platform)
    period, problem = _period()
    found = figures(Scope(), period, CITY_BREAKDOWNS)
    return _answer(found, problem, heading=_("全市电子商务统计"), here=url_for("operator_city_reports.city"),
                   archived=[(r.version, r.submitted_at.astimezone(definitions.STATISTICS_ZONE).strftime("%Y-%m-%d %H:%M"),
                              r.note) for r in archive.submitted(period.label)] if period.kind == "month" else [],
                   may_submit=period.kind == "month")


@city_blueprint.route("/submit", methods=["POST"])
@login_required
def submit():
    """Archive the month's return as it stands now (a correction is a new version)."""
    require(Permission.manage_platform)
    period, problem = _period()
    if problem or period.kind != "month":
        flash(problem or _("只能报送整月的月报。"), "error")
        return redirect(url_for("operator_city_reports.city")), 303
    try:
        saved = archive.submit(period, submitted_by=current_user, now=utcnow(), note=request.form.get("note", ""))
    except archive.ArchiveError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        # The city's return concerns no single tenant: a platform-wide entry.
        audit.record("statistics.return_submitted", target=saved, tenant=None, period=saved.period,
                     version=saved.version, note=saved.note)
        db.session.commit()
        flash(_("%(period)s 月报已存档（第 %(version)d 版）。", period=saved.period, version=saved.version), "success")
    return redirect(url_for("operator_city_reports.city", period=period.label)), 303


# -- one tenant -----------------------------------------------------------------------------------------------------

@operator_blueprint.route("")
@login_required
def tenant_reports():
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    period, problem = _period()
    found = figures(Scope(tenant=tenant), period, TENANT_BREAKDOWNS)
    return _answer(found, problem, heading=_("%(tenant)s 电子商务统计", tenant=tenant.name_zh),
                   here=url_for("operator_reports.tenant_reports"), back=url_for("operator.tenant"))


# -- one shop -------------------------------------------------------------------------------------------------------

@merchant_blueprint.route("")
@login_required
def shop_reports(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.view_shop, shop)
    period, problem = _period()
    found = figures(Scope(tenant=current_tenant._get_current_object(), shop=shop), period, SHOP_BREAKDOWNS)
    return _answer(found, problem, heading=_("%(shop)s 经营统计", shop=shop.name_zh),
                   here=url_for("merchant_reports.shop_reports", shop_slug=shop.slug),
                   back=url_for("merchant.shop", shop_slug=shop.slug))


def register(app) -> None:
    for blueprint in (city_blueprint, operator_blueprint, merchant_blueprint):
        app.register_blueprint(blueprint)
    # The statistics office's JSON lives with the rest of the API (its docs, its problem answers).
    from marketplace.api import statistics

    statistics.register(app.extensions["flask-smorest"]["apis"][""]["ext_obj"])
