"""Review pages: the buyer's review form, the merchant's reviews with the reply form, the operator's hide form.

* ``/t/<tenant>/orders/<number>/<order_number>/lines/<line_id>/review`` (GET, POST): the signed-in buyer's own
  order group, order and line, each looked up within the one before (someone else's, or another tenant's, is not
  found: 404). A line already reviewed shows its review; a line not yet completed says so.
* ``/merchant/<tenant>/<shop>/reviews`` and ``…/reviews/<id>/reply`` (POST): the shop's reviews, newest first,
  with one reply each (owners and staff).
* ``/operator/<tenant>/reviews`` and ``…/reviews/<id>/hide`` (POST): every review of the tenant; hiding needs a
  reason from ``HideReason`` and is kept with who and when.

There is no route that deletes a review. Storefront partials (``reviews/_list.html`` for product and shop pages,
``reviews/_line_link.html`` for the order page) read through the template globals registered here.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.accounts.authz import Permission, require
from marketplace.accounts.models import User
from marketplace.core.text import masked_name
from marketplace.core.themes import render_themed
from marketplace.core.views import Page, page_arg
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderGroup, OrderLine, OrderStatus
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import current_tenant
from marketplace.trust import reviews
from marketplace.trust.reviews import DIMENSION_LABELS, DIMENSIONS, HideReason, Review, ReviewError

buyer_blueprint = Blueprint("reviews", __name__, url_prefix="/t/<slug:tenant_slug>")
merchant_blueprint = Blueprint("merchant_reviews", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/reviews")
operator_blueprint = Blueprint("operator_reviews", __name__, url_prefix="/operator/<slug:tenant_slug>/reviews")

PAGE_SIZE = 20
MAX_PAGE = 10_000
#: How many reviews the product and shop pages show (newest first).
SHOWN_ON_PAGES = 20


def _tenant():
    return current_tenant._get_current_object()


def buyer_name(user: User | None) -> str:
    """张* for 张三: reviews are public, the buyer's full name is not."""
    return masked_name(user.display_name if user is not None else "") or _("匿名买家")


def _names(user_ids) -> dict[int, User]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


# -- the buyer ----------------------------------------------------------------------------------------------------

def _my_line(number: str, order_number: str, line_id: int) -> tuple[OrderGroup, Order, OrderLine]:
    """The signed-in buyer's line, found only through their own group and order (in this tenant: the guard)."""
    group = db.session.scalar(select(OrderGroup).where(OrderGroup.number == number,
                                                       OrderGroup.buyer_id == current_user.id))
    order = group and db.session.scalar(select(Order).where(Order.group_id == group.id, Order.number == order_number))
    line = order and db.session.scalar(select(OrderLine).where(OrderLine.id == line_id,
                                                               OrderLine.order_id == order.id))
    if line is None:
        abort(404)
    return group, order, line


@buyer_blueprint.route("/orders/<string(maxlength=32):number>/<string(maxlength=32):order_number>"
                       "/lines/<int:line_id>/review", methods=["GET", "POST"])
@login_required
def review_form(number: str, order_number: str, line_id: int):
    group, order, line = _my_line(number, order_number, line_id)
    existing = reviews.review_of_line(line.id)
    refused = None if existing is not None else reviews.eligibility(line, current_user.id)
    values = {d: request.form.get(d, "") for d in DIMENSIONS} | {"text": request.form.get("text", "")}
    status = 200
    if request.method == "POST":
        if existing is not None or refused is not None:
            flash(refused.message if refused is not None else _("这件商品已经评价过了，评价不能修改或重复发表。"), "error")
            return redirect(url_for(".review_form", number=number, order_number=order_number, line_id=line.id), 303)
        try:
            photos = [upload.read() for upload in request.files.getlist("photos") if upload and upload.filename]
            reviews.create_review(_tenant(), line, current_user.id, ratings=values, text=values["text"],
                                  photos=photos)
        except ReviewError as error:
            db.session.rollback()
            flash(error.message, "error")
            status = 400
        else:
            db.session.commit()
            flash(_("感谢评价！评价发表后不能修改或删除。"), "success")
            return redirect(url_for("cart.confirmation", number=group.number, _anchor=f"order-{order.number}"), 303)
    return render_themed("reviews/form.html", group=group, order=order, line=line, review=existing, refused=refused,
                         values=values, dimensions=DIMENSIONS, dimension_labels=DIMENSION_LABELS,
                         max_text=reviews.MAX_TEXT, max_photos=reviews.MAX_PHOTOS), status


# -- the merchant -------------------------------------------------------------------------------------------------

def _shop(shop_slug: str) -> Shop:
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.view_shop, shop)
    return shop


