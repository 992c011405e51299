"""The orders API: a resident's cart, checkout and orders over the session cookie (with the CSRF header), and a
merchant's order handling with a bearer token — refusals as problem JSON, nothing written."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import Cart, CartLine, OrderEvent, OrderGroup
from marketplace.payments.models import Payment
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from tests.api.conftest import assert_problem, token_for
from tests.fixtures.factories import PASSWORD, pickup_code


@dataclass
class Street:
    tenant: Tenant
    shops: list
    variants: dict  # name → variant id
    buyer: object
    merchant_token: str  # for shops[0]

    @property
    def base(self) -> str:
        return f"/api/v1/tenants/{self.tenant.slug}"


@pytest.fixture
def street(make_tenant, make_shop, make_category, make_product, make_user) -> Street:
    tenant = make_tenant(slug="laojie")
    shops = [make_shop(tenant, slug="laowang", name_zh="老王水果店"), make_shop(tenant, slug="liji", name_zh="李记茶叶")]
    category = make_category(tenant, product_type="general.goods")
    apples = make_product(shops[0], category=category, title="红富士苹果", price=2990, stock=10)
    tea = make_product(shops[1], category=category, title="信阳毛尖", price=12800, stock=5,
                       tiers=[(3, 12000)])
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shops[0])
    buyer = make_user("buyer@shangdu.example")
    with tenant_scope(tenant):
        ids = {name: db.session.scalar(select(Variant.id).where(Variant.product_id == p.id))
               for name, p in (("apples", apples), ("tea", tea))}
    return Street(tenant, shops, ids, buyer, token_for(owner, shops[0]))


@pytest.fixture
def resident(client, street):
    """The buyer signed in; ``resident.headers`` carry the session's CSRF token."""
    client.login("buyer@shangdu.example", PASSWORD)
    client.headers = {"X-CSRFToken": client.csrf_token("/account/login")}
    return client


def put(client, street, variant_id, quantity, **kwargs):
    headers = kwargs.pop("headers", client.headers)
    return client.put(f"{street.base}/cart/lines/{variant_id}", json={"quantity": quantity}, headers=headers,
                      **kwargs)


def checkout(client, street, key=None, **body):
    key = key or str(uuid.uuid4())  # a fresh key per submission unless the test retries one
    return client.post(f"{street.base}/checkout", json=body, headers={**client.headers, "Idempotency-Key": key})


def count(model, tenant) -> int:
    with tenant_scope(tenant):
        db.session.commit()
        return db.session.scalar(select(func.count()).select_from(model))


def stock(street, name) -> int:
    with tenant_scope(street.tenant):
        db.session.commit()
        return db.session.get(Variant, street.variants[name]).stock


# -- cart ------------------------------------------------------------------------------------------------------------

def test_cart_lines_by_shop_with_server_prices(resident, street):
    assert put(resident, street, street.variants["apples"], 2).status_code == 200
    response = put(resident, street, street.variants["tea"], 3)
    assert response.status_code == 200, response.get_data(as_text=True)
    cart = resident.get(f"{street.base}/cart").get_json()
    assert cart["total"] == 2 * 2990 + 3 * 12000 and cart["problems"] == []
    by_shop = {s["shop"]["slug"]: s for s in cart["shops"]}
    assert by_shop["laowang"]["lines"][0]["unit_price"] == 2990
    assert by_shop["liji"]["lines"][0] | {"quantity": 3, "unit_price": 12000, "price_source": "tier:3"} == \
        by_shop["liji"]["lines"][0]

    removed = put(resident, street, street.variants["apples"], 0).get_json()
    assert [s["shop"]["slug"] for s in removed["shops"]] == ["liji"]


def test_cart_reports_problems_with_the_stock(resident, street):
    response = put(resident, street, street.variants["tea"], 6)
    assert response.status_code == 200
    problems = response.get_json()["problems"]
    assert [p["code"] for p in problems] == ["not_enough_stock"] and problems[0]["variant_id"] == street.variants["tea"]


@pytest.mark.parametrize("quantity", [-1, 1.5, "2", True, None, 10**9, [1]])
def test_tampered_quantities_are_refused(resident, street, quantity):
    problem = assert_problem(put(resident, street, street.variants["apples"], quantity), 422, "validation_failed")
    assert "quantity" in problem["errors"]
    assert count(CartLine, street.tenant) == 0


