"""Deciding every requirement for a tenant: the report that the CLI prints and the console keeps."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.spec.model import (
    SPEC_VERSION,
    CheckContext,
    Finding,
    Requirement,
    Severity,
    Status,
    registered_checks,
    requirements,
)
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    requirement: Requirement
    finding: Finding

    @property
    def fails(self) -> bool:
        return self.finding.status in (Status.failed, Status.error)

    @property
    def fails_a_must(self) -> bool:
        return self.fails and self.requirement.severity == Severity.must


@dataclass(frozen=True)
class Report:
    tenant_slug: str
    spec_version: str
    at: datetime
    results: list[Result]

    @property
    def must_failures(self) -> list[Result]:
        return [r for r in self.results if r.fails_a_must]

    @property
    def conforms(self) -> bool:
        return not self.must_failures

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.finding.status == status)


def decide(requirement: Requirement, context: CheckContext) -> Finding:
    """One requirement for the tenant of ``context`` (call inside its tenant scope)."""
    if requirement.not_checkable:
        return Finding(Status.not_checkable, requirement.not_checkable)
    if context.tenant.kind not in requirement.kinds:
        return Finding(Status.not_applicable, f"applies to {', '.join(requirement.kinds)} tenants only")
    function = registered_checks().get(requirement.id)
    if function is None:
        return Finding(Status.error, "no check is registered for this requirement")
    try:
        return function(context)
    except Exception as exc:  # a broken check is reported as such, and the other checks still run
        log.exception("spec check %s failed for tenant %s", requirement.id, context.tenant.slug)
        db.session.rollback()
        return Finding(Status.error, f"the check broke: {type(exc).__name__}: {exc}")


def run(tenant: Tenant, now: datetime | None = None, only: set[str] | None = None) -> Report:
    """Decide every requirement (or those in ``only``) for ``tenant``. Reads only."""
    now = now or utcnow()
    results = []
    with tenant_scope(tenant):
        context = CheckContext(tenant=tenant, now=now)
        for requirement in requirements().values():
            if only is None or requirement.id in only:
                results.append(Result(requirement, decide(requirement, context)))
    return Report(tenant_slug=tenant.slug, spec_version=SPEC_VERSION, at=now, results=results)
