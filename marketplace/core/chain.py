"""Hash chains: the canonical JSON that is hashed, and how one link is computed from the one before.

Shared by the reviews' chain (``marketplace.trust.reviews``) and the order seals (``marketplace.orders.seals``):
``hash = sha256(prev_hash + canonical JSON payload)``, hex, the first link's ``prev_hash`` being ``GENESIS``.
Changing any of these changes every stored hash: they are a format, not an implementation detail.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

#: The ``prev_hash`` of a chain's first link.
GENESIS = "0" * 64


def canonical(payload: Any) -> str:
    """JSON with sorted keys, no spaces, non-ASCII kept as is: the same data always gives the same text."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, payload: str) -> str:
    """The link after ``prev_hash`` for ``payload`` (already canonical text)."""
    return sha256_hex(prev_hash + payload)


def moment(value: datetime | None) -> str | None:
    """A UTC time as payloads write it, to the microsecond (every backend gives microseconds back exactly)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value is not None else None
