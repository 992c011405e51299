"""What verification means for selling: the merchant's reminders, lapsed category licences, the shop's 亮照.

* **Publishing** is gated in one place, ``catalog.services.publish_product``: a shop whose merchant holds no
  valid platform approval cannot put a product on sale (code ``merchant_not_approved``); drafts stay possible.
* **An expired approval** (six months, OTSM Art. 24(1)) asks for re-verification: products already on sale stay
  on sale, but nothing new is published until the merchant is approved again. From ``REMIND_BEFORE`` ahead of
  the expiry the shop's console page says so (``approval_notice``).
* **A lapsed category licence** (``lapse_licences``, run daily by ``flask trust licences``): the shop's products
  that need the licence go offline, and the merchant is told why, once, by mail and SMS; the product's page in the
  merchant console says why too (``licence_notes``), for as long as the licence stays expired.
* **亮照** (E-Commerce Law Art. 15): ``licence_notice`` is what the shop's public licence page shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.catalog import packs
from marketplace.catalog.admin import licence_label, tenant_today
from marketplace.catalog.models import Product, ProductStatus, ShopLicence
from marketplace.catalog.services import unpublish_gated_products
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.shops.models import Merchant, MerchantKind, Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.trust import verification
from marketplace.trust.verification import ApprovalStatus

#: How long before an approval expires the merchant's console starts asking for re-verification.
REMIND_BEFORE = timedelta(days=30)


def _local_date(moment: datetime, tenant: Tenant) -> date:
    return moment.astimezone(ZoneInfo(tenant.timezone)).date()


# -- the merchant's reminder ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApprovalNotice:
    """What the shop's console page tells the merchant about its approval (None when nothing needs saying)."""

    status: ApprovalStatus
    #: The last moment of the approval, when there is one.
    valid_until: datetime | None
    #: The date it runs out, on the tenant's calendar.
    until_date: date | None
    #: Whole days left (at least 1) while an approval is about to expire; None otherwise.
    days_left: int | None

    @property
    def can_publish(self) -> bool:
        return self.status == ApprovalStatus.approved

    @property
    def message(self) -> str:
        if self.status == ApprovalStatus.approved:
            return _("商户资质审核将于%(date)s到期（还有 %(n)d 天），请及时重新提交审核；到期后不能上架新商品，已在售的商品不受影响。",
                     date=self.until_date.isoformat(), n=self.days_left)
        if self.status == ApprovalStatus.expired:
            return _("商户资质审核已于%(date)s到期，请重新提交审核；通过前不能上架新商品，已在售的商品不受影响。",
                     date=self.until_date.isoformat())
        if self.status == ApprovalStatus.rejected:
            return _("商户资质审核未通过，不能上架商品；可以先保存为草稿，修改资料后重新提交审核。")
        return _("商户资质尚未通过平台审核，审核通过后才能上架商品；可以先保存为草稿。")


def approval_notice(shop: Shop, now: datetime | None = None) -> ApprovalNotice | None:
    """The reminder for ``shop``'s console page: not yet approved, rejected, expired, or expiring within
    ``REMIND_BEFORE``; None while the approval holds for longer."""
    now = now or utcnow()
    approval = verification.approval_for(shop.merchant)
    status = verification.effective_status(approval, now)
    valid_until = approval.valid_until if approval is not None else None
    until_date = _local_date(valid_until, shop.tenant) if valid_until is not None else None
    if status == ApprovalStatus.approved:
        left = valid_until - now
        if left > REMIND_BEFORE:
            return None
        return ApprovalNotice(status, valid_until, until_date, max(1, math.ceil(left / timedelta(days=1))))
    return ApprovalNotice(status, valid_until, until_date, None)


# -- lapsed category licences -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LapsedLicence:
    """One licence found expired by the daily run, and the products that went offline because of it."""

    tenant_slug: str
    shop_slug: str
    kind: str
    expired_on: date
    products: list[str]


def _gated_types(kind: str) -> list[str]:
    return [t.id for t in packs.all_product_types() if t.licence is not None and t.licence.kind == kind]


