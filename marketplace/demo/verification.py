"""The demo merchants' verification files: each one applied (identity, address, licence picture or ID number with
its consent) and was approved by the platform, the way a real merchant is — so the identity report, the licence
pages and the specification's identity checks have what they need."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from sqlalchemy import select

from marketplace.accounts.models import Role, RoleGrant, User
from marketplace.extensions import db
from marketplace.shops.models import Merchant, Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.trust import onboarding, verification
from marketplace.trust.badges import badge_place


def licence_picture() -> bytes:
    """A plain stand-in for a photographed business licence (the demo has no real one)."""
    image = Image.new("RGB", (640, 440), (250, 246, 236))
    draw = ImageDraw.Draw(image)
    draw.rectangle((16, 16, 623, 423), outline=(160, 40, 40), width=6)
    for y in range(120, 380, 36):
        draw.line((80, y, 560, y), fill=(120, 120, 120), width=2)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def file_and_approve(merchant: Merchant, spec: dict) -> bool:
    """File the demo merchant's application (in the tenant of its first shop) and approve it, unless the merchant
    has an application on file already or an operator decided otherwise. True when something was created."""
    if onboarding.current_application(merchant) is not None:
        return False
    approval = verification.approval_for(merchant)
    if approval is not None and approval.decided_by_id is not None:  # an operator decided: leave it as it is
        return False
    with all_tenants():
        shop = db.session.scalar(select(Shop).where(Shop.merchant_id == merchant.id).order_by(Shop.id).limit(1))
    if shop is None:
        return False
    tenant = shop.tenant
    admin = db.session.scalar(select(User).join(RoleGrant, RoleGrant.user_id == User.id)
                              .where(RoleGrant.role == Role.platform_admin).order_by(User.id).limit(1))
    if admin is None:
        return False
    with tenant_scope(tenant):
        place = badge_place(tenant, shop)
        data = onboarding.ApplicationInput(
            kind=merchant.kind, legal_name=merchant.legal_name, contact_name=merchant.contact_name,
            contact_phone=merchant.contact_phone,
            business_address=spec.get("business_address") or f"{tenant.address_zh} {place}".strip(),
            registration_number=merchant.registration_number or "", resident_id=spec.get("resident_id", ""),
            id_consent=bool(spec.get("resident_id")), legal_representative=spec.get("legal_representative", "")
            or merchant.contact_name, licence_image=licence_picture() if merchant.registration_number else None,
            entity_type=spec.get("entity_type", "有限责任公司" if merchant.kind == "enterprise" else ""),
            registered_capital=spec.get("registered_capital", "100 万元" if merchant.kind == "enterprise" else ""),
            organisation_form=spec.get("organisation_form", "individual"),
            exemption=spec.get("exemption", "small_sporadic"))
        application = onboarding.submit_application(shop, data, actor_id=None)
        onboarding.approve_application(application, operator=admin, tenant=tenant)
    return True
