"""Text analysis shared by every backend: folding, numbers with units, pinyin, highlights, stop words, pack words."""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import Markup

from marketplace.catalog.builtin_packs import agri_inputs
from marketplace.search import services
from marketplace.search.analysis import get_analyser


def test_the_fixture_is_the_apps_own_analyser(app_ctx, search_analyser):
    assert services.analyser() is search_analyser
    assert "高效氯氰菊酯" in agri_inputs.PACK.search_words


# -- folding ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "folded"), [
    ("蘋果", "苹果"),
    ("複合肥料", "复合肥料"),
    ("連衣裙 羽絨服", "连衣裙 羽绒服"),
    ("ＩＰＨＯＮＥ　１３", "iphone 13"),  # full-width letters, digits and space
    ("T恤", "t恤"),
    ("１５－１５－１５", "15-15-15"),
], ids=["traditional-apple", "traditional-fertiliser", "traditional-clothes", "full-width", "lower-case",
        "full-width-formula"])
def test_folding(search_analyser, text, folded):
    assert search_analyser.fold(text) == folded


def test_traditional_and_simplified_index_and_query_alike(search_analyser):
    assert search_analyser.words("蘋果") == search_analyser.words("苹果") == ["苹果"]
    assert search_analyser.terms("複合肥") == search_analyser.terms("复合肥")
    assert search_analyser.pinyin("蘋果") == search_analyser.pinyin("苹果")


# -- words ---------------------------------------------------------------------------------------------------------

def test_hanzi_runs_are_segmented_in_search_mode_with_the_words_inside(search_analyser):
    assert set(search_analyser.words("红富士苹果")) == {"红富士", "富士", "苹果"}
    assert {"复合肥", "复合肥料", "硫酸钾型"} <= set(search_analyser.words("硫酸钾型复合肥料"))


def test_character_bigrams_then_single_characters(search_analyser):
    assert search_analyser.grams("红富士苹果") == ["红富", "富士", "士苹", "苹果", "红", "富", "士", "苹", "果"]
    assert search_analyser.grams("iPhone 13") == []


def test_english_words_are_stemmed_and_kept_with_their_digits(search_analyser):
    assert search_analyser.words("Apples iPhone13 Cotton") == ["appl", "iphone13", "cotton"]
    assert search_analyser.words("iPhone 屏幕") == ["iphon", "屏幕"]


@pytest.mark.parametrize(("text", "token"), [
    pytest.param("5kg", "5kg", id="5kg"), pytest.param("5公斤", "5kg", id="5-gongjin"),
    pytest.param("5 kg", "5kg", id="5-space-kg"), pytest.param("5千克", "5kg", id="5-qianke"),
    pytest.param("5 KG", "5kg", id="5-KG"), pytest.param("500克", "500g", id="500-ke"),
    pytest.param("2.5千克", "2.5kg", id="2.5-qianke"), pytest.param("500ml", "500ml", id="500ml"),
    pytest.param("500毫升", "500ml", id="500-haosheng"), pytest.param("15-15-15", "15-15-15", id="formula"),
    pytest.param("18-46-0", "18-46-0", id="formula-with-zero"), pytest.param("46%", "46%", id="percent"),
    pytest.param("4.5%", "4.5%", id="decimal-percent"), pytest.param("1:500", "1:500", id="dilution"),
    pytest.param("20W", "20w", id="watts"), pytest.param("12个月", "12个月", id="months"),
])
def test_numbers_keep_their_units_and_grades(search_analyser, text, token):
    assert search_analyser.words(text) == [token]
    assert [(t.text, t.kind) for t in search_analyser.terms(text)] == [(token, "number")]


def test_a_number_inside_a_title_stays_whole(search_analyser):
    assert search_analyser.words("尿素 46% 40公斤") == ["尿素", "46%", "40kg"]
    assert search_analyser.words("复合肥15-15-15") == ["复合", "合肥", "复合肥", "15-15-15"]


# -- pinyin -----------------------------------------------------------------------------------------------------

def test_pinyin_syllables_words_initials_and_the_words_inside(search_analyser):
    tokens = set(search_analyser.pinyin("红富士苹果"))
    assert {"hong", "fu", "shi", "ping", "guo"} <= tokens  # syllables
    assert {"hongfushi", "pingguo"} <= tokens  # each word joined
    assert {"hfs", "pg"} <= tokens  # each word's initials
    assert "hfspg" in tokens  # the whole run's initials
    assert {"fushi", "fs"} <= tokens  # 富士 inside 红富士


def test_pinyin_leaves_out_everything_but_hanzi(search_analyser):
    assert search_analyser.pinyin("iPhone 13 5kg，。！") == []


def test_pinyin_queries_are_latin_terms_matched_as_they_are(search_analyser):
    assert [(t.text, t.alternatives) for t in search_analyser.terms("pingguo")] == [("pingguo", (("pingguo",),))]
    assert [t.text for t in search_analyser.terms("ping guo")] == ["ping", "guo"]


