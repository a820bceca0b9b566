"""Repeated deletion requests under certified unlearning (Koloskova et al., ICML 2025; chapter
cert/06): the noise each accounting needs as the number of requests k grows, and an audit of the
release after k requests.

* :func:`noise_table`: per-step noise of gradient clipping for a target (eps, delta) after each of
  k requests under each accounting of :mod:`companion.theory.repeated` (``OPTIONS``), for the
  paper's settings in :data:`CONFIGS`;
* :func:`request_releases`: k requests of gradient clipping run one after the other on the real
  engine (:func:`companion.stacked.run_stacked`), on the one-parameter flat-loss instance of the
  certificate audit (:mod:`companion.experiments.cert_instances`), from the two extreme starts
  +C0 and -C0; each request starts from the previous release, re-clipped to C0 (``'restart'``, the
  method as shipped) or not (``'continue'``);
* :func:`audit_requests`: the Clopper-Pearson lower bound on eps
  (:func:`companion.metrics.epsilon.empirical_epsilon_lower_bound`) of each composed release
  against the reference each certificate names, beside the certified eps; for the continued chain
  (a Gaussian release) also the standardised shift test of
  :func:`companion.experiments.cert_audit.gaussian_shift_test`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..config import ProfileSetting, bad_value, fraction, integer
from ..data.tasks import Split
from ..methods import certified as M
from ..metrics.epsilon import empirical_epsilon_lower_bound
from ..stacked import Plan, run_stacked
from ..theory import certified as C
from ..theory import privacy as P
from ..theory import repeated as R
from .cert_audit import gaussian_shift_test
from .cert_instances import DELTA, QuadraticNet, gc_config

#: Gradient-clipping settings of the paper compared in the noise table: Figure 1's MNIST setting
#: (the QUICK method config; 2 C0 < 2 C1 / lambda) and Figure 2's CIFAR-10 setting (2 C0 > 2 C1 /
#: lambda), as (C0, C1, gamma, lambda).
CONFIGS = {
    "MNIST (C0 0.01, C1 100, gamma 1e-4, lambda 10)": dict(c0=0.01, c1=100.0, gamma=1e-4, lam=10.0),
    "CIFAR-10 (C0 20, C1 10, gamma 1e-2, lambda 50)": dict(c0=20.0, c1=10.0, gamma=1e-2, lam=50.0),
}
VARIANTS = ("restart", "continue")
#: A start radius no release of the audit reaches: the engine's setup clip is then the identity.
NO_CLIP = 1e12


@dataclass(frozen=True)
class CertRepeatedSetting(ProfileSetting):
    """What the repeated-requests chapter (cert/06) computes, per profile.

    ``k_max``: requests in the noise table; ``per_request``: points forgotten per request (group
    privacy counts them; FULL: Figure 3's 225); ``audit_k``: requests in the audit; ``n_runs``:
    releases per start point and request count; ``audit_epsilon``: the eps the audited runs are
    calibrated for (4: the largest budget of audit/02's QUICK sweep).
    """

    k_max: int = 16
    per_request: int = 10
    audit_k: int = 3
    n_runs: int = 4000
    audit_epsilon: float = 4.0
    FULL = {"k_max": 64, "per_request": 225, "audit_k": 6, "n_runs": 40_000}


def noise_table(
    k_max: int, epsilon: float, delta: float = DELTA, per_request: int = 1, configs=None
) -> pd.DataFrame:
    """sigma of every option of :data:`companion.theory.repeated.OPTIONS` for k = 1..k_max
    requests, per config (default :data:`CONFIGS`), with its ratio to the single-request sigma.

    Returns
    -------
    DataFrame
        Columns config, T, k, option, sigma, ratio; k_max * len(OPTIONS) rows per config.
    """
    k_max = integer("k_max", k_max, 1)
    fraction("delta", delta)
    rows = []
    for name, cfg in (configs or CONFIGS).items():
        T = C.gc_steps(**cfg)
        single = R.noise_for_requests("restart", 1, epsilon, delta, steps=T, **cfg)
        for k in range(1, k_max + 1):
            for option in R.OPTIONS:
                s = R.noise_for_requests(
                    option, k, epsilon, delta, steps=T, per_request=per_request, **cfg
                )
                rows.append(
                    {
                        "config": name,
                        "T": T,
                        "k": k,
                        "option": option,
                        "sigma": s,
                        "ratio": s / single,
                    }
                )
    return pd.DataFrame(rows)


_ONE = Split(torch.zeros(1, 1), torch.zeros(1, dtype=torch.long), torch.zeros(1), torch.ones(1))


def _phase(starts: list, plan: Plan, seed: int) -> np.ndarray:
    res = run_stacked(
        starts,
        [plan] * len(starts),
        _ONE,
        plan.steps,
        seed=seed,
        batch_size=1,
        show_progress=False,
    )
    if int(res.noisy_steps.min()) != plan.steps:
        raise AssertionError(f"a request ran {res.noisy_steps.min()} of its {plan.steps} steps")
    return res.params["w"][:, 0].double().numpy()


def request_releases(
    k: int, n: int, epsilon: float, delta: float = DELTA, variant: str = "restart", seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The releases after requests 1..k of gradient clipping on the flat one-parameter loss (C0 1,
    C1 1e-3, gamma 0.1, lambda 1, T 3, sigma calibrated for (eps, delta)), n runs from each start.

    Request 1 starts at +C0 (the composed release) or -C0 (the reference's start); request i >= 2
    starts from the release of request i - 1, re-clipped to C0 (``'restart'``) or not
    (``'continue'``); fresh noise in every request (seed + 7919 i). Returns, per request, the pair
    (n releases from +C0, n from -C0).
    """
    k, n = integer("k", k, 1), integer("n", n, 8)
    if variant not in VARIANTS:
        raise bad_value("variant", variant, f"one of {VARIANTS}")
    plan, _ = M.plan_for(gc_config(epsilon, delta))
    later = plan if variant == "restart" else dataclasses.replace(plan, c0=NO_CLIP)
    w = _phase([QuadraticNet(plan.c0, 0.0)] * n + [QuadraticNet(-plan.c0, 0.0)] * n, plan, seed)
    out = [(w[:n], w[n:])]
    for i in range(2, k + 1):
        w = _phase([QuadraticNet(float(v), 0.0) for v in w], later, seed + 7919 * i)
        out.append((w[:n], w[n:]))
    return out


def continued_shift(c0: float, gamma: float, lam: float, sigma: float, steps: int) -> float:
    """The exact standardised shift of the continued chain on the flat loss after ``steps`` noisy
    steps in all: means +-rho^steps C0, variance sigma^2 sum_{j<steps} rho^(2j), so mu = 2
    rho^steps C0 / (sigma sqrt(sum_{j<steps} rho^(2j)))."""
    steps = integer("steps", steps, 1)
    rho = 1.0 - gamma * lam
    return float(2 * rho**steps * c0 / (sigma * np.sqrt(np.sum(rho ** (2 * np.arange(steps))))))


def _gaussian_columns(pa, pb, claim, delta, cfg, plan, k, variant) -> dict:
    shift = gaussian_shift_test(pa, pb, claim, delta)
    if variant != "continue":  # not Gaussian: the shift is only descriptive
        nan = float("nan")
        return {
            "mu_hat": shift["mu_hat"],
            "mu_exact": nan,
            "mu_se": nan,
            "eps_exact": nan,
            "shift_flag": False,
        }
    mu = continued_shift(cfg.c0, cfg.gamma, cfg.lam, plan.sigma, k * plan.steps)
    return {
        "mu_hat": shift["mu_hat"],
        "mu_exact": mu,
        "mu_se": float(np.sqrt(2.0 / len(pa) + mu**2 / (4.0 * len(pa)))),
        "eps_exact": P.gaussian_epsilon(mu, delta),
        "shift_flag": shift["shift_flag"],
    }


def audit_requests(
    k: int,
    n: int,
    epsilon: float,
    delta: float = DELTA,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Audit the release after each of 1..k requests against the reference of each certificate.

    * ``restart`` vs ``single``: the k-th release against one request from -C0 (the reference of
      the restart certificate, whose eps is the single-request eps for every k);
    * ``restart`` vs ``chain`` and ``continue`` vs ``chain``: against the same k requests from -C0
      (the reference of the chain bound :func:`companion.theory.repeated.gc_chain_eps_r`).

    Each row: the certified eps of that pair, the CP lower bound of the projection score at
    confidence 1 - alpha, their ratio, the measured standardised mean shift ``mu_hat`` and, for
    ``continue`` (a Gaussian release), the exact standardised shift (:func:`continued_shift`), the
    exact eps of that Gaussian release and the shift test's flag.
    """
    k, n = integer("k", k, 1), integer("n", n, 8)
    fraction("alpha", alpha)
    cfg = gc_config(epsilon, delta)
    plan, cert = M.plan_for(cfg)
    restart = request_releases(k, n, epsilon, delta, "restart", seed)
    cont = request_releases(k, n, epsilon, delta, "continue", seed)
    single_ref = restart[0][1]
    rows = []
    for i in range(1, k + 1):
        chain = R.gc_repeated_epsilon(
            cfg.c0, cfg.c1, cfg.gamma, cfg.lam, plan.sigma, plan.steps, i, delta, reclip=False
        )["epsilon"]
        pairs = [
            ("restart", "single", restart[i - 1][0], single_ref, cert["epsilon"]),
            ("restart", "chain", restart[i - 1][0], restart[i - 1][1], chain),
            ("continue", "chain", cont[i - 1][0], cont[i - 1][1], chain),
        ]
        for variant, ref, pa, pb, claim in pairs:
            lb = empirical_epsilon_lower_bound(pa, pb, delta, alpha)["eps_lb"]
            row = {
                "k": i,
                "variant": variant,
                "reference": ref,
                "claim": claim,
                "eps_lb": lb,
                "tightness": lb / claim,
                "n": n,
            }
            row.update(_gaussian_columns(pa, pb, claim, delta, cfg, plan, i, variant))
            rows.append(row)
    return pd.DataFrame(rows)
