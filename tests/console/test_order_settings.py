"""The operator sets a tenant's commission, payment deadline and return answer time on the tenant page.

The world (tests/console/conftest.py): tenant A run by "operator"; tenant B run by no one of theirs.
"""

from __future__ import annotations

import html as html_lib

import pytest

from marketplace.orders.returns import returns_settings
from marketplace.orders.services import order_settings
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


@pytest.mark.parametrize("role, status", [("resident", 403), ("owner", 403), ("staff", 403), ("owner_z", 403),
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
