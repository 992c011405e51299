"""The ``embedded`` search backend: SQLite FTS5, one index file per tenant under the instance folder.

It needs no server, and because it keeps its own files it also serves a PostgreSQL deployment on one
machine. Layout, per tenant::

    instance/search/embedded/<tenant slug>/CURRENT        the name of the live generation
    instance/search/embedded/<tenant slug>/gen-000002.sqlite3
    instance/search/embedded/<tenant slug>/.lock          taken while a generation is created or switched

Each generation is a SQLite database in WAL mode: readers never wait for the writer, and writers from
several gunicorn workers queue on SQLite's own lock. ``reindex`` fills a new generation beside the live
one, then rewrites ``CURRENT`` atomically; every operation looks at ``CURRENT`` first (one ``stat``) and
reopens when it changed. Generations are never renamed, so a WAL file can never be paired with the wrong
database. The generation before the live one is kept a while for processes that still read it.

A generation records its schema in ``PRAGMA user_version`` (``SCHEMA_VERSION``). A generation written by an
older release is brought up to date in place the first time a process opens it (added columns take their
defaults: documents indexed before then say "no sales, new shop" until they are synced again or the tenant is
reindexed).

Documents arrive analysed (see ``marketplace.search.analysis``); FTS5 only splits on whitespace here, with
``- % . : / ‰`` kept inside tokens so 15-15-15, 46% and 2.5kg stay whole. Ranking is FTS5's BM25 with the
field weights of ``backend.FIELD_WEIGHTS``. Filters and facets use two side tables (categories with
their ancestors, facet values) and one statement per page of facets.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from marketplace.search.analysis import Term
from marketplace.search.backend import (
    FIELD_WEIGHTS,
    FIELDS,
    PRICE_BUCKETS,
    FacetValue,
    SearchBackend,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    Suggestion,
    TenantIndex,
)

log = logging.getLogger(__name__)

_TOKENIZE = "unicode61 remove_diacritics 0 tokenchars '-%.:/‰'"
#: 1: the first release (no user_version set, so it reads 0); 2: the shop's credit standing.
SCHEMA_VERSION = 2
#: Shops with a credit level before new shops ("new"), then by score: the expression ``docs_credit`` indexes.
_CREDIT_ORDER = "(d.credit_level = 'new') ASC, d.credit_score DESC, d.published_at DESC, d.id DESC"
_CREDIT_INDEX = ("CREATE INDEX docs_credit ON docs ((credit_level = 'new'), credit_score DESC, published_at DESC, "
                 "id DESC)")
SCHEMA = f"""
CREATE TABLE docs (
    id INTEGER PRIMARY KEY, shop_id INTEGER NOT NULL, category_id INTEGER NOT NULL,
    price_min INTEGER NOT NULL, price_max INTEGER NOT NULL, in_stock INTEGER NOT NULL,
    published_at REAL NOT NULL, sales INTEGER NOT NULL,
    credit_score INTEGER NOT NULL DEFAULT 0, credit_level TEXT NOT NULL DEFAULT 'new'
);
CREATE INDEX docs_newest ON docs (published_at DESC, id DESC);
CREATE INDEX docs_price ON docs (price_min, id);
CREATE INDEX docs_sales ON docs (sales DESC, id DESC);
CREATE INDEX docs_shop ON docs (shop_id);
{_CREDIT_INDEX};
CREATE TABLE doc_categories (category_id INTEGER, doc_id INTEGER, PRIMARY KEY (category_id, doc_id)) WITHOUT ROWID;
CREATE INDEX doc_categories_doc ON doc_categories (doc_id);
CREATE TABLE doc_facets (name TEXT, value TEXT, doc_id INTEGER, PRIMARY KEY (name, value, doc_id)) WITHOUT ROWID;
CREATE INDEX doc_facets_doc ON doc_facets (doc_id);
CREATE VIRTUAL TABLE fts USING fts5 ({", ".join(FIELDS)}, tokenize="{_TOKENIZE}", prefix='1 2 3');
CREATE VIRTUAL TABLE suggest USING fts5 (display UNINDEXED, kind UNINDEXED, ref UNINDEXED, words, pinyin,
                                         tokenize="{_TOKENIZE}", prefix='1 2 3 4');
