"""The configurations the certificate audit releases from (:mod:`companion.experiments.cert_audit`):
the one-parameter quadratic model, each certified method on the analyses' worst case, and the
deliberately broken variants the audit must flag."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from ..methods import certified as M
from ..stacked import Plan
from ..theory import certified as C

DELTA = 1e-5


GAMMA = 0.1


LAM = 1.0


H_OSC = (2 - GAMMA * LAM) / GAMMA  # gamma (h + lambda) = 2: an unclipped step maps w to -w


METHODS = ("gradient_clipping", "model_clipping", "output_perturbation")


class QuadraticNet(torch.nn.Module):
    """One parameter w; on any batch labelled 0 the mean cross-entropy is h/2 w^2 + 1 (gradient h
    w).

    Logits (0, log(e^q - 1)) with q = h/2 w^2 + 1, computed stably for large q.
    """

    def __init__(self, w0: float, h: float):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([float(w0)]))
        self.h = float(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = 0.5 * self.h * (self.w**2).sum() + 1.0
        z = q + torch.log(-torch.expm1(-q))
        return torch.stack([z * 0, z]).expand(x.shape[0], 2)


@dataclass(frozen=True)
class Instance:
    """One audited configuration: what runs, and what is claimed for it.

    plan : the engine's plan.
    h : loss curvature (0 flat, :data:`H_OSC` oscillating).
    steps_run : noisy steps actually run (the budget; a plan with more steps is cut short).
    noise : 'fresh' or 'frozen'.
    claim : the eps claimed at :data:`DELTA`.
    gaussian : the release is Gaussian by construction (the shift test applies).
    broken : the claim is known to be wrong (the audit must flag it).
    runs_factor : this instance runs that many times the audit's n (the classic-formula defect at
        eps = 10 is a 3 % shift and needs more runs).
    """

    name: str
    method: str
    plan: Plan
    claim: float
    h: float = 0.0
    steps_run: int = 0
    noise: str = "fresh"
    gaussian: bool = False
    broken: bool = False
    c0: float = 1.0
    runs_factor: int = 1


def gc_config(
    eps: float, delta: float = DELTA, steps: int = 3, h: float = 0.0, calibration: str = "theorem"
) -> M.GradientClippingConfig:
    """Gradient clipping (Theorem A) on the one-parameter task: C0 1, gamma 0.1, lambda 1, T noisy
    steps; C1 tiny on the flat loss (its gradient is 0), 2 h on the oscillating one (never
    clipped)."""
    c1 = 1e-3 if h == 0 else 2 * h
    return M.GradientClippingConfig(
        c0=1.0,
        c1=c1,
        gamma=GAMMA,
        lam=LAM,
        steps=steps,
        epsilon=eps,
        delta=delta,
        epochs=steps,
        calibration=calibration,
    )


def certified_instances(epsilons: tuple[float, ...], delta: float = DELTA) -> list[Instance]:
    """Each method at each target eps, run as certified; the claim is what the accountant certifies
    at delta."""
    out = []
    for eps in epsilons:
        plan, cert = M.plan_for(gc_config(eps, delta))
        out.append(
            Instance(
                f"gradient clipping eps={eps:g}",
                "gradient_clipping",
                plan,
                cert["epsilon"],
                0.0,
                plan.steps,
                gaussian=True,
            )
        )
        mc = M.ModelClippingConfig(
            c0=1.0, c2=1.0, sigma=1.0, gamma=GAMMA, lam=LAM, epsilon=eps, delta=delta, epochs=1
        )
        plan, cert = M.plan_for(mc)
        out.append(
            Instance(
                f"model clipping eps={eps:g}",
                "model_clipping",
                plan,
                cert["epsilon_at_delta"],
                0.0,
                plan.steps,
            )
        )
        op = M.OutputPerturbationConfig(c0=1.0, epsilon=eps, delta=delta, calibration="analytic")
        plan, cert = M.plan_for(op)
        out.append(
            Instance(
                f"output perturbation eps={eps:g}",
                "output_perturbation",
                plan,
                cert["epsilon"],
                gaussian=True,
            )
        )
    return out


def broken_instances(delta: float = DELTA, claim: float = 1.0) -> list[Instance]:
    """The broken variants beside their sound twins (each claims the (eps, delta) of its correct
    run).

    * frozen noise: gradient clipping on the oscillating loss, T = 2, the first noise draw reused
      (fresh twin);
    * the classic output-perturbation formula at eps = 10 (it certifies only about 10.39; analytic
      twin);
    * a budget shorter than T: gradient clipping calibrated for T = 6 noisy steps, cut to 2 while
      claiming the
      T-step certificate (the methods' refusal guard bypassed by calling the engine directly);
    * half the noise: gradient clipping with sigma / 2, claiming the calibrated certificate.
    """
    osc_plan, osc_cert = M.plan_for(gc_config(claim, delta, steps=2, h=H_OSC))
    gc_plan, gc_cert = M.plan_for(gc_config(claim, delta))
    long_plan, long_cert = M.plan_for(gc_config(claim, delta, steps=6))
    classic = C.op_sigma(1.0, 10.0, delta, "classic")
    analytic = C.op_sigma(1.0, 10.0, delta, "analytic")
    return [
        Instance(
            "gc oscillating, fresh noise",
            "gradient_clipping",
            osc_plan,
            osc_cert["epsilon"],
            H_OSC,
            2,
        ),
        Instance(
            "gc oscillating, frozen noise",
            "gradient_clipping",
            osc_plan,
            osc_cert["epsilon"],
            H_OSC,
            2,
            "frozen",
            broken=True,
        ),
        Instance(
            "op analytic, eps=10",
            "output_perturbation",
            Plan("output_perturbation", c0=1.0, init_sigma=analytic),
            10.0,
            gaussian=True,
            runs_factor=20,
        ),
        Instance(
            "op classic formula, eps=10",
            "output_perturbation",
            Plan("output_perturbation", c0=1.0, init_sigma=classic),
            10.0,
            gaussian=True,
            broken=True,
            runs_factor=20,
        ),
        Instance(
            "gc all T=6 steps",
            "gradient_clipping",
            long_plan,
            long_cert["epsilon"],
            0.0,
            6,
            gaussian=True,
        ),
        Instance(
            "gc budget 2 of T=6 steps",
            "gradient_clipping",
            long_plan,
            long_cert["epsilon"],
            0.0,
            2,
            gaussian=True,
            broken=True,
        ),
        Instance(
            "gc calibrated noise",
            "gradient_clipping",
            gc_plan,
            gc_cert["epsilon"],
            0.0,
            gc_plan.steps,
            gaussian=True,
        ),
        Instance(
            "gc half the noise",
            "gradient_clipping",
            dataclasses.replace(gc_plan, sigma=gc_plan.sigma / 2),
            gc_cert["epsilon"],
            0.0,
            gc_plan.steps,
            gaussian=True,
            broken=True,
        ),
    ]
