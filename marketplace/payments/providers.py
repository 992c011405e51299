"""The payment provider interface: what a provider must do, and the plain values that cross the boundary.

A provider moves money; the platform keeps the books. Everything a provider is told or tells back is one of the
frozen dataclasses below — never a model, never a provider SDK object — so a provider can be written, and
tested with ``marketplace.payments.conformance``, without knowing the platform's tables.

* ``create`` starts collecting a ``PaymentRequest`` and answers with a ``ProviderAction``: what the buyer's
  browser does next (confirm a card with a client secret, follow a redirect, or read instructions such as a
  bank-transfer reference). It must be safe to call again with the same request (idempotency keys derive
  from ``PaymentRequest.payment_id``).
* ``retrieve`` and ``parse_notification`` answer with a ``ProviderResult``: the payment as the provider sees
  it now. The platform decides what that means for the orders (``payments.services.apply_result``).
* ``refund`` pays part or all of a captured payment back.
* ``ProviderUnavailable`` is raised when the provider cannot be reached or answers nonsense: the platform then
  shows a clear message and marks nothing paid. ``NotificationRefused`` is raised for a notification that
  does not verify (unsigned, forged, altered, stale).

Providers are found in ``BUILT_IN_PROVIDERS`` and through the ``marketplace.payment_providers`` entry point
(``name = "package.module:ProviderClass"``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.core.plugins import load, registered


@labelled({"pending": _l("待付款"), "requires_action": _l("待验证"), "authorized": _l("已授权"),
           "succeeded": _l("已付款"), "failed": _l("付款失败"), "cancelled": _l("已取消")})
class PaymentStatus(LabelledEnum):
    pending = "pending"
    requires_action = "requires_action"  # e.g. 3-D Secure, or the buyer has yet to scan the QR code
    authorized = "authorized"  # held on the card, captured later
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


#: A payment only ever moves up this ladder: a late or repeated notification cannot undo a later state.
#: ``failed`` ranks below ``authorized``: a card declined once may still be paid with another attempt.
RANK = {PaymentStatus.pending: 0, PaymentStatus.requires_action: 1, PaymentStatus.failed: 2,
        PaymentStatus.authorized: 3, PaymentStatus.succeeded: 4, PaymentStatus.cancelled: 4}


@dataclass(frozen=True)
class Capabilities:
    #: Payment methods offered, e.g. ("card", "alipay", "wechat_pay") or ("pay_at_stall", "bank_transfer").
    methods: tuple[str, ...]
    #: ISO 4217 codes accepted.
    currencies: tuple[str, ...]
    #: Can authorise now and capture later (on the merchant's acceptance).
    capture_later: bool = False
    #: Can refund part of a payment.
    partial_refund: bool = True
    #: Reports changes by signed notifications (webhooks) as well as on request.
    notifications: bool = False
    #: Money reaches the platform without anyone confirming it by hand.
    automatic: bool = True


@dataclass(frozen=True)
class PaymentRequest:
    #: Our own id for this attempt: the idempotency keys sent to the provider derive from it.
    payment_id: int
    tenant: str
    #: What the buyer pays for (the order group's number), for statements and the provider's dashboard.
    reference: str
    amount: int  # minor units (fen)
    currency: str
    method: str
    #: "automatic", or "manual" to authorise now and capture later.
    capture: str = "automatic"
    #: Where the buyer's browser comes back to after a redirect or a 3-D Secure step.
    return_url: str = ""


@dataclass(frozen=True)
class ProviderAction:
    """What the buyer's browser does next."""

    #: "client_secret" (confirm in the page with the provider's script), "redirect" or "instructions".
    kind: str
    #: The provider's id of this payment (a PaymentIntent id, a transfer code).
    reference: str
    client_secret: str = ""
    redirect_url: str = ""
    #: For "instructions": what the buyer should do, e.g. pay at the stall or transfer with this code.
    instructions: str = ""


@dataclass(frozen=True)
class RefundResult:
    reference: str
    status: str  # "pending", "succeeded" or "failed"
    amount: int
    failure: str = ""


@dataclass(frozen=True)
class ProviderResult:
    """A payment as the provider sees it now (from ``retrieve``, or from a notification)."""

    reference: str
    status: str  # a PaymentStatus
    amount: int
    currency: str
    #: How much has been captured (taken), which bounds refunds.
    amount_captured: int = 0
    #: The provider's reason for a failure, for people (never card data).
    failure: str = ""
    #: For a notification: its id (processed once) and type; when it was created at the provider.
    event_id: str = ""
    event_type: str = ""
    created: datetime | None = None
    #: Our own payment id, when the provider echoes it back (metadata).
    payment_id: int | None = None
    refunds: tuple[RefundResult, ...] = ()


