"""Operator enforcement: a takedown leaves a retained record and a regulator-report line, a sanction is public at
once and until it ends (and a suspension stops the shop until then), and a closing shop announces its last day
30 days ahead and closes after it."""

from __future__ import annotations

import csv
import html
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.catalog.models import ProductStatus
from marketplace.catalog.services import CatalogError
from marketplace.core.audit import AuditEntry
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.shops.models import Shop, ShopStatus
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import badges, enforcement, verification
from marketplace.trust.badges import BadgeState
from marketplace.trust.enforcement import EnforcementError, TakedownRecord

PASSWORD = "correct-horse-42"
USCC = "91110108551385082Q"


@pytest.fixture
def street(app_ctx, make_tenant, make_merchant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(slug="law-street", name_zh="德化街")
    other = make_tenant(slug="other-street", name_zh="乙街")
    merchant = make_merchant(kind="enterprise", legal_name="郑州鲜果坊有限公司", registration_number=USCC)
    shop = make_shop(tenant, slug="fruit", name_zh="鲜果坊", merchant=merchant)
    other_shop = make_shop(other, slug="b-cloth", name_zh="乙街布行")
    category = make_category(tenant)
    fake = make_product(shop, category=category, title="仿冒名牌手表", sku="W-1", price=9900)
    other_product = make_product(other_shop, title="乙街棉布", sku="B-1")
    make_user("operator@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    return tenant, other, shop, fake, other_product


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _badge(tenant, shop):
    with tenant_scope(tenant):
        verification.approve(shop.merchant, actor_id=None, tenant=tenant)
        badge = badges.issue_badge(shop, actor_id=None)
        db.session.commit()
        return badge


def _state(tenant, badge, now=None) -> BadgeState:
    db.session.expire_all()
    with tenant_scope(tenant):
        return badges.badge_state(db.session.get(badges.Badge, badge.id), now)


# -- takedowns ----------------------------------------------------------------------------------------------------

def test_a_takedown_takes_the_product_off_sale_and_keeps_what_it_was(street):
    tenant, _other, shop, fake, _ = street
    with tenant_scope(tenant):
        record = enforcement.take_down(fake, "counterfeit", "假冒某品牌")
        db.session.commit()
        assert fake.status == ProductStatus.archived
        fake.title = "改过的名字"  # the merchant renames it afterwards: the record still says what was taken down
        db.session.commit()
        assert (record.product_title, record.skus, record.shop_name, record.merchant_name) == (
            "仿冒名牌手表", "W-1", "鲜果坊", "郑州鲜果坊有限公司")
        assert record.reason_label == "假冒伪劣" and record.reported_at is None
        with pytest.raises(EnforcementError, match="不在售"):
            enforcement.take_down(fake, "counterfeit")


def test_a_takedown_record_cannot_be_rewritten_or_deleted_only_stamped_once_as_reported(street):
    tenant, _other, _shop, fake, _ = street
    with tenant_scope(tenant):
        record = enforcement.take_down(fake, "false_advertising", "宣称“包治百病”")
        db.session.commit()
        record.reason = "other"
        with pytest.raises(EnforcementError):
            db.session.flush()
        db.session.rollback()
        db.session.delete(record)
        with pytest.raises(EnforcementError):
            db.session.flush()
        db.session.rollback()
        assert enforcement.mark_reported([record]) == 1
        db.session.commit()
        record.reported_at = utcnow() + timedelta(days=1)
        with pytest.raises(EnforcementError):
            db.session.flush()
        db.session.rollback()


def test_a_takedown_needs_a_reason_from_the_list_and_other_needs_words(street):
    tenant, _other, _shop, fake, _ = street
    with tenant_scope(tenant):
        with pytest.raises(EnforcementError, match="下架理由"):
            enforcement.take_down(fake, "ugly")
        with pytest.raises(EnforcementError, match="具体情形"):
            enforcement.take_down(fake, "other", "  ")
        assert fake.status == ProductStatus.active


def test_the_operator_takes_a_listing_down_from_the_console_and_downloads_the_report(street, client):
    tenant, _other, _shop, fake, other_product = street
    client.login("operator@shangdu.example", PASSWORD)
    page = "/operator/law-street/enforcement"
    assert client.get(page).status_code == 200
    response = client.submit("/operator/law-street/takedowns", {"product_id": str(fake.id), "reason": "counterfeit",
                                                                "reason_text": "假冒某品牌"}, page_url=page)
    assert response.status_code == 303
    listing = _page(client.get(page))
    assert "已下架“仿冒名牌手表”" in listing and "假冒伪劣：假冒某品牌" in listing and "未报告" in listing
    # Another market's product is not found here, and stays on sale.
    crossing = client.submit("/operator/law-street/takedowns", {"product_id": str(other_product.id),
                                                                "reason": "counterfeit"}, page_url=page)
    assert crossing.status_code == 303
    assert f"没有编号为 {other_product.id} 的商品" in _page(client.get(page))
    db.session.expire_all()
    assert db.session.get(type(other_product), other_product.id).status == ProductStatus.active

    period = enforcement.today(tenant).strftime("%Y-%m")
    report = client.get(f"/operator/law-street/takedowns.csv?period={period}")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(report.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["下架编号", "下架时间", "商业街/市场"]
    assert [row[6:9] for row in rows[1:]] == [["仿冒名牌手表", "W-1", "假冒伪劣"]]
    db.session.expire_all()
    with tenant_scope(tenant):  # downloading only reads: looking at the report is not sending it
        assert db.session.scalar(select(TakedownRecord)).reported_at is None
    assert "未报告" in _page(client.get(page))
    marked = client.submit("/operator/law-street/takedowns/reported", {"period": period}, page_url=page)
    assert marked.status_code == 303
    assert f"已将 {period} 的 1 条下架记录标记为已报告" in _page(client.get(page))
    db.session.expire_all()
    with tenant_scope(tenant):
        assert db.session.scalar(select(TakedownRecord)).reported_at is not None
    bad = client.get("/operator/law-street/takedowns.csv?period=2026-13")
    assert bad.status_code == 303 and "YYYY-MM" in _page(client.get(page))


def test_the_monthly_report_command_covers_every_tenant_and_marks_the_rows(app, street):
    tenant, other, _shop, fake, other_product = street
    with tenant_scope(tenant):
        enforcement.take_down(fake, "prohibited")
        db.session.commit()
    with tenant_scope(other):
        enforcement.take_down(other_product, "unlicensed")
        db.session.commit()
    period = enforcement.today(tenant).strftime("%Y-%m")
    result = app.test_cli_runner().invoke(args=["trust", "takedowns-report", "--period", period])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert sorted((row[2], row[6], row[8]) for row in rows[1:]) == [("乙街", "乙街棉布", "未取得许可的商品"),
                                                                     ("德化街", "仿冒名牌手表", "禁止交易的商品")]
    assert "共 2 条下架记录" in result.stderr
    db.session.expire_all()
    with tenant_scope(tenant):
        assert enforcement.unreported_takedowns(tenant, utcnow() + timedelta(days=80)) == []
    bad = app.test_cli_runner().invoke(args=["trust", "takedowns-report", "--period", "11/2026"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.stderr


def test_a_takedown_left_out_of_the_reports_is_overdue_after_its_month_and_grace(street):
    tenant, _other, _shop, fake, _ = street
    with tenant_scope(tenant):
        enforcement.take_down(fake, "prohibited")
        db.session.commit()
        assert enforcement.unreported_takedowns(tenant) == []  # this month's report is not due yet
        assert enforcement.unreported_takedowns(tenant, utcnow() + timedelta(days=80)) == [
            f"仿冒名牌手表 ({enforcement.today(tenant).isoformat()})"]


# -- sanctions ----------------------------------------------------------------------------------------------------

def test_a_warning_is_public_at_once_on_the_sanctions_page_shop_page_and_badge_until_it_ends(street, client):
    tenant, _other, shop, *_ = street
    badge = _badge(tenant, shop)
    until = enforcement.today(tenant) + timedelta(days=7)
    client.login("operator@shangdu.example", PASSWORD)
    response = client.submit("/operator/law-street/sanctions", {"shop_id": str(shop.id), "measure": "warning",
                                                                "violation": "商品详情页虚假宣传", "until": until.isoformat()},
                             page_url="/operator/law-street/enforcement")
    assert response.status_code == 303
    public = _page(client.get("/t/law-street/sanctions"))
    assert "鲜果坊" in public and "商品详情页虚假宣传" in public and "警示" in public and until.isoformat() in public
    shop_page = _page(client.get("/t/law-street/s/fruit/"))
    assert "平台处理措施：警示（商品详情页虚假宣传）" in shop_page and "电子标识</span>：<span class=\"badge-state\">警示" in shop_page
    assert "商品详情页虚假宣传" in _page(client.get("/t/law-street/s/fruit/licence"))
    assert _state(tenant, badge) == BadgeState.warning
    assert badges.verify(badge.serial).trustworthy  # still a genuine badge of a trading shop
    with tenant_scope(tenant):
        after = enforcement.end_of_day(tenant, until) + timedelta(minutes=1)
        assert enforcement.public_sanctions(after) == []
    assert _state(tenant, badge, after) == BadgeState.valid
    assert "商品详情页虚假宣传" not in _page(client.get("/t/other-street/sanctions"))


def test_a_suspension_stops_the_shop_until_its_end_then_the_job_reopens_it(app, street, client):
    tenant, _other, shop, *_ = street
    badge = _badge(tenant, shop)
    until = enforcement.today(tenant) + timedelta(days=3)
    with tenant_scope(tenant):
        enforcement.impose(shop, "suspension", "销售假冒商品", until=until)
        db.session.commit()
    assert client.get("/t/law-street/s/fruit/").status_code == 404
    public = _page(client.get("/t/law-street/sanctions"))
    assert "暂停服务" in public and "销售假冒商品" in public
    assert _state(tenant, badge) == BadgeState.suspended
    with tenant_scope(tenant):
        assert enforcement.apply_due().reopened == 0  # not over yet
        after = enforcement.end_of_day(tenant, until) + timedelta(minutes=1)
        assert enforcement.apply_due(after).reopened == 1
        db.session.commit()
        assert db.session.get(Shop, shop.id).status == ShopStatus.active
    result = app.test_cli_runner().invoke(args=["trust", "enforcement"])
    assert result.exit_code == 0, result.output


def test_a_termination_has_no_end_and_keeps_the_shop_closed(street):
    tenant, _other, shop, *_ = street
    with tenant_scope(tenant):
        sanction = enforcement.impose(shop, "termination", "多次销售禁售商品")
        db.session.commit()
        assert sanction.until is None and shop.status == ShopStatus.suspended
        far = utcnow() + timedelta(days=3650)
        assert enforcement.apply_due(far).reopened == 0
        assert enforcement.public_sanctions(far) == [sanction]
        sanction.violation = "改写"
        with pytest.raises(EnforcementError):
            db.session.flush()
        db.session.rollback()


def test_a_sanction_needs_a_measure_a_violation_and_a_future_end(street, client):
    tenant, _other, shop, *_ = street
    today = enforcement.today(tenant)
    with tenant_scope(tenant):
        with pytest.raises(EnforcementError, match="违法行为"):
            enforcement.impose(shop, "warning", " ", until=today)
        with pytest.raises(EnforcementError, match="处理措施"):
            enforcement.impose(shop, "fine", "x", until=today)
        with pytest.raises(EnforcementError, match="截止日期"):
            enforcement.impose(shop, "suspension", "x")
        with pytest.raises(EnforcementError, match="早于今天"):
            enforcement.impose(shop, "warning", "x", until=today - timedelta(days=1))
    client.login("operator@shangdu.example", PASSWORD)
    page = "/operator/law-street/enforcement"
    for form, message in (({"shop_id": str(shop.id), "measure": "warning", "violation": "x", "until": "明天"},
                           "YYYY-MM-DD"),
                          ({"shop_id": "999999", "measure": "warning", "violation": "x", "until": "2099-01-01"},
                           "没有这家店铺")):
        assert client.submit("/operator/law-street/sanctions", form, page_url=page).status_code == 303
        assert message in _page(client.get(page))
    with tenant_scope(tenant):
        assert enforcement.all_sanctions() == []


def test_another_markets_shop_cannot_be_sanctioned_from_this_console(street, client):
    tenant, other, *_ = street
    with tenant_scope(other):
        other_shop = db.session.scalar(select(Shop).where(Shop.slug == "b-cloth"))
    client.login("operator@shangdu.example", PASSWORD)
    page = "/operator/law-street/enforcement"
    client.submit("/operator/law-street/sanctions", {"shop_id": str(other_shop.id), "measure": "termination",
                                                     "violation": "越界"}, page_url=page)
    assert "没有这家店铺" in _page(client.get(page))
    db.session.expire_all()
    with tenant_scope(other):
        assert db.session.get(Shop, other_shop.id).status == ShopStatus.active
        assert enforcement.all_sanctions() == []
    assert client.get("/operator/other-street/enforcement").status_code == 404


# -- closing notices ----------------------------------------------------------------------------------------------

def test_the_merchant_announces_the_last_day_30_days_ahead_and_the_shop_closes_after_it(street, client):
    tenant, _other, shop, *_ = street
    badge = _badge(tenant, shop)
    earliest = enforcement.earliest_last_day(tenant)
    client.login("owner@shangdu.example", PASSWORD)
    page = "/merchant/law-street/fruit/closing"
    too_soon = (earliest - timedelta(days=1)).isoformat()
    assert client.submit(page, {"last_day": too_soon}).status_code == 303
    assert f"最后经营日不能早于 {earliest.isoformat()}" in _page(client.get(page))
    assert client.submit(page, {"last_day": earliest.isoformat(), "note": "店面拆迁"}).status_code == 303
    assert f"本店已公示：将于 {earliest.isoformat()} 终止经营" in _page(client.get(page))
    shop_page = _page(client.get("/t/law-street/s/fruit/"))
    assert f"本店将于 {earliest.isoformat()} 终止经营：店面拆迁" in shop_page
    assert f"将于 {earliest.isoformat()} 终止经营</span>" in shop_page  # on the badge line too
    assert _state(tenant, badge) == BadgeState.closing
    with tenant_scope(tenant):
        with pytest.raises(EnforcementError, match="已公示"):
            enforcement.announce_closing(shop, earliest + timedelta(days=5), actor_id=None, by_operator=True)
        last_moment = enforcement.end_of_day(tenant, earliest) - timedelta(minutes=1)
        assert enforcement.apply_due(last_moment).closed == 0  # it trades through its last day
        assert enforcement.apply_due(last_moment + timedelta(minutes=2)).closed == 1
        db.session.commit()
    assert client.get("/t/law-street/s/fruit/").status_code == 404


def test_the_operator_can_announce_a_closing_and_others_cannot_use_the_merchant_page(street, client, make_user):
    tenant, _other, shop, *_ = street
    client.login("operator@shangdu.example", PASSWORD)
    earliest = enforcement.earliest_last_day(tenant)
    page = "/operator/law-street/enforcement"
    client.submit("/operator/law-street/closing-notices", {"shop_id": str(shop.id), "last_day": "2020-01-01"},
                  page_url=page)
    assert "须提前 30 日公示" in _page(client.get(page))
    client.submit("/operator/law-street/closing-notices", {"shop_id": str(shop.id),
                                                           "last_day": earliest.isoformat()}, page_url=page)
    listing = _page(client.get(page))
    assert f"“鲜果坊”将于 {earliest.isoformat()} 终止经营" in listing and "运营方" in listing
    make_user("stranger@shangdu.example")
    client.login("stranger@shangdu.example", PASSWORD)
    assert client.get("/merchant/law-street/fruit/closing").status_code == 403


def test_a_whole_street_announces_its_closing_on_every_page_and_closes_after_the_last_day(street, client):
    tenant, other, *_ = street
    client.login("operator@shangdu.example", PASSWORD)
    page = "/operator/law-street/enforcement"
    earliest = enforcement.earliest_last_day(tenant)
    client.submit("/operator/law-street/closing-notices/tenant",
                  {"last_day": (earliest - timedelta(days=1)).isoformat(), "note": "市场搬迁"}, page_url=page)
    assert "须提前 30 日公示" in _page(client.get(page))
    client.submit("/operator/law-street/closing-notices/tenant", {"last_day": earliest.isoformat(), "note": ""},
                  page_url=page)
    assert "请填写终止经营的说明" in _page(client.get(page))
    client.submit("/operator/law-street/closing-notices/tenant",
                  {"last_day": earliest.isoformat(), "note": "市场整体搬迁至新址"}, page_url=page)
    banner = f"本商业街/市场将于 {earliest.isoformat()} 后终止经营。"
    for url in ("/t/law-street/", "/t/law-street/s/fruit/", "/t/law-street/search?q=手表"):
        shown = _page(client.get(url))
        assert banner in shown and "市场整体搬迁至新址" in shown, url
    assert banner not in _page(client.get("/t/other-street/"))
    with tenant_scope(tenant):
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "enforcement.tenant_closing_announced"))
        assert entry is not None and entry.details["last_day"] == earliest.isoformat()
        with pytest.raises(EnforcementError, match="已公示"):
            enforcement.announce_tenant_closing(tenant, earliest + timedelta(days=9), actor_id=None, note="再次")
        last_moment = enforcement.end_of_day(tenant, earliest) - timedelta(minutes=1)
        assert not enforcement.apply_due(last_moment).tenant_closed  # it trades through its last day
        assert enforcement.apply_due(last_moment + timedelta(minutes=2)).tenant_closed
        db.session.commit()
    assert tenant.status == "suspended" and other.status == "live"
    client.post("/account/logout", data={"csrf_token": client.csrf_token("/t/law-street/")})
    assert client.get("/t/law-street/").status_code == 503  # residents find the street closed


# -- what the specification checks read -----------------------------------------------------------------------------

def test_a_sanction_published_later_than_the_next_working_day_is_named(street):
    tenant, _other, shop, *_ = street
    friday = utcnow().replace(year=2026, month=11, day=27, hour=10, minute=0, second=0, microsecond=0)
    with tenant_scope(tenant):
        for published in (friday, friday + timedelta(days=3)):  # at once; the Monday after: both in time
            db.session.add(enforcement.Sanction(tenant_id=tenant.id, shop_id=shop.id, shop_name="准时公示",
                                                measure="warning", violation="x", decided_at=friday,
                                                published_at=published))
        db.session.commit()
        assert enforcement.published_late() == []
        db.session.add(enforcement.Sanction(tenant_id=tenant.id, shop_id=shop.id, shop_name="鲜果坊", measure="warning",
                                            violation="x", decided_at=friday, published_at=friday + timedelta(days=4)))
        db.session.commit()
        assert enforcement.published_late() == ["鲜果坊 (2026-11-27)"]


def test_a_closing_notice_shorter_than_30_days_is_named(street):
    tenant, _other, shop, *_ = street
    with tenant_scope(tenant):
        notice = enforcement.announce_closing(shop, enforcement.earliest_last_day(tenant), actor_id=None,
                                              by_operator=False)
        db.session.commit()
        assert enforcement.notices_too_short(tenant) == []
        notice.announced_at += timedelta(days=2)  # as if it had gone up two days late
        db.session.commit()
        assert enforcement.notices_too_short(tenant) == [f"鲜果坊 ({notice.last_day.isoformat()})"]


# -- review fixes: odd ids, far dates, the takedown's hold, the audit log ---------------------------------------------

def _audit_actions(tenant) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == tenant.id)
                                   .order_by(AuditEntry.id)))


