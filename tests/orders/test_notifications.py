"""Order notices: the buyer and each merchant hear of an order by mail and SMS once it is committed, never for
a change that was rolled back, and a sender that fails never stops the order."""

from __future__ import annotations

import email
import logging
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from marketplace.catalog.models import Variant
from marketplace.core.config import ConfigError, load_settings
from marketplace.core.mail import MailSender
from marketplace.core.sms import Sms, SmsSender, send_sms
from marketplace.extensions import db
from marketplace.orders import notifications
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.tenancy.context import tenant_scope

BUYER_EMAIL = "xiao.li@example.com"
BUYER_MOBILE = "13800138000"


class Outbox:
    """Mail (``instance/mail/*.eml``) and SMS (``instance/sms/*.txt``) the log senders wrote since the test began."""

    def __init__(self, instance: Path):
        self.mail_folder = instance / "mail"
        self.sms_folder = instance / "sms"
        self.mark_read()

    @staticmethod
    def _files(folder: Path, pattern: str) -> set[Path]:
        return set(folder.glob(pattern)) if folder.is_dir() else set()

    def mark_read(self) -> None:
        self._seen = self._files(self.mail_folder, "*.eml") | self._files(self.sms_folder, "*.txt")

    def _new(self, folder: Path, pattern: str) -> list[Path]:
        return sorted(self._files(folder, pattern) - self._seen, key=lambda path: path.name)

    def mails(self, to: str | None = None) -> list[email.message.EmailMessage]:
        found = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
                 for p in self._new(self.mail_folder, "*.eml")]
        return [m for m in found if to is None or m["To"] == to]

    def sms(self, to: str | None = None) -> list[str]:
        """The text of each new SMS (``to`` given: only those to that number)."""
        found = []
        for path in self._new(self.sms_folder, "*.txt"):
            head, _blank, text = path.read_text(encoding="utf-8").partition("\n\n")
            if to is None or head == f"To: {to}":
                found.append(text.rstrip("\n"))
        return found


@pytest.fixture(autouse=True)
def _sent_here(app, monkeypatch):
    """Notices go to RQ when Redis is configured (CI): these tests read what is sent in this process."""
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", None)


@pytest.fixture
def outbox(app):
    return Outbox(Path(app.instance_path))


@pytest.fixture
def market(app_ctx, make_tenant, make_merchant, make_shop, make_category, make_product, make_user):
    """Two shops: the fruit shop has a mobile and a contact email; the tea shop a landline and a contact mobile."""
    tenant = make_tenant(name_zh="德化街", address_zh="郑州市二七区德化街")
    fruit = make_shop(tenant, name_zh="老王水果店", phone="139 0000 0001", street_number="12", street_side="west",
                      merchant=make_merchant(contact_email="wang@fruit.example"))
    tea = make_shop(tenant, name_zh="李记茶叶", phone="0371-66661234",
                    merchant=make_merchant(contact_phone="13900000002"))
    category = make_category(tenant)
    goods = {"apples": make_product(fruit, category=category, title="红富士苹果", price=2990, stock=10),
             "tea": make_product(tea, category=category, title="信阳毛尖", price=12800, stock=5)}
    buyer = make_user(BUYER_EMAIL)
    buyer.mobile = BUYER_MOBILE
    db.session.commit()
    with tenant_scope(tenant):  # the whole test acts in this street
        yield tenant, {"fruit": fruit, "tea": tea}, goods, buyer


def place(tenant, buyer, lines: dict, key: str = "checkout-1"):
    with tenant_scope(tenant):
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        for product, quantity in lines.items():
            variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
            orders.set_line(cart, variant.id, quantity)
        db.session.commit()
        return orders.place_order(tenant, buyer.id, cart, key)


def order_of(group, shop) -> Order:
    return next(o for o in group.orders if o.shop_id == shop.id)


def test_placing_an_order_tells_the_buyer_and_each_shop(market, outbox):
    tenant, shops, goods, buyer = market
    group = place(tenant, buyer, {goods["apples"]: 2, goods["tea"]: 1})

    mail = outbox.mails(BUYER_EMAIL)
    assert len(mail) == 1 and group.number in mail[0]["Subject"]
    body = mail[0].get_content()
    assert "¥187.80" in body  # 2 × 29.90 + 128.00
    assert "老王水果店" in body and "李记茶叶" in body
    [text] = outbox.sms(BUYER_MOBILE)
    assert text.startswith("【德化街】") and group.number in text and "¥187.80" in text
    deadline = group.payment_deadline.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert f"{deadline:%m-%d %H:%M}前付款" in text  # the deadline in the street's own time

    fruit_order, tea_order = order_of(group, shops["fruit"]), order_of(group, shops["tea"])
    [fruit_mail] = outbox.mails("wang@fruit.example")
    assert fruit_order.number in fruit_mail["Subject"] and "红富士苹果  × 2" in fruit_mail.get_content()
    [fruit_sms] = outbox.sms("13900000001")  # the shop's phone, normalised
    assert fruit_order.number in fruit_sms and "¥59.80" in fruit_sms
    [tea_sms] = outbox.sms("13900000002")  # a landline gets no SMS: the merchant's contact mobile does
    assert tea_order.number in tea_sms and "¥128.00" in tea_sms
    assert len(outbox.mails()) == 2 and len(outbox.sms()) == 3  # nobody else, nothing twice


