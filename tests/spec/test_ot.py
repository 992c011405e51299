"""在线交易规范 (OT): each encoded requirement passes on a tenant that does what it asks and fails on one that
does not, from real orders, returns, refunds and payments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from jinja2 import FileSystemLoader
from wtforms import BooleanField

from marketplace.core.themes import Theme
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import OrderStatus
from marketplace.payments.models import Payment
from marketplace.spec.checks.ot import clause_hits
from marketplace.spec.model import Status
from marketplace.spec.runner import run
from marketplace.storefront.cart import CheckoutForm
from marketplace.tenancy import agreements
from marketplace.tenancy.context import tenant_scope
from tests.orders.test_place_order import fill
from tests.orders.test_returns import SIGNED_AT, delivered_order, record

S = OrderStatus
#: The day after the goods were signed for (SIGNED_AT is 12-01 in Shanghai).
NEXT_DAY = SIGNED_AT + timedelta(days=1)


@pytest.fixture
def street(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    """A street shop with a telephone and a number, a kettle and cups on sale, a buyer and another user."""
    tenant = make_tenant(address_zh="郑州市二七区德化街")
    shop = make_shop(tenant, name_zh="老王杂货", phone="0371-66668888", street_number="18号")
    general = make_category(tenant)
    goods = {"kettle": make_product(shop, category=general, title="电水壶", price=8900, stock=10),
             "cups": make_product(shop, category=general, title="玻璃杯", price=1500, stock=20)}
    return tenant, shop, goods, make_user(), make_user()


def decided(tenant, requirement: str, now: datetime | None = None):
    """The finding for one requirement, as the runner gives it."""
    [result] = run(tenant, now=now, only={requirement}).results
    return result.finding


def edit(tenant, row, **values):
    """Change a row as an operator or an import would, bypassing the services (the state a check must catch)."""
    with tenant_scope(tenant):
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


def placed(tenant, buyer, lines: dict, key: str):
    cart = fill(tenant, buyer, lines)
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, key).orders[0]
        db.session.commit()
        return order


def returned(tenant, order, buyer, title: str, *, no_reason: bool = True, reason: str = "",
             now: datetime = NEXT_DAY):
    """A return of one unit of the line ``title`` asked the day after receipt."""
    with tenant_scope(tenant):
        line = next(line for line in order.lines if line.title == title)
        request = returns.request_return(tenant, order, {line.id: 1}, buyer_id=buyer.id, no_reason=no_reason,
                                         reason=reason, now=now, today=date(2026, 12, 2))
        db.session.commit()
        return request


# -- OT-1 ----------------------------------------------------------------------------------------------------------

def test_ot1_goods_of_a_shop_with_telephone_and_place_pass(street):
    assert decided(street[0], "OT-1").status == Status.passed


def test_ot1_goods_of_a_shop_without_a_telephone_fail(street, make_shop, make_product):
    tenant = street[0]
    silent = make_shop(tenant, slug="no-phone", street_number="20号")
    make_product(silent, title="无名商品")
    finding = decided(tenant, "OT-1")
    assert finding.status == Status.failed and "shop no-phone" in finding.evidence


# -- OT-2 ----------------------------------------------------------------------------------------------------------

def test_ot2_a_paid_order_cancelled_is_refunded_in_full(street):
    tenant, _shop, goods, buyer, _other = street
    order = placed(tenant, buyer, {goods["kettle"]: 1}, "ot2-pass")
    with tenant_scope(tenant):
        orders.transition(order, S.paid)
        orders.transition(order, S.cancelled, note="缺货")
        db.session.commit()
        assert order.refunded == order.total
    assert decided(tenant, "OT-2").status == Status.passed


def test_ot2_a_paid_order_cancelled_without_its_money_back_fails(street):
    tenant, _shop, goods, buyer, _other = street
    order = placed(tenant, buyer, {goods["kettle"]: 1}, "ot2-fail")
    with tenant_scope(tenant):
        record(order, S.paid, SIGNED_AT)  # a cancellation that skipped the refund (imported history, a bug)
        record(order, S.cancelled, SIGNED_AT)
        db.session.commit()
    finding = decided(tenant, "OT-2")
    assert finding.status == Status.failed and order.number in finding.evidence


def test_ot2_a_contract_not_formed_clause_fails(street):
    tenant, shop = street[0], street[1]
    edit(tenant, shop, description_zh="付款后如缺货，视为合同不成立，本店不承担责任。")
    finding = decided(tenant, "OT-2")
    assert finding.status == Status.failed and any("合同不成立" in e for e in finding.evidence)


# -- OT-3, OT-4, OT-7: the checkout as built -----------------------------------------------------------------------

def test_ot3_checkout_has_a_review_step(street):
    assert decided(street[0], "OT-3").status == Status.passed


#: A tenant's own checkout page that turns the review into a one-click order: no lines, no total, no way back.
ONE_CLICK = """{% extends layout %}{% block content %}
<form method="post" action="{{ url_for('cart.checkout') }}">{{ form.csrf_token }}{{ form.idempotency_key() }}
<button type="submit">立即购买</button></form>{% endblock %}"""


def test_ot3_a_tenant_checkout_page_without_the_review_fails(street, tenant_templates):
    tenant_templates(street[0], {"cart/checkout.html": ONE_CLICK})
    finding = decided(street[0], "OT-3")
    assert finding.status == Status.failed
    assert finding.evidence == ["cart/checkout.html: 逐项列出所购商品", "cart/checkout.html: 显示应付总额",
                                "cart/checkout.html: 可以返回购物车修改"]


def test_ot4_no_box_is_ticked_by_default(street):
    assert decided(street[0], "OT-4").status == Status.passed


def test_ot4_an_add_on_the_tenant_page_ticks_by_default_fails(street, tenant_templates):
    insurance = '<label><input type="checkbox" name="shipping_insurance" value="1" checked> 运费险 ¥1</label>'
    page = ('{% extends "base/cart/checkout.html" %}{% block content %}' + insurance
            + "{{ super() }}{% endblock %}")
    tenant_templates(street[0], {"cart/checkout.html": page})
    finding = decided(street[0], "OT-4")
    assert finding.status == Status.failed
    assert finding.evidence == ['<input type="checkbox" name="shipping_insurance" value="1" checked>']


def test_ot4_an_add_on_ticked_by_default_in_the_form_fails(street, monkeypatch):
    monkeypatch.setattr(CheckoutForm, "shipping_insurance", BooleanField("运费险", default=True), raising=False)
    finding = decided(street[0], "OT-4")
    assert finding.status == Status.failed and finding.evidence == ["shipping_insurance"]


def test_ot7_every_order_has_a_receipt_and_an_invoice_choice(street):
    assert decided(street[0], "OT-7").status == Status.passed


def test_ot7_a_checkout_without_the_invoice_choice_fails(street, monkeypatch):
    monkeypatch.delattr(CheckoutForm, "invoice")
    finding = decided(street[0], "OT-7")
    assert finding.status == Status.failed and "CheckoutForm.invoice" in finding.evidence


# -- OT-5, OT-8: features the platform does not offer ---------------------------------------------------------------

def test_ot5_no_renewing_goods_is_not_applicable(street):
    assert decided(street[0], "OT-5").status == Status.not_applicable


def test_ot5_a_membership_on_sale_fails(street, make_product):
    tenant, shop = street[0], street[1]
    membership = make_product(shop, title="年度会员（自动续费）")
    edit(tenant, membership, product_type="services.membership")  # a pack's type for goods that renew
    finding = decided(tenant, "OT-5")
    assert finding.status == Status.failed and f"product {membership.id}" in finding.evidence


def test_ot8_a_deposit_saying_how_it_comes_back_passes(street, make_product):
    tenant, shop = street[0], street[1]
    product = make_product(shop, title="液化气钢瓶押金")
    edit(tenant, product, description="退瓶时凭收据全额退还押金。")
    assert decided(tenant, "OT-8").status == Status.passed


def test_ot8_a_deposit_without_its_refund_procedure_fails(street, make_product):
    tenant, shop = street[0], street[1]
    assert decided(tenant, "OT-8").status == Status.not_applicable
    product = make_product(shop, title="周转箱押金")
    finding = decided(tenant, "OT-8")
    assert finding.status == Status.failed and f"product {product.id}" in finding.evidence


# -- OT-6, OT-20: the terms linter -----------------------------------------------------------------------------------

def test_ot6_stating_the_ban_is_no_unfair_clause(street, make_product):
    tenant, shop = street[0], street[1]
    edit(tenant, shop, description_zh="本店不得以“最终解释权”等格式条款限制消费者权利。")
    assert decided(tenant, "OT-6").status == Status.passed


def test_ot6_a_final_interpretation_clause_fails(street, make_product):
    tenant, shop = street[0], street[1]
    product = make_product(shop, title="促销电饭煲")
    edit(tenant, product, description="特价商品，签收即视为认可商品质量，本活动最终解释权归本店所有。")
    finding = decided(tenant, "OT-6")
    assert finding.status == Status.failed
    assert finding.evidence == [f"product {product.id}: 最终解释权、解释权归、签收即视为"]


def test_ot6_the_published_rules_are_linted_too(street):
    tenant = street[0]
    publish(tenant, "rules", "交易规则", "一、七日无理由退货……\n五、本规则最终解释权归平台所有。")
    finding = decided(tenant, "OT-6")
    assert finding.status == Status.failed and finding.evidence == ["rules v1: 最终解释权、解释权归"]


def test_the_linter_tells_a_clause_from_its_ban():
    assert clause_hits("本店保留最终解释权。", ["最终解释权"]) == ["最终解释权"]
    assert clause_hits("经营者不得主张最终解释权。", ["最终解释权"]) == []
    assert clause_hits("禁止约定签收即视为认可质量；但本店签收即视为认可。", ["签收即视为"]) == ["签收即视为"]


def test_ot20_texts_without_off_platform_payment_pass(street):
    assert decided(street[0], "OT-20").status == Status.passed


def test_ot20_a_shop_asking_for_a_wechat_transfer_fails(street):
    tenant, shop = street[0], street[1]
    edit(tenant, shop, description_zh="批发价请加微信私下转账，更优惠。")
    finding = decided(tenant, "OT-20")
    assert finding.status == Status.failed and finding.evidence == [f"shop {shop.slug}: 加微信、私下转账"]


# -- OT-9, OT-10, OT-11: the 7-day return and its exclusions ---------------------------------------------------------

def test_ot9_a_received_order_has_its_time_of_receipt(street):
    tenant, _shop, goods, buyer, _other = street
    delivered_order(tenant, buyer, {goods["kettle"]: 1}, "ot9-pass")
    assert decided(tenant, "OT-9").status == Status.passed


def test_ot9_a_received_order_without_a_time_of_receipt_fails(street):
    tenant, _shop, goods, buyer, _other = street
    order = placed(tenant, buyer, {goods["kettle"]: 1}, "ot9-fail")
    with tenant_scope(tenant):
        order.status = S.delivered  # moved without its history (an old import): the window cannot start
        db.session.commit()
    finding = decided(tenant, "OT-9")
    assert finding.status == Status.failed and finding.evidence == [order.number]


def test_ot10_only_the_lawful_classes_are_excluded(street):
    assert decided(street[0], "OT-10").status == Status.passed


def test_ot10_a_category_excluded_on_another_ground_fails(street, make_category):
    tenant = street[0]
    make_category(tenant, slug="sale-items", return_exclusion="on_sale")  # written past the admin's validation
    finding = decided(tenant, "OT-10")
    assert finding.status == Status.failed and finding.evidence == ["category sale-items"]


@pytest.fixture
def bare_theme(app, tmp_path, monkeypatch):
    """A third-party theme whose product page leaves out the exclusion notice."""
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "product.html").write_text("<h1>{{ product.title }}</h1>", encoding="utf-8")
    monkeypatch.setitem(app.extensions["themes"], "bare", Theme(name="bare", parent="base", path=tmp_path,
                                                                label="bare"))
    monkeypatch.setitem(app.jinja_loader.loaders[1].mapping, "bare", FileSystemLoader(tmp_path))
    return "bare"


def test_ot11_the_themes_show_the_exclusion_and_ask_for_the_tick(street, make_tenant):
    assert decided(street[0], "OT-11").status == Status.passed
    assert decided(make_tenant(kind="market", theme="market"), "OT-11").status == Status.passed


def test_ot11_a_theme_without_the_exclusion_notice_fails(street, bare_theme):
    tenant = street[0]
    tenant.theme = bare_theme
    db.session.commit()
    finding = decided(tenant, "OT-11")
    assert finding.status == Status.failed and finding.evidence == ["catalog/product.html"]


# -- OT-12, OT-13, OT-14, OT-15, OT-18: answering returns and refunding -------------------------------------------

def test_ot12_a_refusal_for_real_wear_passes(street):
    tenant, _shop, goods, buyer, _other = street
    order = delivered_order(tenant, buyer, {goods["kettle"]: 1}, "ot12-pass")
    request = returned(tenant, order, buyer, "电水壶")
    with tenant_scope(tenant):
        returns.reject(request, actor_id=buyer.id, reason="壶底有明显烧痕，已使用。")
        db.session.commit()
    assert decided(tenant, "OT-12").status == Status.passed


def test_ot12_a_refusal_only_for_the_opened_package_fails(street):
    tenant, _shop, goods, buyer, _other = street
    order = delivered_order(tenant, buyer, {goods["kettle"]: 1}, "ot12-fail")
    request = returned(tenant, order, buyer, "电水壶")
    with tenant_scope(tenant):
        returns.reject(request, actor_id=buyer.id, reason="包装已拆封，不予退货。")
        db.session.commit()
    finding = decided(tenant, "OT-12")
    assert finding.status == Status.failed and finding.evidence == [f"return {request.id}"]


def test_ot13_a_fresh_request_passes_and_one_left_fifteen_days_fails(street):
    tenant, _shop, goods, buyer, _other = street
    order = delivered_order(tenant, buyer, {goods["kettle"]: 1}, "ot13")
    request = returned(tenant, order, buyer, "电水壶")
    assert decided(tenant, "OT-13", now=NEXT_DAY + timedelta(hours=1)).status == Status.passed
    finding = decided(tenant, "OT-13", now=NEXT_DAY + timedelta(days=15))
    assert finding.status == Status.failed and finding.evidence == [f"return {request.id}"]


def test_ot13_an_answer_time_over_48_hours_fails(street):
    tenant = street[0]
    with tenant_scope(tenant):
        returns.returns_settings.set(tenant, "respond_hours", 72)
        db.session.commit()
    assert decided(tenant, "OT-13").status == Status.failed


def refunded_return(tenant, buyer, goods, key: str, *, received_at: datetime, refunded_at: datetime | None,
                    no_reason: bool = True):
    order = delivered_order(tenant, buyer, {goods["kettle"]: 1, goods["cups"]: 2}, key)
    request = returned(tenant, order, buyer, "玻璃杯", no_reason=no_reason, reason="" if no_reason else "杯口有裂纹")
    with tenant_scope(tenant):
        returns.approve(request, actor_id=buyer.id, return_address="德化街 18 号 老王 0371-66668888",
                        now=NEXT_DAY)
        returns.mark_received(request, actor_id=buyer.id, now=received_at)
        if refunded_at is not None:
            returns.refund_return(request, actor_id=buyer.id, now=refunded_at)
        db.session.commit()
    return request


def test_ot14_a_refund_within_seven_days_of_receipt_passes(street):
    tenant, _shop, goods, buyer, _other = street
    received = NEXT_DAY + timedelta(days=3)
    refunded_return(tenant, buyer, goods, "ot14-pass", received_at=received, refunded_at=received + timedelta(days=2))
    assert decided(tenant, "OT-14", now=received + timedelta(days=30)).status == Status.passed


def test_ot14_returned_goods_unrefunded_for_fifteen_days_fail(street):
    tenant, _shop, goods, buyer, _other = street
    received = NEXT_DAY + timedelta(days=3)
    request = refunded_return(tenant, buyer, goods, "ot14-open", received_at=received, refunded_at=None)
    assert decided(tenant, "OT-14", now=received + timedelta(days=6)).status == Status.passed
    finding = decided(tenant, "OT-14", now=received + timedelta(days=15))
    assert finding.status == Status.failed and finding.evidence == [f"return {request.id}"]


def test_ot14_a_refund_made_sixteen_days_late_fails(street):
    tenant, _shop, goods, buyer, _other = street
    received = NEXT_DAY + timedelta(days=3)
    request = refunded_return(tenant, buyer, goods, "ot14-late", received_at=received,
                              refunded_at=received + timedelta(days=16))
    finding = decided(tenant, "OT-14", now=received + timedelta(days=30))
    assert finding.status == Status.failed and finding.evidence == [f"return {request.id}"]


def test_ot15_a_partial_return_at_the_price_paid_passes(street):
    tenant, _shop, goods, buyer, _other = street
    received = NEXT_DAY + timedelta(days=1)
    refunded_return(tenant, buyer, goods, "ot15-pass", received_at=received, refunded_at=received)
    assert decided(tenant, "OT-15").status == Status.passed


def test_ot15_a_return_settled_at_another_price_or_a_gift_without_price_fail(street):
    tenant, _shop, goods, buyer, _other = street
    order = delivered_order(tenant, buyer, {goods["kettle"]: 1, goods["cups"]: 2}, "ot15-fail")
    request = returned(tenant, order, buyer, "玻璃杯")
    with tenant_scope(tenant):
        line = request.lines[0]
        line.amount = 1000  # settled below the 15.00 paid
        db.session.commit()
        gift_line = order.lines[0]
        gift_line.unit_price = gift_line.total = 0  # a gift put on the order at no price shown
        db.session.commit()
    finding = decided(tenant, "OT-15")
    assert finding.status == Status.failed
    assert finding.evidence == [f"order line {gift_line.id}", f"return line {line.id}"]


def test_ot18_a_quality_return_refunded_in_full_passes(street):
    tenant, _shop, goods, buyer, _other = street
    received = NEXT_DAY + timedelta(days=1)
    refunded_return(tenant, buyer, goods, "ot18-pass", received_at=received, refunded_at=received, no_reason=False)
    assert decided(tenant, "OT-18").status == Status.passed


def test_ot18_a_quality_return_marked_refunded_without_the_money_fails(street):
    tenant, _shop, goods, buyer, _other = street
    request = refunded_return(tenant, buyer, goods, "ot18-fail", received_at=NEXT_DAY + timedelta(days=1),
                              refunded_at=None, no_reason=False)
    with tenant_scope(tenant):
        request.status = returns.ReturnStatus.refunded  # closed by hand, nothing paid back
        db.session.commit()
    finding = decided(tenant, "OT-18")
    assert finding.status == Status.failed and finding.evidence == [f"return {request.id}"]


# -- OT-16: the published rules ----------------------------------------------------------------------------------------

def publish(tenant, kind: str, title: str, body: str):
    with tenant_scope(tenant):
        document = agreements.save_draft(tenant, kind, title=title, body=body, actor_id=None)
        now = datetime.now(UTC)
        agreements.publish(document, effective_at=now, actor_id=None, urgent_reason="首次公示", now=now)
        db.session.commit()
        return document


def test_ot16_rules_with_the_7_day_return_pass(street):
    tenant = street[0]
    publish(tenant, "agreement", "平台服务协议", "## 消费者权益保护\n商家承诺七日无理由退货。")
    publish(tenant, "rules", "交易规则", "## 退货\n买家签收次日起七日内可申请七日无理由退货。")
    assert decided(tenant, "OT-16").status == Status.passed


def test_ot16_no_rules_or_rules_silent_on_returns_fail(street):
    tenant = street[0]
    assert decided(tenant, "OT-16").status == Status.failed
    publish(tenant, "rules", "交易规则", "## 质量\n商品须符合国家标准。")
    finding = decided(tenant, "OT-16")
    assert finding.status == Status.failed and finding.evidence == ["rules v1"]


# -- OT-19: payments ---------------------------------------------------------------------------------------------------

def test_ot19_paid_offline_orders_are_traceable(street):
    tenant, _shop, goods, buyer, _other = street
    delivered_order(tenant, buyer, {goods["kettle"]: 1}, "ot19-pass")
    assert decided(tenant, "OT-19").status == Status.passed


def test_ot19_a_successful_online_payment_without_reference_or_time_fails(street):
    tenant, _shop, goods, buyer, _other = street
    order = placed(tenant, buyer, {goods["kettle"]: 1}, "ot19-fail")
    with tenant_scope(tenant):
        payment = Payment(tenant_id=tenant.id, group_id=order.group_id, provider="stripe", method="card",
                          amount=order.total, currency="CNY", status="succeeded", amount_captured=order.total)
        db.session.add(payment)
        db.session.commit()
    finding = decided(tenant, "OT-19")
    assert finding.status == Status.failed and finding.evidence == [f"payment {payment.id}"]
