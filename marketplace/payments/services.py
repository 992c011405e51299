"""Collecting and paying back money through the tenant's payment providers.

The rules, in short:

* **One total.** A payment's amount is its order group's total, in the group's currency; a provider reporting
  any other amount or currency for it is recorded as a problem and marks nothing paid.
* **Network calls outside our transactions.** ``start_payment`` commits the payment row first, then asks the
  provider, then records the provider's answer. A provider that cannot be reached leaves the payment failed
  with the reason and the orders unpaid (the hold job releases their stock at the deadline).
* **Converge.** ``apply_result`` is the one place a provider's word changes a payment. It runs under the
  group's row lock and only ever moves a payment up ``providers.RANK``: the same result twice, results in any
  order, the buyer's return and the webhook racing — all end in the same state, and the orders are marked
  paid once.
* **Notifications once.** ``handle_notification`` inserts the event id in the same transaction as its effect;
  a second delivery of the same event finds it and changes nothing.
* **Refunds.** ``orders.returns.refund`` (and cancellations of paid orders) record a ``Refund`` per order. For
  a provider that moves money itself the row starts ``pending`` and is sent after the commit
  (``send_refund``: the request carries an idempotency key from the refund's id, so a retry after a crash is
  safe); a refund the provider refuses is marked ``failed`` and its amount becomes refundable again.

The tenant's choice: ``[modules.payment]`` names the online provider (or ``offline`` for none) and its
settings; the settings may also list ``offline_methods`` (and a ``bank_account`` for transfers) that are
offered beside the online provider. With ``provider = "offline"`` its own ``methods`` are the offline ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.core.db import utcnow, writing
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderGroup, OrderStatus
from marketplace.orders.returns import Refund, RefundStatus
from marketplace.payments.models import Payment, PaymentEvent
from marketplace.payments.providers import (
    RANK,
    Choice,
    NotificationRefused,
    PaymentProvider,
    PaymentRequest,
    PaymentStatus,
    ProviderAction,
    ProviderError,
    ProviderLoadError,
    ProviderResult,
    ProviderUnavailable,
    RefundRequest,
    check_options,
    provider_class,
)
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings

log = logging.getLogger(__name__)
OFFLINE = "offline"
#: Options of the payment module that belong to the offline methods offered beside an online provider.
OFFLINE_EXTRAS = ("offline_methods", "bank_account")
#: A payment in these states has the money (held or taken): its group's orders are paid.
PAID = (PaymentStatus.succeeded, PaymentStatus.authorized)
#: ``Refund.reference`` while the provider is being asked (before it has given its own).
SENDING = "sending"


class PaymentError(ValueError):
    """A payment that cannot be started or changed; ``code`` is stable, the message is for people."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


# -- the tenant's providers -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TenantPayments:
    """What a tenant's payment module says: the online provider (None for offline only) with its options, and
    the offline methods offered."""

    online: str | None
    online_options: dict
    offline_options: dict


def split_options(provider: str, options: dict) -> TenantPayments:
    """The module's settings, checked: raises ``ProviderLoadError`` naming what is wrong."""
    options = dict(options or {})
    offline_cls = provider_class(OFFLINE)
    if provider == OFFLINE:
        return TenantPayments(None, {}, check_options(offline_cls, options))
    extras = {name: options.pop(name) for name in OFFLINE_EXTRAS if name in options}
    online = check_options(provider_class(provider), options)
    offline_methods = extras.get("offline_methods", [])
    offline = check_options(offline_cls, {"methods": offline_methods, "bank_account": extras.get("bank_account", "")}) \
        if offline_methods else {"methods": []}
    return TenantPayments(provider, online, offline)


def choice_problem(provider: str, options: dict) -> str | None:
    """Why a tenant cannot choose this provider with these settings (manifests check it), or None."""
    try:
        split_options(provider, options)
    except ProviderLoadError as error:
        return str(error)
    # In production a provider without the platform's keys cannot take a payment: refuse to choose it.
    settings = current_app.config["MARKETPLACE"]
    if settings["ENV"] == "production" and not provider_class(provider).configured(settings):
        return f"payment provider {provider!r} is not configured on this platform (its keys are not set)"
    return None


def tenant_payments(tenant: Tenant) -> TenantPayments:
    group = module_settings["payment"]
    return split_options(group.get(tenant, "provider"), group.get(tenant, "options"))


