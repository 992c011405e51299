"""Telling the buyer and the merchant what happened to an order: by mail and by SMS, after the commit.

``order_placed`` and ``order_moved`` are the hooks (called by ``orders.services``). They work out, inside the
transaction, who hears what — addresses and finished texts, in each recipient's language — and note it in
``session.info``. Nothing is sent then: the notices wait for the transaction.

* When it commits, each notice is sent: queued as a ``deliver`` job when Redis is configured, else at once
  (sending reads nothing from the database, so it may run inside ``after_commit``).
* When it rolls back (the whole transaction, or the savepoint the change was made in), its notices are
  dropped: nobody hears of an order that does not exist or a move that did not happen.

A sender that fails is logged; the order stands, and the flow that changed it never sees the error.

Who hears what:

===================  ==============================================  ==========================================
event                buyer (account email and/or mobile)             merchant (shop phone, contact email)
===================  ==============================================  ==========================================
placed               group number, total, payment deadline           new order, its lines and total
paid                 payment received (once per group)               paid, please accept
accepted             the shop accepted                               —
ready for pickup     where to pick it up                             —
cancelled            cancelled, with the reason                      when the buyer cancelled, with the reason
completed            completed                                       —
refund made          amount refunded                                 —
===================  ==============================================  ==========================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.accounts.services import normalise_mobile
from marketplace.core.config import LOCALES
from marketplace.core.i18n import format_money
from marketplace.core.mail import send_mail
from marketplace.core.sms import send_sms
from marketplace.core.text import masked_contact
from marketplace.extensions import db
from marketplace.media.jobs import enqueue, log_queue_failure
from marketplace.orders.models import Order, OrderGroup, OrderStatus
from marketplace.shops.models import STREET_SIDES, Shop
from marketplace.tenancy.models import Tenant

log = logging.getLogger(__name__)

_PENDING = "order_notices"
#: Longest reason quoted in an SMS, in characters; the mail carries all of it.
SMS_REASON_CHARS = 60
S = OrderStatus


@dataclass(frozen=True)
class Notice:
    """One message to one address: ``channel`` is "mail" (with a subject) or "sms" (body only)."""

    channel: str
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class _Recipient:
    email: str | None
    mobile: str | None
    locale: str
    name: str = ""


# -- hooks ------------------------------------------------------------------------------------------------------

def order_placed(tenant: Tenant, group: OrderGroup) -> None:
    """Hook: a checkout became ``group`` (inside the transaction that wrote it; sent once it commits).

    The buyer hears of the group (number, total, payment deadline); each shop hears of its own order.
    """
    prepare_safely(_placed, tenant, group)


def order_moved(order: Order, from_status: str, to_status: str, *, actor_id: int | None = None,
                note: str = "") -> None:
    """Hook: ``order`` moved from ``from_status`` to ``to_status`` (inside the transaction; sent once it commits).

    ``note`` is the reason given with the move; a cancellation quotes it to the buyer.
    """
    prepare_safely(_moved, order, from_status, to_status, actor_id, note)


def prepare_safely(func, *args) -> None:
    """Work out notices with ``func(*args)`` inside the caller's transaction. A notice is a courtesy: its own
    failure must never stop an order, a complaint or a notice from moving. A database error is not its own: the
    transaction is lost with it (PostgreSQL aborts it, a cut connection is gone), so it is raised for the caller to
    roll back and answer (503); swallowed, it would fail the caller's commit instead, with a bare 500."""
    try:
        func(*args)
    except SQLAlchemyError:
        raise
    except Exception:
        log.exception("could not prepare the notices (%s.%s)", func.__module__, func.__name__)


# -- who hears what -----------------------------------------------------------------------------------------------

def _placed(tenant: Tenant, group: OrderGroup) -> None:
    buyer = _buyer(group.buyer_id)
    sign = _signature(tenant)
    with force_locale(buyer.locale):
        total = format_money(group.total, group.currency, buyer.locale)
        deadline = _local_time(group.payment_deadline, tenant)
        text = _("订单%(number)s已提交，应付%(total)s，请于%(deadline)s前付款，逾期自动取消。",
                 number=group.number, total=total, deadline=deadline)
        shops = [(order, _shop(order)) for order in group.orders]
        details = "\n".join(f"{order.number}  {shop.name(buyer.locale)}  "
                            f"{format_money(order.total, group.currency, buyer.locale)}" for order, shop in shops)
        _to(buyer, _("订单已提交：%(number)s", number=group.number), f"{text}\n\n{details}", text, sign,
            key=("placed", group.id))
    for order, shop in shops:
        merchant = _merchant(shop)
        with force_locale(merchant.locale):
            total = format_money(order.total, group.currency, merchant.locale)
            text = _("%(shop)s收到新订单%(number)s，金额%(total)s，待买家付款。", shop=shop.name(merchant.locale),
                     number=order.number, total=total)
            lines = "\n".join(f"{line.title}  × {line.quantity}" for line in order.lines)
            _to(merchant, _("新订单：%(number)s", number=order.number), f"{text}\n\n{lines}", text, sign,
                key=("placed", order.id))


