"""A resident closes their account (账户注销; ECL Art. 24, PIPL Art. 47).

Closing is allowed unless something is still running that the resident would lose by leaving: an order paid for
and not yet finished, an open complaint or an open return, an intellectual-property notice they filed whose
handling has not ended, or a role they hold for others (merchant owner, operator, platform admin). Unpaid orders
are simply cancelled.

What closing does, at once:

* the account row stays (orders, reviews and complaints point at it) but loses everything personal: name,
  e-mail, mobile and password hash are replaced; it cannot sign in and the login name is free for a new account;
  every session and remember-me cookie stops working because the password fingerprint changes;
* addresses, carts, open price and freight quotes, API tokens, staff roles and login attempts are deleted;
* reviews stay (they can never be deleted) and show "匿名买家" because the name is gone;
* comments on a market's draft rules keep their date (the consultation happened) but their words are replaced by
  a note that the author closed the account;
* orders are kept whole under legal hold: ECL Art. 31 wants transaction records kept three years from the
  completion of the transaction. Each order gets a ``HeldOrder`` row with the closure date, the day its hold
  ends and a copy of who bought (name and mobile, for the records that must name the buyer). ``flask accounts
  purge-held`` (run daily) then clears what still names the buyer — that copy, the shipment's address snapshot,
  the order note, the complaint's words and the return's reason — once that day has passed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, delete, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.accounts import services
from marketplace.accounts.addresses import Address
from marketplace.accounts.models import LoginAttempt, Role, RoleGrant, User
from marketplace.api.models import ApiToken, PersonalToken
from marketplace.catalog.models import Quote, QuoteStatus
from marketplace.core.db import UTCDateTime, utcnow
from marketplace.delivery.models import FreightQuote, FreightQuoteStatus, Shipment
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Cart, CartLine, Order, OrderEvent, OrderStatus
from marketplace.orders.returns import ReturnRequest, ReturnStatus
from marketplace.shops.applications import ShopApplication, ShopApplicationStatus
from marketplace.shops.models import Shop
from marketplace.tenancy.agreements import DocumentComment
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant, TenantScoped
from marketplace.trust.complaints import OPEN as OPEN_COMPLAINTS
from marketplace.trust.complaints import Complaint
from marketplace.trust.ip_notices import HOLDING as IP_MEASURE_HOLDS
from marketplace.trust.ip_notices import OPEN as OPEN_IP_NOTICES
from marketplace.trust.ip_notices import IpNotice, IpNoticeStatus

#: Where the anonymised account's e-mail points: ``.invalid`` is reserved (RFC 2606), so nobody can own it, sign
#: up with it or sign in with it, and the "email or mobile" rule of the users table still holds.
CLOSED_EMAIL_DOMAIN = "closed.invalid"
#: Transaction records are kept this many years after the transaction ends (ECL Art. 31).
HOLD_YEARS = 3
#: Paid for and not yet finished: the resident still expects goods or money.
IN_PROGRESS = (OrderStatus.paid, OrderStatus.accepted, OrderStatus.ready_for_pickup, OrderStatus.shipped,
               OrderStatus.delivered, OrderStatus.picked_up, OrderStatus.refunding)
#: Roles that others depend on: they are handed over before the account can go.
ROLES_THAT_BLOCK = (Role.platform_admin, Role.tenant_operator, Role.merchant_owner)


class AccountClosure(db.Model):
    """One closed account: when it was closed, how many orders went under legal hold, and when the last of their
    held personal data was cleared (None while some is still held).

    Platform-wide like the account itself; it holds no personal data."""

    __tablename__ = "account_closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    held_orders: Mapped[int] = mapped_column(default=0)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HeldOrder(TenantScoped, db.Model):
    """An order of a closed account kept under legal hold: the closure date marks it, ``hold_until`` says when the
    buyer's details in it are cleared, ``purged_at`` when that was done.

    The account loses its name and mobile at once, but records the law keeps (the order itself, a pesticide
    seller's sales ledger) must still say who bought: the hold keeps that copy, and the purge clears it."""

    __tablename__ = "held_orders"
    __table_args__ = (
        UniqueConstraint("order_id"),
        Index("ix_held_orders_purged_at_hold_until", "purged_at", "hold_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The order's last step (completed, cancelled, refunded) plus three years.
    hold_until: Mapped[datetime] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Who bought, as the account said when it closed; "" once purged.
    buyer_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    buyer_contact: Mapped[str] = mapped_column(String(254), default="", server_default="")


@dataclass(frozen=True)
class Blocker:
    """Something that has to finish (or be handed over) before the account can close."""

    kind: str  # "role", "order", "complaint", "return", "ip_notice"
    text: str


class ClosureRefused(services.AccountError):
    """Closing is not possible yet; ``blockers`` says why, one line each."""

    def __init__(self, blockers: list[Blocker]):
        super().__init__(_("账户暂时不能注销，请先处理以下事项。"), code="closure_blocked")
        self.blockers = blockers


def is_closed(user: User) -> bool:
    return db.session.scalar(select(AccountClosure.id).where(AccountClosure.user_id == user.id)) is not None


def three_years_after(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year + HOLD_YEARS)
    except ValueError:  # 29 February: the hold ends on 1 March
        return moment.replace(year=moment.year + HOLD_YEARS, month=3, day=1)


#: A notice is still running while it is open or its measure holds the product off sale.
_IP_NOTICE_RUNNING = tuple(dict.fromkeys((*OPEN_IP_NOTICES, *IP_MEASURE_HOLDS)))
#: Row limit per kind in the blocker list: enough to act on, never the whole history.
_SHOWN = 20


def blockers(user: User) -> list[Blocker]:
    """What keeps ``user`` from closing the account now; empty when nothing does."""
    found: list[Blocker] = []
    role_labels = Role.__labels__
    with all_tenants():  # the shops of this user's own grants, whichever tenant they are in
        roles = db.session.execute(
            select(RoleGrant.role, Tenant.name_zh, Shop.name_zh)
            .outerjoin(Tenant, Tenant.id == RoleGrant.tenant_id).outerjoin(Shop, Shop.id == RoleGrant.shop_id)
            .where(RoleGrant.user_id == user.id, RoleGrant.role.in_(ROLES_THAT_BLOCK)).order_by(RoleGrant.id)).all()
    for role, tenant_name, shop_name in roles:
        where = f"{tenant_name} {shop_name}" if shop_name else tenant_name or _("平台")
        found.append(Blocker("role", _("您是%(where)s的%(role)s：请先移交或请平台撤销该角色。",
                                   where=where, role=role_labels[role])))
    open_returns = (ReturnStatus.requested, ReturnStatus.approved, ReturnStatus.received)
    with all_tenants():  # this resident's rows in every tenant; the buyer filter is the guard here
        for number, status in db.session.execute(
                select(Order.number, Order.status).where(Order.buyer_id == user.id, Order.status.in_(IN_PROGRESS))
                .order_by(Order.id).limit(_SHOWN)):
            found.append(Blocker("order", _("订单 %(number)s（%(status)s）尚未完成。", number=number,
                                            status=OrderStatus.__labels__[status])))
        for (number,) in db.session.execute(
                select(Complaint.number).where(Complaint.buyer_id == user.id, Complaint.status.in_(OPEN_COMPLAINTS))
                .order_by(Complaint.id).limit(_SHOWN)):
            found.append(Blocker("complaint", _("投诉 %(number)s 尚在处理中。", number=number)))
        for (number,) in db.session.execute(
                select(Order.number).join(ReturnRequest, ReturnRequest.order_id == Order.id)
                .where(ReturnRequest.buyer_id == user.id, ReturnRequest.status.in_(open_returns))
                .order_by(ReturnRequest.id).limit(_SHOWN)):
            found.append(Blocker("return", _("订单 %(number)s 的退货尚在处理中。", number=number)))
        # The holder's contact details must stay reachable while the notice is handled or its measure stands.
        for number, status in db.session.execute(
                select(IpNotice.number, IpNotice.status)
                .where(IpNotice.holder_id == user.id, IpNotice.status.in_(_IP_NOTICE_RUNNING))
                .order_by(IpNotice.id).limit(_SHOWN)):
            found.append(Blocker("ip_notice", _("知识产权通知 %(number)s（%(status)s）尚未处理完毕。", number=number,
                                                status=IpNoticeStatus.__labels__[status])))
    return found


def close_account(user: User, password: str, *, now: datetime | None = None) -> AccountClosure:
    """Close ``user``'s account (see the module docstring). Raises ``AccountError`` for a wrong password and
    ``ClosureRefused`` while something blocks it. Flushes; the caller commits."""
    now = now or utcnow()
    if is_closed(user):
        raise services.AccountError(_("该账户已注销。"), code="already_closed")
    if not password or not services.verify_password(user, password):
        raise services.AccountError(_("密码不正确。"), field="password", code="wrong_password")
    found = blockers(user)
    if found:
        raise ClosureRefused(found)
    _cancel_unpaid_orders(user)
    held = _hold_orders(user, now)
    _delete_personal_rows(user)
    _scrub_comments(user)
    _anonymise(user)
    closure = AccountClosure(user_id=user.id, closed_at=now, held_orders=held)
    db.session.add(closure)
    db.session.flush()
    purge_held(now)  # orders finished more than three years ago are held no longer
    return closure


def _cancel_unpaid_orders(user: User) -> None:
    with all_tenants():
        unpaid = list(db.session.scalars(select(Order).where(
            Order.buyer_id == user.id, Order.status == OrderStatus.pending_payment)))
    tenants = {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_({o.tenant_id for o in unpaid})))}
    for order in unpaid:
        with tenant_scope(tenants[order.tenant_id]):  # cancelling puts the stock back in that tenant
            orders.transition(order, OrderStatus.cancelled, actor_id=user.id, note=_("买家注销账户，未付款订单自动取消"))


def _hold_orders(user: User, now: datetime) -> int:
    """Mark every order of ``user`` with the closure date and the end of its hold; returns how many."""
    with all_tenants():
        finished = db.session.execute(
            select(Order.id, Order.tenant_id, func.coalesce(func.max(OrderEvent.at), Order.updated_at))
            .outerjoin(OrderEvent, OrderEvent.order_id == Order.id)
            .where(Order.buyer_id == user.id).group_by(Order.id, Order.tenant_id, Order.updated_at)).all()
        for order_id, tenant_id, last_step in finished:
            db.session.add(HeldOrder(tenant_id=tenant_id, order_id=order_id, user_id=user.id, closed_at=now,
                                     hold_until=three_years_after(_aware(last_step)),
                                     buyer_name=user.display_name, buyer_contact=user.mobile or user.email or ""))
        db.session.flush()  # inside the opt-out: the rows belong to several tenants
    return len(finished)


def _aware(moment) -> datetime:
    """A timestamp from an aggregate comes back without the column type's conversion on some databases."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _delete_personal_rows(user: User) -> None:
    db.session.execute(delete(Address).where(Address.user_id == user.id))
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.execute(delete(PersonalToken).where(PersonalToken.user_id == user.id))
    db.session.execute(delete(RoleGrant).where(RoleGrant.user_id == user.id))  # only staff roles are left
    identifiers = [value for value in (user.email, user.mobile) if value]
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.identifier.in_(identifiers)))
    with all_tenants():
        carts = select(Cart.id).where(Cart.user_id == user.id).scalar_subquery()
        db.session.execute(delete(CartLine).where(CartLine.cart_id.in_(carts)))
        db.session.execute(delete(Cart).where(Cart.user_id == user.id))
        # A quote an order used is part of that order's record; the others were only conversations.
        db.session.execute(delete(Quote).where(Quote.buyer_id == user.id, Quote.status != QuoteStatus.ordered))
        db.session.execute(delete(FreightQuote).where(FreightQuote.buyer_id == user.id,
                                                      FreightQuote.status != FreightQuoteStatus.used))
        # Applications to open a shop: one that opened a shop stays as that shop's record, without the contact
        # details (the merchant keeps its own); the rest were only requests.
        db.session.execute(delete(ShopApplication).where(ShopApplication.applicant_id == user.id,
                                                         ShopApplication.status != ShopApplicationStatus.approved))
        db.session.execute(update(ShopApplication).where(ShopApplication.applicant_id == user.id)
                           .values(contact_name="", contact_phone="", note="")
                           .execution_options(synchronize_session=False))
        # The order's shipment keeps its own copy of the address, so a used freight quote needs none.
        db.session.execute(update(FreightQuote).where(FreightQuote.buyer_id == user.id)
                           .values(address={}, description="").execution_options(synchronize_session=False))
    db.session.expire(user, ["grants"])


def _scrub_comments(user: User) -> None:
    """Comments on draft rules lose their words; the row stays so the consultation's record still counts it."""
    with force_locale("zh_CN"):  # a stored record read by the market's operators: in the platform's language
        placeholder = _("（发表者已注销账户，意见内容已删除）")
    with all_tenants():  # comments in every market this resident commented on
        db.session.execute(update(DocumentComment).where(DocumentComment.user_id == user.id)
                           .values(body=placeholder).execution_options(synchronize_session=False))


def _anonymise(user: User) -> None:
    user.email = f"closed-{user.id}@{CLOSED_EMAIL_DOMAIN}"
    user.mobile = None
    user.display_name = ""  # pages that show a buyer fall back to "匿名买家"
    user.locale = None
    user.last_login_at = None
    user.active = False
    # Not an argon2 hash: nothing verifies against it, and the new fingerprint ends every session.
    user.password_hash = f"!closed:{secrets.token_hex(16)}"


def purge_held(now: datetime | None = None, *, batch: int = 500) -> int:
    """Clear the buyer's details from orders whose hold has ended; returns how many orders were cleared.

    Runs in batches so a large backlog never loads at once; the caller commits."""
    now = now or utcnow()
    cleared = 0
    with all_tenants():  # a platform-wide job: held orders of every tenant
        while True:
            due = db.session.execute(select(HeldOrder.id, HeldOrder.order_id, HeldOrder.user_id).where(
                HeldOrder.purged_at.is_(None), HeldOrder.hold_until <= now).order_by(HeldOrder.id).limit(batch)).all()
            if not due:
                break
            held_ids = [row.id for row in due]
            order_ids = [row.order_id for row in due]
            quiet = {"synchronize_session": False}
            db.session.execute(update(Shipment).where(Shipment.order_id.in_(order_ids))
                               .values(address={}).execution_options(**quiet))
            db.session.execute(update(Order).where(Order.id.in_(order_ids)).values(note="").execution_options(**quiet))
            db.session.execute(update(Complaint).where(Complaint.order_id.in_(order_ids))
                               .values(description="", photos=[]).execution_options(**quiet))
            db.session.execute(update(ReturnRequest).where(ReturnRequest.order_id.in_(order_ids))
                               .values(reason="").execution_options(**quiet))
            db.session.execute(update(HeldOrder).where(HeldOrder.id.in_(held_ids))
                               .values(purged_at=now, buyer_name="", buyer_contact="").execution_options(**quiet))
            cleared += len(due)
            users = {row.user_id for row in due}
            still_held = set(db.session.scalars(select(HeldOrder.user_id).where(
                HeldOrder.user_id.in_(users), HeldOrder.purged_at.is_(None)).distinct()))
            db.session.execute(update(AccountClosure).where(
                AccountClosure.user_id.in_(users - still_held), AccountClosure.purged_at.is_(None))
                .values(purged_at=now).execution_options(**quiet))
    # Closures with nothing held at all are done at once.
    db.session.execute(update(AccountClosure).where(AccountClosure.held_orders == 0, AccountClosure.purged_at.is_(None))
                       .values(purged_at=now).execution_options(synchronize_session=False))
    db.session.expire_all()
    return cleared
