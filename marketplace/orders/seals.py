"""Order seals: the transaction records of each tenant, sealed in batches into a signed hash chain (PC-8).

What a seal covers: every ``OrderEvent`` with ``since <= at < until`` and, for each order created in that window,
its snapshot as checkout wrote it — number, group, shop, buyer, amounts, currency, delivery provider, commission,
creation time and each line's title, SKU, options, attributes, unit, price, quantity, total, price source and
return exclusion. What legitimately changes later is left out: the status (the events cover every move), the
refunded amount, the buyer's note (cleared when a closed account's hold ends), the lines' links to products,
variants and quotes (cleared when those are deleted).

Each record is hashed on its own (sha256 of its canonical JSON); the seal keeps the list of
``[kind, id, order number, record hash]`` (its *manifest*, in a fixed order) and ``digest = sha256(manifest)``.
The seal's own payload — tenant, seq, window, counts, digest, prev_hash, time — is canonical JSON, chained as the
reviews are (``hash = sha256(prev_hash + payload)``, ``marketplace.core.chain``) and signed with the platform's
badge key (Ed25519, ``marketplace.trust.badges``), whose private half lives outside the database. ``verify``
recomputes every record from the rows as they are now, so it finds, and names the order of, an order line or an
amount edited after sealing, an event edited, deleted or back-dated into a sealed window, a seal removed or
edited, a forged signature, and an order whose status no longer matches its last event.

Why batches and not one link per event: a per-event chain needs the chain's head to be read and written by one
transaction at a time, which would queue every checkout of a tenant behind each other. Sealing runs from cron
(``flask orders seal``, hourly) and takes no lock that checkout waits on. It seals only up to ``now - SETTLE``:
events are stamped by the application's clock when they are flushed, so a checkout still committing (or a server
whose clock is a little behind) writes into the last minutes; those are left for the next run.

Seals are appended and never changed (the ORM refuses an update or a delete); each one is also written to the
audit log, so removing the newest seal — which leaves no gap in the chain — is found too.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, Text, UniqueConstraint, and_, func, or_, select, union_all
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, joinedload, mapped_column, selectinload

from marketplace.core import audit
from marketplace.core.chain import GENESIS, canonical, chain_hash, moment, sha256_hex
from marketplace.core.db import UTCDateTime, append_only, utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderStatus
from marketplace.tenancy.models import Tenant, TenantScoped
from marketplace.trust import badges

#: How far behind now a seal ends: longer than any checkout transaction takes, plus the servers' clock drift.
SETTLE = timedelta(minutes=10)
PAYLOAD_VERSION = 1
#: The audit action each seal is recorded under (its seq and hash in the details).
AUDIT_ACTION = "orders.sealed"
#: At most this many records in one seal (a manifest of about a megabyte): a backlog — the orders placed before
#: sealing began, a cron that stopped for a while — is sealed in several seals, each ending where the next begins.
MAX_RECORDS = 10_000
#: About how many records ``verify`` reads in one go (whole seals, so one seal may go over it).
BATCH_RECORDS = 20_000


class OrderSeal(TenantScoped, db.Model):
    """One batch of a tenant's order records, ``since <= at < until``, sealed into the chain and signed."""

    __tablename__ = "order_seals"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1, 2, 3… within the tenant, with no gaps.
    seq: Mapped[int] = mapped_column()
    #: The window covered: the previous seal's ``until`` (the tenant's first record for the first seal) …
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    #: … up to, not including, this moment.
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    #: How many order events, and how many orders created, in the window.
    events: Mapped[int] = mapped_column()
    orders: Mapped[int] = mapped_column()
    #: Canonical JSON list of [kind, id, order number, sha256 of the record], sorted by kind then id.
    manifest: Mapped[str] = mapped_column(Text)
    #: sha256 of ``manifest``, hex.
    digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: sha256(prev_hash + canonical payload), hex.
    hash: Mapped[str] = mapped_column(String(64))
    #: Base64 Ed25519 signature of the canonical payload, with the badge key.
    signature: Mapped[str] = mapped_column(Text)
    #: When the seal was made.
    at: Mapped[datetime] = mapped_column(UTCDateTime())


