"""Returns as they were submitted: the archive the statistics law asks for (SR-3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.extensions import db

#: What a submitted report is: the monthly statistics return, or the half-yearly report of merchants' identity.
KINDS = ("statistics", "merchant_identity")


class StatisticsReturn(db.Model):
    """One submitted report of the whole city, frozen: a correction is a new version, never an edit.

    City-wide, so outside the tenant guard (like ``PaymentEvent``); it holds aggregates, never a person's data.
    """

    __tablename__ = "statistics_returns"
    __table_args__ = (UniqueConstraint("kind", "period", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="statistics")
    #: The month of a statistics return (``2026-11``), the half-year of an identity report (``2026-H2``).
    period: Mapped[str] = mapped_column(String(7))  # looked up through the unique (kind, period, version)
    version: Mapped[int] = mapped_column()
    #: The form it was filed on (表号, 制定机关, 批准文号, 有效期), as it stood then.
    form: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: What was submitted: for statistics, the JSON of ``/api/v1/statistics`` by tenant, category and district;
    #: for an identity report, the merchants of each tenant.
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(500), default="")


class FrozenReturn(RuntimeError):
    """A submitted return is never changed."""


@event.listens_for(StatisticsReturn, "before_update")
@event.listens_for(StatisticsReturn, "before_delete")
def _refuse_rewriting(_mapper, _connection, target) -> None:
    raise FrozenReturn(f"statistics return {target.period} v{target.version} cannot be changed; submit a new version")
