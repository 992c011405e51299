"""The demo city meets every "must" of the online transaction (OT) and delivery (LD) parts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.spec.model import requirements
from marketplace.spec.runner import run
from marketplace.tenancy.models import Tenant
from tests.demo.conftest import demo_city  # noqa: F401 - the fixture, loaded the way `make run` loads it

OURS = {rid for rid in requirements() if rid[:2] in ("OT", "LD")}


@pytest.mark.usefixtures("demo_city")
def test_every_demo_tenant_meets_the_transaction_and_delivery_musts():
    tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.slug)))
    assert [t.slug for t in tenants] == ["apparel-market", "dehua-street", "nongzi-market"]
    failures = {tenant.slug: [(r.requirement.id, r.finding.detail) for r in run(tenant, only=OURS).must_failures]
                for tenant in tenants}
    assert failures == {tenant.slug: [] for tenant in tenants}
