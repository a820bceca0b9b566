"""LiRA and U-LiRA: per-example likelihood-ratio membership attacks.

LiRA (Carlini et al. 2022, "Membership inference attacks from first principles", arXiv 2112.03570,
Sec. IV): for each example, fit Gaussians to the logit-scaled confidence phi
(``signals.logit_scaled_confidence``) of shadow models that trained on it (IN) and that did not
(OUT), and score a target model's phi by

* online (Eq. 4 with both fits): Lambda = ln N(phi; mu_in, s_in^2) - ln N(phi; mu_out, s_out^2);
* offline (Sec. IV-C, OUT models only, one-sided): Lambda = -ln Pr[Z > phi], Z ~ N(mu_out, s_out^2).

With few shadows (fewer than 64 in the paper, Sec. VI-B) the per-example variances are replaced by
one global variance per group, pooled within examples: sum_i sum_j (phi_ij - mu_i)^2 / sum_i (n_i -
1). (Carlini et al.'s code takes the standard deviation of all IN signals together, which also
counts the spread of the per-example means; the book pools within examples.) Means are sample means,
as in the paper (the code uses medians).

U-LiRA (Hayes et al. 2024, "Inexact unlearning needs more careful evaluations", arXiv 2403.01218,
Sec. 4): the same test with IN replaced by shadows where the example was trained on and then
*unlearned*, and OUT by shadows that *never* trained on it. A perfect unlearning algorithm makes
the two distributions equal and the attack's balanced accuracy 0.5.

Inputs are signal matrices ``(models, examples)`` and boolean masks of the same shape saying which
entries belong to each group; entries in neither group (e.g. retained members in U-LiRA) are
ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from ..config import bad_value
from .attacks import AttackReport, report_from_scores

GLOBAL_VARIANCE_BELOW = (
    64  # Carlini et al. (2022), Sec. VI-B: per-example variances need many shadows
)


def _matrix(name: str, a, shape=None, dtype=float) -> np.ndarray:
    a = np.asarray(a, dtype=dtype)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise bad_value(name, a.shape, "a 2-d (models, examples) array")
    if shape is not None and a.shape != shape:
        raise bad_value(name, a.shape, f"an array of shape {shape}")
    if dtype is float and not np.isfinite(a).all():
        raise bad_value(name, "non-finite values", "finite signals")
    return a


def _mask(name: str, a, shape) -> np.ndarray:
    a = np.asarray(a)
    if a.shape != shape or not np.isin(a, (0, 1, True, False)).all():
        raise bad_value(name, a.shape, f"a 0/1 (boolean) mask of shape {shape}")
    return a.astype(bool)


@dataclass(frozen=True)
class GaussianFits:
    """Per-example means and standard deviations of the positive (IN / unlearned) and negative (OUT
    / never) groups."""

    mu_pos: np.ndarray
    sd_pos: np.ndarray
    mu_neg: np.ndarray
    sd_neg: np.ndarray
    global_variance: bool


def _group(
    s: np.ndarray, m: np.ndarray, need: int, name: str, global_var: bool
) -> tuple[np.ndarray, np.ndarray]:
    n = m.sum(0)
    if (n < need).any():
        bad = np.flatnonzero(n < need)
        raise bad_value(
            name,
            f"examples {bad[:5].tolist()} with {int(n[bad[0]])} models",
            f"at least {need} model(s) per example in this group",
        )
    mu = np.where(m, s, 0.0).sum(0) / np.maximum(n, 1)
    dev = np.where(m, s - mu, 0.0) ** 2
    if global_var:
        dof = (n - 1).clip(min=0).sum()
        var = np.full(s.shape[1], dev.sum() / dof if dof > 0 else 0.0)
    else:
        var = dev.sum(0) / np.maximum(n - 1, 1)
    return mu, np.sqrt(np.maximum(var, 1e-12))


def fit_gaussians(
    signals, pos, neg=None, global_variance: bool | None = None, need_pos: bool = True
) -> GaussianFits:
    """Fit the per-example Gaussians (see the module doc). ``neg`` defaults to ``~pos``;
    ``global_variance=None`` pools variances when the models are fewer than 64."""
    s = _matrix("signals", signals)
    p = _mask("pos", pos, s.shape)
    q = ~p if neg is None else _mask("neg", neg, s.shape)
    if (p & q).any():
        raise bad_value("neg", "entries in both groups", "a mask disjoint from pos")
    gv = s.shape[0] < GLOBAL_VARIANCE_BELOW if global_variance is None else bool(global_variance)
    need = 1 if gv else 2
    mu_q, sd_q = _group(s, q, need, "neg", gv)
    if need_pos:
        mu_p, sd_p = _group(s, p, need, "pos", gv)
    else:
        mu_p, sd_p = np.full_like(mu_q, np.nan), np.full_like(sd_q, np.nan)
    return GaussianFits(mu_p, sd_p, mu_q, sd_q, gv)


def likelihood_ratio(target_signals, fits: GaussianFits, online: bool = True) -> np.ndarray:
    """Lambda for target signals ``(T, N)`` or ``(N,)`` (same examples as the fits); higher =
    member."""
    t = np.asarray(target_signals, dtype=float)
    if t.shape[-1] != len(fits.mu_neg) or t.ndim not in (1, 2) or not np.isfinite(t).all():
        raise bad_value(
            "target_signals",
            t.shape,
            f"finite signals of shape (N,) or (T, N) with N = {len(fits.mu_neg)}",
        )
    if online:
        return norm.logpdf(t, fits.mu_pos, fits.sd_pos) - norm.logpdf(t, fits.mu_neg, fits.sd_neg)
    return -norm.logsf(t, fits.mu_neg, fits.sd_neg)


def lira_scores(
    ref_signals,
    ref_in,
    target_signals,
    ref_out=None,
    online: bool = True,
    global_variance: bool | None = None,
) -> np.ndarray:
    """Fit on reference (shadow) signals and score the targets: :func:`fit_gaussians` then
    :func:`likelihood_ratio`."""
    fits = fit_gaussians(ref_signals, ref_in, ref_out, global_variance, need_pos=online)
    return likelihood_ratio(target_signals, fits, online)


def cross_fit(
    signals,
    pos,
    neg=None,
    online: bool = True,
    global_variance: bool | None = None,
    folds: int | None = None,
) -> np.ndarray:
    """Scores ``(K, N)`` of every model as a target, attacked with shadows from the other folds.

    The K models are cut into ``folds`` contiguous groups (``None``: K folds, i.e. leave-one-out,
    Carlini et al. 2022, Sec. VI-A's evaluation); the targets of one fold are scored by Gaussians
    fitted on all other folds. Leave-one-out is biased *below* chance when the groups are equal in
    distribution (removing the target from its own group moves that group's mean away from it), so
    a null claim such as "U-LiRA is at 0.5 on retrained models" needs held-out folds (``folds=2``).
    """
    s = _matrix("signals", signals)
    p = _mask("pos", pos, s.shape)
    q = ~p if neg is None else _mask("neg", neg, s.shape)
    K = s.shape[0]
    folds = K if folds is None else folds
    if not isinstance(folds, (int, np.integer)) or not 2 <= folds <= K:
        raise bad_value("folds", folds, f"an integer in [2, K = {K}] (or None: leave-one-out)")
    fold_of = np.arange(K) * folds // K
    gv = (
        (K - K // folds) < GLOBAL_VARIANCE_BELOW
        if global_variance is None
        else bool(global_variance)
    )
    out = np.empty_like(s)
    for f in range(folds):
        keep = fold_of != f
        out[~keep] = lira_scores(s[keep], p[keep], s[~keep], q[keep], online, gv)
    return out


@dataclass(frozen=True, eq=False)
class LiraResult:
    """Per-example scores ``(K, N)`` and the attack's report over the (model, example) pairs in
    either group."""

    scores: np.ndarray
    report: AttackReport
    # (N,): AUC of each example's scores across the target models (NaN if one group is empty)
    per_example_auc: np.ndarray


def _per_example_auc(scores: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC of every column: P(score of a positive > score of a negative) + 1/2
    P(tie)."""
    out = np.full(scores.shape[1], math.nan)
    for i in range(scores.shape[1]):
        a, b = scores[p[:, i], i], scores[q[:, i], i]
        if len(a) and len(b):
            out[i] = float(
                ((a[:, None] > b[None, :]).mean() + 0.5 * (a[:, None] == b[None, :]).mean())
            )
    return out


def lira(
    signals,
    in_mask,
    online: bool = True,
    global_variance: bool | None = None,
    folds: int | None = None,
) -> LiraResult:
    """LiRA on K models' signals ``(K, N)`` with IN mask ``(K, N)``, every model a target once
    (:func:`cross_fit`)."""
    s = _matrix("signals", signals)
    p = _mask("in_mask", in_mask, s.shape)
    sc = cross_fit(s, p, ~p, online, global_variance, folds)
    return LiraResult(sc, report_from_scores(sc[p], sc[~p]), _per_example_auc(sc, p, ~p))


@dataclass(frozen=True, eq=False)
class ULiraResult:
    """U-LiRA's per-example scores, report, balanced accuracy at Lambda > 0 and its normal 95 %
    interval."""

    scores: np.ndarray
    report: AttackReport
    balanced_accuracy: float
    interval: tuple[float, float]
    per_example_auc: np.ndarray


def balanced_accuracy(
    pos_scores, neg_scores, threshold: float = 0.0
) -> tuple[float, tuple[float, float]]:
    """(TPR + TNR) / 2 of "member if score > threshold", with a normal 95 % interval (variance
    (TPR(1-TPR)/n_pos + TNR(1-TNR)/n_neg) / 4; counts below 1/2 are continuity-corrected)."""
    a, b = np.asarray(pos_scores, float).ravel(), np.asarray(neg_scores, float).ravel()
    if len(a) < 1 or len(b) < 1:
        raise bad_value("scores", (len(a), len(b)), "at least one score in each group")
    tpr, tnr = float((a > threshold).mean()), float((b <= threshold).mean())
    ta, tb = (
        min(max(tpr, 0.5 / len(a)), 1 - 0.5 / len(a)),
        min(max(tnr, 0.5 / len(b)), 1 - 0.5 / len(b)),
    )
    se = 0.5 * math.sqrt(ta * (1 - ta) / len(a) + tb * (1 - tb) / len(b))
    acc = (tpr + tnr) / 2
    return acc, (acc - 1.96 * se, acc + 1.96 * se)


def ulira(
    signals, unlearned, never, global_variance: bool | None = None, folds: int | None = 2
) -> ULiraResult:
    """U-LiRA over the K models of ``signals (K, N)``, every model a target once, its shadows the
    models of the other folds (:func:`cross_fit`; two folds by default, so the null is unbiased);
    ``unlearned[k, i]``: model k trained on example i and then unlearned it;
    ``never[k, i]``: model k never trained on it. Reports the balanced accuracy of Lambda > 0
    (the likelihood-ratio test at equal priors) and the ROC over the (model, example) pairs.

    The interval of the balanced accuracy treats *examples* as the independent units (the pairs of
    one example share its shadows): mean +- 1.96 sd / sqrt(n) of the per-example balanced
    accuracies,
    over the examples with targets in both groups."""
    s = _matrix("signals", signals)
    u = _mask("unlearned", unlearned, s.shape)
    o = _mask("never", never, s.shape)
    if (u & o).any():
        raise bad_value("never", "entries marked unlearned too", "a mask disjoint from unlearned")
    sc = cross_fit(s, u, o, True, global_variance, folds)
    acc, ci = balanced_accuracy(sc[u], sc[o])
    both = (u.sum(0) > 0) & (o.sum(0) > 0)
    if both.sum() >= 2:
        per = np.array(
            [balanced_accuracy(sc[u[:, i], i], sc[o[:, i], i])[0] for i in np.flatnonzero(both)]
        )
        half = 1.96 * per.std(ddof=1) / math.sqrt(len(per))
        ci = (acc - half, acc + half)
    return ULiraResult(sc, report_from_scores(sc[u], sc[o]), acc, ci, _per_example_auc(sc, u, o))