def provider_for(tenant: Tenant, name: str) -> PaymentProvider:
    """The tenant's provider of that name, with the tenant's options (one instance per app and options)."""
    config = tenant_payments(tenant)
    if name == OFFLINE:
        options = config.offline_options
    elif name == config.online:
        options = config.online_options
    else:
        raise PaymentError(_("本市场不支持这种付款方式。"), "unknown_provider")
    cls = provider_class(name)
    instances = current_app.extensions.setdefault("payment_providers", {})
    key = (name, repr(sorted(options.items())))
    if key not in instances:
        instances[key] = cls(current_app.config["MARKETPLACE"], options)
    return instances[key]


def method_label(provider: str, method: str) -> str:
    """How a way to pay reads on the checkout page and the receipt."""
    try:
        return str(provider_class(provider).method_labels.get(method, method))
    except ProviderLoadError:
        return method


def payment_choices(tenant: Tenant) -> list[Choice]:
    """Every way to pay that checkout offers in this tenant, online ones first."""
    config = tenant_payments(tenant)
    choices = []
    # A provider the platform has no keys for (a development machine) is not offered; the offline ways still are.
    if config.online and provider_class(config.online).configured(current_app.config["MARKETPLACE"]):
        choices += [Choice(config.online, method, method_label(config.online, method))
                    for method in config.online_options.get("methods", [])]
    choices += [Choice(OFFLINE, method, method_label(OFFLINE, method))
                for method in config.offline_options.get("methods", [])]
    return choices


# -- collecting -----------------------------------------------------------------------------------------------------

def create_payment(group: OrderGroup, choice: Choice) -> Payment:
    """The payment row for a group and a way to pay; flushes, the caller commits before ``start_payment``."""
    if group.paid_at is not None:
        raise PaymentError(_("这笔订单已经付过款了。"), "already_paid")
    # A buyer may switch ways (the card failed, they will pay at the stall): refunds and the merchants'
    # confirmation follow the way of the latest attempt. The hold deadline stays what it was.
    group.payment_provider = choice.provider
    payment = Payment(tenant_id=group.tenant_id, group_id=group.id, provider=choice.provider, method=choice.method,
                      amount=group.total, currency=group.currency, status=PaymentStatus.pending)
    db.session.add(payment)
    db.session.flush()
    return payment


def start_payment(tenant: Tenant, payment: Payment, *, return_url: str = "", capture: str = "automatic") -> ProviderAction:
    """Ask the provider to collect a committed payment; commits what it answered.

    Raises ``ProviderUnavailable`` (after recording the failure) when the provider cannot be reached.
    """
    provider = provider_for(tenant, payment.provider)
    request = PaymentRequest(payment_id=payment.id, tenant=tenant.slug, reference=payment.group.number,
                             amount=payment.amount, currency=payment.currency, method=payment.method,
                             capture=capture, return_url=return_url)
    db.session.commit()  # nothing of ours is held open while the provider is asked
    try:
        action = provider.create(request)
    except (ProviderUnavailable, ProviderError) as error:
        db.session.rollback()
        _record_failure(payment.id, str(error))
        raise
    fresh = db.session.get(Payment, payment.id)
    fresh.reference = action.reference
    if action.kind == "client_secret" and fresh.status == PaymentStatus.pending:
        fresh.status = PaymentStatus.requires_action
    db.session.commit()
    return action


def _record_failure(payment_id: int, reason: str) -> None:
    payment = db.session.get(Payment, payment_id)
    if payment is not None and payment.status in (PaymentStatus.pending, PaymentStatus.requires_action):
        payment.status = PaymentStatus.failed
        payment.problem = reason[:1000]
        db.session.commit()


def refresh_payment(tenant: Tenant, payment: Payment) -> str:
    """Ask the provider how the payment stands (the buyer came back from a redirect) and apply it."""
    if not payment.reference or payment.provider == OFFLINE:
        return "nothing_to_ask"
    result = provider_for(tenant, payment.provider).retrieve(payment.reference)
    # A GET (the buyer's return) reads first; on SQLite that read transaction cannot turn into a write while a
    # webhook writes ("database is locked"): end it, and begin the write as one.
    db.session.commit()
    with writing():
        outcome = apply_result(payment, result)
        db.session.commit()
    return outcome


