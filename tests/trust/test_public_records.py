"""Public regulatory records (国家企业信用信息公示系统) entered by the operator feed the shop credit (spec CE-7): the
shop page's score and level drop at once, search's stored standing follows, a serious violator is D, a removal
restores the score; bad input is refused field by field with nothing written; records are never deleted."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.audit import AuditEntry
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.search import services as search
from marketplace.search.backend import SearchQuery
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import public_records
from marketplace.trust.credit import ShopCredit, shop_credit
from marketplace.trust.public_records import PublicRecord, PublicRecordError, RecordInput
from tests.trust.test_reviews import place, review

PASSWORD = "correct-horse-42"
FIVE_STARS = {"product": 5, "described": 5, "service": 5, "delivery": 5}
PAGE = "/operator/review-street/public-records"
AUTHORITY = "郑州市二七区市场监督管理局"
#: A decision a month ago (a future one is refused).
DECIDED = date.today() - timedelta(days=30)


@pytest.fixture
def street(market, make_user):
    """The review street's fruit shop with a firm A (five five-star reviews), its operator and its owner."""
    tenant, shop, apples, pears, buyer = market
    for n in range(5):
        review(tenant, place(tenant, buyer, {apples: 1, pears: 1}, f"records-{n}"), buyer, ratings=FIVE_STARS)
    make_user("operator@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    return tenant, shop, apples, pears


def _form(merchant_id, **kw) -> dict:
    return {"merchant_id": str(merchant_id), "kind": "abnormal_operations", "authority": AUTHORITY,
            "document_number": "二七市监异〔2026〕7号", "decided_on": DECIDED.isoformat(), "listed_until": "",
            "summary": "通过登记的住所无法联系", **kw}


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _stored(tenant, shop) -> tuple[int, str]:
    db.session.expire_all()
    with tenant_scope(tenant):
        row = db.session.scalar(select(ShopCredit).where(ShopCredit.shop_id == shop.id))
        return row.score, row.level


def _found(tenant, level: str) -> set[int]:
    with tenant_scope(tenant):
        return set(search.search(tenant, SearchQuery(credit_levels=[level], size=50)).result.ids)


def _records(tenant) -> list[PublicRecord]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.scalars(select(PublicRecord).order_by(PublicRecord.id)))


def _audit(tenant, action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tenant.id,
                                                            AuditEntry.action == action)))


def test_a_record_entered_by_the_operator_lowers_the_shop_at_once_and_a_removal_restores_it(street, client):
    tenant, shop, apples, pears = street
    assert _stored(tenant, shop) == (93, "A") and _found(tenant, "A") == {apples.id, pears.id}
    client.login("operator@shangdu.example", PASSWORD)
    page = client.get(PAGE)
    assert page.status_code == 200 and shop.merchant.legal_name in _text(page)

    response = client.submit(PAGE, _form(shop.merchant_id))
    assert response.status_code == 303
    # The abnormal-operations listing takes 10 points: 92.5 − 10 = 82.5 → 83, B — on the page and in search.
    assert _stored(tenant, shop) == (83, "B")
    assert _found(tenant, "B") == {apples.id, pears.id} and _found(tenant, "A") == set()
    shop_page = _text(client.get("/t/review-street/s/fruit/"))
    assert "83" in shop_page and "B 良好" in shop_page
    for shown in ("经营异常名录", AUTHORITY, "二七市监异〔2026〕7号", DECIDED.isoformat()):
        assert shown in shop_page
    [row] = _records(tenant)
    assert (row.kind, row.recorded_by_name, row.removed_at) == ("abnormal_operations", "测试用户", None)
    [entry] = _audit(tenant, "public_record.recorded")
    assert entry.target_id == str(row.id) and entry.details["document_number"] == "二七市监异〔2026〕7号"
    assert entry.actor_name == "operator@shangdu.example"

    removal = client.submit(f"{PAGE}/{row.id}/remove", {"removed_on": date.today().isoformat(),
                                                       "removal_note": "已补报年报，移出经营异常名录"}, page_url=PAGE)
    assert removal.status_code == 303
    assert _stored(tenant, shop) == (93, "A") and _found(tenant, "A") == {apples.id, pears.id}
    shop_page = _text(client.get("/t/review-street/s/fruit/"))
    assert "shop-public-records" not in shop_page and "A 优秀" in shop_page
    [row] = _records(tenant)  # kept, with its removal
    assert row.removed_on == date.today() and row.removal_note == "已补报年报，移出经营异常名录"
    assert _audit(tenant, "public_record.removed")[0].details["removed_on"] == date.today().isoformat()
    operator_page = _text(client.get(PAGE))
    assert "已移出" in operator_page and "二七市监异〔2026〕7号" in operator_page


