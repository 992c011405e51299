"""Intellectual-property notices: a rights holder's notice takes the product off sale once the operator finds it
complete, the merchant's counter-notice reaches the holder with a 15-day clock, the measure ends when the holder
stays silent and holds when they report a complaint or lawsuit; every step is timed (``now=``), audited for good,
published without contact details, and never visible across tenants."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.catalog.services import CatalogError
from marketplace.core.audit import AuditEntry
from marketplace.core.db import AppendOnly, utcnow
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import cli as trust_cli
from marketplace.trust import ip_notices
from marketplace.trust.ip_notices import IpNotice, IpNoticeError, IpNoticeEvent, NoticeInput
from tests.fixtures.factories import PASSWORD
from tests.media.samples import encode, picture
from tests.orders.test_notifications import Outbox

S = ip_notices.IpNoticeStatus
HOLDER = "legal@brand.example"
MERCHANT_MAIL = "owner@bag-stall.example"
OPERATOR = "operator@ip.example"
CONTACT = "法务部 13800000000"


@pytest.fixture(autouse=True)
def _sent_here(app, monkeypatch):
    """Messages go to RQ when Redis is configured (CI): these tests read what is sent in this process."""
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", None)


@pytest.fixture
def outbox(app):
    return Outbox(Path(app.instance_path))


@pytest.fixture
def market(app_ctx, make_tenant, make_merchant, make_shop, make_category, make_product, make_user):
    """A bag stall selling a bag a brand says copies its trademark; the brand's lawyer, the stall's owner and the
    market's operator."""
    tenant = make_tenant(slug="bag-market")
    merchant = make_merchant(legal_name="郑州市金水区箱包店", registration_number="92410105MA9F00002X",
                             contact_email=MERCHANT_MAIL)
    shop = make_shop(tenant, slug="bags", name_zh="好运箱包", merchant=merchant)
    category = make_category(tenant, product_type="general.goods")
    bag = make_product(shop, category=category, title="经典格纹手提包", price=19900, stock=10)
    holder = make_user(HOLDER)
    owner = make_user("owner@bags.example", role=Role.merchant_owner, tenant=tenant, shop=shop)
    operator = make_user(OPERATOR, role=Role.tenant_operator, tenant=tenant)
    return tenant, shop, bag, holder, owner, operator


def _evidence() -> list[str]:
    return ip_notices.ingest_evidence([encode(picture(), "PNG")])


def _form(**values) -> NoticeInput:
    fields = {"right_kind": "trademark", "right_number": "第 1234567 号", "holder_name": "格纹服饰有限公司",
              "description": "商品使用与我司注册商标相同的格纹图案。", "contact": CONTACT, "warned": True, **values}
    return NoticeInput(**fields)


def _file(tenant, bag, holder, now, **values) -> IpNotice:
    return ip_notices.file_notice(tenant, bag, _form(**values), holder_id=holder.id, photos=_evidence(), now=now)


def _statuses(notice) -> list[tuple[str, str]]:
    db.session.expire_all()
    events = db.session.scalars(select(IpNoticeEvent).where(IpNoticeEvent.notice_id == notice.id)
                                .order_by(IpNoticeEvent.id))
    return [(e.from_status, e.to_status) for e in events]


