"""The operator sets a tenant's commission, payment deadlines and return answer time on the tenant page.

The world (tests/console/conftest.py): tenant A run by "operator"; tenant B run by no one of theirs.
"""

from __future__ import annotations

import html as html_lib

import pytest
from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.returns import returns_settings
from marketplace.orders.services import order_settings
from marketplace.tenancy.context import tenant_scope
from tests.console.conftest import database_rows

GOOD = {"commission_percent": "1.50", "payment_minutes": "45", "respond_hours": "24"}
COMMISSION_ERROR = "佣金比例应为 0.00 到 30.00 之间的百分数，最多两位小数，例如 1.50。"
MINUTES_ERROR = "付款期限应为 5 到 10080 之间的整数（分钟）。"
HOURS_ERROR = "退货答复期限应为 1 到 720 之间的整数（小时）。"


def save(browser, world, tenant=None, **changes):
    slug = (tenant or world.a).slug
    return browser.submit(f"/operator/{slug}/order-settings", {**GOOD, **changes}, page_url=f"/operator/{world.a.slug}/")


def stored(tenant) -> tuple[int, int, int]:
    return (order_settings.get(tenant, "commission_bp"), order_settings.get(tenant, "payment_minutes"),
            returns_settings.get(tenant, "respond_hours"))


def test_the_tenant_page_shows_the_current_settings(world, as_role):
    page = as_role("operator").get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert "订单设置" in page
    assert 'name="commission_percent" type="text" value="0.00"' in page
    assert 'name="payment_minutes" type="text" value="30"' in page
    assert 'name="respond_hours" type="text" value="48"' in page


@pytest.mark.parametrize("percent, basis_points", [("1.50", 150), ("1.5", 150), ("2", 200), (" 0 ", 0),
                                                    ("30.00", 3000), ("0.05", 5)])
def test_the_operator_saves_the_settings(world, as_role, percent, basis_points):
    operator = as_role("operator")
    response = save(operator, world, commission_percent=percent)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/operator/{world.a.slug}/")
    assert stored(world.a) == (basis_points, 45, 24)
    assert stored(world.b) == (0, 30, 48)  # the other tenant keeps its own
    page = operator.get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert "订单设置已保存。" in page
    assert f'name="commission_percent" type="text" value="{basis_points // 100}.{basis_points % 100:02d}"' in page


@pytest.mark.parametrize("changes, message", [
    ({"commission_percent": "30.01"}, COMMISSION_ERROR),
    ({"commission_percent": "-1"}, COMMISSION_ERROR),
    ({"commission_percent": "1.505"}, COMMISSION_ERROR),
    ({"commission_percent": "1,5"}, COMMISSION_ERROR),
    ({"commission_percent": "abc"}, COMMISSION_ERROR),
    ({"commission_percent": ""}, COMMISSION_ERROR),
    ({"commission_percent": "1e3"}, COMMISSION_ERROR),
    ({"commission_percent": "9" * 5000}, COMMISSION_ERROR),
    ({"payment_minutes": "4"}, MINUTES_ERROR),
    ({"payment_minutes": "10081"}, MINUTES_ERROR),
    ({"payment_minutes": "30.5"}, MINUTES_ERROR),
    ({"payment_minutes": ""}, MINUTES_ERROR),
    ({"respond_hours": "0"}, HOURS_ERROR),
    ({"respond_hours": "721"}, HOURS_ERROR),
    ({"respond_hours": "-5"}, HOURS_ERROR),
    ({"respond_hours": "长" * 10_000}, HOURS_ERROR),
])
def test_bad_values_are_refused_with_a_clear_message_and_nothing_changes(world, as_role, changes, message):
    operator = as_role("operator")
    before = database_rows()
    response = save(operator, world, **changes)
    page = html_lib.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert 'role="alert"' in page and message in page
    assert "德化步行街" in page  # the tenant page again, with the error next to the field
    assert database_rows() == before


def test_full_width_digits_typed_with_a_chinese_input_method_are_understood(world, as_role):
    response = save(as_role("operator"), world, commission_percent="２.５", payment_minutes="９０", respond_hours="７２")
    assert response.status_code == 303
    assert stored(world.a) == (250, 90, 72)


