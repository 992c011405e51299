"""Accessibility basics on every storefront page of the demo, in the street and market themes: a skip link first in
the tab order to the one <main>, the landmarks, one <h1>, the page's language, every form control named by a label,
every picture an alt."""

from __future__ import annotations

import pytest

from tests.storefront.demo_pages import PAGE_NAMES, parse

pytestmark = pytest.mark.no_transaction  # the pages come from the demo site of their own (demo_pages.py)


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_a_skip_link_leads_to_the_one_main_among_the_landmarks(demo_site, name):
    page = demo_site.page(name)
    parts = parse(page.html)
    assert parts.main_ids == ["main"], f'{name} ({page.url}) wants one <main id="main">, has {parts.main_ids}'
    assert parts.tags.get("h1") == 1, f"{name} ({page.url}) has {parts.tags.get('h1', 0)} <h1>, wants exactly one"
    missing = [landmark for landmark in ("header", "nav", "footer") if not parts.tags.get(landmark)]
    assert not missing, f"{name} has no {missing}"
    tag, attributes = parts.first_focusable
    assert (tag, attributes.get("href")) == ("a", "#main"), f"{name}: the tab order starts at <{tag} {attributes}>"
    assert "跳到正文" in page.html
    assert parts.html_lang == "zh-CN", f"{name}: <html lang={parts.html_lang!r}>"


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_every_form_control_has_a_label_and_ids_are_unique(demo_site, name):
    page = demo_site.page(name)
    parts = parse(page.html)
    unlabelled = parts.unlabelled_controls()
    assert not unlabelled, f"{name} ({page.url}) has controls without a label: {unlabelled}"
    repeated = sorted({id_ for id_ in parts.ids if parts.ids.count(id_) > 1})
    assert not repeated, f"{name} repeats the ids {repeated} (a label or skip link may point at the wrong one)"


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_every_picture_has_an_alt_text(demo_site, name):
    page = demo_site.page(name)
    without = [image.get("src", "") for image in parse(page.html).images if "alt" not in image]
    assert not without, f"{name} ({page.url}) has pictures without alt: {without}"


def test_the_english_pages_say_so_and_keep_the_skip_link(demo_site):
    reader = demo_site.new_client()
    assert reader.submit("/lang", {"locale": "en", "next": "/"}, page_url="/").status_code == 302
    parts = parse(reader.get("/t/nongzi-market/").get_data(as_text=True))
    assert parts.html_lang == "en"
    assert parts.first_focusable[1].get("href") == "#main"


def test_labels_count_whether_they_point_at_or_wrap_the_control():
    parts = parse('<label for="q">Find</label><input id="q" name="q"><label><input type="checkbox" name="c"> C</label>'
                  '<input name="stray"><input type="hidden" name="h"><select aria-label="Sort" name="s"></select>'
                  '<span id="t">Note</span><textarea aria-labelledby="t" name="n"></textarea>'
                  '<textarea aria-labelledby="nowhere" name="broken"></textarea><label> <input name="blank"> </label>')
    assert parts.unlabelled_controls() == ['<input name="stray">', '<textarea name="broken">', '<input name="blank">']