@dataclass(frozen=True)
class RefundRequest:
    #: Our own refund id: the provider's idempotency key derives from it.
    refund_id: int
    payment_reference: str
    amount: int
    currency: str
    reason: str = ""


class ProviderUnavailable(RuntimeError):
    """The provider could not be reached or gave no usable answer; nothing was changed on our side."""


class NotificationRefused(ValueError):
    """A notification that does not verify: no signature, a wrong one, an altered body, or too old."""


class ProviderError(ValueError):
    """The provider refused the request itself (a bad amount, an unknown payment); the message says why."""


class PaymentProvider(ABC):
    #: Registry name, stored on every payment and refund row.
    name: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    #: How each method reads to a buyer.
    method_labels: ClassVar[dict[str, str]] = {}
    #: Tenant options: name → (type, default). Checked by ``check_options``.
    options_schema: ClassVar[dict[str, tuple[type, Any]]] = {}

    @classmethod
    def configured(cls, settings: Mapping[str, Any]) -> bool:
        """Whether the platform has what this provider needs (keys): checkout offers it only then."""
        return True

    @classmethod
    def options_problem(cls, options: Mapping[str, Any]) -> str | None:
        """Why these options (types already checked, defaults filled in) cannot work, or None: a value out of
        its allowed set, say. Called by ``check_options``."""
        return None

    def __init__(self, settings: Mapping[str, Any], options: Mapping[str, Any]):
        """``settings`` are the platform's MARKETPLACE settings (keys, URLs); ``options`` the tenant's."""
        self.settings = settings
        self.options = options

    @abstractmethod
    def create(self, request: PaymentRequest) -> ProviderAction: ...

    @abstractmethod
    def retrieve(self, reference: str) -> ProviderResult: ...

    @abstractmethod
    def refund(self, request: RefundRequest) -> RefundResult: ...

    def resume(self, reference: str) -> ProviderAction:
        """What the buyer's browser needs to carry on with an attempt already started (the pay page was
        reloaded): the same action ``create`` answered, read back from the provider, never from our records."""
        raise ProviderError(f"{self.name} has nothing to resume")

    def capture(self, reference: str, amount: int, *, key: str) -> ProviderResult:
        raise ProviderError(f"{self.name} cannot capture later")

    def cancel(self, reference: str, *, key: str) -> ProviderResult:
        raise ProviderError(f"{self.name} cannot cancel a payment")

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> ProviderResult | None:
        """Verify a notification and read it; None for a verified one that says nothing about a payment."""
        raise NotificationRefused(f"{self.name} sends no notifications")

    def payments_since(self, since: datetime) -> Iterator[ProviderResult]:
        """Every payment the provider holds created since then (reconciliation)."""
        return iter(())

    def health(self) -> tuple[bool, str]:
        return True, self.name


class ProviderLoadError(RuntimeError):
    """A provider that cannot be loaded, or tenant options it refuses."""


BUILT_IN_PROVIDERS = {
    "offline": "marketplace.payments.offline:OfflineProvider",
    "stripe": "marketplace.payments.stripe_provider:StripeProvider",
}


def provider_classes() -> dict[str, str]:
    """Provider name → import path: the built-ins, then those of the entry point."""
    return registered("marketplace.payment_providers", BUILT_IN_PROVIDERS, "payment provider", ProviderLoadError)


def provider_class(name: str) -> type[PaymentProvider]:
    return load(name, provider_classes(), PaymentProvider, "payment provider", ProviderLoadError)


def check_options(cls: type[PaymentProvider], options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with defaults filled in; unknown names, wrong types and unknown methods refused by name."""
    unknown = set(options) - set(cls.options_schema)
    if unknown:
        raise ProviderLoadError(f"payment provider {cls.name!r} has no option {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    for name, (kind, default) in cls.options_schema.items():
        value = options.get(name, default)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ProviderLoadError(f"payment option {name} must be {kind.__name__}")
        clean[name] = list(value) if isinstance(value, list) else value
    methods = clean.get("methods")
    if methods is not None:
        strange = [m for m in methods if m not in cls.capabilities.methods]
        if strange or not methods:
            raise ProviderLoadError(f"payment provider {cls.name!r} offers methods "
                                    f"{', '.join(cls.capabilities.methods)}, not {', '.join(strange) or 'none'}")
    problem = cls.options_problem(clean)
    if problem:
        raise ProviderLoadError(problem)
    return clean


@dataclass(frozen=True)
class Choice:
    """One way to pay that checkout offers."""

    provider: str
    method: str
    label: str = field(compare=False)
