"""Where image files live, and the names they live under.

Every file is named by the SHA-256 of the cleaned original, so a name never changes its content and can
be cached for ever:

* originals: ``originals/ab/cd/<sha256>.<jpg|png|webp>``
* derivatives: ``derived/ab/cd/<sha256>-<width>.<webp|jpg>`` (``ab`` and ``cd``: the first two pairs of
  hex digits, so that no folder grows too large)

These relative names ("keys") are the whole contract between the image pipeline, the view that serves
them and the storage. ``parse_key`` is the one place that decides whether a key is valid; anything that
does not match the layout exactly (``..``, other folders, upper case, a width nobody makes) is refused.
"""

from __future__ import annotations

import os
import re
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

#: Widths of the resized copies, in pixels.
DERIVED_WIDTHS = (160, 400, 800)
#: File extensions by kind of file.
ORIGINAL_EXTENSIONS = ("jpg", "png", "webp")
DERIVED_EXTENSIONS = ("webp", "jpg")
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(
    r"(?P<kind>originals|derived)/(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{2})/"
    r"(?P<sha>[0-9a-f]{64})(?:-(?P<width>[1-9][0-9]{0,4}))?\.(?P<ext>jpg|png|webp)"
)


@dataclass(frozen=True)
class MediaKey:
    """A parsed, valid key."""

    kind: str  # "originals" or "derived"
    sha256: str
    width: int | None  # derivatives only
    ext: str

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.ext]


def parse_key(key: str) -> MediaKey | None:
    """The key's parts when it follows the layout exactly, else ``None``."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    sha, ext = match["sha"], match["ext"]
    if match["a"] != sha[:2] or match["b"] != sha[2:4]:
        return None
    if match["kind"] == "originals":
        return MediaKey("originals", sha, None, ext) if match["width"] is None else None
    width = int(match["width"]) if match["width"] else None
    if width not in DERIVED_WIDTHS or ext not in DERIVED_EXTENSIONS:
        return None
    return MediaKey("derived", sha, width, ext)


def _check_sha(sha256: str) -> str:
    if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
        raise ValueError(f"not a lower-case hex SHA-256: {sha256!r}")
    return sha256


def original_key(sha256: str, ext: str) -> str:
    if ext not in ORIGINAL_EXTENSIONS:
        raise ValueError(f"originals are stored as {', '.join(ORIGINAL_EXTENSIONS)}, not {ext!r}")
    sha = _check_sha(sha256)
    return f"originals/{sha[:2]}/{sha[2:4]}/{sha}.{ext}"


def derived_key(sha256: str, width: int, ext: str) -> str:
    if width not in DERIVED_WIDTHS or ext not in DERIVED_EXTENSIONS:
        raise ValueError(f"no derivative {width}px .{ext} (widths {DERIVED_WIDTHS}, formats {DERIVED_EXTENSIONS})")
    sha = _check_sha(sha256)
    return f"derived/{sha[:2]}/{sha[2:4]}/{sha}-{width}.{ext}"


class MediaStorage(ABC):
    """The few operations the image pipeline and the media view need from a store of files.

    Kept deliberately small so that an S3-compatible store (MinIO, Aliyun OSS, Tencent COS…) can be added
    later beside ``LocalMediaStorage``: ``save`` becomes a PUT of the object named by the key, ``exists`` a
    HEAD, ``open`` a GET, and ``path_for`` returns ``None`` (there is no local file), in which case the media
    view streams ``open(key)`` (or, later, redirects to the bucket's public URL). Keys are always valid
    layout keys (see ``parse_key``); implementations refuse anything else with ``ValueError``.
    """

    @abstractmethod
    def save(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` so that readers see either the old file or the whole new one."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A binary file object to read; the caller closes it. ``FileNotFoundError`` when absent."""

    @abstractmethod
    def path_for(self, key: str) -> Path | None:
        """The file's path on this machine, or ``None`` for storage without local files."""


class LocalMediaStorage(MediaStorage):
    """Files in a folder on this machine (by default ``<instance>/media/``)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalMediaStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        if parse_key(key) is None:
            raise ValueError(f"not a media key: {key!r}")
        return self.root / key

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename over it: a reader (or a crash) never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)  # mkstemp makes it private; a front web server may serve these directly
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def path_for(self, key: str) -> Path:
        return self._path(key)


def media_root(app=None) -> Path:
    """``MEDIA_ROOT`` when set, else ``<instance>/media``."""
    app = app or current_app
    configured = app.config["MARKETPLACE"].get("MEDIA_ROOT")
    return Path(configured) if configured else Path(app.instance_path) / "media"


def get_storage(app=None) -> MediaStorage:
    """The storage for the current application (cheap to build: nothing is touched until used)."""
    return LocalMediaStorage(media_root(app))
