"""The tenant guard: every ORM query of a tenant-owned model is filtered to the current tenant.

Installed on SQLAlchemy's Session class, it

- adds ``tenant_id = <current tenant>`` to every SELECT, UPDATE and DELETE that touches a model with
  the ``TenantScoped`` mixin (joins, subqueries and relationship loads included);
- raises ``TenantRequired`` when such a query runs with no current tenant, unless the code opted out
  visibly with ``all_tenants()`` or ``.execution_options(all_tenants=True)``;
- refuses to flush a tenant-owned row that belongs to another tenant, or to move a row between
  tenants, and fills in ``tenant_id`` on new rows from the current tenant.

Failing closed turns a forgotten filter into an error a test sees, instead of a data leak.
"""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import MANYTOONE, ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import visitors
from sqlalchemy.sql.schema import Table

from marketplace.tenancy.context import all_tenants_allowed, current_tenant_id
from marketplace.tenancy.models import TenantScoped


class TenantRequired(RuntimeError):
    """A tenant-owned model was queried or written with no tenant set and no visible opt-out."""


class TenantMismatch(RuntimeError):
    """A tenant-owned row was about to be written under another tenant."""


def install() -> None:
    """Attach the guard to every SQLAlchemy session (idempotent)."""
    if not event.contains(Session, "do_orm_execute", _filter_query):
        event.listen(Session, "do_orm_execute", _filter_query)
        event.listen(Session, "before_flush", _check_writes)


_tenant_table_cache: tuple[int, frozenset[str]] = (-1, frozenset())


def _tenant_tables() -> frozenset[str]:
    """Names of the tables with the mixin, recomputed only when models are added."""
    global _tenant_table_cache
    from marketplace.extensions import db

    mappers = db.Model.registry.mappers
    if _tenant_table_cache[0] != len(mappers):
        _tenant_table_cache = (len(mappers), frozenset(
            mapper.local_table.name for mapper in mappers
            if issubclass(mapper.class_, TenantScoped) and isinstance(mapper.local_table, Table)
        ))
    return _tenant_table_cache[1]


def _touches_tenant_tables(statement) -> bool:
    names = _tenant_tables()
    return any(isinstance(element, Table) and element.name in names for element in visitors.iterate(statement))


def _filter_query(state: ORMExecuteState) -> None:
    if state.is_column_load:
        return
    if state.execution_options.get("all_tenants") or all_tenants_allowed():
        return
    if state.is_insert:
        _check_insert_statement(state)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tenant_id = current_tenant_id()
    if tenant_id is None:
        if _touches_tenant_tables(state.statement):
            raise TenantRequired(
                "A tenant-owned table was queried with no current tenant. Run it inside tenant_scope(tenant), "
                "or opt out visibly with all_tenants() where the page is platform-wide."
            )
        return
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def _check_insert_statement(state: ORMExecuteState) -> None:
    """INSERT statements (bulk imports) into tenant tables must name the current tenant in every row."""
    if not _touches_tenant_tables(state.statement):
        return
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantRequired("Rows were inserted into a tenant-owned table with no current tenant.")
    params = state.parameters
    rows = list(params) if isinstance(params, list | tuple) else [params or {}]
    named = [row.get("tenant_id") for row in rows]
    for column, value in (getattr(state.statement, "_values", None) or {}).items():
        if getattr(column, "key", column) == "tenant_id":
            named = [getattr(value, "value", value)] * len(rows)
    if not named or any(owner != tenant_id for owner in named):
        raise TenantMismatch(f"Inserted rows must all belong to the current tenant {tenant_id}: got {set(named)}.")


def _check_writes(session: Session, _flush_context, _instances) -> None:
    tenant_id = current_tenant_id()
    opted_out = all_tenants_allowed()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        owner = obj.tenant_id
        if owner is None and obj.__dict__.get("tenant") is not None:
            owner = obj.__dict__["tenant"].id
        if owner is None:
            if tenant_id is None:
                raise TenantRequired(f"New {type(obj).__name__} has no tenant and no tenant is current.")
            obj.tenant_id = tenant_id
        elif not opted_out:
            _require_current(obj, owner, tenant_id, "created")
    for obj in session.dirty:
        if not isinstance(obj, TenantScoped) or not session.is_modified(obj):
            continue
        if inspect(obj).attrs.tenant_id.history.deleted or _reassigned(obj):
            raise TenantMismatch(f"{type(obj).__name__} cannot move to another tenant.")
        if not opted_out:
            _require_current(obj, obj.tenant_id, tenant_id, "changed")
    for obj in session.deleted:
        if isinstance(obj, TenantScoped) and not opted_out:
            _require_current(obj, obj.tenant_id, tenant_id, "deleted")


def _require_current(obj, owner: int, tenant_id: int | None, action: str) -> None:
    if tenant_id is None:
        raise TenantRequired(f"{type(obj).__name__} of tenant {owner} {action} with no current tenant.")
    if owner != tenant_id:
        raise TenantMismatch(f"{type(obj).__name__} of tenant {owner} {action} while tenant {tenant_id} is current.")


def _reassigned(obj) -> bool:
    """Whether a many-to-one relationship that sets ``tenant_id`` (``shop.tenant = …``) now names another tenant."""
    state = inspect(obj)
    for relationship in state.mapper.relationships:
        if relationship.direction is MANYTOONE and any(c.key == "tenant_id" for c in relationship.local_columns):
            added = state.attrs[relationship.key].history.added
            if added and (added[0] is None or added[0].id != obj.tenant_id):
                return True
    return False
