"""Order seals (PC-8): the order records sealed in batches into a signed hash chain, and every kind of tampering
found — naming the order — by ``flask orders verify-seals``."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from marketplace.core.audit import AuditEntry
from marketplace.core.chain import chain_hash, sha256_hex
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders import seals
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from marketplace.orders.seals import OrderSeal
from marketplace.tenancy.context import tenant_scope
from tests.orders.test_place_order import fill

S = OrderStatus


@pytest.fixture
def street(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    tenant = make_tenant(slug="sealed-street")
    shop = make_shop(tenant, name_zh="老王杂货")
    general = make_category(tenant)
    goods = {"kettle": make_product(shop, category=general, title="电水壶", price=8900, stock=10),
             "cups": make_product(shop, category=general, title="玻璃杯", price=1500, stock=20)}
    return tenant, goods, make_user()


@dataclass(frozen=True)
class Placed:
    id: int
    number: str


def place(tenant, buyer, lines: dict, key: str, steps=()) -> Placed:
    """An order of ``lines`` ({product: quantity}) taken through ``steps``: its id and number (the ORM object would
    expire with the next commit, and reloading it needs the tenant)."""
    cart = fill(tenant, buyer, lines)
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, key).orders[0]
        for step in steps:
            orders.transition(order, step)
        placed = Placed(order.id, order.number)
        db.session.commit()
        return placed


def seal(tenant, *, now=None, settle=timedelta(0)) -> OrderSeal | None:
    with tenant_scope(tenant):
        made = seals.seal(tenant, now or utcnow(), settle=settle)
        db.session.commit()
        return made


def verify(tenant) -> seals.SealReport:
    with tenant_scope(tenant):
        return seals.verify(tenant)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["orders", *args])


def backdate(tenant, delta: timedelta) -> None:
    """Test data: the tenant's orders and events happened ``delta`` earlier (before anything is sealed)."""
    connection = db.session.connection()
    events, placed = OrderEvent.__table__, Order.__table__
    for row in connection.execute(select(events.c.id, events.c.at).where(events.c.tenant_id == tenant.id)).all():
        connection.execute(update(events).where(events.c.id == row.id).values(at=row.at - delta))
    for row in connection.execute(select(placed.c.id, placed.c.created_at).where(placed.c.tenant_id == tenant.id)).all():
        connection.execute(update(placed).where(placed.c.id == row.id).values(created_at=row.created_at - delta))
    db.session.commit()
    db.session.expire_all()


@pytest.fixture
def sealed(street):
    """Two orders (one paid and accepted), sealed; then one more move, sealed again: two seals."""
    tenant, goods, buyer = street
    kettle = place(tenant, buyer, {goods["kettle"]: 1}, "seal-1", steps=(S.paid, S.accepted))
    cups = place(tenant, buyer, {goods["cups"]: 3}, "seal-2")
    first = seal(tenant)
    with tenant_scope(tenant):
        orders.transition(db.session.get(Order, cups.id), S.paid)
        db.session.commit()
    second = seal(tenant)
    assert (first.seq, second.seq) == (1, 2)
    return tenant, kettle.number, cups.number


def test_a_seal_covers_the_orders_and_events_since_the_last_one_and_verifies(street):
    tenant, goods, buyer = street
    with tenant_scope(tenant):
        assert seals.seal(tenant) is None  # nothing at all yet
    kettle = place(tenant, buyer, {goods["kettle"]: 2}, "one", steps=(S.paid, S.accepted))
    cups = place(tenant, buyer, {goods["cups"]: 1}, "two")

    first = seal(tenant)
    assert (first.seq, first.orders, first.events) == (1, 2, 4)  # two placed, one paid, one accepted
    assert first.prev_hash == "0" * 64 and first.digest == sha256_hex(first.manifest)
    assert {entry[2] for entry in json.loads(first.manifest)} == {kettle.number, cups.number}
    assert seal(tenant) is None  # nothing new: no empty seal

    with tenant_scope(tenant):
        orders.transition(db.session.get(Order, cups.id), S.paid)
        db.session.commit()
    second = seal(tenant)
    assert (second.seq, second.orders, second.events) == (2, 0, 1)
    assert second.since == first.until and second.prev_hash == first.hash

    report = verify(tenant)
    assert report.intact and (report.seals, report.events, report.orders) == (2, 5, 2)
    # Each seal is in the audit log, with its hash.
    logged = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "orders.sealed",
                                                         AuditEntry.tenant_id == tenant.id)).all()
    assert [(e.details["seq"], e.details["hash"]) for e in logged] == [(1, first.hash), (2, second.hash)]


