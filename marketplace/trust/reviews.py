"""Reviews: what buyers say about the goods and the shop, kept for good (E-Commerce Law art. 39).

Only the buyer of a completed order line reviews it, once: a rating of 1 to 5 for the goods and for three shop
dimensions (as described, service, delivery or pickup), plain text and up to six photos (taken in by
``marketplace.media.images.ingest_image``). The merchant replies once, publicly.

Nobody deletes a review, and nobody changes what the buyer wrote:

* the ORM refuses it: ``before_delete`` / ``before_update`` on ``Review`` compare with the stored row and allow
  only the reply (once) and the hide fields (once) to be filled in; ``ReviewLog`` rows are never changed;
* bulk ``session.execute(delete(Review))`` / ``update(...)`` are refused before they reach the database
  (``do_orm_execute``);
* the database refuses the same with triggers (SQLite and PostgreSQL, in the migration), so raw SQL cannot
  either — short of dropping the triggers, which the hash chain then shows.

An operator may hide a review only for a reason of ``HideReason`` (OTSM art. 15): who, when and why are kept on
the row and in the log; hidden reviews still count in ``shop_ratings``. Lists are newest first, never
positive first (OTSM art. 14).

Each creation, reply and hide appends a ``ReviewLog`` entry to the tenant's hash chain:
``hash = sha256(prev_hash + canonical JSON payload)``, the first entry's ``prev_hash`` being 64 zeros.
``verify_chain(tenant)`` recomputes the chain and checks every entry's payload against the review row as it is
now (``flask trust verify-reviews``).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from marketplace.core.chain import GENESIS, canonical, chain_hash
from marketplace.core.chain import moment as _moment
from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderLine, OrderStatus
from marketplace.tenancy.models import Tenant, TenantScoped

MAX_TEXT = 1000
MAX_REPLY = 1000
MAX_PHOTOS = 6
#: The rating dimensions: the goods, then the shop's three.
DIMENSIONS = ("product", "described", "service", "delivery")
DIMENSION_LABELS = {"product": _l("商品评分"), "described": _l("描述相符"), "service": _l("服务态度"),
                    "delivery": _l("物流/取货体验")}


@labelled({"illegal": _l("违法信息"), "privacy": _l("侵犯他人隐私或个人信息"), "insult": _l("侮辱、诽谤他人"),
           "ads": _l("广告或与交易无关")})
class HideReason(LabelledEnum):
    """The only reasons a review may be hidden (OTSM art. 15; Zhejiang rules): it stays stored and counted."""

    illegal = "illegal"
    privacy = "privacy"
    insult = "insult"
    ads = "ads"


@labelled({"created": _l("发表评价"), "replied": _l("商家回复"), "hidden": _l("平台屏蔽")})
class LogKind(LabelledEnum):
    created = "created"
    replied = "replied"
    hidden = "hidden"


# -- models ---------------------------------------------------------------------------------------------------

class Review(TenantScoped, TimestampMixin, db.Model):
    """One buyer's review of one order line. Never deleted; ratings and text never change."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("order_line_id"),
        CheckConstraint("rating_product BETWEEN 1 AND 5 AND rating_described BETWEEN 1 AND 5 "
                        "AND rating_service BETWEEN 1 AND 5 AND rating_delivery BETWEEN 1 AND 5", name="ratings"),
        CheckConstraint(f"length(text) <= {MAX_TEXT} AND length(reply) <= {MAX_REPLY}", name="lengths"),
        CheckConstraint("hidden_reason IS NULL OR hidden_reason IN ('illegal', 'privacy', 'insult', 'ads')",
                        name="hidden_reason"),
        Index("ix_reviews_tenant_id_shop_id_created_at", "tenant_id", "shop_id", "created_at"),
        Index("ix_reviews_tenant_id_product_id_created_at", "tenant_id", "product_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="RESTRICT"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"))
    #: As the order line says; kept for the product page's list (not part of the hashed payload: the order line is).
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    rating_product: Mapped[int] = mapped_column(SmallInteger)
    #: 描述相符: the goods were as the shop described them.
    rating_described: Mapped[int] = mapped_column(SmallInteger)
    rating_service: Mapped[int] = mapped_column(SmallInteger)
    #: 物流/取货体验: delivery, or collecting at the stall.
    rating_delivery: Mapped[int] = mapped_column(SmallInteger)
    #: Plain text (no markup), cleaned of control characters.
    text: Mapped[str] = mapped_column(Text, default="")
    #: [{"sha256", "width", "height"}] of the photos, as marketplace.media stored them.
    photos: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: The merchant's one public reply ("" until then).
    reply: Mapped[str] = mapped_column(Text, default="", server_default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    #: Set once, by an operator, with a ``HideReason``: the review is then shown as hidden but still counted.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    hidden_reason: Mapped[str | None] = mapped_column(String(16))

    line = relationship("OrderLine")
    order = relationship("Order")
    shop = relationship("Shop")
    buyer = relationship("User", foreign_keys=[buyer_id])

    def rating(self, dimension: str) -> int:
        return getattr(self, f"rating_{dimension}")

    @property
    def hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def hidden_label(self) -> str:
        return HideReason(self.hidden_reason).label if self.hidden_reason in HideReason.__members__ else ""


class ReviewLog(TenantScoped, db.Model):
    """One entry of a tenant's hash chain of review events, appended and never changed."""

    __tablename__ = "review_logs"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1, 2, 3… within the tenant, with no gaps.
    seq: Mapped[int] = mapped_column()
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    #: The canonical JSON (sorted keys, no spaces, UTF-8) that was hashed, exactly.
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: sha256(prev_hash + payload), hex.
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- what may change: nothing but the reply (once) and the hide (once) ----------------------------------------

class ReviewsAreKept(RuntimeError):
    """A review or a log entry was about to be deleted, or what the buyer wrote about to be changed."""


_REPLY_FIELDS = ("reply", "replied_at", "replied_by_id")
_HIDE_FIELDS = ("hidden_at", "hidden_by_id", "hidden_reason")
PROTECTED_TABLES = frozenset({"reviews", "review_logs"})


@event.listens_for(Review, "before_delete")
@event.listens_for(ReviewLog, "before_delete")
@event.listens_for(ReviewLog, "before_update")
def _refuse_deleting(_mapper, _connection, target) -> None:
    raise ReviewsAreKept(f"{type(target).__name__} {target.id} cannot be deleted or changed")


@event.listens_for(Review, "before_update")
def _refuse_rewriting(_mapper, connection, target: Review) -> None:
    table = Review.__table__
    stored = connection.execute(select(table).where(table.c.id == target.id)).mappings().one()
    state = inspect(target)
    changed = {}
    for column in table.columns:
        history = state.attrs[column.key].history
        if history.has_changes():
            changed[column.key] = history.added[0] if history.added else None
    for key, value in changed.items():
        if key in ("updated_at", *_REPLY_FIELDS, *_HIDE_FIELDS):
            continue
        if value != stored[key]:
            raise ReviewsAreKept(f"review {target.id}: {key} cannot be changed")
    if (stored["reply"] or stored["replied_at"] is not None) and any(
            key in changed and changed[key] != stored[key] for key in _REPLY_FIELDS):
        raise ReviewsAreKept(f"review {target.id} already has its reply")
    if stored["hidden_at"] is not None and any(
            key in changed and changed[key] != stored[key] for key in _HIDE_FIELDS):
        raise ReviewsAreKept(f"review {target.id} is already hidden")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_writes(state) -> None:
    """``session.execute(delete(Review))`` and bulk updates never reach the row events above: refuse them here."""
    if not (state.is_delete or state.is_update):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in PROTECTED_TABLES:
        raise ReviewsAreKept(f"bulk {'DELETE' if state.is_delete else 'UPDATE'} of {table.name} is refused")


# -- rules ----------------------------------------------------------------------------------------------------

class ReviewError(ValueError):
    """A review, reply or hide that is refused. ``message`` is for people, ``code`` for programs:
    ``not_buyer``, ``not_completed``, ``already_reviewed``, ``rating``, ``text``, ``photos``, ``wrong_shop``,
    ``already_replied``, ``reply``, ``reason``, ``already_hidden``."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def clean_text(raw: str | None, limit: int) -> str:
    """Plain text: NFC, line breaks kept (at most two in a row), other control and format characters dropped,
    spaces trimmed. Markup is not interpreted anywhere (pages escape it), so nothing else needs removing."""
    text = unicodedata.normalize("NFC", (raw or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")
    lines = [line.strip() for line in text.split("\n")]
    while "\n\n\n" in (joined := "\n".join(lines)):
        lines = joined.replace("\n\n\n", "\n\n").split("\n")
    text = joined.strip()
    if len(text) > limit:
        raise ReviewError(_("内容太长了，最多 %(max)d 个字。", max=limit), "text")
    return text


def _rating(value) -> int:
    raw = str(value if value is not None else "").strip()
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 5:
        raise ReviewError(_("每一项评分都请选择 1 到 5 星。"), "rating")
    return int(raw)


def review_of_line(line_id: int) -> Review | None:
    return db.session.scalar(select(Review).where(Review.order_line_id == line_id))


def eligibility(line: OrderLine, buyer_id: int) -> ReviewError | None:
    """Why ``buyer_id`` may not review ``line`` now, or None when they may."""
    order = db.session.get(Order, line.order_id)
    if order is None or order.buyer_id != buyer_id:
        return ReviewError(_("只有购买了这件商品的买家才能评价。"), "not_buyer")
    if order.status != OrderStatus.completed:
        return ReviewError(_("订单完成后才能评价。"), "not_completed")
    if review_of_line(line.id) is not None:
        return ReviewError(_("这件商品已经评价过了，评价不能修改或重复发表。"), "already_reviewed")
    return None


def create_review(tenant: Tenant, line: OrderLine, buyer_id: int, *, ratings: dict[str, Any], text: str = "",
                  photos: list[bytes] = ()) -> Review:
    """The buyer's review of one completed order line; appended to the tenant's chain. Flushes, no commit.

    ``ratings`` maps each of ``DIMENSIONS`` to 1–5; ``photos`` are uploaded files' bytes (at most six), checked
    and stored by marketplace.media. Raises ``ReviewError``.
    """
    from marketplace.media.images import ImageRejected, ingest_image
    from marketplace.media.jobs import enqueue

    refused = eligibility(line, buyer_id)
    if refused is not None:
        raise refused
    values = {dimension: _rating(ratings.get(dimension)) for dimension in DIMENSIONS}
    text = clean_text(text, MAX_TEXT)
    photos = [data for data in photos if data]
    if len(photos) > MAX_PHOTOS:
        raise ReviewError(_("最多上传 %(n)d 张照片。", n=MAX_PHOTOS), "photos")
    stored = []
    for data in photos:
        try:
            stored.append(ingest_image(data))
        except ImageRejected as rejected:
            raise ReviewError(rejected.message, "photos") from rejected
    lock_chain(tenant)
    review = Review(tenant_id=tenant.id, order_line_id=line.id, order_id=line.order_id,
                    shop_id=db.session.get(Order, line.order_id).shop_id, product_id=line.product_id,
                    buyer_id=buyer_id, text=text, created_at=_now(),
                    photos=[{"sha256": s.sha256, "width": s.width, "height": s.height} for s in stored],
                    **{f"rating_{dimension}": value for dimension, value in values.items()})
    try:
        with db.session.begin_nested():  # two submissions at once: the unique line wins once
            db.session.add(review)
    except IntegrityError:
        raise ReviewError(_("这件商品已经评价过了，评价不能修改或重复发表。"), "already_reviewed") from None
    _append(tenant, review, LogKind.created)
    for image in stored:
        enqueue("marketplace.media.images.make_derivatives", image.sha256)
    _refresh_credit(review.shop_id)
    from marketplace.webhooks import services as webhooks  # webhooks read reviews, not the other way round

    webhooks.emit("review.created", tenant_id=tenant.id, shop_id=review.shop_id, data={
        "review_id": review.id, "order_line_id": review.order_line_id, "product_id": review.product_id,
        "ratings": {"product": review.rating_product, "described": review.rating_described,
                    "service": review.rating_service, "delivery": review.rating_delivery}, "text": review.text})
    return review


def _refresh_credit(shop_id: int) -> None:
    """A review moves the shop's credit: search ranks by it from this commit on, not from tonight's refresh."""
    from marketplace.shops.models import Shop
    from marketplace.trust.credit import refresh_credit  # the score reads reviews

    refresh_credit([db.session.get(Shop, shop_id)])


def reply(tenant: Tenant, review: Review, shop, actor_id: int, text: str) -> Review:
    """The merchant's one public reply to a review of its shop. Flushes, no commit. Raises ``ReviewError``."""
    if review.shop_id != shop.id:
        raise ReviewError(_("这条评价不属于本店。"), "wrong_shop")
    if review.reply or review.replied_at is not None:
        raise ReviewError(_("每条评价只能回复一次，已回复的内容不能修改。"), "already_replied")
    text = clean_text(text, MAX_REPLY)
    if not text:
        raise ReviewError(_("请填写回复内容。"), "reply")
    lock_chain(tenant)
    review.reply, review.replied_at, review.replied_by_id = text, _now(), actor_id
    db.session.flush()
    _append(tenant, review, LogKind.replied)
    return review


def hide(tenant: Tenant, review: Review, actor_id: int, reason: str) -> Review:
    """An operator hides a review for one of ``HideReason``: kept, counted, shown as hidden. Raises ``ReviewError``."""
    if reason not in HideReason.__members__:
        raise ReviewError(_("请从列出的法定理由中选择一项。"), "reason")
    if review.hidden_at is not None:
        raise ReviewError(_("这条评价已经屏蔽过了。"), "already_hidden")
    lock_chain(tenant)
    review.hidden_at, review.hidden_by_id, review.hidden_reason = _now(), actor_id, reason
    db.session.flush()
    _append(tenant, review, LogKind.hidden)
    return review


def _now() -> datetime:
    # Microseconds survive every backend; the payload's timestamps must read back exactly as hashed.
    return utcnow()


# -- aggregates and lists -------------------------------------------------------------------------------------

@dataclass
class Ratings:
    """How many reviews, and the average of each dimension (None with no reviews), hidden ones included."""

    count: int = 0
    sums: dict[str, int] = field(default_factory=dict)

    def average(self, dimension: str) -> float | None:
        return round(self.sums.get(dimension, 0) / self.count, 2) if self.count else None

    @property
    def averages(self) -> dict[str, float | None]:
        return {dimension: self.average(dimension) for dimension in DIMENSIONS}


def _ratings(*conditions) -> Ratings:
    columns = [func.coalesce(func.sum(getattr(Review, f"rating_{d}")), 0) for d in DIMENSIONS]
    row = db.session.execute(select(func.count(Review.id), *columns).where(*conditions)).one()
    return Ratings(count=row[0], sums=dict(zip(DIMENSIONS, (int(v) for v in row[1:]), strict=True)))


def shop_ratings(shop) -> Ratings:
    """The shop's review count and average per dimension (``product``, ``described``, ``service``, ``delivery``),
    hidden reviews included: hiding never improves a shop's figures. For the credit score and the shop page."""
    return _ratings(Review.shop_id == shop.id)


def product_ratings(product) -> Ratings:
    return _ratings(Review.product_id == product.id)


def latest_reviews(*, shop=None, product=None, limit: int = 20, offset: int = 0) -> list[Review]:
    """Newest first — never sorted by rating (OTSM art. 14)."""
    condition = Review.product_id == product.id if product is not None else Review.shop_id == shop.id
    return list(db.session.scalars(select(Review).where(condition)
                                   .order_by(Review.created_at.desc(), Review.id.desc()).limit(limit).offset(offset)))


# -- the hash chain ------------------------------------------------------------------------------------------

def payload_for(review: Review, kind: str) -> dict[str, Any]:
    """What an entry of ``kind`` says about ``review``, from the row as it is now."""
    base = {"kind": str(kind), "review_id": review.id, "tenant_id": review.tenant_id}
    if kind == LogKind.created:
        return {**base, "order_line_id": review.order_line_id, "order_id": review.order_id,
                "shop_id": review.shop_id, "buyer_id": review.buyer_id, "text": review.text,
                "ratings": {d: review.rating(d) for d in DIMENSIONS},
                "photos": [photo.get("sha256") for photo in review.photos or []], "at": _moment(review.created_at)}
    if kind == LogKind.replied:
        return {**base, "reply": review.reply, "by": review.replied_by_id, "at": _moment(review.replied_at)}
    if kind == LogKind.hidden:
        return {**base, "reason": review.hidden_reason, "by": review.hidden_by_id, "at": _moment(review.hidden_at)}
    raise ValueError(f"unknown review log kind {kind!r}")


def lock_chain(tenant: Tenant) -> None:
    """Appends of one tenant's chain take turns (the tenant row's lock on PostgreSQL; SQLite writers queue).

    FOR NO KEY UPDATE: the rows a checkout inserts only share the tenant row's key, so they do not wait for it."""
    db.session.execute(select(Tenant.id).where(Tenant.id == tenant.id).with_for_update(key_share=True))


def _append(tenant: Tenant, review: Review, kind: str) -> ReviewLog:
    last = db.session.execute(select(ReviewLog.seq, ReviewLog.hash).where(ReviewLog.tenant_id == tenant.id)
                              .order_by(ReviewLog.seq.desc()).limit(1)).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    payload = canonical(payload_for(review, kind))
    entry = ReviewLog(tenant_id=tenant.id, seq=seq, review_id=review.id, kind=str(kind), payload=payload,
                      prev_hash=prev_hash, hash=chain_hash(prev_hash, payload))
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the chain and the reviews disagree."""

    seq: int | None  # the entry, or None for a review with no entry
    review_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry #{self.seq}" if self.seq is not None else f"review {self.review_id}"
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify_chain(tenant: Tenant) -> ChainReport:
    """Recompute the tenant's chain and compare each entry with the review row as it is now.

    Finds: a log entry edited (its hash no longer matches, or the next entry's ``prev_hash`` does not), an entry
    missing (a gap in ``seq``), a review row edited (its entry's payload differs from the row), a review row
    deleted, and a review, reply or hide with no entry. Run inside ``tenant_scope(tenant)``.
    """
    # Appends wait while the chain is read: the reviews and the entries are seen as of one moment (a reply
    # committed between the two reads would otherwise look like an edited row).
    lock_chain(tenant)
    reviews = {review.id: review for review in db.session.scalars(select(Review).where(Review.tenant_id == tenant.id))}
    logged: set[tuple[int, str]] = set()
    prev_hash, count = GENESIS, 0
    entries = db.session.scalars(select(ReviewLog).where(ReviewLog.tenant_id == tenant.id).order_by(ReviewLog.seq))
    for count, entry in enumerate(entries, start=1):
        def broken(problem: str, entry=entry, count=count) -> ChainReport:
            return ChainReport(count, ChainBreak(entry.seq, entry.review_id, problem))

        if entry.seq != count:
            return broken(f"expected entry #{count} here: an entry is missing")
        if entry.prev_hash != prev_hash:
            return broken("prev_hash is not the previous entry's hash: an entry was changed or removed")
        if chain_hash(entry.prev_hash, entry.payload) != entry.hash:
            return broken("hash does not match prev_hash + payload: the entry was edited")
        prev_hash = entry.hash
        review = reviews.get(entry.review_id)
        if review is None:
            return broken(f"review {entry.review_id} is missing")
        try:
            said = json.loads(entry.payload)
        except ValueError:
            return broken("payload is not JSON")
        if not isinstance(said, dict) or said.get("kind") != entry.kind or entry.kind not in LogKind.__members__:
            return broken("payload does not match the entry's kind")
        if canonical(payload_for(review, entry.kind)) != entry.payload:
            return broken(f"review {review.id} no longer matches what was logged ({entry.kind}): the row was edited")
        if (review.id, entry.kind) in logged:
            return broken(f"review {review.id} has a second {entry.kind} entry")
        logged.add((review.id, entry.kind))
    for review in sorted(reviews.values(), key=lambda r: r.id):
        for kind, happened in ((LogKind.created, True), (LogKind.replied, bool(review.reply or review.replied_at)),
                               (LogKind.hidden, review.hidden_at is not None)):
            if happened and (review.id, kind) not in logged:
                return ChainReport(count, ChainBreak(None, review.id, f"no {kind} entry in the chain"))
    return ChainReport(count, None)
