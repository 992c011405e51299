"""Idempotency-Key for every API operation that creates something or moves state: one stored answer per key.

A client sends a fresh random ``Idempotency-Key`` with each new write and the same one when it retries. The first
request with a key claims it (a row of ``idempotency_records``, committed before the operation runs, unique on
(caller, key)); when the operation has answered, its status, body and the headers that matter are kept on the row.
From then on, for 24 hours (``RETENTION``; ``flask api purge-idempotency`` deletes older rows):

- the same key with the same request (same path, same JSON body once parsed and re-serialised with sorted keys) is
  answered with the stored response, byte for byte, plus ``Idempotent-Replayed: true``; nothing runs again;
- the same key with another request (another body or another path) is refused, 422 ``idempotency_key_reused``;
- the same key while its first request is still running is refused, 409 ``idempotency_key_in_use`` with
  ``Retry-After``.

A server error (5xx, an exception) gives the key back, so the retry runs the operation again; so does a refusal of
the caller rather than of the request (401, 403, 429, a missing CSRF token), which the caller fixes in its headers,
and a clash with the present state (409), which may be gone when the same request comes again.

The answer is stored right after the operation's own commit, not in the same transaction (the views commit
themselves, and the body exists only once the view has answered): a process that dies between the two (killed by
the kernel for memory, by gunicorn for its timeout, by an operator) leaves the claim pending. The claim names the
process that made it (``claimant``): a retry served on the same machine takes a dead process's claim over at once;
one served elsewhere, which cannot see that process, after ``CLAIM_TIMEOUT``. That is why the per-resource recognition of retries
(an order group per key, an order move's key on its history entry…) stays in place as the second line.

"The caller" is the identity the request authenticated as (``caller()``): a key row for API keys (shop keys,
operator keys), else the signed-in user (the web session, a personal token).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from datetime import datetime, timedelta

from apispec import BasePlugin
from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.wrappers import Response

from marketplace.core import crypto
from marketplace.core.db import UTCDateTime, utcnow
from marketplace.extensions import db
from marketplace.orders.services import MAX_KEY_LENGTH

#: How long an answer is kept for replay; older records are deleted (``purge``) and no longer recognised.
RETENTION = timedelta(hours=24)
#: A claim whose request never stored its answer (its process died) is taken over after this long.
CLAIM_TIMEOUT = timedelta(minutes=5)
#: Seconds a client waits before retrying while the first request with its key is still running.
RETRY_AFTER = 1
#: Response headers kept with the answer (the rest are the app's own, added again on every response).
KEPT_HEADERS = ("Location", "ETag")
#: ``g`` attributes where an authenticator leaves the key row the request authenticated with (shop keys, operator
#: keys); the first one set names the caller.
KEY_ATTRIBUTES = ("api_token", "operator_token")

IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": True,
               "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
               "description": "每次提交一个新的随机值（如 UUID）；重试时用同一个值，不会重复执行：24 小时内同一个值、同样的"
                              "请求回答第一次的结果（响应头 Idempotent-Replayed: true）。"}
#: What every operation with the header may answer because of it, added to its documented responses.
KEY_RESPONSES = {
    400: "缺少或无效的 Idempotency-Key（code: missing_idempotency_key, invalid_idempotency_key）。",
    409: "同一个 Idempotency-Key 的第一次请求还在处理中（code: idempotency_key_in_use），按 Retry-After 等待后重试。",
    422: "这个 Idempotency-Key 已用于另一个请求（路径或请求体不同；code: idempotency_key_reused），新的请求请换一个新的值。",
}
REPLAYED_HEADER = {"description": "true：这是同一个 Idempotency-Key 第一次请求的结果，原样重放，操作没有再执行。",
                   "schema": {"type": "string", "enum": ["true"]}}


#: The key derivation's purpose for stored answers (``core.crypto``).
BODY_PURPOSE = b"idempotency-response"


class IdempotencyRecord(db.Model):
    """A claimed ``Idempotency-Key`` of one caller, and once answered, the answer to replay.

    Kept outside the tenant guard: a request finds its caller's key before anything else, and the key belongs to
    the caller, not to a tenant (``tenant_id`` only says where it was used, so a tenant's removal removes them).
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_who_key", "who", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The caller: "api_tokens:12", "operator_tokens:3" (a key row), or "user:40" (a session or personal token).
    who: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(10))
    #: The operation: its endpoint name ("api_resident.checkout") and the request's path, with its values.
    endpoint: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(500))
    #: Hex SHA-256 of the method, path and canonical JSON body: the same key must come with the same request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: None while the first request runs (the claim); then the answer's status, body and kept headers.
    status: Mapped[int | None] = mapped_column()
    #: Encrypted (``core.crypto``): answers may hold what only the caller should see, a payment's client secret.
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: The process running the claim (``claimant()``); None where it cannot say (no /proc).
    claimed_by: Mapped[str | None] = mapped_column(String(120))

    def __repr__(self) -> str:
        return f"<IdempotencyRecord {self.who} {self.key!r} {self.status}>"


# -- the process holding a claim --------------------------------------------------------------------------------

