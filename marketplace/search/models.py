"""What the search module keeps in the main database: the query log and the reindex journal."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.tenancy.models import TenantScoped


class SearchQueryStat(TenantScoped, db.Model):
    """How often a query was searched in a tenant on one day, and how often it found nothing.

    Only the normalised query text is kept: no user, no address, no session — and queries that look like a
    phone or ID number are not logged at all (see ``services.loggable``).
    """

    __tablename__ = "search_query_stats"
    __table_args__ = (
        UniqueConstraint("tenant_id", "day", "query"),
        CheckConstraint("searches >= 1", name="searches"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    query: Mapped[str] = mapped_column(String(100))
    searches: Mapped[int] = mapped_column(default=1)
    zero_results: Mapped[int] = mapped_column(default=0)


class SearchJournal(TenantScoped, db.Model):
    """While a tenant is reindexed: a row with ``product_id`` 0 marks the run, and every product indexed
    meanwhile is noted, so the run can index it again after it switches to the new index."""

    __tablename__ = "search_journal"
    __table_args__ = (Index("ix_search_journal_tenant_id_product_id", "tenant_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column()