def _moved(order: Order, from_status: str, to: str, actor_id: int | None, note: str) -> None:
    tenant = db.session.get(Tenant, order.tenant_id)
    sign = _signature(tenant)
    group = order.group
    shop = _shop(order)
    buyer = _buyer(order.buyer_id)
    currency = group.currency
    with force_locale(buyer.locale):
        message = None
        if to == S.paid:
            # One checkout is paid once: its orders move together, and the buyer hears of it once.
            text = _("订单%(number)s已付款%(total)s，商家接单后会通知您。", number=group.number,
                     total=format_money(group.total, currency, buyer.locale))
            message = (_("已收到付款：%(number)s", number=group.number), text, ("paid", group.id))
        elif to == S.accepted:
            text = _("%(shop)s已接单，订单%(number)s正在备货。", shop=shop.name(buyer.locale), number=order.number)
            message = (_("商家已接单：%(number)s", number=order.number), text, None)
        elif to == S.ready_for_pickup:
            place, code = _collection(tenant, order, shop, buyer.locale)
            text = _("订单%(number)s已备好，请到%(place)s凭取货码%(code)s取货。", number=order.number, place=place,
                     code=code) if code else _("订单%(number)s已备好，请到%(place)s取货。", number=order.number,
                                               place=place)
            message = (_("可以取货了：%(number)s", number=order.number), text, None)
        elif to == S.cancelled:
            text = _cancelled_text(order, note)
            message = (_("订单已取消：%(number)s", number=order.number), text, None)
        elif to == S.refunded or (to == S.completed and from_status == S.refunding):
            text = _("订单%(number)s已退款%(amount)s，款项将原路退回。", number=order.number,
                     amount=format_money(order.refunded, currency, buyer.locale))
            message = (_("退款已办理：%(number)s", number=order.number), text, None)
        elif to == S.completed:
            text = _("订单%(number)s已完成，感谢您的惠顾。", number=order.number)
            message = (_("订单已完成：%(number)s", number=order.number), text, None)
        if message is not None:
            subject, text, key = message
            body = text if to != S.cancelled else _cancelled_text(order, note, limit=None)
            _to(buyer, subject, body, text, sign, key=key)
    merchant = _merchant(shop)
    with force_locale(merchant.locale):
        if to == S.paid:
            text = _("订单%(number)s买家已付款%(total)s，请尽快接单。", number=order.number,
                     total=format_money(order.total, currency, merchant.locale))
            _to(merchant, _("订单已付款：%(number)s", number=order.number), text, text, sign)
        elif to == S.cancelled and actor_id is not None and actor_id == order.buyer_id:
            text = _cancelled_text(order, note)
            _to(merchant, _("订单已取消：%(number)s", number=order.number), _cancelled_text(order, note, limit=None),
                text, sign)


def _cancelled_text(order: Order, note: str, limit: int | None = SMS_REASON_CHARS) -> str:
    reason = " ".join((note or "").split())
    if limit is not None and len(reason) > limit:
        reason = reason[:limit - 1] + "…"
    if not reason:
        return _("订单%(number)s已取消。", number=order.number)
    return _("订单%(number)s已取消。原因：%(reason)s", number=order.number, reason=reason)


def _collection(tenant: Tenant, order: Order, shop: Shop, locale: str) -> tuple[str, str]:
    """Where an order is collected (the shop, or the tenant's shared counter) and its collection code."""
    from marketplace.delivery.models import Shipment  # the delivery package builds on orders
    from marketplace.delivery.pickup import code_for
    from marketplace.delivery.services import collection_place

    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    return collection_place(tenant, shipment, shop, locale), (code_for(shipment) or "") if shipment is not None else ""


def pickup_reminder(tenant: Tenant, order: Order, code: str) -> None:
    """The goods still wait at the pickup point: remind the buyer once (``delivery.pickup``)."""
    prepare_safely(_reminder, tenant, order, code)


def _reminder(tenant: Tenant, order: Order, code: str) -> None:
    buyer = _buyer(order.buyer_id)
    with force_locale(buyer.locale):
        place, code = _collection(tenant, order, _shop(order), buyer.locale)
        text = _("提醒：订单%(number)s还在%(place)s等您，取货码%(code)s，逾期未取将退回。", number=order.number,
                 place=place, code=code)
        _to(buyer, _("别忘了取货：%(number)s", number=order.number), text, text, _signature(tenant),
            key=("pickup-reminder", order.id))


