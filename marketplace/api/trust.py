"""The trust API: anyone checks an electronic badge or reads a shop's and a product's reviews; a buyer reviews a
completed order line; a resident files a complaint about an order, follows it, accepts the merchant's answer or takes
it to the operator; a merchant (bearer token) lists its shop's complaints and answers them.

The rules are the trust services' (``marketplace.trust.badges``, ``reviews``, ``complaints``); this module loads the
tenant's rows (another tenant's number or id answers 404, as does someone else's), checks who is asking, calls one
service and commits. Residents use the session cookie and send the CSRF token (``X-CSRFToken``) with every write,
checked after the 404 lookups, as in the orders API.

Writes take an ``Idempotency-Key``. Reviews and complaints have no column for the key, so a retry is recognised by
what it asks, as in the delivery API: the same review of the same line by the same buyer, the same open complaint
about the same order, the move the complaint already made by the same person, the same answer by the same user —
each is answered 200 with what exists, and nothing is written twice. Anything else that collides is a refusal with a
stable code (``already_reviewed``, ``complaint_open``, ``invalid_transition``…).

The badge check (``/api/v1/badges/<serial>``) names no tenant: the random serial is the key, as on ``/verify``.
"""

from __future__ import annotations

from flask import abort, g
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.api import orders as order_api
from marketplace.api import paging, views
from marketplace.api import services as catalog_api
from marketplace.api import trust_schemas as schemas
from marketplace.api.idempotency import idempotent
from marketplace.api.order_schemas import PageQuery
from marketplace.api.orders import IDEMPOTENCY, ApiProblem
from marketplace.api.schemas import INT_MAX
from marketplace.api.scopes import requires_resident_scope, requires_scope
from marketplace.api.views import ApiBlueprint
from marketplace.catalog.models import Product
from marketplace.core.db import utcnow
from marketplace.core.text import masked_name
from marketplace.extensions import csrf, db
from marketplace.orders.models import Order, OrderGroup, OrderLine, OrderStatus
from marketplace.shops import services as shops
from marketplace.tenancy.context import current_tenant
from marketplace.trust import badges, complaints, reviews
from marketplace.trust.complaints import Complaint, ComplaintError, ComplaintStatus
from marketplace.trust.reviews import Review, ReviewError

badge_blueprint = ApiBlueprint(
    "api_badges", __name__, url_prefix="/api/v1/badges",
    description="公开的电子标识核验：凭标识编号查看状态、经营者、地点、有效期和平台签名（无需认证，不分街区或市场）。")
public_reviews_blueprint = ApiBlueprint(
    "api_reviews", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>",
    description="公开的评价：店铺和商品的买家评价（最新的在前）与评分（无需认证）。")
resident_trust_blueprint = ApiBlueprint(
    "api_resident_trust", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>",
    description="居民：评价已完成的订单商品，投诉订单并跟进。使用网站登录后的会话 Cookie（写操作须在 X-CSRFToken "
                "请求头中带上会话的 CSRF 令牌），或居民的个人令牌（Authorization: Bearer occp_…）。")
shop_complaints_blueprint = ApiBlueprint(
    "api_shop_complaints", __name__, url_prefix="/api/v1/tenants/<slug:tenant_slug>/shops/<slug:shop_slug>",
    description="商户投诉处理：查看本店收到的投诉并答复（Authorization: Bearer <令牌>）。")

#: Review refusals about where the order is, or what already exists; the request itself was well formed.
REVIEW_CONFLICTS = frozenset({"not_completed", "already_reviewed"})
#: Review refusals about one field of the request.
REVIEW_FIELDS = {"rating": "ratings", "text": "text", "photos": "photos"}

ERRORS = {
    400: "缺少或无效的 Idempotency-Key（code: missing_idempotency_key, invalid_idempotency_key），CSRF 令牌缺失或"
         "无效（code: csrf_failed），或请求体不是有效的 JSON（code: invalid_json）。",
    401: "未登录（code: login_required），或没有有效的令牌（code: token_missing, token_invalid）。",
    403: "令牌不属于此店铺，或其持有人已不是店主或店员（code: token_wrong_shop, token_forbidden），或令牌没有此操作所需的"
         "权限范围（code: insufficient_scope，detail 写明所缺的权限范围）。",
    404: "街区或市场、店铺、商品、订单、订单商品、投诉或电子标识不存在，或属于另一个街区或市场、另一位买家、另一家店铺"
         "（code: not_found）。",
    409: "现在不能这样做：订单还没有完成（code: not_completed）；这件商品已经评价过（code: already_reviewed）；"
         "订单未付款（code: not_paid）；这笔订单已有一件处理中的投诉（code: complaint_open）；投诉当前的状态不允许"
         "这一步（code: invalid_transition）；或期限已过（code: answer_overdue, reply_overdue）。",
    422: "请求未通过校验，errors 逐字段说明（code: validation_failed；评分、内容不合要求时 code 为 rating, text）。",
    503: "街区或市场已暂停营业（code: unavailable）。",
}