append_only(OrderSeal, "order seal")


# -- the records --------------------------------------------------------------------------------------------

def event_record(event: OrderEvent, number: str | None) -> dict[str, Any]:
    """What a seal says about one order event."""
    return {"id": event.id, "order": number, "from": event.from_status, "to": event.to_status, "at": moment(event.at),
            "actor_id": event.actor_id, "note": event.note, "idempotency_key": event.idempotency_key}


def order_record(order: Order) -> dict[str, Any]:
    """What a seal says about one order: what checkout wrote and nothing that may rightly change since."""
    return {"number": order.number, "group": order.group.number, "shop_id": order.shop_id,
            "buyer_id": order.buyer_id, "items_total": order.items_total, "delivery_fee": order.delivery_fee,
            "total": order.total, "currency": order.group.currency, "delivery_provider": order.delivery_provider,
            "commission": order.commission, "created_at": moment(order.created_at),
            "lines": [{"title": line.title, "sku": line.sku, "options": line.options or {},
                       "attributes": line.attributes or {}, "unit": line.unit, "unit_price": line.unit_price,
                       "quantity": line.quantity, "total": line.total, "price_source": line.price_source,
                       "return_exclusion": line.return_exclusion}
                      for line in sorted(order.lines, key=lambda line: line.id)]}


Entry = tuple[str, int, str | None, str]  # kind ("event" | "order"), id, order number, sha256 of the record


def _entries(tenant_id: int, since: datetime | None, until: datetime) -> list[tuple[datetime, Entry]]:
    """Every record of the window (from the very first when ``since`` is None), with the time that places it."""
    found: list[tuple[datetime, Entry]] = []
    # The rows as the database has them now, not as objects already in this session remember them.
    fresh = {"populate_existing": True}
    event_window = [OrderEvent.at < until] + ([OrderEvent.at >= since] if since is not None else [])
    events = db.session.execute(select(OrderEvent, Order.number).outerjoin(Order, Order.id == OrderEvent.order_id)
                                .where(OrderEvent.tenant_id == tenant_id, *event_window).execution_options(**fresh))
    for event, number in events:
        found.append((event.at, ("event", event.id, number, sha256_hex(canonical(event_record(event, number))))))
    order_window = [Order.created_at < until] + ([Order.created_at >= since] if since is not None else [])
    orders = db.session.scalars(select(Order).where(Order.tenant_id == tenant_id, *order_window)
                                .options(joinedload(Order.group), selectinload(Order.lines)).execution_options(**fresh))
    for order in orders:
        found.append((order.created_at, ("order", order.id, order.number, sha256_hex(canonical(order_record(order))))))
    return found


def _manifest(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda entry: (entry[0], entry[1]))


def manifest_text(entries: list[Entry]) -> str:
    return canonical([list(entry) for entry in entries])


def payload(seal: OrderSeal) -> str:
    """The canonical JSON that is chained and signed."""
    return canonical({"v": PAYLOAD_VERSION, "kind": "order-seal", "tenant_id": seal.tenant_id, "seq": seal.seq,
                      "since": moment(seal.since), "until": moment(seal.until), "events": seal.events,
                      "orders": seal.orders, "digest": seal.digest, "prev_hash": seal.prev_hash,
                      "at": moment(seal.at)})


# -- sealing ------------------------------------------------------------------------------------------------

def latest(tenant: Tenant) -> OrderSeal | None:
    return db.session.scalar(select(OrderSeal).where(OrderSeal.tenant_id == tenant.id)
                             .order_by(OrderSeal.seq.desc()).limit(1))


def _first_record_at(tenant_id: int) -> datetime | None:
    moments = [db.session.scalar(select(func.min(OrderEvent.at)).where(OrderEvent.tenant_id == tenant_id)),
               db.session.scalar(select(func.min(Order.created_at)).where(Order.tenant_id == tenant_id))]
    moments = [m for m in moments if m is not None]
    return min(moments) if moments else None


