"""One intra-op thread policy for every training loop of the package.

A small network's training step is dominated by per-operation overhead, which several intra-op
threads multiply instead of dividing: on a loaded 2-core machine the 784-128-64-10 MLP ran 429
steps/s with one thread and 25 with two, and a full-MNIST epoch took 1.8 s against 20-56 s
(``benchmarks/bench_threads.py`` measures the ratio side by side). Parallelism for such models comes
from processes run side by side (the book's workers, pytest's), each with one thread.

The policy, applied by :func:`companion.training.fit`, the method harness
(:func:`companion.methods.unlearn`), the certified engine and the ensemble trainer:

* ``COMPANION_THREADS=<n>`` (a positive integer) sets the intra-op threads of every such loop;
* otherwise a loop on the CPU whose network (all stacked copies together) has at most
  :data:`SMALL_MODEL_PARAMS` parameters runs with one thread, and a larger one keeps torch's
  setting.

torch's thread count is restored when the loop ends, so the caller's setting is left as it was.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch

from .config import bad_value

#: Networks (all stacked copies together) up to this many parameters train with one thread.
SMALL_MODEL_PARAMS = 4_000_000
ENV = "COMPANION_THREADS"


def explicit() -> int | None:
    """The thread count ``COMPANION_THREADS`` asks for (None when unset); a bad value raises."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise bad_value(ENV, raw, "a positive integer (intra-op threads of every training loop)")
    return n


def for_model(n_params: int, device: str | torch.device = "cpu") -> int | None:
    """Intra-op threads for a loop training ``n_params`` parameters on ``device`` (None: leave
    torch's setting as it is)."""
    n = explicit()
    if n is not None:
        return n
    if torch.device(device).type != "cpu":
        return None
    return 1 if n_params <= SMALL_MODEL_PARAMS else None


@contextlib.contextmanager
def policy(n_params: int, device: str | torch.device = "cpu") -> Iterator[int]:
    """Run the block with :func:`for_model`'s thread count; yields the count in force."""
    n = for_model(n_params, device)
    before = torch.get_num_threads()
    if n is None or n == before:
        yield before
        return
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def n_params(model: torch.nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
