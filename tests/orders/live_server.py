"""The real application under gunicorn in a subprocess, and browsers that talk to it over HTTP.

Used by the race tests: requests there run in separate worker processes on their own database connections,
exactly as in production, which the in-process test client cannot show.
"""

from __future__ import annotations

import contextlib
import html
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the project's virtual environment
SECRET_KEY = "live-server-secret-key-that-is-long-enough-0123456789"
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(instance: Path, database_url: str) -> dict[str, str]:
    """The process environment of the server and of its CLI: only our settings, nothing inherited from the shell."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MARKETPLACE_")}
    env.update({
        "MARKETPLACE_ENV": "testing",
        "MARKETPLACE_SECRET_KEY": SECRET_KEY,
        "MARKETPLACE_ARGON2_PROFILE": "CHEAPEST",
        "MARKETPLACE_SEARCH_INDEXING": "inline",
        "MARKETPLACE_INSTANCE_PATH": str(instance),
        "MARKETPLACE_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
    })
    return env


def migrate(env: dict[str, str]) -> None:
    """``flask db upgrade`` through the command line, as a deployment runs it."""
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}"


@contextlib.contextmanager
def postgresql_database(admin_url: str, name: str):
    """A new, empty database on the server of ``admin_url``, dropped afterwards (even with clients still on it)."""
    url = make_url(admin_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def browser(self) -> Browser:
        return Browser(self.port)

    def stop(self) -> None:
        """SIGTERM to the whole process group (master and workers), SIGKILL if it lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        # Workers left behind by a master that died first.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def start_server(env: dict[str, str], log_path: Path, *, workers: int = 4, ready_within: float = 60) -> LiveServer:
    """gunicorn with the project's gunicorn.conf.py on a free local port; returns once it answers /healthz."""
    port = free_port()
    log = log_path.open("ab")
    try:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "--workers", str(workers),
             "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--no-control-socket", "--error-logfile", "-", "wsgi:app"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    finally:
        log.close()
    server = LiveServer(port, process, log_path)
    deadline = time.monotonic() + ready_within
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {process.returncode}:\n{server.log_tail()}")
            try:
                if Browser(port, timeout=5).get("/healthz").status == 200:
                    return server
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not answer within {ready_within}s:\n{server.log_tail()}")
            time.sleep(0.2)
    except BaseException:
        server.stop()
        raise


@dataclass
class Page:
    status: int
    location: str
    body: str

    @property
    def text(self) -> str:
        return html.unescape(self.body)

    def alerts(self) -> list[str]:
        """The messages the page shows as alerts (form errors, problems, flashes)."""
        return [html.unescape(m).strip() for m in re.findall(r'role="alert"[^>]*>([^<]*)<', self.body)]

    def summary(self) -> str:
        return f"{self.status} {self.location} {self.alerts() or self.text[:300]}"

    def csrf_token(self) -> str:
        match = _CSRF.search(self.body)
        assert match, f"no CSRF token on the page ({self.status}): {self.text[:1000]}"
        return match.group(1)

    def form_fields(self, action: str) -> dict[str, str]:
        """What a browser sends from the form posting to ``action``: hidden inputs and checked radio buttons."""
        assert f'action="{action}"' in self.body, f"no form to {action} ({self.status}): {self.text[:1000]}"
        form_html = self.body.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
        fields = {}
        for tag in re.findall(r"<input[^>]*>", form_html):
            name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
            if not name:
                continue
            if 'type="hidden"' in tag or ('type="radio"' in tag and re.search(r"\schecked[\s>=]", tag)):
                fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
        return fields


@dataclass
class Browser:
    """One visitor: its own cookies, a new connection per request (gunicorn's sync workers close them anyway)."""

    port: int
    timeout: float = 180
    cookies: dict[str, str] = field(default_factory=dict)

    def clone(self) -> Browser:
        """Another tab of the same browser: the same cookies, from here on kept apart."""
        return Browser(self.port, self.timeout, dict(self.cookies))

    def request(self, method: str, path: str, form: dict | None = None) -> Page:
        headers = {"User-Agent": "race-test", "Accept-Language": "zh-CN,zh;q=0.9"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = Page(response.status, response.getheader("Location", ""),
                        response.read().decode("utf-8", "replace"))
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return page
        finally:
            connection.close()

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> Page:
        return self.request("POST", path, form)

    def login(self, identifier: str, password: str) -> Page:
        token = self.get("/account/login").csrf_token()
        page = self.post("/account/login", {"csrf_token": token, "identifier": identifier, "password": password})
        assert page.status == 302, f"login of {identifier} answered {page.status}: {page.text[:1000]}"
        return page
