"""Paid placements (竞价排名 / 推广): a merchant pays the market operator to show a product beside searches.

The law (电子商务法 Art. 40, 广告法 Art. 14) asks two things, and this module is built around them:

* whatever is paid for is marked "广告" where residents see it: placed products are a separate block with that
  label (``search/_ads.html``), never slipped into the results;
* organic ranking is never changed by money: nothing here touches the search index or its scores. The only
  way in is ``ads_for``, which picks the few placed products to show *beside* a search.

A placement runs over whole days of the tenant's calendar, for a fee kept for the record (fen). It matches a
search by keyword (a keyword occurring in the query text) or by category (the search is filtered by the
placement's category or one below it). Only goods a resident could buy right now are shown: the product on
sale, its shop open, its merchant approved, stock for at least the minimum order.

Every creation and early end appends a ``PlacementEvent`` (who, when, what was sold), never changed or
deleted, like the other operator decisions of the platform. Functions flush; the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, event, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from marketplace.catalog.models import Category, Product, ProductStatus, Variant
from marketplace.core.db import MAX_ID, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.shops.models import Shop, ShopStatus
from marketplace.tenancy.models import Tenant, TenantScoped

MAX_KEYWORDS = 10
MAX_KEYWORD_CHARACTERS = 20
#: The most days one placement may run, and how far ahead it may be sold: a typing slip (2062 for 2026)
#: is a message, not a ten-year advertisement.
MAX_DAYS = 366
MAX_DAYS_AHEAD = 366
#: Ten million yuan, in fen: more than any placement costs, and within every database's integer column.
MAX_FEE = 1_000_000_000
#: Separators operators type between keywords: commas and enumeration marks, half- or full-width, and spaces.
KEYWORD_SEPARATORS = re.compile(r"[,，、;；\s]+")


@labelled({"upcoming": _l("未开始"), "running": _l("投放中"), "finished": _l("已结束"),
           "ended_early": _l("已提前结束")})
class PlacementStatus(LabelledEnum):
    upcoming = "upcoming"
    running = "running"
    finished = "finished"
    ended_early = "ended_early"


class PlacementAction(StrEnum):  # what the record says happened; not shown on a page
    created = "created"
    ended = "ended"


class Placement(TenantScoped, db.Model):
    """One product placed beside a tenant's searches for a period, paid for by its merchant."""

    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint("fee >= 0", name="fee"),
        CheckConstraint("ends_at > starts_at", name="period"),
        # ads_for reads the placements not yet over: those ending after now.
        Index("ix_placements_tenant_id_ends_at", "tenant_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    #: The product's shop when the placement was sold (the merchant who pays).
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    #: Normalised (folded like search queries, de-duplicated); empty when the placement is by category only.
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Shown on searches filtered by this category or one below it. A deleted category leaves the keywords.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"))
    #: Midnight starting the first day and midnight ending the last, on the tenant's calendar, in UTC.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: What the merchant pays, in fen: a record only; it decides the order among ads, never organic ranking.
    fee: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when the operator ended it before ``ends_at``.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    product: Mapped[Product] = relationship()
    shop: Mapped[Shop] = relationship()
    category: Mapped[Category | None] = relationship()

    def status(self, now: datetime | None = None) -> PlacementStatus:
        now = now or utcnow()
        if self.ended_at is not None:
            return PlacementStatus.ended_early
        if now >= self.ends_at:
            return PlacementStatus.finished
        return PlacementStatus.upcoming if now < self.starts_at else PlacementStatus.running


class PlacementEvent(TenantScoped, db.Model):
    """A placement created or ended early: appended, never changed or deleted.

    ``details`` repeats what was sold (product, shop, keywords, category, days, fee), so the record stays
    readable should the placement itself go with its product.
    """

    __tablename__ = "placement_events"
    __table_args__ = (CheckConstraint("action IN ('created', 'ended')", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("placements.id", ondelete="SET NULL"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PlacementError(ValueError):
    """A placement that cannot be ended; the message says why, in the user's language."""


class PlacementInvalid(ValueError):
    """A placement that cannot be created: ``errors`` maps form fields to what is wrong with each."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@event.listens_for(PlacementEvent, "before_update")
@event.listens_for(PlacementEvent, "before_delete")
def _events_are_append_only(_mapper, _connection, target: PlacementEvent) -> None:
    raise PlacementError(f"placement event {target.id} is part of the audit trail and cannot be changed or deleted")


# -- keywords and days ----------------------------------------------------------------------------------------

def _fold(text: str) -> str:
    """The form search queries are compared in (half-width, lower case, simplified): 蘋果 finds 苹果's ad."""
    from marketplace.search import analysis

    return analysis.analyser().fold(text)


def normalise_keywords(raw: str | list[str]) -> list[str]:
    """Keywords as stored: split (a string at commas, 、 and spaces), folded, blanks dropped, duplicates once,
    in the order given. Lengths are checked by ``create``."""
    parts = KEYWORD_SEPARATORS.split(raw) if isinstance(raw, str) else [str(part) for part in raw]
    keywords: list[str] = []
    for part in parts:
        keyword = " ".join(_fold(part).split())
        if keyword and keyword not in keywords:
            keywords.append(keyword)
    return keywords


def day_bounds(tenant: Tenant, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """UTC instants of the midnight that starts ``first_day`` and the one that ends ``last_day`` (the tenant's)."""
    zone = ZoneInfo(tenant.timezone)
    start = datetime.combine(first_day, time.min, tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_days(tenant: Tenant, placement: Placement) -> tuple[date, date]:
    """The first and last day a placement runs, on the tenant's calendar (what the operator typed)."""
    zone = ZoneInfo(tenant.timezone)
    return placement.starts_at.astimezone(zone).date(), (placement.ends_at.astimezone(zone) - timedelta(days=1)).date()


# -- who may be placed ----------------------------------------------------------------------------------------

def sale_problem(product: Product, now: datetime | None = None) -> str | None:
    """Why ``product`` cannot be advertised now (not on sale, shop closed, merchant not approved), or None."""
    from marketplace.trust.verification import is_approved  # the trust domain builds on shops and catalog

    if product.status != ProductStatus.active:
        return _("这件商品未在售（草稿或已下架），不能推广。")
    if product.shop.status != ShopStatus.active:
        return _("这件商品所在的店铺已暂停营业，不能推广。")
    if not is_approved(product.shop.merchant, now):
        return _("这件商品的商户未通过平台审核（或审核已过期），不能推广。")
    return None


def _product_of_tenant(tenant: Tenant, product_id: int) -> Product | None:
    if not 0 < product_id <= MAX_ID:
        return None
    return db.session.scalar(select(Product).where(Product.id == product_id, Product.tenant_id == tenant.id))


def _category_of_tenant(tenant: Tenant, category_id: int) -> Category | None:
    if not 0 < category_id <= MAX_ID:
        return None
    return db.session.scalar(select(Category).where(Category.id == category_id, Category.tenant_id == tenant.id))


# -- writing --------------------------------------------------------------------------------------------------

def create(tenant: Tenant, *, product_id: int | None, keywords: str | list[str], category_id: int | None,
           first_day: date | None, last_day: date | None, fee: int | None, actor_id: int | None,
           now: datetime | None = None) -> Placement:
    """Sell a placement of a product of ``tenant`` (the current tenant) for whole days, ``first_day`` to
    ``last_day`` inclusive on the tenant's calendar.

    Raises ``PlacementInvalid`` with every field's problem at once: the product must be this tenant's, on sale,
    its shop open and its merchant approved; 1–10 keywords of 1–20 characters, or none with a category; the
    last day not before the first nor before today, at most 366 days; a fee of 0 or more fen. Flushes.
    """
    now = now or utcnow()
    errors: dict[str, str] = {}

    product = _product_of_tenant(tenant, product_id) if product_id else None
    if not product_id:
        errors["product_id"] = _("请填写要推广的商品编号。")
    elif product is None:
        errors["product_id"] = _("本市场没有编号为 %(id)s 的商品。", id=product_id)
    else:
        problem = sale_problem(product, now)
        if problem:
            errors["product_id"] = problem

    words = normalise_keywords(keywords)
    if len(words) > MAX_KEYWORDS:
        errors["keywords"] = _("关键词最多 %(n)d 个。", n=MAX_KEYWORDS)
    elif any(len(word) > MAX_KEYWORD_CHARACTERS for word in words):
        errors["keywords"] = _("每个关键词最多 %(n)d 个字。", n=MAX_KEYWORD_CHARACTERS)

    category = _category_of_tenant(tenant, category_id) if category_id else None
    if category_id and category is None:
        errors["category_id"] = _("请选择本市场的商品分类。")
    elif not words and category is None and "keywords" not in errors:
        errors["keywords"] = _("请填写至少一个关键词，或选择一个分类。")

    today = now.astimezone(ZoneInfo(tenant.timezone)).date()
    if first_day is None:
        errors["first_day"] = _("请填写开始日期。")
    elif first_day > today + timedelta(days=MAX_DAYS_AHEAD):
        errors["first_day"] = _("开始日期最多在一年之后。")
    if last_day is None:
        errors["last_day"] = _("请填写结束日期。")
    elif last_day < today:
        errors["last_day"] = _("结束日期不能早于今天。")
    elif first_day is not None and "first_day" not in errors:
        if last_day < first_day:
            errors["last_day"] = _("结束日期不能早于开始日期。")
        elif (last_day - first_day).days + 1 > MAX_DAYS:
            errors["last_day"] = _("一次推广最长 %(n)d 天。", n=MAX_DAYS)

    if fee is None:
        errors["fee"] = _("请填写推广费用。")
    elif not 0 <= fee <= MAX_FEE:
        errors["fee"] = _("推广费用应在 0 到 1000 万元之间。")

    if errors:
        raise PlacementInvalid(errors)

    starts_at, ends_at = day_bounds(tenant, first_day, last_day)
    placement = Placement(tenant_id=tenant.id, product_id=product.id, shop_id=product.shop_id, keywords=words,
                          category_id=category.id if category else None, starts_at=starts_at, ends_at=ends_at,
                          fee=fee, created_by_id=actor_id, created_at=now)
    db.session.add(placement)
    db.session.flush()
    _record(placement, PlacementAction.created, actor_id, now, product=product, category=category,
            first_day=first_day, last_day=last_day)
    return placement


def end(placement: Placement, actor_id: int | None, now: datetime | None = None) -> Placement:
    """End a placement now (running or not yet started); raises ``PlacementError`` when it is already over."""
    now = now or utcnow()
    if placement.status(now) in (PlacementStatus.finished, PlacementStatus.ended_early):
        raise PlacementError(_("这条推广已经结束。"))
    placement.ended_at = now
    placement.ended_by_id = actor_id
    db.session.flush()
    _record(placement, PlacementAction.ended, actor_id, now)
    return placement


def _record(placement: Placement, action: PlacementAction, actor_id: int | None, at: datetime,
            **sold) -> None:
    details: dict[str, Any] = {"product_id": placement.product_id, "shop_id": placement.shop_id}
    if sold:  # what was sold, as the operator saw it
        details.update(product_title=sold["product"].title, keywords=list(placement.keywords),
                       category_id=placement.category_id,
                       category=sold["category"].name_zh if sold["category"] is not None else None,
                       first_day=sold["first_day"].isoformat(), last_day=sold["last_day"].isoformat(),
                       fee=placement.fee)
    db.session.add(PlacementEvent(tenant_id=placement.tenant_id, placement_id=placement.id, at=at, actor_id=actor_id,
                                  action=action, details=details))
    db.session.flush()


# -- reading --------------------------------------------------------------------------------------------------

def placement_of_tenant(tenant: Tenant, placement_id: int, *, lock: bool = False) -> Placement | None:
    """The tenant's placement with this id, or None; ``lock`` holds its row (two "end now" clicks take turns)."""
    if not 0 < placement_id <= MAX_ID:
        return None
    query = select(Placement).where(Placement.id == placement_id, Placement.tenant_id == tenant.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


@dataclass
class PlacementRow:
    """One line of the operator's list."""

    placement: Placement
    status: PlacementStatus
    first_day: date
    last_day: date
    #: Why it is not shown to residents although it runs (product off sale…), or None.
    not_shown: str | None


def rows_for_operator(tenant: Tenant, now: datetime | None = None) -> dict[PlacementStatus, list[PlacementRow]]:
    """The tenant's placements by status (running, upcoming, then everything over), newest sale first."""
    now = now or utcnow()
    placements = db.session.scalars(
        select(Placement).where(Placement.tenant_id == tenant.id)
        .options(selectinload(Placement.product).selectinload(Product.variants),
                 selectinload(Placement.shop).selectinload(Shop.merchant), selectinload(Placement.category))
        .order_by(Placement.created_at.desc(), Placement.id.desc())).all()
    groups: dict[PlacementStatus, list[PlacementRow]] = {status: [] for status in PlacementStatus}
    for placement in placements:
        status = placement.status(now)
        not_shown = None
        if status == PlacementStatus.running:
            not_shown = sale_problem(placement.product, now) or (
                None if _in_stock(placement.product) else _("商品已售罄。"))
        groups[status].append(PlacementRow(placement, status, *local_days(tenant, placement), not_shown))
    return groups


def _in_stock(product: Product) -> bool:
    """Whether a resident could buy the minimum order now (the storefront's "sold out" rule, inverted)."""
    stock = sum(variant.stock for variant in product.variants)
    return stock > 0 and stock >= product.moq


def _with_ancestors(category_id: int) -> set[int]:
    """The category and every category above it (the current tenant's tree; a loop in it still ends)."""
    parents = dict(db.session.execute(select(Category.id, Category.parent_id)).all())
    found: set[int] = set()
    current: int | None = category_id
    while current is not None and current in parents and current not in found:
        found.add(current)
        current = parents[current]
    return found


def _matches(placement: Placement, text: str, searched_within: set[int]) -> bool:
    if any(keyword in text for keyword in placement.keywords or ()):
        return True
    return placement.category_id is not None and placement.category_id in searched_within


def ads_for(tenant: Tenant, text: str, category_id: int | None, now: datetime | None = None,
            limit: int = 2) -> list[Product]:
    """The placed products to show beside a search of ``text`` filtered by ``category_id`` (or None).

    Placements running at ``now`` whose product a resident could buy right now, matching when one of their
    keywords occurs in the text, or when the search is filtered by their category or one below it. Highest fee
    first, then the placement sold first; each product once; at most ``limit``. The products come loaded with
    what a card shows (shop, category, variants with tiers, images). The organic results are not touched.
    """
    from marketplace.trust.verification import ApprovalStatus, MerchantApproval, effective_status

    now = now or utcnow()
    text = " ".join(_fold(text or "").split())
    if limit <= 0 or (not text and category_id is None):
        return []
    running = db.session.execute(
        select(Placement, Shop.merchant_id).join(Placement.product).join(Product.shop)
        .where(Placement.tenant_id == tenant.id, Placement.ends_at > now, Placement.starts_at <= now,
               Placement.ended_at.is_(None), Product.status == ProductStatus.active,
               Shop.status == ShopStatus.active)
        .order_by(Placement.fee.desc(), Placement.created_at, Placement.id)).all()
    searched_within = (_with_ancestors(category_id) if category_id and any(p.category_id for p, _m in running)
                       else set())
    matching = [(placement, merchant_id) for placement, merchant_id in running
                if _matches(placement, text, searched_within)]
    if not matching:
        return []

    approvals = {approval.merchant_id: approval for approval in db.session.scalars(
        select(MerchantApproval).where(MerchantApproval.merchant_id.in_({m for _p, m in matching})))}
    products = {product.id: product for product in db.session.scalars(
        select(Product).where(Product.id.in_({placement.product_id for placement, _m in matching}))
        .options(selectinload(Product.shop), selectinload(Product.category),
                 selectinload(Product.variants).selectinload(Variant.tiers), selectinload(Product.images)))}

    chosen: list[Product] = []
    for placement, merchant_id in matching:
        product = products.get(placement.product_id)
        if product is None or product in chosen or not _in_stock(product):
            continue
        if effective_status(approvals.get(merchant_id), now) != ApprovalStatus.approved:
            continue
        chosen.append(product)
        if len(chosen) == limit:
            break
    return chosen
