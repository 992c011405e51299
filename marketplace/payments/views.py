"""Payment pages and endpoints that are not a tenant's storefront: the providers' notification endpoint.

``POST /payments/notifications/<provider>`` takes a provider's signed notification (a Stripe webhook). The
body is verified by the provider over the raw bytes; one that does not verify is answered 400 and changes
nothing. One that verifies is applied once (``services.handle_notification``) and answered 200, also when it
was seen before, so the provider stops retrying. CSRF does not apply: the signature is the proof.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, request

from marketplace.extensions import csrf, db
from marketplace.payments import services
from marketplace.payments.providers import NotificationRefused, ProviderLoadError, provider_classes

log = logging.getLogger(__name__)
blueprint = Blueprint("payment_notifications", __name__, url_prefix="/payments")
#: Larger bodies are not notifications (Stripe's are a few kilobytes).
MAX_BODY = 256 * 1024


@blueprint.route("/notifications/<string(maxlength=63):provider>", methods=["POST"])
def notification(provider: str):
    if provider not in provider_classes():
        abort(404)
    if (request.content_length or 0) > MAX_BODY:
        abort(413)
    body = request.get_data(cache=False, as_text=False)[:MAX_BODY + 1]
    try:
        outcome = services.handle_notification(provider, body, request.headers)
    except NotificationRefused as refused:
        db.session.rollback()
        log.warning("%s notification refused: %s", provider, refused)
        return jsonify(error="signature_invalid", detail=str(refused)), 400
    except ProviderLoadError:
        db.session.rollback()
        abort(404)
    return jsonify(outcome=outcome), 200


def register(app) -> None:
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
    app.after_request(services.call_providers_after_request)
