"""The onboarding application and the operator's queue: identifier check characters, the ID number's separate
consent, encryption at rest and masking, the audited reveal, approve / reject / ask for more, re-verification
notice, and merchants of other shops and tenants kept out."""

from __future__ import annotations

import html
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from marketplace.accounts.models import Role, User
from marketplace.catalog.models import ShopLicence
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.shops.services import USCC_CHARSET, resident_id_problem, uscc_problem
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import onboarding, verification
from marketplace.trust.onboarding import (
    ApplicationInput,
    ApplicationStatus,
    LicenceInput,
    OnboardingApplication,
    OnboardingError,
    OnboardingEvent,
)
from tests.media.samples import encode, picture

PASSWORD = "correct-horse-42"
# SPEC-SOURCES §12.1 and §12.2: valid codes (check character verified by hand there).
VALID_USCC = ("91110108551385082Q", "91110000600037341L", "91410100MA000020X0")
VALID_IDS = ("11010519491231002X", "440524188001010014", "360426199101010071", "230306196304054513")
PERSON_ID = "11010519491231002X"
PAGE = "/merchant/fert-market/suifeng/verification"
QUEUE = "/operator/fert-market/merchants"


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def market(app_ctx, make_tenant, make_merchant, make_shop, make_user):
    tenant = make_tenant(slug="fert-market", name_zh="穗丰农资市场", kind="market")
    other = make_tenant(slug="other-street", name_zh="乙街")
    merchant = make_merchant(kind="individual_business", legal_name="龙穗丰待认证", registration_number="91110000600037341L")
    shop = make_shop(tenant, merchant=merchant, slug="suifeng", name_zh="穗丰农资", stall="A-108", approved=False)
    neighbour = make_shop(tenant, slug="neighbour", name_zh="隔壁农资")
    other_shop = make_shop(other, slug="b-cloth", name_zh="乙街布行")
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    make_user("neighbour@shangdu.example", role=Role.merchant_owner, shop=neighbour)
    make_user("operator@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    make_user("other-operator@shangdu.example", role=Role.tenant_operator, tenant=other)
    return tenant, other, merchant, shop, neighbour, other_shop


def _enterprise(**kw) -> ApplicationInput:
    values = dict(kind="enterprise", legal_name="郑州穗丰农资有限公司", registration_number="91110108551385082Q",
                  entity_type="有限责任公司", registered_capital="500 万元", legal_representative="李穗丰", contact_name="李穗丰", contact_phone="13800138000",
                  business_address="郑州市二七区农资市场 A 区 108 号", licence_image=encode(picture(), "PNG"),
                  licences=[LicenceInput("pesticide_business", "农药经营许可（豫）41010320260001",
                                         date.today() + timedelta(days=365))])
    return ApplicationInput(**{**values, **kw})


def _person(**kw) -> ApplicationInput:
    values = dict(kind="natural_person", legal_name="王建军", resident_id=PERSON_ID, id_consent=True,
                  contact_name="王建军", contact_phone="13900139000", business_address="郑州市二七区农资市场 B-12",
                  exemption="own_farm_produce")
    return ApplicationInput(**{**values, **kw})


def _submit(tenant, shop, data, now=None) -> OnboardingApplication:
    with tenant_scope(tenant):
        application = onboarding.submit_application(shop, data, actor_id=None, now=now)
        db.session.commit()
        return application


# -- check characters ------------------------------------------------------------------------------------

def test_uscc_check_character_accepts_valid_codes_and_catches_every_single_character_change():
    for code in VALID_USCC:
        assert uscc_problem(code) is None, code
        for position in range(18):
            for char in USCC_CHARSET:
                if char != code[position]:
                    altered = code[:position] + char + code[position + 1:]
                    assert uscc_problem(altered) is not None, altered
    assert "校验码" in uscc_problem("91110108551385082A")  # SPEC-SOURCES §12.1 negative vector
    assert uscc_problem("A1110000600037341L") is not None


def test_resident_id_check_digit_accepts_valid_numbers_and_catches_every_single_character_change():
    for number in VALID_IDS:
        assert resident_id_problem(number) is None, number
        for position in range(18):
            for char in "0123456789X" if position == 17 else "0123456789":
                if char != number[position]:
                    altered = number[:position] + char + number[position + 1:]
                    assert resident_id_problem(altered) is not None, altered
    assert "校验码" in resident_id_problem("230307196304054513")  # §12.2 negative example: expected X
    assert resident_id_problem("11010519491231002") is not None  # 17 characters
    assert resident_id_problem("1101051949123100AX") is not None


def test_a_resident_id_needs_a_real_date_of_birth():
    from marketplace.shops.services import resident_id_check_character

    for born in ("19490230", "19491301", "17990101", "20991231"):
        body = f"110105{born}002"
        number = body + resident_id_check_character(body)
        assert "出生日期" in resident_id_problem(number), number
    assert PERSON_ID not in resident_id_problem("11010519491231002Y")  # messages never repeat the number


# -- the ID number: consent, encryption, masking -------------------------------------------------------

def test_an_id_number_needs_its_own_consent(market):
    tenant, _other, _merchant, shop, *_ = market
    with tenant_scope(tenant), pytest.raises(OnboardingError) as refused:
        onboarding.submit_application(shop, _person(id_consent=False), actor_id=None)
    assert refused.value.field == "id_consent" and "单独" in str(refused.value)
    db.session.rollback()
    with tenant_scope(tenant), pytest.raises(OnboardingError) as refused:
        onboarding.submit_application(shop, _person(resident_id="11010519491231002Y"), actor_id=None)
    assert refused.value.field == "resident_id"
    db.session.rollback()
    application = _submit(tenant, shop, _person())
    assert application.resident_id_consent_at is not None and application.status == ApplicationStatus.submitted


def test_the_id_number_is_never_stored_in_clear(market):
    tenant, _other, _merchant, shop, *_ = market
    application = _submit(tenant, shop, _person())
    row = db.session.execute(text("SELECT * FROM onboarding_applications WHERE id = :id"),
                             {"id": application.id}).mappings().one()
    assert not any(PERSON_ID in str(value) or PERSON_ID[:17] in str(value) for value in row.values())
    assert row["resident_id_masked"] == "110****002X"
    assert row["resident_id_token"].startswith("gAAAA")  # a Fernet token
    assert onboarding.decrypt_resident_id(row["resident_id_token"]) == PERSON_ID
    # The key is derived from SECRET_KEY: with another secret the token does not open.
    from flask import current_app

    secret = current_app.config["SECRET_KEY"]
    current_app.config["SECRET_KEY"] = "another-secret-key-another-secret-key"
    try:
        with pytest.raises(OnboardingError):
            onboarding.decrypt_resident_id(row["resident_id_token"])
    finally:
        current_app.config["SECRET_KEY"] = secret


def test_enterprises_give_a_checked_uscc_and_no_id_number(market):
    tenant, _other, _merchant, shop, *_ = market
    with tenant_scope(tenant), pytest.raises(OnboardingError) as refused:
        onboarding.submit_application(shop, _enterprise(registration_number="91110108551385082A"), actor_id=None)
    assert refused.value.field == "registration_number" and "校验码" in str(refused.value)
    db.session.rollback()
    with tenant_scope(tenant), pytest.raises(OnboardingError) as refused:
        onboarding.submit_application(shop, _enterprise(licence_image=None), actor_id=None)
    assert refused.value.field == "licence_image"
    db.session.rollback()
    application = _submit(tenant, shop, _enterprise(resident_id=PERSON_ID, id_consent=True))
    assert application.resident_id_token == "" and application.resident_id_masked == ""
    assert application.licence_image["sha256"] and application.licences[0]["kind"] == "pesticide_business"


def test_the_merchant_files_on_the_page_and_sees_the_number_masked(market, client):
    tenant, _other, merchant, shop, *_ = market
    client.login("owner@shangdu.example", PASSWORD)
    assert client.get(PAGE).status_code == 200
    form = {"kind": "natural_person", "legal_name": "王建军", "resident_id": PERSON_ID.lower(),
            "contact_name": "王建军", "contact_phone": "13900139000", "business_address": "农资市场 B-12",
            "exemption": "small_sporadic"}
    refused = client.submit(PAGE, form)
    assert refused.status_code == 400 and "单独勾选同意" in _page(refused)
    assert PERSON_ID not in _page(refused) and PERSON_ID.lower() not in _page(refused)
    response = client.submit(PAGE, {**form, "id_consent": "y", "licence_image": (io.BytesIO(b""), "")})
    assert response.status_code == 303
    page = _page(client.get(PAGE))
    assert "110****002X" in page and PERSON_ID not in page and "待审核" in page
    with tenant_scope(tenant):
        application = onboarding.current_application(merchant)
        assert application.status == ApplicationStatus.submitted
    # While it waits, it cannot be changed.
    assert client.submit(PAGE, {**form, "id_consent": "y"}).status_code == 400


def test_bad_input_on_the_page_is_a_message_not_an_error(market, client):
    client.login("owner@shangdu.example", PASSWORD)
    for form in ({"kind": "nonsense"}, {"kind": "enterprise", "legal_name": "x" * 300},
                 {"kind": "enterprise", "legal_name": "甲", "registration_number": "91110108551385082Q",
                  "legal_representative": "甲", "contact_name": "甲", "contact_phone": "12345",
                  "business_address": "甲"},
                 {"kind": "enterprise", "legal_name": "甲", "registration_number": "91110108551385082Q",
                  "legal_representative": "甲", "contact_name": "甲", "contact_phone": "13800138000",
                  "business_address": "甲", "licence_image": (io.BytesIO(b"not an image"), "x.png")},
                 {"kind": "enterprise", "licence_expires_pesticide_business": "not a date"}):
        assert client.submit(PAGE, form).status_code == 400, form


# -- the operator's queue --------------------------------------------------------------------------------

def test_submitted_applications_come_first_with_the_number_masked(market, client, make_merchant, make_shop):
    tenant, _other, _merchant, shop, *_ = market
    early = make_merchant(kind="enterprise", legal_name="阿尔法农资", registration_number="91410100MA000020X0")
    make_shop(tenant, merchant=early, slug="alpha", name_zh="阿尔法")
    _submit(tenant, shop, _person())
    client.login("operator@shangdu.example", PASSWORD)
    page = _page(client.get(QUEUE))
    # By name "龙…" would come last; the merchant whose application waits leads.
    assert page.index("龙穗丰待认证") < min(page.index("阿尔法农资"), page.index("测试商户"))
    assert "110****002X" in page and PERSON_ID not in page and "查看完整证件号" in page


def test_revealing_the_id_number_is_a_post_and_is_recorded(market, client):
    tenant, _other, _merchant, shop, *_ = market
    application = _submit(tenant, shop, _person())
    client.login("operator@shangdu.example", PASSWORD)
    url = f"/operator/fert-market/applications/{application.id}/reveal"
    assert client.get(url).status_code == 405
    response = client.submit(url, {}, page_url=QUEUE)
    assert response.status_code == 200 and PERSON_ID in _page(response)
    assert response.headers["Cache-Control"] == "no-store"
    with tenant_scope(tenant):
        events = onboarding.events_of(application)
        assert [e.action for e in events] == ["submitted", "revealed_id"]
        assert events[1].actor_id is not None
        events[1].note = "改写"
        with pytest.raises(OnboardingError):
            db.session.flush()
        db.session.rollback()


def test_approving_an_application_approves_the_merchant_and_files_its_licences(market, client):
    tenant, _other, merchant, shop, *_ = market
    application = _submit(tenant, shop, _enterprise())
    client.login("operator@shangdu.example", PASSWORD)
    response = client.submit(f"/operator/fert-market/applications/{application.id}/approve", {}, page_url=QUEUE)
    assert response.status_code == 303
    db.session.expire_all()
    assert verification.is_approved(merchant)
    assert merchant.legal_name == "郑州穗丰农资有限公司" and merchant.kind == "enterprise"
    assert merchant.registration_number == "91110108551385082Q"
    with tenant_scope(tenant):
        licence = db.session.scalar(select(ShopLicence).where(ShopLicence.shop_id == shop.id))
        assert licence.kind == "pesticide_business" and licence.verified_at is not None
        assert licence.number == "农药经营许可（豫）41010320260001"
        application = db.session.get(OnboardingApplication, application.id)
        assert application.status == ApplicationStatus.approved
        assert [e.action for e in onboarding.events_of(application)] == ["submitted", "approved"]
    assert [e.to_status for e in verification.events_of(merchant)] == ["approved"]
    # A decided application takes no second decision.
    again = client.submit(f"/operator/fert-market/applications/{application.id}/approve", {}, page_url=QUEUE,
                          follow_redirects=True)
    assert again.status_code == 200 and "不在待审核状态" in _page(again)


def test_ask_for_more_then_resubmit_then_reject_with_a_reason(market, client, make_client):
    tenant, _other, merchant, shop, *_ = market
    application = _submit(tenant, shop, _enterprise())
    base = f"/operator/fert-market/applications/{application.id}"
    client.login("operator@shangdu.example", PASSWORD)
    assert client.submit(f"{base}/more", {"note": ""}, page_url=QUEUE, follow_redirects=True).status_code == 200
    assert client.submit(f"{base}/more", {"note": "请上传清晰的营业执照照片"}, page_url=QUEUE).status_code == 303
    db.session.expire_all()
    assert not verification.is_approved(merchant)

    owner = make_client()
    owner.login("owner@shangdu.example", PASSWORD)
    page = _page(owner.get(PAGE))
    assert "请上传清晰的营业执照照片" in page and "需补充材料" in page
    form = {"kind": "enterprise", "legal_name": "郑州穗丰农资有限公司", "registration_number": "91110108551385082Q",
            "entity_type": "有限责任公司", "registered_capital": "500 万元",
            "legal_representative": "李穗丰", "contact_name": "李穗丰", "contact_phone": "13800138000",
            "business_address": "郑州市二七区农资市场 A 区 108 号",
            "licence_image": (io.BytesIO(encode(picture(640, 400), "JPEG")), "licence.jpg")}
    assert owner.submit(PAGE, form).status_code == 303
    with tenant_scope(tenant):
        db.session.expire_all()
        resubmitted = db.session.get(OnboardingApplication, application.id)
        assert resubmitted.status == ApplicationStatus.submitted and resubmitted.is_current

    assert client.submit(f"{base}/reject", {"note": "营业执照与名称不符"}, page_url=QUEUE).status_code == 303
    db.session.expire_all()
    approval = verification.approval_for(merchant)
    assert approval.status == "rejected" and approval.reason == "营业执照与名称不符"
    assert "营业执照与名称不符" in _page(owner.get(PAGE))
    with tenant_scope(tenant):
        actions = [e.action for e in onboarding.events_of(application)]
    assert actions == ["submitted", "more_info", "resubmitted", "rejected"]

    # After a decision the merchant applies again: a new current application, the old one kept.
    second = _submit(tenant, shop, _enterprise(licence_image=None))  # the picture on file is taken over
    with tenant_scope(tenant):
        rows = db.session.scalars(select(OnboardingApplication).order_by(OnboardingApplication.id)).all()
    assert [(row.id, row.is_current) for row in rows] == [(application.id, False), (second.id, True)]
    assert second.licence_image == rows[0].licence_image


def test_reverification_is_due_thirty_days_before_the_approval_runs_out(market, client):
    tenant, _other, merchant, shop, *_ = market
    _submit(tenant, shop, _enterprise())
    client.login("owner@shangdu.example", PASSWORD)
    with tenant_scope(tenant):
        verification.approve(merchant, actor_id=None, tenant=tenant, now=utcnow() - timedelta(days=100))
        db.session.commit()
    assert onboarding.reverification_due(merchant) is None
    assert "重新提交认证资料" not in _page(client.get(PAGE))
    with tenant_scope(tenant):
        verification.approve(merchant, actor_id=None, tenant=tenant, now=utcnow() - timedelta(days=160))
        db.session.commit()
    assert onboarding.reverification_due(merchant) is not None
    assert "到期，请重新提交认证资料" in _page(client.get(PAGE))


# -- other shops and tenants -----------------------------------------------------------------------------

def test_another_shops_owner_is_refused_and_another_tenant_finds_nothing(market, client, make_client):
    tenant, _other, merchant, shop, _neighbour, _other_shop = market
    application = _submit(tenant, shop, _person())
    client.login("neighbour@shangdu.example", PASSWORD)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, data={"kind": "natural_person"}).status_code in (400, 403)
    assert client.get("/merchant/other-street/suifeng/verification").status_code == 404

    other = make_client()
    other.login("other-operator@shangdu.example", PASSWORD)
    own_page = "/operator/other-street/merchants"
    for action, form in (("approve", {}), ("reject", {"note": "越界"}), ("more", {"note": "越界"}), ("reveal", {})):
        crossed = other.submit(f"/operator/other-street/applications/{application.id}/{action}", form,
                               page_url=own_page)
        assert crossed.status_code == 404, action
        assert PERSON_ID not in _page(crossed)
        refused = other.submit(f"/operator/fert-market/applications/{application.id}/{action}", form,
                               page_url=own_page)
        assert refused.status_code == 404, action
    assert "王建军" not in _page(other.get(own_page))
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(OnboardingApplication, application.id).status == ApplicationStatus.submitted
        assert db.session.scalars(select(OnboardingEvent)).all()[-1].action == "submitted"
    assert not verification.is_approved(merchant)


