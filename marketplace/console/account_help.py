"""The operator helps a merchant who cannot get a password-reset mail (``/operator/<tenant>/accounts/reset``).

Most merchants sign in with a mobile number only, and the platform sends no reset by SMS. Such a merchant comes to
the market's service desk with an identity document; the operator checks it in person, ticks that they did, types
the merchant's mobile number and gets a one-time reset link, shown once on this page (never mailed, never stored)
to hand over or open on the merchant's own phone. The link is the mailed one's token
(``accounts.services.reset_token``): it works as long, and is spent once the password changes.

Who may be helped is ``accounts.services.assisted_reset_token``'s rule: a tenant operator only the merchants of this
tenant's shops who hold no other role; a platform admin any active account, on the same page. Every link made is in
the audit log (whom, the note, that the identity was checked), never the link itself.
"""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.accounts import services as accounts
from marketplace.accounts.authz import Permission, can, require
from marketplace.accounts.models import RoleGrant
from marketplace.console.forms import AssistedResetForm
from marketplace.core import audit
from marketplace.core.forms import add_form_error
from marketplace.core.text import masked_contact
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("operator_accounts", __name__, url_prefix="/operator")


def _shops_here(user) -> list[Shop]:
    """The shops of the current tenant the account works for (the guard keeps other tenants' shops out)."""
    shop_ids = select(RoleGrant.shop_id).where(RoleGrant.user_id == user.id, RoleGrant.role.in_(accounts.MERCHANT_ROLES))
    return list(db.session.scalars(select(Shop).where(Shop.id.in_(shop_ids)).order_by(Shop.slug)))


@blueprint.route("/<slug:tenant_slug>/accounts/reset", methods=["GET", "POST"])
@login_required
def assisted_reset():
    tenant = current_tenant._get_current_object()
    require(Permission.operate_tenant, tenant)
    is_admin = can(current_user, Permission.manage_platform)
    form = AssistedResetForm()
    status, done = 200, None
    if form.validate_on_submit():
        try:
            user, token = accounts.assisted_reset_token(tenant, form.mobile.data, any_account=is_admin)
        except accounts.AccountError as error:
            add_form_error(form, str(error), error.field)
        else:
            shops = _shops_here(user)
            audit.record("account.reset_link", target=user, account=masked_contact(user.login_name),
                         shops=[shop.slug for shop in shops], identity_checked=True,
                         note=(form.note.data or "").strip(), valid_minutes=accounts.reset_link_minutes())
            db.session.commit()
            done = {"user": user, "account": masked_contact(user.login_name), "shops": shops,
                    "link": url_for("accounts.reset_password", token=token, _external=True),
                    "minutes": accounts.reset_link_minutes()}
            form = AssistedResetForm(formdata=None)  # an empty form for the next person at the desk
    if form.errors:
        status = 400
    response = make_response(render_template("console/accounts/assisted_reset.html", tenant=tenant, form=form,
                                             done=done, is_admin=is_admin), status)
    response.headers["Cache-Control"] = "private, no-store"  # the link is for this page only
    return response
