"""The charts are SVG drawn on the server: well-formed, escaped, and a suppressed value is "—", never a bar."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from marketplace.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_columns_draw_a_bar_per_value_and_a_dash_for_a_blank():
    drawn = ET.fromstring(str(charts.columns("交易额", [("2026-11-01", 500), ("2026-11-02", None),
                                                      ("2026-11-03", 0), ("2026-11-04", 1000)], "gmv")))
    heights = [float(rect.get("height")) for rect in drawn.iter(f"{SVG}rect")]
    assert len(heights) == 2 and heights[1] == 2 * heights[0]
    assert any(text.text == "—" for text in drawn.iter(f"{SVG}text"))


def test_bars_escape_labels_and_show_money_in_yuan():
    drawn = str(charts.bars("按租户", [("<script>", 123456), ("市场", None)], "gmv"))
    root = ET.fromstring(drawn)
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert "¥1,234.56" in texts and "—" in texts
