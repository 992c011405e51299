"""Category licences after verification: ``flask trust licences`` takes offline exactly the products a lapsed
licence gated and tells the merchant once, by mail and SMS, with a note on the product in the console; the
shop's public licence page (亮照) shows who runs it and the licences it sells under."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.catalog.admin import tenant_today
from marketplace.catalog.models import Product, ProductStatus
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import publishing, verification
from tests.catalog.test_packs import COMPOUND, PESTICIDE
from tests.fixtures.factories import PASSWORD
from tests.orders.test_notifications import Outbox

USCC = "91410100MA9DEM0081"
LICENCE_NO = "农药经营许可证（豫）41010000123"


@pytest.fixture(autouse=True)
def _sent_here(app, monkeypatch):
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", None)


@pytest.fixture
def outbox(app):
    return Outbox(Path(app.instance_path))


@pytest.fixture
def farm(app_ctx, make_tenant, make_merchant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(slug="nongzi", kind="market", name_zh="农资市场", address_zh="郑州市中牟县农资大市场")
    merchant = make_merchant(kind="enterprise", legal_name="郑州穗丰农资有限公司", registration_number=USCC,
                             contact_email="boss@suifeng.example")
    shop = make_shop(tenant, slug="suifeng", name_zh="穗丰农资", phone="13903710111", merchant=merchant,
                     building="A", floor=1, zone="东", stall="12")
    other = make_shop(tenant, slug="other-farm", name_zh="另一家农资")
    pesticide = make_category(tenant, slug="pesticide", name_zh="农药", product_type="agri_inputs.pesticide")
    fertiliser = make_category(tenant, slug="fertiliser", name_zh="化肥", product_type="agri_inputs.fertiliser")
    operator = make_user("operator@nongzi.example", role=Role.tenant_operator, tenant=tenant)
    owner = make_user("owner@suifeng.example", role=Role.merchant_owner, shop=shop)
    today = tenant_today(tenant)
    with tenant_scope(tenant):
        for each in (shop, other):
            licence = catalog.record_licence(each, "pesticide_business", LICENCE_NO, today + timedelta(days=3))
            catalog.verify_licence(licence, operator)
        db.session.commit()
    goods = {
        "pesticide": make_product(shop, category=pesticide, title="10% 吡虫啉可湿性粉剂", attributes=PESTICIDE),
        "draft_pesticide": make_product(shop, category=pesticide, title="草稿农药", attributes=PESTICIDE,
                                        publish=False),
        "fertiliser": make_product(shop, category=fertiliser, title="复合肥 15-15-15", attributes=COMPOUND),
        "other_pesticide": make_product(other, category=pesticide, title="别家的农药", attributes=PESTICIDE),
    }
    return tenant, shop, other, goods, owner, today


def _statuses(tenant, goods) -> dict[str, str]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return {name: db.session.get(Product, product.id).status for name, product in goods.items()}


def test_the_job_unpublishes_exactly_the_gated_products_and_tells_the_merchant_once(farm, outbox, app):
    tenant, shop, other, goods, _owner, today = farm
    assert publishing.lapse_licences(today + timedelta(days=3)) == []  # valid through its last day
    db.session.commit()
    assert outbox.mails() == [] and outbox.sms() == []

    _renew(tenant, other, today + timedelta(days=400))  # the other shop renewed in time

    lapsed = publishing.lapse_licences(today + timedelta(days=4))
    db.session.commit()
    assert [(item.shop_slug, item.kind, item.products) for item in lapsed] == [
        ("suifeng", "pesticide_business", ["10% 吡虫啉可湿性粉剂"])]
    assert _statuses(tenant, goods) == {"pesticide": ProductStatus.draft, "draft_pesticide": ProductStatus.draft,
                                        "fertiliser": ProductStatus.active, "other_pesticide": ProductStatus.active}
    [mail] = outbox.mails("boss@suifeng.example")
    assert "农药经营许可证已过期" in mail["Subject"]
    body = mail.get_content()
    assert LICENCE_NO in body and "10% 吡虫啉可湿性粉剂" in body and "复合肥" not in body
    [sms] = outbox.sms("13903710111")
    assert "已下架" in sms and (today + timedelta(days=3)).isoformat() in sms
    outbox.mark_read()

    assert publishing.lapse_licences(today + timedelta(days=5)) == []  # idempotent: nothing more to do
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["trust", "licences"])  # the daily command, on today's calendar
    assert result.exit_code == 0, result.output
    assert outbox.mails() == [] and outbox.sms() == []
    assert _statuses(tenant, goods)["fertiliser"] == ProductStatus.active


def _renew(tenant, shop, expires_on: date) -> None:
    from marketplace.accounts.models import User

    with tenant_scope(tenant):
        licence = catalog.record_licence(shop, "pesticide_business", LICENCE_NO, expires_on)
        catalog.verify_licence(licence, db.session.scalar(select(User).where(User.email == "operator@nongzi.example")))
        db.session.commit()


def test_the_command_runs_on_each_tenants_calendar_and_the_console_says_why(farm, outbox, app, make_client):
    tenant, shop, _other, goods, owner, today = farm
    with tenant_scope(tenant):  # the licence ran out yesterday on the market's calendar
        licence = catalog.record_licence(shop, "pesticide_business", LICENCE_NO, today - timedelta(days=1))
        licence.verified_at = licence.created_at  # as it was verified before it expired
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["trust", "licences"])
    assert result.exit_code == 0, result.output
    assert "nongzi/suifeng" in result.output
    statuses = _statuses(tenant, goods)
    assert statuses["pesticide"] == ProductStatus.draft and statuses["fertiliser"] == ProductStatus.active
    assert len(outbox.mails("boss@suifeng.example")) == 1

    browser = make_client()
    browser.login(owner.email, PASSWORD)
    products = f"/merchant/{tenant.slug}/{shop.slug}/products"
    edit = browser.get(f"{products}/{goods['pesticide'].id}/edit").get_data(as_text=True)
    assert "农药经营许可证有效期至" in edit and "已下架" in edit
    assert "有效期至" not in browser.get(f"{products}/{goods['fertiliser'].id}/edit").get_data(as_text=True)
    listing = browser.get(f"{products}/").get_data(as_text=True)
    assert listing.count("licence-lapsed") == 2  # the two pesticides, not the fertiliser

    again = app.test_cli_runner().invoke(args=["trust", "licences"])
    assert again.exit_code == 0 and "nongzi/suifeng" not in again.output
    assert len(outbox.mails("boss@suifeng.example")) == 1  # still the one from the first run


def test_the_shop_page_links_to_its_licence_information(farm, client):
    tenant, shop, _other, _goods, _owner, today = farm
    page = client.get(f"/t/{tenant.slug}/s/{shop.slug}/").get_data(as_text=True)
    assert "经营者：郑州穗丰农资有限公司" in page
    assert f"/t/{tenant.slug}/s/{shop.slug}/licence" in page

    licence_page = client.get(f"/t/{tenant.slug}/s/{shop.slug}/licence")
    assert licence_page.status_code == 200
    html = licence_page.get_data(as_text=True)
    for fact in ("郑州穗丰农资有限公司", USCC, "企业", "A 座 1 层", "郑州市中牟县农资大市场", "农药经营许可证",
                 LICENCE_NO, (today + timedelta(days=3)).isoformat(), "已通过，有效期至"):
        assert fact in html, fact


def test_the_licence_page_leaves_out_unverified_and_expired_licences(farm, client, make_shop, make_merchant):
    tenant, shop, _other, _goods, _owner, today = farm
    with tenant_scope(tenant):
        catalog.record_licence(shop, "seed_business", "种子经营许可证 B-0001", today + timedelta(days=100))
        db.session.commit()  # filed, not yet verified
    html = client.get(f"/t/{tenant.slug}/s/{shop.slug}/licence").get_data(as_text=True)
    assert "B-0001" not in html and LICENCE_NO in html

    _renew(tenant, shop, today - timedelta(days=1))  # now expired
    html = client.get(f"/t/{tenant.slug}/s/{shop.slug}/licence").get_data(as_text=True)
    assert LICENCE_NO not in html and "没有经核验的行业经营许可证" in html

    person = make_shop(tenant, slug="xiulan", name_zh="秀兰菜籽", approved=False,
                       merchant=make_merchant(kind="natural_person", legal_name="赵秀兰"))
    html = client.get(f"/t/{tenant.slug}/s/{person.slug}/licence").get_data(as_text=True)
    assert "赵秀兰" in html and "依法无需办理市场主体登记" in html and "未通过或已过期" in html
    assert verification.approval_for(person.merchant) is None


def test_another_tenants_shop_licence_page_is_not_found(farm, client, make_tenant, make_shop):
    tenant, shop, _other, _goods, _owner, _today = farm
    elsewhere = make_tenant(slug="elsewhere")
    assert client.get(f"/t/{elsewhere.slug}/s/{shop.slug}/licence").status_code == 404
    assert client.get(f"/t/{tenant.slug}/s/no-such-shop/licence").status_code == 404
