"""身份认证 (IA): each requirement passes for a tenant that does what it asks and fails, naming what is wrong, for
one that does not."""

from __future__ import annotations

from datetime import timedelta

from marketplace.accounts.addresses import Address
from marketplace.catalog.models import ProductStatus
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.spec.model import Status
from marketplace.tenancy.context import tenant_scope
from tests.spec import trust_world
from tests.spec.trust_world import USCC, application, decide, place, status

street, farm = trust_world.street, trust_world.farm  # the shared fixtures
PASSED, FAILED = Status.passed, Status.failed


def test_ia1_nothing_sells_before_the_merchant_is_approved(street, make_shop, make_product):
    tenant, *_ = street
    assert status(tenant, "IA-1") == PASSED
    unapproved = make_shop(tenant, slug="never-approved", approved=False)
    product = make_product(unapproved, publish=False)
    with tenant_scope(tenant):
        product.status = ProductStatus.active  # as an import that skipped the gate would leave it
        db.session.commit()
    finding = decide(tenant, "IA-1")
    assert finding.status == FAILED
    assert finding.evidence == ["never-approved (1)"]


def test_ia2_an_approval_older_than_six_months_is_named(street):
    tenant, shop, *_ = street
    assert status(tenant, "IA-2") == PASSED
    finding = decide(tenant, "IA-2", now=utcnow() + timedelta(days=200))
    assert finding.status == FAILED
    assert finding.evidence == [shop.merchant.legal_name]


def test_ia3_a_natural_person_needs_an_id_number_on_file(street, make_merchant, make_shop):
    tenant, *_ = street
    assert status(tenant, "IA-3") == PASSED
    person = make_merchant(kind="natural_person", legal_name="陈磊", contact_phone="13903710107")
    stall = make_shop(tenant, slug="chen", merchant=person)
    assert decide(tenant, "IA-3").evidence == ["陈磊: 缺身份证件号码"]
    application(stall, resident_id="11010519491231002X")
    assert status(tenant, "IA-3") == PASSED


def test_ia4_a_stored_credit_code_with_a_wrong_check_character_fails(street, make_merchant, make_shop):
    tenant, *_ = street
    assert status(tenant, "IA-4") == PASSED
    wrong = make_merchant(kind="enterprise", legal_name="错码公司", registration_number="91110108551385082A")
    make_shop(tenant, merchant=wrong)
    finding = decide(tenant, "IA-4")
    assert finding.status == FAILED
    assert finding.evidence == ["错码公司: 91110108551385082A"]


def test_ia5_an_id_number_on_file_with_a_wrong_check_digit_fails(street, make_merchant, make_shop):
    tenant, *_ = street
    person = make_merchant(kind="natural_person", legal_name="赵秀兰")
    stall = make_shop(tenant, merchant=person)
    row = application(stall, resident_id="11010519491231002X")
    assert status(tenant, "IA-5") == PASSED
    with tenant_scope(tenant):
        row.is_current = False
        db.session.commit()
    application(stall, resident_id="230307196304054513")
    finding = decide(tenant, "IA-5")
    assert finding.status == FAILED
    assert finding.evidence[0].startswith("赵秀兰 (230****4513)")


def test_ia6_an_unregistered_person_over_100000_yuan_a_year_is_named(street, make_merchant, make_shop,
                                                                    make_product, make_category):
    tenant, _shop, _apples, _pears, buyer = street
    assert status(tenant, "IA-6") == Status.not_applicable  # nobody trades unregistered here
    person = make_merchant(kind="natural_person", legal_name="孙福林")
    stall = make_shop(tenant, slug="sun", merchant=person)
    tractor = make_product(stall, title="二手拖拉机", price=6_000_000, stock=5)
    place(tenant, buyer, {tractor: 1}, "small", steps=("paid",))
    assert status(tenant, "IA-6") == PASSED  # ¥60,000
    place(tenant, buyer, {tractor: 1}, "over", steps=("paid",))
    finding = decide(tenant, "IA-6")
    assert finding.status == FAILED
    assert finding.evidence == ["孙福林: ¥120,000.00"]


def test_ia7_an_application_waiting_over_seven_working_days_is_named(street):
    tenant, shop, *_ = street
    application(shop, status="submitted", submitted_at=utcnow() - timedelta(days=2))
    assert status(tenant, "IA-7") == PASSED
    finding = decide(tenant, "IA-7", now=utcnow() + timedelta(days=10))
    assert finding.status == FAILED
    assert finding.evidence[0].startswith(shop.merchant.legal_name)


def test_ia8_the_half_yearly_report_needs_an_approved_application_with_an_address(street):
    tenant, shop, *_ = street
    finding = decide(tenant, "IA-8")
    assert finding.status == FAILED
    assert finding.evidence == [f"{shop.merchant.legal_name}: 无已通过的认证申请"]
    application(shop)
    assert status(tenant, "IA-8") == PASSED


