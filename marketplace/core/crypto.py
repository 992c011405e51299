"""Values kept encrypted at rest, under keys derived from ``SECRET_KEY``.

Each use has its own key (HKDF-SHA256 with a purpose string as ``info``), so that what one use encrypts no other
can open. Changing ``SECRET_KEY`` makes every sealed value unreadable: the callers say what that means for theirs
(an ID number must be submitted again, a webhook subscription made again).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class Unreadable(ValueError):
    """A sealed value that the current ``SECRET_KEY`` cannot open."""


def fernet(purpose: bytes) -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal_bytes(purpose: bytes, data: bytes) -> bytes:
    """``data`` as stored: a Fernet token."""
    return fernet(purpose).encrypt(data)


def unseal_bytes(purpose: bytes, token: bytes) -> bytes:
    """The data sealed in ``token``; ``Unreadable`` when this key cannot open it."""
    try:
        return fernet(purpose).decrypt(token)
    except (InvalidToken, ValueError):
        raise Unreadable(purpose.decode()) from None


def seal(purpose: bytes, value: str) -> str:
    """``value`` as stored: a Fernet token (ASCII)."""
    return seal_bytes(purpose, value.encode()).decode("ascii")


def unseal(purpose: bytes, token: str) -> str:
    """The value sealed in ``token``; ``Unreadable`` when this key cannot open it."""
    return unseal_bytes(purpose, token.encode("ascii")).decode()
