"""The merchant's onboarding application and the operator's decisions on it (issue 8, merchant verification).

A merchant (the legal entity behind shops) applies from the console of one of its shops: entity kind, legal
name, 统一社会信用代码 (enterprise, individual business) or 居民身份证号码 (a natural person selling under the
registration exemption, ECL Art. 10), legal representative, contact, business address, a picture of the
business licence and the category licences it holds (pesticide, seed… — the kinds the catalog packs ask for).

* One application per merchant is *current* (``is_current``, unique per merchant in the database); earlier ones
  are kept as history. It is filed in, and reviewed by the operator of, the tenant of the shop it came from.
* Statuses: ``submitted`` (waiting for the operator) → ``approved`` | ``rejected`` | ``more_info`` (the operator
  asks for more; the merchant edits and submits again). After a decision, a new application (re-verification)
  replaces the current one.
* Approving writes the merchant's identity, approves it for six months (``verification.approve``) and files the
  category licences on the shop as verified (``ShopLicence``). Rejecting goes through ``verification.reject``
  (which revokes the merchant's badges). Every decision, and every reveal of an ID number, appends an
  ``OnboardingEvent``; those are never changed or deleted.
* The resident ID number is sensitive personal information (PIPL Art. 28): it is taken only with its own
  explicit consent (recorded with its time), stored encrypted (Fernet, key derived from ``SECRET_KEY`` with
  HKDF and the info string ``resident-id``), shown masked (first 3, ``****``, last 4) everywhere, and never put
  in messages or logs. An operator sees it in full only through ``reveal_resident_id``, which is audited.
  Changing ``SECRET_KEY`` makes the stored numbers unreadable (the masked form stays): re-collect them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, event, false, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core import crypto
from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.shops.models import Merchant, MerchantKind, Shop
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant, TenantScoped
from marketplace.trust import verification

#: The HKDF ``info`` that separates the ID-number key from every other use of SECRET_KEY.
RESIDENT_ID_KEY_INFO = b"resident-id"
#: How long before an approval runs out the merchant is told to apply again.
REVERIFY_NOTICE = timedelta(days=30)
MAX_NOTE = verification.MAX_REASON
_PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}")
_REGISTERED = (MerchantKind.enterprise, MerchantKind.individual_business)


@labelled({"submitted": _l("待审核"), "more_info": _l("需补充材料"), "approved": _l("已通过"),
           "rejected": _l("已驳回")})
class ApplicationStatus(LabelledEnum):
    submitted = "submitted"
    more_info = "more_info"
    approved = "approved"
    rejected = "rejected"


@labelled({"submitted": _l("提交申请"), "resubmitted": _l("补充后重新提交"), "approved": _l("审核通过"),
           "rejected": _l("驳回"), "more_info": _l("要求补充材料"), "revealed_id": _l("查看完整证件号")})
class OnboardingAction(LabelledEnum):
    submitted = "submitted"
    resubmitted = "resubmitted"
    approved = "approved"
    rejected = "rejected"
    more_info = "more_info"
    revealed_id = "revealed_id"


#: 组成形式 of an individual business, as its licence states it.
ORGANISATION_FORMS = {"individual": _l("个人经营"), "family": _l("家庭经营")}
#: The four self-declarations of a trader exempt from registration, shown word for word on its licence page
#: (网络交易监督管理办法 Art. 12(3)): statutory text, the same in every language.
EXEMPTIONS = {
    "own_farm_produce": "个人销售自产农副产品，依法不需要办理市场主体登记",
    "home_handicraft": "个人销售家庭手工业产品，依法不需要办理市场主体登记",
    "convenience_labour": "个人利用自己的技能从事依法无须取得许可的便民劳务活动，依法不需要办理市场主体登记",
    "small_sporadic": "个人从事零星小额交易活动，依法不需要办理市场主体登记",
}


class OnboardingError(ValueError):
    """An application or decision that cannot be taken; ``field`` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class OnboardingApplication(TenantScoped, TimestampMixin, db.Model):
    """A merchant's application to be verified, filed through one of its shops (the tenant reviews it)."""

    __tablename__ = "onboarding_applications"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'more_info', 'approved', 'rejected')", name="status"),
        CheckConstraint("kind IN ('enterprise', 'individual_business', 'natural_person')", name="kind"),
        Index("uq_onboarding_applications_current_merchant", "merchant_id", unique=True,
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
        Index("ix_onboarding_applications_tenant_id_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="RESTRICT"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"), index=True)
    #: The merchant's one current application; older ones stay as history.
    is_current: Mapped[bool] = mapped_column(default=True, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default=ApplicationStatus.submitted)
    kind: Mapped[str] = mapped_column(String(32))
    legal_name: Mapped[str] = mapped_column(String(200))
    #: The 18-character 统一社会信用代码 (enterprise, individual business); empty for a natural person.
    registration_number: Mapped[str] = mapped_column(String(32), default="")
    #: The 居民身份证号码 as a Fernet token (never in clear); empty unless the merchant is a natural person.
    resident_id_token: Mapped[str] = mapped_column(Text, default="")
    #: What pages show of it: the first 3 and last 4 characters around ``****``.
    resident_id_masked: Mapped[str] = mapped_column(String(16), default="")
    #: When the merchant gave the separate consent to process the ID number (PIPL Art. 29).
    resident_id_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    legal_representative: Mapped[str] = mapped_column(String(100), default="")
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(32))
    business_address: Mapped[str] = mapped_column(String(300))
    #: What the licence page must show by entity kind (网络交易监督管理办法 Art. 12): an enterprise's type (有限责任公司…)
    #: and registered capital, an individual business's form of organisation, an exempt trader's declaration.
    entity_type: Mapped[str] = mapped_column(String(64), default="", server_default="")
    registered_capital: Mapped[str] = mapped_column(String(64), default="", server_default="")
    organisation_form: Mapped[str] = mapped_column(String(16), default="", server_default="")
    exemption: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: The business licence picture as marketplace.media stored it: {"sha256", "width", "height", "format"}.
    licence_image: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Category licences: [{"kind", "number", "expires_on": "YYYY-MM-DD" | None}].
    licences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The operator's reason (rejected) or request (more_info), shown to the merchant.
    note: Mapped[str] = mapped_column(Text, default="")

    merchant: Mapped[Merchant] = relationship()
    shop: Mapped[Shop] = relationship()

    @property
    def status_label(self) -> str:
        return ApplicationStatus(self.status).label

    @property
    def kind_label(self) -> str:
        return MerchantKind(self.kind).label

    @property
    def organisation_form_label(self) -> str:
        return str(ORGANISATION_FORMS.get(self.organisation_form, ""))

    @property
    def exemption_text(self) -> str:
        return EXEMPTIONS.get(self.exemption, "")

    def expiry(self, licence: dict[str, Any]) -> date | None:
        return date.fromisoformat(licence["expires_on"]) if licence.get("expires_on") else None


