"""Shop applications (入驻申请): a resident asks to open a shop in a street or market; its operator decides.

* A signed-in resident applies at ``/t/<tenant>/join`` while the tenant is live, and also while it is still being
  set up (draft): that is when the stall-holders of a new market sign up. One open (``submitted``) application per
  person per tenant; the shop address (slug) asked for must be free among the tenant's shops and its other open
  applications. Both rules for open applications are also unique indexes, so two requests at once cannot break them.
* Approving creates, in the caller's transaction: the merchant (the applicant's own, when the applicant already
  owns a shop of a merchant with the same registration number; else a new one), the shop (active, not yet placed
  on the map) and the applicant's owner role; it marks the application approved and writes the audit entry.
  It does not verify the merchant: the new owner files 经营者认证 from the shop's console like every merchant
  (``trust.onboarding``), and the shop cannot publish goods until the operator approves that.
* Rejecting needs a reason, which the applicant sees. The applicant may withdraw an open application. A decided or
  withdrawn application is never decided again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, case, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role, RoleGrant, User
from marketplace.catalog.models import Category
from marketplace.core import audit
from marketplace.core.db import MAX_ID, TimestampMixin, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.core.i18n import localised
from marketplace.core.views import Page
from marketplace.extensions import db
from marketplace.shops.models import Merchant, MerchantKind, Shop, ShopStatus
from marketplace.shops.services import normalise_identifier, uscc_problem
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.manifests import SLUG
from marketplace.tenancy.models import Tenant, TenantScoped

MAX_NOTE = 1000
MAX_REASON = 500
#: A mobile number or a landline with its area code: the same rule as the contact phone of 经营者认证.
CONTACT_PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}")
_REGISTERED = (MerchantKind.enterprise, MerchantKind.individual_business)


@labelled({"submitted": _l("待审核"), "approved": _l("已批准"), "rejected": _l("已驳回"), "withdrawn": _l("已撤回")})
class ShopApplicationStatus(LabelledEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class ApplicationError(ValueError):
    """An application or a decision that cannot be taken; ``field`` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ShopApplication(TenantScoped, TimestampMixin, db.Model):
    """Someone's request to open a shop in one tenant, and the operator's decision on it."""

    __tablename__ = "shop_applications"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'approved', 'rejected', 'withdrawn')", name="status"),
        CheckConstraint("kind IN ('enterprise', 'individual_business', 'natural_person')", name="kind"),
        Index("ix_shop_applications_tenant_id_status", "tenant_id", "status"),
        Index("ix_shop_applications_tenant_id_applicant_id", "tenant_id", "applicant_id"),
        # Open applications: one per applicant, and none asking for the same shop address.
        Index("uq_shop_applications_open_applicant", "tenant_id", "applicant_id", unique=True,
              sqlite_where=text("status = 'submitted'"), postgresql_where=text("status = 'submitted'")),
        Index("uq_shop_applications_open_slug", "tenant_id", "slug", unique=True,
              sqlite_where=text("status = 'submitted'"), postgresql_where=text("status = 'submitted'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=ShopApplicationStatus.submitted)
    # The merchant: who trades, as the business licence names it.
    kind: Mapped[str] = mapped_column(String(32))
    legal_name: Mapped[str] = mapped_column(String(200))
    #: The 统一社会信用代码 (normalised); may be empty for a natural person.
    registration_number: Mapped[str] = mapped_column(String(32), default="")
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(32))
    # The shop asked for.
    shop_name_zh: Mapped[str] = mapped_column(String(200))
    shop_name_en: Mapped[str] = mapped_column(String(200), default="")
    slug: Mapped[str] = mapped_column(String(63))
    #: A top-level category of the tenant, or none.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"))
    #: Where the applicant would like to be, as they would say it: "36号", "A1-003". The operator places the shop.
    wished_place: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # The decision.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why it was rejected, shown to the applicant.
    reason: Mapped[str] = mapped_column(Text, default="")
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="SET NULL"))

    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    category: Mapped[Category | None] = relationship()
    shop: Mapped[Shop | None] = relationship()

    @property
    def status_label(self) -> str:
        return ShopApplicationStatus(self.status).label

    @property
    def kind_label(self) -> str:
        return MerchantKind(self.kind).label

    @property
    def is_open(self) -> bool:
        return self.status == ShopApplicationStatus.submitted

    def shop_name(self, locale: str | None = None) -> str:
        return localised(self.shop_name_zh, self.shop_name_en, locale)


