"""Licences that open gated categories: the merchant files one, the operator verifies or rejects it, and a
licence that lapses takes the products that need it offline.

The world (tests/console/conftest.py): tenant A (its operator) with shops X (owner, staff) and Y; tenant B with Z.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.catalog import admin
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product, ProductStatus, ShopLicence
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from tests.catalog.test_packs import PESTICIDE
from tests.console.conftest import database_rows

NUMBER = "农药经营许可证（豫）41010220001"


@pytest.fixture
def pesticide(world, make_category):
    return make_category(world.a, slug="insecticide", name_zh="杀虫剂", product_type="agri_inputs.pesticide")


@pytest.fixture
def pesticide_product(world, pesticide, make_product):
    """A complete pesticide listing of shop X, still a draft: the shop has no licence yet."""
    return make_product(world.x, category=pesticide, title="10% 吡虫啉可湿性粉剂", attributes=PESTICIDE, publish=False)


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _licences_url(world, shop=None) -> str:
    return f"/merchant/{world.a.slug}/{(shop or world.x).slug}/licences"


def _file(browser, world, **changes):
    data = {"kind": "pesticide_business", "number": NUMBER, "expires_on": ""}
    data.update(changes)
    return browser.submit(_licences_url(world), data)


def _licence(world, shop=None) -> ShopLicence | None:
    db.session.expire_all()
    with tenant_scope(world.a):
        return db.session.scalar(select(ShopLicence).where(ShopLicence.shop_id == (shop or world.x).id))


def _publish(world, product) -> str | None:
    """Try to publish as the merchant console would; the refusal's message, or None when it went live."""
    db.session.expire_all()
    with tenant_scope(world.a):
        try:
            catalog.publish_product(db.session.get(Product, product.id))
        except catalog.CatalogError as error:  # refused before anything changed
            return str(error)
        db.session.commit()
        return None


def _status(world, product) -> str:
    db.session.expire_all()
    with tenant_scope(world.a):
        return db.session.get(Product, product.id).status


def _verify(operator, world, licence):
    return operator.submit(f"/operator/{world.a.slug}/licences/{licence.id}/verify", {},
                           page_url=f"/operator/{world.a.slug}/licences")


def _reject(operator, world, licence, reason="编号与营业执照不符"):
    return operator.submit(f"/operator/{world.a.slug}/licences/{licence.id}/reject", {"reason": reason},
                           page_url=f"/operator/{world.a.slug}/licences")


def _flash(browser, response) -> str:
    return _text(browser.get(response.headers["Location"]))


def test_merchant_files_operator_verifies_then_the_pesticide_may_be_published(world, as_role, pesticide_product):
    owner, operator = as_role("owner"), as_role("operator")
    assert "需要本店的农药经营许可证" in _publish(world, pesticide_product)

    page = _text(owner.get(_licences_url(world)))
    assert "农药经营许可证" in page and "未提交" in page
    response = _file(owner, world, expires_on="2099-12-31")
    assert response.status_code == 303
    page = _flash(owner, response)
    assert "农药经营许可证已提交，等待运营方核验。" in page
    assert NUMBER in page and "2099-12-31" in page and "待核验" in page
    assert "需要本店的农药经营许可证" in _publish(world, pesticide_product)  # filed is not yet verified

    queue = _text(operator.get(f"/operator/{world.a.slug}/licences"))
    assert "鲜果坊" in queue and NUMBER in queue and "没有待核验的许可证。" not in queue
    response = _verify(operator, world, _licence(world))
    assert response.status_code == 303
    page = _flash(operator, response)
    assert f"农药经营许可证 {NUMBER} 已核验。" in page and "没有待核验的许可证。" in page

    assert _licence(world).verified_at is not None
    assert "已核验" in _text(owner.get(_licences_url(world)))
    assert _publish(world, pesticide_product) is None
    assert _status(world, pesticide_product) == ProductStatus.active


