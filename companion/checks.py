"""The project's standard ``ValueError`` and the number checks every config uses (methods,
experiments, theory): one message shape, ``NAME=value is not allowed: expected ...``, raised
before any work. :mod:`companion.config` re-exports them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def bad_value(name: str, value: Any, allowed: str) -> ValueError:
    """Return the project's standard error for a bad parameter value."""
    return ValueError(f"{name}={value!r} is not allowed: expected {allowed}.")


def number_in(
    name: str,
    value: Any,
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = True,
    high_open: bool = True,
) -> None:
    """Raise the standard ``ValueError`` naming ``name`` unless ``value`` is a real number (not a
    bool) in the interval from ``low`` to ``high`` (open ends by default; an infinite end is always
    open, so the value must also be finite there)."""
    ok = (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
    )
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        if math.isinf(high):
            raise bad_value(name, value, f"a finite number {'>' if low_open else '>='} {low:g}")
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise bad_value(name, value, f"a finite number in {left}{low:g}, {high:g}{right}")


def finite(name: str, value: Any, allow_zero: bool = False) -> float:
    """A finite number > 0 (>= 0 with ``allow_zero``) as a float, else the standard ``ValueError``
    naming ``name`` (an infinite radius or budget would pass a plain ``> 0`` check and fail, or
    certify nothing, only later)."""
    number_in(name, value, 0.0, low_open=not allow_zero)
    return float(value)


def real(name: str, value: Any) -> float:
    """Any finite real number (not a bool) as a float."""
    number_in(name, value, -math.inf)
    return float(value)


def integer(name: str, value: Any, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (bools and floats such as 1.5 are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise bad_value(name, value, f"an integer >= {minimum}")
    return int(value)


def fraction(name: str, value: Any) -> float:
    """A number strictly between 0 and 1 (a delta, a probability that must not be certain)."""
    number_in(name, value, 0.0, 1.0)
    return float(value)


def rate(name: str, value: Any) -> None:
    """A learning rate (or any step size): finite and > 0 (0 makes the step a no-op)."""
    number_in(name, value, 0.0)


def weight(name: str, value: Any) -> None:
    """A loss weight or penalty: finite and >= 0."""
    number_in(name, value, 0.0, low_open=False)


def momentum(name: str, value: Any) -> None:
    """An SGD momentum: in [0, 1) (at 1 or above the velocity never decays)."""
    number_in(name, value, 0.0, 1.0, low_open=False)
