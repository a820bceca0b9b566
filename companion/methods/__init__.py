"""Unlearning methods: one module per method (or family), all in one registry.

Every module in this package is imported here, so a new method module registers itself just by
existing; ``available()`` lists them with whether each is zero-shot.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import (
    REGISTRY,
    MethodConfig,
    MethodSpec,
    UnlearnResult,
    available,
    config_of,
    register,
    unlearn,
)

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _mod != "base" and not _mod.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod}")

__all__ = [
    "REGISTRY",
    "MethodConfig",
    "MethodSpec",
    "UnlearnResult",
    "available",
    "config_of",
    "register",
    "unlearn",
]
