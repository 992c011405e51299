"""Complaint pages for the resident, the merchant and the operator.

* Resident: ``/t/<tenant>/orders/<group>/<order>/complaint`` files one (their own order only: someone else's is not
  found, like a missing one); ``/t/<tenant>/complaints/<number>`` shows it with its clock and history and lets them
  accept the answer or escalate; ``/account/complaints`` lists theirs from every tenant.
* Merchant: ``/merchant/<tenant>/<shop>/complaints`` lists the shop's, the detail page answers them.
* Operator: ``/operator/<tenant>/complaints`` is the queue (overdue first), the detail page decides, and
  ``export.csv`` / ``export.xlsx`` give the regulator every complaint of a period.

Each handler loads the tenant's row (404 when absent or not the user's), checks the right, calls one service of
``trust.complaints`` and commits. A refusal is a flash message, never a server error.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.authz import Permission, require
from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.themes import render_themed
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderGroup
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, current_tenant
from marketplace.tenancy.models import Tenant
from marketplace.trust import complaints
from marketplace.trust.complaints import (
    Complaint,
    ComplaintCategory,
    ComplaintClaim,
    ComplaintError,
    ComplaintStatus,
)

resident_blueprint = Blueprint("complaints", __name__, url_prefix="/t/<slug:tenant_slug>")
account_blueprint = Blueprint("account_complaints", __name__, url_prefix="/account")
merchant_blueprint = Blueprint("merchant_complaints", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/complaints")
operator_blueprint = Blueprint("operator_complaints", __name__, url_prefix="/operator/<slug:tenant_slug>/complaints")

S = ComplaintStatus
NUMBER = re.compile(r"[A-Z0-9-]{1,32}")
LIST_LIMIT = 200
#: Longest export period, in days: the regulator asks for months, not decades.
MAX_EXPORT_DAYS = 3 * 366
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _labels() -> dict:
    return {"labels": S.__labels__, "categories": ComplaintCategory.__labels__, "claims": ComplaintClaim.__labels__,
            "now": utcnow(), "reminder_at": complaints.reminder_at}


def _complaint(*conditions) -> Complaint:
    """A complaint of the current tenant (the guard adds it) matching ``conditions``; otherwise 404. A form that
    moves it (POST) locks its row first, as the API and the deadline job do: two moves at once are taken one after
    the other, and the second sees the first."""
    number = request.view_args.get("complaint_number", "")
    if not NUMBER.fullmatch(number):
        abort(404)
    query = (select(Complaint).where(Complaint.number == number, *conditions)
             .options(joinedload(Complaint.order), joinedload(Complaint.shop), selectinload(Complaint.events)))
    if request.method == "POST":
        query = query.with_for_update(of=Complaint).execution_options(populate_existing=True)
    found = db.session.scalar(query)
    if found is None:
        abort(404)
    return found


def _people(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _refused(error: ComplaintError, back):
    db.session.rollback()
    flash(str(error), "error")
    return redirect(back), 303


# -- resident -----------------------------------------------------------------------------------------------------

def _my_order(number: str, order_number: str) -> Order:
    """The signed-in buyer's order by group and order number; someone else's is not found, like a missing one."""
    if not NUMBER.fullmatch(number) or not NUMBER.fullmatch(order_number):
        abort(404)
    order = db.session.scalar(select(Order).join(OrderGroup, Order.group_id == OrderGroup.id)
                              .where(OrderGroup.number == number, OrderGroup.buyer_id == current_user.id,
                                     Order.number == order_number, Order.buyer_id == current_user.id))
    if order is None:
        abort(404)
    return order


@resident_blueprint.route("/orders/<string(maxlength=32):number>/<string(maxlength=32):order_number>/complaint",
                          methods=["GET", "POST"])
@login_required
def new(number: str, order_number: str):
    order = _my_order(number, order_number)
    tenant = current_tenant._get_current_object()
    existing = complaints.open_complaint_of(order)
    if existing is not None:
        flash(_("这笔订单已有一件处理中的投诉。"), "info")
        return redirect(url_for("complaints.detail", complaint_number=existing.number)), 303
    fields = ("category", "description", "claim", "claim_detail", "complainant_address")
    form = {name: request.form.get(name, "") for name in fields}
    if request.method == "GET":  # where the goods went is usually where the post goes; the resident may change it
        form["complainant_address"] = complaints.shipping_address(order)
    error = None
    if request.method == "POST":
        try:
            photos = _ingest_photos()
            complaint = complaints.file_complaint(tenant, order, buyer_id=current_user.id, photos=photos, **form)
            db.session.flush()
        except ComplaintError as refused:
            db.session.rollback()
            flash(str(refused), "error")
            error = refused
        except IntegrityError:  # the same form sent twice at once: the first one is the complaint
            db.session.rollback()
            existing = complaints.open_complaint_of(order)
            if existing is None:
                raise
            flash(_("这笔订单已有一件处理中的投诉。"), "info")
            return redirect(url_for("complaints.detail", complaint_number=existing.number)), 303
        else:
            db.session.commit()
            flash(_("投诉已提交，商家须在期限内答复。"), "success")
            return redirect(url_for("complaints.detail", complaint_number=complaint.number)), 303
    hours = complaints.complaint_settings.get(tenant, "merchant_hours")
    return render_themed("complaints/new.html", order=order, form=form, merchant_hours=hours,
                         may_complain=complaints.may_complain(order), max_photos=complaints.MAX_PHOTOS,
                         max_description=complaints.MAX_DESCRIPTION, max_address=complaints.MAX_ADDRESS,
                         max_claim_detail=complaints.MAX_CLAIM_DETAIL, error_field=error.field if error else "",
                         **_labels()), \
        400 if request.method == "POST" else 200


def _ingest_photos() -> list[str]:
    """The evidence photos of the form, checked and stored by the media pipeline; their SHA-256 names."""
    return complaints.ingest_evidence([f.read() for f in request.files.getlist("photos") if f and f.filename])


@resident_blueprint.route("/complaints/<string(maxlength=32):complaint_number>")
@login_required
def detail(complaint_number: str):
    complaint = _complaint(Complaint.buyer_id == current_user.id)
    return render_themed("complaints/detail.html", complaint=complaint,
                         people=_people(e.actor_id for e in complaint.events), **_labels())


@resident_blueprint.route("/complaints/<string(maxlength=32):complaint_number>/<any(accept, escalate):action>",
                          methods=["POST"])
@login_required
def act(complaint_number: str, action: str):
    complaint = _complaint(Complaint.buyer_id == current_user.id)
    back = url_for("complaints.detail", complaint_number=complaint.number)
    try:
        if action == "accept":
            complaints.accept(complaint, actor_id=current_user.id)
        else:
            complaints.escalate(complaint, actor_id=current_user.id, reason=request.form.get("reason", ""))
    except ComplaintError as error:
        return _refused(error, back)
    db.session.commit()
    flash(_("投诉已办结。") if action == "accept" else _("已申请市场运营方处理。"), "success")
    return redirect(back), 303


@account_blueprint.route("/complaints")
@login_required
def mine():
    """The resident's complaints from every tenant, newest first."""
    with all_tenants():  # every tenant's, but only this resident's (the filter is the whole guard here)
        rows = list(db.session.scalars(select(Complaint).where(Complaint.buyer_id == current_user.id)
                                       .options(joinedload(Complaint.order), joinedload(Complaint.shop))
                                       .order_by(Complaint.filed_at.desc(), Complaint.id.desc()).limit(LIST_LIMIT)))
    tenants = {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_({c.tenant_id for c in rows})))}
    return render_themed("complaints/mine.html", rows=[(c, tenants[c.tenant_id]) for c in rows], **_labels())


