"""Webhook subscriptions in the consoles: a shop's in the merchant console
(``/merchant/<tenant>/<shop>/webhooks``, the owner only: ``Permission.edit_shop``) and the tenant-wide ones in the
operator console (``/operator/<tenant>/webhooks``, ``Permission.operate_tenant``).

Both consoles run the same views and templates; a ``Subscriber`` says whose subscriptions a request is about (one
shop's, or the tenant's own with ``shop=None``) and builds that console's URLs. An endpoint or delivery id that is
not the subscriber's (another shop's, the other console's, another tenant's) is a 404.

A new endpoint's signing secret is shown once, in the answer to the form that created it, with
``Cache-Control: no-store`` (as with API keys): never in a redirect, the session or any later page. Adding,
disabling and replaying are recorded in the audit log, never with the secret.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import SelectMultipleField, StringField, URLField
from wtforms.validators import DataRequired, Length, ValidationError

from marketplace.accounts.authz import Permission, require
from marketplace.core import audit
from marketplace.core.db import utcnow
from marketplace.core.forms import add_form_error
from marketplace.core.text import plain_text
from marketplace.extensions import db
from marketplace.shops import services as shops
from marketplace.shops.models import Shop
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.models import Tenant
from marketplace.webhooks import services as webhooks
from marketplace.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

merchant_blueprint = Blueprint("merchant_webhooks", __name__,
                               url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/webhooks")
operator_blueprint = Blueprint("operator_webhooks", __name__, url_prefix="/operator/<slug:tenant_slug>/webhooks")

#: The deliveries page shows this many, newest first.
DELIVERIES_SHOWN = 50
#: The list counts each endpoint's deliveries of this long ago by status.
RECENT = timedelta(days=7)
#: How a receiver checks a delivery's signature, shown with the new secret: docs/api.md's recipe, word for word.
VERIFY_SNIPPET = """import hashlib, hmac, time

def verify(secret: str, signature_header: str, raw_body: bytes, tolerance_s: int = 300) -> bool:
    try:
        fields = dict(part.split("=", 1) for part in signature_header.split(","))
        timestamp, given = int(fields["t"]), fields["v1"]
    except (ValueError, KeyError):
        return False  # not a signature at all
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - timestamp) <= tolerance_s
    return fresh and hmac.compare_digest(expected, given)

# Flask: verify(SECRET, request.headers["Shangdu-Signature"], request.get_data())
"""


@dataclass(frozen=True)
class Subscriber:
    """Whose subscriptions a request is about: one shop's (merchant console) or the tenant's own (operator)."""

    tenant: Tenant
    shop: Shop | None

    @property
    def blueprint(self) -> str:
        return merchant_blueprint.name if self.shop is not None else operator_blueprint.name

    def url(self, view: str, **values) -> str:
        if self.shop is not None:
            values["shop_slug"] = self.shop.slug
        return url_for(f"{self.blueprint}.{view}", **values)

    @property
    def back_url(self) -> str:
        return url_for("merchant.shop", shop_slug=self.shop.slug) if self.shop is not None \
            else url_for("operator.tenant")

    @property
    def owner(self):
        """The shop, or the tenant: whose name the pages show."""
        return self.shop if self.shop is not None else self.tenant

    def owns(self):
        """The condition that keeps other shops' (or, for the operator, every shop's) endpoints out."""
        return WebhookEndpoint.shop_id == self.shop.id if self.shop is not None \
            else WebhookEndpoint.shop_id.is_(None)


def _subscriber(shop_slug: str | None) -> Subscriber:
    """The merchant console passes its shop's slug; the operator console none."""
    tenant = current_tenant._get_current_object()
    if shop_slug is None:
        require(Permission.operate_tenant, tenant)
        return Subscriber(tenant, None)
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.edit_shop, shop)
    return Subscriber(tenant, shop)


def _endpoint_or_404(subscriber: Subscriber, endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                                               subscriber.owns()))
    if endpoint is None:
        abort(404)
    return endpoint


class EndpointForm(FlaskForm):
    url = URLField(_l("推送地址"), filters=[lambda value: value.strip() if isinstance(value, str) else value],
                   validators=[DataRequired(_l("请填写推送地址（http:// 或 https:// 开头）。")),
                               Length(max=webhooks.MAX_URL), plain_text])
    description = StringField(_l("说明"), validators=[Length(max=200), plain_text])
    # Drawn as checkboxes by the template; checked against EVENTS below, with our own message.
    events = SelectMultipleField(_l("接收的事件"), choices=[], validate_choice=False)

    def validate_events(self, field) -> None:
        if not field.data or any(event not in webhooks.EVENTS for event in field.data):
            raise ValidationError(_("请选择要接收的事件。"))