def apply_result(payment: Payment, result: ProviderResult) -> str:
    """Take the provider's word for a payment: the one place a payment's status changes. Flushes.

    Returns what happened: "applied", "unchanged" (nothing new, or a step back that is ignored), or
    "mismatch" (the provider's amount, currency or reference is not ours: recorded, nothing paid).
    """
    group = db.session.scalar(select(OrderGroup).where(OrderGroup.id == payment.group_id).with_for_update()
                              .execution_options(populate_existing=True))
    payment = db.session.scalar(select(Payment).where(Payment.id == payment.id)
                                .execution_options(populate_existing=True))
    if (payment.reference and result.reference and result.reference != payment.reference) \
            or result.amount != payment.amount or result.currency.upper() != payment.currency.upper():
        payment.problem = _("支付平台报告的金额或币种与订单不符：%(amount)d %(currency)s（应为 %(expected)d %(ours)s）。",
                            amount=result.amount, currency=result.currency.upper(), expected=payment.amount,
                            ours=payment.currency)
        db.session.flush()
        log.warning("payment %s: provider reports %s %s, expected %s %s", payment.id, result.amount,
                    result.currency, payment.amount, payment.currency)
        return "mismatch"
    payment.amount_captured = max(payment.amount_captured, min(result.amount_captured, payment.amount))
    _settle_refunds(payment, result.refunds)
    if result.status == payment.status or RANK[result.status] <= RANK[payment.status]:
        db.session.flush()
        return "unchanged"
    was_paid = payment.status in PAID
    payment.status = result.status
    if result.status == PaymentStatus.failed:
        payment.problem = (result.failure or _("付款未成功。"))[:1000]
    if result.status in PAID and not was_paid:  # authorised then captured: the orders were paid at the first
        payment.problem = ""
        payment.succeeded_at = utcnow()
        _group_paid(group, payment)
    db.session.flush()
    return "applied"


def _group_paid(group: OrderGroup, payment: Payment) -> None:
    """Money for the group arrived: its unpaid orders become paid. Orders cancelled meanwhile (the hold ran
    out first) get their share back; a second payment for a group already paid is given back whole."""
    if group.paid_at is not None or _another_succeeded(payment):
        payment.problem = _("该订单已由另一笔付款付清，本笔将全额退回。")
        if payment.status == PaymentStatus.authorized:
            return  # only held on the card: the hold is released (``capture_if_due``), nothing to pay back
        for order in group.orders:
            _give_back(order, payment, order.total, _("重复付款，全额退回"))
        return
    note = _("在线付款成功（%(provider)s）", provider=payment.provider)
    for order in group.orders:
        if order.status == OrderStatus.pending_payment:
            orders.transition(order, OrderStatus.paid, note=note)
        elif order.status == OrderStatus.cancelled and order.refunded == 0:
            _give_back(order, payment, order.total, _("付款到账时订单已取消，全额退回"))
    group.payment_provider = payment.provider
    group.paid_at = group.paid_at or utcnow()


def _another_succeeded(payment: Payment) -> bool:
    return db.session.scalar(select(Payment.id).where(
        Payment.group_id == payment.group_id, Payment.id != payment.id,
        Payment.status.in_(PAID)).limit(1)) is not None


def _give_back(order: Order, payment: Payment, amount: int, note: str) -> None:
    """A refund of money that no order keeps (a duplicate payment, an order cancelled before it was paid): it
    is recorded against the order but does not count as the order's own refund."""
    if amount > 0:
        db.session.add(Refund(tenant_id=order.tenant_id, order_id=order.id, amount=amount, currency=payment.currency,
                              provider=payment.provider,
                              status=RefundStatus.pending, note=note, refunded_at=utcnow(), payment_id=payment.id))


def offline_group_paid(group: OrderGroup) -> None:
    """The merchants confirmed every order of an offline group: its offline payment succeeded. Flushes.

    The money they took is recorded even when the group has no attempt waiting (the checkout's process died
    between placing the orders and recording the payment, and the buyer never came back to it): paid at the
    counter, for the group's total."""
    payment = db.session.scalar(select(Payment).where(Payment.group_id == group.id, Payment.provider == OFFLINE,
                                                      Payment.status == PaymentStatus.pending)
                                .order_by(Payment.id.desc()).limit(1))
    if payment is None:
        payment = Payment(tenant_id=group.tenant_id, group_id=group.id, provider=OFFLINE, method="pay_at_stall",
                          amount=group.total, currency=group.currency)
        db.session.add(payment)
    payment.status = PaymentStatus.succeeded
    payment.amount_captured = payment.amount
    payment.succeeded_at = utcnow()
    db.session.flush()


