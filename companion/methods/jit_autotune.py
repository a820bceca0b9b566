"""The measured choice of JiT's ``chunk`` (``chunk='auto'``): how many of the ``N`` perturbations
of a forget batch go through the network per forward pass (Foster et al., TMLR 2025, Algorithm 1,
line 6; :func:`companion.methods.jit_loss.lipschitz_ratios`).

No fixed rule is right everywhere: on a GPU one big forward of all ``N x B`` rows is usually
fastest, while on a CPU a small CNN's big batches are memory-bound and run at half the speed of a
loop, and an MLP runs faster batched. So :func:`tune_chunk` times the candidates (``1, 2, 4, ...``
and ``N``, up to a memory bound) on the first batch, with a warm-up and the best of a few runs
(synchronising a GPU around each), and keeps the one with the least time per perturbation. The
choice is cached per (device, model structure and mode, input shape/dtype/layout, ``N`` and the
options that change the work), in-process and in ``jit_chunks.json`` under the cache folder
(:func:`companion.config.default_cache_dir`): a second run of the same setting, in this process or
a later one, does not time again and runs with the same chunk. Different chunks agree only to float
rounding (a forward of more rows may sum in another order), and training can amplify rounding, so
the stored choice is what makes a re-executed chapter repeat its numbers on the same machine.
Processes that tune the same setting at once take turns (a file lock): the second reads the first's
choice.

The probes draw their noise from a private generator and run inside
:func:`~companion.methods.jit_precision.isolated`, so they consume none of JiT's perturbation draws,
none of the global random state that dropout uses, and leave buffers, parameters and gradients as
they were: whatever chunk wins, the result is the same to rounding.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Hashable, Iterator

import torch
from torch import nn

from ..config import default_cache_dir
from .jit_precision import isolated, perturbed_autocast

#: Warm-up runs (on a CPU only before the first candidate), then timed runs per candidate (the best
#: counts).
WARMUP, REPEATS = 1, 2

#: Stop trying larger chunks once one costs this many times the best time per perturbation so far
#: (past that point bigger batches only got slower: a memory-bound CPU).
GIVE_UP = 1.25

_CACHE: dict[Hashable, int] = {}


def clear_cache(stored: bool = False) -> None:
    """Forget the measured choices of this process; with ``stored``, the stored ones too (the next
    ``chunk='auto'`` times again)."""
    _CACHE.clear()
    if stored:
        store_path().unlink(missing_ok=True)


def store_path() -> Path:
    """The file of measured choices shared by every process: ``jit_chunks.json`` in the cache
    folder."""
    return default_cache_dir() / "jit_chunks.json"


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read(path: Path) -> dict:
    """The stored choices; an unreadable or half-written file counts as none."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cache_size() -> int:
    """How many settings have a measured chunk."""
    return len(_CACHE)


def candidates(n_samples: int, max_chunk: int) -> list[int]:
    """``1, 2, 4, ...`` up to half of ``top = min(n_samples, max_chunk)``, and ``top`` itself
    (a power of two within 2x of ``top`` would time nearly the same batch again)."""
    top = max(1, min(n_samples, max_chunk))
    out = [1 << i for i in range(int(math.log2(top)) + 1) if 2 * (1 << i) <= top]
    return out + [top]