def test_a_serious_violator_is_d_whatever_its_points_and_search_files_it_under_d(street, client, make_shop):
    tenant, shop, apples, pears = street
    sister = make_shop(tenant, slug="fruit-2", name_zh="鲜果坊二店", merchant=shop.merchant)  # new: provisional
    client.login("operator@shangdu.example", PASSWORD)
    response = client.submit(PAGE, _form(shop.merchant_id, kind="serious_violation", document_number="豫严违〔2026〕1号"))
    assert response.status_code == 303
    # 92.5 − 20 = 72.5 → 73, which would be C: on the serious-violation list it is D, its score capped at 64 (so
    # no C shop ranks below it). Both of the merchant's shops move, the new one too (no longer 新店: no guess).
    assert _stored(tenant, shop) == (64, "D") and _stored(tenant, sister) == (64, "D")
    assert _found(tenant, "D") == {apples.id, pears.id}
    shop_page = _text(client.get("/t/review-street/s/fruit/"))
    assert "D 待改进" in shop_page and "严重违法失信名单" in shop_page
    with tenant_scope(tenant):
        result = shop_credit(shop)
        assert (result.score, result.level, result.deduction, result.provisional) == (64, "D", 20, False)


def test_deductions_add_up_to_twenty_at_most_and_a_listed_period_ends_by_itself(street):
    tenant, shop, *_ = street
    with tenant_scope(tenant):
        for n in range(3):  # three penalties: 15; with a failed inspection: 18; a fourth penalty would be 23 → 20
            public_records.record(tenant, shop.merchant, RecordInput(
                "administrative_penalty", AUTHORITY, f"罚〔2026〕{n}号", DECIDED))
        public_records.record(tenant, shop.merchant, RecordInput("failed_inspection", AUTHORITY, "抽〔2026〕1号",
                                                                 DECIDED, listed_until=date.today() + timedelta(days=9)))
        db.session.commit()
        assert shop_credit(shop).deduction == 18
        public_records.record(tenant, shop.merchant, RecordInput("administrative_penalty", AUTHORITY, "罚〔2026〕9号",
                                                                 DECIDED))
        db.session.commit()
        assert (shop_credit(shop).deduction, shop_credit(shop).score) == (20, 73)
        # Eleven days on, the inspection's listed period is over: 20 still (four penalties), it no longer counts.
        later = shop_credit(shop, utcnow() + timedelta(days=11))
        assert (later.inputs.failed_inspections, later.inputs.administrative_penalties) == (0, 4)
    assert _stored(tenant, shop) == (73, "C")


def test_the_merchants_credit_page_shows_the_records_and_the_points_they_take(street, client):
    tenant, shop, *_ = street
    with tenant_scope(tenant):
        public_records.record(tenant, shop.merchant, RecordInput("administrative_penalty", AUTHORITY, "罚〔2026〕3号",
                                                                 DECIDED, summary="销售过期食品"))
        db.session.commit()
    client.login("owner@shangdu.example", PASSWORD)
    page = _text(client.get("/merchant/review-street/fruit/credit"))
    assert "−5" in page and "行政处罚 1 条" in page and "罚〔2026〕3号" in page and "销售过期食品" in page


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"authority": "  "}, "authority", "请填写决定机关。"),
    ({"document_number": ""}, "document_number", "请填写文书号。"),
    ({"decided_on": ""}, "decided_on", "请填写决定日期"),
    ({"decided_on": (date.today() + timedelta(days=3)).isoformat()}, "decided_on", "决定日期不能晚于今天。"),
    ({"listed_until": (DECIDED - timedelta(days=1)).isoformat()}, "listed_until", "公示截止日期不能早于决定日期。"),
    ({"decided_on": "0001-01-01"}, "decided_on", "日期的年份须在"),
    ({"kind": "rumour"}, "kind", ""),
    ({"merchant_id": ""}, "merchant_id", "请选择经营者。"),
    ({"merchant_id": "99999999999"}, "merchant_id", "本商业街/市场没有这家经营者。"),
])
def test_a_record_that_cannot_be_is_refused_by_field_with_nothing_written(street, client, change, field, message):
    tenant, shop, *_ = street
    client.login("operator@shangdu.example", PASSWORD)
    response = client.submit(PAGE, {**_form(shop.merchant_id), **change})
    assert response.status_code == 400
    page = _text(response)
    assert 'class="field has-error"' in page and f'name="{field}"' in page and message in page
    assert _records(tenant) == [] and _audit(tenant, "public_record.recorded") == []
    assert _stored(tenant, shop) == (93, "A")


