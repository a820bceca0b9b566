"""Xu & Strohmer's Gaussian-mixture toy: original, retrain, MI unlearning and fine-tune, R
repetitions at once.

The setting of the authors' notebook ``Data_Unlearning_GMM.ipynb``
(xushizhou/Machine_Unlearn_via_Info_Reg, ca32703): two Gaussians, one extra point to unlearn, an MLP
trained full batch. The repetitions train at once as a :class:`~companion.models.stacked.StackedMLP`
(Adam is elementwise, so one Adam on the stacked parameters is exactly R independent Adams). Its MI
term is the estimator of the authors' MNIST code with the MNIST batch construction, not the
notebook's term (deviations.md#xs-mi-term), and its reference models train on cross-entropy only
(deviations.md#xs-gmm-reference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..config import ForgetSpec, bad_value
from ..data.tasks import Split, Task
from ..methods.base import MethodConfig, positive
from ..models.stacked import StackedMLP
from ..theory.information import FORMULATIONS, marginal_mi, mi_from_conditionals


@dataclass(frozen=True)
class GMMToyConfig(MethodConfig):
    """The GMM toy's settings (the authors' notebook): 2 Gaussians in R^10, means uniform in [0,
    10]^10, covariance 10 I, 2,500 points each, one extra point near component 0 (covariance 20 I,
    label 0); MLP 10-64-32-2, Adam 0.01, full batch, 100 steps; MI unlearning gamma 4.2 for 5 steps
    from the original. ``n_reps``: repetitions (different initialisations; 100 in the paper)."""

    QUICK = {"n_reps": 16, "n_per_component": 500}

    dim: int = 10
    n_per_component: int = 2500
    mean_range: float = 10.0
    variance: float = 10.0
    point_variance: float = 20.0
    hidden: tuple[int, int] = (64, 32)
    lr: float = 0.01
    train_steps: int = 100
    gamma: float = 4.2
    unlearn_steps: int = 5
    finetune_steps: int = 100
    n_reps: int = 100
    formulation: str = "clamped"

    def validate(self) -> None:
        for name in ("dim", "n_per_component", "train_steps", "n_reps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise bad_value(name, v, "a positive integer")
        for name in ("unlearn_steps", "finetune_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise bad_value(name, v, "an integer >= 0")
        for name in ("mean_range", "variance", "point_variance", "lr"):
            positive(name, getattr(self, name))
        if (
            isinstance(self.gamma, bool)
            or not isinstance(self.gamma, (int, float))
            or not math.isfinite(self.gamma)
            or self.gamma < 0
        ):
            raise bad_value("gamma", self.gamma, "a finite number >= 0")
        if self.formulation not in FORMULATIONS:
            raise bad_value("formulation", self.formulation, f"one of {FORMULATIONS}")


def gmm_toy_config(profile: str = "quick", n_reps: int = 0, **overrides) -> GMMToyConfig:
    """The toy's config for ``profile``; ``n_reps = 0`` keeps the profile's repetition count."""
    if n_reps:
        overrides["n_reps"] = n_reps
    return GMMToyConfig.resolve(profile, **overrides)


def gmm_toy_data(cfg: GMMToyConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """One draw of the toy's data (float32): ``x_retain`` (2 n, d), ``y_retain``, ``x_point`` (1,
    d), ``means`` (2, d)."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(0, cfg.mean_range, size=(2, cfg.dim))
    # drawn first: same for any n
    point = means[0] + math.sqrt(cfg.point_variance) * rng.standard_normal((1, cfg.dim))
    sd = math.sqrt(cfg.variance)
    x = np.concatenate(
        [means[c] + sd * rng.standard_normal((cfg.n_per_component, cfg.dim)) for c in (0, 1)]
    )
    y = np.repeat([0, 1], cfg.n_per_component)
    f = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return {
        "x_retain": f(x),
        "y_retain": torch.as_tensor(y, dtype=torch.long),
        "x_point": f(point),
        "means": f(means),
    }


