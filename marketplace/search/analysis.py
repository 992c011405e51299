"""Text analysis shared by every search backend, so that all of them find the same products.

Search engines split Chinese badly: SQLite's FTS5 takes a run of hanzi for one token, and its trigram
tokenizer misses every two-character word. So the text is analysed here, in Python, and backends index
the tokens as plain whitespace-separated words:

* hanzi runs are segmented by jieba in search mode (苹果, 红富士 and 富士 for 红富士苹果), and also cut into
  character bigrams and single characters, so a query word jieba does not know still finds its text;
* titles and shop names also get their pinyin: each word's syllables, the word joined (pingguo) and its
  initials (pg), plus the initials of each whole run (hfspg);
* traditional characters fold to simplified (蘋果 → 苹果), full-width forms to half-width, case to lower;
* English words are stemmed (apples → appl);
* numbers keep their units and grades (5kg, 15-15-15, 46%); 公斤 and 千克 become kg so either finds both.

A query is cut into ``Term``s; a product matches when every term matches one of its fields (see
``Term.alternatives``). The word lists that catalog packs declare (pesticide active ingredients,
fertiliser and apparel terms) extend jieba's dictionary; jieba's dictionary cache lives in the instance
folder and is built at install time (``flask search prepare``), so no request ever waits for it.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

log = logging.getLogger(__name__)

HANZI = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: Units written after a number, and the spelling they are indexed under.
UNIT_SPELLINGS = {"公斤": "kg", "千克": "kg", "克": "g", "毫克": "mg", "毫升": "ml", "升": "l", "吨": "t",
                  "厘米": "cm", "毫米": "mm", "米": "m"}
_UNIT = r"(?:%|‰|公斤|千克|毫克|毫升|克|升|吨|厘米|毫米|米|斤|亩|个月|天|[a-z]{1,3}(?![a-z]))"
#: A number with its grade or unit: 15-15-15, 46%, 2.5kg, 1:500, 40 kg (the space is dropped).
_NUMBER = rf"\d+(?:\.\d+)?(?:[-:/]\d+(?:\.\d+)?)*(?:\s?{_UNIT})?"
_TOKEN = re.compile(rf"(?P<number>{_NUMBER})|(?P<latin>[a-z][a-z0-9]*(?:'[a-z]+)?)|(?P<hanzi>[{HANZI}]+)")
#: Words too common to narrow a search.
STOP_WORDS = frozenset({"的", "和", "与", "及", "或", "the", "a", "an", "and", "or", "of", "for", "with"})


@dataclass(frozen=True)
class Term:
    """One word of a query. ``kind`` is "hanzi", "latin" or "number"."""

    text: str
    kind: str
    #: What else counts as this word in an index (all analysed the same way as documents):
    #: the word itself, an English stem, or the word's character bigrams as a phrase.
    alternatives: tuple[tuple[str, ...], ...]

    @property
    def prefixes(self) -> tuple[str, ...]:
        """What an unfinished word may start, in an index: as typed, or as its stem ("apples" → appl…)."""
        return tuple(dict.fromkeys([self.text, *(tokens[0] for tokens in self.alternatives if len(tokens) == 1)]))


class Analyser:
    """jieba, pypinyin and the folding tables, loaded once per process (see ``analyser()``)."""

    def __init__(self, cache_dir: Path | None = None, words: tuple[str, ...] = ()):
        import jieba
        import snowballstemmer

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(cache_dir)
        self._jieba.initialize()
        for word in words:
            self._jieba.add_word(word, freq=None)
        self._stemmer = snowballstemmer.stemmer("english")
        self._stem = lru_cache(maxsize=65536)(self._stemmer.stemWord)
        # Catalogues repeat their words (复合肥, 陕西洛川, shop and category names): segment each run once.
        self._search_words = lru_cache(maxsize=262144)(
            lambda run: tuple(w for w in self._jieba.cut_for_search(run, HMM=False) if w.strip()))
        self._words = lru_cache(maxsize=262144)(
            lambda run: tuple(w for w in self._jieba.cut(run, HMM=False) if w.strip()))
        self._folding = _traditional_to_simplified()
        _syllables("拼音")  # pypinyin loads its dictionaries on first use: here, not in a worker's first request

    # -- normalising ---------------------------------------------------------------------------------------------

    def fold(self, text: str) -> str:
        """Half-width, lower-case, simplified: the form every index and query is compared in."""
        return unicodedata.normalize("NFKC", text).lower().translate(self._folding)

    def _fold_same_length(self, text: str) -> str:
        """``fold`` character by character, so positions still point into ``text`` (for highlights)."""
        out = []
        for char in text:
            folded = self.fold(char)
            out.append(folded if len(folded) == 1 else char)
        return "".join(out)

    # -- documents -----------------------------------------------------------------------------------------------

    def words(self, text: str) -> list[str]:
        """Index words of ``text``: jieba search-mode words, English stems, numbers with units."""
        tokens: list[str] = []
        for kind, value in self._tokens(self.fold(text)):
            if kind == "hanzi":
                tokens.extend(self._search_words(value))
            elif kind == "latin":
                tokens.append(self._stem(value))
            else:
                tokens.append(value)
        return tokens

    def grams(self, text: str) -> list[str]:
        """The bigrams of each hanzi run in order, then its single characters."""
        bigrams, chars = [], []
        for kind, value in self._tokens(self.fold(text)):
            if kind == "hanzi":
                bigrams.extend(value[i:i + 2] for i in range(len(value) - 1))
                chars.extend(value)
        return bigrams + list(dict.fromkeys(chars))

    def pinyin(self, text: str) -> list[str]:
        """Pinyin of the hanzi words: syllables, each word joined, its initials, and each run's initials."""
        tokens: list[str] = []
        for kind, value in self._tokens(self.fold(text)):
            if kind != "hanzi":
                continue
            run_initials = []
            for word in self._words(value):
                syllables = _syllables(word)
                if not syllables:
                    continue
                tokens.extend(syllables)
                initials = "".join(s[0] for s in syllables)
                run_initials.append(initials)
                if len(syllables) > 1:
                    tokens.append("".join(syllables))
                    tokens.append(initials)
            if len(run_initials) > 1:
                tokens.append("".join(run_initials))
            # The words inside longer words too, as search mode finds them: fushi for 富士 in 红富士.
            for word in self._search_words(value):
                syllables = _syllables(word)
                if len(syllables) > 1:
                    tokens.append("".join(syllables))
                    tokens.append("".join(s[0] for s in syllables))
        return list(dict.fromkeys(tokens))

    # -- queries -------------------------------------------------------------------------------------------------

    def terms(self, query: str, *, typing: bool = False) -> list[Term]:
        """The words of a query, each with what may stand for it in an index.

        ``typing``: the query is being typed (suggestions): a query that is nothing but a stop word keeps it,
        since "an" may be the start of "anta"; after other words a stop word is dropped as usual.
        """
        terms: list[Term] = []
        for kind, value in self._tokens(self.fold(query)):
            if kind == "hanzi":
                terms.extend(Term(w, "hanzi", _hanzi_alternatives(w)) for w in self._words(value) if w not in STOP_WORDS)
            elif kind == "latin" and value not in STOP_WORDS:
                terms.append(self._latin_term(value))
            elif kind == "number":
                terms.append(Term(value, "number", ((value,),)))
        if typing and not terms:
            words = [(kind, w) for kind, value in self._tokens(self.fold(query))
                     for w in (self._words(value) if kind == "hanzi" else (value,))]
            if len(words) == 1:
                kind, word = words[0]
                terms.append(self._latin_term(word) if kind == "latin" else Term(word, kind, ((word,),)))
        return list(dict.fromkeys(terms))

    def _latin_term(self, value: str) -> Term:
        stem = self._stem(value)
        return Term(value, "latin", ((stem,),) if stem == value else ((stem,), (value,)))

    def syllables(self, query: str) -> str:
        """The pinyin of a query's hanzi, as words: for "did you mean" when a hanzi query finds nothing."""
        return " ".join("".join(_syllables(word)) for kind, value in self._tokens(self.fold(query))
                        if kind == "hanzi" for word in self._words(value))

    def highlight(self, text: str, terms: list[Term]) -> Markup:
        """``text`` with the words a query matched marked: by hanzi, by English word, or by pinyin."""
        return _mark(text, self._spans(text, terms))

    def matched_words(self, text: str, terms: list[Term]) -> list[str]:
        """The pieces of ``text`` that ``highlight`` would mark, in order."""
        return [text[start:end] for start, end in _merge(self._spans(text, terms))]

    def _spans(self, text: str, terms: list[Term]) -> list[tuple[int, int]]:
        folded = self._fold_same_length(text)
        spans: list[tuple[int, int]] = []
        literals = [t.text for t in terms if t.kind != "latin" or len(t.text) > 1]
        for literal in literals:
            spans.extend((m.start(), m.end()) for m in re.finditer(re.escape(literal), folded))
        latin = {t.text for t in terms if t.kind == "latin"} | {t.alternatives[0][0] for t in terms if t.kind == "latin"}
        if latin:
            for match in re.finditer(rf"[{HANZI}]+|[a-z][a-z0-9]*", folded):
                start = match.start()
                run = match.group()
                if run[0].isascii():
                    if self._stem(run) in latin:
                        spans.append((start, match.end()))
                    continue
                for word in self._words(run):
                    # The word, or a word inside it (富士 in 红富士), whose pinyin or initials were searched.
                    for inner in dict.fromkeys([word, *self._search_words(word)]):
                        syllables = _syllables(inner)
                        if syllables and ("".join(syllables) in latin or "".join(s[0] for s in syllables) in latin):
                            offset = start + word.find(inner)
                            spans.append((offset, offset + len(inner)))
                    start += len(word)
        return spans

    # -- shared ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _tokens(folded: str):
        for match in _TOKEN.finditer(folded):
            kind = match.lastgroup
            value = match.group()
            if kind == "number":
                value = _spell_units(value.replace(" ", ""))
            yield kind, value


