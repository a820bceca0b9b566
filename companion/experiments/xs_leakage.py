"""Which leakage estimator and which leakage measure should Xu & Strohmer's data-unlearning
regulariser use (arXiv 2502.05684; the paper's plug-in and its open questions)?

* :func:`estimator_study`: bias and spread of the MI estimators of
  :mod:`companion.theory.leakage` over batch sizes on the Gaussian-mixture toy, against each
  estimator's own population value and against ``I(L; Z)`` (:mod:`companion.theory.leakage_toy`);
* :func:`measure_study`: estimation error of the plug-in family (Shannon, Renyi, chi^2, JS) and of
  MMD^2 against sample size on the toy;
* :func:`audit_study`: every estimator and measure as an audit of digit-removal models;
* the regularisers themselves: :mod:`companion.experiments.xs_leakage_train`.

:class:`LeakageSetting` says what each profile runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import ProfileSetting, bad_value, number_in
from ..theory import leakage as lk
from ..theory.leakage_toy import toy_logits, toy_populations
from ..theory.mi_estimators import marginal_batch

ESTIMATORS = ("plugin", "sharp", "hard", "knn", "infonce")
MEASURES = ("shannon", "renyi", "chi2", "js", "mmd2")
REGULARISERS = ("plugin", "sharp", "infonce", "renyi", "chi2", "js", "mmd2")
NOT_DIFFERENTIABLE = ("hard", "knn")
# the population value each estimator converges to on the toy (keys of toy_populations)
TARGETS = {
    "plugin": "shannon",
    "sharp": "sharp",
    "hard": "hard",
    "knn": "output_mi",
    "infonce": "output_mi",
}


def _ints(name: str, v: tuple, low: int) -> None:
    if not v or any(isinstance(a, bool) or not isinstance(a, int) or a < low for a in v):
        raise bad_value(name, v, f"a non-empty tuple of integers >= {low}")


@dataclass(frozen=True)
class LeakageSetting(ProfileSetting):
    """What the leakage chapter runs.

    Toy: ``separation`` s of the mixture (Bayes accuracy ``Phi(s / 2)``), ``batch_sizes`` (rows per
    group) for the estimators, ``sample_sizes`` for the measures, ``n_rep`` samples each; the
    measures' knobs ``alpha`` (Renyi order), ``bandwidth`` (MMD kernel on softmax vectors), ``tau``
    (sharpened plug-in), ``k`` (kNN) and the InfoNCE critic (``critic_steps`` of Adam on
    ``critic_n`` rows per group, ``critic_hidden`` units). Digit removal: the task and split of
    :class:`companion.experiments.digit_removal.DigitRemovalConfig`, the ``regularisers`` with the
    same ``gammas``, ``n_trials`` batch orders, at most ``epochs`` epochs, the stopping rule
    checked every ``check_every`` steps, utility on ``utility_eval`` test images (0: all), audits
    on ``audit_boot`` random batches. QUICK: the embedded 4,000-image MNIST subset, two trials.
    """

    QUICK = {
        "task": "mnist5k",
        "batch_sizes": (8, 32, 128),
        "sample_sizes": (16, 64, 256),
        "n_rep": 100,
        "critic_steps": 150,
        "critic_n": 1024,
        "n_trials": 2,
        "epochs": 2,
        "check_every": 1,
        "utility_eval": 400,
        "audit_boot": 60,
    }
    FULL = {}

    separation: float = 2.0
    batch_sizes: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    sample_sizes: tuple[int, ...] = (16, 64, 256, 1024, 2048)
    n_rep: int = 400
    alpha: float = 2.0
    bandwidth: float = 0.5
    tau: float = 0.25
    k: int = 3
    critic_steps: int = 400
    critic_n: int = 2048
    critic_hidden: int = 32
    task: str = "mnist"
    forget_class: int = 3
    share: float = 0.75
    arch: str = "mlp"
    regularisers: tuple[str, ...] = REGULARISERS
    gammas: tuple[float, ...] = (1.0, 4.0, 16.0)
    n_trials: int = 5
    epochs: int = 5
    lr: float = 1e-3
    retain_batch: int = 64
    forget_batch: int = 16
    check_every: int = 36
    utility_eval: int = 0
    audit_boot: int = 400

    def __post_init__(self) -> None:
        for name in ("separation", "alpha", "bandwidth", "tau", "lr"):
            number_in(name, getattr(self, name), 0.0)
        _ints("batch_sizes", self.batch_sizes, self.k + 1)
        _ints("sample_sizes", self.sample_sizes, 2)
        for name in ("n_rep", "critic_n", "critic_hidden", "n_trials", "epochs"):
            _ints(name, (getattr(self, name),), 1)
        for name in ("retain_batch", "forget_batch", "check_every", "audit_boot", "k"):
            _ints(name, (getattr(self, name),), 1)
        _ints("critic_steps", (self.critic_steps,), 0)
        _ints("utility_eval", (self.utility_eval,), 0)
        bad = [r for r in self.regularisers if r not in REGULARISERS]
        if bad or not self.regularisers:
            raise bad_value("regularisers", self.regularisers, f"names among {REGULARISERS}")
        if not self.gammas or any(
            isinstance(g, bool) or not isinstance(g, (int, float)) or not g >= 0
            for g in self.gammas
        ):
            raise bad_value("gammas", self.gammas, "a non-empty tuple of numbers >= 0")
        number_in("share", self.share, 0.0, 1.0, high_open=False)


# --------------------------------------------------------------------------------------------
# InfoNCE critic (binary group, input: the log-softmax outputs)
# --------------------------------------------------------------------------------------------


def critic_net(n_classes: int, hidden: int, seed: int) -> nn.Module:
    """A critic ``g: log-softmax (C) -> R^2`` with scores ``f(y, z) = g(y)[z]`` (float64)."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return nn.Sequential(
            nn.Linear(n_classes, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 2),
        ).double()  # fmt: skip
    finally:
        torch.random.set_rng_state(state)


