"""Feature unlearning by the Wasserstein-2 barycenter (Xu & Strohmer, arXiv 2502.05684; spec 3 and 4).

Feature unlearning acts on *data*, not on a network: the outcome ``X_hat = T_Z(X)`` pushes each group
``{Z = z}`` onto the W2 barycenter of the groups, and ``X_t = (1 - t) X + t T_Z(X)`` moves part of the
way along the McCann path (partial unlearning). Three entry points:

* :func:`companion.theory.transport.feature_barycenter` / :class:`~companion.theory.transport.FeatureBarycenter`
  work directly on arrays ``(X, Z) -> X_hat`` (what the chapters use);
* :func:`tabular_path` runs the authors' tabular protocol (spec 4.2) with the corrections of spec 4.4
  behind switches, returning utility and leakage along the path, per fold;
* the registered method ``"barycenter"`` is the harness contract for image tasks. The feature Z is a
  binary visual attribute computed from the pixels (:func:`pixel_attribute`, thresholded at its
  training median), so it is available at prediction time. The method fits the Gaussian
  (pseudo-)barycenter maps on the task's training inputs (in a PCA subspace when ``n_components`` is
  set), installs them as a preprocessing submodule ``model.feature_unlearning`` run by a forward
  pre-hook (so every later forward sees ``X_t`` instead of ``X``), and, with ``retrain=True``
  (default), retrains the network from a fresh initialisation on the transformed training data:
  the learning outcome is then a function of ``X_t`` only. The input model and task are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import bad_value
from ..data.tabular import TabularData, folds
from ..data.tasks import Split, Task
from ..metrics.fairness import discrimination, mi_binned, probe_auc
from ..models.nets import build
from ..theory.transport import BARYCENTER_METHODS, FeatureBarycenter, check_t
from ..training import TrainRecipe, fit, progress, recipe_for
from .base import MethodConfig, positive, register

ATTRIBUTES = ("ink", "slant", "height")
WEIGHTS = ("proportional", "equal", "midpoint")


# --------------------------------------------------------------------------------------------
# Pixel attributes (the QUICK stand-in for CelebA's Smiling / Male; datasets spec 5.2)
# --------------------------------------------------------------------------------------------


def pixel_attribute(x: torch.Tensor | np.ndarray, name: str = "ink") -> np.ndarray:
    """A scalar visual attribute per image, computed from the pixels.

    Parameters
    ----------
    x : (n, C, H, W) or (n, H, W) images (any affine intensity scaling; channels are averaged)
    name : {'ink', 'slant', 'height'}
        'ink': mean intensity minus the image's border level (stroke thickness / amount of ink);
        'slant': the shear ``cov(row, col) / var(row)`` of the intensity mass (sign = lean direction);
        'height': the vertical extent (standard deviation of the row coordinate of the mass).

    Returns
    -------
    (n,) float64 array
    """
    if name not in ATTRIBUTES:
        raise bad_value("feature", name, f"one of {ATTRIBUTES}")
    a = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).double()
    if a.ndim == 4:
        a = a.mean(1)
    if a.ndim != 3:
        raise bad_value("x", f"an array of shape {tuple(a.shape)}", "images of shape (n, C, H, W) or (n, H, W)")
    base = a[:, 0, :].mean(1)  # top row: background level (images are normalised or in [0, 1])
    w = (a - base[:, None, None]).clamp_min(0)
    if name == "ink":
        return w.mean((1, 2)).numpy()
    n, h, wd = w.shape
    mass = w.sum((1, 2)).clamp_min(1e-12)
    r = torch.arange(h, dtype=torch.float64)[None, :, None]
    c = torch.arange(wd, dtype=torch.float64)[None, None, :]
    mr = (w * r).sum((1, 2)) / mass
    mc = (w * c).sum((1, 2)) / mass
    var_r = (w * (r - mr[:, None, None]) ** 2).sum((1, 2)) / mass
    if name == "height":
        return var_r.sqrt().numpy()
    cov = (w * (r - mr[:, None, None]) * (c - mc[:, None, None])).sum((1, 2)) / mass
    return (cov / var_r.clamp_min(1e-12)).numpy()


def weights_for(choice: str, z: np.ndarray) -> np.ndarray | str:
    """Barycenter weights: 'proportional' (P(Z=z)), 'equal', or 'midpoint' (the CelebA code's fixed 0.5, defect D3)."""
    if choice not in WEIGHTS:
        raise bad_value("weights", choice, f"one of {WEIGHTS}")
    if choice == "midpoint":
        k = len(np.unique(z))
        if k != 2:
            raise bad_value("weights", choice, "'proportional' or 'equal' when Z has more than two groups")
        return np.array([0.5, 0.5])
    return choice


# --------------------------------------------------------------------------------------------
# The preprocessing module installed on the model
# --------------------------------------------------------------------------------------------


class BarycenterPreprocess(nn.Module):
    """``x -> X_t`` on normalised image batches: Z from the pixels, then the group's affine map.

    With a PCA basis ``U`` (D, k) the Gaussian maps act on the coefficients ``U^T (x - mu)`` and the
    residual ``x - mu - U U^T (x - mu)`` is shifted to the pooled residual mean (the Gaussian map when
    the residual covariances are equal); without PCA, ``U`` is the identity.

    Buffers: ``mu`` (D,), ``basis`` (D, k), ``means`` (G, k), ``m_bar`` (k,), ``maps`` (G, k, k),
    ``res_shift`` (G, D), ``threshold`` (), ``t`` ().
    """

    def __init__(self, shape: tuple[int, ...], feature: str, threshold: float, fb: FeatureBarycenter,
                 mu: np.ndarray, basis: np.ndarray | None, res_shift: np.ndarray, t: float) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.feature = feature
        d = int(np.prod(shape))
        f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)
        self.register_buffer("mu", f(mu))
        self.register_buffer("basis", f(np.eye(d) if basis is None else basis))
        self.register_buffer("means", f(fb.means))
        self.register_buffer("m_bar", f(fb.m_bar))
        self.register_buffer("maps", f(fb.maps))
        self.register_buffer("res_shift", f(res_shift))
        self.register_buffer("threshold", torch.tensor(float(threshold), dtype=torch.float64))
        self.register_buffer("t", torch.tensor(float(t)))

    def group(self, x: torch.Tensor) -> torch.Tensor:
        """Z in {0, 1}: the pixel attribute above its training median; x (n, *shape) -> (n,)."""
        attr = torch.as_tensor(pixel_attribute(x.detach().cpu(), self.feature), device=x.device)
        return (attr > self.threshold).long()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.group(x)
        flat = x.reshape(len(x), -1)
        centred = flat - self.mu
        coef = centred @ self.basis
        resid = centred - coef @ self.basis.T
        a = self.maps[z]  # (n, k, k)
        mapped = self.m_bar + torch.einsum("nij,nj->ni", a, coef - self.means[z])
        target = self.mu + mapped @ self.basis.T + resid + self.res_shift[z]
        return ((1 - self.t) * flat + self.t * target).reshape(x.shape)


