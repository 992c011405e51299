"""The audit log: who did what to which tenant, shop or account, from where — for every operator and admin action.

Platform-wide (``tenant_id`` may be empty: an admin's action about no tenant), so ``AuditEntry`` is not
``TenantScoped``: pages filter by tenant themselves. Rows are only ever added; the ORM refuses to change or
delete one, so the record of an action cannot be rewritten through the application.

    audit.record("tenant.suspended", target=tenant, reason="…")   # actor, tenant, IP and time filled in

``record`` flushes nothing: the entry is committed with the action it describes, or rolled back with it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from marketplace.core.db import AppendOnly, UTCDateTime, append_only, utcnow
from marketplace.core.views import Page
from marketplace.extensions import db
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.models import Tenant

#: What each action code reads as on the audit page; codes are stable, the wording may change.
ACTION_LABELS = {
    "tenant.created": _l("新建商业街/市场"),
    "tenant.status_changed": _l("更改状态"),
    "tenant.launched": _l("正式上线"),
    "tenant.suspended": _l("暂停运营"),
    "tenant.brand_changed": _l("更改品牌与时区"),
    "tenant.operator_granted": _l("授予运营方权限"),
    "tenant.operator_revoked": _l("撤销运营方权限"),
    "shop.location_changed": _l("更改店铺位置"),
    "shop_application.approved": _l("批准入驻申请（开通店铺）"),
    "shop_application.rejected": _l("驳回入驻申请"),
    "account.reset_link": _l("协助重设密码（生成重设链接）"),
    "document.draft_saved": _l("保存协议/规则草稿"),
    "document.consultation_opened": _l("协议/规则公开征求意见"),
    "document.published": _l("公示协议/规则"),
    "conformance.run": _l("运行符合性检查"),
    "conformance.statement_issued": _l("签发符合性声明"),
    "statistics.return_submitted": _l("报送统计月报"),
    "ip_notice.taken_down": _l("知识产权通知：采取必要措施"),
    "ip_notice.rejected": _l("知识产权通知：不予处理"),
    "ip_notice.measure_ended": _l("知识产权通知：终止措施"),
    "enforcement.takedown": _l("下架违法商品"),
    "enforcement.takedown_released": _l("解除下架"),
    "enforcement.takedowns_reported": _l("下架记录标记为已报告"),
    "enforcement.sanction": _l("对店铺采取处理措施"),
    "enforcement.closing_announced": _l("公示店铺终止经营"),
    "enforcement.tenant_closing_announced": _l("公示本商业街/市场终止经营"),
    "orders.sealed": _l("封存订单记录"),
    "public_record.recorded": _l("录入公示信用记录"),
    "public_record.removed": _l("记录公示信用记录移出"),
    "webhook.created": _l("添加消息推送订阅（Webhook）"),
    "webhook.disabled": _l("停用消息推送订阅（Webhook）"),
    "webhook.replayed": _l("重新发送消息推送（Webhook）"),
    "api_key.created": _l("创建店铺 API 密钥"),
    "api_key.revoked": _l("吊销店铺 API 密钥"),
    "personal_token.created": _l("创建个人令牌"),
    "personal_token.revoked": _l("吊销个人令牌"),
    "operator_token.created": _l("创建运营 API 密钥"),
    "operator_token.revoked": _l("吊销运营 API 密钥"),
    "tenant.order_settings_changed": _l("更改订单设置"),
}


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_tenant_id_at", "tenant_id", "at"),
        Index("ix_audit_entries_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: Kept with the name as it was, so the entry still says who acted after the account is gone.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_name: Mapped[str] = mapped_column(String(254), default="")
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")

    tenant: Mapped[Tenant | None] = relationship()

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS.get(self.action, self.action))

    @property
    def details_text(self) -> str:
        return json.dumps(self.details or {}, ensure_ascii=False, sort_keys=True)


append_only(AuditEntry, "audit entry")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_rewriting(state) -> None:
    """``update(AuditEntry)`` / ``delete(AuditEntry)`` statements skip the mapper events above: refuse them too."""
    if (state.is_update or state.is_delete) and \
            getattr(getattr(state.statement, "table", None), "name", None) == AuditEntry.__tablename__:
        raise AppendOnly("audit entries cannot be changed or deleted")


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a detail value (dates as ISO text, anything unknown as its text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _target(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        kind, ident = target
        return str(kind), str(ident)
    return type(target).__name__.lower(), str(getattr(target, "id", ""))


def record(action: str, target: Any = None, *, tenant: Tenant | None = None, **details: Any) -> AuditEntry:
    """Add an entry for ``action`` by the signed-in user. ``target`` is a model row or ``(kind, id)``; the tenant
    is the current one unless given (a Tenant target is its own tenant). Added to the session, not flushed."""
    if tenant is None:
        tenant = target if isinstance(target, Tenant) else current_tenant._get_current_object()
    kind, ident = _target(target)
    actor = current_user if has_request_context() and current_user.is_authenticated else None
    entry = AuditEntry(
        at=utcnow(), actor_id=actor.id if actor else None, actor_name=actor.login_name if actor else "",
        tenant_id=tenant.id if tenant is not None else None, action=action, target_kind=kind, target_id=ident,
        details=_plain(details), ip=(request.remote_addr or "")[:64] if has_request_context() else "",
    )
    db.session.add(entry)
    return entry


def entries(*, tenant: Tenant | None, action: str | None, page: int, size: int = 50) -> Page:
    """A page of entries, newest first: one tenant's (``tenant``) or every one (``tenant=None``, admins)."""
    where = []
    if tenant is not None:
        where.append(AuditEntry.tenant_id == tenant.id)
    if action:
        where.append(AuditEntry.action == action)
    total = db.session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
    result = Page(number=page, total=total, size=size)
    result.items = list(db.session.scalars(
        select(AuditEntry).where(*where).options(selectinload(AuditEntry.tenant)).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(result.offset).limit(size)
    ))
    return result


def actions_in_use(tenant: Tenant | None) -> list[str]:
    """The action codes that occur (in this tenant), for the page's filter."""
    query = select(AuditEntry.action).distinct()
    if tenant is not None:
        query = query.where(AuditEntry.tenant_id == tenant.id)
    return sorted(db.session.scalars(query))
