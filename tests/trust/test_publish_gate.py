"""The publishing gate: a shop sells only while its merchant's platform approval holds (E-Commerce Law Art. 27;
OTSM Art. 24(1)). Every path that puts a product on sale is refused with ``merchant_not_approved`` — the service,
the console's publish button, the merchant API (create and publish), the bulk import — and drafts stay possible.
An approval that expires keeps what is on sale on sale, blocks new publishing, and the console asks for
re-verification from 30 days before."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product, ProductStatus
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import publishing, verification
from tests.api.conftest import assert_problem, token_for
from tests.catalog.test_import_export import HEADER, csv_bytes
from tests.fixtures.factories import PASSWORD, approve_merchant

USCC = "91410100MA9DEM0081"


@pytest.fixture
def gate(app_ctx, make_tenant, make_merchant, make_shop, make_category, make_user):
    tenant = make_tenant(slug="gate-street")
    merchant = make_merchant(kind="enterprise", legal_name="郑州穗丰农资有限公司", registration_number=USCC)
    shop = make_shop(tenant, slug="suifeng", name_zh="穗丰农资", merchant=merchant, approved=False)
    category = make_category(tenant, slug="tools", name_zh="农具", product_type="general.goods")
    owner = make_user("owner@gate.example", role=Role.merchant_owner, shop=shop)
    return tenant, shop, category, owner


def _input(category, sku="HOE-1") -> catalog.ProductInput:
    return catalog.ProductInput(category=category, title="锄头", variants=[catalog.VariantInput(sku=sku, price=2500,
                                                                                                 stock=5)])


def _status(tenant, product_id) -> str:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.get(Product, product_id).status


def _expired(shop, tenant) -> None:
    """Approve the merchant long enough ago that six months have passed."""
    verification.approve(shop.merchant, actor_id=None, tenant=tenant, now=utcnow() - timedelta(days=200))
    db.session.commit()


def test_the_service_refuses_an_unapproved_merchant_but_keeps_drafts(gate):
    tenant, shop, category, _owner = gate
    with tenant_scope(tenant):
        with pytest.raises(catalog.CatalogError) as refused:
            catalog.create_product(shop, _input(category), publish=True)
        assert refused.value.code == catalog.MERCHANT_NOT_APPROVED == "merchant_not_approved"
        assert "尚未通过平台审核" in str(refused.value) and refused.value.field == "merchant"
        db.session.rollback()

        draft = catalog.create_product(shop, _input(category))  # drafts stay possible
        db.session.commit()
        assert draft.status == ProductStatus.draft
        with pytest.raises(catalog.CatalogError) as refused:
            catalog.publish_product(draft)
        assert refused.value.code == "merchant_not_approved"
        db.session.rollback()

    verification.approve(shop.merchant, actor_id=None, tenant=tenant)
    db.session.commit()
    with tenant_scope(tenant):
        catalog.publish_product(db.session.get(Product, draft.id))
        db.session.commit()
    assert _status(tenant, draft.id) == ProductStatus.active


def test_rejected_and_expired_merchants_cannot_publish(gate):
    tenant, shop, category, _owner = gate
    with tenant_scope(tenant):
        draft = catalog.create_product(shop, _input(category))
        db.session.commit()
    verification.reject(shop.merchant, "营业执照照片无法辨认", actor_id=None, tenant=tenant)
    db.session.commit()
    with tenant_scope(tenant), pytest.raises(catalog.CatalogError, match="审核未通过") as refused:
        catalog.publish_product(db.session.get(Product, draft.id))
    assert refused.value.code == "merchant_not_approved"
    db.session.rollback()

    _expired(shop, tenant)
    with tenant_scope(tenant), pytest.raises(catalog.CatalogError, match="到期") as refused:
        catalog.publish_product(db.session.get(Product, draft.id))
    assert refused.value.code == "merchant_not_approved"
    db.session.rollback()
    assert _status(tenant, draft.id) == ProductStatus.draft


def test_the_refusal_lists_the_products_own_problems_too(gate):
    tenant, shop, category, _owner = gate
    with tenant_scope(tenant):
        draft = catalog.create_product(shop, _input(category))
        draft.variants = []
        db.session.flush()
        with pytest.raises(catalog.CatalogError) as refused:
            catalog.publish_product(draft)
    assert set(refused.value.problems) == {"merchant", "variants"}
    db.session.rollback()


def test_an_expired_approval_keeps_products_on_sale_and_editable(gate):
    tenant, shop, category, _owner = gate
    verification.approve(shop.merchant, actor_id=None, tenant=tenant, now=utcnow() - timedelta(days=170))
    db.session.commit()
    with tenant_scope(tenant):
        on_sale = catalog.create_product(shop, _input(category), publish=True)
        db.session.commit()
    later = utcnow() + timedelta(days=20)  # the approval ran out meanwhile
    assert not verification.is_approved(shop.merchant, later)
    with tenant_scope(tenant):
        product = db.session.get(Product, on_sale.id)
        catalog.publish_product(product, now=later)  # already on sale: stays on sale
        data = _input(category)
        data.title = "加长锄头"
        catalog.update_product(product, data)  # and the merchant may still correct it
        db.session.commit()
        rake = catalog.create_product(shop, _input(category, sku="RAKE-1"))
        with pytest.raises(catalog.CatalogError) as refused:
            catalog.publish_product(rake, now=later)  # but nothing new goes on sale
        assert refused.value.code == "merchant_not_approved"
    db.session.rollback()
    assert _status(tenant, on_sale.id) == ProductStatus.active


def test_the_console_publish_button_says_why(gate, make_client):
    tenant, shop, category, owner = gate
    with tenant_scope(tenant):
        draft = catalog.create_product(shop, _input(category))
        db.session.commit()
    browser = make_client()
    browser.login(owner.email, PASSWORD)
    url = f"/merchant/{tenant.slug}/{shop.slug}/products/{draft.id}"
    response = browser.submit(f"{url}/publish", {}, page_url=f"{url}/edit")
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "商品未能发布" in page and "尚未通过平台审核" in page
    assert _status(tenant, draft.id) == ProductStatus.draft

    _expired(shop, tenant)
    response = browser.submit(f"{url}/publish", {}, page_url=f"{url}/edit")
    assert "请重新提交审核" in browser.get(response.headers["Location"]).get_data(as_text=True)
    assert _status(tenant, draft.id) == ProductStatus.draft


def test_the_api_answers_merchant_not_approved(gate, client):
    tenant, shop, category, owner = gate
    headers = {"Authorization": f"Bearer {token_for(owner, shop)}"}
    base = f"/api/v1/tenants/{tenant.slug}/shops/{shop.slug}"
    body = {"category": "tools", "title": "锄头", "variants": [{"sku": "HOE-1", "price": 2500, "stock": 5}]}

    problem = assert_problem(client.post(f"{base}/products", json={**body, "publish": True},
                                         headers={**headers, "Idempotency-Key": "gate-1"}),
                             422, "merchant_not_approved")
    assert "尚未通过平台审核" in problem["detail"] and "merchant" in problem["errors"]

    created = client.post(f"{base}/products", json=body,
                          headers={**headers, "Idempotency-Key": "gate-2"})  # a draft is fine
    assert created.status_code == 201 and created.get_json()["status"] == "draft"
    product_id = created.get_json()["id"]
    assert_problem(client.post(f"{base}/products/{product_id}/publish", headers=headers), 422,
                   "merchant_not_approved")
    _expired(shop, tenant)
    problem = assert_problem(client.post(f"{base}/products/{product_id}/publish", headers=headers), 422,
                             "merchant_not_approved")
    assert "到期" in problem["detail"]

    verification.approve(shop.merchant, actor_id=None, tenant=tenant)
    db.session.commit()
    published = client.post(f"{base}/products/{product_id}/publish", headers=headers)
    assert published.status_code == 200 and published.get_json()["status"] == "active"


def test_a_publishing_import_is_refused_row_by_row_and_a_draft_import_is_not(gate, make_client):
    tenant, shop, _category, owner = gate
    browser = make_client()
    browser.login(owner.email, PASSWORD)
    url = f"/merchant/{tenant.slug}/{shop.slug}/import/"
    sheet = csv_bytes([HEADER, ["HOE-1", "锄头", "25.00", "5", "tools"], ["RAKE-1", "耙子", "18.00", "3", "tools"]])

    refused = browser.submit(url, {"file": (io.BytesIO(sheet), "goods.csv"), "publish": "y"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "没有导入任何内容" in html and html.count("尚未通过平台审核") == 2  # rows 2 and 3
    with tenant_scope(tenant):
        assert db.session.scalars(select(Product)).all() == []

    drafts = browser.submit(url, {"file": (io.BytesIO(sheet), "goods.csv")})
    assert drafts.status_code == 200, drafts.get_data(as_text=True)[:2000]
    db.session.expire_all()
    with tenant_scope(tenant):
        assert [p.status for p in db.session.scalars(select(Product).order_by(Product.id))] == ["draft", "draft"]


def test_the_console_asks_for_reverification_from_30_days_before_expiry(gate, make_client):
    tenant, shop, _category, owner = gate
    browser = make_client()
    browser.login(owner.email, PASSWORD)
    page_url = f"/merchant/{tenant.slug}/{shop.slug}/"
    assert "尚未通过平台审核" in browser.get(page_url).get_data(as_text=True)

    now = utcnow()
    verification.approve(shop.merchant, actor_id=None, tenant=tenant, now=now - timedelta(days=100))
    db.session.commit()
    assert publishing.approval_notice(shop, now) is None
    assert "资质审核" not in browser.get(page_url).get_data(as_text=True)  # ~80 days left: nothing to say

    approval = verification.approve(shop.merchant, actor_id=None, tenant=tenant, now=now - timedelta(days=165))
    db.session.commit()
    notice = publishing.approval_notice(shop, now)
    assert notice.can_publish and 10 < notice.days_left <= 30 and notice.valid_until == approval.valid_until
    html = browser.get(page_url).get_data(as_text=True)
    assert "将于" in html and "请及时重新提交审核" in html

    approve_merchant(shop.merchant, now=now - timedelta(days=200))
    html = browser.get(page_url).get_data(as_text=True)
    assert "已于" in html and "请重新提交审核" in html and "已在售的商品不受影响" in html
