"""``stripe``: card, Alipay and WeChat Pay through Stripe PaymentIntents, with signed webhooks.

The buyer's browser confirms the PaymentIntent with Stripe.js from Stripe's own host, using the client secret
``create`` hands back: card data never reaches the platform. Stripe then tells us by webhook
(``POST /payments/notifications/stripe``, verified over the raw body with the endpoint secret and a 5-minute
tolerance), and the buyer's return asks again (``retrieve``); ``payments.services`` applies either once.

Each provider instance has its own ``stripe.StripeClient`` (key, API base): nothing is set on the ``stripe``
module, so tests pointing one app at a local emulator cannot leak into another. Every write carries an
idempotency key derived from our own ids. Stripe objects are read through ``to_dict()`` (stripe 16 objects
are not dicts). Nothing here logs card data: we never have any, and errors are logged by their message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import stripe

from marketplace.core.enums import _l
from marketplace.payments.providers import (
    Capabilities,
    NotificationRefused,
    PaymentProvider,
    PaymentRequest,
    PaymentStatus,
    ProviderAction,
    ProviderError,
    ProviderLoadError,
    ProviderResult,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
)

log = logging.getLogger(__name__)

METHOD_LABELS = {"card": _l("银行卡"), "alipay": _l("支付宝"), "wechat_pay": _l("微信支付")}
CAPTURE_CHOICES = ("automatic", "on_accept")
#: Seconds a webhook's signed timestamp may be old (Stripe's own default).
TOLERANCE_S = 300
#: Seconds to wait for Stripe before telling the buyer it cannot be reached.
TIMEOUT_S = 20

STATUSES = {
    "requires_confirmation": PaymentStatus.pending,
    "processing": PaymentStatus.pending,  # the buyer did their part; the money has not moved yet
    "requires_action": PaymentStatus.requires_action,
    "requires_capture": PaymentStatus.authorized,
    "succeeded": PaymentStatus.succeeded,
    "canceled": PaymentStatus.cancelled,
}
REFUND_STATUSES = {"pending": "pending", "requires_action": "pending", "succeeded": "succeeded",
                   "failed": "failed", "canceled": "failed"}


def missing_settings(settings: Mapping[str, Any]) -> list[str]:
    """The platform settings Stripe needs that are not set."""
    return [f"MARKETPLACE_{name}" for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET") if not settings.get(name)]


class StripeProvider(PaymentProvider):
    name = "stripe"
    label = _l("Stripe 在线支付")
    method_labels = METHOD_LABELS
    capabilities = Capabilities(methods=tuple(METHOD_LABELS), currencies=("CNY", "HKD", "USD", "EUR"),
                                capture_later=True, partial_refund=True, notifications=True, automatic=True)
    options_schema = {
        "methods": (list, ["card"]),
        #: "automatic": the money is taken at once; "on_accept": held on the card, taken when the merchant accepts.
        "capture": (str, "automatic"),
    }

    @classmethod
    def configured(cls, settings: Mapping[str, Any]) -> bool:
        return not missing_settings(settings)

    @classmethod
    def options_problem(cls, options: Mapping[str, Any]) -> str | None:
        if options.get("capture", "automatic") not in CAPTURE_CHOICES:
            return f"payment option capture must be {' or '.join(CAPTURE_CHOICES)}, not {options['capture']!r}"
        return None

    def __init__(self, settings: Mapping[str, Any], options: Mapping[str, Any]):
        super().__init__(settings, options)
        missing = missing_settings(settings)
        if missing and settings.get("ENV") == "production":
            raise ProviderLoadError(f"payment provider 'stripe' needs {' and '.join(missing)}")
        base = settings.get("STRIPE_API_BASE")
        self.client = stripe.StripeClient(
            settings.get("STRIPE_SECRET_KEY") or "sk_not_configured",
            base_addresses={"api": base.rstrip("/")} if base else {},
            http_client=stripe.RequestsClient(timeout=TIMEOUT_S),
            max_network_retries=1)  # retries resend the same idempotency key

    # -- collecting -------------------------------------------------------------------------------------------------

    def create(self, request: PaymentRequest) -> ProviderAction:
        manual = request.capture == "manual" or self.options.get("capture") == "on_accept"
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "payment_method_types": [request.method],
            "capture_method": "manual" if manual else "automatic",
            # No ``description``: the group number is in the metadata (and the local emulator refuses it).
            "metadata": {"payment_id": str(request.payment_id), "tenant": request.tenant,
                         "reference": request.reference},
        }
        if request.method == "wechat_pay":  # Stripe.js shows the QR code in the page
            params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
        intent = self._call(self.client.v1.payment_intents.create, params,
                            {"idempotency_key": f"payment-{request.payment_id}-create"})
        return ProviderAction(kind="client_secret", reference=intent["id"], client_secret=intent["client_secret"])

    def resume(self, reference: str) -> ProviderAction:
        intent = self._call(self.client.v1.payment_intents.retrieve, reference)
        return ProviderAction(kind="client_secret", reference=intent["id"], client_secret=intent["client_secret"])

    def retrieve(self, reference: str) -> ProviderResult:
        intent = self._call(self.client.v1.payment_intents.retrieve, reference, {"expand": ["latest_charge"]})
        return intent_result(intent)

    def capture(self, reference: str, amount: int, *, key: str) -> ProviderResult:
        intent = self._call(self.client.v1.payment_intents.capture, reference,
                            {"amount_to_capture": amount, "expand": ["latest_charge"]}, {"idempotency_key": key})
        return intent_result(intent)

    def cancel(self, reference: str, *, key: str) -> ProviderResult:
        intent = self._call(self.client.v1.payment_intents.cancel, reference, None, {"idempotency_key": key})
        return intent_result(intent)

    def refund(self, request: RefundRequest) -> RefundResult:
        # Stripe's ``reason`` is a short list of codes: our own words go into the metadata.
        refund = self._call(self.client.v1.refunds.create, {
            "payment_intent": request.payment_reference, "amount": request.amount,
            "metadata": {"refund_id": str(request.refund_id), "note": request.reason[:500]},
        }, {"idempotency_key": f"refund-{request.refund_id}"})
        return refund_result(refund)

    # -- notifications ----------------------------------------------------------------------------------------------

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> ProviderResult | None:
        signature = headers.get("Stripe-Signature")
        if not signature:
            raise NotificationRefused("no Stripe-Signature header")
        secret = self.settings.get("STRIPE_WEBHOOK_SECRET")
        if not secret:
            raise NotificationRefused("MARKETPLACE_STRIPE_WEBHOOK_SECRET is not set")
        try:
            event = stripe.Webhook.construct_event(body, signature, secret, tolerance=TOLERANCE_S).to_dict()
        except Exception as error:  # noqa: BLE001 - any header or body that does not verify, however malformed
            raise NotificationRefused(f"Stripe-Signature does not verify: {error}") from None
        try:
            return _event_result(event)
        except (TypeError, ValueError, AttributeError, OverflowError, KeyError) as error:
            # Signed with our secret but not shaped like any Stripe event: nothing to apply.
            raise NotificationRefused(f"not a Stripe event we can read: {error}") from None

    # -- reconciliation ---------------------------------------------------------------------------------------------

    def payments_since(self, since: datetime) -> Iterator[ProviderResult]:
        cutoff = int(since.timestamp())
        params = {"limit": 100, "created": {"gte": cutoff}, "expand": ["data.latest_charge"]}
        try:
            page = self._call(self.client.v1.payment_intents.list, params, raw=True)
        except ProviderError:
            # The local emulator (localstripe) cannot filter this list by date: ask for all of it, filter here.
            params.pop("created")
            page = self._call(self.client.v1.payment_intents.list, params, raw=True)
        try:
            for intent in page.auto_paging_iter():
                intent = intent.to_dict()
                if intent.get("created", 0) >= cutoff:
                    yield intent_result(intent)
        except stripe.StripeError as error:
            raise _translated(error) from None

    def health(self) -> tuple[bool, str]:
        try:
            self._call(self.client.v1.balance.retrieve)
        except (ProviderUnavailable, ProviderError) as error:
            return False, f"stripe: {error}"
        return True, "stripe"

    # -- talking to Stripe ------------------------------------------------------------------------------------------

    def _call(self, method, *args, raw: bool = False):
        """One Stripe request; its answer as plain dicts (or the object itself with ``raw``), errors translated."""
        args = list(args)
        while args and args[-1] is None:
            args.pop()
        try:
            answer = method(*args)
        except stripe.StripeError as error:
            raise _translated(error) from None
        return answer if raw else answer.to_dict()


def _translated(error: stripe.StripeError) -> Exception:
    """Stripe's error as ours: could not ask (ProviderUnavailable) or was refused (ProviderError)."""
    message = (getattr(error, "user_message", None) or str(error) or type(error).__name__).strip()
    if isinstance(error, (stripe.InvalidRequestError, stripe.CardError, stripe.IdempotencyError)):
        log.info("Stripe refused a request: %s", message)
        return ProviderError(message)
    # Connection failures, rate limits, Stripe's own 5xx, and keys it does not accept.
    log.warning("Stripe could not be asked (%s): %s", type(error).__name__, message)
    return ProviderUnavailable(f"Stripe: {message}")


