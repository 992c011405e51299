"""投诉受理 (CH): residents' complaints about orders (``trust.complaints``), intellectual-property notices
(``trust.ip_notices``) and what the platform must be able to hand over in a dispute."""

from __future__ import annotations

import re
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from marketplace.shops.models import Merchant, Shop
from marketplace.spec.checks.ia import current_applications_of
from marketplace.spec.model import EVIDENCE, CheckContext, Finding, check, failed, not_applicable, passed
from marketplace.spec.probes import has_blueprint, has_route
from marketplace.trust import badges
from marketplace.trust.complaints import (
    TRANSITIONS,
    Complaint,
    ComplaintCategory,
    ComplaintClaim,
    ComplaintStatus,
    complaint_settings,
    may_complain,
    respondent_addresses,
)
from marketplace.trust.ip_notices import IpNotice, IpNoticeStatus

#: COMP Art. 14: the regulator decides within 7 working days whether to accept; the operator decides faster.
OPERATOR_DAYS_LIMIT = 7
#: Our own: the merchant answers within two days.
MERCHANT_HOURS_LIMIT = 48
#: COMP Art. 21(v): mediation ends after 45 working days without agreement; the whole course fits well inside.
WHOLE_COURSE_DAYS_LIMIT = 45
#: Wording in standard terms that takes away the right to complain, report, mediate, arbitrate or sue.
RIGHTS_WAIVED = re.compile(r"(不得|不能|不可|无权|放弃|不予受理|不再受理)[^。；;\n]{0,12}(投诉|举报|调解|仲裁|诉讼|起诉)")
SAMPLE = 10
#: How far back a notice handled after its review deadline still fails CH-9 (a quarter: the regulator's horizon).
IP_LATE_WINDOW = timedelta(days=90)


def _overdue_with_operator(ctx: CheckContext, *conditions) -> list[str]:
    return list(db.session.scalars(select(Complaint.number).where(
        Complaint.status == ComplaintStatus.escalated, Complaint.due_at < ctx.now, *conditions)
        .order_by(Complaint.due_at).limit(EVIDENCE)))


@check("CH-1")
def complaints_taken_and_handled(ctx: CheckContext) -> Finding:
    from marketplace.tenancy import agreements

    if not (has_blueprint("complaints") and has_blueprint("account_complaints")):
        return failed(_("居民不能从订单发起投诉或查看自己的投诉。"))
    documents = [agreements.in_force(kind, ctx.now) for kind in ("agreement", "rules")]
    if not any(document is not None and "投诉" in document.body for document in documents):
        return failed(_("生效的服务协议和交易规则都没有公开投诉方式。"))
    overdue = _overdue_with_operator(ctx)
    if overdue:
        return failed(_("有已提交平台处理的投诉超过处理期限仍未决定。"), overdue)
    return passed(_("居民可从订单发起投诉并在“我的投诉”跟进；没有超期未处理的投诉。"))


@check("CH-2")
def complaint_record_complete(ctx: CheckContext) -> Finding:
    # COMP Art. 9: what a complaint must state for 12315. The complainant's name and phone are their account's, the
    # respondent's name its merchant's and its address that of the merchant's approved application.
    merchant_ids = set(db.session.scalars(select(Shop.merchant_id).join(Complaint, Complaint.shop_id == Shop.id)))
    addressed = set(respondent_addresses(merchant_ids))
    blank = lambda column: or_(column.is_(None), func.trim(column) == "")  # noqa: E731
    items = (
        (_("投诉人姓名"), blank(User.display_name)),
        (_("投诉人电话"), blank(User.mobile)),
        (_("投诉人通讯地址"), blank(Complaint.complainant_address)),
        (_("被投诉人名称"), blank(Merchant.legal_name)),
        (_("被投诉人地址"), Shop.merchant_id.not_in(addressed)),
        (_("投诉请求"), or_(Complaint.claim == "", and_(Complaint.claim == ComplaintClaim.other,
                                                       blank(Complaint.claim_detail)))),
        (_("争议事实"), blank(Complaint.description)),
    )
    rows = db.session.execute(
        select(Complaint.number, *(case((condition, 1), else_=0) for _label, condition in items))
        .join(User, User.id == Complaint.buyer_id).join(Shop, Shop.id == Complaint.shop_id)
        .join(Merchant, Merchant.id == Shop.merchant_id)
        .where(or_(*(condition for _label, condition in items))).order_by(Complaint.id).limit(EVIDENCE)).all()
    if rows:
        return failed(_("有投诉缺少 12315 所需的项目。"),
                      [f"{number}: " + "、".join(label for (label, _c), missing in zip(items, flags, strict=True)
                                                 if missing) for number, *flags in rows])
    total = db.session.scalar(select(func.count(Complaint.id)))
    return passed(_("%(n)d 件投诉都记录了投诉人姓名、电话、通讯地址，被投诉人名称、地址，投诉请求和争议事实。", n=total))


