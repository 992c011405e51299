"""Retention: transaction records are kept at least three years from the transaction's completion (E-Commerce Law
Art. 31; ``accounts.closure.HOLD_YEARS``), reviews for good (Art. 39; ``trust.reviews``) and the audit log for good
(``core.audit``). Every way a resident, a merchant, an operator, a platform admin, a job or the database itself
could take such rows away is tried here against the running platform, and not one row of them may go: a path may
refuse, cancel, hide, archive or anonymise, never delete.

The rows are compared by id, before and after every path, so rows the paths add (an audit entry for each operator
action, the events of a cancellation) cannot hide one that went. A quote that priced an order counts too: it is part
of that order's record (``accounts.closure`` keeps it when its buyer leaves).
"""

from __future__ import annotations

import re
import shlex
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.accounts import closure
from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role, RoleGrant, User
from marketplace.api.auth import issue_token
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product, QuoteStatus, Variant
from marketplace.core.db import utcnow, writing
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderGroup, OrderLine, OrderStatus
from marketplace.shops.models import Shop, ShopStatus
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant, TenantStatus
from marketplace.trust import enforcement
from marketplace.trust.reviews import Review
from marketplace.trust.verification import MerchantApproval
from tests.orders.live_server import Browser
from tests.reliability.conftest import SLUG

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

#: The tables whose rows the law (or the platform's promise) keeps: the order records and what hangs on them, the
#: audit log, and reviews with their hash chain.
RETAINED = ("order_groups", "orders", "order_lines", "order_events", "payments", "refunds", "return_requests",
            "return_lines", "shipments", "shipment_events", "audit_entries", "reviews", "review_logs")
#: Quotes are kept only once they priced an order; the others are conversations a closing account takes along.
PRICED_QUOTES = "quotes (priced an order)"
KEPT = (*RETAINED, PRICED_QUOTES)
PASSWORD = "correct-horse-42"
ADMIN, OPERATOR, DEPUTY = (f"{who}@reliable.example" for who in ("retention-admin", "retention-operator",
                                                                  "retention-deputy"))
CRON = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
GOOD_RATINGS = {"product": 5, "described": 5, "service": 4, "delivery": 5}


@dataclass
class Sale:
    buyer: int  # the resident's number
    group: str
    order: str
    line: int


@dataclass
class Tried:
    """The delete paths tried, each with what the platform did instead of deleting."""

    paths: list[tuple[str, str]] = field(default_factory=list)

    def add(self, path: str, outcome: str) -> None:
        self.paths.append((path, outcome))


# -- seeding ------------------------------------------------------------------------------------------------------

def _staff_and_catalog_key(platform) -> str:
    """A platform admin, a street operator and a future deputy; and shop 0's key that may edit its catalogue (the
    fixture's keys may only move orders)."""
    with platform.app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        admin = accounts.register_user(ADMIN, PASSWORD, "留存管理员")
        accounts.grant_role(admin, Role.platform_admin)
        operator = accounts.register_user(OPERATOR, PASSWORD, "留存运营")
        accounts.grant_role(operator, Role.tenant_operator, tenant=tenant)
        accounts.register_user(DEPUTY, PASSWORD, "留存副运营")
        with tenant_scope(tenant):
            shop = db.session.get(Shop, platform.shops[0][0])
            owner = accounts.find_user("merchant0@reliable.example")
            key = issue_token(owner, shop, "retention", ["catalog:read", "catalog:write"])
        db.session.commit()
    return key


def _place(platform, buyer: int, variant: int, quantity: int) -> Sale:
    platform.empty_cart(buyer)
    assert platform.add_to_cart(buyer, variant, quantity).status == 200
    return _checkout(platform, buyer)


