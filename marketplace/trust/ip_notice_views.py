"""Intellectual-property notice pages (``trust.ip_notices``) for the rights holder, the public, the merchant and the
operator.

* Rights holder (any signed-in user): ``/t/<tenant>/ip-notices/new?product=`` (a number or the product page's
  address) leads to ``/t/<tenant>/ip-notices/new/<product>``, which files a notice against a product on sale; ``/t/<tenant>/ip-notices/<number>`` follows it (their own only) and reports a complaint or lawsuit within
  the 15 days after a counter-notice.
* Public (Art. 44): ``/t/<tenant>/ip-notices`` lists notices, counter-notices and outcomes, without contact details.
* Merchant: ``/merchant/<tenant>/<shop>/ip-notices`` lists the shop's notices; the detail page takes a counter-notice.
* Operator: ``/operator/<tenant>/ip-notices`` is the queue (overdue first); the detail page takes the measure or
  rejects the notice, and ends a measure that holds (``…/end``, with the reason); ``export.csv`` lists every
  notice for the authorities.

Each handler loads the tenant's row (404 when absent or not the user's), checks the right, calls one service and
commits. A refusal is a flash message, never a server error.
"""

from __future__ import annotations

import csv
import io
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.authz import Permission, require
from marketplace.accounts.models import User
from marketplace.catalog.models import Product, ProductStatus
from marketplace.core.db import MAX_ID, utcnow
from marketplace.core.themes import render_themed
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import current_tenant
from marketplace.trust import ip_notices
from marketplace.trust.ip_notices import IpNotice, IpNoticeError, IpNoticeStatus, NoticeInput, RightKind