def test_ia9_licensed_goods_fail_once_the_licence_expires(farm):
    tenant, shop, _licence, _product = farm
    assert status(tenant, "IA-9") == PASSED
    finding = decide(tenant, "IA-9", now=utcnow() + timedelta(days=40))
    assert finding.status == FAILED
    assert finding.evidence == ["suifeng: pesticide_business (1)"]


def test_ia10_a_licence_nobody_is_recorded_as_reviewing_fails(farm):
    tenant, _shop, licence, _product = farm
    assert status(tenant, "IA-10") == PASSED
    with tenant_scope(tenant):
        licence.verified_by_id = None
        db.session.commit()
    assert status(tenant, "IA-10") == FAILED


def test_ia11_a_review_from_an_account_without_a_mobile_number_fails(street, make_user):
    from marketplace.trust import reviews

    tenant, _shop, apples, _pears, buyer = street
    ratings = {"product": 5, "described": 5, "service": 5, "delivery": 5}
    order = place(tenant, buyer, {apples: 1}, "mobile")
    with tenant_scope(tenant):
        reviews.create_review(tenant, order.lines[0], buyer.id, ratings=ratings)
        db.session.commit()
    assert status(tenant, "IA-11") == PASSED
    by_mail = make_user("mail-only@spec.example")
    order = place(tenant, by_mail, {apples: 1}, "mail")
    with tenant_scope(tenant):
        made = reviews.create_review(tenant, order.lines[0], by_mail.id, ratings=ratings)
        db.session.commit()
    finding = decide(tenant, "IA-11")
    assert finding.status == FAILED
    assert finding.evidence == [f"review {made.id} (user {by_mail.id})"]


def test_ia11_a_review_whose_author_closed_the_account_since_does_not_fail(street):
    from marketplace.accounts import closure
    from marketplace.trust import reviews
    from tests.fixtures.factories import PASSWORD

    tenant, _shop, apples, _pears, buyer = street
    assert buyer.mobile  # the review was written by an identified account
    order = place(tenant, buyer, {apples: 1}, "closing")
    with tenant_scope(tenant):
        reviews.create_review(tenant, order.lines[0], buyer.id,
                              ratings={"product": 5, "described": 5, "service": 5, "delivery": 5})
        db.session.commit()
    closure.close_account(buyer, PASSWORD)  # empties the mobile
    db.session.commit()
    finding = decide(tenant, "IA-11")
    assert finding.status == PASSED, finding.evidence


def test_ia12_an_id_number_kept_without_its_consent_fails(street, make_merchant, make_shop):
    tenant, *_ = street
    stall = make_shop(tenant, merchant=make_merchant(kind="natural_person", legal_name="陈磊"))
    row = application(stall, resident_id="11010519491231002X")
    assert status(tenant, "IA-12") == PASSED
    with tenant_scope(tenant):
        row.resident_id_consent_at = None
        db.session.commit()
    assert decide(tenant, "IA-12").evidence == [f"#{row.id} 陈磊"]


def test_ia13_the_certificate_needs_a_recorded_operating_organisation_to_sign_it(street):
    # tests/trust/test_premises.py shows the certificate page itself at work.
    tenant, *_ = street
    finding = decide(tenant, "IA-13")
    assert finding.status == FAILED and "尚未登记运营机构" in finding.evidence[0]
    with tenant_scope(tenant):
        tenant.operator_name, tenant.operator_uscc = "郑州德化街商业管理有限公司", "91410103MA46E5P2WA"
        db.session.commit()
    finding = decide(tenant, "IA-13")
    assert finding.status == PASSED and "郑州德化街商业管理有限公司" in finding.detail


def test_ia14_a_malformed_contact_phone_is_named(street, make_merchant, make_shop):
    tenant, *_ = street
    assert status(tenant, "IA-14") == PASSED
    make_shop(tenant, merchant=make_merchant(legal_name="号码不全商户", registration_number=USCC,
                                             contact_phone="1390371"))
    assert decide(tenant, "IA-14").evidence == ["号码不全商户: 1390371"]


def _address(user, **values) -> Address:
    fields = dict(recipient="张三丰", mobile="13800138000", province_code="410000", province_name="河南省",
                  city_code="410100", city_name="郑州市", district_code="410103", district_name="二七区",
                  street="德化街 8 号", postcode="450000")
    fields.update(values)
    address = Address(user_id=user.id, **fields)
    db.session.add(address)
    db.session.commit()
    return address


def test_ia15_a_postal_code_that_is_not_six_digits_is_named(street):
    tenant, _shop, apples, _pears, buyer = street
    _address(buyer)
    place(tenant, buyer, {apples: 1}, "post", steps=("paid",))
    assert status(tenant, "IA-15") == PASSED
    bad = _address(buyer, postcode="45A00")
    assert decide(tenant, "IA-15").evidence == [f"address {bad.id}: 45A00"]


def test_ia16_a_region_code_missing_from_the_table_is_named(street):
    tenant, _shop, apples, _pears, buyer = street
    _address(buyer)
    place(tenant, buyer, {apples: 1}, "region", steps=("paid",))
    assert status(tenant, "IA-16") == PASSED
    _address(buyer, district_code="410199")
    assert decide(tenant, "IA-16").evidence == ["410199"]
