"""Per-example epsilon from two samples of a signal: the NeurIPS 2023 unlearning challenge's
estimator and a sound (Clopper-Pearson) lower bound.

* :func:`challenge_epsilons`: the challenge scorer's plug-in estimate (Triantafillou et al., "Are we
  making
  progress in unlearning?", arXiv 2406.09073; the organisers' ``metric.py``), on the CPU and
  vectorised. Per example (one column of U, R): orient by the larger median; if the ratio of the two
  ranges is below 1 % return the cap (50); otherwise take the largest eps over two families of
  decision rules, the single threshold (``per_unit`` thresholds per unit of the signal over the
  pooled range, "positive if phi >= t") and the double threshold (the peakier sample is "positive",
  w its range, b = 2: right thresholds over [min + w - b, max + b] at ``per_unit`` per unit, 400
  left thresholds over [r - w - b, r - w + b] each, "positive if l <= phi <= r"). The eps of a rule
  at ``delta`` is max(ln(1 - delta - FPR) - ln FNR, ln(1 - delta - FNR) - ln FPR), clipped below at
  0; a rule with FPR = FNR = 0 gives +inf (perfect separation), a rule with exactly one of them 0 is
  discarded ("too few samples"); the result is clipped to [0, cap]. Rates come from sorted samples
  and ``searchsorted``.
* :func:`challenge_forget_score` / :func:`challenge_final_score`: E_max = ceil(ln(N - 1)) (7 for N =
  512),
  buckets of width 0.5 scoring 1, 1/2, 1/4, ... while the bucket end <= E_max, and 0 at or above
  E_max.
* :func:`empirical_epsilon_lower_bound`: the DP-auditing recipe of Jagielski et al. (2020, arXiv
  2006.07709)
  and Nasr et al. (2021, arXiv 2101.04535): a threshold rule chosen on a selection part of the runs,
  its false positives / negatives counted on the rest, one-sided Clopper-Pearson upper limits at
  alpha/2 each, eps_lb = max(ln((1 - delta - FPR_u) / FNR_u), ln((1 - delta - FNR_u) / FPR_u))
  clipped at 0; it holds with confidence 1 - alpha. The plug-in estimate is biased upward at small
  eps (about 1.6 on identical samples of 512) and must not be compared with a certificate; this
  bound may.

Signals: :func:`companion.metrics.signals.logit_scaled_confidence` with ``variant='challenge'``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..config import bad_value, number_in

DELTA = 1e-5
EPSILON_CAP = 50.0
PER_UNIT = 100
BUFFER = 2.0
BUCKET = 0.5


def _samples(name: str, values, ndim: int) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 1 and ndim == 2:
        a = a[:, None]
    if a.ndim != ndim or a.shape[0] < 2 or a.size == 0:
        shape = "a (models, examples) array" if ndim == 2 else "a 1-d array"
        raise bad_value(name, getattr(a, "shape", a), f"{shape} with at least 2 models")
    if not np.isfinite(a).all():
        raise bad_value(name, "non-finite values", "finite signal values")
    return a


def _check_common(delta: float, cap: float, per_unit: int) -> None:
    number_in("delta", delta, 0.0, 1.0)
    number_in("cap", cap, 0.0)
    if isinstance(per_unit, bool) or not isinstance(per_unit, (int, np.integer)) or per_unit < 1:
        raise bad_value("per_unit", per_unit, "an integer >= 1")


def rule_epsilons(fpr, fnr, delta: float = DELTA) -> np.ndarray:
    """The challenge's eps of each decision rule from its (FPR, FNR): +inf where both are 0, NaN
    (discarded) where exactly one is 0, else max(ln(1 - delta - FPR) - ln FNR, ln(1 - delta - FNR) -
    ln FPR) clipped at 0."""
    fpr, fnr = np.asarray(fpr, dtype=np.float64), np.asarray(fnr, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.fmax(np.log(1 - delta - fpr) - np.log(fnr), np.log(1 - delta - fnr) - np.log(fpr))
    e = np.clip(np.nan_to_num(e, nan=0.0, neginf=0.0), 0.0, None)
    e = np.where((fpr == 0) ^ (fnr == 0), np.nan, e)
    return np.where((fpr == 0) & (fnr == 0), np.inf, e)


def _single_rates(pos: np.ndarray, neg: np.ndarray, per_unit: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = min(pos[0], neg[0]), max(pos[-1], neg[-1])
    t = np.linspace(lo, hi, int(math.ceil((hi - lo) * per_unit)))
    tpr = 1.0 - np.searchsorted(pos, t, side="left") / len(pos)  # fraction with phi >= t
    fpr = 1.0 - np.searchsorted(neg, t, side="left") / len(neg)
    return fpr, 1.0 - tpr


def _double_rates(pos: np.ndarray, neg: np.ndarray, per_unit: int) -> tuple[np.ndarray, np.ndarray]:
    # "positive" is the peakier sample (ties: the negative one)
    if pos[-1] - pos[0] >= neg[-1] - neg[0]:
        pos, neg = neg, pos
    w = pos[-1] - pos[0]
    lo, hi = pos[0] + w - BUFFER, pos[-1] + BUFFER
    right = np.linspace(lo, hi, int(math.ceil((hi - lo) * per_unit)))
    n_left = int(math.ceil(2 * BUFFER * per_unit))
    left = right[:, None] - w + np.linspace(-BUFFER, BUFFER, n_left)[None, :]
    r = np.broadcast_to(right[:, None], left.shape)

    def inside(s: np.ndarray) -> np.ndarray:  # fraction with l <= phi <= r
        return (np.searchsorted(s, r, side="right") - np.searchsorted(s, left, side="left")) / len(
            s
        )

    tpr, fpr = inside(pos), inside(neg)
    return fpr.ravel(), 1.0 - tpr.ravel()


def example_epsilon(
    pos, neg, delta: float = DELTA, cap: float = EPSILON_CAP, per_unit: int = PER_UNIT
) -> float:
    """The challenge's eps of one example from its positive (larger median) and negative samples;
    see the module doc. Two constant samples give 0 if equal, ``cap`` if not; if every rule is
    discarded, 0."""
    pos, neg = (
        np.sort(np.asarray(pos, dtype=np.float64)),
        np.sort(np.asarray(neg, dtype=np.float64)),
    )
    d_pos, d_neg = pos[-1] - pos[0], neg[-1] - neg[0]
    if max(d_pos, d_neg) == 0:
        return 0.0 if pos[0] == neg[0] else float(cap)
    if min(d_pos, d_neg) / max(d_pos, d_neg) < 0.01:  # peakiness cap
        return float(cap)
    eps = np.concatenate(
        [
            rule_epsilons(*_double_rates(pos, neg, per_unit), delta),
            rule_epsilons(*_single_rates(pos, neg, per_unit), delta),
        ]
    )
    kept = eps[~np.isnan(eps)]
    return float(np.clip(kept.max(), 0.0, cap)) if kept.size else 0.0


def challenge_epsilons(
    unlearned, retrained, delta: float = DELTA, cap: float = EPSILON_CAP, per_unit: int = PER_UNIT
) -> np.ndarray:
    """Per-example eps of the challenge from signals U (N_u models x n examples) and R (N_r x n).

    Per column, "positive" is whichever sample has the larger median (the retrained one only when
    its median is strictly larger, as in the scorer). Returns shape (n,), values in [0, cap].
    """
    _check_common(delta, cap, per_unit)
    u, r = _samples("unlearned", unlearned, 2), _samples("retrained", retrained, 2)
    if u.shape[1] != r.shape[1]:
        raise bad_value(
            "retrained",
            r.shape,
            f"an array with {u.shape[1]} columns (one per example, as unlearned)",
        )
    out = np.empty(u.shape[1])
    for i in range(u.shape[1]):
        a, b = u[:, i], r[:, i]
        pos, neg = (b, a) if np.median(b) > np.median(a) else (a, b)
        out[i] = example_epsilon(pos, neg, delta, cap, per_unit)
    return out


def max_measurable_epsilon(n_models: int) -> float:
    """E_max = ceil(ln(N - 1)), the challenge's largest measurable eps (7 for N = 512)."""
    if isinstance(n_models, bool) or not isinstance(n_models, (int, np.integer)) or n_models < 3:
        raise bad_value("n_models", n_models, "an integer >= 3")
    return float(math.ceil(math.log(n_models - 1)))


