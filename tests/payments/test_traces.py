"""Runs after the other payment tests: no card number is left in the logs or in the databases they wrote.

Card numbers only ever go from the test (playing the buyer's browser) to localstripe; this checks that none
came back through the platform — in the live server's log and database, the test run's database, or any
log record of the platform or the stripe library (which logs each request's parameters at debug).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, inspect, text

from marketplace.extensions import db

pytestmark = pytest.mark.no_transaction
TEST_CARDS = ("4242424242424242", "4000000000000341", "4000002500003155")
#: A run of 13–19 digits standing alone (order numbers like G2026…-1 carry a letter and are not cards).
DIGITS = re.compile(r"(?<![\w-])\d{13,19}(?![\w])")


def luhn(number: str) -> bool:
    total = 0
    for i, digit in enumerate(reversed(number)):
        n = int(digit) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def card_numbers(textual: str) -> list[str]:
    found = [card for card in TEST_CARDS if card in textual]
    return found + [run for run in DIGITS.findall(textual) if luhn(run)]


def database_text(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            parts = []
            for table in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    parts.append(" ".join(str(value) for value in row))
            return "\n".join(parts)
    finally:
        engine.dispose()


def test_no_card_number_in_logs_or_databases(app, live_stripe, recorded_logs):
    assert card_numbers(" ".join(TEST_CARDS)) and not card_numbers("G202611301509654180-1 1796042192")
    assert card_numbers(live_stripe.server.log()) == []
    assert card_numbers(database_text(live_stripe.database_url)) == []
    assert card_numbers(database_text(app.config["SQLALCHEMY_DATABASE_URI"])) == []
    assert len(recorded_logs.lines) > 10  # the payment tests' log records were captured
    assert card_numbers("\n".join(recorded_logs.lines)) == []
    with app.app_context():
        db.engine.dispose()
