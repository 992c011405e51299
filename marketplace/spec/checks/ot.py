"""在线交易规范 (OT): orders, checkout, returns, refunds and payments, decided from the tenant's data and set-up.

Every check reads only, counts with one aggregate query and fetches at most ``EVIDENCE`` offending rows.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from marketplace.catalog.models import CONFIRMED_AT_CHECKOUT, EXCLUSIONS, Category, Product, ProductStatus, Variant
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders.models import Order, OrderEvent, OrderGroup, OrderLine, OrderStatus
from marketplace.orders.returns import Refund, RefundStatus, ReturnLine, ReturnRequest, ReturnStatus
from marketplace.payments.models import Payment
from marketplace.payments.providers import PaymentProvider, PaymentStatus, provider_class
from marketplace.shops.models import Shop, ShopStatus
from marketplace.spec.model import EVIDENCE, CheckContext, Finding, check, failed, not_applicable, passed
from marketplace.spec.probes import has_endpoint, template_source

# -- shared helpers ---------------------------------------------------------------------------------------------------


def offenders(statement) -> tuple[int, list]:
    """How many rows ``statement`` selects, and the first ``EVIDENCE`` of its first column."""
    count = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    sample = list(db.session.scalars(statement.limit(EVIDENCE))) if count else []
    return count or 0, sample


#: Phrases a standard term may not contain (OTSM Art. 21, SPC22 Art. 1, CRPL Art. 26): the clause they start
#: excludes the seller's liability or takes a buyer's right away.
BANNED_TERMS = (
    "最终解释权", "单方解释权", "解释权归", "签收即视为", "签收即代表", "签收视为认可", "概不退换", "一律不退",
    "不退不换", "售出不退", "概不负责", "不承担任何责任", "不得投诉", "不得起诉", "放弃诉讼",
    "平台不承担责任", "责任由商家承担", "责任均由商家承担",
)
#: Phrases that say a paid order is no contract (ECL Art. 49).
NOT_FORMED_TERMS = ("合同不成立", "合同未成立", "订单无效", "视为合同未生效")
#: Words that, just before a phrase, make it a statement of the ban rather than a clause ("不得……最终解释权").
NEGATION = re.compile(r"(不得|禁止|严禁|不会|不能|无权|不享有|不以)[^。；;.!?！？\n]{0,20}$")
#: Words asking buyers to pay off the platform (SPC22 Art. 5).
OFF_PLATFORM_TERMS = ("加微信", "加我微信", "微信转账", "私下转账", "私下交易", "线下付款", "站外付款",
                      "支付宝转账", "扫我个人码", "加QQ", "加qq")


def clause_hits(text: str, phrases) -> list[str]:
    """The phrases ``text`` uses as clauses (a phrase right after 不得/禁止… states the ban, and is not one)."""
    found = []
    for phrase in phrases:
        for match in re.finditer(re.escape(phrase), text or ""):
            if not NEGATION.search(text[max(0, match.start() - 30):match.start()]):
                found.append(phrase)
                break
    return found


def _published_terms(ctx: CheckContext) -> list[tuple[str, str]]:
    """(label, text) of the agreement and rules a buyer reads now: the version in force, else the newest
    published one (``tenancy.agreements``)."""
    from marketplace.tenancy import agreements  # the documents module; imported here so its absence breaks one check

    documents = []
    for kind in agreements.DocumentKind.values():
        document = agreements.in_force(kind, ctx.now) or next(iter(agreements.published(kind)), None)
        if document is not None:
            documents.append((f"{kind} v{document.version}", f"{document.title}\n{document.body}"))
    return documents


def lint_texts(ctx: CheckContext, phrases) -> list[str]:
    """Where the tenant's published terms, its shops' descriptions and its goods on sale use ``phrases``
    as clauses: "label: phrase, phrase", at most ``EVIDENCE`` of them."""
    hits = [f"{label}: {'、'.join(found)}" for label, text in _published_terms(ctx)
            if (found := clause_hits(text, phrases))]
    like = lambda column: or_(*(column.contains(phrase, autoescape=True) for phrase in phrases))  # noqa: E731
    shops = db.session.execute(select(Shop.slug, Shop.description_zh, Shop.description_en)
                               .where(Shop.status == ShopStatus.active,
                                      or_(like(Shop.description_zh), like(Shop.description_en)))
                               .order_by(Shop.id).limit(50))
    for slug, zh, en in shops:
        if found := clause_hits(f"{zh}\n{en}", phrases):
            hits.append(f"shop {slug}: {'、'.join(found)}")
    goods = db.session.execute(select(Product.id, Product.title, Product.description)
                               .where(Product.status == ProductStatus.active,
                                      or_(like(Product.title), like(Product.description)))
                               .order_by(Product.id).limit(50))
    for product_id, title, description in goods:
        if found := clause_hits(f"{title}\n{description}", phrases):
            hits.append(f"product {product_id}: {'、'.join(found)}")
    return hits[:EVIDENCE]


# -- the checks -------------------------------------------------------------------------------------------------------

@check("OT-1")
def goods_show_seller_and_terms(ctx: CheckContext) -> Finding:
    no_contact = select(Shop.slug).where(
        Shop.status == ShopStatus.active,
        exists().where(Product.shop_id == Shop.id, Product.status == ProductStatus.active),
        or_(Shop.phone == "", and_(Shop.street_number == "", Shop.building == "", Shop.stall == ""))).order_by(Shop.id)
    shops, shop_sample = offenders(no_contact)
    incomplete = select(Product.id).where(
        Product.status == ProductStatus.active,
        or_(Product.title == "", Product.unit == "",
            ~exists().where(Variant.product_id == Product.id, Variant.price > 0))).order_by(Product.id)
    goods, goods_sample = offenders(incomplete)
    if shops or goods:
        return failed(_("%(shops)d 家有在售商品的店铺缺少电话或经营地址；%(goods)d 件在售商品缺少名称、单位或价格。",
                        shops=shops, goods=goods),
                      [f"shop {slug}" for slug in shop_sample] + [f"product {pid}" for pid in goods_sample])
    return passed(_("在售商品的店铺都有电话和经营地址，商品都有名称、单位和价格。"))


@check("OT-2")
def paid_orders_stay_contracts(ctx: CheckContext) -> Finding:
    paid_before = exists().where(OrderEvent.order_id == Order.id, OrderEvent.to_status == OrderStatus.paid)
    unrefunded = select(Order.number).where(Order.status == OrderStatus.cancelled, paid_before,
                                            Order.refunded < Order.total).order_by(Order.id)
    count, sample = offenders(unrefunded)
    clauses = lint_texts(ctx, NOT_FORMED_TERMS)
    if count or clauses:
        return failed(_("%(n)d 笔已付款订单被取消但未全额退款；%(c)d 处文字约定付款后合同不成立。", n=count,
                        c=len(clauses)), [*sample, *clauses])
    return passed(_("已付款后取消的订单都已全额退款，协议、规则和商品文字中没有“合同不成立”之类的条款。"))


#: What the checkout page (with the templates it extends) must show before the final submit, as template text.
REVIEW_PARTS = {
    "group.lines": _l("逐项列出所购商品"),
    "view.total": _l("显示应付总额"),
    "url_for('cart.view')": _l("可以返回购物车修改"),
    "form.idempotency_key": _l("提交时带上确认页的提交编号"),
}
#: A tick box the template itself ticks, whatever the buyer did: a checkbox <input> marked checked with no
#: condition around it, or a field rendered with checked=True.
TICKED = re.compile(r"<input\b(?=[^>]*type=[\"']?checkbox)(?![^>]*{%-?\s*if)[^>]*\bchecked\b[^>]*>"
                    r"|\(\s*[^()]*\bchecked\s*=\s*(?:True|[\"']checked[\"'])[^()]*\)")


@check("OT-3")
def checkout_can_be_reviewed(ctx: CheckContext) -> Finding:
    from marketplace.storefront.cart import CheckoutForm

    missing = [name for name in ("cart.view", "cart.update", "cart.checkout") if not has_endpoint(name)]
    if not hasattr(CheckoutForm, "idempotency_key"):  # the review page's submission id: no order without it
        missing.append("CheckoutForm.idempotency_key")
    page = template_source(ctx.tenant, "cart/checkout.html")
    if not page:
        missing.append("cart/checkout.html")
    else:  # a tenant's own checkout page may not turn the review into a one-click order
        missing += [f"cart/checkout.html: {label}" for marker, label in REVIEW_PARTS.items()
                    if marker not in page.replace('"', "'")]
    if missing:
        return failed(_("下单流程缺少可修改的购物车或提交前的确认页。"), missing)
    return passed(_("买家先在购物车修改商品和数量，结算页列出商品、配送和费用供核对，确认提交后才下单。"))


@check("OT-4")
def nothing_ticked_by_default(ctx: CheckContext) -> Finding:
    from wtforms import BooleanField

    from marketplace.storefront.cart import CheckoutForm

    ticked = [name for name in dir(CheckoutForm)
              if getattr(getattr(CheckoutForm, name), "field_class", None) is not None
              and issubclass(getattr(CheckoutForm, name).field_class, BooleanField)
              and getattr(CheckoutForm, name).kwargs.get("default")]
    ticked += [" ".join(match.split())[:120] for match in TICKED.findall(template_source(ctx.tenant,
                                                                                         "cart/checkout.html"))]
    if ticked:
        return failed(_("结算页有默认勾选的选项。"), ticked)
    return passed(_("结算页的勾选项（同意代收、确认不适用无理由退货等）默认都不勾选，也不沿用以往订单的选择。"))


#: Product types of goods that renew by themselves (memberships, subscriptions).
RENEWING_TYPES = ("subscription", "membership", "会员", "订阅", "续费")


@check("OT-5")
def no_silent_renewals(ctx: CheckContext) -> Finding:
    renewing = select(Product.id).where(Product.status == ProductStatus.active, or_(
        *(Product.product_type.contains(word) for word in RENEWING_TYPES))).order_by(Product.id)
    count, sample = offenders(renewing)
    if count:
        return failed(_("%(n)d 件在售商品属于会员或订阅类，平台没有续费前提醒和随时取消的功能。", n=count),
                      [f"product {pid}" for pid in sample])
    return not_applicable(_("平台不提供自动续费或自动展期的服务，也没有这类商品在售。"))


@check("OT-6")
def no_unfair_terms(ctx: CheckContext) -> Finding:
    hits = lint_texts(ctx, BANNED_TERMS)
    if hits:
        return failed(_("%(n)d 处文字含有排除或限制消费者权利的格式条款。", n=len(hits)), hits)
    return passed(_("已检查协议、交易规则、店铺介绍和在售商品描述，未发现“最终解释权”“签收即视为认可”等不公平条款。"))


@check("OT-7")
def every_order_has_a_receipt(ctx: CheckContext) -> Finding:
    from marketplace.storefront.cart import CheckoutForm

    missing = []
    if not has_endpoint("cart.receipt"):
        missing.append("cart.receipt")
    if not template_source(ctx.tenant, "cart/receipt.html"):
        missing.append("cart/receipt.html")
    if not hasattr(CheckoutForm, "invoice"):
        missing.append("CheckoutForm.invoice")
    if missing:
        return failed(_("买家无法取得购货凭证或申请发票。"), missing)
    return passed(_("每张订单都有可打印的购货凭证页面（商家、商品、付款和退款），结算时可申请个人或单位发票。"))


@check("OT-8")
def deposits_say_how_they_come_back(ctx: CheckContext) -> Finding:
    deposits = select(Product.id).where(Product.status == ProductStatus.active, Product.title.contains("押金"))
    taken = db.session.scalar(select(func.count()).select_from(deposits.subquery()))
    if not taken:
        return not_applicable(_("没有收取押金的在售商品。"))
    silent = deposits.where(~Product.description.contains("退还")).order_by(Product.id)
    count, sample = offenders(silent)
    if count:
        return failed(_("%(n)d 件收取押金的商品没有说明押金如何退还。", n=count), [f"product {pid}" for pid in sample])
    return passed(_("收取押金的商品都说明了押金的退还方式。"))


RECEIVED_ORDERS = (OrderStatus.delivered, OrderStatus.picked_up, OrderStatus.completed)


@check("OT-9")
def seven_days_from_receipt(ctx: CheckContext) -> Finding:
    from marketplace.delivery.models import Shipment

    if returns.RETURN_DAYS != 7:
        return failed(_("退货期限设为 %(n)d 天，法定为签收次日起七日。", n=returns.RETURN_DAYS))
    timeless = select(Order.number).where(
        Order.status.in_(RECEIVED_ORDERS),
        ~exists().where(Shipment.order_id == Order.id, Shipment.received_at.is_not(None)),
        ~exists().where(OrderEvent.order_id == Order.id, OrderEvent.to_status.in_(returns.SIGNED_FOR))).order_by(Order.id)
    count, sample = offenders(timeless)
    if count:
        return failed(_("%(n)d 笔已收货的订单没有签收时间，七日退货期无从起算。", n=count), sample)
    return passed(_("退货期为签收次日起七日，每笔已收货订单都有签收或取货时间。"))


#: The classes the law names: four outright, three only with the buyer's confirmation (7DAY Arts. 6–7).
LAWFUL_EXCLUSIONS = frozenset({"custom_made", "perishable", "opened_media", "periodical", "hygiene", "activated",
                               "near_expiry"})
LAWFUL_CONFIRMED = frozenset({"hygiene", "activated", "near_expiry"})


@check("OT-10")
def exclusions_not_widened(ctx: CheckContext) -> Finding:
    if set(EXCLUSIONS) != LAWFUL_EXCLUSIONS or set(CONFIRMED_AT_CHECKOUT) != LAWFUL_CONFIRMED:
        return failed(_("不适用七日无理由退货的商品类别与法定的七类不一致。"),
                      sorted(set(EXCLUSIONS) ^ LAWFUL_EXCLUSIONS) + sorted(set(CONFIRMED_AT_CHECKOUT) ^ LAWFUL_CONFIRMED))
    categories, category_sample = offenders(select(Category.slug).where(
        Category.return_exclusion != "", Category.return_exclusion.not_in(LAWFUL_EXCLUSIONS)).order_by(Category.id))
    lines, line_sample = offenders(select(OrderLine.id).where(
        OrderLine.return_exclusion != "", OrderLine.return_exclusion.not_in(LAWFUL_EXCLUSIONS)).order_by(OrderLine.id))
    if categories or lines:
        return failed(_("%(c)d 个分类、%(l)d 条订单明细用了法定七类以外的理由排除无理由退货。", c=categories, l=lines),
                      [f"category {s}" for s in category_sample] + [f"order line {i}" for i in line_sample])
    return passed(_("只有法定的四类商品直接不适用无理由退货，另三类须买家下单时勾选确认。"))


@check("OT-11")
def exclusions_are_shown(ctx: CheckContext) -> Finding:
    missing = []
    if "return_exclusion" not in template_source(ctx.tenant, "catalog/product.html"):
        missing.append("catalog/product.html")
    if "confirm_exclusions" not in template_source(ctx.tenant, "cart/checkout.html"):
        missing.append("cart/checkout.html")
    if missing:
        return failed(_("商品页或结算页没有显示“不适用七日无理由退货”的标注或确认。"), missing)
    return passed(_("不适用无理由退货的商品在商品页标明，需确认的三类在结算页须勾选确认，否则不能下单。"))


#: Words with which a merchant refuses a return for the package having been opened.
UNPACKED = ("拆封", "开封", "拆开", "打开包装", "包装已拆")


@check("OT-12")
def opening_to_inspect_is_no_refusal(ctx: CheckContext) -> Finding:
    hygiene = exists().where(ReturnLine.request_id == ReturnRequest.id, OrderLine.id == ReturnLine.order_line_id,
                             OrderLine.return_exclusion == "hygiene")
    refused = select(ReturnRequest.id).where(
        ReturnRequest.status == ReturnStatus.rejected, ReturnRequest.no_reason.is_(True), ~hygiene,
        or_(*(ReturnRequest.reject_reason.contains(word) for word in UNPACKED))).order_by(ReturnRequest.id)
    count, sample = offenders(refused)
    if count:
        return failed(_("%(n)d 个无理由退货申请仅因商品已拆封被拒绝；为查验而拆封不影响商品完好。", n=count),
                      [f"return {rid}" for rid in sample])
    return passed(_("没有无理由退货申请因为拆封查验而被拒绝。"))


#: A return request unhandled this long is a violation (7DAY Art. 31).
VIOLATION_DAYS = 15


@check("OT-13")
def return_address_given_in_time(ctx: CheckContext) -> Finding:
    hours = returns.returns_settings.get(ctx.tenant, "respond_hours")
    if hours > 48:
        return failed(_("商家答复退货申请的期限为 %(n)d 小时，超过 48 小时。", n=hours))
    waiting, waiting_sample = offenders(select(ReturnRequest.id).where(
        ReturnRequest.status == ReturnStatus.requested,
        ReturnRequest.requested_at <= ctx.now - timedelta(days=VIOLATION_DAYS)).order_by(ReturnRequest.id))
    no_address, address_sample = offenders(select(ReturnRequest.id).where(
        ReturnRequest.status.in_((ReturnStatus.approved, ReturnStatus.received, ReturnStatus.refunded)),
        ReturnRequest.return_address == "").order_by(ReturnRequest.id))
    if waiting or no_address:
        return failed(_("%(w)d 个退货申请超过十五日未处理；%(a)d 个已同意的申请没有退货地址。", w=waiting, a=no_address),
                      [f"return {rid}" for rid in [*waiting_sample, *address_sample]])
    return passed(_("商家须在 %(n)d 小时内答复并给出退货地址，逾期由平台按店铺地址同意；没有超过十五日未处理的申请。",
                    n=hours))


#: How many of the latest refunded returns the refund delay is measured on.
RECENT = 1000


@check("OT-14")
def refunds_in_time_and_the_same_way(ctx: CheckContext) -> Finding:
    late_open = select(ReturnRequest.id).where(
        ReturnRequest.status == ReturnStatus.received,
        ReturnRequest.received_at <= ctx.now - timedelta(days=VIOLATION_DAYS))
    late, late_sample = offenders(late_open.order_by(ReturnRequest.id))
    # Refunds that came too late: the interval is compared in Python (SQLite keeps times as text), over the
    # latest refunded returns only, so the check stays cheap however long the history.
    late_done_ids = [rid for rid, received, refunded in db.session.execute(
        select(ReturnRequest.id, ReturnRequest.received_at, Refund.refunded_at)
        .join(Refund, Refund.return_id == ReturnRequest.id)
        .where(ReturnRequest.received_at.is_not(None), Refund.status != RefundStatus.failed)
        .order_by(ReturnRequest.id.desc()).limit(RECENT))
        if refunded - received > timedelta(days=VIOLATION_DAYS)]
    other_way, other_sample = offenders(select(Refund.id).join(Order, Refund.order_id == Order.id)
                                        .join(OrderGroup, Order.group_id == OrderGroup.id)
                                        .where(Refund.payment_id.is_(None),
                                               Refund.provider != OrderGroup.payment_provider).order_by(Refund.id))
    if late or late_done_ids or other_way:
        return failed(_("%(l)d 个退货收货超过十五日仍未退款，%(d)d 个退款晚于收货十五日；%(o)d 笔退款未按原支付方式退回。",
                        l=late, d=len(late_done_ids), o=other_way),
                      [f"return {rid}" for rid in [*late_sample, *late_done_ids[:EVIDENCE]]]
                      + [f"refund {rid}" for rid in other_sample])
    return passed(_("退回的商品收到后都已及时退款，退款都按原支付方式退回。"))


@check("OT-15")
def gifts_priced_and_partial_returns_at_paid_prices(ctx: CheckContext) -> Finding:
    unpriced, unpriced_sample = offenders(select(OrderLine.id).where(OrderLine.unit_price == 0).order_by(OrderLine.id))
    line = aliased(OrderLine)
    recomputed, recomputed_sample = offenders(
        select(ReturnLine.id).join(line, line.id == ReturnLine.order_line_id)
        .where(ReturnLine.amount != line.unit_price * ReturnLine.quantity).order_by(ReturnLine.id))
    if unpriced or recomputed:
        return failed(_("%(u)d 条订单明细以零价售出（赠品未标明价格）；%(r)d 条退货明细未按购买时的价格结算。",
                        u=unpriced, r=recomputed),
                      [f"order line {i}" for i in unpriced_sample] + [f"return line {i}" for i in recomputed_sample])
    return passed(_("订单中没有未标价的赠品，部分退货都按购买时的实际单价结算。"))


#: What the agreement or the rules must name for the 7-day return (7DAY Arts. 21–22).
SEVEN_DAY_WORDS = ("七日无理由退货", "7日无理由退货", "七天无理由退货", "7天无理由退货")


@check("OT-16")
def seven_day_rules_published(ctx: CheckContext) -> Finding:
    from marketplace.trust.complaints import ComplaintCategory

    documents = _published_terms(ctx)
    covering = [label for label, text in documents if any(word in text for word in SEVEN_DAY_WORDS)]
    problems = []
    if not documents:
        problems.append(_("尚未公示平台服务协议和交易规则"))
    elif not covering:
        problems.append(_("公示的协议和交易规则没有七日无理由退货的规定"))
    if "after_sales" not in ComplaintCategory.values():
        problems.append(_("没有售后纠纷的投诉类别，平台无从调解"))
    if problems:
        return failed("；".join(problems) + "。", [label for label, _text in documents])
    return passed(_("公示的协议或交易规则（每个页面底部有链接）规定了七日无理由退货，售后纠纷可投诉并由运营方调解。"))


@check("OT-18")
def quality_returns_paid_back(ctx: CheckContext) -> Finding:
    refunded = func.coalesce(select(func.sum(Refund.amount)).where(
        Refund.return_id == ReturnRequest.id, Refund.status != RefundStatus.failed).scalar_subquery(), 0)
    short, sample = offenders(select(ReturnRequest.id).where(
        ReturnRequest.no_reason.is_(False), ReturnRequest.status == ReturnStatus.refunded,
        refunded < ReturnRequest.amount).order_by(ReturnRequest.id))
    if short:
        return failed(_("%(n)d 个质量问题退货的退款少于商品价款。", n=short), [f"return {rid}" for rid in sample])
    return passed(_("质量问题退货是单独的类型，不受品类排除限制，已退款的都退足了商品价款。"))


@check("OT-19")
def payments_are_traceable(ctx: CheckContext) -> Finding:
    from marketplace.payments.services import tenant_payments

    config = tenant_payments(ctx.tenant)
    problems = []
    for name in sorted({config.online or "offline", "offline"}):
        cls = provider_class(name)
        if not cls.capabilities.automatic:
            continue  # money confirmed by hand: the merchant's confirmation is the record
        if cls.payments_since is PaymentProvider.payments_since:
            problems.append(_("%(name)s 不提供对账用的交易清单", name=name))
        if cls.retrieve is PaymentProvider.retrieve and not cls.capabilities.notifications:
            problems.append(_("%(name)s 不回报付款结果", name=name))
    untraceable, sample = offenders(select(Payment.id).where(
        Payment.status == PaymentStatus.succeeded,
        or_(Payment.succeeded_at.is_(None), and_(Payment.provider != "offline", Payment.reference == "")))
        .order_by(Payment.id))
    if untraceable:
        problems.append(_("%(n)d 笔成功的付款缺少支付机构流水号或付款时间", n=untraceable))
    if problems:
        return failed("；".join(problems) + "。",
                      [f"payment {pid}" for pid in sample])
    return passed(_("支付服务可查询付款结果并提供对账清单，每笔成功付款都有流水号和时间，付款记录只增不改。"))


@check("OT-20")
def no_off_platform_payment(ctx: CheckContext) -> Finding:
    hits = lint_texts(ctx, OFF_PLATFORM_TERMS)
    if hits:
        return failed(_("%(n)d 处店铺或商品文字引导买家站外付款。", n=len(hits)), hits)
    return passed(_("店铺介绍和在售商品文字中没有引导站外付款的内容。"))