def test_rejecting_a_licence_takes_its_products_offline_and_says_how_many(world, as_role, pesticide,
                                                                        pesticide_product, make_product):
    owner, operator = as_role("owner"), as_role("operator")
    _file(owner, world)
    _verify(operator, world, _licence(world))
    assert _publish(world, pesticide_product) is None
    second = make_product(world.x, category=pesticide, attributes=PESTICIDE, publish=True)
    groceries = make_product(world.x, publish=True)  # needs no licence: stays online

    response = _reject(operator, world, _licence(world))
    assert response.status_code == 303
    page = _flash(operator, response)
    assert f"已驳回农药经营许可证 {NUMBER}（理由：编号与营业执照不符）；该店 2 件需要此许可证的商品已下架。" in page

    assert _licence(world) is None
    assert _status(world, pesticide_product) == _status(world, second) == ProductStatus.draft
    assert _status(world, groceries) == ProductStatus.active
    assert "未提交" in _text(owner.get(_licences_url(world)))  # the merchant may file it again
    assert "需要本店的农药经营许可证" in _publish(world, pesticide_product)


def test_a_rejection_needs_a_reason(world, as_role, pesticide_product):
    owner, operator = as_role("owner"), as_role("operator")
    _file(owner, world)
    licence = _licence(world)
    before = database_rows()
    response = _reject(operator, world, licence, reason="  ")
    assert response.status_code == 400 and "请填写驳回理由。" in _text(response)
    assert database_rows() == before


def test_an_expired_licence_is_not_verified_and_its_products_go_offline(world, as_role, pesticide_product):
    owner, operator = as_role("owner"), as_role("operator")
    today = admin.tenant_today(world.a)
    _file(owner, world, expires_on=(today + timedelta(days=30)).isoformat())
    _verify(operator, world, _licence(world))
    assert _publish(world, pesticide_product) is None
    with tenant_scope(world.a):  # a month later: the licence has run out
        licence = _licence(world)
        licence.expires_on = today - timedelta(days=1)
        db.session.commit()

    queue = _text(operator.get(f"/operator/{world.a.slug}/licences"))
    assert "已过期" in queue
    page = _flash(operator, _verify(operator, world, licence))
    assert f"农药经营许可证 {NUMBER} 已过有效期，未予核验；该店 1 件需要此许可证的商品已下架。" in page
    assert _status(world, pesticide_product) == ProductStatus.draft
    assert "已过期" in _text(owner.get(_licences_url(world)))


def test_the_daily_check_unpublishes_gated_products_of_lapsed_licences(world, as_role, pesticide_product,
                                                                     make_category, make_product):
    owner, operator = as_role("owner"), as_role("operator")
    today = admin.tenant_today(world.a)
    _file(owner, world, expires_on=(today + timedelta(days=10)).isoformat())
    _verify(operator, world, _licence(world))
    assert _publish(world, pesticide_product) is None
    # Tenant B's shop Z holds the same kind of licence, valid for longer: the check leaves it alone.
    b_pesticide = make_category(world.b, slug="insecticide", product_type="agri_inputs.pesticide")
    with tenant_scope(world.b):
        b_licence = catalog.record_licence(world.z, "pesticide_business", "农药经营许可证（豫）41010220099",
                                           today + timedelta(days=100))
        catalog.verify_licence(b_licence, world.users["operator"])
        db.session.commit()
    b_product = make_product(world.z, category=b_pesticide, attributes=PESTICIDE, publish=True)

    assert admin.expire_licences(today + timedelta(days=10)) == []  # valid through its last day
    expired = admin.expire_licences(today + timedelta(days=11))
    db.session.commit()
    assert [(e.tenant_slug, e.shop_slug, e.kind, e.products_offline) for e in expired] == [
        (world.a.slug, world.x.slug, "pesticide_business", 1)]
    assert _status(world, pesticide_product) == ProductStatus.draft
    with tenant_scope(world.b):
        assert db.session.get(Product, b_product.id).status == ProductStatus.active
    # Run again the next day: nothing more to take down.
    assert [e.products_offline for e in admin.expire_licences(today + timedelta(days=12))] == [0]


def test_changing_a_verified_licence_needs_verifying_again(world, as_role, pesticide_product):
    owner, operator = as_role("owner"), as_role("operator")
    _file(owner, world)
    _verify(operator, world, _licence(world))
    assert _publish(world, pesticide_product) is None

    page = _flash(owner, _file(owner, world))  # the same details again: nothing changes
    assert "内容未变，仍为已核验" in page and _status(world, pesticide_product) == ProductStatus.active
    page = _flash(owner, _file(owner, world, number="农药经营许可证（豫）41010220002"))
    assert "核验前该店 1 件需要此许可证的商品已下架" in page
    assert _licence(world).verified_at is None
    assert _status(world, pesticide_product) == ProductStatus.draft