def pickup_place(tenant: Tenant, shop: Shop, locale: str | None = None) -> str:
    """Where to collect an order from ``shop``: its name, then its stall or street number, and the address."""
    if shop.stall:
        where = _("%(building)s 座 %(floor)s 层 · %(zone)s 区 · %(stall)s 号摊位", building=shop.building,
                  floor=shop.floor, zone=shop.zone, stall=shop.stall)
    elif shop.street_number:
        side = STREET_SIDES.get(shop.street_side, "")
        where = _("%(number)s 号（%(side)s）", number=shop.street_number, side=side)
    else:
        where = ""
    address = tenant.address_en if locale and str(locale).startswith("en") and tenant.address_en else tenant.address_zh
    return " ".join(part for part in (shop.name(locale), where, address) if part)


# -- addresses ----------------------------------------------------------------------------------------------------

def _default_locale() -> str:
    return current_app.config["MARKETPLACE"]["DEFAULT_LOCALE"]


def _buyer(user_id: int) -> _Recipient:
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return _Recipient(None, None, _default_locale())
    locale = user.locale if user.locale in LOCALES else _default_locale()
    return _Recipient(user.email or None, user.mobile or None, locale, user.display_name)


def _merchant(shop: Shop) -> _Recipient:
    merchant = shop.merchant
    # SMS goes to a mobile: the shop's phone when it is one (it may be a landline), else the merchant's contact.
    mobile = normalise_mobile(shop.phone or "") or normalise_mobile(merchant.contact_phone or "")
    return _Recipient((merchant.contact_email or "").strip() or None, mobile, _default_locale())


def _shop(order: Order) -> Shop:
    return db.session.get(Shop, order.shop_id)


def _signature(tenant: Tenant | None) -> str:
    return tenant.name_zh if tenant is not None else ""


def _local_time(moment: datetime, tenant: Tenant) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(tenant.timezone)
    except (ValueError, OSError):
        zone = ZoneInfo(current_app.config["MARKETPLACE"]["DEFAULT_TIMEZONE"])
    return moment.astimezone(zone).strftime("%m-%d %H:%M")


def _to(recipient: _Recipient, subject: str, body: str, sms_text: str, sign: str, *, key=None) -> None:
    if recipient.email:
        mail_body = f"{body}\n\n{sign}\n" if sign else f"{body}\n"
        _note(Notice("mail", recipient.email, subject, mail_body), key)
    if recipient.mobile:
        _note(Notice("sms", recipient.mobile, "", f"【{sign}】{sms_text}" if sign else sms_text), key)


# -- after the commit -------------------------------------------------------------------------------------------

def _note(notice: Notice, key=None) -> None:
    """Keep ``notice`` until the transaction ends; the same ``key`` to the same address is sent once."""
    install()
    session = db.session()
    where = session.get_nested_transaction() or session.get_transaction()
    pending = session.info.setdefault(_PENDING, [])
    if key is not None and any(k == key and n.channel == notice.channel and n.to == notice.to
                               for _t, k, n in pending):
        return
    pending.append((where, key, notice))


def _chain(transaction):
    while transaction is not None:
        yield transaction
        transaction = transaction.parent


def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a savepoint was released: the transaction goes on
        return
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    send([notice for _where, _key, notice in pending])


def _after_soft_rollback(session: Session, previous) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if previous.parent is None:
        session.info.pop(_PENDING, None)
        return
    # A savepoint rolled back: drop what was noted inside it (or inside savepoints within it).
    pending[:] = [entry for entry in pending if not any(t is previous for t in _chain(entry[0]))]


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # closed without a commit: nothing of it happened
        session.info.pop(_PENDING, None)


def install() -> None:
    """Listen to every ORM session of the process (once). Called on first use; ``create_app`` may call it too."""
    if event.contains(Session, "after_commit", _after_commit):
        return
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)
    event.listen(Session, "after_transaction_end", _after_transaction_end)


def send(notices: list[Notice]) -> None:
    """Send committed notices: on the RQ queue when Redis is configured, else now. Never raises."""
    queued = bool(current_app.config["MARKETPLACE"].get("REDIS_URL"))
    for notice in notices:
        if queued:
            try:
                enqueue("marketplace.orders.notifications.deliver", notice.channel, notice.to, notice.subject,
                        notice.body)
                continue
            except Exception:  # Redis down: send it from here rather than lose it
                log_queue_failure(log, "could not queue an order notice; sending it in this process")
        try:
            deliver(notice.channel, notice.to, notice.subject, notice.body)
        except Exception:
            log.exception("could not send an order notice by %s to %s", notice.channel, masked_contact(notice.to))


def deliver(channel: str, to: str, subject: str, body: str) -> None:
    """Send one notice (a job: plain arguments only); raises what the sender raises."""
    if channel == "mail":
        send_mail(to, subject, body)
    elif channel == "sms":
        send_sms(to, body)
    else:
        raise ValueError(f"unknown notice channel {channel!r}")
