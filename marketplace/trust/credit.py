"""The shop credit score (信用评价): a published, deterministic formula over the last 180 days.

Four parts, 100 points in all (docs/credit.md explains them to merchants and residents, with examples):

* **Ratings, 40**: the mean of a review's four ratings, averaged over the window's reviews, smoothed towards 4.0
  as if the shop had five more reviews of 4.0 (one angry buyer cannot sink a new shop, five happy ones cannot
  float it): ``r = (sum + 5 × 4.0) / (n + 5)``, points ``40 × (r − 1) / 4``. Hidden reviews count.
* **On-time fulfilment, 25**: of the shipments whose promise fell due in the window, the share received by their
  promised time (with an hour's grace), smoothed towards 90 % as if there were ten more with nine on time:
  ``p = (on_time + 9) / (due + 10)``, points ``25 × p``.
* **Cancellations by the shop, 15**: orders the merchant rejected, as a share of the window's orders (at least
  ten): ``c = rejected / max(orders, 10)``, points ``15 × max(0, 1 − 5c)`` — one order in five rejected leaves none.
* **Complaints, 20**: complaints the market's operator upheld (a partly upheld one counts half), as a share of
  the window's orders (at least twenty): ``k = (upheld + ½ partly) / max(orders, 20)``, points
  ``20 × max(0, 1 − 10k)`` — one in ten upheld leaves none. Complaints the buyer settled with the merchant, or the
  operator rejected, cost nothing.

Then **public regulatory records** (国家企业信用信息公示系统, ``trust.public_records``) of the shop's merchant that
are in force at the moment of computing (recorded by then, not removed, their listed period not over) take points
off: each listing in the abnormal-operations list (经营异常名录) −10, each administrative penalty (行政处罚) −5, each
failed spot check (抽查检查不合格) −3, and a listing as a serious violator (严重违法失信名单) −20; at most −20 in all.
The window does not apply: a record counts for as long as the regulator lists it.

The score is the sum less that deduction, rounded half up (never below 0); its level: A 优秀 (90+), B 良好 (80+),
C 一般 (65+), D 待改进 — and D, the score capped at 64, while the merchant is on the serious-violation list. A shop with
fewer than ten orders and fewer than five reviews in the window is 新店: its score is shown as provisional (unless
the merchant is on the serious-violation list: that standing is no guess). Nothing paid for enters the score.

Pages compute the score live. Search cannot (it ranks thousands of products at once), so each shop's standing is
also stored (``ShopCredit``) and copied into its products' search documents: ``refresh_credit`` recomputes it at once
after a review, a complaint decision or a public record entered or removed, and ``flask trust credit`` every day for
the rest (the window moves on, a record's listed period ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.delivery.models import Shipment
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from marketplace.search.backend import CREDIT_LEVELS, NEW_SHOP
from marketplace.tenancy.context import current_tenant_id
from marketplace.tenancy.models import TenantScoped

WINDOW = timedelta(days=180)
GRACE = timedelta(hours=1)
#: Score → level, highest first.
LEVELS = ((90, "A", _l("优秀")), (80, "B", _l("良好")), (65, "C", _l("一般")), (0, "D", _l("待改进")))
NEW_SHOP_ORDERS, NEW_SHOP_REVIEWS = 10, 5
NEW_SHOP_LABEL = _l("新店")
#: Points each public record in force takes off, by kind (``public_records.PublicRecordKind``), and the most in all.
RECORD_DEDUCTIONS = {"abnormal_operations": 10, "administrative_penalty": 5, "failed_inspection": 3,
                     "serious_violation": 20}
MAX_RECORD_DEDUCTION = 20


@dataclass(frozen=True)
class CreditInputs:
    """What the formula reads, counted over the window."""

    reviews: int = 0
    #: The sum over reviews of each review's mean rating (four dimensions).
    rating_sum: Decimal = Decimal(0)
    orders: int = 0
    rejected: int = 0
    promises_due: int = 0
    on_time: int = 0
    upheld: int = 0
    partly_upheld: int = 0
    #: The merchant's public regulatory records in force at the moment of computing, by kind (not windowed).
    abnormal_operations: int = 0
    administrative_penalties: int = 0
    failed_inspections: int = 0
    serious_violations: int = 0


@dataclass(frozen=True)
class CreditScore:
    score: int
    level: str
    level_label: str
    #: Points per part: ratings (of 40), fulfilment (of 25), cancellations (of 15), complaints (of 20).
    parts: dict[str, Decimal]
    inputs: CreditInputs
    provisional: bool
    #: Points the public records in force take off the parts' sum (0 to ``MAX_RECORD_DEDUCTION``).
    deduction: Decimal = Decimal(0)


def _points(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def score(inputs: CreditInputs) -> CreditScore:
    """The formula itself: the same inputs always give the same score."""
    mean = (inputs.rating_sum + 5 * Decimal(4)) / (inputs.reviews + 5)
    on_time = Decimal(inputs.on_time + 9) / (inputs.promises_due + 10)
    cancelled = Decimal(inputs.rejected) / max(inputs.orders, 10)
    upheld = (inputs.upheld + Decimal(inputs.partly_upheld) / 2) / max(inputs.orders, 20)
    parts = {
        "ratings": _points(40 * (mean - 1) / 4),
        "fulfilment": _points(25 * on_time),
        "cancellations": _points(15 * max(Decimal(0), 1 - 5 * cancelled)),
        "complaints": _points(20 * max(Decimal(0), 1 - 10 * upheld)),
    }
    deduction = Decimal(min(MAX_RECORD_DEDUCTION, sum(RECORD_DEDUCTIONS[kind] * count
                                                      for kind, count in record_counts(inputs).items())))
    total = max(0, int((sum(parts.values()) - deduction).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    blacklisted = inputs.serious_violations > 0
    if blacklisted:  # level D, and a score no C shop is below: search ranks by score within the levels
        total = min(total, LEVELS[-2][0] - 1)
    _floor, level, label = LEVELS[-1] if blacklisted else next(entry for entry in LEVELS if total >= entry[0])
    provisional = inputs.orders < NEW_SHOP_ORDERS and inputs.reviews < NEW_SHOP_REVIEWS and not blacklisted
    return CreditScore(total, level, str(label), parts, inputs, provisional, deduction)


def record_counts(inputs: CreditInputs) -> dict[str, int]:
    """The inputs' public records in force, by kind (``public_records.PublicRecordKind`` values)."""
    return {"abnormal_operations": inputs.abnormal_operations, "administrative_penalty": inputs.administrative_penalties,
            "failed_inspection": inputs.failed_inspections, "serious_violation": inputs.serious_violations}


