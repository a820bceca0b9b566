"""Feature unlearning of a sensitive attribute with more than two groups, under the W2 cost and a
task-aligned Mahalanobis cost: utility and leakage along the McCann path (an open question of Xu
& Strohmer, arXiv 2502.05684; chapter ``xs/09_beyond_w2``).

Three repairs of Adult's one-hot features, all Gaussian (pseudo-)barycenters
(:mod:`companion.theory.multi_marginal`):

* ``two_group_l2``: race binarised (the largest group, White, against all others), as the paper
  does; the W2 barycenter of the two groups;
* ``multi_l2``: all race groups, weights ``P(Z = z)``; the W2 barycenter;
* ``multi_mahalanobis``: all groups, the barycenter under ``c_M(x, y) = (x - y)^T M (x - y)`` with
  ``M = diag(w)`` and ``w`` the features' relevance to the label (:func:`task_metric`).

Every row's repaired features come from maps fitted on the other folds (cross-fitting), so the
utility classifier and the leakage probes are scored on held-out rows. Leakage is always measured
against **all** groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..checks import bad_value, integer, number_in
from ..config import ProfileSetting
from ..data.tabular import TabularData, folds, stratified_subsample
from ..metrics.fairness import discrimination
from ..theory.multi_marginal import GroupBarycenter, group_barycenter, group_moments

VARIANTS = ("two_group_l2", "multi_l2", "multi_mahalanobis")
METRICS = ("logistic", "covariance")


@dataclass(frozen=True)
class MultiGroupSetting(ProfileSetting):
    """What :func:`multigroup_path` runs.

    max_rows : seeded stratified subsample of the table (None: all 32,561 rows of Adult)
    n_t : points of t in linspace(0, 1, n_t);  k_folds : cross-fitting folds
    probe_cv : folds of the leakage probes;  rf_trees : trees of the forest probe
    ridge : added to every group covariance (tiny groups, singular one-hot covariances)
    metric : 'logistic' (w = |coefficients| of a logistic regression of Y on X) or 'covariance'
        (w = |corr(X_j, Y)|), fitted on the training folds
    floor : smallest weight as a share of the largest (keeps M positive definite)
    n_null : permutations of Z giving the leakage probes' no-information level
    n_boot : bootstrap resamples of the paired AUC differences
    """

    max_rows: int | None = None
    n_t: int = 11
    k_folds: int = 5
    probe_cv: int = 5
    rf_trees: int = 100
    ridge: float = 1e-2
    metric: str = "logistic"
    floor: float = 0.05
    n_null: int = 5
    n_boot: int = 500

    QUICK = {
        "max_rows": 5000,
        "n_t": 5,
        "k_folds": 3,
        "probe_cv": 3,
        "rf_trees": 25,
        "n_null": 3,
        "n_boot": 200,
    }
    FULL = {}

    def __post_init__(self) -> None:
        if self.max_rows is not None:
            integer("max_rows", self.max_rows, 200)
        for name in ("n_t", "k_folds", "probe_cv", "rf_trees", "n_null", "n_boot"):
            integer(name, getattr(self, name), 2)
        number_in("ridge", self.ridge, 0.0, low_open=False)
        number_in("floor", self.floor, 0.0, 1.0, high_open=False)
        if self.metric not in METRICS:
            raise bad_value("metric", self.metric, f"one of {METRICS}")


def task_metric(
    x: np.ndarray, y: np.ndarray, kind: str = "logistic", floor: float = 0.05
) -> np.ndarray:
    """Diagonal of the task-aligned ``M``: each feature's relevance to the label, scaled to mean 1.

    'logistic': ``|beta_j|`` of a logistic regression of y on x; 'covariance': ``|corr(x_j, y)|``.
    Weights below ``floor * max`` are raised to it, so ``M`` is positive definite.
    x (n, d), y (n,) -> (d,).
    """
    from sklearn.linear_model import LogisticRegression

    if kind not in METRICS:
        raise bad_value("kind", kind, f"one of {METRICS}")
    number_in("floor", floor, 0.0, 1.0, high_open=False)
    x, y = np.asarray(x, float), np.asarray(y)
    if kind == "logistic":
        raw = np.abs(LogisticRegression(max_iter=2000).fit(x, y).coef_[0])
    else:
        xc, yc = x - x.mean(0), y - y.mean()
        sd = x.std(0) * y.std()
        raw = np.abs(xc.T @ yc / len(y)) / np.where(sd > 0, sd, np.inf)
    if not raw.max() > 0:
        return np.ones(x.shape[1])
    w = np.maximum(raw / raw.max(), floor)
    return w / w.mean()


def fit_variant(
    x: np.ndarray, z: np.ndarray, y: np.ndarray, k: int, variant: str, setting: MultiGroupSetting
) -> tuple[GroupBarycenter, np.ndarray]:
    """Fit one repair on training rows: x (n, d), z (n,) group codes 0..k-1, y (n,) labels.

    Returns the barycenter and the group map (k,) sending a race code to the repair's group index
    (two_group_l2: 1 for the largest group, 0 for all others).
    """
    if variant not in VARIANTS:
        raise bad_value("variant", variant, f"one of {VARIANTS}")
    if variant == "two_group_l2":
        gmap = (np.arange(k) == np.bincount(z, minlength=k).argmax()).astype(np.int64)
    else:
        gmap = np.arange(k)
    kk = int(gmap.max()) + 1
    p, means, covs = group_moments(x, gmap[z], kk, setting.ridge)
    metric = (
        task_metric(x, y, setting.metric, setting.floor) if variant == "multi_mahalanobis" else None
    )
    return group_barycenter(means, covs, p, metric), gmap


def leakage(
    x: np.ndarray, z: np.ndarray, cv: int = 5, rf_trees: int = 100, seed: int = 0
) -> dict[str, float]:
    """How well all groups of ``z`` can be read off ``x`` (n, d), cross-validated.

    probe_bacc : balanced accuracy of a class-balanced multinomial logistic probe (chance 1/k);
    probe_auc : its one-vs-rest macro ROC-AUC (chance 0.5);
    probe_rf_auc : the same AUC for a random-forest probe (class-balanced).
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    split = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    rf = RandomForestClassifier(
        n_estimators=rf_trees,
        min_samples_leaf=5,
        class_weight="balanced",
        random_state=seed,
        n_jobs=1,
    )
    p_lr = cross_val_predict(lr, x, z, cv=split, method="predict_proba")
    p_rf = cross_val_predict(rf, x, z, cv=split, method="predict_proba")
    groups = np.unique(z)

    def auc(p: np.ndarray) -> float:
        if len(groups) == 2:
            return float(roc_auc_score(z == groups[1], p[:, 1]))
        return float(roc_auc_score(z, p, multi_class="ovr", average="macro"))

    return {
        "probe_bacc": float(balanced_accuracy_score(z, groups[p_lr.argmax(1)])),
        "probe_auc": auc(p_lr),
        "probe_rf_auc": auc(p_rf),
    }


