"""The demo city: tenants from their manifests, plus the users, merchants and shops in ``demo.toml``.

Idempotent: everything is looked up by a natural key (slug, email or mobile, legal name) first, so a
second run changes nothing. Demo passwords are set only when an account is created.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from marketplace.accounts import addresses
from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role, User
from marketplace.catalog.models import Category
from marketplace.extensions import db
from marketplace.shops.models import Merchant, Shop
from marketplace.shops.services import check_registration_number, parse_opening_hours
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.trust import verification

DEMO_FILE = Path(__file__).with_name("demo.toml")


@dataclass
class DemoReport:
    created: list[str] = field(default_factory=list)
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)  # role, name, login, password


def load_demo(path: Path = DEMO_FILE) -> DemoReport:
    """Create whatever of the demo is missing. Tenants must exist already (``tenants sync``). Flushes."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    report = DemoReport()
    passwords = data["passwords"]
    tenants = {t.slug: t for t in db.session.scalars(select(Tenant))}
    users: dict[str, User] = {}
    for spec in data["users"]:
        password_key = "merchant" if spec["role"] == "merchant" else spec["role"]
        users[spec["key"]] = _user(spec, passwords[password_key], report)
        if spec["role"] == "platform_admin":
            accounts.grant_role(users[spec["key"]], Role.platform_admin)
        elif spec["role"] == "tenant_operator":
            accounts.grant_role(users[spec["key"]], Role.tenant_operator, tenant=tenants[spec["tenant"]])
    merchants = {spec["key"]: (_merchant(spec, report), spec) for spec in data["merchants"]}
    for spec in data["shops"]:
        tenant = tenants[spec["tenant"]]
        merchant, merchant_spec = merchants[spec["merchant"]]
        with tenant_scope(tenant):
            shop = _shop(tenant, merchant, spec, report)
            accounts.grant_role(users[merchant_spec["owner"]], Role.merchant_owner, shop=shop)
            for staff in merchant_spec.get("staff", []):
                accounts.grant_role(users[staff], Role.merchant_staff, shop=shop)
    db.session.flush()
    from marketplace.demo.verification import file_and_approve

    for merchant, spec in merchants.values():  # a merchant applies through one of its shops, so after the shops
        if file_and_approve(merchant, spec):
            report.created.append(f"verification application {merchant.legal_name}")
        else:
            _approve(merchant, report)
    _issue_badges(tenants.values(), report)
    # Every demo tenant publishes its service agreement and trading rules (电子商务法 Arts. 32–34).
    from marketplace.demo.documents import load_demo_documents

    if load_demo_documents(list(tenants.values())):
        report.created.append("service agreements and trading rules")
    return report


def _issue_badges(tenants, report: DemoReport) -> None:
    """Each shop of an approved demo merchant shows its electronic badge (on its page and the street map), as
    an operator issues it after approval; a shop that has had one is left as it is (revoked stays revoked)."""
    from marketplace.trust import badges, verification

    for tenant in tenants:
        with tenant_scope(tenant):
            shops = list(db.session.scalars(select(Shop).order_by(Shop.id)))
            issued = badges.current_badges([shop.id for shop in shops])
            for shop in shops:
                if shop.id not in issued and verification.is_approved(shop.merchant):
                    badges.issue_badge(shop, actor_id=None)
                    report.created.append(f"badge {shop.slug}")


def _user(spec: dict, password: str, report: DemoReport) -> User:
    email, mobile = spec.get("email"), spec.get("mobile")
    user = db.session.scalar(select(User).where(User.email == email if email else User.mobile == mobile))
    if user is None:
        user = accounts.register_user(email or mobile, password, spec["display_name"])
        if email and mobile:
            user.mobile = mobile
        report.created.append(f"user {user.login_name}")
    if spec.get("address") and not addresses.addresses_of(user.id):  # where the demo's deliveries go
        place = spec["address"]
        addresses.add_address(user.id, addresses.AddressInput(
            recipient=place["recipient"], mobile=place["mobile"], province_code=place["province"],
            city_code=place["city"], district_code=place["district"], street=place["street"]))
    report.logins.append((spec["role"], spec["display_name"], user.login_name, password))
    return user


def _merchant(spec: dict, report: DemoReport) -> Merchant:
    merchant = db.session.scalar(select(Merchant).where(Merchant.legal_name == spec["legal_name"]))
    if merchant is None:
        merchant = Merchant(kind=spec["kind"], legal_name=spec["legal_name"], contact_name=spec["contact_name"],
                            contact_phone=spec["contact_phone"], contact_email=spec.get("contact_email", ""))
        db.session.add(merchant)
        report.created.append(f"merchant {merchant.legal_name}")
    if not merchant.registration_number:  # also for a demo loaded before merchants had one
        merchant.registration_number = check_registration_number(spec["kind"], spec.get("registration_number", ""))
    db.session.flush()
    return merchant


def _approve(merchant: Merchant, report: DemoReport) -> None:
    """Demo merchants are approved by the platform as the demo loads (six months from now), so their shops may
    sell; a merchant already decided on (approved, rejected, expired) is left as the operator left it."""
    if verification.approval_for(merchant) is not None:
        return
    verification.approve(merchant, actor_id=None, tenant=None)
    report.created.append(f"approval {merchant.legal_name}")


def _shop(tenant: Tenant, merchant: Merchant, spec: dict, report: DemoReport) -> Shop:
    shop = db.session.scalar(select(Shop).where(Shop.slug == spec["slug"]))
    if shop is not None:
        return shop
    category = db.session.scalar(select(Category).where(Category.slug == spec["category"]))
    location = spec["location"]
    shop = Shop(
        tenant_id=tenant.id, merchant_id=merchant.id, slug=spec["slug"], category_id=category.id if category else None,
        name_zh=spec["name"]["zh"], name_en=spec["name"]["en"], description_zh=spec["description"]["zh"],
        description_en=spec["description"]["en"], phone=spec.get("phone", ""),
        opening_hours=parse_opening_hours(spec.get("opening_hours", {})),
        delivery={"providers": list(spec.get("delivery", []))},
    )
    if tenant.kind == "street":
        shop.street_number = location["street_number"]
        shop.street_side = location["side"]
        shop.map_x, shop.map_width = float(location["at_m"]), float(location["frontage_m"])
    else:
        shop.building, shop.floor, shop.zone, shop.stall = (location["building"], int(location["floor"]),
                                                            location["zone"], location["stall"])
        shop.map_x, shop.map_y = float(location["x_m"]), float(location["y_m"])
        shop.map_width, shop.map_depth = float(location["width_m"]), float(location["depth_m"])
    db.session.add(shop)
    db.session.flush()
    report.created.append(f"shop {tenant.slug}/{shop.slug}")
    return shop
