"""Certified unlearning by noisy fine-tuning (Koloskova et al., ICML 2025): gradient clipping,
model clipping and output perturbation, each a frozen config and a registered method.

Every method is a *noisy phase* on the retain data, with fresh Gaussian noise at every step, then
noiseless fine-tuning for the rest of the budget (free by post-processing); the update rules are
those of Theorems A and B and run on the stacked engine :func:`companion.stacked.run_stacked` (K = 1
here). The authors' code reuses one noise vector at every step; that is available only as
``noise='frozen'`` and such a run carries no certificate (deviations.md#cert-frozen-noise).

A certificate holds only for the noisy steps that ran: the registered methods refuse a budget
(``epochs`` x steps per epoch) shorter than the noisy phase, and every log reports the steps run
(``noisy_steps_run``, ``finetune_steps_run``) with the (eps, delta) the accountant gives for them
(:func:`certificate`). Output perturbation logs the exact eps of the noise it draws.
"""

from __future__ import annotations

import math

import numpy as np
from torch import nn

from ..config import bad_value
from ..data.tasks import Task
from ..stacked import Plan, load_into, run_stacked
from ..theory import certified as acc
from ..theory import privacy
from .base import MethodConfig, register
from .certified_config import (  # noqa: F401  (re-exported: the configs' home is certified_config)
    GC_CALIBRATIONS,
    GradientClippingConfig,
    ModelClippingConfig,
    OutputPerturbationConfig,
    _Common,
    budget_steps,
    check_budget,
    finite,
    integer,
)

# --------------------------------------------------------------------------------------------
# certificates
# --------------------------------------------------------------------------------------------


def gc_certificate(cfg: GradientClippingConfig, steps_run: int | None = None) -> dict:
    """T, the noise and the certificate of a gradient-clipping run with ``cfg`` (Theorem A).

    The certified eps is the alpha-dependent conversion of the general-sum eps_R of the run's
    actual (C0, C1, gamma, lambda, sigma_t) over the ``steps_run`` noisy steps actually run
    (default: all T); the authors' code's value is reported beside it. ``certified`` is True only
    when all T steps ran with fresh noise.
    """
    T = cfg.steps or acc.gc_steps(cfg.c0, cfg.c1, cfg.gamma, cfg.lam)
    eps_r_target = (
        privacy.required_eps_r(cfg.epsilon, cfg.delta)
        if cfg.calibration == "theorem"
        else cfg.epsilon
    )
    if cfg.sigma is not None:
        sigma: float | tuple = float(cfg.sigma)
    else:
        s = acc.gc_sigma(eps_r_target, T, cfg.gamma, cfg.lam, cfg.c0, cfg.c1, schedule=cfg.schedule)
        sigma = tuple(float(v) for v in s) if isinstance(s, np.ndarray) else float(s)
    run = T if steps_run is None else integer("steps_run", steps_run, 0)
    if run > T:
        raise bad_value("steps_run", steps_run, f"an integer in [0, T={T}]")
    eps, eps_r = acc.gc_epsilon(cfg.c0, cfg.c1, cfg.gamma, cfg.lam, sigma, run, cfg.delta)
    alpha = privacy.rdp_to_dp(eps_r, cfg.delta)[1] if run else math.nan
    eps_coded = privacy.rdp_to_dp(eps_r, cfg.delta, "as_coded")[0] if run else math.inf
    fresh = cfg.noise == "fresh"
    return {
        "T": T,
        "noisy_steps_run": run,
        "sigma": sigma,
        "eps_r": eps_r,
        "alpha": alpha,
        "delta": cfg.delta,
        "epsilon": eps if fresh else math.inf,
        "epsilon_as_coded": eps_coded,
        "certified": fresh and run == T,
    }


def mc_certificate(cfg: ModelClippingConfig, steps_run: int | None = None) -> dict:
    """T (first step with delta_T <= delta), r, r_0, delta_0 and the accountant's certificate for
    the ``steps_run`` noisy steps actually run (default all T): (epsilon, delta) = (the target eps,
    the delta the recursion reaches), and ``epsilon_at_delta``, the eps certified at the target
    delta."""
    r = acc.mc_radius(cfg.c2, cfg.sigma, cfg.gamma, cfg.c1)
    r0 = acc.mc_first_radius(cfg.c0, cfg.c2, cfg.sigma, cfg.gamma, cfg.c1, cfg.init_sigma)
    d0 = acc.mc_init_delta(cfg.epsilon, cfg.c0, cfg.init_sigma)
    T = acc.mc_steps(cfg.epsilon, cfg.delta, r, d0, r_first=r0)
    run = T if steps_run is None else integer("steps_run", steps_run, 0)
    if run > T:
        raise bad_value("steps_run", steps_run, f"an integer in [0, T={T}]")
    reached = float(acc.mc_delta_path(cfg.epsilon, r, run, d0, r_first=r0)[-1, 2]) if run else d0
    at_delta = acc.mc_epsilon(cfg.delta, r, run, cfg.c0, cfg.init_sigma, r_first=r0)
    fresh = cfg.noise == "fresh"
    return {
        "T": T,
        "noisy_steps_run": run,
        "r": r,
        "r_first": r0,
        "sigma": cfg.sigma,
        "delta0": d0,
        "delta_reached": reached,
        "delta_target": cfg.delta,
        "epsilon": cfg.epsilon if fresh else math.inf,
        "delta": reached if fresh else 1.0,
        "epsilon_at_delta": at_delta if fresh else math.inf,
        "certified": fresh and run == T,
    }


#: The authors' code pretrains the model for output perturbation with weight decay 0.05 (its MNIST
#: and CIFAR-10 output-perturbation configs), 100 times the 5e-4 of the other methods.
OP_PRETRAIN_WEIGHT_DECAY = 0.05