def confirm_bank_transfer(payment: Payment, *, actor_id: int) -> int:
    """The operator saw the buyer's bank transfer (quoting the group number) arrive in the market's account:
    every order of the group still waiting is paid, and so the payment. Returns how many orders were paid.
    Raises ``PaymentError`` for anything but a pending offline bank transfer. Flushes; the caller commits."""
    from marketplace.orders.handling import confirm_offline_payment

    group = db.session.scalar(select(OrderGroup).where(OrderGroup.id == payment.group_id).with_for_update()
                              .execution_options(populate_existing=True))
    payment = db.session.scalar(select(Payment).where(Payment.id == payment.id)
                                .execution_options(populate_existing=True))
    if payment.provider != OFFLINE or payment.method != "bank_transfer" or payment.status != PaymentStatus.pending:
        raise PaymentError(_("只有待确认的银行转账才能由运营方确认到账。"), "not_a_pending_transfer")
    waiting = [order for order in group.orders if order.status == OrderStatus.pending_payment]
    if not waiting:
        raise PaymentError(_("订单已取消或无需再付款。"), "nothing_to_pay")
    for order in waiting:
        confirm_offline_payment(order, actor_id=actor_id,
                                note=_("运营方确认已收到银行转账（附言 %(code)s）", code=group.number))
    return len(waiting)


# -- notifications --------------------------------------------------------------------------------------------------

def handle_notification(provider_name: str, body: bytes, headers) -> str:
    """Verify and apply one provider notification, once. Raises ``NotificationRefused`` for one that does not
    verify. Returns the outcome ("applied", "unchanged", "duplicate", "mismatch", "unknown_payment",
    "ignored"); commits.

    The provider is the platform's (its keys are the platform's): the tenant is found from the payment.
    """
    cls = provider_class(provider_name)
    if not cls.capabilities.notifications:
        raise NotificationRefused(f"{provider_name} sends no notifications")
    provider = cls(current_app.config["MARKETPLACE"], {})
    result = provider.parse_notification(body, headers)
    if result is None or not result.event_id:
        return "ignored"
    with all_tenants():  # whose it is, we learn from the payment it names
        record = PaymentEvent(provider=provider_name, event_id=result.event_id, event_type=result.event_type)
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except IntegrityError:  # the unique (provider, event_id): processed before (or right now, elsewhere)
            db.session.rollback()
            return "duplicate"
        payment = _payment_for(provider_name, result)
        if payment is None:
            record.outcome = "unknown_payment"
            db.session.commit()
            return "unknown_payment"
        record.tenant_id, record.payment_id = payment.tenant_id, payment.id
        tenant = db.session.get(Tenant, payment.tenant_id)
    with tenant_scope(tenant):
        outcome = apply_result(payment, result)
        record.outcome = "" if outcome in ("applied", "unchanged") else outcome
        db.session.commit()
    return outcome


def _payment_for(provider_name: str, result: ProviderResult) -> Payment | None:
    if result.payment_id is not None:
        payment = db.session.get(Payment, result.payment_id)
        if payment is not None and payment.provider == provider_name \
                and (not payment.reference or payment.reference == result.reference):
            return payment
    return db.session.scalar(select(Payment).where(Payment.provider == provider_name,
                                                   Payment.reference == result.reference))


# -- refunds --------------------------------------------------------------------------------------------------------

def moves_money(provider: str) -> bool:
    """Whether the provider pays refunds back itself (else the merchant did, by hand, before recording it)."""
    return provider != OFFLINE