def bucket_points(eps, n_models: int) -> np.ndarray:
    """Score of each eps: buckets [0, 0.5), [0.5, 1), ... score 1, 1/2, 1/4, ... while the bucket
    end <= E_max; an eps at or above the last bucket's end scores 0."""
    e_max = max_measurable_epsilon(n_models)
    e = np.asarray(eps, dtype=np.float64)
    if np.isnan(e).any() or (e < 0).any():
        raise bad_value("eps", "negative or NaN values", "eps >= 0")
    n_buckets = int(e_max / BUCKET + 1e-9)
    idx = np.floor(e / BUCKET)
    return np.where(idx < n_buckets, 0.5 ** np.minimum(idx, n_buckets), 0.0)


def challenge_forget_score(eps, n_models: int) -> float:
    """F = the mean bucket score over the forget examples (``n_models``: N_u, the number of
    unlearned runs)."""
    return float(np.mean(bucket_points(eps, n_models)))


def challenge_final_score(
    forget_score: float, ra_unlearn: float, ra_retrain: float, ta_unlearn: float, ta_retrain: float
) -> float:
    """F x (RA_unlearn / RA_retrain) x (TA_unlearn / TA_retrain), accuracies averaged over the
    runs."""
    number_in("forget_score", forget_score, 0.0, 1.0, low_open=False, high_open=False)
    for name, v in (("ra_unlearn", ra_unlearn), ("ta_unlearn", ta_unlearn)):
        number_in(name, v, 0.0, 1.0, low_open=False, high_open=False)
    for name, v in (("ra_retrain", ra_retrain), ("ta_retrain", ta_retrain)):
        number_in(name, v, 0.0, 1.0, high_open=False)
    return float(forget_score * (ra_unlearn / ra_retrain) * (ta_unlearn / ta_retrain))


