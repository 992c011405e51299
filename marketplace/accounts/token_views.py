"""The resident's personal API tokens under ``/account/tokens``, for a mobile app or their own script.

Platform-wide like the rest of ``/account``: a token acts as its resident in every tenant's resident API (``api.auth``,
``api.orders._signed_in``). The page lists the resident's tokens, makes one with a name, the scopes it needs and an
expiry, and revokes any. A new token is shown once, in the answer to the form that made it — never stored, never
put in the session or a redirect — with ``Cache-Control: no-store`` so no cache keeps the page, as on the merchant
console's API key page. Making and revoking are recorded in the audit log (by ``api.auth``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from marketplace.api import auth
from marketplace.api.models import PersonalToken
from marketplace.api.scopes import RESIDENT_SCOPES
from marketplace.core.forms import add_form_error
from marketplace.core.text import plain_text
from marketplace.core.themes import render_themed
from marketplace.extensions import db

blueprint = Blueprint("account_tokens", __name__, url_prefix="/account/tokens")

#: The expiry choices, as the form sends them; "never" is a token that lives until revoked.
EXPIRY_CHOICES = {"30": _l("30 天"), "90": _l("90 天"), "365": _l("一年"), "never": _l("永不过期（直到吊销）")}


class PersonalTokenForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(_l("请给令牌起个名字，例如“手机 App”。")),
                                             Length(max=100, message=_l("名称最多 100 个字。")), plain_text])
    # Unknown values are refused by auth.issue_personal_token, with the scopes named; checkboxes drawn by the template.
    scopes = SelectMultipleField(_l("权限范围"), choices=[SelectChoice(scope, scope) for scope in RESIDENT_SCOPES],
                                 validate_choice=False)
    # Likewise: an expiry that is not offered is refused by auth.issue_personal_token, in the platform's words.
    expires = SelectField(_l("有效期"), choices=[SelectChoice(value, label) for value, label in EXPIRY_CHOICES.items()],
                          default="90", validate_choice=False)

    def expiry_days(self) -> int | None:
        """The chosen expiry in days (None: never); an unknown value passes as -1, which issuing refuses."""
        value = self.expires.data
        if value == "never":
            return None
        return int(value) if value in EXPIRY_CHOICES else -1


class ActionForm(FlaskForm):
    """The CSRF token of the revoke buttons."""


def _tokens_page(form: PersonalTokenForm, status: int = 200):
    return render_themed("accounts/tokens.html", form=form, action_form=ActionForm(),
                         tokens=auth.personal_tokens_of(current_user), scopes=RESIDENT_SCOPES), status


@blueprint.route("", methods=["GET", "POST"])
@login_required
def index():
    form = PersonalTokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form, 400 if form.errors or form.form_errors else 200)
    try:
        token = auth.issue_personal_token(current_user, form.name.data, form.scopes.data, form.expiry_days())
    except auth.TokenError as error:
        db.session.rollback()
        add_form_error(form, str(error), error.field)
        return _tokens_page(form, 400)
    row = db.session.scalar(select(PersonalToken).where(PersonalToken.token_sha256 == auth.hash_token(token)))
    db.session.commit()
    response = make_response(render_themed("accounts/token_created.html", row=row, token=token,
                                           scopes=RESIDENT_SCOPES))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    row = db.session.scalar(select(PersonalToken).where(PersonalToken.id == token_id,
                                                        PersonalToken.user_id == current_user.id))
    if row is None:
        abort(404)  # someone else's token, or none
    if not row.is_revoked:
        auth.revoke_personal_token(row)
        db.session.commit()
    flash(_("个人令牌“%(name)s”已吊销，使用它的请求从现在起都会被拒绝。", name=row.name), "success")
    return redirect(url_for("account_tokens.index")), 303