@dataclass
class MultiGroupResult:
    """What :func:`multigroup_path` measured.

    path : one row per (variant, t): auc, acc, dp_gap, disc, probe_bacc, probe_auc, probe_rf_auc,
        dist_l2, dist_m (see :func:`multigroup_path`); ``attrs['rows']`` the rows used
    groups : one row per (variant, t, group): n, mean_pred, dp
    null : one row per permutation of Z: the leakage probes on the ``multi_l2`` features at t = 1
        against permuted groups (the no-information level of this protocol)
    pred : (variants, n_t, n) held-out predicted P(Y = 1);  y, z : (n,) labels and group codes
    """

    path: pd.DataFrame
    groups: pd.DataFrame
    null: pd.DataFrame
    pred: np.ndarray
    y: np.ndarray
    z: np.ndarray

    def auc_difference(self, a: str, b: str, t: float = 1.0, n_boot: int = 200, seed: int = 0):
        """``AUC_a - AUC_b`` at ``t`` on the same held-out rows and its paired-bootstrap standard
        deviation (rows resampled, ``n_boot`` times)."""
        from sklearn.metrics import roc_auc_score

        ts = np.sort(self.path.t.unique())
        j = int(np.argmin(np.abs(ts - t)))
        pa, pb = self.pred[VARIANTS.index(a), j], self.pred[VARIANTS.index(b), j]
        rng = np.random.default_rng(seed)
        diffs = []
        for _ in range(integer("n_boot", n_boot, 2)):
            i = rng.integers(0, len(self.y), len(self.y))
            if len(np.unique(self.y[i])) == 2:
                diffs.append(roc_auc_score(self.y[i], pa[i]) - roc_auc_score(self.y[i], pb[i]))
        diff = roc_auc_score(self.y, pa) - roc_auc_score(self.y, pb)
        return float(diff), float(np.std(diffs, ddof=1))


