"""The definitions in code and in docs/statistics.md agree, and periods are read as documented."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from marketplace.reports import archive, definitions
from marketplace.reports.definitions import PeriodError, parse_period
from tests.reports.conftest import beijing

DOC = Path(__file__).resolve().parents[2] / "docs" / "statistics.md"


def test_every_indicator_and_the_small_cell_rule_are_documented(app_ctx):
    text = DOC.read_text(encoding="utf-8")
    for key, (zh, _en, _unit) in definitions.INDICATORS.items():
        assert f"`{key}`" in text and str(zh) in text, key
    assert f"fewer than {definitions.MIN_CELL} merchants or fewer than {definitions.MIN_CELL} buyers" in text
    assert definitions.FORM["number"] in text
    assert f"{archive.DUE_DAY}th of the next month" in text


@pytest.mark.parametrize("text, kind, start, end", [
    ("2026-11", "month", date(2026, 11, 1), date(2026, 12, 1)),
    ("2026-12", "month", date(2026, 12, 1), date(2027, 1, 1)),
    ("2026-Q4", "quarter", date(2026, 10, 1), date(2027, 1, 1)),
    ("2026-Q1", "quarter", date(2026, 1, 1), date(2026, 4, 1)),
    ("2026", "year", date(2026, 1, 1), date(2027, 1, 1)),
    ("2026-11-05", "day", date(2026, 11, 5), date(2026, 11, 6)),
])
def test_periods(text, kind, start, end):
    period = parse_period(text)
    assert (period.kind, period.start, period.end, period.label) == (kind, start, end, text)


@pytest.mark.parametrize("text", ["", "2026-13", "2026-Q5", "2026-02-30", "26-11", "1999", "2026/11", "2026-11x",
                                  "２０２６-11"])
def test_bad_periods_say_how_to_write_one(app_ctx, text):
    with pytest.raises(PeriodError):
        parse_period(text)


def test_a_month_starts_at_beijing_midnight():
    since, until = parse_period("2026-11").utc_bounds
    assert (since, until) == (beijing(2026, 11, 1), beijing(2026, 12, 1))
    assert since.hour == 16  # 31 October, 16:00 UTC


@pytest.mark.parametrize("now, due", [(beijing(2026, 12, 10, 23), "2026-10"), (beijing(2026, 12, 11), "2026-11"),
                                      (beijing(2027, 1, 15), "2026-12")])
def test_the_month_due_is_the_last_one_past_the_10th(now, due):
    assert archive.last_due_month(now).label == due
