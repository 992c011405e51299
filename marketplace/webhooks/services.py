"""Outgoing webhooks: subscribe, emit, send, retry, replay.

* **Subscribe**: ``subscribe(tenant, shop, url, events)`` checks the URL (``target_problem``) and returns the new
  endpoint with its secret, which the caller shows once.
* **Emit**: ``emit(event, tenant_id=…, shop_id=…, data=…)`` adds one delivery per matching active endpoint inside
  the caller's transaction: an order that rolls back sends nothing.
* **Send**: ``deliver_due()`` (``flask webhooks deliver``, every minute from cron) POSTs each due delivery; with
  Redis configured, each committed event is also queued for an RQ worker (``send_now``), so that it leaves within
  seconds rather than at the next cron run, which remains the retry path and the net under a lost job. JSON body, ``Shangdu-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
  "<t>.<body>" with the endpoint's secret>``, ``Shangdu-Event``, ``Shangdu-Event-Id``, ``Shangdu-Delivery``. A 2xx
  answer is success; anything else (a redirect included: they are never followed) is retried after 1 min, 5 min,
  15 min, 1 h, 3 h, 6 h and 12 h — about 22 hours in all — then given up.
* **SSRF**: targets must be http(s) to public addresses. The host is resolved once, every address checked
  (loopback, private, link-local — the cloud metadata address 169.254.169.254 among them —, reserved, multicast are
  refused), and the request goes to the checked address, so a DNS answer cannot change between check and connect.
  ``MARKETPLACE_WEBHOOKS_ALLOW_LOOPBACK`` lets development and tests send to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from marketplace.core import crypto
from marketplace.core.db import utcnow, writing
from marketplace.extensions import db
from marketplace.media.jobs import enqueue, log_queue_failure
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

#: A variant whose stock an order takes to this many units or fewer sends ``stock.low`` (once per crossing).
LOW_STOCK_UNITS = 5
#: The events one can subscribe to, with what each means.
EVENTS: dict[str, Any] = {
    "order.created": _l("新订单（每个店铺一份）"),
    "order.paid": _l("订单已付款"),
    "order.cancelled": _l("订单已取消"),
    "order.status_changed": _l("订单状态变化（任何一步）"),
    "return.requested": _l("买家申请退货"),
    "shipment.updated": _l("配送进度更新"),
    "review.created": _l("买家发表评价"),
    "complaint.opened": _l("买家发起投诉"),
    "stock.low": _l("库存不足（下单后某规格的库存降到 %(n)d 件或以下）", n=LOW_STOCK_UNITS),
}

#: Seconds to wait after the n-th failed try before the next; after the last, the delivery is given up.
BACKOFF = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
TIMEOUT_S = 5
MAX_URL = 2000
SIGNATURE_HEADER = "Shangdu-Signature"


class WebhookError(ValueError):
    """A subscription that cannot be made; the message says why, in the user's language."""


# -- the target ------------------------------------------------------------------------------------------------------

def _loopback_allowed() -> bool:
    return bool(current_app.config["MARKETPLACE"].get("WEBHOOKS_ALLOW_LOOPBACK"))


#: IPv6 ranges that carry an IPv4 address inside (NAT64, 6to4, Teredo, IPv4-compatible) or are deprecated
#: site-local: a receiver never needs them, and through them a private IPv4 address could be reached.
_TUNNELLED = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32",
                                                     "::/96", "fec0::/10"))
#: Ports a receiver may listen on (development's loopback may use any).
PORTS = (80, 443, 8080, 8443)


def _address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback and _loopback_allowed():
        return None
    tunnelled = isinstance(ip, ipaddress.IPv6Address) and any(ip in net for net in _TUNNELLED)
    if tunnelled or not ip.is_global or ip.is_multicast:
        return _("地址 %(ip)s 不是公网地址（本机、内网、链路本地或保留地址不能接收推送）。", ip=str(ip))
    return None