def cache_key(model: nn.Module, x: torch.Tensor, n_samples: int, **options: Hashable) -> tuple:
    """What the best chunk depends on: the device, the network's structure (its ``repr``, type and
    train/eval mode), the batch's shape, dtype and memory layout, ``N`` and the ``options``."""
    layout = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
    return (
        str(x.device),
        type(model).__qualname__,
        repr(model),
        model.training,
        tuple(x.shape),
        str(x.dtype),
        layout,
        n_samples,
        tuple(sorted(options.items())),
    )


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _forward(
    model: nn.Module,
    x: torch.Tensor,
    eps: torch.Tensor,
    sigma: float,
    grad_through_perturbed: bool,
    precision: str,
) -> None:
    """The work of one chunk: perturb, one ``(m * B, ...)`` forward (and its backward when the
    gradient flows through the perturbed outputs, via ``autograd.grad``, so no ``.grad`` moves)."""
    m, b = eps.shape[0], x.shape[0]
    flat = (x.unsqueeze(0) + sigma * eps).reshape(m * b, *x.shape[1:])
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        flat = flat.contiguous(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    with perturbed_autocast(x.device, precision):
        if grad_through_perturbed and params:
            out = model(flat)
            torch.autograd.grad(out.float().sum(), params, allow_unused=True)
        else:
            with torch.no_grad():
                model(flat)


def time_chunk(
    model: nn.Module,
    x: torch.Tensor,
    eps: torch.Tensor,
    sigma: float,
    *,
    grad_through_perturbed: bool = False,
    precision: str = "fp32",
    warmup: int = WARMUP,
    repeats: int = REPEATS,
) -> float:
    """Best wall time (s) of one chunk of ``eps.shape[0]`` perturbations after ``warmup`` runs.

    Parameters
    ----------
    x : Tensor (B, ...)
    eps : Tensor (m, B, ...)
        The chunk's noise.
    """
    dev = x.device
    for _ in range(warmup):
        _forward(model, x, eps, sigma, grad_through_perturbed, precision)
    best = math.inf
    for _ in range(repeats):
        _sync(dev)
        t0 = time.perf_counter()
        _forward(model, x, eps, sigma, grad_through_perturbed, precision)
        _sync(dev)
        best = min(best, time.perf_counter() - t0)
    return best


def tune_chunk(
    model: nn.Module,
    x: torch.Tensor,
    n_samples: int,
    sigma: float,
    *,
    max_chunk: int,
    grad_through_perturbed: bool = False,
    precision: str = "fp32",
    output: str = "logits",
    use_cache: bool = True,
) -> int:
    """The fastest chunk for ``N = n_samples`` perturbations of the batch ``x`` (B, ...), measured.

    Times each of :func:`candidates` (``max_chunk`` bounds the memory; a CUDA out-of-memory error
    ends the search) by :func:`time_chunk` and returns the one with the least time per
    perturbation (or the choice stored for this setting by an earlier run). The model runs in the
    mode the caller left it in, under
    :func:`~companion.methods.jit_precision.isolated`: no random draw of the caller's, buffer,
    parameter or gradient changes. Cached by :func:`cache_key` unless ``use_cache`` is False.
    """
    key = cache_key(
        model,
        x,
        n_samples,
        max_chunk=max_chunk,
        grad=grad_through_perturbed,
        precision=precision,
        output=output,
    )
    if use_cache and key in _CACHE:
        return _CACHE[key]
    if not use_cache:
        return _measure(model, x, n_samples, sigma, max_chunk, grad_through_perturbed, precision)
    name = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
    with _locked() as path:
        stored = _read(path).get(name)
        if isinstance(stored, int) and 1 <= stored <= max(1, min(n_samples, max_chunk)):
            best_k = stored
        else:
            best_k = _measure(
                model, x, n_samples, sigma, max_chunk, grad_through_perturbed, precision
            )
            _write(path, _read(path) | {name: best_k})
    _CACHE[key] = best_k
    return best_k


def _measure(
    model: nn.Module,
    x: torch.Tensor,
    n_samples: int,
    sigma: float,
    max_chunk: int,
    grad_through_perturbed: bool,
    precision: str,
) -> int:
    """Time each candidate chunk and return the one with the least time per perturbation."""
    ks = candidates(n_samples, max_chunk)
    best_k, best = 1, math.inf
    if len(ks) > 1:
        gen = torch.Generator(device=x.device).manual_seed(0)
        noise = torch.randn((ks[-1], *x.shape), generator=gen, device=x.device, dtype=x.dtype)
        with isolated(model, x.device):
            for k in ks:
                try:
                    per = time_chunk(
                        model,
                        x,
                        noise[:k],
                        sigma,
                        grad_through_perturbed=grad_through_perturbed,
                        precision=precision,
                        # a CPU needs warming once; a GPU for every new shape (allocator, kernels)
                        warmup=WARMUP if x.device.type != "cpu" or k == ks[0] else 0,
                    )
                    per /= k
                except torch.OutOfMemoryError:
                    torch.cuda.empty_cache()
                    break
                if per < best:
                    best_k, best = k, per
                elif per > GIVE_UP * best:
                    break
        del noise
    return best_k