def send_refund(refund_id: int) -> str:
    """Ask the provider to pay a pending refund back; commits. Returns its status afterwards.

    A provider that cannot be reached leaves it pending (the job tries again, with the same idempotency key);
    one that refuses marks it failed and makes the amount refundable again. A refund is asked for once: it is
    marked ``SENDING`` before the call (the job and the request that made it cannot both send it), and once the
    provider has its own reference only the provider's word (``apply_result``) settles it.
    """
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
    if refund is None or refund.status != RefundStatus.pending:
        return refund.status if refund is not None else "missing"
    if refund.reference not in ("", SENDING):
        return refund.status  # the provider has it: its notification will say how it ended
    payment = db.session.get(Payment, refund.payment_id) if refund.payment_id else _succeeded_payment(refund.order)
    if payment is None or not payment.reference:
        return _refund_failed(refund, _("找不到这笔退款对应的在线付款。"))
    if payment.status == PaymentStatus.authorized:
        # Held on the card, not yet taken: nothing to pay back — the capture takes only what orders keep.
        refund.status, refund.reference, refund.refunded_at = RefundStatus.succeeded, "not-captured", utcnow()
        db.session.commit()
        return refund.status
    tenant = db.session.get(Tenant, refund.tenant_id)
    provider = provider_for(tenant, refund.provider)
    if refund.currency != payment.currency:
        return _refund_failed(refund, _("退款币种与付款不符。"))
    request = RefundRequest(refund_id=refund.id, payment_reference=payment.reference, amount=refund.amount,
                            currency=payment.currency, reason=refund.note[:200])
    refund.reference = SENDING
    db.session.commit()
    try:
        result = provider.refund(request)
    except ProviderUnavailable as error:  # stays SENDING: the job sends it again, with the same idempotency key
        log.warning("refund %s not sent, will retry: %s", refund_id, error)
        return RefundStatus.pending
    except ProviderError as error:
        refund = db.session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
        return _refund_failed(refund, str(error))
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
    refund.reference = result.reference[:100]
    if result.status == "failed":
        return _refund_failed(refund, result.failure or _("支付平台拒绝了这笔退款。"))
    refund.status = RefundStatus.succeeded if result.status == "succeeded" else RefundStatus.pending
    refund.refunded_at = utcnow()
    db.session.commit()
    return refund.status


def _refund_failed(refund: Refund, reason: str, *, commit: bool = True) -> str:
    refund.status = RefundStatus.failed
    refund.note = (refund.note + "\n" + reason).strip()[:1000]
    if refund.payment_id is None:  # the order's own refund: its amount may be refunded again
        db.session.execute(update(Order).where(Order.id == refund.order_id, Order.refunded >= refund.amount)
                           .values(refunded=Order.refunded - refund.amount).execution_options(synchronize_session=False))
    if commit:
        db.session.commit()
    return RefundStatus.failed


def _settle_refunds(payment: Payment, results) -> None:
    """The provider's word on refunds it was asked for (in a notification): pending ones end as it says."""
    by_reference = {r.reference: r for r in results if r.reference}
    if not by_reference:
        return
    for refund in db.session.scalars(select(Refund).where(Refund.provider == payment.provider,
                                                          Refund.reference.in_(list(by_reference)),
                                                          Refund.status == RefundStatus.pending)):
        told = by_reference[refund.reference]
        if told.status == "succeeded":
            refund.status, refund.refunded_at = RefundStatus.succeeded, utcnow()  # counted on the day it went back
        elif told.status == "failed":
            _refund_failed(refund, told.failure or _("支付平台拒绝了这笔退款。"), commit=False)


def _succeeded_payment(order: Order) -> Payment | None:
    return db.session.scalar(select(Payment).where(
        Payment.group_id == order.group_id, Payment.status.in_(PAID))
        .order_by(Payment.id).limit(1))


def send_pending_refunds(older_than: datetime | None = None) -> dict[str, int]:
    """Send every pending refund of the current tenant through its provider (a job, and after each request
    that made one). Returns a count per resulting status."""
    # Not yet with the provider, or sent and not answered (a crash, the provider down): the same key again.
    query = select(Refund.id).where(Refund.status == RefundStatus.pending, Refund.provider != OFFLINE,
                                    Refund.reference.in_(["", SENDING]))
    if older_than is not None:
        query = query.where(Refund.created_at < older_than)
    counts: dict[str, int] = {}
    for refund_id in list(db.session.scalars(query.order_by(Refund.id))):
        status = send_refund(refund_id)
        counts[status] = counts.get(status, 0) + 1
    return counts


# -- capture on acceptance ------------------------------------------------------------------------------------------

