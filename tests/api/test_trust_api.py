"""The trust API: a public badge check with the signed payload; public reviews (newest first, hidden ones without
their words) and a buyer's review of a completed line; complaints filed, followed, accepted or escalated by the
resident and answered with the shop's token — refusals as problem JSON with stable codes, nothing written twice,
other people's and other tenants' numbers not found."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import Address
from marketplace.delivery.services import address_record
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.trust import badges, complaints, reviews, verification
from marketplace.trust.complaints import Complaint
from marketplace.trust.reviews import Review
from tests.api.conftest import assert_problem, token_for
from tests.fixtures.factories import PASSWORD
from tests.media.samples import encode, picture
from tests.orders.test_place_order import fill

TO_COMPLETED = ("paid", "accepted", "ready_for_pickup", "picked_up", "completed")
#: What a complaint asks beside the category and the facts; these orders are collected, so the address is given.
ASKED = {"claim": "exchange", "complainant_address": "郑州市二七区 大学路 18 号 3 单元 502"}
STARS = {"product": 5, "described": 4, "service": 3, "delivery": 2}


@dataclass
class Street:
    tenant: Tenant
    shop: object
    other_shop: object
    apples: object
    buyer: object
    token: str  # the shop's owner
    other_token: str  # the other shop's owner

    @property
    def base(self) -> str:
        return f"/api/v1/tenants/{self.tenant.slug}"


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product, make_user) -> Street:
    tenant = make_tenant(slug="laojie")
    shop = make_shop(tenant, slug="laowang", name_zh="老王水果店")
    other = make_shop(tenant, slug="liji", name_zh="李记茶叶")
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(shop, category=category, title="红富士苹果", price=2990, stock=50)
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shop)
    other_owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=other)
    buyer = make_user("buyer@shangdu.example", name="张三丰")
    return Street(tenant, shop, other, apples, buyer, token_for(owner, shop), token_for(other_owner, other))


def place(street: Street, key: str, steps=TO_COMPLETED, buyer=None):
    buyer = buyer or street.buyer
    cart = fill(street.tenant, buyer, {street.apples: 1})
    with tenant_scope(street.tenant):
        order = orders.place_order(street.tenant, buyer.id, cart, key).orders[0]
        for step in steps:
            orders.transition(order, step)
        db.session.commit()
        return order.group.number, order.number, order.lines[0].id


@pytest.fixture
def resident(client, street):
    client.login("buyer@shangdu.example", PASSWORD)
    client.headers = {"X-CSRFToken": client.csrf_token("/account/login")}
    return client


def post(client, url, body, key=None, **headers):
    key = key or str(uuid.uuid4())  # a fresh key per request unless the test retries one
    return client.post(url, json=body, headers={**client.headers, "Idempotency-Key": key, **headers})


def count(model, tenant) -> int:
    with tenant_scope(tenant):
        db.session.commit()
        return db.session.scalar(select(func.count()).select_from(model))


# -- badges -------------------------------------------------------------------------------------------------------

def test_a_badge_is_checked_by_anyone_with_its_signed_payload(client, street, make_user):
    admin = make_user(role=Role.platform_admin)
    with tenant_scope(street.tenant):
        street.shop.merchant.registration_number = "91110108551385082Q"
        verification.approve(street.shop.merchant, actor_id=admin.id, tenant=street.tenant)
        badge = badges.issue_badge(street.shop, actor_id=admin.id)
        serial, payload, signature = badge.serial, badge.payload, badge.signature
        db.session.commit()
    response = client.get(f"/api/v1/badges/{serial}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "valid" and body["trustworthy"] is True and body["signature_valid"] is True
    assert body["payload"] == payload and body["signature"] == signature
    assert badges.signature_valid(body["payload"].encode(), body["signature"])
    assert body["registration_number"] == "91110108551385082Q" and body["shop"] == "老王水果店"
    assert body["tenant"]["slug"] == "laojie" and body["issued_at"] and body["valid_until"]
    assert body["reason"] == "" and body["public_key_url"].endswith("/verify/keys")

    with tenant_scope(street.tenant):
        badges.suspend_badge(db.session.scalar(select(badges.Badge)), "核查中", actor_id=admin.id)
        db.session.commit()
    body = client.get(f"/api/v1/badges/{serial}").get_json()
    assert (body["status"], body["reason"], body["trustworthy"]) == ("suspended", "核查中", False)

    for unknown in ("A" * 22, "not-a-serial!", "x" * 64):
        assert_problem(client.get(f"/api/v1/badges/{unknown}"), 404, "not_found")


# -- reviews ------------------------------------------------------------------------------------------------------

def test_the_buyer_reviews_a_completed_line_once_and_a_retry_writes_nothing(resident, street):
    group, order, line = place(street, "done")
    url = f"{street.base}/orders/{group}/orders/{order}/lines/{line}/review"
    body = {"ratings": STARS, "text": "很甜，下次还买"}
    assert_problem(resident.post(url, json=body, headers=resident.headers), 400, "missing_idempotency_key")
    assert_problem(resident.post(url, json=body, headers={"Idempotency-Key": "r-1"}), 400, "csrf_failed")
    made = post(resident, url, body, "r-1")
    assert made.status_code == 201, made.get_data(as_text=True)
    review = made.get_json()
    assert review["ratings"] == STARS and review["text"] == "很甜，下次还买" and review["buyer"] == "张*"
    assert review["hidden"] is False and review["title"] == "红富士苹果"
    again = post(resident, url, body, "r-1")  # the stored answer, replayed
    assert again.status_code == 201 and again.get_data() == made.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_problem(post(resident, url, {**body, "text": "改主意了"}, "r-2"), 409, "already_reviewed")
    assert count(Review, street.tenant) == 1


def test_review_refusals_are_problems_with_stable_codes(client, resident, street, make_user):
    group, order, line = place(street, "open", steps=("paid", "accepted"))
    url = f"{street.base}/orders/{group}/orders/{order}/lines/{line}/review"
    assert_problem(post(resident, url, {"ratings": STARS}), 409, "not_completed")
    group, order, line = place(street, "done")
    url = f"{street.base}/orders/{group}/orders/{order}/lines/{line}/review"
    bad = assert_problem(post(resident, url, {"ratings": {**STARS, "product": 6}}), 422, "validation_failed")
    assert "ratings.product" in bad["errors"]
    assert "ratings.service" in post(resident, url, {"ratings": {**STARS, "service": True}}).get_json()["errors"]
    assert "ratings.delivery" in post(resident, url, {"ratings": {k: v for k, v in STARS.items()
                                                                  if k != "delivery"}}).get_json()["errors"]
    assert "text" in post(resident, url, {"ratings": STARS, "text": "好" * 1001}).get_json()["errors"]
    assert "text" in post(resident, url, {"ratings": STARS, "text": "a\x00b"}).get_json()["errors"]
    assert_problem(resident.post(url, data="{", content_type="application/json",
                                 headers={**resident.headers, "Idempotency-Key": "x"}), 400, "invalid_json")
    assert_problem(post(resident, url, ["ratings"]), 422, "validation_failed")
    assert count(Review, street.tenant) == 0
    # Someone else's line, and a line that is not in this order, are not found.
    stranger = make_user()
    _g, _o, their_line = place(street, "theirs", buyer=stranger)
    assert_problem(post(resident, f"{street.base}/orders/{group}/orders/{order}/lines/{their_line}/review",
                        {"ratings": STARS}), 404, "not_found")
    assert_problem(post(resident, f"{street.base}/orders/{group}/orders/NOPE/lines/{line}/review",
                        {"ratings": STARS}), 404, "not_found")
    anonymous = client.application.test_client()
    assert_problem(anonymous.post(url, json={"ratings": STARS}, headers={"Idempotency-Key": "a"}), 401,
                   "login_required")


def test_public_reviews_are_newest_first_and_hidden_ones_keep_their_words_to_themselves(client, street, make_user):
    admin = make_user(role=Role.platform_admin)
    ids = []
    for index, text in enumerate(("第一条", "第二条", "广告内容")):
        group, order, line = place(street, f"k-{index}")
        with tenant_scope(street.tenant):
            made = reviews.create_review(street.tenant, db.session.get(orders.OrderLine, line), street.buyer.id,
                                         ratings={**STARS, "product": index + 1}, text=text)
            ids.append(made.id)
            db.session.commit()
    with tenant_scope(street.tenant):
        reviews.hide(street.tenant, db.session.get(Review, ids[2]), admin.id, "ads")
        db.session.commit()
    response = client.get(f"{street.base}/shops/laowang/reviews")
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_json()
    assert [item["id"] for item in page["items"]] == list(reversed(ids))
    hidden = page["items"][0]
    assert hidden["hidden"] is True and hidden["hidden_reason"] == "ads" and hidden["hidden_reason_label"]
    assert hidden["text"] is None and hidden["ratings"] is None and hidden["photos"] == []
    assert "广告内容" not in response.get_data(as_text=True)
    assert page["items"][1]["text"] == "第二条" and page["items"][1]["ratings"]["product"] == 2
    # Hidden reviews still count: (1 + 2 + 3) / 3.
    assert page["ratings"] == {"count": 3, "averages": {"product": 2.0, "described": 4.0, "service": 3.0,
                                                        "delivery": 2.0}}
    assert (page["total"], page["next_cursor"]) == (3, None)
    first = client.get(f"{street.base}/shops/laowang/reviews?limit=2").get_json()
    second = client.get(f"{street.base}/shops/laowang/reviews?limit=2&cursor={first['next_cursor']}").get_json()
    assert [item["id"] for item in second["items"]] == [ids[0]] and second["ratings"] == page["ratings"]
    product = client.get(f"{street.base}/products/{street.apples.id}/reviews").get_json()
    assert product["total"] == 3 and product["ratings"]["count"] == 3
    assert client.get(f"{street.base}/shops/liji/reviews").get_json()["total"] == 0
    assert_problem(client.get(f"{street.base}/shops/nobody/reviews"), 404, "not_found")
    assert_problem(client.get(f"{street.base}/products/999999/reviews"), 404, "not_found")
    assert_problem(client.get(f"{street.base}/shops/laowang/reviews?limit=0"), 422, "validation_failed")
    assert_problem(client.get(f"{street.base}/shops/laowang/reviews?page=2"), 422, "validation_failed")


# -- complaints ---------------------------------------------------------------------------------------------------

def complaint_url(street, group, order):
    return f"{street.base}/orders/{group}/orders/{order}/complaint"


def test_a_resident_files_a_complaint_once_and_follows_it(resident, street, make_user):
    group, order, _line = place(street, "c", steps=("paid", "accepted"))
    body = {**ASKED, "category": "quality", "description": "苹果一半是烂的。"}
    assert_problem(resident.post(complaint_url(street, group, order), json=body, headers=resident.headers), 400,
                   "missing_idempotency_key")
    made = post(resident, complaint_url(street, group, order), body, "c-1")
    assert made.status_code == 201, made.get_data(as_text=True)
    complaint = made.get_json()
    assert complaint["status"] == "filed" and complaint["order_number"] == order and complaint["due_at"]
    assert complaint["shop"]["slug"] == "laowang" and complaint["actions"] == []
    assert (complaint["claim"], complaint["claim_label"], complaint["claim_detail"]) == ("exchange", "更换", "")
    assert complaint["complainant_address"] == ASKED["complainant_address"]
    assert [e["by"] for e in complaint["events"]] == ["buyer"]
    again = post(resident, complaint_url(street, group, order), body, "c-1")  # the stored answer, replayed
    assert again.status_code == 201 and again.get_data() == made.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_problem(post(resident, complaint_url(street, group, order), {**body, "description": "另一件事"}, "c-2"),
                   409, "complaint_open")
    assert_problem(post(resident, complaint_url(street, group, order), {**body, "claim": "refund"}, "c-3"),
                   409, "complaint_open")
    assert count(Complaint, street.tenant) == 1

    mine = resident.get(f"{street.base}/complaints").get_json()
    assert [c["number"] for c in mine["items"]] == [complaint["number"]] and mine["total"] == 1
    detail = resident.get(f"{street.base}/complaints/{complaint['number']}")
    assert detail.status_code == 200 and detail.get_json()["description"] == "苹果一半是烂的。"
    # Before the merchant answers, the resident can neither accept nor escalate.
    assert_problem(post(resident, f"{street.base}/complaints/{complaint['number']}/accept", None, "a-0"), 409,
                   "invalid_transition")
    assert_problem(post(resident, f"{street.base}/complaints/{complaint['number']}/escalate", {}, "e-0"), 409,
                   "invalid_transition")


def test_complaint_refusals(resident, street):
    group, order, _line = place(street, "unpaid", steps=())
    assert_problem(post(resident, complaint_url(street, group, order), {**ASKED, "category": "quality", "description": "x"}),
                   409, "not_paid")
    group, order, _line = place(street, "paid", steps=("paid",))
    url = complaint_url(street, group, order)
    assert "category" in assert_problem(post(resident, url, {**ASKED, "category": "anger", "description": "x"}), 422,
                                        "validation_failed")["errors"]
    assert "description" in post(resident, url, {**ASKED, "category": "quality", "description": ""}).get_json()["errors"]
    assert "description" in post(resident, url, {**ASKED, "category": "quality", "description": "好" * 2001}).get_json()[
        "errors"]
    assert "description" in post(resident, url, {**ASKED, "category": "quality"}).get_json()["errors"]
    assert_problem(post(resident, complaint_url(street, group, "NOPE"), {**ASKED, "category": "quality", "description": "x"}),
                   404, "not_found")
    assert count(Complaint, street.tenant) == 0
    assert_problem(resident.get(f"{street.base}/complaints/TS2024"), 404, "not_found")
    assert_problem(resident.get(f"{street.base}/complaints?page=0"), 422, "validation_failed")


def test_a_complaint_must_say_what_it_asks_for_and_where_to_write(resident, street):
    group, order, _line = place(street, "asked", steps=("paid",))
    url = complaint_url(street, group, order)
    facts = {"category": "quality", "description": "苹果一半是烂的。"}
    assert "claim" in assert_problem(post(resident, url, {**facts, "complainant_address": "大学路 18 号"}), 422,
                                     "validation_failed")["errors"]
    assert "claim" in post(resident, url, {**ASKED, **facts, "claim": "revenge"}).get_json()["errors"]
    assert "claim_detail" in post(resident, url, {**ASKED, **facts, "claim": "other"}).get_json()["errors"]
    assert "claim_detail" in post(resident, url, {**ASKED, **facts, "claim_detail": "好" * 501}).get_json()["errors"]
    # Collected at the shop: no shipping address to fall back on, so the resident gives one.
    collected = assert_problem(post(resident, url, {**facts, "claim": "refund"}), 422, "validation_failed")
    assert "自提" in collected["errors"]["complainant_address"]
    assert "complainant_address" in post(resident, url, {**ASKED, **facts, "complainant_address": " "}).get_json()[
        "errors"]
    assert count(Complaint, street.tenant) == 0
    other = post(resident, url, {**ASKED, **facts, "claim": "other", "claim_detail": "当面道歉"}, "asked")
    assert other.status_code == 201, other.get_data(as_text=True)
    assert other.get_json()["claim_label"] == "其他" and other.get_json()["claim_detail"] == "当面道歉"

    # Sent home: left out, the address is the order's shipping address (its place, no name or mobile).
    group, order, _line = place(street, "sent", steps=("paid",))
    with tenant_scope(street.tenant):
        shipment = db.session.scalar(select(Shipment).where(Shipment.order.has(number=order)))
        shipment.address = address_record(Address(recipient="张三丰", mobile="13812341234", province_code="410000",
                                                  city_code="410100", district_code="410103", street="大学路 18 号"),
                                          "河南省 郑州市 二七区 大学路 18 号")
        db.session.commit()
    sent = post(resident, complaint_url(street, group, order), {**facts, "claim": "return_refund"}, "sent")
    assert sent.status_code == 201, sent.get_data(as_text=True)
    assert sent.get_json()["complainant_address"] == "河南省 郑州市 二七区 大学路 18 号"


def test_the_merchant_answers_with_its_token_and_the_resident_accepts_or_escalates(client, resident, street):
    numbers = []
    for key in ("one", "two"):
        group, order, _line = place(street, key, steps=("paid", "accepted"))
        numbers.append(post(resident, complaint_url(street, group, order),
                            {**ASKED, "category": "delivery", "description": f"没有按时送到（{key}）"}, key).get_json()["number"])
    shop = f"{street.base}/shops/laowang/complaints"
    auth = {"Authorization": f"Bearer {street.token}"}
    assert_problem(client.get(shop), 401, "token_missing")
    assert_problem(client.get(shop, headers={"Authorization": f"Bearer {street.other_token}"}), 403,
                   "token_wrong_shop")
    listed = client.get(shop, headers=auth).get_json()
    assert listed["total"] == 2 and {c["number"] for c in listed["items"]} == set(numbers)
    assert all(c["actions"] == ["answer"] for c in listed["items"])
    # The merchant reads the claim, not where the resident lives.
    assert all(c["claim"] == "exchange" and "complainant_address" not in c for c in listed["items"])
    assert client.get(f"{shop}?status=answered", headers=auth).get_json()["total"] == 0
    assert_problem(client.get(f"{shop}?status=happy", headers=auth), 422, "validation_failed")
    # The other shop's token sees none of them, and cannot answer them under its own path.
    other = {"Authorization": f"Bearer {street.other_token}"}
    assert client.get(f"{street.base}/shops/liji/complaints", headers=other).get_json()["total"] == 0
    assert_problem(client.post(f"{street.base}/shops/liji/complaints/{numbers[0]}/answer", json={"answer": "好"},
                               headers={**other, "Idempotency-Key": "x"}), 404, "not_found")

    for number in numbers:
        url = f"{shop}/{number}/answer"
        assert_problem(client.post(url, json={"answer": "已补发"}, headers=auth), 400, "missing_idempotency_key")
        assert "answer" in assert_problem(client.post(url, json={"answer": ""}, headers={**auth, "Idempotency-Key": f"a-{number}"}),
                                          422, "validation_failed")["errors"]
        answered = client.post(url, json={"answer": "已为您补发。"}, headers={**auth, "Idempotency-Key": number})
        assert answered.status_code == 200, answered.get_data(as_text=True)
        assert answered.get_json()["status"] == "answered" and answered.get_json()["answer"] == "已为您补发。"
        retry = client.post(url, json={"answer": "已为您补发。"}, headers={**auth, "Idempotency-Key": number})
        assert retry.status_code == 200
        assert_problem(client.post(url, json={"answer": "换个说法"}, headers={**auth, "Idempotency-Key": f"z-{number}"}), 409,
                       "invalid_transition")

    accepted = post(resident, f"{street.base}/complaints/{numbers[0]}/accept", None, "acc")
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "resolved"
    assert post(resident, f"{street.base}/complaints/{numbers[0]}/accept", None, "acc").status_code == 200
    assert_problem(post(resident, f"{street.base}/complaints/{numbers[0]}/escalate", {}, "esc"), 409,
                   "invalid_transition")
    assert resident.get(f"{street.base}/complaints/{numbers[1]}").get_json()["actions"] == ["accept", "escalate"]
    escalated = post(resident, f"{street.base}/complaints/{numbers[1]}/escalate", {"reason": "补发的也是烂的"}, "esc2")
    assert escalated.status_code == 200, escalated.get_data(as_text=True)
    body = escalated.get_json()
    assert body["status"] == "escalated" and body["decide_due"]
    assert [e["by"] for e in body["events"]] == ["buyer", "merchant", "buyer"]
    assert post(resident, f"{street.base}/complaints/{numbers[1]}/escalate", {"reason": "补发的也是烂的"},
                "esc2").status_code == 200
    with tenant_scope(street.tenant):
        db.session.commit()
        events = db.session.scalar(select(func.count(complaints.ComplaintEvent.id)))
    assert events == 3 + 3  # filed, answered, resolved; filed, answered, escalated: no second entries


def test_an_answer_after_its_deadline_and_an_escalation_after_the_reply_window_are_refused(client, resident, street):
    group, order, _line = place(street, "late", steps=("paid", "accepted"))
    number = post(resident, complaint_url(street, group, order), {**ASKED, "category": "service", "description": "态度差"},
                  "late").get_json()["number"]
    with tenant_scope(street.tenant):
        row = db.session.scalar(select(Complaint).where(Complaint.number == number))
        row.due_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    auth = {"Authorization": f"Bearer {street.token}", "Idempotency-Key": "late"}
    url = f"{street.base}/shops/laowang/complaints/{number}/answer"
    assert_problem(client.post(url, json={"answer": "抱歉"}, headers=auth), 409, "answer_overdue")
    with tenant_scope(street.tenant):
        row = db.session.scalar(select(Complaint).where(Complaint.number == number))
        row.due_at = utcnow() + timedelta(hours=1)
        db.session.commit()
    auth["Idempotency-Key"] = "late-2"  # the first key's answer was the refusal
    assert client.post(url, json={"answer": "抱歉"}, headers=auth).status_code == 200
    with tenant_scope(street.tenant):
        row = db.session.scalar(select(Complaint).where(Complaint.number == number))
        row.due_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert_problem(post(resident, f"{street.base}/complaints/{number}/escalate", {}, "e"), 409, "reply_overdue")


def test_someone_elses_and_another_tenants_complaints_are_not_found(client, resident, street, make_tenant,
                                                                     make_user):
    group, order, line = place(street, "mine", steps=("paid", "accepted"))
    number = post(resident, complaint_url(street, group, order), {**ASKED, "category": "quality", "description": "坏了"},
                  "m").get_json()["number"]
    other = make_tenant(slug="xinjie")
    for url in (f"/api/v1/tenants/xinjie/complaints/{number}",):
        assert_problem(resident.get(url), 404, "not_found")
    for url, body in ((f"/api/v1/tenants/xinjie/complaints/{number}/accept", None),
                      (f"/api/v1/tenants/xinjie/orders/{group}/orders/{order}/complaint",
                       {**ASKED, "category": "quality", "description": "坏了"}),
                      (f"/api/v1/tenants/xinjie/orders/{group}/orders/{order}/lines/{line}/review", {"ratings": STARS})):
        assert_problem(post(resident, url, body), 404, "not_found")
    assert resident.get("/api/v1/tenants/xinjie/complaints").get_json()["total"] == 0
    assert other is not None
    make_user("neighbour@shangdu.example")
    neighbour = client.application.test_client()
    neighbour.login("neighbour@shangdu.example", PASSWORD)
    assert_problem(neighbour.get(f"{street.base}/complaints/{number}"), 404, "not_found")
    assert neighbour.get(f"{street.base}/complaints").get_json()["total"] == 0


# -- the document -------------------------------------------------------------------------------------------------

def test_the_openapi_document_lists_every_trust_operation_with_schemas(client):
    document = client.get("/api/v1/openapi.json").get_json()
    tenant = "/api/v1/tenants/{tenant_slug}"
    mine = f"{tenant}/orders/{{number}}/orders/{{order_number}}"
    expected = {
        ("/api/v1/badges/{serial}", "get"): "BadgeOut",
        (f"{tenant}/shops/{{shop_slug}}/reviews", "get"): "ReviewPage",
        (f"{tenant}/products/{{product_id}}/reviews", "get"): "ReviewPage",
        (f"{mine}/lines/{{line_id}}/review", "post"): "ReviewOut",
        (f"{mine}/complaint", "post"): "ComplaintOut",
        (f"{tenant}/complaints", "get"): "ComplaintPage",
        (f"{tenant}/complaints/{{complaint_number}}", "get"): "ComplaintOut",
        (f"{tenant}/complaints/{{complaint_number}}/accept", "post"): "ComplaintOut",
        (f"{tenant}/complaints/{{complaint_number}}/escalate", "post"): "ComplaintOut",
        (f"{tenant}/shops/{{shop_slug}}/complaints", "get"): "ShopComplaintPage",
        (f"{tenant}/shops/{{shop_slug}}/complaints/{{complaint_number}}/answer", "post"): "ShopComplaintOut",
    }
    for (path, method), schema in expected.items():
        operation = document["paths"][path][method]
        success = next(r for code, r in operation["responses"].items() if code in ("200", "201"))
        assert success["content"]["application/json"]["schema"]["$ref"].endswith(f"/{schema}"), (path, method)
        assert "404" in operation["responses"]
        if method == "post":
            names = {p.get("name") for p in operation.get("parameters", [])}
            assert "Idempotency-Key" in names, path
    for name in ("ReviewIn", "ComplaintIn", "AnswerIn", "EscalateIn", "BadgeOut", "ReviewOut", "ComplaintOut"):
        assert document["components"]["schemas"][name]["properties"], name
    review_in = document["paths"][f"{mine}/lines/{{line_id}}/review"]["post"]["requestBody"]
    assert review_in["content"]["application/json"]["schema"]["$ref"].endswith("/ReviewIn")
    assert document["paths"][f"{tenant}/shops/{{shop_slug}}/complaints"]["get"]["security"] == \
        [{"bearerAuth": ["complaints:read"]}]
    assert not document["paths"][f"{tenant}/shops/{{shop_slug}}/reviews"]["get"].get("security")


# -- photos -----------------------------------------------------------------------------------------------------

def _photo(width=320) -> str:
    return base64.b64encode(encode(picture(width=width), "JPEG")).decode()


def test_a_review_carries_photos_through_the_image_pipeline(client, resident, street):
    group, order, line = place(street, "photos")
    url = f"{street.base}/orders/{group}/orders/{order}/lines/{line}/review"
    too_many = post(resident, url, {"ratings": STARS, "photos": [_photo()] * 7}, "p-0")
    assert "photos" in assert_problem(too_many, 422, "validation_failed")["errors"]
    not_base64 = post(resident, url, {"ratings": STARS, "photos": ["这不是图片"]}, "p-1")
    assert "photos.0" in assert_problem(not_base64, 422, "validation_failed")["errors"]
    not_a_picture = post(resident, url, {"ratings": STARS, "photos": [base64.b64encode(b"%PDF-1.4 hello").decode()]},
                         "p-2")
    assert "photos" in assert_problem(not_a_picture, 422, "photos")["errors"]
    assert count(Review, street.tenant) == 0  # nothing half-written

    made = post(resident, url, {"ratings": STARS, "text": "有图", "photos": [
        _photo(), "data:image/jpeg;base64," + _photo(240)]}, "p-3")
    assert made.status_code == 201, made.get_data(as_text=True)
    photos = made.get_json()["photos"]
    assert len(photos) == 2 and all(p["width"] and p["thumbnail"] for p in photos)
    served = client.get(photos[0]["url"].removeprefix("http://localhost"))
    served.close()  # a file response
    assert served.status_code == 200 and served.mimetype.startswith("image/")
    listed = client.get(f"{street.base}/shops/laowang/reviews").get_json()["items"]
    assert [len(item["photos"]) for item in listed] == [2]


def test_a_complaint_carries_evidence_photos(resident, street):
    group, order, _line = place(street, "evidence", steps=("paid",))
    url = complaint_url(street, group, order)
    refused = post(resident, url, {**ASKED, "category": "quality", "description": "烂了", "photos": [
        base64.b64encode(b"not an image").decode()]}, "e-1")
    assert "photos" in assert_problem(refused, 422, "validation_failed")["errors"]
    assert count(Complaint, street.tenant) == 0
    made = post(resident, url, {**ASKED, "category": "quality", "description": "烂了", "photos": [_photo()]}, "e-2")
    assert made.status_code == 201, made.get_data(as_text=True)
    [photo] = made.get_json()["photos"]
    assert photo["url"].startswith("http://localhost/") and photo["thumbnail"]
