"""The agreement and rules pages.

* Public (themed, tenant must be open): ``/t/<tenant>/agreement`` and ``/t/<tenant>/rules`` show the version in
  force, a published version not yet in force, a draft open for comment, and every earlier version;
  ``…/v<n>`` shows one version and ``…/v<n>.txt`` / ``.md`` download it.
* Merchant (the shop's owner): ``/merchant/<tenant>/<shop>/rule-changes`` lists the changes not yet in force
  and lets the shop leave over one it does not accept (电子商务法 Art. 34(2)); it is never refused while the
  change is pending, and the shop stays governed by the version in force when it left.
* Operator (``operate_tenant``): ``/operator/<tenant>/documents`` drafts a version, opens it for comment and
  publishes it; the rules of ``marketplace.tenancy.agreements`` refuse a publication that breaks the procedure.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.accounts.authz import Permission, require
from marketplace.core import audit
from marketplace.core.db import utcnow
from marketplace.core.text import plain_text
from marketplace.core.themes import render_themed
from marketplace.extensions import db
from marketplace.tenancy import agreements
from marketplace.tenancy.agreements import DocumentKind, DocumentStatus
from marketplace.tenancy.context import current_tenant

public_blueprint = Blueprint("agreements", __name__, url_prefix="/t/<slug:tenant_slug>")
operator_blueprint = Blueprint("operator_documents", __name__, url_prefix="/operator/<slug:tenant_slug>")
merchant_blueprint = Blueprint("merchant_documents", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/rule-changes")
#: The years an effective date may name.
EFFECTIVE_YEARS = (2000, 2100)


class DraftForm(FlaskForm):
    kind = SelectField(_l("文件"), choices=[SelectChoice(k.value, k.label) for k in DocumentKind])
    title = StringField(_l("标题"), validators=[DataRequired(), Length(max=agreements.MAX_TITLE), plain_text])
    body = TextAreaField(_l("正文"), validators=[DataRequired(), Length(max=agreements.MAX_BODY)],
                         description=_l("以 # 开头的行是章节标题，例如“## 消费者权益保护”。"))
    change_summary = TextAreaField(_l("修改说明"), validators=[Optional(), Length(max=agreements.MAX_SUMMARY)])


class PublishForm(FlaskForm):
    effective_on = DateField(_l("生效日期"), validators=[DataRequired()])
    urgent_reason = StringField(_l("法定或紧急修改的原因（可不填）"),
                                validators=[Optional(), Length(max=agreements.MAX_REASON), plain_text])


class ConfirmForm(FlaskForm):
    """A button: only the CSRF token."""


class CommentForm(FlaskForm):
    comment = TextAreaField(_l("您的意见"), validators=[DataRequired(), Length(max=agreements.MAX_COMMENT)])


# -- public ----------------------------------------------------------------------------------------------

def _page(kind: str):
    now = utcnow()
    versions = agreements.published(kind)
    current = agreements.in_force(kind, now)
    upcoming = [v for v in versions if not v.in_force(now)]
    consulting = agreements.pending(kind)
    if consulting is not None and consulting.status != DocumentStatus.consultation:
        consulting = None  # a draft is the operator's, not the public's
    earlier = [v for v in versions if current is not None and v.version < current.version]
    return render_themed("agreements/document.html", kind=kind, kind_label=DocumentKind(kind).label,
                         current=current, upcoming=upcoming, consulting=consulting, earlier=earlier, shown=None,
                         own_shops=_own_shops() if (upcoming or consulting) else [],
                         comment_form=CommentForm() if consulting else None)


def _own_shops():
    """The signed-in user's shops in this tenant: each may leave over a pending change (its console page)."""
    from sqlalchemy import select

    from marketplace.accounts.models import Role, RoleGrant
    from marketplace.shops.models import Shop

    if not current_user.is_authenticated:
        return []
    owned = select(RoleGrant.shop_id).where(RoleGrant.user_id == current_user.id,
                                            RoleGrant.role == Role.merchant_owner,
                                            RoleGrant.tenant_id == current_tenant.id)
    return list(db.session.scalars(select(Shop).where(Shop.id.in_(owned)).order_by(Shop.slug)))


@public_blueprint.route("/agreement")
def agreement():
    return _page(DocumentKind.agreement)


@public_blueprint.route("/rules")
def rules():
    return _page(DocumentKind.rules)


@public_blueprint.route("/documents/<int:document_id>/comments", methods=["POST"])
@login_required
def comment(document_id: int):
    """Anyone signed in may comment on a version open for consultation; the operator reads the comments."""
    document = _document_or_404(document_id)
    form = CommentForm()
    back = redirect(url_for(f"agreements.{document.kind}")), 303
    if not form.validate_on_submit():
        flash(_("意见不能为空，最多 %(n)d 个字。", n=agreements.MAX_COMMENT), "error")
        return back
    try:
        agreements.add_comment(document, user_id=current_user.id, text=form.comment.data)
    except agreements.DocumentError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("谢谢，您的意见已提交给市场运营方。"), "success")
    return back


def _published_or_404(kind: str, version: int):
    document = agreements.by_version(kind, version)
    if document is None or document.status != DocumentStatus.published:
        abort(404)
    return document


@public_blueprint.route("/<any(agreement, rules):kind>/v<int:version>")
def version_page(kind: str, version: int):
    document = _published_or_404(kind, version)
    return render_themed("agreements/document.html", kind=kind, kind_label=DocumentKind(kind).label,
                         current=None, upcoming=[], consulting=None, earlier=[], shown=document)


