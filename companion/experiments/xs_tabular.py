"""Xu & Strohmer's tabular feature-unlearning protocol: utility and leakage along the McCann path.

The unlearning repository has no tabular script; the protocol is the authors' ``test Adult.py``
(xushizhou/fair_data_representation, e080944), which the paper's Adult figures follow
(deviations.md#xs-tabular-protocol). Its departures sit behind switches of
:class:`TabularPathConfig`: maps fitted on the training fold (deviations.md#xs-tabular-fit-on), a
ridge for the singular one-hot covariances (deviations.md#xs-singular-covariance), a seeded
re-binarisation (deviations.md#xs-seeds); the leakage columns are additions
(deviations.md#xs-leakage-audits). The figure is :func:`companion.plotting.xs.pareto_figure`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import bad_value
from ..data.tabular import TabularData, folds, stratified_subsample
from ..methods.base import MethodConfig, positive
from ..metrics.fairness import discrimination, distortion, mi_binned, probe_auc
from ..progress import progress
from ..theory.transport import BARYCENTER_METHODS, FeatureBarycenter


@dataclass(frozen=True)
class TabularPathConfig(MethodConfig):
    """Settings of :func:`tabular_path` (defaults: the grid, folds and classifiers of the authors'
    ``test Adult.py``, with the corrections switched on; QUICK shrinks the grid and the forests).

    n_t : points of ``t`` in linspace(0, 1, n_t) (upstream 50)
    k_folds : cross-validation folds (upstream 5)
    rf_trees : trees of the utility random forest (scikit-learn default 100)
    max_rows : seeded stratified subsample of the table (None: all rows)
    fit_on : 'train' (corrected: maps fitted on each training fold) or 'all' (as coded,
        deviations.md#xs-tabular-fit-on)
    label_transport : 'as_coded' (move E[Y|X_hat] to its 1-D barycenter and re-binarise, as the
        authors' ``test Adult.py`` does) or 'none'
    z_feature : append ``(1 - t) Z`` as a feature (as coded)
    weights, ridge, method : barycenter settings (proportional weights; a ridge for the singular
        one-hot covariances, deviations.md#xs-singular-covariance)
    probe_cv : folds of the leakage probe; mi_bins : k-means cells of the MI estimate
    """

    n_t: int = 50
    k_folds: int = 5
    rf_trees: int = 100
    max_rows: int | None = None
    fit_on: str = "train"
    label_transport: str = "as_coded"
    z_feature: bool = True
    weights: str = "proportional"
    ridge: float = 1e-6
    method: str = "fixed_point"
    probe_cv: int = 3
    mi_bins: int = 16

    QUICK = {"n_t": 5, "k_folds": 3, "rf_trees": 10, "max_rows": 2000}

    def validate(self) -> None:
        for name in ("n_t", "k_folds", "rf_trees", "probe_cv", "mi_bins"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 2:
                raise bad_value(name, v, "an integer >= 2")
        if self.max_rows is not None and (
            not isinstance(self.max_rows, int) or self.max_rows < 100
        ):
            raise bad_value("max_rows", self.max_rows, "None or an integer >= 100")
        if self.fit_on not in ("train", "all"):
            raise bad_value("fit_on", self.fit_on, "'train' (corrected) or 'all' (as coded)")
        if self.label_transport not in ("as_coded", "none"):
            raise bad_value("label_transport", self.label_transport, "'as_coded' or 'none'")
        if self.weights not in ("proportional", "equal"):
            raise bad_value("weights", self.weights, "'proportional' or 'equal'")
        positive("ridge", self.ridge, allow_zero=True)
        if self.method not in BARYCENTER_METHODS:
            raise bad_value("method", self.method, f"one of {BARYCENTER_METHODS}")


def label_scales(
    fb: FeatureBarycenter, x_hat: np.ndarray, y: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-group label scales ``s_z`` of the as-coded label transport (the authors'
    ``test Adult.py``).

    The 1-D barycenter is computed in closed form where that code iterates a fixed point.

    ``v_z = c_z^T Cov(X_hat | z)^+ c_z`` with ``c_z = Cov(Y, X_hat | z)``; the 1-D barycenter of the
    ``v_z`` is ``v_bar = (sum_z p_z sqrt(v_z))^2`` and ``s_z = sqrt(v_bar / v_z)``.

    Returns ``s`` (k,), the group label means ``ybar_z`` (k,) and the pooled mean ``ybar``.
    """
    v, ym = [], []
    for g in fb.groups:
        xg, yg = x_hat[z == g], y[z == g].astype(float)
        c = (xg - xg.mean(0)).T @ (yg - yg.mean()) / max(len(yg) - 1, 1)
        v.append(
            float(c @ np.linalg.pinv(np.atleast_2d(np.cov(xg, rowvar=False)), rcond=1e-10) @ c)
        )
        ym.append(yg.mean())
    v = np.maximum(np.array(v), 1e-12)
    v_bar = float((fb.weights @ np.sqrt(v)) ** 2)
    return np.sqrt(v_bar / v), np.array(ym), float(fb.weights @ np.array(ym))


def transport_labels(
    y: np.ndarray,
    z: np.ndarray,
    groups: np.ndarray,
    s: np.ndarray,
    ym: np.ndarray,
    ybar: float,
    t: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """``Y_t = (1 - t + t s_z) Y + t (ybar - s_z ybar_z)``, re-binarised (the authors'
    ``test Adult.py``; seeded here, deviations.md#xs-seeds).

    The distinct mapped values are min-max scaled to [0, 1] and used as Bernoulli probabilities.
    """
    idx = np.searchsorted(groups, z)
    yt = (1 - t + t * s[idx]) * y + t * (ybar - s[idx] * ym[idx])
    lo, hi = yt.min(), yt.max()
    p = (yt - lo) / (hi - lo) if hi > lo else np.full_like(yt, 0.5)
    return (rng.random(len(yt)) < p).astype(np.int64)


def _utility(xtr, ytr, xte, yte, zte, cfg: TabularPathConfig, seed: int) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    out = {}
    for name, clf in (
        ("lr", LogisticRegression(max_iter=1000)),
        ("rf", RandomForestClassifier(n_estimators=cfg.rf_trees, random_state=seed, n_jobs=1)),
    ):
        if len(np.unique(ytr)) < 2:
            p = np.full(len(yte), float(ytr.mean()))
        else:
            p = clf.fit(xtr, ytr).predict_proba(xte)[:, 1]
        out[f"auc_{name}"] = (
            float(roc_auc_score(yte, p)) if len(np.unique(yte)) == 2 else float("nan")
        )
        out[f"disc_{name}"] = discrimination(p, zte)
    return out


def tabular_path(
    data: TabularData,
    cfg: TabularPathConfig | None = None,
    seed: int = 0,
    profile: str = "quick",
    return_folds: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Utility and leakage along the McCann path, cross-validated (the authors' protocol with the
    switches of deviations.md#xs-tabular-fit-on and deviations.md#xs-singular-covariance).

    For every fold and every ``t`` in linspace(0, 1, n_t): fit the Gaussian barycenter maps (on the
    training fold, or on all rows when ``fit_on='all'``), transform train and test rows to ``X_t``
    (optionally with ``(1 - t) Z`` appended and the labels transported), train logistic regression
    and a random forest on the training fold and score the test fold against the *original* labels
    (ROC-AUC, discrimination). Leakage is measured on each test fold's transformed features ``X_t``
    (maps fitted without them, so the probe's own cross-validation inside the test fold is not
    biased by exact moment matching), *without* the appended ``(1 - t) Z`` column (which reveals Z
    trivially for t < 1; column ``z_in_features`` says when the classifier saw Z): cross-validated
    probe AUC (logistic and forest), binned MI (nats) and the realised L2 distortion. Two baselines:
    ``original`` (Z as a feature; its leakage is that of ``[X, Z]``) and ``drop_z`` (Z column
    removed).

    Returns
    -------
    DataFrame, one row per (point, t): point ('path' | 'original' | 'drop_z'), t, z_in_features, the
    fold means of auc_lr, auc_rf, disc_lr, disc_rf, probe_lr, probe_rf, mi, distortion and their
    ``_std``. ``df.attrs['rows']`` is the number of rows used. With ``return_folds`` also the
    per-fold rows.
    """
    cfg = cfg or TabularPathConfig.resolve(profile)
    data = stratified_subsample(data, cfg.max_rows, seed)
    rng = np.random.default_rng(seed)
    ts = np.linspace(0.0, 1.0, cfg.n_t)
    x, y, z = data.x, data.y, data.z
    rows, leaks = [], []
    for fold, (tr, te) in enumerate(
        progress(folds(data, cfg.k_folds, seed), desc=f"{data.name} folds")
    ):
        fit_idx = tr if cfg.fit_on == "train" else np.arange(len(data))
        fb = FeatureBarycenter.fit(
            x[fit_idx],
            z[fit_idx],
            weights=cfg.weights,
            ridge=cfg.ridge,
            method=cfg.method,
            seed=seed,
        )
        pushed = fb.push(x, z)
        if cfg.label_transport == "as_coded":
            s, ym, ybar = label_scales(fb, pushed[fit_idx], y[fit_idx], z[fit_idx])
        for t in ts:
            xt = (1 - t) * x + t * pushed
            feats = np.column_stack([xt, (1 - t) * z]) if cfg.z_feature else xt
            ytr = (
                transport_labels(y[tr], z[tr], fb.groups, s, ym, ybar, t, rng)
                if cfg.label_transport == "as_coded"
                else y[tr]
            )
            rows.append(
                {
                    "fold": fold,
                    "point": "path",
                    "t": float(t),
                    **_utility(feats[tr], ytr, feats[te], y[te], z[te], cfg, seed),
                }
            )
            leaks.append(
                {
                    "fold": fold,
                    "point": "path",
                    "t": float(t),
                    **_leakage(xt[te], z[te], x[te], cfg, seed),
                }
            )
        row0, leak0 = rows[-len(ts)], leaks[-len(ts)]  # this fold's path at t = 0
        for point, feats in (("original", np.column_stack([x, z])), ("drop_z", x)):
            # identical inputs and labels to the path at t = 0
            if point == "original" and cfg.z_feature:
                rows.append({**row0, "point": "original"})
            else:
                rows.append(
                    {
                        "fold": fold,
                        "point": point,
                        "t": 0.0,
                        **_utility(feats[tr], y[tr], feats[te], y[te], z[te], cfg, seed),
                    }
                )
            # drop_z sees X = X_0
            leak = _leakage(feats[te], z[te], x[te], cfg, seed) if point == "original" else leak0
            leaks.append({**leak, "fold": fold, "point": point, "t": 0.0})
    per_fold = pd.DataFrame(rows).merge(pd.DataFrame(leaks), on=["fold", "point", "t"])
    g = per_fold.drop(columns="fold").groupby(["point", "t"], sort=False)
    out = pd.concat([g.mean(), g.std(ddof=0).add_suffix("_std")], axis=1).reset_index()
    out.insert(2, "z_in_features", [bool(cfg.z_feature and t < 1) for t in ts] + [True, False])
    out.attrs["rows"] = len(data)
    return (out, per_fold) if return_folds else out


def _leakage(
    feats: np.ndarray, z: np.ndarray, x: np.ndarray, cfg: TabularPathConfig, seed: int
) -> dict:
    return {
        "probe_lr": probe_auc(feats, z, "lr", cv=cfg.probe_cv, seed=seed),
        "probe_rf": probe_auc(
            feats, z, "rf", cv=cfg.probe_cv, seed=seed, n_estimators=cfg.rf_trees
        ),
        "mi": mi_binned(feats, z, n_bins=cfg.mi_bins, seed=seed),
        "distortion": distortion(x, feats[:, : x.shape[1]]),
    }
