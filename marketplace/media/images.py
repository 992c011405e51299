"""Uploaded images: check them, clean them, store them, and make the resized copies pages use.

``ingest_image(data)`` is the only door in. It trusts nothing about an upload but its bytes:

* the format is what Pillow finds in the content (JPEG, PNG or WEBP), never a file name or extension;
* the byte size and pixel count are capped (``MEDIA_MAX_UPLOAD_BYTES``, ``MEDIA_MAX_PIXELS``) before any
  pixel is decoded, and Pillow's own decompression-bomb limits are handled, not let out as warnings;
* the whole image is decoded, so a truncated or corrupt file is refused now rather than failing later;
* the EXIF orientation is applied, colours are converted to sRGB when a profile says so, and the image is
  re-encoded with no metadata at all (no EXIF/GPS, XMP, ICC profile or comments).

The cleaned file is the stored "original", named by its SHA-256. ``make_derivatives(sha256)`` then makes
the 160/400/800 px copies (WEBP plus a JPEG fallback); callers run it through ``jobs.enqueue``::

    stored = ingest_image(upload.read())
    enqueue("marketplace.media.images.make_derivatives", stored.sha256)
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import warnings
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from marketplace.core.config import ConfigError
from marketplace.media.storage import (
    DERIVED_EXTENSIONS,
    DERIVED_WIDTHS,
    ORIGINAL_EXTENSIONS,
    MediaStorage,
    derived_key,
    get_storage,
    original_key,
)

log = logging.getLogger(__name__)

#: Pillow's format name -> ours. MPO is how Pillow names a camera JPEG carrying extra frames (the first is kept).
ACCEPTED_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP")  # the only decoders Pillow may even try
#: Errors Pillow's decoders raise on bad input (struct.error and EOFError come from short reads in headers).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)

_ORIGINAL_OPTIONS = {"jpeg": {"quality": 90, "optimize": True}, "png": {"optimize": True}, "webp": {"quality": 90}}
_WEBP_DERIVED = {"quality": 80, "method": 4}
_JPEG_DERIVED = {"quality": 85, "optimize": True, "progressive": True}


class ImageRejected(ValueError):
    """The upload is not an image we accept. ``message`` is for people, ``code`` for programs:
    ``unsupported_format``, ``too_large``, ``too_many_pixels`` or ``corrupt``."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class StoredImage:
    sha256: str  # of the cleaned original's bytes: its name in storage
    width: int
    height: int
    format: str  # "jpeg", "png" or "webp"

    @property
    def ext(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def key(self) -> str:
        return original_key(self.sha256, self.ext)


def _limit(name: str) -> int:
    value = current_app.config["MARKETPLACE"][name]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"MARKETPLACE_{name} must be a positive whole number, not {value!r}")
    return value


def _unsupported() -> ImageRejected:
    return ImageRejected(_("只接受 JPEG、PNG 或 WEBP 图片。"), "unsupported_format")


def _corrupt() -> ImageRejected:
    return ImageRejected(_("图片文件已损坏或不完整，请重新上传。"), "corrupt")


def _too_many_pixels(limit: int) -> ImageRejected:
    megapixels = format(limit / 1_000_000, "g")
    return ImageRejected(_("图片尺寸太大，不能超过 %(limit)s 百万像素。", limit=megapixels), "too_many_pixels")


