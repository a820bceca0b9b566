"""The low-dimensional geometry toys of Foster et al. (TMLR 2025, v4) and their figures.

A 1-D sigmoid before and after JiT for a flat and a steep forget sample
(:func:`sigmoid_experiment`), and 2-D decision boundaries of retrain, JiT and naive mislabelling for
a high- and a low-curvature forget sample (:func:`boundary_experiment`). No upstream code exists for
them; these are re-creations with small tanh MLPs (deviations.md#jit-geometry-toys). The quantities
they measure (alpha(x), kappa(x)) are the pure formulas of :mod:`companion.theory.jit`; the figures
are :mod:`companion.plotting.jit`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..methods.jit import jit_unlearn
from ..theory.jit import curvature, neighbourhood_agreement, scalar_output
from ..vmapped import forward_all, stack_state, state_of

# --------------------------------------------------------------------------------------------
# Toys
# --------------------------------------------------------------------------------------------


def tanh_mlp(
    d_in: int, hidden: tuple[int, ...] = (32, 32), classes: int = 2, seed: int = 0
) -> nn.Module:
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


def fit_full_batch(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 1500, lr: float = 1e-2
) -> nn.Module:
    """Full-batch Adam on cross-entropy (deterministic: no sampling); trains ``model`` in place."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


