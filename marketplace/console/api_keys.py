"""Merchant console: the shop's API keys (bearer tokens of ``api.auth``), for its ERP, till or scripts.

The shop's owner (``Permission.edit_shop``; staff get 403) lists the keys, creates one with a name and the
scopes it needs, and revokes any. A new key is shown once, in the answer to the form that created it — never
stored, never put in the session or a redirect — with ``Cache-Control: no-store`` so no cache keeps the page.
Creating and revoking are recorded in the audit log (by ``api.auth``).
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
from marketplace.api.models import ApiToken
from marketplace.api.scopes import SCOPES
from marketplace.core.forms import add_form_error
from marketplace.core.text import plain_text
from marketplace.extensions import db
from marketplace.shops import services as shops

blueprint = Blueprint("merchant_api_keys", __name__,
                      url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/api-keys")


class ApiKeyForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(_l("请给 API 密钥起个名字，例如“ERP 库存同步”。")),
                                             Length(max=100, message=_l("名称最多 100 个字。")), plain_text])
    # Unknown values are refused by auth.issue_token, with the scopes named; checkboxes drawn by the template.
    scopes = SelectMultipleField(_l("权限范围"), choices=[SelectChoice(scope, scope) for scope in SCOPES], validate_choice=False)


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
    if not form.validate_on_submit():
        return _keys_page(shop, form, 400 if form.errors or form.form_errors else 200)
    try:
        token = auth.issue_token(current_user, shop, form.name.data, form.scopes.data)
    except auth.TokenError as error:
        db.session.rollback()
        add_form_error(form, str(error), error.field)
        return _keys_page(shop, form, 400)
    key = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == auth.hash_token(token)))
    db.session.commit()
    response = make_response(render_template("console/api_keys/created.html", shop=shop, key=key, token=token,
                                             scopes=SCOPES))
    response.headers["Cache-Control"] = "no-store"
    return response


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
