"""平台建设规范 — Platform construction: the tenant's agreement and rules, retention, sanctions, search, exit."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from marketplace.extensions import db
from marketplace.spec.model import CheckContext, Finding, check, failed, not_applicable, passed
from marketplace.spec.probes import has_endpoint, search_disorder, template_source
from marketplace.tenancy import agreements
from marketplace.tenancy.agreements import DocumentKind, DocumentStatus, RuleChangeExit, TenantDocument
from marketplace.tenancy.models import TenantSetting, TenantStatus

#: Sections the trading rules must have (RULEPROC Art. 6): label → words one of whose headings must contain.
RULEBOOK_SECTIONS: dict[str, tuple[str, ...]] = {
    "基本规则": ("基本规则", "总则"),
    "责任及风险分担": ("责任", "风险"),
    "知识产权保护": ("知识产权",),
    "信用评价": ("信用",),
    "消费者权益保护": ("消费者",),
    "信息披露": ("信息披露", "实名", "资质"),
    "防范和制止违法信息": ("违法信息",),
    "交易纠纷解决": ("纠纷",),
    "适用范围": ("适用范围",),
    "修改程序": ("修改",),
}
#: Clauses that would tie merchants to this platform alone (ECL Art. 35).
EXCLUSIVITY_WORDS = ("二选一", "独家经营", "不得在其他平台")
#: What a deposit clause must settle (ECL Art. 58(2)).
DEPOSIT_TERMS = {"提取数额": ("数额", "金额"), "管理": ("管理",), "使用": ("使用", "用于"), "退还": ("退还",)}
#: Transaction and identity tables that must outlive the users, shops and merchants they name (ECL Art. 31).
RETAINED_TABLES = ("order_groups", "orders", "order_lines", "order_events", "payments", "shipments",
                   "shipment_events", "return_requests", "refunds", "merchants", "merchant_approvals")
#: A takedown goes into the regulator report of its month; later than this it is late (OTSM Art. 29).
REPORT_WITHIN = timedelta(days=31)
#: How long before closing a shop's or tenant's closing notice shows (ECL Art. 16).
CLOSING_NOTICE = timedelta(days=30)
#: Order records older than this must be sealed (``flask orders seal`` runs hourly; this leaves room for an outage).
SEAL_WITHIN = timedelta(days=2)
#: The windows of the last this-many days are recomputed by the check (the daily job recomputes them all).
RECOMPUTED = timedelta(days=7)
#: Module settings that would be centralised trading (ECL Art. 46).
EXCHANGE_MODULES = ("exchange", "auction", "contracts")


def _in_force(ctx: CheckContext) -> dict[str, TenantDocument | None]:
    return {kind.value: agreements.in_force(kind.value, ctx.now) for kind in DocumentKind}


def _body_of(documents) -> str:
    return "\n".join(d.body for d in documents if d is not None)


@check("PC-1")
def agreement_and_rules_shown(ctx: CheckContext) -> Finding:
    documents = _in_force(ctx)
    missing = [str(DocumentKind(kind).label) for kind, document in documents.items() if document is None]
    if missing:
        return failed(_("尚无生效的%(what)s：首页页脚的链接打开后没有内容可读。", what="、".join(missing)))
    if not has_endpoint("agreements.agreement", "agreements.rules"):
        return failed(_("协议和规则的公开页面未注册。"))
    return passed(_("服务协议第 %(a)d 版、交易规则第 %(r)d 版生效中，每个页面页脚链接到它们，可阅读并下载 .txt/.md。",
                    a=documents["agreement"].version, r=documents["rules"].version))


@check("PC-2")
def four_subjects_settled(ctx: CheckContext) -> Finding:
    documents = [d for d in _in_force(ctx).values() if d is not None]
    if not documents:
        return failed(_("尚无生效的服务协议或交易规则。"))
    missing = agreements.missing_subjects([h for d in documents for h in d.headings])
    if missing:
        return failed(_("生效的协议和规则中没有以下方面的章节：%(list)s。", list="、".join(missing)), evidence=missing)
    return passed(_("生效的协议和规则有进入和退出、质量保障、消费者权益保护、个人信息保护四方面的章节。"))


@check("PC-3")
def changes_consulted_and_announced(ctx: CheckContext) -> Finding:
    # Versions are few (a handful per year), so reading the published ones is cheap.
    versions = db.session.scalars(select(TenantDocument).where(
        TenantDocument.status == DocumentStatus.published).order_by(TenantDocument.kind, TenantDocument.version))
    breaches = []
    urgent = 0
    count = 0
    for document in versions:
        count += 1
        urgent += bool(document.urgent_reason)
        problems = agreements.procedure_breaches(document)
        if problems:
            breaches.append(f"{DocumentKind(document.kind).label} v{document.version}: {'；'.join(problems)}")
    if not count:
        return failed(_("尚未公示任何服务协议或交易规则版本。"))
    if breaches:
        return failed(_("%(n)d 个版本未按程序修改（征求意见不少于 7 日、公示 7 日后生效）。", n=len(breaches)),
                      evidence=breaches)
    return passed(_("%(n)d 个已公示版本均征求意见不少于 7 日、公示 7 日后生效（其中 %(u)d 个为注明原因的法定或紧急修改）。",
                    n=count, u=urgent))


@check("PC-4")
def exit_over_a_change(ctx: CheckContext) -> Finding:
    if not has_endpoint("merchant_documents.leave"):
        return failed(_("经营者无法在修改生效前办理退出。"))
    # An exit must hold the shop to an earlier version of the same document than the one it refused.
    earlier = aliased(TenantDocument)
    wrong = list(db.session.execute(
        select(RuleChangeExit.id, TenantDocument.version, earlier.version)
        .join(TenantDocument, TenantDocument.id == RuleChangeExit.refused_id)
        .join(earlier, earlier.id == RuleChangeExit.governed_by_id)
        .where((earlier.version >= TenantDocument.version) | (earlier.kind != TenantDocument.kind)).limit(10)))
    if wrong:
        return failed(_("这些退出记录没有按修改前的版本确定责任。"),
                      evidence=[f"exit {row[0]}: v{row[1]} → v{row[2]}" for row in wrong])
    documents = [d for d in _in_force(ctx).values() if d is not None]
    for document in documents:
        section = _section(document.body, "修改")
        if "退出" in section and "修改前" in section:
            exits = db.session.scalar(select(func.count()).select_from(RuleChangeExit))
            return passed(_("经营者可在修改生效前于商户后台退出（已登记 %(n)d 次），责任按修改前的版本承担；"
                            "%(doc)s第 %(v)d 版的修改条款写明了这一点。", n=exits,
                            doc=DocumentKind(document.kind).label, v=document.version))
    return failed(_("生效的协议和规则中，没有“修改”章节写明不接受修改的经营者可以退出并按修改前的规则承担责任。"))


def _section(body: str, word: str) -> str:
    """The text under every heading containing ``word``, up to the next heading."""
    taken, keep = [], False
    for line in body.splitlines():
        if line.startswith("#"):
            keep = word in line
        elif keep:
            taken.append(line)
    return "\n".join(taken)


@check("PC-5")
def earlier_versions_kept(ctx: CheckContext) -> Finding:
    rows = db.session.execute(select(TenantDocument.kind, func.count(), func.min(TenantDocument.version),
                                     func.max(TenantDocument.version)).where(
        TenantDocument.status == DocumentStatus.published).group_by(TenantDocument.kind)).all()
    if not rows:
        return failed(_("尚未公示任何服务协议或交易规则版本。"))
    gaps = [f"{DocumentKind(kind).label}: v{low}–v{high}, {count}" for kind, count, low, high in rows
            if count != high - low + 1 or low != 1]
    undated = db.session.scalar(select(func.count()).select_from(TenantDocument).where(
        TenantDocument.status == DocumentStatus.published,
        (TenantDocument.published_at.is_(None)) | (TenantDocument.effective_at.is_(None))))
    if gaps or undated:
        return failed(_("已公示版本不完整：缺少版本或缺少公示、生效时间。"), evidence=gaps)
    return passed(_("已公示的 %(n)d 个版本从第 1 版起完整保存，每版可单独阅读和下载。", n=sum(r[1] for r in rows)))


@check("PC-6")
def rulebook_sections(ctx: CheckContext) -> Finding:
    rules = agreements.in_force(DocumentKind.rules, ctx.now)
    if rules is None:
        return failed(_("尚无生效的交易规则。"))
    headings = rules.headings
    missing = [label for label, words in RULEBOOK_SECTIONS.items()
               if not any(word in heading for heading in headings for word in words)]
    if missing:
        return failed(_("交易规则第 %(v)d 版缺少以下章节：%(list)s。", v=rules.version, list="、".join(missing)),
                      evidence=missing)
    return passed(_("交易规则第 %(v)d 版包含规定的 %(n)d 类章节（备案在线下办理，未检查）。", v=rules.version,
                    n=len(RULEBOOK_SECTIONS)))


@check("PC-7")
def records_outlive_their_people(ctx: CheckContext) -> Finding:
    cascading = cascading_deletes(db.metadata, RETAINED_TABLES)
    if cascading:
        return failed(_("删除用户、店铺或商户时，以下交易或身份记录会被一并删除。"), evidence=cascading)
    return passed(_("订单、付款、物流、退货和商户身份记录不随用户、店铺或商户删除；平台没有清除这些记录的任务。"))


def cascading_deletes(metadata, tables) -> list[str]:
    """``table.column`` for each foreign key of ``tables`` that deletes the row when the row it names goes,
    except the lines of a record deleting with the record itself (both are kept together)."""
    found = []
    for name in tables:
        table = metadata.tables.get(name)
        if table is None:
            continue
        for key in table.foreign_keys:
            if (key.ondelete or "").upper() == "CASCADE" and key.column.table.name not in tables:
                found.append(f"{name}.{key.parent.name} → {key.column.table.name}")
    return found


@check("PC-8")
def records_tamper_evident(ctx: CheckContext) -> Finding:
    from marketplace.orders import seals
    from marketplace.orders.models import Order

    # Conformance runs from a page too: the last week's windows are recomputed here, all of them by the daily job.
    report = seals.verify(ctx.tenant, records_since=ctx.now - RECOMPUTED)
    if not report.intact:
        broken = report.broken
        evidence = ([f"#{broken.seq}"] if broken.seq else []) + ([broken.order_number] if broken.order_number else [])
        return failed(_("订单记录的封存链校验不通过：%(where)s", where=str(broken)), evidence=evidence)
    late = seals.unsealed_before(ctx.tenant, ctx.now - SEAL_WITHIN)
    if late:
        return failed(_("这些订单有超过 %(days)d 天仍未封存的记录：封存任务 flask orders seal 没有按时运行。",
                        days=SEAL_WITHIN.days), evidence=late)
    if report.last is None:
        if db.session.scalar(select(func.count(Order.id))) == 0:
            return passed(_("尚无订单，没有需要封存的交易记录；有订单后由每小时运行的 flask orders seal 封存。"))
        return passed(_("订单都是 %(days)d 天内产生的，尚待第一次封存（flask orders seal 每小时运行）；状态与状态记录一致。",
                        days=SEAL_WITHIN.days))
    return passed(_("订单快照和状态记录按时段封存进签名的哈希链：%(seals)d 次封存，已封存至 %(until)s；签名和链接全部一致，"
                    "近 %(recent)d 天的记录重新计算一致（全部记录由每日的 flask orders verify-seals 核对）；"
                    "没有超过 %(days)d 天未封存的记录。", seals=report.seals, days=SEAL_WITHIN.days,
                    recent=RECOMPUTED.days,
                    until=report.last.until.astimezone(ZoneInfo(ctx.tenant.timezone)).strftime("%Y-%m-%d %H:%M")))


@check("PC-10")
def third_party_shops_named(ctx: CheckContext) -> Finding:
    from marketplace.shops.models import Merchant, Shop, ShopStatus

    unnamed = list(db.session.scalars(select(Shop.slug).join(Merchant, Merchant.id == Shop.merchant_id).where(
        Shop.status == ShopStatus.active, func.trim(Merchant.legal_name) == "").limit(10)))
    if unnamed:
        return failed(_("这些店铺的商户没有名称，消费者无法分辨经营者是谁。"), evidence=unnamed)
    return passed(_("每个营业中的店铺都属于一个有名称的商户，并在店铺页显示；平台不经营自营业务。"))


@check("PC-11")
def search_sorts_and_ads(ctx: CheckContext) -> Finding:
    from marketplace.search.backend import SORTS

    missing = [sort for sort in ("price_asc", "sales", "credit") if sort not in SORTS]
    if missing:
        return failed(_("搜索结果不能按以下方式排序。"), evidence=missing)
    # Sorting is only as good as the index: the tenant's own search answers, compared with the products now.
    problems = search_disorder(ctx.tenant, "price_asc") + search_disorder(ctx.tenant, "sales")
    if "广告" not in template_source(ctx.tenant, "search/_ads.html"):
        problems.append(_("推广商品没有标注“广告”"))
    if problems:
        return failed(_("居民按价格或销量排序看到的顺序与商品现在的价格、销量不符，或推广商品没有标注“广告”。"), problems)
    return passed(_("搜索可按价格、销量、信用排序，排序结果与商品现在的价格和销量一致；推广商品单独列出并标明“广告”；"
                    "平台不做个性化推荐。"))


@check("PC-12")
def no_exclusivity(ctx: CheckContext) -> Finding:
    documents = [d for d in _in_force(ctx).values() if d is not None]
    found = [word for word in EXCLUSIVITY_WORDS if word in _body_of(documents)]
    if found:
        return failed(_("生效的协议或规则含有限制经营者在其他平台经营的条款。"), evidence=found)
    return passed(_("生效的协议和规则没有“二选一”或独家经营条款；店铺自行选择配送方式。"))


@check("PC-13")
def takedowns_recorded(ctx: CheckContext) -> Finding:
    from marketplace.trust import enforcement

    if not all(has_endpoint(name) for name in ("operator_enforcement.take_down",
                                                 "operator_enforcement.takedowns_report",
                                                 "operator_enforcement.mark_reported")):
        return failed(_("平台没有违法信息处置记录（下架登记和向监管部门报告）功能。"))
    overdue = enforcement.unreported_takedowns(ctx.tenant, ctx.now)
    if overdue:
        return failed(_("这些下架记录所在月份结束已超过 %(n)d 日，仍未列入向市场监管部门的报告。",
                        n=enforcement.REPORT_GRACE_DAYS), overdue)
    return passed(_("每次下架违法商品都留存不可修改的记录（商品、店铺、理由、操作人、时间），并按月列入监管报告。"))


@check("PC-14")
def sanctions_published(ctx: CheckContext) -> Finding:
    from marketplace.trust import enforcement
    from marketplace.trust.badges import Badge, BadgeStatus

    if not has_endpoint("sanctions.public_sanctions"):
        return failed(_("平台没有处理措施公示页。"))
    late = enforcement.published_late()
    if late:
        return failed(_("这些处理措施没有在决定后 1 个工作日内公示。"), late)
    trading = enforcement.suspensions_not_enforced(ctx.now)
    if trading:
        return failed(_("这些店铺的暂停或终止服务措施正在执行，店铺却仍在营业。"), trading)
    silent = list(db.session.scalars(select(Badge.serial).where(
        Badge.status.in_((BadgeStatus.suspended, BadgeStatus.revoked)), func.trim(Badge.status_reason) == ""
    ).limit(10)))
    if silent:
        return failed(_("这些暂停或撤销的电子标识没有写明原因，公示页无法说明违规行为。"), evidence=silent)
    return passed(_("处理措施一经决定即在处理措施公示页和店铺页公示网店名称、违法行为和措施，警示和暂停公示至期满。"))


@check("PC-15")
def ip_notices(ctx: CheckContext) -> Finding:
    """Arts. 42–44: notices and counter-notices passed on at once, measures ended 15 days after a counter-notice
    unless the holder reported a complaint or suit, everything published."""
    from sqlalchemy import and_, or_

    from marketplace.trust.ip_notices import IpNotice
    from marketplace.trust.ip_notices import IpNoticeStatus as S

    for needed in ("ip_notices.public", "ip_notices.report_action", "merchant_ip_notices.merchant_counter"):
        if not has_endpoint(needed):
            return failed(_("知识产权“通知—删除—声明”流程不完整：缺少 %(page)s。", page=needed))
    # Forwarding: the measure reaches the merchant, a counter-notice the holder, when each happens.
    unforwarded = list(db.session.scalars(select(IpNotice.number).where(or_(
        and_(IpNotice.status.in_([S.taken_down, S.countered, S.action_reported, S.restored]),
             IpNotice.forwarded_at.is_(None)),
        and_(IpNotice.countered_at.is_not(None), IpNotice.counter_forwarded_at.is_(None)))).limit(10)))
    if unforwarded:
        return failed(_("这些知识产权通知或不侵权声明没有转送对方。"), evidence=unforwarded)
    # Art. 43(2): past the 15 days with no complaint or suit reported, the measure must have ended.
    held = list(db.session.scalars(select(IpNotice.number).where(
        IpNotice.status == S.countered, IpNotice.holder_due < ctx.now).order_by(IpNotice.holder_due).limit(10)))
    if held:
        return failed(_("这些知识产权措施在声明转送权利人满十五日后仍未终止。"), evidence=held)
    unreviewed = list(db.session.scalars(select(IpNotice.number).where(
        IpNotice.status == S.filed, IpNotice.review_due < ctx.now).order_by(IpNotice.review_due).limit(10)))
    if unreviewed:
        return failed(_("这些知识产权通知已超过审核期限仍未处理。"), evidence=unreviewed)
    return passed(_("知识产权通知和声明按时转送，十五日期满的措施已终止，通知、声明及处理结果在公示页公示。"))


@check("PC-16")
def account_closing(ctx: CheckContext) -> Finding:
    if not has_endpoint("accounts.close_account"):
        return failed(_("用户可以查看和更正自己的信息，但平台没有注销账户的功能。"))
    from marketplace.accounts.closure import CLOSED_EMAIL_DOMAIN, AccountClosure, HeldOrder
    from marketplace.accounts.models import User

    # Closed accounts are platform-wide; the few that still carry a name, mobile or real e-mail are a failed erasure.
    kept = list(db.session.scalars(select(User.id).join(AccountClosure, AccountClosure.user_id == User.id).where(
        (User.mobile.is_not(None)) | (func.length(User.display_name) > 0)
        | User.email.not_like(f"%@{CLOSED_EMAIL_DOMAIN}")).limit(10)))
    if kept:
        return failed(_("这些已注销的账户仍保存姓名、手机号或邮箱。"), evidence=[f"user {i}" for i in kept])
    # This tenant's held orders whose hold ended more than a week ago and were never cleared: the job is not running.
    overdue = list(db.session.scalars(select(HeldOrder.order_id).where(
        HeldOrder.purged_at.is_(None), HeldOrder.hold_until < ctx.now - timedelta(days=7)).limit(10)))
    if overdue:
        return failed(_("这些订单的法定保存期已满，买家信息仍未清除（flask accounts purge-held 未运行）。"),
                      evidence=[f"order {i}" for i in overdue])
    return passed(_("用户可以查看、更正信息并注销账户；注销后个人信息立即删除，订单按法定期限保存。"))

@check("PC-17")
def closing_notice(ctx: CheckContext) -> Finding:
    from marketplace.trust import enforcement

    if ctx.tenant.status == TenantStatus.draft:
        return not_applicable(_("租户尚未开业。"))
    if ctx.tenant.status != TenantStatus.live:
        closed = enforcement.tenant_closed_after_notice(ctx.tenant)
        if closed is not None:
            return passed(_("租户已按提前三十日的公示，于 %(date)s 后终止经营。", date=closed.last_day.isoformat()))
        return failed(_("租户已暂停营业，但首页没有提前三十日的终止经营公示。"))
    if not all(has_endpoint(name) for name in ("merchant_closing.closing",
                                               "operator_enforcement.announce_tenant_closing")):
        return failed(_("店铺或租户无法公示终止经营。"))
    announced = enforcement.tenant_closing(ctx.now)
    if announced is not None and announced.closes_at <= ctx.now:
        return failed(_("租户已过公示的最后经营日，却仍在营业。"), [announced.last_day.isoformat()])
    short = enforcement.notices_too_short(ctx.tenant)
    if short:
        return failed(_("这些店铺的终止经营公示不足三十日。"), short)
    overdue = enforcement.closings_overdue(ctx.now)
    if overdue:
        return failed(_("这些店铺已过公示的最后经营日，却仍在营业。"), overdue)
    return passed(_("租户正常营业；店铺终止经营须提前三十日公示，公示期间店铺页和电子标识显示终止日期，期满后关闭。"))


@check("PC-18")
def data_for_authorities(ctx: CheckContext) -> Finding:
    if not has_endpoint("operator_statistics.", "operator_reports.", "statistics."):
        return failed(_("平台没有按时段、品类、区域导出价格、销量和销售额的统计功能。"))
    district = (ctx.tenant.district_zh or "").strip()
    if not district:  # the figures "by area" group tenants by the district they record
        return failed(_("租户没有登记所在区县，统计报表无法按区域提供本租户的数据。"))
    return passed(_("统计报表可按时段、品类、区域导出，本租户的数据计入%(district)s。", district=district))


@check("PC-19")
def no_centralised_trading(ctx: CheckContext) -> Finding:
    modules = list(db.session.scalars(select(TenantSetting.module).where(
        TenantSetting.module.in_(EXCHANGE_MODULES)).distinct().limit(10)))
    if modules:
        return failed(_("租户配置了集中交易模块。"), evidence=modules)
    return passed(_("交易按店铺报价、阶梯价和询价成交，未配置集中竞价或标准化合约模块。"))


@check("PC-20")
def deposit_terms(ctx: CheckContext) -> Finding:
    documents = [d for d in _in_force(ctx).values() if d is not None]
    text = _body_of(documents)
    if "保证金" not in text:
        return not_applicable(_("生效的协议和规则没有约定消费者权益保证金。"))
    section = "\n".join(line for line in text.splitlines() if "保证金" in line) + _section(text, "保证金")
    missing = [term for term, words in DEPOSIT_TERMS.items() if not any(word in section for word in words)]
    if missing:
        return failed(_("保证金条款缺少以下内容。"), evidence=missing)
    return passed(_("保证金条款写明了提取数额、管理、使用和退还办法。"))


@check("PC-21")
def tenant_organisation_code(ctx: CheckContext) -> Finding:
    from marketplace.shops.services import uscc_problem

    name, code = (ctx.tenant.operator_name or "").strip(), ctx.tenant.operator_uscc or ""
    if not name or not code:
        return failed(_("租户记录中没有运营机构的名称和统一社会信用代码。"))
    problem = uscc_problem(code)  # a code stored before it was checked, or edited in the database
    if problem:
        return failed(_("运营机构的统一社会信用代码未通过校验。"), evidence=[problem])
    return passed(_("租户记录了运营机构 %(name)s 及其统一社会信用代码 %(code)s。", name=name, code=code))
