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
``(chunk * B, ...)`` batch. ``chunk="auto"`` takes all ``N`` at once on a GPU (within a memory
bound). On a CPU one big batch of a small CNN is memory-bound and runs at about half the speed of a
loop, while an MLP runs faster batched; there ``chunk="auto"`` loops over the perturbations of a
network with convolutions and batches :data:`AUTO_ROWS` rows at a time otherwise (see
:func:`auto_chunk` and ``benchmarks/bench_jit.py``). The rule is deterministic (no timing decides
it), so the same seed gives bit-identical models. The noise is drawn per perturbation from one
seeded generator, so the result does not depend on ``chunk`` (to rounding), with two exceptions:

* **BatchNorm in train mode** (``eval_mode=False`` on a network with BatchNorm layers, e.g.
  ``resnet18``): a forward of ``chunk * B`` rows normalises with the statistics of all of them,
  where the reference code's forward of one perturbation normalises with those of ``B`` rows.
  Chunks therefore never span perturbations there: ``chunk="auto"`` runs one perturbation per
  forward (the reference code's batches) and an explicit ``chunk > 1`` is refused.
* **Dropout in train mode** draws one mask per row of each forward call; on the CPU a chunked call
  draws the same masks as the per-perturbation loop (tested), on other devices this is not
  guaranteed.

Algorithm 1 of the paper takes one step per forget *sample*; ``per_sample=True`` does exactly that
(each sample of a batch gets its own loss and its own SGD step, in loader order), while the default
takes one step per forget batch as the reference code does (deviations.md#jit-per-sample).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterable, Iterator, Sequence

import torch
from torch import nn

from ..config import bad_value
from ..data.tasks import require_zero_shot
from ..progress import progress
from .base import register
from .jit_config import CLAMPS, REDUCTIONS, JitConfig

#: Rows (perturbations x batch) per forward pass under ``chunk="auto"`` (GPU: all N at once as long
#: as it fits; CPU: see :func:`auto_chunk`). Measured with ``benchmarks/bench_jit.py`` on the 2-core
#: CPU (B = 64, N = 25, best of 7): one 1,600-row forward of the small CNN ran at 0.49x the speed of
#: a per-perturbation loop, 256-row chunks at 0.95-0.97x and 128-row chunks at 0.98-1.02x; the MLP
#: ran 1.27x faster with 256-row chunks and 1.28x with one pass.
AUTO_ROWS = {"cpu": 256, "cuda": 1 << 15, "mps": 4096}
#: Upper bound on input elements per chunk on any device (keeps ViT-sized inputs within memory).
AUTO_MAX_ELEMENTS = 1 << 27


# --------------------------------------------------------------------------------------------
# The loss
# --------------------------------------------------------------------------------------------


def batchnorm_in_train_mode(model: nn.Module | None) -> bool:
    """Whether ``model`` has a BatchNorm layer that normalises with batch statistics right now."""
    return model is not None and any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training for m in model.modules()
    )


def auto_chunk(
    n_samples: int, x: torch.Tensor, device: torch.device | str, model: nn.Module | None = None
) -> int:
    """Perturbations per forward pass for a batch ``x`` of shape (B, ...) on ``device``.

    1 for a ``model`` with BatchNorm in train mode (each perturbation is normalised with the
    statistics of its own B rows, as in the reference code). GPU: all ``n_samples`` within
    :data:`AUTO_MAX_ELEMENTS`. CPU: 1 (the loop) for a ``model`` with convolutions, whose big
    batches are memory-bound there, otherwise a :data:`AUTO_ROWS`-row bound. Deterministic, so a
    seed always gives the same model.
    """
    if batchnorm_in_train_mode(model):
        return 1
    dev = torch.device(device)
    if (
        dev.type == "cpu"
        and model is not None
        and any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())
    ):
        return 1
    rows = AUTO_ROWS.get(dev.type, AUTO_ROWS["cpu"])
    b = max(1, x.shape[0])
    per_row = max(1, x[0].numel())
    by_rows = max(1, rows // b)
    by_mem = max(1, AUTO_MAX_ELEMENTS // (b * per_row))
    return int(max(1, min(n_samples, by_rows, by_mem)))


def perturb(x: torch.Tensor, noise: torch.Tensor, sigma: float, clamp: str) -> torch.Tensor:
    """``x + sigma * noise``, clamped as the ``clamp`` option says.

    Parameters
    ----------
    x : Tensor (B, ...)
        A normalised batch.
    noise : Tensor (K, B, ...)
        Standard normal draws, one slice per perturbation.
    clamp : {'none', 'batch_minmax', 'per_sample'}
        'batch_minmax': to [min(x), max(x)] over the whole batch tensor (the reference code);
        'per_sample': to each sample's own min/max.

    Returns
    -------
    Tensor (K, B, ...)
    """
    xp = x.unsqueeze(0) + sigma * noise
    if clamp == "batch_minmax":
        xp = xp.clamp(x.min(), x.max())
    elif clamp == "per_sample":
        dims = tuple(range(1, x.ndim))
        lo = x.amin(dim=dims, keepdim=True) if dims else x
        hi = x.amax(dim=dims, keepdim=True) if dims else x
        xp = torch.maximum(torch.minimum(xp, hi.unsqueeze(0)), lo.unsqueeze(0))
    elif clamp != "none":
        raise bad_value("clamp", clamp, f"one of {CLAMPS}")
    return xp


def _out(model: nn.Module, x: torch.Tensor, output: str) -> torch.Tensor:
    z = model(x)
    return torch.softmax(z, dim=-1) if output == "probs" else z


def draw_noise(
    n: int, x: torch.Tensor, generator: torch.Generator | None
) -> Iterator[torch.Tensor]:
    """Yield ``n`` standard normal tensors shaped like ``x``, one per perturbation, from
    ``generator``."""
    for _ in range(n):
        yield torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def lipschitz_ratios(
    model: nn.Module,
    x: torch.Tensor,
    sigma: float,
    n_samples: int,
    generator: torch.Generator | None = None,
    *,
    clamp: str = "none",
    squared: bool = False,
    output: str = "logits",
    grad_through_perturbed: bool = False,
    chunk: int | str | Sequence[int] = "auto",
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-perturbation Lipschitz ratios ``||f(x) - f(x'_j)|| / ||x - x'_j||`` (Foster et al.
    (2025), Algorithm 1, line 6).

    ``f(x)`` is evaluated once with gradient tracking; the perturbed outputs are evaluated ``chunk``
    perturbations at a time as one ``(chunk * B, ...)`` batch, without gradient unless
    ``grad_through_perturbed``. In train mode every forward row gets its own dropout mask, as in
    the reference code.

    Parameters
    ----------
    model : nn.Module
        The network in the mode the caller chose (eval or train).
    x : Tensor (B, ...)
        A normalised forget batch.
    sigma : float
        Standard deviation of the perturbations.
    n_samples : int
        N.
    generator : torch.Generator, optional
        Source of the noise (on ``x``'s device). Ignored when ``noise`` is given.
    noise : Tensor (N, B, ...), optional
        Standard normal draws to use instead of drawing them.
    chunk : int, 'auto' or sequence of int
        Perturbations per forward pass, or an explicit list of group sizes (summing to N).

    Returns
    -------
    Tensor (N, B)
        The ratios (squared norms when ``squared``); differentiable through ``f(x)``.
    """
    if noise is not None and noise.shape != (n_samples, *x.shape):
        raise bad_value("noise", tuple(noise.shape), f"a tensor of shape {(n_samples, *x.shape)}")
    b = x.shape[0]
    if isinstance(chunk, (list, tuple)):
        groups = [int(c) for c in chunk]
        if sum(groups) != n_samples or min(groups) < 1:
            raise bad_value("chunk", chunk, f"group sizes >= 1 summing to n_samples={n_samples}")
    else:
        k = auto_chunk(n_samples, x, x.device, model) if chunk == "auto" else int(chunk)
        groups = [min(k, n_samples - s) for s in range(0, n_samples, k)]
    _check_chunk_statistics(model, groups)
    fx = _out(model, x, output)  # (B, C)
    source: Iterable[torch.Tensor] = (
        noise if noise is not None else draw_noise(n_samples, x, generator)
    )
    it = iter(source)
    rows = []
    for m in groups:
        eps = torch.stack([next(it) for _ in range(m)])  # (m, B, ...)
        xp = perturb(x, eps, sigma, clamp)  # (m, B, ...)
        flat = xp.reshape(m * b, *x.shape[1:])
        if grad_through_perturbed:
            fxp = _out(model, flat, output)
        else:
            with torch.no_grad():
                fxp = _out(model, flat, output)
        fxp = fxp.reshape(m, b, -1)
        num = (fx.reshape(1, b, -1) - fxp).pow(2).sum(-1)  # (m, B)
        den = (x.unsqueeze(0) - xp).reshape(m, b, -1).pow(2).sum(-1)  # (m, B)
        rows.append(num / den if squared else _safe_sqrt(num) / den.sqrt())
    return torch.cat(rows)


def _safe_sqrt(v: torch.Tensor) -> torch.Tensor:
    """sqrt(v) for v >= 0, with gradient 0 (a subgradient of the norm) where v = 0 instead of sqrt's
    0/0 = NaN.

    Where v > 0 value and gradient are sqrt's, bit for bit (the mask multiplies by exactly 1.0); v =
    0
    happens when a perturbation leaves the output unchanged, e.g. behind dead ReLUs."""
    pos = v > 0
    return torch.where(pos, v, torch.ones_like(v)).sqrt() * pos


def _check_chunk_statistics(model: nn.Module, groups: Sequence[int] | int) -> None:
    """Refuse chunks of several perturbations where BatchNorm normalises with batch statistics."""
    biggest = max(groups) if isinstance(groups, (list, tuple)) else groups
    if biggest > 1 and batchnorm_in_train_mode(model):
        raise bad_value(
            "chunk",
            groups,
            "'auto' or 1 for a network with BatchNorm in train mode (a chunk of several "
            "perturbations "
            "would normalise them with joint batch statistics, unlike the reference code's one "
            "forward per perturbation)",
        )


def jit_loss(
    model: nn.Module,
    x: torch.Tensor,
    sigma: float,
    n_samples: int,
    generator: torch.Generator | None = None,
    *,
    reduction: str = "mean",
    **kw: Any,
) -> torch.Tensor:
    """The JiT loss of a batch: ``(1/N) sum_j`` of the ratios, averaged or summed over the batch.

    ``reduction='mean'`` is the per-sample expectation of the paper; ``'sum'`` is the reference
    code's ``k_j = sum_i ratio_ij`` (then ``loss = mean_j k_j``). Other keywords go to
    :func:`lipschitz_ratios`.

    Returns
    -------
    Tensor ()
    """
    if reduction not in REDUCTIONS:
        raise bad_value("reduction", reduction, f"one of {REDUCTIONS}")
    r = lipschitz_ratios(model, x, sigma, n_samples, generator, **kw)  # (N, B)
    per_sample = r.mean(0)
    return per_sample.mean() if reduction == "mean" else per_sample.sum()


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
        norm), ``steps``, ``lr`` (eta used), ``chunk`` (perturbations per forward), and the
        effective ``flags``.
    """
    dev = torch.device(device)
    flags = cfg.flags()
    lr = cfg.effective_lr()
    model.to(dev)
    model.train(not flags["eval_mode"])
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0, weight_decay=0.0)
    gen = torch.Generator(device=dev).manual_seed(seed)
    opt.zero_grad(set_to_none=False)  # the reference code zeroes exactly once, here
    losses: list[float] = []
    norms: list[float] = []
    chunk_used = None
    if cfg.chunk != "auto":
        _check_chunk_statistics(model, cfg.chunk)  # before any step
    for xb in batches:
        if isinstance(xb, (tuple, list)):
            xb = xb[0]
        xb = xb.to(dev)
        for x in xb.split(1) if cfg.per_sample else (xb,):  # Algorithm 1: a step per sample
            if not flags["accumulate_grads"]:
                opt.zero_grad(set_to_none=False)
            if chunk_used is None:
                chunk_used = (
                    auto_chunk(cfg.n_samples, x, dev, model) if cfg.chunk == "auto" else cfg.chunk
                )
            loss = jit_loss(
                model,
                x,
                cfg.sigma,
                cfg.n_samples,
                gen,
                reduction=flags["reduction"],
                clamp=flags["clamp"],
                squared=cfg.squared,
                output=cfg.output,
                grad_through_perturbed=cfg.grad_through_perturbed,
                chunk=chunk_used,
            )
            loss.backward()
            with (
                torch.no_grad()
            ):  # the step SGD is about to take: lr * ||accumulated or fresh gradient||
                norms.append(
                    lr
                    * float(
                        torch.sqrt(
                            sum(
                                (p.grad.double() ** 2).sum()
                                for p in model.parameters()
                                if p.grad is not None
                            )
                        )
                    )
                )
            opt.step()
            losses.append(float(loss.detach()))
    model.eval()
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
        "flags": flags,
        "variant": cfg.variant,
    }


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

    n_steps = cfg.epochs * view.forget.n_batches(
        cfg.batch_size
    )  # progress counts batches (per_sample: B steps each)
    return jit_unlearn(
        model, progress(loader(), total=n_steps, desc="jit"), cfg, seed=seed, device=device
    )
