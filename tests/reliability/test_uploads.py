"""Hostile pictures through the merchant console's upload form: refused with a message that names the file and
the reason, nothing stored, and no gunicorn worker lost on the way."""

from __future__ import annotations

import http.client
import re
import uuid

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import ProductImage, Variant
from marketplace.extensions import db
from marketplace.tenancy.context import all_tenants
from tests.media.samples import encode, picture, png_bomb, png_declaring
from tests.orders.live_server import Browser
from tests.reliability.conftest import SLUG, as_browser

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

_JPEG = encode(picture(640, 480), "JPEG")
HOSTILE = {
    "bomb.png": png_bomb(),  # 100 KB on disk, 900 million pixels decoded
    "giant-header.png": png_declaring(200_000, 200_000),
    "truncated.jpg": _JPEG[: len(_JPEG) // 2],
    "starts-like-a.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 200,
    "page.jpg": b"<!doctype html><html><script>alert(1)</script></html>",
    "script.svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
    "gif-and-script.jpg": b"GIF89a/*<svg onload=alert(1)>*/=1;alert(document.cookie)//" + b"\x00" * 64,
    "invoice.pdf.jpg": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    "setup.exe.png": b"MZ\x90\x00\x03" + b"\x00" * 500,
    "empty.jpg": b"",
}


def multipart(fields: dict[str, str], name: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
             for key, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(browser: Browser, path: str, token: str, filename: str, data: bytes) -> tuple[int, str]:
    body, content_type = multipart({"csrf_token": token, "alt": ""}, "images", filename, data)
    headers = {**as_browser(browser), "Content-Type": content_type}
    connection = http.client.HTTPConnection("127.0.0.1", browser.port, timeout=120)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_hostile_pictures_are_refused_by_name_and_reason_and_no_worker_dies(platform):
    variant_id = platform.product("云南小粒咖啡豆 500g", stock=20)
    with platform.app.app_context(), all_tenants():
        product_id = db.session.scalar(select(Variant.product_id).where(Variant.id == variant_id))
    merchant = Browser(platform.server.port)
    merchant.login("merchant0@reliable.example", "correct-horse-42")
    base = f"/merchant/{SLUG}/shop-0/products/{product_id}"
    edit = merchant.get(f"{base}/edit")
    assert edit.status == 200, edit.summary()
    token = edit.csrf_token()
    alive = platform.workers()
    assert len(alive) == 4

    answers = {name: upload(merchant, f"{base}/images", token, name, data) for name, data in HOSTILE.items()}

    unclear = {name: (status, re.findall(r'role="alert"[^>]*>([^<]*)<', text))
               for name, (status, text) in answers.items()
               if status != 400 or not re.search(rf'role="alert"[^>]*>[^<]*{re.escape(name)}：[^<]+<', text)}
    print(f"\n[{platform.database}] {len(HOSTILE)} hostile pictures: {len(HOSTILE) - len(unclear)} refused by name "
          f"and reason; workers before {sorted(alive)}, after {sorted(platform.workers())}")
    assert unclear == {}
    with platform.app.app_context(), all_tenants():
        assert db.session.scalar(select(func.count()).select_from(ProductImage)
                                 .where(ProductImage.product_id == product_id)) == 0
    assert platform.workers() == alive  # not one worker killed (out of memory, timeout) and replaced
    assert "WORKER TIMEOUT" not in platform.server.log() and "SIGKILL" not in platform.server.log()
    good = upload(merchant, f"{base}/images", token, "coffee.jpg", _JPEG)
    assert good[0] == 303  # the form still works for a real picture
    platform.check()
