"""PD — product description for agricultural inputs: listings carry what the product's legal label carries.

Each check reads two things: the product type of the agricultural-inputs pack (does it define the field?) and
the tenant's listings on sale of that type (does any leave it empty?). A tenant selling no product of the
type finds the requirement not applicable. Attribute values live in a JSON column, so the questions are asked
in SQL over it, one aggregate query per product type, and only a few offending listings are fetched.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Numeric, and_, cast, exists, func, not_, or_, select, true

from marketplace.catalog import packs
from marketplace.catalog.builtin_packs.agri_inputs import (
    FORBIDDEN_FERTILISER_WORDS,
    MIN_COMPOUND_NUTRIENT,
    NUTRIENT_TOLERANCE,
    PESTICIDE_LICENCE,
)
from marketplace.catalog.models import Product, ProductImage, ProductStatus, ShopLicence
from marketplace.extensions import db
from marketplace.orders import pesticide_ledger
from marketplace.orders.models import Order, OrderLine
from marketplace.spec.model import EVIDENCE, CheckContext, Finding, check, failed, not_applicable, passed

FERTILISER, PESTICIDE, SEED = "agri_inputs.fertiliser", "agri_inputs.pesticide", "agri_inputs.seed"
AGRI_INPUTS = (FERTILISER, PESTICIDE, SEED)

#: PD-1: what the Product Quality Law asks of every label, by the field each type keeps it in.
QUALITY_LAW_FIELDS = {
    FERTILISER: ("manufacturer", "manufacturer_address", "net_content", "production_date", "shelf_life_months"),
    PESTICIDE: ("manufacturer", "manufacturer_address", "net_content", "production_date", "shelf_life_months"),
    SEED: ("producer", "net_content", "production_date"),  # the seed maker's registered place: PD-13
}
#: PD-3: the pesticide label items of the Pesticide Regulations that every pesticide has.
PESTICIDE_LABEL_FIELDS = ("formulation", "active_ingredient", "active_content_pct", "toxicity", "use_scope",
                          "dosage", "precautions", "production_date")
#: PD-3: items that apply to some pesticides only (restricted ones, those used on food crops): defined, not
#: demanded of every listing.
PESTICIDE_CONDITIONAL_FIELDS = ("restricted_use", "pre_harvest_interval_days")
#: PD-4: what the pesticide label measures add.
PESTICIDE_MEASURES_FIELDS = ("registration_no", "quality_standard_no", "production_licence_no", "pesticide_category",
                             "first_aid", "storage_transport", "batch_no", "shelf_life_months", "registrant",
                             "net_content")
#: PD-5: each pesticide category with the colour of its band, and the five toxicity grades.
CATEGORY_BANDS = {"herbicide": "绿", "insecticide": "红", "fungicide": "黑", "plant_growth_regulator": "深黄",
                  "rodenticide": "蓝", "insecticide_fungicide": "红黑"}
TOXICITY_GRADES = {"extremely_toxic": "剧毒", "highly_toxic": "高毒", "moderately_toxic": "中等毒",
                   "low_toxic": "低毒", "slightly_toxic": "微毒"}
#: PD-6: a current registration certificate: PD (field use) or WP (public health) and eight digits.
CURRENT_PESTICIDE_REGISTRATION = r"^(PD|WP)[0-9]{8}$"
#: PD-9: grades kept off online checkout with restricted-use pesticides (all of them are restricted).
OFFLINE_TOXICITY = ("extremely_toxic", "highly_toxic")
#: PD-11: the fertiliser label standard's list.
FERTILISER_LABEL_FIELDS = ("net_content", "manufacturer", "manufacturer_address", "production_date", "batch_no",
                           "executive_standard", "usage", "precautions", "storage")
#: PD-13: the Seed Law's label, always; and the items that apply to some seeds only.
SEED_LABEL_FIELDS = ("seed_class", "variety_name", "approval_no", "suitable_region", "producer", "producer_address",
                     "purity_pct", "cleanliness_pct", "germination_pct", "moisture_pct", "quarantine_cert_no",
                     "producer_licence_no")
SEED_CONDITIONAL_FIELDS = ("pvp_right_no", "import_approval_no", "gmo", "gmo_safety_notice")
#: PD-14: main crops whose varieties must be approved (审定) before sale, as words found in the crop name.
APPROVAL_CROPS = ("稻", "小麦", "玉米", "棉", "大豆")
#: PD-16: what the seed label measures add to PD-13.
SEED_MEASURES_FIELDS = ("crop", "producer_address", "test_date", "warranty_months", "net_content")


# -- reading the listings -------------------------------------------------------------------------------------

def _value(name: str, source=Product.attributes):
    return source[name].as_string()


def _empty(name: str, source=Product.attributes):
    value = _value(name, source)
    return or_(value.is_(None), value == "")


def _on_sale(*type_ids: str):
    return and_(Product.status == ProductStatus.active, Product.product_type.in_(type_ids))


def _count(condition) -> int:
    return db.session.scalar(select(func.count(Product.id)).where(condition)) or 0


def _examples(condition) -> list[Product]:
    return list(db.session.scalars(select(Product).where(condition).order_by(Product.id).limit(EVIDENCE)))


def _type_label(type_id: str) -> str:
    product_type = packs.product_type(type_id)
    return product_type.label() if product_type else type_id


def _field_label(type_id: str, name: str) -> str:
    product_type = packs.product_type(type_id)
    attribute = product_type.attribute(name) if product_type else None
    return attribute.label() if attribute else name


def _kinds(type_ids) -> str:
    return "、".join(_type_label(t) for t in type_ids)


def _nothing_on_sale(type_ids) -> Finding | None:
    if _count(_on_sale(*type_ids)):
        return None
    return not_applicable(_("本租户没有在售的%(kinds)s商品，此项不适用。", kinds=_kinds(type_ids)))


def _undefined(fields: dict[str, tuple[str, ...]]) -> list[str]:
    """Fields a product type of the pack does not define, as "type: field" (a whole missing type counts)."""
    gaps = []
    for type_id, names in fields.items():
        product_type = packs.product_type(type_id)
        if product_type is None:
            gaps.append(type_id)
            continue
        gaps += [f"{product_type.label()}：{name}" for name in names if product_type.attribute(name) is None]
    return gaps


def _label_fields(fields: dict[str, tuple[str, ...]], conditional: dict[str, tuple[str, ...]] | None = None,
                  extra: tuple = ()) -> Finding:
    """The common shape: the types define ``fields`` (and ``conditional``), and no listing on sale of a type
    leaves one of its ``fields`` empty. ``extra`` is (condition, name, test): a listing matching the SQL
    condition fails too, and ``test(attributes)`` says which of the evidence it was, reported as field ``name``."""
    type_ids = tuple(fields)
    if (finding := _nothing_on_sale(type_ids)) is not None:
        return finding
    undefined = _undefined({t: fields[t] + (conditional or {}).get(t, ()) for t in type_ids})
    if undefined:
        return failed(_("商品类型缺少标签必需的字段，商户无处填写：%(fields)s。", fields="、".join(undefined)),
                      evidence=undefined)
    offending, evidence, missing_names = 0, [], []
    for type_id, names in fields.items():
        checks = [(_field_label(type_id, name), _empty(name)) for name in names]
        if extra:
            checks.append((_field_label(type_id, extra[1]), extra[0]))
        # One pass over the type's listings counts, per field, those that leave it empty.
        per_field = db.session.execute(select(*[func.count(Product.id).filter(c) for _label, c in checks])
                                       .where(_on_sale(type_id))).one()
        missing_names += [label for (label, _c), n in zip(checks, per_field, strict=True)
                          if n and label not in missing_names]
        condition = and_(_on_sale(type_id), or_(*[c for _label, c in checks]))
        offending += _count(condition)
        for product in _examples(condition):
            attributes = product.attributes or {}
            missing = [_field_label(type_id, n) for n in names if attributes.get(n) in (None, "")]
            if extra and extra[2](attributes):
                missing.append(_field_label(type_id, extra[1]))
            evidence.append(f"{product.id} {product.title}（{'、'.join(missing)}）")
    on_sale = _count(_on_sale(*type_ids))
    if offending:
        return failed(_("%(n)d 件在售%(kinds)s商品的标签信息不全，缺少：%(fields)s。", n=offending,
                        kinds=_kinds(type_ids), fields="、".join(missing_names) or "—"), evidence=evidence)
    return passed(_("已检查 %(n)d 件在售%(kinds)s商品，标签所需信息齐全。", n=on_sale, kinds=_kinds(type_ids)))


# -- 10.1 every agricultural input -------------------------------------------------------------------------

@check("PD-1")
def quality_law_label(ctx: CheckContext) -> Finding:
    return _label_fields(QUALITY_LAW_FIELDS)


@check("PD-2")
def label_photo(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale(AGRI_INPUTS)) is not None:
        return finding
    has_label = exists().where(ProductImage.product_id == Product.id, ProductImage.alt_zh.contains("标签"))
    condition = and_(_on_sale(*AGRI_INPUTS), not_(has_label))
    offending = _count(condition)
    if offending:
        return failed(_("%(n)d 件在售农资商品没有标签照片（说明含“标签”的图片）。", n=offending),
                      evidence=[f"{p.id} {p.title}" for p in _examples(condition)])
    return passed(_("在售农资商品都附有标签照片。"))


# -- 10.2 pesticides -------------------------------------------------------------------------------------

@check("PD-3")
def pesticide_label(ctx: CheckContext) -> Finding:
    return _label_fields({PESTICIDE: PESTICIDE_LABEL_FIELDS}, {PESTICIDE: PESTICIDE_CONDITIONAL_FIELDS})


@check("PD-4")
def pesticide_label_measures(ctx: CheckContext) -> Finding:
    return _label_fields({PESTICIDE: PESTICIDE_MEASURES_FIELDS})


@check("PD-5")
def pesticide_bands_and_toxicity(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale((PESTICIDE,))) is not None:
        return finding
    pesticide = packs.product_type(PESTICIDE)
    problems = []
    category = pesticide.attribute("pesticide_category")
    offered = {c.value: c.label_zh for c in category.choices} if category else {}
    for value, colour in CATEGORY_BANDS.items():
        if value not in offered or colour not in offered[value]:
            problems.append(_("农药类别 %(value)s 未标明%(colour)s色标志带", value=value, colour=colour))
    toxicity = pesticide.attribute("toxicity")
    grades = {c.value: c.label_zh for c in toxicity.choices} if toxicity else {}
    if grades != TOXICITY_GRADES:
        problems.append(_("毒性分级应为剧毒、高毒、中等毒、低毒、微毒五级"))
    if problems:
        return failed(_("农药商品类型的类别或毒性定义不合规定：%(problems)s。", problems="；".join(problems)),
                      evidence=problems)
    outside = or_(_value("pesticide_category").not_in(list(CATEGORY_BANDS)),
                  _value("toxicity").not_in(list(TOXICITY_GRADES)))
    condition = and_(_on_sale(PESTICIDE), outside)
    offending = _count(condition)
    if offending:
        return failed(_("%(n)d 件在售农药的类别或毒性不在规定的取值之内。", n=offending),
                      evidence=[f"{p.id} {p.title}" for p in _examples(condition)])
    return passed(_("农药类别与颜色标志带、五级毒性的定义相符，在售农药的取值都在其中。"))


@check("PD-6")
def pesticide_registration_number(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale((PESTICIDE,))) is not None:
        return finding
    number = _value("registration_no")
    condition = and_(_on_sale(PESTICIDE), or_(number.is_(None), not_(number.regexp_match(
        CURRENT_PESTICIDE_REGISTRATION))))
    offending = _count(condition)
    if offending:
        return failed(_("%(n)d 件在售农药没有现行的农药登记证号（PD 或 WP 加八位数字）；临时登记等旧证号不能用于在售商品。",
                        n=offending),
                      evidence=[f"{p.id} {(p.attributes or {}).get('registration_no') or '—'}"
                                for p in _examples(condition)])
    return passed(_("在售农药都有现行格式的农药登记证号。"))


@check("PD-7")
def pesticide_permits(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale((PESTICIDE,))) is not None:
        return finding
    today = ctx.now.astimezone(ZoneInfo(ctx.tenant.timezone)).date()
    licensed = exists().where(ShopLicence.shop_id == Product.shop_id, ShopLicence.kind == PESTICIDE_LICENCE.kind,
                              ShopLicence.verified_at.is_not(None),
                              or_(ShopLicence.expires_on.is_(None), ShopLicence.expires_on >= today))
    no_permits = or_(_empty("registration_no"), _empty("production_licence_no"))
    unpermitted, unlicensed = and_(_on_sale(PESTICIDE), no_permits), and_(_on_sale(PESTICIDE), not_(licensed))
    counts = (_count(unpermitted), _count(unlicensed))
    if any(counts):
        evidence = [f"{p.id} {p.title}" for p in _examples(or_(unpermitted, unlicensed))]
        return failed(_("%(permits)d 件在售农药缺少登记证号或生产许可证号；%(licence)d 件所在店铺没有经核验且在有效期内的农药经营许可证。",
                        permits=counts[0], licence=counts[1]), evidence=evidence)
    return passed(_("在售农药都载明登记证号和生产许可证号，所在店铺持有有效的农药经营许可证。"))


@check("PD-8")
def pesticide_sales_ledger(ctx: CheckContext) -> Finding:
    since = ctx.now - timedelta(days=365 * pesticide_ledger.KEEP_YEARS + 1)
    sold = pesticide_ledger.sales(since).subquery()
    lines = db.session.scalar(select(func.count()).select_from(sold)) or 0
    if not lines and (finding := _nothing_on_sale((PESTICIDE,))) is not None:
        return finding
    # Keeping the facts is not enough: the merchant must be able to take the ledger away.
    if pesticide_ledger.EXPORT_ENDPOINT not in current_app.view_functions:
        return failed(_("平台还没有供商户导出农药销售台账的页面。"))
    gaps = or_(OrderLine.title == "", _empty("manufacturer", OrderLine.attributes),
               _empty("net_content", OrderLine.attributes), pesticide_ledger.without_buyer())
    incomplete = pesticide_ledger.sales(since).with_only_columns(Order.number).order_by(None).where(gaps)
    missing = db.session.scalar(select(func.count()).select_from(incomplete.subquery())) or 0
    if missing:
        evidence = db.session.scalars(incomplete.order_by(Order.number).limit(EVIDENCE)).all()
        return failed(_("近两年 %(lines)d 条农药销售记录中有 %(n)d 条缺少台账所需的名称、规格、生产企业或购买人。",
                        lines=lines, n=missing), evidence=evidence)
    if not lines:
        return passed(_("近两年还没有农药销售；每笔订单行都会保存台账所需的名称、规格、数量、生产企业、购买人和日期。"))
    return passed(_("近两年 %(lines)d 条农药销售记录都有名称、规格、数量、生产企业、购买人和日期，可导出销售台账。",
                    lines=lines))


@check("PD-9")
def restricted_pesticides_offline(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale((PESTICIDE,))) is not None:
        return finding
    restricted = Product.attributes["restricted_use"].as_boolean()
    condition = and_(_on_sale(PESTICIDE), or_(and_(restricted.is_not(None), restricted == true()),
                                               _value("toxicity").in_(OFFLINE_TOXICITY)))
    offending = _count(condition)
    if offending:
        return failed(_("%(n)d 件限制使用或剧毒、高毒农药正在线销售。", n=offending),
                      evidence=[f"{p.id} {p.title}" for p in _examples(condition)])
    return passed(_("没有限制使用或剧毒、高毒农药在线销售。"))


# -- 10.3 fertilisers -----------------------------------------------------------------------------------

def _percent(name: str):
    return cast(_value(name), Numeric(6, 2))


@check("PD-10")
def fertiliser_content_rules(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale((FERTILISER,))) is not None:
        return finding
    nutrients = ("n_pct", "p2o5_pct", "k2o_pct")
    any_nutrient = or_(*[_value(n).is_not(None) for n in nutrients])
    total_of_parts = sum((func.coalesce(_percent(n), 0) for n in nutrients), start=0)
    wrong_total = and_(_value("total_nutrient_pct").is_not(None), any_nutrient,
                       # rounded: SQLite computes in floating point, where 45.1 - 45 is a little over 0.1
                       func.round(func.abs(_percent("total_nutrient_pct") - total_of_parts), 4) > NUTRIENT_TOLERANCE)
    low_compound = and_(_value("fertiliser_kind") == "compound",
                        or_(*[and_(_percent(n) > 0, _percent(n) < MIN_COMPOUND_NUTRIENT) for n in nutrients]))
    exaggerated = or_(*[Product.title.contains(word) for word in FORBIDDEN_FERTILISER_WORDS])
    condition = and_(_on_sale(FERTILISER), or_(wrong_total, low_compound, exaggerated))
    offending = _count(condition)
    if offending:
        return failed(_("%(n)d 件在售肥料的名称含夸大用语、总养分与各养分之和不符，或复合肥单一养分低于 4.0%%。",
                        n=offending), evidence=[f"{p.id} {p.title}" for p in _examples(condition)])
    return passed(_("在售肥料的名称、总养分和单一养分含量符合标签标准。"))


@check("PD-11")
def fertiliser_label(ctx: CheckContext) -> Finding:
    return _label_fields({FERTILISER: FERTILISER_LABEL_FIELDS})


@check("PD-12")
def fertiliser_registration_number(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale((FERTILISER,))) is not None:
        return finding
    attribute = packs.product_type(FERTILISER).attribute("registration_no")
    if attribute is None or not attribute.pattern:
        return failed(_("肥料商品类型没有校验格式的肥料登记证号字段。"))
    number = _value("registration_no")
    condition = and_(_on_sale(FERTILISER), number.is_not(None), number != "",
                     not_(number.regexp_match(f"^({attribute.pattern})$")))
    offending = _count(condition)
    if offending:
        return failed(_("%(n)d 件在售肥料的登记证号格式不对（应如“农肥（2023）准字1234号”）。", n=offending),
                      evidence=[f"{p.id} {(p.attributes or {}).get('registration_no')}" for p in _examples(condition)])
    return passed(_("在售肥料填写的登记证号格式都正确。"))


# -- 10.4 seeds -----------------------------------------------------------------------------------------

@check("PD-13")
def seed_label(ctx: CheckContext) -> Finding:
    gmo = Product.attributes["gmo"].as_boolean()
    unmarked_gmo = and_(gmo.is_not(None), gmo == true(), _empty("gmo_safety_notice"))
    return _label_fields({SEED: SEED_LABEL_FIELDS}, {SEED: SEED_CONDITIONAL_FIELDS},
                         extra=(unmarked_gmo, "gmo_safety_notice",
                                lambda values: values.get("gmo") is True and not values.get("gmo_safety_notice")))


@check("PD-14")
def seed_variety_approved(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale((SEED,))) is not None:
        return finding
    main_crop = or_(*[_value("crop").contains(word) for word in APPROVAL_CROPS])
    approval = _value("approval_no")
    condition = and_(_on_sale(SEED), main_crop, or_(approval.is_(None), not_(approval.contains("审"))))
    offending = _count(condition)
    if offending:
        return failed(_("%(n)d 件在售主要农作物种子没有品种审定编号。", n=offending),
                      evidence=[f"{p.id} {(p.attributes or {}).get('approval_no') or '—'}"
                                for p in _examples(condition)])
    return passed(_("在售的稻、小麦、玉米、棉花、大豆种子都有品种审定编号。"))


@check("PD-15")
def seed_variety_one_name(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale((SEED,))) is not None:
        return finding
    approval, variety = _value("approval_no"), _value("variety_name")
    renamed = db.session.scalars(
        select(approval).where(_on_sale(SEED), approval.is_not(None)).group_by(approval)
        .having(func.count(func.distinct(variety)) > 1).order_by(approval).limit(EVIDENCE)).all()
    misnamed = and_(_on_sale(SEED), variety.is_not(None), not_(Product.title.contains(variety)))
    offending = _count(misnamed)
    if renamed or offending:
        evidence = [str(number) for number in renamed] + [f"{p.id} {p.title}" for p in _examples(misnamed)]
        return failed(_("%(renamed)d 个审定（登记）编号下的品种名称不一致；%(n)d 件在售种子的商品名称未使用标注的品种名称。",
                        renamed=len(renamed), n=offending), evidence=evidence)
    return passed(_("在售种子同一编号使用同一品种名称，商品名称与品种名称一致。"))


@check("PD-16")
def seed_label_measures(ctx: CheckContext) -> Finding:
    return _label_fields({SEED: SEED_MEASURES_FIELDS})


@check("PD-17")
def seed_sales_traceable(ctx: CheckContext) -> Finding:
    if (finding := _nothing_on_sale((SEED,))) is not None:
        return finding
    unbatched = and_(_on_sale(SEED), _empty("batch_no"))
    listings = _count(unbatched)
    seed_line = _value("variety_name", OrderLine.attributes).is_not(None)
    untraced = (select(Order.number).join(OrderLine, OrderLine.order_id == Order.id)
                .where(seed_line, Order.status.not_in(pesticide_ledger.NOT_SOLD),
                       _empty("batch_no", OrderLine.attributes)))
    lines = db.session.scalar(select(func.count()).select_from(untraced.subquery())) or 0
    if listings or lines:
        evidence = [f"{p.id} {p.title}" for p in _examples(unbatched)]
        evidence += db.session.scalars(untraced.order_by(Order.number).limit(EVIDENCE)).all()
        return failed(_("%(listings)d 件在售种子未标产品批号，%(lines)d 条种子订单记录缺少批号，无法追溯到批次。",
                        listings=listings, lines=lines), evidence=evidence)
    return passed(_("在售种子都标有产品批号，种子订单记录保留批号、购买人和日期。"))
