"""JiT ("Just in Time") zero-shot unlearning by Lipschitz smoothing (Foster et al., TMLR 2025).

The unlearner sees the trained model ``f`` and the forget set ``D_f`` only. For every forget sample
``x`` it minimises the local Lipschitz ratio of ``f`` around ``x`` estimated with ``N`` Gaussian
perturbations (Foster et al. (2025), Algorithm 1 in App. 10.1):

.. math::

    \\hat\\ell(x) = \\frac1N \\sum_{j=1}^N \\frac{\\lVert f(x) - f(x + \\xi_j) \\rVert_2}{\\lVert
    \\xi_j \\rVert_2}, \\qquad \\xi_j \\sim \\mathcal N(0, \\sigma^2 I),

with one SGD step of rate ``eta`` per forget batch and a single pass over ``D_f``.

Two behaviours sit behind ``variant`` of :class:`~companion.methods.jit_config.JitConfig`
(deviations.md#jit-variants):

* ``variant="paper"`` (default): the loss as the paper writes it. A fresh gradient per step, the
  network in eval mode (deterministic ``f``), the per-sample ratio averaged over the batch, no
  clamp.
* ``variant="reference"``: what ``jwf40/Information-Theoretic-Unlearning`` (``src/lipschitz.py``,
  ``Lipschitz.modify_weight``) runs. Gradients zeroed once and accumulated across batches
  (deviations.md#jit-accumulated-grads), the network in train mode (dropout masks differ between
  ``f(x)`` and every ``f(x + xi_j)``; deviations.md#jit-train-mode), the ratio summed over the batch
  (deviations.md#jit-batch-sum), and the perturbed input clamped to the min/max of the whole
  (normalised) batch tensor (deviations.md#jit-clamp). (Train mode also makes BatchNorm layers use
  batch statistics and update their running averages with the perturbed batches; the code's VGG has
  no BatchNorm, but ``resnet18`` does.)

Each of these four switches is also a field of :class:`JitConfig` (``accumulate_grads``,
``eval_mode``, ``reduction``, ``clamp``) that overrides the variant, and the remaining open points
of the paper are named options (``squared``, ``output``, ``grad_through_perturbed``;
deviations.md#jit-open-choices).

The ``N`` perturbations of a batch are pushed through the network ``chunk`` at a time as one
``(chunk * B, ...)`` batch. ``chunk="auto"`` (default) times the candidates ``1, 2, 4, ..., N``
(within a memory bound) on the first batch and keeps the fastest, cached in-process per device,
network structure, input shape and ``N`` (:mod:`companion.methods.jit_autotune`): no fixed rule is
right everywhere (on a CPU one big batch of a small CNN is memory-bound and runs at about half the
speed of a loop, while an MLP runs faster batched). ``chunk="rule"`` keeps the earlier fixed rule
(:func:`auto_chunk`: the loop for a network with convolutions on a CPU, :data:`AUTO_ROWS` rows
otherwise), and an integer fixes the chunk. The timing draws none of JiT's noise and changes no
state, and the noise is drawn per perturbation from one seeded generator, so the result does not
depend on ``chunk`` (to rounding; a fixed chunk gives bit-identical models for a seed), with two
exceptions:

* **BatchNorm in train mode** (``eval_mode=False`` on a network with BatchNorm layers, e.g.
  ``resnet18``): a forward of ``chunk * B`` rows normalises with the statistics of all of them,
  where the reference code's forward of one perturbation normalises with those of ``B`` rows.
  Chunks therefore never span perturbations there: ``chunk="auto"`` runs one perturbation per
  forward (the reference code's batches) and an explicit ``chunk > 1`` is refused.
* **Dropout in train mode** draws one mask per row of each forward call; on the CPU a chunked call
  draws the same masks as the per-perturbation loop (tested), on other devices this is not
  guaranteed.

Speed options of :class:`JitConfig`, all off by default and changing the result only to rounding:
``precision="bf16"`` (the perturbed forwards under bf16 autocast, refused on the first batch when
``sigma`` is too small for bf16 to resolve ``f(x) - f(x + xi)``;
:mod:`companion.methods.jit_precision`), ``channels_last`` and ``compile``
(:func:`companion.training.prepare_model`). Losses and step norms stay on the device until the end
of the pass (no host synchronisation per step).

Algorithm 1 of the paper takes one step per forget *sample*; ``per_sample=True`` does exactly that
(each sample of a batch gets its own loss and its own SGD step, in loader order), while the default
takes one step per forget batch as the reference code does (deviations.md#jit-per-sample).
"""

