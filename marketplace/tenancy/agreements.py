"""A tenant's service agreement (平台服务协议) and trading rules (交易规则): versioned documents.

The law these rules follow:

* 电子商务法 Art. 33 / Art. 81: both are shown on the tenant's pages all the time, readable and downloadable.
* Art. 34 and the MOFCOM rule-making rules (RULEPROC Arts. 7–9): a change is put up for comment for at least
  7 days before it is published, and takes effect at least 7 days after it is published. Changes a law requires,
  or urgent consumer-protection changes, may skip both waits, with the reason recorded (Art. 8).
* 网络交易监督管理办法 Art. 28: earlier versions stay readable and downloadable, so published versions are never
  edited or deleted: a change is a new version.

A version moves draft → consultation → published. Published versions are immutable.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import TimestampMixin, UTCDateTime, utcnow
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.models import Tenant, TenantScoped

#: Minimum days a change is open for comment, and between publication and taking effect (RULEPROC Arts. 7, 9).
CONSULTATION_DAYS = 7
NOTICE_DAYS = 7
MAX_TITLE = 200
MAX_BODY = 200_000
MAX_SUMMARY = 2_000
MAX_REASON = 500
MAX_COMMENT = 2_000


@labelled({"agreement": _l("平台服务协议"), "rules": _l("交易规则")})
class DocumentKind(LabelledEnum):
    agreement = "agreement"
    rules = "rules"


@labelled({"draft": _l("草稿"), "consultation": _l("征求意见中"), "published": _l("已公示")})
class DocumentStatus(LabelledEnum):
    draft = "draft"
    consultation = "consultation"
    published = "published"


#: The four subjects the agreement and rules must settle (电子商务法 Art. 32): key → (label, words a heading uses).
SUBJECTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "entry_exit": (_l("进入和退出平台"), ("进入", "入驻", "退出")),
    "quality": (_l("商品和服务质量保障"), ("质量",)),
    "consumers": (_l("消费者权益保护"), ("消费者",)),
    "personal_information": (_l("个人信息保护"), ("个人信息",)),
}


class DocumentError(ValueError):
    """An action on a document that cannot be taken; the message says why, in the user's language."""