def _claims_accepted_format(data: bytes) -> bool:
    """Whether the file starts like one of ours: then a refusal says "corrupt", not "wrong format"."""
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _decode(data: bytes, max_pixels: int | None, draft_width: int | None = None) -> tuple[Image.Image, str]:
    """Open and fully decode ``data``; returns the image (first frame) and our format name.

    Raises ``ImageRejected`` for anything unacceptable, never a Pillow exception or warning.
    """
    # Pillow warns (DecompressionBombWarning) when opening an image above its own pixel limit and raises
    # DecompressionBombError above twice that. Our own check below (MEDIA_MAX_PIXELS, by default under
    # Pillow's limit) is what decides, so the warning is silenced and the error translated. Other warnings
    # Pillow emits while reading (malformed EXIF, odd MPO headers) are informational and silenced too: the
    # decode either succeeds or raises. The filter is set for this block only; note that Python's warning
    # filters are process-wide, so threads decoding at the same moment briefly share it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            image = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS)
        except Image.DecompressionBombError:
            raise _too_many_pixels(max_pixels or Image.MAX_IMAGE_PIXELS or 0) from None
        except UnidentifiedImageError:
            raise (_corrupt() if _claims_accepted_format(data) else _unsupported()) from None
        except DECODE_ERRORS:
            raise _corrupt() from None
        fmt = ACCEPTED_FORMATS.get(image.format or "")
        if fmt is None:
            raise _unsupported()
        width, height = image.size
        if width < 1 or height < 1:
            raise _corrupt()
        if max_pixels is not None and width * height > max_pixels:
            raise _too_many_pixels(max_pixels)
        try:
            if draft_width and fmt == "jpeg" and width > draft_width:
                # JPEG can decode straight at 1/2, 1/4 or 1/8 scale; draft keeps at least the size asked for.
                image.draft(image.mode, (draft_width, max(1, height * draft_width // width)))
            image.load()
        except Image.DecompressionBombError:
            raise _too_many_pixels(max_pixels or Image.MAX_IMAGE_PIXELS or 0) from None
        except DECODE_ERRORS:
            raise _corrupt() from None
        image = _upright(image)
    return image, fmt


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (in place: the image is ours); unreadable EXIF leaves it as it is."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except DECODE_ERRORS + (KeyError,):
        log.info("ignoring unreadable EXIF orientation")
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit grey (from 16-bit PNGs) scaled to 8 bits: Pillow's plain convert would clip."""
    if image.mode in ("I", "F") or image.mode.startswith("I;"):
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels described by an embedded ICC profile to sRGB, so the profile can be dropped."""
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    output_mode = "RGBA" if image.mode in ("RGBA", "LA") else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=output_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        log.info("dropping an unusable ICC profile (%s)", exc)
        return image
    return converted if converted is not None else image


def _normalise(image: Image.Image, fmt: str) -> Image.Image:
    """Pixels in a mode the format saves well, with every bit of metadata left behind.

    ``image`` is changed: it is the one ``_decode`` made for this upload and nobody else holds it.
    """
    image = _to_srgb(_eight_bit(image))
    alpha = _has_alpha(image)
    if fmt == "jpeg":
        keep = ("L", "RGB")
    elif fmt == "png":
        keep = ("1", "L", "LA", "RGB", "RGBA") + (() if alpha else ("P",))
    else:
        keep = ("RGB", "RGBA")
    if image.mode not in keep or (alpha and image.mode not in ("LA", "RGBA")):
        image = image.convert("RGBA" if alpha and fmt != "jpeg" else "RGB")
    # Encoders take metadata only from ``info`` (or from arguments, and we pass none): EXIF, XMP, ICC profiles,
    # comments, PNG text chunks, DPI. Emptying it leaves nothing to carry over.
    image.info.clear()
    return image


def _encode(image: Image.Image, fmt: str, options: dict) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt.upper(), **options)
    return buffer.getvalue()


def ingest_image(data: bytes) -> StoredImage:
    """Check, clean and store an uploaded image; returns what was stored.

    Raises ``ImageRejected`` (a ``ValueError``) with a translated message and a stable code when the upload
    is not a JPEG, PNG or WEBP image within the limits. Storing the same picture twice stores one file.
    Needs an application context (settings, storage, translations).
    """
    max_bytes = _limit("MEDIA_MAX_UPLOAD_BYTES")
    max_pixels = _limit("MEDIA_MAX_PIXELS")
    data = bytes(data)
    if len(data) > max_bytes:
        megabytes = format(max_bytes / 1024 / 1024, ".3g")
        raise ImageRejected(_("图片文件太大，不能超过 %(limit)s MB。", limit=megabytes), "too_large")
    if not data:
        raise _unsupported()
    image, fmt = _decode(data, max_pixels)
    clean = _normalise(image, fmt)
    encoded = _encode(clean, fmt, _ORIGINAL_OPTIONS[fmt])
    stored = StoredImage(hashlib.sha256(encoded).hexdigest(), clean.width, clean.height, fmt)
    storage = get_storage()
    if not storage.exists(stored.key):  # content-addressed: an existing file already holds these bytes
        storage.save(stored.key, encoded)
    return stored


def find_original(sha256: str, storage: MediaStorage | None = None) -> str | None:
    """The key of the stored original with this SHA-256, or ``None``."""
    storage = storage or get_storage()
    for ext in ORIGINAL_EXTENSIONS:
        key = original_key(sha256, ext)
        if storage.exists(key):
            return key
    return None


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent pixels onto white, for JPEG."""
    if image.mode != "RGBA":
        return image.convert("RGB")
    background = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, image).convert("RGB")


def make_derivatives(sha256: str, *, force: bool = False) -> list[str]:
    """Make the 160, 400 and 800 px wide copies of a stored original, as WEBP and as JPEG; returns their keys.

    A copy is never wider than the original: for a 300 px original the "400" and "800" copies are 300 px
    wide (so every key in the layout exists and links never break). Copies already made are kept unless
    ``force``. Runs as a job (``jobs.enqueue``); needs an application context.
    """
    storage = get_storage()
    source = find_original(sha256, storage)  # also checks that sha256 looks like one
    if source is None:
        raise FileNotFoundError(f"no stored original for {sha256}")
    wanted = [(width, ext) for width in DERIVED_WIDTHS for ext in DERIVED_EXTENSIONS]
    keys = [derived_key(sha256, width, ext) for width, ext in wanted]
    missing = [(width, ext, key) for (width, ext), key in zip(wanted, keys, strict=True)
               if force or not storage.exists(key)]
    if not missing:
        return keys
    with storage.open(source) as file:
        data = file.read()
    # Our own cleaned file: the pixel limit was applied at upload (and may have changed since).
    image, _fmt = _decode(data, max_pixels=None, draft_width=max(DERIVED_WIDTHS))
    mode = "RGBA" if _has_alpha(image) else "RGB"
    base = image if image.mode == mode else _eight_bit(image).convert(mode)  # palette images resize badly
    resized: dict[int, Image.Image] = {}
    for width, ext, key in missing:
        if width not in resized:
            target = min(width, base.width)
            height = max(1, round(base.height * target / base.width))
            resized[width] = base if target == base.width else base.resize(
                (target, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        copy = resized[width]
        if ext == "webp":
            storage.save(key, _encode(copy, "webp", _WEBP_DERIVED))
        else:
            storage.save(key, _encode(_flatten(copy), "jpeg", _JPEG_DERIVED))
    return keys