class OnboardingEvent(TenantScoped, db.Model):
    """One step of an application (submitted, decided, ID revealed…), appended and never changed or deleted."""

    __tablename__ = "onboarding_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("onboarding_applications.id", ondelete="RESTRICT"),
                                                index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")

    @property
    def action_label(self) -> str:
        return OnboardingAction(self.action).label


@event.listens_for(OnboardingEvent, "before_update")
@event.listens_for(OnboardingEvent, "before_delete")
def _events_are_append_only(_mapper, _connection, target: OnboardingEvent) -> None:
    raise OnboardingError(f"onboarding event {target.id} is part of the audit trail and cannot be changed or deleted")


# -- the ID number: encrypted at rest, masked on pages -----------------------------------------------------

def encrypt_resident_id(number: str) -> str:
    """The Fernet token stored for ``number``."""
    return crypto.seal(RESIDENT_ID_KEY_INFO, number)


def decrypt_resident_id(token: str) -> str:
    """The ID number in ``token``; ``OnboardingError`` when it cannot be read (SECRET_KEY changed)."""
    try:
        return crypto.unseal(RESIDENT_ID_KEY_INFO, token)
    except crypto.Unreadable:
        raise OnboardingError(_("证件号无法解密（平台密钥已更换），请商户重新提交。")) from None