@public_blueprint.route("/<any(agreement, rules):kind>/v<int:version>.<any(txt, md):extension>")
def download(kind: str, version: int, extension: str):
    document = _published_or_404(kind, version)
    name = f"{current_tenant.slug}-{kind}-v{document.version}.{extension}"
    mimetype = "text/markdown" if extension == "md" else "text/plain"
    return Response(document.as_markdown(), mimetype=f"{mimetype}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- operator --------------------------------------------------------------------------------------------

def _tenant_midnight(day) -> datetime:
    """The start of ``day`` in the tenant's time zone, as UTC: people name a day, the law counts days."""
    zone = ZoneInfo(current_tenant.timezone or "Asia/Shanghai")
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _document_or_404(document_id: int):
    document = agreements.document_in_tenant(document_id)
    if document is None:
        abort(404)
    return document


def _back():
    return redirect(url_for("operator_documents.documents")), 303


@operator_blueprint.route("/documents", methods=["GET", "POST"])
@login_required
def documents():
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    form = DraftForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                document = agreements.save_draft(tenant, form.kind.data, title=form.title.data, body=form.body.data,
                                                 change_summary=form.change_summary.data or "",
                                                 actor_id=current_user.id)
            except agreements.DocumentError as error:
                db.session.rollback()
                flash(str(error), "error")
            else:
                audit.record("document.draft_saved", target=document, kind=document.kind, version=document.version,
                             title=document.title)
                db.session.commit()
                flash(_("已保存%(kind)s第 %(v)d 版草稿。", kind=DocumentKind(document.kind).label, v=document.version),
                      "success")
                return _back()
        status = 400
    else:
        status = 200
    kinds = []
    for kind in DocumentKind:
        open_version = agreements.pending(kind.value)
        kinds.append((kind, agreements.in_force(kind.value), open_version, agreements.published(kind.value),
                      agreements.comments_on(open_version) if open_version else []))
    earliest = (utcnow() + timedelta(days=agreements.NOTICE_DAYS + 1)).date()
    return render_template("console/agreements/documents.html", tenant=tenant, form=form, kinds=kinds,
                           publish_form=PublishForm(effective_on=earliest), confirm=ConfirmForm(), now=utcnow(),
                           Status=DocumentStatus, consultation_days=agreements.CONSULTATION_DAYS,
                           notice_days=agreements.NOTICE_DAYS), status


@operator_blueprint.route("/documents/<int:document_id>/consult", methods=["POST"])
@login_required
def consult(document_id: int):
    require(Permission.operate_tenant, current_tenant)
    document = _document_or_404(document_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        agreements.open_consultation(document)
    except agreements.DocumentError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        audit.record("document.consultation_opened", target=document, kind=document.kind, version=document.version)
        db.session.commit()
        flash(_("第 %(v)d 版已在前台公开征求意见，%(n)d 日后可以公示。", v=document.version,
                n=agreements.CONSULTATION_DAYS), "success")
    return _back()


@operator_blueprint.route("/documents/<int:document_id>/publish", methods=["POST"])
@login_required
def publish(document_id: int):
    require(Permission.operate_tenant, current_tenant)
    document = _document_or_404(document_id)
    form = PublishForm()
    if not form.validate_on_submit():
        flash(_("请填写有效的生效日期；原因最多 %(n)d 个字。", n=agreements.MAX_REASON), "error")
        return _back()
    if not EFFECTIVE_YEARS[0] <= form.effective_on.data.year <= EFFECTIVE_YEARS[1]:
        # A date like 0001-01-01 cannot be moved into UTC at all; no real change takes effect that far out.
        flash(_("生效日期须在 %(first)d 年至 %(last)d 年之间。", first=EFFECTIVE_YEARS[0], last=EFFECTIVE_YEARS[1]),
              "error")
        return _back()
    try:
        agreements.publish(document, effective_at=_tenant_midnight(form.effective_on.data), actor_id=current_user.id,
                           urgent_reason=form.urgent_reason.data or "")
    except agreements.DocumentError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        audit.record("document.published", target=document, kind=document.kind, version=document.version,
                     effective_at=document.effective_at, urgent_reason=document.urgent_reason)
        db.session.commit()
        flash(_("第 %(v)d 版已公示，%(date)s 起生效。", v=document.version,
                date=form.effective_on.data.isoformat()), "success")
    return _back()


# -- merchant --------------------------------------------------------------------------------------------

def _own_shop_or_404(shop_slug: str):
    from marketplace.shops import services as shops

    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.edit_shop, shop)  # leaving the platform is the owner's decision, not the staff's
    return shop


@merchant_blueprint.route("")
@login_required
def changes(shop_slug: str):
    shop = _own_shop_or_404(shop_slug)
    now = utcnow()
    pending_changes = [(document, agreements.exit_of(shop, document)) for document in agreements.pending_changes(now)]
    governing = {kind: agreements.governing_version(shop, kind.value, now) for kind in DocumentKind}
    return render_template("console/agreements/changes.html", shop=shop, changes=pending_changes,
                           governing=governing, form=ConfirmForm())


@merchant_blueprint.route("/<int:document_id>/leave", methods=["POST"])
@login_required
def leave(shop_slug: str, document_id: int):
    shop = _own_shop_or_404(shop_slug)
    document = _document_or_404(document_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        record = agreements.leave_over_change(shop, document, actor_id=current_user.id)
    except agreements.DocumentError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已登记：本店不接受第 %(v)d 版修改并退出平台，相关责任按第 %(old)d 版承担。平台将与您办理退出。",
                v=document.version, old=record.governed_by.version), "success")
    return redirect(url_for("merchant_documents.changes", shop_slug=shop.slug)), 303


def register(app) -> None:
    from marketplace.storefront.views import open_only

    open_only(public_blueprint)
    app.register_blueprint(public_blueprint)
    app.register_blueprint(operator_blueprint)
    app.register_blueprint(merchant_blueprint)
