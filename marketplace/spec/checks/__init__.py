"""The checks, one module per part (``pc.py``, ``ia.py``, …); each registers its functions with ``@check``."""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
