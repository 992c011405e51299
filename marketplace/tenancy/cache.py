"""What every tenant request reads and operators rarely change, from the shared cache (``marketplace.core.cache``):
the tenant of a slug, the tenant of a custom domain, and a module's stored settings.

Every key names the tenant (its slug or id) or the host, so no entry can answer for another tenant. A flush that
touches a tenant, a domain or a setting notes the keys it made stale; they are invalidated when the transaction
ends. Bulk SQL on those tables (which names no rows) invalidates the whole cache.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached

from marketplace.core import cache as shared_cache
from marketplace.extensions import db
from marketplace.tenancy.models import Tenant, TenantDomain, TenantSetting

_TABLES = {Tenant.__tablename__, TenantDomain.__tablename__, TenantSetting.__tablename__}
#: Settings read in this request, by key: kept in the request's own environ (not ``g``, which an application
#: context shares with every request made inside it, as tests and CLI commands do).
_READ = "marketplace.tenant_settings_read"
_GENERATION = "changes seen"
#: How many times a session of this process has flushed a change to settings (or bulk SQL on them).
_changes = [0]


def tenant_key(slug: str) -> str:
    return f"tenant:{slug}"


def host_key(host: str) -> str:
    return f"host:{host}"


def settings_key(tenant_id: int, module: str) -> str:
    return f"settings:{tenant_id}:{module}"


# -- reading ----------------------------------------------------------------------------------------------------

def tenant_by_slug(slug: str) -> Tenant | None:
    """The tenant with this slug, as a persistent object of the session, built from the cache without a query."""
    loaded: list[Tenant] = []

    def load() -> dict[str, Any] | None:
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            return None
        loaded.append(tenant)
        return {attr.key: getattr(tenant, attr.key) for attr in inspect(Tenant).column_attrs}

    values = shared_cache.read_through(tenant_key(slug), load)
    if loaded:
        return loaded[0]
    return None if values is None else _attach(values)


def _attach(values: dict[str, Any]) -> Tenant:
    """A Tenant that the session treats as loaded from its row: lazy relationships and a later refresh work."""
    session = db.session()
    known = session.identity_map.get(inspect(Tenant).identity_key_from_primary_key([values["id"]]))
    if known is not None:  # already in this session, maybe with changes of its own
        return known
    # Only columns this code knows: during a rolling deploy the other release may have cached one more or fewer
    # (a missing one loads on first use, like any expired attribute).
    columns = {attr.key for attr in inspect(Tenant).column_attrs}
    tenant = Tenant(**{key: value for key, value in values.items() if key in columns})
    make_transient_to_detached(tenant)  # the values count as the row's, not as changes
    session.add(tenant)
    return tenant


def slug_for_domain(host: str) -> str | None:
    """The slug of the tenant that a custom domain serves; unknown hosts are cached too (as None)."""
    return shared_cache.read_through(host_key(host), lambda: db.session.scalar(
        select(Tenant.slug).join(TenantDomain).where(TenantDomain.domain == host)))


def stored_settings(tenant: Tenant, module: str) -> dict[str, Any]:
    """The values stored for ``module`` in ``tenant``, by name (no defaults).

    Read once per request: a checkout asks for the payment and order settings a dozen times, and code that will
    write reads past the shared cache, so each ask would be a query. A setting the request changes is read again.
    """
    state = inspect(tenant)
    tenant_id = state.identity[0] if state.identity else tenant.id  # a tenant a commit expired is not reloaded
    key = settings_key(tenant_id, module)
    read = _read_in_request()
    if key in read:
        return read[key]

    def load() -> dict[str, Any]:
        rows = db.session.execute(select(TenantSetting.name, TenantSetting.value)
                                  .where(TenantSetting.tenant_id == tenant_id, TenantSetting.module == module)
                                  .execution_options(all_tenants=True))
        return {name: value for name, value in rows}

    values = shared_cache.read_through(key, load)
    if not shared_cache.changed_in_transaction(db.session(), key):
        read[key] = values
    return values


def _read_in_request() -> dict[str, Any]:
    """This request's settings read so far; emptied when any session of this process has changed settings since
    (a request reads its own changes, and those of requests made inside it, as tests and commands make them)."""
    if not has_request_context():
        return {}
    read = request.environ.setdefault(_READ, {})
    if read.get(_GENERATION) != _changes[0]:
        read.clear()
        read[_GENERATION] = _changes[0]
    return read


def _settings_changed() -> None:
    _changes[0] += 1


# -- invalidation -----------------------------------------------------------------------------------------------

def install() -> None:
    """Listen to every ORM session of the process (once, however many apps are built)."""
    if event.contains(Session, "after_flush", _after_flush):
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _after_bulk_statement)


def _cached_rows(session: Session):
    return (obj for obj in (*session.dirty, *session.deleted) if isinstance(obj, Tenant | TenantDomain | TenantSetting))


def _before_flush(session: Session, _context, _instances) -> None:
    # The keys come from these columns: load any that a commit expired now, while the session may still query.
    for obj in _cached_rows(session):
        for name in _key_columns(obj):
            getattr(obj, name)


def _key_columns(obj) -> tuple[str, ...]:
    if isinstance(obj, Tenant):
        return ("id", "slug")
    if isinstance(obj, TenantDomain):
        return ("domain",)
    return ("tenant_id", "module")


def _values(obj, name: str) -> set:
    """The attribute's value now and before this flush (a renamed slug or domain is stale under both)."""
    history = inspect(obj).attrs[name].history
    return {value for value in (*history.added, *history.unchanged, *history.deleted) if value is not None}


def _after_flush(session: Session, _context) -> None:
    keys: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue  # a shop added to tenant.shops changes no cached row
        if isinstance(obj, Tenant):
            slugs = _values(obj, "slug")
            keys.update(tenant_key(slug) for slug in slugs)
            if len(slugs) > 1 and obj.id is not None:  # renamed: its domains now lead to the new slug
                domains = session.connection().scalars(select(TenantDomain.domain).where(TenantDomain.tenant_id == obj.id))
                keys.update(host_key(domain) for domain in domains)
        elif isinstance(obj, TenantDomain):
            keys.update(host_key(domain) for domain in _values(obj, "domain"))
        elif isinstance(obj, TenantSetting):
            keys.update(settings_key(tenant_id, module)
                        for tenant_id in _values(obj, "tenant_id") for module in _values(obj, "module"))
    if keys:
        shared_cache.note_changed(session, keys)
        _settings_changed()


def _after_bulk_statement(state) -> None:
    """``update(Tenant)`` and the like change rows the session cannot name: everything cached goes."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _TABLES:
        shared_cache.note_changed(state.session, {shared_cache.EVERYTHING})
        _settings_changed()