def _errors(blueprint: ApiBlueprint, *statuses: int):
    return views.documented_errors(blueprint, ERRORS, *statuses)


def _tenant():
    return current_tenant._get_current_object()


#: The lists' orders, for cursor pagination: newest first.
NEWEST_REVIEWS = paging.Ordering("reviews:newest", (paging.Key(Review.created_at), paging.Key(Review.id)))
NEWEST_COMPLAINTS = paging.Ordering("complaints:newest", (paging.Key(Complaint.filed_at), paging.Key(Complaint.id)))


# -- badges -------------------------------------------------------------------------------------------------------

@badge_blueprint.route("/<string(maxlength=64):serial>")
@badge_blueprint.response(200, schemas.BadgeOut)
@_errors(badge_blueprint, 404)
def verify_badge(serial: str):
    """核验电子标识

    与扫描标识二维码打开的核验页相同：status 为现在的状态（有效、已暂停、已撤销、已过期；暂停和撤销不在签名内容中，
    以这里的实时结果为准），以及签名内容中的经营者、店铺、地点、签发时间和有效期。signature_valid 说明平台签名是否
    与 payload 相符；payload 和 signature 可用 public_key_url 公布的公钥离线核验。只有 trustworthy 为 true
    （有效且签名相符）时才应信任。编号不存在回答 404。
    """
    result = badges.verify(serial)
    if result.state == badges.BadgeState.unknown:
        raise ApiProblem(404, "not_found", _("没有这个编号的电子标识。请核对编号；不要相信无法核验的标识。"))
    return result


# -- reviews: public ----------------------------------------------------------------------------------------------

def _with_buyers(items: list[Review]) -> list[Review]:
    """The buyers' masked names for the page, in one query."""
    from marketplace.accounts.models import User

    ids = {review.buyer_id for review in items}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    for review in items:
        user = people.get(review.buyer_id)
        review.buyer_label = masked_name(user.display_name if user is not None else "") or _("匿名买家")
    return items


def _review_page(condition, ratings, limit: int, cursor: str | None) -> dict:
    query = select(Review).where(condition).options(selectinload(Review.line))
    out = paging.keyset_page(query, NEWEST_REVIEWS, limit=limit, cursor=cursor, total=True)
    _with_buyers(out["items"])
    out["ratings"] = {"count": ratings.count, "averages": ratings.averages}
    return out


@public_reviews_blueprint.route("/shops/<slug:shop_slug>/reviews")
@public_reviews_blueprint.arguments(PageQuery, location="query", as_kwargs=True)
@paging.responds(public_reviews_blueprint, schemas.ReviewPage)
@_errors(public_reviews_blueprint, 404, 422, 503)
def list_shop_reviews(shop_slug: str, limit: int, cursor: str | None = None):
    """店铺的评价

    买家对这家店铺的评价，按发表时间排列，最新的在前（从不按评分排序）；ratings 为店铺的评价数和各项平均分
    （商品评分、描述相符、服务态度、物流/取货体验）。被平台依法屏蔽的评价标为 hidden，给出理由，不显示评分、内容和
    照片，但仍计入评分。total 为评价总数。无需认证。
    """
    shop = shops.shop_by_slug(shop_slug)
    if shop is None or not shop.is_active:
        abort(404)
    return _review_page(Review.shop_id == shop.id, reviews.shop_ratings(shop), limit, cursor)