def test_taken_down_countered_and_restored_when_the_holder_stays_silent_for_15_days(market, outbox):
    tenant, _shop, bag, holder, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        notice = _file(tenant, bag, holder, t0)
        db.session.commit()
        assert notice.status == S.filed and notice.review_due == t0 + timedelta(hours=48) == notice.due_at
        assert len(outbox.mails(OPERATOR)) == 1  # the operator hears of it; the merchant not yet
        assert outbox.mails(MERCHANT_MAIL) == []
        outbox.mark_read()

        ip_notices.take_down(notice, actor_id=operator.id, now=t0 + timedelta(hours=3))
        db.session.commit()
        assert bag.status == "draft" and notice.product_was_active
        assert notice.forwarded_at == t0 + timedelta(hours=3) and notice.due_at is None  # the measure just holds
        [forwarded] = outbox.mails(MERCHANT_MAIL)
        assert notice.number in forwarded["Subject"] and "第 1234567 号" in forwarded.get_content()
        outbox.mark_read()
        # The merchant cannot put the product back on sale while the measure holds.
        with pytest.raises(CatalogError) as refused:
            catalog.publish_product(bag)
        assert refused.value.code == "ip_measure"
        db.session.rollback()

        t1 = t0 + timedelta(days=2)
        ip_notices.counter(notice, actor_id=owner.id, statement="该图案为我店自行设计，已取得外观设计专利。",
                           photos=_evidence(), now=t1)
        db.session.commit()
        assert notice.status == S.countered and notice.counter_forwarded_at == t1
        assert notice.holder_due == notice.due_at == t1 + timedelta(days=15)
        [to_holder] = outbox.mails(HOLDER)
        assert "起诉" in to_holder.get_content() and "投诉" in to_holder.get_content()
        outbox.mark_read()

        assert ip_notices.run_due(tenant, now=t1 + timedelta(days=15) - timedelta(minutes=1)).restored == 0
        db.session.commit()
        assert db.session.get(IpNotice, notice.id).status == S.countered
        assert ip_notices.run_due(tenant, now=t1 + timedelta(days=15)).restored == 1
        db.session.commit()
        notice = db.session.get(IpNotice, notice.id)
        assert notice.status == S.restored and notice.restored_at == notice.closed_at == t1 + timedelta(days=15)
        assert db.session.get(type(bag), bag.id).status == "active"  # back on sale
        assert "重新上架" in outbox.mails(MERCHANT_MAIL)[-1].get_content()
        assert _statuses(notice) == [("", "filed"), ("filed", "taken_down"), ("taken_down", "countered"),
                                     ("countered", "restored")]
        assert notice.events[-1].actor_id is None  # the platform's job, not a person


def test_a_reported_complaint_or_lawsuit_keeps_the_measure(market, outbox):
    tenant, _shop, bag, holder, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        notice = _file(tenant, bag, holder, t0)
        ip_notices.take_down(notice, actor_id=operator.id, now=t0)
        ip_notices.counter(notice, actor_id=owner.id, statement="不侵权。", photos=_evidence(), now=t0)
        db.session.commit()
        with pytest.raises(IpNoticeError, match="只有发出通知的权利人"):
            ip_notices.report_action(notice, actor_id=owner.id, reference="(2026)豫0105民初1号", now=t0)
        with pytest.raises(IpNoticeError, match="受理编号"):
            ip_notices.report_action(notice, actor_id=holder.id, reference=" ", now=t0)
        outbox.mark_read()  # mails sort by a centisecond stamp: read only what this step sends
        ip_notices.report_action(notice, actor_id=holder.id, reference="(2026)豫0105民初1号",
                                 now=t0 + timedelta(days=14))
        db.session.commit()
        assert notice.status == S.action_reported and notice.action_reference == "(2026)豫0105民初1号"
        assert "下架措施继续" in outbox.mails(MERCHANT_MAIL)[-1].get_content()
        assert ip_notices.run_due(tenant, now=t0 + timedelta(days=40)).restored == 0
        db.session.commit()
        assert db.session.get(type(bag), bag.id).status == "draft"
        with pytest.raises(CatalogError):
            catalog.publish_product(bag)
        db.session.rollback()


def test_a_report_after_the_15_days_is_refused_and_the_measure_ends(market):
    tenant, _shop, bag, holder, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        notice = _file(tenant, bag, holder, t0)
        ip_notices.take_down(notice, actor_id=operator.id, now=t0)
        ip_notices.counter(notice, actor_id=owner.id, statement="不侵权。", photos=_evidence(), now=t0)
        db.session.commit()
        with pytest.raises(IpNoticeError, match="十五日期限已过"):
            ip_notices.report_action(notice, actor_id=holder.id, reference="案号 1", now=t0 + timedelta(days=15))
        db.session.rollback()
        ip_notices.run_due(tenant, now=t0 + timedelta(days=15, hours=1))
        db.session.commit()
        assert db.session.get(IpNotice, notice.id).status == S.restored


def test_an_incomplete_notice_is_rejected_with_a_reason_and_the_product_stays_on_sale(market, outbox):
    tenant, _shop, bag, holder, _owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        notice = _file(tenant, bag, holder, t0)
        db.session.commit()
        with pytest.raises(IpNoticeError, match="不予处理的理由"):
            ip_notices.reject(notice, actor_id=operator.id, reason="", now=t0)
        ip_notices.reject(notice, actor_id=operator.id, reason="商标注册证号查无此号。", now=t0 + timedelta(hours=1))
        db.session.commit()
        assert notice.status == S.rejected and notice.closed_at == t0 + timedelta(hours=1)
        assert bag.status == "active"
        assert "查无此号" in outbox.mails(HOLDER)[-1].get_content()
        assert outbox.mails(MERCHANT_MAIL) == []  # nothing to forward
        assert _statuses(notice) == [("", "filed"), ("filed", "rejected")]