# -- what the licence page shows by entity kind (网络交易监督管理办法 Art. 12) ----------------------------------------

@pytest.mark.parametrize("data, field", [
    (lambda: _enterprise(entity_type=""), "entity_type"),
    (lambda: _enterprise(registered_capital=" "), "registered_capital"),
    (lambda: _enterprise(kind="individual_business", organisation_form=""), "organisation_form"),
    (lambda: _enterprise(kind="individual_business", organisation_form="cooperative"), "organisation_form"),
    (lambda: _person(exemption=""), "exemption"),
    (lambda: _person(exemption="个人从事零星小额交易活动"), "exemption"),
])
def test_each_kind_gives_what_its_licence_page_must_show(market, data, field):
    tenant, _other, _merchant, shop, *_ = market
    with tenant_scope(tenant), pytest.raises(OnboardingError) as refused:
        onboarding.submit_application(shop, data(), actor_id=None)
    assert refused.value.field == field


def test_the_licence_page_shows_the_enterprise_facts_and_the_exempt_traders_declaration(market, client, make_user,
                                                                                        make_merchant, make_shop):
    tenant, _other, merchant, shop, *_ = market
    operator = db.session.scalar(select(User).where(User.email == "operator@shangdu.example"))
    application = _submit(tenant, shop, _enterprise(entity_type="有限责任公司（自然人投资或控股）",
                                                    registered_capital="500 万元"))
    with tenant_scope(tenant):
        onboarding.approve_application(db.session.get(OnboardingApplication, application.id), operator=operator,
                                       tenant=tenant)
        db.session.commit()
    page = _page(client.get("/t/fert-market/s/suifeng/licence"))
    assert "有限责任公司（自然人投资或控股）" in page and "500 万元" in page and "李穗丰" in page
    assert "郑州市二七区农资市场 A 区 108 号" in page

    person = make_merchant(kind="natural_person", legal_name="王建军")
    stall = make_shop(tenant, merchant=person, slug="wang-stall", name_zh="王建军摊位", approved=False)
    application = _submit(tenant, stall, _person(exemption="own_farm_produce"))
    with tenant_scope(tenant):
        onboarding.approve_application(db.session.get(OnboardingApplication, application.id), operator=operator,
                                       tenant=tenant)
        db.session.commit()
    page = _page(client.get("/t/fert-market/s/wang-stall/licence"))
    assert "个人销售自产农副产品，依法不需要办理市场主体登记" in page  # word for word
    assert "13900139000" in page and "郑州市二七区农资市场 B-12" in page


def test_the_licence_page_keeps_the_verified_facts_while_a_reverification_waits(market, client):
    tenant, _other, _merchant, shop, *_ = market
    operator = db.session.scalar(select(User).where(User.email == "operator@shangdu.example"))
    first = _submit(tenant, shop, _enterprise())
    with tenant_scope(tenant):
        onboarding.approve_application(db.session.get(OnboardingApplication, first.id), operator=operator,
                                       tenant=tenant)
        db.session.commit()
    _submit(tenant, shop, _enterprise(business_address="郑州市金水区新地址 1 号"))  # waiting for the operator
    page = _page(client.get("/t/fert-market/s/suifeng/licence"))
    assert "郑州市二七区农资市场 A 区 108 号" in page and "新地址" not in page and "500 万元" in page
