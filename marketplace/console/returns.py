"""Returns, refunds and the settlement ledger in the merchant console.

``/merchant/<tenant>/<shop>/returns`` lists a shop's return requests with the time by which the merchant must
answer; the detail page answers them (approve with a return address, reject with a reason, mark the goods
received, refund). ``/merchant/<tenant>/<shop>/ledger`` shows what the platform owes the shop for a period of
days on the tenant's calendar, and ``ledger.csv`` downloads it.

As for orders (``console/orders.py``), owners and staff alike handle returns: the shop is loaded among the current
tenant's by slug (404 when absent), the user's right on it checked, then the return among that shop's own by id —
another shop's or tenant's return is not found. Every change goes through ``orders.returns``; a refusal there is a
flash message, never a server error.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.authz import Permission, require
from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import ledger as ledgers
from marketplace.orders import returns
from marketplace.orders.returns import Refund, ReturnError, ReturnLine, ReturnRequest, ReturnStatus
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import current_tenant

returns_blueprint = Blueprint("merchant_returns", __name__,
                              url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/returns")
ledger_blueprint = Blueprint("merchant_ledger", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>")

#: Owners and staff alike, as for orders.
HANDLE_RETURNS = Permission.view_shop
LIST_LIMIT = 200
ACTIONS = ("approve", "reject", "receive", "refund")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _shop(shop_slug: str) -> Shop:
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(HANDLE_RETURNS, shop)
    return shop


def _return(shop: Shop, return_id: int, *, for_update: bool = False) -> ReturnRequest:
    """One of this shop's return requests (the tenant guard adds the tenant); any other id is not found."""
    if return_id > 2**62:
        abort(404)
    query = (select(ReturnRequest).where(ReturnRequest.id == return_id, ReturnRequest.shop_id == shop.id)
             .options(joinedload(ReturnRequest.order),
                      selectinload(ReturnRequest.lines).joinedload(ReturnLine.order_line)))
    if for_update:  # two clicks at once: the second sees the first one's status
        query = query.with_for_update(of=ReturnRequest)
    found = db.session.scalar(query)
    if found is None:
        abort(404)
    return found


def _people(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


# -- returns ----------------------------------------------------------------------------------------------------

@returns_blueprint.route("")
@login_required
def index(shop_slug: str):
    shop = _shop(shop_slug)
    status = request.args.get("status", "")
    understood = not status or status in ReturnStatus.__members__
    if not understood:
        flash(_("没有这种退货状态，已显示全部退货申请。"), "error")
        status = ""
    counts = dict(db.session.execute(select(ReturnRequest.status, func.count(ReturnRequest.id))
                                     .where(ReturnRequest.shop_id == shop.id).group_by(ReturnRequest.status)).all())
    query = (select(ReturnRequest).where(ReturnRequest.shop_id == shop.id)
             .options(joinedload(ReturnRequest.order)).limit(LIST_LIMIT))
    if status:
        query = query.where(ReturnRequest.status == status)
    # Requests waiting for an answer first, the most urgent on top; then the rest, newest first.
    waiting = ReturnRequest.status == ReturnStatus.requested
    query = query.order_by(waiting.desc(), case((waiting, ReturnRequest.respond_by)).asc(), ReturnRequest.id.desc())
    found = list(db.session.scalars(query))
    return render_template("console/merchant/returns.html", shop=shop, requests=found, status=status,
                           counts=counts, all_count=sum(counts.values()), statuses=ReturnStatus.values(),
                           labels=ReturnStatus.__labels__, people=_people(r.buyer_id for r in found),
                           now=utcnow()), 200 if understood else 400


@returns_blueprint.route("/<int:return_id>")
@login_required
def detail(shop_slug: str, return_id: int):
    shop = _shop(shop_slug)
    found = _return(shop, return_id)
    refunds = list(db.session.scalars(select(Refund).where(Refund.return_id == found.id).order_by(Refund.id)))
    tenant = current_tenant._get_current_object()
    return render_template("console/merchant/returns_detail.html", shop=shop, item=found, refunds=refunds,
                           people=_people([found.buyer_id, found.decided_by]), labels=ReturnStatus.__labels__,
                           refund_labels=returns.RefundStatus.__labels__,
                           default_address=returns.default_return_address(tenant, found),
                           max_reason=returns.MAX_REASON, now=utcnow())


@returns_blueprint.route("/<int:return_id>/<any(" + ", ".join(ACTIONS) + "):action>", methods=["POST"])
@login_required
def act(shop_slug: str, return_id: int, action: str):
    """One button of the return page (CSRF is checked for every POST before the view runs)."""
    shop = _shop(shop_slug)
    found = _return(shop, return_id, for_update=True)
    back = redirect(url_for(".detail", shop_slug=shop.slug, return_id=found.id), 303)
    try:
        if action == "approve":
            returns.approve(found, actor_id=current_user.id, return_address=request.form.get("return_address", ""))
            done = _("已同意退货，买家会看到退货地址。")
        elif action == "reject":
            returns.reject(found, actor_id=current_user.id, reason=request.form.get("reason", ""))
            done = _("已拒绝该退货申请。")
        elif action == "receive":
            returns.mark_received(found, actor_id=current_user.id)
            done = _("已确认收到退货，请在七日内退款。")
        else:
            refund = returns.refund_return(found, actor_id=current_user.id)
            done = _("已退款 %(amount)s 元。", amount=returns.yuan(refund.amount))
    except ReturnError as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return back
    db.session.commit()
    flash(done, "success")
    return back


# -- the ledger -------------------------------------------------------------------------------------------------

def _period() -> tuple[date, date, str | None]:
    """The period asked for in ``from`` and ``to``, or the current month on the tenant's calendar; with a
    message when what was asked could not be read (the current month is shown instead)."""
    tenant = current_tenant._get_current_object()
    today = utcnow().astimezone(ZoneInfo(tenant.timezone)).date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    raw_from, raw_to = request.args.get("from", ""), request.args.get("to", "")
    if not raw_from and not raw_to:
        return first, last, None
    try:
        if not _DAY.match(raw_from) or not _DAY.match(raw_to):
            raise ValueError
        start, end = date.fromisoformat(raw_from), date.fromisoformat(raw_to)
    except ValueError:
        return first, last, _("日期格式不正确，请按“年-月-日”填写开始和结束日期，例如 2026-12-01。已显示本月。")
    return start, end, None


def _ledger(shop: Shop):
    """(ledger or None, start, end, message): unreadable dates give the current month with a message, a period
    the ledger refuses (backwards, over a year) gives no ledger and the reason."""
    start, end, message = _period()
    try:
        return ledgers.shop_ledger(current_tenant._get_current_object(), shop, start, end), start, end, message
    except ledgers.LedgerError as refused:
        return None, start, end, str(refused)


@ledger_blueprint.route("/ledger")
@login_required
def ledger(shop_slug: str):
    shop = _shop(shop_slug)
    found, start, end, message = _ledger(shop)
    if message:
        flash(message, "error")
    return render_template("console/merchant/ledger.html", shop=shop, ledger=found, start=start, end=end,
                           yuan=returns.yuan), 400 if message else 200


@ledger_blueprint.route("/ledger.csv")
@login_required
def ledger_csv(shop_slug: str):
    shop = _shop(shop_slug)
    found, start, end, message = _ledger(shop)
    if message:  # a download of another period than the one asked for would mislead: say why instead
        flash(message, "error")
        return redirect(url_for(".ledger", shop_slug=shop.slug), 303)
    name = f"ledger-{shop.slug}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(ledgers.ledger_csv(found), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