def _oldest_open_transaction() -> datetime | None:
    """On PostgreSQL, when the oldest transaction of another connection began: rows it has written but not yet
    committed carry times after that, so a seal must stop there or miss them. (SQLite has one writer at a time, and
    the seal is a writer: it starts only once the others have committed.)"""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    return db.session.scalar(sql("SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"))


def _cut(tenant_id: int, since: datetime, until: datetime) -> datetime | None:
    """The moment of the record after the first ``MAX_RECORDS`` of the window, or None when it holds no more."""
    moments = union_all(
        select(OrderEvent.at.label("at")).where(OrderEvent.tenant_id == tenant_id, OrderEvent.at >= since,
                                                OrderEvent.at < until),
        select(Order.created_at.label("at")).where(Order.tenant_id == tenant_id, Order.created_at >= since,
                                                   Order.created_at < until)).subquery()
    return db.session.scalar(select(moments.c.at).order_by(moments.c.at).offset(MAX_RECORDS).limit(1))


def seal(tenant: Tenant, now: datetime | None = None, *, settle: timedelta = SETTLE) -> OrderSeal | None:
    """Seal the tenant's order records from the end of the last seal up to ``now - settle``; None when there is
    nothing new. Run inside ``tenant_scope(tenant)``; flushes, the caller commits.

    ``settle`` leaves the last minutes to the next run, for the transactions still committing; only a writer that
    knows nobody else writes may pass zero. A window of more than ``MAX_RECORDS`` records is cut short: call again
    until it returns None to seal a backlog.
    """
    now = now or utcnow()
    # Two runs at once take turns. FOR NO KEY UPDATE on PostgreSQL: checkouts, which insert rows pointing at the
    # tenant (FOR KEY SHARE), do not wait for it.
    db.session.execute(select(Tenant.id).where(Tenant.id == tenant.id).with_for_update(key_share=True))
    last = latest(tenant)
    since = last.until if last is not None else _first_record_at(tenant.id)
    until = now - settle
    oldest = _oldest_open_transaction()
    if oldest is not None and settle:  # a long transaction's records, stamped before it commits, wait for it
        until = min(until, oldest)
    if since is None or until <= since:
        return None
    cut = _cut(tenant.id, since, until)
    if cut is not None and cut > since:  # a backlog: load one seal's worth, not all of it
        until = cut
    found = sorted(_entries(tenant.id, since, until), key=lambda item: item[0])
    if not found:
        return None
    if len(found) > MAX_RECORDS and found[MAX_RECORDS][0] > since:
        until = found[MAX_RECORDS][0]  # the rest, from this moment on, goes into the next seal
        found = [item for item in found if item[0] < until]
    entries = _manifest(entry for _at, entry in found)
    text = manifest_text(entries)
    row = OrderSeal(tenant_id=tenant.id, seq=last.seq + 1 if last else 1, since=since, until=until,
                    events=sum(entry[0] == "event" for entry in entries),
                    orders=sum(entry[0] == "order" for entry in entries), manifest=text, digest=sha256_hex(text),
                    prev_hash=last.hash if last else GENESIS, at=now)
    signed = payload(row)
    row.hash = chain_hash(row.prev_hash, signed)
    row.signature = badges.sign(signed.encode("utf-8"))
    db.session.add(row)
    db.session.flush()
    audit.record(AUDIT_ACTION, target=("order_seal", row.seq), tenant=tenant, seq=row.seq, hash=row.hash,
                 since=moment(since), until=moment(until), events=row.events, orders=row.orders)
    return row


# -- verifying ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SealBreak:
    """The first place where the seals and the records disagree, in words a person can act on."""

    seq: int | None  # the seal, when one is concerned
    order_number: str | None  # the order, when one can be named
    problem: str

    def __str__(self) -> str:
        return _("第 %(seq)d 次封存：%(problem)s", seq=self.seq, problem=self.problem) if self.seq else self.problem