@check("CH-3")
def seller_identity_for_every_order(ctx: CheckContext) -> Finding:
    shop_ids = select(Order.shop_id).where(Order.tenant_id == ctx.tenant.id).distinct()
    shops = db.session.scalars(select(Shop).where(Shop.id.in_(shop_ids)).order_by(Shop.id)).all()
    applications = current_applications_of(list({shop.merchant_id for shop in shops}))
    missing = []
    for shop in shops:
        merchant = shop.merchant
        application = applications.get(merchant.id)
        gaps = [label for label, present in (
            (_("名称"), (merchant.legal_name or "").strip()),
            (_("联系电话"), merchant.contact_phone or shop.phone),
            (_("地址"), badges.badge_place(ctx.tenant, shop) or getattr(application, "business_address", "")),
        ) if not present]
        if gaps:
            missing.append(f"{shop.slug}: {'、'.join(gaps)}")
    if missing:
        return failed(_("有成交订单的店铺，平台提供不出其经营者的真实名称、地址或有效联系方式。"), missing)
    return passed(_("%(n)d 个有订单的店铺都能提供经营者名称、地址和联系电话。", n=len(shops)))


@check("CH-4")
def transaction_records_kept(ctx: CheckContext) -> Finding:
    sample = db.session.scalars(select(Complaint).order_by(Complaint.id.desc()).limit(SAMPLE)).all()
    if not sample:
        return passed(_("本租户没有投诉；订单、明细和状态记录不可删除地保存。"))
    order_ids = [complaint.order_id for complaint in sample]
    with_lines = set(db.session.scalars(select(OrderLine.order_id).where(OrderLine.order_id.in_(order_ids))))
    paid = set(db.session.scalars(select(OrderEvent.order_id).where(OrderEvent.order_id.in_(order_ids),
                                                                    OrderEvent.to_status == OrderStatus.paid)))
    lost = [f"{c.number}: " + "、".join(label for label, kept in ((_("订单明细"), c.order_id in with_lines),
                                                                   (_("付款记录"), c.order_id in paid)) if not kept)
            for c in sample if c.order_id not in with_lines or c.order_id not in paid]
    if lost:
        return failed(_("有投诉涉及的订单缺少可提供的交易记录。"), lost)
    return passed(_("抽查 %(n)d 件投诉，涉及订单的明细、状态记录和付款记录都在。", n=len(sample)))


@check("CH-5")
def online_dispute_resolution(ctx: CheckContext) -> Finding:
    if has_route("odr", "dispute", "disputes"):
        return failed(_("平台开设了在线争议解决，但其规则公示和双方自愿尚未检查。"))
    return not_applicable(_("平台没有开设在线争议解决（ODR）；投诉由平台受理处理，见 CH-1。"))


@check("CH-6")
def return_disputes_mediated(ctx: CheckContext) -> Finding:
    if ComplaintCategory.after_sales.value not in ComplaintCategory.values() or \
            ComplaintStatus.escalated not in TRANSITIONS[ComplaintStatus.answered]:
        return failed(_("退货纠纷不能提交平台调解。"))
    overdue = _overdue_with_operator(ctx, Complaint.category == ComplaintCategory.after_sales)
    if overdue:
        return failed(_("有请求平台调解的退货纠纷超过处理期限仍未处理。"), overdue)
    return passed(_("居民可就售后/退货纠纷请求平台调解，没有超期未处理的调解。"))