def _page(conditions: list, number: int) -> Page:
    """Newest first, never by rating."""
    total = db.session.scalar(select(func.count(Review.id)).where(*conditions))
    page = Page(number=number, total=total, size=PAGE_SIZE)
    if total and not page.out_of_range:
        page.items = list(db.session.scalars(
            select(Review).where(*conditions).options(selectinload(Review.line), selectinload(Review.shop))
            .order_by(Review.created_at.desc(), Review.id.desc()).limit(page.size).offset(page.offset)))
    return page


def _people(page: Page) -> dict[int, User]:
    return _names([user_id for r in page.items for user_id in (r.buyer_id, r.replied_by_id, r.hidden_by_id)])


@merchant_blueprint.route("")
@login_required
def merchant_index(shop_slug: str):
    shop = _shop(shop_slug)
    page = _page([Review.shop_id == shop.id], page_arg(MAX_PAGE))
    return render_template("console/reviews/merchant.html", shop=shop, page=page, people=_people(page),
                           ratings=reviews.shop_ratings(shop), dimensions=DIMENSIONS,
                           dimension_labels=DIMENSION_LABELS, masked_name=buyer_name,
                           max_reply=reviews.MAX_REPLY), 404 if page.out_of_range else 200


@merchant_blueprint.route("/<int:review_id>/reply", methods=["POST"])
@login_required
def reply(shop_slug: str, review_id: int):
    shop = _shop(shop_slug)
    review = db.session.scalar(select(Review).where(Review.id == review_id, Review.shop_id == shop.id)
                               .with_for_update())
    if review is None:
        abort(404)
    try:
        reviews.reply(_tenant(), review, shop, current_user.id, request.form.get("reply", ""))
    except ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("回复已公开发表。"), "success")
    return redirect(url_for(".merchant_index", shop_slug=shop.slug, _anchor=f"review-{review_id}"), 303)


# -- the operator -------------------------------------------------------------------------------------------------

@operator_blueprint.route("")
@login_required
def operator_index():
    require(Permission.operate_tenant, current_tenant)
    conditions = []
    if request.args.get("hidden") == "1":
        conditions.append(Review.hidden_at.is_not(None))
    page = _page(conditions, page_arg(MAX_PAGE))
    return render_template("console/reviews/operator.html", page=page, people=_people(page),
                           dimensions=DIMENSIONS, dimension_labels=DIMENSION_LABELS, masked_name=buyer_name,
                           reasons=HideReason.__labels__, only_hidden=bool(conditions)), \
        404 if page.out_of_range else 200


@operator_blueprint.route("/<int:review_id>/hide", methods=["POST"])
@login_required
def hide(review_id: int):
    require(Permission.operate_tenant, current_tenant)
    review = db.session.scalar(select(Review).where(Review.id == review_id).with_for_update())
    if review is None:
        abort(404)
    try:
        reviews.hide(_tenant(), review, current_user.id, request.form.get("reason", ""))
    except ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("评价已屏蔽。原文仍然保存，并继续计入店铺评分。"), "success")
    return redirect(url_for(".operator_index", _anchor=f"review-{review_id}"), 303)


# -- what storefront templates read ------------------------------------------------------------------------------

class Listing:
    """What ``reviews/_list.html`` shows: the figures (hidden reviews counted) and the newest reviews."""

    def __init__(self, *, shop=None, product=None):
        self.for_product = product is not None
        self.ratings = reviews.product_ratings(product) if product is not None else reviews.shop_ratings(shop)
        self.items = reviews.latest_reviews(shop=shop, product=product, limit=SHOWN_ON_PAGES)
        self.people = _names(r.buyer_id for r in self.items)
        self.lines = {line.id: line for line in db.session.scalars(
            select(OrderLine).where(OrderLine.id.in_([r.order_line_id for r in self.items])))} if self.items else {}

    def buyer(self, review: Review) -> str:
        return buyer_name(self.people.get(review.buyer_id))


def reviews_listing(*, shop=None, product=None) -> Listing:
    return Listing(shop=shop, product=product)


def line_review_state(order: Order, line: OrderLine) -> str:
    """For the order page: "reviewed", "open" (may review now) or "" (not completed)."""
    if reviews.review_of_line(line.id) is not None:
        return "reviewed"
    return "open" if order.status == OrderStatus.completed else ""


def register(app) -> None:
    app.register_blueprint(buyer_blueprint)
    app.register_blueprint(merchant_blueprint)
    app.register_blueprint(operator_blueprint)
    app.jinja_env.globals.update(reviews_listing=reviews_listing, line_review_state=line_review_state,
                                 review_dimensions=DIMENSIONS, review_dimension_labels=DIMENSION_LABELS)
