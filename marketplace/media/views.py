"""Serving stored images at ``/media/<key>``, and the template helpers that link to them.

Only keys that follow the storage layout are served (``storage.parse_key``); anything else, ``..`` included,
is a 404 before the file system is touched. Names are content hashes, so responses may be cached for a year.
"""

from __future__ import annotations

from flask import Blueprint, abort, send_file, url_for

from marketplace.media.storage import (
    DERIVED_WIDTHS,
    ORIGINAL_EXTENSIONS,
    derived_key,
    get_storage,
    original_key,
    parse_key,
)

blueprint = Blueprint("media", __name__)

CACHE_CONTROL = "public, max-age=31536000, immutable"
ONE_YEAR = 31536000
_FORMATS = {"webp": "webp", "jpeg": "jpg", "jpg": "jpg", "png": "png"}


@blueprint.route("/media/<path:key>")
def serve(key: str):
    parsed = parse_key(key)
    if parsed is None:
        abort(404)
    storage = get_storage()
    path = storage.path_for(key)
    if path is not None:
        if not path.is_file():
            abort(404)
        response = send_file(path, mimetype=parsed.content_type, conditional=True, etag=True, max_age=ONE_YEAR)
    else:  # storage without local files
        if not storage.exists(key):
            abort(404)
        response = send_file(storage.open(key), mimetype=parsed.content_type, conditional=True,
                             etag=f"{parsed.sha256}-{parsed.width or 0}-{parsed.ext}", max_age=ONE_YEAR)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _snap(width: int) -> int:
    """The smallest derivative at least ``width`` wide (the largest one for anything wider)."""
    return next((w for w in DERIVED_WIDTHS if w >= width), DERIVED_WIDTHS[-1])


def image_url(sha256: str, width: int | None = None, fmt: str | None = None) -> str:
    """The URL of an image: the original when ``width`` is ``None``, else the resized copy.

    ``width`` is rounded up to a width that is made (160, 400, 800; wider asks get 800). ``fmt`` is "webp"
    (the default for copies) or "jpeg" for copies; for the original it is the original's format, looked up
    in storage when not given.
    """
    if width is None:
        ext = _FORMATS.get(fmt or "")
        if ext is None:
            storage = get_storage()
            ext = next((e for e in ORIGINAL_EXTENSIONS if storage.exists(original_key(sha256, e))), "jpg")
        return url_for("media.serve", key=original_key(sha256, ext))
    return url_for("media.serve", key=derived_key(sha256, _snap(int(width)), _FORMATS.get(fmt or "webp", fmt)))


def srcset(sha256: str, original_width: int | None = None, fmt: str = "webp") -> str:
    """A ``srcset`` value listing the resized copies, e.g. ``"/media/…-160.webp 160w, …"``.

    Pass the original's width (``StoredImage.width``) when known: copies are never wider than the
    original, and the ``w`` descriptors then state the real widths, without duplicates.
    """
    entries, seen = [], set()
    for width in DERIVED_WIDTHS:
        actual = min(width, original_width) if original_width else width
        if actual in seen:
            continue
        seen.add(actual)
        entries.append(f"{image_url(sha256, width, fmt)} {actual}w")
    return ", ".join(entries)


def register(app) -> None:
    app.register_blueprint(blueprint)
    app.jinja_env.globals.update(image_url=image_url, srcset=srcset)
