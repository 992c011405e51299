"""Money from people: "12.50" yuan in, 1250 fen out, exactly (formatting lives in core.i18n)."""

from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision


class AmountInvalid(ValueError):
    pass


def parse_amount(text, currency: str = "CNY") -> int:
    """An amount typed in major units ("12.5", "¥1,200.00", 12.5) as an integer of minor units.

    Refuses negatives, more decimals than the currency has, and anything that is not a number.
    """
    raw = str(text).strip().replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").strip()
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise AmountInvalid(raw) from None
    digits = get_currency_precision(currency)
    if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -digits or amount > Decimal(10) ** 10:
        raise AmountInvalid(raw)
    return int(amount.scaleb(digits))
