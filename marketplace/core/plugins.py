"""Finding pluggable classes by name: a kind's built-ins, then those its entry point group adds.

Payment, payout and delivery providers are registered the same way: ``name = "package.module:Class"`` in the
built-in table or in the entry point group, imported only when first used, and checked to be the kind's class.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import EntryPoint, entry_points


@cache
def _entry_points(group: str) -> tuple[EntryPoint, ...]:
    # Reading every installed distribution's metadata takes ~30 ms, and providers are looked up several times per
    # checkout; what is installed cannot change under a running process (a new plugin needs a restart anyway).
    return tuple(entry_points(group=group))


def registered(group: str, built_ins: dict[str, str], what: str, error: type[Exception]) -> dict[str, str]:
    """Name → import path: ``built_ins`` then the entry points of ``group``; a name registered twice is refused."""
    found = dict(built_ins)
    for entry in _entry_points(group):
        if entry.name in found:
            raise error(f"{what} {entry.name!r} is registered twice ({entry.value})")
        found[entry.name] = entry.value
    return found


def load(name: str, registry: dict[str, str], base: type, what: str, error: type[Exception]) -> type:
    """The class registered under ``name``, imported; ``error`` naming what is wrong otherwise."""
    path = registry.get(name)
    if path is None:
        raise error(f"unknown {what} {name!r}")
    module, _sep, attribute = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise error(f"{what} {name!r} ({path}) failed to load: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise error(f"{what} {name!r} ({path}) is not a {base.__name__}")
    return cls
