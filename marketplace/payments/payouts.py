"""The payout provider interface: how a closed settlement statement's money reaches the merchant.

The platform collects the buyers' money; at the end of each period it owes every shop the net of its statement
(``payments.settlement``). A payout provider pays that, or records that it was paid. Payouts are pluggable
because merchants differ: a mainland individual business gets a bank transfer made by hand, a merchant able to
hold a connected account could be paid through it (Stripe Connect would be such a provider; none is built in).

* ``pay`` gets a ``PayoutRequest`` — plain values, never a model — and answers with a ``PayoutResult``, or
  raises ``PayoutRefused`` with a message for the operator (nothing is recorded then).
* A ``manual`` provider moves no money itself: the operator made the transfer and types its reference and date,
  which ``pay`` checks and echoes. An automatic provider ignores those fields, makes the transfer with an
  idempotency key derived from ``statement_id``, and answers with the transfer's own reference.

Providers are found in ``BUILT_IN_PAYOUT_PROVIDERS`` and through the ``marketplace.payout_providers`` entry point
(``name = "package.module:ProviderClass"``); a tenant picks one with the ``settlement.payout`` setting.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.core.plugins import load, registered

#: Longest payout reference kept (a bank's transfer number, a provider's transfer id).
MAX_REFERENCE = 100


@dataclass(frozen=True)
class PayoutRequest:
    """One closed statement to pay, with what the operator typed for a manual provider."""

    #: Our own id: an automatic provider derives its idempotency key from it.
    statement_id: int
    tenant: str
    shop: str
    #: The merchant's legal name (who the bank transfer goes to).
    payee: str
    period_start: date
    period_end: date
    #: What the platform owes the shop, in minor units; negative when the shop owes the platform.
    amount: int
    currency: str
    #: For manual providers: the transfer's reference and day, as entered; "" and None otherwise.
    reference: str = ""
    paid_on: date | None = None
    #: Today on the tenant's calendar (a transfer cannot be dated later).
    today: date | None = None


@dataclass(frozen=True)
class PayoutResult:
    #: The transfer's reference, kept on the statement (≤ MAX_REFERENCE characters).
    reference: str
    #: The day the money left, on the tenant's calendar.
    paid_on: date


class PayoutRefused(ValueError):
    """The payout cannot be made or recorded; the message says why, ``code`` is stable."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class PayoutLoadError(RuntimeError):
    """A payout provider that cannot be loaded, or tenant options it refuses."""


class PayoutProvider(ABC):
    #: Registry name, stored on every settled statement.
    name: ClassVar[str]
    label: ClassVar[str]
    #: Whether the operator pays by hand and enters the transfer's reference and date.
    manual: ClassVar[bool] = False
    #: Tenant options: name → (type, default). Checked by ``check_options``.
    options_schema: ClassVar[dict[str, tuple[type, Any]]] = {}

    def __init__(self, settings: Mapping[str, Any], options: Mapping[str, Any]):
        """``settings`` are the platform's MARKETPLACE settings (keys, URLs); ``options`` the tenant's."""
        self.settings = settings
        self.options = options

    @abstractmethod
    def pay(self, request: PayoutRequest) -> PayoutResult:
        """Pay (or record the payment of) one statement; raise ``PayoutRefused`` to refuse it."""


class ManualPayout(PayoutProvider):
    """The operator transfers the money from the platform's bank account and records the transfer here."""

    name = "manual"
    label = _l("人工转账")
    manual = True

    def pay(self, request: PayoutRequest) -> PayoutResult:
        reference = (request.reference or "").strip()
        if not reference:
            raise PayoutRefused(_("请填写银行转账的凭证号（流水号）。"), "reference_required")
        if len(reference) > MAX_REFERENCE:
            raise PayoutRefused(_("凭证号最多 %(n)d 个字符。", n=MAX_REFERENCE), "reference_too_long")
        if not reference.isprintable():
            raise PayoutRefused(_("凭证号不能含有换行或控制字符。"), "reference_unprintable")
        if request.paid_on is None:
            raise PayoutRefused(_("请填写转账日期。"), "date_required")
        if request.today is not None and request.paid_on > request.today:
            raise PayoutRefused(_("转账日期不能晚于今天。"), "date_in_future")
        return PayoutResult(reference=reference, paid_on=request.paid_on)


BUILT_IN_PAYOUT_PROVIDERS = {
    "manual": "marketplace.payments.payouts:ManualPayout",
}


def payout_provider_classes() -> dict[str, str]:
    """Provider name → import path: the built-ins, then those of the entry point."""
    return registered("marketplace.payout_providers", BUILT_IN_PAYOUT_PROVIDERS, "payout provider", PayoutLoadError)


def payout_provider_class(name: str) -> type[PayoutProvider]:
    return load(name, payout_provider_classes(), PayoutProvider, "payout provider", PayoutLoadError)


def check_options(cls: type[PayoutProvider], options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with defaults filled in; unknown names and wrong types refused by name."""
    unknown = set(options) - set(cls.options_schema)
    if unknown:
        raise PayoutLoadError(f"payout provider {cls.name!r} has no option {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    for name, (kind, default) in cls.options_schema.items():
        value = options.get(name, default)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise PayoutLoadError(f"payout option {name} must be {kind.__name__}")
        clean[name] = value
    return clean