def test_bad_notices_and_moves_out_of_turn_are_refused_and_change_nothing(market, make_product):
    tenant, shop, bag, holder, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        refusals = {"请选择权利类型": {"right_kind": "design"}, "权利登记号或证书号": {"right_number": ""},
                    "权利人名称": {"holder_name": " "}, "侵权说明": {"description": ""}, "联系方式": {"contact": ""},
                    "承担责任": {"warned": False}}
        for message, values in refusals.items():
            with pytest.raises(IpNoticeError, match=message):
                _file(tenant, bag, holder, t0, **values)
        with pytest.raises(IpNoticeError, match="初步证据"):
            ip_notices.file_notice(tenant, bag, _form(), holder_id=holder.id, photos=[], now=t0)
        draft = make_product(shop, title="未上架的包", price=100, stock=1, publish=False)
        with pytest.raises(IpNoticeError, match="未在售"):
            _file(tenant, draft, holder, t0)
        with pytest.raises(IpNoticeError):
            ip_notices.ingest_evidence([b"not an image"])
        db.session.rollback()
        assert db.session.scalar(select(IpNotice)) is None

        notice = _file(tenant, bag, holder, t0)
        db.session.commit()
        with pytest.raises(IpNoticeError, match="不能进行这一步"):  # no counter-notice before a measure
            ip_notices.counter(notice, actor_id=owner.id, statement="不侵权", photos=_evidence(), now=t0)
        with pytest.raises(IpNoticeError, match="不能进行这一步"):
            ip_notices.report_action(notice, actor_id=holder.id, reference="案号", now=t0)
        ip_notices.take_down(notice, actor_id=operator.id, now=t0)
        with pytest.raises(IpNoticeError, match="不能进行这一步"):
            ip_notices.take_down(notice, actor_id=operator.id, now=t0)
        with pytest.raises(IpNoticeError, match="初步证据"):
            ip_notices.counter(notice, actor_id=owner.id, statement="不侵权", photos=[], now=t0)
        db.session.commit()
        assert _statuses(notice) == [("", "filed"), ("filed", "taken_down")]


def test_the_trail_cannot_be_rewritten(market):
    tenant, _shop, bag, holder, _owner, _operator = market
    with tenant_scope(tenant):
        notice = _file(tenant, bag, holder, utcnow())
        db.session.commit()
        event = notice.events[0]
        event.note = "改写"
        with pytest.raises(AppendOnly):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(IpNoticeEvent, event.id))
        with pytest.raises(AppendOnly):
            db.session.flush()
        db.session.rollback()


def test_two_measures_on_one_product_put_it_back_on_sale_only_when_the_last_ends(market):
    tenant, _shop, bag, holder, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        first = _file(tenant, bag, holder, t0)
        second = _file(tenant, bag, holder, t0, right_kind="copyright", right_number="国作登字-2026-F-1")
        ip_notices.take_down(first, actor_id=operator.id, now=t0)
        ip_notices.take_down(second, actor_id=operator.id, now=t0)
        # The bag was on sale before the first measure; the second finds it off sale only because of the first.
        assert first.product_was_active and second.product_was_active
        ip_notices.counter(first, actor_id=owner.id, statement="不侵权", photos=_evidence(), now=t0)
        db.session.commit()
        ip_notices.run_due(tenant, now=t0 + timedelta(days=16))
        db.session.commit()
        # The first measure ended, but the second notice still holds the product.
        assert db.session.get(IpNotice, first.id).status == S.restored
        assert db.session.get(type(bag), bag.id).status == "draft"

        ip_notices.counter(second, actor_id=owner.id, statement="不侵权", photos=_evidence(),
                           now=t0 + timedelta(days=17))
        db.session.commit()
        ip_notices.run_due(tenant, now=t0 + timedelta(days=33))
        db.session.commit()
        assert db.session.get(IpNotice, second.id).status == S.restored
        assert db.session.get(type(bag), bag.id).status == "active"  # the last measure ended: back on sale


