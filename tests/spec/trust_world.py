"""What the IA, EB, CE and CH spec tests start from: a street shop with a buyer, a pesticide stall with its licence,
and small builders for orders, applications, reviews and complaints. Fixtures here are imported by those tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.catalog.admin import tenant_today
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.spec.model import Status
from marketplace.spec.runner import run
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import onboarding
from tests.catalog.test_packs import PESTICIDE
from tests.orders.test_place_order import fill

USCC = "91110108551385082Q"
LICENCE_NO = "农药经许（豫）41010000123"
TO_COMPLETED = ("paid", "accepted", "ready_for_pickup", "picked_up", "completed")


def decide(tenant, requirement_id: str, now=None):
    """The finding of one requirement for ``tenant``, as `flask spec check` would report it."""
    report = run(tenant, now=now, only={requirement_id})
    assert [r.requirement.id for r in report.results] == [requirement_id]
    return report.results[0].finding


def status(tenant, requirement_id: str, now=None) -> Status:
    return decide(tenant, requirement_id, now).status


def place(tenant, buyer, lines: dict, key: str, steps=TO_COMPLETED):
    """An order of ``lines`` ({product: quantity}) by ``buyer``, taken through ``steps``."""
    cart = fill(tenant, buyer, lines)
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, key).orders[0]
        for step in steps:
            orders.transition(order, step)
        db.session.commit()
        return order


def application(shop, *, status="approved", resident_id: str = "", consent: bool = True, submitted_at=None,
                **values):
    """A merchant's current application filed through ``shop``, written as the onboarding service stores it."""
    merchant = shop.merchant
    fields = dict(kind=merchant.kind, legal_name=merchant.legal_name,
                  registration_number=merchant.registration_number or "", legal_representative="王建国",
                  contact_name="王建国", contact_phone="13903710111", business_address="郑州市二七区德化街 8 号")
    fields.update(values)
    if resident_id:
        fields.update(resident_id_token=onboarding.encrypt_resident_id(resident_id),
                      resident_id_masked=onboarding.mask_resident_id(resident_id),
                      resident_id_consent_at=utcnow() if consent else None)
    with tenant_scope(shop.tenant):
        row = onboarding.OnboardingApplication(tenant_id=shop.tenant_id, merchant_id=merchant.id, shop_id=shop.id,
                                               is_current=True, status=status,
                                               submitted_at=submitted_at or utcnow(), **fields)
        db.session.add(row)
        db.session.commit()
    return row


@pytest.fixture
def street(app_ctx, make_tenant, make_merchant, make_shop, make_category, make_product, make_user):
    """A street shop of a registered business with two goods on sale, and a buyer with a mobile number."""
    tenant = make_tenant(slug="spec-street")
    merchant = make_merchant(kind="individual_business", legal_name="郑州市二七区鲜果坊水果店",
                             registration_number=USCC, contact_phone="13903710111")
    shop = make_shop(tenant, slug="fruit", name_zh="鲜果坊", merchant=merchant, street_number="8")
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(shop, category=category, title="红富士苹果", price=2990, stock=50)
    pears = make_product(shop, category=category, title="砀山梨", price=1990, stock=50)
    buyer = make_user("13800138000", name="张三丰")
    return tenant, shop, apples, pears, buyer


@pytest.fixture
def farm(app_ctx, make_tenant, make_merchant, make_shop, make_category, make_product, make_user):
    """A market stall selling a pesticide under a licence its operator verified, expiring in 30 days."""
    tenant = make_tenant(slug="spec-nongzi", kind="market", name_zh="农资市场")
    merchant = make_merchant(kind="enterprise", legal_name="郑州穗丰农资有限公司", registration_number=USCC,
                             contact_phone="13903710112")
    shop = make_shop(tenant, slug="suifeng", name_zh="穗丰农资", merchant=merchant, building="A", floor=1,
                     zone="东", stall="12")
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    with tenant_scope(tenant):
        licence = catalog.record_licence(shop, "pesticide_business", LICENCE_NO,
                                         tenant_today(tenant) + timedelta(days=30))
        catalog.verify_licence(licence, operator)
        db.session.commit()
    pesticide = make_category(tenant, slug="pesticide", name_zh="农药", product_type="agri_inputs.pesticide")
    product = make_product(shop, category=pesticide, title="10% 吡虫啉可湿性粉剂", attributes=PESTICIDE)
    return tenant, shop, licence, product
