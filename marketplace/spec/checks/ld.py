"""物流配送规范 (LD): shipments, their timelines, waybills and tracking, decided from the tenant's data and the
delivery providers' set-up (``delivery.providers``: the one state machine every provider follows).

Every check reads only, counts with one aggregate query and looks at a bounded number of rows.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from marketplace.delivery import express
from marketplace.delivery.models import Shipment, ShipmentEvent
from marketplace.delivery.providers import HANDED_TO_CARRIER, RECEIVED, TRANSITIONS, ShipmentStatus
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderStatus
from marketplace.spec.checks.ot import offenders
from marketplace.spec.model import EVIDENCE, CheckContext, Finding, check, failed, not_applicable, passed

S = ShipmentStatus
#: How many of the latest shipments the checks that build a waybill or a tracking view look at.
SAMPLE = 20
#: At most this many shops are looked at (a street or a market has a few hundred).
SHOPS = 2000
#: A parcel back at the shop this long without the buyer's money back breaks the seller's liability.
REFUND_DAYS = 15


def _reachable(start: str) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for following in TRANSITIONS.get(queue.popleft(), frozenset()):
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return seen


@check("LD-1")
def receipt_only_by_signing(ctx: CheckContext) -> Finding:
    if set(RECEIVED) != {S.delivered, S.collected}:
        return failed(_("收货状态不只是签收和取货。"), sorted(RECEIVED))
    early, early_sample = offenders(select(Shipment.id).where(
        Shipment.received_at.is_not(None), Shipment.status.not_in(RECEIVED)).order_by(Shipment.id))
    missing, missing_sample = offenders(select(Shipment.id).where(
        Shipment.received_at.is_(None), Shipment.status.in_(RECEIVED)).order_by(Shipment.id))
    if early or missing:
        return failed(_("%(e)d 个配送单未签收却记了收货时间；%(m)d 个已签收的没有收货时间。", e=early, m=missing),
                      [f"shipment {sid}" for sid in [*early_sample, *missing_sample]])
    return passed(_("只有签收或取货记为交付时间；发货、揽收和运输都不算。"))


@check("LD-2")
def seller_bears_carriage(ctx: CheckContext) -> Finding:
    unrefunded = select(Order.number).join(Shipment, Shipment.order_id == Order.id).where(
        Shipment.status == S.returned, Shipment.status_changed_at <= ctx.now - timedelta(days=REFUND_DAYS),
        Order.status.not_in((OrderStatus.cancelled, OrderStatus.refunded)), Order.refunded < Order.total,
    ).order_by(Order.id)
    count, sample = offenders(unrefunded)
    if count:
        return failed(_("%(n)d 笔订单的货物退回商家已超过十五日，买家仍未拿回货款。", n=count), sample)
    return passed(_("运输中的风险由商家承担：货物未送到而退回的订单都已退款。"))


@check("LD-3")
def third_party_delivery_needs_consent(ctx: CheckContext) -> Finding:
    words = express.UNATTENDED_WORDS
    said = or_(*(ShipmentEvent.note.contains(word) for word in words),
               *(ShipmentEvent.location.contains(word) for word in words))
    consent = Shipment.address["third_party_signing"].as_boolean()
    unconsented = select(Shipment.id).join(ShipmentEvent, ShipmentEvent.shipment_id == Shipment.id).where(
        ShipmentEvent.to_status.in_(RECEIVED), said, or_(consent.is_(None), consent.is_(False))).order_by(Shipment.id)
    count, sample = offenders(unconsented)
    if count:
        return failed(_("%(n)d 个包裹未经收件人同意投递到快递柜、驿站或由他人代收。", n=count),
                      [f"shipment {sid}" for sid in sample])
    return passed(_("放入快递柜、驿站或由他人代收的包裹，收件人下单时都已同意；未同意的这类投递记录会被拒绝。"))


@check("LD-4")
def receipt_is_confirmed_and_refusal_possible(ctx: CheckContext) -> Finding:
    if S.returned not in _reachable(S.out_for_delivery) or S.exception not in TRANSITIONS[S.out_for_delivery]:
        return failed(_("派送时无法记录拒收（异常后退回）。"))
    unconfirmed = select(ShipmentEvent.shipment_id).where(
        ShipmentEvent.to_status.in_(RECEIVED), ShipmentEvent.actor_id.is_(None), ShipmentEvent.note == "",
        ShipmentEvent.location == "").order_by(ShipmentEvent.id)
    count, sample = offenders(unconfirmed)
    if count:
        return failed(_("%(n)d 次签收没有记录由谁、凭什么确认（人员、取货码或承运商说明）。", n=count),
                      [f"shipment {sid}" for sid in sample])
    return passed(_("每次签收或取货都记录了确认的人、取货码或承运商的说明；包装破损可拒收，记为配送异常后退回并全额退款。"))


#: What a waybill must state (EXPR Art. 22): the sender and recipient, and the goods.
WAYBILL_FIELDS = ("sender", "sender_address", "sender_phone", "recipient", "mobile", "address", "goods", "items",
                  "weight_g")


@check("LD-5")
def waybills_complete_without_id_numbers(ctx: CheckContext) -> Finding:
    latest = list(db.session.scalars(select(Shipment).where(
        Shipment.provider.in_(HANDED_TO_CARRIER), Shipment.tracking_number != "").order_by(Shipment.id.desc())
        .limit(SAMPLE)))
    if not latest:
        return not_applicable(_("还没有交给快递或物流公司的包裹。"))
    problems = []
    for shipment in latest:
        bill = express.waybill(shipment)
        empty = [name for name in WAYBILL_FIELDS if not bill.get(name)]
        if empty:
            problems.append(f"shipment {shipment.id}: {', '.join(empty)}")
        # Our own numbers (the order's, the carrier's) are no identity information, whatever their digits.
        personal = {key: value for key, value in bill.items() if key not in ("order_number", "tracking_number")}
        if express.ID_NUMBER.search(json.dumps(personal, ensure_ascii=False)) or any("id" in key for key in bill):
            problems.append(f"shipment {shipment.id}: id number")
    if problems:
        return failed(_("%(n)d 张运单缺少必填内容或含有身份证号（最近 %(s)d 张中）。", n=len(problems), s=len(latest)),
                      problems)
    return passed(_("最近 %(n)d 张运单都写明寄件人和收件人的姓名、地址、电话及物品、件数和重量，没有身份证号。",
                    n=len(latest)))


@check("LD-7")
def express_brand_shown(ctx: CheckContext) -> Finding:
    from marketplace.delivery.providers import DeliveryError, ProviderLoadError
    from marketplace.delivery.services import provider_for, shop_providers, tenant_delivery
    from marketplace.shops.models import Shop, ShopStatus

    try:
        config = tenant_delivery(ctx.tenant)
    except ProviderLoadError as error:
        return failed(_("配送设置有误，无法确定快递品牌：%(e)s", e=str(error)))
    if "express" not in config.options:
        return not_applicable(_("本租户不提供快递配送。"))
    shops = [shop for shop in db.session.scalars(select(Shop).where(Shop.status == ShopStatus.active)
                                                 .order_by(Shop.id).limit(SHOPS))
             if "express" in shop_providers(ctx.tenant, shop, config)]
    nameless = []
    for shop in shops:
        try:
            carriers = provider_for(ctx.tenant, shop, "express", config).options.get("carriers")
        except (ProviderLoadError, DeliveryError):  # a shop's own options that no longer hold
            carriers = None
        if not carriers:
            nameless.append(shop.slug)
    if nameless:
        return failed(_("%(n)d 家提供快递的店铺没有写明快递品牌。", n=len(nameless)), nameless)
    return passed(_("提供快递的 %(n)d 家店铺都写明了快递品牌，买家结算时在快递选项中看到。", n=len(shops)))


#: A tracking token this long cannot be guessed (the public tracking page's only key).
TOKEN_LENGTH = 32


@check("LD-8")
def tracking_is_informative_and_guarded(ctx: CheckContext) -> Finding:
    from marketplace.api.delivery_schemas import BuyerShipmentOut, PublicTrackingOut

    weak, sample = offenders(select(Shipment.id).where(func.length(Shipment.tracking_token) < TOKEN_LENGTH)
                             .order_by(Shipment.id))
    shown = set(BuyerShipmentOut().fields)
    missing = [name for name in ("provider", "fee", "promised_by", "carrier", "tracking_number", "events")
               if name not in shown]
    missing += [f"PublicTrackingOut.{name}" for name in ("address", "street") if name in PublicTrackingOut().fields]
    if weak or missing:
        return failed(_("%(n)d 个配送单的跟踪链接可被猜出，或查询缺少配送方式、费用、时限等信息。", n=weak),
                      [f"shipment {sid}" for sid in sample] + missing)
    return passed(_("买家登录后可查配送方式、费用、承诺时限和全程记录；公开跟踪页凭不可猜测的链接访问，不显示收件人完整信息。"))


@check("LD-9")
def timeline_in_order(ctx: CheckContext) -> Finding:
    before = aliased(ShipmentEvent)
    backwards, back_sample = offenders(select(ShipmentEvent.shipment_id).join(
        before, (before.shipment_id == ShipmentEvent.shipment_id) & (before.id < ShipmentEvent.id)
        & (before.at > ShipmentEvent.at)).distinct().order_by(ShipmentEvent.shipment_id))
    silent, silent_sample = offenders(select(Shipment.id).where(
        Shipment.status != S.created,
        ~select(ShipmentEvent.id).where(ShipmentEvent.shipment_id == Shipment.id,
                                        ShipmentEvent.to_status == Shipment.status).exists()).order_by(Shipment.id))
    if backwards or silent:
        return failed(_("%(b)d 个配送单的记录时间倒退；%(s)d 个配送单的当前状态在记录中找不到。", b=backwards, s=silent),
                      [f"shipment {sid}" for sid in [*back_sample, *silent_sample]])
    return passed(_("每个配送单的状态都有对应的记录，记录时间依次向前，可全程查询。"))


@check("LD-10")
def delivery_complaints_in_seven_days(ctx: CheckContext) -> Finding:
    from marketplace.trust.complaints import Complaint, ComplaintCategory, ComplaintStatus, complaint_settings

    settings = complaint_settings.all(ctx.tenant)
    if "delivery" not in ComplaintCategory.values() or settings["merchant_hours"] > 7 * 24:
        return failed(_("配送投诉没有七日内答复的期限。"), [f"merchant_hours={settings['merchant_hours']}"])
    stale, sample = offenders(select(Complaint.number).where(
        Complaint.category == ComplaintCategory.delivery, Complaint.status == ComplaintStatus.filed,
        Complaint.filed_at <= ctx.now - timedelta(days=7)).order_by(Complaint.id))
    if stale:
        return failed(_("%(n)d 件配送投诉七日内未得到处理。", n=stale), sample)
    return passed(_("配送投诉须在 %(h)d 小时内答复，不满意可提交运营方处理；没有超过七日未处理的配送投诉。",
                    h=settings["merchant_hours"]))


@check("LD-12")
def undeliverable_goes_back_and_stays_traceable(ctx: CheckContext) -> Finding:
    if S.returned not in TRANSITIONS[S.exception]:
        return failed(_("配送异常的包裹无法记为退回。"))
    lost, sample = offenders(select(Shipment.id).where(
        Shipment.status.in_((S.exception, S.returned)), or_(Shipment.tracking_token.is_(None),
                                                            Shipment.tracking_token == "")).order_by(Shipment.id))
    if lost:
        return failed(_("%(n)d 个异常或退回的配送单无法查询。", n=lost), [f"shipment {sid}" for sid in sample])
    return passed(_("无法投递的包裹记为配送异常后退回商家，跟踪链接一直可查。"))


@check("LD-14")
def public_tracking_hides_the_recipient(ctx: CheckContext) -> Finding:
    from marketplace.api.delivery_schemas import PublicTrackingOut

    latest = list(db.session.scalars(select(Shipment).where(Shipment.provider != "pickup")
                                     .order_by(Shipment.id.desc()).limit(SAMPLE)))
    if not latest:
        return not_applicable(_("还没有送货上门的配送单。"))
    schema, exposed = PublicTrackingOut(), []
    for shipment in latest:
        shown = json.dumps(schema.dump(shipment), ensure_ascii=False, default=str)
        address = shipment.address or {}
        secrets = [str(address.get(key) or "") for key in ("mobile", "street")]
        if len(str(address.get("recipient") or "")) > 1:
            secrets.append(str(address["recipient"]))
        if any(secret and secret in shown for secret in secrets):
            exposed.append(f"shipment {shipment.id}")
    if exposed:
        return failed(_("%(n)d 个公开跟踪页显示了收件人的完整姓名、电话或街道地址。", n=len(exposed)), exposed)
    return passed(_("最近 %(n)d 个配送单的公开跟踪信息只显示遮挡后的收件人（张*、138****1234），不含街道地址。",
                    n=len(latest)))


@check("LD-15")
def cash_on_delivery_offered(ctx: CheckContext) -> Finding:
    from marketplace.delivery.providers import ProviderLoadError
    from marketplace.delivery.services import shop_providers, tenant_delivery
    from marketplace.payments.services import tenant_payments
    from marketplace.shops.models import Shop, ShopStatus

    methods = tenant_payments(ctx.tenant).offline_options.get("methods") or []
    if "cash_on_delivery" not in methods:
        return not_applicable(_("本租户未提供货到付款。"))
    try:
        config = tenant_delivery(ctx.tenant)
    except ProviderLoadError as error:
        return failed(_("配送设置有误，无法确定谁代收货款：%(e)s", e=str(error)))
    delivering = [shop.slug for shop in db.session.scalars(select(Shop).where(Shop.status == ShopStatus.active)
                                                            .order_by(Shop.id).limit(SHOPS))
                  if any(name != "pickup" for name in shop_providers(ctx.tenant, shop, config))]
    if not delivering:  # goods only ever collected at the stall: nobody brings them, nobody collects the money
        return failed(_("本租户开通了货到付款，但没有店铺提供送货，货款无人代收。"))
    return passed(_("买家可选择货到付款，由 %(n)d 家店铺的送货人代收货款。", n=len(delivering)))


@check("LD-16")
def one_forward_state_machine(ctx: CheckContext) -> Finding:
    problems = []
    if not all(not TRANSITIONS[status] for status in (*RECEIVED, S.returned, S.cancelled)):
        problems.append("final states move on")
    if any(S.created in following for following in TRANSITIONS.values()):
        problems.append("a step back to created")
    unreachable = set(S) - _reachable(S.created)
    if unreachable:
        problems.append(f"unreachable: {', '.join(sorted(unreachable))}")
    if problems:
        return failed(_("配送状态机不符合规定：%(p)s。", p="；".join(problems)), problems[:EVIDENCE])
    return passed(_("配送只能向前：签收和取货是收货，收货、退回和取消后不能再变，所有状态都可到达。"))