@public_reviews_blueprint.route(f"/products/<int(max={INT_MAX}):product_id>/reviews")
@public_reviews_blueprint.arguments(PageQuery, location="query", as_kwargs=True)
@paging.responds(public_reviews_blueprint, schemas.ReviewPage)
@_errors(public_reviews_blueprint, 404, 422, 503)
def list_product_reviews(product_id: int, limit: int, cursor: str | None = None):
    """商品的评价

    与店铺的评价相同，只含这件商品的评价；ratings 为这件商品的评价数和各项平均分。草稿、已下架和其他街区或市场的
    商品回答 404。无需认证。
    """
    product = db.session.scalar(catalog_api._public_products().where(Product.id == product_id))
    if product is None:
        abort(404)
    return _review_page(Review.product_id == product.id, reviews.product_ratings(product), limit, cursor)


# -- reviews: the buyer -------------------------------------------------------------------------------------------

def _my_line(number: str, order_number: str, line_id: int) -> OrderLine:
    """The signed-in buyer's order line, found only through their own group and order; otherwise 404."""
    line = db.session.scalar(select(OrderLine).join(Order, OrderLine.order_id == Order.id)
                             .join(OrderGroup, Order.group_id == OrderGroup.id)
                             .where(OrderGroup.number == number, OrderGroup.buyer_id == current_user.id,
                                    Order.number == order_number, Order.buyer_id == current_user.id,
                                    OrderLine.id == line_id))
    if line is None:
        abort(404)
    return line


def _same_review(review: Review, data: dict) -> bool:
    """Whether ``review`` is what this request asks for (a retry), as the service would have stored it."""
    try:
        text = reviews.clean_text(data["text"], reviews.MAX_TEXT)
    except ReviewError:
        return False
    return (review.buyer_id == current_user.id and review.text == text and len(review.photos) == len(data["photos"])
            and all(review.rating(d) == data["ratings"][d] for d in reviews.DIMENSIONS))


def _review_problem(error: ReviewError) -> ApiProblem:
    if error.code in REVIEW_CONFLICTS:
        return ApiProblem(409, error.code, error.message)
    if error.code == "not_buyer":  # the line was found through the buyer's own order: only a race gets here
        return ApiProblem(404, "not_found", error.message)
    field = REVIEW_FIELDS.get(error.code, "")
    return ApiProblem(422, error.code, error.message, {field: error.message})


@resident_trust_blueprint.route(f"{order_api.MY_ORDER}/lines/<int(max={INT_MAX}):line_id>/review", methods=["POST"])
@idempotent
@resident_trust_blueprint.arguments(schemas.ReviewIn, description="四项评分（1–5 星）和可选的文字。")
@resident_trust_blueprint.response(201, schemas.ReviewOut, description="评价已发表。")
@resident_trust_blueprint.alt_response(200, schema=schemas.ReviewOut,
                                       description="这条评价已经发表过（同一请求的重试）：回答这条评价，不再发表。")
@_errors(resident_trust_blueprint, 400, 401, 404, 409, 422, 503)
@requires_resident_scope("purchases:write")
@resident_trust_blueprint.doc(parameters=[IDEMPOTENCY])
def review_line(data: dict, number: str, order_number: str, line_id: int):
    """评价订单商品

    number 为订单组编号，order_number 为组里某一家店铺的订单编号，line_id 为订单商品行的 id（订单里 lines[].id）。
    只有买家本人、订单完成后才能评价，每件商品一次；评价发表后不能修改或删除。订单还没有完成回答 409
    （code: not_completed），已经评价过回答 409（code: already_reviewed）；评分不在 1 到 5 之间回答 422。
    照片（最多 6 张）以 Base64 放在 photos 里，经平台图片处理（去除 EXIF 和位置信息）后保存；不是图片或太大回答 422
    （code: photos）。用同一个 Idempotency-Key 重试（评分、文字和照片张数相同）时回答 200 和已发表的评价。
    """
    line = _my_line(number, order_number, line_id)
    order_api._idempotency_key()  # required (documented); the line's one review makes a retry safe
    order_api._check_csrf()
    existing = reviews.review_of_line(line.id)
    if existing is not None and _same_review(existing, data):
        return _with_buyers([existing])[0], 200
    try:
        made = reviews.create_review(_tenant(), line, current_user.id, ratings=data["ratings"], text=data["text"],
                                     photos=data["photos"])
    except ReviewError as error:
        raise _review_problem(error) from None
    db.session.commit()
    return _with_buyers([made])[0], 201


# -- complaints: the resident -------------------------------------------------------------------------------------

def _complaint_query():
    return select(Complaint).options(joinedload(Complaint.order).joinedload(Order.group), joinedload(Complaint.shop),
                                     selectinload(Complaint.events))