def test_injected_prices_are_refused(resident, street):
    response = resident.put(f"{street.base}/cart/lines/{street.variants['apples']}", headers=resident.headers,
                            json={"quantity": 1, "unit_price": 1})
    assert assert_problem(response, 422, "validation_failed")["errors"] == {"unit_price": "不认识的字段。"}
    assert count(CartLine, street.tenant) == 0


def test_unknown_and_foreign_variants_are_404(resident, street, make_tenant, make_shop, make_product):
    other = make_tenant()
    foreign = make_product(make_shop(other), price=100, stock=5)
    with tenant_scope(other):
        foreign_id = foreign.variants[0].id
    for variant_id in (999_999, foreign_id):
        assert_problem(put(resident, street, variant_id, 1), 404, "unknown_variant")
    assert count(Cart, street.tenant) == 0


def test_writes_need_the_csrf_header_and_a_session(make_client, resident, street):
    assert_problem(put(resident, street, street.variants["apples"], 1, headers={}), 400, "csrf_failed")
    assert_problem(put(resident, street, street.variants["apples"], 1, headers={"X-CSRFToken": "forged"}), 400,
                   "csrf_failed")
    assert count(CartLine, street.tenant) == 0
    guest = make_client()
    assert_problem(guest.get(f"{street.base}/cart"), 401, "login_required")
    assert_problem(guest.put(f"{street.base}/cart/lines/{street.variants['apples']}", json={"quantity": 1}), 401,
                   "login_required")


# -- checkout --------------------------------------------------------------------------------------------------------

def test_checkout_is_idempotent(resident, street):
    put(resident, street, street.variants["apples"], 2)
    put(resident, street, street.variants["tea"], 1)
    first = checkout(resident, street, "k-1", notes={"liji": "下午来取"})
    assert first.status_code == 201, first.get_data(as_text=True)
    group = first.get_json()
    assert group["total"] == 2 * 2990 + 12800 and group["payment_provider"] == "offline"
    assert {o["shop"]["slug"]: o["note"] for o in group["orders"]} == {"laowang": "", "liji": "下午来取"}
    assert {o["status"] for o in group["orders"]} == {"pending_payment"}

    again = checkout(resident, street, "k-1", notes={"liji": "下午来取"})  # the stored answer, replayed
    assert again.status_code == 201 and again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_problem(checkout(resident, street, "k-1"), 422, "idempotency_key_reused")  # the key, another body
    assert count(OrderGroup, street.tenant) == 1 and stock(street, "apples") == 8
    assert resident.get(f"{street.base}/cart").get_json()["shops"] == []

    mine = resident.get(f"{street.base}/orders").get_json()["items"]
    assert [g["number"] for g in mine] == [group["number"]]
    detail = resident.get(f"{street.base}/orders/{group['number']}").get_json()
    assert detail["orders"][0]["lines"][0]["title"] in ("红富士苹果", "信阳毛尖")


def test_checkout_refusals_write_nothing(resident, street):
    assert_problem(resident.post(f"{street.base}/checkout", json={}, headers=resident.headers), 400,
                   "missing_idempotency_key")
    assert_problem(checkout(resident, street, key="x" * 101), 400, "invalid_idempotency_key")
    assert_problem(checkout(resident, street), 409, "empty_cart")
    put(resident, street, street.variants["tea"], 6)  # only 5 in stock
    problem = assert_problem(checkout(resident, street), 409, "cart_problems")
    assert f"variant.{street.variants['tea']}" in problem["errors"]
    put(resident, street, street.variants["tea"], 1)
    assert_problem(checkout(resident, street, notes={"laowang": "不在车里"}), 422, "validation_failed")
    assert_problem(checkout(resident, street, total=1), 422, "validation_failed")
    assert count(OrderGroup, street.tenant) == 0 and stock(street, "tea") == 5


def test_goods_outside_no_reason_returns_need_the_buyers_tick(resident, street, make_category, make_product):
    hygiene = make_category(street.tenant, product_type="general.goods", return_exclusion="hygiene")
    wipes = make_product(street.shops[0], category=hygiene, title="湿巾", price=990, stock=10)
    with tenant_scope(street.tenant):
        wipes_id = db.session.scalar(select(Variant.id).where(Variant.product_id == wipes.id))
    put(resident, street, wipes_id, 1)
    put(resident, street, street.variants["apples"], 1)
    problem = assert_problem(checkout(resident, street), 409, "confirm_exclusions")
    assert list(problem["errors"]) == [f"variant.{wipes_id}"] and "湿巾" in problem["errors"][f"variant.{wipes_id}"]
    assert_problem(checkout(resident, street, confirm_exclusions="yes"), 422, "validation_failed")
    assert count(OrderGroup, street.tenant) == 0 and stock(street, "apples") == 10

    placed = checkout(resident, street, confirm_exclusions=True)
    assert placed.status_code == 201, placed.get_data(as_text=True)
    assert {line["title"] for line in placed.get_json()["orders"][0]["lines"]} == {"湿巾", "红富士苹果"}