def _sold_by_quote(platform, buyer: int, variant: int) -> Sale:
    """A wholesale sale: the buyer's quote, answered and accepted (seeded in-process), prices the order placed over
    the API."""
    platform.empty_cart(buyer)
    with platform.app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        with tenant_scope(tenant):
            db.session.get(Shop, platform.shops[0][0]).accepts_quotes = True
            user = accounts.find_user(f"resident{buyer:03d}@reliable.example")
            quote = catalog.request_quote(user, db.session.get(Variant, variant), 3, message="三箱，月底前")
            catalog.answer_quote(quote, 3500, date.today() + timedelta(days=7))
            catalog.accept_quote(quote, user)
            orders.quote_line(orders.cart_for(tenant, user_id=user.id, create=True), quote, date.today())
            db.session.commit()
    return _checkout(platform, buyer)


def _checkout(platform, buyer: int) -> Sale:
    placed = platform.checkout(buyer)
    assert placed.status == 201, placed.text
    order = placed.body["orders"][0]
    return Sale(buyer, placed.body["number"], order["number"], order["lines"][0]["id"])


def _move(platform, shop: int, sale: Sale, *actions: str) -> None:
    code = None
    for action in actions:
        if action == "picked_up":
            shipment = platform.call("GET", f"/orders/{sale.group}/orders/{sale.order}/shipment",
                                     platform.residents[sale.buyer])
            code = shipment.body["pickup_code"]
        body = {"action": action, **({"code": code} if action == "picked_up" else {}),
                **({"reason": "缺货，抱歉"} if action == "reject" else {})}
        moved = platform.shop_call(shop, "POST", f"/orders/{sale.order}/transitions", body, key=uuid.uuid4().hex)
        assert moved.status == 200, f"{action}: {moved.text}"


COMPLETE = ("confirm_payment", "accept", "prepared", "picked_up", "complete")


def _review(platform, sale: Sale) -> None:
    made = platform.call("POST", f"/orders/{sale.group}/orders/{sale.order}/lines/{sale.line}/review",
                         platform.residents[sale.buyer], {"ratings": GOOD_RATINGS, "text": "新鲜，包装好"},
                         key=uuid.uuid4().hex)
    assert made.status == 201, made.text


def _return_and_refund(platform, sale: Sale) -> None:
    """One of the two units goes back and its price is refunded: a return request, its line and a refund row."""
    asked = platform.call("POST", f"/orders/{sale.group}/orders/{sale.order}/returns", platform.residents[sale.buyer],
                          {"lines": {str(sale.line): 1}, "no_reason": True}, key=uuid.uuid4().hex)
    assert asked.status == 201, asked.text
    for action in ("approve", "receive", "refund"):
        decided = platform.shop_call(0, "POST", f"/returns/{asked.body['id']}/decisions", {"action": action},
                                     key=uuid.uuid4().hex)
        assert decided.status == 200, f"{action}: {decided.text}"


def kept_rows(app) -> dict[str, set[int]]:
    """The ids of every retained table, and of the quotes that priced an order, read past the ORM (and its tenant
    guard)."""
    with app.app_context(), db.engine.connect() as connection:
        return _ids(connection)


def _ids(connection) -> dict[str, set[int]]:
    tables = db.metadata.tables
    found = {name: set(connection.scalars(select(tables[name].c.id))) for name in RETAINED}
    quotes = tables["quotes"]
    found[PRICED_QUOTES] = set(connection.scalars(select(quotes.c.id).where(quotes.c.status == QuoteStatus.ordered)))
    return found


def _signed_in(platform, login: str) -> tuple[Browser, str]:
    browser = Browser(platform.server.port)
    browser.login(login, PASSWORD)
    return browser, browser.get("/account/").csrf_token()


def _form(browser: Browser, token: str, path: str, **fields) -> None:
    """A console form sent as its page sends it. The console answers with a redirect either way (a refusal is a
    flash message), so what the form did is read from the database afterwards."""
    sent = browser.post(path, {"csrf_token": token, **fields})
    assert sent.status in (302, 303), f"{path}: {sent.summary()}"


# -- the paths ----------------------------------------------------------------------------------------------------

