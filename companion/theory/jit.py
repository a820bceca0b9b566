"""The information-gain view of Foster et al. (TMLR 2025) and its low-dimensional geometry toys.

* :func:`neighbourhood_agreement` -- the information content alpha(x): the share of the samples in
  the ball ``B_r(x) = {z : ||z - x|| <= r}`` that share x's class (paper Sec. 3, "information gain");
  x is *low information* when ``alpha(x) >= tau`` (:func:`is_high_information`).
* :func:`model_agreement` -- the same quantity with the model's own classes ``c(z)`` of points drawn
  uniformly from the ball (usable when no other data are at hand, the zero-shot situation).
* :func:`curvature` -- ``kappa(x) = ||Hess f(x)||_F / ||grad f(x)||`` of a scalar model output
  (paper Sec. 3, "curvature and decision boundaries"), exact or by Hutchinson probes.
* The toys of the paper's geometric figures (v4): a 1-D sigmoid before and after JiT for a flat and a
  steep forget sample (:func:`sigmoid_experiment`), and 2-D decision boundaries of retrain, JiT and
  naive mislabelling for a high- and a low-curvature forget sample (:func:`boundary_experiment`).
  No upstream code exists for them; these are re-creations with small tanh MLPs.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.func import grad, hessian, jvp, vmap
from torch.nn import functional as F

from ..config import bad_value

# --------------------------------------------------------------------------------------------
# Information content alpha(x)
# --------------------------------------------------------------------------------------------


def _check_r_tau(r: float, tau: float | None = None) -> None:
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not r > 0 or r != r:
        raise bad_value("r", r, "a radius > 0")
    if tau is not None and (isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0.0 <= tau <= 1.0):
        raise bad_value("tau", tau, "a threshold in [0, 1]")


def neighbourhood_agreement(
    x: torch.Tensor,
    labels_x: torch.Tensor,
    points: torch.Tensor,
    labels: torch.Tensor,
    r: float,
    exclude_self: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """alpha(x) = (1/|B_r(x)|) sum_{z in B_r(x)} 1[c(z) = c(x)] over a reference sample set.

    Parameters
    ----------
    x : Tensor (B, ...)
        Query samples (flattened internally).
    labels_x : Tensor (B,)
        Their classes c(x).
    points : Tensor (M, ...)
        The reference samples z (e.g. the training set).
    labels : Tensor (M,)
        Their classes c(z).
    r : float
        Radius of the Euclidean ball B_r(x).
    exclude_self : bool
        Leave out reference points at distance 0 (x itself when x is in ``points``).

    Returns
    -------
    alpha : Tensor (B,)
        NaN where the ball holds no reference point.
    count : Tensor (B,)
        ``|B_r(x)|``.
    """
    _check_r_tau(r)
    if x.shape[0] != labels_x.shape[0] or points.shape[0] != labels.shape[0]:
        raise bad_value("labels", (tuple(labels_x.shape), tuple(labels.shape)), "one label per sample")
    d = torch.cdist(x.flatten(1).double(), points.flatten(1).double(), compute_mode="donot_use_mm_for_euclid_dist")  # (B, M), exact 0 for self
    inside = d <= r
    if exclude_self:
        inside &= d > 0
    same = labels_x.view(-1, 1) == labels.view(1, -1)
    count = inside.sum(1)
    agree = (inside & same).sum(1)
    alpha = torch.where(count > 0, agree.double() / count.clamp_min(1).double(), torch.full_like(count, float("nan"), dtype=torch.float64))
    return alpha, count


def knn_radius(x: torch.Tensor, points: torch.Tensor, k: int = 10, scale: float = 1.0) -> float:
    """A data-scaled radius for alpha(x): ``scale`` times the median, over the rows of ``x``, of the
    distance to the k-th nearest point of ``points`` (points at distance 0, x itself, left out).

    Pixel-space distances have no natural unit, so the chapters set r relative to the data's own
    neighbour distances. Shapes: x (B, ...), points (M, ...).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise bad_value("k", k, "an integer >= 1")
    _check_r_tau(scale)
    d = torch.cdist(x.flatten(1).double(), points.flatten(1).double(), compute_mode="donot_use_mm_for_euclid_dist")
    d = torch.where(d > 0, d, torch.full_like(d, float("inf")))
    if d.shape[1] < k:
        raise bad_value("k", k, f"at most the number of reference points ({d.shape[1]})")
    return float(scale * d.kthvalue(k, dim=1).values.quantile(0.5))