def multigroup_path(
    data: TabularData, setting: MultiGroupSetting, seed: int = 0
) -> MultiGroupResult:
    """Utility and leakage of the three repairs along the McCann path, cross-fitted.

    For each fold: fit every variant (:func:`fit_variant`) on the training rows; for each ``t`` map
    all rows to ``X_t``, train a logistic regression for Y on the training rows' ``X_t`` (original
    labels) and predict the held-out rows. Pooling the held-out rows of all folds gives, per
    (variant, t): ``auc`` and ``acc`` of that classifier, ``dp_gap`` (the largest
    ``|mean prediction in group z - overall mean|``), ``disc`` (the authors' discrimination
    score over all groups), the leakage of :func:`leakage` on the held-out ``X_t`` against all
    groups, and the realised distortions ``dist_l2 = mean |X - X_t|^2`` and
    ``dist_m = mean (X - X_t)^T M (X - X_t)`` (M of the fold's task weights, the same for every
    variant). Returns a :class:`MultiGroupResult`.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    if not isinstance(setting, MultiGroupSetting):
        raise bad_value("setting", type(setting).__name__, "a MultiGroupSetting")
    data = stratified_subsample(data, setting.max_rows, seed)
    x, y, z = data.x, data.y, data.z
    k = int(z.max()) + 1
    ts = np.linspace(0.0, 1.0, setting.n_t)
    n, shape = len(y), (len(VARIANTS), len(ts))
    feats = np.zeros(shape + x.shape)
    pred = np.zeros(shape + (n,))
    dist_m = np.zeros(shape)
    for tr, te in folds(data, setting.k_folds, seed):
        w_fold = task_metric(x[tr], y[tr], setting.metric, setting.floor)
        for i, variant in enumerate(VARIANTS):
            bary, gmap = fit_variant(x[tr], z[tr], y[tr], k, variant, setting)
            for j, t in enumerate(ts):
                xt = bary.push(x, gmap[z], float(t))
                clf = LogisticRegression(max_iter=2000).fit(xt[tr], y[tr])
                feats[i, j, te] = xt[te]
                pred[i, j, te] = clf.predict_proba(xt[te])[:, 1]
                dist_m[i, j] += float(np.sum((x[te] - xt[te]) ** 2 * w_fold)) / n
    rows, group_rows = [], []
    # at t = 0 every variant is the original data: one leakage measurement serves all
    leak0 = leakage(feats[0, 0], z, setting.probe_cv, setting.rf_trees, seed)
    for i, variant in enumerate(VARIANTS):
        for j, t in enumerate(ts):
            p = pred[i, j]
            leak = (
                leak0
                if j == 0
                else leakage(feats[i, j], z, setting.probe_cv, setting.rf_trees, seed)
            )
            gm = np.array([p[z == g].mean() for g in range(k)])
            rows.append(
                {
                    "variant": variant,
                    "t": float(t),
                    "auc": float(roc_auc_score(y, p)),
                    "acc": float(np.mean((p > 0.5) == y)),
                    "dp_gap": float(np.abs(gm - p.mean()).max()),
                    "disc": discrimination(p, z),
                    **leak,
                    "dist_l2": float(np.mean(np.sum((x - feats[i, j]) ** 2, axis=1))),
                    "dist_m": dist_m[i, j],
                }
            )
            group_rows += [
                {
                    "variant": variant,
                    "t": float(t),
                    "group": data.z_names[g],
                    "n": int((z == g).sum()),
                    "mean_pred": float(gm[g]),
                    "dp": float(gm[g] - p.mean()),
                }
                for g in range(k)
            ]
    rng = np.random.default_rng(seed)
    null = pd.DataFrame(
        [
            leakage(feats[1, -1], rng.permutation(z), setting.probe_cv, setting.rf_trees, seed)
            for _ in range(setting.n_null)
        ]
    )
    path = pd.DataFrame(rows)
    path.attrs["rows"] = n
    return MultiGroupResult(path, pd.DataFrame(group_rows), null, pred, y, z)


def dominates(
    path: pd.DataFrame,
    a: str,
    b: str,
    leak: str = "probe_bacc",
    tol_auc: float = 0.0,
    tol_leak: float = 0.0,
) -> bool:
    """Whether variant ``a``'s frontier weakly dominates ``b``'s up to tolerances: every point of
    ``b`` has a point of ``a`` with ``auc >= auc_b - tol_auc`` and ``leak <= leak_b + tol_leak``."""
    pa, pb = path[path.variant == a], path[path.variant == b]
    if pa.empty or pb.empty:
        raise bad_value("a/b", (a, b), f"variants in the path: {sorted(set(path.variant))}")
    if leak not in path.columns:
        raise bad_value("leak", leak, "a leakage column of the path")
    number_in("tol_auc", tol_auc, 0.0, low_open=False)
    number_in("tol_leak", tol_leak, 0.0, low_open=False)
    return bool(
        all(
            ((pa["auc"] >= rb["auc"] - tol_auc) & (pa[leak] <= rb[leak] + tol_leak)).any()
            for _, rb in pb.iterrows()
        )
    )