def _my_complaint(number: str, *, lock: bool = False) -> Complaint:
    query = _complaint_query().where(Complaint.number == number, Complaint.buyer_id == current_user.id)
    if lock:  # the resident's second click, or the deadline job, waits and then sees the new status
        query = query.with_for_update(of=Complaint)
    complaint = db.session.scalar(query)
    if complaint is None:
        abort(404)
    return complaint


def _fresh(complaint: Complaint) -> Complaint:
    number = complaint.number
    db.session.expire_all()
    return db.session.scalar(_complaint_query().where(Complaint.number == number))


def _last_move(complaint: Complaint):
    return complaint.events[-1] if complaint.events else None


def _complaint_field(error: ComplaintError, field: str) -> ApiProblem:
    """A refusal the service found in the text (empty, too long, unreadable characters)."""
    return ApiProblem(422, "validation_failed", str(error), {field: str(error)})


def _not_now(complaint: Complaint) -> ApiProblem:
    return ApiProblem(409, "invalid_transition", _("投诉当前为“%(status)s”，不能进行这一步。",
                                                   status=ComplaintStatus.__labels__[complaint.status]))


@resident_trust_blueprint.route(f"{order_api.MY_ORDER}/complaint", methods=["POST"])
@idempotent
@resident_trust_blueprint.arguments(schemas.ComplaintIn, description="投诉类型、争议事实、投诉请求和通讯地址。")
@resident_trust_blueprint.response(201, schemas.ComplaintOut, description="投诉已提交，商家须在期限（due_at）内答复。")
@resident_trust_blueprint.alt_response(200, schema=schemas.ComplaintOut,
                                       description="同一投诉已经提交过（同一请求的重试）：回答这件投诉，不再提交。")
@_errors(resident_trust_blueprint, 400, 401, 404, 409, 422, 503)
@requires_resident_scope("purchases:write")
@resident_trust_blueprint.doc(parameters=[IDEMPOTENCY])
def file_complaint(data: dict, number: str, order_number: str):
    """投诉订单

    number 为订单组编号，order_number 为组里某一家店铺的订单编号。商家须在期限内（due_at，默认 48 小时）答复，
    逾期自动转交市场运营方处理。未付款的订单回答 409（code: not_paid）；这笔订单已有一件处理中的投诉回答 409
    （code: complaint_open）。用同一个 Idempotency-Key 重试（类型、经过和请求相同）时回答 200 和已提交的投诉。
    claim（投诉请求）必填，选 other 时 claim_detail 必填；complainant_address（通讯地址）不填时用订单的收货地址，
    自提的订单没有收货地址，须填写。证据照片（最多 6 张）以 Base64 放在 photos 里，经平台图片处理后保存；
    不是图片或太大回答 422。
    """
    order = order_api._my_order(number, order_number, lock=True)
    order_api._idempotency_key()  # required (documented); the order's one open complaint makes a retry safe
    order_api._check_csrf()
    existing = complaints.open_complaint_of(order)
    if existing is not None:
        if existing.category == data["category"] and existing.description == data["description"].replace(
                "\r\n", "\n").strip() and existing.claim == data["claim"]:
            return _fresh(existing), 200
        raise ApiProblem(409, "complaint_open", _("这笔订单已有一件处理中的投诉。"))
    if order.status in complaints.UNPAID or (order.status == OrderStatus.cancelled and order.group.paid_at is None):
        raise ApiProblem(409, "not_paid", _("未付款的订单不能投诉。"))
    address = data["complainant_address"]
    if address is None:
        address = complaints.shipping_address(order)
        if not address:  # collected: no address to fall back on
            message = _("这笔订单是自提的，没有收货地址，请填写通讯地址。")
            raise ApiProblem(422, "validation_failed", message, {"complainant_address": message})
    try:
        photos = complaints.ingest_evidence(data["photos"])
    except ComplaintError as error:
        raise _complaint_field(error, "photos") from None
    try:
        complaint = complaints.file_complaint(_tenant(), order, buyer_id=current_user.id, category=data["category"],
                                              description=data["description"], claim=data["claim"],
                                              claim_detail=data["claim_detail"], complainant_address=address,
                                              photos=photos)
    except ComplaintError as error:
        raise _complaint_field(error, error.field or "description") from None
    db.session.commit()
    return _fresh(complaint), 201