# -- merchant -----------------------------------------------------------------------------------------------------

def _shop(shop_slug: str) -> Shop:
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.view_shop, shop)
    return shop


@merchant_blueprint.route("")
@login_required
def merchant_index(shop_slug: str):
    shop = _shop(shop_slug)
    rows = list(db.session.scalars(select(Complaint).where(Complaint.shop_id == shop.id)
                                   .options(joinedload(Complaint.order))
                                   .order_by(case((Complaint.status == S.filed, 0), else_=1),
                                             Complaint.filed_at.desc(), Complaint.id.desc()).limit(LIST_LIMIT)))
    return render_template("console/complaints/merchant_list.html", shop=shop, rows=rows, **_labels())


@merchant_blueprint.route("/<string(maxlength=32):complaint_number>")
@login_required
def merchant_detail(shop_slug: str, complaint_number: str):
    shop = _shop(shop_slug)
    complaint = _complaint(Complaint.shop_id == shop.id)
    return render_template("console/complaints/merchant_detail.html", shop=shop, complaint=complaint,
                           people=_people(e.actor_id for e in complaint.events), **_labels())


@merchant_blueprint.route("/<string(maxlength=32):complaint_number>/answer", methods=["POST"])
@login_required
def merchant_answer(shop_slug: str, complaint_number: str):
    shop = _shop(shop_slug)
    complaint = _complaint(Complaint.shop_id == shop.id)
    back = url_for("merchant_complaints.merchant_detail", shop_slug=shop.slug, complaint_number=complaint.number)
    try:
        complaints.answer(complaint, actor_id=current_user.id, text=request.form.get("answer", ""))
    except ComplaintError as error:
        return _refused(error, back)
    db.session.commit()
    flash(_("答复已发送给投诉人。"), "success")
    return redirect(back), 303