@pytest.mark.parametrize("raw", ["²", "99999999999", "2147483648", "-1", "１２"])
def test_an_id_that_is_no_row_number_is_not_found_never_a_server_error(street, client, raw):
    tenant, _other, shop, fake, _ = street
    client.login("operator@shangdu.example", PASSWORD)
    page = "/operator/law-street/enforcement"
    response = client.submit("/operator/law-street/takedowns", {"product_id": raw, "reason": "counterfeit"},
                             page_url=page)
    assert response.status_code == 303
    assert f"没有编号为 {raw} 的商品" in _page(client.get(page))
    for url, form in (("/operator/law-street/sanctions", {"shop_id": raw, "measure": "termination", "violation": "x"}),
                      ("/operator/law-street/closing-notices", {"shop_id": raw, "last_day": "2099-01-01"})):
        assert client.submit(url, form, page_url=page).status_code == 303
        assert "没有这家店铺" in _page(client.get(page))
    assert client.submit("/operator/law-street/takedowns/release", {"takedown_id": raw, "reason": "x"},
                         page_url=page).status_code == 303
    assert "没有这条下架记录" in _page(client.get(page))
    db.session.expire_all()
    assert db.session.get(Shop, shop.id).status == ShopStatus.active


def test_dates_beyond_the_years_the_forms_take_are_a_message_never_a_server_error(street, client):
    tenant, _other, shop, *_ = street
    with tenant_scope(tenant):
        for period in ("0000-01", "0001-01", "9999-12", "1999-12", "2101-01"):
            with pytest.raises(EnforcementError, match="2000 至 2100"):
                enforcement.period_bounds(tenant, period)
        assert enforcement.period_bounds(tenant, "2100-12")[1].year == 2101  # the last month still has an end
        with pytest.raises(EnforcementError, match="2000 至 2100"):
            enforcement.impose(shop, "suspension", "x", until=date(9999, 12, 31))
        with pytest.raises(EnforcementError, match="2000 至 2100"):
            enforcement.announce_closing(shop, date(9999, 12, 31), actor_id=None, by_operator=True)
    client.login("operator@shangdu.example", PASSWORD)
    page = "/operator/law-street/enforcement"
    for url, form in (("/operator/law-street/sanctions", {"shop_id": str(shop.id), "measure": "suspension",
                                                          "violation": "x", "until": "9999-12-31"}),
                      ("/operator/law-street/closing-notices", {"shop_id": str(shop.id), "last_day": "9999-12-31"}),
                      ("/operator/law-street/takedowns/reported", {"period": "0001-01"})):
        assert client.submit(url, form, page_url=page).status_code == 303
        assert "年份须在 2000 至 2100 之间" in _page(client.get(page))
    for period in ("0000-01", "9999-12"):
        assert client.get(f"/operator/law-street/takedowns.csv?period={period}").status_code == 303
        assert "年份须在 2000 至 2100 之间" in _page(client.get(page))
    client.login("owner@shangdu.example", PASSWORD)
    closing = "/merchant/law-street/fruit/closing"
    assert client.submit(closing, {"last_day": "9999-12-31"}).status_code == 303
    assert "年份须在 2000 至 2100 之间" in _page(client.get(closing))
    db.session.expire_all()
    with tenant_scope(tenant):
        assert enforcement.all_sanctions() == [] and enforcement.recent_notices() == []
        assert db.session.get(Shop, shop.id).status == ShopStatus.active


