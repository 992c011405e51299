"""Versions for updates that race: a product's ETag and If-Match on PATCH (412 when stale, nothing changed), and a
variant's version as bulk stock's ``expected_version`` (409 when stale, nothing changed). Without them, the last
write wins, as before."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.catalog import services as catalog
from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.tenancy.context import tenant_scope
from tests.api.conftest import assert_problem
from tests.orders.test_place_order import fill


@pytest.fixture
def listed(client, merchant, make_product):
    product = make_product(merchant.shop, title="复合肥", sku="FERT-1", price=9800, stock=10)
    make_product(merchant.shop, title="铁锹", sku="SPADE-1", price=3500, stock=4)
    url = f"{merchant.base}/products/{product.id}"
    read = client.get(url, headers=merchant.headers)
    assert read.status_code == 200
    return merchant, product, url, read


def _variant(merchant, sku: str) -> Variant:
    with tenant_scope(merchant.tenant):
        db.session.expire_all()
        return db.session.scalar(select(Variant).where(Variant.sku == sku))


def test_the_merchant_read_has_versions_and_an_etag_the_public_read_has_not(client, listed):
    merchant, product, _url, read = listed
    body = read.get_json()
    assert read.headers["ETag"].startswith('"') and body["version"] >= 1
    assert [v["version"] for v in body["variants"]] == [1]
    public = client.get(f"/api/v1/tenants/{merchant.tenant.slug}/products/{product.id}")
    assert "version" not in public.get_json()["variants"][0] and "ETag" not in public.headers


def test_a_stale_if_match_is_refused_and_changes_nothing(client, listed):
    merchant, _product, url, read = listed
    etag = read.headers["ETag"]
    changed = client.patch(url, json={"title": "复合肥 15-15-15"}, headers={**merchant.headers, "If-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    stale = client.patch(url, json={"variants": [{"sku": "FERT-1", "price": 8800, "stock": 10}]},
                         headers={**merchant.headers, "If-Match": etag})
    assert_problem(stale, 412, "precondition_failed")
    assert stale.headers["ETag"] == changed.headers["ETag"]
    assert _variant(merchant, "FERT-1").price == 9800
    fresh = client.patch(url, json={"variants": [{"sku": "FERT-1", "price": 8800, "stock": 10}]},
                         headers={**merchant.headers, "If-Match": changed.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.headers["ETag"] not in (etag, changed.headers["ETag"])
    assert fresh.get_json()["variants"][0]["price"] == 8800 and fresh.get_json()["variants"][0]["version"] == 2
    assert client.get(url, headers=merchant.headers).headers["ETag"] == fresh.headers["ETag"]


def test_a_sale_makes_the_etag_stale_and_without_if_match_the_last_write_wins(client, listed):
    merchant, _product, url, read = listed
    variant = _variant(merchant, "FERT-1")
    with tenant_scope(merchant.tenant):
        catalog.adjust_stock(db.session.merge(variant), -1)  # as the console's stock form does
        db.session.commit()
    assert client.get(url, headers=merchant.headers).headers["ETag"] != read.headers["ETag"]
    assert_problem(client.patch(url, json={"title": "新名字"}, headers={**merchant.headers,
                                                                      "If-Match": read.headers["ETag"]}),
                   412, "precondition_failed")
    assert client.patch(url, json={"title": "新名字"}, headers=merchant.headers).status_code == 200
    assert client.patch(url, json={"title": "又一个"}, headers={**merchant.headers, "If-Match": "*"}).status_code == 200


def test_a_stale_expected_version_refuses_the_whole_batch(client, listed):
    merchant, _product, _url, read = listed
    version = read.get_json()["variants"][0]["version"]
    stock_url = f"{merchant.base}/variants/stock"
    first = client.post(stock_url, json={"items": [{"sku": "FERT-1", "stock": 12, "expected_version": version}]},
                        headers=merchant.headers)
    assert first.status_code == 200 and first.get_json()["items"] == [{"sku": "FERT-1", "stock": 12,
                                                                      "version": version + 1}]
    stale = client.post(stock_url, json={"items": [{"sku": "SPADE-1", "adjust": 3},
                                                   {"sku": "FERT-1", "stock": 20, "expected_version": version}]},
                        headers=merchant.headers)
    body = assert_problem(stale, 409, "version_conflict")
    assert list(body["errors"]) == ["items.1.expected_version"]
    assert _variant(merchant, "FERT-1").stock == 12 and _variant(merchant, "SPADE-1").stock == 4  # nothing changed
    last_wins = client.post(stock_url, json={"items": [{"sku": "FERT-1", "stock": 20}]}, headers=merchant.headers)
    assert last_wins.status_code == 200 and _variant(merchant, "FERT-1").stock == 20


def test_an_order_taking_stock_and_its_cancellation_move_the_version(client, listed, make_user):
    merchant, product, _url, read = listed
    version = read.get_json()["variants"][0]["version"]
    buyer = make_user()
    cart = fill(merchant.tenant, buyer, {product: 2})
    with tenant_scope(merchant.tenant):
        group = orders.place_order(merchant.tenant, buyer.id, db.session.merge(cart), "versions-1")
        db.session.commit()
        order_id = group.orders[0].id
    assert _variant(merchant, "FERT-1").version == version + 1
    stale = client.post(f"{merchant.base}/variants/stock",
                        json={"items": [{"sku": "FERT-1", "stock": 10, "expected_version": version}]},
                        headers=merchant.headers)
    assert_problem(stale, 409, "version_conflict")
    assert _variant(merchant, "FERT-1").stock == 8
    with tenant_scope(merchant.tenant):
        orders.cancel_by_buyer(db.session.get(Order, order_id), buyer_id=buyer.id, reason="", key="versions-2")
        db.session.commit()
    assert (_variant(merchant, "FERT-1").stock, _variant(merchant, "FERT-1").version) == (10, version + 2)
