"""Settlement statements in the consoles.

``/merchant/<tenant>/<shop>/statements`` lists a shop's statements with their status and net due; one statement
shows its lines (the ledger of its period) and downloads as CSV or XLSX. ``/operator/<tenant>/statements`` lists
every shop's statements of the tenant, filtered by status and shop; on a closed statement the operator records
the payout (for the ``manual`` provider: the bank transfer's reference and day), and chooses weekly or monthly
statements for the tenant.

Who sees statements: the shop's **owners**, not its staff. A statement is the shop's claim on the platform and
carries the payout's bank reference: the business's finances, like the shop's legal identity, which only owners
edit (``Permission.edit_shop``). Staff keep the ledger (``/ledger``), which they need to check the day's orders
and refunds. Operators of the tenant see all shops' statements. The shop is loaded among the current tenant's by
slug, the statement among that shop's (or, for operators, that tenant's) by id: anything else is 404.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from marketplace.accounts.authz import Permission, require
from marketplace.core.views import Page, page_arg
from marketplace.extensions import db
from marketplace.payments import payouts, settlement
from marketplace.payments.settlement import SettlementStatement, StatementStatus
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import current_tenant

merchant_blueprint = Blueprint("merchant_statements", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/statements")
operator_blueprint = Blueprint("operator_statements", __name__, url_prefix="/operator/<slug:tenant_slug>/statements")

#: Owners only (see the module docstring).
SEE_STATEMENTS = Permission.edit_shop
PAGE_SIZE = 50
MAX_PAGE = 10_000
FORMATS = ("csv", "xlsx")


def _tenant():
    return current_tenant._get_current_object()


def _page(conditions: list, number: int) -> Page:
    """Latest periods first."""
    total = db.session.scalar(select(func.count(SettlementStatement.id)).where(*conditions))
    found = list(db.session.scalars(
        select(SettlementStatement).where(*conditions).options(joinedload(SettlementStatement.shop))
        .order_by(SettlementStatement.period_start.desc(), SettlementStatement.id.desc())
        .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE))) if total else []
    return Page(found, number, total, PAGE_SIZE)


def _statement(statement_id: int, *conditions, for_update: bool = False) -> SettlementStatement:
    """A statement of the current tenant (the guard adds it) matching ``conditions``; otherwise 404."""
    if statement_id > 2**62:
        abort(404)
    query = select(SettlementStatement).where(SettlementStatement.id == statement_id, *conditions)
    if for_update:  # two clicks at once: the second sees the first one's payout
        query = query.with_for_update()
    found = db.session.scalar(query)
    if found is None:
        abort(404)
    return found


def _download(shop: Shop, statement: SettlementStatement, fmt: str):
    detail = settlement.statement_detail(_tenant(), shop, statement)
    if fmt == "xlsx":
        data, mimetype = settlement.statement_xlsx(shop, detail), settlement.XLSX_MIMETYPE
    else:
        data, mimetype = settlement.statement_csv(shop, detail), "text/csv"
    name = f"statement-{shop.slug}-{statement.period_start.isoformat()}-{statement.period_end.isoformat()}.{fmt}"
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _labels() -> dict:
    return {"labels": StatementStatus.__labels__, "statuses": StatementStatus.values(),
            "negative_note": settlement.negative_note}


# -- merchant -----------------------------------------------------------------------------------------------------

def _shop(shop_slug: str) -> Shop:
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(SEE_STATEMENTS, shop)
    return shop


@merchant_blueprint.route("")
@login_required
def index(shop_slug: str):
    shop = _shop(shop_slug)
    page = _page([SettlementStatement.shop_id == shop.id], page_arg(MAX_PAGE))
    # The period in progress shows what it stands at now; closed ones show what was frozen.
    live = {s.id: settlement.statement_detail(_tenant(), shop, s).figures
            for s in page.items if s.status == StatementStatus.open}
    return render_template("console/merchant/statements.html", shop=shop, page=page, live=live,
                           period=settlement.PERIODS[settlement.period_setting(_tenant())], **_labels())


@merchant_blueprint.route("/<int:statement_id>")
@login_required
def detail(shop_slug: str, statement_id: int):
    shop = _shop(shop_slug)
    statement = _statement(statement_id, SettlementStatement.shop_id == shop.id)
    return render_template("console/merchant/statement.html", shop=shop,
                           detail=settlement.statement_detail(_tenant(), shop, statement),
                           payout_label=_payout_label(statement), **_labels())


@merchant_blueprint.route("/<int:statement_id>.<any(csv, xlsx):fmt>")
@login_required
def download(shop_slug: str, statement_id: int, fmt: str):
    shop = _shop(shop_slug)
    return _download(shop, _statement(statement_id, SettlementStatement.shop_id == shop.id), fmt)


def _payout_label(statement: SettlementStatement) -> str:
    if not statement.payout_provider:
        return ""
    try:
        return str(payouts.payout_provider_class(statement.payout_provider).label)
    except payouts.PayoutLoadError:
        return statement.payout_provider


# -- operator -----------------------------------------------------------------------------------------------------

def _operator() -> None:
    require(Permission.operate_tenant, current_tenant)


@operator_blueprint.route("")
@login_required
def operator_index():
    _operator()
    shop_list = list(db.session.scalars(select(Shop).order_by(Shop.name_zh, Shop.id)))
    status, shop_slug = request.args.get("status", ""), request.args.get("shop", "")
    shop = next((s for s in shop_list if s.slug == shop_slug), None) if shop_slug else None
    understood = (not status or status in StatementStatus.__members__) and (not shop_slug or shop is not None)
    if not understood:
        flash(_("筛选条件无效，已显示全部结算单。"), "error")
        status, shop = "", None
    conditions = ([SettlementStatement.status == status] if status else []) + \
        ([SettlementStatement.shop_id == shop.id] if shop else [])
    due = db.session.scalar(select(func.coalesce(func.sum(SettlementStatement.net_due), 0))
                            .where(SettlementStatement.status == StatementStatus.closed))
    return render_template("console/operator/statements.html", page=_page(conditions, page_arg(MAX_PAGE)),
                           status=status, shop=shop, shops=shop_list, due=due,
                           period=settlement.period_setting(_tenant()), periods=settlement.PERIODS,
                           **_labels()), 200 if understood else 400


def _operator_detail(statement: SettlementStatement, *, error: str = "", form=None, status: int = 200):
    tenant = _tenant()
    shop = statement.shop
    provider = None
    try:
        provider = settlement.payout_provider(tenant)
    except payouts.PayoutLoadError as problem:
        error = error or _("付款方式配置有误：%(error)s", error=str(problem))
    return render_template("console/operator/statement.html", shop=shop,
                           detail=settlement.statement_detail(tenant, shop, statement), provider=provider,
                           payout_label=_payout_label(statement), error=error, form=form or {},
                           today=settlement.today_for(tenant), max_reference=payouts.MAX_REFERENCE,
                           **_labels()), status


@operator_blueprint.route("/<int:statement_id>")
@login_required
def operator_detail(statement_id: int):
    _operator()
    return _operator_detail(_statement(statement_id))


@operator_blueprint.route("/<int:statement_id>.<any(csv, xlsx):fmt>")
@login_required
def operator_download(statement_id: int, fmt: str):
    _operator()
    statement = _statement(statement_id)
    return _download(statement.shop, statement, fmt)


@operator_blueprint.route("/<int:statement_id>/payout", methods=["POST"])
@login_required
def record_payout(statement_id: int):
    """The "record payout" form (CSRF is checked for every POST before the view runs)."""
    _operator()
    statement = _statement(statement_id, for_update=True)
    form = {"reference": request.form.get("reference", ""), "paid_on": request.form.get("paid_on", "")}
    try:
        settlement.record_payout(_tenant(), statement.shop, statement, reference=form["reference"],
                                 paid_on=settlement.parse_day(form["paid_on"]), actor_id=current_user.id)
    except settlement.SettlementError as refused:
        db.session.rollback()
        return _operator_detail(_statement(statement_id), error=str(refused), form=form, status=400)
    db.session.commit()
    flash(_("已记录付款，结算单已结清。"), "success")
    return redirect(url_for(".operator_detail", statement_id=statement.id), 303)


@operator_blueprint.route("/period", methods=["POST"])
@login_required
def save_period():
    _operator()
    try:
        changed = settlement.set_period(_tenant(), request.form.get("period", ""))
    except settlement.SettlementError as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        if changed:
            flash(_("已保存结算周期，从下一期开始生效。"), "success")
    return redirect(url_for(".operator_index"), 303)
