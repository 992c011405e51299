"""Order handling in the consoles: a shop's orders for its merchant (/merchant/…/orders), a tenant's orders for
its operator (/operator/…/orders, read-only).

Merchant pages load the shop of the current tenant by slug (404 when this tenant has none), check the user's
right on it (owners and staff alike: handling orders is a shop's daily work), then load the order among that
shop's own by its number — another shop's or another tenant's order is not found (404).

Every status change goes through ``orders.services.transition``; a button only says which of the merchant's
actions (``orders.handling.ACTIONS``, shared with the merchant API) it means, and a move the order cannot make is
refused with a message, never a server error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.authz import Permission, require
from marketplace.accounts.models import User
from marketplace.catalog.models import UNITS
from marketplace.core.text import masked_contact
from marketplace.core.views import Page, page_arg
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.handling import ACTIONS, actions_for, perform, refusal
from marketplace.orders.models import Order, OrderStatus
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import current_tenant

merchant_blueprint = Blueprint("merchant_orders", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/orders")
operator_blueprint = Blueprint("operator_orders", __name__, url_prefix="/operator/<slug:tenant_slug>/orders")

#: Owners and staff alike (see the module docstring).
HANDLE_ORDERS = Permission.view_shop
PAGE_SIZE = 20
MAX_PAGE = 10_000
MAX_REASON = 500
S = OrderStatus
#: While an order is open the merchant may need to reach the buyer (payment, pickup); once it is closed the
#: contact is shown masked — the buyer's name and the order stay, the phone number does not.
CONTACT_HIDDEN = frozenset({S.completed, S.cancelled, S.refunded})


# -- helpers ----------------------------------------------------------------------------------------------

def _shop(shop_slug: str) -> Shop:
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(HANDLE_ORDERS, shop)
    return shop


#: What order numbers look like (``G2026113000000000001-2``); anything else is not an order.
ORDER_NUMBER = re.compile(r"[A-Z0-9-]{1,32}")


def _order(shop: Shop, number: str, *, for_update: bool = False) -> Order:
    """One of this shop's orders (in this tenant: the guard adds it); any other number is not found."""
    if not ORDER_NUMBER.fullmatch(number):  # also keeps NUL and the like away from PostgreSQL
        abort(404)
    query = (select(Order).where(Order.number == number, Order.shop_id == shop.id)
             .options(joinedload(Order.group), selectinload(Order.lines), selectinload(Order.events)))
    if for_update:  # two clicks at once: the second sees the first one's status
        query = query.with_for_update(of=Order)
    order = db.session.scalar(query)
    if order is None:
        abort(404)
    return order


def _status_arg() -> tuple[str | None, bool]:
    """The status filter from the query string: (status or None for all, whether it was understood)."""
    raw = request.args.get("status", "")
    if not raw:
        return None, True
    return (raw, True) if raw in S.__members__ else (None, False)


def _labels() -> dict:
    return {"statuses": S.values(), "labels": S.__labels__}


def _names(user_ids) -> dict[int, User]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


@dataclass
class OrderPage(Page):
    """A page of orders, with their buyers' accounts (read in one query)."""

    buyers: dict[int, User] = field(default_factory=dict)


def _page(conditions: list, total: int, number: int) -> OrderPage:
    """Newest first; one query for the page and one for its buyers, however many orders there are."""
    page = OrderPage(number=number, total=total, size=PAGE_SIZE)
    if total and not page.out_of_range:
        page.items = list(db.session.scalars(select(Order).where(*conditions)
                                             .order_by(Order.created_at.desc(), Order.id.desc())
                                             .limit(page.size).offset(page.offset)))
        page.buyers = _names(order.buyer_id for order in page.items)
    return page


# -- merchant -----------------------------------------------------------------------------------------------

