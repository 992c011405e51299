"""The resident's address book under ``/account/addresses``, and the division list the address form reads.

Platform-wide like the rest of ``/account``: addresses belong to the account, so every handler loads the
address by id *and* the signed-in user's id and answers 404 for anyone else's. The province → city →
district selects work without JavaScript: the form's "更新地区选项" button posts the choice back and the
page comes back with the next list filled; with JavaScript the lists fill themselves from
``/account/addresses/divisions``.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField

from marketplace.accounts import addresses, divisions
from marketplace.core.forms import add_form_error
from marketplace.core.themes import render_themed
from marketplace.extensions import db

blueprint = Blueprint("account_addresses", __name__, url_prefix="/account/addresses")


class AddressForm(FlaskForm):
    # Lengths, formats and the divisions are checked by addresses.validate, which also serves checkout.
    recipient = StringField(_l("收货人"))
    mobile = StringField(_l("手机号"))
    province_code = SelectField(_l("省份"), validate_choice=False)
    city_code = SelectField(_l("城市"), validate_choice=False)
    district_code = SelectField(_l("区县"), validate_choice=False)
    street = StringField(_l("详细地址"))
    postcode = StringField(_l("邮政编码（可不填）"))
    make_default = BooleanField(_l("设为默认地址"))

    def fill_choices(self) -> None:
        """Each list holds the children of the choice above it (the no-JavaScript form needs them)."""
        pick = SelectChoice("", _("请选择"))

        def choices(parent: str | None) -> list[SelectChoice]:
            return [pick, *(SelectChoice(d.code, d.name) for d in divisions.children(parent))]

        self.province_code.choices = choices(None)
        province = divisions.get(self.province_code.data)
        self.city_code.choices = choices(province.code) if province and province.level == 1 else [pick]
        city = divisions.get(self.city_code.data)
        if not (city and province and city.parent == province.code):
            city = None
        self.district_code.choices = choices(city.code) if city and city.children else [pick]

    def to_input(self) -> addresses.AddressInput:
        return addresses.AddressInput(**{name: getattr(self, name).data or "" for name in (
            "recipient", "mobile", "province_code", "city_code", "district_code", "street", "postcode")})


class ActionForm(FlaskForm):
    """The CSRF token of the delete and set-default buttons."""


def _own_address_or_404(address_id: int) -> addresses.Address:
    address = addresses.address_of(current_user.id, address_id)
    if address is None:
        abort(404)
    return address


def _form_page(form: AddressForm, address: addresses.Address | None):
    """Save on submit, or show the form (again, with the errors or the refreshed lists)."""
    if form.is_submitted():
        form.fill_choices()
        if request.form.get("refresh"):  # the no-JavaScript cascade: show the next list, save nothing
            return render_themed("accounts/addresses_form.html", form=form, address=address)
    if form.validate_on_submit():
        try:
            if address is None:
                addresses.add_address(current_user.id, form.to_input(), make_default=form.make_default.data)
            else:
                addresses.update_address(address, form.to_input(), make_default=form.make_default.data)
        except addresses.AddressError as error:
            db.session.rollback()
            for field, message in error.problems.items():
                add_form_error(form, message, field or None)
        else:
            db.session.commit()
            flash(_("地址已保存。"), "success")
            return redirect(url_for("account_addresses.index")), 303
    form.fill_choices()
    status = 400 if form.is_submitted() else 200
    return render_themed("accounts/addresses_form.html", form=form, address=address), status


@blueprint.route("/")
@login_required
def index():
    return render_themed("accounts/addresses.html", addresses=addresses.addresses_of(current_user.id),
                         action_form=ActionForm())


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def new():
    return _form_page(AddressForm(), None)


@blueprint.route("/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def edit(address_id: int):
    address = _own_address_or_404(address_id)
    form = AddressForm(obj=None if request.method == "POST" else address)
    if request.method == "GET":
        form.district_code.data = address.district_code or ""
        form.postcode.data = address.postcode or ""
        form.make_default.data = address.is_default
    return _form_page(form, address)


@blueprint.route("/<int:address_id>/delete", methods=["POST"])
@login_required
def delete(address_id: int):
    address = _own_address_or_404(address_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    addresses.delete_address(address)
    db.session.commit()
    flash(_("地址已删除。"), "success")
    return redirect(url_for("account_addresses.index")), 303


@blueprint.route("/<int:address_id>/default", methods=["POST"])
@login_required
def make_default(address_id: int):
    address = _own_address_or_404(address_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    addresses.set_default(address)
    db.session.commit()
    flash(_("已设为默认地址。"), "success")
    return redirect(url_for("account_addresses.index")), 303


@blueprint.route("/divisions")
def division_children():
    """``?parent=410000`` → the cities of Henan; no parent → the provinces. Public data, cached a day."""
    parent = request.args.get("parent", "")
    if parent and divisions.get(parent) is None:
        return jsonify(error="unknown division", parent=parent), 404
    response = jsonify(parent=parent, children=[
        {"code": d.code, "name": d.name, "has_children": bool(d.children)} for d in divisions.children(parent)])
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
