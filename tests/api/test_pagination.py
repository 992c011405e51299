"""Cursor pagination, the same on every list of the API: walked to the end two at a time, each list gives every item
exactly once and in the order of the whole list; a cursor that is not the list's own is a 400 problem; the next page
is announced in a ``Link`` header as well as in ``next_cursor``."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderLine
from marketplace.orders.returns import ReturnRequest
from marketplace.search import indexing
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.trust.complaints import Complaint
from marketplace.trust.reviews import Review
from tests.api.conftest import assert_problem, token_for
from tests.fixtures.factories import PASSWORD

LINK = re.compile(r'^<([^>]+)>; rel="next"$')
WHEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@dataclass
class World:
    tenant: Tenant
    base: str
    token: str  # the shop "laowang"'s, every scope
    product_id: int

    @property
    def merchant(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def world(client, make_tenant, make_shop, make_category, make_product, make_user) -> World:
    """Enough of everything for pages of two: 5 shops, 7 products (two prices and two publication times shared),
    3 order groups of the signed-in buyer, and for each order a return, a review and a complaint (their times
    shared, so the id must break the tie)."""
    tenant = make_tenant(slug="walk-street")
    # Places shared (1 west twice): the id breaks the tie.
    shops = [make_shop(tenant, slug=slug, street_number=number, street_side=side) for slug, number, side in [
        ("laowang", "1", "west"), ("liji", "2", "west"), ("zhangji", "1", "east"), ("xiaoli", "1", "west"),
        ("huaxia", "3", "east")]]
    category = make_category(tenant, slug="fruit", product_type="general.goods")
    products = [make_product(shops[n % 2], category=category, title=f"商品{n}", price=price, stock=50)
                for n, price in enumerate([500, 300, 300, 900, 100, 700, 300])]
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shops[0])
    make_user("walker@shangdu.example")
    with tenant_scope(tenant):
        for product in products[:3]:  # published at the same moment: newest first means highest id first
            product.published_at = WHEN
        db.session.commit()
        apples = db.session.scalar(select(Variant.id).where(Variant.product_id == products[0].id))
    indexing.run_pending()
    world = World(tenant, f"/api/v1/tenants/{tenant.slug}", token_for(owner, shops[0]), products[0].id)

    client.login("walker@shangdu.example", PASSWORD)
    client.headers = {"X-CSRFToken": client.csrf_token("/account/login")}
    for _n in range(3):
        client.put(f"{world.base}/cart/lines/{apples}", json={"quantity": 1}, headers=client.headers)
        placed = client.post(f"{world.base}/checkout", json={},
                             headers={**client.headers, "Idempotency-Key": str(uuid.uuid4())})
        assert placed.status_code == 201, placed.get_data(as_text=True)
    with tenant_scope(tenant):
        for n, order in enumerate(db.session.scalars(select(Order).order_by(Order.id))):
            line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
            at = WHEN if n < 2 else WHEN + timedelta(hours=1)
            db.session.add(ReturnRequest(tenant_id=tenant.id, order_id=order.id, shop_id=order.shop_id,
                                         buyer_id=order.buyer_id, amount=100, requested_at=at,
                                         respond_by=at + timedelta(days=2)))
            db.session.add(Review(tenant_id=tenant.id, order_line_id=line.id, order_id=order.id,
                                  shop_id=order.shop_id, product_id=products[0].id, buyer_id=order.buyer_id,
                                  rating_product=5, rating_described=5, rating_service=5, rating_delivery=5,
                                  text=f"第{n}条", created_at=at))
            db.session.add(Complaint(tenant_id=tenant.id, number=f"TS-WALK-{n}", order_id=order.id,
                                     shop_id=order.shop_id, buyer_id=order.buyer_id, category="quality",
                                     description="有问题", filed_at=at, step_started_at=at,
                                     answer_due=at + timedelta(days=5)))
        db.session.commit()
    return world


def _key(item: dict):
    return item.get("id", item.get("number", item.get("slug")))


def walk(client, url: str, headers=None, *, limit: int = 2) -> list:
    """Every item of a list, page by page, following the Link header; checks each page's size and its links."""
    seen, pages = [], 0
    following = f"{url}{'&' if '?' in url else '?'}limit={limit}"
    while following is not None:
        response = client.get(following, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:1000]
        body, pages = response.get_json(), pages + 1
        assert len(body["items"]) <= limit and pages < 50
        seen += [_key(item) for item in body["items"]]
        link = response.headers.get("Link")
        if body["next_cursor"] is None:
            assert link is None
            following = None
        else:
            assert len(body["items"]) == limit
            target = urlsplit(LINK.match(link).group(1))
            assert f"cursor={body['next_cursor']}" in target.query and f"limit={limit}" in target.query
            following = f"{target.path}?{target.query}"
    return seen