def _spell_units(value: str) -> str:
    if value[-1].isascii():
        return value
    for spelling, unit in UNIT_SPELLINGS.items():
        if value.endswith(spelling):
            return value[: -len(spelling)] + unit
    return value


def _hanzi_alternatives(word: str) -> tuple[tuple[str, ...], ...]:
    """The word itself; for a longer word also its bigrams as a phrase (found in the grams field)."""
    if len(word) <= 2:
        return ((word,),)
    return ((word,), tuple(word[i:i + 2] for i in range(len(word) - 1)))


@lru_cache(maxsize=65536)
def _syllables_cached(word: str) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin

    return tuple(s for s in lazy_pinyin(word, style=Style.NORMAL, errors="ignore", v_to_u=False) if s.isalpha())


def _syllables(word: str) -> tuple[str, ...]:
    return _syllables_cached(word)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _mark(text: str, spans: list[tuple[int, int]]) -> Markup:
    if not spans:
        return escape(text)
    out, position = [], 0
    for start, end in _merge(spans):
        out.append(escape(text[position:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def _traditional_to_simplified() -> dict[int, str]:
    """Character-by-character folding from OpenCC's traditional → simplified table (first choice only)."""
    import opencc

    table: dict[int, str] = {}
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        target = targets.split(" ")[0] if targets else ""
        if len(source) == 1 and len(target) == 1 and source != target:
            table[ord(source)] = target
    return table


# -- one analyser per process ---------------------------------------------------------------------------------

_lock = threading.Lock()
_analysers: dict[tuple, Analyser] = {}


def analyser() -> Analyser:
    """The process's analyser for the running app: its cache under the instance folder, its packs' words.

    Built on first use; ``gunicorn.conf.py`` builds it before gunicorn forks, so workers share it.
    """
    from flask import current_app

    words = pack_words(current_app.extensions.get("catalog_packs", {}))
    return get_analyser(Path(current_app.instance_path) / "search", words)


def get_analyser(cache_dir: Path | None, words: tuple[str, ...] = ()) -> Analyser:
    key = (str(cache_dir), words)
    found = _analysers.get(key)
    if found is None:
        with _lock:
            found = _analysers.get(key)
            if found is None:
                found = _analysers[key] = Analyser(cache_dir, words)
    return found


def pack_words(packs: dict) -> tuple[str, ...]:
    """The search words every loaded catalog pack declares, in a stable order."""
    return tuple(sorted({w for pack in packs.values() for w in getattr(pack, "search_words", ())}))
