"""网络经营者电子标识 (EB): what a shop shows about who runs it (亮照, ``trust.publishing.licence_notice``) and the
signed badges (``trust.badges``)."""

from __future__ import annotations

import json

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.shops.models import Merchant, MerchantKind, Shop, ShopStatus
from marketplace.spec.checks.ia import (
    REGISTERED_KINDS,
    is_registered,
    licensed_goods_on_sale,
    tenant_today,
    trading_merchants,
    working_days_before,
)
from marketplace.spec.model import CheckContext, Finding, check, failed, not_applicable, passed
from marketplace.spec.probes import has_blueprint, has_route, template_source
from marketplace.trust import badges
from marketplace.trust.badges import Badge, BadgeStatus
from marketplace.trust.onboarding import EXEMPTIONS
from marketplace.trust.publishing import approved_application
from marketplace.trust.verification import ApprovalStatus, MerchantApproval

#: OTSM Art. 12: changed facts are shown within ten working days (stricter than MER-R's fifteen days).
UPDATE_WORKING_DAYS = 10
#: OTSM Art. 12(3): the self-declarations an exempt trader may show, word for word.
EXEMPT_DECLARATIONS = (
    "个人销售自产农副产品，依法不需要办理市场主体登记",
    "个人销售家庭手工业产品，依法不需要办理市场主体登记",
    "个人利用自己的技能从事依法无须取得许可的便民劳务活动，依法不需要办理市场主体登记",
    "个人从事零星小额交易活动，依法不需要办理市场主体登记",
)


def _licence_page_served() -> bool:
    return has_blueprint("shop_licence")


@check("EB-1")
def licence_facts_shown(ctx: CheckContext) -> Finding:
    if not _licence_page_served():
        return failed(_("店铺没有公示经营者信息的亮照页面。"))
    if "shop_licence." not in template_source(ctx.tenant, "tenant/shop.html"):
        return failed(_("店铺首页没有链接到亮照页面。"))
    missing = [f"{m.legal_name or m.id}" for m in trading_merchants()
               if not (m.legal_name or "").strip() or (m.kind in REGISTERED_KINDS and not m.registration_number)]
    if missing:
        return failed(_("有在营店铺的经营者缺少亮照页要公示的名称或营业执照号码。"), missing)
    return passed(_("每个在营店铺都有亮照页，经营者名称及营业执照号码（或免登记说明）齐全。"))


@check("EB-2")
def licence_fields_by_entity(ctx: CheckContext) -> Finding:
    registered = [m for m in trading_merchants() if is_registered(m)]
    if not registered:
        return not_applicable(_("本租户没有已登记经营者的在营店铺。"))
    gaps = []
    for merchant in registered:
        filed = approved_application(merchant)
        if filed is None:
            gaps.append(f"{merchant.legal_name}: " + _("无已通过的认证申请"))
            continue
        wanted = [(_("法定代表人/经营者"), filed.legal_representative), (_("住所/经营场所"), filed.business_address)]
        if merchant.kind == MerchantKind.enterprise:
            wanted += [(_("企业类型"), filed.entity_type), (_("注册资本（出资额）"), filed.registered_capital)]
        else:
            wanted += [(_("组成形式"), filed.organisation_form_label)]
        missing = [label for label, value in wanted if not (value or "").strip()]
        if missing:
            gaps.append(f"{merchant.legal_name}: {'、'.join(missing)}")
    if gaps:
        return failed(_("%(n)d 个已登记经营者的亮照信息不全（须按主体类型公示的项目缺失）。", n=len(gaps)), gaps)
    return passed(_("%(n)d 个已登记经营者的亮照页按主体类型公示了代码、名称、类型或组成形式、法定代表人、住所和注册资本。",
                    n=len(registered)))


@check("EB-3")
def exempt_traders_declare(ctx: CheckContext) -> Finding:
    exempt = [m for m in trading_merchants(Merchant.kind == MerchantKind.natural_person) if not is_registered(m)]
    if not exempt:
        return not_applicable(_("本租户没有免登记的自然人经营者。"))
    gaps = []
    for merchant in exempt:
        filed = approved_application(merchant)
        if filed is None or filed.exemption not in EXEMPTIONS or not (filed.business_address or "").strip() \
                or not (filed.contact_phone or "").strip():
            gaps.append(merchant.legal_name)
    if gaps:
        return failed(_("免登记经营者须公示规定的四种自我声明之一及经营地址、联系方式；以下经营者缺少其中一项。"), gaps)
    return passed(_("%(n)d 个免登记经营者都在亮照页公示了规定的自我声明、经营地址和联系电话。", n=len(exempt)))


