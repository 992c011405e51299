"""What the trust review found: a verified identity cannot be swapped on the profile page, a rejected merchant's
goods leave the shelves everywhere, and an export asked for absurd dates is a message, not a server error."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.catalog.models import Product, ProductStatus
from marketplace.extensions import db
from marketplace.shops.models import Merchant
from marketplace.tenancy.context import all_tenants
from marketplace.trust import verification
from tests.fixtures.factories import PASSWORD


def test_an_approved_merchants_identity_is_changed_only_by_a_new_application(app_ctx, make_tenant, make_shop,
                                                                           make_merchant, make_user, make_client):
    tenant = make_tenant(slug="identity-street")
    shop = make_shop(tenant, slug="tea", merchant=make_merchant(registration_number="91350100M000100Y43"))
    make_user("owner@tea.example", role=Role.merchant_owner, shop=shop)
    merchant = db.session.get(Merchant, shop.merchant_id)
    name = merchant.legal_name
    operator = make_user("op@identity.example", role=Role.tenant_operator, tenant=tenant)
    verification.approve(merchant, actor_id=operator.id, tenant=tenant)  # an operator checked this identity
    db.session.commit()
    owner = make_client()
    owner.login("owner@tea.example", PASSWORD)
    url = "/merchant/identity-street/tea/profile"
    response = owner.submit(url, {"name_zh": "茶庄", "legal_name": "冒名顶替有限公司",
                                  "registration_number": merchant.registration_number or ""}, page_url=url)
    assert response.status_code == 400 and "不能在这里修改" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Merchant, merchant.id).legal_name == name


def test_a_rejected_merchant_sells_nothing_more_in_any_tenant(app_ctx, make_tenant, make_shop, make_category,
                                                              make_product, make_merchant):
    merchant = make_merchant()
    street, market = make_tenant(slug="street-r"), make_tenant(slug="market-r")
    goods = [make_product(make_shop(tenant, merchant=merchant), category=make_category(tenant), title="商品")
             for tenant in (street, market)]
    verification.reject(merchant, "资质造假", actor_id=None, tenant=street)
    db.session.commit()
    db.session.expire_all()
    with all_tenants():
        statuses = db.session.scalars(select(Product.status).where(Product.id.in_([p.id for p in goods]))).all()
    assert statuses == [ProductStatus.draft, ProductStatus.draft]


def test_an_export_for_absurd_dates_is_refused_with_a_message(app_ctx, make_tenant, make_user, make_client):
    tenant = make_tenant(slug="export-street")
    make_user("op@export.example", role=Role.tenant_operator, tenant=tenant)
    operator = make_client()
    operator.login("op@export.example", PASSWORD)
    for query in ("from=9999-12-30&to=9999-12-31", "from=0001-01-01&to=0001-01-02"):
        response = operator.get(f"/operator/export-street/complaints/export.csv?{query}")
        assert response.status_code == 303