def _no_delete_method(platform, tried: Tried, sale: Sale, product_id: int, return_id: int) -> None:
    """No API resource of an order, a review, a return or a product takes DELETE: resident or merchant."""
    resident = platform.residents[sale.buyer]
    as_resident = (f"/orders/{sale.group}", f"/orders/{sale.group}/orders/{sale.order}/lines/{sale.line}/review",
                   f"/orders/{sale.group}/orders/{sale.order}/returns", f"/orders/{sale.group}/payments")
    as_shop = (f"/orders/{sale.order}/transitions", f"/returns/{return_id}", f"/products/{product_id}", "/reviews")
    answers = [platform.call("DELETE", path, resident).status for path in as_resident]
    answers += [platform.shop_call(0, "DELETE", path).status for path in as_shop]
    assert answers == [405] * len(answers), answers
    tried.add(f"DELETE on {len(answers)} API resources (order group, review, return, payments; shop order, "
              "return, product, reviews)", "405 method not allowed")


def _resident_paths(platform, tried: Tried, unpaid: Sale, completed: Sale) -> None:
    cancelled = platform.call("POST", f"/orders/{unpaid.group}/orders/{unpaid.order}/cancel",
                              platform.residents[unpaid.buyer], {}, key=uuid.uuid4().hex)
    assert cancelled.status == 200, cancelled.text
    tried.add("resident cancels an unpaid order (API)", "cancelled, kept")
    refused = platform.call("POST", f"/orders/{completed.group}/orders/{completed.order}/cancel",
                            platform.residents[completed.buyer], {}, key=uuid.uuid4().hex)
    assert refused.status == 409, refused.text
    tried.add("resident cancels a completed order (API)", f"409 {refused.code}")


def _merchant_paths(platform, tried: Tried, catalog_key: str, rejected: Sale, product_id: int,
                    quoted_product_id: int) -> date:
    """Returns the last day the merchant announced for shop 0."""
    _move(platform, 0, rejected, "confirm_payment", "reject")
    tried.add("merchant rejects a paid order (API)", "cancelled, kept")
    refused = platform.call("PATCH", f"/shops/shop-0/products/{quoted_product_id}", catalog_key, {"variants": [
        {"sku": f"R-NEW-{uuid.uuid4().hex[:8]}", "price": 1500, "stock": 5}]})
    assert refused.status == 422 and "报价已用于订单" in refused.body["detail"], refused.text
    tried.add("merchant removes a SKU whose quote priced an order (API PATCH variants)", f"422 {refused.code}")
    dropped = platform.call("PATCH", f"/shops/shop-0/products/{product_id}", catalog_key, {"variants": [
        {"sku": f"R-NEW-{uuid.uuid4().hex[:8]}", "price": 1500, "stock": 5}]})
    assert dropped.status == 200, dropped.text
    tried.add("merchant removes the sold SKU (API PATCH variants)", "variant deleted, order lines keep their snapshot")
    merchant, token = _signed_in(platform, "merchant0@reliable.example")
    _form(merchant, token, f"/merchant/{SLUG}/shop-0/products/{product_id}/unpublish", action="archive")
    tried.add("merchant archives the sold product (console)", "archived, kept")
    last_day = date.today() + timedelta(days=enforcement.CLOSING_NOTICE_DAYS + 5)
    _form(merchant, token, f"/merchant/{SLUG}/shop-0/closing", last_day=last_day.isoformat(), note="退休")
    tried.add("merchant announces the shop's closing (console)", "notice published")
    return last_day