# -- operator -----------------------------------------------------------------------------------------------------

@operator_blueprint.route("")
@login_required
def queue():
    """Open complaints, overdue first, then by due time; then the latest closed ones."""
    require(Permission.operate_tenant, current_tenant)
    now = utcnow()
    open_rows = list(db.session.scalars(
        select(Complaint).where(Complaint.status.in_(complaints.OPEN))
        .options(joinedload(Complaint.order), joinedload(Complaint.shop))
        .order_by(case((Complaint.due_at <= now, 0), else_=1), case((Complaint.status == S.escalated, 0), else_=1),
                  Complaint.due_at, Complaint.id).limit(LIST_LIMIT)))
    closed_rows = list(db.session.scalars(
        select(Complaint).where(Complaint.status.not_in(complaints.OPEN))
        .options(joinedload(Complaint.order), joinedload(Complaint.shop))
        .order_by(Complaint.closed_at.desc(), Complaint.id.desc()).limit(LIST_LIMIT)))
    counts = dict(db.session.execute(select(Complaint.status, func.count(Complaint.id)).group_by(Complaint.status))
                  .all())
    return render_template("console/complaints/operator_queue.html", open_rows=open_rows, closed_rows=closed_rows,
                           counts=counts, statuses=S.values(), **_labels())


@operator_blueprint.route("/<string(maxlength=32):complaint_number>")
@login_required
def operator_detail(complaint_number: str):
    require(Permission.operate_tenant, current_tenant)
    complaint = _complaint()
    merchant = complaint.shop.merchant
    return render_template("console/complaints/operator_detail.html", complaint=complaint,
                           outcomes=complaints.OUTCOMES, people=_people(e.actor_id for e in complaint.events),
                           complainant=db.session.get(User, complaint.buyer_id),
                           respondent_address=complaints.respondent_addresses([merchant.id]).get(merchant.id, ""),
                           **_labels())


@operator_blueprint.route("/<string(maxlength=32):complaint_number>/decide", methods=["POST"])
@login_required
def operator_decide(complaint_number: str):
    require(Permission.operate_tenant, current_tenant)
    complaint = _complaint()
    back = url_for("operator_complaints.operator_detail", complaint_number=complaint.number)
    try:
        complaints.decide(complaint, actor_id=current_user.id, outcome=request.form.get("outcome", ""),
                          note=request.form.get("note", ""))
    except ComplaintError as error:
        return _refused(error, back)
    db.session.commit()
    flash(_("处理结果已记录。"), "success")
    return redirect(back), 303


@operator_blueprint.route("/export.<any(csv, xlsx):fmt>")
@login_required
def export(fmt: str):
    """Every complaint filed in a period (``?from=YYYY-MM-DD&to=YYYY-MM-DD`` on the tenant's calendar; default: the
    last 90 days), as CSV or XLSX."""
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    zone = ZoneInfo(tenant.timezone)
    today = datetime.now(zone).date()
    try:
        start = _day(request.args.get("from", ""), today - timedelta(days=90))
        end = _day(request.args.get("to", ""), today)
    except ValueError:
        flash(_("日期格式应为 YYYY-MM-DD。"), "error")
        return redirect(url_for("operator_complaints.queue")), 303
    if end < start or (end - start).days > MAX_EXPORT_DAYS or not date(2000, 1, 1) <= start <= end < date(9999, 1, 1):
        flash(_("导出期间无效（最长三年）。"), "error")
        return redirect(url_for("operator_complaints.queue")), 303
    since = datetime.combine(start, time(), zone)
    until = datetime.combine(end + timedelta(days=1), time(), zone)
    rows = list(db.session.scalars(select(Complaint).where(Complaint.filed_at >= since, Complaint.filed_at < until)
                                   .options(joinedload(Complaint.order),
                                            joinedload(Complaint.shop).joinedload(Shop.merchant))
                                   .order_by(Complaint.filed_at, Complaint.id)))
    if fmt == "xlsx":
        data, mimetype = complaints.export_xlsx(tenant, rows), complaints.XLSX_MIMETYPE
    else:
        data, mimetype = complaints.export_csv(tenant, rows), "text/csv"
    name = f"complaints-{tenant.slug}-{start.isoformat()}-{end.isoformat()}.{fmt}"
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _day(raw: str, default):
    raw = raw.strip()
    if not raw:
        return default
    if not _DAY.fullmatch(raw):
        raise ValueError(raw)
    return datetime.strptime(raw, "%Y-%m-%d").date()


def register(app) -> None:
    from marketplace.storefront.views import open_only

    open_only(resident_blueprint)  # like the order pages: a draft or suspended tenant's pages are closed
    for blueprint in (resident_blueprint, account_blueprint, merchant_blueprint, operator_blueprint):
        app.register_blueprint(blueprint)
