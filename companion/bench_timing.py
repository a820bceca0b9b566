"""Timing primitives of ``python -m companion bench`` (:mod:`companion.bench`): round-robin best-of
timing with device synchronisation, the row format, the log-log slope of a cost curve and the
matmul ceiling.

Only ratios measured in the same run mean anything on a shared machine: :func:`best_of` alternates
the ways of doing the work (one warm-up round, then ``rounds`` timed rounds) so that load from other
processes hits all of them alike, and keeps each one's fastest round.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np
import torch

from .checks import bad_value, integer


def sync(device: torch.device | str) -> None:
    """Wait for the work queued on ``device`` (a no-op on the CPU): CUDA kernels run asynchronously,
    so a clock read without this measures the launch, not the work."""
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def best_of(
    fns: dict[str, Callable[[], object]], rounds: int, device: torch.device | str = "cpu"
) -> dict[str, float]:
    """Best wall-clock seconds of each callable over ``rounds`` round-robin rounds, after one
    warm-up round; ``device`` is synchronised before and after each call.

    Parameters
    ----------
    fns : dict of name -> callable
        The ways of doing the same work; each is called ``rounds + 1`` times.
    rounds : int
        Timed rounds (>= 1).

    Returns
    -------
    dict of name -> float
        The fastest timed round of each.
    """
    integer("rounds", rounds, 1)
    best = {k: math.inf for k in fns}
    for r in range(rounds + 1):
        for name, fn in fns.items():
            sync(device)
            t = time.perf_counter()
            fn()
            sync(device)
            if r:
                best[name] = min(best[name], time.perf_counter() - t)
    return best


def ratio_row(
    name: str,
    setting: str,
    ours: float,
    base: float,
    baseline: str,
    what: str,
    diff: float,
    tolerance: float,
    **extra: object,
) -> dict:
    """One timed row: ``speedup`` = baseline seconds / ours (above 1: ours is faster).

    ``diff`` is the largest difference between the two results (``what`` names it); ``same`` says
    whether it is within ``tolerance``. ``extra`` keys (e.g. ``target``, ``K``, ``N``) are kept.
    """
    return {
        "benchmark": name,
        "setting": setting,
        "ours_s": ours,
        "baseline": baseline,
        "baseline_s": base,
        "speedup": base / ours,
        "difference": diff,
        "tolerance": tolerance,
        "same": bool(diff <= tolerance),
        "same_result": f"{what} {diff:.1e} (tolerance {tolerance:.0e})",
        **extra,
    }


def loglog_slope(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """Least-squares slope ``k`` of ``log t`` on ``log n``: the exponent of ``t ~ c n^k``.

    Parameters
    ----------
    sizes : sequence of float, length M >= 2
        Work sizes n (> 0, not all equal).
    seconds : sequence of float, length M
        Times t (> 0, finite).

    Returns
    -------
    float
        ``k = cov(log n, log t) / var(log n)``; for ``t = c n^k`` exactly ``k``.
    """
    n, t = np.asarray(sizes, dtype=float), np.asarray(seconds, dtype=float)
    if n.ndim != 1 or n.size < 2 or not np.all(np.isfinite(n)) or not np.all(n > 0):
        raise bad_value("sizes", list(sizes), "at least 2 finite sizes > 0")
    if np.ptp(np.log(n)) == 0:
        raise bad_value("sizes", list(sizes), "sizes that are not all equal")
    if t.shape != n.shape or not np.all(np.isfinite(t)) or not np.all(t > 0):
        raise bad_value("seconds", list(seconds), f"{n.size} finite times > 0, one per size")
    x, y = np.log(n), np.log(t)
    x0 = x - x.mean()
    return float((x0 * (y - y.mean())).sum() / (x0 * x0).sum())


def matmul_gflops(device: torch.device | str = "cpu", n: int = 1024, reps: int = 10) -> float:
    """The float32 ``n x n`` matmul rate of this process on ``device`` (GFLOP/s, ``2 n^3`` flops per
    product), best of ``reps`` after one warm-up: the ceiling a dense network's training can reach.
    On CUDA the product is timed with TF32 as this process has it set."""
    integer("n", n, 1)
    integer("reps", reps, 1)
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    best = math.inf
    for r in range(reps + 1):
        sync(device)
        t = time.perf_counter()
        a @ b
        sync(device)
        if r:
            best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def sizes(name: str, values: Sequence[int], minimum: int = 1) -> tuple[int, ...]:
    """A non-empty tuple of distinct integers >= ``minimum``, else the standard ``ValueError``."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or not len(values):
        raise bad_value(name, values, f"a non-empty sequence of integers >= {minimum}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise bad_value(name, values, f"a non-empty sequence of integers >= {minimum}")
    if len(set(values)) != len(values):
        raise bad_value(name, values, "distinct sizes")
    return tuple(int(v) for v in values)
