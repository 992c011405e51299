"""Enforcement pages (``trust.enforcement``).

* Operator, ``/operator/<tenant>/enforcement``: take a listing down, sanction a shop, announce a shop's closing,
  and see what was done; ``takedowns.csv?period=YYYY-MM`` is the regulator's monthly report of takedowns (a read:
  marking that month reported is a separate POST, ``takedowns/reported``). ``takedowns/release`` ends a
  takedown's hold on its product. Every operator action leaves an audit entry.
  Shops and products are picked by id in the form: another tenant's id is "not found" (a message), never acted on.
* Merchant (shop owner), ``/merchant/<tenant>/<shop>/closing``: announce the shop's last trading day.
* Public, ``/t/<tenant>/sanctions``: the sanctions in force (shop, violation, measure, dates).
* ``flask trust enforcement`` (hourly) reopens shops whose suspension ended and closes shops past their last day;
  ``flask trust takedowns-report --period YYYY-MM`` writes the regulator's CSV for every tenant.

Bad input answers with a message (a flash), never a server error.
"""

from __future__ import annotations

import io
import sys
from datetime import date

import click
from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.accounts.authz import Permission, require
from marketplace.catalog.models import Product
from marketplace.core import audit
from marketplace.core.db import MAX_ID, utcnow, writing
from marketplace.core.themes import render_themed
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, current_tenant, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.trust import enforcement
from marketplace.trust.enforcement import EnforcementError, SanctionMeasure, TakedownReason

