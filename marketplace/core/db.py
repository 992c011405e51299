"""Database conventions shared by every domain: the declarative base, SQLite tuning, write transactions."""

from __future__ import annotations

import contextlib
import contextvars
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: The largest id an integer primary key holds (PostgreSQL INTEGER): a bigger number in a URL or form is no row,
#: and must be answered as such before it reaches the database (which would raise on it).
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on every backend (SQLite would hand them back naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given where a UTC timestamp is stored")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# -- SQLite -------------------------------------------------------------------------------------------

#: Set while the code about to open a transaction intends to write (see ``writing``).
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("marketplace_write_intent", default=False)


class AppendOnly(RuntimeError):
    """A history kept append-only (order, shipment, complaint and IP-notice events, the audit log) was about to be
    rewritten."""


def append_only(model, what: str) -> None:
    """Refuse in the ORM any change to or deletion of ``model``'s rows; ``what`` names one in the message."""
    def refuse(_mapper, _connection, target) -> None:
        raise AppendOnly(f"{what} {target.id} cannot be changed or deleted")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for write transactions.

    pysqlite opens transactions lazily and cannot take the write lock up front; a deferred transaction
    that reads and then writes fails at once with "database is locked" when another writer got in
    between (busy_timeout does not help there). So we emit BEGIN ourselves and make it IMMEDIATE when
    the transaction is meant to write: writers then queue on the lock for up to ``busy_timeout_ms``.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


@contextlib.contextmanager
def writing():
    """Open the transactions begun inside this block as write transactions.

    Services that take stock or money wrap their work in it; every unsafe HTTP request (POST, PUT,
    PATCH, DELETE) is inside one already. Only SQLite cares; other databases ignore it.
    """
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def write_intended() -> bool:
    """Whether the code running now declared that it will write (an unsafe request, or inside ``writing()``)."""
    return _write_intent.get()


def set_write_intent(value: bool) -> contextvars.Token:
    return _write_intent.set(value)


def reset_write_intent(token: contextvars.Token) -> None:
    _write_intent.reset(token)


def end_session_safely(_exc=None) -> None:
    """teardown_appcontext, before Flask-SQLAlchemy's own: close the session, and when the database cut the
    connection (a restart, a failover) so that even the closing rollback fails, invalidate the connection instead.
    Otherwise ending the request would raise an error of its own, past every error handler: a bare 500."""
    from marketplace.extensions import db

    if not db.session.registry.has():
        return
    session = db.session()  # the session itself: the scoped proxy has no invalidate()
    try:
        session.close()  # what Flask-SQLAlchemy's teardown does; objects keep what they loaded
    except SQLAlchemyError:
        session.invalidate()