resident_blueprint = Blueprint("ip_notices", __name__, url_prefix="/t/<slug:tenant_slug>/ip-notices")
merchant_blueprint = Blueprint("merchant_ip_notices", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/ip-notices")
operator_blueprint = Blueprint("operator_ip_notices", __name__, url_prefix="/operator/<slug:tenant_slug>/ip-notices")

S = IpNoticeStatus
NUMBER = re.compile(r"[A-Z0-9]{1,32}")
LIST_LIMIT = 200


def _labels() -> dict:
    return {"labels": S.__labels__, "kinds": RightKind.__labels__, "now": utcnow(),
            "holder_days": ip_notices.HOLDER_DAYS}


def _notice(*conditions) -> IpNotice:
    """A notice of the current tenant (the guard adds it) matching ``conditions``; otherwise 404. A form that moves
    it locks its row first, as the deadline job does."""
    number = request.view_args.get("notice_number", "")
    if not NUMBER.fullmatch(number):
        abort(404)
    query = (select(IpNotice).where(IpNotice.number == number, *conditions)
             .options(joinedload(IpNotice.product), joinedload(IpNotice.shop), selectinload(IpNotice.events)))
    if request.method == "POST":
        query = query.with_for_update(of=IpNotice).execution_options(populate_existing=True)
    found = db.session.scalar(query)
    if found is None:
        abort(404)
    return found


def _people(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _refused(error: IpNoticeError, back):
    db.session.rollback()
    flash(str(error), "error")
    return redirect(back), 303


def _photos(field: str) -> list[str]:
    return ip_notices.ingest_evidence([f.read() for f in request.files.getlist(field) if f and f.filename])


# -- rights holder and public -------------------------------------------------------------------------------------

@resident_blueprint.route("")
def public():
    """Art. 44: every notice that was acted on or rejected, with its counter-notice and outcome."""
    rows = list(db.session.scalars(select(IpNotice).where(IpNotice.status != S.filed)
                                   .options(joinedload(IpNotice.product), joinedload(IpNotice.shop))
                                   .order_by(IpNotice.filed_at.desc(), IpNotice.id.desc()).limit(LIST_LIMIT)))
    return render_themed("ip/public.html", rows=rows, **_labels())


#: A product named by its number or by its page's address (``…/p/123-some-title``).
PRODUCT_REF = re.compile(r"^\s*(?:\d+|\S*/p/(\d+)(?:-\S*)?)\s*$")


@resident_blueprint.route("/new")
@login_required
def start():
    """Which product: ``?product=`` takes its number or its page's address, and leads to the notice form."""
    raw = request.args.get("product", "")
    match = PRODUCT_REF.match(raw[:500]) if raw else None
    if match is None:
        if raw:
            flash(_("请填写商品编号或商品页面地址。"), "error")
        return render_themed("ip/start.html", product_ref=raw[:500]), 400 if raw else 200
    product_id = int(match.group(1) or raw.strip())
    found = product_id <= MAX_ID and db.session.scalar(
        select(Product.id).where(Product.id == product_id, Product.status == ProductStatus.active))
    if not found:  # another market's product is as unknown here as a missing one
        flash(_("本市场没有这件在售商品，请核对商品编号或页面地址。"), "error")
        return render_themed("ip/start.html", product_ref=raw[:500]), 400
    return redirect(url_for("ip_notices.new", product_id=product_id)), 303


@resident_blueprint.route("/new/<int:product_id>", methods=["GET", "POST"])
@login_required
def new(product_id: int):
    product = db.session.scalar(select(Product).where(Product.id == product_id,
                                                      Product.status == ProductStatus.active))
    if product is None:
        abort(404)
    tenant = current_tenant._get_current_object()
    form = NoticeInput(right_kind=request.form.get("right_kind", ""),
                       right_number=request.form.get("right_number", ""),
                       holder_name=request.form.get("holder_name", ""),
                       description=request.form.get("description", ""), contact=request.form.get("contact", ""),
                       warned=request.form.get("warned") == "1")
    if request.method == "POST":
        try:
            notice = ip_notices.file_notice(tenant, product, form, holder_id=current_user.id,
                                            photos=_photos("photos"))
        except IpNoticeError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("通知已提交，平台将审核并及时处理。"), "success")
            return redirect(url_for("ip_notices.detail", notice_number=notice.number)), 303
    hours = ip_notices.ip_notice_settings.get(tenant, "review_hours")
    return render_themed("ip/new.html", product=product, form=form, review_hours=hours,
                         max_photos=ip_notices.MAX_PHOTOS, **_labels()), 400 if request.method == "POST" else 200


@resident_blueprint.route("/<string(maxlength=32):notice_number>")
@login_required
def detail(notice_number: str):
    notice = _notice(IpNotice.holder_id == current_user.id)
    return render_themed("ip/detail.html", notice=notice, people=_people(e.actor_id for e in notice.events),
                         **_labels())


@resident_blueprint.route("/<string(maxlength=32):notice_number>/action", methods=["POST"])
@login_required
def report_action(notice_number: str):
    notice = _notice(IpNotice.holder_id == current_user.id)
    back = url_for("ip_notices.detail", notice_number=notice.number)
    try:
        ip_notices.report_action(notice, actor_id=current_user.id, reference=request.form.get("reference", ""))
    except IpNoticeError as error:
        return _refused(error, back)
    db.session.commit()
    flash(_("已记录您的投诉或起诉，商品的下架措施继续。"), "success")
    return redirect(back), 303


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
    rows = list(db.session.scalars(select(IpNotice).where(IpNotice.shop_id == shop.id, IpNotice.status != S.filed)
                                   .options(joinedload(IpNotice.product))
                                   .order_by(case((IpNotice.status == S.taken_down, 0), else_=1),
                                             IpNotice.filed_at.desc(), IpNotice.id.desc()).limit(LIST_LIMIT)))
    return render_template("console/ip/merchant_list.html", shop=shop, rows=rows, **_labels())


def _merchant_notice(shop: Shop) -> IpNotice:
    # A notice reaches the merchant with the measure: one still under review is not theirs to see yet.
    return _notice(IpNotice.shop_id == shop.id, IpNotice.status != S.filed)


@merchant_blueprint.route("/<string(maxlength=32):notice_number>")
@login_required
def merchant_detail(shop_slug: str, notice_number: str):
    shop = _shop(shop_slug)
    notice = _merchant_notice(shop)
    return render_template("console/ip/merchant_detail.html", shop=shop, notice=notice,
                           people=_people(e.actor_id for e in notice.events), max_photos=ip_notices.MAX_PHOTOS,
                           **_labels())


@merchant_blueprint.route("/<string(maxlength=32):notice_number>/counter", methods=["POST"])
@login_required
def merchant_counter(shop_slug: str, notice_number: str):
    shop = _shop(shop_slug)
    notice = _merchant_notice(shop)
    back = url_for("merchant_ip_notices.merchant_detail", shop_slug=shop.slug, notice_number=notice.number)
    try:
        ip_notices.counter(notice, actor_id=current_user.id, statement=request.form.get("statement", ""),
                           photos=_photos("photos"))
    except IpNoticeError as error:
        return _refused(error, back)
    db.session.commit()
    flash(_("声明已转送权利人。"), "success")
    return redirect(back), 303


# -- operator -----------------------------------------------------------------------------------------------------

@operator_blueprint.route("")
@login_required
def queue():
    """Notices waiting for review (overdue first), counter-notices running their 15 days, then the rest."""
    require(Permission.operate_tenant, current_tenant)
    now = utcnow()
    open_rows = list(db.session.scalars(
        select(IpNotice).where(IpNotice.status.in_(ip_notices.OPEN))
        .options(joinedload(IpNotice.product), joinedload(IpNotice.shop))
        .order_by(case((IpNotice.due_at <= now, 0), else_=1), case((IpNotice.status == S.filed, 0), else_=1),
                  IpNotice.due_at, IpNotice.id).limit(LIST_LIMIT)))
    closed_rows = list(db.session.scalars(
        select(IpNotice).where(IpNotice.status.not_in(ip_notices.OPEN))
        .options(joinedload(IpNotice.product), joinedload(IpNotice.shop))
        .order_by(IpNotice.closed_at.desc(), IpNotice.id.desc()).limit(LIST_LIMIT)))
    return render_template("console/ip/operator_queue.html", open_rows=open_rows, closed_rows=closed_rows,
                           **_labels())


@operator_blueprint.route("/<string(maxlength=32):notice_number>")
@login_required
def operator_detail(notice_number: str):
    require(Permission.operate_tenant, current_tenant)
    notice = _notice()
    return render_template("console/ip/operator_detail.html", notice=notice, holding=ip_notices.HOLDING,
                           people=_people(e.actor_id for e in notice.events), **_labels())


@operator_blueprint.route("/<string(maxlength=32):notice_number>/review", methods=["POST"])
@login_required
def operator_review(notice_number: str):
    require(Permission.operate_tenant, current_tenant)
    notice = _notice()
    back = url_for("operator_ip_notices.operator_detail", notice_number=notice.number)
    decision = request.form.get("decision", "")
    try:
        if decision == "take_down":
            ip_notices.take_down(notice, actor_id=current_user.id, note=request.form.get("note", ""))
        elif decision == "reject":
            ip_notices.reject(notice, actor_id=current_user.id, reason=request.form.get("note", ""))
        else:
            raise IpNoticeError(_("请选择处理结果。"))
    except IpNoticeError as error:
        return _refused(error, back)
    db.session.commit()
    flash(_("商品已下架，通知已转送商家。") if decision == "take_down" else _("已驳回通知并告知权利人。"), "success")
    return redirect(back), 303


@operator_blueprint.route("/<string(maxlength=32):notice_number>/end", methods=["POST"])
@login_required
def operator_end_measure(notice_number: str):
    """End a measure that holds (the holder withdrew, the authority or court decided), with the reason."""
    require(Permission.operate_tenant, current_tenant)
    notice = _notice()
    back = url_for("operator_ip_notices.operator_detail", notice_number=notice.number)
    try:
        republished = ip_notices.end_measure(notice, actor_id=current_user.id, reason=request.form.get("reason", ""))
    except IpNoticeError as error:
        return _refused(error, back)
    db.session.commit()
    flash(_("措施已终止，商品已重新上架。") if republished else _("措施已终止。"), "success")
    return redirect(back), 303


@operator_blueprint.route("/export.csv")
@login_required
def export():
    """Every notice of the tenant with its dates and outcome (UTF-8 with a byte-order mark, for Excel)."""
    from marketplace.catalog.exporting import neutralise

    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    rows = db.session.scalars(select(IpNotice).options(joinedload(IpNotice.product), joinedload(IpNotice.shop))
                              .order_by(IpNotice.filed_at, IpNotice.id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("通知编号"), _("提交时间"), _("商品"), _("店铺"), _("权利类型"), _("权利登记号或证书号"),
                     _("权利人"), _("状态"), _("审核期限"), _("采取措施时间"), _("声明转送时间"),
                     _("权利人告知期限"), _("投诉或起诉受理编号"), _("措施终止时间")])
    when = ip_notices.local_time_text
    for notice in rows:
        writer.writerow([neutralise(str(v)) for v in (
            notice.number, when(notice.filed_at, tenant), notice.product.title, notice.shop.name_zh,
            RightKind.__labels__[notice.right_kind], notice.right_number, notice.holder_name,
            S.__labels__[notice.status], when(notice.review_due, tenant),
            when(notice.forwarded_at, tenant), when(notice.counter_forwarded_at, tenant),
            when(notice.holder_due, tenant), notice.action_reference, when(notice.restored_at, tenant))])
    data = "\ufeff".encode() + out.getvalue().encode("utf-8")
    response = send_file(io.BytesIO(data), mimetype="text/csv", as_attachment=True,
                         download_name=f"ip-notices-{tenant.slug}.csv", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def register(app) -> None:
    from marketplace.storefront.views import open_only

    open_only(resident_blueprint)  # a draft or suspended tenant's pages are closed
    for blueprint in (resident_blueprint, merchant_blueprint, operator_blueprint):
        app.register_blueprint(blueprint)