def credit_inputs(shop, now: datetime | None = None) -> CreditInputs:
    """Count the shop's window (the current tenant's rows: call inside its tenant scope)."""
    from marketplace.trust.complaints import complaint_outcomes
    from marketplace.trust.public_records import counts_in_force
    from marketplace.trust.reviews import Review

    now = now or utcnow()
    since = now - WINDOW
    reviews, rating_sum = db.session.execute(
        select(func.count(Review.id), func.coalesce(func.sum(Review.rating_product + Review.rating_described
                                                             + Review.rating_service + Review.rating_delivery), 0))
        .where(Review.shop_id == shop.id, Review.created_at >= since, Review.created_at <= now)).one()
    # The window's orders that were paid for (an unpaid order that lapsed says nothing about the shop).
    paid = select(OrderEvent.order_id).where(OrderEvent.to_status == OrderStatus.paid)
    orders = db.session.scalar(select(func.count(Order.id)).where(
        Order.shop_id == shop.id, Order.created_at >= since, Order.created_at <= now, Order.id.in_(paid))) or 0
    # Rejected: cancelled by someone other than the buyer and other than the platform's own jobs.
    rejected = db.session.scalar(select(func.count(OrderEvent.id)).join(Order, Order.id == OrderEvent.order_id).where(
        Order.shop_id == shop.id, OrderEvent.to_status == OrderStatus.cancelled, OrderEvent.at >= since,
        OrderEvent.at <= now, OrderEvent.from_status != OrderStatus.pending_payment,
        OrderEvent.actor_id.is_not(None), OrderEvent.actor_id != Order.buyer_id)) or 0
    due = and_(Shipment.promised_by.is_not(None), Shipment.promised_by >= since, Shipment.promised_by <= now,
               Shipment.status != "cancelled")
    promises = db.session.execute(select(Shipment.promised_by, Shipment.received_at)
                                  .join(Order, Order.id == Shipment.order_id).where(Order.shop_id == shop.id, due)).all()
    on_time = sum(1 for promised, received in promises if received is not None and received <= promised + GRACE)
    outcomes = complaint_outcomes(shop, since)
    records = counts_in_force(shop.merchant_id, now)
    return CreditInputs(reviews=reviews, rating_sum=Decimal(int(rating_sum)) / 4, orders=orders, rejected=rejected,
                        promises_due=len(promises), on_time=on_time, upheld=outcomes.get("upheld", 0),
                        partly_upheld=outcomes.get("partly_upheld", 0),
                        abnormal_operations=records.get("abnormal_operations", 0),
                        administrative_penalties=records.get("administrative_penalty", 0),
                        failed_inspections=records.get("failed_inspection", 0),
                        serious_violations=records.get("serious_violation", 0))


