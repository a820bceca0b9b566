"""The elementwise operations of the stacked certified engine (:mod:`companion.stacked`) on
stacked parameters ``{name: Tensor (K, ...)}``: global norms, clipping to a radius, and the
authors' Optax one-cycle learning-rate schedule."""

from __future__ import annotations

import torch


def global_norm(tensors: dict[str, torch.Tensor], stacked: bool = True) -> torch.Tensor:
    """L2 norm of the concatenation of all tensors; with ``stacked`` the leading dim is the model
    index and the result has shape (K,), else a scalar."""
    if stacked:
        return torch.sqrt(sum(t.pow(2).flatten(1).sum(1) for t in tensors.values()))
    return torch.sqrt(sum(t.pow(2).sum() for t in tensors.values()))


def clip_global(
    tensors: dict[str, torch.Tensor], radius: torch.Tensor | float, stacked: bool = True
) -> dict[str, torch.Tensor]:
    """clip(v, C) = v min(1, C / ||v||_2) on the whole vector (the global L2 norm of all
    parameters, as in the authors' code); ``radius`` (K,) or scalar.

    An infinite radius leaves v unchanged.
    """
    norm = global_norm(tensors, stacked)
    radius = torch.as_tensor(radius, dtype=norm.dtype, device=norm.device)
    scale = torch.clamp(radius / norm.clamp_min(1e-30), max=1.0)
    if stacked:
        return {k: v * scale.view(-1, *([1] * (v.ndim - 1))) for k, v in tensors.items()}
    return {k: v * scale for k, v in tensors.items()}


def optax_linear_onecycle(step: torch.Tensor | float, total: int, peak: float) -> torch.Tensor:
    """Optax ``linear_onecycle_schedule``, the authors' fine-tuning schedule: peak/25 -> peak over
    the first 30 % of ``total`` steps, back to peak/25 by 85 %, then to peak/25/1e4 at the end;
    constant afterwards."""
    s = torch.as_tensor(step, dtype=torch.float64)
    init, end = peak / 25.0, peak / 25.0 / 1e4
    b1, b2, b3 = 0.3 * total, 0.85 * total, float(total)
    up = init + (peak - init) * s / max(b1, 1e-12)
    down = peak + (init - peak) * (s - b1) / max(b2 - b1, 1e-12)
    tail = init + (end - init) * (s - b2) / max(b3 - b2, 1e-12)
    return torch.where(
        s < b1, up, torch.where(s < b2, down, torch.where(s < b3, tail, torch.full_like(s, end)))
    )