def _pre_hook(module: nn.Module, args: tuple) -> tuple:
    return (module.feature_unlearning(args[0]),) + tuple(args[1:])


def install(model: nn.Module, pre: BarycenterPreprocess) -> nn.Module:
    """Make ``pre`` run on every input of ``model`` (in place), as the submodule ``feature_unlearning``.

    For ``nn.Sequential`` it becomes the first stage (other layers keep their names and state-dict
    keys); other modules get it as a submodule run by a forward pre-hook.
    """
    if hasattr(model, "feature_unlearning"):
        raise ValueError("this model already has a feature_unlearning stage; unlearn from the original model")
    if isinstance(model, nn.Sequential):
        old = list(model._modules.items())
        model._modules.clear()
        model._modules["feature_unlearning"] = pre
        model._modules.update(old)
    else:
        model.add_module("feature_unlearning", pre)
        model.register_forward_pre_hook(_pre_hook)
    return model


def fit_image_barycenter(x: torch.Tensor, feature: str = "ink", t: float = 1.0, weights: str = "proportional",
                         n_components: int | None = 32, ridge: float = 1e-3, method: str = "fixed_point",
                         seed: int = 0, quantile: float = 0.5) -> tuple[BarycenterPreprocess, dict]:
    """Fit :class:`BarycenterPreprocess` on normalised images ``x`` (n, C, H, W).

    Z = 1 where the pixel attribute exceeds its ``quantile`` on ``x`` (0.5: the median, balanced groups).

    Returns the module and a log with the threshold, the group weights, the barycenter's fixed-point
    log and the closed-form cost ``sum_z p_z W2^2`` in the mapped coordinates.
    """
    t = check_t(t)
    if not 0.0 < float(quantile) < 1.0:
        raise bad_value("quantile", quantile, "a number in (0, 1)")
    attr = pixel_attribute(x, feature)
    thr = float(np.quantile(attr, quantile))
    z = (attr > thr).astype(np.int64)
    flat = x.reshape(len(x), -1).double().numpy()
    mu = flat.mean(0)
    centred = flat - mu
    basis = None
    if n_components is not None:
        k = min(n_components, flat.shape[1], len(flat) - 1)
        _, _, vt = np.linalg.svd(centred[np.random.default_rng(seed).permutation(len(flat))[:4000]], full_matrices=False)
        basis = vt[:k].T
    coef = centred if basis is None else centred @ basis
    fb = FeatureBarycenter.fit(coef, z, weights=weights_for(weights, z), ridge=ridge, method=method, seed=seed)
    if basis is None:
        res_shift = np.zeros((len(fb.groups), flat.shape[1]))
    else:
        resid = centred - coef @ basis.T
        res_means = np.stack([resid[z == g].mean(0) for g in fb.groups])
        res_shift = fb.weights @ res_means - res_means
    pre = BarycenterPreprocess(tuple(x.shape[1:]), feature, thr, fb, mu, basis, res_shift, t)
    return pre, {"threshold": thr, "weights": fb.weights.tolist(), "fixed_point": fb.log, "w2_cost": fb.cost(),
                 "n_components": None if basis is None else basis.shape[1]}


# --------------------------------------------------------------------------------------------
# The registered method
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BarycenterConfig(MethodConfig):
    """Settings of the ``barycenter`` method.

    t : McCann position in [0, 1] (1: the barycenter, full feature unlearning; 0: no change)
    feature : the pixel attribute playing Z (:data:`ATTRIBUTES`)
    weights : 'proportional' (P(Z=z), the theorem), 'equal', or 'midpoint' (the CelebA code's 0.5)
    n_components : PCA dimension of the Gaussian maps (None: all pixels)
    ridge : added to group covariances (singular pixel covariances)
    method : barycenter fixed point, 'fixed_point' or 'as_coded'
    retrain : retrain the network from a fresh initialisation on the transformed training inputs
    epochs : epochs of that retraining (None: the task's recipe)
    """

    t: float = 1.0
    feature: str = "ink"
    weights: str = "proportional"
    n_components: int | None = 64
    ridge: float = 1e-3
    method: str = "fixed_point"
    retrain: bool = True
    epochs: int | None = None

    QUICK = {"n_components": 32}

    def validate(self) -> None:
        check_t(self.t)
        if self.feature not in ATTRIBUTES:
            raise bad_value("feature", self.feature, f"one of {ATTRIBUTES}")
        if self.weights not in WEIGHTS:
            raise bad_value("weights", self.weights, f"one of {WEIGHTS}")
        if self.n_components is not None and (isinstance(self.n_components, bool) or not isinstance(self.n_components, int) or self.n_components < 1):
            raise bad_value("n_components", self.n_components, "None or a positive integer")
        positive("ridge", self.ridge, allow_zero=True)
        if self.method not in BARYCENTER_METHODS:
            raise bad_value("method", self.method, f"one of {BARYCENTER_METHODS}")
        if self.epochs is not None and (isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1):
            raise bad_value("epochs", self.epochs, "None or a positive integer")