def test_my_orders_come_in_pages(resident, street):
    numbers = []
    for key in ("k-1", "k-2", "k-3"):
        put(resident, street, street.variants["apples"], 1)
        numbers.append(checkout(resident, street, key=key).get_json()["number"])
    first = resident.get(f"{street.base}/orders?limit=2").get_json()
    assert [g["number"] for g in first["items"]] == numbers[:0:-1]
    assert first["total"] == 3 and first["next_cursor"]
    second = resident.get(f"{street.base}/orders?limit=2&cursor={first['next_cursor']}").get_json()
    assert [g["number"] for g in second["items"]] == numbers[:1] and second["next_cursor"] is None
    for bad in ("limit=0", "limit=101", "limit=x", "page=2"):
        assert_problem(resident.get(f"{street.base}/orders?{bad}"), 422, "validation_failed")


def test_anothers_orders_are_404(client, make_client, resident, street, make_user):
    put(resident, street, street.variants["apples"], 1)
    number = checkout(resident, street).get_json()["number"]
    make_user("other@shangdu.example")
    other = make_client()
    other.login("other@shangdu.example", PASSWORD)
    assert_problem(other.get(f"{street.base}/orders/{number}"), 404, "not_found")
    assert other.get(f"{street.base}/orders").get_json()["items"] == []


def test_cross_tenant_ids_are_404(resident, street, make_tenant):
    put(resident, street, street.variants["apples"], 1)
    number = checkout(resident, street).get_json()["number"]
    elsewhere = f"/api/v1/tenants/{make_tenant(slug='xinjie').slug}"
    assert_problem(resident.get(f"{elsewhere}/orders/{number}"), 404, "not_found")
    assert resident.get(f"{elsewhere}/orders").get_json()["items"] == []
    assert_problem(resident.put(f"{elsewhere}/cart/lines/{street.variants['tea']}", json={"quantity": 1},
                                headers=resident.headers), 404, "unknown_variant")


# -- merchant --------------------------------------------------------------------------------------------------------

@pytest.fixture
def placed(resident, street) -> dict:
    put(resident, street, street.variants["apples"], 2)
    put(resident, street, street.variants["tea"], 1)
    group = checkout(resident, street).get_json()
    return {"group": group["number"], **{o["shop"]["slug"]: o["number"] for o in group["orders"]}}


def move(client, street, number, action, key, *, shop="laowang", token=None, **body):
    return client.post(f"{street.base}/shops/{shop}/orders/{number}/transitions", json={"action": action, **body},
                       headers={"Authorization": f"Bearer {token or street.merchant_token}", "Idempotency-Key": key})


def walk(client, street, number, *actions):
    for action in actions:
        body = {"code": pickup_code(number)} if action == "picked_up" else {}
        response = move(client, street, number, action, f"walk-{action}", **body)
        assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_merchant_sees_only_its_shops_orders(client, street, placed):
    headers = {"Authorization": f"Bearer {street.merchant_token}"}
    page = client.get(f"{street.base}/shops/laowang/orders", headers=headers).get_json()
    assert [o["number"] for o in page["items"]] == [placed["laowang"]] and page["total"] == 1
    assert page["items"][0]["commission"] == 0
    assert page["items"][0]["actions"] == ["confirm_payment", "reject"]
    assert client.get(f"{street.base}/shops/laowang/orders?status=paid", headers=headers).get_json()["total"] == 0
    one = client.get(f"{street.base}/shops/laowang/orders?limit=1", headers=headers).get_json()
    assert one | {"next_cursor": None, "total": 1} == one and len(one["items"]) == 1
    assert_problem(client.get(f"{street.base}/shops/laowang/orders?status=lost", headers=headers), 422,
                   "validation_failed")
    assert_problem(client.get(f"{street.base}/shops/liji/orders", headers=headers), 403, "token_wrong_shop")
    assert_problem(client.get(f"{street.base}/shops/laowang/orders"), 401, "token_missing")


