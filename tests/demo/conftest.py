"""The demo city, loaded once per test the way `make run` loads it (with its catalogue, without pictures)."""

from __future__ import annotations

import pytest

from tests.demo.test_demo import run_demo


@pytest.fixture
def demo_city(app, monkeypatch):
    settings = app.config["MARKETPLACE"]
    monkeypatch.setitem(settings, "DEMO_CATALOG", True)
    monkeypatch.setitem(settings, "DEMO_IMAGES", False)  # the pictures play no part in these journeys
    run_demo(app)
