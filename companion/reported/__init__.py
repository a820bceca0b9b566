"""Numbers quoted from the papers: the one place they live, each with its source and a tolerance.

One module per paper (``xs``, ``jit``, ``cert``), each defining ``REPORTED: dict[str, Reported]``
keyed ``"<table or figure>/<row>/<column>"``. :func:`get` looks a number up as ``"paper:key"``.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Reported:
    """One number from a paper.

    value : the number as printed (fractions in [0, 1] where the paper prints percent).
    source : where it is printed (paper, version, table/figure, row/column) or which spec section.
    tolerance : absolute difference within which a reproduction counts as matching.
    unit : e.g. 'fraction', 'seconds', 'epsilon'.
    """

    value: float
    source: str
    tolerance: float = 0.0
    unit: str = ""
    std: float | None = None

    def matches(self, ours: float) -> bool:
        return abs(float(ours) - self.value) <= self.tolerance


def all_reported() -> dict[str, Reported]:
    """Every reported number, keyed ``"paper:key"``."""
    out: dict[str, Reported] = {}
    for mod in pkgutil.iter_modules(__path__):
        table = getattr(importlib.import_module(f"{__name__}.{mod.name}"), "REPORTED", {})
        out.update({f"{mod.name}:{k}": v for k, v in table.items()})
    return out


def get(key: str) -> Reported:
    table = all_reported()
    if key not in table:
        raise ValueError(f"no reported number {key!r}; known keys start with {sorted({k.split(':')[0] for k in table})}")
    return table[key]