def test_merchant_moves_an_order_once_per_key(client, street, placed):
    number = placed["laowang"]
    response = move(client, street, number, "confirm_payment", "pay-1", reason="已收现金")
    assert response.status_code == 200, response.get_data(as_text=True)
    order = response.get_json()
    assert order["status"] == "paid" and order["events"][-1]["note"] == "已收现金"
    assert order["actions"] == ["accept", "reject"]
    again = move(client, street, number, "confirm_payment", "pay-1", reason="已收现金")
    assert again.status_code == 200 and again.get_json()["status"] == "paid"
    assert count(OrderEvent, street.tenant) == 3  # two placed, one paid

    # The same key for another move is a client's mistake; a new key for a move already made is refused too.
    assert_problem(move(client, street, number, "accept", "pay-1"), 422, "idempotency_key_reused")
    problem = assert_problem(move(client, street, number, "confirm_payment", "pay-2"), 409, "invalid_transition")
    assert "已付款" in problem["detail"]
    assert_problem(move(client, street, number, "complete", "c-1"), 409, "invalid_transition")
    assert_problem(move(client, street, number, "refund", "r-1"), 422, "validation_failed")
    assert_problem(client.post(f"{street.base}/shops/laowang/orders/{number}/transitions", json={"action": "accept"},
                               headers={"Authorization": f"Bearer {street.merchant_token}"}), 400,
                   "missing_idempotency_key")
    assert count(OrderEvent, street.tenant) == 3
    walk(client, street, number, "accept", "prepared")
    wrong = "12345678" if pickup_code(number) != "12345678" else "87654321"
    problem = assert_problem(move(client, street, number, "picked_up", "p-1", code=wrong), 422, "wrong_code")
    assert "code" in problem["errors"]  # the goods stay until the buyer's own code is given
    assert walk(client, street, number, "picked_up", "complete")["status"] == "completed"
    assert count(OrderEvent, street.tenant) == 7


def test_the_group_is_paid_when_its_last_order_is_confirmed(client, resident, street, placed, make_user):
    owner = make_user(role=Role.merchant_owner, tenant=street.tenant, shop=street.shops[1])
    liji_token = token_for(owner, street.shops[1])
    # A target status is no longer a way to move an order: "paid" only comes from confirming the payment.
    assert_problem(client.post(f"{street.base}/shops/laowang/orders/{placed['laowang']}/transitions",
                               json={"to": "paid"}, headers={"Authorization": f"Bearer {street.merchant_token}",
                                                             "Idempotency-Key": "to-1"}), 422, "validation_failed")

    assert move(client, street, placed["laowang"], "confirm_payment", "pay-1").get_json()["status"] == "paid"
    group = resident.get(f"{street.base}/orders/{placed['group']}").get_json()
    assert group["paid_at"] is None
    assert move(client, street, placed["liji"], "confirm_payment", "pay-1", shop="liji",
                token=liji_token).get_json()["status"] == "paid"
    assert resident.get(f"{street.base}/orders/{placed['group']}").get_json()["paid_at"] is not None


def test_a_checkout_whose_worker_died_after_placing_gets_its_payment_on_the_retry_or_at_the_counter(
        client, resident, street):
    """The process placing a checkout killed between committing the orders and recording their payment: the
    phone's retry with the same key records and starts it; if the buyer never retries, the merchants' confirmation
    still records the money taken at the counter. No paid group is ever without its payment."""
    def payments_of(number):
        with tenant_scope(street.tenant):
            db.session.commit()
            group = db.session.scalar(select(OrderGroup).where(OrderGroup.number == number))
            return [(p.status, p.amount_captured, group.total) for p in
                    db.session.scalars(select(Payment).where(Payment.group_id == group.id).order_by(Payment.id))]

    def placed_by_a_worker_that_died(key):  # what the killed request left: the orders, committed, and no payment
        with tenant_scope(street.tenant):
            cart = orders.cart_for(street.tenant, user_id=street.buyer.id, create=True)
            orders.set_line(cart, street.variants["apples"], 1)
            db.session.commit()
            return orders.place_order(street.tenant, street.buyer.id, cart, key).number

    retried = placed_by_a_worker_that_died("killed-1")
    assert payments_of(retried) == []
    again = checkout(resident, street, key="killed-1")
    assert again.status_code == 200 and again.get_json()["number"] == retried
    assert again.get_json()["payment"]["status"] == "pending" and again.get_json()["payment"]["instructions"]
    assert len(payments_of(retried)) == 1
    assert checkout(resident, street, key="killed-1").status_code == 200 and len(payments_of(retried)) == 1

    abandoned = placed_by_a_worker_that_died("killed-2")
    order = resident.get(f"{street.base}/orders/{abandoned}").get_json()["orders"][0]["number"]
    assert move(client, street, order, "confirm_payment", "pay-abandoned").get_json()["status"] == "paid"
    [(status, captured, total)] = payments_of(abandoned)
    assert status == "succeeded" and captured == total


