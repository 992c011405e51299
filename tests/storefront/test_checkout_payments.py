"""Paying through the chosen provider on the web: the checkout's choice of the tenant's ways to pay (a tampered one
refused, nothing placed), an offline payment recorded with its instructions and succeeded when the merchants
confirm, and Stripe through localstripe — the pay page with its Content-Security-Policy and no card field of
ours, the buyer's return converging with what Stripe says, a provider that cannot be reached, and a retry."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders import handling
from marketplace.orders.models import OrderGroup, OrderStatus
from marketplace.payments.models import Payment
from marketplace.payments.providers import PaymentStatus
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.settings import module_settings
from tests.fixtures.factories import PASSWORD
from tests.payments.conftest import localstripe, use_stripe  # noqa: F401 - fixtures

S = PaymentStatus


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(slug="erqi-road", name_zh="二七路")
    category = make_category(tenant)
    apples = make_product(make_shop(tenant, name_zh="老王水果店"), category=category, title="红富士苹果", price=2990)
    tea = make_product(make_shop(tenant, name_zh="李记茶叶"), category=category, title="信阳毛尖", price=12800)
    make_user("buyer@shangdu.example", name="王女士")
    return tenant, apples, tea


def _payments(tenant, **options):
    group = module_settings["payment"]
    provider = options.pop("provider")
    group.set(tenant, "provider", provider)
    group.set(tenant, "options", options)
    db.session.commit()


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _buyer_with_cart(make_client, products):
    browser = make_client()
    browser.login("buyer@shangdu.example", PASSWORD)
    for product in products:
        with all_tenants():
            variant = db.session.scalar(select(Variant.id).where(Variant.product_id == product.id))
        browser.submit("/t/erqi-road/cart/add", {"variant_id": str(variant), "quantity": "1"},
                       page_url="/t/erqi-road/cart")
    return browser


def _review(browser) -> tuple[str, dict]:
    page = browser.get("/t/erqi-road/checkout").get_data(as_text=True)
    form = {}
    for tag in re.findall(r"<input[^>]*>", page.split('action="/t/erqi-road/checkout"', 1)[1]):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if 'type="hidden"' in tag and name and value:
            form[name.group(1)] = html_lib.unescape(value.group(1))
    return html_lib.unescape(page), form


def _group_and_payments():
    db.session.expire_all()
    with all_tenants():
        group = db.session.scalar(select(OrderGroup).order_by(OrderGroup.id.desc()))
        found = list(db.session.scalars(select(Payment).where(Payment.group_id == group.id).order_by(Payment.id))) \
            if group else []
    return group, found


# -- offline ----------------------------------------------------------------------------------------------------

def test_offline_checkout_records_the_payment_shows_instructions_and_succeeds_when_the_merchants_confirm(
        street, make_client):
    tenant, apples, tea = street
    _payments(tenant, provider="offline", methods=["pay_at_stall", "bank_transfer"], bank_account="中原银行 6200 0001")
    buyer = _buyer_with_cart(make_client, [apples, tea])
    page, form = _review(buyer)
    assert 'value="offline:pay_at_stall"' in page and 'value="offline:bank_transfer"' in page and "银行转账" in page
    response = buyer.post("/t/erqi-road/checkout", data={**form, "payment": "offline:bank_transfer"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/t/erqi-road/orders/")
    group, [payment] = _group_and_payments()
    assert (payment.provider, payment.method, payment.amount, payment.status) == ("offline", "bank_transfer",
                                                                                  15790, S.pending)
    page = _text(buyer.get(response.headers["Location"]))
    assert "中原银行 6200 0001" in page and group.number in page and "银行转账" in page and "待付款" in page
    assert "重新付款" not in page

    with tenant_scope(tenant):
        for order in group.orders:
            handling.confirm_offline_payment(order, actor_id=None)
        db.session.commit()
    group, [payment] = _group_and_payments()
    assert payment.status == S.succeeded and payment.amount_captured == 15790 and group.paid_at is not None
    page = _text(buyer.get(f"/t/erqi-road/orders/{group.number}"))
    assert "已付款，谢谢！" in page and "中原银行" not in page
    assert "已付款" in _text(buyer.get("/account/orders"))


@pytest.mark.parametrize("tampered", ["stripe:card", "offline:cash_on_delivery", "offline", "", "x" * 500])
def test_a_way_to_pay_the_tenant_does_not_offer_is_refused_and_nothing_is_placed(street, make_client, tampered):
    tenant, apples, _tea = street
    buyer = _buyer_with_cart(make_client, [apples])
    _page, form = _review(buyer)
    response = buyer.post("/t/erqi-road/checkout", data={**form, "payment": tampered})
    assert response.status_code == 400
    assert "请选择本页列出的一种付款方式。" in _text(response)
    with all_tenants():
        assert db.session.scalar(select(func.count(OrderGroup.id))) == 0
        assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_the_same_submission_twice_makes_one_payment(street, make_client):
    _tenant, apples, _tea = street
    buyer = _buyer_with_cart(make_client, [apples])
    _page, form = _review(buyer)
    form["payment"] = "offline:pay_at_stall"
    first, second = buyer.post("/t/erqi-road/checkout", data=form), buyer.post("/t/erqi-road/checkout", data=form)
    assert first.headers["Location"] == second.headers["Location"]
    _group, found = _group_and_payments()
    assert len(found) == 1


# -- Stripe, through localstripe ---------------------------------------------------------------------------------

@pytest.fixture
def stripe_street(street, use_stripe):  # noqa: F811
    tenant, apples, tea = street
    _payments(tenant, provider="stripe", methods=["card", "alipay"], offline_methods=["pay_at_stall"])
    return tenant, apples, tea, use_stripe


def _checkout_by_card(make_client, products):
    buyer = _buyer_with_cart(make_client, products)
    page, form = _review(buyer)
    assert 'value="stripe:card"' in page and 'value="stripe:alipay"' in page and 'value="offline:pay_at_stall"' in page
    return buyer, buyer.post("/t/erqi-road/checkout", data={**form, "payment": "stripe:card"})


def test_card_checkout_goes_to_the_pay_page_whose_policy_allows_only_stripe(stripe_street, make_client):
    tenant, apples, tea, emulator = stripe_street
    buyer, response = _checkout_by_card(make_client, [apples, tea])
    group, [payment] = _group_and_payments()
    assert response.status_code == 303 and response.headers["Location"] == f"/t/erqi-road/orders/{group.number}/pay"
    assert payment.reference.startswith("pi_") and payment.status == S.requires_action

    page = buyer.get(response.headers["Location"])
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    # Our own script, the configured Stripe.js origin, and the parts of Stripe.js it loads from its subdomains.
    assert directives["script-src"].split() == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in csp
    assert "https://hooks.stripe.com" in directives["frame-src"] and "connect-src" in directives
    assert page.headers["Cache-Control"] == "no-store"
    body = page.get_data(as_text=True)
    secret = re.search(r'data-client-secret="([^"]+)"', body).group(1)
    assert secret.startswith(payment.reference + "_secret")
    # The card is typed into Stripe's frame: the form has no named field, no method and no action of ours.
    form = body.split('<form id="pay-form"', 1)[1].split("</form>", 1)[0]
    tag, inside = form.split(">", 1)
    assert not re.search(r"\s(action|method)=", tag) and not re.search(r"\sname=", inside)
    assert re.search(r"<script(?![^>]*\ssrc=)[^>]*>", body) is None  # no inline script: the policy refuses it
    with all_tenants():
        assert db.session.scalar(select(func.count(Payment.id)).where(Payment.reference.like("%secret%"))) == 0


def test_the_return_asks_stripe_and_says_how_the_payment_stands(stripe_street, make_client):
    tenant, apples, tea, emulator = stripe_street
    buyer, _response = _checkout_by_card(make_client, [apples, tea])
    group, [payment] = _group_and_payments()
    declined_status, _body = emulator.confirm(payment.reference, "4000000000000341")
    assert declined_status == 402
    back = buyer.get(f"/t/erqi-road/orders/{group.number}/paid?payment_intent={payment.reference}")
    assert back.status_code == 303
    page = _text(buyer.get(back.headers["Location"]))
    assert "付款未成功" in page and "重新付款" in page
    group, [payment] = _group_and_payments()
    assert payment.status == S.failed and group.paid_at is None

    # Another card on a new attempt, then the return: paid, once, whatever the webhook does.
    retry = buyer.submit(f"/t/erqi-road/orders/{group.number}/pay/retry", {"payment": "stripe:card"},
                         page_url=f"/t/erqi-road/orders/{group.number}")
    assert retry.status_code == 303 and retry.headers["Location"].endswith("/pay")
    group, [_failed, second] = _group_and_payments()
    assert emulator.confirm(second.reference)[0] == 200
    for _ in range(2):  # the buyer reloads the return page
        back = buyer.get(f"/t/erqi-road/orders/{group.number}/paid?payment_intent={second.reference}")
    assert "付款成功" in _text(buyer.get(back.headers["Location"]))
    group, [_failed, second] = _group_and_payments()
    assert second.status == S.succeeded and group.paid_at is not None
    with all_tenants():
        assert {o.status for o in group.orders} == {OrderStatus.paid}
    refused = buyer.submit(f"/t/erqi-road/orders/{group.number}/pay/retry", {"payment": "stripe:card"},
                           page_url=f"/t/erqi-road/orders/{group.number}")
    assert "这笔订单已经付过款了。" in _text(buyer.get(refused.headers["Location"]))
    assert len(_group_and_payments()[1]) == 2


def test_stripe_unreachable_places_the_order_unpaid_and_offers_a_retry(stripe_street, make_client, monkeypatch, app):
    tenant, apples, _tea, _emulator = stripe_street
    monkeypatch.setitem(app.config["MARKETPLACE"], "STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens
    app.extensions.pop("payment_providers", None)
    buyer, response = _checkout_by_card(make_client, [apples])
    group, [payment] = _group_and_payments()
    assert response.status_code == 303 and response.headers["Location"] == f"/t/erqi-road/orders/{group.number}"
    assert payment.status == S.failed and group.paid_at is None
    page = _text(buyer.get(response.headers["Location"]))
    assert "暂时无法发起付款" in page and "重新付款" in page
    with all_tenants():
        assert {o.status for o in group.orders} == {OrderStatus.pending_payment}