@check("EB-4")
def badges_kept_current(ctx: CheckContext) -> Finding:
    cutoff = working_days_before(ctx.now, UPDATE_WORKING_DAYS)
    stale = []
    for badge in db.session.scalars(select(Badge).where(Badge.status == BadgeStatus.valid)):
        signed = json.loads(badge.payload)
        merchant, shop = badge.merchant, badge.shop
        differs = [name for name, now_value in (
            ("legal_name", merchant.legal_name), ("registration_number", merchant.registration_number or ""),
            ("shop", shop.name_zh), ("place", badges.badge_place(ctx.tenant, shop)),
        ) if signed.get(name) != now_value]
        changed_at = max(merchant.updated_at or badge.issued_at, shop.updated_at or badge.issued_at)
        if differs and changed_at <= cutoff:
            stale.append(f"{badge.serial} ({shop.slug}): {', '.join(differs)}")
    if stale:
        return failed(_("有电子标识所载信息已变更超过 10 个工作日仍未重新签发。"), stale)
    return passed(_("有效电子标识所载的经营者和店铺信息都是最新的（或在 10 个工作日更新期内）。"))


@check("EB-5")
def withdrawn_approval_reaches_badges(ctx: CheckContext) -> Finding:
    withdrawn = select(MerchantApproval.merchant_id).where(MerchantApproval.status == ApprovalStatus.rejected)
    offending = db.session.scalars(select(Badge.serial).where(Badge.status == BadgeStatus.valid,
                                                              Badge.merchant_id.in_(withdrawn))).all()
    if offending:
        return failed(_("有经营者已被驳回，其电子标识却仍为有效。"), offending)
    return passed(_("被驳回经营者的电子标识都已撤销；电子标识尚未链接国家电子营业执照系统。"))


@check("EB-6")
def registered_and_exempt_told_apart(ctx: CheckContext) -> Finding:
    if not _licence_page_served():
        return failed(_("店铺没有公示经营者信息的亮照页面。"))
    unclear = [m.legal_name for m in trading_merchants()
               if m.kind in REGISTERED_KINDS and not m.registration_number]
    if unclear:
        return failed(_("有企业或个体工商户没有营业执照号码，无法标明其已登记。"), unclear)
    return passed(_("在营经营者都能明确标为已登记（有营业执照号码）或免登记自然人。"))


@check("EB-7")
def licences_shown_with_number_and_expiry(ctx: CheckContext) -> Finding:
    from marketplace.catalog.models import ShopLicence
    from marketplace.spec.checks.ia import valid_licence

    shown = valid_licence(tenant_today(ctx)) & ShopLicence.expires_on.is_not(None) & (ShopLicence.number != "")
    offending = licensed_goods_on_sale(ctx, shown)
    if offending:
        return failed(_("有在售须许可商品的店铺，亮照页没有显示经核验的许可证编号及有效期。"), offending)
    return passed(_("在售须许可商品的店铺，亮照页都显示经核验的许可证编号和有效期。"))


@check("EB-8")
def social_sales_show_the_seller(ctx: CheckContext) -> Finding:
    if has_route("livestream", "live_stream", "live_sales", "social_sales", "social_commerce"):
        return failed(_("平台有直播或社交销售页面，但没有检查其是否显示实际经营者的亮照信息。"))
    return not_applicable(_("平台没有直播或社交销售页面。"))


@check("EB-9")
def sanction_states_on_badges(ctx: CheckContext) -> Finding:
    from marketplace.trust import enforcement

    missing = [state for state in ("warning", "suspended", "closing") if state not in badges.BadgeState.values()]
    if missing:
        return failed(_("电子标识缺少以下状态，无法显示处理措施或终止经营。"), missing)
    if not has_blueprint("sanctions") or "_shop_standing" not in template_source(ctx.tenant, "badges/_shop_badge.html") \
            or "_shop_badge" not in template_source(ctx.tenant, "tenant/shop.html"):
        return failed(_("店铺页没有显示处理措施和终止经营公示，或没有处理措施公示页。"))
    trading = enforcement.suspensions_not_enforced(ctx.now)
    if trading:
        return failed(_("这些店铺的暂停或终止服务措施正在执行，店铺却仍在营业。"), trading)
    overdue = enforcement.closings_overdue(ctx.now)
    if overdue:
        return failed(_("这些店铺已过公示的最后经营日，却仍在营业。"), overdue)
    suspended_shops = select(Shop.id).where(Shop.tenant_id == ctx.tenant.id, Shop.status == ShopStatus.suspended)
    wrong = [badge.serial for badge in db.session.scalars(select(Badge).where(
        Badge.shop_id.in_(suspended_shops), Badge.status == BadgeStatus.valid).limit(100))
        if badges.badge_state(badge, ctx.now) != badges.BadgeState.suspended][:10]
    if wrong:
        return failed(_("有已暂停店铺的电子标识没有显示为暂停。"), wrong)
    return passed(_("电子标识可显示警示、暂停和终止经营（日期）；店铺页和处理措施公示页显示在执行的措施；"
                    "被暂停的店铺已停业，过了最后经营日的店铺已关闭。"))
