"""Chinese first, English complete: default zh_CN, a full English catalogue, a switch, money in fen."""

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from marketplace.core.i18n import format_money

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "marketplace" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def _source_messages() -> set[str]:
    methods = [("marketplace/**.py", "python"), ("marketplace/templates/**.html", "jinja2"),
               ("themes/**/templates/**.html", "jinja2")]
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=methods, keywords=KEYWORDS, options_map={"**.html": {}}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_user_visible_string_has_an_english_translation():
    catalogue = read_po(io.BytesIO(CATALOGUE.read_bytes()))
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalogue
        if m.id and "fuzzy" not in m.flags and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    source = _source_messages()
    assert len(source) > 100
    assert sorted(source - translated) == [], "run `make extract-messages` and translate the new strings"


def test_pages_are_chinese_by_default_and_english_on_request(client, make_tenant):
    tenant = make_tenant(name_zh="德化步行街", name_en="Dehua Pedestrian Street")
    html = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "德化步行街" in html and "商业街" in html
    response = client.submit("/lang", {"locale": "en", "next": f"/t/{tenant.slug}/"}, page_url="/")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/t/{tenant.slug}/")
    html = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in html and "Dehua Pedestrian Street" in html and "Shopping street" in html
    assert "逛全城" not in html


def test_language_switch_ignores_unknown_locales_and_foreign_redirects(client):
    response = client.submit("/lang", {"locale": "xx", "next": "https://evil.example/"}, page_url="/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("amount", "currency", "locale", "expected"), [
    (12345, "CNY", "zh_CN", "¥123.45"),
    (5, "CNY", "zh_CN", "¥0.05"),
    (100000000, "CNY", "zh_CN", "¥1,000,000.00"),
    (12345, "CNY", "en", "CN¥123.45"),
    (500, "JPY", "en", "¥500"),
])
def test_money_is_stored_in_minor_units_and_formatted_with_babel(app_ctx, amount, currency, locale, expected):
    assert format_money(amount, currency, locale) == expected