def op_certificate(cfg: OutputPerturbationConfig, steps_run: int | None = None) -> dict:
    """The noise of output perturbation and the exact (eps, delta) of that noise (no noisy steps: T
    = 0).

    ``epsilon`` is what the drawn noise certifies exactly (at most the requested eps; e.g. 0.751
    at a requested 1 with the classic formula), ``epsilon_requested`` the config's value.
    """
    sigma, used, exact = acc.op_calibrate(cfg.c0, cfg.epsilon, cfg.delta, cfg.calibration)
    return {
        "T": 0,
        "noisy_steps_run": 0,
        "sigma": sigma,
        "calibration_used": used,
        "epsilon": exact,
        "epsilon_requested": cfg.epsilon,
        "delta": cfg.delta,
        "certified": True,
    }


def certificate(cfg: MethodConfig, steps_run: int | None = None) -> dict:
    """The certificate of a certified method's config after ``steps_run`` noisy steps (default: all
    T)."""
    if isinstance(cfg, GradientClippingConfig):
        return gc_certificate(cfg, steps_run)
    if isinstance(cfg, ModelClippingConfig):
        return mc_certificate(cfg, steps_run)
    if isinstance(cfg, OutputPerturbationConfig):
        return op_certificate(cfg, steps_run)
    raise bad_value(
        "cfg",
        type(cfg).__name__,
        "a GradientClippingConfig, ModelClippingConfig or OutputPerturbationConfig",
    )


def epsilon_at(cfg: MethodConfig, steps_run: int | None = None) -> float:
    """The eps certified at the config's delta after ``steps_run`` noisy steps (inf: no
    certificate)."""
    cert = certificate(cfg, steps_run)
    return float(cert["epsilon_at_delta"] if "epsilon_at_delta" in cert else cert["epsilon"])


def plan_for(cfg: MethodConfig, label: str = "") -> tuple[Plan, dict]:
    """The engine :class:`Plan` and the (planned, all T steps) certificate of a method config."""
    cert = certificate(cfg)
    if isinstance(cfg, GradientClippingConfig):
        return Plan(
            "gradient_clipping",
            c0=cfg.c0,
            steps=cert["T"],
            sigma=cert["sigma"],
            gamma=cfg.gamma,
            lam=cfg.lam,
            c1=cfg.c1,
            label=label,
        ), cert
    if isinstance(cfg, ModelClippingConfig):
        return Plan(
            "model_clipping",
            c0=cfg.c0,
            init_sigma=cfg.init_sigma,
            steps=cert["T"],
            sigma=cfg.sigma,
            gamma=cfg.gamma,
            lam=cfg.lam,
            c1=math.inf if cfg.c1 is None else cfg.c1,
            c2=cfg.c2,
            noise_before_projection=cfg.c1 is not None,
            label=label,
        ), cert
    return Plan("output_perturbation", c0=cfg.c0, init_sigma=cert["sigma"], label=label), cert


def _run_one(model: nn.Module, task: Task, cfg: _Common, seed: int, device, name: str) -> dict:
    plan, cert = plan_for(cfg)
    spe = -(-len(task.retain) // cfg.batch_size)
    # before any work: a cut-short noisy phase certifies less
    check_budget(name, plan.steps, cfg.epochs, spe)
    res = run_stacked(
        model,
        [plan],
        task.retain,
        cfg.epochs,
        seed=seed,
        eval_splits={"val": task.val},
        finetune_lr=cfg.finetune_lr,
        l2=cfg.l2,
        batch_size=cfg.batch_size,
        noise=cfg.noise,
        augment=cfg.augment,
        device=device,
        show_progress=False,
    )
    load_into(model, res)
    run = int(res.noisy_steps[0])
    cert = certificate(cfg, run)  # the accountant's (eps, delta) for the steps that actually ran
    if run != plan.steps:  # pragma: no cover - check_budget makes the whole noisy phase fit
        raise AssertionError(f"{name} ran {run} of its T={plan.steps} noisy steps")
    return {
        **cert,
        "noisy_steps_run": run,
        "finetune_steps_run": cfg.epochs * res.steps_per_epoch - run,
        "steps_per_epoch": res.steps_per_epoch,
        "val_acc_per_epoch": res.acc["val"][0].tolist(),
    }


@register(
    "gradient_clipping",
    GradientClippingConfig,
    zero_shot=False,
    paper="cert",
    description=(
        "noisy clipped-gradient fine-tuning on the retain set, then noiseless fine-tuning (Theorem "
        "A)"
    ),
)
def gradient_clipping(
    model: nn.Module, task: Task, cfg: GradientClippingConfig, *, seed: int, device, **_
) -> dict:
    return _run_one(model, task, cfg, seed, device, "gradient_clipping")


@register(
    "model_clipping",
    ModelClippingConfig,
    zero_shot=False,
    paper="cert",
    description=(
        "noisy projected fine-tuning on the retain set, then noiseless fine-tuning (Theorem B)"
    ),
)
def model_clipping(
    model: nn.Module, task: Task, cfg: ModelClippingConfig, *, seed: int, device, **_
) -> dict:
    return _run_one(model, task, cfg, seed, device, "model_clipping")


@register(
    "output_perturbation",
    OutputPerturbationConfig,
    zero_shot=False,
    paper="cert",
    description=(
        "clip the model, add one Gaussian draw (sensitivity 2 C0), then noiseless fine-tuning"
    ),
)
def output_perturbation(
    model: nn.Module, task: Task, cfg: OutputPerturbationConfig, *, seed: int, device, **_
) -> dict:
    return _run_one(model, task, cfg, seed, device, "output_perturbation")
