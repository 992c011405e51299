"""身份认证 (IA): merchants are identified, verified, re-verified and licensed before they sell.

Each check reads the current tenant's shops (the tenant guard filters them) and the platform-wide merchant,
approval and application rows behind them. The merchants of one tenant are a few hundred at most, so the checks
that must run a validator over stored identifiers loop over that set, never over a platform-wide table.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from marketplace.accounts import divisions
from marketplace.accounts.addresses import Address, AddressError, AddressInput, validate
from marketplace.accounts.closure import AccountClosure
from marketplace.accounts.models import User
from marketplace.accounts.services import normalise_mobile
from marketplace.catalog import packs
from marketplace.catalog.models import Product, ProductStatus, ShopLicence
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from marketplace.shops import services as shops
from marketplace.shops.models import Merchant, MerchantKind, Shop, ShopStatus
from marketplace.spec.model import EVIDENCE, CheckContext, Finding, check, failed, not_applicable, passed
from marketplace.spec.probes import has_route
from marketplace.tenancy.context import all_tenants, current_tenant_id
from marketplace.trust.onboarding import (
    ApplicationStatus,
    OnboardingApplication,
    OnboardingError,
    approved_applications,
    decrypt_resident_id,
)
from marketplace.trust.reviews import Review
from marketplace.trust.verification import ApprovalStatus, MerchantApproval

REGISTERED_KINDS = (MerchantKind.enterprise.value, MerchantKind.individual_business.value)
#: OTSM Art. 8(3): a person's occasional small trade stays exempt up to ¥100,000 a year (in fen).
SMALL_TRADE_LIMIT = 100_000 * 100
SMALL_TRADE_PERIOD = timedelta(days=365)
#: OTSM Art. 26: the platform verifies a reported change within 7 working days.
CHANGE_VERIFY_WORKING_DAYS = 7
MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")


# -- shared with the other trust parts (eb, ce, ch) -----------------------------------------------------------------

def trading_merchants(*conditions) -> list[Merchant]:
    """The merchants with an active shop in the current tenant (one legal entity each), filtered further."""
    active = select(Shop.merchant_id).where(Shop.tenant_id == current_tenant_id(), Shop.status == ShopStatus.active)
    return list(db.session.scalars(select(Merchant).where(Merchant.id.in_(active), *conditions)
                                   .order_by(Merchant.id)))


def current_applications_of(merchant_ids: list[int]) -> dict[int, OnboardingApplication]:
    """Merchant id → its current application, in whichever tenant it was filed (a merchant is platform-wide)."""
    if not merchant_ids:
        return {}
    with all_tenants():
        return {application.merchant_id: application for application in db.session.scalars(
            select(OnboardingApplication).where(OnboardingApplication.merchant_id.in_(merchant_ids),
                                                OnboardingApplication.is_current.is_(True)))}


def is_registered(merchant: Merchant) -> bool:
    """Registered with the market regulator: an enterprise or an individual business, or a natural person who gave
    a licence number anyway."""
    return merchant.kind in REGISTERED_KINDS or bool(merchant.registration_number)


def tenant_today(ctx: CheckContext) -> date:
    return ctx.now.astimezone(ZoneInfo(ctx.tenant.timezone)).date()


def working_days_before(moment: datetime, days: int) -> datetime:
    """The moment ``days`` working days (Monday to Friday; public holidays are not known) before ``moment``."""
    while days > 0:
        moment -= timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def gated_types() -> dict[str, list[str]]:
    """Licence kind → the product types that need it (pesticides, seeds…), from the installed catalog packs."""
    kinds: dict[str, list[str]] = {}
    for product_type in packs.all_product_types():
        if product_type.licence is not None:
            kinds.setdefault(product_type.licence.kind, []).append(product_type.id)
    return kinds


def licensed_goods_on_sale(ctx: CheckContext, licence_ok) -> list[str]:
    """"shop-slug: licence kind" for shops with goods on sale that need a licence kind for which the shop holds no
    ``ShopLicence`` meeting ``licence_ok`` (a SQL condition on the licence)."""
    offending = []
    for kind, types in gated_types().items():
        good_licence = select(ShopLicence.shop_id).where(ShopLicence.kind == kind, licence_ok)
        rows = db.session.execute(
            select(Shop.slug, func.count(Product.id)).join(Product, Product.shop_id == Shop.id)
            .where(Product.status == ProductStatus.active, Product.product_type.in_(types),
                   Shop.id.not_in(good_licence))
            .group_by(Shop.slug).order_by(Shop.slug).limit(EVIDENCE)).all()
        offending += [f"{slug}: {kind} ({count})" for slug, count in rows]
    return offending


def valid_licence(today: date):
    return and_(ShopLicence.verified_at.is_not(None),
                or_(ShopLicence.expires_on.is_(None), ShopLicence.expires_on >= today))


def _unapproved_shops_selling() -> list[str]:
    ever_approved = select(MerchantApproval.merchant_id).where(
        MerchantApproval.status.in_((ApprovalStatus.approved, ApprovalStatus.expired)))
    rows = db.session.execute(
        select(Shop.slug, func.count(Product.id)).join(Product, Product.shop_id == Shop.id)
        .where(Product.status == ProductStatus.active, Shop.merchant_id.not_in(ever_approved))
        .group_by(Shop.slug).order_by(Shop.slug).limit(EVIDENCE)).all()
    return [f"{slug} ({count})" for slug, count in rows]


# -- the checks ---------------------------------------------------------------------------------------------------

@check("IA-1")
def no_sales_before_approval(ctx: CheckContext) -> Finding:
    offending = _unapproved_shops_selling()
    if offending:
        return failed(_("有店铺的经营者从未通过平台审核，却有商品在售（店铺及在售商品数）。"), offending)
    return passed(_("所有在售商品的店铺，其经营者都已通过平台核验审核。"))


@check("IA-2")
def reverified_every_six_months(ctx: CheckContext) -> Finding:
    merchants = trading_merchants()
    approvals = {a.merchant_id: a for a in db.session.scalars(
        select(MerchantApproval).where(MerchantApproval.merchant_id.in_([m.id for m in merchants])))}
    lapsed = [m.legal_name or str(m.id) for m in merchants
              if (a := approvals.get(m.id)) is None or a.status != ApprovalStatus.approved
              or a.valid_until is None or a.valid_until <= ctx.now]
    if lapsed:
        return failed(_("%(n)d 个在营经营者六个月内未经平台核验（从未审核、被驳回或审核已过期）。", n=len(lapsed)), lapsed)
    return passed(_("%(n)d 个在营经营者的审核都在六个月有效期内。", n=len(merchants)))


@check("IA-3")
def identity_is_name_and_number(ctx: CheckContext) -> Finding:
    merchants = trading_merchants()
    applications = approved_applications([m.id for m in merchants if not is_registered(m)])
    missing = []
    for merchant in merchants:
        if not (merchant.legal_name or "").strip():
            missing.append(f"#{merchant.id}: " + _("缺名称"))
        elif merchant.kind in REGISTERED_KINDS and not merchant.registration_number:
            missing.append(f"{merchant.legal_name}: " + _("缺统一社会信用代码"))
        elif not is_registered(merchant) and not getattr(applications.get(merchant.id), "resident_id_token", ""):
            missing.append(f"{merchant.legal_name}: " + _("缺身份证件号码"))
    if missing:
        return failed(_("%(n)d 个在营经营者的身份信息不全（已登记者须有名称和统一社会信用代码，自然人须有姓名和身份证件号码）。",
                        n=len(missing)), missing)
    return passed(_("%(n)d 个在营经营者都有名称及统一社会信用代码或身份证件号码。", n=len(merchants)))


#: GB 32100 vectors: two real codes, the r = 0 edge, and two codes with a wrong check character.
USCC_GOOD = ("91110108551385082Q", "91110000600037341L", "91410100MA000020X0")
USCC_BAD = ("91110108551385082A", "A1110000600037341L", "91110108551385082")


@check("IA-4")
def credit_codes_follow_gb32100(ctx: CheckContext) -> Finding:
    validator_wrong = [code for code in USCC_GOOD if shops.uscc_problem(code)]
    validator_wrong += [code for code in USCC_BAD if not shops.uscc_problem(code)]
    if validator_wrong:
        return failed(_("统一社会信用代码校验程序对标准样例判断有误。"), validator_wrong)
    bad = [f"{m.legal_name}: {m.registration_number}"
           for m in trading_merchants(func.length(Merchant.registration_number) == 18)
           if shops.uscc_problem(m.registration_number)]
    if bad:
        return failed(_("有在营经营者的统一社会信用代码不符合 GB 32100 校验规则。"), bad)
    return passed(_("校验程序正确判断标准样例；在营经营者的 18 位代码全部通过 GB 32100 校验。"))


RESIDENT_ID_GOOD = ("11010519491231002X", "440524188001010014")
#: A wrong check digit, and 30 February.
RESIDENT_ID_BAD = ("230307196304054513", "110105194902300021")


@check("IA-5")
def resident_ids_follow_gb11643(ctx: CheckContext) -> Finding:
    validator_wrong = [n for n in RESIDENT_ID_GOOD if shops.resident_id_problem(n)]
    validator_wrong += [n for n in RESIDENT_ID_BAD if not shops.resident_id_problem(n)]
    if validator_wrong:
        return failed(_("身份证号码校验程序对标准样例判断有误。"), validator_wrong)
    # The numbers on file are stored encrypted: only this tenant's natural-person applications are opened.
    bad = []
    for application in db.session.scalars(select(OnboardingApplication).where(
            OnboardingApplication.is_current.is_(True), OnboardingApplication.resident_id_token != "")):
        try:
            problem = shops.resident_id_problem(decrypt_resident_id(application.resident_id_token))
        except OnboardingError:
            problem = _("无法解密")
        if problem:
            bad.append(f"{application.legal_name} ({application.resident_id_masked}): {problem}")
    if bad:
        return failed(_("有经营者申请中的身份证号码不符合 GB 11643。"), bad)
    return passed(_("校验程序正确判断标准样例；本租户申请中的身份证号码全部通过校验。"))


@check("IA-6")
def small_trade_limit_watched(ctx: CheckContext) -> Finding:
    unregistered = [m for m in trading_merchants(Merchant.kind == MerchantKind.natural_person)
                    if not m.registration_number]
    if not unregistered:
        return not_applicable(_("本租户没有未登记的自然人经营者。"))
    since = ctx.now - SMALL_TRADE_PERIOD
    paid = select(OrderEvent.order_id).where(OrderEvent.to_status == OrderStatus.paid, OrderEvent.at >= since,
                                             OrderEvent.at <= ctx.now)
    with all_tenants():  # the limit counts every shop of the person, in every street and market
        totals = dict(db.session.execute(
            select(Shop.merchant_id, func.coalesce(func.sum(Order.total - Order.refunded), 0))
            .join(Order, Order.shop_id == Shop.id)
            .where(Shop.merchant_id.in_([m.id for m in unregistered]), Order.id.in_(paid))
            .group_by(Shop.merchant_id)).all())
    over = [f"{m.legal_name}: ¥{totals[m.id] / 100:,.2f}" for m in unregistered if totals.get(m.id, 0) > SMALL_TRADE_LIMIT]
    if over:
        return failed(_("有未登记的自然人经营者近一年（各店合计）交易额超过 10 万元，须提醒其办理市场主体登记。"), over)
    return passed(_("%(n)d 个未登记的自然人经营者近一年交易额（各店合计）都未超过 10 万元。", n=len(unregistered)))


@check("IA-7")
def changes_verified_within_seven_working_days(ctx: CheckContext) -> Finding:
    cutoff = working_days_before(ctx.now, CHANGE_VERIFY_WORKING_DAYS)
    late = db.session.execute(
        select(OnboardingApplication.legal_name, OnboardingApplication.submitted_at)
        .where(OnboardingApplication.status == ApplicationStatus.submitted,
               OnboardingApplication.submitted_at < cutoff)
        .order_by(OnboardingApplication.submitted_at).limit(EVIDENCE)).all()
    if late:
        return failed(_("有经营者提交的认证或变更申请超过 7 个工作日仍未核验。"),
                      [f"{name}: {at:%Y-%m-%d}" for name, at in late])
    return passed(_("没有等待超过 7 个工作日的经营者申请。"))


@check("IA-8")
def identity_report_facts_on_file(ctx: CheckContext) -> Finding:
    merchants = trading_merchants()
    # What the platform last verified counts: a re-verification waiting for the operator does not undo it.
    applications = approved_applications([m.id for m in merchants])
    incomplete = []
    for merchant in merchants:
        application = applications.get(merchant.id)
        gaps = []
        if application is None or application.status != ApplicationStatus.approved:
            gaps.append(_("无已通过的认证申请"))
        else:
            if not application.business_address:
                gaps.append(_("经营地址"))
            if not is_registered(merchant) and not application.resident_id_token:
                gaps.append(_("身份证件号码"))
        if is_registered(merchant) and not merchant.registration_number:
            gaps.append(_("统一社会信用代码"))
        if not merchant.contact_phone:
            gaps.append(_("联系电话"))
        if gaps:
            incomplete.append(f"{merchant.legal_name}: {'、'.join(gaps)}")
    if incomplete:
        return failed(_("%(n)d 个在营经营者缺少半年报送所需的身份信息。", n=len(incomplete)), incomplete)
    return passed(_("%(n)d 个在营经营者的报送信息（名称、代码或证件号、经营地址、联系方式）齐全。", n=len(merchants)))


@check("IA-9")
def licensed_goods_need_a_licence(ctx: CheckContext) -> Finding:
    offending = licensed_goods_on_sale(ctx, valid_licence(tenant_today(ctx)))
    if offending:
        return failed(_("有店铺在售须许可的商品，却没有经核验且未过期的相应许可证（店铺：许可证类型（在售数））。"), offending)
    return passed(_("在售的须许可商品，其店铺都持有经核验、未过期的许可证。"))


@check("IA-10")
def licences_reviewed_by_a_person(ctx: CheckContext) -> Finding:
    offending = licensed_goods_on_sale(ctx, ShopLicence.verified_by_id.is_not(None))
    if offending:
        return failed(_("有在售的须许可商品，其许可证没有记录由哪位运营人员审核。"), offending)
    return passed(_("在售的须许可商品，其许可证都记录了审核人。"))


@check("IA-11")
def publishers_identified(ctx: CheckContext) -> Finding:
    sellers = _unapproved_shops_selling()
    if sellers:
        return failed(_("有未通过身份核验的经营者在发布商品。"), sellers)
    # Closing an account empties its mobile: a review its author wrote before closing was published by an
    # identified account, so only reviews of accounts that are still open are judged by their mobile today.
    closed_before_writing = (select(AccountClosure.id)
                             .where(AccountClosure.user_id == Review.buyer_id,
                                    AccountClosure.closed_at >= Review.created_at).exists())
    anonymous = db.session.execute(
        select(Review.id, Review.buyer_id).join(User, User.id == Review.buyer_id)
        .where(or_(User.mobile.is_(None), User.mobile == ""), ~closed_before_writing)
        .order_by(Review.id).limit(EVIDENCE)).all()
    if anonymous:
        return failed(_("有评价的发布者账号没有登记手机号码（未提供真实身份信息）。"),
                      [f"review {rid} (user {uid})" for rid, uid in anonymous])
    return passed(_("发布商品的经营者都已核验身份，发表评价的账号都登记了手机号码。"))


@check("IA-12")
def id_numbers_only_with_consent(ctx: CheckContext) -> Finding:
    offending = db.session.execute(
        select(OnboardingApplication.id, OnboardingApplication.legal_name)
        .where(OnboardingApplication.resident_id_token != "", OnboardingApplication.resident_id_consent_at.is_(None))
        .order_by(OnboardingApplication.id).limit(EVIDENCE)).all()
    if offending:
        return failed(_("有申请保存了身份证号码，却没有记录单独同意。"), [f"#{i} {name}" for i, name in offending])
    count = db.session.scalar(select(func.count(OnboardingApplication.id))
                              .where(OnboardingApplication.resident_id_token != ""))
    return passed(_("本租户 %(n)d 份含身份证号码的申请都记录了单独同意。", n=count))


@check("IA-13")
def premises_document_offered(ctx: CheckContext) -> Finding:
    from marketplace.trust.premises import issuer_problem

    if not has_route("premises", "business_premises"):
        return failed(_("平台还不能为经营者出具网络经营场所相关材料（没有相应页面）。"))
    problem = issuer_problem(ctx.tenant)
    if problem:
        return failed(_("本租户没有登记可以署名出具网络经营场所证明的运营机构。"), [problem])
    return passed(_("经营者可在商户后台打印网络经营场所证明，由运营机构 %(issuer)s 署名并经平台签名。",
                    issuer=ctx.tenant.operator_name))


MOBILE_GOOD = ("13800138000", "+86 139 0371 0107")
MOBILE_BAD = ("12345678901", "1380013800")


@check("IA-14")
def phones_well_formed(ctx: CheckContext) -> Finding:
    validator_wrong = [n for n in MOBILE_GOOD if normalise_mobile(n) is None]
    validator_wrong += [n for n in MOBILE_BAD if normalise_mobile(n) is not None]
    if validator_wrong:
        return failed(_("手机号码校验程序对样例判断有误。"), validator_wrong)
    bad = [f"{m.legal_name}: {m.contact_phone or '—'}" for m in trading_merchants()
           if not (MOBILE.fullmatch(m.contact_phone or "") or LANDLINE.fullmatch(m.contact_phone or ""))]
    if bad:
        return failed(_("有在营经营者的联系电话缺失或格式不对（须为 11 位手机号或带区号的固定电话）。"), bad)
    return passed(_("在营经营者的联系电话格式都正确；平台尚未用短信验证码确认号码持有。"))


#: A real address in 郑州市二七区, for the validator's answers about postal codes and region codes.
_SAMPLE = dict(recipient="张三", mobile="13800138000", province_code="410000", city_code="410100",
               district_code="410103", street="德化街 1 号")


def _address_problems(**changes) -> dict[str, str]:
    try:
        validate(AddressInput(**{**_SAMPLE, **changes}))
    except AddressError as error:
        return error.problems
    return {}


def _tenant_buyers():
    """Addresses belong to accounts, not tenants: the ones that matter here are those of the tenant's buyers."""
    return select(Order.buyer_id).where(Order.tenant_id == current_tenant_id())