def shop_credit(shop, now: datetime | None = None) -> CreditScore:
    return score(credit_inputs(shop, now))


def standing_label(level: str) -> str:
    """A stored level as people read it: "A 优秀" … "D 待改进", or 新店."""
    for _floor, known, label in LEVELS:
        if known == level:
            return f"{known} {label}"
    return str(NEW_SHOP_LABEL)


# -- the stored standing that search ranks by ---------------------------------------------------------------------

class ShopCredit(TenantScoped, db.Model):
    """A shop's credit as of its last refresh: what search sorts and filters by (pages compute it live)."""

    __tablename__ = "shop_credit"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 100", name="score"),
        CheckConstraint("level IN (" + ", ".join(f"'{level}'" for level in CREDIT_LEVELS) + ")", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int] = mapped_column()
    #: "A" to "D", or "new" while the score is provisional (``CreditScore.provisional``).
    level: Mapped[str] = mapped_column(String(3))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


def standing(result: CreditScore) -> tuple[int, str]:
    """The (score, level) stored for a computed score."""
    return result.score, NEW_SHOP if result.provisional else result.level


def refresh_credit(shops=None, now: datetime | None = None) -> int:
    """Recompute and store the standing of these shops of the current tenant (all its shops when None).

    Shops whose score or level moved have their products' search documents rewritten once the caller commits.
    Returns how many moved (a shop scored for the first time counts). Flushes, no commit.
    """
    from marketplace.search import indexing  # search documents read this module's table
    from marketplace.shops.models import Shop

    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise RuntimeError("refresh_credit needs a tenant scope")
    now = now or utcnow()
    if shops is None:
        shops = list(db.session.scalars(select(Shop).order_by(Shop.id)))
    shops = [shop for shop in shops if shop.tenant_id == tenant_id]
    if not shops:
        return 0
    stored = {row.shop_id: row for row in db.session.scalars(
        select(ShopCredit).where(ShopCredit.shop_id.in_([shop.id for shop in shops])))}
    moved = []
    for shop in shops:
        score_now, level_now = standing(shop_credit(shop, now))
        row = stored.get(shop.id)
        if row is None:
            row, inserted = _insert_standing(tenant_id, shop.id, score_now, level_now, now)
            if inserted:
                moved.append(shop.id)
                continue
        if (row.score, row.level) != (score_now, level_now):
            moved.append(shop.id)
        row.score, row.level, row.computed_at = score_now, level_now, now
    db.session.flush()
    if moved:
        indexing.touch(tenant_id, "shop", moved)
    return len(moved)


def _insert_standing(tenant_id: int, shop_id: int, score_: int, level: str, now: datetime) -> tuple[ShopCredit, bool]:
    """A shop's first standing row, and True; or the row a concurrent refresh inserted a moment ago, and False (it
    may have counted before this transaction's own review or decision: the caller writes over it)."""
    row = ShopCredit(tenant_id=tenant_id, shop_id=shop_id, score=score_, level=level, computed_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return db.session.scalar(select(ShopCredit).where(ShopCredit.shop_id == shop_id)), False
    return row, True