def test_a_taken_down_product_stays_off_sale_until_the_operator_releases_it(street, client):
    tenant, _other, shop, fake, _ = street
    _badge(tenant, shop)  # the merchant's platform approval, which publishing needs
    with tenant_scope(tenant):
        record = enforcement.take_down(fake, "counterfeit", "假冒某品牌")
        db.session.commit()
        with pytest.raises(CatalogError) as refused:
            catalog.publish_product(fake)
        assert refused.value.code == "taken_down" and "解除下架前不能重新上架" in str(refused.value)
        db.session.rollback()
        record_id = record.id
    # The merchant's console says why; the product stays archived.
    client.login("owner@shangdu.example", PASSWORD)
    products = "/merchant/law-street/fruit/products/"
    client.submit(f"/merchant/law-street/fruit/products/{fake.id}/publish", {}, page_url=products)
    assert "解除下架前不能重新上架" in _page(client.get(products))
    db.session.expire_all()
    assert db.session.get(type(fake), fake.id).status == ProductStatus.archived

    client.login("operator@shangdu.example", PASSWORD)
    page = "/operator/law-street/enforcement"
    assert "限制重新上架" in _page(client.get(page))
    client.submit("/operator/law-street/takedowns/release", {"takedown_id": str(record_id), "reason": " "},
                  page_url=page)
    assert "请写明解除下架的理由" in _page(client.get(page))
    client.submit("/operator/law-street/takedowns/release", {"takedown_id": str(record_id),
                                                             "reason": "经营者提交了正品授权书"}, page_url=page)
    listing = _page(client.get(page))
    assert "已解除对“仿冒名牌手表”的下架" in listing and "经营者提交了正品授权书" in listing
    client.submit("/operator/law-street/takedowns/release", {"takedown_id": str(record_id), "reason": "再来一次"},
                  page_url=page)
    assert "该下架已于此前解除" in _page(client.get(page))

    client.login("owner@shangdu.example", PASSWORD)
    client.submit(f"/merchant/law-street/fruit/products/{fake.id}/publish", {}, page_url=products)
    db.session.expire_all()
    assert db.session.get(type(fake), fake.id).status == ProductStatus.active
    with tenant_scope(tenant):  # the record stays, released, and says what was taken down
        record = db.session.get(TakedownRecord, record_id)
        assert record.product_title == "仿冒名牌手表" and record.released_at is not None
        assert record.release_reason == "经营者提交了正品授权书"
        record.release_reason = "改写"
        with pytest.raises(EnforcementError):
            db.session.flush()
        db.session.rollback()


