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
                         seed: int = 0) -> tuple[BarycenterPreprocess, dict]:
    """Fit :class:`BarycenterPreprocess` on normalised images ``x`` (n, C, H, W).

    Returns the module and a log with the threshold, the group weights, the barycenter's fixed-point
    log and the closed-form cost ``sum_z p_z W2^2`` in the mapped coordinates.
    """
    t = check_t(t)
    attr = pixel_attribute(x, feature)
    thr = float(np.median(attr))
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

    QUICK = {"n_t": 5, "k_folds": 3, "rf_trees": 10, "max_rows": 2500}

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
    (ROC-AUC, discrimination). Leakage is measured once per ``t`` on the out-of-fold transformed
    features ``X_t`` of all rows (each row mapped by the maps of the fold that held it out), *without*
    the appended ``(1 - t) Z`` column (which reveals Z trivially for t < 1; column ``z_in_features``
    says when the classifier saw Z): cross-validated probe AUC (logistic and forest), binned MI
    (nats) and the realised L2 distortion. Two baselines: ``original`` (Z as a feature; its leakage is
    that of ``[X, Z]``) and ``drop_z`` (Z column removed).

    Returns
    -------
    DataFrame, one row per (point, t): point ('path' | 'original' | 'drop_z'), t, z_in_features, the
    fold means of auc_lr, auc_rf, disc_lr, disc_rf and their ``_std``, then probe_lr, probe_rf, mi,
    distortion. ``df.attrs['rows']`` is the number of rows used. With ``return_folds`` also the
    per-fold utility rows.
    """
    cfg = cfg or TabularPathConfig.resolve(profile)
    data = _subsample(data, cfg.max_rows, seed)
    rng = np.random.default_rng(seed)
    ts = np.linspace(0.0, 1.0, cfg.n_t)
    x, y, z = data.x, data.y, data.z
    oof = np.zeros((len(ts),) + x.shape)
    rows = []
    for fold, (tr, te) in enumerate(progress(folds(data, cfg.k_folds, seed), desc=f"{data.name} folds")):
        fit_idx = tr if cfg.fit_on == "train" else np.arange(len(data))
        fb = FeatureBarycenter.fit(x[fit_idx], z[fit_idx], weights=cfg.weights, ridge=cfg.ridge, method=cfg.method, seed=seed)
        pushed = fb.push(x, z)
        if cfg.label_transport == "as_coded":
            s, ym, ybar = label_scales(fb, pushed[fit_idx], y[fit_idx], z[fit_idx])
        for i, t in enumerate(ts):
            xt = (1 - t) * x + t * pushed
            oof[i, te] = xt[te]
            feats = np.column_stack([xt, (1 - t) * z]) if cfg.z_feature else xt
            ytr = transport_labels(y[tr], z[tr], fb.groups, s, ym, ybar, t, rng) if cfg.label_transport == "as_coded" else y[tr]
            rows.append({"fold": fold, "point": "path", "t": float(t), **_utility(feats[tr], ytr, feats[te], y[te], z[te], cfg, seed)})
        for point, feats in (("original", np.column_stack([x, z])), ("drop_z", x)):
            rows.append({"fold": fold, "point": point, "t": 0.0, **_utility(feats[tr], y[tr], feats[te], y[te], z[te], cfg, seed)})
    per_fold = pd.DataFrame(rows)
    g = per_fold.drop(columns="fold").groupby(["point", "t"], sort=False)
    out = pd.concat([g.mean(), g.std(ddof=0).add_suffix("_std")], axis=1).reset_index()
    leak = [_leakage(oof[i], z, x, cfg, seed) for i in range(len(ts))]
    leak += [_leakage(np.column_stack([x, z]), z, x, cfg, seed), _leakage(x, z, x, cfg, seed)]
    out = pd.concat([out, pd.DataFrame(leak)], axis=1)
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
