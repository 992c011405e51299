"""Stored conformance runs: what the runner found for a tenant, kept so operators see the history.

A run is stored as the results were (id, status, detail, evidence) rather than re-derived later: the
specification data and the checks change between versions, and a run must keep saying what it said then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime
from marketplace.extensions import db
from marketplace.spec.model import PARTS, Status, requirements
from marketplace.spec.runner import Report
from marketplace.tenancy.models import Tenant, TenantScoped

#: Runs listed in the console's history.
HISTORY = 50
#: How a status and a severity read in the console and the HTML report.
STATUS_LABELS = {"passed": _l("通过"), "failed": _l("未通过"), "not_applicable": _l("不适用"),
                 "not_checkable": _l("无法由软件检查"), "error": _l("检查出错")}
SEVERITY_LABELS = {"must": _l("必须"), "should": _l("应当"), "may": _l("可以")}


class ConformanceRun(TenantScoped, db.Model):
    __tablename__ = "conformance_runs"
    __table_args__ = (Index("ix_conformance_runs_tenant_id_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    spec_version: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Status → number of requirements with it.
    counts: Mapped[dict[str, int]] = mapped_column(JSON)
    must_failures: Mapped[int] = mapped_column()
    #: [{"id", "status", "severity", "detail", "evidence"}] in specification order.
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    run_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The signed conformance statement issued from this run (empty until one is issued).
    statement_payload: Mapped[str] = mapped_column(Text, default="")
    statement_signature: Mapped[str] = mapped_column(String(128), default="")
    statement_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def conforms(self) -> bool:
        return self.must_failures == 0


def counts_of(report: Report) -> dict[str, int]:
    return {status.value: report.count(status) for status in Status}


def results_of(report: Report) -> list[dict[str, Any]]:
    return [{"id": r.requirement.id, "status": r.finding.status.value, "severity": r.requirement.severity.value,
             "detail": r.finding.detail, "evidence": list(r.finding.evidence)} for r in report.results]


def save(tenant: Tenant, report: Report, *, actor_id: int | None = None) -> ConformanceRun:
    run = ConformanceRun(tenant_id=tenant.id, spec_version=report.spec_version, at=report.at,
                         counts=counts_of(report), must_failures=len(report.must_failures),
                         results=results_of(report), run_by_id=actor_id)
    db.session.add(run)
    db.session.flush()
    return run


def latest(tenant: Tenant) -> ConformanceRun | None:
    return db.session.scalar(select(ConformanceRun).where(ConformanceRun.tenant_id == tenant.id)
                             .order_by(ConformanceRun.at.desc(), ConformanceRun.id.desc()).limit(1))


def history(tenant: Tenant, limit: int = HISTORY) -> list[ConformanceRun]:
    return list(db.session.scalars(select(ConformanceRun).where(ConformanceRun.tenant_id == tenant.id)
                                   .order_by(ConformanceRun.at.desc(), ConformanceRun.id.desc()).limit(limit)))


_FAILING_FIRST = {Status.error.value: 0, Status.failed.value: 1, Status.passed.value: 2,
                  Status.not_applicable.value: 3, Status.not_checkable.value: 4}


def grouped(results: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(part, part name, results) in specification order; inside a part, failures first (musts before the rest)."""
    catalogue = requirements()
    by_part: dict[str, list[dict[str, Any]]] = {}
    for row in results:
        requirement = catalogue.get(row["id"])
        by_part.setdefault(row["id"][:2], []).append({**row, "zh": requirement.zh if requirement else "",
                                                      "source": requirement.source if requirement else ""})
    parts = []
    for part, (name_zh, _name_en) in PARTS.items():
        rows = by_part.get(part)
        if rows:
            rows.sort(key=lambda r: (_FAILING_FIRST.get(r["status"], 9), r["severity"] != "must",
                                     int(r["id"][3:])))
            parts.append((part, name_zh, rows))
    return parts