# --------------------------------------------------------------------------------------------
# the sound lower bound
# --------------------------------------------------------------------------------------------


def clopper_pearson_upper(errors, n: int, level: float) -> np.ndarray:
    """One-sided Clopper-Pearson upper limit of an error rate: BetaInv(1 - level; errors + 1, n -
    errors) (1 where errors = n)."""
    k = np.asarray(errors, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        u = stats.beta.ppf(1 - level, k + 1, n - k)
    return np.where(k >= n, 1.0, u)


def epsilon_from_rates(fpr, fnr, delta: float) -> np.ndarray:
    """max(ln((1 - delta - FPR) / FNR), ln((1 - delta - FNR) / FPR)) clipped at 0, for rates in (0,
    1]."""
    fpr, fnr = np.asarray(fpr, dtype=np.float64), np.asarray(fnr, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.maximum(
            np.log(np.clip(1 - delta - fpr, 0, None)) - np.log(fnr),
            np.log(np.clip(1 - delta - fnr, 0, None)) - np.log(fpr),
        )
    return np.clip(np.nan_to_num(e, nan=0.0, neginf=0.0), 0.0, None)


def cp_epsilon(fp, n_neg: int, fn, n_pos: int, delta: float, alpha: float = 0.05) -> np.ndarray:
    """eps_lb of rules with ``fp`` false positives of ``n_neg`` and ``fn`` false negatives of
    ``n_pos``, from Clopper-Pearson upper limits at alpha/2 each (valid at confidence 1 - alpha for
    a rule fixed in advance)."""
    return epsilon_from_rates(
        clopper_pearson_upper(fp, n_neg, alpha / 2),
        clopper_pearson_upper(fn, n_pos, alpha / 2),
        delta,
    )


def _threshold_counts(
    pos: np.ndarray, neg: np.ndarray, t: np.ndarray, upper: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(false positives, false negatives) of "positive if score >= t" (``upper``) or "score <=
    t"."""
    if upper:
        return len(neg) - np.searchsorted(neg, t, "left"), np.searchsorted(pos, t, "left")
    return np.searchsorted(neg, t, "right"), len(pos) - np.searchsorted(pos, t, "right")


def empirical_epsilon_lower_bound(
    pos, neg, delta: float = DELTA, alpha: float = 0.05, selection_split: float = 0.5
) -> dict:
    """A sound (eps, delta) lower bound at confidence 1 - alpha from scores of runs of two
    neighbouring mechanisms.

    ``pos`` / ``neg``: 1-d scores of independent runs on each side (the first ``selection_split`` of
    each selects the rule, the rest evaluates it, so pass them in run order). The rule is a single
    threshold in either direction; the one with the largest Clopper-Pearson eps on the selection
    part is kept, and only its counts on the evaluation part make the bound. Returns eps_lb with the
    chosen threshold, direction, the evaluation counts and their upper limits.
    """
    number_in("delta", delta, 0.0, 1.0)
    number_in("alpha", alpha, 0.0, 1.0)
    number_in("selection_split", selection_split, 0.0, 1.0)
    p, q = _samples("pos", pos, 1), _samples("neg", neg, 1)
    sp, sq = int(round(len(p) * selection_split)), int(round(len(q) * selection_split))
    if min(sp, sq) < 1 or min(len(p) - sp, len(q) - sq) < 1:
        raise bad_value(
            "selection_split",
            selection_split,
            "a fraction leaving at least one run of each side in both parts",
        )
    ps, qs = np.sort(p[:sp]), np.sort(q[:sq])
    pe, qe = np.sort(p[sp:]), np.sort(q[sq:])
    cand = np.unique(np.concatenate([ps, qs]))
    mids = np.concatenate([[cand[0] - 1.0], (cand[:-1] + cand[1:]) / 2, [cand[-1] + 1.0]])
    best = (-1.0, 0.0, True)
    for upper in (True, False):
        fp, fn = _threshold_counts(ps, qs, mids, upper)
        e = cp_epsilon(fp, len(qs), fn, len(ps), delta, alpha)
        i = int(np.argmax(e))
        if e[i] > best[0]:
            best = (float(e[i]), float(mids[i]), upper)
    _, t, upper = best
    fp, fn = _threshold_counts(pe, qe, np.array([t]), upper)
    fpr_u, fnr_u = (
        clopper_pearson_upper(fp, len(qe), alpha / 2),
        clopper_pearson_upper(fn, len(pe), alpha / 2),
    )
    eps = float(epsilon_from_rates(fpr_u, fnr_u, delta)[0])
    return {
        "eps_lb": eps,
        "threshold": t,
        "direction": ">=" if upper else "<=",
        "fp": int(fp[0]),
        "n_neg": len(qe),
        "fn": int(fn[0]),
        "n_pos": len(pe),
        "fpr_upper": float(fpr_u[0]),
        "fnr_upper": float(fnr_u[0]),
        "alpha": alpha,
        "delta": delta,
    }