# -- reading (the current tenant's applications; the tenant guard keeps the others out) ----------------------------

def open_application_of(user_id: int) -> ShopApplication | None:
    return db.session.scalar(select(ShopApplication).where(
        ShopApplication.applicant_id == user_id, ShopApplication.status == ShopApplicationStatus.submitted))


def applications_of(user_id: int) -> list[ShopApplication]:
    """The applicant's applications in this tenant, newest first."""
    return list(db.session.scalars(
        select(ShopApplication).where(ShopApplication.applicant_id == user_id)
        .options(selectinload(ShopApplication.shop)).order_by(ShopApplication.id.desc())))


def application_in_tenant(application_id: int, *, lock: bool = False) -> ShopApplication | None:
    """An application of the current tenant, or None. ``lock`` holds its row until the transaction ends, so two
    operators deciding at once take turns and the second sees the first one's decision."""
    if not 0 < application_id <= MAX_ID:
        return None
    query = select(ShopApplication).where(ShopApplication.id == application_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def status_counts() -> dict[str, int]:
    """Status → number of applications in this tenant (every status, zero included)."""
    counts = dict(db.session.execute(
        select(ShopApplication.status, func.count()).group_by(ShopApplication.status)).all())
    return {status: counts.get(status, 0) for status in ShopApplicationStatus.values()}


def waiting_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ShopApplication).where(
        ShopApplication.status == ShopApplicationStatus.submitted)) or 0


def applications_page(*, status: str | None, page: int, size: int = 50) -> Page:
    """A page of this tenant's applications: the waiting ones first, oldest first (a queue), then the others,
    newest first; only those of ``status`` when given."""
    where = [ShopApplication.status == status] if status else []
    total = db.session.scalar(select(func.count()).select_from(ShopApplication).where(*where)) or 0
    result = Page(number=page, total=total, size=size)
    waiting = ShopApplication.status == ShopApplicationStatus.submitted
    result.items = list(db.session.scalars(
        select(ShopApplication).where(*where)
        .options(selectinload(ShopApplication.applicant), selectinload(ShopApplication.category))
        .order_by(case((waiting, 0), else_=1), case((waiting, ShopApplication.id), else_=-ShopApplication.id))
        .offset(result.offset).limit(size)))
    return result


def applications_query(*, status: str | None):
    """This tenant's applications (only those of ``status`` when given) as a select, with what a listing shows
    loaded; the caller orders and pages it (the operator API pages through it by id, oldest first)."""
    where = [ShopApplication.status == status] if status else []
    return (select(ShopApplication).where(*where)
            .options(selectinload(ShopApplication.applicant), selectinload(ShopApplication.category),
                     selectinload(ShopApplication.decided_by), selectinload(ShopApplication.shop)))


def top_level_categories() -> list[Category]:
    """The tenant's main categories, which an applicant may name as the shop's trade."""
    return list(db.session.scalars(
        select(Category).where(Category.parent_id.is_(None)).order_by(Category.position, Category.id)))