def _operator_paths(platform, tried: Tried, review_id: int, closing_buyer: int) -> None:
    operator, token = _signed_in(platform, OPERATOR)
    _form(operator, token, f"/operator/{SLUG}/reviews/{review_id}/hide", reason="ads")
    tried.add("operator hides a review (console)", "hidden, kept and counted")
    _form(operator, token, f"/operator/{SLUG}/sanctions", shop_id=str(platform.shops[1][0]), measure="termination",
          violation="销售假冒商品")
    tried.add("operator terminates a shop (console sanction)", "shop suspended, kept")
    with platform.app.app_context(), all_tenants():
        merchant_id = db.session.scalar(select(Shop.merchant_id).where(Shop.id == platform.shops[1][0]))
    _form(operator, token, f"/operator/{SLUG}/merchants/{merchant_id}/reject", reason="资质证明系伪造")
    tried.add("operator rejects a merchant (console)", "rejected, goods off sale")

    resident, token = _signed_in(platform, f"resident{closing_buyer:03d}@reliable.example")
    assert resident.get("/account/close").status == 200
    _form(resident, token, "/account/close", password=PASSWORD, understood="y")
    tried.add("resident closes the account (console)", "anonymised; orders held, unpaid one cancelled")

    admin, token = _signed_in(platform, ADMIN)
    with platform.app.app_context():
        deputy = db.session.scalar(select(RoleGrant.id).join(User).where(User.email == DEPUTY))
    _form(admin, token, f"/operator/{SLUG}/operators/{deputy}/revoke")
    tried.add("platform admin revokes an operator who acted (console)", "role gone, audit entries kept")
    _form(admin, token, f"/operator/{SLUG}/suspend", reason="检查留存")
    with platform.app.app_context():
        assert db.session.scalar(select(Tenant.status).where(Tenant.slug == SLUG)) == TenantStatus.suspended
    _form(admin, token, f"/operator/{SLUG}/status", status="live")
    tried.add("platform admin suspends the street, then restores it (console)", "suspended, nothing removed")