def test_a_product_the_merchant_took_off_sale_before_the_measure_stays_off_sale(market):
    tenant, _shop, bag, holder, _owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        notice = _file(tenant, bag, holder, t0)
        catalog.unpublish_product(bag)  # the merchant's own choice, before the operator acted
        ip_notices.take_down(notice, actor_id=operator.id, now=t0)
        assert not notice.product_was_active
        assert ip_notices.end_measure(notice, actor_id=operator.id, reason="权利人撤回通知。", now=t0) is False
        db.session.commit()
        assert db.session.get(type(bag), bag.id).status == "draft"


def _audit(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_the_operator_ends_a_measure_held_by_a_reported_lawsuit(market, outbox):
    tenant, _shop, bag, holder, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        notice = _file(tenant, bag, holder, t0)
        ip_notices.take_down(notice, actor_id=operator.id, now=t0)
        ip_notices.counter(notice, actor_id=owner.id, statement="不侵权。", photos=_evidence(), now=t0)
        ip_notices.report_action(notice, actor_id=holder.id, reference="(2026)豫0105民初1号", now=t0)
        db.session.commit()
        with pytest.raises(IpNoticeError, match="终止措施的理由"):
            ip_notices.end_measure(notice, actor_id=operator.id, reason=" ", now=t0)
        db.session.rollback()
        assert db.session.get(IpNotice, notice.id).status == S.action_reported

        later = t0 + timedelta(days=90)
        outbox.mark_read()
        assert ip_notices.end_measure(notice, actor_id=operator.id, reason="人民法院判决不构成侵权。", now=later)
        db.session.commit()
        notice = db.session.get(IpNotice, notice.id)
        assert notice.status == S.restored and notice.restored_at == later
        assert db.session.get(type(bag), bag.id).status == "active"
        assert _statuses(notice)[-1] == ("action_reported", "restored")
        assert notice.events[-1].actor_id == operator.id and notice.events[-1].note == "人民法院判决不构成侵权。"
        [to_merchant] = outbox.mails(MERCHANT_MAIL)
        assert "重新上架" in to_merchant.get_content()
        [entry] = _audit("ip_notice.measure_ended")
        assert entry.tenant_id == tenant.id and entry.target_id == str(notice.id)
        assert entry.details["reason"] == "人民法院判决不构成侵权。" and entry.details["previous"] == "action_reported"
        # Ended once: nothing is left to end, and a notice that never held a measure has none to end.
        with pytest.raises(IpNoticeError, match="没有需要终止的措施"):
            ip_notices.end_measure(notice, actor_id=operator.id, reason="再次终止", now=later)
        fresh = _file(tenant, bag, holder, later)
        with pytest.raises(IpNoticeError, match="没有需要终止的措施"):
            ip_notices.end_measure(fresh, actor_id=operator.id, reason="权利人撤回通知。", now=later)
        db.session.rollback()


def test_the_operator_ends_the_measure_and_reviews_on_the_pages_and_both_are_audited(make_client, market):
    tenant, _shop, bag, holder, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        withdrawn = _file(tenant, bag, holder, t0)
        doubtful = _file(tenant, bag, holder, t0, right_number="第 7654321 号")
        db.session.commit()
        withdrawn_number, doubtful_number = withdrawn.number, doubtful.number
    desk = make_client()
    desk.login(OPERATOR, PASSWORD)
    detail = f"/operator/bag-market/ip-notices/{withdrawn_number}"
    assert "终止措施" not in desk.get(detail).get_data(as_text=True)  # nothing holds yet
    assert desk.submit(detail + "/review", {"decision": "take_down", "note": "证据充分。"},
                       page_url=detail).status_code == 303
    other = f"/operator/bag-market/ip-notices/{doubtful_number}"
    assert desk.submit(other + "/review", {"decision": "reject", "note": "查无此号。"}, page_url=other).status_code == 303
    with tenant_scope(tenant):
        [taken] = _audit("ip_notice.taken_down")
        [rejected] = _audit("ip_notice.rejected")
        assert taken.actor_name == rejected.actor_name == OPERATOR and taken.tenant_id == tenant.id
        assert taken.details["number"] == withdrawn_number and rejected.details["reason"] == "查无此号。"
        assert db.session.get(type(bag), bag.id).status == "draft"

    assert "终止措施的理由" in desk.get(detail).get_data(as_text=True)
    refused = desk.submit(detail + "/end", {"reason": ""}, page_url=detail)
    assert refused.status_code == 303 and "终止措施的理由" in desk.get(detail).get_data(as_text=True)
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(IpNotice, withdrawn.id).status == S.taken_down
    ended = desk.submit(detail + "/end", {"reason": "权利人书面撤回通知。"}, page_url=detail)
    assert ended.status_code == 303
    assert "商品已重新上架" in desk.get(detail).get_data(as_text=True)
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(IpNotice, withdrawn.id).status == S.restored
        assert db.session.get(type(bag), bag.id).status == "active"
        [entry] = _audit("ip_notice.measure_ended")
        assert entry.actor_name == OPERATOR and entry.details["reason"] == "权利人书面撤回通知。"
    # Only the operator ends a measure: the merchant cannot.
    merchant = make_client()
    merchant.login("owner@bags.example", PASSWORD)
    assert merchant.post(detail + "/end", data={"reason": "x"}).status_code in (400, 403, 404)


def test_each_step_is_reminded_once_halfway(market, outbox):
    tenant, _shop, bag, holder, owner, operator = market
    t0 = utcnow()
    with tenant_scope(tenant):
        notice = _file(tenant, bag, holder, t0)
        db.session.commit()
        outbox.mark_read()

        def reminded(at):
            done = ip_notices.run_due(tenant, now=at)
            db.session.commit()
            return done.reminded

        assert reminded(t0 + timedelta(hours=23)) == 0
        assert reminded(t0 + timedelta(hours=24)) == 1  # halfway through the 48 review hours
        assert notice.number in outbox.mails(OPERATOR)[0]["Subject"]
        assert reminded(t0 + timedelta(hours=30)) == 0
        ip_notices.take_down(notice, actor_id=operator.id, now=t0 + timedelta(hours=30))
        ip_notices.counter(notice, actor_id=owner.id, statement="不侵权", photos=_evidence(),
                           now=t0 + timedelta(days=2))
        db.session.commit()
        outbox.mark_read()
        assert reminded(t0 + timedelta(days=9, hours=12)) == 1  # the holder, halfway through the 15 days
        assert len(outbox.mails(HOLDER)) == 1
        assert reminded(t0 + timedelta(days=12)) == 0


def test_the_hourly_command_ends_the_measures_of_every_tenant(app, market):
    tenant, _shop, bag, holder, owner, operator = market
    t0 = utcnow() - timedelta(days=16)
    with tenant_scope(tenant):
        notice = _file(tenant, bag, holder, t0)
        ip_notices.take_down(notice, actor_id=operator.id, now=t0)
        ip_notices.counter(notice, actor_id=owner.id, statement="不侵权", photos=_evidence(), now=t0)
        db.session.commit()
    result = app.test_cli_runner().invoke(trust_cli.trust, ["ip-notices-due"])
    assert result.exit_code == 0, result.output
    assert "终止措施 1 件" in result.output
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(IpNotice, notice.id).status == S.restored
        assert db.session.get(type(bag), bag.id).status == "active"


# -- pages ----------------------------------------------------------------------------------------------------

def _photo():
    return (io.BytesIO(encode(picture(), "PNG")), "evidence.png")


def test_the_whole_course_through_the_pages_and_the_public_list(client, make_client, market, make_user,
                                                                make_tenant):
    tenant, _shop, bag, holder, owner, operator = market
    client.login(HOLDER, PASSWORD)
    url = f"/t/bag-market/ip-notices/new/{bag.id}"
    page = client.get(url).get_data(as_text=True)
    assert "商标权" in page and "加倍承担赔偿责任" in page  # the Art. 42(3) warning
    form = {"right_kind": "trademark", "right_number": "第 1234567 号", "holder_name": "格纹服饰有限公司",
            "description": "同款格纹。", "contact": CONTACT, "warned": "1"}
    unwarned = client.submit(url, {**{k: v for k, v in form.items() if k != "warned"}, "photos": _photo()},
                             content_type="multipart/form-data")
    assert unwarned.status_code == 400 and "承担责任" in unwarned.get_data(as_text=True)
    bad = client.submit(url, {**form, "photos": (io.BytesIO(b"no image"), "a.png")},
                        content_type="multipart/form-data")
    assert bad.status_code == 400
    sent = client.submit(url, {**form, "photos": _photo()}, content_type="multipart/form-data")
    assert sent.status_code == 303
    with tenant_scope(tenant):
        notice = db.session.scalar(select(IpNotice))
    assert sent.headers["Location"].endswith(f"/t/bag-market/ip-notices/{notice.number}")
    assert "待平台审核" in client.get(sent.headers["Location"]).get_data(as_text=True)

    # Not someone else's, not another tenant's.
    make_user("neighbour@ip.example")
    other = make_client()
    other.login("neighbour@ip.example", PASSWORD)
    assert other.get(f"/t/bag-market/ip-notices/{notice.number}").status_code == 404
    make_tenant(slug="other-market")
    assert client.get(f"/t/other-market/ip-notices/{notice.number}").status_code == 404
    # The merchant sees nothing before the measure.
    merchant = make_client()
    merchant.login("owner@bags.example", PASSWORD)
    assert merchant.get(f"/merchant/bag-market/bags/ip-notices/{notice.number}").status_code == 404

    desk = make_client()
    desk.login(OPERATOR, PASSWORD)
    queue = desk.get("/operator/bag-market/ip-notices").get_data(as_text=True)
    assert notice.number in queue
    detail = f"/operator/bag-market/ip-notices/{notice.number}"
    assert CONTACT in desk.get(detail).get_data(as_text=True)
    refused = desk.submit(detail + "/review", {"decision": "reject", "note": ""}, page_url=detail)
    assert refused.status_code == 303
    taken = desk.submit(detail + "/review", {"decision": "take_down", "note": ""}, page_url=detail)
    assert taken.status_code == 303
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(type(bag), bag.id).status == "draft"

    listing = merchant.get("/merchant/bag-market/bags/ip-notices").get_data(as_text=True)
    assert notice.number in listing
    mine = f"/merchant/bag-market/bags/ip-notices/{notice.number}"
    assert "提交不存在侵权行为的声明" in merchant.get(mine).get_data(as_text=True)
    countered = merchant.submit(mine + "/counter", {"statement": "自有设计。", "photos": _photo()}, page_url=mine,
                                content_type="multipart/form-data")
    assert countered.status_code == 303
    follow = client.get(f"/t/bag-market/ip-notices/{notice.number}").get_data(as_text=True)
    assert "自有设计" in follow and "告知平台已投诉或起诉" in follow
    reported = client.submit(f"/t/bag-market/ip-notices/{notice.number}/action", {"reference": "豫知诉 88 号"},
                             page_url=f"/t/bag-market/ip-notices/{notice.number}")
    assert reported.status_code == 303
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(IpNotice, notice.id).status == S.action_reported

    # Art. 44: published for anyone, without the holder's contact details.
    public = make_client().get("/t/bag-market/ip-notices").get_data(as_text=True)
    assert notice.number in public and "经典格纹手提包" in public and "第 1234567 号" in public
    assert "权利人已投诉或起诉" in public
    assert CONTACT not in public and HOLDER not in public

    export = desk.get("/operator/bag-market/ip-notices/export.csv")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][0] == notice.number and rows[1][12] == "豫知诉 88 号"
    assert merchant.get("/operator/bag-market/ip-notices").status_code in (403, 404)