@resident_trust_blueprint.route("/complaints")
@resident_trust_blueprint.arguments(schemas.ComplaintQuery, location="query", as_kwargs=True)
@paging.responds(resident_trust_blueprint, schemas.ComplaintPage)
@_errors(resident_trust_blueprint, 401, 404, 422, 503)
@requires_resident_scope("purchases:read")
def list_my_complaints(limit: int, cursor: str | None = None, status: str | None = None, since=None, until=None):
    """我的投诉

    我在这个街区或市场提出的投诉，最新的在前，可按状态（status）和提出时间（since、until）筛选：状态、期限、商家的
    答复、处理结果和每一步的记录。
    """
    return _complaint_page(Complaint.buyer_id == current_user.id, limit, cursor, status, since, until)


def _complaint_page(condition, limit: int, cursor: str | None, status: str | None, since, until) -> dict:
    query = _complaint_query().where(condition)
    if status:
        query = query.where(Complaint.status == status)
    query = paging.within(query, Complaint.filed_at, since, until)
    return paging.keyset_page(query, NEWEST_COMPLAINTS, limit=limit, cursor=cursor, total=True)


@resident_trust_blueprint.route("/complaints/<string(maxlength=32):complaint_number>")
@resident_trust_blueprint.response(200, schemas.ComplaintOut)
@_errors(resident_trust_blueprint, 401, 404, 503)
@requires_resident_scope("purchases:read")
def get_my_complaint(complaint_number: str):
    """一件投诉

    按投诉编号（提交时回答的 number）。actions 列出我现在可以做的事（商家答复后：accept 接受、escalate 申请平台处理）。
    别人的投诉、别的街区或市场的投诉都回答 404。
    """
    return _my_complaint(complaint_number)


@resident_trust_blueprint.route("/complaints/<string(maxlength=32):complaint_number>/accept", methods=["POST"])
@idempotent
@resident_trust_blueprint.response(200, schemas.ComplaintOut, description="投诉已办结（或这个请求已办结过它）。")
@_errors(resident_trust_blueprint, 400, 401, 404, 409, 503)
@requires_resident_scope("purchases:write")
@resident_trust_blueprint.doc(parameters=[IDEMPOTENCY])
def accept_answer(complaint_number: str):
    """接受商家答复

    商家答复后，投诉人接受答复，投诉办结（已解决）。商家还没有答复、已转平台处理或已办结时回答 409
    （code: invalid_transition）。用同一个 Idempotency-Key 重试时回答 200 和投诉。
    """
    complaint = _my_complaint(complaint_number, lock=True)
    order_api._idempotency_key()  # required (documented); the complaint's own history makes a retry safe
    order_api._check_csrf()
    last = _last_move(complaint)
    if complaint.status == ComplaintStatus.resolved and last is not None and last.actor_id == current_user.id:
        return complaint  # this request already accepted it
    if complaint.status != ComplaintStatus.answered:
        raise _not_now(complaint)
    complaints.accept(complaint, actor_id=current_user.id)
    db.session.commit()
    return _fresh(complaint)


@resident_trust_blueprint.route("/complaints/<string(maxlength=32):complaint_number>/escalate", methods=["POST"])
@idempotent
@resident_trust_blueprint.arguments(schemas.EscalateIn, description="不接受答复的理由（可选）。")
@resident_trust_blueprint.response(200, schema=schemas.ComplaintOut,
                                   description="已转交市场运营方处理（或这个请求已转交过）。")
@_errors(resident_trust_blueprint, 400, 401, 404, 409, 422, 503)
@requires_resident_scope("purchases:write")
@resident_trust_blueprint.doc(parameters=[IDEMPOTENCY])
def escalate_complaint(data: dict, complaint_number: str):
    """申请平台处理

    投诉人不接受商家的答复，请市场运营方处理；运营方须在期限（due_at）内作出处理结果。只能在商家答复后、回应期限内
    申请：商家还没有答复或投诉已办结回答 409（code: invalid_transition），回应期限已过（答复已视为接受）回答 409
    （code: reply_overdue）。用同一个 Idempotency-Key 重试时回答 200 和投诉。
    """
    complaint = _my_complaint(complaint_number, lock=True)
    order_api._idempotency_key()
    order_api._check_csrf()
    last = _last_move(complaint)
    if complaint.status == ComplaintStatus.escalated and last is not None and last.actor_id == current_user.id:
        return complaint
    if complaint.status != ComplaintStatus.answered:
        raise _not_now(complaint)
    if complaint.overdue(utcnow()):
        raise ApiProblem(409, "reply_overdue", _("回应期限已过，商家的答复已视为接受。"))
    try:
        complaints.escalate(complaint, actor_id=current_user.id, reason=data["reason"])
    except ComplaintError as error:
        raise _complaint_field(error, "reason") from None
    db.session.commit()
    return _fresh(complaint)


