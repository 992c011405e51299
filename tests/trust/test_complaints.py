"""Complaints: filed against one's own paid order, answered by the merchant within its hours, accepted or escalated
by the resident, decided by the operator; every step on a clock (``now=``), reminded once, audited for good,
exported for the regulator, and never visible across tenants or to another resident."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.db import AppendOnly, utcnow
from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import Address
from marketplace.delivery.services import address_record
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import cli as trust_cli
from marketplace.trust import complaints
from marketplace.trust.complaints import Complaint, ComplaintError, ComplaintEvent
from tests.fixtures.factories import PASSWORD
from tests.media.samples import encode, picture
from tests.orders.test_notifications import Outbox
from tests.orders.test_place_order import fill
from tests.spec.trust_world import application

S = complaints.ComplaintStatus
BUYER = "buyer@complaints.example"
MERCHANT_MAIL = "owner@seed-shop.example"
OPERATOR = "operator@complaints.example"
HOME = Address(recipient="张三丰", mobile="13812341234", province_code="410000", city_code="410100",
               district_code="410102", street="大学路 18 号 3 单元 502")


@pytest.fixture(autouse=True)
def _sent_here(app, monkeypatch):
    """Notices go to RQ when Redis is configured (CI): these tests read what is sent in this process."""
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", None)


@pytest.fixture
def outbox(app):
    return Outbox(Path(app.instance_path))


@pytest.fixture
def market(app_ctx, make_tenant, make_merchant, make_shop, make_category, make_product, make_user):
    """A seed shop, its owner, the tenant's operator, a buyer with a paid order, collected; and an unpaid one."""
    tenant = make_tenant(slug="seed-street")
    merchant = make_merchant(legal_name="郑州市惠济区丰收种子店", registration_number="92410108MA9F00001X",
                             contact_email=MERCHANT_MAIL)
    shop = make_shop(tenant, slug="harvest", name_zh="丰收种子", merchant=merchant)
    category = make_category(tenant, product_type="general.goods")
    seeds = make_product(shop, category=category, title="玉米种子 郑单958", price=4500, stock=100)
    buyer = make_user(BUYER)
    owner = make_user("owner@harvest.example", role=Role.merchant_owner, tenant=tenant, shop=shop)
    operator = make_user(OPERATOR, role=Role.tenant_operator, tenant=tenant)
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, fill(tenant, buyer, {seeds: 2}), "complaint-1").orders[0]
        for step in ("paid", "accepted", "ready_for_pickup", "picked_up"):
            orders.transition(order, step)
        unpaid = orders.place_order(tenant, buyer.id, fill(tenant, buyer, {seeds: 1}), "complaint-2").orders[0]
        db.session.commit()
    return tenant, shop, buyer, order, unpaid, owner, operator


def _complaint_url(tenant, order) -> str:
    with tenant_scope(tenant):
        return f"/t/{tenant.slug}/orders/{order.group.number}/{order.number}/complaint"


#: What the complaint form asks beside the category and the facts.
CLAIM = {"claim": "compensation", "claim_detail": "赔偿种子款 90 元", "complainant_address": "郑州市惠济区 花园口镇 八堡村 3 号"}


def _file(tenant, order, buyer, now, **kw):
    values = {"category": "quality", "description": "发芽率不到三成，和包装上写的 85% 相差太远。", **CLAIM, **kw}
    return complaints.file_complaint(tenant, order, buyer_id=buyer.id, now=now, **values)


def _sent_home(tenant, order) -> None:
    """The order as if the buyer had it sent home: its shipment keeps the address the way checkout does."""
    with tenant_scope(tenant):
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        shipment.address = address_record(HOME, "河南省 郑州市 中原区 大学路 18 号 3 单元 502")
        db.session.commit()