operator_blueprint = Blueprint("operator_enforcement", __name__, url_prefix="/operator/<slug:tenant_slug>")
merchant_blueprint = Blueprint("merchant_closing", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>")
public_blueprint = Blueprint("sanctions", __name__, url_prefix="/t/<slug:tenant_slug>")


def _day(raw: str | None) -> date | None:
    """A YYYY-MM-DD form field, or None when empty; ``EnforcementError`` when it is not a date."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise EnforcementError(_("日期格式应为 YYYY-MM-DD。")) from None


def _id(raw: str | None) -> int | None:
    """A form's row id, or None when it cannot be one. ``isdigit`` alone accepts "²" and other digits ``int``
    refuses, so only ASCII digits count."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        return None
    number = int(raw)
    return number if number <= MAX_ID else None


def _back():
    return redirect(url_for("operator_enforcement.enforcement")), 303


def _refused(error: EnforcementError):
    db.session.rollback()
    flash(str(error), "error")
    return _back()


# -- operator -----------------------------------------------------------------------------------------------------

@operator_blueprint.route("/enforcement", endpoint="enforcement")
@login_required
def enforcement_page():
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    now = utcnow()
    return render_template("console/enforcement/operator.html", tenant=tenant, now=now,
                           takedowns=enforcement.recent_takedowns(), sanctions=enforcement.all_sanctions(),
                           notices=enforcement.recent_notices(), shops=shops.shops_of_current_tenant(),
                           tenant_closing=enforcement.tenant_closing(now),
                           reasons=TakedownReason, measures=SanctionMeasure,
                           earliest=enforcement.earliest_last_day(tenant, now),
                           period=enforcement.today(tenant, now).strftime("%Y-%m"))


def _shop_from_form() -> Shop:
    shop_id = _id(request.form.get("shop_id"))
    shop = db.session.scalar(select(Shop).where(Shop.id == shop_id)) if shop_id else None  # the guard: this tenant
    if shop is None:
        raise EnforcementError(_("本商业街/市场没有这家店铺。"))
    return shop


@operator_blueprint.route("/takedowns", methods=["POST"])
@login_required
def take_down():
    require(Permission.operate_tenant, current_tenant)
    product_id = _id(request.form.get("product_id"))
    product = db.session.scalar(select(Product).where(Product.id == product_id)) if product_id else None
    try:
        if product is None:
            raise EnforcementError(_("本商业街/市场没有编号为 %(id)s 的商品。", id=request.form.get("product_id", "")))
        record = enforcement.take_down(product, request.form.get("reason", ""), request.form.get("reason_text", ""),
                                       actor=current_user)
    except EnforcementError as error:
        return _refused(error)
    audit.record("enforcement.takedown", target=("takedown", record.id), product_id=record.product_id,
                 product=record.product_title, shop=record.shop_name, reason=record.reason,
                 reason_text=record.reason_text)
    db.session.commit()
    flash(_("已下架“%(title)s”（%(shop)s），下架记录已保存并将列入监管报告。", title=record.product_title,
            shop=record.shop_name), "success")
    return _back()


@operator_blueprint.route("/sanctions", methods=["POST"])
@login_required
def impose():
    require(Permission.operate_tenant, current_tenant)
    try:
        shop = _shop_from_form()
        sanction = enforcement.impose(shop, request.form.get("measure", ""), request.form.get("violation", ""),
                                      until=_day(request.form.get("until")), actor_id=current_user.id)
    except EnforcementError as error:
        return _refused(error)
    audit.record("enforcement.sanction", target=("sanction", sanction.id), shop_id=sanction.shop_id,
                 shop=sanction.shop_name, measure=sanction.measure, violation=sanction.violation, until=sanction.until)
    db.session.commit()
    flash(_("已对“%(shop)s”采取%(measure)s措施，并已公示。", shop=sanction.shop_name, measure=sanction.measure_label),
          "success")
    return _back()


@operator_blueprint.route("/closing-notices", methods=["POST"])
@login_required
def announce_closing():
    require(Permission.operate_tenant, current_tenant)
    try:
        shop = _shop_from_form()
        notice = enforcement.announce_closing(shop, _day(request.form.get("last_day")), actor_id=current_user.id,
                                              by_operator=True, note=request.form.get("note", ""))
    except EnforcementError as error:
        return _refused(error)
    audit.record("enforcement.closing_announced", target=("closing_notice", notice.id), shop_id=shop.id,
                 shop=shop.name_zh, last_day=notice.last_day, note=notice.note)
    db.session.commit()
    flash(_("已公示：“%(shop)s”将于 %(date)s 终止经营。", shop=shop.name_zh, date=notice.last_day.isoformat()),
          "success")
    return _back()


@operator_blueprint.route("/closing-notices/tenant", methods=["POST"])
@login_required
def announce_tenant_closing():
    """The whole street or market stops trading: every page of it says so from now until the last day."""
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    try:
        notice = enforcement.announce_tenant_closing(tenant, _day(request.form.get("last_day")),
                                                     actor_id=current_user.id, note=request.form.get("note", ""))
    except EnforcementError as error:
        return _refused(error)
    audit.record("enforcement.tenant_closing_announced", target=("tenant_closing", notice.id),
                 last_day=notice.last_day, note=notice.note)
    db.session.commit()
    flash(_("已公示：本商业街/市场将于 %(date)s 后终止经营。", date=notice.last_day.isoformat()), "success")
    return _back()


@operator_blueprint.route("/takedowns.csv")
@login_required
def takedowns_report():
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    period = request.args.get("period", "")
    try:
        data, _count = enforcement.takedowns_report(tenant, period)
    except EnforcementError as error:
        return _refused(error)
    response = send_file(io.BytesIO(data), mimetype="text/csv", as_attachment=True, max_age=0,
                         download_name=f"takedowns-{tenant.slug}-{period.strip()}.csv")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@operator_blueprint.route("/takedowns/reported", methods=["POST"])
@login_required
def mark_reported():
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    period = request.form.get("period", "").strip()
    try:
        count = enforcement.mark_period_reported(tenant, period)
    except EnforcementError as error:
        return _refused(error)
    audit.record("enforcement.takedowns_reported", target=("takedown_period", period), period=period, marked=count)
    db.session.commit()
    flash(_("已将 %(period)s 的 %(n)d 条下架记录标记为已报告。", period=period, n=count), "success")
    return _back()


@operator_blueprint.route("/takedowns/release", methods=["POST"])
@login_required
def release_takedown():
    require(Permission.operate_tenant, current_tenant)
    record = enforcement.takedown_of_current_tenant(_id(request.form.get("takedown_id")))  # the guard: this tenant
    try:
        if record is None:
            raise EnforcementError(_("本商业街/市场没有这条下架记录。"))
        enforcement.release(record, request.form.get("reason", ""), actor_id=current_user.id)
    except EnforcementError as error:
        return _refused(error)
    audit.record("enforcement.takedown_released", target=("takedown", record.id), product_id=record.product_id,
                 product=record.product_title, reason=record.release_reason)
    db.session.commit()
    flash(_("已解除对“%(title)s”的下架，经营者可重新上架该商品。", title=record.product_title), "success")
    return _back()


# -- merchant -----------------------------------------------------------------------------------------------------

@merchant_blueprint.route("/closing", methods=["GET", "POST"])
@login_required
def closing(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.edit_shop, shop)
    tenant = current_tenant._get_current_object()
    if request.method == "POST":
        try:
            notice = enforcement.announce_closing(shop, _day(request.form.get("last_day")), actor_id=current_user.id,
                                                  by_operator=False, note=request.form.get("note", ""))
        except EnforcementError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("已公示：本店将于 %(date)s 终止经营。", date=notice.last_day.isoformat()), "success")
        return redirect(url_for("merchant_closing.closing", shop_slug=shop.slug)), 303
    return render_template("console/enforcement/closing.html", shop=shop, tenant=tenant,
                           notice=enforcement.pending_notice(shop), earliest=enforcement.earliest_last_day(tenant),
                           days=enforcement.CLOSING_NOTICE_DAYS)