def whole(client, url: str, headers=None) -> list:
    body = client.get(f"{url}{'&' if '?' in url else '?'}limit=100", headers=headers).get_json()
    assert body["next_cursor"] is None
    return [_key(item) for item in body["items"]]


#: Every list operation of the API, as walked here (path under the tenant's base, and who asks).
LISTS = [
    ("/shops", "anyone"), ("/products", "anyone"), ("/products?sort=price", "anyone"),
    ("/products?sort=-price", "anyone"), ("/products?category=fruit&shop=laowang", "anyone"),
    ("/search", "anyone"), ("/search?sort=price", "anyone"),
    ("/shops/laowang/reviews", "anyone"), ("/products/{product}/reviews", "anyone"),
    ("/orders", "resident"), ("/returns", "resident"), ("/complaints", "resident"),
    ("/orders/{group}/payments", "resident"),
    ("/shops/laowang/orders", "merchant"), ("/shops/laowang/returns", "merchant"),
    ("/shops/laowang/complaints", "merchant"),
]


@pytest.mark.parametrize(("path", "who"), LISTS)
def test_every_list_walks_to_its_end_giving_each_item_once_in_order(client, world, path, who):
    headers = world.merchant if who == "merchant" else None
    if "{group}" in path:
        path = path.replace("{group}", client.get(f"{world.base}/orders").get_json()["items"][0]["number"])
    url = world.base + path.replace("{product}", str(world.product_id))
    everything = whole(client, url, headers)
    assert len(everything) >= (1 if "payments" in path else 3), everything
    assert walk(client, url, headers) == everything
    assert len(set(everything)) == len(everything)


def test_the_directory_of_tenants_walks_too(client, make_tenant):
    for n in range(4):
        make_tenant(slug=f"walk-{n}", kind="market" if n % 2 else "street")
    everything = whole(client, "/api/v1/tenants")
    assert {f"walk-{n}" for n in range(4)} <= set(everything)
    assert walk(client, "/api/v1/tenants") == everything


def test_every_list_operation_of_the_document_is_walked(client):
    """A new list operation joins LISTS (or this test names it); an operation with a cursor is a list."""
    document = client.get("/api/v1/openapi.json").get_json()
    paged = {path for path, item in document["paths"].items() for method, operation in item.items()
             if method == "get" and any(p.get("name") == "cursor" for p in operation.get("parameters", []))}
    walked = {f"/api/v1/tenants/{{tenant_slug}}{re.sub(r'[?].*', '', path)}" for path, _who in LISTS}
    walked = {p.replace("/shops/laowang/", "/shops/{shop_slug}/").replace("{product}", "{product_id}")
              .replace("{group}", "{number}") for p in walked} | {"/api/v1/tenants"}
    # The operator API's lists are walked in tests/api/test_operator_api.py.
    assert {path for path in paged if "/operator/" not in path} == walked


def test_keyset_pages_stay_exact_when_an_item_is_added_in_between(client, world, make_product, make_shop):
    first = client.get(f"{world.base}/products?limit=3").get_json()
    shop = make_shop(world.tenant, slug="latecomer")
    make_product(shop, title="后来上架的")  # newest: it belongs before the first page, not on the next one
    second = client.get(f"{world.base}/products?limit=3&cursor={first['next_cursor']}").get_json()
    before = [item["id"] for item in first["items"]]
    assert not set(before) & {item["id"] for item in second["items"]}
    assert [item["id"] for item in second["items"]] == whole(client, f"{world.base}/products")[4:7]


def _cursor(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/products", "/products?sort=price", "/shops", "/search",
                                  "/shops/laowang/reviews"])
