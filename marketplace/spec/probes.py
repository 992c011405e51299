"""What checks look at besides the database: the pages the application serves, the templates a tenant's pages are
built from, and the answers its search gives."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import current_app
from flask_babel import gettext as _
from jinja2 import TemplateNotFound

from marketplace.search.backend import CREDIT_LEVELS, SearchDocument, SearchQuery, SearchUnavailable
from marketplace.tenancy.models import Tenant

#: How many results of each sort a probe compares with the database.
PROBE_SIZE = 60


def has_route(*words: str) -> bool:
    """Whether the application serves a URL whose endpoint or path holds one of ``words`` as whole words
    ("live_stream" matches /live-stream/ but not /go-live or "delivery")."""
    for rule in current_app.url_map.iter_rules():
        joined = "_" + "_".join(re.split(r"[^a-z0-9]+", f"{rule.endpoint} {rule.rule}".lower())) + "_"
        if any(f"_{word}_" in joined for word in words):
            return True
    return False


def has_endpoint(*names: str) -> bool:
    """Whether the application serves one of ``names``: an endpoint ("cart.view"), or any page of a blueprint
    ("statistics.")."""
    blueprints = tuple(name for name in names if name.endswith("."))
    return any(rule.endpoint in names or rule.endpoint.startswith(blueprints)
               for rule in current_app.url_map.iter_rules())


def has_blueprint(name: str) -> bool:
    """Whether the pages of blueprint ``name`` are served."""
    return name in current_app.blueprints


def template_source(tenant: Tenant, template: str) -> str:
    """The text the tenant's page ``template`` is built from: the template its theme chain serves (its own
    override first) followed by every template that one extends; "" when there is none."""
    from marketplace.core.themes import chain

    names = [f"{theme}/{template}" for theme in chain(current_app.extensions["themes"], tenant.theme)]
    if tenant.slug in current_app.extensions.get("theme_overrides", ()):
        names.insert(0, f"@{tenant.slug}/{template}")
    env = current_app.jinja_env
    for name in names:
        sources = []
        while name and len(sources) < 10:  # follow the extends chain, as Jinja would
            try:
                source = env.loader.get_source(env, name)[0]
            except TemplateNotFound:
                break
            sources.append(source)
            parent = re.search(r"{%-?\s*extends\s+[\"']([^\"']+)[\"']", source)
            name = parent.group(1) if parent else None
        if sources:
            return "\n".join(sources)
    return ""


# -- search as residents get it -------------------------------------------------------------------------------------

#: A sort → the key its results must not decrease by, from a document built from the database now.
SORT_KEYS: dict[str, Callable[[SearchDocument], tuple]] = {
    "price_asc": lambda d: (d.price_min,),
    "price_desc": lambda d: (-d.price_min,),
    "sales": lambda d: (-d.sales,),
    "credit": lambda d: (CREDIT_LEVELS.index(d.credit_level) if d.credit_level in CREDIT_LEVELS[:-1] else 9,
                         -d.credit_score if d.credit_level in CREDIT_LEVELS[:-1] else 0),
}


def search_disorder(tenant: Tenant, sort: str, credit_levels: tuple[str, ...] = ()) -> list[str]:
    """Where the tenant's search, sorted by ``sort`` (and filtered by ``credit_levels``), disagrees with the
    products as the database has them now: a pair out of order, or a product outside the filter. Each problem
    names the products; a search that cannot answer is one problem too. Call inside the tenant's scope."""
    from marketplace.search import documents, services
    from marketplace.storefront.search import SORT_LABELS

    query = SearchQuery(sort=sort, size=PROBE_SIZE, with_facets=False, credit_levels=list(credit_levels))
    try:
        ids = services.search(tenant, query, help_when_empty=False).result.ids
    except SearchUnavailable as exc:
        return [_("搜索暂时无法使用：%(error)s", error=exc)]
    found, _gone = documents.for_ids(services.analyser(), ids)
    truth = {document.id: document for document in found}
    shown = [truth[i] for i in ids if i in truth]  # a product no longer on sale is the index's lag, not the sort's
    key = SORT_KEYS[sort]
    problems = [_("商品 %(a)d 排在商品 %(b)d 之前，按“%(sort)s”排序应在其后", a=before.id, b=after.id,
                  sort=SORT_LABELS[sort])
                for before, after in zip(shown, shown[1:], strict=False) if key(after) < key(before)]
    if credit_levels:
        problems += [_("筛选信用 %(levels)s 时出现了信用为 %(level)s 的店铺的商品 %(id)d",
                       levels="/".join(credit_levels), level=d.credit_level, id=d.id)
                     for d in shown if d.credit_level not in credit_levels]
    return problems