def test_the_seal_and_verify_commands(app, street, make_tenant):
    tenant, goods, buyer = street
    quiet = make_tenant(slug="quiet-market")
    order = place(tenant, buyer, {goods["kettle"]: 1}, "cli-1", steps=(S.paid,))
    # Just placed: still inside the settling time, left for the next run.
    result = cli(app, "seal", "--tenant", tenant.slug)
    assert result.exit_code == 0 and f"{tenant.slug}：没有需要封存的新订单记录。" in result.output
    backdate(tenant, timedelta(hours=1))

    result = cli(app, "seal")
    assert result.exit_code == 0, result.output
    assert f"{tenant.slug}：第 1 次封存，2 条订单状态记录、1 个新订单。" in result.output
    assert f"{quiet.slug}：没有需要封存的新订单记录。" in result.output

    result = cli(app, "verify-seals")
    assert result.exit_code == 0, result.output
    assert f"{tenant.slug}：订单封存链完整，1 次封存，共 2 条订单状态记录、1 个订单。" in result.output
    assert cli(app, "verify-seals", "--tenant", "no-such-street").exit_code != 0

    db.session.execute(text("UPDATE order_lines SET unit_price = 100, total = 100 WHERE order_id = :id"),
                       {"id": order.id})
    db.session.commit()
    result = cli(app, "verify-seals", "--tenant", tenant.slug)
    assert result.exit_code == 1
    assert "第 1 次封存" in result.output and order.number in result.output


def test_an_order_line_price_edited_in_the_database_is_found(sealed):
    tenant, kettle, cups = sealed
    with tenant_scope(tenant):
        line_id = db.session.scalar(select(Order).where(Order.number == cups)).lines[0].id
    db.session.execute(text("UPDATE order_lines SET unit_price = 1, total = 3 WHERE id = :id"), {"id": line_id})
    db.session.commit()
    broken = verify(tenant).broken
    assert broken is not None and (broken.seq, broken.order_number) == (1, cups)
    assert cups in str(broken) and "改动" in str(broken)


def test_an_order_event_edited_in_the_database_is_found(sealed):
    tenant, kettle, cups = sealed
    with tenant_scope(tenant):
        accepted = db.session.scalar(select(OrderEvent).where(OrderEvent.to_status == S.accepted))
    # The ORM refuses it; raw SQL gets through, and the seal shows it.
    db.session.execute(text("UPDATE order_events SET actor_id = NULL, note = '商家同意' WHERE id = :id"),
                       {"id": accepted.id})
    db.session.commit()
    broken = verify(tenant).broken
    assert (broken.seq, broken.order_number) == (1, kettle)
    assert f"#{accepted.id}" in str(broken) and "改动" in str(broken)


def test_a_deleted_order_event_is_found(sealed):
    tenant, kettle, cups = sealed
    with tenant_scope(tenant):
        paid = db.session.scalar(select(OrderEvent.id).join(Order).where(Order.number == cups,
                                                                          OrderEvent.to_status == S.paid))
    db.session.execute(text("DELETE FROM order_events WHERE id = :id"), {"id": paid})
    db.session.commit()
    broken = verify(tenant).broken
    assert (broken.seq, broken.order_number) == (2, cups)
    assert f"#{paid}" in str(broken) and "已不在封存的时段内" in str(broken)


def test_a_removed_seal_is_found_the_newest_one_too(sealed):
    tenant, *_ = sealed
    db.session.execute(text("DELETE FROM order_seals WHERE tenant_id = :t AND seq = 1"), {"t": tenant.id})
    db.session.commit()
    broken = verify(tenant).broken
    assert broken.seq == 1 and "删除" in str(broken)