def resolve_target(url: str) -> tuple[str, list[str]]:
    """The URL's host and its checked addresses; ``WebhookError`` saying why it may not be a target."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise WebhookError(_("请填写推送地址（http:// 或 https:// 开头，最长 %(n)d 个字符）。", n=MAX_URL))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookError(_("推送地址格式不正确。")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(_("推送地址须以 http:// 或 https:// 开头。"))
    if parts.username or parts.password:
        raise WebhookError(_("推送地址不能包含用户名或密码。"))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        host = parts.hostname.encode("idna").decode("ascii")  # 例子.测试 → xn--…: what DNS and Host carry
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise WebhookError(_("找不到主机 %(host)s。", host=parts.hostname)) from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    for address in addresses:
        problem = _address_problem(address)
        if problem:
            raise WebhookError(problem)
    if port not in PORTS and not (_loopback_allowed() and all(ipaddress.ip_address(a).is_loopback
                                                              for a in addresses)):
        raise WebhookError(_("推送地址的端口须是 %(ports)s 之一。", ports="、".join(map(str, PORTS))))
    return host, addresses


def target_problem(url: str) -> str | None:
    try:
        resolve_target(url)
    except WebhookError as error:
        return str(error)
    return None


# -- subscribing -----------------------------------------------------------------------------------------------------

def subscribe(tenant: Tenant, shop, url: str, events: Iterable[str], *, actor_id: int | None,
              description: str = "") -> WebhookEndpoint:
    """A new endpoint for ``shop``'s events (``shop=None``: the whole tenant's). Its ``secret`` is to be shown
    once. Flushes; the caller commits."""
    events = sorted(set(events))
    unknown = [e for e in events if e not in EVENTS]
    if not events or unknown:
        raise WebhookError(_("请选择要接收的事件。"))
    resolve_target(url)
    endpoint = WebhookEndpoint(tenant_id=tenant.id, shop_id=shop.id if shop is not None else None, url=url,
                               events=events, secret="whsec_" + secrets.token_urlsafe(32),
                               description=(description or "").strip()[:200], created_by_id=actor_id)
    db.session.add(endpoint)
    db.session.flush()
    _forget_endpoints()
    return endpoint


def disable(endpoint: WebhookEndpoint) -> None:
    """No new events, and what still waits to be sent is given up. Flushes; the caller commits."""
    if endpoint.disabled_at is None:
        endpoint.disabled_at = utcnow()
    db.session.execute(update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.status.in_((DeliveryStatus.pending, DeliveryStatus.failed)))
        .values(status=DeliveryStatus.gave_up, next_attempt_at=None).execution_options(synchronize_session=False))
    _forget_endpoints()
    db.session.flush()


# -- emitting --------------------------------------------------------------------------------------------------------

def order_data(order) -> dict[str, Any]:
    """What an order event tells: the order as the merchant handles it, without the buyer's personal details
    (the API's orders:read gives those to whoever may see them)."""
    return {"number": order.number, "status": order.status, "currency": order.group.currency, "total": order.total, "items_total": order.items_total, "delivery_fee": order.delivery_fee,
            "delivery_provider": order.delivery_provider, "shop_id": order.shop_id,
            "lines": [{"sku": line.sku, "title": line.title, "quantity": line.quantity, "unit_price": line.unit_price,
                       "total": line.total} for line in order.lines]}


def _active_endpoints(tenant_id: int) -> list[tuple[int, int | None, tuple[str, ...]]]:
    """(id, shop id, events) of the tenant's active endpoints, read once per transaction: a checkout emits for
    every shop, and most tenants have no subscription at all."""
    cache = db.session.info.setdefault("webhook_endpoints", {})
    if tenant_id not in cache:
        cache[tenant_id] = [(row.id, row.shop_id, tuple(row.events or ())) for row in db.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.shop_id, WebhookEndpoint.events).where(
                WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.disabled_at.is_(None)))]
    return cache[tenant_id]


def _forget_endpoints() -> None:
    _forget_on_end(db.session())