@check("CH-7")
def complaint_rights_not_excluded(ctx: CheckContext) -> Finding:
    from marketplace.tenancy import agreements

    problems = []
    settings = complaint_settings.all(ctx.tenant)
    problems += [f"{name} = {value}" for name, value in settings.items() if not value or value <= 0]
    open_ones = select(Complaint.open_order_id).where(Complaint.open_order_id.is_not(None))
    paid_order = db.session.scalar(select(Order).where(
        Order.status.not_in((OrderStatus.pending_payment, OrderStatus.cancelled)), Order.id.not_in(open_ones))
        .order_by(Order.id.desc()).limit(1))
    if paid_order is not None and not may_complain(paid_order):
        problems.append(_("已付款订单 %(number)s 不能投诉", number=paid_order.number))
    for kind in ("agreement", "rules"):
        document = agreements.in_force(kind, ctx.now)
        if document is not None:
            problems += [f"{kind} v{document.version}: {match.group(0)}"
                         for match in RIGHTS_WAIVED.finditer(document.body)]
    if problems:
        return failed(_("有设置或格式条款排除、限制了消费者投诉、举报、调解、仲裁或诉讼的权利。"), problems)
    return passed(_("投诉期限设置有效，生效的协议和规则中没有限制投诉、举报、调解、仲裁或诉讼的条款。"))


@check("CH-8")
def deadlines_stricter_than_regulators(ctx: CheckContext) -> Finding:
    settings = complaint_settings.all(ctx.tenant)
    problems = []
    if settings["merchant_hours"] > MERCHANT_HOURS_LIMIT:
        problems.append(_("商家答复期限 %(n)d 小时，超过 48 小时", n=settings["merchant_hours"]))
    if settings["operator_days"] > OPERATOR_DAYS_LIMIT:
        problems.append(_("平台处理期限 %(n)d 天，超过 7 天", n=settings["operator_days"]))
    whole = settings["merchant_hours"] / 24 + settings["resident_days"] + settings["operator_days"]
    if whole > WHOLE_COURSE_DAYS_LIMIT:
        problems.append(_("投诉全程最长 %(n)d 天，超过 45 天", n=int(whole)))
    if problems:
        return failed(_("本租户的投诉处理时限不严于监管时限。"), problems)
    return passed(_("商家 %(h)d 小时内答复，平台 %(d)d 天内决定，全程不超过 45 天。", h=settings["merchant_hours"],
                    d=settings["operator_days"]))


@check("CH-9")
def intellectual_property_queue(ctx: CheckContext) -> Finding:
    if not (has_blueprint("ip_notices") and has_blueprint("operator_ip_notices")):
        return failed(_("平台没有单独的知识产权通知—删除—声明流程。"))
    # Art. 42(2): a complete notice gets its measure "in time" — a notice past its review deadline is not.
    unreviewed = list(db.session.scalars(select(IpNotice.number).where(
        IpNotice.status == IpNoticeStatus.filed, IpNotice.review_due < ctx.now)
        .order_by(IpNotice.review_due).limit(EVIDENCE)))
    if unreviewed:
        return failed(_("有知识产权通知超过审核期限仍未处理（未及时采取必要措施或驳回）。"), unreviewed)
    late = list(db.session.scalars(select(IpNotice.number).where(
        IpNotice.reviewed_at > IpNotice.review_due, IpNotice.reviewed_at >= ctx.now - IP_LATE_WINDOW)
        .order_by(IpNotice.reviewed_at.desc()).limit(EVIDENCE)))
    if late:
        return failed(_("近 %(days)d 天内有知识产权通知在审核期限之后才处理。", days=IP_LATE_WINDOW.days), late)
    # Art. 43(2): 15 days after the counter-notice reached the holder without a complaint or suit, the measure ends.
    expired = list(db.session.scalars(select(IpNotice.number).where(
        IpNotice.status == IpNoticeStatus.countered, IpNotice.holder_due < ctx.now)
        .order_by(IpNotice.holder_due).limit(EVIDENCE)))
    if expired:
        return failed(_("有不侵权声明转送权利人已满十五日、未收到投诉或起诉通知，所采取的措施仍未终止。"), expired)
    count = db.session.scalar(select(func.count(IpNotice.id)))
    return passed(_("知识产权通知单独受理并计时：没有超期未审核的通知，也没有十五日期满仍未终止的措施（本租户共 %(n)d 件"
                    "通知）。", n=count))
