"""A resident closes their account (/account/close): personal data goes at once, orders stay under a three-year
legal hold that ``flask accounts purge-held`` ends, reviews stay but show an anonymous buyer, and closing is only
refused for something still running (an order in progress, an open complaint, a role others depend on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from marketplace.accounts import closure, services
from marketplace.accounts.addresses import Address, AddressInput, add_address
from marketplace.accounts.models import LoginAttempt, Role, RoleGrant, User
from marketplace.api.auth import issue_token
from marketplace.api.models import ApiToken
from marketplace.api.scopes import ALL_SCOPES
from marketplace.delivery.models import Shipment
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Cart, Order, OrderStatus
from marketplace.tenancy.context import activate, all_tenants, tenant_scope
from marketplace.trust import complaints, reviews
from tests.delivery import test_express
from tests.fixtures.factories import PASSWORD
from tests.orders.test_place_order import fill
from tests.trust.test_reviews import GOOD, place

CLOSE = "/account/close"


def _close(client, password=PASSWORD, understood="y"):
    data = {"password": password, **({"understood": understood} if understood else {})}
    return client.submit(CLOSE, data)


def _count(model, *where) -> int:
    with all_tenants():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _add_address(user):
    add_address(user.id, AddressInput(recipient="张三丰", mobile="13800138000", province_code="410000",
                                      city_code="410100", district_code="410103", street="大学路 80 号"))
    db.session.commit()


@pytest.fixture
def market(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    """A street shop with apples and pears, and a buyer called 张三丰 (buyer@shangdu.example)."""
    tenant = make_tenant(slug="closure-street")
    shop = make_shop(tenant, slug="fruit", name_zh="鲜果坊")
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(shop, category=category, title="红富士苹果", price=2990, stock=50)
    pears = make_product(shop, category=category, title="砀山梨", price=1990, stock=50)
    buyer = make_user("buyer@shangdu.example", name="张三丰")
    return tenant, shop, apples, pears, buyer


# -- the account page says how ---------------------------------------------------------------------------------

def test_the_account_page_says_how_to_view_correct_and_delete_ones_information(client, make_user):
    make_user("buyer@shangdu.example")
    client.login("buyer@shangdu.example", PASSWORD)
    page = client.get("/account/").get_data(as_text=True)
    assert "我的个人信息" in page and "更正" in page and f'href="{CLOSE}"' in page
    close_page = client.get(CLOSE).get_data(as_text=True)
    assert "注销后立即删除" in close_page and "依法保存" in close_page and "3 年" in close_page
    assert 'name="password"' in close_page


# -- closing -----------------------------------------------------------------------------------------------------

def test_closing_deletes_the_personal_data_ends_the_session_and_frees_the_login_name(app, client, market, make_client):
    tenant, _shop, apples, pears, buyer = market
    done = place(tenant, buyer, {apples: 1}, "done")
    with tenant_scope(tenant):
        reviews.create_review(tenant, done.lines[0], buyer.id, ratings=GOOD, text="苹果很脆")
        db.session.commit()
    fill(tenant, buyer, {pears: 2})  # something left in the cart
    _add_address(buyer)
    db.session.add(LoginAttempt(identifier="buyer@shangdu.example", succeeded=False))
    db.session.commit()
    other_browser = make_client()
    other_browser.login("buyer@shangdu.example", PASSWORD)
    client.login("buyer@shangdu.example", PASSWORD)

    response = _close(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"

    db.session.expire_all()
    gone = db.session.get(User, buyer.id)
    assert gone.email.endswith("@closed.invalid") and gone.mobile is None and gone.display_name == ""
    assert not gone.active and "argon2" not in gone.password_hash
    assert _count(Address, Address.user_id == buyer.id) == 0
    assert _count(Cart, Cart.user_id == buyer.id) == 0
    assert _count(LoginAttempt, LoginAttempt.identifier == "buyer@shangdu.example") == 0
    for browser in (client, other_browser):  # every session is over, not just this one
        assert browser.get("/account/").status_code == 302
    refused = client.submit("/account/login", {"identifier": "buyer@shangdu.example", "password": PASSWORD})
    assert refused.status_code == 400 and "账号或密码不正确" in refused.get_data(as_text=True)
    # The login name is free again: someone (the same person, later) can sign up with it.
    again = services.register_user("buyer@shangdu.example", PASSWORD, "新账户")
    db.session.commit()
    assert again.id != buyer.id

    # The order stays whole under legal hold, marked with the closure date; the review stays, anonymous.
    with tenant_scope(tenant):
        held = db.session.scalar(select(closure.HeldOrder).where(closure.HeldOrder.order_id == done.id))
        assert held is not None and held.closed_at is not None and held.purged_at is None
        assert held.hold_until - held.closed_at > timedelta(days=3 * 365 - 1)
        assert db.session.get(Order, done.id).status == OrderStatus.completed
    with app.test_request_context(f"/t/{tenant.slug}/"):
        activate(tenant)
        html = render_template_string('{% include themed("reviews/_list.html") %}', product=apples)
        assert "苹果很脆" in html and "匿名买家" in html and "张*" not in html


def test_a_wrong_password_or_a_missing_tick_changes_nothing(client, make_user):
    user = make_user("buyer@shangdu.example")
    client.login("buyer@shangdu.example", PASSWORD)
    wrong = _close(client, password="not-my-password")
    assert wrong.status_code == 400 and "密码不正确" in wrong.get_data(as_text=True)
    untick = _close(client, understood=None)
    assert untick.status_code == 400 and "请勾选确认" in untick.get_data(as_text=True)
    no_csrf = client.post(CLOSE, data={"password": PASSWORD, "understood": "y"})
    assert no_csrf.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "buyer@shangdu.example"
    assert client.get("/account/").status_code == 200


def test_only_a_signed_in_resident_reaches_the_page(client):
    response = client.get(CLOSE)
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


# -- what stops it, and what does not -----------------------------------------------------------------------------

def test_an_order_in_progress_or_an_open_complaint_stops_it_with_a_list(client, market):
    tenant, _shop, apples, pears, buyer = market
    running = place(tenant, buyer, {apples: 1}, "running", steps=("paid", "accepted"))
    done = place(tenant, buyer, {pears: 1}, "done")
    with tenant_scope(tenant):
        complaint = complaints.file_complaint(tenant, done, buyer_id=buyer.id, category="quality",
                                              description="梨有磕碰")
        db.session.commit()
    client.login("buyer@shangdu.example", PASSWORD)
    page = client.get(CLOSE).get_data(as_text=True)
    assert running.number in page and "已接单" in page and complaint.number in page
    assert done.number not in page and 'name="password"' not in page  # no form while something blocks
    refused = _close_with_token_from(client, "/account/")
    assert refused.status_code == 409 and running.number in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, buyer.id).active and not closure.is_closed(buyer)


def _close_with_token_from(client, page_url):
    """A POST made anyway (an old tab, a script): the account page's CSRF token is as good as the form's."""
    return client.submit(CLOSE, {"password": PASSWORD, "understood": "y"}, page_url=page_url)


def test_unpaid_orders_are_cancelled_and_their_stock_comes_back(market):
    tenant, _shop, apples, _pears, buyer = market
    cart = fill(tenant, buyer, {apples: 3})
    with tenant_scope(tenant):
        unpaid = orders.place_order(tenant, buyer.id, cart, "unpaid").orders[0]
        db.session.commit()
        stock_before = apples.variants[0].stock
    closure.close_account(buyer, PASSWORD)
    db.session.commit()
    with tenant_scope(tenant):
        db.session.expire_all()
        assert db.session.get(Order, unpaid.id).status == OrderStatus.cancelled
        assert db.session.get(type(apples.variants[0]), apples.variants[0].id).stock == stock_before + 3


def test_owners_and_operators_hand_over_first_but_staff_just_lose_the_role(market, make_user):
    tenant, shop, _apples, _pears, _buyer = market
    owner = make_user(role=Role.merchant_owner, shop=shop)
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    staff = make_user(role=Role.merchant_staff, shop=shop)
    for holder, label in ((owner, "店主"), (operator, "运营方")):
        with pytest.raises(closure.ClosureRefused) as refused:
            closure.close_account(holder, PASSWORD)
        assert [b.kind for b in refused.value.blockers] == ["role"]
        assert label in refused.value.blockers[0].text and tenant.name_zh in refused.value.blockers[0].text
    assert shop.name_zh in closure.blockers(owner)[0].text
    with tenant_scope(tenant):
        issue_token(staff, shop, "ERP 库存同步", ALL_SCOPES)
        db.session.commit()
    closure.close_account(staff, PASSWORD)
    db.session.commit()
    assert _count(RoleGrant, RoleGrant.user_id == staff.id) == 0
    assert _count(ApiToken, ApiToken.user_id == staff.id) == 0


def test_closing_twice_is_refused_plainly(market):
    *_rest, buyer = market
    closure.close_account(buyer, PASSWORD)
    db.session.commit()
    with pytest.raises(services.AccountError) as refused:
        closure.close_account(buyer, PASSWORD)
    assert refused.value.code == "already_closed"


# -- the legal hold ends -------------------------------------------------------------------------------------------

@pytest.fixture
def delivered(app_ctx):
    """A completed express order to a home address, and its buyer."""
    world = test_express.kit.make_world()
    tenant, _shop, _variant, buyer = world
    order, _shipment = test_express.kit.place(world)
    with tenant_scope(tenant):
        for step in (OrderStatus.shipped, OrderStatus.delivered, OrderStatus.completed):
            orders.transition(order, step)
        order.note = "请放门卫室，电话 13800138000"
        db.session.commit()
    return tenant, order, buyer


def _shipment_address(tenant, order) -> dict:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.scalar(select(Shipment.address).where(Shipment.order_id == order.id))


def test_the_hold_keeps_the_address_three_years_and_the_job_clears_it_after(app, delivered):
    tenant, order, buyer = delivered
    buyer_email = buyer.email
    closed_at = datetime.now(UTC)
    closure.close_account(buyer, "correct-horse-42", now=closed_at)
    db.session.commit()
    assert _shipment_address(tenant, order)["recipient"]  # kept: the transaction record
    with tenant_scope(tenant):
        held = db.session.scalar(select(closure.HeldOrder).where(closure.HeldOrder.order_id == order.id))
        assert (held.buyer_name, held.buyer_contact) == ("买家", buyer_email)  # who bought, for the hold only

    runner = app.test_cli_runner()
    early = runner.invoke(args=["accounts", "purge-held", "--now", (closed_at + timedelta(days=3 * 365 - 2)).isoformat()])
    assert early.exit_code == 0 and "0 held orders cleared" in early.output
    assert _shipment_address(tenant, order)["recipient"]

    late = runner.invoke(args=["accounts", "purge-held", "--now", (closed_at + timedelta(days=3 * 366)).isoformat()])
    assert late.exit_code == 0 and "1 held orders cleared" in late.output
    assert _shipment_address(tenant, order) == {}
    with tenant_scope(tenant):
        kept = db.session.get(Order, order.id)
        assert kept.note == "" and kept.status == OrderStatus.completed and kept.total > 0  # the figures stay
        held = db.session.scalar(select(closure.HeldOrder).where(closure.HeldOrder.order_id == order.id))
        assert held.purged_at is not None and held.buyer_name == "" and held.buyer_contact == ""
    assert db.session.scalar(select(closure.AccountClosure.purged_at).where(
        closure.AccountClosure.user_id == buyer.id)) is not None


def test_the_job_refuses_a_date_it_cannot_read(app):
    result = app.test_cli_runner().invoke(args=["accounts", "purge-held", "--now", "next tuesday"])
    assert result.exit_code == 2 and "ISO" in result.output


def test_the_hold_of_a_leap_day_ends_on_the_first_of_march():
    assert closure.three_years_after(datetime(2028, 2, 29, 10, tzinfo=UTC)) == datetime(2031, 3, 1, 10, tzinfo=UTC)


# -- what else names the resident ----------------------------------------------------------------------------------

def _notice(tenant, product, holder):
    from marketplace.trust import ip_notices

    form = ip_notices.NoticeInput(right_kind="trademark", right_number="第 7654321 号", holder_name="张三丰",
                                  description="商品使用了我的注册商标。", contact="13903710999", warned=True)
    with tenant_scope(tenant):
        notice = ip_notices.file_notice(tenant, product, form, holder_id=holder.id, photos=["0" * 64])
        db.session.commit()
    return notice


def test_an_ip_notice_the_resident_filed_stops_closing_until_it_is_handled(client, market, make_user):
    from marketplace.trust import ip_notices

    tenant, _shop, apples, _pears, buyer = market
    notice = _notice(tenant, apples, buyer)
    with pytest.raises(closure.ClosureRefused) as refused:
        closure.close_account(buyer, PASSWORD)
    assert [b.kind for b in refused.value.blockers] == ["ip_notice"]
    assert notice.number in refused.value.blockers[0].text and "待平台审核" in refused.value.blockers[0].text
    client.login("buyer@shangdu.example", PASSWORD)
    assert notice.number in client.get(CLOSE).get_data(as_text=True)  # the page lists it too

    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    with tenant_scope(tenant):
        ip_notices.reject(db.session.get(ip_notices.IpNotice, notice.id), actor_id=operator.id,
                          reason="未提供权利证书。")
        db.session.commit()
    closure.close_account(buyer, PASSWORD)
    db.session.commit()
    assert closure.is_closed(buyer)


def test_comments_on_draft_rules_keep_their_date_but_lose_their_words(market, make_user):
    from marketplace.demo.documents import RULES
    from marketplace.tenancy import agreements

    tenant, _shop, _apples, _pears, buyer = market
    neighbour = make_user(name="李四")
    with tenant_scope(tenant):
        draft = agreements.open_consultation(
            agreements.save_draft(tenant, "rules", title="交易规则", body=RULES, actor_id=None))
        mine = agreements.add_comment(draft, user_id=buyer.id, text="退货期太短。我是张三丰，电话 13903710999。")
        theirs = agreements.add_comment(draft, user_id=neighbour.id, text="同意。")
        db.session.commit()
        mine_id, theirs_id, written_at = mine.id, theirs.id, mine.at
    closure.close_account(buyer, PASSWORD)
    db.session.commit()
    with tenant_scope(tenant):
        db.session.expire_all()
        mine, theirs = (db.session.get(agreements.DocumentComment, i) for i in (mine_id, theirs_id))
        assert "张三丰" not in mine.body and "13903710999" not in mine.body
        assert mine.body == "（发表者已注销账户，意见内容已删除）" and mine.at == written_at
        assert theirs.body == "同意。"
        assert len(agreements.comments_on(draft)) == 2  # the consultation still counts both