def _event_result(event: Any) -> ProviderResult | None:
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise ValueError("an event has a string id and type")
    if not 0 < len(event["id"]) <= 255:
        raise ValueError("event id length")
    kind = event["type"]
    obj = (event.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict):
        raise ValueError("data.object is an object")
    if kind.startswith("payment_intent.") and obj.get("object") == "payment_intent":
        result = intent_result(obj)
    elif kind == "charge.refunded" and obj.get("object") == "charge" and obj.get("payment_intent"):
        result = charge_result(obj)
    else:
        return None  # an event that says nothing about a payment (a customer, a payout…)
    if not isinstance(result.reference, str) or len(result.reference) > 100:
        raise ValueError("payment reference")
    created = event.get("created")
    return _replace(result, event_id=event["id"], event_type=kind,
                    created=datetime.fromtimestamp(created, UTC) if isinstance(created, int) else None)


def _replace(result: ProviderResult, **changes) -> ProviderResult:
    from dataclasses import replace

    return replace(result, **changes)


def _payment_id(metadata: Mapping[str, Any] | None) -> int | None:
    value = (metadata or {}).get("payment_id")
    # Our own ids, which fit a database integer; anything else is not one of ours.
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9 else None


def _charge(intent: Mapping[str, Any]) -> dict:
    charge = intent.get("latest_charge")
    return charge if isinstance(charge, dict) else {}