def test_the_syllables_of_a_query_for_did_you_mean(search_analyser):
    assert search_analyser.syllables("平果") == "pingguo"
    assert search_analyser.syllables("iphone") == ""


# -- query terms ---------------------------------------------------------------------------------------------

def test_a_long_hanzi_term_may_also_match_as_a_phrase_of_bigrams(search_analyser):
    [term] = search_analyser.terms("复合肥料")
    assert term.kind == "hanzi"
    assert term.alternatives == (("复合肥料",), ("复合", "合肥", "肥料"))


def test_an_english_term_matches_its_stem_or_itself(search_analyser):
    [term] = search_analyser.terms("Apples")
    assert term.alternatives == (("appl",), ("apples",))


def test_repeated_words_make_one_term(search_analyser):
    assert [t.text for t in search_analyser.terms("苹果 苹果 蘋果")] == ["苹果"]


@pytest.mark.parametrize(("query", "kept"), [
    ("苹果的价格", ["苹果", "价格"]),
    ("苹果和梨", ["苹果", "梨"]),
    ("the apple and pear", ["apple", "pear"]),
    ("的 和 the", []),
], ids=["de", "he", "english", "only-stop-words"])
def test_stop_words_are_left_out_of_queries(search_analyser, query, kept):
    assert [t.text for t in search_analyser.terms(query)] == kept


def test_punctuation_and_symbols_make_no_terms(search_analyser):
    assert search_analyser.terms("！？、。…… <>&\"' ---") == []


# -- pack words -----------------------------------------------------------------------------------------------

def test_pack_words_extend_jieba(app, search_analyser):
    plain = get_analyser(Path(app.instance_path) / "search", ())
    assert "高效氯氰菊酯" not in plain.words("高效氯氰菊酯")  # jieba alone cuts it up
    assert "高效氯氰菊酯" in search_analyser.words("高效氯氰菊酯")  # kept whole with the agri pack's words
    assert [t.text for t in plain.terms("吡虫啉")] != ["吡虫啉"]
    assert [t.text for t in search_analyser.terms("吡虫啉")] == ["吡虫啉"]


def test_a_pack_word_inside_a_longer_pack_word_is_found_through_its_bigrams(search_analyser):
    [term] = search_analyser.terms("氯氰菊酯")
    assert term.text == "氯氰菊酯"
    phrase = " ".join(term.alternatives[1])
    assert phrase in " ".join(search_analyser.grams("4.5%高效氯氰菊酯乳油"))


# -- highlights -----------------------------------------------------------------------------------------------

def highlight(analyser, text: str, query: str) -> str:
    marked = analyser.highlight(text, analyser.terms(query))
    assert isinstance(marked, Markup)
    return str(marked)


@pytest.mark.parametrize(("text", "query", "marked"), [
    ("烟台红富士苹果", "苹果", "烟台红富士<mark>苹果</mark>"),
    ("烟台红富士苹果", "蘋果", "烟台红富士<mark>苹果</mark>"),
    ("烟台紅富士蘋果", "苹果", "烟台紅富士<mark>蘋果</mark>"),  # the original characters are kept
    ("烟台红富士苹果", "pingguo", "烟台红富士<mark>苹果</mark>"),
    ("烟台红富士苹果", "pg", "烟台红富士<mark>苹果</mark>"),
    ("烟台红富士苹果", "fushi", "烟台红<mark>富士</mark>苹果"),
    ("Fresh Apples", "apple", "Fresh <mark>Apples</mark>"),
    ("复合肥 15-15-15 40kg", "15-15-15", "复合肥 <mark>15-15-15</mark> 40kg"),
    ("烟台红富士苹果", "西瓜", "烟台红富士苹果"),
], ids=["hanzi", "traditional-query", "traditional-text", "pinyin", "initials", "pinyin-inner-word", "english-stem",
        "formula", "no-match"])
def test_highlights_mark_what_matched(search_analyser, text, query, marked):
    assert highlight(search_analyser, text, query) == marked


def test_highlights_escape_the_text_around_and_inside_the_marks(search_analyser):
    assert highlight(search_analyser, '<b>苹果</b> & "梨"', "苹果") == \
        "&lt;b&gt;<mark>苹果</mark>&lt;/b&gt; &amp; &#34;梨&#34;"
    assert highlight(search_analyser, "<script>alert(1)</script>", "script") == \
        "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;"


def test_overlapping_matches_make_one_mark(search_analyser):
    assert highlight(search_analyser, "红富士苹果", "红富士 富士") == "<mark>红富士</mark>苹果"


def test_matched_words_are_the_marked_pieces(search_analyser):
    assert search_analyser.matched_words("红富士 精品苹果", search_analyser.terms("pingguo fushi")) == ["富士", "苹果"]
    assert search_analyser.matched_words("红富士苹果", search_analyser.terms("pingguo fushi")) == ["富士苹果"]
