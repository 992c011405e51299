"""The payment provider conformance kit: pytest test classes every provider's tests subclass.

Like SQLAlchemy's dialect compliance suite, the kit holds the tests and the provider's own test module fills in
the hooks that only it knows how to do — make the buyer pay, have a card declined, make the service
unreachable. Everything else is the platform's real code: orders placed with ``orders.services.place_order``,
payments made, applied and refunded through ``payments.services``.

Use it from a test module (built-in or in a third-party package)::

    from marketplace.payments.conformance import ProviderConformance

    class TestMyProvider(ProviderConformance):
        provider_name = "myprovider"
        method = "card"
        options = {"methods": ["card"]}

        def pay(self, tenant, payment, action): ...      # the buyer pays what ``action`` asks
        def decline(self, tenant, payment, action): ...  # the buyer's payment is refused
        def notifications(self, tenant, payment): ...    # for notifications=True: [(body, headers), …] sent so far
        def unreachable(self): ...                       # a context manager: the provider cannot be reached

The tests need a fixture ``app_ctx``: a request context of the platform's app on a migrated database, each
test inside a transaction that is rolled back (the project's ``tests/fixtures/app.py`` is one). Tests whose
hook a provider cannot fill (an offline provider is never unreachable) are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts import services as accounts
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category, Variant
from marketplace.core.db import utcnow, writing
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.orders.models import OrderEvent, OrderGroup, OrderStatus
from marketplace.orders.returns import Refund, RefundStatus
from marketplace.payments import services
from marketplace.payments.models import Payment
from marketplace.payments.providers import (
    Choice,
    PaymentStatus,
    ProviderAction,
    ProviderResult,
    ProviderUnavailable,
    provider_class,
)
from marketplace.shops.models import Merchant, Shop
from marketplace.shops.services import uscc_check_character
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from marketplace.trust import verification

_seq = itertools.count(1)
#: Two shops' goods, in fen: one order of 2 × 1250 and one of 1 × 16800.
PRICES = (1250, 16800)


class ProviderConformance:
    """What every payment provider must do. Subclass it as ``Test…`` and fill in the hooks."""

    #: The registry name of the provider under test.
    provider_name: str = ""
    #: The method the buyer pays with.
    method: str = ""
    #: The tenant's options for the provider (``[modules.payment] settings``).
    options: dict = {}

    # -- hooks ------------------------------------------------------------------------------------------------------

    def pay(self, tenant: Tenant, payment: Payment, action: ProviderAction) -> None:
        """The buyer (or, for offline payment, the merchants confirming receipt) pays what ``action`` asks."""
        raise NotImplementedError

    def decline(self, tenant: Tenant, payment: Payment, action: ProviderAction) -> None:
        """The buyer tries to pay and the provider refuses (a declined card)."""
        raise NotImplementedError

    def notifications(self, tenant: Tenant, payment: Payment) -> list[tuple[bytes, dict]]:
        """Every notification the provider has sent about this payment so far, signed, as (body, headers)."""
        raise NotImplementedError

    def unreachable(self) -> contextlib.AbstractContextManager:
        """Within it, the provider cannot be reached."""
        raise NotImplementedError

    def settle(self, tenant: Tenant, payment: Payment) -> None:
        """After ``pay``: the platform learns of it — every notification delivered, or the buyer's return."""
        if provider_class(self.provider_name).capabilities.notifications:
            for body, headers in self.notifications(tenant, payment):
                services.handle_notification(self.provider_name, body, headers)
        with tenant_scope(tenant):
            services.refresh_payment(tenant, db.session.get(Payment, payment.id))

    def reported(self, tenant: Tenant, payment: Payment) -> ProviderResult:
        """The provider's word on the payment as it stands (used to build a report of another amount)."""
        with tenant_scope(tenant):
            return services.provider_for(tenant, self.provider_name).retrieve(payment.reference)

    # -- the platform around the provider ---------------------------------------------------------------------------

    @pytest.fixture
    def tenant(self, app_ctx) -> Tenant:
        return self.make_tenant()

    def make_tenant(self) -> Tenant:
        """A live tenant whose payment module is the provider under test, with ``options``."""
        n = next(_seq)
        tenant = Tenant(slug=f"kit-{uuid.uuid4().hex[:8]}", kind="street", status="live", name_zh=f"支付测试街{n}",
                        name_en=f"Payment Street {n}", district_zh="二七区", district_en="Erqi District",
                        theme="base", brand={}, layout={})
        db.session.add(tenant)
        db.session.commit()
        group = module_settings["payment"]
        group.set(tenant, "provider", self.provider_name)
        group.set(tenant, "options", dict(self.options))
        db.session.commit()
        return tenant

    def place(self, tenant: Tenant) -> tuple[OrderGroup, Payment, ProviderAction]:
        """A two-shop order group placed by a new buyer, its payment made and started with the provider.

        Written as a checkout request writes (``writing``): on SQLite a read that turns into a write fails at
        once while the provider's notifications are being written by the server."""
        with tenant_scope(tenant), writing():
            category = Category(slug=f"goods-{next(_seq)}", name_zh="百货", product_type="general.goods")
            db.session.add(category)
            variants = []
            for price in PRICES:
                first_17 = f"92410103MA{next(_seq) % 10**7:07d}"
                merchant = Merchant(kind="individual_business", legal_name=f"支付测试商户{next(_seq)}",
                                    registration_number=first_17 + uscc_check_character(first_17))
                db.session.add(merchant)
                db.session.flush()
                verification.approve(merchant, actor_id=None, tenant=None)  # the platform's: its shop may sell
                shop = Shop(tenant_id=tenant.id, merchant_id=merchant.id, slug=f"kit-shop-{next(_seq)}",
                            name_zh="支付测试店", opening_hours={})
                db.session.add(shop)
                db.session.flush()
                product = catalog.create_product(shop, catalog.ProductInput(
                    category=category, title=f"测试商品{next(_seq)}", variants=[catalog.VariantInput(
                        sku=f"KIT-{next(_seq)}", price=price, stock=10)]), publish=True)
                db.session.flush()
                variants.append(product.variants[0])
            buyer = accounts.register_user(f"kit{uuid.uuid4().hex[:10]}@shangdu.example", "correct-horse-42", "买家")
            db.session.commit()
            cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
            orders.set_line(cart, variants[0].id, 2)
            orders.set_line(cart, variants[1].id, 1)
            db.session.commit()
            group = orders.place_order(tenant, buyer.id, cart, f"kit-{uuid.uuid4().hex}",
                                       payment_provider=self.provider_name)
            payment = services.create_payment(group, Choice(self.provider_name, self.method, self.method))
            db.session.commit()
            action = services.start_payment(tenant, payment)
            return group, payment, action

    def paid_events(self, group: OrderGroup) -> int:
        return db.session.scalar(select(func.count(OrderEvent.id)).where(
            OrderEvent.order_id.in_([o.id for o in group.orders]), OrderEvent.to_status == OrderStatus.paid))

    def fresh(self, tenant: Tenant, group: OrderGroup) -> tuple[OrderGroup, Payment]:
        db.session.expire_all()
        with tenant_scope(tenant):
            group = db.session.get(OrderGroup, group.id)
            payment = db.session.scalar(select(Payment).where(Payment.group_id == group.id).order_by(Payment.id.desc()))
            len(group.orders)
            return group, payment

    def stock(self, tenant: Tenant, group: OrderGroup) -> list[int]:
        with tenant_scope(tenant):
            return [db.session.get(Variant, line.variant_id).stock for order in group.orders for line in order.lines]

    def assert_unpaid(self, tenant: Tenant, group: OrderGroup) -> None:
        group, payment = self.fresh(tenant, group)
        with tenant_scope(tenant):
            assert group.paid_at is None
            assert {o.status for o in group.orders} <= {OrderStatus.pending_payment, OrderStatus.cancelled}
            assert self.paid_events(group) == 0
            assert payment.status not in services.PAID

    def skip_unless(self, hook: str, reason: str) -> None:
        if getattr(type(self), hook) is getattr(ProviderConformance, hook):
            pytest.skip(f"{self.provider_name}: {reason}")

    # -- the tests --------------------------------------------------------------------------------------------------

    def test_a_paid_group_is_paid_once_and_refunded_in_full_and_in_part(self, tenant):
        group, payment, action = self.place(tenant)
        assert action.reference and payment.amount == group.total == 2 * PRICES[0] + PRICES[1]
        self.pay(tenant, payment, action)
        self.settle(tenant, payment)
        self.settle(tenant, payment)  # told twice: nothing moves twice
        group, payment = self.fresh(tenant, group)
        with tenant_scope(tenant):
            assert payment.status == PaymentStatus.succeeded and payment.amount_captured == payment.amount
            assert group.paid_at is not None and {o.status for o in group.orders} == {OrderStatus.paid}
            assert self.paid_events(group) == len(group.orders) == 2
            first, second = sorted(group.orders, key=lambda o: o.total)
            # In full: the merchant cancels the first order before it leaves the shop.
            orders.transition(first, OrderStatus.cancelled, note="缺货")
            # In part: the second order is picked up, then 1 yuan of it goes back.
            for step in (OrderStatus.accepted, OrderStatus.ready_for_pickup, OrderStatus.picked_up):
                orders.transition(second, step)
            returns.refund(second, 100, actor_id=None, note="少称了")
            db.session.commit()
            services.send_pending_refunds()
            refunds = db.session.scalars(select(Refund).where(Refund.order_id.in_([first.id, second.id]))
                                         .order_by(Refund.amount)).all()
            assert [(r.amount, r.status) for r in refunds] == [(100, RefundStatus.succeeded),
                                                               (first.total, RefundStatus.succeeded)]
            assert all(r.reference for r in refunds) or self.provider_name == "offline"
            sent = self.refunded_at_provider(tenant, payment)
            if sent is not None:
                assert sorted(sent) == [100, first.total]

    def refunded_at_provider(self, tenant: Tenant, payment: Payment) -> list[int] | None:
        """The refunds the provider holds for the payment, in fen; None where it holds none (offline)."""
        result = self.reported(tenant, payment)
        return [r.amount for r in result.refunds if r.status != "failed"]

    def test_a_declined_payment_marks_nothing_paid(self, tenant):
        self.skip_unless("decline", "no way for a payment to be declined")
        group, payment, action = self.place(tenant)
        self.decline(tenant, payment, action)
        self.settle(tenant, payment)
        self.assert_unpaid(tenant, group)
        _group, payment = self.fresh(tenant, group)
        if provider_class(self.provider_name).capabilities.automatic:
            assert payment.status == PaymentStatus.failed and payment.problem

    def test_duplicate_and_out_of_order_notifications_converge(self, tenant):
        if not provider_class(self.provider_name).capabilities.notifications:
            pytest.skip(f"{self.provider_name} sends no notifications")
        group, payment, action = self.place(tenant)
        self.pay(tenant, payment, action)
        sent = self.notifications(tenant, payment)
        assert sent, "paying sent no notification"
        outcomes = [services.handle_notification(self.provider_name, body, headers)
                    for body, headers in [*reversed(sent), *sent, *sent]]
        assert outcomes.count("duplicate") == 2 * len(sent)
        group, payment = self.fresh(tenant, group)
        with tenant_scope(tenant):
            assert payment.status == PaymentStatus.succeeded
            assert {o.status for o in group.orders} == {OrderStatus.paid}
            assert self.paid_events(group) == 2

    def test_refunds_never_exceed_what_was_captured(self, tenant):
        group, payment, action = self.place(tenant)
        self.pay(tenant, payment, action)
        self.settle(tenant, payment)
        group, payment = self.fresh(tenant, group)
        with tenant_scope(tenant):
            order = max(group.orders, key=lambda o: o.total)
            for step in (OrderStatus.accepted, OrderStatus.ready_for_pickup, OrderStatus.picked_up):
                orders.transition(order, step)
            db.session.commit()
            with pytest.raises(returns.ReturnError) as too_much:
                returns.refund(order, order.total + 1, actor_id=None)
            assert too_much.value.code == "too_much"
            db.session.rollback()
            returns.refund(order, order.total - 1, actor_id=None)
            returns.refund(db.session.get(type(order), order.id), 1, actor_id=None)
            db.session.commit()
            with pytest.raises(returns.ReturnError):
                returns.refund(db.session.get(type(order), order.id), 1, actor_id=None)
            db.session.rollback()
            services.send_pending_refunds()
            total = db.session.scalar(select(func.sum(Refund.amount)).where(
                Refund.order_id == order.id, Refund.status != RefundStatus.failed))
            assert total == order.total
        sent = self.refunded_at_provider(tenant, payment)
        if sent is not None:
            assert sum(sent) == order.total <= payment.amount_captured

    @pytest.mark.parametrize("wrong", ["amount", "currency"])
    def test_a_report_of_another_amount_or_currency_is_refused(self, tenant, wrong):
        group, payment, action = self.place(tenant)
        honest = self.reported(tenant, payment)
        other = {"amount": {"amount": payment.amount - 1}, "currency": {"currency": "USD"}}[wrong]
        report = replace(honest, status=PaymentStatus.succeeded, amount_captured=payment.amount, **other)
        with tenant_scope(tenant):
            assert services.apply_result(db.session.get(Payment, payment.id), report) == "mismatch"
            db.session.commit()
        self.assert_unpaid(tenant, group)
        _group, payment = self.fresh(tenant, group)
        assert payment.problem

    def test_an_unreachable_provider_is_a_clear_error_and_the_hold_job_releases_the_stock(self, tenant):
        self.skip_unless("unreachable", "talks to no service that could be unreachable")
        with self.unreachable(), pytest.raises(ProviderUnavailable) as error:
            self.place(tenant)
        assert str(error.value)
        with tenant_scope(tenant):
            group = db.session.scalar(select(OrderGroup).order_by(OrderGroup.id.desc()))
        group, payment = self.fresh(tenant, group)
        assert payment.status == PaymentStatus.failed and payment.problem
        self.assert_unpaid(tenant, group)
        held = self.stock(tenant, group)
        with tenant_scope(tenant):
            assert orders.release_expired_holds(now=group.payment_deadline + timedelta(seconds=1)) == 2
            db.session.commit()
        group, _payment = self.fresh(tenant, group)
        assert {o.status for o in group.orders} == {OrderStatus.cancelled}
        assert sorted(held) == [8, 9] and self.stock(tenant, group) == [10, 10]
        assert utcnow() < group.payment_deadline  # released by the job, not by waiting