PRAGMA user_version = {SCHEMA_VERSION};
"""
#: What brings a generation of each older version up to the next one.
UPGRADES = {
    1: ("ALTER TABLE docs ADD COLUMN credit_score INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE docs ADD COLUMN credit_level TEXT NOT NULL DEFAULT 'new'",
        _CREDIT_INDEX),
}
#: Suggestion rows are keyed ``id * 4 + kind`` so a product, category or shop row is replaced in place.
SUGGEST_KINDS = {"product": 0, "category": 1, "shop": 2}
#: Suggestions: categories and shops before products at equal match quality.
SUGGEST_BOOST = {"category": 2.0, "shop": 1.5, "product": 1.0}
BUSY_TIMEOUT_S = 30.0
#: Connections a thread keeps open (one per tenant searched lately), and how often it drops stale ones.
MAX_OPEN_PER_THREAD = 16
SWEEP_EVERY_S = 60.0
#: Documents per transaction while a reindex fills a new generation.
REINDEX_BATCH = 5000
KEEP_GENERATIONS = 2
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_BM25 = "bm25(fts, " + ", ".join(str(w) for w in FIELD_WEIGHTS.values()) + ")"


def match_expression(terms: list[Term], prefix_last: bool = False) -> str:
    """An FTS5 query: every term, each as any of its alternatives (a token or a phrase of tokens)."""
    parts = []
    for position, term in enumerate(terms):
        if prefix_last and position == len(terms) - 1:
            prefixes = [_quote(prefix) + "*" for prefix in term.prefixes]
            parts.append(prefixes[0] if len(prefixes) == 1 else "(" + " OR ".join(prefixes) + ")")
            continue
        alternatives = [_quote(" ".join(tokens)) for tokens in term.alternatives]
        parts.append(alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")")
    return " AND ".join(parts)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class EmbeddedBackend(SearchBackend):
    name = "embedded"
    options_schema = {}

    def __init__(self, settings: dict, options: dict):
        super().__init__(settings, options)
        self.root = Path(settings.get("SEARCH_PATH") or Path(settings["INSTANCE_PATH"]) / "search") / "embedded"
        self._local = threading.local()

    # -- files and connections -------------------------------------------------------------------------------

    def _folder(self, tenant: TenantIndex) -> Path:
        if not _SLUG.match(tenant.slug):
            raise ValueError(f"not a tenant slug: {tenant.slug!r}")
        return self.root / tenant.slug

    @contextmanager
    def _locked(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _live(self, folder: Path) -> Path | None:
        try:
            name = (folder / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return folder / name

    def _connections(self) -> OrderedDict:
        """This thread's open connections by tenant slug, least recently used first."""
        if not hasattr(self._local, "connections"):
            self._local.connections = OrderedDict()
            self._local.swept = time.monotonic()
        return self._local.connections

    def _connect(self, tenant: TenantIndex, *, create: bool) -> sqlite3.Connection | None:
        """This thread's connection to the tenant's live generation (reopened when ``CURRENT`` changed)."""
        folder = self._folder(tenant)
        try:
            stamp = os.stat(folder / "CURRENT")
            key = (stamp.st_ino, stamp.st_mtime_ns)
        except FileNotFoundError:
            if not create:
                return None
            with self._locked(folder):
                if self._live(folder) is None:
                    self._publish(folder, self._new_generation(folder))
            return self._connect(tenant, create=False)
        connections = self._connections()
        cached = connections.get(tenant.slug)
        if cached is not None and cached[0] == key:
            connections.move_to_end(tenant.slug)
            self._sweep(keep=tenant.slug)
            return cached[1]
        if cached is not None:
            cached[1].close()
        connection = _open(self._live(folder))
        connections[tenant.slug] = (key, connection)
        connections.move_to_end(tenant.slug)
        while len(connections) > MAX_OPEN_PER_THREAD:  # the portal visits every tenant: keep the recent ones
            connections.popitem(last=False)[1][1].close()
        return connection

    def _sweep(self, keep: str) -> None:
        """Now and then, close connections to generations another process has replaced: they hold deleted
        files open (and their disk space) until closed."""
        if time.monotonic() - self._local.swept < SWEEP_EVERY_S:
            return
        self._local.swept = time.monotonic()
        connections = self._connections()
        for slug, (key, connection) in list(connections.items()):
            if slug == keep:  # about to be used: checked a moment ago
                continue
            try:
                stamp = os.stat(self.root / slug / "CURRENT")
                current = (stamp.st_ino, stamp.st_mtime_ns)
            except FileNotFoundError:
                current = None
            if current != key:
                connection.close()
                del connections[slug]

    def _new_generation(self, folder: Path) -> Path:
        numbers = [int(p.stem.split("-")[1]) for p in folder.glob("gen-*.sqlite3")]
        path = folder / f"gen-{max(numbers, default=0) + 1:06d}.sqlite3"
        connection = sqlite3.connect(path)
        connection.executescript(f"BEGIN; {SCHEMA} COMMIT;")  # one transaction: one fsync, not one per table
        connection.close()
        return path

    def _publish(self, folder: Path, generation: Path) -> None:
        """Point ``CURRENT`` at ``generation`` (atomic rename), then drop generations older than the last one."""
        temporary = folder / "CURRENT.new"
        temporary.write_text(generation.name + "\n")
        os.replace(temporary, folder / "CURRENT")
        live_number = int(generation.stem.split("-")[1])
        for path in folder.glob("gen-*.sqlite3*"):
            number = int(path.name.split(".")[0].split("-")[1])
            if number <= live_number - KEEP_GENERATIONS:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        for _key, connection in self._connections().values():
            connection.close()
        self._connections().clear()

    # -- writing -----------------------------------------------------------------------------------------------

    def index(self, tenant: TenantIndex, documents: Iterable[SearchDocument]) -> int:
        documents = list(documents)
        if not documents:
            return 0
        connection = self._connect(tenant, create=True)
        with _write(connection):
            _remove(connection, [d.id for d in documents])
            _insert(connection, documents)
        return len(documents)

    def delete(self, tenant: TenantIndex, ids: Iterable[int]) -> None:
        ids = list(ids)
        connection = self._connect(tenant, create=False)
        if not ids or connection is None:
            return
        with _write(connection):
            _remove(connection, ids)

    def reindex(self, tenant: TenantIndex, documents: Iterator[SearchDocument]) -> int:
        try:
            return self._reindex(tenant, documents)
        except (OSError, sqlite3.Error) as exc:  # the disk or the index file: an outage, said in one line
            raise SearchUnavailable(f"embedded reindex failed: {exc}") from exc

    def _reindex(self, tenant: TenantIndex, documents: Iterator[SearchDocument]) -> int:
        folder = self._folder(tenant)
        with self._locked(folder):
            generation = self._new_generation(folder)
        connection = sqlite3.connect(generation, isolation_level=None)
        # A new file nobody reads yet: no journal, no fsync, a large page cache; the full-text indexes are
        # merged once at the end instead of after every batch.
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -262144")
        for table in ("fts", "suggest"):
            connection.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('automerge', 0)")
        count = 0
        try:
            batch: list[SearchDocument] = []
            for document in documents:
                batch.append(document)
                if len(batch) >= REINDEX_BATCH:
                    count += _insert_batch(connection, batch)
                    batch = []
            count += _insert_batch(connection, batch)
            for table in ("fts", "suggest"):
                connection.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
                connection.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('automerge', 4)")
            connection.execute("PRAGMA journal_mode = WAL")
        except BaseException:
            connection.close()
            generation.unlink(missing_ok=True)
            raise
        connection.close()
        with self._locked(folder):
            self._publish(folder, generation)
        return count

    def drop(self, tenant: TenantIndex) -> None:
        folder = self._folder(tenant)
        cached = self._connections().pop(tenant.slug, None)
        if cached is not None:
            cached[1].close()
        if folder.exists():
            for path in folder.iterdir():
                path.unlink(missing_ok=True)
            folder.rmdir()

    # -- reading -----------------------------------------------------------------------------------------------

    def search(self, tenant: TenantIndex, query: SearchQuery) -> SearchResult:
        connection = self._connect(tenant, create=False)
        if connection is None:
            return SearchResult(hits=[], total=0)
        source, conditions, params = _matching(query)
        where = " AND ".join(conditions) or "1"
        # Words and no filter: the full-text index alone knows the matches, their number and their rank, and
        # joining every match to its row (a broad word matches tens of thousands) would double the time.
        text_only = bool(query.terms) and len(conditions) == 1
        matches = "SELECT rowid FROM fts WHERE fts MATCH ?" if text_only else f"SELECT d.id FROM {source} WHERE {where}"
        try:
            if text_only and query.sort == "relevance":
                rows = connection.execute(f"SELECT rowid, {_BM25} FROM fts WHERE fts MATCH ? "
                                          f"ORDER BY {_BM25} ASC, rowid DESC LIMIT ? OFFSET ?",
                                          [*params, query.size, query.offset]).fetchall()
            else:
                rows = connection.execute(
                    f"SELECT d.id, {_BM25 if query.terms else '0'} FROM {source} WHERE {where} "
                    f"ORDER BY {_order(query)} LIMIT ? OFFSET ?", [*params, query.size, query.offset]).fetchall()
            if query.with_facets:
                facets, total = _facets(connection, matches, params)
            else:
                total = connection.execute(f"SELECT count(*) FROM ({matches})", params).fetchone()[0]
                facets = {}
        except sqlite3.OperationalError as exc:
            raise SearchUnavailable(f"embedded search failed: {exc}") from exc
        return SearchResult(hits=[SearchHit(id=row[0], score=-float(row[1])) for row in rows], total=total,
                            facets=facets)

    def suggest(self, tenant: TenantIndex, prefix_terms: list[Term], limit: int = 8) -> list[Suggestion]:
        connection = self._connect(tenant, create=False)
        if connection is None or not prefix_terms:
            return []
        expression = match_expression(prefix_terms, prefix_last=True)
        try:
            rows = connection.execute(
                "SELECT display, kind, ref, bm25(suggest) FROM suggest WHERE suggest MATCH ? "
                "ORDER BY rank LIMIT ?", (expression, limit * 4)).fetchall()
        except sqlite3.OperationalError as exc:
            raise SearchUnavailable(f"embedded suggestions failed: {exc}") from exc
        ranked = sorted(rows, key=lambda r: (r[3] * SUGGEST_BOOST[r[1]], len(r[0])))
        seen, suggestions = set(), []
        for display, kind, ref, _score in ranked:
            if display.lower() in seen:
                continue
            seen.add(display.lower())
            suggestions.append(Suggestion(text=display, kind=kind, ref=int(ref)))
            if len(suggestions) == limit:
                break
        return suggestions

    def health(self) -> tuple[bool, str]:
        try:
            probe = sqlite3.connect(":memory:")
            probe.execute(f"CREATE VIRTUAL TABLE probe USING fts5 (body, tokenize=\"{_TOKENIZE}\")")
            probe.close()
        except sqlite3.Error as exc:
            return False, f"embedded: {exc}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return False, f"embedded: {exc.strerror}"
        if not os.access(self.root, os.W_OK):
            return False, f"embedded: {self.root} is not writable"
        return True, "embedded (sqlite fts5)"

    # -- for tests and the benchmark ---------------------------------------------------------------------------

    def document_ids(self, tenant: TenantIndex) -> set[int]:
        connection = self._connect(tenant, create=False)
        return set() if connection is None else {r[0] for r in connection.execute("SELECT id FROM docs")}


