"""A small world for console tests: two tenants, their shops, and one person per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from marketplace.accounts.models import Role, User
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants
from marketplace.tenancy.models import Tenant
from tests.fixtures.factories import PASSWORD


@dataclass
class World:
    a: Tenant  # the operator's tenant; shops X and Y
    b: Tenant  # another tenant; shop Z has the same slug as X
    x: Shop
    y: Shop
    z: Shop
    users: dict  # role name → User ("anonymous" has none)

    @property
    def slugs(self) -> dict[str, str]:
        return {"a": self.a.slug, "b": self.b.slug, "x": self.x.slug, "y": self.y.slug, "z": self.z.slug}


@pytest.fixture(scope="module")
def world_ids(module_transaction, make_tenant, make_shop, make_user) -> dict:
    """The world, built once per module (``module_transaction``): the ids of its rows."""
    with module_transaction.building():
        a = make_tenant(slug="tenant-a", name_zh="德化步行街")
        b = make_tenant(slug="tenant-b", name_zh="银基商贸城", kind="market")
        x = make_shop(a, slug="same-slug", name_zh="鲜果坊")
        y = make_shop(a, slug="shop-y", name_zh="老茶馆")
        z = make_shop(b, slug="same-slug", name_zh="服装批发")
        users = {
            "resident": make_user("resident@example.com"),
            "owner": make_user("owner@example.com", role=Role.merchant_owner, shop=x),
            "staff": make_user("staff@example.com", role=Role.merchant_staff, shop=x),
            "owner_z": make_user("owner-z@example.com", role=Role.merchant_owner, shop=z),
            "operator": make_user("operator@example.com", role=Role.tenant_operator, tenant=a),
            "admin": make_user("admin@example.com", role=Role.platform_admin),
        }
        return {"a": a.id, "b": b.id, "x": x.id, "y": y.id, "z": z.id,
                "users": {role: user.id for role, user in users.items()}}


@pytest.fixture
def world(world_ids) -> World:
    """The world's rows, loaded in this test's session (whose changes are rolled back after it)."""
    with all_tenants():
        return World(a=db.session.get(Tenant, world_ids["a"]), b=db.session.get(Tenant, world_ids["b"]),
                     x=db.session.get(Shop, world_ids["x"]), y=db.session.get(Shop, world_ids["y"]),
                     z=db.session.get(Shop, world_ids["z"]),
                     users={role: db.session.get(User, id_) for role, id_ in world_ids["users"].items()})


@pytest.fixture
def as_role(make_client, world):
    """A browser signed in as ``role`` (one of World.users, or "anonymous")."""

    def factory(role: str):
        browser = make_client()
        if role != "anonymous":
            browser.login(world.users[role].email, PASSWORD)
        return browser

    return factory


def database_rows() -> dict[str, list[tuple]]:
    """Every row of every table, to show that a refused request changed nothing."""
    db.session.expire_all()
    with all_tenants():
        return {
            table.name: sorted(tuple(map(repr, row)) for row in db.session.execute(table.select()).all())
            for table in db.metadata.sorted_tables
        }
