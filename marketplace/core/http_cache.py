"""HTTP caching: static files under content-versioned URLs kept for a year, and rendered pages revalidated by ETag.

Static files: every URL built for a versioned static endpoint carries ``?v=<first 12 hex of the file's sha256>``
(``url_defaults``, so templates need nothing). A request naming the file's current version is answered as
immutable; one without a version, or with an old one, gets the current file with the endpoint's short max-age, so
a page cached before a deploy still gets a stylesheet, just not one kept for a year.

Pages: ``revalidate`` gives a rendered page a weak ETag, a hash of its body, so it changes with anything the visitor
sees (prices, stock, their name, the cart, the language, flashes), and answers 304 when the browser already holds
it. No Last-Modified: a page mixes too many rows (and the visitor's own state) for any one date to be exact.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from flask import current_app, g, request, send_from_directory, session
from flask_login import current_user
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
ONE_YEAR = 31536000
VERSION_ARG = "v"

#: Locates the folder a static endpoint serves from, given the URL's values (``None``: no such folder).
FolderOf = Callable[[dict], "str | Path | None"]

# path -> (mtime_ns, size, version): hashed once per file per process, again only if the file is replaced.
_versions: dict[str, tuple[int, int, str]] = {}


def file_version(path: str | Path) -> str | None:
    """The first 12 hex digits of the file's sha256; ``None`` when it is not a file."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(found.st_mode):
        return None
    key = str(path)
    known = _versions.get(key)
    if known is not None and known[:2] == (found.st_mtime_ns, found.st_size):
        return known[2]
    with open(path, "rb") as file:
        version = hashlib.file_digest(file, "sha256").hexdigest()[:12]
    _versions[key] = (found.st_mtime_ns, found.st_size, version)
    return version


def _version_in(folder: str | Path | None, filename: str | None) -> str | None:
    path = safe_join(str(folder), filename) if folder and filename else None
    return file_version(path) if path else None


def version_static(app, endpoint: str, folder_of: FolderOf) -> None:
    """URLs built for ``endpoint`` (which has a ``filename`` value) get the served file's version."""
    app.extensions.setdefault("versioned_static", {})[endpoint] = folder_of


def send_versioned(folder: str | Path, filename: str, max_age: int | None):
    """``send_from_directory``, kept for a year when the request names the file's current version."""
    current = _version_in(folder, filename)
    if current is None or request.args.get(VERSION_ARG) != current:
        return send_from_directory(folder, filename, max_age=max_age)
    response = send_from_directory(folder, filename, max_age=ONE_YEAR)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def _add_version(endpoint: str, values: dict) -> None:
    folder_of = current_app.extensions.get("versioned_static", {}).get(endpoint)
    if folder_of is None or VERSION_ARG in values:
        return
    version = _version_in(folder_of(values), values.get("filename"))
    if version:
        values[VERSION_ARG] = version


def install(app) -> None:
    version_static(app, "static", lambda _values: app.static_folder)
    app.url_defaults(_add_version)


# -- pages --------------------------------------------------------------------------------------------------------

def page_etag(body: bytes) -> str:
    """A hash of the page that two renders of the same content share.

    Flask-WTF signs the session's CSRF secret with the time of each render, so the token differs every second;
    it is hashed as its first part alone (the session's secret, encoded), so the ETag still changes when the
    session does — a page from an old session carries a token the new one refuses. Without a time limit on
    tokens (WTF_CSRF_TIME_LIMIT is None) the cached page's token stays valid for the session.
    """
    token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    if isinstance(token, str) and token:
        body = body.replace(token.encode(), token.rsplit(".", 2)[0].encode())
    return hashlib.sha256(body).hexdigest()[:32]


def etag_of_stored_page(digest: str, token: str | None) -> str:
    """The ETag of a page kept by the page cache: the stored page's digest and the session part of the visitor's
    token (see page_etag), without hashing the page again on every visit."""
    session_part = token.rsplit(".", 2)[0] if token else ""
    return hashlib.sha256(f"{digest}:{session_part}".encode()).hexdigest()[:32]


def revalidate(response):
    """``after_request`` for rendered pages: a weak ETag on a 200 GET, 304 (no body) when If-None-Match has it.

    Cache-Control is ``no-cache`` (keep it, but ask every time); ``private`` whenever the visitor is signed in or
    has a session or cookies (a cart, a CSRF secret, a language), so no shared cache ever holds one visitor's page.
    A stricter header set by the view (``no-store``) is left as it is, without an ETag.
    """
    if (request.method not in ("GET", "HEAD") or response.status_code != 200 or response.mimetype != "text/html"
            or response.direct_passthrough or response.is_streamed or "Cache-Control" in response.headers):
        return response
    if response.get_etag()[0] is None:  # the page cache sets it for the pages it serves
        response.set_etag(page_etag(response.get_data()), weak=True)
    # Cheapest first: asking for current_user loads the user (and Flask-Login's session checks) when nothing else
    # has, as on a page from the page cache.
    mark_page(response, personal="Set-Cookie" in response.headers or bool(request.cookies) or bool(session)
              or current_user.is_authenticated)
    return response.make_conditional(request)


def mark_page(response, *, personal: bool) -> None:
    """Keep it but ask every time; only in the visitor's own browser when it is ``personal`` (anything from their
    session or cookies may be in it)."""
    response.headers["Cache-Control"] = "private, no-cache" if personal else "public, no-cache"
    response.vary.add("Cookie")  # the language and the signed-in user come from cookies