def test_a_cursor_that_is_not_the_lists_own_is_a_400_problem(client, world, path):
    url = world.base + path
    good = client.get(f"{url}{'&' if '?' in url else '?'}limit=1").get_json()["next_cursor"]
    data = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
    order = data["o"]
    # A moment at the calendar's edge that is no date once in UTC, in place of the cursor's own times.
    edge = [value if not (isinstance(value, str) and value[:4].isdigit() and "T" in value)
            else "0001-01-01T00:00:00+14:00" for value in data["k"]]
    edged = [_cursor({"o": order, "k": edge})] if edge != data["k"] else []
    for bad in [*edged, "abc", good[:-3], good + "x" * 600, "%00", "****", _cursor(b"\xff\xfe"), _cursor([1, 2]),
                _cursor({"o": "another-list", "k": [1]}), _cursor({"o": order, "k": []}),
                _cursor({"o": order, "k": ["x"] * 7}), _cursor({"o": order, "k": [True] * 7, "x": 1}),
                _cursor({"o": order, "k": [{"a": 1}] * 7}), _cursor({"o": order, "k": [10 ** 30] * 7}),
                _cursor({"o": order, "k": ["2026-13-45T99:00:00"] * 7}), _cursor({"o": order, "k": [-5]})]:
        body = assert_problem(client.get(f"{url}{'&' if '?' in url else '?'}cursor={bad}"), 400, "invalid_cursor")
        assert body["detail"]


def test_a_cursor_belongs_to_its_sort(client, world):
    newest = client.get(f"{world.base}/products?limit=2").get_json()["next_cursor"]
    assert_problem(client.get(f"{world.base}/products?sort=price&cursor={newest}"), 400, "invalid_cursor")
    mine = client.get(f"{world.base}/orders?limit=1").get_json()["next_cursor"]
    assert_problem(client.get(f"{world.base}/shops/laowang/orders?cursor={mine}", headers=world.merchant), 400,
                   "invalid_cursor")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "page=2", "page_size=10", "per_page=5",
                                   "sort=cheapest"])
def test_page_numbers_and_bad_limits_are_refused_naming_the_field(client, world, query):
    body = assert_problem(client.get(f"{world.base}/products?{query}"), 422, "validation_failed")
    assert query.split("=")[0] in body["errors"]


def test_time_ranges_take_a_zone_and_narrow_the_lists(client, world):
    later = quote((WHEN + timedelta(minutes=30)).isoformat())  # "+00:00": a plus sign must be sent as %2B
    assert len(client.get(f"{world.base}/returns?since={later}").get_json()["items"]) == 1
    assert len(client.get(f"{world.base}/returns?until={later}").get_json()["items"]) == 2
    answered = client.get(f"{world.base}/shops/laowang/complaints?until={later}", headers=world.merchant)
    assert answered.get_json()["total"] == 2
    assert client.get(f"{world.base}/shops/laowang/orders?since=2100-01-01T00:00:00%2B08:00",
                      headers=world.merchant).get_json()["items"] == []
    for bad in ("since=2026-11-20T08:00:00", "since=yesterday", f"since={later}&until=2026-01-01T00:00:00Z",
                "since=0001-01-01T00:00:00%2B14:00", "until=9999-12-31T23:59:59-14:00"):
        body = assert_problem(client.get(f"{world.base}/returns?{bad}"), 422,
                              "validation_failed")
        assert set(body["errors"]) <= {"since", "until"}


def test_the_document_describes_the_convention(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/tenants/{tenant_slug}/products"]["get"]
    names = {p["name"]: p for p in operation["parameters"]}
    assert {"limit", "cursor", "sort", "category", "shop"} <= set(names)
    assert names["sort"]["schema"]["enum"] == ["newest", "price", "-price"]
    assert names["limit"]["schema"]["maximum"] == 100
    assert "Link" in operation["responses"]["200"]["headers"]
    assert "invalid_cursor" in operation["responses"]["400"]["description"]
    page = document["components"]["schemas"]["ProductPage"]["properties"]
    assert {"items", "next_cursor", "total"} <= set(page) and not {"page", "page_size", "pages"} & set(page)