def gmm_bayes_logit(
    x: np.ndarray | torch.Tensor, means: np.ndarray | torch.Tensor, variance: float
) -> np.ndarray:
    """Log-odds ``ln P(y=0|x) / P(y=1|x)`` of the true mixture (equal weights, covariance
    ``variance * I``).

    ``x``: (N, d); ``means``: (2, d). For two equal-covariance Gaussians the log-odds is affine in
    x: ``(m0 - m1) . x / v - (|m0|^2 - |m1|^2) / (2 v)``.
    """
    x, m = np.asarray(x, dtype=np.float64), np.asarray(means, dtype=np.float64)
    return (x @ (m[0] - m[1]) - (m[0] @ m[0] - m[1] @ m[1]) / 2) / variance


def gmm_ambiguous_seed(
    cfg: GMMToyConfig, seed: int = 0, lo: float = 0.1, hi: float = 0.9, tries: int = 1000
) -> int:
    """The first data seed ``>= seed`` whose removed point has a Bayes posterior ``P(y=0|x)`` in
    (lo, hi).

    The selection looks only at the data (means and point), never at a trained model: it picks a
    draw where there is something to unlearn, as in the paper's run (its retrained models give
    0.785; deviations.md#xs-gmm-draw).
    """
    if not 0 <= lo < hi <= 1:
        raise bad_value("lo/hi", (lo, hi), "0 <= lo < hi <= 1")
    for s in range(seed, seed + tries):
        d = gmm_toy_data(
            GMMToyConfig(
                dim=cfg.dim,
                n_per_component=1,
                mean_range=cfg.mean_range,
                variance=cfg.variance,
                point_variance=cfg.point_variance,
            ),
            s,
        )
        p0 = 1 / (1 + np.exp(-gmm_bayes_logit(d["x_point"], d["means"], cfg.variance)[0]))
        if lo < p0 < hi:
            return s
    raise ValueError(
        f"no data seed in [{seed}, {seed + tries}) gives a point with Bayes posterior in ({lo}, "
        f"{hi})."
    )


def gmm_bayes_output_mi(
    means: np.ndarray | torch.Tensor, variance: float, n_quad: int = 80
) -> float:
    """Exact ``I(Y_hat; Z)`` of the Bayes classifier's soft outputs when ``Z`` is the component
    (equal weights).

    Given ``Z = z`` the log-odds is ``N(+-s^2/2, s^2)`` with ``s^2 = |m0 - m1|^2 / v``, so the mean
    soft output of each group is a 1-D Gaussian integral, computed by Gauss-Hermite quadrature; the
    plug-in estimator of :func:`companion.theory.information.mi_softmax_plugin` applied to the whole
    population returns this value.
    """
    m = np.asarray(means, dtype=np.float64)
    s2 = float((m[0] - m[1]) @ (m[0] - m[1]) / variance)
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_quad)
    weights = weights / weights.sum()
    a = [
        float(weights @ (1 / (1 + np.exp(-(mu + math.sqrt(s2) * nodes)))))
        for mu in (s2 / 2, -s2 / 2)
    ]
    return mi_from_conditionals(
        np.array([[a[0], 1 - a[0]], [a[1], 1 - a[1]]]), np.array([0.5, 0.5])
    )


def gmm_toy_task(data: dict[str, torch.Tensor], seed: int = 0) -> Task:
    """The toy as a :class:`Task` (forget = the one point), so the registered method can run on
    it."""
    x = torch.cat([data["x_retain"], data["x_point"]])
    y = torch.cat([data["y_retain"], torch.zeros(1, dtype=torch.long)])
    zero, one = torch.zeros(1), torch.ones(1)
    train = Split(x, y, zero, one, index=torch.arange(len(y)))
    empty = train.subset(np.array([], dtype=np.int64))
    return Task(
        name="gmm_toy",
        forget_spec=ForgetSpec("random", 1),
        seed=seed,
        num_classes=2,
        input_shape=(x.shape[1],),
        class_names=("0", "1"),
        train=train,
        test=train,
        retain=train.subset(np.arange(len(y) - 1)),
        forget=train.subset(np.array([len(y) - 1])),
        val=empty,
        retain_test=train,
        forget_test=empty,
        standin=(
            "Gaussian-mixture toy of the authors' GMM notebook (test = train: the toy reports "
            "training accuracy)"
        ),
    )