@dataclass(frozen=True)
class SealReport:
    seals: int
    events: int
    orders: int
    last: OrderSeal | None
    broken: SealBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(tenant: Tenant, records_since: datetime | None = None) -> SealReport:
    """Check the tenant's seals: the chain links, every signature, every window's records recomputed from the rows
    as they are now, the seals the audit log recorded, records back-dated before the first seal, and each order's
    status against its last event. Stops at the first problem. Run inside ``tenant_scope(tenant)``.

    ``records_since`` recomputes only the windows that end after it (the seals themselves are all checked): quick
    enough for a page; ``flask orders verify-seals`` recomputes them all."""
    seals = list(db.session.scalars(select(OrderSeal).where(OrderSeal.tenant_id == tenant.id).order_by(OrderSeal.seq)
                                    .execution_options(populate_existing=True)))
    last = seals[-1] if seals else None

    def report(broken: SealBreak | None) -> SealReport:
        return SealReport(len(seals), sum(s.events for s in seals), sum(s.orders for s in seals), last, broken)

    broken = _chain_problem(seals) or _audit_problem(tenant, seals)
    for batch in _batches([s for s in seals if records_since is None or s.until > records_since]):
        broken = broken or _records_problem(tenant.id, batch)
    if seals:
        broken = broken or _before_first(tenant.id, seals[0])
    return report(broken or _status_problem(tenant.id))