def mapped_split(split: Split, pre: BarycenterPreprocess, batch_size: int = 1024) -> Split:
    """A copy of ``split`` whose stored samples are the transformed inputs (normalisation undone)."""
    with torch.no_grad():
        parts = [pre(xb) for xb, _ in split.batches(batch_size)]
    xn = torch.cat(parts) if parts else split.prepare(split.x)
    shape = (1, -1) + (1,) * (xn.ndim - 2)
    raw = xn * split.std.view(shape) + split.mean.view(shape)
    return Split(raw.float(), split.y, split.mean, split.std, split.fine, split.index)


@register("barycenter", BarycenterConfig, zero_shot=False, paper="xs",
          description="feature unlearning: map the data onto the W2 barycenter of the Z-groups (McCann t), retrain")
def barycenter(model: nn.Module, task: Task, cfg: BarycenterConfig, *, seed: int, device, profile: str, **_) -> dict:
    """Install the barycenter map on ``model`` and (by default) retrain it on ``X_t`` (module docstring)."""
    xn = task.train.prepare(task.train.x)
    pre, log = fit_image_barycenter(xn, cfg.feature, cfg.t, cfg.weights, cfg.n_components, cfg.ridge, cfg.method, seed)
    arch = getattr(model, "companion_arch", None)
    if cfg.retrain:
        if arch is None:
            raise ValueError("barycenter with retrain=True needs a model built by companion.models.build")
        recipe: TrainRecipe = recipe_for(task.name, arch, profile)
        if cfg.epochs is not None:
            recipe = recipe.with_(epochs=cfg.epochs)
        fresh = build(arch, task.input_shape, task.num_classes, 20_000 + seed).to(device)
        fit(fresh, mapped_split(task.train, pre), recipe, seed=seed, device=device, desc="barycenter retrain")
        model.load_state_dict(fresh.state_dict())
        log["epochs"] = recipe.epochs
    install(model, pre.to(device))
    log["retrained"] = cfg.retrain
    return log


# --------------------------------------------------------------------------------------------
# The tabular protocol (spec 4.2, corrections of 4.4 behind switches)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TabularPathConfig(MethodConfig):
    """Settings of :func:`tabular_path` (spec 4.2 as defaults; QUICK shrinks the grid and the forests).

    n_t : points of ``t`` in linspace(0, 1, n_t) (upstream 50)
    k_folds : cross-validation folds (upstream 5)
    rf_trees : trees of the utility random forest (scikit-learn default 100)
    max_rows : seeded stratified subsample of the table (None: all rows)
    fit_on : 'train' (corrected: maps fitted on each training fold) or 'all' (as coded, defect D6)
    label_transport : 'as_coded' (move E[Y|X_hat] to its 1-D barycenter and re-binarise, spec 4.2 step 4)
        or 'none'
    z_feature : append ``(1 - t) Z`` as a feature (as coded)
    weights, ridge, method : barycenter settings (proportional weights, ridge for singular one-hot covariances)
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
        if self.max_rows is not None and (not isinstance(self.max_rows, int) or self.max_rows < 100):
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


def label_scales(fb: FeatureBarycenter, x_hat: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-group label scales ``s_z`` of the as-coded label transport (spec 4.2 step 4).

    ``v_z = c_z^T Cov(X_hat | z)^+ c_z`` with ``c_z = Cov(Y, X_hat | z)``; the 1-D barycenter of the
    ``v_z`` is ``v_bar = (sum_z p_z sqrt(v_z))^2`` and ``s_z = sqrt(v_bar / v_z)``.

    Returns ``s`` (k,), the group label means ``ybar_z`` (k,) and the pooled mean ``ybar``.
    """
    v, ym = [], []
    for g in fb.groups:
        xg, yg = x_hat[z == g], y[z == g].astype(float)
        c = (xg - xg.mean(0)).T @ (yg - yg.mean()) / max(len(yg) - 1, 1)
        v.append(float(c @ np.linalg.pinv(np.atleast_2d(np.cov(xg, rowvar=False)), rcond=1e-10) @ c))
        ym.append(yg.mean())
    v = np.maximum(np.array(v), 1e-12)
    v_bar = float((fb.weights @ np.sqrt(v)) ** 2)
    return np.sqrt(v_bar / v), np.array(ym), float(fb.weights @ np.array(ym))


def transport_labels(y: np.ndarray, z: np.ndarray, groups: np.ndarray, s: np.ndarray, ym: np.ndarray, ybar: float,
                     t: float, rng: np.random.Generator) -> np.ndarray:
    """``Y_t = (1 - t + t s_z) Y + t (ybar - s_z ybar_z)``, re-binarised (spec 4.2 steps 4-5, seeded).

    The distinct mapped values are min-max scaled to [0, 1] and used as Bernoulli probabilities.
    """
    idx = np.searchsorted(groups, z)
    yt = (1 - t + t * s[idx]) * y + t * (ybar - s[idx] * ym[idx])
    lo, hi = yt.min(), yt.max()
    p = (yt - lo) / (hi - lo) if hi > lo else np.full_like(yt, 0.5)
    return (rng.random(len(yt)) < p).astype(np.int64)


