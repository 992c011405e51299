"""The search module kind: what a backend must do, and the plain data that crosses the interface.

A backend stores ``SearchDocument``s per tenant and answers ``SearchQuery``s. Documents arrive already
analysed (``SearchDocument.fields``: whitespace-separated tokens, see ``marketplace.search.analysis``) and
queries carry their analysed ``terms``, so every backend matches the same products; backends differ in
where they keep the index and how they rank. The rules each backend follows:

* a product matches when every query term matches one of the document's fields through one of its
  alternatives (a token, or a phrase of tokens); an empty query matches every document;
* filters: the category or one of its descendants, the shop, the lowest price within a range, in stock,
  attribute values (any of the values given for one attribute, all attributes given), and the shop's
  credit level (any of the levels given);
* facets count the documents that match the query and every filter (the search service asks again, without
  an attribute's or the credit levels' own filter, for the counts of what is being filtered by, so its other
  values stay on offer);
* sorts: relevance (ties: the most recently listed, i.e. the highest id, first), price up or down (the
  lowest price), newest, best-selling (units sold, then newest), and credit: shops with a level (A–D)
  before new shops ("new"), then the higher credit score, then newest; every sort's last tie-break is the
  higher id;
* a tenant's documents are never visible to another tenant's queries or suggestions.

Built-in backends are listed in ``BUILT_IN_BACKENDS``; others register through the
``marketplace.search_backends`` entry point, naming a ``SearchBackend`` subclass.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar

from marketplace.search.analysis import Term

BUILT_IN_BACKENDS = {
    "embedded": "marketplace.search.embedded:EmbeddedBackend",
    "elasticsearch": "marketplace.search.elasticsearch:ElasticsearchBackend",
}

#: The analysed fields of a document and their ranking weights (title counts most, description least).
FIELD_WEIGHTS = {"title": 10.0, "grams": 3.0, "pinyin": 3.0, "attrs": 4.0, "shop": 3.0, "category": 4.0,
                 "body": 1.0}
FIELDS = tuple(FIELD_WEIGHTS)

SORTS = ("relevance", "price_asc", "price_desc", "newest", "sales", "credit")
#: A shop's credit standing as documents carry it: a level of ``marketplace.trust.credit``, or "new" while its
#: score is provisional (and for shops not scored yet). Facet values come in this order on pages.
CREDIT_LEVELS = ("A", "B", "C", "D", "new")
NEW_SHOP = "new"
#: Price-range facet buckets over the lowest price, in fen: [lower, upper) with None for "and above".
PRICE_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 1_000), (1_000, 5_000), (5_000, 10_000), (10_000, 50_000), (50_000, 100_000), (100_000, None),
)


class SearchUnavailable(RuntimeError):
    """The backend cannot answer now (server down, index missing); pages say so, the API answers 503."""


@dataclass
class SearchDocument:
    """A product as the index sees it."""

    id: int
    shop_id: int
    category_id: int
    #: The category and all its ancestors, so filtering by a parent category finds its descendants.
    category_ids: list[int]
    product_type: str
    title: str
    #: Analysed tokens by field name (``FIELDS``), each a whitespace-separated string.
    fields: dict[str, str]
    #: Facet values by attribute name, as strings ("compound", "45", "L").
    facets: dict[str, list[str]]
    #: The lowest unit price anyone can get (tiers included) and the highest variant price, in fen.
    price_min: int
    price_max: int
    in_stock: bool
    #: Seconds since the epoch, UTC.
    published_at: float
    #: Units sold, all time (order lines of orders paid for and not cancelled or refunded).
    sales: int = 0
    #: The shop's standing as of its last credit refresh: score 0–100 and one of ``CREDIT_LEVELS``.
    credit_score: int = 0
    credit_level: str = NEW_SHOP
    #: Names offered by suggestions: the shop's and the category's, with their analysed pinyin.
    shop_name: str = ""
    category_name: str = ""


@dataclass
class SearchQuery:
    text: str = ""
    terms: list[Term] = field(default_factory=list)
    category_id: int | None = None
    shop_id: int | None = None
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool = False
    attributes: dict[str, list[str]] = field(default_factory=dict)
    #: Shops' credit levels (``CREDIT_LEVELS``): any of them; empty: every shop.
    credit_levels: list[str] = field(default_factory=list)
    sort: str = "relevance"
    page: int = 1
    size: int = 20
    with_facets: bool = True
    #: Results to skip, when a client pages by offset rather than by page (the API's cursors); None: by ``page``.
    skip: int | None = None

    @property
    def offset(self) -> int:
        return self.skip if self.skip is not None else (self.page - 1) * self.size


@dataclass
class SearchHit:
    id: int
    score: float = 0.0


@dataclass
class FacetValue:
    value: str
    count: int


@dataclass
class SearchResult:
    hits: list[SearchHit]
    total: int
    #: "category" (category ids), "shop" (shop ids), "price" (bucket "lower-upper" in fen, upper may be
    #: empty), "in_stock" ("true"), "credit" (``CREDIT_LEVELS``), and "attr.<name>" for each attribute
    #: facet; values by count, descending.
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        return [hit.id for hit in self.hits]


@dataclass(frozen=True)
class Suggestion:
    text: str
    #: "product", "category" or "shop"; ``ref`` is its id.
    kind: str
    ref: int


@dataclass(frozen=True)
class TenantIndex:
    """Which tenant's index an operation is about: backends key their storage by ``slug``."""

    id: int
    slug: str