def _recent_counts(endpoints: list[WebhookEndpoint]) -> dict[int, dict[str, int]]:
    """Per endpoint, its deliveries of the last ``RECENT`` by status (one query for the whole list)."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if not endpoints:
        return counts
    rows = db.session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count(WebhookDelivery.id))
        .where(WebhookDelivery.endpoint_id.in_([e.id for e in endpoints]),
               WebhookDelivery.created_at >= utcnow() - RECENT)
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status))
    for endpoint_id, status, n in rows:
        counts[endpoint_id][status] = n
    return counts


def _index_page(subscriber: Subscriber, form: EndpointForm, status: int = 200):
    endpoints = list(db.session.scalars(select(WebhookEndpoint).where(subscriber.owns())
                                        .order_by(WebhookEndpoint.disabled_at.is_not(None), WebhookEndpoint.id.desc())))
    return render_template("console/webhooks/index.html", subscriber=subscriber, form=form, endpoints=endpoints,
                           counts=_recent_counts(endpoints), statuses=DeliveryStatus.__labels__,
                           events=webhooks.EVENTS, recent_days=RECENT.days), status


@login_required
def index(shop_slug: str | None = None):
    subscriber = _subscriber(shop_slug)
    form = EndpointForm()
    if not form.validate_on_submit():
        return _index_page(subscriber, form, 400 if form.errors or form.form_errors else 200)
    try:
        endpoint = webhooks.subscribe(subscriber.tenant, subscriber.shop, form.url.data, form.events.data,
                                      actor_id=current_user.id, description=form.description.data or "")
    except webhooks.WebhookError as error:  # what is left after the form's checks is about the URL
        db.session.rollback()
        add_form_error(form, str(error), "url")
        return _index_page(subscriber, form, 400)
    audit.record("webhook.created", target=endpoint, url=endpoint.url, events=endpoint.events,
                 shop=subscriber.shop.slug if subscriber.shop is not None else None)
    secret = endpoint.secret
    db.session.commit()
    response = make_response(render_template("console/webhooks/created.html", subscriber=subscriber,
                                             endpoint=endpoint, secret=secret, events=webhooks.EVENTS,
                                             snippet=VERIFY_SNIPPET,
                                             header=webhooks.SIGNATURE_HEADER))
    response.headers["Cache-Control"] = "no-store"  # the secret is for this answer only
    return response


@login_required
def deliveries(endpoint_id: int, shop_slug: str | None = None):
    subscriber = _subscriber(shop_slug)
    endpoint = _endpoint_or_404(subscriber, endpoint_id)
    latest = list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        .options(selectinload(WebhookDelivery.tries)).order_by(WebhookDelivery.id.desc()).limit(DELIVERIES_SHOWN)))
    return render_template("console/webhooks/deliveries.html", subscriber=subscriber, endpoint=endpoint,
                           deliveries=latest, events=webhooks.EVENTS, shown=DELIVERIES_SHOWN,
                           waiting=(DeliveryStatus.pending, DeliveryStatus.failed))


@login_required
def disable(endpoint_id: int, shop_slug: str | None = None):
    subscriber = _subscriber(shop_slug)
    endpoint = _endpoint_or_404(subscriber, endpoint_id)
    if endpoint.active:
        webhooks.disable(endpoint)
        audit.record("webhook.disabled", target=endpoint, url=endpoint.url)
        db.session.commit()
    flash(_("已停用推送到 %(url)s 的订阅：不再发送新事件，未送达的也不再重试。", url=endpoint.url), "success")
    return redirect(subscriber.url("index")), 303


@login_required
def replay(endpoint_id: int, delivery_id: int, shop_slug: str | None = None):
    subscriber = _subscriber(shop_slug)
    endpoint = _endpoint_or_404(subscriber, endpoint_id)
    delivery = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                               WebhookDelivery.endpoint_id == endpoint.id))
    if delivery is None:
        abort(404)
    if not endpoint.active:
        flash(_("订阅已停用，不能重新发送。"), "error")
        return redirect(subscriber.url("deliveries", endpoint_id=endpoint.id)), 303
    again = webhooks.replay(delivery)
    audit.record("webhook.replayed", target=endpoint, delivery=delivery.id, new_delivery=again.id,
                 event=delivery.event, event_id=delivery.event_id)
    db.session.commit()
    flash(_("事件 %(event_id)s 已排队重新发送（事件编号不变，接收方可据此去重）。", event_id=delivery.event_id), "success")
    return redirect(subscriber.url("deliveries", endpoint_id=endpoint.id)), 303


for _blueprint in (merchant_blueprint, operator_blueprint):
    _blueprint.add_url_rule("", "index", index, methods=["GET", "POST"])
    _blueprint.add_url_rule("/<int:endpoint_id>", "deliveries", deliveries)
    _blueprint.add_url_rule("/<int:endpoint_id>/disable", "disable", disable, methods=["POST"])
    _blueprint.add_url_rule("/<int:endpoint_id>/deliveries/<int:delivery_id>/replay", "replay", replay,
                            methods=["POST"])