def emit(event: str, *, tenant_id: int, shop_id: int | None, data, now: datetime | None = None) -> list[WebhookDelivery]:
    """One delivery per active endpoint of this tenant that hears ``event`` (the shop's own and the tenant-wide
    ones), in the caller's transaction. ``data``: the event's data, or a function making it (called only when
    someone listens). Flushes; the caller commits."""
    endpoints = [endpoint_id for endpoint_id, endpoint_shop, events in _active_endpoints(tenant_id)
                 if event in events and (endpoint_shop is None or endpoint_shop == shop_id)]
    if not endpoints:
        return []
    now = now or utcnow()
    data = data() if callable(data) else data
    event_id = "evt_" + secrets.token_hex(12)
    body = json.dumps({"id": event_id, "type": event, "created_at": now.isoformat(), "data": data},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    made = [WebhookDelivery(tenant_id=tenant_id, endpoint_id=endpoint_id, event=event, event_id=event_id, body=body,
                            status=DeliveryStatus.pending, next_attempt_at=now, created_at=now)
            for endpoint_id in endpoints]
    db.session.add_all(made)
    db.session.flush()
    db.session.info.setdefault(_NEW, []).extend(delivery.id for delivery in made)
    return made


def hears(tenant_id: int, event: str) -> bool:
    """Whether any active endpoint of the tenant listens for ``event`` (to skip preparing what nobody hears)."""
    return any(event in events for _id, _shop, events in _active_endpoints(tenant_id))


def stock_taken(tenant_id: int, taken: dict[int, int]) -> None:
    """``stock.low`` for each variant an order just took (variant id → units) across ``LOW_STOCK_UNITS``."""
    from marketplace.catalog.models import Product, Variant  # the catalogue does not know about webhooks

    if not taken or not hears(tenant_id, "stock.low"):
        return
    rows = db.session.execute(select(Variant.id, Variant.sku, Variant.stock, Product.id, Product.title,
                                     Product.shop_id).join(Product, Product.id == Variant.product_id)
                              .where(Variant.id.in_(taken))).all()
    for variant_id, sku, stock, product_id, title, shop_id in rows:
        if stock <= LOW_STOCK_UNITS < stock + taken[variant_id]:
            emit("stock.low", tenant_id=tenant_id, shop_id=shop_id,
                 data={"variant_id": variant_id, "sku": sku, "product_id": product_id, "title": title,
                       "stock": stock, "threshold": LOW_STOCK_UNITS})


def order_moved(order, to: str) -> None:
    """The order events of one status change (``orders.services.transition`` calls it)."""
    emit("order.status_changed", tenant_id=order.tenant_id, shop_id=order.shop_id, data=lambda: order_data(order))
    if to in ("paid", "cancelled"):
        emit(f"order.{to}", tenant_id=order.tenant_id, shop_id=order.shop_id, data=lambda: order_data(order))


# -- signing and sending ---------------------------------------------------------------------------------------------

def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, *, now: float | None = None,
                     tolerance_s: int = 300) -> bool:
    """The receiver's check (docs/api.md shows the same in a few lines): the HMAC matches and is fresh."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


@dataclass
class Answer:
    status_code: int | None
    error: str = ""


@dataclass(frozen=True)
class Outgoing:
    """What one try sends, read before the request goes out so that no transaction stays open meanwhile."""

    url: str
    #: None when the stored secret no longer opens (SECRET_KEY changed): nothing can be signed.
    secret: str | None
    body: bytes
    event: str
    event_id: str
    delivery_id: int
    disabled: bool


def _post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST to the checked address of ``url``'s host, at most ``TIMEOUT_S`` to connect and twice that in all;
    never follows a redirect; reads at most 64 KB of the answer."""
    import urllib3

    try:
        host, addresses = resolve_target(url)
    except WebhookError as error:
        return Answer(None, str(error))
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    timeout = urllib3.Timeout(connect=TIMEOUT_S, read=TIMEOUT_S, total=2 * TIMEOUT_S)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(addresses[0], port, timeout=timeout, retries=False,
                                           server_hostname=host, assert_hostname=host)
    else:
        pool = urllib3.HTTPConnectionPool(addresses[0], port, timeout=timeout, retries=False)
    default_port = port == (443 if parts.scheme == "https" else 80)
    try:
        with pool:
            response = pool.urlopen("POST", path, body=body, redirect=False, retries=False, preload_content=False,
                                    headers={**headers, "Host": host if default_port else f"{host}:{port}"})
            response.read(64 * 1024)
            response.release_conn()
    except Exception as error:  # noqa: BLE001 - whatever the receiver does, it is a failed try, never a crash
        return Answer(None, f"{type(error).__name__}: {error}"[:500])
    return Answer(response.status)


def _try(outgoing: Outgoing, moment: datetime) -> tuple[Answer, int]:
    started = time.monotonic()
    if outgoing.disabled:
        return Answer(None, _("订阅已停用。")), 0
    if outgoing.secret is None:
        return Answer(None, _("签名密钥无法解密（平台密钥已更换）：请停用此订阅并重新添加。")), 0
    stamp = int(moment.timestamp())
    answer = _post(outgoing.url, outgoing.body, {
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "Shangdu-Webhooks/1",
        SIGNATURE_HEADER: signature(outgoing.secret, stamp, outgoing.body), "Shangdu-Event": outgoing.event,
        "Shangdu-Event-Id": outgoing.event_id, "Shangdu-Delivery": str(outgoing.delivery_id)})
    return answer, int((time.monotonic() - started) * 1000)


def _record(delivery: WebhookDelivery, answer: Answer, duration_ms: int, moment: datetime) -> WebhookAttempt:
    """The try's attempt, and the delivery settled or its next try scheduled. Flushes; the caller commits."""
    succeeded = answer.status_code is not None and 200 <= answer.status_code < 300
    attempt = WebhookAttempt(tenant_id=delivery.tenant_id, at=moment, status_code=answer.status_code,
                             error=answer.error or ("" if succeeded else
                                                    _("接收方回答了 HTTP %(code)s。", code=answer.status_code)),
                             duration_ms=duration_ms)
    delivery.tries.append(attempt)
    delivery.attempts += 1
    if succeeded:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.succeeded, moment, None
    elif delivery.attempts > len(BACKOFF) or delivery.endpoint.disabled_at is not None:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.gave_up, None
    else:
        delivery.status = DeliveryStatus.failed
        delivery.next_attempt_at = moment + timedelta(seconds=BACKOFF[delivery.attempts - 1])
    db.session.flush()
    return attempt