def test_a_missing_csrf_token_is_refused(world, as_role):
    operator = as_role("operator")
    before = database_rows()
    response = operator.post(f"/operator/{world.a.slug}/order-settings", data=GOOD)
    assert response.status_code == 400
    assert database_rows() == before


@pytest.mark.parametrize("role, status", [("resident", 404), ("owner", 404), ("staff", 404), ("owner_z", 404),
                                          ("admin", 303)])
def test_only_the_tenants_operators_may_change_the_settings(world, as_role, role, status):
    browser = as_role(role)
    response = browser.post(f"/operator/{world.a.slug}/order-settings",
                            data={"csrf_token": browser.csrf_token("/account/login"), **GOOD})
    assert response.status_code == status
    assert stored(world.a) == ((150, 45, 24) if status == 303 else (0, 30, 48))


def test_signed_out_visitors_are_sent_to_sign_in(world, as_role):
    browser = as_role("anonymous")
    response = browser.post(f"/operator/{world.a.slug}/order-settings",
                            data={"csrf_token": browser.csrf_token("/account/login"), **GOOD})
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/login")
    assert stored(world.a) == (0, 30, 48)


def test_an_operator_cannot_change_another_tenants_settings(world, as_role):
    response = save(as_role("operator"), world, tenant=world.b)
    assert response.status_code in (403, 404)
    assert stored(world.b) == (0, 30, 48)


# -- the payment deadline for offline payment ------------------------------------------------------------------------

OFFLINE_ERROR = "线下付款期限应为 5 到 10080 之间的整数（分钟），或留空。"


def _minutes_until_deadline(world, make_category, make_product, make_user, provider: str = "offline") -> float:
    """Place an order in tenant A paid with ``provider``: how many minutes the buyer is given to pay."""
    category = make_category(world.a, product_type="general.goods")
    product = make_product(world.x, category=category, title="红富士苹果", price=2990, stock=10)
    buyer = make_user("buyer@example.com")
    with tenant_scope(world.a):
        cart = orders.cart_for(world.a, user_id=buyer.id, create=True)
        orders.set_line(cart, db.session.scalar(select(Variant.id).where(Variant.product_id == product.id)), 1)
        db.session.commit()
        group = orders.place_order(world.a, buyer.id, cart, "checkout-offline", payment_provider=provider)
        return (group.payment_deadline - utcnow()).total_seconds() / 60


def test_offline_payment_gets_its_own_deadline(world, as_role, make_category, make_product, make_user):
    operator = as_role("operator")
    assert save(operator, world, offline_payment_minutes="1440").status_code == 303
    assert order_settings.get(world.a, "payment_minutes_by_provider") == {"offline": 1440}
    assert order_settings.get(world.b, "payment_minutes_by_provider") == {}
    page = operator.get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert 'name="offline_payment_minutes" type="text" value="1440"' in page
    assert 1439 < _minutes_until_deadline(world, make_category, make_product, make_user) <= 1440


def test_an_empty_offline_deadline_means_the_general_one(world, as_role, make_category, make_product, make_user):
    operator = as_role("operator")
    assert save(operator, world, offline_payment_minutes="1440").status_code == 303
    assert save(operator, world, offline_payment_minutes=" ").status_code == 303
    assert order_settings.get(world.a, "payment_minutes_by_provider") == {}
    page = operator.get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    assert 'name="offline_payment_minutes" type="text" value=""' in page
    assert 44 < _minutes_until_deadline(world, make_category, make_product, make_user) <= 45  # GOOD: 45 minutes


@pytest.mark.parametrize("value", ["4", "10081", "1440.5", "一天", "-60", "9" * 5000])
def test_a_bad_offline_deadline_is_refused_and_nothing_is_stored(world, as_role, value):
    operator = as_role("operator")
    before = database_rows()
    response = save(operator, world, offline_payment_minutes=value)
    page = html_lib.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert 'role="alert"' in page and OFFLINE_ERROR in page
    assert database_rows() == before
    assert order_settings.get(world.a, "payment_minutes_by_provider") == {}