def fit_many(
    init: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor,
    steps: int = 1500,
    lr: float = 1e-2,
) -> list[nn.Module]:
    """Train K copies of ``init`` at once, copy k on the samples weighted by ``weights[k]``.

    The K full-batch cross-entropy runs are batched with ``torch.func.vmap`` over stacked
    parameters. Adam acts element-wise, so one Adam over the stack is exactly K independent Adam
    runs (each equals :func:`fit_full_batch` on its own subset, up to float rounding).

    Parameters
    ----------
    weights : Tensor (K, n)
        0/1 (or any non-negative) sample weights per model; a model's loss is the weighted mean.
    """
    k = weights.shape[0]
    copies = [copy.deepcopy(init) for _ in range(k)]
    leaves, buffers = stack_state(copies, requires_grad=True)
    w = weights.to(x.dtype) / weights.sum(1, keepdim=True).to(x.dtype)
    forward = forward_all(init)
    target = y.expand(k, -1)
    opt = torch.optim.Adam(list(leaves.values()), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        out = forward(leaves, buffers, x)  # (K, n, C)
        ce = F.cross_entropy(out.transpose(1, 2), target, reduction="none")  # (K, n)
        (ce * w).sum(1).sum().backward()
        opt.step()
    for i, m in enumerate(copies):
        m.load_state_dict({n: t.detach().clone() for n, t in state_of(leaves, buffers, i).items()})
        m.eval()
    return copies


def mislabel(
    model: nn.Module, x: torch.Tensor, y_wrong: torch.Tensor, steps: int = 50, lr: float = 0.05
) -> nn.Module:
    """Naive ("greedy") unlearning: SGD on the forget sample with a wrong label for ``steps``
    steps."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y_wrong).backward()
        opt.step()
    return model.eval()


def sigmoid_data(
    n: int = 60, slope: float = 2.5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """1-D two-class data: x uniform on [-4, 4], y ~ Bernoulli(sigmoid(slope * x)); (n, 1), (n,)."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-4, 4, n))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-slope * x))).astype(np.int64)
    return torch.tensor(x).view(-1, 1), torch.tensor(y)


def blobs_with_outlier(n: int = 60, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """2-D two-class data with one atypical point.

    Class 0 ~ N((-1, 0), 0.5^2 I), class 1 ~ N((1, 0), 0.5^2 I), ``n`` each; plus one class-1 point
    at (-0.9, 0.9), inside class 0's region, that the model memorises (a high-information sample).

    Returns
    -------
    x (2n+1, 2), y (2n+1,), the index of the outlier, the index of the class-1 point farthest from
    the class-0 mean (a low-information sample deep inside its class).
    """
    rng = np.random.default_rng(seed)
    x0 = rng.normal((-1.0, 0.0), 0.5, (n, 2))
    x1 = rng.normal((1.0, 0.0), 0.5, (n, 2))
    x = np.vstack([x0, x1, [[-0.9, 0.9]]])
    y = np.r_[np.zeros(n), np.ones(n), [1]].astype(np.int64)
    deep = n + int(np.argmax(np.linalg.norm(x1 - (-1.0, 0.0), axis=1)))
    return torch.tensor(x), torch.tensor(y), 2 * n, deep


def grid_2d(
    x: torch.Tensor, n: int = 120, pad: float = 0.5
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
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
    # share of grid points whose class differs from retrain
    disagreement: dict[str, float] = field(default_factory=dict)
    shift: dict[str, float] = field(default_factory=dict)  # mean |P1 - P1_original| over the grid
    # P(class 1) of each model on the grid, (G,)
    grid_prob: dict[str, torch.Tensor] = field(default_factory=dict)


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
    """Retrain without sample ``index``, JiT it, and mislabel it; compare each with retrain on
    ``grid``.

    ``init`` is the untrained model the original was trained from (retrain starts from the same
    initialisation, so the only difference is the missing sample). ``jit_cfg`` is a
    :class:`companion.methods.jit_config.JitConfig`. ``retrained`` may hold already retrained models
    by index.
    """
    retrain = retrained[index] if retrained is not None else None
    if retrain is None:
        keep = torch.ones(len(y), dtype=torch.bool)
        keep[index] = False
        retrain = fit_full_batch(copy.deepcopy(init), x[keep], y[keep], steps=train_steps)
    jit = copy.deepcopy(original)
    jit_unlearn(jit, [x[index : index + 1]], jit_cfg, seed=seed)
    greedy = mislabel(
        copy.deepcopy(original),
        x[index : index + 1],
        1 - y[index : index + 1],
        steps=mislabel_steps,
    )
    models = {"original": original, "retrain": retrain, "JiT": jit, "mislabel": greedy}
    p = {k: prob1(m, grid) for k, m in models.items()}
    kappa = (
        curvature(scalar_output(original, (x.shape[1],), "margin", cls=1), x[index : index + 1])[
            "kappa"
        ]
        .detach()
        .item()
    )
    alpha, _ = neighbourhood_agreement(x[index : index + 1], y[index : index + 1], x, y, r)
    out = ForgetOutcome(index, models, kappa, float(alpha.item()), grid_prob=p)
    for k in ("original", "JiT", "mislabel"):
        out.disagreement[k] = float(((p[k] > 0.5) != (p["retrain"] > 0.5)).double().mean())
    for k in ("retrain", "JiT", "mislabel"):
        out.shift[k] = float((p[k] - p["original"]).abs().mean())
    return out


def boundary_experiment(
    jit_cfg,
    seed: int = 0,
    n: int = 60,
    r: float = 0.5,
    train_steps: int = 800,
    mislabel_steps: int = 50,
) -> dict:
    """The 2-D figure: original, retrain, JiT and mislabelling for a high- and a low-curvature
    sample.

    Returns
    -------
    dict with ``x``, ``y``, ``grid`` (points, gx, gy), and ``high`` / ``low``:
    :class:`ForgetOutcome`.
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
        res[name] = forget_one(
            x,
            y,
            idx,
            original,
            init,
            jit_cfg,
            pts,
            r,
            train_steps,
            mislabel_steps,
            seed,
            {hi: re_hi, lo: re_lo},
        )
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
    x, y = sigmoid_data(n, seed=seed)
    model = fit_full_batch(tanh_mlp(1, (16,), seed=seed), x, y, steps=train_steps)
    xs = x.clone().requires_grad_(True)
    slope = torch.autograd.grad(torch.softmax(model(xs), 1)[:, 1].sum(), xs)[0].abs().view(-1)
    idx = {"flat": int(slope.argmin()), "steep": int(slope.argmax())}
    grid = torch.linspace(-4.5, 4.5, 400, dtype=torch.float64).view(-1, 1)
    out = {
        "x": x,
        "y": y,
        "grid": grid,
        "before": prob1(model, grid),
        "after": {},
        "samples": {},
        "max_change": {},
        "kappa": {},
        "slope": {},
        "ratio": {},
        "step": {},
        "grad_f": {},
    }
    for name, i in idx.items():
        m = copy.deepcopy(model)
        log = jit_unlearn(m, [x[i : i + 1]], jit_cfg, seed=seed)
        out["ratio"][name], out["step"][name] = log["losses"][0], log["step_norms"][0]
        g = torch.autograd.grad(
            torch.softmax(model(x[i : i + 1]), 1)[0, 1], list(model.parameters())
        )
        out["grad_f"][name] = float(torch.sqrt(sum((t**2).sum() for t in g)))
        out["after"][name] = prob1(m, grid)
        out["samples"][name] = (
            float(x[i, 0]),
            float(prob1(model, x[i : i + 1])[0]),
            float(prob1(m, x[i : i + 1])[0]),
        )
        out["max_change"][name] = float((out["after"][name] - out["before"]).abs().max())
        out["kappa"][name] = (
            curvature(scalar_output(model, (1,), "margin", 1), x[i : i + 1])["kappa"]
            .detach()
            .item()
        )
        out["slope"][name] = float(slope[i])
    return out
