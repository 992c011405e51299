"""The conformance kit run for ``offline``: paying is the merchants confirming receipt, order by order."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders import handling
from marketplace.orders.models import Order
from marketplace.payments.conformance import ProviderConformance
from marketplace.tenancy.context import tenant_scope


class TestOffline(ProviderConformance):
    provider_name = "offline"
    method = "pay_at_stall"
    options = {"methods": ["pay_at_stall", "bank_transfer"]}

    def pay(self, tenant, payment, action):
        assert action.kind == "instructions" and action.reference in action.instructions
        with tenant_scope(tenant):
            for order in db.session.scalars(select(Order).where(Order.group_id == payment.group_id)).all():
                handling.confirm_offline_payment(order, actor_id=None)
            db.session.commit()

    def refunded_at_provider(self, tenant, payment):
        return None  # the merchant pays back by hand: no one else holds the refunds
