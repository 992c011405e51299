"""Payments in the consoles, read-only: a shop's payments and refunds for its merchant
(``/merchant/<tenant>/<shop>/payments``) and a tenant's payments and their problems for its operator
(``/operator/<tenant>/payments``).

A payment belongs to an order group that may span several shops: the merchant sees, per order of its shop, how
the group's latest payment stands, and the refunds of its own orders (with the provider's reference, and why a
refund failed). The operator sees every payment of the tenant (filter by status), payments with a problem, the
provider notifications that could not be applied (``PaymentEvent.outcome``), refunds that failed or have been
pending for over an hour, and the last ``flask payments reconcile`` report.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from marketplace.accounts.authz import Permission, can, require
from marketplace.core.db import utcnow
from marketplace.core.views import Page, page_arg
from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.orders.returns import Refund, RefundStatus
from marketplace.orders.services import InvalidTransition
from marketplace.payments import services as payments
from marketplace.payments.models import Payment, PaymentEvent
from marketplace.payments.providers import PaymentStatus
from marketplace.payments.reconcile import reconcile_settings
from marketplace.shops import services as shops
from marketplace.tenancy.context import current_tenant

merchant_blueprint = Blueprint("merchant_payments", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/payments")
operator_blueprint = Blueprint("operator_payments", __name__, url_prefix="/operator/<slug:tenant_slug>/payments")

LIST_LIMIT = 200
PAGE_SIZE = 50
MAX_PAGE = 10_000
#: A refund the provider has not settled after this long needs someone to look at it.
STUCK_AFTER = timedelta(hours=1)
#: What each notification outcome means to an operator.
OUTCOMES = {"unknown_payment": _l("找不到对应的付款"), "mismatch": _l("金额或币种与订单不符")}


def _labels() -> dict:
    return {"labels": PaymentStatus.__labels__, "refund_labels": RefundStatus.__labels__,
            "method_label": payments.method_label}


# -- merchant ---------------------------------------------------------------------------------------------------

@merchant_blueprint.route("")
@login_required
def merchant_index(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.view_shop, shop)
    # Each of the shop's orders with its group's latest payment attempt (none for orders placed before payments).
    latest = (select(func.max(Payment.id)).where(Payment.group_id == Order.group_id).correlate(Order)
              .scalar_subquery())
    rows = db.session.execute(
        select(Order, Payment).outerjoin(Payment, Payment.id == latest).where(Order.shop_id == shop.id)
        .options(joinedload(Order.group)).order_by(Order.created_at.desc(), Order.id.desc()).limit(LIST_LIMIT)).all()
    refunds = list(db.session.scalars(
        select(Refund).join(Order, Order.id == Refund.order_id).where(Order.shop_id == shop.id)
        .options(joinedload(Refund.order)).order_by(Refund.id.desc()).limit(LIST_LIMIT)))
    return render_template("console/merchant/payments.html", shop=shop, rows=rows, refunds=refunds, **_labels())


# -- operator ---------------------------------------------------------------------------------------------------

@operator_blueprint.route("")
@login_required
def operator_index():
    tenant = current_tenant._get_current_object()
    require(Permission.operate_tenant, tenant)
    status = request.args.get("status", "")
    understood = not status or status in PaymentStatus.__members__
    if not understood:
        flash(_("没有这种付款状态，已显示全部付款。"), "error")
        status = ""
    counts = dict(db.session.execute(select(Payment.status, func.count(Payment.id)).group_by(Payment.status)).all())
    total = counts.get(status, 0) if status else sum(counts.values())
    number = page_arg(MAX_PAGE)
    query = select(Payment).options(joinedload(Payment.group)).order_by(Payment.id.desc())
    if status:
        query = query.where(Payment.status == status)
    found = list(db.session.scalars(query.limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)))
    problems = list(db.session.scalars(
        select(Payment).where(Payment.problem != "", Payment.status.notin_(payments.PAID + (PaymentStatus.failed,)))
        .options(joinedload(Payment.group)).order_by(Payment.id.desc()).limit(LIST_LIMIT)))
    # Notifications are not tenant-scoped (see models): this tenant's by their payment; those naming no payment
    # at all belong to no tenant and are shown to platform administrators only.
    mine = PaymentEvent.tenant_id == tenant.id
    if can(current_user, Permission.manage_platform):
        mine = or_(mine, PaymentEvent.tenant_id.is_(None))
    events = list(db.session.scalars(select(PaymentEvent).where(mine, PaymentEvent.outcome != "")
                                     .order_by(PaymentEvent.id.desc()).limit(LIST_LIMIT)))
    refunds = list(db.session.scalars(
        select(Refund).where(or_(Refund.status == RefundStatus.failed,
                                 (Refund.status == RefundStatus.pending) & (Refund.provider != payments.OFFLINE)
                                 & (Refund.created_at < utcnow() - STUCK_AFTER)))
        .options(joinedload(Refund.order)).order_by(Refund.id.desc()).limit(LIST_LIMIT)))
    transfers = list(db.session.scalars(
        select(Payment).where(Payment.provider == payments.OFFLINE, Payment.method == "bank_transfer",
                              Payment.status == PaymentStatus.pending)
        .options(joinedload(Payment.group)).order_by(Payment.id).limit(LIST_LIMIT)))
    return render_template("console/operator/payments.html", payments=found,
                           page=Page(found, number, total, PAGE_SIZE), status=status,
                           counts=counts, all_count=sum(counts.values()), statuses=PaymentStatus.values(),
                           problems=problems, events=events, outcomes=OUTCOMES, refunds=refunds, transfers=transfers,
                           report=reconcile_settings.get(tenant, "last_report"),
                           online=payments.tenant_payments(tenant).online, **_labels()), 200 if understood else 400




@operator_blueprint.route("/<int:payment_id>/confirm-transfer", methods=["POST"])
@login_required
def confirm_transfer(payment_id: int):
    """The operator confirms a bank transfer into the market's account (CSRF is checked before the view)."""
    require(Permission.operate_tenant, current_tenant._get_current_object())
    payment = db.session.scalar(select(Payment).where(Payment.id == payment_id))  # this tenant's only (the guard)
    if payment is None:
        abort(404)
    try:
        paid = payments.confirm_bank_transfer(payment, actor_id=current_user.id)
    except (payments.PaymentError, InvalidTransition) as refused:
        db.session.rollback()
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(_("已确认到账，%(n)d 笔订单已付款。", n=paid), "success")
    return redirect(url_for(".operator_index")), 303