def test_filed_answered_accepted_with_every_step_on_the_clock_and_in_the_trail(market):
    tenant, shop, buyer, order, _unpaid, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        complaints.complaint_settings.set(tenant, "merchant_hours", 24)
        complaint = _file(tenant, order, buyer, t0)
        assert complaint.status == S.filed and complaint.answer_due == t0 + timedelta(hours=24)
        assert complaint.due_at == complaint.answer_due and complaint.number.startswith("TS")
        assert not complaints.may_complain(order)  # one open complaint per order
        complaints.answer(complaint, actor_id=owner.id, text="已补发一袋新批次种子。", now=t0 + timedelta(hours=3))
        assert complaint.status == S.answered and complaint.due_at == t0 + timedelta(hours=3, days=7)
        complaints.accept(complaint, actor_id=buyer.id, now=t0 + timedelta(hours=5))
        db.session.commit()
        db.session.expire_all()
        complaint = db.session.get(Complaint, complaint.id)
        assert complaint.status == S.resolved and complaint.due_at is None and complaint.open_order_id is None
        assert complaint.closed_at == t0 + timedelta(hours=5)
        trail = [(e.from_status, e.to_status, e.actor_id, e.at) for e in complaint.events]
        assert trail == [("", S.filed, buyer.id, t0), (S.filed, S.answered, owner.id, t0 + timedelta(hours=3)),
                         (S.answered, S.resolved, buyer.id, t0 + timedelta(hours=5))]
        assert complaint.events[1].note == "已补发一袋新批次种子。"
        # Closed: the order may be complained about again.
        assert complaints.may_complain(order)
    assert complaints.complaint_outcomes(shop, t0) == {"upheld": 0, "partly_upheld": 0, "rejected": 0, "resolved": 1}
    assert complaints.complaint_outcomes(shop, t0 + timedelta(hours=6))["resolved"] == 0


def test_every_move_out_of_turn_or_with_bad_input_is_refused_and_changes_nothing(market, make_user):
    tenant, _shop, buyer, order, unpaid, owner, operator = market
    stranger = make_user()
    t0 = utcnow()
    with tenant_scope(tenant):
        for kw, message in (({"category": "fraud"}, "请选择投诉类型"), ({"description": "  "}, "请填写"),
                            ({"description": "字" * 2001}, "2000"), ({"description": "坏\x00"}, "无法识别"),
                            ({"photos": ["0" * 64] * 7}, "最多"), ({"claim": "everything"}, "请选择投诉请求"),
                            ({"claim": ""}, "请选择投诉请求"),
                            ({"claim": "other", "claim_detail": " "}, "请填写具体要求"),
                            ({"claim_detail": "字" * 501}, "500"), ({"complainant_address": "  "}, "请填写通讯地址"),
                            ({"complainant_address": "路" * 301}, "300")):
            with pytest.raises(ComplaintError, match=message):
                _file(tenant, order, buyer, t0, **kw)
        with pytest.raises(ComplaintError, match="自己的订单"):
            _file(tenant, order, stranger, t0)
        with pytest.raises(ComplaintError, match="未付款"):
            _file(tenant, unpaid, buyer, t0)
        complaint = _file(tenant, order, buyer, t0, description="字" * 2000)
        with pytest.raises(ComplaintError, match="已有一件"):
            _file(tenant, order, buyer, t0)
        with pytest.raises(ComplaintError):  # nothing to accept or escalate before the answer
            complaints.accept(complaint, actor_id=buyer.id, now=t0)
        with pytest.raises(ComplaintError):
            complaints.escalate(complaint, actor_id=buyer.id, now=t0)
        with pytest.raises(ComplaintError):  # the operator decides escalated complaints only
            complaints.decide(complaint, actor_id=operator.id, outcome="upheld", now=t0)
        with pytest.raises(ComplaintError, match="请填写"):
            complaints.answer(complaint, actor_id=operator.id, text="", now=t0)
        with pytest.raises(ComplaintError, match="期限已过"):
            complaints.answer(complaint, actor_id=operator.id, text="晚了", now=t0 + timedelta(hours=48))
        complaints.answer(complaint, actor_id=operator.id, text="请提供照片", now=t0 + timedelta(hours=47))
        with pytest.raises(ComplaintError):  # answered once
            complaints.answer(complaint, actor_id=operator.id, text="再答一次", now=t0 + timedelta(hours=47))
        with pytest.raises(ComplaintError, match="投诉人"):  # only the complainant accepts or escalates
            complaints.accept(complaint, actor_id=operator.id, now=t0 + timedelta(hours=48))
        with pytest.raises(ComplaintError, match="期限已过"):
            complaints.escalate(complaint, actor_id=buyer.id, now=t0 + timedelta(hours=47, days=7))
        complaints.escalate(complaint, actor_id=buyer.id, reason="照片早已提供", now=t0 + timedelta(days=2))
        with pytest.raises(ComplaintError, match="处理结果"):
            complaints.decide(complaint, actor_id=operator.id, outcome="resolved", now=t0 + timedelta(days=3))
        with pytest.raises(ComplaintError, match="处理说明"):  # partly upheld needs its note
            complaints.decide(complaint, actor_id=operator.id, outcome="partly_upheld", now=t0 + timedelta(days=3))
        db.session.flush()
        db.session.expire_all()
        assert [e.to_status for e in db.session.get(Complaint, complaint.id).events] == [S.filed, S.answered,
                                                                                         S.escalated]


