"""Stored images are served at /media/<key> with long caching, and nothing else is."""

import pytest
from flask import render_template_string

from marketplace.media.images import ingest_image, make_derivatives
from marketplace.media.storage import derived_key, original_key, parse_key
from marketplace.media.views import CACHE_CONTROL, image_url, srcset
from tests.media.samples import encode, picture


@pytest.fixture
def stored(media):
    image = ingest_image(encode(picture(1000, 500), "PNG"))
    make_derivatives(image.sha256)
    return image


def assert_served(client, url: str, content_type: str, body: bytes):
    with client.get(url) as response:  # closing the response closes the file it streamed
        assert response.status_code == 200
        assert response.headers["Content-Type"] == content_type
        assert response.headers["Cache-Control"] == CACHE_CONTROL == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.data == body


def test_originals_and_derivatives_are_served_with_immutable_caching(client, media, stored):
    assert_served(client, f"/media/{stored.key}", "image/png", (media / stored.key).read_bytes())
    for width in (160, 400, 800):
        for ext, content_type in (("webp", "image/webp"), ("jpg", "image/jpeg")):
            key = derived_key(stored.sha256, width, ext)
            assert_served(client, f"/media/{key}", content_type, (media / key).read_bytes())


def test_a_cached_copy_is_revalidated_without_the_body(client, stored):
    with client.get(f"/media/{stored.key}") as first:
        etag = first.headers["ETag"]
    with client.get(f"/media/{stored.key}", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304 and again.data == b""


def test_media_is_platform_wide_on_a_tenant_host(client, stored):
    # On <slug>.<platform> other paths gain /t/<slug>; /media/ must not, or every image would 404 there.
    with client.get(f"/media/{stored.key}", headers={"Host": "someshop.shangdu.test"}) as response:
        assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize("path", [
    "/media/../instance/secret_key",
    "/media/%2e%2e/instance/secret_key",
    "/media/..%2finstance%2fsecret_key",
    "/media/originals/../../instance/secret_key",
    "/media/originals/xx/yy/not-a-sha.jpg",
    "/media/secret_key",
    "/media/",
])
def test_paths_outside_the_layout_are_not_found(client, media, stored, path):
    (media.parent / "instance").mkdir()
    (media.parent / "instance" / "secret_key").write_text("TOP-SECRET")
    (media / "secret_key").write_text("TOP-SECRET")
    with client.get(path) as response:
        assert response.status_code == 404
        assert b"TOP-SECRET" not in response.data


def test_keys_must_match_the_layout_exactly(client, media, stored):
    sha = stored.sha256
    wrong = [
        f"originals/{sha[2:4]}/{sha[:2]}/{sha}.png",  # folders that do not match the hash
        f"originals/{sha[:2]}/{sha[2:4]}/{sha.upper()}.png",
        f"originals/{sha[:2]}/{sha[2:4]}/{sha}.PNG",
        f"originals/{sha[:2]}/{sha[2:4]}/{sha}.gif",
        f"originals/{sha[:2]}/{sha[2:4]}/{sha}-800.png",
        f"derived/{sha[:2]}/{sha[2:4]}/{sha}-500.webp",  # a width nobody makes
        f"derived/{sha[:2]}/{sha[2:4]}/{sha}-400.png",
        f"derived/{sha[:2]}/{sha[2:4]}/{sha}.webp",
        f"derived/{sha[:2]}/{sha[2:4]}/{sha}-0400.webp",
        f"other/{sha[:2]}/{sha[2:4]}/{sha}.png",
    ]
    for key in wrong:
        assert parse_key(key) is None, key
        with client.get(f"/media/{key}") as response:
            assert response.status_code == 404, key
    # Valid, but never stored:
    assert client.get(f"/media/{original_key('0' * 64, 'jpg')}").status_code == 404
    assert client.get(f"/media/{original_key(sha, 'jpg')}").status_code == 404


def test_only_get_and_head(client, stored):
    with client.head(f"/media/{stored.key}") as response:
        assert response.status_code == 200 and response.data == b""
    assert client.post(f"/media/{stored.key}").status_code == 405


def test_image_url_and_srcset(media, stored):
    sha, prefix = stored.sha256, f"/media/derived/{stored.sha256[:2]}/{stored.sha256[2:4]}/{stored.sha256}"
    assert image_url(sha) == f"/media/{stored.key}"  # the original, in its own format
    assert image_url(sha, fmt="png") == f"/media/{stored.key}"
    assert image_url(sha, 400) == f"{prefix}-400.webp"
    assert image_url(sha, 400, "jpeg") == f"{prefix}-400.jpg"
    assert image_url(sha, 300) == f"{prefix}-400.webp"  # rounded up to a width that is made
    assert image_url(sha, 5000) == f"{prefix}-800.webp"
    assert srcset(sha) == f"{prefix}-160.webp 160w, {prefix}-400.webp 400w, {prefix}-800.webp 800w"
    # A 300 px original: its "400" and "800" copies are 300 px wide, and srcset says so once.
    assert srcset(sha, original_width=300, fmt="jpeg") == f"{prefix}-160.jpg 160w, {prefix}-400.jpg 300w"


def test_templates_have_the_helpers(media, stored):
    html = render_template_string('<img src="{{ image_url(sha, 160) }}" srcset="{{ srcset(sha) }}">',
                                  sha=stored.sha256)
    assert f"{stored.sha256}-160.webp" in html and "800w" in html
