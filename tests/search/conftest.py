"""Fixtures for the search tests: the app's own analyser, and the backends the conformance kit runs against."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from marketplace.search.analysis import get_analyser, pack_words
from marketplace.search.embedded import EmbeddedBackend

ELASTICSEARCH_REASON = "needs Elasticsearch: set ELASTICSEARCH_URL=http://… (no server can run on these machines)"


@pytest.fixture
def search_analyser(app):
    """The analyser the app itself uses: its dictionary cache under the instance folder, its packs' words."""
    return get_analyser(Path(app.instance_path) / "search", pack_words(app.extensions["catalog_packs"]))


@pytest.fixture(params=[
    "embedded",
    pytest.param("elasticsearch", marks=pytest.mark.skipif(not os.environ.get("ELASTICSEARCH_URL"),
                                                           reason=ELASTICSEARCH_REASON)),
])
def backend(request, tmp_path):
    """A fresh backend of each kind, with nothing indexed."""
    if request.param == "embedded":
        made = EmbeddedBackend({"INSTANCE_PATH": str(tmp_path), "SEARCH_PATH": None}, {})
    else:
        from marketplace.search.elasticsearch import ElasticsearchBackend

        made = ElasticsearchBackend({"ELASTICSEARCH_URL": os.environ["ELASTICSEARCH_URL"],
                                     "ELASTICSEARCH_INDEX_PREFIX": f"test-{secrets.token_hex(4)}",
                                     "INSTANCE_PATH": str(tmp_path)}, {})
    yield made
    made.close()


@pytest.fixture
def factories(make_shop, make_category, make_product, make_user):
    """What ``conformance.build_catalogue`` writes with."""
    return make_shop, make_category, make_product, make_user
