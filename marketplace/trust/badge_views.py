"""Badge pages: the public check (/verify/<serial>, /verify/keys) and the operator's merchants page and cards.

* ``/verify/…`` needs no login and names no tenant: the random serial is the key, looked up platform-wide.
  It tells in plain words whether the badge is valid, suspended, revoked, expired or unknown (404), for whom and
  where, and whether its signature checks out with the published key.
* ``/operator/<tenant>/merchants`` lists the merchants with a shop in the tenant: approve, reject with a reason,
  issue a shop's badge, suspend, reinstate or revoke it, and print its A6 card. Everything needs
  ``operate_tenant`` on that tenant; merchants, shops and badges of other tenants are not found (404).

Bad input answers with a message (a flash), never a server error.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import Length

from marketplace.accounts.authz import Permission, require
from marketplace.catalog.admin import licence_label
from marketplace.core.config import ConfigError
from marketplace.core.db import utcnow
from marketplace.core.themes import render_themed
from marketplace.delivery.pickup import qr_svg
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, current_tenant
from marketplace.trust import badges, onboarding, verification

public_blueprint = Blueprint("badges", __name__, url_prefix="/verify")
operator_blueprint = Blueprint("operator_badges", __name__, url_prefix="/operator/<slug:tenant_slug>")


class ReasonForm(FlaskForm):
    reason = StringField(_l("原因"), validators=[Length(max=verification.MAX_REASON)])


class ConfirmForm(FlaskForm):
    """A button: only the CSRF token."""


# -- public ----------------------------------------------------------------------------------------------

@public_blueprint.route("/keys")
def keys():
    try:
        key = badges.public_key()
    except ConfigError as error:
        return render_themed("badges/keys.html", key_b64=None, key_pem=None, problem=str(error),
                             fields=badges.PAYLOAD_FIELDS), 503
    return render_themed("badges/keys.html", key_b64=badges.public_key_raw_b64(key), key_pem=badges.public_key_pem(key),
                         problem=None, fields=badges.PAYLOAD_FIELDS, version=badges.PAYLOAD_VERSION)


@public_blueprint.route("/reviews/<slug:tenant>")
@public_blueprint.route("/reviews/<slug:tenant>.json", endpoint="review_checkpoints_json")
def review_checkpoints(tenant: str):
    """The signed heads of a tenant's review chain: copies kept outside the platform show any later rewrite."""
    from flask import jsonify, request

    from marketplace.tenancy.context import tenant_scope
    from marketplace.tenancy.models import Tenant, TenantStatus
    from marketplace.trust import checkpoints

    with all_tenants():
        found = db.session.scalar(select(Tenant).where(Tenant.slug == tenant, Tenant.status == TenantStatus.live))
    if found is None:
        abort(404)
    with tenant_scope(found):
        rows = checkpoints.checkpoints_of(found)
    signed = [{"seq": c.seq, "hash": c.hash, "at": badges.timestamp(c.at), "signature": c.signature,
               "payload": checkpoints.payload(found.slug, c.seq, c.hash, c.at).decode()} for c in rows]
    if request.endpoint == "badges.review_checkpoints_json":
        return jsonify({"tenant": found.slug, "version": checkpoints.PAYLOAD_VERSION, "checkpoints": signed})
    return render_themed("badges/review_checkpoints.html", tenant=found, checkpoints=signed[:checkpoints.SHOWN],
                         total=len(signed))


@public_blueprint.route("/<serial>")
def verify(serial: str):
    result = badges.verify(serial)
    status = 404 if result.state == badges.BadgeState.unknown else 200
    return render_themed("badges/verify.html", result=result, States=badges.BadgeState), status


# -- operator --------------------------------------------------------------------------------------------

def _merchant_or_404(merchant_id: int):
    merchant = verification.merchant_in_tenant(merchant_id)
    if merchant is None:
        abort(404)
    return merchant


def _badge_or_404(serial: str) -> badges.Badge:
    badge = badges.badge_in_tenant(serial)
    if badge is None:
        abort(404)
    return badge


def _back():
    return redirect(url_for("operator_badges.merchants")), 303


