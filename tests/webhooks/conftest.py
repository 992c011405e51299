"""A real HTTP receiver on 127.0.0.1 for the webhook tests, and development's loopback setting."""

from __future__ import annotations

import http.server
import threading

import pytest


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request and answers with the next of ``answers``."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def loopback(app, monkeypatch):
    """Development's setting: webhooks may go to 127.0.0.1 (where the receiver listens)."""
    monkeypatch.setitem(app.config["MARKETPLACE"], "WEBHOOKS_ALLOW_LOOPBACK", True)