def test_a_product_not_on_sale_has_no_notice_form(client, market, make_product):
    tenant, shop, _bag, _holder, _owner, _operator = market
    draft = make_product(shop, title="草稿包", price=100, stock=1, publish=False)
    client.login(HOLDER, PASSWORD)
    assert client.get(f"/t/bag-market/ip-notices/new/{draft.id}").status_code == 404
    assert client.get("/t/bag-market/ip-notices/new/999999").status_code == 404


def test_the_product_is_found_by_its_number_or_its_page_address(client, market, make_tenant, make_shop,
                                                                  make_product):
    _tenant, _shop, bag, _holder, _owner, _operator = market
    client.login(HOLDER, PASSWORD)
    assert "权利人提交侵权通知" in client.get("/t/bag-market/ip-notices").get_data(as_text=True)
    for ref in (str(bag.id), f"https://shangdu.example/t/bag-market/p/{bag.id}-bag"):
        found = client.get("/t/bag-market/ip-notices/new", query_string={"product": ref})
        assert found.status_code == 303 and found.headers["Location"].endswith(f"/ip-notices/new/{bag.id}")
    elsewhere = make_product(make_shop(make_tenant(slug="other-market"), slug="x"), title="别处的包")
    for ref in ("手提包", str(elsewhere.id), "99999999999999"):
        refused = client.get("/t/bag-market/ip-notices/new", query_string={"product": ref})
        assert refused.status_code == 400