def _jobs(platform, tried: Tried, last_day: date, overdue: Sale) -> None:
    """The jobs as cron runs them (read from docs/deploy.md, so a job added there is tried too), with an unpaid
    order past its deadline for release-holds; the closing job once more with its clock after shop 0's last day;
    and purge-held with its clock one day before the first hold ends."""
    jobs = re.findall(r"^[\d*/, -]+\s+cd \S+ && (?:flock -n \S+ )?\.venv/bin/flask --app wsgi (.+)$",
                      CRON.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(jobs) >= 15 and "accounts purge-held" in jobs and "orders release-holds" in jobs
    with platform.app.app_context(), all_tenants(), writing():
        db.session.execute(update(OrderGroup).where(OrderGroup.number == overdue.group)
                           .values(payment_deadline=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    runner = platform.app.test_cli_runner()
    with platform.app.app_context():  # as `flask` itself runs them: inside the application
        failed = {job: result.output[-500:] for job in jobs
                  if (result := runner.invoke(args=shlex.split(job))).exit_code != 0}
        db.session.remove()
    assert failed == {}
    tried.add(f"every cron job of docs/deploy.md ({len(jobs)}, incl. purge-held, release-holds, verify-seals, "
              "verify-reviews)", "exit 0; the overdue order cancelled")

    with platform.app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        with tenant_scope(tenant), writing():
            done = enforcement.apply_due(now=enforcement.end_of_day(tenant, last_day) + timedelta(minutes=1))
            db.session.commit()
        assert done.closed == 1
        with all_tenants():
            first_hold_ends = db.session.scalar(select(func.min(closure.HeldOrder.hold_until)))
        purged = runner.invoke(args=["accounts", "purge-held", "--now",
                                     (first_hold_ends - timedelta(days=1)).isoformat()])
        db.session.remove()
    assert purged.exit_code == 0 and purged.output.startswith("0 held orders cleared"), purged.output
    tried.add("closing job after the shop's last day (enforcement.apply_due)", "shop closed, kept")
    tried.add("purge-held a day before the first hold ends", "0 cleared")


def _parents(platform, buyer: int, closing_buyer: int, variant_id: int, product_id: int) -> list[tuple[str, str, int]]:
    """(table, what, id) of rows the retained rows point at: a buyer, the account about to close, the operator who
    will hide a review, the admin who acts, a shop, its merchant, the street, a sold product and a sold variant."""
    with platform.app.app_context(), all_tenants():
        users = {"buyer": f"resident{buyer:03d}@reliable.example",
                 "closed account": f"resident{closing_buyer:03d}@reliable.example",
                 "operator who hid a review": OPERATOR, "admin who acted": ADMIN}
        shop_id = platform.shops[0][0]
        return [*(("users", who, db.session.scalar(select(User.id).where(User.email == email)))
                  for who, email in users.items()),
                ("shops", "shop 0", shop_id),
                ("merchants", "merchant of shop 0", db.session.scalar(select(Shop.merchant_id).where(Shop.id == shop_id))),
                ("tenants", "the street", db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))),
                ("products", "sold product", product_id), ("variants", "sold variant", variant_id)]


def _database_cascades(platform, tried: Tried, parents: list[tuple[str, str, int]]) -> dict[str, str]:
    """Delete each parent row in SQL, each in a savepoint of one transaction rolled back at the end; inside it,
    every retained row must still be there (RESTRICT refuses, SET NULL keeps the row)."""
    before = kept_rows(platform.app)
    outcomes = {}
    with platform.app.app_context(), writing(), db.engine.connect() as connection:
        tables = db.metadata.tables
        transaction = connection.begin()
        for table, who, row_id in parents:
            try:
                with connection.begin_nested():
                    gone = connection.execute(delete(tables[table]).where(tables[table].c.id == row_id)).rowcount
                outcomes[f"{table}: {who}"] = "deleted" if gone else "not found"
            except IntegrityError:
                outcomes[f"{table}: {who}"] = "refused"
        inside = _ids(connection)
        transaction.rollback()
    lost = {name: len(before[name] - inside[name]) for name in KEPT if before[name] - inside[name]}
    assert lost == {}, f"deleting a parent row took retained rows with it: {lost} ({outcomes})"
    tried.add(f"SQL DELETE of {len(parents)} rows they point at (rolled back)",
              ", ".join(f"{who} {outcome}" for who, outcome in outcomes.items()))
    return outcomes


# -- the cases ----------------------------------------------------------------------------------------------------

def test_no_delete_path_removes_an_order_audit_or_review_row_within_the_retention_period(platform):
    """Seed every kind of retained row, try every path, and compare the rows by id."""
    catalog_key = _staff_and_catalog_key(platform)
    apples = platform.product("灵宝苹果 5 斤装", stock=20, price=3900)
    pears = platform.product("砀山酥梨 5 斤装", stock=20, price=2900, shop=1)
    jujubes = platform.product("新疆骏枣 一箱 5 kg", stock=20, price=4900)
    with platform.app.app_context(), all_tenants():
        apples_product, jujubes_product = (db.session.scalar(select(Variant.product_id).where(Variant.id == variant))
                                           for variant in (apples, jujubes))
    closing_buyer, other = 200, 201
    kept_sale = _place(platform, closing_buyer, apples, 2)
    _move(platform, 0, kept_sale, *COMPLETE)
    _review(platform, kept_sale)
    _return_and_refund(platform, kept_sale)
    hidden_sale = _place(platform, other, pears, 1)
    _move(platform, 1, hidden_sale, *COMPLETE)
    _review(platform, hidden_sale)
    _move(platform, 0, _sold_by_quote(platform, 205, jujubes), *COMPLETE)
    left_unpaid = _place(platform, closing_buyer, apples, 1)  # cancelled when the account closes
    to_cancel, to_reject, overdue = (_place(platform, buyer, apples, 1) for buyer in (202, 203, 204))
    admin, token = _signed_in(platform, ADMIN)
    _form(admin, token, f"/operator/{SLUG}/operators", identifier=DEPUTY)  # an audit entry, by a later-revoked hand
    with platform.app.app_context(), all_tenants():
        review_id = db.session.scalar(select(Review.id).join(OrderLine, OrderLine.id == Review.order_line_id)
                                      .where(OrderLine.id == hidden_sale.line))
        return_id = db.session.scalar(select(db.metadata.tables["return_requests"].c.id).limit(1))
    parents = _parents(platform, other, closing_buyer, pears, apples_product)
    before = kept_rows(platform.app)
    assert all(before[name] for name in KEPT), {name: len(rows) for name, rows in before.items()}

    tried = Tried()
    _no_delete_method(platform, tried, kept_sale, apples_product, return_id)
    _resident_paths(platform, tried, to_cancel, hidden_sale)
    last_day = _merchant_paths(platform, tried, catalog_key, to_reject, apples_product, jujubes_product)
    platform.initial_stock.pop(apples)  # the merchant removed that variant: no shelf left to balance
    _operator_paths(platform, tried, review_id, closing_buyer)
    _jobs(platform, tried, last_day, overdue)
    outcomes = _database_cascades(platform, tried, parents)
    after = kept_rows(platform.app)

    removed = {name: len(before[name] - after[name]) for name in KEPT}
    print(f"\n[{platform.database}] {len(tried.paths)} delete paths tried:")
    for path, outcome in tried.paths:
        print(f"  - {path}: {outcome}")
    print("  rows before → after (removed): " + ", ".join(
        f"{name} {len(before[name])} → {len(after[name])} ({removed[name]})" for name in KEPT))
    assert removed == dict.fromkeys(KEPT, 0)
    assert outcomes["users: buyer"] == outcomes["shops: shop 0"] == outcomes["tenants: the street"] == "refused"
    with platform.app.app_context(), all_tenants():
        statuses = dict(db.session.execute(select(Order.number, Order.status).where(Order.number.in_(
            [s.order for s in (left_unpaid, to_cancel, to_reject, overdue, kept_sale)]))).all())
        assert statuses == {left_unpaid.order: OrderStatus.cancelled, to_cancel.order: OrderStatus.cancelled,
                            to_reject.order: OrderStatus.cancelled, overdue.order: OrderStatus.cancelled,
                            kept_sale.order: OrderStatus.completed}
        assert db.session.get(Review, review_id).hidden_reason == "ads"
        assert db.session.scalar(select(Variant.id).where(Variant.id == apples)) is None
        assert db.session.scalar(select(OrderLine.title).where(OrderLine.id == kept_sale.line)) == "灵宝苹果 5 斤装"
        assert db.session.scalar(select(Product.status).where(Product.id == apples_product)) == "archived"
        assert {db.session.get(Shop, shop_id).status for shop_id, _slug, _key in platform.shops[:2]} == {
            ShopStatus.suspended}
        rejected_merchant = db.session.scalar(select(Shop.merchant_id).where(Shop.id == platform.shops[1][0]))
        assert db.session.scalar(select(MerchantApproval.status).where(MerchantApproval.merchant_id == rejected_merchant)
                                 .order_by(MerchantApproval.id.desc()).limit(1)) == "rejected"
        assert db.session.scalar(select(Tenant.status).where(Tenant.slug == SLUG)) == TenantStatus.live
        assert db.session.scalar(select(func.count()).select_from(closure.HeldOrder)) == 2
        db.session.rollback()
    platform.check()


def test_no_foreign_key_in_the_database_deletes_a_retained_row_with_a_row_outside_them(platform):
    """The schema as migrated (not as the models say): a retained row may only cascade with another retained row
    (an order's lines with the order, which itself cannot go); everything else must restrict or set null."""
    with platform.app.app_context():
        inspector = inspect(db.engine)
        keys = [(f"{table}.{','.join(key['constrained_columns'])}", key["referred_table"],
                 (key.get("options") or {}).get("ondelete", "NO ACTION").upper())
                for table in RETAINED for key in inspector.get_foreign_keys(table)]
    cascading = [(column, parent) for column, parent, action in keys if action == "CASCADE"]
    print(f"\n[{platform.database}] {len(keys)} foreign keys of {len(RETAINED)} retained tables read from the "
          f"database; ON DELETE CASCADE: {', '.join(f'{column} → {parent}' for column, parent in cascading)}")
    assert ("order_lines.order_id", "orders") in cascading  # the reflection does read ON DELETE
    assert [(column, parent) for column, parent in cascading if parent not in RETAINED] == []
    platform.check()