def _subsample(data: TabularData, max_rows: int | None, seed: int) -> TabularData:
    if max_rows is None or len(data) <= max_rows:
        return data
    from sklearn.model_selection import train_test_split

    strata = data.y * (int(data.z.max()) + 1) + data.z
    idx, _ = train_test_split(np.arange(len(data)), train_size=max_rows, stratify=strata, random_state=seed)
    return data.subset(np.sort(idx))


def _utility(xtr, ytr, xte, yte, zte, cfg: TabularPathConfig, seed: int) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    out = {}
    for name, clf in (("lr", LogisticRegression(max_iter=1000)), ("rf", RandomForestClassifier(n_estimators=cfg.rf_trees, random_state=seed, n_jobs=1))):
        if len(np.unique(ytr)) < 2:
            p = np.full(len(yte), float(ytr.mean()))
        else:
            p = clf.fit(xtr, ytr).predict_proba(xte)[:, 1]
        out[f"auc_{name}"] = float(roc_auc_score(yte, p)) if len(np.unique(yte)) == 2 else float("nan")
        out[f"disc_{name}"] = discrimination(p, zte)
    return out


def tabular_path(data: TabularData, cfg: TabularPathConfig | None = None, seed: int = 0, profile: str = "quick",
                 return_folds: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Utility and leakage along the McCann path, cross-validated (spec 4.2 with the 4.4 switches).

    For every fold and every ``t`` in linspace(0, 1, n_t): fit the Gaussian barycenter maps (on the
    training fold, or on all rows when ``fit_on='all'``), transform train and test rows to ``X_t``
    (optionally with ``(1 - t) Z`` appended and the labels transported), train logistic regression and
    a random forest on the training fold and score the test fold against the *original* labels
    (ROC-AUC, discrimination). Leakage is measured on each test fold's transformed features ``X_t``
    (maps fitted without them, so the probe's own cross-validation inside the test fold is not biased
    by exact moment matching), *without* the appended ``(1 - t) Z`` column (which reveals Z trivially
    for t < 1; column ``z_in_features`` says when the classifier saw Z): cross-validated probe AUC
    (logistic and forest), binned MI (nats) and the realised L2 distortion. Two baselines: ``original`` (Z as a feature; its leakage is
    that of ``[X, Z]``) and ``drop_z`` (Z column removed).

    Returns
    -------
    DataFrame, one row per (point, t): point ('path' | 'original' | 'drop_z'), t, z_in_features, the
    fold means of auc_lr, auc_rf, disc_lr, disc_rf, probe_lr, probe_rf, mi, distortion and their
    ``_std``. ``df.attrs['rows']`` is the number of rows used. With ``return_folds`` also the
    per-fold rows.
    """
    cfg = cfg or TabularPathConfig.resolve(profile)
    data = _subsample(data, cfg.max_rows, seed)
    rng = np.random.default_rng(seed)
    ts = np.linspace(0.0, 1.0, cfg.n_t)
    x, y, z = data.x, data.y, data.z
    rows, leaks = [], []
    for fold, (tr, te) in enumerate(progress(folds(data, cfg.k_folds, seed), desc=f"{data.name} folds")):
        fit_idx = tr if cfg.fit_on == "train" else np.arange(len(data))
        fb = FeatureBarycenter.fit(x[fit_idx], z[fit_idx], weights=cfg.weights, ridge=cfg.ridge, method=cfg.method, seed=seed)
        pushed = fb.push(x, z)
        if cfg.label_transport == "as_coded":
            s, ym, ybar = label_scales(fb, pushed[fit_idx], y[fit_idx], z[fit_idx])
        for t in ts:
            xt = (1 - t) * x + t * pushed
            feats = np.column_stack([xt, (1 - t) * z]) if cfg.z_feature else xt
            ytr = transport_labels(y[tr], z[tr], fb.groups, s, ym, ybar, t, rng) if cfg.label_transport == "as_coded" else y[tr]
            rows.append({"fold": fold, "point": "path", "t": float(t), **_utility(feats[tr], ytr, feats[te], y[te], z[te], cfg, seed)})
            leaks.append({"fold": fold, "point": "path", "t": float(t), **_leakage(xt[te], z[te], x[te], cfg, seed)})
        row0, leak0 = rows[-len(ts)], leaks[-len(ts)]  # this fold's path at t = 0
        for point, feats in (("original", np.column_stack([x, z])), ("drop_z", x)):
            if point == "original" and cfg.z_feature:  # identical inputs and labels to the path at t = 0
                rows.append({**row0, "point": "original"})
            else:
                rows.append({"fold": fold, "point": point, "t": 0.0, **_utility(feats[tr], y[tr], feats[te], y[te], z[te], cfg, seed)})
            leak = _leakage(feats[te], z[te], x[te], cfg, seed) if point == "original" else leak0  # drop_z sees X = X_0
            leaks.append({**leak, "fold": fold, "point": point, "t": 0.0})
    per_fold = pd.DataFrame(rows).merge(pd.DataFrame(leaks), on=["fold", "point", "t"])
    g = per_fold.drop(columns="fold").groupby(["point", "t"], sort=False)
    out = pd.concat([g.mean(), g.std(ddof=0).add_suffix("_std")], axis=1).reset_index()
    out.insert(2, "z_in_features", [bool(cfg.z_feature and t < 1) for t in ts] + [True, False])
    out.attrs["rows"] = len(data)
    return (out, per_fold) if return_folds else out


def _leakage(feats: np.ndarray, z: np.ndarray, x: np.ndarray, cfg: TabularPathConfig, seed: int) -> dict:
    from ..metrics.fairness import distortion

    return {
        "probe_lr": probe_auc(feats, z, "lr", cv=cfg.probe_cv, seed=seed),
        "probe_rf": probe_auc(feats, z, "rf", cv=cfg.probe_cv, seed=seed, n_estimators=cfg.rf_trees),
        "mi": mi_binned(feats, z, n_bins=cfg.mi_bins, seed=seed),
        "distortion": distortion(x, feats[:, : x.shape[1]]),
    }


def pareto_figure(paths: dict[str, pd.DataFrame], reference: dict[str, tuple[list[float], list[float]]] | None = None):
    """AUC-versus-discrimination figure of :func:`tabular_path` results (spec 4.2 step 8).

    ``paths`` maps a table name to its :func:`tabular_path` frame; one row of panels per table, one
    column per classifier (LR, RF): the McCann path (line, coloured by t), the ``original`` and
    ``drop_z`` baselines, and optional ``reference`` points ``{label: (discriminations, aucs)}``
    (drawn on the first table only). Returns a matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    from ..plotting import house_style

    with house_style():
        fig, axes = plt.subplots(len(paths), 2, figsize=(8, 2.8 * len(paths)), squeeze=False)
        for r, (name, df) in enumerate(paths.items()):
            path = df[df.point == "path"]
            for c, clf in enumerate(("lr", "rf")):
                ax = axes[r, c]
                ax.plot(path[f"disc_{clf}"], path[f"auc_{clf}"], "-", color="0.6", zorder=1)
                sc = ax.scatter(path[f"disc_{clf}"], path[f"auc_{clf}"], c=path["t"], cmap="viridis", zorder=2, label="McCann path")
                for point, marker in (("original", "s"), ("drop_z", "D")):
                    row = df[df.point == point]
                    ax.scatter(row[f"disc_{clf}"], row[f"auc_{clf}"], marker=marker, s=40, color="C3" if point == "original" else "C1",
                               label="Z as a feature" if point == "original" else "Z column dropped", zorder=3)
                if reference and r == 0:
                    for label, (disc, auc) in reference.items():
                        ax.scatter(disc, auc, marker="x", color="k", label=label, zorder=3)
                ax.set(xlabel="discrimination", ylabel="ROC-AUC", title=f"{name}, {clf.upper()}")
            fig.colorbar(sc, ax=axes[r, 1], label="t")
        axes[0, 0].legend(fontsize=7, loc="lower right")
        fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Images: CelebA attribute groups (FULL) and neural optimal transport (spec section 5)
# --------------------------------------------------------------------------------------------

CELEBA_ATTRS = ("Smiling", "Male")


def celeba_attribute_images(root, attr: str = "Smiling", size: int = 64, split: str = "train", max_images: int | None = None,
                            crop: int = 140) -> tuple[torch.Tensor, np.ndarray]:
    """CelebA images and a binary attribute, read from torchvision's on-disk layout (FULL profile).

    Expects ``root/celeba/img_align_celeba/*.jpg``, ``root/celeba/list_attr_celeba.txt`` and
    ``root/celeba/list_eval_partition.txt`` (the files ``torchvision.datasets.CelebA`` downloads).
    Images are centre-cropped to ``crop`` pixels and resized to ``size`` (the usual CelebA-64
    preprocessing; the authors' exact crop is unverified, spec 5).

    Returns
    -------
    x : (n, 3, size, size) float32 in [0, 1]; z : (n,) int64, 1 where ``attr`` is +1
    """
    from pathlib import Path

    from PIL import Image

    if attr not in CELEBA_ATTRS:
        raise bad_value("attr", attr, f"one of {CELEBA_ATTRS}")
    splits = {"train": 0, "valid": 1, "test": 2}
    if split not in splits:
        raise bad_value("split", split, f"one of {tuple(splits)}")
    base = Path(root) / "celeba"
    need = [base / "list_attr_celeba.txt", base / "list_eval_partition.txt", base / "img_align_celeba"]
    missing = [str(p) for p in need if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"CelebA not found: missing {missing}. Place torchvision's CelebA files under DATA_ROOT/celeba/ "
            "(img_align_celeba/*.jpg, list_attr_celeba.txt, list_eval_partition.txt), e.g. with "
            "torchvision.datasets.CelebA(DATA_ROOT, download=True) on a machine with internet."
        )
    lines = (base / "list_attr_celeba.txt").read_text().split("\n")
    names = lines[1].split()
    col = names.index(attr)
    attrs = {}
    for line in lines[2:]:
        parts = line.split()
        if parts:
            attrs[parts[0]] = int(parts[1 + col])
    part = dict(line.split() for line in (base / "list_eval_partition.txt").read_text().split("\n") if line.strip())
    files = sorted(f for f, s in part.items() if int(s) == splits[split] and f in attrs)
    if max_images is not None:
        files = files[:max_images]
    if not files:
        raise bad_value("split", split, "a split with at least one image in list_eval_partition.txt")
    imgs = []
    for f in progress(files, desc=f"CelebA {split}"):
        im = Image.open(base / "img_align_celeba" / f).convert("RGB")
        w, h = im.size
        c = min(crop, w, h)
        left, top = (w - c) // 2, (h - c) // 2
        im = im.crop((left, top, left + c, top + c)).resize((size, size), Image.BILINEAR)
        imgs.append(torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1))
    z = np.array([attrs[f] == 1 for f in files], dtype=np.int64)
    return torch.stack(imgs), z


