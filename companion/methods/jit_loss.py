"""JiT's loss (Foster et al., TMLR 2025): the local Lipschitz ratio of a network around each forget
sample, estimated with N Gaussian perturbations (or another law: :func:`draw_noise`) pushed through
the network ``chunk`` at a time (the unlearner itself is :mod:`companion.methods.jit`, which
documents the variants and the chunking rule)."""

from __future__ import annotations

import math
from typing import Any, Iterable, Iterator, Sequence

import torch
from torch import nn

from ..config import bad_value
from .jit_autotune import tune_chunk
from .jit_config import CLAMPS, PERTURBATIONS, REDUCTIONS
from .jit_precision import perturbed_autocast

#: Rows (perturbations x batch) per forward pass under ``chunk="auto"`` (GPU: all N at once as long
#: as it fits; CPU: see :func:`auto_chunk`). Measured with ``benchmarks/bench_jit.py`` on the 2-core
#: CPU (B = 64, N = 25, best of 7): one 1,600-row forward of the small CNN ran at 0.49x the speed of
#: a per-perturbation loop, 256-row chunks at 0.95-0.97x and 128-row chunks at 0.98-1.02x; the MLP
#: ran 1.27x faster with 256-row chunks and 1.28x with one pass.
AUTO_ROWS = {"cpu": 256, "cuda": 1 << 15, "mps": 4096}


#: Upper bound on input elements per chunk on any device (keeps ViT-sized inputs within memory).
AUTO_MAX_ELEMENTS = 1 << 27


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


def resolve_chunk(
    chunk: int | str,
    n_samples: int,
    x: torch.Tensor,
    model: nn.Module,
    sigma: float,
    **options: Any,
) -> int:
    """Perturbations per forward pass for the batch ``x`` (B, ...): an integer as given;
    ``'rule'``: the fixed rule :func:`auto_chunk`; ``'auto'``: the fastest measured on ``x``
    (:func:`companion.methods.jit_autotune.tune_chunk`, cached; ``options`` go to it) within
    :data:`AUTO_MAX_ELEMENTS`, and 1 for a network with BatchNorm in train mode."""
    if chunk == "rule":
        return auto_chunk(n_samples, x, x.device, model)
    if chunk != "auto":
        return int(chunk)
    if batchnorm_in_train_mode(model):
        return 1
    by_mem = max(1, AUTO_MAX_ELEMENTS // (max(1, x.shape[0]) * max(1, x[0].numel())))
    return tune_chunk(model, x, n_samples, sigma, max_chunk=by_mem, **options)


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
    n: int, x: torch.Tensor, generator: torch.Generator | None, law: str = "gaussian"
) -> Iterator[torch.Tensor]:
    """Yield ``n`` tensors shaped like ``x``, one per perturbation, from ``generator``: ``xi_j /
    sigma`` of Foster et al. (2025), Algorithm 1, line 5, for the perturbation ``law``.

    Every law has zero mean and unit variance per coordinate, so ``sigma * noise`` has the
    Gaussian's ``E||xi||^2 = sigma^2 d`` (``d = x[0].numel()``) and, to ``O(1/d)``, its
    ``E||xi||``: 'gaussian' (default; ``torch.randn``, unchanged bit for bit), 'uniform' on
    ``[-sqrt(3), sqrt(3)]``, 'laplace' with scale ``1/sqrt(2)`` (a difference of two unit
    exponentials over ``sqrt(2)``), 'antithetic' Gaussian pairs ``z, -z`` (an odd ``n`` ends with an
    unpaired ``z``). The law is checked before anything is drawn.
    """
    if law not in PERTURBATIONS:
        raise bad_value("perturbation", law, f"one of {PERTURBATIONS}")
    return _draws(n, x, generator, law)


def _draws(
    n: int, x: torch.Tensor, generator: torch.Generator | None, law: str
) -> Iterator[torch.Tensor]:
    kw = {"generator": generator, "device": x.device, "dtype": x.dtype}
    j = 0
    while j < n:
        if law == "uniform":
            yield (torch.rand(x.shape, **kw) * 2 - 1) * math.sqrt(3.0)
        elif law == "laplace":
            e = torch.empty((2, *x.shape), device=x.device, dtype=x.dtype)
            e.exponential_(generator=generator)
            yield (e[0] - e[1]) / math.sqrt(2.0)
        else:
            z = torch.randn(x.shape, **kw)
            yield z
            if law == "antithetic" and j + 1 < n:
                j += 1
                yield -z
        j += 1


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
    perturbation: str = "gaussian",
    precision: str = "fp32",
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
    perturbation : {'gaussian', 'uniform', 'laplace', 'antithetic'}
        Law of the draws (:func:`draw_noise`); ignored when ``noise`` is given.
    chunk : int, 'auto', 'rule' or sequence of int
        Perturbations per forward pass (:func:`resolve_chunk`: 'auto' measured, 'rule' the fixed
        rule), or an explicit list of group sizes (summing to N).
    precision : {'fp32', 'bf16'}
        'bf16': the perturbed forwards under bf16 autocast (``f(x)`` stays fp32; check that
        ``sigma`` is large enough with :mod:`companion.methods.jit_precision`). A channels-last
        ``x`` makes the perturbed batches channels-last too.

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
        k = resolve_chunk(
            chunk,
            n_samples,
            x,
            model,
            sigma,
            grad_through_perturbed=grad_through_perturbed,
            precision=precision,
            output=output,
        )
        groups = [min(k, n_samples - s) for s in range(0, n_samples, k)]
    _check_chunk_statistics(model, groups)
    fx = _out(model, x, output)  # (B, C)
    source: Iterable[torch.Tensor] = (
        noise if noise is not None else draw_noise(n_samples, x, generator, perturbation)
    )
    it = iter(source)
    rows = []
    for m in groups:
        eps = torch.stack([next(it) for _ in range(m)])  # (m, B, ...)
        xp = perturb(x, eps, sigma, clamp)  # (m, B, ...)
        flat = xp.reshape(m * b, *x.shape[1:])
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
            flat = flat.contiguous(memory_format=torch.channels_last)
        with perturbed_autocast(x.device, precision):
            if grad_through_perturbed:
                fxp = _out(model, flat, output)
            else:
                with torch.no_grad():
                    fxp = _out(model, flat, output)
        fxp = fxp.to(fx.dtype).reshape(m, b, -1)
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
