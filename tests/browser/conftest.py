"""Journeys in a real browser: Debian's Chromium, driven by Playwright, against the demo served by gunicorn.

One live site for the whole run (a fresh instance folder, ``flask db upgrade``, ``flask search prepare``,
``flask demo`` with its catalogue, then gunicorn on 127.0.0.1), one Chromium, and a new browser context per
journey. Every request the page makes to a host other than 127.0.0.1 is aborted and recorded: a journey ends by
asserting there were none. Screenshots go to ``test-artifacts/screenshots/<journey>-<step>.png``.

Skipped when /usr/bin/chromium is absent (``apt-get install chromium fonts-wqy-microhei``; .ci/run does).
Never ``playwright install``: the browser is the distribution's.
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fixtures.app import configured_database_url
from tests.orders.live_server import BIN, PROJECT_ROOT, migrate, postgresql_database, server_environment, start_server

CHROMIUM = Path("/usr/bin/chromium")
SKIP_REASON = "needs Chromium: apt-get install chromium fonts-wqy-microhei (.ci/run does)"
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
STEP_TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def _flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def live_demo(tmp_path_factory):
    """The demo city, catalogue and pictures included, served by gunicorn: yields its base URL."""
    instance = tmp_path_factory.mktemp("browser-site")
    url = configured_database_url() or ""
    database = (postgresql_database(url, f"browser_{uuid.uuid4().hex[:10]}") if url.startswith("postgresql")
                else contextlib.nullcontext(f"sqlite:///{instance / 'browser.sqlite3'}"))
    with database as database_url:
        env = server_environment(instance, database_url)
        # ENV=testing leaves the demo catalogue out by default; the journeys shop in it. Small pictures: quick.
        env.update({"MARKETPLACE_DEMO_CATALOG": "1", "MARKETPLACE_DEMO_IMAGE_SIZE": "240"})
        migrate(env)
        _flask(env, "search", "prepare")
        _flask(env, "demo")
        server = start_server(env, instance / "gunicorn.log", workers=3)
        try:
            yield f"http://127.0.0.1:{server.port}"
        finally:
            server.stop()


@pytest.fixture(scope="session")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -r requirements-dev.txt)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


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