def test_a_complaint_records_the_claim_and_where_the_complainant_takes_post(market):
    tenant, _shop, buyer, order, _unpaid, _owner, _operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        with pytest.raises(ComplaintError) as refused:
            _file(tenant, order, buyer, t0, complainant_address=" ")
        assert refused.value.field == "complainant_address"  # the API names the field
        with pytest.raises(ComplaintError) as refused:
            _file(tenant, order, buyer, t0, claim="other", claim_detail="")
        assert refused.value.field == "claim_detail"
        written = _file(tenant, order, buyer, t0, claim="other", claim_detail="公开道歉并退一半货款",
                        complainant_address="  郑州市惠济区\n花园口镇 八堡村 3 号 ")
        assert (written.claim, written.claim_text) == ("other", "其他：公开道歉并退一半货款")
        assert written.complainant_address == "郑州市惠济区 花园口镇 八堡村 3 号"  # one line, as on an envelope
        db.session.rollback()
        collected = _file(tenant, order, buyer, t0, claim="refund", claim_detail="", complainant_address=None)
        assert collected.complainant_address == "" and collected.claim_text == "仅退款"  # nothing to fall back on
        db.session.rollback()
    # Sent home: no address given takes the shipping address — the place, not the recipient's name or mobile.
    _sent_home(tenant, order)
    with tenant_scope(tenant):
        sent = _file(tenant, order, buyer, t0, claim="return_refund", claim_detail="", complainant_address=None)
        assert sent.complainant_address == "河南省 郑州市 中原区 大学路 18 号 3 单元 502"
        assert sent.claim_text == "退货退款"


def test_the_operator_decides_and_the_outcome_feeds_the_credit_score_and_the_trail_cannot_be_rewritten(market):
    tenant, shop, buyer, order, _unpaid, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        complaint = _file(tenant, order, buyer, t0)
        complaints.answer(complaint, actor_id=owner.id, text="种子没问题，是播种太深。", now=t0 + timedelta(hours=1))
        complaints.escalate(complaint, actor_id=buyer.id, now=t0 + timedelta(hours=2))
        assert complaint.decide_due == t0 + timedelta(hours=2, days=7) == complaint.due_at
        complaints.decide(complaint, actor_id=operator.id, outcome="partly_upheld", note="退还一半货款。",
                          now=t0 + timedelta(days=1))
        db.session.commit()
        assert complaint.status == S.partly_upheld and complaint.decision_note == "退还一半货款。"
        second = _file(tenant, order, buyer, t0 + timedelta(days=2), category="service")
        complaints.answer(second, actor_id=owner.id, text="抱歉", now=t0 + timedelta(days=2, hours=1))
        complaints.escalate(second, actor_id=buyer.id, now=t0 + timedelta(days=2, hours=2))
        complaints.decide(second, actor_id=operator.id, outcome="rejected", now=t0 + timedelta(days=3))
        db.session.commit()
        event = db.session.scalar(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id))
        event.note = "改过的记录"
        with pytest.raises(AppendOnly):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AppendOnly):
            db.session.delete(db.session.get(ComplaintEvent, event.id))
            db.session.flush()
        db.session.rollback()
    assert complaints.complaint_outcomes(shop, t0) == {"upheld": 0, "partly_upheld": 1, "rejected": 1, "resolved": 0}