def mask_resident_id(number: str) -> str:
    """``110****002X``: the first 3 and the last 4 characters."""
    return f"{number[:3]}****{number[-4:]}" if number else ""


# -- reading ---------------------------------------------------------------------------------------------

def current_application(merchant: Merchant) -> OnboardingApplication | None:
    """The merchant's current application, in whichever tenant it was filed (platform-wide: the merchant is
    one legal entity). Callers show another tenant's application only by its tenant's name."""
    with all_tenants():
        return db.session.scalar(select(OnboardingApplication).where(
            OnboardingApplication.merchant_id == merchant.id, OnboardingApplication.is_current.is_(True)))


def approved_applications(merchant_ids) -> dict[int, OnboardingApplication]:
    """Merchant id → its most recently approved application (platform-wide), whether or not it is still the current
    one: while a re-verification waits, or after one was refused, what the platform last verified still stands."""
    merchant_ids = list(merchant_ids)
    if not merchant_ids:
        return {}
    found: dict[int, OnboardingApplication] = {}
    with all_tenants():
        for application in db.session.scalars(
                select(OnboardingApplication).where(OnboardingApplication.merchant_id.in_(merchant_ids),
                                                    OnboardingApplication.status == ApplicationStatus.approved)
                .order_by(OnboardingApplication.decided_at.desc(), OnboardingApplication.id.desc())):
            found.setdefault(application.merchant_id, application)
    return found