# -- complaints: the merchant -------------------------------------------------------------------------------------

shop_complaints_blueprint.url_value_preprocessor(views._take_shop_slug)


@shop_complaints_blueprint.route("/complaints")
@shop_complaints_blueprint.arguments(schemas.ComplaintQuery, location="query", as_kwargs=True)
@paging.responds(shop_complaints_blueprint, schemas.ShopComplaintPage)
@_errors(shop_complaints_blueprint, 401, 403, 404, 422, 503)
@requires_scope("complaints:read")
def list_shop_complaints(limit: int, cursor: str | None = None, status: str | None = None, since=None, until=None):
    """本店收到的投诉

    最新的在前，可按状态（status=filed 为待答复）和提出时间（since、until）筛选。due_at 为答复期限，逾期自动转交
    市场运营方处理；actions 列出现在可以做的事（answer）。
    """
    return _complaint_page(Complaint.shop_id == g.api_shop.id, limit, cursor, status, since, until)


@shop_complaints_blueprint.route("/complaints/<string(maxlength=32):complaint_number>/answer", methods=["POST"])
@idempotent
@shop_complaints_blueprint.arguments(schemas.AnswerIn, description="给投诉人的答复。")
@shop_complaints_blueprint.response(200, schemas.ShopComplaintOut, description="已答复（或这个请求已答复过）。")
@_errors(shop_complaints_blueprint, 400, 401, 403, 404, 409, 422, 503)
@requires_scope("complaints:write")
@shop_complaints_blueprint.doc(parameters=[IDEMPOTENCY])
def answer_complaint(data: dict, complaint_number: str):
    """答复投诉

    在答复期限（due_at）内答复一次；投诉人随后接受或申请平台处理。已答复、已转平台处理或已办结回答 409
    （code: invalid_transition），期限已过回答 409（code: answer_overdue）。用同一个 Idempotency-Key 重试
    （答复相同）时回答 200 和投诉。
    """
    complaint = db.session.scalar(_complaint_query().where(Complaint.number == complaint_number,
                                                           Complaint.shop_id == g.api_shop.id)
                                  .with_for_update(of=Complaint))
    if complaint is None:
        abort(404)
    order_api._idempotency_key()  # required (documented); the complaint's one answer makes a retry safe
    text = data["answer"].replace("\r\n", "\n").strip()
    if complaint.answered_at is not None and complaint.answered_by == g.api_user.id and complaint.answer == text:
        return complaint
    if complaint.status != ComplaintStatus.filed:
        raise _not_now(complaint)
    if complaint.overdue(utcnow()):
        raise ApiProblem(409, "answer_overdue", _("答复期限已过，投诉将转交市场运营方处理。"))
    try:
        complaints.answer(complaint, actor_id=g.api_user.id, text=data["answer"])
    except ComplaintError as error:
        raise _complaint_field(error, "answer") from None
    db.session.commit()
    return _fresh(complaint)


# -- errors and registration --------------------------------------------------------------------------------------

BLUEPRINTS = (badge_blueprint, public_reviews_blueprint, resident_trust_blueprint, shop_complaints_blueprint)
for _blueprint in BLUEPRINTS:
    # Badges are checked across tenants: the badge's own tenant need not be open for its status to be read.
    views.answer_with_problems(_blueprint, order_api.PROBLEMS, tenant=_blueprint is not badge_blueprint)
resident_trust_blueprint.before_request(order_api._signed_in)
shop_complaints_blueprint.before_request(views._authenticate)


def register(api) -> None:
    """Add these blueprints to the API (called from ``views.register``, after the orders API)."""
    for blueprint in BLUEPRINTS:
        # Checked per view instead: resident writes call csrf.protect() after the 404 lookups, before any write;
        # merchant writes need a bearer token, which a browser never sends by itself; the rest only read.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