def _open(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    if _schema_version(connection) < SCHEMA_VERSION:
        _upgrade(connection, path)
    return connection


def _schema_version(connection: sqlite3.Connection) -> int:
    # Generations of the first release never set user_version.
    return max(connection.execute("PRAGMA user_version").fetchone()[0], 1)


def _upgrade(connection: sqlite3.Connection, path: Path) -> None:
    """Bring a generation written by an older release up to ``SCHEMA_VERSION``, once: the first process to take
    the write lock does it, the others find it done."""
    with _write(connection):
        version = _schema_version(connection)
        if version >= SCHEMA_VERSION:
            return
        log.info("upgrading search index %s from schema %d to %d", path, version, SCHEMA_VERSION)
        for step in range(version, SCHEMA_VERSION):
            for statement in UPGRADES[step]:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def _write(connection: sqlite3.Connection):
    """One write transaction, taking the write lock at once so two workers never deadlock upgrading."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _remove(connection: sqlite3.Connection, ids: list[int]) -> None:
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        connection.execute(f"DELETE FROM fts WHERE rowid IN ({marks})", chunk)
        connection.execute(f"DELETE FROM docs WHERE id IN ({marks})", chunk)
        connection.execute(f"DELETE FROM doc_categories WHERE doc_id IN ({marks})", chunk)
        connection.execute(f"DELETE FROM doc_facets WHERE doc_id IN ({marks})", chunk)
        connection.execute(f"DELETE FROM suggest WHERE rowid IN ({marks})",
                           [i * 4 + SUGGEST_KINDS["product"] for i in chunk])


def _insert(connection: sqlite3.Connection, documents: list[SearchDocument]) -> int:
    connection.executemany(
        "INSERT INTO docs (id, shop_id, category_id, price_min, price_max, in_stock, published_at, sales, "
        "credit_score, credit_level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(d.id, d.shop_id, d.category_id, d.price_min, d.price_max, int(d.in_stock), d.published_at, d.sales,
          d.credit_score, d.credit_level) for d in documents])
    connection.executemany(
        f"INSERT INTO fts (rowid, {', '.join(FIELDS)}) VALUES (?{', ?' * len(FIELDS)})",
        [(d.id, *(d.fields.get(f, "") for f in FIELDS)) for d in documents])
    connection.executemany(
        "INSERT OR IGNORE INTO doc_categories (category_id, doc_id) VALUES (?, ?)",
        [(c, d.id) for d in documents for c in d.category_ids])
    connection.executemany(
        "INSERT OR IGNORE INTO doc_facets (name, value, doc_id) VALUES (?, ?, ?)",
        [(name, value, d.id) for d in documents for name, values in d.facets.items() for value in values])
    suggestions = {}
    for d in documents:
        suggestions[d.id * 4 + SUGGEST_KINDS["product"]] = (d.title, "product", d.id,
                                                            d.fields["title"] + " " + d.fields["grams"],
                                                            d.fields["pinyin"])
        if d.category_name:
            suggestions[d.category_id * 4 + SUGGEST_KINDS["category"]] = (
                d.category_name, "category", d.category_id, d.fields["category_words"], d.fields["category_pinyin"])
        if d.shop_name:
            suggestions[d.shop_id * 4 + SUGGEST_KINDS["shop"]] = (
                d.shop_name, "shop", d.shop_id, d.fields["shop_words"], d.fields["shop_pinyin"])
    connection.executemany(
        "INSERT OR REPLACE INTO suggest (rowid, display, kind, ref, words, pinyin) VALUES (?, ?, ?, ?, ?, ?)",
        [(key, *row) for key, row in suggestions.items()])
    return len(documents)


def _insert_batch(connection: sqlite3.Connection, batch: list[SearchDocument]) -> int:
    if not batch:
        return 0
    with _write(connection):
        return _insert(connection, batch)


def _matching(query: SearchQuery) -> tuple[str, list[str], list]:
    """The FROM clause, the conditions and their parameters for a query's text and filters."""
    conditions: list[str] = []
    params: list = []
    if query.terms:
        source = "fts JOIN docs d ON d.id = fts.rowid"
        conditions.append("fts MATCH ?")
        params.append(match_expression(query.terms))
    else:
        source = "docs d"
    if query.category_id is not None:
        conditions.append("d.id IN (SELECT doc_id FROM doc_categories WHERE category_id = ?)")
        params.append(query.category_id)
    if query.shop_id is not None:
        conditions.append("d.shop_id = ?")
        params.append(query.shop_id)
    if query.price_min is not None:
        conditions.append("d.price_min >= ?")
        params.append(query.price_min)
    if query.price_max is not None:
        conditions.append("d.price_min < ?")
        params.append(query.price_max)
    if query.in_stock:
        conditions.append("d.in_stock = 1")
    for name, values in sorted(query.attributes.items()):
        if values:
            marks = ",".join("?" * len(values))
            conditions.append(f"d.id IN (SELECT doc_id FROM doc_facets WHERE name = ? AND value IN ({marks}))")
            params.extend([name, *values])
    if query.credit_levels:
        conditions.append(f"d.credit_level IN ({','.join('?' * len(query.credit_levels))})")
        params.extend(query.credit_levels)
    return source, conditions, params


def _order(query: SearchQuery) -> str:
    match query.sort:
        case "price_asc":
            return "d.price_min ASC, d.id DESC"
        case "price_desc":
            return "d.price_min DESC, d.id DESC"
        case "sales":
            return "d.sales DESC, d.published_at DESC, d.id DESC"
        case "credit":
            return _CREDIT_ORDER
        case "newest":
            return "d.published_at DESC, d.id DESC"
    return f"{_BM25} ASC, d.id DESC" if query.terms else "d.published_at DESC, d.id DESC"


def _facets(connection, matches: str, params: list) -> tuple[dict[str, list[FacetValue]], int]:
    """Every facet's counts over the matching documents (``matches`` selects their ids), and their total.

    One statement: the matches are materialised once, and each side table is read once — the document rows
    give the shop, the price bucket, the stock and the shop's credit level together.
    """
    buckets = " ".join(
        f"WHEN price_min >= {low}" + (f" AND price_min < {high}" if high is not None else "")
        + f" THEN '{low}-{'' if high is None else high}'" for low, high in PRICE_BUCKETS)
    statement = f"""
        WITH m AS MATERIALIZED ({matches})
        SELECT 'docs', shop_id, CASE {buckets} END, in_stock, credit_level, count(*) FROM docs WHERE id IN m
                  GROUP BY 2, 3, 4, 5
        UNION ALL SELECT 'category', category_id, '', 0, '', count(*) FROM doc_categories WHERE doc_id IN m
                  GROUP BY category_id
        UNION ALL SELECT 'attr.' || name, value, '', 0, '', count(*) FROM doc_facets WHERE doc_id IN m
                  GROUP BY name, value
    """
    counts: dict[str, dict[str, int]] = {}
    total = 0
    for name, value, bucket, in_stock, credit_level, count in connection.execute(statement, params):
        if name == "docs":
            total += count
            for facet, key in (("shop", str(value)), ("price", bucket), ("in_stock", "true" if in_stock else ""),
                               ("credit", credit_level)):
                if key:
                    counts.setdefault(facet, {}).setdefault(key, 0)
                    counts[facet][key] += count
        elif count:
            counts.setdefault(name, {})[str(value)] = count
    facets = {name: sorted((FacetValue(value, count) for value, count in values.items()),
                           key=lambda v: (-v.count, v.value)) for name, values in counts.items()}
    return facets, total
