"""Leakage and fairness audits for feature unlearning (Xu & Strohmer).

The discrimination score is the authors' (``test Adult.py``, xushizhou/fair_data_representation,
e080944); the leakage measures are the companion's additions (deviations.md#xs-leakage-audits).

* :func:`probe_auc`: cross-validated ROC-AUC of a classifier that tries to recover Z from X_hat
  (0.5 = no recoverable information for that probe family);
* :func:`mi_binned`: plug-in mutual information (nats) between Z and a k-means discretisation of
  X_hat;
* :func:`mi_probe`: a variational lower bound ``H(Z) - CE`` from the probe's held-out cross-entropy;
* :func:`discrimination`: the authors' discrimination score
  ``max_{z,z'} |1 - mean_pred_z / mean_pred_z'|``;
* :func:`group_w2`: W2^2 between the groups of X_hat (Gaussian closed form or exact discrete OT);
* :func:`distortion`: realised L2 cost ``mean ||X - X_hat||^2``.

Arrays: ``x`` (n, d) float, ``z`` (n,) integer groups, predictions (n,) in [0, 1].
"""

from __future__ import annotations

import numpy as np

from ..config import bad_value
from ..theory.transport import empirical_w2, w2_gaussian

PROBES = ("lr", "rf")


def _xz(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    z = np.asarray(z)
    if x.ndim != 2 or z.shape != (x.shape[0],):
        raise bad_value(
            "x/z", f"shapes {x.shape} and {z.shape}", "x of shape (n, d) and z of shape (n,)"
        )
    if len(np.unique(z)) < 2:
        raise bad_value("z", "a single group", "at least two groups")
    return x, z


def make_probe(kind: str = "lr", seed: int = 0, n_estimators: int = 100):
    """A scikit-learn probe: 'lr' (standardised logistic regression) or 'rf' (random forest)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "lr":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if kind == "rf":
        return RandomForestClassifier(
            n_estimators=n_estimators, min_samples_leaf=5, random_state=seed, n_jobs=1
        )
    raise bad_value("probe", kind, f"one of {PROBES}")


def probe_proba(
    x: np.ndarray,
    z: np.ndarray,
    kind: str = "lr",
    cv: int = 5,
    seed: int = 0,
    n_estimators: int = 100,
) -> np.ndarray:
    """Out-of-fold class probabilities (n, k) of a probe predicting ``z`` from ``x`` (stratified
    ``cv`` folds)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x, z = _xz(x, z)
    if not (isinstance(cv, int) and cv >= 2):
        raise bad_value("cv", cv, "an integer >= 2")
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    return cross_val_predict(
        make_probe(kind, seed, n_estimators), x, z, cv=folds, method="predict_proba"
    )


def probe_auc(
    x: np.ndarray,
    z: np.ndarray,
    kind: str = "lr",
    cv: int = 5,
    seed: int = 0,
    n_estimators: int = 100,
) -> float:
    """Cross-validated ROC-AUC of a probe recovering Z from X_hat (one-vs-rest macro for k > 2).

    0.5 means the probe family finds no information about Z; 1.0 means Z is fully recoverable.
    """
    from sklearn.metrics import roc_auc_score

    p = probe_proba(x, z, kind, cv, seed, n_estimators)
    groups = np.unique(z)
    if len(groups) == 2:
        return float(roc_auc_score(z == groups[1], p[:, 1]))
    return float(roc_auc_score(z, p, multi_class="ovr", average="macro"))


def entropy_nats(p: np.ndarray) -> float:
    p = np.asarray(p, float)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def mi_probe(
    x: np.ndarray,
    z: np.ndarray,
    kind: str = "lr",
    cv: int = 5,
    seed: int = 0,
    n_estimators: int = 100,
) -> float:
    """Variational lower bound on I(X_hat; Z) in nats: ``H(Z) - CE(probe)``, clipped at 0.

    CE is the held-out (cross-validated) cross-entropy of the probe; any probe gives a lower bound
    (Barber-Agakov), so a value near 0 says *this probe family* extracts no information.
    """
    x, z = _xz(x, z)
    p = probe_proba(x, z, kind, cv, seed, n_estimators)
    groups = np.unique(z)
    idx = np.searchsorted(groups, z)
    ce = float(-np.mean(np.log(np.clip(p[np.arange(len(z)), idx], 1e-12, 1.0))))
    hz = entropy_nats(np.bincount(idx) / len(idx))
    return max(hz - ce, 0.0)


def mi_discrete(codes: np.ndarray, z: np.ndarray, correction: str = "none") -> float:
    """Plug-in mutual information (nats) between two discrete label arrays.

    ``correction='miller_madow'`` subtracts the first-order bias ``(K_xz - K_x - K_z + 1) / (2n)``
    (numbers of non-empty cells), which can make the estimate slightly negative.
    """
    if correction not in ("none", "miller_madow"):
        raise bad_value("correction", correction, "'none' or 'miller_madow'")
    codes, z = np.asarray(codes), np.asarray(z)
    if codes.shape != z.shape or codes.ndim != 1 or len(z) == 0:
        raise bad_value(
            "codes/z",
            f"shapes {codes.shape} and {z.shape}",
            "two 1-D arrays of equal, positive length",
        )
    _, ci = np.unique(codes, return_inverse=True)
    _, zi = np.unique(z, return_inverse=True)
    joint = np.zeros((ci.max() + 1, zi.max() + 1))
    np.add.at(joint, (ci, zi), 1.0)
    n = joint.sum()
    pj = joint / n
    px, pz = pj.sum(1, keepdims=True), pj.sum(0, keepdims=True)
    nz = pj > 0
    mi = float(np.sum(pj[nz] * np.log(pj[nz] / (px @ pz)[nz])))
    if correction == "miller_madow":
        mi -= (nz.sum() - (px > 0).sum() - (pz > 0).sum() + 1) / (2.0 * n)
    return mi


def mi_binned(
    x: np.ndarray, z: np.ndarray, n_bins: int = 16, seed: int = 0, correction: str = "none"
) -> float:
    """Plug-in I(X_hat; Z) in nats after discretising X_hat into ``n_bins`` k-means cells
    (deviations.md#xs-leakage-audits).

    The cells are fitted on the pooled standardised data (seeded), so the estimate is the MI between
    Z and the cell index; it is a lower bound on I(X_hat; Z) up to the plug-in's positive
    finite-sample bias.
    """
    from sklearn.cluster import KMeans

    x, z = _xz(x, z)
    if not (isinstance(n_bins, int) and n_bins >= 2):
        raise bad_value("n_bins", n_bins, "an integer >= 2")
    std = x.std(0)
    xs = (x - x.mean(0)) / np.where(std > 0, std, 1.0)
    codes = KMeans(
        n_clusters=min(n_bins, len(np.unique(xs, axis=0))), n_init=1, random_state=seed
    ).fit_predict(xs)
    return mi_discrete(codes, z, correction)


def discrimination(pred: np.ndarray, z: np.ndarray) -> float:
    """The authors' discrimination score (``test Adult.py``, xushizhou/fair_data_representation,
    e080944).

    ``max_{z != z'} |1 - mean_pred_z / mean_pred_z'|`` with ``mean_pred_z`` the mean predicted
    positive probability in group z. 0 means equal mean predictions (demographic parity of scores).
    """
    pred, z = np.asarray(pred, float), np.asarray(z)
    if pred.shape != z.shape or pred.ndim != 1:
        raise bad_value(
            "pred", f"an array of shape {pred.shape}", f"a 1-D array matching z {z.shape}"
        )
    groups = np.unique(z)
    if len(groups) < 2:
        raise bad_value("z", "a single group", "at least two groups")
    means = np.array([pred[z == g].mean() for g in groups])
    if np.any(means <= 0):
        return float("inf")
    ratio = means[:, None] / means[None, :]
    return float(np.max(np.abs(1.0 - ratio)))


def group_w2(
    x: np.ndarray, z: np.ndarray, method: str = "gaussian", max_samples: int = 1000, seed: int = 0
) -> float:
    """Largest pairwise squared W2 between the groups of ``x``.

    ``method='gaussian'``: closed form between Gaussian fits (sees only means and covariances);
    ``'exact'``: exact discrete OT with POT on at most ``max_samples`` seeded samples per group.
    """
    x, z = _xz(x, z)
    groups = np.unique(z)
    rng = np.random.default_rng(seed)
    parts = []
    for g in groups:
        xg = x[z == g]
        if method == "exact" and len(xg) > max_samples:
            xg = xg[rng.choice(len(xg), max_samples, replace=False)]
        parts.append(xg)
    best = 0.0
    for i in range(len(parts)):
        for j in range(i + 1, len(parts)):
            if method == "gaussian":
                ci = np.atleast_2d(np.cov(parts[i], rowvar=False))
                cj = np.atleast_2d(np.cov(parts[j], rowvar=False))
                val = w2_gaussian(parts[i].mean(0), ci, parts[j].mean(0), cj)
            elif method == "exact":
                val = empirical_w2(parts[i], parts[j])
            else:
                raise bad_value("method", method, "'gaussian' or 'exact'")
            best = max(best, val)
    return best


def distortion(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Realised L2 distortion ``mean_i ||x_i - x_hat_i||^2`` (the L2 utility loss of the barycenter
    theorem, deviations.md#xs-barycenter-theorem)."""
    x, x_hat = np.asarray(x, float), np.asarray(x_hat, float)
    if x.shape != x_hat.shape:
        raise bad_value("x_hat", f"an array of shape {x_hat.shape}", f"the shape of x {x.shape}")
    return float(np.mean(np.sum((x - x_hat).reshape(len(x), -1) ** 2, axis=1)))


def _auc_and_bound(p: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """Probe AUC (one-vs-rest macro for k > 2) and the bound ``H(Z) - CE`` from out-of-fold
    probabilities."""
    from sklearn.metrics import roc_auc_score

    groups = np.unique(z)
    idx = np.searchsorted(groups, z)
    auc = (
        roc_auc_score(idx == 1, p[:, 1])
        if len(groups) == 2
        else roc_auc_score(idx, p, multi_class="ovr", average="macro")
    )
    ce = float(-np.mean(np.log(np.clip(p[np.arange(len(z)), idx], 1e-12, 1.0))))
    return float(auc), max(entropy_nats(np.bincount(idx) / len(idx)) - ce, 0.0)


def leakage_report(
    x: np.ndarray,
    z: np.ndarray,
    seed: int = 0,
    cv: int = 3,
    n_estimators: int = 30,
    mi_bins: int = 16,
    w2_samples: int = 300,
) -> dict[str, float]:
    """All leakage audits of ``x`` about ``z`` at once.

    Keys: probe_lr, probe_rf (cross-validated AUCs), mi_binned, mi_probe_rf (nats; the forest
    probe's ``H(Z) - CE`` bound, from the same out-of-fold predictions), w2_gauss (pairwise W2^2 of
    Gaussian fits), w2_exact (exact discrete W2^2 on at most ``w2_samples`` per group).
    """
    x, z = _xz(x, z)
    auc_lr, _ = _auc_and_bound(probe_proba(x, z, "lr", cv, seed), z)
    auc_rf, bound_rf = _auc_and_bound(probe_proba(x, z, "rf", cv, seed, n_estimators), z)
    return {
        "probe_lr": auc_lr,
        "probe_rf": auc_rf,
        "mi_binned": mi_binned(x, z, mi_bins, seed),
        "mi_probe_rf": bound_rf,
        "w2_gauss": group_w2(x, z, "gaussian"),
        "w2_exact": group_w2(x, z, "exact", w2_samples, seed),
    }
