"""Audit of the DP-SGD baseline's Opacus accountant on very small data
(deviations.md#cert-dpsgd-normalisation).

D (``n_other`` points whose gradient is zero) against D plus one canary, each trained many times by
the baseline's own :func:`companion.methods.dpsgd.train_dp`; the release is the weight column of a 1
-> 2 linear model. The lower bounds and the one-run audit are those of
:mod:`companion.experiments.cert_audit`.
"""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import torch
from scipy import stats

from ..data.tasks import Split
from ..methods.dpsgd import DPSGDConfig, train_dp
from ..metrics.epsilon import empirical_epsilon_lower_bound
from ..metrics.one_run import one_run_search
from .cert_audit import DELTA, one_run_canaries


def _statistics(w: np.ndarray) -> dict[str, np.ndarray]:
    """The canary's push (projection on (1, -1) / sqrt 2) and the noise-only spread across it."""
    return {
        "projection": (w[:, 0] - w[:, 1]) / math.sqrt(2),
        "spread": -np.abs(w.sum(1)) / math.sqrt(2),
    }


def dpsgd_task(n_other: int, canary: bool):
    """A tiny task for :func:`companion.methods.dpsgd.train_dp`: ``n_other`` points with input 0
    (zero gradient for a bias-free linear model) and, with ``canary``, one point with input 100 (its
    gradient, always clipped to C, points along (1, -1) on the weight column). All labels are 1."""
    xs = [0.0] * n_other + ([100.0] if canary else [])
    x = torch.tensor(xs, dtype=torch.float32).view(-1, 1)
    y = torch.ones(len(xs), dtype=torch.long)
    return SimpleNamespace(train=Split(x, y, torch.zeros(1), torch.ones(1)), forget=[0])


def dpsgd_releases(
    n_other: int, canary: bool, runs: int, cfg, seed: int = 0
) -> tuple[np.ndarray, dict]:
    """``runs`` DP-SGD trainings (the baseline's own :func:`~companion.methods.dpsgd.train_dp`:
    Opacus, Poisson sampling, its RDP accountant) of a zero-initialised 1 -> 2 linear model; returns
    the final weight columns (runs, 2) and the last run's log (the accountant's eps)."""
    task = dpsgd_task(n_other, canary)
    out = np.zeros((runs, 2))
    log: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(runs):
            net = torch.nn.Linear(1, 2, bias=False)
            torch.nn.init.zeros_(net.weight)
            log = train_dp(net, task, cfg, seed + i, "cpu")
            out[i] = net.weight.detach().double().numpy()[:, 0]
    return out, log


def dpsgd_audit(
    n_other: int,
    runs: int,
    epsilon: float = 1.0,
    seed: int = 0,
    alpha: float = 0.05,
    train_epochs: int = 4,
) -> dict:
    """Audit the Opacus accountant of the DP-SGD baseline on D (``n_other`` points) vs D plus one
    canary.

    Statistics (alpha / 2 each): the projection of the weight column on (1, -1) / sqrt 2 (the
    canary's push) and the spread -|w . (1, 1) / sqrt 2| across it (noise only: its scale is all
    that can differ). The claim is the accountant's eps at delta for the larger of the two runs'
    logs (k = 1: per-example DP). The named statistic is the ratio of the release's noise sd without
    / with the canary, with its F-distribution interval at 1 - alpha: the accountant analyses noise
    that does not depend on the data set (ratio 1); ``scale_flag`` says the interval excludes 1.
    """
    cfg = DPSGDConfig(
        epsilon=epsilon,
        delta=DELTA,
        k=1,
        train_epochs=train_epochs,
        batch_size=128,
        max_grad_norm=1.0,
        lr=0.5,
    )
    w_in, log_in = dpsgd_releases(n_other, True, runs, cfg, seed)
    w_out, log_out = dpsgd_releases(n_other, False, runs, cfg, seed + 100_000)
    claim = max(log_in["epsilon"], log_out["epsilon"])
    stats_in, stats_out = _statistics(w_in), _statistics(w_out)
    cp = {
        k: empirical_epsilon_lower_bound(stats_in[k], stats_out[k], DELTA, alpha / 2)["eps_lb"]
        for k in stats_in
    }
    ks = [(k, k) for k in sorted({max(1, runs // 20), max(1, runs // 5)})]
    one = {}
    for k in stats_in:
        s, inc = one_run_canaries(stats_in[k], stats_out[k], seed)
        one[k] = one_run_search(s, inc, ks, DELTA, alpha / 2)["eps_lb"]
    var_ratio = float(np.var(w_out.sum(1), ddof=1) / np.var(w_in.sum(1), ddof=1))
    lo, hi = (
        var_ratio / float(stats.f.ppf(q, runs - 1, runs - 1)) for q in (1 - alpha / 2, alpha / 2)
    )
    return {
        "n": n_other,
        "n_with_canary": n_other + 1,
        "runs": runs,
        "claim": claim,
        "noise_multiplier": log_in["noise_multiplier"],
        "sample_rate": log_in["sample_rate"],
        "eps_lb_projection": cp["projection"],
        "eps_lb_spread": cp["spread"],
        "eps_lb": max(cp.values()),
        "eps_lb_one_run": max(one.values()),
        "sd_ratio": math.sqrt(var_ratio),
        "sd_ratio_ci": (math.sqrt(lo), math.sqrt(hi)),
        "expected_sd_ratio": (n_other + 1) / max(n_other, 1),
        "lb_flag": max(cp.values()) > claim or max(one.values()) > claim,
        "scale_flag": lo > 1.0,
    }