@merchant_blueprint.route("")
@login_required
def index(shop_slug: str):
    shop = _shop(shop_slug)
    status, understood = _status_arg()
    counts = dict(db.session.execute(select(Order.status, func.count(Order.id)).where(Order.shop_id == shop.id)
                                     .group_by(Order.status)).all())
    if not understood:
        flash(_("没有这种订单状态，已显示全部订单。"), "error")
    conditions = [Order.shop_id == shop.id] + ([Order.status == status] if status else [])
    total = counts.get(status, 0) if status else sum(counts.values())
    page = _page(conditions, total, page_arg(MAX_PAGE))
    return render_template("console/merchant/orders.html", shop=shop, page=page, status=status, counts=counts,
                           all_count=sum(counts.values()), **_labels()), 200 if understood else 400


@merchant_blueprint.route("/<number>")
@login_required
def detail(shop_slug: str, number: str):
    shop = _shop(shop_slug)
    order = _order(shop, number)
    people = _names([order.buyer_id, *(event.actor_id for event in order.events)])
    buyer = people.get(order.buyer_id)
    contact_hidden = order.status in CONTACT_HIDDEN
    contact = ""
    if buyer is not None:
        contact = " · ".join(masked_contact(v) if contact_hidden else v for v in (buyer.mobile, buyer.email) if v)
    return render_template("console/merchant/orders_detail.html", shop=shop, order=order, buyer=buyer,
                           contact=contact, contact_hidden=contact_hidden, people=people,
                           actions=actions_for(order), units=UNITS, max_reason=MAX_REASON, **_labels())


@merchant_blueprint.route("/<number>/<any(" + ", ".join(ACTIONS) + "):action>", methods=["POST"])
@login_required
def act(shop_slug: str, number: str, action: str):
    """One button of the order page (CSRF is checked for every POST before the view runs)."""
    shop = _shop(shop_slug)
    order = _order(shop, number, for_update=True)
    chosen = ACTIONS[action]
    back = redirect(url_for(".detail", shop_slug=shop.slug, number=order.number), 303)
    # One line of printable text: NUL and other control characters never reach the history (PostgreSQL refuses NUL).
    reason = "".join(ch for ch in " ".join((request.form.get("reason") or "").split()) if ch.isprintable())
    if len(reason) > MAX_REASON:
        flash(_("原因太长了，请控制在 %(max)d 字以内。", max=MAX_REASON), "error")
        return back
    code = (request.form.get("code") or "")[:40]
    refused = refusal(chosen, order, reason, code)
    if refused is not None:
        flash(refused[1], "error")
        return back
    try:
        perform(order, chosen, actor_id=current_user.id, reason=reason if chosen.needs_reason else "", code=code)
    except orders.InvalidTransition as moved:
        db.session.rollback()
        flash(str(moved), "error")
        return back
    db.session.commit()
    flash(str(chosen.done), "success")
    return back


# -- operator -----------------------------------------------------------------------------------------------

@operator_blueprint.route("")
@login_required
def index_for_operator():
    require(Permission.operate_tenant, current_tenant)
    status, understood = _status_arg()
    shop_list = list(db.session.scalars(select(Shop).order_by(Shop.name_zh, Shop.id)))
    shop_by_id = {shop.id: shop for shop in shop_list}
    shop_slug = request.args.get("shop", "")
    shop = next((s for s in shop_list if s.slug == shop_slug), None) if shop_slug else None
    if shop_slug and shop is None:
        understood = False
    if not understood:
        flash(_("筛选条件无效，已显示全部订单。"), "error")
        status, shop = None, None
    conditions = ([Order.status == status] if status else []) + ([Order.shop_id == shop.id] if shop else [])
    count, total, commission = db.session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.total), 0),
               func.coalesce(func.sum(Order.commission), 0)).where(*conditions)).one()
    page = _page(conditions, count, page_arg(MAX_PAGE))
    return render_template("console/operator/orders.html", page=page, status=status, shop=shop, shops=shop_list,
                           shop_by_id=shop_by_id, sum_total=total, sum_commission=commission,
                           **_labels()), 200 if understood else 400