def test_silence_escalates_or_resolves_and_each_step_is_reminded_once(market, outbox):
    tenant, _shop, buyer, order, _unpaid, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        complaint = _file(tenant, order, buyer, t0)
        db.session.commit()
        assert len(outbox.mails(MERCHANT_MAIL)) == 1  # the merchant hears of the complaint
        outbox.mark_read()

        def run(at):
            done = complaints.run_due(tenant, now=at)
            db.session.commit()
            return done.escalated, done.resolved, done.reminded

        assert run(t0 + timedelta(hours=23)) == (0, 0, 0)
        assert run(t0 + timedelta(hours=24)) == (0, 0, 1)  # halfway through the merchant's 48 hours
        [reminder] = outbox.mails(MERCHANT_MAIL)
        assert complaint.number in reminder["Subject"] and "答复" in reminder.get_content()
        outbox.mark_read()
        assert run(t0 + timedelta(hours=30)) == (0, 0, 0)  # once per step
        assert outbox.mails() == []
        assert run(t0 + timedelta(hours=48)) == (1, 0, 0)  # the merchant kept silent
        db.session.expire_all()
        complaint = db.session.get(Complaint, complaint.id)
        assert complaint.status == S.escalated and complaint.escalated_automatically
        assert complaint.events[-1].actor_id is None and complaint.decide_due == t0 + timedelta(hours=48, days=7)
        assert len(outbox.mails(OPERATOR)) == 1 and len(outbox.mails(BUYER)) == 1
        outbox.mark_read()
        assert run(t0 + timedelta(hours=60, days=3)) == (0, 0, 1)  # the operator, halfway
        assert len(outbox.mails(OPERATOR)) == 1
        assert run(t0 + timedelta(days=30)) == (0, 0, 0)  # overdue stays in the queue for a person to decide
        assert db.session.get(Complaint, complaint.id).status == S.escalated

        # The resident's silence lets the merchant's answer stand.
        complaints.decide(complaint, actor_id=operator.id, outcome="upheld", now=t0 + timedelta(days=30))
        other = _file(tenant, order, buyer, t0 + timedelta(days=31))
        complaints.answer(other, actor_id=owner.id, text="已退款", now=t0 + timedelta(days=31, hours=1))
        db.session.commit()
        assert run(t0 + timedelta(days=38, hours=1)) == (0, 1, 0)
        assert db.session.get(Complaint, other.id).status == S.resolved


def test_the_hourly_command_runs_the_deadlines_of_every_tenant(app, market):
    tenant, _shop, buyer, order, _unpaid, owner, operator = market
    with tenant_scope(tenant):
        complaint = _file(tenant, order, buyer, utcnow() - timedelta(hours=49))
        db.session.commit()
    result = app.test_cli_runner().invoke(trust_cli.trust, ["complaints-due"])
    assert result.exit_code == 0, result.output
    assert "seed-street" in result.output
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(Complaint, complaint.id).status == S.escalated


# -- pages ----------------------------------------------------------------------------------------------------

