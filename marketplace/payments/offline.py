"""``offline``: pay at the stall, cash on delivery, or a bank transfer quoting a reference code.

No money passes through the platform's systems: the buyer reads instructions, and the merchant (or, for a
transfer to the platform's account, the operator) confirms receipt in the console, order by order
(``orders.handling.confirm_offline_payment``). Until then the orders wait in 待付款 and the hold job releases
them at the deadline. Refunds are paid back by hand and recorded as done.
"""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace.core.enums import _l
from marketplace.payments.providers import (
    Capabilities,
    PaymentProvider,
    PaymentRequest,
    PaymentStatus,
    ProviderAction,
    ProviderResult,
    RefundRequest,
    RefundResult,
)

METHOD_LABELS = {
    "pay_at_stall": _l("到店付款（取货时付款）"),
    "cash_on_delivery": _l("货到付款"),
    "bank_transfer": _l("银行转账"),
}


class OfflineProvider(PaymentProvider):
    name = "offline"
    label = _l("线下付款")
    method_labels = METHOD_LABELS
    capabilities = Capabilities(methods=tuple(METHOD_LABELS), currencies=("CNY",), capture_later=False,
                                partial_refund=True, notifications=False, automatic=False)
    options_schema = {
        "methods": (list, ["pay_at_stall"]),
        #: For bank transfers: the account the buyer pays into (bank, branch, account name and number).
        "bank_account": (str, ""),
    }

    def create(self, request: PaymentRequest) -> ProviderAction:
        # The code the buyer quotes is the group's own number: the merchant or operator finds the order by it.
        code = request.reference
        if request.method == "bank_transfer":
            text = _("请在付款期限前转账到：%(account)s。转账附言请填写 %(code)s，到账后商家确认即可备货。",
                     account=self.options.get("bank_account") or _("（运营方公布的收款账户）"), code=code)
        elif request.method == "cash_on_delivery":
            text = _("送货上门时当面付款，请准备好现金或扫码支付。订单号 %(code)s。", code=code)
        else:
            text = _("请在付款期限前到店付款并出示订单号 %(code)s，商家确认收款后即可取货。", code=code)
        return ProviderAction(kind="instructions", reference=code, instructions=text)

    def retrieve(self, reference: str) -> ProviderResult:
        # Nothing to ask: what the merchants confirmed is all there is to know, and it is in our own records.
        return ProviderResult(reference=reference, status=PaymentStatus.pending, amount=0, currency="CNY")

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(reference=f"offline-refund-{request.refund_id}", status="succeeded", amount=request.amount)
