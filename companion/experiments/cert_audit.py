"""Auditing the certificates of Koloskova et al. (ICML 2025): empirical eps lower bounds beside the
certified eps.

A certificate of certified unlearning holds for *any* two start models in the C0 ball, so the
strongest distinguishing experiment starts the real engine (:func:`companion.stacked.run_stacked`)
from two extreme starts, +C0 u and -C0 u, and scores each released model by its projection on u.
Here the model is a one-parameter network whose mean cross-entropy on its one training sample is h/2
w^2 + 1, so the worst cases of the analyses are reachable:

* h = 0 (flat): the gradient vanishes and gradient clipping releases the start contracted by (1 -
  gamma lambda)^T
  plus Gaussian noise: an exactly Gaussian release, for which the shifted-Renyi bound is exact;
* h = (2 - gamma lambda) / gamma (oscillating): an unclipped step maps w to -w, so reused ("frozen")
  noise
  cancels after an even number of steps (the reference code's defect).

Each instance runs n releases from each start in one stacked call (K = 2n models, fresh noise per
model) and is audited two ways:

* :func:`companion.metrics.epsilon.empirical_epsilon_lower_bound`: a threshold chosen on half the
  runs,
  Clopper-Pearson limits on the other half, eps_lb at confidence 1 - alpha (valid for any
  mechanism);
* :func:`companion.metrics.one_run.one_run_search`: the n canaries of one stacked call each start at
  +C0 or
  -C0 by a fair coin (canary i lives in model i only, so the call is (eps, delta)-DP in each
  canary); Steinke, Nasr & Jagielski's (2023) bound at confidence 1 - alpha (Bonferroni over the
  tried k).

Where the release is Gaussian by construction (output perturbation; gradient clipping on the flat
loss) a claim (eps, delta) holds exactly when the standardised mean shift |mean_a - mean_b| / sd is
at most mu*(eps, delta) = 2 / analytic_sigma(2, eps, delta) (Balle & Wang 2018); the audit names
this statistic and flags a claim whose measured shift exceeds mu* by more than 3 standard errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..config import ProfileSetting, bad_value
from ..data.tasks import Split
from ..methods import certified as M
from ..metrics.epsilon import empirical_epsilon_lower_bound
from ..metrics.one_run import one_run_search
from ..models.nets import build
from ..stacked import run_stacked
from ..theory import privacy as P
from .cert_instances import (  # noqa: F401  (re-exported: the instances' home is cert_instances)
    DELTA,
    GAMMA,
    H_OSC,
    LAM,
    METHODS,
    Instance,
    QuadraticNet,
    broken_instances,
    certified_instances,
    gc_config,
)


@dataclass(frozen=True)
class CertAuditSetting(ProfileSetting):
    """How many releases the certificate audit draws (audit/02), per profile.

    ``n_samples`` releases per start point for the one-parameter audits (``runs_factor`` times that
    in FULL), ``eps_sweep`` the certified budgets audited, ``dp_runs`` DP-SGD trainings per data set
    on data sets of ``dp_sizes`` points, ``net_runs`` tiny_mlp releases per start point.
    """

    n_samples: int = 5000
    runs_factor: int = 1
    eps_sweep: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    dp_runs: int = 400
    dp_sizes: tuple[int, ...] = (1,)
    net_runs: int = 256
    FULL = {
        "runs_factor": 10,
        "eps_sweep": (0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
        "dp_runs": 2000,
        "dp_sizes": (1, 3, 9, 99),
        "net_runs": 2048,
    }

    @property
    def n_runs(self) -> int:
        """Releases per start point of the one-parameter audits."""
        return self.runs_factor * self.n_samples


def releases(inst: Instance, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n released parameters from each start (+C0, -C0), one stacked call of 2n models (one training
    sample, batch 1: one step per epoch, so the budget is ``steps_run`` epochs and nothing is
    fine-tuned after it)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 8:
        raise bad_value("n", n, "an integer >= 8 (releases per start)")
    one = Split(torch.zeros(1, 1), torch.zeros(1, dtype=torch.long), torch.zeros(1), torch.ones(1))
    a, b = QuadraticNet(inst.c0, inst.h), QuadraticNet(-inst.c0, inst.h)
    res = run_stacked(
        [a] * n + [b] * n,
        [inst.plan] * (2 * n),
        one,
        inst.steps_run,
        seed=seed,
        batch_size=1,
        noise=inst.noise,
        show_progress=False,
    )
    if int(res.noisy_steps.min()) != min(inst.plan.steps, inst.steps_run):
        raise AssertionError(
            f"{inst.name}: ran {res.noisy_steps.min()} noisy steps, expected "
            f"{min(inst.plan.steps, inst.steps_run)}"
        )
    w = res.params["w"][:, 0].double().numpy()
    return w[:n], w[n:]


def gaussian_shift_test(
    pa: np.ndarray, pb: np.ndarray, claim: float, delta: float, z: float = 3.0
) -> dict:
    """The standardised mean shift of two Gaussian releases against the largest a claim (eps, delta)
    allows.

    mu_hat = |mean_a - mean_b| / pooled sd; allowed mu* = 2 / analytic_sigma(2, eps, delta); its
    standard error sqrt(2/n + mu_hat^2 / (4 n)) (delta method); ``excess_se`` = (mu_hat - mu*) / se;
    flagged above ``z``.
    """
    n = min(len(pa), len(pb))
    sd = math.sqrt(0.5 * (pa.var(ddof=1) + pb.var(ddof=1)))
    mu = abs(pa.mean() - pb.mean()) / max(sd, 1e-300)
    allowed = 2.0 / P.analytic_gaussian_sigma(2.0, claim, delta)
    se = math.sqrt(2.0 / n + mu**2 / (4.0 * n))
    excess = (mu - allowed) / se
    return {
        "mu_hat": mu,
        "mu_allowed": allowed,
        "excess_se": excess,
        "shift_flag": bool(excess > z),
        "eps_gaussian_hat": P.gaussian_epsilon(mu, delta) if mu > 0 else 0.0,
    }


def one_run_canaries(pa: np.ndarray, pb: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n canaries with a fair-coin inclusion each: canary i's score is model i's release from +C0 if
    included, from -C0 if not (the two are independent runs, so this is one draw of the
    randomised-start run)."""
    z = np.random.default_rng(50_021 + seed).random(min(len(pa), len(pb))) < 0.5
    return np.where(z, pa[: len(z)], pb[: len(z)]), z