def _started(pid: int | str) -> str | None:
    """When process ``pid`` started (clock ticks since boot, /proc/<pid>/stat field 22); None if there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def _machine() -> str | None:
    """This kernel's boot and PID namespace: where a process id means the same process as here."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            return f"{boot.read().strip()}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None


def claimant() -> str | None:
    """This process, as a claim names it: machine, pid and start (a reused pid is another process)."""
    machine, started = _machine(), _started(os.getpid())
    return f"{machine}/{os.getpid()}/{started}" if machine and started else None


def claimant_gone(claimed_by: str | None) -> bool:
    """Whether the process named by a claim is known to be gone: only a process of this machine can be checked."""
    machine = _machine()
    if not claimed_by or not machine or not claimed_by.startswith(machine + "/"):
        return False
    pid, _sep, started = claimed_by[len(machine) + 1:].partition("/")
    return not pid.isdigit() or _started(pid) != started


# -- the parts of a request ---------------------------------------------------------------------------------------

def key_problem(key: str | None) -> tuple[int, str, str] | None:
    """Why ``key`` (the header's value, stripped) is not a usable key: (status, code, message); None when it is."""
    if not key:
        return 400, "missing_idempotency_key", _("请在请求头 Idempotency-Key 中给出本次提交的唯一编号。")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        return 400, "invalid_idempotency_key", _("Idempotency-Key 应为最多 %(max)d 个可打印的 ASCII 字符。",
                                                 max=MAX_KEY_LENGTH)
    return None


def request_key() -> str:
    """The request's ``Idempotency-Key`` header, stripped ("" when absent)."""
    return (request.headers.get("Idempotency-Key") or "").strip()


def fingerprint() -> str:
    """SHA-256 of the request's method, path (with its query) and body; a JSON body is parsed and re-serialised
    with sorted keys first, so that spacing and key order do not make a retry a different request."""
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # not JSON (the operation refuses it): the bytes as they are
        body = raw
    digest = hashlib.sha256(f"{request.method} {request.full_path.rstrip('?')}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def caller() -> str | None:
    """Who the request authenticated as: the key row it presented, else the signed-in user; None for nobody."""
    for attribute in KEY_ATTRIBUTES:
        row = g.get(attribute)
        if row is not None:
            return f"{type(row).__tablename__}:{row.id}"
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return None


# -- the decorator ------------------------------------------------------------------------------------------------

def _problem(status: int, code: str, detail: str, headers: dict | None = None):
    from marketplace.api.views import problem_response  # views imports this module

    return problem_response(status, code, detail=detail, headers=headers)


def _kept(response: Response) -> bool:
    """Whether an answer is the request's outcome (kept for replay) rather than a refusal of the caller, a clash
    with the present state (409: the cart changed, the slot filled, the stock moved — the same request may go
    through once that is resolved) or a failure of the server (the key is given back)."""
    if response.status_code >= 500 or response.status_code in (401, 403, 409, 429):
        return False
    if response.status_code == 400 and response.mimetype == "application/problem+json":
        return (response.get_json(silent=True) or {}).get("code") != "csrf_failed"
    return True


def _replay(record: IdempotencyRecord) -> Response | None:
    """The stored answer again; None when it can no longer be read (SECRET_KEY changed since)."""
    try:
        body = crypto.unseal_bytes(BODY_PURPOSE, record.body) if record.body else b""
    except crypto.Unreadable:
        return None
    headers = dict(record.headers or {})
    headers["Idempotent-Replayed"] = "true"
    return current_app.response_class(body, status=record.status, headers=headers)


def _claim(who: str, key: str, print_: str) -> IdempotencyRecord | Response:
    """Claim ``key`` for this request (committed), or the answer for a key already claimed."""
    now = utcnow()
    for _attempt in range(2):
        record = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.who == who,
                                                                   IdempotencyRecord.key == key))
        if record is not None and record.created_at < now - RETENTION:  # expired, not yet purged: forgotten
            db.session.delete(record)
            db.session.flush()
            record = None
        if record is None:
            tenant_id = g.tenant.id if g.get("tenant") is not None else None
            record = IdempotencyRecord(who=who, key=key, tenant_id=tenant_id, method=request.method,
                                       endpoint=(request.endpoint or "")[:100], path=request.path[:500],
                                       fingerprint=print_, created_at=now, claimed_by=claimant())
            db.session.add(record)
            try:
                db.session.commit()
            except IntegrityError:  # claimed a moment ago by a concurrent request: look again
                db.session.rollback()
                continue
            return record
        if record.fingerprint != print_:
            db.session.commit()  # what the request did before the decorator (a token's last use)
            return _problem(422, "idempotency_key_reused",
                            _("这个 Idempotency-Key 已用于另一个请求；新的请求请换一个新的值。"))
        if record.status is not None:
            response = _replay(record)
            if response is None:  # unreadable: forgotten, like an expired one (the operation's own checks remain)
                db.session.delete(record)
                db.session.commit()
                continue
            db.session.commit()
            return response
        if record.created_at < now - CLAIM_TIMEOUT or claimant_gone(record.claimed_by):
            # Its request died without answering: take the claim over (one retry wins; the others are told to wait).
            taken = db.session.execute(update(IdempotencyRecord).where(
                IdempotencyRecord.id == record.id, IdempotencyRecord.status.is_(None),
                IdempotencyRecord.created_at == record.created_at).values(created_at=now, claimed_by=claimant())
                .execution_options(synchronize_session=False)).rowcount
            db.session.commit()
            if taken == 1:
                db.session.refresh(record)
                return record
        db.session.commit()
        break
    return _problem(409, "idempotency_key_in_use", _("使用这个 Idempotency-Key 的第一次请求还在处理中，请稍后重试。"),
                    {"Retry-After": str(RETRY_AFTER)})


