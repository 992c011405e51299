"""Journeys in a real browser: Debian's Chromium, driven by Playwright, against the demo served by gunicorn.

One live site for the whole run (``live_demo``, tests/fixtures/live.py), one Chromium, and a new browser context per
journey. Every request the page makes to a host other than 127.0.0.1 is aborted and recorded: a journey ends by
asserting there were none. Screenshots go to ``test-artifacts/screenshots/<journey>-<step>.png``.

Skipped when /usr/bin/chromium is absent (``apt-get install chromium fonts-wqy-microhei``; .ci/run does).
Never ``playwright install``: the browser is the distribution's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fixtures.live import CHROMIUM
from tests.fixtures.live import CHROMIUM_SKIP_REASON as SKIP_REASON
from tests.orders.live_server import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
STEP_TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@dataclass
class Journey:
    """One visitor's browser tab, with the journey's name for its screenshots and the requests it was refused."""

    name: str
    base_url: str
    page: object
    outside_requests: list[str] = field(default_factory=list)

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def shot(self, step: str) -> Path:
        path = SCREENSHOTS / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def open_journey(chromium, live_demo: str, name: str, device: dict):
    """A new browser context (its own cookies) whose requests may go to 127.0.0.1 only."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{name}-*.png"):
        old.unlink()
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **device)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    journey = Journey(name, live_demo, context.new_page())

    def guard(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            journey.outside_requests.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    return context, journey


def sign_in(page, who: tuple[str, str]):
    """Fill the sign-in page a journey was sent to, and wait until it has gone."""
    from playwright.sync_api import expect

    page.get_by_label("邮箱或手机号").fill(who[0])
    page.get_by_label("密码", exact=True).fill(who[1])
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="登录", level=1)).to_have_count(0)


@pytest.fixture
def phone_journey(request, chromium, live_demo):
    context, journey = open_journey(chromium, live_demo, request.module.JOURNEY, PHONE)
    yield journey
    context.close()


@pytest.fixture
def desktop_journey(request, chromium, live_demo):
    context, journey = open_journey(chromium, live_demo, request.module.JOURNEY, DESKTOP)
    yield journey
    context.close()
