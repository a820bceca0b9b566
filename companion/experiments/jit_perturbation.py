"""Does JiT's perturbation law matter? Gaussian, uniform, Laplace and antithetic perturbations at a
matched scale (an open question of Foster et al., TMLR 2025; ``notebooks/jit/06``).

JiT's loss (Algorithm 1, line 6) averages ``||f(x) - f(x + xi_j)|| / ||xi_j||`` over ``N``
perturbations ``xi_j = sigma z_j`` with ``z_j ~ N(0, I_d)``. The option ``perturbation`` of
:class:`~companion.methods.jit_config.JitConfig` draws ``z_j`` from other laws, every one with zero
mean and unit variance per coordinate (:func:`companion.methods.jit_loss.draw_noise`): then
``E||xi||^2 = sigma^2 d`` exactly, and ``E||xi||`` agrees with the Gaussian's to ``O(1/d)``
(:func:`approx_expected_norm`; checked by :func:`norm_check`). What is matched is therefore the
second moment; the first moment of the norm follows.

:func:`estimator_spread` measures how much one N-sample loss estimate and its gradient vary over
draws (the reason to try antithetic pairs), and :func:`run_perturbation` runs JiT with each law over
a grid of sigma on the three forgetting tables and scores D_r, D_f and the attacks with
:func:`companion.metrics.evaluate`, next to the original (BSLN) and the cached retrained model
(RTRN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import methods, metrics, models
from ..checks import bad_value, finite, integer
from ..config import ProfileSetting
from ..methods.jit_config import PERTURBATIONS
from ..methods.jit_loss import draw_noise, jit_loss
from .jit_settings import TABLES, jit_settings, load_task, table_setting

#: Kurtosis ``E z^4`` of each law's unit-variance coordinate (antithetic pairs are Gaussian).
KURTOSIS = {"gaussian": 3.0, "uniform": 9.0 / 5.0, "laplace": 6.0, "antithetic": 3.0}

#: FULL: the largest data here (no CIFAR): full MNIST for class and random forgetting; sub-class
#: forgetting needs superclasses, which only the embedded digit sets have (MNIST-5k's shape groups).
FULL_TASKS = {
    "full_class": ("mnist", "small_cnn", "class:3"),
    "subclass": ("mnist5k", "small_cnn", "subclass:8"),
    "random": ("mnist", "small_cnn", "random:100"),
}

#: The control arm: the Gaussian law again with another perturbation stream (JiT seed + offset), so
#: that a law's effect can be told from the run-to-run variation of one N-sample estimate.
REDRAW = "gaussian (redraw)"
REDRAW_OFFSET = 10_000

SCORES = ("Dr", "Df", "mia_entropy", "mia_loss_auc", "retain_acc", "forget_acc", "test_acc")


def gaussian_expected_norm(d: int, sigma: float = 1.0) -> float:
    """``E||sigma z||`` for ``z ~ N(0, I_d)``: ``sigma sqrt(2) Gamma((d+1)/2) / Gamma(d/2)`` (the
    mean of a chi distribution with ``d`` degrees of freedom)."""
    d = integer("d", d, 1)
    sigma = finite("sigma", sigma)
    return sigma * math.sqrt(2.0) * math.exp(math.lgamma((d + 1) / 2) - math.lgamma(d / 2))


def approx_expected_norm(law: str, d: int, sigma: float = 1.0) -> float:
    """``E||xi||`` to second order for ``d`` i.i.d. unit-variance coordinates of ``law`` scaled by
    ``sigma``.

    With ``S = ||z||^2``, ``E S = d`` and ``Var S = d (kappa - 1)`` (``kappa`` = :data:`KURTOSIS`);
    the delta method gives ``E sqrt(S) ~ sqrt(d) (1 - (kappa - 1) / (8 d))``.
    """
    if law not in PERTURBATIONS:
        raise bad_value("law", law, f"one of {PERTURBATIONS}")
    d = integer("d", d, 1)
    sigma = finite("sigma", sigma)
    return sigma * math.sqrt(d) * (1.0 - (KURTOSIS[law] - 1.0) / (8.0 * d))


def norm_check(
    dims: tuple[int, ...] = (64, 784), sigma: float = 0.5, n_draws: int = 4000, seed: int = 0
) -> pd.DataFrame:
    """Sample ``n_draws`` perturbations of each law in each dimension and compare their moments.

    Returns
    -------
    DataFrame indexed by (law, d): ``E||xi||^2 / (sigma^2 d)`` (1 for every law), ``E||xi||`` over
    the Gaussian's exact value (measured and as :func:`approx_expected_norm` predicts), and the
    standard error of the measured ratio.
    """
    sigma = finite("sigma", sigma)
    n_draws = integer("n_draws", n_draws, 2)
    rows = []
    for d in dims:
        d = integer("d", d, 1)
        ref = gaussian_expected_norm(d, sigma)
        for law in PERTURBATIONS:
            gen = torch.Generator().manual_seed(seed)
            x = torch.zeros(1, d, dtype=torch.float64)
            z = torch.stack(list(draw_noise(n_draws, x, gen, law)))[:, 0]  # (n_draws, d)
            norms = (sigma * z).norm(dim=1)
            rows.append(
                {
                    "law": law,
                    "d": d,
                    "E|xi|^2 / (sigma^2 d)": float((norms**2).mean()) / (sigma**2 * d),
                    "E|xi| / Gaussian's": float(norms.mean()) / ref,
                    "predicted": approx_expected_norm(law, d, sigma) / ref,
                    "std error": float(norms.std()) / ref / math.sqrt(n_draws),
                }
            )
    return pd.DataFrame(rows).set_index(["law", "d"])


def estimator_spread(
    model: nn.Module,
    x: torch.Tensor,
    sigma: float,
    n_samples: int,
    law: str,
    n_repeats: int = 20,
    seed: int = 0,
) -> dict[str, float]:
    """How much one N-sample JiT loss (paper variant: eval mode, mean over the batch) and its
    gradient vary over independent draws of the perturbations, at fixed weights. All ``N``
    perturbations go through the network in one forward (``chunk=n_samples``; the same numbers as
    JiT's own chunking up to rounding, and faster for the small inputs this is run on).

    Parameters
    ----------
    model : nn.Module
        Not modified (its mode is restored).
    x : Tensor (B, ...)
        A forget batch.
    n_repeats : int
        Independent estimates (generator seeds ``seed .. seed + n_repeats - 1``).

    Returns
    -------
    dict
        ``loss_mean``, ``loss_std`` (over repeats) and ``grad_rel_var``: ``E||g - mean g||^2 /
        ||mean g||^2`` over the repeats' gradients ``g`` with respect to the weights.
    """
    if law not in PERTURBATIONS:
        raise bad_value("law", law, f"one of {PERTURBATIONS}")
    sigma = finite("sigma", sigma)
    n_samples = integer("n_samples", n_samples, 1)
    n_repeats = integer("n_repeats", n_repeats, 2)
    was_training = model.training
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    losses, grads = [], []
    for r in range(n_repeats):
        gen = torch.Generator(device=x.device).manual_seed(seed + r)
        loss = jit_loss(model, x, sigma, n_samples, gen, perturbation=law, chunk=n_samples)
        g = torch.autograd.grad(loss, params)
        losses.append(float(loss.detach()))
        grads.append(torch.cat([t.reshape(-1) for t in g]).double())
    model.train(was_training)
    gm = torch.stack(grads)
    mean = gm.mean(0)
    rel = float(((gm - mean) ** 2).sum(1).mean() / (mean**2).sum().clamp_min(1e-300))
    return {
        "loss_mean": float(np.mean(losses)),
        "loss_std": float(np.std(losses, ddof=1)),
        "grad_rel_var": rel,
    }


@dataclass(frozen=True)
class PerturbationSetting(ProfileSetting):
    """What the perturbation-law experiment runs per profile.

    QUICK: the three QUICK tables (8x8 digits, small CNN; :mod:`.jit_settings`), JiT's
    validation-chosen eta per table, three sigmas around the chosen one, one seed. FULL: the
    :data:`FULL_TASKS` (full MNIST where the data allow), the reference code's N, batch and eta
    rule, a wider sigma grid and three seeds.
    """

    profile: str = "quick"
    tables: tuple[str, ...] = ("full_class", "subclass", "random")
    laws: tuple[str, ...] = PERTURBATIONS
    sigmas: tuple[float, ...] = (0.25, 0.5, 1.0)
    seed: int = 0
    n_seeds: int = 1
    n_repeats: int = 6

    QUICK = {}
    FULL = {"sigmas": (0.1, 0.25, 0.5, 1.0, 2.0), "n_seeds": 3, "n_repeats": 50}

    @property
    def seeds(self) -> list[int]:
        """``seed, ..., seed + n_seeds - 1``."""
        return list(range(self.seed, self.seed + self.n_seeds))

    def __post_init__(self) -> None:
        bad = [t for t in self.tables if t not in TABLES]
        if not self.tables or bad:
            raise bad_value("tables", self.tables, f"a non-empty tuple of {tuple(TABLES)}")
        bad = [law for law in self.laws if law not in PERTURBATIONS]
        if not self.laws or bad:
            raise bad_value("laws", self.laws, f"a non-empty tuple of {PERTURBATIONS}")
        if not self.sigmas:
            raise bad_value("sigmas", self.sigmas, "a non-empty tuple of numbers > 0")
        for s in self.sigmas:
            finite("sigmas", s)
        integer("seed", self.seed, 0)
        integer("n_seeds", self.n_seeds, 1)
        integer("n_repeats", self.n_repeats, 2)

    def table_setting(self, table: str) -> dict[str, str]:
        """The resolved (task, arch, forget, kind) of ``table`` in this profile."""
        if self.profile == "full":
            return table_setting(table, "full", *FULL_TASKS[table])
        return table_setting(table, self.profile)


@dataclass
class PerturbationResult:
    """What :func:`run_perturbation` returns.

    runs : one row per (table, law, sigma, seed): :data:`SCORES` of the JiT model, ``step_norm``
        (the mean length of its SGD steps) and ``seconds``.
    references : one row per (table, label in {BSLN, RTRN}, seed): the same scores.
    spread : one row per (table, law, sigma, seed): :func:`estimator_spread` on the original model
        and the first forget batch.
    """

    runs: pd.DataFrame
    references: pd.DataFrame
    spread: pd.DataFrame
    setting: PerturbationSetting


def run_perturbation(
    setting: PerturbationSetting,
    device: str = "cpu",
    data_root: str | None = None,
    show_progress: bool = False,
) -> PerturbationResult:
    """Run JiT (paper variant) with every law of ``setting`` over its sigmas, tables and seeds.

    Per table and seed: the original is :func:`companion.models.train_or_load`'s cached model (the
    same checkpoint the table chapters use), RTRN the cached retrained model; JiT gets the table's
    settings (:func:`.jit_settings.jit_settings`) with ``sigma`` and ``perturbation`` replaced.
    """
    if not isinstance(setting, PerturbationSetting):
        raise bad_value("setting", type(setting).__name__, "a PerturbationSetting")
    runs, refs, spread = [], [], []
    for table in setting.tables:
        st = setting.table_setting(table)
        base_kw = jit_settings(st["kind"], setting.profile, st["task"], st["arch"])
        for seed in setting.seeds:
            task = load_task(st, seed, data_root)
            original = models.train_or_load(
                task, st["arch"], setting.profile, seed, device=device, show_progress=show_progress
            )
            rt = methods.unlearn(
                "retrain", original, task, setting.profile, seed, device, use_cache=True
            )
            for label, model in (("BSLN", original), ("RTRN", rt)):
                s = metrics.evaluate(model, task, device, seed=seed)
                refs.append({"table": table, "label": label, "seed": seed, **_scores(s)})
            cfg = methods.config_of("jit", setting.profile, **base_kw)
            xb = next(iter(task.forget.batches(cfg.batch_size, device=device)))[0]
            arms = [(law, law, seed) for law in setting.laws]
            if "gaussian" in setting.laws:
                arms.append((REDRAW, "gaussian", seed + REDRAW_OFFSET))
            for sigma in setting.sigmas:
                for label, law, jit_seed in arms:
                    kw = {**base_kw, "sigma": float(sigma), "perturbation": law}
                    res = methods.unlearn(
                        "jit", original, task, setting.profile, jit_seed, device, **kw
                    )
                    s = metrics.evaluate(res, task, device, seed=seed)
                    key = {"table": table, "law": label, "sigma": float(sigma), "seed": seed}
                    step = float(np.mean(res.log["step_norms"]))
                    runs.append({**key, **_scores(s), "step_norm": step, "seconds": res.seconds})
                    if label == REDRAW:
                        continue
                    sp = estimator_spread(
                        original, xb, sigma, cfg.n_samples, law, setting.n_repeats, seed
                    )
                    spread.append({**key, **sp})
    return PerturbationResult(pd.DataFrame(runs), pd.DataFrame(refs), pd.DataFrame(spread), setting)


def _scores(s: dict) -> dict:
    return {k: float(s.get(k, math.nan)) for k in SCORES}


def law_summary(result: PerturbationResult, metric: str) -> pd.DataFrame:
    """Mean of ``metric`` over seeds, rows (table, sigma), columns the laws (and the redraw)."""
    if metric not in SCORES + ("step_norm",):
        raise bad_value("metric", metric, f"one of {SCORES + ('step_norm',)}")
    g = result.runs.groupby(["table", "sigma", "law"], sort=False)[metric].mean()
    cols = list(result.setting.laws) + ([REDRAW] if "gaussian" in result.setting.laws else [])
    return g.unstack("law")[cols]


def largest_law_gap(result: PerturbationResult, metric: str) -> pd.DataFrame:
    """Per (table, sigma): the largest ``|metric(law) - metric(gaussian)|`` over the other laws
    (``law``), and the same gap of the Gaussian redraw (``redraw``): the yardstick."""
    t = law_summary(result, metric)
    if "gaussian" not in t.columns:
        raise bad_value("laws", tuple(t.columns), "laws that include 'gaussian'")
    others = t.drop(columns=["gaussian", REDRAW])
    return pd.DataFrame(
        {
            "law": others.sub(t["gaussian"], axis=0).abs().max(axis=1),
            "redraw": (t[REDRAW] - t["gaussian"]).abs(),
        }
    )


def sigma_effect(result: PerturbationResult, metric: str) -> pd.Series:
    """Per table: the range of ``metric`` over sigma for the Gaussian law (what changing sigma
    does, the yardstick for a law's effect)."""
    t = law_summary(result, metric)["gaussian"]
    return t.groupby(level="table", sort=False).agg(lambda v: float(v.max() - v.min()))