@check("IA-15")
def postal_codes_six_digits(ctx: CheckContext) -> Finding:
    wrong = [code for code in ("45000", "45000A", "4500001") if "postcode" not in _address_problems(postcode=code)]
    if "postcode" in _address_problems(postcode="450000"):
        wrong.append("450000")
    if wrong:
        return failed(_("地址簿对邮政编码的判断有误。"), wrong)
    bad = db.session.execute(
        select(Address.id, Address.postcode).where(Address.user_id.in_(_tenant_buyers()),
                                                   Address.postcode.is_not(None), Address.postcode != "")
    ).all()
    bad = [f"address {i}: {code}" for i, code in bad if not re.fullmatch(r"\d{6}", code)]
    if bad:
        return failed(_("有本租户买家的地址邮政编码不是 6 位数字。"), bad)
    return passed(_("地址簿只接受 6 位数字的邮政编码，本租户买家的地址都符合。"))


@check("IA-16")
def region_codes_from_the_table(ctx: CheckContext) -> Finding:
    known = {"410000": "河南省", "410100": "郑州市"}
    wrong = [code for code, name in known.items() if getattr(divisions.get(code), "name", None) != name]
    if "province_code" not in _address_problems(province_code="419900", city_code="419901", district_code=""):
        wrong.append("419900")
    if wrong:
        return failed(_("行政区划代码表或地址校验有误（已知代码查不到，或格式正确但不存在的代码被接受）。"), wrong)
    codes = set()
    for column in (Address.province_code, Address.city_code, Address.district_code):
        codes |= set(db.session.scalars(select(column).distinct().where(Address.user_id.in_(_tenant_buyers()),
                                                                         column.is_not(None))))
    unknown = sorted(code for code in codes if divisions.get(code) is None)
    if unknown:
        return failed(_("有本租户买家的地址使用了 GB/T 2260 代码表中没有的行政区划代码。"), unknown)
    return passed(_("行政区划代码按 GB/T 2260 代码表校验，本租户买家地址中的代码都在表中。"))
