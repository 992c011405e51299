"""Uploads are checked by content, cleaned of metadata, stored once by hash, and resized without upscaling."""

import io
import warnings

import pytest
from PIL import Image, PngImagePlugin

from marketplace.media.images import ImageRejected, StoredImage, ingest_image, make_derivatives
from marketplace.media.storage import DERIVED_WIDTHS, derived_key, original_key
from tests.media.samples import (
    XMP,
    camera_exif,
    encode,
    picture,
    png_bomb,
    png_declaring,
    srgb_profile,
)


def stored_bytes(storage, stored: StoredImage) -> bytes:
    with storage.open(stored.key) as file:
        return file.read()


def originals(media_root) -> list:
    return sorted(p for p in (media_root / "originals").rglob("*") if p.is_file())


@pytest.mark.parametrize(("fmt", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")])
def test_jpeg_png_and_webp_are_accepted_and_stored_in_their_own_format(media, storage, fmt, ext):
    stored = ingest_image(encode(picture(320, 200), fmt))
    assert (stored.width, stored.height, stored.format, stored.ext) == (320, 200, fmt.lower(), ext)
    assert stored.key == original_key(stored.sha256, ext)
    assert (media / stored.key).is_file()
    with Image.open(io.BytesIO(stored_bytes(storage, stored))) as reopened:
        assert reopened.format == fmt and reopened.size == (320, 200)


def test_the_same_picture_twice_is_one_file_with_one_name(media):
    data = encode(picture(), "PNG")
    first, second = ingest_image(data), ingest_image(data)
    assert first == second
    assert originals(media) == [media / first.key]


def test_the_name_is_the_hash_of_the_cleaned_bytes(media, storage):
    import hashlib

    stored = ingest_image(encode(picture(), "JPEG", exif=camera_exif(1)))
    assert hashlib.sha256(stored_bytes(storage, stored)).hexdigest() == stored.sha256


def test_transparency_survives_in_png_and_webp(media, storage):
    for fmt in ("PNG", "WEBP"):
        image = picture(mode="RGBA")
        image.paste((0, 0, 0, 0), (0, 0, 50, 50))
        stored = ingest_image(encode(image, fmt))
        with Image.open(io.BytesIO(stored_bytes(storage, stored))) as reopened:
            assert reopened.mode == "RGBA" and reopened.getpixel((10, 10))[3] == 0


def _svg() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


@pytest.mark.parametrize("data", [
    pytest.param(encode(picture(), "GIF"), id="gif"),
    pytest.param(encode(picture(), "BMP"), id="bmp"),
    pytest.param(encode(picture(), "TIFF"), id="tiff"),
    pytest.param(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", id="pdf-named-jpg"),
    pytest.param(b"<!doctype html><html><script>alert(1)</script></html>", id="html-named-jpg"),
    pytest.param("只是一段文字，不是图片。".encode(), id="text-named-jpg"),
    pytest.param(_svg(), id="svg"),
    pytest.param(b"", id="empty"),
])
def test_anything_but_jpeg_png_or_webp_is_refused_by_its_content(media, data):
    with pytest.raises(ImageRejected) as refused:
        ingest_image(data)
    assert refused.value.code == "unsupported_format"
    assert "JPEG、PNG 或 WEBP" in refused.value.message
    assert isinstance(refused.value, ValueError)
    assert not (media / "originals").exists()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_files_are_refused_as_corrupt(media, fmt):
    data = encode(picture(640, 480), fmt)
    with pytest.raises(ImageRejected) as refused:
        ingest_image(data[: len(data) // 2])
    assert refused.value.code == "corrupt" and "损坏" in refused.value.message


def test_a_file_that_only_starts_like_a_jpeg_is_corrupt_not_unsupported(media):
    with pytest.raises(ImageRejected) as refused:
        ingest_image(b"\xff\xd8\xff\xe0" + b"\x00" * 200)
    assert refused.value.code == "corrupt"


def test_a_decompression_bomb_is_refused_without_a_warning_escaping(media):
    data = png_bomb(30000, 30000)  # 900 megapixels, about 100 KB
    assert len(data) < 200_000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageRejected) as refused:
            ingest_image(data)
    assert refused.value.code == "too_many_pixels" and "百万像素" in refused.value.message
    assert caught == []


@pytest.mark.parametrize(("width", "height"), [
    (10000, 10000),  # where Pillow only warns (DecompressionBombWarning)
    (7000, 7000),  # under Pillow's limits, over ours (40 megapixels)
    (200_000, 300),  # long and thin counts too
])
def test_too_many_pixels_are_refused_from_the_header_alone(media, width, height):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageRejected) as refused:
            ingest_image(png_declaring(width, height))
    assert refused.value.code == "too_many_pixels"
    assert caught == []


def test_the_pixel_limit_is_a_setting(app, media, monkeypatch):
    monkeypatch.setitem(app.config["MARKETPLACE"], "MEDIA_MAX_PIXELS", 300 * 200 - 1)
    with pytest.raises(ImageRejected) as refused:
        ingest_image(encode(picture(300, 200), "PNG"))
    assert refused.value.code == "too_many_pixels"
    monkeypatch.setitem(app.config["MARKETPLACE"], "MEDIA_MAX_PIXELS", 300 * 200)
    assert ingest_image(encode(picture(300, 200), "PNG")).width == 300


def test_an_upload_over_the_size_limit_is_refused_before_decoding(app, media, monkeypatch):
    assert app.config["MARKETPLACE"]["MEDIA_MAX_UPLOAD_BYTES"] == 10 * 1024 * 1024
    with pytest.raises(ImageRejected) as refused:
        ingest_image(b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024))
    assert refused.value.code == "too_large" and "10 MB" in refused.value.message

    data = encode(picture(), "JPEG")
    monkeypatch.setitem(app.config["MARKETPLACE"], "MEDIA_MAX_UPLOAD_BYTES", len(data) - 1)
    with pytest.raises(ImageRejected) as refused:
        ingest_image(data)
    assert refused.value.code == "too_large"
    monkeypatch.setitem(app.config["MARKETPLACE"], "MEDIA_MAX_UPLOAD_BYTES", len(data))
    assert ingest_image(data).format == "jpeg"


def test_exif_orientation_is_applied_then_all_exif_and_gps_are_stripped(media, storage):
    # Stored 200×100 with orientation 6: shown rotated a quarter turn clockwise, so 100 wide and 200 high,
    # with the stored left (red) half on top.
    stored = ingest_image(encode(picture(200, 100), "JPEG", exif=camera_exif(6), quality=95))
    assert (stored.width, stored.height) == (100, 200)
    data = stored_bytes(storage, stored)
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.size == (100, 200)
        assert len(reopened.getexif()) == 0 and "exif" not in reopened.info
        top, bottom = reopened.convert("RGB").getpixel((50, 50)), reopened.convert("RGB").getpixel((50, 150))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
    assert b"GPS" not in data and b"SecretCam" not in data and b"Exif" not in data


def test_jpeg_xmp_icc_profile_and_comment_are_stripped(media, storage):
    data = encode(picture(), "JPEG", exif=camera_exif(1), xmp=XMP, icc_profile=srgb_profile(),
                  comment=b"shot at home")
    assert b"Secret Person" in data and b"ICC_PROFILE" in data and b"shot at home" in data
    cleaned = stored_bytes(storage, ingest_image(data))
    for leak in (b"Secret Person", b"ns.adobe.com", b"ICC_PROFILE", b"shot at home", b"SecretCam", b"Exif"):
        assert leak not in cleaned


def test_png_text_exif_and_icc_chunks_are_stripped(media, storage):
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "home address")
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    data = encode(picture(), "PNG", pnginfo=text, exif=camera_exif(1), icc_profile=srgb_profile())
    cleaned = stored_bytes(storage, ingest_image(data))
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP", b"home address", b"Secret Person"):
        assert chunk not in cleaned


def test_webp_exif_xmp_and_icc_are_stripped(media, storage):
    data = encode(picture(), "WEBP", exif=camera_exif(1), xmp=XMP, icc_profile=srgb_profile())
    assert b"EXIF" in data and b"XMP " in data
    cleaned = stored_bytes(storage, ingest_image(data))
    for chunk in (b"EXIF", b"XMP ", b"ICCP", b"SecretCam", b"Secret Person"):
        assert chunk not in cleaned


def test_cmyk_jpeg_and_16_bit_png_are_stored_in_web_friendly_modes(media, storage):
    cmyk = ingest_image(encode(picture().convert("CMYK"), "JPEG"))
    with Image.open(io.BytesIO(stored_bytes(storage, cmyk))) as reopened:
        assert reopened.mode == "RGB"
    grey = ingest_image(encode(Image.new("I;16", (40, 30), 30000), "PNG"))
    with Image.open(io.BytesIO(stored_bytes(storage, grey))) as reopened:
        assert reopened.mode == "L" and 100 < reopened.getpixel((5, 5)) < 130  # scaled, not clipped to white


def test_palette_png_with_transparency_keeps_it(media, storage):
    image = picture(64, 64).convert("P")
    stored = ingest_image(encode(image, "PNG", transparency=image.getpixel((60, 60))))
    with Image.open(io.BytesIO(stored_bytes(storage, stored))) as reopened:
        assert reopened.mode == "RGBA" and reopened.getpixel((60, 60))[3] == 0
        assert reopened.getpixel((5, 30))[3] == 255


def test_derivatives_are_made_at_each_width_in_webp_and_jpeg(media, storage):
    stored = ingest_image(encode(picture(1200, 600), "JPEG"))
    keys = make_derivatives(stored.sha256)
    assert len(keys) == 6
    for width in DERIVED_WIDTHS:
        for ext, fmt in (("webp", "WEBP"), ("jpg", "JPEG")):
            key = derived_key(stored.sha256, width, ext)
            assert key in keys and (media / key).is_file()
            with storage.open(key) as file, Image.open(file) as copy:
                assert copy.format == fmt and copy.size == (width, width // 2)
                assert len(copy.getexif()) == 0


def test_derivatives_never_upscale(media, storage):
    stored = ingest_image(encode(picture(300, 150), "PNG"))
    make_derivatives(stored.sha256)
    widths = {}
    for width in DERIVED_WIDTHS:
        with storage.open(derived_key(stored.sha256, width, "webp")) as file, Image.open(file) as copy:
            widths[width] = copy.size
    assert widths == {160: (160, 80), 400: (300, 150), 800: (300, 150)}


def test_jpeg_derivatives_flatten_transparency_onto_white(media, storage):
    image = Image.new("RGBA", (500, 500), (0, 0, 0, 0))
    image.paste((200, 20, 20, 255), (250, 0, 500, 500))
    stored = ingest_image(encode(image, "PNG"))
    make_derivatives(stored.sha256)
    with storage.open(derived_key(stored.sha256, 400, "jpg")) as file, Image.open(file) as copy:
        assert copy.mode == "RGB"
        assert min(copy.getpixel((50, 200))) > 245  # transparent became white, not black
    with storage.open(derived_key(stored.sha256, 400, "webp")) as file, Image.open(file) as copy:
        assert copy.mode == "RGBA" and copy.getpixel((50, 200))[3] == 0


def test_derivatives_are_kept_unless_forced(media, storage):
    stored = ingest_image(encode(picture(), "JPEG"))
    make_derivatives(stored.sha256)
    path = storage.path_for(derived_key(stored.sha256, 160, "webp"))
    path.write_bytes(b"stale")
    make_derivatives(stored.sha256)
    assert path.read_bytes() == b"stale"
    make_derivatives(stored.sha256, force=True)
    assert path.read_bytes().startswith(b"RIFF")


def test_derivatives_of_an_unknown_or_malformed_hash_fail_plainly(media):
    with pytest.raises(FileNotFoundError):
        make_derivatives("0" * 64)
    for bad in ("../../secret_key", "A" * 64, "0" * 63):
        with pytest.raises(ValueError):
            make_derivatives(bad)


def test_writes_are_atomic_and_leave_no_temporary_files(media, storage):
    stored = ingest_image(encode(picture(), "WEBP"))
    make_derivatives(stored.sha256)
    leftovers = [p for p in media.rglob("*") if p.is_file() and p.name.startswith(".")]
    assert leftovers == []
    assert (media / stored.key).stat().st_mode & 0o777 == 0o644


def test_camera_jpegs_with_extra_frames_and_animations_keep_their_first_frame(media, storage):
    first, second = picture(200, 100), Image.new("RGB", (200, 100), (20, 180, 20))
    mpo = ingest_image(encode(first, "MPO", save_all=True, append_images=[second]))
    assert (mpo.format, mpo.width) == ("jpeg", 200)
    for fmt in ("WEBP", "PNG"):
        animated = ingest_image(encode(first, fmt, save_all=True, append_images=[second], duration=100))
        with Image.open(io.BytesIO(stored_bytes(storage, animated))) as reopened:
            assert reopened.format == fmt and getattr(reopened, "n_frames", 1) == 1
            assert reopened.convert("RGB").getpixel((150, 50))[2] > 150  # the first frame's blue half
