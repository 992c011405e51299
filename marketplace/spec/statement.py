"""The conformance statement: a signed record that a stored run found no "must" failing for a tenant.

Signed like the electronic badges (``marketplace.trust.badges``): canonical JSON, the platform's Ed25519 key,
the public key at ``/verify/keys``. So anyone holding the payload and signature from
``/verify/conformance/<tenant>`` can check it offline. It states one run, on its date: a later run that fails
a "must" does not rewrite it, but the public page says so beside it.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.spec.reports import ConformanceRun
from marketplace.tenancy.models import Tenant
from marketplace.trust import badges

#: The statement payload's format version (its "v" field).
PAYLOAD_VERSION = 1
PAYLOAD_FIELDS = ("counts", "kind", "run_at", "spec_version", "tenant", "tenant_name", "v")
KIND = "conformance"


class StatementError(ValueError):
    """A statement that may not be issued; the message says why."""


def payload_of(tenant: Tenant, run: ConformanceRun) -> bytes:
    return badges.canonical_payload({
        "counts": dict(run.counts), "kind": KIND, "run_at": badges.timestamp(run.at),
        "spec_version": run.spec_version, "tenant": tenant.slug, "tenant_name": tenant.name_zh,
        "v": PAYLOAD_VERSION,
    })


def issue(tenant: Tenant, run: ConformanceRun, now: datetime | None = None) -> ConformanceRun:
    """Sign the statement of ``run``. Refused while the run has a failing "must"; issuing twice keeps the first."""
    if run.tenant_id != tenant.id:
        raise StatementError(_("这次检查不属于该租户。"))
    if not run.conforms:
        raise StatementError(_("有 %(n)d 项必须遵守的要求未通过，不能出具符合性声明。", n=run.must_failures))
    if run.statement_signature:
        return run
    payload = payload_of(tenant, run)
    run.statement_signature = badges.sign(payload)  # raises BadgeKeyMissing in production without a key
    run.statement_payload = payload.decode("utf-8")
    run.statement_at = now or utcnow()
    return run


def latest_statement(tenant: Tenant) -> ConformanceRun | None:
    """The newest run of ``tenant`` with a statement (call inside the tenant's scope or all_tenants)."""
    return db.session.scalar(select(ConformanceRun).where(
        ConformanceRun.tenant_id == tenant.id, ConformanceRun.statement_signature != "",
    ).order_by(ConformanceRun.at.desc(), ConformanceRun.id.desc()).limit(1))


def valid(run: ConformanceRun) -> bool:
    return bool(run.statement_signature) and badges.signature_valid(run.statement_payload.encode("utf-8"),
                                                                   run.statement_signature)
