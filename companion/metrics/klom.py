"""KLoM: KL divergence of margins between unlearned models and retrained oracles, per point.

Rinberg et al., "EasyDUB" (arXiv 2602.16400), following the KLoM of the data-unlearning benchmark:
for one point x, take the true-class margins m(x, y) = z_y - logsumexp_{c != y} z_c
(:func:`companion.metrics.signals.margin`) of N unlearned models (independent runs of the
unlearning algorithm, each from its own original) and of N' oracles retrained without the forget
set; clip both samples to [-100, 100]; cut the combined range of the two samples into 20
equal-width bins; and return KL(unlearned || oracle) of the two histograms, with the oracle's bin
probabilities floored at 1e-5 where the unlearned histogram has mass (so the divergence stays
finite). 0 means that, at x, unlearning is indistinguishable from retraining.

The estimate is biased upwards for finite N (two samples of one distribution rarely give equal
histograms); :func:`klom` on two halves of the oracles measures that floor.
"""

from __future__ import annotations

import numpy as np

from ..config import bad_value

BINS = 20
CLIP = 100.0
FLOOR = 1e-5


def _margins(name: str, a) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise bad_value(name, a.shape, "a 2-d (models, points) array of margins")
    if np.isnan(a).any():
        raise bad_value(name, "NaN values", "margins without NaN (infinities are clipped)")
    return a


def klom(
    unlearned, oracle, bins: int = BINS, clip: float = CLIP, floor: float = FLOOR
) -> np.ndarray:
    """Per-point KLoM ``(P,)`` from margins ``unlearned (N, P)`` and ``oracle (N', P)`` (module
    doc).

    Where both samples are constant and equal after clipping the range is empty and KLoM is 0;
    where they are constant and different the combined range still has two ends and the histograms
    fall in its first and last bins.
    """
    u = _margins("unlearned", unlearned)
    o = _margins("oracle", oracle)
    if u.shape[1] != o.shape[1]:
        raise bad_value("oracle", o.shape, f"margins of the same {u.shape[1]} points as unlearned")
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise bad_value("bins", bins, "a positive integer")
    if not clip > 0:
        raise bad_value("clip", clip, "a number > 0")
    if not 0 < floor < 1:
        raise bad_value("floor", floor, "a number in (0, 1)")
    u, o = np.clip(u, -clip, clip), np.clip(o, -clip, clip)
    lo = np.minimum(u.min(0), o.min(0))
    hi = np.maximum(u.max(0), o.max(0))
    width = np.where(hi > lo, hi - lo, 1.0)

    def hist(a: np.ndarray) -> np.ndarray:
        idx = np.clip(np.floor((a - lo) / width * bins).astype(int), 0, bins - 1)
        h = np.zeros((bins, a.shape[1]))
        np.add.at(h, (idx, np.broadcast_to(np.arange(a.shape[1]), a.shape)), 1.0)
        return h / a.shape[0]

    pu, po = hist(u), hist(o)
    ratio = np.where(pu > 0, pu / np.maximum(po, floor), 1.0)
    return (pu * np.log(ratio)).sum(0)


def summary(values) -> dict[str, float]:
    """Median, 95th and 99th percentiles of per-point KLoM values (the benchmark's report)."""
    v = np.asarray(values, dtype=float).ravel()
    if len(v) == 0 or not np.isfinite(v).all():
        raise bad_value("values", v.shape, "a non-empty array of finite KLoM values")
    return {
        "median": float(np.median(v)),
        "p95": float(np.percentile(v, 95)),
        "p99": float(np.percentile(v, 99)),
    }


def klom_by_split(unlearned: dict, oracle: dict) -> dict[str, dict[str, float]]:
    """:func:`summary` of :func:`klom` for each split (e.g. 'forget', 'retain', 'validation'):
    ``unlearned[split]`` and ``oracle[split]`` are margin arrays ``(models, points)``."""
    if set(unlearned) != set(oracle) or not unlearned:
        raise bad_value(
            "oracle",
            sorted(oracle),
            f"margins for the same splits as unlearned ({sorted(unlearned)})",
        )
    return {k: summary(klom(unlearned[k], oracle[k])) for k in unlearned}
