"""网络经营者信用评价 (CE): the published credit score (``trust.credit``) and the reviews it rests on
(``trust.reviews``)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, func, select, text

from marketplace.accounts.models import RoleGrant
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderLine, OrderStatus
from marketplace.spec.model import EVIDENCE, CheckContext, Finding, check, failed, passed
from marketplace.spec.probes import has_blueprint, search_disorder, template_source
from marketplace.trust import credit, public_records, reviews
from marketplace.trust.public_records import PublicRecord
from marketplace.trust.reviews import HideReason, LogKind, Review, ReviewLog

#: The worked examples docs/credit.md publishes: inputs → (score, level, provisional).
PUBLISHED_EXAMPLES = (
    (credit.CreditInputs(), (88, "B", True)),
    (credit.CreditInputs(reviews=40, rating_sum=Decimal(190), orders=200, rejected=2, promises_due=100, on_time=96,
                         upheld=1, partly_upheld=1), (93, "A", False)),
    (credit.CreditInputs(reviews=30, rating_sum=Decimal(30), orders=50, rejected=10, promises_due=20, on_time=10,
                         upheld=5), (20, "D", False)),
    (credit.CreditInputs(reviews=40, rating_sum=Decimal(190), orders=200, rejected=2, promises_due=100, on_time=96,
                         upheld=1, partly_upheld=1, abnormal_operations=1, administrative_penalties=1),
     (78, "C", False)),
    (credit.CreditInputs(serious_violations=1), (64, "D", False)),
)
#: How many stored standings CE-9 recomputes (the most recently computed).
RECOMPUTE_SAMPLE = 20


def _examples_reproduced() -> list[str]:
    wrong = []
    for inputs, expected in PUBLISHED_EXAMPLES:
        result = credit.score(inputs)
        if (result.score, result.level, result.provisional) != expected:
            wrong.append(f"{expected} → {(result.score, result.level, result.provisional)}")
    return wrong


@check("CE-1")
def credit_rules_published(ctx: CheckContext) -> Finding:
    from marketplace.tenancy import agreements

    wrong = _examples_reproduced()
    if wrong:
        return failed(_("信用分公式算不出公示规则中的示例结果。"), wrong)
    rules = agreements.in_force("rules", ctx.now)
    if rules is None:
        return failed(_("本租户没有生效的交易规则，信用评价规则因而没有公示。"))
    if "信用评价" not in rules.body:
        return failed(_("生效的交易规则（第 %(v)d 版）没有写明信用评价规则。", v=rules.version))
    return passed(_("生效的交易规则（第 %(v)d 版）含信用评价规则，公式能复现公示的示例。", v=rules.version))


@check("CE-2")
def buyers_can_review(ctx: CheckContext) -> Finding:
    if not has_blueprint("reviews"):
        return failed(_("买家没有发表评价的页面。"))
    reviewed = select(Review.order_line_id)
    sample = db.session.execute(
        select(OrderLine, Order.buyer_id).join(Order, Order.id == OrderLine.order_id)
        .where(Order.status == OrderStatus.completed, OrderLine.id.not_in(reviewed))
        .order_by(OrderLine.id.desc()).limit(EVIDENCE)).all()
    refused = [f"line {line.id}: {error.code}" for line, buyer_id in sample
               if (error := reviews.eligibility(line, buyer_id)) is not None]
    if refused:
        return failed(_("有已完成订单的买家不能评价所购商品。"), refused)
    return passed(_("买家可对已完成订单的每件商品发表评价（抽查 %(n)d 件未评价商品）。", n=len(sample)))


def _delete_triggers() -> set[str]:
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql":
        query = text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'reviews'::regclass AND NOT tgisinternal")
    else:
        query = text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'reviews'")
    return {name for name in db.session.scalars(query) if "delete" in name}


@check("CE-3")
def reviews_never_deleted(ctx: CheckContext) -> Finding:
    problems = []
    if not event.contains(Review, "before_delete", reviews._refuse_deleting):
        problems.append(_("程序未拒绝删除评价"))
    if not _delete_triggers():
        problems.append(_("数据库缺少拒绝删除评价的触发器"))
    deleting = [rule.rule for rule in current_app.url_map.iter_rules()
                if "review" in rule.endpoint and "DELETE" in (rule.methods or ())]
    if deleting:
        problems.append(_("有删除评价的接口：%(routes)s", routes=", ".join(deleting)))
    logged = select(ReviewLog.review_id).where(ReviewLog.kind == LogKind.created)
    missing = db.session.scalar(select(func.count(func.distinct(ReviewLog.review_id)))
                                .where(ReviewLog.review_id.in_(logged), ReviewLog.review_id.not_in(select(Review.id))))
    if missing:
        problems.append(_("%(n)d 条记录在案的评价已不存在", n=missing))
    if problems:
        return failed(_("评价可能被删除。"), problems)
    return passed(_("程序和数据库触发器都拒绝删除评价，没有删除接口，记录在案的评价都在。"))


@check("CE-4")
def hides_have_listed_reasons(ctx: CheckContext) -> Finding:
    hidden_logged = select(ReviewLog.review_id).where(ReviewLog.kind == LogKind.hidden)
    offending = db.session.scalars(select(Review.id).where(
        Review.hidden_at.is_not(None),
        (Review.hidden_reason.is_(None)) | (Review.hidden_reason.not_in(HideReason.values()))
        | (Review.hidden_by_id.is_(None)) | (Review.id.not_in(hidden_logged)))
        .order_by(Review.id).limit(EVIDENCE)).all()
    if offending:
        return failed(_("有被屏蔽的评价缺少列明的理由、操作人或日志记录。"), [f"review {i}" for i in offending])
    count = db.session.scalar(select(func.count(Review.id)).where(Review.hidden_at.is_not(None)))
    return passed(_("%(n)d 条被屏蔽的评价都有列明的理由、操作人和日志，原文保留。", n=count))


@check("CE-5")
def reviews_not_fabricated_or_ordered(ctx: CheckContext) -> Finding:
    # The listing itself: the busiest shop's reviews come newest first, whatever they rate.
    busiest = db.session.scalar(select(Review.shop_id).group_by(Review.shop_id)
                                .order_by(func.count(Review.id).desc()).limit(1))
    if busiest is not None:
        from marketplace.shops.models import Shop

        listed = reviews.latest_reviews(shop=db.session.get(Shop, busiest), limit=50)
        if [r.created_at for r in listed] != sorted((r.created_at for r in listed), reverse=True):
            return failed(_("评价列表不是按时间从新到旧排列。"))
    # The shop's own people reviewing its goods (self-dealing, the plainest pattern of fake reviews).
    insiders = db.session.execute(
        select(Review.id, Review.shop_id).join(RoleGrant, (RoleGrant.user_id == Review.buyer_id)
                                               & (RoleGrant.shop_id == Review.shop_id))
        .order_by(Review.id).limit(EVIDENCE)).all()
    if insiders:
        return failed(_("有店铺的店主或店员评价本店商品（疑似编造评价）。"),
                      [f"review {rid} (shop {sid})" for rid, sid in insiders])
    return passed(_("评价按时间从新到旧排列，每条评价对应所购商品（SKU），未发现店铺内部人员自评。"))


@check("CE-6")
def credit_sort_and_labelled_ads(ctx: CheckContext) -> Finding:
    from marketplace.search import backend

    problems = []
    if "credit" not in backend.SORTS:
        problems.append(_("搜索不能按信用排序"))
    if not backend.CREDIT_LEVELS:
        problems.append(_("搜索不能按信用等级筛选"))
    if "广告" not in template_source(ctx.tenant, "search/_ads.html"):  # the block beside the results
        problems.append(_("推广商品没有标注“广告”"))
    if not problems:  # the tenant's own search answers, compared with each shop's stored standing now
        problems += search_disorder(ctx.tenant, "credit")
        for level in backend.CREDIT_LEVELS:
            problems += search_disorder(ctx.tenant, "credit", (level,))
    if problems:
        return failed(_("搜索的信用排序、信用筛选或广告标注不符合要求。"), problems)
    return passed(_("搜索可按信用排序和筛选，结果与各店铺现在的信用等级一致；推广商品在结果之外单独展示，并标注“广告”。"))


@check("CE-7")
def public_records_feed_credit(ctx: CheckContext) -> Finding:
    wrong = _records_ignored()
    if wrong:
        return failed(_("信用分只由平台内的评价、履约、取消和投诉计算，尚未吸收国家企业信用信息公示系统的公开记录。"),
                      wrong)
    stale = _stale_standings(ctx.now)
    if stale:
        return failed(_("有店铺保存的信用分算在其经营者的公示记录录入或移出之前，搜索仍按旧的信用排序。"), stale)
    count = db.session.scalar(select(func.count(PublicRecord.id)).where(public_records.in_force(ctx.now))) or 0
    return passed(_("信用分吸收国家企业信用信息公示系统的公开记录（%(n)d 条在公示中），店铺保存的信用分都算在记录录入之后。",
                    n=count))


def _records_ignored() -> list[str]:
    """What the formula does not do with public records: a penalty in force must lower a sample shop's score, and a
    listing as a serious violator must make it D. Empty when it does both."""
    base = credit.CreditInputs()
    try:
        penalised = replace(base, administrative_penalties=1)
        blacklisted = replace(base, serious_violations=1)
    except TypeError as error:  # the inputs have no place for public records at all
        return [str(error)]
    wrong = []
    before, after = credit.score(base), credit.score(penalised)
    if after.score >= before.score:
        wrong.append(f"administrative penalty: {before.score} → {after.score}")
    if credit.score(blacklisted).level != "D":
        wrong.append(f"serious violation: level {credit.score(blacklisted).level}")
    return wrong


def _stale_standings(now) -> list[str]:
    """Stored standings (what search ranks by) computed before a record of the shop's merchant that is in force was
    entered, or before an entered removal of one while it counted."""
    from marketplace.shops.models import Shop

    rows = db.session.execute(
        select(credit.ShopCredit, PublicRecord).join(Shop, Shop.id == credit.ShopCredit.shop_id)
        .join(PublicRecord, PublicRecord.merchant_id == Shop.merchant_id)
        .where(PublicRecord.recorded_at <= now).order_by(credit.ShopCredit.shop_id, PublicRecord.id)).all()
    stale = []
    for standing, record in rows:
        at = standing.computed_at
        if record.in_force(now) and at < record.recorded_at:
            stale.append(f"shop {standing.shop_id}: credit of {at:%Y-%m-%d %H:%M} UTC before public record "
                         f"{record.id} ({record.kind}) entered {record.recorded_at:%Y-%m-%d %H:%M} UTC")
        elif record.removed_at is not None and record.removed_at <= now and record.in_force(at):
            stale.append(f"shop {standing.shop_id}: credit of {at:%Y-%m-%d %H:%M} UTC counts public record "
                         f"{record.id} ({record.kind}) removed {record.removed_at:%Y-%m-%d %H:%M} UTC")
    return stale[:EVIDENCE]


@check("CE-9")
def shown_scores_recompute(ctx: CheckContext) -> Finding:
    from marketplace.shops.models import Shop

    wrong = _examples_reproduced()
    if wrong:
        return failed(_("信用分公式算不出公示规则中的示例结果。"), wrong)
    stored = db.session.scalars(select(credit.ShopCredit).order_by(credit.ShopCredit.computed_at.desc())
                                .limit(RECOMPUTE_SAMPLE)).all()
    differ = []
    for row in stored:
        again = credit.standing(credit.shop_credit(db.session.get(Shop, row.shop_id), row.computed_at))
        if again != (row.score, row.level):
            differ.append(f"shop {row.shop_id}: {row.score}/{row.level} → {again[0]}/{again[1]}")
    if differ:
        return failed(_("按公示公式和输入重新计算，有店铺的信用分与保存的不一致。"), differ)
    return passed(_("公式复现公示示例；重新计算 %(n)d 个店铺的信用分与保存的一致。", n=len(stored)))