@operator_blueprint.route("/merchants")
@login_required
def merchants():
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    now = utcnow()
    applications = onboarding.current_applications(tenant)  # submitted applications come first
    return render_template("console/badges/merchants.html", tenant=tenant, applications=applications,
                           rows=onboarding.queue_order(verification.merchants_of_tenant(tenant, now), applications),
                           now=now, ApplicationStatus=onboarding.ApplicationStatus, licence_label=licence_label,
                           badge_state=lambda badge: badges.badge_state(badge, now), Status=verification.ApprovalStatus,
                           BadgeStatus=badges.BadgeStatus)


@operator_blueprint.route("/merchants/<int:merchant_id>/approve", methods=["POST"])
@login_required
def approve(merchant_id: int):
    require(Permission.operate_tenant, current_tenant)
    merchant = _merchant_or_404(merchant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        approval = verification.renew(merchant, actor_id=current_user.id, tenant=current_tenant)
    except verification.ApprovalError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已通过“%(name)s”的审核，有效期至 %(date)s。", name=merchant.legal_name,
                date=approval.valid_until.date().isoformat()), "success")
    return _back()


@operator_blueprint.route("/merchants/<int:merchant_id>/reject", methods=["POST"])
@login_required
def reject(merchant_id: int):
    require(Permission.operate_tenant, current_tenant)
    merchant = _merchant_or_404(merchant_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("驳回原因最多 %(n)d 个字。", n=verification.MAX_REASON), "error")
        return _back()
    try:
        verification.reject(merchant, form.reason.data, actor_id=current_user.id, tenant=current_tenant)
    except verification.ApprovalError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已驳回“%(name)s”，其电子标识已撤销。", name=merchant.legal_name), "success")
    return _back()


@operator_blueprint.route("/shops/<int:shop_id>/badge", methods=["POST"])
@login_required
def issue(shop_id: int):
    require(Permission.operate_tenant, current_tenant)
    shop = db.session.scalar(select(Shop).where(Shop.id == shop_id))  # the guard keeps it to this tenant
    if shop is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        badge = badges.issue_badge(shop, actor_id=current_user.id)
    except (badges.BadgeError, ConfigError) as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("已为“%(shop)s”签发电子标识 %(serial)s。", shop=shop.name_zh, serial=badge.serial), "success")
    return _back()


@operator_blueprint.route("/badges/<serial>/<any(suspend, reinstate, revoke):action>", methods=["POST"])
@login_required
def change_status(serial: str, action: str):
    require(Permission.operate_tenant, current_tenant)
    badge = _badge_or_404(serial)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("原因最多 %(n)d 个字。", n=badges.MAX_REASON), "error")
        return _back()
    try:
        if action == "suspend":
            badges.suspend_badge(badge, form.reason.data, actor_id=current_user.id)
        elif action == "reinstate":
            badges.reinstate_badge(badge, actor_id=current_user.id)
        else:
            badges.revoke_badge(badge, form.reason.data, actor_id=current_user.id)
    except badges.BadgeError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("电子标识 %(serial)s 现为：%(status)s。", serial=badge.serial,
                status=badges.BadgeStatus(badge.status).label), "success")
    return _back()


@operator_blueprint.route("/badges/<serial>/card")
@login_required
def card(serial: str):
    require(Permission.operate_tenant, current_tenant)
    badge = _badge_or_404(serial)
    verify_url = url_for("badges.verify", serial=badge.serial, _external=True)
    return render_template("console/badges/card.html", badge=badge, tenant=current_tenant._get_current_object(),
                           state=badges.badge_state(badge), States=badges.BadgeState, verify_url=verify_url,
                           qr=qr_svg(verify_url), title=badges.BADGE_TITLE)


# -- the shop page ---------------------------------------------------------------------------------------

def shop_badge(shop: Shop):
    """For the shop page: ``(badge, state)`` of the shop's current badge, or None when it has none."""
    badge = badges.shop_badge(shop)
    return None if badge is None else (badge, badges.badge_state(badge))


def register(app) -> None:
    app.register_blueprint(public_blueprint)
    app.register_blueprint(operator_blueprint)
    app.add_template_global(shop_badge, "shop_badge")