def infonce(critic: nn.Module, logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """InfoNCE bound of ``critic`` on logits (..., N, C), z (N,) -> (...)."""
    g = critic(torch.log_softmax(logits, -1))
    return lk.infonce_binary(g, z)


def fit_critic(
    logits: torch.Tensor, z: torch.Tensor, steps: int, hidden: int = 32, seed: int = 0
) -> nn.Module:
    """Train a critic by full-batch Adam (rate 0.01) to maximise the InfoNCE bound on logits (N, C),
    z (N,): the bound then estimates the MI on fresh batches."""
    critic = critic_net(logits.shape[-1], hidden, seed).to(logits.device)
    opt = torch.optim.Adam(critic.parameters(), lr=0.01)
    x = logits.double()
    for _ in range(steps):
        loss = -infonce(critic, x, z)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return critic.requires_grad_(False)


# --------------------------------------------------------------------------------------------
# Toy studies
# --------------------------------------------------------------------------------------------


def estimate_all(
    logits: torch.Tensor, z: torch.Tensor, setting: LeakageSetting, critic: nn.Module | None
) -> dict[str, np.ndarray]:
    """Every estimator of :data:`ESTIMATORS` (InfoNCE only with a ``critic``) and measure of
    :data:`MEASURES` on logits (R, N, C), z (N,) -> ``{name: array (R,)}``. ``knn`` runs on the
    log-softmax outputs."""
    s = setting
    out = {
        "plugin": lk.table_measure(logits, z, "shannon"),
        "sharp": lk.mi_sharpened(logits, z, s.tau),
        "hard": lk.mi_hard_plugin(logits, z),
        "knn": torch.cat(
            [
                lk.mi_knn_discrete(torch.log_softmax(c, -1), z, s.k)
                for c in logits.double().split(25)
            ]
        ),
        "renyi": lk.table_measure(logits, z, "renyi", s.alpha),
        "chi2": lk.table_measure(logits, z, "chi2"),
        "js": lk.table_measure(logits, z, "js"),
        "mmd2": torch.cat([lk.mmd2(c, z, s.bandwidth) for c in logits.split(25)]),
    }
    if critic is not None:
        with torch.no_grad():
            out["infonce"] = infonce(critic, logits.double(), z)
    return {k: v.detach().double().cpu().numpy() for k, v in out.items()}


def estimator_study(setting: LeakageSetting, seed: int = 0, device=None) -> pd.DataFrame:
    """Bias and spread of the estimators on the toy at each batch size (rows per group).

    Returns one row per (estimator, n): ``target`` (the population value the estimator converges to:
    :data:`TARGETS`), ``mean``, ``std``, ``bias`` (mean - target), ``rmse`` (against the target),
    ``bias_output_mi`` (against ``I(L; Z)``, what the output carries) and ``differentiable``.
    The samples are drawn on the CPU (the same for every device) and estimated on ``device``.
    """
    s = setting
    pop = toy_populations(s.separation, s.alpha, s.bandwidth, s.tau)
    tr, tz = toy_logits(s.separation, s.critic_n, 1, seed + 10_000)
    dev = torch.device(device or "cpu")
    critic = fit_critic(tr[0].to(dev), tz.to(dev), s.critic_steps, s.critic_hidden, seed)
    rows = []
    for i, n in enumerate(s.batch_sizes):
        lo, z = toy_logits(s.separation, n, s.n_rep, seed + i)
        est = estimate_all(lo.to(dev), z.to(dev), s, critic)
        for name in ESTIMATORS:
            v, t = est[name], pop[TARGETS[name]]
            rows.append(
                {
                    "estimator": name,
                    "n": n,
                    "target": t,
                    "mean": v.mean(),
                    "std": v.std(ddof=1),
                    "bias": v.mean() - t,
                    "rmse": math.sqrt(((v - t) ** 2).mean()),
                    "bias_output_mi": v.mean() - pop["output_mi"],
                    "differentiable": name not in NOT_DIFFERENTIABLE,
                }
            )
    return pd.DataFrame(rows)


def measure_study(setting: LeakageSetting, seed: int = 0, device=None) -> pd.DataFrame:
    """Estimation error of each measure of :data:`MEASURES` against its population value on the
    toy, at each sample size (rows per group).

    One row per (measure, n): ``population``, ``mean``, ``std``, ``rel_bias`` and ``rel_rmse``
    (relative to the population value, so measures on different scales compare). Samples are
    drawn on the CPU and measured on ``device``.
    """
    s = setting
    pop = toy_populations(s.separation, s.alpha, s.bandwidth, s.tau)
    rows = []
    for i, n in enumerate(s.sample_sizes):
        lo, z = toy_logits(s.separation, n, s.n_rep, seed + 100 + i)
        lo, z = lo.to(device or "cpu"), z.to(device or "cpu")
        est = {
            "shannon": lk.table_measure(lo, z, "shannon"),
            "renyi": lk.table_measure(lo, z, "renyi", s.alpha),
            "chi2": lk.table_measure(lo, z, "chi2"),
            "js": lk.table_measure(lo, z, "js"),
            "mmd2": torch.cat(
                [lk.mmd2(c, z, s.bandwidth) for c in lo.split(max(1, 2_000_000 // (4 * n * n)))]
            ),
        }
        for name in MEASURES:
            v, p = est[name].cpu().numpy(), pop[name]
            rows.append(
                {
                    "measure": name,
                    "n": n,
                    "population": p,
                    "mean": v.mean(),
                    "std": v.std(ddof=1),
                    "rel_bias": (v.mean() - p) / p,
                    "rel_rmse": math.sqrt(((v - p) ** 2).mean()) / p,
                }
            )
    return pd.DataFrame(rows)


def loglog_slope(n: np.ndarray | list, err: np.ndarray | list) -> float:
    """Least-squares slope of ``ln err`` on ``ln n`` (the error's rate: -1/2 for a root-n rate)."""
    n, err = np.asarray(n, dtype=float), np.asarray(err, dtype=float)
    if len(n) < 2 or len(n) != len(err) or np.any(n <= 0) or np.any(err <= 0):
        raise bad_value("n/err", (n.tolist(), err.tolist()), "two or more positive pairs")
    return float(np.polyfit(np.log(n), np.log(err), 1)[0])


# --------------------------------------------------------------------------------------------
# Audits of trained models
# --------------------------------------------------------------------------------------------


def audit_study(
    outputs: dict[str, tuple[torch.Tensor, torch.Tensor]],
    setting: LeakageSetting,
    seed: int = 0,
) -> pd.DataFrame:
    """Every estimator but InfoNCE and every measure as an audit, on random batches of the paper's
    construction (``retain_batch`` D_r rows, ``forget_batch`` D_u rows).

    ``outputs``: ``{model: (logits on D_r (M_r, C), logits on D_u (M_u, C))}``. The same batch
    indices serve every model (paired). Returns one row per (model, measure): ``mean`` and ``std``
    over ``audit_boot`` batches.
    """
    s = setting
    if not outputs:
        raise bad_value("outputs", outputs, "a non-empty dict of (D_r, D_u) logits")
    m_r, m_u = (len(t) for t in next(iter(outputs.values())))
    if s.retain_batch > m_r or s.forget_batch > m_u:
        raise bad_value("outputs", (m_r, m_u), "at least a batch of D_r and of D_u outputs")
    gen = torch.Generator().manual_seed(seed)
    ir = torch.stack(
        [torch.randperm(m_r, generator=gen)[: s.retain_batch] for _ in range(s.audit_boot)]
    )
    iu = torch.stack(
        [torch.randperm(m_u, generator=gen)[: s.forget_batch] for _ in range(s.audit_boot)]
    )
    rows = []
    for model, (lr_, lu_) in outputs.items():
        logits, z = marginal_batch(lr_.double()[ir], lu_.double()[iu])
        est = estimate_all(logits, z, s, None)
        for name in ("plugin", "hard", "knn", "sharp", "renyi", "chi2", "js", "mmd2"):
            rows.append(
                {
                    "model": model,
                    "measure": name,
                    "mean": est[name].mean(),
                    "std": est[name].std(ddof=1),
                }
            )
    return pd.DataFrame(rows)


def audit_separation(audit: pd.DataFrame, a: str, b: str) -> pd.Series:
    """Per measure, ``(mean_a - mean_b) / sqrt((std_a^2 + std_b^2) / 2)``: how many batch-to-batch
    standard deviations one batch's audit separates models ``a`` and ``b`` by."""
    t = audit.pivot(index="measure", columns="model", values=["mean", "std"])
    for m in (a, b):
        if m not in t["mean"].columns:
            raise bad_value("model", m, f"one of {list(t['mean'].columns)}")
    pooled = np.sqrt((t["std"][a] ** 2 + t["std"][b] ** 2) / 2)
    return ((t["mean"][a] - t["mean"][b]) / pooled).rename(f"{a} vs {b}")
