"""companion: the package behind the information-theoretic unlearning companion book.

Submodules are imported lazily (``from companion import data, models, methods, metrics``) so that
importing the package does no work.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
__all__ = [
    "config",
    "data",
    "models",
    "training",
    "methods",
    "metrics",
    "theory",
    "report",
    "reported",
    "plotting",
]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'companion' has no attribute {name!r}")