def capture_if_due(group_id: int) -> str:
    """For a payment authorised now and captured on acceptance: once no order of the group waits for its
    merchant, take what the accepted orders cost (or release the hold when every order was refused). Commits.
    Returns "captured", "released", "waiting" or "nothing"."""
    held = list(db.session.scalars(select(Payment).where(Payment.group_id == group_id,
                                                         Payment.status == PaymentStatus.authorized)
                                   .order_by(Payment.succeeded_at, Payment.id)))
    if not held:
        return "nothing"
    outcome = "released"
    # The group is paid by the first attempt that got the money; a second hold (another tab, an old pay page)
    # is released at once, whatever the merchants answer.
    paying = held[0] if not held[0].problem else None
    for duplicate in held[1:] if paying is not None else held:
        _release(duplicate)
    if paying is not None:
        statuses = list(db.session.scalars(select(Order.status).where(Order.group_id == group_id)))
        if OrderStatus.paid in statuses:
            return "waiting"
        # What the orders keep: cancelled ones nothing, the others their total less what was refunded meanwhile
        # (those refunds were "paid back" by not taking the money: see ``send_refund``).
        keep = sum(total - refunded for total, refunded in db.session.execute(
            select(Order.total, Order.refunded).where(Order.group_id == group_id,
                                                      Order.status != OrderStatus.cancelled)))
        if keep > 0:
            provider = provider_for(db.session.get(Tenant, paying.tenant_id), paying.provider)
            key = f"payment-{paying.id}-capture"
            db.session.commit()
            apply_result(paying, provider.capture(paying.reference, keep, key=key))
            db.session.commit()
            outcome = "captured"
        else:
            _release(paying)
    return outcome


def _release(payment: Payment) -> None:
    """Let go of a hold on the buyer's card: nothing is taken. Commits."""
    provider = provider_for(db.session.get(Tenant, payment.tenant_id), payment.provider)
    reference, key = payment.reference, f"payment-{payment.id}-cancel"
    db.session.commit()
    apply_result(payment, provider.cancel(reference, key=key))
    db.session.commit()


@event.listens_for(Session, "after_flush")
def _note_groups_to_capture(session, _flush_context) -> None:
    """A merchant answered a paid order (accepted or refused it): its group may now be due for capture."""
    from marketplace.orders.models import OrderEvent

    answered = {(obj.tenant_id, obj.order_id) for obj in session.new
                if isinstance(obj, OrderEvent) and obj.from_status == OrderStatus.paid}
    if answered:
        session.info.setdefault("orders_answered", set()).update(answered)


# Refunds made in a request are sent once its transaction has committed, before the response goes out.
@event.listens_for(Session, "after_flush")
def _note_new_refunds(session, _flush_context) -> None:
    new = [obj for obj in session.new if isinstance(obj, Refund) and obj.status == RefundStatus.pending
           and moves_money(obj.provider)]
    if new:
        session.info.setdefault("refunds_to_send", []).extend(new)


@event.listens_for(Session, "after_commit")
def _queue_provider_calls(session) -> None:
    refunds = session.info.pop("refunds_to_send", [])
    answered = session.info.pop("orders_answered", set())
    if has_request_context():
        work = g.setdefault("payment_work", [])
        work += [("refund", r.tenant_id, r.id) for r in refunds]
        work += [("capture", tenant_id, order_id) for tenant_id, order_id in sorted(answered)]


@event.listens_for(Session, "after_rollback")
def _forget_provider_calls(session) -> None:
    session.info.pop("refunds_to_send", None)
    session.info.pop("orders_answered", None)


def call_providers_after_request(response):
    """``after_request``: make the provider calls this request's commits asked for — refunds to send, holds to
    capture — outside its transactions. A failure only logs: the jobs (``flask payments send-refunds``,
    ``flask payments capture``) try again with the same idempotency keys."""
    for kind, tenant_id, object_id in g.pop("payment_work", []):
        try:
            with tenant_scope(db.session.get(Tenant, tenant_id)):
                if kind == "refund":
                    send_refund(object_id)
                else:
                    capture_if_due(db.session.get(Order, object_id).group_id)
        except Exception:  # noqa: BLE001 - the response stands; the job does it later
            db.session.rollback()
            log.exception("payment %s for %s could not be done now", kind, object_id)
    return response


def capture_due_payments() -> dict[str, int]:
    """Capture (or release) every authorised payment of the current tenant whose orders all have their
    merchant's answer (a job, for what a request could not do at once). Returns a count per outcome."""
    counts: dict[str, int] = {}
    for group_id in list(db.session.scalars(select(Payment.group_id).where(Payment.status == PaymentStatus.authorized))):
        try:
            outcome = capture_if_due(group_id)
        except ProviderUnavailable:
            db.session.rollback()
            outcome = "unreachable"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
