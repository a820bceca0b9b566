"""Per-example signals the audits score: logit-scaled confidence and the true-class margin.

* :func:`logit_scaled_confidence`: phi(x, y) = ln p_y - ln(1 - p_y), the LiRA signal (Carlini et al.
  2022) and the NeurIPS 2023 unlearning challenge's signal (its scorer's per-example estimator).
  ``variant='stable'`` computes ln p_y - ln sum_{c != y} p_c from max-shifted logits in float64 with
  log-sum-exp (finite for any logits); ``variant='challenge'`` is the challenge scorer's formula,
  ln(p_y + 1e-45) - ln(p_w + 1e-45) on float64 softmax probabilities (saturates near +-103.6).
* :func:`margin`: m(x, y) = z_y - logsumexp_{c != y} z_c, KLoM's signal (Rinberg et al., arXiv
  2602.16400).
  It equals the stable logit-scaled confidence: both are ln p_y - ln(1 - p_y).

Inputs are logits ``(N, C)`` (or a stack ``(K, N, C)`` of K models) and integer targets ``(N,)``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..config import bad_value

VARIANTS = ("stable", "challenge")


def _check(logits, targets) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.as_tensor(logits).detach().to("cpu", torch.float64)
    y = torch.as_tensor(targets).detach().to("cpu", torch.long)
    if z.ndim not in (2, 3) or z.shape[-1] < 2:
        raise bad_value("logits", tuple(z.shape), "a (N, C) or (K, N, C) array with C >= 2 classes")
    if y.ndim != 1 or y.shape[0] != z.shape[-2]:
        raise bad_value("targets", tuple(y.shape), f"a 1-d array of {z.shape[-2]} class indices")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= z.shape[-1]):
        raise bad_value(
            "targets", (int(y.min()), int(y.max())), f"class indices in [0, {z.shape[-1] - 1}]"
        )
    if not torch.isfinite(z).all():
        raise bad_value("logits", "non-finite values", "finite logits")
    return z, y


def margin(logits, targets) -> np.ndarray:
    """z_y - logsumexp_{c != y} z_c per row (float64); shape ``(N,)`` or ``(K, N)``."""
    z, y = _check(logits, targets)
    idx = y.expand(*z.shape[:-1]).unsqueeze(-1)
    zy = z.gather(-1, idx).squeeze(-1)
    others = z.scatter(-1, idx, float("-inf"))
    return (zy - torch.logsumexp(others, dim=-1)).numpy()


def logit_scaled_confidence(logits, targets, variant: str = "stable") -> np.ndarray:
    """phi = ln p_y - ln(1 - p_y) per row (float64); shape ``(N,)`` or ``(K, N)``. See the module
    doc."""
    if variant not in VARIANTS:
        raise bad_value("variant", variant, f"one of {VARIANTS}")
    if variant == "stable":
        return margin(logits, targets)
    z, y = _check(logits, targets)
    p = torch.softmax(z - z.amax(dim=-1, keepdim=True), dim=-1)
    idx = y.expand(*z.shape[:-1]).unsqueeze(-1)
    py = p.gather(-1, idx).squeeze(-1)
    pw = p.scatter(-1, idx, 0.0).sum(dim=-1)
    return (torch.log(py + 1e-45) - torch.log(pw + 1e-45)).numpy()