def test_an_online_payment_cannot_be_confirmed_by_hand(client, street):
    with tenant_scope(street.tenant):
        cart = orders.cart_for(street.tenant, user_id=street.buyer.id, create=True)
        orders.set_line(cart, street.variants["apples"], 1)
        db.session.commit()
        number = orders.place_order(street.tenant, street.buyer.id, cart, "online-1",
                                    payment_provider="stripe").orders[0].number
    headers = {"Authorization": f"Bearer {street.merchant_token}"}
    listed = client.get(f"{street.base}/shops/laowang/orders", headers=headers).get_json()["items"][0]
    assert listed["actions"] == ["reject"]
    problem = assert_problem(move(client, street, number, "confirm_payment", "pay-1"), 409, "invalid_transition")
    assert "在线支付" in problem["detail"]
    assert count(OrderEvent, street.tenant) == 1


def test_a_pickup_order_has_no_way_to_shipped(client, street, placed):
    number = placed["laowang"]
    assert walk(client, street, number, "confirm_payment", "accept")["actions"] == ["prepared", "reject"]
    assert_problem(move(client, street, number, "ship", "s-1"), 422, "validation_failed")
    for to in ("shipped", "delivered"):
        response = client.post(f"{street.base}/shops/laowang/orders/{number}/transitions", json={"to": to},
                               headers={"Authorization": f"Bearer {street.merchant_token}", "Idempotency-Key": to})
        assert_problem(response, 422, "validation_failed")
    assert walk(client, street, number, "prepared")["status"] == "ready_for_pickup"


def test_reject_needs_a_reason_and_returns_the_stock(client, street, placed):
    assert stock(street, "apples") == 8
    problem = assert_problem(move(client, street, placed["laowang"], "reject", "x-1", reason="  "), 422,
                             "reason_required")
    assert "reason" in problem["errors"] and stock(street, "apples") == 8
    # A refusal is the key's answer: the corrected request comes with a new key.
    rejected = move(client, street, placed["laowang"], "reject", "x-2", reason="缺货").get_json()
    assert rejected["status"] == "cancelled" and rejected["events"][-1]["note"] == "拒单原因：缺货"
    assert rejected["actions"] == []
    assert stock(street, "apples") == 10


def test_another_shops_or_tenants_order_is_404(client, street, placed, make_tenant, make_shop, make_user):
    assert_problem(move(client, street, placed["liji"], "confirm_payment", "x-1"), 404, "not_found")
    assert_problem(move(client, street, "G000-1", "confirm_payment", "x-2"), 404, "not_found")
    other = make_tenant(slug="xinjie")
    shop = make_shop(other, slug="laowang")
    owner = make_user(role=Role.merchant_owner, tenant=other, shop=shop)
    token = token_for(owner, shop)
    response = client.post(f"/api/v1/tenants/xinjie/shops/laowang/orders/{placed['laowang']}/transitions",
                           json={"action": "confirm_payment"},
                           headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "z"})
    assert_problem(response, 404, "not_found")
    assert count(OrderEvent, street.tenant) == 2


# -- resident: cancelling --------------------------------------------------------------------------------------------

def order_url(street, placed, shop="laowang", base=None) -> str:
    return f"{base or street.base}/orders/{placed['group']}/orders/{placed[shop]}"


def cancel(client, street, placed, key, shop="laowang", **body):
    return client.post(f"{order_url(street, placed, shop)}/cancel", json=body,
                       headers={**client.headers, "Idempotency-Key": key})


