"""API keys in the consoles: the shop's keys (bearer tokens of ``api.auth``) for its ERP, till or scripts, and the
tenant's operator keys for the operator's own systems (the operator API).

- ``/merchant/<t>/<shop>/api-keys``: the shop's owner (``Permission.edit_shop``; staff get 403).
- ``/operator/<t>/api-keys``: the tenant's operators (``Permission.operate_tenant``; anyone else 404, as every
  operator page of a tenant one does not run). A key carries the rights of the operator who creates it.

Each page lists the keys, creates one with a name and the scopes it needs, and revokes any. A new key is shown
once, in the answer to the form that created it — never stored, never put in the session or a redirect — with
``Cache-Control: no-store`` so no cache keeps the page. Creating and revoking are recorded in the audit log (by
``api.auth``). Both pages are drawn from the same macros (``console/api_keys/_keys.html``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from marketplace.accounts.authz import Permission, require
from marketplace.api import auth
from marketplace.api.models import ApiToken, OperatorToken
from marketplace.api.scopes import OPERATOR_SCOPES, SCOPES
from marketplace.core.forms import add_form_error
from marketplace.core.text import plain_text
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("merchant_api_keys", __name__,
                      url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/api-keys")
operator_blueprint = Blueprint("operator_api_keys", __name__, url_prefix="/operator/<slug:tenant_slug>/api-keys")


class ApiKeyForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(_l("请给 API 密钥起个名字，例如“ERP 库存同步”。")),
                                             Length(max=100, message=_l("名称最多 100 个字。")), plain_text])
    # Unknown values are refused by auth.issue_token, with the scopes named; checkboxes drawn by the template.
    scopes = SelectMultipleField(_l("权限范围"), choices=[SelectChoice(scope, scope) for scope in SCOPES], validate_choice=False)


def _issued(form: ApiKeyForm, keys_page, issue, model, created_template: str, **context):
    """The key form's answer: the list again with the form's errors, or the new key shown once (``issue()`` makes
    it; ``model`` is its table), on a page no cache keeps."""
    if not form.validate_on_submit():
        return keys_page(form, 400 if form.errors or form.form_errors else 200)
    try:
        token = issue()
    except auth.TokenError as error:
        db.session.rollback()
        add_form_error(form, str(error), error.field)
        return keys_page(form, 400)
    key = db.session.scalar(select(model).where(model.token_sha256 == auth.hash_token(token)))
    db.session.commit()
    response = make_response(render_template(created_template, key=key, token=token, **context))
    response.headers["Cache-Control"] = "no-store"
    return response


def _own_shop(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.edit_shop, shop)
    return shop


def _keys_page(shop, form: ApiKeyForm, status: int = 200):
    return render_template("console/api_keys/index.html", shop=shop, form=form, keys=auth.tokens_of_shop(shop),
                           scopes=SCOPES), status


@blueprint.route("", methods=["GET", "POST"])
@login_required
def index(shop_slug: str):
    shop = _own_shop(shop_slug)
    form = ApiKeyForm()
    return _issued(form, lambda form, status: _keys_page(shop, form, status),
                   lambda: auth.issue_token(current_user, shop, form.name.data, form.scopes.data), ApiToken,
                   "console/api_keys/created.html", shop=shop, scopes=SCOPES)


@blueprint.route("/<int:key_id>/revoke", methods=["POST"])
@login_required
def revoke(shop_slug: str, key_id: int):
    shop = _own_shop(shop_slug)
    key = db.session.scalar(select(ApiToken).where(ApiToken.id == key_id, ApiToken.tenant_id == shop.tenant_id,
                                                   ApiToken.shop_id == shop.id))
    if key is None:
        abort(404)
    if not key.is_revoked:
        auth.revoke_token(key)
        db.session.commit()
    flash(_("API 密钥“%(name)s”已吊销，使用它的请求从现在起都会被拒绝。", name=key.name), "success")
    return redirect(url_for("merchant_api_keys.index", shop_slug=shop.slug)), 303


# -- the tenant's operator keys -------------------------------------------------------------------------------------

def _operated_tenant():
    require(Permission.operate_tenant, current_tenant)
    return current_tenant._get_current_object()


def _operator_keys_page(tenant, form: ApiKeyForm, status: int = 200):
    return render_template("console/api_keys/operator_index.html", tenant=tenant, form=form,
                           keys=auth.operator_tokens_of(tenant), scopes=OPERATOR_SCOPES), status


@operator_blueprint.route("", methods=["GET", "POST"], endpoint="index")
@login_required
def operator_index():
    tenant = _operated_tenant()
    form = ApiKeyForm()
    return _issued(form, lambda form, status: _operator_keys_page(tenant, form, status),
                   lambda: auth.issue_operator_token(current_user, tenant, form.name.data, form.scopes.data),
                   OperatorToken, "console/api_keys/operator_created.html", tenant=tenant, scopes=OPERATOR_SCOPES)


@operator_blueprint.route("/<int:key_id>/revoke", methods=["POST"], endpoint="revoke")
@login_required
def operator_revoke(key_id: int):
    tenant = _operated_tenant()
    key = db.session.scalar(select(OperatorToken).where(OperatorToken.id == key_id,
                                                        OperatorToken.tenant_id == tenant.id))
    if key is None:
        abort(404)
    if not key.is_revoked:
        auth.revoke_operator_token(key)
        db.session.commit()
    flash(_("API 密钥“%(name)s”已吊销，使用它的请求从现在起都会被拒绝。", name=key.name), "success")
    return redirect(url_for("operator_api_keys.index")), 303