def _answer(view, args, kwargs) -> Response:
    """Run the view; its refusal (an exception the app's error handlers answer) becomes a response too."""
    try:
        result = view(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - answered as Flask would; re-raised when nothing handles it
        result = current_app.handle_user_exception(error)
    return current_app.make_response(result)


def _document(view) -> None:
    """Add the Idempotency-Key header parameter to the operation's documentation, unless it is there."""
    apidoc = getattr(view, "_apidoc", {})
    parameters = apidoc.get("manual_doc", {}).get("parameters", [])
    if not any(p is IDEMPOTENCY or (isinstance(p, dict) and p.get("name") == IDEMPOTENCY["name"])
               for p in parameters):
        view = Blueprint.doc(parameters=[*parameters, IDEMPOTENCY])(view)
    return view


def idempotent(view):
    """Make an API operation that creates something or moves state answer each ``Idempotency-Key`` once.

    Put it right under ``@blueprint.route(...)`` (it must see the final response). The header is documented as
    required; the view itself refuses a missing or invalid key (``key_problem``) — after its lookups, so that
    another tenant's object is still a 404 — and it never runs without one.
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key, who = request_key(), caller()
        if key_problem(key) is not None or who is None:
            response = _answer(view, args, kwargs)
            if response.status_code < 400:
                raise RuntimeError(f"{request.endpoint} ran without a usable Idempotency-Key: the view must refuse it")
            return response
        claimed = _claim(who, key, fingerprint())
        if isinstance(claimed, Response):
            return claimed
        record_id = claimed.id
        try:
            response = _answer(view, args, kwargs)
        except BaseException:
            _give_back(record_id)
            raise
        if not _kept(response):
            _give_back(record_id)
            return response
        db.session.rollback()  # whatever the view left uncommitted is not part of its answer
        db.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(
            status=response.status_code, body=crypto.seal_bytes(BODY_PURPOSE, response.get_data()),
            headers={name: response.headers[name] for name in ("Content-Type", *KEPT_HEADERS)
                     if name in response.headers}).execution_options(synchronize_session=False))
        db.session.commit()
        return response

    wrapper.idempotent = True
    return _document(wrapper)


def _give_back(record_id: int) -> None:
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()


def is_idempotent(view) -> bool:
    """Whether ``view`` (as registered) was decorated with ``idempotent``, looked for through its wrappers."""
    while view is not None:
        if getattr(view, "idempotent", False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


# -- upkeep -------------------------------------------------------------------------------------------------------

def purge(now: datetime | None = None) -> int:
    """Delete the records older than ``RETENTION``; returns how many. Flushes; the caller commits."""
    cutoff = (now or utcnow()) - RETENTION
    return db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
                              .execution_options(synchronize_session=False)).rowcount


class IdempotencyDocs(BasePlugin):
    """An apispec plugin (registered with the rate-limit one): every operation with the Idempotency-Key header
    documents what the header may answer (400, 409, 422) and the ``Idempotent-Replayed`` header of a replay."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if not isinstance(operation, dict) or not any(
                    isinstance(p, dict) and p.get("name") == IDEMPOTENCY["name"] and p.get("in") == "header"
                    for p in operation.get("parameters", [])):
                continue
            responses = operation.setdefault("responses", {})
            for status, text in KEY_RESPONSES.items():
                found = responses.get(str(status), responses.get(status))
                if found is None or isinstance(found, str) or "$ref" in found:  # flask-smorest's shared 422 of a body: said here in full
                    responses.pop(status, None)
                    lead = "请求未通过校验，errors 逐字段说明（code: validation_failed）。\n\n" if found else ""
                    responses[str(status)] = {"description": lead + text, "content": {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}}}}
                elif isinstance(found, dict) and "$ref" not in found and text not in found.get("description", ""):
                    found["description"] = f"{found.get('description', '')}\n\n{text}".strip()
                if status == 409 and isinstance(responses.get(str(status), responses.get(status)), dict):
                    responses.get(str(status), responses.get(status)).setdefault("headers", {}).setdefault(
                        "Retry-After", {"description": "等待的秒数（idempotency_key_in_use）", "schema": {"type": "integer"}})
            for status, response in responses.items():
                if str(status).startswith("2") and isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("headers", {}).setdefault("Idempotent-Replayed", REPLAYED_HEADER)