def test_buyer_cancels_before_pickup_once_per_key(client, resident, street, placed):
    walk(client, street, placed["laowang"], "confirm_payment", "accept")
    response = cancel(resident, street, placed, "c-1", reason="买错了")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["events"][-1]["note"] == "买家取消：买错了"
    assert stock(street, "apples") == 10
    events = count(OrderEvent, street.tenant)

    again = cancel(resident, street, placed, "c-1", reason="买错了")
    assert again.status_code == 200 and again.get_json()["number"] == placed["laowang"]
    assert count(OrderEvent, street.tenant) == events and stock(street, "apples") == 10
    assert_problem(cancel(resident, street, placed, "c-2"), 409, "invalid_transition")
    # The other shop's order in the same group is untouched.
    group = resident.get(f"{street.base}/orders/{placed['group']}").get_json()
    assert {o["shop"]["slug"]: o["status"] for o in group["orders"]} == {"laowang": "cancelled",
                                                                         "liji": "pending_payment"}


def test_no_cancelling_once_the_goods_are_picked_up(client, resident, street, placed):
    walk(client, street, placed["laowang"], "confirm_payment", "accept", "prepared", "picked_up")
    problem = assert_problem(cancel(resident, street, placed, "c-1"), 409, "invalid_transition")
    assert "已取货" in problem["detail"]
    assert_problem(cancel(resident, street, placed, "walk-accept"), 422, "idempotency_key_reused")
    group = resident.get(f"{street.base}/orders/{placed['group']}").get_json()
    assert {o["shop"]["slug"]: o["status"] for o in group["orders"]}["laowang"] == "picked_up"
    assert count(OrderEvent, street.tenant) == 6


def test_cancel_refusals_write_nothing(resident, street, placed):
    url = f"{order_url(street, placed)}/cancel"
    assert_problem(resident.post(url, json={}, headers=resident.headers), 400, "missing_idempotency_key")
    assert_problem(resident.post(url, json={}, headers={"Idempotency-Key": "c-1"}), 400, "csrf_failed")
    assert_problem(cancel(resident, street, placed, "c-1", reason="x" * 501), 422, "validation_failed")
    assert count(OrderEvent, street.tenant) == 2 and stock(street, "apples") == 8


# -- resident: returns -----------------------------------------------------------------------------------------------

def ask_return(client, street, placed, key, lines, **body):
    return client.post(f"{order_url(street, placed)}/returns", json={"lines": lines, **body},
                       headers={**client.headers, "Idempotency-Key": key})


def apple_line(resident, street, placed) -> int:
    group = resident.get(f"{street.base}/orders/{placed['group']}").get_json()
    order = next(o for o in group["orders"] if o["number"] == placed["laowang"])
    return order["lines"][0]["id"]


def test_a_return_is_requested_once_per_key_and_listed_with_its_refund(client, resident, street, placed):
    walk(client, street, placed["laowang"], "confirm_payment", "accept", "prepared", "picked_up")
    line = apple_line(resident, street, placed)
    first = ask_return(resident, street, placed, "r-1", {str(line): 1})
    assert first.status_code == 201, first.get_data(as_text=True)
    made = first.get_json()
    assert made | {"status": "requested", "amount": 2990, "no_reason": True, "order_number": placed["laowang"],
                   "group_number": placed["group"], "refunds": []} == made
    assert [(x["order_line_id"], x["title"], x["quantity"]) for x in made["lines"]] == [(line, "红富士苹果", 1)]
    again = ask_return(resident, street, placed, "r-1", {str(line): 1})
    assert again.status_code == 201 and again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(returns.ReturnRequest, street.tenant) == 1

    with tenant_scope(street.tenant):  # the merchant agrees and pays back (its own console does this)
        request = db.session.get(returns.ReturnRequest, made["id"])
        returns.approve(request, actor_id=None, return_address="老街 1 号 老王水果店")
        returns.refund_return(request, actor_id=None)
        db.session.commit()
    listed = resident.get(f"{street.base}/returns").get_json()
    assert listed["total"] == 1 and listed["next_cursor"] is None
    assert listed["items"][0]["status"] == "refunded" and listed["items"][0]["return_address"]
    assert [(r["amount"], r["status"]) for r in listed["items"][0]["refunds"]] == [(2990, "succeeded")]