def scores(w: np.ndarray, c0: float) -> dict[str, np.ndarray]:
    """The audit's two statistics of a release, fixed before any run (higher = "started at +C0"):
    the projection w on the start direction, and the closeness -|w - C0| to the +C0 start (an atom
    there is
    what reused noise leaves on the oscillating loss)."""
    return {"projection": w, "closeness to +C0": -np.abs(w - c0)}


def audit(inst: Instance, n: int, seed: int = 0, alpha: float = 0.05, delta: float = DELTA) -> dict:
    """Run ``inst`` and audit it: CP eps_lb and the one-run eps_lb (each the best of the two
    :func:`scores`, tested at alpha / 2 each, so the maximum holds at confidence 1 - alpha), and,
    for Gaussian releases, the shift test. ``n`` releases per start (times the instance's
    ``runs_factor``)."""
    n = n * inst.runs_factor
    pa, pb = releases(inst, n, seed)
    sa, sb = scores(pa, inst.c0), scores(pb, inst.c0)
    cp = {k: empirical_epsilon_lower_bound(sa[k], sb[k], delta, alpha / len(sa)) for k in sa}
    best = max(cp, key=lambda k: cp[k]["eps_lb"])
    ks = [(k, k) for k in sorted({max(1, n // 50), max(1, n // 10), max(1, n // 4)})]
    one = {}
    for k in sa:
        s, inc = one_run_canaries(sa[k], sb[k], seed)
        one[k] = one_run_search(s, inc, ks, delta, alpha / len(sa))["eps_lb"]
    eps_lb, eps_one = cp[best]["eps_lb"], max(one.values())
    row = {
        "name": inst.name,
        "method": inst.method,
        "claim": inst.claim,
        "eps_lb": eps_lb,
        "eps_lb_one_run": eps_one,
        "statistic": best,
        "tightness": eps_lb / inst.claim,
        "n": n,
        "broken": inst.broken,
        "lb_flag": eps_lb > inst.claim,
        "one_run_flag": eps_one > inst.claim,
        "steps_run": min(inst.plan.steps, inst.steps_run),
        "T": inst.plan.steps,
        "noise": inst.noise,
    }
    if inst.gaussian:
        row.update(gaussian_shift_test(pa, pb, inst.claim, delta))
    else:
        row.update(
            {
                "mu_hat": math.nan,
                "mu_allowed": math.nan,
                "excess_se": math.nan,
                "shift_flag": False,
                "eps_gaussian_hat": math.nan,
            }
        )
    row["flagged"] = bool(row["lb_flag"] or row["one_run_flag"] or row["shift_flag"])
    return row


def audit_all(
    instances: list[Instance], n: int, seed: int = 0, alpha: float = 0.05, delta: float = DELTA
):
    """:func:`audit` over instances (seed + index each), as a pandas DataFrame."""
    return pd.DataFrame(
        [audit(inst, n, seed + 1000 * i, alpha, delta) for i, inst in enumerate(instances)]
    )


# --------------------------------------------------------------------------------------------
# DP-SGD (Opacus): does the accountant's eps survive an audit on very small data?
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# the same audit on a real (tiny) network
# --------------------------------------------------------------------------------------------


def network_audit(
    task,
    arch: str,
    epsilon: float,
    n: int,
    seed: int = 0,
    alpha: float = 0.05,
    delta: float = DELTA,
    n_retain: int = 512,
) -> dict:
    """Gradient clipping with the paper's MNIST setting (C0 0.01, C1 100, gamma 1e-4, lambda 10) on
    ``arch``: n runs from each of +C0 u and -C0 u (u: the unit direction of the architecture's
    seeded initialisation), the first ``n_retain`` retain samples as one full batch (one step per
    epoch, the whole budget noisy, nothing fine-tuned after it), each release scored by its
    projection on u; CP and one-run lower bounds against the certificate."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 8:
        raise bad_value("n", n, "an integer >= 8 (releases per start)")
    cfg = M.GradientClippingConfig(
        **{**M.GradientClippingConfig.QUICK, "epsilon": epsilon, "delta": delta}
    )
    plan, cert = M.plan_for(cfg)
    retain = task.retain.subset(np.arange(min(n_retain, len(task.retain))))
    base = build(arch, task.input_shape, task.num_classes, seed)
    u = torch.cat([p.detach().flatten() for p in base.parameters()])
    u = u / u.norm()
    starts = []
    for sign in (1.0, -1.0):
        m = build(arch, task.input_shape, task.num_classes, seed)
        with torch.no_grad():
            i = 0
            for p in m.parameters():
                p.copy_((sign * cfg.c0 * u[i : i + p.numel()]).view_as(p))
                i += p.numel()
        starts.append(m)
    res = run_stacked(
        [starts[0]] * n + [starts[1]] * n,
        [plan] * (2 * n),
        retain,
        plan.steps,
        seed=seed,
        batch_size=len(retain),
        show_progress=False,
    )
    flat = torch.cat(
        [res.params[name].flatten(1) for name, _ in base.named_parameters()], dim=1
    ).double()
    proj = (flat @ u.double()).numpy()
    pa, pb = proj[:n], proj[n:]
    cp = empirical_epsilon_lower_bound(pa, pb, delta, alpha)
    s, inc = one_run_canaries(pa, pb, seed)
    ks = [(k, k) for k in sorted({max(1, n // 10), max(1, n // 4)})]
    one = one_run_search(s, inc, ks, delta, alpha)
    sd = math.sqrt(0.5 * (pa.var(ddof=1) + pb.var(ddof=1)))
    return {
        "arch": arch,
        "params": int(u.numel()),
        "T": plan.steps,
        "sigma": float(plan.sigma),
        "claim": cert["epsilon"],
        "n": n,
        "eps_lb": cp["eps_lb"],
        "eps_lb_one_run": one["eps_lb"],
        "mu_hat": abs(pa.mean() - pb.mean()) / sd,
        "mu_worst_case": (
            2 * cfg.c0 * (1 - cfg.gamma * cfg.lam) ** plan.steps + 2 * cfg.gamma * cfg.c1
        )
        / float(plan.sigma),
    }