def test_the_sms_log_file_holds_the_number_and_the_text(app_ctx, outbox):
    send_sms("13800138000", "【德化街】订单已提交")
    [path] = outbox._new(outbox.sms_folder, "*.txt")
    assert path.read_text(encoding="utf-8") == "To: 13800138000\n\n【德化街】订单已提交\n"


def test_the_same_submission_again_sends_nothing_more(market, outbox):
    tenant, _shops, goods, buyer = market
    place(tenant, buyer, {goods["apples"]: 1}, key="same")
    outbox.mark_read()
    with tenant_scope(tenant):
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        orders.place_order(tenant, buyer.id, cart, "same")
    assert outbox.mails() == [] and outbox.sms() == []


def test_a_rejected_order_tells_the_buyer_why(market, outbox):
    tenant, shops, goods, buyer = market
    group = place(tenant, buyer, {goods["apples"]: 1})
    order = group.orders[0]
    with tenant_scope(tenant):
        orders.transition(order, OrderStatus.paid, actor_id=buyer.id)
        db.session.commit()
        outbox.mark_read()
        orders.transition(order, OrderStatus.cancelled, note="苹果今天卖完了，货款原路退回")
        db.session.commit()
    [text] = outbox.sms(BUYER_MOBILE)
    assert text == f"【德化街】订单{order.number}已取消。原因：苹果今天卖完了，货款原路退回"
    [mail] = outbox.mails(BUYER_EMAIL)
    assert "苹果今天卖完了" in mail.get_content()
    assert outbox.sms("13900000001") == []  # the shop rejected it: it is not told its own decision


def test_a_buyer_cancelling_a_paid_order_tells_the_shop(market, outbox):
    tenant, shops, goods, buyer = market
    order = place(tenant, buyer, {goods["apples"]: 1}).orders[0]
    with tenant_scope(tenant):
        orders.transition(order, OrderStatus.paid)
        db.session.commit()
        outbox.mark_read()
        orders.transition(order, OrderStatus.cancelled, actor_id=buyer.id, note="买错了")
        db.session.commit()
    [text] = outbox.sms("13900000001")
    assert order.number in text and "原因：买错了" in text


def test_a_rolled_back_transition_sends_nothing(market, outbox):
    tenant, _shops, goods, buyer = market
    order = place(tenant, buyer, {goods["apples"]: 1}).orders[0]
    outbox.mark_read()
    with tenant_scope(tenant):
        orders.transition(order, OrderStatus.paid)
        assert outbox.sms() == [] and outbox.mails() == []  # not before the commit
        db.session.rollback()
        db.session.commit()  # a later commit does not send what was rolled back
        assert outbox.sms() == [] and outbox.mails() == []
        assert db.session.get(Order, order.id).status == OrderStatus.pending_payment


def test_a_rolled_back_savepoint_drops_only_its_own_notices(market, outbox):
    tenant, _shops, goods, buyer = market
    group = place(tenant, buyer, {goods["apples"]: 1, goods["tea"]: 1})
    fruit, tea = sorted(group.orders, key=lambda o: o.number)
    outbox.mark_read()
    with tenant_scope(tenant):
        orders.transition(fruit, OrderStatus.cancelled, note="不要了")
        savepoint = db.session.begin_nested()
        orders.transition(tea, OrderStatus.cancelled, note="也不要了")
        savepoint.rollback()
        db.session.commit()
    texts = outbox.sms(BUYER_MOBILE)
    assert len(texts) == 1 and fruit.number in texts[0] and tea.number not in texts[0]


def test_a_released_savepoint_waits_for_the_whole_transaction(market, outbox):
    tenant, _shops, goods, buyer = market
    order = place(tenant, buyer, {goods["apples"]: 1}).orders[0]
    outbox.mark_read()
    with tenant_scope(tenant):
        savepoint = db.session.begin_nested()
        orders.transition(order, OrderStatus.paid)
        savepoint.commit()
        assert outbox.sms() == []  # the transaction around it may still roll back
        db.session.rollback()
    assert outbox.sms() == [] and outbox.mails() == []


def test_paying_a_group_tells_the_buyer_once_and_each_shop(market, outbox):
    tenant, shops, goods, buyer = market
    group = place(tenant, buyer, {goods["apples"]: 1, goods["tea"]: 1})
    outbox.mark_read()
    with tenant_scope(tenant):
        for order in group.orders:
            orders.transition(order, OrderStatus.paid, actor_id=buyer.id)
        db.session.commit()
    [text] = outbox.sms(BUYER_MOBILE)
    assert group.number in text and "¥157.90" in text
    assert len(outbox.mails(BUYER_EMAIL)) == 1
    [fruit_sms] = outbox.sms("13900000001")
    assert "请尽快接单" in fruit_sms and order_of(group, shops["fruit"]).number in fruit_sms
    assert len(outbox.sms("13900000002")) == 1