def lapse_licences(today: date | None = None) -> list[LapsedLicence]:
    """The daily check, across every tenant: a shop whose category licence ran out (``expires_on`` before today
    on the tenant's calendar, or ``today`` when given) loses the products on sale that need it, and its merchant
    hears why by mail and SMS, once the caller commits.

    Idempotent: a licence whose products are already offline is passed over, so nobody is told twice; a
    licence renewed and then let lapse again takes its products offline (and tells) again. Flushes.
    """
    with all_tenants():  # a platform-wide job: it lists the licences of every tenant, then works inside each one
        rows = db.session.execute(
            select(ShopLicence.id, ShopLicence.expires_on, Tenant)
            .join(Tenant, Tenant.id == ShopLicence.tenant_id)
            .where(ShopLicence.expires_on.is_not(None))
            .order_by(Tenant.id, ShopLicence.id)).all()
    lapsed: list[LapsedLicence] = []
    for licence_id, expires_on, tenant in rows:
        if expires_on >= (today or tenant_today(tenant)):
            continue
        with tenant_scope(tenant):
            licence = db.session.scalar(select(ShopLicence).where(ShopLicence.id == licence_id))
            shop = db.session.scalar(select(Shop).where(Shop.id == licence.shop_id))
            gated = _gated_types(licence.kind)
            titles = list(db.session.scalars(
                select(Product.title).where(Product.shop_id == shop.id, Product.product_type.in_(gated),
                                            Product.status == ProductStatus.active).order_by(Product.id)))
            if not titles:
                continue
            unpublish_gated_products(shop, licence.kind)
            _tell_merchant(tenant, shop, licence, titles)
            lapsed.append(LapsedLicence(tenant.slug, shop.slug, licence.kind, expires_on, titles))
    db.session.flush()
    return lapsed


def _tell_merchant(tenant: Tenant, shop: Shop, licence: ShopLicence, titles: list[str]) -> None:
    # The order notices' addresses, languages and after-commit sending (a rollback sends nothing).
    from marketplace.orders import notifications as n

    merchant = n._merchant(shop)
    with force_locale(merchant.locale):
        label = licence_label(licence.kind)
        text = _("%(shop)s的%(licence)s（编号%(number)s）有效期至%(date)s，已过期，需要它的 %(n)d 件商品已下架。"
                 "请在商家后台更新许可证，经运营方核验后可重新上架。", shop=shop.name(merchant.locale), licence=label,
                 number=licence.number, date=licence.expires_on.isoformat(), n=len(titles))
        body = text + "\n\n" + "\n".join(titles)
        n._to(merchant, _("商品已下架：%(licence)s已过期", licence=label), body, text, n._signature(tenant),
              key=("licence-lapsed", licence.id, licence.expires_on))


def licence_notes(shop: Shop, today: date | None = None) -> dict[str, str]:
    """For the merchant console: product type id → why its products are offline, for each expired licence the
    shop holds. Shown on the product list and page for as long as the licence stays expired."""
    today = today or tenant_today(shop.tenant)
    notes = {}
    licences = db.session.scalars(select(ShopLicence).where(ShopLicence.shop_id == shop.id,
                                                            ShopLicence.expires_on < today))
    for licence in licences:
        note = _("本店的%(licence)s有效期至%(date)s，已过期，需要它的商品已下架。请在“经营许可证”中更新，经运营方核验后可重新上架。",
                 licence=licence_label(licence.kind), date=licence.expires_on.isoformat())
        for type_id in _gated_types(licence.kind):
            notes[type_id] = note
    return notes


# -- 亮照 ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LicenceNotice:
    """What the law asks a shop to show about its operator (E-Commerce Law Art. 15)."""

    merchant: Merchant
    kind_label: str
    #: The merchant's registered business address, when the onboarding application recorded one ("" if not).
    address: str
    approved: bool
    approved_until: date | None
    #: Verified category licences still valid: (label, number, expires_on or None).
    licences: list[tuple[str, str, date | None]]
    #: The merchant's approved application (None before one): what the page shows by entity kind.
    application: object | None = None

    @property
    def exempt(self) -> bool:
        """A natural person selling under the registration exemption (ECL Art. 10) has no business licence."""
        return self.merchant.kind == MerchantKind.natural_person and not self.merchant.registration_number


def approved_application(merchant: Merchant):
    """The merchant's most recently approved application (what the platform last verified), else None."""
    from marketplace.trust.onboarding import approved_applications

    return approved_applications([merchant.id]).get(merchant.id)


def approved_business_address(merchant: Merchant) -> str:
    """The business address of the merchant's current application once the operator approved it, else ""."""
    application = approved_application(merchant)
    return (application.business_address or "").strip() if application is not None else ""


def licence_notice(shop: Shop, now: datetime | None = None) -> LicenceNotice:
    """The 亮照 facts of ``shop`` (of the current tenant): its operator's legal name, registration number,
    business address if known, platform approval, and its verified, unexpired category licences (the page adds
    the shop's own place in the market or street)."""
    now = now or utcnow()
    merchant = shop.merchant
    approval = verification.approval_for(merchant)
    approved = verification.effective_status(approval, now) == ApprovalStatus.approved
    today = tenant_today(shop.tenant)
    licences = [(licence_label(licence.kind), licence.number, licence.expires_on) for licence in db.session.scalars(
        select(ShopLicence).where(ShopLicence.shop_id == shop.id).order_by(ShopLicence.kind)) if licence.is_valid(today)]
    # The facts the platform verified are those of the merchant's approved application (Merchant has no address).
    application = approved_application(merchant)
    address = (application.business_address or "").strip() if application is not None else ""
    return LicenceNotice(merchant, str(MerchantKind(merchant.kind).label), address, approved,
                         _local_date(approval.valid_until, shop.tenant) if approved else None, licences, application)