from __future__ import annotations

import math
import warnings
from typing import Iterable, Iterator

import torch
from torch import nn

from ..config import bad_value
from ..data.tasks import require_zero_shot
from ..progress import progress
from ..training import has_conv2d, prepare_model, to_layout
from .base import register
from .jit_config import JitConfig
from .jit_loss import (  # noqa: F401  (re-exported: the loss's home is jit_loss)
    AUTO_MAX_ELEMENTS,
    AUTO_ROWS,
    _check_chunk_statistics,
    auto_chunk,
    batchnorm_in_train_mode,
    draw_noise,
    jit_loss,
    lipschitz_ratios,
    perturb,
    resolve_chunk,
)
from .jit_precision import BF16_TOLERANCE, bf16_error, check_bf16, isolated

# --------------------------------------------------------------------------------------------
# The loss
# --------------------------------------------------------------------------------------------


def jit_unlearn(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]] | Iterable[torch.Tensor],
    cfg: JitConfig,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> dict:
    """Run JiT on ``model`` in place over forget ``batches`` (one pass; Algorithm 1).

    Parameters
    ----------
    model : nn.Module
        Modified in place; left in eval mode.
    batches : iterable of Tensor (B, ...) or of (x, y) pairs
        The normalised forget batches in loader order (labels are ignored: JiT never uses them).
    cfg : JitConfig
    seed : int
        Seeds the perturbation generator (and, through the harness, dropout masks).

    Returns
    -------
    dict
        ``losses`` (per step), ``step_norms`` (the length of each SGD step, eta times the gradient
        norm), ``steps``, ``lr`` (eta used), ``chunk`` (perturbations per forward, as measured
        for ``'auto'``), ``precision`` (with ``bf16_error`` and ``bf16_min_sigma`` measured for
        bf16), and the effective ``flags``.
    """
    dev = torch.device(device)
    flags = cfg.flags()
    lr = cfg.effective_lr()
    model.to(dev)
    model.train(not flags["eval_mode"])
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0, weight_decay=0.0)
    gen = torch.Generator(device=dev).manual_seed(seed)
    opt.zero_grad(set_to_none=False)  # the reference code zeroes exactly once, here
    losses: list[torch.Tensor] = []  # kept on the device: no host sync per step
    norms: list[torch.Tensor] = []
    chunk_used, bf16 = None, {}
    if cfg.chunk not in ("auto", "rule"):
        _check_chunk_statistics(model, cfg.chunk)  # before any step
    fwd = prepare_model(model, dev, cfg.channels_last, cfg.compile)  # model, or compiled
    cl = cfg.channels_last and has_conv2d(model)
    for xb in batches:
        if isinstance(xb, (tuple, list)):
            xb = xb[0]
        xb = to_layout(xb.to(dev), cl)
        for x in xb.split(1) if cfg.per_sample else (xb,):  # Algorithm 1: a step per sample
            if not flags["accumulate_grads"]:
                opt.zero_grad(set_to_none=False)
            if chunk_used is None:  # the first batch, before any step
                if cfg.precision == "bf16":
                    try:
                        bf16 = _bf16_guard(fwd, x, cfg, flags["clamp"], seed)
                    except ValueError:
                        if cl:  # refused before any step: leave the model as it came
                            model.to(memory_format=torch.contiguous_format)
                        raise
                chunk_used = resolve_chunk(
                    cfg.chunk,
                    cfg.n_samples,
                    x,
                    fwd,
                    cfg.sigma,
                    grad_through_perturbed=cfg.grad_through_perturbed,
                    precision=cfg.precision,
                    output=cfg.output,
                )
            loss = jit_loss(
                fwd,
                x,
                cfg.sigma,
                cfg.n_samples,
                gen,
                reduction=flags["reduction"],
                clamp=flags["clamp"],
                squared=cfg.squared,
                output=cfg.output,
                grad_through_perturbed=cfg.grad_through_perturbed,
                perturbation=cfg.perturbation,
                chunk=chunk_used,
                precision=cfg.precision,
            )
            loss.backward()
            # the step SGD is about to take: lr * ||accumulated or fresh gradient||
            with torch.no_grad():
                norms.append(
                    torch.sqrt(
                        sum(
                            (p.grad.double() ** 2).sum()
                            for p in model.parameters()
                            if p.grad is not None
                        )
                    )
                )
            opt.step()
            losses.append(loss.detach())
    model.eval()
    if cl:  # back to NCHW: an option of speed leaves no trace
        model.to(memory_format=torch.contiguous_format)
    losses = torch.stack(losses).tolist() if losses else []  # one host sync, at the end
    norms = [lr * v for v in torch.stack(norms).tolist()] if norms else []
    if losses and not all(math.isfinite(v) for v in losses):
        warnings.warn(
            "JiT loss became non-finite: eta is too large for this model and setting.", stacklevel=2
        )
    return {
        "losses": losses,
        "step_norms": norms,
        "steps": len(losses),
        "lr": lr,
        "chunk": chunk_used,
        "precision": cfg.precision,
        **bf16,
        "flags": flags,
        "variant": cfg.variant,
    }


