"""The demo city's pages, walked once per test run for the checks that cover every storefront page."""

from __future__ import annotations

import pytest

from marketplace.extensions import db
from tests.storefront.demo_pages import build_demo_site


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory):
    site = build_demo_site(tmp_path_factory.mktemp("demo-pages"))
    yield site
    for backend in site.app.extensions["search_instances"].values():
        backend.close()
    with site.app.app_context():
        db.engine.dispose()