def sample_ball(x: torch.Tensor, r: float, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points uniform in the ball ``B_r(x)`` around each row of ``x`` (B, ...) -> (n, B, ...)."""
    _check_r_tau(r)
    d = x[0].numel()
    u = torch.randn((n, *x.shape), generator=generator, dtype=x.dtype, device=x.device)
    u = u / u.flatten(2).norm(dim=-1).view(n, x.shape[0], *([1] * (x.ndim - 1)))
    rad = r * torch.rand((n, x.shape[0]), generator=generator, dtype=x.dtype, device=x.device) ** (1.0 / d)
    return x.unsqueeze(0) + rad.view(n, x.shape[0], *([1] * (x.ndim - 1))) * u


@torch.no_grad()
def model_agreement(
    classify: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    r: float,
    n: int = 256,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """alpha(x) with the model's classes: the share of ``n`` uniform draws z in B_r(x) with c(z) = c(x).

    Parameters
    ----------
    classify : callable
        Maps a batch (K, ...) to class indices (K,) (e.g. ``lambda z: model(z).argmax(1)``).
    x : Tensor (B, ...)
    r : float
    n : int
        Monte-Carlo draws per sample.

    Returns
    -------
    Tensor (B,)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise bad_value("n", n, "an integer >= 1")
    z = sample_ball(x, r, n, generator)  # (n, B, ...)
    cz = classify(z.reshape(-1, *x.shape[1:])).view(n, x.shape[0])
    cx = classify(x).view(1, -1)
    return (cz == cx).double().mean(0)


def is_high_information(alpha: torch.Tensor, tau: float) -> torch.Tensor:
    """True where alpha(x) < tau (high information gain); alpha(x) >= tau is low information."""
    _check_r_tau(1.0, tau)
    return alpha < tau


# --------------------------------------------------------------------------------------------
# Curvature
# --------------------------------------------------------------------------------------------


def scalar_output(model: nn.Module, input_shape: tuple[int, ...], kind: str = "margin", cls: int = 1) -> Callable[[torch.Tensor], torch.Tensor]:
    """A scalar function of one flattened input, for :func:`curvature`.

    ``kind``: 'margin' (logit of ``cls`` minus the largest other logit), 'logit' (the logit of
    ``cls``) or 'prob' (softmax probability of ``cls``). The returned function maps (D,) -> ().
    Logits of a ReLU network are piecewise linear (zero Hessian almost everywhere); use a smooth
    activation or ``kind='prob'`` there.
    """
    if kind not in ("margin", "logit", "prob"):
        raise bad_value("kind", kind, "'margin', 'logit' or 'prob'")

    def f(v: torch.Tensor) -> torch.Tensor:
        z = model(v.view(1, *input_shape))[0]
        if kind == "prob":
            return torch.softmax(z, -1)[cls]
        if kind == "logit":
            return z[cls]
        others = torch.cat([z[:cls], z[cls + 1 :]])
        return z[cls] - others.max()

    return f


def curvature(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    method: str = "exact",
    n_probes: int = 64,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """kappa(x) = ||Hess f(x)||_F / ||grad f(x)|| for each row of ``x``.

    Parameters
    ----------
    fn : callable
        Scalar function of one sample, (D,) -> () (see :func:`scalar_output`); must be
        ``torch.func``-transformable (no in-place ops on inputs, no dropout randomness).
    x : Tensor (B, D)
    method : {'exact', 'hutchinson'}
        'exact' forms each (D, D) Hessian with ``torch.func.hessian``; 'hutchinson' estimates
        ``||H||_F^2 = E ||H v||^2`` with ``n_probes`` Gaussian probes (forward-over-reverse HVPs),
        for inputs too large for a dense Hessian.

    Returns
    -------
    dict with ``kappa`` (B,), ``hess_fro`` (B,), ``grad_norm`` (B,).
    """
    if method not in ("exact", "hutchinson"):
        raise bad_value("method", method, "'exact' or 'hutchinson'")
    if x.ndim != 2:
        raise bad_value("x", tuple(x.shape), "a (B, D) tensor (flatten the inputs first)")
    with warnings.catch_warnings():  # torch.func's hessian path emits a torch.jit deprecation notice
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
        return _curvature(fn, x, method, n_probes, generator)


def _curvature(fn, x, method, n_probes, generator) -> dict[str, torch.Tensor]:
    g = vmap(grad(fn))(x)  # (B, D)
    if method == "exact":
        h = vmap(hessian(fn))(x)  # (B, D, D)
        hf = h.flatten(1).norm(dim=1)
    else:
        if isinstance(n_probes, bool) or not isinstance(n_probes, int) or n_probes < 1:
            raise bad_value("n_probes", n_probes, "an integer >= 1")
        v = torch.randn((n_probes, *x.shape), generator=generator, dtype=x.dtype, device=x.device)

        def hvp(xi: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
            return jvp(grad(fn), (xi,), (vi,))[1]

        hv = vmap(vmap(hvp), in_dims=(None, 0))(x, v)  # (P, B, D)
        hf = hv.pow(2).sum(-1).mean(0).sqrt()
    gn = g.norm(dim=1)
    return {"kappa": (hf / gn).detach(), "hess_fro": hf.detach(), "grad_norm": gn.detach()}


# --------------------------------------------------------------------------------------------
# Toys
# --------------------------------------------------------------------------------------------


def tanh_mlp(d_in: int, hidden: tuple[int, ...] = (32, 32), classes: int = 2, seed: int = 0) -> nn.Module:
    """A smooth (tanh) MLP for the toys, so that curvature is defined everywhere; float64."""
    g = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        layers: list[nn.Module] = []
        d = d_in
        for h in hidden:
            layers += [nn.Linear(d, h), nn.Tanh()]
            d = h
        layers.append(nn.Linear(d, classes))
        return nn.Sequential(*layers).double()
    finally:
        torch.random.set_rng_state(g)


def fit_full_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 1500, lr: float = 1e-2) -> nn.Module:
    """Full-batch Adam on cross-entropy (deterministic: no sampling); trains ``model`` in place."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


def fit_many(init: nn.Module, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, steps: int = 1500, lr: float = 1e-2) -> list[nn.Module]:
    """Train K copies of ``init`` at once, copy k on the samples weighted by ``weights[k]``.

    The K full-batch cross-entropy runs are batched with ``torch.func.vmap`` over stacked parameters.
    Adam acts element-wise, so one Adam over the stack is exactly K independent Adam runs (each
    equals :func:`fit_full_batch` on its own subset, up to float rounding).

    Parameters
    ----------
    weights : Tensor (K, n)
        0/1 (or any non-negative) sample weights per model; a model's loss is the weighted mean.
    """
    from torch.func import functional_call, stack_module_state

    k = weights.shape[0]
    copies = [copy.deepcopy(init) for _ in range(k)]
    params, buffers = stack_module_state(copies)
    leaves = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
    w = weights.to(x.dtype) / weights.sum(1, keepdim=True).to(x.dtype)

    def loss_one(p: dict, b: dict, wk: torch.Tensor) -> torch.Tensor:
        out = functional_call(init, (p, b), (x,))
        return (F.cross_entropy(out, y, reduction="none") * wk).sum()

    batched = vmap(loss_one)
    opt = torch.optim.Adam(list(leaves.values()), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        batched(leaves, buffers, w).sum().backward()
        opt.step()
    for i, m in enumerate(copies):
        m.load_state_dict({n: v[i].detach().clone() for n, v in leaves.items()}, strict=False)
        m.eval()
    return copies


def mislabel(model: nn.Module, x: torch.Tensor, y_wrong: torch.Tensor, steps: int = 50, lr: float = 0.05) -> nn.Module:
    """Naive ("greedy") unlearning: SGD on the forget sample with a wrong label for ``steps`` steps."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y_wrong).backward()
        opt.step()
    return model.eval()


def sigmoid_data(n: int = 60, slope: float = 2.5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """1-D two-class data: x uniform on [-4, 4], y ~ Bernoulli(sigmoid(slope * x)); (n, 1), (n,)."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-4, 4, n))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-slope * x))).astype(np.int64)
    return torch.tensor(x).view(-1, 1), torch.tensor(y)


def blobs_with_outlier(n: int = 60, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """2-D two-class data with one atypical point.

    Class 0 ~ N((-1, 0), 0.5^2 I), class 1 ~ N((1, 0), 0.5^2 I), ``n`` each; plus one class-1 point at
    (-0.9, 0.9), inside class 0's region, that the model memorises (a high-information sample).

    Returns
    -------
    x (2n+1, 2), y (2n+1,), the index of the outlier, the index of the class-1 point farthest from the
    class-0 mean (a low-information sample deep inside its class).
    """
    rng = np.random.default_rng(seed)
    x0 = rng.normal((-1.0, 0.0), 0.5, (n, 2))
    x1 = rng.normal((1.0, 0.0), 0.5, (n, 2))
    x = np.vstack([x0, x1, [[-0.9, 0.9]]])
    y = np.r_[np.zeros(n), np.ones(n), [1]].astype(np.int64)
    deep = n + int(np.argmax(np.linalg.norm(x1 - (-1.0, 0.0), axis=1)))
    return torch.tensor(x), torch.tensor(y), 2 * n, deep


def grid_2d(x: torch.Tensor, n: int = 120, pad: float = 0.5) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """An ``n x n`` grid covering the data: points (n*n, 2) and the meshgrid axes."""
    lo, hi = x.min(0).values.numpy() - pad, x.max(0).values.numpy() + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    return torch.tensor(np.c_[gx.ravel(), gy.ravel()]), gx, gy


@torch.no_grad()
def prob1(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """P(class 1 | x), shape (K,)."""
    return torch.softmax(model.eval()(x), 1)[:, 1]


@dataclass
class ForgetOutcome:
    """One forget sample's toy experiment: the models and how far each is from retrain."""

    index: int
    models: dict[str, nn.Module]
    kappa: float
    alpha: float
    disagreement: dict[str, float] = field(default_factory=dict)  # share of grid points whose class differs from retrain
    shift: dict[str, float] = field(default_factory=dict)  # mean |P1 - P1_original| over the grid


def forget_one(
    x: torch.Tensor,
    y: torch.Tensor,
    index: int,
    original: nn.Module,
    init: nn.Module,
    jit_cfg,
    grid: torch.Tensor,
    r: float,
    train_steps: int = 800,
    mislabel_steps: int = 50,
    seed: int = 0,
    retrained: dict[int, nn.Module] | None = None,
) -> ForgetOutcome:
    """Retrain without sample ``index``, JiT it, and mislabel it; compare each with retrain on ``grid``.

    ``init`` is the untrained model the original was trained from (retrain starts from the same
    initialisation, so the only difference is the missing sample). ``jit_cfg`` is a
    :class:`companion.methods.jit.JitConfig`. ``retrained`` may hold already retrained models by index.
    """
    from ..methods.jit import jit_unlearn

    retrain = retrained[index] if retrained is not None else None
    if retrain is None:
        keep = torch.ones(len(y), dtype=torch.bool)
        keep[index] = False
        retrain = fit_full_batch(copy.deepcopy(init), x[keep], y[keep], steps=train_steps)
    jit = copy.deepcopy(original)
    jit_unlearn(jit, [x[index : index + 1]], jit_cfg, seed=seed)
    greedy = mislabel(copy.deepcopy(original), x[index : index + 1], 1 - y[index : index + 1], steps=mislabel_steps)
    models = {"original": original, "retrain": retrain, "JiT": jit, "mislabel": greedy}
    p = {k: prob1(m, grid) for k, m in models.items()}
    kappa = curvature(scalar_output(original, (x.shape[1],), "margin", cls=1), x[index : index + 1])["kappa"].detach().item()
    alpha, _ = neighbourhood_agreement(x[index : index + 1], y[index : index + 1], x, y, r)
    out = ForgetOutcome(index, models, kappa, float(alpha.item()))
    for k in ("original", "JiT", "mislabel"):
        out.disagreement[k] = float(((p[k] > 0.5) != (p["retrain"] > 0.5)).double().mean())
    for k in ("retrain", "JiT", "mislabel"):
        out.shift[k] = float((p[k] - p["original"]).abs().mean())
    return out


def boundary_experiment(jit_cfg, seed: int = 0, n: int = 60, r: float = 0.5, train_steps: int = 800, mislabel_steps: int = 50) -> dict:
    """The 2-D figure: original, retrain, JiT and mislabelling for a high- and a low-curvature sample.

    Returns
    -------
    dict with ``x``, ``y``, ``grid`` (points, gx, gy), and ``high`` / ``low``: :class:`ForgetOutcome`.
    """
    x, y, hi, lo = blobs_with_outlier(n, seed)
    init = tanh_mlp(2, seed=seed)
    weights = torch.ones(3, len(y))
    weights[1, hi] = 0.0
    weights[2, lo] = 0.0
    original, re_hi, re_lo = fit_many(init, x, y, weights, steps=train_steps)  # one vmapped run
    pts, gx, gy = grid_2d(x)
    res = {"x": x, "y": y, "grid": (pts, gx, gy)}
    for name, idx in (("high", hi), ("low", lo)):
        res[name] = forget_one(x, y, idx, original, init, jit_cfg, pts, r, train_steps, mislabel_steps, seed, {hi: re_hi, lo: re_lo})
    return res


def sigmoid_experiment(jit_cfg, seed: int = 0, n: int = 60, train_steps: int = 800) -> dict:
    """The 1-D figure: P(class 1 | x) before and after JiT on the flattest and the steepest sample.

    The steep sample is the training point with the largest |dP/dx| under the original model, the
    flat one the point with the smallest. Returns the grid, the curves, both samples, their
    curvatures, the largest change of the curve each forgetting causes, and per sample the JiT loss
    (``ratio``: the mean Lipschitz ratio), the length of the SGD step (``step``) and
    ``grad_f`` = ``||d P(class 1 | x) / d theta||``, the parameter gradient of the output the step
    moves (the un-squared ratio's gradient is a unit pull times ``grad_f``: its size does not
    shrink with the ratio).
    """
    from ..methods.jit import jit_unlearn

    x, y = sigmoid_data(n, seed=seed)
    model = fit_full_batch(tanh_mlp(1, (16,), seed=seed), x, y, steps=train_steps)
    xs = x.clone().requires_grad_(True)
    slope = torch.autograd.grad(torch.softmax(model(xs), 1)[:, 1].sum(), xs)[0].abs().view(-1)
    idx = {"flat": int(slope.argmin()), "steep": int(slope.argmax())}
    grid = torch.linspace(-4.5, 4.5, 400, dtype=torch.float64).view(-1, 1)
    out = {"x": x, "y": y, "grid": grid, "before": prob1(model, grid), "after": {}, "samples": {}, "max_change": {}, "kappa": {}, "slope": {},
           "ratio": {}, "step": {}, "grad_f": {}}
    for name, i in idx.items():
        m = copy.deepcopy(model)
        log = jit_unlearn(m, [x[i : i + 1]], jit_cfg, seed=seed)
        out["ratio"][name], out["step"][name] = log["losses"][0], log["step_norms"][0]
        g = torch.autograd.grad(torch.softmax(model(x[i : i + 1]), 1)[0, 1], list(model.parameters()))
        out["grad_f"][name] = float(torch.sqrt(sum((t**2).sum() for t in g)))
        out["after"][name] = prob1(m, grid)
        out["samples"][name] = (float(x[i, 0]), float(prob1(model, x[i : i + 1])[0]), float(prob1(m, x[i : i + 1])[0]))
        out["max_change"][name] = float((out["after"][name] - out["before"]).abs().max())
        out["kappa"][name] = curvature(scalar_output(model, (1,), "margin", 1), x[i : i + 1])["kappa"].detach().item()
        out["slope"][name] = float(slope[i])
    return out


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def figure_sigmoid(res: dict):
    """Curves before/after JiT for the flat and the steep forget sample (red: the sample before,
    black: the same input on the new curve)."""
    import matplotlib.pyplot as plt

    from ..plotting import house_style

    with house_style():
        fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.2), sharey=True)
        for ax, name in zip(axes, ("flat", "steep")):
            ax.plot(res["grid"][:, 0], res["before"], label="original", color="#1b6ca8")
            ax.plot(res["grid"][:, 0], res["after"][name], label="after JiT", color="#e07b39", ls="--")
            ax.scatter(res["x"][:, 0], res["y"], s=6, color="#6b6b6b", alpha=0.5)
            xv, p0, p1 = res["samples"][name]
            ax.scatter([xv], [p0], color="#c23b3b", zorder=3, label="forget sample")
            ax.scatter([xv], [p1], color="black", zorder=3, label="after JiT")
            ax.set_title(f"{name} sample (x = {xv:.2f})")
            ax.set_xlabel("x")
        axes[0].set_ylabel("P(class 1 | x)")
        axes[1].legend(loc="lower right", fontsize=8)
        fig.tight_layout()
    return fig


def figure_boundaries(res: dict):
    """A 2 x 4 grid: rows high/low-curvature forget sample, columns original/retrain/JiT/mislabel."""
    import matplotlib.pyplot as plt

    from ..plotting import house_style

    pts, gx, gy = res["grid"]
    x, y = res["x"].numpy(), res["y"].numpy()
    with house_style():
        fig, axes = plt.subplots(2, 4, figsize=(10.0, 5.0), sharex=True, sharey=True)
        for row, name in enumerate(("high", "low")):
            o = res[name]
            for col, k in enumerate(("original", "retrain", "JiT", "mislabel")):
                ax = axes[row, col]
                p = prob1(o.models[k], pts).view(gx.shape).numpy()
                ax.contourf(gx, gy, p, levels=[0, 0.5, 1], colors=["#dbe8f3", "#f6e0cf"], alpha=0.8)
                ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.2)
                ax.scatter(x[:, 0], x[:, 1], c=np.where(y == 1, "#e07b39", "#1b6ca8"), s=6)
                ax.scatter([x[o.index, 0]], [x[o.index, 1]], s=70, facecolors="none", edgecolors="#c23b3b", linewidths=1.8)
                ax.grid(False)
                if row == 0:
                    ax.set_title(k)
                if col == 0:
                    ax.set_ylabel(f"{name} curvature\n(kappa = {o.kappa:.2f})")
        fig.tight_layout()
    return fig
