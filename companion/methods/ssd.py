"""Selective Synaptic Dampening (SSD; Foster et al., AAAI 2024) as the JiT reference code runs it
(``ssd_tuning`` in jwf40/Information-Theoretic-Unlearning, ``src/forget_full_class_strategies.py``).
Retrain-free, but not zero-shot: it needs importances on the training set.

Importances are diagonal Fisher estimates: for a loader, the mean over mini-batches of the
element-wise **squared** gradient of the batch-mean cross-entropy, with the model in eval mode.
``imp_f`` uses the forget set, ``imp_D`` the whole training set (retain + forget). A parameter
element ``theta_i`` is selected when ``imp_f,i > alpha * imp_D,i`` and dampened

    theta_i <- theta_i * min(lambda * imp_D,i / imp_f,i, 1).

``variant='paper'`` (default) uses the SSD paper's (lambda, alpha) = (1, 10) for every task.
``variant='as_coded'`` uses ``(lambda, alpha)`` as the JiT reference scripts actually pass them (VGG
family): full class (1, 1) (the per-model values in the main are overwritten by a hard-coded dict),
sub-class (6, 5), random (4, 10). Explicit ``dampening_constant`` / ``selection_weighting`` win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
from torch import nn
from torch.nn import functional as F

from ..config import bad_value, number_in
from ..data.tasks import Split, Task
from ._zoo import FORGET_BATCH, per_kind
from .base import MethodConfig, positive, register

#: (lambda = dampening constant, alpha = selection weighting) per forgetting kind as the JiT scripts
#: pass them for VGG (deviations.md#jit-ssd-params), and the SSD paper's values.
SSD_SETTINGS = {"class": (1.0, 1.0), "subclass": (6.0, 5.0), "random": (4.0, 10.0)}
SSD_PAPER = (1.0, 10.0)
VARIANTS = ("paper", "as_coded")


def importances(
    model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """Mean over mini-batches of the squared gradient of the batch-mean CE, per parameter.

    The model is put in eval mode (as the reference code does) and left there.
    Returns ``{name: Tensor shaped like the parameter}``.
    """
    model.eval()
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    imp = {n: torch.zeros_like(p) for n, p in params.items()}
    k = 0
    for xb, yb in batches:
        grads = torch.autograd.grad(
            F.cross_entropy(model(xb), yb), list(params.values()), allow_unused=True
        )
        for (n, _), g in zip(params.items(), grads):
            if g is not None:
                imp[n] += g.detach().pow(2)
        k += 1
    if k == 0:
        raise ValueError("importances need at least one batch")
    return {n: v / k for n, v in imp.items()}


@torch.no_grad()
def dampen(
    model: nn.Module,
    imp_f: dict[str, torch.Tensor],
    imp_d: dict[str, torch.Tensor],
    lam: float,
    alpha: float,
) -> dict[str, int]:
    """Apply SSD's selection and dampening in place; return the number of selected elements per
    parameter.

    Selected: ``imp_f > alpha * imp_d``; factor ``min(lam * imp_d / imp_f, 1)``; others unchanged.
    """
    counts = {}
    for n, p in model.named_parameters():
        if n not in imp_f:
            continue
        sel = imp_f[n] > alpha * imp_d[n]
        factor = torch.clamp(
            lam * imp_d[n] / imp_f[n].clamp_min(torch.finfo(imp_f[n].dtype).tiny), max=1.0
        )
        p.mul_(torch.where(sel, factor, torch.ones_like(factor)))
        counts[n] = int(sel.sum())
    return counts


@dataclass(frozen=True)
class SsdConfig(MethodConfig):
    """SSD settings (Foster et al. (AAAI 2024) as the default; deviations.md#jit-ssd-params).

    Parameters
    ----------
    variant : {'paper', 'as_coded'}
        Where lambda and alpha come from when not given: the SSD paper, (1, 10), or the JiT scripts
        per forgetting kind (:data:`SSD_SETTINGS`).
    dampening_constant, selection_weighting : float or None
        lambda and alpha; None = from ``variant``.
    batch_size : int or None
        Batch of both importance loaders; None = the scripts' forget batch (128, sub-class 64).
    """

    variant: str = "paper"
    dampening_constant: float | None = None
    selection_weighting: float | None = None
    batch_size: int | None = None

    def validate(self) -> None:
        if self.variant not in VARIANTS:
            raise bad_value("variant", self.variant, f"one of {VARIANTS}")
        for name in ("dampening_constant", "selection_weighting"):
            if getattr(self, name) is not None:
                number_in(name, getattr(self, name), 0.0)
        if self.batch_size is not None:
            positive("batch_size", self.batch_size)


def _batches(split: Split, bs: int, seed: int, device, shuffle: bool):
    gen = torch.Generator().manual_seed(seed)
    return split.batches(bs, shuffle=shuffle, generator=gen, device=device)


@register(
    "ssd",
    SsdConfig,
    zero_shot=False,
    paper="jit",
    description=(
        "SSD: dampen parameters far more important to the forget set than to the training set"
    ),
)
def ssd(model: nn.Module, task: Task, cfg: SsdConfig, *, seed: int, device, **_) -> dict:
    table = SSD_SETTINGS if cfg.variant == "as_coded" else {k: SSD_PAPER for k in SSD_SETTINGS}
    lam = per_kind(
        cfg.dampening_constant, {k: v[0] for k, v in table.items()}, task, "dampening_constant"
    )
    alpha = per_kind(
        cfg.selection_weighting, {k: v[1] for k, v in table.items()}, task, "selection_weighting"
    )
    bs = per_kind(cfg.batch_size, FORGET_BATCH, task, "batch_size")
    imp_f = importances(model, _batches(task.forget, bs, seed, device, shuffle=False))
    imp_d = importances(model, _batches(task.train, bs, seed, device, shuffle=True))
    counts = dampen(model, imp_f, imp_d, lam, alpha)
    total = sum(p.numel() for p in model.parameters())
    return {
        "lambda": lam,
        "alpha": alpha,
        "selected": sum(counts.values()),
        "selected_fraction": sum(counts.values()) / total,
    }