#: How long a claimed delivery is left to its sender before another run may take it (well over one try).
CLAIM_S = 120


def deliver_due(now: datetime | None = None, limit: int = 200, *, ids: Iterable[int] | None = None) -> int:
    """Send every delivery whose time has come, across tenants (only those of ``ids`` when given); returns how
    many were tried.

    Each is claimed first (its next try moved on), so two senders running at once never send the same one; the
    request goes out with no database transaction open (a slow receiver holds no lock, and SQLite's writers are
    not kept waiting); the result is written afterwards. ``now`` fixes the clock (tests); otherwise each
    delivery is signed and scheduled at the moment it is sent."""
    query = (select(WebhookDelivery.id, WebhookDelivery.tenant_id, WebhookDelivery.next_attempt_at)
             .where(WebhookDelivery.status.in_((DeliveryStatus.pending, DeliveryStatus.failed)),
                    WebhookDelivery.next_attempt_at <= (now or utcnow()))
             .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
    if ids is not None:
        query = query.where(WebhookDelivery.id.in_(list(ids)))
    with all_tenants():
        due = db.session.execute(query).all()
    tenants = {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_({row[1] for row in due})))}
    db.session.commit()
    tried = 0
    for delivery_id, tenant_id, was_due in due:
        moment = now or utcnow()
        with tenant_scope(tenants[tenant_id]):
            with writing():
                claimed = db.session.execute(
                    update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                  WebhookDelivery.next_attempt_at == was_due)
                    .values(next_attempt_at=moment + timedelta(seconds=CLAIM_S))
                    .execution_options(synchronize_session=False))
                db.session.commit()
            if claimed.rowcount != 1:
                continue
            delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
            endpoint = delivery.endpoint
            try:
                secret = endpoint.secret
            except crypto.Unreadable:
                secret = None
            outgoing = Outgoing(endpoint.url, secret, delivery.body.encode(), delivery.event,
                                delivery.event_id, delivery.id, endpoint.disabled_at is not None)
            db.session.commit()  # nothing open while the request is out
            answer, duration_ms = _try(outgoing, moment)
            with writing():
                _record(db.session.get(WebhookDelivery, delivery_id, populate_existing=True), answer, duration_ms,
                        moment)
                db.session.commit()
            tried += 1
    return tried


def send_now(delivery_ids: list[int]) -> int:
    """A worker's job: send these new deliveries at once (those still due and unclaimed; the rest are the cron
    run's). Queued after the commit that made them, when Redis is configured."""
    return deliver_due(ids=delivery_ids)


def replay(delivery: WebhookDelivery, *, now: datetime | None = None) -> WebhookDelivery:
    """Send the same event again as a new delivery (same body, same event id), due now. Flushes."""
    now = now or utcnow()
    again = WebhookDelivery(tenant_id=delivery.tenant_id, endpoint_id=delivery.endpoint_id, event=delivery.event,
                            event_id=delivery.event_id, body=delivery.body, status=DeliveryStatus.pending,
                            next_attempt_at=now, created_at=now, replay_of_id=delivery.id)
    db.session.add(again)
    db.session.flush()
    db.session.info.setdefault(_NEW, []).append(again.id)
    return again



def _forget_on_end(session, *_args) -> None:
    session.info.pop("webhook_endpoints", None)


#: The session's deliveries made in the open transaction, queued for a worker once it commits.
_NEW = "webhook_new_deliveries"


def _queue_new(session, *_args) -> None:
    """After a commit: hand the transaction's new deliveries to an RQ worker when Redis is configured. Without it
    (or with Redis down) they wait for ``flask webhooks deliver``, which would also pick up a job lost in Redis."""
    new = session.info.pop(_NEW, None)
    if not new or not has_app_context() or not current_app.config["MARKETPLACE"].get("REDIS_URL"):
        return
    try:
        enqueue("marketplace.webhooks.services.send_now", sorted(new))
    except Exception:  # noqa: BLE001 - never the committed request's failure: cron sends them within a minute
        log_queue_failure(log, "could not queue %d webhook deliveries; the next `flask webhooks deliver` sends them",
                          len(new))


def _drop_new(session, previous) -> None:
    if previous.parent is None:  # the whole transaction rolled back: its deliveries were never made
        session.info.pop(_NEW, None)


# A transaction's endpoints are read once (``_active_endpoints``) and forgotten when it ends.
for _moment in ("after_commit", "after_soft_rollback"):
    if not event.contains(Session, _moment, _forget_on_end):
        event.listen(Session, _moment, _forget_on_end)
if not event.contains(Session, "after_commit", _queue_new):
    event.listen(Session, "after_commit", _queue_new)
    event.listen(Session, "after_soft_rollback", _drop_new)
