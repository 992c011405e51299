"""Submitting the monthly return: the figures as sent are archived with their form, and never change (SR-3).

A month is submitted once it has ended; submitting it again (a correction) archives a new version beside the old.
The archive keeps aggregates with small cells already suppressed, exactly what the statistics office receives.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.reports import definitions
from marketplace.reports.figures import Scope, figures
from marketplace.reports.models import StatisticsReturn

#: The monthly return is due by this day of the next month ([I]: NBS sets the day per form; ours is the 10th).
DUE_DAY = 10


class ArchiveError(ValueError):
    code = "cannot_submit"


def last_due_month(now: datetime) -> definitions.Period:
    """The latest month whose return is due by ``now``: the month before, from the 11th on; else the one before."""
    local = now.astimezone(definitions.STATISTICS_ZONE).date()
    first = local.replace(day=1)
    month_before = (first - timedelta(days=1)).replace(day=1)
    due = month_before if local.day > DUE_DAY else (month_before - timedelta(days=1)).replace(day=1)
    return definitions.parse_period(due.strftime("%Y-%m"))


def snapshot(period: definitions.Period) -> dict:
    """What a return of ``period`` holds: the API's JSON for each breakdown the office may ask for, and under
    ``ledger`` the platform's own unsuppressed figures of each tenant (the 统计台账 the return was drawn from,
    kept here and never sent: it shows later whether the orders still agree with what was sent)."""
    from marketplace.api.statistics import as_json  # the API module builds on this package

    found = figures(Scope(), period, definitions.API_BREAKDOWNS)
    sent = {by: as_json(found, by) for by in definitions.API_BREAKDOWNS}
    ledger = figures(Scope(), period, ("tenant",), suppressing=False)
    return {**sent, "ledger": {row.key: dict(row.values) for row in ledger.breakdowns["tenant"]}}


def submit(period: definitions.Period, *, submitted_by=None, now: datetime, note: str = "") -> StatisticsReturn:
    """Archive the return of a month that has ended; flushes, the caller commits."""
    if period.kind != "month":
        raise ArchiveError(_("只能报送整月的月报。"))
    if now < period.utc_bounds[1]:
        raise ArchiveError(_("%(period)s 尚未结束，月末之后才能报送。", period=period.label))
    version = next_version("statistics", period.label)
    saved = StatisticsReturn(kind="statistics", period=period.label, version=version,
                             form={k: str(v) for k, v in definitions.FORM.items()}, figures=snapshot(period),
                             submitted_at=now, submitted_by_id=getattr(submitted_by, "id", None),
                             note=(note or "").strip()[:500])
    return store(saved)


def store(saved: StatisticsReturn) -> StatisticsReturn:
    """Add ``saved`` under a savepoint: when another submission took its version number first, only this one
    is undone and the submitter is told to look again (the other's figures may already be what they meant)."""
    try:
        with db.session.begin_nested():
            db.session.add(saved)
    except IntegrityError:
        raise ArchiveError(_("%(period)s 的第 %(version)d 版刚刚由他人报送，请刷新页面查看后再决定是否报送更正。",
                             period=saved.period, version=saved.version)) from None
    return saved


def next_version(kind: str, period_label: str) -> int:
    # Two submissions at once: the unique (kind, period, version) lets only one of them have a number.
    return (db.session.scalar(select(func.max(StatisticsReturn.version)).where(
        StatisticsReturn.kind == kind, StatisticsReturn.period == period_label)) or 0) + 1


def submitted(period_label: str, kind: str = "statistics") -> list[StatisticsReturn]:
    return list(db.session.scalars(select(StatisticsReturn).where(
        StatisticsReturn.kind == kind, StatisticsReturn.period == period_label).order_by(StatisticsReturn.version)))