def test_return_refusals_write_nothing(client, resident, street, placed):
    line = apple_line(resident, street, placed)
    assert_problem(ask_return(resident, street, placed, "r-1", {str(line): 1}), 409, "not_received")
    walk(client, street, placed["laowang"], "confirm_payment", "accept", "prepared", "picked_up")
    assert_problem(ask_return(resident, street, placed, "r-2", {str(line): 3}), 422, "too_many")
    assert_problem(ask_return(resident, street, placed, "r-3", {"999999": 1}), 422, "unknown_line")
    assert_problem(ask_return(resident, street, placed, "r-4", {}), 422, "nothing_to_return")
    problem = assert_problem(ask_return(resident, street, placed, "r-5", {str(line): 1}, no_reason=False), 422,
                             "reason_required")
    assert "reason" in problem["errors"]
    for n, bad in enumerate(({str(line): "1"}, {str(line): True}, {str(line): -1}, [line])):
        assert_problem(ask_return(resident, street, placed, f"r-6-{n}", bad), 422, "validation_failed")
    assert_problem(ask_return(resident, street, placed, "r-7", {str(line): 1}, no_reason="yes"), 422,
                   "validation_failed")
    assert_problem(resident.post(f"{order_url(street, placed)}/returns", json={"lines": {str(line): 1}},
                                 headers={"Idempotency-Key": "r-8"}), 400, "csrf_failed")
    assert count(returns.ReturnRequest, street.tenant) == 0
    quality = ask_return(resident, street, placed, "r-9", {str(line): 2}, no_reason=False, reason="苹果烂了")
    assert quality.status_code == 201 and quality.get_json()["amount"] == 2 * 2990


def test_anothers_or_another_tenants_order_cannot_be_cancelled_or_returned(client, make_client, resident, street,
                                                                            placed, make_user, make_tenant):
    walk(client, street, placed["laowang"], "confirm_payment", "accept", "prepared", "picked_up")
    line = apple_line(resident, street, placed)
    make_user("other@shangdu.example")
    other = make_client()
    other.login("other@shangdu.example", PASSWORD)
    other.headers = {"X-CSRFToken": other.csrf_token("/account/login")}
    assert_problem(cancel(other, street, placed, "c-1"), 404, "not_found")
    assert_problem(ask_return(other, street, placed, "r-1", {str(line): 1}), 404, "not_found")
    assert other.get(f"{street.base}/returns").get_json()["items"] == []

    elsewhere = f"/api/v1/tenants/{make_tenant(slug='xinjie').slug}"
    url = order_url(street, placed, base=elsewhere)
    assert_problem(resident.post(f"{url}/cancel", json={}, headers={**resident.headers, "Idempotency-Key": "c-2"}),
                   404, "not_found")
    assert_problem(resident.post(f"{url}/returns", json={"lines": {str(line): 1}},
                                 headers={**resident.headers, "Idempotency-Key": "r-2"}), 404, "not_found")
    # An order number under another group of mine is not found either.
    mismatched = f"{street.base}/orders/{placed['group']}X/orders/{placed['laowang']}/cancel"
    assert_problem(resident.post(mismatched, json={}, headers={**resident.headers, "Idempotency-Key": "c-3"}), 404,
                   "not_found")
    assert count(returns.ReturnRequest, street.tenant) == 0 and count(OrderEvent, street.tenant) == 6

    ask_return(resident, street, placed, "r-3", {str(line): 1})
    assert resident.get(f"{elsewhere}/returns").get_json()["items"] == []
    assert len(resident.get(f"{street.base}/returns").get_json()["items"]) == 1


def test_the_openapi_document_lists_the_order_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    prefix = "/api/v1/tenants/{tenant_slug}"
    assert {"get"} <= set(paths[f"{prefix}/cart"])
    assert "put" in paths[f"{prefix}/cart/lines/{{variant_id}}"]
    checkout_op = paths[f"{prefix}/checkout"]["post"]
    assert {"201", "200", "409"} <= set(checkout_op["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in checkout_op["parameters"])
    assert "get" in paths[f"{prefix}/orders"] and "get" in paths[f"{prefix}/orders/{{number}}"]
    assert "get" in paths[f"{prefix}/shops/{{shop_slug}}/orders"]
    assert "post" in paths[f"{prefix}/shops/{{shop_slug}}/orders/{{number}}/transitions"]
    mine = f"{prefix}/orders/{{number}}/orders/{{order_number}}"
    assert {"200", "409"} <= set(paths[f"{mine}/cancel"]["post"]["responses"])
    assert {"201", "200", "409", "422"} <= set(paths[f"{mine}/returns"]["post"]["responses"])
    assert "get" in paths[f"{prefix}/returns"]
    assert "confirm_exclusions" in str(checkout_op)
