"""Joining a street or market (入驻申请): a resident applies at /t/<tenant>/join, the tenant's operator approves —
and the shop exists, with its owner — or rejects with a reason the applicant reads."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role, RoleGrant
from marketplace.core.audit import AuditEntry
from marketplace.extensions import db
from marketplace.shops.applications import ShopApplication
from marketplace.shops.models import Merchant, Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant

PASSWORD = "correct-horse-42"
USCC = "92410103MA9DEM001K"  # check character right (GB 32100)
OTHER_USCC = "91110108551385082Q"


def _form(**changes) -> dict:
    return {"kind": "individual_business", "legal_name": "郑州市二七区王记鲜果店", "registration_number": USCC,
            "contact_name": "王建军", "contact_phone": "13903710001", "shop_name_zh": "王记鲜果",
            "shop_name_en": "Wang's Fruit", "slug": "wang-fruit", "category_id": "", "wished_place": "36号",
            "note": "", **changes}


def _applications(tenant: Tenant) -> list[ShopApplication]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.scalars(select(ShopApplication).order_by(ShopApplication.id)))


def _shop(tenant: Tenant, slug: str) -> Shop | None:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.scalar(select(Shop).where(Shop.slug == slug))


@pytest.fixture
def street(make_tenant):
    return make_tenant(slug="dongda-street", name_zh="东大街")


@pytest.fixture
def resident(make_user):
    return make_user("wang@shangdu.example", name="王建军")


@pytest.fixture
def operator(make_user, street):
    return make_user("operator@shangdu.example", role=Role.tenant_operator, tenant=street)


def _apply(client, tenant: Tenant, **changes):
    return client.submit(f"/t/{tenant.slug}/join", _form(**changes))


def _applied(client, street, resident, **changes) -> ShopApplication:
    client.login(resident.login_name, PASSWORD)
    assert _apply(client, street, **changes).status_code == 303
    return _applications(street)[-1]


# -- the resident ---------------------------------------------------------------------------------------------------

def test_a_signed_out_visitor_is_sent_to_log_in_and_comes_back(client, street, resident):
    response = client.get("/t/dongda-street/join")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert "next=%2Ft%2Fdongda-street%2Fjoin" in response.headers["Location"]
    back = client.submit("/account/login?next=/t/dongda-street/join",
                         {"identifier": resident.login_name, "password": PASSWORD, "next": "/t/dongda-street/join"})
    assert back.headers["Location"].endswith("/t/dongda-street/join")
    assert "填写入驻申请" in client.get("/t/dongda-street/join").get_data(as_text=True)


def test_every_tenant_page_links_to_joining(client, street):
    html = client.get("/t/dongda-street/").get_data(as_text=True)
    assert 'href="/t/dongda-street/join"' in html and "商户入驻" in html


def test_a_resident_applies_and_sees_it_waiting(client, street, resident, make_category):
    fruit = make_category(street, slug="fruit", name_zh="水果")
    client.login(resident.login_name, PASSWORD)
    response = _apply(client, street, registration_number=" 92410103ma9dem001k ", category_id=str(fruit.id),
                      slug="Wang-Fruit", note="早市经营")
    assert response.status_code == 303
    [application] = _applications(street)
    assert (application.status, application.applicant_id, application.slug) == ("submitted", resident.id, "wang-fruit")
    assert application.registration_number == USCC and application.category_id == fruit.id
    assert (application.wished_place, application.note) == ("36号", "早市经营")
    page = client.get("/t/dongda-street/join").get_data(as_text=True)
    assert "入驻申请已提交，请等待运营方审核。" in page and "已提交，等待运营方审核" in page and "王记鲜果" in page
    assert 'name="shop_name_zh"' not in page  # no second form while this one waits


def test_a_natural_person_may_leave_the_registration_number_empty(client, street, resident):
    application = _applied(client, street, resident, kind="natural_person", legal_name="王建军",
                           registration_number="")
    assert (application.kind, application.registration_number) == ("natural_person", "")


@pytest.mark.parametrize(("changes", "message"), [
    ({"registration_number": "92410103MA9DEM001X"}, "最后一位（校验码）不对"),
    ({"registration_number": ""}, "须填写营业执照上的统一社会信用代码"),
    ({"contact_phone": "12345"}, "请填写 11 位手机号码或带区号的固定电话。"),
    ({"shop_name_zh": "  "}, "请填写店铺中文名称。"),
    ({"slug": "-bad slug"}, "店铺网址名只能用小写字母"),
    ({"kind": "pirate"}, "请选择经营者类型。"),
    ({"category_id": "999999999999"}, "请从列表中选择经营类别。"),
    ({"legal_name": "王\x00记"}, "含有无法识别的字符"),
])
def test_bad_input_is_a_form_error_and_files_nothing(client, street, resident, changes, message):
    client.login(resident.login_name, PASSWORD)
    response = _apply(client, street, **changes)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _applications(street) == []


def test_only_a_top_level_category_of_this_tenant_may_be_named(client, street, resident, make_tenant, make_category):
    parent = make_category(street, slug="food", name_zh="食品")
    child = make_category(street, slug="fruit", name_zh="水果", parent_id=parent.id)
    elsewhere = make_category(make_tenant(), slug="cloth", name_zh="布料")
    client.login(resident.login_name, PASSWORD)
    form = client.get("/t/dongda-street/join").get_data(as_text=True)
    assert "食品" in form and "水果" not in form and "布料" not in form
    for category in (child, elsewhere):
        assert _apply(client, street, category_id=str(category.id)).status_code == 400
    assert _applications(street) == []


def test_a_shop_address_taken_by_a_shop_or_an_open_application_is_refused(client, street, resident, make_shop,
                                                                          make_user, make_client):
    make_shop(street, slug="old-shop")
    client.login(resident.login_name, PASSWORD)
    response = _apply(client, street, slug="old-shop")
    assert response.status_code == 400 and "店铺网址名“old-shop”已被使用" in response.get_data(as_text=True)

    neighbour = make_client()
    neighbour.login(make_user("li@shangdu.example").login_name, PASSWORD)
    assert _apply(neighbour, street, slug="wang-fruit").status_code == 303
    response = _apply(client, street, slug="wang-fruit")
    assert response.status_code == 400 and "店铺网址名“wang-fruit”已被使用" in response.get_data(as_text=True)
    assert len(_applications(street)) == 1


def test_a_second_submission_shows_the_waiting_one(client, street, resident):
    first = _applied(client, street, resident)
    response = client.submit("/t/dongda-street/join", _form(slug="another-slug"), page_url="/t/dongda-street/")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "您在这里已有一份待审核的入驻申请。" in page and "王记鲜果" in page
    assert [a.id for a in _applications(street)] == [first.id]


def test_the_applicant_may_withdraw_and_apply_again(client, street, resident):
    _applied(client, street, resident)
    response = client.submit("/t/dongda-street/join/withdraw", {}, page_url="/t/dongda-street/join")
    assert response.status_code == 303
    assert [a.status for a in _applications(street)] == ["withdrawn"]
    assert _apply(client, street).status_code == 303  # the address is free again
    assert [a.status for a in _applications(street)] == ["withdrawn", "submitted"]


def test_a_market_being_set_up_takes_applications_but_shows_nothing_else(client, make_tenant, resident):
    preparing = make_tenant(slug="new-market", kind="market", status="draft", name_zh="新建市场")
    assert client.get("/t/new-market/join").status_code == 302  # to the login page, not "not found"
    client.login(resident.login_name, PASSWORD)
    assert "新建市场" in client.get("/t/new-market/join").get_data(as_text=True)
    assert _apply(client, preparing).status_code == 303
    assert [a.status for a in _applications(preparing)] == ["submitted"]
    assert client.get("/t/new-market/").status_code == 404  # the exception is this page only
    assert client.get("/t/new-market/cart").status_code == 404


def test_a_suspended_tenant_takes_no_applications(client, make_tenant, resident):
    suspended = make_tenant(slug="shut-street", status="suspended")
    client.login(resident.login_name, PASSWORD)
    assert client.get("/t/shut-street/join").status_code == 503
    token = client.csrf_token("/account/login")
    assert client.post("/t/shut-street/join", data={"csrf_token": token, **_form()}).status_code == 503
    assert _applications(suspended) == []


def test_a_tenant_announcing_its_closing_takes_no_new_applications(client, street, resident):
    from datetime import date, timedelta

    street.closing_on = date.today() + timedelta(days=40)
    db.session.commit()
    client.login(resident.login_name, PASSWORD)
    page = client.get("/t/dongda-street/join").get_data(as_text=True)
    assert "不再受理入驻申请" in page and 'name="shop_name_zh"' not in page
    token = client.csrf_token("/t/dongda-street/join")
    assert client.post("/t/dongda-street/join", data={"csrf_token": token, **_form()}).status_code == 400
    assert _applications(street) == []


# -- the operator ---------------------------------------------------------------------------------------------------

def test_the_operator_sees_waiting_applications_first_with_counts(client, street, resident, operator, make_user,
                                                                   make_client):
    first = _applied(client, street, resident)
    other = make_client()
    other.login(make_user("li@shangdu.example").login_name, PASSWORD)
    _apply(other, street, slug="li-cloth", shop_name_zh="李记布行", legal_name="郑州市李记布行", registration_number=OTHER_USCC)
    with tenant_scope(street):
        db.session.get(ShopApplication, first.id).status = "rejected"
        db.session.commit()

    client.login(operator.login_name, PASSWORD)
    console = client.get("/operator/dongda-street/").get_data(as_text=True)
    assert 'href="/operator/dongda-street/shop-applications"' in console and "1 份待审核" in console
    page = client.get("/operator/dongda-street/shop-applications").get_data(as_text=True)
    assert page.index("李记布行") < page.index("王记鲜果")  # the waiting one first
    assert 'class="count-submitted">1<' in page and 'class="count-rejected">1<' in page
    assert "http://localhost/t/dongda-street/join" in page  # the address to hand out
    waiting = client.get("/operator/dongda-street/shop-applications?status=submitted").get_data(as_text=True)
    assert "李记布行" in waiting and "王记鲜果" not in waiting
    detail = client.get(f"/operator/dongda-street/shop-applications/{first.id}").get_data(as_text=True)
    assert "王记鲜果" in detail and USCC in detail and "13903710001" in detail and "36号" in detail


def test_approving_opens_the_shop_with_the_applicant_as_owner(client, make_client, street, resident, operator,
                                                            make_category):
    fruit = make_category(street, slug="fruit", name_zh="水果")
    application = _applied(client, street, resident, category_id=str(fruit.id))
    desk = make_client()
    desk.login(operator.login_name, PASSWORD)
    url = f"/operator/dongda-street/shop-applications/{application.id}"
    response = desk.submit(f"{url}/approve", {}, page_url=url)
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    page = desk.get(url).get_data(as_text=True)
    assert "已批准入驻，店铺已开通；请商户在商户后台提交经营者认证。" in page

    shop = _shop(street, "wang-fruit")
    # The contact phone was for the operator: the shop opens without a public number.
    assert (shop.status, shop.name_zh, shop.name_en, shop.phone) == ("active", "王记鲜果", "Wang's Fruit", "")
    assert shop.category_id == fruit.id and shop.map_x is None and shop.stall == "" and shop.street_number == ""
    assert f'href="/operator/dongda-street/shops/{shop.id}/location"' in page  # place it on the map next
    merchant = db.session.get(Merchant, shop.merchant_id)
    assert (merchant.kind, merchant.legal_name, merchant.registration_number) == (
        "individual_business", "郑州市二七区王记鲜果店", USCC)
    assert (merchant.contact_name, merchant.contact_phone) == ("王建军", "13903710001")
    assert db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == resident.id)).shop_id == shop.id
    [approved] = _applications(street)
    assert (approved.status, approved.shop_id, approved.decided_by_id) == ("approved", shop.id, operator.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "shop_application.approved"))
    assert entry.tenant_id == street.id and entry.actor_id == operator.id and entry.details["shop"] == "wang-fruit"

    # The new owner opens the shop's console, and is told to file the merchant verification.
    assert client.get("/merchant/dongda-street/wang-fruit/").status_code == 200
    assert client.get("/merchant/dongda-street/wang-fruit/verification").status_code == 200
    mine = client.get("/t/dongda-street/join").get_data(as_text=True)
    assert "已批准" in mine and 'href="/merchant/dongda-street/wang-fruit/"' in mine
    public = client.get("/t/dongda-street/s/wang-fruit/")
    assert public.status_code == 200 and "13903710001" not in public.get_data(as_text=True)


def test_approving_reuses_the_applicants_own_merchant_with_the_same_number(client, make_tenant, make_shop,
                                                                         make_merchant, make_user, street, resident,
                                                                         operator):
    own = make_merchant(registration_number=USCC, legal_name="王记鲜果店")
    elsewhere = make_tenant(slug="erqi-market", kind="market")
    accounts.grant_role(resident, Role.merchant_owner, shop=make_shop(elsewhere, slug="wang-stall", merchant=own))
    db.session.commit()
    application = _applied(client, street, resident)
    client.login(operator.login_name, PASSWORD)
    url = f"/operator/dongda-street/shop-applications/{application.id}"
    assert "新店铺归入该商户" in client.get(url).get_data(as_text=True)
    client.submit(f"{url}/approve", {}, page_url=url)
    assert _shop(street, "wang-fruit").merchant_id == own.id


def test_the_same_number_under_someone_elses_merchant_is_a_new_merchant(client, make_shop, make_merchant, street,
                                                                       resident, operator):
    theirs = make_merchant(registration_number=USCC)
    make_shop(street, slug="their-shop", merchant=theirs)  # not owned by the applicant
    application = _applied(client, street, resident)
    client.login(operator.login_name, PASSWORD)
    url = f"/operator/dongda-street/shop-applications/{application.id}"
    client.submit(f"{url}/approve", {}, page_url=url)
    assert _shop(street, "wang-fruit").merchant_id != theirs.id


def test_an_address_taken_meanwhile_is_refused_and_nothing_is_made(client, street, resident, operator, make_shop):
    application = _applied(client, street, resident)
    make_shop(street, slug="wang-fruit", name_zh="别人的店")
    merchants = db.session.scalar(select(func.count(Merchant.id)))
    client.login(operator.login_name, PASSWORD)
    url = f"/operator/dongda-street/shop-applications/{application.id}"
    response = client.submit(f"{url}/approve", {}, page_url=url)
    assert "已被其他店铺使用" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert [a.status for a in _applications(street)] == ["submitted"]
    assert _shop(street, "wang-fruit").name_zh == "别人的店"
    assert db.session.scalar(select(func.count(Merchant.id))) == merchants
    assert db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == resident.id)) is None


def test_rejecting_needs_a_reason_which_the_applicant_reads(client, make_client, street, resident, operator):
    application = _applied(client, street, resident)
    desk = make_client()
    desk.login(operator.login_name, PASSWORD)
    url = f"/operator/dongda-street/shop-applications/{application.id}"
    response = desk.submit(f"{url}/reject", {"reason": " "}, page_url=url)
    assert response.status_code == 400 and "请写明驳回原因" in response.get_data(as_text=True)
    assert _applications(street)[0].status == "submitted"

    desk.submit(f"{url}/reject", {"reason": "该位置已满，请改申请北区"}, page_url=url)
    [rejected] = _applications(street)
    assert (rejected.status, rejected.reason, rejected.decided_by_id) == ("rejected", "该位置已满，请改申请北区", operator.id)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "shop_application.rejected")) is not None
    page = client.get("/t/dongda-street/join").get_data(as_text=True)
    assert "已驳回" in page and "驳回原因：该位置已满，请改申请北区" in page
    assert 'name="shop_name_zh"' in page  # and may apply again
    assert _shop(street, "wang-fruit") is None


def test_a_decided_application_is_not_decided_again(client, street, resident, operator):
    application = _applied(client, street, resident)
    client.login(operator.login_name, PASSWORD)
    url = f"/operator/dongda-street/shop-applications/{application.id}"
    token = client.csrf_token(url)
    client.post(f"{url}/reject", data={"csrf_token": token, "reason": "不符合经营范围"})
    response = client.post(f"{url}/approve", data={"csrf_token": token})
    assert "不能再次处理" in client.get(response.headers["Location"]).get_data(as_text=True)
    again = client.post(f"{url}/reject", data={"csrf_token": token, "reason": "另一个原因"})
    assert again.status_code == 303
    [decided] = _applications(street)
    assert (decided.status, decided.reason) == ("rejected", "不符合经营范围")
    assert _shop(street, "wang-fruit") is None


def test_another_tenants_operator_and_a_merchant_are_not_shown_the_applications(client, make_client, make_tenant,
                                                                                make_user, make_shop, street,
                                                                                resident):
    application = _applied(client, street, resident)
    other = make_tenant(slug="other-street")
    url = f"/operator/dongda-street/shop-applications/{application.id}"
    outsider = make_client()
    outsider.login(make_user("op-other@shangdu.example", role=Role.tenant_operator, tenant=other).login_name,
                   PASSWORD)
    assert outsider.get(url).status_code == 404
    assert outsider.get("/operator/dongda-street/shop-applications").status_code == 404
    # Under their own tenant's URL, the id is no application of theirs.
    assert outsider.get(f"/operator/other-street/shop-applications/{application.id}").status_code == 404
    token = outsider.csrf_token("/operator/other-street/")
    assert outsider.post(f"/operator/other-street/shop-applications/{application.id}/approve",
                         data={"csrf_token": token}).status_code == 404

    merchant = make_client()
    merchant.login(make_user("owner@shangdu.example", role=Role.merchant_owner,
                             shop=make_shop(street)).login_name, PASSWORD)
    assert merchant.get(url).status_code == 404
    assert merchant.get("/operator/dongda-street/shop-applications").status_code == 404
    token = merchant.csrf_token("/t/dongda-street/join")
    assert merchant.post(f"{url}/approve", data={"csrf_token": token}).status_code == 404
    assert _applications(street)[0].status == "submitted"
    assert outsider.get(f"/operator/other-street/shop-applications/{2**40}").status_code == 404


def test_approving_in_a_market_being_set_up_gives_it_its_first_shop(client, make_tenant, make_user, resident):
    from marketplace.console.tenants import launch_problems

    preparing = make_tenant(slug="new-market", kind="market", status="draft")
    operator = make_user("op-new@shangdu.example", role=Role.tenant_operator, tenant=preparing)
    application = _applied(client, preparing, resident)
    assert any("还没有营业中的店铺" in problem for problem in launch_problems(preparing))
    client.login(operator.login_name, PASSWORD)
    url = f"/operator/new-market/shop-applications/{application.id}"
    client.submit(f"{url}/approve", {}, page_url=url)
    assert not any("还没有营业中的店铺" in problem for problem in launch_problems(preparing))
    with all_tenants():
        assert db.session.scalar(select(func.count(Shop.id)).where(Shop.tenant_id == preparing.id)) == 1


# -- two at once ----------------------------------------------------------------------------------------------------

def test_an_address_asked_for_by_someone_else_a_moment_ago_is_refused(street, resident, make_user):
    from marketplace.shops import applications
    from tests.fixtures.races import row_lands_after

    other = make_user("li@shangdu.example")
    stop = row_lands_after("WHERE shop_applications.slug", ShopApplication.__table__, dict(
        tenant_id=street.id, applicant_id=other.id, kind="natural_person", legal_name="李", contact_name="李",
        contact_phone="13900139000", shop_name_zh="李记", slug="wang-fruit"))
    try:
        with tenant_scope(street), pytest.raises(applications.ApplicationError, match="已被使用") as refused:
            applications.submit_application(street, resident, applications.ApplicationInput(**{
                k: v for k, v in _form().items() if k != "category_id"}))
    finally:
        stop()
    assert refused.value.field == "slug"


def test_a_shop_given_the_address_while_approving_stops_the_approval(street, resident, operator, make_merchant):
    from marketplace.shops import applications
    from tests.fixtures.races import row_lands_after

    with tenant_scope(street):
        application = applications.submit_application(street, resident, applications.ApplicationInput(**{
            k: v for k, v in _form().items() if k != "category_id"}))
        db.session.commit()
        stop = row_lands_after("WHERE shops.slug", Shop.__table__, dict(
            tenant_id=street.id, merchant_id=make_merchant().id, slug="wang-fruit", name_zh="别人的店"))
        try:
            with pytest.raises(applications.ApplicationError, match="已被其他店铺使用"):
                applications.approve_application(application, operator)
        finally:
            stop()
        db.session.rollback()
    assert [a.status for a in _applications(street)] == ["submitted"]


def _approve(make_client, operator, application):
    desk = make_client()
    desk.login(operator.login_name, PASSWORD)
    url = f"/operator/dongda-street/shop-applications/{application.id}"
    response = desk.submit(f"{url}/approve", {}, page_url=url)
    assert response.status_code == 303
    return desk.get(url).get_data(as_text=True)


def test_no_shop_is_opened_for_an_applicant_who_closed_their_account(client, make_client, street, resident,
                                                                     operator):
    from marketplace.accounts.closure import close_account

    application = _applied(client, street, resident)
    close_account(db.session.get(type(resident), resident.id), PASSWORD)
    db.session.commit()
    assert _applications(street) == []  # the open application went with the account, contact details and all
    with tenant_scope(street):
        db.session.add(application.__class__(**{c: getattr(application, c) for c in (
            "tenant_id", "applicant_id", "kind", "legal_name", "registration_number", "contact_name", "contact_phone",
            "shop_name_zh", "slug")}))  # as if approved in the same moment the account closed
        db.session.commit()
    [left] = _applications(street)
    page = _approve(make_client, operator, left)
    assert "申请人的账户已停用或注销" in page
    assert _shop(street, "wang-fruit") is None
    assert db.session.scalar(select(func.count()).select_from(RoleGrant).where(
        RoleGrant.user_id == resident.id)) == 0


def test_no_shop_is_opened_once_the_tenant_has_announced_its_closing(client, make_client, street, resident,
                                                                     operator):
    from datetime import date, timedelta

    application = _applied(client, street, resident)
    street.closing_on = date.today() + timedelta(days=30)
    db.session.commit()
    assert "已公示终止经营" in _approve(make_client, operator, application)
    assert _shop(street, "wang-fruit") is None and _applications(street)[0].status == "submitted"