def _bf16_guard(model: nn.Module, x: torch.Tensor, cfg: JitConfig, clamp: str, seed: int) -> dict:
    """Measure on the first batch ``x`` (B, ...) whether ``precision='bf16'`` is safe at
    ``cfg.sigma`` (:func:`~companion.methods.jit_precision.bf16_error` on ``min(N, 4)``
    perturbations from a private generator, so JiT's draws are untouched) and refuse it otherwise
    (:func:`~companion.methods.jit_precision.check_bf16`)."""
    gen = torch.Generator(device=x.device).manual_seed(seed + 1)
    eps = torch.randn((min(cfg.n_samples, 4), *x.shape), generator=gen, device=x.device)
    with isolated(model, x.device):
        err = bf16_error(model, x, perturb(x, eps.to(x.dtype), cfg.sigma, clamp), cfg.output)
    threshold = check_bf16(err, cfg.sigma, BF16_TOLERANCE)
    return {"bf16_error": err, "bf16_min_sigma": threshold}


@register(
    "jit",
    JitConfig,
    zero_shot=True,
    paper="jit",
    description=(
        "JiT: Lipschitz smoothing of the forget samples under Gaussian perturbations (zero-shot)"
    ),
)
def jit(model: nn.Module, task, cfg: JitConfig, *, seed: int, device, **_) -> dict:
    """Registered entry point: JiT over the forget set of a zero-shot task view (see
    :func:`jit_unlearn`)."""
    view = require_zero_shot(task, "jit")
    if len(view.forget) == 0:
        raise bad_value("forget set", "empty", "at least one forget sample")
    gen = torch.Generator().manual_seed(seed)

    def loader() -> Iterator[torch.Tensor]:
        for _ in range(cfg.epochs):
            for xb, _yb in view.forget.batches(
                cfg.batch_size, shuffle=cfg.shuffle, generator=gen, device=device
            ):
                yield xb

    # progress counts batches (per_sample: B steps each)
    n_steps = cfg.epochs * view.forget.n_batches(cfg.batch_size)
    return jit_unlearn(
        model, progress(loader(), total=n_steps, desc="jit"), cfg, seed=seed, device=device
    )