def test_a_resident_files_from_the_order_and_follows_it_in_the_account(client, market, make_tenant):
    tenant, _shop, buyer, order, _unpaid, owner, operator = market
    client.login(BUYER, PASSWORD)
    url = _complaint_url(tenant, order)
    _sent_home(tenant, order)
    page = client.get(url)
    assert page.status_code == 200 and "商品质量" in page.get_data(as_text=True)
    assert "退货退款" in page.get_data(as_text=True)
    assert 'value="河南省 郑州市 中原区 大学路 18 号 3 单元 502"' in page.get_data(as_text=True)  # changeable
    refused = client.submit(url, {"category": "quality", "description": "", **CLAIM})
    assert refused.status_code == 400 and "请填写" in refused.get_data(as_text=True)
    no_claim = client.submit(url, {"category": "quality", "description": "发芽率低", "claim_detail": "退钱",
                                   "complainant_address": "八堡村 3 号"})
    assert no_claim.status_code == 400 and "请选择投诉请求" in no_claim.get_data(as_text=True)
    assert "退钱" in no_claim.get_data(as_text=True)  # what was typed is kept
    no_address = client.submit(url, {"category": "quality", "description": "发芽率低", "claim": "refund"})
    assert no_address.status_code == 400 and "请填写通讯地址" in no_address.get_data(as_text=True)
    sent = client.submit(url, {"category": "not_as_described", "description": "包装写 85% 发芽率", **CLAIM})
    assert sent.status_code == 303
    with tenant_scope(tenant):
        complaint = db.session.scalar(select(Complaint))
    assert complaint.claim == "compensation" and complaint.complainant_address == CLAIM["complainant_address"]
    assert sent.headers["Location"].endswith(f"/t/seed-street/complaints/{complaint.number}")
    detail = client.get(f"/t/seed-street/complaints/{complaint.number}").get_data(as_text=True)
    assert "描述不符" in detail and "待商家答复" in detail and "商家答复期限" in detail
    assert "赔偿：赔偿种子款 90 元" in detail and CLAIM["complainant_address"] in detail
    assert client.get(url).status_code == 303  # the open one, not a second form
    mine = client.get("/account/complaints").get_data(as_text=True)
    assert complaint.number in mine
    # Another tenant's URL for the same numbers finds nothing.
    make_tenant(slug="other-street")
    assert client.get(f"/t/other-street/complaints/{complaint.number}").status_code == 404
    assert client.get(url.replace("seed-street", "other-street")).status_code == 404


def test_evidence_photos_go_through_the_media_pipeline(client, market):
    tenant, _shop, _buyer, order, _unpaid, _owner, _operator = market
    client.login(BUYER, PASSWORD)
    url = _complaint_url(tenant, order)
    form = {"category": "quality", "description": "见照片", **CLAIM}
    bad = client.submit(url, {**form, "photos": (io.BytesIO(b"not an image"), "a.png")},
                        content_type="multipart/form-data")
    assert bad.status_code == 400
    with tenant_scope(tenant):
        assert db.session.scalar(select(Complaint)) is None
    sent = client.submit(url, {**form, "photos": (io.BytesIO(encode(picture(), "PNG")), "seeds.png")},
                         content_type="multipart/form-data")
    assert sent.status_code == 303
    with tenant_scope(tenant):
        complaint = db.session.scalar(select(Complaint))
    [sha] = complaint.photos
    assert len(sha) == 64
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert sha in page


def test_someone_elses_order_or_complaint_is_not_found(client, market, make_user):
    tenant, _shop, buyer, order, _unpaid, owner, operator = market
    with tenant_scope(tenant):
        complaint = _file(tenant, order, buyer, utcnow())
        db.session.commit()
    make_user("neighbour@complaints.example")
    client.login("neighbour@complaints.example", PASSWORD)
    assert client.get(_complaint_url(tenant, order)).status_code == 404
    assert client.get(f"/t/seed-street/complaints/{complaint.number}").status_code == 404
    assert complaint.number not in client.get("/account/complaints").get_data(as_text=True)
    accept = client.submit(f"/t/seed-street/complaints/{complaint.number}/accept", {}, page_url="/account/complaints")
    assert accept.status_code == 404


def test_the_merchant_answers_and_the_resident_escalates_through_the_pages(client, make_client, market):
    tenant, _shop, buyer, order, _unpaid, owner, operator = market
    with tenant_scope(tenant):
        complaint = _file(tenant, order, buyer, utcnow())
        db.session.commit()
    client.login("owner@harvest.example", PASSWORD)
    listing = client.get("/merchant/seed-street/harvest/complaints").get_data(as_text=True)
    assert complaint.number in listing
    page = f"/merchant/seed-street/harvest/complaints/{complaint.number}"
    shown = client.get(page).get_data(as_text=True)
    # The merchant reads what the resident asks for, not where they live.
    assert "赔偿种子款 90 元" in shown and CLAIM["complainant_address"] not in shown
    assert client.submit(page + "/answer", {"answer": ""}, page_url=page).status_code == 303
    answered = client.submit(page + "/answer", {"answer": "请寄回剩余种子，我们检测后退款。"}, page_url=page)
    assert answered.status_code == 303
    assert "请寄回剩余种子" in client.get(page).get_data(as_text=True)
    resident = make_client()
    resident.login(BUYER, PASSWORD)
    mine = f"/t/seed-street/complaints/{complaint.number}"
    assert resident.submit(mine + "/escalate", {"reason": "不同意"}, page_url=mine).status_code == 303
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(Complaint, complaint.id).status == S.escalated