def application_in_tenant(application_id: int, *, lock: bool = False) -> OnboardingApplication | None:
    """An application of the current tenant (the guard keeps other tenants' out), or None. ``lock`` holds its
    row until the transaction ends, so two operators deciding at once (or a decision and the merchant's
    resubmission) take turns and the second sees the first's outcome."""
    query = select(OnboardingApplication).where(OnboardingApplication.id == application_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def history_of(merchant: Merchant) -> list[OnboardingApplication]:
    """The merchant's applications in the current tenant, newest first."""
    return list(db.session.scalars(select(OnboardingApplication).where(OnboardingApplication.merchant_id == merchant.id)
                                   .order_by(OnboardingApplication.submitted_at.desc(),
                                             OnboardingApplication.id.desc())))


def events_of(application: OnboardingApplication) -> list[OnboardingEvent]:
    return list(db.session.scalars(select(OnboardingEvent).where(OnboardingEvent.application_id == application.id)
                                   .order_by(OnboardingEvent.at, OnboardingEvent.id)))


def current_applications(tenant: Tenant) -> dict[int, OnboardingApplication]:
    """Merchant id → its current application filed in ``tenant`` (the current tenant)."""
    return {application.merchant_id: application for application in db.session.scalars(
        select(OnboardingApplication).where(OnboardingApplication.tenant_id == tenant.id,
                                            OnboardingApplication.is_current.is_(True)))}


def queue_order(rows: list, applications: dict[int, OnboardingApplication]) -> list:
    """The operator's merchants page: merchants with a submitted application first (oldest first), then the
    others as they were."""
    def waiting(row) -> bool:
        application = applications.get(row.merchant.id)
        return application is not None and application.status == ApplicationStatus.submitted

    queued = sorted((row for row in rows if waiting(row)),
                    key=lambda row: (applications[row.merchant.id].submitted_at, applications[row.merchant.id].id))
    return queued + [row for row in rows if not waiting(row)]


def reverification_due(merchant: Merchant, now: datetime | None = None) -> datetime | None:
    """When the merchant's approval runs out, if that is within 30 days of ``now`` or already past (it must
    apply again); None while it holds longer or was never approved."""
    approval = verification.approval_for(merchant)
    if approval is None or approval.valid_until is None or approval.status not in (
            verification.ApprovalStatus.approved, verification.ApprovalStatus.expired):
        return None
    now = now or utcnow()
    return approval.valid_until if approval.valid_until - now <= REVERIFY_NOTICE else None


# -- applying --------------------------------------------------------------------------------------------

@dataclass
class LicenceInput:
    kind: str
    number: str
    expires_on: date | None = None


@dataclass
class ApplicationInput:
    """What the merchant fills in. ``resident_id`` empty keeps the number already on file (if any);
    ``licence_image`` None keeps the picture already on file."""

    kind: str
    legal_name: str
    contact_name: str
    contact_phone: str
    business_address: str
    registration_number: str = ""
    resident_id: str = ""
    id_consent: bool = False
    legal_representative: str = ""
    licence_image: bytes | None = None
    licences: list[LicenceInput] = field(default_factory=list)
    entity_type: str = ""
    registered_capital: str = ""
    organisation_form: str = ""
    exemption: str = ""


def _text(value: str, limit: int, field_name: str, missing: str | None) -> str:
    value = " ".join((value or "").split())
    if not value and missing:
        raise OnboardingError(missing, field_name)
    if len(value) > limit:
        raise OnboardingError(_("最多 %(n)d 个字。", n=limit), field_name)
    return value


def _licences(items: list[LicenceInput], today: date) -> list[dict[str, Any]]:
    from marketplace.catalog import admin

    known = {licence.kind: licence for licence in admin.licence_kinds()}
    result, seen = [], set()
    for item in items:
        if item.kind not in known:
            raise OnboardingError(_("请选择许可证类型。"), "licences")
        if item.kind in seen:
            raise OnboardingError(_("同一类许可证只能填写一份。"), "licences")
        seen.add(item.kind)
        label = known[item.kind].label()
        number = " ".join((item.number or "").split())
        if not number or len(number) > 100:
            raise OnboardingError(_("请填写%(licence)s的编号（最多 100 个字）。", licence=label), "licences")
        if item.expires_on is not None and item.expires_on < today:
            raise OnboardingError(_("%(licence)s已过有效期，不能提交过期的许可证。", licence=label), "licences")
        result.append({"kind": item.kind, "number": number,
                       "expires_on": item.expires_on.isoformat() if item.expires_on else None})
    return result


def submit_application(shop: Shop, data: ApplicationInput, *, actor_id: int | None,
                       now: datetime | None = None) -> OnboardingApplication:
    """The merchant behind ``shop`` files (or, when asked for more, completes) its application; it becomes
    ``submitted``. Raises ``OnboardingError`` naming the field. Flushes; the caller commits.

    While an application waits for the operator it cannot be changed; after a decision a new one replaces
    it as current (re-verification), taking over the ID number and licence picture on file when none is given.
    """
    from marketplace.catalog.admin import tenant_today
    from marketplace.media.images import ImageRejected, ingest_image
    from marketplace.media.jobs import enqueue

    now = now or utcnow()
    merchant = shop.merchant
    current = current_application(merchant)
    if current is not None and current.status in (ApplicationStatus.submitted, ApplicationStatus.more_info) \
            and current.tenant_id != shop.tenant_id:
        raise OnboardingError(_("本商户已有一份认证申请在其他商业街或市场办理中。"))
    if current is not None and current.status == ApplicationStatus.submitted:
        raise OnboardingError(_("申请正在审核中，审核结果出来前不能修改。"))

    if data.kind not in MerchantKind.values():
        raise OnboardingError(_("请选择经营者类型。"), "kind")
    kind = MerchantKind(data.kind)
    legal_name = _text(data.legal_name, 200, "legal_name", _("请填写经营者名称（营业执照上的名称，自然人填姓名）。"))
    registration_number, token, masked, consent_at = "", "", "", None
    if kind in _REGISTERED:
        registration_number = shops.normalise_identifier(data.registration_number)
        if not registration_number:
            raise OnboardingError(_("企业和个体工商户须填写营业执照上的统一社会信用代码。"), "registration_number")
        problem = shops.uscc_problem(registration_number)
        if problem:
            raise OnboardingError(problem, "registration_number")
        legal_representative = _text(data.legal_representative, 100, "legal_representative",
                                     _("请填写法定代表人或经营者姓名。"))
    else:
        number = shops.normalise_identifier(data.resident_id)
        if number:
            problem = shops.resident_id_problem(number)
            if problem:
                raise OnboardingError(problem, "resident_id")
            if not data.id_consent:
                raise OnboardingError(_("提交身份证号码前，须单独勾选同意平台处理您的身份证号码。"), "id_consent")
            token, masked, consent_at = encrypt_resident_id(number), mask_resident_id(number), now
        elif current is not None and current.resident_id_token and current.resident_id_consent_at is not None:
            token, masked = current.resident_id_token, current.resident_id_masked
            consent_at = current.resident_id_consent_at
        else:
            raise OnboardingError(_("自然人经营者须填写居民身份证号码。"), "resident_id")
        legal_representative = _text(data.legal_representative, 100, "legal_representative", None) or legal_name
    entity_type = registered_capital = organisation_form = exemption = ""
    if kind == MerchantKind.enterprise:
        entity_type = _text(data.entity_type, 64, "entity_type", _("请填写营业执照上的企业类型，如“有限责任公司”。"))
        registered_capital = _text(data.registered_capital, 64, "registered_capital",
                                   _("请填写营业执照上的注册资本（出资额），如“100 万元”。"))
    elif kind == MerchantKind.individual_business:
        if data.organisation_form not in ORGANISATION_FORMS:
            raise OnboardingError(_("请选择营业执照上的组成形式。"), "organisation_form")
        organisation_form = data.organisation_form
    else:
        if data.exemption not in EXEMPTIONS:
            raise OnboardingError(_("请选择适用于您的免于登记情形，它将在店铺亮照页上公示。"), "exemption")
        exemption = data.exemption
    contact_name = _text(data.contact_name, 100, "contact_name", _("请填写联系人。"))
    contact_phone = "".join((data.contact_phone or "").split())
    if not _PHONE.fullmatch(contact_phone):
        raise OnboardingError(_("请填写 11 位手机号码或带区号的固定电话。"), "contact_phone")
    business_address = _text(data.business_address, 300, "business_address", _("请填写经营地址。"))
    licences = _licences(data.licences, tenant_today(shop.tenant))

    image = current.licence_image if current is not None else None
    stored = None
    if data.licence_image:
        try:
            stored = ingest_image(data.licence_image)
        except ImageRejected as rejected:
            raise OnboardingError(rejected.message, "licence_image") from rejected
        image = {"sha256": stored.sha256, "width": stored.width, "height": stored.height, "format": stored.format}
    if image is None and kind in _REGISTERED:
        raise OnboardingError(_("请上传营业执照照片。"), "licence_image")

    values = dict(kind=kind.value, legal_name=legal_name, registration_number=registration_number,
                  resident_id_token=token, resident_id_masked=masked, resident_id_consent_at=consent_at,
                  legal_representative=legal_representative, contact_name=contact_name, contact_phone=contact_phone,
                  business_address=business_address, licence_image=image, licences=licences,
                  entity_type=entity_type, registered_capital=registered_capital,
                  organisation_form=organisation_form, exemption=exemption)
    if current is not None and current.status == ApplicationStatus.more_info:
        application, action = current, OnboardingAction.resubmitted
        for name, value in values.items():
            setattr(application, name, value)
        application.status, application.submitted_at, application.shop_id = ApplicationStatus.submitted, now, shop.id
    else:
        if current is not None:
            current.is_current = False
            # The unique "current" index must see the old one retired first. It may have been filed in
            # another tenant (a merchant trading in two): retiring it is the only change made there.
            with all_tenants():
                db.session.flush()
        application = OnboardingApplication(tenant_id=shop.tenant_id, merchant_id=merchant.id, shop_id=shop.id,
                                            is_current=True, status=ApplicationStatus.submitted, submitted_at=now,
                                            **values)
        db.session.add(application)
        action = OnboardingAction.submitted
    db.session.flush()
    db.session.add(OnboardingEvent(tenant_id=application.tenant_id, application_id=application.id, at=now,
                                   actor_id=actor_id, action=action))
    db.session.flush()
    if stored is not None:
        enqueue("marketplace.media.images.make_derivatives", stored.sha256)
    return application


# -- deciding --------------------------------------------------------------------------------------------

def _waiting(application: OnboardingApplication) -> None:
    if application.status != ApplicationStatus.submitted or not application.is_current:
        raise OnboardingError(_("这份申请不在待审核状态，不能再作决定。"))


def _decided(application: OnboardingApplication, status: ApplicationStatus, action: OnboardingAction, *,
             actor_id: int | None, now: datetime, note: str = "") -> None:
    application.status, application.decided_at, application.decided_by_id = status, now, actor_id
    application.note = note
    db.session.add(OnboardingEvent(tenant_id=application.tenant_id, application_id=application.id, at=now,
                                   actor_id=actor_id, action=action, note=note))
    db.session.flush()


def _note(message: str, missing: str) -> str:
    message = " ".join((message or "").split())
    if not message:
        raise OnboardingError(missing, "note")
    if len(message) > MAX_NOTE:
        raise OnboardingError(_("最多 %(n)d 个字。", n=MAX_NOTE), "note")
    return message


def approve_application(application: OnboardingApplication, *, operator, tenant: Tenant,
                        now: datetime | None = None) -> verification.MerchantApproval:
    """Approve a submitted application: the merchant's identity becomes what it says, the merchant is approved
    for six months, and its category licences are filed on the shop as verified. Flushes; the caller commits.
    Refused (``OnboardingError``) when the application is not waiting or a licence has expired since."""
    from marketplace.catalog import services as catalog
    from marketplace.catalog.admin import tenant_today

    _waiting(application)
    now = now or utcnow()
    today = tenant_today(tenant)
    for licence in application.licences:
        expires = application.expiry(licence)
        if expires is not None and expires < today:
            raise OnboardingError(_("许可证 %(number)s 已过有效期，请要求商户补充材料。", number=licence["number"]))
    merchant = application.merchant
    merchant.kind, merchant.legal_name = application.kind, application.legal_name
    merchant.registration_number = application.registration_number
    merchant.contact_name, merchant.contact_phone = application.contact_name, application.contact_phone
    db.session.flush()
    try:
        approval = verification.approve(merchant, actor_id=operator.id, tenant=tenant, now=now)
    except verification.ApprovalError as error:
        raise OnboardingError(str(error)) from error
    for licence in application.licences:
        filed = catalog.record_licence(application.shop, licence["kind"], licence["number"],
                                       application.expiry(licence))
        catalog.verify_licence(filed, operator)
    _decided(application, ApplicationStatus.approved, OnboardingAction.approved, actor_id=operator.id, now=now)
    return approval


def reject_application(application: OnboardingApplication, reason: str, *, actor_id: int | None, tenant: Tenant,
                       now: datetime | None = None) -> OnboardingApplication:
    """Reject a submitted application with a reason the merchant sees; the merchant is rejected too (its badges
    are revoked). Flushes; the caller commits."""
    _waiting(application)
    reason = _note(reason, _("请填写驳回原因。"))
    now = now or utcnow()
    try:
        verification.reject(application.merchant, reason, actor_id=actor_id, tenant=tenant, now=now)
    except verification.ApprovalError as error:
        raise OnboardingError(str(error), "note") from error
    _decided(application, ApplicationStatus.rejected, OnboardingAction.rejected, actor_id=actor_id, now=now,
             note=reason)
    return application


def ask_for_more(application: OnboardingApplication, message: str, *, actor_id: int | None,
                 now: datetime | None = None) -> OnboardingApplication:
    """Send a submitted application back to the merchant with a message saying what is missing; the merchant
    edits it and submits again. The merchant's approval is not changed. Flushes; the caller commits."""
    _waiting(application)
    message = _note(message, _("请写明需要商户补充的材料。"))
    _decided(application, ApplicationStatus.more_info, OnboardingAction.more_info, actor_id=actor_id,
             now=now or utcnow(), note=message)
    return application


def reveal_resident_id(application: OnboardingApplication, *, actor_id: int | None,
                       now: datetime | None = None) -> str:
    """The full ID number of an application, for an operator who must see it; the reveal is recorded as an
    event (who, when) before the number is returned. Flushes; the caller commits."""
    if not application.resident_id_token:
        raise OnboardingError(_("这份申请没有身份证号码。"))
    number = decrypt_resident_id(application.resident_id_token)
    db.session.add(OnboardingEvent(tenant_id=application.tenant_id, application_id=application.id,
                                   at=now or utcnow(), actor_id=actor_id, action=OnboardingAction.revealed_id))
    db.session.flush()
    return number
