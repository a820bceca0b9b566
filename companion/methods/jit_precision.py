"""Reduced precision for JiT's perturbed forwards (Foster et al., TMLR 2025, Algorithm 1, line 6),
and probes that leave the model as they found it.

The ``N`` perturbed forwards ``f(x + xi_j)`` are nearly all of JiT's compute, and bf16 autocast
runs them at tensor-core rate. Each bf16 output carries a rounding error of about ``2^-8`` of its
magnitude, while the numerator of the Lipschitz ratio, ``||f(x) - f(x + xi)||``, shrinks with
``sigma``: below some ``sigma`` the ratio measures rounding, not the network. :func:`bf16_error`
measures both on a batch (the same perturbed inputs through the network in fp32 and under bf16
autocast) and :func:`check_bf16` refuses a ``sigma`` whose relative error exceeds
:data:`BF16_TOLERANCE`. ``f(x)`` itself, the only path the gradient takes (unless
``grad_through_perturbed``), always stays in full precision.
"""

from __future__ import annotations

import contextlib
from typing import ContextManager, Iterator

import torch
from torch import nn

from ..config import bad_value

PRECISIONS = ("fp32", "bf16")

#: Largest accepted relative error of the ratio numerators under bf16: the measured
#: ``sum ||f_bf16(x') - f_fp32(x')|| / sum ||f(x) - f_fp32(x')||`` over a batch's perturbations.
BF16_TOLERANCE = 0.05


def perturbed_autocast(device: torch.device | str, precision: str) -> ContextManager:
    """The context JiT's perturbed forwards run in: nothing for ``'fp32'``, bf16 autocast on
    ``device``'s type for ``'bf16'``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    raise bad_value("precision", precision, f"one of {PRECISIONS}")


@contextlib.contextmanager
def isolated(model: nn.Module, device: torch.device | str) -> Iterator[None]:
    """Run probes (timings, precision checks) on ``model`` without side effects: the global random
    states that dropout draws from are forked and restored, and the buffers (BatchNorm running
    statistics) are put back as they were. Parameters and their ``.grad`` are the caller's to
    leave alone (probes run without an optimiser and without ``backward`` into ``.grad``)."""
    dev = torch.device(device)
    saved = [b.detach().clone() for b in model.buffers()]
    devices = [dev] if dev.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        with torch.no_grad():
            for b, s in zip(model.buffers(), saved):
                b.copy_(s)


def _out(model: nn.Module, x: torch.Tensor, output: str) -> torch.Tensor:
    z = model(x).float()
    return torch.softmax(z, dim=-1) if output == "probs" else z


@torch.no_grad()
def bf16_error(
    model: nn.Module, x: torch.Tensor, xp: torch.Tensor, output: str = "logits"
) -> float:
    """Relative error that bf16 autocast adds to the numerators ``||f(x) - f(x')||``.

    Measured in eval mode (the mode is restored), so that the fp32 and the bf16 pass see the same
    function (no dropout masks, BatchNorm on its running statistics).

    Parameters
    ----------
    model : nn.Module
    x : Tensor (B, ...)
        A forget batch.
    xp : Tensor (m, B, ...)
        ``m`` perturbations of it.
    output : {'logits', 'probs'}

    Returns
    -------
    float
        ``sum ||f_bf16(x') - f_fp32(x')|| / sum ||f(x) - f_fp32(x')||`` over the ``m * B`` rows
        (0 when both sums are 0, infinite when only the signal is): by the triangle inequality a
        bound on the relative change of the summed numerators.
    """
    m, b = xp.shape[0], x.shape[0]
    flat = xp.reshape(m * b, *x.shape[1:])
    was_training = model.training
    model.eval()
    try:
        fx = _out(model, x, output).reshape(1, b, -1)
        full = _out(model, flat, output).reshape(m, b, -1)
        with perturbed_autocast(x.device, "bf16"):
            low = _out(model, flat, output).reshape(m, b, -1)
    finally:
        model.train(was_training)
    err = float((low - full).norm(dim=-1).sum())
    signal = float((fx - full).norm(dim=-1).sum())
    if signal == 0.0:
        return 0.0 if err == 0.0 else float("inf")
    return err / signal


def check_bf16(error: float, sigma: float, tolerance: float = BF16_TOLERANCE) -> float:
    """Refuse ``precision='bf16'`` when the measured relative ``error`` (:func:`bf16_error`) at
    ``sigma`` exceeds ``tolerance``.

    The signal ``||f(x) - f(x + xi)||`` grows about linearly with ``sigma`` while the rounding error
    does not, so the smallest safe ``sigma`` is about ``sigma * error / tolerance``; the error names
    that threshold.

    Returns
    -------
    float
        That threshold (<= ``sigma`` when accepted).
    """
    threshold = sigma * error / tolerance
    if not error <= tolerance:
        raise bad_value(
            "sigma",
            sigma,
            f"sigma >= {threshold:.3g} for precision='bf16' on this model and batch (measured: "
            f"bf16 rounding changes ||f(x) - f(x + xi)|| by {error:.1%}, above the "
            f"{tolerance:.0%} tolerance), or precision='fp32'",
        )
    return threshold