def test_another_markets_takedown_cannot_be_released_from_this_console(street, client):
    _tenant, other, _shop, _fake, other_product = street
    with tenant_scope(other):
        record = enforcement.take_down(other_product, "prohibited")
        db.session.commit()
        record_id = record.id
    client.login("operator@shangdu.example", PASSWORD)
    page = "/operator/law-street/enforcement"
    client.submit("/operator/law-street/takedowns/release", {"takedown_id": str(record_id), "reason": "越界"},
                  page_url=page)
    assert "没有这条下架记录" in _page(client.get(page))
    db.session.expire_all()
    with tenant_scope(other):
        assert db.session.get(TakedownRecord, record_id).released_at is None
        assert enforcement.takedown_holds(other_product.id, other.id)


def test_the_operators_enforcement_actions_are_in_the_audit_log(street, client):
    tenant, _other, shop, fake, _ = street
    client.login("operator@shangdu.example", PASSWORD)
    page = "/operator/law-street/enforcement"
    client.submit("/operator/law-street/takedowns", {"product_id": str(fake.id), "reason": "counterfeit"},
                  page_url=page)
    with tenant_scope(tenant):
        record_id = db.session.scalar(select(TakedownRecord.id))
    client.submit("/operator/law-street/takedowns/release", {"takedown_id": str(record_id), "reason": "误判"},
                  page_url=page)
    client.submit("/operator/law-street/takedowns/reported", {"period": enforcement.today(tenant).strftime("%Y-%m")},
                  page_url=page)
    client.submit("/operator/law-street/sanctions", {"shop_id": str(shop.id), "measure": "warning", "violation": "x",
                                                     "until": enforcement.today(tenant).isoformat()}, page_url=page)
    client.submit("/operator/law-street/closing-notices", {
        "shop_id": str(shop.id), "last_day": enforcement.earliest_last_day(tenant).isoformat()}, page_url=page)
    assert _audit_actions(tenant) == ["enforcement.takedown", "enforcement.takedown_released",
                                      "enforcement.takedowns_reported", "enforcement.sanction",
                                      "enforcement.closing_announced"]
    released = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "enforcement.takedown_released"))
    assert released.actor_name == "operator@shangdu.example" and released.details["reason"] == "误判"
    assert released.action_label == "解除下架"


def test_the_closing_notices_come_with_their_shops_loaded(street):
    tenant, _other, shop, *_ = street
    with tenant_scope(tenant):
        enforcement.announce_closing(shop, enforcement.earliest_last_day(tenant), actor_id=None, by_operator=False)
        db.session.commit()
        db.session.expire_all()
        [notice] = enforcement.recent_notices()
        assert "shop" not in sa_inspect(notice).unloaded  # the page's n.shop costs no query per row