class _Scaled(nn.Module):
    """``x -> scale * net(x / scale)``."""

    def __init__(self, net: nn.Module, scale: float) -> None:
        super().__init__()
        self.net = net
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.net(x / self.scale)


class _ResidualMLP(nn.Module):
    def __init__(self, dim: int, hidden: int, out: int | None = None) -> None:
        super().__init__()
        self.out = out
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out or dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(len(x), -1)
        y = self.net(flat)
        return y.squeeze(1) if self.out == 1 else (flat + y).reshape(x.shape)


class _UNet(nn.Module):
    """A small UNet (3 -> 3 channels, two down/up levels, ``base`` channels), residual output."""

    def __init__(self, channels: int, base: int) -> None:
        super().__init__()
        c = channels
        block = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.GroupNorm(8, o), nn.SiLU(), nn.Conv2d(o, o, 3, padding=1), nn.SiLU())
        self.d1, self.d2, self.mid = block(c, base), block(base, 2 * base), block(2 * base, 4 * base)
        self.u2, self.u1 = block(6 * base, 2 * base), block(3 * base, base)
        self.out = nn.Conv2d(base, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = self.d1(x)
        h2 = self.d2(nn.functional.avg_pool2d(h1, 2))
        m = self.mid(nn.functional.avg_pool2d(h2, 2))
        u2 = self.u2(torch.cat([nn.functional.interpolate(m, scale_factor=2), h2], 1))
        u1 = self.u1(torch.cat([nn.functional.interpolate(u2, scale_factor=2), h1], 1))
        return x + self.out(u1)


class _ResNetCritic(nn.Module):
    """A ResNet-style potential f: image -> scalar (residual conv blocks with downsampling)."""

    def __init__(self, channels: int, base: int, size: int) -> None:
        super().__init__()
        layers, c = [nn.Conv2d(channels, base, 3, padding=1)], base
        s = size
        while s > 4:
            layers += [nn.LeakyReLU(0.2), nn.Conv2d(c, 2 * c, 3, padding=1), nn.AvgPool2d(2)]
            c, s = 2 * c, s // 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c * s * s, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).squeeze(1)


@dataclass(frozen=True)
class NeuralOTConfig(MethodConfig):
    """Korotin et al.'s neural optimal transport with the quadratic cost (spec 5; reference code's settings).

    arch : 'conv' (UNet map + ResNet critic, for 64x64 CelebA) or 'mlp' (residual MLPs, QUICK)
    steps : f-steps (the reference code runs about 8,400); t_iters : T-steps per f-step (10)
    lr : Adam learning rate for both networks (1e-4); weight_decay : 1e-10; batch_size : 64
    width : base channels (conv, the UNet's base factor 48) or hidden units (mlp)
    """

    arch: str = "conv"
    steps: int = 8400
    t_iters: int = 10
    lr: float = 1e-4
    weight_decay: float = 1e-10
    batch_size: int = 64
    width: int = 48

    QUICK = {"arch": "mlp", "steps": 60, "t_iters": 5, "lr": 1e-3, "width": 128}

    def validate(self) -> None:
        if self.arch not in ("conv", "mlp"):
            raise bad_value("arch", self.arch, "'conv' or 'mlp'")
        for name in ("steps", "t_iters", "batch_size", "width"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad_value(name, v, "a positive integer")
        positive("lr", self.lr)
        positive("weight_decay", self.weight_decay, allow_zero=True)


def neural_ot_map(x_src: torch.Tensor, x_tgt: torch.Tensor, cfg: NeuralOTConfig, seed: int = 0, device="cpu") -> tuple[nn.Module, dict]:
    """Learn the W2 map T from the source to the target sample (Korotin et al. 2023, quadratic cost).

    Per f-step: ``t_iters`` updates of T on ``mean ||x - T(x)||^2 / D - mean f(T(x))`` (a per-pixel MSE,
    a scaled squared Euclidean cost), then one update of f on ``mean f(T(x)) - mean f(y)``.

    Parameters
    ----------
    x_src, x_tgt : (n, C, H, W) or (n, D) float tensors (the two groups)

    Returns
    -------
    T : nn.Module in eval mode on ``device``; log with per-step ``t_loss``, ``f_loss``
    """
    if x_src.shape[1:] != x_tgt.shape[1:] or len(x_src) == 0 or len(x_tgt) == 0:
        raise bad_value("x_src/x_tgt", f"shapes {tuple(x_src.shape)} and {tuple(x_tgt.shape)}", "two non-empty samples of the same shape")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    # a global rescaling commutes with the quadratic-cost OT map (T_s(x) = s T(x / s)); train at unit scale
    scale = float(torch.cat([x_src.reshape(len(x_src), -1), x_tgt.reshape(len(x_tgt), -1)]).float().std().clamp_min(1e-12))
    x_src, x_tgt = x_src / scale, x_tgt / scale
    shape = tuple(x_src.shape[1:])
    dim = int(np.prod(shape))
    if cfg.arch == "mlp":
        t_net, f_net = _ResidualMLP(dim, cfg.width), _ResidualMLP(dim, cfg.width, out=1)
    else:
        if len(shape) != 3 or shape[1] % 4 or shape[2] % 4:
            raise bad_value("arch", "conv", "images of shape (C, H, W) with H, W divisible by 4 (or arch='mlp')")
        t_net, f_net = _UNet(shape[0], cfg.width), _ResNetCritic(shape[0], cfg.width, shape[1])
    t_net, f_net = t_net.to(device), f_net.to(device)
    opt_t = torch.optim.Adam(t_net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    opt_f = torch.optim.Adam(f_net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    draw = lambda data: data[torch.randint(len(data), (cfg.batch_size,), generator=gen)].to(device)
    log = {"t_loss": [], "f_loss": []}
    for _ in progress(range(cfg.steps), desc="neural OT"):
        for p in f_net.parameters():
            p.requires_grad_(False)
        for _ in range(cfg.t_iters):
            x = draw(x_src)
            tx = t_net(x)
            t_loss = nn.functional.mse_loss(x, tx) - f_net(tx).mean()
            opt_t.zero_grad(set_to_none=True)
            t_loss.backward()
            opt_t.step()
        for p in f_net.parameters():
            p.requires_grad_(True)
        x, y = draw(x_src), draw(x_tgt)
        with torch.no_grad():
            tx = t_net(x)
        f_loss = f_net(tx).mean() - f_net(y).mean()
        opt_f.zero_grad(set_to_none=True)
        f_loss.backward()
        opt_f.step()
        log["t_loss"].append(t_loss.item())
        log["f_loss"].append(f_loss.item())
    t_net.eval()
    log["scale"] = scale
    return _Scaled(t_net, scale), log


@torch.no_grad()
def apply_map(t_net: nn.Module, x: torch.Tensor, batch_size: int = 512, device="cpu") -> torch.Tensor:
    """``T(x)`` in batches, returned on the CPU."""
    return torch.cat([t_net(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]) if len(x) else x.clone()


def two_group_barycenter_images(x: torch.Tensor, z: np.ndarray, t_ab: nn.Module, t_ba: nn.Module, weights: str = "proportional",
                                device="cpu") -> tuple[torch.Tensor, float]:
    """Barycenter images of two groups from the two learned maps (spec 3.2).

    Group 0 (A) goes to ``p_A x + p_B T_AB(x)``, group 1 (B) to ``p_B y + p_A T_BA(y)``: each group moves
    by the McCann position equal to the *other* group's weight. ``weights='midpoint'`` uses 1/2 for both
    (the reference code's choice, defect D3). Returns the images and the t used for group A.
    """
    z = np.asarray(z)
    if set(np.unique(z)) - {0, 1}:
        raise bad_value("z", "labels other than 0/1", "two groups labelled 0 and 1")
    w = weights_for(weights, z)
    p_b = 0.5 if not isinstance(w, str) else float(np.mean(z == 1)) if w == "proportional" else 0.5
    out = x.clone()
    a, b = torch.as_tensor(z == 0), torch.as_tensor(z == 1)
    out[a] = (1 - p_b) * x[a] + p_b * apply_map(t_ab, x[a], device=device)
    out[b] = p_b * x[b] + (1 - p_b) * apply_map(t_ba, x[b], device=device)
    return out, p_b


def image_groups(profile: str, data_root=None, feature: str = "ink", quantile: float = 0.5, celeba_attr: str = "Smiling",
                 max_images: int | None = None, seed: int = 0) -> dict:
    """The two image groups of the feature-unlearning image experiment for ``profile``.

    * FULL: CelebA 64x64 training images, Z = ``celeba_attr`` (spec 5; :func:`celeba_attribute_images`);
    * QUICK: the embedded MNIST 5,000 subset, Z = 1 where the pixel attribute ``feature`` exceeds its
      ``quantile`` (an honest stand-in: a binary visual attribute computed from the pixels).

    Returns a dict with ``x`` (n, C, H, W) float32 in [0, 1], ``z`` (n,), ``y`` (digit labels or None),
    ``description``.
    """
    from ..config import PROFILES
    from ..data import embedded

    if profile not in PROFILES:
        raise bad_value("profile", profile, f"one of {PROFILES}")
    if feature not in ATTRIBUTES:
        raise bad_value("feature", feature, f"one of {ATTRIBUTES}")
    if not 0.0 < float(quantile) < 1.0:
        raise bad_value("quantile", quantile, "a number in (0, 1)")
    if profile == "full":
        from ..config import default_data_root

        x, z = celeba_attribute_images(data_root or default_data_root(), celeba_attr, max_images=max_images)
        return {"x": x, "z": z, "y": None, "description": f"CelebA 64x64 train, Z = {celeba_attr}"}
    xs, ys = embedded.mnist5k()
    x = torch.from_numpy(xs)[:, None]
    if max_images is not None:
        x, ys = x[:max_images], ys[:max_images]
    attr = pixel_attribute(x, feature)
    z = (attr > np.quantile(attr, quantile)).astype(np.int64)
    return {"x": x, "z": z, "y": ys, "description": f"MNIST-5k (QUICK stand-in), Z = {feature} above its {quantile:.0%} quantile"}


def image_feature_unlearning(x: torch.Tensor, z: np.ndarray, n_components: int = 32, cfg: NeuralOTConfig | None = None,
                             profile: str = "quick", seed: int = 0, device="cpu", ridge: float = 1e-3, holdout: float = 0.5) -> dict:
    """The image experiment of spec 5: Gaussian and neural-OT barycenters of two attribute groups.

    The Gaussian maps act on the top ``n_components`` PCA coefficients; each image keeps its residual
    ``x - mu - U U^T (x - mu)``, shifted to the target's residual mean (the Gaussian map when residual
    covariances are equal). The neural maps (:func:`neural_ot_map`, one per direction) act on the same
    coefficients with ``cfg.arch='mlp'`` (QUICK) and on the images themselves with ``'conv'`` (FULL).

    Returns a dict of (n, C, H, W) tensors ``x``, ``gauss`` (Gaussian barycenter, group weights),
    ``t_ab`` (group-0 images mapped onto group 1 by the neural map; group-1 rows unchanged),
    ``neural`` (neural barycenter with the group weights) and ``neural_mid`` (the reference code's
    midpoint), plus ``heldout`` (n,) bool (the rows *not* used to fit any map: audit these, since on
    the fitting rows the group moments match exactly and a cross-validated probe is biased below 0.5),
    ``p1`` (weight of group 1), ``logs`` and ``seconds``.
    """
    import time

    z = np.asarray(z)
    if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
        raise bad_value("n_components", n_components, "a positive integer")
    if not 0.0 <= float(holdout) < 1.0:
        raise bad_value("holdout", holdout, "a number in [0, 1)")
    cfg = cfg or NeuralOTConfig.resolve(profile)
    start = time.perf_counter()
    heldout = np.zeros(len(z), dtype=bool)
    heldout[np.random.default_rng(seed).permutation(len(z))[: int(round(holdout * len(z)))]] = True
    fit = torch.as_tensor(~heldout)
    flat = x.reshape(len(x), -1).double()
    mu = flat[fit].mean(0)
    k = min(n_components, flat.shape[1], int(fit.sum()) - 1)
    basis = torch.linalg.svd(flat[fit][:4000] - mu, full_matrices=False).Vh[:k].T
    coef = (flat - mu) @ basis
    resid = (flat - mu) - coef @ basis.T
    a, b = torch.as_tensor(z == 0), torch.as_tensor(z == 1)
    res_mean = torch.stack([resid[a & fit].mean(0), resid[b & fit].mean(0)])
    zt = torch.as_tensor(z)
    img = lambda c, shift: (mu + c.double() @ basis.T + resid + shift).float().reshape(x.shape)
    fb = FeatureBarycenter.fit(coef[fit].numpy(), z[~heldout], ridge=ridge, seed=seed)
    p1 = float(fb.weights[1])
    pooled = (1 - p1) * res_mean[0] + p1 * res_mean[1]
    out = {"gauss": img(torch.from_numpy(fb.push(coef.numpy(), z)), pooled - res_mean[zt])}
    feats = coef.float() if cfg.arch == "mlp" else x
    t_ab, log_ab = neural_ot_map(feats[a & fit], feats[b & fit], cfg, seed, device)
    t_ba, log_ba = neural_ot_map(feats[b & fit], feats[a & fit], cfg, seed + 1, device)
    neural, _ = two_group_barycenter_images(feats, z, t_ab, t_ba, "proportional", device)
    mid, _ = two_group_barycenter_images(feats, z, t_ab, t_ba, "midpoint", device)
    mapped = feats.clone()
    mapped[a] = apply_map(t_ab, feats[a], device=device)
    if cfg.arch == "mlp":
        out["t_ab"] = img(mapped, torch.where(a[:, None], res_mean[1] - res_mean[0], torch.zeros_like(mu)))
        out["neural"] = img(neural, pooled - res_mean[zt])
        out["neural_mid"] = img(mid, 0.5 * (res_mean[0] + res_mean[1]) - res_mean[zt])
    else:
        out.update({"t_ab": mapped, "neural": neural, "neural_mid": mid})
    out.update({"x": x, "p1": p1, "heldout": heldout, "logs": {"ab": log_ab, "ba": log_ba, "fixed_point": fb.log},
                "seconds": time.perf_counter() - start, "n_components": k})
    return out


def image_audit(images: dict[str, torch.Tensor], z: np.ndarray, y: np.ndarray | None = None, n_components: int = 32,
                max_pixels_rows: int = 1500, seed: int = 0, rows: np.ndarray | None = None) -> pd.DataFrame:
    """Leakage and utility of each image variant (rows) for the attribute Z.

    Columns: ``probe_auc_pca`` / ``probe_bacc_pca`` (cross-validated logistic probe for Z on the
    top-``n_components`` PCA coefficients of the *original* images, the representation the maps act
    on); ``probe_auc_pixels`` (the same probe on all pixels of at most ``max_pixels_rows`` seeded
    images, which also sees the fine residual statistics); ``digit_acc`` (utility proxy:
    cross-validated logistic accuracy for the digit label ``y`` on the PCA coefficients, when given).
    ``rows`` (bool mask) restricts the audit to those rows, e.g. the ``heldout`` rows of
    :func:`image_feature_unlearning`.
    """
    if rows is not None:
        keep = np.asarray(rows, dtype=bool)
        images = {k: v[torch.as_tensor(keep)] for k, v in images.items()}
        z = np.asarray(z)[keep]
        y = None if y is None else np.asarray(y)[keep]
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score

    z = np.asarray(z)
    ref = images["x"].reshape(len(z), -1).double().numpy()
    mu = ref.mean(0)
    basis = np.linalg.svd(ref[np.random.default_rng(seed).permutation(len(ref))[:4000]] - mu, full_matrices=False)[2][:n_components].T
    pix = np.sort(np.random.default_rng(seed).permutation(len(z))[:max_pixels_rows])
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    out = {}
    for name, img in images.items():
        flat = img.reshape(len(z), -1).double().numpy()
        coef = (flat - mu) @ basis
        p = cross_val_predict(LogisticRegression(max_iter=2000), coef, z, cv=cv, method="predict_proba")[:, 1]
        row = {"probe_auc_pca": probe_auc(coef, z, "lr", 3, seed), "probe_bacc_pca": balanced_accuracy_score(z, p > np.mean(z)),
               "probe_auc_pixels": probe_auc(flat[pix], z[pix], "lr", 3, seed)}
        if y is not None:
            row["digit_acc"] = float(cross_val_score(LogisticRegression(max_iter=2000), coef, y, cv=cv).mean())
        out[name] = row
    return pd.DataFrame(out).T


def image_grid(images: dict[str, torch.Tensor], idx: np.ndarray, titles: dict[str, str] | None = None):
    """A grid figure: one row per image variant, one column per sample index (spec 5's X / Bary(X) / T(X))."""
    import matplotlib.pyplot as plt

    from ..plotting import house_style

    titles = titles or {}
    with house_style():
        fig, axes = plt.subplots(len(images), len(idx), figsize=(1.0 * len(idx), 1.1 * len(images)), squeeze=False)
        for r, (name, img) in enumerate(images.items()):
            for c, i in enumerate(idx):
                im = img[i].detach().float().clamp(0, 1)
                ax = axes[r, c]
                ax.imshow(im[0] if im.shape[0] == 1 else im.permute(1, 2, 0), cmap="gray_r" if im.shape[0] == 1 else None, vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
            axes[r, 0].set_ylabel(titles.get(name, name), rotation=0, ha="right", va="center", fontsize=8)
        fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig
