"""Merchant approval and electronic badges: approval terms and audit, signed badges that anyone can check
offline with the published key, immediate suspension and revocation, the public check page, the A6 card, and
operators kept to their own tenant."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import render_template_string
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.config import ConfigError
from marketplace.core.db import utcnow
from marketplace.delivery.pickup import qr_svg
from marketplace.extensions import db
from marketplace.shops.models import ShopStatus
from marketplace.tenancy.context import activate, tenant_scope
from marketplace.trust import badges, verification
from marketplace.trust.badges import Badge, BadgeKeyMissing, BadgeState
from marketplace.trust.verification import ApprovalEvent, ApprovalStatus
from tests.fixtures.app import make_test_app

PASSWORD = "correct-horse-42"
USCC = "91110108551385082Q"  # GB 32100 check character verified (SPEC-SOURCES §12.1)


@pytest.fixture
def market(app_ctx, make_tenant, make_merchant, make_shop, make_user):
    tenant = make_tenant(slug="fert-market", name_zh="穗丰农资市场", kind="market")
    other = make_tenant(slug="other-street", name_zh="乙街")
    merchant = make_merchant(kind="enterprise", legal_name="郑州穗丰农资有限公司", registration_number=USCC)
    shop = make_shop(tenant, merchant=merchant, slug="suifeng", name_zh="穗丰农资", building="A", floor=1,
                     stall="A-108", approved=False)  # these tests approve it themselves
    other_shop = make_shop(other, slug="b-cloth", name_zh="乙街布行")
    make_user("operator@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    make_user("other-operator@shangdu.example", role=Role.tenant_operator, tenant=other)
    return tenant, other, merchant, shop, other_shop


def _issue(tenant, shop, now=None):
    with tenant_scope(tenant):
        verification.approve(shop.merchant, actor_id=None, tenant=tenant, now=now)
        badge = badges.issue_badge(shop, actor_id=None, now=now)
        db.session.commit()
        return badge


def _state(serial: str) -> BadgeState:
    db.session.expire_all()  # requests wrote through their own sessions
    return badges.verify(serial).state


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# -- approval --------------------------------------------------------------------------------------------

def test_an_approval_holds_six_months_then_reads_expired(market):
    tenant, _other, merchant, _shop, _ = market
    start = utcnow() - timedelta(days=10)
    assert not verification.is_approved(merchant)
    approval = verification.approve(merchant, actor_id=None, tenant=tenant, now=start)
    db.session.commit()
    assert approval.valid_until.date() == (start + verification.APPROVAL_VALIDITY).date()
    assert 181 <= (approval.valid_until - start).days <= 184
    assert verification.is_approved(merchant)
    assert verification.is_approved(merchant, approval.valid_until - timedelta(seconds=1))
    assert not verification.is_approved(merchant, approval.valid_until)
    assert verification.effective_status(approval, approval.valid_until) == ApprovalStatus.expired
    # A job marks it for lists and reminders; the answer was already "expired" before.
    assert verification.expire_approvals(approval.valid_until + timedelta(days=1)) == 1
    assert approval.status == ApprovalStatus.expired


def test_every_decision_is_an_append_only_event(market):
    tenant, _other, merchant, _shop, _ = market
    verification.approve(merchant, actor_id=None, tenant=tenant)
    verification.reject(merchant, "营业执照已注销", actor_id=None, tenant=tenant)
    db.session.commit()
    events = verification.events_of(merchant)
    assert [(e.from_status, e.to_status) for e in events] == [("pending", "approved"), ("approved", "rejected")]
    assert events[1].reason == "营业执照已注销" and events[0].via_tenant_id == tenant.id
    assert not verification.is_approved(merchant)

    events[0].reason = "改写历史"
    with pytest.raises(verification.ApprovalError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(ApprovalEvent, events[0].id))
    with pytest.raises(verification.ApprovalError):
        db.session.flush()
    db.session.rollback()


def test_approval_needs_a_checked_registration_number_and_rejection_a_reason(market, make_merchant):
    tenant, *_ = market
    unregistered = make_merchant(kind="individual_business", legal_name="无照摊位")
    with pytest.raises(verification.ApprovalError, match="统一社会信用代码"):
        verification.approve(unregistered, actor_id=None, tenant=tenant)
    wrong_check = make_merchant(kind="enterprise", legal_name="校验位错误", registration_number="91110108551385082A")
    with pytest.raises(verification.ApprovalError, match="校验码"):
        verification.approve(wrong_check, actor_id=None, tenant=tenant)
    person = make_merchant(kind="natural_person", legal_name="王建军")  # sells under the registration exemption
    assert verification.approve(person, actor_id=None, tenant=tenant).status == ApprovalStatus.approved
    with pytest.raises(verification.ApprovalError, match="驳回原因"):
        verification.reject(person, "   ", actor_id=None, tenant=tenant)


# -- signing ---------------------------------------------------------------------------------------------

def _published_key(client) -> Ed25519PublicKey:
    page = _page(client.get("/verify/keys"))
    raw_b64 = re.search(r'<pre class="public-key-b64">([^<]+)</pre>', page).group(1).strip()
    pem = re.search(r'<pre class="public-key-pem">([^<]+)</pre>', page).group(1)
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_b64))
    from_pem = serialization.load_pem_public_key(pem.encode())
    assert from_pem.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == base64.b64decode(raw_b64)
    return key


def test_the_signature_verifies_with_the_published_key_and_fails_after_any_byte_changes(market, client):
    tenant, _other, _merchant, shop, _ = market
    badge = _issue(tenant, shop)
    key = _published_key(client)
    payload, signature = badge.payload.encode("utf-8"), base64.b64decode(badge.signature)

    key.verify(signature, payload)  # raises if it does not verify
    facts = json.loads(payload)
    assert facts == {"v": 1, "serial": badge.serial, "legal_name": "郑州穗丰农资有限公司", "registration_number": USCC,
                     "shop": "穗丰农资", "tenant": "fert-market", "place": badge.place,
                     "issued": badges.timestamp(badge.issued_at), "valid_until": badges.timestamp(badge.valid_until)}
    assert "A-108" in badge.place
    assert payload == json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert payload.count(b" ") == badge.place.count(" ")  # no spaces but those inside the values

    for index in range(len(payload)):
        altered = bytearray(payload)
        altered[index] ^= 0x01
        assert not badges.signature_valid(bytes(altered), badge.signature, key), f"byte {index} changed unnoticed"
    for index in range(len(signature)):
        altered = bytearray(signature)
        altered[index] ^= 0x01
        assert not badges.signature_valid(payload, base64.b64encode(bytes(altered)).decode(), key)
    assert badges.signature_valid(payload, badge.signature, key)


def test_a_tampered_badge_row_fails_its_check_on_the_page(market, client):
    tenant, _other, _merchant, shop, _ = market
    badge = _issue(tenant, shop)
    with tenant_scope(tenant):
        badge.payload = badge.payload.replace("穗丰农资有限公司", "穗丰农资集团公司")
        db.session.commit()
    page = _page(client.get(f"/verify/{badge.serial}"))
    assert "签名无效" in page and "未通过" in page


def test_the_development_key_is_kept_in_the_instance_folder_with_mode_0600(app, market):
    key = badges.signing_key()
    path = Path(app.instance_path) / badges.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert badges.decode_private_key(path.read_text()).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw) == key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_production_without_a_key_refuses_to_sign_with_a_clear_message(tmp_path):
    production = make_test_app(tmp_path, ENV="production", SECRET_KEY="p" * 40)
    with production.app_context():
        with pytest.raises(BadgeKeyMissing, match="MARKETPLACE_BADGE_SIGNING_KEY is not set"):
            badges.signing_key()
        with pytest.raises(BadgeKeyMissing):
            badges.sign(b"{}")
    assert not (tmp_path / badges.KEY_FILE).exists()  # nothing generated behind the operator's back
    client = production.test_client()
    response = client.get("/verify/keys")
    assert response.status_code == 503 and "尚未配置" in response.get_data(as_text=True)


def test_a_configured_key_is_used_and_a_malformed_one_stops_start_up(tmp_path):
    raw = os.urandom(32)
    configured = make_test_app(tmp_path, ENV="production", SECRET_KEY="p" * 40,
                               BADGE_SIGNING_KEY=base64.b64encode(raw).decode())
    with configured.app_context():
        assert badges.signing_key().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                  serialization.NoEncryption()) == raw
    with pytest.raises(ConfigError, match="MARKETPLACE_BADGE_SIGNING_KEY"):
        make_test_app(tmp_path, BADGE_SIGNING_KEY="bm90IGEga2V5")


# -- states ----------------------------------------------------------------------------------------------

def test_the_verify_page_says_valid_for_whom_and_where(market, client):
    tenant, _other, _merchant, shop, _ = market
    badge = _issue(tenant, shop)
    response = client.get(f"/verify/{badge.serial}")
    page = _page(response)
    assert response.status_code == 200
    assert 'class="badge-verdict state-valid"' in page and ">有效<" in page
    for fact in ("郑州穗丰农资有限公司", USCC, "穗丰农资", "穗丰农资市场", "A-108", badge.serial, "通过："):
        assert fact in page
    english = _page(client.get(f"/verify/{badge.serial}", headers={"Accept-Language": "en"}))
    assert badge.serial in english  # renders in the other locale too


def test_suspension_and_revocation_show_at_once(market, client):
    tenant, _other, _merchant, shop, _ = market
    badge = _issue(tenant, shop)
    client.login("operator@shangdu.example", PASSWORD)
    page_url = "/operator/fert-market/merchants"

    response = client.submit(f"/operator/fert-market/badges/{badge.serial}/suspend", {"reason": "抽检不合格"},
                             page_url=page_url)
    assert response.status_code == 303
    page = _page(client.get(f"/verify/{badge.serial}"))
    assert "state-suspended" in page and "已暂停" in page and "抽检不合格" in page

    client.submit(f"/operator/fert-market/badges/{badge.serial}/reinstate", {}, page_url=page_url)
    assert "state-valid" in _page(client.get(f"/verify/{badge.serial}"))

    client.submit(f"/operator/fert-market/badges/{badge.serial}/revoke", {"reason": "停止经营"}, page_url=page_url)
    page = _page(client.get(f"/verify/{badge.serial}"))
    assert "state-revoked" in page and "已撤销" in page and "停止经营" in page
    assert _state(badge.serial) == BadgeState.revoked
    # Revoked is final: it cannot be reinstated.
    client.submit(f"/operator/fert-market/badges/{badge.serial}/reinstate", {}, page_url=page_url)
    assert _state(badge.serial) == BadgeState.revoked


def test_a_suspended_shops_badge_reads_suspended(market, client):
    tenant, _other, _merchant, shop, _ = market
    badge = _issue(tenant, shop)
    with tenant_scope(tenant):
        shop.status = ShopStatus.suspended
        db.session.commit()
    page = _page(client.get(f"/verify/{badge.serial}"))
    assert 'badge-verdict state-suspended"' in page and "店铺已被市场运营方暂停营业" in page
    with tenant_scope(tenant):
        shop.status = ShopStatus.active
        db.session.commit()
    assert 'badge-verdict state-valid"' in _page(client.get(f"/verify/{badge.serial}"))


def test_rejecting_the_merchant_revokes_its_badges(market):
    tenant, _other, merchant, shop, _ = market
    badge = _issue(tenant, shop)
    verification.reject(merchant, "冒用他人执照", actor_id=None, tenant=tenant)
    db.session.commit()
    result = badges.verify(badge.serial)
    assert result.state == BadgeState.revoked and "冒用他人执照" in result.badge.status_reason


def test_an_expired_approval_makes_the_badge_read_expired(market, client):
    tenant, _other, _merchant, shop, _ = market
    long_ago = utcnow() - timedelta(days=200)
    badge = _issue(tenant, shop, now=long_ago)  # approved and issued 200 days ago: six months have passed
    assert badges.verify(badge.serial, now=long_ago + timedelta(days=1)).state == BadgeState.valid
    response = client.get(f"/verify/{badge.serial}")
    assert response.status_code == 200
    assert "state-expired" in _page(response) and "已过期" in _page(response)
    assert badges.verify(badge.serial).signature_ok  # expiry is a state, not a broken signature


def test_an_unapproved_merchant_gets_no_badge(market):
    tenant, _other, _merchant, shop, _ = market
    with tenant_scope(tenant), pytest.raises(badges.BadgeError, match="尚未通过审核"):
        badges.issue_badge(shop, actor_id=None)


def test_reissuing_revokes_the_previous_badge(market):
    tenant, _other, _merchant, shop, _ = market
    first = _issue(tenant, shop)
    with tenant_scope(tenant):
        second = badges.issue_badge(shop, actor_id=None)
        db.session.commit()
        assert badges.shop_badge(shop).serial == second.serial
    assert badges.verify(first.serial).state == BadgeState.revoked
    assert badges.verify(second.serial).state == BadgeState.valid


def test_serials_are_random_and_an_unknown_serial_is_a_404_that_says_so(market, client):
    tenant, _other, _merchant, shop, _ = market
    serials = {badges.new_serial() for _ in range(500)}
    assert len(serials) == 500
    for serial in serials:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", serial)
        assert len(base64.urlsafe_b64decode(serial + "==")) * 8 >= 96
    badge = _issue(tenant, shop)
    assert len(base64.urlsafe_b64decode(badge.serial + "==")) * 8 >= 96

    for unknown in (badges.new_serial(), badge.serial[:-1] + ("A" if badge.serial[-1] != "A" else "B"), "1", "%2e%2e"):
        response = client.get(f"/verify/{unknown}")
        assert response.status_code == 404, unknown
        assert "不存在" in response.get_data(as_text=True)


# -- pages -----------------------------------------------------------------------------------------------

def test_the_keys_page_publishes_the_format_and_an_offline_snippet(market, client):
    page = _page(client.get("/verify/keys"))
    for field in badges.PAYLOAD_FIELDS:
        assert f"<code>{field}</code>" in page
    assert "sort_keys=True" in page and "Ed25519PublicKey" in page and "BEGIN PUBLIC KEY" in page


def test_a_merchant_never_verified_is_approved_only_through_an_application(market, client):
    _tenant, _other, merchant, _shop, _ = market
    client.login("operator@shangdu.example", PASSWORD)
    page = _page(client.get("/operator/fert-market/merchants"))
    assert "郑州穗丰农资有限公司" in page and "待审核" in page and "尚未提交认证申请" in page
    assert f"/merchants/{merchant.id}/approve" not in page
    response = client.submit(f"/operator/fert-market/merchants/{merchant.id}/approve", {},
                             page_url="/operator/fert-market/merchants", follow_redirects=True)
    assert response.status_code == 200 and "请商户在商户后台提交认证申请" in _page(response)
    db.session.expire_all()
    assert not verification.is_approved(merchant)


def test_the_operator_renews_an_expired_approval_issues_and_prints_an_a6_card(market, client):
    tenant, _other, merchant, shop, other_shop = market
    verification.approve(merchant, actor_id=None, tenant=tenant, now=utcnow() - timedelta(days=200))
    db.session.commit()
    client.login("operator@shangdu.example", PASSWORD)
    page = _page(client.get("/operator/fert-market/merchants"))
    assert "郑州穗丰农资有限公司" in page and "已过期" in page and "乙街布行" not in page

    assert client.submit(f"/operator/fert-market/merchants/{merchant.id}/approve", {},
                         page_url="/operator/fert-market/merchants").status_code == 303
    db.session.expire_all()
    assert verification.is_approved(merchant)
    assert client.submit(f"/operator/fert-market/shops/{shop.id}/badge", {},
                         page_url="/operator/fert-market/merchants").status_code == 303
    with tenant_scope(tenant):
        badge = badges.shop_badge(shop)
    assert badge is not None and _state(badge.serial) == BadgeState.valid

    response = client.get(f"/operator/fert-market/badges/{badge.serial}/card")
    card = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "size: A6" in card and "105mm" in card and "148mm" in card
    assert "网上商都商户电子标识" in card and "穗丰农资" in card and "A-108" in card and badge.serial in card
    url = f"http://localhost/verify/{badge.serial}"
    assert url in card and qr_svg(url) in card
    assert "★" not in card and "国徽" not in card and "border-radius: 50%" not in card


def test_reject_needs_a_reason_on_the_page_too(market, client):
    _tenant, _other, merchant, _shop, _ = market
    client.login("operator@shangdu.example", PASSWORD)
    response = client.submit(f"/operator/fert-market/merchants/{merchant.id}/reject", {"reason": ""},
                             page_url="/operator/fert-market/merchants", follow_redirects=True)
    assert response.status_code == 200 and "请填写驳回原因" in response.get_data(as_text=True)
    db.session.expire_all()
    assert verification.effective_status(verification.approval_for(merchant)) == ApprovalStatus.pending


def test_the_shop_page_partial_shows_the_state_and_links_to_the_check(app, market):
    tenant, _other, _merchant, shop, _ = market
    badge = _issue(tenant, shop)
    with app.test_request_context("/"):
        activate(tenant)
        rendered = render_template_string('{% include themed("badges/_shop_badge.html") %}', shop=shop)
    assert f'href="/verify/{badge.serial}"' in rendered and "有效" in rendered
    with tenant_scope(tenant):
        badges.suspend_badge(badge, "整改中", actor_id=None)
        db.session.commit()
    with app.test_request_context("/"):
        activate(tenant)
        assert "已暂停" in render_template_string('{% include themed("badges/_shop_badge.html") %}', shop=shop)


# -- other tenants ---------------------------------------------------------------------------------------

def test_an_operator_of_another_tenant_cannot_approve_issue_or_print(market, client):
    tenant, _other, merchant, shop, _ = market
    badge = _issue(tenant, shop)
    with tenant_scope(tenant):
        badges.suspend_badge(badge, "整改中", actor_id=None)
        db.session.commit()
    client.login("other-operator@shangdu.example", PASSWORD)
    own_page = "/operator/other-street/merchants"

    # Under the merchant's own tenant: not theirs to operate.
    assert client.get("/operator/fert-market/merchants").status_code == 404
    assert client.get(f"/operator/fert-market/badges/{badge.serial}/card").status_code == 404
    for url, form in ((f"/operator/fert-market/merchants/{merchant.id}/reject", {"reason": "越界"}),
                      (f"/operator/fert-market/shops/{shop.id}/badge", {}),
                      (f"/operator/fert-market/badges/{badge.serial}/revoke", {"reason": "越界"})):
        assert client.submit(url, form, page_url=own_page).status_code == 404, url
    # Under their own tenant: the merchant, shop and badge are not found.
    assert client.get(f"/operator/other-street/badges/{badge.serial}/card").status_code == 404
    for url, form in ((f"/operator/other-street/merchants/{merchant.id}/approve", {}),
                      (f"/operator/other-street/merchants/{merchant.id}/reject", {"reason": "越界"}),
                      (f"/operator/other-street/shops/{shop.id}/badge", {}),
                      (f"/operator/other-street/badges/{badge.serial}/reinstate", {}),
                      (f"/operator/other-street/badges/{badge.serial}/revoke", {"reason": "越界"})):
        assert client.submit(url, form, page_url=own_page).status_code == 404, url
    page = _page(client.get(own_page))
    assert "郑州穗丰农资有限公司" not in page and "乙街布行" in page

    db.session.expire_all()
    assert verification.is_approved(merchant)
    assert _state(badge.serial) == BadgeState.suspended
    with tenant_scope(tenant):
        assert db.session.scalars(select(Badge).where(Badge.shop_id == shop.id)).all() == [badge]


def test_the_states_of_a_whole_street_are_read_at_once_and_agree_with_each_badge(market, make_merchant, make_shop,
                                                                               count_queries):
    tenant, _other, _merchant, shop, _ = market
    _issue(tenant, shop)  # valid
    shops = {"valid": shop}
    from datetime import date

    from marketplace.trust import enforcement

    for n, state in enumerate(("suspended", "revoked", "expired", "unknown", "valid", "warning", "closing")):
        merchant = make_merchant(kind="enterprise", legal_name=f"商户{n}", registration_number=USCC)
        shops[f"{state}-{n}"] = make_shop(tenant, merchant=merchant, slug=f"s{n}", name_zh=f"店{n}", approved=False)
        then = utcnow() - timedelta(days=200) if state == "expired" else None
        if state != "unknown":
            badge = _issue(tenant, shops[f"{state}-{n}"], now=then)
        with tenant_scope(tenant):
            if state == "suspended":
                shops[f"{state}-{n}"].status = ShopStatus.suspended
            elif state == "revoked":
                badges.revoke_badge(badge, "测试撤销", actor_id=None)
            elif state == "warning":
                enforcement.impose(shops[f"{state}-{n}"], "warning", "虚假宣传", until=date.today() + timedelta(days=10))
            elif state == "closing":
                enforcement.announce_closing(shops[f"{state}-{n}"], date.today() + timedelta(days=40), actor_id=None,
                                             by_operator=False)
            db.session.commit()
    db.session.expire_all()
    with tenant_scope(tenant):
        every = [db.session.get(type(shop), s.id) for s in shops.values()]
        for s in every:
            s.merchant  # noqa: B018 - loaded as the street page has them
        with count_queries() as queries:
            states = badges.badge_states(every)
        assert len(queries) <= 4, queries
        one_by_one = {s.id: badges.badge_state(badges.shop_badge(s)) for s in every}
    assert states == one_by_one
    assert {name.split("-")[0]: states[s.id] for name, s in shops.items()} == {
        "valid": BadgeState.valid, "suspended": BadgeState.suspended, "revoked": BadgeState.revoked,
        "expired": BadgeState.expired, "unknown": BadgeState.unknown, "warning": BadgeState.warning,
        "closing": BadgeState.closing}
