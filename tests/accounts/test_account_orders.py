"""The resident's orders from every tenant (/account/orders): 20 checkouts to a page, newest first, with links to
the next and previous page; a page number that makes no sense shows the first page, never an error."""

from __future__ import annotations

import pytest

from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.tenancy.context import tenant_scope
from tests.fixtures.factories import PASSWORD
from tests.orders.test_place_order import fill


@pytest.fixture
def checkouts(make_tenant, make_shop, make_product, make_user) -> list[str]:
    """22 checkouts of the buyer's over two tenants, oldest first, and one of someone else's."""
    street = make_tenant(slug="erqi-road", name_zh="二七路")
    market = make_tenant(slug="nongzi", kind="market", name_zh="农资市场")
    buyer = make_user("buyer@shangdu.example")
    someone = make_user("someone@shangdu.example")
    goods = {tenant.id: make_product(make_shop(tenant), title="红富士苹果", price=100, stock=100)
             for tenant in (street, market)}
    numbers = []
    for n, tenant in [*((n, market if n == 10 else street) for n in range(22)), (22, street)]:
        user = someone if n == 22 else buyer
        cart = fill(tenant, user, {goods[tenant.id]: 1})
        with tenant_scope(tenant):
            numbers.append(orders.place_order(tenant, user.id, cart, f"page-{n}").number)
    db.session.commit()
    return numbers[:22]


def _page(client, query=""):
    response = client.get(f"/account/orders{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _shown(page: str, numbers: list[str]) -> list[str]:
    return sorted((n for n in numbers if f'id="group-{n}"' in page), key=page.index)


def test_orders_come_twenty_checkouts_to_a_page_newest_first(client, checkouts):
    client.login("buyer@shangdu.example", PASSWORD)
    first = _page(client)
    assert _shown(first, checkouts) == checkouts[:1:-1]  # the 20 newest, newest first
    assert "农资市场" in first and "二七路" in first  # every tenant's orders
    assert 'rel="next" href="/account/orders?page=2"' in first and 'rel="prev"' not in first
    assert "第 1 / 2 页" in first
    second = _page(client, "?page=2")
    assert _shown(second, checkouts) == checkouts[1::-1]
    assert 'rel="prev" href="/account/orders"' in second and 'rel="next"' not in second


def test_a_page_that_makes_no_sense_shows_the_first(client, checkouts):
    client.login("buyer@shangdu.example", PASSWORD)
    for page in ("abc", "0", "-1", "3", "999999999", "1.5", "%EF%BC%92", ""):  # %EF%BC%92: a wide "２"
        assert _shown(_page(client, f"?page={page}"), checkouts) == checkouts[:1:-1], page


def test_nobody_sees_anothers_orders(client, checkouts):
    client.login("someone@shangdu.example", PASSWORD)
    page = _page(client)
    assert _shown(page, checkouts) == [] and page.count('class="card order-group"') == 1
    assert "rel=\"next\"" not in page