def test_ready_for_pickup_tells_the_buyer_where_and_the_collection_code(market, outbox):
    from marketplace.delivery.models import Shipment
    from marketplace.delivery.pickup import code_for

    tenant, shops, goods, buyer = market
    order = place(tenant, buyer, {goods["apples"]: 1}).orders[0]
    with tenant_scope(tenant):
        orders.transition(order, OrderStatus.paid)
        orders.transition(order, OrderStatus.accepted)
        db.session.commit()
        assert any("已接单" in t for t in outbox.sms(BUYER_MOBILE))
        outbox.mark_read()
        orders.transition(order, OrderStatus.ready_for_pickup)
        db.session.commit()
        code = code_for(db.session.scalar(select(Shipment).where(Shipment.order_id == order.id)))
    [text] = outbox.sms(BUYER_MOBILE)
    assert f"请到老王水果店 12 号（西侧） 郑州市二七区德化街凭取货码{code}取货" in text


def test_completion_and_a_refund_tell_the_buyer(market, outbox):
    tenant, _shops, goods, buyer = market
    order = place(tenant, buyer, {goods["apples"]: 2}).orders[0]
    with tenant_scope(tenant):
        for status in (OrderStatus.paid, OrderStatus.accepted, OrderStatus.ready_for_pickup, OrderStatus.picked_up):
            orders.transition(order, status)
        db.session.commit()
        outbox.mark_read()
        orders.transition(order, OrderStatus.completed)
        db.session.commit()
        [done] = outbox.sms(BUYER_MOBILE)
        assert "已完成" in done
        outbox.mark_read()
        orders.transition(order, OrderStatus.refunding)
        order.refunded = order.total
        orders.transition(order, OrderStatus.refunded)
        db.session.commit()
    [refund] = outbox.sms(BUYER_MOBILE)
    assert refund == f"【德化街】订单{order.number}已退款¥59.80，款项将原路退回。"


class BrokenSms(SmsSender):
    def send(self, sms: Sms) -> None:
        raise ConnectionError("SMS gateway unreachable")


class BrokenMail(MailSender):
    def send(self, mail, sender) -> None:
        raise ConnectionError("mail server unreachable")


@pytest.fixture
def broken_senders(app):
    saved = {name: app.extensions.pop(name, None) for name in ("sms_sender", "mail_sender")}
    app.extensions["sms_sender"], app.extensions["mail_sender"] = BrokenSms(), BrokenMail()
    yield
    for name, sender in saved.items():
        app.extensions.pop(name, None)
        if sender is not None:
            app.extensions[name] = sender


def test_a_failing_sender_does_not_stop_the_order(market, outbox, broken_senders, caplog):
    tenant, _shops, goods, buyer = market
    with caplog.at_level(logging.ERROR, logger="marketplace.orders.notifications"):
        group = place(tenant, buyer, {goods["apples"]: 1, goods["tea"]: 1})
    assert len(group.orders) == 2
    with tenant_scope(tenant):
        assert db.session.scalar(select(func.count(Order.id))) == 2
        orders.transition(group.orders[0], OrderStatus.paid)
        db.session.commit()
        assert db.session.get(Order, group.orders[0].id).status == OrderStatus.paid
    assert any("could not send an order notice" in r.getMessage() for r in caplog.records)
    assert all(BUYER_MOBILE not in r.getMessage() and BUYER_EMAIL not in r.getMessage() for r in caplog.records)


def test_notices_that_cannot_be_worked_out_never_stop_the_move_but_a_database_failure_is_not_hidden(app_ctx, caplog):
    """A notice's own failure is logged and the order moves on. A database error inside the transaction is the
    move's failure too (the transaction is lost with it): hidden, it would surface at the commit as a bare 500."""
    def missing_template():
        raise KeyError("subject")

    def database_gone():
        db.session.execute(text("SELECT * FROM no_such_table"))

    with caplog.at_level(logging.ERROR, logger="marketplace.orders.notifications"):
        notifications.prepare_safely(missing_template)
    assert any("missing_template" in r.getMessage() for r in caplog.records)
    with pytest.raises(SQLAlchemyError):
        notifications.prepare_safely(database_gone)


def test_an_unknown_sms_sender_stops_start_up():
    with pytest.raises(ConfigError, match="MARKETPLACE_SMS_SENDER"):
        load_settings(environ={"MARKETPLACE_SMS_SENDER": "carrier-pigeon"},
                      overrides={"SECRET_KEY": "x" * 40, "INSTANCE_PATH": "/nonexistent"})