def test_removing_the_newest_seal_leaves_no_gap_but_the_audit_log_remembers_it(sealed):
    tenant, *_ = sealed
    db.session.execute(text("DELETE FROM order_seals WHERE tenant_id = :t AND seq = 2"), {"t": tenant.id})
    db.session.commit()
    broken = verify(tenant).broken
    assert broken.seq == 2 and "审计日志" in str(broken)
    # Sealing again does not paper over it: the new seal #2 has another hash than the one the audit log kept.
    seal(tenant)
    assert verify(tenant).broken.seq == 2


def test_a_forged_signature_is_found(sealed):
    tenant, kettle, cups = sealed
    forged = base64.b64encode(b"\0" * 64).decode()
    db.session.execute(text("UPDATE order_seals SET signature = :s WHERE tenant_id = :t AND seq = 2"),
                       {"s": forged, "t": tenant.id})
    db.session.commit()
    broken = verify(tenant).broken
    assert broken.seq == 2 and "签名" in str(broken)


def test_a_seal_rebuilt_around_an_edit_fails_its_signature(sealed):
    """Whoever edits an order and recomputes the seal's manifest, digest and hash still cannot sign it."""
    tenant, kettle, cups = sealed
    with tenant_scope(tenant):
        order = db.session.scalar(select(Order).where(Order.number == kettle))
    db.session.execute(text("UPDATE orders SET total = 1, items_total = 1 WHERE id = :id"), {"id": order.id})
    db.session.commit()
    db.session.expire_all()
    with tenant_scope(tenant):
        row = db.session.scalar(select(OrderSeal).where(OrderSeal.seq == 1))
        now = [list(entry) for _at, entry in seals._entries(tenant.id, row.since, row.until)]
        manifest = seals.manifest_text(seals._manifest(tuple(entry) for entry in now))
        row_digest = sha256_hex(manifest)
        # Rebuild the seal as a tamperer would: same fields, new manifest and digest, a consistent hash.
        fake = OrderSeal(tenant_id=row.tenant_id, seq=row.seq, since=row.since, until=row.until, events=row.events,
                         orders=row.orders, manifest=manifest, digest=row_digest, prev_hash=row.prev_hash, at=row.at)
        rebuilt = chain_hash(row.prev_hash, seals.payload(fake))
        row_id = row.id
    db.session.execute(text("UPDATE order_seals SET manifest = :m, digest = :d, hash = :h WHERE id = :id"),
                       {"m": manifest, "d": row_digest, "h": rebuilt, "id": row_id})
    db.session.commit()
    broken = verify(tenant).broken
    assert broken.seq == 1 and "签名" in str(broken)


def test_a_late_event_written_with_an_old_time_is_found(sealed):
    tenant, kettle, cups = sealed
    with tenant_scope(tenant):
        first = db.session.scalar(select(OrderSeal).where(OrderSeal.seq == 1))
        order = db.session.scalar(select(Order).where(Order.number == cups))
        # Appended through the ORM (it allows appends), dated inside the first sealed window.
        db.session.add(OrderEvent(tenant_id=tenant.id, order_id=order.id, at=first.until - timedelta(seconds=1),
                                  from_status=S.pending_payment, to_status=S.paid, note="补记"))
        db.session.commit()
    broken = verify(tenant).broken
    assert (broken.seq, broken.order_number) == (1, cups) and "封存之后才写入" in str(broken)


def test_an_event_dated_before_the_first_seal_is_found(sealed):
    tenant, kettle, cups = sealed
    with tenant_scope(tenant):
        first = db.session.scalar(select(OrderSeal).where(OrderSeal.seq == 1))
        order = db.session.scalar(select(Order).where(Order.number == kettle))
        db.session.add(OrderEvent(tenant_id=tenant.id, order_id=order.id, at=first.since - timedelta(days=3),
                                  from_status="", to_status=S.pending_payment, note="补记"))
        db.session.commit()
    broken = verify(tenant).broken
    assert (broken.seq, broken.order_number) == (1, kettle) and "封存之后才写入" in str(broken)


def test_a_status_changed_around_the_history_is_found(sealed):
    tenant, kettle, cups = sealed
    db.session.execute(text("UPDATE orders SET status = 'completed' WHERE number = :n"), {"n": kettle})
    db.session.commit()
    broken = verify(tenant).broken
    assert broken.seq is None and broken.order_number == kettle and "已完成" in str(broken)