@pytest.mark.parametrize("changes, message", [
    ({"number": ""}, "请填写许可证编号。"),
    ({"number": "编号\x00"}, "含有无法识别的字符"),
    ({"number": "1" * 101}, None),
    ({"kind": "food_production"}, None),
    ({"expires_on": "2001-01-01"}, "有效期已过，不能提交过期的许可证。"),
    ({"expires_on": "明年"}, None),
])
def test_bad_licence_input_gets_a_form_error_and_writes_nothing(world, as_role, changes, message):
    owner = as_role("owner")
    before = database_rows()
    response = _file(owner, world, **changes)
    page = _text(response)
    assert response.status_code == 400 and 'role="alert"' in page
    if message:
        assert message in page
    assert database_rows() == before


@pytest.mark.parametrize("role, expected", [("anonymous", "login"), ("resident", 403), ("owner", 200),
                                            ("staff", 403), ("operator", 403), ("admin", 200)])
def test_only_the_owner_files_licences(world, as_role, role, expected):
    response = as_role(role).get(_licences_url(world))
    if expected == "login":
        assert response.status_code == 302 and response.headers["Location"].startswith("/account/login")
    else:
        assert response.status_code == expected


def test_the_shop_page_offers_licences_to_the_owner_only(world, as_role):
    link = f'href="{_licences_url(world)}"'
    assert link in as_role("owner").get(f"/merchant/{world.a.slug}/{world.x.slug}/").get_data(as_text=True)
    assert link not in as_role("staff").get(f"/merchant/{world.a.slug}/{world.x.slug}/").get_data(as_text=True)


@pytest.mark.parametrize("role, expected", [("anonymous", "login"), ("resident", 404), ("owner", 404),
                                            ("operator", 200), ("admin", 200)])
def test_only_the_tenants_operator_sees_the_queue(world, as_role, role, expected):
    response = as_role(role).get(f"/operator/{world.a.slug}/licences")
    if expected == "login":
        assert response.status_code == 302
    else:
        assert response.status_code == expected


def test_licences_do_not_cross_tenants_or_shops(world, as_role):
    owner_z, owner, operator, admin_user = as_role("owner_z"), as_role("owner"), as_role("operator"), as_role("admin")
    with tenant_scope(world.b):
        b_licence = catalog.record_licence(world.z, "pesticide_business", "农药经营许可证（豫）41010220099", None)
        db.session.commit()
    before = database_rows()
    token = operator.csrf_token("/account/login")
    # Tenant A's operator, on tenant B's pages, or reaching B's licence through A's pages.
    assert operator.get(f"/operator/{world.b.slug}/licences").status_code == 404
    for action in ("verify", "reject"):
        assert operator.post(f"/operator/{world.b.slug}/licences/{b_licence.id}/{action}",
                             data={"csrf_token": token, "reason": "x"}).status_code == 404
        assert operator.post(f"/operator/{world.a.slug}/licences/{b_licence.id}/{action}",
                             data={"csrf_token": token, "reason": "x"}).status_code == 404
        assert admin_user.post(f"/operator/{world.a.slug}/licences/{b_licence.id}/{action}",
                               data={"csrf_token": admin_user.csrf_token("/account/login"),
                                     "reason": "x"}).status_code == 404
    assert "41010220099" not in _text(admin_user.get(f"/operator/{world.a.slug}/licences"))
    # X's owner on Z (same slug, tenant B) and on Y; Z's owner on X.
    assert owner.get(f"/merchant/{world.b.slug}/{world.z.slug}/licences").status_code == 404
    assert owner.get(_licences_url(world, world.y)).status_code == 403
    assert owner_z.get(_licences_url(world)).status_code == 404
    assert owner.post(f"/merchant/{world.b.slug}/{world.z.slug}/licences",
                      data={"csrf_token": owner.csrf_token("/account/login"), "kind": "pesticide_business", "number": "X1"}).status_code == 404
    assert database_rows() == before
    assert "41010220099" in _text(owner_z.get(f"/merchant/{world.b.slug}/{world.z.slug}/licences"))


def test_the_licence_kinds_come_from_the_packs(world, as_role):
    page = _text(as_role("owner").get(_licences_url(world)))
    kinds = re.findall(r'<option[^>]*value="([a-z_]+)"', page)
    assert kinds == ["pesticide_business", "seed_business"]
