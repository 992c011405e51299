"""The delivery provider conformance kit: pytest test classes every delivery provider's tests subclass.

The kit holds what every provider must do; the provider's own test module says what only it knows — its
tenant options, an address it serves and one it does not, and the path its shipments travel. Everything else
is the platform's real code: a tenant whose delivery module is the provider, an order placed through
``orders.services.place_order`` with an option the provider quoted, its shipment moved by
``delivery.services.advance``.

Use it from a test module (built-in or in a third-party package)::

    from marketplace.delivery.conformance import DeliveryConformance

    class TestMyCourier(DeliveryConformance):
        provider_name = "mycourier"
        options = {"zones": [...]}
        journey = ("out_for_delivery", "delivered")    # the statuses after "created", in order

        def address(self): ...       # an Address the provider serves (None for collecting)
        def uncovered(self): ...     # a QuoteRequest it cannot serve (skipped when it serves everything)

The tests need a fixture ``app_ctx``: a request context of the platform's app on a migrated database, each
test inside a transaction that is rolled back (the project's ``tests/fixtures/app.py`` is one).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from marketplace.accounts import services as accounts
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category
from marketplace.delivery import services
from marketplace.delivery.models import Shipment
from marketplace.delivery.providers import (
    RECEIVED,
    TRANSITIONS,
    Address,
    DeliveryError,
    NotCovered,
    Parcel,
    ProviderLoadError,
    QuoteRequest,
    ShipmentRequest,
    ShipmentStatus,
    check_options,
    provider_class,
)
from marketplace.extensions import db
from marketplace.orders import handling, returns
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.shops.models import Merchant, Shop
from marketplace.shops.services import uscc_check_character
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from marketplace.trust import verification

_seq = itertools.count(1)
ZONE = ZoneInfo("Asia/Shanghai")
#: A Monday morning in Zhengzhou: every built-in's hours and slots are open then.
MONDAY_MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=ZONE)


class DeliveryConformance:
    """What every delivery provider must do. Subclass it as ``Test…`` and fill in the hooks."""

    provider_name: str = ""
    #: The tenant's options for the provider (``[modules.delivery.settings.<name>]``).
    options: dict = {}
    #: The tenant kind the provider serves (freight is a market's).
    tenant_kind: str = "street"
    #: The statuses a shipment goes through after ``created`` until the buyer has the goods.
    journey: tuple[str, ...] = ()
    #: What the parcel weighs, in grams (a variant's weight × 2 units).
    unit_weight_g: int = 1500

    # -- hooks ------------------------------------------------------------------------------------------------------

    def address(self) -> Address | None:
        """An address the provider serves; None when the buyer collects."""
        return None

    def uncovered(self, request: QuoteRequest) -> QuoteRequest | None:
        """A variant of ``request`` the provider cannot serve (far away, too heavy); None if there is none."""
        return None

    # -- the platform around the provider ---------------------------------------------------------------------------

    @pytest.fixture
    def world(self, app_ctx):
        return self.make_world()

    def make_world(self):
        """A live tenant whose delivery module is the provider under test, a shop offering it with one product
        on sale, and a buyer: (tenant, shop, variant, buyer)."""
        n = next(_seq)
        tenant = Tenant(slug=f"dkit-{uuid.uuid4().hex[:8]}", kind=self.tenant_kind, status="live",
                        name_zh=f"配送测试{n}", name_en=f"Delivery Kit {n}", district_zh="二七区",
                        district_en="Erqi District", theme="base", brand={},
                        layout={"pickup_counter": {"at_m": 270, "side": "east",
                                                   "name": {"zh": "联合自提点", "en": "Shared Counter"}}})
        db.session.add(tenant)
        db.session.commit()
        group = module_settings["delivery"]
        group.set(tenant, "provider", self.provider_name)
        group.set(tenant, "options", {self.provider_name: dict(self.options)})
        db.session.commit()
        with tenant_scope(tenant):
            first_17 = f"92410103MA{n % 10**7:07d}"
            merchant = Merchant(kind="individual_business", legal_name=f"配送测试商户{n}",
                                registration_number=first_17 + uscc_check_character(first_17))
            db.session.add(merchant)
            db.session.flush()
            verification.approve(merchant, actor_id=None, tenant=None)  # the platform's: its shop may sell
            shop = Shop(tenant_id=tenant.id, merchant_id=merchant.id, slug=f"dkit-shop-{n}", name_zh="配送测试店",
                        opening_hours={day: "08:00-22:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                        street_number="88", map_x=120.0, map_y=0.0,
                        delivery={"providers": [self.provider_name]})
            category = Category(slug=f"goods-{n}", name_zh="百货", product_type="general.goods")
            db.session.add_all([shop, category])
            db.session.flush()
            product = catalog.create_product(shop, catalog.ProductInput(
                category=category, title=f"配送测试商品{n}", variants=[catalog.VariantInput(
                    sku=f"DKIT-{n}", price=4800, stock=100, weight_g=self.unit_weight_g)]), publish=True)
            buyer = accounts.register_user(f"dkit{uuid.uuid4().hex[:10]}@shangdu.example", "correct-horse-42", "买家")
            db.session.commit()
            return tenant, shop, product.variants[0], buyer

    def request(self, tenant: Tenant, shop: Shop, *, now: datetime = MONDAY_MORNING) -> QuoteRequest:
        origin = services.origin_of(tenant, shop)
        provider = provider_class(self.provider_name)
        return QuoteRequest(tenant=tenant.slug, origin=origin, parcel=Parcel(weight_g=2 * self.unit_weight_g, items=2,
                                                                             value=9600),
                            address=self.address() if provider.needs_address else None, now=now,
                            currency=tenant.currency)

    def provider(self, tenant: Tenant, shop: Shop):
        return services.provider_for(tenant, shop, self.provider_name)

    def place(self, world) -> tuple[Order, Shipment]:
        """A paid and accepted order with the provider's first option for the shop."""
        tenant, shop, variant, buyer = world
        with tenant_scope(tenant):
            option = self.provider(tenant, shop).quote(self.request(tenant, shop, now=datetime.now(ZONE)))[0]
            cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
            orders.set_line(cart, variant.id, 2)
            db.session.commit()
            group = orders.place_order(tenant, buyer.id, cart, f"dkit-{uuid.uuid4().hex}", delivery={
                shop.id: services.Chosen(option, self.address())})
            order = group.orders[0]
            handling.confirm_offline_payment(order, actor_id=None)
            orders.transition(order, orders.S.accepted)
            db.session.commit()
            return order, db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))

    # -- the tests --------------------------------------------------------------------------------------------------

    def test_the_provider_is_registered_and_its_default_options_are_valid(self):
        cls = provider_class(self.provider_name)
        assert cls.name == self.provider_name and str(cls.label)
        check_options(cls, self.options)
        with pytest.raises(ProviderLoadError):
            check_options(cls, {**self.options, "no_such_option": 1})

    def test_quotes_are_deterministic_for_the_same_input(self, world):
        tenant, shop, _variant, _buyer = world
        with tenant_scope(tenant):
            request = self.request(tenant, shop)
            first, second = self.provider(tenant, shop).quote(request), self.provider(tenant, shop).quote(request)
            assert first and first == second

    def test_fees_are_whole_fen_and_every_option_is_complete(self, world):
        tenant, shop, _variant, _buyer = world
        with tenant_scope(tenant):
            options = self.provider(tenant, shop).quote(self.request(tenant, shop))
        assert len({o.code for o in options}) == len(options)
        for option in options:
            assert type(option.fee) is int and option.fee >= 0
            assert option.currency == tenant.currency and option.provider == self.provider_name
            assert option.code and str(option.label)
            if option.earliest and option.latest:
                assert option.earliest <= option.latest
            if option.earliest:
                assert option.earliest >= MONDAY_MORNING  # nothing promised in the past

    def test_an_address_outside_coverage_gets_a_clear_reason(self, world):
        tenant, shop, _variant, _buyer = world
        with tenant_scope(tenant):
            outside = self.uncovered(self.request(tenant, shop))
            if outside is None:
                pytest.skip(f"{self.provider_name} serves every address it can be asked about")
            with pytest.raises(NotCovered) as refused:
                self.provider(tenant, shop).quote(outside)
            assert len(str(refused.value)) >= 4

    def test_an_unknown_option_is_refused_when_shipping(self, world):
        tenant, shop, _variant, _buyer = world
        with tenant_scope(tenant), pytest.raises(DeliveryError) as refused:
            self.provider(tenant, shop).create_shipment(ShipmentRequest(
                shipment_id=1, order_number="X-1", option_code="no-such-option",
                parcel=Parcel(weight_g=1000), address=self.address()))
        assert refused.value.code == "unknown_option"

    def test_an_order_gets_its_shipment_with_the_quoted_fee(self, world):
        order, shipment = self.place(world)
        assert shipment.provider == self.provider_name and shipment.status == ShipmentStatus.created
        assert shipment.fee == order.delivery_fee and order.total == order.items_total + shipment.fee
        assert len(shipment.tracking_token) >= 32

    def test_tracking_only_moves_forward_and_receipt_starts_the_return_window(self, world):
        tenant = world[0]
        order, shipment = self.place(world)
        assert self.journey and self.journey[-1] in RECEIVED
        with tenant_scope(tenant):
            previous = ShipmentStatus.created
            for step in self.journey:
                assert step in TRANSITIONS[previous]
                services.advance(shipment, step, note="kit")
                with pytest.raises(DeliveryError):
                    services.advance(shipment, previous)  # back to where it was: refused
                previous = step
            db.session.commit()
            received = shipment.received_at
            assert received is not None
            assert returns.received_on(tenant, order) == received.astimezone(ZONE).date()
            assert returns.last_return_day(tenant, order) == received.astimezone(ZONE).date() + timedelta(days=7)

    def test_cancel_after_receipt_is_refused_and_before_dispatch_allowed(self, world):
        tenant = world[0]
        order, shipment = self.place(world)
        with tenant_scope(tenant):
            for step in self.journey:
                services.advance(shipment, step)
            with pytest.raises(DeliveryError) as refused:
                services.cancel(shipment)
            assert refused.value.code == "too_late" and shipment.status == self.journey[-1]
        order, shipment = self.place(world)
        with tenant_scope(tenant):
            orders.transition(order, orders.S.cancelled, note="kit")
            db.session.commit()
            assert shipment.status == ShipmentStatus.cancelled