def test_what_may_rightly_change_later_does_not_break_the_seal(sealed, street):
    """A cancellation with its refund, a buyer's note cleared when a closed account's hold ends: not tampering."""
    tenant, goods, buyer = street
    _tenant, kettle, cups = sealed
    with tenant_scope(tenant):
        order = db.session.scalar(select(Order).where(Order.number == cups))
        orders.transition(order, S.cancelled, note="买家不要了")
        db.session.commit()
    db.session.execute(text("UPDATE orders SET note = '' WHERE number = :n"), {"n": kettle})
    db.session.commit()
    assert verify(tenant).intact
    third = seal(tenant)
    assert third.seq == 3 and verify(tenant).intact


def test_orders_placed_while_sealing_are_left_for_the_next_seal(street):
    """Sealing ends ``SETTLE`` before now: a checkout committing meanwhile is neither missed nor a false alarm."""
    tenant, goods, buyer = street
    early = place(tenant, buyer, {goods["kettle"]: 1}, "early")
    backdate(tenant, timedelta(hours=1))
    late = place(tenant, buyer, {goods["cups"]: 1}, "late", steps=(S.paid,))  # still within the settling time
    first = seal(tenant, settle=seals.SETTLE)
    assert (first.orders, first.events) == (1, 1)
    assert verify(tenant).intact
    with tenant_scope(tenant):
        assert seals.unsealed_before(tenant, utcnow() + timedelta(minutes=1)) == [late.number]
    assert early.number in first.manifest and late.number not in first.manifest
    second = seal(tenant, now=utcnow() + seals.SETTLE + timedelta(minutes=1), settle=seals.SETTLE)
    assert (second.orders, second.events) == (1, 2)
    report = verify(tenant)
    assert report.intact and report.orders == 2


def test_seals_are_kept(sealed):
    """The ORM refuses to change or delete a seal."""
    tenant, *_ = sealed
    from marketplace.core.db import AppendOnly

    with tenant_scope(tenant):
        row = db.session.scalar(select(OrderSeal).where(OrderSeal.seq == 1))
        row.events = 99
        with pytest.raises(AppendOnly):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AppendOnly):
            db.session.delete(db.session.scalar(select(OrderSeal).where(OrderSeal.seq == 1)))
            db.session.flush()
        db.session.rollback()


def test_a_backlog_is_sealed_in_several_seals_that_follow_on(app, street, monkeypatch):
    """Orders placed before sealing began (or while the job was stopped) come in seals of bounded size."""
    tenant, goods, buyer = street
    placed = [place(tenant, buyer, {goods["cups"]: 1}, f"backlog-{n}") for n in range(3)]
    backdate(tenant, timedelta(hours=5))
    monkeypatch.setattr(seals, "MAX_RECORDS", 3)  # six records: an order and its first event each
    result = cli(app, "seal", "--tenant", tenant.slug)
    assert result.exit_code == 0, result.output
    assert "第 1 次封存，1 条订单状态记录、2 个新订单。" in result.output
    assert "第 2 次封存，2 条订单状态记录、1 个新订单。" in result.output
    report = verify(tenant)
    assert report.intact and (report.seals, report.orders, report.events) == (2, 3, 3)
    with tenant_scope(tenant):
        assert seals.unsealed_before(tenant, utcnow()) == []
        assert placed[2].number in db.session.scalar(select(OrderSeal.manifest).where(OrderSeal.seq == 2))


@pytest.mark.postgres
def test_a_seal_stops_where_another_transaction_still_open_began(app, street):
    """An order written by a long transaction carries a time from before it commits: the seal must leave it room."""
    tenant, goods, buyer = street
    place(tenant, buyer, {goods["kettle"]: 1}, "before")
    with db.engine.connect() as other:  # another worker, in the middle of a long checkout
        other.begin()
        began = other.execute(text("SELECT now()")).scalar_one()
        made = seal(tenant, now=utcnow() + timedelta(hours=1), settle=seals.SETTLE)
        other.rollback()
    assert made is not None and made.until <= began