def intent_result(intent: Mapping[str, Any]) -> ProviderResult:
    """A PaymentIntent (as a dict) as the platform reads it."""
    stripe_status = intent.get("status", "")
    error = intent.get("last_payment_error") or {}
    if stripe_status == "requires_payment_method":
        status = PaymentStatus.failed if error else PaymentStatus.pending
    else:
        status = STATUSES.get(stripe_status, PaymentStatus.pending)
    charge = _charge(intent)
    captured = intent.get("amount_received")
    if captured is None:  # the local emulator has no amount_received: read the charge
        captured = _charge_captured(charge)
    return ProviderResult(
        reference=intent.get("id", ""), status=status, amount=int(intent.get("amount") or 0),
        currency=str(intent.get("currency") or "").upper(), amount_captured=int(captured or 0),
        failure=str(error.get("message") or "") if status == PaymentStatus.failed else "",
        payment_id=_payment_id(intent.get("metadata")), refunds=_refunds(charge))


def _charge_captured(charge: Mapping[str, Any]) -> int:
    if not charge or charge.get("status") != "succeeded" or not charge.get("captured"):
        return 0
    # Stripe says amount_captured; the local emulator does not (and books a smaller capture as a refund of the
    # rest, which cannot be told apart from a later refund: there the whole charge reads as captured).
    return int(charge.get("amount_captured") or charge.get("amount") or 0)


def _refunds(charge: Mapping[str, Any]) -> tuple[RefundResult, ...]:
    listed = charge.get("refunds") if charge else None
    data = listed.get("data") if isinstance(listed, dict) else None
    return tuple(refund_result(r) for r in data or () if isinstance(r, dict))


def charge_result(charge: Mapping[str, Any]) -> ProviderResult:
    """A Charge (``charge.refunded``) as the platform reads its PaymentIntent."""
    captured = _charge_captured(charge)
    if charge.get("status") == "succeeded":
        status = PaymentStatus.succeeded if charge.get("captured") else PaymentStatus.authorized
    else:
        status = PaymentStatus.failed if charge.get("status") == "failed" else PaymentStatus.pending
    return ProviderResult(reference=str(charge.get("payment_intent") or ""), status=status,
                          amount=int(charge.get("amount") or 0), currency=str(charge.get("currency") or "").upper(),
                          amount_captured=captured, failure=str(charge.get("failure_message") or ""),
                          payment_id=_payment_id(charge.get("metadata")), refunds=_refunds(charge))


def refund_result(refund: Mapping[str, Any]) -> RefundResult:
    status = REFUND_STATUSES.get(refund.get("status", ""), "pending")
    return RefundResult(reference=refund.get("id", ""), status=status, amount=int(refund.get("amount") or 0),
                        failure=str(refund.get("failure_reason") or "") if status == "failed" else "")