def slug_taken_by_shop(slug: str) -> bool:
    return db.session.scalar(select(Shop.id).where(Shop.slug == slug)) is not None


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` cannot be asked for in this tenant: not a shop address, or taken by a shop or by an open
    application; None when it is free."""
    if not SLUG.fullmatch(slug):
        return _("店铺网址名只能用小写字母、数字和连字符，不能以连字符开头或结尾，最长 63 个字符。")
    taken = slug_taken_by_shop(slug) or db.session.scalar(
        select(ShopApplication.id).where(ShopApplication.slug == slug,
                                         ShopApplication.status == ShopApplicationStatus.submitted)) is not None
    return _("店铺网址名“%(slug)s”已被使用，请换一个。", slug=slug) if taken else None


def merchant_to_reuse(application: ShopApplication) -> Merchant | None:
    """The applicant's own merchant with the application's registration number: one the applicant already owns a
    shop of, in any tenant. None for an application without a number, or when the applicant owns no such shop."""
    if not application.registration_number:
        return None
    with all_tenants():  # the applicant's shops may be in other tenants; the filter on their own grants is the guard
        return db.session.scalar(
            select(Merchant).join(Shop, Shop.merchant_id == Merchant.id)
            .join(RoleGrant, RoleGrant.shop_id == Shop.id)
            .where(RoleGrant.user_id == application.applicant_id, RoleGrant.role == Role.merchant_owner,
                   Merchant.registration_number == application.registration_number)
            .order_by(Merchant.id).limit(1))


# -- applying ---------------------------------------------------------------------------------------------------

@dataclass
class ApplicationInput:
    """What the applicant fills in."""

    kind: str
    legal_name: str
    contact_name: str
    contact_phone: str
    shop_name_zh: str
    slug: str
    registration_number: str = ""
    shop_name_en: str = ""
    category_id: int | None = None
    wished_place: str = ""
    note: str = ""


def _text(value: str, limit: int, field: str, missing: str | None = None) -> str:
    value = " ".join((value or "").split())
    if not value and missing:
        raise ApplicationError(missing, field)
    if len(value) > limit:
        raise ApplicationError(_("最多 %(n)d 个字。", n=limit), field)
    return value


def _registration_number(kind: MerchantKind, number: str) -> str:
    number = normalise_identifier(number)
    if not number and kind in _REGISTERED:
        raise ApplicationError(_("企业和个体工商户须填写营业执照上的统一社会信用代码。"), "registration_number")
    problem = uscc_problem(number) if number else None
    if problem:
        raise ApplicationError(problem, "registration_number")
    return number


def submit_application(tenant: Tenant, applicant: User, data: ApplicationInput) -> ShopApplication:
    """File ``applicant``'s application in ``tenant`` (the current one). Raises ``ApplicationError`` naming the
    field; nothing is written then. Flushes; the caller commits."""
    if tenant.closing_on is not None:
        raise ApplicationError(_("本商业街/市场已公示终止经营，不再受理入驻申请。"))
    if open_application_of(applicant.id) is not None:
        raise ApplicationError(_("您在这里已有一份待审核的入驻申请。"))
    if data.kind not in MerchantKind.values():
        raise ApplicationError(_("请选择经营者类型。"), "kind")
    kind = MerchantKind(data.kind)
    legal_name = _text(data.legal_name, 200, "legal_name", _("请填写经营者名称（营业执照上的名称，自然人填姓名）。"))
    registration_number = _registration_number(kind, data.registration_number)
    contact_name = _text(data.contact_name, 100, "contact_name", _("请填写联系人。"))
    contact_phone = "".join((data.contact_phone or "").split())
    if not CONTACT_PHONE.fullmatch(contact_phone):
        raise ApplicationError(_("请填写 11 位手机号码或带区号的固定电话。"), "contact_phone")
    shop_name_zh = _text(data.shop_name_zh, 200, "shop_name_zh", _("请填写店铺中文名称。"))
    shop_name_en = _text(data.shop_name_en, 200, "shop_name_en")
    slug = (data.slug or "").strip().lower()
    problem = slug_problem(slug)
    if problem:
        raise ApplicationError(problem, "slug")
    category = None
    if data.category_id is not None:
        category = db.session.scalar(select(Category).where(Category.id == data.category_id,
                                                            Category.parent_id.is_(None))) \
            if 0 < data.category_id <= MAX_ID else None
        if category is None:
            raise ApplicationError(_("请从列表中选择经营类别。"), "category_id")
    wished_place = _text(data.wished_place, 100, "wished_place")
    note = (data.note or "").strip()
    if len(note) > MAX_NOTE:
        raise ApplicationError(_("最多 %(n)d 个字。", n=MAX_NOTE), "note")
    application = ShopApplication(
        tenant_id=tenant.id, applicant_id=applicant.id, status=ShopApplicationStatus.submitted, kind=kind.value,
        legal_name=legal_name, registration_number=registration_number, contact_name=contact_name,
        contact_phone=contact_phone, shop_name_zh=shop_name_zh, shop_name_en=shop_name_en, slug=slug,
        category_id=category.id if category else None, wished_place=wished_place, note=note)
    # A second tab (or someone else asking for the same address) a moment ago: the unique indexes let one through.
    try:
        with db.session.begin_nested():
            db.session.add(application)
    except IntegrityError:
        if open_application_of(applicant.id) is not None:
            raise ApplicationError(_("您在这里已有一份待审核的入驻申请。")) from None
        raise ApplicationError(_("店铺网址名“%(slug)s”已被使用，请换一个。", slug=slug), "slug") from None
    return application


def withdraw_application(application: ShopApplication, applicant: User) -> None:
    """The applicant takes back their open application. Flushes; the caller commits."""
    if application.applicant_id != applicant.id or not application.is_open:
        raise ApplicationError(_("这份申请已经处理，不能再撤回。"))
    application.status = ShopApplicationStatus.withdrawn
    application.decided_at, application.decided_by_id = utcnow(), applicant.id
    db.session.flush()


# -- deciding ---------------------------------------------------------------------------------------------------

def _refuse_if_decided(application: ShopApplication) -> None:
    if not application.is_open:
        raise ApplicationError(_("这份申请已经是“%(status)s”，不能再次处理。", status=application.status_label))


def approve_application(application: ShopApplication, operator: User) -> Shop:
    """Open the shop the application asks for: merchant (reused or new), active shop, owner role, the application
    marked approved, an audit entry — all in the caller's transaction, or ``ApplicationError`` and nothing
    (the caller rolls back). Lock the application first (``application_in_tenant(…, lock=True)``)."""
    _refuse_if_decided(application)
    if not application.applicant.active:
        raise ApplicationError(_("申请人的账户已停用或注销，不能开通店铺；请驳回这份申请。"))
    tenant = db.session.get(Tenant, application.tenant_id)
    if tenant is not None and tenant.closing_on is not None:
        raise ApplicationError(_("本商业街/市场已公示终止经营，不再受理入驻申请。"))
    taken = _("店铺网址名“%(slug)s”已被其他店铺使用，不能按此申请开店；请驳回并说明，请申请人换一个网址名重新申请。",
              slug=application.slug)
    if slug_taken_by_shop(application.slug):
        raise ApplicationError(taken)
    merchant = merchant_to_reuse(application)
    reused = merchant is not None
    if merchant is None:
        merchant = Merchant(kind=application.kind, legal_name=application.legal_name,
                            registration_number=application.registration_number,
                            contact_name=application.contact_name, contact_phone=application.contact_phone,
                            contact_email=application.applicant.email or "")
        db.session.add(merchant)
        db.session.flush()
    shop = Shop(tenant_id=application.tenant_id, merchant_id=merchant.id, slug=application.slug,
                status=ShopStatus.active, category_id=application.category_id, name_zh=application.shop_name_zh,
                name_en=application.shop_name_en, opening_hours={})  # the contact phone is the operator's, not public
    try:
        with db.session.begin_nested():  # another shop given the same address at this moment
            db.session.add(shop)
    except IntegrityError:
        raise ApplicationError(taken) from None
    accounts.grant_role(application.applicant, Role.merchant_owner, shop=shop)
    application.status, application.shop_id = ShopApplicationStatus.approved, shop.id
    application.decided_at, application.decided_by_id = utcnow(), operator.id
    audit.record("shop_application.approved", target=application, shop=shop.slug, shop_id=shop.id,
                 merchant_id=merchant.id, merchant_reused=reused, applicant=application.applicant.login_name)
    db.session.flush()
    return shop


def reject_application(application: ShopApplication, reason: str, operator: User) -> None:
    """Turn the application down with a reason the applicant sees. Flushes; the caller commits."""
    _refuse_if_decided(application)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请写明驳回原因，申请人会看到它。"), "reason")
    if len(reason) > MAX_REASON:
        raise ApplicationError(_("最多 %(n)d 个字。", n=MAX_REASON), "reason")
    application.status, application.reason = ShopApplicationStatus.rejected, reason
    application.decided_at, application.decided_by_id = utcnow(), operator.id
    audit.record("shop_application.rejected", target=application, slug=application.slug, reason=reason,
                 applicant=application.applicant.login_name)
    db.session.flush()
