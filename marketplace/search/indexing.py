"""Keeping the index true: changes reach it after the database commit, never before, never when rolled back.

The ORM session reports what each flush touched (products, variants, price tiers, shops, categories); the
ids wait in ``session.info`` until the transaction commits, and are dropped when it rolls back. After the
commit they become one ``sync`` per tenant:

* inline (no Redis, or ``SEARCH_INDEXING = "inline"``): at the end of the next request or app context of
  the process, or before its next search, so a process always reads its own writes;
* on the RQ queue when Redis is configured (``SEARCH_INDEXING = "auto"``, the default, or ``"queue"``).

``sync`` reads the products' current state from the database and writes or deletes their documents, so
running it twice, late, or for ids that did not change is harmless. Code that changes products with bulk
SQL (which the session does not see) calls ``touch``.

``reindex`` rebuilds a tenant's whole index beside the live one and switches to it. Products synced while
it runs are noted in ``search_journal`` and synced again once it has switched, so no change is lost.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

from flask import current_app, has_app_context
from flask.globals import app_ctx
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from marketplace.catalog.models import Category, PriceTier, Product, Variant
from marketplace.core import page_cache
from marketplace.core.db import reset_write_intent, set_write_intent, writing
from marketplace.extensions import db
from marketplace.media.jobs import enqueue, log_queue_failure
from marketplace.search import documents
from marketplace.search.models import SearchJournal
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant

log = logging.getLogger(__name__)

KINDS = ("product", "variant", "shop", "category")
_PENDING = "search_pending"
#: Set while the session's transaction has flushed writes (whatever they touched), cleared at its end.
_WRITTEN = "search_written"
_lock = threading.Lock()
_REINDEX_MARK = 0


# -- what a transaction touched ---------------------------------------------------------------------------------

def _touched(obj) -> tuple[str, int] | None:
    if isinstance(obj, Product):
        return "product", obj.id
    if isinstance(obj, Variant):
        return "product", obj.product_id
    if isinstance(obj, PriceTier):
        return "variant", obj.variant_id
    if isinstance(obj, Shop):
        return "shop", obj.id
    if isinstance(obj, Category):
        return "category", obj.id
    return None


def _after_flush(session: Session, _context) -> None:
    session.info[_WRITTEN] = True
    for obj in (*session.new, *session.dirty, *session.deleted):
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        touched = _touched(obj)
        tenant_id = getattr(obj, "tenant_id", None)
        if touched is not None and touched[1] is not None and tenant_id is not None:
            _note(session, tenant_id, *touched)


def _note(session: Session, tenant_id: int, kind: str, ident: int) -> None:
    pending = session.info.setdefault(_PENDING, {})
    pending.setdefault(tenant_id, {k: set() for k in KINDS})[kind].add(ident)


def touch(tenant_id: int, kind: str, ids: Iterable[int]) -> None:
    """Note changes made with bulk SQL, synced when the current transaction commits."""
    for ident in ids:
        _note(db.session(), tenant_id, kind, ident)


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    mode = current_app.config["MARKETPLACE"]["SEARCH_INDEXING"]
    # Without Redis there is no queue: "queue" would make jobs.enqueue run the sync here, in after_commit,
    # where the session can emit no SQL. Run it inline instead.
    queued = mode != "inline" and bool(current_app.config["MARKETPLACE"].get("REDIS_URL"))
    for tenant_id, touched in pending.items():
        args = (tenant_id, *(sorted(touched[k]) for k in KINDS))
        if queued:
            try:
                enqueue("marketplace.search.indexing.sync", *args)  # no SQL here: between transactions
                continue
            except Exception:  # Redis down: the change is saved; index it in this process instead of losing it
                log_queue_failure(log, "could not queue a search index update; indexing it in this process")
        with _lock:
            _committed(current_app).append((_context_id(), args))


def _after_soft_rollback(session: Session, previous) -> None:
    if previous.parent is None:  # the whole transaction, not a savepoint inside it
        session.info.pop(_PENDING, None)


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # committed, rolled back or closed: nothing of it is uncommitted any more
        session.info.pop(_WRITTEN, None)
        session.info.pop(_PENDING, None)  # (a commit has handed its notes on already, in after_commit)


def install() -> None:
    """Listen to every ORM session of the process (once, however many apps are built)."""
    if event.contains(Session, "after_flush", _after_flush):
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)
    event.listen(Session, "after_transaction_end", _after_transaction_end)
    event.listen(Session, "do_orm_execute", _after_bulk_statement)


def _committed(app) -> list:
    """Changes this process committed and has not synced yet (inline mode), for any request or command."""
    return app.extensions.setdefault("search_committed", [])


def _context_id() -> int:
    return id(app_ctx._get_current_object())


def run_pending(*, everyone: bool = True) -> None:
    """Sync what this process committed (inline mode); a failure is logged, the page still answers.

    Searches sync every context's commits (a process reads its own writes); the end of a request or command
    syncs only its own, so a request never pays for work another context left behind.
    """
    if not has_app_context() or has_uncommitted_writes(db.session()):
        return
    mine = _context_id()
    while True:
        with _lock:
            pending = _committed(current_app)
            committed = [args for owner, args in pending if everyone or owner == mine]
            pending[:] = [] if everyone else [(owner, args) for owner, args in pending if owner != mine]
        if not committed:
            return
        # One sync per tenant for every commit so far: a shop change and fifty product commits read each
        # product once, not once per commit that mentioned it.
        merged: dict[int, list[set]] = {}
        for tenant_id, *ids in committed:
            for known, more in zip(merged.setdefault(tenant_id, [set() for _ in KINDS]), ids, strict=True):
                known.update(more)
        for tenant_id, ids in merged.items():
            _sync_logged(tenant_id, *(sorted(i) for i in ids))


def has_uncommitted_writes(session: Session) -> bool:
    """Whether the session's transaction holds uncommitted writes (flushed, pending, or bulk statements).

    Work that would wait on the database's write lock (a journal row, a query-log row) must not start while
    the caller holds it; and where the caller's connection is shared (tests) a sync would see its writes.
    """
    return bool(session.info.get(_WRITTEN) or session.info.get(_PENDING)
                or session.new or session.dirty or session.deleted)


def _after_bulk_statement(state) -> None:
    """``session.execute(update(...))`` and the like change rows without a flush: note the write too."""
    if state.is_update or state.is_delete or state.is_insert:
        state.session.info[_WRITTEN] = True


def _sync_logged(*args) -> None:
    try:
        sync(*args)
    except Exception:  # the index is a copy: a reindex repairs it; the user's change is already saved
        log.exception("search index update failed for tenant %s", args[0])
        db.session.rollback()


def init_app(app) -> None:
    app.after_request(_run_pending_after_request)
    app.teardown_appcontext(_run_pending_at_teardown)


def _run_pending_after_request(response):
    if _committed(current_app):  # most requests commit nothing to index: they do not even open a session
        run_pending(everyone=False)
    return response


def _run_pending_at_teardown(_exc) -> None:
    mine = _context_id()
    if any(owner == mine for owner, _args in _committed(current_app)):
        db.session.rollback()  # what the request left uncommitted is discarded anyway: never index it
        run_pending(everyone=False)
        db.session.remove()


# -- syncing ----------------------------------------------------------------------------------------------------

def _product_ids(product_ids, variant_ids, shop_ids, category_ids) -> set[int]:
    ids = set(product_ids)
    if variant_ids:
        ids.update(db.session.scalars(select(Variant.product_id).where(Variant.id.in_(variant_ids))))
    if shop_ids:
        ids.update(db.session.scalars(select(Product.id).where(Product.shop_id.in_(shop_ids))))
    if category_ids:
        paths = documents.category_paths()
        subtree = {c for c, path in paths.items() if any(p.id in category_ids for p in path)}
        ids.update(db.session.scalars(select(Product.id).where(Product.category_id.in_(subtree))))
    return ids


def sync(tenant_id: int, product_ids=(), variant_ids=(), shop_ids=(), category_ids=()) -> None:
    """Bring these products' documents in line with the database (a job: plain arguments only).

    Runs in an application context of its own, so in a session of its own: it reads what is committed once it
    holds the tenant's lock (not a snapshot the caller took earlier), and never touches the caller's
    transaction or the objects it loaded. Reads don't take the database's write lock, even inside a POST.
    """
    with _tenant_lock(tenant_id), current_app.app_context():  # two syncs never cross: the later read lands last
        token = set_write_intent(False)
        try:
            _sync(tenant_id, product_ids, variant_ids, shop_ids, category_ids)
        finally:
            reset_write_intent(token)
        page_cache.tenant_changed(tenant_id)  # search pages rendered before the index had the change are stale


@contextmanager
def _tenant_lock(tenant_id: int, what: str = "sync", *, wait: bool = True):
    """One sync (or one reindex) at a time per tenant on this machine: web workers and job workers share the
    instance folder. Without ``wait``, a lock already taken raises ``AlreadyRunning``."""
    folder = Path(current_app.instance_path) / "search" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{what}-{tenant_id}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(what) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sync(tenant_id: int, product_ids, variant_ids, shop_ids, category_ids) -> None:
    from marketplace.search import services

    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        return
    with tenant_scope(tenant):
        ids = _product_ids(product_ids, variant_ids, shop_ids, category_ids)
        if not ids:
            return
        reindexing = db.session.scalar(select(SearchJournal.id).where(SearchJournal.product_id == _REINDEX_MARK)
                                       .limit(1)) is not None
        if reindexing:  # noted first: whichever index this write lands in, the reindex syncs it again
            db.session.rollback()
            with writing():
                db.session.add_all(SearchJournal(tenant_id=tenant.id, product_id=i) for i in ids)
                db.session.commit()
        docs, gone = documents.for_ids(services.analyser(), ids)
        backend = services.backend_for(tenant)
        target = services.index_of(tenant)
        if docs:
            backend.index(target, docs)
        if gone:
            backend.delete(target, gone)


class AlreadyRunning(RuntimeError):
    """Another process is reindexing this tenant."""


def reindex(tenant: Tenant, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the tenant's index from the database, switch to it, and catch up what changed meanwhile.

    One reindex per tenant at a time (a second would clear the first one's journal): raises ``AlreadyRunning``.
    """
    from marketplace.search import services

    with _tenant_lock(tenant.id, "reindex", wait=False), tenant_scope(tenant):
        with writing():
            db.session.execute(delete(SearchJournal))
            db.session.add(SearchJournal(tenant_id=tenant.id, product_id=_REINDEX_MARK))
            db.session.commit()
        try:  # the rebuild only reads: other writers keep writing meanwhile
            count = services.backend_for(tenant).reindex(
                services.index_of(tenant), documents.all_documents(services.analyser(), progress))
        finally:
            db.session.rollback()
            with writing():
                db.session.execute(delete(SearchJournal).where(SearchJournal.product_id == _REINDEX_MARK))
                db.session.commit()
        changed = set(db.session.scalars(select(SearchJournal.product_id)))
        db.session.rollback()  # no transaction of ours stays open while the sync waits for its lock
        if changed:
            sync(tenant.id, sorted(changed))
        with writing():
            db.session.execute(delete(SearchJournal).where(SearchJournal.product_id.in_(changed)))
            db.session.commit()
    page_cache.tenant_changed(tenant.id)
    return count