class SearchBackend(ABC):
    """One search provider. An instance serves every tenant that chose it with the same options."""

    name: ClassVar[str]
    #: Options a tenant may set in its manifest ``[modules.search.settings]``: name → (type, default).
    options_schema: ClassVar[dict[str, tuple[type, Any]]] = {}

    def __init__(self, settings: dict, options: dict):
        """``settings`` is the platform's MARKETPLACE settings; ``options`` the tenant's module options."""
        self.settings = settings
        self.options = options

    @abstractmethod
    def index(self, tenant: TenantIndex, documents: Iterable[SearchDocument]) -> int:
        """Add or replace these documents; returns how many."""

    @abstractmethod
    def delete(self, tenant: TenantIndex, ids: Iterable[int]) -> None:
        """Remove these products (ids not in the index are ignored)."""

    @abstractmethod
    def search(self, tenant: TenantIndex, query: SearchQuery) -> SearchResult: ...

    @abstractmethod
    def suggest(self, tenant: TenantIndex, prefix_terms: list[Term], limit: int = 8) -> list[Suggestion]:
        """Product titles, category and shop names whose words start with the query; the last term is a
        prefix (any of ``Term.prefixes``), the others whole words."""

    @abstractmethod
    def reindex(self, tenant: TenantIndex, documents: Iterator[SearchDocument]) -> int:
        """Build a fresh index from ``documents`` beside the live one, then switch to it in one step;
        queries keep being answered from the old one meanwhile. Returns how many documents."""

    @abstractmethod
    def drop(self, tenant: TenantIndex) -> None:
        """Remove the tenant's whole index (tests, tenant deletion)."""

    @abstractmethod
    def health(self) -> tuple[bool, str]:
        """Whether the backend can answer now, and a short detail for /healthz."""

    def close(self) -> None:  # noqa: B027 - optional for backends without connections
        """Release connections (tests, shutdown)."""


class BackendError(RuntimeError):
    """A backend that cannot be loaded, or options it refuses."""


def load_backends() -> dict[str, type[SearchBackend]]:
    """Built-in backends, then those of the ``marketplace.search_backends`` entry point."""
    found: dict[str, type[SearchBackend]] = {}
    sources = [(name, path) for name, path in BUILT_IN_BACKENDS.items()]
    sources += [(e.name, e.value) for e in entry_points(group="marketplace.search_backends")]
    for name, path in sources:
        if name in found:
            raise BackendError(f"search backend {name!r} is registered twice ({path})")
        found[name] = _LazyBackend(name, path)  # type: ignore[assignment]
    return found


class _LazyBackend:
    """A registered backend class, imported when first used (the Elasticsearch client is not free)."""

    def __init__(self, name: str, path: str):
        self.name = name
        self.path = path
        self._cls: type[SearchBackend] | None = None

    def load(self) -> type[SearchBackend]:
        if self._cls is None:
            module, _, attribute = self.path.partition(":")
            try:
                cls = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError) as exc:
                raise BackendError(f"search backend {self.name!r} ({self.path}) failed to load: {exc}") from exc
            if not (isinstance(cls, type) and issubclass(cls, SearchBackend)):
                raise BackendError(f"search backend {self.name!r} ({self.path}) is not a SearchBackend")
            self._cls = cls
        return self._cls


def check_options(cls: type[SearchBackend], options: dict) -> dict:
    """The options with defaults filled in; unknown names and wrong types are refused by name."""
    unknown = set(options) - set(cls.options_schema)
    if unknown:
        raise BackendError(f"search backend {cls.name!r} has no option {', '.join(sorted(unknown))}")
    clean = {}
    for name, (kind, default) in cls.options_schema.items():
        value = options.get(name, default)
        if value is not None and not isinstance(value, kind):
            raise BackendError(f"search option {name} must be {kind.__name__}")
        clean[name] = value
    return clean