def _batches(seals: list[OrderSeal]) -> Iterable[list[OrderSeal]]:
    batch: list[OrderSeal] = []
    records = 0
    for row in seals:
        if batch and (records + row.events + row.orders > BATCH_RECORDS or len(batch) >= BATCH_RECORDS // 10):
            yield batch
            batch, records = [], 0
        batch.append(row)
        records += row.events + row.orders
    if batch:
        yield batch


def _chain_problem(seals: list[OrderSeal]) -> SealBreak | None:
    key = badges.public_key() if seals else None
    prev_hash, prev_until = GENESIS, None
    for count, row in enumerate(seals, start=1):
        if row.seq != count:
            return SealBreak(count, None, _("这次封存的记录不见了：封存记录被删除了。"))
        signed = payload(row)
        if row.prev_hash != prev_hash:
            return SealBreak(row.seq, None, _("与上一次封存的哈希接不上：之前的封存记录被改动或删除了。"))
        if chain_hash(row.prev_hash, signed) != row.hash:
            return SealBreak(row.seq, None, _("哈希与封存内容不符：这条封存记录被改动了。"))
        if not badges.signature_valid(signed.encode("utf-8"), row.signature, key):
            return SealBreak(row.seq, None, _("平台签名校验不通过：这条封存记录被改动或伪造了。"))
        if (prev_until is not None and row.since != prev_until) or row.until <= row.since:
            return SealBreak(row.seq, None, _("封存时段与上一次不衔接：封存记录被改动或删除了。"))
        if sha256_hex(row.manifest) != row.digest:
            return SealBreak(row.seq, None, _("封存的记录清单与摘要不符：清单被改动了。"))
        prev_hash, prev_until = row.hash, row.until
    return None


def _audit_problem(tenant: Tenant, seals: list[OrderSeal]) -> SealBreak | None:
    """The audit log keeps each seal's seq and hash: the newest seal deleted leaves no gap, but is missed there."""
    hashes = {row.seq: row.hash for row in seals}
    recorded = db.session.scalars(select(audit.AuditEntry).where(
        audit.AuditEntry.tenant_id == tenant.id, audit.AuditEntry.action == AUDIT_ACTION).order_by(audit.AuditEntry.id))
    for entry in recorded:
        details = entry.details or {}
        seq = details.get("seq")
        if isinstance(seq, int) and hashes.get(seq) != details.get("hash"):
            return SealBreak(seq, None, _("审计日志记载的这次封存已不存在或被换掉：封存记录被删除或重写了。"))
    return None


def _records_problem(tenant_id: int, batch: list[OrderSeal]) -> SealBreak | None:
    """Recompute the records of consecutive seals (one query each for events and orders) and compare them with
    what each seal's manifest listed."""
    untils = [row.until for row in batch]
    current: list[list[Entry]] = [[] for _row in batch]
    for at, entry in _entries(tenant_id, batch[0].since, batch[-1].until):
        current[bisect.bisect_right(untils, at)].append(entry)
    for row, entries in zip(batch, current, strict=True):
        now = {(kind, ident): (number, digest) for kind, ident, number, digest in entries}
        then = {(kind, ident): (number, digest) for kind, ident, number, digest in json.loads(row.manifest)}
        for key in sorted(now.keys() | then.keys()):
            kind, ident = key
            if key not in now:
                number = then[key][0]
                problem = (_("订单 %(number)s 已不在封存的时段内：订单被删除或下单时间被改动。", number=number)
                           if kind == "order" else
                           _("订单 %(number)s 的状态记录 #%(id)d 已不在封存的时段内：记录被删除或时间被改动。",
                             number=number, id=ident))
            elif key not in then:
                number = now[key][0]
                problem = _late(kind, ident, number)
            elif now[key] != then[key]:
                number = now[key][0]
                problem = (_("订单 %(number)s 在封存后被改动（金额、商品行、买卖双方或下单时间）。", number=number)
                           if kind == "order" else
                           _("订单 %(number)s 的状态记录 #%(id)d 在封存后被改动。", number=number, id=ident))
            else:
                continue
            return SealBreak(row.seq, number, problem)
    return None


def _late(kind: str, ident: int, number: str | None) -> str:
    if kind == "order":
        return _("订单 %(number)s 是封存之后才写入的，下单时间却早于已封存的截止时间。", number=number)
    return _("订单 %(number)s 的状态记录 #%(id)d 是封存之后才写入的，时间却早于已封存的截止时间。", number=number, id=ident)


def _before_first(tenant_id: int, first: OrderSeal) -> SealBreak | None:
    """A record dated before the first seal began was written afterwards: the first seal started at the first."""
    found = sorted(_entries(tenant_id, None, first.since), key=lambda found: found[0])
    if not found:
        return None
    kind, ident, number, _digest = found[0][1]
    return SealBreak(first.seq, number, _late(kind, ident, number))


def _status_problem(tenant_id: int) -> SealBreak | None:
    """An order whose status is not where its history last moved it was changed around ``transition``."""
    last_ids = select(func.max(OrderEvent.id)).where(OrderEvent.tenant_id == tenant_id).group_by(OrderEvent.order_id)
    row = db.session.execute(
        select(Order.number, Order.status, OrderEvent.to_status)
        .outerjoin(OrderEvent, and_(OrderEvent.order_id == Order.id, OrderEvent.id.in_(last_ids)))
        .where(Order.tenant_id == tenant_id, or_(OrderEvent.to_status.is_(None), OrderEvent.to_status != Order.status))
        .order_by(Order.id).limit(1)).first()
    if row is None:
        return None
    return SealBreak(None, row.number, _("订单 %(number)s 的状态是“%(status)s”，与它最后一条状态记录（“%(last)s”）不符："
                                         "状态未经记录被直接改动。", number=row.number, status=_label(row.status),
                                         last=_label(row.to_status) if row.to_status else _("无")))


def _label(status: str) -> str:
    return str(OrderStatus(status).label) if status in OrderStatus.__members__ else status


def unsealed_before(tenant: Tenant, before: datetime, limit: int = 10) -> list[str]:
    """Numbers of orders (at most ``limit``, oldest record first) with a record older than ``before`` that no seal
    covers yet: what ``flask orders seal`` should long have sealed."""
    last = latest(tenant)
    since = last.until if last is not None else None
    if since is not None and before <= since:
        return []
    events = (select(OrderEvent.at.label("at"), Order.number).join(Order, Order.id == OrderEvent.order_id)
              .where(OrderEvent.tenant_id == tenant.id, OrderEvent.at < before,
                     *([OrderEvent.at >= since] if since is not None else [])).order_by(OrderEvent.at).limit(limit))
    orders = (select(Order.created_at.label("at"), Order.number)
              .where(Order.tenant_id == tenant.id, Order.created_at < before,
                     *([Order.created_at >= since] if since is not None else [])).order_by(Order.created_at).limit(limit))
    found = sorted([*db.session.execute(events), *db.session.execute(orders)], key=lambda row: row.at)
    return list(dict.fromkeys(row.number for row in found))[:limit]
