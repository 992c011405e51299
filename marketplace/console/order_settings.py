"""The operator's order settings for a tenant (POST /operator/<tenant>/order-settings): the platform commission,
how long a buyer has to pay (in general, and for offline payment, which may take until the buyer reaches the
shop), and how long a merchant has to answer a return request.

The form lives on the operator's tenant page; ``order_settings_form`` (a template global) gives that page the
form with the stored values, or the refused form with its errors after a bad submission. The commission is
typed as a percentage with at most two decimals ("1.50") and stored exactly as basis points (150): no floats.
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, g, make_response, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from marketplace.accounts.authz import Permission, require
from marketplace.core import audit
from marketplace.extensions import db
from marketplace.orders.returns import returns_settings
from marketplace.orders.services import order_settings
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.models import Tenant

blueprint = Blueprint("operator_order_settings", __name__, url_prefix="/operator/<slug:tenant_slug>")

#: Bounds of each setting, as stored (basis points, minutes, hours).
COMMISSION_BP = (0, 3000)
PAYMENT_MINUTES = (5, 10080)
RESPOND_HOURS = (1, 720)
#: The payment provider whose hold the operator may set apart (the id ``place_order`` is given).
OFFLINE = "offline"
_PERCENT = re.compile(r"(\d{1,4})(?:\.(\d{1,2}))?")
_WHOLE = re.compile(r"\d{1,6}")


def percent_to_bp(text: str) -> int | None:
    """"1.50" → 150, "1.5" → 150, "2" → 200; None for anything else (signs, three decimals, letters)."""
    match = _PERCENT.fullmatch((text or "").strip())
    if match is None:
        return None
    whole, fraction = match.groups()
    return int(whole) * 100 + int((fraction or "0").ljust(2, "0"))


def bp_to_percent(bp: int) -> str:
    """150 → "1.50"."""
    return f"{bp // 100}.{bp % 100:02d}"


def _whole_number(low: int, high: int, message, *, optional: bool = False):
    def check(form, field):
        text = (field.data or "").strip()
        if optional and not text:
            return
        if not _WHOLE.fullmatch(text) or not low <= int(text) <= high:
            raise ValidationError(str(message))

    return check


def _commission(form, field):
    bp = percent_to_bp(field.data)
    if bp is None or not COMMISSION_BP[0] <= bp <= COMMISSION_BP[1]:
        raise ValidationError(_("佣金比例应为 0.00 到 30.00 之间的百分数，最多两位小数，例如 1.50。"))


class OrderSettingsForm(FlaskForm):
    commission_percent = StringField(_l("平台佣金（%）"), validators=[_commission])
    payment_minutes = StringField(_l("付款期限（分钟）"), validators=[_whole_number(
        *PAYMENT_MINUTES, _l("付款期限应为 5 到 10080 之间的整数（分钟）。"))])
    offline_payment_minutes = StringField(_l("线下付款期限（分钟）"), validators=[_whole_number(
        *PAYMENT_MINUTES, _l("线下付款期限应为 5 到 10080 之间的整数（分钟），或留空。"), optional=True)])
    respond_hours = StringField(_l("退货申请答复期限（小时）"), validators=[_whole_number(
        *RESPOND_HOURS, _l("退货答复期限应为 1 到 720 之间的整数（小时）。"))])


def update_order_settings(tenant: Tenant, *, commission_bp: int, payment_minutes: int, respond_hours: int,
                          offline_payment_minutes: int | None = None) -> None:
    """Store the tenant's commission (basis points), payment deadline (minutes), the deadline for offline payment
    (None: the general one) and return answer time (hours). New orders and new return requests use them; those
    already placed keep what they were given. A change is recorded in the audit log (the console's form and the
    operator API both come here). Flushes."""
    before = current_order_settings(tenant)
    order_settings.set(tenant, "commission_bp", commission_bp)
    order_settings.set(tenant, "payment_minutes", payment_minutes)
    stored = order_settings.get(tenant, "payment_minutes_by_provider")
    # A new dict: changing the stored one in place would go unnoticed by the session (a JSON column).
    by_provider = {provider: minutes for provider, minutes in stored.items() if provider != OFFLINE}
    if offline_payment_minutes is not None:
        by_provider[OFFLINE] = offline_payment_minutes
    if by_provider != stored:
        order_settings.set(tenant, "payment_minutes_by_provider", by_provider)
    returns_settings.set(tenant, "respond_hours", respond_hours)
    after = current_order_settings(tenant)
    if after != before:
        audit.record("tenant.order_settings_changed", target=tenant, before=before, after=after)


def current_order_settings(tenant: Tenant) -> dict:
    """The settings ``update_order_settings`` changes, as stored: commission_bp, payment_minutes,
    offline_payment_minutes (None: the general one), respond_hours."""
    stored = order_settings.all(tenant)
    return {"commission_bp": stored["commission_bp"], "payment_minutes": stored["payment_minutes"],
            "offline_payment_minutes": stored["payment_minutes_by_provider"].get(OFFLINE),
            "respond_hours": returns_settings.get(tenant, "respond_hours")}


@blueprint.app_template_global()
def order_settings_form(tenant: Tenant) -> OrderSettingsForm:
    """The form for the tenant page: the one just refused, if any, else one holding the stored values."""
    refused = g.get("refused_order_settings_form")
    if refused is not None:
        return refused
    stored = order_settings.all(tenant)
    # formdata=None: on a refused POST of another form on the same page, do not read that form's fields.
    return OrderSettingsForm(formdata=None, data={
        "commission_percent": bp_to_percent(stored["commission_bp"]),
        "payment_minutes": str(stored["payment_minutes"]),
        "offline_payment_minutes": str(stored["payment_minutes_by_provider"].get(OFFLINE, "")),
        "respond_hours": str(returns_settings.get(tenant, "respond_hours")),
    })


@blueprint.route("/order-settings", methods=["POST"])
@login_required
def save():
    require(Permission.operate_tenant, current_tenant)
    form = OrderSettingsForm()
    if form.validate_on_submit():
        update_order_settings(current_tenant._get_current_object(), commission_bp=percent_to_bp(form.commission_percent.data),
                              payment_minutes=int(form.payment_minutes.data.strip()),
                              offline_payment_minutes=int((form.offline_payment_minutes.data or "").strip() or 0) or None,
                              respond_hours=int(form.respond_hours.data.strip()))
        db.session.commit()
        flash(_("订单设置已保存。"), "success")
        return redirect(url_for("operator.tenant")), 303
    # Show the tenant page again with this form's errors next to its fields.
    g.refused_order_settings_form = form
    response = make_response(current_app.view_functions["operator.tenant"]())
    response.status_code = 400
    return response