# -- public -------------------------------------------------------------------------------------------------------

@public_blueprint.route("/sanctions")
def public_sanctions():
    return render_themed("tenant/sanctions.html", sanctions=enforcement.public_sanctions())


def shop_standing(shop: Shop):
    """For the shop and licence pages: the sanctions in force and the announced closing."""
    return enforcement.standing(shop)


# -- jobs ---------------------------------------------------------------------------------------------------------

def _tenants(slug: str | None) -> list[Tenant]:
    with all_tenants():
        query = select(Tenant).order_by(Tenant.id)
        if slug:
            query = query.where(Tenant.slug == slug)
        return list(db.session.scalars(query))


@click.command("enforcement")
def enforcement_command():
    """Reopen shops whose suspension ended and close shops past their announced last day (hourly)."""
    for tenant in _tenants(None):
        with writing(), tenant_scope(tenant):
            done = enforcement.apply_due()
            db.session.commit()
        if done.reopened or done.closed:
            click.echo(_("%(tenant)s：恢复营业 %(reopened)d 家，终止经营 %(closed)d 家。", tenant=tenant.slug,
                         reopened=done.reopened, closed=done.closed))
        if done.tenant_closed:
            click.echo(_("%(tenant)s：已过公示的最后经营日，本商业街/市场终止经营。", tenant=tenant.slug))


@click.command("takedowns-report")
@click.option("--period", required=True, help="The month, YYYY-MM (each tenant's calendar).")
@click.option("--tenant", "tenant_slug", default=None, help="Only this tenant (its slug); every tenant by default.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the CSV to this file instead of standard output.")
def takedowns_report_command(period: str, tenant_slug: str | None, output: str | None):
    """The regulator's CSV of takedowns in a month, all tenants in one file; marks the rows as reported."""
    tenants = _tenants(tenant_slug)
    if tenant_slug and not tenants:
        raise click.UsageError(f"no tenant {tenant_slug!r}")
    rows = []
    try:
        with writing():
            for tenant in tenants:
                with tenant_scope(tenant):
                    records = enforcement.takedowns_of_period(tenant, period)
                    rows += enforcement.report_rows(tenant, records)
                    enforcement.mark_reported(records)
            data = enforcement.write_report(rows)
            db.session.commit()
    except EnforcementError as error:
        raise click.UsageError(str(error)) from None
    if output:
        with open(output, "wb") as file:
            file.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    click.echo(_("共 %(n)d 条下架记录。", n=len(rows)), err=True)


def tenant_closing_notice():
    """For every page of a tenant: its announced closing, read once per request."""
    tenant = current_tenant._get_current_object()
    if tenant is None or tenant.closing_on is None:
        return None
    if "tenant_closing" not in g:
        g.tenant_closing = enforcement.tenant_closing()
    return g.tenant_closing


def register(app) -> None:
    from marketplace.storefront.views import open_only
    from marketplace.trust.cli import trust

    open_only(public_blueprint)  # like the shop page: a draft or suspended tenant's pages are closed
    for blueprint in (operator_blueprint, merchant_blueprint, public_blueprint):
        app.register_blueprint(blueprint)
    app.add_template_global(shop_standing, "shop_standing")
    app.add_template_global(tenant_closing_notice, "tenant_closing_notice")
    # The trust command group is the place for these jobs; adding the same command again is harmless.
    trust.add_command(enforcement_command)
    trust.add_command(takedowns_report_command)
