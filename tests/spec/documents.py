"""Spec test helpers: a tenant with a published agreement and rules, as the demo gives each tenant."""

from __future__ import annotations

from datetime import timedelta

from marketplace.core.db import utcnow
from marketplace.demo.documents import AGREEMENT, RULES
from marketplace.extensions import db
from marketplace.tenancy import agreements
from marketplace.tenancy.context import tenant_scope


def publish_document(tenant, kind: str, body: str, *, days_ago: int = 20, title: str = "规则"):
    """Draft, consult and publish ``body`` through the service, dated so it is in force ``days_ago`` days ago."""
    now = utcnow()
    with tenant_scope(tenant):
        document = agreements.save_draft(tenant, kind, title=title, body=body, actor_id=None)
        agreements.open_consultation(document, now=now - timedelta(days=days_ago + 20))
        agreements.publish(document, effective_at=now - timedelta(days=days_ago), actor_id=None,
                           now=now - timedelta(days=days_ago + 10))
        db.session.commit()
    return document


def with_documents(tenant, agreement: str = AGREEMENT, rules: str = RULES):
    """``tenant`` with ``agreement`` and ``rules`` published and in force (the demo's text by default)."""
    publish_document(tenant, "agreement", agreement.format(name=tenant.name_zh))
    publish_document(tenant, "rules", rules.format(name=tenant.name_zh))
    return tenant