def gmm_mlp(cfg: GMMToyConfig, seed: int) -> nn.Module:
    """One toy MLP d-64-32-2 with PyTorch's default initialisation drawn from ``seed``."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        h1, h2 = cfg.hidden
        return nn.Sequential(
            nn.Linear(cfg.dim, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, 2)
        )
    finally:
        torch.random.set_rng_state(state)


def ce_stacked(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over models of each model's mean cross-entropy; logits (R, N, C), y (N,)."""
    r, n, c = logits.shape
    return F.cross_entropy(logits.reshape(r * n, c), y.repeat(r), reduction="sum") / n


def train_stacked(
    net: StackedMLP,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    x_point: torch.Tensor | None = None,
    gamma: float = 0.0,
    formulation: str = "clamped",
) -> StackedMLP:
    """Full-batch Adam on ``CE(x, y)`` (+ ``gamma * I_hat`` of the paper's construction with D_u =
    ``x_point``)."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        if x_point is None or gamma == 0:
            loss = ce_stacked(net(x), y)
        else:
            out = net(torch.cat([x, x_point]))
            lr_, lu_ = out[:, : len(x)], out[:, len(x) :]
            loss = ce_stacked(lr_, y) + gamma * marginal_mi(lr_, lu_, formulation=formulation).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net


def _clone(net: StackedMLP) -> StackedMLP:
    import copy

    return copy.deepcopy(net)


def gmm_toy_experiment(
    cfg: GMMToyConfig, seed: int = 0, device: str | torch.device = "cpu"
) -> dict:
    """Original, retrain, MI unlearning and fine-tune on the toy, ``cfg.n_reps`` repetitions.

    Repetition r initialises the original from seed ``seed * 100_003 + r`` and the retrained model
    from a different draw; the data are one draw from ``seed``. MI unlearning and fine-tuning start
    from each repetition's original with a fresh Adam.

    Returns
    -------
    dict
        ``p0`` and ``train_acc``: ``{method: array (R,)}`` with ``P(y = 0 | x)`` for the removed
        point and the accuracy on D_r plus the point, for original, retrain, mi_unlearning, finetune
        and ``ce_only`` (the unlearning steps with gamma = 0: what a fresh Adam does without the
        MI); ``mi``: ``{method: array (R,)}`` the full-batch ``I_hat`` of the construction;
        ``data``; ``original``: the stacked originals.
    """
    data = gmm_toy_data(cfg, seed)
    dev = torch.device(device)
    xr, yr, xp = data["x_retain"].to(dev), data["y_retain"].to(dev), data["x_point"].to(dev)
    xall, yall = torch.cat([xr, xp]), torch.cat([yr, torch.zeros(1, dtype=torch.long, device=dev)])
    base = seed * 100_003
    orig = StackedMLP([gmm_mlp(cfg, base + r) for r in range(cfg.n_reps)]).to(dev)
    train_stacked(orig, xall, yall, cfg.train_steps, cfg.lr)
    retr = StackedMLP([gmm_mlp(cfg, base + 50_000 + r) for r in range(cfg.n_reps)]).to(dev)
    train_stacked(retr, xr, yr, cfg.train_steps, cfg.lr)
    mi_net = train_stacked(
        _clone(orig), xr, yr, cfg.unlearn_steps, cfg.lr, xp, cfg.gamma, cfg.formulation
    )
    ft = train_stacked(_clone(orig), xr, yr, cfg.finetune_steps, cfg.lr)
    # control: the same steps with gamma = 0
    ce_only = train_stacked(_clone(orig), xr, yr, cfg.unlearn_steps, cfg.lr)
    p0, acc, mi = {}, {}, {}
    with torch.no_grad():
        for name, net in (
            ("original", orig),
            ("retrain", retr),
            ("mi_unlearning", mi_net),
            ("finetune", ft),
            ("ce_only", ce_only),
        ):
            out = net(xall)
            p0[name] = torch.softmax(out[:, -1].double(), -1)[:, 0].cpu().numpy()
            acc[name] = (out.argmax(-1) == yall).double().mean(1).cpu().numpy()
            mi[name] = (
                marginal_mi(out[:, :-1].double(), out[:, -1:].double(), formulation="stable")
                .cpu()
                .numpy()
            )
    return {"p0": p0, "train_acc": acc, "mi": mi, "data": data, "original": orig}