class TenantDocument(TenantScoped, TimestampMixin, db.Model):
    """One version of a tenant's agreement or rules."""

    __tablename__ = "tenant_documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "version"),
        CheckConstraint("kind IN ('agreement', 'rules')", name="kind"),
        CheckConstraint("status IN ('draft', 'consultation', 'published')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.draft)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    #: Markdown-like plain text: lines starting with ``#`` are headings. Shown escaped, never as HTML.
    body: Mapped[str] = mapped_column(Text)
    change_summary: Mapped[str] = mapped_column(Text, default="")
    consultation_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set when a law requires the change or it is urgent for consumers: the waits do not apply (RULEPROC Art. 8).
    urgent_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def headings(self) -> list[str]:
        return [line.lstrip("#").strip() for line in self.body.splitlines() if line.startswith("#")]

    def in_force(self, now: datetime) -> bool:
        return self.status == DocumentStatus.published and self.effective_at is not None and self.effective_at <= now

    def as_markdown(self) -> str:
        """The download: the version's facts, then the text as written."""
        lines = [f"# {self.title}", "",
                 _("版本：%(v)d", v=self.version),
                 _("公示时间：%(at)s", at=_date(self.published_at)),
                 _("生效时间：%(at)s", at=_date(self.effective_at))]
        if self.change_summary:
            lines.append(_("修改说明：%(text)s", text=self.change_summary))
        return "\n".join(lines) + "\n\n" + self.body.strip() + "\n"


class DocumentComment(TenantScoped, db.Model):
    """A comment on a version open for consultation, from a signed-in user (RULEPROC Art. 7)."""

    __tablename__ = "document_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("tenant_documents.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class RuleChangeExit(TenantScoped, db.Model):
    """A merchant's shop leaving over a change it does not accept (电子商务法 Art. 34(2)): the platform records it
    and does not stand in the way, and the shop's liabilities follow the version in force before the change."""

    __tablename__ = "rule_change_exits"
    __table_args__ = (UniqueConstraint("shop_id", "refused_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="RESTRICT"), index=True)
    #: The version the merchant refused.
    refused_id: Mapped[int] = mapped_column(ForeignKey("tenant_documents.id", ondelete="RESTRICT"))
    #: The version in force when it left: the one its liabilities are judged by.
    governed_by_id: Mapped[int] = mapped_column(ForeignKey("tenant_documents.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    refused: Mapped[TenantDocument] = relationship(foreign_keys=[refused_id])
    governed_by: Mapped[TenantDocument] = relationship(foreign_keys=[governed_by_id])


def _date(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


# -- reading ---------------------------------------------------------------------------------------------

def published(kind: str) -> list[TenantDocument]:
    """The current tenant's published versions of ``kind``, newest first (the tenant guard scopes the query)."""
    return list(db.session.scalars(select(TenantDocument).where(
        TenantDocument.kind == kind, TenantDocument.status == DocumentStatus.published
    ).order_by(TenantDocument.version.desc())))


def in_force(kind: str, now: datetime | None = None) -> TenantDocument | None:
    """The version that applies now: the newest published one whose effective date has come."""
    now = now or utcnow()
    return db.session.scalar(select(TenantDocument).where(
        TenantDocument.kind == kind, TenantDocument.status == DocumentStatus.published,
        TenantDocument.effective_at <= now,
    ).order_by(TenantDocument.version.desc()).limit(1))


def pending(kind: str) -> TenantDocument | None:
    """The version being drafted or consulted on, if any (at most one at a time)."""
    return db.session.scalar(select(TenantDocument).where(
        TenantDocument.kind == kind, TenantDocument.status != DocumentStatus.published
    ).order_by(TenantDocument.version.desc()).limit(1))


def by_version(kind: str, version: int) -> TenantDocument | None:
    return db.session.scalar(select(TenantDocument).where(TenantDocument.kind == kind,
                                                          TenantDocument.version == version))


def document_in_tenant(document_id: int) -> TenantDocument | None:
    return db.session.scalar(select(TenantDocument).where(TenantDocument.id == document_id))


def missing_subjects(headings: list[str]) -> list[str]:
    """Labels of the Art. 32 subjects that none of ``headings`` covers."""
    return [str(label) for label, words in SUBJECTS.values()
            if not any(word in heading for heading in headings for word in words)]


def procedure_breaches(document: TenantDocument) -> list[str]:
    """Why a published version broke the change procedure (empty when it did not)."""
    if document.status != DocumentStatus.published or document.urgent_reason:
        return []
    problems = []
    if document.consultation_from is None or document.published_at is None or \
            document.published_at - document.consultation_from < timedelta(days=CONSULTATION_DAYS):
        problems.append(_("征求意见不足 %(n)d 日", n=CONSULTATION_DAYS))
    if document.effective_at is None or document.published_at is None or \
            document.effective_at - document.published_at < timedelta(days=NOTICE_DAYS):
        problems.append(_("公示后不足 %(n)d 日即生效", n=NOTICE_DAYS))
    return problems


# -- changing --------------------------------------------------------------------------------------------

def _clean(title: str, body: str, summary: str) -> tuple[str, str, str]:
    title, body, summary = (title or "").strip(), (body or "").replace("\x00", "").strip(), (summary or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise DocumentError(_("标题不能为空，最多 %(n)d 个字。", n=MAX_TITLE))
    if not body or len(body) > MAX_BODY:
        raise DocumentError(_("正文不能为空，最多 %(n)d 个字。", n=MAX_BODY))
    if len(summary) > MAX_SUMMARY:
        raise DocumentError(_("修改说明最多 %(n)d 个字。", n=MAX_SUMMARY))
    return title, body, summary


def save_draft(tenant: Tenant, kind: str, *, title: str, body: str, change_summary: str = "",
               actor_id: int | None) -> TenantDocument:
    """Start the next version of ``kind``, or rewrite the draft not yet put up for comment."""
    if kind not in DocumentKind.values():
        raise DocumentError(_("未知的文件类型。"))
    title, body, change_summary = _clean(title, body, change_summary)
    open_version = pending(kind)
    if open_version is not None and open_version.status == DocumentStatus.consultation:
        raise DocumentError(_("第 %(v)d 版正在征求意见，公示前不能另起草稿。", v=open_version.version))
    if open_version is not None:
        open_version.title, open_version.body, open_version.change_summary = title, body, change_summary
        db.session.flush()
        return open_version
    latest = db.session.scalar(select(func.max(TenantDocument.version)).where(TenantDocument.kind == kind))
    version = (latest or 0) + 1
    draft = TenantDocument(tenant_id=tenant.id, kind=kind, version=version, status=DocumentStatus.draft,
                           created_by_id=actor_id, title=title, body=body, change_summary=change_summary)
    # Two operators starting a version at once both read the same max: the unique (tenant, kind, version) lets
    # one through. The other is told, not retried: a retry would rewrite the draft the first one just saved.
    try:
        with db.session.begin_nested():
            db.session.add(draft)
    except IntegrityError:
        raise DocumentError(_("另一位运营人员刚刚起草了第 %(v)d 版，请刷新页面后在该草稿上修改。", v=version)) from None
    return draft


def open_consultation(document: TenantDocument, now: datetime | None = None) -> TenantDocument:
    """Put a draft up for comment on the tenant's pages: the comment period starts now."""
    if document.status != DocumentStatus.draft:
        raise DocumentError(_("只有草稿可以公开征求意见。"))
    document.status, document.consultation_from = DocumentStatus.consultation, now or utcnow()
    return document


def publish(document: TenantDocument, *, effective_at: datetime, actor_id: int | None, urgent_reason: str = "",
            now: datetime | None = None) -> TenantDocument:
    """Publish a version. Refused unless it was open for comment ≥ 7 days and takes effect ≥ 7 days from now,
    except for a change a law requires or an urgent consumer-protection change, whose reason is recorded."""
    now = now or utcnow()
    urgent_reason = (urgent_reason or "").strip()
    if document.status == DocumentStatus.published:
        raise DocumentError(_("第 %(v)d 版已经公示，不能再改；请起草新版本。", v=document.version))
    if len(urgent_reason) > MAX_REASON:
        raise DocumentError(_("原因最多 %(n)d 个字。", n=MAX_REASON))
    if effective_at.tzinfo is None:
        raise DocumentError(_("生效时间无效。"))
    if urgent_reason:
        effective_at = max(effective_at, now)  # an urgent change takes effect on publication at the earliest
    else:
        if document.status != DocumentStatus.consultation or document.consultation_from is None:
            raise DocumentError(_("修改须先公开征求意见（不少于 %(n)d 日）；法律要求或紧急的修改请注明原因。",
                                  n=CONSULTATION_DAYS))
        opens_until = document.consultation_from + timedelta(days=CONSULTATION_DAYS)
        if now < opens_until:
            raise DocumentError(_("征求意见期不少于 %(n)d 日，最早可于 %(date)s 公示。", n=CONSULTATION_DAYS,
                                  date=_date(opens_until)))
        if effective_at < now + timedelta(days=NOTICE_DAYS):
            raise DocumentError(_("生效时间须在公示 %(n)d 日之后（不早于 %(date)s）。", n=NOTICE_DAYS,
                                  date=_date(now + timedelta(days=NOTICE_DAYS))))
    document.status, document.published_at, document.effective_at = DocumentStatus.published, now, effective_at
    document.urgent_reason, document.published_by_id = urgent_reason, actor_id
    return document


# -- leaving over a change (Art. 34(2)) -------------------------------------------------------------------

def pending_changes(now: datetime | None = None) -> list[TenantDocument]:
    """Changes a merchant may still refuse: open for comment, or published and not yet in force."""
    now = now or utcnow()
    return list(db.session.scalars(select(TenantDocument).where(
        (TenantDocument.status == DocumentStatus.consultation) |
        ((TenantDocument.status == DocumentStatus.published) & (TenantDocument.effective_at > now))
    ).order_by(TenantDocument.kind, TenantDocument.version)))


def exit_of(shop: Shop, document: TenantDocument) -> RuleChangeExit | None:
    return db.session.scalar(select(RuleChangeExit).where(RuleChangeExit.shop_id == shop.id,
                                                          RuleChangeExit.refused_id == document.id))


def leave_over_change(shop: Shop, document: TenantDocument, *, actor_id: int | None,
                      now: datetime | None = None) -> RuleChangeExit:
    """Record that ``shop`` leaves rather than accept ``document``; never refused while the change is pending.
    Leaving twice over the same change returns the first record."""
    now = now or utcnow()
    if document not in pending_changes(now):
        raise DocumentError(_("第 %(v)d 版不是尚未生效的修改，无需为此退出。", v=document.version))
    earlier = in_force(document.kind, now)
    if earlier is None:
        raise DocumentError(_("这是首次公示的版本，不是修改；不接受的经营者可直接申请退出。"))
    found = exit_of(shop, document)
    if found is not None:
        return found
    record = RuleChangeExit(tenant_id=shop.tenant_id, shop_id=shop.id, refused_id=document.id,
                            governed_by_id=earlier.id, at=now, by_id=actor_id)
    db.session.add(record)
    db.session.flush()
    return record


def governing_version(shop: Shop, kind: str, now: datetime | None = None) -> TenantDocument | None:
    """The version that governs ``shop``: the one in force, unless it left over that change (then the earlier)."""
    current = in_force(kind, now)
    if current is None:
        return None
    # Its latest exit over a version now in force: it is held to the version it left under.
    left = db.session.scalar(select(RuleChangeExit).join(TenantDocument, TenantDocument.id == RuleChangeExit.refused_id)
                             .where(RuleChangeExit.shop_id == shop.id, TenantDocument.kind == kind,
                                    TenantDocument.version <= current.version)
                             .order_by(TenantDocument.version.desc()).limit(1))
    return left.governed_by if left is not None else current


# -- comments during consultation ------------------------------------------------------------------------

def add_comment(document: TenantDocument, *, user_id: int, text: str, now: datetime | None = None) -> DocumentComment:
    """Record a comment on a version open for consultation; refused once the consultation has closed."""
    text = (text or "").replace("\x00", "").strip()
    if document.status != DocumentStatus.consultation:
        raise DocumentError(_("第 %(v)d 版不在征求意见期内。", v=document.version))
    if not text or len(text) > MAX_COMMENT:
        raise DocumentError(_("意见不能为空，最多 %(n)d 个字。", n=MAX_COMMENT))
    comment = DocumentComment(tenant_id=document.tenant_id, document_id=document.id, user_id=user_id, body=text,
                              at=now or utcnow())
    db.session.add(comment)
    db.session.flush()
    return comment


def comments_on(document: TenantDocument, limit: int = 200) -> list[DocumentComment]:
    return list(db.session.scalars(select(DocumentComment).where(DocumentComment.document_id == document.id)
                                   .order_by(DocumentComment.at, DocumentComment.id).limit(limit)))
