"""``flask demo``: the demo city — three tenants, their people and shops — created once, safely re-runnable."""

from __future__ import annotations

from collections import Counter

import pytest
from markupsafe import escape
from sqlalchemy import distinct, func, select

from marketplace.accounts.models import Role, RoleGrant, User
from marketplace.extensions import db
from marketplace.shops.models import Merchant, Shop
from marketplace.shops.services import check_registration_number
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant

DEMO_TENANTS = {
    "dehua-street": ("德化步行街", "street"),
    "nongzi-market": ("中原农资批发市场", "market"),
    "apparel-market": ("二七服装批发城", "market"),
}


def run_demo(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result.output


def printed_logins(output: str) -> list[tuple[str, str, str, str]]:
    """(role, login, password, name) for each line under "Demo logins"."""
    lines = output.split("Demo logins", 1)[1].splitlines()[1:]
    return [tuple(line.split(maxsplit=3)) for line in lines if line.strip()]


def row_counts() -> dict[str, int]:
    with all_tenants():
        return {table.name: db.session.scalar(select(func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


@pytest.fixture
def demo(app):
    return run_demo(app)


def test_demo_creates_the_three_tenants(demo):
    tenants = {t.slug: (t.name_zh, t.kind) for t in db.session.scalars(select(Tenant).where(Tenant.status == "live"))}
    assert tenants == DEMO_TENANTS


def test_demo_creates_an_admin_and_one_operator_per_tenant(demo):
    grants = db.session.scalars(select(RoleGrant)).all()
    assert sum(g.role == Role.platform_admin for g in grants) == 1
    operators = Counter(g.tenant_id for g in grants if g.role == Role.tenant_operator)
    tenant_ids = set(db.session.scalars(select(Tenant.id)))
    assert set(operators) == tenant_ids and set(operators.values()) == {1}


def test_demo_creates_merchants_with_shops_in_every_tenant(demo):
    with all_tenants():
        merchants_per_tenant = dict(db.session.execute(
            select(Tenant.slug, func.count(distinct(Shop.merchant_id))).join(Shop, Shop.tenant_id == Tenant.id)
            .group_by(Tenant.slug)
        ).all())
        in_several = db.session.scalars(
            select(Merchant.legal_name).join(Shop, Shop.merchant_id == Merchant.id)
            .group_by(Merchant.id).having(func.count(distinct(Shop.tenant_id)) >= 2)
        ).all()
        shops = db.session.scalars(select(Shop)).all()
    assert set(merchants_per_tenant) == set(DEMO_TENANTS)
    assert min(merchants_per_tenant.values()) >= 4, merchants_per_tenant
    assert in_several, "some demo merchant should trade in two tenants"
    owned = set(db.session.scalars(select(RoleGrant.shop_id).where(RoleGrant.role == Role.merchant_owner)))
    assert {shop.id for shop in shops} <= owned, "every demo shop has an owner who can sign in"


def test_demo_merchants_with_a_licence_have_a_valid_registration_number(demo):
    merchants = db.session.scalars(select(Merchant)).all()
    licensed = [m for m in merchants if m.kind != "natural_person"]
    assert licensed and all(m.registration_number for m in licensed)
    for merchant in licensed:  # the shop owner could save them unchanged on the profile page
        assert check_registration_number(merchant.kind, merchant.registration_number) == merchant.registration_number
    assert len({m.registration_number for m in licensed}) == len(licensed)
    assert all(m.registration_number == "" for m in merchants if m.kind == "natural_person")


def test_demo_creates_residents(demo):
    with_grants = select(RoleGrant.user_id)
    residents = db.session.scalars(select(User).where(User.id.not_in(with_grants))).all()
    assert len(residents) >= 2


def test_demo_prints_every_login(demo):
    assert "records created" in demo
    logins = printed_logins(demo)
    users = db.session.scalars(select(User)).all()
    assert {login for _, login, _, _ in logins} == {user.login_name for user in users}
    roles = Counter(role for role, *_ in logins)
    assert roles["platform_admin"] == 1 and roles["tenant_operator"] == 3
    assert roles["merchant"] >= 4 and roles["resident"] >= 2
    assert ("platform_admin", "admin@shangdu.example", "admin-demo-2026") in {row[:3] for row in logins}


def test_demo_a_second_time_changes_nothing(app, demo):
    before = row_counts()
    assert before["shops"] > 0 and before["users"] > 0
    again = run_demo(app)
    assert "nothing changed" in again
    assert "created" not in again.split("Demo logins", 1)[0]
    assert row_counts() == before
    assert printed_logins(again) == printed_logins(demo)  # the logins are still printed


def test_demo_portal_and_tenant_pages_show_the_demo(client, demo):
    portal = client.get("/").get_data(as_text=True)
    for name, _kind in DEMO_TENANTS.values():
        assert name in portal
    for slug in DEMO_TENANTS:
        with all_tenants():
            names = db.session.scalars(select(Shop.name_zh).join(Tenant, Shop.tenant_id == Tenant.id)
                                       .where(Tenant.slug == slug, Shop.status == "active")).all()
        page = client.get(f"/t/{slug}/")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert len(names) >= 4
        for name in names:
            assert str(escape(name)) in html, f"{name} missing on /t/{slug}/"


def test_demo_merchant_signs_in_with_the_printed_password(client, demo):
    role, login, password, name = next(row for row in printed_logins(demo) if row[0] == "merchant")
    client.login(login, password)
    dashboard = client.get("/merchant/")
    assert dashboard.status_code == 200
    assert str(escape(name)) in dashboard.get_data(as_text=True)


def test_demo_merchant_in_two_tenants_sees_both_shops(client, demo):
    owners = db.session.scalars(select(RoleGrant).where(RoleGrant.role == Role.merchant_owner)).all()
    tenants_of = {}
    for grant in owners:
        tenants_of.setdefault(grant.user_id, set()).add(grant.tenant_id)
    user_id = next(uid for uid, tenant_ids in tenants_of.items() if len(tenant_ids) >= 2)
    user = db.session.get(User, user_id)
    _, login, password, _ = next(row for row in printed_logins(demo) if row[1] == user.login_name)
    client.login(login, password)
    html = client.get("/merchant/").get_data(as_text=True)
    with all_tenants():
        shops = db.session.scalars(select(Shop).where(Shop.id.in_([g.shop_id for g in owners
                                                                     if g.user_id == user_id]))).all()
    assert len({shop.tenant_id for shop in shops}) >= 2
    for shop in shops:
        assert str(escape(shop.name_zh)) in html
        assert client.get(f"/merchant/{shop.tenant.slug}/{shop.slug}/").status_code == 200


def test_running_the_demo_again_keeps_what_operators_changed_in_the_console(app, demo):
    """`make run` loads the demo every time; it must not undo a suspension or a new colour."""
    tenant = db.session.scalars(select(Tenant).where(Tenant.slug == "dehua-street")).one()
    tenant.status = "suspended"
    tenant.brand = {**tenant.brand, "primary_color": "#123456"}
    db.session.commit()
    run_demo(app)
    db.session.expire_all()
    tenant = db.session.scalars(select(Tenant).where(Tenant.slug == "dehua-street")).one()
    assert tenant.status == "suspended" and tenant.brand["primary_color"] == "#123456"
