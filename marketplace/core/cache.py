"""The shared cache (Flask-Caching) and how the platform reads through it without ever trusting it too far.

Every worker on the host sees the same entries: Redis when ``MARKETPLACE_REDIS_URL`` is set, otherwise files in
the instance folder. Keys start with a prefix per deployment (``MARKETPLACE_CACHE_KEY_PREFIX``, by default taken
from the database URL), so two deployments sharing a Redis never read each other's entries.

``read_through(key, load)`` returns the cached value or ``load()``'s, and caches the latter unless

* the code running intends to write (an unsafe request, ``writing()``): it always reads the database, so what
  it writes rests on committed rows (read, then write on what was read, must not lose an update);
* the current transaction has flushed a change to what the key mirrors (``changed_in_transaction``): it reads
  its own writes from the database until it ends, and never caches them before they are committed;
* the key was invalidated while ``load()`` ran: each invalidation writes a fresh token under the key's
  ``epoch:`` entry, read before and after the load, so a reader that loaded the old row does not put it back.

Keys a transaction changed are invalidated when it ends (after the commit; harmlessly after a rollback too).
Every entry expires after ``TTL_S`` all the same. A cache that does not answer costs a page nothing but the
database reads it would have made anyway: errors are logged and the cache is left alone for ``RETRY_S``.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.core.db import write_intended
from marketplace.extensions import cache, db

log = logging.getLogger(__name__)

#: Longest an entry lives, whatever happens to invalidations (a lost delete, a reader that stalled).
TTL_S = 60
#: Epoch tokens outlive the entries they guard, so a slow reader still sees that its key changed.
EPOCH_TTL_S = 600
#: After a cache error, how long this process leaves the cache alone and reads the database.
RETRY_S = 15
#: Invalidates every key (bulk SQL on a cached table, whose rows the session cannot name).
EVERYTHING = "*"
_CHANGED = "shared_cache_changed"
_FOUND = "found"
_EPOCHS = "epochs"
_down_until: dict[int, float] = {}


def config_for(settings: dict, instance_path: str) -> dict:
    """Flask-Caching settings: Redis when configured, else files every worker on the host shares."""
    prefix = settings.get("CACHE_KEY_PREFIX") or "shangdu:" + hashlib.sha256(
        str(settings.get("DATABASE_URL") or instance_path).encode()).hexdigest()[:12] + ":"
    if settings.get("REDIS_URL"):
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings["REDIS_URL"], "CACHE_KEY_PREFIX": prefix,
                "CACHE_DEFAULT_TIMEOUT": TTL_S, "CACHE_IGNORE_ERRORS": True,  # a key re-cached meanwhile is no error
                # A Redis that does not answer must not hold a page up for long (see RETRY_S).
                "CACHE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
    return {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(Path(instance_path) / "cache" / prefix.strip(":")),
            "CACHE_DEFAULT_TIMEOUT": TTL_S, "CACHE_THRESHOLD": 20_000}


def init_app(app) -> None:
    cache.init_app(app, config=config_for(app.config["MARKETPLACE"], app.instance_path))
    if not event.contains(Session, "after_transaction_end", _after_transaction_end):
        event.listen(Session, "after_transaction_end", _after_transaction_end)


def _call(operation: str, *args, default=None, always: bool = False):
    """One cache operation; on any error the default, and the cache rests for RETRY_S (writes of invalidations
    are always tried: a stale entry must not outlive an outage when one try could remove it)."""
    backend = cache.cache
    if not always and time.monotonic() < _down_until.get(id(backend), 0):
        return default
    try:
        return getattr(backend, operation)(*args)
    except Exception as exc:  # Redis down, a full disk: the database still answers
        if time.monotonic() >= _down_until.get(id(backend), 0):
            log.warning("shared cache unavailable (%s: %s); reading the database for %s s",
                        type(exc).__name__, exc, RETRY_S)
        _down_until[id(backend)] = time.monotonic() + RETRY_S
        return default


def _epoch(key: str) -> str:
    return "epoch:" + key


def read_through(key: str, load: Callable[[], Any]) -> Any:
    """The value cached under ``key``, or ``load()``'s (cached when safe). ``key`` must name the tenant."""
    if not has_app_context():
        return load()
    session = db.session()
    # Code that will write reads what it decides on from the database: the value it then writes must rest on the
    # row as committed, not on an entry that the previous writer's commit has not invalidated yet (a lost update).
    if write_intended() or changed_in_transaction(session, key):
        return load()
    entry, epoch, epoch_all = _call("get_many", key, _epoch(key), _epoch(EVERYTHING), default=(None, None, None))
    # An entry counts only under the epochs it was loaded under: one put back just after an invalidation (or left
    # by a delete that failed) is a miss at once, not for TTL_S.
    if isinstance(entry, dict) and _FOUND in entry and entry.get(_EPOCHS) == [epoch, epoch_all]:
        return entry[_FOUND]
    # A SQLite transaction reads the snapshot of its first statement, which may be older than the epochs just
    # read: what it loads is used, not stored. (PostgreSQL's READ COMMITTED reads the latest commit.)
    snapshot = session.in_transaction() and session.get_bind().dialect.name == "sqlite"
    value = load()
    if not snapshot and not changed_in_transaction(session, key):  # load() may have flushed a change (autoflush)
        now = _call("get_many", _epoch(key), _epoch(EVERYTHING), default=None)
        if now is not None and list(now) == [epoch, epoch_all]:
            _call("set", key, {_FOUND: value, _EPOCHS: [epoch, epoch_all]}, TTL_S)
    return value


def changed_in_transaction(session: Session, key: str) -> bool:
    changed = session.info.get(_CHANGED)
    return bool(changed) and (key in changed or EVERYTHING in changed)


def note_changed(session: Session, keys: Iterable[str]) -> None:
    """Keys whose rows this transaction changed: read from the database until it ends, invalidated then."""
    session.info.setdefault(_CHANGED, set()).update(keys)


def invalidate(keys: Iterable[str]) -> None:
    keys = set(keys)
    if not keys:
        return
    if EVERYTHING in keys:
        _call("clear", always=True)  # also drops the epochs: the new ones below stop old readers
    token = uuid.uuid4().hex
    # Every key gets a fresh epoch, after a clear too: keys built from epochs (pages) must move, not fall back.
    _call("set_many", {_epoch(key): token for key in keys}, EPOCH_TTL_S, always=True)
    if keys - {EVERYTHING}:
        _call("delete_many", *(keys - {EVERYTHING}), always=True)


def clear() -> None:
    _call("clear", always=True)


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint: its writes are not committed yet (or were undone)
        return
    changed = session.info.pop(_CHANGED, None)
    if changed and has_app_context():
        invalidate(changed)


def get(key: str) -> Any:
    """The entry under ``key`` (None when absent or when the cache does not answer)."""
    return _call("get", key)


def put(key: str, value: Any, ttl: int) -> None:
    _call("set", key, value, ttl)


def get_with_epochs(key: str, keys: list[str]) -> tuple[Any, list[str | None]] | None:
    """The entry under ``key`` and the current invalidation tokens of ``keys``, in one round trip; None when the
    cache does not answer."""
    values = _call("get_many", key, *(_epoch(each) for each in keys), default=None)
    return None if values is None else (values[0], list(values[1:]))


def epochs(keys: list[str]) -> list[str | None] | None:
    """The current invalidation token of each key (None: never invalidated); None when the cache does not answer."""
    values = _call("get_many", *(_epoch(key) for key in keys), default=None)
    return None if values is None else list(values)