def test_the_operator_queue_puts_overdue_first_decides_and_exports_for_the_regulator(client, market, make_user,
                                                                                    make_tenant):
    tenant, shop, buyer, order, _unpaid, owner, operator = market
    application(shop, business_address="郑州市惠济区 丰收路 1 号")  # what the operator verified: the respondent's address
    buyer.display_name, buyer.mobile = "张三丰", "13812341234"
    db.session.commit()
    now = utcnow()
    with tenant_scope(tenant):
        late = _file(tenant, order, buyer, now - timedelta(days=3))  # the merchant's 48 hours are gone
        complaints.answer(late, actor_id=owner.id, text="ok", now=now - timedelta(days=3) + timedelta(hours=1))
        complaints.escalate(late, actor_id=buyer.id, now=now - timedelta(days=3) + timedelta(hours=2))
        late.due_at = now - timedelta(hours=1)  # the operator's own deadline passed an hour ago
        db.session.commit()
    client.login(OPERATOR, PASSWORD)
    queue = client.get("/operator/seed-street/complaints").get_data(as_text=True)
    assert late.number in queue and "已逾期" in queue
    page = f"/operator/seed-street/complaints/{late.number}"
    shown = client.get(page).get_data(as_text=True)
    assert "92410108MA9F00001X" in shown and CLAIM["complainant_address"] in shown and "赔偿种子款 90 元" in shown
    assert "被投诉人地址" in shown and "郑州市惠济区 丰收路 1 号" in shown
    refused = client.submit(page + "/decide", {"outcome": "partly_upheld", "note": ""}, page_url=page)
    assert refused.status_code == 303
    decided = client.submit(page + "/decide", {"outcome": "upheld", "note": "发芽率不达标。"}, page_url=page)
    assert decided.status_code == 303
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(Complaint, late.id).status == S.upheld

    response = client.get("/operator/seed-street/complaints/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:8] == ["投诉编号", "投诉时间", "订单号", "店铺", "经营者名称", "统一社会信用代码/注册号", "投诉类型", "状态"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["投诉编号"] == late.number and row["经营者名称"] == "郑州市惠济区丰收种子店"
    assert row["统一社会信用代码/注册号"] == "92410108MA9F00001X" and row["投诉类型"] == "商品质量"
    assert row["处理结果"] == "投诉成立" and row["处理说明"] == "发芽率不达标。" and row["商家答复期限"]
    # What 12315 asks for: the complainant, the respondent's address, the claim and the facts.
    assert (row["投诉人"], row["投诉人电话"]) == ("张三丰", "13812341234")
    assert row["投诉人通讯地址"] == CLAIM["complainant_address"] and row["被投诉人地址"] == "郑州市惠济区 丰收路 1 号"
    assert row["投诉请求"] == "赔偿：赔偿种子款 90 元" and row["争议事实"].startswith("发芽率不到三成")

    xlsx = client.get("/operator/seed-street/complaints/export.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "投诉编号" and values[1][0] == late.number and values[1][3] == shop.name_zh
    bad = client.get("/operator/seed-street/complaints/export.csv?from=2026-13-45")
    assert bad.status_code == 303
    # Another tenant's export holds none of these.
    make_user("admin@complaints.example", role=Role.platform_admin)
    admin = client.application.test_client()
    admin.login("admin@complaints.example", PASSWORD)
    make_tenant(slug="other-street")
    elsewhere = admin.get("/operator/other-street/complaints/export.csv").get_data().decode("utf-8-sig")
    assert late.number not in elsewhere and len(list(csv.reader(io.StringIO(elsewhere)))) == 1
    # A resident, or a merchant, gets no operator page.
    resident = client.application.test_client()
    assert resident.get("/operator/seed-street/complaints").status_code in (302, 401, 403)