def test_another_markets_merchant_cannot_be_given_a_record_here(street, client, make_tenant, make_shop):
    tenant, *_ = street
    elsewhere = make_shop(make_tenant(slug="other-street"), slug="cloth", name_zh="乙街布行")
    client.login("operator@shangdu.example", PASSWORD)
    response = client.submit(PAGE, _form(elsewhere.merchant_id))
    assert response.status_code == 400 and "本商业街/市场没有这家经营者。" in _text(response)
    assert _records(tenant) == []


@pytest.mark.parametrize(("removed_on", "message"), [
    (lambda: DECIDED - timedelta(days=1), "移出日期不能早于决定日期。"),
    (lambda: date.today() + timedelta(days=3), "移出日期不能晚于今天。"),
    (lambda: None, "请填写移出日期"),
])
def test_a_removal_that_cannot_be_is_refused_and_the_record_still_counts(street, client, removed_on, message):
    tenant, shop, *_ = street
    with tenant_scope(tenant):
        row = public_records.record(tenant, shop.merchant, RecordInput("administrative_penalty", AUTHORITY,
                                                                       "罚〔2026〕5号", DECIDED))
        db.session.commit()
    assert _stored(tenant, shop) == (88, "B")
    client.login("operator@shangdu.example", PASSWORD)
    day = removed_on()
    response = client.submit(f"{PAGE}/{row.id}/remove", {"removed_on": day.isoformat() if day else ""}, page_url=PAGE)
    assert response.status_code == 400 and message in _text(response)
    assert [r.removed_at for r in _records(tenant)] == [None] and _audit(tenant, "public_record.removed") == []
    assert _stored(tenant, shop) == (88, "B")


def test_records_are_never_deleted_or_rewritten_and_removed_once(street):
    tenant, shop, *_ = street
    with tenant_scope(tenant):
        row = public_records.record(tenant, shop.merchant, RecordInput("failed_inspection", AUTHORITY, "抽〔2026〕2号",
                                                                       DECIDED))
        db.session.commit()
        row.authority = "别的机关"
        with pytest.raises(PublicRecordError, match="cannot be changed"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(row)
        with pytest.raises(PublicRecordError, match="cannot be deleted"):
            db.session.flush()
        db.session.rollback()
        public_records.remove(tenant, row, date.today())
        db.session.commit()
        with pytest.raises(PublicRecordError, match="已于此前移出"):
            public_records.remove(tenant, row, date.today())
        row.removed_at = utcnow()  # a second stamp past the service
        with pytest.raises(PublicRecordError, match="cannot be changed"):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(func.count(PublicRecord.id))) == 1


@pytest.mark.parametrize("who", ["owner@shangdu.example", "other-operator@shangdu.example"])
def test_only_this_markets_operator_may_open_the_page_or_act(street, client, make_user, make_tenant, who):
    tenant, shop, *_ = street
    with tenant_scope(tenant):
        row = public_records.record(tenant, shop.merchant, RecordInput("administrative_penalty", AUTHORITY,
                                                                       "罚〔2026〕6号", DECIDED))
        db.session.commit()
    make_user("other-operator@shangdu.example", role=Role.tenant_operator, tenant=make_tenant(slug="other-street"))
    client.login(who, PASSWORD)
    assert client.get(PAGE).status_code in (403, 404)
    merchant_page = "/merchant/review-street/fruit/credit" if who.startswith("owner") else "/account/"
    assert client.submit(PAGE, _form(shop.merchant_id), page_url=merchant_page).status_code in (403, 404)
    assert client.submit(f"{PAGE}/{row.id}/remove", {"removed_on": date.today().isoformat()},
                         page_url=merchant_page).status_code in (403, 404)
    assert [r.removed_at for r in _records(tenant)] == [None]
    assert _audit(tenant, "public_record.recorded") == [] and _audit(tenant, "public_record.removed") == []


def test_signed_out_visitors_are_sent_to_log_in(street, client):
    assert client.get(PAGE).status_code == 302


def test_the_operator_console_links_the_page(street, client):
    client.login("operator@shangdu.example", PASSWORD)
    assert PAGE in client.get("/operator/review-street/").get_data(as_text=True)


def test_a_record_id_no_database_holds_is_not_found(street, client):
    client.login("operator@shangdu.example", PASSWORD)
    response = client.submit(f"{PAGE}/99999999999/remove", {"removed_on": date.today().isoformat()}, page_url=PAGE)
    assert response.status_code == 404
