"""电子商务统计报表制度 — Statistics reporting: the figures, the return's form, the archive, the identity report."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, select

from marketplace.catalog.models import Category, Product
from marketplace.extensions import db
from marketplace.reports import archive, definitions, identity
from marketplace.reports.figures import Scope, figures
from marketplace.reports.models import StatisticsReturn
from marketplace.spec.model import EVIDENCE, CheckContext, Finding, check, failed, not_applicable, passed

#: The form's facts STAT Art. 24 wants on every statistics form.
FORM_FIELDS = {"number": "表号", "authority": "制定机关", "approval": "批准或备案文号", "valid_until": "有效期限"}


def _last_month(ctx: CheckContext):
    period = archive.last_due_month(ctx.now)
    return period, figures(Scope(tenant=ctx.tenant), period, ("category",), suppressing=False)


def _archived(kind: str, period: str) -> list[StatisticsReturn]:
    return list(db.session.scalars(select(StatisticsReturn).where(
        StatisticsReturn.kind == kind, StatisticsReturn.period == period).order_by(StatisticsReturn.version)))


@check("SR-2")
def figures_by_period_category_area(ctx: CheckContext) -> Finding:
    if not any(rule.endpoint == "api_statistics.statistics" for rule in current_app.url_map.iter_rules()):
        return failed(_("平台没有提供统计数据接口（/api/v1/statistics）。"))
    if not (ctx.tenant.district_zh or "").strip():
        return failed(_("租户没有填写所在区域，其销售额无法按区域提供。"), [ctx.tenant.slug])
    period, found = _last_month(ctx)
    by_category = sum(row.values["gmv"] for row in found.breakdowns["category"])
    if by_category != found.total.values["gmv"]:
        return failed(_("%(period)s 按类目汇总的销售额与合计不符。", period=period.label),
                      [f"categories {by_category} ≠ total {found.total.values['gmv']}"])
    return passed(_("统计接口已开通；租户区域为“%(district)s”；%(period)s 的价格、销量、销售额可按类目、区域提供。",
                    district=ctx.tenant.district_zh, period=period.label))


@check("SR-3")
def forms_named_and_data_confidential(ctx: CheckContext) -> Finding:
    missing = [label for key, label in FORM_FIELDS.items() if not str(definitions.FORM.get(key, "")).strip()]
    if missing:
        return failed(_("统计报表缺少表头事项。"), missing)
    if str(definitions.FORM["valid_until"]) < ctx.now.astimezone(definitions.STATISTICS_ZONE).date().isoformat():
        return failed(_("统计报表 %(number)s 的有效期已于 %(date)s 届满。", number=definitions.FORM["number"],
                        date=definitions.FORM["valid_until"]))
    if definitions.MIN_CELL < 3:
        return failed(_("小于 3 个调查对象的数据没有保密处理，单个经营者的数据可能被识别。"))
    # Returns are one a month (and the odd correction): the latest few years are a short read.
    archived = db.session.scalars(select(StatisticsReturn).where(StatisticsReturn.kind == "statistics")
                                  .order_by(StatisticsReturn.id.desc()).limit(200))
    broken = [f"{r.period} v{r.version}" for r in archived
              if not r.figures or any(not str((r.form or {}).get(key, "")).strip() for key in FORM_FIELDS)]
    if broken:
        return failed(_("有已存档的月报缺少表头事项或数据。"), broken)
    return passed(_("报表 %(number)s 注明表号、制定机关、批准文号和有效期（至 %(date)s）；少于 %(n)d 个经营者或买家的数据不予显示。",
                    number=definitions.FORM["number"], date=definitions.FORM["valid_until"], n=definitions.MIN_CELL))


@check("SR-4")
def goods_told_from_services(ctx: CheckContext) -> Finding:
    untyped = list(db.session.scalars(
        select(Category.slug).where(Category.product_type == "", exists().where(Product.category_id == Category.id))
        .order_by(Category.slug).limit(EVIDENCE)))
    if untyped:
        return failed(_("有商品的类目没有标明商品类型，无法区分实物商品和服务。"), untyped)
    return passed(_("有商品的类目都标明了商品类型：实物商品网上零售额不含服务类商品和运费。"))


@check("SR-5")
def monthly_return_filed(ctx: CheckContext) -> Finding:
    period, found = _last_month(ctx)
    if not found.total.values["orders"]:
        return not_applicable(_("租户在 %(period)s 没有成交，无需报送。", period=period.label))
    if not _archived("statistics", period.label):
        return failed(_("%(period)s 的月报应在次月 %(day)d 日前报送，尚未存档。", period=period.label,
                        day=archive.DUE_DAY), [period.label])
    return passed(_("%(period)s 的月报已报送存档。", period=period.label))


@check("SR-7")
def returns_add_up_and_stay_true(ctx: CheckContext) -> Finding:
    period, found = _last_month(ctx)
    total = found.total.values
    if total["online_retail"] > total["gmv"] or total["physical_online_retail"] > total["online_retail"]:
        return failed(_("网上零售额超过了平台交易额。"), [f"{period.label}: {total}"])
    if sum(row.values["gmv"] for row in found.breakdowns["category"]) != total["gmv"]:
        return failed(_("%(period)s 各类目之和不等于合计。", period=period.label))
    stale = []
    periods = list(db.session.scalars(select(StatisticsReturn.period).where(StatisticsReturn.kind == "statistics")
                                      .distinct().order_by(StatisticsReturn.period.desc()).limit(12)))
    for label in periods:
        versions = _archived("statistics", label)
        if [r.version for r in versions] != list(range(1, len(versions) + 1)):
            stale.append(_("%(period)s 的版本不连续", period=label))
            continue
        sent = (versions[-1].figures or {}).get("ledger", {}).get(ctx.tenant.slug)
        now = figures(Scope(tenant=ctx.tenant), definitions.parse_period(label), (), suppressing=False).total.values
        if sent is None and now["orders"]:
            stale.append(_("%(period)s 的月报未含本租户的成交", period=label))
        elif sent is not None and any(now.get(key) != value for key, value in sent.items()):
            stale.append(_("%(period)s 的月报与现有订单不符，应报送更正版本", period=label))
    if stale:
        return failed(_("已报送的月报需要更正。"), stale)
    return passed(_("%(period)s 的各类目之和等于合计，网上零售额不超过交易额；已报送的月报与订单一致。", period=period.label))


@check("SR-8")
def identity_report_filed(ctx: CheckContext) -> Finding:
    half = identity.last_due(ctx.now)
    if ctx.tenant.created_at is not None and ctx.tenant.created_at >= half.filing_ends:
        return not_applicable(_("租户在 %(half)s 身份信息报送截止后才开设。", half=half.label))
    reports = _archived(identity.KIND, half.label)
    if not reports:
        return failed(_("%(half)s 的经营者身份信息报告尚未报送存档。", half=half.label), [half.label])
    if ctx.tenant.slug not in reports[-1].figures.get("tenants", {}):
        return failed(_("%(half)s 的经营者身份信息报告没有列出本租户的经营者。", half=half.label), [ctx.tenant.slug])
    return passed(_("%(half)s 的经营者身份信息报告已报送存档，列出本租户的店铺。", half=half.label))

